/* ingest_kserve: CloudEvents halves joined by ce-id into events (v1 and
 * v2 bodies, feature naming, probabilities, latency), expiry and eviction
 * counted, every malformed half refused with its field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ingest_kserve.h"
#include "stats.h"

#define MAXE 16

struct captured {
	struct event ev[MAXE];
	struct arena a;
	size_t n, calls;
	int rc; /* what emit answers */
};

static struct captured cap;

static int emit(void *arg, const struct event *ev, size_t n, size_t *sampled)
{
	struct captured *c = arg;
	c->calls++;
	if (c->rc)
		return c->rc;
	for (size_t i = 0; i < n && c->n < MAXE; i++) {
		/* Deep copy: the caller frees its events after emit returns. */
		struct event *d = &c->ev[c->n++];
		*d = ev[i];
		d->model = arena_strdup(&c->a, ev[i].model);
		d->id = ev[i].id ? arena_strdup(&c->a, ev[i].id) : NULL;
		d->version = ev[i].version ? arena_strdup(&c->a, ev[i].version) : NULL;
		d->scores = NULL; /* only n_scores is looked at */
		d->features = arena_alloc(&c->a, (ev[i].n_features + 1) * sizeof(*d->features));
		for (size_t k = 0; k < ev[i].n_features; k++) {
			d->features[k] = ev[i].features[k];
			d->features[k].name = arena_strdup(&c->a, ev[i].features[k].name);
			if (ev[i].features[k].str)
				d->features[k].str = arena_strdup(&c->a, ev[i].features[k].str);
		}
		if (ev[i].prediction.str)
			d->prediction.str = arena_strdup(&c->a, ev[i].prediction.str);
		if (ev[i].finish_reason)
			d->finish_reason = arena_strdup(&c->a, ev[i].finish_reason);
	}
	*sampled = n;
	return 0;
}

static void setup(void)
{
	memset(&cap, 0, sizeof(cap));
	arena_init(&cap.a, 0);
	stats_reset();
}

static void teardown(void)
{
	arena_reset(&cap.a);
}

static int half(struct kserve *k, const char *id, const char *type, double ts, const char *body,
                struct kserve_result *res)
{
	char t[64], full[128];
	snprintf(full, sizeof(full), "org.kubeflow.serving.inference.%s", type);
	const char *tm = clock_format_rfc3339(ts, t, sizeof(t));
	/* The KServe v0.18+ header set: ce-time is an occurrence time. */
	struct kserve_headers h = {.id = id,
	                           .type = full,
	                           .time = tm,
	                           .service = "iris",
	                           .specversion = "1.0",
	                           .recorded_time = tm};
	return kserve_handle(k, &h, body, strlen(body), clock_now(), res);
}

static const struct feature *feat(const struct event *e, const char *name)
{
	for (size_t i = 0; i < e->n_features; i++)
		if (strcmp(e->features[i].name, name) == 0)
			return &e->features[i];
	return NULL;
}

Test(kserve, v1_pair_in_either_order, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	double t0 = 1764072000;

	cr_assert_eq(half(k, "a", "request", t0, "{\"instances\":[[5.1,3.5,1.4,0.2]]}", &r), 0);
	cr_expect_eq(r.accepted, 0);
	cr_expect_eq(kserve_pending(k), 1);
	cr_expect_eq(stats_get(ST_KSERVE_PENDING), 1);
	cr_assert_eq(half(k, "a", "response", t0 + 0.25, "{\"predictions\":[0]}", &r), 0);
	cr_expect_eq(r.accepted, 1);
	cr_expect_eq(r.sampled, 1);
	cr_assert_eq(cap.n, 1);
	const struct event *e = &cap.ev[0];
	cr_expect_str_eq(e->model, "iris");
	cr_expect_str_eq(e->id, "a");
	cr_expect_eq(e->n_features, 4);
	cr_expect_float_eq(feat(e, "x2")->num, 1.4, 1e-12);
	cr_expect_eq(e->prediction.kind, VALUE_NUMBER);
	cr_expect_float_eq(e->prediction.num, 0, 1e-12);
	cr_expect(e->has_latency);
	cr_expect_float_eq(e->latency_ms, 250, 1e-6);
	cr_expect_float_eq(e->ts, t0, 1e-6);
	/* Response first, object instances, probabilities. */
	cr_assert_eq(half(k, "b", "response", t0 + 1.1, "{\"predictions\":[[0.2,0.7,0.1]]}", &r),
	             0);
	cr_assert_eq(half(k, "b", "request", t0 + 1,
	                  "{\"instances\":[{\"sepal\":5.9,\"colour\":\"blue\",\"v\":[1,2]}]}", &r),
	             0);
	cr_assert_eq(cap.n, 2);
	e = &cap.ev[1];
	cr_expect_eq(feat(e, "colour")->kind, FEATURE_CATEGORICAL);
	cr_expect_str_eq(feat(e, "colour")->str, "blue");
	cr_expect_float_eq(feat(e, "v[1]")->num, 2, 1e-12);
	cr_expect_float_eq(e->prediction.num, 1, 1e-12, "arg max of the probabilities");
	cr_expect(e->has_score);
	cr_expect_float_eq(e->score, 0.7, 1e-12);
	cr_expect_eq(e->n_scores, 3);
	cr_expect_eq(kserve_pending(k), 0);
	cr_expect_eq(stats_get(ST_KSERVE_PAIRED), 2);
	kserve_free(k);
}

