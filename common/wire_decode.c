/* wire_decode: see wire_decode.h. */
#include "wire_decode.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "text.h"
#include "vector.h"
#include "wire.h"

/* ---- the protobuf wire format, as protobuf-c 1.4.1 scans it ------------- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Results of the scanners below. */
enum { D_OK = 0, D_INVALID = -1, D_NOMEM = -2 };

/* One field of a message. */
struct pbf {
	uint32_t num; /* field number */
	unsigned wt;  /* wire type */
	/* Everything after the tag (a varint's bytes, the fixed bytes, or a
	 * length prefix and its payload): protobuf-c reads a bool from all of
	 * it, whatever the wire type. */
	const uint8_t *raw;
	size_t raw_len;
	const uint8_t *p; /* WT_LEN: the payload */
	size_t n;
	uint64_t u; /* WT_VARINT: the value; WT_I64: the 8 bytes, little-endian */
};

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static inline double as_double(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Reads the field at *pos (before end) into f and moves *pos past it.
 * Returns D_OK or D_INVALID. The limits are protobuf-c's: a tag of at most
 * 5 bytes whose first byte is not a bare field number 0, a varint of at
 * most 10 bytes, a length of at most 5 bytes and within the message. */
static int pb_next_any(const uint8_t **pos, const uint8_t *end, struct pbf *f)
{
	const uint8_t *p = *pos;
	size_t rem = (size_t)(end - p), i;

	if ((p[0] & 0xf8) == 0)
		return D_INVALID;
	f->wt = p[0] & 7;
	f->num = (uint32_t)(p[0] & 0x7f) >> 3;
	if (p[0] & 0x80) {
		size_t max = rem < 5 ? rem : 5;
		unsigned shift = 4;
		for (i = 1; i < max && (p[i] & 0x80); i++, shift += 7)
			f->num |= (uint32_t)(p[i] & 0x7f) << shift;
		if (i == max)
			return D_INVALID;
		f->num |= (uint32_t)p[i] << shift;
		p += i + 1;
	} else {
		p++;
	}
	rem = (size_t)(end - p);
	f->raw = p;
	switch (f->wt) {
	case WT_VARINT: {
		size_t max = rem < 10 ? rem : 10;
		uint64_t v = 0;
		for (i = 0; i < max; i++) {
			v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
			if (!(p[i] & 0x80))
				break;
		}
		if (i == max)
			return D_INVALID;
		f->u = v;
		f->raw_len = i + 1;
		break;
	}
	case WT_I64:
		if (rem < 8)
			return D_INVALID;
		f->u = le64(p);
		f->raw_len = 8;
		break;
	case WT_LEN: {
		size_t max = rem < 5 ? rem : 5;
		uint64_t v = 0;
		if (max && p[0] < 0x80) { /* nearly every length: one byte */
			v = p[0];
			i = 0;
		} else {
			for (i = 0; i < max; i++) {
				v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
				if (!(p[i] & 0x80))
					break;
			}
			if (i == max || v > INT_MAX)
				return D_INVALID;
		}
		if (v > rem - (i + 1))
			return D_INVALID;
		f->p = p + i + 1;
		f->n = (size_t)v;
		f->raw_len = i + 1 + (size_t)v;
		break;
	}
	case WT_I32:
		if (rem < 4)
			return D_INVALID;
		f->raw_len = 4;
		break;
	default: /* groups (3, 4) and 6, 7 */
		return D_INVALID;
	}
	*pos = p + f->raw_len;
	return D_OK;
}

/* pb_next_any for nearly every field of a batch, inline: a one-byte tag
 * and a double, or a one-byte tag and length. */
static inline int pb_next(const uint8_t **pos, const uint8_t *end, struct pbf *f)
{
	const uint8_t *p = *pos;
	size_t rem = (size_t)(end - p);

	if (rem >= 2 && p[0] < 0x80 && p[0] >= 0x08) {
		unsigned wt = p[0] & 7;
		if (wt == WT_LEN && p[1] < 0x80) {
			size_t n = p[1];
			if (n > rem - 2)
				return D_INVALID;
			f->num = p[0] >> 3;
			f->wt = WT_LEN;
			f->raw = p + 1;
			f->raw_len = n + 1;
			f->p = p + 2;
			f->n = n;
			*pos = p + 2 + n;
			return D_OK;
		}
		if (wt == WT_I64 && rem >= 9) {
			f->num = p[0] >> 3;
			f->wt = WT_I64;
			f->raw = p + 1;
			f->raw_len = 8;
			f->u = le64(p + 1);
			*pos = p + 9;
			return D_OK;
		}
	}
	return pb_next_any(pos, end, f);
}

/* protobuf-c's parse_boolean: true when any byte after the tag has a bit
 * besides the continuation bit, whatever the wire type. */
static bool pb_bool(const struct pbf *f)
{
	for (size_t i = 0; i < f->raw_len; i++)
		if (f->raw[i] & 0x7f)
			return true;
	return false;
}

/* ---- strings --------------------------------------------------------------
 * A string field's bytes in the buffer (p NULL: absent). protobuf-c copies
 * them and a NUL, so C code sees a string up to its first NUL. Every check
 * below rejects a NUL byte: a string that passes whole has none, and one
 * that fails is checked again up to its first NUL (str_cut), as its copy
 * would read. */
struct str {
	const char *p;
	size_t n;
};

static inline struct str str_of(const struct pbf *f)
{
	return (struct str){(const char *)f->p, f->n};
}

static bool str_cut(struct str *s)
{
	const char *z = s->n ? memchr(s->p, 0, s->n) : NULL;
	if (!z)
		return false;
	s->n = (size_t)(z - s->p);
	return true;
}

#define STR_VALID(check, s) ((check)((s)->p, (s)->n) || (str_cut(s) && (check)((s)->p, (s)->n)))

static bool category_ok(const char *s, size_t n)
{
	return n <= EVENT_CATEGORY_MAX && text_printable(s, n);
}

static bool version_ok(const char *s, size_t n)
{
	return n <= EVENT_VERSION_MAX && text_printable(s, n);
}

static bool agent_id_ok(const char *s, size_t n)
{
	return n >= 1 && n <= WIRE_AGENT_ID_MAX && text_printable(s, n);
}

/* Copies s into the pool (its NUL included) and returns the copy. */
static inline const char *pool_put(char **pool, const struct str *s)
{
	char *d = *pool;
	memcpy(d, s->p, s->n);
	d[s->n] = '\0';
	*pool += s->n + 1;
	return d;
}

static int bad(struct wire_batch *b, const char *fmt, const char *what, size_t i)
{
	if (b->n_invalid++ == 0)
		snprintf(b->first_invalid, sizeof(b->first_invalid), fmt, what, i);
	return -1;
}

/* ---- Value ------------------------------------------------------------- */

struct vscan {
	bool seen;
	int kind; /* VALUE_NONE, VALUE_NUMBER, VALUE_STRING */
	double num;
	struct str s;
};

/* A Value (oneof num = 1, str = 2) merged into v: the last member set
 * wins across every copy of the field. protobuf-c fails to merge two
 * copies when neither has a member set. */
static int value_scan(const uint8_t *p, size_t n, struct vscan *v)
{
	const uint8_t *end = p + n;
	struct vscan got = {.seen = true};
	struct pbf f;

	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		if (f.num == 1) {
			if (f.wt != WT_I64)
				return D_INVALID;
			got.kind = VALUE_NUMBER;
			got.num = as_double(f.u);
		} else if (f.num == 2) {
			if (f.wt != WT_LEN)
				return D_INVALID;
			got.kind = VALUE_STRING;
			got.s = str_of(&f);
		}
	}
	if (got.kind != VALUE_NONE)
		*v = got;
	else if (v->seen && v->kind == VALUE_NONE)
		return D_INVALID;
	v->seen = true;
	return D_OK;
}

