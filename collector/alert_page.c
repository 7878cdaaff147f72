/* alert_page: see alert_page.h. The page is built once as a cJSON document
 * (sections of rows, each row the columns of one SQL query) and printed
 * either as JSON or as HTML tables from that same document, so both forms
 * always say the same thing. */
#include "alert_page.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define ROWS_MAX 50 /* per section: a page, not an export */

/* Unix seconds -> ISO 8601 UTC text, in C rather than in SQL so that the
 * page's queries are the same on every store engine. */
static void iso_times(cJSON *arr)
{
	static const char *const keys[] = {"active_at", "fired_at", "resolved_at", "last_notified"};
	cJSON *row;

	cJSON_ArrayForEach(row, arr)
	{
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(row, keys[k]);
			char buf[32];
			struct tm tm;
			time_t t;
			if (!cJSON_IsNumber(v))
				continue;
			t = (time_t)v->valuedouble;
			if (!gmtime_r(&t, &tm) ||
			    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
				continue;
			cJSON_ReplaceItemInObjectCaseSensitive(row, keys[k],
			                                       cJSON_CreateString(buf));
		}
	}
}

static cJSON *rows(struct store *st, const char *sql, const char *const *args, int nargs, char *err,
                   size_t errlen)
{
	cJSON *arr = store_rows_json(st, sql, args, nargs, err, errlen);
	if (arr)
		iso_times(arr);
	return arr;
}

static const struct alert_config *find_rule(const struct mlw_config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->n_alerts; i++)
		if (strcmp(cfg->alerts[i].name, name) == 0)
			return &cfg->alerts[i];
	return NULL;
}

static cJSON *rule_json(const struct alert_config *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "model", a->model ? a->model : "*");
	cJSON_AddStringToObject(o, "expr", a->expr ? a->expr : "");
	cJSON_AddNumberToObject(o, "for_seconds", (double)a->for_ms / 1000.0);
	cJSON_AddStringToObject(o, "severity", a->severity ? a->severity : "");
	cJSON_AddStringToObject(o, "receivers", a->receivers ? a->receivers : "");
	cJSON_AddNumberToObject(o, "repeat_interval_seconds",
	                        (double)a->repeat_interval_ms / 1000.0);
	return o;
}

/* Times are stored as Unix seconds; pages show them as UTC text too. */
static const char *const ALERT_COLS =
    "id, feature, state, severity, value, threshold, active_at, fired_at, resolved_at, "
    "last_notified, acked, summary";

