/* event: see event.h. */
#include "event.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json_arena.h"
#include "text.h"
#include "vector.h"

int event_fail(struct event_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	err->index = -1;
	err->label_only = false;
	err->vector_reason = 0;
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -1;
}

char *event_error_format(const struct event_error *err, char *buf, size_t cap)
{
	char safe[sizeof(err->field)];

	/* Field names come from the request: never echo control characters. */
	text_sanitize(safe, sizeof(safe), err->field);
	if (err->index >= 0 && safe[0])
		snprintf(buf, cap, "[%ld].%s: %s", err->index, safe, err->reason);
	else if (err->index >= 0)
		snprintf(buf, cap, "[%ld]: %s", err->index, err->reason);
	else if (safe[0])
		snprintf(buf, cap, "%s: %s", safe, err->reason);
	else
		snprintf(buf, cap, "%s", err->reason);
	return buf;
}

bool event_model_name_valid(const char *s, size_t n)
{
	if (n < 1 || n > EVENT_MODEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool event_feature_name_valid(const char *s, size_t n)
{
	return n >= 1 && n <= EVENT_FEATURE_NAME_MAX && s[0] != '@' && text_printable(s, n);
}

bool event_id_valid(const char *s, size_t n)
{
	if (n < 1 || n > EVENT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Copies a field name for an error path, marking truncation. */
static void field_path(char *buf, size_t cap, const char *prefix, const char *name)
{
	size_t n = strlen(name);
	if (n > 64)
		snprintf(buf, cap, "%s.%.64s...", prefix, name);
	else
		snprintf(buf, cap, "%s.%s", prefix, name);
}

static int parse_ts(const cJSON *item, double now, double *out, bool *given,
                    struct event_error *err)
{
	double ts;

	if (!item || cJSON_IsNull(item)) {
		*out = now;
		*given = false;
		return 0;
	}
	if (cJSON_IsNumber(item)) {
		ts = item->valuedouble;
		if (!isfinite(ts) || ts < 0)
			return event_fail(err, "ts", "must be non-negative Unix seconds");
	} else if (cJSON_IsString(item)) {
		if (clock_parse_rfc3339(item->valuestring, &ts) != 0)
			return event_fail(err, "ts",
			                  "not an RFC 3339 date-time (like 2026-11-25T12:00:00Z)");
		if (ts < 0)
			return event_fail(err, "ts", "before 1970");
	} else {
		return event_fail(err, "ts",
		                  "must be a number (Unix seconds) or an RFC 3339 string");
	}
	if (ts > now + EVENT_FUTURE_MAX_S)
		return event_fail(err, "ts",
		                  "%.6g s in the future (clock skew; at most %.0f s allowed)",
		                  ts - now, EVENT_FUTURE_MAX_S);
	*out = ts;
	*given = true;
	return 0;
}

/* The members of an event or label object that parsing reads, each the
 * first occurrence of its key (what cJSON_GetObjectItemCaseSensitive
 * finds), gathered in one pass over the object rather than one lookup per
 * field: with a dozen fields that is most of the string compares of a
 * parse. Unknown keys are ignored. */
struct fields {
	const cJSON *model, *id, *version, *ts, *latency_ms, *error, *features, *scores,
	    *prediction, *score, *label, *input_tokens, *output_tokens, *ttft_ms, *tpot_ms,
	    *finish_reason;
};

static void fields_collect(const cJSON *obj, struct fields *f)
{
	memset(f, 0, sizeof(*f));
	for (const cJSON *c = obj->child; c; c = c->next) {
		const char *k = c->string;
		const cJSON **slot = NULL;
		if (!k)
			continue;
		switch (k[0]) {
		case 'e':
			slot = strcmp(k, "error") == 0 ? &f->error : NULL;
			break;
		case 'f':
			slot = strcmp(k, "features") == 0        ? &f->features
			       : strcmp(k, "finish_reason") == 0 ? &f->finish_reason
			                                         : NULL;
			break;
		case 'i':
			slot = strcmp(k, "id") == 0             ? &f->id
			       : strcmp(k, "input_tokens") == 0 ? &f->input_tokens
			                                        : NULL;
			break;
		case 'o':
			slot = strcmp(k, "output_tokens") == 0 ? &f->output_tokens : NULL;
			break;
		case 'l':
			slot = strcmp(k, "latency_ms") == 0 ? &f->latency_ms
			       : strcmp(k, "label") == 0    ? &f->label
			                                    : NULL;
			break;
		case 'm':
			slot = strcmp(k, "model") == 0 ? &f->model : NULL;
			break;
		case 'p':
			slot = strcmp(k, "prediction") == 0 ? &f->prediction : NULL;
			break;
		case 's':
			slot = strcmp(k, "score") == 0    ? &f->score
			       : strcmp(k, "scores") == 0 ? &f->scores
			                                  : NULL;
			break;
		case 't':
			slot = strcmp(k, "ts") == 0        ? &f->ts
			       : strcmp(k, "ttft_ms") == 0 ? &f->ttft_ms
			       : strcmp(k, "tpot_ms") == 0 ? &f->tpot_ms
			                                   : NULL;
			break;
		case 'v':
			slot = strcmp(k, "version") == 0 ? &f->version : NULL;
			break;
		default:
			break;
		}
		if (slot && !*slot)
			*slot = c;
	}
}

static int parse_model(const cJSON *m, struct arena *a, const char **out, struct event_error *err)
{
	if (!m || cJSON_IsNull(m))
		return event_fail(err, "model", "required");
	if (!cJSON_IsString(m))
		return event_fail(err, "model", "must be a string");
	size_t n = strlen(m->valuestring);
	if (!event_model_name_valid(m->valuestring, n))
		return event_fail(err, "model", "must be 1-%d characters of [A-Za-z0-9_.-]",
		                  EVENT_MODEL_MAX);
	*out = arena_strndup(a, m->valuestring, n);
	return *out ? 0 : event_fail(err, "", "out of memory");
}

static int parse_id(const cJSON *id, struct arena *a, bool required, const char **out,
                    struct event_error *err)
{
	*out = NULL;
	if (!id || cJSON_IsNull(id))
		return required ? event_fail(err, "id", "required (labels join events by id)") : 0;
	if (!cJSON_IsString(id))
		return event_fail(err, "id", "must be a string");
	size_t n = strlen(id->valuestring);
	if (!event_id_valid(id->valuestring, n))
		return event_fail(err, "id", "must be 1-%d printable ASCII characters",
		                  EVENT_ID_MAX);
	*out = arena_strndup(a, id->valuestring, n);
	return *out ? 0 : event_fail(err, "", "out of memory");
}

/* A prediction or label value: number, string or boolean ("true"/"false").
 * Returns 0, -1 (err names field) or -2 (out of memory). */
static int parse_value(const cJSON *item, const char *field, struct arena *a, struct value *out,
                       struct event_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!item || cJSON_IsNull(item))
		return 0;
	if (cJSON_IsNumber(item)) {
		if (!isfinite(item->valuedouble))
			return event_fail(err, field, "must be a finite number");
		out->kind = VALUE_NUMBER;
		out->num = item->valuedouble;
		return 0;
	}
	if (cJSON_IsString(item) || cJSON_IsBool(item)) {
		const char *s = cJSON_IsBool(item) ? (cJSON_IsTrue(item) ? "true" : "false")
		                                   : item->valuestring;
		size_t n = strlen(s);
		if (n > EVENT_CATEGORY_MAX)
			return event_fail(err, field, "longer than %d bytes", EVENT_CATEGORY_MAX);
		if (!text_printable(s, n))
			return event_fail(err, field, "must be printable UTF-8");
		out->kind = VALUE_STRING;
		out->str = arena_strndup(a, s, n);
		if (!out->str)
			return event_fail(err, "", "out of memory"), -2;
		return 0;
	}
	return event_fail(err, field, "must be a number, a string, or null");
}

bool event_name_filter_add(struct event_name_filter *f, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	bool was;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	h &= 1023;
	was = (f->bits[h >> 6] >> (h & 63)) & 1;
	f->bits[h >> 6] |= 1ull << (h & 63);
	return was;
}

/* Reports the first feature name that occurs twice among n, or NULL; in
 * the usual case (no repeat) one pass through the filter. */
static const char *find_duplicate(const struct feature *fs, size_t n)
{
	struct event_name_filter seen = {{0}};

	for (size_t i = 0; i < n; i++)
		if (event_name_filter_add(&seen, fs[i].name, strlen(fs[i].name)))
			for (size_t j = 0; j < i; j++)
				if (strcmp(fs[i].name, fs[j].name) == 0)
					return fs[i].name;
	return NULL;
}

/* Replaces the field of an error raised by parse_value with its full path,
 * built only when there is an error to report. */
static int fail_path(struct event_error *err, const char *prefix, const char *name)
{
	char path[192];

	field_path(path, sizeof(path), prefix, name);
	snprintf(err->field, sizeof(err->field), "%s", path);
	return -1;
}

/* A vector feature (issue 19): parsed straight into the arena; the refusal
 * names the element and keeps its reason for the caller's counter. The
 * dimension fixed per model and feature is checked by whoever keeps it (the
 * agent's vecdim, the collector's windows), not here: one event alone
 * cannot know it. */
static int parse_vector(const cJSON *f, struct arena *a, struct feature *ft,
                        struct event_error *err)
{
	struct vector_error ve;
	size_t n = 0, dim = 0;
	const cJSON *c;
	float *out;

	/* Count up to one past the limit so a 10^6-element array is refused
	 * without allocating for it. */
	for (c = f->child; c && n <= VECTOR_DIM_MAX; c = c->next)
		n++;
	out =
	    arena_alloc_raw(a, (n ? (n > VECTOR_DIM_MAX ? VECTOR_DIM_MAX : n) : 1) * sizeof(float));
	if (!out)
		return event_fail(err, "", "out of memory");
	if (vector_from_json(f, 0, out, VECTOR_DIM_MAX, &dim, &ve)) {
		event_fail(err, "", "%s", ve.msg);
		err->vector_reason = (int)ve.reason;
		return -1;
	}
	ft->kind = FEATURE_VECTOR;
	ft->vec = out;
	ft->dim = dim;
	return 0;
}

static int parse_features(const cJSON *fs, struct arena *a, struct event *ev,
                          struct event_error *err)
{
	const cJSON *f;
	size_t n = 0, i = 0;

	if (!fs || cJSON_IsNull(fs))
		return 0;
	if (!cJSON_IsObject(fs))
		return event_fail(err, "features", "must be an object of name -> value");
	cJSON_ArrayForEach(f, fs) n++;
	if (n > EVENT_FEATURES_MAX)
		return event_fail(err, "features", "%zu entries; at most %d allowed", n,
		                  EVENT_FEATURES_MAX);
	if (n == 0)
		return 0;
	ev->features = arena_alloc(a, n * sizeof(*ev->features));
	if (!ev->features)
		return event_fail(err, "", "out of memory");
	cJSON_ArrayForEach(f, fs)
	{
		struct feature *ft = &ev->features[i];
		size_t len = strlen(f->string);

		if (!event_feature_name_valid(f->string, len)) {
			event_fail(
			    err, "",
			    "name must be 1-%d bytes of printable UTF-8, not starting with '@'",
			    EVENT_FEATURE_NAME_MAX);
			return fail_path(err, "features", f->string);
		}
		ft->name = arena_strndup(a, f->string, len);
		if (!ft->name)
			return event_fail(err, "", "out of memory");
		if (cJSON_IsNull(f)) {
			ft->kind = FEATURE_MISSING;
		} else if (cJSON_IsNumber(f)) {
			if (!isfinite(f->valuedouble)) {
				event_fail(err, "", "must be a finite number");
				return fail_path(err, "features", f->string);
			}
			ft->kind = FEATURE_NUMERIC;
			ft->num = f->valuedouble;
		} else if (cJSON_IsString(f) || cJSON_IsBool(f)) {
			struct value v;
			int r = parse_value(f, "", a, &v, err);
			if (r == -1)
				fail_path(err, "features", f->string);
			if (r)
				return -1;
			ft->kind = FEATURE_CATEGORICAL;
			ft->str = v.str;
		} else if (cJSON_IsArray(f)) {
			if (parse_vector(f, a, ft, err))
				return fail_path(err, "features", f->string);
		} else {
			event_fail(
			    err, "",
			    "must be a number, a string, a boolean, an array of numbers or null");
			return fail_path(err, "features", f->string);
		}
		i++;
	}
	ev->n_features = n;
	const char *dup = find_duplicate(ev->features, n);
	if (dup) {
		event_fail(err, "", "appears twice");
		return fail_path(err, "features", dup);
	}
	return 0;
}

static int parse_scores(const cJSON *ss, struct arena *a, struct event *ev, struct event_error *err)
{
	const cJSON *s;
	size_t n = 0, i = 0;

	if (!ss || cJSON_IsNull(ss))
		return 0;
	if (!cJSON_IsObject(ss))
		return event_fail(err, "scores", "must be an object of class -> probability");
	cJSON_ArrayForEach(s, ss) n++;
	if (n > EVENT_SCORES_MAX)
		return event_fail(err, "scores", "%zu entries; at most %d allowed", n,
		                  EVENT_SCORES_MAX);
	if (n == 0)
		return 0;
	ev->scores = arena_alloc(a, n * sizeof(*ev->scores));
	if (!ev->scores)
		return event_fail(err, "", "out of memory");
	cJSON_ArrayForEach(s, ss)
	{
		size_t len = strlen(s->string);
		if (len < 1 || len > EVENT_CATEGORY_MAX || !text_printable(s->string, len)) {
			event_fail(err, "", "class must be 1-%d bytes of printable UTF-8",
			           EVENT_CATEGORY_MAX);
			return fail_path(err, "scores", s->string);
		}
		if (!cJSON_IsNumber(s) || !(s->valuedouble >= 0 && s->valuedouble <= 1)) {
			event_fail(err, "", "must be a probability in [0, 1]");
			return fail_path(err, "scores", s->string);
		}
		ev->scores[i].cls = arena_strndup(a, s->string, len);
		if (!ev->scores[i].cls)
			return event_fail(err, "", "out of memory");
		ev->scores[i].p = s->valuedouble;
		i++;
	}
	ev->n_scores = n;
	return 0;
}

bool event_has_llm(const struct event *ev)
{
	return ev->has_input_tokens || ev->has_output_tokens || ev->has_ttft || ev->has_tpot ||
	       ev->finish_reason;
}

bool event_finish_reason_valid(const char *s, size_t n)
{
	if (n < 1 || n > EVENT_FINISH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

static int parse_tokens(const cJSON *it, const char *field, int64_t *out, bool *has,
                        struct event_error *err)
{
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
	    it->valuedouble > (double)EVENT_TOKENS_MAX || it->valuedouble != floor(it->valuedouble))
		return event_fail(err, field, "must be a whole number of tokens in [0, 2^32]");
	*out = (int64_t)it->valuedouble;
	*has = true;
	return 0;
}

static int parse_ms(const cJSON *it, const char *field, double *out, bool *has,
                    struct event_error *err)
{
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0)
		return event_fail(err, field, "must be a finite number >= 0");
	*out = it->valuedouble;
	*has = true;
	return 0;
}

/* The LLM fields of an event: all optional. */
static int parse_llm(const struct fields *f, struct arena *a, struct event *ev,
                     struct event_error *err)
{
	const cJSON *it = f->finish_reason;

	if (parse_tokens(f->input_tokens, "input_tokens", &ev->input_tokens, &ev->has_input_tokens,
	                 err) ||
	    parse_tokens(f->output_tokens, "output_tokens", &ev->output_tokens,
	                 &ev->has_output_tokens, err) ||
	    parse_ms(f->ttft_ms, "ttft_ms", &ev->ttft_ms, &ev->has_ttft, err) ||
	    parse_ms(f->tpot_ms, "tpot_ms", &ev->tpot_ms, &ev->has_tpot, err))
		return -1;
	if (it && !cJSON_IsNull(it)) {
		if (!cJSON_IsString(it) ||
		    !event_finish_reason_valid(it->valuestring, strlen(it->valuestring)))
			return event_fail(err, "finish_reason",
			                  "must be 1-%d characters of [a-z0-9_-]",
			                  EVENT_FINISH_MAX);
		ev->finish_reason = arena_strdup(a, it->valuestring);
		if (!ev->finish_reason)
			return event_fail(err, "", "out of memory");
	}
	return 0;
}

int event_parse(const cJSON *obj, double now, struct arena *a, struct event *ev,
                struct event_error *err)
{
	struct fields f;
	const cJSON *it;

	memset(ev, 0, sizeof(*ev));
	if (!cJSON_IsObject(obj))
		return event_fail(err, "", "an event must be a JSON object");
	fields_collect(obj, &f);
	if (parse_model(f.model, a, &ev->model, err) || parse_id(f.id, a, false, &ev->id, err))
		return -1;

	it = f.version;
	if (it && !cJSON_IsNull(it)) {
		size_t n;
		if (!cJSON_IsString(it))
			return event_fail(err, "version", "must be a string");
		n = strlen(it->valuestring);
		if (n < 1 || n > EVENT_VERSION_MAX || !text_printable(it->valuestring, n))
			return event_fail(err, "version", "must be 1-%d printable characters",
			                  EVENT_VERSION_MAX);
		ev->version = arena_strndup(a, it->valuestring, n);
		if (!ev->version)
			return event_fail(err, "", "out of memory");
	}
	if (parse_ts(f.ts, now, &ev->ts, &ev->ts_given, err))
		return -1;

	it = f.latency_ms;
	if (it && !cJSON_IsNull(it)) {
		if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0)
			return event_fail(err, "latency_ms", "must be a finite number >= 0");
		ev->latency_ms = it->valuedouble;
		ev->has_latency = true;
	}
	it = f.error;
	if (it && !cJSON_IsNull(it)) {
		if (!cJSON_IsBool(it))
			return event_fail(err, "error", "must be true or false");
		ev->error = cJSON_IsTrue(it);
	}
	if (parse_features(f.features, a, ev, err) || parse_scores(f.scores, a, ev, err))
		return -1;
	if (parse_value(f.prediction, "prediction", a, &ev->prediction, err))
		return -1;
	it = f.score;
	if (it && !cJSON_IsNull(it)) {
		if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 1))
			return event_fail(err, "score", "must be a probability in [0, 1]");
		ev->score = it->valuedouble;
		ev->has_score = true;
	}
	if (parse_value(f.label, "label", a, &ev->label, err) || parse_llm(&f, a, ev, err))
		return -1;
	if (ev->label.kind != VALUE_NONE && ev->prediction.kind != VALUE_NONE &&
	    ev->label.kind != ev->prediction.kind)
		return event_fail(err, "label", "must be of the same kind as prediction (%s)",
		                  ev->prediction.kind == VALUE_NUMBER ? "a number" : "a string");
	/* A label with nothing of a prediction is a late label sent to the
	 * wrong place: stored, it would be an empty event that the label then
	 * joins (a phantom in counts and accuracy). */
	if (ev->label.kind != VALUE_NONE && ev->prediction.kind == VALUE_NONE && !ev->has_score &&
	    ev->n_scores == 0 && ev->n_features == 0 && !ev->has_latency && !f.error) {
		event_fail(
		    err, "label",
		    "a label without prediction, score, scores, features or latency_ms is not an "
		    "event; post late labels to /v1/labels");
		err->label_only = true;
		return -1;
	}
	return 0;
}

