/* exec receivers end to end (issue 22, acceptance 2), with the real mlwatchd
 * fed by a wire client, and a small shell script as the command:
 *   1 an error-rate breach runs the command once for the firing and once for
 *     the resolve, with valid JSON on stdin; the export command line in it
 *     prints exactly the events (ids and joined labels) that the database
 *     holds in that window, and none outside it
 *   2 a command that hangs is killed at its timeout (its process group too)
 *     and the notification retried until the command succeeds; a webhook
 *     receiver of the same rule is not delayed by it
 *   4 a relative command path or an unterminated quote stops mlwatchd at
 *     start with the file, line and reason
 *   3 a failing command is retried with backoff (1 s, 2 s, +-20%), and run
 *     no more once it succeeded */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "collector_proc.h"
#include "harness.h"
#include "http_sink.h"
#include "tuitest.h"
#include "wire_client.h"

/* ---- traffic ------------------------------------------------------------------ */

struct feed {
	struct wc_client *cl;
	uint64_t seq;
	int n_events;
};

/* One round: a summary of this second (all errors when bad) and two events
 * with ids, one labelled in the event, one labelled later by a label. */
static void feed_round(struct feed *f, bool bad, double ts)
{
	struct wc_batch wb;
	struct wire_reply r;
	uint8_t *buf = NULL;
	size_t len;
	char ida[32], idb[32], err[256];
	double lat[2] = {10, 12};

	snprintf(ida, sizeof(ida), "e%03d", f->n_events++);
	snprintf(idb, sizeof(idb), "e%03d", f->n_events++);
	wc_batch_init(&wb, "exec-test", ++f->seq, NULL);
	wc_batch_summary(&wb, "fraud", (int64_t)clock_now(), 2, bad ? 2 : 0, 2, lat, 2);
	wc_batch_event(&wb, "fraud", ida, ts, 10, bad, NULL, 0, wc_str("fraud"), 0.9,
	               wc_str(f->n_events % 4 == 2 ? "fraud" : "ok"));
	wc_batch_event(&wb, "fraud", idb, ts, 12, bad, NULL, 0, wc_str("ok"), 0.1, wc_none());
	if (f->n_events % 3 == 1)
		wc_batch_label(&wb, "fraud", idb, wc_str("late"), ts);
	cr_assert_eq(wc_batch_encode(&wb, &buf, &len), 0);
	cr_assert_eq(wc_request(f->cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK);
	free(buf);
	wc_batch_free(&wb);
}

static void feed_open(struct feed *f, struct cproc *c)
{
	char err[256];
	memset(f, 0, sizeof(*f));
	cr_assert_eq(wc_open(&f->cl, c->url, NULL, 5.0, err, sizeof(err)), 0, "%s", err);
}

/* ---- helpers ------------------------------------------------------------------ */

static int count_files(const char *dir, const char *prefix)
{
	int n = 0;
	char p[700];
	for (int i = 0; i < 100; i++) {
		snprintf(p, sizeof(p), "%s/%s%d", dir, prefix, i);
		if (access(p, F_OK) == 0)
			n++;
	}
	return n;
}

/* Feeds rounds every 100 ms until dir holds want files named prefixN. */
static bool feed_until(struct feed *f, bool bad, const char *dir, const char *prefix, int want,
                       double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	while (h_now() < end) {
		if (count_files(dir, prefix) >= want)
			return true;
		feed_round(f, bad, clock_now());
		h_sleep(0.1);
	}
	return count_files(dir, prefix) >= want;
}

static char *script(struct cproc *c, const char *name, const char *body)
{
	char *path;
	cr_assert(asprintf(&path, "%s/%s", c->dir, name) > 0);
	cr_assert_eq(h_write_file(path, body, strlen(body)), 0);
	cr_assert_eq(chmod(path, 0755), 0);
	return path;
}

static void start_with(struct cproc *c, const char *rule_and_receiver)
{
	char *path;
	cr_assert(asprintf(&path, "%s/mlwatch.conf", c->dir) > 0);
	cr_assert_eq(h_write_file(path, rule_and_receiver, strlen(rule_and_receiver)), 0);
	const char *extra[] = {"--config", path, NULL};
	cr_assert_eq(cproc_start(c, extra), 0, "mlwatchd did not start, see %s", c->log);
	free(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "id:label,id:label" sorted by id, from JSONL export output. */
static char *export_set(const char *jsonl, int *rows)
{
	char *copy = strdup(jsonl), *save = NULL, *items[512], *out;
	size_t n = 0, cap = 1;

	*rows = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		cr_assert_not_null(o, "export line is not JSON: %s", line);
		const cJSON *id = cJSON_GetObjectItem(o, "id"),
		            *lb = cJSON_GetObjectItem(o, "label");
		cr_assert(n < 512);
		cr_assert(asprintf(&items[n], "%s:%s", id->valuestring,
		                   cJSON_IsString(lb) ? lb->valuestring : "-") > 0);
		cap += strlen(items[n++]) + 1;
		cJSON_Delete(o);
	}
	qsort(items, n, sizeof(*items), cmp_str);
	out = calloc(1, cap);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, items[i]);
		free(items[i]);
	}
	free(copy);
	*rows = (int)n;
	return out;
}

