/* spool: FIFO order, survival across reopen, acknowledgement in any order,
 * a bound that drops the oldest and counts exactly, torn and corrupt
 * records skipped and counted, consumed segments deleted; crc32c values. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "harness.h"
#include "spool.h"
#include "stats.h"

static char *dir;

static void setup(void)
{
	char *base = h_tmpdir("spool");
	cr_assert_not_null(base);
	cr_assert(asprintf(&dir, "%s/sp", base) > 0);
	free(base);
	stats_reset();
}

static void teardown(void)
{
	char *base = strdup(dir);
	*strrchr(base, '/') = '\0';
	h_rmtree(base);
	free(base);
	free(dir);
}

static struct spool *open_sp(uint64_t max)
{
	char err[256];
	struct spool *s = spool_open(dir, max, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	return s;
}

/* A payload of len bytes derived from seq, so content can be checked. */
static void payload(uint64_t seq, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i);
}

static void append(struct spool *s, uint64_t seq, size_t len, struct spool_drop *d)
{
	uint8_t *buf = malloc(len);
	payload(seq, buf, len);
	cr_assert_geq(spool_append(s, seq, buf, len, (uint32_t)seq, 1, seq * 2, d), 0);
	free(buf);
}

static void expect_read(struct spool *s, uint64_t seq, size_t len, struct spool_record *rec)
{
	uint8_t *want = malloc(len);
	payload(seq, want, len);
	cr_assert_eq(spool_read(s, rec), 0, "record %llu readable", (unsigned long long)seq);
	cr_expect_eq(rec->seq, seq);
	cr_expect_eq(rec->len, len);
	cr_expect_eq(rec->n_events, (uint32_t)seq);
	cr_expect_eq(rec->n_counted, seq * 2);
	cr_expect(memcmp(rec->buf, want, len) == 0, "payload of %llu intact",
	          (unsigned long long)seq);
	free(want);
}

static size_t count_segments(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".spool") != NULL;
	closedir(d);
	return n;
}

Test(crc32c, known_values)
{
	/* RFC 3720 / iSCSI check value. */
	cr_expect_eq(crc32c(0, "123456789", 9), 0xe3069283u);
	uint8_t zeros[32] = {0};
	cr_expect_eq(crc32c(0, zeros, 32), 0x8a9136aau);
	/* Incremental == one shot. */
	cr_expect_eq(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xe3069283u);
}

/* Whichever way it is computed (the CPU's instruction here, tables
 * elsewhere): every length and alignment equals the bit-by-bit
 * definition, and any split of a buffer equals one pass. */
Test(crc32c, equals_the_bitwise_definition_at_every_length_and_alignment)
{
	uint8_t buf[600];
	uint64_t r = 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < sizeof(buf); i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		buf[i] = (uint8_t)r;
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= 520; len += 1 + len / 16) {
			uint32_t want = 0xffffffffu;
			for (size_t i = 0; i < len; i++) {
				want ^= buf[off + i];
				for (int k = 0; k < 8; k++)
					want = want & 1 ? (want >> 1) ^ 0x82f63b78u : want >> 1;
			}
			want = ~want;
			cr_assert_eq(crc32c(0, buf + off, len), want, "off %zu len %zu", off, len);
			size_t cut = len / 3;
			cr_assert_eq(crc32c(crc32c(0, buf + off, cut), buf + off + cut, len - cut),
			             want);
		}
}

Test(spool, fifo_order_and_reopen_replays_what_was_not_acked, .init = setup, .fini = teardown)
{
	struct spool_drop d = {0};
	struct spool_record r;
	struct spool *s = open_sp(1 << 20);

	for (uint64_t i = 1; i <= 5; i++)
		append(s, i, 100 * i, &d);
	cr_expect_eq(spool_records(s), 5);
	cr_expect_eq(spool_bytes(s), 5 * SPOOL_HEADER + 1500);
	expect_read(s, 1, 100, &r);
	cr_assert_eq(spool_ack(s, &r.pos), 0);
	free(r.buf);
	expect_read(s, 2, 200, &r); /* read, never acknowledged */
	free(r.buf);
	spool_close(s);

	s = open_sp(1 << 20);
	cr_expect_eq(spool_records(s), 4, "record 2 was not acknowledged: replayed");
	for (uint64_t i = 2; i <= 5; i++) {
		expect_read(s, i, 100 * i, &r);
		cr_assert_eq(spool_ack(s, &r.pos), 0);
		free(r.buf);
	}
	cr_expect_eq(spool_read(s, &r), 1, "empty");
	cr_expect_eq(spool_bytes(s), 0);
	cr_expect_eq(d.batches, 0);
	spool_close(s);
	s = open_sp(1 << 20);
	cr_expect_eq(spool_records(s), 0);
	spool_close(s);
}

Test(spool, acks_in_any_order, .init = setup, .fini = teardown)
{
	struct spool_drop d = {0};
	struct spool_record r[3];
	struct spool *s = open_sp(1 << 20);

	for (uint64_t i = 1; i <= 4; i++)
		append(s, i, 64, &d);
	for (int i = 0; i < 3; i++)
		expect_read(s, (uint64_t)i + 1, 64, &r[i]);
	cr_assert_eq(spool_ack(s, &r[2].pos), 0);
	cr_assert_eq(spool_ack(s, &r[0].pos), 0);
	cr_expect_eq(spool_ack(s, &r[0].pos), -ENOENT, "a second ack is refused");
	spool_close(s); /* 2 is outstanding: 2 and 4 come back (3 too: behind 2) */
	s = open_sp(1 << 20);
	struct spool_record x;
	for (uint64_t seq = 2; seq <= 4; seq++) {
		expect_read(s, seq, 64, &x);
		free(x.buf);
	}
	cr_expect_eq(spool_read(s, &x), 1, "nothing after 4 (1 was acked before the close)");
	for (int i = 0; i < 3; i++)
		free(r[i].buf);
	spool_close(s);
}

