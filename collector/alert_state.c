/* alert_state: see alert_state.h. */
#include "alert_state.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "payload.h"

#define N_BUCKETS  4096
#define WINDOW_MAX 64
/* Ticks are a second apart on a timer that may run a little early. */
#define FOR_SLACK 0.01
/* A firing alert's value is written back at most this often (seconds)
 * between transitions, so `mlwatch alerts` shows a recent value without a
 * write every second. */
#define VALUE_REFRESH 10.0
/* Alertmanager forgets a firing alert it has not heard about for its
 * resolve_timeout (5 min by default): like Prometheus, re-post firing alerts
 * to alertmanager receivers every minute, whatever repeat_interval says
 * (Alertmanager deduplicates; its own repeat_interval decides the pages). */
#define AM_REFRESH 60.0

enum ist { IST_INACTIVE, IST_PENDING, IST_FIRING };

struct inst {
	struct inst *next;
	uint64_t hash;
	size_t rule;
	char model[SA_NAME_MAX + 1];
	char feature[SA_FEATURE_MAX + 1];
	enum ist state;
	int64_t id;
	double active_at, fired_at, last_notified, value, value_written;
	double am_sent; /* when alertmanager receivers last heard of it */
	char fingerprint[17];
	char window[WINDOW_MAX];
	bool acked, owed;
	unsigned seen;
	double nodata_since; /* NAN while its metric has data */
};

struct obs {
	size_t rule;
	char model[SA_NAME_MAX + 1];
	char feature[SA_FEATURE_MAX + 1];
	double value;
	char window[WINDOW_MAX];
	int held;   /* 0 value, 1 hold this instance, 2 hold every feature of (rule, model),
	             * 3 no data this interval: hold, and mark the instance nodata */
	bool gated; /* a further `and` condition of the rule does not hold (or is unknown) */
};

struct silence {
	char rule[SA_NAME_MAX + 1];
	char model[SA_NAME_MAX + 1]; /* "" = every model */
};

struct alert_engine {
	const struct mlw_config *cfg;
	const struct rule_set *rules;
	struct store_alerts *sa;
	struct inst *buckets[N_BUCKETS];
	size_t n_inst;
	unsigned gen;
	bool in_tx;
	int rows;
	struct obs *obs;
	size_t n_obs, cap_obs;
	struct silence *sil;
	size_t n_sil, cap_sil;
	int64_t *acked;
	size_t n_acked, cap_acked;
	char **models;
	size_t n_models, cap_models;
	bool oom;
	size_t cur_rule; /* for the features callback */
	const char *cur_model;
	bool cur_gated;
};

static void *grow(void *arr, size_t *cap, size_t n, size_t elem, bool *oom)
{
	if (n < *cap)
		return arr;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(arr, nc * elem);
	if (!p) {
		*oom = true;
		return NULL;
	}
	*cap = nc;
	return p;
}

