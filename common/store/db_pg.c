/* db_pg: the PostgreSQL backend of db.h, over libpq.
 *
 * Statements: the store's `?N` / `?` placeholders are rewritten to `$N`
 * when prepared (outside string literals and quoted names). A statement
 * is prepared on the server (a named prepared statement of this
 * connection) at its first execution, with the parameter types taken from
 * what was bound (int8, float8, text, bytea; NULL lets the server infer);
 * when a later execution binds other types it is prepared again. Values go
 * as text, blobs as binary (bytea); results come as text and are converted
 * by the column getters, so numbers round-trip exactly (the server prints
 * float8 in shortest exact form). bytea results are unescaped on demand.
 *
 * Errors: SQLSTATE class 23 (unique, not-null) is DB_CONSTRAINT, 40001 /
 * 40P01 (serialization, deadlock) DB_BUSY, a lost connection DB_ERROR with
 * the server's message. Messages never hold the URI's password (libpq does
 * not put it in them; db_open's own messages use db_redact).
 *
 * Threads: one connection per struct db, used by one thread at a time. */
#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"

/* Type OIDs (pg_type.h is not installed by libpq-dev). */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

/* the protocol's bound (a 16-bit count); `mlwatch migrate` sends up to
 * 32,000 a statement (common/store/store_copy.c) */
#define PG_MAX_PARAMS 65535

struct db_pg {
	struct db base;
	PGconn *c;
	char err[512];
	int64_t changes;
	unsigned next_name; /* prepared statement names: s1, s2, ... */
	unsigned gen;       /* connection generation: +1 at each reconnect */
	bool ro;
};

struct db_pg_stmt {
	struct db_stmt base;
	struct db_pg *db;
	char *sql; /* with $N */
	int nparams;
	bool *used; /* [nparams + 1]: which $N the text refers to */
	char name[24];
	bool prepared;
	unsigned prep_gen; /* the connection generation it was prepared on */
	/* per parameter, [nparams] each, allocated with the statement */
	Oid *prep_types; /* the types it was prepared with */
	Oid *t;          /* ensure_prepared's scratch */
	/* bound values: text (numbers printed into num), or binary bytea */
	Oid *types;
	const char **vals;
	int *lens;
	int *fmts;
	char (*num)[32];
	char **owned; /* copies (db_bind_text_copy, sized text) */
	/* result */
	PGresult *res;
	int row, nrows;
	bool ran;
	unsigned char **blob; /* unescaped bytea per column of the current row */
	size_t *bloblen;
	int nblob;
};

#define D(db) ((struct db_pg *)(db))
#define S(st) ((struct db_pg_stmt *)(st))

static void set_err(struct db_pg *d, const char *msg)
{
	size_t n;

	snprintf(d->err, sizeof(d->err), "%s", msg && *msg ? msg : "unknown PostgreSQL error");
	n = strlen(d->err);
	while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
		d->err[--n] = '\0';
}

/* Maps a failed result to a DB_* code and keeps its message. */
static int fail_code(struct db_pg *d, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	set_err(d, r ? PQresultErrorMessage(r) : PQerrorMessage(d->c));
	if (PQstatus(d->c) != CONNECTION_OK)
		return DB_ERROR;
	if (state && !strncmp(state, "23", 2))
		return DB_CONSTRAINT;
	if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
		return DB_BUSY;
	if (state && !strcmp(state, "25006"))
		return DB_READONLY;
	return DB_ERROR;
}

static void pg_close(struct db *db)
{
	PQfinish(D(db)->c);
	free(db);
}

static const char *pg_errmsg(struct db *db)
{
	return D(db)->err;
}

static int session_setup(struct db_pg *d);

/* A connection lost (server restarted, network) is reset before the next
 * statement: the statement that saw the loss failed (its transaction is
 * gone and the caller rolls back and retries); prepared statements are
 * prepared again on the new connection (gen). */
static void revive(struct db_pg *d)
{
	if (PQstatus(d->c) != CONNECTION_BAD)
		return;
	PQreset(d->c);
	if (PQstatus(d->c) == CONNECTION_OK && session_setup(d) == DB_OK)
		d->gen++;
}

