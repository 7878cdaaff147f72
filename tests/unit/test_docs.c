/* The documentation keeps up with the code: every configuration key the
 * loader accepts appears in mlwatch.conf(5), and every man page renders
 * without a warning. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"

struct check {
	char *page;
	int missing;
};

static void check_key(const char *section, const char *key, const char *def, void *arg)
{
	struct check *c = arg;
	char needle[160];
	const char *star = strchr(key, '*');

	(void)def;
	/* "kind.*" is documented as \fBkind.\fR\fIFEATURE\fR */
	snprintf(needle, sizeof(needle), "\\fB%.*s\\fR",
	         star ? (int)(star - key) : (int)strlen(key), key);
	if (!strstr(c->page, needle)) {
		cr_log_error("mlwatch.conf(5) does not document [%s] %s", section, key);
		c->missing++;
	}
}

Test(docs, every_config_key_is_in_mlwatch_conf_5)
{
	char *path = h_src("man/mlwatch.conf.5");
	struct check c = {h_read_file(path, NULL), 0};
	cr_assert_not_null(c.page, "cannot read %s", path);
	config_for_each_key(check_key, &c);
	cr_assert_eq(c.missing, 0, "%d keys undocumented", c.missing);
	free(c.page);
	free(path);
}

Test(docs, man_pages_render_without_warnings)
{
	char *dir = h_src("man");
	DIR *d = opendir(dir);
	struct dirent *e;
	int pages = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 3 || e->d_name[n - 2] != '.' || !strchr("158", e->d_name[n - 1]))
			continue;
		char cmd[1024];
		snprintf(
		    cmd, sizeof(cmd),
		    "MANWIDTH=80 man --warnings -l '%s/%s' 2>&1 >/dev/null | grep -c . || true",
		    dir, e->d_name);
		FILE *p = popen(cmd, "r");
		int warnings = -1;
		cr_assert_not_null(p);
		cr_assert_eq(fscanf(p, "%d", &warnings), 1);
		pclose(p);
		cr_assert_eq(warnings, 0, "man --warnings -l %s: %d warning lines", e->d_name,
		             warnings);
		pages++;
	}
	closedir(d);
	cr_assert_geq(pages, 1);
	free(dir);
}