/* FNV-1a over rule index, model and feature. */
static uint64_t key_hash(size_t rule, const char *model, const char *feature)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < sizeof(rule); i++)
		h = (h ^ ((rule >> (8 * i)) & 0xff)) * 1099511628211ULL;
	for (const char *p = model; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = feature; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static struct inst *lookup(struct alert_engine *e, size_t rule, const char *model,
                           const char *feature)
{
	uint64_t h = key_hash(rule, model, feature);
	for (struct inst *i = e->buckets[h % N_BUCKETS]; i; i = i->next)
		if (i->hash == h && i->rule == rule && strcmp(i->model, model) == 0 &&
		    strcmp(i->feature, feature) == 0)
			return i;
	return NULL;
}

static struct inst *insert(struct alert_engine *e, size_t rule, const char *model,
                           const char *feature)
{
	struct inst *i = calloc(1, sizeof(*i));
	if (!i)
		return NULL;
	i->rule = rule;
	snprintf(i->model, sizeof(i->model), "%s", model);
	snprintf(i->feature, sizeof(i->feature), "%s", feature);
	i->hash = key_hash(rule, i->model, i->feature);
	i->active_at = i->fired_at = i->last_notified = i->value = i->value_written = NAN;
	i->am_sent = NAN;
	i->nodata_since = NAN;
	payload_fingerprint(e->rules->v[rule].name, i->model, i->feature, i->fingerprint);
	i->next = e->buckets[i->hash % N_BUCKETS];
	e->buckets[i->hash % N_BUCKETS] = i;
	e->n_inst++;
	return i;
}

static void remove_inst(struct alert_engine *e, struct inst *x)
{
	struct inst **pp = &e->buckets[x->hash % N_BUCKETS];
	while (*pp && *pp != x)
		pp = &(*pp)->next;
	if (*pp)
		*pp = x->next;
	free(x);
	e->n_inst--;
}

static void clear_all(struct alert_engine *e)
{
	for (size_t b = 0; b < N_BUCKETS; b++) {
		struct inst *i = e->buckets[b];
		while (i) {
			struct inst *n = i->next;
			free(i);
			i = n;
		}
		e->buckets[b] = NULL;
	}
	e->n_inst = 0;
}

/* ---- loading ------------------------------------------------------------- */

struct load_ctx {
	struct alert_engine *e;
	int64_t *orphans;
	size_t n_orphans, cap_orphans;
};

static int load_row(void *arg, const struct store_alert_row *row)
{
	struct load_ctx *lc = arg;
	struct alert_engine *e = lc->e;
	size_t r;

	for (r = 0; r < e->rules->n; r++)
		if (strcmp(e->rules->v[r].name, row->rule) == 0)
			break;
	if (r == e->rules->n) {
		int64_t *o =
		    grow(lc->orphans, &lc->cap_orphans, lc->n_orphans, sizeof(*o), &e->oom);
		if (!o)
			return -1;
		lc->orphans = o;
		o[lc->n_orphans++] = row->id;
		return 0;
	}
	struct inst *i = lookup(e, r, row->model, row->feature);
	if (i) {
		/* Two active rows for one key cannot be made by one engine: two
		 * collectors wrote this database before it was locked (dblock.h).
		 * Keep the newer one (rows come oldest first) and resolve the
		 * older quietly, so that it does not stay firing for ever. */
		log_warn("alerts",
		         "duplicate active alert rows, resolving the older rule=%s model=%s "
		         "id=%lld kept=%lld",
		         row->rule, row->model, (long long)i->id, (long long)row->id);
		int64_t *o =
		    grow(lc->orphans, &lc->cap_orphans, lc->n_orphans, sizeof(*o), &e->oom);
		if (!o)
			return -1;
		lc->orphans = o;
		o[lc->n_orphans++] = i->id;
	} else if (!(i = insert(e, r, row->model, row->feature))) {
		e->oom = true;
		return -1;
	}
	i->id = row->id;
	i->state = strcmp(row->state, "firing") == 0 ? IST_FIRING : IST_PENDING;
	i->active_at = row->active_at;
	i->fired_at = row->fired_at;
	i->last_notified = row->last_notified;
	i->am_sent = row->last_notified;
	i->value = row->value;
	i->value_written = NAN;
	i->acked = row->acked;
	i->owed = row->owed;
	i->nodata_since = row->nodata_since > 0 ? row->nodata_since : NAN;
	return 0;
}

/* Loads the active rows; resolves those of rules that are gone. */
static int load(struct alert_engine *e, double now, char *err, size_t errlen)
{
	struct load_ctx lc = {e, NULL, 0, 0};
	struct store *st = e->sa->st;
	int rc = -1;

	clear_all(e);
	if (store_alerts_load_active(e->sa, load_row, &lc)) {
		snprintf(err, errlen, "cannot load alert state: %s",
		         e->oom ? "out of memory" : store_errmsg(st));
		goto out;
	}
	if (lc.n_orphans) {
		if (store_begin(st))
			goto dberr;
		if (e->sa->fence && e->sa->fence(e->sa->fence_arg)) {
			store_rollback(st);
			goto dberr;
		}
		for (size_t k = 0; k < lc.n_orphans; k++) {
			if (store_alerts_set_resolved(e->sa, lc.orphans[k], now)) {
				store_rollback(st);
				goto dberr;
			}
		}
		if (store_commit(st)) {
			store_rollback(st);
			goto dberr;
		}
		log_info("alerts", "resolved alerts of removed rules or duplicate rows count=%zu",
		         lc.n_orphans);
	}
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "cannot resolve alerts of removed rules: %s", store_errmsg(st));
out:
	free(lc.orphans);
	return rc;
}

