/* triton: Triton trace-file text (one JSON array per file, records grouped
 * by trace id) becomes one event per trace: model, version, request id,
 * latency from REQUEST_START..REQUEST_END, TENSORS-level inputs as features
 * and the output as prediction; a trace still open at the end of the text
 * is left for the next read; unreadable tensors are dropped with a reason,
 * bad records refused with what, where and why. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "triton.h"

#define NOW  1800000000.0
#define MONO 1000.0 /* the steady clock now, s */

/* A whole trace as Triton writes it (tracer.cc): model record, then
 * REQUEST_START, QUEUE_START and REQUEST_END. */
#define TRACE(id, model, rid, start, end)                                                   \
	"{\"id\":" #id ",\"model_name\":\"" model "\",\"model_version\":1" rid "},"         \
	"{\"id\":" #id ",\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":" #start "}]}," \
	"{\"id\":" #id ",\"timestamps\":[{\"name\":\"QUEUE_START\",\"ns\":" #start "1}]},"  \
	"{\"id\":" #id ",\"timestamps\":[{\"name\":\"REQUEST_END\",\"ns\":" #end "}]}"

static struct event_batch eb;
static struct triton_report rep;

static void setup(void)
{
	event_batch_init(&eb);
}

static void teardown(void)
{
	event_batch_reset(&eb);
}

TestSuite(triton, .init = setup, .fini = teardown);

static size_t parse(const char *text, bool final)
{
	size_t used = 0;
	cr_assert_eq(triton_parse(text, strlen(text), final, NOW, MONO, 1000, &eb, &used, &rep), 0);
	return used;
}

static const struct feature *feat(const struct event *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_features; i++)
		if (strcmp(ev->features[i].name, name) == 0)
			return &ev->features[i];
	return NULL;
}

Test(triton, one_trace_per_id_with_latency_model_version_and_request_id)
{
	/* ns 999.5 s on a steady clock now at 1000 s: 0.5 s ago. */
	const char *t =
	    "[{\"id\":7,\"model_name\":\"simple\",\"model_version\":3,\"request_id\":\"r-1\"},"
	    "{\"id\":7,\"timestamps\":[{\"name\":\"HTTP_RECV_START\",\"ns\":999400000000}]},"
	    "{\"id\":7,\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":999500000000}]},"
	    "{\"id\":7,\"timestamps\":[{\"name\":\"REQUEST_END\",\"ns\":999502857301}]},"
	    "{\"id\":8,\"model_name\":\"other\",\"model_version\":1},"
	    "{\"id\":8,\"timestamps\":[{\"name\":\"REQUEST_END\",\"ns\":5}]}]";
	cr_assert_eq(parse(t, false), strlen(t));
	cr_assert_eq(eb.n_events, 2);
	cr_expect_eq(rep.traces, 2);
	cr_expect_eq(rep.refused, 0);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "simple");
	cr_expect_str_eq(e->version, "3");
	cr_expect_str_eq(e->id, "r-1");
	cr_expect(e->has_latency && fabs(e->latency_ms - 2.857301) < 1e-6, "%g", e->latency_ms);
	cr_expect(fabs(e->ts - (NOW - 0.5)) < 1e-6, "ts %f", e->ts);
	/* No REQUEST_START: latency unknown, counted; no request id: no id;
	 * a steady clock far from ours: the read time. */
	e = &eb.events[1];
	cr_expect_str_eq(e->model, "other");
	cr_expect_null(e->id);
	cr_expect_not(e->has_latency);
	cr_expect_eq(rep.latency_unknown, 1);
	cr_expect(fabs(e->ts - NOW) < 1e-6);
}

Test(triton, an_open_trace_waits_for_more_text)
{
	char t[2048];
	snprintf(t, sizeof(t), "[%s,%s", TRACE(1, "a", "", 100000000, 102500000),
	         TRACE(2, "b", "", 200000000, 202500000));
	size_t used = parse(t, false);
	/* Trace 2 may still get records: left in the buffer, from its first. */
	cr_assert_eq(eb.n_events, 1);
	cr_expect_str_eq(eb.events[0].model, "a");
	cr_expect_eq(strncmp(t + used, ",{\"id\":2,", 9) == 0 ||
	                 strncmp(t + used, "{\"id\":2,", 8) == 0,
	             1, "resumes at %.20s", t + used);
	/* The array closes: trace 2 is done. */
	char rest[2048];
	snprintf(rest, sizeof(rest), "%s]", t + used);
	cr_expect_eq(parse(rest, false), strlen(rest));
	cr_assert_eq(eb.n_events, 2);
	cr_expect_str_eq(eb.events[1].model, "b");
	cr_expect(eb.events[1].has_latency && fabs(eb.events[1].latency_ms - 2.5) < 1e-9);
}

