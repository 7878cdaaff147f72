/* fuzz-deps: agent/ingest_kserve.c agent/sampler.c agent/stats.c */
/* libFuzzer target: the agent's KServe (CloudEvents binary mode) input.
 * An input is HEADERS \0 FIRST-BODY \0 SECOND-BODY: header lines
 * "name: value" (ce-id, ce-type, ce-time, ce-inferenceservicename,
 * ce-source, ce-specversion) override defaults that make the two bodies a
 * request/response pair, so the parsers of both halves and the join run
 * on every input. The second half gets the opposite ce-type unless the
 * headers give "ce-type2". Every joined event must satisfy the contract's
 * rules again (event_parse accepted it), which the emit callback checks. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "ingest_kserve.h"

static int emit(void *arg, const struct event *ev, size_t n, size_t *sampled)
{
	size_t *total = arg;
	for (size_t i = 0; i < n; i++) {
		/* What reaches the batcher must be valid by the contract. */
		if (!event_model_name_valid(ev[i].model, strlen(ev[i].model)))
			abort();
		if (ev[i].n_features > EVENT_FEATURES_MAX)
			abort();
		for (size_t f = 0; f < ev[i].n_features; f++)
			if (!event_feature_name_valid(ev[i].features[f].name,
			                              strlen(ev[i].features[f].name)))
				abort();
	}
	*total += n;
	*sampled = n;
	return 0;
}

/* Copies the value of header name from the header block into buf. */
static const char *header(const char *blk, size_t len, const char *name, char *buf, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = blk, *end = blk + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl + 1 && strncmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < eol && *v == ' ')
				v++;
			size_t n = (size_t)(eol - v);
			if (n >= cap)
				n = cap - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = eol + 1;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	const char *z1 = memchr(d, '\0', size);
	size_t hlen = z1 ? (size_t)(z1 - d) : size;
	const char *b1 = z1 ? z1 + 1 : d + size;
	size_t rest = size - (size_t)(b1 - d);
	const char *z2 = memchr(b1, '\0', rest);
	size_t l1 = z2 ? (size_t)(z2 - b1) : rest;
	const char *b2 = z2 ? z2 + 1 : b1 + l1;
	size_t l2 = size - (size_t)(b2 - d);
	char id[256], type[256], type2[256], time1[128], time2[128], svc[256], src[128], spec[64];
	char rec[128], ns[128], comp[64], rid[256], mid[128], enc[32], hl[32];
	size_t total = 0;
	struct kserve_result res;

	struct kserve_headers h = {
	    .id = header(d, hlen, "ce-id", id, sizeof(id)),
	    .type = header(d, hlen, "ce-type", type, sizeof(type)),
	    .time = header(d, hlen, "ce-time", time1, sizeof(time1)),
	    .service = header(d, hlen, "ce-inferenceservicename", svc, sizeof(svc)),
	    .source = header(d, hlen, "ce-source", src, sizeof(src)),
	    .specversion = header(d, hlen, "ce-specversion", spec, sizeof(spec)),
	    .recorded_time = header(d, hlen, "ce-recordedtime", rec, sizeof(rec)),
	    .ns = header(d, hlen, "ce-namespace", ns, sizeof(ns)),
	    .component = header(d, hlen, "ce-component", comp, sizeof(comp)),
	    .request_id = header(d, hlen, "ce-requestid", rid, sizeof(rid)),
	    .model_id = header(d, hlen, "ce-modelid", mid, sizeof(mid)),
	    .content_encoding = header(d, hlen, "content-encoding", enc, sizeof(enc)),
	    .header_length = header(d, hlen, "inference-header-content-length", hl, sizeof(hl)),
	};
	if (!h.id)
		h.id = "fuzz-1";
	if (!h.type)
		h.type = "org.kubeflow.serving.inference.request";
	if (!h.service)
		h.service = "fraud";
	if (!h.time)
		h.time = "2025-11-25T12:00:00.000Z";
	/* A tiny table so eviction runs too; a long ttl so nothing expires
	 * by wall time during a run. */
	struct kserve *k = kserve_new(3600, 4, 1u << 20, emit, &total);
	if (!k)
		return 0;
	double now = 1764072000.0;
	kserve_handle(k, &h, b1, l1, now, &res);
	/* The second half: the opposite kind with the same id. */
	struct kserve_headers h2 = h;
	bool req = strlen(h.type) >= 8 && strcmp(h.type + strlen(h.type) - 8, ".request") == 0;
	h2.type = header(d, hlen, "ce-type2", type2, sizeof(type2));
	if (!h2.type)
		h2.type = req ? "org.kubeflow.serving.inference.response"
		              : "org.kubeflow.serving.inference.request";
	h2.time = header(d, hlen, "ce-time2", time2, sizeof(time2));
	if (!h2.time)
		h2.time = "2025-11-25T12:00:00.013Z";
	kserve_handle(k, &h2, b2, l2, now, &res);
	/* The same bodies once more under other ids fill the table past its
	 * bound (eviction), then expiry and free drop what is pending. */
	h.id = "fuzz-2";
	kserve_handle(k, &h, b1, l1, now, &res);
	h.id = "fuzz-3";
	kserve_handle(k, &h, b2, l2, now, &res);
	kserve_expire(k, 1e18);
	kserve_free(k);
	return 0;
}
