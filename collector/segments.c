/* segments (collector): see segments.h. */
#include "segments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ddsketch.h"
#include "jsonw.h"
#include "log.h"
#include "mvprofile.h"
#include "quality.h"
#include "segment.h" /* common: segment_of_json, segment_top_k */
#include "store.h"
#include "store_ingest.h"
#include "store_segments.h"
#include "text.h"
#include "windows.h"

/* Values counted to find a window's top K when there is no segmented
 * reference; more distinct values than this count in "other". */
#define SEG_COUNT_MAX 4096
/* Numeric values sampled per feature in a segment's window state (the
 * whole window keeps SAMPLE_WINDOW_MAX): 21 segments of full samples would
 * cost the drift tests several times the window's own. Past a few thousand
 * values the calibrated threshold is below min_effect anyway, so a larger
 * sample would rarely change a verdict. */
#define SEG_SAMPLE_MAX 2000
/* Windows whose segment states stay folded between passes (the open ones
 * and recent ones); the least recently used goes first. */
#define SEG_CACHE_MAX 32

/* One model's segment contexts from its segmented reference. */
struct seg_model {
	int64_t id;
	double ref_version;
	char *key;
	char **names;
	struct wmodel **wm;
	size_t n, cap;
};

struct seg_out;

struct segments {
	struct seg_model **v;
	size_t n;
	struct seg_out *cache[SEG_CACHE_MAX];
	size_t ncache;
	uint64_t tick;
};

struct seg_res {
	char *name;
	struct wmodel *wm; /* borrowed from the seg_model, or owned when `own` */
	bool own;
	struct wstate *st;
	struct ddsketch *sk;
	uint64_t errors;
	struct store_drift_row *dr;
	size_t ndr;
};

struct seg_out {
	char *key;
	struct seg_res *r;
	size_t n;
	/* the cache: events with id <= upto are folded; labelled is the
	 * window's count then (a label joined since means a rebuild); live =
	 * segments chosen from the window's own values (rebuilt every time) */
	int64_t model_id, start, upto;
	uint64_t labelled;
	bool live;
	uint64_t used;
};

struct segments *segments_new(void)
{
	return calloc(1, sizeof(struct segments));
}

static void seg_model_clear(struct seg_model *sm)
{
	for (size_t i = 0; i < sm->n; i++) {
		free(sm->names[i]);
		wmodel_free(sm->wm[i]);
	}
	free(sm->names);
	free(sm->wm);
	free(sm->key);
	sm->names = NULL;
	sm->wm = NULL;
	sm->key = NULL;
	sm->n = sm->cap = 0;
}

static void seg_out_free(struct seg_out *out);

/* Drops the cached windows of model_id (all when model_id < 0). */
static void cache_drop(struct segments *s, int64_t model_id)
{
	size_t k = 0;
	for (size_t i = 0; i < s->ncache; i++) {
		if (model_id < 0 || s->cache[i]->model_id == model_id)
			seg_out_free(s->cache[i]);
		else
			s->cache[k++] = s->cache[i];
	}
	s->ncache = k;
}

void segments_drop_window(struct segments *s, int64_t model_id, int64_t start)
{
	for (size_t i = 0; i < s->ncache; i++)
		if (s->cache[i]->model_id == model_id && s->cache[i]->start == start) {
			seg_out_free(s->cache[i]);
			s->cache[i] = s->cache[--s->ncache];
			return;
		}
}

void segments_free(struct segments *s)
{
	if (!s)
		return;
	cache_drop(s, -1);
	for (size_t i = 0; i < s->n; i++) {
		seg_model_clear(s->v[i]);
		free(s->v[i]);
	}
	free(s->v);
	free(s);
}

static void seg_out_free(struct seg_out *out)
{
	if (!out)
		return;
	for (size_t i = 0; i < out->n; i++) {
		struct seg_res *r = &out->r[i];
		free(r->name);
		if (r->own)
			wmodel_free(r->wm);
		wstate_free(r->st);
		ddsketch_free(r->sk);
		free(r->dr);
	}
	free(out->r);
	free(out->key);
	free(out);
}

/* ---- the segmented reference ------------------------------------------------- */

struct load_ctx {
	struct seg_model *sm;
	struct wmodel *m;
	const struct model_config *mc;
	int err;
};

