/* ingest: see ingest.h. */
#include "ingest.h"

#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "clock.h"
#include "collector.h"
#include "ddsketch.h"
#include "featcodec.h"
#include "jsonw.h"
#include "log.h"
#include "ring.h"
#include "seenfilter.h"
#include "store.h"
#include "store_ingest.h"
#include "wire.h"

const double ingest_commit_bounds[8] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5};

static const char *const reject_names[REJ_COUNT] = {
    [REJ_MALFORMED] = "malformed",
    [REJ_OVERSIZED] = "oversized",
    [REJ_UNAUTHORIZED] = "unauthorized",
    [REJ_VERSION] = "version",
    [REJ_INVALID_ITEM] = "invalid_item",
    [REJ_FUTURE] = "future_ts",
    [REJ_TOO_OLD] = "too_old",
    [REJ_BAD_SKETCH] = "bad_sketch",
    [REJ_BUSY] = "busy",
};

const char *ingest_reject_name(enum ingest_reject r)
{
	return r < REJ_COUNT ? reject_names[r] : "unknown";
}

/* A decoded, validated batch waiting for the writer. Everything points
 * into the wire_batch's protobuf and arena. */
struct req {
	struct wire_batch b;
	double received;
	/* per stored event: its window, features blob and scores JSON, parallel
	 * to b.events */
	int64_t *window_start;
	const uint8_t **features; /* featcodec blobs */
	size_t *features_len;
	const char **scores_json;
	size_t n_events;                /* events kept (b.events compacted) */
	struct ddsketch **sketches;     /* parallel to b.summaries (NULL if none) */
	struct ddsketch **ttft, **tpot; /* LLM sketches, likewise */
	size_t n_summaries;
	uint32_t rejected; /* items refused by us or by decoding */
	/* by reason; counted only once the batch is known not to be a
	 * duplicate, so a resend does not count its refusals twice */
	uint32_t item_rejects[REJ_COUNT];
	/* filled by the writer */
	uint32_t dup_events; /* events whose (model, id) was already stored */
	bool done, duplicate;
	enum wire_status status;
	uint32_t stored;
	char message[240];
	struct req *next;
};

/* Where the writer's CPU goes, per statement group (issue 18): summed
 * over the groups, logged per event at debug every WPROF_EVERY groups and
 * at info when the writer stops. Writer-only. */
enum wstage {
	WS_BEGIN,   /* BEGIN and the model-cache sync */
	WS_CLAIM,   /* batches_seen and the rows built (model lookups) */
	WS_DEDUPE,  /* (model, req_id) repeats: in the group and stored */
	WS_PENDING, /* pending labels taken by new events */
	WS_INSERT,  /* the events inserted */
	WS_TALLY,   /* window deltas of the events */
	WS_REST,    /* labels and per-second summaries */
	WS_SHARED,  /* windows, LLM rows, models, agents, meta */
	WS_COMMIT,  /* COMMIT (with SQLite's WAL auto-checkpoint) */
	WS_COUNT
};
static const char *const wstage_names[WS_COUNT] = {
    "begin", "claim", "dedupe", "pending", "insert", "tally", "rest", "shared", "commit",
};
#define WPROF_EVERY 2000

struct wprof {
	double t[WS_COUNT]; /* seconds */
	double mark;        /* clock_mono at the end of the last stage */
	uint64_t events, groups;
};

struct ingest {
	struct collector *c;
	struct ingest_opts o;
	uint8_t token_hash[SHA256_DIGEST_LENGTH];
	struct store st;
	struct store_ingest *si;
	pthread_t writer;
	bool writer_started;

	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* queue not empty, or stopping */
	pthread_cond_t done_cv; /* some request finished */
	struct req *head, *tail;
	size_t queued;
	bool stopping;

	/* writer-only state */
	int64_t *pending; /* pending labels per model id (index) */
	size_t pending_cap;
	double next_retention;
	bool retention_more;
	struct store_event_row *rows; /* the events of the batch being stored */
	bool *dup;                    /* which of them repeat a stored event */
	bool *known_new;              /* which the filter calls certainly new */
	struct req **row_req;         /* the batch of each */
	size_t rows_cap;
	/* (model, req_id) pairs stored recently, so that the duplicate check
	 * skips most index lookups; SQLite only (NULL on PostgreSQL, where
	 * other collectors write too) */
	struct seenfilter *seen;
	/* WAL checkpoints off this thread (SQLite; NULL on PostgreSQL or when
	 * it could not start) */
	struct checkpointer *ckpt;
	uint64_t lookups; /* rows the filter left to the exact lookup */
	struct wprof prof;
	struct ingest_stats stats;
};

const struct ingest_stats *ingest_get_stats(const struct ingest *ing)
{
	return &ing->stats;
}

static void count_reject(struct ingest *ing, enum ingest_reject r, uint64_t n)
{
	atomic_fetch_add(&ing->stats.rejects[r], n);
}

/* ---- worker side: decode and prepare ------------------------------------ */

static int reply_encode(const struct wire_reply *r, uint8_t **out, size_t *len)
{
	return wire_encode_reply(r, out, len);
}

static int reply_status(uint64_t seq, enum wire_status status, const char *msg, uint8_t **out,
                        size_t *len)
{
	struct wire_reply r = {.seq = seq, .status = status};
	snprintf(r.message, sizeof(r.message), "%s", msg);
	return reply_encode(&r, out, len);
}

static bool token_ok(struct ingest *ing, const struct wire_batch *b)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	if (!ing->o.token)
		return true;
	if (!b->token)
		return false;
	/* Comparing digests in constant time hides both the content and the
	 * length of the configured token. */
	SHA256(b->token, b->token_len, h);
	return CRYPTO_memcmp(h, ing->token_hash, sizeof(h)) == 0;
}

/* The event's features as a featcodec blob (common/featcodec.h) copied
 * into the batch's arena: *out NULL when it has none. A name repeated in
 * one event keeps its first value (as the JSON text did). An LLM's token
 * counts are drift-monitored like features (issue 15): they are stored as
 * numeric features input_tokens / output_tokens unless the event names a
 * feature so itself. Returns 0, -ENOMEM, or -EINVAL for a value beyond the
 * blob's bounds (decoding enforced the same ones: not expected). */