Test(kserve, v2_tensors_give_one_event_per_row, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);
	struct kserve_result r;

	cr_assert_eq(half(k, "c", "request", 1764072000,
	                  "{\"inputs\":[{\"name\":\"in\",\"shape\":[2,3],\"datatype\":\"FP32\","
	                  "\"data\":[1,2,3,4,5,6]},{\"name\":\"flag\",\"shape\":[2],\"datatype\":"
	                  "\"BOOL\",\"data\":[true,false]}]}",
	                  &r),
	             0);
	cr_assert_eq(half(k, "c", "response", 1764072000.5,
	                  "{\"model_version\":\"7\",\"outputs\":[{\"name\":\"label\",\"shape\":[2],"
	                  "\"datatype\":\"BYTES\",\"data\":[\"cat\",\"dog\"]}]}",
	                  &r),
	             0);
	cr_expect_eq(r.accepted, 2);
	cr_assert_eq(cap.n, 2);
	cr_expect_str_eq(cap.ev[0].id, "c/0");
	cr_expect_str_eq(cap.ev[1].id, "c/1");
	cr_expect_eq(cap.ev[1].n_features, 4);
	cr_expect_float_eq(feat(&cap.ev[1], "in[2]")->num, 6, 1e-12);
	cr_expect_str_eq(feat(&cap.ev[1], "flag")->str, "false");
	cr_expect_str_eq(cap.ev[0].prediction.str, "cat");
	cr_expect_str_eq(cap.ev[1].version, "7");
	kserve_free(k);
}

