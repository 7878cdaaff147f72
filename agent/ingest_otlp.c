/* ingest_otlp: see ingest_otlp.h. */
#include "ingest_otlp.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "otlp.pb-c.h"

typedef Mlwatch__Otlp__AnyValue PbAny;
typedef Mlwatch__Otlp__KeyValue PbKv;

/* ---- gzip ------------------------------------------------------------------- */

int otlp_gunzip(const char *in, size_t len, size_t cap, char **out, size_t *out_len)
{
	z_stream zs;
	size_t bufcap = len * 4 + 1024, used = 0;
	char *buf = NULL;
	int rc = -1, zr;

	*out = NULL;
	*out_len = 0;
	if (bufcap > cap + 1)
		bufcap = cap + 1;
	memset(&zs, 0, sizeof(zs));
	/* 16 + MAX_WBITS: a gzip header and trailer, not zlib's or raw. */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -3;
	if (!(buf = malloc(bufcap + 1))) {
		rc = -3;
		goto out;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	if (len > UINT32_MAX)
		goto out; /* no body that large gets here (max_body) */
	for (;;) {
		if (used == bufcap) {
			/* Grow up to the cap; one byte past it proves the bomb. */
			if (bufcap > cap) {
				rc = -2;
				goto out;
			}
			size_t ncap = bufcap * 2 > cap + 1 ? cap + 1 : bufcap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				rc = -3;
				goto out;
			}
			buf = nb;
			bufcap = ncap;
		}
		zs.next_out = (Bytef *)buf + used;
		zs.avail_out = (uInt)(bufcap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = bufcap - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0)
			goto out; /* truncated */
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			goto out; /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR */
	}
	if (used > cap) {
		rc = -2;
		goto out;
	}
	buf[used] = '\0';
	*out = buf;
	*out_len = used;
	buf = NULL;
	rc = 0;
out:
	inflateEnd(&zs);
	free(buf);
	return rc;
}

/* ---- attributes ------------------------------------------------------------- */

enum atype { A_NONE, A_STR, A_INT, A_DBL, A_BOOL };

/* One attribute, the same for both encodings. An array keeps its first
 * string element (enough for gen_ai.response.finish_reasons). */
struct attr {
	const char *key;
	enum atype t;
	const char *s;
	int64_t i;
	double d;
};

struct attrs {
	struct attr *v;
	size_t n, cap;
};

static int attrs_push(struct attrs *a, const struct attr *x)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 32;
		struct attr *nv = realloc(a->v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->n++] = *x;
	return 0;
}

static bool num_of(const struct attr *a, double *out)
{
	if (!a)
		return false;
	if (a->t == A_DBL)
		*out = a->d;
	else if (a->t == A_INT)
		*out = (double)a->i;
	else if (a->t == A_STR && a->s[0]) {
		char *end;
		*out = strtod(a->s, &end);
		if (*end)
			return false;
	} else
		return false;
	return isfinite(*out);
}

/* The attributes a span or record is read for, found in one pass. */
struct wanted {
	const struct attr *req_model, *resp_model, *e2e, *ttft, *tpot, *in, *out, *in_old, *out_old,
	    *finish, *req_id, *resp_id, *prediction, *service;
	size_t n_features;
	bool gen_ai, mlwatch;
};

static void want_collect(const struct attr *v, size_t n, struct wanted *w)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = v[i].key;
		const struct attr **slot = NULL;
		if (strncmp(k, "gen_ai.", 7) == 0) {
			const char *r = k + 7;
			w->gen_ai = true;
			if (strcmp(r, "request.model") == 0)
				slot = &w->req_model;
			else if (strcmp(r, "response.model") == 0)
				slot = &w->resp_model;
			else if (strcmp(r, "latency.e2e") == 0)
				slot = &w->e2e;
			else if (strcmp(r, "latency.time_to_first_token") == 0 ||
			         strcmp(r, "response.time_to_first_chunk") == 0 ||
			         strcmp(r, "server.time_to_first_token") == 0)
				slot = &w->ttft;
			else if (strcmp(r, "server.time_per_output_token") == 0)
				slot = &w->tpot;
			else if (strcmp(r, "usage.input_tokens") == 0)
				slot = &w->in;
			else if (strcmp(r, "usage.output_tokens") == 0)
				slot = &w->out;
			else if (strcmp(r, "usage.prompt_tokens") == 0)
				slot = &w->in_old;
			else if (strcmp(r, "usage.completion_tokens") == 0)
				slot = &w->out_old;
			else if (strcmp(r, "response.finish_reasons") == 0)
				slot = &w->finish;
			else if (strcmp(r, "request.id") == 0)
				slot = &w->req_id;
			else if (strcmp(r, "response.id") == 0)
				slot = &w->resp_id;
		} else if (strcmp(k, "service.name") == 0) {
			slot = &w->service;
		} else if (strncmp(k, "mlwatch.", 8) == 0) {
			w->mlwatch = true;
			if (strncmp(k + 8, "feature.", 8) == 0)
				w->n_features++;
			else if (strcmp(k + 8, "prediction") == 0)
				slot = &w->prediction;
		}
		if (slot && !*slot)
			*slot = &v[i];
	}
}

/* ---- span -> event ---------------------------------------------------------- */

struct span_in {
	const struct attr *attrs, *rattrs; /* span's, resource's */
	size_t n, rn;
	uint64_t start_ns, end_ns;
	int kind, status;
	char span_hex[33]; /* "" when absent */
};

