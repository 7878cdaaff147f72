/* cmd_common: what the subcommands share (see cmd.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "text.h"

double cmd_now(void)
{
	const char *v = getenv("MLWATCH_NOW");
	char *end;
	double t;

	if (v && *v) {
		t = strtod(v, &end);
		if (*end == '\0' && isfinite(t) && t > 0)
			return t;
	}
	return clock_now();
}

void cmd_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mlwatch: error: %s\n", buf);
}

int cmd_check_args(const struct cli_result *res, int max)
{
	if (res->n_args - 1 > max) {
		cmd_error("%s: unexpected argument '%s'", res->args[0], res->args[max + 1]);
		return 2;
	}
	return 0;
}

int cmd_check_flags(const struct cli_result *res, const char *const *allowed)
{
	for (int i = 0; i < res->n_flags; i++) {
		const char *name = res->flags[i].name;
		const char *const *a;
		if (strcmp(name, "json") == 0)
			continue;
		for (a = allowed; *a; a++)
			if (strcmp(*a, name) == 0)
				break;
		if (!*a) {
			cmd_error("%s does not take --%s (see mlwatch --help)",
			          res->n_args ? res->args[0] : "the dashboard", name);
			return 2;
		}
	}
	return 0;
}

int cmd_since(const struct cli_result *res, double *seconds)
{
	const char *v = cli_get(res, "since");
	int64_t ms;

	*seconds = 3600;
	if (!v)
		return 0;
	if (config_parse_duration(v, &ms) || ms <= 0) {
		cmd_error("--since: '%s' is not a positive duration (like 15m, 1h, 7d)", v);
		return 2;
	}
	*seconds = (double)ms / 1000.0;
	return 0;
}

int cmd_open(struct mlw_config *cfg, enum store_mode mode, struct store *st, struct sq *q)
{
	char err[1024];

	if (store_open(st, cfg->tui.db, mode, false, err, sizeof(err))) {
		cmd_error("%s", err);
		return 1;
	}
	sq_init(q, st);
	return 0;
}

void cmd_close(struct store *st, struct sq *q)
{
	sq_fini(q);
	store_close(st);
}

int cmd_model(struct sq *q, const struct cli_result *res, struct sq_model *m)
{
	const char *name = cli_get(res, "model");
	char safe[256];
	int rc;

	if (!name || !*name) {
		cmd_error("%s needs --model NAME", res->args[0]);
		return 2;
	}
	rc = sq_model_find(q, name, m);
	if (rc == SQ_NOTFOUND) {
		struct sq_model *ms = NULL;
		struct cmd_names names = {0};
		char hint[512] = "";
		size_t n = 0;
		if (sq_models(q, &ms, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (cmd_names_add(&names, ms[i].name))
					break;
			const char *near = cmd_names_closest(&names, name);
			char safe_near[160];
			if (near)
				snprintf(hint, sizeof(hint), " (did you mean '%s'?)",
				         text_sanitize(safe_near, sizeof(safe_near), near));
		}
		cmd_error("no such model '%s' in %s%s", text_sanitize(safe, sizeof(safe), name),
		          q->st->path, hint);
		cmd_names_free(&names);
		free(ms);
		return 1;
	}
	if (rc) {
		cmd_error("%s: %s", q->st->path, store_errmsg(q->st));
		return 1;
	}
	return 0;
}

void cmd_jnum(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

void cmd_jint(cJSON *o, const char *key, int64_t v)
{
	cJSON_AddNumberToObject(o, key, (double)v);
}

void cmd_jstr(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

void cmd_jbool(cJSON *o, const char *key, bool b)
{
	cJSON_AddBoolToObject(o, key, b);
}

/* cJSON escapes only C0 controls; DEL and the C1 controls (U+0080-U+009F,
 * which terminals may act on: U+009B is CSI) are escaped too, so --json
 * output read on a terminal cannot drive it whatever a database holds.
 * They can only appear inside strings, so replacing them in the text is
 * exact. Returns s, or a new string (s freed); NULL when out of memory. */
