/* guard: see guard.h. */
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"

#define PEM_MAX (1 << 20)

bool guard_host_is_local(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

bool guard_hostport_is_local(const char *hp)
{
	char host[256];
	const char *end;
	size_t n;

	if (hp[0] == '[') {
		end = strchr(hp, ']');
		if (!end)
			return false;
		hp++;
	} else {
		end = strrchr(hp, ':');
		if (!end)
			return false;
	}
	n = (size_t)(end - hp);
	if (n == 0 || n >= sizeof(host))
		return false; /* ":7071" means every interface */
	memcpy(host, hp, n);
	host[n] = '\0';
	return guard_host_is_local(host);
}

int guard_refusal(char *err, size_t errlen, const char *addr, const char *flag, const char *missing,
                  const char *whom)
{
	snprintf(err, errlen,
	         "refusing to listen on %s (%s): not a loopback address, and %s; pass "
	         "--insecure to accept unauthenticated %s from the network",
	         addr, flag, missing, whom);
	return -1;
}

int guard_unix_mode_ok(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "unix:%s: cannot check its mode: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 07777 & ~(mode_t)0660) != 0) {
		snprintf(err, errlen,
		         "unix:%s: socket mode %04o is wider than 0660 (others could send); put it "
		         "on a file system that keeps the mode, or pass --insecure",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static bool set(const char *s)
{
	return s && *s;
}

static char *read_pem(const char *flag, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s %s: cannot open: %s", flag, path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || n > PEM_MAX ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s %s: empty, unreadable or larger than 1 MiB", flag, path);
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s %s: read error", flag, path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	if (!strstr(buf, "-----BEGIN ")) {
		snprintf(err, errlen, "%s %s: not a PEM file (no -----BEGIN line)", flag, path);
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void guard_http_free(struct guard_http *g)
{
	wipe_free(g->token);
	wipe_free(g->key);
	free(g->cert);
	free(g->ca);
	memset(g, 0, sizeof(*g));
}

int guard_http_load(struct guard_http *g, const char *pfx, const char *token_file,
                    const char *cert_file, const char *key_file, const char *ca_file, char *err,
                    size_t errlen)
{
	char flag[64], e[512];

	memset(g, 0, sizeof(*g));
	if (set(cert_file) != set(key_file)) {
		snprintf(err, errlen, "%stls-cert and %stls-key go together (HTTPS needs both)",
		         pfx, pfx);
		return -1;
	}
	if (set(ca_file) && !set(cert_file)) {
		snprintf(
		    err, errlen,
		    "%stls-ca checks client certificates, which needs HTTPS: set %stls-cert and "
		    "%stls-key too",
		    pfx, pfx, pfx);
		return -1;
	}
	if (set(token_file)) {
		g->token = config_read_secret(token_file, e, sizeof(e));
		if (!g->token) {
			snprintf(err, errlen, "%stoken-file: %s", pfx, e);
			goto fail;
		}
	}
	if (set(cert_file)) {
		snprintf(flag, sizeof(flag), "%stls-cert", pfx);
		if (!(g->cert = read_pem(flag, cert_file, err, errlen)))
			goto fail;
		snprintf(flag, sizeof(flag), "%stls-key", pfx);
		if (!(g->key = read_pem(flag, key_file, err, errlen)))
			goto fail;
	}
	if (set(ca_file)) {
		snprintf(flag, sizeof(flag), "%stls-ca", pfx);
		if (!(g->ca = read_pem(flag, ca_file, err, errlen)))
			goto fail;
	}
	return 0;
fail:
	guard_http_free(g);
	return -1;
}

bool guard_http_authenticated(const struct guard_http *g)
{
	return g && (g->token || g->cert);
}

const char *guard_http_describe(const struct guard_http *g)
{
	if (!g || (!g->token && !g->cert))
		return "none";
	if (!g->cert)
		return "token";
	if (g->ca)
		return g->token ? "tls+client-cert+token" : "tls+client-cert";
	return g->token ? "tls+token" : "tls";
}

unsigned guard_http_mhd_options(const struct guard_http *g, struct MHD_OptionItem *items,
                                size_t cap)
{
	size_t n = 0;

	if (g && g->cert && cap >= 5) {
		items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, g->cert};
		items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, g->key};
		/* With a trust CA libmicrohttpd asks for a client certificate;
		 * guard_http_check then verifies it on every request. */
		if (g->ca)
			items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, g->ca};
	}
	items[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return n ? (unsigned)MHD_USE_TLS : 0;
}

bool guard_bearer_ok(const char *want, const char *header)
{
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	/* Hashes of equal length compared in constant time: the time says
	 * neither where the token differs nor how long the right one is. */
	SHA256((const unsigned char *)want, strlen(want), a);
	SHA256((const unsigned char *)header, strlen(header), b);
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

enum guard_verdict guard_http_check(const struct guard_http *g, struct MHD_Connection *c)
{
	if (!g)
		return GUARD_OK;
	if (g->ca) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		unsigned status = 1;
		gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
		if (!s || gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0)
			return GUARD_NO_CLIENT_CERT;
	}
	if (g->token) {
		const char *h =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		if (!h)
			return GUARD_NO_TOKEN;
		if (!guard_bearer_ok(g->token, h))
			return GUARD_BAD_TOKEN;
	}
	return GUARD_OK;
}

enum MHD_Result guard_http_refuse(struct MHD_Connection *c, enum guard_verdict v)
{
	const char *msg =
	    v == GUARD_NO_CLIENT_CERT
	        ? "{\"error\":\"client certificate missing or not signed by the configured CA\"}\n"
	        : "{\"error\":\"missing or wrong token (Authorization: Bearer ...)\"}\n";
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}