static int features_blob(struct req *q, const struct event *ev, struct featcodec_enc *enc,
                         const uint8_t **out, size_t *len)
{
	struct event_name_filter seen = {{0}};
	bool add_in = ev->has_input_tokens, add_out = ev->has_output_tokens;
	uint8_t *copy;
	int rc;

	*out = NULL;
	*len = 0;
	if (ev->n_features == 0 && !add_in && !add_out)
		return 0;
	featcodec_reset(enc);
	for (size_t i = 0; i < ev->n_features; i++) {
		const struct feature *f = &ev->features[i];
		size_t n = strlen(f->name);
		bool dup = false;
		if (add_in && strcmp(f->name, "input_tokens") == 0)
			add_in = false;
		if (add_out && strcmp(f->name, "output_tokens") == 0)
			add_out = false;
		if (event_name_filter_add(&seen, f->name, n))
			for (size_t k = 0; k < i && !dup; k++)
				dup = strcmp(ev->features[k].name, f->name) == 0;
		if (dup)
			continue;
		if (f->kind == FEATURE_NUMERIC)
			featcodec_add_num(enc, f->name, f->num);
		else if (f->kind == FEATURE_CATEGORICAL)
			featcodec_add_str(enc, f->name, f->str, strlen(f->str));
		else if (f->kind == FEATURE_VECTOR)
			featcodec_add_vec(enc, f->name, f->vec, f->dim);
		else
			featcodec_add_null(enc, f->name);
	}
	if (add_in)
		featcodec_add_num(enc, "input_tokens", (double)ev->input_tokens);
	if (add_out)
		featcodec_add_num(enc, "output_tokens", (double)ev->output_tokens);
	if ((rc = featcodec_finish(enc)) != 0)
		return rc;
	if (!(copy = arena_alloc_raw(&q->b.arena, enc->len)))
		return -ENOMEM;
	memcpy(copy, enc->buf, enc->len);
	*out = copy;
	*len = enc->len;
	return 0;
}

static const char *scores_json(struct req *q, const struct event *ev, struct jsonw *w)
{
	if (ev->n_scores == 0)
		return NULL;
	jsonw_reset(w);
	jsonw_char(w, '{');
	for (size_t i = 0; i < ev->n_scores; i++) {
		if (i)
			jsonw_char(w, ',');
		jsonw_str(w, ev->scores[i].cls, strlen(ev->scores[i].cls));
		jsonw_char(w, ':');
		jsonw_num(w, ev->scores[i].p);
	}
	jsonw_char(w, '}');
	return w->oom ? NULL : arena_strndup(&q->b.arena, w->buf, w->len);
}

static int64_t window_of(const struct ingest *ing, double ts)
{
	return (int64_t)floor(ts / (double)ing->o.window_s) * ing->o.window_s;
}

/* Validates what decoding cannot know (time bounds, sketches) and builds
 * the rows. Returns 0, -1 when out of memory. */
/* Decodes a latency / TTFT / TPOT sketch from the wire. A duration is never
 * negative: the sketch format can hold values < 0 (its negative store), so a
 * sketch with min < 0 is refused here like an undecodable one (-EPROTO). */
static int duration_sketch_decode(const uint8_t *buf, size_t len, struct ddsketch **out)
{
	int rc = ddsketch_decode(buf, len, out);

	if (rc == 0 && ddsketch_count(*out) > 0 && ddsketch_min(*out) < 0) {
		ddsketch_free(*out);
		*out = NULL;
		rc = -EPROTO;
	}
	return rc;
}

static int prepare(struct ingest *ing, struct req *q, struct jsonw *w, struct featcodec_enc *enc)
{
	struct wire_batch *b = &q->b;
	double now = q->received;
	double oldest = now - ing->o.retention_raw_s;
	double oldest_window = now - ing->o.retention_windows_s;
	size_t n = b->n_events;

	q->rejected = (uint32_t)b->n_invalid;
	q->item_rejects[REJ_INVALID_ITEM] = (uint32_t)b->n_invalid;
	if (n) {
		q->window_start = arena_alloc(&b->arena, n * sizeof(*q->window_start));
		q->features = arena_alloc(&b->arena, n * sizeof(*q->features));
		q->features_len = arena_alloc(&b->arena, n * sizeof(*q->features_len));
		q->scores_json = arena_alloc(&b->arena, n * sizeof(*q->scores_json));
		if (!q->window_start || !q->features || !q->features_len || !q->scores_json)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct event *ev = &b->events[i];
		if (ev->ts > now + ing->o.future_max_s) {
			q->item_rejects[REJ_FUTURE]++;
			q->rejected++;
			continue;
		}
		if (ev->ts < oldest) {
			q->item_rejects[REJ_TOO_OLD]++;
			q->rejected++;
			continue;
		}
		size_t k = q->n_events;
		int frc = features_blob(q, ev, enc, &q->features[k], &q->features_len[k]);
		if (frc == -EINVAL) {
			log_warn("ingest", "event refused reason=invalid_item detail=\"features "
			                   "beyond the storage format's bounds\"");
			q->item_rejects[REJ_INVALID_ITEM]++;
			q->rejected++;
			continue;
		}
		if (frc)
			return -1;
		q->n_events++;
		if (k != i)
			b->events[k] = *ev;
		q->window_start[k] = window_of(ing, b->events[k].ts);
		q->scores_json[k] = scores_json(q, &b->events[k], w);
		if (b->events[k].n_scores && !q->scores_json[k])
			return -1;
	}
	for (size_t i = 0; i < b->n_labels; i++)
		if (!b->labels[i].ts_given)
			b->labels[i].ts = now;
	if (b->n_summaries) {
		q->sketches = calloc(b->n_summaries, sizeof(*q->sketches));
		q->ttft = calloc(b->n_summaries, sizeof(*q->ttft));
		q->tpot = calloc(b->n_summaries, sizeof(*q->tpot));
		if (!q->sketches || !q->ttft || !q->tpot)
			return -1;
	}
	for (size_t i = 0; i < b->n_summaries; i++) {
		struct wire_summary *s = &b->summaries[i];
		if ((double)s->second > now + ing->o.future_max_s) {
			q->item_rejects[REJ_FUTURE]++;
			q->rejected++;
			continue;
		}
		if ((double)s->second + 1 < oldest_window) {
			q->item_rejects[REJ_TOO_OLD]++;
			q->rejected++;
			continue;
		}
		size_t k = q->n_summaries++;
		if (k != i)
			b->summaries[k] = *s;
		if (b->summaries[k].sketch &&
		    duration_sketch_decode(b->summaries[k].sketch, b->summaries[k].sketch_len,
		                           &q->sketches[k]) != 0) {
			/* The counts are still good: keep them, lose only
			 * the latency of this second, and say so. */
			q->sketches[k] = NULL;
			q->item_rejects[REJ_BAD_SKETCH]++;
			q->rejected++;
		}
		/* Likewise for the LLM sketches: a bad one loses only itself. */
		if ((b->summaries[k].ttft &&
		     duration_sketch_decode(b->summaries[k].ttft, b->summaries[k].ttft_len,
		                            &q->ttft[k]) != 0) ||
		    (b->summaries[k].tpot &&
		     duration_sketch_decode(b->summaries[k].tpot, b->summaries[k].tpot_len,
		                            &q->tpot[k]) != 0)) {
			ddsketch_free(q->ttft[k]);
			ddsketch_free(q->tpot[k]);
			q->ttft[k] = q->tpot[k] = NULL;
			q->item_rejects[REJ_BAD_SKETCH]++;
			q->rejected++;
		}
	}
	return 0;
}

