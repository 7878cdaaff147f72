/* json_fast: see json_fast.h. Every path that is not the plain strict
 * case returns -1 (decline): the caller's cJSON parse then decides, so a
 * refusal here never becomes an error message of its own. */
#include "json_fast.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cJSON copies at most 63 characters of a number before strtod */
#define NUM_MAX 63

struct jp {
	const char *p, *end;
	struct arena *a;
	int depth;
};

static locale_t c_locale;
static pthread_once_t c_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* 10^0 .. 10^22: every one exactly representable in a double. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip(struct jp *j)
{
	while (j->p < j->end && blank(*j->p))
		j->p++;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A string at j->p (its opening quote) into the arena; NULL to decline.
 * The bytes between the quotes are taken as they are, like cJSON does
 * (names and values are validated by whoever reads them). */
static char *parse_str(struct jp *j)
{
	const char *s = j->p + 1, *q = s;
	bool esc = false;

	while (q < j->end && *q != '"') {
		if (*q == '\\') {
			if (q + 1 >= j->end)
				return NULL;
			esc = true;
			q++;
		}
		q++;
	}
	if (q >= j->end)
		return NULL;
	size_t n = (size_t)(q - s);
	char *out = arena_alloc_raw(j->a, n + 1), *o = out;
	if (!out)
		return NULL;
	if (!esc) {
		memcpy(out, s, n);
		o += n;
	} else {
		for (const char *c = s; c < q; c++) {
			if (*c != '\\') {
				*o++ = *c;
				continue;
			}
			switch (*++c) {
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				*o++ = *c;
				break;
			default: /* \u (surrogates, NUL...) and invalid escapes: cJSON decides */
				return NULL;
			}
		}
	}
	*o = '\0';
	j->p = q + 1;
	return out;
}

/* A number in RFC 8259 form at j->p. */
static int parse_num(struct jp *j, cJSON *item)
{
	const char *s = j->p, *q = s, *end = j->end;
	uint64_t w = 0;    /* significant digits */
	int sig = 0;       /* how many are in w */
	long exp10 = 0;    /* value = w * 10^exp10 while !slow */
	bool slow = false; /* more than 19 significant digits */
	bool neg = false;
	double v;

	if (*q == '-') {
		neg = true;
		q++;
	}
	if (q >= end || !digit(*q))
		return -1;
	if (*q == '0') {
		q++;
	} else {
		for (; q < end && digit(*q); q++) {
			if (sig < 19) {
				w = w * 10 + (uint64_t)(*q - '0');
				sig++;
			} else {
				slow = true;
			}
		}
	}
	if (q < end && *q == '.') {
		q++;
		if (q >= end || !digit(*q))
			return -1;
		for (; q < end && digit(*q); q++) {
			if (w == 0 && *q == '0') {
				exp10--; /* a leading zero of the fraction */
			} else if (sig < 19) {
				w = w * 10 + (uint64_t)(*q - '0');
				sig++;
				exp10--;
			} else {
				slow = true;
			}
		}
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		long e = 0;
		bool eneg = false;
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			eneg = *q++ == '-';
		if (q >= end || !digit(*q))
			return -1;
		for (; q < end && digit(*q); q++)
			if (e < 100000)
				e = e * 10 + (*q - '0');
		exp10 += eneg ? -e : e;
	}
	/* cJSON hands strtod every following [0-9+-.eE] too: "0000" is
	 * one number to it (an error inside a container anyway) */
	if (q - s > NUM_MAX || (q < end && (digit(*q) || *q == '+' || *q == '-' || *q == '.' ||
	                                    *q == 'e' || *q == 'E')))
		return -1;
#if FLT_EVAL_METHOD == 0
	/* Clinger's fast path: w and 10^|exp10| are exact doubles, so one
	 * multiplication or division rounds correctly, as strtod does. */
	if (!slow && w <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
		v = (double)w;
		v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
		if (neg)
			v = -v;
	} else
#endif
	{
		char buf[NUM_MAX + 1];
		pthread_once(&c_once, make_c_locale);
		if (c_locale == (locale_t)0)
			return -1;
		memcpy(buf, s, (size_t)(q - s));
		buf[q - s] = '\0';
		v = strtod_l(buf, NULL, c_locale);
	}
	item->type = cJSON_Number;
	item->valuedouble = v;
	/* cJSON's saturation */
	if (v >= INT_MAX)
		item->valueint = INT_MAX;
	else if (v <= (double)INT_MIN)
		item->valueint = INT_MIN;
	else
		item->valueint = (int)v;
	j->p = q;
	return 0;
}

static int parse_value(struct jp *j, cJSON *item);

/* An object or an array at j->p; children linked as cJSON links them
 * (next and prev, and the first child's prev is the last child). */
static int parse_container(struct jp *j, cJSON *item, bool obj)
{
	char close = obj ? '}' : ']';
	cJSON *head = NULL, *cur = NULL;

	if (++j->depth > JSON_FAST_DEPTH)
		return -1;
	j->p++;
	skip(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		goto done;
	}
	for (;;) {
		cJSON *n = arena_alloc(j->a, sizeof(*n));
		if (!n)
			return -1;
		if (obj) {
			if (j->p >= j->end || *j->p != '"' || !(n->string = parse_str(j)))
				return -1;
			skip(j);
			if (j->p >= j->end || *j->p != ':')
				return -1;
			j->p++;
			skip(j);
		}
		if (parse_value(j, n))
			return -1;
		if (!head) {
			head = n;
		} else {
			cur->next = n;
			n->prev = cur;
		}
		cur = n;
		skip(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			skip(j);
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		return -1;
	}
done:
	if (head)
		head->prev = cur;
	item->type = obj ? cJSON_Object : cJSON_Array;
	item->child = head;
	j->depth--;
	return 0;
}

static int literal(struct jp *j, const char *word, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int parse_value(struct jp *j, cJSON *item)
{
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		item->valuestring = parse_str(j);
		if (!item->valuestring)
			return -1;
		item->type = cJSON_String;
		return 0;
	case '{':
		return parse_container(j, item, true);
	case '[':
		return parse_container(j, item, false);
	case 't':
		item->type = cJSON_True;
		item->valueint = 1; /* as cJSON sets it */
		return literal(j, "true", 4);
	case 'f':
		item->type = cJSON_False;
		return literal(j, "false", 5);
	case 'n':
		item->type = cJSON_NULL;
		return literal(j, "null", 4);
	default:
		if (*j->p == '-' || digit(*j->p))
			return parse_num(j, item);
		return -1;
	}
}

cJSON *json_fast_parse(struct arena *a, const char *s, size_t len, const char **end)
{
	struct jp j = {s, s + len, a, 0};
	cJSON *root;

	if (!s || len == 0)
		return NULL;
	skip(&j);
	root = arena_alloc(a, sizeof(*root));
	if (!root || parse_value(&j, root))
		return NULL;
	if (end)
		*end = j.p;
	return root;
}
