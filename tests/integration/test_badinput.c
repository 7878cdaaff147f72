/* Malformed and hostile input, table-driven (issue 9): one real agent (HTTP
 * /v1/events and /v1/labels, KServe /v1/kserve, UDP and unix datagrams, a
 * tailed JSONL file) in front of one real collector (token required), and a
 * raw nng REQ client on the collector's wire input. Each row says what goes
 * in, what must come back (HTTP status and the contract's "field", or the
 * wire Reply status) and which counter of the agent's or the collector's
 * /metrics must move, by exactly how much (and no other reject counter).
 * Good traffic flows through the agent the whole time and must arrive
 * exactly; neither process may crash. Rows that are hostile but valid
 * (quotes, SQL, -0, exactly 1024 features, ...) must be accepted and stored.
 *
 * Then the screen: names with terminal control characters cannot enter
 * through any input; a database written by something else that holds them
 * anyway is shown with them replaced (`mlwatch status`, `drift`, `alerts`,
 * `export`, and the dashboard in tmux): no raw ESC or C1 byte reaches the
 * terminal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cJSON.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/dbgen.h"
#include "../lib/harness.h"
#include "../lib/tuitest.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "ddsketch.h"
#include "text.h"

#define TOKEN "badinput-token-7f3a"

/* ---- the table ---------------------------------------------------------- */

enum target {
	T_EVENTS, /* POST /v1/events */
	T_LABELS, /* POST /v1/labels */
	T_KSERVE, /* POST /v1/kserve with .headers */
	T_HTTP,   /* .method on .path */
	T_UDP,    /* one datagram to udp://127.0.0.1:PORT */
	T_UNIX,   /* one datagram to unix:PATH */
	T_TAIL,   /* appended to the tailed file */
	T_WIRE,   /* a raw request to the collector (.wire picks the message) */
	T_TCP,    /* raw bytes to the collector's port: it must hang up */
};

/* Generated bodies (too large or too repetitive for a literal). */
enum gen {
	G_NONE,
	G_FEATURES_1025,
	G_FEATURES_10K,
	G_FEATURES_1024, /* exactly the limit: accepted */
	G_DEEP_ARRAYS,   /* 100k nested arrays in a feature value */
	G_DEEP_OBJECTS,  /* 100k nested objects */
	G_DEEP_DGRAM,    /* 30k nested arrays: fits in one datagram */
	G_LONG_NUMBER,   /* a 5000-digit integer feature: +Inf after strtod */
	G_TOO_MANY,      /* 501 events, over --max-events-per-request 500 */
	G_OVERSIZED,     /* 1.5 MiB, over --max-body 1MiB */
	G_LONG_CATEGORY, /* a 257-byte category */
	G_LONG_NAME,     /* a 129-byte feature name */
	G_LONG_MODEL,    /* a 65-character model name */
	G_LONG_ID,       /* a 129-character id */
	G_BIG_DGRAM,     /* 100 KiB in one unix datagram (limit 64 KiB) */
	G_LONG_LINE,     /* a 1.5 MiB line in the tailed file (limit: max_body) */
	G_KS_REQ_1025,   /* a KServe request whose instance has 1025 features */
	G_ZEROS,         /* 1 MiB of zero bytes */
};

/* Wire messages. */
enum wire {
	W_NONE,
	W_GARBAGE,
	W_EMPTY,
	W_TRUNCATED,
	W_FLIPPED, /* a valid batch with its length prefixes corrupted */
	W_OVERSIZED,
	W_WRONG_TOKEN,
	W_NO_TOKEN,
	W_LONG_TOKEN,
	W_VERSION,
	W_EMPTY_AGENT,
	W_ESC_AGENT,
	W_REPLAY_FIRST, /* stored */
	W_REPLAY_AGAIN, /* the same bytes again: a duplicate */
	W_REORDER_HIGH, /* seq 1000 */
	W_REORDER_LOW,  /* then seq 500: stored, not a duplicate */
	W_BAD_MODEL,
	W_NAN_LATENCY,
	W_ESC_FEATURE,
	W_INF_FEATURE,
	W_NAN_TS,
	W_FUTURE_TS,
	W_TOO_OLD,
	W_BAD_SKETCH,
	W_NEG_SKETCH,
	W_BAD_LABEL_ID,
	W_1025_FEATURES,
	W_SCORE_2,
	W_LONG_CATEGORY,
	W_HUGE_SUMMARY,
};

struct row {
	const char *name;
	enum target t;
	const char *body; /* NUL-terminated unless len */
	size_t len;
	enum gen gen;
	enum wire wire;
	const char *const *headers;
	const char *method, *path; /* T_HTTP */
	bool chunked;
	/* expected */
	long status;        /* HTTP status, or wire_status for T_WIRE */
	const char *field;  /* the 400's "field" (NULL: not checked) */
	const char *reason; /* agent: rejected_total{reason}; wire: rejects_total{reason} */
	int n_reason;       /* how much it moves (default 1 when reason is set) */
	int accepted;       /* events the agent takes (received_total of the input) */
	int stored;         /* wire: Reply.stored */
	bool duplicate;     /* wire: Reply.duplicate */
	const char *id;     /* an id that must be stored in the end (accepted rows) */
};

static const char *const ks_req[] = {"ce-id: ks-a",
                                     "ce-type: org.kubeflow.serving.inference.request",
                                     "ce-inferenceservicename: m", "ce-specversion: 1.0", NULL};
static const char *const ks_resp[] = {"ce-id: ks-a",
                                      "ce-type: org.kubeflow.serving.inference.response",
                                      "ce-inferenceservicename: m", NULL};
static const char *const ks_req_b[] = {"ce-id: ks-b",
                                       "ce-type: org.kubeflow.serving.inference.request",
                                       "ce-inferenceservicename: m", NULL};
static const char *const ks_resp_b[] = {"ce-id: ks-b",
                                        "ce-type: org.kubeflow.serving.inference.response",
                                        "ce-inferenceservicename: m", NULL};
static const char *const ks_req_c[] = {"ce-id: ks-c",
                                       "ce-type: org.kubeflow.serving.inference.request",
                                       "ce-inferenceservicename: m", NULL};
static const char *const ks_resp_c[] = {"ce-id: ks-c",
                                        "ce-type: org.kubeflow.serving.inference.response",
                                        "ce-inferenceservicename: m", NULL};
static const char *const ks_no_id[] = {"ce-type: org.kubeflow.serving.inference.request",
                                       "ce-inferenceservicename: m", NULL};
static const char *const ks_no_type[] = {"ce-id: ks-x", "ce-inferenceservicename: m", NULL};
static const char *const ks_bad_type[] = {"ce-id: ks-x", "ce-type: com.example.nothing",
                                          "ce-inferenceservicename: m", NULL};
static const char *const ks_no_svc[] = {"ce-id: ks-x",
                                        "ce-type: org.kubeflow.serving.inference.request", NULL};
static const char *const ks_bad_svc[] = {"ce-id: ks-x",
                                         "ce-type: org.kubeflow.serving.inference.request",
                                         "ce-inferenceservicename: bad name;DROP", NULL};
static const char *const ks_bad_time[] = {"ce-id: ks-x",
                                          "ce-type: org.kubeflow.serving.inference.request",
                                          "ce-inferenceservicename: m", "ce-time: yesterday", NULL};
static const char *const ks_future[] = {
    "ce-id: ks-x", "ce-type: org.kubeflow.serving.inference.request", "ce-inferenceservicename: m",
    "ce-time: 2099-01-01T00:00:00Z", NULL};
static const char *const ks_long_id[] = {
    "ce-id: "
    "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
    "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
    "ce-type: org.kubeflow.serving.inference.request", "ce-inferenceservicename: m", NULL};
static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};

#define EV(x) "{\"model\":\"m\",\"id\":\"" x "\"}"

