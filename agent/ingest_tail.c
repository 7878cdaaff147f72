/* ingest_tail: see ingest_tail.h. */
#include "ingest_tail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bentoml.h"
#include "clock.h"
#include "log.h"
#include "state.h"
#include "stats.h"
#include "tail_lines.h"
#include "textlog.h"
#include "triton.h"
#include "vecdim.h"

#define FP_LEN           256
#define POLL_S           0.1
#define CHUNK            65536
#define LINES_PER_SUBMIT 1000
#define LINE_MAX_BYTES   (1u << 20)
#define OLD_IDLE_POLLS   3 /* a rotated file quiet this long is finished */

struct reader {
	int fd;
	uint64_t dev, ino;
	uint64_t off; /* file offset of buf[0]: just after the last whole line */
	uint64_t fp;
	uint32_t fp_len;
	char *buf;
	size_t blen, bcap;
	bool skipping; /* inside a line longer than the limit */
};

/* The files of one --tail path in the order they were written: q[0] is
 * being read; later entries were opened when a rotation was seen (holding
 * their descriptors so a second rotation cannot hide them); the last one is
 * the file now at the path. */
#define QMAX 8
#define HMAX 32

struct fileid {
	uint64_t dev, ino;
};

struct source {
	int idx;
	char *path;
	char state_path[4200];
	struct reader q[QMAX];
	size_t nq;
	int idle; /* polls without new data in a rotated q[0] */
	bool resumed;
	struct bentoml *bento; /* --format bentoml: the file's schema */
	/* --format triton: records, not lines (triton.h); without a file at
	 * the path, the indexed files path.0, path.1, ... in order. */
	bool triton, scanned;
	unsigned long next_idx;
	int textlog; /* --format torchserve | ray_serve: enum textlog_kind; else -1 */
	/* Files met, oldest first (under t->mu): what a saved position must
	 * list after its own file so a restart reads the later ones too. */
	struct fileid hist[HMAX];
	size_t nh;
	struct tail_mark saved[HMAX]; /* from the state file */
	size_t n_saved;
	struct tail_mark committed; /* under t->mu */
	bool have_committed, dirty;
	double last_log;
};

