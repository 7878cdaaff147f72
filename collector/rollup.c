/* rollup: see rollup.h. */
#include "rollup.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "collector.h"
#include "log.h"
#include "store.h"
#include "store_rollup.h"

/* A minute is final GRACE_S after its end (analyze.c); the watermark
 * stays this much further behind so that its last analysis is done. */
#define GRACE_S         2.0
#define RETENTION_CHUNK 5000
#define RETENTION_STEPS 8 /* per look: 8 x 5000 rows per table at most */

struct key {
	int64_t model_id, start;
};

struct rollup {
	struct collector *c;
	struct store st;
	struct store_rollup *sr;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	double interval_s;
	int64_t window_s;
	/* where the last look stopped: windows analysed at `cursor` already
	 * rolled up are in `tie` (analysis stamps a whole pass with one time,
	 * and its windows commit one by one, so the next look must include
	 * that time again but not redo what it did) */
	double cursor;
	struct key *tie;
	size_t ntie, cap_tie;
	/* this look's windows */
	struct key *rows;
	double *analyzed;
	size_t nrows;
	int64_t until;
	uint64_t bad_logged; /* malformed blobs already reported */
};

static void row_cb(int64_t model_id, int64_t start, double analyzed, void *arg)
{
	struct rollup *r = arg;

	if (r->nrows >= ROLLUP_LIMIT)
		return;
	r->rows[r->nrows] = (struct key){model_id, start};
	r->analyzed[r->nrows] = analyzed;
	r->nrows++;
}

static bool in_tie(const struct rollup *r, struct key k)
{
	for (size_t i = 0; i < r->ntie; i++)
		if (r->tie[i].model_id == k.model_id && r->tie[i].start == k.start)
			return true;
	return false;
}

static int64_t floor_to(int64_t t, int64_t unit)
{
	return t - ((t % unit) + unit) % unit;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->model_id != y->model_id)
		return x->model_id < y->model_id ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts keys and drops duplicates; returns the new count. */
static size_t uniq(struct key *k, size_t n)
{
	size_t o = 0;

	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 0; i < n; i++)
		if (o == 0 || key_cmp(&k[o - 1], &k[i]) != 0)
			k[o++] = k[i];
	return o;
}

/* One look: returns the windows taken (ROLLUP_LIMIT: more are waiting),
 * or -1. */
static int look(struct rollup *r, double now)
{
	struct key *hours = NULL, *days = NULL;
	size_t nh = 0, nd = 0;
	double newest = r->cursor;
	int n, rc = -1;

	r->nrows = 0;
	n = store_rollup_changed(r->sr, r->cursor, 1, ROLLUP_LIMIT, row_cb, r);
	if (n < 0)
		return -1;
	hours = malloc((r->nrows ? r->nrows : 1) * sizeof(*hours));
	days = malloc((r->nrows ? r->nrows : 1) * sizeof(*days));
	if (!hours || !days)
		goto out;
	for (size_t i = 0; i < r->nrows; i++) {
		if (r->analyzed[i] == r->cursor && in_tie(r, r->rows[i]))
			continue;
		hours[nh++] =
		    (struct key){r->rows[i].model_id, floor_to(r->rows[i].start, ROLLUP_HOUR)};
		days[nd++] =
		    (struct key){r->rows[i].model_id, floor_to(r->rows[i].start, ROLLUP_DAY)};
		if (r->analyzed[i] > newest)
			newest = r->analyzed[i];
	}
	nh = uniq(hours, nh);
	nd = uniq(days, nd);
	if (nh) {
		if (store_begin(&r->st))
			goto out;
		for (size_t i = 0; i < nh; i++)
			if (store_rollup_build(r->sr, hours[i].model_id, ROLLUP_HOUR,
			                       hours[i].start, now))
				goto rollback;
		for (size_t i = 0; i < nd; i++)
			if (store_rollup_build(r->sr, days[i].model_id, ROLLUP_DAY, days[i].start,
			                       now))
				goto rollback;
		/* the cursor commits with the rows: a restart goes on from it */
		if (store_rollup_cursor_set(r->sr, newest) || store_commit(&r->st))
			goto rollback;
	}
	/* committed: move the cursor and remember the windows at it */
	if (newest != r->cursor)
		r->ntie = 0;
	r->cursor = newest;
	for (size_t i = 0; i < r->nrows; i++) {
		if (r->analyzed[i] != newest || in_tie(r, r->rows[i]))
			continue;
		if (r->ntie == r->cap_tie) {
			size_t cap = r->cap_tie ? 2 * r->cap_tie : 64;
			struct key *t = realloc(r->tie, cap * sizeof(*t));
			if (!t)
				goto out; /* rebuilt once more next time: harmless */
			r->tie = t;
			r->cap_tie = cap;
		}
		r->tie[r->ntie++] = r->rows[i];
	}
	if (nh)
		log_debug("rollup", "rolled up hours=%zu days=%zu windows=%zu", nh, nd, r->nrows);
	if (store_rollup_bad(r->sr) > r->bad_logged) {
		/* a stored sketch, sample or reference that does not decode is
		 * left out of its tier rather than stopping the rollup */
		log_warn("rollup", "skipped malformed stored blobs count=%llu",
		         (unsigned long long)(store_rollup_bad(r->sr) - r->bad_logged));
		r->bad_logged = store_rollup_bad(r->sr);
	}
	rc = n;
	goto out;
rollback:
	store_rollback(&r->st);
out:
	free(hours);
	free(days);
	return rc;
}

