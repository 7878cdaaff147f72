/* ingest_otlp: OTLP/HTTP bodies (JSON and protobuf, gzip or not) to
 * events; the published OTLP JSON examples; vLLM-style gen_ai spans; the
 * replies; and hostile bodies (truncated, wrong types, 10^6 attributes,
 * deep nesting, a zip bomb) refused with the right status. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "ingest_otlp.h"
#include "otlp.pb-c.h"
#include "rules.h"

static const double NOW = 1764072000.0;
static struct event_batch eb;
static struct otlp_reply rep;

static void setup(void)
{
	event_batch_init(&eb);
}
static void teardown(void)
{
	event_batch_reset(&eb);
}
TestSuite(otlp, .init = setup, .fini = teardown);

static int decode(enum otlp_signal sig, const char *ctype, const char *cenc, const void *body,
                  size_t len, double now)
{
	return otlp_decode(sig, ctype, cenc, body, len, now, 1u << 20, 10000, &eb, &rep);
}

static char *fixture(const char *rel, size_t *len)
{
	char path[600];
	const char *root = getenv("MLWATCH_TESTDATA"); /* the shared fixtures */
	snprintf(path, sizeof(path), "%s/model-servers/%s", root ? root : "/work/shared/testdata",
	         rel);
	char *s = h_read_file(path, len);
	cr_assert_not_null(s, "cannot read %s", path);
	return s;
}

Test(otlp, published_json_trace_example_is_one_server_span)
{
	size_t len;
	char *b = fixture("otel/otlp_http_json_trace_example.json", &len);
	cr_assert_eq(decode(OTLP_TRACES, "application/json", NULL, b, len, 1544712700.0), 0, "%s",
	             rep.message);
	cr_assert_eq(rep.status, 200);
	cr_assert_eq(rep.items, 1);
	cr_assert_eq(eb.n_events, 1);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "my.service", "the resource's service.name");
	cr_expect_float_eq(e->ts, 1544712660.0, 1e-6);
	cr_expect(e->has_latency);
	cr_expect_float_eq(e->latency_ms, 1000.0, 1e-6);
	cr_expect_str_eq(e->id, "eee19b7ec3c1b174", "the span id, lower-case hex");
	cr_expect(!e->error);
	cr_expect(!event_has_llm(e));
	free(b);
}

Test(otlp, published_json_logs_example_is_not_model_traffic)
{
	size_t len;
	char *b = fixture("otel/otlp_http_json_logs_example.json", &len);
	cr_assert_eq(decode(OTLP_LOGS, "application/json; charset=utf-8", NULL, b, len, NOW), 0,
	             "%s", rep.message);
	cr_expect_eq(rep.items, 1);
	cr_expect_eq(rep.ignored, 1, "a plain string body is some other log");
	cr_expect_eq(eb.n_events, 0);
	free(b);
}

/* ---- protobuf built with the generated code ------------------------------- */

typedef Mlwatch__Otlp__KeyValue Kv;
typedef Mlwatch__Otlp__AnyValue Any;

static Kv *kv_str(const char *k, const char *v)
{
	Kv *kv = calloc(1, sizeof(*kv));
	Any *a = calloc(1, sizeof(*a));
	mlwatch__otlp__key_value__init(kv);
	mlwatch__otlp__any_value__init(a);
	a->value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	a->string_value = (char *)v;
	kv->key = (char *)k;
	kv->value = a;
	return kv;
}
static Kv *kv_int(const char *k, int64_t v)
{
	Kv *kv = kv_str(k, "");
	kv->value->value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_INT_VALUE;
	kv->value->int_value = v;
	return kv;
}
static Kv *kv_dbl(const char *k, double v)
{
	Kv *kv = kv_str(k, "");
	kv->value->value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
	kv->value->double_value = v;
	return kv;
}
static void kv_free(Kv *kv)
{
	free(kv->value);
	free(kv);
}