struct tailer {
	struct agent *ag;
	struct source *src;
	size_t n;
	size_t max_line;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu; /* committed positions, stop flag */
	pthread_cond_t cv;
	bool stop;
};

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static void reader_init(struct reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static void reader_close(struct reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	reader_init(r);
}

/* Hash of the first n bytes of fd; -1 on a short read. */
static int hash_head(int fd, uint32_t n, uint64_t *out)
{
	char buf[FP_LEN];
	ssize_t k = pread(fd, buf, n, 0);
	if (k != (ssize_t)n)
		return -1;
	*out = fnv(buf, n);
	return 0;
}

/* Grows the fingerprint up to FP_LEN bytes as the file grows. */
static void fp_update(struct reader *r, uint64_t size)
{
	if (r->fp_len >= FP_LEN || size <= r->fp_len)
		return;
	uint32_t n = size < FP_LEN ? (uint32_t)size : FP_LEN;
	uint64_t h;
	if (hash_head(r->fd, n, &h) == 0) {
		r->fp = h;
		r->fp_len = n;
	}
}

/* True when the file no longer starts with the bytes we fingerprinted. */
static bool fp_changed(struct reader *r, uint64_t size)
{
	uint64_t h;
	if (r->fp_len == 0)
		return false;
	if (size < r->fp_len)
		return true;
	return hash_head(r->fd, r->fp_len, &h) == 0 && h != r->fp;
}

static int reader_open(struct reader *r, const char *path, uint64_t off)
{
	struct stat st;

	reader_init(r);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (fstat(r->fd, &st) != 0) {
		int e = errno;
		reader_close(r);
		return -e;
	}
	r->dev = (uint64_t)st.st_dev;
	r->ino = (uint64_t)st.st_ino;
	r->off = off;
	fp_update(r, (uint64_t)st.st_size);
	return 0;
}

/* Writes the committed position (under t->mu): its file, then every file
 * met after it, which a restart must read from their start. */
static void save_one(struct source *s, bool sync)
{
	char buf[8192];
	const struct tail_mark *m = &s->committed;
	size_t i = 0, len;

	while (i < s->nh && !(s->hist[i].dev == m->dev && s->hist[i].ino == m->ino))
		i++;
	if (i == s->nh)
		i = s->nh; /* not in the history: the mark alone */
	else if (i > 0) {
		/* Files before the committed one are done for good. */
		memmove(s->hist, s->hist + i, (s->nh - i) * sizeof(*s->hist));
		s->nh -= i;
		i = 0;
	}
	len =
	    (size_t)snprintf(buf, sizeof(buf),
	                     "%s\n%" PRIu64 " %" PRIu64 " %" PRIu64 " %016" PRIx64 " %" PRIu32 "\n",
	                     s->path, m->dev, m->ino, m->off, m->fingerprint, m->fingerprint_len);
	for (size_t k = i + 1; k < s->nh && len < sizeof(buf) - 100; k++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		                        "%" PRIu64 " %" PRIu64 " 0 0000000000000000 0\n",
		                        s->hist[k].dev, s->hist[k].ino);
	int rc = state_write_file(s->state_path, buf, len, sync);
	if (rc)
		log_error("tail", "cannot save position path=%s error=%s", s->state_path,
		          strerror(-rc));
}

static void load_saved(struct source *s)
{
	char *txt = state_read_file(s->state_path, 16384, NULL);
	char *line;

	if (!txt)
		return;
	line = strchr(txt, '\n');
	while (line && *++line && s->n_saved < HMAX) {
		unsigned long long dev, ino, off, fp;
		unsigned fplen;
		if (sscanf(line, "%llu %llu %llu %llx %u", &dev, &ino, &off, &fp, &fplen) != 5 ||
		    fplen > FP_LEN) {
			log_warn("tail", "ignoring unreadable position file path=%s",
			         s->state_path);
			s->n_saved = 0;
			break;
		}
		s->saved[s->n_saved++] = (struct tail_mark){s->idx, dev, ino, off, fp, fplen};
		line = strchr(line, '\n');
	}
	if (s->n_saved) {
		s->committed = s->saved[0];
		s->have_committed = true;
	}
	free(txt);
}

struct tailer *tail_new(struct agent *ag, const struct strlist *paths, const char *state_dir,
                        char *err, size_t errlen)
{
	struct tailer *t = calloc(1, sizeof(*t));
	char dir[4096];
	int rc;

	if (!t || !(t->src = calloc(paths->n, sizeof(*t->src)))) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->ag = ag;
	t->max_line =
	    ag && ag->ac->max_body < LINE_MAX_BYTES ? (size_t)ag->ac->max_body : LINE_MAX_BYTES;
	pthread_mutex_init(&t->mu, NULL);
	clock_cond_init_mono(&t->cv);
	snprintf(dir, sizeof(dir), "%s/tail", state_dir);
	rc = state_mkdirs(dir);
	if (rc) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
		tail_free(t);
		return NULL;
	}
	for (size_t i = 0; i < paths->n; i++) {
		struct source *s = &t->src[t->n++];
		s->idx = (int)i;
		for (int k = 0; k < QMAX; k++)
			reader_init(&s->q[k]);
		s->path = strdup(paths->v[i]);
		if (!s->path) {
			snprintf(err, errlen, "out of memory");
			tail_free(t);
			return NULL;
		}
		if (ag && strcmp(ag->ac->format, "bentoml") == 0 &&
		    !(s->bento = bentoml_new(s->path, err, errlen))) {
			tail_free(t);
			return NULL;
		}
		s->triton = ag && strcmp(ag->ac->format, "triton") == 0;
		s->textlog = !ag                                         ? -1
		             : strcmp(ag->ac->format, "torchserve") == 0 ? TEXTLOG_TORCHSERVE
		             : strcmp(ag->ac->format, "ray_serve") == 0  ? TEXTLOG_RAY_SERVE
		                                                         : -1;
		snprintf(s->state_path, sizeof(s->state_path), "%s/%016" PRIx64 ".pos", dir,
		         fnv(s->path, strlen(s->path)));
		load_saved(s);
	}
	return t;
}

/* ---- reading lines --------------------------------------------------- */

static void mark_of(const struct source *s, const struct reader *r, struct tail_mark *m)
{
	*m = (struct tail_mark){s->idx, r->dev, r->ino, r->off, r->fp, r->fp_len};
}

