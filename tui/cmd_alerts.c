/* cmd_alerts: `mlwatch alerts [--all]`, `mlwatch silence RULE [--model M]
 * --for DUR [--comment TEXT]`, `mlwatch silences [--all]`, `mlwatch
 * unsilence ID` and `mlwatch ack ID`. silence, unsilence and ack write:
 * they change whether notifications go out (mlwatchd reads silences and
 * acks), never an alert's state. A silence names a rule and model known to
 * the config or the database, so a typo is refused instead of silencing
 * nothing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "layout.h"
#include "table.h"
#include "text.h"

cJSON *cmd_alert_json(const struct sq_alert *a)
{
	cJSON *o = cJSON_CreateObject();

	cmd_jint(o, "id", a->id);
	cmd_jstr(o, "rule", a->rule);
	cmd_jstr(o, "model", a->model);
	cmd_jstr(o, "feature", a->feature);
	cmd_jstr(o, "state", a->state);
	cmd_jstr(o, "severity", a->severity);
	cmd_jnum(o, "since", a->since);
	cmd_jnum(o, "value", a->value);
	cmd_jbool(o, "silenced", a->silenced);
	cmd_jbool(o, "acked", a->acked);
	cmd_jbool(o, "nodata", a->nodata);
	cmd_jnum(o, "threshold", a->threshold);
	cmd_jnum(o, "active_at", a->active_at);
	cmd_jnum(o, "fired_at", a->fired_at);
	cmd_jnum(o, "resolved_at", a->resolved_at);
	cmd_jstr(o, "summary", a->summary[0] ? a->summary : NULL);
	return o;
}

/* What a listing's row callbacks fill: a JSON array or a table. */
struct list_ctx {
	bool json;
	double now;
	cJSON *arr;
	struct table t;
};

/* The part `mlwatch alerts` and `mlwatch silences` share: flags [--all]
 * [--json], the read-only store, a table or {"KEY": [...]}, a line when
 * there is nothing. each(q, all, now, row, ctx) walks the rows. */
struct list_spec {
	const char *const *heads;
	int ncols;
	const char *key;                    /* the JSON array's name */
	const char *none_all, *none_active; /* what an empty listing prints */
	int (*each)(struct sq *q, bool all, double now, void *ctx);
};

static int list_cmd(struct mlw_config *cfg, const struct cli_result *res,
                    const struct list_spec *spec)
{
	static const char *const flags[] = {"all", NULL};
	struct list_ctx c;
	struct store st;
	struct sq q;
	cJSON *root = NULL;
	bool all = cli_has(res, "all");
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 0)))
		return rc;
	if ((rc = cmd_open(cfg, STORE_RO, &st, &q)))
		return rc;
	c.json = cli_has(res, "json");
	c.now = cmd_now();
	table_init(&c.t, spec->ncols, spec->heads);
	if (c.json) {
		root = cJSON_CreateObject();
		c.arr = cJSON_AddArrayToObject(root, spec->key);
	}
	if (spec->each(&q, all, c.now, &c)) {
		cmd_error("%s: %s", st.path, store_errmsg(&st));
		rc = 1;
		goto out;
	}
	if (c.json) {
		rc = cmd_jprint(root);
		root = NULL;
	} else if (c.t.nrows == 0) {
		printf("%s\n", all ? spec->none_all : spec->none_active);
	} else {
		table_print(&c.t, stdout);
	}
out:
	cJSON_Delete(root);
	table_free(&c.t);
	cmd_close(&st, &q);
	return rc;
}

static int alert_row(const struct sq_alert *a, void *arg)
{
	struct list_ctx *c = arg;
	char buf[64];

	if (c->json) {
		cJSON_AddItemToArray(c->arr, cmd_alert_json(a));
		return 0;
	}
	table_addf(&c->t, "%lld", (long long)a->id);
	table_add(&c->t, a->rule);
	table_add(&c->t, a->model);
	table_add(&c->t, a->feature ? a->feature : "-");
	table_add(&c->t, a->state);
	table_add(&c->t, a->severity);
	table_add(&c->t, lay_fmt_age(buf, sizeof(buf), c->now - a->since));
	table_add(&c->t, lay_fmt_num(buf, sizeof(buf), a->value));
	table_addf(&c->t, "%s%s%s%s%s", a->silenced ? "silenced" : "",
	           a->silenced && a->acked ? "," : "", a->acked ? "acked" : "",
	           (a->silenced || a->acked) && a->nodata ? "," : "", a->nodata ? "nodata" : "");
	table_add(&c->t, a->summary[0] ? a->summary : "");
	return 0;
}