static int rejectf(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rejectf(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

static char *const *feature_map;
static size_t n_feature_map;

void otlp_set_feature_map(char *const *map, size_t n)
{
	feature_map = map;
	n_feature_map = n;
}

/* True when the otlp_feature setting takes attribute key for model. */
static bool mapped(const char *model, const char *key)
{
	for (size_t i = 0; i < n_feature_map; i++) {
		const char *m = feature_map[i], *colon = strchr(m, ':');
		const char *attr = colon ? colon + 1 : m;
		if (strcmp(attr, key) != 0)
			continue;
		if (!colon || (colon - m == 1 && m[0] == '*') ||
		    (strlen(model) == (size_t)(colon - m) &&
		     strncmp(m, model, (size_t)(colon - m)) == 0))
			return true;
	}
	return false;
}

/* Sets feature f from attribute a; -1 with why when unusable. */
static int feature_of(const struct attr *a, const char *name, struct arena *ar, struct feature *f,
                      char *why, size_t cap)
{
	if (!(f->name = arena_strdup(ar, name)))
		return -3;
	if (a->t == A_BOOL) {
		f->kind = FEATURE_CATEGORICAL;
		f->str = a->i ? "true" : "false";
	} else if (a->t == A_STR) {
		if (strlen(a->s) > EVENT_CATEGORY_MAX)
			return rejectf(why, cap, "%.80s: longer than %d bytes", a->key,
			               EVENT_CATEGORY_MAX);
		f->kind = FEATURE_CATEGORICAL;
		if (!(f->str = arena_strdup(ar, a->s)))
			return -3;
	} else if (num_of(a, &f->num)) {
		f->kind = FEATURE_NUMERIC;
	} else {
		f->kind = FEATURE_MISSING;
	}
	return 0;
}

/* Model names allow [A-Za-z0-9_.-]: "meta-llama/Llama-3-8B" becomes
 * "meta-llama_Llama-3-8B" rather than an error, as servers name models
 * after paths. */
static bool model_name(const char *s, char *out)
{
	size_t n = 0;
	for (; s[n] && n < EVENT_MODEL_MAX; n++) {
		char c = s[n];
		out[n] = (isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-') ? c : '_';
	}
	out[n] = '\0';
	return n > 0;
}

static int tokens_of(const struct attr *a, const char *name, int64_t *out, bool *has, char *why,
                     size_t cap)
{
	double v;
	if (!a)
		return 0;
	if (!num_of(a, &v) || v < 0 || v != floor(v) || v > (double)EVENT_TOKENS_MAX)
		return rejectf(why, cap, "%s: must be a whole number of tokens in [0, 2^32]", name);
	*out = (int64_t)v;
	*has = true;
	return 0;
}

static int seconds_ms(const struct attr *a, const char *name, double *out, bool *has, char *why,
                      size_t cap)
{
	double v;
	if (!a)
		return 0;
	/* finite in milliseconds too: 1e306 s is a finite double, not in ms */
	if (!num_of(a, &v) || v < 0 || !isfinite(v * 1000.0))
		return rejectf(why, cap, "%s: must be a finite number of seconds >= 0", name);
	*out = v * 1000.0;
	*has = true;
	return 0;
}

static int push_event(struct event_batch *b, const struct event *ev)
{
	if (b->n_events == b->cap_events) {
		size_t ncap = b->cap_events ? b->cap_events * 2 : 64;
		struct event *nv = realloc(b->events, ncap * sizeof(*nv));
		if (!nv)
			return -3;
		b->events = nv;
		b->cap_events = ncap;
	}
	b->events[b->n_events++] = *ev;
	return 0;
}

/* Returns 0 (event appended), 1 (ignored: not model traffic), -1 (rejected,
 * why filled), -3 (out of memory). */
static int span_event(const struct span_in *sp, double now, struct event_batch *b, char *why,
                      size_t cap)
{
	struct wanted w = {0}, rw = {0};
	struct event ev;
	char model[EVENT_MODEL_MAX + 1];
	const struct attr *m;
	double lat_ms;

	want_collect(sp->attrs, sp->n, &w);
	if (!w.gen_ai && !w.mlwatch && sp->kind != 2)
		return 1;
	want_collect(sp->rattrs, sp->rn, &rw);
	memset(&ev, 0, sizeof(ev));
	m = w.resp_model ? w.resp_model : w.req_model ? w.req_model : rw.service;
	if (!m || m->t != A_STR || !model_name(m->s, model))
		return rejectf(why, cap,
		               "no model: set gen_ai.request.model or the resource's service.name");
	if (!(ev.model = arena_strdup(&b->arena, model)))
		return -3;
	if (sp->start_ns == 0)
		return rejectf(why, cap, "startTimeUnixNano: required");
	if (sp->end_ns < sp->start_ns)
		return rejectf(why, cap, "endTimeUnixNano: before startTimeUnixNano");
	ev.ts = (double)sp->start_ns / 1e9;
	ev.ts_given = true;
	if (ev.ts > now + EVENT_FUTURE_MAX_S)
		return rejectf(why, cap, "startTimeUnixNano: %.6g s in the future (clock skew)",
		               ev.ts - now);
	lat_ms = (double)(sp->end_ns - sp->start_ns) / 1e6;
	bool has_e2e = false;
	if (seconds_ms(w.e2e, "gen_ai.latency.e2e", &lat_ms, &has_e2e, why, cap))
		return -1;
	ev.latency_ms = lat_ms;
	ev.has_latency = true;
	ev.error = sp->status == 2;
	if (tokens_of(w.in ? w.in : w.in_old, "gen_ai.usage.input_tokens", &ev.input_tokens,
	              &ev.has_input_tokens, why, cap) ||
	    tokens_of(w.out ? w.out : w.out_old, "gen_ai.usage.output_tokens", &ev.output_tokens,
	              &ev.has_output_tokens, why, cap) ||
	    seconds_ms(w.ttft, "time to first token", &ev.ttft_ms, &ev.has_ttft, why, cap) ||
	    seconds_ms(w.tpot, "gen_ai.server.time_per_output_token", &ev.tpot_ms, &ev.has_tpot,
	               why, cap))
		return -1;
	/* TPOT as vLLM and the GenAI conventions define it: the decode time
	 * spread over the tokens after the first. */
	if (!ev.has_tpot && ev.has_ttft && ev.has_output_tokens && ev.output_tokens > 1 &&
	    lat_ms >= ev.ttft_ms) {
		ev.tpot_ms = (lat_ms - ev.ttft_ms) / (double)(ev.output_tokens - 1);
		ev.has_tpot = true;
	}
	if (w.finish && w.finish->t == A_STR && w.finish->s) {
		char fr[EVENT_FINISH_MAX + 1];
		size_t n = strlen(w.finish->s);
		for (size_t i = 0; i < n && i < EVENT_FINISH_MAX; i++)
			fr[i] = (char)tolower((unsigned char)w.finish->s[i]);
		fr[n < EVENT_FINISH_MAX ? n : EVENT_FINISH_MAX] = '\0';
		/* An unknown spelling is dropped, not a reason to lose the span. */
		if (n <= EVENT_FINISH_MAX && event_finish_reason_valid(fr, n) &&
		    !(ev.finish_reason = arena_strdup(&b->arena, fr)))
			return -3;
	}
	const struct attr *id = w.req_id ? w.req_id : w.resp_id;
	if (id && id->t == A_STR && event_id_valid(id->s, strlen(id->s)))
		ev.id = arena_strdup(&b->arena, id->s);
	else if (sp->span_hex[0])
		ev.id = arena_strdup(&b->arena, sp->span_hex);
	if (w.prediction) {
		if (w.prediction->t == A_STR && strlen(w.prediction->s) <= EVENT_CATEGORY_MAX) {
			ev.prediction.kind = VALUE_STRING;
			ev.prediction.str = arena_strdup(&b->arena, w.prediction->s);
		} else if (num_of(w.prediction, &ev.prediction.num)) {
			ev.prediction.kind = VALUE_NUMBER;
		} else {
			return rejectf(why, cap,
			               "mlwatch.prediction: must be a number or a string");
		}
	}
	size_t n_map = 0;
	for (size_t i = 0; n_feature_map && i < sp->n; i++)
		n_map += strncmp(sp->attrs[i].key, "mlwatch.", 8) != 0 &&
		         mapped(ev.model, sp->attrs[i].key);
	if (w.n_features + n_map) {
		struct event_name_filter seen = {{0}};
		if (w.n_features + n_map > EVENT_FEATURES_MAX)
			return rejectf(why, cap, "%zu feature attributes; at most %d",
			               w.n_features + n_map, EVENT_FEATURES_MAX);
		ev.features = arena_alloc(&b->arena, (w.n_features + n_map) * sizeof(*ev.features));
		if (!ev.features)
			return -3;
		for (size_t i = 0; i < sp->n; i++) {
			const struct attr *a = &sp->attrs[i];
			const char *name;
			if (strncmp(a->key, "mlwatch.feature.", 16) == 0)
				name = a->key + 16;
			else if (n_map && strncmp(a->key, "mlwatch.", 8) != 0 &&
			         mapped(ev.model, a->key))
				name = a->key;
			else
				continue;
			size_t nl = strlen(name);
			if (!event_feature_name_valid(name, nl))
				return rejectf(why, cap, "%.80s: invalid feature name", a->key);
			if (event_name_filter_add(&seen, name, nl))
				for (size_t k = 0; k < ev.n_features; k++)
					if (strcmp(ev.features[k].name, name) == 0)
						return rejectf(why, cap, "%.80s: given twice",
						               a->key);
			int r =
			    feature_of(a, name, &b->arena, &ev.features[ev.n_features], why, cap);
			if (r)
				return r;
			ev.n_features++;
		}
	}
	return push_event(b, &ev);
}

/* ---- BentoML monitor record -> event ---------------------------------------- */

/* Builds the event JSON of a monitor record and parses it with the
 * contract's rules. Returns as span_event. */
static int bentoml_event(const cJSON *rec, uint64_t time_ns, double now, struct event_batch *b,
                         char *why, size_t cap)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(rec, "bento_meta");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(meta, "schema");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "bento_name"), *col, *v;
	cJSON *ev = NULL, *features = NULL;
	char model[EVENT_MODEL_MAX + 1];
	struct event e;
	struct event_error err;
	int rc = -3;

	if (!cJSON_IsObject(schema))
		return 1; /* not a monitor record: some other log */
	if (!cJSON_IsString(name) || !model_name(name->valuestring, model))
		return rejectf(why, cap, "bento_meta.bento_name: required");
	if (!(ev = cJSON_CreateObject()) || !(features = cJSON_AddObjectToObject(ev, "features")))
		goto out;
	cJSON_AddStringToObject(ev, "model", model);
	v = cJSON_GetObjectItemCaseSensitive(rec, "request_id");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(ev, "id", v->valuestring);
	else if (cJSON_IsNumber(v)) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
		cJSON_AddStringToObject(ev, "id", buf);
	}
	v = cJSON_GetObjectItemCaseSensitive(rec, "timestamp");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(ev, "ts", v->valuedouble);
	else if (time_ns)
		cJSON_AddNumberToObject(ev, "ts", (double)time_ns / 1e9);
	cJSON_ArrayForEach(col, schema)
	{
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(col, "role");
		const char *key = col->string;
		if (!cJSON_IsString(role) || !key)
			continue;
		v = cJSON_GetObjectItemCaseSensitive(rec, key);
		if (!v)
			continue;
		cJSON *copy = cJSON_Duplicate(v, false);
		if (!copy)
			goto out;
		if (strcmp(role->valuestring, "feature") == 0)
			cJSON_AddItemToObject(features, key, copy);
		else if (strcmp(role->valuestring, "prediction") == 0)
			cJSON_AddItemToObject(ev, "prediction", copy);
		else if (strcmp(role->valuestring, "target") == 0)
			cJSON_AddItemToObject(ev, "label", copy);
		else
			cJSON_Delete(copy);
	}
	if (event_parse(ev, now, &b->arena, &e, &err) != 0) {
		char msg[400];
		rc = rejectf(why, cap, "%s", event_error_format(&err, msg, sizeof(msg)));
		goto out;
	}
	rc = push_event(b, &e);
out:
	cJSON_Delete(ev);
	return rc;
}