static int pg_exec(struct db *db, const char *sql)
{
	PGresult *r;
	int rc = DB_OK;

	revive(D(db));
	r = PQexec(D(db)->c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = fail_code(D(db), r);
	else if (st == PGRES_COMMAND_OK)
		D(db)->changes = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return rc;
}

static int pg_begin(struct db *db, bool write)
{
	return pg_exec(db, "BEGIN");
}

static int pg_commit(struct db *db)
{
	return pg_exec(db, "COMMIT");
}

static int pg_rollback(struct db *db)
{
	return pg_exec(db, "ROLLBACK");
}

static int64_t pg_changes(struct db *db)
{
	return D(db)->changes;
}

/* `?N` / `?` -> `$N`, outside '...' literals and "..." names. *used gets
 * a malloc'd array of *nparams + 1: which $N the text refers to (grown as
 * they appear: most statements have a few, `mlwatch migrate` thousands). */
static char *rewrite(const char *sql, int *nparams, bool **used_out)
{
	size_t n = strlen(sql);
	/* a bare `?` (one byte) becomes at most `$65535` (six) */
	char *out = malloc(n * 6 + 16), *o = out;
	bool *used = calloc(65, sizeof(bool));
	int next = 0, max = 0, cap = 64;
	char quote = 0;

	if (!out || !used)
		goto fail;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			*o++ = *p;
			if (*p == quote)
				quote = 0;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
			continue;
		}
		if (*p != '?') {
			*o++ = *p;
			continue;
		}
		int k;
		if (isdigit((unsigned char)p[1])) {
			k = (int)strtol(p + 1, (char **)&p, 10);
			p--;
		} else {
			k = ++next;
		}
		if (k < 1 || k > PG_MAX_PARAMS)
			goto fail;
		if (k > cap) {
			int grown = cap;
			while (grown < k)
				grown *= 2;
			bool *u = realloc(used, ((size_t)grown + 1) * sizeof(bool));
			if (!u)
				goto fail;
			memset(u + cap + 1, 0, (size_t)(grown - cap) * sizeof(bool));
			used = u;
			cap = grown;
		}
		used[k] = true;
		if (k > max)
			max = k;
		o += sprintf(o, "$%d", k);
	}
	*o = '\0';
	*nparams = max;
	*used_out = used;
	return out;
fail:
	free(out);
	free(used);
	return NULL;
}

static const struct db_ops pg_ops;
static void pg_finalize(struct db_stmt *st);

static int pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_pg_stmt *s = calloc(1, sizeof(*s));

	if (!s)
		return DB_NOMEM;
	s->base.ops = &pg_ops;
	s->db = D(db);
	s->sql = rewrite(sql, &s->nparams, &s->used);
	if (!s->sql) {
		set_err(D(db), "more than 65535 parameters, or out of memory");
		free(s);
		return DB_ERROR;
	}
	size_t n = (size_t)s->nparams + 1; /* never 0 */
	s->prep_types = calloc(n, sizeof(Oid));
	s->t = calloc(n, sizeof(Oid));
	s->types = calloc(n, sizeof(Oid));
	s->vals = calloc(n, sizeof(char *));
	s->lens = calloc(n, sizeof(int));
	s->fmts = calloc(n, sizeof(int));
	s->num = calloc(n, sizeof(*s->num));
	s->owned = calloc(n, sizeof(char *));
	if (!s->prep_types || !s->t || !s->types || !s->vals || !s->lens || !s->fmts || !s->num ||
	    !s->owned) {
		set_err(D(db), "out of memory");
		pg_finalize(&s->base);
		return DB_NOMEM;
	}
	*out = &s->base;
	return DB_OK;
}

static void drop_blobs(struct db_pg_stmt *s)
{
	for (int i = 0; i < s->nblob; i++) {
		if (s->blob[i])
			PQfreemem(s->blob[i]);
		s->blob[i] = NULL;
	}
}

static void drop_result(struct db_pg_stmt *s)
{
	drop_blobs(s);
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	s->nrows = 0;
	s->ran = false;
}

static void deallocate(struct db_pg_stmt *s)
{
	char sql[64];
	PGresult *r;

	if (!s->prepared || s->prep_gen != s->db->gen || PQstatus(s->db->c) != CONNECTION_OK)
		return;
	/* inside a failed transaction this fails too; the name is then
	 * simply left until the connection closes */
	snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
	r = PQexec(s->db->c, sql);
	PQclear(r);
	s->prepared = false;
}

static void pg_finalize(struct db_stmt *st)
{
	struct db_pg_stmt *s = S(st);

	drop_result(s);
	deallocate(s);
	for (int i = 0; s->owned && i < s->nparams; i++)
		free(s->owned[i]);
	free(s->used);
	free(s->prep_types);
	free(s->t);
	free(s->types);
	free(s->vals);
	free(s->lens);
	free(s->fmts);
	free(s->num);
	free(s->owned);
	free(s->blob);
	free(s->bloblen);
	free(s->sql);
	free(s);
}

