/* fake_collector: see fake_collector.h. */
#include "fake_collector.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddsketch.h"
#include "wire.h"

struct fake_collector {
	char url[256];
	pthread_mutex_t mu;
	pthread_t thread;
	bool running, stop;
	nng_socket sock;
	enum fc_mode mode;
	char *token;

	struct fc_event *ev;
	size_t n_ev, cap_ev;
	struct fc_label *lb;
	size_t n_lb, cap_lb;
	uint64_t *seqs;
	size_t n_seqs, cap_seqs;
	size_t dups, requests, invalid;
	size_t ev_count, lb_count;
	bool lean; /* count only, keep no copies (benchmarks) */
	uint64_t sum_count, sum_errors, sum_sampled, sketch_count;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *print_value(const struct value *v)
{
	char buf[64];
	if (v->kind == VALUE_STRING)
		return strdup(v->str);
	if (v->kind == VALUE_NUMBER) {
		snprintf(buf, sizeof(buf), "%.17g", v->num);
		return strdup(buf);
	}
	return NULL;
}

static bool seen(struct fake_collector *fc, uint64_t seq)
{
	for (size_t i = fc->n_seqs; i > 0; i--)
		if (fc->seqs[i - 1] == seq)
			return true;
	return false;
}

#define GROW(arr, n, cap)                                                \
	do {                                                             \
		if ((n) == (cap)) {                                      \
			size_t nc_ = (cap) ? (cap)*2 : 256;              \
			void *p_ = realloc((arr), nc_ * sizeof(*(arr))); \
			if (!p_)                                         \
				abort();                                 \
			(arr) = p_;                                      \
			(cap) = nc_;                                     \
		}                                                        \
	} while (0)

/* Records a decoded batch (under mu). */
static void record(struct fake_collector *fc, const struct wire_batch *b)
{
	GROW(fc->seqs, fc->n_seqs, fc->cap_seqs);
	fc->seqs[fc->n_seqs++] = b->seq;
	fc->invalid += b->n_invalid;
	fc->ev_count += b->n_events;
	fc->lb_count += b->n_labels;
	for (size_t i = 0; !fc->lean && i < b->n_events; i++) {
		const struct event *e = &b->events[i];
		struct fc_event *r;
		GROW(fc->ev, fc->n_ev, fc->cap_ev);
		r = &fc->ev[fc->n_ev++];
		memset(r, 0, sizeof(*r));
		r->model = strdup(e->model);
		r->id = dup_or_null(e->id);
		r->ts = e->ts;
		r->latency_ms = e->latency_ms;
		r->has_latency = e->has_latency;
		r->score = e->score;
		r->has_score = e->has_score;
		r->error = e->error;
		r->n_features = e->n_features;
		r->seq = b->seq;
		if (e->n_features) {
			char buf[512];
			const struct feature *f = &e->features[0];
			if (f->kind == FEATURE_NUMERIC)
				snprintf(buf, sizeof(buf), "%s=%.17g", f->name, f->num);
			else if (f->kind == FEATURE_CATEGORICAL)
				snprintf(buf, sizeof(buf), "%s=%s", f->name, f->str);
			else
				snprintf(buf, sizeof(buf), "%s=null", f->name);
			r->first_feature = strdup(buf);
		}
		r->prediction = print_value(&e->prediction);
	}
	for (size_t i = 0; !fc->lean && i < b->n_labels; i++) {
		GROW(fc->lb, fc->n_lb, fc->cap_lb);
		fc->lb[fc->n_lb].model = strdup(b->labels[i].model);
		fc->lb[fc->n_lb].id = strdup(b->labels[i].id);
		fc->lb[fc->n_lb].label = print_value(&b->labels[i].label);
		fc->n_lb++;
	}
	for (size_t i = 0; i < b->n_summaries; i++) {
		const struct wire_summary *s = &b->summaries[i];
		fc->sum_count += s->count;
		fc->sum_errors += s->errors;
		fc->sum_sampled += s->sampled;
		if (s->sketch) {
			struct ddsketch *sk = NULL;
			if (ddsketch_decode(s->sketch, s->sketch_len, &sk) == 0)
				fc->sketch_count += ddsketch_count(sk);
			ddsketch_free(sk);
		}
	}
}

static void handle(struct fake_collector *fc, nng_msg *m)
{
	struct wire_batch b;
	struct wire_reply r;
	char err[256];
	uint8_t *out = NULL;
	size_t len = 0;
	bool reply = true;

	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&fc->mu);
	fc->requests++;
	enum fc_mode mode = fc->mode;
	if (wire_decode_batch(nng_msg_body(m), nng_msg_len(m), 0, &b, err, sizeof(err)) != 0) {
		r.status = WIRE_INVALID;
		snprintf(r.message, sizeof(r.message), "%s", err);
	} else {
		r.seq = b.seq;
		if (mode == FC_SILENT) {
			reply = false;
		} else if (mode == FC_BUSY) {
			r.status = WIRE_BUSY;
		} else if (fc->token && (!b.token || b.token_len != strlen(fc->token) ||
		                         memcmp(b.token, fc->token, b.token_len) != 0)) {
			r.status = WIRE_UNAUTHORIZED;
		} else if (seen(fc, b.seq)) {
			fc->dups++;
			r.status = WIRE_OK;
			r.duplicate = true;
		} else {
			record(fc, &b);
			r.status = WIRE_OK;
			r.stored = (uint32_t)b.n_events;
		}
		wire_batch_free(&b);
	}
	pthread_mutex_unlock(&fc->mu);
	nng_msg_free(m);
	if (!reply)
		return;
	if (wire_encode_reply(&r, &out, &len) == 0) {
		nng_msg *rm;
		if (nng_msg_alloc(&rm, 0) == 0) {
			nng_msg_append(rm, out, len);
			if (nng_sendmsg(fc->sock, rm, 0) != 0)
				nng_msg_free(rm);
		}
		free(out);
	}
}