/* ---- protobuf ----------------------------------------------------------------- */

/* Message types of the wire scan, and which fields hold which messages. */
enum ptype {
	P_NONE,
	P_TRACES,
	P_LOGS,
	P_RSPANS,
	P_SSPANS,
	P_SPAN,
	P_RES,
	P_KV,
	P_ANY,
	P_ARR,
	P_KVLIST,
	P_RLOGS,
	P_SLOGS,
	P_LOG
};

static enum ptype child_of(enum ptype t, uint32_t field)
{
	switch (t) {
	case P_TRACES:
		return field == 1 ? P_RSPANS : P_NONE;
	case P_LOGS:
		return field == 1 ? P_RLOGS : P_NONE;
	case P_RSPANS:
		return field == 1 ? P_RES : field == 2 ? P_SSPANS : P_NONE;
	case P_RLOGS:
		return field == 1 ? P_RES : field == 2 ? P_SLOGS : P_NONE;
	case P_SSPANS:
		return field == 2 ? P_SPAN : P_NONE;
	case P_SLOGS:
		return field == 2 ? P_LOG : P_NONE;
	case P_SPAN:
		return field == 9 ? P_KV : P_NONE;
	case P_LOG:
		return field == 5 ? P_ANY : field == 6 ? P_KV : P_NONE;
	case P_RES:
		return field == 1 ? P_KV : P_NONE;
	case P_KV:
		return field == 2 ? P_ANY : P_NONE;
	case P_ANY:
		return field == 5 ? P_ARR : field == 6 ? P_KVLIST : P_NONE;
	case P_ARR:
		return field == 1 ? P_ANY : P_NONE;
	case P_KVLIST:
		return field == 1 ? P_KV : P_NONE;
	default:
		return P_NONE;
	}
}

