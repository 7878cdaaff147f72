/* cmd_query: `mlwatch status`, `drift`, `latency` and `accuracy`: one read
 * transaction each over the stored windows, printed as the JSON shapes of
 * CONTRACT.md section 8 (--json) or as aligned tables. Window lists are
 * streamed: a month of windows is never held in memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "ddsketch.h"
#include "layout.h"
#include "segment.h"
#include "store_segments.h"
#include "table.h"
#include "text.h"

/* Opens the store, begins a read transaction and resolves --model. */
struct qctx {
	struct store st;
	struct sq q;
	struct sq_model model;
	double now, from;
	bool json;
	bool opened;
	struct table t;
	int nwin;          /* JSON windows printed so far */
	int64_t cur_start; /* drift: the window being printed */
	cJSON *cur;        /* drift: that window's object */
	bool first_feature;
	int io_err;
	/* latency: LLM serving over the whole range (issue 15) */
	int64_t llm, in_tokens, out_tokens;
	double llm_span; /* seconds of the windows that had LLM events */
	struct ddsketch *ttft, *tpot;
	cJSON *finish; /* reason -> count over the range */
	int llm_oom;
	/* --segment KEY=VALUE (issue 17): that segment's rows instead */
	bool has_seg, seg_latency;
	char seg_key[129], seg_value[STORE_SEGMENT_MAX + 1];
};

static int seg_require(struct qctx *c);

static int qctx_open(struct qctx *c, struct mlw_config *cfg, const struct cli_result *res,
                     const char *const *flags, bool need_model)
{
	double since;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 0)) ||
	    (rc = cmd_since(res, &since)))
		return rc;
	c->json = cli_has(res, "json");
	if ((rc = cmd_open(cfg, STORE_RO, &c->st, &c->q)))
		return rc;
	c->opened = true;
	if (store_begin(&c->st)) {
		cmd_error("%s: %s", c->st.path, store_errmsg(&c->st));
		return 1;
	}
	c->now = cmd_now();
	c->from = c->now - since;
	if (need_model && (rc = cmd_model(&c->q, res, &c->model)))
		return rc;
	if (cli_get(res, "segment")) {
		char err[256];
		if (segment_parse(cli_get(res, "segment"), false, c->seg_key, sizeof(c->seg_key),
		                  c->seg_value, sizeof(c->seg_value), err, sizeof(err))) {
			cmd_error("--segment: %s", err);
			return 2;
		}
		c->has_seg = true;
		/* a segment the model does not have is an error that names
		 * the ones it has, not an empty answer */
		if (need_model && (rc = seg_require(c)))
			return rc;
	}
	return 0;
}

static void qctx_close(struct qctx *c)
{
	if (c->opened) {
		store_rollback(&c->st);
		cmd_close(&c->st, &c->q);
	}
	table_free(&c->t);
	cJSON_Delete(c->cur);
}

static int query_failed(struct qctx *c)
{
	cmd_error("%s: %s", c->st.path, store_errmsg(&c->st));
	return 1;
}

static char *num(char *buf, double v)
{
	return lay_fmt_num(buf, 32, v);
}

static char *pct(char *buf, double v)
{
	return lay_fmt_pct(buf, 32, v);
}

/* Adds src (may be NULL) into *dst. */
static void llm_merge(struct qctx *c, struct ddsketch **dst, const struct ddsketch *src)
{
	if (!src || ddsketch_count(src) == 0)
		return;
	if ((!*dst && !(*dst = ddsketch_new())) || ddsketch_merge(*dst, src) != 0)
		c->llm_oom = 1;
}

/* {"p50":..,"p90":..,"p99":..} of three values (null when unknown). */
static cJSON *llm_pcts(double p50, double p90, double p99)
{
	cJSON *o = cJSON_CreateObject();
	cmd_jnum(o, "p50", p50);
	cmd_jnum(o, "p90", p90);
	cmd_jnum(o, "p99", p99);
	return o;
}

static void sketch_pcts(const struct ddsketch *sk, double v[3])
{
	static const double qs[] = {0.5, 0.9, 0.99};
	if (!sk || ddsketch_count(sk) == 0 || ddsketch_quantiles(sk, qs, 3, v) != 0)
		v[0] = v[1] = v[2] = NAN;
}

/* The LLM object of a window or of the range: requests with LLM fields,
 * token sums, output tokens per second, TTFT / TPOT percentiles (ms). */
static cJSON *llm_json(int64_t n, int64_t in, int64_t out, double span, const double ttft[3],
                       const double tpot[3], const cJSON *finish)
{
	cJSON *o = cJSON_CreateObject(), *shares;
	const cJSON *f;
	double total = 0;
	cmd_jint(o, "requests", n);
	cmd_jint(o, "input_tokens", in);
	cmd_jint(o, "output_tokens", out);
	cmd_jnum(o, "output_tokens_per_s", span > 0 ? (double)out / span : NAN);
	cJSON_AddItemToObject(o, "ttft_ms", llm_pcts(ttft[0], ttft[1], ttft[2]));
	cJSON_AddItemToObject(o, "tpot_ms", llm_pcts(tpot[0], tpot[1], tpot[2]));
	/* finish reasons as shares of the requests that gave one */
	shares = cJSON_AddObjectToObject(o, "finish_reasons");
	cJSON_ArrayForEach(f, finish) if (cJSON_IsNumber(f)) total += f->valuedouble;
	cJSON_ArrayForEach(f, finish) if (shares && cJSON_IsNumber(f) && total > 0)
	    cJSON_AddNumberToObject(shares, f->string, f->valuedouble / total);
	return o;
}

