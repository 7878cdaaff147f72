/* fuzz-deps: tui/cmd_webhook.c collector/payload.c collector/rules.c */
/* libFuzzer target: `mlwatch webhook-listen`'s handling of what a sender
 * posts: the signature check (X-Mlwatch-Signature-256 against HMAC-SHA256
 * of the body) and the printed description of the four receiver formats.
 * An input is SECRET \n HEADER \n BODY; an empty SECRET or HEADER line
 * stands for none. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *out = NULL;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char *secret = s, *header = NULL, *body = s + size;
	char *nl = memchr(s, '\n', size);
	if (nl) {
		*nl = '\0';
		header = nl + 1;
		char *nl2 = memchr(header, '\n', size - (size_t)(header - s));
		if (nl2) {
			*nl2 = '\0';
			body = nl2 + 1;
		}
	}
	size_t blen = size - (size_t)(body - s);
	/* a fixed "now" so a signed timestamp in the input decides the verdict */
	const char *v =
	    webhook_verify(secret[0] ? secret : NULL, header && header[0] ? header : NULL, body,
	                   blen, 1764072000.0);
	if (!v || (strcmp(v, "valid") && strcmp(v, "invalid") && strcmp(v, "stale") &&
	           strcmp(v, "missing") && strcmp(v, "unchecked")))
		abort();
	if (memchr(body, '\0', blen) == NULL) /* describe takes a C string */
		webhook_describe(body, v, &out);
	free(out);
	free(s);
	return 0;
}