/* ---- 1: once per transition, valid JSON, the exact window ------------------- */

Test(exec, breach_runs_once_per_transition_with_the_window_export)
{
	struct cproc c;
	struct feed f;
	char conf[2048], runs[600], sql[1024], dbset[16384];
	char *sh;

	cproc_init(&c, "exec-once");
	snprintf(runs, sizeof(runs), "%s/runs", c.dir);
	cr_assert_eq(mkdir(runs, 0700), 0);
	/* The stdin, the argv and the environment of each run. */
	char body[1024];
	snprintf(body, sizeof(body),
	         "#!/bin/sh\nd=%s\nn=0\nwhile [ -e $d/run$n ]; do n=$((n+1)); done\n"
	         "cat > $d/tmp$n\nprintf '%%s|%%s|%%s|%%s' \"$1\" \"$2\" \"$MLWATCH_KIND\" "
	         "\"$HOME\" > $d/argv$n\nmv $d/tmp$n $d/run$n\necho ran $n\n",
	         runs);
	sh = script(&c, "retrain.sh", body);
	snprintf(conf, sizeof(conf),
	         "[alert fraud-errors]\nmodel = fraud\nexpr = error_rate > 0.5 over 3s\n"
	         "for = 1s\nreceivers = retrain\n"
	         "[receiver retrain]\ntype = exec\ncommand = %s {model} 'a b'\ntimeout = 10s\n",
	         sh);
	start_with(&c, conf);
	feed_open(&f, &c);
	/* Events long before the window: never in its export. */
	feed_round(&f, false, clock_now() - 40);
	feed_round(&f, false, clock_now() - 20);
	for (int i = 0; i < 20; i++) {
		feed_round(&f, false, clock_now());
		h_sleep(0.1);
	}
	cr_assert_eq(count_files(runs, "run"), 0, "healthy traffic runs nothing");
	cr_assert(feed_until(&f, true, runs, "run", 1, 15), "the breach ran nothing, see %s",
	          c.log);
	/* Still breaching for 3 s more: no second run for the same firing. */
	double t0 = h_now();
	while (h_now() - t0 < 3.0) {
		feed_round(&f, true, clock_now());
		h_sleep(0.1);
	}
	cr_assert_eq(count_files(runs, "run"), 1, "one run per transition");
	cr_assert(feed_until(&f, false, runs, "run", 2, 20), "the resolve ran nothing");
	h_sleep(1.0);
	cr_assert_eq(count_files(runs, "run"), 2, "one run for the resolve");

	snprintf(sql, sizeof(sql), "%s/argv0", runs);
	char *args = h_read_file(sql, NULL);
	cr_assert_str_eq(args, "fraud|a b|firing|", "{model} replaced, no shell, no HOME");
	free(args);
	snprintf(sql, sizeof(sql), "%s/run0", runs);
	char *in = h_read_file(sql, NULL);
	cJSON *n = cJSON_Parse(in);
	cr_assert_not_null(n, "stdin is JSON: %s", in);
	cr_assert_str_eq(cJSON_GetObjectItem(n, "kind")->valuestring, "firing");
	cr_assert_str_eq(cJSON_GetObjectItem(n, "model")->valuestring, "fraud");
	cr_assert_str_eq(cJSON_GetObjectItem(n, "rule")->valuestring, "fraud-errors");
	const cJSON *w = cJSON_GetObjectItem(n, "window");
	double from = cJSON_GetObjectItem(w, "start_unix")->valuedouble,
	       to = cJSON_GetObjectItem(w, "end_unix")->valuedouble;
	cr_assert_float_eq(to - from, 3.0, 1e-6, "the over interval");
	const cJSON *argv = cJSON_GetObjectItem(cJSON_GetObjectItem(n, "export"), "argv");
	cr_assert(cJSON_IsArray(argv));
	int na = cJSON_GetArraySize(argv);
	char **av = calloc((size_t)na + 1, sizeof(*av));
	for (int i = 0; i < na; i++)
		av[i] = cJSON_GetArrayItem(argv, i)->valuestring;
	char *out = NULL, *err = NULL;
	/* From another directory: the paths in it are absolute. */
	cr_assert_eq(tt_run(av, (char *[]){"TZ=UTC", NULL}, &out, &err, 20), 0, "%s", err);
	int rows;
	char *got = export_set(out, &rows);
	snprintf(sql, sizeof(sql),
	         "SELECT group_concat(x, ',') FROM (SELECT req_id || ':' || "
	         "ifnull(label_str, '-') AS x FROM events WHERE ts >= %.17g AND ts < %.17g "
	         "ORDER BY req_id)",
	         from, to);
	cr_assert_eq(db_text(c.db, sql, dbset, sizeof(dbset)), 0);
	cr_assert_str_eq(got, dbset, "the export holds exactly the window's events and labels");
	cr_assert(rows >= 10, "%d events in a 3 s window of 10 rounds/s", rows);
	cr_assert(!strstr(got, "e000:") && !strstr(got, "e002:"), "nothing from before");
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE label_str = 'late' AND ts >= %.17g AND "
	         "ts < %.17g",
	         from, to);
	cr_assert(db_int(c.db, sql) > 0, "joined labels are in the window");
	fprintf(stderr, "exec: firing export %d events (window %.3f..%.3f)\n", rows, from, to);
	cr_assert(h_wait_log(c.log, "exit=0", 1), "exit status logged");
	cr_assert(h_wait_log(c.log, "output=\"ran 0", 1) || h_wait_log(c.log, "output=ran", 1),
	          "output logged");

	snprintf(sql, sizeof(sql), "%s/run1", runs);
	char *in2 = h_read_file(sql, NULL);
	cJSON *n2 = cJSON_Parse(in2);
	cr_assert_str_eq(cJSON_GetObjectItem(n2, "kind")->valuestring, "resolved");
	cJSON_Delete(n2);
	free(in2);
	free(got), free(out), free(err), free(av);
	cJSON_Delete(n);
	free(in);
	wc_close(f.cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
	free(sh);
}

