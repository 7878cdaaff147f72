/* reference: see reference.h. */
#include "reference.h"
#include "store_refcal.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "featcodec.h"
#include "jsonw.h"
#include "mvprofile.h"
#include "quality.h"
#include "sample.h"
#include "segment.h"
#include "store_ingest.h"
#include "text.h"
#include "vector.h"

#define REF_PREDICTION "@prediction"
#define REF_SCORE      "@score"
/* Labelled (confidence, correct) pairs kept for the calibration fit. */
#define REF_CALIB_MAX (10 * QUALITY_CALIB_MAX_POINTS)
#define REF_SEED      0x6d6c7761746368ull

struct col {
	char *name;
	int cfg_kind; /* 0 auto, 1 numeric, 2 categorical */
	bool any_number, any_text;
	uint64_t values;
	bool res_init;
	struct sample_reservoir res;
	struct sample_cats cats;
	uint64_t ignored;
	/* for the kind by majority and the report of the odd cells */
	uint64_t numbers, texts;
	size_t text_line; /* of the first text value, 0 when unknown */
	char text_val[REF_ODD_MAX + 1];
	/* a vector column: rows[nv x dim] (a reservoir past vmax rows) */
	size_t dim, nv, vmax, vcap;
	uint64_t vseen;
	float *vrows;
	struct sample_rng vrng;
};

struct refb {
	const struct model_config *mc;
	struct col *c;
	size_t nc, cap;
	uint32_t *index;
	size_t nindex;
	uint64_t rows;
	/* outputs */
	bool pred_text, pred_any, score_any;
	/* calibration pairs (reservoir) */
	double *conf;
	uint8_t *correct;
	size_t npairs;
	uint64_t pairs_seen;
	struct sample_rng rng;
	struct segb *seg; /* the model's segment_by profiles (segment.h); NULL = none */
	/* row-aligned numeric values for the multivariate profile (issue 19):
	 * a reservoir of rows, mvrows[i][0..mvlen[i]) by column index, NaN
	 * where the row had no number */
	double **mvrows;
	size_t *mvlen, nmv;
	uint64_t mvseen;
	struct sample_rng mvrng;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int reindex(struct refb *b)
{
	size_t n = 64;
	uint32_t *idx;
	while (n < b->nc * 2 + 2)
		n *= 2;
	idx = calloc(n, sizeof(*idx));
	if (!idx)
		return -1;
	for (size_t i = 0; i < b->nc; i++) {
		size_t j = hash_str(b->c[i].name) & (n - 1);
		while (idx[j])
			j = (j + 1) & (n - 1);
		idx[j] = (uint32_t)i + 1;
	}
	free(b->index);
	b->index = idx;
	b->nindex = n;
	return 0;
}

static struct col *col_get(struct refb *b, const char *name)
{
	struct col *c;

	if (b->nindex) {
		for (size_t j = hash_str(name) & (b->nindex - 1);; j = (j + 1) & (b->nindex - 1)) {
			uint32_t k = b->index[j];
			if (!k)
				break;
			if (strcmp(b->c[k - 1].name, name) == 0)
				return &b->c[k - 1];
		}
	}
	if (b->nc == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		struct col *nc = realloc(b->c, ncap * sizeof(*nc));
		if (!nc)
			return NULL;
		b->c = nc;
		b->cap = ncap;
	}
	c = &b->c[b->nc];
	memset(c, 0, sizeof(*c));
	c->name = strdup(name);
	if (!c->name)
		return NULL;
	sample_cats_init(&c->cats, 0);
	if (b->mc) {
		for (size_t i = 0; i < b->mc->n_features; i++)
			if (strcmp(b->mc->features[i].name, name) == 0)
				c->cfg_kind = (int)b->mc->features[i].kind;
	}
	if (strcmp(name, REF_SCORE) == 0)
		c->cfg_kind = 1;
	b->nc++;
	if (reindex(b)) {
		b->nc--;
		free(c->name);
		return NULL;
	}
	return c;
}

struct refb *refb_new_flat(const struct model_config *mc)
{
	struct refb *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->mc = mc;
	sample_rng_seed(&b->rng, REF_SEED);
	sample_rng_seed(&b->mvrng, REF_SEED ^ 0x6d76ull);
	return b;
}

struct refb *refb_new(const struct model_config *mc)
{
	struct refb *b = refb_new_flat(mc);
	bool oom = false;

	if (b && !(b->seg = segb_new(mc, &oom)) && oom) {
		refb_free(b);
		return NULL;
	}
	return b;
}

int refb_merge(struct refb *dst, const struct refb *src)
{
	for (size_t i = 0; i < src->nc; i++) {
		const struct col *sc = &src->c[i];
		struct col *dc = col_get(dst, sc->name);
		if (!dc)
			return -1;
		dc->any_number |= sc->any_number;
		dc->any_text |= sc->any_text;
		dc->values += sc->values;
		dc->ignored += sc->ignored;
		dc->numbers += sc->numbers;
		if (!dc->texts && sc->texts) {
			dc->text_line = sc->text_line;
			memcpy(dc->text_val, sc->text_val, sizeof(dc->text_val));
		}
		dc->texts += sc->texts;
		if (sc->res_init) {
			if (!dc->res_init) {
				if (sample_reservoir_init(&dc->res, SAMPLE_REF_MAX,
				                          REF_SEED ^ hash_str(dc->name)))
					return -1;
				dc->res_init = true;
			}
			if (sample_reservoir_merge(&dc->res, &sc->res))
				return -1;
		}
		for (size_t k = 0; k < sc->cats.n; k++)
			if (sample_cats_add(&dc->cats, sc->cats.cats[k].name,
			                    sc->cats.cats[k].name_len, sc->cats.cats[k].count))
				return -1;
	}
	dst->rows += src->rows;
	dst->pred_text |= src->pred_text;
	dst->pred_any |= src->pred_any;
	dst->score_any |= src->score_any;
	return 0;
}

void refb_free(struct refb *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nc; i++) {
		free(b->c[i].name);
		sample_reservoir_fini(&b->c[i].res);
		sample_cats_fini(&b->c[i].cats);
		free(b->c[i].vrows);
	}
	free(b->c);
	free(b->index);
	free(b->conf);
	free(b->correct);
	segb_free(b->seg);
	for (size_t i = 0; i < b->nmv; i++)
		free(b->mvrows[i]);
	free(b->mvrows);
	free(b->mvlen);
	free(b);
}