/* Adds the counts of JSON object text (may be NULL) into *acc. */
static void finish_add(struct qctx *c, cJSON **acc, const char *text)
{
	cJSON *o = text ? cJSON_Parse(text) : NULL, *f;
	if (cJSON_IsObject(o) && (*acc || (*acc = cJSON_CreateObject()))) {
		cJSON_ArrayForEach(f, o)
		{
			cJSON *v = cJSON_GetObjectItemCaseSensitive(*acc, f->string);
			if (!cJSON_IsNumber(f))
				continue;
			if (v)
				cJSON_SetNumberValue(v, v->valuedouble + f->valuedouble);
			else if (!cJSON_AddNumberToObject(*acc, f->string, f->valuedouble))
				c->llm_oom = 1;
		}
	} else if (text && !o) {
		c->llm_oom = 1; /* unreadable or out of memory: say so, not a wrong share */
	}
	cJSON_Delete(o);
}

/* Adds a window's LLM figures to the range totals of c. */
static void llm_add(struct qctx *c, const struct sq_latency *r)
{
	if (r->llm <= 0)
		return;
	c->llm += r->llm;
	c->in_tokens += r->input_tokens;
	c->out_tokens += r->output_tokens;
	c->llm_span += (double)(r->end - r->start);
	llm_merge(c, &c->ttft, r->ttft);
	llm_merge(c, &c->tpot, r->tpot);
	finish_add(c, &c->finish, r->finish);
}

static int llm_only_row(const struct sq_latency *r, void *arg)
{
	llm_add(arg, r);
	return 0;
}

/* The LLM totals of model over c's range (c's totals reset first), as the
 * llm object of `latency --json`, or JSON null when there are none.
 * NULL on a query error. */
static cJSON *llm_range(struct qctx *c, int64_t model_id)
{
	double tt[3], tp[3];
	cJSON *o;

	ddsketch_free(c->ttft);
	ddsketch_free(c->tpot);
	cJSON_Delete(c->finish);
	c->finish = NULL;
	c->ttft = c->tpot = NULL;
	c->llm = c->in_tokens = c->out_tokens = 0;
	c->llm_span = 0;
	if (sq_latency_each(&c->q, model_id, c->from, c->now + 1e9, llm_only_row, c) || c->llm_oom)
		return NULL;
	sketch_pcts(c->ttft, tt);
	sketch_pcts(c->tpot, tp);
	o = c->llm ? llm_json(c->llm, c->in_tokens, c->out_tokens, c->llm_span, tt, tp, c->finish)
	           : cJSON_CreateNull();
	return o;
}

/* A number member of o, NAN when absent or null. */
static double jv(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---- status ------------------------------------------------------------- */

static const char *const status_flags[] = {"since", "segment", "model", NULL};

/* ---- status --segment KEY=VALUE (issue 17) ---------------------------------- */

/* One model's figures for the segment over --since: sums of its windows,
 * and the latency quantiles and worst drift of its newest window (the last
 * closed one, or the open one when none has ended). */
struct seg_status {
	const struct sq_model *model;
	int64_t windows, events, errors, labelled, est_n;
	double acc_sum, mae_sum, est_sum;
	int64_t acc_n, mae_n;
	int64_t win_start; /* 0: no window in the range */
	bool win_closed;
	double p50, p90, p95, p99;
	char worst[256];
	double worst_sev;
	bool drifted;
	double now;
	int64_t window_s;
};

static int seg_status_window(int64_t start, const struct store_seg_window *w, void *arg)
{
	struct seg_status *ss = arg;
	bool closed = (double)(start + ss->window_s) <= ss->now;

	ss->windows++;
	ss->events += (int64_t)w->events;
	ss->errors += (int64_t)w->errors;
	ss->labelled += (int64_t)w->labelled;
	/* accuracy and MAE weighted by labels, estimated accuracy by events */
	if (w->has_accuracy && w->labelled) {
		ss->acc_sum += w->accuracy * (double)w->labelled;
		ss->acc_n += (int64_t)w->labelled;
	}
	if (w->has_mae && w->labelled) {
		ss->mae_sum += w->mae * (double)w->labelled;
		ss->mae_n += (int64_t)w->labelled;
	}
	if (w->has_est && w->events) {
		ss->est_sum += w->est * (double)w->events;
		ss->est_n += (int64_t)w->events;
	}
	/* rows come by start: a closed window replaces any before it, the open
	 * one only stands in while none has ended */
	if (closed || !ss->win_closed) {
		ss->win_start = start;
		ss->win_closed = closed;
		ss->p50 = w->has_latency ? w->p50 : NAN;
		ss->p90 = w->has_latency ? w->p90 : NAN;
		ss->p95 = w->has_latency ? w->p95 : NAN;
		ss->p99 = w->has_latency ? w->p99 : NAN;
	}
	return 0;
}

static int seg_status_drift(const char *segment, const struct sq_drift *d, void *arg)
{
	struct seg_status *ss = arg;

	if (!d->insufficient && !isnan(d->severity) &&
	    (!ss->worst[0] || d->severity > ss->worst_sev)) {
		snprintf(ss->worst, sizeof(ss->worst), "%s", d->feature);
		ss->worst_sev = d->severity;
	}
	ss->drifted |= d->drifted > 0;
	return 0;
}

/* What the models have: every key, the values of the asked key, and
 * whether one model has the asked pair. */
struct seg_names {
	const char *key, *value;
	struct cmd_names keys, values;
	bool has_key, has_value, oom;
};

static int seg_name(const char *key, const char *segment, void *arg)
{
	struct seg_names *sn = arg;

	if (cmd_names_add(&sn->keys, key))
		sn->oom = true;
	if (strcmp(key, sn->key) != 0)
		return 0;
	sn->has_key = true;
	if (cmd_names_add(&sn->values, segment))
		sn->oom = true;
	if (strcmp(segment, sn->value) == 0)
		sn->has_value = true;
	return 0;
}

/* ", did you mean 'X'?" for the nearest of ns to name, or "". */
static const char *near_hint(const struct cmd_names *ns, const char *name, char *buf, size_t cap)
{
	const char *near = cmd_names_closest(ns, name);
	char safe[160];

	buf[0] = '\0';
	if (near)
		snprintf(buf, cap, ", did you mean '%s'?", text_sanitize(safe, sizeof(safe), near));
	return buf;
}

/* "a, b, c" (each sanitized; "..." when cap runs out). */
static const char *names_list(const struct cmd_names *ns, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ns->n; i++) {
		char safe[160];
		text_sanitize(safe, sizeof(safe), ns->v[i]);
		if (o + strlen(safe) + 6 >= cap) {
			snprintf(buf + o, cap - o, "%s...", i ? ", " : "");
			break;
		}
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", safe);
	}
	return buf;
}

