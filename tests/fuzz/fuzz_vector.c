/* fuzz-deps: agent/vecdim.c agent/stats.c */
/* libFuzzer target: vector feature values (issue 19 acceptance 5). The input
 * is JSON text as a reference CSV cell or an event's feature value brings it:
 * parsed with and without a fixed dimension; what parses is encoded, decoded
 * (must give the same floats) and printed back as JSON, which must parse to
 * the same vector again. The raw input is also given to the decoder, which
 * must refuse or accept it without reading out of bounds. Then the path the
 * agent takes: the input as the value of a feature in an event body
 * (event_parse_body), its dimension fixed and checked (vecdim), and the
 * event through the wire (encode, decode) must keep the same floats. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "vecdim.h"
#include "vector.h"
#include "wire.h"

static float a[VECTOR_DIM_MAX], b[VECTOR_DIM_MAX];
static uint8_t enc[8 + VECTOR_DIM_MAX * 4];
static char text[VECTOR_DIM_MAX * 20 + 8];

/* The input as the agent meets it; ok: vector_from_text accepted it as
 * a[0..dim). */
static void agent_path(const uint8_t *data, size_t size, bool ok, size_t dim)
{
	static const char head[] = "{\"model\":\"m\",\"features\":{\"emb\":";
	struct event_batch eb;
	struct event_error err;
	char *body = malloc(sizeof(head) + size + 4);
	size_t len = 0;

	if (!body)
		return;
	memcpy(body, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	memcpy(body + len, data, size);
	len += size;
	memcpy(body + len, "}}", 2);
	len += 2;
	event_batch_init(&eb);
	int rc = event_parse_body(body, len, EVENT_BODY_EVENTS, 1e9, 16, &eb, &err);
	/* cJSON skips any control byte as blank; the event parser refuses
	 * them in a body. Otherwise a vector the cell parser takes, the event
	 * parser takes. */
	for (size_t i = 0; ok && i < size; i++)
		if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
			ok = false;
	if (ok && (rc != 0 || eb.n_events != 1))
		abort();
	if (rc == -1 && err.vector_reason && err.reason[0] == '\0')
		abort();
	for (size_t i = 0; rc == 0 && i < eb.n_events; i++) {
		struct event *ev = &eb.events[i];
		for (size_t k = 0; k < ev->n_features; k++) {
			const struct feature *f = &ev->features[k];
			if (f->kind != FEATURE_VECTOR)
				continue;
			if (f->dim == 0 || f->dim > VECTOR_DIM_MAX)
				abort();
			if (ok && strcmp(f->name, "emb") == 0 &&
			    (f->dim != dim || memcmp(f->vec, a, dim * sizeof(float)) != 0))
				abort();
		}
	}
	if (rc == 0) {
		struct vecdim *t = vecdim_new();
		struct wire_batch wb = {.protocol = WIRE_PROTOCOL, .agent_id = "a", .seq = 1};
		struct wire_batch back;
		uint8_t *buf = NULL;
		size_t blen = 0;
		char werr[256];

		/* fixed by the first check, the same events pass the second */
		if (t && (vecdim_check(t, eb.events, eb.n_events, &err) != 0 ||
		          vecdim_check(t, eb.events, eb.n_events, &err) != 0))
			abort();
		vecdim_free(t);
		wb.events = eb.events;
		wb.n_events = eb.n_events;
		if (wire_encode_batch(&wb, &buf, &blen) == 0) {
			if (wire_decode_batch(buf, blen, 0, &back, werr, sizeof(werr)) != 0 ||
			    back.n_events != eb.n_events || back.n_invalid)
				abort();
			for (size_t i = 0; i < back.n_events; i++)
				for (size_t k = 0; k < back.events[i].n_features; k++) {
					const struct feature *f = &back.events[i].features[k];
					const struct feature *g = &eb.events[i].features[k];
					if (f->kind != g->kind ||
					    (f->kind == FEATURE_VECTOR &&
					     (f->dim != g->dim ||
					      memcmp(f->vec, g->vec, f->dim * sizeof(float)) != 0)))
						abort();
				}
			wire_batch_free(&back);
		}
		free(buf);
	}
	event_batch_reset(&eb);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vector_error err;
	size_t dim = 0, dim2 = 0;

	(void)vector_decode(data, size, a, VECTOR_DIM_MAX, &dim);
	if (vector_from_text((const char *)data, size, 3, a, VECTOR_DIM_MAX, &dim, &err) == 0 &&
	    dim != 3)
		abort();
	if (vector_from_text((const char *)data, size, 0, a, VECTOR_DIM_MAX, &dim, &err) != 0) {
		if (err.reason == VECTOR_OK || err.msg[0] == '\0')
			abort(); /* a refusal always says why */
		agent_path(data, size, false, 0);
		return 0;
	}
	agent_path(data, size, true, dim);
	size_t n = vector_encode(a, dim, enc, sizeof(enc));
	if (n != vector_encoded_len(dim))
		abort();
	if (vector_decode(enc, n, b, VECTOR_DIM_MAX, &dim2) != 0 || dim2 != dim ||
	    memcmp(a, b, dim * sizeof(float)) != 0)
		abort();
	size_t len = vector_to_json(a, dim, text, sizeof(text));
	if (len >= sizeof(text))
		abort();
	if (vector_from_text(text, len, dim, b, VECTOR_DIM_MAX, &dim2, &err) != 0 ||
	    memcmp(a, b, dim * sizeof(float)) != 0)
		abort(); /* 9 significant digits read back to the same float32 */
	return 0;
}
