/*
 * invpull - read the stock a channel shows and write it as stock records
 * (channel, item, sku, location, qty, ts, state).
 *
 * The channel's driver (common/platform/) does the reading; invpull opens
 * the channel from the configuration, filters, stamps each record with the
 * channel and the time it was read, and writes the records.  They go to a
 * temporary file first and reach stdout only when the whole pull has
 * succeeded: a pull that stops early is an error, never a short list that
 * invdiff would take for missing stock.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "keytab.h"
#include "platform.h"
#include "rec.h"
#include "util.h"
#include "wr.h"
#include "banned.h"

static struct {
	const char *config, *since;
	const char **skus, **items;
	size_t nskus, nitems;
	int fmt, quiet, verbose, unbuffered;
} opt;

/* What the emit callback needs and counts. */
static struct {
	const char *channel;
	struct writer *out;
	struct keytab items;	/* distinct items, for the summary */
	uint64_t records;
	time_t tslast;
	char ts[32];
	struct progress prog;
	double start, lastprog;
} st;

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invpull [-qv] [-c file] [-F format] [--item list] [--since time]\n"
	    "               [--sku list] [--unbuffered] channel\n");
	if (!code)
		fprintf(f,
		    "\nRead the stock a channel shows and write it as stock records.\n\n"
		    "  -c, --config FILE     configuration file (default: $INVKIT_CONFIG,\n"
		    "                        ./invkit.conf, ~/.config/invkit/invkit.conf,\n"
		    "                        /etc/invkit.conf)\n"
		    "  -F, --format FMT      ndjson (default), csv or table\n"
		    "      --item LIST       only these items (comma-separated; repeatable)\n"
		    "  -q, --quiet           no summary and no progress\n"
		    "      --since TIME      only what changed since TIME (RFC 3339), where the\n"
		    "                        platform can tell\n"
		    "      --sku LIST        only these SKUs (comma-separated; repeatable)\n"
		    "      --unbuffered      accepted; records are written at the end anyway\n"
		    "  -v, --verbose         log each HTTP request (method, path, status)\n"
		    "  -h, --help            this help\n"
		    "  -V, --version         version\n\n"
		    "See invpull(1) and invkit(7).\n");
	exit(code);
}

/* Add the comma-separated values of s to a list (empty values refused). */
static void
add_list(const char ***v, size_t *n, const char *s, const char *what)
{
	char *dup = xstrdup(s), *save = NULL;	/* kept: the list points into it */
	int any = 0;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		*v = xrealloc(*v, (*n + 1) * sizeof **v);
		(*v)[(*n)++] = t;
		any = 1;
	}
	if (!any)
		die(EX_USAGE, "empty %s list", what);
}

static int
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* An RFC 3339 date-time: 2026-03-02T09:14:00Z, with fraction or offset. */
static int
rfc3339_ok(const char *s)
{
	size_t n = strlen(s), i = 19;
	if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return 0;
	if (s[i] == '.') {
		size_t j = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == j)
			return 0;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
		return 1;
	return i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) &&
	    s[i + 3] == ':' && digits(s + i + 4, 2);
}

/* The time a record is read, RFC 3339 UTC, formatted once a second. */
static const char *
ts_now(void)
{
	time_t t = time(NULL);
	if (t != st.tslast) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(st.ts, sizeof st.ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		st.tslast = t;
	}
	return st.ts;
}

