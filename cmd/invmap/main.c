/*
 * invmap - translate stock records between a platform's names and the
 * merchant's: SKUs and units (-m), locations (-l), bundles (-b) and the
 * share of stock each channel may show (--allocate).  Forward (platform to
 * central) by default, reverse with --to CHANNEL.
 *
 * The tables are loaded into memory and records stream through the
 * transforms of xform.c; the output is spooled to a temporary file and
 * copied to stdout at the end, so a bad record in strict mode leaves
 * nothing half-written downstream.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "invmap.h"
#include "wr.h"
#include "banned.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invmap [-qv] [-b bundles] [-F format] [-l locations] [-m map]\n"
	    "              [-t channel] [-u pass|drop|reject] [--allocate channel -a rules]\n"
	    "              [--explain sku] [--explode] [--reject file] [--unbuffered] [file ...]\n");
	if (!code)
		fprintf(f,
		    "\nTranslate stock records between platform and central SKUs, units,\n"
		    "locations and bundles, and allocate stock to a channel.\n\n"
		    "  -m, --map FILE         mapping table: channel,item,platform_sku,sku,units\n"
		    "  -l, --locations FILE   location table: channel,platform_location,location\n"
		    "  -b, --bundles FILE     bundles: bundle_sku,component_sku,count\n"
		    "      --explode          with -b: a bundle's record becomes its components'\n"
		    "  -A, --allocate CHANNEL allocate the stock to show on CHANNEL\n"
		    "  -a, --rules FILE       allocation rules: channel,sku,safety,share,max,min\n"
		    "  -t, --to CHANNEL       reverse: central records to CHANNEL's listings\n"
		    "  -u, --unmapped HOW     records without a mapping: pass, drop or reject\n"
		    "                         (default: an error)\n"
		    "      --reject FILE      write bad records to FILE and go on\n"
		    "  -x, --explain SKU      show on stderr how SKU's quantities were made\n"
		    "  -F, --format FMT       ndjson (default), csv or table\n"
		    "  -q, --quiet            no summary\n"
		    "  -v, --verbose          explain more\n"
		    "      --unbuffered       accepted; output is written at the end anyway\n"
		    "  -h, --help             this help\n"
		    "  -V, --version          version\n\n"
		    "See invmap(1) and invkit(7).\n");
	exit(code);
}

static void
summary(void)
{
	if (opt.quiet)
		return;
	fprintf(stderr, "%s: %llu records in, %llu out: %llu mapped, %llu passed, %llu dropped, "
	    "%llu rejected", progname, (unsigned long long)st.in, (unsigned long long)st.out,
	    (unsigned long long)st.mapped, (unsigned long long)st.passed,
	    (unsigned long long)st.dropped, (unsigned long long)rj.count);
	if (tab.bundlefile)
		fprintf(stderr, "; %llu bundle records", (unsigned long long)st.bundles);
	if (opt.alloc)
		fprintf(stderr, "; %llu allocated by a rule", (unsigned long long)st.allocated);
	if (rj.fp || rj.count)
		fprintf(stderr, " (rejects in %s)", rj.path);
	fputc('\n', stderr);
	if (opt.verbose)
		fprintf(stderr, "%s: tables: %zu mappings, %zu locations, %zu rules, %zu bundles\n",
		    progname, tab.nmap, tab.nloc, tab.nrules, tab.nbundles);
}

static void
nonempty(const char *what, const char *s)
{
	if (!*s)
		die(EX_USAGE, "empty %s", what);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allocate", required_argument, NULL, 'A' },
		{ "bundles", required_argument, NULL, 'b' },
		{ "explain", required_argument, NULL, 'x' },
		{ "explode", no_argument, NULL, 'E' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "locations", required_argument, NULL, 'l' },
		{ "map", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reject", required_argument, NULL, 'R' },
		{ "rules", required_argument, NULL, 'a' },
		{ "to", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'U' },
		{ "unmapped", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mapf = NULL, *locf = NULL, *bundlef = NULL, *rulef = NULL, *reject = NULL;
	struct reader **readers = NULL;
	struct progress prog;
	FILE *spool;
	uint64_t nrec = 0;
	int c;

	cli_init(argv[0]);
	argv[0] = (char *)progname;
	opt.fmt = FMT_NDJSON;
	while ((c = getopt_long(argc, argv, "A:a:b:F:hl:m:qt:u:vVx:", longopts, NULL)) != -1) {
		switch (c) {
		case 'A': nonempty("channel", optarg); opt.alloc = optarg; break;
		case 'a': rulef = optarg; break;
		case 'b': bundlef = optarg; break;
		case 'F':
			if ((opt.fmt = parse_format(optarg)) < 0)
				die(EX_USAGE, "unknown format '%s' (ndjson, csv or table)", optarg);
			break;
		case 'h': usage(0); break;
		case 'l': locf = optarg; break;
		case 'm': mapf = optarg; break;
		case 'q': opt.quiet = 1; break;
		case 'R': reject = optarg; break;
		case 't': nonempty("channel", optarg); opt.to = optarg; break;
		case 'u':
			if (!strcmp(optarg, "pass"))
				opt.unmapped = U_PASS;
			else if (!strcmp(optarg, "drop"))
				opt.unmapped = U_DROP;
			else if (!strcmp(optarg, "reject"))
				opt.unmapped = U_REJECT;
			else
				die(EX_USAGE, "unknown --unmapped '%s' (pass, drop or reject)", optarg);
			break;
		case 'U': break;
		case 'v': opt.verbose = 1; break;
		case 'V': cli_version(); break;
		case 'E': opt.explode = 1; break;
		case 'x': nonempty("sku", optarg); opt.explain = optarg; break;
		default: usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (opt.unmapped == U_REJECT && !reject)
		die(EX_USAGE, "--unmapped reject needs --reject FILE");
	if (opt.explode && !bundlef)
		die(EX_USAGE, "--explode needs the bundles (-b FILE)");
	if (opt.explode && (opt.alloc || opt.to))
		die(EX_USAGE, "--explode takes sales apart; it does not go with --allocate or --to");
	if (opt.alloc && !rulef)
		die(EX_USAGE, "--allocate needs the rules (-a FILE)");
	if (rulef && !opt.alloc)
		die(EX_USAGE, "-a needs --allocate CHANNEL");
	for (int i = 0; i < argc; i++)
		for (int j = i + 1; j < argc; j++)
			if (!strcmp(argv[i], "-") && !strcmp(argv[j], "-"))
				die(EX_USAGE, "standard input given twice");

	tables_init(&tab);
	if (mapf)
		load_map(&tab, mapf);
	if (locf)
		load_locations(&tab, locf);
	if (rulef)
		load_rules(&tab, rulef, opt.alloc);
	if (bundlef)
		load_bundles(&tab, bundlef);
	if (rejects_open(&rj, reject) < 0)
		die_errno(EX_CANTCREAT, "%s", reject);
	if (!(spool = tmpfile()))
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	out = writer_new(spool, opt.fmt,
	    (opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0));
	progress_init(&prog, opt.quiet);

	static char *stdin_only[] = { "-" };
	char **files = argc ? argv : stdin_only;
	int nfiles = argc ? argc : 1;
	readers = xcalloc((size_t)nfiles, sizeof *readers);
	for (int i = 0; i < nfiles; i++) {
		struct reader *r = reader_open(files[i], FMT_AUTO, 0, 0);
		struct record *rec;
		int k;
		if (!r)
			die_errno(EX_NOINPUT, "%s", files[i]);
		while ((k = reader_next(r, &rec)) != 0) {
			if (k == -2)
				die_errno(EX_IOERR, "%s: read error", reader_name(r));
			progress_tick(&prog, "records", ++nrec, reader_offset(r));
			if (k < 0) {
				st.in++;
				reject_record(&rj, reader_name(r), rec, reader_error(r));
			} else {
				process(reader_name(r), rec);
			}
		}
		if (holding())
			readers[i] = r;	/* held records point into it */
		else
			reader_free(r);
	}
	finish_bundles();
	progress_done(&prog);
	writer_close(out);
	rejects_close(&rj);
	xform_release();
	for (int i = 0; i < nfiles; i++)
		reader_free(readers[i]);
	free(readers);
	tables_release(&tab);
	spool_to_stdout(spool);
	summary();
	return 0;
}
