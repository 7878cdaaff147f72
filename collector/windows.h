/* windows: what the analysis knows about a model (feature kinds, reference
 * profiles, calibration, task) and the per-window state folded from its
 * sampled events (feature samples, category counts, quality counters,
 * estimated accuracy), and the results computed from them. Pure
 * computation: no database, no threads (analyze.c does that).
 *
 * Kinds: a feature's kind is fixed per model: the [model] section's kind.F
 * wins, then the reference's, then the first value seen. A value of the
 * other kind is a type error for that feature; the rest of the event is
 * kept. The outputs are monitored as features named "@prediction"
 * (categorical for classification, numeric for regression) and "@score".
 *
 * Vector features (kind 3, issue 19): the dimension is fixed by the
 * reference, else by the first vector seen; a vector of another dimension
 * is a type error. A window keeps a uniform sample of up to
 * WIN_VECTOR_ROWS vectors (float32, fewer for wide vectors:
 * WIN_VECTOR_BYTES in all) and is compared with the reference's vectors
 * by the five embedding methods (stats/embedding.h).
 *
 * Multivariate drift (kind 4, the pseudo-feature "@multivariate", issue 19):
 * when the reference has a multivariate profile (mvprofile.h), a window
 * keeps a uniform sample of the rows of its events that hold every one of
 * the profile's numeric features (row-aligned: one event's values
 * together), up to WIN_MV_ROWS, and gets PCA reconstruction error with its
 * band and the domain classifier against the profile.
 *
 * Ownership: wmodel_* and wstate_* own everything they allocate; free with
 * wmodel_free / wstate_free. Not thread-safe. */
#ifndef MLW_WINDOWS_H
#define MLW_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drift.h"
#include "mvprofile.h"
#include "quality.h"
#include "sample.h"
#include "stats/calibrate.h"
#include "stats/embedding.h"
#include "store_ingest.h"

struct jsonw;
struct model_config;

#define WIN_PREDICTION "@prediction"
#define WIN_SCORE      "@score"
/* Distinct categories counted exactly per feature and window. */
#define WIN_CATS_MAX 10000
/* A window's sample of a vector feature: rows, and bytes of float32. */
#define WIN_VECTOR_ROWS  10000
#define WIN_VECTOR_BYTES ((size_t)32 << 20)
/* Drift row kind of a vector feature. */
#define WIN_KIND_VECTOR 3
/* A window's row-aligned sample for the multivariate analysis. */
#define WIN_MV_ROWS 10000

enum win_task { TASK_UNKNOWN = 0, TASK_CLASSIFICATION = 1, TASK_REGRESSION = 2 };
const char *win_task_name(enum win_task t);

struct wm_feature {
	char *name;
	int kind;        /* 1 numeric, 2 categorical, 0 unknown yet */
	bool kind_fixed; /* from config or reference: observed values cannot change it */
	bool cfg_kind;   /* fixed by the config (survives a reference reload) */
	bool has_ref;
	struct drift_ref ref;
	struct drift_opts opts;
	bool persisted; /* its kind is in the features table */
	/* calibrated thresholds by window size class, filled lazily from the
	 * reference (dropped with it); far = false_alarm_rate.F, < 0 = the
	 * model's */
	struct calib_cache cal;
	double far;
	bool cal_warned;   /* a failed calibration is logged once */
	double min_effect; /* min_effect.F; < 0 = the method's default (mlwatch preset) */
	/* a vector feature: its fixed dimension (0 = not yet) and the
	 * reference's embedding profile (NULL without one) */
	size_t dim;
	struct emb_ref *emb;
	/* its column in the model's multivariate profile, -1 none */
	int mv_col;
};