/* value_from_pb of wire.c: -1 when set but invalid. A string known to be
 * valid (checked before: known) is not checked again; out->str is left to
 * the caller. */
static int value_check(struct vscan *v, const char *known, struct value *out)
{
	memset(out, 0, sizeof(*out));
	if (v->kind == VALUE_NUMBER) {
		if (!isfinite(v->num))
			return -1;
		out->kind = VALUE_NUMBER;
		out->num = v->num;
	} else if (v->kind == VALUE_STRING) {
		if (!known && !STR_VALID(category_ok, &v->s))
			return -1;
		out->kind = VALUE_STRING;
	}
	return 0;
}

static size_t value_pool_len(const struct vscan *v)
{
	return v->kind == VALUE_STRING ? v->s.n + 1 : 0;
}

/* ---- Event ------------------------------------------------------------- */

struct fscan {
	struct str name;
	int kind; /* enum feature_kind */
	double num;
	struct str s;               /* a category's text or a vector's bytes */
	const char *name_c, *cat_c; /* event_build: copies already checked */
};

struct sscan {
	struct str cls;
	double p;
	const char *cls_c;
};

struct escan {
	struct str model, version, id, finish;
	double ts, latency, score, ttft, tpot;
	uint64_t in_tok, out_tok;
	bool has_latency, has_error, error, has_score, has_in, has_out, has_ttft, has_tpot;
	struct vscan pred, label;
	/* All of them; the first EVENT_*_MAX are kept in the decoder (more
	 * make the event invalid, but are still scanned: a malformed one
	 * makes the whole batch invalid). */
	size_t n_features, n_scores;
};

/* A string an earlier event of the batch had in the same place (its
 * model, its k-th feature's name, ...): its bytes in the buffer and the
 * checked copy made of them. The events of a batch repeat most of these:
 * the same bytes get the same copy, shared (strings are const and live as
 * long as the batch) without checking or copying them again. */
struct seen {
	const char *p;
	size_t n;
	const char *copy;
};

#define SEEN_FEATURES 32
#define SEEN_SCORES   8

/* Per decode: room for one event's features and scores, and the strings
 * seen. */
