/* tail_lines: the tail reader's line splitting (terminated and final
 * lines, CRLF, blanks), buffer growth, and over-long lines counted once
 * however many reads they span. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../../agent/tail_lines.h"

Test(tail_lines, splits_on_newlines_and_waits_for_the_last)
{
	const char *b = "{\"a\":1}\n\r\n{\"b\":2}";
	size_t n = strlen(b), len = 99, next;

	next = tail_lines_next(b, n, 0, false, &len);
	cr_assert_eq(next, 8);
	cr_assert_eq(len, 7);
	next = tail_lines_next(b, n, 8, false, &len);
	cr_assert_eq(next, 10);
	cr_assert_eq(len, 1); /* the '\r' stays; the line is blank */
	cr_assert(tail_lines_blank(b + 8, len));
	/* no newline yet: not a line unless the file is finished */
	len = 99;
	cr_assert_eq(tail_lines_next(b, n, 10, false, &len), 0);
	cr_assert_eq(len, 99);
	cr_assert_eq(tail_lines_next(b, n, 10, true, &len), n);
	cr_assert_eq(len, 7);
	cr_assert_eq(tail_lines_next(b, n, n, true, &len), 0);
	/* an empty line right at the start */
	cr_assert_eq(tail_lines_next("\nx", 2, 0, false, &len), 1);
	cr_assert_eq(len, 0);
}

Test(tail_lines, blank_is_only_spaces_tabs_and_cr)
{
	cr_assert(tail_lines_blank("", 0));
	cr_assert(tail_lines_blank(" \t\r ", 4));
	cr_assert_not(tail_lines_blank(" {} ", 4));
	cr_assert_not(tail_lines_blank("\v", 1));
}

Test(tail_lines, grow_doubles_until_a_chunk_fits)
{
	cr_assert_eq(tail_lines_grow(0, 0, 65536), 131072);
	cr_assert_eq(tail_lines_grow(131072, 65536, 65536), 131072);
	cr_assert_eq(tail_lines_grow(131072, 65537, 65536), 262144);
	cr_assert_eq(tail_lines_grow(131072, 131072, 65536), 262144);
	cr_assert_eq(tail_lines_grow(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 1, 65536), 0);
	cr_assert_eq(tail_lines_grow(10, 11, 1), 0); /* blen past cap */
}

/* Before the fix a line of 4 reads past max_line counted 4 rejections
 * (ingest_tail.c reset the buffer and counted on every read). */
Test(tail_lines, an_overlong_line_is_counted_once)
{
	bool skipping = false;
	int counted = 0;

	cr_assert_eq(tail_lines_overlong(100, 1024, &skipping), TAIL_KEEP);
	cr_assert_not(skipping);
	for (int read = 0; read < 4; read++) {
		enum tail_overlong o = tail_lines_overlong(65536, 1024, &skipping);
		cr_assert_neq(o, TAIL_KEEP);
		counted += o == TAIL_DROP_NEW;
	}
	cr_assert_eq(counted, 1);
	cr_assert(skipping);
	/* a skipped line still short of the limit in this read is kept
	 * (its end will come) */
	cr_assert_eq(tail_lines_overlong(10, 1024, &skipping), TAIL_KEEP);
	skipping = false; /* its newline came */
	cr_assert_eq(tail_lines_overlong(4096, 1024, &skipping), TAIL_DROP_NEW);
}
