/* dbgen: see dbgen.h. */
#include "dbgen.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/ddsketch.h"
#include "../../common/store/store.h"

static const char *const model_names[] = {"fraud", "churn",   "eta",    "ranker",
                                          "spam",  "pricing", "search", "vision"};

void dbgen_defaults(const struct dbgen_opts *in, struct dbgen_opts *o)
{
	struct timespec ts;

	*o = *in;
	if (o->now <= 0) {
		/* whole eighths of a second: the tests pass now to the binaries as
		 * MLWATCH_NOW=%.3f, which gives back exactly this double; a now in
		 * nanoseconds came back rounded, and a window starting between the
		 * two nows was in one side's range and not the other's */
		clock_gettime(CLOCK_REALTIME, &ts);
		o->now = (double)ts.tv_sec + (double)(ts.tv_nsec / 125000000) * 0.125;
	}
	if (o->window_s <= 0)
		o->window_s = 60;
	if (o->models <= 0)
		o->models = 3;
	if (o->features <= 0)
		o->features = 4;
	if (o->windows <= 0)
		o->windows = 60;
	if (o->last_write == 0)
		o->last_write = o->now;
}

const char *dbgen_model_name(const struct dbgen_opts *o, int m, char *buf, size_t cap)
{
	struct dbgen_opts d;

	dbgen_defaults(o, &d);
	if (d.models <= 8)
		snprintf(buf, cap, "%s", model_names[m % 8]);
	else
		snprintf(buf, cap, "model%02d", m);
	return buf;
}

const char *dbgen_feature_name(int f, char *buf, size_t cap)
{
	if (f == 0)
		snprintf(buf, cap, "amount");
	else if (f == 1)
		snprintf(buf, cap, "country");
	else
		snprintf(buf, cap, "f%02d", f);
	return buf;
}

int dbgen_feature_kind(int f)
{
	return f % 2 == 0 ? 1 : 2;
}

static int64_t base_of(const struct dbgen_opts *o)
{
	return (int64_t)floor(o->now / o->window_s) * o->window_s;
}

void dbgen_window(const struct dbgen_opts *in, int m, int w, struct dbgen_window *r)
{
	struct dbgen_opts o;

	dbgen_defaults(in, &o);
	memset(r, 0, sizeof(*r));
	r->start = base_of(&o) - (int64_t)(o.windows - w) * o.window_s;
	r->end = r->start + o.window_s;
	r->count = 600 + 60 * m + (w % 7) * 6;
	r->errors = (w % 5) + m;
	r->p50 = 10 + m + (w % 10) * 0.5;
	r->p90 = r->p50 * 1.8;
	r->p95 = r->p50 * 2;
	r->p99 = r->p50 * 3;
	r->p999 = r->p50 * 4;
	r->max = r->p50 * 5;
	r->mean = r->p50 * 1.1;
	if (m == 0 && w >= o.windows - 3) {
		r->p99 = 400;
		r->p999 = 600;
		r->max = 800;
	}
	if (w >= o.windows) {
		r->provisional = true;
		r->count /= 2;
		r->errors /= 2;
	}
}

void dbgen_drift(const struct dbgen_opts *in, int m, int f, int w, struct dbgen_drift *d)
{
	struct dbgen_opts o;
	double sev;

	dbgen_defaults(in, &o);
	memset(d, 0, sizeof(*d));
	sev = 0.1 + 0.05 * (f % 10) + 0.01 * (w % 10) + 0.02 * (m % 5);
	if (m == 0 && f == 0 && w >= o.windows - 10)
		sev = 3.5;
	d->kind = dbgen_feature_kind(f);
	d->n = 100 + w % 3;
	d->missing_rate = 0.01 * (f % 3);
	d->psi = 0.1 * sev;
	d->js = 0.05 * sev;
	d->severity = sev;
	d->drifted = sev >= 1.0;
	if (d->kind == 1) {
		d->ks = 0.06 * sev;
		d->ks_p = 0.5 / (1 + sev);
		d->wasserstein = 0.1 * sev;
		d->chi2 = d->chi2_p = NAN;
		d->method = "wasserstein";
		d->score = d->wasserstein;
		d->threshold = 0.1;
	} else {
		d->ks = d->ks_p = d->wasserstein = NAN;
		d->chi2 = 10 * sev;
		d->chi2_p = 0.05 / sev;
		d->method = "chi2";
		d->score = d->chi2_p;
		d->threshold = 0.05;
	}
}

