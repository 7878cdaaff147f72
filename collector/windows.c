/* windows: see windows.h. */
#include "windows.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "featcodec.h"
#include "jsonw.h"
#include "log.h"
#include "vector.h"

const char *win_task_name(enum win_task t)
{
	return t == TASK_CLASSIFICATION ? "classification"
	       : t == TASK_REGRESSION   ? "regression"
	                                : NULL;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static uint64_t hash_str(const char *s)
{
	return hash_bytes(1469598103934665603ull, s, strlen(s));
}

/* ---- model ------------------------------------------------------------------- */

static int reindex(struct wmodel *m)
{
	size_t n = 64;
	uint32_t *idx;

	while (n < m->nf * 2 + 2)
		n *= 2;
	idx = calloc(n, sizeof(*idx));
	if (!idx)
		return -1;
	for (size_t i = 0; i < m->nf; i++) {
		size_t j = hash_str(m->f[i].name) & (n - 1);
		while (idx[j])
			j = (j + 1) & (n - 1);
		idx[j] = (uint32_t)i + 1;
	}
	free(m->index);
	m->index = idx;
	m->nindex = n;
	return 0;
}

long wmodel_find(const struct wmodel *m, const char *name)
{
	if (!m->nindex)
		return -1;
	for (size_t j = hash_str(name) & (m->nindex - 1);; j = (j + 1) & (m->nindex - 1)) {
		uint32_t k = m->index[j];
		if (!k)
			return -1;
		if (strcmp(m->f[k - 1].name, name) == 0)
			return (long)k - 1;
	}
}

long wmodel_add(struct wmodel *m, const char *name, int kind)
{
	long i = wmodel_find(m, name);
	struct wm_feature *f;

	if (i >= 0)
		return i;
	if (m->nf == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		struct wm_feature *nf = realloc(m->f, ncap * sizeof(*nf));
		if (!nf)
			return -1;
		m->f = nf;
		m->cap = ncap;
	}
	f = &m->f[m->nf];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name)
		return -1;
	f->kind = kind;
	f->opts.preset = m->preset;
	f->far = -1;
	f->min_effect = -1;
	f->mv_col = -1;
	m->nf++;
	if (m->nf * 2 + 2 > m->nindex) {
		if (reindex(m)) {
			free(f->name);
			m->nf--;
			return -1;
		}
	} else {
		size_t j = hash_str(name) & (m->nindex - 1);
		while (m->index[j])
			j = (j + 1) & (m->nindex - 1);
		m->index[j] = (uint32_t)m->nf;
	}
	return (long)m->nf - 1;
}

struct wmodel *wmodel_new(int64_t id, const char *name, const struct model_config *cfg)
{
	struct wmodel *m = calloc(1, sizeof(*m));

	if (!m || !(m->name = strdup(name)) || reindex(m))
		goto fail;
	m->id = id;
	m->report_adwin = true;
	m->far = CALIB_RATE_DEFAULT;
	m->season_slot = INT64_MIN;
	if (!cfg)
		return m;
	m->far = cfg->false_alarm_rate;
	m->ref_mode = cfg->reference_mode;
	m->ref_span = cfg->reference_span_s;
	if (cfg->drift_preset)
		(void)drift_preset_parse(cfg->drift_preset, &m->preset); /* validated by config */
	if (cfg->concept_detector) {
		m->report_ph = strcmp(cfg->concept_detector, "adwin") != 0;
		m->report_adwin = strcmp(cfg->concept_detector, "page_hinkley") != 0;
	}
	if (cfg->task && strcmp(cfg->task, "classification") == 0) {
		m->task = TASK_CLASSIFICATION;
		m->task_fixed = true;
	} else if (cfg->task && strcmp(cfg->task, "regression") == 0) {
		m->task = TASK_REGRESSION;
		m->task_fixed = true;
	}
	for (size_t i = 0; i < cfg->n_features; i++) {
		const struct model_feature_config *fc = &cfg->features[i];
		long k = wmodel_add(m, fc->name, (int)fc->kind);
		if (k < 0)
			goto fail;
		m->f[k].kind_fixed = m->f[k].cfg_kind = fc->kind != KIND_AUTO;
		if (fc->method)
			drift_method_parse(fc->method, &m->f[k].opts.method);
		m->f[k].opts.threshold = fc->threshold;
		if (fc->preset)
			(void)drift_preset_parse(fc->preset, &m->f[k].opts.preset);
		m->f[k].far = fc->false_alarm_rate;
		m->f[k].min_effect = fc->min_effect;
	}
	return m;
fail:
	wmodel_free(m);
	return NULL;
}

void wmodel_drop_profiles(struct wmodel *m)
{
	for (size_t i = 0; i < m->nf; i++) {
		if (m->f[i].has_ref)
			drift_ref_fini(&m->f[i].ref);
		m->f[i].has_ref = false;
		if (m->f[i].emb) {
			emb_ref_fini(m->f[i].emb);
			free(m->f[i].emb);
			m->f[i].emb = NULL;
			m->f[i].dim = 0; /* the next reference or vector fixes it */
		}
		memset(&m->f[i].cal, 0, sizeof(m->f[i].cal));
		m->f[i].cal_warned = false;
	}
}

void wmodel_reset_references(struct wmodel *m)
{
	wmodel_drop_profiles(m);
	/* kinds a previous reference fixed are open again until the features
	 * table says otherwise */
	for (size_t i = 0; i < m->nf; i++)
		m->f[i].kind_fixed = m->f[i].cfg_kind;
	if (m->has_calib)
		quality_calib_fini(&m->calib);
	m->has_calib = false;
	if (m->mv) {
		mvp_fini(m->mv);
		free(m->mv);
		m->mv = NULL;
	}
	for (size_t i = 0; i < m->nf; i++)
		m->f[i].mv_col = -1;
}

void wmodel_free(struct wmodel *m)
{
	if (!m)
		return;
	wmodel_reset_references(m);
	for (size_t i = 0; i < m->nf; i++)
		free(m->f[i].name);
	free(m->f);
	free(m->index);
	free(m->order);
	free(m->name);
	free(m);
}

