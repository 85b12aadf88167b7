/*
 * report.c - invcount report: inventory record accuracy from invdiff's
 * --all output of a count against the book.
 *
 * Each record is one key counted: `to` the count, `from` the book (null
 * when the book lacked the key), `class` the ABC class carried from the
 * count sheet.  A key is a hit when its difference is within its class
 * tolerance; IRA is hits over keys counted.  Gross discrepancy adds the
 * absolute differences (overs and unders never net out), net adds them
 * with their signs; both in units and, with unit values, in money.  The
 * figures are kept for the whole count, per class and per location, in
 * constant memory per group; the worst keys are kept in a bounded list.
 */
#include "invcount.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "wr.h"
#include "banned.h"

struct gst {
	uint64_t keys, hits, notinbook, valued;
	__int128 gross, net, gval, nval;
};

struct worst {
	__int128 money;		/* |delta| x value, 0 when unknown */
	int64_t absd, from, to, delta;
	int hasfrom, hasval;
	char *s;		/* sku NUL location NUL class NUL counter NUL */
	size_t slen;
};

static struct {
	const char *values, *reject;
	long nworst;
	int fmt, quiet;
	struct ic_tol tol;
} opt;

static struct gst total, bycls[CL_N];
static struct keytab locs;	/* location -> index into locst */
static struct gst *locst;
static size_t nlocst;
static struct worst *worst;
static size_t nworst;
static struct keytab values, seen;
static struct rejects rj;
static int anyvalue;
static struct buf why, sc, sc2, key, q;

static void
report_usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invcount report [-q] [-F format] [-n worst] [-t tolerance] [--reject file]\n"
	    "                       [--values file] [diffs]\n");
	if (!code)
		fprintf(f,
		    "\nInventory record accuracy from invdiff --all output of a count vs the book.\n\n"
		    "  -F, --format FMT        ndjson (default), table or csv\n"
		    "  -n, --worst N           list the N worst keys (default 10, 0 for none)\n"
		    "  -q, --quiet             no summary\n"
		    "      --reject FILE       write bad records to FILE and go on\n"
		    "  -t, --tolerance SPEC    A=1%%,B=3%%,C=5%% (default) and a floor in units\n"
		    "      --values FILE       records of sku and unit value: money figures\n"
		    "  -h, --help              this help\n\n"
		    "See invcount(1).\n");
	exit(code);
}

static void
gst_add(struct gst *g, int hit, int hasfrom, int64_t delta, int hasval, __int128 money)
{
	g->keys++;
	g->hits += hit;
	g->notinbook += !hasfrom;
	g->gross += delta < 0 ? -(__int128)delta : delta;
	g->net += delta;
	if (hasval) {
		g->valued++;
		g->gval += money < 0 ? -money : money;
		g->nval += money;
	}
}

static int
worse(const struct worst *a, const struct worst *b)
{
	__int128 am = a->money < 0 ? -a->money : a->money, bm = b->money < 0 ? -b->money : b->money;
	if (am != bm)
		return am > bm;
	if (a->absd != b->absd)
		return a->absd > b->absd;
	size_t n = a->slen < b->slen ? a->slen : b->slen;
	int c = memcmp(a->s, b->s, n);
	return c ? c < 0 : a->slen < b->slen;
}

/* Keep the opt.nworst worst keys, worst first. */
static void
worst_offer(struct worst *w)
{
	size_t i;
	if (!opt.nworst || w->delta == 0)
		return;
	if (nworst == (size_t)opt.nworst && !worse(w, &worst[nworst - 1]))
		return;
	w->s = xstrndup(w->s, w->slen);
	if (nworst == (size_t)opt.nworst)
		free(worst[--nworst].s);
	for (i = nworst; i > 0 && worse(w, &worst[i - 1]); i--)
		worst[i] = worst[i - 1];
	worst[i] = *w;
	nworst++;
}

