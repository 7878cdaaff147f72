/* openai: OpenAI-style chat/completions and completions bodies, as KServe's
 * logger forwards them for /openai/v1/... (vLLM and huggingface runtimes),
 * read for what monitoring needs (issue 15): the model, the prompt's length,
 * the request's max_tokens and stream flag; the response's usage tokens and
 * finish reason, from a JSON body or from a streamed text/event-stream
 * body buffered whole ("data: {chunk}" events up to "data: [DONE]").
 *
 * openai_event turns a request / response pair into one event's fields.
 * Strings live in the caller's arena. Stateless, thread-safe; every input
 * is untrusted: malformed bodies give -1 and a reason, never a crash. */
#ifndef MLW_OPENAI_H
#define MLW_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"

#define OPENAI_SSE_EVENTS_MAX 100000 /* data: lines read from one streamed body */

struct openai_info {
	const char *model;    /* NULL when absent or not a valid model name */
	bool has_prompt;      /* request: messages or prompt present */
	int64_t prompt_chars; /* request: characters of every message / prompt */
	int64_t messages;     /* request: chat messages */
	bool has_max_tokens;
	int64_t max_tokens;
	bool stream; /* request asked for it, or the response was SSE */
	bool has_input_tokens, has_output_tokens;
	int64_t input_tokens, output_tokens; /* response usage */
	const char *finish_reason;           /* response: the first choice's, lower-case */
	int64_t chunks;                      /* response: SSE data events with content */
};

/* Reads a request body. Returns 0, or -1 with a reason in err. */
int openai_parse_request(const char *body, size_t len, struct arena *a, struct openai_info *out,
                         char *err, size_t errlen);
/* Reads a response body: JSON, or SSE (detected by its "data:" lines). */
int openai_parse_response(const char *body, size_t len, struct arena *a, struct openai_info *out,
                          char *err, size_t errlen);

/* True when a body is a text/event-stream (a "data:", "event:" or ":"
 * line first), as a streamed response is logged. */
bool openai_is_sse(const char *body, size_t len);

/* Fills ev's LLM fields and model (when ev->model is NULL) from a request
 * (may be NULL) and a response (may be NULL): tokens, finish reason, and
 * the features prompt_chars, messages, max_tokens and stream. Feature
 * memory comes from a. Returns 0 or -1 when out of memory. */
int openai_event(const struct openai_info *req, const struct openai_info *resp, struct arena *a,
                 struct event *ev);

#endif
