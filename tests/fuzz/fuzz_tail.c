/* fuzz-deps: agent/tail_lines.c */
/* libFuzzer target: the tail reader's line splitting (agent/tail_lines.c)
 * driven as ingest_tail.c's read_more/consume/finish_head drive it: the
 * file is read in chunks, whole lines are consumed after each read, an
 * over-long partial line is dropped and skipped to its newline, and the
 * file's last unterminated line is a line when the file is finished. The
 * first byte sets the chunk size (1-64, the real 64 KiB scaled down), the
 * second the line limit (1-256, max_line), the rest is the file.
 *
 * Checked against a plain split of the whole file on '\n': every line
 * handed to the parser is a line of the file at its offset, in order,
 * none twice; every line shorter than the limit is handed over; every line
 * not handed over was counted as too large exactly once; the buffer never
 * holds more than limit + chunk bytes. Non-blank lines go to the event
 * parser as the agent's do. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "tail_lines.h"

struct run {
	const char *file;
	size_t size;
	size_t next_line; /* offset where the next line handed over may start */
	size_t handed, counted;
	size_t *starts; /* offsets of the file's lines (the oracle) */
	size_t nstarts;
	bool *at; /* at[off]: a line starting at off was handed over */
};

/* A line handed to the parser: it must be the file's line at off. */
static void take(struct run *rn, const char *p, size_t len, size_t off)
{
	struct event_batch eb;
	struct event_error err;

	if (off < rn->next_line || off + len > rn->size || memcmp(p, rn->file + off, len) != 0)
		abort();
	if (memchr(p, '\n', len))
		abort();
	if (off > 0 && rn->file[off - 1] != '\n')
		abort(); /* starts mid-line */
	if (off + len < rn->size && rn->file[off + len] != '\n')
		abort(); /* ends mid-line */
	rn->next_line = off + len + 1;
	rn->at[off] = true;
	rn->handed++;
	if (tail_lines_blank(p, len))
		return;
	event_batch_init(&eb);
	event_parse_body(p, len, EVENT_BODY_EVENTS, 1764072000.0, 1, &eb, &err);
	event_batch_reset(&eb);
}

/* consume(): whole lines of buf (all of it when final). */
static size_t consume(struct run *rn, const char *buf, size_t blen, uint64_t off, bool final,
                      bool *skipping)
{
	size_t pos = 0, len, next;

	while ((next = tail_lines_next(buf, blen, pos, final, &len)) != 0) {
		if (next <= pos || next > blen || pos + len > blen)
			abort();
		if (*skipping)
			*skipping = false;
		else
			take(rn, buf + pos, len, (size_t)off + pos);
		pos = next;
	}
	return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run rn = {0};
	char *buf = NULL;
	size_t blen = 0, bcap = 0, rd = 0;
	uint64_t off = 0; /* file offset of buf[0] */
	bool skipping = false;

	if (size < 2 || size > 65536)
		return 0;
	size_t chunk = 1 + data[0] % 64, max_line = 1 + data[1];
	rn.file = (const char *)data + 2;
	rn.size = size - 2;
	rn.starts = malloc((rn.size + 1) * sizeof(*rn.starts));
	rn.at = calloc(rn.size + 1, sizeof(*rn.at));
	if (!rn.starts || !rn.at)
		goto out;
	for (size_t i = 0; i < rn.size; i++)
		if (i == 0 || rn.file[i - 1] == '\n')
			rn.starts[rn.nstarts++] = i;

	while (rd < rn.size) {
		size_t ncap = tail_lines_grow(bcap, blen, chunk);
		if (ncap == 0 || ncap - blen < chunk)
			abort();
		if (ncap != bcap) {
			char *nb = realloc(buf, ncap);
			if (!nb)
				goto out;
			buf = nb;
			bcap = ncap;
		}
		size_t k = rn.size - rd < chunk ? rn.size - rd : chunk;
		memcpy(buf + blen, rn.file + rd, k);
		blen += k;
		rd += k;
		size_t pos = consume(&rn, buf, blen, off, false, &skipping);
		memmove(buf, buf + pos, blen - pos);
		blen -= pos;
		off += pos;
		enum tail_overlong ol = tail_lines_overlong(blen, max_line, &skipping);
		if (ol != TAIL_KEEP) {
			off += blen;
			blen = 0;
		}
		rn.counted += ol == TAIL_DROP_NEW;
		if (blen >= max_line + chunk || memchr(buf, '\n', blen))
			abort();
	}
	/* finish_head: the last line may lack its newline. */
	if (blen && !skipping)
		blen -= consume(&rn, buf, blen, off, true, &skipping);
	if (blen && !skipping)
		abort();
	/* Every line is handed over or counted once as too large... */
	if (rn.handed + rn.counted != rn.nstarts)
		abort();
	/* ...and every short one is handed over. */
	for (size_t i = 0; i < rn.nstarts; i++) {
		const char *nl = memchr(rn.file + rn.starts[i], '\n', rn.size - rn.starts[i]);
		size_t len = (nl ? (size_t)(nl - rn.file) : rn.size) - rn.starts[i];
		if (len < max_line && !rn.at[rn.starts[i]])
			abort();
	}
out:
	free(buf);
	free(rn.starts);
	free(rn.at);
	return 0;
}
