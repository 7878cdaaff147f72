/*
 * quality: model quality from joined labels, a label-free estimate of
 * accuracy, and concept-drift detectors on the 0/1 error stream
 * (CONTRACT.md section 5).
 *
 *  - quality_cls: accuracy, per-class precision/recall/F1 and macro-F1 for
 *    classes named by strings (macro over the union of labels and
 *    predictions; 0/0 is 0, as scikit-learn's zero_division default).
 *  - quality_reg: MAE and RMSE.
 *  - quality_calib: isotonic calibration (pool adjacent violators) of the
 *    predicted-class confidence, fitted on labelled reference pairs
 *    (confidence, correct) and applied like scikit-learn's
 *    IsotonicRegression(out_of_bounds="clip"): linear interpolation between
 *    fitted points, clipped outside.
 *  - quality_est: estimated accuracy of a window = mean calibrated
 *    confidence, band +-3 sigma with sigma = sqrt(sum p(1-p)) / n.
 *  - quality_ph: Page-Hinkley (delta 0.005, threshold 50) for an increase of
 *    the error rate; quality_adwin: ADWIN (delta 0.002). Both have a
 *    byte encoding of their full state so the collector keeps them in SQLite
 *    across restarts.
 *
 * "Confidence of the predicted class": the event's `score` when it is the
 * predicted class's probability; for a binary 0/1 prediction without
 * `scores`, score is P(class 1), so the caller passes 1 - score when the
 * prediction is 0.
 *
 * Ownership: structs are caller-allocated, initialised by *_init (or a
 * zeroed struct where stated) and own their arrays, released by *_fini.
 * Not thread-safe. Errors are negative errno values (-EINVAL, -ENOMEM,
 * -ENOSPC, -EPROTO, -E2BIG).
 */
#ifndef MLWATCH_QUALITY_H
#define MLWATCH_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- classification ---------------------------------------------------- */

/* Distinct classes tracked per window; more gives -E2BIG. */
#define QUALITY_MAX_CLASSES    1024
#define QUALITY_CLASS_NAME_MAX 256

struct quality_class {
	char *name;  /* NUL-terminated, owned */
	uint64_t tp; /* predicted this class and it was the label */
	uint64_t fp; /* predicted this class, label was another */
	uint64_t fn; /* label was this class, predicted another */
};

struct quality_cls {
	struct quality_class *classes; /* classes[0..n), first-seen order, owned */
	size_t n;
	size_t alloc;
	uint64_t total; /* labelled pairs */
	uint64_t correct;
};

/* A zeroed struct is a valid empty accumulator too. */
void quality_cls_init(struct quality_cls *q);
void quality_cls_fini(struct quality_cls *q);
/* Adds one labelled prediction (NUL-terminated class names, each at most
 * QUALITY_CLASS_NAME_MAX bytes, else -EINVAL). -E2BIG when a new class
 * would exceed QUALITY_MAX_CLASSES, -ENOMEM; q unchanged on error. */
int quality_cls_add(struct quality_cls *q, const char *pred, const char *label);
/* Merges src's counts into dst (e.g. per-second into per-window). */
int quality_cls_merge(struct quality_cls *dst, const struct quality_cls *src);
/* correct / total; 0 when total is 0 (check total). */
double quality_cls_accuracy(const struct quality_cls *q);
/* Per-class metrics of classes[i]; 0 when a denominator is 0. */
double quality_cls_precision(const struct quality_cls *q, size_t i);
double quality_cls_recall(const struct quality_cls *q, size_t i);
double quality_cls_f1(const struct quality_cls *q, size_t i);
/* Unweighted mean of per-class F1 over all classes seen; 0 when none. */
double quality_cls_macro_f1(const struct quality_cls *q);

/* ---- regression ---------------------------------------------------------- */

struct quality_reg {
	uint64_t n;
	double sum_abs; /* sum |pred - label| */
	double sum_sq;  /* sum (pred - label)^2 */
};

/* A zeroed struct is an empty accumulator. -EINVAL for non-finite input. */
int quality_reg_add(struct quality_reg *q, double pred, double label);
void quality_reg_merge(struct quality_reg *dst, const struct quality_reg *src);
/* 0 when n is 0 (check n). */
double quality_reg_mae(const struct quality_reg *q);
double quality_reg_rmse(const struct quality_reg *q);

/* labelled / total, 0 when total is 0; clamped to [0, 1]. */
double quality_label_coverage(uint64_t labelled, uint64_t total);

/* ---- isotonic calibration ---------------------------------------------- */

/* Fitted points with strictly increasing x, non-decreasing y in [0, 1]. */
#define QUALITY_CALIB_MAX_POINTS 100000

struct quality_calib {
	double *x; /* x[0..n), owned */
	double *y; /* y[0..n), owned */
	size_t n;
};

/* Fits on n pairs (conf[i] in [0, 1] finite, correct[i] 0 or 1) by
 * weighted PAV, then keeps one point per block boundary (scikit-learn's
 * representation); n <= 10 * QUALITY_CALIB_MAX_POINTS. -EINVAL on bad input
 * or n == 0, -ENOMEM. calib must be zeroed or finalised; on error it is
 * left finalised. */
int quality_calib_fit(struct quality_calib *calib, const double *conf, const uint8_t *correct,
                      size_t n);
void quality_calib_fini(struct quality_calib *calib);
/* Calibrated probability of conf: linear interpolation between fitted
 * points, clipped to the end values outside; conf itself clamped to [0, 1]
 * when calib is NULL or empty (the identity calibration). NaN gives 0. */
