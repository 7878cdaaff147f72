/* season: see season.h. */
#include "season.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "jsonw.h"
#include "store.h"

int64_t season_refresh_s(int64_t span)
{
	return span > 0 && span < SEASON_DAY ? span : SEASON_DAY;
}

int64_t season_slot(int64_t start, int64_t window_s)
{
	int64_t h = start / 3600 * 3600;

	if (window_s > 3600)
		return start;
	return h > start ? h - 3600 : h; /* floor for negative times too */
}

int season_parts(int mode, int64_t span, double at, int64_t window_s, struct season_part *out,
                 size_t cap)
{
	size_t n = 0;

	if (mode == REF_MODE_ROLLING) {
		/* days back from at; the oldest part takes what is left */
		int64_t k = (span + SEASON_DAY - 1) / SEASON_DAY;

		if (span < 3600 || k < 1 || (size_t)k > cap)
			return -1;
		for (int64_t i = k; i-- > 0;) {
			double to = at - (double)(i * SEASON_DAY);
			double from = i == k - 1 ? at - (double)span : to - SEASON_DAY;

			out[n++] = (struct season_part){from, to, 0};
		}
		return (int)n;
	}
	if (mode == REF_MODE_HOUR_OF_WEEK) {
		int64_t weeks = span / SEASON_WEEK;
		double len = window_s > 3600 ? (double)window_s : 3600;

		if (weeks < 1 || (size_t)weeks > cap)
			return -1;
		for (int64_t k = weeks; k >= 1; k--) {
			double from = at - (double)(k * SEASON_WEEK);

			out[n++] = (struct season_part){from, from + len, 0};
		}
		return (int)n;
	}
	return -1;
}

int season_build(struct store *st, const char *model, const struct model_config *mc,
                 struct season_part *parts, size_t n, struct ref_result *out, char *err,
                 size_t errlen)
{
	struct refb *b = refb_new(mc);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t before = refb_rows(b);

		if (reference_read_stored(st, model, parts[i].from, parts[i].to, b, err, errlen))
			goto out;
		parts[i].rows = refb_rows(b) - before;
	}
	if (refb_rows(b) == 0) {
		rc = 1;
		goto out;
	}
	rc = refb_finish(b, out, err, errlen) ? -1 : 0;
out:
	refb_free(b);
	return rc;
}

uint32_t season_missing_json(const struct season_part *parts, size_t n, struct jsonw *out)
{
	uint32_t missing = 0;
	bool first = true;

	jsonw_reset(out);
	jsonw_char(out, '[');
	for (size_t i = 0; i < n;) {
		char a[40], b[40];
		size_t j = i;

		if (parts[i].rows) {
			i++;
			continue;
		}
		/* a run of missing parts that touch is one range */
		while (j + 1 < n && !parts[j + 1].rows && parts[j + 1].from <= parts[j].to)
			j++;
		missing += (uint32_t)(j - i + 1);
		if (!first)
			jsonw_char(out, ',');
		first = false;
		clock_format_rfc3339(parts[i].from, a, sizeof(a));
		clock_format_rfc3339(parts[j].to, b, sizeof(b));
		jsonw_raw(out, "{\"from\":", 8);
		jsonw_str(out, a, strlen(a));
		jsonw_raw(out, ",\"to\":", 6);
		jsonw_str(out, b, strlen(b));
		jsonw_char(out, '}');
		i = j + 1;
	}
	jsonw_char(out, ']');
	return missing;
}
