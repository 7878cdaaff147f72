/* data: see data.h. */
#include "data.h"
#include "store_segments.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"

/* ---- thresholds --------------------------------------------------------- */

int data_parse_expr(const char *expr, struct data_threshold *out)
{
	const char *p = expr, *m0;
	char *end;
	size_t len;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char)*p))
		p++;
	m0 = p;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	len = (size_t)(p - m0);
	if (len == 0 || len >= sizeof(out->metric) || *p == '(')
		return -1;
	memcpy(out->metric, m0, len);
	while (isspace((unsigned char)*p))
		p++;
	if ((p[0] == '>' || p[0] == '<' || p[0] == '=' || p[0] == '!') && p[1] == '=') {
		memcpy(out->op, p, 2);
		p += 2;
	} else if (p[0] == '>' || p[0] == '<') {
		out->op[0] = p[0];
		p++;
	} else {
		return -1;
	}
	errno = 0;
	out->value = strtod(p, &end);
	if (end == p || errno || !isfinite(out->value))
		return -1;
	p = end;
	while (isspace((unsigned char)*p))
		p++;
	if (*p && strncmp(p, "over", 4) != 0)
		return -1;
	return 0;
}

int data_thresholds(const struct mlw_config *cfg, const char *model, struct data_threshold *out,
                    int max)
{
	int n = 0;

	for (size_t i = 0; cfg && i < cfg->n_alerts && n < max; i++) {
		const struct alert_config *a = &cfg->alerts[i];
		if (!a->expr || !a->model)
			continue;
		if (strcmp(a->model, "*") != 0 && strcmp(a->model, model) != 0)
			continue;
		if (data_parse_expr(a->expr, &out[n]))
			continue;
		snprintf(out[n].rule, sizeof(out[n].rule), "%s", a->name ? a->name : "");
		n++;
	}
	return n;
}

/* ---- overview ----------------------------------------------------------- */

const char *data_sort_name(enum data_sort s)
{
	static const char *const names[SORT_COUNT] = {"health", "name",     "rps",  "errors",
	                                              "p99",    "accuracy", "drift"};
	return s >= 0 && s < SORT_COUNT ? names[s] : "health";
}

static enum data_sort sort_by;
static bool sort_desc;

static int health_rank(const struct sq_status *s)
{
	if (s->firing > 0)
		return 4;
	if (s->worst_severity >= 1.0)
		return 3;
	if (s->pending > 0 || s->error_rate >= 0.05)
		return 2;
	return s->win_start ? 0 : 1;
}

static double acc_of(const struct sq_status *s)
{
	return !isnan(s->accuracy) ? s->accuracy : s->est_accuracy;
}

/* Numbers: NAN last; otherwise ascending (desc flips). */
static int cmp_num(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	if (a == b)
		return 0;
	return (a < b ? -1 : 1) * (sort_desc ? -1 : 1);
}

static int cmp_status(const void *pa, const void *pb)
{
	const struct sq_status *a = pa, *b = pb;
	int c = 0;

	switch (sort_by) {
	case SORT_HEALTH:
		c = health_rank(a) - health_rank(b);
		c = sort_desc ? -c : c;
		if (!c)
			c = cmp_num(a->worst_severity, b->worst_severity) * (sort_desc ? 1 : 1);
		break;
	case SORT_RPS:
		c = cmp_num(a->rps, b->rps);
		break;
	case SORT_ERRORS:
		c = cmp_num(a->error_rate, b->error_rate);
		break;
	case SORT_P99:
		c = cmp_num(a->p99, b->p99);
		break;
	case SORT_ACCURACY:
		c = cmp_num(acc_of(a), acc_of(b));
		break;
	case SORT_DRIFT:
		c = cmp_num(a->worst_severity, b->worst_severity);
		break;
	default:
		break;
	}
	if (!c)
		c = strcmp(a->model.name, b->model.name);
	return c;
}

void data_sort_status(struct sq_status *rows, size_t n, enum data_sort by, bool desc)
{
	sort_by = by;
	sort_desc = by == SORT_NAME ? false : desc;
	if (by == SORT_NAME && desc) {
		qsort(rows, n, sizeof(*rows), cmp_status);
		for (size_t i = 0; i < n / 2; i++) {
			struct sq_status t = rows[i];
			rows[i] = rows[n - 1 - i];
			rows[n - 1 - i] = t;
		}
		return;
	}
	qsort(rows, n, sizeof(*rows), cmp_status);
}

/* ---- overview cache ----------------------------------------------------- */

void data_ov_cache_free(struct data_ov_cache *c)
{
	free(c->ids);
	free(c->sums);
	memset(c, 0, sizeof(*c));
}

static bool same_models(const struct data_ov_cache *c, const struct sq_model *m, size_t n)
{
	if (!c->valid || c->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c->ids[i] != m[i].id)
			return false;
	return true;
}

