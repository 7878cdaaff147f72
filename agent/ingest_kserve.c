/* ingest_kserve: see ingest_kserve.h. */
#include "ingest_kserve.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "sampler.h"
#include "stats.h"

#define BUCKETS_MIN 1024
#define COST_FACTOR 8 /* parsed JSON takes about this many times its text */

struct half {
	char *id;
	uint64_t hash;
	bool is_request;
	char *model;
	double ts;
	bool has_ts;
	cJSON *body;
	size_t cost;
	double born;
	struct half *hnext;       /* bucket chain */
	struct half *prev, *next; /* age order, oldest first */
};

struct kserve {
	pthread_mutex_t mu;
	double ttl;
	size_t max_pending, max_bytes, bytes, n;
	struct half **buckets;
	size_t n_buckets;
	struct half *oldest, *newest;
	kserve_emit_fn emit;
	void *arg;
};

struct kserve *kserve_new(double ttl_s, size_t max_pending, size_t max_bytes, kserve_emit_fn emit,
                          void *arg)
{
	struct kserve *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->ttl = ttl_s;
	k->max_pending = max_pending ? max_pending : 1;
	k->max_bytes = max_bytes;
	k->n_buckets = BUCKETS_MIN;
	while (k->n_buckets < 2 * k->max_pending && k->n_buckets < (1u << 20))
		k->n_buckets *= 2;
	k->buckets = calloc(k->n_buckets, sizeof(*k->buckets));
	if (!k->buckets) {
		free(k);
		return NULL;
	}
	k->emit = emit;
	k->arg = arg;
	pthread_mutex_init(&k->mu, NULL);
	return k;
}

static void half_free(struct half *h)
{
	if (!h)
		return;
	free(h->id);
	free(h->model);
	cJSON_Delete(h->body);
	free(h);
}

/* Unlinks h from the table (under mu). */
static void unlink_half(struct kserve *k, struct half *h)
{
	struct half **pp = &k->buckets[h->hash & (k->n_buckets - 1)];
	while (*pp && *pp != h)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = h->hnext;
	if (h->prev)
		h->prev->next = h->next;
	else
		k->oldest = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		k->newest = h->prev;
	k->bytes -= h->cost;
	k->n--;
	stats_set(ST_KSERVE_PENDING, k->n);
}

static struct half *lookup(struct kserve *k, const char *id, uint64_t hash)
{
	for (struct half *h = k->buckets[hash & (k->n_buckets - 1)]; h; h = h->hnext)
		if (h->hash == hash && strcmp(h->id, id) == 0)
			return h;
	return NULL;
}

static void insert(struct kserve *k, struct half *h)
{
	size_t b = h->hash & (k->n_buckets - 1);
	h->hnext = k->buckets[b];
	k->buckets[b] = h;
	h->prev = k->newest;
	h->next = NULL;
	if (k->newest)
		k->newest->next = h;
	else
		k->oldest = h;
	k->newest = h;
	k->bytes += h->cost;
	k->n++;
	stats_set(ST_KSERVE_PENDING, k->n);
}