/* Moves meta.tier_until to the last hour whose minutes are all final and
 * analysed: behind the open minute and the grace, and behind the oldest
 * window still waiting for analysis. Never backwards. */
static int watermark(struct rollup *r, double now)
{
	int64_t until = floor_to(
	    (int64_t)floor(now - (double)r->window_s - GRACE_S - 2 * r->interval_s), ROLLUP_HOUR);
	int64_t dirty;

	if (store_rollup_oldest_dirty(r->sr, &dirty))
		return -1;
	if (dirty >= 0 && floor_to(dirty, ROLLUP_HOUR) < until)
		until = floor_to(dirty, ROLLUP_HOUR);
	if (until <= r->until)
		return 0;
	if (store_rollup_until_set(r->sr, until))
		return -1;
	r->until = until;
	return 0;
}

static int retention(struct rollup *r, double now)
{
	const struct collector_config *cc = &r->c->cfg->collector;
	int64_t hours_before = (int64_t)floor(now - (double)cc->retention_hours_ms / 1000.0);
	int64_t days_before = (int64_t)floor(now - (double)cc->retention_days_ms / 1000.0);
	/* a late event (up to retention_raw old) rebuilds its hour and its
	 * day, which needs the day's hour samples: keep them a day longer */
	int64_t samples_before =
	    floor_to((int64_t)floor(now - (double)cc->retention_raw_ms / 1000.0), ROLLUP_DAY) -
	    ROLLUP_DAY;

	for (int i = 0; i < RETENTION_STEPS; i++) {
		int64_t deleted;
		int more;

		if (store_begin(&r->st))
			return -1;
		more = store_rollup_retention_step(r->sr, hours_before, days_before, samples_before,
		                                   RETENTION_CHUNK, &deleted);
		if (more < 0 || store_commit(&r->st)) {
			store_rollback(&r->st);
			return -1;
		}
		if (deleted)
			log_debug("rollup", "retention deleted=%lld", (long long)deleted);
		if (!more)
			break;
	}
	return 0;
}

static void *thread_main(void *arg)
{
	struct rollup *r = arg;

	pthread_setname_np(pthread_self(), "mlw-rollup");
	/* background work, like analysis: the writer goes first */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
		log_debug("rollup", "cannot lower the rollup thread's priority");
	for (;;) {
		struct timespec ts;
		double next, now = clock_now();
		int n = 0;
		bool stop;

		/* a backlog (an old store) is taken a few looks at a time */
		for (int i = 0; i < 4; i++) {
			n = look(r, now);
			if (n < ROLLUP_LIMIT)
				break;
		}
		if (n < 0)
			log_warn("rollup", "cannot roll up error=\"%s\"", store_errmsg(&r->st));
		else if (n < ROLLUP_LIMIT && watermark(r, now))
			log_warn("rollup", "cannot move tier_until error=\"%s\"",
			         store_errmsg(&r->st));
		if (retention(r, now))
			log_warn("rollup", "retention step failed error=\"%s\"",
			         store_errmsg(&r->st));
		/* a real interval (clock_now may be simulated and stand still) */
		next = clock_mono() + r->interval_s;
		pthread_mutex_lock(&r->mu);
		while (!r->stop && clock_mono() < next) {
			clock_mono_deadline(next - clock_mono(), &ts);
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
	}
	return NULL;
}

int rollup_start(struct rollup **out, struct collector *c, char *err, size_t errlen)
{
	struct rollup *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->c = c;
	r->window_s = c->cfg->collector.window_ms / 1000;
	r->interval_s = (double)c->cfg->collector.analyze_interval_ms / 1000.0;
	pthread_mutex_init(&r->mu, NULL);
	clock_cond_init_mono(&r->cv);
	r->rows = malloc(ROLLUP_LIMIT * sizeof(*r->rows));
	r->analyzed = malloc(ROLLUP_LIMIT * sizeof(*r->analyzed));
	if (!r->rows || !r->analyzed) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (store_open(&r->st, c->db_path, STORE_RW, false, err, errlen))
		goto fail;
	if (store_rollup_open(&r->sr, &r->st) || store_rollup_until_get(&r->st, &r->until) ||
	    store_rollup_cursor_get(&r->st, &r->cursor)) {
		snprintf(err, errlen, "cannot read %s: %s", r->st.path, store_errmsg(&r->st));
		goto fail;
	}
	if (pthread_create(&r->thread, NULL, thread_main, r) != 0) {
		snprintf(err, errlen, "cannot start the rollup thread");
		goto fail;
	}
	r->started = true;
	*out = r;
	return 0;
fail:
	rollup_stop(r);
	return -1;
}

void rollup_stop(struct rollup *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->started)
		pthread_join(r->thread, NULL);
	store_rollup_close(r->sr);
	if (r->st.db)
		store_close(&r->st);
	free(r->rows);
	free(r->analyzed);
	free(r->tie);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