/* A vLLM request span (attribute names of vllm/tracing.py), packed. */
static uint8_t *vllm_request(size_t *len, int status_code, uint64_t end_ns)
{
	Mlwatch__Otlp__ExportTraceServiceRequest req =
	    MLWATCH__OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Mlwatch__Otlp__ResourceSpans rs = MLWATCH__OTLP__RESOURCE_SPANS__INIT, *rsp = &rs;
	Mlwatch__Otlp__Resource res = MLWATCH__OTLP__RESOURCE__INIT;
	Mlwatch__Otlp__ScopeSpans ss = MLWATCH__OTLP__SCOPE_SPANS__INIT, *ssp = &ss;
	Mlwatch__Otlp__Span sp = MLWATCH__OTLP__SPAN__INIT, *spp = &sp;
	Mlwatch__Otlp__Status st = MLWATCH__OTLP__STATUS__INIT;
	Kv *rattr[] = {kv_str("service.name", "vllm")};
	Kv *attr[] = {kv_str("gen_ai.response.model", "meta-llama/Llama-3.1-8B-Instruct"),
	              kv_int("gen_ai.usage.prompt_tokens", 12),
	              kv_int("gen_ai.usage.completion_tokens", 101),
	              kv_dbl("gen_ai.latency.time_to_first_token", 0.25),
	              kv_dbl("gen_ai.latency.e2e", 2.25),
	              kv_dbl("gen_ai.latency.time_in_queue", 0.01),
	              kv_str("gen_ai.request.id", "cmpl-42"),
	              kv_dbl("mlwatch.feature.temperature", 0.7)};
	uint8_t sid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t *buf;

	res.n_attributes = 1;
	res.attributes = rattr;
	rs.resource = &res;
	rs.n_scope_spans = 1;
	rs.scope_spans = &ssp;
	ss.n_spans = 1;
	ss.spans = &spp;
	sp.name = "llm_request";
	sp.kind = 2;
	sp.span_id.data = sid;
	sp.span_id.len = 8;
	sp.start_time_unix_nano = (uint64_t)(NOW - 10) * 1000000000ull;
	sp.end_time_unix_nano = end_ns ? end_ns : sp.start_time_unix_nano + 2300000000ull;
	sp.n_attributes = sizeof(attr) / sizeof(attr[0]);
	sp.attributes = attr;
	st.code = status_code;
	sp.status = &st;
	req.n_resource_spans = 1;
	req.resource_spans = &rsp;
	*len = mlwatch__otlp__export_trace_service_request__get_packed_size(&req);
	buf = malloc(*len);
	mlwatch__otlp__export_trace_service_request__pack(&req, buf);
	kv_free(rattr[0]);
	for (size_t i = 0; i < sizeof(attr) / sizeof(attr[0]); i++)
		kv_free(attr[i]);
	return buf;
}

Test(otlp, vllm_span_protobuf_gives_llm_fields)
{
	size_t len;
	uint8_t *b = vllm_request(&len, 2, 0);
	cr_assert_eq(decode(OTLP_TRACES, "application/x-protobuf", NULL, b, len, NOW), 0, "%s",
	             rep.message);
	cr_assert_eq(eb.n_events, 1);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "meta-llama_Llama-3.1-8B-Instruct");
	cr_expect_str_eq(e->id, "cmpl-42");
	cr_expect(e->error, "status ERROR");
	cr_expect_float_eq(e->latency_ms, 2250.0, 1e-6, "gen_ai.latency.e2e wins over the span");
	cr_expect(e->has_ttft);
	cr_expect_float_eq(e->ttft_ms, 250.0, 1e-9);
	cr_expect(e->has_input_tokens && e->input_tokens == 12, "old prompt_tokens name");
	cr_expect(e->has_output_tokens && e->output_tokens == 101);
	cr_expect(e->has_tpot);
	cr_expect_float_eq(e->tpot_ms, 2000.0 / 100.0, 1e-9, "(e2e - ttft) / (out - 1)");
	cr_assert_eq(e->n_features, 1);
	cr_expect_str_eq(e->features[0].name, "temperature");
	cr_expect_float_eq(e->features[0].num, 0.7, 1e-12);
	/* The reply: an empty ExportTraceServiceResponse. */
	char *body;
	size_t blen;
	const char *ct;
	cr_assert_eq(otlp_reply_body(OTLP_TRACES, &rep, &body, &blen, &ct), 0);
	cr_expect_str_eq(ct, "application/x-protobuf");
	cr_expect_eq(blen, 0);
	free(body);
	free(b);
}

