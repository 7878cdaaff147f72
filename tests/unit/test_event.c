/* Unit tests for common/event: every rule of the contract's section 2. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "vector.h"

static const double NOW = 1764072000.0;

static struct event_batch batch;
static struct event_error err;
static char msg[512];

static void setup(void)
{
	event_batch_init(&batch);
}
static void teardown(void)
{
	event_batch_reset(&batch);
}

TestSuite(event, .init = setup, .fini = teardown);

static int parse(const char *body)
{
	return event_parse_body(body, strlen(body), EVENT_BODY_EVENTS, NOW, 100000, &batch, &err);
}
static int parse_labels(const char *body)
{
	return event_parse_body(body, strlen(body), EVENT_BODY_LABELS, NOW, 100000, &batch, &err);
}

/* Expects body to be rejected with field and a reason containing why. */
static void rejects(const char *body, const char *field, const char *why)
{
	size_t before = batch.n_events;
	int rc = parse(body);
	event_error_format(&err, msg, sizeof(msg));
	cr_assert_eq(rc, -1, "accepted: %s", body);
	cr_assert_str_eq(err.field, field, "field for %s: got '%s' (%s)", body, err.field, msg);
	if (why)
		cr_assert(strstr(err.reason, why), "reason for %s: '%s' lacks '%s'", body,
		          err.reason, why);
	cr_assert_eq(batch.n_events, before, "a rejected request kept events");
}

Test(event, full_example)
{
	const char *b =
	    "{\"model\": \"fraud\", \"version\": \"v3\", \"id\": \"req-81723\", \"ts\": "
	    "1764072000.123,"
	    " \"latency_ms\": 12.5, \"error\": false,"
	    " \"features\": {\"amount\": 129.5, \"country\": \"DE\", \"age\": null, \"vip\": true},"
	    " \"prediction\": \"fraud\", \"score\": 0.93, \"label\": null,"
	    " \"scores\": {\"fraud\": 0.93, \"legit\": 0.07}}";
	cr_assert_eq(parse(b), 0);
	cr_assert_eq(batch.n_events, 1);
	const struct event *e = &batch.events[0];
	cr_assert_str_eq(e->model, "fraud");
	cr_assert_str_eq(e->version, "v3");
	cr_assert_str_eq(e->id, "req-81723");
	cr_assert_float_eq(e->ts, 1764072000.123, 1e-6);
	cr_assert(e->ts_given);
	cr_assert(e->has_latency);
	cr_assert_float_eq(e->latency_ms, 12.5, 1e-12);
	cr_assert_not(e->error);
	cr_assert_eq(e->n_features, 4);
	cr_assert_str_eq(e->features[0].name, "amount");
	cr_assert_eq(e->features[0].kind, FEATURE_NUMERIC);
	cr_assert_float_eq(e->features[0].num, 129.5, 1e-12);
	cr_assert_eq(e->features[1].kind, FEATURE_CATEGORICAL);
	cr_assert_str_eq(e->features[1].str, "DE");
	cr_assert_eq(e->features[2].kind, FEATURE_MISSING);
	cr_assert_eq(e->features[3].kind, FEATURE_CATEGORICAL);
	cr_assert_str_eq(e->features[3].str, "true");
	cr_assert_eq(e->prediction.kind, VALUE_STRING);
	cr_assert_str_eq(e->prediction.str, "fraud");
	cr_assert(e->has_score);
	cr_assert_float_eq(e->score, 0.93, 1e-12);
	cr_assert_eq(e->label.kind, VALUE_NONE);
	cr_assert_eq(e->n_scores, 2);
	cr_assert_str_eq(e->scores[1].cls, "legit");
}

Test(event, minimal_event_uses_receive_time)
{
	cr_assert_eq(parse("{\"model\":\"m\"}"), 0);
	cr_assert_float_eq(batch.events[0].ts, NOW, 1e-9);
	cr_assert_not(batch.events[0].ts_given);
	cr_assert_null(batch.events[0].id);
	cr_assert_not(batch.events[0].has_latency);
}

