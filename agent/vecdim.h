/* vecdim: the dimension of each vector (embedding) feature, fixed per model
 * and feature by the first vector the agent accepts for it (issue 19): a
 * later vector of another dimension is refused with a precise 400 and
 * counted (vectors_refused_total{reason="dim_mismatch"}).
 *
 * Owns a bounded table of (model, feature) -> dimension (VECDIM_MAX pairs;
 * past that, new pairs go unchecked here and the collector's own check
 * still counts them). Thread-safe: every input thread calls vecdim_check;
 * one mutex, held for the length of one request's check. A request is all
 * or nothing: a refused one fixes no dimension. */
#ifndef MLW_AGENT_VECDIM_H
#define MLW_AGENT_VECDIM_H

#include <stddef.h>

#include "event.h"

#define VECDIM_MAX 4096

struct vecdim;

/* NULL when out of memory. */
struct vecdim *vecdim_new(void);
void vecdim_free(struct vecdim *t);

/* Checks every vector feature of ev[0..n) (and fixes the dimensions of new
 * pairs when all pass). Returns 0, or -1 with err filled: index the event,
 * field "features.NAME", reason naming both dimensions, vector_reason
 * VECTOR_DIM. The refusal is counted (stats_vector_refused). t NULL: 0. */
int vecdim_check(struct vecdim *t, const struct event *ev, size_t n, struct event_error *err);

/* Pairs fixed so far (tests). */
size_t vecdim_count(struct vecdim *t);

#endif
