/* placeholder, replaced in S3 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "store.h"
int db_pg_open(struct db **out, const char *uri, enum db_open_mode mode, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "PostgreSQL is not supported yet");
	return DB_ERROR;
}
char *store_pg_ddl(const char *sqlite_ddl)
{
	return strdup(sqlite_ddl);
}