Test(event, rfc3339_timestamps)
{
	cr_assert_eq(parse("{\"model\":\"m\",\"ts\":\"2025-11-25T12:00:00Z\"}"), 0);
	cr_assert_float_eq(batch.events[0].ts, 1764072000.0, 1e-9);
	cr_assert_eq(parse("{\"model\":\"m\",\"ts\":\"2025-11-25T14:00:00.250+02:00\"}"), 0);
	cr_assert_float_eq(batch.events[1].ts, 1764072000.25, 1e-9);
	cr_assert_eq(parse("{\"model\":\"m\",\"ts\":\"2025-11-25t12:00:00z\"}"), 0);
}

Test(event, model_rules)
{
	rejects("{\"id\":\"x\"}", "model", "required");
	rejects("{\"model\":null}", "model", "required");
	rejects("{\"model\":5}", "model", "string");
	rejects("{\"model\":\"\"}", "model", "1-64");
	rejects("{\"model\":\"has space\"}", "model", "[A-Za-z0-9_.-]");
	rejects("{\"model\":\"a/b\"}", "model", NULL);
	char big[200];
	snprintf(big, sizeof(big), "{\"model\":\"%065d\"}", 0);
	rejects(big, "model", "1-64");
	snprintf(big, sizeof(big), "{\"model\":\"%064d\"}", 0);
	cr_assert_eq(parse(big), 0);
	cr_assert_eq(parse("{\"model\":\"Fraud_v2.1-eu\"}"), 0);
}

Test(event, id_rules)
{
	rejects("{\"model\":\"m\",\"id\":\"\"}", "id", "1-128");
	rejects("{\"model\":\"m\",\"id\":7}", "id", "string");
	rejects("{\"model\":\"m\",\"id\":\"a\\u0001b\"}", "id", "printable");
	char big[300];
	snprintf(big, sizeof(big), "{\"model\":\"m\",\"id\":\"%0129d\"}", 0);
	rejects(big, "id", "1-128");
	snprintf(big, sizeof(big), "{\"model\":\"m\",\"id\":\"%0128d\"}", 0);
	cr_assert_eq(parse(big), 0);
}

Test(event, ts_rules)
{
	rejects("{\"model\":\"m\",\"ts\":-1}", "ts", "non-negative");
	rejects("{\"model\":\"m\",\"ts\":\"yesterday\"}", "ts", "RFC 3339");
	rejects("{\"model\":\"m\",\"ts\":\"2025-13-01T00:00:00Z\"}", "ts", "RFC 3339");
	rejects("{\"model\":\"m\",\"ts\":\"2025-02-30T00:00:00Z\"}", "ts", "RFC 3339");
	rejects("{\"model\":\"m\",\"ts\":\"2025-11-25T12:00:00\"}", "ts", "RFC 3339");
	rejects("{\"model\":\"m\",\"ts\":true}", "ts", "number");
	rejects("{\"model\":\"m\",\"ts\":1764072400}", "ts", "future");
	rejects("{\"model\":\"m\",\"ts\":1e300}", "ts", "future");
	rejects("{\"model\":\"m\",\"ts\":1e999}", "ts", NULL);
	cr_assert_eq(parse("{\"model\":\"m\",\"ts\":1764072299}"), 0); /* within 300 s */
	cr_assert_eq(parse("{\"model\":\"m\",\"ts\":1000000000}"), 0); /* old is fine */
}

Test(event, latency_error_score_rules)
{
	rejects("{\"model\":\"m\",\"latency_ms\":-0.5}", "latency_ms", ">= 0");
	rejects("{\"model\":\"m\",\"latency_ms\":\"5\"}", "latency_ms", "finite");
	rejects("{\"model\":\"m\",\"latency_ms\":1e400}", "latency_ms", "finite");
	rejects("{\"model\":\"m\",\"error\":1}", "error", "true or false");
	rejects("{\"model\":\"m\",\"score\":1.01}", "score", "[0, 1]");
	rejects("{\"model\":\"m\",\"score\":-0.1}", "score", "[0, 1]");
	rejects("{\"model\":\"m\",\"score\":\"high\"}", "score", "[0, 1]");
	rejects("{\"model\":\"m\",\"scores\":{\"a\":2}}", "scores.a", "[0, 1]");
	rejects("{\"model\":\"m\",\"scores\":[0.5]}", "scores", "object");
	cr_assert_eq(parse("{\"model\":\"m\",\"latency_ms\":0,\"error\":true,\"score\":1}"), 0);
	cr_assert(batch.events[0].error);
}

