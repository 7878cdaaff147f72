/* The simulated clock (common/clock.h, issue 17): with MLWATCH_CLOCK_FILE set,
 * clock_sim_init makes clock_now() follow the Unix time written in the
 * file, re-read as the file changes, while clock_mono() and clock_wall()
 * stay real; an unusable file is refused with what, where and why, never
 * replaced by the real time. Criterion runs each test in its own process,
 * so each one's environment and clock are its own. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "log.h"

/* A clock file in a fresh directory, holding text (written whole, then
 * renamed over the file, as a test stepping the clock does). */
struct clockfile {
	char *dir;
	char path[600];
};

static void cf_write(struct clockfile *cf, const char *text)
{
	char tmp[640];

	snprintf(tmp, sizeof(tmp), "%s.tmp", cf->path);
	cr_assert_eq(h_write_file(tmp, text, strlen(text)), 0);
	cr_assert_eq(rename(tmp, cf->path), 0);
}

static void cf_open(struct clockfile *cf, const char *text)
{
	cf->dir = h_tmpdir("clock");
	cr_assert_not_null(cf->dir);
	snprintf(cf->path, sizeof(cf->path), "%s/now", cf->dir);
	if (text)
		cf_write(cf, text);
	cr_assert_eq(setenv("MLWATCH_CLOCK_FILE", cf->path, 1), 0);
}

static void cf_close(struct clockfile *cf)
{
	h_rmtree(cf->dir);
	free(cf->dir);
}

/* Waits (bounded: 2 s) until clock_now() returns want. */
static bool now_becomes(double want)
{
	double end = h_now() + 2 * h_slow();

	while (h_now() < end) {
		if (clock_now() == want)
			return true;
		h_sleep(0.001);
	}
	return false;
}

Test(clock_file, unset_is_the_real_clock)
{
	char err[256] = "";

	unsetenv("MLWATCH_CLOCK_FILE");
	cr_assert_eq(clock_sim_init(err, sizeof(err)), 0, "%s", err);
	cr_assert_null(clock_sim_path());
	double wall = h_wall(), now = clock_now();
	cr_assert(now >= wall - 1 && now <= wall + 1, "clock_now %.3f, wall %.3f", now, wall);
	cr_assert_float_eq(clock_wait_s(3600), 3600, 0);
}

