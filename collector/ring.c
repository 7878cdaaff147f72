/* ring: see ring.h. Per model a fixed array of `seconds` slots indexed by
 * second modulo seconds; a slot remembers which second it holds so a stale
 * slot is recognised and reset when its index comes round again. */
#include "ring.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"

struct slot {
	int64_t second; /* INT64_MIN while empty */
	uint64_t count, errors;
	struct ddsketch *lat; /* allocated on first latency; kept across resets */
	int has_lat;
	/* LLM serving: events with LLM fields, token sums, TTFT / TPOT
	 * sketches (allocated on first use, kept across resets like lat). */
	uint64_t llm, in_tokens, out_tokens;
	struct ddsketch *ttft, *tpot;
	int has_ttft, has_tpot;
	struct ring_finish *fin; /* RING_FINISH_MAX, allocated on first use */
	size_t n_fin;
	uint64_t fin_other;
};

struct model {
	char *name;
	int64_t newest; /* newest second seen */
	struct slot *slots;
};

struct ring {
	pthread_mutex_t mu;
	size_t seconds;
	struct model *models;
	size_t n, cap;
};

struct ring *ring_new(size_t seconds)
{
	struct ring *r;

	if (seconds == 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->seconds = seconds;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->seconds; j++) {
			ddsketch_free(r->models[i].slots[j].lat);
			ddsketch_free(r->models[i].slots[j].ttft);
			ddsketch_free(r->models[i].slots[j].tpot);
			free(r->models[i].slots[j].fin);
		}
		free(r->models[i].slots);
		free(r->models[i].name);
	}
	free(r->models);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

size_t ring_seconds(const struct ring *r)
{
	return r->seconds;
}

/* Binary search in the name-sorted model array: the index of name, or
 * -(insertion point) - 1 when absent. */
static long find(const struct ring *r, const char *name)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->models[mid].name, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static struct model *get_or_add(struct ring *r, const char *name)
{
	long i = find(r, name);
	size_t at;
	struct model m = {0};

	if (i >= 0)
		return &r->models[i];
	at = (size_t)(-i - 1);
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 8;
		struct model *nm = realloc(r->models, ncap * sizeof(*nm));
		if (!nm)
			return NULL;
		r->models = nm;
		r->cap = ncap;
	}
	m.name = strdup(name);
	m.slots = calloc(r->seconds, sizeof(*m.slots));
	if (!m.name || !m.slots) {
		free(m.name);
		free(m.slots);
		return NULL;
	}
	for (size_t j = 0; j < r->seconds; j++)
		m.slots[j].second = INT64_MIN;
	m.newest = INT64_MIN;
	memmove(&r->models[at + 1], &r->models[at], (r->n - at) * sizeof(*r->models));
	r->models[at] = m;
	r->n++;
	return &r->models[at];
}

static size_t slot_index(const struct ring *r, int64_t second)
{
	int64_t k = second % (int64_t)r->seconds;
	return (size_t)(k < 0 ? k + (int64_t)r->seconds : k);
}

