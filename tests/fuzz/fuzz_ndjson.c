/* libFuzzer target: the NDJSON path of the HTTP body parser
 * (event_parse_body), which the agent's HTTP, datagram and tail inputs all
 * use to split a body into events; the agent has no other splitter (the
 * datagram input's line-by-line fallback calls the same function per
 * line). The input is taken as lines, and checked against an oracle:
 *  - all or nothing: on failure the batch keeps exactly what it held;
 *  - when every non-blank line parses alone as exactly one event, the
 *    whole body parses as exactly that many events, in the same order;
 *  - an error's index points at an item that exists.
 * The first byte picks events or labels. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#define NOW 1764072000.0

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* An array line alone is a batch, not an NDJSON line. */
static char first_char(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p < end ? *p : '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_batch whole, one;
	struct event_error err;
	char msg[512];

	if (size < 1 || size > 65536)
		return 0;
	enum event_body_kind kind = data[0] & 1 ? EVENT_BODY_LABELS : EVENT_BODY_EVENTS;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;

	/* A batch that already holds one item: a failed parse must leave it. */
	event_batch_init(&whole);
	static const char seed_ev[] = "{\"model\":\"seed\",\"id\":\"s\"}";
	static const char seed_lb[] = "{\"model\":\"seed\",\"id\":\"s\",\"label\":1}";
	const char *seed = kind == EVENT_BODY_LABELS ? seed_lb : seed_ev;
	if (event_parse_body(seed, strlen(seed), kind, NOW, 1, &whole, &err) != 0)
		abort();
	int rc = event_parse_body(body, len, kind, NOW, 10000, &whole, &err);
	size_t got = kind == EVENT_BODY_LABELS ? whole.n_labels : whole.n_events;
	if (rc != 0) {
		event_error_format(&err, msg, sizeof(msg));
		if (got != 1)
			abort(); /* not all or nothing */
		if (!memchr(err.field, '\0', sizeof(err.field)) ||
		    !memchr(err.reason, '\0', sizeof(err.reason)))
			abort();
	}

	/* Each line alone. */
	size_t lines_ok = 0, lines = 0;
	bool all_single = true;
	event_batch_init(&one);
	for (const char *p = body, *end = body + len; p < end && all_single;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (!blank(p, (size_t)(le - p))) {
			lines++;
			size_t before = kind == EVENT_BODY_LABELS ? one.n_labels : one.n_events;
			if (event_parse_body(p, (size_t)(le - p), kind, NOW, 1, &one, &err) == 0 &&
			    (kind == EVENT_BODY_LABELS ? one.n_labels : one.n_events) ==
			        before + 1 &&
			    first_char(p, le) != '[')
				lines_ok++;
			else
				all_single = false;
		}
		p = nl ? nl + 1 : end;
	}
	if (all_single && lines > 0 && lines <= 10000) {
		if (rc != 0 || got != 1 + lines_ok)
			abort(); /* the lines parse alone but not together */
		for (size_t i = 0; i < lines_ok; i++) {
			const char *a = kind == EVENT_BODY_LABELS ? whole.labels[i + 1].model
			                                          : whole.events[i + 1].model;
			const char *b =
			    kind == EVENT_BODY_LABELS ? one.labels[i].model : one.events[i].model;
			if (strcmp(a, b) != 0)
				abort(); /* order or content differs */
		}
	}
	event_batch_reset(&one);
	event_batch_reset(&whole);
	return 0;
}