static long sm_add(struct seg_model *sm, const char *name, const struct wmodel *m,
                   const struct model_config *mc)
{
	if (sm->n == sm->cap) {
		size_t ncap = sm->cap ? sm->cap * 2 : 8;
		char **nn = realloc(sm->names, ncap * sizeof(*nn));
		if (!nn)
			return -1;
		sm->names = nn;
		struct wmodel **nw = realloc(sm->wm, ncap * sizeof(*nw));
		if (!nw)
			return -1;
		sm->wm = nw;
		sm->cap = ncap;
	}
	sm->names[sm->n] = strdup(name);
	sm->wm[sm->n] = wmodel_new(m->id, m->name, mc);
	if (!sm->names[sm->n] || !sm->wm[sm->n]) {
		free(sm->names[sm->n]);
		wmodel_free(sm->wm[sm->n]);
		return -1;
	}
	return (long)sm->n++;
}

static int load_cb(const char *key, const char *segment, const char *feature, int kind, uint64_t n,
                   uint64_t rows, const uint8_t *profile, size_t len, void *arg)
{
	struct load_ctx *l = arg;
	struct seg_model *sm = l->sm;
	long i;
	char q[200];

	/* A reference imported under another segment_by is not this one. */
	if (strcmp(key, sm->key) != 0)
		return 0;
	for (i = (long)sm->n - 1; i >= 0; i--)
		if (strcmp(sm->names[i], segment) == 0)
			break;
	if (i < 0 && (i = sm_add(sm, segment, l->m, l->mc)) < 0) {
		l->err = -1;
		return 1;
	}
	if (wmodel_set_reference(sm->wm[i], feature, kind, profile, len) != 0)
		log_warn("analyze",
		         "unreadable segment profile ignored model=%s segment=%s feature=%s",
		         l->m->name, segment, log_quote(q, sizeof(q), feature));
	return 0;
}

/* The model's segment contexts, (re)loaded when its reference or its
 * segment_by changed. NULL when out of memory or on a database error. */
static struct seg_model *seg_model_get(struct segments *s, struct store *st,
                                       struct store_ingest *si, struct wmodel *m,
                                       const struct model_config *mc)
{
	struct seg_model *sm = NULL;
	uint8_t *cal = NULL;
	size_t len = 0;
	int rc;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i]->id == m->id)
			sm = s->v[i];
	if (sm && sm->ref_version == m->ref_version && sm->key &&
	    strcmp(sm->key, mc->segment_by) == 0)
		return sm;
	if (!sm) {
		struct seg_model **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
		if (!nv)
			return NULL;
		s->v = nv;
		if (!(sm = calloc(1, sizeof(*sm))))
			return NULL;
		sm->id = m->id;
		s->v[s->n++] = sm;
	}
	cache_drop(s, m->id); /* the cached states borrow the contexts */
	seg_model_clear(sm);
	sm->ref_version = -1;
	if (!(sm->key = strdup(mc->segment_by)))
		return NULL;
	struct load_ctx l = {sm, m, mc, 0};
	if (store_seg_ref_each(st, m->id, load_cb, &l) < 0 || l.err)
		goto fail;
	/* the estimated accuracy of a segment uses the model's calibration */
	rc = store_ingest_calibration_get(si, m->id, &cal, &len, NULL, NULL);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; rc == 0 && i < sm->n; i++)
		if (wmodel_set_calibration(sm->wm[i], cal, len) != 0)
			break; /* unreadable: analyze.c has logged it for the model */
	free(cal);
	sm->ref_version = m->ref_version;
	return sm;
fail:
	seg_model_clear(sm);
	return NULL;
}

/* ---- an event's segment --------------------------------------------------------- */

/* The event's value of key (the stored features blob, iterated without a
 * parse tree: this runs for every event of every segmented window). */
static const char *event_segment(const struct store_raw_event *e, const char *key, char *buf,
                                 size_t cap)
{
	return segment_of_blob(e->features, e->features_len, key, buf, cap);
}

/* ---- counting the window's values (no segmented reference) -------------------- */

struct count_ctx {
	const char *key;
	char **names;
	uint64_t *counts;
	size_t n, cap;
	int err;
};