static int alerts_each(struct sq *q, bool all, double now, void *ctx)
{
	return sq_alerts_each(q, all, now, alert_row, ctx);
}

int cmd_alerts(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const heads[] = {">ID",      "RULE", "MODEL",  "FEATURE", "STATE",
	                                    "SEVERITY", ">AGE", ">VALUE", "FLAGS",   "SUMMARY"};
	static const struct list_spec spec = {
	    heads, 10, "alerts", "no alerts", "no firing or pending alerts", alerts_each};
	return list_cmd(cfg, res, &spec);
}

/* A rule or model name: 1-128 printable bytes. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 128 && text_printable(s, n);
}

int cmd_silence(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {"model", "for", "comment", NULL};
	const char *rule, *model = cli_get(res, "model"), *dur = cli_get(res, "for");
	const char *comment = cli_get(res, "comment");
	struct store st;
	struct sq q;
	int64_t ms, id;
	double now, ends;
	char safe[256], d[32], hint[512];
	struct cmd_names rules = {0}, models = {0};
	int rc;

	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 1)))
		return rc;
	if (res->n_args < 2) {
		cmd_error("silence needs a RULE (the name of an [alert RULE] section, or *)");
		return 2;
	}
	rule = res->args[1];
	if (!valid_name(rule)) {
		cmd_error("silence: rule '%s' is not 1-128 printable characters",
		          text_sanitize(safe, sizeof(safe), rule));
		return 2;
	}
	if (model && !valid_name(model)) {
		cmd_error("--model: '%s' is not 1-128 printable characters",
		          text_sanitize(safe, sizeof(safe), model));
		return 2;
	}
	if (!dur) {
		cmd_error("silence needs --for DUR (like 30m, 2h)");
		return 2;
	}
	if (config_parse_duration(dur, &ms) || ms <= 0 || ms > 366LL * 86400 * 1000) {
		cmd_error("--for: '%s' is not a duration between 1ms and 366d",
		          text_sanitize(safe, sizeof(safe), dur));
		return 2;
	}
	if (comment && (strlen(comment) > 1024 || !text_printable(comment, strlen(comment)))) {
		cmd_error("--comment: must be at most 1024 printable characters");
		return 2;
	}
	if ((rc = cmd_open(cfg, STORE_RW, &st, &q)))
		return rc;
	/* A misspelled rule or model would silence nothing and say it did. */
	if ((rc = cmd_known_names(cfg, &q, &rules, &models)))
		goto out;
	if (strcmp(rule, "*") != 0 && !cmd_names_has(&rules, rule)) {
		cmd_names_hint(&rules, rule, hint, sizeof(hint));
		cmd_error("silence: no rule '%s' in %s or the alerts of %s (%s)",
		          text_sanitize(safe, sizeof(safe), rule),
		          cfg->path ? cfg->path : "the config (none read: see --config)", st.path,
		          hint);
		rc = 1;
		goto out;
	}
	if (model && !cmd_names_has(&models, model)) {
		cmd_names_hint(&models, model, hint, sizeof(hint));
		cmd_error("silence: no model '%s' in %s or %s (%s)",
		          text_sanitize(safe, sizeof(safe), model), st.path,
		          cfg->path ? cfg->path : "the config (none read: see --config)", hint);
		rc = 1;
		goto out;
	}
	now = cmd_now();
	ends = now + (double)ms / 1000.0;
	if (sq_silence_add(&q, rule, model, now, ends, comment, &id)) {
		cmd_error("%s: cannot add the silence: %s", st.path, store_errmsg(&st));
		rc = 1;
		goto out;
	}
	if (cli_has(res, "json")) {
		cJSON *o = cJSON_CreateObject();
		cmd_jint(o, "id", id);
		cmd_jstr(o, "rule", rule);
		cmd_jstr(o, "model", model);
		cmd_jnum(o, "created", now);
		cmd_jnum(o, "ends", ends);
		cmd_jstr(o, "comment", comment);
		rc = cmd_jprint(o);
	} else {
		printf("silence %lld: %s%s%s silenced for %s\n", (long long)id,
		       text_sanitize(safe, sizeof(safe), rule), model ? " on " : "",
		       model ? model : "", config_format_duration(ms, d, sizeof(d)));
	}
out:
	cmd_names_free(&rules);
	cmd_names_free(&models);
	cmd_close(&st, &q);
	return rc;
}