static const struct row rows[] = {
    /* ---- HTTP /v1/events: truncated and not JSON ---- */
    {"empty body", T_EVENTS, "", .status = 400, .field = NULL, .reason = "malformed"},
    {"only whitespace", T_EVENTS, " \n\t\r\n ", .status = 400, .reason = "malformed"},
    {"lone brace", T_EVENTS, "{", .status = 400, .reason = "malformed"},
    {"truncated object", T_EVENTS, "{\"model\":\"m\"", .status = 400, .reason = "malformed"},
    {"truncated in a string", T_EVENTS, "{\"model\":\"m", .status = 400, .reason = "malformed"},
    {"truncated in features", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":1", .status = 400,
     .reason = "malformed"},
    {"truncated array", T_EVENTS, "[" EV("t1") ",", .status = 400, .reason = "malformed"},
    {"truncated escape", T_EVENTS, "{\"model\":\"m\\u00", .status = 400, .reason = "malformed"},
    {"bad literal", T_EVENTS, "nul", .status = 400, .reason = "malformed"},
    {"a bare string", T_EVENTS, "\"fraud\"", .status = 400, .reason = "malformed"},
    {"a bare number", T_EVENTS, "42", .status = 400, .reason = "malformed"},
    {"array of numbers", T_EVENTS, "[1,2,3]", .status = 400, .reason = "malformed"},
    {"array of arrays", T_EVENTS, "[[" EV("aa") "]]", .status = 400, .reason = "malformed"},
    {"garbage after object", T_EVENTS, EV("g1") "garbage", .status = 400, .reason = "malformed"},
    {"garbage after array", T_EVENTS, "[" EV("g2") "] x", .status = 400, .reason = "malformed"},
    {"NUL byte in the body", T_EVENTS, "{\"model\":\"m\",\0\"id\":\"n\"}", .len = 24, .status = 400,
     .reason = "malformed"},
    {"single quotes", T_EVENTS, "{'model':'m'}", .status = 400, .reason = "malformed"},
    {"trailing comma", T_EVENTS, "{\"model\":\"m\",}", .status = 400, .reason = "malformed"},
    {"comment", T_EVENTS, "{\"model\":\"m\" /* x */}", .status = 400, .reason = "malformed"},
    {"NaN literal", T_EVENTS, "{\"model\":\"m\",\"latency_ms\":NaN}", .status = 400,
     .reason = "malformed"},
    {"Infinity literal", T_EVENTS, "{\"model\":\"m\",\"latency_ms\":Infinity}", .status = 400,
     .reason = "malformed"},
    {"hex number", T_EVENTS, "{\"model\":\"m\",\"latency_ms\":0x10}", .status = 400,
     .reason = "malformed"},
    {"UTF-8 BOM", T_EVENTS, "\xef\xbb\xbf" EV("bom"), .status = 400, .reason = "malformed"},
    /* ---- invalid UTF-8 ---- */
    {"invalid UTF-8 in a category", T_EVENTS, "{\"model\":\"m\",\"features\":{\"c\":\"\xff\xfe\"}}",
     .status = 400, .field = "features.c", .reason = "malformed"},
    {"invalid UTF-8 in a feature name", T_EVENTS, "{\"model\":\"m\",\"features\":{\"\xc3\x28\":1}}",
     .status = 400, .reason = "malformed"},
    {"overlong UTF-8 '/'", T_EVENTS, "{\"model\":\"m\",\"features\":{\"c\":\"\xc0\xaf\"}}",
     .status = 400, .field = "features.c", .reason = "malformed"},
    {"UTF-8 surrogate bytes", T_EVENTS, "{\"model\":\"m\",\"features\":{\"c\":\"\xed\xa0\x80\"}}",
     .status = 400, .field = "features.c", .reason = "malformed"},
    {"lone surrogate escape", T_EVENTS, "{\"model\":\"m\",\"features\":{\"c\":\"\\ud800\"}}",
     .status = 400, .reason = "malformed"},
    {"invalid UTF-8 in an id", T_EVENTS, "{\"model\":\"m\",\"id\":\"\xfe\"}", .status = 400,
     .field = "id", .reason = "malformed"},
    {"invalid UTF-8 in a prediction", T_EVENTS, "{\"model\":\"m\",\"prediction\":\"\x80\"}",
     .status = 400, .field = "prediction", .reason = "malformed"},
    /* ---- model ---- */
    {"model missing", T_EVENTS, "{\"id\":\"x\"}", .status = 400, .field = "model",
     .reason = "malformed"},
    {"model empty", T_EVENTS, "{\"model\":\"\"}", .status = 400, .field = "model",
     .reason = "malformed"},
    {"model 65 chars", T_EVENTS, .gen = G_LONG_MODEL, .status = 400, .field = "model",
     .reason = "malformed"},
    {"model with a space", T_EVENTS, "{\"model\":\"fr aud\"}", .status = 400, .field = "model",
     .reason = "malformed"},
    {"model with SQL", T_EVENTS, "{\"model\":\"m'; DROP TABLE events;--\"}", .status = 400,
     .field = "model", .reason = "malformed"},
    {"model with a path", T_EVENTS, "{\"model\":\"../../etc/passwd\"}", .status = 400,
     .field = "model", .reason = "malformed"},
    {"model with ESC", T_EVENTS, "{\"model\":\"m\\u001b[2J\"}", .status = 400, .field = "model",
     .reason = "malformed"},
    {"model a number", T_EVENTS, "{\"model\":7}", .status = 400, .field = "model",
     .reason = "malformed"},
    {"model null", T_EVENTS, "{\"model\":null}", .status = 400, .field = "model",
     .reason = "malformed"},
    /* ---- id, version, ts ---- */
    {"id 129 chars", T_EVENTS, .gen = G_LONG_ID, .status = 400, .field = "id",
     .reason = "malformed"},
    {"id with a control char", T_EVENTS, "{\"model\":\"m\",\"id\":\"a\\u0001b\"}", .status = 400,
     .field = "id", .reason = "malformed"},
    {"id with a newline", T_EVENTS, "{\"model\":\"m\",\"id\":\"a\\nb\"}", .status = 400,
     .field = "id", .reason = "malformed"},
    {"id an object", T_EVENTS, "{\"model\":\"m\",\"id\":{}}", .status = 400, .field = "id",
     .reason = "malformed"},
    {"id empty", T_EVENTS, "{\"model\":\"m\",\"id\":\"\"}", .status = 400, .field = "id",
     .reason = "malformed"},
    {"version 65 chars", T_EVENTS,
     "{\"model\":\"m\",\"version\":"
     "\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"}",
     .status = 400, .field = "version", .reason = "malformed"},
    {"ts negative", T_EVENTS, "{\"model\":\"m\",\"ts\":-1}", .status = 400, .field = "ts",
     .reason = "malformed"},
    {"ts not a date", T_EVENTS, "{\"model\":\"m\",\"ts\":\"yesterday\"}", .status = 400,
     .field = "ts", .reason = "malformed"},
    {"ts overflowing to Inf", T_EVENTS, "{\"model\":\"m\",\"ts\":1e400}", .status = 400,
     .field = "ts", .reason = "malformed"},
    {"ts in 2099", T_EVENTS, "{\"model\":\"m\",\"ts\":4070908800}", .status = 400, .field = "ts",
     .reason = "malformed"},
    {"ts RFC 3339 in 2099", T_EVENTS, "{\"model\":\"m\",\"ts\":\"2099-01-01T00:00:00Z\"}",
     .status = 400, .field = "ts", .reason = "malformed"},
    {"ts a bool", T_EVENTS, "{\"model\":\"m\",\"ts\":true}", .status = 400, .field = "ts",
     .reason = "malformed"},
    /* ---- latency, error, score ---- */
    {"latency negative", T_EVENTS, "{\"model\":\"m\",\"latency_ms\":-1}", .status = 400,
     .field = "latency_ms", .reason = "malformed"},
    {"latency a string", T_EVENTS, "{\"model\":\"m\",\"latency_ms\":\"12\"}", .status = 400,
     .field = "latency_ms", .reason = "malformed"},
    {"latency 1e309 (Inf)", T_EVENTS, "{\"model\":\"m\",\"latency_ms\":1e309}", .status = 400,
     .field = "latency_ms", .reason = "malformed"},
    {"error a string", T_EVENTS, "{\"model\":\"m\",\"error\":\"yes\"}", .status = 400,
     .field = "error", .reason = "malformed"},
    {"score 1.5", T_EVENTS, "{\"model\":\"m\",\"score\":1.5}", .status = 400, .field = "score",
     .reason = "malformed"},
    {"score negative", T_EVENTS, "{\"model\":\"m\",\"score\":-0.1}", .status = 400,
     .field = "score", .reason = "malformed"},
    {"score a string", T_EVENTS, "{\"model\":\"m\",\"score\":\"0.5\"}", .status = 400,
     .field = "score", .reason = "malformed"},
    {"scores an array", T_EVENTS, "{\"model\":\"m\",\"scores\":[0.5]}", .status = 400,
     .field = "scores", .reason = "malformed"},
    {"scores value 2", T_EVENTS, "{\"model\":\"m\",\"scores\":{\"a\":2}}", .status = 400,
     .reason = "malformed"},
    /* ---- features ---- */
    {"features an array", T_EVENTS, "{\"model\":\"m\",\"features\":[1,2]}", .status = 400,
     .field = "features", .reason = "malformed"},
    {"features a string", T_EVENTS, "{\"model\":\"m\",\"features\":\"a=1\"}", .status = 400,
     .field = "features", .reason = "malformed"},
    {"feature an object", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":{\"b\":1}}}",
     .status = 400, .field = "features.a", .reason = "malformed"},
    /* an array of numbers is a vector feature (issue 19); these are not */
    {"feature a mixed array", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":[1,\"x\"]}}",
     .status = 400, .field = "features.a", .reason = "malformed"},
    {"feature a nested array", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":[[1],[2]]}}",
     .status = 400, .field = "features.a", .reason = "malformed"},
    {"feature a vector with inf", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":[1,1e999]}}",
     .status = 400, .field = "features.a", .reason = "malformed"},
    {"feature +Inf", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":1e999}}", .status = 400,
     .field = "features.a", .reason = "malformed"},
    {"feature -Inf", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":-1e999}}", .status = 400,
     .field = "features.a", .reason = "malformed"},
    {"feature 5000 digits", T_EVENTS, .gen = G_LONG_NUMBER, .status = 400, .field = "features.a",
     .reason = "malformed"},
    {"feature name empty", T_EVENTS, "{\"model\":\"m\",\"features\":{\"\":1}}", .status = 400,
     .reason = "malformed"},
    {"feature name reserved @", T_EVENTS, "{\"model\":\"m\",\"features\":{\"@prediction\":1}}",
     .status = 400, .field = "features.@prediction", .reason = "malformed"},
    {"feature name 129 bytes", T_EVENTS, .gen = G_LONG_NAME, .status = 400, .reason = "malformed"},
    {"feature name ESC [2J", T_EVENTS, "{\"model\":\"m\",\"features\":{\"\\u001b[2J\":1}}",
     .status = 400, .reason = "malformed"},
    {"feature name OSC title", T_EVENTS,
     "{\"model\":\"m\",\"features\":{\"\\u001b]0;owned\\u0007\":1}}", .status = 400,
     .reason = "malformed"},
    {"feature name newline", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\\nb\":1}}",
     .status = 400, .reason = "malformed"},
    {"feature name C1 CSI", T_EVENTS, "{\"model\":\"m\",\"features\":{\"\\u009b31m\":1}}",
     .status = 400, .reason = "malformed"},
    {"feature name DEL", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\\u007f\":1}}", .status = 400,
     .reason = "malformed"},
    {"feature name NUL escape", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\\u0000b\":1}}",
     .status = 400, .reason = "malformed"},
    {"category with ESC", T_EVENTS, "{\"model\":\"m\",\"features\":{\"c\":\"\\u001b[31mred\"}}",
     .status = 400, .field = "features.c", .reason = "malformed"},
    {"category 257 bytes", T_EVENTS, .gen = G_LONG_CATEGORY, .status = 400, .field = "features.c",
     .reason = "malformed"},
    {"1025 features", T_EVENTS, .gen = G_FEATURES_1025, .status = 400, .field = "features",
     .reason = "malformed"},
    {"10k features", T_EVENTS, .gen = G_FEATURES_10K, .status = 400, .field = "features",
     .reason = "malformed"},
    {"duplicate feature names", T_EVENTS, "{\"model\":\"m\",\"features\":{\"a\":1,\"a\":2}}",
     .status = 400, .reason = "malformed"},
    {"100k nested arrays", T_EVENTS, .gen = G_DEEP_ARRAYS, .status = 400, .reason = "malformed"},
    {"100k nested objects", T_EVENTS, .gen = G_DEEP_OBJECTS, .status = 400, .reason = "malformed"},
    {"prediction an object", T_EVENTS, "{\"model\":\"m\",\"prediction\":{\"a\":1}}", .status = 400,
     .field = "prediction", .reason = "malformed"},
    {"prediction an array", T_EVENTS, "{\"model\":\"m\",\"prediction\":[1]}", .status = 400,
     .field = "prediction", .reason = "malformed"},
    {"prediction with ESC", T_EVENTS, "{\"model\":\"m\",\"prediction\":\"\\u001bP\"}",
     .status = 400, .field = "prediction", .reason = "malformed"},
    {"label a bool", T_EVENTS, "{\"model\":\"m\",\"label\":{}}", .status = 400, .field = "label",
     .reason = "malformed"},
    {"array: a bad second item", T_EVENTS, "[" EV("aok") ",{\"model\":\"m\",\"latency_ms\":-5}]",
     .status = 400, .field = "latency_ms", .reason = "malformed"},
    {"NDJSON: a bad third line", T_EVENTS,
     EV("nd1") "\n" EV("nd2") "\n{\"model\":\"m\",\"score\":9}\n", .headers = ndjson, .status = 400,
     .field = "score", .reason = "malformed"},
    {"too many events", T_EVENTS, .gen = G_TOO_MANY, .status = 413, .reason = "too_many_events"},
    {"body over max_body", T_EVENTS, .gen = G_OVERSIZED, .status = 413, .reason = "too_large"},
    {"chunked body over max_body", T_EVENTS, .gen = G_OVERSIZED, .chunked = true, .status = 413,
     .reason = "too_large"},
    /* ---- hostile but valid: taken and stored as sent ---- */
    {"names with quotes and SQL", T_EVENTS,
     "{\"model\":\"m\",\"id\":\"ok-sql\",\"features\":{\"a'b\\\"c\":1,"
     "\"x'); DROP TABLE events;--\":\"'; DELETE FROM windows; --\",\"\\\\n\":2}}",
     .status = 202, .accepted = 1, .id = "ok-sql"},
    {"minus zero and tiny numbers", T_EVENTS,
     "{\"model\":\"m\",\"id\":\"ok-num\",\"latency_ms\":-0,\"features\":{\"a\":-0.0,"
     "\"b\":1e-320,\"c\":1.7976931348623157e308}}",
     .status = 202, .accepted = 1, .id = "ok-num"},
    {"exactly 1024 features", T_EVENTS, .gen = G_FEATURES_1024, .status = 202, .accepted = 1,
     .id = "ok-1024"},
    {"unicode names", T_EVENTS,
     "{\"model\":\"m\",\"id\":\"ok-uni\",\"features\":{\"\xc3\xa9t\xc3\xa9\":\"\xe6\x97\xa5"
     "\xe6\x9c\xac\",\"\xf0\x9f\x98\x80\":1}}",
     .status = 202, .accepted = 1, .id = "ok-uni"},
    /* ---- HTTP: endpoints and methods ---- */
    {"GET /v1/events", T_HTTP, .method = "GET", .path = "/v1/events", .status = 405,
     .reason = "bad_request"},
    {"PUT /v1/events", T_HTTP, EV("put"), .method = "PUT", .path = "/v1/events", .status = 405,
     .reason = "bad_request"},
    {"unknown path", T_HTTP, EV("p"), .method = "POST", .path = "/v1/events/../admin",
     .status = 404, .reason = "bad_request"},
    {"POST /metrics", T_HTTP, "x", .method = "POST", .path = "/metrics", .status = 405,
     .reason = "bad_request"},
    /* ---- /v1/labels ---- */
    {"label without id", T_LABELS, "{\"model\":\"m\",\"label\":1}", .status = 400, .field = "id",
     .reason = "malformed"},
    {"label without label", T_LABELS, "{\"model\":\"m\",\"id\":\"x\"}", .status = 400,
     .field = "label", .reason = "malformed"},
    {"label an object", T_LABELS, "{\"model\":\"m\",\"id\":\"x\",\"label\":{}}", .status = 400,
     .field = "label", .reason = "malformed"},
    {"label bad model", T_LABELS, "{\"model\":\"a b\",\"id\":\"x\",\"label\":1}", .status = 400,
     .field = "model", .reason = "malformed"},
    {"label from 2099", T_LABELS, "{\"model\":\"m\",\"id\":\"x\",\"label\":1,\"ts\":4070908800}",
     .status = 400, .field = "ts", .reason = "malformed"},
    {"labels: a bad second", T_LABELS,
     "[{\"model\":\"m\",\"id\":\"x\",\"label\":1},{\"model\":\"m\",\"label\":1}]", .status = 400,
     .field = "id", .reason = "malformed"},
    /* ---- KServe ---- */
    {"kserve without CloudEvents headers", T_KSERVE, "{\"instances\":[[1]]}", .status = 400,
     .field = "ce-id", .reason = "malformed"},
    {"kserve without ce-id", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_no_id, .status = 400,
     .field = "ce-id", .reason = "malformed"},
    {"kserve ce-id 168 chars", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_long_id,
     .status = 400, .field = "ce-id", .reason = "malformed"},
    {"kserve without ce-type", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_no_type,
     .status = 400, .field = "ce-type", .reason = "malformed"},
    {"kserve unknown ce-type", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_bad_type,
     .status = 400, .field = "ce-type", .reason = "malformed"},
    {"kserve without service name", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_no_svc,
     .status = 400, .field = "ce-inferenceservicename", .reason = "malformed"},
    {"kserve invalid service name", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_bad_svc,
     .status = 400, .field = "ce-inferenceservicename", .reason = "malformed"},
    {"kserve ce-time not a date", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_bad_time,
     .status = 400, .field = "ce-time", .reason = "malformed"},
    {"kserve ce-time in 2099", T_KSERVE, "{\"instances\":[[1]]}", .headers = ks_future,
     .status = 400, .field = "ce-time", .reason = "malformed"},
    {"kserve body not JSON", T_KSERVE, "instances=1", .headers = ks_req, .status = 400,
     .reason = "malformed"},
    {"kserve body an array", T_KSERVE, "[{\"instances\":[[1]]}]", .headers = ks_req, .status = 400,
     .reason = "malformed"},
    {"kserve truncated body", T_KSERVE, "{\"instances\":[[1,2", .headers = ks_req, .status = 400,
     .reason = "malformed"},
    {"kserve request without instances", T_KSERVE, "{\"inputz\":[]}", .headers = ks_req,
     .status = 400, .field = "instances", .reason = "malformed"},
    {"kserve response without predictions", T_KSERVE, "{\"outputz\":[]}", .headers = ks_resp,
     .status = 400, .field = "predictions", .reason = "malformed"},
    {"kserve instances a string", T_KSERVE, "{\"instances\":\"1,2\"}", .headers = ks_req,
     .status = 400, .field = "instances", .reason = "malformed"},
    /* a first half is held (nothing yet), its pair makes the events or fails */
    {"kserve request: 1025 features", T_KSERVE, .gen = G_KS_REQ_1025, .headers = ks_req_b,
     .status = 202},
    {"kserve response pairing 1025 features", T_KSERVE, "{\"predictions\":[1]}",
     .headers = ks_resp_b, .status = 400, .reason = "malformed"},
    {"kserve request with ESC in a name", T_KSERVE, "{\"instances\":[{\"\\u001b[2J\":1}]}",
     .headers = ks_req_c, .status = 202},
    {"kserve response pairing an ESC name", T_KSERVE, "{\"predictions\":[1]}", .headers = ks_resp_c,
     .status = 400, .reason = "malformed"},
    {"kserve v2 request, hostile shape", T_KSERVE,
     "{\"inputs\":[{\"name\":\"x\",\"shape\":[99999999999,2],\"datatype\":\"FP32\","
     "\"data\":[1,2]}]}",
     .headers = ks_req, .status = 202},
    {"kserve v2 response pairing it (shape ignored, one row)", T_KSERVE,
     "{\"outputs\":[{\"name\":\"p\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
     .headers = ks_resp, .status = 202, .accepted = 1},
    /* ---- datagrams: each is counted, good lines of one survive a bad one ---- */
    {"udp garbage", T_UDP, "\x01\x02garbage\xff", .reason = "malformed"},
    {"udp truncated JSON", T_UDP, "{\"model\":\"m\",\"id\":", .reason = "malformed"},
    {"udp invalid UTF-8", T_UDP, "{\"model\":\"m\",\"features\":{\"c\":\"\xff\"}}",
     .reason = "malformed"},
    {"udp NUL byte", T_UDP, "{\"model\":\"m\"}\0{}", .len = 16, .reason = "malformed"},
    {"udp future ts", T_UDP, "{\"model\":\"m\",\"ts\":4070908800}", .reason = "malformed"},
    {"udp ESC feature", T_UDP, "{\"model\":\"m\",\"features\":{\"\\u001b[2J\":1}}",
     .reason = "malformed"},
    {"udp NDJSON, one bad line of three", T_UDP,
     "{\"model\":\"m\",\"id\":\"ok-dg1\"}\n{\"model\":\"m\",\"latency_ms\":-1}\n"
     "{\"model\":\"m\",\"id\":\"ok-dg2\"}\n",
     .reason = "malformed", .accepted = 2, .id = "ok-dg2"},
    {"udp valid (quotes)", T_UDP,
     "{\"model\":\"m\",\"id\":\"ok-dg3\",\"features\":{\"it's\":\"\\\"q\\\"\"}}", .accepted = 1,
     .id = "ok-dg3"},
    {"unix garbage", T_UNIX, "\xde\xad\xbe\xef", .reason = "malformed"},
    {"unix 30k nested arrays", T_UNIX, .gen = G_DEEP_DGRAM, .reason = "malformed"},
    {"unix datagram over 64 KiB", T_UNIX, .gen = G_BIG_DGRAM, .reason = "too_large"},
    {"unix valid", T_UNIX, "{\"model\":\"m\",\"id\":\"ok-dg4\"}", .accepted = 1, .id = "ok-dg4"},
    /* ---- the tailed file: each bad line counted, the next one read ---- */
    {"tail garbage line", T_TAIL, "this is not json\n", .reason = "malformed"},
    {"tail invalid UTF-8", T_TAIL, "{\"model\":\"m\",\"id\":\"\xc3\"}\n", .reason = "malformed"},
    {"tail truncated object", T_TAIL, "{\"model\":\"m\",\"features\":{\n", .reason = "malformed"},
    {"tail two objects on a line", T_TAIL, EV("t2a") EV("t2b") "\n", .reason = "malformed"},
    {"tail NUL byte", T_TAIL, "{\"model\":\"m\",\0\"id\":\"x\"}\n", .len = 24,
     .reason = "malformed"},
    {"tail 10k features", T_TAIL, .gen = G_FEATURES_10K, .reason = "malformed"},
    {"tail line over max_body", T_TAIL, .gen = G_LONG_LINE, .reason = "too_large"},
    {"tail CRLF line", T_TAIL, "{\"model\":\"m\",\"id\":\"ok-tail\"}\r\n", .accepted = 1,
     .id = "ok-tail"},
    /* ---- the collector's wire input, raw nng REQ ---- */
    {"wire garbage", T_WIRE, .wire = W_GARBAGE, .status = WIRE_INVALID, .reason = "malformed"},
    {"wire empty message", T_WIRE, .wire = W_EMPTY, .status = WIRE_INVALID, .reason = "malformed"},
    {"wire truncated batch", T_WIRE, .wire = W_TRUNCATED, .status = WIRE_INVALID,
     .reason = "malformed"},
    {"wire corrupted lengths", T_WIRE, .wire = W_FLIPPED, .status = WIRE_INVALID,
     .reason = "malformed"},
    {"wire over max_message", T_WIRE, .wire = W_OVERSIZED, .status = WIRE_INVALID,
     .reason = "oversized"},
    /* raw TCP on the wire port: the connection is dropped, nothing else */
    {"tcp: an HTTP request", T_TCP, .body = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"},
    {"tcp: 1 MiB of zeros", T_TCP, .gen = G_ZEROS},
    {"tcp: SP handshake of PUB", T_TCP, "\0SP\0\0\x20\0\0", .len = 8},
    {"tcp: REQ announcing 4 MiB", T_TCP, "\0SP\0\0\x30\0\0\0\0\0\0\0\x40\0\0\x80\0\0\x01",
     .len = 20},
    {"tcp: REQ announcing 2^63 bytes", T_TCP, "\0SP\0\0\x30\0\0\x80\0\0\0\0\0\0\0\x80\0\0\x01",
     .len = 20},
    {"wire wrong token", T_WIRE, .wire = W_WRONG_TOKEN, .status = WIRE_UNAUTHORIZED,
     .reason = "unauthorized"},
    {"wire missing token", T_WIRE, .wire = W_NO_TOKEN, .status = WIRE_UNAUTHORIZED,
     .reason = "unauthorized"},
    {"wire 2000-byte token", T_WIRE, .wire = W_LONG_TOKEN, .status = WIRE_INVALID,
     .reason = "malformed"},
    {"wire protocol 99", T_WIRE, .wire = W_VERSION, .status = WIRE_VERSION, .reason = "version"},
    {"wire empty agent_id", T_WIRE, .wire = W_EMPTY_AGENT, .status = WIRE_INVALID,
     .reason = "malformed"},
    {"wire ESC in agent_id", T_WIRE, .wire = W_ESC_AGENT, .status = WIRE_INVALID,
     .reason = "malformed"},
    {"wire batch", T_WIRE, .wire = W_REPLAY_FIRST, .status = WIRE_OK, .stored = 3, .id = "w-2-2"},
    {"wire the same batch replayed", T_WIRE, .wire = W_REPLAY_AGAIN, .status = WIRE_OK,
     .duplicate = true},
    {"wire seq 1000", T_WIRE, .wire = W_REORDER_HIGH, .status = WIRE_OK, .stored = 3},
    {"wire then seq 500 (reordered)", T_WIRE, .wire = W_REORDER_LOW, .status = WIRE_OK, .stored = 3,
     .id = "w-500-0"},
    {"wire invalid model name", T_WIRE, .wire = W_BAD_MODEL, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire NaN latency", T_WIRE, .wire = W_NAN_LATENCY, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire ESC feature name", T_WIRE, .wire = W_ESC_FEATURE, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire Inf feature", T_WIRE, .wire = W_INF_FEATURE, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire NaN ts", T_WIRE, .wire = W_NAN_TS, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire ts in 2099", T_WIRE, .wire = W_FUTURE_TS, .status = WIRE_OK, .stored = 1,
     .reason = "future_ts"},
    {"wire ts 30 days old", T_WIRE, .wire = W_TOO_OLD, .status = WIRE_OK, .stored = 1,
     .reason = "too_old"},
    {"wire undecodable sketch", T_WIRE, .wire = W_BAD_SKETCH, .status = WIRE_OK, .stored = 1,
     .reason = "bad_sketch"},
    {"wire latency sketch with a negative value", T_WIRE, .wire = W_NEG_SKETCH, .status = WIRE_OK,
     .stored = 1, .reason = "bad_sketch"},
    {"wire label with a bad id", T_WIRE, .wire = W_BAD_LABEL_ID, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire 1025 features", T_WIRE, .wire = W_1025_FEATURES, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire score 2", T_WIRE, .wire = W_SCORE_2, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire 300-byte category", T_WIRE, .wire = W_LONG_CATEGORY, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
    {"wire summary count 2^63", T_WIRE, .wire = W_HUGE_SUMMARY, .status = WIRE_OK, .stored = 1,
     .reason = "invalid_item"},
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- generated bodies ------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		cr_assert_geq(n, 0);
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
}

static void put_rep(struct buf *b, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		put(b, "%s", s);
}

static void features(struct buf *b, const char *id, int n)
{
	put(b, "{\"model\":\"m\",\"id\":\"%s\",\"features\":{", id);
	for (int i = 0; i < n; i++)
		put(b, "%s\"f%05d\":%d", i ? "," : "", i, i);
	put(b, "}}");
}

static char *generate(enum gen g, size_t *len)
{
	struct buf b = {malloc(4096), 0, 4096};
	switch (g) {
	case G_FEATURES_1025:
		features(&b, "f1025", 1025);
		break;
	case G_FEATURES_10K:
		features(&b, "f10k", 10000);
		break;
	case G_FEATURES_1024:
		features(&b, "ok-1024", 1024);
		break;
	case G_DEEP_ARRAYS:
		put(&b, "{\"model\":\"m\",\"features\":{\"a\":");
		put_rep(&b, "[", 100000);
		put_rep(&b, "]", 100000);
		put(&b, "}}");
		break;
	case G_DEEP_DGRAM:
		put(&b, "{\"model\":\"m\",\"features\":{\"a\":");
		put_rep(&b, "[", 30000);
		put_rep(&b, "]", 30000);
		put(&b, "}}");
		break;
	case G_DEEP_OBJECTS:
		put(&b, "{\"model\":\"m\",\"features\":");
		put_rep(&b, "{\"a\":", 100000);
		put(&b, "1");
		put_rep(&b, "}", 100000);
		put(&b, "}");
		break;
	case G_LONG_NUMBER:
		put(&b, "{\"model\":\"m\",\"features\":{\"a\":");
		put_rep(&b, "9", 5000);
		put(&b, "}}");
		break;
	case G_TOO_MANY:
		put(&b, "[");
		for (int i = 0; i < 501; i++)
			put(&b, "%s{\"model\":\"m\",\"id\":\"many-%d\"}", i ? "," : "", i);
		put(&b, "]");
		break;
	case G_OVERSIZED:
		put(&b, "{\"model\":\"m\",\"features\":{\"pad\":\"");
		put_rep(&b, "0123456789abcdef", 1536 * 1024 / 16);
		put(&b, "\"}}");
		break;
	case G_LONG_CATEGORY:
		put(&b, "{\"model\":\"m\",\"features\":{\"c\":\"");
		put_rep(&b, "c", 257);
		put(&b, "\"}}");
		break;
	case G_LONG_NAME:
		put(&b, "{\"model\":\"m\",\"features\":{\"");
		put_rep(&b, "n", 129);
		put(&b, "\":1}}");
		break;
	case G_LONG_MODEL:
		put(&b, "{\"model\":\"");
		put_rep(&b, "m", 65);
		put(&b, "\"}");
		break;
	case G_LONG_ID:
		put(&b, "{\"model\":\"m\",\"id\":\"");
		put_rep(&b, "i", 129);
		put(&b, "\"}");
		break;
	case G_BIG_DGRAM:
		put(&b, "{\"model\":\"m\",\"features\":{\"pad\":\"");
		put_rep(&b, "x", 100 * 1024);
		put(&b, "\"}}");
		break;
	case G_LONG_LINE:
		put(&b, "{\"model\":\"m\",\"features\":{\"pad\":\"");
		put_rep(&b, "y", 1536 * 1024);
		put(&b, "\"}}");
		break;
	case G_KS_REQ_1025:
		put(&b, "{\"instances\":[{");
		for (int i = 0; i < 1025; i++)
			put(&b, "%s\"k%04d\":%d", i ? "," : "", i, i);
		put(&b, "}]}");
		break;
	case G_ZEROS:
		free(b.p);
		b.p = calloc(1, 1 << 20);
		b.len = 1 << 20;
		break;
	case G_NONE:
		break;
	}
	*len = b.len;
	return b.p;
}

/* ---- wire messages --------------------------------------------------------- */

static double now_s(void)
{
	return clock_now();
}

/* A batch of agent "hostile" with n good events (ids w-<seq>-<k>), plus
 * its summary. */
static void good_batch(struct wc_batch *wb, uint64_t seq, const char *token, int n)
{
	char id[64];
	double lat[8];
	int64_t sec = (int64_t)now_s() - 2;
	wc_batch_init(wb, "hostile", seq, token);
	for (int k = 0; k < n; k++) {
		struct wc_feature f = {"x", FEATURE_NUMERIC, k, NULL};
		lat[k] = 1 + k;
		snprintf(id, sizeof(id), "w-%llu-%d", (unsigned long long)seq, k);
		wc_batch_event(wb, "wirem", id, (double)sec, lat[k], false, &f, 1, wc_num(1), 0.5,
		               wc_none());
	}
	wc_batch_summary(wb, "wirem", sec, (uint64_t)n, 0, (uint64_t)n, lat, (size_t)n);
}

/* One good event plus one bad item of the row's kind. */
static void bad_item_batch(struct wc_batch *wb, enum wire w, uint64_t seq)
{
	char id[64], big[400];
	int64_t sec = (int64_t)now_s() - 2;
	struct wc_feature f = {"x", FEATURE_NUMERIC, 1, NULL};

	wc_batch_init(wb, "hostile", seq, TOKEN);
	snprintf(id, sizeof(id), "w-%llu-good", (unsigned long long)seq);
	wc_batch_event(wb, "wirem", id, (double)sec, 2, false, &f, 1, wc_num(1), 0.5, wc_none());
	snprintf(id, sizeof(id), "w-%llu-bad", (unsigned long long)seq);
	switch (w) {
	case W_BAD_MODEL:
		wc_batch_event(wb, "bad model!", id, (double)sec, 2, false, &f, 1, wc_num(1), -1,
		               wc_none());
		break;
	case W_NAN_LATENCY:
		/* the builder takes NaN for "no latency": set it afterwards */
		wc_batch_event(wb, "wirem", id, (double)sec, 1, false, &f, 1, wc_num(1), -1,
		               wc_none());
		wb->b.events[wb->b.n_events - 1].latency_ms = NAN;
		break;
	case W_ESC_FEATURE: {
		struct wc_feature e = {"\x1b[2Jx", FEATURE_NUMERIC, 1, NULL};
		wc_batch_event(wb, "wirem", id, (double)sec, 2, false, &e, 1, wc_num(1), -1,
		               wc_none());
		break;
	}
	case W_INF_FEATURE: {
		struct wc_feature e = {"x", FEATURE_NUMERIC, INFINITY, NULL};
		wc_batch_event(wb, "wirem", id, (double)sec, 2, false, &e, 1, wc_num(1), -1,
		               wc_none());
		break;
	}
	case W_NAN_TS:
		wc_batch_event(wb, "wirem", id, NAN, 2, false, &f, 1, wc_num(1), -1, wc_none());
		break;
	case W_FUTURE_TS:
		wc_batch_event(wb, "wirem", id, 4070908800.0, 2, false, &f, 1, wc_num(1), -1,
		               wc_none());
		break;
	case W_TOO_OLD:
		wc_batch_event(wb, "wirem", id, now_s() - 30 * 86400.0, 2, false, &f, 1, wc_num(1),
		               -1, wc_none());
		break;
	case W_BAD_SKETCH: {
		/* a valid summary for the good event, then a sketch of garbage */
		double lat = 2;
		wc_batch_summary(wb, "wirem", sec, 1, 0, 1, &lat, 1);
		wc_batch_summary(wb, "wirem", sec - 1, 5, 0, 0, NULL, 0);
		static const uint8_t junk[] = {0xff, 0xfe, 0x01, 0x02, 0x03};
		wb->b.summaries[wb->b.n_summaries - 1].sketch = junk;
		wb->b.summaries[wb->b.n_summaries - 1].sketch_len = sizeof(junk);
		break;
	}
	case W_NEG_SKETCH: {
		/* a valid summary, then one whose (well-formed) sketch holds a
		 * negative latency: the sketch format allows it, a latency not */
		double lat = 2, neg[] = {3, -4};
		wc_batch_summary(wb, "wirem", sec, 1, 0, 1, &lat, 1);
		wc_batch_summary(wb, "wirem", sec - 1, 2, 0, 0, neg, 2);
		break;
	}
	case W_BAD_LABEL_ID:
		wc_batch_label(wb, "wirem", "bad\nid", wc_num(1), (double)sec);
		break;
	case W_1025_FEATURES: {
		static struct wc_feature many[1025];
		static char names[1025][8];
		for (int i = 0; i < 1025; i++) {
			snprintf(names[i], sizeof(names[i]), "f%d", i);
			many[i] = (struct wc_feature){names[i], FEATURE_NUMERIC, i, NULL};
		}
		wc_batch_event(wb, "wirem", id, (double)sec, 2, false, many, 1025, wc_num(1), -1,
		               wc_none());
		break;
	}
	case W_SCORE_2:
		wc_batch_event(wb, "wirem", id, (double)sec, 2, false, &f, 1, wc_num(1), 2,
		               wc_none());
		break;
	case W_LONG_CATEGORY: {
		memset(big, 'c', 300);
		big[300] = '\0';
		struct wc_feature e = {"c", FEATURE_CATEGORICAL, 0, big};
		wc_batch_event(wb, "wirem", id, (double)sec, 2, false, &e, 1, wc_num(1), -1,
		               wc_none());
		break;
	}
	case W_HUGE_SUMMARY:
		wc_batch_summary(wb, "wirem", sec, UINT64_C(1) << 63, 0, 0, NULL, 0);
		break;
	default:
		cr_assert_fail("not a bad-item row");
	}
}

static uint8_t *replay_buf;
static size_t replay_len;

/* The request bytes of a wire row (malloc'd). */
static uint8_t *wire_message(enum wire w, size_t *len)
{
	struct wc_batch wb;
	uint8_t *out = NULL;
	static uint64_t seq = 2000;

	switch (w) {
	case W_GARBAGE:
		*len = 64;
		out = malloc(64);
		for (int i = 0; i < 64; i++)
			out[i] = (uint8_t)(i * 37 + 11);
		return out;
	case W_EMPTY:
		*len = 0;
		return malloc(1);
	case W_TRUNCATED:
	case W_FLIPPED:
		good_batch(&wb, seq++, TOKEN, 3);
		cr_assert_eq(wc_batch_encode(&wb, &out, len), 0);
		wc_batch_free(&wb);
		if (w == W_TRUNCATED) {
			*len = *len / 2;
		} else {
			/* Every byte that could be a length prefix of a nested
			 * message or string made huge. */
			for (size_t i = 0; i + 1 < *len; i++)
				if ((out[i] & 7) == 2)
					out[i + 1] = 0x7f;
		}
		return out;
	case W_OVERSIZED:
		*len = (5 << 20) / 2;
		return calloc(1, *len);

	case W_WRONG_TOKEN:
	case W_NO_TOKEN:
		good_batch(&wb, seq++, w == W_WRONG_TOKEN ? "badinput-token-7f3b" : NULL, 3);
		break;
	case W_LONG_TOKEN: {
		char tok[2001];
		memset(tok, 't', 2000);
		tok[2000] = '\0';
		good_batch(&wb, seq++, tok, 3);
		break;
	}
	case W_VERSION:
		good_batch(&wb, seq++, TOKEN, 3);
		wb.b.protocol = 99;
		break;
	case W_EMPTY_AGENT:
		good_batch(&wb, seq++, TOKEN, 3);
		wb.b.agent_id = "";
		break;
	case W_ESC_AGENT:
		good_batch(&wb, seq++, TOKEN, 3);
		wb.b.agent_id = "agent\x1b]0;owned\x07";
		break;
	case W_REPLAY_FIRST:
		good_batch(&wb, 2, TOKEN, 3);
		cr_assert_eq(wc_batch_encode(&wb, &replay_buf, &replay_len), 0);
		wc_batch_free(&wb);
		out = malloc(replay_len);
		memcpy(out, replay_buf, replay_len);
		*len = replay_len;
		return out;
	case W_REPLAY_AGAIN:
		cr_assert_not_null(replay_buf);
		out = malloc(replay_len);
		memcpy(out, replay_buf, replay_len);
		*len = replay_len;
		free(replay_buf);
		replay_buf = NULL;
		return out;
	case W_REORDER_HIGH:
		good_batch(&wb, 1000, TOKEN, 3);
		break;
	case W_REORDER_LOW:
		good_batch(&wb, 500, TOKEN, 3);
		break;
	default:
		bad_item_batch(&wb, w, seq++);
		break;
	}
	cr_assert_eq(wc_batch_encode(&wb, &out, len), 0);
	wc_batch_free(&wb);
	return out;
}

/* ---- the processes ------------------------------------------------------ */

static struct cproc C;
static struct agent_proc A;
static struct wc_client *WC;
static char tail_path[700], unix_path[700], tok_path[700];
static int udp_port;

static void good_stop(void);
static struct tt_tmux tm;

static void teardown(void)
{
	good_stop();
	tt_tmux_stop(&tm);
	if (WC)
		wc_close(WC);
	WC = NULL;
	if (A.p.pid > 0)
		ap_stop(&A);
	ap_cleanup(&A);
	cproc_cleanup(&C);
	memset(&A, 0, sizeof(A));
	memset(&C, 0, sizeof(C));
}

TestSuite(badinput, .fini = teardown, .timeout = 180);

static void start_both(void)
{
	char udp[64], unixu[760];
	cproc_init(&C, "badinput");
	snprintf(tok_path, sizeof(tok_path), "%s/token", C.dir);
	cr_assert_eq(h_write_file(tok_path, TOKEN "\n", strlen(TOKEN) + 1), 0);
	const char *cargs[] = {"--token-file", tok_path, "--max-message", "2MiB", NULL};
	cr_assert_eq(cproc_start(&C, cargs), 0, "see %s", C.log);
	cr_assert_eq(ap_init(&A, "badinput-agent"), 0);
	snprintf(A.collector, sizeof(A.collector), "%.127s", C.url);
	snprintf(tail_path, sizeof(tail_path), "%s/in.jsonl", A.dir);
	cr_assert_eq(h_write_file(tail_path, "", 0), 0);
	snprintf(unix_path, sizeof(unix_path), "%s/dg.sock", A.dir);
	udp_port = h_free_port();
	snprintf(udp, sizeof(udp), "udp://127.0.0.1:%d", udp_port);
	snprintf(unixu, sizeof(unixu), "unix:%s", unix_path);
	const char *aargs[] = {"--token-file",
	                       tok_path,
	                       "--max-body",
	                       "1MiB",
	                       "--max-events-per-request",
	                       "500",
	                       "--memory-max",
	                       "16MiB",
	                       "--listen-dgram",
	                       udp,
	                       "--listen-dgram",
	                       unixu,
	                       "--tail",
	                       tail_path,
	                       NULL};
	cr_assert_eq(ap_start(&A, aargs), 0, "see %s", A.log);
}

/* ---- sending one row ------------------------------------------------------ */

static void send_dgram(bool is_unix, const char *data, size_t len)
{
	int fd = socket(is_unix ? AF_UNIX : AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	ssize_t k;
	if (is_unix) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%.107s", unix_path);
		k = sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)udp_port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		k = sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof(a));
	}
	cr_assert_eq(k, (ssize_t)len, "sendto: %s", strerror(errno));
	close(fd);
}