int wmodel_set_kind(struct wmodel *m, const char *name, int kind, bool from_reference)
{
	long i = wmodel_add(m, name, 0);
	if (i < 0)
		return -1;
	if (!m->f[i].kind_fixed || m->f[i].kind == 0) {
		m->f[i].kind = kind;
		if (from_reference)
			m->f[i].kind_fixed = true;
	}
	m->f[i].persisted = true;
	return 0;
}

/* The embedding profile of a vector feature from the reference's float32
 * rows (the PCA of the reference is fitted here, once per load). */
static int set_vector_reference(struct wmodel *m, struct wm_feature *f, const uint8_t *profile,
                                size_t len)
{
	float *rows = NULL;
	double *x = NULL;
	size_t n = 0, d = 0;
	int rc = -1;

	if (f->emb) {
		emb_ref_fini(f->emb);
		free(f->emb);
		f->emb = NULL;
	}
	if (vector_rows_decode(profile, len, &rows, &n, &d) != 0 || n < 10 || d > MV_MAX_DIM)
		goto out;
	x = malloc(n * d * sizeof(*x));
	f->emb = calloc(1, sizeof(*f->emb));
	if (!x || !f->emb)
		goto out;
	for (size_t i = 0; i < n * d; i++)
		x[i] = rows[i];
	if (emb_ref_build(f->emb, x, n, d, 0, 0x656d62ull ^ (uint64_t)m->id) != 0)
		goto out;
	if (!f->cfg_kind) {
		f->kind = WIN_KIND_VECTOR;
		f->kind_fixed = true;
	}
	f->dim = d;
	rc = 0;
out:
	if (rc && f->emb) {
		free(f->emb);
		f->emb = NULL;
	}
	free(x);
	free(rows);
	return rc;
}

/* The multivariate profile: decoded, its PCA fitted, each column tied to
 * its feature. fi is the index of "@multivariate". */
static int set_mv_reference(struct wmodel *m, long fi, const uint8_t *profile, size_t len)
{
	struct mvp *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	if (mvp_decode(p, profile, len) != 0 || mvp_fit(p) != 0) {
		mvp_fini(p);
		free(p);
		return -1;
	}
	if (m->mv) {
		mvp_fini(m->mv);
		free(m->mv);
	}
	m->mv = p;
	m->f[fi].kind = MVP_KIND;
	m->f[fi].kind_fixed = true;
	for (size_t i = 0; i < m->nf; i++)
		m->f[i].mv_col = -1;
	for (size_t j = 0; j < p->d; j++) {
		long k = wmodel_add(m, p->names[j], 0);
		if (k < 0)
			return -1;
		m->f[k].mv_col = (int)j;
	}
	return 0;
}

int wmodel_set_reference(struct wmodel *m, const char *name, int kind, const uint8_t *profile,
                         size_t len)
{
	long i = wmodel_add(m, name, 0);
	struct wm_feature *f;

	if (i < 0)
		return -1;
	f = &m->f[i];
	if (kind == WIN_KIND_VECTOR)
		return set_vector_reference(m, f, profile, len);
	if (kind == MVP_KIND)
		return set_mv_reference(m, i, profile, len);
	if (f->has_ref)
		drift_ref_fini(&f->ref);
	f->has_ref = false;
	memset(&f->cal, 0, sizeof(f->cal)); /* calibrated on the old reference */
	f->cal_warned = false;
	if (drift_ref_decode(&f->ref, profile, len) != 0)
		return -1;
	f->has_ref = true;
	if (!f->kind_fixed || f->kind == 0) {
		f->kind = kind;
		f->kind_fixed = true;
	}
	return 0;
}

int wmodel_set_calibration(struct wmodel *m, const uint8_t *profile, size_t len)
{
	if (m->has_calib)
		quality_calib_fini(&m->calib);
	m->has_calib = false;
	if (quality_calib_decode(&m->calib, profile, len) != 0)
		return -1;
	m->has_calib = true;
	return 0;
}

/* ---- window state ---------------------------------------------------------------- */

struct wstate *wstate_new(int64_t model_id, int64_t start)
{
	struct wstate *w = calloc(1, sizeof(*w));
	if (w) {
		w->model_id = model_id;
		w->start = start;
		quality_cls_init(&w->cls);
	}
	return w;
}

void wstate_free(struct wstate *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nf; i++) {
		sample_reservoir_fini(&w->f[i].res);
		sample_cats_fini(&w->f[i].cats);
		free(w->f[i].vrows);
	}
	free(w->mvrows);
	free(w->mvcur);
	free(w->mvset);
	free(w->f);
	quality_cls_fini(&w->cls);
	free(w);
}

int win_score_label(enum win_task task, const struct value *pred, const struct value *label,
                    struct quality_cls *cls, struct quality_reg *reg)
{
	char pb[64], lb[64];

	if (pred->kind == VALUE_NONE || label->kind == VALUE_NONE)
		return -1;
	if (task == TASK_REGRESSION) {
		if (pred->kind != VALUE_NUMBER || label->kind != VALUE_NUMBER ||
		    quality_reg_add(reg, pred->num, label->num) != 0)
			return -1;
		return 0;
	}
	const char *p = win_class_name(pred, pb, sizeof(pb));
	const char *l = win_class_name(label, lb, sizeof(lb));
	if (!p || !l || quality_cls_add(cls, p, l) != 0)
		return -1;
	return strcmp(p, l) != 0;
}

static int ensure(struct wstate *w, size_t nf)
{
	struct wfeat *nv;
	if (nf <= w->nf)
		return 0;
	nv = realloc(w->f, nf * sizeof(*nv));
	if (!nv)
		return -1;
	memset(nv + w->nf, 0, (nf - w->nf) * sizeof(*nv));
	for (size_t i = w->nf; i < nf; i++)
		sample_cats_init(&nv[i].cats, WIN_CATS_MAX);
	w->f = nv;
	w->nf = nf;
	return 0;
}

const char *win_class_name(const struct value *v, char *buf, size_t cap)
{
	if (v->kind == VALUE_STRING)
		return v->str;
	if (v->kind == VALUE_NUMBER) {
		jsonw_format_double(buf, cap, v->num);
		return buf;
	}
	return NULL;
}

