/* analyze: see analyze.h.
 *
 * One pass: (1) learn new models and reload those whose reference or
 * calibration changed; (2) fold the events stored since the last pass
 * (events.id is increasing: one writer, rowids grow) into the cached state
 * of their window; a window not in the cache is rebuilt from its stored
 * events first, so a late event into an old window sees all of it;
 * (3) recompute every dirty window and write its results in one short
 * transaction. The window row stays dirty unless its counters are still
 * those the results were computed from (new data arrived meanwhile) and
 * the window has closed: so the open window is recomputed every pass
 * (provisional) and a closed one is final until a late event reopens it.
 *
 * Thread: the analysis thread owns its connection, its model contexts and
 * window states; the latest per-model results for /metrics are shared under
 * `mu`. */
#include "analyze.h"

#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "collector.h"

#include "ddsketch.h"
#include "fairness.h"
#include "featcodec.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "quality.h"
#include "reference.h"
#include "season.h"
#include "segments.h"
#include "store.h"
#include "store_fairness.h"
#include "store_ingest.h"
#include "store_refcal.h"
#include "windows.h"

/* A window closes this long after its end: agents batch for up to a few
 * hundred milliseconds, and later events simply reopen it. */
#define GRACE_S 2.0
/* Window states kept in memory (the open windows plus recent ones): this
 * many, plus two per model so every model's open window stays cached. */
#define MAX_STATES 256
/* Dirty windows handled per pass (the rest next pass). */
#define MAX_DIRTY 512

struct latest_feature {
	char *name;
	double severity; /* NAN when not computed */
};

/* The newest window's fairness of one attribute, for /metrics. */
struct latest_fair {
	struct fairness_attr attr; /* the groups' counts */
	struct fairness_gaps gaps;
};

/* One segment (segment_by) of the newest window, for /metrics. */
struct latest_seg {
	char *label; /* "KEY=VALUE" */
	double events;
	struct latest_feature *f;
	size_t nf;
};

struct latest {
	char *model;
	struct latest_seg *seg; /* bounded by segment_top_k + 1 ("other") */
	size_t nseg;
	int64_t fair_start;
	struct latest_fair *fair;
	size_t nfair;
	int64_t start;
	double accuracy, est_accuracy, label_coverage, macro_f1, mae, rmse;
	struct latest_feature *f;
	size_t nf;
};

struct analyze {
	struct collector *c;
	struct store st;
	struct store_ingest *si;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* stop flag and `latest` */
	pthread_cond_t cv;
	bool stop;
	int64_t window_s;
	double interval_s;
	int64_t tail_id;
	struct wmodel **models;
	size_t nmodels, cap_models;
	struct wstate **states;
	size_t nstates, cap_states;
	struct jsonw hist, json;
	struct latest *latest;
	size_t nlatest;
	bool metrics_on;
	struct segments *segs; /* per-segment analysis (segment_by models) */
	uint64_t passes, windows_done, pass_errors;
	double last_pass_s;
};

/* ---- models --------------------------------------------------------------------- */

static struct wmodel *model_by_id(struct analyze *a, int64_t id)
{
	for (size_t i = 0; i < a->nmodels; i++)
		if (a->models[i]->id == id)
			return a->models[i];
	return NULL;
}

static void kind_cb(const char *name, int kind, const char *source, void *arg)
{
	wmodel_set_kind(arg, name, kind, source && strcmp(source, "reference") == 0);
}

static void ref_cb(const char *feature, int kind, uint64_t n, const uint8_t *profile, size_t len,
                   const char *hist, void *arg)
{
	struct wmodel *m = arg;
	char q[200];
	if (wmodel_set_reference(m, feature, kind, profile, len) != 0)
		log_warn("analyze", "unreadable reference profile ignored model=%s feature=%s",
		         m->name, log_quote(q, sizeof(q), feature));
}

static void drop_states(struct analyze *a, int64_t model_id)
{
	size_t k = 0;
	for (size_t i = 0; i < a->nstates; i++) {
		if (a->states[i]->model_id == model_id)
			wstate_free(a->states[i]);
		else
			a->states[k++] = a->states[i];
	}
	a->nstates = k;
}

struct seed_ctx {
	struct wmodel *m;
	unsigned taken, seen;
};

static int seed_cb(const char *feature, const struct calib_result *c, void *arg)
{
	struct seed_ctx *sc = arg;

	sc->seen++;
	sc->taken += (unsigned)wmodel_seed_calibration(sc->m, feature, c);
	return 0;
}

/* (Re)loads kinds, references and calibration of m, the drift thresholds
 * calibrated from the reference earlier (so a restart does not calibrate
 * again) and what a calendar reference was built from. */
static int load_references(struct analyze *a, struct wmodel *m, double version)
{
	struct seed_ctx sc = {m, 0, 0};
	struct store_refsrc src;
	/* holds the missing list too: up to 366 parts (one analysis thread) */
	static char buf[32768];
	uint8_t *cal = NULL;
	size_t len = 0;
	int rc;

	wmodel_reset_references(m);
	m->season_slot = INT64_MIN;
	if (store_ingest_features(a->si, m->id, kind_cb, m) ||
	    store_ingest_references(a->si, m->id, ref_cb, m))
		return -1;
	rc = store_ingest_calibration_get(a->si, m->id, &cal, &len, NULL, NULL);
	if (rc < 0)
		return -1;
	if (rc == 0 && wmodel_set_calibration(m, cal, len) != 0)
		log_warn("analyze", "unreadable calibration ignored model=%s", m->name);
	free(cal);
	if (m->ref_mode != REF_MODE_HOUR_OF_WEEK) {
		if (store_refcal_each(&a->st, m->id, seed_cb, &sc) < 0)
			return -1;
		if (sc.seen)
			log_info("analyze",
			         "stored drift thresholds loaded model=%s used=%u stored=%u (the "
			         "others are for another method, rate or reference)",
			         m->name, sc.taken, sc.seen);
	}
	/* the parts of the history a calendar reference was built from (the
	 * missing ones are reported with every drift row) */
	m->ref_parts = m->ref_missing = 0;
	if (m->ref_mode != REF_MODE_STATIC &&
	    store_refsrc_get(&a->st, m->id, &src, buf, sizeof(buf)) == 0) {
		m->ref_parts = src.parts;
		m->ref_missing = src.missing_parts;
	}
	m->ref_version = version;
	drop_states(a, m->id);
	return 0;
}

/* ---- calendar references (season.h) ----------------------------------------- */

/* Records what a calendar reference was built from, and says so in the log
 * when a part of the history is missing (never filled in). */
