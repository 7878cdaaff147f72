/* wire_client: see wire_client.h. */
#include "wire_client.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"

struct wc_client {
	nng_socket sock;
	nng_dialer d;
	nng_tls_config *tls;
};

int wc_open(struct wc_client **out, const char *url, const struct wc_tls *tls, double timeout_s,
            char *err, size_t errlen)
{
	struct wc_client *c = calloc(1, sizeof(*c));
	int rv;

	*out = NULL;
	if (!c)
		return -1;
	if ((rv = nng_req0_open(&c->sock)) != 0)
		goto fail;
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, (nng_duration)(timeout_s * 1000));
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, (nng_duration)(timeout_s * 1000));
	/* Tests check what the collector answers; no resends hiding it. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, (nng_duration)(timeout_s * 2000));
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 200);
	if ((rv = nng_dialer_create(&c->d, c->sock, url)) != 0)
		goto fail;
	if (tls) {
		if ((rv = nng_tls_config_alloc(&c->tls, NNG_TLS_MODE_CLIENT)) != 0)
			goto fail;
		if (tls->ca && (rv = nng_tls_config_ca_file(c->tls, tls->ca)) != 0)
			goto fail;
		nng_tls_config_auth_mode(c->tls, tls->ca ? NNG_TLS_AUTH_MODE_REQUIRED
		                                         : NNG_TLS_AUTH_MODE_NONE);
		if (tls->cert) {
			/* nng wants cert and key in one file */
			FILE *fc = fopen(tls->cert, "rb"), *fk = fopen(tls->key, "rb");
			char cb[16384] = {0}, kb[16384] = {0};
			size_t nc = fc ? fread(cb, 1, sizeof(cb) - 1, fc) : 0;
			size_t nk = fk ? fread(kb, 1, sizeof(kb) - 1, fk) : 0;
			if (fc)
				fclose(fc);
			if (fk)
				fclose(fk);
			if (!nc || !nk) {
				rv = NNG_EINVAL;
				goto fail;
			}
			if ((rv = nng_tls_config_own_cert(c->tls, cb, kb, NULL)) != 0)
				goto fail;
		}
		nng_tls_config_server_name(c->tls,
		                           tls->server_name ? tls->server_name : "localhost");
		if ((rv = nng_dialer_set_ptr(c->d, NNG_OPT_TLS_CONFIG, c->tls)) != 0)
			goto fail;
	}
	/* Non-blocking: the socket keeps trying, so a test can start the
	 * client before the collector is up. */
	if ((rv = nng_dialer_start(c->d, NNG_FLAG_NONBLOCK)) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", url, nng_strerror(rv));
	wc_close(c);
	return -1;
}

void wc_close(struct wc_client *c)
{
	if (!c)
		return;
	nng_close(c->sock);
	if (c->tls)
		nng_tls_config_free(c->tls);
	free(c);
}

int wc_request(struct wc_client *c, const uint8_t *buf, size_t len, struct wire_reply *reply,
               char *err, size_t errlen)
{
	void *rbuf = NULL;
	size_t rlen = 0;
	int rv;

	if ((rv = nng_send(c->sock, (void *)buf, len, 0)) != 0) {
		snprintf(err, errlen, "send: %s", nng_strerror(rv));
		return -1;
	}
	if ((rv = nng_recv(c->sock, &rbuf, &rlen, NNG_FLAG_ALLOC)) != 0) {
		snprintf(err, errlen, "recv: %s", nng_strerror(rv));
		return -1;
	}
	rv = wire_decode_reply(rbuf, rlen, reply, err, errlen);
	nng_free(rbuf, rlen);
	return rv ? -1 : 0;
}

void wc_batch_init(struct wc_batch *wb, const char *agent_id, uint64_t seq, const char *token)
{
	memset(wb, 0, sizeof(*wb));
	arena_init(&wb->a, 0);
	wb->b.protocol = WIRE_PROTOCOL;
	wb->b.agent_id = arena_strdup(&wb->a, agent_id);
	wb->b.seq = seq;
	if (token) {
		wb->b.token = (const uint8_t *)arena_strdup(&wb->a, token);
		wb->b.token_len = strlen(token);
	}
}