Test(triton, a_cut_record_is_not_consumed_until_final)
{
	const char *t = "[{\"id\":1,\"model_name\":\"a\",\"model_version\":1},{\"id\":1,\"timest";
	size_t used = parse(t, false);
	cr_expect_eq(used, 1, "only the '[' is consumed, got %zu", used);
	cr_expect_eq(eb.n_events, 0);
	/* The file is finished (a rotated file): the trace gives its event, the
	 * cut record is refused with its offset. */
	cr_expect_eq(parse(t, true), strlen(t));
	cr_expect_eq(eb.n_events, 1);
	cr_expect_eq(rep.refused, 1);
	cr_expect_str_eq(rep.first.field, "byte 45");
	cr_expect(strstr(rep.first.reason, "unfinished record"), "%s", rep.first.reason);
}

Test(triton, tensors_become_features_and_prediction)
{
	const char *t =
	    "[{\"id\":3,\"model_name\":\"iris\",\"model_version\":1,\"request_id\":\"q\"},"
	    "{\"id\":3,\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":10}]},"
	    "{\"id\":3,\"activity\":\"TENSOR_QUEUE_INPUT\",\"tensor\":{\"name\":\"x\","
	    "\"data\":\"6.8,2.8,4.8,1.4,6,3.4,4.5,1.6\",\"shape\":\"2,4\",\"dtype\":\"FP32\"}},"
	    "{\"id\":3,\"activity\":\"TENSOR_QUEUE_INPUT\",\"tensor\":{\"name\":\"tag\","
	    "\"data\":\"\\\"red\\\",\\\"a, b\\\"\",\"shape\":\"2,1\",\"dtype\":\"BYTES\"}},"
	    "{\"id\":3,\"activity\":\"TENSOR_QUEUE_INPUT\",\"tensor\":{\"name\":\"flag\","
	    "\"data\":\"1,0\",\"shape\":\"2,1\",\"dtype\":\"BOOL\"}},"
	    "{\"id\":3,\"activity\":\"TENSOR_BACKEND_INPUT\",\"tensor\":{\"name\":\"x\","
	    "\"data\":\"9,9,9,9,9,9,9,9\",\"shape\":\"2,4\",\"dtype\":\"FP32\"}},"
	    "{\"id\":3,\"activity\":\"TENSOR_BACKEND_OUTPUT\",\"tensor\":{\"name\":\"probs\","
	    "\"data\":\"0.1,0.7,0.2,0.8,0.1,nan\",\"shape\":\"2,3\",\"dtype\":\"FP64\"}},"
	    "{\"id\":3,\"timestamps\":[{\"name\":\"REQUEST_END\",\"ns\":1000010}]}]";
	cr_assert_eq(parse(t, false), strlen(t));
	cr_assert_eq(eb.n_events, 2, "a batch of 2 rows: 2 events");
	cr_expect_eq(rep.tensors_refused, 0, "%s", rep.tensor_reason);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->id, "q/0");
	cr_expect_eq(feat(e, "x[0]")->num, 6.8);
	cr_expect_eq(feat(e, "x[3]")->num, 1.4);
	cr_expect_str_eq(feat(e, "tag")->str, "red");
	cr_expect_str_eq(feat(e, "flag")->str, "true");
	cr_expect_eq(e->prediction.kind, VALUE_NUMBER);
	cr_expect_eq(e->prediction.num, 1);
	cr_expect(e->has_latency && fabs(e->latency_ms - 1.0) < 1e-9);
	e = &eb.events[1];
	cr_expect_str_eq(e->id, "q/1");
	cr_expect_eq(feat(e, "x[1]")->num, 3.4);
	cr_expect_str_eq(feat(e, "tag")->str, "a, b");
	cr_expect_str_eq(feat(e, "flag")->str, "false");
	cr_expect_eq(e->prediction.num, 0);
}