/* The error for a segment asked of models (of one model: m) that do not
 * have it: which keys or values there are, and the nearest. */
static void seg_missing(const struct qctx *c, const struct seg_names *sn, const char *m)
{
	char safe_k[160], safe_v[160], hint[600], list[400];

	text_sanitize(safe_k, sizeof(safe_k), c->seg_key);
	text_sanitize(safe_v, sizeof(safe_v), c->seg_value);
	if (!sn->has_key) {
		/* "no model in DB has ..." or "model 'm' in DB has no ..." */
		char who[SQ_NAME_MAX + 16];
		snprintf(who, sizeof(who), m ? "model '%s'" : "no model%s", m ? m : "");
		if (sn->keys.n == 0)
			cmd_error(
			    "--segment: %s in %s has %ssegments (set segment_by in its [model] "
			    "section; segments appear as windows are analysed)",
			    who, c->st.path, m ? "no " : "");
		else
			cmd_error("--segment: %s in %s has %ssegments by '%s'%s (segment_by: %s)",
			          who, c->st.path, m ? "no " : "", safe_k,
			          near_hint(&sn->keys, c->seg_key, hint, sizeof(hint)),
			          names_list(&sn->keys, list, sizeof(list)));
		return;
	}
	cmd_error("--segment: no segment %s=%s in %s%s (segments of %s: %s; values beyond "
	          "segment_top_k are in '%s')",
	          safe_k, safe_v, c->st.path,
	          near_hint(&sn->values, c->seg_value, hint, sizeof(hint)), safe_k,
	          names_list(&sn->values, list, sizeof(list)), STORE_SEGMENT_OTHER);
}

/* 0 when c's model has the segment asked (in the range), else 1 after
 * saying why. */
static int seg_require(struct qctx *c)
{
	struct seg_names sn = {.key = c->seg_key, .value = c->seg_value};
	int rc = 0;

	if (store_seg_names_each(&c->st, c->model.id, c->from, seg_name, &sn))
		rc = query_failed(c);
	else if (sn.oom)
		cmd_error("out of memory"), rc = 1;
	else if (!sn.has_value)
		seg_missing(c, &sn, c->model.name), rc = 1;
	cmd_names_free(&sn.keys);
	cmd_names_free(&sn.values);
	return rc;
}

static cJSON *seg_status_json(const struct seg_status *ss, int64_t window_s)
{
	cJSON *o = cJSON_CreateObject();

	cmd_jstr(o, "model", ss->model->name);
	cmd_jint(o, "windows", ss->windows);
	cmd_jint(o, "events", ss->events);
	cmd_jint(o, "errors", ss->errors);
	cmd_jnum(o, "error_rate", ss->events ? (double)ss->errors / (double)ss->events : NAN);
	cmd_jint(o, "labelled", ss->labelled);
	cmd_jnum(o, "accuracy", ss->acc_n ? ss->acc_sum / (double)ss->acc_n : NAN);
	cmd_jnum(o, "mae", ss->mae_n ? ss->mae_sum / (double)ss->mae_n : NAN);
	cmd_jnum(o, "est_accuracy", ss->est_n ? ss->est_sum / (double)ss->est_n : NAN);
	if (ss->win_start) {
		cmd_jint(o, "window_start", ss->win_start);
		cmd_jint(o, "window_end", ss->win_start + window_s);
	} else {
		cmd_jnum(o, "window_start", NAN);
		cmd_jnum(o, "window_end", NAN);
	}
	cmd_jnum(o, "p50_ms", ss->win_start ? ss->p50 : NAN);
	cmd_jnum(o, "p90_ms", ss->win_start ? ss->p90 : NAN);
	cmd_jnum(o, "p95_ms", ss->win_start ? ss->p95 : NAN);
	cmd_jnum(o, "p99_ms", ss->win_start ? ss->p99 : NAN);
	cmd_jstr(o, "worst_feature", ss->worst[0] ? ss->worst : NULL);
	cmd_jnum(o, "worst_severity", ss->worst[0] ? ss->worst_sev : NAN);
	cmd_jbool(o, "drifted", ss->drifted);
	return o;
}

/* `status --segment KEY=VALUE [--model M]`: one line per model that has
 * that segment. A key no model segments by, or a value none of them has,
 * is an error (1) that names what there is. */
