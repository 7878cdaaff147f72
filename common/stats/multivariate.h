/*
 * multivariate: drift statistics over several columns at once (a model's
 * numeric features, or the coordinates of one embedding feature), each equal
 * to its numpy/scikit-learn definition (tests/unit/test_multivariate.c
 * against tests/data/multivariate_cases.json from
 * tests/data/gen_multivariate.py).
 *
 * Owns:
 *  - PCA (mv_pca): optional standardisation on the fitting data
 *    (sklearn StandardScaler: mean, population std, 1 where the std is 0),
 *    then the eigen-decomposition of the covariance (ddof 1) by LAPACK's
 *    dsyevr; components kept by sklearn's PCA(n_components=share) rule
 *    (the fewest whose cumulative explained-variance ratio exceeds share).
 *    A component's sign is arbitrary (sklearn flips by its SVD's U): here
 *    each component's largest-magnitude coordinate is positive.
 *  - reconstruction error as NannyML's data-reconstruction drift: mean over
 *    rows of the Euclidean norm between the standardised row and its
 *    reconstruction from the kept components.
 *  - MMD^2 with a Gaussian kernel k(a, b) = exp(-|a - b|^2 / h), h the
 *    median (numpy's np.median) of the squared cross distances |x_i - y_j|^2
 *    (the median heuristic, 2 sigma^2 = median, as Alibi Detect's
 *    GaussianRBF); the UNBIASED estimator (Gretton et al. 2012, eq. 3:
 *    the within-sample sums leave out i == j); permutation p-value
 *    (1 + #{perm >= observed}) / (1 + perms) over a seeded shuffle, the
 *    bandwidth kept fixed across permutations.
 *  - the domain classifier: L2 logistic regression (sklearn's
 *    LogisticRegression(C) loss: intercept not penalised), fitted by Newton's
 *    method to working precision (mv_logreg_fit), reference rows labelled 0
 *    and window rows 1, rows [reference; window] put in fold i % folds (sklearn
 *    PredefinedSplit(np.arange(n) % folds)); the statistic is the mean over
 *    folds of the held-out ROC AUC (sklearn roc_auc_score, ties counted 1/2).
 *  - mean-embedding distances: cosine distance 1 - cos(mean_ref, mean_cur)
 *    (scipy.spatial.distance.cosine) and the Euclidean distance of the means.
 *  - per-component KS after projection on the reference's PCA, the share of
 *    components that drift at the Bonferroni level alpha / k.
 *
 * Matrices are row-major doubles, n rows x d columns. Pure functions except
 * for heap scratch (-ENOMEM reported, never a crash); no global state;
 * thread-safe. OpenBLAS is asked for one thread (mv_blas_single_thread) so a
 * collector thread never fans out over the machine. Errors: -EINVAL for a
 * size out of range or a non-finite value, with no output written.
 */
#ifndef MLWATCH_STATS_MULTIVARIATE_H
#define MLWATCH_STATS_MULTIVARIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest column count (an embedding's dimension, issue 19). */
#define MV_MAX_DIM 4096
/* NannyML's share of variance the kept components explain. */
#define MV_PCA_SHARE 0.65

/* Makes OpenBLAS run on the calling thread only; idempotent. */
void mv_blas_single_thread(void);

struct mv_pca {
	size_t d;         /* input columns */
	size_t k;         /* components kept, 1 <= k <= d */
	double *mean;     /* [d] column means of the fitting data */
	double *scale;    /* [d] population std (1 where 0), or all 1 when not standardised */
	double *comp;     /* [k x d] unit rows, by decreasing variance */
	double *var;      /* [k] explained variance (ddof 1) */
	double *ratio;    /* [k] explained variance ratio */
	double total_var; /* sum of all d eigenvalues (the covariance's trace) */
};

/* Fits a PCA to x[n x d] (2 <= n, 1 <= d <= MV_MAX_DIM, all finite).
 * standardise: scale columns by their population std first (NannyML); else
 * only centre them. share in (0, 1]: keep the fewest components whose
 * cumulative ratio exceeds it (1: all with non-zero variance); max_k > 0
 * caps k. On success *p owns its arrays (mv_pca_fini). On error *p is
 * zeroed; -EINVAL, -ENOMEM, -EIO when LAPACK fails to converge. */
int mv_pca_fit(const double *x, size_t n, size_t d, bool standardise, double share, size_t max_k,
               struct mv_pca *p);
void mv_pca_fini(struct mv_pca *p);

/* Scores of x[n x p->d] on the components: out[n x p->k]. */
int mv_pca_project(const struct mv_pca *p, const double *x, size_t n, double *out);

/* Mean reconstruction error of x[n x p->d] (n >= 1); per_row[n] may be
 * NULL. */
int mv_pca_recon_error(const struct mv_pca *p, const double *x, size_t n, double *per_row,
                       double *mean);

/* NannyML's band for the reconstruction error: the reference x[n x p->d]
 * cut into consecutive chunks of `chunk` rows (chunk >= 2, at least two
 * whole chunks; a partial last chunk is left out), each chunk's mean error;
 * *mean and *sd (ddof 1) of those, the band mean +- 3 sd (NannyML's
 * default). *chunks (may be NULL) the count used. */
