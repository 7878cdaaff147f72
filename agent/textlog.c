/* textlog: see textlog.h. */
#include "textlog.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bentoml.h"

#define LINE_MAX_LEN 65536 /* a request line is short; longer is not one */

/* "YYYY-MM-DD[ T]HH:MM:SS[,.]fff" at p (local time, no offset). */
static int local_ts(const char *p, double *out)
{
	char b[32];
	size_t n = 0;
	while (n < sizeof(b) - 1 && p[n] &&
	       (isdigit((unsigned char)p[n]) || strchr("-: T,.", p[n])))
		n++;
	while (n && !isdigit((unsigned char)p[n - 1]))
		n--;
	if (n < 19)
		return -1;
	memcpy(b, p, n);
	b[n] = '\0';
	if (b[10] == ' ')
		b[10] = 'T';
	if (n > 19 && b[19] == ',')
		b[19] = '.';
	return bentoml_parse_local(b, out);
}

/* The event as JSON through the contract's parser. */
static int emit(const char *model, const char *version, const char *id, double ts, bool has_ts,
                double latency_ms, bool error, double now, struct event_batch *eb,
                struct event_error *err)
{
	cJSON *ev = cJSON_CreateObject();
	char *txt = NULL;
	int rc = -3;
	if (!ev)
		return -3;
	if (!cJSON_AddStringToObject(ev, "model", model) ||
	    (version && !cJSON_AddStringToObject(ev, "version", version)) ||
	    (id && !cJSON_AddStringToObject(ev, "id", id)) ||
	    (has_ts && !cJSON_AddNumberToObject(ev, "ts", ts)) ||
	    !cJSON_AddNumberToObject(ev, "latency_ms", latency_ms) ||
	    (error && !cJSON_AddTrueToObject(ev, "error")) || !(txt = cJSON_PrintUnformatted(ev)))
		goto out;
	rc = event_parse_body(txt, strlen(txt), EVENT_BODY_EVENTS, now, 1, eb, err);
out:
	free(txt);
	cJSON_Delete(ev);
	return rc;
}

/* The model (and version) of a TorchServe inference path, in m / v (each
 * as long as the path: event_parse refuses one over its bound with the
 * reason, rather than a cut name); false for other paths. */
static bool torchserve_path(const char *path, char *m, size_t mc, char *v, size_t vc)
{
	char p[600];
	snprintf(p, sizeof(p), "%s", path);
	p[strcspn(p, "?")] = '\0';
	v[0] = '\0';
	if (strncmp(p, "/predictions/", 13) == 0) {
		char *slash = strchr(p + 13, '/');
		if (slash) {
			snprintf(v, vc, "%s", slash + 1);
			*slash = '\0';
		}
		snprintf(m, mc, "%s", p + 13);
	} else if (strncmp(p, "/v1/models/", 11) == 0) {
		char *colon = strrchr(p + 11, ':');
		if (!colon || (strcmp(colon, ":predict") && strcmp(colon, ":explain")))
			return false;
		*colon = '\0';
		snprintf(m, mc, "%s", p + 11);
	} else if (strncmp(p, "/v2/models/", 11) == 0) {
		size_t n = strlen(p);
		if (n < 17 || strcmp(p + n - 6, "/infer") != 0)
			return false;
		p[n - 6] = '\0';
		char *ver = strstr(p + 11, "/versions/");
		if (ver) {
			snprintf(v, vc, "%s", ver + 10);
			*ver = '\0';
		}
		snprintf(m, mc, "%s", p + 11);
	} else {
		return false;
	}
	return m[0] != '\0';
}