static void append_tail(const char *data, size_t len)
{
	FILE *f = fopen(tail_path, "ab");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static const char *input_of(enum target t)
{
	switch (t) {
	case T_KSERVE:
		return "input=\"kserve\"";
	case T_UDP:
	case T_UNIX:
		return "input=\"dgram\"";
	case T_TAIL:
		return "input=\"tail\"";
	default:
		return "input=\"http\"";
	}
}

/* Checks a 4xx body: valid UTF-8 JSON with an "error" string, and the
 * contract's "field" when the row names one. */
static void check_error_body(const struct row *r, const char *body)
{
	cr_assert_not_null(body, "%s: no body", r->name);
	cr_assert(text_utf8_valid(body, strlen(body)), "%s: reply not UTF-8: %s", r->name, body);
	cJSON *j = cJSON_Parse(body);
	cr_assert_not_null(j, "%s: reply not JSON: %s", r->name, body);
	cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	cr_assert(cJSON_IsString(e) && e->valuestring[0], "%s: no error in %s", r->name, body);
	for (const unsigned char *p = (const unsigned char *)e->valuestring; *p; p++)
		cr_assert(*p >= 0x20 && *p != 0x7f, "%s: control character in the error: %s",
		          r->name, body);
	if (r->field) {
		cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "field");
		cr_assert(cJSON_IsString(f), "%s: no field in %s", r->name, body);
		cr_assert_str_eq(f->valuestring, r->field, "%s: %s", r->name, body);
		cr_assert(cJSON_HasObjectItem(j, "index"), "%s: no index in %s", r->name, body);
	}
	cJSON_Delete(j);
}