static void season_report(struct analyze *a, struct wmodel *m, const struct season_part *parts,
                          size_t n, double slot, double now)
{
	struct store_refsrc src = {
	    .mode = config_reference_mode_name(m->ref_mode),
	    .span = m->ref_span,
	    .built = now,
	    .slot = slot,
	    .parts = (uint32_t)n,
	};
	char t[40];

	for (size_t i = 0; i < n; i++)
		src.rows += parts[i].rows;
	src.missing_parts = season_missing_json(parts, n, &a->json);
	src.missing = src.missing_parts && !a->json.oom ? a->json.buf : NULL;
	m->ref_parts = src.parts;
	m->ref_missing = src.missing_parts;
	if (src.missing_parts &&
	    (m->ref_mode == REF_MODE_ROLLING || clock_mono() >= m->season_warn_next)) {
		/* same-hour-of-week builds once per hour of data: at most one
		 * warning a minute (a backfill of weeks would flood the log) */
		log_warn("analyze",
		         "reference history missing model=%s reference=%s slot=%s parts=%zu "
		         "missing=%u rows=%llu missing_ranges=%s (not filled in: the reference "
		         "is what the other parts hold)",
		         m->name, src.mode,
		         slot > 0 ? clock_format_rfc3339(slot, t, sizeof(t)) : "-", n,
		         src.missing_parts, (unsigned long long)src.rows,
		         src.missing ? src.missing : "[]");
		m->season_warn_next = clock_mono() + 60;
	}
	if (store_refsrc_put(&a->st, m->id, &src))
		log_warn("analyze", "cannot record the reference source model=%s error=\"%s\"",
		         m->name, store_errmsg(&a->st));
}

/* A rolling reference older than its refresh interval (or none) is
 * rebuilt from the stored events of its span and stored as the model's
 * reference; refresh_models then loads it (with a new calibration). */
static void rolling_refresh(struct analyze *a, struct wmodel *m, double now)
{
	struct season_part parts[SEASON_PARTS_MAX];
	struct ref_result r;
	double v = 0;
	char err[512];
	int n, rc;

	if (now < m->season_next)
		return;
	if (store_ingest_reference_version(a->si, m->id, &v))
		return;
	if (v > 0 && now - v < (double)season_refresh_s(m->ref_span)) {
		m->season_next = v + (double)season_refresh_s(m->ref_span);
		return;
	}
	/* failures are retried in an hour, not every pass */
	m->season_next = now + 3600;
	n = season_parts(REF_MODE_ROLLING, m->ref_span, now, a->window_s, parts, SEASON_PARTS_MAX);
	if (n < 0)
		return;
	rc = season_build(&a->st, m->name, config_model(a->c->cfg, m->name), parts, (size_t)n, &r,
	                  err, sizeof(err));
	if (rc < 0) {
		log_warn("analyze", "rolling reference not rebuilt model=%s error=\"%s\"", m->name,
		         err);
		return;
	}
	season_report(a, m, parts, (size_t)n, 0, now);
	if (rc > 0) {
		log_warn("analyze",
		         "rolling reference not rebuilt model=%s: no stored events in the last "
		         "%llds (retention_raw must cover it); the previous reference is kept",
		         m->name, (long long)m->ref_span);
		return;
	}
	/* the open window and the last closed one are recomputed with it */
	if (reference_store(&a->st, m->name, &r, now, (int64_t)floor(now) - 2 * a->window_s, err,
	                    sizeof(err)))
		log_warn("analyze", "rolling reference not stored model=%s error=\"%s\"", m->name,
		         err);
	else
		log_info("analyze",
		         "rolling reference rebuilt model=%s rows=%llu features=%zu "
		         "parts=%d missing=%u",
		         m->name, (unsigned long long)r.rows, r.n, n, m->ref_missing);
	ref_result_free(&r);
}

/* Installs the same-hour-of-week reference of the window starting at
 * start (built from the stored events of that hour in the weeks before),
 * unless it is installed already. The model's cached window states are
 * dropped with the old one (they counted out-of-range values against it). */
static void season_install(struct analyze *a, struct wmodel *m, int64_t start, double now)
{
	struct season_part parts[SEASON_PARTS_MAX];
	int64_t slot = season_slot(start, a->window_s);
	struct ref_result r;
	char err[512], q[200];
	int n, rc;

	if (m->season_slot == slot)
		return;
	n = season_parts(REF_MODE_HOUR_OF_WEEK, m->ref_span, (double)slot, a->window_s, parts,
	                 SEASON_PARTS_MAX);
	if (n < 0)
		return;
	rc = season_build(&a->st, m->name, config_model(a->c->cfg, m->name), parts, (size_t)n, &r,
	                  err, sizeof(err));
	if (rc < 0) {
		log_warn("analyze", "same-hour-of-week reference not built model=%s error=\"%s\"",
		         m->name, err);
		return; /* retried with the next window */
	}
	wmodel_drop_profiles(m);
	drop_states(a, m->id);
	m->season_slot = slot;
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		if (wmodel_set_reference(m, r.p[i].feature, r.p[i].kind, r.p[i].blob, r.p[i].len))
			log_warn("analyze",
			         "unreadable reference profile ignored model=%s feature=%s",
			         m->name, log_quote(q, sizeof(q), r.p[i].feature));
	season_report(a, m, parts, (size_t)n, (double)slot, now);
	if (rc == 0)
		ref_result_free(&r);
}

/* Stores the thresholds calibrated while computing a window with the
 * reference they came from, and logs them; same-hour-of-week references
 * change every hour and keep theirs in memory only. Outside the window's
 * transaction: a failure is logged and retried with the next window, it
 * does not hold the window's results back. */
static void store_fresh_calibrations(struct analyze *a, struct wmodel *m, double now)
{
	bool keep = m->ref_mode != REF_MODE_HOUR_OF_WEEK;
	char q[200];

	for (size_t i = 0; i < m->nf; i++) {
		struct calib_cache *cc = &m->f[i].cal;

		for (int k = 0; k < CALIB_CLASSES; k++) {
			if (!cc->fresh[k])
				continue;
			if (keep &&
			    store_refcal_put(&a->st, m->id, m->f[i].name, &cc->cls[k], now)) {
				log_warn("analyze",
				         "cannot store a calibrated drift threshold model=%s "
				         "error=\"%s\" (retried)",
				         m->name, store_errmsg(&a->st));
				return;
			}
			cc->fresh[k] = false;
			log_msg(keep ? LOG_INFO : LOG_DEBUG, "analyze",
			        "drift threshold calibrated model=%s feature=%s method=%s n=%zu "
			        "rate=%g "
			        "stat=%.6g observed=%.4f",
			        m->name, log_quote(q, sizeof(q), m->f[i].name),
			        drift_method_name(cc->cls[k].method), cc->cls[k].n, cc->rate,
			        cc->cls[k].stat, cc->cls[k].observed);
		}
	}
}

struct models_ctx {
	struct analyze *a;
	int err;
};

