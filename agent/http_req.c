/* http_req: see http_req.h. */
#include "http_req.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 16384

enum http_route http_req_route(const char *url)
{
	static const struct {
		const char *path;
		enum http_route r;
	} routes[] = {
	    {"/v1/events", HTTP_R_EVENTS}, {"/v1/labels", HTTP_R_LABELS},
	    {"/v1/kserve", HTTP_R_KSERVE}, {"/v1/traces", HTTP_R_TRACES},
	    {"/v1/logs", HTTP_R_LOGS},     {"/healthz", HTTP_R_HEALTH},
	    {"/metrics", HTTP_R_METRICS},
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(url, routes[i].path) == 0)
			return routes[i].r;
	return HTTP_R_NONE;
}

static bool is_get_route(enum http_route r)
{
	return r == HTTP_R_HEALTH || r == HTTP_R_METRICS;
}

unsigned http_req_method(enum http_route r, const char *method, bool *get)
{
	bool post = strcmp(method, "POST") == 0;

	*get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (r == HTTP_R_NONE)
		return 404;
	if (is_get_route(r) ? !*get : !post)
		return 405;
	return 0;
}

const char *http_req_allow(enum http_route r)
{
	return is_get_route(r) ? "GET, HEAD" : "POST";
}

unsigned http_req_content_length(const char *cl, uint64_t max_body, size_t *reserve)
{
	char *end;

	*reserve = 0;
	if (!cl)
		return 0;
	errno = 0;
	unsigned long long v = strtoull(cl, &end, 10);
	if (errno || end == cl)
		return 0;
	if (v > max_body)
		return 413;
	if (v > 0 && v < SIZE_MAX)
		*reserve = (size_t)v + 1;
	return 0;
}

unsigned http_req_body_room(size_t len, size_t cap, size_t n, uint64_t max_body, size_t *ncap)
{
	/* len <= max_body <= 1 GiB (config), so the sums cannot wrap once n
	 * is checked alone first. */
	if (n > max_body || len + n > max_body)
		return 413;
	if (len + n + 1 <= cap) {
		*ncap = cap;
		return 0;
	}
	size_t want = cap ? cap : FIRST_CAP;
	while (want < len + n + 1)
		want *= 2;
	if (want > max_body + 1)
		want = (size_t)max_body + 1;
	*ncap = want;
	return 0;
}
