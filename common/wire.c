/* wire: see wire.h. */
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwatch.pb-c.h"
#include "text.h"
#include "vector.h"

typedef Mlwatch__Wire__Batch PbBatch;
typedef Mlwatch__Wire__Event PbEvent;
typedef Mlwatch__Wire__Feature PbFeature;
typedef Mlwatch__Wire__Value PbValue;
typedef Mlwatch__Wire__Label PbLabel;
typedef Mlwatch__Wire__Summary PbSummary;
typedef Mlwatch__Wire__ClassScore PbScore;

/* ---- encoding ---------------------------------------------------------- */

/* Fills pv from v; returns pv, or NULL when v is absent. */
static PbValue *value_to_pb(const struct value *v, PbValue *pv)
{
	mlwatch__wire__value__init(pv);
	switch (v->kind) {
	case VALUE_NUMBER:
		pv->v_case = MLWATCH__WIRE__VALUE__V_NUM;
		pv->num = v->num;
		return pv;
	case VALUE_STRING:
		pv->v_case = MLWATCH__WIRE__VALUE__V_STR;
		pv->str = (char *)v->str;
		return pv;
	default:
		return NULL;
	}
}

static int event_to_pb(const struct event *ev, struct arena *a, PbEvent *pe)
{
	mlwatch__wire__event__init(pe);
	pe->model = (char *)ev->model;
	pe->version = (char *)ev->version;
	pe->id = (char *)ev->id;
	pe->ts = ev->ts;
	pe->has_latency_ms = ev->has_latency;
	pe->latency_ms = ev->latency_ms;
	pe->has_error = ev->error;
	pe->error = ev->error;
	pe->has_score = ev->has_score;
	pe->score = ev->score;
	pe->has_input_tokens = ev->has_input_tokens;
	pe->input_tokens = (uint64_t)ev->input_tokens;
	pe->has_output_tokens = ev->has_output_tokens;
	pe->output_tokens = (uint64_t)ev->output_tokens;
	pe->has_ttft_ms = ev->has_ttft;
	pe->ttft_ms = ev->ttft_ms;
	pe->has_tpot_ms = ev->has_tpot;
	pe->tpot_ms = ev->tpot_ms;
	pe->finish_reason = (char *)ev->finish_reason;
	if (ev->n_features) {
		PbFeature *fs = arena_alloc(a, ev->n_features * sizeof(*fs));
		pe->features = arena_alloc(a, ev->n_features * sizeof(*pe->features));
		if (!fs || !pe->features)
			return -1;
		for (size_t i = 0; i < ev->n_features; i++) {
			const struct feature *f = &ev->features[i];
			mlwatch__wire__feature__init(&fs[i]);
			fs[i].name = (char *)f->name;
			if (f->kind == FEATURE_NUMERIC) {
				fs[i].v_case = MLWATCH__WIRE__FEATURE__V_NUM;
				fs[i].num = f->num;
			} else if (f->kind == FEATURE_CATEGORICAL) {
				fs[i].v_case = MLWATCH__WIRE__FEATURE__V_CAT;
				fs[i].cat = (char *)f->str;
			} else if (f->kind == FEATURE_VECTOR) {
				/* float32, 4 bytes a dimension (issue 19) */
				size_t cap = vector_encoded_len(f->dim);
				uint8_t *buf = arena_alloc_raw(a, cap);
				if (!buf)
					return -1;
				fs[i].vec.len = vector_encode(f->vec, f->dim, buf, cap);
				if (fs[i].vec.len == 0)
					return -1;
				fs[i].vec.data = buf;
				fs[i].v_case = MLWATCH__WIRE__FEATURE__V_VEC;
			}
			pe->features[i] = &fs[i];
		}
		pe->n_features = ev->n_features;
	}
	if (ev->n_scores) {
		PbScore *ss = arena_alloc(a, ev->n_scores * sizeof(*ss));
		pe->scores = arena_alloc(a, ev->n_scores * sizeof(*pe->scores));
		if (!ss || !pe->scores)
			return -1;
		for (size_t i = 0; i < ev->n_scores; i++) {
			mlwatch__wire__class_score__init(&ss[i]);
			ss[i].cls = (char *)ev->scores[i].cls;
			ss[i].p = ev->scores[i].p;
			pe->scores[i] = &ss[i];
		}
		pe->n_scores = ev->n_scores;
	}
	PbValue *vals = arena_alloc(a, 2 * sizeof(*vals));
	if (!vals)
		return -1;
	pe->prediction = value_to_pb(&ev->prediction, &vals[0]);
	pe->label = value_to_pb(&ev->label, &vals[1]);
	return 0;
}

