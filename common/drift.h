/*
 * drift: data-drift statistics of a window against a reference profile,
 * exactly as defined in CONTRACT.md section 5 (and cross-checked against
 * scipy/numpy by tests/data/gen_reference.py).
 *
 * Numeric features: two-sample KS D and p-value as scipy.stats.ks_2samp
 * (method="auto": exact when both samples have at most 10,000 values, else
 * as scipy kstwo.sf(D, round(nm/(n+m))), stats/kolmogorov.h); Wasserstein-1
 * divided by max(std_ref, 0.001); PSI and Jensen-Shannon distance (base 2)
 * over 10 reference-quantile bins. Categorical features: a test of
 * homogeneity on the reference and window counts (scipy chi2_contingency
 * without Yates over the cells either side uses; with exactly two cells also
 * the pooled two-proportion z-test), PSI and JS over the reference's top-64
 * categories + "other" (only when the reference has more) + "new".
 *
 * A drift_ref (reference profile) is built once per feature from raw values,
 * stored as a BLOB (drift_ref_encode) and reloaded (drift_ref_decode). A
 * drift_result is plain data the collector can store column by column.
 * Statistics are never NaN: an empty side gives an explicit `insufficient`
 * result with distances 0, p-values 1 ("no evidence"), severity 0 and
 * drifted false. (Under the evidently preset a window category the
 * reference lacks makes the goodness-of-fit chi2 +inf with p 0, as there.)
 * Further statistics (the stats/ modules: two-sample tests, distances,
 * binning) are computed for every window, whatever the method; presets
 * (drift_preset) follow a peer tool's definitions.
 *
 * Ownership: drift_ref is caller-allocated, owns its arrays (drift_ref_fini
 * frees them); drift_result owns nothing. Functions take const inputs and
 * are thread-safe on distinct outputs. Errors are negative errno values.
 */
#ifndef MLWATCH_DRIFT_H
#define MLWATCH_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sample.h"
#include "stats/twosample.h"

enum drift_kind {
	DRIFT_NUMERIC = 0,
	DRIFT_CATEGORICAL = 1,
};

/* How a feature's score is chosen. DEFAULT follows the contract
 * (Evidently's choice): numeric -> KS p-value if the reference has <= 1000
 * values else normed Wasserstein; categorical -> chi2 contingency p-value
 * (the z-test's when only two cells are in use) if <= 1000 else JS. KS,
 * WASSERSTEIN, ENERGY, MANNWHITNEY, WELCH, ANDERSON and CVM are numeric-only; CHI2, Z and
 * FISHER categorical-only; PSI, JS, HELLINGER, LINF, TVD and KL apply to
 * both (numeric on the 10 PSI bins). */
enum drift_method {
	DRIFT_METHOD_DEFAULT = 0,
	DRIFT_METHOD_KS,
	DRIFT_METHOD_WASSERSTEIN,
	DRIFT_METHOD_PSI,
	DRIFT_METHOD_JS,
	DRIFT_METHOD_CHI2,
	DRIFT_METHOD_Z,           /* two-proportion z-test: categorical with two cells in use */
	DRIFT_METHOD_HELLINGER,   /* on the PSI bins / the cells */
	DRIFT_METHOD_LINF,        /* L-infinity of the bin / cell proportions */
	DRIFT_METHOD_TVD,         /* total variation distance, same support */
	DRIFT_METHOD_KL,          /* KL(ref || cur) on the floored proportions */
	DRIFT_METHOD_ENERGY,      /* energy distance of the samples (numeric) */
	DRIFT_METHOD_MANNWHITNEY, /* Mann-Whitney U p-value (numeric) */
	DRIFT_METHOD_WELCH,       /* Welch's t-test p-value (numeric) */
	DRIFT_METHOD_FISHER,      /* Fisher's exact p-value (categorical, two cells in use) */
	DRIFT_METHOD_ANDERSON,    /* Anderson-Darling k-sample p-value (numeric) */
	DRIFT_METHOD_CVM,         /* Cramer-von Mises two-sample p-value (numeric) */
};