struct scan {
	size_t attrs, items, any_depth;
	char *why;
	size_t cap;
};

static int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t c = *(*p)++;
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Walks the wire format of a message of type t before protobuf-c unpacks
 * it (recursively, so unbounded nesting would overflow its stack): refuses
 * truncation, groups, nesting past OTLP_MAX_DEPTH and too many attributes,
 * and counts spans / records. depth counts AnyValue levels. */
static int scan(const uint8_t *p, const uint8_t *end, enum ptype t, size_t depth, struct scan *s)
{
	while (p < end) {
		uint64_t key, len;
		if (rd_varint(&p, end, &key))
			return rejectf(s->why, s->cap, "truncated protobuf (a field key)");
		uint32_t field = (uint32_t)(key >> 3), wt = (uint32_t)(key & 7);
		if (field == 0)
			return rejectf(s->why, s->cap, "invalid protobuf field number 0");
		switch (wt) {
		case 0:
			if (rd_varint(&p, end, &len))
				return rejectf(s->why, s->cap, "truncated protobuf (a varint)");
			break;
		case 1:
		case 5: {
			size_t n = wt == 1 ? 8 : 4;
			if ((size_t)(end - p) < n)
				return rejectf(s->why, s->cap,
				               "truncated protobuf (a fixed field)");
			p += n;
			break;
		}
		case 2: {
			if (rd_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return rejectf(s->why, s->cap,
				               "truncated protobuf (a length past the end)");
			enum ptype c = child_of(t, field);
			if (c != P_NONE) {
				size_t d = depth + (c == P_ANY);
				if (d > OTLP_MAX_DEPTH)
					return rejectf(s->why, s->cap,
					               "attribute values nested deeper than %d",
					               OTLP_MAX_DEPTH);
				if (c == P_KV && ++s->attrs > OTLP_MAX_ATTRIBUTES)
					return rejectf(s->why, s->cap,
					               "more than %d attributes in one request",
					               OTLP_MAX_ATTRIBUTES);
				if (c == P_SPAN || c == P_LOG)
					s->items++;
				if (scan(p, p + len, c, d, s))
					return -1;
			}
			p += len;
			break;
		}
		default:
			return rejectf(s->why, s->cap, "protobuf wire type %u not allowed here",
			               (unsigned)wt);
		}
	}
	return 0;
}

static void pb_attr(const PbKv *kv, struct attr *a)
{
	const PbAny *v = kv->value;
	memset(a, 0, sizeof(*a));
	a->key = kv->key ? kv->key : "";
	if (!v)
		return;
	switch (v->value_case) {
	case MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE:
		a->t = A_STR;
		a->s = v->string_value;
		break;
	case MLWATCH__OTLP__ANY_VALUE__VALUE_BOOL_VALUE:
		a->t = A_BOOL;
		a->i = v->bool_value;
		break;
	case MLWATCH__OTLP__ANY_VALUE__VALUE_INT_VALUE:
		a->t = A_INT;
		a->i = v->int_value;
		break;
	case MLWATCH__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
		a->t = A_DBL;
		a->d = v->double_value;
		break;
	case MLWATCH__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE:
		if (v->array_value && v->array_value->n_values &&
		    v->array_value->values[0]->value_case ==
		        MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE) {
			a->t = A_STR;
			a->s = v->array_value->values[0]->string_value;
		}
		break;
	default:
		break;
	}
}

static int pb_attrs(PbKv **kv, size_t n, struct attrs *out)
{
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct attr a;
		pb_attr(kv[i], &a);
		if (attrs_push(out, &a))
			return -3;
	}
	return 0;
}

static void hex_of(const uint8_t *b, size_t n, char out[33])
{
	static const char hx[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < n && i < 16; i++) {
		out[k++] = hx[b[i] >> 4];
		out[k++] = hx[b[i] & 15];
	}
	out[k] = '\0';
}

/* cJSON of an AnyValue (depth already bounded by the scan). */
static cJSON *pb_any_json(const PbAny *v)
{
	cJSON *o = NULL;
	if (!v)
		return cJSON_CreateNull();
	switch (v->value_case) {
	case MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE:
		return cJSON_CreateString(v->string_value);
	case MLWATCH__OTLP__ANY_VALUE__VALUE_BOOL_VALUE:
		return cJSON_CreateBool(v->bool_value);
	case MLWATCH__OTLP__ANY_VALUE__VALUE_INT_VALUE:
		return cJSON_CreateNumber((double)v->int_value);
	case MLWATCH__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
		return cJSON_CreateNumber(v->double_value);
	case MLWATCH__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE:
		o = cJSON_CreateArray();
		for (size_t i = 0; o && v->array_value && i < v->array_value->n_values; i++)
			cJSON_AddItemToArray(o, pb_any_json(v->array_value->values[i]));
		return o;
	case MLWATCH__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE:
		o = cJSON_CreateObject();
		for (size_t i = 0; o && v->kvlist_value && i < v->kvlist_value->n_values; i++)
			cJSON_AddItemToObject(o, v->kvlist_value->values[i]->key,
			                      pb_any_json(v->kvlist_value->values[i]->value));
		return o;
	default:
		return cJSON_CreateNull();
	}
}