int data_load_overview(struct sq *q, double now, double from, double mono, struct data_ov_cache *c,
                       struct sq_status **rows, size_t *n)
{
	struct sq_model *models = NULL;
	struct sq_status *v = NULL;
	struct sq_sums *part = NULL;
	double tail = now - DATA_TAIL_S, end = nextafter(now, INFINITY);
	size_t nm = 0;
	int rc = -1;

	*rows = NULL;
	*n = 0;
	if (tail < from)
		tail = from;
	if (sq_models(q, &models, &nm))
		goto out;
	/* every figure is asked of all the models at once: one statement
	 * per figure, whatever the number of models (sq_*_all) */
	if (nm && (!(v = calloc(nm, sizeof(*v))) || !(part = calloc(nm, sizeof(*part)))))
		goto out;
	if (!same_models(c, models, nm) || from < c->from || tail < c->tail || mono <= 0 ||
	    mono - c->built >= DATA_REBUILD_S) {
		/* a full read of [from, tail) */
		data_ov_cache_free(c);
		c->ids = calloc(nm ? nm : 1, sizeof(*c->ids));
		c->sums = calloc(nm ? nm : 1, sizeof(*c->sums));
		if (!c->ids || !c->sums)
			goto fail;
		for (size_t i = 0; i < nm; i++)
			c->ids[i] = models[i].id;
		if (sq_range_sums_all(q, models, nm, from, tail, c->sums))
			goto fail;
		c->n = nm;
		c->built = mono;
	} else {
		/* slide: drop [old from, from), add [old tail, tail) */
		if (sq_range_sums_all(q, models, nm, c->from, from, part))
			goto fail;
		for (size_t i = 0; i < nm; i++)
			sq_sums_add(&c->sums[i], &part[i], -1);
		if (sq_range_sums_all(q, models, nm, c->tail, tail, part))
			goto fail;
		for (size_t i = 0; i < nm; i++)
			sq_sums_add(&c->sums[i], &part[i], 1);
	}
	c->from = from;
	c->tail = tail;
	c->valid = true;
	if (sq_status_current_all(q, models, nm, now, from, v) ||
	    sq_range_sums_all(q, models, nm, tail, end, part))
		goto fail;
	for (size_t i = 0; i < nm; i++) {
		sq_sums_add(&part[i], &c->sums[i], 1);
		sq_status_apply(&v[i], &part[i]);
	}
	*rows = v;
	*n = nm;
	v = NULL;
	rc = 0;
	goto out;
fail:
	data_ov_cache_free(c);
out:
	free(models);
	free(v);
	free(part);
	return rc;
}

/* ---- series ------------------------------------------------------------- */

/* Grows every array of a series to hold cap entries. */
static int grow(void **arrays[], size_t narr, size_t elem, size_t *cap, size_t need)
{
	size_t nc;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 128;
	while (nc < need)
		nc *= 2;
	for (size_t i = 0; i < narr; i++) {
		void *p = realloc(*arrays[i], nc * elem);
		if (!p)
			return -1;
		*arrays[i] = p;
	}
	*cap = nc;
	return 0;
}

struct lat_load {
	struct data_latency d;
	size_t cap;
	int oom;
};

static int lat_row(const struct sq_latency *r, void *arg)
{
	struct lat_load *l = arg;
	void **arr[] = {(void **)&l->d.t,    (void **)&l->d.p50, (void **)&l->d.p95,
	                (void **)&l->d.p99,  (void **)&l->d.rps, (void **)&l->d.err,
	                (void **)&l->d.count};
	size_t i = l->d.n;

	if (grow(arr, 7, sizeof(double), &l->cap, i + 1)) {
		l->oom = 1;
		return 1;
	}
	l->d.t[i] = (double)r->start;
	l->d.p50[i] = r->p50;
	l->d.p95[i] = r->p95;
	l->d.p99[i] = r->p99;
	l->d.rps[i] = r->rps;
	l->d.err[i] = r->error_rate;
	l->d.count[i] = r->count;
	l->d.n++;
	return 0;
}

void data_latency_free(struct data_latency *d)
{
	free(d->t);
	free(d->p50);
	free(d->p95);
	free(d->p99);
	free(d->rps);
	free(d->err);
	free(d->count);
	memset(d, 0, sizeof(*d));
}

/* Keeps the points i with lo <= t[i] < hi of n parallel arrays of 8-byte
 * elements (t is arrays[0]); returns the new length. */
static size_t keep_range(void **arrays, size_t narr, size_t n, double lo, double hi)
{
	const double *t = arrays[0];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(t[i] >= lo && t[i] < hi))
			continue;
		if (o != i)
			for (size_t k = 0; k < narr; k++)
				memcpy((char *)arrays[k] + o * 8, (char *)arrays[k] + i * 8, 8);
		o++;
	}
	return o;
}

