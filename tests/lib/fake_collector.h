/* fake_collector: a test double for mlwatchd's nng REP side, built on
 * common/wire.h: decodes every Batch, records what it carried (deduplicated
 * on seq like the real collector), and answers OK, BUSY, or nothing at all.
 * It can be stopped (collector away) and restarted on the same URL.
 *
 * All accessors are thread-safe; the collector runs its own thread. */
#ifndef MLW_FAKE_COLLECTOR_H
#define MLW_FAKE_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fc_mode { FC_OK, FC_BUSY, FC_SILENT };

struct fc_event {
	char *model, *id; /* id may be NULL */
	double ts, latency_ms, score;
	bool has_latency, has_score, error;
	size_t n_features;
	char *first_feature; /* "name=value" of the first feature, or NULL */
	char *prediction;    /* printed ("fraud", "1"), or NULL */
	uint64_t seq;
};

struct fc_label {
	char *model, *id, *label;
};

struct fake_collector;

/* Listens on url (tcp://127.0.0.1:PORT). NULL on failure. */
struct fake_collector *fc_start(const char *url);
/* Closes the listener and every connection (the collector is away). */
void fc_stop(struct fake_collector *fc);
/* Listens again on the same URL; records are kept. Returns 0 or -1. */
int fc_restart(struct fake_collector *fc);
void fc_free(struct fake_collector *fc);

void fc_set_mode(struct fake_collector *fc, enum fc_mode m);
/* Lean: count events and labels but keep no copies (fc_*_copy then return
 * only what was kept before). For benchmarks. */
void fc_set_lean(struct fake_collector *fc, bool lean);
/* Batches must carry this token (else UNAUTHORIZED); NULL = any. */
void fc_set_token(struct fake_collector *fc, const char *token);

size_t fc_batches(struct fake_collector *fc);    /* distinct seqs stored */
size_t fc_duplicates(struct fake_collector *fc); /* batches seen again */
size_t fc_requests(struct fake_collector *fc);   /* every message received */
size_t fc_events(struct fake_collector *fc);
size_t fc_labels(struct fake_collector *fc);
uint64_t fc_summary_count(struct fake_collector *fc); /* sum of Summary.count */
uint64_t fc_summary_errors(struct fake_collector *fc);
uint64_t fc_summary_sampled(struct fake_collector *fc);
uint64_t fc_sketch_count(struct fake_collector *fc); /* values in the latency sketches */
size_t fc_invalid(struct fake_collector *fc);        /* items the decoder refused */
/* Waits until fc_events() >= n (and the same for summaries when n_counted
 * > 0). Returns true when reached before timeout_s. */
bool fc_wait_events(struct fake_collector *fc, size_t n, double timeout_s);
bool fc_wait_counted(struct fake_collector *fc, uint64_t n, double timeout_s);

/* Copies of the records, in arrival order (first arrival of each seq).
 * The caller frees with fc_events_free / free. */
struct fc_event *fc_events_copy(struct fake_collector *fc, size_t *n);
void fc_events_free(struct fc_event *v, size_t n);
struct fc_label *fc_labels_copy(struct fake_collector *fc, size_t *n);
void fc_labels_free(struct fc_label *v, size_t n);
uint64_t *fc_seqs_copy(struct fake_collector *fc, size_t *n);

#endif
