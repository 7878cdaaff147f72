/* guard: the listen rule's pure parts -- which addresses are loopback, the
 * refusal line, the bearer check, the unix socket mode check and the
 * loading of token and PEM files with their errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "guard.h"
#include "harness.h"

Test(guard, loopback_addresses)
{
	static const char *const local[] = {"127.0.0.1:7071", "127.3.2.1:1", "localhost:7071",
	                                    "[::1]:7071", "[::ffff:127.0.0.1]:80"};
	static const char *const open[] = {":7071",
	                                   "*:7071",
	                                   "0.0.0.0:7071",
	                                   "10.200.0.1:7071",
	                                   "[::]:7071",
	                                   "[2001:db8::1]:7071",
	                                   "128.0.0.1:7071",
	                                   "example.com:7071",
	                                   "127.0.0.1",
	                                   "[::1",
	                                   "",
	                                   "localhost.evil:1"};
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		cr_expect(guard_hostport_is_local(local[i]), "%s", local[i]);
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		cr_expect(!guard_hostport_is_local(open[i]), "%s", open[i]);
}

Test(guard, the_refusal_is_one_line_naming_address_flag_and_remedy)
{
	char err[512];
	cr_assert_eq(guard_refusal(err, sizeof(err), "10.0.0.1:7071", "--http",
	                           "neither a token (--http-token-file) nor TLS is configured",
	                           "clients"),
	             -1);
	cr_assert_str_eq(err, "refusing to listen on 10.0.0.1:7071 (--http): not a loopback "
	                      "address, and neither a token (--http-token-file) nor TLS is "
	                      "configured; pass --insecure to accept unauthenticated clients from "
	                      "the network");
}

Test(guard, bearer)
{
	cr_expect(guard_bearer_ok("s3cret", "Bearer s3cret"));
	cr_expect(guard_bearer_ok("s3cret", "bearer s3cret"), "the scheme is case-insensitive");
	cr_expect(!guard_bearer_ok("s3cret", NULL));
	cr_expect(!guard_bearer_ok("s3cret", "Bearer s3cre"));
	cr_expect(!guard_bearer_ok("s3cret", "Bearer s3crett"));
	cr_expect(!guard_bearer_ok("s3cret", "Bearer S3cret"));
	cr_expect(!guard_bearer_ok("s3cret", "Bearer "));
	cr_expect(!guard_bearer_ok("s3cret", "Basic s3cret"));
	cr_expect(!guard_bearer_ok("s3cret", "s3cret"));
}

Test(guard, unix_socket_mode)
{
	char *dir = h_tmpdir("guard-unit"), path[600], err[512];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	cr_assert_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(chmod(path, 0660), 0);
	cr_expect_eq(guard_unix_mode_ok(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_expect_eq(guard_unix_mode_ok(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(chmod(path, 0662), 0);
	cr_expect_eq(guard_unix_mode_ok(path, err, sizeof(err)), -1);
	cr_expect(strstr(err, "0662") && strstr(err, "wider than 0660"), "%s", err);
	cr_assert_eq(chmod(path, 0770), 0);
	cr_expect_eq(guard_unix_mode_ok(path, err, sizeof(err)), -1);
	unlink(path);
	cr_expect_eq(guard_unix_mode_ok(path, err, sizeof(err)), -1);
	cr_expect(strstr(err, "cannot check"), "%s", err);
	close(fd);
	h_rmtree(dir);
	free(dir);
}

Test(guard, loading_token_and_pem_files)
{
	char *dir = h_tmpdir("guard-unit"), tok[600], pem[600], txt[600], err[512];
	struct guard_http g;
	snprintf(tok, sizeof(tok), "%s/tok", dir);
	snprintf(pem, sizeof(pem), "%s/x.pem", dir);
	snprintf(txt, sizeof(txt), "%s/x.txt", dir);
	cr_assert_eq(h_write_file(tok, "t0k\n", 4), 0);
	const char *p = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	cr_assert_eq(h_write_file(pem, p, strlen(p)), 0);
	cr_assert_eq(h_write_file(txt, "hello\n", 6), 0);

	cr_assert_eq(guard_http_load(&g, "--http-", NULL, "", NULL, NULL, err, sizeof(err)), 0);
	cr_expect(!guard_http_authenticated(&g));
	cr_expect_str_eq(guard_http_describe(&g), "none");
	guard_http_free(&g);

	cr_assert_eq(guard_http_load(&g, "--http-", tok, NULL, NULL, NULL, err, sizeof(err)), 0);
	cr_expect_str_eq(g.token, "t0k");
	cr_expect_str_eq(guard_http_describe(&g), "token");
	guard_http_free(&g);

	cr_assert_eq(guard_http_load(&g, "--http-", tok, pem, pem, pem, err, sizeof(err)), 0);
	cr_expect_str_eq(guard_http_describe(&g), "tls+client-cert+token");
	guard_http_free(&g);

	cr_expect_eq(guard_http_load(&g, "--http-", NULL, pem, NULL, NULL, err, sizeof(err)), -1);
	cr_expect(strstr(err, "--http-tls-cert and --http-tls-key go together"), "%s", err);
	cr_expect_eq(guard_http_load(&g, "--http-", NULL, NULL, NULL, pem, err, sizeof(err)), -1);
	cr_expect(strstr(err, "--http-tls-ca") && strstr(err, "HTTPS"), "%s", err);
	cr_expect_eq(guard_http_load(&g, "--http-", NULL, txt, pem, NULL, err, sizeof(err)), -1);
	cr_expect(strstr(err, "--http-tls-cert") && strstr(err, "not a PEM file"), "%s", err);
	cr_expect_eq(
	    guard_http_load(&g, "--http-", "/nonexistent/tok", NULL, NULL, NULL, err, sizeof(err)),
	    -1);
	cr_expect(strstr(err, "--http-token-file") && strstr(err, "cannot open"), "%s", err);
	cr_expect_null(g.token);
	h_rmtree(dir);
	free(dir);
}
