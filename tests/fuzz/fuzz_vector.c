/* libFuzzer target: vector feature values (issue 19 acceptance 5). The input
 * is JSON text as a reference CSV cell or an event's feature value brings it:
 * parsed with and without a fixed dimension; what parses is encoded, decoded
 * (must give the same floats) and printed back as JSON, which must parse to
 * the same vector again. The raw input is also given to the decoder, which
 * must refuse or accept it without reading out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"

static float a[VECTOR_DIM_MAX], b[VECTOR_DIM_MAX];
static uint8_t enc[8 + VECTOR_DIM_MAX * 4];
static char text[VECTOR_DIM_MAX * 20 + 8];

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
		return 0;
	}
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