struct dctx {
	struct wire_batch *b;
	struct fscan *feat; /* EVENT_FEATURES_MAX, then EVENT_SCORES_MAX scores */
	struct sscan *score;
	const char *end; /* of the buffer */
	struct seen model, pred, label;
	struct seen fname[SEEN_FEATURES], fcat[SEEN_FEATURES], cls[SEEN_SCORES];
};

/* The copy of v seen in s, or NULL. */
static inline const char *seen_get(const struct seen *s, const struct str *v, const char *end)
{
	if (!s->copy || s->n != v->n)
		return NULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* most names and categories: up to 8 bytes, compared in one load
	 * each (the bytes after them are still in the buffer) */
	if (v->n <= 8 && end - s->p >= 8 && end - v->p >= 8) {
		uint64_t x, y, mask = v->n == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * v->n)) - 1;
		memcpy(&x, s->p, 8);
		memcpy(&y, v->p, 8);
		return ((x ^ y) & mask) == 0 ? s->copy : NULL;
	}
#endif
	return memcmp(s->p, v->p, v->n) == 0 ? s->copy : NULL;
}

static inline void seen_put(struct seen *s, const struct str *raw, const char *copy)
{
	s->p = raw->p;
	s->n = raw->n;
	s->copy = copy;
}

/* A Value's string seen in the same place before, or NULL. */
static const char *value_seen(const struct seen *s, const struct vscan *v, const char *end)
{
	return v->kind == VALUE_STRING ? seen_get(s, &v->s, end) : NULL;
}

static int feature_scan(const uint8_t *p, size_t n, struct fscan *fs)
{
	const uint8_t *end = p + n;
	bool named = false;
	struct pbf f;

	fs->kind = FEATURE_MISSING;
	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		switch (f.num) {
		case 1:
			if (f.wt != WT_LEN)
				return D_INVALID;
			fs->name = str_of(&f);
			named = true;
			break;
		case 2:
			if (f.wt != WT_I64)
				return D_INVALID;
			fs->kind = FEATURE_NUMERIC;
			fs->num = as_double(f.u);
			break;
		case 3:
		case 4:
			if (f.wt != WT_LEN)
				return D_INVALID;
			fs->kind = f.num == 3 ? FEATURE_CATEGORICAL : FEATURE_VECTOR;
			fs->s = str_of(&f);
			break;
		}
	}
	return named ? D_OK : D_INVALID;
}

static int score_scan(const uint8_t *p, size_t n, struct sscan *ss)
{
	const uint8_t *end = p + n;
	unsigned req = 0;
	struct pbf f;

	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		if (f.num == 1) {
			if (f.wt != WT_LEN)
				return D_INVALID;
			ss->cls = str_of(&f);
			req |= 1;
		} else if (f.num == 2) {
			if (f.wt != WT_I64)
				return D_INVALID;
			ss->p = as_double(f.u);
			req |= 2;
		}
	}
	return req == 3 ? D_OK : D_INVALID;
}

static int scratch_alloc(struct dctx *c)
{
	if (c->feat)
		return D_OK;
	c->feat =
	    malloc(EVENT_FEATURES_MAX * sizeof(*c->feat) + EVENT_SCORES_MAX * sizeof(*c->score));
	if (!c->feat)
		return D_NOMEM;
	c->score = (struct sscan *)(c->feat + EVENT_FEATURES_MAX);
	return D_OK;
}