static char *escape_controls(char *s)
{
	size_t n = 0, extra = 0;
	for (; s[n]; n++)
		if (s[n] == 0x7f ||
		    ((unsigned char)s[n] == 0xc2 && (unsigned char)s[n + 1] >= 0x80 &&
		     (unsigned char)s[n + 1] < 0xa0))
			extra += 5;
	if (!extra)
		return s;
	char *out = malloc(n + extra + 1), *o = out;
	if (out) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i], d = (unsigned char)s[i + 1];
			if (c == 0x7f || (c == 0xc2 && d >= 0x80 && d < 0xa0)) {
				o += snprintf(o, 7, "\\u%04x", c == 0x7f ? 0x7fu : (unsigned)d);
				i += c == 0xc2;
			} else {
				*o++ = (char)c;
			}
		}
		*o = '\0';
	}
	free(s);
	return out;
}

int cmd_jprint_raw(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	int rc = 0;

	if (s)
		s = escape_controls(s);

	if (!s || fputs(s, stdout) == EOF)
		rc = 1;
	free(s);
	cJSON_Delete(o);
	return rc;
}

int cmd_jprint(cJSON *o)
{
	int rc = cmd_jprint_raw(o);
	if (putchar('\n') == EOF)
		rc = 1;
	return rc;
}

/* ---- names and suggestions ---------------------------------------------- */

int cmd_names_add(struct cmd_names *ns, const char *name)
{
	if (!name || !*name || cmd_names_has(ns, name))
		return 0;
	if (ns->n == ns->cap) {
		size_t ncap = ns->cap ? ns->cap * 2 : 16;
		char **nv = realloc(ns->v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		ns->v = nv;
		ns->cap = ncap;
	}
	if (!(ns->v[ns->n] = strdup(name)))
		return -1;
	ns->n++;
	return 0;
}

bool cmd_names_has(const struct cmd_names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return true;
	return false;
}

void cmd_names_free(struct cmd_names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

/* Levenshtein distance of a and b, case-insensitive; names are at most a
 * few hundred bytes, longer ones count as far apart. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[257];

	if (la > 256 || lb > 256)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost =
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])
			        ? 0
			        : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *cmd_names_closest(const struct cmd_names *ns, const char *name)
{
	size_t len = strlen(name), best = (size_t)-1;
	const char *out = NULL;
	/* a third of the name, at least 2: "p99-hgh" finds "p99-high", "x"
	 * does not find "fraud" */
	size_t limit = len / 3 > 2 ? len / 3 : 2;

	for (size_t i = 0; i < ns->n; i++) {
		size_t d = edit_distance(name, ns->v[i]);
		if (d <= limit && d < best) {
			best = d;
			out = ns->v[i];
		}
	}
	return out;
}

void cmd_names_hint(const struct cmd_names *ns, const char *name, char *buf, size_t cap)
{
	const char *near = cmd_names_closest(ns, name);
	size_t o;

	if (near) {
		char safe[160];
		snprintf(buf, cap, "did you mean '%s'?", text_sanitize(safe, sizeof(safe), near));
		return;
	}
	if (ns->n == 0) {
		snprintf(buf, cap, "none is known");
		return;
	}
	o = (size_t)snprintf(buf, cap, "known: ");
	for (size_t i = 0; i < ns->n && o < cap; i++) {
		char safe[160];
		if (o + 40 >= cap) {
			snprintf(buf + o, cap - o, "...");
			break;
		}
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "",
		                      text_sanitize(safe, sizeof(safe), ns->v[i]));
	}
}

static int add_rule(const char *rule, void *arg)
{
	return cmd_names_add(arg, rule) ? 1 : 0;
}

int cmd_known_names(struct mlw_config *cfg, struct sq *q, struct cmd_names *rules,
                    struct cmd_names *models)
{
	struct sq_model *ms = NULL;
	size_t n = 0;
	int rc = 1;

	if (sq_rules_each(q, add_rule, rules) || sq_models(q, &ms, &n)) {
		cmd_error("%s: %s", q->st->path, store_errmsg(q->st));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (cmd_names_add(models, ms[i].name))
			goto oom;
	for (size_t i = 0; i < cfg->n_alerts; i++) {
		const char *m = cfg->alerts[i].model;
		if (cmd_names_add(rules, cfg->alerts[i].name) ||
		    (m && strcmp(m, "*") != 0 && cmd_names_add(models, m)))
			goto oom;
	}
	for (size_t i = 0; i < cfg->n_models; i++)
		if (cmd_names_add(models, cfg->models[i].name))
			goto oom;
	rc = 0;
	goto out;
oom:
	cmd_error("out of memory");
out:
	free(ms);
	return rc;
}