static int build(struct store *db, const struct mlw_config *cfg, const struct alert_page_query *q,
                 cJSON *doc, char *err, size_t errlen)
{
	char sql[1024];
	cJSON *sec;

	if (!q->rule) {
		snprintf(sql, sizeof(sql),
		         "SELECT rule, model, %s FROM alerts WHERE state IN ('pending', 'firing') "
		         "ORDER BY id DESC LIMIT %d",
		         ALERT_COLS, ROWS_MAX);
		if (!(sec = rows(db, sql, NULL, 0, err, errlen)))
			return 503;
		cJSON_AddItemToObject(doc, "active", sec);
		snprintf(sql, sizeof(sql),
		         "SELECT rule, model, %s FROM alerts ORDER BY updated DESC LIMIT %d",
		         ALERT_COLS, ROWS_MAX);
		if (!(sec = rows(db, sql, NULL, 0, err, errlen)))
			return 503;
		cJSON_AddItemToObject(doc, "latest", sec);
		return 200;
	}
	const struct alert_config *a = find_rule(cfg, q->rule);
	const char *args[3] = {q->rule, q->model, q->feature};
	if (a)
		cJSON_AddItemToObject(doc, "rule", rule_json(a));
	cJSON_AddStringToObject(doc, "model", q->model ? q->model : "");
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM alerts WHERE rule = ?1 AND (?2 IS NULL OR model = ?2) "
	         "AND (?3 IS NULL OR feature = ?3) ORDER BY id DESC LIMIT %d",
	         ALERT_COLS, ROWS_MAX);
	if (!(sec = rows(db, sql, args, 3, err, errlen)))
		return 503;
	cJSON_AddItemToObject(doc, "history", sec);
	if (!a && cJSON_GetArraySize(sec) == 0) {
		snprintf(err, errlen, "no rule '%s' in the configuration and no alert of it stored",
		         q->rule);
		return 404;
	}
	snprintf(
	    sql, sizeof(sql),
	    "SELECT o.id, o.receiver, o.kind, o.status, o.attempts, "
	    "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', o.created, 'unixepoch') AS created, "
	    "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', o.delivered_at, 'unixepoch') AS delivered_at, "
	    "o.last_error FROM outbox o JOIN alerts a ON a.id = o.alert_id "
	    "WHERE a.rule = ?1 AND (?2 IS NULL OR a.model = ?2) "
	    "AND (?3 IS NULL OR a.feature = ?3) ORDER BY o.id DESC LIMIT %d",
	    ROWS_MAX);
	if (!(sec = rows(db, sql, args, 3, err, errlen)))
		return 503;
	cJSON_AddItemToObject(doc, "notifications", sec);
	/* The statistics of the features these alerts are about (per-feature
	 * rules: drift, quality), newest windows first. */
	snprintf(sql, sizeof(sql),
	         "SELECT d.feature, strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', d.start, 'unixepoch') "
	         "AS window, d.n, d.n_ref, d.method, d.score, d.threshold, d.severity, d.drifted, "
	         "d.insufficient, d.ks, d.ks_p, d.wasserstein, d.psi, d.js, d.chi2, d.chi2_p, "
	         "d.missing_rate, d.type_error_rate, d.out_of_range_rate, d.new_category_rate "
	         "FROM drift d JOIN models m ON m.id = d.model_id WHERE m.name = ?2 AND "
	         "d.feature IN (SELECT feature FROM alerts WHERE rule = ?1 AND model = ?2 "
	         "AND feature != '' AND (?3 IS NULL OR feature = ?3)) "
	         "ORDER BY d.start DESC, d.feature LIMIT %d",
	         ROWS_MAX);
	if (q->model) {
		if (!(sec = rows(db, sql, args, 3, err, errlen)))
			return 503;
		cJSON_AddItemToObject(doc, "feature_statistics", sec);
	}
	return 200;
}

/* ---- HTML ----------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Text from the database or the request, HTML-escaped. */
static void esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			puts_(b, "&lt;");
			break;
		case '>':
			puts_(b, "&gt;");
			break;
		case '&':
			puts_(b, "&amp;");
			break;
		case '"':
			puts_(b, "&quot;");
			break;
		case '\'':
			puts_(b, "&#39;");
			break;
		default:
			put(b, s, 1);
		}
	}
}

