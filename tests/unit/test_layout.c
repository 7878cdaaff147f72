/* layout: number/time formatting, display widths, truncation, column
 * sharing and time buckets, as the dashboard and tables rely on them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../tui/layout.h"

static const char *num(double v)
{
	static char buf[8][32];
	static int i;
	i = (i + 1) % 8;
	return lay_fmt_num(buf[i], sizeof(buf[i]), v);
}

Test(layout, numbers_keep_three_significant_digits)
{
	cr_expect_str_eq(num(NAN), "-");
	cr_expect_str_eq(num(0), "0");
	cr_expect_str_eq(num(11.24), "11.2");
	cr_expect_str_eq(num(312.4), "312");
	cr_expect_str_eq(num(41200), "41200");
	cr_expect_str_eq(num(0.5), "0.5");
	cr_expect_str_eq(num(0.00213), "0.00213");
	cr_expect_str_eq(num(12.0), "12");
	cr_expect_str_eq(num(1.5e6), "1.50M");
	cr_expect_str_eq(num(123456.7), "123k");
	cr_expect_str_eq(num(-4.25), "-4.25");
	cr_expect_str_eq(num(2e-5), "2.00e-05");
	cr_expect_str_eq(num(INFINITY), "inf");
}

Test(layout, percentages_and_counts)
{
	char b[32];
	cr_expect_str_eq(lay_fmt_pct(b, sizeof(b), 0.002), "0.2%");
	cr_expect_str_eq(lay_fmt_pct(b, sizeof(b), 0.4213), "42.1%");
	cr_expect_str_eq(lay_fmt_pct(b, sizeof(b), 1.0), "100%");
	cr_expect_str_eq(lay_fmt_pct(b, sizeof(b), NAN), "-");
	cr_expect_str_eq(lay_fmt_count(b, sizeof(b), 99999), "99999");
	cr_expect_str_eq(lay_fmt_count(b, sizeof(b), 120000), "120k");
	cr_expect_str_eq(lay_fmt_count(b, sizeof(b), 10000000), "10.0M");
}

Test(layout, ages_use_the_largest_units)
{
	char b[32];
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 45), "45s");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 120), "2m");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 150), "2m30s");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 3600 * 3), "3h");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 3600 * 3 + 300), "3h5m");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 86400 * 2 + 3600 * 4), "2d4h");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), 86400 * 30), "30d");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), -5), "0s");
	cr_expect_str_eq(lay_fmt_age(b, sizeof(b), NAN), "-");
}

Test(layout, times_in_local_time)
{
	char b[32];
	setenv("TZ", "UTC", 1);
	cr_expect_str_eq(lay_fmt_time(b, sizeof(b), 1764072000, true), "2025-11-25 12:00:00");
	cr_expect_str_eq(lay_fmt_time(b, sizeof(b), 1764072000, false), "12:00");
	cr_expect_str_eq(lay_fmt_time(b, sizeof(b), NAN, true), "-");
}

Test(layout, widths_of_utf8)
{
	cr_expect_eq(lay_width("abc"), 3);
	cr_expect_eq(lay_width("caf\xc3\xa9"), 4);              /* é */
	cr_expect_eq(lay_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本 */
	cr_expect_eq(lay_width("e\xcc\x81"), 1);                /* e + combining acute */
	cr_expect_eq(lay_width("\xff"), 1);                     /* invalid byte */
	cr_expect_eq(lay_width(""), 0);
}