uint64_t refb_rows(const struct refb *b)
{
	return b->rows;
}

/* A vector value of column c: parsed into the column's rows (or a reservoir
 * slot past vmax rows), its dimension checked against the column's. */
static int col_add_vector(struct col *c, const struct ref_value *v, char *err, size_t errlen)
{
	struct vector_error ve;
	float tmp[VECTOR_DIM_MAX];
	size_t dim = 0;
	int rc;

	if ((c->values && !c->dim) || c->cfg_kind == 1 || c->cfg_kind == 2) {
		snprintf(err, errlen, "column '%s': a vector among %s values", c->name,
		         c->cfg_kind == 2 ? "categorical" : "scalar");
		return -1;
	}
	if (v->vec) {
		/* decoded and checked by featcodec: only the dimension is left */
		rc = c->dim && v->vec_dim != c->dim ? -1 : 0;
		if (rc)
			snprintf(ve.msg, sizeof(ve.msg),
			         "has %zu dimensions, this feature has %zu (fixed by its first "
			         "vector)",
			         v->vec_dim, c->dim);
		else
			memcpy(tmp, v->vec, v->vec_dim * sizeof(*tmp));
		dim = v->vec_dim;
	} else {
		rc = v->vec_json
		         ? vector_from_json(v->vec_json, c->dim, tmp, VECTOR_DIM_MAX, &dim, &ve)
		         : vector_from_text(v->str, strlen(v->str), c->dim, tmp, VECTOR_DIM_MAX,
		                            &dim, &ve);
	}
	if (rc) {
		snprintf(err, errlen, "column '%s': %s", c->name, ve.msg);
		return -1;
	}
	if (!c->dim) {
		c->dim = dim;
		c->vmax = VECTOR_ROWS_BYTES_MAX / (4 * dim);
		if (c->vmax > VECTOR_ROWS_MAX)
			c->vmax = VECTOR_ROWS_MAX;
		sample_rng_seed(&c->vrng, REF_SEED ^ hash_str(c->name));
	}
	c->values++;
	c->vseen++;
	size_t at = c->nv;
	if (c->nv == c->vmax) {
		uint64_t k = sample_rng_below(&c->vrng, c->vseen);
		if (k >= c->vmax)
			return 0;
		at = (size_t)k;
	} else {
		if (c->nv == c->vcap) {
			size_t ncap = c->vcap ? c->vcap * 2 : 256;
			if (ncap > c->vmax)
				ncap = c->vmax;
			float *nr = realloc(c->vrows, ncap * dim * sizeof(float));
			if (!nr) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			c->vrows = nr;
			c->vcap = ncap;
		}
		c->nv++;
	}
	memcpy(c->vrows + at * dim, tmp, dim * sizeof(float));
	return 0;
}

