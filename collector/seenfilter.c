/* seenfilter: see seenfilter.h. */
#include "seenfilter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK_WORDS = 8, BLOCK_BYTES = BLOCK_WORDS * 4 };
/* keys per 256-bit block before a generation counts as full: ~10.7 bits
 * per key, a false-positive rate near 1% */
enum { KEYS_PER_BLOCK = 24 };

struct gen {
	uint32_t *w; /* nblocks * BLOCK_WORDS words; NULL until the first add */
	size_t nblocks;
	uint64_t keys;
	double started; /* monotonic time of the first add */
	double max_ts;  /* newest event time added */
};

struct seenfilter {
	struct seenfilter_opts o;
	size_t next_blocks, max_blocks;
	struct gen cur, prev;
	double covered_from;
	uint64_t rotations;
};

/* Apache Parquet's split-block Bloom filter salts. */
static const uint32_t salt[BLOCK_WORDS] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                           0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

/* MurmurHash3's 64-bit finalizer: every input bit reaches every output bit,
 * which FNV-1a alone does not do for its high bits. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

static uint64_t pair_hash(int64_t model_id, const char *req_id, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ fmix64((uint64_t)model_id + 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)req_id[i]) * 1099511628211ull;
	return fmix64(h ^ len);
}

static size_t blocks_of(size_t bytes)
{
	size_t b = 1;

	while (b * 2 * BLOCK_BYTES <= bytes)
		b *= 2;
	return b;
}

struct seenfilter *seenfilter_new(const struct seenfilter_opts *o, double covered_from)
{
	struct seenfilter *f;

	if (!o || o->first_bytes < BLOCK_BYTES || o->max_bytes < o->first_bytes ||
	    !(o->span_s > 0) || o->max_bytes / BLOCK_BYTES > UINT32_MAX)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->o = *o;
	f->next_blocks = blocks_of(o->first_bytes);
	f->max_blocks = blocks_of(o->max_bytes);
	f->covered_from = covered_from;
	return f;
}

void seenfilter_free(struct seenfilter *f)
{
	if (!f)
		return;
	free(f->cur.w);
	free(f->prev.w);
	free(f);
}

static const uint32_t *block_of(const struct gen *g, uint64_t h)
{
	return g->w + (((h >> 32) * g->nblocks) >> 32) * BLOCK_WORDS;
}

static bool gen_has(const struct gen *g, uint64_t h)
{
	const uint32_t *b;
	uint32_t key = (uint32_t)h;

	if (!g->w)
		return false;
	b = block_of(g, h);
	for (int i = 0; i < BLOCK_WORDS; i++)
		if (!(b[i] & (1u << ((key * salt[i]) >> 27))))
			return false;
	return true;
}

bool seenfilter_certainly_new(const struct seenfilter *f, int64_t model_id, const char *req_id,
                              size_t len, double ts, double ttl)
{
	uint64_t h;

	/* an older stored event may match that the filter never saw (written
	 * before the start, or in a dropped generation); NaN lands here too */
	if (!f || !(ts - ttl > f->covered_from))
		return false;
	h = pair_hash(model_id, req_id, len);
	return !gen_has(&f->cur, h) && !gen_has(&f->prev, h);
}

/* The current generation becomes the previous one; what the dropped one
 * held is then no longer covered. */
static void rotate(struct seenfilter *f)
{
	bool full = f->cur.keys >= (uint64_t)f->cur.nblocks * KEYS_PER_BLOCK;

	if (f->prev.keys && f->prev.max_ts > f->covered_from)
		f->covered_from = f->prev.max_ts;
	free(f->prev.w);
	f->prev = f->cur;
	memset(&f->cur, 0, sizeof(f->cur));
	/* filled before its span: the traffic needs a larger one */
	if (full && f->prev.nblocks < f->max_blocks)
		f->next_blocks = f->prev.nblocks * 2;
	f->rotations++;
}

void seenfilter_add(struct seenfilter *f, int64_t model_id, const char *req_id, size_t len,
                    double ts, double now)
{
	uint64_t h;
	uint32_t *b, key;

	if (!f)
		return;
	if (f->cur.w && (f->cur.keys >= (uint64_t)f->cur.nblocks * KEYS_PER_BLOCK ||
	                 now - f->cur.started >= f->o.span_s))
		rotate(f);
	if (!f->cur.w) {
		f->cur.w = calloc(f->next_blocks, BLOCK_BYTES);
		if (!f->cur.w) {
			/* Not recorded: no event near ts may be called new. */
			if (ts > f->covered_from || isnan(ts))
				f->covered_from = isnan(ts) ? HUGE_VAL : ts;
			return;
		}
		f->cur.nblocks = f->next_blocks;
		f->cur.started = now;
		f->cur.max_ts = -HUGE_VAL;
	}
	h = pair_hash(model_id, req_id, len);
	b = (uint32_t *)block_of(&f->cur, h);
	key = (uint32_t)h;
	for (int i = 0; i < BLOCK_WORDS; i++)
		b[i] |= 1u << ((key * salt[i]) >> 27);
	f->cur.keys++;
	if (ts > f->cur.max_ts)
		f->cur.max_ts = ts;
	else if (isnan(ts))
		f->cur.max_ts = HUGE_VAL; /* cannot happen past validation; stay safe */
}

void seenfilter_info(const struct seenfilter *f, struct seenfilter_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	out->covered_from = f->covered_from;
	out->bytes = (f->cur.w ? f->cur.nblocks : 0) * BLOCK_BYTES +
	             (f->prev.w ? f->prev.nblocks : 0) * BLOCK_BYTES;
	out->keys[0] = f->cur.keys;
	out->keys[1] = f->prev.keys;
	out->rotations = f->rotations;
}
