/* libFuzzer target: sq_hist_parse, the reader of the histogram JSON the
 * collector stores (drift.cur_hist, reference profiles) and the dashboard
 * draws. Whatever it accepts must be a bounded, finite histogram. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct sq_hist h;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sq_hist_parse(s, &h) == 0) {
		if (h.n < 0 || h.n > SQ_HIST_MAX)
			abort();
		for (int i = 0; i < h.n; i++)
			if (memchr(h.label[i], '\0', sizeof(h.label[i])) == NULL)
				abort(); /* every label NUL-terminated */
	}
	free(s);
	return 0;
}
