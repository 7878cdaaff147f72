/* triton: see triton.h. */
#include "triton.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE_RANK_MAX 8
#define ELEMS_MAX      (1u << 20)
#define MONO_AGE_MAX   86400.0 /* a steady-clock age past a day is another machine's clock */

struct group {
	bool open;
	double id;
	size_t start; /* offset of its first record */
	cJSON *rec[TRITON_TRACE_RECORDS_MAX];
	size_t n;
	bool overflow;
};

/* One tensor's values: numbers (isnan = missing) or strings. */
struct tvals {
	const char *name;
	size_t rows, cols;
	bool strings, is_bool;
	double *num;
	char **str;
	size_t n;
};

static void tvals_free(struct tvals *t)
{
	if (t->str)
		for (size_t i = 0; i < t->n; i++)
			free(t->str[i]);
	free(t->str);
	free(t->num);
	memset(t, 0, sizeof(*t));
}

static void refuse(struct triton_report *rep, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(struct triton_report *rep, const char *field, const char *fmt, ...)
{
	if (rep->refused++ == 0) {
		va_list ap;
		rep->first.index = -1;
		snprintf(rep->first.field, sizeof(rep->first.field), "%s", field);
		va_start(ap, fmt);
		vsnprintf(rep->first.reason, sizeof(rep->first.reason), fmt, ap);
		va_end(ap);
	}
}

static void tensor_drop(struct triton_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tensor_drop(struct triton_report *rep, const char *fmt, ...)
{
	va_list ap;
	rep->tensors_refused++;
	va_start(ap, fmt);
	vsnprintf(rep->tensor_reason, sizeof(rep->tensor_reason), fmt, ap);
	va_end(ap);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* End (one past '}') of the object starting at buf[p] == '{', string
 * aware; 0 when it does not end in buf. Depth is bounded by the length. */
static size_t object_end(const char *buf, size_t len, size_t p)
{
	size_t depth = 0;
	bool in_str = false, esc = false;
	for (size_t i = p; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

size_t triton_resync(const char *buf, size_t len)
{
	static const char pat[] = "{\"id\":";
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == ']')
			return i;
		if (buf[i] == '{' && len - i >= sizeof(pat) - 1 &&
		    memcmp(buf + i, pat, sizeof(pat) - 1) == 0)
			return i;
	}
	return len;
}

/* "1,16" -> dims; 0 or -1 with why. */
static int parse_shape(const char *s, size_t *dims, size_t *rank, size_t *count, char *why,
                       size_t wl)
{
	size_t n = 0, prod = 1;
	const char *p = s;
	if (!*p) { /* a scalar */
		*rank = 0;
		*count = 1;
		return 0;
	}
	for (;;) {
		char *end;
		if (*p < '0' || *p > '9') {
			snprintf(why, wl, "shape \"%.40s\" is not a list of sizes", s);
			return -1;
		}
		unsigned long long d = strtoull(p, &end, 10);
		if (n == SHAPE_RANK_MAX || d > ELEMS_MAX || (d && prod > ELEMS_MAX / d)) {
			snprintf(why, wl, "shape \"%.40s\" over %u elements or rank %d", s,
			         ELEMS_MAX, SHAPE_RANK_MAX);
			return -1;
		}
		dims[n++] = (size_t)d;
		prod *= (size_t)d;
		if (*end == '\0')
			break;
		if (*end != ',') {
			snprintf(why, wl, "shape \"%.40s\" is not a list of sizes", s);
			return -1;
		}
		p = end + 1;
	}
	*rank = n;
	*count = prod;
	return 0;
}

/* Reads a tensor record's values. 0, or -1 with why (the tensor is
 * dropped). */
static int tensor_read(const cJSON *t, struct tvals *out, char *why, size_t wl)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
	const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
	size_t dims[SHAPE_RANK_MAX], rank, count;
	const char *nm = cJSON_IsString(name) ? name->valuestring : "?";

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsString(name) || !cJSON_IsString(data) || !cJSON_IsString(shape) ||
	    !cJSON_IsString(dtype)) {
		snprintf(why, wl, "tensor %.64s: name, data, shape and dtype must be strings", nm);
		return -1;
	}
	out->name = nm;
	const char *dt = dtype->valuestring;
	if (!strcmp(dt, "INT8") || !strcmp(dt, "UINT8")) {
		snprintf(why, wl,
		         "tensor %.64s: Triton writes %s elements as characters, not numbers", nm,
		         dt);
		return -1;
	}
	if (!strcmp(dt, "FP16") || !strcmp(dt, "BF16")) {
		snprintf(why, wl, "tensor %.64s: Triton writes no values for %s tensors", nm, dt);
		return -1;
	}
	out->strings = strcmp(dt, "BYTES") == 0;
	out->is_bool = strcmp(dt, "BOOL") == 0;
	if (!out->strings && !out->is_bool && strcmp(dt, "FP32") && strcmp(dt, "FP64") &&
	    strcmp(dt, "INT16") && strcmp(dt, "INT32") && strcmp(dt, "INT64") &&
	    strcmp(dt, "UINT16") && strcmp(dt, "UINT32") && strcmp(dt, "UINT64")) {
		snprintf(why, wl, "tensor %.64s: unknown dtype \"%.20s\"", nm, dt);
		return -1;
	}
	if (parse_shape(shape->valuestring, dims, &rank, &count, why, wl) != 0)
		return -1;
	out->rows = rank >= 2 ? dims[0] : 1;
	if (out->rows > TRITON_ROWS_MAX) {
		snprintf(why, wl, "tensor %.64s: batch of %zu rows (at most %d)", nm, out->rows,
		         TRITON_ROWS_MAX);
		return -1;
	}
	out->cols = out->rows ? count / out->rows : 0;
	if (out->cols > EVENT_FEATURES_MAX) {
		snprintf(why, wl, "tensor %.64s: %zu values per row (at most %d)", nm, out->cols,
		         EVENT_FEATURES_MAX);
		return -1;
	}
	if (count && !(out->strings ? (out->str = calloc(count, sizeof(char *)))
	                            : (void *)(out->num = calloc(count, sizeof(double))))) {
		snprintf(why, wl, "out of memory");
		return -1;
	}
	const char *p = data->valuestring;
	size_t i = 0;
	while (*p) {
		if (i == count) {
			snprintf(why, wl,
			         "tensor %.64s: data holds more values than shape %.40s (%zu)", nm,
			         shape->valuestring, count);
			goto bad;
		}
		const char *e;
		if (out->strings) {
			/* \"s\" as Triton writes it (no escaping inside): up to the
			 * next "," or the final quote. */
			if (*p != '"') {
				snprintf(why, wl, "tensor %.64s: BYTES element %zu is not quoted",
				         nm, i + 1);
				goto bad;
			}
			const char *q = strstr(p + 1, "\",\"");
			e = q ? q + 1 : p + strlen(p);
			if (e - p < 2 || e[-1] != '"') {
				snprintf(why, wl, "tensor %.64s: BYTES element %zu is not quoted",
				         nm, i + 1);
				goto bad;
			}
			if (!(out->str[i] = strndup(p + 1, (size_t)(e - p - 2)))) {
				snprintf(why, wl, "out of memory");
				goto bad;
			}
		} else {
			char *end;
			e = strchr(p, ',');
			if (!e)
				e = p + strlen(p);
			double v = strtod(p, &end);
			if (end != e || e == p) {
				snprintf(why, wl,
				         "tensor %.64s: element %zu \"%.*s\" is not a %s number",
				         nm, i + 1, (int)(e - p > 20 ? 20 : e - p), p, dt);
				goto bad;
			}
			out->num[i] = isfinite(v) ? v : NAN;
		}
		i++;
		out->n = i;
		if (*e == ',')
			e++;
		p = e;
	}
	out->n = i;
	if (i != count) {
		snprintf(why, wl, "tensor %.64s: data holds %zu values, shape %.40s needs %zu", nm,
		         i, shape->valuestring, count);
		goto bad;
	}
	return 0;
bad:
	tvals_free(out);
	return -1;
}

static cJSON *value_at(const struct tvals *t, size_t k)
{
	if (t->strings)
		return strlen(t->str[k]) > EVENT_CATEGORY_MAX ? cJSON_CreateNull()
		                                              : cJSON_CreateString(t->str[k]);
	if (isnan(t->num[k]))
		return cJSON_CreateNull();
	if (t->is_bool)
		return cJSON_CreateBool(t->num[k] != 0);
	return cJSON_CreateNumber(t->num[k]);
}

/* The prediction of one row: its value, or the index of the largest. */
static cJSON *prediction_of(const struct tvals *t, size_t row)
{
	if (row >= t->rows || t->cols == 0)
		return NULL;
	size_t base = row * t->cols;
	if (t->cols == 1 || t->strings)
		return value_at(t, base);
	size_t best = 0;
	for (size_t j = 1; j < t->cols; j++)
		if (t->num[base + j] > t->num[base + best])
			best = j;
	return cJSON_CreateNumber((double)best);
}

static double num_of(const cJSON *o, const char *k, bool *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*ok = cJSON_IsNumber(v);
	return *ok ? v->valuedouble : 0;
}

/* Turns one trace's records into events. 0, or -3 out of memory. */
static int finish(struct group *g, double now, double mono_now, struct event_batch *eb,
                  struct triton_report *rep)
{
	const cJSON *model = NULL;
	double t0 = -1, t1 = -1;
	struct tvals in[16], out = {0};
	size_t n_in = 0;
	bool have_out = false, queue_inputs = false;
	char why[256], idf[48];
	int rc = 0;
	cJSON *ev = NULL;
	char *txt = NULL;

	rep->traces++;
	snprintf(idf, sizeof(idf), "id %.0f", g->id);
	if (g->overflow) {
		refuse(rep, idf, "more than %d records in one trace", TRITON_TRACE_RECORDS_MAX);
		goto out;
	}
	/* Inputs as queued win over the backend's copy of them. */
	for (size_t i = 0; i < g->n; i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(g->rec[i], "activity");
		if (cJSON_IsString(a) && !strcmp(a->valuestring, "TENSOR_QUEUE_INPUT"))
			queue_inputs = true;
	}
	for (size_t i = 0; i < g->n; i++) {
		const cJSON *r = g->rec[i], *ts = cJSON_GetObjectItemCaseSensitive(r, "timestamps");
		const cJSON *act = cJSON_GetObjectItemCaseSensitive(r, "activity");
		if (cJSON_GetObjectItemCaseSensitive(r, "model_name")) {
			model = r;
		} else if (cJSON_IsArray(ts)) {
			const cJSON *t;
			cJSON_ArrayForEach(t, ts)
			{
				const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
				const cJSON *ns = cJSON_GetObjectItemCaseSensitive(t, "ns");
				if (!cJSON_IsString(nm) || !cJSON_IsNumber(ns) ||
				    ns->valuedouble < 0)
					continue;
				if (!strcmp(nm->valuestring, "REQUEST_START"))
					t0 = ns->valuedouble;
				else if (!strcmp(nm->valuestring, "REQUEST_END"))
					t1 = ns->valuedouble;
			}
		} else if (cJSON_IsString(act)) {
			const char *an = act->valuestring;
			bool is_in = !strcmp(an, queue_inputs ? "TENSOR_QUEUE_INPUT"
			                                      : "TENSOR_BACKEND_INPUT");
			bool is_out = !strcmp(an, "TENSOR_BACKEND_OUTPUT") && !have_out;
			if (!is_in && !is_out)
				continue;
			if (is_in && n_in == sizeof(in) / sizeof(in[0])) {
				tensor_drop(rep, "%s: more than 16 input tensors", idf);
				continue;
			}
			struct tvals *tv = is_in ? &in[n_in] : &out;
			if (tensor_read(cJSON_GetObjectItemCaseSensitive(r, "tensor"), tv, why,
			                sizeof(why)) != 0) {
				tensor_drop(rep, "%s %s: %s", idf, an, why);
				continue;
			}
			if (is_in)
				n_in++;
			else
				have_out = true;
		}
	}
	const cJSON *mn = model ? cJSON_GetObjectItemCaseSensitive(model, "model_name") : NULL;
	if (!cJSON_IsString(mn)) {
		refuse(rep, idf,
		       "no model record with a model_name string (Triton writes it with "
		       "REQUEST_START, at trace level TIMESTAMPS)");
		goto out;
	}
	size_t rows = n_in ? in[0].rows : have_out ? out.rows : 1;
	if (rows == 0)
		rows = 1;
	bool ok;
	double ver = num_of(model, "model_version", &ok);
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(model, "request_id");
	bool has_lat = t0 >= 0 && t1 >= t0;
	if (!has_lat)
		rep->latency_unknown += rows;
	for (size_t row = 0; row < rows; row++) {
		cJSON *feats;
		if (!(ev = cJSON_CreateObject()) ||
		    !(feats = cJSON_AddObjectToObject(ev, "features")))
			goto oom;
		cJSON_AddStringToObject(ev, "model", mn->valuestring);
		if (ok && ver >= 0 && ver < 1e15) {
			char vb[32];
			snprintf(vb, sizeof(vb), "%.0f", ver);
			cJSON_AddStringToObject(ev, "version", vb);
		}
		if (cJSON_IsString(rid) && rid->valuestring[0]) {
			char idb[EVENT_ID_MAX + 32];
			if (rows > 1)
				snprintf(idb, sizeof(idb), "%s/%zu", rid->valuestring, row);
			else
				snprintf(idb, sizeof(idb), "%s", rid->valuestring);
			cJSON_AddStringToObject(ev, "id", idb);
		}
		if (has_lat)
			cJSON_AddNumberToObject(ev, "latency_ms", (t1 - t0) / 1e6);
		double age = mono_now - t0 / 1e9;
		if (t0 >= 0 && age >= 0 && age <= MONO_AGE_MAX)
			cJSON_AddNumberToObject(ev, "ts", now - age);
		for (size_t k = 0; k < n_in; k++) {
			if (row >= in[k].rows)
				continue;
			for (size_t j = 0; j < in[k].cols; j++) {
				char fname[EVENT_FEATURE_NAME_MAX + 32];
				if (in[k].cols == 1)
					snprintf(fname, sizeof(fname), "%s", in[k].name);
				else
					snprintf(fname, sizeof(fname), "%.100s[%zu]", in[k].name,
					         j);
				cJSON *v = value_at(&in[k], row * in[k].cols + j);
				if (!v)
					goto oom;
				cJSON_AddItemToObject(feats, fname, v);
			}
		}
		if (have_out) {
			cJSON *p = prediction_of(&out, row);
			if (p)
				cJSON_AddItemToObject(ev, "prediction", p);
		}
		if (!(txt = cJSON_PrintUnformatted(ev)))
			goto oom;
		struct event_error ee;
		int prc = event_parse_body(txt, strlen(txt), EVENT_BODY_EVENTS, now, 1, eb, &ee);
		if (prc == -3)
			goto oom;
		if (prc != 0) {
			char f[sizeof(ee.field) + 64];
			snprintf(f, sizeof(f), "%s.%s", idf, ee.field);
			refuse(rep, f, "%s", ee.reason);
		}
		free(txt);
		txt = NULL;
		cJSON_Delete(ev);
		ev = NULL;
	}
	goto out;
oom:
	rc = -3;
out:
	free(txt);
	cJSON_Delete(ev);
	for (size_t k = 0; k < n_in; k++)
		tvals_free(&in[k]);
	tvals_free(&out);
	for (size_t i = 0; i < g->n; i++)
		cJSON_Delete(g->rec[i]);
	g->n = 0;
	g->open = false;
	g->overflow = false;
	return rc;
}

static void group_drop(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		cJSON_Delete(g->rec[i]);
	g->n = 0;
	g->open = false;
}

int triton_parse(const char *buf, size_t len, bool final, double now, double mono_now,
                 size_t max_traces, struct event_batch *eb, size_t *consumed,
                 struct triton_report *rep)
{
	struct group *g = calloc(1, sizeof(*g));
	size_t pos = 0, done = 0, traces = 0;
	size_t ev_before = eb->n_events;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	*consumed = 0;
	if (!g)
		return -3;
	while (traces < max_traces) {
		while (pos < len && (is_ws(buf[pos]) || buf[pos] == '[' || buf[pos] == ','))
			pos++;
		if (pos == len)
			break;
		if (buf[pos] == ']') {
			/* The array is closed: its last trace is complete. */
			pos++;
			if (g->open) {
				if ((rc = finish(g, now, mono_now, eb, rep)) != 0)
					goto fail;
				traces++;
			}
			done = pos;
			continue;
		}
		char where[48];
		snprintf(where, sizeof(where), "byte %zu", pos);
		if (buf[pos] != '{') {
			size_t skip = pos + 1;
			while (skip < len && buf[skip] != '{' && buf[skip] != ']')
				skip++;
			if (skip == len && !final)
				break; /* may be the start of something */
			refuse(rep, where, "not a trace record (Triton writes JSON objects)");
			pos = skip;
			if (!g->open)
				done = pos;
			continue;
		}
		size_t end = object_end(buf, len, pos);
		if (end == 0) {
			if (final) {
				refuse(rep, where, "unfinished record at the end of the file");
				pos = len;
			}
			break;
		}
		cJSON *r = cJSON_ParseWithLength(buf + pos, end - pos);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
		if (!r || !cJSON_IsNumber(id) || id->valuedouble < 0 ||
		    id->valuedouble != floor(id->valuedouble) ||
		    id->valuedouble > 9007199254740992.0) {
			refuse(rep, where,
			       r ? "record without a numeric \"id\"" : "record is not JSON");
			cJSON_Delete(r);
			pos = end;
			if (!g->open)
				done = pos;
			continue;
		}
		if (g->open && g->id != id->valuedouble) {
			/* A record of another trace: the open one is complete. */
			if ((rc = finish(g, now, mono_now, eb, rep)) != 0) {
				cJSON_Delete(r);
				goto fail;
			}
			done = pos;
			if (++traces == max_traces) {
				cJSON_Delete(r);
				break;
			}
		}
		if (!g->open) {
			g->open = true;
			g->id = id->valuedouble;
			g->start = pos;
		}
		if (g->n == TRITON_TRACE_RECORDS_MAX) {
			g->overflow = true;
			cJSON_Delete(r);
		} else {
			g->rec[g->n++] = r;
		}
		pos = end;
	}
	if (final && traces < max_traces && pos >= len) {
		if (g->open && (rc = finish(g, now, mono_now, eb, rep)) != 0)
			goto fail;
		done = len;
	} else if (g->open) {
		done = g->start; /* read its records again next time */
		group_drop(g);
	} else if (done < pos) {
		done = pos;
	}
	*consumed = done;
	free(g);
	return 0;
fail:
	group_drop(g);
	free(g);
	/* All or nothing: the events of this call go too. */
	while (eb->n_events > ev_before)
		eb->n_events--;
	*consumed = 0;
	return rc;
}