/* consume() for --format triton: whole traces instead of lines; a trace
 * still open at the end of the buffer stays there (read again with more).
 * After an over-long trace was dropped, resumes at the next record. */
static int consume_triton(struct tailer *t, struct source *s, struct reader *r, bool final)
{
	double now = clock_now(), mono = clock_mono();
	struct event_batch eb;
	int rc = 0;

	if (r->skipping) {
		size_t k = triton_resync(r->buf, r->blen);
		if (k < r->blen || final)
			r->skipping = false;
		r->off += k;
		memmove(r->buf, r->buf + k, r->blen - k);
		r->blen -= k;
	}
	event_batch_init(&eb);
	while (r->blen) {
		struct triton_report rep;
		struct tail_mark m;
		size_t used;
		event_batch_reset(&eb);
		if (triton_parse(r->buf, r->blen, final, now, mono, LINES_PER_SUBMIT, &eb, &used,
		                 &rep) != 0) {
			log_error("tail", "out of memory reading a Triton trace file");
			rc = -EAGAIN;
			break;
		}
		if (used == 0)
			break;
		uint64_t save_off = r->off;
		r->off += used;
		mark_of(s, r, &m);
		rc = agent_submit(t->ag, INPUT_TAIL, eb.events, eb.n_events, NULL, 0, &m, NULL);
		if (rc) {
			r->off = save_off;
			if (rc != -EAGAIN)
				log_error("tail", "out of memory submitting traces");
			rc = -EAGAIN;
			break;
		}
		/* Counted once the traces are taken (a retry parses them again). */
		stats_add(ST_TRITON_TRACES, rep.traces);
		stats_add(ST_TRITON_TENSORS_REFUSED, rep.tensors_refused);
		stats_add(ST_TRITON_LATENCY_UNKNOWN, rep.latency_unknown);
		if (rep.refused)
			stats_rejected(REJ_MALFORMED, rep.refused);
		if ((rep.refused || rep.tensors_refused) && now - s->last_log > 10) {
			/* Reasons quote bytes of the file: quoted as such. */
			char msg[512], q[256], qm[600], qt[600];
			log_warn(
			    "tail",
			    "Triton trace refused or tensor dropped (more are only counted for "
			    "10 s) path=%s offset=%" PRIu64 " refused=%zu reason=%s "
			    "tensors_dropped=%zu tensor_reason=%s",
			    log_quote(q, sizeof(q), s->path), save_off, rep.refused,
			    log_quote(qm, sizeof(qm),
			              rep.refused ? event_error_format(&rep.first, msg, sizeof(msg))
			                          : ""),
			    rep.tensors_refused, log_quote(qt, sizeof(qt), rep.tensor_reason));
			s->last_log = now;
		}
		memmove(r->buf, r->buf + used, r->blen - used);
		r->blen -= used;
	}
	event_batch_reset(&eb);
	return rc;
}

/* Parses and submits the whole lines in r->buf (up to LINES_PER_SUBMIT
 * per submission). final: the text after the last newline is a line too.
 * Returns 0, or -EAGAIN when the agent is overloaded (nothing consumed). */
