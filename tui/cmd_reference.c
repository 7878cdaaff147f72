/* cmd_reference: see cmd_reference.h. */
#include "cmd_reference.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "drift.h"
#include "stats/calibrate.h"
#include "jsonw.h"
#include "mvprofile.h"
#include "quality.h"
#include "reference.h"
#include "store_ingest.h"
#include "store_refcal.h"
#include "table.h"
#include "text.h"
#include "vector.h"

/* Windows this far back are recomputed against a new reference. */
#define REDO_S 86400

int cmd_reference_time(const char *s, double now, double *out)
{
	char *end;
	int64_t ms;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end == '\0' && errno == 0 && isfinite(v) && v >= 0) {
		*out = v;
		return 0;
	}
	if (clock_parse_rfc3339(s, out) == 0)
		return 0;
	if (config_parse_duration(s, &ms) == 0 && ms >= 0) {
		*out = now - (double)ms / 1000.0;
		return 0;
	}
	return -1;
}

struct progress {
	uint64_t total; /* file size, 0 when unknown */
	double last;
	bool shown;
};

static void show_progress(uint64_t bytes, uint64_t rows, void *arg)
{
	struct progress *p = arg;
	double now = clock_mono();
	char bar[41];
	int fill;

	if (now - p->last < 0.1 && !(p->total && bytes >= p->total))
		return;
	p->last = now;
	p->shown = true;
	if (p->total) {
		double f = (double)bytes / (double)p->total;
		if (f > 1)
			f = 1;
		fill = (int)(f * 40);
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, ' ', (size_t)(40 - fill));
		bar[40] = '\0';
		fprintf(stderr, "\r[%s] %3d%% %llu rows", bar, (int)(f * 100),
		        (unsigned long long)rows);
	} else {
		fprintf(stderr, "\r%llu rows", (unsigned long long)rows);
	}
	fflush(stderr);
}

static bool is_jsonl(const char *path, FILE *f)
{
	const char *dot = strrchr(path, '.');
	int c;

	if (dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0 ||
	            strcmp(dot, ".json") == 0))
		return true;
	if (dot && strcmp(dot, ".csv") == 0)
		return false;
	/* no telling extension: a file starting with '{' holds JSON */
	while ((c = fgetc(f)) != EOF && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
		;
	if (c != EOF)
		ungetc(c, f);
	return c == '{';
}

static const char *kind_name(int kind)
{
	return kind == 1   ? "numeric"
	       : kind == 2 ? "categorical"
	       : kind == 3 ? "vector"
	       : kind == 4 ? "multivariate"
	                   : "unknown";
}

/* "column amount: 1 of 300 values not numeric, line 152: '?'" */
static void odd_line(FILE *out, const char *prefix, const struct ref_profile *p)
{
	char f[160], v[3 * REF_ODD_MAX + 8];

	fprintf(out, "%scolumn %s: %llu of %llu values not numeric", prefix,
	        text_sanitize(f, sizeof(f), p->feature), (unsigned long long)p->ignored,
	        (unsigned long long)p->values);
	if (p->odd_line)
		fprintf(out, ", line %zu: '%s'", p->odd_line, text_sanitize(v, sizeof(v), p->odd));
	else
		fprintf(out, ", e.g. '%s'", text_sanitize(v, sizeof(v), p->odd));
}

/* A reference for a model the database and config do not know is most
 * likely a typo: it would create a model that shows `no data` forever.
 * Warn, with the nearest name; the import goes on. */
static void warn_new_model(struct mlw_config *cfg, struct store *st, const char *model)
{
	struct cmd_names rules = {0}, models = {0};
	struct sq q;
	char hint[512], safe[160];

	sq_init(&q, st);
	if (cmd_known_names(cfg, &q, &rules, &models) == 0 && !cmd_names_has(&models, model)) {
		cmd_names_hint(&models, model, hint, sizeof(hint));
		fprintf(
		    stderr,
		    "mlwatch: warning: model '%s' is new to %s (%s); it is created now and shows "
		    "no data until events for it arrive (undo: mlwatch models rm %s)\n",
		    text_sanitize(safe, sizeof(safe), model), st->path, hint,
		    text_sanitize(safe, sizeof(safe), model));
	}
	cmd_names_free(&rules);
	cmd_names_free(&models);
	sq_fini(&q);
}

