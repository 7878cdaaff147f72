/* Unit tests for common/wire: round trips of random batches, and hostile
 * buffers (truncated, corrupted, oversized) rejected without a crash. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "wire.h"

/* common/sample.h's generator; each test runs in its own process, so each
 * starts from the seed */
static struct sample_rng rng = {88172645463325252ull};
static uint64_t rnd(void)
{
	return sample_rng_next(&rng);
}
static double rndu(void)
{
	return sample_rng_double(&rng);
}

static const char *pick(struct arena *a, const char *prefix, int n)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s%d", prefix, (int)(rnd() % (uint64_t)n));
	return arena_strdup(a, buf);
}

static void random_value(struct arena *a, struct value *v)
{
	switch (rnd() % 3) {
	case 0:
		v->kind = VALUE_NONE;
		break;
	case 1:
		v->kind = VALUE_NUMBER;
		v->num = rndu() * 100 - 50;
		break;
	default:
		v->kind = VALUE_STRING;
		v->str = pick(a, "class-", 5);
		break;
	}
}

static void random_batch(struct wire_batch *b, struct arena *a)
{
	memset(b, 0, sizeof(*b));
	b->protocol = WIRE_PROTOCOL;
	b->agent_id = pick(a, "agent-", 100);
	b->seq = rnd();
	if (rnd() % 2) {
		b->token = (const uint8_t *)"s3cret";
		b->token_len = 6;
	}
	b->created = 1764072000 + rndu();
	b->n_events = rnd() % 50;
	b->events = arena_alloc(a, (b->n_events + 1) * sizeof(*b->events));
	for (size_t i = 0; i < b->n_events; i++) {
		struct event *e = &b->events[i];
		e->model = pick(a, "model", 3);
		e->id = rnd() % 4 ? pick(a, "req-", 1000000) : NULL;
		e->version = rnd() % 2 ? "v1" : NULL;
		e->ts = 1764072000 + rndu() * 1000;
		e->ts_given = true;
		e->has_latency = rnd() % 5 != 0;
		e->latency_ms = e->has_latency ? rndu() * 300 : 0;
		e->error = rnd() % 10 == 0;
		e->has_score = rnd() % 2;
		e->score = e->has_score ? rndu() : 0;
		e->n_features = rnd() % 12;
		e->features = arena_alloc(a, (e->n_features + 1) * sizeof(*e->features));
		for (size_t k = 0; k < e->n_features; k++) {
			struct feature *f = &e->features[k];
			char name[32];
			snprintf(name, sizeof(name), "f%zu", k);
			f->name = arena_strdup(a, name);
			f->kind = (enum feature_kind)(rnd() % 4);
			if (f->kind == FEATURE_NUMERIC) {
				f->num = rndu() * 1e6 - 5e5;
			} else if (f->kind == FEATURE_CATEGORICAL) {
				f->str = pick(a, "cat-", 20);
			} else if (f->kind == FEATURE_VECTOR) {
				/* issue 19: 1 to 64 dimensions, now and then the most */
				size_t dim = rnd() % 20 == 0 ? 4096 : 1 + rnd() % 64;
				float *v = arena_alloc(a, dim * sizeof(*v));
				for (size_t j = 0; j < dim; j++)
					v[j] = (float)(rndu() * 2e3 - 1e3);
				f->vec = v;
				f->dim = dim;
			}
		}
		e->n_scores = rnd() % 3;
		e->scores = arena_alloc(a, (e->n_scores + 1) * sizeof(*e->scores));
		for (size_t k = 0; k < e->n_scores; k++) {
			e->scores[k].cls = pick(a, "c", 9);
			e->scores[k].p = rndu();
		}
		random_value(a, &e->prediction);
		random_value(a, &e->label);
		if (rnd() % 2) { /* LLM fields, each known or not */
			e->has_input_tokens = rnd() % 2;
			e->input_tokens = e->has_input_tokens ? (int64_t)(rnd() % 100000) : 0;
			e->has_output_tokens = rnd() % 2;
			e->output_tokens = e->has_output_tokens ? (int64_t)(rnd() % 5000) : 0;
			e->has_ttft = rnd() % 2;
			e->ttft_ms = e->has_ttft ? rndu() * 2000 : 0;
			e->has_tpot = rnd() % 2;
			e->tpot_ms = e->has_tpot ? rndu() * 50 : 0;
			e->finish_reason = rnd() % 2 ? "stop" : NULL;
		}
	}
	b->n_labels = rnd() % 10;
	b->labels = arena_alloc(a, (b->n_labels + 1) * sizeof(*b->labels));
	for (size_t i = 0; i < b->n_labels; i++) {
		b->labels[i].model = pick(a, "model", 3);
		b->labels[i].id = pick(a, "req-", 1000);
		b->labels[i].ts = 1764072000 + rndu();
		b->labels[i].ts_given = true;
		do
			random_value(a, &b->labels[i].label);
		while (b->labels[i].label.kind == VALUE_NONE);
	}
	b->n_summaries = rnd() % 5;
	b->summaries = arena_alloc(a, (b->n_summaries + 1) * sizeof(*b->summaries));
	for (size_t i = 0; i < b->n_summaries; i++) {
		struct wire_summary *s = &b->summaries[i];
		s->model = pick(a, "model", 3);
		s->second = 1764072000 + (int64_t)(rnd() % 100);
		s->count = rnd() % 100000 + 1;
		s->errors = rnd() % s->count;
		s->sampled = rnd() % s->count;
		s->sketch_len = rnd() % 64;
		uint8_t *sk = arena_alloc(a, s->sketch_len + 1);
		for (size_t k = 0; k < s->sketch_len; k++)
			sk[k] = (uint8_t)rnd();
		s->sketch = s->sketch_len ? sk : NULL;
		if (rnd() % 2) {
			s->llm = rnd() % s->count + 1;
			s->input_tokens = rnd() % 1000000;
			s->output_tokens = rnd() % 1000000;
			s->ttft = s->sketch;
			s->ttft_len = s->sketch_len;
			if (s->llm >= 2) {
				s->n_finish = 2;
				s->finish = arena_alloc(a, 2 * sizeof(*s->finish));
				s->finish[0] = (struct wire_finish){"stop", s->llm / 2};
				s->finish[1] = (struct wire_finish){"length", s->llm - s->llm / 2};
			}
		}
	}
	if (rnd() % 2) {
		b->stats.present = true;
		b->stats.received = rnd() % 1000;
		b->stats.spool_bytes = rnd() % 1000;
		b->stats.started = 1764000000;
	}
}

