/* batcher: see batcher.h. */
#include "batcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "stats.h"
#include "summary.h"
#include "wire.h"

/* A batch being filled, or closed and waiting to be encoded. */
struct pending {
	uint64_t seq;
	/* sampled events, encoded for the wire as they arrive: nothing of
	 * the caller's event is copied and nothing is re-encoded at close */
	struct wire_events events;
	struct label *labels;
	size_t n_labels, cap_labels;
	struct wire_summary *summaries;
	size_t n_summaries;
	uint64_t n_counted;
	struct tail_mark *marks;
	size_t n_marks, cap_marks;
	struct arena arena;
	double opened; /* clock_mono() of the first item; 0 while empty */
	struct pending *next;
};

struct batcher {
	struct batcher_config cfg;
	const struct sampler *sampler;
	struct seqgen *seq;
	batcher_emit_fn emit;
	void *arg;
	pthread_mutex_t mu;
	struct pending *cur;
	struct summary_table *sum;
};

void obatch_free(struct obatch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->marks);
	free(b);
}

static struct pending *pending_new(void)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p)
		arena_init(&p->arena, 0);
	return p;
}

static void pending_free(struct pending *p)
{
	if (!p)
		return;
	wire_events_free(&p->events);
	free(p->labels);
	free(p->marks);
	arena_reset(&p->arena);
	free(p);
}

struct batcher *batcher_new(const struct batcher_config *cfg, const struct sampler *sampler,
                            struct seqgen *seq, batcher_emit_fn emit, void *arg)
{
	struct batcher *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cfg = *cfg;
	if (b->cfg.max_events == 0)
		b->cfg.max_events = 1000;
	if (b->cfg.max_summaries == 0)
		b->cfg.max_summaries = 4096;
	if (b->cfg.max_bytes == 0)
		b->cfg.max_bytes = 4u << 20;
	b->sampler = sampler;
	b->seq = seq;
	b->emit = emit;
	b->arg = arg;
	pthread_mutex_init(&b->mu, NULL);
	b->cur = pending_new();
	b->sum = summary_new(b->cfg.max_summaries);
	if (!b->cur || !b->sum) {
		batcher_free(b);
		return NULL;
	}
	return b;
}