/* Whose definitions the statistics follow (drift_preset): mlwatch's own
 * (the sound defaults above), or the peer tool's as its current code has
 * them, so its users get the numbers they already trust:
 *  evidently: default KS (<= 1000 reference values) else normed Wasserstein,
 *    a numeric feature with <= 5 distinct values tested as categorical;
 *    categorical z-test (<= 2 categories in use) or chi-square goodness of
 *    fit against the reference shares (p = 0 when the window has a category
 *    the reference lacks) for <= 1000 reference rows, else JS. Numeric bins:
 *    one per value up to 20 distinct reference values, else Sturges
 *    equal-width bins over reference and window together. Empty bins
 *    floored at 0.0001 without renormalising (PSI, JS, KL); JS in natural
 *    log; z-test p = 2 (1 - Phi(|z|)).
 *  nannyml: default JS (base 2, no floor); numeric bins by Doane's rule on
 *    the reference plus one bin for window values outside its range;
 *    unseen categories lumped into one cell; Wasserstein not normalised;
 *    chi-square contingency with Yates' correction (at 1 dof). Thresholds
 *    as NannyML's DEFAULT_THRESHOLDS: ks and wasserstein by its
 *    StandardDeviationThreshold on the reference's own chunks (see
 *    struct drift_chunk_thr; KS then scores D, not its p-value), the
 *    others constant.
 * Thresholds otherwise: 0.05 for p-values, 0.1 for distances. */
enum drift_preset {
	DRIFT_PRESET_MLWATCH = 0,
	DRIFT_PRESET_EVIDENTLY,
	DRIFT_PRESET_NANNYML,
};

/* "mlwatch", "evidently", "nannyml"; never NULL. */
const char *drift_preset_name(enum drift_preset p);
/* Parses a name as above; -EINVAL if unknown. */
int drift_preset_parse(const char *name, enum drift_preset *p);

/* Reference size at or below which the default uses a p-value test. */
#define DRIFT_SMALL_REF 1000
/* Default thresholds: p-values drift when p < threshold, distances when
 * score >= threshold. */
#define DRIFT_P_THRESHOLD    0.05
#define DRIFT_DIST_THRESHOLD 0.1
/* Floor for PSI proportions and categorical reference proportions. */
#define DRIFT_PROP_FLOOR 0.0001
/* Floor for the reference std that normalises Wasserstein. */
#define DRIFT_STD_FLOOR 0.001
/* Severity cap for p-value methods, and the p floor it comes from. */
#define DRIFT_SEVERITY_MAX 1000.0
#define DRIFT_P_FLOOR      1e-12
/* Categorical cells beyond the top ones: "other" (if any) then "new". */
#define DRIFT_MAX_CELLS (SAMPLE_CATS_TOP + 2)

/* Lower-case method name ("ks", "wasserstein", "psi", "js", "chi2";
 * "default" for DRIFT_METHOD_DEFAULT). Never NULL. */
const char *drift_method_name(enum drift_method m);
/* Parses a name as above into *m. -EINVAL if unknown. */
int drift_method_parse(const char *name, enum drift_method *m);
/* True when m's score is a p-value (KS, CHI2, Z, MANNWHITNEY, WELCH,
 * FISHER, ANDERSON, CVM). */
bool drift_method_is_pvalue(enum drift_method m);
/* The contract's default threshold for m (0.05 for p-values, else 0.1). */
double drift_method_default_threshold(enum drift_method m);

/* Per-feature configuration ([model] section). method DEFAULT and threshold
 * <= 0 (or NaN) mean "the contract's default". A zeroed struct is the
 * default. */
struct drift_opts {
	enum drift_method method;
	double threshold;
	enum drift_preset preset;
	/* the KS p-value asymptotic even where scipy's rule takes the exact
	 * one (both samples <= 10,000), unless KS gives the verdict: the
	 * per-segment analysis (issue 17), where many small samples would
	 * otherwise cost an exact computation each for a reported figure */
	bool ks_p_asymptotic;
	/* only what the verdict needs: KS, Wasserstein and the binned
	 * distances (cheap), and the method's own test; energy, Mann-Whitney,
	 * Welch, Anderson-Darling and Cramer-von Mises are left at 0 with
	 * p = 1 unless one of them is the method. The per-segment analysis
	 * (issue 17), whose rows keep no further statistics: each of those
	 * tests walks the whole reference, per segment and feature. */
	bool verdict_only;
};

