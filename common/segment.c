/* segment: see segment.h. */
#include "segment.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "featcodec.h"
#include "jsonw.h"
#include "reference.h"
#include "text.h"

size_t segment_top_k(const struct model_config *mc)
{
	return mc && mc->segment_top_k > 0 ? (size_t)mc->segment_top_k : SEGMENT_TOP_K_DEFAULT;
}

static const char *checked(const char *s)
{
	size_t n = strlen(s);
	return n && n <= STORE_SEGMENT_MAX && text_printable(s, n) ? s : NULL;
}

const char *segment_of_json(const struct cJSON *features, const char *key, char *buf, size_t cap)
{
	const cJSON *it = features ? cJSON_GetObjectItemCaseSensitive(features, key) : NULL;

	if (cJSON_IsString(it))
		return checked(it->valuestring);
	if (cJSON_IsNumber(it)) {
		jsonw_format_double(buf, cap, it->valuedouble);
		return checked(buf);
	}
	if (cJSON_IsBool(it))
		return cJSON_IsTrue(it) ? "true" : "false";
	return NULL;
}

const char *segment_of_blob(const uint8_t *blob, size_t len, const char *key, char *buf, size_t cap)
{
	struct featcodec_it it;

	if (!blob || featcodec_begin(&it, blob, len, NULL))
		return NULL;
	while (featcodec_next(&it, NULL) == 1) {
		if (strcmp(it.name, key) != 0)
			continue;
		if (it.kind == FEATURE_CATEGORICAL) {
			if (it.str_len >= cap)
				return NULL; /* longer than any segment value */
			memcpy(buf, it.str, it.str_len + 1);
			return checked(buf);
		}
		if (it.kind == FEATURE_NUMERIC) {
			jsonw_format_double(buf, cap, it.num);
			return checked(buf);
		}
		return NULL;
	}
	return NULL;
}

int segment_parse(const char *text, bool allow_all, char *key, size_t kcap, char *value,
                  size_t vcap, char *err, size_t errlen)
{
	const char *eq = strchr(text, '=');
	size_t kn, vn;

	if (!eq) {
		snprintf(err, errlen, "'%.80s' is not KEY=VALUE (e.g. country=DE)", text);
		return -1;
	}
	kn = (size_t)(eq - text);
	vn = strlen(eq + 1);
	if (kn == 0 || kn > 128 || kn >= kcap || !text_printable(text, kn)) {
		snprintf(err, errlen,
		         "bad segment key in '%.80s' (1 to 128 bytes of printable text)", text);
		return -1;
	}
	if (vn == 0 || vn > STORE_SEGMENT_MAX || vn >= vcap || !text_printable(eq + 1, vn)) {
		snprintf(err, errlen,
		         "bad segment value in '%.80s' (1 to %d bytes of printable text)", text,
		         STORE_SEGMENT_MAX);
		return -1;
	}
	if (!allow_all && strcmp(eq + 1, "*") == 0) {
		snprintf(err, errlen, "'%.80s': '*' (every segment) is not allowed here", text);
		return -1;
	}
	memcpy(key, text, kn);
	key[kn] = '\0';
	memcpy(value, eq + 1, vn + 1);
	return 0;
}

/* ---- the reference builder -------------------------------------------------- */

struct segb_val {
	char *name;
	uint64_t rows;
	struct refb *b;
};

struct segb {
	const struct model_config *mc;
	size_t k;
	struct segb_val *v;
	size_t n, cap;
	struct refb *rest; /* values beyond SEGMENT_TRACK_MAX and rows without one */
	uint64_t rest_rows;
};

struct segb *segb_new(const struct model_config *mc, bool *oom)
{
	struct segb *s;

	*oom = false;
	if (!mc || !mc->segment_by)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		*oom = true;
		return NULL;
	}
	s->mc = mc;
	s->k = segment_top_k(mc);
	return s;
}

void segb_free(struct segb *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		refb_free(s->v[i].b);
	}
	free(s->v);
	refb_free(s->rest);
	free(s);
}

/* The row's value of the key, as segment_of_json names it. */
static const char *row_segment(const struct segb *s, const struct ref_row *row, char *buf,
                               size_t cap)
{
	for (size_t i = 0; i < row->nf; i++) {
		const struct ref_value *v = &row->f[i].v;
		if (strcmp(row->f[i].name, s->mc->segment_by) != 0)
			continue;
		if (v->missing)
			return NULL;
		if (v->is_number) {
			jsonw_format_double(buf, cap, v->num);
			return checked(buf);
		}
		return v->str ? checked(v->str) : NULL;
	}
	return NULL;
}