void dbgen_accuracy(const struct dbgen_opts *in, int m, int w, struct dbgen_accuracy *a)
{
	struct dbgen_opts o;
	struct dbgen_window win;

	dbgen_defaults(in, &o);
	dbgen_window(&o, m, w, &win);
	memset(a, 0, sizeof(*a));
	a->est_accuracy = 0.88 + 0.001 * (w % 5) - (m == 0 && w >= o.windows - 10 ? 0.1 : 0);
	a->est_low = a->est_accuracy - 0.03;
	a->est_high = a->est_accuracy + 0.03;
	if (w >= o.windows - 5) {
		a->labelled = 0;
		a->accuracy = a->macro_f1 = NAN;
	} else {
		a->labelled = win.count / 10;
		a->accuracy = 0.9 - 0.001 * (w % 10) - (m == 0 && w >= o.windows - 10 ? 0.15 : 0);
		a->macro_f1 = a->accuracy - 0.02;
	}
	a->label_coverage = (double)a->labelled / (double)win.count;
}

static void bind_num(sqlite3_stmt *s, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

static int run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char num_hist_ref[] =
    "{\"edges\":[1,2,3,4,5,6,7,8,9],\"counts\":[500,500,500,500,500,500,500,500,500,500]}";
static const char cat_hist_ref[] =
    "{\"cells\":[\"DE\",\"US\",\"FR\",\"other\",\"new\"],\"counts\":[2000,1500,1000,500,0]}";

static void cur_hist(char *buf, size_t cap, const struct dbgen_drift *d)
{
	if (d->kind == 1) {
		/* Drifted windows lean to the top bins. */
		int hi = d->drifted ? 40 : 10;
		snprintf(buf, cap,
		         "{\"edges\":[1,2,3,4,5,6,7,8,9],\"counts\":[5,5,5,5,5,5,5,%d,%d,%d]}",
		         hi - 5, hi, hi);
	} else {
		snprintf(buf, cap,
		         "{\"cells\":[\"DE\",\"US\",\"FR\",\"other\",\"new\"],"
		         "\"counts\":[%d,30,20,10,%d]}",
		         d->drifted ? 10 : 40, d->drifted ? 30 : 0);
	}
}

enum { S_MODEL, S_FEATURE, S_WINDOW, S_DRIFT, S_ACC, S_REF, S_EVENT, S_N };

int dbgen_fill(const char *path, const struct dbgen_opts *in, char *err, size_t errlen)
{
	static const char *const sql[S_N] = {
	    [S_MODEL] = "INSERT INTO models (id, name, task, created, last_event) "
	                "VALUES (?1, ?2, 'classification', ?3, ?4)",
	    [S_FEATURE] = "INSERT INTO features (model_id, name, kind, source) "
	                  "VALUES (?1, ?2, ?3, 'reference')",
	    [S_WINDOW] = "INSERT INTO windows (model_id, start, end, count, errors, sampled, "
	                 "latency_sketch, labelled, p50, p90, p95, p99, p999, max, mean, "
	                 "provisional, dirty, analyzed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	                 "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 0, ?17)",
	    [S_DRIFT] = "INSERT INTO drift (model_id, start, feature, kind, n, n_ref, "
	                "missing_rate, type_error_rate, out_of_range_rate, new_category_rate, "
	                "ks, ks_p, wasserstein, psi, js, chi2, chi2_p, method, score, threshold, "
	                "severity, drifted, insufficient, cur_hist, stats) VALUES (?1, ?2, ?3, ?4, "
	                "?5, 5000, ?6, 0, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	                "?19, ?20, 0, ?21, CASE ?4 WHEN 1 THEN "
	                "'{\"preset\":\"mlwatch\",\"ks_p_method\":\"exact\"}' "
	                "ELSE '{\"preset\":\"nannyml\",\"chi2_dof\":4,\"z\":0,\"z_p\":1}' END)",
	    [S_ACC] = "INSERT INTO accuracy (model_id, start, labelled, accuracy, macro_f1, "
	              "est_accuracy, est_low, est_high, label_coverage) "
	              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	    [S_REF] = "INSERT INTO reference (model_id, feature, kind, n, profile, hist, created) "
	              "VALUES (?1, ?2, ?3, 5000, x'00', ?4, ?5)",
	    [S_EVENT] = "INSERT INTO events (model_id, req_id, ts, window_start, latency_ms, "
	                "error, version, features, pred_str, score, label_str, label_ts) "
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'v3', ?7, ?8, ?9, ?10, ?11)",
	};
	struct dbgen_opts o;
	struct store st;
	sqlite3_stmt *s[S_N] = {0};
	struct ddsketch *sk = NULL;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char name[64], fname[64], buf[512];
	int rc = -1, nwin;
	int64_t per_window, event_no = 0;
	double win_events_acc = 0;

	dbgen_defaults(in, &o);
	unlink(path);
	for (const char *sfx = "-wal"; sfx; sfx = sfx[1] == 'w' ? "-shm" : NULL) {
		snprintf(buf, sizeof(buf), "%s%s", path, sfx);
		unlink(buf);
	}
	if (store_open(&st, path, STORE_RW_CREATE, false, err, errlen))
		return -1;
	store_exec(&st, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144");
	if (o.fast && store_exec(&st, "PRAGMA journal_mode=DELETE; PRAGMA journal_mode=OFF")) {
		snprintf(err, errlen, "journal_mode: %s", store_errmsg(&st));
		goto out;
	}
	for (int i = 0; i < S_N; i++)
		if (sqlite3_prepare_v2(db_sqlite_handle(st.db), sql[i], -1, &s[i], NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "prepare %d: %s", i,
			         sqlite3_errmsg(db_sqlite_handle(st.db)));
			goto out;
		}
	/* A realistic latency sketch blob, the same for every window. */
	sk = ddsketch_new();
	if (!sk)
		goto oom;
	for (int i = 1; i <= 2000; i++)
		ddsketch_add(sk, 5.0 * exp(1.2 * sin(i * 0.7) + (i % 97) * 0.02));
	blob_len = ddsketch_encoded_bound(sk);
	blob = malloc(blob_len);
	if (!blob || ddsketch_encode(sk, blob, blob_len, &blob_len))
		goto oom;

	if (store_begin(&st)) {
		snprintf(err, errlen, "begin: %s", store_errmsg(&st));
		goto out;
	}
	nwin = o.windows + (o.open_window ? 1 : 0);
	if (o.events_total > 0)
		per_window = 0;
	else
		per_window = o.events_per_window;
	for (int m = 0; m < o.models; m++) {
		dbgen_model_name(&o, m, name, sizeof(name));
		sqlite3_bind_int(s[S_MODEL], 1, m + 1);
		sqlite3_bind_text(s[S_MODEL], 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(s[S_MODEL], 3, o.now - 86400.0 * 40);
		sqlite3_bind_double(s[S_MODEL], 4, o.now - 1);
		if (run(s[S_MODEL]))
			goto sqlerr;
		for (int f = 0; f < o.features; f++) {
			dbgen_feature_name(f, fname, sizeof(fname));
			sqlite3_bind_int(s[S_FEATURE], 1, m + 1);
			sqlite3_bind_text(s[S_FEATURE], 2, fname, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(s[S_FEATURE], 3, dbgen_feature_kind(f));
			if (run(s[S_FEATURE]))
				goto sqlerr;
			sqlite3_bind_int(s[S_REF], 1, m + 1);
			sqlite3_bind_text(s[S_REF], 2, fname, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(s[S_REF], 3, dbgen_feature_kind(f));
			sqlite3_bind_text(s[S_REF], 4,
			                  dbgen_feature_kind(f) == 1 ? num_hist_ref : cat_hist_ref,
			                  -1, SQLITE_STATIC);
			sqlite3_bind_double(s[S_REF], 5, o.now - 86400.0 * 40);
			if (run(s[S_REF]))
				goto sqlerr;
		}
		for (int w = 0; w < nwin; w++) {
			struct dbgen_window win;
			struct dbgen_accuracy acc;
			int64_t nev;

			dbgen_window(&o, m, w, &win);
			sqlite3_bind_int(s[S_WINDOW], 1, m + 1);
			sqlite3_bind_int64(s[S_WINDOW], 2, win.start);
			sqlite3_bind_int64(s[S_WINDOW], 3, win.end);
			sqlite3_bind_int64(s[S_WINDOW], 4, win.count);
			sqlite3_bind_int64(s[S_WINDOW], 5, win.errors);
			sqlite3_bind_int64(s[S_WINDOW], 6, win.count / 10);
			sqlite3_bind_blob(s[S_WINDOW], 7, blob, (int)blob_len, SQLITE_STATIC);
			dbgen_accuracy(&o, m, w, &acc);
			sqlite3_bind_int64(s[S_WINDOW], 8, acc.labelled);
			sqlite3_bind_double(s[S_WINDOW], 9, win.p50);
			sqlite3_bind_double(s[S_WINDOW], 10, win.p90);
			sqlite3_bind_double(s[S_WINDOW], 11, win.p95);
			sqlite3_bind_double(s[S_WINDOW], 12, win.p99);
			sqlite3_bind_double(s[S_WINDOW], 13, win.p999);
			sqlite3_bind_double(s[S_WINDOW], 14, win.max);
			sqlite3_bind_double(s[S_WINDOW], 15, win.mean);
			sqlite3_bind_int(s[S_WINDOW], 16, win.provisional);
			sqlite3_bind_double(s[S_WINDOW], 17, (double)win.end);
			if (run(s[S_WINDOW]))
				goto sqlerr;

			sqlite3_bind_int(s[S_ACC], 1, m + 1);
			sqlite3_bind_int64(s[S_ACC], 2, win.start);
			sqlite3_bind_int64(s[S_ACC], 3, acc.labelled);
			bind_num(s[S_ACC], 4, acc.accuracy);
			bind_num(s[S_ACC], 5, acc.macro_f1);
			sqlite3_bind_double(s[S_ACC], 6, acc.est_accuracy);
			sqlite3_bind_double(s[S_ACC], 7, acc.est_low);
			sqlite3_bind_double(s[S_ACC], 8, acc.est_high);
			sqlite3_bind_double(s[S_ACC], 9, acc.label_coverage);
			if (run(s[S_ACC]))
				goto sqlerr;

			for (int f = 0; f < o.features; f++) {
				struct dbgen_drift d;
				dbgen_drift(&o, m, f, w, &d);
				dbgen_feature_name(f, fname, sizeof(fname));
				sqlite3_bind_int(s[S_DRIFT], 1, m + 1);
				sqlite3_bind_int64(s[S_DRIFT], 2, win.start);
				sqlite3_bind_text(s[S_DRIFT], 3, fname, -1, SQLITE_TRANSIENT);
				sqlite3_bind_int(s[S_DRIFT], 4, d.kind);
				sqlite3_bind_int64(s[S_DRIFT], 5, d.n);
				sqlite3_bind_double(s[S_DRIFT], 6, d.missing_rate);
				bind_num(s[S_DRIFT], 7, d.kind == 1 ? 0.01 : NAN);
				bind_num(s[S_DRIFT], 8, d.kind == 2 ? 0.02 : NAN);
				bind_num(s[S_DRIFT], 9, d.ks);
				bind_num(s[S_DRIFT], 10, d.ks_p);
				bind_num(s[S_DRIFT], 11, d.wasserstein);
				sqlite3_bind_double(s[S_DRIFT], 12, d.psi);
				sqlite3_bind_double(s[S_DRIFT], 13, d.js);
				bind_num(s[S_DRIFT], 14, d.chi2);
				bind_num(s[S_DRIFT], 15, d.chi2_p);
				sqlite3_bind_text(s[S_DRIFT], 16, d.method, -1, SQLITE_STATIC);
				sqlite3_bind_double(s[S_DRIFT], 17, d.score);
				sqlite3_bind_double(s[S_DRIFT], 18, d.threshold);
				sqlite3_bind_double(s[S_DRIFT], 19, d.severity);
				sqlite3_bind_int(s[S_DRIFT], 20, d.drifted);
				if (o.hist_windows >= 0 &&
				    (o.hist_windows == 0 || w >= nwin - o.hist_windows)) {
					cur_hist(buf, sizeof(buf), &d);
					sqlite3_bind_text(s[S_DRIFT], 21, buf, -1,
					                  SQLITE_TRANSIENT);
				} else {
					sqlite3_bind_null(s[S_DRIFT], 21);
				}
				if (run(s[S_DRIFT]))
					goto sqlerr;
			}

			/* Raw events: spread the total evenly over models x windows. */
			if (o.events_total > 0) {
				win_events_acc +=
				    (double)o.events_total / ((double)o.models * (double)nwin);
				nev = (int64_t)win_events_acc;
				win_events_acc -= (double)nev;
			} else {
				nev = per_window;
			}
			for (int64_t i = 0; i < nev; i++, event_no++) {
				double ts = (double)win.start + (double)o.window_s *
				                                    (double)(i + 1) /
				                                    (double)(nev + 1);
				int fraud = (int)((event_no * 7) % 10) == 0;
				snprintf(buf, sizeof(buf),
				         "{\"amount\":%.2f,\"country\":\"%s\",\"age\":null}",
				         10.0 + (double)(event_no % 1000) * 0.5,
				         (event_no % 3) == 0   ? "DE"
				         : (event_no % 3) == 1 ? "US"
				                               : "FR");
				snprintf(fname, sizeof(fname), "r%d-%lld", m, (long long)event_no);
				sqlite3_bind_int(s[S_EVENT], 1, m + 1);
				sqlite3_bind_text(s[S_EVENT], 2, fname, -1, SQLITE_TRANSIENT);
				sqlite3_bind_double(s[S_EVENT], 3, ts);
				sqlite3_bind_int64(s[S_EVENT], 4, win.start);
				sqlite3_bind_double(s[S_EVENT], 5, win.p50 + (double)(i % 5));
				sqlite3_bind_int(s[S_EVENT], 6, (event_no % 50) == 0);
				sqlite3_bind_text(s[S_EVENT], 7, buf, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(s[S_EVENT], 8, fraud ? "fraud" : "legit", -1,
				                  SQLITE_STATIC);
				sqlite3_bind_double(s[S_EVENT], 9,
				                    0.5 + (double)(event_no % 50) / 100.0);
				if (i % 2 == 0) {
					sqlite3_bind_text(s[S_EVENT], 10, fraud ? "fraud" : "legit",
					                  -1, SQLITE_STATIC);
					sqlite3_bind_double(s[S_EVENT], 11, ts + 30);
				} else {
					sqlite3_bind_null(s[S_EVENT], 10);
					sqlite3_bind_null(s[S_EVENT], 11);
				}
				if (run(s[S_EVENT]))
					goto sqlerr;
			}
		}
		if (o.progress)
			fprintf(stderr, "dbgen: model %d/%d\n", m + 1, o.models);
	}
	/* Concept drift on model 0, 10 windows back. */
	{
		struct dbgen_window win;
		dbgen_window(&o, 0, o.windows - 10, &win);
		snprintf(
		    buf, sizeof(buf),
		    "INSERT INTO concept_events (model_id, ts, window_start, detector, detail) "
		    "VALUES (1, %lld, %lld, 'page-hinkley', 'error rate rose')",
		    (long long)win.start + 30, (long long)win.start);
		if (store_exec(&st, buf))
			goto sqlerr;
	}
	if (!o.no_alerts) {
		dbgen_model_name(&o, o.models > 1 ? 1 : 0, fname, sizeof(fname));
		dbgen_model_name(&o, 0, name, sizeof(name));
		char *q = sqlite3_mprintf(
		    "INSERT INTO alerts (id, rule, model, feature, state, severity, value, "
		    "threshold, active_at, fired_at, resolved_at, fingerprint, acked, summary, "
		    "updated) VALUES "
		    "(1, 'p99-high', %Q, '', 'firing', 'page', 400, 250, %f, %f, NULL, 'fp1', 0, "
		    "'p99 latency of %q is 400 ms', %f),"
		    "(2, 'drift-amount', %Q, 'amount', 'pending', 'warn', 3.5, 1, %f, NULL, NULL, "
		    "'fp2', 0, 'amount drifted', %f),"
		    "(3, 'error-rate', %Q, '', 'resolved', 'warn', 0.02, 0.05, %f, %f, %f, 'fp3', "
		    "1, NULL, %f)",
		    name, o.now - 180, o.now - 120, name, o.now - 120, name, o.now - 60, o.now - 60,
		    fname, o.now - 7200, o.now - 7000, o.now - 3600, o.now - 3600);
		int e = q ? store_exec(&st, q) : -1;
		sqlite3_free(q);
		if (e)
			goto sqlerr;
	}
	snprintf(buf, sizeof(buf), "%d", o.window_s);
	if (store_meta_set(&st, "window_seconds", buf))
		goto sqlerr;
	if (o.last_write > 0) {
		snprintf(buf, sizeof(buf), "%.3f", o.last_write);
		if (store_meta_set(&st, "last_write", buf))
			goto sqlerr;
	}
	if (store_commit(&st))
		goto sqlerr;
	if (o.fast && store_exec(&st, "PRAGMA journal_mode=WAL"))
		goto sqlerr;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
	goto out;
sqlerr:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db_sqlite_handle(st.db)));
out:
	store_rollback(&st);
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(s[i]);
	free(blob);
	ddsketch_free(sk);
	store_close(&st);
	return rc;
}
