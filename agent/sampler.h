/* sampler: the deterministic payload sampling of the contract (section 2).
 *
 * keep(model, id) = hash64(model, id) / 2^64 < rate(model), so an event and
 * its late label (same model and id) always get the same answer, on any
 * agent, before or after a restart. Events without an id are sampled at
 * random at the same rate. The per-model rate comes from `[model M]
 * sample_rate`, else the agent's `sample_rate`.
 *
 * A sampler is immutable after sampler_new and safe to share between
 * threads; sampler_free releases it. */
#ifndef MLW_AGENT_SAMPLER_H
#define MLW_AGENT_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct sampler;

/* cfg may be NULL (then every model gets default_rate). Rates are in (0, 1].
 * Returns NULL when out of memory. */
struct sampler *sampler_new(double default_rate, const struct mlw_config *cfg);
void sampler_free(struct sampler *s);

double sampler_rate(const struct sampler *s, const char *model);

/* The keep decision; id NULL means "no id" (random). */
bool sampler_keep(const struct sampler *s, const char *model, const char *id);

/* 64-bit hash of model and id (FNV-1a over "model\0id", then a splitmix64
 * finaliser so every output bit depends on every input bit). */
uint64_t sampler_hash(const char *model, const char *id);

#endif