struct alert_engine *alert_engine_new(const struct mlw_config *cfg, const struct rule_set *rules,
                                      struct store_alerts *sa, char *err, size_t errlen)
{
	struct alert_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	e->rules = rules;
	e->sa = sa;
	if (load(e, clock_now(), err, errlen)) {
		alert_engine_free(e);
		return NULL;
	}
	return e;
}

static void free_models(struct alert_engine *e)
{
	for (size_t i = 0; i < e->n_models; i++)
		free(e->models[i]);
	e->n_models = 0;
}

void alert_engine_free(struct alert_engine *e)
{
	if (!e)
		return;
	clear_all(e);
	free_models(e);
	free(e->models);
	free(e->obs);
	free(e->sil);
	free(e->acked);
	free(e);
}

/* ---- tick: reading -------------------------------------------------------- */

static void on_silence(void *arg, const char *rule, const char *model, double ends)
{
	struct alert_engine *e = arg;
	struct silence *s = grow(e->sil, &e->cap_sil, e->n_sil, sizeof(*s), &e->oom);
	if (!s)
		return;
	e->sil = s;
	snprintf(s[e->n_sil].rule, sizeof(s->rule), "%s", rule ? rule : "");
	snprintf(s[e->n_sil].model, sizeof(s->model), "%s", model ? model : "");
	e->n_sil++;
}

static void on_acked(void *arg, int64_t id)
{
	struct alert_engine *e = arg;
	int64_t *a = grow(e->acked, &e->cap_acked, e->n_acked, sizeof(*a), &e->oom);
	if (!a)
		return;
	e->acked = a;
	a[e->n_acked++] = id;
}

static void on_model(void *arg, const char *model)
{
	struct alert_engine *e = arg;
	char **m;
	for (size_t i = 0; i < e->n_models; i++)
		if (strcmp(e->models[i], model) == 0)
			return;
	m = grow(e->models, &e->cap_models, e->n_models, sizeof(*m), &e->oom);
	if (!m)
		return;
	e->models = m;
	if (!(m[e->n_models] = strdup(model))) {
		e->oom = true;
		return;
	}
	e->n_models++;
}

static struct obs *push_obs(struct alert_engine *e, size_t rule, const char *model,
                            const char *feature)
{
	struct obs *o = grow(e->obs, &e->cap_obs, e->n_obs, sizeof(*o), &e->oom);
	if (!o)
		return NULL;
	e->obs = o;
	o = &o[e->n_obs++];
	memset(o, 0, sizeof(*o));
	o->rule = rule;
	snprintf(o->model, sizeof(o->model), "%s", model);
	snprintf(o->feature, sizeof(o->feature), "%s", feature ? feature : "");
	o->value = NAN;
	return o;
}

static void on_feature(void *arg, const char *feature, double value, const char *window)
{
	struct alert_engine *e = arg;
	struct obs *o;

	/* F = '*' is every feature; the model's multivariate row (issue 19)
	 * is not one: it has its own rule, multivariate_drift(), and would
	 * otherwise page a second time for the features that moved it */
	if (strcmp(feature, "@multivariate") == 0)
		return;
	o = push_obs(e, e->cur_rule, e->cur_model, feature);
	if (!o)
		return;
	o->value = value;
	o->gated = e->cur_gated;
	snprintf(o->window, sizeof(o->window), "%s", window ? window : "");
}

/* The rule's further conditions (`A and B and ...`, issue 17) for model:
 * true when one of them is false or unknown, so the rule's condition does
 * not hold. They are model-level metrics or one feature's. */
