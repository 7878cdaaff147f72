/* What the agent tells its operator and its clients (issue 13):
 *   - a label posted to /v1/events is refused with a hint and counted, not
 *     stored as an empty event (finding 13);
 *   - spooling is announced when it starts and summed up when the spool is
 *     replayed (finding 14);
 *   - a clean stop does not log a lost connection (finding 16). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/fake_collector.h"
#include "../lib/harness.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static void setup(void)
{
	cr_assert_eq(ap_init(&ag, "agent-trust"), 0);
}

static void teardown(void)
{
	if (ag.p.pid > 0)
		cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	fc_free(fc);
	fc = NULL;
	ap_cleanup(&ag);
}

static bool log_has(const char *needle)
{
	char *s = h_read_file(ag.log, NULL);
	bool found = s && strstr(s, needle);
	free(s);
	return found;
}

Test(agent_trust, label_on_events_is_refused_with_a_hint, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char *resp = NULL;
	const char *label = "{\"model\":\"fraud\",\"id\":\"req-1\",\"label\":\"legit\"}";
	const char *mixed = "[{\"model\":\"fraud\",\"id\":\"a\",\"prediction\":\"fraud\"},"
	                    "{\"model\":\"fraud\",\"id\":\"b\",\"label\":\"legit\"}]";
	const char *event = "{\"model\":\"fraud\",\"id\":\"req-1\",\"prediction\":\"fraud\","
	                    "\"label\":\"legit\"}";

	fc = fc_start(ag.collector);
	cr_assert(fc);
	cr_assert_eq(ap_start(&ag, NULL), 0);
	cr_assert_eq(ap_post(&ag, "/v1/events", label, strlen(label), NULL, false, &resp), 400);
	cr_assert(resp && strstr(resp, "/v1/labels") && strstr(resp, "\"field\":\"label\""),
	          "got %s", resp ? resp : "(none)");
	cr_assert_eq(resp[strlen(resp) - 1], '\n', "the body ends with a newline");
	free(resp);
	resp = NULL;
	cr_assert_eq(ap_post(&ag, "/v1/events", mixed, strlen(mixed), NULL, false, &resp), 400);
	cr_assert(resp && strstr(resp, "\"index\":1"), "got %s", resp ? resp : "(none)");
	free(resp);
	resp = NULL;
	cr_assert_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"label_only\""), 2);
	/* A prediction with its label, and the label on /v1/labels, still pass. */
	cr_assert_eq(ap_post(&ag, "/v1/events", event, strlen(event), NULL, false, &resp), 202);
	cr_assert(resp && resp[strlen(resp) - 1] == '\n');
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/labels", label, strlen(label), NULL, false, NULL), 202);
	cr_assert(fc_wait_events(fc, 1, 10));
	h_sleep(0.5);
	cr_assert_eq(fc_events(fc), 1, "no phantom event reached the collector");
}

Test(agent_trust, spooling_is_logged_when_it_starts_and_when_it_caught_up, .init = setup,
     .fini = teardown, .timeout = 90)
{
	char body[4096];
	size_t len = 0;

	/* No collector: batches go to the spool after a second. */
	cr_assert_eq(ap_start(&ag, NULL), 0);
	len += (size_t)snprintf(body + len, sizeof(body) - len, "[");
	for (int i = 0; i < 10; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len,
		                        "%s{\"model\":\"m\",\"id\":\"s-%d\",\"latency_ms\":5}",
		                        i ? "," : "", i);
	snprintf(body + len, sizeof(body) - len, "]");
	cr_assert_eq(ap_post(&ag, "/v1/events", body, strlen(body), NULL, false, NULL), 202);
	cr_assert(h_wait_log(ag.log, "spooling to disk: the collector is unreachable", 15),
	          "a warning when spooling starts; see %s", ag.log);
	cr_assert(log_has(" warn "), "logged as a warning");
	cr_assert(!log_has("caught up"));

	fc = fc_start(ag.collector);
	cr_assert(fc);
	cr_assert(fc_wait_events(fc, 10, 30), "replayed");
	cr_assert(h_wait_log(ag.log, "caught up: spool replayed to the collector", 15), "see %s",
	          ag.log);
	cr_assert(log_has("events_spooled=10"), "with counts; see %s", ag.log);
}

Test(agent_trust, clean_stop_logs_no_lost_connection, .init = setup, .fini = teardown,
     .timeout = 60)
{
	const char *event = "{\"model\":\"m\",\"id\":\"x\",\"prediction\":1}";

	fc = fc_start(ag.collector);
	cr_assert(fc);
	cr_assert_eq(ap_start(&ag, NULL), 0);
	cr_assert(h_wait_log(ag.log, "connected to the collector", 10));
	cr_assert_eq(ap_post(&ag, "/v1/events", event, strlen(event), NULL, false, NULL), 202);
	cr_assert(fc_wait_events(fc, 1, 10));
	cr_assert_eq(ap_stop(&ag), 0);
	cr_assert(!log_has("lost the connection"), "a clean stop is no loss; see %s", ag.log);
	ag.p.pid = 0;
}
