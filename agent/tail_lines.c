/* tail_lines: see tail_lines.h. */
#include "tail_lines.h"

#include <stdint.h>
#include <string.h>

size_t tail_lines_next(const char *buf, size_t blen, size_t pos, bool final, size_t *len)
{
	if (pos >= blen)
		return 0;
	const char *nl = memchr(buf + pos, '\n', blen - pos);
	if (!nl) {
		if (!final)
			return 0;
		*len = blen - pos;
		return blen;
	}
	*len = (size_t)(nl - (buf + pos));
	return pos + *len + 1;
}

bool tail_lines_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

size_t tail_lines_grow(size_t cap, size_t blen, size_t chunk)
{
	if (blen > cap || chunk == 0 || chunk > SIZE_MAX / 2)
		return 0;
	if (cap - blen >= chunk)
		return cap;
	size_t ncap = cap ? cap : chunk * 2;
	while (ncap - blen < chunk) {
		if (ncap > SIZE_MAX / 2)
			return 0;
		ncap *= 2;
	}
	return ncap;
}

enum tail_overlong tail_lines_overlong(size_t blen, size_t max_line, bool *skipping)
{
	if (blen < max_line)
		return TAIL_KEEP;
	if (*skipping)
		return TAIL_DROP_MORE;
	*skipping = true;
	return TAIL_DROP_NEW;
}