/* Whether a series loaded before can be refreshed by reading only its
 * tail: same model and bucket, read in full recently, range not extended
 * backwards. */
static bool series_inc(int64_t model_id, int64_t bucket, double from_al, double mono,
                       int64_t have_model, int64_t have_bucket, double have_from, double built,
                       size_t n)
{
	return mono > 0 && n > 0 && have_model == model_id && have_bucket == bucket &&
	       from_al >= have_from && mono - built < DATA_REBUILD_S;
}

struct llm_load {
	int64_t llm, out_tokens;
	double span;
	struct ddsketch *ttft, *tpot;
	int oom;
};

static void llm_merge(struct llm_load *l, struct ddsketch **dst, const struct ddsketch *src)
{
	if (!src || ddsketch_count(src) == 0)
		return;
	if ((!*dst && !(*dst = ddsketch_new())) || ddsketch_merge(*dst, src) != 0)
		l->oom = 1;
}

static int llm_row(const struct sq_latency *r, void *arg)
{
	struct llm_load *l = arg;
	if (r->llm <= 0)
		return 0;
	l->llm += r->llm;
	l->out_tokens += r->output_tokens;
	l->span += (double)(r->end - r->start);
	llm_merge(l, &l->ttft, r->ttft);
	llm_merge(l, &l->tpot, r->tpot);
	return 0;
}

static double quantile_or_nan(const struct ddsketch *s, double q)
{
	double v;
	return s && ddsketch_count(s) > 0 && ddsketch_quantile(s, q, &v) == 0 ? v : NAN;
}

/* The LLM figures of the whole range (sketches merged over its windows,
 * or its hours where the tiers have them). */
static int llm_summary(struct sq *q, int64_t model_id, double from, double to,
                       struct data_latency *out)
{
	struct llm_load l = {0};
	int rc = sq_llm_each(q, model_id, from, to, llm_row, &l);

	out->llm = l.llm;
	out->ttft_p50 = quantile_or_nan(l.ttft, 0.5);
	out->ttft_p99 = quantile_or_nan(l.ttft, 0.99);
	out->tpot_p99 = quantile_or_nan(l.tpot, 0.99);
	out->out_tok_s = l.span > 0 ? (double)l.out_tokens / l.span : NAN;
	ddsketch_free(l.ttft);
	ddsketch_free(l.tpot);
	return rc || l.oom ? -1 : 0;
}

int data_load_latency(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                      double mono, struct data_latency *out)
{
	struct lat_load l;
	double from_al, read_from;
	int rc;

	if (bucket < 1)
		bucket = 1;
	/* buckets aligned to the epoch, the first one whole */
	from_al = floor(from / (double)bucket) * (double)bucket;
	memset(&l, 0, sizeof(l));
	if (series_inc(model_id, bucket, from_al, mono, out->model_id, out->bucket, out->from,
	               out->built, out->n)) {
		void *arr[] = {out->t,   out->p50, out->p95,  out->p99,
		               out->rps, out->err, out->count};
		read_from = floor((to - DATA_TAIL_S) / (double)bucket) * (double)bucket;
		if (read_from < from_al)
			read_from = from_al;
		/* the old points stay (in out) until the tail is read */
		l.d.n = keep_range(arr, 7, out->n, from_al, read_from);
		l.d.t = out->t;
		l.d.p50 = out->p50;
		l.d.p95 = out->p95;
		l.d.p99 = out->p99;
		l.d.rps = out->rps;
		l.d.err = out->err;
		l.d.count = out->count;
		l.cap = out->n;
		l.d.built = out->built;
		memset(out, 0, sizeof(*out));
	} else {
		read_from = from_al;
		l.d.built = mono;
	}
	l.d.bucket = bucket;
	l.d.model_id = model_id;
	l.d.from = from_al;
	rc = bucket <= q->window_s
	         ? sq_latency_each(q, model_id, read_from, to, lat_row, &l)
	         : sq_latency_buckets(q, model_id, read_from, to, bucket, lat_row, &l);
	if (rc || l.oom) {
		data_latency_free(&l.d);
		return -1;
	}
	data_latency_free(out);
	*out = l.d;
	return llm_summary(q, model_id, from, to, out);
}

struct acc_load {
	struct data_accuracy d;
	size_t cap;
	int oom;
};

