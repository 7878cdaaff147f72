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
	const double now = 1764000000.0;
	const size_t n = strlen(body);
	char sig[65], header[120], other[120];

	payload_sign("k", 1764000000, body, n, sig);
	snprintf(header, sizeof(header), "t=1764000000,v1=%s", sig);
	cr_assert_str_eq(webhook_verify("k", header, body, n, now), "valid");
	cr_assert_str_eq(webhook_verify("k", header, body, n, now + 299), "valid");
	cr_assert_str_eq(webhook_verify("other", header, body, n, now), "invalid");
	cr_assert_str_eq(webhook_verify("k", header, "{\"a\":2}", 7, now), "invalid");
	/* The timestamp is signed: a replay with a fresh t= does not verify. */
	snprintf(other, sizeof(other), "t=1764000600,v1=%s", sig);
	cr_assert_str_eq(webhook_verify("k", other, body, n, now + 600), "invalid");
	/* The genuine request replayed later is stale. */
	cr_assert_str_eq(webhook_verify("k", header, body, n, now + 301), "stale");
	cr_assert_str_eq(webhook_verify("k", header, body, n, now - 301), "stale");
	cr_assert_str_eq(webhook_verify("k", sig, body, n, now), "invalid", "no t=");
	snprintf(other, sizeof(other), "sha256=%s", sig);
	cr_assert_str_eq(webhook_verify("k", other, body, n, now), "invalid", "old format");
	cr_assert_str_eq(webhook_verify("k", "t=1764000000,v1=00", body, n, now), "invalid");
	cr_assert_str_eq(webhook_verify("k", "t=,v1=", body, n, now), "invalid");
	cr_assert_str_eq(webhook_verify("k", NULL, body, n, now), "missing");
	cr_assert_str_eq(webhook_verify(NULL, header, body, n, now), "unchecked");
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
	struct payload_ctx ctx = {"hook", "", "KEY", NULL, NULL};
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