int label_parse(const cJSON *obj, double now, struct arena *a, struct label *lb,
                struct event_error *err)
{
	struct fields f;

	memset(lb, 0, sizeof(*lb));
	if (!cJSON_IsObject(obj))
		return event_fail(err, "", "a label must be a JSON object");
	fields_collect(obj, &f);
	if (parse_model(f.model, a, &lb->model, err) || parse_id(f.id, a, true, &lb->id, err))
		return -1;
	if (!f.label || cJSON_IsNull(f.label))
		return event_fail(err, "label", "required");
	if (parse_value(f.label, "label", a, &lb->label, err))
		return -1;
	return parse_ts(f.ts, now, &lb->ts, &lb->ts_given, err);
}

void event_batch_init(struct event_batch *b)
{
	memset(b, 0, sizeof(*b));
	arena_init(&b->arena, 0);
}

void event_batch_reset(struct event_batch *b)
{
	free(b->events);
	free(b->labels);
	arena_reset(&b->arena);
	event_batch_init(b);
}

static int batch_reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Parses one item into the batch. Returns 0, -1 (err), -3 (memory). */
static int add_item(const cJSON *item, enum event_body_kind kind, double now, struct event_batch *b,
                    struct event_error *err)
{
	if (kind == EVENT_BODY_EVENTS) {
		if (batch_reserve((void **)&b->events, &b->cap_events, b->n_events + 1,
		                  sizeof(*b->events)))
			return -3;
		if (event_parse(item, now, &b->arena, &b->events[b->n_events], err))
			return -1;
		b->n_events++;
	} else {
		if (batch_reserve((void **)&b->labels, &b->cap_labels, b->n_labels + 1,
		                  sizeof(*b->labels)))
			return -3;
		if (label_parse(item, now, &b->arena, &b->labels[b->n_labels], err))
			return -1;
		b->n_labels++;
	}
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Line number (1-based) of position p in body, for NDJSON error messages. */
static long line_of(const char *body, const char *p)
{
	long line = 1;
	for (const char *q = body; q < p; q++)
		line += *q == '\n';
	return line;
}

bool event_json_has_nul_escape(const char *s, size_t n)
{
	/* memmem for the whole "\\u0000", not memchr for every 'u' of the
	 * body's names and values */
	for (const char *p = s, *end = s + n; (p = memmem(p, (size_t)(end - p), "\\u0000", 6));
	     p++) {
		/* An escape only when an odd run of backslashes leads to the
		 * u ("\\\\u0000" is a backslash, then the text u0000). */
		size_t run = 1;
		for (const char *q = p; q > s && q[-1] == '\\'; q--)
			run++;
		if (run % 2 == 1)
			return true;
	}
	return false;
}

int event_parse_body(const char *body, size_t len, enum event_body_kind kind, double now,
                     size_t max_items, struct event_batch *b, struct event_error *err)
{
	const char *end = body + len, *p;
	size_t n0 = b->n_events, l0 = b->n_labels, count = 0;
	/* the JSON trees: read, copied into b, dropped */
	struct arena scratch;
	cJSON *doc;
	int rc = -1;

	arena_init(&scratch, 0);

	memset(err, 0, sizeof(*err));
	err->index = -1;
	p = skip_ws(body, end);
	if (p == end) {
		event_fail(err, "", "empty body");
		goto out;
	}
	if (memchr(body, '\0', len)) {
		event_fail(err, "", "body contains a NUL byte");
		goto out;
	}
	if (event_json_has_nul_escape(body, len)) {
		event_fail(err, "",
		           "a string holds \\u0000 (NUL), which no name or value may contain");
		goto out;
	}
	if (*p == '[') {
		const char *pe = NULL;
		doc = json_arena_parse(&scratch, p, (size_t)(end - p), &pe);
		if (!doc) {
			event_fail(err, "", "invalid JSON at byte %ld",
			           pe ? (long)(pe - body) : 0L);
			goto out;
		}
		if (skip_ws(pe, end) != end) {
			event_fail(err, "", "unexpected data after the JSON array at byte %ld",
			           (long)(pe - body));
			goto out;
		}
		const cJSON *item;
		cJSON_ArrayForEach(item, doc) count++;
		if (count > max_items) {
			event_fail(err, "", "%zu items in one request; at most %zu allowed", count,
			           max_items);
			rc = -2;
			goto out;
		}
		long i = 0;
		cJSON_ArrayForEach(item, doc)
		{
			int r = add_item(item, kind, now, b, err);
			if (r) {
				err->index = i;
				rc = r;
				goto out;
			}
			i++;
		}
		rc = 0;
		goto out;
	}
	/* One object, or NDJSON: parse values one after another. */
	for (long i = 0; p < end; i++) {
		const char *pe = NULL;
		if (*p != '{') {
			event_fail(err, "", "line %ld: expected a JSON object", line_of(body, p));
			err->index = i;
			goto out;
		}
		if ((size_t)i >= max_items) {
			event_fail(err, "", "more than %zu items in one request", max_items);
			rc = -2;
			goto out;
		}
		arena_rewind(&scratch);
		doc = json_arena_parse(&scratch, p, (size_t)(end - p), &pe);
		if (!doc) {
			event_fail(err, "", "line %ld: invalid JSON at byte %ld",
			           line_of(body, pe ? pe : p), pe ? (long)(pe - body) : 0L);
			err->index = i;
			goto out;
		}
		int r = add_item(doc, kind, now, b, err);
		if (r) {
			err->index = i;
			rc = r;
			goto out;
		}
		p = skip_ws(pe, end);
	}
	rc = 0;
out:
	arena_reset(&scratch);
	if (rc != 0) {
		/* All or nothing. Arena memory of the failed items stays until reset. */
		b->n_events = n0;
		b->n_labels = l0;
	}
	return rc;
}
