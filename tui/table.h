/* table: the aligned text tables the subcommands print without --json. Cells
 * are copied (and sanitized: no control character from the database reaches
 * the terminal); widths are computed when the table is printed.
 *
 * Ownership: the table owns its cells; table_free releases them. Errors:
 * -1 when out of memory (the table stays valid). */
#ifndef MLW_TABLE_H
#define MLW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_COLS 24

struct table {
	int ncols;
	const char *head[TABLE_MAX_COLS];
	bool right[TABLE_MAX_COLS];
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
	int cur; /* cells filled in the row being added */
};

/* heads: ncols column titles (static strings); a title starting with '>' is
 * right-aligned (the '>' is not printed). */
void table_init(struct table *t, int ncols, const char *const *heads);
void table_free(struct table *t);
/* Appends the next cell of the current row (starting a new row after the
 * last column). s NULL prints as "-". */
int table_add(struct table *t, const char *s);
int table_addf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints heads and rows, columns separated by two spaces, no trailing
 * spaces. */
void table_print(const struct table *t, FILE *f);

#endif
