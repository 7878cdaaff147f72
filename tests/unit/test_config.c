/* Unit tests for common/config: FILE:LINE errors, every duration and size
 * form, sections and flags. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

static struct mlw_config cfg;
static char path[64];
static char err[512];

static void setup(void)
{
	snprintf(path, sizeof(path), "/tmp/mlwatch-cfg-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(config_init(&cfg), 0);
}

static void teardown(void)
{
	config_free(&cfg);
	unlink(path);
}

TestSuite(config, .init = setup, .fini = teardown);

static int load(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return config_load(&cfg, path, err, sizeof(err));
}

/* Expects text to fail at line with a message containing want. */
static void fails_at(const char *text, int line, const char *want)
{
	char prefix[128];
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(load(text), -1, "accepted:\n%s", text);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "want '%s...' got '%s'", prefix, err);
	cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
}

/* Several collectors (issue 16): the first value replaces the default, the
 * next ones add to it, in the file and then from flags. */
Test(config, collector_is_repeatable_and_replaces_its_default)
{
	cr_assert_eq(load("[agent]\ncollector = tcp://10.0.0.1:7070\n"
	                  "collector = tcp://10.0.0.2:7070\n"),
	             0, "%s", err);
	cr_assert_eq(cfg.agent.collector.n, 2);
	cr_assert_str_eq(cfg.agent.collector.v[0], "tcp://10.0.0.1:7070");
	cr_assert_str_eq(cfg.agent.collector.v[1], "tcp://10.0.0.2:7070");
	cr_assert_eq(
	    config_set(&cfg, CONFIG_AGENT, "collector", "tcp://10.0.0.3:7070", err, sizeof(err)),
	    0);
	cr_assert_eq(cfg.agent.collector.n, 3);
	cr_assert_str_eq(cfg.agent.collector.v[2], "tcp://10.0.0.3:7070");

	/* Flags alone: the default goes, both flags stay. */
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(
	    config_set(&cfg, CONFIG_AGENT, "collector", "tcp://10.0.0.4:7070", err, sizeof(err)),
	    0);
	cr_assert_eq(
	    config_set(&cfg, CONFIG_AGENT, "collector", "tcp://10.0.0.5:7070", err, sizeof(err)),
	    0);
	cr_assert_eq(cfg.agent.collector.n, 2);
	cr_assert_str_eq(cfg.agent.collector.v[0], "tcp://10.0.0.4:7070");
	cr_assert_str_eq(cfg.agent.collector.v[1], "tcp://10.0.0.5:7070");
}

Test(config, defaults)
{
	cr_assert_eq(cfg.agent.collector.n, 1);
	cr_assert_str_eq(cfg.agent.collector.v[0], "tcp://127.0.0.1:7070");
	cr_assert_str_eq(cfg.agent.http, "127.0.0.1:7071");
	cr_assert_str_eq(cfg.agent.state_dir, "./mlwatch-agent.state");
	cr_assert_eq(cfg.agent.spool_max, 256ull << 20);
	cr_assert_float_eq(cfg.agent.sample_rate, 1.0, 0);
	cr_assert_eq(cfg.agent.batch_max_events, 1000);
	cr_assert_eq(cfg.agent.batch_max_delay_ms, 200);
	cr_assert_eq(cfg.agent.max_body, 8ull << 20);
	cr_assert_str_eq(cfg.collector.db, "./mlwatch.db");
	cr_assert_str_eq(cfg.collector.listen, "tcp://127.0.0.1:7070");
	cr_assert_str_eq(cfg.collector.http, "127.0.0.1:7072");
	cr_assert_eq(cfg.collector.window_ms, 60000);
	cr_assert_eq(cfg.collector.retention_raw_ms, 7 * 86400000ll);
	cr_assert_eq(cfg.collector.retention_windows_ms, 30 * 86400000ll);
	cr_assert_eq(cfg.collector.label_ttl_ms, 86400000ll);
	cr_assert_not(cfg.collector.insecure);
	cr_assert_str_eq(cfg.tui.db, "./mlwatch.db");
	cr_assert_eq(cfg.tui.interval_ms, 1000);
}

