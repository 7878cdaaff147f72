/* mlwatchd over tls+tcp:// with certificates the test makes with the
 * openssl CLI: server verified by the client, optional client
 * certificates, and TLS accepted on an open address without --insecure. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"
#include "clock.h"

struct pki {
	char ca[600], ca_key[600], srv[600], srv_key[600], cli[600], cli_key[600];
};

static void sh(const char *dir, const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full), "cd '%s' && %s >>openssl.log 2>&1", dir, cmd);
	cr_assert_eq(system(full), 0, "%s (see %s/openssl.log)", cmd, dir);
}

/* An EC P-256 CA, a server certificate for localhost/127.0.0.1 and a
 * client certificate, all signed by the CA, valid for a day. */
static void make_pki(const char *dir, struct pki *p)
{
	static const char *const ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	char cmd[1024];

	h_write_file((snprintf(cmd, sizeof(cmd), "%s/san.ext", dir), cmd),
	             "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
	             strlen("subjectAltName=DNS:localhost,IP:127.0.0.1\n"));
	snprintf(
	    cmd, sizeof(cmd),
	    "openssl req -x509 %s -keyout ca.key -out ca.crt -days 1 -subj /CN=mlwatch-test-ca",
	    ec);
	sh(dir, cmd);
	snprintf(cmd, sizeof(cmd),
	         "openssl req %s -keyout srv.key -out srv.csr -subj /CN=localhost", ec);
	sh(dir, cmd);
	sh(dir, "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	        "-out srv.crt -days 1 -extfile san.ext");
	snprintf(cmd, sizeof(cmd), "openssl req %s -keyout cli.key -out cli.csr -subj /CN=agent-1",
	         ec);
	sh(dir, cmd);
	sh(dir, "openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	        "-out cli.crt -days 1");
	snprintf(p->ca, sizeof(p->ca), "%s/ca.crt", dir);
	snprintf(p->ca_key, sizeof(p->ca_key), "%s/ca.key", dir);
	snprintf(p->srv, sizeof(p->srv), "%s/srv.crt", dir);
	snprintf(p->srv_key, sizeof(p->srv_key), "%s/srv.key", dir);
	snprintf(p->cli, sizeof(p->cli), "%s/cli.crt", dir);
	snprintf(p->cli_key, sizeof(p->cli_key), "%s/cli.key", dir);
}

/* One batch of 5 events; returns the reply status, or -1 without reply. */
static int try_send(const char *url, const struct wc_tls *tls, uint64_t seq, double timeout)
{
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	uint8_t *buf;
	size_t len;
	char err[256];
	int rc = -1;

	if (wc_open(&cl, url, tls, timeout * cproc_slow(), err, sizeof(err)))
		return -1;
	wc_batch_init(&wb, "tls-agent", seq, NULL);
	for (int k = 0; k < 5; k++)
		wc_batch_event(&wb, "m", NULL, clock_now() - 1, 1, false, NULL, 0, wc_num(1), 0.5,
		               wc_none());
	wc_batch_encode(&wb, &buf, &len);
	if (wc_request(cl, buf, len, &r, err, sizeof(err)) == 0)
		rc = (int)r.status;
	free(buf);
	wc_batch_free(&wb);
	wc_close(cl);
	return rc;
}

Test(tls, server_certificate_verified_by_the_agent)
{
	struct cproc c;
	struct pki p;
	char url[64];

	cproc_init(&c, "coll-tls");
	make_pki(c.dir, &p);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", c.port);
	const char *args[] = {"--listen", url, "--tls-cert", p.srv, "--tls-key", p.srv_key, NULL};
	cr_assert_eq(cproc_start(&c, args), 0, "see %s", c.log);

	struct wc_tls good = {.ca = p.ca};
	cr_assert_eq(try_send(url, &good, 1, 10), WIRE_OK);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 5);
	/* a client that trusts another CA refuses the server: nothing sent */
	struct wc_tls wrong = {.ca = p.cli};
	cr_assert_eq(try_send(url, &wrong, 2, 1.5), -1);
	/* plain TCP to a TLS port gets nowhere either */
	char plain[64];
	snprintf(plain, sizeof(plain), "tcp://127.0.0.1:%d", c.port);
	cr_assert_eq(try_send(plain, NULL, 3, 1.5), -1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 5);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

Test(tls, client_certificates_required_when_configured)
{
	struct cproc c;
	struct pki p;
	char url[64];

	cproc_init(&c, "coll-mtls");
	make_pki(c.dir, &p);
	/* an open address: TLS alone satisfies the start-up rule */
	snprintf(url, sizeof(url), "tls+tcp://0.0.0.0:%d", c.port);
	const char *args[] = {
	    "--listen", url,  "--tls-cert",           p.srv, "--tls-key", p.srv_key,
	    "--tls-ca", p.ca, "--tls-verify-clients", NULL};
	cr_assert_eq(cproc_start(&c, args), 0, "see %s", c.log);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", c.port);

	struct wc_tls with_cert = {.ca = p.ca, .cert = p.cli, .key = p.cli_key};
	cr_assert_eq(try_send(url, &with_cert, 1, 10), WIRE_OK);
	struct wc_tls without = {.ca = p.ca};
	cr_assert_eq(try_send(url, &without, 2, 1.5), -1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 5);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM batches_seen"), 1);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

Test(tls, misconfigurations_are_refused_at_start)
{
	struct cproc c;
	char url[64], *log;

	cproc_init(&c, "coll-tlsbad");
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", c.port);
	const char *nocert[] = {"--db", c.db, "--listen", url, "--http", "off", NULL};
	cr_assert_eq(cproc_run(&c, nocert, 10), 2);
	log = h_read_file(c.log, NULL);
	cr_assert(strstr(log, "needs --tls-cert and --tls-key"), "%s", log);
	free(log);
	const char *tcp_with_files[] = {"--db",         c.db,        "--tls-cert",
	                                "/nonexistent", "--tls-key", "/nonexistent",
	                                "--http",       "off",       NULL};
	cr_assert_eq(cproc_run(&c, tcp_with_files, 10), 2);
	log = h_read_file(c.log, NULL);
	cr_assert(strstr(log, "is not tls+tcp://"), "%s", log);
	free(log);
	const char *missing[] = {"--db",       c.db,           "--listen",  url,
	                         "--tls-cert", "/nonexistent", "--tls-key", "/nonexistent",
	                         "--http",     "off",          NULL};
	cr_assert_eq(cproc_run(&c, missing, 10), 1);
	log = h_read_file(c.log, NULL);
	cr_assert(strstr(log, "/nonexistent: cannot open"), "%s", log);
	free(log);
	cproc_cleanup(&c);
}