Test(kserve, expiry_and_eviction_are_counted, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(1.0, 2, 1 << 20, emit, &cap);
	struct kserve_result r;

	cr_assert_eq(half(k, "x", "request", 1764072000, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(half(k, "y", "request", 1764072000, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(half(k, "z", "request", 1764072000, "{\"instances\":[[1]]}", &r), 0);
	cr_expect_eq(stats_get(ST_KSERVE_EVICTED), 1, "table of 2: the oldest went");
	cr_expect_eq(kserve_pending(k), 2);
	cr_assert_eq(half(k, "x", "response", 1764072000, "{\"predictions\":[1]}", &r), 0);
	cr_expect_eq(r.accepted, 0, "x was evicted: this response waits alone");
	kserve_expire(k, clock_mono() + 0.5);
	cr_expect_eq(stats_get(ST_KSERVE_EXPIRED), 0);
	kserve_expire(k, clock_mono() + 2);
	cr_expect_eq(stats_get(ST_KSERVE_EXPIRED), 2);
	cr_expect_eq(kserve_pending(k), 0);
	/* z's request half never got a response: a failed request (error event);
	 * x's lone response half is only counted. */
	cr_expect_eq(cap.calls, 1);
	cr_assert_eq(cap.n, 1);
	cr_expect_str_eq(cap.ev[0].id, "z");
	cr_expect(cap.ev[0].error);
	cr_expect_eq(stats_get(ST_KSERVE_ORPHAN_ERRORS), 1);
	kserve_free(k);
}

Test(kserve, malformed_halves_name_their_field, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	char t[64];
	const char *now = clock_format_rfc3339(clock_now(), t, sizeof(t));
	const char *ok = "{\"instances\":[[1]]}";
	struct {
		struct kserve_headers h;
		const char *body, *field;
	} cases[] = {
	    {{.id = NULL, .type = "x.request", .time = now, .service = "m"}, ok, "ce-id"},
	    {{.id = "i", .type = NULL, .time = now, .service = "m"}, ok, "ce-type"},
	    {{.id = "i", .type = "x.other", .time = now, .service = "m"}, ok, "ce-type"},
	    {{.id = "i", .type = "x.request", .time = now, .service = NULL},
	     ok,
	     "ce-inferenceservicename"},
	    {{.id = "i", .type = "x.request", .time = now, .service = "bad name"},
	     ok,
	     "ce-inferenceservicename"},
	    {{.id = "i", .type = "x.request", .time = "yesterday", .service = "m"}, ok, "ce-time"},
	    {{.id = "i", .type = "x.request", .time = "2099-01-01T00:00:00Z", .service = "m"},
	     ok,
	     "ce-time"},
	    {{.id = "i", .type = "x.request", .time = now, .service = "m"}, "{\"instances\":", ""},
	    {{.id = "i", .type = "x.request", .time = now, .service = "m"}, "[1]", ""},
	    {{.id = "i", .type = "x.request", .time = now, .service = "m"},
	     "{\"predictions\":[1]}",
	     "instances"},
	    {{.id = "i", .type = "x.response", .time = now, .service = "m"}, ok, "predictions"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = kserve_handle(k, &cases[i].h, cases[i].body, strlen(cases[i].body),
		                       clock_now(), &r);
		cr_expect_eq(rc, -1, "case %zu accepted", i);
		cr_expect_str_eq(r.field, cases[i].field, "case %zu: %s", i, r.error);
		cr_expect_neq(r.error[0], '\0');
	}
	cr_expect_eq(kserve_pending(k), 0, "nothing of a refused half is kept");
	/* A pair whose features break the event rules is refused whole. */
	struct kserve_headers h = {.id = "p", .type = "x.request", .time = now, .service = "m"};
	const char *badname = "{\"instances\":[{\"@reserved\":1}]}";
	cr_assert_eq(kserve_handle(k, &h, badname, strlen(badname), clock_now(), &r), 0);
	h.type = "x.response";
	cr_expect_eq(kserve_handle(k, &h, "{\"predictions\":[1]}", 19, clock_now(), &r), -1);
	cr_expect(strstr(r.error, "instance 0") != NULL, "%s", r.error);
	/* An overloaded agent is reported as such. */
	cap.rc = -EAGAIN;
	h.id = "q";
	h.type = "x.request";
	cr_assert_eq(kserve_handle(k, &h, ok, strlen(ok), clock_now(), &r), 0);
	h.type = "x.response";
	cr_expect_eq(kserve_handle(k, &h, "{\"predictions\":[1]}", 19, clock_now(), &r), -EAGAIN);
	kserve_free(k);
}

/* ---- real servers (issue 15) ------------------------------------------ */

#include <zlib.h>

static const char *T_REQ = "org.kubeflow.serving.inference.request";
static const char *T_RESP = "org.kubeflow.serving.inference.response";

static int post(struct kserve *k, const struct kserve_headers *h, const char *body,
                struct kserve_result *r)
{
	return kserve_handle(k, h, body, strlen(body), clock_now(), r);
}

static struct kserve *open_opts(struct kserve_options o)
{
	char err[200];
	if (!o.ttl_s)
		o.ttl_s = 30;
	if (!o.max_pending)
		o.max_pending = 100;
	if (!o.max_bytes)
		o.max_bytes = 1 << 20;
	struct kserve *k = kserve_open(&o, emit, &cap, err, sizeof(err));
	cr_assert_not_null(k, "%s", err);
	return k;
}

Test(kserve, latency_only_when_the_pair_proves_v018, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	/* KServe <= v0.17: ce-time is when a logger worker sent each half; the
	 * real broker sample is 1.58 ms apart, and it can be negative. */
	struct kserve_headers q = {.id = "old",
	                           .type = T_REQ,
	                           .time = "2021-04-10T01:22:16.498917288Z",
	                           .service = "sklearn-iris"};
	struct kserve_headers s = {.id = "old",
	                           .type = T_RESP,
	                           .time = "2021-04-10T01:22:16.500492939Z",
	                           .service = "sklearn-iris"};
	cr_assert_eq(post(k, &s, "{\"predictions\":[1]}", &r), 0, "%s", r.error);
	cr_assert_eq(post(k, &q, "{\"instances\":[[6.8,2.8,4.8,1.4]]}", &r), 0, "%s", r.error);
	cr_expect_eq(r.accepted, 1, "one prediction, counted once");
	cr_assert_eq(cap.n, 1);
	cr_expect_not(cap.ev[0].has_latency, "pre-v0.18: latency unknown, not 1.58 ms");
	cr_expect_eq(stats_get(ST_KSERVE_LATENCY_UNKNOWN), 1);
	/* v0.18+: both halves carry Ce-Recordedtime; ce-time is arrival and
	 * completion at the sidecar. */
	struct kserve_headers q2 = {.id = "new",
	                            .type = T_REQ,
	                            .time = "2026-03-10T09:46:05.0789529Z",
	                            .service = "sklearn-iris",
	                            .recorded_time = "2026-03-10T09:46:05.079901233Z"};
	struct kserve_headers s2 = {.id = "new",
	                            .type = T_RESP,
	                            .time = "2026-03-10T09:46:05.103736102Z",
	                            .service = "sklearn-iris",
	                            .recorded_time = "2026-03-10T09:46:05.104512911Z"};
	cr_assert_eq(post(k, &q2, "{\"instances\":[[6.8,2.8,4.8,1.4]]}", &r), 0);
	cr_assert_eq(post(k, &s2, "{\"predictions\":[1]}", &r), 0);
	cr_assert_eq(cap.n, 2);
	cr_expect(cap.ev[1].has_latency);
	cr_expect_float_eq(cap.ev[1].latency_ms, 24.783202, 1e-3);
	/* Only one half with the header proves nothing. */
	s2.id = q2.id = "half";
	s2.recorded_time = NULL;
	cr_assert_eq(post(k, &q2, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(post(k, &s2, "{\"predictions\":[1]}", &r), 0);
	cr_assert_eq(cap.n, 3);
	cr_expect_not(cap.ev[2].has_latency);
	kserve_free(k);

	/* kserve_latency = ce_time trusts ce-time; none never does. */
	k = open_opts((struct kserve_options){.latency = KSERVE_LATENCY_CE_TIME});
	q.id = s.id = "forced";
	cr_assert_eq(post(k, &q, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(post(k, &s, "{\"predictions\":[1]}", &r), 0);
	cr_assert_eq(cap.n, 4);
	cr_expect(cap.ev[3].has_latency);
	cr_expect_float_eq(cap.ev[3].latency_ms, 1.575651, 1e-3);
	kserve_free(k);
	k = open_opts((struct kserve_options){.latency = KSERVE_LATENCY_NONE});
	q2.id = s2.id = "never";
	s2.recorded_time = q2.recorded_time;
	cr_assert_eq(post(k, &q2, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(post(k, &s2, "{\"predictions\":[1]}", &r), 0);
	cr_assert_eq(cap.n, 5);
	cr_expect_not(cap.ev[4].has_latency);
	kserve_free(k);
}

Test(kserve, orphan_request_is_one_error_event_after_ttl, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(1.0, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	struct kserve_headers q = {
	    .id = "fail-1", .type = T_REQ, .time = "2026-03-10T09:46:05Z", .service = "fraud"};

	cr_assert_eq(post(k, &q, "{\"instances\":[{\"amount\":12.5,\"country\":\"FR\"}]}", &r), 0);
	kserve_expire(k, clock_mono() + 0.2);
	cr_expect_eq(cap.n, 0, "not before the TTL");
	kserve_expire(k, clock_mono() + 1.5);
	cr_assert_eq(cap.n, 1);
	const struct event *e = &cap.ev[0];
	cr_expect(e->error);
	cr_expect_str_eq(e->model, "fraud");
	cr_expect_str_eq(e->id, "fail-1");
	cr_expect_eq(e->prediction.kind, VALUE_NONE);
	cr_expect_not(e->has_latency);
	cr_expect_float_eq(feat(e, "amount")->num, 12.5, 1e-12, "features sampled like any event");
	cr_expect_str_eq(feat(e, "country")->str, "FR");
	cr_expect_float_eq(e->ts, 1773135965, 1e-6, "ts = the request's ce-time");
	cr_expect_eq(stats_get(ST_KSERVE_ORPHAN_ERRORS), 1);
	/* A lone response half is only counted. */
	struct kserve_headers s = {.id = "lone", .type = T_RESP, .time = NULL, .service = "fraud"};
	cr_assert_eq(post(k, &s, "{\"predictions\":[1]}", &r), 0);
	kserve_expire(k, clock_mono() + 1.5);
	cr_expect_eq(cap.n, 1);
	cr_expect_eq(stats_get(ST_KSERVE_EXPIRED), 2);
	kserve_free(k);
}

Test(kserve, single_half_modes, .init = setup, .fini = teardown)
{
	struct kserve_result r;
	struct kserve *k = open_opts((struct kserve_options){.mode = KSERVE_MODE_REQUEST});
	struct kserve_headers q = {.id = "a", .type = T_REQ, .time = NULL, .service = "m"},
	                      s = {.id = "a", .type = T_RESP, .time = NULL, .service = "m"};

	cr_assert_eq(post(k, &q, "{\"instances\":[[1,2],[3,4]]}", &r), 0);
	cr_expect_eq(r.accepted, 2, "mode request: each request half is whole");
	cr_expect_eq(kserve_pending(k), 0);
	cr_expect_not(cap.ev[0].error);
	cr_assert_eq(post(k, &s, "{\"predictions\":[1,2]}", &r), 0);
	cr_expect_eq(r.accepted, 0, "the other kind is ignored");
	cr_expect_eq(stats_get(ST_KSERVE_SKIPPED), 1);
	kserve_expire(k, clock_mono() + 100);
	cr_expect_eq(cap.n, 2, "nothing pends, nothing becomes an error");
	kserve_free(k);
	k = open_opts((struct kserve_options){.mode = KSERVE_MODE_RESPONSE});
	cr_assert_eq(post(k, &s, "{\"predictions\":[\"cat\"]}", &r), 0);
	cr_expect_eq(r.accepted, 1);
	cr_assert_eq(cap.n, 3);
	cr_expect_str_eq(cap.ev[2].prediction.str, "cat");
	cr_expect_eq(cap.ev[2].n_features, 0);
	cr_assert_eq(post(k, &q, "{\"instances\":[[1]]}", &r), 0);
	cr_expect_eq(r.accepted, 0);
	kserve_free(k);
}

Test(kserve, transformer_and_predictor_count_once, .init = setup, .fini = teardown)
{
	struct kserve_result r;
	/* Each component's logger sends its own pair under its own UUID. */
	struct kserve_headers tq = {
	    .id = "t-1", .type = T_REQ, .time = NULL, .service = "img", .component = "transformer"};
	struct kserve_headers ts = {.id = "t-1",
	                            .type = T_RESP,
	                            .time = NULL,
	                            .service = "img",
	                            .component = "transformer"};
	struct kserve_headers pq = {
	    .id = "p-1", .type = T_REQ, .time = NULL, .service = "img", .component = "predictor"};
	struct kserve_headers ps = {
	    .id = "p-1", .type = T_RESP, .time = NULL, .service = "img", .component = "predictor"};
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);

	cr_assert_eq(post(k, &tq, "{\"instances\":[{\"url\":\"x.png\"}]}", &r), 0);
	cr_assert_eq(post(k, &pq, "{\"instances\":[[0.1,0.2]]}", &r), 0);
	cr_assert_eq(post(k, &ps, "{\"predictions\":[3]}", &r), 0);
	cr_assert_eq(post(k, &ts, "{\"predictions\":[3]}", &r), 0);
	cr_expect_eq(cap.n, 1, "one prediction, one event");
	cr_expect(feat(&cap.ev[0], "x0") != NULL, "the predictor's features");
	cr_expect_eq(stats_get(ST_KSERVE_OTHER_COMPONENT), 2);
	kserve_expire(k, clock_mono() + 100);
	cr_expect_eq(cap.n, 1, "the ignored transformer half is no orphan");
	kserve_free(k);
	k = open_opts((struct kserve_options){.component = "transformer"});
	tq.id = ts.id = "t-2";
	pq.id = ps.id = "p-2";
	cr_assert_eq(post(k, &tq, "{\"instances\":[{\"url\":\"x.png\"}]}", &r), 0);
	cr_assert_eq(post(k, &pq, "{\"instances\":[[0.1,0.2]]}", &r), 0);
	cr_assert_eq(post(k, &ps, "{\"predictions\":[3]}", &r), 0);
	cr_assert_eq(post(k, &ts, "{\"predictions\":[3]}", &r), 0);
	cr_assert_eq(cap.n, 2);
	cr_expect_str_eq(feat(&cap.ev[1], "url")->str, "x.png");
	kserve_free(k);
}

Test(kserve, model_name_by_template, .init = setup, .fini = teardown)
{
	struct kserve_result r;
	char err[200];
	struct kserve *k =
	    open_opts((struct kserve_options){.model_template = "{namespace}.{isvc}"});
	struct kserve_headers q = {
	    .id = "a", .type = T_REQ, .time = NULL, .service = "iris", .ns = "team-a"};
	struct kserve_headers s = {
	    .id = "a", .type = T_RESP, .time = NULL, .service = "iris", .ns = "team-a"};

	cr_assert_eq(post(k, &q, "{\"instances\":[[1]]}", &r), 0);
	/* The same id in another namespace is another request. */
	q.ns = s.ns = "team-b";
	cr_assert_eq(post(k, &q, "{\"instances\":[[2]]}", &r), 0);
	cr_assert_eq(post(k, &s, "{\"predictions\":[0]}", &r), 0);
	cr_assert_eq(cap.n, 1);
	cr_expect_str_eq(cap.ev[0].model, "team-b.iris");
	cr_expect_float_eq(feat(&cap.ev[0], "x0")->num, 2, 1e-12);
	q.ns = s.ns = "team-a";
	cr_assert_eq(post(k, &s, "{\"predictions\":[0]}", &r), 0);
	cr_assert_eq(cap.n, 2);
	cr_expect_str_eq(cap.ev[1].model, "team-a.iris");
	cr_expect_float_eq(feat(&cap.ev[1], "x0")->num, 1, 1e-12);
	q.ns = NULL;
	cr_expect_eq(post(k, &q, "{\"instances\":[[1]]}", &r), -1);
	cr_expect_str_eq(r.field, "ce-namespace");
	kserve_free(k);
	/* {model_name} from a v2 response (MLServer: iris-classifier behind the
	 * ISVC sklearn-irisv2). */
	k = open_opts((struct kserve_options){.model_template = "{model_name}"});
	struct kserve_headers q2 = {
	    .id = "v", .type = T_REQ, .time = NULL, .service = "sklearn-irisv2"};
	struct kserve_headers s2 = {
	    .id = "v", .type = T_RESP, .time = NULL, .service = "sklearn-irisv2"};
	cr_assert_eq(post(k, &q2, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(post(k, &s2,
	                  "{\"model_name\":\"iris-classifier\",\"outputs\":[{\"name\":\"p\","
	                  "\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1]}]}",
	                  &r),
	             0);
	cr_assert_eq(cap.n, 3);
	cr_expect_str_eq(cap.ev[2].model, "iris-classifier");
	kserve_free(k);
	/* Templates are checked at start. */
	cr_expect_eq(kserve_template_check("{namespace}/{isvc}", err, sizeof(err)), -1);
	cr_expect(strstr(err, "'/'") != NULL, "%s", err);
	cr_expect_eq(kserve_template_check("{isvc", err, sizeof(err)), -1);
	cr_expect_eq(kserve_template_check("{pod}", err, sizeof(err)), -1);
	cr_expect_eq(kserve_template_check("fixed", err, sizeof(err)), -1);
	cr_expect_eq(kserve_template_check("{namespace}_{model_name}", err, sizeof(err)), 0);
	struct kserve_options bad = {.ttl_s = 1, .model_template = "{ns}"};
	cr_expect_null(kserve_open(&bad, emit, &cap, err, sizeof(err)));
	cr_expect(strstr(err, "kserve_model") != NULL, "%s", err);
}

Test(kserve, repeated_ce_id_never_mixes_two_requests, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(1.0, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	struct kserve_headers q = {.id = "client-id", .type = T_REQ, .time = NULL, .service = "m"};
	struct kserve_headers s = {.id = "client-id", .type = T_RESP, .time = NULL, .service = "m"};

	/* Sequential reuse is fine: each pair closes before the next opens. */
	cr_assert_eq(post(k, &q, "{\"instances\":[[1]]}", &r), 0);
	cr_assert_eq(post(k, &s, "{\"predictions\":[10]}", &r), 0);
	cr_assert_eq(cap.n, 1);
	cr_expect_float_eq(cap.ev[0].prediction.num, 10, 1e-12);
	/* Two requests under one id at once: which response is whose? */
	cr_assert_eq(post(k, &q, "{\"instances\":[[2]]}", &r), 0);
	cr_assert_eq(post(k, &q, "{\"instances\":[[3]]}", &r), 0);
	cr_expect_eq(cap.n, 3, "both requests counted, without a prediction");
	cr_expect_eq(cap.ev[1].prediction.kind, VALUE_NONE);
	cr_expect_eq(cap.ev[2].prediction.kind, VALUE_NONE);
	cr_expect_not(cap.ev[1].error);
	cr_assert_eq(post(k, &s, "{\"predictions\":[20]}", &r), 0);
	cr_assert_eq(post(k, &s, "{\"predictions\":[30]}", &r), 0);
	cr_expect_eq(cap.n, 3, "no response is paired with a guess");
	cr_expect_eq(stats_get(ST_KSERVE_AMBIGUOUS), 4);
	kserve_expire(k, clock_mono() + 2);
	cr_expect_eq(cap.n, 3, "the fence is no orphan");
	cr_expect_eq(stats_get(ST_KSERVE_EXPIRED), 0);
	cr_expect_eq(kserve_pending(k), 0);
	kserve_free(k);
}

static size_t gz(const char *in, size_t n, unsigned char *out, size_t cap_)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap_;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = z.total_out;
	deflateEnd(&z);
	return len;
}

Test(kserve, gzip_bodies_and_zip_bombs, .init = setup, .fini = teardown)
{
	struct kserve_options o = {.max_inflated = 64 * 1024};
	struct kserve *k = open_opts(o);
	struct kserve_result r;
	unsigned char buf[70000];
	const char *body = "{\"instances\":[[6.8,2.8,4.8,1.4]]}";
	size_t n = gz(body, strlen(body), buf, sizeof(buf));
	/* No Content-Encoding: the logger forwards the bytes as they came. */
	struct kserve_headers q = {.id = "g", .type = T_REQ, .time = NULL, .service = "m"};
	struct kserve_headers s = {
	    .id = "g", .type = T_RESP, .time = NULL, .service = "m", .content_encoding = "gzip"};

	cr_assert_eq(kserve_handle(k, &q, (const char *)buf, n, clock_now(), &r), 0, "%s", r.error);
	n = gz("{\"predictions\":[1]}", 19, buf, sizeof(buf));
	cr_assert_eq(kserve_handle(k, &s, (const char *)buf, n, clock_now(), &r), 0, "%s", r.error);
	cr_assert_eq(cap.n, 1);
	cr_expect_float_eq(feat(&cap.ev[0], "x3")->num, 1.4, 1e-12);
	/* 1 MiB of spaces in a few hundred bytes: refused, nothing kept. */
	char *bomb = malloc(1 << 20);
	memset(bomb, ' ', 1 << 20);
	bomb[0] = '{';
	bomb[(1 << 20) - 1] = '}';
	n = gz(bomb, 1 << 20, buf, sizeof(buf));
	cr_expect_lt(n, 4096);
	q.id = "bomb";
	cr_expect_eq(kserve_handle(k, &q, (const char *)buf, n, clock_now(), &r), -E2BIG);
	cr_expect(strstr(r.error, "inflates to more than 65536") != NULL, "%s", r.error);
	free(bomb);
	/* Corrupt and truncated gzip name the problem. */
	n = gz(body, strlen(body), buf, sizeof(buf));
	cr_expect_eq(kserve_handle(k, &q, (const char *)buf, n - 6, clock_now(), &r), -1);
	cr_expect_str_eq(r.field, "content-encoding");
	cr_expect(strstr(r.error, "truncated") != NULL, "%s", r.error);
	buf[12] ^= 0xff;
	cr_expect_eq(kserve_handle(k, &q, (const char *)buf, n, clock_now(), &r), -1);
	cr_expect_str_eq(r.field, "content-encoding");
	s.content_encoding = "br";
	cr_expect_eq(post(k, &s, "{\"predictions\":[1]}", &r), -1);
	cr_expect_str_eq(r.field, "content-encoding");
	cr_expect_eq(kserve_pending(k), 0);
	kserve_free(k);
}

Test(kserve, long_strings_and_empty_bodies, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	struct kserve_headers q = {.id = "img", .type = T_REQ, .time = NULL, .service = "m"},
	                      s = {.id = "img", .type = T_RESP, .time = NULL, .service = "m"};
	char body[2000];
	char big[600];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(body, sizeof(body),
	         "{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":"
	         "[\"%s\"]},{\"name\":\"n\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[7]}]}",
	         big);
	cr_assert_eq(post(k, &q, body, &r), 0, "%s", r.error);
	cr_assert_eq(post(k, &s, "{\"predictions\":[1]}", &r), 0, "%s", r.error);
	cr_assert_eq(cap.n, 1, "a base64 image does not lose the event");
	cr_expect_eq(feat(&cap.ev[0], "image")->kind, FEATURE_MISSING);
	cr_expect_float_eq(feat(&cap.ev[0], "n")->num, 7, 1e-12);
	cr_expect_eq(stats_get(ST_KSERVE_LONG_STRINGS), 1);
	/* GET /v2/models/x: empty request body, metadata response. */
	q.id = s.id = "meta";
	cr_assert_eq(post(k, &q, "", &r), 0);
	cr_expect_eq(stats_get(ST_KSERVE_SKIPPED), 1);
	cr_expect_eq(kserve_pending(k), 0);
	kserve_free(k);
}

Test(kserve, seldon_core_1_pairs_by_request_and_model_id, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(30, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	/* A new ce-id per half. */
	struct kserve_headers q = {.id = "uuid-1",
	                           .type = "io.seldon.serving.inference.request",
	                           .time = NULL,
	                           .service = NULL,
	                           .request_id = "puid-9",
	                           .model_id = "classifier"};
	struct kserve_headers s = {.id = "uuid-2",
	                           .type = "io.seldon.serving.inference.response",
	                           .time = NULL,
	                           .service = NULL,
	                           .request_id = "puid-9",
	                           .model_id = "classifier"};
	cr_assert_eq(
	    post(k, &q, "{\"data\":{\"names\":[\"a\",\"b\"],\"ndarray\":[[1.0,2.0]]}}", &r), 0,
	    "%s", r.error);
	cr_assert_eq(post(k, &s,
	                  "{\"data\":{\"names\":[\"t:0\",\"t:1\"],\"ndarray\":[[0.2,0.8]]},"
	                  "\"meta\":{}}",
	                  &r),
	             0, "%s", r.error);
	cr_assert_eq(cap.n, 1);
	cr_expect_str_eq(cap.ev[0].model, "classifier");
	cr_expect_str_eq(cap.ev[0].id, "puid-9");
	cr_expect_float_eq(feat(&cap.ev[0], "b")->num, 2, 1e-12);
	cr_expect_float_eq(cap.ev[0].prediction.num, 1, 1e-12);
	cr_expect_float_eq(cap.ev[0].score, 0.8, 1e-12);
	/* tensor form */
	q.request_id = s.request_id = "puid-10";
	cr_assert_eq(
	    post(k, &q, "{\"data\":{\"tensor\":{\"shape\":[2,2],\"values\":[1,2,3,4]}}}", &r), 0,
	    "%s", r.error);
	cr_assert_eq(post(k, &s, "{\"data\":{\"ndarray\":[5,6]}}", &r), 0, "%s", r.error);
	cr_assert_eq(cap.n, 3);
	cr_expect_float_eq(feat(&cap.ev[2], "x1")->num, 4, 1e-12);
	cr_expect_float_eq(cap.ev[2].prediction.num, 6, 1e-12);
	q.request_id = "x";
	cr_expect_eq(post(k, &q, "{\"meta\":{}}", &r), -1);
	cr_expect_str_eq(r.field, "data");
	q.model_id = NULL;
	cr_expect_eq(post(k, &q, "{\"data\":{\"ndarray\":[1]}}", &r), -1);
	cr_expect_str_eq(r.field, "ce-modelid");
	kserve_free(k);
}

/* OpenAI bodies (/openai/v1/... behind KServe, vLLM): one LLM event per
 * pair; the model is the body's unless kserve_model is set; latency as
 * for any pair; a streamed response is its buffered SSE text; a lone
 * request is an error event after the TTL; no TTFT (not known). */
#define OAI_Q "{\"model\":\"meta/llama-3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define OAI_R                                                                                     \
	"{\"model\":\"meta/llama-3\",\"choices\":[{\"index\":0,\"message\":{\"content\":\"yo\"}," \
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}"
#define OAI_SSE                                                                                \
	"data: {\"choices\":[{\"delta\":{\"content\":\"y\"},\"finish_reason\":null}]}\r\n\r\n" \
	"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}],"                    \
	"\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":16}}\r\n\r\ndata: [DONE]\r\n\r\n"

Test(kserve, openai_pairs_give_llm_events, .init = setup, .fini = teardown)
{
	struct kserve *k = kserve_new(1.0, 100, 1 << 20, emit, &cap);
	struct kserve_result r;
	double t0 = 1773135965.0;

	cr_assert_eq(half(k, "o1", "request", t0, OAI_Q, &r), 0, "%s", r.error);
	cr_expect_eq(kserve_pending(k), 1);
	cr_assert_eq(half(k, "o1", "response", t0 + 0.75, OAI_R, &r), 0, "%s", r.error);
	cr_assert_eq(r.accepted, 1);
	const struct event *e = &cap.ev[0];
	cr_expect_str_eq(e->model, "meta_llama-3", "the body's model, made a valid name");
	cr_expect_str_eq(e->id, "o1");
	cr_expect(e->has_latency && e->latency_ms > 749.9 && e->latency_ms < 750.1, "%g",
	          e->latency_ms);
	cr_expect(e->has_input_tokens && e->input_tokens == 9);
	cr_expect(e->has_output_tokens && e->output_tokens == 3);
	cr_expect_str_eq(e->finish_reason, "stop");
	cr_expect_not(e->has_ttft, "the logger does not know when the first token came");
	cr_expect_not(e->error);
	cr_expect_float_eq(feat(e, "prompt_chars")->num, 2, 1e-12);
	cr_expect_float_eq(feat(e, "messages")->num, 1, 1e-12);
	cr_expect_str_eq(feat(e, "stream")->str, "false");
	cr_expect_eq(stats_get(ST_KSERVE_PAIRED), 1);

	/* Streamed: the response first, as SSE. */
	cr_assert_eq(half(k, "o2", "response", t0 + 2, OAI_SSE, &r), 0, "%s", r.error);
	cr_assert_eq(half(k, "o2", "request", t0, OAI_Q, &r), 0, "%s", r.error);
	cr_assert_eq(cap.n, 2);
	e = &cap.ev[1];
	cr_expect(e->has_output_tokens && e->output_tokens == 16);
	cr_expect_str_eq(e->finish_reason, "length");
	cr_expect_str_eq(feat(e, "stream")->str, "true");
	cr_expect_str_eq(e->model, "meta_llama-3", "the request's model when the chunks have none");

	/* A lone request: an error event with its prompt features. */
	cr_assert_eq(half(k, "o3", "request", t0, OAI_Q, &r), 0, "%s", r.error);
	kserve_expire(k, clock_mono() + 1.5);
	cr_assert_eq(cap.n, 3);
	cr_expect(cap.ev[2].error);
	cr_expect_not(cap.ev[2].has_output_tokens);
	cr_expect_not(cap.ev[2].has_latency);
	cr_expect_float_eq(feat(&cap.ev[2], "prompt_chars")->num, 2, 1e-12);
	cr_expect_eq(stats_get(ST_KSERVE_ORPHAN_ERRORS), 1);

	/* Bad OpenAI bodies are refused with a reason; a tensor response does
	 * not pair with an OpenAI request. */
	cr_expect_eq(half(k, "o4", "response", t0, "data: not json\n\n", &r), -1);
	cr_expect(strstr(r.error, "OpenAI response body: text/event-stream without") != NULL, "%s",
	          r.error);
	cr_expect_eq(half(k, "o5", "request", t0, "{\"model\":\"x\",\"messages\":3}", &r), -1);
	cr_expect(strstr(r.error, "messages: must be an array") != NULL, "%s", r.error);
	cr_assert_eq(half(k, "o6", "request", t0, OAI_Q, &r), 0);
	cr_expect_eq(half(k, "o6", "response", t0, "{\"predictions\":[1]}", &r), -1);
	cr_expect(strstr(r.error, "an OpenAI request cannot pair with a tensor response") != NULL,
	          "%s", r.error);
	cr_expect_eq(cap.n, 3);
	kserve_free(k);

	/* kserve_model unset in the configuration (""): the body's model. */
	k = open_opts((struct kserve_options){.model_template = ""});
	cr_assert_eq(half(k, "o10", "request", t0, OAI_Q, &r), 0);
	cr_assert_eq(half(k, "o10", "response", t0 + 1, OAI_R, &r), 0, "%s", r.error);
	cr_expect_str_eq(cap.ev[3].model, "meta_llama-3");
	cap.n--;
	kserve_free(k);
	/* kserve_model set: the operator's name wins, {model_name} = the body's. */
	k = open_opts((struct kserve_options){.model_template = "{isvc}"});
	cr_assert_eq(half(k, "o7", "request", t0, OAI_Q, &r), 0);
	cr_assert_eq(half(k, "o7", "response", t0 + 1, OAI_R, &r), 0, "%s", r.error);
	cr_expect_str_eq(cap.ev[3].model, "iris");
	kserve_free(k);
	k = open_opts((struct kserve_options){.model_template = "{isvc}-{model_name}"});
	cr_assert_eq(half(k, "o8", "request", t0, OAI_Q, &r), 0);
	cr_assert_eq(half(k, "o8", "response", t0 + 1, OAI_R, &r), 0, "%s", r.error);
	cr_expect_str_eq(cap.ev[4].model, "iris-meta_llama-3");
	kserve_free(k);

	/* kserve_mode = response: a streamed response alone is the event. */
	k = open_opts((struct kserve_options){.mode = KSERVE_MODE_RESPONSE});
	cr_assert_eq(half(k, "o9", "response", t0, OAI_SSE, &r), 0, "%s", r.error);
	cr_assert_eq(cap.n, 6);
	cr_expect_str_eq(cap.ev[5].model, "iris", "no model in the chunks: {isvc}");
	cr_expect(cap.ev[5].has_output_tokens && cap.ev[5].output_tokens == 16);
	cr_expect_not(cap.ev[5].has_latency);
	kserve_free(k);
}