static void req_free(struct req *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n_summaries; i++) {
		ddsketch_free(q->sketches[i]);
		ddsketch_free(q->ttft[i]);
		ddsketch_free(q->tpot[i]);
	}
	free(q->sketches);
	free(q->ttft);
	free(q->tpot);
	wire_batch_free(&q->b);
	free(q);
}

int ingest_handle(struct ingest *ing, const uint8_t *buf, size_t len, uint8_t **reply,
                  size_t *reply_len)
{
	char err[256];
	struct req *q = NULL;
	struct jsonw w;
	struct featcodec_enc enc;
	struct wire_reply r = {0};
	int rc;

	*reply = NULL;
	*reply_len = 0;
	if (len > ing->o.max_message) {
		count_reject(ing, REJ_OVERSIZED, 1);
		snprintf(err, sizeof(err), "batch of %zu bytes exceeds max_message %zu", len,
		         ing->o.max_message);
		log_warn("ingest", "batch rejected reason=oversized bytes=%zu", len);
		return reply_status(0, WIRE_INVALID, err, reply, reply_len);
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return reply_status(0, WIRE_BUSY, "out of memory", reply, reply_len);
	q->received = clock_now();
	if (wire_decode_batch(buf, len, ing->o.max_message, &q->b, err, sizeof(err)) != 0) {
		bool version = strstr(err, "protocol version") != NULL;
		free(q);
		count_reject(ing, version ? REJ_VERSION : REJ_MALFORMED, 1);
		log_warn("ingest", "batch rejected reason=%s detail=\"%s\"",
		         version ? "version" : "malformed", err);
		return reply_status(0, version ? WIRE_VERSION : WIRE_INVALID, err, reply,
		                    reply_len);
	}
	if (!token_ok(ing, &q->b)) {
		char id[160];
		count_reject(ing, REJ_UNAUTHORIZED, 1);
		log_warn("ingest", "batch rejected reason=unauthorized agent=%s seq=%llu",
		         log_quote(id, sizeof(id), q->b.agent_id), (unsigned long long)q->b.seq);
		rc =
		    reply_status(q->b.seq, WIRE_UNAUTHORIZED,
		                 q->b.token ? "invalid token" : "token required", reply, reply_len);
		req_free(q);
		return rc;
	}
	jsonw_init(&w);
	featcodec_enc_init(&enc);
	rc = prepare(ing, q, &w, &enc);
	featcodec_enc_fini(&enc);
	jsonw_fini(&w);
	if (rc) {
		rc = reply_status(q->b.seq, WIRE_BUSY, "out of memory", reply, reply_len);
		count_reject(ing, REJ_BUSY, 1);
		req_free(q);
		return rc;
	}

	pthread_mutex_lock(&ing->mu);
	if (ing->stopping) {
		pthread_mutex_unlock(&ing->mu);
		count_reject(ing, REJ_BUSY, 1);
		rc = reply_status(q->b.seq, WIRE_BUSY, "collector shutting down", reply, reply_len);
		req_free(q);
		return rc;
	}
	if (ing->tail)
		ing->tail->next = q;
	else
		ing->head = q;
	ing->tail = q;
	ing->queued++;
	pthread_cond_signal(&ing->work_cv);
	while (!q->done)
		pthread_cond_wait(&ing->done_cv, &ing->mu);
	pthread_mutex_unlock(&ing->mu);

	r.seq = q->b.seq;
	r.status = q->status;
	r.duplicate = q->duplicate;
	r.stored = q->stored;
	r.rejected = q->rejected;
	snprintf(r.message, sizeof(r.message), "%s", q->message);
	rc = reply_encode(&r, reply, reply_len);
	req_free(q);
	return rc;
}

/* ---- writer side ------------------------------------------------------------ */

struct wdelta {
	int64_t model_id, start;
	uint64_t count, errors, sampled, labelled;
	double last;          /* newest event time seen, for models.last_event */
	struct ddsketch *lat; /* owned */
	/* LLM serving (issue 15); sketches owned, NULL until needed */
	uint64_t llm, in_tokens, out_tokens;
	struct ddsketch *ttft, *tpot;
	struct wire_finish fin[WIRE_FINISH_MAX]; /* reasons point into the batch */
	size_t n_fin;
};

struct wmap {
	struct wdelta *v;
	size_t n, cap;
};

static struct wdelta *wmap_get(struct wmap *m, int64_t model_id, int64_t start)
{
	for (size_t i = m->n; i-- > 0;)
		if (m->v[i].model_id == model_id && m->v[i].start == start)
			return &m->v[i];
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		struct wdelta *nv = realloc(m->v, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		m->v = nv;
		m->cap = ncap;
	}
	memset(&m->v[m->n], 0, sizeof(m->v[0]));
	m->v[m->n].model_id = model_id;
	m->v[m->n].start = start;
	return &m->v[m->n++];
}

static void wmap_clear(struct wmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		ddsketch_free(m->v[i].lat);
		ddsketch_free(m->v[i].ttft);
		ddsketch_free(m->v[i].tpot);
	}
	m->n = 0;
}