/* Issue 18 names the retention tiers retention.events|minutes|hours|days:
 * the same settings as retention_raw|windows|hours|days. */
Test(config, retention_tiers_by_either_name)
{
	cr_assert_eq(load("[collector]\n"
	                  "retention.events = 3d\n"
	                  "retention.minutes = 20d\n"
	                  "retention.hours = 100d\n"
	                  "retention.days = 2y\n"),
	             0, "%s", err);
	cr_assert_eq(cfg.collector.retention_raw_ms, 3 * 86400000ll);
	cr_assert_eq(cfg.collector.retention_windows_ms, 20 * 86400000ll);
	cr_assert_eq(cfg.collector.retention_hours_ms, 100 * 86400000ll);
	cr_assert_eq(cfg.collector.retention_days_ms, 730 * 86400000ll);
	cr_assert_eq(load("[collector]\nretention.days = 5 y\n"), -1);
	cr_assert(strstr(err, "d, w or y"), "the refusal lists the year unit: %s", err);
	cr_assert_eq(load("[collector]\nretention.hours = 30m\n"), -1);
	cr_assert(strstr(err, "retention_hours"), "the refusal names the setting: %s", err);
}

Test(config, full_file)
{
	cr_assert_eq(load("; comment\n"
	                  "[agent]\n"
	                  "collector = tls+tcp://10.0.0.5:7070\n"
	                  "spool_max = 1GiB\n"
	                  "sample_rate = 0.25\n"
	                  "tail = /var/log/a.jsonl\n"
	                  "tail = /var/log/b.jsonl\n"
	                  "batch_max_delay = 50ms ; inline comment\n"
	                  "\n[collector]\n"
	                  "window = 5m\n"
	                  "insecure = yes\n"
	                  "retention_raw = 2w\n"
	                  "synchronous = full\n"
	                  "[tui]\ninterval = 2s\nno_color = true\n"
	                  "[model fraud]\n"
	                  "sample_rate = 0.1\n"
	                  "kind.zip = categorical\n"
	                  "method.amount = psi\n"
	                  "threshold.amount = 0.2\n"
	                  "drift_preset = evidently\n"
	                  "drift_preset.zip = nannyml\n"
	                  "[alert fraud-p99]\n"
	                  "model = fraud\n"
	                  "expr = p99_latency_ms > 250\n"
	                  "for = 2m\n"
	                  "severity = page\n"
	                  "receivers = oncall, chat\n"
	                  "summary = p99 latency of {model} is {value} ms\n"
	                  "[receiver oncall]\n"
	                  "type = pagerduty\n"
	                  "routing_key_file = /etc/mlwatch/pd.key\n"
	                  "[receiver chat]\n"
	                  "type = slack\n"
	                  "url = https://hooks.slack.example/T0\n"),
	             0, "%s", err);
	cr_assert_eq(cfg.agent.collector.n, 1, "the file's value replaces the default");
	cr_assert_str_eq(cfg.agent.collector.v[0], "tls+tcp://10.0.0.5:7070");
	cr_assert_eq(cfg.agent.spool_max, 1ull << 30);
	cr_assert_float_eq(cfg.agent.sample_rate, 0.25, 0);
	cr_assert_eq(cfg.agent.tail.n, 2);
	cr_assert_str_eq(cfg.agent.tail.v[1], "/var/log/b.jsonl");
	cr_assert_eq(cfg.agent.batch_max_delay_ms, 50);
	cr_assert_eq(cfg.collector.window_ms, 300000);
	cr_assert(cfg.collector.insecure);
	cr_assert_eq(cfg.collector.retention_raw_ms, 14 * 86400000ll);
	cr_assert_str_eq(cfg.collector.synchronous, "full");
	cr_assert_eq(cfg.tui.interval_ms, 2000);
	cr_assert(cfg.tui.no_color);
	cr_assert_eq(cfg.n_models, 1);
	const struct model_config *m = config_model(&cfg, "fraud");
	cr_assert_not_null(m);
	cr_assert(m->has_sample_rate);
	cr_assert_float_eq(m->sample_rate, 0.1, 0);
	cr_assert_str_eq(m->drift_preset, "evidently");
	for (size_t i = 0; i < m->n_features; i++)
		if (strcmp(m->features[i].name, "zip") == 0)
			cr_assert_str_eq(m->features[i].preset, "nannyml");
	cr_assert_eq(m->n_features, 2);
	cr_assert_str_eq(m->features[0].name, "zip");
	cr_assert_eq(m->features[0].kind, KIND_CATEGORICAL);
	cr_assert_str_eq(m->features[1].method, "psi");
	cr_assert_float_eq(m->features[1].threshold, 0.2, 0);
	cr_assert_eq(cfg.n_alerts, 1);
	cr_assert_str_eq(cfg.alerts[0].name, "fraud-p99");
	cr_assert_str_eq(cfg.alerts[0].expr, "p99_latency_ms > 250");
	cr_assert_eq(cfg.alerts[0].expr_line, 27); /* 2 drift_preset lines above */
	cr_assert_eq(cfg.alerts[0].line, 25);
	cr_assert_eq(cfg.alerts[0].for_ms, 120000);
	cr_assert_str_eq(cfg.alerts[0].severity, "page");
	cr_assert(cfg.alerts[0].send_resolved);
	cr_assert_eq(cfg.alerts[0].repeat_interval_ms, 4 * 3600000ll);
	cr_assert_eq(cfg.n_receivers, 2);
	cr_assert_str_eq(cfg.receivers[0].type, "pagerduty");
	cr_assert_eq(cfg.receivers[0].max_age_ms, 86400000ll);
	cr_assert_str_eq(cfg.path, path);
}

