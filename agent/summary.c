/* summary: see summary.h. An open-addressing hash table keyed by (model,
 * second); model names are interned in the table's arena. */
#include "summary.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "sampler.h"

struct entry {
	const char *model; /* NULL = empty slot */
	int64_t second;
	uint64_t hash;
	uint64_t count, errors, sampled;
	struct ddsketch *sk; /* NULL until the first latency */
	/* LLM serving: events with LLM fields, token sums, TTFT / TPOT
	 * sketches (NULL until the first value). */
	uint64_t llm, in_tokens, out_tokens;
	struct ddsketch *ttft, *tpot;
	/* finish reasons: the first 7 seen, then "other" */
	struct {
		const char *reason; /* in the table's arena */
		uint64_t n;
	} fin[SUMMARY_FINISH_MAX];
	size_t n_fin;
};

struct summary_table {
	struct entry *slots;
	size_t cap, used, max;
	/* Indexes of the used slots (max of them), so that export and clear
	 * touch only those: the slot array is sized for the largest batch
	 * (8192 slots of ~230 bytes), while a batch usually fills a few. */
	size_t *live;
	uint64_t events;
	struct arena names;
};

struct summary_table *summary_new(size_t max_entries)
{
	struct summary_table *t = calloc(1, sizeof(*t));
	size_t cap = 16;

	if (!t)
		return NULL;
	while (cap < max_entries * 2)
		cap *= 2;
	t->max = max_entries ? max_entries : 1;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->live = calloc(t->max, sizeof(*t->live));
	if (!t->slots || !t->live) {
		free(t->slots);
		free(t->live);
		free(t);
		return NULL;
	}
	t->cap = cap;
	arena_init(&t->names, 0);
	return t;
}

static void clear(struct summary_table *t)
{
	for (size_t k = 0; k < t->used; k++) {
		struct entry *e = &t->slots[t->live[k]];
		ddsketch_free(e->sk);
		ddsketch_free(e->ttft);
		ddsketch_free(e->tpot);
		memset(e, 0, sizeof(*e));
	}
	t->used = 0;
	t->events = 0;
	arena_reset(&t->names);
}

void summary_free(struct summary_table *t)
{
	if (!t)
		return;
	clear(t);
	free(t->slots);
	free(t->live);
	free(t);
}

int summary_add(struct summary_table *t, const char *model, double ts, bool error,
                double latency_ms, bool sampled)
{
	int64_t sec = (int64_t)floor(ts);
	uint64_t h = sampler_hash(model, "") ^ ((uint64_t)sec * 0x9e3779b97f4a7c15ull);
	size_t i = (size_t)h & (t->cap - 1);
	struct entry *e;

	for (;; i = (i + 1) & (t->cap - 1)) {
		e = &t->slots[i];
		if (!e->model)
			break;
		if (e->hash == h && e->second == sec && strcmp(e->model, model) == 0)
			goto found;
	}
	if (t->used >= t->max)
		return -ENOSPC;
	e->model = arena_strdup(&t->names, model);
	if (!e->model)
		return -ENOMEM;
	e->second = sec;
	e->hash = h;
	t->live[t->used++] = (size_t)(e - t->slots);
found:
	/* latency_ms < 0 means "no latency"; the sketch would take it. */
	if (latency_ms >= 0 && isfinite(latency_ms)) {
		if (!e->sk && !(e->sk = ddsketch_new()))
			return -ENOMEM;
		int rc = ddsketch_add(e->sk, latency_ms);
		if (rc == -ENOMEM)
			return rc;
	}
	e->count++;
	e->errors += error;
	e->sampled += sampled;
	t->events++;
	return 0;
}

static int finish_add(struct summary_table *t, struct entry *e, const char *reason)
{
	size_t i;
	for (i = 0; i < e->n_fin; i++)
		if (strcmp(e->fin[i].reason, reason) == 0)
			break;
	if (i == e->n_fin) {
		/* A server with many reasons must not grow the batch: past the
		 * first SUMMARY_FINISH_MAX - 1 they are counted as "other". */
		if (e->n_fin >= SUMMARY_FINISH_MAX - 1)
			reason = "other";
		for (i = 0; i < e->n_fin; i++)
			if (strcmp(e->fin[i].reason, reason) == 0)
				break;
		if (i == e->n_fin) {
			if (!(e->fin[i].reason = arena_strdup(&t->names, reason)))
				return -ENOMEM;
			e->fin[i].n = 0;
			e->n_fin++;
		}
	}
	e->fin[i].n++;
	return 0;
}