static int consume(struct tailer *t, struct source *s, struct reader *r, bool final)
{
	struct event_batch eb;
	double now = clock_now();
	int rc = 0;

	if (s->triton)
		return consume_triton(t, s, r, final);
	event_batch_init(&eb);
	for (;;) {
		size_t pos = 0, lines = 0;
		event_batch_reset(&eb);
		while (pos < r->blen && lines < LINES_PER_SUBMIT) {
			size_t len;
			size_t next = tail_lines_next(r->buf, r->blen, pos, final, &len);
			if (next == 0)
				break;
			lines++;
			stats_add(ST_TAIL_LINES, 1);
			if (r->skipping) {
				r->skipping = false; /* the end of an over-long line */
			} else if (!tail_lines_blank(r->buf + pos, len)) {
				struct event_error err;
				size_t k0 = eb.n_events;
				int prc =
				    s->bento
				        ? bentoml_line(s->bento, r->buf + pos, len, now, &eb, &err)
				    : s->textlog >= 0
				        ? textlog_line((enum textlog_kind)s->textlog, r->buf + pos,
				                       len, now, &eb, &err)
				        : event_parse_body(r->buf + pos, len, EVENT_BODY_EVENTS,
				                           now, 1, &eb, &err);
				if (prc == 1) { /* not a request line (textlog.h) */
					stats_add(ST_TAIL_IGNORED, 1);
					prc = 0;
				}
				if (prc == -1 && err.vector_reason)
					stats_vector_refused(err.vector_reason);
				/* a vector of another dimension than its
				 * feature's refuses the line (vecdim counts it) */
				if (prc == 0 && vecdim_check(t->ag->vecdim, eb.events + k0,
				                             eb.n_events - k0, &err)) {
					eb.n_events = k0;
					prc = -1;
				}
				if (prc != 0) {
					stats_rejected(REJ_MALFORMED, 1);
					if (now - s->last_log > 10) {
						char msg[512], q[256];
						event_error_format(&err, msg, sizeof(msg));
						log_warn("tail",
						         "rejected line (more are only counted for "
						         "10 s) path=%s offset=%" PRIu64
						         " reason=\"%s\"",
						         log_quote(q, sizeof(q), s->path),
						         r->off + pos, msg);
						s->last_log = now;
					}
				}
			}
			pos = next;
		}
		if (pos == 0)
			break;
		struct tail_mark m;
		uint64_t save_off = r->off;
		r->off += pos;
		mark_of(s, r, &m);
		rc = agent_submit(t->ag, INPUT_TAIL, eb.events, eb.n_events, NULL, 0, &m, NULL);
		if (rc) {
			r->off = save_off;
			if (rc != -EAGAIN)
				log_error("tail", "out of memory submitting lines");
			/* The lines stay in the buffer; the next poll tries again. */
			rc = -EAGAIN;
			break;
		}
		memmove(r->buf, r->buf + pos, r->blen - pos);
		r->blen -= pos;
	}
	event_batch_reset(&eb);
	return rc;
}

/* Reads what the file has past the buffer and submits whole lines.
 * Returns bytes read (0 = nothing new), or -1 on error/overload. */
static long read_more(struct tailer *t, struct source *s, struct reader *r)
{
	long total = 0;

	for (int round = 0; round < 64; round++) {
		if (agent_overloaded(t->ag))
			return total ? total : -1;
		size_t ncap = tail_lines_grow(r->bcap, r->blen, CHUNK);
		if (ncap != r->bcap) {
			char *nb = ncap ? realloc(r->buf, ncap) : NULL;
			if (!nb)
				return -1;
			r->buf = nb;
			r->bcap = ncap;
		}
		ssize_t k = pread(r->fd, r->buf + r->blen, CHUNK, (off_t)(r->off + r->blen));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		r->blen += (size_t)k;
		total += k;
		if (consume(t, s, r, false) != 0)
			return total;
		enum tail_overlong ol = tail_lines_overlong(r->blen, t->max_line, &r->skipping);
		if (ol != TAIL_KEEP) {
			/* A line longer than the limit: drop what we have of it
			 * and skip to its end, counting the line once however
			 * many reads it spans. */
			r->off += r->blen;
			r->blen = 0;
		}
		if (ol == TAIL_DROP_NEW) {
			stats_rejected(REJ_TOO_LARGE, 1);
			char q[256];
			log_warn("tail", "line longer than %zu bytes skipped path=%s", t->max_line,
			         log_quote(q, sizeof(q), s->path));
		}
		if ((size_t)k < CHUNK)
			break;
	}
	return total;
}

/* Looks in path's directory for the file with inode (dev, ino); the name is
 * written into out. */
static bool find_by_inode(const char *path, uint64_t dev, uint64_t ino, char *out, size_t cap)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	DIR *d;
	struct dirent *de;
	bool found = false;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) ? (int)(slash - path) : 1,
		         path);
	else
		snprintf(dir, sizeof(dir), ".");
	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		struct stat st;
		if ((uint64_t)de->d_ino != ino)
			continue;
		snprintf(out, cap, "%s/%s", dir, de->d_name);
		if (stat(out, &st) == 0 && (uint64_t)st.st_dev == dev &&
		    (uint64_t)st.st_ino == ino && S_ISREG(st.st_mode)) {
			found = true;
			break;
		}
	}
	closedir(d);
	return found;
}