/* ---- events encoded as they arrive -------------------------------------- */

/* Protobuf tags of the fields written below: (field number << 3) | wire
 * type (0 varint, 1 fixed64, 2 length-delimited), per common/mlwatch.proto.
 * Fields go out in field-number order, as protobuf-c packs them. */
enum {
	T_BATCH_EVENT = 5 << 3 | 2,
	T_EV_MODEL = 1 << 3 | 2,
	T_EV_VERSION = 2 << 3 | 2,
	T_EV_ID = 3 << 3 | 2,
	T_EV_TS = 4 << 3 | 1,
	T_EV_LATENCY = 5 << 3 | 1,
	T_EV_ERROR = 6 << 3 | 0,
	T_EV_FEATURE = 7 << 3 | 2,
	T_EV_PREDICTION = 8 << 3 | 2,
	T_EV_SCORE = 9 << 3 | 1,
	T_EV_SCORES = 10 << 3 | 2,
	T_EV_LABEL = 11 << 3 | 2,
	T_EV_INPUT_TOKENS = 12 << 3 | 0,
	T_EV_OUTPUT_TOKENS = 13 << 3 | 0,
	T_EV_TTFT = 14 << 3 | 1,
	T_EV_TPOT = 15 << 3 | 1,
	T_EV_FINISH = 16 << 3 | 2,
	T_F_NAME = 1 << 3 | 2,
	T_F_NUM = 2 << 3 | 1,
	T_F_CAT = 3 << 3 | 2,
	T_F_VEC = 4 << 3 | 2,
	T_V_NUM = 1 << 3 | 1,
	T_V_STR = 2 << 3 | 2,
	T_CS_CLS = 1 << 3 | 2,
	T_CS_P = 2 << 3 | 1,
};

/* Makes room for n more bytes. */
static int we_room(struct wire_events *w, size_t n)
{
	if (w->cap - w->len >= n)
		return 0;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap - w->len < n) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	uint8_t *nb = realloc(w->buf, cap);
	if (!nb)
		return -1;
	w->buf = nb;
	w->cap = cap;
	return 0;
}