/* ---- 2: a hung command is killed at its timeout and retried ------------------ */

Test(exec, hung_command_is_killed_at_timeout_and_retried)
{
	struct cproc c;
	struct feed f;
	char conf[2048], runs[600], body[1024], p[700];
	char *sh;

	cproc_init(&c, "exec-hang");
	snprintf(runs, sizeof(runs), "%s/runs", c.dir);
	cr_assert_eq(mkdir(runs, 0700), 0);
	/* The first run leaves a child and hangs; the next ones succeed. */
	snprintf(body, sizeof(body),
	         "#!/bin/sh\nd=%s\nif [ ! -e $d/hung0 ]; then\n sleep 60 & echo $! > $d/child\n"
	         " touch $d/hung0\n sleep 60\n exit 0\nfi\ncat > $d/tmp; mv $d/tmp $d/ok0\n",
	         runs);
	sh = script(&c, "hang.sh", body);
	struct http_sink *hook = sink_start(0);
	char *hu = sink_url(hook, "/hook");
	snprintf(conf, sizeof(conf),
	         "[alert fraud-errors]\nmodel = fraud\nexpr = error_rate > 0.5 over 3s\n"
	         "receivers = retrain, hook\n"
	         "[receiver retrain]\ntype = exec\ncommand = %s\ntimeout = 3s\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         sh, hu);
	start_with(&c, conf);
	feed_open(&f, &c);
	cr_assert(feed_until(&f, true, runs, "hung", 1, 15), "never ran, see %s", c.log);
	double t_hang = h_now();
	/* The webhook goes out while the command hangs. */
	cr_assert(sink_wait(hook, 1, 2.0 * cproc_slow()),
	          "the webhook waited for the hung command");
	cr_assert(sink_request(hook, 0)->at < t_hang + 2.0 * cproc_slow());
	cr_assert(strstr(sink_request(hook, 0)->body, "export_command"),
	          "the webhook carries the export command line");
	cr_assert(feed_until(&f, true, runs, "ok", 1, 20), "not retried after the timeout");
	double took = h_now() - t_hang;
	/* timeout 3 s + at most 2 s grace (the script does not ignore TERM)
	 * + the first backoff (1 s +-20%). */
	cr_assert(took >= 3.5 && took < 10.0 * cproc_slow(), "retried %.2f s after the hang", took);
	cr_assert(h_wait_log(c.log, "timed out after 3.0 s", 2), "the timeout is logged");
	snprintf(p, sizeof(p), "%s/child", runs);
	char *child = h_read_file(p, NULL);
	cr_assert_not_null(child);
	snprintf(p, sizeof(p), "/proc/%d/stat", atoi(child));
	/* Killed with its group: gone, or a zombie waiting for init. */
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		char *st = h_read_file(p, NULL);
		gone = !st || strstr(st, ") Z ");
		free(st);
		if (!gone)
			h_sleep(0.05);
	}
	cr_assert(gone, "the hung command's child %s survived", child);
	snprintf(p, sizeof(p), "%s/ok0", runs);
	char *in = h_read_file(p, NULL);
	cJSON *n = cJSON_Parse(in);
	cr_assert_not_null(n, "the retry got the notification: %s", in);
	cr_assert_str_eq(cJSON_GetObjectItem(n, "kind")->valuestring, "firing");
	cJSON_Delete(n);
	/* The row is updated after the command exits. */
	double end = h_now() + 5 * cproc_slow();
	while (h_now() < end && db_int(c.db, "SELECT count(*) FROM outbox WHERE kind = 'firing' "
	                                     "AND receiver = 'retrain' AND status = "
	                                     "'delivered'") != 1)
		h_sleep(0.05);
	cr_assert_eq(db_int(c.db, "SELECT attempts FROM outbox WHERE kind = 'firing' AND "
	                          "receiver = 'retrain'"),
	             2);
	cr_assert_eq(db_int(c.db, "SELECT attempts FROM outbox WHERE kind = 'firing' AND "
	                          "receiver = 'hook' AND status = 'delivered'"),
	             1);
	fprintf(stderr, "exec: hung command retried %.2f s after it started\n", took);
	free(in), free(child);
	sink_stop(hook);
	free(hu);
	wc_close(f.cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
	free(sh);
}

/* ---- 3: a failing command is retried with backoff ----------------------------- */

Test(exec, failing_command_is_retried_with_backoff)
{
	struct cproc c;
	struct feed f;
	char conf[2048], runs[600], body[1024], p[700];
	char *sh;

	cproc_init(&c, "exec-fail");
	snprintf(runs, sizeof(runs), "%s/runs", c.dir);
	cr_assert_eq(mkdir(runs, 0700), 0);
	/* Attempts 1 and 2 fail (exit 7 with a message); the 3rd succeeds. */
	snprintf(body, sizeof(body),
	         "#!/bin/sh\nd=%s\nn=0\nwhile [ -e $d/try$n ]; do n=$((n+1)); done\n"
	         "cat /proc/uptime | cut -d' ' -f1 > $d/try$n\n"
	         "if [ $n -lt 2 ]; then echo \"model store down\" >&2; exit 7; fi\n"
	         "cat > /dev/null; touch $d/done0\n",
	         runs);
	sh = script(&c, "flaky.sh", body);
	snprintf(conf, sizeof(conf),
	         "[alert fraud-errors]\nmodel = fraud\nexpr = error_rate > 0.5 over 3s\n"
	         "receivers = retrain\n"
	         "[receiver retrain]\ntype = exec\ncommand = %s\n",
	         sh);
	start_with(&c, conf);
	feed_open(&f, &c);
	cr_assert(feed_until(&f, true, runs, "done", 1, 25), "never succeeded, see %s", c.log);
	double at[3];
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/try%d", runs, i);
		char *s = h_read_file(p, NULL);
		cr_assert_not_null(s);
		at[i] = atof(s);
		free(s);
	}
	double d1 = at[1] - at[0], d2 = at[2] - at[1];
	cr_assert(d1 >= 0.75 && d1 < 1.2 + 1.0 * cproc_slow(), "first retry after %.2f s", d1);
	cr_assert(d2 >= 1.55 && d2 < 2.4 + 1.0 * cproc_slow(), "second retry after %.2f s", d2);
	cr_assert(h_wait_log(c.log, "exit status 7: model store down", 1), "status and output");
	/* Delivered: never run again for this firing. */
	double t0 = h_now();
	while (h_now() - t0 < 2.0) {
		feed_round(&f, true, clock_now());
		h_sleep(0.1);
	}
	cr_assert_eq(count_files(runs, "try"), 3, "no run after the delivery");
	cr_assert_eq(db_int(c.db, "SELECT attempts FROM outbox WHERE status = 'delivered' AND "
	                          "kind = 'firing'"),
	             3);
	fprintf(stderr, "exec: failing command retried after %.2f s and %.2f s\n", d1, d2);
	wc_close(f.cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
	free(sh);
}

/* ---- 4: refused at start ---------------------------------------------------- */

Test(exec, bad_command_is_refused_at_start)
{
	struct cproc c;
	const char *bad[][2] = {
	    {"command = retrain.sh {model}\n", "is not an absolute path"},
	    {"command = /bin/echo 'open\n", "unterminated ' at column 11"},
	};

	cproc_init(&c, "exec-bad");
	for (int i = 0; i < 2; i++) {
		char conf[512], *path, *log;
		snprintf(conf, sizeof(conf), "[receiver r]\ntype = exec\n%s", bad[i][0]);
		cr_assert(asprintf(&path, "%s/bad.conf", c.dir) > 0);
		cr_assert_eq(h_write_file(path, conf, strlen(conf)), 0);
		const char *args[] = {"--config", path, NULL};
		cr_assert_neq(cproc_run(&c, args, 10), 0, "mlwatchd started with %s", bad[i][0]);
		log = h_read_file(c.log, NULL);
		cr_assert(log && strstr(log, "bad.conf:1: [receiver r] command: ") &&
		              strstr(log, bad[i][1]),
		          "%s", log);
		free(log), free(path);
	}
	cproc_cleanup(&c);
}