struct wmodel {
	int64_t id;
	char *name;
	enum win_task task;
	bool task_fixed; /* from config */
	bool task_persisted;
	struct wm_feature *f;
	size_t nf, cap;
	uint32_t *index; /* open addressing over f, idx + 1 */
	size_t nindex;
	/* the index (+1, 0 unknown) of the k-th feature of the last event
	 * folded: the next one most likely has the same (windows.c find_at) */
	uint32_t *order;
	size_t norder;
	bool has_calib;
	struct quality_calib calib;
	double ref_version;
	/* which concept-drift detectors report events (both always run, so
	 * a change of the choice finds warm state) */
	bool report_ph, report_adwin;
	/* a window with fewer values of a feature gets no drift verdict
	 * ([collector] drift_min_sample; 0 = no minimum) */
	uint64_t min_sample;
	enum drift_preset preset; /* drift_preset of the model, for features added later */
	double far;               /* false_alarm_rate of the model; 0 = no calibration */
	/* where the reference comes from (issue 17 item 3): REF_MODE_* of the
	 * config, its span (seconds), and what the installed one was built
	 * from: parts of the history and how many of them had no events
	 * (shown with every drift row). season_slot: the hour the installed
	 * same-hour-of-week reference is for (INT64_MIN = none installed). */
	int ref_mode;
	int64_t ref_span;
	int64_t season_slot;
	uint32_t ref_parts, ref_missing;
	double season_next;      /* rolling: no rebuild attempt before (Unix s) */
	double season_warn_next; /* no missing-history warning before (monotonic s) */
	struct mvp *mv;          /* multivariate profile (fitted), NULL without one */
};

/* A new model context; cfg (may be NULL) gives kinds, methods, thresholds
 * and the task. Returns NULL when out of memory. */
struct wmodel *wmodel_new(int64_t id, const char *name, const struct model_config *cfg);
void wmodel_free(struct wmodel *m);
/* Index of feature name, or -1. */
long wmodel_find(const struct wmodel *m, const char *name);
/* Index of name, adding it with kind (0 = not known yet) when absent;
 * -1 when out of memory. */
long wmodel_add(struct wmodel *m, const char *name, int kind);
/* Sets a kind from the features table (observed earlier or by a
 * reference), unless the config fixed it. */
int wmodel_set_kind(struct wmodel *m, const char *name, int kind, bool from_reference);
/* Installs a reference profile (decoded from its BLOB) for feature. The
 * reference fixes the kind unless the config did. -1 on a bad profile. */
int wmodel_set_reference(struct wmodel *m, const char *name, int kind, const uint8_t *profile,
                         size_t len);
int wmodel_set_calibration(struct wmodel *m, const uint8_t *profile, size_t len);
/* Drops references, calibration and observed kinds (before a reload). */
void wmodel_reset_references(struct wmodel *m);

/* ---- per-window state ---------------------------------------------------- */

struct wfeat {
	uint64_t n; /* valid values */
	uint64_t type_errors, out_of_range, new_category;
	bool res_init;
	struct sample_reservoir res; /* numeric values */
	struct sample_cats cats;     /* categorical counts */
	/* vector values: vrows[nv x dim], a reservoir past vmax rows */
	float *vrows;
	size_t nv, vmax;
	uint64_t vseen;
	struct sample_rng vrng;
};

struct wstate {
	int64_t model_id, start;
	int64_t upto_id; /* events with id <= upto_id are folded */
	uint64_t events;
	struct wfeat *f; /* parallel to the model's features */
	size_t nf;
	/* numeric values sampled per feature; 0 = SAMPLE_WINDOW_MAX (a
	 * segment's state keeps fewer: collector/segments.h) */
	size_t sample_cap;
	struct quality_est est;
	/* multivariate rows: mvrows[mvn x d] (reservoir past WIN_MV_ROWS);
	 * mvcur / mvset the event being folded */
	double *mvrows, *mvcur;
	uint8_t *mvset;
	size_t mvn, mvd, mvhave;
	uint64_t mvseen;
	struct sample_rng mvrng;
	/* accuracy over the labels the events carried when folded; labels
	 * joined later are not here (labelled_fold tells how many are) */
	struct quality_cls cls;
	struct quality_reg reg;
	uint64_t labelled_fold;
	/* signature of the last computation, to skip unchanged windows */
	uint64_t sig_count, sig_sampled, sig_labelled, sig_errors;
	int64_t sig_upto;
	double sig_ref;
	bool computed;
	double used; /* monotonic time of last use, for eviction */
};