Test(clock_file, the_time_is_read_and_a_change_picked_up)
{
	struct clockfile cf;
	char err[256] = "";

	cf_open(&cf, "1767225600\n");
	cr_assert_eq(clock_sim_init(err, sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(clock_sim_path(), cf.path);
	cr_assert_eq(clock_now(), 1767225600.0);

	/* the other clocks stay real: a wait is still a wait */
	double m0 = clock_mono(), wall = h_wall();
	h_sleep(0.02);
	cr_assert_gt(clock_mono(), m0 + 0.015);
	cr_assert(fabs(clock_wall() - wall) < 5, "clock_wall %.3f, wall %.3f", clock_wall(), wall);
	cr_assert_eq(clock_now(), 1767225600.0, "the simulated time moved by itself");

	/* stepped by a rename: the very next call has it (a test sends the
	 * batch of the new hour right after) */
	cf_write(&cf, "1767229200.5");
	cr_assert_eq(clock_now(), 1767229200.5, "clock_now %.3f", clock_now());
	for (int i = 0; i < 50; i++) {
		char text[32];
		snprintf(text, sizeof(text), "%d", 1767229200 + i * 3600);
		cf_write(&cf, text);
		cr_assert_eq(clock_now(), 1767229200.0 + i * 3600, "step %d: clock_now %.3f", i,
		             clock_now());
	}
	/* rewritten in place with the same length (the same size, possibly
	 * the same timestamps): seen within a poll */
	FILE *f = fopen(cf.path, "w");
	cr_assert_not_null(f);
	fputs("1767229201.5", f);
	fclose(f);
	cr_assert(now_becomes(1767229201.5), "clock_now %.3f", clock_now());
	/* blanks around the number are fine; it may go back (a test's choice) */
	cf_write(&cf, "  1767225600.25 \n\n");
	cr_assert(now_becomes(1767225600.25), "clock_now %.3f", clock_now());

	/* waits for simulated spans are short real polls */
	cr_assert_float_eq(clock_wait_s(3600), 0.05, 1e-12);
	cr_assert_float_eq(clock_wait_s(0.01), 0.01, 1e-12);
	cf_close(&cf);
}

/* One refusal: init fails with err containing want, and the clock is real. */
static void refused(const char *content, const char *want)
{
	struct clockfile cf;
	char err[512] = "", where[700];

	cf_open(&cf, content);
	cr_assert_eq(clock_sim_init(err, sizeof(err)), -1, "accepted %s",
	             content ? content : "(no file)");
	snprintf(where, sizeof(where), "MLWATCH_CLOCK_FILE=%s: ", cf.path);
	cr_assert(strncmp(err, where, strlen(where)) == 0, "%s", err);
	cr_assert(strstr(err, want), "'%s' does not say '%s'", err, want);
	cr_assert_null(clock_sim_path());
	cr_assert_gt(clock_now(), 1.7e9);
	cf_close(&cf);
}

Test(clock_file, an_unusable_file_is_refused_with_the_reason)
{
	char err[256] = "", big[200];

	refused(NULL, "cannot open: No such file or directory");
	refused("", "empty: no Unix time in it");
	refused(" \n", "empty: no Unix time in it");
	refused("abc\n", "'abc' is not a Unix time in decimal seconds");
	refused("1e9", "'1e9' is not a Unix time in decimal seconds");
	refused("0x10", "'0x10' is not a Unix time");
	refused("-5", "'-5' is not a Unix time");
	refused("inf", "'inf' is not a Unix time");
	refused("12 34", "'12 34' is not a Unix time");
	refused("17.", "'17.' is not a Unix time");
	refused("1767225600\x1b[2J", "'1767225600?[2J' is not a Unix time");
	refused("0", "0 is out of range");
	refused("99999999999999", "99999999999999 is out of range");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '1';
	refused(big, "longer than 63 bytes");

	/* set but empty: not the real clock in disguise */
	cr_assert_eq(setenv("MLWATCH_CLOCK_FILE", "", 1), 0);
	cr_assert_eq(clock_sim_init(err, sizeof(err)), -1);
	cr_assert_str_eq(err, "MLWATCH_CLOCK_FILE is set but empty (unset it for the real clock)");
}

Test(clock_file, a_file_garbled_later_keeps_the_last_time_and_says_so)
{
	struct clockfile cf;
	char err[256] = "", logp[700];
	FILE *lf;

	cf_open(&cf, "1767225600");
	snprintf(logp, sizeof(logp), "%s/log", cf.dir);
	lf = fopen(logp, "w+");
	cr_assert_not_null(lf);
	log_set_stream(lf);
	cr_assert_eq(clock_sim_init(err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(clock_now(), 1767225600.0);

	cf_write(&cf, "soon");
	/* several polls' worth: the time stays, one warning is written */
	for (double end = h_now() + 0.05; h_now() < end;)
		cr_assert_eq(clock_now(), 1767225600.0);
	unlink(cf.path);
	for (double end = h_now() + 0.05; h_now() < end;)
		cr_assert_eq(clock_now(), 1767225600.0);
	fflush(lf);
	cr_assert_eq(h_count_in_file(logp, "simulated clock unreadable, keeping the last time"), 1);
	char *log = h_read_file(logp, NULL);
	cr_assert(log && strstr(log, "time=1767225600.000 error=\"'soon' is not a Unix time"), "%s",
	          log ? log : "");
	free(log);

	cf_write(&cf, "1767225660");
	cr_assert(now_becomes(1767225660), "clock_now %.3f", clock_now());
	fflush(lf);
	cr_assert_eq(h_count_in_file(logp, "simulated clock readable again"), 1);
	log_set_stream(NULL);
	fclose(lf);
	cf_close(&cf);
}

/* Both deadline helpers share one computation: now on their clock plus s,
 * nanoseconds carried into seconds, s <= 0 meaning now. */
Test(clock_deadline, mono_and_wall_are_now_plus_s_on_their_clocks)
{
	struct timespec before, d, after;
	const double spans[] = {0, -1, 0.05, 0.999999999, 2.5};

	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		double s = spans[i] > 0 ? spans[i] : 0;

		clock_gettime(CLOCK_MONOTONIC, &before);
		clock_mono_deadline(spans[i], &d);
		clock_gettime(CLOCK_MONOTONIC, &after);
		cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
		double t = d.tv_sec + d.tv_nsec / 1e9;
		cr_assert(t >= before.tv_sec + before.tv_nsec / 1e9 + s - 1e-6 &&
		              t <= after.tv_sec + after.tv_nsec / 1e9 + s + 1e-6,
		          "monotonic, s = %g", spans[i]);

		clock_gettime(CLOCK_REALTIME, &before);
		clock_wall_deadline(spans[i], &d);
		clock_gettime(CLOCK_REALTIME, &after);
		cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
		t = d.tv_sec + d.tv_nsec / 1e9;
		cr_assert(t >= before.tv_sec + before.tv_nsec / 1e9 + s - 1e-6 &&
		              t <= after.tv_sec + after.tv_nsec / 1e9 + s + 1e-6,
		          "wall, s = %g", spans[i]);
	}
}