static void *thread_main(void *arg)
{
	struct fake_collector *fc = arg;
	for (;;) {
		nng_msg *m;
		pthread_mutex_lock(&fc->mu);
		bool stop = fc->stop;
		pthread_mutex_unlock(&fc->mu);
		if (stop)
			break;
		int rv = nng_recvmsg(fc->sock, &m, 0);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0)
			break;
		handle(fc, m);
	}
	return NULL;
}

static int open_listen(struct fake_collector *fc)
{
	if (nng_rep0_open(&fc->sock) != 0)
		return -1;
	nng_socket_set_ms(fc->sock, NNG_OPT_RECVTIMEO, 100);
	nng_socket_set_size(fc->sock, NNG_OPT_RECVMAXSZ, WIRE_MAX_MESSAGE);
	/* The port may linger briefly after a stop; retry for a while. */
	for (int i = 0; i < 100; i++) {
		if (nng_listen(fc->sock, fc->url, NULL, 0) == 0) {
			fc->stop = false;
			if (pthread_create(&fc->thread, NULL, thread_main, fc) != 0)
				break;
			fc->running = true;
			return 0;
		}
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	nng_close(fc->sock);
	return -1;
}

struct fake_collector *fc_start(const char *url)
{
	struct fake_collector *fc = calloc(1, sizeof(*fc));
	if (!fc)
		return NULL;
	snprintf(fc->url, sizeof(fc->url), "%s", url);
	pthread_mutex_init(&fc->mu, NULL);
	if (open_listen(fc) != 0) {
		pthread_mutex_destroy(&fc->mu);
		free(fc);
		return NULL;
	}
	return fc;
}

void fc_stop(struct fake_collector *fc)
{
	if (!fc->running)
		return;
	pthread_mutex_lock(&fc->mu);
	fc->stop = true;
	pthread_mutex_unlock(&fc->mu);
	pthread_join(fc->thread, NULL);
	nng_close(fc->sock);
	fc->running = false;
}

int fc_restart(struct fake_collector *fc)
{
	if (fc->running)
		return 0;
	return open_listen(fc);
}

void fc_events_free(struct fc_event *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].model);
		free(v[i].id);
		free(v[i].first_feature);
		free(v[i].prediction);
	}
	free(v);
}

void fc_labels_free(struct fc_label *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].model);
		free(v[i].id);
		free(v[i].label);
	}
	free(v);
}