static int import(struct mlw_config *cfg, const struct cli_result *res, bool json)
{
	const char *model = cli_get(res, "model"), *from_s = cli_get(res, "from"),
	           *to_s = cli_get(res, "to");
	const char *path = res->n_args >= 3 ? res->args[2] : NULL;
	struct refb *b = NULL;
	struct ref_result r = {0};
	struct store st;
	bool st_open = false;
	char err[1024], safe[256];
	double now = cmd_now(), from = 0, to = 0;
	int rc = 1;

	if (!model || !event_model_name_valid(model, strlen(model))) {
		cmd_error("reference import needs --model NAME (1-64 of [A-Za-z0-9_.-])");
		return 2;
	}
	if (path && (from_s || to_s)) {
		cmd_error("reference import takes a FILE or --from/--to, not both");
		return 2;
	}
	if (!path && !(from_s && to_s)) {
		cmd_error("reference import needs a FILE (CSV or JSONL) or --from T --to T");
		return 2;
	}
	if (!path && (cmd_reference_time(from_s, now, &from) ||
	              cmd_reference_time(to_s, now, &to) || !(to > from))) {
		cmd_error("--from/--to: times must be Unix seconds, RFC 3339 or a duration ago, "
		          "with --from before --to");
		return 2;
	}
	b = refb_new(config_model(cfg, model));
	if (!b) {
		cmd_error("out of memory");
		return 1;
	}
	if (store_open(&st, cfg->tui.db, STORE_RW, false, err, sizeof(err))) {
		cmd_error("%s", err);
		goto out;
	}
	st_open = true;
	if (path) {
		FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
		struct progress p = {0};
		struct stat sb;
		int r_rc;
		if (!f) {
			cmd_error("%s: %s", text_sanitize(safe, sizeof(safe), path),
			          strerror(errno));
			goto out;
		}
		if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
			p.total = (uint64_t)sb.st_size;
		bool tty = isatty(STDERR_FILENO);
		text_sanitize(safe, sizeof(safe), path);
		if (is_jsonl(path, f))
			r_rc = reference_read_jsonl(f, safe, b, tty ? show_progress : NULL, &p, err,
			                            sizeof(err));
		else
			r_rc = reference_read_csv(f, safe, b, tty ? show_progress : NULL, &p, err,
			                          sizeof(err));
		if (p.shown)
			fputc('\n', stderr);
		if (f != stdin)
			fclose(f);
		if (r_rc) {
			cmd_error("%s", err);
			goto out;
		}
	} else if (reference_read_stored(&st, model, from, to, b, err, sizeof(err))) {
		cmd_error("%s", err);
		goto out;
	}
	if (refb_rows(b) == 0) {
		cmd_error("no rows to build a reference from");
		goto out;
	}
	if (refb_finish(b, &r, err, sizeof(err))) {
		cmd_error("%s", err);
		goto out;
	}
	if (cli_has(res, "strict")) {
		bool odd = false;
		for (size_t i = 0; i < r.n; i++)
			if (r.p[i].ignored) {
				odd_line(stderr, "mlwatch: error: ", &r.p[i]);
				fputs(" (--strict: nothing imported)\n", stderr);
				odd = true;
			}
		if (odd)
			goto out;
	}
	warn_new_model(cfg, &st, model);
	if (reference_store(&st, model, &r, now, (int64_t)floor(now) - REDO_S, err, sizeof(err))) {
		cmd_error("%s", err);
		goto out;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject(), *fs = cJSON_CreateArray();
		cmd_jstr(o, "model", model);
		cmd_jint(o, "rows", (int64_t)r.rows);
		cmd_jstr(o, "task", r.task);
		for (size_t i = 0; i < r.n; i++) {
			cJSON *f = cJSON_CreateObject();
			cmd_jstr(f, "feature", r.p[i].feature);
			cmd_jstr(f, "kind", kind_name(r.p[i].kind));
			cmd_jint(f, "n", (int64_t)r.p[i].n);
			cmd_jint(f, "values", (int64_t)r.p[i].values);
			cmd_jint(f, "missing", (int64_t)r.p[i].missing);
			cmd_jint(f, "dropped", (int64_t)r.p[i].ignored);
			cmd_jint(f, "ignored", (int64_t)r.p[i].ignored); /* older name of dropped */
			if (r.p[i].ignored) {
				cJSON *d = cJSON_AddObjectToObject(f, "first_dropped");
				if (r.p[i].odd_line)
					cmd_jint(d, "line", (int64_t)r.p[i].odd_line);
				else
					cJSON_AddNullToObject(d, "line");
				cmd_jstr(d, "value", r.p[i].odd);
			}
			cJSON_AddItemToArray(fs, f);
		}
		cJSON_AddItemToObject(o, "features", fs);
		cmd_jint(o, "calibration_n", (int64_t)r.calib_n);
		rc = cmd_jprint(o);
		goto out;
	}
	size_t nnum = 0, ncat = 0, nvec = 0, nmv = 0;
	for (size_t i = 0; i < r.n; i++) {
		nnum += r.p[i].kind == 1;
		ncat += r.p[i].kind == 2;
		nvec += r.p[i].kind == 3;
		nmv += r.p[i].kind == MVP_KIND; /* a profile, not a feature */
	}
	printf("reference for %s: %llu row%s, %zu feature%s (%zu numeric, %zu categorical", model,
	       (unsigned long long)r.rows, r.rows == 1 ? "" : "s", r.n - nmv,
	       r.n - nmv == 1 ? "" : "s", nnum, ncat);
	if (nvec)
		printf(", %zu vector", nvec);
	printf(")");
	if (nmv)
		printf(", a multivariate profile");
	if (r.calib_n)
		printf(", calibration on %llu labelled row%s", (unsigned long long)r.calib_n,
		       r.calib_n == 1 ? "" : "s");
	printf("\n");
	/* per column: what was inferred and what was counted, so a wrong
	 * kind or a column of blanks shows at import, not as silent drift */
	struct table t;
	static const char *const heads[] = {"COLUMN", "KIND", ">VALUES", ">MISSING", ">DROPPED"};
	table_init(&t, 5, heads);
	for (size_t i = 0; i < r.n; i++) {
		table_add(&t, r.p[i].feature);
		table_add(&t, kind_name(r.p[i].kind));
		table_addf(&t, "%llu", (unsigned long long)r.p[i].values);
		table_addf(&t, "%llu", (unsigned long long)r.p[i].missing);
		table_addf(&t, "%llu", (unsigned long long)r.p[i].ignored);
	}
	table_print(&t, stdout);
	table_free(&t);
	for (size_t i = 0; i < r.n; i++)
		if (r.p[i].ignored) {
			odd_line(stdout, "", &r.p[i]);
			printf(" (left out as missing; --strict refuses the file)\n");
		}
	rc = 0;
out:
	ref_result_free(&r);
	refb_free(b);
	if (st_open)
		store_close(&st);
	return rc;
}

