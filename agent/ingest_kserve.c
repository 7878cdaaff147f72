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
#include <strings.h>
#include <zlib.h>

#include "clock.h"
#include "log.h"
#include "openai.h"
#include "sampler.h"
#include "stats.h"

#define BUCKETS_MIN          1024
#define COST_FACTOR          8 /* parsed JSON takes about this many times its text */
#define INFLATED_MAX_DEFAULT (8u << 20)

enum dialect { D_KSERVE, D_SELDON };

struct half {
	char *key; /* pairing key (see make_key) */
	uint64_t hash;
	char *id;   /* event id: ce-id, or Seldon's ce-requestid */
	char *isvc; /* {isvc} */
	char *ns;   /* {namespace}, NULL when absent */
	bool is_request;
	bool conflict; /* a fence: two halves of one kind came under this key */
	bool recorded; /* Ce-Recordedtime present (KServe v0.18+) */
	double ts;
	bool has_ts;
	cJSON *body;            /* NULL for a fence or an OpenAI half */
	bool openai;            /* an OpenAI chat/completions body, read into oai */
	struct openai_info oai; /* model and finish_reason point into oai_str */
	char *oai_str;
	size_t cost;
	double born;
	struct half *hnext;       /* bucket chain */
	struct half *prev, *next; /* age order, oldest first */
};

struct kserve {
	pthread_mutex_t mu;
	double ttl;
	size_t max_pending, max_bytes, bytes, n, max_inflated;
	enum kserve_mode mode;
	enum kserve_latency latency;
	char component[32]; /* "" = any */
	char tpl[128];
	bool tpl_set; /* kserve_model was given: OpenAI pairs use it too */
	struct half **buckets;
	size_t n_buckets;
	struct half *oldest, *newest;
	kserve_emit_fn emit;
	void *arg;
};

static const char *const placeholders[] = {"{isvc}", "{namespace}", "{model_name}"};

int kserve_template_check(const char *tpl, char *err, size_t errlen)
{
	size_t n = 0;

	if (!tpl || !*tpl || strlen(tpl) >= 128) {
		snprintf(err, errlen, "kserve_model: 1-127 characters");
		return -1;
	}
	for (const char *p = tpl; *p;) {
		if (*p == '{') {
			size_t i;
			for (i = 0; i < 3; i++)
				if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0)
					break;
			if (i == 3) {
				snprintf(
				    err, errlen,
				    "kserve_model: unknown placeholder at \"%.20s\" (use {isvc}, "
				    "{namespace}, {model_name})",
				    p);
				return -1;
			}
			p += strlen(placeholders[i]);
			n++;
			continue;
		}
		/* Literal characters must be valid in a model name: '/' is not. */
		if (!event_model_name_valid(p, 1)) {
			snprintf(err, errlen,
			         "kserve_model: '%c' cannot be in a model name (allowed: "
			         "[A-Za-z0-9_.-]; e.g. {namespace}.{isvc})",
			         *p >= 0x20 && *p < 0x7f ? *p : '?');
			return -1;
		}
		p++;
	}
	if (n == 0) {
		snprintf(err, errlen, "kserve_model: needs at least one placeholder");
		return -1;
	}
	return 0;
}

/* Renders the template; false when the result is not a valid model name. */
static bool render_model(const char *tpl, const char *isvc, const char *ns, const char *model_name,
                         char *out, size_t cap)
{
	size_t o = 0;

	for (const char *p = tpl; *p;) {
		const char *v = NULL;
		if (strncmp(p, "{isvc}", 6) == 0) {
			v = isvc;
			p += 6;
		} else if (strncmp(p, "{namespace}", 11) == 0) {
			v = ns;
			p += 11;
		} else if (strncmp(p, "{model_name}", 12) == 0) {
			v = model_name && event_model_name_valid(model_name, strlen(model_name))
			        ? model_name
			        : isvc;
			p += 12;
		} else {
			if (o + 1 >= cap)
				return false;
			out[o++] = *p++;
			continue;
		}
		if (!v)
			return false;
		size_t n = strlen(v);
		if (o + n >= cap)
			return false;
		memcpy(out + o, v, n);
		o += n;
	}
	out[o] = '\0';
	return event_model_name_valid(out, o);
}