void fc_free(struct fake_collector *fc)
{
	if (!fc)
		return;
	fc_stop(fc);
	fc_events_free(fc->ev, fc->n_ev);
	fc_labels_free(fc->lb, fc->n_lb);
	free(fc->seqs);
	free(fc->token);
	pthread_mutex_destroy(&fc->mu);
	free(fc);
}

void fc_set_mode(struct fake_collector *fc, enum fc_mode m)
{
	pthread_mutex_lock(&fc->mu);
	fc->mode = m;
	pthread_mutex_unlock(&fc->mu);
}

void fc_set_lean(struct fake_collector *fc, bool lean)
{
	pthread_mutex_lock(&fc->mu);
	fc->lean = lean;
	pthread_mutex_unlock(&fc->mu);
}

void fc_set_token(struct fake_collector *fc, const char *token)
{
	pthread_mutex_lock(&fc->mu);
	free(fc->token);
	fc->token = token ? strdup(token) : NULL;
	pthread_mutex_unlock(&fc->mu);
}

#define GETTER(name, type, field)              \
	type name(struct fake_collector *fc)   \
	{                                      \
		pthread_mutex_lock(&fc->mu);   \
		type v = (type)fc->field;      \
		pthread_mutex_unlock(&fc->mu); \
		return v;                      \
	}

GETTER(fc_batches, size_t, n_seqs)
GETTER(fc_duplicates, size_t, dups)
GETTER(fc_requests, size_t, requests)
GETTER(fc_events, size_t, ev_count)
GETTER(fc_labels, size_t, lb_count)
GETTER(fc_invalid, size_t, invalid)
GETTER(fc_summary_count, uint64_t, sum_count)
GETTER(fc_summary_errors, uint64_t, sum_errors)
GETTER(fc_summary_sampled, uint64_t, sum_sampled)
GETTER(fc_sketch_count, uint64_t, sketch_count)

bool fc_wait_events(struct fake_collector *fc, size_t n, double timeout_s)
{
	double end = now_s() + timeout_s;
	while (fc_events(fc) < n) {
		if (now_s() > end)
			return false;
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return true;
}

bool fc_wait_counted(struct fake_collector *fc, uint64_t n, double timeout_s)
{
	double end = now_s() + timeout_s;
	while (fc_summary_count(fc) < n) {
		if (now_s() > end)
			return false;
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return true;
}

struct fc_event *fc_events_copy(struct fake_collector *fc, size_t *n)
{
	pthread_mutex_lock(&fc->mu);
	struct fc_event *v = calloc(fc->n_ev + 1, sizeof(*v));
	for (size_t i = 0; v && i < fc->n_ev; i++) {
		v[i] = fc->ev[i];
		v[i].model = dup_or_null(fc->ev[i].model);
		v[i].id = dup_or_null(fc->ev[i].id);
		v[i].first_feature = dup_or_null(fc->ev[i].first_feature);
		v[i].prediction = dup_or_null(fc->ev[i].prediction);
	}
	*n = v ? fc->n_ev : 0;
	pthread_mutex_unlock(&fc->mu);
	return v;
}

struct fc_label *fc_labels_copy(struct fake_collector *fc, size_t *n)
{
	pthread_mutex_lock(&fc->mu);
	struct fc_label *v = calloc(fc->n_lb + 1, sizeof(*v));
	for (size_t i = 0; v && i < fc->n_lb; i++) {
		v[i].model = dup_or_null(fc->lb[i].model);
		v[i].id = dup_or_null(fc->lb[i].id);
		v[i].label = dup_or_null(fc->lb[i].label);
	}
	*n = v ? fc->n_lb : 0;
	pthread_mutex_unlock(&fc->mu);
	return v;
}

uint64_t *fc_seqs_copy(struct fake_collector *fc, size_t *n)
{
	pthread_mutex_lock(&fc->mu);
	uint64_t *v = malloc((fc->n_seqs + 1) * sizeof(*v));
	if (v)
		memcpy(v, fc->seqs, fc->n_seqs * sizeof(*v));
	*n = v ? fc->n_seqs : 0;
	pthread_mutex_unlock(&fc->mu);
	return v;
}
