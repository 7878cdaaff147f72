/* notify: see notify.h. */
#include "notify.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert_page.h"
#include "clock.h"
#include "exec_run.h"
#include "log.h"
#include "payload.h"
#include "store.h"
#include "store_alerts.h"
#include "store_outbox_group.h"

#define BACKOFF_CAP     300.0
#define RETRY_AFTER_MAX 3600.0
#define SLACK_INTERVAL  1.0
#define BODY_KEEP       2048
#define IDLE_POLL       30.0

struct rx {
	struct notifier *nf;
	char *name, *url, *ca_file, *secret, *routing_key;
	char **argv; /* exec: the command, {placeholders} not yet replaced */
	bool shell;
	enum receiver_type type;
	double timeout_s, max_age_s, min_interval_s;
	/* grouping: labels (GROUP_* bits; 0 = none), waits, and when each
	 * group was last notified (its key, clock_now) */
	unsigned group_by;
	double group_wait_s, group_interval_s;
	struct group_sent *groups;
	size_t n_groups;
	pthread_t thread;
	bool started;
	atomic_uint_fast64_t sent, failed, dropped, attempts;
};

enum { GROUP_MODEL = 1, GROUP_RULE = 2, GROUP_FEATURE = 4, GROUP_SEVERITY = 8 };

struct group_sent {
	char *key;
	double last;
};

/* Parses group_by ("model, rule" ...) into GROUP_* bits; -1 for an unknown
 * label. */
static int group_parse(const char *s, unsigned *bits)
{
	static const struct {
		const char *name;
		unsigned bit;
	} labels[] = {{"model", GROUP_MODEL},
	              {"rule", GROUP_RULE},
	              {"feature", GROUP_FEATURE},
	              {"severity", GROUP_SEVERITY}};

	*bits = 0;
	while (*s) {
		size_t n, i;

		while (*s == ' ' || *s == ',')
			s++;
		n = strcspn(s, " ,");
		if (n == 0)
			break;
		for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
			if (strlen(labels[i].name) == n && strncmp(s, labels[i].name, n) == 0)
				break;
		if (i == sizeof(labels) / sizeof(labels[0]))
			return -1;
		*bits |= labels[i].bit;
		s += n;
	}
	return 0;
}

/* Last send time per URL, for the Slack and min_interval limits: two
 * receivers posting to the same Slack webhook share its 1 message/s. */
struct pace {
	char *url;
	double last; /* clock_mono of the last send start */
};

struct notifier {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	atomic_bool stop;
	uint64_t wake_gen;
	char *db_path, *external_url;
	char *db_abs, *mlwatch_bin; /* for the export command line */
	struct rx *rx;
	size_t n;
	struct pace *pace;
	size_t n_pace;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

double notify_backoff(long attempts, double u)
{
	double base = attempts <= 1   ? 1.0
	              : attempts > 20 ? BACKOFF_CAP
	                              : ldexp(1.0, (int)attempts - 1);
	double d;

	if (base > BACKOFF_CAP)
		base = BACKOFF_CAP;
	if (!(u >= 0 && u < 1))
		u = 0.5;
	d = base * (0.8 + 0.4 * u);
	return d > BACKOFF_CAP ? BACKOFF_CAP : d;
}

double notify_parse_retry_after(const char *v, double now)
{
	char *end;
	long long n;
	time_t t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		n = strtoll(v, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (errno || *end || n < 0)
			return -1;
		return n > (long long)RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (double)n;
	}
	t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return -1;
	if ((double)t <= now)
		return 0;
	return (double)t - now > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (double)t - now;
}

/* ---- waiting ---------------------------------------------------------------- */

/* Waits up to seconds, or until notify_stop, or (seen not NULL) until
 * notify_wake moves the generation past *seen. */
static void wait_for(struct notifier *nf, double seconds, const uint64_t *seen)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	if (seconds > IDLE_POLL)
		seconds = IDLE_POLL;
	clock_mono_deadline(seconds, &ts);
	pthread_mutex_lock(&nf->mu);
	while (!atomic_load(&nf->stop) && (!seen || nf->wake_gen == *seen))
		if (pthread_cond_timedwait(&nf->cv, &nf->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&nf->mu);
}

void notify_wake(struct notifier *nf)
{
	if (!nf)
		return;
	pthread_mutex_lock(&nf->mu);
	nf->wake_gen++;
	pthread_cond_broadcast(&nf->cv);
	pthread_mutex_unlock(&nf->mu);
}

/* Seconds until r may send again (0 = now); reserves the slot when 0. */
static double pace_reserve(struct rx *r)
{
	struct notifier *nf = r->nf;
	double interval = r->min_interval_s, now = clock_mono(), wait = 0;
	struct pace *p = NULL;

	if (r->type == RECEIVER_SLACK && interval < SLACK_INTERVAL)
		interval = SLACK_INTERVAL;
	if (interval <= 0)
		return 0;
	pthread_mutex_lock(&nf->mu);
	for (size_t i = 0; i < nf->n_pace; i++)
		if (strcmp(nf->pace[i].url, r->url) == 0)
			p = &nf->pace[i];
	if (p && now < p->last + interval)
		wait = p->last + interval - now;
	else if (p)
		p->last = now;
	pthread_mutex_unlock(&nf->mu);
	return wait;
}

/* Restarts r's pace from the end of a send: Slack counts messages as they
 * arrive, and a slow first connection must not let the next one in early. */
static void pace_done(struct rx *r)
{
	struct notifier *nf = r->nf;
	pthread_mutex_lock(&nf->mu);
	for (size_t i = 0; i < nf->n_pace; i++)
		if (strcmp(nf->pace[i].url, r->url) == 0)
			nf->pace[i].last = clock_mono();
	pthread_mutex_unlock(&nf->mu);
}

/* ---- one HTTP attempt ------------------------------------------------------- */

struct response {
	long status;
	char body[BODY_KEEP + 1];
	size_t len;
	char retry_after[128];
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *rs = arg;
	size_t k = size * n, room = BODY_KEEP - rs->len;
	if (room > 0) {
		size_t c = k < room ? k : room;
		memcpy(rs->body + rs->len, data, c);
		rs->len += c;
		rs->body[rs->len] = '\0';
	}
	return k;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *rs = arg;
	size_t k = size * n;
	static const char name[] = "retry-after:";

