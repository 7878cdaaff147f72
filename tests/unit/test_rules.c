/* rules: the alert expression grammar of CONTRACT section 7, precise errors
 * with columns and FILE:LINE, templates, and rule sets built from a config. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/rules.h"
#include "../lib/harness.h"

static struct rule_expr parse_ok(const char *s)
{
	struct rule_expr e;
	char err[256] = "";
	int rc = rules_parse_expr(s, &e, err, sizeof(err));
	cr_assert_eq(rc, 0, "'%s' should parse: %s", s, err);
	return e;
}

static void parse_fails(const char *s, const char *needle)
{
	struct rule_expr e;
	char err[512] = "";
	cr_assert_eq(rules_parse_expr(s, &e, err, sizeof(err)), -1, "'%s' should not parse", s);
	cr_assert(strstr(err, needle), "error for '%s' is '%s', wanted '%s'", s, err, needle);
}

Test(rules, every_metric_of_the_contract_parses)
{
	static const struct {
		const char *text;
		enum rule_metric m;
		enum metric_source src;
	} cases[] = {
	    {"rps < 1", METRIC_RPS, SOURCE_RING},
	    {"error_rate > 0.05", METRIC_ERROR_RATE, SOURCE_RING},
	    {"p50_latency_ms > 10", METRIC_P50, SOURCE_RING},
	    {"p90_latency_ms > 10", METRIC_P90, SOURCE_RING},
	    {"p95_latency_ms > 10", METRIC_P95, SOURCE_RING},
	    {"p99_latency_ms > 250", METRIC_P99, SOURCE_RING},
	    {"p999_latency_ms > 10", METRIC_P999, SOURCE_RING},
	    {"accuracy < 0.9", METRIC_ACCURACY, SOURCE_ACCURACY},
	    {"est_accuracy < 0.9", METRIC_EST_ACCURACY, SOURCE_ACCURACY},
	    {"macro_f1 < 0.8", METRIC_MACRO_F1, SOURCE_ACCURACY},
	    {"mae > 3", METRIC_MAE, SOURCE_ACCURACY},
	    {"rmse > 3", METRIC_RMSE, SOURCE_ACCURACY},
	    {"label_coverage < 0.1", METRIC_LABEL_COVERAGE, SOURCE_ACCURACY},
	    {"drift(amount) > 1", METRIC_DRIFT, SOURCE_FEATURE},
	    {"psi(amount) > 0.2", METRIC_PSI, SOURCE_FEATURE},
	    {"missing_rate(age) > 0.1", METRIC_MISSING_RATE, SOURCE_FEATURE},
	    {"type_error_rate(age) > 0", METRIC_TYPE_ERROR_RATE, SOURCE_FEATURE},
	    {"out_of_range_rate(age) > 0.01", METRIC_OUT_OF_RANGE_RATE, SOURCE_FEATURE},
	    {"new_category_rate(country) > 0.01", METRIC_NEW_CATEGORY_RATE, SOURCE_FEATURE},
	    {"no_data > 60", METRIC_NO_DATA, SOURCE_LAST_EVENT},
	    {"p50_ttft_ms > 200", METRIC_P50_TTFT, SOURCE_RING},
	    {"p90_ttft_ms > 200", METRIC_P90_TTFT, SOURCE_RING},
	    {"p99_ttft_ms > 500", METRIC_P99_TTFT, SOURCE_RING},
	    {"p50_tpot_ms > 20", METRIC_P50_TPOT, SOURCE_RING},
	    {"p90_tpot_ms > 20", METRIC_P90_TPOT, SOURCE_RING},
	    {"p99_tpot_ms > 50", METRIC_P99_TPOT, SOURCE_RING},
	    {"output_tokens_per_s < 10", METRIC_TOKENS_PER_S, SOURCE_RING},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rule_expr e = parse_ok(cases[i].text);
		cr_expect_eq(e.metric, cases[i].m, "%s", cases[i].text);
		cr_expect_eq(rules_metric_source(e.metric), cases[i].src, "%s", cases[i].text);
		cr_expect_eq(e.over_ms, RULES_DEFAULT_OVER);
		cr_expect_eq(rules_metric_per_feature(e.metric), cases[i].src == SOURCE_FEATURE);
		/* The name round-trips: what the error messages and labels show. */
		cr_expect_eq(strncmp(cases[i].text, rules_metric_name(e.metric),
		                     strlen(rules_metric_name(e.metric))),
		             0);
	}
}