/* A log body: a JSON object as a string, or a kvlist. NULL otherwise. */
static cJSON *body_object(cJSON *j)
{
	if (cJSON_IsString(j)) {
		cJSON *p = cJSON_Parse(j->valuestring);
		cJSON_Delete(j);
		j = p;
	}
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

struct tally {
	struct otlp_reply *rep;
	const char *what; /* "span" / "log record" */
};

/* Counts the outcome rc of one item; the first rejection's reason goes
 * into the partial-success message. Returns -3 on out of memory. */
/* Where an item is in the request: a[i].b[j].c[k], as in
 * resourceSpans[0].scopeSpans[1].spans[7]; printed only for the first
 * refusal, the one the reply names (not once per item). */
struct where {
	const char *a, *b, *c;
	size_t i, j, k;
};

static int tally(struct tally *t, int rc, const struct where *w, const char *why)
{
	struct otlp_reply *r = t->rep;
	if (rc == -3)
		return -3;
	if (rc == 0) {
		r->accepted++;
	} else if (rc == 1) {
		r->ignored++;
	} else if (r->rejected++ == 0) {
		char path[128];
		snprintf(path, sizeof(path), "%s[%zu].%s[%zu].%s[%zu]", w->a, w->i, w->b, w->j,
		         w->c, w->k);
		snprintf(r->message, sizeof(r->message), "%s %s: %s", t->what, path, why);
	}
	return 0;
}

/* protobuf-c's allocations of one request from an arena: a span's dozen
 * attributes are some thirty nodes and strings, each a malloc and a free
 * otherwise; the arena goes in one reset. */
static void *pb_arena_alloc(void *arena, size_t n)
{
	return arena_alloc_raw(arena, n);
}

static void pb_arena_free(void *arena, void *p)
{
	(void)arena;
	(void)p; /* released with the arena */
}

static int decode_pb(enum otlp_signal sig, const uint8_t *buf, size_t len, double now,
                     size_t max_items, struct event_batch *b, struct otlp_reply *rep)
{
	struct scan sc = {0, 0, 0, rep->message, sizeof(rep->message)};
	struct attrs ra = {0}, sa = {0};
	struct tally t = {rep, sig == OTLP_TRACES ? "span" : "log record"};
	struct arena pa;
	ProtobufCAllocator alloc = {pb_arena_alloc, pb_arena_free, &pa};
	char why[300];
	int rc = -1;

	arena_init(&pa, 0);
	if (scan(buf, buf + len, sig == OTLP_TRACES ? P_TRACES : P_LOGS, 0, &sc)) {
		rep->status = 400;
		return -1;
	}
	if (sc.items > max_items) {
		rep->status = 413;
		snprintf(rep->message, sizeof(rep->message), "%zu %ss in one request; at most %zu",
		         sc.items, t.what, max_items);
		return -1;
	}
	if (sig == OTLP_TRACES) {
		Mlwatch__Otlp__ExportTraceServiceRequest *req =
		    mlwatch__otlp__export_trace_service_request__unpack(&alloc, len, buf);
		if (!req) {
			rep->status = 400;
			snprintf(rep->message, sizeof(rep->message),
			         "not an ExportTraceServiceRequest (a field of the wrong type?)");
			arena_reset(&pa);
			return -1;
		}
		for (size_t i = 0; i < req->n_resource_spans; i++) {
			const Mlwatch__Otlp__ResourceSpans *rs = req->resource_spans[i];
			if (rs->resource &&
			    pb_attrs(rs->resource->attributes, rs->resource->n_attributes, &ra)) {
				rc = -3;
				goto pb_out;
			}
			if (!rs->resource)
				ra.n = 0;
			for (size_t j = 0; j < rs->n_scope_spans; j++)
				for (size_t k = 0; k < rs->scope_spans[j]->n_spans; k++) {
					const Mlwatch__Otlp__Span *s = rs->scope_spans[j]->spans[k];
					struct span_in in = {0};
					if (pb_attrs(s->attributes, s->n_attributes, &sa)) {
						rc = -3;
						goto pb_out;
					}
					rep->items++;
					in.attrs = sa.v;
					in.n = sa.n;
					in.rattrs = ra.v;
					in.rn = ra.n;
					in.start_ns = s->start_time_unix_nano;
					in.end_ns = s->end_time_unix_nano;
					in.kind = s->kind;
					in.status = s->status ? s->status->code : 0;
					hex_of(s->span_id.data, s->span_id.len, in.span_hex);
					struct where w = {
					    "resourceSpans", "scopeSpans", "spans", i, j, k};
					if (tally(&t, span_event(&in, now, b, why, sizeof(why)), &w,
					          why)) {
						rc = -3;
						goto pb_out;
					}
				}
		}
		rc = 0;
	pb_out:
		arena_reset(&pa); /* and with it req */
	} else {
		Mlwatch__Otlp__ExportLogsServiceRequest *req =
		    mlwatch__otlp__export_logs_service_request__unpack(&alloc, len, buf);
		if (!req) {
			rep->status = 400;
			snprintf(rep->message, sizeof(rep->message),
			         "not an ExportLogsServiceRequest (a field of the wrong type?)");
			arena_reset(&pa);
			return -1;
		}
		rc = 0;
		for (size_t i = 0; i < req->n_resource_logs && rc == 0; i++) {
			const Mlwatch__Otlp__ResourceLogs *rl = req->resource_logs[i];
			for (size_t j = 0; j < rl->n_scope_logs && rc == 0; j++)
				for (size_t k = 0; k < rl->scope_logs[j]->n_log_records && rc == 0;
				     k++) {
					const Mlwatch__Otlp__LogRecord *lr =
					    rl->scope_logs[j]->log_records[k];
					cJSON *body = body_object(pb_any_json(lr->body));
					int r = body ? bentoml_event(body, lr->time_unix_nano, now,
					                             b, why, sizeof(why))
					             : 1;
					cJSON_Delete(body);
					rep->items++;
					struct where w = {
					    "resourceLogs", "scopeLogs", "logRecords", i, j, k};
					rc = tally(&t, r, &w, why);
				}
		}
		arena_reset(&pa); /* and with it req */
	}
	free(ra.v);
	free(sa.v);
	return rc;
}

/* ---- JSON ----------------------------------------------------------------------- */

/* OTLP JSON field names are lowerCamelCase; the protobuf JSON mapping
 * also accepts the .proto names, so both are read. */
static const cJSON *jget(const cJSON *o, const char *camel, const char *snake)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, camel);
	return v ? v : snake ? cJSON_GetObjectItemCaseSensitive(o, snake) : NULL;
}