static int silence_row(const struct sq_silence *v, void *arg)
{
	struct list_ctx *c = arg;
	char buf[64];

	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		cmd_jint(o, "id", v->id);
		cmd_jstr(o, "rule", v->rule);
		cmd_jstr(o, "model", v->model);
		cmd_jnum(o, "created", v->created);
		cmd_jnum(o, "ends", v->ends);
		cmd_jstr(o, "comment", v->comment);
		cmd_jbool(o, "active", v->active);
		cJSON_AddItemToArray(c->arr, o);
		return 0;
	}
	table_addf(&c->t, "%lld", (long long)v->id);
	table_add(&c->t, v->rule);
	table_add(&c->t, v->model ? v->model : "*");
	table_add(&c->t, v->active ? lay_fmt_age(buf, sizeof(buf), v->ends - c->now) : "ended");
	table_add(&c->t, v->comment ? v->comment : "");
	return 0;
}

static int silences_each(struct sq *q, bool all, double now, void *ctx)
{
	return sq_silences_each(q, all, now, silence_row, ctx);
}

int cmd_silences(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const heads[] = {">ID", "RULE", "MODEL", ">ENDS IN", "COMMENT"};
	static const struct list_spec spec = {
	    heads, 5, "silences", "no silences", "no active silences", silences_each};
	return list_cmd(cfg, res, &spec);
}

int cmd_unsilence(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {NULL};
	struct store st;
	struct sq q;
	char *end, safe[64];
	long long id;
	double now = cmd_now();
	int rc;

	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 1)))
		return rc;
	if (res->n_args < 2) {
		cmd_error("unsilence needs a silence ID (see mlwatch silences)");
		return 2;
	}
	errno = 0;
	id = strtoll(res->args[1], &end, 10);
	if (errno || end == res->args[1] || *end || id <= 0) {
		cmd_error("unsilence: '%s' is not a silence id (a positive integer)",
		          text_sanitize(safe, sizeof(safe), res->args[1]));
		return 2;
	}
	if ((rc = cmd_open(cfg, STORE_RW, &st, &q)))
		return rc;
	rc = sq_silence_end(&q, id, now);
	if (rc == SQ_NOTFOUND) {
		cmd_error("no active silence with id %lld (see mlwatch silences)", id);
		rc = 1;
	} else if (rc) {
		cmd_error("%s: cannot end the silence: %s", st.path, store_errmsg(&st));
		rc = 1;
	} else if (cli_has(res, "json")) {
		cJSON *o = cJSON_CreateObject();
		cmd_jint(o, "id", id);
		cmd_jnum(o, "ends", now);
		rc = cmd_jprint(o);
	} else {
		printf("silence %lld ended\n", id);
	}
	cmd_close(&st, &q);
	return rc;
}

static int ack_print(const struct sq_alert *a, void *arg)
{
	bool json = *(bool *)arg;
	char r[256], m[256];

	if (json)
		return cmd_jprint(cmd_alert_json(a));
	printf("acked alert %lld: %s on %s (%s)\n", (long long)a->id,
	       text_sanitize(r, sizeof(r), a->rule), text_sanitize(m, sizeof(m), a->model),
	       a->state);
	return 0;
}

int cmd_ack(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {NULL};
	struct store st;
	struct sq q;
	bool json = cli_has(res, "json");
	char *end, safe[64];
	long long id;
	int rc;

	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 1)))
		return rc;
	if (res->n_args < 2) {
		cmd_error("ack needs an alert ID (see mlwatch alerts)");
		return 2;
	}
	errno = 0;
	id = strtoll(res->args[1], &end, 10);
	if (errno || end == res->args[1] || *end || id <= 0) {
		cmd_error("ack: '%s' is not an alert id (a positive integer)",
		          text_sanitize(safe, sizeof(safe), res->args[1]));
		return 2;
	}
	if ((rc = cmd_open(cfg, STORE_RW, &st, &q)))
		return rc;
	rc = sq_ack(&q, id, cmd_now());
	if (rc == SQ_NOTFOUND) {
		cmd_error("no alert with id %lld", id);
		rc = 1;
	} else if (rc) {
		cmd_error("%s: cannot ack: %s", st.path, store_errmsg(&st));
		rc = 1;
	} else if (sq_alert_get(&q, id, cmd_now(), ack_print, &json)) {
		cmd_error("%s: %s", st.path, store_errmsg(&st));
		rc = 1;
	}
	cmd_close(&st, &q);
	return rc;
}
