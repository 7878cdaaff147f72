/* text: byte-level checks and escapes for strings that come from outside
 * (names, categories, ids): UTF-8 validity, printability, and rendering that
 * never lets a control character reach a terminal raw. */
#ifndef MLW_TEXT_H
#define MLW_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool text_utf8_valid(const char *s, size_t n);
/* True when s[0..n) is valid UTF-8 and has no control character (C0, DEL, C1). */
bool text_printable(const char *s, size_t n);
/* Copies s into buf (cap bytes, NUL-terminated), replacing control characters
 * and invalid UTF-8 bytes with '?' so the result is safe for a terminal.
 * Returns buf. */
char *text_sanitize(char *buf, size_t cap, const char *s);

#endif
