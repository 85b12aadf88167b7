/*
 * invpush - write corrections to a channel, safely, and say what became of
 * each one.
 *
 * main() parses the options and runs the steps in their safe order: open
 * the channel (a bad configuration stops everything), read and check every
 * correction (input.c), apply the guards (guard.c), then - unless it is a
 * dry run - take the channel's lock, write the journal (journal.c), push in
 * batches (push.c) and write one result per correction.  --resume takes
 * the corrections from a killed run's journal instead of the input.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "invpush.h"
#include "platform.h"
#include "wr.h"
#include "banned.h"

struct opts opt;

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invpush [-fnqv] [-b size] [-c file] [-F format] [-j journal]\n"
	    "               [--max-changes n] [--max-shrink pct] [--max-zero pct] [--min-zero n]\n"
	    "               [--reject file] [--resume run] channel [file ...]\n");
	if (!code)
		fprintf(f,
		    "\nWrite corrections (invdiff's output) to a channel; one result per correction.\n\n"
		    "  -b, --batch N         at most N corrections a batch (default: the platform's most)\n"
		    "  -c, --config FILE     configuration file\n"
		    "  -F, --format FMT      results as ndjson (default), csv or table\n"
		    "  -f, --force           push even what the guards refuse\n"
		    "  -j, --journal FILE    journal file (default under $XDG_STATE_HOME/invkit)\n"
		    "      --max-changes N   refuse more than N changes (default: no limit)\n"
		    "      --max-shrink PCT  refuse a full feed PCT%% shorter than the last (default 50)\n"
		    "      --max-zero PCT    refuse when more than PCT%% of the corrections take an\n"
		    "                        in-stock item to 0 (default 20)\n"
		    "      --min-zero N      ... once at least N items would go to 0 (default 3)\n"
		    "  -n, --dry-run         plan: results with status planned, nothing written\n"
		    "  -q, --quiet           no summary and no progress\n"
		    "      --reject FILE     set bad corrections aside in FILE and go on\n"
		    "      --resume RUN      finish the run RUN from its journal\n"
		    "  -v, --verbose         log HTTP requests and batches\n"
		    "  -h, --help            this help\n"
		    "  -V, --version         version\n\n"
		    "See invpush(1) and invkit(7).\n");
	exit(code);
}

/* A whole number option within [min, max]. */
static long long
num_opt(const char *name, const char *s, long long min, long long max)
{
	int64_t v;
	const char *why = parse_i64(s, strlen(s), &v);
	if (why || v < min || v > max)
		die(EX_USAGE, "bad %s '%s': %s", name, s, why ? why : "out of range");
	return v;
}

/* A percentage: 0 to 100, with or without the sign. */
static long
pct_opt(const char *name, const char *s)
{
	size_t n = strlen(s);
	char *d = xstrndup(s, n && s[n - 1] == '%' ? n - 1 : n);
	long v = (long)num_opt(name, d, 0, 100);
	free(d);
	return v;
}