Test(config, errors_cite_file_and_line)
{
	fails_at("[agent]\nhttp = 1.2.3.4:5\nbogus = 1\n", 3, "unknown key 'bogus' in [agent]");
	fails_at("[agent]\n\n\nspool_max = lots\n", 4, "bad size 'lots'");
	fails_at("[collector]\nwindow = 5 minutes\n", 2, "bad duration '5 minutes'");
	fails_at("[collector]\nwindow = 0s\n", 2, "out of range");
	fails_at("[agent]\nsample_rate = 0\n", 2, "(0, 1]");
	fails_at("[agent]\nsample_rate = 1.5\n", 2, "(0, 1]");
	fails_at("[agent]\nsample_rate = 2\n", 2, "(expected a number in (0, 1])");
	fails_at("[agent]\nbatch_max_events = 12abc\n", 2, "whole number");
	fails_at("[agent]\nlog_level = loud\n", 2, "debug, info, warn or error");
	fails_at("[collector]\ninsecure = maybe\n", 2, "true or false");
	fails_at("[collector]\nsynchronous = sometimes\n", 2, "normal|full");
	fails_at("[nonsense]\nx = 1\n", 2, "unknown section [nonsense]");
	fails_at("[agent x]\nhttp = off\n", 2, "unknown section [agent x]");
	fails_at("[model]\nsample_rate = 1\n", 2, "needs a name");
	fails_at("[model a b]\nsample_rate = 1\n", 2, "needs a name");
	fails_at("[model fraud]\ncolour = red\n", 2, "unknown key 'colour' in [model fraud]");
	fails_at("[model fraud]\nkind.x = text\n", 2, "numeric or categorical");
	fails_at("[model fraud]\nmethod.x = t-test\n", 2, "ks, wasserstein, psi");
	fails_at("[model fraud]\nthreshold.x = -1\n", 2, "number > 0");
	fails_at("[model fraud]\ndrift_preset = alibi\n", 2, "mlwatch|evidently|nannyml");
	fails_at("[model fraud]\ndrift_preset.x = alibi\n", 2, "mlwatch, evidently or nannyml");
	fails_at("[model fraud]\nconcept_detector = cusum\n", 2, "adwin|page_hinkley|both");
	fails_at("[alert a]\nexpr = rps > 1\nfor = forever\n", 3, "bad duration");
	fails_at("[alert a]\nexpr = rps > 1\nseverity = critical\n", 3, "page|warn|info");
	fails_at("[alert a]\nmodel = m\n", 1, "has no 'expr'");
	fails_at("[receiver r]\nurl = http://x\n", 1, "has no 'type'");
	fails_at("[receiver r]\ntype = webhook\n", 1, "needs a 'url'");
	fails_at("[receiver r]\ntype = pagerduty\n", 1, "routing_key_file");
	fails_at("[receiver r]\ntype = exec\n", 1, "of type exec needs a 'command'");
	fails_at("[receiver r]\ntype = exec\ncommand = /bin/true\nurl = http://x\n", 1,
	         "not a 'url'");
	fails_at("[receiver r]\ntype = webhook\nurl = http://x\ncommand = /bin/true\n", 1,
	         "'command' and 'shell' are for type exec");
	fails_at("[receiver r]\ntype = exec\ncommand = /bin/true\nshell = perhaps\n", 4,
	         "true or false");
	fails_at("[receiver r]\ntype = carrier-pigeon\n", 2,
	         "webhook|alertmanager|slack|pagerduty|exec");
	fails_at("[alert a]\nexpr = rps > 1\nreceivers = nobody\n", 1, "receiver 'nobody'");
	fails_at("[agent\nhttp = off\n", 1, "syntax error");
	fails_at("just text\n", 1, "syntax error");
	fails_at("x = 1\n[agent]\n", 1, "outside of a [section]");
	char longline[400];
	snprintf(longline, sizeof(longline), "[alert a]\nexpr = rps > 1\nsummary = %0300d\n", 0);
	fails_at(longline, 3, "longer than");
}

