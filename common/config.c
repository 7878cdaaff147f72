/* config: see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum opt_type { OPT_STR, OPT_LIST, OPT_DUR, OPT_SIZE, OPT_DOUBLE, OPT_INT, OPT_BOOL, OPT_LEVEL };

struct opt {
	const char *key;
	enum opt_type type;
	size_t off;
	const char *def;   /* default, as it would be written in the file */
	double min, max;   /* bounds for numbers (ms for durations, bytes for sizes) */
	const char *oneof; /* for strings: "a|b|c", or NULL for any */
	bool min_open;     /* min itself not allowed */
};

#define AG(f) offsetof(struct agent_config, f)
#define CO(f) offsetof(struct collector_config, f)
#define TU(f) offsetof(struct tui_config, f)
#define AL(f) offsetof(struct alert_config, f)
#define RE(f) offsetof(struct receiver_config, f)
#define KiB   1024.0
#define MiB   (1024.0 * 1024)
#define GiB   (1024.0 * 1024 * 1024)
#define SEC   1000.0
#define DAY   (86400 * 1000.0)

static const struct opt agent_opts[] = {
    {"collector", OPT_LIST, AG(collector), "tcp://127.0.0.1:7070", 0, 0, NULL, 0},
    {"http", OPT_STR, AG(http), "127.0.0.1:7071", 0, 0, NULL, 0},
    {"listen_dgram", OPT_LIST, AG(listen_dgram), "", 0, 0, NULL, 0},
    {"tail", OPT_LIST, AG(tail), "", 0, 0, NULL, 0},
    {"format", OPT_STR, AG(format), "jsonl", 0, 0, "jsonl|bentoml|triton|torchserve|ray_serve", 0},
    {"tail_timezone", OPT_STR, AG(tail_timezone), "local", 0, 0, NULL, 0},
    {"state_dir", OPT_STR, AG(state_dir), "./mlwatch-agent.state", 0, 0, NULL, 0},
    {"spool_dir", OPT_STR, AG(spool_dir), "", 0, 0, NULL, 0},
    {"spool_max", OPT_SIZE, AG(spool_max), "256MiB", 64 * KiB, 1024 * GiB, NULL, 0},
    {"sample_rate", OPT_DOUBLE, AG(sample_rate), "1.0", 0, 1, NULL, 1},
    {"token_file", OPT_STR, AG(token_file), "", 0, 0, NULL, 0},
    {"http_token_file", OPT_STR, AG(http_token_file), "", 0, 0, NULL, 0},
    {"http_tls_cert", OPT_STR, AG(http_tls_cert), "", 0, 0, NULL, 0},
    {"http_tls_key", OPT_STR, AG(http_tls_key), "", 0, 0, NULL, 0},
    {"http_tls_ca", OPT_STR, AG(http_tls_ca), "", 0, 0, NULL, 0},
    {"insecure", OPT_BOOL, AG(insecure), "false", 0, 0, NULL, 0},
    {"agent_id", OPT_STR, AG(agent_id), "", 0, 0, NULL, 0},
    {"tls_ca", OPT_STR, AG(tls_ca), "", 0, 0, NULL, 0},
    {"tls_cert", OPT_STR, AG(tls_cert), "", 0, 0, NULL, 0},
    {"tls_key", OPT_STR, AG(tls_key), "", 0, 0, NULL, 0},
    {"tls_server_name", OPT_STR, AG(tls_server_name), "", 0, 0, NULL, 0},
    {"log_level", OPT_LEVEL, AG(log_level), "info", 0, 0, NULL, 0},
    {"batch_max_events", OPT_INT, AG(batch_max_events), "1000", 1, 100000, NULL, 0},
    {"batch_max_delay", OPT_DUR, AG(batch_max_delay_ms), "200ms", 1, 60 * SEC, NULL, 0},
    {"max_body", OPT_SIZE, AG(max_body), "8MiB", 1 * KiB, 1 * GiB, NULL, 0},
    {"max_events_per_request", OPT_INT, AG(max_events_per_request), "100000", 1, 10000000, NULL, 0},
    {"max_connections", OPT_INT, AG(max_connections), "512", 1, 65536, NULL, 0},
    {"inflight", OPT_INT, AG(inflight), "4", 1, 64, NULL, 0},
    {"memory_max", OPT_SIZE, AG(memory_max), "64MiB", 1 * MiB, 64 * GiB, NULL, 0},
    {"stats_interval", OPT_DUR, AG(stats_interval_ms), "60s", 1 * SEC, DAY, NULL, 0},
    {"kserve_ttl", OPT_DUR, AG(kserve_ttl_ms), "30s", 1 * SEC, DAY, NULL, 0},
    {"kserve_mode", OPT_STR, AG(kserve_mode), "all", 0, 0, "all|request|response", 0},
    {"kserve_latency", OPT_STR, AG(kserve_latency), "auto", 0, 0, "auto|ce_time|none", 0},
    {"kserve_component", OPT_STR, AG(kserve_component), "predictor", 0, 0,
     "predictor|transformer|explainer|any", 0},
    /* "" = {isvc}, and {model_name} for OpenAI bodies (ingest_kserve.h) */
    {"kserve_model", OPT_STR, AG(kserve_model), "", 0, 0, NULL, 0},
    {"resend", OPT_DUR, AG(resend_ms), "10s", 100, DAY, NULL, 0},
    {"otlp_feature", OPT_LIST, AG(otlp_feature), "", 0, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0},
};