static void model_cb(int64_t id, const char *name, const char *task, void *arg)
{
	struct models_ctx *mc = arg;
	struct analyze *a = mc->a;
	struct wmodel *m;

	if (model_by_id(a, id))
		return;
	m = wmodel_new(id, name, config_model(a->c->cfg, name));
	if (!m) {
		mc->err = -1;
		return;
	}
	m->min_sample = (uint64_t)a->c->cfg->collector.drift_min_sample;
	if (!m->task_fixed && task) {
		m->task = strcmp(task, "classification") == 0 ? TASK_CLASSIFICATION
		          : strcmp(task, "regression") == 0   ? TASK_REGRESSION
		                                              : TASK_UNKNOWN;
	}
	m->task_persisted = m->task != TASK_UNKNOWN;
	if (a->nmodels == a->cap_models) {
		size_t ncap = a->cap_models ? a->cap_models * 2 : 8;
		struct wmodel **nm = realloc(a->models, ncap * sizeof(*nm));
		if (!nm) {
			wmodel_free(m);
			mc->err = -1;
			return;
		}
		a->models = nm;
		a->cap_models = ncap;
	}
	a->models[a->nmodels++] = m;
	m->ref_version = -1; /* loaded by refresh_models */
}

static int refresh_models(struct analyze *a)
{
	struct models_ctx mc = {a, 0};

	if (store_ingest_models(a->si, model_cb, &mc) || mc.err)
		return -1;
	for (size_t i = 0; i < a->nmodels; i++) {
		double v = 0;
		if (store_ingest_reference_version(a->si, a->models[i]->id, &v))
			return -1;
		if (v != a->models[i]->ref_version && load_references(a, a->models[i], v))
			return -1;
	}
	return 0;
}

/* ---- window states ---------------------------------------------------------------- */

struct fold_ctx {
	struct analyze *a;
	struct wstate *w;
	struct wmodel *m;
	bool changed;
	int err;
};

static int rebuild_cb(const struct store_raw_event *e, void *arg)
{
	struct fold_ctx *f = arg;
	if (wstate_fold(f->w, f->m, e, &f->changed))
		f->err = -1;
	return 0;
}

/* The state of (model, start): cached, or rebuilt from every stored event
 * of the window with id <= upto. */
static struct wstate *state_get(struct analyze *a, struct wmodel *m, int64_t start, int64_t upto,
                                bool *changed)
{
	struct fold_ctx f = {a, NULL, m, false, 0};

	for (size_t i = 0; i < a->nstates; i++)
		if (a->states[i]->model_id == m->id && a->states[i]->start == start) {
			a->states[i]->used = clock_mono();
			return a->states[i];
		}
	if (a->nstates == a->cap_states && a->cap_states < MAX_STATES + 2 * a->nmodels) {
		size_t ncap = MAX_STATES + 2 * a->nmodels;
		struct wstate **ns = realloc(a->states, ncap * sizeof(*ns));
		if (ns) {
			a->states = ns;
			a->cap_states = ncap;
		}
	}
	if (a->nstates == a->cap_states) {
		/* Evict the least recently used; it is rebuilt if needed. */
		size_t lru = 0;
		for (size_t i = 1; i < a->nstates; i++)
			if (a->states[i]->used < a->states[lru]->used)
				lru = i;
		wstate_free(a->states[lru]);
		a->states[lru] = a->states[--a->nstates];
	}
	f.w = wstate_new(m->id, start);
	if (!f.w)
		return NULL;
	if (store_ingest_window_events(a->si, m->id, start, upto, rebuild_cb, &f) < 0 || f.err) {
		wstate_free(f.w);
		return NULL;
	}
	f.w->upto_id = upto;
	f.w->used = clock_mono();
	*changed |= f.changed;
	a->states[a->nstates++] = f.w;
	return f.w;
}

struct tail_ctx {
	struct analyze *a;
	int64_t hi;
	bool changed;
	int err;
};

static int tail_cb(const struct store_raw_event *e, void *arg)
{
	struct tail_ctx *t = arg;
	struct analyze *a = t->a;
	struct wmodel *m = model_by_id(a, e->model_id);
	struct wstate *w;

	if (!m) {
		if (refresh_models(a) || !(m = model_by_id(a, e->model_id))) {
			t->err = -1;
			return 0;
		}
	}
	/* A window not in the cache is rebuilt from the events the tail
	 * walked past before (id <= tail_id); the rest arrive through this
	 * walk, in the same id order. Rebuilding up to hi would read every
	 * new event twice, the window's and the tail's. */
	w = state_get(a, m, e->window_start, a->tail_id, &t->changed);
	if (!w) {
		t->err = -1;
		return 0;
	}
	if (e->id <= w->upto_id)
		return 0; /* included by the rebuild */
	if (wstate_fold(w, m, e, &t->changed))
		t->err = -1;
	return 0;
}

/* ---- results -------------------------------------------------------------------------- */

/* Results of a window's vector features, computed before the write
 * transaction: the embedding methods take up to a second (issue 19 bench)
 * and ingest must not wait for them. fr, dr are indexed like m->f. */
struct vec_rows {
	struct store_feature_row *fr;
	struct store_drift_row *dr;
};

static int vector_results(struct analyze *a, struct wmodel *m, const struct wstate *st,
                          struct vec_rows *vr)
{
	bool any = false;

	for (size_t i = 0; i < m->nf && !any; i++)
		any = m->f[i].kind == WIN_KIND_VECTOR || m->f[i].kind == MVP_KIND;
	if (!any)
		return 0;
	vr->fr = calloc(m->nf, sizeof(*vr->fr));
	vr->dr = calloc(m->nf, sizeof(*vr->dr));
	if (!vr->fr || !vr->dr)
		return -1;
	for (size_t i = 0; i < m->nf; i++)
		if ((m->f[i].kind == WIN_KIND_VECTOR || m->f[i].kind == MVP_KIND) &&
		    wstate_feature_result(st, m, i, &vr->fr[i], &vr->dr[i], &a->hist))
			return -1;
	return 0;
}

struct acc_ctx {
	struct wmodel *m;
	struct quality_cls cls;
	struct quality_reg reg;
	uint8_t *errs; /* 0 correct / 1 wrong, in id order, for the detectors */
	size_t nerrs, caperrs;
	int err;
};

static int acc_cb(const struct store_raw_event *e, void *arg)
{
	struct acc_ctx *c = arg;
	int wrong = win_score_label(c->m->task, &e->prediction, &e->label, &c->cls, &c->reg);

	if (wrong >= 0) {
		if (c->nerrs == c->caperrs) {
			size_t ncap = c->caperrs ? c->caperrs * 2 : 256;
			uint8_t *ne = realloc(c->errs, ncap);
			if (!ne) {
				c->err = -1;
				return 0;
			}
			c->errs = ne;
			c->caperrs = ncap;
		}
		c->errs[c->nerrs++] = (uint8_t)wrong;
	}
	return 0;
}

static void per_class_json(const struct quality_cls *q, struct jsonw *j)
{
	jsonw_reset(j);
	jsonw_char(j, '{');
	for (size_t i = 0; i < q->n; i++) {
		if (i)
			jsonw_char(j, ',');
		jsonw_str(j, q->classes[i].name, strlen(q->classes[i].name));
		jsonw_raw(j, ":{\"precision\":", 14);
		jsonw_num(j, quality_cls_precision(q, i));
		jsonw_raw(j, ",\"recall\":", 10);
		jsonw_num(j, quality_cls_recall(q, i));
		jsonw_raw(j, ",\"f1\":", 6);
		jsonw_num(j, quality_cls_f1(q, i));
		jsonw_raw(j, ",\"support\":", 11);
		jsonw_num(j, (double)(q->classes[i].tp + q->classes[i].fn));
		jsonw_char(j, '}');
	}
	jsonw_char(j, '}');
}

