/* The shipped examples stay true: every .conf file in examples/ loads with the real
 * loader (config_load), so does the annotated file with its commented-out
 * defaults switched on, every receiver snippet loads appended to a minimal
 * config, and the annotated file keeps covering every key and every kind of
 * section, alert metric and receiver. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "rules.h"

static char *tmp;

static void setup(void)
{
	tmp = h_tmpdir("examples");
	cr_assert_not_null(tmp);
}

static void teardown(void)
{
	h_rmtree(tmp);
	free(tmp);
}

TestSuite(examples, .init = setup, .fini = teardown);

/* Loads path into a fresh cfg; returns config_load's result, reason in err. */
static int load(struct mlw_config *cfg, const char *path, char *err, size_t errlen)
{
	cr_assert_eq(config_init(cfg), 0);
	return config_load(cfg, path, err, errlen);
}

/* The [alert] rules compile as mlwatchd compiles them at start (expressions,
 * templates, receiver names). */
static void rules_compile(const struct mlw_config *cfg, const char *what)
{
	struct rule_set rs = {0};
	char err[512] = "";
	int r = rules_load(cfg, &rs, err, sizeof(err));
	cr_expect_eq(r, 0, "%s: alert rules refused: %s", what, err);
	if (r == 0) {
		cr_expect_eq(rs.n, cfg->n_alerts);
		rules_free(&rs);
	}
}

/* Calls fn on every regular file of dir (relative to the source tree) whose
 * name ends in suffix; returns how many. */
static int each_file(const char *rel, const char *suffix, void (*fn)(const char *path))
{
	char *dir = h_src(rel);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "cannot open %s", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = strlen(suffix);
		if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path);
		n++;
	}
	closedir(d);
	free(dir);
	return n;
}

static void loads(const char *path)
{
	struct mlw_config cfg;
	char err[512] = "";
	int r = load(&cfg, path, err, sizeof(err));
	cr_expect_eq(r, 0, "%s does not load: %s", path, err);
	if (r == 0)
		rules_compile(&cfg, path);
	config_free(&cfg);
}

Test(examples, every_conf_loads)
{
	cr_assert_geq(each_file("examples", ".conf", loads), 1);
}

/* " = value" or a bare " =" (an empty value) ending the line. */
static bool is_assign(const char *p)
{
	return strncmp(p, " =", 2) == 0 && (p[2] == ' ' || p[2] == '\n' || p[2] == '\0');
}

/* A disabled setting is "# key = value" (prose comments start with ';'). */
static const char *disabled_setting(const char *line)
{
	if (strncmp(line, "# ", 2) != 0)
		return NULL;
	const char *k = line + 2;
	size_t n = strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-");
	if (n == 0 || !is_assign(k + n))
		return NULL;
	return k;
}

Test(examples, commented_defaults_load_when_enabled)
{
	char *src = h_src("examples/mlwatch.conf");
	char *text = h_read_file(src, NULL);
	cr_assert_not_null(text, "cannot read %s", src);

	/* Same file with every "# key = value" line switched on. */
	size_t cap = strlen(text) + 1, o = 0;
	char *out = malloc(cap);
	int enabled = 0;
	cr_assert_not_null(out);
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		const char *k = disabled_setting(line);
		if (k) {
			enabled++;
			len -= (size_t)(k - line);
			memcpy(out + o, k, len);
		} else {
			memcpy(out + o, line, len);
		}
		o += len;
		line += nl ? (size_t)(nl - line + 1) : strlen(line);
	}
	out[o] = '\0';
	cr_assert_gt(enabled, 20, "only %d disabled settings found", enabled);

	char path[1024], err[512] = "";
	struct mlw_config cfg;
	snprintf(path, sizeof(path), "%s/enabled.conf", tmp);
	cr_assert_eq(h_write_file(path, out, o), 0);
	cr_assert_eq(load(&cfg, path, err, sizeof(err)), 0, "with defaults enabled: %s", err);
	rules_compile(&cfg, "examples/mlwatch.conf with defaults enabled");
	/* The enabled defaults really took effect (a sample of them). */
	cr_assert_eq(cfg.agent.batch_max_events, 1000);
	cr_assert_eq(cfg.agent.listen_dgram.n, 2);
	cr_assert_str_eq(cfg.agent.tls_ca, "/etc/mlwatch/ca.pem");
	cr_assert_str_eq(cfg.collector.synchronous, "normal");
	config_free(&cfg);
	free(out);
	free(text);
	free(src);
}

/* Which keys the file sets or shows disabled, by section kind. */
struct seen {
	char *text;
};