static int
wanted(const char *const *v, size_t n, const char *s)
{
	if (!v)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static void
progress(int final)
{
	double t = mono_now();
	if (!st.prog.on || (!final && t - st.lastprog < 0.2))
		return;
	st.lastprog = t;
	if (final)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\r\033[K%s: %s: %llu records", progname, st.channel,
		    (unsigned long long)st.records);
	fflush(stderr);
}

/*
 * One quantity from the driver.  The filters are applied here too, so a
 * driver that cannot filter on the platform's side still gives what was
 * asked for.
 */
static void
emit(const struct pulled *p, void *arg)
{
	(void)arg;
	if (!wanted(opt.skus, opt.nskus, p->sku) || !wanted(opt.items, opt.nitems, p->item))
		return;
	wr_begin(st.out);
	wr_str(st.out, "channel", st.channel, strlen(st.channel));
	wr_str(st.out, "item", p->item, strlen(p->item));
	wr_str(st.out, "sku", p->sku, strlen(p->sku));
	wr_str(st.out, "location", p->location, strlen(p->location));
	wr_int(st.out, "qty", p->qty);
	const char *ts = ts_now();
	wr_str(st.out, "ts", ts, strlen(ts));
	if (p->state && *p->state)
		wr_str(st.out, "state", p->state, strlen(p->state));
	wr_end(st.out);
	keytab_intern(&st.items, p->item, strlen(p->item), NULL);
	st.records++;
	progress(0);
}

static void
summary(const struct chan *c)
{
	if (opt.quiet)
		return;
	fprintf(stderr, "%s: %s: %llu records, %zu items", progname, st.channel,
	    (unsigned long long)st.records, keytab_count(&st.items));
	if (c->unmanaged)
		fprintf(stderr, " (%llu more whose stock the platform does not track)",
		    (unsigned long long)c->unmanaged);
	if (c->pages)
		fprintf(stderr, "; %llu pages", (unsigned long long)c->pages);
	if (c->http) {
		const struct http_stats *h = http_stats(c->http);
		fprintf(stderr, "; %llu requests, %llu throttled waits, %llu retries",
		    (unsigned long long)h->requests, (unsigned long long)h->throttled,
		    (unsigned long long)h->retries);
	}
	fprintf(stderr, "; %.1f s\n", mono_now() - st.start);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "item", required_argument, NULL, 'I' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "since", required_argument, NULL, 'S' },
		{ "sku", required_argument, NULL, 's' },
		{ "unbuffered", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt.fmt = FMT_NDJSON;
	while ((c = getopt_long(argc, argv, "c:F:hqvV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.config = optarg; break;
		case 'F':
			if ((opt.fmt = parse_format(optarg)) < 0)
				die(EX_USAGE, "unknown format '%s' (ndjson, csv or table)", optarg);
			break;
		case 'h': usage(0); break;
		case 'I': add_list(&opt.items, &opt.nitems, optarg, "--item"); break;
		case 'q': opt.quiet = 1; break;
		case 'S':
			if (!rfc3339_ok(optarg))
				die(EX_USAGE, "bad --since '%s': give an RFC 3339 time such as "
				    "2026-03-02T09:14:00Z", optarg);
			opt.since = optarg;
			break;
		case 's': add_list(&opt.skus, &opt.nskus, optarg, "--sku"); break;
		case 'U': opt.unbuffered = 1; break;
		case 'v': opt.verbose = 1; break;
		case 'V': cli_version(); break;
		default: usage(EX_USAGE);
		}
	}
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	struct pull_opts po = { 0 };
	int code;

	cli_init(argv[0]);
	argv[0] = (char *)progname;	/* getopt's messages name the program, not its path */
	parse_args(argc, argv);
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		warnx_("%s", argc < 1 ? "a channel is required" : "too many arguments");
		usage(EX_USAGE);
	}
	st.channel = argv[0];
	st.start = mono_now();
	if (config_load(&cfg, opt.config, &err) < 0)
		die(EX_CONFIG, "%s", err.s);
	struct chan *c = chan_open(&cfg, st.channel, opt.verbose, &err, &code);
	if (!c)
		die(code, "%s", err.s);

	FILE *spool = tmpfile();
	if (!spool)
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	st.out = writer_new(spool, opt.fmt,
	    opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0);
	keytab_init(&st.items, 0);
	progress_init(&st.prog, opt.quiet);
	po.skus = opt.skus;
	po.nskus = opt.nskus;
	po.items = opt.items;
	po.nitems = opt.nitems;
	po.since = opt.since;
	code = c->drv->pull(c, &po, emit, NULL, &err);
	progress(1);
	writer_close(st.out);
	if (code) {
		warnx_("%s", err.len ? err.s : "pull failed");	/* and nothing on stdout */
		fclose(spool);
	} else {
		spool_to_stdout(spool);
		summary(c);
	}

	chan_close(c);
	config_release(&cfg);
	keytab_release(&st.items);
	buf_release(&err);
	return code;
}
