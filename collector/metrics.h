/* metrics: the registry behind mlwatchd's /metrics page (Prometheus text
 * format 0.0.4). Modules register a writer function; each request renders
 * every writer in registration order into one text. A writer emits whole
 * metric families (# HELP, # TYPE, then all samples of that family), with
 * names no other writer uses, so the page stays valid for
 * `promtool check metrics`.
 *
 * Thread-safe: register/unregister/render take one mutex; a writer runs
 * under it and must not call register/unregister. Writers run on the HTTP
 * thread: keep them quick and never block on ingest. */
#ifndef MLW_METRICS_H
#define MLW_METRICS_H

#include <stddef.h>

struct metrics;
struct metrics_out; /* the page being written */

typedef void (*metrics_fn)(struct metrics_out *out, void *arg);

/* A new empty registry, or NULL when out of memory. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Adds fn(out, arg) to every page. Returns 0, -1 when out of memory. */
int metrics_register(struct metrics *m, metrics_fn fn, void *arg);
/* Removes the registration of (fn, arg); a no-op if absent. After it returns
 * fn is not running and will not run again with arg. */
void metrics_unregister(struct metrics *m, metrics_fn fn, void *arg);

/* Renders the page into a malloc'd NUL-terminated string (caller frees) and
 * its length, or NULL when out of memory. */
char *metrics_render(struct metrics *m, size_t *len);

/* ---- for writers ---- */

/* "# HELP name help\n# TYPE name type\n"; type is gauge, counter, ... */
void metrics_family(struct metrics_out *out, const char *name, const char *type, const char *help);
/* One sample line: name{k1="v1",...} value. The variadic part is pairs of
 * label name and value (const char *), terminated by NULL. Values are
 * escaped (backslash, quote, newline); NaN and infinities are written as
 * NaN, +Inf, -Inf. */
void metrics_sample(struct metrics_out *out, const char *name, double value, ...);
/* Raw text (already in the exposition format). */
void metrics_printf(struct metrics_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
