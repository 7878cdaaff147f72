/* store_outbox_group: the outbox queries of grouped notifications (issue
 * 17, item 5): every pending row of a receiver, so the notifier can send the
 * rows of one group (e.g. one model) in one notification. Kept apart from
 * store_alerts.c so the store API can change under it with one file to
 * port. Uses the store_alerts binding's connection; not thread-safe (one
 * notifier thread per connection, as store_alerts). */
#ifndef MLW_STORE_OUTBOX_GROUP_H
#define MLW_STORE_OUTBOX_GROUP_H

#include "store_alerts.h"

/* Calls fn for each pending row of receiver in id order, at most max rows
 * (the row and its payload are valid during the call only). A non-zero
 * return from fn stops the walk. Returns 0, -1 on a database error. */
int store_outbox_pending(struct store_alerts *sa, const char *receiver, size_t max,
                         int (*fn)(void *arg, const struct store_outbox_row *row), void *arg);

#endif
