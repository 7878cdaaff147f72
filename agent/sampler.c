/* sampler: see sampler.h. */
#include "sampler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rate {
	char *model;
	double rate;
};

struct sampler {
	double def;
	struct rate *rates;
	size_t n;
};

struct sampler *sampler_new(double default_rate, const struct mlw_config *cfg)
{
	struct sampler *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->def = default_rate;
	if (cfg && cfg->n_models) {
		s->rates = calloc(cfg->n_models, sizeof(*s->rates));
		if (!s->rates)
			goto fail;
		for (size_t i = 0; i < cfg->n_models; i++) {
			const struct model_config *m = &cfg->models[i];
			if (!m->has_sample_rate)
				continue;
			s->rates[s->n].model = strdup(m->name);
			if (!s->rates[s->n].model)
				goto fail;
			s->rates[s->n].rate = m->sample_rate;
			s->n++;
		}
	}
	return s;
fail:
	sampler_free(s);
	return NULL;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->rates[i].model);
	free(s->rates);
	free(s);
}

double sampler_rate(const struct sampler *s, const char *model)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->rates[i].model, model) == 0)
			return s->rates[i].rate;
	return s->def;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t sampler_hash(const char *model, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;

	for (p = (const unsigned char *)model; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	h = (h ^ 0) * 0x100000001b3ull; /* separator: ("ab","c") != ("a","bc") */
	for (p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return mix64(h);
}

/* Per-thread xorshift state for events without an id; seeded lazily from
 * the clock and the thread's address so threads do not share a sequence. */
static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
	if (rng_state == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng_state = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		                  (uint64_t)(uintptr_t)&rng_state) |
		            1;
	}
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return mix64(rng_state);
}

bool sampler_keep(const struct sampler *s, const char *model, const char *id)
{
	double rate = sampler_rate(s, model);
	uint64_t h;

	if (rate >= 1.0)
		return true;
	if (rate <= 0.0)
		return false;
	h = id ? sampler_hash(model, id) : rng_next();
	/* The top 53 bits as a double in [0, 1). */
	return (double)(h >> 11) * (1.0 / 9007199254740992.0) < rate;
}