Test(event, nan_and_inf_are_rejected)
{
	/* JSON has no NaN literal; huge exponents overflow to Inf in strtod. */
	rejects("{\"model\":\"m\",\"features\":{\"x\":1e999}}", "features.x", "finite");
	rejects("{\"model\":\"m\",\"features\":{\"x\":-1e999}}", "features.x", "finite");
	rejects("{\"model\":\"m\",\"prediction\":1e999}", "prediction", "finite");
	cr_assert_eq(parse("{\"model\":\"m\",\"features\":{\"x\":NaN}}"), -1);
	cr_assert_eq(parse("{\"model\":\"m\",\"features\":{\"x\":Infinity}}"), -1);
}

Test(event, feature_rules)
{
	rejects("{\"model\":\"m\",\"features\":[1,2]}", "features", "object");
	rejects("{\"model\":\"m\",\"features\":{\"@score\":1}}", "features.@score", "'@'");
	rejects("{\"model\":\"m\",\"features\":{\"\":1}}", "features.", "1-128");
	rejects("{\"model\":\"m\",\"features\":{\"a\\u0007b\":1}}", "features.a\ab", "printable");
	rejects("{\"model\":\"m\",\"features\":{\"a\\nb\":1}}", "features.a\nb", "printable");
	rejects("{\"model\":\"m\",\"features\":{\"x\":{\"nested\":1}}}", "features.x",
	        "number, a string");
	/* an array is a vector now (issue 19); an object is still refused */
	rejects("{\"model\":\"m\",\"features\":{\"x\":{\"y\":1}}}", "features.x",
	        "number, a string");
	rejects("{\"model\":\"m\",\"features\":{\"x\":1,\"x\":2}}", "features.x", "twice");
	char name[200], body[400];
	memset(name, 'n', 129);
	name[129] = '\0';
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"features\":{\"%s\":1}}", name);
	cr_assert_eq(parse(body), -1);
	cr_assert(strstr(err.reason, "1-128"));
	cr_assert(strstr(err.field, "..."), "long names are shortened in errors: %s", err.field);
	name[128] = '\0';
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"features\":{\"%s\":1}}", name);
	cr_assert_eq(parse(body), 0);
	/* Non-ASCII printable names are fine. */
	cr_assert_eq(parse("{\"model\":\"m\",\"features\":{\"größe\":1,\"国\":\"日本\"}}"), 0);
}

Test(event, category_length)
{
	char *body = malloc(1024);
	char val[300];
	memset(val, 'c', 257);
	val[257] = '\0';
	snprintf(body, 1024, "{\"model\":\"m\",\"features\":{\"c\":\"%s\"}}", val);
	rejects(body, "features.c", "256");
	val[256] = '\0';
	snprintf(body, 1024, "{\"model\":\"m\",\"features\":{\"c\":\"%s\"}}", val);
	cr_assert_eq(parse(body), 0);
	free(body);
}

static char *many_features(int n)
{
	size_t cap = (size_t)n * 24 + 64, o = 0;
	char *b = malloc(cap);
	o += (size_t)snprintf(b + o, cap - o, "{\"model\":\"m\",\"features\":{");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(b + o, cap - o, "%s\"f%d\":%d", i ? "," : "", i, i);
	snprintf(b + o, cap - o, "}}");
	return b;
}

Test(event, feature_count_limit)
{
	char *b = many_features(1025);
	rejects(b, "features", "1024");
	free(b);
	b = many_features(1024);
	cr_assert_eq(parse(b), 0);
	cr_assert_eq(batch.events[0].n_features, 1024);
	free(b);
	/* 10k features: rejected quickly, no crash. */
	b = many_features(10000);
	rejects(b, "features", "1024");
	free(b);
}