/* Feeds a closed window's labelled outcomes to the model's detectors and
 * records an event for each alarm. Inside the results transaction. */
static int concept(struct analyze *a, struct wmodel *m, const struct store_window *w,
                   const struct acc_ctx *c, double now)
{
	struct quality_ph ph;
	struct quality_adwin ad;
	uint8_t *buf = NULL, enc[QUALITY_ADWIN_ENCODED_MAX];
	size_t len = 0;
	int rc;
	uint64_t ph_alarms = 0, ad_alarms = 0;
	double before = 0;

	if (!c->nerrs)
		return 0;
	/* A missing or unreadable state starts the detector afresh. */
	rc = store_ingest_concept_get(a->si, m->id, "page_hinkley", &buf, &len);
	if (rc < 0)
		return -1;
	if (rc != 0 || quality_ph_decode(&ph, buf, len) != 0)
		quality_ph_init(&ph);
	free(buf);
	buf = NULL;
	rc = store_ingest_concept_get(a->si, m->id, "adwin", &buf, &len);
	if (rc < 0)
		return -1;
	if (rc != 0 || quality_adwin_decode(&ad, buf, len) != 0)
		quality_adwin_init(&ad);
	free(buf);
	for (size_t i = 0; i < c->nerrs; i++) {
		if (quality_ph_add(&ph, c->errs[i]) == 1)
			ph_alarms++;
		before = quality_adwin_mean(&ad);
		if (quality_adwin_add(&ad, c->errs[i]) == 1 && quality_adwin_mean(&ad) > before)
			ad_alarms++; /* only a rising error rate is a problem */
	}
	/* Only the configured detectors speak. Page-Hinkley with the
	 * contract's parameters raises false alarms on a steady error rate
	 * above 5-10%, so ADWIN alone is the default. */
	if (!m->report_ph)
		ph_alarms = 0;
	if (!m->report_adwin)
		ad_alarms = 0;
	double rate = 0;
	for (size_t i = 0; i < c->nerrs; i++)
		rate += c->errs[i];
	rate /= (double)c->nerrs;
	if (ph_alarms || ad_alarms) {
		char detail[160];
		snprintf(detail, sizeof(detail), "{\"error_rate\":%.6g,\"labelled\":%zu}", rate,
		         c->nerrs);
		if (ph_alarms &&
		    store_ingest_concept_event(a->si, m->id, now, w->start, "page_hinkley", detail))
			return -1;
		if (ad_alarms &&
		    store_ingest_concept_event(a->si, m->id, now, w->start, "adwin", detail))
			return -1;
		log_info("analyze",
		         "concept drift model=%s window=%lld detector=%s error_rate=%.3f", m->name,
		         (long long)w->start, ph_alarms ? "page_hinkley" : "adwin", rate);
	}
	if (quality_ph_encode(&ph, enc, sizeof(enc), &len) != 0 ||
	    store_ingest_concept_put(a->si, m->id, "page_hinkley", enc, len, now))
		return -1;
	if (quality_adwin_encode(&ad, enc, sizeof(enc), &len) != 0 ||
	    store_ingest_concept_put(a->si, m->id, "adwin", enc, len, now))
		return -1;
	return 0;
}

static void latest_update(struct analyze *a, struct wmodel *m, int64_t start,
                          const struct store_accuracy_row *acc, const double *sev, size_t nsev)
{
	struct latest *l = NULL;

	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->nlatest; i++)
		if (strcmp(a->latest[i].model, m->name) == 0)
			l = &a->latest[i];
	if (!l) {
		struct latest *nl = realloc(a->latest, (a->nlatest + 1) * sizeof(*nl));
		if (!nl)
			goto out;
		a->latest = nl;
		l = &a->latest[a->nlatest];
		memset(l, 0, sizeof(*l));
		l->model = strdup(m->name);
		if (!l->model)
			goto out;
		l->start = INT64_MIN;
		l->fair_start = INT64_MIN;
		a->nlatest++;
	}
	if (start < l->start)
		goto out; /* an older window recomputed: not the newest */
	l->start = start;
	l->accuracy = acc->has_accuracy ? acc->accuracy : NAN;
	l->macro_f1 = acc->has_macro_f1 ? acc->macro_f1 : NAN;
	l->mae = acc->has_mae ? acc->mae : NAN;
	l->rmse = acc->has_rmse ? acc->rmse : NAN;
	l->est_accuracy = acc->has_est ? acc->est : NAN;
	l->label_coverage = acc->label_coverage;
	for (size_t i = 0; i < nsev && i < m->nf; i++) {
		size_t k;
		for (k = 0; k < l->nf; k++)
			if (strcmp(l->f[k].name, m->f[i].name) == 0)
				break;
		if (k == l->nf) {
			if (isnan(sev[i]))
				continue;
			struct latest_feature *nf = realloc(l->f, (l->nf + 1) * sizeof(*nf));
			if (!nf)
				break;
			l->f = nf;
			l->f[k].name = strdup(m->f[i].name);
			if (!l->f[k].name)
				break;
			l->nf++;
		}
		l->f[k].severity = sev[i];
	}
out:
	pthread_mutex_unlock(&a->mu);
}

static void seg_list_free(struct latest_seg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].nf; k++)
			free(v[i].f[k].name);
		free(v[i].f);
		free(v[i].label);
	}
	free(v);
}

static void latest_seg_free(struct latest *l)
{
	seg_list_free(l->seg, l->nseg);
	l->seg = NULL;
	l->nseg = 0;
}

struct seg_build {
	struct latest_seg *v;
	size_t n, cap;
	bool oom;
};

static void seg_build_one(void *arg, const char *key, const char *segment, uint64_t events,
                          const struct store_drift_row *dr, size_t ndr)
{
	struct seg_build *b = arg;
	struct latest_seg *ls;

	if (b->oom)
		return;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 8;
		struct latest_seg *nv = realloc(b->v, ncap * sizeof(*nv));
		if (!nv) {
			b->oom = true;
			return;
		}
		b->v = nv;
		b->cap = ncap;
	}
	ls = &b->v[b->n];
	memset(ls, 0, sizeof(*ls));
	ls->events = (double)events;
	if (asprintf(&ls->label, "%s=%s", key, segment) < 0) {
		ls->label = NULL; /* undefined after a failure */
		b->oom = true;
		return;
	}
	if (ndr && !(ls->f = calloc(ndr, sizeof(*ls->f)))) {
		free(ls->label);
		b->oom = true;
		return;
	}
	b->n++;
	for (size_t i = 0; i < ndr; i++) {
		if (dr[i].insufficient || isnan(dr[i].severity) || !dr[i].feature)
			continue;
		if (!(ls->f[ls->nf].name = strdup(dr[i].feature))) {
			b->oom = true;
			return;
		}
		ls->f[ls->nf++].severity = dr[i].severity;
	}
}