/* A uint64 given as a decimal string (the JSON mapping of 64-bit
 * integers) or a number. */
static int ju64(const cJSON *v, uint64_t *out)
{
	*out = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		if (!(v->valuedouble >= 0 && v->valuedouble < 1.8e19))
			return -1;
		*out = (uint64_t)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 20)
		return -1;
	uint64_t r = 0;
	for (const char *p = v->valuestring; *p; p++) {
		if (*p < '0' || *p > '9' || r > (UINT64_MAX - 9) / 10)
			return -1;
		r = r * 10 + (uint64_t)(*p - '0');
	}
	*out = r;
	return 0;
}

/* Checks an AnyValue's nesting and counts the key-values inside. */
static int jany_check(const cJSON *v, size_t depth, struct scan *s)
{
	const cJSON *x, *e;
	if (depth > OTLP_MAX_DEPTH)
		return rejectf(s->why, s->cap, "attribute values nested deeper than %d",
		               OTLP_MAX_DEPTH);
	if ((x = jget(v, "arrayValue", "array_value"))) {
		cJSON_ArrayForEach(
		    e, jget(x, "values", NULL)) if (jany_check(e, depth + 1, s)) return -1;
	} else if ((x = jget(v, "kvlistValue", "kvlist_value"))) {
		cJSON_ArrayForEach(e, jget(x, "values", NULL))
		{
			if (++s->attrs > OTLP_MAX_ATTRIBUTES)
				return rejectf(s->why, s->cap,
				               "more than %d attributes in one request",
				               OTLP_MAX_ATTRIBUTES);
			if (jany_check(jget(e, "value", NULL), depth + 1, s))
				return -1;
		}
	}
	return 0;
}

static void j_attr_value(const cJSON *v, struct attr *a)
{
	const cJSON *x;
	if ((x = jget(v, "stringValue", "string_value")) && cJSON_IsString(x)) {
		a->t = A_STR;
		a->s = x->valuestring;
	} else if ((x = jget(v, "intValue", "int_value"))) {
		uint64_t u;
		if (cJSON_IsString(x) && x->valuestring[0] == '-') {
			char *end;
			errno = 0;
			long long ll = strtoll(x->valuestring, &end, 10);
			if (!*end && errno == 0) {
				a->t = A_INT;
				a->i = ll;
			}
		} else if (ju64(x, &u) == 0 && u <= INT64_MAX) {
			a->t = A_INT;
			a->i = (int64_t)u;
		}
	} else if ((x = jget(v, "doubleValue", "double_value"))) {
		if (cJSON_IsNumber(x)) {
			a->t = A_DBL;
			a->d = x->valuedouble;
		} else if (cJSON_IsString(x)) { /* "NaN", "Infinity" or a number */
			a->t = A_STR;
			a->s = x->valuestring;
		}
	} else if ((x = jget(v, "boolValue", "bool_value")) && cJSON_IsBool(x)) {
		a->t = A_BOOL;
		a->i = cJSON_IsTrue(x);
	} else if ((x = jget(v, "arrayValue", "array_value"))) {
		const cJSON *first = cJSON_GetArrayItem(jget(x, "values", NULL), 0);
		const cJSON *s = jget(first, "stringValue", "string_value");
		if (cJSON_IsString(s)) {
			a->t = A_STR;
			a->s = s->valuestring;
		}
	}
}

static int j_attrs(const cJSON *arr, struct attrs *out, struct scan *s)
{
	const cJSON *kv;
	out->n = 0;
	if (arr && !cJSON_IsArray(arr))
		return rejectf(s->why, s->cap, "attributes: must be an array");
	cJSON_ArrayForEach(kv, arr)
	{
		const cJSON *k = jget(kv, "key", NULL), *v = jget(kv, "value", NULL);
		struct attr a = {0};
		if (++s->attrs > OTLP_MAX_ATTRIBUTES)
			return rejectf(s->why, s->cap, "more than %d attributes in one request",
			               OTLP_MAX_ATTRIBUTES);
		if (!cJSON_IsString(k))
			return rejectf(s->why, s->cap, "attributes: key must be a string");
		if (v && jany_check(v, 1, s))
			return -1;
		a.key = k->valuestring;
		if (v)
			j_attr_value(v, &a);
		if (attrs_push(out, &a))
			return -3;
	}
	return 0;
}

static int jint(const cJSON *v, const char *const *names, size_t n)
{
	if (cJSON_IsNumber(v))
		return (int)v->valuedouble;
	if (cJSON_IsString(v))
		for (size_t i = 0; i < n; i++)
			if (names[i] && strcmp(v->valuestring, names[i]) == 0)
				return (int)i;
	return 0;
}

/* A span / record list must be an array when present. */
static bool arr_ok(const cJSON *a)
{
	return !a || cJSON_IsArray(a);
}