Test(layout, fit_truncates_with_an_ellipsis)
{
	char b[64];
	cr_expect_eq(lay_fit(b, sizeof(b), "amount", 10, true), 6);
	cr_expect_str_eq(b, "amount");
	cr_expect_eq(lay_fit(b, sizeof(b), "transaction_amount", 8, true), 8);
	cr_expect_str_eq(b, "transac\xe2\x80\xa6");
	cr_expect_eq(lay_fit(b, sizeof(b), "transaction_amount", 8, false), 8);
	cr_expect_str_eq(b, "transac~");
	/* a wide character never straddles the cut */
	cr_expect_eq(lay_fit(b, sizeof(b), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, true), 3);
	cr_expect_str_eq(b, "\xe6\x97\xa5\xe2\x80\xa6");
	/* control characters never reach the terminal */
	cr_expect_eq(lay_fit(b, sizeof(b), "a\x1b[2Jb", 10, true), 6);
	cr_expect_str_eq(b, "a?[2Jb");
	/* without UTF-8, non-ASCII becomes '?' */
	lay_fit(b, sizeof(b), "caf\xc3\xa9", 10, false);
	cr_expect_str_eq(b, "caf?");
	cr_expect_eq(lay_fit(b, sizeof(b), "abc", 0, true), 0);
	cr_expect_str_eq(b, "");
}

Test(layout, pad_aligns)
{
	char b[64];
	cr_expect_eq(lay_pad(b, sizeof(b), "12", 5, true, true), 5);
	cr_expect_str_eq(b, "   12");
	cr_expect_eq(lay_pad(b, sizeof(b), "ab", 4, false, true), 4);
	cr_expect_str_eq(b, "ab  ");
	lay_pad(b, sizeof(b), "abcdef", 4, false, true);
	cr_expect_str_eq(b, "abc\xe2\x80\xa6");
}

Test(layout, columns_share_the_width)
{
	int min[4] = {10, 6, 6, 8}, want[4] = {20, 8, 8, 30}, prio[4] = {0, 1, 2, 3}, out[4];

	/* plenty of room: everyone gets what they want, the flex column the rest */
	cr_expect_eq(lay_columns(100, 1, 4, min, want, prio, 0, out), 4);
	cr_expect_eq(out[0] + out[1] + out[2] + out[3] + 3, 100);
	cr_expect_eq(out[1], 8);
	cr_expect_eq(out[3], 30);
	cr_expect_eq(out[0], 100 - 3 - 8 - 8 - 30);
	/* tight: minimums first, extra by priority */
	cr_expect_eq(lay_columns(35, 1, 4, min, want, prio, -1, out), 4);
	cr_expect_eq(out[0], 12);
	cr_expect_eq(out[1], 6);
	cr_expect_eq(out[3], 8);
	/* too narrow: the least important column is hidden */
	cr_expect_eq(lay_columns(25, 1, 4, min, want, prio, -1, out), 3);
	cr_expect_eq(out[3], 0);
	cr_expect_leq(out[0] + out[1] + out[2] + 2, 25);
	/* one column narrower than its minimum gets what there is */
	cr_expect_eq(lay_columns(5, 1, 1, min, want, prio, -1, out), 1);
	cr_expect_eq(out[0], 5);
}

Test(layout, buckets_fit_the_columns)
{
	cr_expect_eq(lay_bucket(3600, 60, 100), 60);
	cr_expect_eq(lay_bucket(3600, 60, 30), 120);
	cr_expect_eq(lay_bucket(604800, 60, 100), 7200);   /* whole hours: the hourly tier */
	cr_expect_eq(lay_bucket(2592000, 60, 20), 172800); /* whole days */
	cr_expect_eq(lay_bucket(604800, 60, 250), 3600);   /* not 2460: hours */
	cr_expect_eq(lay_bucket(86400, 60, 250), 360);     /* a day stays in minutes */
	cr_expect_leq((604800 + 6060 - 1) / 6060, 100);
	cr_expect_eq(lay_bucket(900, 60, 0), 900);
	cr_expect_eq(lay_bucket(0, 60, 10), 60);
}

Test(layout, ranges)
{
	cr_expect_eq(lay_range_seconds(0), 900);
	cr_expect_eq(lay_range_seconds(4), 604800);
	cr_expect_eq(lay_range_seconds(5), 2592000); /* 30d: read from the tiers */
	cr_expect_eq(lay_range_seconds(9), 2592000);
	cr_expect_str_eq(lay_range_name(1), "1h");
	cr_expect_eq(lay_range_find("24h"), 3);
	cr_expect_eq(lay_range_find("2h"), -1);
}