struct kserve *kserve_open(const struct kserve_options *o, kserve_emit_fn emit, void *arg,
                           char *err, size_t errlen)
{
	const char *tpl = o->model_template && *o->model_template ? o->model_template : "{isvc}";
	const char *comp = o->component && *o->component ? o->component : "predictor";

	if (kserve_template_check(tpl, err, errlen))
		return NULL;
	if (strlen(comp) >= 32) {
		snprintf(err, errlen, "kserve_component: at most 31 characters");
		return NULL;
	}
	struct kserve *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->ttl = o->ttl_s;
	k->max_pending = o->max_pending ? o->max_pending : 1;
	k->max_bytes = o->max_bytes;
	k->max_inflated = o->max_inflated ? o->max_inflated : INFLATED_MAX_DEFAULT;
	k->mode = o->mode;
	k->latency = o->latency;
	snprintf(k->component, sizeof(k->component), "%s", strcmp(comp, "any") == 0 ? "" : comp);
	snprintf(k->tpl, sizeof(k->tpl), "%s", tpl);
	k->tpl_set = o->model_template && *o->model_template;
	k->n_buckets = BUCKETS_MIN;
	while (k->n_buckets < 2 * k->max_pending && k->n_buckets < (1u << 20))
		k->n_buckets *= 2;
	k->buckets = calloc(k->n_buckets, sizeof(*k->buckets));
	if (!k->buckets) {
		free(k);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->emit = emit;
	k->arg = arg;
	pthread_mutex_init(&k->mu, NULL);
	return k;
}

struct kserve *kserve_new(double ttl_s, size_t max_pending, size_t max_bytes, kserve_emit_fn emit,
                          void *arg)
{
	struct kserve_options o = {
	    .ttl_s = ttl_s, .max_pending = max_pending, .max_bytes = max_bytes};
	char err[160];
	return kserve_open(&o, emit, arg, err, sizeof(err));
}

static void half_free(struct half *h)
{
	if (!h)
		return;
	free(h->key);
	free(h->id);
	free(h->isvc);
	free(h->ns);
	cJSON_Delete(h->body);
	free(h->oai_str);
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

static struct half *lookup(struct kserve *k, const char *key, uint64_t hash)
{
	for (struct half *h = k->buckets[hash & (k->n_buckets - 1)]; h; h = h->hnext)
		if (h->hash == hash && strcmp(h->key, key) == 0)
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
		if (!h->conflict)
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

/* A copy of a scalar leaf as an event value: arrays, objects and strings
 * over EVENT_CATEGORY_MAX bytes (base64 images, documents: no category
 * anyone can drift-test) become null, the latter counted. */
static cJSON *dup_scalar(const cJSON *leaf)
{
	if (cJSON_IsArray(leaf) || cJSON_IsObject(leaf))
		return cJSON_CreateNull();
	if (cJSON_IsString(leaf) && strlen(leaf->valuestring) > EVENT_CATEGORY_MAX) {
		stats_add(ST_KSERVE_LONG_STRINGS, 1);
		return cJSON_CreateNull();
	}
	return cJSON_Duplicate(leaf, 0);
}

/* Adds a leaf value (a copy) under name to obj. */
static int add_leaf(cJSON *obj, const char *name, const cJSON *leaf)
{
	cJSON *c = dup_scalar(leaf);
	if (!c)
		return -1;
	cJSON_AddItemToObject(obj, name, c);
	return 0;
}

/* One tensor: {name, shape, datatype, data}. Returns rows and k (values per
 * row) with the leaves. A tensor of the binary extension (its values in
 * the raw part: parameters.binary_data_size, no data) gives its rows from
 * shape[0] and k = 0. */
static int tensor_rows(const cJSON *t, struct leaves *l, size_t *rows, size_t *k, const char **name,
                       struct kserve_result *res, const char *what)
{
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(t, "parameters");
	const cJSON *bin = cJSON_IsObject(params)
	                       ? cJSON_GetObjectItemCaseSensitive(params, "binary_data_size")
	                       : NULL;

	if (!cJSON_IsObject(t) || !cJSON_IsString(nm))
		return fail(res, what, "each tensor needs a \"name\"");
	*name = nm->valuestring;
	l->n = 0;
	const cJSON *s0 = cJSON_IsArray(shape) ? cJSON_GetArrayItem(shape, 0) : NULL;
	if (!data && cJSON_IsNumber(bin)) {
		stats_add(ST_KSERVE_BINARY_SKIPPED, 1);
		*rows = 1;
		if (cJSON_IsNumber(s0) && s0->valuedouble >= 1 && s0->valuedouble <= 1e6)
			*rows = (size_t)s0->valuedouble;
		*k = 0;
		return 0;
	}
	if (!data)
		return fail(res, what,
		            "tensor \"%.64s\" has neither \"data\" nor "
		            "parameters.binary_data_size",
		            nm->valuestring);
	if (collect(l, data, 1u << 20))
		return -ENOMEM;
	*rows = 1;
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

/* Flattens the members of an object instance into obj. */
static int object_features(cJSON *obj, const cJSON *inst, struct leaves *l)
{
	char name[160];
	const cJSON *m;

	cJSON_ArrayForEach(m, inst)
	{
		if (!cJSON_IsArray(m) && !cJSON_IsObject(m)) {
			if (add_leaf(obj, m->string, m))
				return -1;
			continue;
		}
		l->n = 0;
		if (collect(l, m, EVENT_FEATURES_MAX))
			return -1;
		for (size_t j = 0; j < l->n; j++) {
			if (l->n == 1)
				snprintf(name, sizeof(name), "%.128s", m->string);
			else
				snprintf(name, sizeof(name), "%.128s[%zu]", m->string, j);
			if (add_leaf(obj, name, l->v[j]))
				return -1;
		}
	}
	return 0;
}

static bool all_objects(const cJSON *a)
{
	const cJSON *c;
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
		return false;
	cJSON_ArrayForEach(c, a)
	{
		if (!cJSON_IsObject(c))
			return false;
	}
	return true;
}

/* Flattens one instance value into features: an object keeps its keys; a
 * list of one-key objects (v1 `inputs`, [{"a": 1}, {"b": 2}]) merges them;
 * anything else gives x0, x1, .... */
static int instance_features(cJSON *obj, const cJSON *inst)
{
	struct leaves l = {0};
	char name[160];
	int rc = 0;

	if (cJSON_IsObject(inst)) {
		rc = object_features(obj, inst, &l);
		free(l.v);
		return rc;
	}
	if (all_objects(inst)) {
		const cJSON *o;
		cJSON_ArrayForEach(o, inst)
		{
			if ((rc = object_features(obj, o, &l)))
				break;
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

/* Rows of an object instance whose members are all lists of one length L
 * of scalars (v1 `inputs` as a dict of columns): L, else 0. */
static size_t columnar_rows(const cJSON *inst)
{
	size_t rows = 0;
	const cJSON *m;

	if (!cJSON_IsObject(inst) || !inst->child)
		return 0;
	cJSON_ArrayForEach(m, inst)
	{
		if (!cJSON_IsArray(m))
			return 0;
		size_t n = (size_t)cJSON_GetArraySize(m);
		const cJSON *c;
		cJSON_ArrayForEach(c, m)
		{
			if (cJSON_IsArray(c) || cJSON_IsObject(c))
				return 0;
		}
		if (n == 0 || (rows && n != rows))
			return 0;
		rows = n;
	}
	return rows;
}

/* A v2 `inputs` is a list of tensor objects ({"name", "datatype"/"shape"/
 * "data"}); anything else under `inputs` is the v1 form. */
static bool is_v2_inputs(const cJSON *inputs)
{
	const cJSON *t = cJSON_GetArrayItem(inputs, 0);
	return cJSON_IsObject(t) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "name")) &&
	       (cJSON_GetObjectItemCaseSensitive(t, "datatype") ||
	        cJSON_GetObjectItemCaseSensitive(t, "shape") ||
	        cJSON_GetObjectItemCaseSensitive(t, "data"));
}

static int v1_rows(const cJSON *inst, struct row_out *out)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, inst)
	{
		size_t cr = columnar_rows(it);
		n += cr ? cr : 1;
	}
	if (rows_reserve(out, n))
		return -ENOMEM;
	size_t i = 0;
	cJSON_ArrayForEach(it, inst)
	{
		size_t cr = columnar_rows(it);
		if (!cr) {
			if (instance_features(out->features[i++], it))
				return -ENOMEM;
			continue;
		}
		for (size_t r = 0; r < cr; r++, i++) {
			const cJSON *m;
			cJSON_ArrayForEach(m, it)
			{
				if (add_leaf(out->features[i], m->string,
				             cJSON_GetArrayItem(m, (int)r)))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int request_rows(const cJSON *body, struct row_out *out, struct kserve_result *res)
{
	const cJSON *inst = cJSON_GetObjectItemCaseSensitive(body, "instances");
	const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(body, "inputs");
	struct leaves l = {0};
	char name[160];
	int rc = 0;

	if (cJSON_IsArray(inst))
		return v1_rows(inst, out);
	if (!cJSON_IsArray(inputs))
		return fail(res, "instances",
		            "request body needs \"instances\" (v1) or \"inputs\" (v1 or v2) as an "
		            "array");
	if (!is_v2_inputs(inputs))
		return v1_rows(inputs, out);
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

static bool is_scalar(const cJSON *v)
{
	return cJSON_IsNumber(v) || cJSON_IsString(v) || cJSON_IsBool(v);
}

/* Fills p from k values: one value is the prediction; a probability vector
 * gives argmax, its probability and the scores map. */
static int fill_pred(struct pred *p, const cJSON *const *v, size_t k)
{
	if (k == 1) {
		if (is_scalar(v[0]) && !(p->prediction = dup_scalar(v[0])))
			return -1;
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
				if (pv && (cJSON_IsNumber(pv) || cJSON_IsString(pv)) &&
				    !(p->prediction = dup_scalar(pv))) {
					rc = -ENOMEM;
					break;
				}
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
	 * tensor gives the score (and the prediction when there is no other).
	 * A tensor of the binary extension gives rows but no values. */
	const cJSON *t;
	struct leaves pl = {0};
	size_t prow = 0, pk = 0, qrow = 0, qk = 0, brow = 0;
	bool have_pred = false, have_prob = false;
	cJSON_ArrayForEach(t, outputs)
	{
		size_t rows, k;
		const char *tname;
		rc = tensor_rows(t, &l, &rows, &k, &tname, res, "outputs");
		if (rc)
			goto out;
		if (k == 0) {
			brow = rows > brow ? rows : brow;
		} else if (k == 1 && !have_pred) {
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
			if (!is_scalar(v))
				continue;
			cJSON_Delete(p->prediction);
			if (!(p->prediction = dup_scalar(v))) {
				rc = -ENOMEM;
				goto out;
			}
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
	if (preds_reserve(out, brow)) /* rows known only from binary tensors */
		rc = -ENOMEM;
out:
	free(l.v);
	free(pl.v);
	return rc;
}

/* ---- Seldon Core 1 bodies --------------------------------------------- */

/* A SeldonMessage ({"data": {"names", "ndarray" | "tensor"}}, "jsonData",
 * "strData") as the v1 form the rest reads: {"instances": rows} for a
 * request, {"predictions": rows} for a response. Bodies already in the v1
 * or v2 form are left alone. Returns 0, -1 (res filled), -ENOMEM. */
static int seldon_normalize(cJSON *body, bool is_request, struct kserve_result *res)
{
	const char *key = is_request ? "instances" : "predictions";
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(body, "data");
	const cJSON *jd = cJSON_GetObjectItemCaseSensitive(body, "jsonData");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(body, "strData");
	cJSON *rows = NULL;

	if (cJSON_GetObjectItemCaseSensitive(body, is_request ? "instances" : "predictions") ||
	    cJSON_GetObjectItemCaseSensitive(body, is_request ? "inputs" : "outputs"))
		return 0;
	if (cJSON_IsObject(data)) {
		const cJSON *nd = cJSON_GetObjectItemCaseSensitive(data, "ndarray");
		const cJSON *tensor = cJSON_GetObjectItemCaseSensitive(data, "tensor");
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "names");
		if (cJSON_IsArray(nd)) {
			rows = cJSON_Duplicate(nd, 1);
		} else if (cJSON_IsObject(tensor)) {
			const cJSON *shape = cJSON_GetObjectItemCaseSensitive(tensor, "shape");
			const cJSON *vals = cJSON_GetObjectItemCaseSensitive(tensor, "values");
			const cJSON *s0 = cJSON_GetArrayItem(shape, 0);
			int nv = cJSON_GetArraySize(vals);
			int r = cJSON_IsNumber(s0) && s0->valuedouble >= 1 && s0->valuedouble <= 1e6
			            ? (int)s0->valuedouble
			            : 1;
			if (!cJSON_IsArray(vals) || nv % r != 0)
				return fail(res, "data.tensor",
				            "needs \"values\" as an array of shape[0] equal rows");
			if (!(rows = cJSON_CreateArray()))
				return -ENOMEM;
			for (int i = 0; i < r; i++) {
				cJSON *row = cJSON_CreateArray();
				if (!row) {
					cJSON_Delete(rows);
					return -ENOMEM;
				}
				for (int j = 0; j < nv / r; j++)
					cJSON_AddItemToArray(
					    row,
					    cJSON_Duplicate(
					        cJSON_GetArrayItem(vals, i * (nv / r) + j), 0));
				cJSON_AddItemToArray(rows, row);
			}
		} else {
			return fail(res, "data", "needs \"ndarray\" or \"tensor\"");
		}
		if (!rows)
			return -ENOMEM;
		/* Request rows named by data.names become objects. */
		if (is_request && cJSON_IsArray(names)) {
			cJSON *row;
			cJSON_ArrayForEach(row, rows)
			{
				if (!cJSON_IsArray(row) ||
				    cJSON_GetArraySize(row) != cJSON_GetArraySize(names))
					continue;
				cJSON *obj = cJSON_CreateObject();
				if (!obj) {
					cJSON_Delete(rows);
					return -ENOMEM;
				}
				for (int j = 0; j < cJSON_GetArraySize(row); j++) {
					const cJSON *nm = cJSON_GetArrayItem(names, j);
					if (!cJSON_IsString(nm))
						break;
					cJSON_AddItemToObject(
					    obj, nm->valuestring,
					    cJSON_Duplicate(cJSON_GetArrayItem(row, j), 0));
				}
				cJSON_ReplaceItemViaPointer(rows, row, obj);
				row = obj;
			}
		}
	} else if (jd || cJSON_IsString(sd)) {
		if (!(rows = cJSON_CreateArray()))
			return -ENOMEM;
		cJSON_AddItemToArray(rows, cJSON_Duplicate(jd ? jd : sd, 1));
	} else {
		return fail(res, "data",
		            "a Seldon message needs \"data\" (ndarray or tensor), \"jsonData\" or "
		            "\"strData\"");
	}
	cJSON_AddItemToObject(body, key, rows);
	return 0;
}

/* ---- building events -------------------------------------------------- */

static const char *version_of(const cJSON *a, const cJSON *b)
{
	const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, "model_version") : NULL;
	if (!cJSON_IsString(v) && b)
		v = cJSON_GetObjectItemCaseSensitive(b, "model_version");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The one event of an OpenAI chat/completions pair (or a lone half):
 * model from the kserve_model template when one was configured, else the
 * body's "model" (the response's, then the request's; {isvc} without
 * one); tokens and finish reason from the response, prompt_chars,
 * messages, max_tokens and stream as features; latency as for any pair.
 * No TTFT: the logger buffers a stream whole, so when the first token
 * came is not known. */
static int build_openai(struct kserve *k, const struct half *req, const struct half *resp,
                        bool orphan, bool timed, double now, struct kserve_result *res)
{
	const struct half *any = req ? req : resp;
	const struct openai_info *qi = req ? &req->oai : NULL, *ri = resp ? &resp->oai : NULL;
	struct arena a;
	struct event ev;
	struct event_error ee;
	char model[EVENT_MODEL_MAX + 1];
	cJSON *o = NULL;
	int rc = 0;

	arena_init(&a, 0);
	if ((req && !req->openai) || (resp && !resp->openai)) {
		rc = fail(res, "", "an OpenAI %s cannot pair with a tensor %s under one ce-id",
		          any->openai == (req == any) ? "request" : "response",
		          any->openai == (req == any) ? "response" : "request");
		goto out;
	}
	const char *body_model = ri && ri->model ? ri->model : qi ? qi->model : NULL;
	if (!render_model(k->tpl_set ? k->tpl : "{model_name}", any->isvc, any->ns, body_model,
	                  model, sizeof(model))) {
		rc = fail(res, "ce-inferenceservicename",
		          "kserve_model \"%s\" gives no valid model name (1-%d characters of "
		          "[A-Za-z0-9_.-])",
		          k->tpl, EVENT_MODEL_MAX);
		goto out;
	}
	o = cJSON_CreateObject();
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	cJSON_AddStringToObject(o, "model", model);
	cJSON_AddStringToObject(o, "id", any->id);
	cJSON_AddNumberToObject(o, "ts",
	                        req && req->has_ts     ? req->ts
	                        : resp && resp->has_ts ? resp->ts
	                                               : now);
	if (timed)
		cJSON_AddNumberToObject(o, "latency_ms", (resp->ts - req->ts) * 1000.0);
	cJSON_AddBoolToObject(o, "error", orphan);
	if (event_parse(o, now, &a, &ev, &ee)) {
		char msg[256];
		event_error_format(&ee, msg, sizeof(msg));
		rc = fail(res, ee.field, "%s", msg);
		goto out;
	}
	if (openai_event(qi, ri, &a, &ev)) {
		rc = -ENOMEM;
		goto out;
	}
	rc = k->emit(k->arg, &ev, 1, &res->sampled);
	if (rc == 0) {
		res->accepted = 1;
		if (req && resp)
			stats_add(ST_KSERVE_PAIRED, 1);
		if (!timed)
			stats_add(ST_KSERVE_LATENCY_UNKNOWN, 1);
	}
out:
	cJSON_Delete(o);
	arena_reset(&a);
	return rc;
}

/* Events from a pair (req and resp), a request alone (resp NULL: an
 * orphan when orphan is set, else a single-half mode or a fenced id) or a
 * response alone (req NULL). */
static int build(struct kserve *k, const struct half *req, const struct half *resp, bool orphan,
                 double now, struct kserve_result *res)
{
	struct row_out rows = {0};
	struct pred_out preds = {0};
	struct arena a;
	struct event *events = NULL;
	const struct half *any = req ? req : resp;
	size_t n, made = 0;
	int rc = 0;

	/* ce-time gives latency only when the pair proves it is an occurrence
	 * time (KServe v0.18+ adds Ce-Recordedtime) or the operator says so. */
	bool timed = req && resp && req->has_ts && resp->has_ts && resp->ts >= req->ts &&
	             (k->latency == KSERVE_LATENCY_CE_TIME ||
	              (k->latency == KSERVE_LATENCY_AUTO && req->recorded && resp->recorded));
	if ((req && req->openai) || (resp && resp->openai))
		return build_openai(k, req, resp, orphan, timed, now, res);
	arena_init(&a, 0);
	if (req)
		rc = request_rows(req->body, &rows, res);
	if (rc == 0 && resp)
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
	char model[EVENT_MODEL_MAX + 1];
	const cJSON *mn = resp ? cJSON_GetObjectItemCaseSensitive(resp->body, "model_name") : NULL;
	if (!render_model(k->tpl, any->isvc, any->ns, cJSON_IsString(mn) ? mn->valuestring : NULL,
	                  model, sizeof(model))) {
		rc = fail(res, "ce-inferenceservicename",
		          "kserve_model \"%s\" gives no valid model name (1-%d characters of "
		          "[A-Za-z0-9_.-])",
		          k->tpl, EVENT_MODEL_MAX);
		goto out;
	}
	const cJSON *err = resp ? cJSON_GetObjectItemCaseSensitive(resp->body, "error") : NULL;
	bool is_error = orphan || (err && !cJSON_IsNull(err) && !cJSON_IsFalse(err));
	const char *version = version_of(req ? req->body : NULL, resp ? resp->body : NULL);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		struct event_error ee;
		char id[EVENT_ID_MAX + 32];

		if (!o) {
			rc = -ENOMEM;
			goto out;
		}
		cJSON_AddStringToObject(o, "model", model);
		if (version)
			cJSON_AddStringToObject(o, "version", version);
		if (n == 1)
			snprintf(id, sizeof(id), "%s", any->id);
		else
			snprintf(id, sizeof(id), "%s/%zu", any->id, i);
		if (event_id_valid(id, strlen(id)))
			cJSON_AddStringToObject(o, "id", id);
		double ts = req && req->has_ts ? req->ts : resp && resp->has_ts ? resp->ts : now;
		cJSON_AddNumberToObject(o, "ts", ts);
		if (timed)
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
		if (req && resp)
			stats_add(ST_KSERVE_PAIRED, 1);
		if (!timed)
			stats_add(ST_KSERVE_LATENCY_UNKNOWN, made);
	}
out:
	free(events);
	arena_reset(&a);
	rows_free(&rows);
	preds_free(&preds);
	return rc;
}

/* ---- expiry ----------------------------------------------------------- */

void kserve_expire(struct kserve *k, double mono_now)
{
	struct half *dead = NULL;

	pthread_mutex_lock(&k->mu);
	while (k->oldest && mono_now - k->oldest->born >= k->ttl) {
		struct half *h = k->oldest;
		unlink_half(k, h);
		h->next = dead;
		dead = h;
	}
	pthread_mutex_unlock(&k->mu);
	while (dead) {
		struct half *next = dead->next;
		char q[160];
		if (!dead->conflict) {
			stats_add(ST_KSERVE_EXPIRED, 1);
			log_debug("kserve", "half expired without its pair id=%s request=%d",
			          log_quote(q, sizeof(q), dead->id), dead->is_request);
		}
		/* The logger sends the response half only for HTTP 200: a request
		 * half left alone is a failed request. */
		if (!dead->conflict && dead->is_request) {
			struct kserve_result res;
			memset(&res, 0, sizeof(res));
			int rc = build(k, dead, NULL, true, clock_now(), &res);
			if (rc == 0)
				stats_add(ST_KSERVE_ORPHAN_ERRORS, res.accepted);
			else
				log_warn("kserve",
				         "orphan request id=%s not counted as an error: %s",
				         log_quote(q, sizeof(q), dead->id),
				         rc == -1 ? res.error : "agent overloaded");
		}
		half_free(dead);
		dead = next;
	}
}

/* ---- bodies ----------------------------------------------------------- */

/* Inflates a gzip body into *out (malloc'd) of at most max bytes. Returns
 * 0, -1 corrupt (res filled), -E2BIG over max, -ENOMEM. */
static int gunzip(const char *in, size_t len, size_t max, char **out, size_t *outlen,
                  struct kserve_result *res)
{
	z_stream z;
	size_t cap = len * 4 < 4096 ? 4096 : len * 4;
	char *buf;
	int rc = 0, zr;

	if (cap > max + 1)
		cap = max + 1;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	if (!(buf = malloc(cap))) {
		inflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = (Bytef *)buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = fail(res, "content-encoding", "gzip body corrupt at byte %lu: %s",
			          (unsigned long)z.total_in, z.msg ? z.msg : "inflate failed");
			goto out;
		}
		if (z.avail_out > 0) { /* no progress possible: input ended */
			rc = fail(res, "content-encoding", "gzip body truncated after %lu bytes",
			          (unsigned long)z.total_in);
			goto out;
		}
		if (z.total_out > max) {
			rc = fail(res, "content-encoding",
			          "gzip body inflates to more than %zu bytes (max_body)", max);
			rc = -E2BIG;
			goto out;
		}
		size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
		char *nb = realloc(buf, ncap);
		if (!nb) {
			rc = -ENOMEM;
			goto out;
		}
		buf = nb;
		cap = ncap;
	}
	if (z.total_out > max) {
		rc = fail(res, "content-encoding",
		          "gzip body inflates to more than %zu bytes (max_body)", max);
		rc = -E2BIG;
		goto out;
	}
	*out = buf;
	*outlen = z.total_out;
	buf = NULL;
out:
	free(buf);
	inflateEnd(&z);
	return rc;
}

static bool has_binary_tensor(const cJSON *body)
{
	const char *keys[] = {"inputs", "outputs"};
	for (int i = 0; i < 2; i++) {
		const cJSON *t;
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, keys[i]);
		cJSON_ArrayForEach(t, arr)
		{
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "parameters");
			if (cJSON_IsObject(p) &&
			    cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "binary_data_size")))
				return true;
		}
	}
	return false;
}

/* Parses a body: JSON, or the binary tensor extension's JSON header
 * followed by raw tensor bytes. */
static int parse_body(const char *body, size_t len, const char *header_length, cJSON **out,
                      struct kserve_result *res)
{
	size_t jlen = len;
	const char *end = NULL;

	if (header_length) {
		char *e;
		errno = 0;
		unsigned long long v = strtoull(header_length, &e, 10);
		if (errno || e == header_length || *e || v == 0 || v > len)
			return fail(res, "inference-header-content-length",
			            "must be 1-%zu (the body's length)", len);
		jlen = (size_t)v;
	}
	if (event_json_has_nul_escape(body, jlen))
		return fail(res, "",
		            "a string holds \\u0000 (NUL), which no name or value may contain");
	*out = cJSON_ParseWithLengthOpts(body, jlen, &end, 0);
	if (!*out || !cJSON_IsObject(*out)) {
		long at = end && !*out ? (long)(end - body) : 0L;
		cJSON_Delete(*out);
		*out = NULL;
		return fail(res, "", "body is not a JSON object (error at byte %ld)", at);
	}
	size_t used = (size_t)(end - body);
	while (used < jlen && strchr(" \t\r\n", body[used]))
		used++;
	/* Raw bytes after the object are tensor data only when a tensor says
	 * its values are there. */
	if (used < len && !header_length && !has_binary_tensor(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		return fail(res, "", "%zu bytes after the JSON object (at byte %zu)", len - used,
		            used);
	}
	return 0;
}

/* True when a parsed body is an OpenAI chat/completions body rather
 * than a tensor or Seldon one: none of those keys, and messages or prompt
 * (request) or choices or usage (response). */
static bool looks_openai(const cJSON *b, bool is_request)
{
	static const char *const tensor[] = {"instances", "inputs",   "predictions", "outputs",
	                                     "data",      "jsonData", "strData"};
	for (size_t i = 0; i < sizeof(tensor) / sizeof(tensor[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(b, tensor[i]))
			return false;
	return is_request ? cJSON_GetObjectItemCaseSensitive(b, "messages") ||
	                        cJSON_GetObjectItemCaseSensitive(b, "prompt")
	                  : cJSON_GetObjectItemCaseSensitive(b, "choices") ||
	                        cJSON_GetObjectItemCaseSensitive(b, "usage");
}

/* Reads an OpenAI body into hf->oai; its strings are copied into one
 * allocation the half owns. */
static int read_openai(struct half *hf, const char *body, size_t len, struct kserve_result *res)
{
	struct arena a;
	char err[200];
	int rc;

	arena_init(&a, 0);
	rc = hf->is_request ? openai_parse_request(body, len, &a, &hf->oai, err, sizeof(err))
	                    : openai_parse_response(body, len, &a, &hf->oai, err, sizeof(err));
	if (rc) {
		rc = fail(res, "", "OpenAI %s body: %s", hf->is_request ? "request" : "response",
		          err);
		goto out;
	}
	size_t m = hf->oai.model ? strlen(hf->oai.model) + 1 : 0;
	size_t f = hf->oai.finish_reason ? strlen(hf->oai.finish_reason) + 1 : 0;
	hf->oai_str = malloc(m + f + 1);
	if (!hf->oai_str) {
		rc = -ENOMEM;
		goto out;
	}
	if (m)
		hf->oai.model = memcpy(hf->oai_str, hf->oai.model, m);
	if (f)
		hf->oai.finish_reason = memcpy(hf->oai_str + m, hf->oai.finish_reason, f);
	hf->openai = true;
out:
	arena_reset(&a);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool has_prediction_body(const cJSON *b, bool is_request)
{
	return is_request ? cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b, "instances")) ||
	                        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b, "inputs"))
	                  : cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b, "predictions")) ||
	                        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b, "outputs"));
}

