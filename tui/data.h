/* data: what one dashboard frame shows, loaded from the database through
 * store_query into plain arrays (the overview rows, a latency or accuracy
 * series bucketed to the chart's width, the drift heatmap matrix, the alert
 * list, a heatmap cell's detail), plus the pure logic on them: sorting rows
 * and features, the heatmap's selection (a feature and a window, not a
 * screen position), reading thresholds from the config's [alert] rules. No
 * curses here, so tests and the benchmark can load and check a frame.
 *
 * Ownership: each struct owns its arrays; the *_free functions release them
 * and leave the struct empty (safe to load again). Loaders return 0 or -1
 * (store_errmsg says why); on error the previous contents are kept. */
#ifndef MLW_DATA_H
#define MLW_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store_query.h"

/* ---- thresholds from [alert] rules -------------------------------------- */

struct data_threshold {
	char rule[64];
	char metric[64]; /* "p99_latency_ms", "accuracy", ... */
	char op[3];      /* ">", ">=", "<", "<=", "==", "!=" */
	double value;
};
/* Parses "METRIC OP NUMBER [over DUR]". 0, or -1 when expr is not of that
 * form (drift(x) and other function metrics are skipped too). */
int data_parse_expr(const char *expr, struct data_threshold *out);
/* Rules of cfg that apply to model (model = name or "*") with a simple
 * expression; up to max into out. Returns the number found. */
int data_thresholds(const struct mlw_config *cfg, const char *model, struct data_threshold *out,
                    int max);

/* ---- overview ----------------------------------------------------------- */

enum data_sort {
	SORT_HEALTH = 0, /* firing, drift, warn first; then name */
	SORT_NAME,
	SORT_RPS,
	SORT_ERRORS,
	SORT_P99,
	SORT_ACCURACY,
	SORT_DRIFT,
	SORT_COUNT
};
const char *data_sort_name(enum data_sort s);
/* Sorts rows in place; desc reverses the natural order of the column
 * (health: worst first; numbers: largest first; name: A-Z). Absent values
 * sort last either way. */
void data_sort_status(struct sq_status *rows, size_t n, enum data_sort by, bool desc);

/* Windows this recent may still change (the open one, late batches): they
 * are read again at every refresh. Older ones are kept, and read again in
 * full every DATA_REBUILD_S seconds (a late event can reopen any window). */
#define DATA_TAIL_S    600
#define DATA_REBUILD_S 300

/* The overview's range sums per model for windows starting in [from, tail),
 * slid forward at each refresh by subtracting what left the range and
 * adding what aged out of the tail, so a refresh over 7 days costs what one
 * over a few minutes does. */
struct data_ov_cache {
	bool valid;
	double from, tail, built; /* built: clock_mono() of the last full read */
	size_t n;
	int64_t *ids;
	struct sq_sums *sums;
};
/* The rows of sq_status(q, now, from) (unsorted), using and updating c.
 * *rows is malloc'd. */
int data_load_overview(struct sq *q, double now, double from, double mono, struct data_ov_cache *c,
                       struct sq_status **rows, size_t *n);
void data_ov_cache_free(struct data_ov_cache *c);

/* ---- latency and accuracy series ---------------------------------------- */

struct data_latency {
	size_t n;
	int64_t bucket;
	double *t; /* bucket start */
	double *p50, *p95, *p99, *rps, *err;
	int64_t *count;
	int64_t model_id; /* what was loaded, for the incremental refresh */
	double from, built;
	/* LLM serving over the whole range (issue 15): events with LLM fields
	 * (0: none), TTFT p50 / p99 and TPOT p99 (ms), output tokens/s. */
	int64_t llm;
	double ttft_p50, ttft_p99, tpot_p99, out_tok_s;
};
/* Points of windows (or buckets aligned to the epoch, the first one whole)
 * starting in [from, to). Like data_load_heat, a refresh of the same model
 * and bucket re-reads only the last DATA_TAIL_S seconds; mono 0 forces a
 * full read. */
int data_load_latency(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                      double mono, struct data_latency *out);
void data_latency_free(struct data_latency *d);

#define DATA_MAX_CONCEPT 64
struct data_accuracy {
	size_t n;
	int64_t bucket;
	double *t, *acc, *est, *lo, *hi, *cov, *f1, *mae;
	int64_t *labelled;
	int64_t *count; /* requests of the bucket's windows */
	size_t nconcept;
	double concept_ts[DATA_MAX_CONCEPT];
	char concept_detector[DATA_MAX_CONCEPT][32];
	int64_t model_id;
	double from, built;
};
int data_load_accuracy(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                       double mono, struct data_accuracy *out);
void data_accuracy_free(struct data_accuracy *d);
/* The label coverage of the buckets starting at or after from, weighted by
 * their requests: the one definition the overview and `mlwatch status`
 * use. NAN when none has a coverage. */
double data_accuracy_coverage(const struct data_accuracy *d, double from);

/* ---- drift heatmap ------------------------------------------------------ */

/* What a heatmap cell's windows said, beside their severity. */
enum {
	DATA_HEAT_NONE = 0,         /* no window drifted (or no window) */
	DATA_HEAT_DRIFTED = 1,      /* a window drifted */
	DATA_HEAT_INSUFFICIENT = 2, /* windows, but none had a verdict (sample below
	                             * drift_min_sample): not "no data", not "fine" */
};

