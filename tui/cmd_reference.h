/* cmd_reference: `mlwatch reference import --model M FILE` (CSV with a
 * header row, or JSONL events), `mlwatch reference import --model M --from
 * T --to T` (events already stored), and `mlwatch reference show --model M`
 * (text or --json). Returns the exit status (0, 1 runtime, 2 usage). */
#ifndef MLW_CMD_REFERENCE_H
#define MLW_CMD_REFERENCE_H

#include "cli.h"
#include "config.h"

int cmd_reference(struct mlw_config *cfg, const struct cli_result *res);

/* Parses a --from/--to time: Unix seconds, RFC 3339, or a duration meaning
 * that long before now ("2h"). Returns 0 or -1. */
int cmd_reference_time(const char *s, double now, double *out);

#endif