/* The segments of m's newest window (the one latest_update took), for
 * /metrics. seg NULL (not computed this time) keeps what was there. */
static void latest_seg_update(struct analyze *a, struct wmodel *m, int64_t start,
                              const struct seg_out *seg)
{
	struct seg_build b = {0};
	struct latest *l = NULL;

	if (!seg)
		return;
	segments_each(seg, seg_build_one, &b);
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->nlatest; i++)
		if (strcmp(a->latest[i].model, m->name) == 0)
			l = &a->latest[i];
	if (l && l->start == start) {
		latest_seg_free(l);
		l->seg = b.v;
		l->nseg = b.n;
		b.v = NULL;
		b.n = 0;
	}
	pthread_mutex_unlock(&a->mu);
	if (b.oom)
		log_warn("analyze", "out of memory for the segment gauges model=%s", m->name);
	seg_list_free(b.v, b.n); /* not taken: not the newest window */
}

/* ---- fairness ------------------------------------------------------------------------ */

struct fair_ctx {
	struct fairness_attr *attrs;
	size_t n;
	const char *positive;
	int err;
};

static int fair_attr_cb(const char *name, void *arg)
{
	struct fair_ctx *f = arg;
	struct fairness_attr *na;

	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->attrs[i].name, name) == 0)
			return 0; /* named twice */
	if (f->n >= FAIRNESS_GROUPS_MAX)
		return 0; /* bounded: the config cannot make the pass unbounded */
	na = realloc(f->attrs, (f->n + 1) * sizeof(*na));
	if (!na)
		return -1;
	f->attrs = na;
	fairness_attr_init(&f->attrs[f->n++], name);
	return 0;
}

/* The group of an event: the attribute's value in the features blob as a
 * class name (a string as is, a number in its shortest exact form; a
 * boolean is stored as the string true/false), copied into buf; NULL when
 * missing or of another type. */
static const char *fair_group(const struct store_raw_event *e, const char *name, char *buf,
                              size_t cap)
{
	struct featcodec_it it;

	if (!e->features || featcodec_begin(&it, e->features, e->features_len, NULL))
		return NULL;
	while (featcodec_next(&it, NULL) == 1) {
		if (strcmp(it.name, name) != 0)
			continue;
		if (it.kind == FEATURE_CATEGORICAL && it.str_len < cap) {
			memcpy(buf, it.str, it.str_len + 1);
			return buf;
		}
		if (it.kind == FEATURE_NUMERIC) {
			jsonw_format_double(buf, cap, it.num);
			return buf;
		}
		return NULL;
	}
	return NULL;
}

static int fair_event_cb(const struct store_raw_event *e, void *arg)
{
	struct fair_ctx *f = arg;

	/* an event whose stored features are unreadable has none: nothing
	 * to count, as for an event without features */
	if (!e->features || e->prediction.kind == VALUE_NONE)
		return 0;
	for (size_t i = 0; i < f->n; i++) {
		char buf[FEATCODEC_STR_MAX + 1];
		if (fairness_add(&f->attrs[i], fair_group(e, f->attrs[i].name, buf, sizeof(buf)),
		                 &e->prediction, &e->label, f->positive)) {
			f->err = -1;
			break;
		}
	}
	return f->err;
}

static void fair_free(struct fair_ctx *f)
{
	for (size_t i = 0; i < f->n; i++)
		fairness_attr_fini(&f->attrs[i]);
	free(f->attrs);
	f->attrs = NULL;
	f->n = 0;
}

/* Counts the window's events (id <= hi) per group of each attribute of the
 * model's `fairness_by`, from the stored rows with their joined labels.
 * Nothing for a model without fairness_by. Returns 0, -1 on error. */
static int fair_count(struct analyze *a, struct wmodel *m, int64_t start, int64_t hi,
                      struct fair_ctx *f)
{
	const struct model_config *mc = config_model(a->c->cfg, m->name);

	memset(f, 0, sizeof(*f));
	if (!mc || !mc->fairness_by || m->task == TASK_REGRESSION)
		return 0;
	f->positive = mc->positive_label;
	if (fairness_each_attr(mc->fairness_by, fair_attr_cb, f))
		return -1;
	if (store_ingest_window_events(a->si, m->id, start, hi, fair_event_cb, f) < 0 || f->err)
		return -1;
	return 0;
}

static void latest_fair_update(struct analyze *a, struct wmodel *m, int64_t start,
                               const struct fair_ctx *f)
{
	struct latest *l = NULL;
	uint64_t min = (uint64_t)a->c->cfg->collector.fairness_min_sample;

	if (!f->n)
		return;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->nlatest; i++)
		if (strcmp(a->latest[i].model, m->name) == 0)
			l = &a->latest[i];
	if (!l || start < l->fair_start)
		goto out; /* made by latest_update; an older window is not the newest */
	for (size_t i = 0; i < l->nfair; i++)
		fairness_attr_fini(&l->fair[i].attr);
	free(l->fair);
	l->nfair = 0;
	l->fair = calloc(f->n, sizeof(*l->fair));
	if (!l->fair)
		goto out;
	l->fair_start = start;
	for (size_t i = 0; i < f->n; i++) {
		struct latest_fair *lf = &l->fair[l->nfair];
		fairness_attr_init(&lf->attr, f->attrs[i].name);
		for (size_t k = 0; k < f->attrs[i].n; k++)
			if (fairness_add_counts(&lf->attr, &f->attrs[i].g[k]))
				break;
		fairness_gaps(lf->attr.g, lf->attr.n, min, &lf->gaps);
		l->nfair++;
	}
out:
	pthread_mutex_unlock(&a->mu);
}