static void value_eq(const struct value *x, const struct value *y)
{
	cr_assert_eq(x->kind, y->kind);
	if (x->kind == VALUE_NUMBER)
		cr_assert_eq(x->num, y->num);
	if (x->kind == VALUE_STRING)
		cr_assert_str_eq(x->str, y->str);
}

static void batch_eq(const struct wire_batch *x, const struct wire_batch *y)
{
	cr_assert_str_eq(x->agent_id, y->agent_id);
	cr_assert_eq(x->seq, y->seq);
	cr_assert_eq(x->token_len, y->token_len);
	if (x->token)
		cr_assert_eq(memcmp(x->token, y->token, x->token_len), 0);
	cr_assert_eq(x->created, y->created);
	cr_assert_eq(x->n_events, y->n_events);
	for (size_t i = 0; i < x->n_events; i++) {
		const struct event *a = &x->events[i], *b = &y->events[i];
		cr_assert_str_eq(a->model, b->model);
		cr_assert((a->id == NULL) == (b->id == NULL));
		if (a->id)
			cr_assert_str_eq(a->id, b->id);
		cr_assert((a->version == NULL) == (b->version == NULL));
		cr_assert_eq(a->ts, b->ts);
		cr_assert_eq(a->has_latency, b->has_latency);
		cr_assert_eq(a->latency_ms, b->latency_ms);
		cr_assert_eq(a->error, b->error);
		cr_assert_eq(a->has_score, b->has_score);
		cr_assert_eq(a->score, b->score);
		cr_assert_eq(a->n_features, b->n_features);
		for (size_t k = 0; k < a->n_features; k++) {
			cr_assert_str_eq(a->features[k].name, b->features[k].name);
			cr_assert_eq(a->features[k].kind, b->features[k].kind);
			if (a->features[k].kind == FEATURE_NUMERIC)
				cr_assert_eq(a->features[k].num, b->features[k].num);
			if (a->features[k].kind == FEATURE_CATEGORICAL)
				cr_assert_str_eq(a->features[k].str, b->features[k].str);
			if (a->features[k].kind == FEATURE_VECTOR) {
				cr_assert_eq(a->features[k].dim, b->features[k].dim);
				cr_assert_eq(memcmp(a->features[k].vec, b->features[k].vec,
				                    a->features[k].dim * sizeof(float)),
				             0, "float32 carried exactly");
			}
		}
		cr_assert_eq(a->n_scores, b->n_scores);
		for (size_t k = 0; k < a->n_scores; k++) {
			cr_assert_str_eq(a->scores[k].cls, b->scores[k].cls);
			cr_assert_eq(a->scores[k].p, b->scores[k].p);
		}
		value_eq(&a->prediction, &b->prediction);
		value_eq(&a->label, &b->label);
		cr_assert_eq(a->has_input_tokens, b->has_input_tokens);
		cr_assert_eq(a->input_tokens, b->input_tokens);
		cr_assert_eq(a->has_output_tokens, b->has_output_tokens);
		cr_assert_eq(a->output_tokens, b->output_tokens);
		cr_assert_eq(a->has_ttft, b->has_ttft);
		cr_assert_eq(a->ttft_ms, b->ttft_ms);
		cr_assert_eq(a->has_tpot, b->has_tpot);
		cr_assert_eq(a->tpot_ms, b->tpot_ms);
		cr_assert((a->finish_reason == NULL) == (b->finish_reason == NULL));
		if (a->finish_reason)
			cr_assert_str_eq(a->finish_reason, b->finish_reason);
	}
	cr_assert_eq(x->n_labels, y->n_labels);
	for (size_t i = 0; i < x->n_labels; i++) {
		cr_assert_str_eq(x->labels[i].model, y->labels[i].model);
		cr_assert_str_eq(x->labels[i].id, y->labels[i].id);
		cr_assert_eq(x->labels[i].ts, y->labels[i].ts);
		value_eq(&x->labels[i].label, &y->labels[i].label);
	}
	cr_assert_eq(x->n_summaries, y->n_summaries);
	for (size_t i = 0; i < x->n_summaries; i++) {
		const struct wire_summary *a = &x->summaries[i], *b = &y->summaries[i];
		cr_assert_str_eq(a->model, b->model);
		cr_assert_eq(a->second, b->second);
		cr_assert_eq(a->count, b->count);
		cr_assert_eq(a->errors, b->errors);
		cr_assert_eq(a->sampled, b->sampled);
		cr_assert_eq(a->sketch_len, b->sketch_len);
		if (a->sketch_len)
			cr_assert_eq(memcmp(a->sketch, b->sketch, a->sketch_len), 0);
		cr_assert_eq(a->llm, b->llm);
		cr_assert_eq(a->input_tokens, b->input_tokens);
		cr_assert_eq(a->output_tokens, b->output_tokens);
		cr_assert_eq(a->ttft_len, b->ttft_len);
		cr_assert_eq(a->n_finish, b->n_finish);
		for (size_t k = 0; k < a->n_finish; k++) {
			cr_assert_str_eq(a->finish[k].reason, b->finish[k].reason);
			cr_assert_eq(a->finish[k].count, b->finish[k].count);
		}
		if (a->ttft_len)
			cr_assert_eq(memcmp(a->ttft, b->ttft, a->ttft_len), 0);
	}
	cr_assert_eq(x->stats.present, y->stats.present);
	cr_assert_eq(x->stats.received, y->stats.received);
}

