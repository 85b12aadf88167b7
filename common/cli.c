/*
 * cli.c - shared command-line plumbing: locale, --version, progress.
 */
#include "cli.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

void
cli_init(const char *argv0)
{
	setprogname_(argv0);
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
}

void
cli_version(void)
{
	printf("%s (invkit) %s\n", progname, INVKIT_VERSION);
	close_stdout();
	exit(0);
}

void
progress_init(struct progress *p, int quiet)
{
	p->on = !quiet && isatty(STDERR_FILENO);
	p->last = 0;
	p->what = NULL;
	p->total = 0;
}

void
progress_tick(struct progress *p, const char *what, uint64_t records, uint64_t bytes)
{
	if (!p->on || (records & 0x3fff))
		return;
	double t = mono_now();
	if (t - p->last < 0.2)
		return;
	p->last = t;
	fprintf(stderr, "\r\033[K%s: %s: %llu records, %.1f MB", progname, what,
	    (unsigned long long)records, (double)bytes / 1e6);
	fflush(stderr);
}

void
progress_done(struct progress *p)
{
	if (p->on && p->last > 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->last = 0;
	}
}
