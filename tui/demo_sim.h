/* demo_sim: the simulated model behind `mlwatch demo` — a fraud-style
 * classifier with thirteen numeric and categorical features (age_band is
 * its protected attribute for the fairness panel) and calibrated
 * scores, whose world changes on a schedule: an accuracy drop (the relation
 * between inputs and labels changes; the model's confidence does not), a
 * gradual shift in two features, a new category, and a latency spike.
 *
 * Pure computation: it writes event and label JSON into caller buffers and
 * never does I/O, so tests can check what it generates. */
#ifndef MLW_DEMO_SIM_H
#define MLW_DEMO_SIM_H

#include <stddef.h>
#include <stdint.h>

#define DEMO_MODEL "fraud"

/* Seconds since the demo started at which each change begins (negative or
 * huge to disable). */
struct demo_schedule {
	double accuracy_drop_at;
	double shift_from, shift_full; /* amount and distance_km drift between these */
	double new_category_at;        /* merchant_type "crypto" appears */
	double spike_from, spike_to;   /* latency x20 */
};

/* The schedule the demo uses: everything visible within 60 s. */
void demo_schedule_default(struct demo_schedule *s);
/* No change ever: for the reference profile. */
void demo_schedule_none(struct demo_schedule *s);

struct demo_sim {
	uint64_t rng;
	uint64_t next_id;
	struct demo_schedule sched;
};

void demo_sim_init(struct demo_sim *s, uint64_t seed, const struct demo_schedule *sched);

/* The demo's mlwatch.conf: 10 s windows and rules as one would run them
 * (each with a `for`, drift only on a minimum sample), scaled to the
 * demo's minute. Returns what snprintf returns. */
int demo_sim_config(char *buf, size_t cap, int metrics_port, int hook_port,
                    const char *secret_file);

/* What one prediction was, for its late label and for tests. */
struct demo_truth {
	char id[32];
	int label_fraud;     /* ground truth */
	int predicted_fraud; /* the model's call */
	double confidence;   /* probability of the predicted class */
	double latency_ms;
	double amount, distance_km;
	const char *merchant_type;
};

/* Writes one event (contract section 2 JSON, no newline) at elapsed time t
 * with timestamp ts into buf. Returns its length, or -1 if cap is too small. */
int demo_sim_event(struct demo_sim *s, double t, double ts, char *buf, size_t cap,
                   struct demo_truth *truth);
/* Writes the label JSON for a past event. Returns its length or -1. */
int demo_sim_label(const struct demo_truth *truth, double ts, char *buf, size_t cap);
/* Writes a CSV header and n rows of reference data (no change applied) for
 * `mlwatch reference import`: the features, prediction, score and label. */
int demo_sim_reference_csv(uint64_t seed, size_t n, const char *path);

#endif