static int col_add(struct col *c, const struct ref_value *v, const char *cat, size_t line,
                   char *err, size_t errlen)
{
	if (v->missing)
		return 0;
	if (v->is_vector)
		return col_add_vector(c, v, err, errlen);
	if (c->dim) {
		snprintf(err, errlen, "column '%s': a scalar among vectors of %zu dimensions",
		         c->name, c->dim);
		return -1;
	}
	c->values++;
	if (v->is_number)
		c->numbers++;
	else if (c->texts++ == 0) {
		c->text_line = line;
		snprintf(c->text_val, sizeof(c->text_val), "%s", v->str ? v->str : "");
	}
	if (v->is_number) {
		c->any_number = true;
		if (c->cfg_kind != 2) {
			if (!c->res_init) {
				if (sample_reservoir_init(&c->res, SAMPLE_REF_MAX,
				                          REF_SEED ^ hash_str(c->name)))
					goto oom;
				c->res_init = true;
			}
			if (sample_reservoir_add(&c->res, v->num))
				goto oom;
		}
	} else {
		c->any_text = true;
		if (c->cfg_kind == 1) {
			c->ignored++; /* text where the config says numeric */
			return 0;
		}
	}
	/* Category counts are kept unless the column can only be numeric. */
	if (c->cfg_kind != 1) {
		size_t len = strlen(cat);
		if (len > EVENT_CATEGORY_MAX || !text_printable(cat, len)) {
			snprintf(err, errlen,
			         "column '%s': a category must be at most %d bytes of printable "
			         "UTF-8",
			         c->name, EVENT_CATEGORY_MAX);
			return -1;
		}
		if (sample_cats_add(&c->cats, cat, len, 1))
			goto oom;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* A value as a class name: numbers in the collector's form ("1", not
 * "1.0"), so reference and live predictions name classes alike. */
static const char *class_name(const struct ref_value *v, char *buf, size_t cap)
{
	if (v->is_number) {
		jsonw_format_double(buf, cap, v->num);
		return buf;
	}
	return v->str;
}

static int add_pair(struct refb *b, double conf, bool correct)
{
	uint64_t k;

	if (!b->conf) {
		b->conf = malloc(1024 * sizeof(*b->conf));
		b->correct = malloc(1024);
		if (!b->conf || !b->correct)
			return -1;
	}
	b->pairs_seen++;
	if (b->npairs < REF_CALIB_MAX) {
		/* grow by powers of two */
		if (b->npairs >= 1024 && (b->npairs & (b->npairs - 1)) == 0) {
			double *nc = realloc(b->conf, 2 * b->npairs * sizeof(*nc));
			if (!nc)
				return -1;
			b->conf = nc;
			uint8_t *nk = realloc(b->correct, 2 * b->npairs);
			if (!nk)
				return -1;
			b->correct = nk;
		}
		k = b->npairs++;
	} else {
		k = sample_rng_below(&b->rng, b->pairs_seen);
		if (k >= REF_CALIB_MAX)
			return 0;
	}
	b->conf[k] = conf;
	b->correct[k] = correct ? 1 : 0;
	return 0;
}

/* The row's numbers by column index into the multivariate reservoir
 * (Algorithm R over rows: every column of a kept row is the same event's). */
static int mv_add(struct refb *b, const struct ref_row *row)
{
	size_t at;
	double *v;

	if (!b->mvrows) {
		b->mvrows = calloc(MVP_ROWS_MAX, sizeof(*b->mvrows));
		b->mvlen = calloc(MVP_ROWS_MAX, sizeof(*b->mvlen));
		if (!b->mvrows || !b->mvlen)
			return -1;
	}
	b->mvseen++;
	if (b->nmv < MVP_ROWS_MAX) {
		at = b->nmv;
	} else {
		uint64_t k = sample_rng_below(&b->mvrng, b->mvseen);
		if (k >= MVP_ROWS_MAX)
			return 0;
		at = (size_t)k;
	}
	v = malloc((b->nc ? b->nc : 1) * sizeof(*v));
	if (!v)
		return -1;
	for (size_t j = 0; j < b->nc; j++)
		v[j] = NAN;
	for (size_t i = 0; i < row->nf; i++) {
		const struct ref_value *x = &row->f[i].v;
		if (x->missing || !x->is_number || x->is_vector)
			continue;
		for (size_t j = 0; j < b->nc; j++) /* columns are few; names unique */
			if (strcmp(b->c[j].name, row->f[i].name) == 0) {
				v[j] = x->num;
				break;
			}
	}
	if (at < b->nmv)
		free(b->mvrows[at]);
	else
		b->nmv++;
	b->mvrows[at] = v;
	b->mvlen[at] = b->nc;
	return 0;
}

int refb_add(struct refb *b, const struct ref_row *row, char *err, size_t errlen)
{
	char nb[64], pb[64], lb[64];
	struct col *c;

	if (row->prediction.is_vector || row->score.is_vector || row->label.is_vector) {
		snprintf(err, errlen, "prediction, score and label cannot be vectors");
		return -1;
	}
	for (size_t i = 0; i < row->nf; i++) {
		c = col_get(b, row->f[i].name);
		if (!c) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (col_add(c, &row->f[i].v, row->f[i].v.str ? row->f[i].v.str : "", row->line, err,
		            errlen))
			return -1;
	}
	if (row->nf && mv_add(b, row)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!row->prediction.missing) {
		const char *cls = class_name(&row->prediction, nb, sizeof(nb));
		b->pred_any = true;
		b->pred_text |= !row->prediction.is_number;
		if (!(c = col_get(b, REF_PREDICTION)) ||
		    col_add(c, &row->prediction, cls, row->line, err, errlen))
			return c ? -1 : (snprintf(err, errlen, "out of memory"), -1);
	}
	if (!row->score.missing) {
		if (!row->score.is_number || !(row->score.num >= 0 && row->score.num <= 1)) {
			snprintf(err, errlen, "score must be a probability in [0, 1]");
			return -1;
		}
		b->score_any = true;
		if (!(c = col_get(b, REF_SCORE)) ||
		    col_add(c, &row->score, "", row->line, err, errlen))
			return c ? -1 : (snprintf(err, errlen, "out of memory"), -1);
	}
	if (!row->prediction.missing && !row->score.missing && !row->label.missing) {
		/* quality.h: binary 0/1 predictions carry P(class 1) */
		double conf = row->prediction.is_number && row->prediction.num == 0
		                  ? 1.0 - row->score.num
		                  : row->score.num;
		const char *p = class_name(&row->prediction, pb, sizeof(pb));
		const char *l = class_name(&row->label, lb, sizeof(lb));
		if (add_pair(b, conf, strcmp(p, l) == 0)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	b->rows++;
	if (b->seg)
		return segb_add(b->seg, row, err, errlen);
	return 0;
}

/* The multivariate profile (issue 19): the numeric feature columns
 * (outputs and vectors left out) over the kept rows that hold all of them.
 * Fewer than two columns or MVP_ROWS_MIN complete rows: no profile.
 * Returns -1 when out of memory. */
static int mv_finish(struct refb *b, struct ref_result *out)
{
	size_t *cols = NULL, d = 0, n = 0;
	const char **names = NULL;
	double *rows = NULL;
	int rc = -1;

	cols = malloc((b->nc ? b->nc : 1) * sizeof(*cols));
	names = malloc((b->nc ? b->nc : 1) * sizeof(*names));
	if (!cols || !names)
		goto out;
	for (size_t j = 0; j < b->nc && d < MVP_COLS_MAX; j++) {
		const struct col *c = &b->c[j];
		int kind = c->cfg_kind ? c->cfg_kind : c->numbers > c->texts ? 1 : 2;
		if (c->name[0] == '@' || c->dim || kind != 1 || !c->values)
			continue;
		cols[d] = j;
		names[d++] = c->name;
	}
	rc = 0;
	if (d < 2)
		goto out;
	rc = -1;
	rows = malloc((b->nmv ? b->nmv : 1) * d * sizeof(*rows));
	if (!rows)
		goto out;
	for (size_t i = 0; i < b->nmv; i++) {
		bool all = true;
		for (size_t k = 0; k < d && all; k++) {
			double v = cols[k] < b->mvlen[i] ? b->mvrows[i][cols[k]] : NAN;
			all = isfinite(v);
			rows[n * d + k] = v;
		}
		n += all;
	}
	rc = 0;
	if (n < MVP_ROWS_MIN)
		goto out;
	rc = -1;
	struct ref_profile *p = &out->p[out->n];
	char h[64];
	p->feature = strdup(MVP_FEATURE);
	p->kind = MVP_KIND;
	p->n = n;
	p->values = n;
	p->missing = b->rows > n ? b->rows - n : 0;
	snprintf(h, sizeof(h), "{\"columns\":%zu,\"rows\":%zu}", d, n);
	out->n++;
	if (!p->feature || !(p->hist = strdup(h)) ||
	    mvp_encode(names, d, rows, n, &p->blob, &p->len))
		goto out;
	rc = 0;
out:
	free(cols);
	free(names);
	free(rows);
	return rc;
}

void ref_result_free(struct ref_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->p[i].feature);
		free(r->p[i].blob);
		free(r->p[i].hist);
	}
	free(r->p);
	free(r->calib);
	if (r->seg) {
		seg_result_free(r->seg);
		free(r->seg);
	}
	memset(r, 0, sizeof(*r));
}

int refb_finish(struct refb *b, struct ref_result *out, char *err, size_t errlen)
{
	struct jsonw j;
	int task_kind;

	memset(out, 0, sizeof(*out));
	jsonw_init(&j);
	out->rows = b->rows;
	/* The task: the config's, else a class name or a probability means
	 * classification. */
	const char *cfg_task = b->mc ? b->mc->task : NULL;
	if (cfg_task && strcmp(cfg_task, "classification") == 0)
		out->task = "classification";
	else if (cfg_task && strcmp(cfg_task, "regression") == 0)
		out->task = "regression";
	else if (b->pred_any)
		out->task = b->pred_text || b->score_any ? "classification" : "regression";
	task_kind = out->task && strcmp(out->task, "classification") == 0 ? 2 : 1;

	out->p = calloc(b->nc + 1, sizeof(*out->p)); /* + @multivariate */
	if (!out->p)
		goto oom;
	for (size_t i = 0; i < b->nc; i++) {
		struct col *c = &b->c[i];
		struct ref_profile *p = &out->p[out->n];
		struct drift_ref ref;
		int kind = c->cfg_kind;

		if (!c->values)
			continue; /* never had a value: nothing to compare with */
		if (c->dim) {
			/* a vector column: its rows as float32 (the collector
			 * builds the embedding profile when it loads them) */
			char h[64];
			p->values = c->values;
			p->missing = b->rows > c->values ? b->rows - c->values : 0;
			p->feature = strdup(c->name);
			p->kind = 3;
			p->n = c->nv;
			snprintf(h, sizeof(h), "{\"dim\":%zu,\"rows\":%zu}", c->dim, c->nv);
			out->n++;
			if (!p->feature || !(p->hist = strdup(h)) ||
			    vector_rows_encode(c->vrows, c->nv, c->dim, &p->blob, &p->len))
				goto oom;
			continue;
		}
		if (strcmp(c->name, REF_PREDICTION) == 0 && !kind)
			kind = task_kind;
		/* By majority: one '?' among 300 numbers must not make the
		 * column categorical (every live number would then be a type
		 * error); the odd cells are reported and left out instead. */
		if (!kind)
			kind = c->numbers > c->texts ? 1 : 2;
		p->values = c->values;
		p->missing = b->rows > c->values ? b->rows - c->values : 0;
		if (kind == 1) {
			if (drift_ref_numeric(&ref, c->res_init ? c->res.values : NULL,
			                      c->res_init ? c->res.len : 0, REF_SEED))
				goto oom;
			p->ignored = c->texts;
			p->odd_line = c->text_line;
			memcpy(p->odd, c->text_val, sizeof(p->odd));
		} else {
			if (drift_ref_categorical(&ref, &c->cats))
				goto oom;
		}
		p->feature = strdup(c->name);
		p->kind = kind;
		p->n = ref.n;
		if (!p->feature || drift_ref_encode(&ref, &p->blob, &p->len) ||
		    reference_hist(&ref, &j) || !(p->hist = strdup(j.buf))) {
			drift_ref_fini(&ref);
			out->n++;
			goto oom;
		}
		drift_ref_fini(&ref);
		out->n++;
	}
	if (mv_finish(b, out))
		goto oom;
	if (b->npairs && task_kind == 2) {
		struct quality_calib cal = {0};
		if (quality_calib_fit(&cal, b->conf, b->correct, b->npairs) ||
		    quality_calib_encode(&cal, &out->calib, &out->calib_len)) {
			quality_calib_fini(&cal);
			goto oom;
		}
		quality_calib_fini(&cal);
		out->calib_n = b->npairs;
	}
	if (b->seg) {
		if (!(out->seg = calloc(1, sizeof(*out->seg))))
			goto oom;
		if (segb_finish(b->seg, out->seg, err, errlen)) {
			free(out->seg);
			out->seg = NULL;
			jsonw_fini(&j);
			ref_result_free(out);
			return -1;
		}
	}
	jsonw_fini(&j);
	return 0;
oom:
	snprintf(err, errlen, "out of memory building the reference");
	jsonw_fini(&j);
	ref_result_free(out);
	return -1;
}

/* ---- histograms ---------------------------------------------------------- */

static void array_u64(struct jsonw *j, const uint64_t *v, size_t n)
{
	jsonw_char(j, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			jsonw_char(j, ',');
		jsonw_num(j, (double)v[i]);
	}
	jsonw_char(j, ']');
}

int reference_hist(const struct drift_ref *ref, struct jsonw *out)
{
	jsonw_reset(out);
	if (ref->kind == DRIFT_NUMERIC) {
		uint64_t counts[SAMPLE_BINS] = {0};
		if (ref->n)
			sample_bin_counts(ref->edges, ref->sorted, (size_t)ref->n, counts);
		jsonw_raw(out, "{\"edges\":[", 10);
		for (size_t i = 0; i + 1 < SAMPLE_BINS; i++) {
			if (i)
				jsonw_char(out, ',');
			jsonw_num(out, ref->edges[i]);
		}
		jsonw_raw(out, "],\"counts\":", 11);
		array_u64(out, counts, SAMPLE_BINS);
		jsonw_char(out, '}');
	} else {
		const struct sample_cats *t = &ref->cats;
		uint64_t counts[DRIFT_MAX_CELLS] = {0};
		size_t nc = ref->ncells;
		for (size_t c = 0; c + 1 < nc; c++)
			counts[c] = sample_cats_cell_count(t, c);
		jsonw_raw(out, "{\"cells\":[", 10);
		for (size_t c = 0; c < t->ntop; c++) {
			jsonw_str(out, t->cats[t->top[c]].name, t->cats[t->top[c]].name_len);
			jsonw_char(out, ',');
		}
		if (t->has_other)
			jsonw_raw(out, "\"other\",", 8);
		jsonw_raw(out, "\"new\"],\"counts\":", 16);
		array_u64(out, counts, nc);
		jsonw_char(out, '}');
	}
	return out->oom ? -1 : 0;
}

/* ---- CSV ------------------------------------------------------------------ */

static bool is_missing_token(const char *s)
{
	static const char *const na[] = {"",    "null", "NULL", "NA", "N/A",
	                                 "NaN", "nan",  "None", NULL};
	for (int i = 0; na[i]; i++)
		if (strcmp(s, na[i]) == 0)
			return true;
	return false;
}

/* A CSV token: missing, a finite number, or text. */
static void csv_value(const char *s, struct ref_value *v)
{
	char *end;
	memset(v, 0, sizeof(*v));
	v->str = s;
	if (is_missing_token(s)) {
		v->missing = true;
		return;
	}
	if (s[0] == '[') {
		v->is_vector = true; /* parsed by the column (col_add_vector) */
		return;
	}
	errno = 0;
	double d = strtod(s, &end);
	if (end != s && *end == '\0' && errno != ERANGE) {
		if (!isfinite(d)) {
			v->missing = true; /* inf never reaches the statistics */
			return;
		}
		v->is_number = true;
		v->num = d;
	}
}

/* Splits one record (which may span lines when a quoted field holds a
 * newline) into fields, unquoting in place. Returns the field count, or -1
 * on a malformed quote. */
static long csv_split(char *s, char ***fields, size_t *cap)
{
	size_t n = 0;
	char *w = s, *r = s;

	for (;;) {
		char *start = w;
		bool quoted = false;
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '"') {
			quoted = true;
			r++;
			for (;;) {
				if (*r == '\0')
					return -1; /* unterminated */
				if (*r == '"') {
					if (r[1] == '"') {
						*w++ = '"';
						r += 2;
						continue;
					}
					r++;
					break;
				}
				*w++ = *r++;
			}
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r != ',' && *r != '\0')
				return -1; /* text after the closing quote */
		} else {
			while (*r != ',' && *r != '\0')
				*w++ = *r++;
			/* unquoted fields lose surrounding blanks */
			while (w > start && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		(void)quoted;
		bool last = *r == '\0';
		*w++ = '\0';
		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 32;
			char **nf = realloc(*fields, ncap * sizeof(*nf));
			if (!nf)
				return -1;
			*fields = nf;
			*cap = ncap;
		}
		(*fields)[n++] = start;
		if (last)
			break;
		r++;
	}
	return (long)n;
}

