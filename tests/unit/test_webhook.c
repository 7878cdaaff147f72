/* webhook-listen's pure parts: the signature verdict (constant-time
 * compare against HMAC-SHA256 of the body) and the printed form of each
 * receiver format, whose first line scripts and the demo grep. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_webhook.h"
#include "payload.h"

Test(webhook, verdicts)
{
	const char *body = "{\"a\":1}";
	char sig[65], header[80];

	payload_sign("k", body, strlen(body), sig);
	snprintf(header, sizeof(header), "sha256=%s", sig);
	cr_assert_str_eq(webhook_verify("k", header, body, strlen(body)), "valid");
	cr_assert_str_eq(webhook_verify("other", header, body, strlen(body)), "invalid");
	cr_assert_str_eq(webhook_verify("k", header, "{\"a\":2}", 7), "invalid");
	cr_assert_str_eq(webhook_verify("k", sig, body, strlen(body)), "invalid",
	                 "no sha256= prefix");
	cr_assert_str_eq(webhook_verify("k", "sha256=00", body, strlen(body)), "invalid");
	cr_assert_str_eq(webhook_verify("k", NULL, body, strlen(body)), "missing");
	cr_assert_str_eq(webhook_verify(NULL, header, body, strlen(body)), "unchecked");
}

static char *describe(enum receiver_type t, const char *kind, const char *feature)
{
	char fp[17], *out = NULL;
	payload_fingerprint("r1", "fraud", feature, fp);
	struct notification n = {.kind = (char *)kind,
	                         .rule = "r1",
	                         .model = "fraud",
	                         .feature = (char *)feature,
	                         .severity = "warn",
	                         .metric = "drift",
	                         .op = ">",
	                         .expr = "drift(*) > 1",
	                         .window = "2025-11-25T12:00:00.000Z",
	                         .summary = "drifted\x1b[2J",
	                         .description = "",
	                         .fingerprint = fp,
	                         .value = 3,
	                         .threshold = 1,
	                         .starts_at = 1764072000,
	                         .ends_at = strcmp(kind, "resolved") == 0 ? 1764072060 : 0.0 / 0.0,
	                         .created = 1764072000,
	                         .alert_id = 1};
	struct payload_ctx ctx = {"hook", "", "KEY"};
	char *body = payload_render(t, &n, &ctx);
	cr_assert_eq(webhook_describe(body, "valid", &out), 1);
	free(body);
	return out;
}

Test(webhook, every_format_has_a_greppable_first_line)
{
	char *s = describe(RECEIVER_WEBHOOK, "firing", "the amount");
	cr_assert_eq(strncmp(s,
	                     "received status=firing rule=r1 model=fraud feature=\"the amount\" "
	                     "severity=warn signature=valid format=webhook\n",
	                     107),
	             0, "%s", s);
	cr_assert(strstr(s, "  summary: drifted?[2J\n"), "control characters are neutralised: %s",
	          s);
	cr_assert_null(strstr(s, "endsAt"), "no zero endsAt while firing");
	free(s);
	s = describe(RECEIVER_ALERTMANAGER, "resolved", "");
	cr_assert_eq(strncmp(s,
	                     "received status=resolved rule=r1 model=fraud severity=warn "
	                     "signature=valid format=alertmanager\n",
	                     94),
	             0, "%s", s);
	free(s);
	s = describe(RECEIVER_PAGERDUTY, "firing", "");
	cr_assert_eq(strncmp(s,
	                     "received status=firing rule=r1 model=fraud severity=warning "
	                     "signature=valid format=pagerduty\n",
	                     92),
	             0, "%s", s);
	free(s);
	s = describe(RECEIVER_SLACK, "resolved", "");
	cr_assert_eq(strncmp(s,
	                     "received status=resolved rule=r1 model=- severity=warn "
	                     "signature=valid format=slack\n",
	                     83),
	             0, "%s", s);
	free(s);
}

Test(webhook, not_json_and_unknown_shapes)
{
	char *out = NULL;
	cr_assert_eq(webhook_describe("{\"a\":", "unchecked", &out), -1);
	cr_assert_eq(webhook_describe("{\"a\":1} trailing", "unchecked", &out), -1);
	cr_assert_null(out);
	cr_assert_eq(webhook_describe("{\"a\":1}", "unchecked", &out), 0);
	cr_assert_str_eq(out, "received status=- rule=- model=- severity=- signature=unchecked "
	                      "format=unknown\n");
	free(out);
}