static bool gated(struct alert_engine *e, const struct alert_source *src, const struct rule *rule,
                  const char *model, double now)
{
	for (size_t k = 0; k < rule->n_also; k++) {
		const struct rule_expr *x = &rule->also[k];
		char window[WINDOW_MAX];
		double v = NAN;
		const char *f = rules_metric_per_feature(x->metric) ? x->feature : NULL;
		if (src->value(src->ctx, x, model, f, now, &v, window, sizeof(window)) != 0 ||
		    !rules_compare(x->op, v, x->threshold))
			return true;
	}
	return false;
}

static void observe(struct alert_engine *e, const struct alert_source *src, double now)
{
	for (size_t r = 0; r < e->rules->n; r++) {
		const struct rule *rule = &e->rules->v[r];
		const struct rule_expr *x = &rule->expr;

		free_models(e);
		if (strcmp(rule->model, "*") == 0)
			src->models(src->ctx, on_model, e);
		else
			on_model(e, rule->model);
		for (size_t m = 0; m < e->n_models; m++) {
			const char *model = e->models[m];
			bool gate = rule->n_also && gated(e, src, rule, model, now);
			e->cur_gated = gate;
			/* every feature, or segments (one instance each) */
			if (rules_metric_per_feature(x->metric) &&
			    (x->all_features || x->has_segment)) {
				e->cur_rule = r;
				e->cur_model = model;
				if (src->features(src->ctx, x, model, now, on_feature, e) != 0) {
					struct obs *o = push_obs(e, r, model, "");
					if (o)
						o->held = 2;
				}
			} else {
				const char *f =
				    rules_metric_per_feature(x->metric) ? x->feature : "";
				struct obs *o = push_obs(e, r, model, f);
				if (!o)
					return;
				o->gated = gate;
				int vr = src->value(src->ctx, x, model, *f ? f : NULL, now,
				                    &o->value, o->window, sizeof(o->window));
				if (vr == 2)
					o->held = 3;
				else if (vr != 0)
					o->held = 1;
			}
		}
	}
}

/* ---- tick: applying --------------------------------------------------------- */

static int begin(struct alert_engine *e)
{
	if (e->in_tx)
		return 0;
	if (store_begin(e->sa->st))
		return -1;
	if (e->sa->fence && e->sa->fence(e->sa->fence_arg)) {
		store_rollback(e->sa->st); /* fenced out: write nothing */
		return -1;
	}
	e->in_tx = true;
	return 0;
}

/* inhibit = RULE (issue 17): an alert of such a rule fires for the same
 * model. Rules are few and so are their instances: a walk is enough. */
static bool inhibited(struct alert_engine *e, const struct inst *i)
{
	const struct rule *r = &e->rules->v[i->rule];

	if (!r->n_inhibit)
		return false;
	for (size_t b = 0; b < N_BUCKETS; b++)
		for (const struct inst *j = e->buckets[b]; j; j = j->next) {
			if (j->state != IST_FIRING || strcmp(j->model, i->model) != 0)
				continue;
			for (size_t k = 0; k < r->n_inhibit; k++)
				if (r->inhibit[k] == j->rule)
					return true;
		}
	return false;
}

/* Silenced, or inhibited: notifications are held back (owed) either way. */
static bool silenced(struct alert_engine *e, const struct inst *i)
{
	const char *rule = e->rules->v[i->rule].name;
	if (inhibited(e, i))
		return true;
	for (size_t k = 0; k < e->n_sil; k++)
		if ((strcmp(e->sil[k].rule, rule) == 0 || strcmp(e->sil[k].rule, "*") == 0) &&
		    (!e->sil[k].model[0] || strcmp(e->sil[k].model, i->model) == 0))
			return true;
	return false;
}

static bool is_acked(struct alert_engine *e, const struct inst *i)
{
	for (size_t k = 0; k < e->n_acked; k++)
		if (e->acked[k] == i->id)
			return true;
	return false;
}

struct texts {
	char summary[1024], description[2048];
};

