/* alert_state: the alert state machine, per (rule, model, feature):
 *
 *   inactive --cond--> pending --cond held `for`--> firing --!cond--> resolved
 *       ^                 |                          (for = 0 fires at once)
 *       +------!cond------+  (a pending alert that clears is deleted)
 *
 * State lives in the alerts table and is mirrored in memory; one tick reads
 * every rule's values through an alert_source (so tests can drive it with
 * made-up values and clocks), then applies all transitions and writes the
 * notifications they cause to the outbox in ONE transaction, so a crash
 * leaves either both or neither. On start the active rows are loaded back:
 * a restart neither re-sends a firing alert nor forgets a pending one's
 * ActiveAt, and repeat_interval counts from the stored last_notified.
 *
 * Notifications: "firing" when an alert fires (or first goes out after a
 * silence), "repeat" every repeat_interval while firing, "resolved" when it
 * ends (send_resolved) if its receivers were told it fired. A silence
 * matching (rule, model) or an ack suppresses firing/repeat notifications,
 * not state; when a silence ends on a still-firing alert, exactly one
 * "firing" goes out. A resolve still goes out under a silence or ack when
 * the receivers had been told it fired, so no incident stays open forever.
 *
 * Not thread-safe: one evaluation thread owns an engine and its store. */
#ifndef MLW_ALERT_STATE_H
#define MLW_ALERT_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "rules.h"
#include "store_alerts.h"

/* Where metric values come from (the ring and the database in mlwatchd).
 * Callbacks return 0 with the value (NAN = no value: the condition is
 * false), 1 when the value cannot be known yet (the instances keep their
 * state this tick: the ring right after a restart), 2 (value only) when the
 * interval holds no data at all (traffic stopped: the instance keeps its
 * state and is marked nodata; a "nodata" notification goes out for a
 * firing one when its rule has notify_nodata), -1 on error (same as 1, and
 * logged by the source). `window` receives the {window} text. */
struct alert_source {
	void *ctx;
	/* Calls fn for every model a rule with model = "*" covers. */
	void (*models)(void *ctx, void (*fn)(void *arg, const char *model), void *arg);
	/* A model-level metric, or a per-feature metric of one named feature. */
	int (*value)(void *ctx, const struct rule_expr *e, const char *model, const char *feature,
	             double now, double *value, char *window, size_t wcap);
	/* A per-feature metric for every feature that has a value. */
	int (*features)(void *ctx, const struct rule_expr *e, const char *model, double now,
	                void (*fn)(void *arg, const char *feature, double value,
	                           const char *window),
	                void *arg);
};

struct alert_engine;

/* An engine over rules (borrowed; must outlive it) writing through sa
 * (borrowed). Loads the active alerts; rows of rules no longer configured
 * are resolved without notification. Returns NULL with the reason in err. */
struct alert_engine *alert_engine_new(const struct mlw_config *cfg, const struct rule_set *rules,
                                      struct store_alerts *sa, char *err, size_t errlen);
void alert_engine_free(struct alert_engine *e);

/* One evaluation at wall time now. Returns the number of outbox rows
 * written (0..), or -1 when the database refused (nothing was applied; the
 * in-memory state is reloaded from the database). */
int alert_engine_tick(struct alert_engine *e, const struct alert_source *src, double now);

/* Calls fn for every pending or firing alert. */
void alert_engine_each(struct alert_engine *e,
                       void (*fn)(void *arg, const char *rule, const char *model,
                                  const char *feature, bool firing, double value),
                       void *arg);

#endif