static int acc_row(const struct sq_accuracy *r, void *arg)
{
	struct acc_load *l = arg;
	void **arr[] = {(void **)&l->d.t,    (void **)&l->d.acc, (void **)&l->d.est,
	                (void **)&l->d.lo,   (void **)&l->d.hi,  (void **)&l->d.cov,
	                (void **)&l->d.f1,   (void **)&l->d.mae, (void **)&l->d.labelled,
	                (void **)&l->d.count};
	size_t i = l->d.n;

	if (grow(arr, 10, sizeof(double), &l->cap, i + 1)) {
		l->oom = 1;
		return 1;
	}
	l->d.t[i] = (double)r->start;
	l->d.acc[i] = r->accuracy;
	l->d.est[i] = r->est_accuracy;
	l->d.lo[i] = r->est_low;
	l->d.hi[i] = r->est_high;
	l->d.cov[i] = r->label_coverage;
	l->d.f1[i] = r->macro_f1;
	l->d.mae[i] = r->mae;
	l->d.labelled[i] = r->labelled;
	l->d.count[i] = r->count;
	l->d.n++;
	return 0;
}

static int concept_row(const struct sq_concept *c, void *arg)
{
	struct data_accuracy *d = arg;
	size_t i;

	if (d->nconcept == DATA_MAX_CONCEPT) {
		/* keep the newest */
		memmove(d->concept_ts, d->concept_ts + 1, (DATA_MAX_CONCEPT - 1) * sizeof(double));
		memmove(d->concept_detector, d->concept_detector + 1,
		        (DATA_MAX_CONCEPT - 1) * sizeof(d->concept_detector[0]));
		d->nconcept--;
	}
	i = d->nconcept++;
	d->concept_ts[i] = c->ts;
	snprintf(d->concept_detector[i], sizeof(d->concept_detector[i]), "%s", c->detector);
	return 0;
}

void data_accuracy_free(struct data_accuracy *d)
{
	free(d->t);
	free(d->acc);
	free(d->est);
	free(d->lo);
	free(d->hi);
	free(d->cov);
	free(d->f1);
	free(d->mae);
	free(d->labelled);
	free(d->count);
	memset(d, 0, sizeof(*d));
}

int data_load_accuracy(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                       double mono, struct data_accuracy *out)
{
	struct acc_load l;
	double from_al, read_from;
	int rc;

	if (bucket < 1)
		bucket = 1;
	from_al = floor(from / (double)bucket) * (double)bucket;
	memset(&l, 0, sizeof(l));
	if (series_inc(model_id, bucket, from_al, mono, out->model_id, out->bucket, out->from,
	               out->built, out->n)) {
		void *arr[] = {out->t,   out->acc, out->est, out->lo,       out->hi,
		               out->cov, out->f1,  out->mae, out->labelled, out->count};
		read_from = floor((to - DATA_TAIL_S) / (double)bucket) * (double)bucket;
		if (read_from < from_al)
			read_from = from_al;
		l.d = *out;
		l.d.n = keep_range(arr, 10, out->n, from_al, read_from);
		l.d.nconcept = 0;
		l.cap = out->n;
		memset(out, 0, sizeof(*out));
	} else {
		read_from = from_al;
		l.d.built = mono;
	}
	l.d.bucket = bucket;
	l.d.model_id = model_id;
	l.d.from = from_al;
	rc = bucket <= q->window_s
	         ? sq_accuracy_each(q, model_id, read_from, to, acc_row, &l)
	         : sq_accuracy_buckets(q, model_id, read_from, to, bucket, acc_row, &l);
	/* concept events are few: all of the range, every time */
	if (!rc && !l.oom)
		rc = sq_concept_each(q, model_id, from, to, concept_row, &l.d);
	if (rc || l.oom) {
		data_accuracy_free(&l.d);
		return -1;
	}
	data_accuracy_free(out);
	*out = l.d;
	return 0;
}

double data_accuracy_coverage(const struct data_accuracy *d, double from)
{
	double num = 0, den = 0;

	/* as sq_range_sums weighs it: by events, windows without any count 1 */
	for (size_t i = 0; i < d->n; i++) {
		double w = d->count[i] > 1 ? (double)d->count[i] : 1;
		if (d->t[i] < from || isnan(d->cov[i]))
			continue;
		num += d->cov[i] * w;
		den += w;
	}
	return den > 0 ? num / den : NAN;
}

/* ---- heatmap ------------------------------------------------------------ */

struct heat_load {
	struct data_heat h;
	size_t cap;
	size_t hint; /* the feature of the previous row */
	int oom;
};

static int heat_add_feature(struct heat_load *l, const char *name, int kind)
{
	size_t nf = l->h.nf, cols = (size_t)l->h.ncols;

	if (nf == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p;
		if (!(p = realloc(l->h.name, cap * sizeof(*l->h.name))))
			return -1;
		l->h.name = p;
		if (!(p = realloc(l->h.kind, cap * sizeof(*l->h.kind))))
			return -1;
		l->h.kind = p;
		if (!(p = realloc(l->h.sev, cap * cols * sizeof(*l->h.sev))))
			return -1;
		l->h.sev = p;
		if (!(p = realloc(l->h.drifted, cap * cols)))
			return -1;
		l->h.drifted = p;
		l->cap = cap;
	}
	snprintf(l->h.name[nf], sizeof(l->h.name[nf]), "%s", name);
	l->h.kind[nf] = kind;
	for (size_t c = 0; c < cols; c++)
		l->h.sev[nf * cols + c] = NAN;
	memset(l->h.drifted + nf * cols, 0, cols);
	l->h.nf++;
	return 0;
}

