/* bytes: bounds-checked little-endian and varint encoding (see bytes.h). */
#include "bytes.h"

#include <string.h>

void bytes_writer_init(struct bytes_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->overflow = false;
}

/* A measuring writer (buf NULL) keeps counting without ever flagging. */
static bool writer_room(struct bytes_writer *w, size_t n)
{
	if (w->buf == NULL) {
		w->len += n;
		return false;
	}
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return false;
	}
	return true;
}

void bytes_put_raw(struct bytes_writer *w, const void *p, size_t n)
{
	if (n == 0 || !writer_room(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void bytes_put_u8(struct bytes_writer *w, uint8_t v)
{
	bytes_put_raw(w, &v, 1);
}

void bytes_put_u64(struct bytes_writer *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	bytes_put_raw(w, b, sizeof(b));
}

void bytes_put_f64(struct bytes_writer *w, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	bytes_put_u64(w, u);
}

void bytes_put_varint(struct bytes_writer *w, uint64_t v)
{
	uint8_t b[BYTES_VARINT_MAX];
	size_t n = 0;

	do {
		uint8_t byte = v & 0x7f;

		v >>= 7;
		b[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	bytes_put_raw(w, b, n);
}

void bytes_put_zvarint(struct bytes_writer *w, int64_t v)
{
	bytes_put_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t bytes_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void bytes_reader_init(struct bytes_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
	r->err = false;
}

const uint8_t *bytes_get_raw(struct bytes_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->err || r->len - r->pos < n) {
		r->err = true;
		return NULL;
	}
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

uint8_t bytes_get_u8(struct bytes_reader *r)
{
	const uint8_t *p = bytes_get_raw(r, 1);

	return p ? p[0] : 0;
}

uint64_t bytes_get_u64(struct bytes_reader *r)
{
	const uint8_t *p = bytes_get_raw(r, 8);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

double bytes_get_f64(struct bytes_reader *r)
{
	uint64_t u = bytes_get_u64(r);
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

uint64_t bytes_get_varint(struct bytes_reader *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		const uint8_t *p = bytes_get_raw(r, 1);

		if (!p)
			return 0;
		/* The 10th byte may only carry the top bit of a uint64. */
		if (shift == 63 && (*p & 0x7e)) {
			r->err = true;
			return 0;
		}
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80)) {
			/* A trailing zero byte is an overlong encoding: refuse
			 * it so every value has exactly one encoding. */
			if (shift > 0 && *p == 0) {
				r->err = true;
				return 0;
			}
			return v;
		}
	}
	r->err = true;
	return 0;
}

int64_t bytes_get_zvarint(struct bytes_reader *r)
{
	uint64_t u = bytes_get_varint(r);

	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

size_t bytes_remaining(const struct bytes_reader *r)
{
	return r->err ? 0 : r->len - r->pos;
}