Test(rules, operators_thresholds_and_over)
{
	struct rule_expr e = parse_ok("p99_latency_ms>=250.5 over 5m");
	cr_assert_eq(e.op, OP_GE);
	cr_assert_float_eq(e.threshold, 250.5, 1e-12);
	cr_assert_eq(e.over_ms, 300000);

	e = parse_ok("  error_rate   !=   -1e-3  over   90s  ");
	cr_assert_eq(e.op, OP_NE);
	cr_assert_float_eq(e.threshold, -0.001, 1e-15);
	cr_assert_eq(e.over_ms, 90000);

	cr_assert_eq(parse_ok("rps < 1").op, OP_LT);
	cr_assert_eq(parse_ok("rps <= 1").op, OP_LE);
	cr_assert_eq(parse_ok("rps > 1").op, OP_GT);
	cr_assert_eq(parse_ok("rps == 0").op, OP_EQ);
	/* Sub-second `over` rounds up to the ring's 1 s resolution. */
	cr_assert_eq(parse_ok("rps < 1 over 1500ms").over_ms, 2000);
}

Test(rules, features_bare_quoted_star_and_outputs)
{
	struct rule_expr e = parse_ok("drift(*) > 1");
	cr_assert(e.all_features);
	e = parse_ok("drift( amount ) > 1");
	cr_assert_str_eq(e.feature, "amount");
	cr_assert_not(e.all_features);
	e = parse_ok("psi(\"the \\\"odd\\\" one (x)\") > 0.2");
	cr_assert_str_eq(e.feature, "the \"odd\" one (x)");
	e = parse_ok("drift(@prediction) > 1");
	cr_assert_str_eq(e.feature, "@prediction");
	e = parse_ok("drift(@score) > 1");
	cr_assert_str_eq(e.feature, "@score");
	e = parse_ok("missing_rate(größe) > 0.5");
	cr_assert_str_eq(e.feature, "größe");
}

Test(rules, errors_name_what_and_where)
{
	parse_fails("", "expected a metric at column 1");
	parse_fails("latency > 3", "unknown metric 'latency'");
	parse_fails("p99_latency_ms 250", "expected an operator at column 16 (> >= < <= == !=)");
	parse_fails("p99_latency_ms = 250", "'=' is not an operator; use '==' at column 16");
	parse_fails("p99_latency_ms > ", "expected a number at column 18");
	parse_fails("p99_latency_ms > abc", "expected a number");
	parse_fails("p99_latency_ms > 25O", "unexpected 'O' in the number at column 20");
	parse_fails("p99_latency_ms > inf", "expected a number");
	parse_fails("p99_latency_ms > 1e999", "not a finite number");
	parse_fails("p99_latency_ms > 0x10", "unexpected 'x'");
	parse_fails("p99_latency_ms > 250 for 5m", "only 'over DUR' may follow");
	parse_fails("p99_latency_ms > 250 over", "expected a duration after 'over'");
	parse_fails("p99_latency_ms > 250 over 5 parsecs", "unexpected text after the duration");
	parse_fails("p99_latency_ms > 250 over 5x", "bad duration '5x'");
	parse_fails("p99_latency_ms > 250 over 2h", "between 1s and 1h");
	parse_fails("p99_latency_ms > 250 over 0s", "between 1s and 1h");
	parse_fails("drift(amount) > 1 over 5m", "'over' applies to rps, error_rate and latency");
	parse_fails("no_data > 1 over 5m", "'over' applies");
	parse_fails("drift > 1", "drift needs a feature in parentheses");
	parse_fails("drift() > 1", "empty feature name");
	parse_fails("drift(amount > 1", "missing ')'");
	parse_fails("drift(\"amount) > 1", "unterminated quoted feature name");
	parse_fails("drift(\"a\\nb\") > 1", "only \\\" and \\\\ may be escaped");
	parse_fails("drift(@secret) > 1", "invalid feature name");
	parse_fails("drift(\"a\tb\") > 1", "invalid feature name");
	parse_fails("rps(x) > 1", "rps takes no feature");
	char longname[300];
	memset(longname, 'a', 129);
	snprintf(longname + 129, sizeof(longname) - 129, ") > 1");
	char expr[400];
	snprintf(expr, sizeof(expr), "drift(%s", longname);
	parse_fails(expr, "longer than 128 bytes");
}

