/* log: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

void log_set_level(enum log_level level)
{
	min_level = level;
}
enum log_level log_get_level(void)
{
	return min_level;
}
void log_set_stream(FILE *f)
{
	log_stream = f;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;
	int k;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ", ts.tv_nsec / 1000000,
	             log_level_name(level), component);
	if (k > 0)
		n += (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	/* One fwrite per line: stdio locks the stream, so threads never interleave. */
	fwrite(line, 1, n, log_stream ? log_stream : stderr);
	fflush(log_stream ? log_stream : stderr);
}

char *log_quote(char *buf, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int plain = *s != '\0';

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '=' || *p == 0x7f)
			plain = 0;
	if (cap == 0)
		return buf;
	if (plain) {
		snprintf(buf, cap, "%s", s);
		return buf;
	}
#define PUT(c)                          \
	do {                            \
		if (o + 1 < cap)        \
			buf[o++] = (c); \
	} while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 6 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT((char)*p);
		} else if (*p < ' ' || *p == 0x7f) {
			PUT('\\');
			PUT('x');
			PUT(hex[*p >> 4]);
			PUT(hex[*p & 15]);
		} else {
			PUT((char)*p);
		}
	}
	PUT('"');
#undef PUT
	buf[o] = '\0';
	return buf;
}
