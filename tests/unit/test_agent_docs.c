/* mlwatch-agent(8) keeps up with the code: every flag of the [agent]
 * section and every metric the agent exposes is documented there, and the
 * metrics text is well-formed (one HELP and TYPE per family, then samples). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "stats.h"

struct check {
	char *page;
	int missing;
};

static void check_flag(const char *key, const char *type, const char *def, void *arg)
{
	struct check *c = arg;
	char needle[200];
	size_t n = 0;

	(void)type;
	(void)def;
	n += (size_t)snprintf(needle, sizeof(needle), "\\-\\-");
	for (const char *p = key; *p && n + 3 < sizeof(needle); p++) {
		if (*p == '_') {
			needle[n++] = '\\';
			needle[n++] = '-';
		} else {
			needle[n++] = *p;
		}
	}
	needle[n] = '\0';
	if (!strstr(c->page, needle)) {
		cr_log_error("mlwatch-agent(8) does not document --%s", key);
		c->missing++;
	}
}

static char *page(void)
{
	char *path = h_src("man/mlwatch-agent.8");
	char *s = h_read_file(path, NULL);
	cr_assert_not_null(s, "cannot read %s", path);
	free(path);
	return s;
}

Test(agent_docs, every_flag_is_in_the_man_page)
{
	struct check c = {page(), 0};
	config_for_each_flag(CONFIG_AGENT, check_flag, &c);
	cr_expect_eq(c.missing, 0, "%d flags undocumented", c.missing);
	free(c.page);
}

Test(agent_docs, every_metric_is_in_the_man_page_and_well_formed)
{
	char *man = page();
	size_t len = 0;
	char *txt = stats_render(1.5, &len);
	int families = 0, missing = 0;

	cr_assert_not_null(txt);
	cr_assert_eq(strlen(txt), len);
	char *save = NULL, *prev_type = NULL;
	for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE mlwatch_agent_", 21) == 0) {
			char name[128];
			cr_assert_eq(sscanf(line + 21, "%127s", name), 1);
			families++;
			char needle[160];
			snprintf(needle, sizeof(needle), "\\fB%s", name);
			if (!strstr(man, needle)) {
				cr_log_error("mlwatch-agent(8) does not document %s", name);
				missing++;
			}
			prev_type = line;
		} else if (line[0] != '#') {
			cr_expect_not_null(prev_type, "sample before its TYPE: %s", line);
			cr_expect(strncmp(line, "mlwatch_agent_", 14) == 0, "%s", line);
			char *sp = strrchr(line, ' ');
			cr_assert_not_null(sp);
			char *end;
			strtod(sp + 1, &end);
			cr_expect_eq(*end, '\0', "value of %s", line);
		}
	}
	cr_expect_gt(families, 30);
	cr_expect_eq(missing, 0, "%d metrics undocumented", missing);
	free(txt);
	free(man);
}