static double agent_reason(const char *reason)
{
	char lab[64];
	if (!reason)
		return ap_metric(&A, "mlwatch_agent_rejected_total", NULL);
	snprintf(lab, sizeof(lab), "reason=\"%s\"", reason);
	return ap_metric(&A, "mlwatch_agent_rejected_total", lab);
}

static double coll_metric(const char *series)
{
	char url[128];
	snprintf(url, sizeof(url), "%smetrics", C.http);
	char *page = http_get(url, NULL);
	double v = page ? metrics_value(page, series) : NAN;
	free(page);
	return v;
}

static double coll_rejects(const char *reason)
{
	char s[128];
	double sum = 0;
	static const char *const all[] = {"malformed", "oversized",    "unauthorized",
	                                  "version",   "invalid_item", "future_ts",
	                                  "too_old",   "bad_sketch",   "busy"};
	if (reason) {
		snprintf(s, sizeof(s), "mlwatch_collector_rejects_total{reason=\"%s\"}", reason);
		return coll_metric(s);
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sum += coll_rejects(all[i]);
	return sum;
}

static void run_wire_row(const struct row *r)
{
	size_t len;
	uint8_t *msg = wire_message(r->wire, &len);
	struct wire_reply rep;
	char err[256];
	double before = r->reason ? coll_rejects(r->reason) : 0, all_before = coll_rejects(NULL);
	double dup_before = coll_metric("mlwatch_collector_duplicate_batches_total");

	cr_assert_eq(wc_request(WC, msg, len, &rep, err, sizeof(err)), 0, "%s: %s", r->name, err);
	free(msg);
	cr_assert_eq(rep.status, r->status, "%s: status %s (%s), expected %s", r->name,
	             wire_status_name(rep.status), rep.message,
	             wire_status_name((enum wire_status)r->status));
	cr_assert(text_utf8_valid(rep.message, strlen(rep.message)), "%s", r->name);
	if (r->status == WIRE_OK) {
		cr_assert_eq(rep.duplicate, r->duplicate, "%s", r->name);
		if (!r->duplicate)
			cr_assert_eq(rep.stored, (uint32_t)r->stored, "%s: stored %u", r->name,
			             rep.stored);
	}
	int n = r->reason ? (r->n_reason ? r->n_reason : 1) : 0;
	if (r->reason)
		cr_assert_eq(coll_rejects(r->reason) - before, n, "%s: rejects{%s} moved by %g",
		             r->name, r->reason, coll_rejects(r->reason) - before);
	cr_assert_eq(coll_rejects(NULL) - all_before, n, "%s: other reject counters moved",
	             r->name);
	cr_assert_eq(coll_metric("mlwatch_collector_duplicate_batches_total") - dup_before,
	             r->duplicate ? 1 : 0, "%s", r->name);
}

static void run_agent_row(const struct row *r)
{
	size_t len = r->len ? r->len : (r->body ? strlen(r->body) : 0);
	char *gen = NULL;
	const char *body = r->body;
	int n = r->reason ? (r->n_reason ? r->n_reason : 1) : 0;
	double before = r->reason ? agent_reason(r->reason) : 0, all_before = agent_reason(NULL);
	double recv_before = ap_metric(&A, "mlwatch_agent_events_received_total", input_of(r->t));

	if (r->gen != G_NONE) {
		gen = generate(r->gen, &len);
		body = gen;
	}
	if (r->t == T_UDP || r->t == T_UNIX || r->t == T_TAIL) {
		if (r->t == T_TAIL) {
			append_tail(body, len);
			if (gen)
				append_tail("\n", 1);
		} else
			send_dgram(r->t == T_UNIX, body, len);
		/* No answer to wait for: wait for the counters, then make sure
		 * nothing more moves. */
		double end = h_now() + 5;
		while (h_now() < end &&
		       (agent_reason(NULL) - all_before < n ||
		        ap_metric(&A, "mlwatch_agent_events_received_total", input_of(r->t)) -
		                recv_before <
		            r->accepted))
			h_sleep(0.02);
		h_sleep(r->t == T_TAIL ? 0.25 : 0.05);
	} else {
		const char *path = r->t == T_EVENTS   ? "/v1/events"
		                   : r->t == T_LABELS ? "/v1/labels"
		                   : r->t == T_KSERVE ? "/v1/kserve"
		                                      : r->path;
		char url[256];
		struct h_http resp;
		snprintf(url, sizeof(url), "%s%s", A.http, path);
		cr_assert_eq(h_http(r->method ? r->method : "POST", url, body, len, r->headers,
		                    r->chunked, &resp),
		             0, "%s: no response (did the agent crash?)", r->name);
		cr_assert_eq(resp.status, r->status, "%s: HTTP %ld %s", r->name, resp.status,
		             resp.body ? resp.body : "");
		if (resp.status >= 400)
			check_error_body(r, resp.body);
		if (resp.status == 202 && r->t != T_KSERVE) {
			char want[64];
			snprintf(want, sizeof(want), "{\"accepted\":%d,", r->accepted);
			cr_assert(strncmp(resp.body, want, strlen(want)) == 0, "%s: %s", r->name,
			          resp.body);
		}
		h_http_free(&resp);
	}
	free(gen);
	if (r->reason)
		cr_assert_eq(agent_reason(r->reason) - before, n, "%s: rejected{%s} moved by %g",
		             r->name, r->reason, agent_reason(r->reason) - before);
	cr_assert_eq(agent_reason(NULL) - all_before, n, "%s: other reject counters moved by %g",
	             r->name, agent_reason(NULL) - all_before - n);
	/* The good traffic runs over HTTP: the 202 body says what one request
	 * took; the other inputs have their own counters. */
	if (r->t != T_EVENTS && r->t != T_LABELS && r->t != T_HTTP)
		cr_assert_eq(ap_metric(&A, "mlwatch_agent_events_received_total", input_of(r->t)) -
		                 recv_before,
		             r->accepted, "%s: events taken", r->name);
}

/* Raw bytes to the collector's nng port (SP over TCP: an 8-byte
 * handshake, then 8-byte big-endian lengths): whatever is not a valid
 * REQ peer within max_message is hung up on, without a reply, within a
 * few seconds; nothing is counted (the good traffic's batches go on). */
static void run_tcp_row(const struct row *r)
{
	size_t len = r->len ? r->len : (r->body ? strlen(r->body) : 0);
	char *gen = NULL;
	const char *body = r->body;
	double all_before = coll_rejects(NULL);

	if (r->gen != G_NONE) {
		gen = generate(r->gen, &len);
		body = gen;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)C.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (size_t off = 0; off < len;) {
		ssize_t k = send(fd, body + off, len - off, MSG_NOSIGNAL);
		if (k <= 0)
			break; /* already hung up on */
		off += (size_t)k;
	}
	/* Read until the collector closes (its own 8-byte handshake may come
	 * first); a timeout means it kept the connection open. */
	char junk[256];
	ssize_t k;
	double end = h_now() + 5;
	while ((k = recv(fd, junk, sizeof(junk), 0)) > 0 && h_now() < end)
		;
	int e = errno;
	close(fd);
	free(gen);
	cr_assert(k == 0 || (k < 0 && e == ECONNRESET), "%s: connection kept open (%s)", r->name,
	          k < 0 ? strerror(e) : "data");
	cr_assert_eq(coll_rejects(NULL), all_before, "%s", r->name);
}

/* ---- good traffic alongside --------------------------------------------- */

struct good {
	pthread_t th;
	bool running;
	atomic_bool stop;
	atomic_int accepted, failed;
};
static struct good G;

static void good_stop(void)
{
	if (!G.running)
		return;
	atomic_store(&G.stop, true);
	pthread_join(G.th, NULL);
	G.running = false;
}

static void *good_main(void *arg)
{
	struct good *g = arg;
	char body[2048];
	int i = 0;
	while (!atomic_load(&g->stop)) {
		size_t o = 0;
		o += (size_t)snprintf(body + o, sizeof(body) - o, "[");
		for (int k = 0; k < 5; k++, i++)
			o += (size_t)snprintf(
			    body + o, sizeof(body) - o,
			    "%s{\"model\":\"m\",\"id\":\"good-%06d\",\"latency_ms\":%d,"
			    "\"features\":{\"x\":%d,\"c\":\"DE\"},\"prediction\":1}",
			    k ? "," : "", i, i % 50, i % 7);
		snprintf(body + o, sizeof(body) - o, "]");
		if (ap_post(&A, "/v1/events", body, strlen(body), NULL, false, NULL) == 202)
			atomic_fetch_add(&g->accepted, 5);
		else
			atomic_fetch_add(&g->failed, 5);
		h_sleep(0.02);
	}
	return NULL;
}

Test(badinput, every_row_gets_its_status_and_counter_and_good_traffic_is_untouched)
{
	struct good *g = &G;
	char err[256];

	cr_assert_geq(N_ROWS, 100, "the table has %zu rows", N_ROWS);
	start_both();
	cr_assert_eq(wc_open(&WC, C.url, NULL, 10, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pthread_create(&g->th, NULL, good_main, g), 0);
	g->running = true;

	int accepted_rows = 0;
	for (size_t i = 0; i < N_ROWS; i++) {
		const struct row *r = &rows[i];
		if (getenv("MLWATCH_TEST_VERBOSE"))
			fprintf(stderr, "row %zu: %s\n", i, r->name);
		if (r->t == T_WIRE)
			run_wire_row(r);
		else if (r->t == T_TCP)
			run_tcp_row(r);
		else
			run_agent_row(r);
		accepted_rows += r->accepted;
		cr_assert(h_alive(&A.p), "the agent died at row '%s'", r->name);
		cr_assert(C.running && h_alive(&C.p), "the collector died at row '%s'", r->name);
	}
	good_stop();
	int good = atomic_load(&g->accepted);
	cr_assert_eq(atomic_load(&g->failed), 0, "good requests refused while the table ran");
	cr_assert_gt(good, 0);

	/* Good traffic arrived exactly, and so did every hostile-but-valid row. */
	int64_t want = good + accepted_rows;
	double end = h_now() + 20;
	while (h_now() < end &&
	       db_int(C.db, "SELECT count(*) FROM events e JOIN models m ON m.id = e.model_id "
	                    "WHERE m.name = 'm'") < want)
		h_sleep(0.1);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM events WHERE req_id LIKE 'good-%'"), good);
	cr_assert_eq(db_int(C.db, "SELECT count(DISTINCT req_id) FROM events WHERE req_id LIKE "
	                          "'good-%'"),
	             good);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM events e JOIN models m ON m.id = "
	                          "e.model_id WHERE m.name = 'm'"),
	             want, "events of model m besides the good traffic");
	for (size_t i = 0; i < N_ROWS; i++) {
		char sql[256];
		if (!rows[i].id)
			continue;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE req_id = '%s'",
		         rows[i].id);
		cr_assert_eq(db_int(C.db, sql), 1, "row '%s': %s not stored once", rows[i].name,
		             rows[i].id);
	}
	cr_assert(ap_wait_metric(&A, "mlwatch_agent_events_sent_total", NULL, (double)want, 10));
	cr_assert_eq(ap_metric(&A, "mlwatch_agent_events_dropped_total", NULL), 0);
	cr_assert_eq(ap_metric(&A, "mlwatch_agent_replies_error_total", NULL), 0,
	             "the collector refused a batch of the agent");
	/* The wire rows: good events of model wirem, each once. */
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM events WHERE req_id LIKE 'w-%-bad'"), 0);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM events WHERE req_id LIKE 'w-%'"),
	             db_int(C.db, "SELECT count(DISTINCT req_id) FROM events WHERE req_id LIKE "
	                          "'w-%'"));
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM models WHERE name NOT IN ('m', 'wirem')"),
	             0, "a refused model name was stored");
	/* Both still serve and stop cleanly. */
	cr_assert_eq(ap_stop(&A), 0, "agent exit status (see %s)", A.log);
	cr_assert_eq(cproc_stop(&C, SIGTERM), 0, "collector exit status (see %s)", C.log);
	char *log = h_read_file(A.log, NULL);
	cr_assert(!strchr(log, '\x1b'), "raw ESC in the agent's log");
	free(log);
	log = h_read_file(C.log, NULL);
	cr_assert(!strchr(log, '\x1b'), "raw ESC in the collector's log");
	free(log);
	fprintf(stderr, "badinput: %zu rows, %d good events alongside, all stored once\n", N_ROWS,
	        good);
}

