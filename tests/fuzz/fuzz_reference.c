/* libFuzzer target: `mlwatch reference import` readers, CSV (RFC 4180
 * quoting, header row first) and JSONL events. The first byte picks the
 * reader (even: CSV, odd: JSONL); the rest is the file, read through
 * fmemopen as the command reads a FILE *. A reference that was read must
 * also finish (profiles built) without a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct ref_result res;

	if (size < 1)
		return 0;
	FILE *f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "r");
	if (!f)
		return 0;
	if (size == 1)
		fgetc(f); /* fmemopen needs a size >= 1: consume the placeholder byte */
	struct refb *b = refb_new(NULL);
	if (b) {
		int rc = data[0] % 2
		             ? reference_read_jsonl(f, "fuzz", b, NULL, NULL, err, sizeof(err))
		             : reference_read_csv(f, "fuzz", b, NULL, NULL, err, sizeof(err));
		if (rc == 0 && refb_finish(b, &res, err, sizeof(err)) == 0)
			ref_result_free(&res);
		refb_free(b);
	}
	fclose(f);
	return 0;
}