void wc_batch_free(struct wc_batch *wb)
{
	free(wb->b.events);
	free(wb->b.labels);
	free(wb->b.summaries);
	arena_reset(&wb->a);
	memset(wb, 0, sizeof(*wb));
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *nv = realloc(*v, ncap * size);
	if (!nv)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

static struct value copy_value(struct wc_batch *wb, struct value v)
{
	if (v.kind == VALUE_STRING)
		v.str = arena_strdup(&wb->a, v.str);
	return v;
}

int wc_batch_event(struct wc_batch *wb, const char *model, const char *id, double ts,
                   double latency_ms, bool error, const struct wc_feature *f, size_t nf,
                   struct value prediction, double score, struct value label)
{
	struct event *ev;

	if (grow((void **)&wb->b.events, &wb->cap_events, wb->b.n_events, sizeof(*ev)))
		return -1;
	ev = &wb->b.events[wb->b.n_events++];
	memset(ev, 0, sizeof(*ev));
	ev->model = arena_strdup(&wb->a, model);
	ev->id = id ? arena_strdup(&wb->a, id) : NULL;
	ev->ts = ts;
	ev->ts_given = true;
	ev->has_latency = latency_ms >= 0;
	ev->latency_ms = latency_ms;
	ev->error = error;
	if (nf) {
		ev->features = arena_alloc(&wb->a, nf * sizeof(*ev->features));
		for (size_t i = 0; i < nf; i++) {
			ev->features[i].name = arena_strdup(&wb->a, f[i].name);
			ev->features[i].kind = (enum feature_kind)f[i].kind;
			ev->features[i].num = f[i].num;
			ev->features[i].str = f[i].str ? arena_strdup(&wb->a, f[i].str) : NULL;
		}
		ev->n_features = nf;
	}
	ev->prediction = copy_value(wb, prediction);
	ev->has_score = score >= 0;
	ev->score = score;
	ev->label = copy_value(wb, label);
	return 0;
}

int wc_batch_label(struct wc_batch *wb, const char *model, const char *id, struct value label,
                   double ts)
{
	struct label *l;
	if (grow((void **)&wb->b.labels, &wb->cap_labels, wb->b.n_labels, sizeof(*l)))
		return -1;
	l = &wb->b.labels[wb->b.n_labels++];
	memset(l, 0, sizeof(*l));
	l->model = arena_strdup(&wb->a, model);
	l->id = arena_strdup(&wb->a, id);
	l->label = copy_value(wb, label);
	l->ts = ts;
	l->ts_given = ts > 0;
	return 0;
}

int wc_batch_summary(struct wc_batch *wb, const char *model, int64_t second, uint64_t count,
                     uint64_t errors, uint64_t sampled, const double *latencies, size_t n)
{
	struct wire_summary *s;
	if (grow((void **)&wb->b.summaries, &wb->cap_summaries, wb->b.n_summaries, sizeof(*s)))
		return -1;
	s = &wb->b.summaries[wb->b.n_summaries++];
	memset(s, 0, sizeof(*s));
	s->model = arena_strdup(&wb->a, model);
	s->second = second;
	s->count = count;
	s->errors = errors;
	s->sampled = sampled;
	if (n) {
		struct ddsketch *sk = ddsketch_new();
		uint8_t *enc = NULL;
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			ddsketch_add(sk, latencies[i]);
		if (ddsketch_encode_alloc(sk, &enc, &len) == 0) {
			uint8_t *copy = arena_alloc(&wb->a, len);
			memcpy(copy, enc, len);
			s->sketch = copy;
			s->sketch_len = len;
		}
		free(enc);
		ddsketch_free(sk);
	}
	return 0;
}

int wc_batch_encode(const struct wc_batch *wb, uint8_t **buf, size_t *len)
{
	return wire_encode_batch(&wb->b, buf, len);
}