/* One value of feature i: kind 1 with num, kind 2 with str. */
static int fold_value(struct wstate *w, struct wmodel *m, long i, int kind, double num,
                      const char *str, bool *changed)
{
	struct wm_feature *mf = &m->f[i];
	struct wfeat *f;

	if (mf->kind == 0) {
		mf->kind = kind; /* first seen wins */
		*changed = true;
	}
	if (ensure(w, m->nf))
		return -1;
	f = &w->f[i];
	if (mf->kind != kind) {
		f->type_errors++;
		return 0;
	}
	bool ref_ok = mf->has_ref && (int)mf->ref.kind + 1 == kind;
	if (kind == 1) {
		if (!f->res_init) {
			uint64_t seed = hash_bytes(hash_str(mf->name), &w->start, sizeof(w->start));
			seed = hash_bytes(seed, &w->model_id, sizeof(w->model_id));
			sample_reservoir_init(
			    &f->res, w->sample_cap ? w->sample_cap : SAMPLE_WINDOW_MAX, seed);
			f->res_init = true;
		}
		if (sample_reservoir_add(&f->res, num) != 0)
			return -1;
		if (mf->mv_col >= 0 && w->mvset && (size_t)mf->mv_col < w->mvd &&
		    !w->mvset[mf->mv_col]) {
			w->mvcur[mf->mv_col] = num;
			w->mvset[mf->mv_col] = 1;
			w->mvhave++;
		}
		if (ref_ok && drift_out_of_range(&mf->ref, num))
			f->out_of_range++;
	} else {
		size_t len = strlen(str);
		if (len > SAMPLE_CAT_NAME_MAX)
			len = SAMPLE_CAT_NAME_MAX;
		if (sample_cats_add(&f->cats, str, len, 1) != 0)
			return -1;
		if (ref_ok && drift_is_new_category(&mf->ref, str, len))
			f->new_category++;
	}
	f->n++;
	return 0;
}

/* One vector value of feature i (kind 3): a type error when the feature is
 * of another kind or dimension, else into the window's sample (Algorithm
 * R past vmax rows, seeded per model, window and feature). */
static int fold_vector(struct wstate *w, struct wmodel *m, long i, const float *v, size_t dim,
                       bool *changed)
{
	struct wm_feature *mf = &m->f[i];
	struct wfeat *f;
	size_t at;

	if (mf->kind == 0) {
		mf->kind = WIN_KIND_VECTOR;
		*changed = true;
	}
	if (mf->kind == WIN_KIND_VECTOR && mf->dim == 0)
		mf->dim = dim; /* first seen fixes it */
	if (ensure(w, m->nf))
		return -1;
	f = &w->f[i];
	if (mf->kind != WIN_KIND_VECTOR || mf->dim != dim) {
		f->type_errors++;
		return 0;
	}
	if (!f->vmax) {
		uint64_t seed = hash_bytes(hash_str(mf->name), &w->start, sizeof(w->start));
		seed = hash_bytes(seed, &w->model_id, sizeof(w->model_id));
		sample_rng_seed(&f->vrng, seed);
		f->vmax = WIN_VECTOR_BYTES / (dim * sizeof(float));
		if (f->vmax > WIN_VECTOR_ROWS)
			f->vmax = WIN_VECTOR_ROWS;
		f->vrows = malloc(f->vmax * dim * sizeof(float));
		if (!f->vrows) {
			f->vmax = 0;
			return -1;
		}
	}
	f->vseen++;
	f->n++;
	if (f->nv < f->vmax) {
		at = f->nv++;
	} else {
		uint64_t k = sample_rng_below(&f->vrng, f->vseen);
		if (k >= f->vmax)
			return 0;
		at = (size_t)k;
	}
	memcpy(f->vrows + at * dim, v, dim * sizeof(float));
	return 0;
}

/* A vector feature of a stored event (the blob's f32 values). */
static long find_at(struct wmodel *m, size_t k, const char *name);

static int fold_vector_blob(struct wstate *w, struct wmodel *m, const struct featcodec_it *it,
                            bool *changed)
{
	float v[VECTOR_DIM_MAX];
	long i;

	if (it->name[0] == '@')
		return 0;
	i = find_at(m, it->seen - 1, it->name);
	if (i < 0) {
		i = wmodel_add(m, it->name, WIN_KIND_VECTOR);
		if (i < 0)
			return -1;
		*changed = true;
	}
	featcodec_vec(it, v);
	return fold_vector(w, m, i, v, it->dim, changed);
}

static enum win_task task_of(const struct store_raw_event *e)
{
	if (e->prediction.kind == VALUE_STRING)
		return TASK_CLASSIFICATION;
	/* A number with a probability is a class index; without one, a
	 * regression value. */
	return e->has_score || e->scores_json ? TASK_CLASSIFICATION : TASK_REGRESSION;
}

bool win_confidence(const struct store_raw_event *e, double *conf)
{
	char buf[64];
	const char *cls = win_class_name(&e->prediction, buf, sizeof(buf));

	if (!cls)
		return false;
	if (e->scores_json) {
		cJSON *o = cJSON_Parse(e->scores_json);
		const cJSON *p = o ? cJSON_GetObjectItemCaseSensitive(o, cls) : NULL;
		bool ok = cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble <= 1;
		if (ok)
			*conf = p->valuedouble;
		cJSON_Delete(o);
		if (ok)
			return true;
	}
	if (!e->has_score)
		return false;
	/* Binary 0/1 without `scores`: score is P(class 1). */
	if (!e->scores_json && e->prediction.kind == VALUE_NUMBER && e->prediction.num == 0)
		*conf = 1.0 - e->score;
	else
		*conf = e->score;
	return true;
}

/* One feature value of an event (kind 0 = missing). */
/* Index of the k-th feature of an event named name: the events of a model
 * carry the same features in the same order nearly always, so the index
 * the k-th had last time is tried first (one comparison instead of a hash
 * and a probe). -1 when absent. */
static long find_at(struct wmodel *m, size_t k, const char *name)
{
	long i;

	if (k < m->norder && m->order[k] && m->order[k] <= m->nf &&
	    strcmp(m->f[m->order[k] - 1].name, name) == 0)
		return (long)m->order[k] - 1;
	i = wmodel_find(m, name);
	if (i >= 0 && k < FEATCODEC_FEATURES_MAX) {
		if (k >= m->norder) {
			size_t n = FEATCODEC_FEATURES_MAX;
			uint32_t *no = realloc(m->order, n * sizeof(*no));
			if (!no)
				return i; /* only a hint */
			memset(no + m->norder, 0, (n - m->norder) * sizeof(*no));
			m->order = no;
			m->norder = n;
		}
		m->order[k] = (uint32_t)i + 1;
	}
	return i;
}

