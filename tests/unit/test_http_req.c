/* http_req: the agent's HTTP routing, methods, Content-Length and body
 * growth (chunked uploads) within max_body. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../../agent/http_req.h"

Test(http_req, routes_are_exact_paths)
{
	cr_assert_eq(http_req_route("/v1/events"), HTTP_R_EVENTS);
	cr_assert_eq(http_req_route("/v1/labels"), HTTP_R_LABELS);
	cr_assert_eq(http_req_route("/v1/kserve"), HTTP_R_KSERVE);
	cr_assert_eq(http_req_route("/v1/traces"), HTTP_R_TRACES);
	cr_assert_eq(http_req_route("/v1/logs"), HTTP_R_LOGS);
	cr_assert_eq(http_req_route("/healthz"), HTTP_R_HEALTH);
	cr_assert_eq(http_req_route("/metrics"), HTTP_R_METRICS);
	cr_assert_eq(http_req_route("/v1/events/"), HTTP_R_NONE);
	cr_assert_eq(http_req_route("/V1/events"), HTTP_R_NONE);
	cr_assert_eq(http_req_route(""), HTTP_R_NONE);
}

Test(http_req, methods_404_and_405)
{
	bool get;
	cr_assert_eq(http_req_method(HTTP_R_EVENTS, "POST", &get), 0);
	cr_assert_not(get);
	cr_assert_eq(http_req_method(HTTP_R_EVENTS, "GET", &get), 405);
	cr_assert_str_eq(http_req_allow(HTTP_R_EVENTS), "POST");
	cr_assert_eq(http_req_method(HTTP_R_METRICS, "HEAD", &get), 0);
	cr_assert(get);
	cr_assert_eq(http_req_method(HTTP_R_HEALTH, "POST", &get), 405);
	cr_assert_str_eq(http_req_allow(HTTP_R_HEALTH), "GET, HEAD");
	cr_assert_eq(http_req_method(HTTP_R_NONE, "POST", &get), 404);
	cr_assert_eq(http_req_method(HTTP_R_KSERVE, "post", &get), 405);
}

Test(http_req, content_length_reserves_or_refuses)
{
	size_t r = 7;
	cr_assert_eq(http_req_content_length(NULL, 1024, &r), 0);
	cr_assert_eq(r, 0);
	cr_assert_eq(http_req_content_length("100", 1024, &r), 0);
	cr_assert_eq(r, 101);
	cr_assert_eq(http_req_content_length("1024", 1024, &r), 0);
	cr_assert_eq(r, 1025);
	cr_assert_eq(http_req_content_length("1025", 1024, &r), 413);
	cr_assert_eq(http_req_content_length("0", 1024, &r), 0);
	cr_assert_eq(r, 0);
	cr_assert_eq(http_req_content_length("abc", 1024, &r), 0);
	cr_assert_eq(r, 0);
	cr_assert_eq(http_req_content_length("99999999999999999999999", 1024, &r), 0);
	cr_assert_eq(r, 0); /* out of range: left to the upload's own check */
}

/* A chunked body arriving piecewise: the buffer doubles from 16 KiB, never
 * past max_body + 1, and one byte past max_body is a 413. */
Test(http_req, body_grows_within_max_body)
{
	const size_t max = 40000;
	size_t len = 0, cap = 0, ncap;

	cr_assert_eq(http_req_body_room(len, cap, 100, max, &ncap), 0);
	cr_assert_eq(ncap, 16384);
	cap = ncap;
	len = 100;
	cr_assert_eq(http_req_body_room(len, cap, 16283, max, &ncap), 0);
	cr_assert_eq(ncap, cap); /* 100 + 16283 + NUL fit exactly */
	cr_assert_eq(http_req_body_room(len, cap, 16284, max, &ncap), 0);
	cr_assert_eq(ncap, 32768);
	cr_assert_eq(http_req_body_room(30000, 32768, 10000, max, &ncap), 0);
	cr_assert_eq(ncap, max + 1); /* capped, not 65536 */
	cr_assert_eq(http_req_body_room(30000, 32768, 10001, max, &ncap), 413);
	cr_assert_eq(http_req_body_room(0, 0, SIZE_MAX, max, &ncap), 413);
	/* a Content-Length reservation (len + 1) is used as it is */
	cr_assert_eq(http_req_body_room(0, 11, 10, max, &ncap), 0);
	cr_assert_eq(ncap, 11);
}
