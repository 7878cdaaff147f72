/* checkpoint: see checkpoint.h. */
#include "checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "store.h"

struct checkpointer {
	struct store st; /* the thread's own connection */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* held while a checkpoint runs: the writer's at the cap waits for the
	 * thread's to end instead of failing busy beside it */
	pthread_mutex_t run_mu;
	bool kicked, stopping; /* under mu */
	double next_error_log; /* thread only */
	int backfilled;        /* thread only: frames of the log copied so far */
	_Atomic uint64_t runs, capped, frames, errors;
	_Atomic int64_t max_log;
};

static void *thread_main(void *arg)
{
	struct checkpointer *cp = arg;
	sqlite3 *h = db_sqlite_handle(cp->st.db);

	pthread_setname_np(pthread_self(), "mlw-checkpoint");
	pthread_mutex_lock(&cp->mu);
	for (;;) {
		while (!cp->kicked && !cp->stopping)
			pthread_cond_wait(&cp->cv, &cp->mu);
		if (cp->stopping)
			break;
		cp->kicked = false;
		pthread_mutex_unlock(&cp->mu);
		int log_frames = 0, copied = 0;
		pthread_mutex_lock(&cp->run_mu);
		int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
		                                   &copied);
		pthread_mutex_unlock(&cp->run_mu);
		atomic_fetch_add(&cp->runs, 1);
		/* copied counts the log's frames copied so far: what this run
		 * added, or all of them when the log restarted since */
		if (rc == SQLITE_OK && copied > 0) {
			int added = copied >= cp->backfilled ? copied - cp->backfilled : copied;
			atomic_fetch_add(&cp->frames, (uint64_t)added);
			cp->backfilled = copied;
		}
		/* SQLITE_BUSY: another connection (sqlite3(1), an mlwatch
		 * command) checkpoints; nothing lost, the next kick tries again */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			double now = clock_mono();
			atomic_fetch_add(&cp->errors, 1);
			if (now >= cp->next_error_log) {
				log_warn("checkpoint",
				         "WAL checkpoint failed error=%s log_frames=%d",
				         sqlite3_errmsg(h), log_frames);
				cp->next_error_log = now + 60;
			}
		}
		pthread_mutex_lock(&cp->mu);
	}
	pthread_mutex_unlock(&cp->mu);
	return NULL;
}

int checkpoint_start(struct checkpointer **out, const char *path, char *err, size_t errlen)
{
	struct checkpointer *cp = calloc(1, sizeof(*cp));

	*out = NULL;
	if (!cp) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&cp->mu, NULL);
	pthread_mutex_init(&cp->run_mu, NULL);
	pthread_cond_init(&cp->cv, NULL);
	if (store_open(&cp->st, path, STORE_RW, false, err, errlen))
		goto fail;
	if (!db_sqlite_handle(cp->st.db)) {
		snprintf(err, errlen, "%s: WAL checkpoints are for SQLite stores", path);
		goto fail;
	}
	/* this connection never writes; it must not checkpoint on its own
	 * schedule either (it only runs the ones asked for) */
	store_exec(&cp->st, "PRAGMA wal_autocheckpoint=0");
	if (pthread_create(&cp->thread, NULL, thread_main, cp) != 0) {
		snprintf(err, errlen, "cannot start the checkpoint thread");
		goto fail;
	}
	cp->started = true;
	*out = cp;
	return 0;
fail:
	checkpoint_stop(cp);
	return -1;
}

/* The writer connection's WAL hook, after each commit (writer thread). */
static int wal_hook(void *arg, sqlite3 *h, const char *db_name, int frames)
{
	struct checkpointer *cp = arg;

	if (frames > atomic_load(&cp->max_log))
		atomic_store(&cp->max_log, frames);
	if (frames >= CHECKPOINT_CAP_FRAMES) {
		/* the commits never left the thread a quiet moment: finish here,
		 * so that the log restarts (see checkpoint.h) */
		atomic_fetch_add(&cp->capped, 1);
		pthread_mutex_lock(&cp->run_mu);
		sqlite3_wal_checkpoint_v2(h, db_name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_unlock(&cp->run_mu);
	} else if (frames >= CHECKPOINT_KICK_FRAMES) {
		pthread_mutex_lock(&cp->mu);
		if (!cp->kicked) {
			cp->kicked = true;
			pthread_cond_signal(&cp->cv);
		}
		pthread_mutex_unlock(&cp->mu);
	}
	return SQLITE_OK;
}

int checkpoint_attach(struct checkpointer *cp, struct store *writer)
{
	sqlite3 *h = db_sqlite_handle(writer->db);

	if (!h)
		return 1;
	/* installing a hook replaces the auto-checkpoint, which is itself a
	 * WAL hook; the pragma makes that explicit */
	store_exec(writer, "PRAGMA wal_autocheckpoint=0");
	sqlite3_wal_hook(h, wal_hook, cp);
	return 0;
}

void checkpoint_stats(struct checkpointer *cp, struct checkpoint_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!cp)
		return;
	out->runs = atomic_load(&cp->runs);
	out->capped = atomic_load(&cp->capped);
	out->frames = atomic_load(&cp->frames);
	out->errors = atomic_load(&cp->errors);
	out->max_log = atomic_load(&cp->max_log);
}

void checkpoint_stop(struct checkpointer *cp)
{
	if (!cp)
		return;
	if (cp->started) {
		pthread_mutex_lock(&cp->mu);
		cp->stopping = true;
		pthread_cond_signal(&cp->cv);
		pthread_mutex_unlock(&cp->mu);
		pthread_join(cp->thread, NULL);
	}
	store_close(&cp->st);
	pthread_cond_destroy(&cp->cv);
	pthread_mutex_destroy(&cp->run_mu);
	pthread_mutex_destroy(&cp->mu);
	free(cp);
}