/* ---- the screen ------------------------------------------------------------ */

/* The first raw terminal control byte in s (C0 but \n and \t, DEL, C1 as
 * UTF-8 or as a lone byte), or NULL. */
static const char *raw_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			return s + i;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
			return s + i;
		if (p[i] >= 0x80 && p[i] < 0xa0 && (i == 0 || p[i - 1] < 0xc0))
			/* a continuation byte with no lead: a raw C1 byte */
			if (!text_utf8_valid(s, n))
				return s + i;
	}
	return NULL;
}

#define EVIL_MODEL  "evil\x1b]0;owned\x07x"
#define EVIL_SHOWN  "evil?]0;owned?x"
#define EVIL_FEAT   "\x1b[2Jamt"
#define EVIL_FSHOWN "?[2Jamt"
#define EVIL_RULE   \
	"r\xc2\x9b" \
	"31mx"
#define EVIL_RSHOWN "r?31mx"

static void sql_exec(const char *db, const char *sql)
{
	sqlite3 *h;
	char *err = NULL;
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &err), SQLITE_OK, "%s: %s", sql,
	             err ? err : "");
	sqlite3_close(h);
}

/* Names with terminal controls cannot come in through any input (the table
 * above); a database written by something else may still hold them. Every
 * way mlwatch shows them replaces the controls. */