static int param(struct db_pg_stmt *s, int i)
{
	if (i < 1 || i > s->nparams)
		return -1;
	free(s->owned[i - 1]);
	s->owned[i - 1] = NULL;
	return i - 1;
}

static int pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	struct db_pg_stmt *s = S(st);
	int k = param(s, i);

	if (k < 0)
		return DB_ERROR;
	snprintf(s->num[k], sizeof(s->num[k]), "%" PRId64, v);
	s->vals[k] = s->num[k];
	s->types[k] = OID_INT8;
	s->fmts[k] = 0;
	return DB_OK;
}

static int pg_bind_double(struct db_stmt *st, int i, double v)
{
	struct db_pg_stmt *s = S(st);
	int k = param(s, i);

	if (k < 0)
		return DB_ERROR;
	if (isnan(v))
		snprintf(s->num[k], sizeof(s->num[k]), "NaN");
	else if (isinf(v))
		snprintf(s->num[k], sizeof(s->num[k]), v > 0 ? "Infinity" : "-Infinity");
	else
		snprintf(s->num[k], sizeof(s->num[k]), "%.17g", v);
	s->vals[k] = s->num[k];
	s->types[k] = OID_FLOAT8;
	s->fmts[k] = 0;
	return DB_OK;
}

static int pg_bind_text(struct db_stmt *st, int i, const char *v, int n, bool copy)
{
	struct db_pg_stmt *s = S(st);
	int k = param(s, i);

	if (k < 0)
		return DB_ERROR;
	if (!v) {
		s->vals[k] = NULL;
		s->types[k] = 0;
		return DB_OK;
	}
	/* text params are NUL-terminated for libpq: a sized or copied one
	 * is duplicated */
	if (copy || n >= 0) {
		s->owned[k] = n >= 0 ? strndup(v, (size_t)n) : strdup(v);
		if (!s->owned[k])
			return DB_NOMEM;
		v = s->owned[k];
	}
	s->vals[k] = v;
	s->types[k] = OID_TEXT;
	s->fmts[k] = 0;
	return DB_OK;
}

static int pg_bind_blob(struct db_stmt *st, int i, const void *v, int n)
{
	struct db_pg_stmt *s = S(st);
	int k = param(s, i);

	if (k < 0)
		return DB_ERROR;
	s->vals[k] = v ? v : "";
	s->lens[k] = n;
	s->types[k] = OID_BYTEA;
	s->fmts[k] = 1;
	return DB_OK;
}

static int pg_bind_null(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);
	int k = param(s, i);

	if (k < 0)
		return DB_ERROR;
	s->vals[k] = NULL;
	s->types[k] = 0;
	s->fmts[k] = 0;
	return DB_OK;
}

static int pg_param_count(struct db_stmt *st)
{
	return S(st)->nparams;
}

/* The types to prepare with: what was bound; NULL/unbound as "infer" when
 * the text uses the parameter, int8 when it does not (the server must
 * know every $N's type up to the highest). */
static void prep_types(struct db_pg_stmt *s, Oid *t)
{
	for (int k = 0; k < s->nparams; k++)
		t[k] = s->types[k] ? s->types[k] : s->used[k + 1] ? 0 : OID_INT8;
}

/* Whether a value bound as type `bound` (sent as text) can go to a
 * parameter prepared as `prep`: NULL always, an integer to any number. */
static bool compatible(Oid bound, Oid prep)
{
	if (bound == 0 || bound == prep)
		return true;
	if (bound == OID_INT8)
		return prep == OID_FLOAT8 || prep == OID_NUMERIC || prep == OID_FLOAT4;
	return false;
}

