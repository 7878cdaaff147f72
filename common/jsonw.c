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

/* Decimal digits of u into buf (at least 21 bytes); returns the length. */
static size_t utoa(char *buf, uint64_t u)
{
	char tmp[24];
	size_t n = 0, k = 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		buf[k++] = tmp[--n];
	return k;
}

size_t jsonw_format_double(char *buf, size_t cap, double v)
{
	static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
	char tmp[48];
	size_t n = 0;
	int len;

	if (cap < 32)
		return 0;
	/* Values with at most six decimals (most feature values, scores,
	 * latencies) are written without printf: m / 10^k, with m and 10^k
	 * exact doubles, rounds exactly as strtod rounds the text "m e-k", so
	 * the smallest k with m / 10^k == v gives the shortest text that
	 * reads back as v. */
	if (isfinite(v) && !(v == 0 && signbit(v))) {
		for (int k = 0; k <= 6; k++) {
			double s = v * p10[k], m = nearbyint(s);
			if (fabs(m) >= 9007199254740992.0)
				break;
			if (m / p10[k] != v)
				continue;
			uint64_t u = (uint64_t)fabs(m), ip = u, fp = 0;
			for (int i = 0; i < k; i++)
				ip /= 10;
			fp = u - ip * (uint64_t)p10[k];
			if (m < 0)
				buf[n++] = '-';
			n += utoa(buf + n, ip);
			if (k) {
				size_t fl = utoa(tmp, fp);
				buf[n++] = '.';
				for (size_t z = fl; z < (size_t)k; z++)
					buf[n++] = '0';
				memcpy(buf + n, tmp, fl);
				n += fl;
			}
			buf[n] = '\0';
			return n;
		}
	}
	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(buf, cap, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	return len > 0 ? (size_t)len : 0;
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
