/* analyze: the analysis thread. On its own database connection, every
 * analyze_interval it folds newly stored events into per-window feature
 * state (samples, category tables, quality counters) and recomputes the
 * dirty windows: latency quantiles from the window sketch, drift per
 * feature (and @prediction/@score) against the model's reference, accuracy
 * and estimated accuracy, and the concept-drift detectors. The window that
 * is still open is written provisional and recomputed every pass; a closed
 * window is final, and reopened when late events arrive. */
#ifndef MLW_ANALYZE_H
#define MLW_ANALYZE_H

#include <stddef.h>

struct collector;
struct analyze;

/* Returns 0, or -1 with err. */
int analyze_start(struct analyze **out, struct collector *c, char *err, size_t errlen);
/* Finishes the pass in progress and stops. NULL is a no-op. */
void analyze_stop(struct analyze *a);

#endif
