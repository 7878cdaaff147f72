/* spool: see spool.h.
 *
 * Positions are (segment id, byte offset). Three cursors order the data:
 * commit <= read <= end. [commit, read) is described by spans, one per
 * record handed out by spool_read (or range skipped or dropped), each done
 * or not; the commit cursor moves over the done prefix. Segments wholly
 * before the commit cursor are deleted. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "state.h"
#include "stats.h"
#include "wire.h"

#define MAGIC       0x314c4d53u /* "SML1" little-endian */
#define MAX_PAYLOAD WIRE_MAX_MESSAGE
#define SCAN_CHUNK  (1u << 20)

struct seg {
	uint64_t id, size;
};

struct span {
	struct spool_pos start;
	uint64_t end;   /* offset in start.seg */
	uint64_t bytes; /* live bytes of the record (0 for skipped ranges) */
	bool done;
};

struct hdr {
	uint32_t len, crc, n_events, n_labels, flags;
	uint64_t seq, n_counted;
};

struct spool {
	char dir[4000];
	uint64_t max_bytes, seg_target;
	struct seg *segs;
	size_t n_segs, cap_segs;
	int wfd; /* the last segment, for appends; -1 when none */
	int rfd; /* cached descriptor of segment rfd_id, for reads */
	uint64_t rfd_id;
	struct spool_pos rd, commit;
	struct span *spans;
	size_t n_spans, cap_spans;
	uint64_t live_bytes, live_records;
	struct timespec last_save;
	time_t last_drop_log;
	uint64_t quiet_drops;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void hdr_encode(uint8_t *b, const struct hdr *h)
{
	put32(b, MAGIC);
	put32(b + 4, h->len);
	put32(b + 8, h->crc);
	put32(b + 12, h->n_events);
	put32(b + 16, h->n_labels);
	put32(b + 20, h->flags);
	put64(b + 24, h->seq);
	put64(b + 32, h->n_counted);
}

static void hdr_decode(const uint8_t *b, struct hdr *h)
{
	h->len = get32(b + 4);
	h->crc = get32(b + 8);
	h->n_events = get32(b + 12);
	h->n_labels = get32(b + 16);
	h->flags = get32(b + 20);
	h->seq = get64(b + 24);
	h->n_counted = get64(b + 32);
}

static uint32_t record_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
	uint8_t h[SPOOL_HEADER];
	memcpy(h, hdr, SPOOL_HEADER);
	put32(h + 8, 0);
	return crc32c(crc32c(0, h, SPOOL_HEADER), payload, len);
}

static void seg_path(const struct spool *s, uint64_t id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%016" PRIx64 ".spool", s->dir, id);
}

static struct seg *seg_find(struct spool *s, uint64_t id, size_t *idx)
{
	for (size_t i = 0; i < s->n_segs; i++)
		if (s->segs[i].id == id) {
			if (idx)
				*idx = i;
			return &s->segs[i];
		}
	return NULL;
}

static struct seg *seg_last(struct spool *s)
{
	return s->n_segs ? &s->segs[s->n_segs - 1] : NULL;
}