struct data_heat {
	size_t nf;          /* features */
	int ncols;          /* time buckets */
	int64_t t0, bucket; /* column c covers [t0 + c*bucket, t0 + (c+1)*bucket) */
	char (*name)[SQ_NAME_MAX];
	int *kind;
	double *sev;      /* nf * ncols, NAN = no window */
	uint8_t *drifted; /* nf * ncols: DATA_HEAT_* */
	double *latest;   /* newest non-NAN severity per feature */
	double *maxsev;   /* highest in range */
	size_t *order;    /* display order: indexes into the above */
	int last_col;     /* the newest column with any result, -1 none */
	int64_t model_id; /* what was loaded, for the incremental refresh */
	double built;     /* clock_mono() of the last full read */
};
/* Loads the heatmap of [from, to). When out already holds the same model
 * and bucket, read less than DATA_REBUILD_S ago, only the columns of the
 * last DATA_TAIL_S seconds are read again (older ones shift left as time
 * passes). mono is clock_mono(); 0 forces a full read. */
int data_load_heat(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                   double mono, struct data_heat *out);
void data_heat_free(struct data_heat *h);
/* Display order: newest severity descending, then the range's maximum,
 * then name. */
void data_heat_sort(struct data_heat *h);

/* ---- heatmap cursor ----------------------------------------------------- */

/* The heatmap's selection as what it points at, not where it is drawn: a
 * feature and the start of a window. Rows re-sort at every refresh, columns
 * shift left as time passes and a resize changes the bucket; the selection
 * stays on its feature and window through all three. */
struct data_heat_cursor {
	char feature[SQ_NAME_MAX]; /* "" = the first row */
	int64_t start;             /* the selected window's start (when !follow) */
	bool follow;               /* the newest column with results */
	int row;                   /* the last resolved row (kept when the feature goes) */
};
/* Where c is in h, whose visible rows are rows[0..n) (indexes into h's
 * features): *row (-1 when n is 0) and *col. A feature no longer visible
 * gives the row it was on (clamped); the column is the one holding
 * c->start, clamped to [0, the newest column with results] so it never
 * points at a window in the future or past the grid. c is updated to what
 * it now points at when it had to move (feature gone, window scrolled out). */
void data_heat_cursor_resolve(struct data_heat_cursor *c, const struct data_heat *h,
                              const size_t *rows, int n, int *row, int *col);
/* Moves c by dy rows and dx columns from where it resolves, clamped. */
void data_heat_cursor_move(struct data_heat_cursor *c, const struct data_heat *h,
                           const size_t *rows, int n, int dy, int dx);
/* Points c at row, col (a click). */
void data_heat_cursor_set(struct data_heat_cursor *c, const struct data_heat *h, const size_t *rows,
                          int n, int row, int col);

/* ---- heatmap cell detail ------------------------------------------------ */

#define DATA_SEG_MAX 21 /* segment_top_k's default 20, and "other" */

/* A vector feature's or the multivariate row's methods (issue 19), from
 * the drift row's stats: {"methods":{"cosine":{"stat","threshold","p",
 * "drifted"},...}} (pca_recon: "lower" too). */
#define DATA_METHODS_MAX 8
struct data_method {
	char name[16];
	double stat, threshold, p, lower; /* NAN when absent */
	int drifted;                      /* 0, 1, -1 absent */
};
/* Parses stats into m[cap]; the count (0 for anything else). */
size_t data_parse_methods(const char *stats, struct data_method *m, size_t cap);

/* The row's score against its threshold (and the band's lower end) over
 * the windows before the one shown: the PCA error against its band. */
#define DATA_TREND_MAX 32
struct data_trend {
	int64_t start;
	double score, threshold, lower;
};

struct data_detail {
	bool valid;
	char feature[SQ_NAME_MAX];
	char method[32];
	char preset[16]; /* the drift_preset the statistics follow; "" if not recorded */
	/* where the threshold came from (calibrated | configured | default; ""
	 * if not recorded), the calibration's rate and window size class */
	char thr_source[16];
	double far, min_effect;
	long cal_n;
	struct sq_drift d; /* strings point into this struct */
	bool has_ref, has_cur;
	int64_t ref_n;
	struct sq_hist ref, cur;
	/* the drill-down per segment (issue 17, segment_by): each segment's
	 * worst severity in the range, worst first */
	struct {
		char name[65];
		double severity;
		bool drifted;
	} seg[DATA_SEG_MAX];
	int nseg;

	struct data_method methods[DATA_METHODS_MAX];
	size_t nmethods;
	struct data_trend trend[DATA_TREND_MAX]; /* oldest first, the shown window last */
	size_t ntrend;
};
/* The window of [from, to) where feature was worst, with the reference and
 * current histograms. Returns 0, SQ_NOTFOUND, or -1. */
int data_load_detail(struct sq *q, int64_t model_id, const char *feature, double from, double to,
                     struct data_detail *out);

/* ---- alerts ------------------------------------------------------------- */

struct data_alert {
	int64_t id;
	char rule[64], model[SQ_NAME_MAX], feature[SQ_NAME_MAX];
	char state[16], severity[16];
	char summary[160];
	double value, threshold, since;
	bool silenced, acked;
};
struct data_alerts {
	size_t n, cap;
	struct data_alert *v;
};
/* Firing, then pending, then resolved (newest first), at most max rows. */
int data_load_alerts(struct sq *q, double now, size_t max, struct data_alerts *out);
void data_alerts_free(struct data_alerts *a);

#endif
