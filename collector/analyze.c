/* analyze: see analyze.h. */
#include "analyze.h"

#include <stdlib.h>

#include "collector.h"

struct analyze {
	struct collector *c;
};

int analyze_start(struct analyze **out, struct collector *c, char *err, size_t errlen)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -1;
	(*out)->c = c;
	return 0;
}

void analyze_stop(struct analyze *a)
{
	free(a);
}