static int status_segment(struct qctx *c, const struct cli_result *res)
{
	static const char *const heads[] = {"MODEL",     ">EVENTS",   ">ERR",   ">P50(win)",
	                                    ">P95(win)", ">P99(win)", ">ACC",   ">LABELS",
	                                    "WORST",     ">SEV",      "DRIFTED"};
	struct seg_names sn = {.key = c->seg_key, .value = c->seg_value};
	struct sq_model *ms = NULL, one;
	struct seg_status *rows = NULL;
	size_t n = 0, nrows = 0;
	char safe_k[160], safe_v[160], a[32];
	int rc = 1;

	if (cli_get(res, "model")) {
		if ((rc = cmd_model(&c->q, res, &one)))
			goto out;
		rc = 1;
		if (!(ms = malloc(sizeof(*ms))))
			goto oom;
		ms[0] = one;
		n = 1;
	} else if (sq_models(&c->q, &ms, &n)) {
		rc = query_failed(c);
		goto out;
	}
	if (n && !(rows = calloc(n, sizeof(*rows))))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		bool had = sn.has_value;
		sn.has_value = false;
		if (store_seg_names_each(&c->st, ms[i].id, c->from, seg_name, &sn)) {
			rc = query_failed(c);
			goto out;
		}
		if (sn.has_value) {
			rows[nrows].model = &ms[i];
			rows[nrows].now = c->now;
			rows[nrows].window_s = c->q.window_s;
			nrows++;
		}
		sn.has_value |= had;
	}
	if (sn.oom)
		goto oom;
	if (!sn.has_key || !nrows) {
		seg_missing(c, &sn, cli_get(res, "model") ? ms[0].name : NULL);
		goto out;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct seg_status *ss = &rows[i];
		if (store_seg_windows_each(&c->st, ss->model->id, c->from, c->now + 1e9, c->seg_key,
		                           c->seg_value, seg_status_window, ss) ||
		    (ss->win_start &&
		     store_seg_drift_each(&c->st, ss->model->id, (double)ss->win_start,
		                          (double)ss->win_start + 1, c->seg_key, c->seg_value, NULL,
		                          c->q.window_s, seg_status_drift, ss))) {
			rc = query_failed(c);
			goto out;
		}
	}
	if (c->json) {
		cJSON *root = cJSON_CreateObject(), *seg = cJSON_AddObjectToObject(root, "segment"),
		      *arr = cJSON_AddArrayToObject(root, "models");
		cmd_jstr(seg, "key", c->seg_key);
		cmd_jstr(seg, "value", c->seg_value);
		for (size_t i = 0; i < nrows; i++)
			cJSON_AddItemToArray(arr, seg_status_json(&rows[i], c->q.window_s));
		cmd_jnum(root, "from", c->from);
		cmd_jnum(root, "now", c->now);
		rc = cmd_jprint(root);
		goto out;
	}
	table_init(&c->t, 11, heads);
	for (size_t i = 0; i < nrows; i++) {
		const struct seg_status *ss = &rows[i];
		table_add(&c->t, ss->model->name);
		table_add(&c->t, lay_fmt_count(a, sizeof(a), ss->events));
		table_add(&c->t, pct(a, ss->events ? (double)ss->errors / (double)ss->events
		                                   : (double)NAN));
		table_add(&c->t, num(a, ss->win_start ? ss->p50 : NAN));
		table_add(&c->t, num(a, ss->win_start ? ss->p95 : NAN));
		table_add(&c->t, num(a, ss->win_start ? ss->p99 : NAN));
		table_add(&c->t, ss->acc_n || !ss->mae_n
		                     ? pct(a, ss->acc_n ? ss->acc_sum / (double)ss->acc_n : NAN)
		                     : num(a, ss->mae_sum / (double)ss->mae_n));
		table_add(&c->t, lay_fmt_count(a, sizeof(a), ss->labelled));
		table_add(&c->t, ss->worst[0] ? ss->worst : "-");
		table_add(&c->t, ss->worst[0] ? num(a, ss->worst_sev) : "-");
		table_add(&c->t, ss->drifted ? "DRIFT" : "");
	}
	table_print(&c->t, stdout);
	text_sanitize(safe_k, sizeof(safe_k), c->seg_key);
	text_sanitize(safe_v, sizeof(safe_v), c->seg_value);
	printf("segment %s=%s, sampled events over the last %s; (win): the newest window of the "
	       "segment\n",
	       safe_k, safe_v, lay_fmt_age(a, sizeof(a), c->now - c->from));
	rc = 0;
	goto out;
oom:
	cmd_error("out of memory");
	rc = 1;
out:
	cmd_names_free(&sn.keys);
	cmd_names_free(&sn.values);
	free(rows);
	free(ms);
	return rc;
}

static cJSON *status_json(const struct sq_status *s, const struct sq_live *l)
{
	cJSON *o = cJSON_CreateObject(), *live;

	cmd_jstr(o, "model", s->model.name);
	cmd_jint(o, "events", s->events);
	cmd_jnum(o, "rps", s->rps);
	cmd_jnum(o, "error_rate", s->error_rate);
	cmd_jnum(o, "p50_ms", s->p50);
	cmd_jnum(o, "p95_ms", s->p95);
	cmd_jnum(o, "p99_ms", s->p99);
	cmd_jnum(o, "accuracy", s->accuracy);
	cmd_jnum(o, "est_accuracy", s->est_accuracy);
	cmd_jnum(o, "label_coverage", s->label_coverage);
	cmd_jstr(o, "worst_feature", s->worst_feature[0] ? s->worst_feature : NULL);
	cmd_jnum(o, "worst_severity", s->worst_feature[0] ? s->worst_severity : NAN);
	cmd_jint(o, "firing", s->firing);
	cmd_jint(o, "pending", s->pending);
	cmd_jnum(o, "mae", s->mae);
	cmd_jint(o, "errors", s->errors);
	if (s->win_start) {
		cmd_jint(o, "window_start", s->win_start);
		cmd_jint(o, "window_end", s->win_end);
	} else {
		cmd_jnum(o, "window_start", NAN);
		cmd_jnum(o, "window_end", NAN);
	}
	cmd_jnum(o, "last_event", s->model.last_event);
	/* the last 60 s, beside the window figures above */
	live = cJSON_AddObjectToObject(o, "live");
	if (live) {
		cmd_jint(live, "seconds", SQ_LIVE_SPAN);
		cmd_jnum(live, "from", l->from);
		cmd_jnum(live, "to", l->to);
		cmd_jnum(live, "events", round(l->events));
		cmd_jnum(live, "rps", l->rps);
		cmd_jnum(live, "error_rate", l->error_rate);
		cmd_jnum(live, "p50_ms", l->p50);
		cmd_jnum(live, "p95_ms", l->p95);
		cmd_jnum(live, "p99_ms", l->p99);
	}
	return o;
}