static bool quotes_open(const char *s)
{
	bool open = false;
	for (; *s; s++)
		if (*s == '"')
			open = !open;
	return open;
}

/* Reads one record (joining lines inside quotes) into *buf; strips the
 * line end. Returns its length, or -1 at end of file. *lines counts the
 * physical lines consumed. */
static long read_record(FILE *f, char **buf, size_t *cap, size_t *lines, uint64_t *bytes)
{
	char *line = NULL;
	size_t lcap = 0, len = 0;
	ssize_t n;

	*lines = 0;
	for (;;) {
		n = getline(&line, &lcap, f);
		if (n < 0)
			break;
		*bytes += (uint64_t)n;
		(*lines)++;
		if (len + (size_t)n + 1 > *cap) {
			size_t ncap = (len + (size_t)n + 1) * 2;
			char *nb = realloc(*buf, ncap);
			if (!nb) {
				free(line);
				return -2;
			}
			*buf = nb;
			*cap = ncap;
		}
		memcpy(*buf + len, line, (size_t)n);
		len += (size_t)n;
		(*buf)[len] = '\0';
		if (!quotes_open(*buf))
			break;
	}
	free(line);
	if (*lines == 0)
		return -1;
	while (len && ((*buf)[len - 1] == '\n' || (*buf)[len - 1] == '\r'))
		(*buf)[--len] = '\0';
	return (long)len;
}