static void
take(const struct record *rec, const char *file)
{
	int64_t from, to, delta;
	int hasfrom, k;
	const char *cls, *counter, *loc;
	size_t clsn, countern, locn;

	if (ic_rec_key(rec, &key, &sc, &why) < 0 ||
	    (k = ic_diff_rec(rec, &from, &hasfrom, &to, &sc, &why)) < 0 ||
	    ic_str_field(rec, "class", &sc, &cls, &clsn, &why) < 0 ||
	    ic_str_field(rec, "counter", &sc2, &counter, &countern, &why) < 0) {
		reject_record(&rj, file, rec, why.s);
		return;
	}
	if (k == 0)
		return;
	int isnew;
	uint64_t *line = keytab_intern(&seen, key.s, key.len, &isnew);
	if (!isnew) {
		size_t sn = strlen(key.s);
		struct buf q2 = BUF_INIT;
		buf_reset(&why);
		buf_addf(&why, "duplicate key (sku %s, location %s), first at line %llu",
		    quoted(&q, key.s, sn), quoted(&q2, key.s + sn + 1, key.len - sn - 1),
		    (unsigned long long)*line);
		buf_release(&q2);
		reject_record(&rj, file, rec, why.s);
		return;
	}
	*line = rec->line;
	delta = to - from;
	/* unit value: --values, else a value field in the record */
	int64_t v = 0;
	int hasval = 0;
	size_t skun = strlen(key.s);
	if (opt.values) {
		struct ic_value *iv = keytab_find(&values, key.s, skun);
		if (iv)
			v = iv->v, hasval = 1;
	} else {
		const struct field *f = ic_getf(rec, "value");
		const char *e;
		if (f && !field_is_null(f)) {
			if ((e = ic_field_money(f, &v)) != NULL) {
				buf_reset(&why);
				buf_addf(&why, "field 'value': %s: %s", e, quoted(&q, f->val, f->vlen));
				reject_record(&rj, file, rec, why.s);
				return;
			}
			hasval = 1;
		}
	}
	anyvalue |= hasval;
	__int128 money = (__int128)delta * v;
	int c = ic_class_of(cls, clsn);
	int hit = ic_tol_hit(&opt.tol, c, from, delta);
	loc = key.s + skun + 1;
	locn = key.len - skun - 1;

	gst_add(&total, hit, hasfrom, delta, hasval, money);
	gst_add(&bycls[c], hit, hasfrom, delta, hasval, money);
	uint32_t *li = keytab_intern(&locs, loc, locn, &isnew);
	if (isnew) {
		locst = xrealloc(locst, (nlocst + 1) * sizeof *locst);
		memset(&locst[nlocst], 0, sizeof *locst);
		*li = (uint32_t)nlocst++;
	}
	gst_add(&locst[*li], hit, hasfrom, delta, hasval, money);

	struct buf s = BUF_INIT;
	buf_add(&s, key.s, key.len);
	buf_addc(&s, '\0');
	buf_adds(&s, c == CL_NONE ? "" : ic_class_names[c]);
	buf_addc(&s, '\0');
	buf_add(&s, counter, countern);
	buf_addc(&s, '\0');
	struct worst w = { money, delta < 0 ? -delta : delta, from, to, delta, hasfrom, hasval,
		s.s, s.len };
	worst_offer(&w);
	buf_release(&s);
}

/*
 * Decimal columns of the table, right-aligned here: the table writer
 * right-aligns integer columns only.  Widths are found in a first pass
 * (measuring) and used in the second.
 */
static const char *const deccols[] = { "ira", "gross_value", "net_value", "value" };
static size_t decwidth[4];
static int measuring;

/* A decimal as a JSON number (or table cell). */
static void
wr_num(struct writer *w, const char *name, const char *text)
{
	struct field f = { 0 };
	struct buf pad = BUF_INIT;
	size_t tn = strlen(text);
	for (int i = 0; i < 4 && opt.fmt == FMT_TABLE; i++) {
		if (strcmp(name, deccols[i]))
			continue;
		if (measuring) {
			size_t wd = tn > strlen(name) ? tn : strlen(name);
			if (wd > decwidth[i])
				decwidth[i] = wd;
			return;
		}
		for (size_t k = tn; k < decwidth[i]; k++)
			buf_addc(&pad, ' ');
		buf_add(&pad, text, tn);
		text = pad.s;
		tn = pad.len;
	}
	if (!measuring) {
		f.name = f.raw = name;
		f.nlen = f.rawlen = strlen(name);
		f.val = text;
		f.vlen = tn;
		f.type = J_NUMBER;
		f.kid = -1;
		wr_field_as(w, name, &f);
	}
	buf_release(&pad);
}