static int fold_feature(struct wstate *w, struct wmodel *m, size_t k, const char *name, int kind,
                        double num, const char *str, bool *changed)
{
	long i;

	if (name[0] == '@')
		return 0; /* reserved for the outputs */
	i = find_at(m, k, name);
	if (i < 0) {
		i = wmodel_add(m, name, kind);
		if (i < 0)
			return -1;
		if (kind)
			*changed = true;
	}
	if (kind == 0)
		return 0; /* missing: counted as events - n - errors */
	return fold_value(w, m, i, kind, num, str, changed);
}

/* Folds an event's features: the blob event_row checked whole (a stored
 * row it could not read has none), iterated without a parse tree or an
 * allocation. Returns 0, -1 when out of memory. */
static int fold_features(struct wstate *w, struct wmodel *m, const struct store_raw_event *e,
                         bool *changed)
{
	struct featcodec_it it;
	int rc;

	if (!e->features || featcodec_begin(&it, e->features, e->features_len, NULL))
		return 0;
	while ((rc = featcodec_next(&it, NULL)) == 1) {
		if (it.kind == FEATURE_VECTOR) {
			if (fold_vector_blob(w, m, &it, changed))
				return -1;
			continue;
		}
		/* FEATURE_* and the window's kinds agree: 0 missing, 1 numeric,
		 * 2 categorical */
		if (fold_feature(w, m, it.seen - 1, it.name, (int)it.kind, it.num,
		                 it.kind == FEATURE_CATEGORICAL ? it.str : NULL, changed))
			return -1;
	}
	return 0;
}

/* Before an event: a fresh row for the multivariate sample (the profile's
 * columns). -1 when out of memory. */
static int mv_begin(struct wstate *w, const struct wmodel *m)
{
	if (!m->mv) {
		w->mvd = 0;
		return 0;
	}
	if (w->mvd != m->mv->d) {
		/* first event, or the profile changed (the window's rows
		 * then no longer fit: start again) */
		free(w->mvrows);
		free(w->mvcur);
		free(w->mvset);
		w->mvd = m->mv->d;
		w->mvn = 0;
		w->mvseen = 0;
		w->mvrows = malloc(WIN_MV_ROWS * w->mvd * sizeof(double));
		w->mvcur = malloc(w->mvd * sizeof(double));
		w->mvset = malloc(w->mvd);
		sample_rng_seed(&w->mvrng, hash_bytes(0x6d76ull, &w->start, sizeof(w->start)));
		if (!w->mvrows || !w->mvcur || !w->mvset) {
			w->mvd = 0;
			return -1;
		}
	}
	memset(w->mvset, 0, w->mvd);
	w->mvhave = 0;
	return 0;
}

/* After an event: its row joins the sample when it held every column. */
static void mv_end(struct wstate *w)
{
	size_t at;

	if (!w->mvd || w->mvhave != w->mvd)
		return;
	w->mvseen++;
	if (w->mvn < WIN_MV_ROWS) {
		at = w->mvn++;
	} else {
		uint64_t k = sample_rng_below(&w->mvrng, w->mvseen);
		if (k >= WIN_MV_ROWS)
			return;
		at = (size_t)k;
	}
	memcpy(w->mvrows + at * w->mvd, w->mvcur, w->mvd * sizeof(double));
}

int wstate_fold(struct wstate *w, struct wmodel *m, const struct store_raw_event *e, bool *changed)
{
	int rc = -1;
	long i;

	if (mv_begin(w, m))
		return -1;

	if (fold_features(w, m, e, changed))
		goto out;
	if (e->prediction.kind != VALUE_NONE) {
		char buf[64];
		if (m->task == TASK_UNKNOWN) {
			m->task = task_of(e);
			*changed = true;
		}
		int kind = m->task == TASK_CLASSIFICATION ? 2 : 1;
		i = wmodel_add(m, WIN_PREDICTION, 0);
		if (i < 0)
			goto out;
		if (m->f[i].kind == 0) {
			m->f[i].kind = kind;
			*changed = true;
		}
		if (kind == 2) {
			if (fold_value(w, m, i, 2, 0,
			               win_class_name(&e->prediction, buf, sizeof(buf)), changed))
				goto out;
		} else if (e->prediction.kind == VALUE_NUMBER) {
			if (fold_value(w, m, i, 1, e->prediction.num, NULL, changed))
				goto out;
		} else if (fold_value(w, m, i, 2, 0, e->prediction.str, changed)) {
			goto out; /* a class name for a regression model: type error */
		}
	}
	if (e->has_score) {
		i = wmodel_add(m, WIN_SCORE, 1);
		if (i < 0 || fold_value(w, m, i, 1, e->score, NULL, changed))
			goto out;
	}
	if (m->task == TASK_CLASSIFICATION) {
		double conf;
		if (win_confidence(e, &conf))
			quality_est_add(&w->est, m->has_calib ? &m->calib : NULL, conf);
	}
	if (e->label.kind != VALUE_NONE) {
		w->labelled_fold++;
		win_score_label(m->task, &e->prediction, &e->label, &w->cls, &w->reg);
	}
	rc = ensure(w, m->nf);
	mv_end(w);
out:
	w->events++;
	if (e->id > w->upto_id)
		w->upto_id = e->id;
	return rc;
}

/* ---- results ------------------------------------------------------------------------ */

static void json_array_num(struct jsonw *j, const char *key, const double *v, size_t n)
{
	jsonw_str(j, key, strlen(key));
	jsonw_raw(j, ":[", 2);
	for (size_t i = 0; i < n; i++) {
		if (i)
			jsonw_char(j, ',');
		jsonw_num(j, v[i]);
	}
	jsonw_char(j, ']');
}

