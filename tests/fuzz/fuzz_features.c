/* fuzz-deps: collector/windows.c */
/* libFuzzer target: the collector's reader of the features it stored per
 * event, folded into a window by wstate_fold. The database is outside input
 * (an old version, a hand edit, a disk error). The input is taken as the
 * JSON text of a row stored before the blob (encoded as the store's reader
 * does, featcodec_from_json) and as a features blob (events.features_bin,
 * handed on only when featcodec_validate accepts it, as the reader does);
 * the same model context takes every input of a run, as in the collector,
 * so kinds fixed by earlier inputs and type errors are exercised too. Then
 * every feature's result is computed. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "featcodec.h"
#include "jsonw.h"
#include "store_ingest.h"
#include "windows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wmodel *m;
	char *s = malloc(size + 1);
	bool changed = false;

	if (!s)
		return 0;
	if (!m)
		m = wmodel_new(1, "fuzz", NULL);
	/* a model that learnt too many names is replaced, as a bound */
	if (m && m->nf > 2000) {
		wmodel_free(m);
		m = wmodel_new(1, "fuzz", NULL);
	}
	if (!m) {
		free(s);
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	struct wstate *w = wstate_new(1, 1764072000);
	struct featcodec_enc enc;
	featcodec_enc_init(&enc);
	if (w) {
		struct store_raw_event e = {.id = 1,
		                            .model_id = 1,
		                            .window_start = 1764072000,
		                            .req_id = "r",
		                            .ts = 1764072000.5};
		if (featcodec_from_json(s, &enc, NULL) == 0) {
			e.features = enc.buf;
			e.features_len = enc.len;
		}
		wstate_fold(w, m, &e, &changed);
		if (featcodec_validate(data, size, NULL) == 0) {
			e.features = data;
			e.features_len = size;
			wstate_fold(w, m, &e, &changed);
		}
		e.id = 2;
		wstate_fold(w, m, &e, &changed); /* twice: cur values of >= 2 events */
		struct jsonw hist;
		jsonw_init(&hist);
		for (size_t i = 0; i < m->nf; i++) {
			struct store_feature_row fr;
			struct store_drift_row dr;
			if (m->f[i].kind == 0 && !m->f[i].has_ref)
				continue; /* as analyze.c: named, never seen */
			jsonw_reset(&hist);
			wstate_feature_result(w, m, i, &fr, &dr, &hist);
		}
		jsonw_fini(&hist);
		wstate_free(w);
	}
	featcodec_enc_fini(&enc);
	free(s);
	return 0;
}