/* Scans one Event message into e (features and scores into c). */
static int event_scan(struct dctx *c, const uint8_t *p, size_t n, struct escan *e)
{
	const uint8_t *end = p + n;
	unsigned req = 0;
	struct pbf f;
	int rc;

	/* what is read without its field having been seen (not a memset: an
	 * event is scanned in a few hundred cycles) */
	e->model.p = e->version.p = e->id.p = e->finish.p = NULL;
	e->has_latency = e->has_error = e->error = e->has_score = false;
	e->has_in = e->has_out = e->has_ttft = e->has_tpot = false;
	e->pred.seen = e->label.seen = false;
	e->pred.kind = e->label.kind = VALUE_NONE;
	e->n_features = e->n_scores = 0;
	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		switch (f.num) {
		case 1:  /* model, required */
		case 2:  /* version */
		case 3:  /* id */
		case 16: /* finish_reason */
			if (f.wt != WT_LEN)
				return D_INVALID;
			if (f.num == 1) {
				e->model = str_of(&f);
				req |= 1;
			} else {
				*(f.num == 2   ? &e->version
				  : f.num == 3 ? &e->id
				               : &e->finish) = str_of(&f);
			}
			break;
		case 4: /* ts, required */
			if (f.wt != WT_I64)
				return D_INVALID;
			e->ts = as_double(f.u);
			req |= 2;
			break;
		case 5:
		case 9:
		case 14:
		case 15: {
			if (f.wt != WT_I64)
				return D_INVALID;
			double d = as_double(f.u);
			if (f.num == 5) {
				e->latency = d;
				e->has_latency = true;
			} else if (f.num == 9) {
				e->score = d;
				e->has_score = true;
			} else if (f.num == 14) {
				e->ttft = d;
				e->has_ttft = true;
			} else {
				e->tpot = d;
				e->has_tpot = true;
			}
			break;
		}
		case 6: /* bool: no wire type check in protobuf-c */
			e->error = pb_bool(&f);
			e->has_error = true;
			break;
		case 7: {
			struct fscan spare, *fs = &spare;
			if (f.wt != WT_LEN)
				return D_INVALID;
			if (e->n_features < EVENT_FEATURES_MAX) {
				if ((rc = scratch_alloc(c)))
					return rc;
				fs = &c->feat[e->n_features];
			}
			if (feature_scan(f.p, f.n, fs))
				return D_INVALID;
			e->n_features++;
			break;
		}
		case 8:
		case 11:
			if (f.wt != WT_LEN ||
			    value_scan(f.p, f.n, f.num == 8 ? &e->pred : &e->label))
				return D_INVALID;
			break;
		case 10: {
			struct sscan spare, *ss = &spare;
			if (f.wt != WT_LEN)
				return D_INVALID;
			if (e->n_scores < EVENT_SCORES_MAX) {
				if ((rc = scratch_alloc(c)))
					return rc;
				ss = &c->score[e->n_scores];
			}
			if (score_scan(f.p, f.n, ss))
				return D_INVALID;
			e->n_scores++;
			break;
		}
		case 12:
		case 13:
			if (f.wt != WT_VARINT)
				return D_INVALID;
			if (f.num == 12) {
				e->in_tok = f.u;
				e->has_in = true;
			} else {
				e->out_tok = f.u;
				e->has_out = true;
			}
			break;
		default: /* unknown: skipped */
			break;
		}
	}
	return req == 3 ? D_OK : D_INVALID;
}

/* Validates a scanned event and builds ev from it: event_from_pb of wire.c,
 * check for check and message for message (a string seen before in the
 * same place passed its check then). Returns 0 or -1 (counted). */