Test(event, duplicate_among_many_features)
{
	char *b = many_features(100);
	char *p = strstr(b, "\"f57\"");
	memcpy(p, "\"f12\"", 5);
	rejects(b, "features.f12", "twice");
	free(b);
}

Test(event, invalid_utf8_is_rejected)
{
	rejects("{\"model\":\"m\",\"features\":{\"c\":\"\xff\xfe\"}}", "features.c", "UTF-8");
	rejects("{\"model\":\"m\",\"features\":{\"\xc0\xaf\":1}}", "features.\xc0\xaf", "UTF-8");
	rejects("{\"model\":\"m\",\"prediction\":\"\xed\xa0\x80\"}", "prediction", "UTF-8");
	rejects("{\"model\":\"m\",\"version\":\"\xe2\x82\"}", "version", "printable");
}

Test(event, prediction_and_label_kinds)
{
	cr_assert_eq(parse("{\"model\":\"m\",\"prediction\":1,\"label\":0}"), 0);
	cr_assert_eq(batch.events[0].prediction.kind, VALUE_NUMBER);
	cr_assert_eq(batch.events[0].label.kind, VALUE_NUMBER);
	rejects("{\"model\":\"m\",\"prediction\":1,\"label\":\"a\"}", "label", "same kind");
	rejects("{\"model\":\"m\",\"prediction\":\"a\",\"label\":1}", "label", "same kind");
	rejects("{\"model\":\"m\",\"prediction\":{\"a\":1}}", "prediction", "number, a string");
	rejects("{\"model\":\"m\",\"label\":[1]}", "label", "number, a string");
}

Test(event, deep_nesting_is_rejected_without_crash)
{
	size_t depth = 100000;
	char *b = malloc(depth * 2 + 64);
	const char head[] = "{\"model\":\"m\",\"features\":{\"x\":";
	size_t o = sizeof(head) - 1;
	memcpy(b, head, o);
	for (size_t i = 0; i < depth; i++)
		b[o++] = '[';
	for (size_t i = 0; i < depth; i++)
		b[o++] = ']';
	memcpy(b + o, "}}", 3);
	cr_assert_eq(parse(b), -1);
	cr_assert(strstr(err.reason, "invalid JSON"), "%s", err.reason);
	free(b);
}

Test(event, batches_array_and_ndjson)
{
	cr_assert_eq(parse("[{\"model\":\"a\"},{\"model\":\"b\"}]"), 0);
	cr_assert_eq(batch.n_events, 2);
	cr_assert_eq(parse("{\"model\":\"c\"}\n{\"model\":\"d\"}\r\n\n{\"model\":\"e\"}\n"), 0);
	cr_assert_eq(batch.n_events, 5);
	cr_assert_str_eq(batch.events[4].model, "e");
	cr_assert_eq(parse("  [ ]  "), 0);
	cr_assert_eq(batch.n_events, 5);
}

Test(event, batch_errors_carry_the_index_and_keep_nothing)
{
	cr_assert_eq(parse("[{\"model\":\"a\"},{\"model\":\"b\"},{\"model\":\"b c\"}]"), -1);
	cr_assert_eq(err.index, 2);
	cr_assert_str_eq(err.field, "model");
	cr_assert_eq(batch.n_events, 0);
	event_error_format(&err, msg, sizeof(msg));
	cr_assert_str_eq(msg, "[2].model: must be 1-64 characters of [A-Za-z0-9_.-]");

	cr_assert_eq(parse("{\"model\":\"a\"}\n{\"model\":\"b\",\"latency_ms\":-1}\n"), -1);
	cr_assert_eq(err.index, 1);
	cr_assert_str_eq(err.field, "latency_ms");
	cr_assert_eq(batch.n_events, 0);

	cr_assert_eq(parse("{\"model\":\"a\"}\n{\"model\": oops}\n"), -1);
	cr_assert_eq(err.index, 1);
	cr_assert(strstr(err.reason, "line 2"), "%s", err.reason);
	cr_assert_eq(batch.n_events, 0);
}

