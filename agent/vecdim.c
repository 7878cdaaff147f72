/* vecdim: see vecdim.h. */
#include "vecdim.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "vector.h"

/* Open addressing over twice VECDIM_MAX slots: a probe ends at an empty
 * slot well before the table fills. */
#define SLOTS (2 * VECDIM_MAX)

struct slot {
	char *key; /* "model\x1f" "feature", malloc'd; NULL = empty */
	size_t dim;
};

struct vecdim {
	pthread_mutex_t mu;
	struct slot s[SLOTS];
	size_t n;
};

struct vecdim *vecdim_new(void)
{
	struct vecdim *t = calloc(1, sizeof(*t));

	if (t && pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		t = NULL;
	}
	return t;
}

void vecdim_free(struct vecdim *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < SLOTS; i++)
		free(t->s[i].key);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

size_t vecdim_count(struct vecdim *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* FNV-1a of model, a separator that no name may hold, and feature. */
static uint64_t key_hash(const char *model, const char *feature)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = model; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	h = (h ^ 0x1f) * 1099511628211ULL;
	for (const char *p = feature; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

static bool key_is(const char *key, const char *model, const char *feature)
{
	size_t ml = strlen(model);

	return strncmp(key, model, ml) == 0 && key[ml] == 0x1f &&
	       strcmp(key + ml + 1, feature) == 0;
}

/* The slot holding (model, feature), or the empty one where it belongs. */
static struct slot *find(struct vecdim *t, const char *model, const char *feature)
{
	size_t i = (size_t)(key_hash(model, feature) % SLOTS);

	while (t->s[i].key && !key_is(t->s[i].key, model, feature))
		i = (i + 1) % SLOTS;
	return &t->s[i];
}

static int refuse(struct event_error *err, size_t index, const char *feature, size_t dim,
                  size_t fixed)
{
	event_fail(err, "",
	           "has %zu dimensions, this model's feature has %zu (fixed by its first vector)",
	           dim, fixed);
	snprintf(err->field, sizeof(err->field), "features.%s", feature);
	err->index = (long)index;
	err->vector_reason = VECTOR_DIM;
	stats_vector_refused(VECTOR_DIM);
	return -1;
}

int vecdim_check(struct vecdim *t, const struct event *ev, size_t n, struct event_error *err)
{
	struct slot *added[64];
	size_t n_added = 0;
	int rc = 0;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < n && rc == 0; i++) {
		for (size_t k = 0; k < ev[i].n_features && rc == 0; k++) {
			const struct feature *f = &ev[i].features[k];
			if (f->kind != FEATURE_VECTOR)
				continue;
			struct slot *s = find(t, ev[i].model, f->name);
			if (s->key) {
				if (s->dim != f->dim)
					rc = refuse(err, i, f->name, f->dim, s->dim);
				continue;
			}
			/* A new pair: fixed now, undone if a later event of
			 * this request is refused. Only so many new pairs in
			 * one request are remembered for the undo; the rest
			 * wait for a later request. */
			if (t->n >= VECDIM_MAX || n_added == sizeof(added) / sizeof(added[0]))
				continue;
			size_t ml = strlen(ev[i].model), fl = strlen(f->name);
			char *key = malloc(ml + fl + 2);
			if (!key)
				continue; /* unchecked, not refused: the collector checks too */
			memcpy(key, ev[i].model, ml);
			key[ml] = 0x1f;
			memcpy(key + ml + 1, f->name, fl + 1);
			s->key = key;
			s->dim = f->dim;
			t->n++;
			added[n_added++] = s;
		}
	}
	if (rc) {
		/* Undo in reverse so each removed slot is the last of its
		 * probe run. */
		while (n_added) {
			struct slot *s = added[--n_added];
			free(s->key);
			s->key = NULL;
			t->n--;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}