static int sketch_add(struct ddsketch **sk, double v)
{
	/* Durations are never negative or non-finite: events are validated
	 * before they get here, and the sketch itself would hold a negative
	 * value (its negative store), so a stray one is dropped here. */
	if (!(v >= 0 && isfinite(v)))
		return 0;
	if (!*sk && !(*sk = ddsketch_new()))
		return -ENOMEM;
	return ddsketch_add(*sk, v) == -ENOMEM ? -ENOMEM : 0;
}

int summary_add_llm(struct summary_table *t, const struct event *ev)
{
	int64_t sec = (int64_t)floor(ev->ts);
	uint64_t h = sampler_hash(ev->model, "") ^ ((uint64_t)sec * 0x9e3779b97f4a7c15ull);
	struct entry *e;

	if (!event_has_llm(ev))
		return 0;
	for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		e = &t->slots[i];
		if (!e->model)
			return -ENOENT; /* summary_add was not called first */
		if (e->hash == h && e->second == sec && strcmp(e->model, ev->model) == 0)
			break;
	}
	if ((ev->has_ttft && sketch_add(&e->ttft, ev->ttft_ms)) ||
	    (ev->has_tpot && sketch_add(&e->tpot, ev->tpot_ms)))
		return -ENOMEM;
	if (ev->finish_reason && finish_add(t, e, ev->finish_reason))
		return -ENOMEM;
	e->llm++;
	e->in_tokens += ev->has_input_tokens ? (uint64_t)ev->input_tokens : 0;
	e->out_tokens += ev->has_output_tokens ? (uint64_t)ev->output_tokens : 0;
	return 0;
}

static int export_sketch(struct arena *a, const struct ddsketch *sk, const uint8_t **out,
                         size_t *len)
{
	size_t cap;
	uint8_t *buf;

	if (!sk)
		return 0;
	cap = ddsketch_encoded_bound(sk);
	buf = arena_alloc(a, cap);
	if (!buf || ddsketch_encode(sk, buf, cap, len) != 0)
		return -ENOMEM;
	*out = buf;
	return 0;
}

size_t summary_entries(const struct summary_table *t)
{
	return t->used;
}

uint64_t summary_events(const struct summary_table *t)
{
	return t->events;
}

static int cmp_summary(const void *a, const void *b)
{
	const struct wire_summary *x = a, *y = b;
	int c = strcmp(x->model, y->model);
	if (c)
		return c;
	return (x->second > y->second) - (x->second < y->second);
}

int summary_export(struct summary_table *t, struct arena *a, struct wire_summary **out, size_t *n)
{
	struct wire_summary *s;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (t->used == 0)
		return 0;
	s = arena_alloc(a, t->used * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t j = 0; j < t->used; j++) {
		struct entry *e = &t->slots[t->live[j]];
		s[k].model = arena_strdup(a, e->model);
		if (!s[k].model)
			return -ENOMEM;
		s[k].second = e->second;
		s[k].count = e->count;
		s[k].errors = e->errors;
		s[k].sampled = e->sampled;
		if (e->sk) {
			size_t cap = ddsketch_encoded_bound(e->sk), len = 0;
			uint8_t *buf = arena_alloc(a, cap);
			if (!buf || ddsketch_encode(e->sk, buf, cap, &len) != 0)
				return -ENOMEM;
			s[k].sketch = buf;
			s[k].sketch_len = len;
		}
		s[k].llm = e->llm;
		s[k].input_tokens = e->in_tokens;
		s[k].output_tokens = e->out_tokens;
		if (export_sketch(a, e->ttft, &s[k].ttft, &s[k].ttft_len) ||
		    export_sketch(a, e->tpot, &s[k].tpot, &s[k].tpot_len))
			return -ENOMEM;
		if (e->n_fin) {
			s[k].finish = arena_alloc(a, e->n_fin * sizeof(*s[k].finish));
			if (!s[k].finish)
				return -ENOMEM;
			for (size_t f = 0; f < e->n_fin; f++) {
				s[k].finish[f].reason = arena_strdup(a, e->fin[f].reason);
				s[k].finish[f].count = e->fin[f].n;
				if (!s[k].finish[f].reason)
					return -ENOMEM;
			}
			s[k].n_finish = e->n_fin;
		}
		k++;
	}
	qsort(s, k, sizeof(*s), cmp_summary);
	*out = s;
	*n = k;
	clear(t);
	return 0;
}
