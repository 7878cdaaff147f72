/* jsonw: a small JSON text writer into a growable buffer, for the JSON the
 * collector stores (event features, class scores, histograms). Numbers are
 * written in the shortest form that reads back to the same double, so what
 * is stored is exactly what was received.
 *
 * A struct jsonw owns its buffer (jsonw_fini frees it). Any allocation
 * failure sets `oom` and later calls do nothing; check it at the end. */
#ifndef MLW_JSONW_H
#define MLW_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct jsonw {
	char *buf; /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;
};

void jsonw_init(struct jsonw *w);
void jsonw_fini(struct jsonw *w);
/* Empties the text, keeping the allocation. */
void jsonw_reset(struct jsonw *w);

void jsonw_raw(struct jsonw *w, const char *s, size_t n);
void jsonw_char(struct jsonw *w, char c);
/* A quoted, escaped string (s[0..n)). */
void jsonw_str(struct jsonw *w, const char *s, size_t n);
/* A finite number, shortest round-trip form; non-finite becomes null. */
void jsonw_num(struct jsonw *w, double v);

/* Writes v in the shortest "%.*g" form that strtod reads back exactly into
 * buf (at least 32 bytes); returns the length. */
size_t jsonw_format_double(char *buf, size_t cap, double v);

#endif
