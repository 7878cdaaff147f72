/* dash: the dashboard (`mlwatch` with no command, or `mlwatch top`). */
#ifndef MLW_DASH_H
#define MLW_DASH_H

#include "cli.h"
#include "config.h"

/* Runs the dashboard until q; returns the exit status. */
int dash_main(struct mlw_config *cfg, const struct cli_result *res);

#endif