	if (k > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t vlen = k - (sizeof(name) - 1);
		if (vlen >= sizeof(rs->retry_after))
			vlen = sizeof(rs->retry_after) - 1;
		memcpy(rs->retry_after, data + sizeof(name) - 1, vlen);
		rs->retry_after[vlen] = '\0';
		/* Trim the CRLF. */
		for (size_t i = strlen(rs->retry_after); i > 0; i--) {
			char c = rs->retry_after[i - 1];
			if (c != '\r' && c != '\n' && c != ' ')
				break;
			rs->retry_after[i - 1] = '\0';
		}
	}
	return k;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct notifier *nf = arg;
	return atomic_load(&nf->stop) ? 1 : 0;
}

/* POSTs body; fills rs. Returns the CURLcode. */
static CURLcode post(struct rx *r, CURL *c, const char *body, struct response *rs)
{
	struct curl_slist *h = NULL, *t;
	char line[160], sig[65];
	CURLcode cc = CURLE_OUT_OF_MEMORY;

	memset(rs, 0, sizeof(*rs));
	if (!(t = curl_slist_append(h, "Content-Type: application/json")))
		goto out;
	h = t;
	if (r->secret) {
		/* Signed per attempt: a retry hours later carries a fresh
		 * timestamp that receivers' replay window accepts. No body-only
		 * signature: a receiver checking it would accept replays. The
		 * receiver checks it against its own clock: the machine's, even
		 * under a simulated one. */
		long long ts = (long long)clock_wall();
		payload_sign(r->secret, ts, body, strlen(body), sig);
		snprintf(line, sizeof(line), "X-Mlwatch-Signature: t=%lld,v1=%s", ts, sig);
		if (!(t = curl_slist_append(h, line)))
			goto out;
		h = t;
		snprintf(line, sizeof(line), "X-Mlwatch-Timestamp: %lld", ts);
		if (!(t = curl_slist_append(h, line)))
			goto out;
		h = t;
	}
	/* No "Expect: 100-continue" round trip. */
	if (!(t = curl_slist_append(h, "Expect:")))
		goto out;
	h = t;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mlwatch/" MLWATCH_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r->nf);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
out:
	curl_slist_free_all(h);
	return cc;
}

/* ---- the receiver thread ---------------------------------------------------- */

/* Masks every occurrence of secret in s with '*'. */
static void redact(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	if (!n)
		return;
	for (char *p = s; (p = strstr(p, secret)); p += n)
		memset(p, '*', n);
}

static double rand_unit(unsigned short xs[3])
{
	return erand48(xs);
}

/* What a POST's answer means for the outbox, one rule for single and grouped
 * notifications: DELIVERED (2xx); REFUSED for good (any other status below
 * 500 but 408 and 429), why = the reply; or RETRY after *delay seconds
 * (408, 429, 5xx, a transport error), the backoff unless a 429/503 says
 * Retry-After, why = the reply or curl's error. */
enum post_verdict { POST_DELIVERED, POST_REFUSED, POST_RETRY };

static enum post_verdict post_verdict(CURLcode cc, const struct response *rs, long attempts,
                                      double now, unsigned short xs[3], double *delay, char *why,
                                      size_t cap)
{
	if (cc == CURLE_OK && rs->status >= 200 && rs->status < 300)
		return POST_DELIVERED;
	if (cc == CURLE_OK && rs->status != 408 && rs->status != 429 && rs->status < 500) {
		snprintf(why, cap, "HTTP %ld: %.500s", rs->status, rs->body);
		return POST_REFUSED;
	}
	*delay = notify_backoff(attempts, rand_unit(xs));
	if (cc == CURLE_OK && (rs->status == 429 || rs->status == 503) && rs->retry_after[0]) {
		double ra = notify_parse_retry_after(rs->retry_after, now);
		if (ra >= 0)
			*delay = ra;
	}
	if (cc == CURLE_OK)
		snprintf(why, cap, "HTTP %ld: %.200s", rs->status, rs->body);
	else
		snprintf(why, cap, "%s", curl_easy_strerror(cc));
	return POST_RETRY;
}

/* ---- one exec attempt ------------------------------------------------------- */

/* s with {model}, {rule}, {kind}, {receiver} replaced; malloc'd. Values go
 * into one argv word each: no shell sees them. */
static char *expand(const char *s, const struct notification *n, const char *receiver)
{
	const char *keys[] = {"{model}", "{rule}", "{kind}", "{receiver}"};
	const char *vals[] = {n->model, n->rule, n->kind, receiver};
	size_t cap = strlen(s) + 1;
	char *out, *o;

	for (size_t k = 0; k < 4; k++)
		for (const char *p = s; (p = strstr(p, keys[k])); p += strlen(keys[k]))
			cap += strlen(vals[k]);
	if (!(out = o = malloc(cap)))
		return NULL;
	while (*s) {
		size_t k = 0;
		for (; k < 4; k++)
			if (strncmp(s, keys[k], strlen(keys[k])) == 0)
				break;
		if (k < 4) {
			o = stpcpy(o, vals[k]);
			s += strlen(keys[k]);
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

#define ENV_N 8

/* Runs r's command with body on stdin. Returns 0 delivered, 1 failed (why
 * says how; the row is retried), -1 stopped by notify_stop. */
static int run_exec(struct rx *r, const struct notification *n, const char *body, char *why,
                    size_t whylen, struct exec_result *res)
{
	char *argv[EXEC_ARGS_MAX + 4] = {0}, *env[ENV_N + 1] = {0}, err[300];
	char id[32];
	size_t k = 0;
	int rc = 1;

	snprintf(id, sizeof(id), "%lld", (long long)n->alert_id);
	/* The whole environment: nothing of the daemon's (no secrets, no
	 * proxies), as mlwatch.conf(5) lists it. */
	if (asprintf(&env[0], "PATH=/usr/local/bin:/usr/bin:/bin") < 0 ||
	    asprintf(&env[1], "LC_ALL=C") < 0 ||
	    asprintf(&env[2], "MLWATCH_RECEIVER=%s", r->name) < 0 ||
	    asprintf(&env[3], "MLWATCH_KIND=%s", n->kind) < 0 ||
	    asprintf(&env[4], "MLWATCH_RULE=%s", n->rule) < 0 ||
	    asprintf(&env[5], "MLWATCH_MODEL=%s", n->model) < 0 ||
	    asprintf(&env[6], "MLWATCH_ALERT_ID=%s", id) < 0) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (r->shell) {
		/* The command text as configured: placeholders are not
		 * expanded into a shell; it reads $MLWATCH_MODEL instead. */
		argv[k++] = strdup("/bin/sh");
		argv[k++] = strdup("-c");
		argv[k++] = strdup(r->argv[0]);
	} else {
		for (size_t i = 0; r->argv[i]; i++)
			argv[k++] = expand(r->argv[i], n, r->name);
	}
	for (size_t i = 0; i < k; i++)
		if (!argv[i]) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
	if (exec_run(argv, env, body, strlen(body), r->timeout_s, &r->nf->stop, res, err,
	             sizeof(err))) {
		snprintf(why, whylen, "%s", err);
		goto out;
	}
	if (res->timed_out && atomic_load(&r->nf->stop)) {
		rc = -1;
		goto out;
	}
	if (res->timed_out)
		snprintf(why, whylen, "timed out after %.1f s, killed%s%s", r->timeout_s,
		         res->signal ? " by signal " : "",
		         res->signal ? strsignal(res->signal) : "");
	else if (res->exited && res->exit_code == 0)
		rc = 0;
	else if (res->exited)
		snprintf(why, whylen, "exit status %d: %.300s", res->exit_code, res->out);
	else
		snprintf(why, whylen, "killed by signal %d (%s): %.300s", res->signal,
		         strsignal(res->signal), res->out);
out:
	for (size_t i = 0; i < k; i++)
		free(argv[i]);
	for (size_t i = 0; i < ENV_N; i++)
		free(env[i]);
	return rc;
}

/* One delivery attempt of row; updates the row. Returns 0, or -1 when the
 * database could not be updated (the caller backs off). */
static int attempt(struct rx *r, struct store_alerts *sa, CURL *c, struct store_outbox_row *row,
                   unsigned short xs[3])
{
	struct notification n;
	struct payload_ctx ctx = {r->name, r->nf->external_url, r->routing_key, r->nf->mlwatch_bin,
	                          r->nf->db_abs};
	struct response rs;
	char err[512], why[600], q[300], nm[140];
	char *body = NULL;
	long attempts = row->attempts + 1;
	double t0, now, delay;
	enum post_verdict verdict;
	CURLcode cc;
	int rc = 0;

	log_quote(nm, sizeof(nm), r->name);
	if (payload_decode(row->payload, &n, err, sizeof(err))) {
		log_error("notify", "outbox row unreadable, not sent receiver=%s id=%lld error=%s",
		          nm, (long long)row->id, log_quote(q, sizeof(q), err));
		atomic_fetch_add(&r->failed, 1);
		return store_outbox_finish(sa, row->id, "failed", row->attempts, err);
	}
	body = payload_render(r->type, &n, &ctx);
	if (!body) {
		rc = -1;
		goto out;
	}
	t0 = clock_mono();
	atomic_fetch_add(&r->attempts, 1);
	if (r->type == RECEIVER_EXEC) {
		/* The log quotes up to 1 KiB of the output (a log line is 2 KiB);
		 * the outbox row's last_error keeps its first 300 bytes. */
		char oq[1100];
		struct exec_result *res = malloc(sizeof(*res));
		int x = res ? run_exec(r, &n, body, why, sizeof(why), res) : 1;
		if (!res)
			snprintf(why, sizeof(why), "out of memory");
		pace_done(r);
		now = clock_now();
		if (x == 0) {
			atomic_fetch_add(&r->sent, 1);
			log_info("notify",
			         "notification delivered receiver=%s id=%lld kind=%s rule=%s "
			         "model=%s exit=0 attempts=%ld took_ms=%.0f output_bytes=%zu "
			         "output=%s",
			         nm, (long long)row->id, n.kind, n.rule, n.model, attempts,
			         res->took_s * 1000, res->out_total,
			         log_quote(oq, sizeof(oq), res->out));
			rc = store_outbox_delivered(sa, row->id, attempts, now);
		} else if (x > 0) {
			delay = notify_backoff(attempts, rand_unit(xs));
			log_warn(
			    "notify",
			    "command failed, will retry receiver=%s id=%lld kind=%s attempt=%ld "
			    "error=%s retry_in_s=%.1f output_bytes=%zu output=%s",
			    nm, (long long)row->id, n.kind, attempts, log_quote(q, sizeof(q), why),
			    delay, res ? res->out_total : 0,
			    log_quote(oq, sizeof(oq), res ? res->out : ""));
			rc = store_outbox_retry(sa, row->id, attempts, now + delay, why);
		}
		free(res);
		goto out;
	}
	cc = post(r, c, body, &rs);
	pace_done(r);
	/* A receiver (or a proxy) may echo the request in its error reply; the
	 * reply is logged and kept in the outbox, the secrets must not be. */
	redact(rs.body, r->routing_key);
	redact(rs.body, r->secret);
	now = clock_now();
	if (atomic_load(&r->nf->stop) && cc == CURLE_ABORTED_BY_CALLBACK)
		goto out; /* shutting down: the row stays pending as it was */
	verdict = post_verdict(cc, &rs, attempts, now, xs, &delay, why, sizeof(why));
	if (verdict == POST_DELIVERED) {
		atomic_fetch_add(&r->sent, 1);
		log_info("notify",
		         "notification delivered receiver=%s id=%lld kind=%s rule=%s model=%s "
		         "status=%ld attempts=%ld took_ms=%.0f age_s=%.1f",
		         nm, (long long)row->id, n.kind, n.rule, n.model, rs.status, attempts,
		         (clock_mono() - t0) * 1000, now - row->created);
		rc = store_outbox_delivered(sa, row->id, attempts, now);
		goto out;
	}
	if (verdict == POST_REFUSED) {
		atomic_fetch_add(&r->failed, 1);
		log_error("notify",
		          "notification refused, not retried receiver=%s id=%lld kind=%s rule=%s "
		          "status=%ld attempts=%ld body=%s",
		          nm, (long long)row->id, n.kind, n.rule, rs.status, attempts,
		          log_quote(q, sizeof(q), rs.body));
		rc = store_outbox_finish(sa, row->id, "failed", attempts, why);
		goto out;
	}
	log_warn("notify",
	         "notification not delivered, will retry receiver=%s id=%lld kind=%s attempt=%ld "
	         "error=%s retry_in_s=%.1f%s%s",
	         nm, (long long)row->id, n.kind, attempts, log_quote(q, sizeof(q), why), delay,
	         rs.retry_after[0] ? " retry_after=" : "",
	         rs.retry_after[0] ? log_quote(err, sizeof(err), rs.retry_after) : "");
	rc = store_outbox_retry(sa, row->id, attempts, now + delay, why);
out:
	free(body);
	payload_free(&n);
	return rc;
}

/* ---- grouped notifications ------------------------------------------------ */

#define GROUP_MAX 200 /* alerts in one grouped notification */

/* The group key of n under bits: "model=m,rule=r" (labels in a fixed
 * order), malloc'd; NULL when out of memory. */
static char *group_key(unsigned bits, const struct notification *n)
{
	size_t cap =
	    64 + strlen(n->model) + strlen(n->rule) + strlen(n->feature) + strlen(n->severity);
	char *k = malloc(cap);

	if (!k)
		return NULL;
	static const unsigned bit[] = {GROUP_MODEL, GROUP_RULE, GROUP_FEATURE, GROUP_SEVERITY};
	const char *name[] = {"model", "rule", "feature", "severity"};
	const char *val[] = {n->model, n->rule, n->feature, n->severity};
	size_t len = 0;

	k[0] = '\0';
	for (size_t i = 0; i < 4; i++)
		if (bits & bit[i])
			len += (size_t)snprintf(k + len, cap - len, "%s%s=%s", len ? "," : "",
			                        name[i], val[i]);
	return k;
}

static struct group_sent *group_find(struct rx *r, const char *key, bool add)
{
	struct group_sent *g;

	for (size_t i = 0; i < r->n_groups; i++)
		if (strcmp(r->groups[i].key, key) == 0)
			return &r->groups[i];
	if (!add)
		return NULL;
	g = realloc(r->groups, (r->n_groups + 1) * sizeof(*g));
	if (!g)
		return NULL;
	r->groups = g;
	g = &r->groups[r->n_groups];
	if (!(g->key = strdup(key)))
		return NULL;
	g->last = 0;
	r->n_groups++;
	return g;
}

struct group_batch {
	struct rx *r;
	const char *key;
	double now;
	int64_t ids[GROUP_MAX];
	long attempts[GROUP_MAX];
	size_t n;
	cJSON *alerts;   /* the alerts of the rendered payloads, in id order */
	cJSON *envelope; /* webhook: the first message, the others' alerts join it */
	int err;
};

/* Keeps in common only the members of every alert's obj (labels or
 * annotations) that are equal across all of them, as Alertmanager's
 * commonLabels / commonAnnotations. */
static cJSON *group_common(const cJSON *alerts, const char *obj)
{
	const cJSON *first = cJSON_GetObjectItemCaseSensitive(alerts->child, obj), *kv, *a;
	cJSON *out = cJSON_CreateObject();

	if (!out || !cJSON_IsObject(first))
		return out;
	cJSON_ArrayForEach(kv, first)
	{
		bool same = cJSON_IsString(kv);

		cJSON_ArrayForEach(a, alerts)
		{
			const cJSON *o = cJSON_GetObjectItemCaseSensitive(a, obj);
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, kv->string);

			if (!same || !cJSON_IsString(v) ||
			    strcmp(v->valuestring, kv->valuestring) != 0)
				same = false;
		}
		if (same)
			cJSON_AddStringToObject(out, kv->string, kv->valuestring);
	}
	return out;
}

/* The webhook envelope of a group: the group's key and labels, the status
 * (firing while one alert fires), the common labels and annotations, and
 * every alert. Takes alerts. */
static void group_envelope(cJSON *env, cJSON *alerts, unsigned bits, const char *key)
{
	const cJSON *a, *st;
	const char *status = "resolved";
	char gk[600];
	cJSON *gl = cJSON_CreateObject(),
	      *cl = cJSON_GetObjectItemCaseSensitive(alerts->child, "labels");
	static const char *const names[] = {"model", "alertname", "feature", "severity"};
	static const unsigned bit[] = {GROUP_MODEL, GROUP_RULE, GROUP_FEATURE, GROUP_SEVERITY};

	cJSON_ArrayForEach(a, alerts)
	{
		st = cJSON_GetObjectItemCaseSensitive(a, "status");
		if (cJSON_IsString(st) && strcmp(st->valuestring, "firing") == 0)
			status = "firing";
	}
	for (size_t i = 0; gl && i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cl, names[i]);

		if ((bits & bit[i]) && cJSON_IsString(v))
			cJSON_AddStringToObject(gl, names[i], v->valuestring);
	}
	snprintf(gk, sizeof(gk), "{}:{%s}", key);
	cJSON_ReplaceItemInObjectCaseSensitive(env, "groupKey", cJSON_CreateString(gk));
	cJSON_ReplaceItemInObjectCaseSensitive(env, "status", cJSON_CreateString(status));
	if (gl)
		cJSON_ReplaceItemInObjectCaseSensitive(env, "groupLabels", gl);
	cJSON_ReplaceItemInObjectCaseSensitive(env, "commonLabels", group_common(alerts, "labels"));
	cJSON_ReplaceItemInObjectCaseSensitive(env, "commonAnnotations",
	                                       group_common(alerts, "annotations"));
	cJSON_ReplaceItemInObjectCaseSensitive(env, "alerts", alerts);
}

/* Collects the pending rows of the batch's group that are due. */
static int group_collect(void *arg, const struct store_outbox_row *row)
{
	struct group_batch *b = arg;
	struct payload_ctx ctx = {b->r->name, b->r->nf->external_url, b->r->routing_key,
	                          b->r->nf->mlwatch_bin, b->r->nf->db_abs};
	struct notification n;
	char err[256], *key = NULL, *body = NULL;
	cJSON *j = NULL;

	if (row->next_attempt > b->now + 0.001 ||
	    payload_decode(row->payload, &n, err, sizeof(err)))
		return 0; /* not due yet, or unreadable: the single path reports it */
	key = group_key(b->r->group_by, &n);
	if (!key || strcmp(key, b->key) != 0)
		goto out;
	body = payload_render(b->r->type, &n, &ctx);
	j = body ? cJSON_Parse(body) : NULL;
	if (!j) {
		b->err = -1;
		goto out;
	}
	if (cJSON_IsArray(j)) { /* alertmanager: a list of alerts already */
		cJSON *it;

		while ((it = j->child) != NULL)
			cJSON_AddItemToArray(b->alerts, cJSON_DetachItemViaPointer(j, it));
	} else {
		/* webhook (Alertmanager's webhook format): the first message is
		 * the envelope, every message's alerts go into one list */
		cJSON *al = cJSON_GetObjectItemCaseSensitive(j, "alerts"), *it;

		while (cJSON_IsArray(al) && (it = al->child) != NULL)
			cJSON_AddItemToArray(b->alerts, cJSON_DetachItemViaPointer(al, it));
		if (!b->envelope) {
			b->envelope = j;
			j = NULL;
		}
	}
	b->ids[b->n] = row->id;
	b->attempts[b->n] = row->attempts;
	b->n++;
out:
	cJSON_Delete(j);
	free(body);
	free(key);
	payload_free(&n);
	return b->n >= GROUP_MAX;
}

struct group_due {
	struct rx *r;
	char *key; /* the group due first, malloc'd */
	double due;
};

/* A group is due group_wait after its oldest pending row (Alertmanager's
 * wait for the rest of a burst), or group_interval after its last
 * notification, and never before a row's retry time. */
static int group_due_cb(void *arg, const struct store_outbox_row *row)
{
	struct group_due *d = arg;
	struct notification n;
	struct group_sent *g;
	char err[256], *key;
	double due;

	if (payload_decode(row->payload, &n, err, sizeof(err)))
		return 0; /* unreadable: failed when it reaches the head alone */
	key = group_key(d->r->group_by, &n);
	payload_free(&n);
	if (!key)
		return 0;
	g = group_find(d->r, key, false);
	due =
	    g && g->last > 0 ? g->last + d->r->group_interval_s : row->created + d->r->group_wait_s;
	if (due < row->next_attempt)
		due = row->next_attempt;
	if (!d->key || due < d->due) {
		free(d->key);
		d->key = key;
		d->due = due;
	} else {
		free(key);
	}
	return 0;
}

/* The group due first among the receiver's pending rows: 0 with *key
 * (malloc'd) and *due, 1 when nothing is pending, -1 on a database error. */
static int group_next(struct rx *r, struct store_alerts *sa, char **key, double *due)
{
	struct group_due d = {r, NULL, 0};

	*key = NULL;
	if (store_outbox_pending(sa, r->name, 10000, group_due_cb, &d)) {
		free(d.key);
		return -1;
	}
	if (!d.key)
		return 1;
	*key = d.key;
	*due = d.due;
	return 0;
}

/* One grouped notification of group key: every pending row of the group
 * that is due, in id order (at most GROUP_MAX), in one request. Returns 0,
 * 1 when no row of the group could be rendered (the single path takes the
 * head), -1 when the database could not be used. */
static int attempt_group(struct rx *r, struct store_alerts *sa, CURL *c, const char *key,
                         unsigned short xs[3])
{
	struct group_batch *b = NULL;
	struct group_sent *g = group_find(r, key, true);
	struct response rs;
	char err[256], nm[140], q[300], why[600], *body = NULL;
	double now = clock_now(), delay;
	enum post_verdict verdict;
	long attempts = 1;
	CURLcode cc;
	int rc = 0;

	log_quote(nm, sizeof(nm), r->name);
	if (!g)
		return -1;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->alerts = cJSON_CreateArray())) {
		rc = -1;
		goto out;
	}
	b->r = r;
	b->key = key;
	b->now = now;
	if (store_outbox_pending(sa, r->name, 10000, group_collect, b) || b->err) {
		rc = -1;
		goto out;
	}
	if (b->n == 0) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->attempts[i] + 1 > attempts)
			attempts = b->attempts[i] + 1;
	if (r->type == RECEIVER_ALERTMANAGER || !b->envelope) {
		body = cJSON_PrintUnformatted(b->alerts);
	} else {
		group_envelope(b->envelope, b->alerts, r->group_by, key);
		b->alerts = NULL; /* the envelope has them */
		body = cJSON_PrintUnformatted(b->envelope);
	}
	if (!body) {
		rc = -1;
		goto out;
	}
	atomic_fetch_add(&r->attempts, 1);
	cc = post(r, c, body, &rs);
	pace_done(r);
	redact(rs.body, r->routing_key);
	redact(rs.body, r->secret);
	now = clock_now();
	if (atomic_load(&r->nf->stop) && cc == CURLE_ABORTED_BY_CALLBACK)
		goto out;
	verdict = post_verdict(cc, &rs, attempts, now, xs, &delay, why, sizeof(why));
	if (verdict == POST_DELIVERED) {
		atomic_fetch_add(&r->sent, b->n);
		g->last = now;
		log_info(
		    "notify",
		    "grouped notification delivered receiver=%s group=%s alerts=%zu status=%ld "
		    "attempts=%ld",
		    nm, log_quote(q, sizeof(q), key), b->n, rs.status, attempts);
		for (size_t i = 0; i < b->n && rc == 0; i++)
			rc = store_outbox_delivered(sa, b->ids[i], attempts, now);
		goto out;
	}
	if (verdict == POST_REFUSED) {
		atomic_fetch_add(&r->failed, b->n);
		log_error("notify",
		          "grouped notification refused, not retried receiver=%s group=%s "
		          "alerts=%zu status=%ld",
		          nm, log_quote(q, sizeof(q), key), b->n, rs.status);
		for (size_t i = 0; i < b->n && rc == 0; i++)
			rc = store_outbox_finish(sa, b->ids[i], "failed", attempts, why);
		goto out;
	}
	log_warn("notify",
	         "grouped notification not delivered, will retry receiver=%s group=%s alerts=%zu "
	         "attempt=%ld error=%s retry_in_s=%.1f",
	         nm, log_quote(q, sizeof(q), key), b->n, attempts, log_quote(err, sizeof(err), why),
	         delay);
	for (size_t i = 0; i < b->n && rc == 0; i++)
		rc = store_outbox_retry(sa, b->ids[i], attempts, now + delay, why);
