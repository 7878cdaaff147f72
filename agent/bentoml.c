/* bentoml: see bentoml.h. */
#include "bentoml.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "stats.h"

#define SCHEMA_MAX   (1u << 20)
#define RELOAD_EVERY 1.0 /* s between schema re-reads while a column is unknown */

enum role { ROLE_FEATURE, ROLE_PREDICTION, ROLE_TARGET };

struct column {
	char *name;
	enum role role;
};

struct bentoml {
	char model[EVENT_MODEL_MAX + 1];
	char *schema_path;
	struct column *cols;
	size_t n_cols;
	bool loaded;
	double last_load;
};

/* dirname and basename without touching the argument: [0, *split) is the
 * directory ("." when none), the rest the name. */
static void split_path(const char *path, size_t *dir_len, const char **base)
{
	const char *slash = strrchr(path, '/');
	*dir_len = slash ? (size_t)(slash - path) : 0;
	*base = slash ? slash + 1 : path;
}

struct bentoml *bentoml_new(const char *data_path, char *err, size_t errlen)
{
	struct bentoml *b = calloc(1, sizeof(*b));
	size_t dl, ml;
	const char *base, *mbase;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	split_path(data_path, &dl, &base);
	const char *worker = strncmp(base, "data.", 5) == 0 ? base + 5 : base;
	char *dir = dl ? strndup(data_path, dl) : strdup(".");
	if (!dir)
		goto oom;
	split_path(dir, &ml, &mbase);
	size_t cap = strlen(dir) + strlen(worker) + 32;
	if (!(b->schema_path = malloc(cap)))
		goto oom;
	if (strcmp(mbase, "data") == 0) {
		/* <log_path>/<monitor>/data/data.<w>.log */
		char *mon = ml ? strndup(dir, ml) : strdup(".");
		if (!mon)
			goto oom;
		size_t l2;
		const char *mname;
		split_path(mon, &l2, &mname);
		snprintf(b->model, sizeof(b->model), "%s", mname);
		snprintf(b->schema_path, cap, "%s/schema/schema.%s", mon, worker);
		free(mon);
	} else {
		snprintf(b->model, sizeof(b->model), "%.*s", (int)strcspn(base, "."), base);
		snprintf(b->schema_path, cap, "%s/schema.%s", dir, worker);
	}
	free(dir);
	if (!event_model_name_valid(b->model, strlen(b->model))) {
		snprintf(err, errlen,
		         "%s: the monitor name \"%s\" is not a model name (1-%d characters of "
		         "[A-Za-z0-9_.-])",
		         data_path, b->model, EVENT_MODEL_MAX);
		bentoml_free(b);
		return NULL;
	}
	return b;
oom:
	free(dir);
	bentoml_free(b);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static void cols_free(struct bentoml *b)
{
	for (size_t i = 0; i < b->n_cols; i++)
		free(b->cols[i].name);
	free(b->cols);
	b->cols = NULL;
	b->n_cols = 0;
}

void bentoml_free(struct bentoml *b)
{
	if (!b)
		return;
	cols_free(b);
	free(b->schema_path);
	free(b);
}

/* Reads the schema file's last valid line. 0, or -1 (absent, unreadable). */
static int load_schema(struct bentoml *b, double now)
{
	FILE *f = fopen(b->schema_path, "r");
	char *buf = NULL;
	int rc = -1;

	b->last_load = now;
	if (!f)
		return -1;
	buf = malloc(SCHEMA_MAX + 1);
	size_t n = buf ? fread(buf, 1, SCHEMA_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return -1;
	buf[n] = '\0';
	cJSON *best = NULL;
	for (char *save = NULL, *ln = strtok_r(buf, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(ln);
		if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "columns"))) {
			cJSON_Delete(best);
			best = j;
		} else {
			cJSON_Delete(j);
		}
	}
	free(buf);
	if (!best)
		return -1;
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(best, "columns"), *c;
	size_t m = (size_t)cJSON_GetArraySize(cols);
	struct column *nc = calloc(m ? m : 1, sizeof(*nc));
	size_t k = 0;
	if (!nc)
		goto out;
	cJSON_ArrayForEach(c, cols)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(c, "role");
		if (!cJSON_IsString(nm))
			continue;
		nc[k].name = strdup(nm->valuestring);
		if (!nc[k].name)
			break;
		nc[k].role = !cJSON_IsString(role)                          ? ROLE_FEATURE
		             : strcmp(role->valuestring, "prediction") == 0 ? ROLE_PREDICTION
		             : strcmp(role->valuestring, "target") == 0     ? ROLE_TARGET
		                                                            : ROLE_FEATURE;
		k++;
	}
	cols_free(b);
	b->cols = nc;
	b->n_cols = k;
	b->loaded = true;
	rc = 0;
out:
	cJSON_Delete(best);
	return rc;
}

static const struct column *column(const struct bentoml *b, const char *name)
{
	for (size_t i = 0; i < b->n_cols; i++)
		if (strcmp(b->cols[i].name, name) == 0)
			return &b->cols[i];
	return NULL;
}

