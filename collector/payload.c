/* payload: see payload.h. */
#include "payload.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "clock.h"
#include "rules.h"

/* Alertmanager's zero time, which its webhook uses as endsAt while firing. */
#define ZERO_TIME "0001-01-01T00:00:00Z"

int payload_receiver_type(const char *s)
{
	static const char *const names[] = {"webhook", "alertmanager", "slack", "pagerduty",
	                                    "exec"};
	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int payload_is_resolved(const struct notification *n)
{
	return strcmp(n->kind, "resolved") == 0;
}

/* ---- stored form -------------------------------------------------------- */

int payload_encode(const struct notification *n, char **json)
{
	cJSON *o = cJSON_CreateObject();
	int rc = -1;

	*json = NULL;
	if (!o)
		return -1;
	if (!cJSON_AddStringToObject(o, "kind", n->kind) ||
	    !cJSON_AddStringToObject(o, "rule", n->rule) ||
	    !cJSON_AddStringToObject(o, "model", n->model) ||
	    !cJSON_AddStringToObject(o, "feature", n->feature) ||
	    !cJSON_AddStringToObject(o, "severity", n->severity) ||
	    !cJSON_AddStringToObject(o, "metric", n->metric) ||
	    !cJSON_AddStringToObject(o, "op", n->op) ||
	    !cJSON_AddStringToObject(o, "expr", n->expr) ||
	    !cJSON_AddStringToObject(o, "window", n->window) ||
	    !cJSON_AddStringToObject(o, "summary", n->summary) ||
	    !cJSON_AddStringToObject(o, "description", n->description) ||
	    !cJSON_AddStringToObject(o, "fingerprint", n->fingerprint) ||
	    !cJSON_AddNumberToObject(o, "value", n->value) ||
	    !cJSON_AddNumberToObject(o, "threshold", n->threshold) ||
	    !cJSON_AddNumberToObject(o, "starts_at", n->starts_at) ||
	    !cJSON_AddNumberToObject(o, "ends_at", n->ends_at) ||
	    !cJSON_AddNumberToObject(o, "created", n->created) ||
	    !cJSON_AddNumberToObject(o, "alert_id", (double)n->alert_id) ||
	    !cJSON_AddNumberToObject(o, "window_start", n->window_start) ||
	    !cJSON_AddNumberToObject(o, "window_end", n->window_end))
		goto out;
	*json = cJSON_PrintUnformatted(o);
	rc = *json ? 0 : -1;
out:
	cJSON_Delete(o);
	return rc;
}

void payload_free(struct notification *n)
{
	char **strs[] = {&n->kind,     &n->rule,    &n->model,       &n->feature,
	                 &n->severity, &n->metric,  &n->op,          &n->expr,
	                 &n->window,   &n->summary, &n->description, &n->fingerprint};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

int payload_decode(const char *json, struct notification *n, char *err, size_t errlen)
{
	static const char *const keys[] = {"kind",     "rule",    "model",       "feature",
	                                   "severity", "metric",  "op",          "expr",
	                                   "window",   "summary", "description", "fingerprint"};
	cJSON *o = cJSON_Parse(json);
	int rc = -1;

	memset(n, 0, sizeof(*n));
	char **strs[] = {&n->kind,     &n->rule,    &n->model,       &n->feature,
	                 &n->severity, &n->metric,  &n->op,          &n->expr,
	                 &n->window,   &n->summary, &n->description, &n->fingerprint};
	if (!o || !cJSON_IsObject(o)) {
		snprintf(err, errlen, "notification is not a JSON object");
		goto out;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "notification has no string '%s'", keys[i]);
			goto out;
		}
		if (!(*strs[i] = strdup(v->valuestring))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	/* cJSON prints NaN as null, which reads back as NaN. */
	static const char *const nums[] = {"value",   "threshold", "starts_at",
	                                   "ends_at", "created",   "alert_id"};
	double *dst[] = {&n->value, &n->threshold, &n->starts_at, &n->ends_at, &n->created, NULL};
	for (size_t i = 0; i < 6; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, nums[i]);
		double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		if (!v || (!cJSON_IsNumber(v) && !cJSON_IsNull(v))) {
			snprintf(err, errlen, "notification has no number '%s'", nums[i]);
			goto out;
		}
		/* a row id out of int64's range would be undefined to convert */
		if (!dst[i] && !isnan(d) && !(d > -9.2e18 && d < 9.2e18)) {
			snprintf(err, errlen, "notification's '%s' is out of range", nums[i]);
			goto out;
		}
		if (dst[i])
			*dst[i] = d;
		else
			n->alert_id = isnan(d) ? 0 : (int64_t)d;
	}
	/* Rows queued before the window was stored have none. */
	{
		const cJSON *ws = cJSON_GetObjectItemCaseSensitive(o, "window_start"),
		            *we = cJSON_GetObjectItemCaseSensitive(o, "window_end");
		n->window_start = cJSON_IsNumber(ws) ? ws->valuedouble : NAN;
		n->window_end = cJSON_IsNumber(we) ? we->valuedouble : NAN;
	}
	if (strcmp(n->kind, "firing") && strcmp(n->kind, "repeat") && strcmp(n->kind, "resolved") &&
	    strcmp(n->kind, "nodata")) {
		snprintf(err, errlen, "unknown notification kind '%.16s'", n->kind);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		payload_free(n);
	cJSON_Delete(o);
	return rc;
}

/* ---- helpers ------------------------------------------------------------ */

void payload_fingerprint(const char *rule, const char *model, const char *feature, char out[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	/* NUL separators keep ("a","bc") and ("ab","c") apart. */
	memset(md, 0, sizeof(md));
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_DigestUpdate(c, rule, strlen(rule) + 1);
		EVP_DigestUpdate(c, model, strlen(model) + 1);
		EVP_DigestUpdate(c, feature, strlen(feature) + 1);
		EVP_DigestFinal_ex(c, md, &len);
	}
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void payload_sign(const char *secret, long long ts, const char *body, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "%lld.", ts);
	unsigned char *msg = malloc((size_t)n + len);

	memset(md, 0, sizeof(md));
	/* Out of memory leaves an all-zero digest, which no receiver accepts. */
	if (msg) {
		memcpy(msg, prefix, (size_t)n);
		memcpy(msg + n, body, len);
		HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)n + len, md, &mdlen);
		free(msg);
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

const char *payload_verify(const char *secret, const char *header, const char *body, size_t len,
                           double now, double tolerance_s)
{
	char want[65];
	const char *v;
	char *end;
	long long ts;

	if (!header)
		return "missing";
	if (strncmp(header, "t=", 2) != 0 || header[2] < '0' || header[2] > '9')
		return "invalid";
	errno = 0;
	ts = strtoll(header + 2, &end, 10);
	if (errno || strncmp(end, ",v1=", 4) != 0)
		return "invalid";
	v = end + 4;
	if (strlen(v) != 64)
		return "invalid";
	payload_sign(secret, ts, body, len, want);
	if (CRYPTO_memcmp(v, want, 64) != 0)
		return "invalid";
	/* Checked after the digest: only a genuine old request is "stale". */
	if (fabs(now - (double)ts) > tolerance_s)
		return "stale";
	return "valid";
}

static char *url_escape(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(3 * n + 1), *p = o;
	if (!o)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			*p++ = (char)c;
		} else {
			snprintf(p, 4, "%%%02X", c);
			p += 3;
		}
	}
	*p = '\0';
	return o;
}

