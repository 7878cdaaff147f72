/* bentoml: BentoML monitor data lines with their schema become events:
 * roles feature/prediction/target, request_id as id, naive local
 * timestamps in the configured zone, long texts as missing values, the
 * model from the monitor's directory, a missing schema refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bentoml.h"
#include "clock.h"
#include "harness.h"
#include "stats.h"

static char *dir;

static void setup(void)
{
	dir = h_tmpdir("bentoml");
	cr_assert_not_null(dir);
	stats_reset();
}

static void teardown(void)
{
	h_rmtree(dir);
	free(dir);
}

static void write_file(const char *rel, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	cr_assert_eq(h_write_file(path, text, strlen(text)), 0);
}

static const char *SCHEMA =
    "{\"meta_data\": {\"bento_name\": \"iris\", \"bento_version\": \"1\"}, \"columns\": ["
    "{\"name\": \"sepal_len\", \"role\": \"feature\", \"type\": \"numerical\"},"
    "{\"name\": \"colour\", \"role\": \"feature\", \"type\": \"categorical\"},"
    "{\"name\": \"emb\", \"role\": \"feature\", \"type\": \"numerical_sequence\"},"
    "{\"name\": \"pred\", \"role\": \"prediction\", \"type\": \"categorical\"},"
    "{\"name\": \"truth\", \"role\": \"target\", \"type\": \"categorical\"}]}\n";

Test(bentoml, roles_id_and_local_time, .init = setup, .fini = teardown)
{
	char path[1024], err[300];
	struct event_batch eb;
	struct event_error ee;
	const char *line = "{\"sepal_len\": 5.1, \"colour\": \"blue\", \"emb\": [0.5, 0.25], "
	                   "\"pred\": \"setosa\", \"truth\": \"setosa\", \"timestamp\": "
	                   "\"2024-03-05T03:33:59.490137\", \"request_id\": "
	                   "\"14642743634293743168\", \"trace_id\": \"0\"}";

	cr_assert_eq(bentoml_set_timezone("Europe/Berlin", err, sizeof(err)), 0, "%s", err);
	write_file("monitoring/iris_clf/schema/schema.0.log", SCHEMA);
	snprintf(path, sizeof(path), "%s/monitoring/iris_clf/data/data.0.log", dir);
	struct bentoml *b = bentoml_new(path, err, sizeof(err));
	cr_assert_not_null(b, "%s", err);
	event_batch_init(&eb);
	cr_assert_eq(bentoml_line(b, line, strlen(line), clock_now(), &eb, &ee), 0, "%s",
	             ee.reason);
	cr_assert_eq(eb.n_events, 1);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "iris_clf");
	cr_expect_str_eq(e->id, "14642743634293743168");
	/* 03:33:59 in Berlin (CET, +01:00) on 5 March 2024 = 02:33:59 UTC */
	double want;
	cr_assert_eq(clock_parse_rfc3339("2024-03-05T02:33:59.490137Z", &want), 0);
	cr_expect_float_eq(e->ts, want, 1e-6);
	cr_expect_eq(e->n_features, 4, "sepal_len, colour, emb[0], emb[1]");
	cr_expect_str_eq(e->prediction.str, "setosa");
	cr_expect_str_eq(e->label.str, "setosa");
	cr_expect_not(e->has_latency, "BentoML logs no latency");
	/* Summer time is the zone's rule for that date: 03:00 CEST = 01:00 UTC. */
	cr_assert_eq(bentoml_parse_local("2024-07-01T03:00:00", &want), 0);
	cr_expect_float_eq(want, 1719795600, 1e-6);
	/* An offset, when present, wins. */
	cr_assert_eq(bentoml_parse_local("2024-07-01T03:00:00Z", &want), 0);
	cr_expect_float_eq(want, 1719802800, 1e-6);
	cr_assert_eq(bentoml_set_timezone("UTC", err, sizeof(err)), 0);
	cr_assert_eq(bentoml_parse_local("2024-07-01T03:00:00", &want), 0);
	cr_expect_float_eq(want, 1719802800, 1e-6);
	cr_expect_eq(bentoml_set_timezone("Mars/Olympus", err, sizeof(err)), -1);
	cr_expect(strstr(err, "unknown zone") != NULL, "%s", err);
	cr_expect_eq(bentoml_set_timezone("../etc/passwd", err, sizeof(err)), -1);
	event_batch_reset(&eb);
	bentoml_free(b);
}

Test(bentoml, bad_lines_and_no_schema, .init = setup, .fini = teardown)
{
	char path[1024], err[300];
	struct event_batch eb;
	struct event_error ee;
	const char *line = "{\"x\": 1, \"timestamp\": \"2024-03-05T03:33:59\", \"request_id\": "
	                   "\"None\"}";

	snprintf(path, sizeof(path), "%s/monitoring/m1/data/data.3.log", dir);
	struct bentoml *b = bentoml_new(path, err, sizeof(err));
	cr_assert_not_null(b, "%s", err);
	event_batch_init(&eb);
	cr_expect_eq(bentoml_line(b, line, strlen(line), clock_now(), &eb, &ee), -1);
	cr_expect(strstr(ee.reason, "schema/schema.3.log") != NULL, "%s", ee.reason);
	write_file("monitoring/m1/schema/schema.3.log", "{\"meta_data\":{},\"columns\":[]}\n");
	cr_assert_eq(bentoml_line(b, line, strlen(line), clock_now(), &eb, &ee), 0, "%s",
	             ee.reason);
	cr_expect_null(eb.events[0].id, "request_id None: outside a request");
	cr_expect_eq(bentoml_line(b, "[1]", 3, clock_now(), &eb, &ee), -1);
	const char *badts = "{\"x\": 1, \"timestamp\": \"yesterday\"}";
	cr_expect_eq(bentoml_line(b, badts, strlen(badts), clock_now(), &eb, &ee), -1);
	cr_expect_str_eq(ee.field, "timestamp");
	event_batch_reset(&eb);
	bentoml_free(b);
	/* A monitor name that cannot be a model name is refused at start. */
	snprintf(path, sizeof(path), "%s/monitoring/bad name/data/data.0.log", dir);
	cr_expect_null(bentoml_new(path, err, sizeof(err)));
	cr_expect(strstr(err, "bad name") != NULL, "%s", err);
	/* Outside BentoML's layout: schema.<w> beside the file, model = name. */
	write_file("flat/schema.0.log", SCHEMA);
	snprintf(path, sizeof(path), "%s/flat/preds.0.log", dir);
	b = bentoml_new(path, err, sizeof(err));
	cr_assert_not_null(b, "%s", err);
	event_batch_init(&eb);
	cr_expect_eq(bentoml_line(b, line, strlen(line), clock_now(), &eb, &ee), -1,
	             "schema.preds.0.log is not there");
	event_batch_reset(&eb);
	bentoml_free(b);
}