/* The row of feature name, added when new. Rows arrive grouped by feature,
 * so the previous row's feature is tried first. */
static int heat_feature(struct heat_load *l, const char *name, int kind, size_t *f)
{
	if (l->hint < l->h.nf && strcmp(l->h.name[l->hint], name) == 0) {
		*f = l->hint;
		return 0;
	}
	for (size_t i = 0; i < l->h.nf; i++)
		if (strcmp(l->h.name[i], name) == 0) {
			*f = l->hint = i;
			return 0;
		}
	if (heat_add_feature(l, name, kind))
		return -1;
	*f = l->hint = l->h.nf - 1;
	return 0;
}

static int heat_row(const struct sq_drift_cell *c, void *arg)
{
	struct heat_load *l = arg;
	int64_t col;
	size_t f;

	if (heat_feature(l, c->feature, c->kind, &f)) {
		l->oom = 1;
		return 1;
	}
	col = (c->bucket_start - l->h.t0) / l->h.bucket;
	if (col < 0 || col >= l->h.ncols)
		return 0;
	l->h.sev[f * (size_t)l->h.ncols + (size_t)col] = c->severity;
	l->h.drifted[f * (size_t)l->h.ncols + (size_t)col] = c->drifted ? DATA_HEAT_DRIFTED
	                                                     : isnan(c->severity) && c->windows > 0
	                                                         ? DATA_HEAT_INSUFFICIENT
	                                                         : DATA_HEAT_NONE;
	return 0;
}

void data_heat_free(struct data_heat *h)
{
	free(h->name);
	free(h->kind);
	free(h->sev);
	free(h->drifted);
	free(h->latest);
	free(h->maxsev);
	free(h->order);
	memset(h, 0, sizeof(*h));
}

static const struct data_heat *sort_heat;

static int cmp_feature(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	double la = sort_heat->latest[a], lb = sort_heat->latest[b];
	double ma = sort_heat->maxsev[a], mb = sort_heat->maxsev[b];

	if (isnan(la) != isnan(lb))
		return isnan(la) - isnan(lb);
	if (!isnan(la) && la != lb)
		return la > lb ? -1 : 1;
	if (isnan(ma) != isnan(mb))
		return isnan(ma) - isnan(mb);
	if (!isnan(ma) && ma != mb)
		return ma > mb ? -1 : 1;
	return strcmp(sort_heat->name[a], sort_heat->name[b]);
}

void data_heat_sort(struct data_heat *h)
{
	h->last_col = -1;
	for (size_t f = 0; f < h->nf; f++) {
		h->latest[f] = h->maxsev[f] = NAN;
		for (int c = 0; c < h->ncols; c++) {
			double s = h->sev[f * (size_t)h->ncols + (size_t)c];
			if (isnan(s))
				continue;
			if (c > h->last_col)
				h->last_col = c;
			h->latest[f] = s;
			if (isnan(h->maxsev[f]) || s > h->maxsev[f])
				h->maxsev[f] = s;
		}
		h->order[f] = f;
	}
	sort_heat = h;
	qsort(h->order, h->nf, sizeof(*h->order), cmp_feature);
	sort_heat = NULL;
}

/* ---- heatmap cursor ----------------------------------------------------- */

/* The newest column the cursor may stand on. */
static int heat_last(const struct data_heat *h)
{
	return h->last_col >= 0 ? h->last_col : h->ncols - 1;
}

static int clampi(int v, int lo, int hi)
{
	return v > hi ? hi : v < lo ? lo : v;
}

void data_heat_cursor_resolve(struct data_heat_cursor *c, const struct data_heat *h,
                              const size_t *rows, int n, int *row, int *col)
{
	int r = -1, last = heat_last(h), k;

	*row = -1;
	*col = 0;
	if (n <= 0)
		return;
	for (int i = 0; i < n && c->feature[0]; i++)
		if (strcmp(h->name[rows[i]], c->feature) == 0) {
			r = i;
			break;
		}
	if (r < 0) {
		/* gone (filtered, or no result in the range): the row it was on */
		r = clampi(c->row, 0, n - 1);
		snprintf(c->feature, sizeof(c->feature), "%s", h->name[rows[r]]);
	}
	c->row = r;
	*row = r;
	if (h->ncols <= 0)
		return;
	if (c->follow || h->bucket <= 0) {
		*col = last < 0 ? 0 : last;
		return;
	}
	/* the column holding the window, whatever the bucket is now */
	if (c->start < h->t0)
		k = -1;
	else if ((c->start - h->t0) / h->bucket > (int64_t)h->ncols)
		k = h->ncols;
	else
		k = (int)((c->start - h->t0) / h->bucket);
	if (k < 0) {
		/* scrolled out on the left: the oldest column from now on */
		k = 0;
		c->start = h->t0;
	}
	if (k >= last) {
		/* at or past the newest results (a resize, a shorter range) */
		k = last < 0 ? 0 : last;
		c->follow = true;
	}
	*col = k;
}

