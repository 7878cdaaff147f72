/* rules: the alert rules of the [alert NAME] sections, parsed once at start
 * from struct mlw_config into a form the evaluator can run every second.
 *
 *   expr := METRIC OP NUMBER [over DUR]
 *   METRIC := rps | error_rate | p50_latency_ms | p90_latency_ms |
 *             p95_latency_ms | p99_latency_ms | p999_latency_ms | accuracy |
 *             est_accuracy | macro_f1 | mae | rmse | label_coverage | no_data |
 *             drift(F) | psi(F) | missing_rate(F) | type_error_rate(F) |
 *             out_of_range_rate(F) | new_category_rate(F) |
 *             dp_ratio(A) | dp_diff(A) | eo_diff(A) | eodds_diff(A) | acc_gap(A)
 *   F := * | a feature name, bare (no space, quote or parenthesis) or in
 *        double quotes with \" and \\ escapes; drift(F), psi(F) and the
 *        quality rates also take F, KEY=VALUE or F, KEY=* (issue 17): the
 *        segment VALUE (or every segment, one instance each) of the model's
 *        segment_by KEY, against that segment's reference rows
 *   OP := > | >= | < | <= | == | !=
 *   RULE := expr [and expr]...  (up to RULES_AND_MAX; see struct rule)
 * A rule may name others in `inhibit` (struct rule): its notifications are
 * held back while one of them fires for the same model (alert_state.c).
 *
 * `over DUR` (default 1m) applies to the metrics kept in the collector's
 * 1-second ring (rps, error_rate, the latency quantiles); drift, quality
 * and accuracy metrics read the newest analysed window, and no_data is the
 * seconds since the model's last event, so `over` is refused for them.
 * The fairness gaps (A: a protected attribute of the model's fairness_by,
 * or *) pool the counts of the windows that started in the last `over`
 * (default 1m) per group, then compute the gap (common/fairness.h).
 *
 * Errors cite the place: "FILE:LINE: [alert NAME] expr: ... at column C".
 * A rule_set owns every string it holds; free it with rules_free. */
#ifndef MLW_RULES_H
#define MLW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define RULES_FEATURE_MAX  128
#define RULES_DEFAULT_OVER 60000
#define RULES_EXPR_MAX     1024
#define RULES_AND_MAX      4

enum rule_metric {
	METRIC_RPS,
	METRIC_ERROR_RATE,
	METRIC_P50,
	METRIC_P90,
	METRIC_P95,
	METRIC_P99,
	METRIC_P999,
	METRIC_ACCURACY,
	METRIC_EST_ACCURACY,
	METRIC_MACRO_F1,
	METRIC_MAE,
	METRIC_RMSE,
	METRIC_LABEL_COVERAGE,
	METRIC_DRIFT,
	METRIC_PSI,
	METRIC_MISSING_RATE,
	METRIC_TYPE_ERROR_RATE,
	METRIC_OUT_OF_RANGE_RATE,
	METRIC_NEW_CATEGORY_RATE,
	METRIC_NO_DATA,
	/* LLM serving (issue 15): time to first token, time per output
	 * token (ms percentiles) and output tokens per second. */
	METRIC_P50_TTFT,
	METRIC_P90_TTFT,
	METRIC_P99_TTFT,
	METRIC_P50_TPOT,
	METRIC_P90_TPOT,
	METRIC_P99_TPOT,
	METRIC_TOKENS_PER_S,
	METRIC_DP_RATIO,
	METRIC_DP_DIFF,
	METRIC_EO_DIFF,
	METRIC_EODDS_DIFF,
	METRIC_ACC_GAP,
	METRIC_COUNT_
};

/* Where a metric's value comes from. */
enum metric_source {
	SOURCE_RING,       /* the in-memory 1-second ring, over an interval */
	SOURCE_ACCURACY,   /* the newest row of the accuracy table */
	SOURCE_FEATURE,    /* the newest window's drift row of a feature */
	SOURCE_LAST_EVENT, /* now - the model's last event */
	SOURCE_FAIRNESS,   /* the fairness table, pooled over `over` */
};

enum rule_op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };

enum rule_severity { SEVERITY_PAGE, SEVERITY_WARN, SEVERITY_INFO };

struct rule_expr {
	enum rule_metric metric;
	enum rule_op op;
	double threshold;
	int64_t over_ms;                     /* ring metrics only; RULES_DEFAULT_OVER when absent */
	bool all_features;                   /* F was '*' */
	char feature[RULES_FEATURE_MAX + 1]; /* per-feature metrics, when not '*' */
	/* F, KEY=VALUE: a segment's value (has_segment; all_segments for '*') */
	bool has_segment, all_segments;
	char seg_key[RULES_FEATURE_MAX + 1];
	char seg_value[64 + 1];
};

struct rule {
	char *name;
	char *model; /* a model name, or "*" */
	char *expr_text;
	struct rule_expr expr;
	int64_t for_ms;
	enum rule_severity severity;
	size_t *receivers; /* indexes into cfg->receivers */
	size_t n_receivers;
	char *summary;     /* template; never NULL (a default when not set) */
	char *description; /* template; "" when not set */
	bool send_resolved;
	int64_t repeat_interval_ms;
	bool notify_nodata; /* tell receivers when a firing alert's data stops */
	/* inhibit = RULE, ... (issue 17): while an alert of one of these rules
	 * (indexes into the set) fires for the same model, this rule's
	 * notifications are held back as under a silence */
	size_t *inhibit;
	size_t n_inhibit;
	/* expr = A and B and ... (issue 17): expr is A (it names the instances
	 * and gives the value); the rule's condition holds only while every
	 * further condition also holds for the model. Up to RULES_AND_MAX. */
	struct rule_expr *also;
	size_t n_also;
};

struct rule_set {
	struct rule *v;
	size_t n;
};

/* Parses one expression. Returns 0, or -1 with "what at column C" in err. */
int rules_parse_expr(const char *text, struct rule_expr *out, char *err, size_t errlen);

/* Builds the rules of every [alert] section of cfg. Returns 0, or -1 with
 * "FILE:LINE: [alert NAME] ..." in err (nothing to free then). */
int rules_load(const struct mlw_config *cfg, struct rule_set *out, char *err, size_t errlen);
void rules_free(struct rule_set *rs);

/* Whether value OP threshold holds (NaN never does). */
bool rules_compare(enum rule_op op, double value, double threshold);

const char *rules_metric_name(enum rule_metric m);
const char *rules_op_name(enum rule_op op);
const char *rules_severity_name(enum rule_severity s);
enum metric_source rules_metric_source(enum rule_metric m);
/* True for drift(F), psi(F), the quality rates and the fairness gaps: one
 * instance per feature (protected attribute). */
bool rules_metric_per_feature(enum rule_metric m);

/* What a template may refer to. NULL fields render as "". */
struct rule_vars {
	const char *rule, *model, *feature, *window;
	double value, threshold;
};

/* Checks a template: only {model} {feature} {value} {threshold} {rule}
 * {window}, and "{{" / "}}" for literal braces. Returns 0 or -1 with the
 * reason in err. */
int rules_check_template(const char *tmpl, char *err, size_t errlen);
/* Renders tmpl into buf (cap bytes, NUL-terminated; truncated on a UTF-8
 * boundary when too long). Returns buf. */
char *rules_render(const char *tmpl, const struct rule_vars *vars, char *buf, size_t cap);
/* Formats a metric value the way notifications show it ("312.5", "0.0123",
 * "NaN"). Returns buf. */
char *rules_format_value(double v, char *buf, size_t cap);

#endif