/* One threshold calibration stored with the reference (store_refcal.h). */
struct stored_cal {
	char *feature;
	struct calib_result c;
};

struct show_ctx {
	bool json;
	cJSON *arr;
	int err;
	size_t n;
	const struct model_config *mc; /* the model's [model] section, or NULL */
	struct stored_cal *cal;        /* the stored calibrations */
	size_t ncal;
	int64_t model_id;
	bool vectors; /* --vectors: a vector feature's rows too */
};

static int stored_cal_cb(const char *feature, const struct calib_result *c, void *arg)
{
	struct show_ctx *s = arg;
	struct stored_cal *nc = realloc(s->cal, (s->ncal + 1) * sizeof(*nc));

	if (!nc)
		return -1;
	s->cal = nc;
	if (!(nc[s->ncal].feature = strdup(feature)))
		return -1;
	nc[s->ncal++].c = *c;
	return 0;
}

static void stored_cal_free(struct show_ctx *s)
{
	for (size_t i = 0; i < s->ncal; i++)
		free(s->cal[i].feature);
	free(s->cal);
}

/* The stored calibrations of feature as a JSON array. */
static cJSON *stored_cal_json(const struct show_ctx *s, const char *feature)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < s->ncal; i++) {
		const struct calib_result *c = &s->cal[i].c;
		cJSON *o;

		if (strcmp(s->cal[i].feature, feature) != 0)
			continue;
		o = cJSON_CreateObject();
		cmd_jstr(o, "method", drift_method_name(c->method));
		cmd_jnum(o, "false_alarm_rate", c->rate);
		cmd_jint(o, "window_n", (int64_t)c->n);
		cmd_jint(o, "pseudo_window_n", (int64_t)c->n_pseudo);
		cmd_jint(o, "rest_n", (int64_t)c->n_rest);
		cmd_jint(o, "reference_n", (int64_t)c->n_ref);
		cmd_jint(o, "pseudo_windows", (int64_t)c->boot);
		cmd_jnum(o, "statistic", c->stat);
		cmd_jnum(o, "observed_rate", c->observed);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* The stored calibration of feature for method m at rate, windows of the
 * size class of n, from a reference of n_ref values; NULL when none. */
static const struct calib_result *stored_cal_find(const struct show_ctx *s, const char *feature,
                                                  enum drift_method m, double rate, size_t n,
                                                  uint64_t n_ref)
{
	size_t cls_n = calib_class_size(calib_class(n));

	for (size_t i = 0; i < s->ncal; i++) {
		const struct calib_result *c = &s->cal[i].c;

		if (strcmp(s->cal[i].feature, feature) == 0 && c->method == m && c->rate == rate &&
		    c->n == cls_n && c->n_ref == n_ref)
			return c;
	}
	return NULL;
}

/* The drift options the config gives feature (method.F, threshold.F,
 * drift_preset.F, else the model's drift_preset), as the collector's. */
static struct drift_opts feature_opts(const struct model_config *mc, const char *feature)
{
	struct drift_opts o = {0};

	if (!mc)
		return o;
	if (mc->drift_preset)
		(void)drift_preset_parse(mc->drift_preset, &o.preset);
	for (size_t i = 0; i < mc->n_features; i++) {
		const struct model_feature_config *f = &mc->features[i];

		if (strcmp(f->name, feature) != 0)
			continue;
		if (f->method)
			(void)drift_method_parse(f->method, &o.method);
		if (f->preset)
			(void)drift_preset_parse(f->preset, &o.preset);
		o.threshold = f->threshold;
	}
	return o;
}

/* Window size reference show calibrates for: the collector calibrates each
 * window size class on first use, this is an example of one. */
#define SHOW_WINDOW_N 1000

/* The false alarm rate and minimum effect the config gives feature, as the
 * collector's (false_alarm_rate.F, else the model's; min_effect.F, else the
 * method's default under the mlwatch preset). */
static void feature_rate_effect(const struct model_config *mc, const char *feature,
                                const struct drift_opts *o, enum drift_method m, double *rate,
                                double *min_effect)
{
	*rate = mc ? mc->false_alarm_rate : CALIB_RATE_DEFAULT;
	*min_effect = -1;
	for (size_t i = 0; mc && i < mc->n_features; i++) {
		if (strcmp(mc->features[i].name, feature) != 0)
			continue;
		if (mc->features[i].false_alarm_rate >= 0)
			*rate = mc->features[i].false_alarm_rate;
		*min_effect = mc->features[i].min_effect;
	}
	if (*min_effect < 0)
		*min_effect = o->preset == DRIFT_PRESET_MLWATCH ? calib_min_effect_default(m) : 0;
}

/* A vector feature's reference (issue 19): its dimension, rows and mean
 * vector; with --vectors (JSON) every row, exactly as imported (float32). */
static void show_vector(struct show_ctx *s, const char *feature, const uint8_t *profile, size_t len)
{
	float *rows = NULL;
	size_t n = 0, dim = 0;
	char safe[256];

	if (vector_rows_decode(profile, len, &rows, &n, &dim) != 0) {
		s->err = 1;
		return;
	}
	double *mean = calloc(dim, sizeof(*mean));
	if (!mean) {
		free(rows);
		s->err = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < dim; j++)
			mean[j] += rows[i * dim + j];
	for (size_t j = 0; n && j < dim; j++)
		mean[j] /= (double)n;
	if (s->json) {
		cJSON *f = cJSON_CreateObject();
		cmd_jstr(f, "feature", feature);
		cmd_jstr(f, "kind", "vector");
		cmd_jint(f, "n", (int64_t)n);
		cmd_jint(f, "dim", (int64_t)dim);
		cmd_jstr(f, "method", "embedding");
		cJSON *m = cJSON_CreateArray();
		for (size_t j = 0; j < dim; j++)
			cJSON_AddItemToArray(m, cJSON_CreateNumber(mean[j]));
		cJSON_AddItemToObject(f, "mean", m);
		if (s->vectors) {
			/* %.9g: each value reads back to the same float32 */
			char *txt = malloc(dim * 18 + 4);
			cJSON *all = cJSON_CreateArray();
			for (size_t i = 0; txt && i < n; i++) {
				vector_to_json(rows + i * dim, dim, txt, dim * 18 + 4);
				cJSON_AddItemToArray(all, cJSON_CreateRaw(txt));
			}
			free(txt);
			cJSON_AddItemToObject(f, "vectors", all);
		}
		cJSON_AddItemToArray(s->arr, f);
	} else {
		printf(
		    "%-24s vector       n=%-7zu dim=%zu method=embedding (cosine, euclidean, mmd, "
		    "classifier, pca_ks)\n",
		    text_sanitize(safe, sizeof(safe), feature), n, dim);
	}
	free(mean);
	free(rows);
}

/* The multivariate profile (issue 19): its numeric columns, rows and the
 * PCA's kept components. */
static void show_multivariate(struct show_ctx *s, const uint8_t *profile, size_t len)
{
	struct mvp p;
	char safe[256];

	if (mvp_decode(&p, profile, len) != 0) {
		s->err = 1;
		return;
	}
	int fit = mvp_fit(&p);
	if (s->json) {
		cJSON *f = cJSON_CreateObject(), *cols = cJSON_CreateArray();
		cmd_jstr(f, "feature", MVP_FEATURE);
		cmd_jstr(f, "kind", "multivariate");
		cmd_jint(f, "n", (int64_t)p.n);
		for (size_t j = 0; j < p.d; j++)
			cJSON_AddItemToArray(cols, cJSON_CreateString(p.names[j]));
		cJSON_AddItemToObject(f, "columns", cols);
		cmd_jstr(f, "method", "pca_recon");
		if (fit == 0)
			cmd_jint(f, "components", (int64_t)p.pca.k);
		cJSON_AddItemToArray(s->arr, f);
	} else {
		printf("%-24s multivariate n=%-7zu columns=%zu components=%zu method=pca_recon, "
		       "classifier\n",
		       text_sanitize(safe, sizeof(safe), MVP_FEATURE), p.n, p.d,
		       fit == 0 ? p.pca.k : 0);
	}
	mvp_fini(&p);
}

static void show_cb(const char *feature, int kind, uint64_t n, const uint8_t *profile, size_t len,
                    const char *hist, void *arg)
{
	struct show_ctx *s = arg;
	struct drift_ref ref;
	struct drift_opts o = feature_opts(s->mc, feature);
	enum drift_method m = DRIFT_METHOD_DEFAULT;
	double thr = 0, thr_lower = 0;
	enum drift_threshold_rule rule;
	enum calib_source src = CALIB_SRC_DEFAULT;
	struct calib_result cal;
	double rate, min_effect;
	bool stored = false;
	char safe[256];
	const char *mname;

	s->n++;
	if (kind == 3) {
		show_vector(s, feature, profile, len);
		return;
	}
	if (kind == MVP_KIND) {
		show_multivariate(s, profile, len);
		return;
	}
	if (drift_ref_decode(&ref, profile, len) != 0) {
		s->err = 1;
		return;
	}
	/* A configured method that does not fit the kind is reported as such
	 * (the collector's drift for it fails the same way). */
	mname = drift_resolve(&ref, &o, &m, &thr) == 0 ? drift_method_name(m) : "invalid";
	rule = drift_resolve_rule(&ref, &o, &thr_lower);
	feature_rate_effect(s->mc, feature, &o, m, &rate, &min_effect);
	if (o.threshold > 0) {
		src = CALIB_SRC_CONFIGURED;
	} else if (strcmp(mname, "invalid") != 0 && rate > 0 && calib_applies(&ref, m, o.preset)) {
		/* the collector's stored calibration when it has one for this
		 * size class, else one made here (not stored: read-only) */
		const struct calib_result *sc =
		    stored_cal_find(s, feature, m, rate, SHOW_WINDOW_N, ref.n);

		if (sc) {
			cal = *sc;
			stored = true;
		}
		int cls = calib_class(SHOW_WINDOW_N);

		/* mlwatchd's draws: the threshold it will calibrate */
		if (stored ||
		    calib_run(&ref, m, calib_class_size(cls), rate,
		              calib_class_seed(calib_feature_seed(s->model_id, feature), cls),
		              &cal) == 0) {
			src = CALIB_SRC_CALIBRATED;
			thr = calib_threshold_for(&cal, SHOW_WINDOW_N);
		}
	}
	if (rule == DRIFT_THR_REFERENCE_CHUNKS)
		src = CALIB_SRC_REFERENCE_CHUNKS;
	if (s->json) {
		cJSON *f = cJSON_CreateObject();
		cmd_jstr(f, "feature", feature);
		cmd_jstr(f, "kind", kind_name(kind));
		cmd_jint(f, "n", (int64_t)n);
		cmd_jstr(f, "method", mname);
		cmd_jstr(f, "preset", drift_preset_name(o.preset));
		cmd_jnum(f, "threshold", thr);
		cmd_jstr(f, "threshold_rule", calib_source_name(src));
		if (thr_lower > 0)
			cmd_jnum(f, "threshold_lower", thr_lower);
		cmd_jstr(f, "threshold_source", calib_source_name(src));
		if (src == CALIB_SRC_CALIBRATED) {
			cmd_jnum(f, "false_alarm_rate", rate);
			cmd_jint(f, "threshold_window_n", SHOW_WINDOW_N);
			cmd_jbool(f, "threshold_stored", stored);
		}
		cJSON_AddItemToObject(f, "calibrations", stored_cal_json(s, feature));
		cmd_jnum(f, "min_effect", min_effect);
		if (ref.kind == DRIFT_NUMERIC) {
			cmd_jnum(f, "min", ref.n ? ref.min : NAN);
			cmd_jnum(f, "max", ref.n ? ref.max : NAN);
			cmd_jnum(f, "mean", ref.n ? ref.mean : NAN);
			cmd_jnum(f, "std", ref.n ? ref.std : NAN);
			cJSON *e = cJSON_CreateArray();
			for (int i = 0; i < SAMPLE_BINS - 1; i++)
				cJSON_AddItemToArray(e, cJSON_CreateNumber(ref.edges[i]));
			cJSON_AddItemToObject(f, "edges", e);
		} else {
			cJSON *c = cJSON_CreateObject();
			for (size_t i = 0; i < ref.cats.ntop; i++) {
				const struct sample_cat *cat = &ref.cats.cats[ref.cats.top[i]];
				cmd_jnum(c, cat->name, ref.cell_prop[i]);
			}
			if (ref.cats.has_other)
				cmd_jnum(c, "other", ref.cell_prop[ref.cats.ntop]);
			cJSON_AddItemToObject(f, "categories", c);
		}
		cJSON *h = hist ? cJSON_Parse(hist) : NULL;
		cJSON_AddItemToObject(f, "hist", h ? h : cJSON_CreateNull());
		cJSON_AddItemToArray(s->arr, f);
	} else if (ref.kind == DRIFT_NUMERIC) {
		printf("%-24s numeric      n=%-7llu min=%-10.4g max=%-10.4g mean=%-10.4g "
		       "std=%-10.4g method=%s preset=%s threshold=%.4g (%s)\n",
		       text_sanitize(safe, sizeof(safe), feature), (unsigned long long)n, ref.min,
		       ref.max, ref.mean, ref.std, mname, drift_preset_name(o.preset), thr,
		       stored ? "calibrated, stored" : calib_source_name(src));
	} else {
		printf("%-24s categorical  n=%-7llu method=%s preset=%s threshold=%.4g (%s)",
		       text_sanitize(safe, sizeof(safe), feature), (unsigned long long)n, mname,
		       drift_preset_name(o.preset), thr,
		       stored ? "calibrated, stored" : calib_source_name(src));
		for (size_t i = 0; i < ref.cats.ntop && i < 5; i++) {
			const struct sample_cat *cat = &ref.cats.cats[ref.cats.top[i]];
			printf(" %s=%.3f", text_sanitize(safe, sizeof(safe), cat->name),
			       ref.cell_prop[i]);
		}
		if (ref.cats.ntop > 5)
			printf(" ...");
		printf("\n");
	}
	drift_ref_fini(&ref);
}

/* Where a calendar reference came from (store_refsrc), for --json. */
static cJSON *refsrc_json(const struct store_refsrc *r)
{
	cJSON *o = cJSON_CreateObject(), *m = r->missing ? cJSON_Parse(r->missing) : NULL;
	char t[40];

	cmd_jstr(o, "mode", r->mode);
	cmd_jint(o, "span_s", r->span);
	cmd_jstr(o, "built", clock_format_rfc3339(r->built, t, sizeof(t)));
	if (r->slot > 0)
		cmd_jstr(o, "slot", clock_format_rfc3339(r->slot, t, sizeof(t)));
	cmd_jint(o, "rows", (int64_t)r->rows);
	cmd_jint(o, "parts", r->parts);
	cmd_jint(o, "missing_parts", r->missing_parts);
	cJSON_AddItemToObject(o, "missing", cJSON_IsArray(m) ? m : cJSON_CreateArray());
	if (m && !cJSON_IsArray(m))
		cJSON_Delete(m);
	return o;
}

static int show(struct mlw_config *cfg, const struct cli_result *res, bool json)
{
	const char *model = cli_get(res, "model");
	struct store st;
	struct store_ingest *si = NULL;
	struct show_ctx s = {json, NULL, 0, 0, NULL, NULL, 0, 0, false};
	struct store_refsrc src;
	/* up to 366 parts: a missing list of alternating days fits */
	static char src_buf[32768], src_safe[32768];
	char err[512], safe[160];
	int src_rc = 1;
	uint8_t *cal = NULL;
	size_t cal_len = 0;
	uint64_t cal_n = 0;
	double created = 0;
	int64_t id;
	int rc = 1, r;

	if (!model) {
		cmd_error("reference show needs --model NAME");
		return 2;
	}
	s.mc = config_model(cfg, model);
	s.vectors = cli_has(res, "vectors");
	if (store_open(&st, cfg->tui.db, STORE_RO, false, err, sizeof(err))) {
		cmd_error("%s", err);
		return 1;
	}
	si = store_ingest_new(&st);
	if (!si)
		goto out;
	r = store_ingest_model_lookup(si, model, &id);
	if (r != 0) {
		cmd_error(r > 0 ? "no such model '%s' in %s" : "%s: %s",
		          text_sanitize(safe, sizeof(safe), model),
		          r > 0 ? st.path : store_errmsg(&st));
		goto out;
	}
	if (store_ingest_calibration_get(si, id, &cal, &cal_len, &cal_n, &created) < 0)
		goto dberr;
	s.model_id = id;
	if (store_refcal_each(&st, id, stored_cal_cb, &s))
		goto dberr;
	src_rc = store_refsrc_get(&st, id, &src, src_buf, sizeof(src_buf));
	if (src_rc < 0)
		goto dberr;
	if (json)
		s.arr = cJSON_CreateArray();
	else
		printf("reference of %s\n", text_sanitize(safe, sizeof(safe), model));
	if (store_ingest_references(si, id, show_cb, &s))
		goto dberr;
	if (s.err) {
		cmd_error("%s: a stored reference profile is damaged; import it again", st.path);
		cJSON_Delete(s.arr);
		goto out;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject();
		cmd_jstr(o, "model", model);
		cJSON_AddItemToObject(o, "features", s.arr);
		cmd_jstr(o, "reference",
		         config_reference_mode_name(s.mc ? s.mc->reference_mode : 0));
		cJSON_AddItemToObject(o, "reference_source",
		                      src_rc == 0 ? refsrc_json(&src) : cJSON_CreateNull());
		if (cal) {
			struct quality_calib qc = {0};
			cJSON *c = cJSON_CreateObject();
			cmd_jint(c, "n", (int64_t)cal_n);
			cmd_jint(c, "points",
			         quality_calib_decode(&qc, cal, cal_len) == 0 ? (int64_t)qc.n : 0);
			cmd_jnum(c, "created", created);
			quality_calib_fini(&qc);
			cJSON_AddItemToObject(o, "calibration", c);
		} else {
			cJSON_AddItemToObject(o, "calibration", cJSON_CreateNull());
		}
		rc = cmd_jprint(o);
		goto out;
	}
	if (s.n == 0)
		printf("  (none: import one with mlwatch reference import --model %s FILE)\n",
		       text_sanitize(safe, sizeof(safe), model));
	if (cal)
		printf("calibration: isotonic, fitted on %llu labelled rows\n",
		       (unsigned long long)cal_n);
	if (src_rc == 0) {
		char t[40];

		printf("reference source: %s over %llds, built %s from %llu events, %u of %u "
		       "parts missing%s%s\n",
		       src.mode, (long long)src.span, clock_format_rfc3339(src.built, t, sizeof(t)),
		       (unsigned long long)src.rows, src.missing_parts, src.parts,
		       src.missing ? ": " : "",
		       src.missing ? text_sanitize(src_safe, sizeof(src_safe), src.missing) : "");
	}
	rc = 0;
	goto out;
dberr:
	cmd_error("%s: %s", st.path, store_errmsg(&st));
	cJSON_Delete(s.arr);
out:
	free(cal);
	stored_cal_free(&s);
	store_ingest_free(si);
	store_close(&st);
	return rc;
}

int cmd_reference(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const import_flags[] = {"model", "from", "to", "strict", NULL};
	static const char *const show_flags[] = {"model", "vectors", NULL};
	bool json = cli_has(res, "json");
	int rc;

	if (res->n_args < 2) {
		cmd_error("reference needs 'import' or 'show' (see mlwatch --help)");
		return 2;
	}
	if (strcmp(res->args[1], "import") == 0) {
		if ((rc = cmd_check_flags(res, import_flags)) || (rc = cmd_check_args(res, 2)))
			return rc;
		return import(cfg, res, json);
	}
	if (strcmp(res->args[1], "show") == 0) {
		if ((rc = cmd_check_flags(res, show_flags)) || (rc = cmd_check_args(res, 1)))
			return rc;
		return show(cfg, res, json);
	}
	char safe[64];
	cmd_error("reference: unknown action '%s' (import or show)",
	          text_sanitize(safe, sizeof(safe), res->args[1]));
	return 2;
}