Test(badinput, hostile_names_in_the_database_never_reach_the_terminal_raw)
{
	char *dir = h_tmpdir("badinput-tui"), db[600], err[512], now_env[64],
	     *bin = h_bin("mlwatch");
	struct dbgen_opts o = {0};
	o.models = 3;
	o.features = 4;
	o.windows = 20;
	o.events_per_window = 4;
	o.open_window = true;
	dbgen_defaults(&o, &o);
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%.3f", o.now);
	snprintf(db, sizeof(db), "%s/hostile.db", dir);
	cr_assert_eq(dbgen_fill(db, &o, err, sizeof(err)), 0, "%s", err);
	/* Hostile names everywhere a name is shown. */
	sql_exec(db, "UPDATE models SET name = 'evil' || char(27) || ']0;owned' || char(7) || 'x' "
	             "WHERE name = 'fraud';"
	             "UPDATE alerts SET model = 'evil' || char(27) || ']0;owned' || char(7) || 'x' "
	             "WHERE model = 'fraud';"
	             "UPDATE drift SET feature = char(27) || '[2Jamt' WHERE feature = 'amount';"
	             "UPDATE window_features SET feature = char(27) || '[2Jamt' "
	             "WHERE feature = 'amount';"
	             "UPDATE reference SET feature = char(27) || '[2Jamt' WHERE feature = 'amount';"
	             "UPDATE features SET name = char(27) || '[2Jamt' WHERE name = 'amount';"
	             "UPDATE alerts SET rule = 'r' || char(155) || '31mx', feature = CASE WHEN "
	             "feature = 'amount' THEN char(27) || '[2Jamt' ELSE feature END;"
	             "UPDATE events SET pred_str = 'p' || char(27) || '[5m', req_id = 'id' || "
	             "char(8) || char(8) || 'x';");

	static const char *const cmds[][8] = {
	    {"status", NULL},
	    {"status", "--json", NULL},
	    {"drift", "--model", EVIL_MODEL, NULL},
	    {"drift", "--model", EVIL_MODEL, "--json", NULL},
	    {"latency", "--model", EVIL_MODEL, NULL},
	    {"accuracy", "--model", EVIL_MODEL, NULL},
	    {"alerts", "--all", NULL},
	    {"alerts", "--all", "--json", NULL},
	    {"export", "--model", EVIL_MODEL, "--format", "jsonl", "--since", "7d", NULL},
	    {"export", "--model", EVIL_MODEL, "--format", "csv", "--since", "7d", NULL},
	    {"drift", "--model", "nope\x1b[2J", NULL},
	    {"silence", "r\x1b[31m", "--for", "x\x1b[2J", NULL},
	    {"\x1b]0;owned\x07", NULL},
	};
	bool saw_evil = false;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *argv[16], *out = NULL, *er = NULL;
		int n = 0;
		argv[n++] = bin;
		argv[n++] = "--db";
		argv[n++] = db;
		for (int k = 0; cmds[i][k]; k++)
			argv[n++] = (char *)cmds[i][k];
		argv[n] = NULL;
		int rc = tt_run(argv, (char *[]){now_env, "TZ=UTC", "LC_ALL=C.UTF-8", NULL}, &out,
		                &er, 20);
		cr_assert(rc >= 0 && rc < 128, "mlwatch %s crashed (%d)", cmds[i][0], rc);
		const char *bad = raw_control(out, strlen(out));
		cr_assert_null(bad, "mlwatch %s %s: raw control byte 0x%02x in stdout near '%.20s'",
		               cmds[i][0], cmds[i][1] ? cmds[i][1] : "", (unsigned char)*bad,
		               bad > out + 10 ? bad - 10 : out);
		bad = raw_control(er, strlen(er));
		cr_assert_null(bad, "mlwatch %s: raw control byte 0x%02x in stderr: %s", cmds[i][0],
		               (unsigned char)*bad, er);
		saw_evil |= strstr(out, EVIL_SHOWN) || strstr(out, "evil\\u001b]0;owned\\u0007x");
		free(out);
		free(er);
	}
	cr_assert(saw_evil, "the hostile model was never listed");

	/* The dashboard in tmux: the names show with '?' for the controls, and
	 * the OSC did not retitle the pane. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "env -u NO_COLOR %s TZ=UTC LC_ALL=C.UTF-8 TERM=tmux-256color %s --db %s; "
	         "echo $? > %s/exit",
	         now_env, bin, db, dir);
	cr_assert_eq(tt_tmux_start(&tm, 160, 45, cmd), 0);
	char *s = tt_tmux_wait(&tm, EVIL_SHOWN, 10);
	cr_assert_not_null(s, "the hostile model is not on the overview");
	free(s);
	/* Select it (the overview is sorted; try each row) and open the drift
	 * heatmap: the feature is listed sanitized. */
	bool found = false;
	for (int tries = 0; tries < 4 && !found; tries++) {
		tt_tmux_key(&tm, "4");
		h_sleep(0.4);
		s = tt_tmux_capture(&tm);
		found = s && strstr(s, EVIL_FSHOWN);
		free(s);
		if (!found)
			tt_tmux_key(&tm, "m");
	}
	cr_assert(found, "the hostile feature is not on the heatmap");
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, EVIL_RSHOWN, 5);
	cr_assert_not_null(s, "the hostile rule is not in the alerts view");
	free(s);
	char *title = NULL;
	char *targv[] = {"/usr/bin/tmux", "-L", tm.sock, "display-message", "-p", "-t", tm.target,
	                 "#{pane_title}", NULL};
	cr_assert_eq(tt_run(targv, NULL, &title, NULL, 10), 0);
	cr_assert(!strstr(title, "owned"), "the pane title was set by a name: %s", title);
	free(title);
	char *esc = tt_tmux_capture_esc(&tm);
	cr_assert(!strstr(esc, "\x1b[2J"), "a clear-screen sequence reached the pane");
	free(esc);
	tt_tmux_key(&tm, "q");
	/* tmux does not always learn the exit status: the shell writes it */
	char path[700], *st = NULL;
	snprintf(path, sizeof(path), "%s/exit", dir);
	st = h_wait_file_content(path, 5);
	cr_assert_not_null(st, "the dashboard did not exit on q");
	cr_assert_str_eq(st, "0\n");
	free(st);
	tt_tmux_stop(&tm);
	h_rmtree(dir);
	free(dir);
	free(bin);
}
