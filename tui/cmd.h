/* cmd: the scriptable subcommands of `mlwatch` (status, drift, latency,
 * accuracy, alerts, silence, silences, unsilence, ack, export, models) and
 * what they share: opening the database, the --model/--since flags, error
 * lines, JSON values and the names a user may misspell.
 *
 * Every command has the dispatch signature of tui/main.c and returns the
 * process exit status: 0 success, 1 runtime error (no such model, database
 * missing), 2 usage error. Errors are one line "mlwatch: error: ..." on
 * stderr; with --json, stdout carries only the JSON document. */
#ifndef MLW_CMD_H
#define MLW_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "cli.h"
#include "config.h"
#include "store.h"
#include "store_query.h"

int cmd_status(struct mlw_config *cfg, const struct cli_result *res);
int cmd_drift(struct mlw_config *cfg, const struct cli_result *res);
int cmd_latency(struct mlw_config *cfg, const struct cli_result *res);
int cmd_accuracy(struct mlw_config *cfg, const struct cli_result *res);
int cmd_alerts(struct mlw_config *cfg, const struct cli_result *res);
int cmd_silence(struct mlw_config *cfg, const struct cli_result *res);
int cmd_ack(struct mlw_config *cfg, const struct cli_result *res);
int cmd_export(struct mlw_config *cfg, const struct cli_result *res);
int cmd_silences(struct mlw_config *cfg, const struct cli_result *res);
int cmd_unsilence(struct mlw_config *cfg, const struct cli_result *res);
int cmd_models(struct mlw_config *cfg, const struct cli_result *res);
int cmd_fairness(struct mlw_config *cfg, const struct cli_result *res);
int cmd_migrate(struct mlw_config *cfg, const struct cli_result *res);

/* ---- shared by the commands --------------------------------------------- */

/* The current time: clock_now() (the simulated time under
 * MLWATCH_CLOCK_FILE), or the Unix time in MLWATCH_NOW when set (a frozen
 * clock for tests and reproducible screens). */
double cmd_now(void);

void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fails (2) when more than max positional arguments follow the command
 * name (args[0]). */
int cmd_check_args(const struct cli_result *res, int max);
/* Fails (2) when a flag in the NULL-terminated list allowed is not one the
 * command takes. */
int cmd_check_flags(const struct cli_result *res, const char *const *allowed);
/* --since DUR (default 1h) in seconds. 0 or 2 after printing the error. */
int cmd_since(const struct cli_result *res, double *seconds);

/* Opens cfg->tui.db in mode and prepares the queries. 0 or 1 after printing
 * the error. cmd_close undoes it. */
int cmd_open(struct mlw_config *cfg, enum store_mode mode, struct store *st, struct sq *q);
void cmd_close(struct store *st, struct sq *q);
/* --model M: 0, 2 when missing, 1 when the database has no such model. */
int cmd_model(struct sq *q, const struct cli_result *res, struct sq_model *m);

/* A set of names (rules, models) to check a name typed by a user against:
 * cmd_names_closest is the nearest by edit distance within a third of the
 * name's length (at least 2), or NULL; cmd_names_hint writes "did you mean
 * 'X'?" or the list of known names into buf. */
struct cmd_names {
	char **v;
	size_t n, cap;
};
int cmd_names_add(struct cmd_names *ns, const char *name); /* 0, -1 out of memory */
bool cmd_names_has(const struct cmd_names *ns, const char *name);
const char *cmd_names_closest(const struct cmd_names *ns, const char *name);
void cmd_names_hint(const struct cmd_names *ns, const char *name, char *buf, size_t cap);
void cmd_names_free(struct cmd_names *ns);
/* The names a `silence` may target: rules of the config's [alert] sections
 * and of the alerts table; models of the database, [model] sections and
 * rules. 0, or 1 after printing the error. */
int cmd_known_names(struct mlw_config *cfg, struct sq *q, struct cmd_names *rules,
                    struct cmd_names *models);

/* JSON values: NAN and infinities as null; s NULL as null. */
void cmd_jnum(cJSON *o, const char *key, double v);
void cmd_jint(cJSON *o, const char *key, int64_t v);
void cmd_jstr(cJSON *o, const char *key, const char *s);
void cmd_jbool(cJSON *o, const char *key, bool b);
/* An alert as in the contract's `alerts` shape (and a few more keys). */
cJSON *cmd_alert_json(const struct sq_alert *a);
/* Prints o unformatted and a newline to stdout, then deletes it. 0 or 1. */
int cmd_jprint(cJSON *o);
/* Prints o unformatted (no newline), deletes it; for streamed arrays. */
int cmd_jprint_raw(cJSON *o);

#endif