void data_heat_cursor_move(struct data_heat_cursor *c, const struct data_heat *h,
                           const size_t *rows, int n, int dy, int dx)
{
	int row, col;

	data_heat_cursor_resolve(c, h, rows, n, &row, &col);
	if (row < 0)
		return;
	row = clampi(row + dy, 0, n - 1);
	col = clampi(col + dx, 0, heat_last(h) < 0 ? 0 : heat_last(h));
	data_heat_cursor_set(c, h, rows, n, row, col);
}

void data_heat_cursor_set(struct data_heat_cursor *c, const struct data_heat *h, const size_t *rows,
                          int n, int row, int col)
{
	int last = heat_last(h);

	if (n <= 0 || h->ncols <= 0)
		return;
	row = clampi(row, 0, n - 1);
	col = clampi(col, 0, last < 0 ? 0 : last);
	snprintf(c->feature, sizeof(c->feature), "%s", h->name[rows[row]]);
	c->row = row;
	c->follow = col == last;
	c->start = h->t0 + (int64_t)col * h->bucket;
}

/* A deep copy of h's matrix (not its sort arrays) into l, to refresh it
 * without losing it on error. */
static int heat_copy(struct heat_load *l, const struct data_heat *h)
{
	size_t cells = h->nf * (size_t)h->ncols;

	memset(l, 0, sizeof(*l));
	l->h = *h;
	l->h.latest = l->h.maxsev = NULL;
	l->h.order = NULL;
	l->h.name = malloc((h->nf ? h->nf : 1) * sizeof(*h->name));
	l->h.kind = malloc((h->nf ? h->nf : 1) * sizeof(*h->kind));
	l->h.sev = malloc((cells ? cells : 1) * sizeof(*h->sev));
	l->h.drifted = malloc(cells ? cells : 1);
	if (!l->h.name || !l->h.kind || !l->h.sev || !l->h.drifted)
		return -1;
	/* An empty heatmap has NULL arrays, and memcpy(dst, NULL, 0) is undefined. */
	if (h->nf) {
		memcpy(l->h.name, h->name, h->nf * sizeof(*h->name));
		memcpy(l->h.kind, h->kind, h->nf * sizeof(*h->kind));
	}
	if (cells) {
		memcpy(l->h.sev, h->sev, cells * sizeof(*h->sev));
		memcpy(l->h.drifted, h->drifted, cells);
	}
	l->cap = h->nf;
	return 0;
}

int data_load_heat(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                   double mono, struct data_heat *out)
{
	struct heat_load l;
	int64_t t0, shift, cols, read_from;
	int ncols, rc;
	bool inc;

	if (bucket < 1)
		bucket = 1;
	t0 = (int64_t)floor(from / (double)bucket) * bucket;
	ncols = (int)(((int64_t)ceil(to) - t0 + bucket - 1) / bucket);
	if (ncols < 1)
		ncols = 1;
	inc = mono > 0 && out->ncols == ncols && out->bucket == bucket &&
	      out->model_id == model_id && t0 >= out->t0 && mono - out->built < DATA_REBUILD_S;
	shift = inc ? (t0 - out->t0) / bucket : 0;
	if (shift >= ncols)
		inc = false;
	if (inc) {
		/* keep the old columns (shifted left as time passes); read the tail */
		if (heat_copy(&l, out))
			goto oom;
		cols = ncols;
		for (size_t f = 0; f < l.h.nf; f++) {
			double *sv = l.h.sev + f * (size_t)cols;
			uint8_t *dv = l.h.drifted + f * (size_t)cols;
			memmove(sv, sv + shift, (size_t)(cols - shift) * sizeof(*sv));
			memmove(dv, dv + shift, (size_t)(cols - shift));
			for (int64_t c = cols - shift; c < cols; c++) {
				sv[c] = NAN;
				dv[c] = 0;
			}
		}
		l.h.t0 = t0;
		read_from = (int64_t)floor((to - DATA_TAIL_S) / (double)bucket) * bucket;
		if (read_from < t0)
			read_from = t0;
		for (size_t f = 0; f < l.h.nf; f++)
			for (int64_t c = (read_from - t0) / bucket; c < cols; c++) {
				l.h.sev[f * (size_t)cols + (size_t)c] = NAN;
				l.h.drifted[f * (size_t)cols + (size_t)c] = 0;
			}
	} else {
		memset(&l, 0, sizeof(l));
		l.h.bucket = bucket;
		l.h.t0 = t0;
		l.h.ncols = ncols;
		l.h.built = mono;
		read_from = t0;
	}
	l.h.model_id = model_id;
	l.h.last_col = -1;
	rc = sq_drift_cells(q, model_id, (double)read_from, to, bucket, heat_row, &l);
	if (!rc && !l.oom && l.h.nf) {
		l.h.latest = malloc(l.h.nf * sizeof(double));
		l.h.maxsev = malloc(l.h.nf * sizeof(double));
		l.h.order = malloc(l.h.nf * sizeof(size_t));
		if (!l.h.latest || !l.h.maxsev || !l.h.order)
			l.oom = 1;
		else
			data_heat_sort(&l.h);
	}
	if (rc || l.oom) {
		data_heat_free(&l.h);
		return -1;
	}
	data_heat_free(out);
	*out = l.h;
	return 0;
oom:
	data_heat_free(&l.h);
	return -1;
}