Test(event, body_level_errors)
{
	cr_assert_eq(parse(""), -1);
	cr_assert(strstr(err.reason, "empty"));
	cr_assert_eq(parse("   \n "), -1);
	cr_assert_eq(parse("42"), -1);
	cr_assert(strstr(err.reason, "expected a JSON object"));
	cr_assert_eq(parse("[{\"model\":\"a\"}] trailing"), -1);
	cr_assert(strstr(err.reason, "after the JSON array"));
	cr_assert_eq(parse("[1]"), -1);
	cr_assert_eq(err.index, 0);
	cr_assert(strstr(err.reason, "JSON object"));
	cr_assert_eq(parse("{\"model\":\"a\""), -1); /* truncated */
	const char nul[] = "{\"model\":\"a\"}\0{}";
	cr_assert_eq(
	    event_parse_body(nul, sizeof(nul) - 1, EVENT_BODY_EVENTS, NOW, 10, &batch, &err), -1);
	cr_assert(strstr(err.reason, "NUL"));
}

Test(event, item_limit)
{
	const char *b = "[{\"model\":\"a\"},{\"model\":\"a\"},{\"model\":\"a\"}]";
	cr_assert_eq(event_parse_body(b, strlen(b), EVENT_BODY_EVENTS, NOW, 2, &batch, &err), -2);
	cr_assert_eq(batch.n_events, 0);
	b = "{\"model\":\"a\"}\n{\"model\":\"a\"}\n{\"model\":\"a\"}\n";
	cr_assert_eq(event_parse_body(b, strlen(b), EVENT_BODY_EVENTS, NOW, 2, &batch, &err), -2);
	cr_assert_eq(event_parse_body(b, strlen(b), EVENT_BODY_EVENTS, NOW, 3, &batch, &err), 0);
}

Test(event, labels)
{
	cr_assert_eq(
	    parse_labels(
	        "{\"model\":\"fraud\",\"id\":\"req-1\",\"label\":\"legit\",\"ts\":1764071000}"),
	    0);
	cr_assert_eq(batch.n_labels, 1);
	cr_assert_str_eq(batch.labels[0].id, "req-1");
	cr_assert_eq(batch.labels[0].label.kind, VALUE_STRING);
	cr_assert_str_eq(batch.labels[0].label.str, "legit");
	cr_assert_eq(parse_labels("[{\"model\":\"r\",\"id\":\"a\",\"label\":3.5}]"), 0);
	cr_assert_float_eq(batch.labels[1].label.num, 3.5, 1e-12);
	cr_assert_eq(parse_labels("{\"model\":\"r\",\"label\":1}"), -1);
	cr_assert_str_eq(err.field, "id");
	cr_assert(strstr(err.reason, "required"));
	cr_assert_eq(parse_labels("{\"model\":\"r\",\"id\":\"a\"}"), -1);
	cr_assert_str_eq(err.field, "label");
	cr_assert_eq(parse_labels("{\"model\":\"r\",\"id\":\"a\",\"label\":null}"), -1);
	cr_assert_str_eq(err.field, "label");
	cr_assert_eq(parse_labels("{\"id\":\"a\",\"label\":1}"), -1);
	cr_assert_str_eq(err.field, "model");
	cr_assert_eq(parse_labels("{\"model\":\"r\",\"id\":\"a\",\"label\":1,\"ts\":\"bad\"}"), -1);
	cr_assert_str_eq(err.field, "ts");
	cr_assert_eq(batch.n_labels, 2);
}

Test(event, error_format_never_echoes_control_characters)
{
	cr_assert_eq(parse("{\"model\":\"m\",\"features\":{\"\\u001b[31mred\":1}}"), -1);
	event_error_format(&err, msg, sizeof(msg));
	cr_assert_null(strchr(msg, 0x1b), "raw ESC in: %s", msg);
	cr_assert(strstr(msg, "?[31mred"), "%s", msg);
}

Test(event, name_validators)
{
	cr_assert(event_model_name_valid("a", 1));
	cr_assert_not(event_model_name_valid("", 0));
	cr_assert(event_feature_name_valid("x y", 3));
	cr_assert_not(event_feature_name_valid("@x", 2));
	cr_assert(event_id_valid("req 1", 5));
	cr_assert_not(event_id_valid("\xc3\xa9", 2));
}

