/* Golden bytes: the wire format (common/mlwatch.proto via common/wire.c) and
 * the stored encodings (latency sketches, reference profiles) must not change
 * by accident. Round-trip tests cannot see a change that both sides make.
 *
 * The wire files (tests/data/golden/wire_*.hex) are encoded by hand from the
 * .proto by tests/data/gen_golden_wire.py, independently of protobuf-c. The
 * stored encodings have no outside encoder: their files were recorded from
 * this code once and reviewed; MLWATCH_UPDATE_GOLDEN=1 rewrites those (and
 * only those) when a format change is deliberate. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "drift.h"
#include "harness.h"
#include "wire.h"

/* Reads a hex file (whitespace ignored) into a malloc'd buffer. */
static uint8_t *read_hex(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "tests/data/golden/%s", name);
	char *path = h_src(rel);
	char *text = h_read_file(path, NULL);
	cr_assert_not_null(text, "cannot read %s", path);
	uint8_t *out = malloc(strlen(text) / 2 + 1);
	size_t n = 0;
	int hi = -1;
	for (const char *p = text; *p; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p == '\n' || *p == ' ')
			continue;
		else
			cr_assert_fail("%s: bad character 0x%02x", path, (unsigned char)*p);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	cr_assert_eq(hi, -1, "%s: odd number of hex digits", path);
	free(text);
	free(path);
	*len = n;
	return out;
}

static void write_hex(const char *name, const uint8_t *b, size_t len)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "tests/data/golden/%s", name);
	char *path = h_src(rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x%s", b[i], i % 32 == 31 || i + 1 == len ? "\n" : "");
	fclose(f);
	free(path);
}

/* got must equal the golden file's bytes; recorded files may be rewritten. */
static void expect_golden(const char *name, const uint8_t *got, size_t len, bool recorded)
{
	const char *up = getenv("MLWATCH_UPDATE_GOLDEN");
	if (recorded && up && strcmp(up, "1") == 0)
		write_hex(name, got, len);
	size_t wlen;
	uint8_t *want = read_hex(name, &wlen);
	size_t i = 0;
	while (i < len && i < wlen && got[i] == want[i])
		i++;
	cr_expect(i == len && len == wlen,
	          "%s: %zu bytes encoded, %zu golden; first difference at byte %zu (0x%02x vs "
	          "0x%02x)",
	          name, len, wlen, i, i < len ? got[i] : 0, i < wlen ? want[i] : 0);
	free(want);
}

/* The batch of tests/data/gen_golden_wire.py. */
static void golden_batch(struct wire_batch *b)
{
	static struct feature f[] = {
	    {.name = "amount", .kind = FEATURE_NUMERIC, .num = 99.5},
	    {.name = "country", .kind = FEATURE_CATEGORICAL, .str = "DE"},
	    {.name = "missing", .kind = FEATURE_MISSING},
	};
	static struct class_score cs[] = {{"ok", 0.75}, {"bad", 0.25}};
	static struct event ev[2];
	static struct label lb[1];
	static struct wire_summary sm[1];
	static const uint8_t sketch[] = {0x01, 0x02, 0xff};

	memset(b, 0, sizeof(*b));
	memset(ev, 0, sizeof(ev));
	ev[0] = (struct event){.model = "fraud",
	                       .version = "v2",
	                       .id = "req-1",
	                       .ts = 1764072000.25,
	                       .ts_given = true,
	                       .has_latency = true,
	                       .latency_ms = 12.5,
	                       .error = true,
	                       .has_score = true,
	                       .score = 0.75,
	                       .features = f,
	                       .n_features = 3,
	                       .scores = cs,
	                       .n_scores = 2,
	                       .prediction = {VALUE_STRING, 0, "ok"},
	                       .label = {VALUE_NUMBER, 1.0, NULL}};
	ev[1] = (struct event){.model = "churn", .ts = 1764072000.5, .ts_given = true};
	lb[0] = (struct label){"fraud", "req-0", {VALUE_STRING, 0, "bad"}, 1764071999.5, true};
	sm[0] = (struct wire_summary){.model = "fraud",
	                              .second = 1764072000,
	                              .count = 10,
	                              .errors = 1,
	                              .sampled = 1,
	                              .sketch = sketch,
	                              .sketch_len = sizeof(sketch)};
	b->protocol = 1;
	b->agent_id = "agent-7";
	b->seq = 42;
	b->token = (const uint8_t *)"s3cret";
	b->token_len = 6;
	b->created = 1764072001.5;
	b->events = ev;
	b->n_events = 2;
	b->labels = lb;
	b->n_labels = 1;
	b->summaries = sm;
	b->n_summaries = 1;
	b->stats = (struct wire_agent_stats){true, 100, 2, 0, 4096, 1764000000.0};
}

