/* bench_features: the stored features blob (issue 18 item 3) on
 * bench_collector's events (8 features: 4 numbers, 4 categories), 300000 of
 * them (BENCH_EVENTS), in a SQLite store:
 *   encode   the listen thread's work per event (featcodec, into the blob)
 *   json     export's rendering of a blob as JSON text
 *   tail     the analysis tail: events read back by id (event_row checks
 *            each blob) and folded into their windows (best of 3)
 *   bytes    the blob and the JSON text of the same features, per event,
 *            and the store's file per event
 * CPU time of this process (one thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../lib/harness.h"
#include "featcodec.h"
#include "jsonw.h"
#include "store.h"
#include "store_ingest.h"
#include "windows.h"

static const char *const countries[] = {"DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"};
static const char *const devices[] = {"ios", "android", "web"};

static void encode(struct featcodec_enc *e, long i)
{
	featcodec_reset(e);
	featcodec_add_num(e, "amount", (double)((i * 31) % 10000) / 10.0);
	featcodec_add_num(e, "age", (double)(18 + i % 60));
	featcodec_add_num(e, "items", (double)(1 + i % 7));
	featcodec_add_num(e, "hour", (double)(i % 24));
	featcodec_add_str(e, "country", countries[i % 8], 2);
	featcodec_add_str(e, "device", devices[i % 3], strlen(devices[i % 3]));
	featcodec_add_str(e, "channel", i % 2 ? "app" : "site", i % 2 ? 3 : 4);
	featcodec_add_str(e, "tier", i % 5 ? "std" : "gold", i % 5 ? 3 : 4);
	featcodec_finish(e);
}

struct tail {
	struct wmodel *m;
	struct wstate *w;
	int64_t ws;
	long n;
	int rc;
};

static int fold_cb(const struct store_raw_event *e, void *arg)
{
	struct tail *t = arg;
	bool changed = false;

	if (!t->w || t->ws != e->window_start) {
		wstate_free(t->w);
		t->w = wstate_new(1, e->window_start);
		t->ws = e->window_start;
		if (!t->w)
			return 1;
	}
	t->n++;
	return wstate_fold(t->w, t->m, e, &changed);
}

int main(void)
{
	const char *env = getenv("BENCH_EVENTS");
	long n = env ? strtol(env, NULL, 10) : 300000;
	char *dir = h_tmpdir("bench-features"), path[600], err[256];
	struct featcodec_enc enc;
	struct jsonw w;
	struct store st;
	struct store_ingest *si = NULL;
	struct store_event_row rows[1000];
	uint8_t *blob[1000] = {0};
	char ids[1000][24];
	double blob_bytes = 0, json_bytes = 0, c0, enc_s, json_s, tail_s = 1e9;
	int64_t model;
	int rc = 1;

	if (n < 1000)
		n = 1000;
	n -= n % 1000;
	featcodec_enc_init(&enc);
	jsonw_init(&w);
	c0 = h_cpu();
	for (long i = 0; i < n; i++)
		encode(&enc, i);
	enc_s = h_cpu() - c0;
	c0 = h_cpu();
	for (long i = 0; i < n; i++) {
		if (i % 1000 == 0) {
			encode(&enc, i);
			blob_bytes += (double)enc.len;
		}
		jsonw_reset(&w);
		featcodec_to_json(enc.buf, enc.len, &w, NULL);
		if (i % 1000 == 0)
			json_bytes += (double)w.len;
	}
	json_s = h_cpu() - c0;

	snprintf(path, sizeof(path), "%s/f.db", dir);
	if (store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err))) {
		fprintf(stderr, "bench_features: %s\n", err);
		goto out_free;
	}
	if (!(si = store_ingest_new(&st)) || store_ingest_model(si, "fraud", 0, &model))
		goto out;
	for (long b = 0; b < n / 1000; b++) {
		if (store_begin(&st))
			goto out;
		for (int k = 0; k < 1000; k++) {
			long i = b * 1000 + k;
			encode(&enc, i);
			free(blob[k]);
			if (!(blob[k] = malloc(enc.len)))
				goto out;
			memcpy(blob[k], enc.buf, enc.len);
			snprintf(ids[k], sizeof(ids[k]), "r%ld", i);
			rows[k] = (struct store_event_row){
			    .model_id = model,
			    .req_id = ids[k],
			    .ts = 1.7e9 + (double)i * 600.0 / (double)n,
			    .has_latency = true,
			    .latency_ms = 3,
			    .features = blob[k],
			    .features_len = enc.len,
			    .prediction = {VALUE_STRING, 0, i % 4 ? "legit" : "fraud"},
			    .has_score = true,
			    .score = 0.7,
			};
			rows[k].window_start = (int64_t)rows[k].ts / 60 * 60;
		}
		if (store_ingest_events_insert(si, rows, 1000, NULL) || store_commit(&st))
			goto out;
	}
	store_exec(&st, "PRAGMA wal_checkpoint(TRUNCATE)");
	struct stat sb;
	if (stat(path, &sb))
		goto out;
	struct tail t = {wmodel_new(1, "fraud", NULL), NULL, 0, 0, 0};
	if (!t.m)
		goto out;
	for (int r = 0; r < 3; r++) {
		t.n = 0;
		c0 = h_cpu();
		if (store_begin(&st) ||
		    store_ingest_events_after(si, 0, INT64_MAX, fold_cb, &t) != 0 ||
		    store_commit(&st))
			t.rc = -1;
		double d = h_cpu() - c0;
		if (d < tail_s)
			tail_s = d;
	}
	wstate_free(t.w);
	wmodel_free(t.m);
	if (t.rc || t.n != n)
		goto out;
	printf("bench_features: %ld events of 8 features (4 numbers, 4 categories)\n", n);
	printf("  encode (listen thread):         %.3f us/event\n", enc_s * 1e6 / (double)n);
	printf("  render as JSON (export):        %.3f us/event\n", json_s * 1e6 / (double)n);
	printf("  analysis tail (read + fold):    %.3f us/event, best of 3\n",
	       tail_s * 1e6 / (double)n);
	printf("  features: blob %.1f bytes/event, the same as JSON text %.1f bytes/event; "
	       "store file %.1f bytes/event\n",
	       blob_bytes / (double)(n / 1000), json_bytes / (double)(n / 1000),
	       (double)sb.st_size / (double)n);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_features: %s\n", store_errmsg(&st));
	store_ingest_free(si);
	store_close(&st);
out_free:
	for (int k = 0; k < 1000; k++)
		free(blob[k]);
	featcodec_enc_fini(&enc);
	jsonw_fini(&w);
	h_rmtree(dir);
	free(dir);
	return rc;
}
