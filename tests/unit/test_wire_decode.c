/* Unit tests for common/wire_decode: the hand-written Batch decoder gives,
 * for any bytes, what the protobuf-c decoder (wire_decode_batch_pb, the
 * reference) gives: the same return code, the same error text, and on
 * success the same batch field for field (tests/lib/wire_same), n_invalid
 * and first_invalid included. Inputs: batches the agent's encoder writes
 * (hostile values too), pieces protobuf-c packs put together in unusual
 * orders, hand-written edge cases of the wire format, random field soups,
 * and a real batch truncated at every length and corrupted at every
 * offset. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwatch.pb-c.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"
#include "../lib/wire_same.h"
#include "vector.h"
#include "sample.h"
#include "wire.h"

/* ---- both decoders ------------------------------------------------------ */

struct tally {
	long accepted, refused, invalid_items;
};

/* Decodes buf with both decoders and requires the same outcome. Returns the
 * return code. */
static int agree_max(const uint8_t *buf, size_t len, size_t max_len, struct tally *t,
                     const char *what)
{
	struct wire_batch x, y;
	char ex[256] = "", ey[256] = "", why[256];
	int rx = wire_decode_batch_pb(buf, len, max_len, &x, ex, sizeof(ex));
	int ry = wire_decode_batch(buf, len, max_len, &y, ey, sizeof(ey));

	cr_assert_eq(rx, ry, "%s (%zu bytes): protobuf-c %d \"%s\", by hand %d \"%s\"", what, len,
	             rx, ex, ry, ey);
	if (rx != 0) {
		cr_assert_str_eq(ex, ey, "%s: error text", what);
		if (t)
			t->refused++;
		return rx;
	}
	cr_assert(wire_batch_same(&x, &y, why, sizeof(why)), "%s (%zu bytes): %s", what, len, why);
	if (t) {
		t->accepted++;
		t->invalid_items += (long)x.n_invalid;
	}
	wire_batch_free(&x);
	wire_batch_free(&y);
	return 0;
}

static int agree(const uint8_t *buf, size_t len, struct tally *t, const char *what)
{
	return agree_max(buf, len, 0, t, what);
}

/* ---- a protobuf writer for hand-made messages --------------------------- */

struct pw {
	uint8_t buf[1 << 16];
	size_t len;
};