/* Computes and writes one dirty window. Returns 0, -1 on error. */
static int analyze_window(struct analyze *a, const struct store_window *w, int64_t hi, double now)
{
	struct wmodel *m = model_by_id(a, w->model_id);
	struct store_window_result res = {0};
	struct store_accuracy_row acc = {0};
	struct acc_ctx c = {0};
	struct fair_ctx fair = {0};
	const struct seg_out *seg = NULL;
	struct ddsketch *sk = NULL;
	struct wstate *st;
	bool changed = false, final = now >= (double)w->end + GRACE_S;
	double *sev = NULL;
	uint8_t *sbuf = NULL;
	size_t scap = 0;
	struct vec_rows vr = {0};
	int rc = -1;

	if (!m && (refresh_models(a) || !(m = model_by_id(a, w->model_id))))
		return -1;
	if (m->ref_mode == REF_MODE_HOUR_OF_WEEK)
		season_install(a, m, w->start, now);
	st = state_get(a, m, w->start, hi, &changed);
	if (!st)
		return -1;
	/* An open window that has not changed since it was last computed
	 * (same counters, same events, same reference) is left as it is. */
	if (!final && st->computed && st->sig_count == w->count && st->sig_errors == w->errors &&
	    st->sig_sampled == w->sampled && st->sig_labelled == w->labelled &&
	    st->sig_upto == st->upto_id && st->sig_ref == m->ref_version && !changed)
		return 0;

	res.model_id = w->model_id;
	res.start = w->start;
	res.count = w->count;
	res.errors = w->errors;
	res.sampled = w->sampled;
	res.labelled = w->labelled;
	res.final = final;
	res.analyzed = now;
	if (w->sketch && ddsketch_decode(w->sketch, w->sketch_len, &sk) == 0 &&
	    ddsketch_count(sk) > 0) {
		static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
		double v[5];
		if (ddsketch_quantiles(sk, qs, 5, v) == 0) {
			res.has_latency = true;
			res.p50 = v[0];
			res.p90 = v[1];
			res.p95 = v[2];
			res.p99 = v[3];
			res.p999 = v[4];
			res.max = ddsketch_max(sk);
			res.mean = ddsketch_mean(sk);
		}
	}

	c.m = m;
	quality_cls_init(&c.cls);
	/* When every label of the window came with its event, the state
	 * already holds the accuracy; otherwise (late labels joined since, or
	 * the detectors need the outcomes in order) the labelled events are
	 * read back. */
	if (w->labelled > 0 && (w->labelled != st->labelled_fold || (final && w->provisional))) {
		if (store_ingest_window_labelled(a->si, m->id, w->start, acc_cb, &c) < 0 || c.err)
			goto out;
	} else if (w->labelled > 0) {
		if (quality_cls_merge(&c.cls, &st->cls) != 0)
			goto out;
		quality_reg_merge(&c.reg, &st->reg);
	}
	acc.labelled = c.cls.total + c.reg.n;
	acc.label_coverage = quality_label_coverage(acc.labelled, st->events);
	if (c.cls.total) {
		acc.has_accuracy = acc.has_macro_f1 = true;
		acc.accuracy = quality_cls_accuracy(&c.cls);
		acc.macro_f1 = quality_cls_macro_f1(&c.cls);
		per_class_json(&c.cls, &a->json);
		acc.per_class = a->json.oom ? NULL : a->json.buf;
	}
	if (c.reg.n) {
		acc.has_mae = acc.has_rmse = true;
		acc.mae = quality_reg_mae(&c.reg);
		acc.rmse = quality_reg_rmse(&c.reg);
	}
	if (m->task == TASK_CLASSIFICATION &&
	    quality_est_result(&st->est, &acc.est, &acc.est_low, &acc.est_high) == 0)
		acc.has_est = true;

	if (fair_count(a, m, w->start, hi, &fair))
		goto out;
	/* Segments must not hold the window's own results back: on failure
	 * (logged) their rows are left as they were and retried next time. */
	if (segments_compute(a->segs, &a->st, a->si, m, config_model(a->c->cfg, m->name), w->start,
	                     hi, w->labelled, m->min_sample, &a->hist, &seg)) {
		log_warn("analyze", "segments not computed model=%s window=%lld error=\"%s\"",
		         m->name, (long long)w->start, store_errmsg(&a->st));
		seg = NULL;
	}

	sev = calloc(m->nf ? m->nf : 1, sizeof(*sev));
	if (!sev || vector_results(a, m, st, &vr))
		goto out;
	if (store_begin(&a->st))
		goto out;
	if (store_ingest_sync(a->si))
		goto rollback;
	if (store_ingest_clear_window_results(a->si, w->model_id, w->start))
		goto rollback;
	for (size_t i = 0; i < m->nf; i++) {
		struct store_feature_row fr;
		struct store_drift_row dr;
		sev[i] = NAN;
		if (m->f[i].kind == 0 && !m->f[i].has_ref)
			continue; /* named in the config, never seen */
		if (m->f[i].kind == WIN_KIND_VECTOR || m->f[i].kind == MVP_KIND) {
			fr = vr.fr[i];
			dr = vr.dr[i];
		} else if (wstate_feature_result(st, m, i, &fr, &dr, &a->hist)) {
			goto rollback;
		} else {
			/* the reservoir goes with the row: the hourly rollup merges it */
			if (wstate_feature_sample(st, i, fr.kind, &sbuf, &scap, &fr.sample_len))
				goto rollback;
			fr.sample = fr.sample_len ? sbuf : NULL;
		}
		if (store_ingest_window_feature(a->si, w->model_id, w->start, &fr) ||
		    store_ingest_drift(a->si, w->model_id, w->start, &dr))
			goto rollback;
		if (dr.method && !dr.insufficient)
			sev[i] = dr.severity;
	}
	if (store_ingest_accuracy(a->si, w->model_id, w->start, &acc))
		goto rollback;
	if (fair.n && store_fairness_write(&a->st, w->model_id, w->start, fair.attrs, fair.n))
		goto rollback;
	if (segments_write(&a->st, w->model_id, w->start, seg))
		goto rollback;
	/* Concept detectors see each window once, when it first closes. */
	if (final && w->provisional && concept(a, m, w, &c, now))
		goto rollback;
	for (size_t i = 0; i < m->nf; i++) {
		if (m->f[i].persisted || m->f[i].kind == 0)
			continue;
		if (store_ingest_feature_set(a->si, m->id, m->f[i].name, m->f[i].kind, "observed",
		                             false))
			goto rollback;
	}
	if (!m->task_persisted && m->task != TASK_UNKNOWN &&
	    store_ingest_model_set_task(a->si, m->id, win_task_name(m->task)))
		goto rollback;
	if (store_ingest_window_result(a->si, &res) < 0)
		goto rollback;
	if (store_commit(&a->st))
		goto rollback;
	store_fresh_calibrations(a, m, now);
	for (size_t i = 0; i < m->nf; i++)
		if (m->f[i].kind)
			m->f[i].persisted = true;
	if (m->task != TASK_UNKNOWN)
		m->task_persisted = true;
	st->computed = true;
	st->sig_count = w->count;
	st->sig_errors = w->errors;
	st->sig_sampled = w->sampled;
	st->sig_labelled = w->labelled;
	st->sig_upto = st->upto_id;
	st->sig_ref = m->ref_version;
	a->windows_done++;
	latest_update(a, m, w->start, &acc, sev, m->nf);
	latest_fair_update(a, m, w->start, &fair);
	latest_seg_update(a, m, w->start, seg);
	rc = 0;
	goto out;
rollback:
	log_warn("analyze", "cannot write window results model=%s window=%lld error=\"%s\"",
	         m->name, (long long)w->start, store_errmsg(&a->st));
	store_rollback(&a->st);
	store_ingest_rolled_back(a->si);
out:
	fair_free(&fair);
	free(sbuf);
	free(sev);
	free(vr.fr);
	free(vr.dr);
	free(c.errs);
	quality_cls_fini(&c.cls);
	ddsketch_free(sk);
	return rc;
}

