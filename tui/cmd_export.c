/* cmd_export: `mlwatch export --model M [--since DUR | --from T --to T]
 * --format csv|jsonl` (--json is --format jsonl; --json with --format csv is
 * a usage error; --from/--to select events with from <= ts < to, exactly one
 * window when they are its bounds, as exec receivers are given them):
 * the raw sampled events with their joined labels, oldest first, streamed
 * row by row. jsonl lines are events in the contract's section 2 format;
 * csv has fixed columns then one column per feature of the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "cmd_reference.h"
#include "text.h"

struct export_ctx {
	const char *model;
	bool csv;
	char **features; /* csv columns */
	size_t nfeatures, cap;
	int64_t rows, bad_features;
	char first_bad[200]; /* the first unreadable row: its id and why */
	int io_err;
};

/* Shortest text that reads back as the same double. */
static void fmt_double(char *buf, size_t cap, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
}

/* RFC 4180: quoted when it holds a comma, quote, CR or LF (or leading or
 * trailing space), quotes doubled. */
static void csv_field(FILE *f, const char *s)
{
	size_t n = strlen(s);
	char *safe = NULL;

	/* Every input refuses control characters, so a value holding one was
	 * not written by mlwatchd: never let it reach a terminal raw. */
	if (!text_printable(s, n) && (safe = malloc(n + 1)))
		s = text_sanitize(safe, n + 1, s);
	bool quote = n && (strpbrk(s, ",\"\r\n") || s[0] == ' ' || s[n - 1] == ' ');

	if (!quote) {
		fputs(s, f);
		free(safe);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
	free(safe);
}

static void csv_num(FILE *f, double v)
{
	char buf[64];
	if (isnan(v))
		return;
	fmt_double(buf, sizeof(buf), v);
	fputs(buf, f);
}

static void csv_value(FILE *f, enum sq_value_type t, double num, const char *str)
{
	if (t == SQV_STR)
		csv_field(f, str);
	else if (t == SQV_NUM)
		csv_num(f, num);
}

static int add_feature(const char *name, int kind, void *arg)
{
	struct export_ctx *c = arg;

	if (name[0] == '@') /* @prediction, @score: already columns */
		return 0;
	if (c->nfeatures == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **nf = realloc(c->features, cap * sizeof(*nf));
		if (!nf)
			return -1;
		c->features = nf;
		c->cap = cap;
	}
	c->features[c->nfeatures] = strdup(name);
	return c->features[c->nfeatures++] ? 0 : -1;
}

static cJSON *value_json(enum sq_value_type t, double num, const char *str)
{
	if (t == SQV_STR)
		return cJSON_CreateString(str);
	if (t == SQV_NUM && isfinite(num))
		return cJSON_CreateNumber(num);
	return cJSON_CreateNull();
}

static int export_csv_row(struct export_ctx *c, const struct sq_event *e, cJSON *feat)
{
	char buf[64];

	if (e->req_id)
		csv_field(stdout, e->req_id);
	putchar(',');
	fmt_double(buf, sizeof(buf), e->ts);
	fputs(buf, stdout);
	putchar(',');
	csv_num(stdout, e->latency_ms);
	fputs(e->error ? ",true," : ",false,", stdout);
	if (e->version)
		csv_field(stdout, e->version);
	putchar(',');
	csv_value(stdout, e->pred_type, e->pred_num, e->pred_str);
	putchar(',');
	csv_num(stdout, e->score);
	putchar(',');
	csv_value(stdout, e->label_type, e->label_num, e->label_str);
	for (size_t i = 0; i < c->nfeatures; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(feat, c->features[i]);
		putchar(',');
		if (cJSON_IsNumber(v))
			csv_num(stdout, v->valuedouble);
		else if (cJSON_IsString(v))
			csv_field(stdout, v->valuestring);
		else if (cJSON_IsBool(v))
			fputs(cJSON_IsTrue(v) ? "true" : "false", stdout);
		else if (cJSON_IsArray(v)) {
			/* a vector feature (issue 19): its JSON array as one quoted
			 * cell, as `reference import` reads it back */
			char *t = cJSON_PrintUnformatted(v);
			if (t)
				csv_field(stdout, t);
			free(t);
		}
	}
	putchar('\n');
	return 0;
}

static int export_row(const struct sq_event *e, void *arg)
{
	struct export_ctx *c = arg;
	cJSON *feat = e->features ? cJSON_Parse(e->features) : NULL;
	cJSON *o;

	if (e->features_bad || (e->features && !cJSON_IsObject(feat))) {
		/* Stored by the collector from validated input; count, keep going. */
		if (!c->bad_features++)
			snprintf(c->first_bad, sizeof(c->first_bad), "event id %lld: %s",
			         (long long)e->id,
			         e->features_err ? e->features_err : "not a JSON object");
		cJSON_Delete(feat);
		feat = NULL;
	}
	c->rows++;
	if (c->csv) {
		export_csv_row(c, e, feat);
		cJSON_Delete(feat);
		return ferror(stdout) ? 1 : 0;
	}
	o = cJSON_CreateObject();
	cmd_jstr(o, "model", c->model);
	cmd_jstr(o, "version", e->version);
	cmd_jstr(o, "id", e->req_id);
	cmd_jnum(o, "ts", e->ts);
	cmd_jnum(o, "latency_ms", e->latency_ms);
	cmd_jbool(o, "error", e->error);
	cJSON_AddItemToObject(o, "features", feat ? feat : cJSON_CreateObject());
	cJSON_AddItemToObject(o, "prediction", value_json(e->pred_type, e->pred_num, e->pred_str));
	cmd_jnum(o, "score", e->score);
	if (e->scores) {
		cJSON *sc = cJSON_Parse(e->scores);
		if (cJSON_IsObject(sc))
			cJSON_AddItemToObject(o, "scores", sc);
		else
			cJSON_Delete(sc);
	}
	cJSON_AddItemToObject(o, "label", value_json(e->label_type, e->label_num, e->label_str));
	cmd_jnum(o, "label_ts", e->label_ts);
	return cmd_jprint(o);
}

int cmd_export(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {"model", "since", "format", "from", "to", NULL};
	const char *format = cli_get(res, "format"), *from_s = cli_get(res, "from"),
	           *to_s = cli_get(res, "to");
	struct export_ctx c;
	struct sq_model m;
	struct store st;
	struct sq q;
	double since, now = cmd_now(), from = 0, to = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 0)) ||
	    (rc = cmd_since(res, &since)))
		return rc;
	if ((from_s || to_s) && cli_get(res, "since")) {
		cmd_error("export: --since and --from/--to cannot be combined");
		return 2;
	}
	if ((from_s || to_s) && (!from_s || !to_s || cmd_reference_time(from_s, now, &from) ||
	                         cmd_reference_time(to_s, now, &to) || !(to > from))) {
		cmd_error("export: --from and --to go together; times must be Unix seconds, RFC "
		          "3339 or a duration ago, with --from before --to");
		return 2;
	}
	if (!from_s) {
		from = now - since;
		to = now + 1e9;
	}
	/* --json asks for JSON: it is --format jsonl, and contradicts csv. */
	if (cli_has(res, "json")) {
		if (format && strcmp(format, "jsonl") != 0) {
			cmd_error("export: --json means --format jsonl; it cannot be combined with "
			          "--format %s",
			          strcmp(format, "csv") == 0 ? "csv" : "other than jsonl");
			return 2;
		}
		format = "jsonl";
	}
	if (!format) {
		cmd_error("export needs --format csv|jsonl (or --json, which is jsonl)");
		return 2;
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0) {
		cmd_error("--format: expected csv or jsonl");
		return 2;
	}
	c.csv = format[0] == 'c';
	if ((rc = cmd_open(cfg, STORE_RO, &st, &q)))
		return rc;
	if (store_begin(&st)) {
		cmd_error("%s: %s", st.path, store_errmsg(&st));
		rc = 1;
		goto out;
	}
	if ((rc = cmd_model(&q, res, &m)))
		goto out;
	c.model = m.name;
	if (c.csv) {
		if (sq_features_each(&q, m.id, add_feature, &c)) {
			cmd_error("%s: %s", st.path, store_errmsg(&st));
			rc = 1;
			goto out;
		}
		fputs("id,ts,latency_ms,error,version,prediction,score,label", stdout);
		for (size_t i = 0; i < c.nfeatures; i++) {
			putchar(',');
			csv_field(stdout, c.features[i]);
		}
		putchar('\n');
	}
	rc = sq_events_each(&q, m.id, from, to, export_row, &c);
	if (rc < 0) {
		cmd_error("%s: %s", st.path, store_errmsg(&st));
		rc = 1;
	} else if (rc > 0 || fflush(stdout) || ferror(stdout)) {
		cmd_error("cannot write the export to standard output");
		rc = 1;
	}
	if (c.bad_features)
		fprintf(stderr,
		        "mlwatch: warning: %lld events had an unreadable features column "
		        "(exported without features; the first, %s)\n",
		        (long long)c.bad_features, c.first_bad);
out:
	store_rollback(&st);
	for (size_t i = 0; i < c.nfeatures; i++)
		free(c.features[i]);
	free(c.features);
	cmd_close(&st, &q);
	return rc;
}