int cmd_status(struct mlw_config *cfg, const struct cli_result *res)
{
	/* "60s": the last 60 s (live); "win": the last window that has ended */
	static const char *const heads[] = {"MODEL",       ">EVENTS",   ">RPS(60s)", ">ERR(60s)",
	                                    ">P99ms(60s)", ">RPS(win)", ">ERR(win)", ">P50(win)",
	                                    ">P95(win)",   ">P99(win)", ">ACC",      ">EST",
	                                    ">LABELS",     "WORST",     ">SEV",      ">FIRING"};
	struct sq_status *rows = NULL;
	struct sq_live *live = NULL;
	struct qctx c;
	size_t n = 0;
	char a[32], b[32];
	int rc;

	if ((rc = qctx_open(&c, cfg, res, status_flags, false)))
		goto out;
	if (c.has_seg) {
		rc = status_segment(&c, res);
		goto out;
	}
	if (cli_get(res, "model")) {
		cmd_error("status takes --model only with --segment");
		rc = 2;
		goto out;
	}
	if (sq_status(&c.q, c.now, c.from, &rows, &n)) {
		rc = query_failed(&c);
		goto out;
	}
	if (n && !(live = calloc(n, sizeof(*live)))) {
		cmd_error("out of memory");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (sq_live(&c.q, rows[i].model.id, c.now, &live[i])) {
			rc = query_failed(&c);
			goto out;
		}
	if (c.json) {
		cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "models");
		struct sq_evaluator ev;
		/* which mlwatchd evaluates the rules (PostgreSQL; null on SQLite) */
		if (sq_evaluator(&c.q, &ev)) {
			cJSON_Delete(root);
			rc = query_failed(&c);
			goto out;
		}
		if (ev.known) {
			cJSON *e = cJSON_AddObjectToObject(root, "evaluator");
			cmd_jstr(e, "node", ev.node);
			cmd_jint(e, "epoch", ev.epoch);
			cmd_jnum(e, "since", ev.since);
			cmd_jnum(e, "heartbeat", ev.heartbeat);
		} else {
			cJSON_AddNullToObject(root, "evaluator");
		}
		for (size_t i = 0; i < n; i++) {
			cJSON *m = status_json(&rows[i], &live[i]),
			      *l = llm_range(&c, rows[i].model.id);
			if (!l) {
				cJSON_Delete(m);
				cJSON_Delete(root);
				rc = query_failed(&c);
				goto out;
			}
			/* LLM serving over --since (issue 15): null for other models */
			cJSON_AddItemToObject(m, "llm", l);
			cJSON_AddItemToArray(arr, m);
		}
		cmd_jnum(root, "now", c.now);
		rc = cmd_jprint(root);
		goto out;
	}
	table_init(&c.t, 16, heads);
	for (size_t i = 0; i < n; i++) {
		const struct sq_status *s = &rows[i];
		const struct sq_live *l = &live[i];
		table_add(&c.t, s->model.name);
		table_add(&c.t, lay_fmt_count(a, sizeof(a), s->events));
		table_add(&c.t, num(a, l->rps));
		table_add(&c.t, pct(a, l->error_rate));
		table_add(&c.t, num(a, l->p99));
		table_add(&c.t, num(a, s->rps));
		table_add(&c.t, pct(a, s->error_rate));
		table_add(&c.t, num(a, s->p50));
		table_add(&c.t, num(a, s->p95));
		table_add(&c.t, num(a, s->p99));
		table_add(&c.t, isnan(s->accuracy) && !isnan(s->mae) ? num(a, s->mae)
		                                                     : pct(a, s->accuracy));
		table_add(&c.t, pct(a, s->est_accuracy));
		table_add(&c.t, pct(a, s->label_coverage));
		table_add(&c.t, s->worst_feature[0] ? s->worst_feature : "-");
		table_add(&c.t, s->worst_feature[0] ? num(b, s->worst_severity) : "-");
		table_addf(&c.t, "%d", s->firing);
	}
	if (n == 0) {
		printf("no models in %s yet\n", c.st.path);
	} else {
		char t1[32], t2[32], t3[32];
		table_print(&c.t, stdout);
		/* say which figures are which, with the times they cover */
		lay_fmt_time(t1, sizeof(t1), c.now - SQ_LIVE_SPAN, true);
		lay_fmt_time(t2, sizeof(t2), c.now, true);
		printf("(60s): live, the last %d s (%s-%s)", SQ_LIVE_SPAN, t1 + 11, t2 + 11);
		if (rows[0].win_start) {
			lay_fmt_time(t1, sizeof(t1), (double)rows[0].win_start, true);
			lay_fmt_time(t3, sizeof(t3), (double)rows[0].win_end, true);
			printf("; (win): the %s window (%s %s-%s)",
			       (double)rows[0].win_end > c.now ? "open (none has ended)"
			                                       : "last closed",
			       rows[0].model.name, t1 + 11, t3 + 11);
		}
		printf("\n");
		/* LLM models: one line each, over --since */
		for (size_t i = 0; i < n; i++) {
			cJSON *l = llm_range(&c, rows[i].model.id);
			if (l && cJSON_IsObject(l)) {
				const cJSON *tt = cJSON_GetObjectItem(l, "ttft_ms");
				const cJSON *tp = cJSON_GetObjectItem(l, "tpot_ms");
				char b1[32], b2[32], b3[32], b4[32];
				printf("%s (LLM): TTFT p50 %s p99 %s ms, TPOT p99 %s ms, %s output "
				       "tokens/s\n",
				       rows[i].model.name, num(b1, jv(tt, "p50")),
				       num(b2, jv(tt, "p99")), num(b3, jv(tp, "p99")),
				       num(b4, jv(l, "output_tokens_per_s")));
			}
			cJSON_Delete(l);
		}
	}
	rc = 0;
out:
	free(rows);
	free(live);
	ddsketch_free(c.ttft);
	ddsketch_free(c.tpot);
	cJSON_Delete(c.finish);
	qctx_close(&c);
	return rc;
}

/* ---- latency ------------------------------------------------------------ */

static const char *const window_flags[] = {"model", "since", "segment", NULL};

static void window_open(struct qctx *c)
{
	cJSON *name = cJSON_CreateString(c->model.name);
	fputs("{\"model\":", stdout);
	cmd_jprint_raw(name);
	if (c->has_seg) {
		cJSON *seg = cJSON_CreateObject();
		cmd_jstr(seg, "key", c->seg_key);
		cmd_jstr(seg, "value", c->seg_value);
		fputs(",\"segment\":", stdout);
		cmd_jprint_raw(seg);
	}
	fputs(",\"windows\":[", stdout);
}

