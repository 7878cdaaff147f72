/* db_redact / db_without_password (common/store/db.c): a PostgreSQL URI's
 * password never reaches a log, a notification or another program's
 * command line, whatever form it takes in the URI. */
#include <criterion/criterion.h>
#include <string.h>

#include "db.h"

static const struct {
	const char *in, *redacted, *without;
} cases[] = {
    {"./mlwatch.db", "./mlwatch.db", "./mlwatch.db"},
    {"/var/lib/mlwatch/pass:word@x.db", "/var/lib/mlwatch/pass:word@x.db",
     "/var/lib/mlwatch/pass:word@x.db"},
    {"postgresql://mlw:s3cret@db.example:5432/mlwatch",
     "postgresql://mlw:***@db.example:5432/mlwatch", "postgresql://mlw@db.example:5432/mlwatch"},
    {"postgres://mlw@h/db?password=s3cret", "postgres://mlw@h/db?password=***",
     "postgres://mlw@h/db"},
    {"postgresql://mlw@h/db?sslmode=require&password=s3cret&connect_timeout=5",
     "postgresql://mlw@h/db?sslmode=require&password=***&connect_timeout=5",
     "postgresql://mlw@h/db?sslmode=require&connect_timeout=5"},
    {"postgresql://mlw@h/db?sslmode=require&password=s3cret",
     "postgresql://mlw@h/db?sslmode=require&password=***", "postgresql://mlw@h/db?sslmode=require"},
    /* an already hidden one before a real one: both handled, and the scan
     * ends (it once restarted from the first and never did) */
    {"postgresql://mlw@h/db?password=***&password=s3cret",
     "postgresql://mlw@h/db?password=***&password=***", "postgresql://mlw@h/db"},
    {"host=h dbname=mlwatch user=mlw password=s3cret",
     "host=h dbname=mlwatch user=mlw password=***", "host=h dbname=mlwatch user=mlw"},
    {"postgresql://u:p1@h/db?password=p2", "postgresql://u:***@h/db?password=***",
     "postgresql://u@h/db"},
};

Test(db_uri, passwords_are_hidden_or_removed)
{
	char buf[512];
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		db_redact(cases[i].in, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].redacted, "redact %s", cases[i].in);
		cr_expect_null(strstr(buf, "s3cret"), "%s", buf);
		db_without_password(cases[i].in, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].without, "without %s", cases[i].in);
		cr_expect_null(strstr(buf, "s3cret"), "%s", buf);
	}
	cr_assert_eq(n, 9);
}

Test(db_uri, a_short_buffer_never_holds_a_password_prefix)
{
	char buf[24];

	/* truncated copies still have the secret cut out, not cut short */
	db_redact("postgresql://mlw:s3cret@h/db", buf, sizeof(buf));
	cr_assert_null(strstr(buf, "s3c"), "%s", buf);
}

/* A mistyped scheme is refused, not taken for a file path (which printed
 * the password in "cannot open the lock file"), and its password is hidden
 * in the refusal. Paths, PostgreSQL URIs and libpq key=value pass. */
Test(db_uri, a_mistyped_scheme_is_refused_with_its_password_hidden)
{
	char err[512], buf[256];
	const char *ok[] = {"./mlwatch.db",    "/var/lib/mlwatch/a:b@c.db",
	                    "mlwatch.db",      "postgresql://u:p@h/db",
	                    "postgres://h/db", "host=/tmp dbname=m"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect_eq(db_check_target(ok[i], err, sizeof(err)), 0, "%s: %s", ok[i], err);
	cr_assert_eq(db_check_target("postgresq://mlw:s3cret@h/db", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "postgresq://mlw:***@h/db: unknown database URI scheme 'postgresq' "
	                      "(give a file path or a postgresql:// URI)");
	cr_assert_eq(db_check_target("mysql://root:s3cret@h/db", err, sizeof(err)), -1);
	cr_expect_null(strstr(err, "s3cret"), "%s", err);
	cr_assert_eq(db_check_target("", err, sizeof(err)), -1);
	db_redact("sqlite://u:s3cret@h/x", buf, sizeof(buf));
	cr_expect_str_eq(buf, "sqlite://u:***@h/x");
}