char *payload_generator_url(const char *external_url, const struct notification *n)
{
	char *r = NULL, *m = NULL, *out = NULL;
	size_t el;

	if (!external_url || !*external_url)
		return strdup("");
	el = strlen(external_url);
	while (el > 0 && external_url[el - 1] == '/')
		el--;
	r = url_escape(n->rule);
	m = url_escape(n->model);
	if (r && m &&
	    asprintf(&out, "%.*s/alerts?rule=%s&model=%s", (int)el, external_url, r, m) < 0)
		out = NULL;
	free(r);
	free(m);
	return out;
}

char *payload_url(enum receiver_type t, const char *url)
{
	char *out = NULL;
	size_t n = url ? strlen(url) : 0;

	if (t == RECEIVER_PAGERDUTY && n == 0)
		return strdup(PAYLOAD_PAGERDUTY_URL);
	if (t != RECEIVER_ALERTMANAGER)
		return strdup(url ? url : "");
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (asprintf(&out, "%.*s/api/v2/alerts", (int)n, url) < 0)
		return NULL;
	return out;
}

static const char *rfc3339(double ts, char *buf, size_t cap)
{
	if (isnan(ts))
		return ZERO_TIME;
	return clock_format_rfc3339(ts, buf, cap);
}

static bool add_str(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v ? v : "") != NULL;
}

