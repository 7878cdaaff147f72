/* fraud_rows: see fraud_rows.h. */
#include "fraud_rows.h"

#include <stdio.h>
#include <stdlib.h>

#include "event.h"

#define SPAN_S 600 /* seconds of event time the n events cover */

static const char *const countries[] = {"DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"};
static const char *const devices[] = {"ios", "android", "web"};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void fraud_row_make(long i, long n, double t_base, enum fraud_ids ids, struct fraud_row *r)
{
	r->ts = t_base + (double)i * SPAN_S / (double)n; /* a steady stream */
	if (ids != FRAUD_IDS_RISING) {
		uint64_t a = mix64((uint64_t)i * 2), b = mix64((uint64_t)i * 2 + 1);
		if (ids == FRAUD_IDS_UUID7) /* 48 bits of milliseconds first */
			a = (uint64_t)(r->ts * 1000.0) << 16 | (a & 0xffff);
		snprintf(r->id, sizeof(r->id), "%08x-%04x-%x%03x-%04x-%012llx", (unsigned)(a >> 32),
		         (unsigned)(a >> 16) & 0xffff, ids == FRAUD_IDS_UUID7 ? 7 : 4,
		         (unsigned)(b >> 52) & 0xfff, 0x8000 | ((unsigned)(b >> 36) & 0x3fff),
		         (unsigned long long)(b & 0xffffffffffffULL));
	} else {
		snprintf(r->id, sizeof(r->id), "r%ld", i);
	}
	r->latency = 1.0 + (double)((i * 7919) % 100000) / 1000.0;
	r->amount = (double)((i * 31) % 10000) / 10.0;
	r->age = (double)(18 + i % 60);
	r->items = (double)(1 + i % 7);
	r->hour = (double)(i % 24);
	r->country = countries[i % 8];
	r->device = devices[i % 3];
	r->channel = i % 2 ? "app" : "site";
	r->tier = i % 5 ? "std" : "gold";
	r->pred = i % 4 ? "legit" : "fraud";
	r->score = 0.5 + (double)(i % 50) / 100.0;
}

void fraud_row_features(const struct fraud_row *r, struct wc_feature f[8])
{
	const struct wc_feature v[8] = {
	    {"amount", FEATURE_NUMERIC, r->amount, NULL},
	    {"age", FEATURE_NUMERIC, r->age, NULL},
	    {"items", FEATURE_NUMERIC, r->items, NULL},
	    {"hour", FEATURE_NUMERIC, r->hour, NULL},
	    {"country", FEATURE_CATEGORICAL, 0, r->country},
	    {"device", FEATURE_CATEGORICAL, 0, r->device},
	    {"channel", FEATURE_CATEGORICAL, 0, r->channel},
	    {"tier", FEATURE_CATEGORICAL, 0, r->tier},
	};

	for (int k = 0; k < 8; k++)
		f[k] = v[k];
}

void fraud_batches_free(struct fraud_batch *e, long nb)
{
	for (long b = 0; e && b < nb; b++)
		free(e[b].buf);
	free(e);
}

struct fraud_batch *fraud_batches(const char *agent, long n, double t_base, enum fraud_ids ids,
                                  long per_batch, long *nb)
{
	long count = (n + per_batch - 1) / per_batch;
	struct fraud_batch *e = calloc((size_t)count, sizeof(*e));
	/* latencies per second of event time, for the summaries */
	double *lat = malloc((size_t)SPAN_S * (size_t)per_batch * sizeof(double));
	size_t nl[SPAN_S];
	struct fraud_row r;
	struct wc_feature f[8];
	int rc = -1;

	if (!e || !lat)
		goto out;
	for (long b = 0; b < count; b++) {
		struct wc_batch wb;
		long from = b * per_batch, to = from + per_batch < n ? from + per_batch : n;

		for (int s = 0; s < SPAN_S; s++)
			nl[s] = 0;
		wc_batch_init(&wb, agent, (uint64_t)b + 1, NULL);
		for (long i = from; i < to; i++) {
			fraud_row_make(i, n, t_base, ids, &r);
			fraud_row_features(&r, f);
			if (wc_batch_event(&wb, "fraud", r.id, r.ts, r.latency, false, f, 8,
			                   wc_str(r.pred), r.score, wc_none()))
				goto fail;
			long sec = (long)(r.ts - t_base);
			lat[sec * per_batch + (long)nl[sec]++] = r.latency;
		}
		for (int s = 0; s < SPAN_S; s++)
			if (nl[s] &&
			    wc_batch_summary(&wb, "fraud", (int64_t)t_base + s, nl[s], 0, nl[s],
			                     lat + (size_t)s * (size_t)per_batch, nl[s]))
				goto fail;
		if (wc_batch_encode(&wb, &e[b].buf, &e[b].len))
			goto fail;
		wc_batch_free(&wb);
		continue;
	fail:
		wc_batch_free(&wb);
		goto out;
	}
	rc = 0;
	*nb = count;
out:
	free(lat);
	if (rc) {
		fraud_batches_free(e, count); /* what was not encoded is NULL */
		e = NULL;
	}
	return e;
}