Test(config, missing_file)
{
	cr_assert_eq(config_load(&cfg, "/nonexistent/mlwatch.conf", err, sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/mlwatch.conf: cannot open"), "%s", err);
}

Test(config, durations)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {{"90s", 90000},
	          {"5m", 300000},
	          {"4h", 14400000},
	          {"7d", 604800000},
	          {"200ms", 200},
	          {"1w", 604800000},
	          {"1.5h", 5400000},
	          {"0.5s", 500},
	          {"30", 30000},
	          {"0s", 0},
	          {"0", 0},
	          {"2.25m", 135000},
	          {"365d", 31536000000ll},
	          {"5y", 5 * 31536000000ll}};
	static const char *const bad[] = {
	    "",    "s",    "5 m", "-5s", "5x",  "1.0005s", "5S",
	    "+5s", "1e3s", "5mm", "nan", "inf", "5m3s",    "99999999999999999d"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ms = -1;
		cr_assert_eq(config_parse_duration(ok[i].s, &ms), 0, "%s", ok[i].s);
		cr_assert_eq(ms, ok[i].ms, "%s -> %lld", ok[i].s, (long long)ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms;
		cr_assert_eq(config_parse_duration(bad[i], &ms), -1, "accepted '%s'", bad[i]);
	}
	char buf[32];
	cr_assert_str_eq(config_format_duration(90000, buf, sizeof(buf)), "90s");
	cr_assert_str_eq(config_format_duration(300000, buf, sizeof(buf)), "5m");
	cr_assert_str_eq(config_format_duration(250, buf, sizeof(buf)), "250ms");
	cr_assert_str_eq(config_format_duration(0, buf, sizeof(buf)), "0s");
	cr_assert_str_eq(config_format_duration(7 * 86400000ll, buf, sizeof(buf)), "1w");
}

Test(config, sizes)
{
	static const struct {
		const char *s;
		uint64_t n;
	} ok[] = {{"256MiB", 268435456ull},
	          {"8MB", 8000000},
	          {"1024", 1024},
	          {"64KiB", 65536},
	          {"1GiB", 1073741824ull},
	          {"2TiB", 2199023255552ull},
	          {"1.5KiB", 1536},
	          {"10B", 10},
	          {"3KB", 3000},
	          {"1GB", 1000000000ull},
	          {"1TB", 1000000000000ull},
	          {"0", 0}};
	static const char *const bad[] = {"",      "MiB",  "12x",          "-1", "1.5",
	                                  "1 MiB", "5mib", "1.0000001KiB", "1e3"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t n = 1;
		cr_assert_eq(config_parse_size(ok[i].s, &n), 0, "%s", ok[i].s);
		cr_assert_eq(n, ok[i].n, "%s -> %llu", ok[i].s, (unsigned long long)n);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t n;
		cr_assert_eq(config_parse_size(bad[i], &n), -1, "accepted '%s'", bad[i]);
	}
}

Test(config, bools)
{
	bool b;
	const char *yes[] = {"true", "yes", "on", "1", "TRUE"}, *no[] = {"false", "no", "off", "0"};
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(config_parse_bool(yes[i], &b), 0);
		cr_assert(b);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(config_parse_bool(no[i], &b), 0);
		cr_assert_not(b);
	}
	cr_assert_eq(config_parse_bool("2", &b), -1);
}

Test(config, flags_override_the_file)
{
	cr_assert_eq(load("[agent]\nspool_max = 1GiB\n"), 0);
	cr_assert_eq(config_set(&cfg, CONFIG_AGENT, "spool-max", "2MiB", err, sizeof(err)), 0);
	cr_assert_eq(cfg.agent.spool_max, 2ull << 20);
	cr_assert_eq(config_set(&cfg, CONFIG_AGENT, "spool-max", "2 MiB", err, sizeof(err)), -2);
	cr_assert(strstr(err, "bad size"), "%s", err);
	cr_assert_eq(config_set(&cfg, CONFIG_AGENT, "no-such", "1", err, sizeof(err)), -1);
	cr_assert_eq(
	    config_set(&cfg, CONFIG_AGENT, "listen-dgram", "udp://127.0.0.1:9", err, sizeof(err)),
	    0);
	cr_assert_eq(cfg.agent.listen_dgram.n, 1);
	cr_assert_eq(config_key_is_bool(CONFIG_COLLECTOR, "insecure"), 1);
	cr_assert_eq(config_key_is_bool(CONFIG_COLLECTOR, "db"), 0);
	cr_assert_eq(config_key_is_bool(CONFIG_COLLECTOR, "nope"), -1);
	cr_assert_eq(config_key_is_bool(CONFIG_TUI, "no-color"), 1);
}

enum { MAX_KEYS = 400 };
struct listed {
	int n;
	char key[MAX_KEYS][96]; /* "section.key" */
};

static void collect_key(const char *section, const char *key, const char *def, void *arg)
{
	struct listed *l = arg;
	static const struct {
		const char *name;
		enum config_section sec;
	} flag_secs[] = {
	    {"agent", CONFIG_AGENT}, {"collector", CONFIG_COLLECTOR}, {"tui", CONFIG_TUI}};

	(void)def;
	cr_assert_lt(l->n, MAX_KEYS);
	snprintf(l->key[l->n], sizeof(l->key[0]), "%s.%s", section, key);
	for (int i = 0; i < l->n; i++)
		cr_expect_str_neq(l->key[i], l->key[l->n], "%s listed twice", l->key[i]);
	l->n++;
	/* A listed key of a flag section must be one the parser knows. */
	for (size_t i = 0; i < sizeof(flag_secs) / sizeof(flag_secs[0]); i++)
		if (strcmp(section, flag_secs[i].name) == 0)
			cr_expect_geq(config_key_is_bool(flag_secs[i].sec, key), 0,
			              "[%s] %s is listed but the parser does not know it", section,
			              key);
}

static bool is_listed(const struct listed *l, const char *section, const char *key)
{
	char want[96], pat[96];
	const char *dot = strchr(key, '.');

	snprintf(want, sizeof(want), "%s.%s", section, key);
	/* model per-feature keys (kind.amount) are listed as patterns (kind.*) */
	snprintf(pat, sizeof(pat), "%s.%.*s.*", section, dot ? (int)(dot - key) : 0, key);
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->key[i], want) == 0 || (dot && strcmp(l->key[i], pat) == 0))
			return true;
	return false;
}