static cJSON *labels(const struct notification *n)
{
	cJSON *l = cJSON_CreateObject();
	if (!l)
		return NULL;
	if (!add_str(l, "alertname", n->rule) || !add_str(l, "model", n->model) ||
	    (n->feature[0] && !add_str(l, "feature", n->feature)) ||
	    !add_str(l, "severity", n->severity)) {
		cJSON_Delete(l);
		return NULL;
	}
	return l;
}

static cJSON *annotations(const struct notification *n)
{
	cJSON *a = cJSON_CreateObject();
	char v[64], t[64];
	if (!a)
		return NULL;
	if (!add_str(a, "summary", n->summary) ||
	    (n->description[0] && !add_str(a, "description", n->description)) ||
	    !add_str(a, "value", rules_format_value(n->value, v, sizeof(v))) ||
	    !add_str(a, "threshold", rules_format_value(n->threshold, t, sizeof(t))) ||
	    !add_str(a, "expr", n->expr) || !add_str(a, "window", n->window)) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

static char *finish(cJSON *root, bool ok)
{
	char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return s;
}

/* ---- the retraining hand-off ------------------------------------------- */

/* A notification built without one (zeroes) has no window either. */
static bool has_window(const struct notification *n)
{
	return isfinite(n->window_start) && isfinite(n->window_end) &&
	       n->window_end > n->window_start;
}

void payload_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Shortest decimal that reads back as the same double: the bounds must
 * select exactly the window's events. */
static void exact_num(char *buf, size_t cap, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
}

char **payload_export_argv(const struct notification *n, const struct payload_ctx *ctx)
{
	char from[40], to[40], db[1024];
	const char *v[13];
	char **argv;
	size_t k = 0;

	if (!has_window(n) || !ctx->db_path || !ctx->db_path[0])
		return NULL;
	/* The command goes into notifications (export_command) and onto a
	 * command line others can read: a PostgreSQL URI goes without its
	 * password (libpq finds it in PGPASSWORD or ~/.pgpass). A path is
	 * unchanged. */
	if (strlen(ctx->db_path) >= sizeof(db))
		return NULL;
	db_without_password(ctx->db_path, db, sizeof(db));
	exact_num(from, sizeof(from), n->window_start);
	exact_num(to, sizeof(to), n->window_end);
	v[k++] = ctx->mlwatch_bin && ctx->mlwatch_bin[0] ? ctx->mlwatch_bin : "mlwatch";
	v[k++] = "--db";
	v[k++] = db;
	v[k++] = "export";
	v[k++] = "--model";
	v[k++] = n->model;
	v[k++] = "--from";
	v[k++] = from;
	v[k++] = "--to";
	v[k++] = to;
	v[k++] = "--format";
	v[k++] = "jsonl";
	if (!(argv = calloc(k + 1, sizeof(*argv))))
		return NULL;
	for (size_t i = 0; i < k; i++)
		if (!(argv[i] = strdup(v[i]))) {
			payload_argv_free(argv);
			return NULL;
		}
	return argv;
}

/* Safe unquoted in a POSIX shell word. */
static bool shell_plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		            "_-./:=+,@%",
		            *s))
			return false;
	return true;
}

