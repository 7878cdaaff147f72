/* dash: see dash.h. */
#include "dash.h"

#include "cmd.h"

int dash_main(struct mlw_config *cfg, const struct cli_result *res)
{
	cmd_error("the dashboard is not built yet");
	return 2;
}