static int ensure_prepared(struct db_pg_stmt *s)
{
	Oid *t = s->t;
	PGresult *r;
	int rc = DB_OK;

	prep_types(s, t);
	if (s->prepared && s->prep_gen != s->db->gen)
		s->prepared = false; /* made on a connection since lost */
	if (s->prepared) {
		bool same = true;
		for (int k = 0; k < s->nparams && same; k++)
			same = compatible(t[k], s->prep_types[k]);
		if (same)
			return DB_OK;
		deallocate(s);
	}
	snprintf(s->name, sizeof(s->name), "mlw%u", ++s->db->next_name);
	r = PQprepare(s->db->c, s->name, s->sql, s->nparams, t);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && state &&
	    (!strcmp(state, "42P08") || !strcmp(state, "42P18"))) {
		/* a NULL whose type the server cannot infer, as in "(?2 IS NULL
		 * OR feature = ?2)": the store's optional filters are text */
		PQclear(r);
		for (int k = 0; k < s->nparams; k++)
			if (t[k] == 0)
				t[k] = OID_TEXT;
		r = PQprepare(s->db->c, s->name, s->sql, s->nparams, t);
	}
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = fail_code(s->db, r);
	else {
		s->prepared = true;
		s->prep_gen = s->db->gen;
		memcpy(s->prep_types, t, sizeof(Oid) * (size_t)s->nparams);
	}
	PQclear(r);
	bool inferred = false;
	for (int k = 0; k < s->nparams; k++)
		inferred |= t[k] == 0;
	if (rc == DB_OK && inferred) {
		/* some types were left to the server: learn which it chose */
		r = PQdescribePrepared(s->db->c, s->name);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			for (int k = 0; k < s->nparams && k < PQnparams(r); k++)
				s->prep_types[k] = PQparamtype(r, k);
		PQclear(r);
	}
	return rc;
}

static int pg_step(struct db_stmt *st)
{
	struct db_pg_stmt *s = S(st);
	int rc;

	if (!s->ran) {
		ExecStatusType es;
		drop_result(s);
		revive(s->db);
		rc = ensure_prepared(s);
		if (rc != DB_OK)
			return rc;
		s->res =
		    PQexecPrepared(s->db->c, s->name, s->nparams, s->vals, s->lens, s->fmts, 0);
		s->ran = true;
		es = PQresultStatus(s->res);
		if (es == PGRES_COMMAND_OK) {
			s->db->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
			return DB_DONE;
		}
		if (es != PGRES_TUPLES_OK)
			return fail_code(s->db, s->res);
		s->nrows = PQntuples(s->res);
		if (*PQcmdTuples(s->res))
			s->db->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		if (PQnfields(s->res) > s->nblob) {
			int nf = PQnfields(s->res);
			unsigned char **b = realloc(s->blob, sizeof(*b) * (size_t)nf);
			size_t *bl;
			if (!b)
				return DB_NOMEM;
			s->blob = b;
			bl = realloc(s->bloblen, sizeof(*bl) * (size_t)nf);
			if (!bl)
				return DB_NOMEM;
			s->bloblen = bl;
			for (int i = s->nblob; i < nf; i++)
				s->blob[i] = NULL;
			s->nblob = nf;
		}
		s->row = -1;
	}
	if (!s->res || PQresultStatus(s->res) != PGRES_TUPLES_OK)
		return DB_DONE;
	drop_blobs(s);
	if (++s->row < s->nrows)
		return DB_ROW;
	s->row = s->nrows;
	return DB_DONE;
}

static int pg_reset(struct db_stmt *st)
{
	drop_result(S(st));
	return DB_OK;
}

static int pg_clear(struct db_stmt *st)
{
	struct db_pg_stmt *s = S(st);

	for (int k = 0; k < s->nparams; k++) {
		free(s->owned[k]);
		s->owned[k] = NULL;
		s->vals[k] = NULL;
		s->types[k] = 0;
		s->fmts[k] = 0;
		s->lens[k] = 0;
	}
	return DB_OK;
}

static bool have(struct db_pg_stmt *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < PQnfields(s->res);
}

static int pg_ncol(struct db_stmt *st)
{
	return S(st)->res ? PQnfields(S(st)->res) : 0;
}

static const char *pg_colname(struct db_stmt *st, int i)
{
	return S(st)->res ? PQfname(S(st)->res, i) : NULL;
}

static int pg_coltype(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);

	if (!have(s, i) || PQgetisnull(s->res, s->row, i))
		return DB_NULL;
	switch (PQftype(s->res, i)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return DB_INTEGER;
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		return DB_FLOAT;
	case OID_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

static double pg_col_double(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);
	const char *v;

	if (!have(s, i) || PQgetisnull(s->res, s->row, i))
		return 0.0;
	v = PQgetvalue(s->res, s->row, i);
	if (PQftype(s->res, i) == OID_BOOL)
		return v[0] == 't' ? 1.0 : 0.0;
	return strtod(v, NULL);
}