void kserve_free(struct kserve *k)
{
	if (!k)
		return;
	while (k->oldest) {
		struct half *h = k->oldest;
		unlink_half(k, h);
		stats_add(ST_KSERVE_EXPIRED, 1);
		half_free(h);
	}
	free(k->buckets);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

size_t kserve_pending(struct kserve *k)
{
	pthread_mutex_lock(&k->mu);
	size_t n = k->n;
	pthread_mutex_unlock(&k->mu);
	return n;
}

void kserve_expire(struct kserve *k, double mono_now)
{
	struct half *dead = NULL;

	pthread_mutex_lock(&k->mu);
	while (k->oldest && mono_now - k->oldest->born >= k->ttl) {
		struct half *h = k->oldest;
		unlink_half(k, h);
		h->next = dead;
		dead = h;
		stats_add(ST_KSERVE_EXPIRED, 1);
	}
	pthread_mutex_unlock(&k->mu);
	while (dead) {
		struct half *next = dead->next;
		char q[160];
		log_debug("kserve", "half expired without its pair id=%s request=%d",
		          log_quote(q, sizeof(q), dead->id), dead->is_request);
		half_free(dead);
		dead = next;
	}
}

static int fail(struct kserve_result *res, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct kserve_result *res, const char *field, const char *fmt, ...)
{
	va_list ap;
	snprintf(res->field, sizeof(res->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- flattening tensors and instances -------------------------------- */

struct leaves {
	const cJSON **v;
	size_t n, cap;
};

/* Collects the scalar leaves of item in row-major order (at most max). */
static int collect(struct leaves *l, const cJSON *item, size_t max)
{
	if (cJSON_IsArray(item)) {
		const cJSON *c;
		cJSON_ArrayForEach(c, item)
		{
			if (collect(l, c, max))
				return -1;
		}
		return 0;
	}
	if (l->n >= max)
		return 0; /* truncated: the first max values are kept */
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		const cJSON **nv = realloc(l->v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = item;
	return 0;
}

/* Adds leaf values (copies) under name / name[j] to obj. */
static int add_leaf(cJSON *obj, const char *name, const cJSON *leaf)
{
	cJSON *c = cJSON_Duplicate(leaf, 0);
	if (!c)
		return -1;
	if (cJSON_IsArray(c) || cJSON_IsObject(c)) {
		cJSON_Delete(c);
		c = cJSON_CreateNull();
		if (!c)
			return -1;
	}
	cJSON_AddItemToObject(obj, name, c);
	return 0;
}

/* One tensor: {name, shape, datatype, data}. Returns rows and k (values per
 * row) with the leaves. */
static int tensor_rows(const cJSON *t, struct leaves *l, size_t *rows, size_t *k, const char **name,
                       struct kserve_result *res, const char *what)
{
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");

	if (!cJSON_IsObject(t) || !cJSON_IsString(nm) || !data)
		return fail(res, what, "each tensor needs \"name\" and \"data\"");
	*name = nm->valuestring;
	l->n = 0;
	if (collect(l, data, 1u << 20))
		return -ENOMEM;
	*rows = 1;
	const cJSON *s0 = cJSON_IsArray(shape) ? cJSON_GetArrayItem(shape, 0) : NULL;
	if (cJSON_IsNumber(s0) && s0->valuedouble >= 1 && s0->valuedouble <= 1e6) {
		size_t r = (size_t)s0->valuedouble;
		if (l->n % r == 0 && l->n > 0)
			*rows = r;
	}
	*k = l->n / *rows;
	return 0;
}

struct row_out {
	cJSON **features; /* object per row */
	size_t n;
};

static int rows_reserve(struct row_out *r, size_t n)
{
	if (n <= r->n)
		return 0;
	cJSON **nf = realloc(r->features, n * sizeof(*nf));
	if (!nf)
		return -1;
	for (size_t i = r->n; i < n; i++) {
		nf[i] = cJSON_CreateObject();
		if (!nf[i]) {
			r->features = nf;
			r->n = i;
			return -1;
		}
	}
	r->features = nf;
	r->n = n;
	return 0;
}

static void rows_free(struct row_out *r)
{
	for (size_t i = 0; i < r->n; i++)
		cJSON_Delete(r->features[i]);
	free(r->features);
	r->features = NULL;
	r->n = 0;
}

/* Flattens one instance value into features (prefix "" for x0, x1, ...). */
static int instance_features(cJSON *obj, const cJSON *inst)
{
	struct leaves l = {0};
	char name[160];
	int rc = 0;

	if (cJSON_IsObject(inst)) {
		const cJSON *m;
		cJSON_ArrayForEach(m, inst)
		{
			if (!cJSON_IsArray(m) && !cJSON_IsObject(m)) {
				if (add_leaf(obj, m->string, m))
					return -1;
				continue;
			}
			l.n = 0;
			if (collect(&l, m, EVENT_FEATURES_MAX)) {
				rc = -1;
				break;
			}
			for (size_t j = 0; j < l.n; j++) {
				snprintf(name, sizeof(name), "%.128s[%zu]", m->string, j);
				if (add_leaf(obj, name, l.v[j])) {
					rc = -1;
					break;
				}
			}
		}
		free(l.v);
		return rc;
	}
	if (collect(&l, inst, EVENT_FEATURES_MAX)) {
		free(l.v);
		return -1;
	}
	for (size_t j = 0; j < l.n && rc == 0; j++) {
		snprintf(name, sizeof(name), "x%zu", j);
		rc = add_leaf(obj, name, l.v[j]);
	}
	free(l.v);
	return rc;
}

static int request_rows(const cJSON *body, struct row_out *out, struct kserve_result *res)
{
	const cJSON *inst = cJSON_GetObjectItemCaseSensitive(body, "instances");
	const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(body, "inputs");
	struct leaves l = {0};
	char name[160];
	int rc = 0;

	if (cJSON_IsArray(inst)) {
		size_t n = (size_t)cJSON_GetArraySize(inst), i = 0;
		const cJSON *it;
		if (rows_reserve(out, n))
			return -ENOMEM;
		cJSON_ArrayForEach(it, inst)
		{
			if (instance_features(out->features[i++], it))
				return -ENOMEM;
		}
		return 0;
	}
	if (!cJSON_IsArray(inputs))
		return fail(res, "instances",
		            "request body needs \"instances\" (v1) or \"inputs\" (v2) as an array");
	const cJSON *t;
	cJSON_ArrayForEach(t, inputs)
	{
		size_t rows, k;
		const char *tname;
		rc = tensor_rows(t, &l, &rows, &k, &tname, res, "inputs");
		if (rc)
			break;
		if (rows_reserve(out, rows)) {
			rc = -ENOMEM;
			break;
		}
		for (size_t r = 0; r < rows && rc == 0; r++)
			for (size_t j = 0; j < k && j < EVENT_FEATURES_MAX && rc == 0; j++) {
				if (k == 1)
					snprintf(name, sizeof(name), "%.128s", tname);
				else
					snprintf(name, sizeof(name), "%.128s[%zu]", tname, j);
				if (add_leaf(out->features[r], name, l.v[r * k + j]))
					rc = -ENOMEM;
			}
	}
	free(l.v);
	return rc;
}

struct pred {
	cJSON *prediction; /* owned */
	double score;
	bool has_score;
	cJSON *scores; /* owned */
};

struct pred_out {
	struct pred *p;
	size_t n;
};

static void preds_free(struct pred_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		cJSON_Delete(o->p[i].prediction);
		cJSON_Delete(o->p[i].scores);
	}
	free(o->p);
	o->p = NULL;
	o->n = 0;
}

static bool is_probs(const cJSON *const *v, size_t k)
{
	if (k < 2)
		return false;
	for (size_t j = 0; j < k; j++)
		if (!cJSON_IsNumber(v[j]) || !(v[j]->valuedouble >= 0 && v[j]->valuedouble <= 1))
			return false;
	return true;
}

/* Fills p from k values: one value is the prediction; a probability vector
 * gives argmax, its probability and the scores map. */
static int fill_pred(struct pred *p, const cJSON *const *v, size_t k)
{
	if (k == 1) {
		if (cJSON_IsNumber(v[0]) || cJSON_IsString(v[0]) || cJSON_IsBool(v[0]))
			p->prediction = cJSON_Duplicate(v[0], 0);
		return 0;
	}
	if (!is_probs(v, k))
		return 0;
	size_t best = 0;
	p->scores = cJSON_CreateObject();
	if (!p->scores)
		return -1;
	for (size_t j = 0; j < k && j < EVENT_SCORES_MAX; j++) {
		char cls[32];
		snprintf(cls, sizeof(cls), "%zu", j);
		cJSON_AddNumberToObject(p->scores, cls, v[j]->valuedouble);
		if (v[j]->valuedouble > v[best]->valuedouble)
			best = j;
	}
	p->prediction = cJSON_CreateNumber((double)best);
	p->score = v[best]->valuedouble;
	p->has_score = true;
	return p->prediction ? 0 : -1;
}

static int preds_reserve(struct pred_out *o, size_t n)
{
	if (n <= o->n)
		return 0;
	struct pred *np = realloc(o->p, n * sizeof(*np));
	if (!np)
		return -1;
	memset(np + o->n, 0, (n - o->n) * sizeof(*np));
	o->p = np;
	o->n = n;
	return 0;
}

static int response_rows(const cJSON *body, struct pred_out *out, struct kserve_result *res)
{
	const cJSON *preds = cJSON_GetObjectItemCaseSensitive(body, "predictions");
	const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(body, "outputs");
	struct leaves l = {0};
	int rc = 0;

	if (cJSON_IsArray(preds)) {
		size_t n = (size_t)cJSON_GetArraySize(preds), i = 0;
		const cJSON *it;
		if (preds_reserve(out, n))
			return -ENOMEM;
		cJSON_ArrayForEach(it, preds)
		{
			struct pred *p = &out->p[i++];
			if (cJSON_IsObject(it)) {
				const cJSON *pv =
				    cJSON_GetObjectItemCaseSensitive(it, "prediction");
				const cJSON *sv = cJSON_GetObjectItemCaseSensitive(it, "score");
				if (pv && (cJSON_IsNumber(pv) || cJSON_IsString(pv)))
					p->prediction = cJSON_Duplicate(pv, 0);
				if (cJSON_IsNumber(sv) && sv->valuedouble >= 0 &&
				    sv->valuedouble <= 1) {
					p->score = sv->valuedouble;
					p->has_score = true;
				}
				continue;
			}
			l.n = 0;
			if (collect(&l, it, EVENT_SCORES_MAX) || fill_pred(p, l.v, l.n)) {
				rc = -ENOMEM;
				break;
			}
		}
		free(l.v);
		return rc;
	}
	if (!cJSON_IsArray(outputs))
		return fail(res, "predictions",
		            "response body needs \"predictions\" (v1) or \"outputs\" (v2) as an "
		            "array");
	/* v2: a one-value-per-row tensor is the prediction; a probability
	 * tensor gives the score (and the prediction when there is no other). */
	const cJSON *t;
	struct leaves pl = {0};
	size_t prow = 0, pk = 0, qrow = 0, qk = 0;
	bool have_pred = false, have_prob = false;
	cJSON_ArrayForEach(t, outputs)
	{
		size_t rows, k;
		const char *tname;
		rc = tensor_rows(t, &l, &rows, &k, &tname, res, "outputs");
		if (rc)
			goto out;
		if (k == 1 && !have_pred) {
			struct leaves tmp = pl;
			pl = l;
			l = tmp;
			prow = rows;
			pk = k;
			have_pred = true;
		} else if (k > 1 && !have_prob && is_probs(l.v, k)) {
			/* Keep it in place of l: swap into a second buffer. */
			struct leaves q = l;
			l = (struct leaves){0};
			qrow = rows;
			qk = k;
			have_prob = true;
			if (preds_reserve(out, rows)) {
				free(q.v);
				rc = -ENOMEM;
				goto out;
			}
			for (size_t r = 0; r < rows; r++)
				if (fill_pred(&out->p[r], q.v + r * k, k)) {
					free(q.v);
					rc = -ENOMEM;
					goto out;
				}
			free(q.v);
		}
	}
	if (have_pred) {
		if (preds_reserve(out, prow)) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t r = 0; r < prow; r++) {
			struct pred *p = &out->p[r];
			const cJSON *v = pl.v[r * pk];
			if (!(cJSON_IsNumber(v) || cJSON_IsString(v) || cJSON_IsBool(v)))
				continue;
			cJSON_Delete(p->prediction);
			p->prediction = cJSON_Duplicate(v, 0);
			/* With probabilities, the score is that of the predicted class. */
			if (have_prob && r < qrow && cJSON_IsNumber(v) && v->valuedouble >= 0 &&
			    v->valuedouble < (double)qk && p->scores) {
				char cls[32];
				snprintf(cls, sizeof(cls), "%zu", (size_t)v->valuedouble);
				const cJSON *sc = cJSON_GetObjectItemCaseSensitive(p->scores, cls);
				if (cJSON_IsNumber(sc))
					p->score = sc->valuedouble;
			}
		}
	}
out:
	free(l.v);
	free(pl.v);
	return rc;
}

/* ---- joining ---------------------------------------------------------- */

static const char *version_of(const cJSON *a, const cJSON *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "model_version");
	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(b, "model_version");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int join(struct kserve *k, struct half *req, struct half *resp, double now,
                struct kserve_result *res)
{
	struct row_out rows = {0};
	struct pred_out preds = {0};
	struct arena a;
	struct event *events = NULL;
	size_t n, made = 0;
	int rc;

	arena_init(&a, 0);
	rc = request_rows(req->body, &rows, res);
	if (rc == 0)
		rc = response_rows(resp->body, &preds, res);
	if (rc)
		goto out;
	n = rows.n > preds.n ? rows.n : preds.n;
	if (n == 0) {
		res->accepted = 0;
		goto out;
	}
	events = calloc(n, sizeof(*events));
	if (!events) {
		rc = -ENOMEM;
		goto out;
	}
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp->body, "error");
	bool is_error = err && !cJSON_IsNull(err) && !cJSON_IsFalse(err);
	const char *version = version_of(req->body, resp->body);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		struct event_error ee;
		char id[EVENT_ID_MAX + 32];

		if (!o) {
			rc = -ENOMEM;
			goto out;
		}
		cJSON_AddStringToObject(o, "model", req->model);
		if (version)
			cJSON_AddStringToObject(o, "version", version);
		if (n == 1)
			snprintf(id, sizeof(id), "%s", req->id);
		else
			snprintf(id, sizeof(id), "%s/%zu", req->id, i);
		if (event_id_valid(id, strlen(id)))
			cJSON_AddStringToObject(o, "id", id);
		double ts = req->has_ts ? req->ts : resp->has_ts ? resp->ts : now;
		cJSON_AddNumberToObject(o, "ts", ts);
		if (req->has_ts && resp->has_ts && resp->ts >= req->ts)
			cJSON_AddNumberToObject(o, "latency_ms", (resp->ts - req->ts) * 1000.0);
		cJSON_AddBoolToObject(o, "error", is_error);
		if (i < rows.n) {
			cJSON_AddItemToObject(o, "features", rows.features[i]);
			rows.features[i] = NULL;
		}
		if (i < preds.n) {
			struct pred *p = &preds.p[i];
			if (p->prediction) {
				cJSON_AddItemToObject(o, "prediction", p->prediction);
				p->prediction = NULL;
			}
			if (p->has_score)
				cJSON_AddNumberToObject(o, "score", p->score);
			if (p->scores) {
				cJSON_AddItemToObject(o, "scores", p->scores);
				p->scores = NULL;
			}
		}
		int prc = event_parse(o, now, &a, &events[i], &ee);
		cJSON_Delete(o);
		if (prc) {
			char msg[256];
			event_error_format(&ee, msg, sizeof(msg));
			rc = fail(res, ee.field, "instance %zu: %s", i, msg);
			goto out;
		}
		made++;
	}
	rc = k->emit(k->arg, events, made, &res->sampled);
	if (rc == 0) {
		res->accepted = made;
		stats_add(ST_KSERVE_PAIRED, 1);
	}
out:
	free(events);
	arena_reset(&a);
	rows_free(&rows);
	preds_free(&preds);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int kserve_handle(struct kserve *k, const struct kserve_headers *h, const char *body, size_t len,
                  double now, struct kserve_result *res)
{
	struct half *hf = NULL, *other = NULL;
	bool is_request;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!h->id || !event_id_valid(h->id, strlen(h->id)))
		return fail(res, "ce-id", "header required: 1-%d printable ASCII characters",
		            EVENT_ID_MAX);
	if (!h->type)
		return fail(res, "ce-type", "header required (...inference.request or .response)");
	if (ends_with(h->type, ".request"))
		is_request = true;
	else if (ends_with(h->type, ".response"))
		is_request = false;
	else
		return fail(res, "ce-type", "must end in .request or .response");
	if (!h->service || !event_model_name_valid(h->service, strlen(h->service)))
		return fail(res, "ce-inferenceservicename",
		            "header required: 1-%d characters of [A-Za-z0-9_.-]", EVENT_MODEL_MAX);
	hf = calloc(1, sizeof(*hf));
	if (!hf)
		return -ENOMEM;
	hf->is_request = is_request;
	if (h->time) {
		if (clock_parse_rfc3339(h->time, &hf->ts) != 0) {
			rc = fail(res, "ce-time", "not an RFC 3339 date-time");
			goto out;
		}
		if (hf->ts > now + EVENT_FUTURE_MAX_S) {
			rc = fail(res, "ce-time", "more than %.0f s in the future",
			          EVENT_FUTURE_MAX_S);
			goto out;
		}
		hf->has_ts = true;
	}
	if (event_json_has_nul_escape(body, len)) {
		rc = fail(res, "",
		          "a string holds \\u0000 (NUL), which no name or value may "
		          "contain");
		goto out;
	}
	const char *end = NULL;
	hf->body = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!hf->body || !cJSON_IsObject(hf->body)) {
		rc = fail(res, "", "body is not a JSON object (error at byte %ld)",
		          end && hf->body == NULL ? (long)(end - body) : 0L);
		goto out;
	}
	if (is_request
	        ? !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(hf->body, "instances")) &&
	              !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(hf->body, "inputs"))
	        : !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(hf->body, "predictions")) &&
	              !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(hf->body, "outputs"))) {
		rc = fail(res, is_request ? "instances" : "predictions",
		          is_request
		              ? "request body needs \"instances\" (v1) or \"inputs\" (v2)"
		              : "response body needs \"predictions\" (v1) or \"outputs\" (v2)");
		goto out;
	}
	hf->id = strdup(h->id);
	hf->model = strdup(h->service);
	if (!hf->id || !hf->model) {
		rc = -ENOMEM;
		goto out;
	}
	hf->hash = sampler_hash(hf->id, "");
	hf->cost = sizeof(*hf) + len * COST_FACTOR;
	hf->born = clock_mono();

	pthread_mutex_lock(&k->mu);
	other = lookup(k, hf->id, hf->hash);
	if (other)
		unlink_half(k, other);
	if (other && other->is_request != is_request) {
		pthread_mutex_unlock(&k->mu);
		rc = is_request ? join(k, hf, other, now, res) : join(k, other, hf, now, res);
		goto out;
	}
	/* First half (a repeated half replaces the earlier one). */
	struct half *evicted = NULL;
	while (k->oldest && (k->n >= k->max_pending || k->bytes + hf->cost > k->max_bytes)) {
		struct half *o = k->oldest;
		unlink_half(k, o);
		o->next = evicted;
		evicted = o;
		stats_add(ST_KSERVE_EVICTED, 1);
	}
	insert(k, hf);
	hf = NULL;
	pthread_mutex_unlock(&k->mu);
	while (evicted) {
		struct half *next = evicted->next;
		half_free(evicted);
		evicted = next;
	}
	res->accepted = 0;
out:
	half_free(hf);
	half_free(other);
	return rc;
}