int ring_add(struct ring *r, const char *model, int64_t second, uint64_t count, uint64_t errors,
             const struct ddsketch *latency)
{
	struct model *m;
	struct slot *s;
	int rc = -1;

	if (!r || !model || !*model || second == INT64_MIN)
		return -1;
	pthread_mutex_lock(&r->mu);
	m = get_or_add(r, model);
	if (!m)
		goto out;
	rc = 0;
	if (m->newest != INT64_MIN && second <= m->newest - (int64_t)r->seconds)
		goto out; /* older than the ring holds */
	s = &m->slots[slot_index(r, second)];
	if (s->second != second) {
		s->second = second;
		s->count = s->errors = 0;
		s->has_lat = 0;
		if (s->lat)
			ddsketch_reset(s->lat);
		s->llm = s->in_tokens = s->out_tokens = 0;
		s->has_ttft = s->has_tpot = 0;
		s->n_fin = 0;
		s->fin_other = 0;
		if (s->ttft)
			ddsketch_reset(s->ttft);
		if (s->tpot)
			ddsketch_reset(s->tpot);
	}
	if (latency && ddsketch_count(latency) > 0) {
		if (!s->lat && !(s->lat = ddsketch_new())) {
			rc = -1;
			goto out;
		}
		if (ddsketch_merge(s->lat, latency) != 0) {
			rc = -1;
			goto out;
		}
		s->has_lat = 1;
	}
	s->count += count;
	s->errors += errors;
	if (second > m->newest)
		m->newest = second;
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Merges src (may be NULL or empty) into *dst, allocating it; sets *has. */
static int merge_into(struct ddsketch **dst, int *has, const struct ddsketch *src)
{
	if (!src || ddsketch_count(src) == 0)
		return 0;
	if (!*dst && !(*dst = ddsketch_new()))
		return -1;
	if (ddsketch_merge(*dst, src) != 0)
		return -1;
	if (has)
		*has = 1;
	return 0;
}

int ring_add_llm(struct ring *r, const char *model, int64_t second, uint64_t llm,
                 uint64_t in_tokens, uint64_t out_tokens, const struct ddsketch *ttft,
                 const struct ddsketch *tpot)
{
	long i;
	struct slot *s;
	int rc = 0;

	if (!r || !model)
		return -1;
	pthread_mutex_lock(&r->mu);
	i = find(r, model);
	if (i < 0)
		goto out; /* ring_add failed or was not called: nothing to add to */
	s = &r->models[i].slots[slot_index(r, second)];
	if (s->second != second)
		goto out; /* too old for the ring */
	if (merge_into(&s->ttft, &s->has_ttft, ttft) || merge_into(&s->tpot, &s->has_tpot, tpot)) {
		rc = -1;
		goto out;
	}
	s->llm += llm;
	s->in_tokens += in_tokens;
	s->out_tokens += out_tokens;
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Adds count under reason to v[0..*n) (max RING_FINISH_MAX), or to
 * *other when v is full. */
static void finish_add(struct ring_finish *v, size_t *n, uint64_t *other, const char *reason,
                       uint64_t count)
{
	size_t k = 0;
	while (k < *n && strcmp(v[k].reason, reason) != 0)
		k++;
	if (k == *n) {
		if (*n == RING_FINISH_MAX) {
			*other += count;
			return;
		}
		snprintf(v[k].reason, sizeof(v[k].reason), "%s", reason);
		v[k].count = 0;
		(*n)++;
	}
	v[k].count += count;
}

int ring_add_finish(struct ring *r, const char *model, int64_t second, const char *reason,
                    uint64_t count)
{
	long i;
	struct slot *s;
	int rc = 0;

	if (!r || !model || !reason || !event_finish_reason_valid(reason, strlen(reason)))
		return -1;
	pthread_mutex_lock(&r->mu);
	i = find(r, model);
	if (i < 0)
		goto out;
	s = &r->models[i].slots[slot_index(r, second)];
	if (s->second != second)
		goto out;
	if (!s->fin && !(s->fin = calloc(RING_FINISH_MAX, sizeof(*s->fin)))) {
		rc = -1;
		goto out;
	}
	finish_add(s->fin, &s->n_fin, &s->fin_other, reason, count);
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void ring_stats_free(struct ring_stats *st)
{
	ddsketch_free(st->latency);
	ddsketch_free(st->ttft);
	ddsketch_free(st->tpot);
	st->latency = st->ttft = st->tpot = NULL;
}

int ring_query(struct ring *r, const char *model, int64_t from_second, int64_t to_second,
               struct ring_stats *out)
{
	long i;
	struct model *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!r || !model)
		return -1;
	pthread_mutex_lock(&r->mu);
	i = find(r, model);
	if (i < 0)
		goto out;
	m = &r->models[i];
	for (size_t j = 0; j < r->seconds; j++) {
		struct slot *s = &m->slots[j];
		if (s->second == INT64_MIN || s->second < from_second || s->second > to_second)
			continue;
		out->count += s->count;
		out->errors += s->errors;
		out->llm += s->llm;
		out->input_tokens += s->in_tokens;
		out->output_tokens += s->out_tokens;
		for (size_t f = 0; f < s->n_fin; f++)
			finish_add(out->finish, &out->n_finish, &out->finish_other,
			           s->fin[f].reason, s->fin[f].count);
		out->finish_other += s->fin_other;
		if ((s->has_ttft && merge_into(&out->ttft, NULL, s->ttft)) ||
		    (s->has_tpot && merge_into(&out->tpot, NULL, s->tpot)))
			goto fail;
		if (!s->has_lat)
			continue;
		if (!out->latency && !(out->latency = ddsketch_new()))
			goto fail;
		if (ddsketch_merge(out->latency, s->lat) != 0)
			goto fail;
	}
	out->last_event = m->newest == INT64_MIN ? 0 : (double)m->newest;
	rc = 0;
	goto out;
fail:
	ring_stats_free(out);
	memset(out, 0, sizeof(*out));
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

size_t ring_models(struct ring *r, char ***names_out)
{
	char **v = NULL;
	size_t n = 0;

	*names_out = NULL;
	pthread_mutex_lock(&r->mu);
	if (r->n == 0)
		goto out;
	v = calloc(r->n, sizeof(*v));
	if (!v)
		goto out;
	for (n = 0; n < r->n; n++) {
		v[n] = strdup(r->models[n].name);
		if (!v[n]) {
			for (size_t k = 0; k < n; k++)
				free(v[k]);
			free(v);
			v = NULL;
			n = 0;
			goto out;
		}
	}
	*names_out = v;
out:
	pthread_mutex_unlock(&r->mu);
	return n;
}
