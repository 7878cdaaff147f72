/* reference: building profiles from CSV and JSONL, kinds, calibration,
 * and errors that name the line. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "drift.h"
#include "quality.h"
#include "reference.h"
#include "segment.h"
#include <cJSON.h>
#include "vector.h"

static int read_csv(const char *text, struct refb *b, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc = reference_read_csv(f, "ref.csv", b, NULL, NULL, err, errlen);
	fclose(f);
	return rc;
}

static int read_jsonl(const char *text, struct refb *b, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc = reference_read_jsonl(f, "ref.jsonl", b, NULL, NULL, err, errlen);
	fclose(f);
	return rc;
}

static const struct ref_profile *profile(const struct ref_result *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->p[i].feature, name) == 0)
			return &r->p[i];
	return NULL;
}

Test(reference, csv_kinds_outputs_and_quoting)
{
	const char *csv =
	    "\xef\xbb\xbfid,ts,amount,country,\"odd, name\",prediction,score,label\r\n"
	    "1,100,10.5,DE,\"a \"\"quoted\"\" value\",yes,0.9,yes\r\n"
	    "\"multi\nline id\",101,NA,FR,second,no,0.6,yes\r\n"
	    "\r\n"
	    "3,102,12,DE,plain,yes,0.7,no\r\n"
	    "4,103,  13.25 ,,plain,no,0.8,no\r\n";
	struct refb *b = refb_new(NULL);
	struct ref_result r;
	char err[256];
	const struct ref_profile *p;
	struct drift_ref ref;

	cr_assert_eq(read_csv(csv, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(refb_rows(b), 4);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(r.task, "classification");
	cr_assert_eq(r.rows, 4);
	cr_assert_null(profile(&r, "id"));
	cr_assert_null(profile(&r, "ts"));
	cr_assert_null(profile(&r, "label"));

	p = profile(&r, "amount");
	cr_assert_not_null(p);
	cr_assert_eq(p->kind, 1);
	cr_assert_eq(p->n, 3); /* NA is missing */
	cr_assert_eq(drift_ref_decode(&ref, p->blob, p->len), 0);
	cr_assert_float_eq(ref.min, 10.5, 1e-12);
	cr_assert_float_eq(ref.max, 13.25, 1e-12);
	drift_ref_fini(&ref);

	p = profile(&r, "country");
	cr_assert_eq(p->kind, 2);
	cr_assert_eq(p->n, 3);
	cr_assert_str_eq(p->hist, "{\"cells\":[\"DE\",\"FR\",\"new\"],\"counts\":[2,1,0]}");
	p = profile(&r, "odd, name");
	cr_assert_not_null(p);
	cr_assert_eq(drift_ref_decode(&ref, p->blob, p->len), 0);
	cr_assert_not_null(sample_cats_find(&ref.cats, "a \"quoted\" value", 16));
	cr_assert_not_null(sample_cats_find(&ref.cats, "second", 6));
	drift_ref_fini(&ref);

	p = profile(&r, "@prediction");
	cr_assert_eq(p->kind, 2);
	p = profile(&r, "@score");
	cr_assert_eq(p->kind, 1);
	cr_assert_eq(p->n, 4);
	/* every row had prediction, score and label: all four calibrate */
	cr_assert_eq(r.calib_n, 4);
	struct quality_calib cal = {0};
	cr_assert_eq(quality_calib_decode(&cal, r.calib, r.calib_len), 0);
	cr_assert_gt(cal.n, 0);
	quality_calib_fini(&cal);
	ref_result_free(&r);
	refb_free(b);
}

Test(reference, csv_errors_name_file_and_line)
{
	char err[256];
	struct refb *b = refb_new(NULL);
	cr_assert_eq(read_csv("a,b\n1,2\n3\n", b, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "ref.csv:3: 1 fields where the header has 2");
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("a,a\n", b, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "ref.csv:1: column 'a' appears twice");
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("a,@b\n", b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'@b' is not a valid feature name"), "%s", err);
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("a,b\n1,\"open\n", b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "ref.csv:"), "%s", err);
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("", b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "empty file"), "%s", err);
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("a,score\n1,1.5\n", b, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "ref.csv:2: score must be a probability in [0, 1]");
	refb_free(b);
}

