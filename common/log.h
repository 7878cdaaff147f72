/* log: the one-line log format shared by the three programs.
 *
 *   2026-11-25T12:00:00.123Z info collector batch stored agent=a1 seq=42
 *
 * Lines go to stderr (or the stream set by log_set_stream), one write per
 * line so that lines from several threads never interleave. */
#ifndef MLW_LOG_H
#define MLW_LOG_H

#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Returns 0 and sets *out for "debug", "info", "warn" or "error"; -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_stream(FILE *f);

/* Writes "TS LEVEL COMPONENT MSG" where MSG is printf-formatted and should
 * read "what happened key=value ...". Values a caller does not control
 * (names from the network) go through log_quote. */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats s for a log value: as-is when it is a plain token, otherwise in
 * double quotes with control characters, quotes and backslashes escaped.
 * Writes at most cap bytes (always NUL-terminated); returns buf. */
char *log_quote(char *buf, size_t cap, const char *s);

#define log_debug(c, ...) log_msg(LOG_DEBUG, c, __VA_ARGS__)
#define log_info(c, ...)  log_msg(LOG_INFO, c, __VA_ARGS__)
#define log_warn(c, ...)  log_msg(LOG_WARN, c, __VA_ARGS__)
#define log_error(c, ...) log_msg(LOG_ERROR, c, __VA_ARGS__)

#endif