/* Merges src (may be NULL) into *dst, allocating it. */
static int merge_owned(struct ddsketch **dst, const struct ddsketch *src)
{
	if (!src)
		return 0;
	if (!*dst && !(*dst = ddsketch_new()))
		return -1;
	return ddsketch_merge(*dst, src) ? -1 : 0;
}

/* The writer thread's CPU time: under load a wall clock would count the
 * time other threads held the core. */
static double wprof_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Ends the writer's current stage: its CPU time since the last mark. */
static void wprof_mark(struct ingest *ing, enum wstage st)
{
	double now = wprof_now();

	ing->prof.t[st] += now - ing->prof.mark;
	ing->prof.mark = now;
}

static void wprof_log(const struct ingest *ing, enum log_level level)
{
	const struct wprof *p = &ing->prof;
	char line[512];
	size_t k = 0;
	double total = 0;

	if (!p->events)
		return;
	for (int i = 0; i < WS_COUNT; i++) {
		total += p->t[i];
		k += (size_t)snprintf(line + k, sizeof(line) - k, " %s=%.3f", wstage_names[i],
		                      p->t[i] * 1e6 / (double)p->events);
	}
	log_msg(level, "ingest",
	        "writer CPU per event us total=%.3f%s groups=%llu events=%llu lookups=%llu",
	        total * 1e6 / (double)p->events, line, (unsigned long long)p->groups,
	        (unsigned long long)p->events, (unsigned long long)ing->lookups);
}

static int64_t *pending_slot(struct ingest *ing, int64_t model_id)
{
	if (model_id < 0)
		return NULL;
	if ((size_t)model_id >= ing->pending_cap) {
		size_t ncap = ing->pending_cap ? ing->pending_cap : 64;
		while (ncap <= (size_t)model_id)
			ncap *= 2;
		int64_t *np = realloc(ing->pending, ncap * sizeof(*np));
		if (!np)
			return NULL;
		memset(np + ing->pending_cap, 0, (ncap - ing->pending_cap) * sizeof(*np));
		ing->pending = np;
		ing->pending_cap = ncap;
	}
	return &ing->pending[model_id];
}

static void pending_load_cb(int64_t model_id, int64_t n, void *arg)
{
	int64_t *p = pending_slot(arg, model_id);
	if (p)
		*p = n;
}

/* Reloads the pending-label counts (at start and after a rollback). When
 * the reload fails every model is assumed to have some, which only costs
 * lookups. */
static void pending_reload(struct ingest *ing)
{
	if (ing->pending)
		memset(ing->pending, 0, ing->pending_cap * sizeof(*ing->pending));
	if (store_ingest_pending_counts(ing->si, pending_load_cb, ing) != 0)
		for (size_t i = 0; i < ing->pending_cap; i++)
			ing->pending[i] = 1;
}

struct join_ctx {
	struct ingest *ing;
	struct wmap *m;
	int64_t model_id;
	int err;
};

static void joined_cb(int64_t window_start, bool was_unlabelled, void *arg)
{
	struct join_ctx *j = arg;
	struct wdelta *d = wmap_get(j->m, j->model_id, window_start);
	if (!d) {
		j->err = -1;
		return;
	}
	if (was_unlabelled)
		d->labelled++;
}

/* Claims the batch's (agent_id, seq) and, when it is new, appends its
 * events to the group's rows (ing->rows from *nrows on). 0 or -1. */
static int claim(struct ingest *ing, struct req *q, double now, size_t *nrows)
{
	struct store_ingest *si = ing->si;
	struct wire_batch *b = &q->b;
	int64_t model_id = 0;
	const char *last_model = NULL;
	size_t need = *nrows + q->n_events;
	int rc;

	q->dup_events = 0; /* a retried transaction counts again */
	rc = store_ingest_seen(si, b->agent_id, b->seq, now);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		q->duplicate = true;
		return 0;
	}
	if (need > ing->rows_cap) {
		size_t ncap = ing->rows_cap ? ing->rows_cap : 1024;
		while (ncap < need)
			ncap *= 2;
		struct store_event_row *nr = realloc(ing->rows, ncap * sizeof(*nr));
		if (nr)
			ing->rows = nr;
		bool *nd = realloc(ing->dup, ncap * sizeof(*nd));
		if (nd)
			ing->dup = nd;
		bool *nk = realloc(ing->known_new, ncap * sizeof(*nk));
		if (nk)
			ing->known_new = nk;
		struct req **nq = realloc(ing->row_req, ncap * sizeof(*nq));
		if (nq)
			ing->row_req = nq;
		if (!nr || !nd || !nk || !nq)
			return -1;
		ing->rows_cap = ncap;
	}
	for (size_t i = 0; i < q->n_events; i++) {
		const struct event *ev = &b->events[i];

		if (!last_model || strcmp(last_model, ev->model) != 0) {
			if (store_ingest_model(si, ev->model, now, &model_id))
				return -1;
			last_model = ev->model;
		}
		ing->row_req[*nrows] = q;
		ing->rows[(*nrows)++] = (struct store_event_row){
		    .model_id = model_id,
		    .req_id = ev->id,
		    .ts = ev->ts,
		    .window_start = q->window_start[i],
		    .has_latency = ev->has_latency,
		    .latency_ms = ev->latency_ms,
		    .error = ev->error,
		    .version = ev->version,
		    .features = q->features[i],
		    .features_len = q->features_len[i],
		    .prediction = ev->prediction,
		    .has_score = ev->has_score,
		    .score = ev->score,
		    .scores_json = q->scores_json[i],
		    .label = ev->label,
		    .label_ts = ev->ts,
		};
	}
	return 0;
}

/* Stores the group's events as one set: one duplicate lookup and one bulk
 * load (a binary COPY on PostgreSQL: thousands of rows in one round trip)
 * rather than two statements per event. Labels stored after this see them.
 * 0 or -1. */
