/* payload: what a notification says, and how each receiver type wants it.
 *
 * The evaluator stores a receiver-neutral notification (JSON, see
 * payload_encode) in the outbox; the notifier renders it for its receiver
 * at send time, so no secret (PagerDuty routing key, HMAC secret) is ever
 * written to the database. Formats:
 *   webhook       Alertmanager webhook JSON, version "4"
 *   alertmanager  an array of postable alerts for POST /api/v2/alerts
 *   slack         {"text": ..., "blocks": [...]} for an incoming webhook
 *   pagerduty     Events API v2 trigger/resolve with dedup_key = fingerprint
 *   exec          the notification itself as one JSON object (see
 *                 mlwatch.conf(5)), on the command's standard input
 * webhook and exec carry what a retraining pipeline needs: the affected
 * window (window_start, window_end) and the `mlwatch export` command line
 * that prints that window's events with their joined labels.
 * Every returned string is malloc'd; the caller frees it. */
#ifndef MLW_PAYLOAD_H
#define MLW_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

enum receiver_type {
	RECEIVER_WEBHOOK,
	RECEIVER_ALERTMANAGER,
	RECEIVER_SLACK,
	RECEIVER_PAGERDUTY,
	RECEIVER_EXEC
};

#define PAYLOAD_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

struct notification {
	char *kind; /* firing | repeat | resolved */
	char *rule;
	char *model;
	char *feature;  /* "" for model-level alerts */
	char *severity; /* page | warn | info */
	char *metric;   /* p99_latency_ms, drift, ... */
	char *op;       /* > >= < <= == != */
	char *expr;
	char *window; /* "1m" (over) or the window start, RFC 3339 */
	char *summary;
	char *description;
	char *fingerprint;
	double value, threshold;
	double starts_at; /* Unix seconds */
	double ends_at;   /* resolve time; NAN while firing */
	double created;   /* when the notification was decided */
	/* The data the alert is about, Unix seconds, from <= ts < to: the
	 * analysis window for window metrics, [created - over, created) for
	 * `over` rules; NAN when the metric has no window (nodata). */
	double window_start, window_end;
	int64_t alert_id;
};

struct payload_ctx {
	const char *receiver;     /* receiver name */
	const char *external_url; /* [collector] external_url, "" when unset */
	const char *routing_key;  /* pagerduty */
	const char *mlwatch_bin;  /* for the export command line; NULL = "mlwatch" */
	const char *db_path;      /* the collector's database, absolute */
};

/* "webhook" -> RECEIVER_WEBHOOK ...; -1 for anything else. */
int payload_receiver_type(const char *s);

/* The stored form. Returns 0 or -1 (out of memory). */
int payload_encode(const struct notification *n, char **json);
/* Parses the stored form into n (strings malloc'd; payload_free frees them).
 * Returns 0, or -1 with the reason in err. */
int payload_decode(const char *json, struct notification *n, char *err, size_t errlen);
void payload_free(struct notification *n);

/* True when the notification says the alert is over. */
int payload_is_resolved(const struct notification *n);

/* The body for a receiver of type t; NULL when out of memory. */
char *payload_render(enum receiver_type t, const struct notification *n,
                     const struct payload_ctx *ctx);
/* The argv of `mlwatch --db DB export --model M --from S --to E --format
 * jsonl` for n's window (NULL-terminated, malloc'd, free with
 * payload_argv_free), or NULL when n has no window or out of memory. */
char **payload_export_argv(const struct notification *n, const struct payload_ctx *ctx);
void payload_argv_free(char **argv);
/* argv joined with POSIX shell single quotes where needed; malloc'd. */
char *payload_shell_join(char *const *argv);

/* The URL to POST to: url as configured, <url>/api/v2/alerts for
 * alertmanager, the Events API for pagerduty without url. */
char *payload_url(enum receiver_type t, const char *url);
/* "<external_url>/alerts?rule=R&model=M", or "" without external_url. */
char *payload_generator_url(const char *external_url, const struct notification *n);

/* Hex HMAC-SHA256 with secret of "<ts>.<body>" (Stripe/Slack style: the
 * timestamp is signed, so a captured request cannot be replayed later with
 * a fresh X-Mlwatch-Timestamp), into out (65 bytes). */
void payload_sign(const char *secret, long long ts, const char *body, size_t len, char out[65]);
/* Verifies an X-Mlwatch-Signature value "t=<ts>,v1=<hex>" over body at
 * wall time now: "valid", "invalid" (malformed or wrong digest, compared in
 * constant time), "stale" (a valid signature whose ts is more than
 * tolerance_s away from now: a replay or a badly wrong clock), "missing"
 * (header NULL). */
const char *payload_verify(const char *secret, const char *header, const char *body, size_t len,
                           double now, double tolerance_s);

/* Alertmanager-style 16-hex-digit fingerprint of an alert's identity. */
void payload_fingerprint(const char *rule, const char *model, const char *feature, char out[17]);

#endif