static bool has_key(const char *text, const char *kind, const char *key)
{
	char cur[64] = "";
	size_t klen = strcspn(key, "*"); /* "kind.*" matches "kind.zip" */

	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (line[0] == '[') {
			size_t n = strcspn(line + 1, " ]");
			if (n < sizeof(cur)) {
				memcpy(cur, line + 1, n);
				cur[n] = '\0';
			}
		} else if (strcmp(cur, kind) == 0) {
			const char *k = disabled_setting(line);
			if (!k)
				k = line;
			if (strncmp(k, key, klen) == 0 &&
			    (key[klen] == '*' ? k[klen] != ' ' : is_assign(k + klen)))
				return true;
		}
		line += len + (nl != NULL);
	}
	return false;
}

static void check_key(const char *section, const char *key, const char *def, void *arg)
{
	struct seen *s = arg;
	(void)def;
	cr_expect(has_key(s->text, section, key),
	          "examples/mlwatch.conf lacks [%s] %s: add it (as '# %s = <default>' with a "
	          "comment) so the example keeps covering every key",
	          section, key, key);
}

Test(examples, annotated_conf_covers_every_key)
{
	char *src = h_src("examples/mlwatch.conf");
	struct seen s = {h_read_file(src, NULL)};
	cr_assert_not_null(s.text);
	config_for_each_key(check_key, &s);
	free(s.text);
	free(src);
}

static const struct alert_config *alert_with(const struct mlw_config *cfg, const char *prefix,
                                             bool need_over)
{
	for (size_t i = 0; i < cfg->n_alerts; i++) {
		const char *e = cfg->alerts[i].expr;
		if (strncmp(e, prefix, strlen(prefix)) == 0 && (!need_over || strstr(e, " over ")))
			return &cfg->alerts[i];
	}
	return NULL;
}