static int store_events(struct ingest *ing, size_t n, struct wmap *m)
{
	struct store_ingest *si = ing->si;
	int rc;

	/* A repeated (model, id) within the label horizon is a resend or a
	 * client bug: keep the first, so that a label joins exactly one
	 * event. */
	for (size_t i = 0; i < n; i++) {
		const struct store_event_row *row = &ing->rows[i];
		ing->known_new[i] =
		    row->req_id &&
		    seenfilter_certainly_new(ing->seen, row->model_id, row->req_id,
		                             strlen(row->req_id), row->ts, ing->o.label_ttl_s);
		ing->lookups += row->req_id && !ing->known_new[i];
	}
	if (store_ingest_events_dedupe(si, ing->rows, n, ing->o.label_ttl_s, ing->known_new,
	                               ing->dup))
		return -1;
	if (ing->seen) {
		/* before the insert: a rolled-back group only leaves pairs that
		 * make the filter say "maybe" */
		double mono = clock_mono();
		for (size_t i = 0; i < n; i++)
			if (ing->rows[i].req_id && !ing->dup[i])
				seenfilter_add(ing->seen, ing->rows[i].model_id,
				               ing->rows[i].req_id, strlen(ing->rows[i].req_id),
				               ing->rows[i].ts, mono);
	}
	wprof_mark(ing, WS_DEDUPE);
	for (size_t i = 0; i < n; i++) {
		struct store_event_row *row = &ing->rows[i];
		int64_t *pend;

		if (ing->dup[i]) {
			ing->row_req[i]->dup_events++;
			continue;
		}
		pend = row->req_id ? pending_slot(ing, row->model_id) : NULL;
		if (row->req_id && (!pend || *pend > 0)) {
			struct value lv;
			double lts;
			char lbuf[EVENT_CATEGORY_MAX + 8];
			rc = store_ingest_take_pending(si, row->model_id, row->req_id, &lv, &lts,
			                               lbuf, sizeof(lbuf));
			if (rc < 0)
				return -1;
			/* the row is stored after this loop: its label too */
			if (rc == 1 && lv.kind == VALUE_STRING &&
			    !(lv.str =
			          arena_strndup(&ing->row_req[i]->b.arena, lbuf, strlen(lbuf))))
				return -1;
			if (rc == 1) {
				if (pend && *pend > 0)
					(*pend)--;
				atomic_fetch_add(&ing->stats.labels_joined, 1);
				/* A late label is newer than one sent with the
				 * event. */
				row->label = lv;
				row->label_ts = lts;
			}
		}
	}
	wprof_mark(ing, WS_PENDING);
	if (store_ingest_events_insert(si, ing->rows, n, ing->dup))
		return -1;
	wprof_mark(ing, WS_INSERT);
	for (size_t i = 0; i < n; i++) {
		struct wdelta *d;

		if (ing->dup[i])
			continue;
		d = wmap_get(m, ing->rows[i].model_id, ing->rows[i].window_start);
		if (!d)
			return -1;
		d->sampled++;
		if (ing->rows[i].ts > d->last)
			d->last = ing->rows[i].ts;
		if (ing->rows[i].label.kind != VALUE_NONE)
			d->labelled++;
	}
	wprof_mark(ing, WS_TALLY);
	return 0;
}

/* The rest of one new batch (labels, per-second summaries) inside the open
 * transaction, after the group's events. Returns 0 or -1. */
static int store_req(struct ingest *ing, struct req *q, struct wmap *m, double now)
{
	struct store_ingest *si = ing->si;
	struct wire_batch *b = &q->b;
	int64_t model_id = 0;
	const char *last_model = NULL;
	int rc;

	for (size_t i = 0; i < b->n_labels; i++) {
		const struct label *l = &b->labels[i];
		struct join_ctx j = {ing, m, 0, 0};
		if (store_ingest_model(si, l->model, now, &j.model_id))
			return -1;
		rc =
		    store_ingest_join_label(si, j.model_id, l->id, &l->label, l->ts, joined_cb, &j);
		if (rc < 0 || j.err)
			return -1;
		if (rc > 0) {
			atomic_fetch_add(&ing->stats.labels_joined, 1);
			continue;
		}
		if (store_ingest_pending_add(si, j.model_id, l->id, &l->label, l->ts,
		                             now + ing->o.label_ttl_s))
			return -1;
		int64_t *pend = pending_slot(ing, j.model_id);
		if (pend)
			(*pend)++;
		atomic_fetch_add(&ing->stats.labels_pending, 1);
	}
	last_model = NULL;
	for (size_t i = 0; i < q->n_summaries; i++) {
		const struct wire_summary *s = &b->summaries[i];
		struct wdelta *d;
		if (!last_model || strcmp(last_model, s->model) != 0) {
			if (store_ingest_model(si, s->model, now, &model_id))
				return -1;
			last_model = s->model;
		}
		d = wmap_get(m, model_id, window_of(ing, (double)s->second));
		if (!d)
			return -1;
		d->count += s->count;
		d->errors += s->errors;
		if (q->sketches[i]) {
			if (!d->lat && !(d->lat = ddsketch_new()))
				return -1;
			if (ddsketch_merge(d->lat, q->sketches[i]))
				return -1;
		}
		if ((double)s->second > d->last)
			d->last = (double)s->second;
		d->llm += s->llm;
		d->in_tokens += s->input_tokens;
		d->out_tokens += s->output_tokens;
		for (size_t f = 0; f < s->n_finish; f++) {
			size_t k = 0;
			while (k < d->n_fin && strcmp(d->fin[k].reason, s->finish[f].reason) != 0)
				k++;
			if (k == d->n_fin) {
				if (d->n_fin == WIRE_FINISH_MAX)
					continue; /* a window of many agents' reasons: keep the
					             first */
				d->fin[d->n_fin++] = (struct wire_finish){s->finish[f].reason, 0};
			}
			d->fin[k].count += s->finish[f].count;
		}
		if (merge_owned(&d->ttft, q->ttft[i]) || merge_owned(&d->tpot, q->tpot[i]))
			return -1;
	}
	q->stored = (uint32_t)q->n_events;
	return 0;
}

