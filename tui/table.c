/* table: see table.h. */
#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "text.h"

void table_init(struct table *t, int ncols, const char *const *heads)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols > TABLE_MAX_COLS ? TABLE_MAX_COLS : ncols;
	for (int i = 0; i < t->ncols; i++) {
		t->right[i] = heads[i][0] == '>';
		t->head[i] = heads[i] + (t->right[i] ? 1 : 0);
	}
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

int table_add(struct table *t, const char *s)
{
	char buf[1024];
	size_t idx;

	if (t->ncols == 0)
		return -1;
	if (t->cur == 0) {
		if (t->nrows == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 32;
			char **nc = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*nc));
			if (!nc)
				return -1;
			t->cells = nc;
			t->cap = cap;
		}
		memset(t->cells + t->nrows * (size_t)t->ncols, 0,
		       (size_t)t->ncols * sizeof(char *));
		t->nrows++;
	}
	idx = (t->nrows - 1) * (size_t)t->ncols + (size_t)t->cur;
	text_sanitize(buf, sizeof(buf), s ? s : "-");
	t->cells[idx] = strdup(buf);
	t->cur = (t->cur + 1) % t->ncols;
	return t->cells[idx] ? 0 : -1;
}

int table_addf(struct table *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return table_add(t, buf);
}

static void print_row(const struct table *t, FILE *f, const char *const *cells, const int *w)
{
	char line[8192], buf[2048];
	size_t o = 0, n;

	for (int c = 0; c < t->ncols; c++) {
		const char *s = cells[c] ? cells[c] : "-";
		lay_pad(buf, sizeof(buf), s, w[c], t->right[c], true);
		n = strlen(buf);
		if (o + n + 3 >= sizeof(line))
			break;
		if (c) {
			memcpy(line + o, "  ", 2);
			o += 2;
		}
		memcpy(line + o, buf, n);
		o += n;
	}
	while (o > 0 && line[o - 1] == ' ')
		o--;
	line[o] = '\0';
	fprintf(f, "%s\n", line);
}

void table_print(const struct table *t, FILE *f)
{
	int w[TABLE_MAX_COLS];

	for (int c = 0; c < t->ncols; c++) {
		w[c] = lay_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
			int cw = s ? lay_width(s) : 1;
			if (cw > w[c])
				w[c] = cw;
		}
	}
	print_row(t, f, t->head, w);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, f, (const char *const *)t->cells + r * (size_t)t->ncols, w);
}