static void json_array_u64(struct jsonw *j, const char *key, const uint64_t *v, size_t n)
{
	jsonw_str(j, key, strlen(key));
	jsonw_raw(j, ":[", 2);
	for (size_t i = 0; i < n; i++) {
		if (i)
			jsonw_char(j, ',');
		jsonw_num(j, (double)v[i]);
	}
	jsonw_char(j, ']');
}

/* Cell names of a categorical reference: top categories, "other" when
 * the reference had more, then "new". */
static void json_ref_cells(struct jsonw *j, const struct drift_ref *ref)
{
	const struct sample_cats *t = &ref->cats;
	jsonw_raw(j, "\"cells\":[", 9);
	for (size_t c = 0; c < t->ntop; c++) {
		const struct sample_cat *cat = &t->cats[t->top[c]];
		jsonw_str(j, cat->name, cat->name_len);
		jsonw_char(j, ',');
	}
	if (t->has_other)
		jsonw_raw(j, "\"other\",", 8);
	jsonw_raw(j, "\"new\"]", 6);
}

/* Without a reference, a categorical window still gets a histogram of its
 * own most frequent categories (for the dashboard). */
static void hist_own_cats(const struct wfeat *f, struct jsonw *out)
{
	struct sample_cats *t = (struct sample_cats *)&f->cats;
	uint64_t counts[SAMPLE_CATS_TOP + 1] = {0};
	size_t nc;

	if (t->n == 0 || sample_cats_rank(t, SAMPLE_CATS_TOP) != 0)
		return;
	nc = sample_cats_ncells(t);
	for (size_t c = 0; c < nc; c++)
		counts[c] = sample_cats_cell_count(t, c);
	jsonw_raw(out, "{\"cells\":[", 10);
	for (size_t c = 0; c < t->ntop; c++) {
		if (c)
			jsonw_char(out, ',');
		jsonw_str(out, t->cats[t->top[c]].name, t->cats[t->top[c]].name_len);
	}
	if (t->has_other)
		jsonw_raw(out, ",\"other\"", 8);
	jsonw_raw(out, "],", 2);
	json_array_u64(out, "counts", counts, nc);
	jsonw_char(out, '}');
}

bool wmodel_calib_key(struct wmodel *m, size_t fi, enum drift_method *meth, double *rate)
{
	struct wm_feature *mf = &m->f[fi];
	struct drift_opts opts = mf->opts;
	double thr;

	*rate = mf->far >= 0 ? mf->far : m->far;
	return opts.threshold <= 0 && mf->has_ref && *rate > 0 &&
	       drift_resolve(&mf->ref, &opts, meth, &thr) == 0 &&
	       calib_applies(&mf->ref, *meth, opts.preset);
}

int wmodel_seed_calibration(struct wmodel *m, const char *feature, const struct calib_result *c)
{
	long fi = wmodel_find(m, feature);
	enum drift_method meth;
	double rate;

	if (fi < 0 || !wmodel_calib_key(m, (size_t)fi, &meth, &rate))
		return 0;
	return calib_cache_put(&m->f[fi].cal, meth, rate, m->f[fi].ref.n, c) == 0 ? 1 : 0;
}

enum calib_source wmodel_threshold(struct wmodel *m, size_t fi, size_t n, struct drift_opts *opts,
                                   const struct calib_result **cal)
{
	struct wm_feature *mf = &m->f[fi];
	enum drift_method meth;
	double rate, thr;
	int rc;

	*opts = mf->opts;
	if (cal)
		*cal = NULL;
	if (opts->threshold > 0)
		return CALIB_SRC_CONFIGURED;
	if (n == 0 || !wmodel_calib_key(m, fi, &meth, &rate))
		return CALIB_SRC_DEFAULT;
	rc = calib_cache_threshold(&mf->cal, &mf->ref, meth, rate, n,
	                           calib_feature_seed(m->id, mf->name), &thr, cal);
	if (rc < 0 || !(thr > 0) || !isfinite(thr)) {
		if (!mf->cal_warned) {
			char q[200];

			log_warn(
			    "analyze",
			    "drift threshold calibration failed, default threshold used model=%s "
			    "feature=%s method=%s n=%zu: %s",
			    m->name, log_quote(q, sizeof(q), mf->name), drift_method_name(meth), n,
			    rc < 0 ? strerror(-rc) : "threshold not positive");
			mf->cal_warned = true;
		}
		if (cal)
			*cal = NULL;
		return CALIB_SRC_DEFAULT;
	}
	opts->threshold = thr;
	return CALIB_SRC_CALIBRATED;
}

/* Appends where the threshold came from to the stats object (left alone
 * when empty or when it would not fit). */
static void stats_threshold_source(char *stats, size_t cap, enum calib_source src,
                                   const struct calib_result *cal, double min_effect, double effect)
{
	size_t len = strlen(stats);
	int w;

	if (len < 2 || stats[len - 1] != '}')
		return;
	if (cal)
		w = snprintf(stats + len - 1, cap - len + 1,
		             ",\"threshold_source\":\"%s\",\"false_alarm_rate\":%.17g,"
		             "\"calibrated_n\":%zu,\"effect\":%.17g,\"min_effect\":%.17g}",
		             calib_source_name(src), cal->rate, cal->n, effect, min_effect);
	else
		w = snprintf(stats + len - 1, cap - len + 1,
		             ",\"threshold_source\":\"%s\",\"effect\":%.17g,\"min_effect\":%.17g}",
		             calib_source_name(src), effect, min_effect);
	if (w < 0 || (size_t)w >= cap - len + 1) {
		stats[len - 1] = '}'; /* never a truncated object */
		stats[len] = '\0';
	}
}

/* Appends where a calendar reference came from: its mode, the parts of
 * the history it was built from and how many had no events (a gap is
 * reported with every verdict it affects, never filled). */
static void stats_reference_source(char *stats, size_t cap, const struct wmodel *m)
{
	size_t len = strlen(stats);
	int w;

	if (m->ref_mode == REF_MODE_STATIC || len < 2 || stats[len - 1] != '}')
		return;
	w = snprintf(stats + len - 1, cap - len + 1,
	             ",\"reference\":\"%s\",\"reference_parts\":%u,"
	             "\"reference_missing\":%u}",
	             config_reference_mode_name(m->ref_mode), m->ref_parts, m->ref_missing);
	if (w < 0 || (size_t)w >= cap - len + 1) {
		stats[len - 1] = '}'; /* never a truncated object */
		stats[len] = '\0';
	}
}

