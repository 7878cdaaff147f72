/* rules: see rules.h. */
#include "rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The longest `over` the ring is asked for; the collector's ring keeps at
 * least this much (an hour of 1-second slots per model). */
#define OVER_MAX_MS (3600 * 1000LL)

static const struct {
	const char *name;
	enum metric_source source;
	bool per_feature;
} metrics[METRIC_COUNT_] = {
    [METRIC_RPS] = {"rps", SOURCE_RING, false},
    [METRIC_ERROR_RATE] = {"error_rate", SOURCE_RING, false},
    [METRIC_P50] = {"p50_latency_ms", SOURCE_RING, false},
    [METRIC_P90] = {"p90_latency_ms", SOURCE_RING, false},
    [METRIC_P95] = {"p95_latency_ms", SOURCE_RING, false},
    [METRIC_P99] = {"p99_latency_ms", SOURCE_RING, false},
    [METRIC_P999] = {"p999_latency_ms", SOURCE_RING, false},
    [METRIC_ACCURACY] = {"accuracy", SOURCE_ACCURACY, false},
    [METRIC_EST_ACCURACY] = {"est_accuracy", SOURCE_ACCURACY, false},
    [METRIC_MACRO_F1] = {"macro_f1", SOURCE_ACCURACY, false},
    [METRIC_MAE] = {"mae", SOURCE_ACCURACY, false},
    [METRIC_RMSE] = {"rmse", SOURCE_ACCURACY, false},
    [METRIC_LABEL_COVERAGE] = {"label_coverage", SOURCE_ACCURACY, false},
    [METRIC_DRIFT] = {"drift", SOURCE_FEATURE, true},
    [METRIC_PSI] = {"psi", SOURCE_FEATURE, true},
    [METRIC_MISSING_RATE] = {"missing_rate", SOURCE_FEATURE, true},
    [METRIC_TYPE_ERROR_RATE] = {"type_error_rate", SOURCE_FEATURE, true},
    [METRIC_OUT_OF_RANGE_RATE] = {"out_of_range_rate", SOURCE_FEATURE, true},
    [METRIC_NEW_CATEGORY_RATE] = {"new_category_rate", SOURCE_FEATURE, true},
    [METRIC_NO_DATA] = {"no_data", SOURCE_LAST_EVENT, false},
    [METRIC_P50_TTFT] = {"p50_ttft_ms", SOURCE_RING, false},
    [METRIC_P90_TTFT] = {"p90_ttft_ms", SOURCE_RING, false},
    [METRIC_P99_TTFT] = {"p99_ttft_ms", SOURCE_RING, false},
    [METRIC_P50_TPOT] = {"p50_tpot_ms", SOURCE_RING, false},
    [METRIC_P90_TPOT] = {"p90_tpot_ms", SOURCE_RING, false},
    [METRIC_P99_TPOT] = {"p99_tpot_ms", SOURCE_RING, false},
    [METRIC_TOKENS_PER_S] = {"output_tokens_per_s", SOURCE_RING, false},
    [METRIC_DP_RATIO] = {"dp_ratio", SOURCE_FAIRNESS, true},
    [METRIC_DP_DIFF] = {"dp_diff", SOURCE_FAIRNESS, true},
    [METRIC_EO_DIFF] = {"eo_diff", SOURCE_FAIRNESS, true},
    [METRIC_EODDS_DIFF] = {"eodds_diff", SOURCE_FAIRNESS, true},
    [METRIC_ACC_GAP] = {"acc_gap", SOURCE_FAIRNESS, true},
};

static const char *const op_names[] = {">", ">=", "<", "<=", "==", "!="};
static const char *const severity_names[] = {"page", "warn", "info"};

const char *rules_metric_name(enum rule_metric m)
{
	return (unsigned)m < METRIC_COUNT_ ? metrics[m].name : "?";
}

const char *rules_op_name(enum rule_op op)
{
	return (unsigned)op <= OP_NE ? op_names[op] : "?";
}

