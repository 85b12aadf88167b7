/*
 * invcount - cycle counting for warehouse staff.  main() only picks the
 * subcommand: import (count sheets to stock records, import.c), plan (the
 * count sheet for a day, plan.c) and report (inventory record accuracy
 * from the diff of count and book, report.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "invcount.h"
#include "banned.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invcount import [options] [file ...]\n"
	    "       invcount plan [options] [book]\n"
	    "       invcount report [options] [diffs]\n");
	if (!code)
		fprintf(f,
		    "\nCycle counting: plan the day's count sheet, import the filled sheets as\n"
		    "stock records, and report inventory record accuracy.\n\n"
		    "  import   count sheets (CSV from spreadsheets) -> count records\n"
		    "  plan     book (+ sales, values, history) -> today's count sheet\n"
		    "  report   invdiff --all output of count vs book -> accuracy figures\n\n"
		    "'invcount COMMAND --help' lists a command's options.  See invcount(1).\n");
	exit(code);
}

int
main(int argc, char **argv)
{
	cli_init(argv[0]);
	if (argc < 2) {
		warnx_("a command is required: import, plan or report");
		usage(EX_USAGE);
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		usage(0);
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version"))
		cli_version();
	/*
	 * The subcommand's argv starts at the command name, so getopt starts
	 * after it; getopt's own messages then name the program.
	 */
	argv[1] = (char *)progname;
	if (!strcmp(cmd, "import"))
		return import_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "plan"))
		return plan_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return report_main(argc - 1, argv + 1);
	warnx_("unknown command '%s' (import, plan or report)", cmd);
	usage(EX_USAGE);
}
