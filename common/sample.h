/*
 * sample: the bounded samples drift statistics are computed on.
 *
 *  - sample_rng: a small deterministic PRNG (splitmix64), seedable, so tests
 *    and recomputed windows give the same numbers every time.
 *  - sample_reservoir: a uniform reservoir sample (Algorithm R) of numeric
 *    values, the per-feature window sample (SAMPLE_WINDOW_MAX values).
 *  - sorting and numpy-compatible quantiles of a sorted sample (the
 *    reference sample of up to SAMPLE_REF_MAX values and its bin edges).
 *  - sample_cats: an exact frequency table of categorical values with a
 *    bound on distinct names, ranked into top-64 cells + "other".
 *
 * Ownership: structs are caller-allocated and initialised with *_init; they
 * own their heap arrays and strings, released by *_fini. Fields are public
 * for reading; change them only through these functions. Not thread-safe.
 * Errors are negative errno values (-EINVAL, -ENOMEM, -ENOSPC, -EPROTO).
 */
#ifndef MLWATCH_SAMPLE_H
#define MLWATCH_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Window sample size per feature (contract section 5). */
#define SAMPLE_WINDOW_MAX 10000
/* Reference sample size per feature (contract section 5). */
#define SAMPLE_REF_MAX 100000
/* Categories kept as their own cell; the rest are pooled into "other". */
#define SAMPLE_CATS_TOP 64
/* Distinct names a frequency table keeps; further new names are counted in
 * `overflow` only (a reference sample has at most SAMPLE_REF_MAX values). */
#define SAMPLE_CATS_MAX_DISTINCT SAMPLE_REF_MAX
/* Longest category name kept, in bytes (contract: strings <= 256 bytes). */
#define SAMPLE_CAT_NAME_MAX 256

/* ---- PRNG ---------------------------------------------------------------- */

struct sample_rng {
	uint64_t state;
};