static int event_build(struct dctx *c, size_t i, struct escan *e, struct event *ev)
{
	struct wire_batch *b = c->b;
	const struct str model_raw = e->model;
	const char *model_c = seen_get(&c->model, &e->model, c->end), *pred_c, *label_c;
	size_t pool_len, k;
	char *pool;

	/* every other field is set below, once the event is known valid */
	ev->features = NULL;
	ev->n_features = 0;
	ev->scores = NULL;
	ev->n_scores = 0;
	if (!model_c && !STR_VALID(event_model_name_valid, &e->model))
		return bad(b, "%s %zu: invalid model name", "event", i);
	if (e->id.p && !STR_VALID(event_id_valid, &e->id))
		return bad(b, "%s %zu: invalid id", "event", i);
	if (e->version.p && !STR_VALID(version_ok, &e->version))
		return bad(b, "%s %zu: invalid version", "event", i);
	if (!isfinite(e->ts) || e->ts < 0)
		return bad(b, "%s %zu: invalid ts", "event", i);
	if (e->has_latency && !(e->latency >= 0 && isfinite(e->latency)))
		return bad(b, "%s %zu: invalid latency_ms", "event", i);
	if (e->has_score && !(e->score >= 0 && e->score <= 1))
		return bad(b, "%s %zu: score outside [0, 1]", "event", i);
	if (e->n_features > EVENT_FEATURES_MAX || e->n_scores > EVENT_SCORES_MAX)
		return bad(b, "%s %zu: too many features or scores", "event", i);
	if ((e->has_in && e->in_tok > (uint64_t)EVENT_TOKENS_MAX) ||
	    (e->has_out && e->out_tok > (uint64_t)EVENT_TOKENS_MAX) ||
	    (e->has_ttft && !(e->ttft >= 0 && isfinite(e->ttft))) ||
	    (e->has_tpot && !(e->tpot >= 0 && isfinite(e->tpot))) ||
	    (e->finish.p && !STR_VALID(event_finish_reason_valid, &e->finish)))
		return bad(b, "%s %zu: invalid LLM field", "event", i);

	/* The strings not seen before, in one allocation (lengths before
	 * the checks below, which may only shorten them). */
	pred_c = value_seen(&c->pred, &e->pred, c->end);
	label_c = value_seen(&c->label, &e->label, c->end);
	pool_len = (model_c ? 0 : e->model.n + 1) + (e->id.p ? e->id.n + 1 : 0) +
	           (e->version.p ? e->version.n + 1 : 0) + (e->finish.p ? e->finish.n + 1 : 0) +
	           (pred_c ? 0 : value_pool_len(&e->pred)) +
	           (label_c ? 0 : value_pool_len(&e->label));
	for (k = 0; k < e->n_features; k++) {
		struct fscan *fs = &c->feat[k];
		fs->name_c = k < SEEN_FEATURES ? seen_get(&c->fname[k], &fs->name, c->end) : NULL;
		fs->cat_c = k < SEEN_FEATURES && fs->kind == FEATURE_CATEGORICAL
		                ? seen_get(&c->fcat[k], &fs->s, c->end)
		                : NULL;
		pool_len += (fs->name_c ? 0 : fs->name.n + 1) +
		            (fs->kind == FEATURE_CATEGORICAL && !fs->cat_c ? fs->s.n + 1 : 0);
	}
	for (k = 0; k < e->n_scores; k++) {
		struct sscan *ss = &c->score[k];
		ss->cls_c = k < SEEN_SCORES ? seen_get(&c->cls[k], &ss->cls, c->end) : NULL;
		pool_len += ss->cls_c ? 0 : ss->cls.n + 1;
	}
	pool = arena_alloc_raw(&b->arena, pool_len ? pool_len : 1);
	if (!pool)
		return bad(b, "%s %zu: out of memory", "event", i);

	ev->has_input_tokens = e->has_in;
	ev->input_tokens = e->has_in ? (int64_t)e->in_tok : 0;
	ev->has_output_tokens = e->has_out;
	ev->output_tokens = e->has_out ? (int64_t)e->out_tok : 0;
	ev->has_ttft = e->has_ttft;
	ev->ttft_ms = e->has_ttft ? e->ttft : 0;
	ev->has_tpot = e->has_tpot;
	ev->tpot_ms = e->has_tpot ? e->tpot : 0;
	ev->finish_reason = e->finish.p ? pool_put(&pool, &e->finish) : NULL;
	if (!model_c) {
		model_c = pool_put(&pool, &e->model);
		seen_put(&c->model, &model_raw, model_c);
	}
	ev->model = model_c;
	ev->id = e->id.p ? pool_put(&pool, &e->id) : NULL;
	ev->version = e->version.p ? pool_put(&pool, &e->version) : NULL;
	ev->ts = e->ts;
	ev->ts_given = true;
	ev->has_latency = e->has_latency;
	ev->latency_ms = e->has_latency ? e->latency : 0;
	ev->error = e->has_error && e->error;
	ev->has_score = e->has_score;
	ev->score = e->has_score ? e->score : 0;
	if (e->n_features) {
		ev->features = arena_alloc_raw(&b->arena, e->n_features * sizeof(*ev->features));
		if (!ev->features)
			return bad(b, "%s %zu: out of memory", "event", i);
		for (k = 0; k < e->n_features; k++) {
			struct fscan *fs = &c->feat[k];
			struct feature *ft = &ev->features[k];
			memset(ft, 0, sizeof(*ft));
			if (fs->name_c) {
				ft->name = fs->name_c;
			} else {
				const struct str raw = fs->name;
				if (!STR_VALID(event_feature_name_valid, &fs->name))
					return bad(b, "%s %zu: invalid feature name", "event", i);
				ft->name = pool_put(&pool, &fs->name);
				if (k < SEEN_FEATURES)
					seen_put(&c->fname[k], &raw, ft->name);
			}
			if (fs->kind == FEATURE_NUMERIC) {
				if (!isfinite(fs->num))
					return bad(b, "%s %zu: non-finite feature", "event", i);
				ft->kind = FEATURE_NUMERIC;
				ft->num = fs->num;
			} else if (fs->kind == FEATURE_CATEGORICAL) {
				ft->kind = FEATURE_CATEGORICAL;
				if (fs->cat_c) {
					ft->str = fs->cat_c;
					continue;
				}
				const struct str raw = fs->s;
				if (!STR_VALID(category_ok, &fs->s))
					return bad(b, "%s %zu: invalid category", "event", i);
				ft->str = pool_put(&pool, &fs->s);
				if (k < SEEN_FEATURES)
					seen_put(&c->fcat[k], &raw, ft->str);
			} else if (fs->kind == FEATURE_VECTOR) {
				/* 4 bytes a dimension after the header: len / 4
				 * floats always suffice */
				size_t len = fs->s.n;
				size_t cap =
				    len / 4 < VECTOR_DIM_MAX ? len / 4 + 1 : VECTOR_DIM_MAX;
				float *v = arena_alloc_raw(&b->arena, cap * sizeof(float));
				size_t dim = 0;
				if (!v)
					return bad(b, "%s %zu: out of memory", "event", i);
				/* protobuf-c leaves empty bytes NULL */
				if (vector_decode(len ? (const uint8_t *)fs->s.p : NULL, len, v,
				                  cap, &dim))
					return bad(b, "%s %zu: invalid vector feature", "event", i);
				ft->kind = FEATURE_VECTOR;
				ft->vec = v;
				ft->dim = dim;
			}
		}
		ev->n_features = e->n_features;
	}
	if (e->n_scores) {
		ev->scores = arena_alloc_raw(&b->arena, e->n_scores * sizeof(*ev->scores));
		if (!ev->scores)
			return bad(b, "%s %zu: out of memory", "event", i);
		for (k = 0; k < e->n_scores; k++) {
			struct sscan *ss = &c->score[k];
			const struct str raw = ss->cls;
			if ((!ss->cls_c && !STR_VALID(category_ok, &ss->cls)) ||
			    !(ss->p >= 0 && ss->p <= 1))
				return bad(b, "%s %zu: invalid class score", "event", i);
			if (!ss->cls_c) {
				ss->cls_c = pool_put(&pool, &ss->cls);
				if (k < SEEN_SCORES)
					seen_put(&c->cls[k], &raw, ss->cls_c);
			}
			ev->scores[k].cls = ss->cls_c;
			ev->scores[k].p = ss->p;
		}
		ev->n_scores = e->n_scores;
	}
	const struct str pred_raw = e->pred.s, label_raw = e->label.s;
	if (value_check(&e->pred, pred_c, &ev->prediction) ||
	    value_check(&e->label, label_c, &ev->label))
		return bad(b, "%s %zu: invalid prediction or label", "event", i);
	if (ev->prediction.kind == VALUE_STRING) {
		if (!pred_c) {
			pred_c = pool_put(&pool, &e->pred.s);
			seen_put(&c->pred, &pred_raw, pred_c);
		}
		ev->prediction.str = pred_c;
	}
	if (ev->label.kind == VALUE_STRING) {
		if (!label_c) {
			label_c = pool_put(&pool, &e->label.s);
			seen_put(&c->label, &label_raw, label_c);
		}
		ev->label.str = label_c;
	}
	return 0;
}