static int count_cb(const struct store_raw_event *e, void *arg)
{
	struct count_ctx *c = arg;
	char buf[STORE_SEGMENT_MAX + 1];
	const char *v = event_segment(e, c->key, buf, sizeof(buf));

	if (!v)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->names[i], v) == 0) {
			c->counts[i]++;
			return 0;
		}
	if (c->n == SEG_COUNT_MAX)
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		char **nn = realloc(c->names, ncap * sizeof(*nn));
		if (!nn)
			goto oom;
		c->names = nn;
		uint64_t *nc = realloc(c->counts, ncap * sizeof(*nc));
		if (!nc)
			goto oom;
		c->counts = nc;
		c->cap = ncap;
	}
	if (!(c->names[c->n] = strdup(v)))
		goto oom;
	c->counts[c->n++] = 1;
	return 0;
oom:
	c->err = -1;
	return 1;
}

/* ---- folding ------------------------------------------------------------------------- */

struct fold_ctx {
	struct seg_out *o;
	const char *key;
	size_t other; /* index of "other" in o->r */
	int err;
};

static int fold_cb(const struct store_raw_event *e, void *arg)
{
	struct fold_ctx *f = arg;
	char buf[STORE_SEGMENT_MAX + 1];
	const char *v = event_segment(e, f->key, buf, sizeof(buf));
	size_t idx = f->other;
	bool changed = false;
	struct seg_res *r;

	if (v)
		for (size_t i = 0; i < f->o->n; i++)
			if (i != f->other && strcmp(f->o->r[i].name, v) == 0) {
				idx = i;
				break;
			}
	r = &f->o->r[idx];
	if (wstate_fold(r->st, r->wm, e, &changed)) {
		f->err = -1;
		return 1;
	}
	if (e->error)
		r->errors++;
	if (e->has_latency && isfinite(e->latency_ms) && e->latency_ms >= 0) {
		if (!r->sk && !(r->sk = ddsketch_new())) {
			f->err = -1;
			return 1;
		}
		if (ddsketch_add(r->sk, e->latency_ms)) {
			f->err = -1;
			return 1;
		}
	}
	return 0;
}

static int res_add(struct seg_out *o, const char *name, struct wmodel *wm, bool own,
                   int64_t model_id, int64_t start)
{
	struct seg_res *r = &o->r[o->n];

	memset(r, 0, sizeof(*r));
	r->wm = wm;
	r->own = own;
	r->name = strdup(name);
	r->st = wstate_new(model_id, start);
	if (r->st)
		r->st->sample_cap = SEG_SAMPLE_MAX;
	if (!r->name || !r->st) {
		free(r->name);
		wstate_free(r->st);
		if (own)
			wmodel_free(wm);
		return -1;
	}
	o->n++;
	return 0;
}

static int by_count(const void *pa, const void *pb, void *arg)
{
	const struct count_ctx *c = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	if (c->counts[a] != c->counts[b])
		return c->counts[a] > c->counts[b] ? -1 : 1;
	return strcmp(c->names[a], c->names[b]);
}

/* The segments of a window without a segmented reference: its K values
 * with the most events, and "other". */
