/* guard: the one rule for every listener of the three programs (issue 21).
 *
 *   - An address other than loopback (127.0.0.0/8, ::1, localhost) needs
 *     authentication -- a bearer token or TLS -- or an explicit --insecure;
 *     otherwise the program exits 2 with guard_refusal's one line, in the
 *     words mlwatchd already used for its nng listener.
 *   - Datagram inputs cannot authenticate: on such an address they need
 *     --insecure.
 *   - A unix socket is created 0660 and checked to be 0660 or stricter.
 *   - HTTP: the bearer token compared in constant time (SHA-256 of both,
 *     CRYPTO_memcmp: neither where they differ nor the length leaks), and
 *     libmicrohttpd's HTTPS (server certificate and key; with a CA, client
 *     certificates signed by it are required and checked per request).
 *
 * Owns: the PEM texts and token of a struct guard_http (freed, the key and
 * token wiped, by guard_http_free). Threads: guard_http_check runs on the
 * HTTP threads and only reads. Failures: reported in err; nothing exits. */
#ifndef MLW_GUARD_H
#define MLW_GUARD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* host without brackets or port. */
bool guard_host_is_local(const char *host);
/* "HOST:PORT", "[V6]:PORT"; ":PORT" and "*:PORT" (every interface) are not
 * local; neither is anything unparseable. */
bool guard_hostport_is_local(const char *hostport);

/* The refusal line: "refusing to listen on ADDR (FLAG): not a loopback
 * address, and MISSING; pass --insecure to accept unauthenticated WHOM from
 * the network". Returns -1 (for `return guard_refusal(...)`). */
int guard_refusal(char *err, size_t errlen, const char *addr, const char *flag, const char *missing,
                  const char *whom);

/* Creates nothing: checks that path (a socket just bound) has no permission
 * bits beyond 0660. Returns 0, or -1 with what to do in err. */
int guard_unix_mode_ok(const char *path, char *err, size_t errlen);

/* What an HTTP listener is protected by. */
struct guard_http {
	char *token;      /* bearer token, or NULL */
	char *cert, *key; /* PEM texts for HTTPS, or NULL */
	char *ca;         /* PEM: client certificates must be signed by it, or NULL */
};

/* Reads the files (any may be NULL or ""); flag_prefix names the flags in
 * errors ("--http-" gives "--http-token-file: ..."). cert and key go
 * together; ca needs them. Returns 0, or -1 with err (g left freed). */
int guard_http_load(struct guard_http *g, const char *flag_prefix, const char *token_file,
                    const char *cert_file, const char *key_file, const char *ca_file, char *err,
                    size_t errlen);
void guard_http_free(struct guard_http *g);
bool guard_http_authenticated(const struct guard_http *g);
/* "token", "tls", "tls+client-cert", "tls+token", "tls+client-cert+token"
 * or "none". */
const char *guard_http_describe(const struct guard_http *g);

/* Fills items (cap >= 5) with the HTTPS options for MHD_OPTION_ARRAY,
 * ending with MHD_OPTION_END; returns the MHD flags to add (MHD_USE_TLS or
 * 0). g must outlive the daemon. */
unsigned guard_http_mhd_options(const struct guard_http *g, struct MHD_OptionItem *items,
                                size_t cap);

enum guard_verdict { GUARD_OK = 0, GUARD_NO_TOKEN, GUARD_BAD_TOKEN, GUARD_NO_CLIENT_CERT };
/* Checks one request: the client certificate (when a CA is set), then the
 * Authorization header (when a token is set). */
enum guard_verdict guard_http_check(const struct guard_http *g, struct MHD_Connection *c);
/* Queues the 401 answer for a refused verdict (JSON body saying what is
 * missing, WWW-Authenticate: Bearer). */
enum MHD_Result guard_http_refuse(struct MHD_Connection *c, enum guard_verdict v);

/* Constant-time "Bearer TOKEN" check of an Authorization header value. */
bool guard_bearer_ok(const char *want, const char *header);

#endif