static int window_close(struct qctx *c)
{
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static void window_emit(struct qctx *c, cJSON *o)
{
	if (c->nwin++)
		putchar(',');
	if (cmd_jprint_raw(o))
		c->io_err = 1;
}

static int latency_row(const struct sq_latency *r, void *arg)
{
	struct qctx *c = arg;
	char t[32], a[32];

	llm_add(c, r);
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		cmd_jint(o, "start", r->start);
		cmd_jint(o, "end", r->end);
		cmd_jbool(o, "provisional", r->provisional);
		cmd_jint(o, "count", r->count);
		cmd_jnum(o, "rps", r->rps);
		cmd_jnum(o, "error_rate", r->error_rate);
		cmd_jnum(o, "p50", r->p50);
		cmd_jnum(o, "p90", r->p90);
		cmd_jnum(o, "p95", r->p95);
		cmd_jnum(o, "p99", r->p99);
		cmd_jnum(o, "p999", r->p999);
		cmd_jnum(o, "max", r->max);
		cmd_jnum(o, "mean", r->mean);
		cmd_jint(o, "errors", r->errors);
		if (r->llm > 0) {
			double tt[3] = {r->ttft_p50, r->ttft_p90, r->ttft_p99};
			double tp[3] = {r->tpot_p50, r->tpot_p90, r->tpot_p99};
			cJSON *fin = NULL;
			finish_add(c, &fin, r->finish);
			cJSON_AddItemToObject(o, "llm",
			                      llm_json(r->llm, r->input_tokens, r->output_tokens,
			                               (double)(r->end - r->start), tt, tp, fin));
			cJSON_Delete(fin);
		}
		window_emit(c, o);
		return 0;
	}
	table_addf(&c->t, "%s%s", lay_fmt_time(t, sizeof(t), (double)r->start, true),
	           r->provisional ? "*" : "");
	table_add(&c->t, lay_fmt_count(a, sizeof(a), r->count));
	table_add(&c->t, num(a, r->rps));
	table_add(&c->t, pct(a, r->error_rate));
	table_add(&c->t, num(a, r->p50));
	table_add(&c->t, num(a, r->p90));
	table_add(&c->t, num(a, r->p95));
	table_add(&c->t, num(a, r->p99));
	table_add(&c->t, num(a, r->p999));
	table_add(&c->t, num(a, r->max));
	table_add(&c->t, num(a, r->mean));
	return 0;
}

static int print_footer(struct qctx *c, const char *what)
{
	char d[32];
	if (c->t.nrows == 0)
		printf("no %s for %s in the last %s\n", what, c->model.name,
		       lay_fmt_age(d, sizeof(d), c->now - c->from));
	else
		table_print(&c->t, stdout);
	return 0;
}

/* A segment's window (--segment): sampled events, errors, latency
 * quantiles of the sampled events, accuracy (segment_windows). */
static int seg_window_row(int64_t start, const struct store_seg_window *w, void *arg)
{
	struct qctx *c = arg;
	char t[32], a[32];
	bool lat = c->seg_latency;

	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		cmd_jint(o, "start", start);
		cmd_jint(o, "end", start + c->q.window_s);
		cmd_jint(o, "count", (int64_t)w->events);
		cmd_jint(o, "errors", (int64_t)w->errors);
		cmd_jnum(o, "error_rate",
		         w->events ? (double)w->errors / (double)w->events : (double)NAN);
		if (lat) {
			cmd_jnum(o, "p50", w->p50);
			cmd_jnum(o, "p90", w->p90);
			cmd_jnum(o, "p95", w->p95);
			cmd_jnum(o, "p99", w->p99);
		} else {
			cmd_jint(o, "labelled", (int64_t)w->labelled);
			cmd_jnum(o, "accuracy", w->accuracy);
			cmd_jnum(o, "macro_f1", w->macro_f1);
			cmd_jnum(o, "mae", w->mae);
			cmd_jnum(o, "rmse", w->rmse);
			cmd_jnum(o, "est_accuracy", w->est);
		}
		window_emit(c, o);
		return 0;
	}
	table_add(&c->t, lay_fmt_time(t, sizeof(t), (double)start, true));
	table_add(&c->t, lay_fmt_count(a, sizeof(a), (int64_t)w->events));
	table_add(&c->t, pct(a, w->events ? (double)w->errors / (double)w->events : (double)NAN));
	if (lat) {
		table_add(&c->t, num(a, w->p50));
		table_add(&c->t, num(a, w->p90));
		table_add(&c->t, num(a, w->p95));
		table_add(&c->t, num(a, w->p99));
	} else {
		table_add(&c->t, lay_fmt_count(a, sizeof(a), (int64_t)w->labelled));
		table_add(&c->t, pct(a, w->accuracy));
		table_add(&c->t, num(a, w->mae));
		table_add(&c->t, pct(a, w->est));
	}
	return 0;
}

/* `latency|accuracy --segment KEY=VALUE`: the segment's windows. */
static int seg_windows(struct qctx *c, bool latency)
{
	static const char *const lat_heads[] = {"WINDOW", ">EVENTS", ">ERR", ">P50",
	                                        ">P90",   ">P95",    ">P99"};
	static const char *const acc_heads[] = {"WINDOW", ">EVENTS", ">ERR", ">LABELLED",
	                                        ">ACC",   ">MAE",    ">EST"};
	char what[240];

	c->seg_latency = latency;
	table_init(&c->t, 7, latency ? lat_heads : acc_heads);
	if (c->json)
		window_open(c);
	if (store_seg_windows_each(&c->st, c->model.id, c->from, c->now + 1e9, c->seg_key,
	                           c->seg_value, seg_window_row, c))
		return query_failed(c);
	if (c->json)
		return window_close(c) | c->io_err;
	snprintf(what, sizeof(what), "windows of segment %.128s=%.64s", c->seg_key, c->seg_value);
	return print_footer(c, what);
}

/* --step DUR: 0 when absent; else a whole number of windows (2 and a
 * message when not). */