static char *gzip_of(const void *in, size_t len, size_t *out_len)
{
	z_stream zs = {0};
	size_t cap = compressBound(len) + 64;
	char *out = malloc(cap);
	cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

Test(otlp, gzip_bodies_in_both_formats)
{
	size_t len, glen;
	uint8_t *b = vllm_request(&len, 0, 0);
	char *g = gzip_of(b, len, &glen);
	cr_assert_eq(decode(OTLP_TRACES, "application/x-protobuf", "gzip", g, glen, NOW), 0, "%s",
	             rep.message);
	cr_expect_eq(eb.n_events, 1);
	cr_expect(!eb.events[0].error);
	free(g);
	free(b);
	char *j = fixture("otel/otlp_http_json_trace_example.json", &len);
	g = gzip_of(j, len, &glen);
	cr_assert_eq(decode(OTLP_TRACES, "application/json", "GZIP", g, glen, 1544712700.0), 0);
	cr_expect_eq(eb.n_events, 2);
	/* Not gzip though it says so: 400. */
	cr_expect_eq(decode(OTLP_TRACES, "application/json", "gzip", j, len, NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "not valid gzip"), "%s", rep.message);
	/* Truncated gzip: 400, never a crash. */
	cr_expect_eq(decode(OTLP_TRACES, "application/json", "gzip", g, glen / 2, NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect_eq(eb.n_events, 2, "a refused request adds nothing");
	free(g);
	free(j);
}

Test(otlp, zip_bomb_is_413)
{
	size_t n = 64u << 20, glen; /* 64 MiB of zeros inflate from ~64 KiB */
	char *zeros = calloc(1, n);
	char *g = gzip_of(zeros, n, &glen);
	free(zeros);
	cr_assert(glen < 200000);
	cr_assert_eq(decode(OTLP_TRACES, "application/json", "gzip", g, glen, NOW), -1);
	cr_expect_eq(rep.status, 413);
	cr_expect(strstr(rep.message, "max_body"), "%s", rep.message);
	free(g);
}

Test(otlp, content_type_and_encoding_are_checked)
{
	cr_expect_eq(decode(OTLP_TRACES, "text/plain", NULL, "{}", 2, NOW), -1);
	cr_expect_eq(rep.status, 415);
	cr_expect_eq(decode(OTLP_TRACES, NULL, NULL, "{}", 2, NOW), -1);
	cr_expect_eq(rep.status, 415);
	cr_expect_eq(decode(OTLP_TRACES, "application/json", "br", "{}", 2, NOW), -1);
	cr_expect_eq(rep.status, 415);
	cr_expect_eq(decode(OTLP_TRACES, "application/json", NULL, "{}", 2, NOW), 0,
	             "an empty export is fine");
	cr_expect_eq(decode(OTLP_TRACES, "application/x-protobuf", NULL, "", 0, NOW), 0);
}

/* ---- hostile protobuf -------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
};
static void put(struct wbuf *w, const void *d, size_t n)
{
	if (n == 0)
		return;
	if (w->n + n > w->cap) {
		w->cap = (w->n + n) * 2;
		w->p = realloc(w->p, w->cap);
	}
	memcpy(w->p + w->n, d, n);
	w->n += n;
}
static void put_varint(struct wbuf *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(w, b, n);
}
/* field (wire type 2) holding inner */
static void put_msg(struct wbuf *w, uint32_t field, const struct wbuf *inner)
{
	put_varint(w, (uint64_t)field << 3 | 2);
	put_varint(w, inner->n);
	put(w, inner->p, inner->n);
}
/* request > resource_spans > scope_spans > span wrapping span bytes */
static struct wbuf wrap_span(const struct wbuf *span)
{
	struct wbuf ss = {0}, rs = {0}, req = {0};
	put_msg(&ss, 2, span);
	put_msg(&rs, 2, &ss);
	put_msg(&req, 1, &rs);
	free(ss.p);
	free(rs.p);
	return req;
}

Test(otlp, truncated_protobuf_never_crashes)
{
	size_t len;
	uint8_t *b = vllm_request(&len, 0, 0);
	size_t refused = 0;
	for (size_t cut = 1; cut < len; cut++) {
		int rc = decode(OTLP_TRACES, "application/x-protobuf", NULL, b, cut, NOW);
		cr_assert(rc == 0 || (rc == -1 && rep.status == 400), "cut %zu: rc %d status %u",
		          cut, rc, rep.status);
		refused += rc == -1;
	}
	cr_expect_gt(refused, len / 2, "most cuts are refused (%zu of %zu)", refused, len);
	free(b);
}

Test(otlp, wrong_field_types_are_400)
{
	/* span.name (5) as a varint, span.start (7) as a length */
	struct wbuf span = {0};
	put_varint(&span, 5 << 3 | 0);
	put_varint(&span, 7);
	struct wbuf req = wrap_span(&span);
	cr_expect_eq(decode(OTLP_TRACES, "application/x-protobuf", NULL, req.p, req.n, NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "ExportTraceServiceRequest"), "%s", rep.message);
	free(span.p);
	free(req.p);
	/* a group wire type */
	uint8_t grp[] = {0x0b, 0x0c};
	cr_expect_eq(decode(OTLP_TRACES, "application/x-protobuf", NULL, grp, 2, NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "wire type"), "%s", rep.message);
	/* JSON: resourceSpans not an array */
	const char *j = "{\"resourceSpans\": 3}";
	cr_expect_eq(decode(OTLP_TRACES, "application/json", NULL, j, strlen(j), NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "must be an array"), "%s", rep.message);
	j = "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"startTimeUnixNano\": "
	    "\"12x\", \"kind\": 2}]}]}]}";
	cr_expect_eq(decode(OTLP_TRACES, "application/json", NULL, j, strlen(j), NOW), 0);
	cr_expect_eq(rep.rejected, 1, "a bad span alone is rejected");
	cr_expect(strstr(rep.message, "decimal strings"), "%s", rep.message);
}

Test(otlp, a_million_attributes_are_400)
{
	struct wbuf span = {0};
	uint8_t empty_kv[] = {9 << 3 | 2, 0}; /* attributes (9): an empty KeyValue */
	for (int i = 0; i < 1000000; i++)
		put(&span, empty_kv, 2);
	struct wbuf req = wrap_span(&span);
	cr_expect_eq(otlp_decode(OTLP_TRACES, "application/x-protobuf", NULL, (char *)req.p, req.n,
	                         NOW, 16u << 20, 10000, &eb, &rep),
	             -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "attributes"), "%s", rep.message);
	free(span.p);
	free(req.p);
	/* JSON too */
	size_t cap = 30u << 20, n = 0;
	char *j = malloc(cap);
	n += (size_t)snprintf(j, cap,
	                      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
	                      "\"attributes\":[");
	for (int i = 0; i < 1000000; i++)
		n += (size_t)snprintf(j + n, cap - n, "%s{\"key\":\"k\"}", i ? "," : "");
	n += (size_t)snprintf(j + n, cap - n, "]}]}]}]}");
	cr_expect_eq(otlp_decode(OTLP_TRACES, "application/json", NULL, j, n, NOW, 32u << 20, 10000,
	                         &eb, &rep),
	             -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "attributes"), "%s", rep.message);
	free(j);
}

Test(otlp, deep_nesting_is_400)
{
	/* AnyValue > ArrayValue > AnyValue > ... 5000 levels, in a KeyValue. */
	struct wbuf v = {0};
	for (int i = 0; i < 5000; i++) {
		struct wbuf arr = {0}, any = {0};
		put_msg(&arr, 1, &v);   /* ArrayValue.values */
		put_msg(&any, 5, &arr); /* AnyValue.array_value */
		free(v.p);
		free(arr.p);
		v = any;
	}
	struct wbuf kv = {0}, span = {0};
	put_msg(&kv, 2, &v);
	put_msg(&span, 9, &kv);
	struct wbuf req = wrap_span(&span);
	cr_expect_eq(decode(OTLP_TRACES, "application/x-protobuf", NULL, req.p, req.n, NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "nested deeper"), "%s", rep.message);
	free(v.p);
	free(kv.p);
	free(span.p);
	free(req.p);
	/* JSON: arrayValue 500 deep (under cJSON's own limit) */
	size_t cap = 1u << 20, n = 0;
	char *j = malloc(cap);
	n += (size_t)snprintf(j, cap,
	                      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
	                      "\"kind\":2,\"attributes\":[{\"key\":\"k\",\"value\":");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(j + n, cap - n, "{\"arrayValue\":{\"values\":[");
	n += (size_t)snprintf(j + n, cap - n, "{\"intValue\":\"1\"}");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(j + n, cap - n, "]}}");
	n += (size_t)snprintf(j + n, cap - n, "}]}]}]}]}");
	cr_expect_eq(decode(OTLP_TRACES, "application/json", NULL, j, n, NOW), -1);
	cr_expect_eq(rep.status, 400);
	cr_expect(strstr(rep.message, "nested deeper"), "%s", rep.message);
	free(j);
}

Test(otlp, partial_success_reply_in_json)
{
	const char *j =
	    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
	    "\"value\":{\"stringValue\":\"chat\"}}]},\"scopeSpans\":[{\"spans\":["
	    "{\"spanId\":\"00F067AA0BA902B7\",\"kind\":2,\"startTimeUnixNano\":"
	    "\"1764071990000000000\","
	    "\"endTimeUnixNano\":\"1764071989000000000\"},"
	    "{\"kind\":\"SPAN_KIND_SERVER\",\"startTimeUnixNano\":\"1764071990000000000\","
	    "\"endTimeUnixNano\":\"1764071990500000000\",\"status\":{\"code\":2},"
	    "\"attributes\":[{\"key\":\"gen_ai.usage.output_tokens\",\"value\":{\"intValue\":\"7\"}"
	    "},"
	    "{\"key\":\"gen_ai.response.finish_reasons\",\"value\":{\"arrayValue\":{\"values\":"
	    "[{\"stringValue\":\"LENGTH\"}]}}}]},"
	    "{\"kind\":1,\"startTimeUnixNano\":\"1764071990000000000\"}]}]}]}";
	cr_assert_eq(decode(OTLP_TRACES, "application/json", NULL, j, strlen(j), NOW), 0, "%s",
	             rep.message);
	cr_expect_eq(rep.items, 3);
	cr_expect_eq(rep.accepted, 1);
	cr_expect_eq(rep.rejected, 1);
	cr_expect_eq(rep.ignored, 1, "an INTERNAL span without gen_ai is not traffic");
	cr_assert_eq(eb.n_events, 1);
	cr_expect_str_eq(eb.events[0].model, "chat");
	cr_expect(eb.events[0].error);
	cr_expect_eq(eb.events[0].output_tokens, 7);
	cr_expect_str_eq(eb.events[0].finish_reason, "length");
	char *body;
	size_t blen;
	const char *ct;
	cr_assert_eq(otlp_reply_body(OTLP_TRACES, &rep, &body, &blen, &ct), 0);
	cJSON *r = cJSON_Parse(body);
	cJSON *ps = cJSON_GetObjectItem(r, "partialSuccess");
	cr_assert_not_null(ps, "%s", body);
	cr_expect_str_eq(cJSON_GetObjectItem(ps, "rejectedSpans")->valuestring, "1");
	cr_expect(strstr(cJSON_GetObjectItem(ps, "errorMessage")->valuestring,
	                 "spans[0]: endTimeUnixNano: before startTimeUnixNano"),
	          "%s", body);
	cJSON_Delete(r);
	free(body);
	/* An error reply is a google.rpc.Status. */
	struct otlp_reply bad = {.status = 400, .format = OTLP_PROTOBUF, .message = "nope"};
	cr_assert_eq(otlp_reply_body(OTLP_TRACES, &bad, &body, &blen, &ct), 0);
	Mlwatch__Otlp__RpcStatus *st =
	    mlwatch__otlp__rpc_status__unpack(NULL, blen, (uint8_t *)body);
	cr_assert_not_null(st);
	cr_expect_eq(st->code, 3);
	cr_expect_str_eq(st->message, "nope");
	mlwatch__otlp__rpc_status__free_unpacked(st, NULL);
	free(body);
}

Test(otlp, bentoml_monitor_log_record_becomes_an_event)
{
	/* The record of bentoml/otlp_monitor_record_docstring_example.txt as
	 * a JSON string body (its trailing commas removed). */
	const char *rec =
	    "{\\\"sepal length\\\": 4.9, \\\"sepal width\\\": 3.0, \\\"petal length\\\": 1.4, "
	    "\\\"petal width\\\": 0.2, \\\"pred\\\": \\\"setosa\\\", \\\"timestamp\\\": "
	    "1764071990.587727, \\\"request_id\\\": \\\"6413930528999883196\\\", "
	    "\\\"bento_meta\\\": {\\\"bento_name\\\": \\\"iris_classifier\\\", \\\"schema\\\": {"
	    "\\\"sepal length\\\": {\\\"name\\\": \\\"sepal length\\\", \\\"role\\\": "
	    "\\\"feature\\\"},"
	    "\\\"petal width\\\": {\\\"name\\\": \\\"petal width\\\", \\\"role\\\": "
	    "\\\"feature\\\"},"
	    "\\\"pred\\\": {\\\"name\\\": \\\"pred\\\", \\\"role\\\": \\\"prediction\\\"}}}}";
	char j[4096];
	snprintf(j, sizeof(j),
	         "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":"
	         "\"1764071990000000000\",\"body\":{\"stringValue\":\"%s\"}}]}]}]}",
	         rec);
	cr_assert_eq(decode(OTLP_LOGS, "application/json", NULL, j, strlen(j), NOW), 0, "%s",
	             rep.message);
	cr_assert_eq(eb.n_events, 1, "%s", rep.message);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "iris_classifier");
	cr_expect_str_eq(e->id, "6413930528999883196");
	cr_expect_float_eq(e->ts, 1764071990.587727, 1e-6);
	cr_expect_eq(e->n_features, 2);
	cr_expect_eq(e->prediction.kind, VALUE_STRING);
	cr_expect_str_eq(e->prediction.str, "setosa");
}