Test(spool, bound_drops_oldest_unread_and_counts_exactly, .init = setup, .fini = teardown)
{
	struct spool_drop d = {0};
	struct spool_record r;
	const size_t len = 4000, rec = len + SPOOL_HEADER, max = 65536;
	struct spool *s = open_sp(max);
	uint64_t n = 100;

	for (uint64_t i = 1; i <= n; i++)
		append(s, i, len, &d);
	cr_expect_leq(spool_bytes(s), max);
	uint64_t kept = spool_records(s);
	cr_expect_eq(kept, max / rec, "as many records as fit");
	cr_expect_eq(d.batches + kept, n);
	/* Exactly the oldest went: their n_events were seq 1..dropped. */
	cr_expect_eq(d.events, d.batches * (d.batches + 1) / 2);
	cr_expect_eq(d.labels, d.batches);
	cr_expect_eq(d.counted, d.batches * (d.batches + 1));
	for (uint64_t i = d.batches + 1; i <= n; i++) {
		expect_read(s, i, len, &r);
		spool_ack(s, &r.pos);
		free(r.buf);
	}
	cr_expect_eq(spool_read(s, &r), 1);
	cr_expect_leq(count_segments(), 1, "consumed segments deleted");
	/* A record larger than the whole spool is refused and counted. */
	struct spool_drop d2 = {0};
	uint8_t *big = calloc(1, max);
	cr_expect_eq(spool_append(s, 999, big, max, 7, 0, 9, &d2), 1);
	cr_expect_eq(d2.batches, 1);
	cr_expect_eq(d2.events, 7);
	free(big);
	spool_close(s);
}

static char *last_segment_path(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char best[300] = "";
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".spool") && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	char *p;
	cr_assert(asprintf(&p, "%s/%s", dir, best) > 0);
	return p;
}

Test(spool, torn_tail_is_cut_and_counted, .init = setup, .fini = teardown)
{
	struct spool_drop d = {0};
	struct spool_record r;
	struct spool *s = open_sp(1 << 20);

	for (uint64_t i = 1; i <= 3; i++)
		append(s, i, 500, &d);
	spool_close(s);
	char *seg = last_segment_path();
	struct stat st;
	cr_assert_eq(stat(seg, &st), 0);
	cr_assert_eq(truncate(seg, st.st_size - 100), 0, "a write torn by a crash");
	s = open_sp(1 << 20);
	cr_expect_eq(stats_get(ST_SPOOL_CORRUPT), 1);
	cr_expect_eq(spool_records(s), 2);
	expect_read(s, 1, 500, &r);
	free(r.buf);
	expect_read(s, 2, 500, &r);
	free(r.buf);
	cr_expect_eq(spool_read(s, &r), 1);
	/* Appending after the cut works and is read back. */
	append(s, 4, 10, &d);
	expect_read(s, 4, 10, &r);
	free(r.buf);
	spool_close(s);
	free(seg);
}

Test(spool, corrupt_record_in_the_middle_is_skipped, .init = setup, .fini = teardown)
{
	struct spool_drop d = {0};
	struct spool_record r;
	struct spool *s = open_sp(1 << 20);

	for (uint64_t i = 1; i <= 3; i++)
		append(s, i, 300, &d);
	spool_close(s);
	char *seg = last_segment_path();
	int fd = open(seg, O_RDWR);
	cr_assert(fd >= 0);
	/* Flip a payload byte of record 2. */
	off_t off = (off_t)(SPOOL_HEADER + 300 + SPOOL_HEADER + 17);
	uint8_t b;
	cr_assert_eq(pread(fd, &b, 1, off), 1);
	b ^= 0xff;
	cr_assert_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
	s = open_sp(1 << 20);
	expect_read(s, 1, 300, &r);
	spool_ack(s, &r.pos);
	free(r.buf);
	expect_read(s, 3, 300, &r);
	spool_ack(s, &r.pos);
	free(r.buf);
	cr_expect_eq(stats_get(ST_SPOOL_CORRUPT), 1);
	cr_expect_eq(spool_read(s, &r), 1);
	cr_expect_eq(spool_bytes(s), 0);
	spool_close(s);
	free(seg);
}

Test(spool, many_segments_roll_over_and_are_deleted, .init = setup, .fini = teardown)
{
	struct spool_drop d = {0};
	struct spool_record r;
	struct spool *s = open_sp(256 * 1024); /* 32 KiB segments */

	for (uint64_t i = 1; i <= 40; i++)
		append(s, i, 5000, &d);
	cr_expect_gt(count_segments(), 3);
	for (uint64_t i = 1; i <= 40; i++) {
		expect_read(s, i, 5000, &r);
		cr_assert_eq(spool_ack(s, &r.pos), 0);
		free(r.buf);
	}
	cr_expect_eq(d.batches, 0);
	cr_expect_eq(count_segments(), 1);
	cr_expect_eq(spool_bytes(s), 0);
	spool_close(s);
	s = open_sp(256 * 1024);
	cr_expect_eq(spool_records(s), 0, "the cursor was saved");
	spool_close(s);
}