static void pw_raw(struct pw *w, const void *p, size_t n)
{
	cr_assert_leq(w->len + n, sizeof(w->buf));
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void pw_varint(struct pw *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	pw_raw(w, b, n);
}

static void pw_tag(struct pw *w, unsigned num, unsigned wt)
{
	pw_varint(w, (uint64_t)num << 3 | wt);
}

static void pw_uint(struct pw *w, unsigned num, uint64_t v)
{
	pw_tag(w, num, 0);
	pw_varint(w, v);
}

static void pw_double(struct pw *w, unsigned num, double d)
{
	uint8_t b[8];
	uint64_t u;
	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(u >> (8 * i));
	pw_tag(w, num, 1);
	pw_raw(w, b, 8);
}

static void pw_bytes(struct pw *w, unsigned num, const void *p, size_t n)
{
	pw_tag(w, num, 2);
	pw_varint(w, n);
	pw_raw(w, p, n);
}

static void pw_str(struct pw *w, unsigned num, const char *s)
{
	pw_bytes(w, num, s, strlen(s));
}

static void pw_msg(struct pw *w, unsigned num, const struct pw *m)
{
	pw_bytes(w, num, m->buf, m->len);
}

static struct pw *pw_new(void)
{
	struct pw *w = malloc(sizeof(*w));
	cr_assert_not_null(w);
	w->len = 0;
	return w;
}

/* A Batch of the header and one event whose body is `model`, `ts` and then
 * tail[0..n) (edge cases of an Event's fields). */
static struct pw *batch_with_event_tail(const void *tail, size_t n)
{
	struct pw *w = pw_new(), *e = pw_new();
	pw_str(e, 1, "m");
	pw_double(e, 4, 1764072000.5);
	pw_raw(e, tail, n);
	pw_uint(w, 1, 1);
	pw_str(w, 2, "agent");
	pw_uint(w, 3, 9);
	pw_msg(w, 5, e);
	free(e);
	return w;
}

/* ---- batches the agent's encoder writes ---------------------------------- */

/* common/sample.h's generator; each test runs in its own process, so each
 * starts from the seed */
static struct sample_rng rng = {0x9e3779b97f4a7c15ull};
static uint64_t rnd(void)
{
	return sample_rng_next(&rng);
}
static double rndu(void)
{
	return sample_rng_double(&rng);
}
static bool one_in(unsigned n)
{
	return rnd() % n == 0;
}

static const char *const good_names[] = {"fraud", "churn.v2", "m-1", "x"};
static const char *const bad_names[] = {"", "bad model", "@x", "caf\xc3\xa9\x01", "\x7f", "a\nb"};
static const double odd_numbers[] = {NAN, INFINITY, -INFINITY, -0.0, -1, 1e308, 5e-324};

static const char *name(struct arena *a, unsigned bad_one_in, const char *prefix)
{
	char buf[300];
	if (one_in(bad_one_in))
		return bad_names[rnd() % (sizeof(bad_names) / sizeof(*bad_names))];
	if (one_in(50)) { /* longer than any limit */
		memset(buf, 'n', 299);
		buf[299] = '\0';
		return arena_strdup(a, buf);
	}
	snprintf(buf, sizeof(buf), "%s%d", prefix, (int)(rnd() % 20));
	return arena_strdup(a, buf);
}

static double number(unsigned odd_one_in, double scale)
{
	if (one_in(odd_one_in))
		return odd_numbers[rnd() % (sizeof(odd_numbers) / sizeof(*odd_numbers))];
	return rndu() * scale;
}

static void some_value(struct arena *a, struct value *v, unsigned bad_one_in)
{
	switch (rnd() % 3) {
	case 0:
		v->kind = VALUE_NONE;
		break;
	case 1:
		v->kind = VALUE_NUMBER;
		v->num = number(bad_one_in, 10);
		break;
	default:
		v->kind = VALUE_STRING;
		v->str = name(a, bad_one_in, "class-");
		break;
	}
}

/* An event with every kind of field, now and then a hostile one (the
 * encoder writes what it is given; decoding must judge it). */
static void some_event(struct arena *a, struct event *e, unsigned bad)
{
	memset(e, 0, sizeof(*e));
	e->model = one_in(bad) ? bad_names[rnd() % 6] : good_names[rnd() % 4];
	e->id = one_in(3) ? NULL : name(a, bad, "req-");
	e->version = one_in(2) ? NULL : name(a, bad, "v");
	e->ts = 1764072000 + number(bad, 1000);
	e->has_latency = !one_in(4);
	e->latency_ms = e->has_latency ? number(bad, 300) : 0;
	e->error = one_in(5);
	e->has_score = one_in(2);
	e->score = e->has_score ? (one_in(bad) ? 1.5 : rndu()) : 0;
	e->n_features = one_in(bad * 8) ? EVENT_FEATURES_MAX + 1 : rnd() % 12;
	e->features = arena_alloc(a, (e->n_features + 1) * sizeof(*e->features));
	for (size_t k = 0; k < e->n_features; k++) {
		struct feature *f = &e->features[k];
		f->name = k < 12 ? name(a, bad * 4, "f") : "g";
		f->kind = (enum feature_kind)(rnd() % 4);
		if (f->kind == FEATURE_NUMERIC) {
			f->num = number(bad * 2, 1e6);
		} else if (f->kind == FEATURE_CATEGORICAL) {
			f->str = name(a, bad * 2, "cat-");
		} else if (f->kind == FEATURE_VECTOR) {
			size_t dim = 1 + rnd() % 40;
			float *v = arena_alloc(a, dim * sizeof(*v));
			for (size_t j = 0; j < dim; j++)
				v[j] = (float)(rndu() * 2 - 1); /* the encoder refuses NaN */
			f->vec = v;
			f->dim = dim;
		}
	}
	e->n_scores = one_in(bad * 8) ? EVENT_SCORES_MAX + 1 : rnd() % 4;
	e->scores = arena_alloc(a, (e->n_scores + 1) * sizeof(*e->scores));
	for (size_t k = 0; k < e->n_scores; k++) {
		e->scores[k].cls = k < 4 ? name(a, bad * 2, "c") : "c";
		e->scores[k].p = one_in(bad * 2) ? -0.5 : rndu();
	}
	some_value(a, &e->prediction, bad * 2);
	some_value(a, &e->label, bad * 2);
	if (one_in(2)) {
		e->has_input_tokens = one_in(2);
		e->input_tokens = one_in(bad) ? EVENT_TOKENS_MAX + 1 : (int64_t)(rnd() % 100000);
		e->has_output_tokens = one_in(2);
		e->output_tokens = (int64_t)(rnd() % 5000);
		e->has_ttft = one_in(2);
		e->ttft_ms = number(bad, 2000);
		e->has_tpot = one_in(2);
		e->tpot_ms = number(bad, 50);
		e->finish_reason = one_in(2) ? NULL : one_in(bad) ? "Stop!" : "length";
	}
}

static void some_summary(struct arena *a, struct wire_summary *s, unsigned bad)
{
	memset(s, 0, sizeof(*s));
	s->model = one_in(bad) ? "bad model" : good_names[rnd() % 4];
	s->second = 1764072000 + (int64_t)(rnd() % 100) - (one_in(bad) ? 1764073000 : 0);
	s->count = one_in(bad) ? WIRE_SUMMARY_COUNT_MAX + 1 : rnd() % 100000 + 1;
	s->errors = rnd() % (s->count + (one_in(bad) ? 5 : 0));
	s->sampled = rnd() % s->count;
	s->sketch_len = one_in(bad * 4) ? WIRE_SKETCH_MAX + 1 : rnd() % 40;
	uint8_t *sk = arena_alloc(a, s->sketch_len + 1);
	for (size_t k = 0; k < s->sketch_len; k++)
		sk[k] = (uint8_t)rnd();
	s->sketch = s->sketch_len ? sk : NULL;
	if (one_in(2)) {
		s->llm = rnd() % s->count + 1;
		s->input_tokens = rnd() % 1000000;
		s->output_tokens = rnd() % 1000000;
		s->ttft = s->sketch;
		s->ttft_len = s->sketch_len;
		s->tpot = one_in(2) ? s->sketch : NULL;
		s->tpot_len = s->tpot ? s->sketch_len : 0;
		s->n_finish = one_in(bad) ? WIRE_FINISH_MAX + 1 : rnd() % 3;
		s->finish = arena_alloc(a, (s->n_finish + 1) * sizeof(*s->finish));
		for (size_t k = 0; k < s->n_finish; k++)
			s->finish[k] = (struct wire_finish){one_in(bad) ? "Bad" : "stop",
			                                    s->llm / (s->n_finish + 1)};
	}
}

/* A batch as the agent sends it: events encoded one by one as they arrive
 * (wire_events_append), then labels, summaries and stats packed by
 * protobuf-c, the events after them. */
static void agent_batch(struct arena *a, unsigned bad, uint8_t **buf, size_t *len)
{
	struct wire_batch b = {.protocol = WIRE_PROTOCOL, .seq = rnd()};
	struct wire_events w = {0};
	size_t n = rnd() % 40;

	b.agent_id = one_in(bad * 10) ? "" : "agent-1";
	if (one_in(2)) {
		b.token = (const uint8_t *)"s3cret";
		b.token_len = 6;
	}
	b.created = one_in(2) ? 1764072000.25 : 0;
	for (size_t i = 0; i < n; i++) {
		struct event e;
		some_event(a, &e, bad);
		cr_assert_eq(wire_events_append(&w, &e), 0);
	}
	b.events_raw = w.buf;
	b.events_raw_len = w.len;
	b.n_labels = rnd() % 6;
	b.labels = arena_alloc(a, (b.n_labels + 1) * sizeof(*b.labels));
	for (size_t i = 0; i < b.n_labels; i++) {
		struct label *l = &b.labels[i];
		l->model = one_in(bad) ? "bad model" : good_names[rnd() % 4];
		l->id = name(a, bad, "req-");
		some_value(a, &l->label, bad);
		l->ts = number(bad, 1e9);
		l->ts_given = true;
	}
	b.n_summaries = rnd() % 4;
	b.summaries = arena_alloc(a, (b.n_summaries + 1) * sizeof(*b.summaries));
	for (size_t i = 0; i < b.n_summaries; i++)
		some_summary(a, &b.summaries[i], bad);
	if (one_in(2)) {
		b.stats = (struct wire_agent_stats){true, rnd() % 1000, rnd() % 10,
		                                    0,    rnd() % 4096, number(bad, 1e9)};
	}
	cr_assert_eq(wire_encode_batch(&b, buf, len), 0);
	wire_events_free(&w);
}

Test(wire_decode, agent_batches_decode_the_same)
{
	struct tally t = {0};
	for (int iter = 0; iter < 600; iter++) {
		struct arena a;
		uint8_t *buf;
		size_t len;
		arena_init(&a, 0);
		/* a third without hostile values, the rest with more and more */
		agent_batch(&a, iter % 3 == 0 ? 1000000 : 2 + (unsigned)(iter % 3) * 10, &buf,
		            &len);
		agree(buf, len, &t, "agent batch");
		free(buf);
		arena_reset(&a);
	}
	printf("wire_decode: agent batches: %ld decoded (%ld invalid items), %ld refused\n",
	       t.accepted, t.invalid_items, t.refused);
	cr_expect_gt(t.accepted, 400);
	cr_expect_gt(t.invalid_items, 500, "hostile values reach the validation");
	cr_expect_gt(t.refused, 0, "an empty agent_id refuses the batch");
}

/* Every rule of event_from_pb, one event each, with its message. */
Test(wire_decode, each_invalid_event_has_its_message)
{
	static const struct {
		const char *msg;
		struct event e;
	} cases[] = {
	    {"invalid model name", {.model = "a b", .ts = 1}},
	    {"invalid id", {.model = "m", .id = "", .ts = 1}},
	    {"invalid version", {.model = "m", .version = "v\x01", .ts = 1}},
	    {"invalid ts", {.model = "m", .ts = -1}},
	    {"invalid latency_ms", {.model = "m", .ts = 1, .has_latency = true, .latency_ms = -2}},
	    {"score outside [0, 1]", {.model = "m", .ts = 1, .has_score = true, .score = 2}},
	    {"invalid LLM field", {.model = "m", .ts = 1, .has_tpot = true, .tpot_ms = NAN}},
	    {"invalid prediction or label",
	     {.model = "m", .ts = 1, .label = {.kind = VALUE_STRING, .str = "\x01"}}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct wire_batch b = {.protocol = 1, .agent_id = "a", .seq = 1}, d;
		struct event ev = cases[i].e;
		uint8_t *buf;
		size_t len;
		char err[256], want[128];
		b.events = &ev;
		b.n_events = 1;
		cr_assert_eq(wire_encode_batch(&b, &buf, &len), 0);
		agree(buf, len, NULL, cases[i].msg);
		cr_assert_eq(wire_decode_batch(buf, len, 0, &d, err, sizeof(err)), 0, "%s", err);
		snprintf(want, sizeof(want), "event 0: %s", cases[i].msg);
		cr_expect_str_eq(d.first_invalid, want);
		cr_expect_eq(d.n_invalid, 1);
		wire_batch_free(&d);
		free(buf);
	}
}

/* ---- protobuf-c's packer, pieces in unusual orders ---------------------- */

/* Packs m with protobuf-c into w after what w holds. */
static void pw_packed(struct pw *w, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	cr_assert_leq(w->len + n, sizeof(w->buf));
	w->len += protobuf_c_message_pack(m, w->buf + w->len);
}

Test(wire_decode, protobuf_c_pieces_in_any_order_decode_the_same)
{
	/* Concatenated messages are one message with the fields of both
	 * (protobuf's merge): the header after the events, a header given
	 * twice, an event's fields spread over two copies, unknown fields of
	 * every wire type that protobuf-c packs after the known ones. */
	Mlwatch__Wire__Batch head = MLWATCH__WIRE__BATCH__INIT, head2 = MLWATCH__WIRE__BATCH__INIT,
	                     evs = MLWATCH__WIRE__BATCH__INIT;
	Mlwatch__Wire__Event e1 = MLWATCH__WIRE__EVENT__INIT, e2 = MLWATCH__WIRE__EVENT__INIT;
	Mlwatch__Wire__Value num = MLWATCH__WIRE__VALUE__INIT, str = MLWATCH__WIRE__VALUE__INIT;
	Mlwatch__Wire__Feature f = MLWATCH__WIRE__FEATURE__INIT;
	Mlwatch__Wire__Feature *fp[1] = {&f};
	Mlwatch__Wire__Event *ep[2] = {&e1, &e2};
	uint8_t u8[4] = {1, 2, 3, 4}, u64[8] = {1, 2, 3, 4, 5, 6, 7, 8}, uv[2] = {0x96, 0x01},
	        ul[3] = {2, 'h', 'i'};
	ProtobufCMessageUnknownField unk[4] = {
	    {100, PROTOBUF_C_WIRE_TYPE_VARINT, 2, uv},
	    {101, PROTOBUF_C_WIRE_TYPE_64BIT, 8, u64},
	    {102, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, 3, ul},
	    {103, PROTOBUF_C_WIRE_TYPE_32BIT, 4, u8},
	};
	struct tally t = {0};

	head.protocol = 1;
	head.agent_id = "agent-a";
	head.seq = 5;
	head2 = head;
	head2.agent_id = "agent-b";
	head2.seq = 6;
	head2.has_created = 1;
	head2.created = 17.5;
	num.v_case = MLWATCH__WIRE__VALUE__V_NUM;
	num.num = 3;
	str.v_case = MLWATCH__WIRE__VALUE__V_STR;
	str.str = "yes";
	f.name = "amount";
	f.v_case = MLWATCH__WIRE__FEATURE__V_NUM;
	f.num = 12.5;
	e1.model = "fraud";
	e1.ts = 1764072000;
	e1.prediction = &num;
	e1.n_features = 1;
	e1.features = fp;
	e2 = e1;
	e2.prediction = &str;
	e2.has_score = 1;
	e2.score = 0.25;
	evs.protocol = 1;
	evs.agent_id = "x";
	evs.n_events = 2;
	evs.events = ep;

	for (int mask = 0; mask < 16; mask++) {
		struct pw *w = pw_new();
		/* unknown fields on the batch, an event and a value */
		head.base.n_unknown_fields = mask & 1 ? 4 : 0;
		head.base.unknown_fields = unk;
		e1.base.n_unknown_fields = mask & 2 ? 4 : 0;
		e1.base.unknown_fields = unk;
		num.base.n_unknown_fields = mask & 2 ? 2 : 0;
		num.base.unknown_fields = unk + 2;
		if (mask & 4) {
			pw_packed(w, &evs.base);
			pw_packed(w, &head.base);
		} else {
			pw_packed(w, &head.base);
			pw_packed(w, &evs.base);
		}
		if (mask & 8)
			pw_packed(w, &head2.base); /* the last header wins */
		cr_assert_eq(agree(w->buf, w->len, &t, "pieces"), 0);
		free(w);
	}

	/* one event given as two copies of its fields: they merge */
	struct pw *w = pw_new(), *ev = pw_new();
	pw_packed(w, &head.base);
	pw_packed(ev, &e1.base);
	pw_packed(ev, &e2.base);
	pw_msg(w, 5, ev);
	struct wire_batch d;
	char err[256];
	cr_assert_eq(agree(w->buf, w->len, &t, "merged event"), 0);
	cr_assert_eq(wire_decode_batch(w->buf, w->len, 0, &d, err, sizeof(err)), 0);
	cr_assert_eq(d.n_events, 1);
	cr_expect_eq(d.events[0].n_features, 2, "repeated fields add up");
	cr_expect_eq(d.events[0].prediction.kind, VALUE_STRING, "the last Value member wins");
	cr_expect(d.events[0].has_score);
	wire_batch_free(&d);
	free(ev);
	free(w);
	cr_expect_eq(t.accepted, 17);
}

/* ---- edge cases of the wire format -------------------------------------- */

struct edge {
	const char *what;
	const char *bytes; /* appended to an Event's model and ts */
	size_t n;
	int rc; /* the outcome protobuf-c gives */
};

/* one edge case a line */
/* clang-format off */
#define EDGE(what, s, rc) {what, s, sizeof(s) - 1, rc}
#define PRED_NUM "\x42\x09\x09\0\0\0\0\0\0\x00\x40" /* prediction {num: 2} */

static const struct edge edges[] = {
    EDGE("nothing more", "", 0),
    EDGE("unknown varint", "\xf8\x07\x96\x01", 0),
    EDGE("unknown fixed64", "\xf9\x07" "12345678", 0),
    EDGE("unknown bytes", "\xfa\x07\x03" "abc", 0),
    EDGE("unknown fixed32", "\xfd\x07" "1234", 0),
    EDGE("unknown fixed32, short", "\xfd\x07" "123", -1),
    EDGE("group start", "\xfb\x07", -1),
    EDGE("group end", "\xfc\x07", -1),
    EDGE("wire type 6", "\xfe\x07", -1),
    EDGE("wire type 7", "\xff\x07", -1),
    EDGE("field number 0, one byte", "\x00", -1),
    EDGE("field number 0, two bytes", "\x80\x00\x01", 0),
    EDGE("tag of 5 bytes", "\x82\x80\x80\x80\x00\x02v2", 0),
    EDGE("tag of 6 bytes", "\x82\x80\x80\x80\x80\x00\x02v2", -1),
    EDGE("tag past field 2^28", "\x82\x80\x80\x80\x7f\x02v2", 0),
    EDGE("varint of 10 bytes", "\x60\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 0),
    EDGE("varint of 11 bytes", "\x60\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", -1),
    EDGE("varint cut", "\x60\xff", -1),
    EDGE("length of 5 bytes", "\x12\x82\x80\x80\x80\x00v2", 0),
    EDGE("length of 6 bytes", "\x12\x82\x80\x80\x80\x80\x00v2", -1),
    EDGE("length 2^31", "\x12\x80\x80\x80\x80\x08v2", -1),
    EDGE("length 2^32", "\x12\x80\x80\x80\x80\x10v2", -1),
    EDGE("length past the end", "\x12\x05v2", -1),
    EDGE("fixed64 cut", "\x29\0\0\0", -1),
    EDGE("model as varint", "\x08\x01", -1),
    EDGE("ts as fixed32", "\x25\0\0\0\0", -1),
    EDGE("latency as varint", "\x28\x01", -1),
    EDGE("features as varint", "\x38\x01", -1),
    EDGE("tokens as fixed64", "\x61\0\0\0\0\0\0\0\0", -1),
    EDGE("feature without name", "\x3a\x09\x11\0\0\0\0\0\0\xf0\x3f", -1),
    EDGE("feature num as bytes", "\x3a\x05\x0a\x01" "a\x12\x00", -1),
    EDGE("feature: num then cat", "\x3a\x0f\x0a\x01" "a\x11\0\0\0\0\0\0\xf0\x3f\x1a\x01z", 0),
    EDGE("feature: cat then num", "\x3a\x0f\x0a\x01" "a\x1a\x01z\x11\0\0\0\0\0\0\xf0\x3f", 0),
    EDGE("feature: empty vector", "\x3a\x05\x0a\x01" "a\x22\x00", 0),
    EDGE("feature: name twice", "\x3a\x06\x0a\x01" "a\x0a\x01" "b", 0),
    EDGE("class score without p", "\x52\x03\x0a\x01" "c", -1),
    EDGE("class score without cls", "\x52\x09\x11\0\0\0\0\0\0\xe0\x3f", -1),
    EDGE("prediction empty", "\x42\x00", 0),
    EDGE("prediction empty twice", "\x42\x00\x42\x00", -1),
    EDGE("prediction only unknown, then empty", "\x42\x02\x18\x01\x42\x00", -1),
    EDGE("prediction num, then empty", PRED_NUM "\x42\x00", 0),
    EDGE("prediction empty, then num", "\x42\x00" PRED_NUM, 0),
    EDGE("prediction num, empty, empty", PRED_NUM "\x42\x00\x42\x00", 0),
    EDGE("prediction str, then num", "\x42\x03\x12\x01q" PRED_NUM, 0),
    EDGE("prediction num then str inside", "\x42\x0c\x09\0\0\0\0\0\0\x00\x40\x12\x01q", 0),
    EDGE("prediction num as varint", "\x42\x02\x08\x01", -1),
    EDGE("label empty twice", "\x5a\x00\x5a\x00", -1),
    EDGE("error: varint 1", "\x30\x01", 0),
    EDGE("error: varint 0x80 0x00", "\x30\x80\x00", 0),
    EDGE("error: fixed64", "\x31\0\0\0\0\0\0\0\x01", 0),
    EDGE("error: fixed64 of 0x80", "\x31\x80\0\0\0\0\0\0\0", 0),
    EDGE("error: bytes of a zero", "\x32\x01\x00", 0),
    EDGE("error: empty bytes", "\x32\x00", 0),
    EDGE("error: fixed32", "\x35\0\0\x01\0", 0),
    EDGE("error: true then false", "\x30\x01\x30\x00", 0),
    EDGE("model with a NUL", "\x0a\x05" "ab\0cd", 0),
    EDGE("model a NUL first", "\x0a\x03\0ab", 0),
    EDGE("id with a NUL", "\x1a\x04r\0\x01\x02", 0),
    EDGE("id empty", "\x1a\x00", 0),
    EDGE("version empty", "\x12\x00", 0),
    EDGE("finish reason with a NUL", "\x82\x01\x06stop\0X", 0),
    EDGE("category with a NUL", "\x3a\x08\x0a\x01" "a\x1a\x03" "b\0\x01", 0),
    EDGE("ts twice, the last NaN", "\x21\0\0\0\0\0\0\xf8\x7f", 0),
    EDGE("tokens past 2^32", "\x60\x81\x80\x80\x80\x10", 0),
    EDGE("tokens 2^64-1", "\x68\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 0),
    EDGE("ttft -0", "\x71\0\0\0\0\0\0\0\x80", 0),
};
/* clang-format on */

Test(wire_decode, wire_format_edge_cases_decode_the_same)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(*edges); i++) {
		struct pw *w = batch_with_event_tail(edges[i].bytes, edges[i].n);
		int rc = agree(w->buf, w->len, NULL, edges[i].what);
		cr_expect_eq(rc, edges[i].rc, "%s: %d", edges[i].what, rc);
		free(w);
	}
}

/* What C code sees of a string with a NUL, a bool from a length-delimited
 * field, merged Values: spelled out once, beyond "the same as protobuf-c". */
Test(wire_decode, edge_cases_give_what_protobuf_c_gives)
{
	struct wire_batch d;
	char err[256];
	struct pw *w;

	/* model "ab\0cd", error as bytes {0}, prediction num then empty */
	static const char tail[] = "\x0a\005ab\0cd\x32\x01\x00" PRED_NUM "\x42\x00";
	w = batch_with_event_tail(tail, sizeof(tail) - 1);
	cr_assert_eq(wire_decode_batch(w->buf, w->len, 0, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.n_events, 1, "%s", d.first_invalid);
	cr_expect_str_eq(d.events[0].model, "ab", "the model up to its NUL");
	cr_expect(d.events[0].error, "a bool from any byte after the tag: the length 1");
	cr_expect_eq(d.events[0].prediction.kind, VALUE_NUMBER, "an empty Value merges");
	cr_expect_eq(d.events[0].prediction.num, 2);
	wire_batch_free(&d);
	free(w);

	w = batch_with_event_tail("\x42\x00\x42\x00", 4);
	char want[64];
	snprintf(want, sizeof(want), "not a valid Batch message (%zu bytes)", w->len);
	cr_expect_eq(wire_decode_batch(w->buf, w->len, 0, &d, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want, "two empty Values do not merge");
	free(w);
}

/* The Batch's own fields: required ones missing, given twice, out of
 * order, with the wrong wire type; labels, summaries and stats merged and
 * in any order; the header rules. */
Test(wire_decode, batch_fields_decode_the_same)
{
	struct tally t = {0};
	for (int mask = 0; mask < (1 << 12); mask++) {
		struct pw *w = pw_new(), *m = pw_new();
		if (!(mask & 1))
			pw_uint(w, 1, mask & 2048 ? 2 : 1);
		if (mask & 2) { /* labels before the header, one invalid */
			m->len = 0;
			pw_str(m, 1, "fraud");
			pw_str(m, 2, mask & 1024 ? "r 1\x01" : "r1");
			pw_bytes(m, 3, "\x12\x03yes", 5);
			pw_double(m, 4, 12);
			pw_msg(w, 6, m);
			m->len = 0;
			pw_str(m, 2, "r2");
			pw_str(m, 1, "fraud");
			pw_bytes(m, 3, "\x09\0\0\0\0\0\0\xf0\x3f", 9);
			pw_bytes(m, 3, "", 0); /* merged: keeps 1.0 */
			pw_msg(w, 6, m);
		}
		if (!(mask & 4))
			pw_str(w, 2, mask & 512 ? "agent\0tail" : "agent");
		if (mask & 8) { /* a summary, fields backwards, finish reasons */
			m->len = 0;
			pw_bytes(m, 12, "\x0a\x04stop\x10\x02", 8);
			pw_bytes(m, 11, "\x01\x02", 2);
			pw_bytes(m, 10, "", 0);
			pw_uint(m, 7, 3);
			pw_uint(m, 6, 1);
			pw_bytes(m, 5, "\x05\x06\x07", 3);
			pw_uint(m, 4, mask & 256 ? 9 : 1);
			pw_uint(m, 3, 4);
			pw_uint(m, 2, 1764072000);
			pw_str(m, 1, "fraud");
			pw_msg(w, 7, m);
		}
		if (!(mask & 16))
			pw_uint(w, 3, 77);
		if (mask & 32) { /* stats twice: merged field by field */
			m->len = 0;
			pw_uint(m, 1, 10);
			pw_double(m, 5, 1764000000);
			pw_msg(w, 9, m);
			m->len = 0;
			pw_uint(m, 2, 3);
			pw_msg(w, 9, m);
		}
		if (mask & 64)
			pw_bytes(w, 4, "tok", 3);
		if (mask & 128)
			pw_double(w, 8, 1.5);
		if ((mask & 0x3f) == 0x3f) { /* wrong wire types */
			pw_tag(w, 8, 0);
			pw_varint(w, 1);
		}
		if ((mask & 0x7ff) == 0x0f0)
			pw_uint(w, 1, (UINT64_C(1) << 32) + 1); /* protocol as uint32: 1 */
		agree(w->buf, w->len, &t, "batch fields");
		free(m);
		free(w);
	}
	printf("wire_decode: batch field sets: %ld decoded (%ld invalid items), %ld refused\n",
	       t.accepted, t.invalid_items, t.refused);
	cr_expect_gt(t.accepted, 100);
	cr_expect_gt(t.refused, 100);
	cr_expect_gt(t.invalid_items, 100);
}

/* ---- random field soups --------------------------------------------------- */

/* A random field of a message whose known fields are (num, wire type) in
 * known[]: mostly known ones with the right type, sometimes the wrong type,
 * unknown fields, odd encodings. sub() writes a nested message's body. */
struct field_kind {
	unsigned num, wt;
	void (*sub)(struct pw *, int depth);
};

static void soup(struct pw *w, const struct field_kind *known, size_t n, size_t fields, int depth);

static void soup_value(struct pw *w, int depth)
{
	static const struct field_kind k[] = {{1, 1, NULL}, {2, 2, NULL}};
	soup(w, k, 2, rnd() % 3, depth);
}
static void soup_feature(struct pw *w, int depth)
{
	static const struct field_kind k[] = {
	    {1, 2, NULL}, {2, 1, NULL}, {3, 2, NULL}, {4, 2, NULL}};
	if (!one_in(30))
		pw_str(w, 1, one_in(10) ? "f 1" : "f1");
	soup(w, k, 4, rnd() % 3, depth);
}
static void soup_score(struct pw *w, int depth)
{
	static const struct field_kind k[] = {{1, 2, NULL}, {2, 1, NULL}};
	if (!one_in(30))
		pw_str(w, 1, "c");
	if (!one_in(30))
		pw_double(w, 2, one_in(10) ? 2.0 : 0.5);
	soup(w, k, 2, rnd() % 2, depth);
}
static void soup_event(struct pw *w, int depth)
{
	static const struct field_kind k[] = {
	    {1, 2, NULL},  {2, 2, NULL},        {3, 2, NULL},         {4, 1, NULL},
	    {5, 1, NULL},  {6, 0, NULL},        {7, 2, soup_feature}, {8, 2, soup_value},
	    {9, 1, NULL},  {10, 2, soup_score}, {11, 2, soup_value},  {12, 0, NULL},
	    {13, 0, NULL}, {14, 1, NULL},       {15, 1, NULL},        {16, 2, NULL},
	};
	if (!one_in(40))
		pw_str(w, 1, one_in(20) ? "bad model" : "fraud");
	if (!one_in(40))
		pw_double(w, 4, one_in(20) ? NAN : 1764072000.0);
	soup(w, k, 16, rnd() % 8, depth);
}
static void soup_label(struct pw *w, int depth)
{
	static const struct field_kind k[] = {
	    {1, 2, NULL}, {2, 2, NULL}, {3, 2, soup_value}, {4, 1, NULL}};
	if (!one_in(30))
		pw_str(w, 1, "fraud");
	if (!one_in(30))
		pw_str(w, 2, "r1");
	if (!one_in(30))
		pw_bytes(w, 3, "\x12\x01y", 3);
	soup(w, k, 4, rnd() % 3, depth);
}
static void soup_finish(struct pw *w, int depth)
{
	static const struct field_kind k[] = {{1, 2, NULL}, {2, 0, NULL}};
	soup(w, k, 2, 1 + rnd() % 3, depth);
}
static void soup_summary(struct pw *w, int depth)
{
	static const struct field_kind k[] = {
	    {1, 2, NULL}, {2, 0, NULL},  {3, 0, NULL},  {4, 0, NULL},
	    {5, 2, NULL}, {6, 0, NULL},  {7, 0, NULL},  {8, 0, NULL},
	    {9, 0, NULL}, {10, 2, NULL}, {11, 2, NULL}, {12, 2, soup_finish},
	};
	if (!one_in(30))
		pw_str(w, 1, "fraud");
	if (!one_in(30))
		pw_uint(w, 2, 1764072000);
	if (!one_in(30))
		pw_uint(w, 3, rnd() % 10);
	soup(w, k, 12, rnd() % 6, depth);
}
static void soup_stats(struct pw *w, int depth)
{
	static const struct field_kind k[] = {
	    {1, 0, NULL}, {2, 0, NULL}, {3, 0, NULL}, {4, 0, NULL}, {5, 1, NULL}};
	soup(w, k, 5, rnd() % 4, depth);
}

static const char *const soup_strings[] = {"",     "fraud", "stop", "a b",
                                           "x\0y", "\x01",  "r1",   "caf\xc3\xa9"};

/* The tag of (num, wt) in two bytes more than it needs (protobuf-c reads
 * up to 5). */
static void pw_tag_long(struct pw *w, unsigned num, unsigned wt)
{
	size_t at = w->len;
	pw_tag(w, num, wt);
	w->buf[w->len - 1] |= 0x80;
	pw_raw(w, "\x80\x00", 2);
	cr_assert_leq(w->len - at, 5);
}

static void soup(struct pw *w, const struct field_kind *known, size_t n, size_t fields, int depth)
{
	for (size_t i = 0; i < fields; i++) {
		const struct field_kind *k = &known[rnd() % n];
		unsigned num = k->num, wt = k->wt;
		if (one_in(25)) /* the wrong wire type */
			wt = (unsigned[]){0, 1, 2, 5}[rnd() % 4];
		if (one_in(15)) /* an unknown field */
			num = 17 + (unsigned)(rnd() % 2000);
		if (one_in(40))
			pw_tag_long(w, num, wt);
		else
			pw_tag(w, num, wt);
		switch (wt) {
		case 0:
			pw_varint(w, one_in(4) ? rnd() : rnd() % 200);
			break;
		case 1: {
			double d = one_in(5) ? odd_numbers[rnd() % 7] : rndu();
			uint8_t b[8];
			memcpy(b, &d, 8);
			pw_raw(w, b, 8);
			break;
		}
		case 5:
			pw_raw(w, "\x00\x00\x80\x3f", 4);
			break;
		default:
			if (k->sub && num == k->num && depth < 4) {
				struct pw *m = pw_new();
				k->sub(m, depth + 1);
				pw_varint(w, m->len);
				pw_raw(w, m->buf, m->len);
				free(m);
			} else {
				/* "x\0y" with its NUL */
				const char *s = soup_strings[rnd() % 8];
				size_t sl = strlen(s) + (s[0] == 'x' ? 2 : 0);
				pw_varint(w, sl);
				pw_raw(w, s, sl);
			}
		}
	}
}

static void soup_batch(struct pw *w)
{
	static const struct field_kind k[] = {
	    {1, 0, NULL},         {2, 2, NULL},       {3, 0, NULL},
	    {4, 2, NULL},         {5, 2, soup_event}, {6, 2, soup_label},
	    {7, 2, soup_summary}, {8, 1, NULL},       {9, 2, soup_stats},
	};
	w->len = 0;
	if (!one_in(50))
		pw_uint(w, 1, 1);
	if (!one_in(50))
		pw_str(w, 2, "agent");
	if (!one_in(50))
		pw_uint(w, 3, 1);
	for (int i = (int)(rnd() % 12); i > 0; i--) { /* mostly events */
		struct pw *m = pw_new();
		soup_event(m, 1);
		pw_msg(w, 5, m);
		free(m);
	}
	soup(w, k, sizeof(k) / sizeof(*k), rnd() % 6, 0);
}

Test(wire_decode, random_field_soups_decode_the_same)
{
	struct tally t = {0};
	struct pw *w = pw_new();
	for (int iter = 0; iter < 20000; iter++) {
		soup_batch(w);
		agree(w->buf, w->len, &t, "soup");
	}
	free(w);
	printf("wire_decode: field soups: %ld decoded (%ld invalid items), %ld refused\n",
	       t.accepted, t.invalid_items, t.refused);
	cr_expect_gt(t.accepted, 2000);
	cr_expect_gt(t.refused, 2000);
	cr_expect_gt(t.invalid_items, 2000);
}

/* ---- a real batch, cut and corrupted ------------------------------------ */

/* bench_collector's batch (tests/bench/bench_collector.c): events of 8
 * features, a prediction, a score, an id; per-second summaries with their
 * latency sketches; then a vector feature, class scores and LLM fields so
 * every kind of field is in it. */
static void real_batch(uint8_t **buf, size_t *len)
{
	static const char *const countries[] = {"DE", "FR", "US", "GB"};
	struct wc_batch wb;
	double lat[20];

	wc_batch_init(&wb, "agent-1", 42, "s3cret");
	for (long i = 0; i < 20; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%ld", i);
		struct wc_feature f[8] = {
		    {"amount", 1, (double)((i * 31) % 10000) / 10.0, NULL},
		    {"age", 1, (double)(18 + i % 60), NULL},
		    {"items", 1, (double)(1 + i % 7), NULL},
		    {"hour", 1, (double)(i % 24), NULL},
		    {"country", 2, 0, countries[i % 4]},
		    {"device", 2, 0, i % 3 ? "ios" : "web"},
		    {"channel", 2, 0, i % 2 ? "app" : "site"},
		    {"tier", 2, 0, i % 5 ? "std" : "gold"},
		};
		lat[i] = 1.0 + (double)((i * 7919) % 100000) / 1000.0;
		cr_assert_eq(wc_batch_event(&wb, "fraud", id, 1764072000.0 + (double)i * 0.1,
		                            lat[i], i % 9 == 0, f, 8,
		                            wc_str(i % 4 ? "legit" : "fraud"),
		                            0.5 + (double)(i % 50) / 100.0, wc_none()),
		             0);
	}
	cr_assert_eq(wc_batch_summary(&wb, "fraud", 1764072000, 10, 1, 10, lat, 10), 0);
	cr_assert_eq(wc_batch_summary(&wb, "fraud", 1764072001, 10, 0, 10, lat + 10, 10), 0);
	cr_assert_eq(wc_batch_label(&wb, "fraud", "r3", wc_str("fraud"), 1764072100.0), 0);

	/* one event with what the bench lacks */
	static float v[16];
	for (int j = 0; j < 16; j++)
		v[j] = (float)j / 3.0f;
	struct feature vf = {.name = "emb", .kind = FEATURE_VECTOR, .vec = v, .dim = 16};
	struct class_score cs[2] = {{"fraud", 0.25}, {"legit", 0.75}};
	struct event e = {.model = "llm",
	                  .ts = 1764072005,
	                  .features = &vf,
	                  .n_features = 1,
	                  .scores = cs,
	                  .n_scores = 2,
	                  .has_input_tokens = true,
	                  .input_tokens = 120,
	                  .has_output_tokens = true,
	                  .output_tokens = 30,
	                  .has_ttft = true,
	                  .ttft_ms = 80,
	                  .has_tpot = true,
	                  .tpot_ms = 9.5,
	                  .finish_reason = "stop",
	                  .label = {.kind = VALUE_NUMBER, .num = 1}};
	struct wire_events we = {0};
	cr_assert_eq(wire_events_append(&we, &e), 0);
	wb.b.events_raw = we.buf;
	wb.b.events_raw_len = we.len;
	wb.b.stats = (struct wire_agent_stats){true, 100, 2, 0, 4096, 1764000000.0};
	cr_assert_eq(wc_batch_encode(&wb, buf, len), 0);
	wb.b.events_raw = NULL;
	wire_events_free(&we);
	wc_batch_free(&wb);
}

Test(wire_decode, a_real_batch_cut_at_every_length)
{
	uint8_t *buf;
	size_t len;
	struct tally t = {0};
	real_batch(&buf, &len);
	cr_assert_eq(agree(buf, len, NULL, "whole"), 0);
	for (size_t cut = 0; cut < len; cut++) {
		/* a copy of exactly cut bytes, so that ASan sees a read past it */
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, buf, cut);
		agree(c, cut, &t, "cut");
		free(c);
	}
	printf("wire_decode: a batch of %zu bytes cut at every length: %ld decoded, %ld "
	       "refused\n",
	       len, t.accepted, t.refused);
	cr_expect_gt(t.refused, (long)len / 2);
	free(buf);
}

Test(wire_decode, a_real_batch_corrupted_at_every_offset)
{
	static const uint8_t masks[] = {0x01, 0x02, 0x08, 0x40, 0x80, 0xff};
	uint8_t *buf;
	size_t len;
	struct tally t = {0};
	real_batch(&buf, &len);
	for (size_t at = 0; at < len; at++) {
		for (size_t m = 0; m < sizeof(masks) + 1; m++) {
			uint8_t old = buf[at];
			buf[at] = m < sizeof(masks) ? (uint8_t)(old ^ masks[m]) : 0;
			agree(buf, len, &t, "corrupted");
			buf[at] = old;
		}
	}
	printf("wire_decode: a batch of %zu bytes corrupted at every offset: %ld decoded "
	       "(%ld invalid items), %ld refused\n",
	       len, t.accepted, t.invalid_items, t.refused);
	cr_expect_gt(t.accepted, 0);
	cr_expect_gt(t.refused, 0);
	cr_expect_gt(t.invalid_items, 0);
	free(buf);
}

/* The committed real batches: the golden bytes and the fuzz seeds. */
Test(wire_decode, committed_batches_decode_the_same)
{
	static const char *const files[] = {"tests/fuzz/corpus/wire/batch"};
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		size_t len = 0;
		char *path = h_src(files[i]);
		char *data = h_read_file(path, &len);
		cr_assert_not_null(data, "cannot read %s", path);
		cr_expect_eq(agree((const uint8_t *)data, len, NULL, files[i]), 0);
		free(data);
		free(path);
	}
}

Test(wire_decode, size_limit_and_empty)
{
	uint8_t *buf;
	size_t len;
	real_batch(&buf, &len);
	cr_expect_eq(agree_max(buf, len, len - 1, NULL, "over the limit"), -1);
	cr_expect_eq(agree_max(buf, len, len, NULL, "at the limit"), 0);
	cr_expect_eq(agree(buf, 0, NULL, "empty"), -1);
	cr_expect_eq(agree(NULL, 0, NULL, "NULL, empty"), -1);
	free(buf);
}