enum col_role { ROLE_FEATURE, ROLE_PREDICTION, ROLE_SCORE, ROLE_LABEL, ROLE_IGNORED };

int reference_read_csv(FILE *f, const char *name, struct refb *b, ref_progress_fn progress,
                       void *arg, char *err, size_t errlen)
{
	char *buf = NULL, **fields = NULL, **header = NULL, inner[256];
	size_t cap = 0, fcap = 0, lines = 0, line_no = 0;
	enum col_role *role = NULL;
	struct ref_col_value *vals = NULL;
	long nh = -1, n, len;
	uint64_t bytes = 0;
	int rc = -1;

	/* the header */
	do {
		len = read_record(f, &buf, &cap, &lines, &bytes);
		line_no += lines;
	} while (len == 0);
	if (len == -2)
		goto oom;
	if (len < 0) {
		snprintf(err, errlen, "%s: empty file (a CSV reference needs a header row)", name);
		goto out;
	}
	/* a UTF-8 byte order mark is not part of the first name */
	if ((unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
	    (unsigned char)buf[2] == 0xbf)
		memmove(buf, buf + 3, strlen(buf + 3) + 1);
	bool quoted_head = buf[strspn(buf, " \t")] == '"';
	nh = csv_split(buf, &fields, &fcap);
	if (nh <= 0) {
		snprintf(err, errlen, "%s:%zu: malformed header row", name, line_no);
		goto out;
	}
	/* A semicolon- or tab-separated file would import as one column whose
	 * values are all text: question it rather than build that. */
	if (nh == 1 && !quoted_head && strpbrk(fields[0], ";\t")) {
		bool semi = strchr(fields[0], ';') != NULL;
		char shown[200];
		/* shown safely: the header has not been validated yet */
		snprintf(shown, sizeof(shown), "%.64s", fields[0]);
		text_sanitize(inner, sizeof(inner), shown);
		snprintf(err, errlen,
		         "%s:%zu: the header '%s' is a single column holding %s: a reference CSV "
		         "is comma-separated (convert it, e.g. with tr '%s' ',', or quote the name "
		         "if the %s belongs to it)",
		         name, line_no, inner, semi ? "';'" : "a tab", semi ? ";" : "\\t",
		         semi ? "';'" : "tab");
		goto out;
	}
	header = calloc((size_t)nh, sizeof(*header));
	role = calloc((size_t)nh, sizeof(*role));
	vals = calloc((size_t)nh, sizeof(*vals));
	if (!header || !role || !vals)
		goto oom;
	for (long i = 0; i < nh; i++) {
		const char *h = fields[i];
		if (!(header[i] = strdup(h)))
			goto oom;
		role[i] = strcmp(h, "prediction") == 0                   ? ROLE_PREDICTION
		          : strcmp(h, "score") == 0                      ? ROLE_SCORE
		          : strcmp(h, "label") == 0                      ? ROLE_LABEL
		          : strcmp(h, "id") == 0 || strcmp(h, "ts") == 0 ? ROLE_IGNORED
		                                                         : ROLE_FEATURE;
		if (role[i] == ROLE_FEATURE && !event_feature_name_valid(h, strlen(h))) {
			snprintf(err, errlen,
			         "%s:%zu: column %ld: '%.64s' is not a valid feature name (1-128 "
			         "bytes of printable UTF-8, not starting with '@')",
			         name, line_no, i + 1, h);
			goto out;
		}
		for (long k = 0; k < i; k++)
			if (strcmp(header[k], h) == 0) {
				snprintf(err, errlen, "%s:%zu: column '%.64s' appears twice", name,
				         line_no, h);
				goto out;
			}
	}
	for (;;) {
		struct ref_row row = {0};
		size_t nf = 0;

		len = read_record(f, &buf, &cap, &lines, &bytes);
		line_no += lines;
		if (len == -2)
			goto oom;
		if (len < 0)
			break;
		if (len == 0)
			continue;
		n = csv_split(buf, &fields, &fcap);
		if (n < 0) {
			snprintf(err, errlen, "%s:%zu: malformed quoting", name, line_no);
			goto out;
		}
		if (n != nh) {
			snprintf(err, errlen, "%s:%zu: %ld fields where the header has %ld", name,
			         line_no, n, nh);
			goto out;
		}
		row.prediction.missing = row.score.missing = row.label.missing = true;
		for (long i = 0; i < n; i++) {
			struct ref_value v;
			csv_value(fields[i], &v);
			switch (role[i]) {
			case ROLE_FEATURE:
				vals[nf].name = header[i];
				vals[nf++].v = v;
				break;
			case ROLE_PREDICTION:
				row.prediction = v;
				break;
			case ROLE_SCORE:
				row.score = v;
				break;
			case ROLE_LABEL:
				row.label = v;
				break;
			default:
				break;
			}
		}
		row.f = vals;
		row.nf = nf;
		row.line = line_no;
		if (refb_add(b, &row, inner, sizeof(inner))) {
			snprintf(err, errlen, "%s:%zu: %s", name, line_no, inner);
			goto out;
		}
		if (progress && (refb_rows(b) & 4095) == 0)
			progress(bytes, refb_rows(b), arg);
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
		goto out;
	}
	if (progress)
		progress(bytes, refb_rows(b), arg);
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory reading %s", name);
out:
	for (long i = 0; header && i < nh; i++)
		free(header[i]);
	free(header);
	free(role);
	free(vals);
	free(fields);
	free(buf);
	return rc;
}

/* ---- JSONL ------------------------------------------------------------------- */

/* A JSON value as a reference value; numbers keep their text form for
 * the categorical fallback in nbuf. Returns -1 for objects and arrays. */
static int json_value(const cJSON *it, struct ref_value *v, char *nbuf, size_t cap)
{
	memset(v, 0, sizeof(*v));
	if (!it || cJSON_IsNull(it)) {
		v->missing = true;
	} else if (cJSON_IsNumber(it)) {
		if (!isfinite(it->valuedouble)) {
			v->missing = true;
			return 0;
		}
		v->is_number = true;
		v->num = it->valuedouble;
		jsonw_format_double(nbuf, cap, v->num);
		v->str = nbuf;
	} else if (cJSON_IsString(it)) {
		v->str = it->valuestring;
	} else if (cJSON_IsBool(it)) {
		v->str = cJSON_IsTrue(it) ? "true" : "false";
	} else if (cJSON_IsArray(it)) {
		v->is_vector = true;
		v->vec_json = it;
		v->str = "";
	} else {
		return -1;
	}
	return 0;
}

struct numbufs {
	char (*b)[40];
	size_t cap;
};

static int json_row(const cJSON *o, struct refb *b, struct ref_col_value **vals, size_t *vcap,
                    struct numbufs *nb, size_t line, char *err, size_t errlen)
{
	const cJSON *feats = cJSON_GetObjectItemCaseSensitive(o, "features"), *it;
	struct ref_row row = {0};
	char pn[40], sn[40], ln[40];
	size_t n = 0;

	if (feats && !cJSON_IsObject(feats) && !cJSON_IsNull(feats)) {
		snprintf(err, errlen, "features must be an object");
		return -1;
	}
	cJSON_ArrayForEach(it, feats)
	{
		if (!it->string || !event_feature_name_valid(it->string, strlen(it->string))) {
			snprintf(err, errlen, "features: '%.64s' is not a valid feature name",
			         it->string ? it->string : "");
			return -1;
		}
		if (n == *vcap || n == nb->cap) {
			size_t ncap = (*vcap > nb->cap ? *vcap : nb->cap) * 2 + 16;
			struct ref_col_value *nv = realloc(*vals, ncap * sizeof(*nv));
			char(*nbb)[40] = realloc(nb->b, ncap * sizeof(*nbb));
			if (nv)
				*vals = nv;
			if (nbb)
				nb->b = nbb;
			if (!nv || !nbb) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			*vcap = nb->cap = ncap;
		}
		(*vals)[n].name = it->string;
		if (json_value(it, &(*vals)[n].v, nb->b[n], sizeof(nb->b[n]))) {
			snprintf(
			    err, errlen,
			    "features.%.64s: must be a number, string, boolean, array of numbers "
			    "or null",
			    it->string);
			return -1;
		}
		n++;
	}
	row.f = *vals;
	row.nf = n;
	row.line = line;
	if (json_value(cJSON_GetObjectItemCaseSensitive(o, "prediction"), &row.prediction, pn,
	               sizeof(pn)) ||
	    json_value(cJSON_GetObjectItemCaseSensitive(o, "score"), &row.score, sn, sizeof(sn)) ||
	    json_value(cJSON_GetObjectItemCaseSensitive(o, "label"), &row.label, ln, sizeof(ln))) {
		snprintf(err, errlen, "prediction, score and label must be numbers or strings");
		return -1;
	}
	return refb_add(b, &row, err, errlen);
}

int reference_read_jsonl(FILE *f, const char *name, struct refb *b, ref_progress_fn progress,
                         void *arg, char *err, size_t errlen)
{
	char *line = NULL, inner[256];
	size_t cap = 0, line_no = 0, vcap = 0;
	struct ref_col_value *vals = NULL;
	struct numbufs nb = {0};
	uint64_t bytes = 0;
	ssize_t n;
	int rc = -1;

	while ((n = getline(&line, &cap, f)) >= 0) {
		cJSON *o;
		const char *p = line;
		line_no++;
		bytes += (uint64_t)n;
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		o = cJSON_ParseWithLength(line, (size_t)n);
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			snprintf(err, errlen, "%s:%zu: not a JSON object", name, line_no);
			goto out;
		}
		if (json_row(o, b, &vals, &vcap, &nb, line_no, inner, sizeof(inner))) {
			cJSON_Delete(o);
			snprintf(err, errlen, "%s:%zu: %s", name, line_no, inner);
			goto out;
		}
		cJSON_Delete(o);
		if (progress && (refb_rows(b) & 4095) == 0)
			progress(bytes, refb_rows(b), arg);
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
		goto out;
	}
	if (progress)
		progress(bytes, refb_rows(b), arg);
	rc = 0;
out:
	free(line);
	free(vals);
	free(nb.b);
	return rc;
}