void sample_rng_seed(struct sample_rng *r, uint64_t seed);
/* Uniform 64-bit value. */
uint64_t sample_rng_next(struct sample_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double sample_rng_double(struct sample_rng *r);
/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint64_t sample_rng_below(struct sample_rng *r, uint64_t bound);

/* ---- reservoir ------------------------------------------------------------ */

struct sample_reservoir {
	double *values; /* values[0..len), insertion order, owned */
	size_t len;     /* values held, <= cap */
	size_t cap;     /* capacity fixed at init */
	size_t alloc;   /* allocated slots (grows lazily up to cap) */
	uint64_t seen;  /* values offered since init/reset */
	struct sample_rng rng;
};

/* Initialises r for up to cap (>= 1) values, allocating lazily. -EINVAL if
 * cap is 0. Never fails otherwise. */
int sample_reservoir_init(struct sample_reservoir *r, size_t cap, uint64_t seed);
/* Releases r's memory; r may be re-initialised. Safe on a zeroed struct. */
void sample_reservoir_fini(struct sample_reservoir *r);
/* Forgets all values and the seen count (keeps capacity and RNG state). */
void sample_reservoir_reset(struct sample_reservoir *r);
/* Offers v: kept with probability cap/seen. v must be finite (-EINVAL).
 * -ENOMEM leaves r unchanged. */
int sample_reservoir_add(struct sample_reservoir *r, double v);
/* Merges src into dst so dst is a uniform sample of both streams: each
 * output slot comes from dst or src with probability proportional to the
 * values each has seen (not held). dst->seen becomes the sum. Uses dst's
 * RNG; src is unchanged. -ENOMEM leaves dst unchanged. */
int sample_reservoir_merge(struct sample_reservoir *dst, const struct sample_reservoir *src);

/* Encoding for storage: u8 version | varint seen | u64 rng | varint len |
 * len x f64 (LE). The capacity is not stored: decode takes it. */
size_t sample_reservoir_encoded_size(const struct sample_reservoir *r);
int sample_reservoir_encode(const struct sample_reservoir *r, uint8_t *buf, size_t cap,
                            size_t *len);
/* Decodes into an uninitialised r with capacity cap. -EPROTO if malformed,
 * non-finite, or holding more than cap values or more than seen. On error r
 * is left finalised (safe to fini again). */
int sample_reservoir_decode(struct sample_reservoir *r, size_t cap, const uint8_t *buf, size_t len);

/* ---- sorting and quantiles -------------------------------------------------- */

/* Sorts v[0..n) ascending (LSD radix sort on the IEEE bits, O(n)); values
 * must be finite (NaN order is unspecified). Allocates a scratch copy:
 * -ENOMEM leaves v unchanged. -0.0 sorts before +0.0. */
int sample_sort(double *v, size_t n);

/* The q-quantile (0 <= q <= 1) of sorted x[0..n), n >= 1, exactly as
 * numpy.quantile(x, q) (method "linear", including numpy's two-sided lerp,
 * so edges are bit-identical to numpy's). */
double sample_quantile_sorted(const double *x, size_t n, double q);

/* The 9 inner bin edges of the 10 reference bins: numpy.percentile(x,
 * [10, 20, ..., 90]) of sorted x[0..n), n >= 1. */
#define SAMPLE_BINS 10
void sample_ref_edges(const double *x, size_t n, double edges[SAMPLE_BINS - 1]);

/* Index of v's bin among SAMPLE_BINS right-closed bins (e[i-1], e[i]] with
 * open outer ends: the number of edges strictly below v. */
size_t sample_bin_index(const double edges[SAMPLE_BINS - 1], double v);

/* Adds the bin counts of x[0..n) (any order) to counts[SAMPLE_BINS]. */
void sample_bin_counts(const double edges[SAMPLE_BINS - 1], const double *x, size_t n,
                       uint64_t counts[SAMPLE_BINS]);

/* Population mean and standard deviation (ddof = 0) of x[0..n), two-pass
 * for accuracy. Both 0 when n == 0. */
void sample_mean_std(const double *x, size_t n, double *mean, double *std);

/* ---- categorical frequency table ------------------------------------------ */

struct sample_cat {
	char *name;      /* NUL-terminated, owned by the table */
	size_t name_len; /* bytes, excluding the NUL */
	uint64_t count;
	int32_t cell; /* after sample_cats_rank: 0..top-1, or the other cell */
};

struct sample_cats {
	struct sample_cat *cats; /* cats[0..n), owned */
	size_t n;
	size_t cats_alloc;
	uint32_t *slots;   /* open-addressing index into cats (idx + 1) */
	size_t nslots;     /* power of two */
	uint64_t total;    /* every value added, including overflow */
	uint64_t overflow; /* values of names beyond the distinct bound */
	size_t max_distinct;
	/* Set by sample_cats_rank, cleared by sample_cats_add. */
	bool ranked;
	size_t ntop;    /* categories with their own cell, <= 64 */
	bool has_other; /* more than ntop categories (or overflow) */
	uint32_t *top;  /* top[0..ntop): indexes into cats, owned */
};

/* Initialises an empty table keeping up to max_distinct names (0 means
 * SAMPLE_CATS_MAX_DISTINCT). Never fails (allocation is lazy). */
void sample_cats_init(struct sample_cats *t, size_t max_distinct);
void sample_cats_fini(struct sample_cats *t);

/* Counts name[0..len) n times (len <= SAMPLE_CAT_NAME_MAX, else -EINVAL;
 * any bytes, including NUL, are allowed). A new name beyond max_distinct is
 * counted in `overflow`. Invalidates a previous ranking. -ENOMEM leaves t
 * unchanged. */
int sample_cats_add(struct sample_cats *t, const char *name, size_t len, uint64_t n);

/* The entry for name, or NULL if never added. */
const struct sample_cat *sample_cats_find(const struct sample_cats *t, const char *name,
                                          size_t len);

/* Ranks categories by count (descending, ties by name bytes ascending, so
 * the result is deterministic), gives the first min(n, top) their own cells
 * 0..ntop-1 and every other one (and overflow) the "other" cell ntop.
 * top == 0 means SAMPLE_CATS_TOP. -ENOMEM leaves the ranking unset. */
int sample_cats_rank(struct sample_cats *t, size_t top);

/* Number of reference cells after ranking: ntop + has_other. */
size_t sample_cats_ncells(const struct sample_cats *t);

/* Reference count of cell c (0 <= c < ncells) after ranking. */
uint64_t sample_cats_cell_count(const struct sample_cats *t, size_t c);

/* The cell of name after ranking, or -1 if the table never saw it (a "new"
 * category) or is not ranked. A name that overflowed the distinct bound is
 * reported as new. */
int32_t sample_cats_cell(const struct sample_cats *t, const char *name, size_t len);

/* Encoding: u8 version | varint n | varint overflow | n x (varint len,
 * bytes, varint count). Ranking is not stored: rank again after decode. */
size_t sample_cats_encoded_size(const struct sample_cats *t);
int sample_cats_encode(const struct sample_cats *t, uint8_t *buf, size_t cap, size_t *len);
/* Decodes into an uninitialised t. -EPROTO on malformed input (including
 * duplicate names or more than SAMPLE_CATS_MAX_DISTINCT names); on error t
 * is left finalised. */
int sample_cats_decode(struct sample_cats *t, const uint8_t *buf, size_t len);

#endif /* MLWATCH_SAMPLE_H */