static int latency_step(const struct cli_result *res, const struct sq *q, int64_t *step)
{
	const char *v = cli_get(res, "step");
	int64_t ms;

	*step = 0;
	if (!v)
		return 0;
	if (config_parse_duration(v, &ms) || ms <= 0 || ms % 1000 != 0 ||
	    (ms / 1000) % q->window_s != 0) {
		cmd_error("--step: '%s' is not a whole number of %llds windows (like 1h)", v,
		          (long long)q->window_s);
		return 2;
	}
	*step = ms / 1000;
	return 0;
}

static const char *const latency_flags[] = {"model", "since", "step", "segment", NULL};

int cmd_latency(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const heads[] = {"WINDOW", ">COUNT", ">RPS",  ">ERR", ">P50", ">P90",
	                                    ">P95",   ">P99",   ">P999", ">MAX", ">MEAN"};
	struct qctx c;
	int64_t step;
	int rc;

	if ((rc = qctx_open(&c, cfg, res, latency_flags, true)) ||
	    (rc = latency_step(res, &c.q, &step)))
		goto out;
	if (c.has_seg) {
		rc = seg_windows(&c, true);
		goto out;
	}
	table_init(&c.t, 11, heads);
	if (c.json)
		window_open(&c);
	/* --step: buckets aligned to the epoch, read from the hourly or
	 * daily tier where they are whole hours or days */
	if (step ? sq_latency_buckets(&c.q, c.model.id, c.from, c.now + 1e9, step, latency_row, &c)
	         : sq_latency_each(&c.q, c.model.id, c.from, c.now + 1e9, latency_row, &c)) {
		rc = query_failed(&c);
		goto out;
	}
	if (c.llm_oom) {
		cmd_error("out of memory merging LLM sketches");
		rc = 1;
		goto out;
	}
	double tt[3], tp[3];
	sketch_pcts(c.ttft, tt);
	sketch_pcts(c.tpot, tp);
	if (c.json) {
		/* The range's LLM figures after the windows: null when no
		 * event of the range carried any. */
		cJSON *l =
		    c.llm ? llm_json(c.llm, c.in_tokens, c.out_tokens, c.llm_span, tt, tp, c.finish)
		          : cJSON_CreateNull();
		fputs("],\"llm\":", stdout);
		c.io_err |= cmd_jprint_raw(l);
		fputs("}\n", stdout);
		rc = (fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1) | c.io_err;
	} else {
		rc = print_footer(&c, "latency windows");
		if (c.llm && c.t.nrows) {
			char b1[32], b2[32], b3[32], b4[32];
			printf(
			    "LLM: %lld requests, %lld input / %lld output tokens, TTFT p50 %s p99 "
			    "%s ms, TPOT p50 %s p99 %s ms\n",
			    (long long)c.llm, (long long)c.in_tokens, (long long)c.out_tokens,
			    num(b1, tt[0]), num(b2, tt[2]), num(b3, tp[0]), num(b4, tp[2]));
		}
	}
out:
	ddsketch_free(c.ttft);
	ddsketch_free(c.tpot);
	cJSON_Delete(c.finish);
	qctx_close(&c);
	return rc;
}

/* ---- accuracy ----------------------------------------------------------- */

static int accuracy_row(const struct sq_accuracy *r, void *arg)
{
	struct qctx *c = arg;
	char t[32], a[32], b[32];

	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		cmd_jint(o, "start", r->start);
		cmd_jint(o, "end", r->end);
		cmd_jint(o, "labelled", r->labelled);
		cmd_jnum(o, "accuracy", r->accuracy);
		cmd_jnum(o, "macro_f1", r->macro_f1);
		cmd_jnum(o, "mae", r->mae);
		cmd_jnum(o, "rmse", r->rmse);
		cmd_jnum(o, "est_accuracy", r->est_accuracy);
		cmd_jnum(o, "est_low", r->est_low);
		cmd_jnum(o, "est_high", r->est_high);
		cmd_jnum(o, "label_coverage", r->label_coverage);
		cmd_jint(o, "count", r->count);
		cmd_jbool(o, "provisional", r->provisional);
		window_emit(c, o);
		return 0;
	}
	/* "*": the window is still open, as in the latency and drift tables */
	table_addf(&c->t, "%s%s", lay_fmt_time(t, sizeof(t), (double)r->start, true),
	           r->provisional ? "*" : "");
	table_add(&c->t, lay_fmt_count(a, sizeof(a), r->labelled));
	table_add(&c->t, pct(a, r->accuracy));
	table_add(&c->t, num(a, r->macro_f1));
	table_add(&c->t, num(a, r->mae));
	table_add(&c->t, num(a, r->rmse));
	table_add(&c->t, pct(a, r->est_accuracy));
	if (isnan(r->est_low) && isnan(r->est_high))
		table_add(&c->t, "-");
	else
		table_addf(&c->t, "%s..%s", pct(a, r->est_low), pct(b, r->est_high));
	table_add(&c->t, pct(a, r->label_coverage));
	return 0;
}

int cmd_accuracy(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const heads[] = {"WINDOW", ">LABELLED", ">ACC",  ">MACRO_F1", ">MAE",
	                                    ">RMSE",  ">EST",      ">BAND", ">LABELS"};
	struct qctx c;
	int rc;

	if ((rc = qctx_open(&c, cfg, res, window_flags, true)))
		goto out;
	if (c.has_seg) {
		rc = seg_windows(&c, false);
		goto out;
	}
	table_init(&c.t, 9, heads);
	if (c.json)
		window_open(&c);
	if (sq_accuracy_each(&c.q, c.model.id, c.from, c.now + 1e9, accuracy_row, &c)) {
		rc = query_failed(&c);
		goto out;
	}
	rc = c.json ? window_close(&c) | c.io_err : print_footer(&c, "accuracy windows");
out:
	qctx_close(&c);
	return rc;
}

/* ---- drift -------------------------------------------------------------- */

static const char *const drift_flags[] = {"model", "since", "feature", "segment", NULL};