Test(wire, random_round_trips)
{
	for (int iter = 0; iter < 300; iter++) {
		struct arena a;
		struct wire_batch in, out;
		uint8_t *buf;
		size_t len;
		char err[256];

		arena_init(&a, 0);
		random_batch(&in, &a);
		cr_assert_eq(wire_encode_batch(&in, &buf, &len), 0);
		cr_assert_eq(wire_decode_batch(buf, len, 0, &out, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(out.n_invalid, 0, "%s", out.first_invalid);
		batch_eq(&in, &out);
		wire_batch_free(&out);
		free(buf);
		arena_reset(&a);
	}
}

/* The agent encodes each sampled event as it arrives (wire_events): every
 * event alone gives the very bytes protobuf-c packs for it, vectors and
 * lengths of two varint bytes and more included; and a whole batch with
 * its events so encoded (after the labels, summaries and stats: fields in
 * any order) decodes to the same batch. */
Test(wire, events_encoded_on_arrival_are_the_bytes_protobuf_c_packs)
{
	size_t seen = 0;
	for (int iter = 0; iter < 300; iter++) {
		struct arena a;
		struct wire_batch in, out;
		struct wire_events all = {0};
		uint8_t *buf;
		size_t len;
		char err[256];

		arena_init(&a, 0);
		random_batch(&in, &a);
		for (size_t i = 0; i < in.n_events; i++) {
			struct wire_batch one = {
			    .protocol = WIRE_PROTOCOL, .agent_id = "a", .seq = 7};
			struct wire_events w = {0};
			uint8_t *ref, *got;
			size_t ref_len, got_len;
			one.events = &in.events[i];
			one.n_events = 1;
			cr_assert_eq(wire_encode_batch(&one, &ref, &ref_len), 0);
			cr_assert_eq(wire_events_append(&w, &in.events[i]), 0);
			cr_assert_eq(w.n, 1);
			one.events = NULL;
			one.n_events = 0;
			one.events_raw = w.buf;
			one.events_raw_len = w.len;
			cr_assert_eq(wire_encode_batch(&one, &got, &got_len), 0);
			cr_assert_eq(got_len, ref_len, "event %zu of batch %d: %zu vs %zu bytes", i,
			             iter, got_len, ref_len);
			cr_assert_eq(memcmp(got, ref, ref_len), 0, "event %zu of batch %d", i,
			             iter);
			cr_assert_eq(wire_events_append(&all, &in.events[i]), 0);
			free(ref);
			free(got);
			wire_events_free(&w);
			seen++;
		}
		cr_assert_eq(all.n, in.n_events);
		struct event *events = in.events;
		in.events = NULL;
		in.n_events = 0;
		in.events_raw = all.buf;
		in.events_raw_len = all.len;
		cr_assert_eq(wire_encode_batch(&in, &buf, &len), 0);
		cr_assert_eq(wire_decode_batch(buf, len, 0, &out, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(out.n_invalid, 0, "%s", out.first_invalid);
		in.events = events;
		in.n_events = all.n;
		batch_eq(&in, &out);
		wire_batch_free(&out);
		wire_events_free(&all);
		free(buf);
		arena_reset(&a);
	}
	cr_assert(seen > 1000);
}

static int encode_random(uint8_t **buf, size_t *len)
{
	struct arena a;
	struct wire_batch in;
	arena_init(&a, 0);
	do
		random_batch(&in, &a);
	while (in.n_events < 5);
	int rc = wire_encode_batch(&in, buf, len);
	arena_reset(&a);
	return rc;
}

Test(wire, truncated_buffers_are_rejected_or_valid)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	cr_assert_eq(encode_random(&buf, &len), 0);
	int rejected = 0;
	for (size_t cut = 0; cut < len; cut++) {
		struct wire_batch out;
		if (wire_decode_batch(buf, cut, 0, &out, err, sizeof(err)) == 0)
			wire_batch_free(&out);
		else
			rejected++;
	}
	cr_assert_gt(rejected, (int)len / 2, "most truncations must be rejected");
	free(buf);
}

Test(wire, corrupted_buffers_never_crash)
{
	char err[256];
	int accepted = 0, refused = 0;
	for (int iter = 0; iter < 2000; iter++) {
		uint8_t *buf;
		size_t len;
		struct wire_batch out;
		cr_assert_eq(encode_random(&buf, &len), 0);
		for (int k = 0; k < 1 + (int)(rnd() % 8); k++)
			buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
		if (wire_decode_batch(buf, len, 0, &out, err, sizeof(err)) != 0) {
			refused++;
		} else {
			accepted++;
			/* Whatever decoded must satisfy the rules. */
			for (size_t i = 0; i < out.n_events; i++) {
				cr_assert(event_model_name_valid(out.events[i].model,
				                                 strlen(out.events[i].model)));
				cr_assert(isfinite(out.events[i].ts));
				for (size_t k = 0; k < out.events[i].n_features; k++)
					if (out.events[i].features[k].kind == FEATURE_NUMERIC)
						cr_assert(isfinite(out.events[i].features[k].num));
			}
			wire_batch_free(&out);
		}
		free(buf);
	}
	/* Both paths ran: bit flips that still decode, and ones refused. */
	printf("wire: %d of 2000 mutated batches decoded, %d refused\n", accepted, refused);
	cr_expect_gt(accepted, 0);
	cr_expect_gt(refused, 0);
}

Test(wire, size_limit)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	struct wire_batch out;
	cr_assert_eq(encode_random(&buf, &len), 0);
	cr_assert_eq(wire_decode_batch(buf, len, len - 1, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "exceeds the limit"), "%s", err);
	cr_assert_eq(wire_decode_batch(buf, len, len, &out, err, sizeof(err)), 0);
	wire_batch_free(&out);
	free(buf);
}

Test(wire, garbage_and_empty)
{
	char err[256];
	struct wire_batch out;
	const uint8_t junk[] = "this is not protobuf at all \xff\xff\xff\xff";
	cr_assert_eq(wire_decode_batch(junk, sizeof(junk), 0, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a valid Batch"), "%s", err);
	/* An empty buffer lacks the required fields. */
	cr_assert_eq(wire_decode_batch(junk, 0, 0, &out, err, sizeof(err)), -1);
}

Test(wire, invalid_items_are_skipped_and_counted)
{
	struct arena a;
	struct wire_batch in, out;
	uint8_t *buf;
	size_t len;
	char err[256];
	struct event evs[3] = {{0}};
	struct feature bad_f = {.name = "x", .kind = FEATURE_NUMERIC, .num = NAN};

	arena_init(&a, 0);
	memset(&in, 0, sizeof(in));
	in.agent_id = "a1";
	in.seq = 9;
	evs[0].model = "good";
	evs[0].ts = 1;
	evs[1].model = "bad model";
	evs[1].ts = 1;
	evs[2].model = "good";
	evs[2].ts = 2;
	evs[2].features = &bad_f;
	evs[2].n_features = 1;
	in.events = evs;
	in.n_events = 3;
	cr_assert_eq(wire_encode_batch(&in, &buf, &len), 0);
	cr_assert_eq(wire_decode_batch(buf, len, 0, &out, err, sizeof(err)), 0);
	cr_assert_eq(out.n_events, 1);
	cr_assert_eq(out.n_invalid, 2);
	cr_assert(strstr(out.first_invalid, "event 1: invalid model name"), "%s",
	          out.first_invalid);
	wire_batch_free(&out);
	free(buf);
	arena_reset(&a);
}

Test(wire, header_rules)
{
	struct wire_batch in = {0}, out;
	uint8_t *buf;
	size_t len;
	char err[256];

	in.agent_id = "";
	cr_assert_eq(wire_encode_batch(&in, &buf, &len), 0);
	cr_assert_eq(wire_decode_batch(buf, len, 0, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "agent_id"), "%s", err);
	free(buf);
	in.agent_id = "a";
	in.protocol = 7;
	cr_assert_eq(wire_encode_batch(&in, &buf, &len), 0);
	cr_assert_eq(wire_decode_batch(buf, len, 0, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "protocol version 7"), "%s", err);
	free(buf);
}

Test(wire, reply_round_trip)
{
	struct wire_reply r = {
	    .seq = 42, .status = WIRE_BUSY, .duplicate = true, .stored = 7, .rejected = 1};
	struct wire_reply o;
	uint8_t *buf;
	size_t len;
	char err[128];
	snprintf(r.message, sizeof(r.message), "database busy");
	cr_assert_eq(wire_encode_reply(&r, &buf, &len), 0);
	cr_assert_eq(wire_decode_reply(buf, len, &o, err, sizeof(err)), 0);
	cr_assert_eq(o.seq, 42);
	cr_assert_eq(o.status, WIRE_BUSY);
	cr_assert(o.duplicate);
	cr_assert_eq(o.stored, 7);
	cr_assert_eq(o.rejected, 1);
	cr_assert_str_eq(o.message, "database busy");
	cr_assert_eq(wire_decode_reply(buf, len / 2, &o, err, sizeof(err)), -1);
	free(buf);
	cr_assert_str_eq(wire_status_name(WIRE_UNAUTHORIZED), "unauthorized");
}

/* Issue 15: a hostile LLM field is an invalid item, not a stored lie. */
Test(wire, bad_llm_fields_are_invalid_items)
{
	struct wire_batch b = {0}, d;
	struct event ev[3] = {{0}};
	struct wire_summary s = {0};
	uint8_t *buf;
	size_t len;
	char err[256];

	b.protocol = WIRE_PROTOCOL;
	b.agent_id = "a";
	b.seq = 1;
	for (int i = 0; i < 3; i++) {
		ev[i].model = "llm";
		ev[i].ts = 1764072000;
	}
	ev[0].has_output_tokens = true;
	ev[0].output_tokens = EVENT_TOKENS_MAX + 1;
	ev[1].finish_reason = "Bad Reason";
	ev[2].has_ttft = true;
	ev[2].ttft_ms = 12;
	b.events = ev;
	b.n_events = 3;
	s.model = "llm";
	s.second = 1764072000;
	s.count = 2;
	s.llm = 3; /* more LLM events than events */
	struct wire_finish bad_fin = {"Stop!", 1};
	s.finish = &bad_fin;
	s.n_finish = 1;
	b.summaries = &s;
	b.n_summaries = 1;
	cr_assert_eq(wire_encode_batch(&b, &buf, &len), 0);
	cr_assert_eq(wire_decode_batch(buf, len, 0, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.n_invalid, 3);
	cr_expect_eq(d.n_events, 1);
	cr_expect_eq(d.n_summaries, 0);
	cr_expect(strstr(d.first_invalid, "LLM"), "%s", d.first_invalid);
	cr_expect(d.events[0].has_ttft && d.events[0].ttft_ms == 12);
	wire_batch_free(&d);
	free(buf);
}

/* Issue 19: a vector feature costs 4 bytes a dimension on the wire (plus
 * its name and a few bytes of framing), not 8 as doubles would. */
Test(wire, vectors_travel_as_float32)
{
	static float v[384];
	struct feature f = {.name = "emb", .kind = FEATURE_VECTOR, .vec = v, .dim = 384};
	struct event e = {.model = "m", .ts = 1e9, .features = &f, .n_features = 1};
	struct wire_batch in = {.protocol = WIRE_PROTOCOL, .agent_id = "a", .seq = 1}, out;
	uint8_t *buf;
	size_t len;
	char err[256];

	for (size_t j = 0; j < 384; j++)
		v[j] = (float)j / 7.0f - 20.0f;
	in.events = &e;
	in.n_events = 1;
	cr_assert_eq(wire_encode_batch(&in, &buf, &len), 0);
	cr_expect_lt(len, 384 * 4 + 64, "%zu bytes", len);
	cr_assert_eq(wire_decode_batch(buf, len, 0, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.n_events, 1);
	cr_assert_eq(out.events[0].features[0].kind, FEATURE_VECTOR);
	cr_assert_eq(out.events[0].features[0].dim, 384);
	cr_expect_eq(memcmp(out.events[0].features[0].vec, v, sizeof(v)), 0);
	wire_batch_free(&out);
	free(buf);
}
