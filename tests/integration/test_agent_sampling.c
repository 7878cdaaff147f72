/* Sampling at 0.1 over 100k events with ids: the kept share is 0.1 +-
 * 0.005, counts and latency cover 100% of events, and labels follow their
 * events exactly (kept with a kept event, dropped with a dropped one). A
 * [model] section overrides the rate. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/fake_collector.h"
#include "../lib/harness.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(agent_sampling, share_and_labels_follow_events, .timeout = 90)
{
	const int n = 100000, per = 2000;
	char cfgpath[700], *resp;
	size_t sampled_http = 0;

	cr_assert_eq(ap_init(&ag, "agent-sampling"), 0);
	snprintf(cfgpath, sizeof(cfgpath), "%s/mlwatch.conf", ag.dir);
	const char *cfg = "[agent]\nsample_rate = 0.1\n\n[model always]\nsample_rate = 1.0\n";
	cr_assert_eq(h_write_file(cfgpath, cfg, strlen(cfg)), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--config", cfgpath, NULL}), 0);

	char *body = malloc((size_t)per * 128);
	for (int r = 0; r < n / per; r++) {
		size_t len = 0;
		for (int i = 0; i < per; i++)
			len += (size_t)snprintf(
			    body + len, (size_t)per * 128 - len,
			    "{\"model\":\"fraud\",\"id\":\"req-%d\",\"latency_ms\":"
			    "%d,\"error\":%s}\n",
			    r * per + i, i % 97, i % 10 == 0 ? "true" : "false");
		cr_assert_eq(ap_post(&ag, "/v1/events", body, len, NULL, false, &resp), 202);
		char *s = strstr(resp, "\"sampled\":");
		cr_assert_not_null(s);
		sampled_http += strtoul(s + 10, NULL, 10);
		free(resp);
	}
	cr_assert(fc_wait_counted(fc, (uint64_t)n, 20), "counted %llu",
	          (unsigned long long)fc_summary_count(fc));
	cr_assert(fc_wait_events(fc, sampled_http, 10));
	h_sleep(0.3);
	size_t kept = fc_events(fc);
	double share = (double)kept / n;
	cr_expect(share >= 0.095 && share <= 0.105, "kept share %.4f", share);
	cr_expect_eq(kept, sampled_http, "the 202 answers add up to what was forwarded");
	cr_expect_eq(fc_summary_count(fc), (uint64_t)n, "counts cover 100%%");
	cr_expect_eq(fc_summary_errors(fc), (uint64_t)n / 10, "errors cover 100%%");
	cr_expect_eq(fc_sketch_count(fc), (uint64_t)n, "latency covers 100%%");
	cr_expect_eq(fc_summary_sampled(fc), kept);

	/* Late labels for every id. */
	for (int r = 0; r < n / per; r++) {
		size_t len = 0;
		for (int i = 0; i < per; i++)
			len += (size_t)snprintf(
			    body + len, (size_t)per * 128 - len,
			    "{\"model\":\"fraud\",\"id\":\"req-%d\",\"label\":%d}\n", r * per + i,
			    i % 2);
		cr_assert_eq(ap_post(&ag, "/v1/labels", body, len, NULL, false, NULL), 202);
	}
	for (int i = 0; i < 200 && fc_labels(fc) < kept; i++)
		h_sleep(0.05);
	h_sleep(0.5);
	size_t ne, nl;
	struct fc_event *ev = fc_events_copy(fc, &ne);
	struct fc_label *lb = fc_labels_copy(fc, &nl);
	cr_assert_eq(nl, ne, "one label per kept event, none for dropped ones");
	char **a = calloc(ne, sizeof(*a)), **b = calloc(nl, sizeof(*b));
	for (size_t i = 0; i < ne; i++)
		a[i] = ev[i].id;
	for (size_t i = 0; i < nl; i++)
		b[i] = lb[i].id;
	qsort(a, ne, sizeof(*a), cmp_str);
	qsort(b, nl, sizeof(*b), cmp_str);
	size_t mismatch = 0;
	for (size_t i = 0; i < ne && i < nl; i++)
		mismatch += strcmp(a[i], b[i]) != 0;
	cr_expect_eq(mismatch, 0, "label ids == kept event ids");
	free(a);
	free(b);
	fc_events_free(ev, ne);
	fc_labels_free(lb, nl);

	/* [model always] sample_rate = 1.0 beats the agent's 0.1. */
	size_t before = fc_events(fc), len = 0;
	for (int i = 0; i < 500; i++)
		len += (size_t)snprintf(body + len, (size_t)per * 128 - len,
		                        "{\"model\":\"always\",\"id\":\"a-%d\"}\n", i);
	cr_assert_eq(ap_post(&ag, "/v1/events", body, len, NULL, false, &resp), 202);
	cr_expect_str_eq(resp, "{\"accepted\":500,\"sampled\":500}\n");
	free(resp);
	cr_expect(fc_wait_events(fc, before + 500, 10));
	free(body);
	cr_expect_eq(ap_stop(&ag), 0);
	fc_free(fc);
	ap_cleanup(&ag);
}
