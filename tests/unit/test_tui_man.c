/* mlwatch(1) documents every subcommand, every dashboard key and the
 * environment the dashboard reads. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

Test(tui_man, every_command_key_and_variable_is_documented)
{
	static const char *const needles[] = {
	    /* commands */
	    "\\fBtop\\fR", "\\fBstatus\\fR", "\\fBdrift \\-\\-model\\fR",
	    "\\fBlatency \\-\\-model\\fR", "\\fBaccuracy \\-\\-model\\fR", "\\fBalerts\\fR",
	    "\\fBfairness \\-\\-model\\fR", "\\fBsilence\\fR", "\\fBack\\fR",
	    "\\fBexport \\-\\-model\\fR", "\\fBreference import", "\\fBdemo\\fR",
	    "\\fBwebhook\\-listen",
	    /* global options */
	    "\\fB\\-\\-db\\fR", "\\fB\\-\\-interval\\fR", "\\fB\\-\\-no\\-color\\fR",
	    "\\fB\\-\\-json\\fR", "\\fB\\-\\-config\\fR", "\\fB\\-\\-range\\fR",
	    /* keys */
	    ".BR ? \", \" F1", ".B q\n", ".BR Tab", ".BR 1 \" .. \" 5", "h \" \" j \" \" k \" \" l",
	    ".B Enter", ".B Esc", ".BR m \", \" M", ".B /\n", ".BR + \", \" \\-", ".B r\n",
	    ".BR < \", \" >", ".B I\n", ".B a\n", ".B s\n", ".B mouse",
	    /* environment, exit status */
	    ".B NO_COLOR", ".B MLWATCH_NOW", ".SH EXIT STATUS", "collector silent for", NULL};
	char *path = h_src("man/mlwatch.1");
	char *page = h_read_file(path, NULL);

	cr_assert_not_null(page, "cannot read %s", path);
	for (int i = 0; needles[i]; i++)
		cr_expect(strstr(page, needles[i]) != NULL, "mlwatch(1) lacks %s", needles[i]);
	free(page);
	free(path);
}