static const struct opt collector_opts[] = {
    {"db", OPT_STR, CO(db), "./mlwatch.db", 0, 0, NULL, 0},
    {"listen", OPT_STR, CO(listen), "tcp://127.0.0.1:7070", 0, 0, NULL, 0},
    {"http", OPT_STR, CO(http), "127.0.0.1:7072", 0, 0, NULL, 0},
    {"token_file", OPT_STR, CO(token_file), "", 0, 0, NULL, 0},
    {"tls_ca", OPT_STR, CO(tls_ca), "", 0, 0, NULL, 0},
    {"tls_cert", OPT_STR, CO(tls_cert), "", 0, 0, NULL, 0},
    {"tls_key", OPT_STR, CO(tls_key), "", 0, 0, NULL, 0},
    {"tls_verify_clients", OPT_BOOL, CO(tls_verify_clients), "false", 0, 0, NULL, 0},
    {"insecure", OPT_BOOL, CO(insecure), "false", 0, 0, NULL, 0},
    {"http_token_file", OPT_STR, CO(http_token_file), "", 0, 0, NULL, 0},
    {"http_tls_cert", OPT_STR, CO(http_tls_cert), "", 0, 0, NULL, 0},
    {"http_tls_key", OPT_STR, CO(http_tls_key), "", 0, 0, NULL, 0},
    {"http_tls_ca", OPT_STR, CO(http_tls_ca), "", 0, 0, NULL, 0},
    {"window", OPT_DUR, CO(window_ms), "60s", 1 * SEC, DAY, NULL, 0},
    {"log_level", OPT_LEVEL, CO(log_level), "info", 0, 0, NULL, 0},
    {"retention_raw", OPT_DUR, CO(retention_raw_ms), "7d", 60 * SEC, 3650 * DAY, NULL, 0},
    {"retention_windows", OPT_DUR, CO(retention_windows_ms), "30d", 60 * SEC, 3650 * DAY, NULL, 0},
    {"retention_hours", OPT_DUR, CO(retention_hours_ms), "400d", 3600 * SEC, 36500 * DAY, NULL, 0},
    {"retention_days", OPT_DUR, CO(retention_days_ms), "1825d", 1 * DAY, 36500 * DAY, NULL, 0},
    {"label_ttl", OPT_DUR, CO(label_ttl_ms), "24h", 1 * SEC, 365 * DAY, NULL, 0},
    {"max_message", OPT_SIZE, CO(max_message), "64MiB", 64 * KiB, 1 * GiB, NULL, 0},
    {"synchronous", OPT_STR, CO(synchronous), "normal", 0, 0, "normal|full", 0},
    {"analyze_interval", OPT_DUR, CO(analyze_interval_ms), "5s", 100, 3600 * SEC, NULL, 0},
    {"evaluate_interval", OPT_DUR, CO(evaluate_interval_ms), "1s", 10, 3600 * SEC, NULL, 0},
    {"external_url", OPT_STR, CO(external_url), "", 0, 0, NULL, 0},
    {"workers", OPT_INT, CO(workers), "8", 1, 256, NULL, 0},
    {"drift_min_sample", OPT_INT, CO(drift_min_sample), "100", 1, 100000000, NULL, 0},
    {"fairness_min_sample", OPT_INT, CO(fairness_min_sample), "30", 1, 100000000, NULL, 0},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0},
};

static const struct opt tui_opts[] = {
    {"db", OPT_STR, TU(db), "./mlwatch.db", 0, 0, NULL, 0},
    {"interval", OPT_DUR, TU(interval_ms), "1s", 100, 3600 * SEC, NULL, 0},
    {"no_color", OPT_BOOL, TU(no_color), "false", 0, 0, NULL, 0},
    {"log_level", OPT_LEVEL, TU(log_level), "warn", 0, 0, NULL, 0},
    {"range", OPT_STR, TU(range), "1h", 0, 0, "15m|1h|6h|24h|7d|30d", 0},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0},
};

static const struct opt alert_opts[] = {
    {"model", OPT_STR, AL(model), "*", 0, 0, NULL, 0},
    {"expr", OPT_STR, AL(expr), "", 0, 0, NULL, 0},
    {"for", OPT_DUR, AL(for_ms), "0s", 0, 30 * DAY, NULL, 0},
    {"severity", OPT_STR, AL(severity), "warn", 0, 0, "page|warn|info", 0},
    {"receivers", OPT_STR, AL(receivers), "", 0, 0, NULL, 0},
    {"summary", OPT_STR, AL(summary), "", 0, 0, NULL, 0},
    {"description", OPT_STR, AL(description), "", 0, 0, NULL, 0},
    {"send_resolved", OPT_BOOL, AL(send_resolved), "true", 0, 0, NULL, 0},
    {"repeat_interval", OPT_DUR, AL(repeat_interval_ms), "4h", 1 * SEC, 365 * DAY, NULL, 0},
    {"notify_nodata", OPT_BOOL, AL(notify_nodata), "false", 0, 0, NULL, 0},
    {"inhibit", OPT_STR, AL(inhibit), "", 0, 0, NULL, 0},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0},
};