static int64_t pg_col_int64(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);
	const char *v;
	char *end;
	long long n;

	if (!have(s, i) || PQgetisnull(s->res, s->row, i))
		return 0;
	v = PQgetvalue(s->res, s->row, i);
	if (PQftype(s->res, i) == OID_BOOL)
		return v[0] == 't';
	n = strtoll(v, &end, 10);
	if (*end == '.' || *end == 'e' || *end == 'E') {
		/* a real read as an integer: truncated, as SQLite does */
		double d = strtod(v, NULL);
		return isfinite(d) && fabs(d) < 9.2e18 ? (int64_t)d : 0;
	}
	return n;
}

static const unsigned char *pg_text(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);

	if (!have(s, i) || PQgetisnull(s->res, s->row, i))
		return NULL;
	return (const unsigned char *)PQgetvalue(s->res, s->row, i);
}

static const void *pg_blob(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);

	if (!have(s, i) || PQgetisnull(s->res, s->row, i))
		return NULL;
	if (PQftype(s->res, i) != OID_BYTEA)
		return PQgetvalue(s->res, s->row, i);
	if (!s->blob[i]) {
		s->blob[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, i),
		                             &s->bloblen[i]);
		if (!s->blob[i])
			return NULL;
	}
	/* an empty bytea: a non-NULL pointer, 0 bytes */
	return s->blob[i];
}

static int pg_bytes(struct db_stmt *st, int i)
{
	struct db_pg_stmt *s = S(st);

	if (!have(s, i) || PQgetisnull(s->res, s->row, i))
		return 0;
	if (PQftype(s->res, i) != OID_BYTEA)
		return PQgetlength(s->res, s->row, i);
	if (!pg_blob(st, i))
		return 0;
	return (int)s->bloblen[i];
}

/* COPY ... FROM STDIN with buf as its data (db_bulk's binary rows). The
 * data goes in pieces of at most 1 MiB (libpq buffers what it cannot send
 * at once; a blocking connection waits). A failure (a bad value, a lost
 * connection) comes back as the COPY's result, after the data. */
static int pg_copy_in(struct db *db, const char *sql, const void *buf, size_t len, int64_t *rows)
{
	struct db_pg *d = D(db);
	PGresult *r;
	int rc = DB_OK;

	revive(d);
	r = PQexec(d->c, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = fail_code(d, r);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < (1u << 20) ? len - off : (1u << 20);
		if (PQputCopyData(d->c, (const char *)buf + off, (int)n) != 1) {
			set_err(d, PQerrorMessage(d->c));
			PQputCopyEnd(d->c, "mlwatch: sending the rows failed");
			rc = DB_ERROR;
			break;
		}
		off += n;
	}
	if (rc == DB_OK && PQputCopyEnd(d->c, NULL) != 1) {
		set_err(d, PQerrorMessage(d->c));
		rc = DB_ERROR;
	}
	/* the COPY's own result, then NULL; a failure in it wins */
	while ((r = PQgetResult(d->c)) != NULL) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			d->changes = strtoll(PQcmdTuples(r), NULL, 10);
			if (rows)
				*rows = d->changes;
		} else if (rc == DB_OK) {
			rc = fail_code(d, r);
		}
		PQclear(r);
	}
	return rc;
}

static const struct db_ops pg_ops = {
    .engine = DB_POSTGRES,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .changes = pg_changes,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .param_count = pg_param_count,
    .step = pg_step,
    .reset = pg_reset,
    .clear_bindings = pg_clear,
    .column_count = pg_ncol,
    .column_name = pg_colname,
    .column_type = pg_coltype,
    .column_int64 = pg_col_int64,
    .column_double = pg_col_double,
    .column_text = pg_text,
    .column_blob = pg_blob,
    .column_bytes = pg_bytes,
    .copy_in = pg_copy_in,
};

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs (e.g. "relation exists") are not errors */
}

static int session_setup(struct db_pg *d)
{
	PGresult *r;
	int rc = DB_OK;

	PQsetNoticeProcessor(d->c, quiet, NULL);
	/* UTC, and a reader that never writes by mistake */
	r = PQexec(d->c, d->ro ? "SET TIME ZONE 'UTC'; "
	                         "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
	                       : "SET TIME ZONE 'UTC'");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = fail_code(d, r);
	PQclear(r);
	return rc;
}

