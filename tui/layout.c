/* layout: see layout.h. */
#include "layout.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

char *lay_fmt_num(char *buf, size_t cap, double v)
{
	static const char suffix[] = "kMGTPE";
	double a = fabs(v);
	int digits;

	if (isnan(v)) {
		snprintf(buf, cap, "-");
	} else if (isinf(v)) {
		snprintf(buf, cap, "%sinf", v < 0 ? "-" : "");
	} else if (a == 0) {
		snprintf(buf, cap, "0");
	} else if (a < 0.001) {
		snprintf(buf, cap, "%.2e", v);
	} else if (a < 99999.5) {
		/* 3 significant digits, but never drop integer digits. */
		digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 2 - (int)floor(log10(a));
		snprintf(buf, cap, "%.*f", digits, v);
		/* "0.50" -> "0.5", "12.0" -> "12": trailing zeros say nothing. */
		if (strchr(buf, '.')) {
			char *e = buf + strlen(buf) - 1;
			while (*e == '0')
				*e-- = '\0';
			if (*e == '.')
				*e = '\0';
		}
	} else {
		int k = -1;
		while (a >= 999.5 && k < 5) {
			a /= 1000;
			v /= 1000;
			k++;
		}
		snprintf(buf, cap, "%.*f%c", a >= 100 ? 0 : a >= 10 ? 1 : 2, v, suffix[k]);
	}
	return buf;
}

char *lay_fmt_ms(char *buf, size_t cap, double ms)
{
	return lay_fmt_num(buf, cap, ms);
}

char *lay_fmt_pct(char *buf, size_t cap, double p)
{
	char num[32];

	if (isnan(p)) {
		snprintf(buf, cap, "-");
		return buf;
	}
	lay_fmt_num(num, sizeof(num), p * 100.0);
	snprintf(buf, cap, "%s%%", num);
	return buf;
}

char *lay_fmt_count(char *buf, size_t cap, int64_t n)
{
	if (n < 0 ? n > -100000 : n < 100000)
		snprintf(buf, cap, "%lld", (long long)n);
	else
		lay_fmt_num(buf, cap, (double)n);
	return buf;
}

char *lay_fmt_age(char *buf, size_t cap, double seconds)
{
	long long s;

	if (isnan(seconds)) {
		snprintf(buf, cap, "-");
		return buf;
	}
	s = seconds <= 0 ? 0 : seconds > 1e12 ? (long long)1e12 : (long long)seconds;
	if (s < 60)
		snprintf(buf, cap, "%llds", s);
	else if (s < 600 && s % 60)
		snprintf(buf, cap, "%lldm%llds", s / 60, s % 60);
	else if (s < 3600)
		snprintf(buf, cap, "%lldm", s / 60);
	else if (s < 36000 && (s % 3600) / 60)
		snprintf(buf, cap, "%lldh%lldm", s / 3600, (s % 3600) / 60);
	else if (s < 86400)
		snprintf(buf, cap, "%lldh", s / 3600);
	else if (s < 864000 && (s % 86400) / 3600)
		snprintf(buf, cap, "%lldd%lldh", s / 86400, (s % 86400) / 3600);
	else
		snprintf(buf, cap, "%lldd", s / 86400);
	return buf;
}

char *lay_fmt_time(char *buf, size_t cap, double ts, bool full)
{
	struct tm tm;
	time_t t;

	if (isnan(ts) || ts < 0 || ts > 253402300799.0) {
		snprintf(buf, cap, "-");
		return buf;
	}
	t = (time_t)ts;
	if (!localtime_r(&t, &tm) ||
	    strftime(buf, cap, full ? "%Y-%m-%d %H:%M:%S" : "%H:%M", &tm) == 0)
		snprintf(buf, cap, "-");
	return buf;
}

/* Decodes one UTF-8 code point at s; returns its length (1 for an invalid
 * byte, with *cp = -1). */
static int utf8_next(const unsigned char *s, long *cp)
{
	int len, i;
	long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlongs, surrogates and values past U+10FFFF are invalid. */
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) {
		*cp = -1;
		return 1;
	}
	*cp = c;
	return len;
}

static bool is_control(long cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* Width of one code point without depending on the locale: combining marks
 * 0, the East Asian wide and emoji blocks 2, the rest 1. */
static int cp_width(long cp)
{
	if (cp < 0 || is_control(cp))
		return 1; /* printed as '?' */
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x20d0 && cp <= 0x20ff))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

int lay_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int w = 0;
	long cp;

	while (*p) {
		p += utf8_next(p, &cp);
		w += cp_width(cp);
	}
	return w;
}