/* ---- detail ------------------------------------------------------------- */

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

size_t data_parse_methods(const char *stats, struct data_method *m, size_t cap)
{
	cJSON *st = stats ? cJSON_Parse(stats) : NULL;
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(st, "methods"), *it;
	size_t n = 0;

	if (!cJSON_IsObject(ms))
		ms = NULL;
	cJSON_ArrayForEach(it, ms)
	{
		const cJSON *dr = cJSON_GetObjectItemCaseSensitive(it, "drifted");
		if (n == cap || !it->string || !cJSON_IsObject(it))
			continue;
		snprintf(m[n].name, sizeof(m[n].name), "%s", it->string);
		m[n].stat = jnum(it, "stat");
		m[n].threshold = jnum(it, "threshold");
		m[n].p = jnum(it, "p");
		m[n].lower = jnum(it, "lower");
		m[n].drifted = cJSON_IsBool(dr) ? (cJSON_IsTrue(dr) ? 1 : 0) : -1;
		n++;
	}
	cJSON_Delete(st);
	return n;
}

static int trend_row(const struct sq_drift *d, void *arg)
{
	struct data_detail *o = arg;
	struct data_method m[DATA_METHODS_MAX];
	struct data_trend *t;

	if (o->ntrend == DATA_TREND_MAX) {
		/* keep the newest: drop the oldest */
		memmove(o->trend, o->trend + 1, (DATA_TREND_MAX - 1) * sizeof(*o->trend));
		o->ntrend--;
	}
	t = &o->trend[o->ntrend++];
	t->start = d->start;
	t->score = d->insufficient ? NAN : d->score;
	t->threshold = d->insufficient ? NAN : d->threshold;
	t->lower = NAN;
	size_t n = data_parse_methods(d->stats, m, DATA_METHODS_MAX);
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, "pca_recon") == 0 && !d->insufficient)
			t->lower = m[i].lower;
	return 0;
}

static int detail_row(const struct sq_drift *d, void *arg)
{
	struct data_detail *o = arg;

	o->d = *d;
	snprintf(o->feature, sizeof(o->feature), "%s", d->feature);
	snprintf(o->method, sizeof(o->method), "%s", d->method);
	o->d.feature = o->feature;
	o->d.method = o->method;
	o->d.cur_hist = NULL;
	o->d.stats = NULL;
	o->preset[0] = '\0';
	o->thr_source[0] = '\0';
	o->far = o->min_effect = NAN;
	o->cal_n = 0;
	o->nmethods = data_parse_methods(d->stats, o->methods, DATA_METHODS_MAX);
	if (d->stats) {
		cJSON *st = cJSON_Parse(d->stats);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "preset");
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(st, "threshold_source");
		const cJSON *fa = cJSON_GetObjectItemCaseSensitive(st, "false_alarm_rate");
		const cJSON *cn = cJSON_GetObjectItemCaseSensitive(st, "calibrated_n");
		const cJSON *me = cJSON_GetObjectItemCaseSensitive(st, "min_effect");

		if (cJSON_IsString(p))
			snprintf(o->preset, sizeof(o->preset), "%s", p->valuestring);
		if (cJSON_IsString(ts))
			snprintf(o->thr_source, sizeof(o->thr_source), "%s", ts->valuestring);
		if (cJSON_IsNumber(fa))
			o->far = fa->valuedouble;
		if (cJSON_IsNumber(cn) && cn->valuedouble >= 0 && cn->valuedouble <= 1e9)
			o->cal_n = (long)cn->valuedouble;
		if (cJSON_IsNumber(me))
			o->min_effect = me->valuedouble;
		cJSON_Delete(st);
	}
	o->has_cur = d->cur_hist && sq_hist_parse(d->cur_hist, &o->cur) == 0;
	return 0;
}