static int seg_fd(struct spool *s, uint64_t id)
{
	char path[4096];

	if (s->rfd >= 0 && s->rfd_id == id)
		return s->rfd;
	if (s->rfd >= 0)
		close(s->rfd);
	seg_path(s, id, path, sizeof(path));
	s->rfd = open(path, O_RDONLY | O_CLOEXEC);
	s->rfd_id = id;
	return s->rfd;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = pread(fd, p, len, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO; /* shorter than its recorded size */
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* Checks for a valid record at off of a segment of size bytes. Returns 1
 * (header in *h, payload in *payload when payload != NULL, malloc'd), 0 when
 * what is there is not a valid record, negative errno on I/O error. */
static int try_record(int fd, uint64_t off, uint64_t size, struct hdr *h, uint8_t **payload)
{
	uint8_t hb[SPOOL_HEADER], *buf;
	int rc;

	if (payload)
		*payload = NULL;
	if (off > size || size - off < SPOOL_HEADER)
		return 0;
	rc = pread_full(fd, hb, sizeof(hb), off);
	if (rc)
		return rc;
	if (get32(hb) != MAGIC)
		return 0;
	hdr_decode(hb, h);
	if (h->len > MAX_PAYLOAD || h->len > size - off - SPOOL_HEADER)
		return 0;
	buf = malloc(h->len ? h->len : 1);
	if (!buf)
		return -ENOMEM;
	rc = pread_full(fd, buf, h->len, off + SPOOL_HEADER);
	if (rc) {
		free(buf);
		return rc;
	}
	if (record_crc(hb, buf, h->len) != h->crc) {
		free(buf);
		return 0;
	}
	if (payload)
		*payload = buf;
	else
		free(buf);
	return 1;
}

/* Finds the first valid record at or after off in segment id. Returns 1
 * (*at = its offset), 0 when there is none before the end, <0 on error. */
static int next_valid(struct spool *s, uint64_t id, uint64_t off, struct hdr *h, uint8_t **payload,
                      uint64_t *at)
{
	struct seg *sg = seg_find(s, id, NULL);
	uint8_t *chunk = NULL;
	int fd, rc;

	if (!sg)
		return 0;
	fd = seg_fd(s, id);
	if (fd < 0)
		return -errno;
	rc = try_record(fd, off, sg->size, h, payload);
	if (rc != 0) {
		*at = off;
		return rc;
	}
	/* Resynchronise: look for the next magic that starts a valid record. */
	chunk = malloc(SCAN_CHUNK);
	if (!chunk)
		return -ENOMEM;
	for (uint64_t base = off + 1; base + SPOOL_HEADER <= sg->size;) {
		size_t n = sg->size - base < SCAN_CHUNK ? (size_t)(sg->size - base) : SCAN_CHUNK;
		rc = pread_full(fd, chunk, n, base);
		if (rc)
			goto out;
		for (size_t i = 0; i + 4 <= n; i++) {
			if (get32(chunk + i) != MAGIC)
				continue;
			rc = try_record(fd, base + i, sg->size, h, payload);
			if (rc != 0) {
				*at = base + i;
				goto out;
			}
		}
		if (n < SCAN_CHUNK)
			break;
		base += n - 3; /* a magic may straddle two chunks */
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

static void update_gauges(struct spool *s)
{
	stats_set(ST_SPOOL_BYTES, s->live_bytes);
	stats_set(ST_SPOOL_BATCHES, s->live_records);
}

static int save_cursor(struct spool *s, bool sync)
{
	char path[4096], buf[64];
	int n =
	    snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 "\n", s->commit.seg, s->commit.off);

	snprintf(path, sizeof(path), "%s/cursor", s->dir);
	clock_gettime(CLOCK_MONOTONIC, &s->last_save);
	return state_write_file(path, buf, (size_t)n, sync);
}

static void delete_segment(struct spool *s, size_t idx)
{
	char path[4096];

	seg_path(s, s->segs[idx].id, path, sizeof(path));
	if (s->rfd >= 0 && s->rfd_id == s->segs[idx].id) {
		close(s->rfd);
		s->rfd = -1;
	}
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("spool", "cannot delete segment path=%s error=%s", path, strerror(errno));
	memmove(&s->segs[idx], &s->segs[idx + 1], (s->n_segs - idx - 1) * sizeof(*s->segs));
	s->n_segs--;
}

/* Moves a cursor at the end of a segment that is not the last, or in a
 * segment deleted since, to the start of the next one. */
static void normalize(struct spool *s, struct spool_pos *p)
{
	for (;;) {
		size_t i;
		struct seg *sg = seg_find(s, p->seg, &i);
		if (!sg) {
			size_t k = 0;
			while (k < s->n_segs && s->segs[k].id < p->seg)
				k++;
			if (k == s->n_segs)
				return;
			p->seg = s->segs[k].id;
			p->off = 0;
			continue;
		}
		if (i + 1 < s->n_segs && p->off >= sg->size) {
			p->seg = s->segs[i + 1].id;
			p->off = 0;
			continue;
		}
		return;
	}
}

/* Moves the commit cursor over done spans and deletes consumed segments. */
static void advance_commit(struct spool *s)
{
	size_t k = 0;
	bool moved = false, deleted = false;

	while (k < s->n_spans && s->spans[k].done) {
		s->commit.seg = s->spans[k].start.seg;
		s->commit.off = s->spans[k].end;
		k++;
		moved = true;
	}
	if (k) {
		memmove(s->spans, s->spans + k, (s->n_spans - k) * sizeof(*s->spans));
		s->n_spans -= k;
	}
	if (s->n_spans == 0 && (s->commit.seg != s->rd.seg || s->commit.off != s->rd.off)) {
		s->commit = s->rd;
		moved = true;
	}
	normalize(s, &s->commit);
	while (s->n_segs > 1 && s->segs[0].id < s->commit.seg) {
		delete_segment(s, 0);
		deleted = true;
	}
	normalize(s, &s->rd);
	if (moved) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double age = (double)(now.tv_sec - s->last_save.tv_sec) +
		             (double)(now.tv_nsec - s->last_save.tv_nsec) / 1e9;
		if (deleted || age > 0.2)
			save_cursor(s, false);
	}
}

static int push_span(struct spool *s, struct spool_pos start, uint64_t end, uint64_t bytes,
                     bool done)
{
	if (s->n_spans == s->cap_spans) {
		size_t ncap = s->cap_spans ? s->cap_spans * 2 : 16;
		struct span *ns = realloc(s->spans, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		s->spans = ns;
		s->cap_spans = ncap;
	}
	s->spans[s->n_spans++] = (struct span){start, end, bytes, done};
	return 0;
}

bool spool_has_unread(const struct spool *s)
{
	const struct seg *last = s->n_segs ? &s->segs[s->n_segs - 1] : NULL;
	if (!last)
		return false;
	if (s->rd.seg != last->id)
		return true;
	return s->rd.off < last->size;
}

/* Takes the next unread record (payload in *payload when wanted) and moves
 * the read cursor past it; skipped garbage is counted and recorded as a
 * done span. Returns 1 with *h and *start, 0 when nothing is unread, <0. */
static int take_next(struct spool *s, struct hdr *h, uint8_t **payload, struct spool_pos *start,
                     bool done)
{
	for (;;) {
		struct seg *sg;
		size_t idx;
		uint64_t at = 0;
		int rc;

		normalize(s, &s->rd);
		sg = seg_find(s, s->rd.seg, &idx);
		if (!sg || (idx + 1 == s->n_segs && s->rd.off >= sg->size))
			return 0;
		rc = next_valid(s, s->rd.seg, s->rd.off, h, payload, &at);
		if (rc < 0)
			return rc;
		uint64_t end = rc ? at : sg->size;
		if (end > s->rd.off) {
			/* Garbage between the cursor and the next good record. */
			stats_add(ST_SPOOL_CORRUPT, 1);
			log_warn("spool",
			         "skipped corrupt data segment=%016" PRIx64 " offset=%" PRIu64
			         " bytes=%" PRIu64,
			         s->rd.seg, s->rd.off, end - s->rd.off);
			if (push_span(s, s->rd, end, 0, true))
				return -ENOMEM;
			s->rd.off = end;
		}
		if (rc == 0) {
			if (idx + 1 == s->n_segs)
				return 0;
			continue;
		}
		*start = s->rd;
		uint64_t size = SPOOL_HEADER + (uint64_t)h->len;
		if (push_span(s, s->rd, at + size, size, done)) {
			if (payload) {
				free(*payload);
				*payload = NULL;
			}
			return -ENOMEM;
		}
		s->rd.off = at + size;
		return 1;
	}
}

static void drop_oldest(struct spool *s, struct spool_drop *drop)
{
	struct hdr h;
	struct spool_pos start;
	int rc = take_next(s, &h, NULL, &start, true);

	if (rc == 1) {
		drop->batches++;
		drop->events += h.n_events;
		drop->labels += h.n_labels;
		drop->counted += h.n_counted;
		s->live_bytes -= SPOOL_HEADER + (uint64_t)h.len;
		s->live_records--;
		log_warn("spool",
		         "spool full, dropped oldest batch seq=%" PRIu64 " events=%" PRIu32, h.seq,
		         h.n_events);
	} else if (rc < 0) {
		log_error("spool", "cannot read the spool to drop from it error=%s", strerror(-rc));
	}
	advance_commit(s);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static int load_segments(struct spool *s, char *err, size_t errlen)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;

	if (!d) {
		snprintf(err, errlen, "%s: %s", s->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;
		uint64_t id;
		int used = 0;

		if (strlen(de->d_name) != 22 || strcmp(de->d_name + 16, ".spool") != 0 ||
		    sscanf(de->d_name, "%16" SCNx64 "%n", &id, &used) != 1 || used != 16)
			continue;
		seg_path(s, id, path, sizeof(path));
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (s->n_segs == s->cap_segs) {
			size_t ncap = s->cap_segs ? s->cap_segs * 2 : 16;
			struct seg *ns = realloc(s->segs, ncap * sizeof(*ns));
			if (!ns) {
				closedir(d);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			s->segs = ns;
			s->cap_segs = ncap;
		}
		s->segs[s->n_segs++] = (struct seg){id, (uint64_t)st.st_size};
	}
	closedir(d);
	if (s->n_segs > 1)
		qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_seg);
	return 0;
}

static void load_cursor(struct spool *s)
{
	char path[4096], *txt;
	unsigned long long seg, off;

	snprintf(path, sizeof(path), "%s/cursor", s->dir);
	txt = state_read_file(path, 128, NULL);
	s->commit.seg = s->n_segs ? s->segs[0].id : 1;
	s->commit.off = 0;
	if (!txt)
		return;
	if (sscanf(txt, "%llu %llu", &seg, &off) == 2) {
		struct seg *sg = seg_find(s, seg, NULL);
		if (sg && off <= sg->size) {
			s->commit.seg = seg;
			s->commit.off = off;
		} else if (!sg) {
			/* Its segment is gone: start at the first one after it. */
			for (size_t i = 0; i < s->n_segs; i++)
				if (s->segs[i].id > seg) {
					s->commit.seg = s->segs[i].id;
					break;
				}
		}
	} else {
		log_warn("spool", "ignoring unreadable cursor path=%s", path);
	}
	free(txt);
}

/* Counts the live records from the commit cursor on and cuts a torn tail
 * (anything after the last valid record) off the last segment. */
static int scan(struct spool *s, char *err, size_t errlen)
{
	while (s->n_segs && s->segs[0].id < s->commit.seg)
		delete_segment(s, 0);
	for (size_t i = 0; i < s->n_segs; i++) {
		struct seg *sg = &s->segs[i];
		uint64_t off = i == 0 ? s->commit.off : 0, good_end = off;
		int fd = seg_fd(s, sg->id);

		if (fd < 0) {
			snprintf(err, errlen, "segment %016" PRIx64 ": %s", sg->id,
			         strerror(errno));
			return -1;
		}
		while (off < sg->size) {
			struct hdr h;
			uint64_t at;
			int rc = next_valid(s, sg->id, off, &h, NULL, &at);
			if (rc < 0) {
				snprintf(err, errlen, "segment %016" PRIx64 ": %s", sg->id,
				         strerror(-rc));
				return -1;
			}
			if (rc == 0)
				break;
			s->live_bytes += SPOOL_HEADER + (uint64_t)h.len;
			s->live_records++;
			off = at + SPOOL_HEADER + h.len;
			good_end = off;
		}
		if (i + 1 == s->n_segs && good_end < sg->size) {
			char path[4096];
			seg_path(s, sg->id, path, sizeof(path));
			log_warn("spool", "cut a torn tail path=%s bytes=%" PRIu64, path,
			         sg->size - good_end);
			stats_add(ST_SPOOL_CORRUPT, 1);
			if (truncate(path, (off_t)good_end) != 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				return -1;
			}
			sg->size = good_end;
		}
	}
	return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct spool *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wfd = s->rfd = -1;
	if (strlen(dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "spool dir path too long");
		goto fail;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->max_bytes = max_bytes;
	s->seg_target = max_bytes / 8;
	if (s->seg_target < 16384)
		s->seg_target = 16384;
	if (s->seg_target > (8u << 20))
		s->seg_target = 8u << 20;
	rc = state_mkdirs(dir);
	if (rc) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
		goto fail;
	}
	if (load_segments(s, err, errlen))
		goto fail;
	load_cursor(s);
	if (scan(s, err, errlen))
		goto fail;
	s->rd = s->commit;
	normalize(s, &s->rd);
	normalize(s, &s->commit);
	clock_gettime(CLOCK_MONOTONIC, &s->last_save);
	update_gauges(s);
	if (s->live_records)
		log_info("spool", "found batches to replay batches=%" PRIu64 " bytes=%" PRIu64,
		         s->live_records, s->live_bytes);
	return s;
fail:
	spool_close(s);
	return NULL;
}

int spool_flush(struct spool *s, bool sync)
{
	if (s->wfd >= 0 && sync)
		fdatasync(s->wfd);
	return save_cursor(s, sync);
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->dir[0] && s->n_segs)
		spool_flush(s, true);
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rfd >= 0)
		close(s->rfd);
	free(s->segs);
	free(s->spans);
	free(s);
}

static int open_write_segment(struct spool *s, bool fresh)
{
	char path[4096];
	struct seg *last = seg_last(s);

	if (fresh || !last) {
		uint64_t id = last ? last->id + 1 : 1;
		if (s->n_segs == s->cap_segs) {
			size_t ncap = s->cap_segs ? s->cap_segs * 2 : 16;
			struct seg *ns = realloc(s->segs, ncap * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			s->segs = ns;
			s->cap_segs = ncap;
		}
		seg_path(s, id, path, sizeof(path));
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (s->wfd >= 0)
			close(s->wfd);
		s->wfd = fd;
		s->segs[s->n_segs++] = (struct seg){id, 0};
		if (s->n_segs == 1) {
			s->rd = s->commit = (struct spool_pos){id, 0};
		}
		return 0;
	}
	if (s->wfd >= 0)
		return 0;
	seg_path(s, last->id, path, sizeof(path));
	s->wfd = open(path, O_WRONLY | O_CLOEXEC);
	return s->wfd >= 0 ? 0 : -errno;
}

int spool_append(struct spool *s, uint64_t seq, const uint8_t *buf, size_t len, uint32_t n_events,
                 uint32_t n_labels, uint64_t n_counted, struct spool_drop *drop)
{
	uint8_t hb[SPOOL_HEADER];
	struct hdr h = {(uint32_t)len, 0, n_events, n_labels, 0, seq, n_counted};
	uint64_t size = SPOOL_HEADER + (uint64_t)len;
	struct seg *last;
	int rc;

	if (len > MAX_PAYLOAD || size > s->max_bytes) {
		drop->batches++;
		drop->events += n_events;
		drop->labels += n_labels;
		drop->counted += n_counted;
		log_warn("spool",
		         "batch larger than the spool, dropped seq=%" PRIu64
		         " bytes=%zu spool_max=%" PRIu64,
		         seq, len, s->max_bytes);
		return 1;
	}
	while (s->live_bytes + size > s->max_bytes && spool_has_unread(s)) {
		struct spool_pos before = s->rd;
		uint64_t live = s->live_bytes;
		drop_oldest(s, drop);
		if (s->live_bytes == live && s->rd.seg == before.seg && s->rd.off == before.off)
			break; /* no progress (read error): do not spin */
	}
	last = seg_last(s);
	rc = open_write_segment(s, last && last->size >= s->seg_target);
	if (rc)
		return rc;
	last = seg_last(s);
	hdr_encode(hb, &h);
	h.crc = record_crc(hb, buf, len);
	hdr_encode(hb, &h);
	struct iovec iov[2] = {{hb, sizeof(hb)}, {(void *)buf, len}};
	uint64_t off = last->size;
	size_t left = (size_t)size;
	while (left > 0) {
		ssize_t k = pwritev(s->wfd, iov, 2, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : -EIO;
			if (ftruncate(s->wfd, (off_t)last->size) != 0)
				log_error("spool", "cannot undo a partial write error=%s",
				          strerror(errno));
			return rc;
		}
		left -= (size_t)k;
		off += (uint64_t)k;
		/* Advance the iovecs past what was written. */
		size_t adv = (size_t)k;
		for (int i = 0; i < 2; i++) {
			size_t t = adv < iov[i].iov_len ? adv : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + t;
			iov[i].iov_len -= t;
			adv -= t;
		}
	}
	last->size += size;
	s->live_bytes += size;
	s->live_records++;
	update_gauges(s);
	return 0;
}

int spool_read(struct spool *s, struct spool_record *rec)
{
	struct hdr h;
	struct spool_pos start;
	uint8_t *payload = NULL;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = take_next(s, &h, &payload, &start, false);
	advance_commit(s);
	if (rc <= 0)
		return rc < 0 ? rc : 1;
	rec->seq = h.seq;
	rec->buf = payload;
	rec->len = h.len;
	rec->n_events = h.n_events;
	rec->n_labels = h.n_labels;
	rec->n_counted = h.n_counted;
	rec->pos = start;
	return 0;
}

int spool_ack(struct spool *s, const struct spool_pos *pos)
{
	for (size_t i = 0; i < s->n_spans; i++) {
		struct span *sp = &s->spans[i];
		if (sp->done || sp->start.seg != pos->seg || sp->start.off != pos->off)
			continue;
		sp->done = true;
		s->live_bytes -= sp->bytes;
		s->live_records--;
		advance_commit(s);
		update_gauges(s);
		return 0;
	}
	return -ENOENT;
}

uint64_t spool_bytes(const struct spool *s)
{
	return s->live_bytes;
}

uint64_t spool_records(const struct spool *s)
{
	return s->live_records;
}