static int pass(struct analyze *a)
{
	struct store_window *ws = NULL;
	struct tail_ctx t = {a, 0, false, 0};
	double now = clock_now(), t0 = clock_mono();
	int n, rc = -1;

	for (size_t i = 0; i < a->nmodels; i++)
		if (a->models[i]->ref_mode == REF_MODE_ROLLING)
			rolling_refresh(a, a->models[i], now);
	if (refresh_models(a))
		goto out;
	/* The dirty windows (and their counters) are read before the newest
	 * event id: every event counted in a window row read here has an id
	 * <= hi and is folded below, so results are never older than the
	 * counters they are checked against when the row is cleared. */
	n = store_ingest_dirty_windows(a->si, MAX_DIRTY, &ws);
	if (n < 0)
		goto out;
	if (store_ingest_max_event_id(a->si, &t.hi))
		goto out_free;
	if (t.hi > a->tail_id) {
		int trc = store_ingest_events_after(a->si, a->tail_id, t.hi, tail_cb, &t);
		/* Either way everything up to hi is either folded or will be
		 * rebuilt: after a failure the cache cannot be trusted (some
		 * events may be folded, some not), so it is dropped. */
		a->tail_id = t.hi;
		if (trc < 0 || t.err) {
			for (size_t i = 0; i < a->nstates; i++)
				wstate_free(a->states[i]);
			a->nstates = 0;
			goto out_free;
		}
	}
	rc = 0;
	for (int i = 0; i < n; i++) {
		if (analyze_window(a, &ws[i], t.hi, now))
			rc = -1;
		store_window_free(&ws[i]);
	}
	/* Closed windows nobody touched for a while leave the cache. */
	for (size_t i = 0; i < a->nstates;) {
		struct wstate *s = a->states[i];
		if ((double)(s->start + a->window_s) + GRACE_S < now &&
		    clock_mono() - s->used > 4 * a->interval_s + 10) {
			wstate_free(s);
			a->states[i] = a->states[--a->nstates];
		} else {
			i++;
		}
	}
	goto out;
out_free:
	for (int i = 0; i < n; i++)
		store_window_free(&ws[i]);
out:
	if (rc)
		log_warn("analyze", "pass failed error=\"%s\"", store_errmsg(&a->st));
	free(ws);
	a->passes++;
	a->last_pass_s = clock_mono() - t0;
	return rc;
}

static void *thread_main(void *arg)
{
	struct analyze *a = arg;

	/* Analysis is background work: on a busy machine the writer (and
	 * the agents waiting for its commits) go first. */
	pthread_setname_np(pthread_self(), "mlw-analyze");
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
		log_debug("analyze", "cannot lower the analysis thread's priority");

	for (;;) {
		struct timespec ts;
		double next;
		bool stop;

		if (pass(a))
			a->pass_errors++;
		/* a real interval (clock_now may be simulated and stand still) */
		next = clock_mono() + a->interval_s;
		pthread_mutex_lock(&a->mu);
		while (!a->stop && clock_mono() < next) {
			clock_mono_deadline(next - clock_mono(), &ts);
			pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		}
		stop = a->stop;
		pthread_mutex_unlock(&a->mu);
		if (stop)
			break;
	}
	return NULL;
}

/* ---- /metrics ---------------------------------------------------------------------- */

static void gauge_models(struct metrics_out *out, struct analyze *a, const char *name,
                         const char *help, size_t offset)
{
	metrics_family(out, name, "gauge", help);
	for (size_t i = 0; i < a->nlatest; i++) {
		double v = *(const double *)((const char *)&a->latest[i] + offset);
		if (!isnan(v))
			metrics_sample(out, name, v, "model", a->latest[i].model, NULL);
	}
}

/* Fairness of the newest analysed window, per model and protected
 * attribute: the gaps where enough groups had enough data, and each group's
 * positive-prediction rate and size. Under a->mu. */
static void write_fair_metrics(struct metrics_out *out, struct analyze *a)
{
	static const struct {
		const char *name, *help;
		enum fairness_metric m;
	} gaps[] = {
	    {"mlwatch_model_fairness_dp_ratio",
	     "Demographic-parity ratio (min/max positive rate) of the newest window.",
	     FAIR_DP_RATIO},
	    {"mlwatch_model_fairness_dp_diff",
	     "Demographic-parity difference (max-min positive rate) of the newest window.",
	     FAIR_DP_DIFF},
	    {"mlwatch_model_fairness_eo_diff",
	     "Equal-opportunity difference (TPR gap) of the newest window.", FAIR_EO_DIFF},
	    {"mlwatch_model_fairness_eodds_diff",
	     "Equalized-odds difference (max of TPR and FPR gaps) of the newest window.",
	     FAIR_EODDS_DIFF},
	    {"mlwatch_model_fairness_acc_gap", "Accuracy gap between groups of the newest window.",
	     FAIR_ACC_GAP},
	};
	for (size_t k = 0; k < sizeof(gaps) / sizeof(gaps[0]); k++) {
		metrics_family(out, gaps[k].name, "gauge", gaps[k].help);
		for (size_t i = 0; i < a->nlatest; i++)
			for (size_t j = 0; j < a->latest[i].nfair; j++) {
				const struct latest_fair *lf = &a->latest[i].fair[j];
				double v = fairness_gap_value(&lf->gaps, gaps[k].m);
				if (!isnan(v))
					metrics_sample(out, gaps[k].name, v, "model",
					               a->latest[i].model, "attribute",
					               lf->attr.name, NULL);
			}
	}
	metrics_family(out, "mlwatch_model_fairness_positive_rate", "gauge",
	               "Positive-prediction rate per protected-attribute group, newest window.");
	for (size_t i = 0; i < a->nlatest; i++)
		for (size_t j = 0; j < a->latest[i].nfair; j++) {
			const struct latest_fair *lf = &a->latest[i].fair[j];
			for (size_t g = 0; g < lf->attr.n; g++) {
				struct fairness_rates r;
				fairness_rates(&lf->attr.g[g], &r);
				if (!isnan(r.positive_rate))
					metrics_sample(out, "mlwatch_model_fairness_positive_rate",
					               r.positive_rate, "model", a->latest[i].model,
					               "attribute", lf->attr.name, "group",
					               lf->attr.g[g].name, NULL);
			}
		}
	metrics_family(out, "mlwatch_model_fairness_group_events", "gauge",
	               "Events per protected-attribute group, newest window.");
	for (size_t i = 0; i < a->nlatest; i++)
		for (size_t j = 0; j < a->latest[i].nfair; j++) {
			const struct latest_fair *lf = &a->latest[i].fair[j];
			for (size_t g = 0; g < lf->attr.n; g++)
				metrics_sample(out, "mlwatch_model_fairness_group_events",
				               (double)lf->attr.g[g].n, "model", a->latest[i].model,
				               "attribute", lf->attr.name, "group",
				               lf->attr.g[g].name, NULL);
		}
}