/* Methods that must flag a vector feature's window for its verdict: a
 * majority of the five (each alone alarms at alpha on a stationary
 * window; together they must agree). */
#define WIN_EMB_MAJORITY 3

/* Drift of a vector feature's window (kind 3): the five embedding methods
 * against the reference, each with statistic, threshold, p and verdict in
 * the stats object ({"methods":{"cosine":{...},...}}); the row's score is
 * how many methods flag drift, its threshold WIN_EMB_MAJORITY. */
static int vector_result(const struct wstate *w, struct wmodel *m, size_t fi, const struct wfeat *f,
                         struct store_drift_row *dr)
{
	struct wm_feature *mf = &m->f[fi];
	struct emb_opts o = {0};
	struct emb_result r;
	double *x;
	size_t len;
	int rc, drifted = 0;

	dr->numeric = false;
	if (!mf->emb || f->nv < 10 || mf->emb->d != mf->dim) {
		dr->insufficient = true;
		dr->has_ref = mf->emb != NULL;
		dr->n_ref = mf->emb ? mf->emb->n : 0;
		return 0;
	}
	x = malloc(f->nv * mf->dim * sizeof(*x));
	if (!x)
		return -1;
	for (size_t i = 0; i < f->nv * mf->dim; i++)
		x[i] = f->vrows[i];
	o.seed = calib_feature_seed(m->id, mf->name) ^ (uint64_t)w->start;
	/* each method's level: false_alarm_rate.F when configured for the
	 * feature (their nulls are the reference's own: bootstrap,
	 * permutations), else 5% */
	o.alpha = mf->far > 0 && mf->far < 1 ? mf->far : 0.05;
	rc = emb_drift(mf->emb, x, f->nv, &o, &r);
	free(x);
	if (rc == -ENOMEM)
		return -1;
	dr->has_ref = true;
	dr->n_ref = mf->emb->n;
	if (rc) {
		dr->insufficient = true;
		return 0;
	}
	len = (size_t)snprintf(dr->stats, sizeof(dr->stats),
	                       "{\"dim\":%zu,\"n_cur\":%zu,\"methods\":{", r.d, r.n_cur);
	for (int k = 0; k < EMB_METHODS && len < sizeof(dr->stats); k++) {
		const struct emb_stat *s = &r.m[k];
		drifted += s->drifted;
		len += (size_t)snprintf(dr->stats + len, sizeof(dr->stats) - len,
		                        "%s\"%s\":{\"stat\":%.9g,\"threshold\":%.9g,\"p\":%.9g,"
		                        "\"drifted\":%s",
		                        k ? "," : "", emb_method_name((enum emb_method)k), s->stat,
		                        s->threshold, s->p, s->drifted ? "true" : "false");
		/* pca_ks: the share of components drifted on their own, beside
		 * the Fisher statistic that decides */
		if (k == EMB_PCA_KS && len < sizeof(dr->stats))
			len += (size_t)snprintf(dr->stats + len, sizeof(dr->stats) - len,
			                        ",\"share\":%.9g", s->share);
		if (len < sizeof(dr->stats))
			len += (size_t)snprintf(dr->stats + len, sizeof(dr->stats) - len, "}");
	}
	if (len < sizeof(dr->stats))
		len += (size_t)snprintf(dr->stats + len, sizeof(dr->stats) - len,
		                        "},\"threshold_rule\":\"majority\"}");
	if (len >= sizeof(dr->stats))
		dr->stats[0] = '\0'; /* never a truncated object */
	dr->method = "embedding";
	dr->score = drifted;
	dr->threshold = WIN_EMB_MAJORITY;
	dr->severity = (double)drifted / WIN_EMB_MAJORITY;
	dr->drifted = drifted >= WIN_EMB_MAJORITY;
	return 0;
}

/* Multivariate drift of the window ("@multivariate", kind 4): the PCA
 * reconstruction error against its band (the row's score and threshold:
 * the band's upper end) and the domain classifier; drift when either
 * method says so. Each method's figures in stats. */
static int mv_result(const struct wstate *w, struct wmodel *m, struct store_feature_row *fr,
                     struct store_drift_row *dr)
{
	struct mvp_result r;
	int rc;

	fr->n = dr->n = w->mvd ? w->mvn : 0;
	fr->missing = w->events > fr->n ? w->events - fr->n : 0;
	dr->missing_rate = w->events ? (double)fr->missing / (double)w->events : 0;
	dr->has_ref = m->mv != NULL;
	dr->n_ref = m->mv ? m->mv->n : 0;
	if (!m->mv || w->mvd != m->mv->d || w->mvn < 10) {
		dr->insufficient = true;
		return 0;
	}
	rc = mvp_drift(m->mv, w->mvrows, w->mvn, 0.05,
	               calib_feature_seed(m->id, MVP_FEATURE) ^ (uint64_t)w->start, &r);
	if (rc == -ENOMEM)
		return -1;
	if (rc) {
		dr->insufficient = true;
		return 0;
	}
	if (snprintf(
	        dr->stats, sizeof(dr->stats),
	        "{\"columns\":%zu,\"components\":%zu,\"methods\":{\"pca_recon\":{\"stat\":%.9g,"
	        "\"threshold\":%.9g,\"lower\":%.9g,\"band_mean\":%.9g,\"band_sd\":%.9g,"
	        "\"chunks\":%zu,\"drifted\":%s}%s",
	        m->mv->d, r.k, r.recon, r.upper, r.lower, r.band_mean, r.band_sd, r.chunks,
	        r.recon_drifted ? "true" : "false",
	        r.clf_done ? "" : "},\"threshold_rule\":\"reference_chunks\"}") >=
	    (int)sizeof(dr->stats))
		dr->stats[0] = '\0';
	if (r.clf_done && dr->stats[0]) {
		size_t len = strlen(dr->stats);
		if (snprintf(dr->stats + len, sizeof(dr->stats) - len,
		             ",\"classifier\":{\"stat\":%.9g,\"threshold\":%.9g,\"p\":%.9g,"
		             "\"drifted\":%s}},\"threshold_rule\":\"reference_chunks\"}",
		             r.auc, r.auc_threshold, r.auc_p,
		             r.clf_drifted ? "true" : "false") >= (int)(sizeof(dr->stats) - len))
			dr->stats[0] = '\0';
	}
	dr->method = "pca_recon";
	dr->score = r.recon;
	dr->threshold = r.upper;
	dr->drifted = r.recon_drifted || r.clf_drifted;
	/* distance from the band's centre in band half-widths: 1 at its edge */
	dr->severity = r.band_sd > 0     ? fabs(r.recon - r.band_mean) / (3 * r.band_sd)
	               : r.recon_drifted ? DRIFT_SEVERITY_MAX
	                                 : 0;
	if (r.clf_drifted && dr->severity < 1)
		dr->severity = 1;
	if (dr->severity > DRIFT_SEVERITY_MAX)
		dr->severity = DRIFT_SEVERITY_MAX;
	return 0;
}