/* Inserts h (under mu), evicting the oldest halves over the bounds; the
 * evicted ones are returned in a list for the caller to free. */
static struct half *insert_bounded(struct kserve *k, struct half *h)
{
	struct half *evicted = NULL;
	while (k->oldest && (k->n >= k->max_pending || k->bytes + h->cost > k->max_bytes)) {
		struct half *o = k->oldest;
		unlink_half(k, o);
		o->next = evicted;
		evicted = o;
		if (!o->conflict)
			stats_add(ST_KSERVE_EVICTED, 1);
	}
	insert(k, h);
	return evicted;
}

static void free_list(struct half *h)
{
	while (h) {
		struct half *next = h->next;
		half_free(h);
		h = next;
	}
}

/* dialect \x1f namespace \x1f service \x1f id */
static char *make_key(enum dialect d, const char *ns, const char *svc, const char *id)
{
	size_t n = strlen(ns) + strlen(svc) + strlen(id) + 8;
	char *key = malloc(n);
	if (key)
		snprintf(key, n, "%c\x1f%s\x1f%s\x1f%s", d == D_SELDON ? 's' : 'k', ns, svc, id);
	return key;
}

int kserve_handle(struct kserve *k, const struct kserve_headers *h, const char *body, size_t len,
                  double now, struct kserve_result *res)
{
	struct half *hf = NULL, *other = NULL, *evicted = NULL;
	char *inflated = NULL;
	bool is_request;
	enum dialect d;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!h->id || !event_id_valid(h->id, strlen(h->id)))
		return fail(res, "ce-id", "header required: 1-%d printable ASCII characters",
		            EVENT_ID_MAX);
	if (!h->type)
		return fail(res, "ce-type", "header required (...inference.request or .response)");
	d = strncmp(h->type, "io.seldon.", 10) == 0 ? D_SELDON : D_KSERVE;
	if (ends_with(h->type, ".request"))
		is_request = true;
	else if (ends_with(h->type, ".response"))
		is_request = false;
	else
		return fail(res, "ce-type", "must end in .request or .response");
	/* A transformer's pair describes the same prediction as its predictor's. */
	if (k->component[0] && h->component && h->component[0] &&
	    strcmp(h->component, k->component) != 0) {
		stats_add(ST_KSERVE_OTHER_COMPONENT, 1);
		return 0;
	}
	if ((k->mode == KSERVE_MODE_REQUEST && !is_request) ||
	    (k->mode == KSERVE_MODE_RESPONSE && is_request)) {
		stats_add(ST_KSERVE_SKIPPED, 1);
		return 0;
	}
	const char *svc = h->service;
	const char *svc_field = "ce-inferenceservicename";
	if (d == D_SELDON && !svc) {
		svc = h->model_id;
		svc_field = "ce-modelid";
	}
	if (!svc || !event_model_name_valid(svc, strlen(svc)))
		return fail(res, svc_field, "header required: 1-%d characters of [A-Za-z0-9_.-]",
		            EVENT_MODEL_MAX);
	const char *ns = h->ns && h->ns[0] ? h->ns : NULL;
	if (ns && !event_model_name_valid(ns, strlen(ns)))
		return fail(res, "ce-namespace", "1-%d characters of [A-Za-z0-9_.-]",
		            EVENT_MODEL_MAX);
	if (!ns && strstr(k->tpl, "{namespace}"))
		return fail(res, "ce-namespace", "header required by kserve_model \"%s\"", k->tpl);
	const char *id = h->id;
	if (d == D_SELDON && h->request_id) {
		if (!event_id_valid(h->request_id, strlen(h->request_id)))
			return fail(res, "ce-requestid", "1-%d printable ASCII characters",
			            EVENT_ID_MAX);
		id = h->request_id;
	}
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
	if (h->recorded_time) {
		double rt;
		if (clock_parse_rfc3339(h->recorded_time, &rt) != 0) {
			rc = fail(res, "ce-recordedtime", "not an RFC 3339 date-time");
			goto out;
		}
		hf->recorded = true;
	}
	/* The logger forwards compressed bodies without Content-Encoding: the
	 * gzip magic says it as well. */
	bool gz = (h->content_encoding && strcasecmp(h->content_encoding, "gzip") == 0) ||
	          (len >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b);
	if (h->content_encoding && !gz && strcasecmp(h->content_encoding, "identity") != 0) {
		rc = fail(res, "content-encoding", "only gzip or identity");
		goto out;
	}
	if (gz) {
		rc = gunzip(body, len, k->max_inflated, &inflated, &len, res);
		if (rc)
			goto out;
		body = inflated;
	}
	size_t lead = 0;
	while (lead < len && strchr(" \t\r\n", body[lead]))
		lead++;
	if (lead == len) { /* GET /v2/models/x, :explain without body, probes */
		stats_add(ST_KSERVE_SKIPPED, 1);
		goto out;
	}
	/* A streamed OpenAI response is logged as its buffered SSE text. */
	if (!is_request && openai_is_sse(body + lead, len - lead)) {
		rc = read_openai(hf, body, len, res);
	} else {
		rc = parse_body(body, len, h->header_length, &hf->body, res);
		if (rc == 0 && looks_openai(hf->body, is_request)) {
			cJSON_Delete(hf->body);
			hf->body = NULL;
			rc = read_openai(hf, body, len, res);
		}
	}
	if (rc)
		goto out;
	if (!hf->openai && d == D_SELDON && (rc = seldon_normalize(hf->body, is_request, res)))
		goto out;
	if (!hf->openai && !has_prediction_body(hf->body, is_request)) {
		rc = fail(res, is_request ? "instances" : "predictions",
		          is_request
		              ? "request body needs \"instances\" (v1) or \"inputs\" (v1 or v2)"
		              : "response body needs \"predictions\" (v1) or \"outputs\" (v2)");
		goto out;
	}
	hf->id = strdup(id);
	hf->isvc = strdup(svc);
	hf->ns = ns ? strdup(ns) : NULL;
	hf->key = d == D_SELDON ? make_key(d, "", svc, id) : make_key(d, ns ? ns : "", svc, id);
	if (!hf->id || !hf->isvc || (ns && !hf->ns) || !hf->key) {
		rc = -ENOMEM;
		goto out;
	}
	if (k->mode != KSERVE_MODE_ALL) { /* one half is the whole record */
		rc = build(k, is_request ? hf : NULL, is_request ? NULL : hf, false, now, res);
		goto out;
	}
	hf->hash = sampler_hash(hf->key, "");
	hf->cost = sizeof(*hf) + len * COST_FACTOR;
	hf->born = clock_mono();

	pthread_mutex_lock(&k->mu);
	other = lookup(k, hf->key, hf->hash);
	if (other && other->conflict) {
		pthread_mutex_unlock(&k->mu);
		other = NULL;
		stats_add(ST_KSERVE_AMBIGUOUS, 1);
		goto out;
	}
	if (other)
		unlink_half(k, other);
	if (other && other->is_request != is_request) {
		pthread_mutex_unlock(&k->mu);
		rc = is_request ? build(k, hf, other, false, now, res)
		                : build(k, other, hf, false, now, res);
		goto out;
	}
	if (other) {
		/* The same id twice for one kind: no pairing can be trusted. Fence
		 * the key for the TTL; requests count as events without prediction. */
		struct half *fence = calloc(1, sizeof(*fence));
		if (fence && (fence->key = strdup(hf->key)) && (fence->id = strdup(hf->id))) {
			fence->conflict = true;
			fence->hash = hf->hash;
			fence->cost = sizeof(*fence) + strlen(hf->key);
			fence->born = hf->born;
			evicted = insert_bounded(k, fence);
			fence = NULL;
		}
		pthread_mutex_unlock(&k->mu);
		half_free(fence);
		stats_add(ST_KSERVE_AMBIGUOUS, 2);
		log_warn("kserve", "ce-id repeated for two %s halves: neither is paired",
		         is_request ? "request" : "response");
		struct kserve_result r2;
		memset(&r2, 0, sizeof(r2));
		if (other->is_request && build(k, other, NULL, false, now, &r2) == 0) {
			res->accepted += r2.accepted;
			res->sampled += r2.sampled;
		}
		if (is_request) {
			memset(&r2, 0, sizeof(r2));
			rc = build(k, hf, NULL, false, now, &r2);
			if (rc == -1) {
				memcpy(res->error, r2.error, sizeof(res->error));
				memcpy(res->field, r2.field, sizeof(res->field));
			} else if (rc == 0) {
				res->accepted += r2.accepted;
				res->sampled += r2.sampled;
			}
		}
		goto out;
	}
	evicted = insert_bounded(k, hf);
	hf = NULL;
	pthread_mutex_unlock(&k->mu);
	res->accepted = 0;
out:
	free_list(evicted);
	free(inflated);
	half_free(hf);
	half_free(other);
	return rc;
}