void batcher_free(struct batcher *b)
{
	if (!b)
		return;
	pending_free(b->cur);
	summary_free(b->sum);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static int reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int copy_value(struct arena *a, struct value *d, const struct value *s)
{
	*d = *s;
	if (s->kind == VALUE_STRING && !(d->str = arena_strdup(a, s->str)))
		return -ENOMEM;
	return 0;
}

static bool pending_empty(const struct batcher *b)
{
	const struct pending *p = b->cur;
	return p->events.n == 0 && p->n_labels == 0 && p->n_marks == 0 &&
	       summary_entries(b->sum) == 0;
}

/* Closes the open batch (under the lock): moves the summaries in, gives it
 * a seq and starts a new one. The closed batch goes on *closed (in order). */
static int close_locked(struct batcher *b, struct pending ***tail)
{
	struct pending *p = b->cur, *fresh;
	int rc;

	if (pending_empty(b))
		return 0;
	fresh = pending_new();
	if (!fresh)
		return -ENOMEM;
	p->n_counted = summary_events(b->sum);
	rc = summary_export(b->sum, &p->arena, &p->summaries, &p->n_summaries);
	if (rc) {
		pending_free(fresh);
		return rc;
	}
	p->seq = seqgen_next(b->seq);
	**tail = p;
	*tail = &p->next;
	b->cur = fresh;
	return 0;
}

/* Encodes a closed batch into an obatch (outside the lock). A batch that
 * cannot be encoded still yields an obatch without bytes, so the
 * forwarder can account for its seq and its tail marks. */
static struct obatch *encode(struct batcher *b, struct pending *p)
{
	struct obatch *ob = calloc(1, sizeof(*ob));
	struct wire_batch wb;

	if (!ob)
		return NULL;
	memset(&wb, 0, sizeof(wb));
	wb.protocol = WIRE_PROTOCOL;
	wb.agent_id = b->cfg.agent_id;
	wb.seq = p->seq;
	wb.token = b->cfg.token;
	wb.token_len = b->cfg.token_len;
	wb.created = clock_now();
	wb.events_raw = p->events.buf;
	wb.events_raw_len = p->events.len;
	wb.labels = p->labels;
	wb.n_labels = p->n_labels;
	wb.summaries = p->summaries;
	wb.n_summaries = p->n_summaries;
	wb.stats.present = true;
	wb.stats.received = stats_received_get(INPUT_N);
	wb.stats.rejected = stats_rejected_get(REJ_N);
	wb.stats.spool_dropped = stats_get(ST_EVENTS_DROPPED);
	wb.stats.spool_bytes = stats_get(ST_SPOOL_BYTES);
	wb.stats.started = b->cfg.started;
	ob->seq = p->seq;
	ob->n_events = (uint32_t)p->events.n;
	ob->n_labels = (uint32_t)p->n_labels;
	ob->n_counted = p->n_counted;
	ob->tracked = true;
	ob->born = clock_mono();
	if (wire_encode_batch(&wb, &ob->buf, &ob->len) != 0) {
		ob->buf = NULL;
		ob->len = 0;
		log_error("batcher", "cannot encode batch (out of memory) seq=%llu events=%zu",
		          (unsigned long long)p->seq, p->events.n);
	}
	ob->marks = p->marks;
	ob->n_marks = p->n_marks;
	p->marks = NULL;
	return ob;
}

static void emit_all(struct batcher *b, struct pending *list)
{
	while (list) {
		struct pending *next = list->next;
		struct obatch *ob = encode(b, list);
		pending_free(list);
		if (ob)
			b->emit(b->arg, ob);
		else
			log_error("batcher", "out of memory: lost a closed batch");
		list = next;
	}
}

static int add_mark(struct pending *p, const struct tail_mark *m)
{
	for (size_t i = 0; i < p->n_marks; i++)
		if (p->marks[i].source == m->source) {
			p->marks[i] = *m;
			return 0;
		}
	if (reserve((void **)&p->marks, &p->cap_marks, p->n_marks + 1, sizeof(*p->marks)))
		return -ENOMEM;
	p->marks[p->n_marks++] = *m;
	return 0;
}

static bool full(const struct batcher *b)
{
	const struct pending *p = b->cur;
	return p->events.n + p->n_labels >= b->cfg.max_events ||
	       p->arena.used + p->events.len >= b->cfg.max_bytes;
}

int batcher_submit(struct batcher *b, const struct event *ev, size_t n_ev, const struct label *lb,
                   size_t n_lb, const struct tail_mark *mark, size_t *sampled)
{
	struct pending *closed = NULL, **tail = &closed;
	size_t kept = 0, kept_labels = 0;
	double now = clock_mono();
	int rc = 0;

	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < n_ev; i++) {
		const struct event *e = &ev[i];
		bool keep = sampler_keep(b->sampler, e->model, e->id);

		rc = summary_add(b->sum, e->model, e->ts, e->error,
		                 e->has_latency ? e->latency_ms : -1.0, keep);
		if (rc == -ENOSPC) {
			rc = close_locked(b, &tail);
			if (rc == 0)
				rc = summary_add(b->sum, e->model, e->ts, e->error,
				                 e->has_latency ? e->latency_ms : -1.0, keep);
		}
		if (rc == 0)
			rc = summary_add_llm(b->sum, e);
		if (rc)
			goto out;
		if (b->cur->opened == 0)
			b->cur->opened = now;
		if (!keep)
			continue;
		if (wire_events_append(&b->cur->events, e)) {
			rc = -ENOMEM;
			goto out;
		}
		kept++;
		if (full(b) && (rc = close_locked(b, &tail)))
			goto out;
	}
	for (size_t i = 0; i < n_lb; i++) {
		const struct label *l = &lb[i];
		struct pending *p = b->cur;

		if (!sampler_keep(b->sampler, l->model, l->id))
			continue;
		rc = reserve((void **)&p->labels, &p->cap_labels, p->n_labels + 1,
		             sizeof(*p->labels));
		if (rc)
			goto out;
		struct label *d = &p->labels[p->n_labels];
		*d = *l;
		if (!(d->model = arena_strdup(&p->arena, l->model)) ||
		    !(d->id = arena_strdup(&p->arena, l->id)) ||
		    copy_value(&p->arena, &d->label, &l->label)) {
			rc = -ENOMEM;
			goto out;
		}
		p->n_labels++;
		kept_labels++;
		if (p->opened == 0)
			p->opened = now;
		if (full(b) && (rc = close_locked(b, &tail)))
			goto out;
	}
	if (mark) {
		rc = add_mark(b->cur, mark);
		if (b->cur->opened == 0)
			b->cur->opened = now;
	}
out:
	pthread_mutex_unlock(&b->mu);
	stats_add(ST_EVENTS_SAMPLED, kept);
	stats_add(ST_LABELS_SAMPLED, kept_labels);
	if (sampled)
		*sampled = kept + kept_labels;
	emit_all(b, closed);
	return rc;
}

void batcher_tick(struct batcher *b, double now)
{
	struct pending *closed = NULL, **tail = &closed;

	pthread_mutex_lock(&b->mu);
	if (b->cur->opened > 0 && now - b->cur->opened >= b->cfg.max_delay_s)
		close_locked(b, &tail);
	pthread_mutex_unlock(&b->mu);
	emit_all(b, closed);
}

void batcher_flush(struct batcher *b)
{
	struct pending *closed = NULL, **tail = &closed;

	pthread_mutex_lock(&b->mu);
	close_locked(b, &tail);
	pthread_mutex_unlock(&b->mu);
	emit_all(b, closed);
}