struct wstate *wstate_new(int64_t model_id, int64_t start);
void wstate_free(struct wstate *w);

/* Folds one stored event into w. When the event fixes the kind of a new
 * feature (or the model's task), *changed is set so the caller persists
 * it. Returns 0, -1 when out of memory (w is still consistent). */
int wstate_fold(struct wstate *w, struct wmodel *m, const struct store_raw_event *e, bool *changed);

/* Adds a labelled prediction to the accuracy accumulators (classes for
 * classification, errors for regression). Returns 1 when the prediction
 * was wrong, 0 when right, -1 when it could not be scored. */
int win_score_label(enum win_task task, const struct value *pred, const struct value *label,
                    struct quality_cls *cls, struct quality_reg *reg);

/* The predicted class's confidence of an event for the estimated accuracy
 * (quality.h's rule); false when the event has none. */
bool win_confidence(const struct store_raw_event *e, double *conf);
/* A prediction or label as a class name ("1" for 1.0) into buf. */
const char *win_class_name(const struct value *v, char *buf, size_t cap);

/* The threshold feature fi gets for a window of n values: configured
 * (threshold.F), calibrated (from the reference at the false alarm rate,
 * mlwatch preset; calibrates the size class on first use) or the method's
 * default. *opts is the feature's options with that threshold; *cal (may
 * be NULL) the calibration used, NULL unless calibrated. */
enum calib_source wmodel_threshold(struct wmodel *m, size_t fi, size_t n, struct drift_opts *opts,
                                   const struct calib_result **cal);

/* The method and false alarm rate feature fi is calibrated for (its
 * reference, options and the model's rate); false when it is not
 * calibrated (no reference, threshold.F, rate 0, a peer preset). */
bool wmodel_calib_key(struct wmodel *m, size_t fi, enum drift_method *meth, double *rate);
/* Puts a stored calibration of feature into its cache when it matches the
 * feature's current method, rate and reference (else it is ignored: the
 * size class is recalibrated when used). 1 when taken, 0 when not. */
int wmodel_seed_calibration(struct wmodel *m, const char *feature, const struct calib_result *c);
/* Drops the drift reference profiles and their calibrations, keeping the
 * kinds and the accuracy calibration (a same-hour-of-week reference is
 * swapped for another hour's). */
void wmodel_drop_profiles(struct wmodel *m);

/* Window results of feature fi (index in the model): the window_features
 * row and the drift row (the histogram JSON goes into hist, which the row
 * points to); the drift row's stats say where the threshold came from.
 * May calibrate (wmodel_threshold). Returns 0, -1 when out of memory. */
int wstate_feature_result(const struct wstate *w, struct wmodel *m, size_t fi,
                          struct store_feature_row *fr, struct store_drift_row *dr,
                          struct jsonw *hist);

/* Values of a window's reservoir kept in window_features.sample. */
#define WINDOW_SAMPLE_KEEP 500

/* What window_features.sample keeps of feature fi of kind (1 numeric:
 * the reservoir, subsampled to WINDOW_SAMPLE_KEEP values,
 * sample_reservoir_encode; 2 categorical: the category
 * counts, sample_cats_encode) into *buf (grown with realloc, *cap its
 * size; the caller frees it): *len 0 when the window holds no value of
 * that kind. 0, -1 out of memory. */
int wstate_feature_sample(const struct wstate *w, size_t fi, int kind, uint8_t **buf, size_t *cap,
                          size_t *len);

#endif
