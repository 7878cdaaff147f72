/* leader (collector/leader.h) without a server: the configuration it
 * refuses, its defaults, and a node that cannot reach PostgreSQL is never
 * leader. The election itself runs against a real cluster in
 * tests/integration/test_leader.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "leader.h"
#include "log.h"

Test(leader_unit, refuses_what_cannot_work)
{
	char err[256];
	struct leader_config c = {.conninfo = ""};
	cr_assert_null(leader_new(&c, err, sizeof(err)));
	cr_assert(strstr(err, "needs a PostgreSQL store"), "%s", err);

	c.conninfo = "postgresql://u@127.0.0.1:1/db";
	c.lease_s = 0.5;
	cr_assert_null(leader_new(&c, err, sizeof(err)));
	cr_assert(strstr(err, "lease 0.50 s"), "%s", err);

	/* A heartbeat slower than half the lease would let the server end a
	 * healthy leader's session. */
	c.lease_s = 4;
	c.heartbeat_s = 3;
	cr_assert_null(leader_new(&c, err, sizeof(err)));
	cr_assert(strstr(err, "heartbeat 3.00 s"), "%s", err);

	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	c.heartbeat_s = 0;
	c.node = longname;
	cr_assert_null(leader_new(&c, err, sizeof(err)));
	cr_assert(strstr(err, "node name longer"), "%s", err);
}

Test(leader_unit, defaults_and_an_unreachable_server)
{
	char err[256], want[128], host[64] = "";
	/* Port 1 on loopback: refused at once. */
	struct leader_config c = {.conninfo = "postgresql://u:secret@127.0.0.1:1/db"};
	FILE *logf = tmpfile();
	cr_assert_not_null(logf);
	log_set_stream(logf);
	struct leader *l = leader_new(&c, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	gethostname(host, sizeof(host) - 1);
	snprintf(want, sizeof(want), "%s:%ld", host, (long)getpid());
	cr_assert_str_eq(leader_node(l), want, "default node name HOST:PID");
	cr_assert_eq(leader_start(l, err, sizeof(err)), 0, "%s", err);
	h_sleep(1.2); /* three attempts at least, 0.5 s apart */
	cr_assert_not(leader_is_leader(l));
	cr_assert_eq(leader_epoch(l), 0);
	cr_assert_eq(leader_terms(l), 0);
	leader_step_down(l, "test"); /* harmless when not leading */
	leader_free(l);
	leader_free(NULL);
	log_set_stream(stderr);

	/* One line for the outage, and the password in the URI never. */
	char text[4096] = "";
	rewind(logf);
	size_t n = fread(text, 1, sizeof(text) - 1, logf);
	text[n] = '\0';
	fclose(logf);
	cr_assert(strstr(text, "cannot reach PostgreSQL; retrying every 0.5 s"), "%s", text);
	cr_assert_null(strstr(strstr(text, "cannot reach") + 1, "cannot reach"),
	               "the outage is logged once: %s", text);
	cr_assert_null(strstr(text, "secret"), "password leaked: %s", text);
	cr_assert_null(strstr(text, "stepping down"), "no step-down when not leading: %s", text);
	cr_assert_not(leader_is_leader(NULL));

	leader_writer_options(10, want, sizeof(want));
	cr_assert_str_eq(want, "-c idle_in_transaction_session_timeout=10000");
}
