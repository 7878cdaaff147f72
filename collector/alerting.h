/* alerting: alert evaluation inside mlwatchd. alerting_start parses the
 * [alert] rules, starts the notifier (notify.h, one thread per receiver)
 * and an evaluation thread that, every evaluate_interval of real time (1 s
 * by default) and with its own database connection, reads each rule's
 * metric (rps, error_rate and latency from the collector's 1-second ring;
 * accuracy and drift from the newest analysed window; no_data from the
 * models' last events) and runs the state machine of alert_state.h at
 * clock_now() (the simulated time under MLWATCH_CLOCK_FILE: `for`,
 * repeat_interval and group waits follow it). It registers /metrics lines:
 * evaluations run (mlwatch_alert_evaluations_total, counted after each
 * one, so a test waits for it to move twice to know that one ran entirely
 * after a change), firing and pending alerts per rule and model,
 * notifications sent/failed/dropped and attempts per receiver.
 *
 * Right after a start the ring is empty: ring metrics without any data yet
 * keep the alerts' stored state until a whole `over` interval has passed,
 * so a restart does not resolve (and later re-page) a firing alert. */
#ifndef MLW_ALERTING_H
#define MLW_ALERTING_H

#include <stddef.h>

#include "config.h"

struct collector;

/* Checks the [alert] and [receiver] sections as far as can be done without
 * running: expressions, templates, receiver types and URLs, readable secret
 * files. Returns 0, or -1 with "FILE:LINE: ..." in err. */
int alerting_check_config(const struct mlw_config *cfg, char *err, size_t errlen);

/* Starts evaluation and delivery for c (borrowed until alerting_stop).
 * With no [alert] and no [receiver] section it starts nothing and returns 0.
 * Returns -1 after logging why (a bad rule, an unreadable secret, no
 * database). */
int alerting_start(struct collector *c);
/* Stops both threads (an HTTP request in flight is aborted; its outbox row
 * stays pending for the next start) and unregisters the metrics. */
void alerting_stop(void);

#endif
