/* fuzz-deps: collector/rules.c */
/* libFuzzer target: the alert expression parser and the summary template
 * checker/renderer, on arbitrary bytes. Checks what must hold for any input:
 * no crash, a NUL-terminated error on refusal, and on success a metric,
 * operator and `over` inside their ranges and a per-feature metric that names
 * a feature or '*'. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[512], out[256];
	struct rule_expr e;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err[0] = 'x';
	if (rules_parse_expr(s, &e, err, sizeof(err)) == 0) {
		assert(e.metric >= 0 && e.metric < METRIC_COUNT_);
		assert(e.op >= OP_GT && e.op <= OP_NE);
		assert(isfinite(e.threshold));
		assert(e.over_ms >= 1000 && e.over_ms <= 3600 * 1000 && e.over_ms % 1000 == 0);
		if (rules_metric_per_feature(e.metric))
			assert(e.all_features || (e.feature[0] && strlen(e.feature) <= 128));
		else
			assert(!e.all_features && !e.feature[0]);
		(void)rules_compare(e.op, e.threshold, e.threshold);
	} else {
		assert(memchr(err, '\0', sizeof(err)));
		assert(strstr(err, "at column "));
	}
	if (rules_check_template(s, err, sizeof(err)) == 0) {
		struct rule_vars v = {"r", "m", "f", "1m", 1.5, 2};
		rules_render(s, &v, out, sizeof(out));
		assert(strlen(out) < sizeof(out));
	}
	free(s);
	return 0;
}