static void render(struct alert_engine *e, const struct inst *i, struct texts *t)
{
	const struct rule *r = &e->rules->v[i->rule];
	struct rule_vars v = {r->name,   i->model, i->feature,
	                      i->window, i->value, r->expr.threshold};
	rules_render(r->summary, &v, t->summary, sizeof(t->summary));
	rules_render(r->description, &v, t->description, sizeof(t->description));
}

static void fill_row(struct alert_engine *e, const struct inst *i, const char *state,
                     const struct texts *t, struct store_alert_row *row)
{
	const struct rule *r = &e->rules->v[i->rule];
	memset(row, 0, sizeof(*row));
	row->id = i->id;
	snprintf(row->rule, sizeof(row->rule), "%s", r->name);
	snprintf(row->model, sizeof(row->model), "%s", i->model);
	snprintf(row->feature, sizeof(row->feature), "%s", i->feature);
	snprintf(row->state, sizeof(row->state), "%s", state);
	snprintf(row->severity, sizeof(row->severity), "%s", rules_severity_name(r->severity));
	snprintf(row->fingerprint, sizeof(row->fingerprint), "%s", i->fingerprint);
	row->value = i->value;
	row->threshold = r->expr.threshold;
	row->active_at = i->active_at;
	row->fired_at = i->fired_at;
	row->resolved_at = NAN;
	row->last_notified = i->last_notified;
	row->owed = i->owed;
	row->nodata_since = i->nodata_since;
	row->summary = t ? t->summary : NULL;
	row->description = t ? t->description : NULL;
}

static bool is_am(const struct alert_engine *e, size_t receiver)
{
	return strcmp(e->cfg->receivers[receiver].type, "alertmanager") == 0;
}

/* The data behind i's value as [*from, *to): an RFC 3339 window is an
 * analysis window (collector window long); a duration is an `over` interval
 * ending now; anything else has no window (NAN). */
static void window_bounds(const struct alert_engine *e, const char *w, double now, double *from,
                          double *to)
{
	int64_t ms;
	double t;

	*from = *to = NAN;
	if (clock_parse_rfc3339(w, &t) == 0) {
		*from = t;
		*to = t + (double)e->cfg->collector.window_ms / 1000.0;
	} else if (w[0] && config_parse_duration(w, &ms) == 0 && ms > 0) {
		*to = now;
		*from = now - (double)ms / 1000.0;
	}
}

/* Writes one notification of kind for i to every receiver of its rule (or
 * to its alertmanager receivers only). */
static int notify_to(struct alert_engine *e, struct inst *i, const char *kind, double now,
                     const struct texts *t, bool am_only)
{
	const struct rule *r = &e->rules->v[i->rule];
	struct notification n = {
	    .kind = (char *)kind,
	    .rule = r->name,
	    .model = i->model,
	    .feature = i->feature,
	    .severity = (char *)rules_severity_name(r->severity),
	    .metric = (char *)rules_metric_name(r->expr.metric),
	    .op = (char *)rules_op_name(r->expr.op),
	    .expr = r->expr_text,
	    .window = i->window,
	    .summary = (char *)t->summary,
	    .description = (char *)t->description,
	    .fingerprint = i->fingerprint,
	    .value = i->value,
	    .threshold = r->expr.threshold,
	    .starts_at = i->active_at,
	    .ends_at = strcmp(kind, "resolved") == 0 ? now : NAN,
	    .created = now,
	    .alert_id = i->id,
	};
	char *json = NULL;
	int rc = -1;

	window_bounds(e, i->window, now, &n.window_start, &n.window_end);

	if (payload_encode(&n, &json))
		goto out;
	size_t sent = 0;
	for (size_t k = 0; k < r->n_receivers; k++) {
		if (am_only && !is_am(e, r->receivers[k]))
			continue;
		if (store_outbox_insert(e->sa, e->cfg->receivers[r->receivers[k]].name, i->id, kind,
		                        json, now))
			goto out;
		e->rows++;
		sent++;
	}
	if (sent && !am_only)
		log_info("alerts",
		         "notification queued rule=%s model=%s%s%s kind=%s value=%g "
		         "receivers=%zu",
		         r->name, i->model, i->feature[0] ? " feature=" : "", i->feature, kind,
		         i->value, sent);
	i->am_sent = now;
	rc = 0;
out:
	free(json);
	return rc;
}

