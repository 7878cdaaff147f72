/* fuzz-deps: agent/http_req.c agent/ingest_kserve.c agent/ingest_otlp.c agent/sampler.c
 * agent/stats.c */
/* libFuzzer target: the agent's HTTP handling above libmicrohttpd
 * (agent/ingest_http.c), as on_request/take_upload/the handlers run it.
 * The input is a raw HTTP/1.1 request: request line, headers, blank line,
 * body; libmicrohttpd's part (header and chunked decoding) is played by
 * this harness: names are matched case-insensitively, the query string is
 * cut from the URL, a chunked body arrives one upload per chunk, another
 * in pieces of x-fuzz-piece bytes (default 1000). x-fuzz-max-body sets
 * max_body (1 KiB-64 KiB, default 4096) so 413s are reachable.
 *
 * Checked: 404 exactly for unknown paths, 405 by the route's methods; a
 * Content-Length past max_body is refused before any byte is held; the
 * body buffer always holds what arrived plus a NUL, never more than
 * max_body + 1 bytes, and a 413 comes exactly when the bytes pass
 * max_body; the assembled body equals what was sent. A body that is not
 * refused goes to the route's parser with the request's headers (events
 * and labels, KServe CloudEvents ce-* headers, OTLP Content-Type and
 * Content-Encoding), whose events must satisfy the contract. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "http_req.h"
#include "ingest_kserve.h"
#include "ingest_otlp.h"

#define NOW 1764072000.0

struct hdrs {
	const char *p; /* the header block (after the request line) */
	size_t len;
};

/* The value of header name (case-insensitive, trimmed) copied into buf. */
static const char *header(const struct hdrs *h, const char *name, char *buf, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = h->p, *end = h->p + h->len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v);
			if (n >= cap || memchr(v, '\0', n))
				return NULL; /* libmicrohttpd refuses NULs in headers */
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = eol + 1;
	}
	return NULL;
}

static void check(const struct event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!event_model_name_valid(ev[i].model, strlen(ev[i].model)))
			abort();
		if (ev[i].n_features > EVENT_FEATURES_MAX)
			abort();
		for (size_t f = 0; f < ev[i].n_features; f++)
			if (!event_feature_name_valid(ev[i].features[f].name,
			                              strlen(ev[i].features[f].name)))
				abort();
	}
}

static int emit(void *arg, const struct event *ev, size_t n, size_t *sampled)
{
	check(ev, n);
	*sampled = n;
	return 0;
}

/* take_upload: the body buffer as ingest_http.c keeps it. */
struct body {
	char *p;
	size_t len, cap;
	unsigned refused;
	uint64_t max_body;
	size_t sent; /* bytes that arrived so far */
};

