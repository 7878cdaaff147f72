/* jsonw: see jsonw.h. */
#include "jsonw.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jsonw_fini(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void jsonw_reset(struct jsonw *w)
{
	w->len = 0;
	w->oom = false;
	if (w->buf)
		w->buf[0] = '\0';
}

static bool reserve(struct jsonw *w, size_t more)
{
	size_t need = w->len + more + 1, ncap;
	char *nb;

	if (w->oom)
		return false;
	if (need <= w->cap)
		return true;
	ncap = w->cap ? w->cap : 256;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(w->buf, ncap);
	if (!nb) {
		w->oom = true;
		return false;
	}
	w->buf = nb;
	w->cap = ncap;
	return true;
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void jsonw_char(struct jsonw *w, char c)
{
	jsonw_raw(w, &c, 1);
}

void jsonw_str(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	/* Worst case every byte becomes \u00XX. */
	if (!reserve(w, n * 6 + 2))
		return;
	w->buf[w->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		memcpy(w->buf + w->len, s + i - run, run);
		w->len += run;
		run = 0;
		w->buf[w->len++] = '\\';
		if (c == '"' || c == '\\') {
			w->buf[w->len++] = (char)c;
		} else if (c == '\n') {
			w->buf[w->len++] = 'n';
		} else if (c == '\t') {
			w->buf[w->len++] = 't';
		} else {
			memcpy(w->buf + w->len, "u00", 3);
			w->len += 3;
			w->buf[w->len++] = hex[c >> 4];
			w->buf[w->len++] = hex[c & 15];
		}
	}
	memcpy(w->buf + w->len, s + n - run, run);
	w->len += run;
	w->buf[w->len++] = '"';
	w->buf[w->len] = '\0';
}

size_t jsonw_format_double(char *buf, size_t cap, double v)
{
	int n;

	/* Integers (the common case for counts, class indexes and many
	 * features) skip the printf round trips. */
	if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
		n = snprintf(buf, cap, "%lld", (long long)v);
		return n > 0 ? (size_t)n : 0;
	}
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	return n > 0 ? (size_t)n : 0;
}

void jsonw_num(struct jsonw *w, double v)
{
	char b[40];
	size_t n;

	if (!isfinite(v)) {
		jsonw_raw(w, "null", 4);
		return;
	}
	n = jsonw_format_double(b, sizeof(b), v);
	jsonw_raw(w, b, n);
}