Test(reference, config_overrides_inferred_kinds)
{
	struct model_feature_config fc[2] = {{.name = "zip", .kind = KIND_CATEGORICAL},
	                                     {.name = "n", .kind = KIND_NUMERIC}};
	struct model_config mc = {.name = "m", .features = fc, .n_features = 2};
	struct refb *b = refb_new(&mc);
	struct ref_result r;
	char err[256];

	cr_assert_eq(read_csv("zip,n,prediction\n01234,1,2.5\n99999,x,3.5\n", b, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0);
	cr_assert_eq(profile(&r, "zip")->kind, 2);
	cr_assert_str_eq(profile(&r, "zip")->hist,
	                 "{\"cells\":[\"01234\",\"99999\",\"new\"],\"counts\":[1,1,0]}");
	cr_assert_eq(profile(&r, "n")->kind, 1);
	cr_assert_eq(profile(&r, "n")->ignored, 1);
	/* numbers without a score: a regression model */
	cr_assert_str_eq(r.task, "regression");
	cr_assert_eq(profile(&r, "@prediction")->kind, 1);
	cr_assert_null(r.calib);
	ref_result_free(&r);
	refb_free(b);
}

Test(reference, jsonl_events)
{
	const char *jsonl =
	    "{\"model\":\"m\",\"features\":{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null},"
	    "\"prediction\":1,\"score\":0.2,\"label\":0}\n"
	    "\n"
	    "{\"features\":{\"a\":2.5,\"b\":\"y\",\"c\":false},\"prediction\":0,\"score\":0.9}\n";
	struct refb *b = refb_new(NULL);
	struct ref_result r;
	char err[256];

	cr_assert_eq(read_jsonl(jsonl, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.rows, 2);
	cr_assert_eq(profile(&r, "a")->kind, 1);
	cr_assert_eq(profile(&r, "b")->kind, 2);
	cr_assert_eq(profile(&r, "c")->kind, 2);
	cr_assert_str_eq(profile(&r, "c")->hist,
	                 "{\"cells\":[\"false\",\"true\",\"new\"],\"counts\":[1,1,0]}");
	cr_assert_null(profile(&r, "d"));
	/* 0/1 with a probability: classification with class names "0"/"1" */
	cr_assert_str_eq(r.task, "classification");
	cr_assert_str_eq(profile(&r, "@prediction")->hist,
	                 "{\"cells\":[\"0\",\"1\",\"new\"],\"counts\":[1,1,0]}");
	cr_assert_eq(r.calib_n, 1);
	ref_result_free(&r);
	refb_free(b);

	b = refb_new(NULL);
	cr_assert_eq(read_jsonl("{\"features\":{\"a\":1}}\n[1]\n", b, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "ref.jsonl:2: not a JSON object");
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_jsonl("{\"features\":{\"a\":{\"x\":1}}}\n", b, err, sizeof(err)), -1);
	cr_assert_str_eq(
	    err,
	    "ref.jsonl:1: features.a: must be a number, string, boolean, array of numbers or null");
	refb_free(b);
}

Test(reference, large_input_keeps_a_bounded_sample)
{
	struct refb *b = refb_new(NULL);
	struct ref_result r;
	char err[256], num[32];
	struct ref_col_value v = {"x", {0}};
	struct ref_row row = {&v, 1, {.missing = true}, {.missing = true}, {.missing = true}, 0};

	for (int i = 0; i < 250000; i++) {
		v.v.is_number = true;
		v.v.num = i;
		snprintf(num, sizeof(num), "%d", i);
		v.v.str = num;
		cr_assert_eq(refb_add(b, &row, err, sizeof(err)), 0);
	}
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0);
	cr_assert_eq(profile(&r, "x")->n, SAMPLE_REF_MAX);
	struct drift_ref ref;
	cr_assert_eq(drift_ref_decode(&ref, profile(&r, "x")->blob, profile(&r, "x")->len), 0);
	/* a uniform sample of 0..249999: its median is near the middle */
	cr_assert(fabs(ref.sorted[ref.n / 2] - 125000) < 2500, "%g", ref.sorted[ref.n / 2]);
	drift_ref_fini(&ref);
	ref_result_free(&r);
	refb_free(b);
}

/* issue 13 F2: one '?' among 300 numbers once made the column categorical
 * (drift then silently off). The kind is the majority's; the odd cells are
 * counted, the first is kept with its line, and they are left out. */
Test(reference, kind_by_majority_reports_the_odd_cells)
{
	char *csv = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&csv, &len);
	fprintf(f, "amount,code\n");
	for (int i = 0; i < 300; i++)
		fprintf(f, "%s,%s\n", i == 150 ? "?" : i == 200 ? "" : "12.5", i % 3 ? "A7" : "12");
	fclose(f);
	struct refb *b = refb_new(NULL);
	struct ref_result r;
	cr_assert_eq(read_csv(csv, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0, "%s", err);
	const struct ref_profile *p = profile(&r, "amount");
	cr_assert_eq(p->kind, 1, "numeric by majority");
	cr_assert_eq(p->values, 299);
	cr_assert_eq(p->missing, 1);
	cr_assert_eq(p->ignored, 1);
	cr_assert_eq(p->n, 298, "the '?' is left out of the sample");
	cr_assert_eq(p->odd_line, 152); /* header is line 1, row i is line i + 2 */
	cr_assert_str_eq(p->odd, "?");
	/* mostly text: categorical, its numbers are categories, nothing dropped */
	p = profile(&r, "code");
	cr_assert_eq(p->kind, 2);
	cr_assert_eq(p->ignored, 0);
	cr_assert_eq(p->values, 300);
	ref_result_free(&r);
	refb_free(b);
	free(csv);
}

/* issue 13 F2: a semicolon- or tab-separated file would be one text
 * column; its header is questioned. A quoted name may hold ';'. */
Test(reference, one_column_header_with_semicolon_or_tab_is_refused)
{
	char err[512];
	struct refb *b = refb_new(NULL);
	cr_assert_eq(read_csv("amount;country\n1;DE\n", b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "ref.csv:1: the header 'amount;country' is a single column holding "
	                      "';'"),
	          "%s", err);
	cr_assert(strstr(err, "comma-separated"), "%s", err);
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("amount\tcountry\n1\tDE\n", b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "holding a tab"), "%s", err);
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("\"a;b\"\n1\n", b, err, sizeof(err)), 0, "%s", err);
	refb_free(b);
}