static int detail_seg(const char *segment, double severity, bool drifted, int64_t n, void *arg)
{
	struct data_detail *o = arg;

	if (o->nseg == DATA_SEG_MAX)
		return 0; /* the worst come first: the rest are not shown */
	snprintf(o->seg[o->nseg].name, sizeof(o->seg[o->nseg].name), "%s", segment);
	o->seg[o->nseg].severity = severity;
	o->seg[o->nseg].drifted = drifted;
	o->nseg++;
	return 0;
}

int data_load_detail(struct sq *q, int64_t model_id, const char *feature, double from, double to,
                     struct data_detail *out)
{
	char *hist = NULL;
	int kind = 0, rc;

	memset(out, 0, sizeof(*out));
	rc = sq_drift_worst_in(q, model_id, feature, from, to, detail_row, out);
	if (rc)
		return rc;
	if (out->d.kind >= 3) {
		/* vector / multivariate rows: the windows before, for the
		 * statistic against its threshold (band) over time */
		int64_t w = out->d.end > out->d.start ? out->d.end - out->d.start : 60;
		double t0 = (double)(out->d.start - (DATA_TREND_MAX - 1) * w);
		if (sq_drift_each(q, model_id, t0, (double)out->d.start + 1, feature, trend_row,
		                  out) < 0)
			return -1;
	}
	rc = sq_reference_hist(q, model_id, feature, &kind, &out->ref_n, &hist);
	if (rc == 0)
		out->has_ref = hist && sq_hist_parse(hist, &out->ref) == 0;
	else if (rc == SQ_NOTFOUND)
		out->ref_n = -1;
	free(hist);
	if (rc == -1)
		return -1;
	if (store_seg_feature_worst(q->st, model_id, feature, from, to, detail_seg, out))
		return -1;
	out->valid = true;
	return 0;
}

/* ---- alerts ------------------------------------------------------------- */

struct alerts_load {
	struct data_alerts *a;
	size_t max;
	int oom;
};

static int state_rank(const char *s)
{
	return strcmp(s, "firing") == 0 ? 0 : strcmp(s, "pending") == 0 ? 1 : 2;
}

static int alert_row(const struct sq_alert *r, void *arg)
{
	struct alerts_load *l = arg;
	struct data_alert *x;

	if (l->a->n == l->a->cap) {
		size_t cap = l->a->cap ? l->a->cap * 2 : 32;
		void *p = realloc(l->a->v, cap * sizeof(*l->a->v));
		if (!p) {
			l->oom = 1;
			return 1;
		}
		l->a->v = p;
		l->a->cap = cap;
	}
	x = &l->a->v[l->a->n++];
	x->id = r->id;
	snprintf(x->rule, sizeof(x->rule), "%s", r->rule);
	snprintf(x->model, sizeof(x->model), "%s", r->model);
	snprintf(x->feature, sizeof(x->feature), "%s", r->feature ? r->feature : "");
	snprintf(x->state, sizeof(x->state), "%s", r->state);
	snprintf(x->severity, sizeof(x->severity), "%s", r->severity);
	snprintf(x->summary, sizeof(x->summary), "%s", r->summary);
	x->value = r->value;
	x->threshold = r->threshold;
	x->since = r->since;
	x->silenced = r->silenced;
	x->acked = r->acked;
	/* every firing/pending alert is kept; resolved ones up to max */
	return l->a->n >= l->max && state_rank(r->state) == 2 ? 1 : 0;
}

static int cmp_alert(const void *pa, const void *pb)
{
	const struct data_alert *a = pa, *b = pb;
	int c = state_rank(a->state) - state_rank(b->state);
	if (c)
		return c;
	if (a->since != b->since)
		return a->since > b->since ? -1 : 1;
	return a->id > b->id ? -1 : a->id < b->id;
}

void data_alerts_free(struct data_alerts *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

int data_load_alerts(struct sq *q, double now, size_t max, struct data_alerts *out)
{
	struct data_alerts a = {0};
	struct alerts_load l = {&a, max ? max : 500, 0};
	int rc;

	/* active ones first (all of them), then history up to max */
	rc = sq_alerts_each(q, false, now, alert_row, &l);
	if (rc == 0 && !l.oom) {
		size_t active = a.n;
		rc = sq_alerts_each(q, true, now, alert_row, &l);
		if (rc == 1)
			rc = 0;
		/* drop the active ones seen twice */
		size_t o = active;
		for (size_t i = active; i < a.n; i++)
			if (state_rank(a.v[i].state) == 2)
				a.v[o++] = a.v[i];
		a.n = o;
	}
	if (rc || l.oom) {
		data_alerts_free(&a);
		return -1;
	}
	qsort(a.v, a.n, sizeof(*a.v), cmp_alert);
	data_alerts_free(out);
	*out = a;
	return 0;
}