int segb_add(struct segb *s, const struct ref_row *row, char *err, size_t errlen)
{
	char buf[64];
	const char *name = row_segment(s, row, buf, sizeof(buf));
	struct refb *b = NULL;

	if (name) {
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->v[i].name, name) == 0) {
				s->v[i].rows++;
				b = s->v[i].b;
				break;
			}
		if (!b && s->n < SEGMENT_TRACK_MAX) {
			if (s->n == s->cap) {
				size_t ncap = s->cap ? s->cap * 2 : 16;
				struct segb_val *nv = realloc(s->v, ncap * sizeof(*nv));
				if (!nv)
					goto oom;
				s->v = nv;
				s->cap = ncap;
			}
			s->v[s->n].name = strdup(name);
			s->v[s->n].b = refb_new_flat(s->mc);
			s->v[s->n].rows = 1;
			if (!s->v[s->n].name || !s->v[s->n].b) {
				free(s->v[s->n].name);
				refb_free(s->v[s->n].b);
				goto oom;
			}
			b = s->v[s->n++].b;
		}
	}
	if (!b) {
		if (!s->rest && !(s->rest = refb_new_flat(s->mc)))
			goto oom;
		s->rest_rows++;
		b = s->rest;
	}
	return refb_add(b, row, err, errlen);
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int by_rows(const void *pa, const void *pb)
{
	const struct segb_val *a = pa, *b = pb;
	if (a->rows != b->rows)
		return a->rows > b->rows ? -1 : 1;
	return strcmp(a->name, b->name);
}

void seg_result_free(struct seg_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		if (r->v[i].r) {
			ref_result_free(r->v[i].r);
			free(r->v[i].r);
		}
	}
	free(r->v);
	free(r->key);
	memset(r, 0, sizeof(*r));
}

static int finish_one(struct seg_result *out, const char *name, uint64_t rows, struct refb *b,
                      char *err, size_t errlen)
{
	struct seg_one *o = &out->v[out->n];

	memset(o, 0, sizeof(*o));
	o->rows = rows;
	o->name = strdup(name);
	o->r = calloc(1, sizeof(*o->r));
	if (!o->name || !o->r) {
		free(o->name);
		free(o->r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (refb_finish(b, o->r, err, errlen)) {
		free(o->name);
		free(o->r);
		return -1;
	}
	out->n++;
	return 0;
}

int segb_finish(struct segb *s, struct seg_result *out, char *err, size_t errlen)
{
	size_t top;

	memset(out, 0, sizeof(*out));
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), by_rows);
	top = s->n < s->k ? s->n : s->k;
	/* The values beyond the top K join the rest: "other" is every row
	 * the named segments do not hold. */
	for (size_t i = top; i < s->n; i++) {
		if (!s->rest && !(s->rest = refb_new_flat(s->mc)))
			goto oom;
		if (refb_merge(s->rest, s->v[i].b))
			goto oom;
		s->rest_rows += s->v[i].rows;
	}
	out->key = strdup(s->mc->segment_by);
	out->v = calloc(top + 1, sizeof(*out->v));
	if (!out->key || !out->v)
		goto oom;
	for (size_t i = 0; i < top; i++)
		if (finish_one(out, s->v[i].name, s->v[i].rows, s->v[i].b, err, errlen))
			goto fail;
	if (s->rest && s->rest_rows &&
	    finish_one(out, STORE_SEGMENT_OTHER, s->rest_rows, s->rest, err, errlen))
		goto fail;
	return 0;
oom:
	snprintf(err, errlen, "out of memory building the segment profiles");
fail:
	seg_result_free(out);
	return -1;
}

int segments_store(struct store *st, int64_t model_id, const struct seg_result *r)
{
	if (store_seg_ref_clear(st, model_id))
		return -1;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct ref_result *rr = r->v[i].r;
		for (size_t k = 0; k < rr->n; k++)
			if (store_seg_ref_put(st, model_id, r->key, r->v[i].name, rr->p[k].feature,
			                      rr->p[k].kind, rr->p[k].n, r->v[i].rows,
			                      rr->p[k].blob, rr->p[k].len))
				return -1;
	}
	return 0;
}