int wstate_feature_result(const struct wstate *w, struct wmodel *m, size_t fi,
                          struct store_feature_row *fr, struct store_drift_row *dr,
                          struct jsonw *hist)
{
	struct wm_feature *mf = &m->f[fi];
	struct drift_opts opts;
	enum calib_source src;
	const struct calib_result *cal = NULL;
	static const struct wfeat empty;
	const struct wfeat *f = fi < w->nf ? &w->f[fi] : &empty;
	struct drift_result r;
	double events = (double)w->events;
	uint64_t valid_or_err = f->n + f->type_errors;
	int kind = mf->kind ? mf->kind : (mf->has_ref ? (int)mf->ref.kind + 1 : 1);
	bool ref_ok = mf->has_ref && (int)mf->ref.kind + 1 == kind;
	int rc;

	memset(fr, 0, sizeof(*fr));
	memset(dr, 0, sizeof(*dr));
	jsonw_reset(hist);
	fr->feature = mf->name;
	fr->kind = kind;
	fr->n = f->n;
	fr->missing = w->events > valid_or_err ? w->events - valid_or_err : 0;
	fr->type_errors = f->type_errors;
	fr->out_of_range = f->out_of_range;
	fr->new_category = f->new_category;

	dr->feature = mf->name;
	dr->kind = kind;
	dr->n = f->n;
	dr->numeric = kind == 1;
	dr->missing_rate = events > 0 ? (double)fr->missing / events : 0;
	dr->type_error_rate = events > 0 ? (double)f->type_errors / events : 0;
	if (kind == MVP_KIND || kind == WIN_KIND_VECTOR) {
		if (kind == MVP_KIND ? mv_result(w, m, fr, dr) : vector_result(w, m, fi, f, dr))
			return -1;
		/* below the minimum: statistics for the detail view, no verdict */
		if (dr->n < m->min_sample || dr->insufficient) {
			dr->insufficient = true;
			dr->drifted = false;
			dr->severity = NAN;
		}
		return 0;
	}
	if (!ref_ok) {
		dr->insufficient = true;
		if (kind == 2)
			hist_own_cats(f, hist);
		dr->cur_hist = hist->len && !hist->oom ? hist->buf : NULL;
		return hist->oom ? -1 : 0;
	}
	dr->has_ref = true;
	dr->n_ref = mf->ref.n;
	dr->out_of_range_rate = f->n ? (double)f->out_of_range / (double)f->n : 0;
	dr->new_category_rate = f->n ? (double)f->new_category / (double)f->n : 0;
	if (kind == 1) {
		uint64_t counts[SAMPLE_BINS] = {0};
		const double *v = f->res_init ? f->res.values : NULL;
		size_t n = f->res_init ? f->res.len : 0;
		src = wmodel_threshold(m, fi, n, &opts, &cal);
		rc = drift_numeric(&mf->ref, v, n, &opts, &r);
		if (rc)
			return -1;
		if (n)
			sample_bin_counts(mf->ref.edges, v, n, counts);
		jsonw_char(hist, '{');
		json_array_num(hist, "edges", mf->ref.edges, SAMPLE_BINS - 1);
		jsonw_char(hist, ',');
		json_array_u64(hist, "counts", counts, SAMPLE_BINS);
		jsonw_char(hist, '}');
		dr->ks = r.ks;
		dr->ks_p = r.ks_p;
		dr->wasserstein = r.wasserstein;
		if (!r.insufficient &&
		    snprintf(dr->stats, sizeof(dr->stats),
		             "{\"preset\":\"%s\",\"ks_p_method\":\"%s\",\"hellinger\":%.17g,"
		             "\"linf\":%.17g,\"tvd\":%.17g,\"kl\":%.17g,\"energy\":%.17g,"
		             "\"mwu_u\":%.17g,\"mwu_p\":%.17g,\"welch_t\":%.17g,\"welch_p\":%.17g,"
		             "\"ad_stat\":%.17g,\"ad_p\":%.17g,\"cvm_t\":%.17g,\"cvm_p\":%.17g}",
		             drift_preset_name(r.preset), stats_ks_p_method_name(r.ks_p_method),
		             r.hellinger, r.linf, r.tvd, r.kl, r.energy, r.mwu_u, r.mwu_p,
		             r.welch_t, r.welch_p, r.ad_stat, r.ad_p, r.cvm_t,
		             r.cvm_p) >= (int)sizeof(dr->stats))
			dr->stats[0] = '\0'; /* never a truncated object */
		if (dr->stats[0] && (r.method == DRIFT_METHOD_CHI2 || r.method == DRIFT_METHOD_Z)) {
			/* evidently's few-values switch: the categorical tests'
			 * figures too (an infinite chi2 as null) */
			size_t len = strlen(dr->stats) - 1; /* over the closing brace */
			char chi[32];

			if (isfinite(r.chi2))
				snprintf(chi, sizeof(chi), "%.17g", r.chi2);
			else
				snprintf(chi, sizeof(chi), "null");
			if (snprintf(dr->stats + len, sizeof(dr->stats) - len,
			             ",\"chi2\":%s,\"chi2_p\":%.17g,\"chi2_dof\":%d,\"z\":%.17g,"
			             "\"z_p\":%.17g}",
			             chi, r.chi2_p, r.chi2_dof, r.z,
			             r.z_p) >= (int)(sizeof(dr->stats) - len))
				dr->stats[0] = '\0';
		}
	} else {
		uint64_t counts[DRIFT_MAX_CELLS] = {0}, new_counts[DRIFT_NEW_CATS_MAX];
		size_t nc = mf->ref.ncells, n_new = 0;
		for (size_t i = 0; i < f->cats.n; i++) {
			const struct sample_cat *c = &f->cats.cats[i];
			int cell = drift_ref_cell(&mf->ref, c->name, c->name_len);
			size_t at = cell >= 0 && (size_t)cell < nc ? (size_t)cell : nc - 1;

			counts[at] += c->count;
			/* each unseen name on its own (the evidently preset counts
			 * them as Evidently does), up to the cap */
			if (at == nc - 1 && c->count > 0 && n_new < DRIFT_NEW_CATS_MAX)
				new_counts[n_new++] = c->count;
		}
		counts[nc - 1] += f->cats.overflow; /* names past the bound: unknown */
		{
			uint64_t tot = 0;

			for (size_t i = 0; i < nc; i++)
				tot += counts[i];
			src = wmodel_threshold(m, fi, (size_t)tot, &opts, &cal);
		}
		rc = drift_categorical_split(&mf->ref, counts, nc, new_counts, n_new, &opts, &r);
		if (rc)
			return -1;
		jsonw_char(hist, '{');
		json_ref_cells(hist, &mf->ref);
		jsonw_char(hist, ',');
		json_array_u64(hist, "counts", counts, nc);
		jsonw_char(hist, '}');
		dr->chi2 = r.chi2;
		dr->chi2_p = r.chi2_p;
		if (!r.insufficient &&
		    snprintf(dr->stats, sizeof(dr->stats),
		             "{\"preset\":\"%s\",\"chi2_dof\":%d,\"z\":%.17g,\"z_p\":%.17g,"
		             "\"fisher_p\":%.17g,\"hellinger\":%.17g,\"linf\":%.17g,\"tvd\":%.17g,"
		             "\"kl\":%.17g}",
		             drift_preset_name(r.preset), r.chi2_dof, r.z, r.z_p, r.fisher_p,
		             r.hellinger, r.linf, r.tvd, r.kl) >= (int)sizeof(dr->stats))
			dr->stats[0] = '\0'; /* never a truncated object */
	}
	/* one answer to "where did the threshold come from" in threshold_rule
	 * and threshold_source: calibrated (mlwatch preset), configured,
	 * reference_chunks (nannyml preset) or default */
	if (r.threshold_rule == DRIFT_THR_REFERENCE_CHUNKS)
		src = CALIB_SRC_REFERENCE_CHUNKS;
	if (dr->stats[0]) {
		/* where the threshold came from (and a two-sided one's lower
		 * bound): the nannyml preset's come from reference chunks */
		size_t len = strlen(dr->stats) - 1; /* over the closing brace */
		int wr = r.threshold_lower > 0
		             ? snprintf(dr->stats + len, sizeof(dr->stats) - len,
		                        ",\"threshold_rule\":\"%s\",\"threshold_lower\":%.17g}",
		                        calib_source_name(src), r.threshold_lower)
		             : snprintf(dr->stats + len, sizeof(dr->stats) - len,
		                        ",\"threshold_rule\":\"%s\"}", calib_source_name(src));

		if (wr < 0 || wr >= (int)(sizeof(dr->stats) - len))
			dr->stats[0] = '\0';
	}
	{
		/* the effect floor: the configured one, else the method's
		 * default under the mlwatch preset (peer presets keep the peer's
		 * verdicts) */
		double me = mf->min_effect >= 0 ? mf->min_effect
		            : opts.preset == DRIFT_PRESET_MLWATCH
		                ? calib_min_effect_default(r.method)
		                : 0;

		calib_apply_min_effect(&r, me);
		stats_threshold_source(dr->stats, sizeof(dr->stats), src, cal, me,
		                       calib_effect(&r));
	}
	stats_reference_source(dr->stats, sizeof(dr->stats), m);
	dr->psi = r.psi;
	dr->js = r.js;
	dr->method = drift_method_name(r.method);
	dr->score = r.score;
	dr->threshold = r.threshold;
	dr->severity = r.severity;
	dr->drifted = r.drifted;
	dr->insufficient = r.insufficient;
	/* The verdict needs a sample: two events once gave severity 615. Below
	 * the minimum the statistics stay (for the detail view) but there is
	 * no severity (NULL, so no heatmap colour, worst feature or drift()
	 * rule) and no DRIFT. */
	if (f->n < m->min_sample) {
		dr->insufficient = true;
		dr->drifted = false;
		dr->severity = NAN;
	}
	dr->cur_hist = hist->oom ? NULL : hist->buf;
	return hist->oom ? -1 : 0;
}