static int wdelta_cmp(const void *a, const void *b)
{
	const struct wdelta *x = a, *y = b;

	if (x->model_id != y->model_id)
		return x->model_id < y->model_id ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int req_agent_cmp(const void *a, const void *b)
{
	const struct req *x = *(const struct req *const *)a, *y = *(const struct req *const *)b;
	int c = strcmp(x->b.agent_id, y->b.agent_id);

	return c ? c : (x->b.seq < y->b.seq ? -1 : x->b.seq > y->b.seq);
}

/* The rows every batch of the group adds to, written once per group and in
 * one order (windows and their LLM rows by model and start, models by id,
 * agents by id, meta): collectors sharing a PostgreSQL then take the row
 * locks in the same order and cannot deadlock, and each row is written once
 * per group rather than once per batch. */
static int store_shared(struct ingest *ing, struct req **reqs, size_t n, struct wmap *m, double now)
{
	struct store_ingest *si = ing->si;
	struct req **byagent;
	size_t k = 0;
	int rc = -1;

	if (m->n > 1) /* m->v is NULL while nothing was ever added */
		qsort(m->v, m->n, sizeof(*m->v), wdelta_cmp);
	for (size_t i = 0; i < m->n; i++) {
		struct store_window_delta wd = {
		    .model_id = m->v[i].model_id,
		    .start = m->v[i].start,
		    .end = m->v[i].start + ing->o.window_s,
		    .count = m->v[i].count,
		    .errors = m->v[i].errors,
		    .sampled = m->v[i].sampled,
		    .labelled = m->v[i].labelled,
		    .latency = m->v[i].lat,
		};
		if (store_ingest_window_add(si, &wd))
			return -1;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (!m->v[i].llm)
			continue;
		struct store_llm_delta ld = {
		    .model_id = m->v[i].model_id,
		    .start = m->v[i].start,
		    .llm = m->v[i].llm,
		    .input_tokens = m->v[i].in_tokens,
		    .output_tokens = m->v[i].out_tokens,
		    .ttft = m->v[i].ttft,
		    .tpot = m->v[i].tpot,
		    .finish = m->v[i].fin,
		    .n_finish = m->v[i].n_fin,
		};
		if (store_ingest_llm_add(si, &ld))
			return -1;
	}
	/* models.last_event: the newest time of each model (sorted by id) */
	for (size_t i = 0; i < m->n;) {
		double last = 0;
		size_t j = i;
		for (; j < m->n && m->v[j].model_id == m->v[i].model_id; j++)
			if (m->v[j].last > last)
				last = m->v[j].last;
		if (last > 0 && store_ingest_model_seen(si, m->v[i].model_id, last))
			return -1;
		i = j;
	}
	byagent = malloc(n * sizeof(*byagent));
	if (!byagent)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!reqs[i]->duplicate)
			byagent[k++] = reqs[i];
	if (k > 1)
		qsort(byagent, k, sizeof(*byagent), req_agent_cmp);
	for (size_t i = 0; i < k; i++) {
		const struct req *q = byagent[i];
		if (store_ingest_agent(si, q->b.agent_id, q->b.seq, now, q->n_events, &q->b.stats))
			goto out;
	}
	rc = store_ingest_last_write(si, now);
out:
	free(byagent);
	return rc;
}

static void after_commit(struct ingest *ing, struct req *q)
{
	struct wire_batch *b = &q->b;

	q->status = WIRE_OK;
	atomic_fetch_add(&ing->stats.batches, 1);
	if (q->duplicate) {
		atomic_fetch_add(&ing->stats.duplicates, 1);
		snprintf(q->message, sizeof(q->message), "duplicate of a committed batch");
		return;
	}
	for (int r = 0; r < REJ_COUNT; r++)
		if (q->item_rejects[r])
			count_reject(ing, (enum ingest_reject)r, q->item_rejects[r]);
	atomic_fetch_add(&ing->stats.events, q->n_events - q->dup_events);
	atomic_fetch_add(&ing->stats.duplicate_events, q->dup_events);
	atomic_fetch_add(&ing->stats.labels, b->n_labels);
	atomic_fetch_add(&ing->stats.summaries, q->n_summaries);
	for (size_t i = 0; i < q->n_summaries; i++) {
		const struct wire_summary *s = &b->summaries[i];
		ring_add(ing->c->ring, s->model, s->second, s->count, s->errors, q->sketches[i]);
		if (s->llm)
			ring_add_llm(ing->c->ring, s->model, s->second, s->llm, s->input_tokens,
			             s->output_tokens, q->ttft[i], q->tpot[i]);
		for (size_t f = 0; f < s->n_finish; f++)
			ring_add_finish(ing->c->ring, s->model, s->second, s->finish[f].reason,
			                s->finish[f].count);
	}
	if (q->rejected)
		snprintf(q->message, sizeof(q->message), "%u items refused%s%.180s", q->rejected,
		         b->n_invalid ? ": " : "", b->n_invalid ? b->first_invalid : "");
}

static void observe_commit(struct ingest *ing, double dt)
{
	for (size_t i = 0; i < 8; i++)
		if (dt <= ingest_commit_bounds[i])
			atomic_fetch_add(&ing->stats.commit_buckets[i], 1);
	atomic_fetch_add(&ing->stats.commit_count, 1);
	atomic_fetch_add(&ing->stats.commit_sum_us, (uint64_t)(dt * 1e6));
}

/* One transaction over reqs[0..n). Returns 0 when committed. */
static int commit_group(struct ingest *ing, struct req **reqs, size_t n, struct wmap *m)
{
	double t0 = clock_mono(), now = clock_now();
	size_t nrows = 0;

	wmap_clear(m); /* the group's window deltas, from every batch */
	ing->prof.mark = wprof_now();
	if (store_begin(&ing->st) || store_ingest_sync(ing->si))
		goto fail;
	wprof_mark(ing, WS_BEGIN);
	for (size_t i = 0; i < n; i++)
		if (claim(ing, reqs[i], now, &nrows))
			goto fail;
	wprof_mark(ing, WS_CLAIM);
	if (store_events(ing, nrows, m))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!reqs[i]->duplicate && store_req(ing, reqs[i], m, now))
			goto fail;
	wprof_mark(ing, WS_REST);
	if (store_shared(ing, reqs, n, m, now))
		goto fail;
	wprof_mark(ing, WS_SHARED);
	if (store_commit(&ing->st))
		goto fail;
	wprof_mark(ing, WS_COMMIT);
	ing->prof.events += nrows;
	if (++ing->prof.groups % WPROF_EVERY == 0 && log_get_level() <= LOG_DEBUG)
		wprof_log(ing, LOG_DEBUG);
	atomic_fetch_add(&ing->stats.transactions, 1);
	observe_commit(ing, clock_mono() - t0);
	return 0;