static int notify(struct alert_engine *e, struct inst *i, const char *kind, double now,
                  const struct texts *t)
{
	return notify_to(e, i, kind, now, t, false);
}

static bool has_am(const struct alert_engine *e, const struct rule *r)
{
	for (size_t k = 0; k < r->n_receivers; k++)
		if (is_am(e, r->receivers[k]))
			return true;
	return false;
}

static int fire(struct alert_engine *e, struct inst *i, double now)
{
	const struct rule *r = &e->rules->v[i->rule];
	struct store_alert_row row;
	struct texts t;
	bool quiet_s = silenced(e, i), quiet_a = i->id && is_acked(e, i);

	i->state = IST_FIRING;
	i->fired_at = now;
	render(e, i, &t);
	if (!i->id) {
		fill_row(e, i, "firing", &t, &row);
		if (store_alerts_insert(e->sa, &row, now))
			return -1;
		i->id = row.id;
	}
	log_info("alerts", "alert firing rule=%s model=%s%s%s value=%g threshold=%g%s", r->name,
	         i->model, i->feature[0] ? " feature=" : "", i->feature, i->value,
	         r->expr.threshold,
	         quiet_s   ? " silenced=true"
	         : quiet_a ? " acked=true"
	                   : "");
	if (quiet_s) {
		i->owed = true;
	} else if (!quiet_a) {
		if (notify(e, i, "firing", now, &t))
			return -1;
		i->last_notified = now;
	}
	fill_row(e, i, "firing", &t, &row);
	i->value_written = now;
	return store_alerts_update(e->sa, &row, now);
}

static int still_firing(struct alert_engine *e, struct inst *i, double now, bool value_changed)
{
	const struct rule *r = &e->rules->v[i->rule];
	struct store_alert_row row;
	struct texts t;
	const char *kind = NULL;
	bool refresh = false, newly_owed = false;

	if (silenced(e, i)) {
		newly_owed = !i->owed; /* written now: a restart must not forget it */
		i->owed = true;
	} else if (!is_acked(e, i)) {
		if (i->owed || isnan(i->last_notified))
			kind = "firing";
		else if (now - i->last_notified >=
		         (double)r->repeat_interval_ms / 1000.0 - FOR_SLACK)
			kind = "repeat";
	}
	/* An ack stops pages, not Alertmanager's view of what is firing. */
	if (!kind && !silenced(e, i) && !isnan(i->am_sent) && now - i->am_sent >= AM_REFRESH &&
	    has_am(e, r))
		refresh = true;
	if (!kind && !refresh && !newly_owed &&
	    !(value_changed && !(now - i->value_written < VALUE_REFRESH)))
		return 0;
	if (begin(e))
		return -1;
	render(e, i, &t);
	if (kind) {
		if (notify(e, i, kind, now, &t))
			return -1;
		i->last_notified = now;
		i->owed = false;
	} else if (refresh && notify_to(e, i, "repeat", now, &t, true)) {
		return -1;
	}
	fill_row(e, i, "firing", &t, &row);
	i->value_written = now;
	return store_alerts_update(e->sa, &row, now);
}

/* Ends a firing alert on value: its summary is rendered with that value,
 * so it states what resolved it (NAN: the metric has no value any more,
 * e.g. a feature gone from the newest window, and the summary says so
 * rather than quoting the last, breaching, value). */
static int resolve(struct alert_engine *e, struct inst *i, double now, double value)
{
	const struct rule *r = &e->rules->v[i->rule];
	struct store_alert_row row;
	struct texts t;

	if (begin(e))
		return -1;
	render(e, i, &t);
	if (isnan(value)) {
		size_t n = strlen(t.summary);
		snprintf(t.summary + n, sizeof(t.summary) - n,
		         " (resolved: the metric has no value any more; last value %g)", i->value);
	}
	log_info("alerts", "alert resolved rule=%s model=%s%s%s", r->name, i->model,
	         i->feature[0] ? " feature=" : "", i->feature);
	/* Receivers that were told it fired hear that it ended, silence or not. */
	if (r->send_resolved && !isnan(i->last_notified) && notify(e, i, "resolved", now, &t))
		return -1;
	fill_row(e, i, "resolved", &t, &row);
	row.resolved_at = now;
	if (!isnan(i->last_notified) && r->send_resolved)
		row.last_notified = now;
	if (store_alerts_update(e->sa, &row, now))
		return -1;
	remove_inst(e, i);
	return 0;
}