Test(examples, annotated_conf_shows_every_kind_of_rule_and_receiver)
{
	struct mlw_config cfg;
	char err[512] = "";
	char *src = h_src("examples/mlwatch.conf");
	cr_assert_eq(load(&cfg, src, err, sizeof(err)), 0, "%s", err);

	cr_assert_geq(cfg.n_models, 1);
	const struct model_config *m = config_model(&cfg, "fraud");
	cr_assert_not_null(m);
	bool kind = false, method = false, threshold = false;
	for (size_t i = 0; i < m->n_features; i++) {
		kind |= m->features[i].kind != KIND_AUTO;
		method |= m->features[i].method != NULL;
		threshold |= m->features[i].threshold > 0;
	}
	cr_assert(kind && method && threshold,
	          "[model fraud] should show kind., method., threshold.");

	static const struct {
		const char *prefix;
		bool over;
	} families[] = {
	    {"p99_latency_ms", true}, {"error_rate", false},    {"accuracy", false},
	    {"est_accuracy", false},  {"drift(*)", false},      {"drift(amount)", false},
	    {"psi(", false},          {"missing_rate(", false}, {"no_data", false},
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		cr_expect_not_null(alert_with(&cfg, families[i].prefix, families[i].over),
		                   "no [alert] with expr %s%s", families[i].prefix,
		                   families[i].over ? " ... over DUR" : "");

	static const char *const types[] = {"webhook", "alertmanager", "slack", "pagerduty"};
	for (size_t t = 0; t < 4; t++) {
		bool found = false;
		for (size_t i = 0; i < cfg.n_receivers; i++)
			found |= strcmp(cfg.receivers[i].type, types[t]) == 0;
		cr_expect(found, "no [receiver] of type %s", types[t]);
	}
	config_free(&cfg);
	free(src);
}

/* Receiver snippets: each loads appended to a minimal config, and together
 * they show the four types, the webhook one signed. */
static unsigned types_seen; /* bit per type */
static char *snippet_tmp;

static void snippet_loads(const char *path)
{
	static const char minimal[] = "[collector]\ndb = /var/lib/mlwatch/mlwatch.db\n";
	static const char *const types[] = {"webhook", "alertmanager", "slack", "pagerduty"};
	char *text = h_read_file(path, NULL);
	char out[1024], err[512] = "";
	struct mlw_config cfg;

	cr_assert_not_null(text, "cannot read %s", path);
	size_t tl = strlen(text), ml = strlen(minimal);
	char *both = malloc(ml + tl + 1);
	cr_assert_not_null(both);
	memcpy(both, minimal, ml);
	memcpy(both + ml, text, tl + 1);
	snprintf(out, sizeof(out), "%s/snippet.conf", snippet_tmp);
	cr_assert_eq(h_write_file(out, both, ml + tl), 0);
	cr_assert_eq(load(&cfg, out, err, sizeof(err)), 0, "%s appended to a minimal config: %s",
	             path, err);
	cr_assert_geq(cfg.n_receivers, 1, "%s defines no [receiver]", path);
	cr_assert_geq(cfg.n_alerts, 1, "%s routes no [alert] to its receiver", path);
	rules_compile(&cfg, path);
	for (size_t i = 0; i < cfg.n_receivers; i++) {
		for (unsigned t = 0; t < 4; t++) {
			if (strcmp(cfg.receivers[i].type, types[t]) != 0)
				continue;
			if (t == 0)
				cr_assert(cfg.receivers[i].secret_file[0],
				          "%s: the webhook example should be signed (secret_file)",
				          path);
			types_seen |= 1u << t;
		}
	}
	config_free(&cfg);
	free(both);
	free(text);
}

Test(examples, receiver_snippets_load_appended_to_a_minimal_config)
{
	types_seen = 0;
	snippet_tmp = tmp;
	cr_assert_geq(each_file("examples/receivers", ".conf", snippet_loads), 4);
	cr_assert_eq(types_seen, 0xfu, "receiver types shown: mask %#x, want all four", types_seen);
}

/* A snippet also loads appended to the full annotated file (names do not
 * clash with it). */
Test(examples, receiver_snippets_load_appended_to_the_annotated_conf)
{
	char *src = h_src("examples/mlwatch.conf");
	char *base = h_read_file(src, NULL);
	cr_assert_not_null(base);
	static const char *const names[] = {"slack", "pagerduty", "alertmanager", "webhook-signed"};
	for (size_t i = 0; i < 4; i++) {
		char rel[128], out[1024], err[512] = "";
		snprintf(rel, sizeof(rel), "examples/receivers/%s.conf", names[i]);
		char *sp = h_src(rel);
		char *snip = h_read_file(sp, NULL);
		cr_assert_not_null(snip, "missing %s", rel);
		size_t bl = strlen(base), sl = strlen(snip);
		char *both = malloc(bl + sl + 2);
		cr_assert_not_null(both);
		memcpy(both, base, bl);
		both[bl] = '\n';
		memcpy(both + bl + 1, snip, sl + 1);
		snprintf(out, sizeof(out), "%s/full.conf", tmp);
		cr_assert_eq(h_write_file(out, both, bl + sl + 1), 0);
		struct mlw_config cfg;
		cr_expect_eq(load(&cfg, out, err, sizeof(err)), 0, "%s: %s", rel, err);
		config_free(&cfg);
		free(both);
		free(snip);
		free(sp);
	}
	free(base);
	free(src);
}

/* The agent configuration embedded in the KServe manifest's ConfigMap (the
 * block under "mlwatch.conf: |") loads too. */
Test(examples, kserve_configmap_conf_loads)
{
	char *src = h_src("examples/kserve/inferenceservice.yaml");
	char *yaml = h_read_file(src, NULL);
	cr_assert_not_null(yaml, "cannot read %s", src);
	const char *start = strstr(yaml, "  mlwatch.conf: |\n");
	cr_assert_not_null(start, "no 'mlwatch.conf: |' block in %s", src);
	start = strchr(start, '\n') + 1;

	/* The block: every following line indented by at least 4 spaces, or empty. */
	size_t cap = strlen(start) + 1, o = 0;
	char *conf = malloc(cap);
	cr_assert_not_null(conf);
	for (const char *line = start; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > 0 && strncmp(line, "    ", 4) != 0)
			break;
		size_t skip = len >= 4 ? 4 : len;
		memcpy(conf + o, line + skip, len - skip);
		o += len - skip;
		conf[o++] = '\n';
		line += len + (nl != NULL);
	}
	conf[o] = '\0';

	char path[1024], err[512] = "";
	struct mlw_config cfg;
	snprintf(path, sizeof(path), "%s/kserve.conf", tmp);
	cr_assert_eq(h_write_file(path, conf, o), 0);
	cr_assert_eq(load(&cfg, path, err, sizeof(err)), 0, "the ConfigMap's mlwatch.conf: %s",
	             err);
	cr_assert_str_eq(cfg.agent.http, "0.0.0.0:7071");
	cr_assert_not_null(config_model(&cfg, "fraud"));
	config_free(&cfg);
	free(conf);
	free(yaml);
	free(src);
}

/* issue 13 F10: the examples teach rules one would run in production:
 * every rule waits with a `for`, and drift verdicts need a minimum sample. */
Test(examples, every_rule_has_a_for_and_drift_a_minimum_sample)
{
	struct mlw_config cfg;
	char err[512] = "";
	char *src = h_src("examples/mlwatch.conf");
	cr_assert_eq(load(&cfg, src, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(cfg.n_alerts, 1);
	for (size_t i = 0; i < cfg.n_alerts; i++)
		cr_expect(cfg.alerts[i].for_ms > 0, "[alert %s] has no for", cfg.alerts[i].name);
	cr_expect_geq(cfg.collector.drift_min_sample, 100);
	config_free(&cfg);
	free(src);
}
