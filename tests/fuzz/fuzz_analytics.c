/* libFuzzer target: every analytics decoder (ddsketch, reservoir, category
 * table, reference profile, calibration, Page-Hinkley, ADWIN). The first
 * byte picks the decoder, the rest is its input. Whatever a decoder
 * accepts must re-encode to exactly the same bytes (the formats are
 * canonical) and be usable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "drift.h"
#include "quality.h"
#include "sample.h"

static void same(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	if (la != lb || memcmp(a, b, la) != 0)
		abort();
}

static void sketch(const uint8_t *d, size_t n)
{
	struct ddsketch *s = NULL;
	uint8_t *out = NULL;
	size_t len;
	double q;

	if (ddsketch_decode(d, n, &s) != 0)
		return;
	if (ddsketch_encode_alloc(s, &out, &len) != 0)
		abort();
	same(d, n, out, len);
	if (ddsketch_count(s) && ddsketch_quantile(s, 0.99, &q) != 0)
		abort();
	if (ddsketch_merge(s, s) != 0 && ddsketch_count(s) < UINT64_MAX / 2)
		abort();
	free(out);
	ddsketch_free(s);
}

static void reservoir(const uint8_t *d, size_t n)
{
	struct sample_reservoir r;
	uint8_t *out;
	size_t len;

	if (sample_reservoir_decode(&r, 64, d, n) != 0)
		return;
	out = malloc(sample_reservoir_encoded_size(&r));
	if (!out || sample_reservoir_encode(&r, out, sample_reservoir_encoded_size(&r), &len))
		abort();
	same(d, n, out, len);
	(void)sample_reservoir_add(&r, 1.0);
	free(out);
	sample_reservoir_fini(&r);
}

static void cats(const uint8_t *d, size_t n)
{
	struct sample_cats t;
	uint8_t *out;
	size_t len;

	if (sample_cats_decode(&t, d, n) != 0)
		return;
	out = malloc(sample_cats_encoded_size(&t) + 1);
	if (!out || sample_cats_encode(&t, out, sample_cats_encoded_size(&t), &len))
		abort();
	same(d, n, out, len);
	if (sample_cats_rank(&t, 0) == 0 && t.n > 0)
		(void)sample_cats_cell(&t, t.cats[0].name, t.cats[0].name_len);
	free(out);
	sample_cats_fini(&t);
}

static void profile(const uint8_t *d, size_t n)
{
	struct drift_ref ref;
	struct drift_result res;
	uint8_t *out = NULL;
	size_t len;
	const double cur[] = {0, 1, 2};
	uint64_t counts[DRIFT_MAX_CELLS] = {1};

	if (drift_ref_decode(&ref, d, n) != 0)
		return;
	if (drift_ref_encode(&ref, &out, &len) != 0)
		abort();
	same(d, n, out, len);
	if (ref.kind == DRIFT_NUMERIC && drift_numeric(&ref, cur, 3, NULL, &res) != 0)
		abort();
	if (ref.kind == DRIFT_CATEGORICAL &&
	    drift_categorical(&ref, counts, ref.ncells, NULL, &res) != 0)
		abort();
	/* the presets' own paths: NannyML's reference-chunk thresholds (a
	 * version-2 profile), Evidently's unseen categories one by one */
	if (ref.kind == DRIFT_NUMERIC) {
		struct drift_opts o = {.preset = DRIFT_PRESET_NANNYML, .method = DRIFT_METHOD_KS};

		if (drift_numeric(&ref, cur, 3, &o, &res) != 0)
			abort();
		o.method = DRIFT_METHOD_WASSERSTEIN;
		if (drift_numeric(&ref, cur, 3, &o, &res) != 0)
			abort();
	} else {
		struct drift_opts o = {.preset = DRIFT_PRESET_EVIDENTLY};
		const uint64_t split[2] = {2, 1};

		counts[ref.ncells - 1] = 4; /* two named unseen values and other_new */
		if (drift_categorical_split(&ref, counts, ref.ncells, split, 2, &o, &res) != 0)
			abort();
	}
	free(out);
	drift_ref_fini(&ref);
}

static void calib(const uint8_t *d, size_t n)
{
	struct quality_calib c;
	uint8_t *out = NULL;
	size_t len;
	double p;

	if (quality_calib_decode(&c, d, n) != 0)
		return;
	if (quality_calib_encode(&c, &out, &len) != 0)
		abort();
	same(d, n, out, len);
	p = quality_calib_apply(&c, 0.5);
	if (!(p >= 0 && p <= 1))
		abort();
	free(out);
	quality_calib_fini(&c);
}

static void ph(const uint8_t *d, size_t n)
{
	struct quality_ph p;
	uint8_t out[QUALITY_PH_ENCODED_MAX];
	size_t len;

	if (quality_ph_decode(&p, d, n) != 0)
		return;
	if (quality_ph_encode(&p, out, sizeof(out), &len) != 0)
		abort();
	same(d, n, out, len);
	(void)quality_ph_add(&p, 1);
}

static void adwin(const uint8_t *d, size_t n)
{
	struct quality_adwin *a = malloc(sizeof(*a));
	uint8_t *out = malloc(QUALITY_ADWIN_ENCODED_MAX);
	size_t len;

	if (!a || !out)
		abort();
	if (quality_adwin_decode(a, d, n) == 0) {
		if (quality_adwin_encode(a, out, QUALITY_ADWIN_ENCODED_MAX, &len) != 0)
			abort();
		same(d, n, out, len);
		for (int i = 0; i < 64; i++)
			(void)quality_adwin_add(a, i & 1);
	}
	free(out);
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const decoders[])(const uint8_t *, size_t) = {
	    sketch, reservoir, cats, profile, calib, ph, adwin,
	};

	if (size == 0)
		return 0;
	decoders[data[0] % (sizeof(decoders) / sizeof(decoders[0]))](data + 1, size - 1);
	return 0;
}
