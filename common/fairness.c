/* fairness: see fairness.h. */
#include "fairness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static const char *const metric_names[] = {"dp_ratio", "dp_diff", "eo_diff", "eodds_diff",
                                           "acc_gap"};

const char *fairness_metric_name(enum fairness_metric m)
{
	return (unsigned)m < sizeof(metric_names) / sizeof(metric_names[0]) ? metric_names[m] : "?";
}

double fairness_gap_value(const struct fairness_gaps *g, enum fairness_metric m)
{
	switch (m) {
	case FAIR_DP_RATIO:
		return g->dp_ratio;
	case FAIR_DP_DIFF:
		return g->dp_diff;
	case FAIR_EO_DIFF:
		return g->eo_diff;
	case FAIR_EODDS_DIFF:
		return g->eodds_diff;
	case FAIR_ACC_GAP:
		return g->acc_gap;
	}
	return NAN;
}

static void copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);
	if (n > FAIRNESS_NAME_MAX)
		n = FAIRNESS_NAME_MAX;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void fairness_attr_init(struct fairness_attr *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	copy_name(a->name, name);
}

void fairness_attr_fini(struct fairness_attr *a)
{
	free(a->g);
	a->g = NULL;
	a->n = a->cap = 0;
}

bool fairness_is_positive(const struct value *v, const char *positive_label)
{
	char buf[40];
	const char *p = positive_label ? positive_label : FAIRNESS_POSITIVE_DEFAULT;

	if (v->kind == VALUE_STRING)
		return v->str && strcmp(v->str, p) == 0;
	if (v->kind == VALUE_NUMBER) {
		jsonw_format_double(buf, sizeof(buf), v->num);
		return strcmp(buf, p) == 0;
	}
	return false;
}

/* The group named name (cut to FAIRNESS_NAME_MAX), made when new; past
 * FAIRNESS_GROUPS_MAX groups, the overflow group. NULL when out of memory. */
static struct fairness_group *group_of(struct fairness_attr *a, const char *name)
{
	char key[FAIRNESS_NAME_MAX + 1];

	copy_name(key, name);
	for (;;) {
		for (size_t i = 0; i < a->n; i++)
			if (strcmp(a->g[i].name, key) == 0)
				return &a->g[i];
		if (a->n < FAIRNESS_GROUPS_MAX || strcmp(key, FAIRNESS_OTHER) == 0)
			break;
		copy_name(key, FAIRNESS_OTHER); /* bounded: one more group at most */
	}
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 4;
		struct fairness_group *ng = realloc(a->g, ncap * sizeof(*ng));
		if (!ng)
			return NULL;
		a->g = ng;
		a->cap = ncap;
	}
	memset(&a->g[a->n], 0, sizeof(a->g[a->n]));
	copy_name(a->g[a->n].name, key);
	return &a->g[a->n++];
}

int fairness_add(struct fairness_attr *a, const char *group, const struct value *pred,
                 const struct value *label, const char *positive_label)
{
	struct fairness_group *g;
	bool p, l;

	if (!group || pred->kind == VALUE_NONE)
		return 0;
	g = group_of(a, group);
	if (!g)
		return -1;
	p = fairness_is_positive(pred, positive_label);
	g->n++;
	g->positives += p;
	if (label->kind == VALUE_NONE)
		return 0;
	l = fairness_is_positive(label, positive_label);
	g->labelled++;
	if (p && l)
		g->tp++;
	else if (p)
		g->fp++;
	else if (l)
		g->fn++;
	else
		g->tn++;
	/* Correct is judged on the class itself (a multiclass model's
	 * accuracy), not on positive/negative; 1 and "1" are the same class. */
	{
		char pb[40], lb[40];
		const char *ps = pred->kind == VALUE_STRING ? pred->str : pb;
		const char *ls = label->kind == VALUE_STRING ? label->str : lb;
		if (pred->kind == VALUE_NUMBER)
			jsonw_format_double(pb, sizeof(pb), pred->num);
		if (label->kind == VALUE_NUMBER)
			jsonw_format_double(lb, sizeof(lb), label->num);
		g->correct += ps && ls && strcmp(ps, ls) == 0;
	}
	return 0;
}

int fairness_add_counts(struct fairness_attr *a, const struct fairness_group *src)
{
	struct fairness_group *g = group_of(a, src->name);
	if (!g)
		return -1;
	g->n += src->n;
	g->positives += src->positives;
	g->labelled += src->labelled;
	g->correct += src->correct;
	g->tp += src->tp;
	g->fp += src->fp;
	g->tn += src->tn;
	g->fn += src->fn;
	return 0;
}

static double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : NAN;
}

void fairness_rates(const struct fairness_group *g, struct fairness_rates *r)
{
	r->positive_rate = ratio(g->positives, g->n);
	r->accuracy = ratio(g->correct, g->labelled);
	r->tpr = ratio(g->tp, g->tp + g->fn);
	r->fpr = ratio(g->fp, g->fp + g->tn);
}

struct span {
	double lo, hi;
	size_t n;
};

static void span_add(struct span *s, double v)
{
	if (isnan(v))
		return;
	if (!s->n || v < s->lo)
		s->lo = v;
	if (!s->n || v > s->hi)
		s->hi = v;
	s->n++;
}

void fairness_gaps(const struct fairness_group *g, size_t n, uint64_t min_sample,
                   struct fairness_gaps *out)
{
	struct span dp = {0}, tpr = {0}, fpr = {0}, acc = {0};

	if (min_sample < 1)
		min_sample = 1;
	for (size_t i = 0; i < n; i++) {
		struct fairness_rates r;
		fairness_rates(&g[i], &r);
		if (g[i].n >= min_sample)
			span_add(&dp, r.positive_rate);
		if (g[i].tp + g[i].fn >= min_sample)
			span_add(&tpr, r.tpr);
		if (g[i].fp + g[i].tn >= min_sample)
			span_add(&fpr, r.fpr);
		if (g[i].labelled >= min_sample)
			span_add(&acc, r.accuracy);
	}
	out->n_dp = dp.n;
	out->n_eo = tpr.n;
	out->n_eodds = tpr.n < fpr.n ? tpr.n : fpr.n;
	out->n_acc = acc.n;
	out->dp_diff = dp.n >= 2 ? dp.hi - dp.lo : NAN;
	/* Nobody predicted positive: every group is treated alike. */
	out->dp_ratio = dp.n >= 2 ? (dp.hi > 0 ? dp.lo / dp.hi : 1.0) : NAN;
	out->eo_diff = tpr.n >= 2 ? tpr.hi - tpr.lo : NAN;
	out->eodds_diff = tpr.n >= 2 && fpr.n >= 2 ? fmax(tpr.hi - tpr.lo, fpr.hi - fpr.lo) : NAN;
	out->acc_gap = acc.n >= 2 ? acc.hi - acc.lo : NAN;
}

int fairness_each_attr(const char *list, int (*fn)(const char *name, void *arg), void *arg)
{
	char name[FAIRNESS_NAME_MAX + 1];
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ',');
		const char *end = e ? e : p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *q = end;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		size_t n = (size_t)(q - p);
		if (n > FAIRNESS_NAME_MAX)
			n = FAIRNESS_NAME_MAX;
		if (n) {
			int rc;
			memcpy(name, p, n);
			name[n] = '\0';
			if ((rc = fn(name, arg)) != 0)
				return rc;
		}
		p = e ? e + 1 : end;
	}
	return 0;
}