Test(event, name_filter_hits_every_repeat)
{
	struct event_name_filter f = {{0}};
	char name[16];
	int hits = 0;

	cr_assert_not(event_name_filter_add(&f, "amount", 6), "a first name is new");
	cr_assert(event_name_filter_add(&f, "amount", 6), "a repeat always hits");
	/* 200 more distinct names: hits are only hash collisions, and every
	 * name added before still hits */
	for (int i = 0; i < 200; i++) {
		int n = snprintf(name, sizeof(name), "f%d", i);
		hits += event_name_filter_add(&f, name, (size_t)n);
	}
	cr_assert_lt(hits, 50, "%d of 200 distinct names collided in 1024 bits", hits);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(name, sizeof(name), "f%d", i);
		cr_assert(event_name_filter_add(&f, name, (size_t)n), "f%d", i);
	}
}

/* Issue 15: LLM fields (tokens, TTFT, TPOT, finish reason) are optional,
 * validated, and unknown unless given (a zero is a known zero). */
Test(event, llm_fields_parse_and_are_unknown_when_absent)
{
	cr_assert_eq(parse("{\"model\": \"llama\", \"latency_ms\": 900, \"input_tokens\": 12, "
	                   "\"output_tokens\": 0, \"ttft_ms\": 85.5, \"tpot_ms\": 12.25, "
	                   "\"finish_reason\": \"length\"}\n{\"model\": \"llama\"}"),
	             0);
	cr_assert_eq(batch.n_events, 2);
	const struct event *e = &batch.events[0];
	cr_expect(e->has_input_tokens && e->input_tokens == 12);
	cr_expect(e->has_output_tokens && e->output_tokens == 0, "a known 0");
	cr_expect(e->has_ttft && e->ttft_ms == 85.5);
	cr_expect(e->has_tpot && e->tpot_ms == 12.25);
	cr_expect_str_eq(e->finish_reason, "length");
	cr_expect(event_has_llm(e));
	e = &batch.events[1];
	cr_expect(!e->has_input_tokens && !e->has_output_tokens && !e->has_ttft && !e->has_tpot);
	cr_expect_null(e->finish_reason);
	cr_expect(!event_has_llm(e));
}

Test(event, llm_fields_bad_values_are_refused_with_their_field)
{
	rejects("{\"model\": \"m\", \"input_tokens\": -1}", "input_tokens", "whole number");
	rejects("{\"model\": \"m\", \"output_tokens\": 1.5}", "output_tokens", "whole number");
	rejects("{\"model\": \"m\", \"output_tokens\": 1e12}", "output_tokens", "2^32");
	rejects("{\"model\": \"m\", \"output_tokens\": \"7\"}", "output_tokens", "whole number");
	rejects("{\"model\": \"m\", \"ttft_ms\": -0.5}", "ttft_ms", ">= 0");
	rejects("{\"model\": \"m\", \"tpot_ms\": true}", "tpot_ms", ">= 0");
	rejects("{\"model\": \"m\", \"finish_reason\": \"STOP now\"}", "finish_reason",
	        "[a-z0-9_-]");
	rejects("{\"model\": \"m\", \"finish_reason\": 3}", "finish_reason", "[a-z0-9_-]");
	rejects("{\"model\": \"m\", \"finish_reason\": \"\"}", "finish_reason", "[a-z0-9_-]");
}

/* Issue 19: a feature may be an array of numbers (a vector), kept as
 * float32; a hostile one is refused naming the feature, with the reason
 * the agent counts and answers with. */
Test(event, vector_features_parse_into_float32)
{
	cr_assert_eq(parse("{\"model\":\"m\",\"features\":{\"emb\":[0.5,-1,3e-3],\"a\":2}}"), 0);
	const struct event *e = &batch.events[0];
	cr_assert_eq(e->n_features, 2);
	cr_assert_eq(e->features[0].kind, FEATURE_VECTOR);
	cr_assert_eq(e->features[0].dim, 3);
	cr_expect_eq(e->features[0].vec[0], 0.5f);
	cr_expect_eq(e->features[0].vec[1], -1.0f);
	cr_expect_eq(e->features[0].vec[2], 3e-3f);
	cr_expect_eq(e->features[1].kind, FEATURE_NUMERIC);
}