int db_pg_open(struct db **out, const char *uri, enum db_open_mode mode, char *err, size_t errlen)
{
	struct db_pg *d = calloc(1, sizeof(*d));
	char shown[1024];

	*out = NULL;
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return DB_NOMEM;
	}
	d->base.ops = &pg_ops;
	d->c = PQconnectdb(uri);
	if (!d->c || PQstatus(d->c) != CONNECTION_OK) {
		char msg[512];
		/* libpq's message names host, port and user, never the password */
		snprintf(msg, sizeof(msg), "%s", d->c ? PQerrorMessage(d->c) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		snprintf(err, errlen, "%s: cannot connect: %s",
		         db_redact(uri, shown, sizeof(shown)), msg);
		PQfinish(d->c);
		free(d);
		return DB_ERROR;
	}
	d->ro = mode == DB_OPEN_RO;
	if (session_setup(d) != DB_OK) {
		snprintf(err, errlen, "%s: %s", db_redact(uri, shown, sizeof(shown)), d->err);
		pg_close(&d->base);
		return DB_ERROR;
	}
	*out = &d->base;
	return DB_OK;
}

bool db_pg_reachable(const char *uri)
{
	return PQping(uri) == PQPING_OK;
}

/* ---- schema ---------------------------------------------------------------
 * The migrations are written for SQLite; PostgreSQL gets them rewritten
 * (types, identity keys, WITHOUT ROWID dropped, the column "end" quoted)
 * plus, before the first, the SQLite functions the shared queries use:
 * total() (a sum that is 0.0 over no rows) and the scalar max(a, b). */
static const char pg_prelude[] =
    "CREATE AGGREGATE total(double precision) (SFUNC = float8pl, STYPE = float8, "
    "INITCOND = '0');\n"
    "CREATE FUNCTION mlw_total_bool(float8, boolean) RETURNS float8 AS "
    "'SELECT $1 + $2::int' LANGUAGE SQL IMMUTABLE STRICT;\n"
    "CREATE AGGREGATE total(boolean) (SFUNC = mlw_total_bool, STYPE = float8, "
    "INITCOND = '0');\n"
    "CREATE FUNCTION max(float8, float8) RETURNS float8 AS 'SELECT GREATEST($1, $2)' "
    "LANGUAGE SQL IMMUTABLE;\n"
    "CREATE FUNCTION max(bigint, bigint) RETURNS bigint AS 'SELECT GREATEST($1, $2)' "
    "LANGUAGE SQL IMMUTABLE;\n"
    "CREATE FUNCTION min(float8, float8) RETURNS float8 AS 'SELECT LEAST($1, $2)' "
    "LANGUAGE SQL IMMUTABLE;\n"
    "CREATE FUNCTION min(bigint, bigint) RETURNS bigint AS 'SELECT LEAST($1, $2)' "
    "LANGUAGE SQL IMMUTABLE;\n";

struct swap {
	const char *from, *to;
};

char *store_pg_ddl(const char *sqlite_ddl)
{
	static const struct swap swaps[] = {
	    {"INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
	    {" INTEGER", " BIGINT"},
	    {" REAL", " DOUBLE PRECISION"},
	    {" BLOB", " BYTEA"},
	    {" WITHOUT ROWID", ""},
	    /* byte order, as SQLite's: ORDER BY name must not depend on the
	     * database's locale (en_US would put "@score" after "amount") */
	    {" TEXT", " TEXT COLLATE \"C\""},
	    {" end BIGINT", " \"end\" BIGINT"},
	};
	const bool first = strstr(sqlite_ddl, "CREATE TABLE meta ") != NULL;
	size_t cap = strlen(sqlite_ddl) * 3 + sizeof(pg_prelude) + 1;
	char *a = malloc(cap), *b = malloc(cap);

	if (!a || !b) {
		free(a);
		free(b);
		return NULL;
	}
	snprintf(a, cap, "%s%s", first ? pg_prelude : "", sqlite_ddl);
	for (size_t k = 0; k < sizeof(swaps) / sizeof(swaps[0]); k++) {
		const char *p = a;
		char *o = b;
		size_t fl = strlen(swaps[k].from), tl = strlen(swaps[k].to);
		const char *hit;
		while ((hit = strstr(p, swaps[k].from)) != NULL) {
			/* "INTEGER PRIMARY KEY" only where it is the column's whole
			 * declaration (not in a composite PRIMARY KEY (...)) */
			memcpy(o, p, (size_t)(hit - p));
			o += hit - p;
			memcpy(o, swaps[k].to, tl);
			o += tl;
			p = hit + fl;
		}
		strcpy(o, p);
		char *t = a;
		a = b;
		b = t;
	}
	free(b);
	return a;
}

void *db_pg_handle(struct db *db)
{
	if (!db || db->ops != &pg_ops)
		return NULL;
	return ((struct db_pg *)db)->c;
}