const char *rules_severity_name(enum rule_severity s)
{
	return (unsigned)s <= SEVERITY_INFO ? severity_names[s] : "?";
}

enum metric_source rules_metric_source(enum rule_metric m)
{
	return metrics[m].source;
}

bool rules_metric_per_feature(enum rule_metric m)
{
	return (unsigned)m < METRIC_COUNT_ && metrics[m].per_feature;
}

bool rules_compare(enum rule_op op, double v, double t)
{
	if (isnan(v) || isnan(t))
		return false;
	switch (op) {
	case OP_GT:
		return v > t;
	case OP_GE:
		return v >= t;
	case OP_LT:
		return v < t;
	case OP_LE:
		return v <= t;
	case OP_EQ:
		return v == t;
	case OP_NE:
		return v != t;
	}
	return false;
}

/* ---- expression parser -------------------------------------------------- */

struct parser {
	const char *s, *p;
	char *err;
	size_t errlen;
};

/* "WHAT at column C" and, when hint is not NULL, " (HINT)". */
static int perr_hint(struct parser *ps, const char *at, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr_hint(struct parser *ps, const char *at, const char *hint, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "%s at column %d%s%s%s", what, (int)(at - ps->s) + 1,
	         hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	return -1;
}

#define perr(ps, at, ...) perr_hint(ps, at, NULL, __VA_ARGS__)

static void skip_space(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool feature_name_valid(const char *f, size_t n)
{
	if (n == 0 || n > RULES_FEATURE_MAX || !text_printable(f, n))
		return false;
	if (f[0] == '@')
		return (n == 11 && memcmp(f, "@prediction", 11) == 0) ||
		       (n == 6 && memcmp(f, "@score", 6) == 0);
	return true;
}

/* ', KEY=VALUE' or ', KEY=*' after a feature (issue 17): KEY and VALUE bare
 * (no space, quote, comma, '=' or parenthesis). */
static int parse_segment(struct parser *ps, struct rule_expr *out)
{
	const char *start, *k, *v;
	size_t kn, vn;

	if (rules_metric_source(out->metric) != SOURCE_FEATURE)
		return perr(ps, ps->p, "%s takes no segment", rules_metric_name(out->metric));
	ps->p++;
	skip_space(ps);
	start = k = ps->p;
	while (*ps->p && !strchr(" \t\"(),=", *ps->p))
		ps->p++;
	kn = (size_t)(ps->p - k);
	if (*ps->p != '=' || kn == 0)
		return perr(ps, start,
		            "expected a segment KEY=VALUE (like country=DE or country=*)");
	if (kn > RULES_FEATURE_MAX || !text_printable(k, kn))
		return perr(ps, start, "invalid segment key (1-%d bytes of printable UTF-8)",
		            RULES_FEATURE_MAX);
	v = ++ps->p;
	while (*ps->p && !strchr(" \t\"(),=", *ps->p))
		ps->p++;
	vn = (size_t)(ps->p - v);
	if (vn == 0)
		return perr(ps, v, "empty segment value (a value, or * for every segment)");
	if (vn >= sizeof(out->seg_value) || !text_printable(v, vn))
		return perr(ps, v, "invalid segment value (1-%d bytes of printable UTF-8)",
		            (int)sizeof(out->seg_value) - 1);
	memcpy(out->seg_key, k, kn);
	out->seg_key[kn] = '\0';
	memcpy(out->seg_value, v, vn);
	out->seg_value[vn] = '\0';
	out->has_segment = true;
	out->all_segments = vn == 1 && *v == '*';
	skip_space(ps);
	return 0;
}

/* ( '*' | "quoted" | bare ) ')' after the metric name. */
static int parse_feature(struct parser *ps, struct rule_expr *out)
{
	const char *open = ps->p, *start;
	size_t n = 0;

	if (*ps->p != '(')
		return perr(ps, ps->p,
		            "%s needs a feature in parentheses, like %s(amount) or %s(*)",
		            rules_metric_name(out->metric), rules_metric_name(out->metric),
		            rules_metric_name(out->metric));
	ps->p++;
	skip_space(ps);
	start = ps->p;
	if (*ps->p == '*') {
		out->all_features = true;
		ps->p++;
	} else if (*ps->p == '"') {
		ps->p++;
		for (;;) {
			char c = *ps->p;
			if (!c)
				return perr(ps, start, "unterminated quoted feature name");
			if (c == '"')
				break;
			if (c == '\\') {
				c = *++ps->p;
				if (c != '"' && c != '\\')
					return perr(
					    ps, ps->p - 1,
					    "only \\\" and \\\\ may be escaped in a feature "
					    "name");
			}
			if (n >= RULES_FEATURE_MAX)
				return perr(ps, start, "feature name longer than %d bytes",
				            RULES_FEATURE_MAX);
			out->feature[n++] = c;
			ps->p++;
		}
		ps->p++;
	} else {
		while (*ps->p && *ps->p != ')' && *ps->p != '(' && *ps->p != '"' && *ps->p != ' ' &&
		       *ps->p != '\t' && *ps->p != ',') {
			if (n >= RULES_FEATURE_MAX)
				return perr(ps, start, "feature name longer than %d bytes",
				            RULES_FEATURE_MAX);
			out->feature[n++] = *ps->p++;
		}
		if (n == 0)
			return perr(ps, start, "empty feature name in %s()",
			            rules_metric_name(out->metric));
	}
	out->feature[n] = '\0';
	if (!out->all_features && !feature_name_valid(out->feature, n))
		return perr(ps, start,
		            "invalid feature name (1-%d bytes of printable UTF-8, not starting "
		            "with '@' except @prediction and @score)",
		            RULES_FEATURE_MAX);
	skip_space(ps);
	if (*ps->p == ',' && parse_segment(ps, out))
		return -1;
	if (*ps->p != ')')
		return perr(ps, open, "missing ')' after the feature name");
	ps->p++;
	return 0;
}

static int parse_op(struct parser *ps, enum rule_op *op)
{
	const char *p = ps->p;

	if (p[0] == '>' && p[1] == '=')
		*op = OP_GE, ps->p += 2;
	else if (p[0] == '<' && p[1] == '=')
		*op = OP_LE, ps->p += 2;
	else if (p[0] == '=' && p[1] == '=')
		*op = OP_EQ, ps->p += 2;
	else if (p[0] == '!' && p[1] == '=')
		*op = OP_NE, ps->p += 2;
	else if (p[0] == '>')
		*op = OP_GT, ps->p += 1;
	else if (p[0] == '<')
		*op = OP_LT, ps->p += 1;
	else if (p[0] == '=')
		return perr(ps, p, "'=' is not an operator; use '=='");
	else
		return perr_hint(ps, p, "> >= < <= == !=", "expected an operator");
	return 0;
}

static int parse_number(struct parser *ps, double *v)
{
	const char *start = ps->p;
	char *end;
	char c = *start;

	if (!(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')))
		return perr(ps, start, "expected a number");
	/* strtod would accept "inf", "nan" and hex; the grammar does not. */
	for (const char *q = start; *q && *q != ' ' && *q != '\t'; q++)
		if (!strchr("0123456789+-.eE", *q))
			return perr(ps, q, "unexpected '%c' in the number", *q);
	errno = 0;
	*v = strtod(start, &end);
	if (end == start || errno == ERANGE || !isfinite(*v))
		return perr(ps, start, "not a finite number");
	if (*end && *end != ' ' && *end != '\t')
		return perr(ps, end, "unexpected '%c' after the number", *end);
	ps->p = end;
	return 0;
}

int rules_parse_expr(const char *text, struct rule_expr *out, char *err, size_t errlen)
{
	struct parser ps = {text, text, err, errlen};
	const char *start;
	size_t n;
	int m;

	memset(out, 0, sizeof(*out));
	out->over_ms = RULES_DEFAULT_OVER;
	if (strlen(text) > RULES_EXPR_MAX)
		return perr(&ps, text, "expression longer than %d bytes", RULES_EXPR_MAX);
	skip_space(&ps);
	start = ps.p;
	while (ident_char(*ps.p))
		ps.p++;
	n = (size_t)(ps.p - start);
	if (n == 0)
		return perr_hint(&ps, start, "rps, error_rate, p99_latency_ms, drift(F), ...",
		                 "expected a metric");
	/* multivariate_drift() (issue 19): drift() of the model's
	 * multivariate row, the pseudo-feature "@multivariate" */
	if (n == 18 && memcmp(start, "multivariate_drift", 18) == 0) {
		skip_space(&ps);
		if (*ps.p != '(')
			return perr(&ps, ps.p,
			            "multivariate_drift needs (), like multivariate_drift()");
		ps.p++;
		skip_space(&ps);
		if (*ps.p != ')')
			return perr(&ps, ps.p, "multivariate_drift takes no feature");
		ps.p++;
		out->metric = METRIC_DRIFT;
		snprintf(out->feature, sizeof(out->feature), "@multivariate");
		m = METRIC_DRIFT;
		goto comparison;
	}
	for (m = 0; m < METRIC_COUNT_; m++)
		if (strlen(metrics[m].name) == n && memcmp(metrics[m].name, start, n) == 0)
			break;
	if (m == METRIC_COUNT_)
		return perr_hint(&ps, start,
		                 "expected rps, error_rate, p50_latency_ms .. p999_latency_ms, "
		                 "accuracy, est_accuracy, macro_f1, mae, rmse, label_coverage, "
		                 "drift(F), multivariate_drift(), psi(F), missing_rate(F), "
		                 "type_error_rate(F), "
		                 "out_of_range_rate(F), new_category_rate(F), no_data, "
		                 "p50_ttft_ms .. p99_ttft_ms, p50_tpot_ms .. p99_tpot_ms, "
		                 "output_tokens_per_s, dp_ratio(A), dp_diff(A), eo_diff(A), "
		                 "eodds_diff(A) or acc_gap(A)",
		                 "unknown metric '%.*s'", (int)(n > 64 ? 64 : n), start);
	out->metric = (enum rule_metric)m;
	skip_space(&ps);
	if (metrics[m].per_feature) {
		if (parse_feature(&ps, out))
			return -1;
	} else if (*ps.p == '(') {
		return perr(&ps, ps.p, "%s takes no feature", metrics[m].name);
	}
comparison:
	skip_space(&ps);
	if (parse_op(&ps, &out->op))
		return -1;
	skip_space(&ps);
	if (parse_number(&ps, &out->threshold))
		return -1;
	skip_space(&ps);
	if (*ps.p) {
		const char *kw = ps.p, *d;
		char dur[32];
		while (ident_char(*ps.p))
			ps.p++;
		if ((size_t)(ps.p - kw) != 4 || memcmp(kw, "over", 4) != 0)
			return perr(&ps, kw,
			            "unexpected text after the threshold (only 'over DUR' "
			            "may follow)");
		if (metrics[m].source != SOURCE_RING && metrics[m].source != SOURCE_FAIRNESS)
			return perr(&ps, kw,
			            "'over' applies to rps, error_rate and latency metrics and the "
			            "fairness gaps only (%s uses the newest window)",
			            metrics[m].name);
		skip_space(&ps);
		d = ps.p;
		while (*ps.p && *ps.p != ' ' && *ps.p != '\t')
			ps.p++;
		if (ps.p == d)
			return perr(&ps, d, "expected a duration after 'over' (like 5m)");
		if ((size_t)(ps.p - d) >= sizeof(dur))
			return perr(&ps, d, "duration too long");
		memcpy(dur, d, (size_t)(ps.p - d));
		dur[ps.p - d] = '\0';
		if (config_parse_duration(dur, &out->over_ms))
			return perr(&ps, d, "bad duration '%s' (like 30s, 5m, 1h)", dur);
		if (out->over_ms < 1000 || out->over_ms > OVER_MAX_MS)
			return perr(&ps, d, "'over' must be between 1s and 1h");
		/* The ring has 1-second slots: round up to whole seconds. */
		out->over_ms = (out->over_ms + 999) / 1000 * 1000;
		skip_space(&ps);
		if (*ps.p)
			return perr(&ps, ps.p, "unexpected text after the duration");
	}
	return 0;
}

/* ---- templates ---------------------------------------------------------- */

static const char *const placeholders[] = {"model",     "feature", "value",
                                           "threshold", "rule",    "window"};

/* Index of the placeholder starting at p (just after '{') and its length, or -1. */
static int placeholder_at(const char *p, size_t *len)
{
	for (int i = 0; i < 6; i++) {
		size_t n = strlen(placeholders[i]);
		if (strncmp(p, placeholders[i], n) == 0 && p[n] == '}') {
			*len = n + 1;
			return i;
		}
	}
	return -1;
}

int rules_check_template(const char *tmpl, char *err, size_t errlen)
{
	for (const char *p = tmpl; *p; p++) {
		size_t len;
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			p++;
			continue;
		}
		if (*p == '{') {
			if (placeholder_at(p + 1, &len) < 0) {
				size_t k = strcspn(p + 1, "}");
				snprintf(
				    err, errlen,
				    "unknown placeholder '{%.*s' at column %d (use {model}, "
				    "{feature}, {value}, {threshold}, {rule}, {window}; {{ for "
				    "a brace)",
				    (int)(k > 32 ? 32 : k + (p[1 + k] == '}')), p + 1,
				    (int)(p - tmpl) + 1);
				return -1;
			}
			p += len;
		} else if (*p == '}') {
			snprintf(err, errlen, "unmatched '}' at column %d (use }} for a brace)",
			         (int)(p - tmpl) + 1);
			return -1;
		}
	}
	return 0;
}

char *rules_format_value(double v, char *buf, size_t cap)
{
	if (isnan(v))
		snprintf(buf, cap, "NaN");
	else if (isinf(v))
		snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(buf, cap, "%.6g", v);
	return buf;
}

/* Appends s[0..n) to buf at *len, stopping on a UTF-8 boundary when full. */
static void append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + 1 >= cap)
		return;
	if (*len + n + 1 > cap) {
		n = cap - 1 - *len;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

char *rules_render(const char *tmpl, const struct rule_vars *vars, char *buf, size_t cap)
{
	size_t len = 0;
	char num[64];

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (const char *p = tmpl; *p;) {
		size_t k;
		int i;
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			append(buf, cap, &len, p, 1);
			p += 2;
			continue;
		}
		if (*p == '{' && (i = placeholder_at(p + 1, &k)) >= 0) {
			const char *v = NULL;
			switch (i) {
			case 0:
				v = vars->model;
				break;
			case 1:
				v = vars->feature;
				break;
			case 2:
				v = rules_format_value(vars->value, num, sizeof(num));
				break;
			case 3:
				v = rules_format_value(vars->threshold, num, sizeof(num));
				break;
			case 4:
				v = vars->rule;
				break;
			default:
				v = vars->window;
				break;
			}
			if (v)
				append(buf, cap, &len, v, strlen(v));
			p += 1 + k;
			continue;
		}
		k = strcspn(p + 1, "{}") + 1;
		append(buf, cap, &len, p, k);
		p += k;
	}
	return buf;
}

/* ---- rule sets ---------------------------------------------------------- */

static void rule_free(struct rule *r)
{
	free(r->name);
	free(r->model);
	free(r->expr_text);
	free(r->receivers);
	free(r->inhibit);
	free(r->also);
	free(r->summary);
	free(r->description);
}

void rules_free(struct rule_set *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->v[i]);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

static int parse_receivers(const struct mlw_config *cfg, const struct alert_config *a,
                           struct rule *r, char *err, size_t errlen)
{
	const char *p = a->receivers;
	size_t cap = 0;

	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t k = strcspn(p, " ,\t");
		size_t j;
		if (!k)
			break;
		for (j = 0; j < cfg->n_receivers; j++)
			if (strlen(cfg->receivers[j].name) == k &&
			    strncmp(cfg->receivers[j].name, p, k) == 0)
				break;
		if (j == cfg->n_receivers) {
			snprintf(err, errlen,
			         "[alert %s] names receiver '%.*s', which has no "
			         "[receiver] section",
			         a->name, (int)k, p);
			return -1;
		}
		bool dup = false;
		for (size_t i = 0; i < r->n_receivers; i++)
			dup |= r->receivers[i] == j;
		if (!dup) {
			if (r->n_receivers == cap) {
				size_t ncap = cap ? cap * 2 : 4;
				size_t *nv = realloc(r->receivers, ncap * sizeof(*nv));
				if (!nv) {
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				r->receivers = nv;
				cap = ncap;
			}
			r->receivers[r->n_receivers++] = j;
		}
		p += k;
	}
	return 0;
}

/* inhibit = RULE, ...: [alert] names of cfg, not the rule itself. */
static int parse_inhibit(const struct mlw_config *cfg, const struct alert_config *a, struct rule *r,
                         char *err, size_t errlen)
{
	const char *p = a->inhibit ? a->inhibit : "";

	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t k = strcspn(p, " ,\t"), j;
		if (!k)
			break;
		for (j = 0; j < cfg->n_alerts; j++)
			if (strlen(cfg->alerts[j].name) == k &&
			    strncmp(cfg->alerts[j].name, p, k) == 0)
				break;
		if (j == cfg->n_alerts) {
			snprintf(err, errlen,
			         "[alert %s] inhibit: '%.*s' is not an [alert] section of the "
			         "configuration",
			         a->name, (int)k, p);
			return -1;
		}
		if (&cfg->alerts[j] == a) {
			snprintf(err, errlen, "[alert %s] inhibit: a rule cannot inhibit itself",
			         a->name);
			return -1;
		}
		size_t *nv = realloc(r->inhibit, (r->n_inhibit + 1) * sizeof(*nv));
		if (!nv) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->inhibit = nv;
		r->inhibit[r->n_inhibit++] = j;
		p += k;
	}
	return 0;
}

static char *default_summary(const struct rule_expr *e)
{
	char buf[512];
	const char *what = rules_metric_per_feature(e->metric) ? "{rule}: %s({feature}) of {model} "
	                                                         "is {value} (%s {threshold})"
	                                                       : "{rule}: %s of {model} is {value} "
	                                                         "(%s {threshold})";
	snprintf(buf, sizeof(buf), what, rules_metric_name(e->metric), rules_op_name(e->op));
	return strdup(buf);
}

/* Where the next top-level " and " (or a final " and") of s starts,
 * outside double quotes, or NULL. */
static const char *find_and(const char *s)
{
	bool q = false;
	for (const char *p = s; *p; p++) {
		if (*p == '\\' && q && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			q = !q;
		/* a trailing "and" counts too: its missing condition is named */
		else if (!q && (*p == ' ' || *p == '\t') && strncmp(p + 1, "and", 3) == 0 &&
		         (p[4] == ' ' || p[4] == '\t' || p[4] == '\0'))
			return p;
	}
	return NULL;
}

/* expr = A [and B]...: A into r->expr, the rest into r->also. */
static int parse_conditions(const char *text, struct rule *r, char *why, size_t whylen)
{
	char part[RULES_EXPR_MAX + 1];
	const char *p = text, *and;
	int k = 0;

	if (strlen(text) > RULES_EXPR_MAX)
		return rules_parse_expr(text, &r->expr, why, whylen); /* says why */
	for (;; k++) {
		size_t n;
		struct rule_expr *x;
		char sub[400];

		and = find_and(p);
		n = and? (size_t)(and-p) : strlen(p);
		memcpy(part, p, n);
		part[n] = '\0';
		if (k == 0) {
			x = &r->expr;
		} else {
			if (k > RULES_AND_MAX) {
				snprintf(why, whylen, "more than %d conditions joined by 'and'",
				         RULES_AND_MAX + 1);
				return -1;
			}
			struct rule_expr *nv = realloc(r->also, (size_t)k * sizeof(*nv));
			if (!nv) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			r->also = nv;
			x = &r->also[k - 1];
			r->n_also = (size_t)k;
		}
		if (rules_parse_expr(part, x, sub, sizeof(sub))) {
			if (k || and)
				snprintf(why, whylen, "condition %d ('%.60s'): %s", k + 1, part,
				         sub);
			else
				snprintf(why, whylen, "%s", sub);
			return -1;
		}
		if (k && (x->all_features || x->all_segments)) {
			snprintf(why, whylen,
			         "condition %d ('%.60s'): only the first condition may name every "
			         "feature or segment ('*'); the others are one value per model",
			         k + 1, part);
			return -1;
		}
		if (!and)
			break;
		p = and+4; /* past " and", at its blank or the end */
		while (*p == ' ' || *p == '\t')
			p++;
	}
	return 0;
}

static int load_one(const struct mlw_config *cfg, const struct alert_config *a, struct rule *r,
                    char *err, size_t errlen)
{
	char why[768];
	const char *file = cfg->path ? cfg->path : "(config)";
	int line = a->expr_line ? a->expr_line : a->line;

	if (parse_conditions(a->expr, r, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%d: [alert %s] expr: %.700s", file, line, a->name, why);
		return -1;
	}
	if (strcmp(a->model, "*") != 0 &&
	    (strlen(a->model) == 0 || strlen(a->model) > 64 ||
	     strspn(a->model, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                      "qrstuvwxyz0123456789_.-") != strlen(a->model))) {
		snprintf(err, errlen,
		         "%s:%d: [alert %s] model: '%s' is not a model name (1-64 of "
		         "[A-Za-z0-9_.-]) or '*'",
		         file, a->line, a->name, a->model);
		return -1;
	}
	if (a->summary[0] && rules_check_template(a->summary, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%d: [alert %s] summary: %s", file, a->line, a->name, why);
		return -1;
	}
	if (a->description[0] && rules_check_template(a->description, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%d: [alert %s] description: %s", file, a->line, a->name,
		         why);
		return -1;
	}
	if (parse_receivers(cfg, a, r, why, sizeof(why)) ||
	    parse_inhibit(cfg, a, r, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%d: %s", file, a->line, why);
		return -1;
	}
	r->severity = strcmp(a->severity, "page") == 0   ? SEVERITY_PAGE
	              : strcmp(a->severity, "info") == 0 ? SEVERITY_INFO
	                                                 : SEVERITY_WARN;
	r->for_ms = a->for_ms;
	r->send_resolved = a->send_resolved;
	r->notify_nodata = a->notify_nodata;
	r->repeat_interval_ms = a->repeat_interval_ms;
	r->name = strdup(a->name);
	r->model = strdup(a->model);
	r->expr_text = strdup(a->expr);
	r->summary = a->summary[0] ? strdup(a->summary) : default_summary(&r->expr);
	r->description = strdup(a->description);
	if (!r->name || !r->model || !r->expr_text || !r->summary || !r->description) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int rules_load(const struct mlw_config *cfg, struct rule_set *out, char *err, size_t errlen)
{
	out->v = NULL;
	out->n = 0;
	if (cfg->n_alerts == 0)
		return 0;
	out->v = calloc(cfg->n_alerts, sizeof(*out->v));
	if (!out->v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_alerts; i++) {
		out->n = i + 1;
		if (load_one(cfg, &cfg->alerts[i], &out->v[i], err, errlen)) {
			rules_free(out);
			return -1;
		}
	}
	return 0;
}