static void
wr_i128(struct writer *w, const char *name, __int128 v)
{
	char tmp[48];
	size_t k = sizeof tmp;
	unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v :
	    (unsigned __int128)v;
	tmp[--k] = '\0';
	do {
		tmp[--k] = (char)('0' + (unsigned)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--k] = '-';
	wr_num(w, name, tmp + k);
}

static void
wr_money(struct writer *w, const char *name, __int128 v)
{
	struct buf b = BUF_INIT;
	ic_fmt_money(&b, v);
	wr_num(w, name, b.s);
	buf_release(&b);
}

static void
put_group(struct writer *w, const char *kind, const char *name, size_t nlen, const struct gst *g)
{
	char ira[32];
	wr_begin(w);
	if (opt.fmt == FMT_TABLE) {
		struct buf label = BUF_INIT;
		buf_adds(&label, kind);
		if (name) {
			buf_addc(&label, ' ');
			if (nlen)
				buf_add(&label, name, nlen);
			else
				buf_adds(&label, "\"\"");
		}
		wr_str(w, "group", label.s, label.len);
		buf_release(&label);
	} else {
		wr_str(w, "group", kind, strlen(kind));
		if (name)
			wr_str(w, kind, name, nlen);
	}
	wr_int(w, "keys", (int64_t)g->keys);
	wr_int(w, "hits", (int64_t)g->hits);
	if (g->keys) {
		uint64_t tenths = (g->hits * 2000 + g->keys) / (2 * g->keys);
		snprintf(ira, sizeof ira, "%llu.%llu", (unsigned long long)(tenths / 10),
		    (unsigned long long)(tenths % 10));
		wr_num(w, "ira", ira);
	} else {
		wr_null(w, "ira");
	}
	wr_i128(w, "gross_units", g->gross);
	wr_i128(w, "net_units", g->net);
	if (anyvalue) {
		wr_money(w, "gross_value", g->gval);
		wr_money(w, "net_value", g->nval);
		if (g->valued < g->keys)
			wr_int(w, "without_value", (int64_t)(g->keys - g->valued));
		else if (opt.fmt != FMT_NDJSON)
			wr_int(w, "without_value", 0);
	}
	wr_int(w, "not_in_book", (int64_t)g->notinbook);
	wr_end(w);
}

static int
cmp_loc(const void *a, const void *b)
{
	size_t an, bn;
	const char *x = keytab_keyof(&locs, keytab_val(&locs, *(const uint32_t *)a), &an);
	const char *y = keytab_keyof(&locs, keytab_val(&locs, *(const uint32_t *)b), &bn);
	int c = memcmp(x, y, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static void
put_worst(struct writer *w)
{
	for (size_t i = 0; i < nworst; i++) {
		const struct worst *x = &worst[i];
		const char *sku = x->s, *loc = sku + strlen(sku) + 1;
		size_t locn = strlen(loc);
		const char *cls = loc + locn + 1, *counter = cls + strlen(cls) + 1;
		wr_begin(w);
		if (opt.fmt != FMT_TABLE)
			wr_str(w, "group", "worst", 5);
		wr_int(w, "rank", (int64_t)i + 1);
		wr_str(w, "sku", sku, strlen(sku));
		wr_str(w, "location", loc, locn);
		wr_str(w, "class", cls, strlen(cls));
		wr_str(w, "counter", counter, strlen(counter));
		if (x->hasfrom)
			wr_int(w, "book", x->from);
		else
			wr_null(w, "book");
		wr_int(w, "counted", x->to);
		wr_int(w, "delta", x->delta);
		if (anyvalue) {
			if (x->hasval)
				wr_money(w, "value", x->money);
			else
				wr_null(w, "value");
		}
		wr_end(w);
	}
}

/* The accuracy groups: the whole count, each class, each location. */
static void
put_groups(struct writer *w, const uint32_t *order)
{
	put_group(w, "total", NULL, 0, &total);
	for (int i = 0; i < CL_N; i++)
		if (bycls[i].keys)
			put_group(w, "class", ic_class_names[i], 1, &bycls[i]);
	for (size_t i = 0; i < nlocst; i++) {
		size_t n;
		uint32_t *li = keytab_val(&locs, order[i]);
		const char *name = keytab_keyof(&locs, li, &n);
		put_group(w, "location", name, n, &locst[*li]);
	}
}

int
report_main(int argc, char **argv)
{
	enum { O_REJECT = 256, O_VALUES };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reject", required_argument, NULL, O_REJECT },
		{ "tolerance", required_argument, NULL, 't' },
		{ "values", required_argument, NULL, O_VALUES },
		{ "version", no_argument, NULL, 'V' },
		{ "worst", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	const char *e;

	opt.fmt = FMT_NDJSON;
	opt.nworst = 10;
	ic_tol_default(&opt.tol);
	while ((c = getopt_long(argc, argv, "F:hn:qt:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if ((opt.fmt = parse_format(optarg)) < 0)
				die(EX_USAGE, "unknown format '%s' (ndjson, table or csv)", optarg);
			break;
		case 'h': report_usage(0); break;
		case 'n': opt.nworst = ic_num_opt("--worst", optarg, 0, 100000); break;
		case 'q': opt.quiet = 1; break;
		case O_REJECT: opt.reject = optarg; break;
		case 't':
			if ((e = ic_tol_parse(&opt.tol, optarg)) != NULL)
				die(EX_USAGE, "--tolerance: %s: '%s'", e, optarg);
			break;
		case O_VALUES: opt.values = optarg; break;
		case 'V': cli_version(); break;
		default: report_usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1) {
		warnx_("too many arguments");
		report_usage(EX_USAGE);
	}
	const char *path = argc ? argv[0] : "-";
	if (rejects_open(&rj, opt.reject) < 0)
		die_errno(EX_CANTCREAT, "%s", opt.reject);
	keytab_init(&values, sizeof(struct ic_value));
	keytab_init(&seen, sizeof(uint64_t));
	keytab_init(&locs, sizeof(uint32_t));
	worst = xcalloc((size_t)opt.nworst + 1, sizeof *worst);
	if (opt.values)
		ic_load_values(opt.values, &values, &rj);

	struct reader *r = reader_open(path, FMT_AUTO, 0, RD_TRIM);
	struct record *rec;
	if (!r)
		die_errno(EX_NOINPUT, "%s", path);
	while (reader_next_good(r, &rec, &rj))
		take(rec, reader_name(r));
	reader_free(r);
	anyvalue |= opt.values != NULL;

	uint32_t *order = xcalloc(nlocst ? nlocst : 1, sizeof *order);
	for (uint32_t i = 0; i < nlocst; i++)
		order[i] = i;
	qsort(order, nlocst, sizeof *order, cmp_loc);
	if (opt.fmt == FMT_TABLE) {
		/* measure the decimal columns: groups first, then the worst keys */
		FILE *null = fopen("/dev/null", "w");
		if (!null)
			die_errno(EX_OSERR, "/dev/null");
		struct writer *m = writer_new(null, FMT_NDJSON, 0);
		measuring = 1;
		put_groups(m, order);
		size_t gw[4];
		memcpy(gw, decwidth, sizeof gw);
		memset(decwidth, 0, sizeof decwidth);
		put_worst(m);
		decwidth[3] = decwidth[3] > gw[3] ? decwidth[3] : gw[3];
		memcpy(decwidth, gw, 3 * sizeof *gw);
		measuring = 0;
		writer_close(m);
		fclose(null);
	}
	struct writer *w = writer_new(stdout, opt.fmt,
	    opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0);
	put_groups(w, order);
	free(order);
	if (opt.fmt == FMT_TABLE) {
		writer_close(w);
		if (nworst) {
			xfwrite("\n", 1, stdout);
			w = writer_new(stdout, opt.fmt, want_color(STDOUT_FILENO) ? WR_COLOR : 0);
			put_worst(w);
			writer_close(w);
		}
	} else {
		put_worst(w);
		writer_close(w);
	}
	rejects_close(&rj);
	close_stdout();
	if (!opt.quiet) {
		fprintf(stderr, "%s: %llu key%s counted, %llu within tolerance", progname,
		    (unsigned long long)total.keys, total.keys == 1 ? "" : "s",
		    (unsigned long long)total.hits);
		if (total.keys) {
			uint64_t tenths = (total.hits * 2000 + total.keys) / (2 * total.keys);
			fprintf(stderr, ": IRA %llu.%llu%%", (unsigned long long)(tenths / 10),
			    (unsigned long long)(tenths % 10));
		}
		if (rj.path)
			fprintf(stderr, "; %llu rejected to %s", (unsigned long long)rj.count, rj.path);
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < nworst; i++)
		free(worst[i].s);
	free(worst);
	free(locst);
	keytab_release(&values);
	keytab_release(&seen);
	keytab_release(&locs);
	buf_release(&why);
	buf_release(&sc);
	buf_release(&sc2);
	buf_release(&key);
	buf_release(&q);
	return 0;
}
