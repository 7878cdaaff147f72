/* listen: which addresses count as local, and the start-up rule for open
 * addresses, TLS files and URL schemes. */
#include <criterion/criterion.h>
#include <string.h>

#include "listen.h"

Test(listen, local_addresses)
{
	cr_assert(listen_url_is_local("tcp://127.0.0.1:7070"));
	cr_assert(listen_url_is_local("tcp://127.3.2.1:7070"));
	cr_assert(listen_url_is_local("tcp://localhost:7070"));
	cr_assert(listen_url_is_local("tcp://[::1]:7070"));
	cr_assert(listen_url_is_local("ipc:///run/mlwatch.sock"));
	cr_assert(listen_url_is_local("tls+tcp://127.0.0.1:7070"));
	cr_assert(!listen_url_is_local("tcp://0.0.0.0:7070"));
	cr_assert(!listen_url_is_local("tcp://:7070"));
	cr_assert(!listen_url_is_local("tcp://*:7070"));
	cr_assert(!listen_url_is_local("tcp://[::]:7070"));
	cr_assert(!listen_url_is_local("tcp://10.0.0.5:7070"));
	cr_assert(!listen_url_is_local("tcp://collector.example:7070"));
	cr_assert(!listen_url_is_local("garbage"));
}

Test(listen, start_up_rule)
{
	char err[512];
	struct listen_opts o = {.url = "tcp://0.0.0.0:7070", .max_message = 1 << 20};

	cr_assert_eq(listen_check(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "refusing to listen on tcp://0.0.0.0:7070"), "%s", err);
	o.insecure = true;
	cr_assert_eq(listen_check(&o, err, sizeof(err)), 0);
	o.insecure = false;
	o.have_token = true;
	cr_assert_eq(listen_check(&o, err, sizeof(err)), 0);
	o.have_token = false;
	o.url = "tls+tcp://0.0.0.0:7070";
	cr_assert_eq(listen_check(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "needs --tls-cert and --tls-key"), "%s", err);
	o.tls_cert = "c.pem";
	o.tls_key = "k.pem";
	cr_assert_eq(listen_check(&o, err, sizeof(err)), 0);
	o.tls_verify_clients = true;
	cr_assert_eq(listen_check(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "needs --tls-ca"), "%s", err);
	o.url = "tcp://127.0.0.1:7070";
	o.tls_verify_clients = false;
	cr_assert_eq(listen_check(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is not tls+tcp://"), "%s", err);
	o.tls_cert = o.tls_key = "";
	o.url = "ws://127.0.0.1:7070";
	cr_assert_eq(listen_check(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "unsupported URL"), "%s", err);
}
