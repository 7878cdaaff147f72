/* libFuzzer target: the binary features blob of a stored event (issue 18
 * item 3, common/featcodec.h). The database is outside input (an old
 * version, a hand edit, a disk error): the input as a blob must be refused
 * or read without reading past its end; a blob it accepts renders as a
 * JSON object, that JSON encodes back (featcodec_from_json, the path of a
 * legacy row) into a blob that renders the same text, and iterating it
 * twice gives the same features. The input as JSON text takes the legacy
 * path too: what it encodes renders and encodes again to the same bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "featcodec.h"
#include "jsonw.h"

static float vec[VECTOR_DIM_MAX];

static void blob_path(const uint8_t *data, size_t size, struct featcodec_enc *e)
{
	struct featcodec_error err;
	struct featcodec_it it;
	struct jsonw a, b;
	int rc = featcodec_validate(data, size, &err);

	jsonw_init(&a);
	jsonw_init(&b);
	if (featcodec_to_json(data, size, &a, NULL) != rc)
		abort(); /* the renderer and the validator disagree */
	if (rc != 0)
		goto out;
	if (featcodec_begin(&it, data, size, NULL))
		abort();
	while ((rc = featcodec_next(&it, NULL)) == 1)
		if (it.kind == FEATURE_VECTOR)
			featcodec_vec(&it, vec);
	if (rc != 0)
		abort();
	/* a repeated name or -0/ints may change the bytes, not the JSON text
	 * of the first occurrences: compare only blobs without repeats */
	if (featcodec_from_json(a.buf, e, NULL) == 0 &&
	    featcodec_to_json(e->buf, e->len, &b, NULL) == 0 && e->count == it.count &&
	    strcmp(a.buf, b.buf) != 0)
		abort();
out:
	jsonw_fini(&a);
	jsonw_fini(&b);
}

static void json_path(const uint8_t *data, size_t size, struct featcodec_enc *e)
{
	char *s = malloc(size + 1);
	struct featcodec_enc again;
	struct jsonw w;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	jsonw_init(&w);
	featcodec_enc_init(&again);
	if (featcodec_from_json(s, e, NULL) == 0) {
		if (featcodec_validate(e->buf, e->len, NULL) != 0)
			abort(); /* the encoder wrote a blob the decoder refuses */
		if (featcodec_to_json(e->buf, e->len, &w, NULL) == 0 &&
		    (featcodec_from_json(w.buf, &again, NULL) != 0 || again.len != e->len ||
		     memcmp(again.buf, e->buf, e->len) != 0))
			abort(); /* rendering and encoding again is not stable */
	}
	featcodec_enc_fini(&again);
	jsonw_fini(&w);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct featcodec_enc e;

	featcodec_enc_init(&e);
	blob_path(data, size, &e);
	json_path(data, size, &e);
	featcodec_enc_fini(&e);
	return 0;
}
