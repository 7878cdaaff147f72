/* fuzz-deps: collector/notify.c collector/payload.c collector/rules.c collector/alert_page.c
 * collector/exec_run.c */
/* libFuzzer target: notify_parse_retry_after, the Retry-After header a
 * receiver sends back (delta seconds or an HTTP date). The result is -1 or
 * a finite wait >= 0. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	double w = notify_parse_retry_after(s, 1764072000.0);
	if (w != -1 && !(isfinite(w) && w >= 0))
		abort();
	free(s);
	return 0;
}