static void value_html(struct buf *b, const cJSON *v)
{
	char num[64];
	if (cJSON_IsString(v)) {
		esc(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.6g", v->valuedouble);
		puts_(b, num);
	} else if (cJSON_IsNull(v)) {
		puts_(b, "-");
	}
}

static void table(struct buf *b, const char *title, const cJSON *arr)
{
	puts_(b, "<h2>");
	esc(b, title);
	puts_(b, "</h2>\n");
	if (!cJSON_GetArraySize(arr)) {
		puts_(b, "<p>none</p>\n");
		return;
	}
	puts_(b, "<table>\n<tr>");
	for (const cJSON *c = arr->child->child; c; c = c->next) {
		puts_(b, "<th>");
		esc(b, c->string);
		puts_(b, "</th>");
	}
	puts_(b, "</tr>\n");
	for (const cJSON *r = arr->child; r; r = r->next) {
		puts_(b, "<tr>");
		for (const cJSON *c = r->child; c; c = c->next) {
			puts_(b, "<td>");
			value_html(b, c);
			puts_(b, "</td>");
		}
		puts_(b, "</tr>\n");
	}
	puts_(b, "</table>\n");
}

static char *html(const struct alert_page_query *q, const cJSON *doc, size_t *len)
{
	struct buf b = {0};
	const cJSON *rule = cJSON_GetObjectItem(doc, "rule");

	puts_(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mlwatch: ");
	esc(&b, q->rule ? q->rule : "alerts");
	puts_(&b, "</title><style>body{font-family:sans-serif}table{border-collapse:collapse}"
	          "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>"
	          "</head><body>\n<h1>");
	if (q->rule) {
		puts_(&b, "Alert ");
		esc(&b, q->rule);
		if (q->model) {
			puts_(&b, " on ");
			esc(&b, q->model);
		}
		if (q->feature) {
			puts_(&b, ", feature ");
			esc(&b, q->feature);
		}
	} else {
		puts_(&b, "Alerts");
	}
	puts_(&b, "</h1>\n");
	if (cJSON_IsObject(rule)) {
		puts_(&b, "<h2>rule</h2>\n<table>\n");
		for (const cJSON *c = rule->child; c; c = c->next) {
			puts_(&b, "<tr><th>");
			esc(&b, c->string);
			puts_(&b, "</th><td>");
			value_html(&b, c);
			puts_(&b, "</td></tr>\n");
		}
		puts_(&b, "</table>\n");
	} else if (q->rule) {
		puts_(&b, "<p>This rule is no longer in the configuration.</p>\n");
	}
	for (const cJSON *c = doc->child; c; c = c->next)
		if (cJSON_IsArray(c))
			table(&b, c->string, c);
	puts_(&b, "<p>Read-only page of mlwatchd; add format=json for JSON.</p>\n</body></html>\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- entry ----------------------------------------------------------------- */

static unsigned fail_page(const char *msg, bool json, unsigned status, char **body, size_t *len,
                          const char **ctype)
{
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *t = NULL;
		if (o && cJSON_AddStringToObject(o, "error", msg))
			t = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (t && asprintf(body, "%s\n", t) < 0)
			*body = NULL;
		free(t);
		*ctype = "application/json";
	} else {
		if (asprintf(body, "%s\n", msg) < 0)
			*body = NULL;
		*ctype = "text/plain; charset=utf-8";
	}
	*len = *body ? strlen(*body) : 0;
	return status;
}

unsigned alert_page_render(const struct mlw_config *cfg, const char *db_path,
                           const struct alert_page_query *q, char **body, size_t *len,
                           const char **ctype)
{
	struct store st;
	char err[512] = "";
	cJSON *doc = NULL;
	unsigned status;

	*body = NULL;
	*len = 0;
	if (!db_is_postgres(db_path) && access(db_path, F_OK) != 0)
		return fail_page("no database yet", q->json, 503, body, len, ctype);
	if (store_open(&st, db_path, STORE_RO, false, err, sizeof(err)))
		return fail_page(err, q->json, 503, body, len, ctype);
	if (!(doc = cJSON_CreateObject())) {
		status = fail_page("out of memory", q->json, 503, body, len, ctype);
		goto out;
	}
	status = build(&st, cfg, q, doc, err, sizeof(err));
	if (status != 200) {
		status = fail_page(err, q->json, status, body, len, ctype);
		goto out;
	}
	if (q->json) {
		char *t = cJSON_PrintUnformatted(doc);
		if (t && asprintf(body, "%s\n", t) < 0)
			*body = NULL;
		free(t);
		*len = *body ? strlen(*body) : 0;
		*ctype = "application/json";
	} else {
		*body = html(q, doc, len);
		*ctype = "text/html; charset=utf-8";
	}
	if (!*body)
		status = fail_page("out of memory", q->json, 503, body, len, ctype);
out:
	cJSON_Delete(doc);
	store_close(&st);
	return status;
}

char *alert_page_default_base(const char *http_addr)
{
	char host[256], *out = NULL;
	const char *colon;

	if (!http_addr || !*http_addr || strcmp(http_addr, "off") == 0)
		return strdup("");
	colon = strrchr(http_addr, ':');
	if (!colon)
		return strdup("");
	snprintf(host, sizeof(host), "%.*s", (int)(colon - http_addr), http_addr);
	/* A wildcard listens everywhere: a link needs a name others reach. */
	if (!host[0] || strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "[::]") == 0) {
		if (gethostname(host, sizeof(host)) != 0 || !host[0])
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
	}
	if (asprintf(&out, "http://%s%s", host, colon) < 0)
		return NULL;
	return out;
}