fail:
	log_warn("ingest", "transaction failed batches=%zu error=\"%s\"", n,
	         store_errmsg(&ing->st));
	store_rollback(&ing->st);
	store_ingest_rolled_back(ing->si);
	pending_reload(ing);
	for (size_t i = 0; i < n; i++) {
		reqs[i]->duplicate = false;
		reqs[i]->stored = 0;
	}
	return -1;
}

static void process(struct ingest *ing, struct req **reqs, size_t n, struct wmap *m)
{
	if (commit_group(ing, reqs, n, m) == 0) {
		for (size_t i = 0; i < n; i++)
			after_commit(ing, reqs[i]);
	} else {
		/* One bad batch must not hold back the others: retry each
		 * alone; the one that still fails is answered BUSY and sent
		 * again by its agent. */
		for (size_t i = 0; i < n; i++) {
			if (n > 1 && commit_group(ing, &reqs[i], 1, m) == 0) {
				after_commit(ing, reqs[i]);
				continue;
			}
			reqs[i]->status = WIRE_BUSY;
			snprintf(reqs[i]->message, sizeof(reqs[i]->message),
			         "database error; resend");
			count_reject(ing, REJ_BUSY, 1);
		}
	}
	wmap_clear(m);
}

/* The store's size for /metrics (mlwatch_collector_db_bytes). */
static void measure_size(struct ingest *ing)
{
	int64_t n;

	if (store_size(&ing->st, &n) == 0)
		atomic_store(&ing->stats.db_bytes, n);
}

static void retention(struct ingest *ing)
{
	double now = clock_now();
	struct store_retention r = {
	    .raw_before = now - ing->o.retention_raw_s,
	    .windows_before = (int64_t)floor(now - ing->o.retention_windows_s),
	    .seen_before = now - ing->o.seen_keep_s,
	    .now = now,
	    .chunk = 5000,
	};
	struct store_retention_done d;
	int rc;

	if (!ing->retention_more)
		measure_size(ing); /* once per pass, not per step */
	if (store_begin(&ing->st))
		return;
	rc = store_ingest_retention_step(ing->si, &r, &d);
	if (rc < 0 || store_commit(&ing->st)) {
		log_warn("ingest", "retention step failed error=\"%s\"", store_errmsg(&ing->st));
		store_rollback(&ing->st);
		store_ingest_rolled_back(ing->si);
		ing->retention_more = false;
		return;
	}
	if (d.labels_expired) {
		atomic_fetch_add(&ing->stats.labels_expired, (uint64_t)d.labels_expired);
		log_info("ingest", "pending labels expired count=%lld",
		         (long long)d.labels_expired);
		pending_reload(ing);
	}
	atomic_fetch_add(&ing->stats.retention_deleted,
	                 (uint64_t)(d.events + d.windows + d.seen + d.labels_expired));
	ing->retention_more = rc == 1 && (d.events || d.windows || d.seen || d.labels_expired);
}

static void *writer_main(void *arg)
{
	struct ingest *ing = arg;
	size_t max_group = ing->o.max_group ? ing->o.max_group : 64;
	struct req **reqs = calloc(max_group, sizeof(*reqs));
	struct wmap m = {0};

	pthread_setname_np(pthread_self(), "mlw-writer");
	if (!reqs) {
		log_error("ingest", "writer out of memory");
		return NULL;
	}
	for (;;) {
		size_t n = 0, events = 0;
		bool stop;

		pthread_mutex_lock(&ing->mu);
		while (!ing->head && !ing->stopping && !ing->retention_more &&
		       clock_mono() < ing->next_retention) {
			struct timespec ts;
			/* a real second: a wall clock set back must not hold the
			 * retention pass */
			clock_mono_deadline(1.0, &ts);
			pthread_cond_timedwait(&ing->work_cv, &ing->mu, &ts);
		}
		/* Group what is queued, bounded so one transaction stays
		 * short. */
		while (ing->head && n < max_group && events < 50000) {
			struct req *q = ing->head;
			ing->head = q->next;
			if (!ing->head)
				ing->tail = NULL;
			q->next = NULL;
			ing->queued--;
			reqs[n++] = q;
			events += q->n_events + q->b.n_labels + 1;
		}
		stop = ing->stopping && !ing->head;
		pthread_mutex_unlock(&ing->mu);

		if (n) {
			process(ing, reqs, n, &m);
			pthread_mutex_lock(&ing->mu);
			for (size_t i = 0; i < n; i++)
				reqs[i]->done = true;
			pthread_cond_broadcast(&ing->done_cv);
			pthread_mutex_unlock(&ing->mu);
		}
		if (stop && n == 0)
			break;
		/* Retention interleaves with batches: one small step per
		 * loop while there is backlog, so ingest never waits long. */
		if (!stop && (ing->retention_more || clock_mono() >= ing->next_retention)) {
			if (!ing->retention_more)
				ing->next_retention =
				    clock_mono() + (ing->o.retention_interval_s > 0
				                        ? ing->o.retention_interval_s
				                        : 10);
			retention(ing);
		}
	}
	wmap_clear(&m);
	free(m.v);
	free(reqs);
	return NULL;
}

/* Windows are keyed by their start: a database written with one window
 * length cannot be continued with another. */
static int check_window(struct ingest *ing, char *err, size_t errlen)
{
	char buf[32], *end;
	long long w;

	if (store_meta_get(&ing->st, "window_seconds", buf, sizeof(buf)) == 0) {
		w = strtoll(buf, &end, 10);
		if (*end || w != ing->o.window_s) {
			snprintf(err, errlen,
			         "%s was written with window = %ss; start with --window %ss or use "
			         "another --db",
			         ing->st.path, buf, buf);
			return -1;
		}
		return 0;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)ing->o.window_s);
	if (store_meta_set(&ing->st, "window_seconds", buf)) {
		snprintf(err, errlen, "%s: cannot write: %s", ing->st.path, store_errmsg(&ing->st));
		return -1;
	}
	return 0;
}

