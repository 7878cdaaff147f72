/*
 * binning: numpy's histogram binning, for the presets that bin as a peer
 * tool does (drift_preset evidently: Sturges over reference and window
 * together; nannyml: Doane over the reference, plus an overflow bin).
 *
 * Owns equal-width bin edges as np.histogram_bin_edges(x, "sturges" |
 * "doane") and the counts of np.histogram on given edges (left-closed bins,
 * the last one closed), on sorted inputs.
 *
 * Pure functions on caller buffers; the edge functions allocate the edges
 * (freed by the caller) and report -ENOMEM or -EINVAL (empty input), never
 * crash. Thread-safe.
 */
#ifndef MLWATCH_STATS_BINNING_H
#define MLWATCH_STATS_BINNING_H

#include <stddef.h>
#include <stdint.h>

/* Most bins an edge function returns (a wider rule is capped here). */
#define STATS_BINS_MAX 4096

enum stats_bin_rule {
	STATS_BINS_STURGES,
	STATS_BINS_DOANE,
};

/* Edges of the rule over the union of sorted a[0..n) and sorted b[0..m)
 * (m may be 0): *edges gets nb + 1 values from min to max. -EINVAL when
 * both are empty. */
int stats_bin_edges(enum stats_bin_rule rule, const double *a, size_t n, const double *b, size_t m,
                    double **edges, size_t *nb);

/* np.histogram(x, edges) for sorted x[0..n): counts[0..nb), values outside
 * [edges[0], edges[nb]] counted in *outside (may be NULL). */
void stats_hist_sorted(const double *edges, size_t nb, const double *x, size_t n, uint64_t *counts,
                       uint64_t *outside);

#endif /* MLWATCH_STATS_BINNING_H */