char *payload_shell_join(char *const *argv)
{
	size_t cap = 1;
	char *out, *p;

	for (size_t i = 0; argv[i]; i++)
		cap += 4 * strlen(argv[i]) + 3; /* ' -> '\'' at worst, quotes, space */
	if (!(out = p = malloc(cap)))
		return NULL;
	for (size_t i = 0; argv[i]; i++) {
		const char *s = argv[i];
		if (i)
			*p++ = ' ';
		if (shell_plain(s)) {
			p = stpcpy(p, s);
			continue;
		}
		*p++ = '\'';
		for (; *s; s++)
			if (*s == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *s;
		*p++ = '\'';
	}
	*p = '\0';
	return out;
}

/* Adds window_start, window_end (RFC 3339) and export_command to an
 * annotation-like object when n has a window. */
static bool add_retrain(cJSON *a, const struct notification *n, const struct payload_ctx *ctx)
{
	char t1[40], t2[40], *cmd = NULL;
	char **argv;
	bool ok;

	if (!has_window(n))
		return true;
	argv = payload_export_argv(n, ctx);
	cmd = argv ? payload_shell_join(argv) : NULL;
	ok = add_str(a, "window_start", rfc3339(n->window_start, t1, sizeof(t1))) &&
	     add_str(a, "window_end", rfc3339(n->window_end, t2, sizeof(t2))) &&
	     (!argv || (cmd && add_str(a, "export_command", cmd)));
	free(cmd);
	payload_argv_free(argv);
	return ok;
}

/* ---- exec: the notification as one object on stdin ----------------------- */

static char *render_exec(const struct notification *n, const struct payload_ctx *ctx)
{
	cJSON *root = cJSON_CreateObject(), *ex, *arr;
	char *gen = payload_generator_url(ctx->external_url, n), t1[40], t2[40], v[64], t[64];
	char **argv = payload_export_argv(n, ctx), *cmd = argv ? payload_shell_join(argv) : NULL;
	bool ok = false;

	if (!root || !gen || (argv && !cmd))
		goto out;
	if (!add_str(root, "version", "1") || !add_str(root, "receiver", ctx->receiver) ||
	    !add_str(root, "kind", n->kind) ||
	    !add_str(root, "status", payload_is_resolved(n) ? "resolved" : "firing") ||
	    !add_str(root, "rule", n->rule) || !add_str(root, "model", n->model) ||
	    !add_str(root, "feature", n->feature) || !add_str(root, "severity", n->severity) ||
	    !add_str(root, "metric", n->metric) || !add_str(root, "op", n->op) ||
	    !add_str(root, "expr", n->expr) || !add_str(root, "summary", n->summary) ||
	    !add_str(root, "description", n->description) ||
	    !add_str(root, "value", rules_format_value(n->value, v, sizeof(v))) ||
	    !add_str(root, "threshold", rules_format_value(n->threshold, t, sizeof(t))) ||
	    !add_str(root, "fingerprint", n->fingerprint) ||
	    !cJSON_AddNumberToObject(root, "alert_id", (double)n->alert_id) ||
	    !add_str(root, "starts_at", rfc3339(n->starts_at, t1, sizeof(t1))) ||
	    !add_str(root, "ends_at",
	             rfc3339(payload_is_resolved(n) ? n->ends_at : NAN, t2, sizeof(t2))) ||
	    !add_str(root, "url", gen))
		goto out;
	if (!(ex = cJSON_AddObjectToObject(root, "window")) || !add_str(ex, "label", n->window))
		goto out;
	if (has_window(n) && (!cJSON_AddNumberToObject(ex, "start_unix", n->window_start) ||
	                      !cJSON_AddNumberToObject(ex, "end_unix", n->window_end) ||
	                      !add_str(ex, "start", rfc3339(n->window_start, t1, sizeof(t1))) ||
	                      !add_str(ex, "end", rfc3339(n->window_end, t2, sizeof(t2)))))
		goto out;
	if (!argv) {
		ok = cJSON_AddNullToObject(root, "export") != NULL;
		goto out;
	}
	if (!(ex = cJSON_AddObjectToObject(root, "export")) || !add_str(ex, "command", cmd) ||
	    !(arr = cJSON_AddArrayToObject(ex, "argv")))
		goto out;
	for (size_t i = 0; argv[i]; i++) {
		cJSON *sv = cJSON_CreateString(argv[i]);
		if (!sv)
			goto out;
		cJSON_AddItemToArray(arr, sv);
	}
	ok = true;
out:
	free(gen);
	free(cmd);
	payload_argv_free(argv);
	return finish(root, ok);
}

/* ---- webhook (Alertmanager webhook v4) ---------------------------------- */

static char *render_webhook(const struct notification *n, const struct payload_ctx *ctx)
{
	cJSON *root = cJSON_CreateObject(), *alerts, *a, *gl;
	char *gen = payload_generator_url(ctx->external_url, n), gk[512], t1[40], t2[40];
	const char *status = payload_is_resolved(n) ? "resolved" : "firing";
	bool ok = false;

	if (!root || !gen)
		goto out;
	snprintf(gk, sizeof(gk), "{}:{alertname=\"%s\"}", n->rule);
	if (!add_str(root, "version", "4") || !add_str(root, "groupKey", gk) ||
	    !cJSON_AddNumberToObject(root, "truncatedAlerts", 0) ||
	    !add_str(root, "status", status) || !add_str(root, "receiver", ctx->receiver))
		goto out;
	if (!(gl = cJSON_AddObjectToObject(root, "groupLabels")) ||
	    !add_str(gl, "alertname", n->rule))
		goto out;
	/* One alert per message: every label and annotation is common. */
	cJSON_AddItemToObject(root, "commonLabels", labels(n));
	cJSON_AddItemToObject(root, "commonAnnotations", annotations(n));
	if (!cJSON_GetObjectItem(root, "commonLabels") ||
	    !cJSON_GetObjectItem(root, "commonAnnotations") ||
	    !add_retrain(cJSON_GetObjectItem(root, "commonAnnotations"), n, ctx))
		goto out;
	if (!add_str(root, "externalURL", ctx->external_url) ||
	    !(alerts = cJSON_AddArrayToObject(root, "alerts")) || !(a = cJSON_CreateObject()))
		goto out;
	cJSON_AddItemToArray(alerts, a);
	add_str(a, "status", status);
	cJSON_AddItemToObject(a, "labels", labels(n));
	cJSON_AddItemToObject(a, "annotations", annotations(n));
	ok = cJSON_GetObjectItem(a, "labels") && cJSON_GetObjectItem(a, "annotations") &&
	     add_retrain(cJSON_GetObjectItem(a, "annotations"), n, ctx) &&
	     add_str(a, "startsAt", rfc3339(n->starts_at, t1, sizeof(t1))) &&
	     add_str(a, "endsAt",
	             rfc3339(payload_is_resolved(n) ? n->ends_at : NAN, t2, sizeof(t2))) &&
	     add_str(a, "generatorURL", gen) && add_str(a, "fingerprint", n->fingerprint);
out:
	free(gen);
	return finish(root, ok);
}

/* ---- alertmanager (POST /api/v2/alerts) --------------------------------- */

static char *render_alertmanager(const struct notification *n, const struct payload_ctx *ctx)
{
	cJSON *root = cJSON_CreateArray(), *a = cJSON_CreateObject();
	char *gen = payload_generator_url(ctx->external_url, n), t1[40], t2[40];
	bool ok = false;

	if (!root || !a || !gen) {
		cJSON_Delete(a);
		goto out;
	}
	cJSON_AddItemToArray(root, a);
	cJSON_AddItemToObject(a, "labels", labels(n));
	cJSON_AddItemToObject(a, "annotations", annotations(n));
	if (!cJSON_GetObjectItem(a, "labels") || !cJSON_GetObjectItem(a, "annotations"))
		goto out;
	if (!add_str(a, "startsAt", rfc3339(n->starts_at, t1, sizeof(t1))))
		goto out;
	/* endsAt in the past resolves the alert in Alertmanager; while firing it
	 * is left out, and Alertmanager applies its resolve_timeout. */
	if (payload_is_resolved(n) && !add_str(a, "endsAt", rfc3339(n->ends_at, t2, sizeof(t2))))
		goto out;
	/* generatorURL is a URI in the API schema: leave it out when unknown. */
	ok = !*gen || add_str(a, "generatorURL", gen);
out:
	free(gen);
	return finish(root, ok);
}

/* ---- slack ---------------------------------------------------------------- */

/* Slack's mrkdwn wants &, < and > escaped; everything else is literal. */
static char *slack_escape(const char *s)
{
	size_t n = 0;
	char *o, *p;
	for (const char *q = s; *q; q++)
		n += *q == '&' ? 5 : (*q == '<' || *q == '>') ? 4 : 1;
	if (!(o = malloc(n + 1)))
		return NULL;
	for (p = o; *s; s++) {
		if (*s == '&')
			memcpy(p, "&amp;", 5), p += 5;
		else if (*s == '<')
			memcpy(p, "&lt;", 4), p += 4;
		else if (*s == '>')
			memcpy(p, "&gt;", 4), p += 4;
		else
			*p++ = *s;
	}
	*p = '\0';
	return o;
}

static char *render_slack(const struct notification *n, const struct payload_ctx *ctx)
{
	cJSON *root = cJSON_CreateObject(), *blocks, *b, *t, *els, *e;
	char *gen = payload_generator_url(ctx->external_url, n);
	char *sum = slack_escape(n->summary), *desc = slack_escape(n->description);
	char *rule = slack_escape(n->rule), *model = slack_escape(n->model);
	char *feat = slack_escape(n->feature);
	char *text = NULL, *body = NULL, *ctxline = NULL, v[64], th[64], ts[40];
	const char *tag = payload_is_resolved(n) ? "RESOLVED" : "FIRING";
	bool ok = false;

	if (!root || !gen || !sum || !desc || !rule || !model || !feat)
		goto out;
	if (asprintf(&text, "[%s:%s] %s: %s", tag, n->severity, n->rule, n->summary) < 0) {
		text = NULL;
		goto out;
	}
	if (asprintf(&body, "*[%s:%s] %s*\n%s%s%s", tag, n->severity, rule, sum,
	             desc[0] ? "\n" : "", desc) < 0) {
		body = NULL;
		goto out;
	}
	{
		/* every string printed counts: a stored notification (the outbox
		 * is outside input) may carry a metric or op of any length */
		size_t cap = 256 + strlen(model) + strlen(feat) + strlen(gen) + strlen(n->window) +
		             strlen(n->metric) + strlen(n->op);
		size_t len;
		if (!(ctxline = malloc(cap)))
			goto out;
		len = (size_t)snprintf(ctxline, cap, "model *%s*", model);
		if (feat[0])
			len += (size_t)snprintf(ctxline + len, cap - len, " feature *%s*", feat);
		len += (size_t)snprintf(ctxline + len, cap - len, " · %s %s %s %s (%s) · since %s",
		                        n->metric, rules_format_value(n->value, v, sizeof(v)),
		                        n->op, rules_format_value(n->threshold, th, sizeof(th)),
		                        n->window, rfc3339(n->starts_at, ts, sizeof(ts)));
		if (*gen && len < cap)
			snprintf(ctxline + len, cap - len, " · <%s|mlwatch>", gen);
	}
	if (!add_str(root, "text", text) || !(blocks = cJSON_AddArrayToObject(root, "blocks")))
		goto out;
	if (!(b = cJSON_CreateObject()))
		goto out;
	cJSON_AddItemToArray(blocks, b);
	if (!add_str(b, "type", "section") || !(t = cJSON_AddObjectToObject(b, "text")) ||
	    !add_str(t, "type", "mrkdwn") || !add_str(t, "text", body))
		goto out;
	if (!(b = cJSON_CreateObject()))
		goto out;
	cJSON_AddItemToArray(blocks, b);
	if (!add_str(b, "type", "context") || !(els = cJSON_AddArrayToObject(b, "elements")) ||
	    !(e = cJSON_CreateObject()))
		goto out;
	cJSON_AddItemToArray(els, e);
	ok = add_str(e, "type", "mrkdwn") && add_str(e, "text", ctxline);
out:
	free(gen);
	free(sum);
	free(desc);
	free(rule);
	free(model);
	free(feat);
	free(text);
	free(body);
	free(ctxline);
	return finish(root, ok);
}

/* ---- pagerduty (Events API v2) ------------------------------------------- */

static const char *pd_severity(const char *s)
{
	if (strcmp(s, "page") == 0)
		return "critical";
	if (strcmp(s, "warn") == 0)
		return "warning";
	return "info";
}

static char *render_pagerduty(const struct notification *n, const struct payload_ctx *ctx)
{
	cJSON *root = cJSON_CreateObject(), *p, *d, *links, *l;
	char *gen = payload_generator_url(ctx->external_url, n), sum[1024], ts[40];
	bool ok = false;

	if (!root || !gen)
		goto out;
	/* PagerDuty caps summary at 1024 characters. */
	snprintf(sum, sizeof(sum), "%s", n->summary);
	if (!add_str(root, "routing_key", ctx->routing_key) ||
	    !add_str(root, "event_action", payload_is_resolved(n) ? "resolve" : "trigger") ||
	    !add_str(root, "dedup_key", n->fingerprint) || !add_str(root, "client", "mlwatch"))
		goto out;
	if (*gen && !add_str(root, "client_url", gen))
		goto out;
	if (!(p = cJSON_AddObjectToObject(root, "payload")) || !add_str(p, "summary", sum) ||
	    !add_str(p, "source", n->model) || !add_str(p, "severity", pd_severity(n->severity)) ||
	    !add_str(p, "timestamp", rfc3339(n->starts_at, ts, sizeof(ts))) ||
	    !add_str(p, "component", n->model) || !add_str(p, "group", n->rule) ||
	    !add_str(p, "class", n->metric) || !(d = cJSON_AddObjectToObject(p, "custom_details")))
		goto out;
	if (!add_str(d, "expr", n->expr) || !cJSON_AddNumberToObject(d, "value", n->value) ||
	    !cJSON_AddNumberToObject(d, "threshold", n->threshold) ||
	    !add_str(d, "window", n->window) ||
	    (n->feature[0] && !add_str(d, "feature", n->feature)) ||
	    (n->description[0] && !add_str(d, "description", n->description)))
		goto out;
	if (*gen) {
		if (!(links = cJSON_AddArrayToObject(root, "links")) || !(l = cJSON_CreateObject()))
			goto out;
		cJSON_AddItemToArray(links, l);
		if (!add_str(l, "href", gen) || !add_str(l, "text", "mlwatch"))
			goto out;
	}
	ok = true;
out:
	free(gen);
	return finish(root, ok);
}

char *payload_render(enum receiver_type t, const struct notification *n,
                     const struct payload_ctx *ctx)
{
	switch (t) {
	case RECEIVER_WEBHOOK:
		return render_webhook(n, ctx);
	case RECEIVER_ALERTMANAGER:
		return render_alertmanager(n, ctx);
	case RECEIVER_SLACK:
		return render_slack(n, ctx);
	case RECEIVER_PAGERDUTY:
		return render_pagerduty(n, ctx);
	case RECEIVER_EXEC:
		return render_exec(n, ctx);
	}
	return NULL;
}
