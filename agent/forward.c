/* forward: see forward.h. */
#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "stats.h"
#include "wire.h"

#define TICK_S        0.05
#define SPILL_STEP    4 /* batches written to the spool between dispatches */
#define BACKOFF_MIN_S 0.1
#define BACKOFF_MAX_S 5.0

enum slot_state { SLOT_IDLE, SLOT_SENDING, SLOT_RECEIVING, SLOT_DONE };

struct slot {
	struct forward *f;
	nng_ctx ctx;
	nng_aio *aio;
	struct obatch *b;
	enum slot_state state; /* under f->mu once posted */
	int rv;
	struct wire_reply reply;
	char err[128];
	double sent_at; /* clock_mono() of the send */
};

struct mark_wait {
	uint64_t seq;
	struct tail_mark m;
};

/* One collector: a dialer of the shared REQ socket. */
struct peer {
	char url[1024];
	nng_dialer dialer;
	bool has_dialer;
	nng_tls_config *tls;
	atomic_int connected; /* its pipes (0 or 1) */
};

struct forward {
	struct forward_config cfg;
	char url[1024]; /* for log lines: the URLs, comma-separated */
	struct spool *spool;
	forward_done_fn done_fn;
	void *done_arg;

	nng_socket sock;
	bool sock_open;
	struct peer peers[FORWARD_MAX_COLLECTORS];
	int n_peers;
	atomic_int connected; /* pipes to any collector */
	atomic_bool closing;  /* our own nng_close: the pipe ending is no loss */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_started;
	bool stopping;
	bool cancel_all; /* forward_stop: abandon outstanding requests */
	double deadline;

	/* Under mu: the memory queue (seq order) and its size. */
	struct obatch *q_head, *q_tail;
	size_t q_bytes;
	atomic_size_t q_bytes_pub;

	/* Forwarder thread only. */
	struct obatch *retry; /* sorted by seq */
	struct slot *slots;
	int n_slots, busy;
	double backoff, backoff_until, spill_retry_at, last_flush, last_auth_log;
	/* The done watermark: every tracked seq < next_safe is safe. */
	uint64_t next_safe;
	uint64_t *safe_set; /* safe seqs >= next_safe, unsorted */
	size_t n_safe, cap_safe;
	struct mark_wait *marks;
	size_t n_marks, cap_marks;

	/* Forwarder thread only: one spooling episode, from the first batch
	 * written to disk to the spool being replayed and acknowledged, so
	 * that an operator sees both ends in the log with counts. */
	bool spooling;
	double spool_since;
	uint64_t ep_batches, ep_events, ep_replayed;
	int spool_inflight; /* batches read from the spool, not finished */
};

/* ---- the done watermark and tail marks ------------------------------- */

static void release_marks(struct forward *f)
{
	size_t k = 0;

	while (k < f->n_marks && f->marks[k].seq < f->next_safe)
		k++;
	if (k == 0)
		return;
	struct tail_mark *ms = malloc(k * sizeof(*ms));
	if (ms) {
		for (size_t i = 0; i < k; i++)
			ms[i] = f->marks[i].m;
		if (f->done_fn)
			f->done_fn(f->done_arg, ms, k);
		free(ms);
	}
	memmove(f->marks, f->marks + k, (f->n_marks - k) * sizeof(*f->marks));
	f->n_marks -= k;
}

/* Batch b (of this run) is safe: acknowledged, spooled, or dropped and
 * counted. Its marks are released once every earlier batch is safe too. */
static void mark_safe(struct forward *f, struct obatch *b)
{
	if (!b->tracked)
		return;
	for (size_t i = 0; i < b->n_marks; i++) {
		if (f->n_marks == f->cap_marks) {
			size_t ncap = f->cap_marks ? f->cap_marks * 2 : 16;
			struct mark_wait *nm = realloc(f->marks, ncap * sizeof(*nm));
			if (!nm) {
				log_error("forward", "out of memory: a tail position is not saved");
				break;
			}
			f->marks = nm;
			f->cap_marks = ncap;
		}
		/* Keep marks sorted by seq (batches become safe nearly in order). */
		size_t at = f->n_marks;
		while (at > 0 && f->marks[at - 1].seq > b->seq)
			at--;
		memmove(f->marks + at + 1, f->marks + at, (f->n_marks - at) * sizeof(*f->marks));
		f->marks[at] = (struct mark_wait){b->seq, b->marks[i]};
		f->n_marks++;
	}
	if (b->seq < f->next_safe)
		return;
	if (b->seq != f->next_safe) {
		if (f->n_safe == f->cap_safe) {
			size_t ncap = f->cap_safe ? f->cap_safe * 2 : 64;
			uint64_t *ns = realloc(f->safe_set, ncap * sizeof(*ns));
			if (!ns) {
				log_error("forward", "out of memory tracking batches");
				return;
			}
			f->safe_set = ns;
			f->cap_safe = ncap;
		}
		f->safe_set[f->n_safe++] = b->seq;
		return;
	}
	f->next_safe++;
	for (bool found = true; found;) {
		found = false;
		for (size_t i = 0; i < f->n_safe; i++)
			if (f->safe_set[i] == f->next_safe) {
				f->safe_set[i] = f->safe_set[--f->n_safe];
				f->next_safe++;
				found = true;
				break;
			}
	}
	release_marks(f);
}

