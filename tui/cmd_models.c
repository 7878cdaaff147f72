/* cmd_models: `mlwatch models [--json]` lists the models of the database
 * (events seen, reference, last event) and `mlwatch models rm NAME` removes
 * one with everything stored for it: the way out for a model created by a
 * typo (a misspelled `reference import --model` or agent-side name) that
 * would otherwise sit in every view as `no data` forever. rm is one
 * transaction, refused for a model with events in the last 10 minutes;
 * mlwatchd running on the same database recreates the model only if events
 * for it arrive again (restart it if they do: it remembers the old id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "layout.h"
#include "table.h"
#include "text.h"

/* models rm refuses a model with events this recent */
#define RM_QUIET_S 600

static int list(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const heads[] = {"MODEL", "TASK", ">LAST EVENT"};
	bool json = cli_has(res, "json");
	struct sq_model *ms = NULL;
	struct store st;
	struct sq q;
	struct table t;
	size_t n = 0;
	double now = cmd_now();
	char buf[64];
	int rc;

	if ((rc = cmd_open(cfg, STORE_RO, &st, &q)))
		return rc;
	table_init(&t, 3, heads);
	if (sq_models(&q, &ms, &n)) {
		cmd_error("%s: %s", st.path, store_errmsg(&st));
		rc = 1;
		goto out;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "models");
		for (size_t i = 0; i < n; i++) {
			cJSON *m = cJSON_CreateObject();
			cmd_jstr(m, "model", ms[i].name);
			cmd_jstr(m, "task", ms[i].task[0] ? ms[i].task : NULL);
			cmd_jnum(m, "last_event", ms[i].last_event);
			cJSON_AddItemToArray(arr, m);
		}
		rc = cmd_jprint(o);
		goto out;
	}
	if (n == 0) {
		printf("no models in %s\n", st.path);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, ms[i].name);
		table_add(&t, ms[i].task[0] ? ms[i].task : "-");
		if (ms[i].last_event == ms[i].last_event) /* not NAN */
			table_addf(&t, "%s ago",
			           lay_fmt_age(buf, sizeof(buf), now - ms[i].last_event));
		else
			table_add(&t, "never");
	}
	table_print(&t, stdout);
out:
	free(ms);
	table_free(&t);
	cmd_close(&st, &q);
	return rc;
}

static int rm(struct mlw_config *cfg, const struct cli_result *res)
{
	const char *name = res->n_args >= 3 ? res->args[2] : NULL;
	struct sq_model m;
	struct store st;
	struct sq q;
	char safe[256];
	int rc;

	if (!name) {
		cmd_error("models rm needs a model NAME (see mlwatch models)");
		return 2;
	}
	if ((rc = cmd_open(cfg, STORE_RW, &st, &q)))
		return rc;
	rc = sq_model_find(&q, name, &m);
	if (rc == SQ_NOTFOUND) {
		struct cmd_names rules = {0}, models = {0};
		char hint[512] = "";
		if (cmd_known_names(cfg, &q, &rules, &models) == 0)
			cmd_names_hint(&models, name, hint, sizeof(hint));
		cmd_error("no model '%s' in %s (%s)", text_sanitize(safe, sizeof(safe), name),
		          st.path, hint);
		cmd_names_free(&rules);
		cmd_names_free(&models);
		rc = 1;
		goto out;
	}
	/* A model still receiving events would be recreated at once (and a
	 * running mlwatchd remembers its id): stop its traffic first. */
	if (rc == 0 && m.last_event == m.last_event && cmd_now() - m.last_event < RM_QUIET_S) {
		char age[32];
		cmd_error("model '%s' received events %s ago: stop sending it first (models rm is "
		          "for models that get no more events, e.g. a misspelled name)",
		          text_sanitize(safe, sizeof(safe), name),
		          lay_fmt_age(age, sizeof(age), cmd_now() - m.last_event));
		rc = 1;
		goto out;
	}
	if (rc || sq_model_rm(&q, m.id, m.name)) {
		cmd_error("%s: cannot remove model '%s': %s", st.path,
		          text_sanitize(safe, sizeof(safe), name), store_errmsg(&st));
		rc = 1;
		goto out;
	}
	if (cli_has(res, "json")) {
		cJSON *o = cJSON_CreateObject();
		cmd_jstr(o, "removed", m.name);
		rc = cmd_jprint(o);
	} else {
		printf("removed model %s and everything stored for it\n",
		       text_sanitize(safe, sizeof(safe), m.name));
	}
out:
	cmd_close(&st, &q);
	return rc;
}

int cmd_models(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {NULL};
	int rc;

	if ((rc = cmd_check_flags(res, flags)))
		return rc;
	if (res->n_args < 2) {
		return list(cfg, res);
	}
	if (strcmp(res->args[1], "rm") == 0) {
		if ((rc = cmd_check_args(res, 2)))
			return rc;
		return rm(cfg, res);
	}
	char safe[64];
	cmd_error("models: unknown action '%s' (rm, or nothing to list)",
	          text_sanitize(safe, sizeof(safe), res->args[1]));
	return 2;
}
