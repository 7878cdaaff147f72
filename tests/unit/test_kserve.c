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
	struct kserve_headers h = {id,     full, clock_format_rfc3339(ts, t, sizeof(t)),
	                           "iris", NULL, "1.0"};
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
	cr_expect_eq(cap.calls, 0);
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
	    {{NULL, "x.request", now, "m", NULL, NULL}, ok, "ce-id"},
	    {{"i", NULL, now, "m", NULL, NULL}, ok, "ce-type"},
	    {{"i", "x.other", now, "m", NULL, NULL}, ok, "ce-type"},
	    {{"i", "x.request", now, NULL, NULL, NULL}, ok, "ce-inferenceservicename"},
	    {{"i", "x.request", now, "bad name", NULL, NULL}, ok, "ce-inferenceservicename"},
	    {{"i", "x.request", "yesterday", "m", NULL, NULL}, ok, "ce-time"},
	    {{"i", "x.request", "2099-01-01T00:00:00Z", "m", NULL, NULL}, ok, "ce-time"},
	    {{"i", "x.request", now, "m", NULL, NULL}, "{\"instances\":", ""},
	    {{"i", "x.request", now, "m", NULL, NULL}, "[1]", ""},
	    {{"i", "x.request", now, "m", NULL, NULL}, "{\"predictions\":[1]}", "instances"},
	    {{"i", "x.response", now, "m", NULL, NULL}, ok, "predictions"},
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
	struct kserve_headers h = {"p", "x.request", now, "m", NULL, NULL};
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
