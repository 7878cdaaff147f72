/* Unit tests for common/text, common/clock and common/log. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "text.h"

Test(text, utf8_validity)
{
	cr_assert(text_utf8_valid("plain", 5));
	cr_assert(text_utf8_valid("gr\xc3\xb6\xc3\x9f"
	                          "e",
	                          7));
	cr_assert(text_utf8_valid("\xf0\x9f\x98\x80", 4));     /* emoji */
	cr_assert_not(text_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	cr_assert_not(text_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	cr_assert_not(text_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	cr_assert_not(text_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	cr_assert_not(text_utf8_valid("\xe2\x82", 2));         /* truncated */
	cr_assert_not(text_utf8_valid("\x80", 1));
	cr_assert_not(text_utf8_valid("\xff", 1));
}

Test(text, printable)
{
	cr_assert(text_printable("amount (EUR)", 12));
	cr_assert_not(text_printable("a\tb", 3));
	cr_assert_not(text_printable("a\x7f", 2));
	cr_assert_not(text_printable("\xc2\x9b", 2)); /* C1 CSI */
	cr_assert(text_printable("\xc2\xa0", 2));     /* NBSP is printable */
}

Test(text, sanitize_for_terminals)
{
	char buf[64];
	cr_assert_str_eq(text_sanitize(buf, sizeof(buf), "\x1b[2Jgone"), "?[2Jgone");
	cr_assert_str_eq(text_sanitize(buf, sizeof(buf), "ok \xc3\xa9"), "ok \xc3\xa9");
	cr_assert_str_eq(text_sanitize(buf, sizeof(buf), "bad\xff!"), "bad?!");
	cr_assert_str_eq(text_sanitize(buf, 4, "abcdef"), "abc");
	cr_assert_str_eq(text_sanitize(buf, 3, "\xc3\xa9\xc3\xa9"), "\xc3\xa9"); /* no split char */
}

Test(clock, rfc3339)
{
	double t;
	cr_assert_eq(clock_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
	cr_assert_float_eq(t, 0, 0);
	cr_assert_eq(clock_parse_rfc3339("2024-02-29T23:59:59.5-01:30", &t), 0);
	cr_assert_float_eq(t, 1709256599.5, 1e-6);
	cr_assert_eq(clock_parse_rfc3339("2023-02-29T00:00:00Z", &t), -1);
	cr_assert_eq(clock_parse_rfc3339("2024-01-01T24:00:00Z", &t), -1);
	cr_assert_eq(clock_parse_rfc3339("2024-01-01T00:00:00.Z", &t), -1);
	cr_assert_eq(clock_parse_rfc3339("2024-01-01T00:00:00+0100", &t), -1);
	cr_assert_eq(clock_parse_rfc3339("2024-01-01", &t), -1);
	cr_assert_eq(clock_parse_rfc3339("2024-01-01T00:00:00Zjunk", &t), -1);
	char buf[40];
	cr_assert_str_eq(clock_format_rfc3339(1764072000.123, buf, sizeof(buf)),
	                 "2025-11-25T12:00:00.123Z");
	cr_assert_eq(clock_parse_rfc3339(buf, &t), 0);
	cr_assert_float_eq(t, 1764072000.123, 1e-6);
	cr_assert_gt(clock_now(), 1.7e9);
	cr_assert_gt(clock_mono(), 0);
}

Test(log, format_and_quote)
{
	char path[] = "/tmp/mlwatch-log-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w+");
	char line[512], q[64];

	log_set_stream(f);
	log_set_level(LOG_INFO);
	log_debug("test", "hidden");
	log_info("test", "batch stored agent=%s seq=%d", log_quote(q, sizeof(q), "a b\"\n"), 42);
	log_set_stream(NULL);
	rewind(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	/* 2026-11-25T12:00:00.123Z info test batch stored agent="a b\"\x0a" seq=42 */
	cr_assert_eq(strlen(line) > 25 && line[4] == '-' && line[10] == 'T' && line[23] == 'Z', 1,
	             "%s", line);
	cr_assert(strstr(line, " info test batch stored agent=\"a b\\\"\\x0a\" seq=42\n"), "%s",
	          line);
	enum log_level lv;
	cr_assert_eq(log_level_parse("warn", &lv), 0);
	cr_assert_eq(lv, LOG_WARN);
	cr_assert_eq(log_level_parse("verbose", &lv), -1);
	cr_assert_str_eq(log_quote(q, sizeof(q), "plain"), "plain");
	cr_assert_str_eq(log_quote(q, sizeof(q), ""), "\"\"");
}