/* Events loaded into the duplicate filter at start, at most (a larger
 * store starts with the filter covering only what comes next). */
#define SEEN_LOAD_MAX 4000000

struct seen_load {
	struct seenfilter *f;
	double mono; /* the generation's start */
};

static void seen_load_cb(int64_t model_id, const char *req_id, double ts, void *arg)
{
	struct seen_load *l = arg;

	if (req_id)
		seenfilter_add(l->f, model_id, req_id, strlen(req_id), ts, l->mono);
}

/* The duplicate filter. It must hold every stored pair it answers for:
 * the events stored within label_ttl (and 10 minutes of lateness) of now
 * are loaded into it, whole windows from `from` on, so it covers every ts
 * from there; more than SEEN_LOAD_MAX of them, or a failed read, and it
 * covers only events after the newest stored window. A generation spans
 * label_ttl and future_max plus ten minutes, so that events up to ten
 * minutes late are still answered after a rotation. */
static int seen_start(struct ingest *ing, char *err, size_t errlen)
{
	struct seenfilter_opts so = {
	    .first_bytes = SEENFILTER_FIRST_BYTES,
	    .max_bytes = SEENFILTER_MAX_BYTES,
	    .span_s = ing->o.label_ttl_s + ing->o.future_max_s + 600,
	};
	int64_t newest, n = 0, from = window_of(ing, clock_now() - ing->o.label_ttl_s - 600);
	int rc = store_ingest_events_newest_window(ing->si, &newest);
	double t0 = clock_mono(), covered;
	bool load;

	if (rc < 0)
		goto fail;
	/* every stored ts is below the newest window's end */
	covered = rc == 0 ? (double)(newest + ing->o.window_s) : -HUGE_VAL;
	load = rc == 0 && newest >= from;
	if (load && store_ingest_events_recent_count(ing->si, from, &n))
		goto fail;
	load = load && n <= SEEN_LOAD_MAX;
	if (load) {
		/* a first generation that holds them with a quarter to spare:
		 * filling it would rotate, and a second rotation drops them */
		while (so.first_bytes < so.max_bytes &&
		       (int64_t)(so.first_bytes / 32 * 24) < n + n / 4)
			so.first_bytes *= 2;
		covered = (double)from; /* a ts after it has a window from `from` on */
	}
	ing->seen = seenfilter_new(&so, covered);
	if (!ing->seen) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (load) {
		struct seen_load l = {ing->seen, clock_mono()};
		if (store_ingest_events_recent(ing->si, from, seen_load_cb, &l))
			goto fail;
		log_info("ingest", "duplicate filter loaded events=%lld seconds=%.3f", (long long)n,
		         clock_mono() - t0);
	} else if (n > SEEN_LOAD_MAX) {
		log_info("ingest",
		         "duplicate filter not loaded: %lld events within label_ttl, more than %d; "
		         "it answers for events after %.0f plus label_ttl",
		         (long long)n, SEEN_LOAD_MAX, covered);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: cannot read the stored events: %s", ing->st.path,
	         store_errmsg(&ing->st));
	return -1;
}

int ingest_start(struct ingest **out, struct collector *c, const struct ingest_opts *o, char *err,
                 size_t errlen)
{
	struct ingest *ing = calloc(1, sizeof(*ing));

	*out = NULL;
	if (!ing) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ing->c = c;
	ing->o = *o;
	if (o->token)
		SHA256((const uint8_t *)o->token, o->token_len, ing->token_hash);
	pthread_mutex_init(&ing->mu, NULL);
	clock_cond_init_mono(&ing->work_cv);
	pthread_cond_init(&ing->done_cv, NULL);
	if (store_open(&ing->st, c->db_path, STORE_RW_CREATE, o->synchronous_full, err, errlen))
		goto fail;
	ing->si = store_ingest_new(&ing->st);
	if (!ing->si) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (check_window(ing, err, errlen))
		goto fail;
	if (!store_is_postgres(&ing->st) && seen_start(ing, err, errlen))
		goto fail;
	if (!store_is_postgres(&ing->st)) {
		char cerr[300];
		/* without it SQLite's own auto-checkpoint stays: slower, not
		 * wrong */
		if (checkpoint_start(&ing->ckpt, c->db_path, cerr, sizeof(cerr)))
			log_warn("ingest", "WAL checkpoints stay on the writer thread: %s", cerr);
		else
			checkpoint_attach(ing->ckpt, &ing->st);
	}
	pending_reload(ing);
	measure_size(ing);
	/* The first retention pass runs a few seconds after start, off the
	 * critical path of the first batches. */
	ing->next_retention = clock_mono() + 2;
	if (pthread_create(&ing->writer, NULL, writer_main, ing) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	ing->writer_started = true;
	*out = ing;
	return 0;
fail:
	ingest_stop(ing);
	return -1;
}

void ingest_stop(struct ingest *ing)
{
	if (!ing)
		return;
	pthread_mutex_lock(&ing->mu);
	ing->stopping = true;
	pthread_cond_broadcast(&ing->work_cv);
	pthread_mutex_unlock(&ing->mu);
	if (ing->writer_started)
		pthread_join(ing->writer, NULL);
	wprof_log(ing, LOG_INFO);
	if (ing->ckpt) {
		struct checkpoint_stats cs;
		checkpoint_stats(ing->ckpt, &cs);
		log_info("ingest",
		         "WAL checkpoints thread_runs=%llu frames_copied=%llu at_cap=%llu "
		         "errors=%llu max_log_frames=%lld",
		         (unsigned long long)cs.runs, (unsigned long long)cs.frames,
		         (unsigned long long)cs.capped, (unsigned long long)cs.errors,
		         (long long)cs.max_log);
	}
	/* no commit can wake it any more: the writer has stopped */
	checkpoint_stop(ing->ckpt);
	store_ingest_free(ing->si);
	store_close(&ing->st);
	free(ing->pending);
	free(ing->rows);
	free(ing->dup);
	free(ing->known_new);
	free(ing->row_req);
	seenfilter_free(ing->seen);
	pthread_cond_destroy(&ing->work_cv);
	pthread_cond_destroy(&ing->done_cv);
	pthread_mutex_destroy(&ing->mu);
	free(ing);
}
