/*
 * bytes: bounds-checked little-endian and varint (LEB128) encoding, shared
 * by the compact binary formats of ddsketch, sample, drift and quality.
 *
 * A bytes_writer never writes past its capacity: an overflowing write sets
 * `overflow` and is dropped, so a sequence of writes needs one check at the
 * end. A writer with buf == NULL and cap == 0 only measures (len counts
 * what would have been written). A bytes_reader likewise sets `err` on the
 * first truncated or malformed read and then returns zeros, so a decoder
 * validates once at the end of a group of reads. Neither owns its buffer.
 */
#ifndef MLWATCH_BYTES_H
#define MLWATCH_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest LEB128 encoding of a uint64_t. */
#define BYTES_VARINT_MAX 10

struct bytes_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

struct bytes_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool err;
};

void bytes_writer_init(struct bytes_writer *w, uint8_t *buf, size_t cap);
void bytes_put_u8(struct bytes_writer *w, uint8_t v);
void bytes_put_u64(struct bytes_writer *w, uint64_t v);
void bytes_put_f64(struct bytes_writer *w, double v);
void bytes_put_varint(struct bytes_writer *w, uint64_t v);
/* Zigzag-encoded signed varint. */
void bytes_put_zvarint(struct bytes_writer *w, int64_t v);
void bytes_put_raw(struct bytes_writer *w, const void *p, size_t n);

/* Encoded size of v as a varint. */
size_t bytes_varint_len(uint64_t v);

void bytes_reader_init(struct bytes_reader *r, const uint8_t *buf, size_t len);
uint8_t bytes_get_u8(struct bytes_reader *r);
uint64_t bytes_get_u64(struct bytes_reader *r);
double bytes_get_f64(struct bytes_reader *r);
/* Rejects (err) overlong encodings (a trailing 0x00 byte), more than 10
 * bytes, or more than 64 bits: every value has one accepted encoding. */
uint64_t bytes_get_varint(struct bytes_reader *r);
int64_t bytes_get_zvarint(struct bytes_reader *r);
/* A pointer to the next n bytes (NULL and err if fewer remain). */
const uint8_t *bytes_get_raw(struct bytes_reader *r, size_t n);
/* Bytes not yet read (0 after an error). */
size_t bytes_remaining(const struct bytes_reader *r);

#endif /* MLWATCH_BYTES_H */
