/* alert_page: what a notification link shows (issue 13, finding 5): the
 * rule, the alert's records, its notifications and the drifting feature's
 * statistics, as JSON and as escaped HTML; 404 for an unknown rule; the
 * default link base of mlwatch.conf(5). */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../collector/alert_page.h"
#include "../lib/harness.h"
#include "config.h"
#include "store.h"

static char *dir, *db, *conf_path;
static struct mlw_config cfg;

static void setup(void)
{
	char err[512];
	struct store st;
	const char *conf = "[alert amount-drift]\nmodel = fraud\nexpr = drift(amount) > 1\n"
	                   "for = 5m\nseverity = page\n";

	dir = h_tmpdir("alertpage");
	cr_assert(asprintf(&db, "%s/m.db", dir) > 0);
	cr_assert(asprintf(&conf_path, "%s/m.conf", dir) > 0);
	cr_assert_eq(h_write_file(conf_path, conf, strlen(conf)), 0);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, conf_path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_open(&st, db, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    sqlite3_exec(
	        db_sqlite_handle(st.db),
	        "INSERT INTO models (id, name, created) VALUES (1, 'fraud', 0);"
	        "INSERT INTO alerts (id, rule, model, feature, state, severity, value, threshold, "
	        "active_at, fired_at, fingerprint, summary, updated) VALUES (7, 'amount-drift', "
	        "'fraud', 'amount', 'firing', 'page', 3.5, 1, 1764072000, 1764072300, 'f', "
	        "'amount <script>x</script> drifts', 1764072300);"
	        "INSERT INTO outbox (receiver, alert_id, kind, payload, created, next_attempt, "
	        "status, delivered_at) VALUES ('oncall', 7, 'firing', '{}', 1764072300, 0, "
	        "'delivered', 1764072301);"
	        "INSERT INTO drift (model_id, start, feature, kind, n, n_ref, method, score, "
	        "threshold, severity, drifted, ks, ks_p, missing_rate) VALUES (1, 1764072000, "
	        "'amount', 1, 500, 1000, 'ks', 0.0001, 0.01, 3.5, 1, 0.31, 0.0001, 0.02);"
	        "INSERT INTO drift (model_id, start, feature, kind, n, n_ref, method, score, "
	        "threshold, severity, drifted) VALUES (1, 1764072000, 'hour', 1, 500, 1000, 'ks', "
	        "0.5, 0.01, 0.1, 0);",
	        NULL, NULL, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db_sqlite_handle(st.db)));
	store_close(&st);
}

static void teardown(void)
{
	config_free(&cfg);
	h_rmtree(dir);
	free(dir), free(db), free(conf_path);
}

static cJSON *render_json(const char *rule, const char *model, unsigned *status)
{
	struct alert_page_query q = {rule, model, NULL, true};
	const char *ctype;
	char *body;
	size_t len;

	*status = alert_page_render(&cfg, db, &q, &body, &len, &ctype);
	cr_assert(body);
	cr_assert_str_eq(ctype, "application/json");
	cr_assert_eq(strlen(body), len);
	cJSON *doc = cJSON_Parse(body);
	cr_assert(doc, "%s", body);
	free(body);
	return doc;
}

Test(alert_page, json_has_rule_history_notifications_and_feature_statistics, .init = setup,
     .fini = teardown)
{
	unsigned status;
	cJSON *doc = render_json("amount-drift", "fraud", &status);

	cr_assert_eq(status, 200);
	cJSON *rule = cJSON_GetObjectItem(doc, "rule");
	cr_assert_str_eq(cJSON_GetObjectItem(rule, "expr")->valuestring, "drift(amount) > 1");
	cr_assert_eq(cJSON_GetObjectItem(rule, "for_seconds")->valuedouble, 300);
	cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "history"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(h, "state")->valuestring, "firing");
	cr_assert_eq(cJSON_GetObjectItem(h, "value")->valuedouble, 3.5);
	cr_assert_str_eq(cJSON_GetObjectItem(h, "fired_at")->valuestring, "2025-11-25T12:05:00Z");
	cJSON *n = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "notifications"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(n, "receiver")->valuestring, "oncall");
	cr_assert_str_eq(cJSON_GetObjectItem(n, "status")->valuestring, "delivered");
	cJSON *fs = cJSON_GetObjectItem(doc, "feature_statistics");
	cr_assert_eq(cJSON_GetArraySize(fs), 1, "the alert's feature only, not 'hour'");
	cJSON *d = cJSON_GetArrayItem(fs, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "feature")->valuestring, "amount");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "method")->valuestring, "ks");
	cr_assert_eq(cJSON_GetObjectItem(d, "ks")->valuedouble, 0.31);
	cr_assert_eq(cJSON_GetObjectItem(d, "n")->valuedouble, 500);
	cJSON_Delete(doc);
}

Test(alert_page, html_is_escaped, .init = setup, .fini = teardown)
{
	struct alert_page_query q = {"amount-drift", "fraud", NULL, false};
	const char *ctype;
	char *body;
	size_t len;

	cr_assert_eq(alert_page_render(&cfg, db, &q, &body, &len, &ctype), 200);
	cr_assert_str_eq(ctype, "text/html; charset=utf-8");
	cr_assert_null(strstr(body, "<script>"), "%s", body);
	cr_assert(strstr(body, "amount &lt;script&gt;x&lt;/script&gt; drifts"), "%s", body);
	cr_assert(strstr(body, "drift(amount) &gt; 1"));
	cr_assert(strstr(body, "<h2>feature_statistics</h2>"));
	free(body);
}

Test(alert_page, unknown_rule_is_404_and_list_works, .init = setup, .fini = teardown)
{
	unsigned status;
	cJSON *doc = render_json("nope", "fraud", &status);
	cr_assert_eq(status, 404);
	cr_assert(strstr(cJSON_GetObjectItem(doc, "error")->valuestring, "no rule 'nope'"));
	cJSON_Delete(doc);
	doc = render_json(NULL, NULL, &status);
	cr_assert_eq(status, 200);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "active")), 1);
	cJSON_Delete(doc);
}

Test(alert_page, missing_database_is_503, .init = setup, .fini = teardown)
{
	struct alert_page_query q = {NULL, NULL, NULL, false};
	const char *ctype;
	char *body, other[600];
	size_t len;

	snprintf(other, sizeof(other), "%s/none.db", dir);
	cr_assert_eq(alert_page_render(&cfg, other, &q, &body, &len, &ctype), 503);
	cr_assert_str_eq(body, "no database yet\n");
	free(body);
}

Test(alert_page, default_base_is_http_and_the_http_address)
{
	char host[256], want[300], *b;

	b = alert_page_default_base("127.0.0.1:7072");
	cr_assert_str_eq(b, "http://127.0.0.1:7072");
	free(b);
	b = alert_page_default_base("[::1]:7072");
	cr_assert_str_eq(b, "http://[::1]:7072");
	free(b);
	b = alert_page_default_base("off");
	cr_assert_str_eq(b, "");
	free(b);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want), "http://%s:7072", host);
	b = alert_page_default_base("0.0.0.0:7072");
	cr_assert_str_eq(b, want);
	free(b);
	b = alert_page_default_base(":7072");
	cr_assert_str_eq(b, want);
	free(b);
}
