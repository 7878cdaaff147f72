/* openai: see openai.h. */
#include "openai.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static bool whole(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble != floor(v->valuedouble) || v->valuedouble > (double)EVENT_TOKENS_MAX)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

static void take_model(const cJSON *root, struct arena *a, struct openai_info *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
	char buf[EVENT_MODEL_MAX + 1];
	size_t n = 0;

	if (out->model || !cJSON_IsString(m))
		return;
	/* "org/name" model ids become org_name, as for OTLP. */
	for (; m->valuestring[n] && n < EVENT_MODEL_MAX; n++) {
		char c = m->valuestring[n];
		buf[n] = (isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-') ? c : '_';
	}
	buf[n] = '\0';
	if (n)
		out->model = arena_strdup(a, buf);
}

/* Characters of a message content: a string, or an array of parts whose
 * "text" members count. */
static int64_t content_chars(const cJSON *c)
{
	int64_t n = 0;
	const cJSON *p;
	if (cJSON_IsString(c))
		return (int64_t)strlen(c->valuestring);
	if (!cJSON_IsArray(c))
		return 0;
	cJSON_ArrayForEach(p, c)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
		if (cJSON_IsString(t))
			n += (int64_t)strlen(t->valuestring);
	}
	return n;
}

int openai_parse_request(const char *body, size_t len, struct arena *a, struct openai_info *out,
                         char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *msgs, *prompt, *m, *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		fail(err, errlen, "an OpenAI request must be a JSON object");
		goto out;
	}
	take_model(root, a, out);
	msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
	if (msgs && !cJSON_IsArray(msgs)) {
		fail(err, errlen, "messages: must be an array");
		goto out;
	}
	cJSON_ArrayForEach(m, msgs)
	{
		out->messages++;
		out->prompt_chars += content_chars(cJSON_GetObjectItemCaseSensitive(m, "content"));
	}
	if (cJSON_IsString(prompt) || cJSON_IsArray(prompt))
		out->prompt_chars += content_chars(prompt);
	if (cJSON_IsArray(prompt))
		cJSON_ArrayForEach(m, prompt) if (cJSON_IsString(m)) out->prompt_chars +=
		    (int64_t)strlen(m->valuestring);
	out->has_prompt = msgs || cJSON_IsString(prompt) || cJSON_IsArray(prompt);
	if (!out->has_prompt) {
		fail(err, errlen, "neither messages nor prompt: not a chat/completions request");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "max_tokens");
	if (!v)
		v = cJSON_GetObjectItemCaseSensitive(root, "max_completion_tokens");
	out->has_max_tokens = whole(v, &out->max_tokens);
	out->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream"));
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* Usage, finish reason and model of one response object (a whole
 * response or an SSE chunk); later chunks override earlier ones. */
static void take_response(const cJSON *root, struct arena *a, struct openai_info *out)
{
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	const cJSON *choice =
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
	const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");

	take_model(root, a, out);
	if (cJSON_IsObject(usage)) {
		if (whole(cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens"),
		          &out->input_tokens))
			out->has_input_tokens = true;
		if (whole(cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens"),
		          &out->output_tokens))
			out->has_output_tokens = true;
	}
	if (cJSON_IsString(fr)) {
		char buf[EVENT_FINISH_MAX + 1];
		size_t n = strlen(fr->valuestring);
		if (n <= EVENT_FINISH_MAX) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)tolower((unsigned char)fr->valuestring[i]);
			buf[n] = '\0';
			if (event_finish_reason_valid(buf, n))
				out->finish_reason = arena_strdup(a, buf);
		}
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(delta, "content");
	if (!c)
		c = cJSON_GetObjectItemCaseSensitive(choice, "text");
	if (cJSON_IsString(c) && c->valuestring[0])
		out->chunks++;
}

bool openai_is_sse(const char *b, size_t len)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)b[i]))
		i++;
	return (len - i >= 5 && memcmp(b + i, "data:", 5) == 0) ||
	       (len - i >= 6 && memcmp(b + i, "event:", 6) == 0) || (i < len && b[i] == ':');
}

static int parse_sse(const char *b, size_t len, struct arena *a, struct openai_info *out, char *err,
                     size_t errlen)
{
	size_t pos = 0, events = 0, good = 0;

	out->stream = true;
	while (pos < len) {
		const char *line = b + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		if (n && line[n - 1] == '\r')
			n--;
		if (n < 5 || memcmp(line, "data:", 5) != 0)
			continue; /* event:, id:, comments, blank separators */
		line += 5;
		n -= 5;
		while (n && *line == ' ') {
			line++;
			n--;
		}
		if (n == 6 && memcmp(line, "[DONE]", 6) == 0)
			break;
		if (++events > OPENAI_SSE_EVENTS_MAX)
			return fail(err, errlen, "more than 100000 data: events in one stream");
		cJSON *chunk = cJSON_ParseWithLength(line, n);
		if (cJSON_IsObject(chunk)) {
			take_response(chunk, a, out);
			good++;
		}
		cJSON_Delete(chunk);
	}
	if (!good)
		return fail(err, errlen, "text/event-stream without a JSON data: event");
	return 0;
}

int openai_parse_response(const char *body, size_t len, struct arena *a, struct openai_info *out,
                          char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (openai_is_sse(body, len))
		return parse_sse(body, len, a, out, err, errlen);
	cJSON *root = cJSON_ParseWithLength(body, len);
	int rc = -1;
	if (!cJSON_IsObject(root)) {
		fail(err, errlen, "an OpenAI response must be a JSON object or text/event-stream");
		goto out;
	}
	if (!cJSON_GetObjectItemCaseSensitive(root, "choices") &&
	    !cJSON_GetObjectItemCaseSensitive(root, "usage")) {
		fail(err, errlen, "neither choices nor usage: not a chat/completions response");
		goto out;
	}
	take_response(root, a, out);
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int openai_event(const struct openai_info *req, const struct openai_info *resp, struct arena *a,
                 struct event *ev)
{
	struct feature f[4];
	size_t n = 0;

	if (!ev->model)
		ev->model = resp && resp->model ? resp->model : req ? req->model : NULL;
	if (resp) {
		ev->has_input_tokens = resp->has_input_tokens;
		ev->input_tokens = resp->input_tokens;
		ev->has_output_tokens = resp->has_output_tokens;
		ev->output_tokens = resp->output_tokens;
		ev->finish_reason = resp->finish_reason;
	}
	if (req) {
		f[n++] = (struct feature){.name = "prompt_chars",
		                          .kind = FEATURE_NUMERIC,
		                          .num = (double)req->prompt_chars};
		if (req->messages)
			f[n++] = (struct feature){.name = "messages",
			                          .kind = FEATURE_NUMERIC,
			                          .num = (double)req->messages};
		if (req->has_max_tokens)
			f[n++] = (struct feature){.name = "max_tokens",
			                          .kind = FEATURE_NUMERIC,
			                          .num = (double)req->max_tokens};
	}
	if (req || resp)
		f[n++] = (struct feature){
		    .name = "stream",
		    .kind = FEATURE_CATEGORICAL,
		    .str = (req && req->stream) || (resp && resp->stream) ? "true" : "false"};
	if (n) {
		ev->features = arena_alloc(a, n * sizeof(*ev->features));
		if (!ev->features)
			return -1;
		memcpy(ev->features, f, n * sizeof(*f));
		ev->n_features = n;
	}
	return 0;
}