/* ---- Label ------------------------------------------------------------- */

static int label_decode(struct wire_batch *b, size_t i, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	struct str model = {0}, id = {0};
	struct vscan v = {0};
	double ts = 0;
	bool has_ts = false;
	unsigned req = 0;
	struct pbf f;

	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		switch (f.num) {
		case 1:
		case 2:
			if (f.wt != WT_LEN)
				return D_INVALID;
			*(f.num == 1 ? &model : &id) = str_of(&f);
			req |= f.num;
			break;
		case 3:
			if (f.wt != WT_LEN || value_scan(f.p, f.n, &v))
				return D_INVALID;
			req |= 4;
			break;
		case 4:
			if (f.wt != WT_I64)
				return D_INVALID;
			ts = as_double(f.u);
			has_ts = true;
			break;
		}
	}
	if (req != 7)
		return D_INVALID;

	struct label *l = &b->labels[b->n_labels];
	if (!STR_VALID(event_model_name_valid, &model) || !STR_VALID(event_id_valid, &id) ||
	    value_check(&v, NULL, &l->label) || l->label.kind == VALUE_NONE ||
	    (has_ts && !(isfinite(ts) && ts >= 0))) {
		bad(b, "%s %zu: invalid", "label", i);
		return D_OK;
	}
	char *pool = arena_alloc_raw(&b->arena, model.n + id.n + 2 + value_pool_len(&v));
	if (!pool)
		return D_NOMEM;
	l->model = pool_put(&pool, &model);
	l->id = pool_put(&pool, &id);
	if (l->label.kind == VALUE_STRING)
		l->label.str = pool_put(&pool, &v.s);
	l->ts = has_ts ? ts : 0;
	l->ts_given = has_ts;
	b->n_labels++;
	return D_OK;
}

/* ---- Summary ----------------------------------------------------------- */

struct finscan {
	struct str reason;
	uint64_t count;
};

static int finish_scan(const uint8_t *p, size_t n, struct finscan *fc)
{
	const uint8_t *end = p + n;
	unsigned req = 0;
	struct pbf f;

	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		if (f.num == 1) {
			if (f.wt != WT_LEN)
				return D_INVALID;
			fc->reason = str_of(&f);
			req |= 1;
		} else if (f.num == 2) {
			if (f.wt != WT_VARINT)
				return D_INVALID;
			fc->count = f.u;
			req |= 2;
		}
	}
	return req == 3 ? D_OK : D_INVALID;
}

/* Copies n bytes (protobuf-c copies bytes fields; NULL when empty). */
static int bytes_copy(struct wire_batch *b, const uint8_t *p, size_t n, const uint8_t **out)
{
	uint8_t *d = arena_alloc_raw(&b->arena, n);
	if (!d)
		return D_NOMEM;
	memcpy(d, p, n);
	*out = d;
	return D_OK;
}