/* Both directions: every listed key is known to the parser (above), and every
 * key that examples/mlwatch.conf sets, in every kind of section, is listed
 * (the example loads: test_examples checks that). */
Test(config, every_key_is_listed)
{
	static struct listed l;
	memset(&l, 0, sizeof(l));
	config_for_each_key(collect_key, &l);
	cr_assert_eq(config_key_is_bool(CONFIG_AGENT, "no_such_key"), -1);

	char *src = h_src("examples/mlwatch.conf");
	char *text = h_read_file(src, NULL);
	cr_assert_not_null(text, "cannot read %s", src);
	char section[64] = "";
	int checked = 0, sections = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char key[64];
		if (sscanf(line, "[%63[a-z]", section) == 1) {
			sections++;
			continue;
		}
		if (sscanf(line, "%63[a-z_.] =", key) == 1 && strstr(line, " = ") && section[0]) {
			cr_expect(is_listed(&l, section, key),
			          "examples/mlwatch.conf sets [%s] %s, which config_for_each_key "
			          "does not list",
			          section, key);
			checked++;
		}
	}
	/* [agent] [collector] [tui] [model] [alert] [receiver] at least, and many
	 * keys: a parse of the example that found nothing would prove nothing. */
	cr_expect_geq(sections, 6, "%d sections in examples/mlwatch.conf", sections);
	cr_expect_geq(checked, 30, "%d keys checked in examples/mlwatch.conf", checked);
	free(text);
	free(src);
}

