/* bentoml: BentoML monitor logs (`bentoml.monitor`) read by the tail input
 * (`--tail PATH --format bentoml`). It owns one tailed data file's schema
 * and turns each data line into an event.
 *
 * Layout (BentoML's default): PATH = <log_path>/<monitor>/data/data.<w>.log,
 * schema in <log_path>/<monitor>/schema/schema.<w>.log (a line
 * {"meta_data": {...}, "columns": [{"name", "role", "type"}]}; the last
 * line wins); outside that layout, schema.<file name> beside the data file
 * (schema.<w>.log for data.<w>.log).
 * Model = the monitor name (the directory above data/; else the file name
 * up to its first dot). Columns: role feature (and roles BentoML only
 * warns about) -> features, prediction -> prediction, target -> label;
 * `request_id` -> id ("None" outside a request: no id); `timestamp`, naive
 * local ISO 8601, is read in the agent's tail_timezone (default the
 * machine's); `trace_id` is ignored. String values over EVENT_CATEGORY_MAX
 * bytes (texts) are taken as missing and counted (tail_long_strings_total).
 * A line that comes before the schema file exists is refused (counted as
 * malformed) with that reason.
 *
 * Threads: used by the tail thread only. The time zone is set once at
 * start (bentoml_set_timezone), before any thread. */
#ifndef MLW_AGENT_BENTOML_H
#define MLW_AGENT_BENTOML_H

#include <stddef.h>

#include "event.h"

struct bentoml;

/* NULL with the reason in err (no model name can be made from the path). */
struct bentoml *bentoml_new(const char *data_path, char *err, size_t errlen);
void bentoml_free(struct bentoml *b);

/* Appends the event of one data line to eb. Returns 0, -1 malformed (err
 * filled), -3 out of memory. */
int bentoml_line(struct bentoml *b, const char *line, size_t len, double now,
                 struct event_batch *eb, struct event_error *err);

/* "" or "local": the machine's zone; "UTC"; or a zone name with a file in
 * /usr/share/zoneinfo. Sets TZ for the process. 0, or -1 with err. */
int bentoml_set_timezone(const char *tz, char *err, size_t errlen);

/* Naive "YYYY-MM-DDTHH:MM:SS[.ffffff]" in the process's zone (an offset or
 * Z, when present, wins). 0 or -1. */
int bentoml_parse_local(const char *s, double *out);

#endif