static const char *kind_name(int kind)
{
	return kind == 1   ? "numeric"
	       : kind == 2 ? "categorical"
	       : kind == 3 ? "vector"
	       : kind == 4 ? "multivariate"
	                   : "unknown";
}

static void drift_flush(struct qctx *c)
{
	if (c->cur) {
		window_emit(c, c->cur);
		c->cur = NULL;
	}
}

/* The row's further statistics (ks_p_method, chi2_dof, z, ...; a JSON
 * object the collector wrote) as members of f. A row that does not parse
 * (a hand-edited database) adds nothing rather than failing the listing. */
static void drift_stats_json(cJSON *f, const char *stats)
{
	cJSON *o = stats ? cJSON_Parse(stats) : NULL, *it;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return;
	}
	while ((it = o->child) != NULL) {
		char *key = it->string;

		cJSON_DetachItemViaPointer(o, it);
		if (cJSON_GetObjectItemCaseSensitive(f, key))
			cJSON_Delete(it); /* a fixed column wins */
		else
			cJSON_AddItemToObject(f, key, it);
	}
	cJSON_Delete(o);
}

static cJSON *drift_feature_json(const struct sq_drift *d)
{
	cJSON *f = cJSON_CreateObject();

	cmd_jstr(f, "kind", kind_name(d->kind));
	cmd_jint(f, "n", d->n);
	if (d->n_ref >= 0)
		cmd_jint(f, "n_ref", d->n_ref);
	else
		cmd_jnum(f, "n_ref", NAN);
	cmd_jnum(f, "missing_rate", d->missing_rate);
	cmd_jnum(f, "type_error_rate", d->type_error_rate);
	if (d->kind >= 3) {
		/* vector and multivariate rows: their methods are in stats */
	} else if (d->kind == 2) {
		cmd_jnum(f, "new_category_rate", d->new_category_rate);
		cmd_jnum(f, "chi2", d->chi2);
		cmd_jnum(f, "chi2_p", d->chi2_p);
	} else {
		cmd_jnum(f, "out_of_range_rate", d->out_of_range_rate);
		cmd_jnum(f, "ks", d->ks);
		cmd_jnum(f, "ks_p", d->ks_p);
		cmd_jnum(f, "wasserstein", d->wasserstein);
	}
	cmd_jnum(f, "psi", d->psi);
	cmd_jnum(f, "js", d->js);
	drift_stats_json(f, d->stats);
	cmd_jstr(f, "method", d->method[0] ? d->method : NULL);
	cmd_jnum(f, "score", d->score);
	cmd_jnum(f, "threshold", d->threshold);
	cmd_jnum(f, "severity", d->severity);
	if (d->drifted < 0)
		cJSON_AddNullToObject(f, "drifted");
	else
		cmd_jbool(f, "drifted", d->drifted);
	cmd_jbool(f, "insufficient", d->insufficient);
	return f;
}

static int drift_row(const struct sq_drift *d, void *arg)
{
	struct qctx *c = arg;
	char t[32], a[32];

	if (c->json) {
		if (!c->cur || c->cur_start != d->start) {
			drift_flush(c);
			c->cur = cJSON_CreateObject();
			c->cur_start = d->start;
			cmd_jint(c->cur, "start", d->start);
			cmd_jint(c->cur, "end", d->end);
			cmd_jbool(c->cur, "provisional", d->provisional);
			cJSON_AddObjectToObject(c->cur, "features");
		}
		cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(c->cur, "features"),
		                      d->feature, drift_feature_json(d));
		return 0;
	}
	table_addf(&c->t, "%s%s", lay_fmt_time(t, sizeof(t), (double)d->start, true),
	           d->provisional ? "*" : "");
	table_add(&c->t, d->feature);
	table_add(&c->t, d->kind == 2 ? "cat" : d->kind == 3 ? "vec" : d->kind == 4 ? "mv" : "num");
	table_add(&c->t, lay_fmt_count(a, sizeof(a), d->n));
	table_add(&c->t, pct(a, d->missing_rate));
	table_add(&c->t, d->kind >= 3 ? "-" : num(a, d->kind == 2 ? d->chi2 : d->ks));
	table_add(&c->t, d->kind >= 3 ? "-" : num(a, d->kind == 2 ? d->chi2_p : d->ks_p));
	table_add(&c->t, d->kind >= 2 ? "-" : num(a, d->wasserstein));
	table_add(&c->t, num(a, d->psi));
	table_add(&c->t, num(a, d->js));
	table_add(&c->t, d->method[0] ? d->method : "-");
	table_add(&c->t, num(a, d->score));
	table_add(&c->t, num(a, d->severity));
	table_add(&c->t, d->insufficient ? "insufficient" : d->drifted > 0 ? "DRIFT" : "");
	return 0;
}

static int seg_drift_row(const char *segment, const struct sq_drift *d, void *arg)
{
	return drift_row(d, arg);
}

int cmd_drift(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const heads[] = {
	    "WINDOW", "FEATURE", "KIND", ">N",     ">MISSING", ">KS|CHI2",  ">P",
	    ">WASS",  ">PSI",    ">JS",  "METHOD", ">SCORE",   ">SEVERITY", "DRIFTED"};
	const char *feature;
	struct qctx c;
	int rc;

	if ((rc = qctx_open(&c, cfg, res, drift_flags, true)))
		goto out;
	feature = cli_get(res, "feature");
	table_init(&c.t, 14, heads);
	if (c.json)
		window_open(&c);
	if (c.has_seg
	        ? store_seg_drift_each(&c.st, c.model.id, c.from, c.now + 1e9, c.seg_key,
	                               c.seg_value, feature, c.q.window_s, seg_drift_row, &c)
	        : sq_drift_each(&c.q, c.model.id, c.from, c.now + 1e9, feature, drift_row, &c)) {
		rc = query_failed(&c);
		goto out;
	}
	if (c.json) {
		drift_flush(&c);
		rc = window_close(&c) | c.io_err;
	} else {
		rc = print_footer(&c, "drift results");
	}
out:
	qctx_close(&c);
	return rc;
}