static void
check_run_id(const char *id)
{
	if (!*id || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != strlen(id) || id[0] == '.')
		die(EX_USAGE, "bad run id '%s'", id);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "journal", required_argument, NULL, 'j' },
		{ "max-changes", required_argument, NULL, 'C' },
		{ "max-shrink", required_argument, NULL, 'S' },
		{ "max-zero", required_argument, NULL, 'Z' },
		{ "min-zero", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reject", required_argument, NULL, 'R' },
		{ "resume", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt.fmt = FMT_NDJSON;
	opt.max_zero = 20;
	opt.min_zero = 3;
	opt.max_shrink = 50;
	while ((c = getopt_long(argc, argv, "b:c:F:fhj:nqvV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': opt.batch = (size_t)num_opt("--batch", optarg, 1, 1000000); break;
		case 'c': opt.config = optarg; break;
		case 'C': opt.max_changes = num_opt("--max-changes", optarg, 1, INT64_MAX); break;
		case 'F':
			if ((opt.fmt = parse_format(optarg)) < 0)
				die(EX_USAGE, "unknown format '%s' (ndjson, csv or table)", optarg);
			break;
		case 'f': opt.force = 1; break;
		case 'h': usage(0); break;
		case 'j': opt.journal = optarg; break;
		case 'n': opt.dry_run = 1; break;
		case 'q': opt.quiet = 1; break;
		case 'R': opt.reject = optarg; break;
		case 'r': check_run_id(optarg); opt.resume = optarg; break;
		case 'S': opt.max_shrink = pct_opt("--max-shrink", optarg); break;
		case 'v': opt.verbose = 1; break;
		case 'V': cli_version(); break;
		case 'Z': opt.max_zero = pct_opt("--max-zero", optarg); break;
		case 'M': opt.min_zero = num_opt("--min-zero", optarg, 1, INT64_MAX); break;
		default: usage(EX_USAGE);
		}
	}
}

/* Counts of the results, for the summary and the journal's last line. */
struct tally {
	size_t st[CS_SKIPPED + 1];
};

static void
tally(const struct run *r, struct tally *t)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < r->n; i++) {
		const struct item *it = &r->v[i];
		int s = it->skip || it->stopped ? CS_SKIPPED :
		    it->c.status == CS_PENDING ? CS_FAILED : it->c.status;
		t->st[s]++;
	}
}

static void
summary(const struct chan *c, const struct run *r, const struct journal *j,
    const struct rejects *rj, double start)
{
	struct tally t;
	if (opt.quiet)
		return;
	tally(r, &t);
	if (opt.dry_run) {
		fprintf(stderr, "%s: %s: dry run: %zu corrections planned, %zu skipped", progname,
		    r->channel, t.st[CS_PLANNED], t.st[CS_SKIPPED]);
		if (t.st[CS_FAILED])
			fprintf(stderr, ", %zu refused", t.st[CS_FAILED]);
		fputs("; nothing written", stderr);
		if (rj->count)
			fprintf(stderr, "; %llu rejected to %s", (unsigned long long)rj->count, rj->path);
		fputc('\n', stderr);
		return;
	}
	fprintf(stderr, "%s: %s: run %s: %zu applied, %zu unchanged, %zu conflict, "
	    "%zu failed, %zu skipped; %llu batch%s", progname, r->channel, r->id,
	    t.st[CS_APPLIED], t.st[CS_UNCHANGED], t.st[CS_CONFLICT], t.st[CS_FAILED],
	    t.st[CS_SKIPPED], (unsigned long long)j->batches, j->batches == 1 ? "" : "es");
	if (c->http) {
		const struct http_stats *h = http_stats(c->http);
		fprintf(stderr, "; %llu requests, %llu throttled waits, %llu retries",
		    (unsigned long long)h->requests, (unsigned long long)h->throttled,
		    (unsigned long long)h->retries);
	}
	if (rj->count)
		fprintf(stderr, "; %llu rejected to %s", (unsigned long long)rj->count, rj->path);
	fprintf(stderr, "; %.1f s\n", mono_now() - start);
	if (j->path)
		fprintf(stderr, "%s: journal %s\n", progname, j->path);
}

/* The journal's last line: the run is over, and how it ended. */
static void
finish(struct journal *j, const struct run *r)
{
	struct tally t;
	struct buf b = BUF_INIT;
	tally(r, &t);
	buf_addf(&b, ",\"applied\":%zu,\"unchanged\":%zu,\"conflict\":%zu,\"failed\":%zu,"
	    "\"skipped\":%zu", t.st[CS_APPLIED], t.st[CS_UNCHANGED], t.st[CS_CONFLICT],
	    t.st[CS_FAILED], t.st[CS_SKIPPED]);
	journal_mark(j, r, "finished", b.s);
	buf_release(&b);
}