static void write_metrics(struct metrics_out *out, void *arg)
{
	struct analyze *a = arg;

	pthread_mutex_lock(&a->mu);
	metrics_family(out, "mlwatch_collector_analysis_passes_total", "counter",
	               "Analysis passes run.");
	metrics_sample(out, "mlwatch_collector_analysis_passes_total", (double)a->passes, NULL);
	metrics_family(out, "mlwatch_collector_analysis_errors_total", "counter",
	               "Analysis passes that failed (retried next pass).");
	metrics_sample(out, "mlwatch_collector_analysis_errors_total", (double)a->pass_errors,
	               NULL);
	metrics_family(out, "mlwatch_collector_windows_analyzed_total", "counter",
	               "Window results written.");
	metrics_sample(out, "mlwatch_collector_windows_analyzed_total", (double)a->windows_done,
	               NULL);
	metrics_family(out, "mlwatch_collector_analysis_pass_seconds", "gauge",
	               "Duration of the last analysis pass.");
	metrics_sample(out, "mlwatch_collector_analysis_pass_seconds", a->last_pass_s, NULL);
	gauge_models(out, a, "mlwatch_model_accuracy", "Accuracy of the newest window (labels).",
	             offsetof(struct latest, accuracy));
	gauge_models(out, a, "mlwatch_model_macro_f1", "Macro F1 of the newest window.",
	             offsetof(struct latest, macro_f1));
	gauge_models(out, a, "mlwatch_model_mae", "Mean absolute error of the newest window.",
	             offsetof(struct latest, mae));
	gauge_models(out, a, "mlwatch_model_rmse", "Root mean squared error of the newest window.",
	             offsetof(struct latest, rmse));
	gauge_models(out, a, "mlwatch_model_est_accuracy",
	             "Estimated accuracy (calibrated confidence) of the newest window.",
	             offsetof(struct latest, est_accuracy));
	gauge_models(out, a, "mlwatch_model_label_coverage",
	             "Share of the newest window's sampled events with a label.",
	             offsetof(struct latest, label_coverage));
	metrics_family(out, "mlwatch_model_drift_severity", "gauge",
	               "Drift severity per feature in the newest window (1 = at the threshold).");
	for (size_t i = 0; i < a->nlatest; i++)
		for (size_t k = 0; k < a->latest[i].nf; k++)
			if (!isnan(a->latest[i].f[k].severity))
				metrics_sample(out, "mlwatch_model_drift_severity",
				               a->latest[i].f[k].severity, "model",
				               a->latest[i].model, "feature",
				               a->latest[i].f[k].name, NULL);
	/* per segment of segment_by models: at most segment_top_k + 1 series
	 * per model and feature */
	metrics_family(out, "mlwatch_segment_drift_severity", "gauge",
	               "Drift severity per feature within one segment (segment_by) of the newest "
	               "window, against that segment's reference rows.");
	for (size_t i = 0; i < a->nlatest; i++)
		for (size_t j = 0; j < a->latest[i].nseg; j++)
			for (size_t k = 0; k < a->latest[i].seg[j].nf; k++)
				metrics_sample(out, "mlwatch_segment_drift_severity",
				               a->latest[i].seg[j].f[k].severity, "model",
				               a->latest[i].model, "feature",
				               a->latest[i].seg[j].f[k].name, "segment",
				               a->latest[i].seg[j].label, NULL);
	metrics_family(out, "mlwatch_segment_events", "gauge",
	               "Sampled events of one segment (segment_by) in the newest window.");
	for (size_t i = 0; i < a->nlatest; i++)
		for (size_t j = 0; j < a->latest[i].nseg; j++)
			metrics_sample(out, "mlwatch_segment_events", a->latest[i].seg[j].events,
			               "model", a->latest[i].model, "segment",
			               a->latest[i].seg[j].label, NULL);
	write_fair_metrics(out, a);
	pthread_mutex_unlock(&a->mu);
}

/* ---- lifetime ------------------------------------------------------------------------ */

int analyze_start(struct analyze **out, struct collector *c, char *err, size_t errlen)
{
	struct analyze *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->c = c;
	a->window_s = c->cfg->collector.window_ms / 1000;
	a->interval_s = (double)c->cfg->collector.analyze_interval_ms / 1000.0;
	jsonw_init(&a->hist);
	jsonw_init(&a->json);
	pthread_mutex_init(&a->mu, NULL);
	clock_cond_init_mono(&a->cv);
	a->cap_states = MAX_STATES;
	a->states = calloc(a->cap_states, sizeof(*a->states));
	a->segs = segments_new();
	if (!a->states || !a->segs) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (store_open(&a->st, c->db_path, STORE_RW, false, err, errlen))
		goto fail;
	a->si = store_ingest_new(&a->st);
	if (!a->si || store_ingest_max_event_id(a->si, &a->tail_id)) {
		snprintf(err, errlen, "cannot read %s: %s", a->st.path, store_errmsg(&a->st));
		goto fail;
	}
	for (size_t i = 0; i < c->cfg->n_models; i++) {
		const struct model_config *mc = &c->cfg->models[i];
		/* a same-hour-of-week reference also reads the window's hour */
		int64_t need = mc->reference_span_s + (a->window_s > 3600 ? a->window_s : 3600);

		if (mc->reference_mode != REF_MODE_STATIC &&
		    need * 1000 > c->cfg->collector.retention_raw_ms)
			log_warn(
			    "analyze",
			    "reference = %s needs %llds of stored events but retention_raw keeps "
			    "%llds: the older part of its history will be missing model=%s",
			    config_reference_mode_name(mc->reference_mode), (long long)need,
			    (long long)(c->cfg->collector.retention_raw_ms / 1000), mc->name);
	}
	if (metrics_register(c->metrics, write_metrics, a) == 0)
		a->metrics_on = true;
	if (pthread_create(&a->thread, NULL, thread_main, a) != 0) {
		snprintf(err, errlen, "cannot start the analysis thread");
		goto fail;
	}
	a->started = true;
	*out = a;
	return 0;
fail:
	analyze_stop(a);
	return -1;
}

void analyze_stop(struct analyze *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->thread, NULL);
	if (a->metrics_on)
		metrics_unregister(a->c->metrics, write_metrics, a);
	for (size_t i = 0; i < a->nstates; i++)
		wstate_free(a->states[i]);
	free(a->states);
	segments_free(a->segs);
	for (size_t i = 0; i < a->nmodels; i++)
		wmodel_free(a->models[i]);
	free(a->models);
	for (size_t i = 0; i < a->nlatest; i++) {
		for (size_t k = 0; k < a->latest[i].nf; k++)
			free(a->latest[i].f[k].name);
		free(a->latest[i].f);
		for (size_t k = 0; k < a->latest[i].nfair; k++)
			fairness_attr_fini(&a->latest[i].fair[k].attr);
		free(a->latest[i].fair);
		latest_seg_free(&a->latest[i]);
		free(a->latest[i].model);
	}
	free(a->latest);
	jsonw_fini(&a->hist);
	jsonw_fini(&a->json);
	store_ingest_free(a->si);
	store_close(&a->st);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
