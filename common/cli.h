/*
 * cli.h - what every tool's main() shares beyond getopt_long: the number
 * and format option parsers, and progress on stderr (only on a terminal).
 */
#ifndef INVKIT_CLI_H
#define INVKIT_CLI_H

#include <stdint.h>

/* Set locale for messages but keep numbers in the C locale; ignore nothing. */
void cli_init(const char *argv0);
/* Print "prog version" and exit 0. */
_Noreturn void cli_version(void);

struct progress {
	int on;
	const char *what;
	double last;
	uint64_t total;	/* bytes expected, 0 if unknown */
};
/* Progress is on when stderr is a terminal and quiet is not set. */
void progress_init(struct progress *p, int quiet);
/* Show "prog: what: N records, X MB" at most 5 times a second. */
void progress_tick(struct progress *p, const char *what, uint64_t records, uint64_t bytes);
/* Clear the progress line. */
void progress_done(struct progress *p);

#endif