/* ---- reference profile -------------------------------------------------- */

struct drift_ref;
/* The method (never DEFAULT) and threshold a feature with reference ref
 * gets under opts (NULL = defaults); -EINVAL if the method does not apply
 * to the reference's kind. A categorical default that resolves to chi2
 * becomes z in a window where only two cells are in use. */
int drift_resolve(const struct drift_ref *ref, const struct drift_opts *opts,
                  enum drift_method *method, double *threshold);

/* NannyML's StandardDeviationThreshold for its ks and wasserstein methods:
 * the statistic of each reference chunk against the whole reference, the
 * chunks as NannyML's DefaultChunker cuts them (n / 10 values each, in the
 * reference's order, the remainder a chunk of its own: 10 to 19 chunks), then mean +- 3
 * population std of the chunk values, clipped by the method's limits (KS
 * upper at most 1, no lower; Wasserstein lower at least 0). Computed when
 * the profile is built from values in their order (at least 10) and kept
 * in its encoding, as the order is not. */
#define DRIFT_CHUNK_COUNT 10
#define DRIFT_CHUNK_STD_K 3.0
struct drift_chunk_thr {
	bool set;
	uint32_t chunks; /* ceil(n / (n / 10)): 10 to 19 */
	double ks_upper; /* D drifts when > ks_upper */
	double w_lower;  /* unnormalised W1 drifts when < w_lower (0 = never) */
	double w_upper;  /* or when > w_upper */
};

/* Where a result's threshold came from. */
enum drift_threshold_rule {
	DRIFT_THR_DEFAULT = 0,      /* the method's constant (0.05 / 0.1) */
	DRIFT_THR_CONFIGURED,       /* threshold.FEATURE */
	DRIFT_THR_REFERENCE_CHUNKS, /* drift_chunk_thr (nannyml preset) */
};
/* "default", "configured", "reference_chunks"; never NULL. */
const char *drift_threshold_rule_name(enum drift_threshold_rule r);

struct drift_ref {
	enum drift_kind kind;
	uint64_t n; /* values in the profile (sample size, or category total) */
	/* numeric */
	double *sorted;                /* sorted[0..n) ascending, owned (NULL if categorical) */
	double edges[SAMPLE_BINS - 1]; /* numpy percentiles 10..90 */
	double bin_prop[SAMPLE_BINS];  /* reference proportion per bin, unfloored */
	double min, max, mean, std;    /* std: population (ddof = 0) */
	/* categorical */
	struct sample_cats cats;                 /* ranked; zeroed if numeric */
	size_t ncells;                           /* cells incl. the "new" one */
	double cell_prop[DRIFT_MAX_CELLS];       /* unfloored proportions */
	double cell_prop_floor[DRIFT_MAX_CELLS]; /* floored, renormalised */
	struct drift_chunk_thr chunk_thr;        /* numeric, from values in order */
};

/* Which rule gives that threshold, and the lower bound of a two-sided one
 * (0 = none: only the nannyml preset's Wasserstein from reference chunks). */
enum drift_threshold_rule drift_resolve_rule(const struct drift_ref *ref,
                                             const struct drift_opts *opts, double *lower);

/* Builds a numeric profile from values[0..n) (any order, all finite, else
 * -EINVAL; in the reference's row order for chunk_thr, set when n >= 10).
 * If n > SAMPLE_REF_MAX a uniform sample of SAMPLE_REF_MAX values
 * is kept (deterministic in seed). n may be 0 (an empty profile: every drift
 * result against it is insufficient). ref must be uninitialised or
 * finalised; on error it is left finalised. */
int drift_ref_numeric(struct drift_ref *ref, const double *values, size_t n, uint64_t seed);

/* Builds a categorical profile from a frequency table (copied; counts may
 * come from a full pass over the reference data). The table need not be
 * ranked. On error ref is left finalised. */
int drift_ref_categorical(struct drift_ref *ref, const struct sample_cats *counts);

/* Convenience: a categorical profile from NUL-terminated values[0..n). */
int drift_ref_categorical_values(struct drift_ref *ref, const char *const *values, size_t n);