out:
	if (b) {
		cJSON_Delete(b->alerts);
		cJSON_Delete(b->envelope);
	}
	free(b);
	free(body);
	return rc;
}

static void *rx_main(void *arg)
{
	struct rx *r = arg;
	struct notifier *nf = r->nf;
	struct store st;
	struct store_alerts sa;
	char err[512], nm[140];
	unsigned short xs[3];
	bool open = false;
	CURL *c = curl_easy_init();
	uint64_t gen;

	xs[0] = (unsigned short)time(NULL);
	xs[1] = (unsigned short)(uintptr_t)r;
	xs[2] = (unsigned short)((uintptr_t)r >> 16);
	log_quote(nm, sizeof(nm), r->name);
	while (!atomic_load(&nf->stop)) {
		struct store_outbox_row row;
		double now, due, pace;
		int h;

		pthread_mutex_lock(&nf->mu);
		gen = nf->wake_gen;
		pthread_mutex_unlock(&nf->mu);
		if (!c) {
			log_error("notify", "cannot create a curl handle receiver=%s", nm);
			wait_for(nf, 5, &gen);
			c = curl_easy_init();
			continue;
		}
		if (!open) {
			if (store_open(&st, nf->db_path, STORE_RW, false, err, sizeof(err))) {
				log_error("notify", "cannot open the database receiver=%s error=%s",
				          nm, err);
				wait_for(nf, 5, &gen);
				continue;
			}
			store_alerts_init(&sa, &st);
			open = true;
		}
		h = store_outbox_head(&sa, r->name, &row);
		if (h == 1) {
			wait_for(nf, IDLE_POLL, &gen);
			continue;
		}
		if (h < 0) {
			log_error("notify", "cannot read the outbox receiver=%s error=%s", nm,
			          store_errmsg(&st));
			wait_for(nf, 1, &gen);
			continue;
		}
		now = clock_now();
		if (now - row.created > r->max_age_s) {
			atomic_fetch_add(&r->dropped, 1);
			log_error("notify",
			          "notification dropped after max_age receiver=%s id=%lld kind=%s "
			          "attempts=%ld age_s=%.0f max_age_s=%.0f",
			          nm, (long long)row.id, row.kind, row.attempts, now - row.created,
			          r->max_age_s);
			if (store_outbox_finish(&sa, row.id, "dropped", row.attempts,
			                        "max_age passed"))
				wait_for(nf, 1, &gen);
			store_outbox_row_free(&row);
			continue;
		}
		if (r->group_by) {
			char *key = NULL;
			double gdue = 0;
			int g = group_next(r, &sa, &key, &gdue);

			store_outbox_row_free(&row);
			if (g == 0 && gdue > now + 0.001) {
				/* new rows wake us to join their group or start one */
				free(key);
				wait_for(nf, clock_wait_s(gdue - now), &gen);
				continue;
			}
			if (g == 0) {
				pace = pace_reserve(r);
				if (pace > 0) {
					free(key);
					wait_for(nf, pace, NULL);
					continue;
				}
				g = attempt_group(r, &sa, c, key, xs);
				if (g == 1)
					pace_done(r); /* nothing sent */
			}
			free(key);
			if (g < 0) {
				log_error("notify", "cannot update the outbox receiver=%s error=%s",
				          nm, store_errmsg(&st));
				wait_for(nf, 1, &gen);
			}
			if (g != 1)
				continue;
			/* no row of the group renders: the head goes alone */
			if (store_outbox_head(&sa, r->name, &row) != 0)
				continue;
		}
		due = row.next_attempt;
		if (due > now + 0.001) {
			/* Wake up at the due time, or at max_age if that comes first. */
			double until = due - now;
			if (row.created + r->max_age_s - now + 0.01 < until)
				until = row.created + r->max_age_s - now + 0.01;
			store_outbox_row_free(&row);
			wait_for(nf, clock_wait_s(until), &gen);
			continue;
		}
		pace = pace_reserve(r);
		if (pace > 0) {
			store_outbox_row_free(&row);
			wait_for(nf, pace, NULL); /* new rows do not shorten the pace */
			continue;
		}
		if (attempt(r, &sa, c, &row, xs)) {
			log_error("notify", "cannot update the outbox receiver=%s error=%s", nm,
			          store_errmsg(&st));
			wait_for(nf, 1, &gen);
		}
		store_outbox_row_free(&row);
	}
	if (open) {
		store_alerts_close(&sa);
		store_close(&st);
	}
	curl_easy_cleanup(c);
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

static void rx_free(struct rx *r)
{
	free(r->name);
	free(r->url);
	free(r->ca_file);
	for (size_t i = 0; r->argv && r->argv[i]; i++)
		free(r->argv[i]);
	free(r->argv);
	if (r->secret)
		memset(r->secret, 0, strlen(r->secret));
	free(r->secret);
	if (r->routing_key)
		memset(r->routing_key, 0, strlen(r->routing_key));
	free(r->routing_key);
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i].key);
	free(r->groups);
}