/* README's vLLM / OTel recipe: the model `vllm serve` names reaches mlwatch
 * under the name the recipe's `mlwatch latency --model` asks for, through
 * the endpoint the recipe gives; its alert expression parses. */
Test(otlp, readme_vllm_recipe_names_and_rule)
{
	char *path = h_src("README.md"), served[128], asked[128], expr[128];
	char *readme = h_read_file(path, NULL);
	cr_assert_not_null(readme, "cannot read %s", path);
	free(path);
	const char *p = strstr(readme, "vllm serve ");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "vllm serve %127s", served), 1);
	cr_assert(strstr(p, "--otlp-traces-endpoint http://127.0.0.1:7071/v1/traces"));
	p = strstr(p, "mlwatch latency --model ");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "mlwatch latency --model %127s", asked), 1);
	p = strstr(readme, "`expr = p99_ttft_ms");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "`expr = %127[^`]", expr), 1);
	char j[1024];
	snprintf(j, sizeof(j),
	         "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":2,"
	         "\"startTimeUnixNano\":\"1764071990000000000\",\"endTimeUnixNano\":"
	         "\"1764071991000000000\",\"attributes\":[{\"key\":\"gen_ai.response.model\","
	         "\"value\":{\"stringValue\":\"%s\"}}]}]}]}]}",
	         served);
	cr_assert_eq(decode(OTLP_TRACES, "application/json", NULL, j, strlen(j), NOW), 0);
	cr_assert_eq(eb.n_events, 1);
	cr_expect_str_eq(eb.events[0].model, asked);
	struct rule_expr e;
	char err[256];
	cr_expect_eq(rules_parse_expr(expr, &e, err, sizeof(err)), 0, "%s: %s", expr, err);
	cr_expect_eq(e.metric, METRIC_P99_TTFT);
	free(readme);
}

