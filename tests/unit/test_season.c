/* Unit tests for collector/season: the parts of the history a rolling or
 * same-hour-of-week reference is built from, and how missing parts are
 * listed (issue 17 item 3). */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "jsonw.h"
#include "season.h"

#define DAY  86400.0
#define WEEK 604800.0

Test(season, rolling_parts_are_days_back_from_now)
{
	struct season_part p[SEASON_PARTS_MAX];
	double now = 1796500000.5;

	cr_assert_eq(season_parts(REF_MODE_ROLLING, 7 * 86400, now, 60, p, SEASON_PARTS_MAX), 7);
	for (int i = 0; i < 7; i++) {
		cr_expect_float_eq(p[i].from, now - (7 - i) * DAY, 1e-6, "part %d", i);
		cr_expect_float_eq(p[i].to, now - (6 - i) * DAY, 1e-6, "part %d", i);
	}
	/* 36h: a day and the 12 hours before it */
	cr_assert_eq(season_parts(REF_MODE_ROLLING, 36 * 3600, now, 60, p, SEASON_PARTS_MAX), 2);
	cr_expect_float_eq(p[0].from, now - 36 * 3600, 1e-6);
	cr_expect_float_eq(p[0].to, now - DAY, 1e-6);
	cr_expect_float_eq(p[1].to, now, 1e-6);
	cr_expect_eq(season_parts(REF_MODE_ROLLING, 7 * 86400, now, 60, p, 3), -1);
	cr_expect_eq(season_parts(REF_MODE_STATIC, 7 * 86400, now, 60, p, SEASON_PARTS_MAX), -1);
	cr_expect_eq(season_refresh_s(7 * 86400), 86400);
	cr_expect_eq(season_refresh_s(6 * 3600), 6 * 3600);
}

Test(season, same_hour_of_week_parts)
{
	struct season_part p[SEASON_PARTS_MAX];
	int64_t start = 1796500920; /* 15:22 */
	int64_t slot = season_slot(start, 60);

	cr_expect_eq(slot, 1796500800); /* 15:00 */
	cr_expect_eq(season_slot(slot, 3600), slot);
	cr_expect_eq(season_slot(start, 7200), start); /* windows over an hour: the window */
	cr_expect_eq(season_slot(-1, 60), -3600);
	cr_assert_eq(
	    season_parts(REF_MODE_HOUR_OF_WEEK, 4 * 604800, (double)slot, 60, p, SEASON_PARTS_MAX),
	    4);
	for (int i = 0; i < 4; i++) {
		cr_expect_float_eq(p[i].from, (double)slot - (4 - i) * WEEK, 1e-6);
		cr_expect_float_eq(p[i].to - p[i].from, 3600, 1e-6);
	}
	cr_assert_eq(
	    season_parts(REF_MODE_HOUR_OF_WEEK, 604800, (double)start, 7200, p, SEASON_PARTS_MAX),
	    1);
	cr_expect_float_eq(p[0].to - p[0].from, 7200, 1e-6);
	cr_expect_eq(
	    season_parts(REF_MODE_HOUR_OF_WEEK, 86400, (double)slot, 60, p, SEASON_PARTS_MAX), -1);
}

Test(season, missing_parts_are_listed_and_merged)
{
	struct season_part p[SEASON_PARTS_MAX];
	struct jsonw j;
	double now = 1796500800;
	char a[40], b[40];

	jsonw_init(&j);
	cr_assert_eq(season_parts(REF_MODE_ROLLING, 7 * 86400, now, 60, p, SEASON_PARTS_MAX), 7);
	for (int i = 0; i < 7; i++)
		p[i].rows = 10;
	cr_expect_eq(season_missing_json(p, 7, &j), 0);
	cr_expect_str_eq(j.buf, "[]");
	/* days 1 and 2 (adjacent) and day 5 missing: two ranges, three parts */
	p[1].rows = p[2].rows = p[5].rows = 0;
	cr_expect_eq(season_missing_json(p, 7, &j), 3);
	cJSON *o = cJSON_Parse(j.buf);
	cr_assert(cJSON_IsArray(o), "%s", j.buf);
	cr_assert_eq(cJSON_GetArraySize(o), 2, "%s", j.buf);
	cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 0), "from")->valuestring,
	                 clock_format_rfc3339(p[1].from, a, sizeof(a)));
	cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 0), "to")->valuestring,
	                 clock_format_rfc3339(p[2].to, b, sizeof(b)));
	cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 1), "from")->valuestring,
	                 clock_format_rfc3339(p[5].from, a, sizeof(a)));
	cJSON_Delete(o);
	/* same-hour-of-week parts do not touch: each missing week is its own */
	cr_assert_eq(season_parts(REF_MODE_HOUR_OF_WEEK, 3 * 604800, now, 60, p, SEASON_PARTS_MAX),
	             3);
	p[0].rows = p[1].rows = p[2].rows = 0;
	cr_expect_eq(season_missing_json(p, 3, &j), 3);
	o = cJSON_Parse(j.buf);
	cr_expect_eq(cJSON_GetArraySize(o), 3, "%s", j.buf);
	cJSON_Delete(o);
	jsonw_fini(&j);
}