/* ---- stored events -------------------------------------------------------------- */

struct stored_ctx {
	struct refb *b;
	struct ref_col_value *vals;
	size_t vcap;
	struct numbufs nb;
	/* a row's feature names, strings and vectors, copied out of the blob
	 * iterator (whose buffers the next feature overwrites) */
	uint8_t *pool;
	size_t pool_cap;
	char *err;
	size_t errlen;
	int rc;
};

static void stored_value(const struct value *v, struct ref_value *out, char *buf, size_t cap)
{
	memset(out, 0, sizeof(*out));
	if (v->kind == VALUE_NONE) {
		out->missing = true;
	} else if (v->kind == VALUE_NUMBER) {
		out->is_number = true;
		out->num = v->num;
		jsonw_format_double(buf, cap, v->num);
		out->str = buf;
	} else {
		out->str = v->str;
	}
}

/* Room for n features in the row's arrays; -1 when out of memory. */
static int stored_room(struct stored_ctx *s, size_t n)
{
	size_t ncap;

	if (n <= s->vcap && n <= s->nb.cap)
		return 0;
	ncap = n + 16;
	struct ref_col_value *nv = realloc(s->vals, ncap * sizeof(*nv));
	if (nv)
		s->vals = nv;
	char(*nbb)[40] = realloc(s->nb.b, ncap * sizeof(*nbb));
	if (nbb)
		s->nb.b = nbb;
	if (!nv || !nbb)
		return -1;
	s->vcap = s->nb.cap = ncap;
	return 0;
}

