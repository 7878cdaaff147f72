/* dbgen: fills an mlwatch database with models, windows, drift, accuracy,
 * concept events, alerts, reference histograms and raw events whose values
 * follow simple formulas, so tests know what every view and subcommand must
 * show (dbgen_window, dbgen_drift, dbgen_accuracy give the expected values).
 * It writes with sqlite3 directly, standing in for the collector, in one
 * transaction with prepared statements (fast enough for the benchmark's
 * 30 days x 20 models x 50 features).
 *
 * Layout: window w of model m (0 = oldest) starts at
 *   base - (windows - w) * window_s,  base = floor(now / window_s) * window_s,
 * so the newest window ends at base <= now (complete). With open_window an
 * extra provisional window [base, base + window_s) holds half a window.
 * Model 0 ("fraud" when models <= 8, else "model00") has a latency spike in
 * its last 3 windows, feature 0 drifting in its last 10 windows, an accuracy
 * drop, a concept-drift event and the alerts. */
#ifndef MLW_DBGEN_H
#define MLW_DBGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dbgen_opts {
	double now;   /* 0 = the current time */
	int window_s; /* 0 = 60 */
	int models;   /* 0 = 3 */
	int features; /* per model; 0 = 4 (>= 2: "amount" numeric, "country" categorical) */
	int windows;  /* per model; 0 = 60 */
	int events_per_window; /* raw sampled events per window (total spread over models) */
	int64_t events_total;  /* if > 0, overrides events_per_window: spread evenly */
	bool open_window;      /* add a provisional open window */
	bool no_alerts;
	int hist_windows;  /* cur_hist JSON for the newest N windows; 0 = all, -1 none */
	double last_write; /* meta.last_write; 0 = now, < 0 = absent */
	bool progress;     /* print progress to stderr */
	bool fast;         /* no journal while filling (a fresh file has nothing to roll
	                      back to), WAL again at the end: for the benchmark */
};

/* Model and feature names ("fraud", "churn", "eta", ... / "amount",
 * "country", "f02", ...). */
const char *dbgen_model_name(const struct dbgen_opts *o, int m, char *buf, size_t cap);
const char *dbgen_feature_name(int f, char *buf, size_t cap);
/* Feature kind: 1 numeric (even f), 2 categorical (odd f). */
int dbgen_feature_kind(int f);

struct dbgen_window {
	int64_t start, end;
	int64_t count, errors;
	double p50, p90, p95, p99, p999, max, mean;
	bool provisional;
};
/* w in [0, windows) or windows for the open window. */
void dbgen_window(const struct dbgen_opts *o, int m, int w, struct dbgen_window *out);

struct dbgen_drift {
	int kind;
	int64_t n;
	double missing_rate, ks, ks_p, wasserstein, psi, js, chi2, chi2_p;
	const char *method;
	double score, threshold, severity;
	bool drifted;
};
void dbgen_drift(const struct dbgen_opts *o, int m, int f, int w, struct dbgen_drift *out);

struct dbgen_accuracy {
	int64_t labelled; /* 0 and accuracy NAN for the newest 5 windows (labels late) */
	double accuracy, macro_f1, est_accuracy, est_low, est_high, label_coverage;
};
void dbgen_accuracy(const struct dbgen_opts *o, int m, int w, struct dbgen_accuracy *out);

/* The alerts written (when !no_alerts): ids 1..3. */
#define DBGEN_ALERT_P99      1 /* rule "p99-high", model 0, firing, value 400 */
#define DBGEN_ALERT_DRIFT    2 /* rule "drift-amount", model 0, feature amount, pending */
#define DBGEN_ALERT_RESOLVED 3 /* rule "error-rate", model 1 (or 0), resolved */

/* Creates (or overwrites) path. 0, or -1 with the reason in err. */
int dbgen_fill(const char *path, const struct dbgen_opts *o, char *err, size_t errlen);

/* The effective option values (defaults applied). */
void dbgen_defaults(const struct dbgen_opts *in, struct dbgen_opts *out);

#endif