/* The JSON form of a log body AnyValue as plain cJSON (for the BentoML
 * shape); depth bounded by jany_check. */
static cJSON *j_any_plain(const cJSON *v)
{
	const cJSON *x, *e;
	if ((x = jget(v, "stringValue", "string_value")) && cJSON_IsString(x))
		return cJSON_CreateString(x->valuestring);
	if ((x = jget(v, "kvlistValue", "kvlist_value"))) {
		cJSON *o = cJSON_CreateObject();
		cJSON_ArrayForEach(e, jget(x, "values", NULL))
		{
			const cJSON *k = jget(e, "key", NULL);
			if (o && cJSON_IsString(k))
				cJSON_AddItemToObject(o, k->valuestring,
				                      j_any_plain(jget(e, "value", NULL)));
		}
		return o;
	}
	struct attr a = {0};
	j_attr_value(v, &a);
	switch (a.t) {
	case A_STR:
		return cJSON_CreateString(a.s);
	case A_INT:
		return cJSON_CreateNumber((double)a.i);
	case A_DBL:
		return cJSON_CreateNumber(a.d);
	case A_BOOL:
		return cJSON_CreateBool(a.i != 0);
	default:
		return cJSON_CreateNull();
	}
}

static int decode_json(enum otlp_signal sig, const char *body, size_t len, double now,
                       size_t max_items, struct event_batch *b, struct otlp_reply *rep)
{
	static const char *const kinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
	                                    "SPAN_KIND_SERVER"};
	static const char *const codes[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
	                                    "STATUS_CODE_ERROR"};
	struct scan sc = {0, 0, 0, rep->message, sizeof(rep->message)};
	struct attrs ra = {0}, sa = {0};
	struct tally t = {rep, sig == OTLP_TRACES ? "span" : "log record"};
	const cJSON *rsl, *rs, *ssl, *ss, *items, *it;
	char why[300];
	size_t i = 0, j, k, total = 0;
	int rc = -1;
	cJSON *root = cJSON_ParseWithLength(body, len);

	rep->status = 400;
	if (!cJSON_IsObject(root)) {
		snprintf(rep->message, sizeof(rep->message), "not an OTLP JSON object%s",
		         root ? "" : " (invalid JSON)");
		goto out;
	}
	rsl = sig == OTLP_TRACES ? jget(root, "resourceSpans", "resource_spans")
	                         : jget(root, "resourceLogs", "resource_logs");
	if (!arr_ok(rsl)) {
		snprintf(rep->message, sizeof(rep->message), "%s: must be an array",
		         sig == OTLP_TRACES ? "resourceSpans" : "resourceLogs");
		goto out;
	}
	/* Count first: a request over the limit is refused whole. */
	cJSON_ArrayForEach(rs, rsl)
	{
		ssl = sig == OTLP_TRACES ? jget(rs, "scopeSpans", "scope_spans")
		                         : jget(rs, "scopeLogs", "scope_logs");
		if (!arr_ok(ssl)) {
			snprintf(rep->message, sizeof(rep->message),
			         "resource %zu: scope list must "
			         "be an array",
			         i);
			goto out;
		}
		cJSON_ArrayForEach(ss, ssl)
		{
			items = sig == OTLP_TRACES ? jget(ss, "spans", NULL)
			                           : jget(ss, "logRecords", "log_records");
			if (!arr_ok(items)) {
				snprintf(rep->message, sizeof(rep->message),
				         "resource %zu: %s must be an array", i,
				         sig == OTLP_TRACES ? "spans" : "logRecords");
				goto out;
			}
			total += (size_t)cJSON_GetArraySize(items);
		}
		i++;
	}
	if (total > max_items) {
		rep->status = 413;
		snprintf(rep->message, sizeof(rep->message), "%zu %ss in one request; at most %zu",
		         total, t.what, max_items);
		goto out;
	}
	i = 0;
	cJSON_ArrayForEach(rs, rsl)
	{
		int r = j_attrs(jget(jget(rs, "resource", NULL), "attributes", NULL), &ra, &sc);
		if (r) {
			rc = r;
			goto out;
		}
		j = 0;
		ssl = sig == OTLP_TRACES ? jget(rs, "scopeSpans", "scope_spans")
		                         : jget(rs, "scopeLogs", "scope_logs");
		cJSON_ArrayForEach(ss, ssl)
		{
			k = 0;
			items = sig == OTLP_TRACES ? jget(ss, "spans", NULL)
			                           : jget(ss, "logRecords", "log_records");
			cJSON_ArrayForEach(it, items)
			{
				rep->items++;
				struct where w = {sig == OTLP_TRACES ? "resourceSpans"
				                                     : "resourceLogs",
				                  sig == OTLP_TRACES ? "scopeSpans" : "scopeLogs",
				                  sig == OTLP_TRACES ? "spans" : "logRecords",
				                  i,
				                  j,
				                  k};
				if (sig == OTLP_TRACES) {
					struct span_in in = {0};
					const cJSON *st = jget(it, "status", NULL), *sid;
					if ((r = j_attrs(jget(it, "attributes", NULL), &sa, &sc))) {
						rc = r;
						goto out;
					}
					in.attrs = sa.v;
					in.n = sa.n;
					in.rattrs = ra.v;
					in.rn = ra.n;
					if (ju64(jget(it, "startTimeUnixNano",
					              "start_time_unix_nano"),
					         &in.start_ns) ||
					    ju64(jget(it, "endTimeUnixNano", "end_time_unix_nano"),
					         &in.end_ns)) {
						r = rejectf(why, sizeof(why),
						            "times must be decimal strings of "
						            "nanoseconds");
					} else {
						in.kind = jint(jget(it, "kind", NULL), kinds, 3);
						in.status = jint(jget(st, "code", NULL), codes, 3);
						sid = jget(it, "spanId", "span_id");
						if (cJSON_IsString(sid) &&
						    strlen(sid->valuestring) <= 32) {
							for (size_t c = 0; sid->valuestring[c]; c++)
								in.span_hex[c] = (char)tolower(
								    (unsigned char)
								        sid->valuestring[c]);
							in.span_hex[strlen(sid->valuestring)] =
							    '\0';
							if (!event_id_valid(in.span_hex,
							                    strlen(in.span_hex)))
								in.span_hex[0] = '\0';
						}
						r = span_event(&in, now, b, why, sizeof(why));
					}
				} else {
					const cJSON *bd = jget(it, "body", NULL);
					uint64_t tns = 0;
					cJSON *obj = NULL;
					if (bd && jany_check(bd, 1, &sc))
						goto out;
					ju64(jget(it, "timeUnixNano", "time_unix_nano"), &tns);
					obj = bd ? body_object(j_any_plain(bd)) : NULL;
					r = obj ? bentoml_event(obj, tns, now, b, why, sizeof(why))
					        : 1;
					cJSON_Delete(obj);
				}
				if (tally(&t, r, &w, why)) {
					rc = -3;
					goto out;
				}
				k++;
			}
			j++;
		}
		i++;
	}
	rc = 0;
	rep->status = 200;