int bentoml_set_timezone(const char *tz, char *err, size_t errlen)
{
	if (!tz || !*tz || strcmp(tz, "local") == 0)
		return 0;
	if (strcmp(tz, "UTC") != 0) {
		char path[512];
		struct stat st;
		if (strstr(tz, "..") || tz[0] == '/' || strlen(tz) > 200) {
			snprintf(err, errlen, "tail_timezone: not a zone name: %s", tz);
			return -1;
		}
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			snprintf(err, errlen,
			         "tail_timezone: unknown zone %s (no %s; use a name like "
			         "Europe/Berlin, UTC or local)",
			         tz, path);
			return -1;
		}
	}
	/* Process-wide, once, before any thread: mktime reads it. */
	setenv("TZ", strcmp(tz, "UTC") == 0 ? "UTC0" : tz, 1);
	tzset();
	return 0;
}

int bentoml_parse_local(const char *s, double *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = 0;
	double frac = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
	    used != 19)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		double scale = 0.1;
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p) /* an offset or Z: not naive */
		return clock_parse_rfc3339(s, out);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1; /* the zone's rule for that date */
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (double)t + frac;
	return 0;
}

/* A value for an event: scalars as they are, strings over the category
 * bound as missing (counted). */
static cJSON *value_of(const cJSON *v)
{
	if (cJSON_IsString(v) && strlen(v->valuestring) > EVENT_CATEGORY_MAX) {
		stats_add(ST_TAIL_LONG_STRINGS, 1);
		return cJSON_CreateNull();
	}
	if (cJSON_IsNumber(v) || cJSON_IsString(v) || cJSON_IsBool(v))
		return cJSON_Duplicate(v, 0);
	return cJSON_CreateNull();
}

int bentoml_line(struct bentoml *b, const char *line, size_t len, double now,
                 struct event_batch *eb, struct event_error *err)
{
	cJSON *in = NULL, *ev = NULL, *feats = NULL;
	char *txt = NULL;
	int rc = -1;

	if (!b->loaded && load_schema(b, now) != 0)
		return event_fail(err, "",
		                  "schema file %s not found or unreadable (BentoML writes it "
		                  "with the first record)",
		                  b->schema_path);
	in = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(in)) {
		rc = event_fail(err, "", "not a JSON object");
		goto out;
	}
	/* A column the schema does not know: the schema may have been written
	 * again (a restart of the worker with new columns). */
	const cJSON *c;
	cJSON_ArrayForEach(c, in)
	{
		if (strcmp(c->string, "timestamp") && strcmp(c->string, "request_id") &&
		    strcmp(c->string, "trace_id") && !column(b, c->string) &&
		    now - b->last_load >= RELOAD_EVERY) {
			load_schema(b, now);
			break;
		}
	}
	if (!(ev = cJSON_CreateObject()) || !(feats = cJSON_CreateObject()))
		goto oom;
	cJSON_AddStringToObject(ev, "model", b->model);
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(in, "request_id");
	if (cJSON_IsString(rid) && strcmp(rid->valuestring, "None") != 0)
		cJSON_AddStringToObject(ev, "id", rid->valuestring);
	else if (cJSON_IsNumber(rid)) {
		char idb[40];
		snprintf(idb, sizeof(idb), "%.0f", rid->valuedouble);
		cJSON_AddStringToObject(ev, "id", idb);
	}
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(in, "timestamp");
	if (cJSON_IsString(ts)) {
		double t;
		if (bentoml_parse_local(ts->valuestring, &t) != 0) {
			rc = event_fail(err, "timestamp", "not an ISO 8601 date-time");
			goto out;
		}
		cJSON_AddNumberToObject(ev, "ts", t);
	} else if (cJSON_IsNumber(ts)) {
		cJSON_AddNumberToObject(ev, "ts", ts->valuedouble); /* the otlp monitor's epoch */
	}
	cJSON_ArrayForEach(c, in)
	{
		if (!strcmp(c->string, "timestamp") || !strcmp(c->string, "request_id") ||
		    !strcmp(c->string, "trace_id"))
			continue;
		const struct column *col = column(b, c->string);
		enum role role = col ? col->role : ROLE_FEATURE;
		if (role == ROLE_PREDICTION || role == ROLE_TARGET) {
			const char *key = role == ROLE_PREDICTION ? "prediction" : "label";
			cJSON *v = value_of(c);
			if (!v)
				goto oom;
			if (cJSON_GetObjectItemCaseSensitive(ev, key) || cJSON_IsNull(v))
				cJSON_Delete(v);
			else
				cJSON_AddItemToObject(ev, key, v);
			continue;
		}
		if (cJSON_IsArray(c)) { /* numerical_sequence: name[i] */
			const cJSON *e;
			int i = 0;
			cJSON_ArrayForEach(e, c)
			{
				char name[160];
				snprintf(name, sizeof(name), "%.128s[%d]", c->string, i++);
				cJSON *v = value_of(e);
				if (!v)
					goto oom;
				cJSON_AddItemToObject(feats, name, v);
			}
			continue;
		}
		cJSON *v = value_of(c);
		if (!v)
			goto oom;
		cJSON_AddItemToObject(feats, c->string, v);
	}
	cJSON_AddItemToObject(ev, "features", feats);
	feats = NULL;
	if (!(txt = cJSON_PrintUnformatted(ev)))
		goto oom;
	rc = event_parse_body(txt, strlen(txt), EVENT_BODY_EVENTS, now, 1, eb, err);
	goto out;
oom:
	rc = -3;
out:
	free(txt);
	cJSON_Delete(feats);
	cJSON_Delete(ev);
	cJSON_Delete(in);
	return rc;
}
