/* The demo's simulated model does what the demo promises: valid events,
 * calibrated confidence before the change, and each scheduled change. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "demo_sim.h"
#include "event.h"

struct stats {
	double acc, conf, log_amount, crypto, p99;
	int n;
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void run(double t, int n, struct stats *st)
{
	struct demo_sim s;
	struct demo_schedule sc;
	struct demo_truth tr;
	char buf[1024];
	double *lat = malloc((size_t)n * sizeof(*lat));
	struct event_batch b;
	struct event_error err;

	demo_schedule_default(&sc);
	demo_sim_init(&s, 42, &sc);
	memset(st, 0, sizeof(*st));
	event_batch_init(&b);
	for (int i = 0; i < n; i++) {
		int len = demo_sim_event(&s, t, 1764072000, buf, sizeof(buf), &tr);
		cr_assert_gt(len, 0);
		if (i < 200) { /* every event is valid by the contract */
			cr_assert_eq(event_parse_body(buf, (size_t)len, EVENT_BODY_EVENTS,
			                              1764072000, 10, &b, &err),
			             0, "%s: %s", buf, err.reason);
			cr_assert_eq(b.events[b.n_events - 1].n_features, 13);
			len = demo_sim_label(&tr, 1764072030, buf, sizeof(buf));
			cr_assert_eq(event_parse_body(buf, (size_t)len, EVENT_BODY_LABELS,
			                              1764072030, 10, &b, &err),
			             0, "%s", buf);
		}
		st->acc += tr.label_fraud == tr.predicted_fraud;
		st->conf += tr.confidence;
		st->log_amount += log(tr.amount);
		st->crypto += strcmp(tr.merchant_type, "crypto") == 0;
		lat[i] = tr.latency_ms;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	st->p99 = lat[(int)(0.99 * (n - 1))];
	st->acc /= n;
	st->conf /= n;
	st->log_amount /= n;
	st->crypto /= n;
	st->n = n;
	free(lat);
	event_batch_reset(&b);
}

Test(demo_sim, calibrated_before_and_changed_after)
{
	struct stats before, after;
	run(0, 40000, &before);
	run(60, 40000, &after);
	/* Calibrated: realized accuracy close to the mean confidence. */
	cr_assert_lt(fabs(before.acc - before.conf), 0.01, "acc %.3f conf %.3f", before.acc,
	             before.conf);
	cr_assert_gt(before.acc, 0.9);
	/* Concept drift: accuracy falls while confidence barely moves. */
	cr_assert_lt(after.acc, before.acc - 0.08, "acc before %.3f after %.3f", before.acc,
	             after.acc);
	cr_assert_gt(after.conf - after.acc, 0.08);
	/* Gradual shift complete by 60 s: log(amount) up by 1.2. */
	cr_assert_lt(fabs(after.log_amount - before.log_amount - 1.2), 0.05);
	cr_assert_eq(before.crypto, 0);
	cr_assert_gt(after.crypto, 0.2);
	cr_assert_lt(before.p99, 40, "p99 %.1f", before.p99);
}

Test(demo_sim, latency_spike)
{
	struct stats spike;
	run(30, 20000, &spike);
	cr_assert_gt(spike.p99, 250, "p99 during the spike %.1f", spike.p99);
}

Test(demo_sim, reference_csv)
{
	char path[] = "/tmp/mlwatch-ref-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	cr_assert_eq(demo_sim_reference_csv(7, 500, path), 0);
	FILE *f = fopen(path, "r");
	char line[1024];
	int lines = 0;
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_assert_eq(strncmp(line, "id,amount,age,", 14), 0);
	while (fgets(line, sizeof(line), f)) {
		int commas = 0;
		for (char *p = line; *p; p++)
			commas += *p == ',';
		cr_assert_eq(commas, 16, "%s", line);
		cr_assert_null(strstr(line, "crypto"));
		lines++;
	}
	fclose(f);
	unlink(path);
	cr_assert_eq(lines, 500);
}

/* examples/demo-reference.csv is what the demo imports (seed 1, 2000 rows):
 * regenerate it with demo_sim_reference_csv when the simulation changes. */
Test(demo_sim, committed_reference_matches_the_simulation)
{
	char path[] = "/tmp/mlwatch-ref-XXXXXX";
	const char *src = getenv("MLWATCH_SRC_DIR");
	char committed[4096];
	int fd = mkstemp(path);
	close(fd);
	snprintf(committed, sizeof(committed), "%s/examples/demo-reference.csv", src ? src : ".");
	cr_assert_eq(demo_sim_reference_csv(1, 2000, path), 0);
	FILE *a = fopen(path, "r"), *b = fopen(committed, "r");
	cr_assert_not_null(b, "cannot open %s", committed);
	int ca, cb, line = 1;
	do {
		ca = fgetc(a);
		cb = fgetc(b);
		cr_assert_eq(ca, cb, "differs at line %d", line);
		line += ca == '\n';
	} while (ca != EOF);
	fclose(a);
	fclose(b);
	unlink(path);
}

/* issue 13 F10: `drift(*) > 1` without a `for` paged on a feature that never
 * shifts. The demo's config loads, every rule has a `for`, and drift
 * verdicts need a minimum sample. */
Test(demo_sim, config_rules_are_ones_to_run_in_production)
{
	char text[8192], path[] = "/tmp/demo-conf-XXXXXX", err[512] = "";
	struct mlw_config cfg;
	int n = demo_sim_config(text, sizeof(text), 7072, 9000, "/tmp/secret");
	cr_assert(n > 0 && (size_t)n < sizeof(text));
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, (size_t)n), n);
	close(fd);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	cr_assert_geq(cfg.n_alerts, 3);
	for (size_t i = 0; i < cfg.n_alerts; i++)
		cr_expect(cfg.alerts[i].for_ms > 0, "[alert %s] has no for", cfg.alerts[i].name);
	cr_expect_geq(cfg.collector.drift_min_sample, 100);
	config_free(&cfg);
}