out:
	cJSON_Delete(root);
	free(ra.v);
	free(sa.v);
	return rc;
}

/* ---- entry points ---------------------------------------------------------------- */

/* The media type of ctype without parameters, case-insensitively. */
static bool media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);
	if (!ctype)
		return false;
	while (*ctype == ' ')
		ctype++;
	return strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

int otlp_decode(enum otlp_signal sig, const char *ctype, const char *cenc, const char *body,
                size_t len, double now, size_t max_body, size_t max_items, struct event_batch *b,
                struct otlp_reply *rep)
{
	size_t before = b->n_events;
	char *plain = NULL;
	size_t plain_len = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->status = 400;
	if (media_is(ctype, "application/x-protobuf"))
		rep->format = OTLP_PROTOBUF;
	else if (media_is(ctype, "application/json"))
		rep->format = OTLP_JSON;
	else {
		rep->format = OTLP_JSON;
		rep->status = 415;
		snprintf(rep->message, sizeof(rep->message),
		         "Content-Type must be application/x-protobuf or application/json");
		return -1;
	}
	if (cenc && *cenc && strcasecmp(cenc, "identity") != 0) {
		if (strcasecmp(cenc, "gzip") != 0) {
			rep->status = 415;
			snprintf(rep->message, sizeof(rep->message),
			         "Content-Encoding must be gzip or none");
			return -1;
		}
		rc = otlp_gunzip(body, len, max_body, &plain, &plain_len);
		if (rc == -3)
			return -3;
		if (rc) {
			rep->status = rc == -2 ? 413 : 400;
			snprintf(rep->message, sizeof(rep->message), "%s",
			         rc == -2 ? "gzip body inflates past max_body"
			                  : "Content-Encoding gzip but the body is not valid gzip");
			return -1;
		}
		body = plain;
		len = plain_len;
	}
	if (rep->format == OTLP_PROTOBUF)
		rc = decode_pb(sig, (const uint8_t *)body, len, now, max_items, b, rep);
	else
		rc = decode_json(sig, body, len, now, max_items, b, rep);
	free(plain);
	if (rc) {
		b->n_events = before;
		return rc == -3 ? -3 : -1;
	}
	rep->status = 200;
	return 0;
}

static int pack_alloc(const ProtobufCMessage *m, char **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	*out = malloc(n + 1);
	if (!*out)
		return -1;
	*len = protobuf_c_message_pack(m, (uint8_t *)*out);
	return 0;
}

/* google.rpc.Code for an HTTP status. */
static int rpc_code(unsigned status)
{
	switch (status) {
	case 429:
		return 8; /* RESOURCE_EXHAUSTED */
	case 503:
		return 14; /* UNAVAILABLE */
	case 415:
	case 413:
	case 400:
	default:
		return 3; /* INVALID_ARGUMENT */
	}
}

int otlp_reply_body(enum otlp_signal sig, const struct otlp_reply *rep, char **out, size_t *len,
                    const char **ctype)
{
	char *msg = (char *)rep->message;

	*out = NULL;
	*len = 0;
	if (rep->format == OTLP_PROTOBUF) {
		*ctype = "application/x-protobuf";
		if (rep->status != 200) {
			Mlwatch__Otlp__RpcStatus st = MLWATCH__OTLP__RPC_STATUS__INIT;
			st.code = rpc_code(rep->status);
			st.message = msg;
			return pack_alloc(&st.base, out, len);
		}
		if (sig == OTLP_TRACES) {
			Mlwatch__Otlp__ExportTraceServiceResponse r =
			    MLWATCH__OTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
			Mlwatch__Otlp__ExportTracePartialSuccess ps =
			    MLWATCH__OTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
			if (rep->rejected) {
				ps.rejected_spans = (int64_t)rep->rejected;
				ps.error_message = msg;
				r.partial_success = &ps;
			}
			return pack_alloc(&r.base, out, len);
		}
		Mlwatch__Otlp__ExportLogsServiceResponse r =
		    MLWATCH__OTLP__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
		Mlwatch__Otlp__ExportLogsPartialSuccess ps =
		    MLWATCH__OTLP__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
		if (rep->rejected) {
			ps.rejected_log_records = (int64_t)rep->rejected;
			ps.error_message = msg;
			r.partial_success = &ps;
		}
		return pack_alloc(&r.base, out, len);
	}
	*ctype = "application/json";
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return -1;
	if (rep->status != 200) {
		cJSON_AddNumberToObject(o, "code", rpc_code(rep->status));
		cJSON_AddStringToObject(o, "message", rep->message);
	} else if (rep->rejected) {
		char n[32];
		cJSON *ps = cJSON_AddObjectToObject(o, "partialSuccess");
		snprintf(n, sizeof(n), "%zu", rep->rejected); /* int64 as a string */
		cJSON_AddStringToObject(
		    ps, sig == OTLP_TRACES ? "rejectedSpans" : "rejectedLogRecords", n);
		cJSON_AddStringToObject(ps, "errorMessage", rep->message);
	}
	*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!*out)
		return -1;
	*len = strlen(*out);
	return 0;
}
