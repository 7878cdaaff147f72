/* cmd_migrate: `mlwatch migrate --from SRC --to DST [--force]` copies a
 * whole store into another, typically a SQLite file into PostgreSQL
 * (common/store/store_copy.h: resumable by running it again, a non-empty
 * target refused without --force). Prints one progress line per table on
 * stderr, or a JSON summary with --json. Single-threaded. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "store_copy.h"

static void progress(const char *table, int64_t done, int64_t total, void *arg)
{
	bool *tty = arg;
	/* one line per table; on a terminal, updated in place per chunk */
	if (*tty)
		fprintf(stderr, "\rmigrate: %-16s %lld/%lld rows%s", table, (long long)done,
		        (long long)total, done >= total ? "\n" : "");
	else if (done >= total)
		fprintf(stderr, "migrate: %-16s %lld rows\n", table, (long long)done);
}

int cmd_migrate(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const allowed[] = {"from", "to", "force", "json", NULL};
	const char *from = cli_get(res, "from"), *to = cli_get(res, "to");
	bool json = cli_has(res, "json"), tty = isatty(2);
	struct store src, dst;
	char err[1024], shown[1024];
	int64_t rows = 0;
	int rc;

	(void)cfg;
	if ((rc = cmd_check_args(res, 0)) || (rc = cmd_check_flags(res, allowed)))
		return rc;
	if (!from || !to) {
		cmd_error("migrate: --from SRC and --to DST are both required");
		return 2;
	}
	if (store_open(&src, from, STORE_RO, false, err, sizeof(err))) {
		cmd_error("%s", err);
		return 1;
	}
	if (store_open(&dst, to, STORE_RW_CREATE, false, err, sizeof(err))) {
		cmd_error("%s", err);
		store_close(&src);
		return 1;
	}
	rc = store_copy(&src, &dst, from, cli_has(res, "force"), json ? NULL : progress, &tty,
	                &rows, err, sizeof(err));
	if (rc == 1) {
		cmd_error("migrate: %s is not empty; --force empties it first",
		          db_redact(to, shown, sizeof(shown)));
	} else if (rc) {
		cmd_error("migrate: %s", err);
		rc = 1;
	} else if (json) {
		cJSON *o = cJSON_CreateObject();
		char *t;
		cJSON_AddStringToObject(o, "from", src.path);
		cJSON_AddStringToObject(o, "to", dst.path);
		cJSON_AddNumberToObject(o, "rows", (double)rows);
		t = cJSON_PrintUnformatted(o);
		if (t)
			printf("%s\n", t);
		cJSON_free(t);
		cJSON_Delete(o);
	} else {
		printf("migrated %lld rows from %s to %s\n", (long long)rows, src.path, dst.path);
	}
	store_close(&dst);
	store_close(&src);
	return rc;
}