/* Tell how a stopped run ends, in the journal and on stderr. */
static void
stopped(struct journal *j, const struct run *r, int code, const char *why)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, ",\"exit\":%d,\"error\":", code);
	json_quote(&b, why, strlen(why));
	journal_mark(j, r, "stopped", b.s);
	warnx_("%s", why);
	warnx_("run %s stopped; finish it with: invpush --resume %s %s", r->id, r->id, r->channel);
	buf_release(&b);
}

/* The new run's corrections: read, checked, guarded. */
static void
prepare(struct run *r, char **files, struct rejects *rj)
{
	input_read(r, files, rj);
	run_id(r->id, sizeof r->id);
	if (!opt.dry_run)
		channel_lock(r->channel);	/* one push per channel at a time */
	guards_check(r);
	for (size_t i = 0; i < r->n; i++)
		corr_key(&r->v[i].c, r->id);
}

static int
has_work(const struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].skip)
			return 1;
	return 0;
}

/*
 * The run's state lives here rather than in main()'s frame, so that it is
 * still reachable, not leaked, when a check exits through die().
 */
static struct config cfg;
static struct buf err;
static struct run r;
static struct journal j = { .fd = -1 };
static struct rejects rj;
static struct chan *c;

int
main(int argc, char **argv)
{
	double start;
	int code = 0;

	cli_init(argv[0]);
	argv[0] = (char *)progname;	/* getopt's messages name the program, not its path */
	parse_args(argc, argv);
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		warnx_("a channel is required");
		usage(EX_USAGE);
	}
	if (opt.resume && (argc > 1 || opt.dry_run || opt.reject))
		die(EX_USAGE, "--resume takes its corrections from the journal: no input file, "
		    "--dry-run or --reject");
	start = mono_now();
	r.channel = argv[0];
	if (config_load(&cfg, opt.config, &err) < 0)
		die(EX_CONFIG, "%s", err.s);
	/* a pull-only type: refused before anything is read, locked, journalled or sent */
	const struct chan_cfg *cc = config_channel(&cfg, r.channel);
	const struct driver *d = cc ? driver_find(cc->type) : NULL;
	if (d && d->read_only)
		die(EX_CONFIG, "%s:%d: [%s]: %s", cfg.path ? cfg.path : "config", cc->line, r.channel,
		    d->read_only);
	c = chan_open(&cfg, r.channel, opt.verbose, &err, &code);
	if (!c)
		die(code, "%s", err.s);
	if (rejects_open(&rj, opt.reject) < 0)
		die_errno(EX_CANTCREAT, "%s", opt.reject);

	if (opt.resume) {
		channel_lock(r.channel);
		journal_load(&j, &r, opt.resume);
		journal_mark(&j, &r, "resumed", NULL);
		if ((code = resolve_inflight(c, &r, &j, &err)) == 0)
			code = resend_unanswered(c, &r, &j, &err);
		if (code)
			for (size_t i = 0; i < r.n; i++)	/* none of the rest was sent */
				r.v[i].stopped = !r.v[i].skip && !r.v[i].inflight &&
				    r.v[i].c.status == CS_PENDING;
	} else {
		prepare(&r, argv + 1, &rj);
		rejects_close(&rj);
		if (opt.dry_run)
			plan_all(c, &r);
		else {
			guards_remember(&r);
			if (has_work(&r))
				journal_create(&j, &r);
		}
	}
	if (!code && j.path)
		code = push_all(c, &r, &j, &err);
	if (j.path) {
		if (code)
			stopped(&j, &r, code, err.len ? err.s : "the platform failed");
		else
			finish(&j, &r);
	}
	code = write_results(&r, code, code ? err.s : NULL);
	summary(c, &r, &j, &rj, start);

	journal_close(&j);
	chan_close(c);
	config_release(&cfg);
	run_release(&r);
	buf_release(&err);
	return code;
}