/* ---- the memory queue (under mu) ------------------------------------- */

static void q_insert_locked(struct forward *f, struct obatch *b)
{
	/* Batches arrive nearly in seq order; insert from the tail. */
	struct obatch **pp = &f->q_head, *prev = NULL;

	if (!f->q_tail || f->q_tail->seq < b->seq) {
		b->next = NULL;
		if (f->q_tail)
			f->q_tail->next = b;
		else
			f->q_head = b;
		f->q_tail = b;
	} else {
		while (*pp && (*pp)->seq < b->seq) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		b->next = *pp;
		*pp = b;
		(void)prev;
	}
	f->q_bytes += b->len;
	atomic_store(&f->q_bytes_pub, f->q_bytes);
	stats_set(ST_QUEUE_BYTES, f->q_bytes);
}

static struct obatch *q_pop_locked(struct forward *f)
{
	struct obatch *b = f->q_head;

	if (!b)
		return NULL;
	f->q_head = b->next;
	if (!f->q_head)
		f->q_tail = NULL;
	b->next = NULL;
	f->q_bytes -= b->len;
	atomic_store(&f->q_bytes_pub, f->q_bytes);
	stats_set(ST_QUEUE_BYTES, f->q_bytes);
	return b;
}

void forward_enqueue(struct forward *f, struct obatch *b)
{
	pthread_mutex_lock(&f->mu);
	q_insert_locked(f, b);
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

bool forward_overloaded(const struct forward *f)
{
	return atomic_load(&f->q_bytes_pub) > 2 * f->cfg.queue_max;
}

bool forward_connected(const struct forward *f)
{
	return atomic_load(&f->connected) > 0;
}

const char *forward_urls(const struct forward *f)
{
	return f->url;
}

int forward_collectors_connected(const struct forward *f)
{
	int n = 0;
	for (int i = 0; i < f->n_peers; i++)
		n += atomic_load(&f->peers[i].connected) > 0;
	return n;
}

/* ---- retry list (forwarder thread) ----------------------------------- */

static void retry_insert(struct forward *f, struct obatch *b)
{
	struct obatch **pp = &f->retry;
	while (*pp && (*pp)->seq < b->seq)
		pp = &(*pp)->next;
	b->next = *pp;
	*pp = b;
}

/* ---- outcomes -------------------------------------------------------- */

static void count_drop(struct obatch *b, const char *why)
{
	stats_add(ST_BATCHES_DROPPED, 1);
	stats_add(ST_EVENTS_DROPPED, b->n_events);
	stats_add(ST_LABELS_DROPPED, b->n_labels);
	stats_add(ST_COUNTED_DROPPED, b->n_counted);
	log_error("forward", "dropped batch seq=%" PRIu64 " events=%" PRIu32 " reason=%s", b->seq,
	          b->n_events, why);
}

static void add_spool_drop(const struct spool_drop *d)
{
	stats_add(ST_BATCHES_DROPPED, d->batches);
	stats_add(ST_EVENTS_DROPPED, d->events);
	stats_add(ST_LABELS_DROPPED, d->labels);
	stats_add(ST_COUNTED_DROPPED, d->counted);
}

/* Finishes b for good (freed). */
static void finish(struct forward *f, struct obatch *b)
{
	if (b->from_spool && f->spool) {
		spool_ack(f->spool, &b->pos);
		f->spool_inflight--;
		f->ep_replayed++;
	}
	mark_safe(f, b);
	obatch_free(b);
}

/* Writes a memory batch to the spool. Returns 0 (b consumed), or -errno
 * (b untouched) when the spool cannot take it. */
static int spill(struct forward *f, struct obatch *b)
{
	struct spool_drop d = {0};
	int rc;

	if (!b->buf) {
		count_drop(b, "not encoded");
		finish(f, b);
		return 0;
	}
	rc = spool_append(f->spool, b->seq, b->buf, b->len, b->n_events, b->n_labels, b->n_counted,
	                  &d);
	if (rc < 0)
		return rc;
	add_spool_drop(&d);
	if (rc == 0) {
		stats_add(ST_EVENTS_SPOOLED, b->n_events);
		stats_add(ST_BATCHES_SPOOLED, 1);
		if (!f->spooling) {
			f->spooling = true;
			f->spool_since = clock_mono();
			f->ep_batches = f->ep_events = f->ep_replayed = 0;
			log_warn("forward", "spooling to disk: the collector is %s url=%s",
			         forward_connected(f) ? "not keeping up" : "unreachable", f->url);
		}
		f->ep_batches++;
		f->ep_events += b->n_events;
	}
	finish(f, b);
	return 0;
}

/* Ends a spooling episode once everything written to disk was replayed and
 * acknowledged (and nothing new is waiting to be written). */
static void spool_check_caught_up(struct forward *f, double now)
{
	if (!f->spooling || !f->spool || f->spool_inflight > 0 || spool_has_unread(f->spool) ||
	    !forward_connected(f))
		return;
	f->spooling = false;
	log_info("forward",
	         "caught up: spool replayed to the collector batches_spooled=%" PRIu64
	         " events_spooled=%" PRIu64 " batches_replayed=%" PRIu64 " spooling_for=%.1fs",
	         f->ep_batches, f->ep_events, f->ep_replayed, now - f->spool_since);
}

/* ---- sending --------------------------------------------------------- */

static void post(struct slot *s, int rv)
{
	struct forward *f = s->f;
	pthread_mutex_lock(&f->mu);
	s->rv = rv;
	s->state = SLOT_DONE;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* nng aio callback: never blocks; hands the outcome to the thread. */
static void slot_cb(void *arg)
{
	struct slot *s = arg;
	int rv = nng_aio_result(s->aio);
	nng_msg *m;

	if (s->state == SLOT_SENDING) {
		if (rv != 0) {
			m = nng_aio_get_msg(s->aio);
			if (m)
				nng_msg_free(m);
			nng_aio_set_msg(s->aio, NULL);
			post(s, rv);
			return;
		}
		/* Under the lock so that forward_stop sees every operation it
		 * has to cancel; a stopping forwarder does not wait for replies. */
		struct forward *f = s->f;
		pthread_mutex_lock(&f->mu);
		bool abort = f->cancel_all;
		if (!abort)
			s->state = SLOT_RECEIVING;
		pthread_mutex_unlock(&f->mu);
		if (abort) {
			post(s, NNG_ECANCELED);
			return;
		}
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (rv == 0) {
		m = nng_aio_get_msg(s->aio);
		nng_aio_set_msg(s->aio, NULL);
		if (wire_decode_reply(nng_msg_body(m), nng_msg_len(m), &s->reply, s->err,
		                      sizeof(s->err)) != 0)
			rv = NNG_EPROTO;
		nng_msg_free(m);
	}
	post(s, rv);
}

/* Appends Batch.token (field 4, bytes) with this run's token. A batch from
 * the spool carries the token of the run that encoded it, which may be the
 * wrong one an operator has since corrected: protobuf keeps the last value
 * of a repeated singular field, so the collector sees the current token and
 * the batch is not refused for ever. */
static int append_token(nng_msg *m, const uint8_t *tok, size_t len)
{
	uint8_t hdr[1 + 10];
	size_t n = 0;
	uint64_t v = len;

	hdr[n++] = (4 << 3) | 2; /* field 4, length-delimited */
	do {
		hdr[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	int rv = nng_msg_append(m, hdr, n);
	return rv ? rv : nng_msg_append(m, tok, len);
}

static int send_batch(struct forward *f, struct slot *s, struct obatch *b)
{
	nng_msg *m = NULL;
	int rv = nng_msg_alloc(&m, 0);

	if (rv == 0 && (rv = nng_msg_append(m, b->buf, b->len)) == 0 && b->from_spool &&
	    f->cfg.token_len > 0)
		rv = append_token(m, f->cfg.token, f->cfg.token_len);
	if (rv != 0) {
		if (m)
			nng_msg_free(m);
		return rv;
	}
	s->b = b;
	s->rv = 0;
	s->err[0] = '\0';
	memset(&s->reply, 0, sizeof(s->reply));
	s->state = SLOT_SENDING;
	s->sent_at = clock_mono();
	b->attempts++;
	if (b->attempts > 1)
		stats_add(ST_SEND_RETRIES, 1);
	f->busy++;
	stats_set(ST_INFLIGHT, (uint64_t)f->busy);
	nng_aio_set_msg(s->aio, m);
	nng_ctx_send(s->ctx, s->aio);
	return 0;
}

static void backoff(struct forward *f, double now)
{
	f->backoff = f->backoff < BACKOFF_MIN_S ? BACKOFF_MIN_S : f->backoff * 2;
	if (f->backoff > BACKOFF_MAX_S)
		f->backoff = BACKOFF_MAX_S;
	/* Jitter (0.5..1.0 of the delay) so many agents do not retry in step. */
	f->backoff_until = now + f->backoff * (0.5 + 0.5 * ((double)rand() / RAND_MAX));
}

/* Handles a finished slot (called with mu held; spool acks are cheap). */
static void complete(struct forward *f, struct slot *s, double now)
{
	struct obatch *b = s->b;
	int rv = s->rv;

	s->b = NULL;
	s->state = SLOT_IDLE;
	f->busy--;
	stats_set(ST_INFLIGHT, (uint64_t)f->busy);
	if (rv == 0 && s->reply.seq != b->seq) {
		log_warn("forward", "reply for another batch seq=%" PRIu64 " reply_seq=%" PRIu64,
		         b->seq, s->reply.seq);
		rv = NNG_EPROTO;
	}
	if (rv != 0) {
		if (rv != NNG_ECANCELED && rv != NNG_ECLOSED)
			log_warn("forward", "send failed seq=%" PRIu64 " error=%s%s%s", b->seq,
			         nng_strerror(rv), s->err[0] ? " detail=" : "", s->err);
		if (!f->stopping)
			backoff(f, now);
		retry_insert(f, b);
		return;
	}
	switch (s->reply.status) {
	case WIRE_OK:
		f->backoff = 0;
		stats_add(ST_EVENTS_SENT, b->n_events);
		stats_add(ST_LABELS_SENT, b->n_labels);
		stats_add(ST_BATCHES_SENT, 1);
		if (b->from_spool)
			stats_add(ST_EVENTS_REPLAYED, b->n_events);
		log_debug("forward",
		          "batch acknowledged seq=%" PRIu64 " events=%" PRIu32 " duplicate=%d",
		          b->seq, b->n_events, s->reply.duplicate);
		finish(f, b);
		return;
	case WIRE_BUSY:
		stats_add(ST_REPLY_BUSY, 1);
		backoff(f, now);
		retry_insert(f, b);
		return;
	case WIRE_INVALID:
		stats_add(ST_REPLY_ERROR, 1);
		count_drop(b, "collector says invalid");
		finish(f, b);
		return;
	default: /* UNAUTHORIZED, VERSION: keep the data, wait for a fix */
		stats_add(ST_REPLY_ERROR, 1);
		if (now - f->last_auth_log > 10) {
			log_error("forward",
			          "collector refused batch seq=%" PRIu64
			          " status=%s message=\"%s\"; will retry",
			          b->seq, wire_status_name(s->reply.status), s->reply.message);
			f->last_auth_log = now;
		}
		f->backoff = BACKOFF_MAX_S;
		f->backoff_until = now + BACKOFF_MAX_S;
		retry_insert(f, b);
		return;
	}
}

/* The next batch to send: failed ones first, then the spool, then memory.
 * Called with mu held. */
static struct obatch *next_batch(struct forward *f)
{
	struct obatch *b = f->retry;

	if (b) {
		f->retry = b->next;
		b->next = NULL;
		return b;
	}
	if (f->spool && !f->stopping && spool_has_unread(f->spool)) {
		struct spool_record rec;
		int rc = spool_read(f->spool, &rec);
		if (rc == 0) {
			b = calloc(1, sizeof(*b));
			if (!b) {
				free(rec.buf);
				spool_ack(f->spool, &rec.pos); /* replayed next start */
				return NULL;
			}
			b->seq = rec.seq;
			b->buf = rec.buf;
			b->len = rec.len;
			b->n_events = rec.n_events;
			b->n_labels = rec.n_labels;
			b->n_counted = rec.n_counted;
			b->from_spool = true;
			f->spool_inflight++;
			b->pos = rec.pos;
			b->born = clock_mono();
			return b;
		}
		if (rc < 0)
			log_error("forward", "cannot read the spool error=%s", strerror(-rc));
		if (spool_has_unread(f->spool))
			return NULL; /* keep the order: do not skip ahead to memory */
	}
	return q_pop_locked(f);
}

static void dispatch(struct forward *f, double now)
{
	if (!forward_connected(f) || now < f->backoff_until)
		return;
	for (int i = 0; i < f->n_slots && f->busy < f->n_slots; i++) {
		struct slot *s = &f->slots[i];
		if (s->state != SLOT_IDLE)
			continue;
		struct obatch *b = next_batch(f);
		if (!b)
			return;
		if (!b->buf) {
			count_drop(b, "not encoded");
			finish(f, b);
			i--;
			continue;
		}
		int rv = send_batch(f, s, b);
		if (rv != 0) {
			log_warn("forward", "cannot send error=%s", nng_strerror(rv));
			retry_insert(f, b);
			backoff(f, now);
			return;
		}
	}
}

/* Moves memory batches to the spool when they waited too long or memory
 * is short, at most SPILL_STEP of them a call: the loop dispatches between
 * steps, so a long backlog being written out never leaves the contexts
 * idle (and the collector waiting) while answers come in. Returns true
 * when more are due. Called with mu held; drops it around the writes. */
static bool spill_old(struct forward *f, double now, bool all)
{
	int n = 0;

	if (!f->spool || now < f->spill_retry_at)
		return false;
	while (f->q_head && (all || f->q_bytes > f->cfg.queue_max ||
	                     now - f->q_head->born >= f->cfg.spool_after_s)) {
		if (n++ == SPILL_STEP)
			return true;
		struct obatch *b = q_pop_locked(f);
		pthread_mutex_unlock(&f->mu);
		int rc = spill(f, b);
		pthread_mutex_lock(&f->mu);
		if (rc < 0) {
			log_error("forward", "cannot write to the spool error=%s", strerror(-rc));
			/* Put it back at the head; try again in a second. */
			b->next = f->q_head;
			f->q_head = b;
			if (!f->q_tail)
				f->q_tail = b;
			f->q_bytes += b->len;
			atomic_store(&f->q_bytes_pub, f->q_bytes);
			f->spill_retry_at = now + 1.0;
			return false;
		}
	}
	return false;
}

static bool memory_empty(struct forward *f)
{
	return !f->q_head && !f->retry && f->busy == 0;
}

/* A batch unanswered (in flight, or failing again and again) for longer
 * than stuck_s is copied to the spool and counted as safe, so a hung
 * collector cannot hold back the tail positions and the done watermark of
 * every later batch; the attempt in memory goes on, and whichever copy
 * arrives second is a duplicate the collector ignores. Called with mu held. */
static void secure_stuck(struct forward *f, double now)
{
	double stuck = (double)f->cfg.resend_ms * 3 / 1000.0;
	if (stuck < 1.0)
		stuck = 1.0;
	if (!f->spool)
		return;
	for (int i = 0; i < f->n_slots; i++) {
		struct slot *s = &f->slots[i];
		struct obatch *b = s->b;
		if ((s->state == SLOT_SENDING || s->state == SLOT_RECEIVING) && b && b->tracked &&
		    !b->from_spool && b->buf && now - s->sent_at >= stuck) {
			struct spool_drop d = {0};
			if (spool_append(f->spool, b->seq, b->buf, b->len, b->n_events, b->n_labels,
			                 b->n_counted, &d) < 0)
				continue;
			add_spool_drop(&d);
			stats_add(ST_EVENTS_SPOOLED, b->n_events);
			stats_add(ST_BATCHES_SPOOLED, 1);
			log_warn("forward",
			         "no answer for %.0f s: batch copied to the spool seq=%" PRIu64,
			         now - s->sent_at, b->seq);
			mark_safe(f, b);
			b->tracked = false;
		}
	}
	for (struct obatch *b = f->retry; b; b = b->next) {
		if (!b->tracked || b->from_spool || !b->buf || now - b->born < stuck)
			continue;
		struct spool_drop d = {0};
		if (spool_append(f->spool, b->seq, b->buf, b->len, b->n_events, b->n_labels,
		                 b->n_counted, &d) < 0)
			continue;
		add_spool_drop(&d);
		stats_add(ST_EVENTS_SPOOLED, b->n_events);
		stats_add(ST_BATCHES_SPOOLED, 1);
		mark_safe(f, b);
		b->tracked = false;
	}
}

static void *thread_main(void *arg)
{
	struct forward *f = arg;

	if (f->spool && spool_has_unread(f->spool)) {
		f->spooling = true;
		f->spool_since = clock_mono();
		log_info("forward", "replaying the spool of an earlier run batches=%" PRIu64,
		         spool_records(f->spool));
	}
	pthread_mutex_lock(&f->mu);
	for (;;) {
		double now = clock_mono();

		for (int i = 0; i < f->n_slots; i++)
			if (f->slots[i].state == SLOT_DONE)
				complete(f, &f->slots[i], now);
		if (f->stopping && (memory_empty(f) || now >= f->deadline))
			break;
		/* Answered contexts are refilled before anything slow (spool
		 * writes) happens: the collector should not wait on us. */
		dispatch(f, now);
		bool more = spill_old(f, now, f->stopping && !forward_connected(f));
		secure_stuck(f, now);
		dispatch(f, now);
		spool_check_caught_up(f, now);
		if (f->spool && now - f->last_flush >= 1.0) {
			spool_flush(f->spool, false);
			f->last_flush = now;
		}
		stats_set(ST_COLLECTOR_CONNECTED, forward_connected(f) ? 1 : 0);

		double wake = more ? now : now + TICK_S;
		if (f->backoff_until > now && f->backoff_until < wake)
			wake = f->backoff_until;
		struct timespec ts;
		clock_mono_deadline(wake - now, &ts);
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* ---- setup ----------------------------------------------------------- */

/* Which collector a pipe leads to (every dialer is created before any is
 * started, so the table is complete when the first pipe arrives). */
static struct peer *peer_of(struct forward *f, nng_pipe p)
{
	int id = nng_dialer_id(nng_pipe_dialer(p));
	for (int i = 0; i < f->n_peers; i++)
		if (f->peers[i].has_dialer && nng_dialer_id(f->peers[i].dialer) == id)
			return &f->peers[i];
	return NULL;
}

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct forward *f = arg;
	struct peer *pe = peer_of(f, p);
	const char *url = pe ? pe->url : f->url;

	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&f->connected, 1);
		if (pe)
			atomic_fetch_add(&pe->connected, 1);
		if (f->n_peers > 1)
			log_info("forward",
			         "connected to the collector url=%s collectors_connected=%d/%d",
			         url, forward_collectors_connected(f), f->n_peers);
		else
			log_info("forward", "connected to the collector url=%s", url);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&f->connected, 1);
		if (pe)
			atomic_fetch_sub(&pe->connected, 1);
		/* With several collectors nng sends the requests that waited on
		 * this one to the others. */
		if (!atomic_load(&f->closing) && f->n_peers > 1)
			log_warn("forward",
			         "lost the connection to the collector url=%s "
			         "collectors_connected=%d/%d",
			         url, forward_collectors_connected(f), f->n_peers);
		else if (!atomic_load(&f->closing))
			log_warn("forward", "lost the connection to the collector url=%s", url);
	}
	stats_set(ST_COLLECTOR_CONNECTED, atomic_load(&f->connected) > 0);
	pthread_mutex_lock(&f->mu);
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

struct forward *forward_new(const struct forward_config *cfg, struct spool *spool,
                            forward_done_fn done, void *done_arg, char *err, size_t errlen)
{
	struct forward *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = *cfg;
	if (f->cfg.inflight < 1)
		f->cfg.inflight = 1;
	if (f->cfg.queue_max == 0)
		f->cfg.queue_max = 16u << 20;
	if (f->cfg.spool_after_s <= 0)
		f->cfg.spool_after_s = 1.0;
	const char *const *urls = cfg->n_urls > 0 ? cfg->urls : &cfg->url;
	size_t n_urls = cfg->n_urls > 0 ? cfg->n_urls : 1;
	if (n_urls > FORWARD_MAX_COLLECTORS) {
		snprintf(err, errlen, "--collector given %zu times; at most %d collectors", n_urls,
		         FORWARD_MAX_COLLECTORS);
		free(f);
		return NULL;
	}
	for (size_t i = 0; i < n_urls; i++) {
		if (!urls[i] || !urls[i][0] || strlen(urls[i]) >= sizeof(f->peers[i].url)) {
			snprintf(err, errlen, "--collector %zu: URL %s", i + 1,
			         urls[i] && urls[i][0] ? "too long" : "empty");
			free(f);
			return NULL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(urls[i], urls[j]) == 0) {
				snprintf(err, errlen, "--collector %s is listed twice", urls[i]);
				free(f);
				return NULL;
			}
		snprintf(f->peers[i].url, sizeof(f->peers[i].url), "%s", urls[i]);
		size_t used = strlen(f->url);
		snprintf(f->url + used, sizeof(f->url) - used, "%s%s", i ? "," : "", urls[i]);
	}
	f->n_peers = (int)n_urls;
	f->cfg.url = f->peers[0].url;
	f->cfg.urls = NULL;
	f->cfg.n_urls = 0;
	f->spool = spool;
	f->done_fn = done;
	f->done_arg = done_arg;
	f->next_safe = cfg->first_seq;
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init_mono(&f->cv);
	f->n_slots = f->cfg.inflight;
	f->slots = calloc((size_t)f->n_slots, sizeof(*f->slots));
	if (!f->slots) {
		snprintf(err, errlen, "out of memory");
		forward_free(f);
		return NULL;
	}
	return f;
}

/* The TLS configuration of one collector: each has its own, since the name
 * its certificate must carry comes from its own URL. */
static int setup_tls(struct forward *f, struct peer *pe, char *err, size_t errlen)
{
	const struct forward_config *c = &f->cfg;
	char host[256] = "";
	const char *p = strstr(pe->url, "://");
	int rv;

	if (strncmp(pe->url, "tls+tcp", 7) != 0)
		return 0;
	if ((rv = nng_tls_config_alloc(&pe->tls, NNG_TLS_MODE_CLIENT)) != 0) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(rv));
		return -1;
	}
	/* The name the certificate must carry: tls_server_name, else the
	 * URL's host. mbedTLS matches DNS names only, so an IP address is not
	 * checked by name (the chain to --tls-ca still is). */
	if (c->tls_server_name && c->tls_server_name[0]) {
		snprintf(host, sizeof(host), "%s", c->tls_server_name);
	} else if (p) {
		p += 3;
		const char *e = p[0] == '[' ? strchr(p, ']') : strrchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (p[0] == '[')
			p++, n = n ? n - 1 : 0;
		if (n < sizeof(host)) {
			memcpy(host, p, n);
			host[n] = '\0';
		}
		struct in6_addr a6;
		struct in_addr a4;
		if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
			log_warn("forward",
			         "collector given by IP address: its certificate name is "
			         "not checked; set tls_server_name to check it host=%s",
			         host);
			host[0] = '\0';
		}
	}
	/* Without this the name above was never checked: any certificate of
	 * the CA was taken for any collector. */
	if (host[0] && (rv = nng_tls_config_server_name(pe->tls, host)) != 0) {
		snprintf(err, errlen, "tls_server_name %s: %s", host, nng_strerror(rv));
		return -1;
	}
	if (c->tls_ca && c->tls_ca[0]) {
		if ((rv = nng_tls_config_ca_file(pe->tls, c->tls_ca)) != 0) {
			snprintf(err, errlen, "--tls-ca %s: %s", c->tls_ca, nng_strerror(rv));
			return -1;
		}
		nng_tls_config_auth_mode(pe->tls, NNG_TLS_AUTH_MODE_REQUIRED);
	} else {
		snprintf(err, errlen, "tls+tcp:// needs --tls-ca to check the collector");
		return -1;
	}
	if (c->tls_cert && c->tls_cert[0]) {
		const char *key = c->tls_key && c->tls_key[0] ? c->tls_key : NULL;
		if (key) {
			/* Separate files: nng wants the PEM texts. */
			FILE *fc = fopen(c->tls_cert, "r"), *fk = fopen(key, "r");
			char *cert = NULL, *keytxt = NULL;
			size_t nc = 0, nk = 0;
			rv = -1;
			if (fc && fk) {
				cert = calloc(1, 1 << 20);
				keytxt = calloc(1, 1 << 20);
				if (cert && keytxt) {
					nc = fread(cert, 1, (1 << 20) - 1, fc);
					nk = fread(keytxt, 1, (1 << 20) - 1, fk);
					rv = nc && nk ? nng_tls_config_own_cert(pe->tls, cert,
					                                        keytxt, NULL)
					              : NNG_EINVAL;
				}
			}
			if (fc)
				fclose(fc);
			if (fk)
				fclose(fk);
			if (keytxt)
				memset(keytxt, 0, nk);
			free(cert);
			free(keytxt);
			if (rv != 0) {
				snprintf(err, errlen, "--tls-cert/--tls-key: %s",
				         rv < 0 ? "cannot read the files" : nng_strerror(rv));
				return -1;
			}
		} else if ((rv = nng_tls_config_cert_key_file(pe->tls, c->tls_cert, NULL)) != 0) {
			snprintf(err, errlen, "--tls-cert %s: %s", c->tls_cert, nng_strerror(rv));
			return -1;
		}
	}
	return 0;
}

int forward_start(struct forward *f, char *err, size_t errlen)
{
	int rv;

	if ((rv = nng_req0_open(&f->sock)) != 0) {
		snprintf(err, errlen, "nng: %s", nng_strerror(rv));
		return -1;
	}
	f->sock_open = true;
	nng_socket_set_ms(f->sock, NNG_OPT_REQ_RESENDTIME, (nng_duration)f->cfg.resend_ms);
	nng_socket_set_size(f->sock, NNG_OPT_RECVMAXSZ, 1u << 20);
	nng_socket_set_ms(f->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(f->sock, NNG_OPT_RECONNMAXT, 2000);
	nng_pipe_notify(f->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, f);
	nng_pipe_notify(f->sock, NNG_PIPE_EV_REM_POST, pipe_cb, f);
	for (int i = 0; i < f->n_slots; i++) {
		struct slot *s = &f->slots[i];
		s->f = f;
		if ((rv = nng_ctx_open(&s->ctx, f->sock)) != 0 ||
		    (rv = nng_aio_alloc(&s->aio, slot_cb, s)) != 0) {
			snprintf(err, errlen, "nng: %s", nng_strerror(rv));
			return -1;
		}
	}
	/* Every dialer exists before any starts: pipe_cb reads the table. */
	for (int i = 0; i < f->n_peers; i++) {
		struct peer *pe = &f->peers[i];
		if (setup_tls(f, pe, err, errlen))
			return -1;
		if ((rv = nng_dialer_create(&pe->dialer, f->sock, pe->url)) != 0) {
			snprintf(err, errlen, "--collector %s: %s", pe->url, nng_strerror(rv));
			return -1;
		}
		pe->has_dialer = true;
		if (pe->tls &&
		    (rv = nng_dialer_set_ptr(pe->dialer, NNG_OPT_TLS_CONFIG, pe->tls)) != 0) {
			snprintf(err, errlen, "--collector %s: TLS: %s", pe->url, nng_strerror(rv));
			return -1;
		}
	}
	for (int i = 0; i < f->n_peers; i++)
		if ((rv = nng_dialer_start(f->peers[i].dialer, NNG_FLAG_NONBLOCK)) != 0) {
			snprintf(err, errlen, "--collector %s: %s", f->peers[i].url,
			         nng_strerror(rv));
			return -1;
		}
	f->last_flush = clock_mono();
	if (pthread_create(&f->thread, NULL, thread_main, f) != 0) {
		snprintf(err, errlen, "cannot start the forwarder thread");
		return -1;
	}
	pthread_setname_np(f->thread, "mlw-forward");
	f->thread_started = true;
	return 0;
}

void forward_stop(struct forward *f, double drain_s)
{
	if (!f || !f->thread_started)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	f->deadline = clock_mono() + drain_s;
	f->backoff_until = 0;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	f->thread_started = false;

	/* Whatever is still in flight is cancelled and comes back. A callback
	 * may be between send and receive, so cancel until all are done. */
	pthread_mutex_lock(&f->mu);
	f->cancel_all = true;
	pthread_mutex_unlock(&f->mu);
	for (int round = 0; round < 200; round++) {
		bool any = false;
		pthread_mutex_lock(&f->mu);
		for (int i = 0; i < f->n_slots; i++)
			any |= f->slots[i].state == SLOT_SENDING ||
			       f->slots[i].state == SLOT_RECEIVING;
		pthread_mutex_unlock(&f->mu);
		if (!any)
			break;
		for (int i = 0; i < f->n_slots; i++)
			if (f->slots[i].aio)
				nng_aio_cancel(f->slots[i].aio);
		nng_msleep(10);
	}
	pthread_mutex_lock(&f->mu);
	double now = clock_mono();
	for (int i = 0; i < f->n_slots; i++)
		if (f->slots[i].state == SLOT_DONE)
			complete(f, &f->slots[i], now);
	/* Memory batches in seq order: failed ones are older than the queue. */
	struct obatch *b;
	while ((b = q_pop_locked(f)))
		retry_insert(f, b);
	pthread_mutex_unlock(&f->mu);
	size_t spooled = 0, lost = 0;
	while ((b = f->retry)) {
		f->retry = b->next;
		b->next = NULL;
		if (b->from_spool || !b->tracked) {
			/* Still on disk (not acknowledged), or copied there when it
			 * got stuck. */
			obatch_free(b);
			continue;
		}
		if (f->spool && spill(f, b) == 0) {
			spooled++;
			continue;
		}
		count_drop(b, "no spool at shutdown");
		lost++;
		finish(f, b);
	}
	if (f->spool)
		spool_flush(f->spool, true);
	if (spooled || lost)
		log_info("forward", "stopped batches_spooled=%zu batches_lost=%zu", spooled, lost);
}

void forward_free(struct forward *f)
{
	if (!f)
		return;
	if (f->thread_started)
		forward_stop(f, 0);
	if (f->sock_open) {
		atomic_store(&f->closing, true);
		nng_close(f->sock);
	}
	for (int i = 0; f->slots && i < f->n_slots; i++) {
		if (f->slots[i].aio) {
			nng_aio_stop(f->slots[i].aio);
			nng_aio_free(f->slots[i].aio);
		}
		obatch_free(f->slots[i].b);
	}
	for (int i = 0; i < f->n_peers; i++)
		if (f->peers[i].tls)
			nng_tls_config_free(f->peers[i].tls);
	struct obatch *b;
	while ((b = q_pop_locked(f)))
		obatch_free(b);
	while ((b = f->retry)) {
		f->retry = b->next;
		obatch_free(b);
	}
	free(f->slots);
	free(f->safe_set);
	free(f->marks);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}