int mv_pca_recon_band(const struct mv_pca *p, const double *x, size_t n, size_t chunk, double *mean,
                      double *sd, size_t *chunks);

/* Median of the squared cross distances |x_i - y_j|^2 (np.median: mean of
 * the two middle values for an even count); both sides non-empty. */
int mv_median_sqdist(const double *x, size_t n, const double *y, size_t m, size_t d, double *h);

/* Unbiased MMD^2 of x[n x d] and y[m x d] (n, m >= 2, n + m <= 65536)
 * with bandwidth h > 0 (h <= 0: the median heuristic above, written back to
 * *h_used if not NULL). perms permutations (0: *p 1) seeded by seed give *p
 * (may be NULL) and, when perm_stats is not NULL, each permuted MMD^2 in
 * perm_stats[perms]. */
int mv_mmd2(const double *x, size_t n, const double *y, size_t m, size_t d, double h,
            unsigned perms, uint64_t seed, double *mmd2, double *p, double *h_used,
            double *perm_stats);

/* L2 logistic regression on x[n x d] with labels y[n] in {0, 1}: w[d] and
 * *b minimise sum log-loss + |w|^2 / (2 C). C > 0. *iters (may be NULL)
 * the Newton steps taken (at most 100; it stops when the gradient is below
 * 1e-8 or a step would lower the loss by less than 1e-12 of it). */
int mv_logreg_fit(const double *x, const uint8_t *y, size_t n, size_t d, double c, double *w,
                  double *b, int *iters);

/* ROC AUC of scores[n] for labels[n] in {0, 1} (average ranks for ties);
 * -EINVAL when a class is missing. */
int mv_roc_auc(const double *scores, const uint8_t *labels, size_t n, double *auc);

/* Domain classifier: mean held-out AUC over folds (2 <= folds <= 20) of a
 * logistic regression (C) telling ref[n x d] (label 0) from cur[m x d]
 * (label 1), fold of row i of [ref; cur] = i % folds; fold_auc[folds] (may
 * be NULL) each fold's. Every training and test fold must hold both labels
 * (-EINVAL otherwise). */
int mv_domain_auc(const double *ref, size_t n, const double *cur, size_t m, size_t d,
                  unsigned folds, double c, double *auc, double *fold_auc);

/* One-sided p-value of a domain classifier under "no drift" from its
 * held-out fold AUCs fold_auc[folds] (n reference and m window rows in all,
 * dealt into folds as mv_domain_auc does). Under no drift a fold's model is
 * independent of its test rows, so its AUC is a Mann-Whitney statistic with
 * null sd sqrt((n0 + n1 + 1) / (12 n0 n1)) (n0, n1 its test rows of each
 * label): p_f = norm.sf((auc_f - 0.5) / sd_f). The folds share training
 * rows, so their AUCs are correlated (a normal test on the mean alarmed at
 * 12.5% for a nominal 5%); Bonferroni holds whatever the dependence:
 * p = min(1, folds min p_f). */
double mv_domain_pvalue(const double *fold_auc, unsigned folds, size_t n, size_t m);
/* The AUC a fold must reach for mv_domain_pvalue to fall below alpha. */
double mv_domain_threshold(double alpha, unsigned folds, size_t n, size_t m);

/* x[n x d] with its d (d + 1) / 2 pairwise products x_i x_j (i <= j)
 * appended, into out[n x mv_quadratic_dim(d)]: lets the linear domain
 * classifier see a change of correlation (issue 19 acceptance 2). */
size_t mv_quadratic_dim(size_t d);
int mv_quadratic_features(const double *x, size_t n, size_t d, double *out);

/* Column means of x[n x d] into mean[d] (n >= 1). */
int mv_col_mean(const double *x, size_t n, size_t d, double *mean);
/* Cosine distance and Euclidean distance of a[d] and b[d]; cosine 0 when a
 * side is the zero vector (no direction to compare). */
void mv_mean_distances(const double *a, const double *b, size_t d, double *cosine, double *euclid);

/* scipy ks_2samp(method="auto") p-value of sorted a[n] and b[m]; *d (may
 * be NULL) the statistic. */
double mv_ks_sorted_p(const double *a, size_t n, const double *b, size_t m, double *d);

/* Per-component KS: ref_scores[n x k] and cur_scores[m x k] (as
 * mv_pca_project gives) compared column by column with scipy's ks_2samp
 * (method="auto"). A component drifts when its p < alpha / k (Bonferroni:
 * the family of k tests keeps level alpha, so one component, or forty,
 * alarm at the same rate under no drift). *share is the share of drifted
 * components, *p = min(1, k min p_i) the family's p-value (drifted iff
 * *p < alpha), per_p[k] (may be NULL) each component's own p. */
int mv_pca_ks_share(const double *ref_scores, size_t n, const double *cur_scores, size_t m,
                    size_t k, double alpha, double *share, double *p, double *per_p);

#endif /* MLWATCH_STATS_MULTIVARIATE_H */