double quality_calib_apply(const struct quality_calib *calib, double conf);
/* Encoding: u8 version | varint n | n x (f64 x, f64 y). */
int quality_calib_encode(const struct quality_calib *calib, uint8_t **out, size_t *len);
/* Validates (-EPROTO): n bound, finite, x strictly increasing, y
 * non-decreasing in [0, 1]. calib left finalised on error. */
int quality_calib_decode(struct quality_calib *calib, const uint8_t *buf, size_t len);

/* ---- estimated accuracy ------------------------------------------------- */

struct quality_est {
	uint64_t n;
	double sum_p;   /* sum of calibrated confidences */
	double sum_var; /* sum p (1 - p) */
};

/* Adds one unlabelled prediction with predicted-class confidence conf
 * (calibrated through calib, which may be NULL). A zeroed struct is empty. */
void quality_est_add(struct quality_est *e, const struct quality_calib *calib, double conf);
void quality_est_merge(struct quality_est *dst, const struct quality_est *src);
/* Estimate and its +-3 sigma band clamped to [0, 1]. -ENODATA when n == 0
 * (outputs set to 0). Any output pointer may be NULL. */
int quality_est_result(const struct quality_est *e, double *est, double *low, double *high);

/* ---- concept drift: Page-Hinkley ----------------------------------------- */

#define QUALITY_PH_DELTA     0.005
#define QUALITY_PH_THRESHOLD 50.0
/* No fading of the cumulative sum (alpha = 1), unlike river's default of
 * 0.9999: with fading, the sum of a stationary 0/1 stream settles near
 * -delta / (1 - alpha) = -50 with a spread of tens, so noise alone crosses
 * the threshold; in simulation 76% of stationary 1e5-event streams at a 5%
 * error rate alarmed, against none without fading. Warm-up as river's. */
#define QUALITY_PH_ALPHA         1.0
#define QUALITY_PH_MIN_INSTANCES 30

/* Detects an increase of the mean of x (the error rate). After an alarm the
 * detector restarts from scratch, so alarms are separate events. */
struct quality_ph {
	double delta;
	double threshold;
	double alpha;
	uint64_t n; /* values since the last reset */
	double mean;
	double sum; /* cumulative deviation (faded if alpha < 1) */
	double min_sum;
	uint64_t alarms; /* total since init */
};

/* With the contract's parameters. */
void quality_ph_init(struct quality_ph *ph);
/* With explicit ones (delta >= 0, threshold > 0, 0 < alpha <= 1). */
int quality_ph_init_params(struct quality_ph *ph, double delta, double threshold, double alpha);
/* Adds x (0 = correct, 1 = error; any finite value works). Returns 1 when
 * this value raises an alarm (and the detector resets), 0 otherwise,
 * -EINVAL for non-finite x. */
int quality_ph_add(struct quality_ph *ph, double x);
/* Fixed-size encoding: u8 version | f64 delta, threshold, alpha, mean, sum,
 * min_sum | varint n | varint alarms. */
#define QUALITY_PH_ENCODED_MAX 80
int quality_ph_encode(const struct quality_ph *ph, uint8_t *buf, size_t cap, size_t *len);
int quality_ph_decode(struct quality_ph *ph, const uint8_t *buf, size_t len);

/* ---- concept drift: ADWIN ------------------------------------------------ */

#define QUALITY_ADWIN_DELTA 0.002
/* Buckets per row before two merge into the next (MOA/river's M = 5). */
#define QUALITY_ADWIN_M 5
/* Rows hold buckets of 2^row values; 64 rows cover any uint64 width. */
#define QUALITY_ADWIN_ROWS 64
/* Cut checks run every CLOCK values; windows shorter than MIN_LEN on either
 * side are never cut (as MOA/river). */
#define QUALITY_ADWIN_CLOCK   32
#define QUALITY_ADWIN_MIN_LEN 5

struct quality_adwin_bucket {
	double total;
	double variance; /* sum of squared deviations within the bucket */
};

struct quality_adwin {
	double delta;
	uint64_t width; /* values in the window */
	double total;
	double variance;     /* sum of squared deviations in the window */
	uint64_t time;       /* values seen since init */
	uint64_t detections; /* total since init */
	uint32_t nrows;
	/* row r holds count[r] buckets of 2^r values, oldest first; row 0 is
	 * the newest data. */
	uint8_t count[QUALITY_ADWIN_ROWS];
	struct quality_adwin_bucket b[QUALITY_ADWIN_ROWS][QUALITY_ADWIN_M + 1];
};

void quality_adwin_init(struct quality_adwin *a);
int quality_adwin_init_delta(struct quality_adwin *a, double delta);
/* Adds x (finite). Returns 1 when a change is detected (the window drops its
 * older part; compare quality_adwin_mean before and after to see the
 * direction), 0 otherwise, -EINVAL for non-finite x. */
int quality_adwin_add(struct quality_adwin *a, double x);
/* Mean of the current window (0 when empty). */
double quality_adwin_mean(const struct quality_adwin *a);
/* Encoding: u8 version | f64 delta | varint width, time, detections |
 * f64 total, variance | u8 nrows | per row: u8 count, count x (f64, f64).
 * Decode validates structure and bucket counts against width (-EPROTO). */
#define QUALITY_ADWIN_ENCODED_MAX (64 + QUALITY_ADWIN_ROWS * (1 + (QUALITY_ADWIN_M + 1) * 16))
int quality_adwin_encode(const struct quality_adwin *a, uint8_t *buf, size_t cap, size_t *len);
int quality_adwin_decode(struct quality_adwin *a, const uint8_t *buf, size_t len);

#endif /* MLWATCH_QUALITY_H */