/* issue 17: with segment_by the builder keeps a profile set per segment:
 * the K values with the most rows, then "other" with every other row (the
 * values beyond K merged, and rows without the feature). */
Test(reference, segments_top_k_and_other)
{
	struct model_config mc = {.name = "m", .segment_by = "country", .segment_top_k = 3};
	struct refb *b = refb_new(&mc);
	struct ref_result r;
	char err[256];
	size_t cap = 1 << 16, len = 0;
	char *csv = malloc(cap);

	cr_assert(b && csv);
	len += (size_t)snprintf(csv + len, cap - len, "amount,country\n");
	/* A 40 rows, B 30, C 20, D 6, E 3, and one row without a country */
	static const struct {
		const char *c;
		int n, base;
	} rows[] = {{"A", 40, 0}, {"B", 30, 100}, {"C", 20, 200}, {"D", 6, 300}, {"E", 3, 400}};
	for (size_t k = 0; k < 5; k++)
		for (int i = 0; i < rows[k].n; i++)
			len += (size_t)snprintf(csv + len, cap - len, "%d,%s\n", rows[k].base + i,
			                        rows[k].c);
	len += (size_t)snprintf(csv + len, cap - len, "999,\n");
	cr_assert_eq(read_csv(csv, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0, "%s", err);
	/* the whole reference is as without segments */
	cr_assert_eq(r.rows, 100);
	cr_assert_eq(profile(&r, "amount")->n, 100);
	cr_assert_not_null(r.seg);
	cr_assert_str_eq(r.seg->key, "country");
	cr_assert_eq(r.seg->n, 4);
	const char *names[] = {"A", "B", "C", "other"};
	const uint64_t nrows[] = {40, 30, 20, 10};
	for (size_t i = 0; i < 4; i++) {
		cr_expect_str_eq(r.seg->v[i].name, names[i]);
		cr_expect_eq(r.seg->v[i].rows, nrows[i]);
		cr_expect_eq(profile(r.seg->v[i].r, "amount")->n, nrows[i], "%s", names[i]);
	}
	/* C's amounts are 200..219 exactly; other holds D, E and the lone row */
	struct drift_ref ref;
	const struct ref_profile *p = profile(r.seg->v[2].r, "amount");
	cr_assert_eq(drift_ref_decode(&ref, p->blob, p->len), 0);
	cr_expect_float_eq(ref.sorted[0], 200, 0);
	cr_expect_float_eq(ref.sorted[ref.n - 1], 219, 0);
	drift_ref_fini(&ref);
	p = profile(r.seg->v[3].r, "amount");
	cr_assert_eq(drift_ref_decode(&ref, p->blob, p->len), 0);
	cr_expect_float_eq(ref.sorted[0], 300, 0);
	cr_expect_float_eq(ref.sorted[ref.n - 1], 999, 0);
	drift_ref_fini(&ref);
	ref_result_free(&r);
	refb_free(b);
	free(csv);

	/* without segment_by: none */
	b = refb_new(NULL);
	cr_assert_eq(read_csv("amount,country\n1,A\n", b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(r.seg);
	ref_result_free(&r);
	refb_free(b);
}

/* --segment and the alert rules' KEY=VALUE; an event's segment value. */
Test(reference, segment_values_and_arguments)
{
	char k[129], v[65], err[256], buf[64];
	cJSON *o;

	cr_assert_eq(
	    segment_parse("country=DE", false, k, sizeof(k), v, sizeof(v), err, sizeof(err)), 0);
	cr_expect_str_eq(k, "country");
	cr_expect_str_eq(v, "DE");
	cr_expect_eq(segment_parse("country", false, k, sizeof(k), v, sizeof(v), err, sizeof(err)),
	             -1);
	cr_expect(strstr(err, "is not KEY=VALUE"), "%s", err);
	cr_expect_eq(segment_parse("=DE", false, k, sizeof(k), v, sizeof(v), err, sizeof(err)), -1);
	cr_expect_eq(segment_parse("country=", false, k, sizeof(k), v, sizeof(v), err, sizeof(err)),
	             -1);
	cr_expect_eq(
	    segment_parse("country=*", false, k, sizeof(k), v, sizeof(v), err, sizeof(err)), -1);
	cr_expect_eq(segment_parse("country=*", true, k, sizeof(k), v, sizeof(v), err, sizeof(err)),
	             0);
	cr_expect_eq(segment_parse("c=\x01", false, k, sizeof(k), v, sizeof(v), err, sizeof(err)),
	             -1);

	o = cJSON_Parse("{\"country\":\"DE\",\"n\":2.0,\"b\":true,\"x\":null,\"e\":\"\",\"o\":{}}");
	cr_expect_str_eq(segment_of_json(o, "country", buf, sizeof(buf)), "DE");
	cr_expect_str_eq(segment_of_json(o, "n", buf, sizeof(buf)), "2");
	cr_expect_str_eq(segment_of_json(o, "b", buf, sizeof(buf)), "true");
	cr_expect_null(segment_of_json(o, "x", buf, sizeof(buf)));
	cr_expect_null(segment_of_json(o, "e", buf, sizeof(buf)));
	cr_expect_null(segment_of_json(o, "o", buf, sizeof(buf)));
	cr_expect_null(segment_of_json(o, "missing", buf, sizeof(buf)));
	cJSON_Delete(o);
}

/* Issue 19: a vector feature in a reference, from a CSV cell holding a JSON
 * array or a JSONL array; float32 rows, kind 3, the dimension fixed by the
 * first vector; mismatches and mixtures refused naming line and column. */
Test(reference, vector_columns_from_csv_and_jsonl)
{
	struct refb *b = refb_new(NULL);
	struct ref_result r;
	char err[256];
	float *rows;
	size_t n, dim;

	cr_assert_eq(read_csv("id,emb,x\n"
	                      "1,\"[0.5, -1, 2]\",3\n"
	                      "2,\"[1,2,3]\",4\n"
	                      "3,,5\n",
	                      b, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(
	    read_jsonl("{\"features\":{\"emb\":[7,8,9.25],\"x\":1}}\n", b, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(refb_finish(b, &r, err, sizeof(err)), 0, "%s", err);
	const struct ref_profile *p = profile(&r, "emb");
	cr_assert_not_null(p);
	cr_expect_eq(p->kind, 3);
	cr_expect_eq(p->n, 3);
	cr_expect_eq(p->missing, 1);
	cr_expect_str_eq(p->hist, "{\"dim\":3,\"rows\":3}");
	cr_assert_eq(vector_rows_decode(p->blob, p->len, &rows, &n, &dim), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(dim, 3);
	cr_expect_eq(rows[1], -1.0f);
	cr_expect_eq(rows[8], 9.25f);
	cr_expect_eq(profile(&r, "x")->kind, 1);
	free(rows);
	ref_result_free(&r);
	refb_free(b);

	b = refb_new(NULL);
	cr_assert_eq(read_csv("emb\n\"[1,2]\"\n\"[1,2,3]\"\n", b, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "ref.csv:3: column 'emb': has 3 dimensions, this feature has 2 "
	                      "(fixed by its first vector)");
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("emb\n\"[1,2]\"\n4\n", b, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "ref.csv:3: column 'emb': a scalar among vectors of 2 dimensions");
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_csv("emb\n4\n\"[1,2]\"\n", b, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "ref.csv:3: column 'emb': a vector among scalar values");
	refb_free(b);
	b = refb_new(NULL);
	cr_assert_eq(read_jsonl("{\"features\":{\"emb\":[1,null]}}\n", b, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "ref.jsonl:1: column 'emb': element 1: must be a number, not null");
	refb_free(b);
}