/* Applies one observation (held ones were handled by the caller). */
static int step(struct alert_engine *e, size_t rule, const char *model, const char *feature,
                double value, const char *window, bool gate, double now)
{
	const struct rule *r = &e->rules->v[rule];
	struct inst *i = lookup(e, rule, model, feature);
	bool cond = !gate && rules_compare(r->expr.op, value, r->expr.threshold);
	bool changed;
	double for_s = (double)r->for_ms / 1000.0;
	struct store_alert_row row;

	if (!i && !cond)
		return 0;
	if (!i && !(i = insert(e, rule, model, feature)))
		return -1;
	i->seen = e->gen;
	if (!isnan(value) && !isnan(i->nodata_since)) {
		/* Data again: the mark goes, whatever the state machine does. */
		if (begin(e))
			return -1;
		log_info("alerts",
		         "alert has data again rule=%s model=%s%s%s value=%g nodata_for=%.0fs",
		         r->name, model, *feature ? " feature=" : "", feature, value,
		         now - i->nodata_since);
		i->nodata_since = NAN;
		fill_row(e, i, i->state == IST_FIRING ? "firing" : "pending", NULL, &row);
		if (store_alerts_update(e->sa, &row, now))
			return -1;
	}
	changed = !isnan(value) && value != i->value;
	if (!isnan(value))
		i->value = value;
	if (window && *window)
		snprintf(i->window, sizeof(i->window), "%s", window);
	switch (i->state) {
	case IST_INACTIVE:
		if (begin(e))
			return -1;
		i->active_at = now;
		if (for_s <= 0)
			return fire(e, i, now);
		i->state = IST_PENDING;
		fill_row(e, i, "pending", NULL, &row);
		if (store_alerts_insert(e->sa, &row, now))
			return -1;
		i->id = row.id;
		i->value_written = now;
		log_info("alerts", "alert pending rule=%s model=%s%s%s value=%g for_s=%g", r->name,
		         model, *feature ? " feature=" : "", feature, value, for_s);
		return 0;
	case IST_PENDING:
		if (!cond) {
			if (begin(e) || store_alerts_delete(e->sa, i->id))
				return -1;
			log_info("alerts", "alert back to inactive rule=%s model=%s%s%s", r->name,
			         model, *feature ? " feature=" : "", feature);
			remove_inst(e, i);
			return 0;
		}
		if (now - i->active_at >= for_s - FOR_SLACK) {
			if (begin(e))
				return -1;
			return fire(e, i, now);
		}
		return 0;
	case IST_FIRING:
		if (!cond)
			return resolve(e, i, now, value);
		return still_firing(e, i, now, changed);
	}
	return 0;
}

/* An interval without data: an empty interval says nothing about the
 * condition, so the alert keeps its state (a pending one its ActiveAt) and
 * is marked nodata; receivers hear of it only with notify_nodata. */
static int no_data(struct alert_engine *e, struct inst *i, double now)
{
	const struct rule *r = &e->rules->v[i->rule];
	struct store_alert_row row;
	struct texts t;
	const char *state = i->state == IST_FIRING ? "firing" : "pending";

	i->seen = e->gen;
	if (!isnan(i->nodata_since) || i->state == IST_INACTIVE)
		return 0;
	if (begin(e))
		return -1;
	i->nodata_since = now;
	log_info("alerts",
	         "alert has no data, keeping its state rule=%s model=%s%s%s state=%s "
	         "last_value=%g",
	         r->name, i->model, i->feature[0] ? " feature=" : "", i->feature, state, i->value);
	render(e, i, &t);
	char last[512];
	snprintf(last, sizeof(last), "%.500s", t.summary);
	snprintf(t.summary, sizeof(t.summary), "no data for %s over %s; still %s (last: %s)",
	         i->model, i->window[0] ? i->window : "the interval", state, last);
	if (r->notify_nodata && i->state == IST_FIRING && !isnan(i->last_notified) &&
	    !silenced(e, i) && !is_acked(e, i) && notify(e, i, "nodata", now, &t))
		return -1;
	fill_row(e, i, state, &t, &row);
	return store_alerts_update(e->sa, &row, now);
}