static void upload(struct body *b, const char *data, size_t n)
{
	size_t ncap;

	b->sent += n;
	if (b->refused)
		return;
	if (http_req_body_room(b->len, b->cap, n, b->max_body, &ncap) != 0) {
		if (b->sent <= b->max_body)
			abort(); /* refused within the limit */
		b->refused = 413;
		free(b->p);
		b->p = NULL;
		b->len = b->cap = 0;
		return;
	}
	if (ncap < b->cap || ncap < b->len + n + 1 || ncap > b->max_body + 1)
		abort();
	if (ncap != b->cap) {
		char *nb = realloc(b->p, ncap);
		if (!nb) {
			b->refused = 503;
			return;
		}
		b->p = nb;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Decodes a chunked body, one upload per chunk; false when malformed
 * (libmicrohttpd would answer 400 itself). */
static bool chunked(struct body *b, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		char *e;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return false;
		unsigned long long k = strtoull(p, &e, 16);
		if (e == p || e > eol || k > (size_t)(end - eol - 1))
			return false;
		if (k == 0)
			return true;
		upload(b, eol + 1, (size_t)k);
		p = eol + 1 + k;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
	}
	return false; /* no last chunk */
}

static void kserve(const struct hdrs *h, const struct body *b)
{
	char id[256], type[256], time1[128], svc[256], src[128], spec[64], rec[128], ns[128];
	char comp[64], rid[256], mid[128], enc[32], hl[32];
	struct kserve_result res;
	struct kserve_headers kh = {
	    header(h, "ce-id", id, sizeof(id)),
	    header(h, "ce-type", type, sizeof(type)),
	    header(h, "ce-time", time1, sizeof(time1)),
	    header(h, "ce-inferenceservicename", svc, sizeof(svc)),
	    header(h, "ce-source", src, sizeof(src)),
	    header(h, "ce-specversion", spec, sizeof(spec)),
	    .recorded_time = header(h, "ce-recordedtime", rec, sizeof(rec)),
	    .ns = header(h, "ce-namespace", ns, sizeof(ns)),
	    .component = header(h, "ce-component", comp, sizeof(comp)),
	    .request_id = header(h, "ce-requestid", rid, sizeof(rid)),
	    .model_id = header(h, "ce-modelid", mid, sizeof(mid)),
	    .content_encoding = header(h, "content-encoding", enc, sizeof(enc)),
	    .header_length = header(h, "inference-header-content-length", hl, sizeof(hl)),
	};
	if (!kh.model_id)
		kh.model_id = header(h, "model-id", mid, sizeof(mid));
	struct kserve *k = kserve_new(3600, 4, 1u << 20, emit, NULL);
	if (!k)
		return;
	kserve_handle(k, &kh, b->p ? b->p : "", b->len, NOW, &res);
	kserve_free(k);
}

static void otlp(enum http_route r, const struct hdrs *h, const struct body *b)
{
	char ct[128], ce[64], *out = NULL;
	const char *type;
	struct event_batch eb;
	struct otlp_reply rep;
	size_t olen;
	enum otlp_signal sig = r == HTTP_R_TRACES ? OTLP_TRACES : OTLP_LOGS;

	event_batch_init(&eb);
	int rc = otlp_decode(sig, header(h, "content-type", ct, sizeof(ct)),
	                     header(h, "content-encoding", ce, sizeof(ce)), b->p ? b->p : "",
	                     b->len, NOW, (size_t)b->max_body, 100, &eb, &rep);
	if (rc == 0)
		check(eb.events, eb.n_events);
	if (otlp_reply_body(sig, &rep, &out, &olen, &type) == 0)
		free(out);
	event_batch_reset(&eb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data, *end = d + size;
	char method[16], url[256], val[64];
	struct body b = {0};
	bool get;

	if (size > 65536)
		return 0;
	/* request line: METHOD SP URL [SP VERSION] */
	const char *eol = memchr(d, '\n', size), *sp = memchr(d, ' ', size);
	if (!eol || !sp || sp > eol || (size_t)(sp - d) >= sizeof(method))
		return 0;
	memcpy(method, d, (size_t)(sp - d));
	method[sp - d] = '\0';
	const char *u = sp + 1, *ue = u;
	while (ue < eol && *ue != ' ' && *ue != '?' && *ue != '\r')
		ue++;
	if ((size_t)(ue - u) >= sizeof(url) || memchr(u, '\0', (size_t)(ue - u)))
		return 0;
	memcpy(url, u, (size_t)(ue - u));
	url[ue - u] = '\0';
	/* headers up to the blank line */
	struct hdrs h = {eol + 1, 0};
	const char *p = eol + 1, *body = end;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			break;
		if (e == p || (e == p + 1 && *p == '\r')) {
			h.len = (size_t)(p - h.p);
			body = e + 1;
			break;
		}
		p = e + 1;
	}
	if (body == end && h.len == 0)
		h.len = (size_t)(end - h.p);
	size_t blen = (size_t)(end - body);

	b.max_body = 4096;
	if (header(&h, "x-fuzz-max-body", val, sizeof(val))) {
		unsigned long v = strtoul(val, NULL, 10);
		b.max_body = v < 1024 ? 1024 : v > 65536 ? 65536 : v;
	}

	enum http_route r = http_req_route(url);
	unsigned bad = http_req_method(r, method, &get);
	if ((bad == 404) != (r == HTTP_R_NONE))
		abort();
	bool get_route = r == HTTP_R_HEALTH || r == HTTP_R_METRICS;
	if (!bad && get != get_route)
		abort();
	if (bad == 405 && strcmp(http_req_allow(r), get_route ? "GET, HEAD" : "POST") != 0)
		abort();
	if (bad || get)
		return 0;

	size_t reserve;
	const char *cl = header(&h, "content-length", val, sizeof(val));
	if (http_req_content_length(cl, b.max_body, &reserve) != 0) {
		if (!cl || strtoull(cl, NULL, 10) <= b.max_body)
			abort();
		return 0; /* 413 before any byte is held */
	}
	if (reserve > b.max_body + 1)
		abort();
	if (reserve) {
		if (!(b.p = malloc(reserve)))
			return 0;
		b.p[0] = '\0'; /* as reserve_body does */
		b.cap = reserve;
	}
	char te[64];
	const char *t = header(&h, "transfer-encoding", te, sizeof(te));
	if (t && strcasestr(t, "chunked")) {
		if (!chunked(&b, body, blen))
			goto out;
	} else {
		size_t piece = 1000;
		if (header(&h, "x-fuzz-piece", val, sizeof(val))) {
			unsigned long v = strtoul(val, NULL, 10);
			piece = v < 1 ? 1 : v > 65536 ? 65536 : v;
		}
		if (reserve && blen < reserve - 1)
			goto out; /* libmicrohttpd waits for the rest, then times out */
		if (reserve && blen > reserve - 1)
			blen = reserve - 1; /* the rest would be the next request */
		for (size_t off = 0; off < blen; off += piece)
			upload(&b, body + off, blen - off < piece ? blen - off : piece);
		if (b.sent != blen)
			abort();
	}
	if (b.refused == 413 && b.sent <= b.max_body)
		abort();
	if (b.refused)
		goto out;
	if (b.len != b.sent || (b.p && b.p[b.len] != '\0'))
		abort();
	if (!t || !strcasestr(t, "chunked"))
		if (b.len && memcmp(b.p, body, b.len) != 0)
			abort();
	switch (r) {
	case HTTP_R_EVENTS:
	case HTTP_R_LABELS: {
		struct event_batch eb;
		struct event_error err;
		event_batch_init(&eb);
		if (event_parse_body(b.p ? b.p : "", b.len,
		                     r == HTTP_R_LABELS ? EVENT_BODY_LABELS : EVENT_BODY_EVENTS,
		                     NOW, 100, &eb, &err) == 0)
			check(eb.events, eb.n_events);
		event_batch_reset(&eb);
		break;
	}
	case HTTP_R_KSERVE:
		kserve(&h, &b);
		break;
	case HTTP_R_TRACES:
	case HTTP_R_LOGS:
		otlp(r, &h, &b);
		break;
	default:
		abort(); /* GET routes returned above */
	}
out:
	free(b.p);
	return 0;
}