Test(golden, wire_batch_bytes_match_the_hand_encoding)
{
	struct wire_batch b, d;
	uint8_t *buf;
	size_t len, glen;
	char err[256];

	golden_batch(&b);
	cr_assert_eq(wire_encode_batch(&b, &buf, &len), 0);
	expect_golden("wire_batch.hex", buf, len, false);
	free(buf);

	/* and the golden bytes decode to that batch */
	uint8_t *g = read_hex("wire_batch.hex", &glen);
	cr_assert_eq(wire_decode_batch(g, glen, 0, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.n_invalid, 0, "%s", d.first_invalid);
	cr_expect_str_eq(d.agent_id, "agent-7");
	cr_expect_eq(d.seq, 42);
	cr_expect_eq(d.token_len, 6);
	cr_expect_eq(memcmp(d.token, "s3cret", 6), 0);
	cr_assert_eq(d.n_events, 2);
	const struct event *e = &d.events[0];
	cr_expect_str_eq(e->model, "fraud");
	cr_expect_str_eq(e->version, "v2");
	cr_expect_str_eq(e->id, "req-1");
	cr_expect_eq(e->ts, 1764072000.25);
	cr_expect(e->has_latency && e->latency_ms == 12.5);
	cr_expect(e->error);
	cr_expect(e->has_score && e->score == 0.75);
	cr_assert_eq(e->n_features, 3);
	cr_expect_eq(e->features[0].kind, FEATURE_NUMERIC);
	cr_expect_eq(e->features[0].num, 99.5);
	cr_expect_eq(e->features[1].kind, FEATURE_CATEGORICAL);
	cr_expect_str_eq(e->features[1].str, "DE");
	cr_expect_eq(e->features[2].kind, FEATURE_MISSING);
	cr_assert_eq(e->n_scores, 2);
	cr_expect_str_eq(e->scores[1].cls, "bad");
	cr_expect_eq(e->prediction.kind, VALUE_STRING);
	cr_expect_str_eq(e->prediction.str, "ok");
	cr_expect_eq(e->label.kind, VALUE_NUMBER);
	cr_expect_eq(e->label.num, 1.0);
	cr_expect_str_eq(d.events[1].model, "churn");
	cr_expect_not(d.events[1].has_latency);
	cr_assert_eq(d.n_labels, 1);
	cr_expect_str_eq(d.labels[0].id, "req-0");
	cr_assert_eq(d.n_summaries, 1);
	cr_expect_eq(d.summaries[0].second, 1764072000);
	cr_expect_eq(d.summaries[0].count, 10);
	cr_expect_eq(d.summaries[0].sketch_len, 3);
	cr_expect(d.stats.present && d.stats.spool_bytes == 4096);
	cr_expect_eq(d.created, 1764072001.5);
	wire_batch_free(&d);
	free(g);
}

Test(golden, wire_reply_bytes_match_the_hand_encoding)
{
	struct wire_reply r = {
	    .seq = 42, .status = WIRE_BUSY, .duplicate = true, .stored = 7, .rejected = 2};
	struct wire_reply d;
	uint8_t *buf;
	size_t len, glen;
	char err[256];

	snprintf(r.message, sizeof(r.message), "database busy");
	cr_assert_eq(wire_encode_reply(&r, &buf, &len), 0);
	expect_golden("wire_reply.hex", buf, len, false);
	free(buf);
	uint8_t *g = read_hex("wire_reply.hex", &glen);
	cr_assert_eq(wire_decode_reply(g, glen, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.seq, 42);
	cr_expect_eq(d.status, WIRE_BUSY);
	cr_expect(d.duplicate);
	cr_expect_eq(d.stored, 7);
	cr_expect_eq(d.rejected, 2);
	cr_expect_str_eq(d.message, "database busy");
	free(g);
}

/* Latency sketches are stored in windows.latency_sketch and sent in every
 * Summary: an old database and an old agent must still be read. */
Test(golden, ddsketch_encoding_is_stable)
{
	struct ddsketch *s = ddsketch_new(), *d = NULL;
	uint8_t *buf;
	size_t len, glen;
	double q;

	cr_assert_not_null(s);
	for (int i = 1; i <= 100; i++)
		cr_assert_eq(ddsketch_add(s, (double)i), 0);
	cr_assert_eq(ddsketch_add_n(s, 400, 3), 0);
	cr_assert_eq(ddsketch_add(s, 0.0), 0);
	cr_assert_eq(ddsketch_encode_alloc(s, &buf, &len), 0);
	expect_golden("ddsketch.hex", buf, len, true);
	free(buf);

	uint8_t *g = read_hex("ddsketch.hex", &glen);
	cr_assert_eq(ddsketch_decode(g, glen, &d), 0);
	cr_expect_eq(ddsketch_min(d), 0.0);
	cr_expect_eq(ddsketch_max(d), 400.0);
	cr_expect_float_eq(ddsketch_sum(d), 5050.0 + 1200.0, 1e-9);
	/* 104 values: the median is about 52, within the sketch's alpha */
	cr_assert_eq(ddsketch_quantile(d, 0.5, &q), 0);
	cr_expect(fabs(q - 52) <= 52 * ddsketch_alpha(d) * 1.01 + 1, "p50 %g", q);
	cr_assert_eq(ddsketch_quantile(d, 0.99, &q), 0);
	cr_expect(fabs(q - 400) <= 400 * ddsketch_alpha(d) * 1.01, "p99 %g", q);
	ddsketch_free(d);
	ddsketch_free(s);
	free(g);
}

/* Reference profiles are stored in reference.profile by `mlwatch reference
 * import` and read by the collector. */
Test(golden, reference_profile_encoding_is_stable)
{
	static const char *const names[] = {"numeric", "categorical"};
	for (int k = 0; k < 2; k++) {
		struct drift_ref r, d;
		uint8_t *buf;
		size_t len, glen;
		char file[64];
		double v[40];
		const char *c[40];

		for (int i = 0; i < 40; i++) {
			v[i] = (double)((i * 7) % 40) * 0.5 - 3;
			c[i] = i % 4 == 0 ? "FR" : i % 5 == 0 ? "US" : "DE";
		}
		if (k == 0)
			cr_assert_eq(drift_ref_numeric(&r, v, 40, 1), 0);
		else
			cr_assert_eq(drift_ref_categorical_values(&r, c, 40), 0);
		cr_assert_eq(drift_ref_encode(&r, &buf, &len), 0);
		/* numeric profiles carry NannyML's reference-chunk thresholds
		 * since version 2 (issue 14); version 1 ones still decode */
		snprintf(file, sizeof(file), "reference_%s%s.hex", names[k], k == 0 ? "_v2" : "");
		expect_golden(file, buf, len, true);
		free(buf);
		if (k == 0) {
			uint8_t *g1 = read_hex("reference_numeric.hex", &glen);

			cr_assert_eq(drift_ref_decode(&d, g1, glen), 0, "version 1");
			cr_expect(!d.chunk_thr.set);
			for (int i = 0; i < SAMPLE_BINS - 1; i++)
				cr_expect_eq(d.edges[i], r.edges[i], "v1 edge %d", i);
			drift_ref_fini(&d);
			free(g1);
			snprintf(file, sizeof(file), "reference_numeric_v2.hex");
		}
		uint8_t *g = read_hex(file, &glen);
		cr_assert_eq(drift_ref_decode(&d, g, glen), 0, "%s", file);
		cr_expect_eq(d.n, 40);
		if (k == 0) {
			cr_expect_float_eq(d.mean, r.mean, 1e-12);
			cr_expect(d.chunk_thr.set && d.chunk_thr.ks_upper == r.chunk_thr.ks_upper);
			for (int i = 0; i < SAMPLE_BINS - 1; i++)
				cr_expect_eq(d.edges[i], r.edges[i], "edge %d", i);
		} else {
			cr_expect_eq(d.ncells, r.ncells);
			cr_expect_eq(drift_ref_cell(&d, "FR", 2), drift_ref_cell(&r, "FR", 2));
		}
		drift_ref_fini(&d);
		drift_ref_fini(&r);
		free(g);
	}
}