static void we_varint(struct wire_events *w, uint64_t v)
{
	while (v >= 0x80) {
		w->buf[w->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	w->buf[w->len++] = (uint8_t)v;
}

static int we_tag_varint(struct wire_events *w, unsigned tag, uint64_t v)
{
	if (we_room(w, 2 + 10))
		return -1;
	we_varint(w, tag);
	we_varint(w, v);
	return 0;
}

static int we_double(struct wire_events *w, unsigned tag, double d)
{
	uint64_t u;
	if (we_room(w, 2 + 8))
		return -1;
	memcpy(&u, &d, sizeof(u));
	we_varint(w, tag);
	for (int i = 0; i < 8; i++) /* fixed64 is little-endian on the wire */
		w->buf[w->len++] = (uint8_t)(u >> (8 * i));
	return 0;
}

static int we_bytes(struct wire_events *w, unsigned tag, const void *p, size_t n)
{
	if (we_room(w, 2 + 10 + n))
		return -1;
	we_varint(w, tag);
	we_varint(w, n);
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static int we_str(struct wire_events *w, unsigned tag, const char *s)
{
	return we_bytes(w, tag, s, strlen(s));
}

/* A nested message: we_open writes its tag and keeps one byte for its
 * length (most are under 128 bytes); we_close writes the length, moving
 * the body when the length needs more bytes. Returns the mark or -1. */
static long we_open(struct wire_events *w, unsigned tag)
{
	if (we_room(w, 2 + 1))
		return -1;
	we_varint(w, tag);
	w->len++;
	return (long)w->len;
}

static int we_close(struct wire_events *w, long mark)
{
	size_t body = (size_t)mark, n = w->len - body, k = 1;
	for (size_t v = n; v >= 0x80; v >>= 7)
		k++;
	if (k > 1) {
		if (we_room(w, k - 1))
			return -1;
		memmove(w->buf + body + k - 1, w->buf + body, n);
	}
	size_t save = w->len + k - 1;
	w->len = body - 1;
	we_varint(w, n);
	w->len = save;
	return 0;
}

static int we_value(struct wire_events *w, unsigned tag, const struct value *v)
{
	long m;
	if (v->kind != VALUE_NUMBER && v->kind != VALUE_STRING)
		return 0;
	if ((m = we_open(w, tag)) < 0)
		return -1;
	if (v->kind == VALUE_NUMBER ? we_double(w, T_V_NUM, v->num) : we_str(w, T_V_STR, v->str))
		return -1;
	return we_close(w, m);
}

static int we_feature(struct wire_events *w, const struct feature *f)
{
	long m = we_open(w, T_EV_FEATURE);
	int rc = 0;

	if (m < 0 || we_str(w, T_F_NAME, f->name))
		return -1;
	if (f->kind == FEATURE_NUMERIC) {
		rc = we_double(w, T_F_NUM, f->num);
	} else if (f->kind == FEATURE_CATEGORICAL) {
		rc = we_str(w, T_F_CAT, f->str);
	} else if (f->kind == FEATURE_VECTOR) {
		/* float32, 4 bytes a dimension (issue 19), written in place */
		size_t cap = vector_encoded_len(f->dim);
		long vm = we_open(w, T_F_VEC);
		if (vm < 0 || we_room(w, cap))
			return -1;
		size_t n = vector_encode(f->vec, f->dim, w->buf + w->len, cap);
		if (n == 0)
			return -1;
		w->len += n;
		rc = we_close(w, vm);
	}
	return rc ? -1 : we_close(w, m);
}

static int we_event(struct wire_events *w, const struct event *ev)
{
	long m = we_open(w, T_BATCH_EVENT);

	if (m < 0 || we_str(w, T_EV_MODEL, ev->model) ||
	    (ev->version && we_str(w, T_EV_VERSION, ev->version)) ||
	    (ev->id && we_str(w, T_EV_ID, ev->id)) || we_double(w, T_EV_TS, ev->ts) ||
	    (ev->has_latency && we_double(w, T_EV_LATENCY, ev->latency_ms)) ||
	    (ev->error && we_tag_varint(w, T_EV_ERROR, 1)))
		return -1;
	for (size_t i = 0; i < ev->n_features; i++)
		if (we_feature(w, &ev->features[i]))
			return -1;
	if (we_value(w, T_EV_PREDICTION, &ev->prediction) ||
	    (ev->has_score && we_double(w, T_EV_SCORE, ev->score)))
		return -1;
	for (size_t i = 0; i < ev->n_scores; i++) {
		long sm = we_open(w, T_EV_SCORES);
		if (sm < 0 || we_str(w, T_CS_CLS, ev->scores[i].cls) ||
		    we_double(w, T_CS_P, ev->scores[i].p) || we_close(w, sm))
			return -1;
	}
	if (we_value(w, T_EV_LABEL, &ev->label) ||
	    (ev->has_input_tokens &&
	     we_tag_varint(w, T_EV_INPUT_TOKENS, (uint64_t)ev->input_tokens)) ||
	    (ev->has_output_tokens &&
	     we_tag_varint(w, T_EV_OUTPUT_TOKENS, (uint64_t)ev->output_tokens)) ||
	    (ev->has_ttft && we_double(w, T_EV_TTFT, ev->ttft_ms)) ||
	    (ev->has_tpot && we_double(w, T_EV_TPOT, ev->tpot_ms)) ||
	    (ev->finish_reason && we_str(w, T_EV_FINISH, ev->finish_reason)))
		return -1;
	return we_close(w, m);
}

int wire_events_append(struct wire_events *w, const struct event *ev)
{
	size_t start = w->len;

	if (we_event(w, ev)) {
		w->len = start; /* nothing of a half-written event stays */
		return -1;
	}
	w->n++;
	return 0;
}

void wire_events_free(struct wire_events *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

int wire_encode_batch(const struct wire_batch *b, uint8_t **out, size_t *len)
{
	PbBatch pb = MLWATCH__WIRE__BATCH__INIT;
	Mlwatch__Wire__AgentStats st = MLWATCH__WIRE__AGENT_STATS__INIT;
	struct arena a;
	int rc = -1;

	*out = NULL;
	*len = 0;
	arena_init(&a, 0);
	pb.protocol = b->protocol ? b->protocol : WIRE_PROTOCOL;
	pb.agent_id = (char *)b->agent_id;
	pb.seq = b->seq;
	if (b->token) {
		pb.has_token = 1;
		pb.token.data = (uint8_t *)b->token;
		pb.token.len = b->token_len;
	}
	pb.has_created = b->created != 0;
	pb.created = b->created;
	if (b->n_events) {
		PbEvent *es = arena_alloc(&a, b->n_events * sizeof(*es));
		pb.events = arena_alloc(&a, b->n_events * sizeof(*pb.events));
		if (!es || !pb.events)
			goto out;
		for (size_t i = 0; i < b->n_events; i++) {
			if (event_to_pb(&b->events[i], &a, &es[i]))
				goto out;
			pb.events[i] = &es[i];
		}
		pb.n_events = b->n_events;
	}
	if (b->n_labels) {
		PbLabel *ls = arena_alloc(&a, b->n_labels * sizeof(*ls));
		PbValue *vs = arena_alloc(&a, b->n_labels * sizeof(*vs));
		pb.labels = arena_alloc(&a, b->n_labels * sizeof(*pb.labels));
		if (!ls || !vs || !pb.labels)
			goto out;
		for (size_t i = 0; i < b->n_labels; i++) {
			const struct label *l = &b->labels[i];
			mlwatch__wire__label__init(&ls[i]);
			ls[i].model = (char *)l->model;
			ls[i].id = (char *)l->id;
			ls[i].label = value_to_pb(&l->label, &vs[i]);
			ls[i].has_ts = 1;
			ls[i].ts = l->ts;
			pb.labels[i] = &ls[i];
		}
		pb.n_labels = b->n_labels;
	}
	if (b->n_summaries) {
		PbSummary *ss = arena_alloc(&a, b->n_summaries * sizeof(*ss));
		pb.summaries = arena_alloc(&a, b->n_summaries * sizeof(*pb.summaries));
		if (!ss || !pb.summaries)
			goto out;
		for (size_t i = 0; i < b->n_summaries; i++) {
			const struct wire_summary *s = &b->summaries[i];
			mlwatch__wire__summary__init(&ss[i]);
			ss[i].model = (char *)s->model;
			ss[i].second = s->second;
			ss[i].count = s->count;
			ss[i].has_errors = 1;
			ss[i].errors = s->errors;
			ss[i].has_sampled = 1;
			ss[i].sampled = s->sampled;
			if (s->sketch) {
				ss[i].has_latency_sketch = 1;
				ss[i].latency_sketch.data = (uint8_t *)s->sketch;
				ss[i].latency_sketch.len = s->sketch_len;
			}
			if (s->llm) {
				ss[i].has_llm = ss[i].has_input_tokens = ss[i].has_output_tokens =
				    1;
				ss[i].llm = s->llm;
				ss[i].input_tokens = s->input_tokens;
				ss[i].output_tokens = s->output_tokens;
			}
			if (s->ttft) {
				ss[i].has_ttft_sketch = 1;
				ss[i].ttft_sketch.data = (uint8_t *)s->ttft;
				ss[i].ttft_sketch.len = s->ttft_len;
			}
			if (s->n_finish) {
				Mlwatch__Wire__FinishCount *fc =
				    arena_alloc(&a, s->n_finish * sizeof(*fc));
				ss[i].finish = arena_alloc(&a, s->n_finish * sizeof(*ss[i].finish));
				if (!fc || !ss[i].finish)
					goto out;
				for (size_t k = 0; k < s->n_finish; k++) {
					mlwatch__wire__finish_count__init(&fc[k]);
					fc[k].reason = (char *)s->finish[k].reason;
					fc[k].count = s->finish[k].count;
					ss[i].finish[k] = &fc[k];
				}
				ss[i].n_finish = s->n_finish;
			}
			if (s->tpot) {
				ss[i].has_tpot_sketch = 1;
				ss[i].tpot_sketch.data = (uint8_t *)s->tpot;
				ss[i].tpot_sketch.len = s->tpot_len;
			}
			pb.summaries[i] = &ss[i];
		}
		pb.n_summaries = b->n_summaries;
	}
	if (b->stats.present) {
		st.has_received = st.has_rejected = st.has_spool_dropped = st.has_spool_bytes = 1;
		st.has_started = 1;
		st.received = b->stats.received;
		st.rejected = b->stats.rejected;
		st.spool_dropped = b->stats.spool_dropped;
		st.spool_bytes = b->stats.spool_bytes;
		st.started = b->stats.started;
		pb.stats = &st;
	}
	size_t packed = mlwatch__wire__batch__get_packed_size(&pb);
	if (b->events_raw_len > SIZE_MAX - packed - 1)
		goto out;
	*len = packed + b->events_raw_len;
	*out = malloc(*len ? *len : 1);
	if (!*out)
		goto out;
	mlwatch__wire__batch__pack(&pb, *out);
	if (b->events_raw_len)
		memcpy(*out + packed, b->events_raw, b->events_raw_len);
	rc = 0;
out:
	arena_reset(&a);
	return rc;
}

/* ---- decoding through protobuf-c ----------------------------------------
 * The reference for common/wire_decode.c, which the collector uses: tests
 * and fuzz targets check that both give the same batch. */

static int bad(struct wire_batch *b, const char *fmt, const char *what, size_t i)
{
	if (b->n_invalid++ == 0)
		snprintf(b->first_invalid, sizeof(b->first_invalid), fmt, what, i);
	return -1;
}

static bool category_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return s && n <= EVENT_CATEGORY_MAX && text_printable(s, n);
}

static int value_from_pb(const PbValue *pv, struct value *v)
{
	memset(v, 0, sizeof(*v));
	if (!pv)
		return 0;
	if (pv->v_case == MLWATCH__WIRE__VALUE__V_NUM) {
		if (!isfinite(pv->num))
			return -1;
		v->kind = VALUE_NUMBER;
		v->num = pv->num;
	} else if (pv->v_case == MLWATCH__WIRE__VALUE__V_STR) {
		if (!category_ok(pv->str))
			return -1;
		v->kind = VALUE_STRING;
		v->str = pv->str;
	}
	return 0;
}

/* A summary's finish reasons: few, valid names, counts within its LLM
 * events in total. */
static bool finish_ok(const PbSummary *ps)
{
	uint64_t sum = 0;
	if (ps->n_finish > WIRE_FINISH_MAX)
		return false;
	for (size_t k = 0; k < ps->n_finish; k++) {
		const Mlwatch__Wire__FinishCount *f = ps->finish[k];
		if (!event_finish_reason_valid(f->reason, strlen(f->reason)) || f->count > ps->llm)
			return false;
		sum += f->count;
	}
	return sum <= ps->llm;
}

static int event_from_pb(struct wire_batch *b, size_t i, const PbEvent *pe, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (!event_model_name_valid(pe->model, strlen(pe->model)))
		return bad(b, "%s %zu: invalid model name", "event", i);
	if (pe->id && !event_id_valid(pe->id, strlen(pe->id)))
		return bad(b, "%s %zu: invalid id", "event", i);
	if (pe->version && (strlen(pe->version) > EVENT_VERSION_MAX ||
	                    !text_printable(pe->version, strlen(pe->version))))
		return bad(b, "%s %zu: invalid version", "event", i);
	if (!isfinite(pe->ts) || pe->ts < 0)
		return bad(b, "%s %zu: invalid ts", "event", i);
	if (pe->has_latency_ms && !(pe->latency_ms >= 0 && isfinite(pe->latency_ms)))
		return bad(b, "%s %zu: invalid latency_ms", "event", i);
	if (pe->has_score && !(pe->score >= 0 && pe->score <= 1))
		return bad(b, "%s %zu: score outside [0, 1]", "event", i);
	if (pe->n_features > EVENT_FEATURES_MAX || pe->n_scores > EVENT_SCORES_MAX)
		return bad(b, "%s %zu: too many features or scores", "event", i);
	if ((pe->has_input_tokens && pe->input_tokens > (uint64_t)EVENT_TOKENS_MAX) ||
	    (pe->has_output_tokens && pe->output_tokens > (uint64_t)EVENT_TOKENS_MAX) ||
	    (pe->has_ttft_ms && !(pe->ttft_ms >= 0 && isfinite(pe->ttft_ms))) ||
	    (pe->has_tpot_ms && !(pe->tpot_ms >= 0 && isfinite(pe->tpot_ms))) ||
	    (pe->finish_reason &&
	     !event_finish_reason_valid(pe->finish_reason, strlen(pe->finish_reason))))
		return bad(b, "%s %zu: invalid LLM field", "event", i);
	ev->has_input_tokens = pe->has_input_tokens;
	ev->input_tokens = (int64_t)pe->input_tokens;
	ev->has_output_tokens = pe->has_output_tokens;
	ev->output_tokens = (int64_t)pe->output_tokens;
	ev->has_ttft = pe->has_ttft_ms;
	ev->ttft_ms = pe->ttft_ms;
	ev->has_tpot = pe->has_tpot_ms;
	ev->tpot_ms = pe->tpot_ms;
	ev->finish_reason = pe->finish_reason;
	ev->model = pe->model;
	ev->id = pe->id;
	ev->version = pe->version;
	ev->ts = pe->ts;
	ev->ts_given = true;
	ev->has_latency = pe->has_latency_ms;
	ev->latency_ms = pe->latency_ms;
	ev->error = pe->has_error && pe->error;
	ev->has_score = pe->has_score;
	ev->score = pe->score;
	if (pe->n_features) {
		ev->features = arena_alloc(&b->arena, pe->n_features * sizeof(*ev->features));
		if (!ev->features)
			return bad(b, "%s %zu: out of memory", "event", i);
		for (size_t k = 0; k < pe->n_features; k++) {
			const PbFeature *pf = pe->features[k];
			struct feature *f = &ev->features[k];
			if (!event_feature_name_valid(pf->name, strlen(pf->name)))
				return bad(b, "%s %zu: invalid feature name", "event", i);
			f->name = pf->name;
			if (pf->v_case == MLWATCH__WIRE__FEATURE__V_NUM) {
				if (!isfinite(pf->num))
					return bad(b, "%s %zu: non-finite feature", "event", i);
				f->kind = FEATURE_NUMERIC;
				f->num = pf->num;
			} else if (pf->v_case == MLWATCH__WIRE__FEATURE__V_CAT) {
				if (!category_ok(pf->cat))
					return bad(b, "%s %zu: invalid category", "event", i);
				f->kind = FEATURE_CATEGORICAL;
				f->str = pf->cat;
			} else if (pf->v_case == MLWATCH__WIRE__FEATURE__V_VEC) {
				/* 4 bytes a dimension after the header: len / 4
				 * floats always suffice */
				size_t cap = pf->vec.len / 4 < VECTOR_DIM_MAX ? pf->vec.len / 4 + 1
				                                              : VECTOR_DIM_MAX;
				float *v = arena_alloc_raw(&b->arena, cap * sizeof(float));
				size_t dim = 0;
				if (!v)
					return bad(b, "%s %zu: out of memory", "event", i);
				if (vector_decode(pf->vec.data, pf->vec.len, v, cap, &dim))
					return bad(b, "%s %zu: invalid vector feature", "event", i);
				f->kind = FEATURE_VECTOR;
				f->vec = v;
				f->dim = dim;
			}
		}
		ev->n_features = pe->n_features;
	}
	if (pe->n_scores) {
		ev->scores = arena_alloc(&b->arena, pe->n_scores * sizeof(*ev->scores));
		if (!ev->scores)
			return bad(b, "%s %zu: out of memory", "event", i);
		for (size_t k = 0; k < pe->n_scores; k++) {
			const PbScore *ps = pe->scores[k];
			if (!category_ok(ps->cls) || !(ps->p >= 0 && ps->p <= 1))
				return bad(b, "%s %zu: invalid class score", "event", i);
			ev->scores[k].cls = ps->cls;
			ev->scores[k].p = ps->p;
		}
		ev->n_scores = pe->n_scores;
	}
	if (value_from_pb(pe->prediction, &ev->prediction) || value_from_pb(pe->label, &ev->label))
		return bad(b, "%s %zu: invalid prediction or label", "event", i);
	return 0;
}

/* protobuf-c allocates every message, string and array of a decoded batch
 * separately; taking them from the batch's arena instead makes decoding a
 * few block mallocs and freeing it one arena_reset, with no walk of the
 * message tree. */
static void *pb_arena_alloc(void *arena, size_t n)
{
	return arena_alloc_raw(arena, n);
}

static void pb_arena_free(void *arena, void *p)
{
	(void)arena;
	(void)p; /* released with the arena */
}

int wire_decode_batch_pb(const uint8_t *buf, size_t len, size_t max_len, struct wire_batch *b,
                         char *err, size_t errlen)
{
	ProtobufCAllocator alloc = {pb_arena_alloc, pb_arena_free, NULL};
	PbBatch *pb;

	memset(b, 0, sizeof(*b));
	arena_init(&b->arena, 0);
	if (!max_len)
		max_len = WIRE_MAX_MESSAGE;
	if (len > max_len) {
		snprintf(err, errlen, "batch of %zu bytes exceeds the limit of %zu", len, max_len);
		return -1;
	}
	alloc.allocator_data = &b->arena;
	pb = mlwatch__wire__batch__unpack(&alloc, len, buf);
	if (!pb) {
		snprintf(err, errlen, "not a valid Batch message (%zu bytes)", len);
		arena_reset(&b->arena);
		return -1;
	}
	if (pb->protocol != WIRE_PROTOCOL) {
		snprintf(err, errlen,
		         "protocol version %u not supported (this collector speaks %d)",
		         pb->protocol, WIRE_PROTOCOL);
		goto fail;
	}
	size_t idlen = strlen(pb->agent_id);
	if (idlen < 1 || idlen > WIRE_AGENT_ID_MAX || !text_printable(pb->agent_id, idlen)) {
		snprintf(err, errlen, "agent_id must be 1-%d printable characters",
		         WIRE_AGENT_ID_MAX);
		goto fail;
	}
	if (pb->has_token && pb->token.len > WIRE_TOKEN_MAX) {
		snprintf(err, errlen, "token longer than %d bytes", WIRE_TOKEN_MAX);
		goto fail;
	}
	b->protocol = pb->protocol;
	b->agent_id = pb->agent_id;
	b->seq = pb->seq;
	if (pb->has_token) {
		b->token = pb->token.data;
		b->token_len = pb->token.len;
	}
	b->created = pb->has_created ? pb->created : 0;
	if (pb->stats) {
		const Mlwatch__Wire__AgentStats *s = pb->stats;
		b->stats.present = true;
		b->stats.received = s->received;
		b->stats.rejected = s->rejected;
		b->stats.spool_dropped = s->spool_dropped;
		b->stats.spool_bytes = s->spool_bytes;
		b->stats.started = s->has_started && isfinite(s->started) ? s->started : 0;
	}
	if (pb->n_events) {
		b->events = arena_alloc(&b->arena, pb->n_events * sizeof(*b->events));
		if (!b->events)
			goto oom;
		for (size_t i = 0; i < pb->n_events; i++)
			if (event_from_pb(b, i, pb->events[i], &b->events[b->n_events]) == 0)
				b->n_events++;
	}
	if (pb->n_labels) {
		b->labels = arena_alloc(&b->arena, pb->n_labels * sizeof(*b->labels));
		if (!b->labels)
			goto oom;
		for (size_t i = 0; i < pb->n_labels; i++) {
			const PbLabel *pl = pb->labels[i];
			struct label *l = &b->labels[b->n_labels];
			if (!event_model_name_valid(pl->model, strlen(pl->model)) ||
			    !event_id_valid(pl->id, strlen(pl->id)) ||
			    value_from_pb(pl->label, &l->label) || l->label.kind == VALUE_NONE ||
			    (pl->has_ts && !(isfinite(pl->ts) && pl->ts >= 0))) {
				bad(b, "%s %zu: invalid", "label", i);
				continue;
			}
			l->model = pl->model;
			l->id = pl->id;
			l->ts = pl->has_ts ? pl->ts : 0;
			l->ts_given = pl->has_ts;
			b->n_labels++;
		}
	}
	if (pb->n_summaries) {
		b->summaries = arena_alloc(&b->arena, pb->n_summaries * sizeof(*b->summaries));
		if (!b->summaries)
			goto oom;
		for (size_t i = 0; i < pb->n_summaries; i++) {
			const PbSummary *ps = pb->summaries[i];
			struct wire_summary *s = &b->summaries[b->n_summaries];
			if (!event_model_name_valid(ps->model, strlen(ps->model)) ||
			    ps->second < 0 || ps->count > WIRE_SUMMARY_COUNT_MAX ||
			    ps->errors > ps->count || ps->sampled > ps->count ||
			    (ps->has_latency_sketch && ps->latency_sketch.len > WIRE_SKETCH_MAX) ||
			    ps->llm > ps->count ||
			    ps->input_tokens > ps->llm * (uint64_t)EVENT_TOKENS_MAX ||
			    ps->output_tokens > ps->llm * (uint64_t)EVENT_TOKENS_MAX ||
			    (ps->has_ttft_sketch && ps->ttft_sketch.len > WIRE_SKETCH_MAX) ||
			    (ps->has_tpot_sketch && ps->tpot_sketch.len > WIRE_SKETCH_MAX) ||
			    !finish_ok(ps)) {
				bad(b, "%s %zu: invalid", "summary", i);
				continue;
			}
			s->model = ps->model;
			s->second = ps->second;
			s->count = ps->count;
			s->errors = ps->errors;
			s->sampled = ps->sampled;
			if (ps->has_latency_sketch && ps->latency_sketch.len) {
				s->sketch = ps->latency_sketch.data;
				s->sketch_len = ps->latency_sketch.len;
			}
			s->llm = ps->llm;
			s->input_tokens = ps->input_tokens;
			s->output_tokens = ps->output_tokens;
			if (ps->has_ttft_sketch && ps->ttft_sketch.len) {
				s->ttft = ps->ttft_sketch.data;
				s->ttft_len = ps->ttft_sketch.len;
			}
			if (ps->has_tpot_sketch && ps->tpot_sketch.len) {
				s->tpot = ps->tpot_sketch.data;
				s->tpot_len = ps->tpot_sketch.len;
			}
			if (ps->n_finish) {
				s->finish =
				    arena_alloc(&b->arena, ps->n_finish * sizeof(*s->finish));
				if (!s->finish)
					goto oom;
				for (size_t k = 0; k < ps->n_finish; k++) {
					s->finish[k].reason = ps->finish[k]->reason;
					s->finish[k].count = ps->finish[k]->count;
				}
				s->n_finish = ps->n_finish;
			}
			b->n_summaries++;
		}
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory decoding a batch of %zu bytes", len);
fail:
	arena_reset(&b->arena); /* and with it pb */
	return -1;
}

void wire_batch_free(struct wire_batch *b)
{
	arena_reset(&b->arena);
}

const char *wire_status_name(enum wire_status s)
{
	switch (s) {
	case WIRE_OK:
		return "ok";
	case WIRE_UNAUTHORIZED:
		return "unauthorized";
	case WIRE_INVALID:
		return "invalid";
	case WIRE_BUSY:
		return "busy";
	case WIRE_VERSION:
		return "version";
	}
	return "unknown";
}

int wire_encode_reply(const struct wire_reply *r, uint8_t **out, size_t *len)
{
	Mlwatch__Wire__Reply pb = MLWATCH__WIRE__REPLY__INIT;

	pb.seq = r->seq;
	pb.status = (Mlwatch__Wire__Status)r->status;
	pb.message = r->message[0] ? (char *)r->message : NULL;
	pb.has_duplicate = r->duplicate;
	pb.duplicate = r->duplicate;
	pb.has_stored = pb.has_rejected = 1;
	pb.stored = r->stored;
	pb.rejected = r->rejected;
	*len = mlwatch__wire__reply__get_packed_size(&pb);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return -1;
	mlwatch__wire__reply__pack(&pb, *out);
	return 0;
}

int wire_decode_reply(const uint8_t *buf, size_t len, struct wire_reply *r, char *err,
                      size_t errlen)
{
	Mlwatch__Wire__Reply *pb;

	memset(r, 0, sizeof(*r));
	if (len > 65536) {
		snprintf(err, errlen, "reply of %zu bytes is too large", len);
		return -1;
	}
	pb = mlwatch__wire__reply__unpack(NULL, len, buf);
	if (!pb) {
		snprintf(err, errlen, "not a valid Reply message");
		return -1;
	}
	r->seq = pb->seq;
	r->status = (enum wire_status)pb->status;
	r->duplicate = pb->has_duplicate && pb->duplicate;
	r->stored = pb->stored;
	r->rejected = pb->rejected;
	if (pb->message)
		text_sanitize(r->message, sizeof(r->message), pb->message);
	mlwatch__wire__reply__free_unpacked(pb, NULL);
	return 0;
}
