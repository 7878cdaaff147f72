/* metrics: see metrics.h. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct writer {
	metrics_fn fn;
	void *arg;
};

struct metrics {
	pthread_mutex_t mu;
	struct writer *w;
	size_t n, cap;
};

struct metrics_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->w);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

int metrics_register(struct metrics *m, metrics_fn fn, void *arg)
{
	int rc = -1;

	pthread_mutex_lock(&m->mu);
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 8;
		struct writer *nw = realloc(m->w, ncap * sizeof(*nw));
		if (!nw)
			goto out;
		m->w = nw;
		m->cap = ncap;
	}
	m->w[m->n].fn = fn;
	m->w[m->n].arg = arg;
	m->n++;
	rc = 0;
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void metrics_unregister(struct metrics *m, metrics_fn fn, void *arg)
{
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++) {
		if (m->w[i].fn == fn && m->w[i].arg == arg) {
			memmove(&m->w[i], &m->w[i + 1], (m->n - i - 1) * sizeof(*m->w));
			m->n--;
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
}

static void reserve(struct metrics_out *out, size_t more)
{
	size_t need = out->len + more + 1;
	char *nb;
	size_t ncap;

	if (out->oom || need <= out->cap)
		return;
	ncap = out->cap ? out->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(out->buf, ncap);
	if (!nb) {
		out->oom = true;
		return;
	}
	out->buf = nb;
	out->cap = ncap;
}

static void vappend(struct metrics_out *out, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	reserve(out, (size_t)n);
	if (out->oom)
		return;
	vsnprintf(out->buf + out->len, out->cap - out->len, fmt, ap);
	out->len += (size_t)n;
}

void metrics_printf(struct metrics_out *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vappend(out, fmt, ap);
	va_end(ap);
}

static void append_raw(struct metrics_out *out, const char *s, size_t n)
{
	reserve(out, n);
	if (out->oom)
		return;
	memcpy(out->buf + out->len, s, n);
	out->len += n;
	out->buf[out->len] = '\0';
}

/* HELP text escapes backslash and newline; label values also quotes. */
static void append_escaped(struct metrics_out *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			append_raw(out, "\\\\", 2);
		else if (*s == '\n')
			append_raw(out, "\\n", 2);
		else if (*s == '"' && quote)
			append_raw(out, "\\\"", 2);
		else
			append_raw(out, s, 1);
	}
}

void metrics_family(struct metrics_out *out, const char *name, const char *type, const char *help)
{
	metrics_printf(out, "# HELP %s ", name);
	append_escaped(out, help, false);
	metrics_printf(out, "\n# TYPE %s %s\n", name, type);
}

void metrics_sample(struct metrics_out *out, const char *name, double value, ...)
{
	va_list ap;
	const char *k;
	bool first = true;

	metrics_printf(out, "%s", name);
	va_start(ap, value);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		metrics_printf(out, "%s%s=\"", first ? "{" : ",", k);
		append_escaped(out, v ? v : "", true);
		append_raw(out, "\"", 1);
		first = false;
	}
	va_end(ap);
	if (!first)
		append_raw(out, "}", 1);
	if (isnan(value))
		metrics_printf(out, " NaN\n");
	else if (isinf(value))
		metrics_printf(out, " %sInf\n", value > 0 ? "+" : "-");
	else if (value == floor(value) && fabs(value) < 1e15)
		metrics_printf(out, " %.0f\n", value);
	else
		metrics_printf(out, " %.17g\n", value);
}

char *metrics_render(struct metrics *m, size_t *len)
{
	struct metrics_out out = {0};

	reserve(&out, 0);
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++)
		m->w[i].fn(&out, m->w[i].arg);
	pthread_mutex_unlock(&m->mu);
	if (out.oom || !out.buf) {
		free(out.buf);
		return NULL;
	}
	out.buf[out.len] = '\0';
	if (len)
		*len = out.len;
	return out.buf;
}
