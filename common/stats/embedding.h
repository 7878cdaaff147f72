/*
 * embedding: drift of one vector (embedding) feature, a window of rows
 * against a reference profile, by five methods, each reported with its
 * statistic, the threshold that statistic is compared with, a p-value and
 * a verdict at level alpha (issue 19 item 2). The statistics are
 * multivariate.h's (checked there against numpy/sklearn); this module owns
 * the reference profile, the subsampling that bounds a window's cost, and
 * each method's null distribution:
 *  - cosine / euclidean: distance between the mean embeddings; null by a
 *    Gaussian multiplier bootstrap (boot draws of the window-minus-reference
 *    mean difference with the reference's covariance, taken from boot_rows
 *    centred reference rows); threshold its (1 - alpha) quantile.
 *  - mmd: unbiased MMD^2 (median-heuristic bandwidth) of up to mmd_rows rows
 *    a side; permutation p; threshold the (1 - alpha) quantile of the
 *    permuted values.
 *  - classifier: mean held-out ROC AUC of a logistic regression (C, folds)
 *    on up to clf_rows rows a side; p from mv_domain_pvalue (Bonferroni
 *    over the folds); threshold the AUC a fold must reach (drift when some
 *    fold's AUC reaches it).
 *  - pca_ks: per-component KS of the window's projections on the
 *    reference PCA's components (centred, 65% of the variance, at most
 *    pca_max_k) against the reference's own, combined by Fisher's method:
 *    statistic -2 sum ln p_c, p its chi-square (2k dof) tail, threshold
 *    the chi-square's (1 - alpha) quantile; share = the components with
 *    p_c < alpha, shown beside it.
 * Subsamples are seeded: the same window and seed give the same result.
 *
 * Ownership: emb_ref owns its arrays (emb_ref_fini). Thread-safe on
 * distinct outputs; one OpenBLAS thread. Errors: -EINVAL (sizes, non-finite
 * values, a dimension that differs from the reference's), -ENOMEM, -EIO.
 */
#ifndef MLWATCH_STATS_EMBEDDING_H
#define MLWATCH_STATS_EMBEDDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multivariate.h"

/* Components pca_ks uses at most (those of 65% of the variance below). */
#define EMB_PCA_MAX_K 128

/* Reference rows a profile keeps (a uniform, seeded sample beyond). */
#define EMB_REF_ROWS_MAX 50000

enum emb_method { EMB_COSINE = 0, EMB_EUCLID, EMB_MMD, EMB_CLASSIFIER, EMB_PCA_KS, EMB_METHODS };

/* "cosine", "euclidean", "mmd", "classifier", "pca_ks". */
const char *emb_method_name(enum emb_method m);

/* Zero fields take the defaults in brackets; sizes too small to compute
 * with are raised to the least that works (boot_rows 2, mmd_rows 2,
 * clf_rows folds). */
struct emb_opts {
	double alpha;       /* [0.05] */
	unsigned boot;      /* [200] bootstrap draws for the mean distances */
	unsigned boot_rows; /* [4000] reference rows the bootstrap uses */
	unsigned mmd_rows;  /* [1500] rows a side for MMD (1,000 left a 0.5 sd
	                     * shift in 384 dims missed about 1 window in 10) */
	unsigned mmd_perms; /* [100] */
	unsigned clf_rows;  /* [1000] rows a side for the classifier */
	unsigned folds;     /* [5] */
	double c;           /* [1.0] inverse L2 strength */
	size_t pca_max_k;   /* [EMB_PCA_MAX_K] */
	uint64_t seed;      /* [0 is a seed like any other] */
};

struct emb_ref {
	size_t d, n;       /* dimension; rows kept */
	double *rows;      /* [n x d] */
	double *mean;      /* [d] */
	struct mv_pca pca; /* centred (not standardised) */
	double *sorted;    /* [k x n]: component c's reference scores, ascending */
};

/* Builds a profile from x[n x d] (n >= 10, 1 <= d <= MV_MAX_DIM; rows
 * beyond EMB_REF_ROWS_MAX sampled with seed). ref must be zeroed or
 * finalised; on error it is left finalised. */
int emb_ref_build(struct emb_ref *ref, const double *x, size_t n, size_t d, size_t pca_max_k,
                  uint64_t seed);
void emb_ref_fini(struct emb_ref *ref);

struct emb_stat {
	double stat;      /* cosine distance, Euclidean distance, MMD^2, AUC, Fisher X */
	double threshold; /* stat at or beyond which the verdict is drift */
	double p;
	bool drifted;
	double share;   /* pca_ks: share of components with KS p < alpha (else 0) */
	double seconds; /* CPU time the method took (benchmarks) */
};

struct emb_result {
	size_t n_ref, n_cur, d;
	struct emb_stat m[EMB_METHODS];
};

/* Drift of the window x[m x ref->d] (m >= 10) against ref. opts may be
 * NULL. On error *out is zeroed. */
int emb_drift(const struct emb_ref *ref, const double *x, size_t m, const struct emb_opts *opts,
              struct emb_result *out);

#endif /* MLWATCH_STATS_EMBEDDING_H */