Test(rules, compare_operators_and_nan)
{
	cr_assert(rules_compare(OP_GT, 2, 1));
	cr_assert_not(rules_compare(OP_GT, 1, 1));
	cr_assert(rules_compare(OP_GE, 1, 1));
	cr_assert(rules_compare(OP_LT, 0, 1));
	cr_assert(rules_compare(OP_LE, 1, 1));
	cr_assert(rules_compare(OP_EQ, 0, 0));
	cr_assert(rules_compare(OP_NE, 0, 1));
	/* No value (no traffic in the interval) never satisfies a condition. */
	cr_assert_not(rules_compare(OP_NE, NAN, 1));
	cr_assert_not(rules_compare(OP_LT, NAN, 1));
}

Test(rules, templates_render_every_placeholder)
{
	struct rule_vars v = {.rule = "fraud-p99",
	                      .model = "fraud",
	                      .feature = "amount",
	                      .window = "5m",
	                      .value = 312.5,
	                      .threshold = 250};
	char buf[256], err[256];

	cr_assert_eq(rules_check_template("{rule}: {model}/{feature} {value} > {threshold} over "
	                                  "{window} {{literal}}",
	                                  err, sizeof(err)),
	             0, "%s", err);
	rules_render("{rule}: {model}/{feature} {value} > {threshold} over {window} {{literal}}",
	             &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "fraud-p99: fraud/amount 312.5 > 250 over 5m {literal}");
	v.value = 0.012345678;
	rules_render("{value}", &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0.0123457");
	v.feature = NULL;
	rules_render("[{feature}]", &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[]");

	/* Truncation keeps UTF-8 whole. */
	rules_render("ééééé", &v, buf, 6);
	cr_assert_str_eq(buf, "éé");

	cr_assert_eq(rules_check_template("p99 is {valeu}", err, sizeof(err)), -1);
	cr_assert(strstr(err, "unknown placeholder '{valeu}' at column 8"), "%s", err);
	cr_assert_eq(rules_check_template("a } b", err, sizeof(err)), -1);
	cr_assert(strstr(err, "unmatched '}' at column 3"), "%s", err);
}

static char *write_conf(const char *dir, const char *text)
{
	char *path;
	cr_assert(asprintf(&path, "%s/mlwatch.conf", dir) > 0);
	cr_assert_eq(h_write_file(path, text, strlen(text)), 0);
	return path;
}

Test(rules, load_builds_rules_from_sections)
{
	char *dir = h_tmpdir("rules");
	char *path = write_conf(dir, "[receiver hook]\n"
	                             "type = webhook\n"
	                             "url = http://127.0.0.1:1/\n"
	                             "[receiver chat]\n"
	                             "type = slack\n"
	                             "url = http://127.0.0.1:2/\n"
	                             "[alert fraud-p99]\n"
	                             "model = fraud\n"
	                             "expr = p99_latency_ms > 250 over 30s\n"
	                             "for = 2m\n"
	                             "severity = page\n"
	                             "receivers = chat, hook, chat\n"
	                             "summary = p99 latency of {model} is {value} ms\n"
	                             "repeat_interval = 1h\n"
	                             "send_resolved = false\n"
	                             "[alert drift]\n"
	                             "expr = drift(*) > 1\n");
	struct mlw_config cfg;
	struct rule_set rs;
	char err[512] = "";

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rules_load(&cfg, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs.n, 2);
	struct rule *r = &rs.v[0];
	cr_assert_str_eq(r->name, "fraud-p99");
	cr_assert_str_eq(r->model, "fraud");
	cr_assert_eq(r->expr.metric, METRIC_P99);
	cr_assert_eq(r->expr.over_ms, 30000);
	cr_assert_eq(r->for_ms, 120000);
	cr_assert_eq(r->severity, SEVERITY_PAGE);
	cr_assert_eq(r->n_receivers, 2, "duplicates collapse");
	cr_assert_eq(r->receivers[0], 1);
	cr_assert_eq(r->receivers[1], 0);
	cr_assert_str_eq(r->summary, "p99 latency of {model} is {value} ms");
	cr_assert_not(r->send_resolved);
	cr_assert_eq(r->repeat_interval_ms, 3600000);

	r = &rs.v[1];
	cr_assert_str_eq(r->model, "*");
	cr_assert(r->expr.all_features);
	cr_assert_eq(r->severity, SEVERITY_WARN);
	cr_assert(r->send_resolved);
	cr_assert_eq(r->repeat_interval_ms, 4 * 3600000LL);
	cr_assert_eq(r->n_receivers, 0);
	cr_assert_str_eq(r->summary,
	                 "{rule}: drift({feature}) of {model} is {value} (> {threshold})");

	rules_free(&rs);
	config_free(&cfg);
	h_rmtree(dir);
	free(dir);
	free(path);
}

static void load_fails(const char *conf, const char *needle)
{
	char *dir = h_tmpdir("rules");
	char *path = write_conf(dir, conf);
	struct mlw_config cfg;
	struct rule_set rs;
	char err[512] = "", want[512];

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rules_load(&cfg, &rs, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%s", path, needle);
	cr_assert(strstr(err, want), "error '%s', wanted '%s'", err, want);
	cr_assert_null(rs.v);
	config_free(&cfg);
	h_rmtree(dir);
	free(dir);
	free(path);
}

Test(rules, load_errors_cite_file_and_line)
{
	load_fails("[collector]\n"
	           "db = x.db\n"
	           "[alert a]\n"
	           "model = m\n"
	           "\n"
	           "expr = p99_latency > 3\n",
	           "6: [alert a] expr: unknown metric 'p99_latency' at column 1");
	load_fails("[alert a]\n"
	           "expr = rps < 1\n"
	           "[alert b]\n"
	           "summary = {nope}\n"
	           "expr = rps < 1\n",
	           "3: [alert b] summary: unknown placeholder '{nope}'");
	load_fails("[alert a]\n"
	           "model = bad model!\n"
	           "expr = rps < 1\n",
	           "1: [alert a] model: 'bad model!' is not a model name");
}

/* issue 17: a segment of the model's segment_by after the feature; '*' for
 * every segment; refused where it means nothing, with the place. */
Test(rules, segments_after_the_feature)
{
	struct rule_expr e = parse_ok("drift(amount, country=DE) > 1");
	cr_expect_str_eq(e.feature, "amount");
	cr_expect(e.has_segment && !e.all_segments && !e.all_features);
	cr_expect_str_eq(e.seg_key, "country");
	cr_expect_str_eq(e.seg_value, "DE");
	e = parse_ok("drift( amount ,country=* ) > 1");
	cr_expect_str_eq(e.feature, "amount");
	cr_expect(e.has_segment && e.all_segments);
	cr_expect_str_eq(e.seg_key, "country");
	e = parse_ok("psi(*, device=mobile-ios) >= 0.2");
	cr_expect(e.all_features && e.has_segment && !e.all_segments);
	cr_expect_str_eq(e.seg_value, "mobile-ios");
	e = parse_ok("missing_rate(\"a b\", country=FR) > 0.1");
	cr_expect_str_eq(e.feature, "a b");
	cr_expect_str_eq(e.seg_value, "FR");
	e = parse_ok("drift(amount) > 1");
	cr_expect(!e.has_segment);

	parse_fails("drift(amount, country) > 1",
	            "expected a segment KEY=VALUE (like country=DE or country=*) at column 15");
	parse_fails("drift(amount, country=) > 1", "empty segment value");
	parse_fails("drift(amount, =DE) > 1", "expected a segment KEY=VALUE");
	parse_fails("drift(amount, country=DE > 1", "missing ')'");
	parse_fails("dp_ratio(gender, country=DE) < 0.8", "dp_ratio takes no segment");
	parse_fails(
	    "drift(amount, country=0123456789012345678901234567890123456789012345678901234567"
	    "89012345) > 1",
	    "invalid segment value");
}

/* expr = A and B (issue 17): the first condition names the instances, the
 * others are one value per model; errors say which condition. */
Test(rules, conditions_joined_by_and)
{
	struct mlw_config cfg;
	struct rule_set rs;
	char err[1024], *dir = h_tmpdir("and"), path[600];
	static const char ok[] = "[alert d]\nexpr = drift(amount) > 1 and est_accuracy < 0.9 and "
	                         "missing_rate(\"x and y\") < 0.5\n";
	static const char *const bad[][2] = {
	    {"[alert d]\nexpr = drift(amount) > 1 and est_accuracy <\n",
	     "condition 2 ('est_accuracy <'): expected a number"},
	    {"[alert d]\nexpr = drift(amount) > 1 and\n", "condition 2 (''): expected a metric"},
	    {"[alert d]\nexpr = est_accuracy < 0.9 and drift(*) > 1\n",
	     "only the first condition may name every feature"},
	    {"[alert d]\nexpr = rps > 1 and rps > 1 and rps > 1 and rps > 1 and rps > 1 and rps > "
	     "1\n",
	     "more than 5 conditions"},
	};

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	cr_assert_eq(h_write_file(path, ok, strlen(ok)), 0);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rules_load(&cfg, &rs, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(rs.v[0].expr.metric, METRIC_DRIFT);
	cr_expect_str_eq(rs.v[0].expr.feature, "amount");
	cr_assert_eq(rs.v[0].n_also, 2);
	cr_expect_eq(rs.v[0].also[0].metric, METRIC_EST_ACCURACY);
	cr_expect_eq(rs.v[0].also[0].op, OP_LT);
	cr_expect_float_eq(rs.v[0].also[0].threshold, 0.9, 1e-15);
	cr_expect_str_eq(rs.v[0].also[1].feature, "x and y");
	rules_free(&rs);
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(h_write_file(path, bad[i][0], strlen(bad[i][0])), 0);
		cr_assert_eq(config_init(&cfg), 0);
		cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(rules_load(&cfg, &rs, err, sizeof(err)), -1, "%s", bad[i][0]);
		cr_expect(strstr(err, bad[i][1]), "%s", err);
		cr_expect(strstr(err, "c.conf:2: [alert d] expr: "), "%s", err);
		config_free(&cfg);
	}
	h_rmtree(dir);
	free(dir);
}

/* Issue 19: multivariate_drift() is drift() of the model's multivariate
 * row; a vector feature is a feature like any (drift(emb)). */
Test(rules, multivariate_drift_is_the_multivariate_row)
{
	struct rule_expr e;
	char err[256];

	cr_assert_eq(rules_parse_expr("multivariate_drift() >= 1 ", &e, err, sizeof(err)), 0, "%s",
	             err);
	cr_expect_eq(e.metric, METRIC_DRIFT);
	cr_expect_str_eq(e.feature, "@multivariate");
	cr_expect_eq(e.op, OP_GE);
	cr_expect_eq(e.threshold, 1);
	cr_assert_eq(rules_parse_expr("multivariate_drift(x) > 1", &e, err, sizeof(err)), -1);
	cr_expect(strstr(err, "takes no feature"), "%s", err);
	cr_assert_eq(rules_parse_expr("multivariate_drift > 1", &e, err, sizeof(err)), -1);
	cr_expect(strstr(err, "needs ()"), "%s", err);
	cr_assert_eq(rules_parse_expr("drift(emb) > 1", &e, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(e.feature, "emb");
}