int lay_fit(char *buf, size_t cap, const char *s, int width, bool utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *ell = utf8 ? "\xe2\x80\xa6" : "~";
	size_t o = 0, ell_len = strlen(ell);
	int w = 0, total = lay_width(s), budget;
	long cp;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (width <= 0)
		return 0;
	/* Without room for the whole text, keep width-1 columns and the ellipsis. */
	budget = total <= width ? width : width - 1;
	while (*p) {
		int n = utf8_next(p, &cp), cw = cp_width(cp);
		bool bad = cp < 0 || is_control(cp) || (!utf8 && cp >= 0x80);
		if (bad)
			cw = 1;
		if (w + cw > budget)
			break;
		if (bad) {
			if (o + 2 > cap)
				break;
			buf[o++] = '?';
		} else {
			if (o + (size_t)n + 1 > cap)
				break;
			memcpy(buf + o, p, (size_t)n);
			o += (size_t)n;
		}
		w += cw;
		p += n;
	}
	if (*p && o + ell_len + 1 <= cap && w < width) {
		memcpy(buf + o, ell, ell_len);
		o += ell_len;
		w++;
	}
	buf[o] = '\0';
	return w;
}

int lay_pad(char *buf, size_t cap, const char *s, int width, bool right, bool utf8)
{
	char tmp[1024];
	int w = lay_fit(tmp, sizeof(tmp), s, width, utf8), pad = width > w ? width - w : 0;
	size_t o = 0, n = strlen(tmp);

	if (cap == 0)
		return 0;
	if (right)
		for (; pad > 0 && o + 1 < cap; pad--)
			buf[o++] = ' ';
	if (o + n + 1 > cap)
		n = cap - o - 1;
	memcpy(buf + o, tmp, n);
	o += n;
	for (; pad > 0 && o + 1 < cap; pad--)
		buf[o++] = ' ';
	buf[o] = '\0';
	return width > w ? width : w;
}

int lay_columns(int total, int gap, size_t n, const int *min, const int *want, const int *prio,
                int flex, int *out)
{
	int used = 0, visible = 0, left;
	size_t i;
	int p, maxp = 0;

	for (i = 0; i < n; i++) {
		out[i] = min[i];
		if (prio[i] > maxp)
			maxp = prio[i];
	}
	/* Hide the least important columns until the minimums fit. */
	for (;;) {
		used = 0;
		visible = 0;
		for (i = 0; i < n; i++)
			if (out[i] > 0) {
				used += out[i] + (visible ? gap : 0);
				visible++;
			}
		if (used <= total || visible <= 1)
			break;
		for (p = maxp; p >= 0; p--) {
			for (i = n; i-- > 0;)
				if (out[i] > 0 && prio[i] == p)
					break;
			if (i < n && out[i] > 0 && prio[i] == p) {
				out[i] = 0;
				break;
			}
		}
		if (p < 0)
			break;
	}
	if (used > total) {
		/* Only one column and too narrow: it gets what there is. */
		for (i = 0; i < n; i++)
			if (out[i] > 0)
				out[i] = total > 0 ? total : 0;
		return total > 0 ? 1 : 0;
	}
	left = total - used;
	for (p = 0; p <= maxp && left > 0; p++)
		for (i = 0; i < n && left > 0; i++) {
			int more;
			if (prio[i] != p || out[i] == 0 || want[i] <= out[i])
				continue;
			more = want[i] - out[i];
			if (more > left)
				more = left;
			out[i] += more;
			left -= more;
		}
	if (flex >= 0 && (size_t)flex < n && out[flex] > 0)
		out[flex] += left;
	return visible;
}

int64_t lay_bucket(int64_t range, int64_t window, int cols)
{
	int64_t k;

	if (window < 1)
		window = 1;
	if (cols < 1)
		cols = 1;
	if (range <= 0)
		return window;
	/* ceil(range / (k * window)) <= cols  <=>  k >= range / (cols * window). */
	k = (range + (int64_t)cols * window - 1) / ((int64_t)cols * window);
	if (k < 1)
		k = 1;
	/* a bucket of half an hour or more is a whole number of hours (of
	 * days from a day on), so that it is read from the hourly or daily
	 * tier rather than from thousands of minutes (store_rollup.h): a week
	 * on a wide screen is 168 hours, not 250 buckets of 41 minutes */
	if (k * window >= 1800 && 3600 % window == 0) {
		int64_t unit = k * window >= 86400 ? 86400 : 3600;
		return (k * window + unit - 1) / unit * unit;
	}
	return k * window;
}

static const struct {
	const char *name;
	int64_t seconds;
} ranges[LAY_NRANGES] = {
    {"15m", 900}, {"1h", 3600}, {"6h", 21600}, {"24h", 86400}, {"7d", 604800}, {"30d", 2592000},
};

int64_t lay_range_seconds(int idx)
{
	if (idx < 0)
		idx = 0;
	if (idx >= LAY_NRANGES)
		idx = LAY_NRANGES - 1;
	return ranges[idx].seconds;
}

const char *lay_range_name(int idx)
{
	if (idx < 0)
		idx = 0;
	if (idx >= LAY_NRANGES)
		idx = LAY_NRANGES - 1;
	return ranges[idx].name;
}

int lay_range_find(const char *name)
{
	for (int i = 0; i < LAY_NRANGES; i++)
		if (strcmp(ranges[i].name, name) == 0)
			return i;
	return -1;
}