/* The otlp_feature setting: attributes taken as features, for every model
 * or for the one named. */
Test(otlp, configured_attributes_become_features)
{
	char *map[] = {"gen_ai.latency.time_in_queue", "other-model:gen_ai.request.id",
	               "meta-llama_Llama-3.1-8B-Instruct:gen_ai.usage.prompt_tokens"};
	size_t len;
	uint8_t *b = vllm_request(&len, 0, 0);
	otlp_set_feature_map(map, 3);
	int rc = decode(OTLP_TRACES, "application/x-protobuf", NULL, b, len, NOW);
	otlp_set_feature_map(NULL, 0);
	cr_assert_eq(rc, 0, "%s", rep.message);
	const struct event *e = &eb.events[0];
	cr_assert_eq(e->n_features, 3);
	bool queue = false, prompt = false, temp = false;
	for (size_t i = 0; i < e->n_features; i++) {
		const struct feature *f = &e->features[i];
		if (strcmp(f->name, "gen_ai.latency.time_in_queue") == 0)
			queue = f->kind == FEATURE_NUMERIC && fabs(f->num - 0.01) < 1e-12;
		if (strcmp(f->name, "gen_ai.usage.prompt_tokens") == 0)
			prompt = f->kind == FEATURE_NUMERIC && f->num == 12;
		if (strcmp(f->name, "temperature") == 0)
			temp = true;
		cr_expect_str_neq(f->name, "gen_ai.request.id", "mapped for another model only");
	}
	cr_expect(queue && prompt && temp);
	free(b);
}