static int apply(struct alert_engine *e, double now)
{
	for (size_t k = 0; k < e->n_obs; k++) {
		const struct obs *o = &e->obs[k];
		if (o->held == 3) {
			struct inst *i = lookup(e, o->rule, o->model, o->feature);
			if (i && no_data(e, i, now))
				return -1;
			continue;
		}
		if (o->held == 2) {
			/* Every feature instance of (rule, model) keeps its state. */
			for (size_t b = 0; b < N_BUCKETS; b++)
				for (struct inst *i = e->buckets[b]; i; i = i->next)
					if (i->rule == o->rule && strcmp(i->model, o->model) == 0)
						i->seen = e->gen;
			continue;
		}
		if (o->held == 1) {
			struct inst *i = lookup(e, o->rule, o->model, o->feature);
			if (i)
				i->seen = e->gen;
			continue;
		}
		if (step(e, o->rule, o->model, o->feature, o->value, o->window, o->gated, now))
			return -1;
	}
	/* What no source mentioned any more (a feature gone from the newest
	 * window, a model no longer listed) has no value: its condition is false. */
	for (size_t b = 0; b < N_BUCKETS; b++) {
		struct inst *i = e->buckets[b];
		while (i) {
			struct inst *next = i->next;
			if (i->seen != e->gen) {
				char model[SA_NAME_MAX + 1], feature[SA_FEATURE_MAX + 1];
				snprintf(model, sizeof(model), "%s", i->model);
				snprintf(feature, sizeof(feature), "%s", i->feature);
				if (step(e, i->rule, model, feature, NAN, NULL, false, now))
					return -1;
			}
			i = next;
		}
	}
	return 0;
}

int alert_engine_tick(struct alert_engine *e, const struct alert_source *src, double now)
{
	char err[256];
	int rc = -1;

	e->gen++;
	e->rows = 0;
	e->n_sil = e->n_acked = e->n_obs = 0;
	e->oom = false;
	if (store_silences_active(e->sa, now, on_silence, e) ||
	    store_alerts_acked(e->sa, on_acked, e)) {
		log_error("alerts", "cannot read silences and acks: %s", store_errmsg(e->sa->st));
		return -1;
	}
	observe(e, src, now);
	if (e->oom) {
		log_error("alerts", "out of memory while evaluating rules");
		return -1;
	}
	for (size_t b = 0; b < N_BUCKETS; b++)
		for (struct inst *i = e->buckets[b]; i; i = i->next)
			i->acked = is_acked(e, i);
	if (apply(e, now) == 0 && (!e->in_tx || store_commit(e->sa->st) == 0)) {
		rc = e->rows;
		e->in_tx = false;
		return rc;
	}
	log_error("alerts", "cannot write alert state, will retry: %s", store_errmsg(e->sa->st));
	store_rollback(e->sa->st);
	e->in_tx = false;
	/* Memory ran ahead of the database: take the database's word for it. */
	if (load(e, now, err, sizeof(err)))
		log_error("alerts", "%s", err);
	return -1;
}

void alert_engine_each(struct alert_engine *e,
                       void (*fn)(void *arg, const char *rule, const char *model,
                                  const char *feature, bool firing, double value),
                       void *arg)
{
	for (size_t b = 0; b < N_BUCKETS; b++)
		for (struct inst *i = e->buckets[b]; i; i = i->next)
			if (i->state != IST_INACTIVE)
				fn(arg, e->rules->v[i->rule].name, i->model, i->feature,
				   i->state == IST_FIRING, i->value);
}