static int summary_decode(struct wire_batch *b, size_t i, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	struct str model = {0};
	/* second, count, errors, sampled, llm, input and output tokens */
	uint64_t u[10] = {0};
	const uint8_t *sk[3] = {NULL, NULL, NULL}; /* latency, ttft, tpot sketches */
	size_t sk_len[3] = {0, 0, 0};
	bool has_sk[3] = {false, false, false};
	struct finscan fin[WIRE_FINISH_MAX], spare;
	size_t n_finish = 0;
	unsigned req = 0;
	struct pbf f;

	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		switch (f.num) {
		case 1:
			if (f.wt != WT_LEN)
				return D_INVALID;
			model = str_of(&f);
			req |= 1;
			break;
		case 2: /* second (int64), count: required */
		case 3:
		case 4: /* errors */
		case 6: /* sampled */
		case 7: /* llm */
		case 8: /* input_tokens */
		case 9: /* output_tokens */
			if (f.wt != WT_VARINT)
				return D_INVALID;
			u[f.num] = f.u;
			if (f.num == 2 || f.num == 3)
				req |= f.num == 2 ? 2 : 4;
			break;
		case 5:
		case 10:
		case 11: {
			int k = f.num == 5 ? 0 : f.num == 10 ? 1 : 2;
			if (f.wt != WT_LEN)
				return D_INVALID;
			sk[k] = f.p;
			sk_len[k] = f.n;
			has_sk[k] = true;
			break;
		}
		case 12: {
			struct finscan *fc = n_finish < WIRE_FINISH_MAX ? &fin[n_finish] : &spare;
			if (f.wt != WT_LEN || finish_scan(f.p, f.n, fc))
				return D_INVALID;
			n_finish++;
			break;
		}
		}
	}
	if (req != 7)
		return D_INVALID;

	int64_t second = (int64_t)u[2];
	uint64_t count = u[3], errors = u[4], sampled = u[6], llm = u[7], in = u[8], out = u[9];
	/* finish_ok of wire.c: few, valid names, counts within the LLM
	 * events in total */
	bool fin_ok = n_finish <= WIRE_FINISH_MAX;
	uint64_t sum = 0;
	for (size_t k = 0; fin_ok && k < n_finish; k++) {
		if (!STR_VALID(event_finish_reason_valid, &fin[k].reason) || fin[k].count > llm)
			fin_ok = false;
		sum += fin[k].count;
	}
	fin_ok = fin_ok && sum <= llm;
	if (!STR_VALID(event_model_name_valid, &model) || second < 0 ||
	    count > WIRE_SUMMARY_COUNT_MAX || errors > count || sampled > count ||
	    (has_sk[0] && sk_len[0] > WIRE_SKETCH_MAX) || llm > count ||
	    in > llm * (uint64_t)EVENT_TOKENS_MAX || out > llm * (uint64_t)EVENT_TOKENS_MAX ||
	    (has_sk[1] && sk_len[1] > WIRE_SKETCH_MAX) ||
	    (has_sk[2] && sk_len[2] > WIRE_SKETCH_MAX) || !fin_ok) {
		bad(b, "%s %zu: invalid", "summary", i);
		return D_OK;
	}
	struct wire_summary *s = &b->summaries[b->n_summaries];
	memset(s, 0, sizeof(*s));
	char *pool = arena_alloc_raw(&b->arena, model.n + 1);
	if (!pool)
		return D_NOMEM;
	s->model = pool_put(&pool, &model);
	s->second = second;
	s->count = count;
	s->errors = errors;
	s->sampled = sampled;
	s->llm = llm;
	s->input_tokens = in;
	s->output_tokens = out;
	if ((sk_len[0] && bytes_copy(b, sk[0], sk_len[0], &s->sketch)) ||
	    (sk_len[1] && bytes_copy(b, sk[1], sk_len[1], &s->ttft)) ||
	    (sk_len[2] && bytes_copy(b, sk[2], sk_len[2], &s->tpot)))
		return D_NOMEM;
	s->sketch_len = s->sketch ? sk_len[0] : 0;
	s->ttft_len = s->ttft ? sk_len[1] : 0;
	s->tpot_len = s->tpot ? sk_len[2] : 0;
	if (n_finish) {
		s->finish = arena_alloc_raw(&b->arena, n_finish * sizeof(*s->finish));
		if (!s->finish)
			return D_NOMEM;
		for (size_t k = 0; k < n_finish; k++) {
			char *rp = arena_alloc_raw(&b->arena, fin[k].reason.n + 1);
			if (!rp)
				return D_NOMEM;
			s->finish[k].reason = pool_put(&rp, &fin[k].reason);
			s->finish[k].count = fin[k].count;
		}
		s->n_finish = n_finish;
	}
	b->n_summaries++;
	return D_OK;
}

/* ---- AgentStats -------------------------------------------------------- */

/* Merged into st field by field, as protobuf-c merges a singular message
 * given twice: the last copy of each field wins. */
static int stats_scan(const uint8_t *p, size_t n, struct wire_agent_stats *st, bool *has_started)
{
	const uint8_t *end = p + n;
	struct pbf f;

	st->present = true;
	while (p < end) {
		if (pb_next(&p, end, &f))
			return D_INVALID;
		switch (f.num) {
		case 1:
		case 2:
		case 3:
		case 4:
			if (f.wt != WT_VARINT)
				return D_INVALID;
			*(f.num == 1   ? &st->received
			  : f.num == 2 ? &st->rejected
			  : f.num == 3 ? &st->spool_dropped
			               : &st->spool_bytes) = f.u;
			break;
		case 5:
			if (f.wt != WT_I64)
				return D_INVALID;
			st->started = as_double(f.u);
			*has_started = true;
			break;
		}
	}
	return D_OK;
}

/* ---- Batch ------------------------------------------------------------- */