static const struct opt receiver_opts[] = {
    {"type", OPT_STR, RE(type), "", 0, 0, "webhook|alertmanager|slack|pagerduty|exec", 0},
    {"url", OPT_STR, RE(url), "", 0, 0, NULL, 0},
    {"command", OPT_STR, RE(command), "", 0, 0, NULL, 0},
    {"shell", OPT_BOOL, RE(shell), "false", 0, 0, NULL, 0},
    {"secret_file", OPT_STR, RE(secret_file), "", 0, 0, NULL, 0},
    {"routing_key_file", OPT_STR, RE(routing_key_file), "", 0, 0, NULL, 0},
    {"ca_file", OPT_STR, RE(ca_file), "", 0, 0, NULL, 0},
    {"max_age", OPT_DUR, RE(max_age_ms), "24h", 1 * SEC, 30 * DAY, NULL, 0},
    {"timeout", OPT_DUR, RE(timeout_ms), "10s", 100, 600 * SEC, NULL, 0},
    {"min_interval", OPT_DUR, RE(min_interval_ms), "0s", 0, 3600 * SEC, NULL, 0},
    {"group_by", OPT_STR, RE(group_by), "", 0, 0, NULL, 0},
    {"group_wait", OPT_DUR, RE(group_wait_ms), "30s", 0, 3600 * SEC, NULL, 0},
    {"group_interval", OPT_DUR, RE(group_interval_ms), "5m", 1 * SEC, 1 * DAY, NULL, 0},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0},
};

/* ---- value parsers ----------------------------------------------------- */

/* Parses a non-negative decimal "12", "1.5", ".5" (no sign, exponent, hex,
 * inf or nan, which strtod would take); *end after it. */
static int parse_number(const char *s, double *v, const char **end)
{
	const char *p = s;
	char buf[64];
	size_t n;

	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	n = (size_t)(p - s);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL); /* the program never sets LC_NUMERIC, so '.' is the point */
	if (!isfinite(*v))
		return -1;
	*end = p;
	return 0;
}

int config_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1},     {"s", 1e3},     {"m", 6e4},       {"h", 3.6e6},
	             {"d", 8.64e7}, {"w", 6.048e8}, {"y", 3.1536e10}, {"", 1e3}};
	const char *u;
	double v;

	if (parse_number(s, &v, &u))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].unit) == 0) {
			double r = v * units[i].ms;
			if (r > 9.2e15 || r != floor(r))
				return -1; /* beyond ~290k years, or finer than 1 ms */
			*ms = (int64_t)r;
			return 0;
		}
	}
	return -1;
}

const char *config_reference_mode_name(int mode)
{
	return mode == REF_MODE_ROLLING        ? "rolling"
	       : mode == REF_MODE_HOUR_OF_WEEK ? "same-hour-of-week"
	                                       : "static";
}

int config_parse_reference(const char *value, int *mode, int64_t *span_s, char *err, size_t errlen)
{
	static const char rolling[] = "rolling ", how[] = "same-hour-of-week ";
	int64_t ms;

	if (strcmp(value, "static") == 0) {
		*mode = REF_MODE_STATIC;
		*span_s = 0;
		return 0;
	}
	if (strncmp(value, rolling, sizeof(rolling) - 1) == 0) {
		/* a whole number of hours, 1 hour to 365 days: the events it
		 * reads must still be stored (retention_raw) */
		if (config_parse_duration(value + sizeof(rolling) - 1, &ms) || ms < 3600000 ||
		    ms > 365 * 86400000LL || ms % 3600000) {
			snprintf(err, errlen,
			         "bad value for 'reference': '%.40s' (rolling needs a duration of "
			         "whole hours from 1h to 365d, e.g. 'rolling 7d')",
			         value);
			return -1;
		}
		*mode = REF_MODE_ROLLING;
		*span_s = ms / 1000;
		return 0;
	}
	if (strncmp(value, how, sizeof(how) - 1) == 0) {
		const char *w = value + sizeof(how) - 1;
		size_t len = strlen(w);

		/* whole weeks only: the same hour of the week N weeks back */
		if (len < 2 || w[len - 1] != 'w' || config_parse_duration(w, &ms) ||
		    ms < 604800000LL || ms > 52 * 604800000LL || ms % 604800000LL) {
			snprintf(
			    err, errlen,
			    "bad value for 'reference': '%.40s' (same-hour-of-week needs whole "
			    "weeks from 1w to 52w, e.g. 'same-hour-of-week 4w')",
			    value);
			return -1;
		}
		*mode = REF_MODE_HOUR_OF_WEEK;
		*span_s = ms / 1000;
		return 0;
	}
	snprintf(err, errlen,
	         "bad value for 'reference': '%.40s' (expected static, rolling DURATION or "
	         "same-hour-of-week Nw)",
	         value);
	return -1;
}

int config_parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = {{"", 1},
	             {"B", 1},
	             {"KB", 1e3},
	             {"MB", 1e6},
	             {"GB", 1e9},
	             {"TB", 1e12},
	             {"KiB", 1024.0},
	             {"MiB", 1048576.0},
	             {"GiB", 1073741824.0},
	             {"TiB", 1099511627776.0}};
	const char *u;
	double v;

	if (parse_number(s, &v, &u))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].unit) == 0) {
			double r = v * units[i].mul;
			if (r > 1.8e19 || r != floor(r))
				return -1;
			*bytes = (uint64_t)r;
			return 0;
		}
	}
	return -1;
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

char *config_format_duration(int64_t ms, char *buf, size_t cap)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, cap, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			return buf;
		}
	}
	snprintf(buf, cap, ms == 0 ? "0s" : "%lldms", (long long)ms);
	return buf;
}

static bool in_choices(const char *v, const char *choices)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t k = bar ? (size_t)(bar - p) : strlen(p);
		if (k == n && strncmp(p, v, n) == 0)
			return true;
		p += k + (bar != NULL);
	}
	return false;
}