int wstate_feature_sample(const struct wstate *w, size_t fi, int kind, uint8_t **buf, size_t *cap,
                          size_t *len)
{
	const struct wfeat *f = fi < w->nf ? &w->f[fi] : NULL;
	struct sample_reservoir small = {0};
	const struct sample_reservoir *res;
	bool cats = kind == 2;
	size_t need;
	int rc = -1;

	*len = 0;
	if (!f || (cats ? f->cats.total == 0 : !f->res_init || f->res.len == 0))
		return 0;
	res = &f->res;
	if (!cats && f->res.len > WINDOW_SAMPLE_KEEP) {
		/* a uniform subsample of the window's uniform sample: what the
		 * hourly rollup merges, at a few KiB a feature and minute */
		sample_reservoir_init(&small, WINDOW_SAMPLE_KEEP,
		                      (uint64_t)w->start * 2654435761u + fi);
		if (sample_reservoir_merge(&small, &f->res) != 0)
			goto out;
		res = &small;
	}
	need = cats ? sample_cats_encoded_size(&f->cats) : sample_reservoir_encoded_size(res);
	if (need > *cap) {
		uint8_t *p = realloc(*buf, need);
		if (!p)
			goto out;
		*buf = p;
		*cap = need;
	}
	if (cats)
		rc = sample_cats_encode(&f->cats, *buf, *cap, len) == 0 ? 0 : -1;
	else
		rc = sample_reservoir_encode(res, *buf, *cap, len) == 0 ? 0 : -1;
out:
	sample_reservoir_fini(&small);
	return rc;
}