/* Copies n bytes to the pool at *used (aligned to 4 for floats). */
static void *pool_put(struct stored_ctx *s, size_t *used, const void *p, size_t n, bool align)
{
	void *at;

	if (align)
		*used = (*used + 3) & ~(size_t)3;
	at = s->pool + *used;
	memcpy(at, p, n);
	*used += n;
	return at;
}

static int stored_cb(const struct store_raw_event *e, void *arg)
{
	struct stored_ctx *s = arg;
	struct value score = {e->has_score ? VALUE_NUMBER : VALUE_NONE, e->score, NULL};
	char pn[40], sn[40], ln[40];
	struct ref_row r = {0};
	struct featcodec_it it;
	size_t n = 0, used = 0;

	stored_value(&e->prediction, &r.prediction, pn, sizeof(pn));
	stored_value(&score, &r.score, sn, sizeof(sn));
	stored_value(&e->label, &r.label, ln, sizeof(ln));
	/* stored rows were validated on the way in and by the reader: an
	 * unreadable one counts without features, as before */
	if (e->features && featcodec_begin(&it, e->features, e->features_len, NULL) == 0) {
		/* what is copied out is at most the blob plus a NUL or 3 bytes
		 * of alignment per feature */
		size_t need = e->features_len + 4 * it.count + 8;
		if (stored_room(s, it.count)) {
			snprintf(s->err, s->errlen, "out of memory");
			s->rc = -1;
			return 1;
		}
		if (need > s->pool_cap) {
			uint8_t *np = realloc(s->pool, need);
			if (!np) {
				snprintf(s->err, s->errlen, "out of memory");
				s->rc = -1;
				return 1;
			}
			s->pool = np;
			s->pool_cap = need;
		}
		while (featcodec_next(&it, NULL) == 1) {
			struct ref_value *v = &s->vals[n].v;
			memset(v, 0, sizeof(*v));
			s->vals[n].name = pool_put(s, &used, it.name, strlen(it.name) + 1, false);
			if (it.kind == FEATURE_NUMERIC) {
				v->is_number = true;
				v->num = it.num;
				jsonw_format_double(s->nb.b[n], sizeof(s->nb.b[n]), it.num);
				v->str = s->nb.b[n];
			} else if (it.kind == FEATURE_CATEGORICAL) {
				v->str = pool_put(s, &used, it.str, it.str_len + 1, false);
			} else if (it.kind == FEATURE_VECTOR) {
				float *f = pool_put(s, &used, it.vec, it.dim * sizeof(float), true);
				featcodec_vec(&it, f); /* byte order and alignment */
				v->is_vector = true;
				v->vec = f;
				v->vec_dim = it.dim;
				v->str = "";
			} else {
				v->missing = true;
			}
			n++;
		}
	}
	r.f = s->vals;
	r.nf = n;
	if (refb_add(s->b, &r, s->err, s->errlen)) {
		s->rc = -1;
		return 1;
	}
	return 0;
}