/* Stores value into the field described by o. Returns 0, -1 (bad value,
 * reason in err), -2 out of memory. */
static int opt_set(const struct opt *o, void *base, const char *value, char *err, size_t errlen)
{
	char *field = (char *)base + o->off;
	char a[32], b[32];

	switch (o->type) {
	case OPT_STR: {
		if (o->oneof && !in_choices(value, o->oneof)) {
			snprintf(err, errlen, "bad value '%s' for '%s' (expected %s)", value,
			         o->key, o->oneof);
			return -1;
		}
		char *copy = strdup(value);
		if (!copy)
			return -2;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case OPT_LIST: {
		struct strlist *l = (struct strlist *)field;
		if (!*value)
			return 0;
		if (l->is_default) {
			/* A value given replaces the default rather than adding to it. */
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			l->n = 0;
			l->is_default = false;
		}
		char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (!v)
			return -2;
		l->v = v;
		if (!(l->v[l->n] = strdup(value)))
			return -2;
		l->n++;
		return 0;
	}
	case OPT_DUR: {
		int64_t ms;
		if (config_parse_duration(value, &ms)) {
			snprintf(
			    err, errlen,
			    "bad duration '%s' for '%s' (expected a number with a unit: ms, s, m, "
			    "h, d, w or y, e.g. 90s)",
			    value, o->key);
			return -1;
		}
		if (ms < o->min || ms > o->max) {
			snprintf(err, errlen, "'%s' for '%s' is out of range (%s to %s)", value,
			         o->key, config_format_duration((int64_t)o->min, a, sizeof(a)),
			         config_format_duration((int64_t)o->max, b, sizeof(b)));
			return -1;
		}
		*(int64_t *)field = ms;
		return 0;
	}
	case OPT_SIZE: {
		uint64_t n;
		if (config_parse_size(value, &n)) {
			snprintf(
			    err, errlen,
			    "bad size '%s' for '%s' (expected bytes or a unit: KiB, MiB, GiB, KB, "
			    "MB, GB, e.g. 256MiB)",
			    value, o->key);
			return -1;
		}
		if ((double)n < o->min || (double)n > o->max) {
			snprintf(err, errlen, "'%s' for '%s' is out of range (%.0f to %.0f bytes)",
			         value, o->key, o->min, o->max);
			return -1;
		}
		*(uint64_t *)field = n;
		return 0;
	}
	case OPT_DOUBLE: {
		char *e;
		errno = 0;
		double v = strtod(value, &e);
		if (e == value || *e || errno || !isfinite(v) || v < o->min || v > o->max ||
		    (o->min_open && v == o->min)) {
			snprintf(err, errlen,
			         "bad value '%s' for '%s' (expected a number in %c%g, %g])", value,
			         o->key, o->min_open ? '(' : '[', o->min, o->max);
			return -1;
		}
		*(double *)field = v;
		return 0;
	}
	case OPT_INT: {
		char *e;
		errno = 0;
		long long v = strtoll(value, &e, 10);
		if (e == value || *e || errno || v < o->min || v > o->max) {
			snprintf(
			    err, errlen,
			    "bad value '%s' for '%s' (expected a whole number from %.0f to %.0f)",
			    value, o->key, o->min, o->max);
			return -1;
		}
		*(long *)field = (long)v;
		return 0;
	}
	case OPT_BOOL:
		if (config_parse_bool(value, (bool *)field)) {
			snprintf(err, errlen, "bad value '%s' for '%s' (expected true or false)",
			         value, o->key);
			return -1;
		}
		return 0;
	case OPT_LEVEL:
		if (log_level_parse(value, (enum log_level *)field)) {
			snprintf(err, errlen,
			         "bad value '%s' for '%s' (expected debug, info, warn or error)",
			         value, o->key);
			return -1;
		}
		return 0;
	}
	return -1;
}

static void opts_free(const struct opt *opts, void *base)
{
	for (const struct opt *o = opts; o->key; o++) {
		char *field = (char *)base + o->off;
		if (o->type == OPT_STR) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (o->type == OPT_LIST) {
			struct strlist *l = (struct strlist *)field;
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}

static int opts_defaults(const struct opt *opts, void *base)
{
	char err[256];
	for (const struct opt *o = opts; o->key; o++) {
		/* An empty default of a choice ("type") means "not set yet". */
		if (o->type == OPT_STR && !o->def[0]) {
			char **field = (char **)((char *)base + o->off);
			free(*field);
			if (!(*field = strdup("")))
				return -1;
			continue;
		}
		if (opt_set(o, base, o->def, err, sizeof(err)) != 0)
			return -1;
		if (o->type == OPT_LIST && o->def[0])
			((struct strlist *)((char *)base + o->off))->is_default = true;
	}
	return 0;
}

static const struct opt *opt_find(const struct opt *opts, const char *key)
{
	/* The retention tiers also go by the names of issue 18's text
	 * (retention.events = 7d ...), the same settings. */
	static const struct {
		const char *alias, *key;
	} aliases[] = {{"retention.events", "retention_raw"},
	               {"retention.minutes", "retention_windows"},
	               {"retention.hours", "retention_hours"},
	               {"retention.days", "retention_days"}};
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(key, aliases[i].alias) == 0)
			key = aliases[i].key;
	for (const struct opt *o = opts; o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

/* ---- whole config ------------------------------------------------------ */

int config_init(struct mlw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (opts_defaults(agent_opts, &cfg->agent) ||
	    opts_defaults(collector_opts, &cfg->collector) || opts_defaults(tui_opts, &cfg->tui)) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

void config_free(struct mlw_config *cfg)
{
	opts_free(agent_opts, &cfg->agent);
	opts_free(collector_opts, &cfg->collector);
	opts_free(tui_opts, &cfg->tui);
	for (size_t i = 0; i < cfg->n_models; i++) {
		struct model_config *m = &cfg->models[i];
		for (size_t k = 0; k < m->n_features; k++) {
			free(m->features[k].name);
			free(m->features[k].method);
			free(m->features[k].preset);
		}
		free(m->features);
		free(m->task);
		free(m->concept_detector);
		free(m->drift_preset);
		free(m->fairness_by);
		free(m->positive_label);
		free(m->segment_by);
		free(m->name);
	}
	free(cfg->models);
	for (size_t i = 0; i < cfg->n_alerts; i++) {
		opts_free(alert_opts, &cfg->alerts[i]);
		free(cfg->alerts[i].name);
	}
	free(cfg->alerts);
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		opts_free(receiver_opts, &cfg->receivers[i]);
		free(cfg->receivers[i].name);
	}
	free(cfg->receivers);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

const struct model_config *config_model(const struct mlw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_models; i++)
		if (strcmp(cfg->models[i].name, name) == 0)
			return &cfg->models[i];
	return NULL;
}

struct load_state {
	struct mlw_config *cfg;
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	FILE *file;
	int line;     /* of the line inih is working on (our reader counts) */
	int header;   /* of the last [section] line */
	int syntax;   /* line of a malformed section header */
	int too_long; /* line number of a line longer than inih's buffer */
};

static int load_fail(struct load_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int load_fail(struct load_state *st, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->failed)
		return 0;
	st->failed = 1;
	n = snprintf(st->err, st->errlen, "%s:%d: ", st->path, line);
	if (n < 0 || (size_t)n >= st->errlen)
		return 0;
	va_start(ap, fmt);
	vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return 0; /* inih: stop at the first error */
}

/* Splits "model fraud" into kind "model" and name "fraud". */
static int split_section(const char *section, char *kind, size_t kcap, const char **name)
{
	const char *sp = strchr(section, ' ');
	size_t k = sp ? (size_t)(sp - section) : strlen(section);

	if (k >= kcap)
		return -1;
	memcpy(kind, section, k);
	kind[k] = '\0';
	*name = NULL;
	if (sp) {
		while (*sp == ' ')
			sp++;
		*name = sp;
	}
	return 0;
}

static bool section_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

static void *grow(void **arr, size_t *n, size_t elem)
{
	void *p = realloc(*arr, (*n + 1) * elem);
	if (!p)
		return NULL;
	*arr = p;
	memset((char *)p + *n * elem, 0, elem);
	return (char *)p + (*n)++ * elem;
}

static int model_key(struct load_state *st, struct model_config *m, const char *key,
                     const char *value, int line)
{
	char err[256];
	const char *dot = strchr(key, '.');

	if (!dot) {
		if (strcmp(key, "sample_rate") == 0) {
			static const struct opt o = {"sample_rate", OPT_DOUBLE, 0, "", 0, 1,
			                             NULL,          1};
			if (opt_set(&o, &m->sample_rate, value, err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			m->has_sample_rate = true;
			return 1;
		}
		if (strcmp(key, "task") == 0) {
			static const struct opt o = {
			    "task", OPT_STR, 0, "", 0, 0, "auto|classification|regression", 0};
			if (opt_set(&o, &m->task, value, err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			return 1;
		}
		if (strcmp(key, "drift_preset") == 0) {
			static const struct opt o = {
			    "drift_preset", OPT_STR, 0, "", 0, 0, "mlwatch|evidently|nannyml", 0};
			if (opt_set(&o, &m->drift_preset, value, err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			return 1;
		}
		if (strcmp(key, "concept_detector") == 0) {
			static const struct opt o = {
			    "concept_detector", OPT_STR, 0, "", 0, 0, "adwin|page_hinkley|both", 0};
			if (opt_set(&o, &m->concept_detector, value, err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			return 1;
		}
		if (strcmp(key, "false_alarm_rate") == 0) {
			static const struct opt o = {
			    "false_alarm_rate", OPT_DOUBLE, 0, "", 0, 0.5, NULL, 0};
			if (opt_set(&o, &m->false_alarm_rate, value, err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			return 1;
		}
		if (strcmp(key, "reference") == 0) {
			if (config_parse_reference(value, &m->reference_mode, &m->reference_span_s,
			                           err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			return 1;
		}
		if (strcmp(key, "fairness_by") == 0 || strcmp(key, "positive_label") == 0) {
			char **dst = key[0] == 'f' ? &m->fairness_by : &m->positive_label;
			if (!*value || strlen(value) > 1024)
				return load_fail(
				    st, line, "bad value for '%s' (expected %s, 1 to 1024 bytes)",
				    key,
				    key[0] == 'f' ? "attribute names separated by commas"
				                  : "a class name");
			free(*dst);
			if (!(*dst = strdup(value)))
				return load_fail(st, line, "out of memory");
			return 1;
		}
		if (strcmp(key, "segment_by") == 0) {
			if (!*value || strlen(value) > 128 || strchr(value, ','))
				return load_fail(st, line,
				                 "bad value for 'segment_by' (expected one feature "
				                 "name, 1 to 128 bytes)");
			free(m->segment_by);
			if (!(m->segment_by = strdup(value)))
				return load_fail(st, line, "out of memory");
			return 1;
		}
		if (strcmp(key, "segment_top_k") == 0) {
			static const struct opt o = {
			    "segment_top_k", OPT_INT, 0, "", 1, 1000, NULL, 0};
			if (opt_set(&o, &m->segment_top_k, value, err, sizeof(err)))
				return load_fail(st, line, "%s", err);
			return 1;
		}
		return load_fail(st, line, "unknown key '%s' in [model %s]", key, m->name);
	}
	size_t plen = (size_t)(dot - key);
	const char *fname = dot + 1;
	if (!*fname || strlen(fname) > 128)
		return load_fail(st, line, "bad feature name in key '%s'", key);
	struct model_feature_config *f = NULL;
	for (size_t i = 0; i < m->n_features; i++)
		if (strcmp(m->features[i].name, fname) == 0)
			f = &m->features[i];
	if (!f) {
		f = grow((void **)&m->features, &m->n_features, sizeof(*f));
		if (!f || !(f->name = strdup(fname)))
			return load_fail(st, line, "out of memory");
		f->line = line;
		f->false_alarm_rate = -1;
		f->min_effect = -1;
	}
	if (plen == 10 && strncmp(key, "min_effect", 10) == 0) {
		static const struct opt o = {"min_effect", OPT_DOUBLE, 0, "", 0, 1e6, NULL, 0};
		char msg[256];
		if (opt_set(&o, &f->min_effect, value, msg, sizeof(msg)))
			return load_fail(st, line,
			                 "bad value '%s' for '%s' (expected a number >= 0; 0 = no "
			                 "minimum effect)",
			                 value, key);
		return 1;
	}
	if (plen == 16 && strncmp(key, "false_alarm_rate", 16) == 0) {
		static const struct opt o = {
		    "false_alarm_rate", OPT_DOUBLE, 0, "", 0, 0.5, NULL, 0};
		char msg[256];
		if (opt_set(&o, &f->false_alarm_rate, value, msg, sizeof(msg)))
			return load_fail(
			    st, line,
			    "bad value '%s' for '%s' (expected a rate from 0 to 0.5; 0 = "
			    "no calibration)",
			    value, key);
		return 1;
	}
	if (plen == 4 && strncmp(key, "kind", 4) == 0) {
		if (strcmp(value, "numeric") == 0)
			f->kind = KIND_NUMERIC;
		else if (strcmp(value, "categorical") == 0)
			f->kind = KIND_CATEGORICAL;
		else
			return load_fail(
			    st, line, "bad value '%s' for '%s' (expected numeric or categorical)",
			    value, key);
		return 1;
	}
	if (plen == 6 && strncmp(key, "method", 6) == 0) {
		if (!in_choices(value, "ks|wasserstein|psi|js|chi2|z|hellinger|linf|tvd|kl|energy|"
		                       "mannwhitney|welch|fisher|anderson|cvm"))
			return load_fail(st, line,
			                 "bad value '%s' for '%s' (expected ks, wasserstein, psi, "
			                 "js, chi2, z, hellinger, linf, tvd, kl, energy, "
			                 "mannwhitney, welch, fisher, anderson or cvm)",
			                 value, key);
		free(f->method);
		if (!(f->method = strdup(value)))
			return load_fail(st, line, "out of memory");
		return 1;
	}
	if (plen == 12 && strncmp(key, "drift_preset", 12) == 0) {
		if (!in_choices(value, "mlwatch|evidently|nannyml"))
			return load_fail(st, line,
			                 "bad value '%s' for '%s' (expected mlwatch, evidently or "
			                 "nannyml)",
			                 value, key);
		free(f->preset);
		if (!(f->preset = strdup(value)))
			return load_fail(st, line, "out of memory");
		return 1;
	}
	if (plen == 9 && strncmp(key, "threshold", 9) == 0) {
		static const struct opt o = {"threshold", OPT_DOUBLE, 0, "", 0, 1e6, NULL, 1};
		char msg[256];
		if (opt_set(&o, &f->threshold, value, msg, sizeof(msg)))
			return load_fail(st, line,
			                 "bad value '%s' for '%s' (expected a number > 0)", value,
			                 key);
		return 1;
	}
	return load_fail(st, line,
	                 "unknown key '%s' in [model %s] (per-feature keys are kind.F, method.F, "
	                 "threshold.F, drift_preset.F, false_alarm_rate.F, min_effect.F)",
	                 key, m->name);
}

/* The section object a key goes to; created on first use. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load_state *st = user;
	int line = st->line;
	struct mlw_config *cfg = st->cfg;
	char kind[32], err[512];
	const char *name;
	const struct opt *opts = NULL, *o;
	void *base = NULL;
	int r;

	if (st->failed)
		return 0;
	if (!section[0])
		return load_fail(st, line, "key '%s' outside of a [section]", key);
	if (split_section(section, kind, sizeof(kind), &name))
		return load_fail(st, line, "unknown section [%s]", section);

	bool named = strcmp(kind, "model") == 0 || strcmp(kind, "alert") == 0 ||
	             strcmp(kind, "receiver") == 0;
	if (named) {
		if (!name || !section_name_valid(name))
			return load_fail(st, line,
			                 "section [%s] needs a name of 1-64 characters of "
			                 "[A-Za-z0-9_.-], like [%s NAME]",
			                 section, kind);
	} else if (name) {
		return load_fail(st, line, "unknown section [%s]", section);
	}

	if (strcmp(kind, "agent") == 0) {
		opts = agent_opts;
		base = &cfg->agent;
	} else if (strcmp(kind, "collector") == 0) {
		opts = collector_opts;
		base = &cfg->collector;
	} else if (strcmp(kind, "tui") == 0) {
		opts = tui_opts;
		base = &cfg->tui;
	} else if (strcmp(kind, "model") == 0) {
		struct model_config *m = (struct model_config *)config_model(cfg, name);
		if (!m) {
			m = grow((void **)&cfg->models, &cfg->n_models, sizeof(*m));
			if (!m || !(m->name = strdup(name)))
				return load_fail(st, line, "out of memory");
			m->line = st->header ? st->header : line;
			m->false_alarm_rate = 0.01; /* CALIB_RATE_DEFAULT */
		}
		return model_key(st, m, key, value, line);
	} else if (strcmp(kind, "alert") == 0) {
		struct alert_config *a = NULL;
		for (size_t i = 0; i < cfg->n_alerts; i++)
			if (strcmp(cfg->alerts[i].name, name) == 0)
				a = &cfg->alerts[i];
		if (!a) {
			a = grow((void **)&cfg->alerts, &cfg->n_alerts, sizeof(*a));
			if (!a || opts_defaults(alert_opts, a) || !(a->name = strdup(name)))
				return load_fail(st, line, "out of memory");
			a->line = st->header ? st->header : line;
		}
		if (strcmp(key, "expr") == 0)
			a->expr_line = line;
		opts = alert_opts;
		base = a;
	} else if (strcmp(kind, "receiver") == 0) {
		struct receiver_config *rc = NULL;
		for (size_t i = 0; i < cfg->n_receivers; i++)
			if (strcmp(cfg->receivers[i].name, name) == 0)
				rc = &cfg->receivers[i];
		if (!rc) {
			rc = grow((void **)&cfg->receivers, &cfg->n_receivers, sizeof(*rc));
			if (!rc || opts_defaults(receiver_opts, rc) || !(rc->name = strdup(name)))
				return load_fail(st, line, "out of memory");
			rc->line = st->header ? st->header : line;
		}
		opts = receiver_opts;
		base = rc;
	} else {
		return load_fail(
		    st, line,
		    "unknown section [%s] (expected agent, collector, tui, model NAME, "
		    "alert NAME or receiver NAME)",
		    section);
	}
	o = opt_find(opts, key);
	if (!o)
		return load_fail(st, line, "unknown key '%s' in [%s]", key, section);
	r = opt_set(o, base, value, err, sizeof(err));
	if (r == -2)
		return load_fail(st, line, "out of memory");
	if (r)
		return load_fail(st, line, "%s in [%s]", err, section);
	return 1;
}

/* Checks what can only be checked once a whole section has been read. */
static int check_sections(struct load_state *st)
{
	struct mlw_config *cfg = st->cfg;

	for (size_t i = 0; i < cfg->n_alerts; i++) {
		const struct alert_config *a = &cfg->alerts[i];
		if (!a->expr[0])
			return load_fail(st, a->line, "[alert %s] has no 'expr'", a->name), -1;
	}
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		const struct receiver_config *r = &cfg->receivers[i];
		if (!r->type[0])
			return load_fail(
			           st, r->line,
			           "[receiver %s] has no 'type' (webhook, alertmanager, slack, "
			           "pagerduty or exec)",
			           r->name),
			       -1;
		if (strcmp(r->type, "exec") == 0) {
			if (!r->command[0])
				return load_fail(st, r->line,
				                 "[receiver %s] of type exec needs a 'command'",
				                 r->name),
				       -1;
			if (r->url[0])
				return load_fail(
				           st, r->line,
				           "[receiver %s] of type exec takes a 'command', not "
				           "a 'url'",
				           r->name),
				       -1;
			continue;
		}
		if (r->command[0] || r->shell)
			return load_fail(st, r->line,
			                 "[receiver %s]: 'command' and 'shell' are for type exec",
			                 r->name),
			       -1;
		if (strcmp(r->type, "pagerduty") != 0 && !r->url[0])
			return load_fail(st, r->line, "[receiver %s] of type %s needs a 'url'",
			                 r->name, r->type),
			       -1;
		if (strcmp(r->type, "pagerduty") == 0 && !r->routing_key_file[0])
			return load_fail(st, r->line,
			                 "[receiver %s] of type pagerduty needs 'routing_key_file'",
			                 r->name),
			       -1;
	}
	for (size_t i = 0; i < cfg->n_alerts; i++) {
		const struct alert_config *a = &cfg->alerts[i];
		const char *p = a->receivers;
		while (*p) {
			while (*p == ' ' || *p == ',')
				p++;
			size_t k = strcspn(p, " ,");
			if (!k)
				break;
			bool found = false;
			for (size_t j = 0; j < cfg->n_receivers; j++)
				if (strlen(cfg->receivers[j].name) == k &&
				    strncmp(cfg->receivers[j].name, p, k) == 0)
					found = true;
			if (!found)
				return load_fail(st, a->line,
				                 "[alert %s] names receiver '%.*s', which has no "
				                 "[receiver %.*s] section",
				                 a->name, (int)k, p, (int)k, p),
				       -1;
			p += k;
		}
	}
	return 0;
}

/* inih's reader: fgets that counts lines, so that errors can name them (the
 * distribution's inih is built without line numbers in the handler), and
 * that refuses lines longer than inih's buffer instead of splitting them. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	char *r;

	if (st->too_long)
		return NULL;
	r = fgets(str, num, st->file);
	if (!r)
		return NULL;
	st->line++;
	const char *p = r;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		st->header = st->line;
		if (!strchr(p, ']')) {
			st->syntax = st->line; /* inih would go on with the previous section */
			return NULL;
		}
	}
	size_t n = strlen(r);
	if (n == (size_t)num - 1 && r[n - 1] != '\n' && !feof(st->file)) {
		st->too_long = st->line;
		return NULL;
	}
	return r;
}

int config_load(struct mlw_config *cfg, const char *path, char *err, size_t errlen)
{
	struct load_state st = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
	FILE *f;
	int r;

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	st.file = f;
	r = ini_parse_stream(read_line, &st, on_key, &st);
	fclose(f);
	if (st.syntax && !st.failed) {
		snprintf(err, errlen, "%s:%d: syntax error (a section header needs a closing ']')",
		         path, st.syntax);
		return -1;
	}
	if (st.too_long && !st.failed) {
		snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, st.too_long,
		         INI_MAX_LINE - 2);
		return -1;
	}
	if (st.failed)
		return -1;
	if (r > 0) {
		snprintf(err, errlen,
		         "%s:%d: syntax error (expected [section], key = value, or a "
		         "; comment)",
		         path, r);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		return -1;
	}
	if (check_sections(&st))
		return -1;
	free(cfg->path);
	cfg->path = strdup(path);
	return 0;
}

static const struct opt *section_opts(enum config_section sec, void **base, struct mlw_config *cfg)
{
	switch (sec) {
	case CONFIG_AGENT:
		if (base)
			*base = &cfg->agent;
		return agent_opts;
	case CONFIG_COLLECTOR:
		if (base)
			*base = &cfg->collector;
		return collector_opts;
	case CONFIG_TUI:
		if (base)
			*base = &cfg->tui;
		return tui_opts;
	}
	return NULL;
}

/* "spool-max" -> "spool_max" */
static void key_norm(const char *key, char *out, size_t cap)
{
	size_t i = 0;
	for (; key[i] && i + 1 < cap; i++)
		out[i] = key[i] == '-' ? '_' : key[i];
	out[i] = '\0';
}

int config_set(struct mlw_config *cfg, enum config_section sec, const char *key, const char *value,
               char *err, size_t errlen)
{
	void *base = NULL;
	char k[64];
	const struct opt *opts = section_opts(sec, &base, cfg), *o;

	key_norm(key, k, sizeof(k));
	o = opt_find(opts, k);
	if (!o)
		return -1;
	int r = opt_set(o, base, value, err, errlen);
	if (r == -2)
		snprintf(err, errlen, "out of memory");
	return r ? -2 : 0;
}

int config_key_is_bool(enum config_section sec, const char *key)
{
	char k[64];
	const struct opt *o;

	key_norm(key, k, sizeof(k));
	o = opt_find(section_opts(sec, NULL, NULL), k);
	return o ? o->type == OPT_BOOL : -1;
}

void config_for_each_key(void (*fn)(const char *section, const char *key, const char *def,
                                    void *arg),
                         void *arg)
{
	static const struct {
		const char *name;
		const struct opt *opts;
	} secs[] = {{"agent", agent_opts},
	            {"collector", collector_opts},
	            {"tui", tui_opts},
	            {"alert", alert_opts},
	            {"receiver", receiver_opts}};
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		for (const struct opt *o = secs[i].opts; o->key; o++)
			fn(secs[i].name, o->key, o->def, arg);
	fn("model", "sample_rate", "1.0", arg);
	fn("model", "task", "auto", arg);
	fn("model", "concept_detector", "adwin", arg);
	fn("model", "drift_preset", "mlwatch", arg);
	fn("model", "fairness_by", "", arg);
	fn("model", "positive_label", "1", arg);
	fn("model", "segment_by", "", arg);
	fn("model", "segment_top_k", "20", arg);
	fn("model", "false_alarm_rate", "0.01", arg);
	fn("model", "reference", "static", arg);
	fn("model", "kind.*", "", arg);
	fn("model", "method.*", "", arg);
	fn("model", "threshold.*", "", arg);
	fn("model", "drift_preset.*", "", arg);
	fn("model", "false_alarm_rate.*", "", arg);
	fn("model", "min_effect.*", "", arg);
}

char *config_read_secret(const char *path, char *err, size_t errlen)
{
	char buf[4097];
	struct stat sb;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &sb) == 0 && sb.st_size > 4096) {
		fclose(f);
		snprintf(err, errlen, "%s: larger than 4 KiB; expected one line with the secret",
		         path);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	n = strlen(buf);
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (!n) {
		snprintf(err, errlen, "%s: empty; expected one line with the secret", path);
		return NULL;
	}
	char *s = strdup(buf);
	/* Do not leave the secret on the stack. */
	explicit_bzero(buf, sizeof(buf));
	if (!s)
		snprintf(err, errlen, "out of memory");
	return s;
}

void config_for_each_flag(enum config_section sec,
                          void (*fn)(const char *key, const char *type, const char *def, void *arg),
                          void *arg)
{
	static const char *const type_names[] = {"string", "list",    "duration", "size",
	                                         "number", "integer", "bool",     "level"};
	for (const struct opt *o = section_opts(sec, NULL, NULL); o->key; o++)
		fn(o->key, o->oneof ? o->oneof : type_names[o->type], o->def, arg);
}