static void hist_add(struct tailer *t, struct source *s, uint64_t dev, uint64_t ino)
{
	pthread_mutex_lock(&t->mu);
	if (s->nh == HMAX) {
		memmove(s->hist, s->hist + 1, (HMAX - 1) * sizeof(*s->hist));
		s->nh--;
	}
	s->hist[s->nh++] = (struct fileid){dev, ino};
	pthread_mutex_unlock(&t->mu);
}

/* Appends the file at path (or found as p) to the queue, at off. */
static int q_push(struct tailer *t, struct source *s, const char *p, uint64_t off)
{
	if (s->nq == QMAX)
		return -ENOSPC;
	if (reader_open(&s->q[s->nq], p, off) != 0)
		return -1;
	hist_add(t, s, s->q[s->nq].dev, s->q[s->nq].ino);
	s->nq++;
	return 0;
}

static void q_pop(struct source *s)
{
	reader_close(&s->q[0]);
	memmove(s->q, s->q + 1, (s->nq - 1) * sizeof(*s->q));
	s->nq--;
	reader_init(&s->q[s->nq]);
	s->idle = 0;
}

/* Reopens the files of the saved position in order: the first at its
 * offset (if it still starts with the same bytes), later ones from their
 * start; they are found at the path or, renamed, by inode next to it. */
static void resume(struct tailer *t, struct source *s)
{
	char found[8192], q[256];

	s->resumed = true;
	for (size_t k = 0; k < s->n_saved; k++) {
		const struct tail_mark *m = &s->saved[k];
		struct stat st;
		const char *p = NULL;

		if (stat(s->path, &st) == 0 && (uint64_t)st.st_dev == m->dev &&
		    (uint64_t)st.st_ino == m->ino)
			p = s->path;
		else if (find_by_inode(s->path, m->dev, m->ino, found, sizeof(found)))
			p = found;
		if (!p) {
			log_warn("tail",
			         "a file of the saved position is gone; its unread lines are "
			         "lost path=%s",
			         log_quote(q, sizeof(q), s->path));
			continue;
		}
		if (q_push(t, s, p, k == 0 ? m->off : 0) != 0)
			continue;
		struct reader *r = &s->q[s->nq - 1];
		struct stat rs;
		uint64_t h;
		bool ok = fstat(r->fd, &rs) == 0 && (uint64_t)rs.st_size >= r->off;
		if (ok && k == 0 && m->fingerprint_len > 0)
			ok = hash_head(r->fd, m->fingerprint_len, &h) == 0 && h == m->fingerprint;
		if (!ok) {
			log_info("tail",
			         "file was truncated while stopped; reading from the start "
			         "path=%s",
			         log_quote(q, sizeof(q), p));
			stats_add(ST_TAIL_TRUNCATIONS, 1);
			r->off = 0;
			r->fp_len = 0;
			fp_update(r, (uint64_t)rs.st_size);
		}
		if (p != s->path) {
			log_info("tail", "file was rotated while stopped; reading it first path=%s",
			         log_quote(q, sizeof(q), p));
			stats_add(ST_TAIL_ROTATIONS, 1);
		}
	}
}

/* Finishes q[0] (a rotated file): its last line may lack a newline. */
static int finish_head(struct tailer *t, struct source *s)
{
	struct reader *r = &s->q[0];
	if (r->blen && !r->skipping && consume(t, s, r, true) != 0)
		return -1;
	q_pop(s);
	return 0;
}

/* --format triton without a file at the path: Triton's log_frequency
 * files path.0, path.1, ... (each written whole), queued in index order as
 * they appear. After a restart, carries on after the newest file of the
 * saved position. */
static void poll_indexed(struct tailer *t, struct source *s)
{
	char p[4200];
	struct stat st;

	if (stat(s->path, &st) == 0)
		return;
	if (!s->scanned) {
		s->scanned = true;
		for (unsigned long i = 0; i < 1000000; i++) {
			snprintf(p, sizeof(p), "%s.%lu", s->path, i);
			if (stat(p, &st) != 0)
				break;
			for (size_t k = 0; k < s->nq; k++)
				if (s->q[k].ino == (uint64_t)st.st_ino &&
				    s->q[k].dev == (uint64_t)st.st_dev)
					s->next_idx = i + 1;
		}
	}
	while (s->nq < QMAX) {
		snprintf(p, sizeof(p), "%s.%lu", s->path, s->next_idx);
		if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || q_push(t, s, p, 0) != 0)
			break;
		s->next_idx++;
	}
}