/* Frees what ref owns and zeroes it. Safe on a zeroed struct. */
void drift_ref_fini(struct drift_ref *ref);

/* Encoding (SQLite BLOB): u8 version | u8 kind | numeric: varint n,
 * n x f64 sorted values (edges and moments are recomputed on decode, so they
 * cannot disagree with the sample), then with version 2 (chunk_thr set)
 * varint chunks, f64 ks_upper, w_lower, w_upper | categorical: sample_cats
 * encoding. Version 1 is written when chunk_thr is unset, so older
 * profiles keep their bytes. */
int drift_ref_encode(const struct drift_ref *ref, uint8_t **out, size_t *len);
/* Decodes into an uninitialised ref. Validates everything (-EPROTO): sorted
 * and finite values, n <= SAMPLE_REF_MAX, well-formed category table. On
 * error ref is left finalised. */
int drift_ref_decode(struct drift_ref *ref, const uint8_t *buf, size_t len);

/* ---- data quality ------------------------------------------------------ */

/* True when numeric v lies outside the reference's [min, max] (false for an
 * empty or categorical profile). */
bool drift_out_of_range(const struct drift_ref *ref, double v);
/* True when the categorical reference never saw name (false for an empty or
 * numeric profile). */
bool drift_is_new_category(const struct drift_ref *ref, const char *name, size_t len);
/* Categorical cell of name: 0..ncells-2 for reference cells, ncells-1 for
 * "new". -1 for a numeric profile. */
int drift_ref_cell(const struct drift_ref *ref, const char *name, size_t len);

/* ---- results ----------------------------------------------------------- */

struct drift_result {
	enum drift_kind kind;
	uint64_t n_ref;
	uint64_t n_cur;
	bool insufficient; /* an empty side: distances 0, p 1, not drifted */
	/* numeric (0 when categorical) */
	double ks; /* D */
	double ks_p;
	enum stats_ks_p_method ks_p_method; /* exact when max(n_ref, n_cur) <= 10,000 */
	double wasserstein;                 /* normed by max(std_ref, 0.001) */
	/* categorical (0 when numeric) */
	double chi2; /* 2 x k contingency (homogeneity) over the cells in use */
	double chi2_p;
	int chi2_dof;    /* cells in use - 1 */
	double z, z_p;   /* two-proportion z-test; z 0, p 1 unless two cells are in use */
	double fisher_p; /* Fisher's exact on the 2 x 2 table; 1 unless two cells are in use */
	/* numeric only (0, or p 1, when categorical) */
	double energy;           /* energy distance, not normalised (as scipy) */
	double mwu_u, mwu_p;     /* Mann-Whitney U of the reference, two-sided p */
	double welch_t, welch_p; /* t 0, p 1 when a side has fewer than 2 values */
	double ad_stat, ad_p;    /* Anderson-Darling; p in [0.001, 0.25] as scipy; 0 and 1
	                          * with fewer than 2 distinct values */
	double cvm_t, cvm_p;     /* Cramer-von Mises; 0 and 1 with fewer than 2 values a side */
	/* both */
	double psi;
	double js;
	double hellinger, linf, tvd, kl; /* on the PSI bins (numeric) or the cells */
	/* the score the drift flag and severity come from */
	enum drift_preset preset;
	enum drift_method method; /* never DRIFT_METHOD_DEFAULT */
	double score;
	double threshold;
	enum drift_threshold_rule threshold_rule;
	double threshold_lower; /* reference-chunk Wasserstein: drifts below it too; else 0 */
	double severity;        /* 1.0 = at the threshold; p-values capped at 1000 */
	bool drifted;
};

/* Drift of a numeric window sample cur[0..n) (any order; NaN/Inf -EINVAL;
 * missing values must already be excluded) against ref. opts may be NULL.
 * -EINVAL also for a categorical ref or a categorical-only method; -ENOMEM.
 * On error *out is zeroed. */
int drift_numeric(const struct drift_ref *ref, const double *cur, size_t n,
                  const struct drift_opts *opts, struct drift_result *out);
/* Same with cur already sorted ascending (no copy is made). */
int drift_numeric_sorted(const struct drift_ref *ref, const double *cur, size_t n,
                         const struct drift_opts *opts, struct drift_result *out);