static void notifier_free(struct notifier *nf)
{
	for (size_t i = 0; i < nf->n; i++)
		rx_free(&nf->rx[i]);
	for (size_t i = 0; i < nf->n_pace; i++)
		free(nf->pace[i].url);
	free(nf->pace);
	free(nf->rx);
	free(nf->db_path);
	free(nf->db_abs);
	free(nf->mlwatch_bin);
	free(nf->external_url);
	pthread_cond_destroy(&nf->cv);
	pthread_mutex_destroy(&nf->mu);
	free(nf);
}

static int rx_init(struct notifier *nf, struct rx *r, const struct receiver_config *rc,
                   const char *file, char *err, size_t errlen)
{
	char why[256];
	int t = payload_receiver_type(rc->type);

	r->nf = nf;
	if (t < 0) {
		snprintf(err, errlen, "%s:%d: [receiver %s] unknown type '%s'", file, rc->line,
		         rc->name, rc->type);
		return -1;
	}
	r->type = (enum receiver_type)t;
	r->timeout_s = (double)rc->timeout_ms / 1000.0;
	r->max_age_s = (double)rc->max_age_ms / 1000.0;
	r->min_interval_s = (double)rc->min_interval_ms / 1000.0;
	r->group_wait_s = (double)rc->group_wait_ms / 1000.0;
	r->group_interval_s = (double)rc->group_interval_ms / 1000.0;
	if (group_parse(rc->group_by ? rc->group_by : "", &r->group_by) != 0) {
		snprintf(err, errlen,
		         "%s:%d: [receiver %s] group_by '%s': labels are model, rule, feature and "
		         "severity, separated by commas",
		         file, rc->line, rc->name, rc->group_by);
		return -1;
	}
	if (r->group_by && r->type != RECEIVER_WEBHOOK && r->type != RECEIVER_ALERTMANAGER) {
		snprintf(err, errlen,
		         "%s:%d: [receiver %s] group_by applies to webhook and alertmanager "
		         "receivers only (type %s sends one message per alert)",
		         file, rc->line, rc->name, rc->type);
		return -1;
	}
	if (r->type == RECEIVER_EXEC) {
		/* The command text is the pace key (min_interval). */
		if (!(r->name = strdup(rc->name)) || !(r->url = strdup(rc->command))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->shell = rc->shell;
		if (r->shell) {
			r->argv = calloc(2, sizeof(*r->argv));
			if (!r->argv || !(r->argv[0] = strdup(rc->command))) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		} else if (exec_split(rc->command, &r->argv, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: [receiver %s] command: %s", file, rc->line,
			         rc->name, why);
			return -1;
		} else if (r->argv[0][0] != '/') {
			snprintf(err, errlen,
			         "%s:%d: [receiver %s] command: '%s' is not an absolute path (no "
			         "PATH search without shell = true)",
			         file, rc->line, rc->name, r->argv[0]);
			return -1;
		} else if (access(r->argv[0], X_OK) != 0) {
			/* It may be installed later; each attempt fails until then. */
			log_warn("notify", "command is not executable (yet) receiver=%s path=%s",
			         rc->name, r->argv[0]);
		}
		goto pace;
	}
	if (!(r->name = strdup(rc->name)) || !(r->url = payload_url(r->type, rc->url)) ||
	    (rc->ca_file[0] && !(r->ca_file = strdup(rc->ca_file)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rc->secret_file[0]) {
		if (r->type != RECEIVER_WEBHOOK)
			log_warn("notify",
			         "secret_file applies to webhook receivers only receiver=%s",
			         rc->name);
		else if (!(r->secret = config_read_secret(rc->secret_file, why, sizeof(why)))) {
			snprintf(err, errlen, "%s:%d: [receiver %s] secret_file: %s", file,
			         rc->line, rc->name, why);
			return -1;
		}
	}
	if (r->type == RECEIVER_PAGERDUTY &&
	    !(r->routing_key = config_read_secret(rc->routing_key_file, why, sizeof(why)))) {
		snprintf(err, errlen, "%s:%d: [receiver %s] routing_key_file: %s", file, rc->line,
		         rc->name, why);
		return -1;
	}
	if (strncmp(r->url, "http://", 7) != 0 && strncmp(r->url, "https://", 8) != 0) {
		snprintf(err, errlen, "%s:%d: [receiver %s] url '%s' is not http:// or https://",
		         file, rc->line, rc->name, r->url);
		return -1;
	}
pace:
	if (r->type == RECEIVER_SLACK || r->min_interval_s > 0) {
		bool have = false;
		for (size_t i = 0; i < nf->n_pace; i++)
			have |= strcmp(nf->pace[i].url, r->url) == 0;
		if (!have) {
			struct pace *p = realloc(nf->pace, (nf->n_pace + 1) * sizeof(*p));
			if (!p) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			nf->pace = p;
			p[nf->n_pace].last = -1e9;
			if (!(p[nf->n_pace].url = strdup(r->url))) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			nf->n_pace++;
		}
	}
	return 0;
}

int notify_start(struct notifier **out, const struct mlw_config *cfg, const char *db_path,
                 char *err, size_t errlen)
{
	struct notifier *nf = calloc(1, sizeof(*nf));
	const char *file = cfg->path ? cfg->path : "(config)";

	*out = NULL;
	if (!nf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&nf->mu, NULL);
	clock_cond_init_mono(&nf->cv);
	atomic_init(&nf->stop, false);
	nf->db_path = strdup(db_path);
	/* Links point at mlwatchd --http's /alerts page unless external_url
	 * names another base (a proxy), as mlwatch.conf(5) says. */
	if (cfg->collector.external_url && *cfg->collector.external_url)
		nf->external_url = strdup(cfg->collector.external_url);
	else
		nf->external_url = alert_page_default_base(cfg->collector.http);
	/* The export command line names the database by its absolute path and
	 * the mlwatch installed beside this mlwatchd, so it runs from any
	 * directory; "mlwatch" (PATH) when there is none. */
	nf->db_abs = realpath(db_path, NULL);
	if (!nf->db_abs)
		nf->db_abs = strdup(db_path);
	{
		char self[4096];
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 16);
		char *slash = k > 0 ? memrchr(self, '/', (size_t)k) : NULL;
		if (slash) {
			strcpy(slash + 1, "mlwatch");
			if (access(self, X_OK) == 0)
				nf->mlwatch_bin = strdup(self);
		}
		if (!nf->mlwatch_bin)
			nf->mlwatch_bin = strdup("mlwatch");
	}
	nf->rx = calloc(cfg->n_receivers ? cfg->n_receivers : 1, sizeof(*nf->rx));
	if (!nf->db_path || !nf->db_abs || !nf->mlwatch_bin || !nf->external_url || !nf->rx) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	nf->n = cfg->n_receivers;
	for (size_t i = 0; i < nf->n; i++)
		if (rx_init(nf, &nf->rx[i], &cfg->receivers[i], file, err, errlen))
			goto fail;
	pthread_once(&curl_once, curl_init_once);
	for (size_t i = 0; i < nf->n; i++) {
		int e = pthread_create(&nf->rx[i].thread, NULL, rx_main, &nf->rx[i]);
		if (e) {
			snprintf(err, errlen, "cannot start a notifier thread: %s", strerror(e));
			goto fail;
		}
		nf->rx[i].started = true;
	}
	*out = nf;
	return 0;
fail:
	notify_stop(nf);
	return -1;
}

void notify_stop(struct notifier *nf)
{
	if (!nf)
		return;
	pthread_mutex_lock(&nf->mu);
	atomic_store(&nf->stop, true);
	pthread_cond_broadcast(&nf->cv);
	pthread_mutex_unlock(&nf->mu);
	for (size_t i = 0; i < nf->n; i++)
		if (nf->rx[i].started)
			pthread_join(nf->rx[i].thread, NULL);
	notifier_free(nf);
}

size_t notify_receiver_count(const struct notifier *nf)
{
	return nf ? nf->n : 0;
}

const char *notify_receiver_stats(struct notifier *nf, size_t i, struct notify_stats *out)
{
	struct rx *r = &nf->rx[i];
	out->sent = atomic_load(&r->sent);
	out->failed = atomic_load(&r->failed);
	out->dropped = atomic_load(&r->dropped);
	out->attempts = atomic_load(&r->attempts);
	return r->name;
}