int wire_decode_batch(const uint8_t *buf, size_t len, size_t max_len, struct wire_batch *b,
                      char *err, size_t errlen)
{
	struct dctx c = {.b = b};
	const uint8_t *p, *end;
	struct pbf f;
	struct str agent_id = {0};
	const uint8_t *token = NULL;
	size_t token_len = 0, n_events = 0, n_labels = 0, n_summaries = 0, i;
	bool has_token = false, has_created = false, has_started = false;
	double created = 0;
	unsigned req = 0;
	int rc = D_INVALID;

	memset(b, 0, sizeof(*b));
	arena_init(&b->arena, 0);
	if (!max_len)
		max_len = WIRE_MAX_MESSAGE;
	if (len > max_len) {
		snprintf(err, errlen, "batch of %zu bytes exceeds the limit of %zu", len, max_len);
		return -1;
	}
	if (len == 0) /* no required field */
		goto invalid;
	end = buf + len;
	c.end = (const char *)end;

	/* The Batch's own fields: the header and the stats, and how many
	 * events, labels and summaries to make room for. */
	for (p = buf; p < end;) {
		if (pb_next(&p, end, &f))
			goto invalid;
		switch (f.num) {
		case 1:
		case 3:
			if (f.wt != WT_VARINT)
				goto invalid;
			if (f.num == 1)
				b->protocol = (uint32_t)f.u;
			else
				b->seq = f.u;
			req |= f.num == 1 ? 1 : 4;
			break;
		case 2:
			if (f.wt != WT_LEN)
				goto invalid;
			agent_id = str_of(&f);
			req |= 2;
			break;
		case 4:
			if (f.wt != WT_LEN)
				goto invalid;
			token = f.p;
			token_len = f.n;
			has_token = true;
			break;
		case 5:
		case 6:
		case 7:
			if (f.wt != WT_LEN)
				goto invalid;
			*(f.num == 5 ? &n_events : f.num == 6 ? &n_labels : &n_summaries) += 1;
			break;
		case 8:
			if (f.wt != WT_I64)
				goto invalid;
			created = as_double(f.u);
			has_created = true;
			break;
		case 9:
			if (f.wt != WT_LEN || stats_scan(f.p, f.n, &b->stats, &has_started))
				goto invalid;
			break;
		}
	}
	if (req != 7)
		goto invalid;

	/* Events, then labels, then summaries, each in the order sent: the
	 * order wire_decode_batch_pb validates them in (first_invalid). */
	if (n_events) {
		b->events = arena_alloc_raw(&b->arena, n_events * sizeof(*b->events));
		if (!b->events)
			goto oom;
		for (p = buf, i = 0; p < end;) {
			struct escan e;
			pb_next(&p, end, &f); /* scanned above */
			if (f.num != 5)
				continue;
			if ((rc = event_scan(&c, f.p, f.n, &e)))
				goto fail;
			if (event_build(&c, i++, &e, &b->events[b->n_events]) == 0)
				b->n_events++;
		}
	}
	if (n_labels) {
		b->labels = arena_alloc_raw(&b->arena, n_labels * sizeof(*b->labels));
		if (!b->labels)
			goto oom;
		for (p = buf, i = 0; p < end;) {
			pb_next(&p, end, &f);
			if (f.num == 6 && (rc = label_decode(b, i++, f.p, f.n)))
				goto fail;
		}
	}
	if (n_summaries) {
		b->summaries = arena_alloc_raw(&b->arena, n_summaries * sizeof(*b->summaries));
		if (!b->summaries)
			goto oom;
		for (p = buf, i = 0; p < end;) {
			pb_next(&p, end, &f);
			if (f.num == 7 && (rc = summary_decode(b, i++, f.p, f.n)))
				goto fail;
		}
	}

	if (b->protocol != WIRE_PROTOCOL) {
		snprintf(err, errlen,
		         "protocol version %u not supported (this collector speaks %d)",
		         b->protocol, WIRE_PROTOCOL);
		goto out;
	}
	str_cut(&agent_id); /* strlen() of protobuf-c's copy */
	if (!agent_id_ok(agent_id.p, agent_id.n)) {
		snprintf(err, errlen, "agent_id must be 1-%d printable characters",
		         WIRE_AGENT_ID_MAX);
		goto out;
	}
	if (has_token && token_len > WIRE_TOKEN_MAX) {
		snprintf(err, errlen, "token longer than %d bytes", WIRE_TOKEN_MAX);
		goto out;
	}
	char *id = arena_alloc_raw(&b->arena, agent_id.n + 1);
	if (!id || (token_len && bytes_copy(b, token, token_len, &b->token)))
		goto oom;
	b->agent_id = pool_put(&id, &agent_id);
	b->token_len = b->token ? token_len : 0;
	b->created = has_created ? created : 0;
	if (!has_started || !isfinite(b->stats.started))
		b->stats.started = 0;
	free(c.feat);
	return 0;

fail:
	if (rc == D_NOMEM)
		goto oom;
invalid:
	snprintf(err, errlen, "not a valid Batch message (%zu bytes)", len);
	goto out;
oom:
	snprintf(err, errlen, "out of memory decoding a batch of %zu bytes", len);
out:
	free(c.feat);
	arena_reset(&b->arena);
	return -1;
}