Test(triton, unreadable_tensors_are_dropped_with_the_reason_and_the_trace_kept)
{
	static const struct {
		const char *tensor, *reason;
	} cases[] = {
	    {"\"name\":\"input\",\"data\":\"0.1,0.1,0.1,...\",\"shape\":\"1,16\",\"dtype\":"
	     "\"FP32\"",
	     "tensor input: element 4 \"...\" is not a FP32 number"},
	    {"\"name\":\"input\",\"data\":\"0.1,0.1\",\"shape\":\"1,16\",\"dtype\":\"FP32\"",
	     "tensor input: data holds 2 values, shape 1,16 needs 16"},
	    {"\"name\":\"b\",\"data\":\"ab\",\"shape\":\"2\",\"dtype\":\"INT8\"",
	     "tensor b: Triton writes INT8 elements as characters, not numbers"},
	    {"\"name\":\"h\",\"data\":\"\",\"shape\":\"4\",\"dtype\":\"FP16\"",
	     "tensor h: Triton writes no values for FP16 tensors"},
	    {"\"name\":\"s\",\"data\":\"1\",\"shape\":\"x\",\"dtype\":\"INT32\"",
	     "shape \"x\" is not a list of sizes"},
	    {"\"name\":\"s\",\"data\":\"1\",\"shape\":\"1048577\",\"dtype\":\"INT32\"",
	     "over 1048576 elements"},
	    {"\"name\":\"s\",\"data\":\"1\",\"shape\":\"1\",\"dtype\":\"COMPLEX\"",
	     "unknown dtype \"COMPLEX\""},
	    {"\"name\":\"s\",\"data\":\"abc\",\"shape\":\"1\",\"dtype\":\"BYTES\"",
	     "BYTES element 1 is not quoted"},
	    {"\"name\":\"s\",\"data\":5,\"shape\":\"1\",\"dtype\":\"INT32\"",
	     "name, data, shape and dtype must be strings"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char t[1024];
		snprintf(t, sizeof(t),
		         "[{\"id\":1,\"model_name\":\"m\",\"model_version\":1},"
		         "{\"id\":1,\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":1}]},"
		         "{\"id\":1,\"activity\":\"TENSOR_QUEUE_INPUT\",\"tensor\":{%s}},"
		         "{\"id\":1,\"timestamps\":[{\"name\":\"REQUEST_END\",\"ns\":2000001}]}]",
		         cases[i].tensor);
		size_t before = eb.n_events;
		parse(t, false);
		cr_expect_eq(eb.n_events, before + 1, "case %zu: the trace still counts", i);
		cr_expect(eb.events[before].has_latency && eb.events[before].latency_ms == 2.0);
		cr_expect_eq(eb.events[before].n_features, 0);
		cr_expect_eq(rep.tensors_refused, 1, "case %zu", i);
		cr_expect(strstr(rep.tensor_reason, cases[i].reason), "case %zu: %s", i,
		          rep.tensor_reason);
		cr_expect(strstr(rep.tensor_reason, "id 1 TENSOR_QUEUE_INPUT: "), "%s",
		          rep.tensor_reason);
	}
}

Test(triton, bad_records_are_refused_with_where_and_why)
{
	static const struct {
		const char *text, *field, *reason;
		size_t events;
	} cases[] = {
	    /* Triton's docs print the schema with $string placeholders. */
	    {"[{\"model_name\": $string, \"id\": $number}]", "byte 1", "record is not JSON", 0},
	    {"[{\"model_name\":\"m\"}]", "byte 1", "record without a numeric \"id\"", 0},
	    {"[{\"id\":-1,\"model_name\":\"m\"}]", "byte 1", "numeric \"id\"", 0},
	    {"[{\"id\":1.5,\"model_name\":\"m\"}]", "byte 1", "numeric \"id\"", 0},
	    {"[{\"id\":1,\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":1}]}]", "id 1",
	     "no model record", 0},
	    {"[{\"id\":1,\"model_name\":\"bad model\"}]", "id 1.model", "", 0},
	    {"[x{\"id\":1,\"model_name\":\"m\"}]", "byte 1", "not a trace record", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t before = eb.n_events;
		cr_expect_eq(parse(cases[i].text, false), strlen(cases[i].text), "case %zu", i);
		cr_expect_eq(eb.n_events - before, cases[i].events, "case %zu", i);
		cr_expect_eq(rep.refused, 1, "case %zu", i);
		cr_expect_str_eq(rep.first.field, cases[i].field, "case %zu", i);
		cr_expect(strstr(rep.first.reason, cases[i].reason), "case %zu: %s", i,
		          rep.first.reason);
	}
}

Test(triton, at_most_max_traces_per_call)
{
	char t[4096];
	snprintf(t, sizeof(t), "[%s,%s,%s]", TRACE(1, "a", "", 1000, 2000),
	         TRACE(2, "b", "", 1000, 2000), TRACE(3, "c", "", 1000, 2000));
	size_t used = 0, total = 0;
	int calls = 0;
	while (total < strlen(t) && calls < 10) {
		cr_assert_eq(triton_parse(t + total, strlen(t) - total, false, NOW, MONO, 1, &eb,
		                          &used, &rep),
		             0);
		cr_assert_gt(used, 0);
		total += used;
		calls++;
	}
	cr_expect_eq(eb.n_events, 3);
	cr_expect_eq(calls, 3);
	cr_expect_str_eq(eb.events[2].model, "c");
}

Test(triton, resync_finds_the_next_record)
{
	const char *t = "lost tail of a trace\"},{\"id\":9,\"model_name\":\"m\"}]";
	size_t k = triton_resync(t, strlen(t));
	cr_expect_eq(strncmp(t + k, "{\"id\":9", 7), 0);
	cr_expect_eq(triton_resync("abc]", 4), 3);
	cr_expect_eq(triton_resync("abc", 3), 3);
}