/* Drift of a categorical window given its counts per cell (counts[ncells],
 * indexed as drift_ref_cell) against ref. */
int drift_categorical(const struct drift_ref *ref, const uint64_t *counts, size_t ncells,
                      const struct drift_opts *opts, struct drift_result *out);
/* Unseen categories counted one by one, at most this many (the rest of the
 * window's "new" cell is one more category, "other_new"). */
#define DRIFT_NEW_CATS_MAX 64
#define DRIFT_SPLIT_CELLS  (DRIFT_MAX_CELLS + DRIFT_NEW_CATS_MAX + 1)
/* As drift_categorical, with the window's categories the reference lacks
 * also given one by one: new_counts[0..n_new) (n_new <= DRIFT_NEW_CATS_MAX,
 * else -EINVAL) are their counts, parts of counts[ncells - 1]; whatever
 * that cell holds beyond them counts as one category, "other_new". The
 * evidently preset uses them (Evidently's tests and distances run over the
 * union of both samples' values, each unseen value its own category, and
 * its default test is the z-test only when that union has at most two);
 * the others keep the pooled "new" cell. */
int drift_categorical_split(const struct drift_ref *ref, const uint64_t *counts, size_t ncells,
                            const uint64_t *new_counts, size_t n_new, const struct drift_opts *opts,
                            struct drift_result *out);
/* Convenience: counts NUL-terminated values[0..n) then drift_categorical. */
int drift_categorical_values(const struct drift_ref *ref, const char *const *values, size_t n,
                             const struct drift_opts *opts, struct drift_result *out);

/* The score method m would give from r's statistics (r->score when m is
 * r->method): the p-value or distance drift_result_score_of compares with
 * a threshold (p: drift below it; distances: at or above it). */
double drift_result_score_of(const struct drift_result *r, enum drift_method m);

/* ---- the statistics themselves (exposed for tests and benchmarks) ------ */

/* KS D of sorted a[0..n) and b[0..m), n, m >= 1: max |F_a(x) - F_b(x)|
 * over all sample points, ties handled as scipy (right-continuous CDFs). */
double drift_ks_stat(const double *a, size_t n, const double *b, size_t m);
/* Both of the above in one merge walk (half the cost of two calls), with
 * results identical to theirs; 0 and 0 when a side is empty. */
void drift_ks_wasserstein(const double *a, size_t n, const double *b, size_t m, double *d,
                          double *w);
/* Kolmogorov limiting distribution survival function, as
 * scipy.stats.kstwobign.sf(x); 1 for x <= 0. */
double drift_kstwobign_sf(double x);
/* ks_2samp's two-sided p-value (method="auto", see stats_ks_p). */
double drift_ks_pvalue(double d, size_t n, size_t m);
/* W1 of sorted a[0..n) and b[0..m), n, m >= 1, as
 * scipy.stats.wasserstein_distance (not normalised). */
double drift_wasserstein(const double *a, size_t n, const double *b, size_t m);
/* sum((c - r) ln(c / r)) over k proportions, each floored at
 * DRIFT_PROP_FLOOR first. */
double drift_psi(const double *ref_prop, const double *cur_prop, size_t k);
/* Jensen-Shannon distance base 2 of p[k] and q[k] (each normalised to sum
 * 1, as scipy.spatial.distance.jensenshannon(p, q, base=2)); 0 when either
 * sums to 0. In [0, 1]. */
double drift_js(const double *p, const double *q, size_t k);
/* Pearson chi-square sum((o - e)^2 / e) over k cells with e > 0 (cells with
 * e == 0 and o == 0 are skipped). */
double drift_chi2_stat(const uint64_t *obs, const double *expected, size_t k);
/* Chi-square survival function with dof > 0 degrees of freedom
 * (scipy.stats.chi2.sf); 1 for x <= 0. */
double drift_chi2_sf(double x, double dof);
/* Regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 - P,
 * a > 0, x >= 0 (series / Lentz continued fraction, ~1e-14 relative). */
double drift_gamma_p(double a, double x);
double drift_gamma_q(double a, double x);

#endif /* MLWATCH_DRIFT_H */
