/* openai: the OpenAI-style bodies KServe's logger forwards for
 * /openai/v1/... (the published fixtures), a streamed SSE response, and
 * malformed bodies refused with a reason. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "openai.h"

static struct arena a;
static struct openai_info req, resp;
static char err[256];

static void setup(void)
{
	arena_init(&a, 0);
}
static void teardown(void)
{
	arena_reset(&a);
}
TestSuite(openai, .init = setup, .fini = teardown);

static char *fixture(const char *rel, size_t *len)
{
	char path[600];
	const char *root = getenv("MLWATCH_TESTDATA");
	snprintf(path, sizeof(path), "%s/model-servers/%s", root ? root : "/work/shared/testdata",
	         rel);
	char *s = h_read_file(path, len);
	cr_assert_not_null(s, "cannot read %s", path);
	return s;
}

Test(openai, published_chat_pair_gives_an_llm_event)
{
	size_t len;
	char *q = fixture("kserve/openai_chat_completions_request.json", &len);
	cr_assert_eq(openai_parse_request(q, len, &a, &req, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(req.model, "qwen-chat");
	cr_expect_eq(req.messages, 2);
	cr_expect_eq(req.prompt_chars,
	             (int64_t)strlen("Answer with just the number, nothing else.") +
	                 (int64_t)strlen("2+2="));
	cr_expect(req.has_max_tokens && req.max_tokens == 20);
	cr_expect(!req.stream);
	free(q);
	char *r = fixture("vllm/openai_chat_completion_response_kserve_docs.json", &len);
	cr_assert_eq(openai_parse_response(r, len, &a, &resp, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(resp.model, "qwen");
	cr_expect(resp.has_input_tokens && resp.input_tokens == 45);
	cr_expect(resp.has_output_tokens && resp.output_tokens == 67);
	cr_expect_str_eq(resp.finish_reason, "stop");
	free(r);
	struct event ev = {0};
	cr_assert_eq(openai_event(&req, &resp, &a, &ev), 0);
	cr_expect_str_eq(ev.model, "qwen", "the response names the model that answered");
	cr_expect(ev.has_input_tokens && ev.input_tokens == 45);
	cr_expect(ev.has_output_tokens && ev.output_tokens == 67);
	cr_expect_str_eq(ev.finish_reason, "stop");
	cr_assert_eq(ev.n_features, 4);
	cr_expect_str_eq(ev.features[0].name, "prompt_chars");
	cr_expect_str_eq(ev.features[3].str, "false");
}

Test(openai, published_completions_request)
{
	size_t len;
	char *q = fixture("kserve/openai_completions_request.json", &len);
	cr_assert_eq(openai_parse_request(q, len, &a, &req, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(req.model, "qwen-cmpl");
	cr_expect_eq(req.messages, 0);
	cr_expect_eq(req.prompt_chars, (int64_t)strlen("1+1=2\n3+3=6\n5+5=10\n2+2="));
	free(q);
}

Test(openai, streamed_sse_response_buffered_as_one_body)
{
	const char *sse =
	    "data: {\"id\":\"c1\",\"model\":\"meta-llama/Llama-3.1-8B\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\r\n\r\n"
	    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	    ": keep-alive comment\n\n"
	    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"lo\"},"
	    "\"finish_reason\":\"LENGTH\"}]}\n\n"
	    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
	    "\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
	    "data: [DONE]\n\ndata: {\"usage\":{\"prompt_tokens\":999}}\n";
	cr_assert_eq(openai_parse_response(sse, strlen(sse), &a, &resp, err, sizeof(err)), 0, "%s",
	             err);
	cr_expect(resp.stream);
	cr_expect_str_eq(resp.model, "meta-llama_Llama-3.1-8B");
	cr_expect_eq(resp.chunks, 2);
	cr_expect_str_eq(resp.finish_reason, "length");
	cr_expect(resp.has_input_tokens && resp.input_tokens == 9, "nothing after [DONE]");
	cr_expect(resp.has_output_tokens && resp.output_tokens == 2);
}

Test(openai, malformed_bodies_have_reasons)
{
	const char *bad[][2] = {
	    {"", "JSON object"},
	    {"[1,2]", "JSON object"},
	    {"{\"model\":\"m\"}", "neither messages nor prompt"},
	    {"{\"messages\":3}", "must be an array"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(
		    openai_parse_request(bad[i][0], strlen(bad[i][0]), &a, &req, err, sizeof(err)),
		    -1, "%s", bad[i][0]);
		cr_expect(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
	}
	const char *r = "{\"object\":\"error\"}";
	cr_expect_eq(openai_parse_response(r, strlen(r), &a, &resp, err, sizeof(err)), -1);
	cr_expect(strstr(err, "neither choices nor usage"), "%s", err);
	r = "data: not json\n\ndata: [DONE]\n";
	cr_expect_eq(openai_parse_response(r, strlen(r), &a, &resp, err, sizeof(err)), -1);
	cr_expect(strstr(err, "without a JSON data"), "%s", err);
	/* negative or fractional usage is not taken */
	r = "{\"choices\":[],\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":2.5}}";
	cr_expect_eq(openai_parse_response(r, strlen(r), &a, &resp, err, sizeof(err)), 0);
	cr_expect(!resp.has_input_tokens && !resp.has_output_tokens);
}