static int live_segments(struct seg_out *o, struct store_ingest *si, struct wmodel *m,
                         const struct model_config *mc, int64_t start, int64_t hi)
{
	struct count_ctx c = {.key = mc->segment_by};
	size_t *order = NULL, k = segment_top_k(mc);
	int rc = -1;

	if (store_ingest_window_events(si, m->id, start, hi, count_cb, &c) < 0 || c.err)
		goto out;
	if (c.n && !(order = malloc(c.n * sizeof(*order))))
		goto out;
	for (size_t i = 0; i < c.n; i++)
		order[i] = i;
	if (c.n)
		qsort_r(order, c.n, sizeof(*order), by_count, &c);
	if (k > c.n)
		k = c.n;
	if (!(o->r = calloc(k + 1, sizeof(*o->r))))
		goto out;
	for (size_t i = 0; i <= k; i++) {
		struct wmodel *wm = wmodel_new(m->id, m->name, mc);
		/* res_add frees wm when it fails */
		if (!wm || res_add(o, i < k ? c.names[order[i]] : STORE_SEGMENT_OTHER, wm, true,
		                   m->id, start))
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	free(c.counts);
	free(order);
	return rc;
}

/* ---- results ---------------------------------------------------------------------------- */

static int res_finish(struct seg_res *r, const char *key, struct jsonw *hist)
{
	struct wmodel *wm = r->wm;

	free(r->dr);
	r->dr = NULL;
	r->ndr = 0;
	if (!r->st->events)
		return 0;
	r->dr = calloc(wm->nf ? wm->nf : 1, sizeof(*r->dr));
	if (!r->dr)
		return -1;
	for (size_t i = 0; i < wm->nf; i++) {
		struct store_feature_row fr;
		struct store_drift_row *d = &r->dr[r->ndr];
		if (wm->f[i].kind == 0 && !wm->f[i].has_ref)
			continue; /* known from the reference, never seen here */
		if (strcmp(wm->f[i].name, key) == 0)
			continue; /* the segment's own value: one category, nothing to compare */
		if (wm->f[i].kind == MVP_KIND)
			continue; /* multivariate drift is the model's, not each segment's:
			           * a classifier fit per segment and pass cost more than
			           * all of the segment's features together */
		if (wstate_feature_result(r->st, wm, i, &fr, d, hist))
			return -1;
		d->cur_hist = NULL; /* hist is scratch: the segment rows keep no histogram */
		r->ndr++;
	}
	return 0;
}

/* A new set of segment states for window (m, start), nothing folded. */
static struct seg_out *seg_out_new(struct segments *s, struct store *st, struct store_ingest *si,
                                   struct wmodel *m, const struct model_config *mc, int64_t start,
                                   int64_t hi, size_t *other)
{
	struct seg_out *o = calloc(1, sizeof(*o));
	struct seg_model *sm;

	if (!o || !(o->key = strdup(mc->segment_by)))
		goto fail;
	o->model_id = m->id;
	o->start = start;
	if (!(sm = seg_model_get(s, st, si, m, mc)))
		goto fail;
	if (sm->n) {
		long oth = -1;
		if (!(o->r = calloc(sm->n + 1, sizeof(*o->r))))
			goto fail;
		for (size_t i = 0; i < sm->n; i++) {
			if (strcmp(sm->names[i], STORE_SEGMENT_OTHER) == 0)
				oth = (long)i;
			if (res_add(o, sm->names[i], sm->wm[i], false, m->id, start))
				goto fail;
		}
		if (oth < 0) {
			/* every reference value has its segment: the rest of the
			 * window is "other", with nothing to compare it with */
			struct wmodel *wm = wmodel_new(m->id, m->name, mc);
			if (!wm || res_add(o, STORE_SEGMENT_OTHER, wm, true, m->id, start))
				goto fail;
			oth = (long)o->n - 1;
		}
		*other = (size_t)oth;
	} else {
		o->live = true;
		if (live_segments(o, si, m, mc, start, hi))
			goto fail;
		*other = o->n - 1;
	}
	return o;
fail:
	seg_out_free(o);
	return NULL;
}

static size_t other_index(const struct seg_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->r[i].name, STORE_SEGMENT_OTHER) == 0)
			return i;
	return o->n - 1; /* seg_out_new always adds one */
}

