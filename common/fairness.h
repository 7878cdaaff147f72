/* fairness: group fairness of a binary classifier across the values of a
 * protected attribute (any categorical feature named in a model's
 * `fairness_by`). It owns the per-group counts (events, positive
 * predictions, and from joined labels the confusion matrix) and the gaps
 * fairness audits use, computed from those counts:
 *
 *   positive rate  = positives / n                  (all events of the group)
 *   accuracy       = (tp + tn) / labelled
 *   TPR            = tp / (tp + fn),  FPR = fp / (fp + tn)
 *   dp_diff        = max rate - min rate             (demographic parity)
 *   dp_ratio       = min rate / max rate             (four-fifths rule: < 0.8)
 *   eo_diff        = max TPR - min TPR               (equal opportunity)
 *   eodds_diff     = max(TPR gap, FPR gap)           (equalized odds)
 *   acc_gap        = max accuracy - min accuracy
 *
 * A group takes part in a gap only when it has at least min_sample of the
 * counts the gap is made of (events for dp_*, labelled events with a positive
 * label for TPR, with a negative label for FPR, labelled events for
 * accuracy); a gap needs two such groups, else it is insufficient (NAN).
 *
 * "Positive" is the model's positive class: a prediction or label whose class
 * name (numbers in their shortest exact form, so 1 and 1.0 are "1") equals
 * positive_label (default "1", FAIRNESS_POSITIVE_DEFAULT).
 *
 * Pure functions on caller-owned memory; no threads, no I/O. Errors: -1 on
 * out of memory; inputs are bounded (FAIRNESS_GROUPS_MAX groups per attribute,
 * FAIRNESS_NAME_MAX bytes per name: longer values are cut, more groups are
 * counted in the overflow group FAIRNESS_OTHER). */
#ifndef MLW_FAIRNESS_H
#define MLW_FAIRNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define FAIRNESS_POSITIVE_DEFAULT   "1"
#define FAIRNESS_MIN_SAMPLE_DEFAULT 30
#define FAIRNESS_GROUPS_MAX         64
#define FAIRNESS_NAME_MAX           128
#define FAIRNESS_OTHER              "(other)"

struct fairness_group {
	char name[FAIRNESS_NAME_MAX + 1];
	uint64_t n, positives;      /* every event with a prediction */
	uint64_t labelled, correct; /* events with a joined label */
	uint64_t tp, fp, tn, fn;
};

struct fairness_attr {
	char name[FAIRNESS_NAME_MAX + 1];
	struct fairness_group *g;
	size_t n, cap;
};

/* Per-group rates; NAN where the denominator is 0. */
struct fairness_rates {
	double positive_rate, accuracy, tpr, fpr;
};

/* The gaps of one attribute, NAN when insufficient; n_* is how many groups
 * took part. */
struct fairness_gaps {
	double dp_diff, dp_ratio, eo_diff, eodds_diff, acc_gap;
	size_t n_dp, n_eo, n_eodds, n_acc;
};

/* The metrics rules can name, in the order of enum fairness_metric. */
enum fairness_metric { FAIR_DP_RATIO, FAIR_DP_DIFF, FAIR_EO_DIFF, FAIR_EODDS_DIFF, FAIR_ACC_GAP };
const char *fairness_metric_name(enum fairness_metric m);
double fairness_gap_value(const struct fairness_gaps *g, enum fairness_metric m);

void fairness_attr_init(struct fairness_attr *a, const char *name);
void fairness_attr_fini(struct fairness_attr *a);

/* Whether v is the positive class. VALUE_NONE is never positive. */
bool fairness_is_positive(const struct value *v, const char *positive_label);

/* Counts one event of group `group` (NULL = the attribute was missing:
 * not counted, returns 0). label VALUE_NONE = unlabelled; pred VALUE_NONE =
 * not counted. Returns 0, -1 when out of memory. */
int fairness_add(struct fairness_attr *a, const char *group, const struct value *pred,
                 const struct value *label, const char *positive_label);

/* Adds counts of group (for pooling stored rows). Returns 0, -1 on OOM. */
int fairness_add_counts(struct fairness_attr *a, const struct fairness_group *g);

void fairness_rates(const struct fairness_group *g, struct fairness_rates *r);
void fairness_gaps(const struct fairness_group *g, size_t n, uint64_t min_sample,
                   struct fairness_gaps *out);

/* Splits a `fairness_by` list ("gender, age_band") and calls fn for each
 * trimmed non-empty name; fn returns non-zero to stop. */
int fairness_each_attr(const char *list, int (*fn)(const char *name, void *arg), void *arg);

#endif