static void poll_source(struct tailer *t, struct source *s)
{
	struct stat st, fst;
	char q[256];

	if (!s->resumed)
		resume(t, s);
	if (s->triton)
		poll_indexed(t, s);
	/* A new file at the path: open it now, so a second rotation before
	 * we get to it cannot hide it. */
	if (stat(s->path, &st) == 0) {
		struct reader *last = s->nq ? &s->q[s->nq - 1] : NULL;
		if (!last || (uint64_t)st.st_ino != last->ino || (uint64_t)st.st_dev != last->dev) {
			if (s->nq == QMAX) {
				read_more(t, s, &s->q[0]);
				if (finish_head(t, s) != 0)
					return;
			}
			if (q_push(t, s, s->path, 0) == 0 && last) {
				log_info("tail", "file rotated path=%s",
				         log_quote(q, sizeof(q), s->path));
				stats_add(ST_TAIL_ROTATIONS, 1);
			}
		}
	}
	while (s->nq) {
		struct reader *r = &s->q[0];
		if (fstat(r->fd, &fst) != 0)
			return;
		uint64_t size = (uint64_t)fst.st_size;
		if (s->nq == 1 && (size < r->off + r->blen || fp_changed(r, size))) {
			log_info("tail", "file truncated; reading from the start path=%s",
			         log_quote(q, sizeof(q), s->path));
			stats_add(ST_TAIL_TRUNCATIONS, 1);
			r->off = 0;
			r->blen = 0;
			r->skipping = false;
			r->fp_len = 0;
		}
		fp_update(r, size);
		long n = 0;
		if (size > r->off + r->blen)
			n = read_more(t, s, r);
		if (n < 0 || s->nq == 1)
			return;
		/* q[0] was rotated away: done once the writer has moved on. */
		if (n > 0) {
			s->idle = 0;
			return;
		}
		s->idle++;
		bool next_written = fstat(s->q[1].fd, &fst) == 0 && fst.st_size > 0;
		if (s->idle < OLD_IDLE_POLLS && !next_written)
			return;
		if (finish_head(t, s) != 0)
			return;
	}
}

static void *thread_main(void *arg)
{
	struct tailer *t = arg;

	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		pthread_mutex_unlock(&t->mu);
		for (size_t i = 0; i < t->n; i++)
			poll_source(t, &t->src[i]);
		pthread_mutex_lock(&t->mu);
		if (t->stop)
			break;
		struct timespec ts;
		/* on the monotonic clock: a wall clock set back (NTP step) must
		 * not stop the polling for as long */
		clock_mono_deadline(POLL_S, &ts);
		pthread_cond_timedwait(&t->cv, &t->mu, &ts);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int tail_start(struct tailer *t, char *err, size_t errlen)
{
	if (pthread_create(&t->thread, NULL, thread_main, t) != 0) {
		snprintf(err, errlen, "cannot start the tail thread");
		return -1;
	}
	pthread_setname_np(t->thread, "mlw-tail");
	t->running = true;
	return 0;
}

void tail_stop(struct tailer *t)
{
	if (!t || !t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	t->running = false;
}

void tail_commit(struct tailer *t, const struct tail_mark *marks, size_t n)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < n; i++) {
		if (marks[i].source < 0 || (size_t)marks[i].source >= t->n)
			continue;
		struct source *s = &t->src[marks[i].source];
		s->committed = marks[i];
		s->have_committed = true;
		s->dirty = true;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->src[i].dirty) {
			save_one(&t->src[i], false);
			t->src[i].dirty = false;
		}
	pthread_mutex_unlock(&t->mu);
}

void tail_free(struct tailer *t)
{
	if (!t)
		return;
	tail_stop(t);
	for (size_t i = 0; i < t->n; i++) {
		struct source *s = &t->src[i];
		if (s->have_committed)
			save_one(s, true);
		for (size_t k = 0; k < s->nq; k++)
			reader_close(&s->q[k]);
		free(s->path);
		bentoml_free(s->bento);
	}
	free(t->src);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