int segments_compute(struct segments *s, struct store *st, struct store_ingest *si,
                     struct wmodel *m, const struct model_config *mc, int64_t start, int64_t hi,
                     uint64_t labelled, uint64_t min_sample, struct jsonw *hist,
                     const struct seg_out **out)
{
	struct seg_out *o = NULL;
	struct fold_ctx f = {0};
	size_t slot = SIZE_MAX;
	bool fresh = false;

	*out = NULL;
	if (!mc || !mc->segment_by)
		return 0;
	/* the contexts first: a new reference drops the cached states */
	if (!seg_model_get(s, st, si, m, mc))
		return -1;
	for (size_t i = 0; i < s->ncache; i++)
		if (s->cache[i]->model_id == m->id && s->cache[i]->start == start)
			slot = i;
	if (slot != SIZE_MAX) {
		o = s->cache[slot];
		/* other segments, or a state ahead of hi: built again */
		if (o->live || strcmp(o->key, mc->segment_by) != 0 || o->upto > hi) {
			seg_out_free(o);
			s->cache[slot] = s->cache[--s->ncache];
			slot = SIZE_MAX;
			o = NULL;
		}
	}
again:
	if (!o) {
		fresh = true;
		if (!(o = seg_out_new(s, st, si, m, mc, start, hi, &f.other)))
			return -1;
		if (s->ncache == SEG_CACHE_MAX) {
			size_t lru = 0;
			for (size_t i = 1; i < s->ncache; i++)
				if (s->cache[i]->used < s->cache[lru]->used)
					lru = i;
			seg_out_free(s->cache[lru]);
			s->cache[lru] = s->cache[--s->ncache];
		}
		s->cache[s->ncache++] = o;
	} else {
		f.other = other_index(o);
	}
	o->used = ++s->tick;
	/* The segment contexts follow the model: its task and the kinds it
	 * learned (a kind fixed by a segment's reference stays). */
	for (size_t i = 0; i < o->n; i++) {
		struct wmodel *wm = o->r[i].wm;
		wm->task = m->task;
		wm->min_sample = min_sample;
		for (size_t k = 0; k < m->nf; k++)
			if (m->f[k].kind && wmodel_set_kind(wm, m->f[k].name, m->f[k].kind, false))
				goto fail;
		/* a segment's KS p-value is reported, not its verdict (unless
		 * KS is the method): the asymptotic one spares an exact
		 * computation per small sample (drift.h) */
		for (size_t k = 0; k < wm->nf; k++) {
			wm->f[k].opts.ks_p_asymptotic = true;
			/* segment rows keep the verdict, not further tests */
			wm->f[k].opts.verdict_only = true;
		}
	}
	f.o = o;
	f.key = mc->segment_by;
	if (store_ingest_window_events_after(si, m->id, start, o->upto, hi, fold_cb, &f) < 0 ||
	    f.err)
		goto fail;
	o->upto = hi;
	/* A label joined to an event folded before (the window's count is
	 * more than the labels the folded events carried): folded again. */
	o->labelled = 0;
	for (size_t i = 0; i < o->n; i++)
		o->labelled += o->r[i].st->labelled_fold;
	if (o->labelled != labelled && !fresh) {
		for (size_t i = 0; i < s->ncache; i++)
			if (s->cache[i] == o) {
				seg_out_free(o);
				s->cache[i] = s->cache[--s->ncache];
				break;
			}
		o = NULL;
		goto again;
	}
	for (size_t i = 0; i < o->n; i++)
		if (res_finish(&o->r[i], mc->segment_by, hist))
			goto fail;
	*out = o;
	return 0;
fail:
	/* partly folded: not to be trusted next time */
	cache_drop(s, m->id);
	return -1;
}

void segments_each(const struct seg_out *o,
                   void (*fn)(void *arg, const char *key, const char *segment, uint64_t events,
                              const struct store_drift_row *dr, size_t ndr),
                   void *arg)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (o->r[i].st->events) /* as segments_write: no row without events */
			fn(arg, o->key, o->r[i].name, o->r[i].st->events, o->r[i].dr, o->r[i].ndr);
}

int segments_write(struct store *st, int64_t model_id, int64_t start, const struct seg_out *o)
{
	struct store_seg_window *w = NULL;
	size_t n = 0;
	int rc = -1;

	if (!o)
		return 0;
	if (o->n && !(w = calloc(o->n, sizeof(*w))))
		return -1;
	for (size_t i = 0; i < o->n; i++) {
		const struct seg_res *r = &o->r[i];
		struct store_seg_window *x = &w[n];
		if (!r->st->events)
			continue; /* a reference segment without events in this window */
		x->segment = r->name;
		x->events = r->st->events;
		x->errors = r->errors;
		if (r->sk && ddsketch_count(r->sk) > 0) {
			static const double qs[] = {0.5, 0.9, 0.95, 0.99};
			double v[4];
			if (ddsketch_quantiles(r->sk, qs, 4, v) == 0) {
				x->has_latency = true;
				x->p50 = v[0];
				x->p90 = v[1];
				x->p95 = v[2];
				x->p99 = v[3];
			}
		}
		x->labelled = r->st->cls.total + r->st->reg.n;
		if (r->st->cls.total) {
			x->has_accuracy = x->has_macro_f1 = true;
			x->accuracy = quality_cls_accuracy(&r->st->cls);
			x->macro_f1 = quality_cls_macro_f1(&r->st->cls);
		}
		if (r->st->reg.n) {
			x->has_mae = x->has_rmse = true;
			x->mae = quality_reg_mae(&r->st->reg);
			x->rmse = quality_reg_rmse(&r->st->reg);
		}
		double lo, hi;
		if (r->wm->task == TASK_CLASSIFICATION &&
		    quality_est_result(&r->st->est, &x->est, &lo, &hi) == 0)
			x->has_est = true;
		x->drift = r->dr;
		x->ndrift = r->ndr;
		n++;
	}
	rc = store_seg_write(st, model_id, start, o->key, w, n);
	free(w);
	return rc;
}