int reference_read_stored(struct store *st, const char *model, double from, double to,
                          struct refb *b, char *err, size_t errlen)
{
	struct store_ingest *si = store_ingest_new(st);
	struct stored_ctx s = {b, NULL, 0, {0}, NULL, 0, err, errlen, 0};
	int64_t id;
	int rc = -1;

	if (!si) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = store_ingest_model_lookup(si, model, &id);
	if (rc != 0) {
		snprintf(err, errlen, rc > 0 ? "no model '%.64s' in %s" : "%.64s: %s", model,
		         rc > 0 ? st->path : store_errmsg(st));
		rc = -1;
		goto out;
	}
	rc = store_ingest_range_events(si, id, from, to, stored_cb, &s);
	if (rc < 0 && !s.rc)
		snprintf(err, errlen, "%s: %s", st->path, store_errmsg(st));
	rc = rc < 0 || s.rc ? -1 : 0;
out:
	free(s.vals);
	free(s.nb.b);
	free(s.pool);
	store_ingest_free(si);
	return rc;
}

/* ---- storing ------------------------------------------------------------------------ */

int reference_store(struct store *st, const char *model, const struct ref_result *r, double now,
                    int64_t dirty_from, char *err, size_t errlen)
{
	struct store_ingest *si = store_ingest_new(st);
	int64_t id;
	int rc = -1;

	if (!si) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (store_begin(st))
		goto fail;
	/* thresholds calibrated from the old reference go with it */
	if (store_ingest_model(si, model, now, &id) || store_ingest_reference_clear(si, id) ||
	    store_refcal_clear(st, id))
		goto fail_tx;
	for (size_t i = 0; i < r->n; i++) {
		const struct ref_profile *p = &r->p[i];
		if (store_ingest_reference_put(si, id, p->feature, p->kind, p->n, p->blob, p->len,
		                               p->hist, now) ||
		    store_ingest_feature_set(si, id, p->feature, p->kind, "reference", true))
			goto fail_tx;
	}
	if (r->calib &&
	    store_ingest_calibration_put(si, id, r->calib, r->calib_len, r->calib_n, now))
		goto fail_tx;
	if (r->task && store_ingest_model_set_task(si, id, r->task))
		goto fail_tx;
	/* A reference without segments removes older segment profiles. */
	if (segments_store(st, id, r->seg))
		goto fail_tx;
	if (store_ingest_mark_dirty(si, id, dirty_from) || store_commit(st))
		goto fail_tx;
	rc = 0;
	goto out;
fail_tx:
	snprintf(err, errlen, "%s: cannot store the reference: %s", st->path, store_errmsg(st));
	store_rollback(st);
	goto out;
fail:
	snprintf(err, errlen, "%s: %s", st->path, store_errmsg(st));
out:
	store_ingest_free(si);
	return rc;
}
