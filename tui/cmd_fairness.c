/* cmd_fairness: `mlwatch fairness --model M [--since DUR] [--json]`: per
 * window and protected attribute (the model's `fairness_by`), each group's
 * counts and rates and the gaps between groups (common/fairness.h), read
 * from the fairness table (common/store_fairness.h). Single-threaded; a
 * database error is reported and exits 1. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "fairness.h"
#include "jsonw.h"
#include "store_fairness.h"

struct fctx {
	bool json;
	uint64_t min_sample;
	cJSON *windows; /* --json */
	size_t nrows;
};

/* Rates in their shortest exact form (cJSON prints 15 digits, which does
 * not always read back as the same double): a script recomputing them from
 * the counts gets exactly these values. NAN is null. */
static void jexact(cJSON *o, const char *key, double v)
{
	char buf[40];

	if (isnan(v) || isinf(v)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	jsonw_format_double(buf, sizeof(buf), v);
	cJSON_AddRawToObject(o, key, buf);
}

static const char *fmt_rate(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.3f", v);
	return buf;
}

static int on_window(const struct store_fairness_window *w, void *arg)
{
	struct fctx *f = arg;
	struct fairness_gaps g;
	char t[40], b[5][16];

	fairness_gaps(w->attr->g, w->attr->n, f->min_sample, &g);
	f->nrows++;
	if (f->json) {
		cJSON *o = cJSON_CreateObject(), *groups = cJSON_CreateArray();
		cmd_jint(o, "start", w->start);
		cmd_jstr(o, "attribute", w->attr->name);
		for (size_t i = 0; i < w->attr->n; i++) {
			const struct fairness_group *gr = &w->attr->g[i];
			struct fairness_rates r;
			cJSON *j = cJSON_CreateObject();
			fairness_rates(gr, &r);
			cmd_jstr(j, "group", gr->name);
			cmd_jint(j, "n", (int64_t)gr->n);
			cmd_jint(j, "positives", (int64_t)gr->positives);
			jexact(j, "positive_rate", r.positive_rate);
			cmd_jint(j, "labelled", (int64_t)gr->labelled);
			jexact(j, "accuracy", r.accuracy);
			cmd_jint(j, "tp", (int64_t)gr->tp);
			cmd_jint(j, "fp", (int64_t)gr->fp);
			cmd_jint(j, "tn", (int64_t)gr->tn);
			cmd_jint(j, "fn", (int64_t)gr->fn);
			jexact(j, "tpr", r.tpr);
			jexact(j, "fpr", r.fpr);
			cmd_jbool(j, "insufficient", gr->n < f->min_sample);
			cJSON_AddItemToArray(groups, j);
		}
		cJSON_AddItemToObject(o, "groups", groups);
		jexact(o, "dp_diff", g.dp_diff);
		jexact(o, "dp_ratio", g.dp_ratio);
		jexact(o, "eo_diff", g.eo_diff);
		jexact(o, "eodds_diff", g.eodds_diff);
		jexact(o, "acc_gap", g.acc_gap);
		cmd_jbool(o, "insufficient", isnan(g.dp_ratio));
		cJSON_AddItemToArray(f->windows, o);
		return 0;
	}
	clock_format_rfc3339((double)w->start, t, sizeof(t));
	printf("%s  %s:", t, w->attr->name);
	if (isnan(g.dp_ratio))
		printf(" insufficient (fewer than two groups with %llu events)\n",
		       (unsigned long long)f->min_sample);
	else
		printf(" dp_ratio %s dp_diff %s eo_diff %s eodds_diff %s acc_gap %s%s\n",
		       fmt_rate(b[0], 16, g.dp_ratio), fmt_rate(b[1], 16, g.dp_diff),
		       fmt_rate(b[2], 16, g.eo_diff), fmt_rate(b[3], 16, g.eodds_diff),
		       fmt_rate(b[4], 16, g.acc_gap), g.dp_ratio < 0.8 ? "  (below 4/5)" : "");
	printf("  %-20s %8s %9s %9s %8s %8s %8s\n", "GROUP", "N", "POS_RATE", "LABELLED", "ACC",
	       "TPR", "FPR");
	for (size_t i = 0; i < w->attr->n; i++) {
		const struct fairness_group *gr = &w->attr->g[i];
		struct fairness_rates r;
		fairness_rates(gr, &r);
		printf("  %-20.20s %8llu %9s %9llu %8s %8s %8s%s\n", gr->name,
		       (unsigned long long)gr->n, fmt_rate(b[0], 16, r.positive_rate),
		       (unsigned long long)gr->labelled, fmt_rate(b[1], 16, r.accuracy),
		       fmt_rate(b[2], 16, r.tpr), fmt_rate(b[3], 16, r.fpr),
		       gr->n < f->min_sample ? "  insufficient" : "");
	}
	return 0;
}

int cmd_fairness(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {"model", "since", NULL};
	struct fctx f = {0};
	struct store st;
	struct sq q;
	struct sq_model m;
	double since, now = cmd_now();
	int rc;

	if ((rc = cmd_check_args(res, 1)) || (rc = cmd_check_flags(res, flags)) ||
	    (rc = cmd_since(res, &since)))
		return rc;
	f.json = cli_has(res, "json");
	f.min_sample = (uint64_t)cfg->collector.fairness_min_sample;
	if ((rc = cmd_open(cfg, STORE_RO, &st, &q)))
		return rc;
	if ((rc = cmd_model(&q, res, &m)))
		goto out;
	if (f.json)
		f.windows = cJSON_CreateArray();
	if (store_fairness_each(&st, m.id, floor(now - since), now + 1e9, on_window, &f)) {
		cmd_error("cannot read fairness: %s", store_errmsg(&st));
		rc = 1;
		goto out;
	}
	if (f.json) {
		cJSON *o = cJSON_CreateObject();
		cmd_jstr(o, "model", m.name);
		cmd_jint(o, "min_sample", (int64_t)f.min_sample);
		cJSON_AddItemToObject(o, "windows", f.windows);
		f.windows = NULL;
		rc = cmd_jprint(o);
	} else if (!f.nrows) {
		printf("no fairness windows for %s in the last %.0fs (is fairness_by set in its "
		       "[model] section?)\n",
		       m.name, since);
	}
out:
	cJSON_Delete(f.windows);
	cmd_close(&st, &q);
	return rc;
}
