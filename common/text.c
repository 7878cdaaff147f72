/* text: see text.h. */
#include "text.h"

#include <string.h>

/* Returns the length of the UTF-8 sequence at s (1..4) and its code point, or
 * 0 when the bytes there are not a valid sequence within n. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool text_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	size_t i = 0;

	while (i < n) {
		if (p[i] < 0x80) { /* fast path for ASCII */
			i++;
			continue;
		}
		size_t k = utf8_next(p + i, n - i, &cp);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static bool is_control(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

bool text_printable(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	size_t i = 0;

	while (i < n) {
		/* printable ASCII, nearly every byte of a name or value: no
		 * decoding needed */
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		size_t k = utf8_next(p + i, n - i, &cp);
		if (!k || is_control(cp))
			return false;
		i += k;
	}
	return true;
}

char *text_sanitize(char *buf, size_t cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0;
	unsigned cp;

	if (cap == 0)
		return buf;
	while (i < n && o + 1 < cap) {
		size_t k = utf8_next(p + i, n - i, &cp);
		if (!k || is_control(cp)) {
			buf[o++] = '?';
			i += k ? k : 1;
			continue;
		}
		if (o + k >= cap)
			break;
		memcpy(buf + o, p + i, k);
		o += k;
		i += k;
	}
	buf[o] = '\0';
	return buf;
}