Test(config, secrets)
{
	FILE *f = fopen(path, "w");
	fputs("  s3cr3t-token \r\nsecond line\n", f);
	fclose(f);
	char *s = config_read_secret(path, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(s, "  s3cr3t-token");
	free(s);
	f = fopen(path, "w");
	fputs("\n", f);
	fclose(f);
	cr_assert_null(config_read_secret(path, err, sizeof(err)));
	cr_assert(strstr(err, "empty"));
	f = fopen(path, "w");
	for (int i = 0; i < 5000; i++)
		fputc('x', f);
	fclose(f);
	cr_assert_null(config_read_secret(path, err, sizeof(err)));
	cr_assert(strstr(err, "4 KiB"));
	cr_assert_null(strstr(err, "xxxx"), "the secret leaked into the error");
}

/* Issue 17 item 3: where a model's drift reference comes from. */
Test(config, reference_modes)
{
	cr_assert_eq(load("[model a]\nreference = rolling 7d\n[model b]\n"
	                  "reference = same-hour-of-week 4w\n[model c]\nreference = static\n"
	                  "[model d]\nsample_rate = 1\n"),
	             0, "%s", err);
	const struct model_config *a = config_model(&cfg, "a"), *b = config_model(&cfg, "b");
	cr_assert(a && b);
	cr_expect_eq(a->reference_mode, REF_MODE_ROLLING);
	cr_expect_eq(a->reference_span_s, 7 * 86400);
	cr_expect_eq(b->reference_mode, REF_MODE_HOUR_OF_WEEK);
	cr_expect_eq(b->reference_span_s, 4 * 604800);
	cr_expect_eq(config_model(&cfg, "c")->reference_mode, REF_MODE_STATIC);
	cr_expect_eq(config_model(&cfg, "d")->reference_mode, REF_MODE_STATIC);
	cr_expect_str_eq(config_reference_mode_name(REF_MODE_HOUR_OF_WEEK), "same-hour-of-week");
	fails_at("[model a]\nreference = rolling 30m\n", 2, "whole hours from 1h to 365d");
	fails_at("[model a]\nreference = rolling 366d\n", 2, "whole hours from 1h to 365d");
	fails_at("[model a]\nreference = rolling\n", 2, "expected static, rolling DURATION");
	fails_at("[model a]\nreference = same-hour-of-week 10d\n", 2, "whole weeks from 1w to 52w");
	fails_at("[model a]\nreference = same-hour-of-week 53w\n", 2, "whole weeks");
	fails_at("[model a]\nreference = same-hour-of-week 0w\n", 2, "whole weeks");
	fails_at("[model a]\nreference = seasonal\n", 2, "bad value for 'reference'");
}
