/*
 * ddsketch: a mergeable quantile sketch with bounded relative error
 * (DDSketch, Masson et al. 2019), used for latency over 100% of traffic.
 *
 * Every value v > 0 lands in bin i = ceil(log(v) / log(gamma)) with
 * gamma = (1 + alpha) / (1 - alpha); a quantile is answered with the bin's
 * representative 2 gamma^i / (gamma + 1), which is within alpha (1%) of every
 * value in the bin. A value v < 0 lands in a second, negative store at the
 * mirrored index of -v (as DataDog's sketches do), and is answered with the
 * negated representative. 0 and values with |v| below DDSKETCH_MIN_VALUE
 * share a zero bin. Latencies are never negative, but that is checked where
 * events are validated (common/event.c, agent/summary.c, collector/ingest.c),
 * not here: the sketch itself holds any finite value.
 * Each store is a dense array over its occupied index range, capped at
 * DDSKETCH_MAX_BINS; past that its lowest bins (the values nearest 0) are
 * collapsed into one, so quantiles near 0 lose accuracy first (latency tails
 * are what matter). With alpha
 * 0.01 a bin is 2% wide and 2048 bins span 17.8 decades: 1 us .. 1 h in ms
 * takes 1101 bins, 1e-9 ms .. 1 h 1790.
 *
 * count, min, max and sum are exact; quantiles are clamped to [min, max].
 *
 * Ownership: a sketch is created by ddsketch_new/ddsketch_clone/
 * ddsketch_decode and freed by the caller with ddsketch_free. A sketch is
 * not thread-safe; share it between threads only under the caller's lock.
 *
 * Errors are negative errno values: -EINVAL (bad argument), -ENOMEM,
 * -ENODATA (empty sketch), -ENOSPC (buffer too small), -EPROTO (an encoded
 * sketch that is malformed, truncated or of an unknown version).
 */
#ifndef MLWATCH_DDSKETCH_H
#define MLWATCH_DDSKETCH_H

#include <stddef.h>
#include <stdint.h>

/* Relative accuracy of every quantile. */
#define DDSKETCH_ALPHA 0.01
/* Upper bound on the number of bins kept per store (and accepted by
 * decode). */
#define DDSKETCH_MAX_BINS 2048
/* Positive values below this go to the zero bin (ms: 1e-9 ms = 1 fs). */
#define DDSKETCH_MIN_VALUE 1e-9
/* First byte of the encoding; bumped on any incompatible change. */
#define DDSKETCH_ENCODING_VERSION 1
/* Flags bit: the encoding has a negative store (set exactly when min < 0). */
#define DDSKETCH_FLAG_NEGATIVE 0x01

struct ddsketch;

/* A new empty sketch with alpha = DDSKETCH_ALPHA, or NULL when out of
 * memory. Free with ddsketch_free. */
struct ddsketch *ddsketch_new(void);

/* Frees s and everything it owns. NULL is a no-op. */
void ddsketch_free(struct ddsketch *s);

/* Empties s, keeping its allocation. */
void ddsketch_reset(struct ddsketch *s);

/* A deep copy of s, or NULL when out of memory. */
struct ddsketch *ddsketch_clone(const struct ddsketch *s);

/* Adds value v once / n times. v must be finite (-EINVAL, sketch
 * unchanged); n == 0 is a no-op. -ENOMEM leaves s unchanged. */
int ddsketch_add(struct ddsketch *s, double v);
int ddsketch_add_n(struct ddsketch *s, double v, uint64_t n);

/* Adds every value of src into dst (src is unchanged). The result is the
 * same sketch as adding the union of both inputs to one sketch (exactly so
 * unless bins had to be collapsed). -EINVAL if the two sketches have a
 * different alpha; on any error dst is unchanged. */
int ddsketch_merge(struct ddsketch *dst, const struct ddsketch *src);

/* The q-quantile (0 <= q <= 1) into *out: the value of rank
 * floor(q * (count - 1)) (0-based, lower rank) within alpha relative error,
 * clamped to [min, max]; q = 0 and q = 1 give the exact min and max.
 * -ENODATA if s is empty, -EINVAL if q is outside [0, 1] or NaN. */
int ddsketch_quantile(const struct ddsketch *s, double q, double *out);

/* n quantiles at once (qs in any order, e.g. p50..p999 for a window row);
 * same rules as ddsketch_quantile. On error nothing is written to out. */
int ddsketch_quantiles(const struct ddsketch *s, const double *qs, size_t n, double *out);

/* Exact summaries. min/max/mean are 0 for an empty sketch (check count). */
uint64_t ddsketch_count(const struct ddsketch *s);
double ddsketch_min(const struct ddsketch *s);
double ddsketch_max(const struct ddsketch *s);
double ddsketch_sum(const struct ddsketch *s);
double ddsketch_mean(const struct ddsketch *s);

/* The sketch's relative accuracy (DDSKETCH_ALPHA unless decoded from
 * another producer). */
double ddsketch_alpha(const struct ddsketch *s);

/* Number of bins in use (the occupied index spans of both stores) and heap +
 * struct bytes held by s; both bounded by 2 x DDSKETCH_MAX_BINS. */
size_t ddsketch_bin_count(const struct ddsketch *s);
size_t ddsketch_memory(const struct ddsketch *s);

/*
 * Encoding: a compact self-describing byte string, used inside the wire
 * protobuf's `bytes` field and as a SQLite BLOB. Layout (little-endian,
 * varint = LEB128 unsigned, zvarint = zigzag varint):
 *   u8 version (=1) | u8 flags | f64 alpha | varint count |
 *   varint zero_count | f64 min | f64 max | f64 sum | store(positive)
 *   [ | store(negative) when flags has DDSKETCH_FLAG_NEGATIVE ]
 * with store = varint nbins | zvarint first_index (only if nbins > 0) |
 * nbins x varint bin count, dense from the lowest to the highest non-empty
 * index. A sketch without values < 0 has flags 0 and is byte for byte the
 * original version-1 encoding, so stored sketches decode unchanged; decoders
 * from before the negative store refuse flags != 0 (-EPROTO).
 */

/* An upper bound of the encoded size of s in bytes. */
size_t ddsketch_encoded_bound(const struct ddsketch *s);

/* Encodes s into buf[0..cap) and sets *len. -ENOSPC if cap is too small
 * (use ddsketch_encoded_bound); nothing else can fail. */
int ddsketch_encode(const struct ddsketch *s, uint8_t *buf, size_t cap, size_t *len);

/* Encodes s into a new malloc'ed buffer *out (caller frees) of *len bytes.
 * -ENOMEM on allocation failure (then *out is NULL). */
int ddsketch_encode_alloc(const struct ddsketch *s, uint8_t **out, size_t *len);

/* Decodes buf[0..len) into a new sketch *out (caller frees with
 * ddsketch_free). Validates everything: version, alpha range, finite and
 * ordered min/max/sum, bin count <= DDSKETCH_MAX_BINS per store, index range, varint
 * overflow, counts adding up to count, no trailing bytes. Never allocates
 * more than DDSKETCH_MAX_BINS bins. -EPROTO on malformed input, -ENOMEM;
 * on error *out is NULL. */
int ddsketch_decode(const uint8_t *buf, size_t len, struct ddsketch **out);

#endif /* MLWATCH_DDSKETCH_H */