static int torchserve(const char *line, double now, struct event_batch *eb, struct event_error *err)
{
	const char *acc = strstr(line, "ACCESS_LOG - ");
	char req[600], model[600], ver[600];
	double ts, ms;
	int status, used = 0;

	if (!acc) /* [METRICS] step timings, TS_METRICS host counters, other logs */
		return 1;
	const char *q1 = strchr(acc, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
	if (!q2 || (size_t)(q2 - q1 - 1) >= sizeof(req))
		return event_fail(err, "request",
		                  "no quoted request line \"METHOD PATH PROTOCOL\"");
	snprintf(req, sizeof(req), "%.*s", (int)(q2 - q1 - 1), q1 + 1);
	if (sscanf(q2 + 1, " %d %lf%n", &status, &ms, &used) != 2 || q2[1 + used] != '\0')
		return event_fail(err, "status",
		                  "not \"STATUS MILLISECONDS\" after the request line");
	if (status < 100 || status > 599 || !isfinite(ms) || ms < 0)
		return event_fail(err, "status", "status %d or %g ms out of range", status, ms);
	char *sp = strchr(req, ' ');
	if (!sp)
		return event_fail(err, "request", "no path in \"%.100s\"", req);
	char *path = sp + 1;
	path[strcspn(path, " ")] = '\0';
	if (!torchserve_path(path, model, sizeof(model), ver, sizeof(ver)))
		return 1; /* ping, management API: not a prediction */
	bool has_ts = local_ts(line, &ts) == 0;
	return emit(model, ver[0] ? ver : NULL, NULL, ts, has_ts, ms, status >= 400, now, eb, err);
}

/* "... OK 0.3ms" / "... ERROR 5ms" / "... 200 3.5ms" at the end of msg. */
static bool ray_outcome(const char *msg, double *ms, bool *error)
{
	size_t n = strlen(msg);
	while (n && isspace((unsigned char)msg[n - 1]))
		n--;
	if (n < 4 || msg[n - 1] != 's' || msg[n - 2] != 'm')
		return false;
	size_t e = n - 2, s = e;
	while (s && !isspace((unsigned char)msg[s - 1]))
		s--;
	char num[64], st[16];
	if (e - s == 0 || e - s >= sizeof(num) || s < 2)
		return false;
	snprintf(num, sizeof(num), "%.*s", (int)(e - s), msg + s);
	char *end;
	*ms = strtod(num, &end);
	if (*end || !isfinite(*ms) || *ms < 0)
		return false;
	size_t t = s - 1, b = t;
	while (b && !isspace((unsigned char)msg[b - 1]))
		b--;
	if (t - b == 0 || t - b >= sizeof(st))
		return false;
	snprintf(st, sizeof(st), "%.*s", (int)(t - b), msg + b);
	if (strcmp(st, "OK") == 0)
		*error = false;
	else if (strcmp(st, "ERROR") == 0)
		*error = true;
	else if (strlen(st) == 3 && isdigit((unsigned char)st[0]) && st[0] >= '1' && st[0] <= '5' &&
	         isdigit((unsigned char)st[1]) && isdigit((unsigned char)st[2]))
		*error = st[0] >= '4';
	else
		return false;
	return true;
}

static int ray_json(const char *line, size_t len, double now, struct event_batch *eb,
                    struct event_error *err)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	int rc = 1;
	double ms, ts = 0;
	bool error = false, has_ts = false;

	if (!cJSON_IsObject(o)) {
		rc = event_fail(err, "", "not a JSON object");
		goto out;
	}
	const cJSON *dep = cJSON_GetObjectItemCaseSensitive(o, "deployment");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "message");
	const cJSON *comp = cJSON_GetObjectItemCaseSensitive(o, "component_name");
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(o, "request_id");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "asctime");
	if (!cJSON_IsString(dep) || !dep->valuestring[0] || !cJSON_IsString(msg) ||
	    (cJSON_IsString(comp) && strcmp(comp->valuestring, "replica") != 0) ||
	    !ray_outcome(msg->valuestring, &ms, &error))
		goto out; /* the proxy's line, a user's log line */
	if (cJSON_IsString(at))
		has_ts = local_ts(at->valuestring, &ts) == 0;
	rc = emit(dep->valuestring, NULL,
	          cJSON_IsString(rid) && rid->valuestring[0] ? rid->valuestring : NULL, ts, has_ts,
	          ms, error, now, eb, err);
out:
	cJSON_Delete(o);
	return rc;
}

static int ray_text(const char *line, double now, struct event_batch *eb, struct event_error *err)
{
	const char *p = line;
	char dep[EVENT_MODEL_MAX + 1] = "", level[16], tag[200];
	double ms, ts = 0;
	bool error = false, has_ts;
	int used = 0;

	if (*p == '(') { /* forwarded to the driver: "(ServeReplica:app:Dep pid=N) " */
		const char *close = strchr(p, ')');
		if (!close)
			return 1;
		if (strncmp(p + 1, "ServeReplica:", 13) != 0)
			return 1; /* the proxy and other actors */
		p = close + 1;
		while (*p == ' ')
			p++;
	}
	if (sscanf(p, "%15s %n", level, &used) != 1)
		return 1;
	p += used;
	has_ts = local_ts(p, &ts) == 0;
	if (!has_ts)
		return 1;
	/* date and time, then the deployment and the replica tag (Dep#id). */
	for (int i = 0; i < 2; i++) {
		p = strchr(p, ' ');
		if (!p)
			return 1;
		while (*p == ' ')
			p++;
	}
	if (sscanf(p, "%64s %199s", dep, tag) != 2 || !strchr(tag, '#'))
		return 1; /* the proxy's access line: no replica */
	const char *msg = strstr(p, " - ");
	if (!msg || !ray_outcome(msg + 3, &ms, &error))
		return 1; /* a user's log line */
	return emit(dep, NULL, NULL, ts, has_ts, ms, error, now, eb, err);
}

int textlog_line(enum textlog_kind kind, const char *line, size_t len, double now,
                 struct event_batch *eb, struct event_error *err)
{
	char *l;
	int rc;

	if (len > LINE_MAX_LEN)
		return event_fail(err, "", "line of %zu bytes is no request line (at most %d)", len,
		                  LINE_MAX_LEN);
	if (memchr(line, '\0', len))
		return event_fail(err, "", "NUL byte in the line");
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (kind == TEXTLOG_RAY_SERVE && len && line[0] == '{')
		return ray_json(line, len, now, eb, err);
	if (!(l = strndup(line, len)))
		return -3;
	rc = kind == TEXTLOG_TORCHSERVE ? torchserve(l, now, eb, err) : ray_text(l, now, eb, err);
	free(l);
	return rc;
}
