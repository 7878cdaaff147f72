/* cmd_common: what the subcommands share (see cmd.h). */
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
		cmd_error("no such model '%s' in %s", text_sanitize(safe, sizeof(safe), name),
		          q->st->path);
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
