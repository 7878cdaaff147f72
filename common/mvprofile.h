/*
 * mvprofile: a model's multivariate reference (issue 19 item 3) and the
 * multivariate drift of a window against it.
 *
 * Owns:
 *  - the profile: the model's numeric features (columns, by name) and a
 *    uniform sample of the reference rows that hold all of them (the same
 *    events for every column: row-aligned), stored in the reference table
 *    as the pseudo-feature "@multivariate" (kind 4). Encoding: u8 version |
 *    varint d | d x (varint len, name) | varint n | n x d f64 LE.
 *  - the fitted form (mvp_fit): NannyML's PCA (standardised on the
 *    reference, components for 65% of the variance).
 *  - a window's drift (mvp_drift): the mean PCA reconstruction error with
 *    NannyML's band (mean +- 3 sd of the reference's own chunks of the
 *    window's size, at most a fifth of the reference) and the domain
 *    classifier (logistic regression, reference vs window, 5 folds, over
 *    the features and, up to MVP_QUADRATIC_MAX columns, their pairwise
 *    products so a change of correlation shows), p by mv_domain_pvalue.
 *
 * Pure functions; no global state; thread-safe on distinct objects.
 * Ownership: a struct mvp owns its arrays (mvp_fini). Errors: -EINVAL,
 * -EPROTO (a damaged profile), -ENOMEM, -EIO (LAPACK).
 */
#ifndef MLWATCH_MVPROFILE_H
#define MLWATCH_MVPROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/multivariate.h"

#define MVP_FEATURE       "@multivariate"
#define MVP_KIND          4
#define MVP_COLS_MAX      256   /* numeric features a profile takes */
#define MVP_ROWS_MAX      10000 /* reference rows kept */
#define MVP_ROWS_MIN      50    /* fewer: no profile */
#define MVP_QUADRATIC_MAX 16    /* pairwise products up to this many columns */
#define MVP_CLF_ROWS      1000  /* rows a side for the classifier */

struct mvp {
	size_t d, n;
	char **names; /* [d] */
	double *rows; /* [n x d] */
	bool fitted;
	struct mv_pca pca; /* standardised, 65% */
};

/* Encodes names[d] and rows[n x d] into a malloc'd *out. 0, -EINVAL,
 * -ENOMEM. */
int mvp_encode(const char *const *names, size_t d, const double *rows, size_t n, uint8_t **out,
               size_t *len);
/* Decodes into p (zeroed or finalised first). 0, -EPROTO, -ENOMEM. */
int mvp_decode(struct mvp *p, const uint8_t *buf, size_t len);
/* Fits the PCA of p's rows. 0, -EINVAL, -ENOMEM, -EIO. */
int mvp_fit(struct mvp *p);
void mvp_fini(struct mvp *p);

struct mvp_result {
	size_t n_ref, n_cur, k;
	/* PCA reconstruction error and its band */
	double recon, band_mean, band_sd, lower, upper;
	size_t chunks;
	bool recon_drifted;
	/* domain classifier */
	double auc, auc_threshold, auc_p;
	bool clf_drifted, clf_done;
};

/* Drift of the window x[m x p->d] (m >= 10) against fitted p at level
 * alpha (0: 0.05); seed fixes the classifier's subsample. */
int mvp_drift(const struct mvp *p, const double *x, size_t m, double alpha, uint64_t seed,
              struct mvp_result *out);

#endif /* MLWATCH_MVPROFILE_H */