Test(event, hostile_vectors_are_refused_with_their_reason)
{
	static const struct {
		const char *value;
		int reason;
		const char *why;
	} cases[] = {
	    {"[1,1e999]", VECTOR_NONFINITE, "element 1: must be a finite number"},
	    {"[1,1e39]", VECTOR_NONFINITE, "float32 range"},
	    {"[1,\"2\"]", VECTOR_NOT_NUMBER, "element 1: must be a number, not a string"},
	    {"[[1],[2]]", VECTOR_NOT_NUMBER, "element 0: must be a number, not an array"},
	    {"[true]", VECTOR_NOT_NUMBER, "not a boolean"},
	    {"[]", VECTOR_EMPTY, "at least one number"},
	};
	char body[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"model\":\"m\",\"features\":{\"emb\":%s}}",
		         cases[i].value);
		rejects(body, "features.emb", cases[i].why);
		cr_expect_eq(err.vector_reason, cases[i].reason, "%s: reason %d", cases[i].value,
		             err.vector_reason);
	}
	/* 4,097 dimensions: too long (the agent answers 413) */
	size_t cap = 4 * 4097 + 128, len;
	char *big = malloc(cap);
	cr_assert_not_null(big);
	len = (size_t)snprintf(big, cap, "{\"model\":\"m\",\"features\":{\"emb\":[");
	for (int i = 0; i < 4097; i++)
		len += (size_t)snprintf(big + len, cap - len, i ? ",1" : "1");
	snprintf(big + len, cap - len, "]}}");
	rejects(big, "features.emb", "more than 4096 dimensions");
	cr_expect_eq(err.vector_reason, VECTOR_TOO_LONG);
	cr_expect_eq(vector_reason_status((enum vector_reason)err.vector_reason), 413);
	free(big);
	/* any other refusal carries no vector reason */
	rejects("{\"model\":\"m\",\"features\":{\"a\":{}}}", "features.a", "array of numbers");
	cr_expect_eq(err.vector_reason, 0);
}

/* The definition event_json_has_nul_escape keeps: a 'u' after an odd run
 * of backslashes and before "0000" (the first way it was written, a memchr
 * for every 'u'). */
static bool nul_escape_reference(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != 'u' || i == 0 || s[i - 1] != '\\' || n - i < 5 ||
		    memcmp(s + i + 1, "0000", 4) != 0)
			continue;
		size_t run = 0;
		for (size_t q = i; q > 0 && s[q - 1] == '\\'; q--)
			run++;
		if (run % 2 == 1)
			return true;
	}
	return false;
}

Test(event, nul_escape_found_exactly_where_an_odd_backslash_run_leads_to_u0000)
{
	static const char alphabet[] = "\\\\u00a";
	char buf[48];
	uint64_t r = 0x853c49e6748fea9bull;
	int found = 0;

	cr_assert(event_json_has_nul_escape("\"a\\u0000b\"", 10));
	cr_assert_not(event_json_has_nul_escape("\"a\\\\u0000b\"", 11), "an escaped backslash");
	cr_assert(event_json_has_nul_escape("\\\\\\u0000", 8), "three backslashes");
	cr_assert_not(event_json_has_nul_escape("\\u000", 5), "cut short");
	cr_assert_not(event_json_has_nul_escape("u0000", 5));
	for (int k = 0; k < 200000; k++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		size_t n = (size_t)(r % sizeof(buf));
		for (size_t i = 0; i < n; i++) {
			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			buf[i] = alphabet[r % (sizeof(alphabet) - 1)];
		}
		bool want = nul_escape_reference(buf, n);
		found += want;
		cr_assert_eq(event_json_has_nul_escape(buf, n), want, "%.*s", (int)n, buf);
	}
	cr_assert(found > 100, "the random strings hold escapes now and then (%d)", found);
}
