/*
 * plan.c - invcount plan: the count sheet for one day.
 *
 * The book (stock records) is held keyed by sku+location, with the class
 * of each sku from an ABC split of its velocity (--sales) or value
 * (--values) over the whole book, so that a sku has one class on every
 * warehouse's sheet.  Each class has a cycle; the schedule spreads the keys of a
 * class evenly over its cycle (a key's phase comes from its rank by hash),
 * and each day takes the N keys due soonest: those due today, those
 * overdue by --history, and as many of the next due as fill the day.  A
 * key is thus counted at least once a cycle while N is at least the sum
 * over classes of ceil(keys / cycle), and the day's load is exactly N.
 * Nothing depends on the clock or on earlier runs but the inputs and the
 * date, so a sheet printed twice is the same sheet.
 *
 * --recount instead reads invdiff's output of a count and lists the keys
 * whose difference is over the class tolerance, with who counted them.
 */
#include "invcount.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cli.h"
#include "wr.h"
#include "banned.h"

#define NO_DAY LONG_MIN

/* A key of the book: sku NUL location. */
struct pkey {
	int64_t qty;
	uint64_t line;
	uint64_t hash;
	long last;		/* last count day before --date (history), or NO_DAY */
	long due;
	size_t xoff;		/* bin NUL barcode NUL description NUL in xbuf */
	uint32_t sku;		/* index into skus */
	unsigned char cls;
	unsigned char skip;	/* not at a --location asked for */
};

struct psku {
	__int128 measure;
	int64_t stock, sales;
	const char *name;	/* points into the sku table */
	size_t nlen;
	unsigned char cls, insales;
};

static struct {
	const char *sales, *values, *history, *recount, *reject, *only;
	char **locs;
	size_t nlocs;
	long cycle[3], abc[3], perday, date;
	int full, showbook, quiet, verbose, fmt;
	struct ic_tol tol;
} opt;

static struct keytab keys, skutab, values;
static struct psku *skus;
static size_t nskus, capskus;
static struct buf xbuf, why, sc, q;
static struct rejects rj;

static void
plan_usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invcount plan [-qv] [-F format] [-n per-day] [--abc shares] [--cycles days]\n"
	    "                     [--date date] [--full] [--history file] [--location loc]\n"
	    "                     [--only skus] [--reject file] [--sales file] [--show-book]\n"
	    "                     [--values file] book\n"
	    "       invcount plan --recount diffs [-qv] [-F format] [--show-book] [--tolerance spec]\n");
	if (!code)
		fprintf(f,
		    "\nWrite the count sheet for a day (CSV), or a recount sheet.\n\n"
		    "      --abc A,B,C         ABC shares of velocity or value (default 80,15,5)\n"
		    "      --cycles A,B,C      days between counts per class (default 30,90,365)\n"
		    "      --date YYYY-MM-DD   the day to plan (default today)\n"
		    "  -F, --format FMT        csv (default), ndjson or table\n"
		    "      --full              every key (a full count)\n"
		    "      --history FILE      past count records: when each key was last counted\n"
		    "      --location LOC      plan only the keys at LOC (comma list, repeatable)\n"
		    "  -n, --per-day N         keys a day (default: enough for every cycle)\n"
		    "      --only SKU,...      these skus only (a spot count)\n"
		    "  -q, --quiet             no summary\n"
		    "      --recount DIFFS     keys of a count whose difference is over tolerance\n"
		    "      --reject FILE       write bad records to FILE and go on\n"
		    "      --sales FILE        records of sku and qty sold: ABC by velocity\n"
		    "      --show-book         add the book quantity (the sheet is blind without)\n"
		    "  -t, --tolerance SPEC    for --recount: A=1%%,B=3%%,C=5%% and a floor in units\n"
		    "      --values FILE       records of sku and unit value: ABC by value\n"
		    "  -v, --verbose           explain more\n"
		    "  -h, --help              this help\n\n"
		    "See invcount(1).\n");
	exit(code);
}

static struct reader *
open_records(const char *path)
{
	struct reader *r = reader_open(path, FMT_AUTO, 0, RD_TRIM);
	if (!r)
		die_errno(EX_NOINPUT, "%s", path);
	return r;
}

static int
loc_wanted(const char *l, size_t n)
{
	if (!opt.nlocs)
		return 1;
	for (size_t i = 0; i < opt.nlocs; i++)
		if (strlen(opt.locs[i]) == n && !memcmp(opt.locs[i], l, n))
			return 1;
	return 0;
}

static const char *
key_desc(const char *k, size_t n)
{
	size_t sn = strlen(k);
	static struct buf d;
	buf_reset(&d);
	buf_addf(&d, "sku %s", quoted(&q, k, sn));
	buf_addf(&d, ", location %s", quoted(&q, k + sn + 1, n - sn - 1));
	return d.s;
}

static void
load_book(const char *path)
{
	struct reader *r = open_records(path);
	struct record *rec;
	struct buf key = BUF_INIT;
	static const char *const descnames[] = { "description", "title", "name" };

	while (reader_next_good(r, &rec, &rj)) {
		int64_t qty;
		int rq;
		if (ic_rec_key(rec, &key, &sc, &why) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		if ((rq = rec_int(rec, K_QTY, &qty, &why)) != 0) {
			reject_record(&rj, reader_name(r), rec, rq > 0 ? (rec->kidx[K_QTY] < 0 ?
			    "field 'qty': missing" : "field 'qty': null") : why.s);
			continue;
		}
		size_t skun = strlen(key.s);
		/* bin, barcode, description: strings for the sheet */
		const char *xs[3];
		size_t xn[3];
		struct buf xsc[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
		int bad = ic_str_field(rec, "bin", &xsc[0], &xs[0], &xn[0], &why) < 0 ||
		    ic_str_field(rec, "barcode", &xsc[1], &xs[1], &xn[1], &why) < 0;
		xs[2] = "";
		xn[2] = 0;
		for (int d = 0; d < 3 && !bad && !xn[2]; d++)
			bad = ic_str_field(rec, descnames[d], &xsc[2], &xs[2], &xn[2], &why) < 0;
		if (bad) {
			reject_record(&rj, reader_name(r), rec, why.s);
		} else {
			int isnew;
			struct pkey *e = keytab_intern(&keys, key.s, key.len, &isnew);
			if (!isnew) {
				buf_reset(&why);
				buf_addf(&why, "duplicate key (%s), first at line %llu",
				    key_desc(key.s, key.len), (unsigned long long)e->line);
				reject_record(&rj, reader_name(r), rec, why.s);
			} else {
				e->qty = qty;
				e->line = rec->line;
				e->skip = !loc_wanted(key.s + skun + 1, key.len - skun - 1);
				e->last = NO_DAY;
				e->hash = XXH3_64bits(key.s, key.len);
				e->xoff = xbuf.len;
				for (int i = 0; i < 3; i++) {
					buf_add(&xbuf, xs[i], xn[i]);
					buf_addc(&xbuf, '\0');
				}
				int snew;
				uint32_t *sid = keytab_intern(&skutab, key.s, skun, &snew);
				if (snew) {
					if (nskus == capskus) {
						capskus = capskus ? capskus * 2 : 256;
						skus = xrealloc(skus, capskus * sizeof *skus);
					}
					memset(&skus[nskus], 0, sizeof *skus);
					*sid = (uint32_t)nskus++;
				}
				e->sku = *sid;
				if (__builtin_add_overflow(skus[*sid].stock, qty > 0 ? qty : 0,
				    &skus[*sid].stock))
					skus[*sid].stock = INT64_MAX;
			}
		}
		for (int i = 0; i < 3; i++)
			buf_release(&xsc[i]);
	}
	reader_free(r);
	buf_release(&key);
	/* names of the skus, for sorting */
	for (uint32_t i = 0; i < keytab_count(&skutab); i++) {
		uint32_t *sid = keytab_val(&skutab, i);
		skus[*sid].name = keytab_keyof(&skutab, sid, &skus[*sid].nlen);
	}
}

static void
load_sales(const char *path)
{
	struct reader *r = open_records(path);
	struct record *rec;
	uint64_t unknown = 0;

	while (reader_next_good(r, &rec, &rj)) {
		const char *s;
		size_t n;
		int64_t qty;
		int rq;
		if (ic_str_field(rec, "sku", &sc, &s, &n, &why) < 0 || !n) {
			reject_record(&rj, reader_name(r), rec, n || why.len ? why.s :
			    "field 'sku': missing or empty");
			continue;
		}
		if ((rq = rec_int(rec, K_QTY, &qty, &why)) != 0) {
			reject_record(&rj, reader_name(r), rec, rq > 0 ? "field 'qty': missing or null" :
			    why.s);
			continue;
		}
		uint32_t *sid = keytab_find(&skutab, s, n);
		if (!sid) {
			unknown++;
			continue;
		}
		struct psku *p = &skus[*sid];
		p->insales = 1;
		if (__builtin_add_overflow(p->sales, qty, &p->sales)) {
			reject_record(&rj, reader_name(r), rec, "field 'qty': total out of range");
			continue;
		}
	}
	reader_free(r);
	if (unknown && opt.verbose)
		warnx_("%s: %llu records of skus not in the book, not used", path,
		    (unsigned long long)unknown);
}

static void
load_history(const char *path)
{
	struct reader *r = open_records(path);
	struct record *rec;
	struct buf key = BUF_INIT, ts = BUF_INIT;

	while (reader_next_good(r, &rec, &rj)) {
		const char *s;
		size_t n;
		time_t t;
		const char *e;
		if (ic_rec_key(rec, &key, &sc, &why) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		if (ic_str_field(rec, "ts", &ts, &s, &n, &why) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		if (!n) {
			reject_record(&rj, reader_name(r), rec, "field 'ts': missing: when was it counted?");
			continue;
		}
		if ((e = ic_parse_time(s, n, &t)) != NULL) {
			buf_reset(&why);
			buf_addf(&why, "field 'ts': %s: %s", e, quoted(&q, s, n));
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		struct pkey *p = keytab_find(&keys, key.s, key.len);
		long day = ic_local_day(t);
		/* counts on or after the plan's date do not change it: a reprint is the same */
		if (p && day < opt.date && (p->last == NO_DAY || day > p->last))
			p->last = day;
	}
	reader_free(r);
	buf_release(&key);
	buf_release(&ts);
}

static int
cmp_measure(const void *a, const void *b)
{
	const struct psku *x = *(const struct psku *const *)a, *y = *(const struct psku *const *)b;
	if (x->measure != y->measure)
		return x->measure > y->measure ? -1 : 1;
	size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

/* ABC: by cumulative share of the measure before each sku, largest first. */
static const char *
classify(void)
{
	const char *basis;
	if (opt.sales && opt.values)
		basis = "sales value";
	else if (opt.sales)
		basis = "units sold";
	else if (opt.values)
		basis = "stock value";
	else
		basis = NULL;
	__int128 total = 0;
	for (size_t i = 0; i < nskus; i++) {
		struct psku *p = &skus[i];
		struct ic_value *v = opt.values ? keytab_find(&values, p->name, p->nlen) : NULL;
		int64_t val = v ? v->v : 0;
		if (opt.sales)
			p->measure = (__int128)(p->sales > 0 ? p->sales : 0) * (opt.values ? val : 1);
		else if (opt.values)
			p->measure = (__int128)p->stock * val;
		else
			p->measure = 0;
		if (p->measure < 0)
			p->measure = 0;
		total += p->measure;
	}
	struct psku **order = xcalloc(nskus, sizeof *order);
	for (size_t i = 0; i < nskus; i++)
		order[i] = &skus[i];
	qsort(order, nskus, sizeof *order, cmp_measure);
	__int128 cum = 0;
	for (size_t i = 0; i < nskus; i++) {
		struct psku *p = order[i];
		if (total <= 0 || p->measure == 0)
			p->cls = CL_C;
		else if (cum * 100 < total * opt.abc[0])
			p->cls = CL_A;
		else if (cum * 100 < total * (opt.abc[0] + opt.abc[1]))
			p->cls = CL_B;
		else
			p->cls = CL_C;
		cum += p->measure;
	}
	free(order);
	return basis;
}

static int
cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static int
cmp_hash(const void *a, const void *b)
{
	const struct pkey *x = *(const struct pkey *const *)a, *y = *(const struct pkey *const *)b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	size_t xn, yn;
	const char *xk = keytab_keyof(&keys, x, &xn), *yk = keytab_keyof(&keys, y, &yn);
	return cmp_bytes(xk, xn, yk, yn);
}

static int
cmp_due(const void *a, const void *b)
{
	const struct pkey *x = *(const struct pkey *const *)a, *y = *(const struct pkey *const *)b;
	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return cmp_hash(a, b);
}

/* Sheet order: location, bin, sku: the order of a walk through the store. */
static int
cmp_walk(const void *a, const void *b)
{
	const struct pkey *x = *(const struct pkey *const *)a, *y = *(const struct pkey *const *)b;
	size_t xn, yn;
	const char *xk = keytab_keyof(&keys, x, &xn), *yk = keytab_keyof(&keys, y, &yn);
	size_t xs = strlen(xk), ys = strlen(yk);
	int c = cmp_bytes(xk + xs + 1, xn - xs - 1, yk + ys + 1, yn - ys - 1);
	if (c)
		return c;
	const char *xb = xbuf.s + x->xoff, *yb = xbuf.s + y->xoff;
	if ((c = strcmp(xb, yb)) != 0)
		return c;
	return cmp_bytes(xk, xs, yk, ys);
}

static long
pmod(long a, long m)
{
	long r = a % m;
	return r < 0 ? r + m : r;
}

/* floor(a / b) for b > 0, also for negative a (dates before 1970). */
static __int128
floordiv(__int128 a, __int128 b)
{
	__int128 q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/*
 * Pick the keys to count on opt.date; they end up first in sel, and the
 * count is returned.  *need is the per-day load that keeps every cycle.
 *
 * Class c (n keys, cycle L) needs a daily share q >= (n + 1) / (L - 1) of
 * the N slots a day: the key at rank r (by hash) is counted whenever the
 * class's running slot count passes a position = r mod n, and with the
 * running count on day d within a window of width 2 around d * q, two
 * such passes are less than (n + 1) / q + 1 <= L days apart.  The shares
 * are the demands scaled up to N, and every slot belongs to one class, so
 * every day holds exactly N keys.  Day d is the day number since 1970: no
 * state, the same sheet for the same date.
 *
 * With --history the counts already made are known, so instead each key
 * is due a cycle after its last count (or on its phase in the cycle when
 * it has none), and the N keys due soonest are taken.
 */
static size_t
schedule(struct pkey **sel, size_t n, size_t ncls[3], long *need)
{
	struct pkey **bycls[3];
	size_t k[3] = { 0 };
	__int128 num[3], den = 1, w[3], W = 0;

	for (int c = 0; c < 3; c++)
		bycls[c] = xcalloc(ncls[c] ? ncls[c] : 1, sizeof **bycls);
	for (size_t i = 0; i < n; i++)
		bycls[sel[i]->cls][k[sel[i]->cls]++] = sel[i];
	/* demand of class c: num[c] / (L - 1), or n when L is 1 */
	for (int c = 0; c < 3; c++) {
		long L = opt.cycle[c];
		num[c] = !ncls[c] ? 0 : L == 1 ? (__int128)ncls[c] : (__int128)ncls[c] + 1;
		den *= L == 1 ? 1 : L - 1;
	}
	for (int c = 0; c < 3; c++) {
		long L = opt.cycle[c];
		w[c] = num[c] * (den / (L == 1 ? 1 : L - 1));
		W += w[c];
	}
	*need = (long)((W + den - 1) / den);
	long per = opt.perday ? opt.perday : *need;
	size_t take = 0;

	if (opt.history || W == 0) {
		for (int c = 0; c < 3; c++) {
			long L = opt.cycle[c];
			qsort(bycls[c], ncls[c], sizeof *bycls[c], cmp_hash);
			for (size_t r = 0; r < ncls[c]; r++) {
				struct pkey *p = bycls[c][r];
				long phase = (long)((unsigned long long)r * (unsigned long long)L / ncls[c]);
				if (p->last != NO_DAY)
					p->due = p->last + L;
				else
					p->due = opt.date + pmod(phase - opt.date, L);
			}
		}
		qsort(sel, n, sizeof *sel, cmp_due);
		take = (size_t)per < n ? (size_t)per : n;
	} else {
		/*
		 * Slot t of the endless sequence (day d holds t = d N ... d N + N - 1)
		 * belongs to A when floor((t + 1) a) > floor(t a), a = wA / W; the
		 * slots left are split between B and C the same way.  Running
		 * counts are then monotone and within a window of width 2 of
		 * t times the class's share.
		 */
		__int128 t0 = (__int128)opt.date * per, t1 = t0 + per;
		__int128 run0[3], run1[3];
		for (int e = 0; e < 2; e++) {
			__int128 t = e ? t1 : t0, *run = e ? run1 : run0;
			run[0] = floordiv(t * w[0], W);
			__int128 u = t - run[0];
			run[1] = W - w[0] ? floordiv(u * w[1], W - w[0]) : 0;
			run[2] = u - run[1];
		}
		for (int c = 0; c < 3; c++) {
			qsort(bycls[c], ncls[c], sizeof *bycls[c], cmp_hash);
			if (!ncls[c])
				continue;
			__int128 cnt = run1[c] - run0[c];
			if (cnt > (__int128)ncls[c])
				cnt = (__int128)ncls[c];	/* more slots than keys: each once */
			__int128 start = run0[c] % (__int128)ncls[c];
			if (start < 0)
				start += (__int128)ncls[c];
			for (__int128 i = 0; i < cnt; i++)
				sel[take++] = bycls[c][(size_t)((start + i) % (__int128)ncls[c])];
		}
	}
	for (int c = 0; c < 3; c++)
		free(bycls[c]);
	return take;
}

static void
write_sheet(struct pkey **sel, size_t n)
{
	struct writer *w = writer_new(stdout, opt.fmt,
	    opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0);
	int has[3] = { 0 };
	static const char *const xnames[3] = { "bin", "barcode", "description" };
	for (size_t i = 0; i < n; i++) {
		const char *x = xbuf.s + sel[i]->xoff;
		for (int j = 0; j < 3; j++) {
			has[j] |= *x != '\0';
			x += strlen(x) + 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pkey *p = sel[i];
		size_t kn;
		const char *k = keytab_keyof(&keys, p, &kn);
		size_t sn = strlen(k);
		const char *x = xbuf.s + p->xoff;
		wr_begin(w);
		wr_str(w, "sku", k, sn);
		wr_str(w, "location", k + sn + 1, kn - sn - 1);
		for (int j = 0; j < 3; j++) {
			if (has[j])
				wr_str(w, xnames[j], x, strlen(x));
			x += strlen(x) + 1;
		}
		wr_str(w, "class", ic_class_names[p->cls], 1);
		if (opt.showbook)
			wr_int(w, "book", p->qty);
		wr_null(w, "qty");
		wr_null(w, "counter");
		wr_null(w, "counted_at");
		wr_null(w, "note");
		wr_end(w);
	}
	writer_close(w);
}

/* ---- recount ---- */

struct rc {
	int64_t from, to;
	size_t off;		/* sku NUL location NUL bin NUL counter NUL class NUL in rcbuf */
	unsigned char hasfrom;
};

static struct buf rcbuf;

static const char *
rc_str(const struct rc *r, int i)
{
	const char *s = rcbuf.s + r->off;
	while (i--)
		s += strlen(s) + 1;
	return s;
}

static int
cmp_rc(const void *a, const void *b)
{
	const struct rc *x = a, *y = b;
	int c;
	if ((c = strcmp(rc_str(x, 1), rc_str(y, 1))) != 0)
		return c;
	if ((c = strcmp(rc_str(x, 2), rc_str(y, 2))) != 0)
		return c;
	return strcmp(rc_str(x, 0), rc_str(y, 0));
}

static void
recount(const char *path)
{
	struct reader *r = open_records(path);
	struct record *rec;
	struct rc *v = NULL;
	size_t n = 0, cap = 0;
	struct keytab seen;
	struct buf key = BUF_INIT, sc3 = BUF_INIT;
	uint64_t counted = 0;
	int k;

	keytab_init(&seen, sizeof(uint64_t));
	while (reader_next_good(r, &rec, &rj)) {
		int64_t from = 0, to = 0;
		int hasfrom = 0;
		if (ic_rec_key(rec, &key, &sc, &why) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		if ((k = ic_diff_rec(rec, &from, &hasfrom, &to, &sc, &why)) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		if (k == 0)
			continue;
		int isnew;
		uint64_t *line = keytab_intern(&seen, key.s, key.len, &isnew);
		if (!isnew) {
			buf_reset(&why);
			buf_addf(&why, "duplicate key (%s), first at line %llu", key_desc(key.s, key.len),
			    (unsigned long long)*line);
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		*line = rec->line;
		counted++;
		const char *s[3];
		size_t sn[3];
		if (ic_str_field(rec, "bin", &sc, &s[0], &sn[0], &why) < 0 ||
		    ic_str_field(rec, "counter", &sc3, &s[1], &sn[1], &why) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		static struct buf sc4;
		if (ic_str_field(rec, "class", &sc4, &s[2], &sn[2], &why) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		int cls = ic_class_of(s[2], sn[2]);
		if (ic_tol_hit(&opt.tol, cls, hasfrom ? from : 0, to - (hasfrom ? from : 0)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n].from = from;
		v[n].to = to;
		v[n].hasfrom = (unsigned char)hasfrom;
		v[n].off = rcbuf.len;
		buf_add(&rcbuf, key.s, key.len);
		buf_addc(&rcbuf, '\0');
		for (int i = 0; i < 3; i++) {
			if (memchr(s[i], '\0', sn[i]))
				sn[i] = strlen(s[i]);
			buf_add(&rcbuf, s[i], sn[i]);
			buf_addc(&rcbuf, '\0');
		}
		n++;
	}
	reader_free(r);
	keytab_release(&seen);
	buf_release(&key);
	buf_release(&sc3);
	qsort(v, n, sizeof *v, cmp_rc);

	struct writer *w = writer_new(stdout, opt.fmt,
	    opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0);
	int hasbin = 0;
	for (size_t i = 0; i < n; i++)
		hasbin |= *rc_str(&v[i], 2) != '\0';
	for (size_t i = 0; i < n; i++) {
		const char *cls = rc_str(&v[i], 4);
		wr_begin(w);
		wr_str(w, "sku", rc_str(&v[i], 0), strlen(rc_str(&v[i], 0)));
		wr_str(w, "location", rc_str(&v[i], 1), strlen(rc_str(&v[i], 1)));
		if (hasbin)
			wr_str(w, "bin", rc_str(&v[i], 2), strlen(rc_str(&v[i], 2)));
		wr_str(w, "class", *cls ? cls : "", strlen(cls));
		wr_str(w, "first_counter", rc_str(&v[i], 3), strlen(rc_str(&v[i], 3)));
		if (opt.showbook) {
			if (v[i].hasfrom)
				wr_int(w, "book", v[i].from);
			else
				wr_null(w, "book");
		}
		wr_null(w, "qty");
		wr_null(w, "counter");
		wr_null(w, "counted_at");
		wr_null(w, "note");
		wr_end(w);
	}
	writer_close(w);
	rejects_close(&rj);
	close_stdout();
	if (!opt.quiet) {
		fprintf(stderr, "%s: recount %zu of %llu keys counted (over tolerance)", progname, n,
		    (unsigned long long)counted);
		if (rj.path)
			fprintf(stderr, "; %llu rejected to %s", (unsigned long long)rj.count, rj.path);
		fputc('\n', stderr);
	}
	free(v);
}

static void
add_locations(const char *s)
{
	char *dup = xstrdup(s), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		opt.locs = xrealloc(opt.locs, (opt.nlocs + 1) * sizeof *opt.locs);
		opt.locs[opt.nlocs++] = xstrdup(t);
	}
	free(dup);
}

int
plan_main(int argc, char **argv)
{
	enum { O_ABC = 256, O_CYCLES, O_DATE, O_FULL, O_HISTORY, O_LOCATION, O_ONLY, O_RECOUNT,
		O_REJECT, O_SALES, O_SHOWBOOK, O_VALUES };
	static const struct option longopts[] = {
		{ "abc", required_argument, NULL, O_ABC },
		{ "cycles", required_argument, NULL, O_CYCLES },
		{ "date", required_argument, NULL, O_DATE },
		{ "format", required_argument, NULL, 'F' },
		{ "full", no_argument, NULL, O_FULL },
		{ "help", no_argument, NULL, 'h' },
		{ "history", required_argument, NULL, O_HISTORY },
		{ "location", required_argument, NULL, O_LOCATION },
		{ "only", required_argument, NULL, O_ONLY },
		{ "per-day", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "recount", required_argument, NULL, O_RECOUNT },
		{ "reject", required_argument, NULL, O_REJECT },
		{ "sales", required_argument, NULL, O_SALES },
		{ "show-book", no_argument, NULL, O_SHOWBOOK },
		{ "tolerance", required_argument, NULL, 't' },
		{ "values", required_argument, NULL, O_VALUES },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, hasdate = 0, tolset = 0;
	const char *e;

	opt.fmt = FMT_CSV;
	opt.cycle[0] = 30, opt.cycle[1] = 90, opt.cycle[2] = 365;
	opt.abc[0] = 80, opt.abc[1] = 15, opt.abc[2] = 5;
	ic_tol_default(&opt.tol);
	while ((c = getopt_long(argc, argv, "F:hn:qt:vV", longopts, NULL)) != -1) {
		switch (c) {
		case O_ABC:
			if ((e = ic_abc_parse(opt.abc, optarg)) != NULL)
				die(EX_USAGE, "--abc: %s: '%s'", e, optarg);
			break;
		case O_CYCLES:
			if ((e = ic_cycles_parse(opt.cycle, optarg)) != NULL)
				die(EX_USAGE, "--cycles: %s: '%s'", e, optarg);
			break;
		case O_DATE:
			if (ic_parse_day(optarg, &opt.date) < 0)
				die(EX_USAGE, "--date: not a date (YYYY-MM-DD): '%s'", optarg);
			hasdate = 1;
			break;
		case 'F':
			if ((opt.fmt = parse_format(optarg)) < 0)
				die(EX_USAGE, "unknown format '%s' (csv, ndjson or table)", optarg);
			break;
		case O_FULL: opt.full = 1; break;
		case 'h': plan_usage(0); break;
		case O_HISTORY: opt.history = optarg; break;
		case O_LOCATION: add_locations(optarg); break;
		case 'n': opt.perday = ic_num_opt("--per-day", optarg, 1, 100000000); break;
		case O_ONLY: opt.only = optarg; break;
		case 'q': opt.quiet = 1; break;
		case O_RECOUNT: opt.recount = optarg; break;
		case O_REJECT: opt.reject = optarg; break;
		case O_SALES: opt.sales = optarg; break;
		case O_SHOWBOOK: opt.showbook = 1; break;
		case 't':
			if ((e = ic_tol_parse(&opt.tol, optarg)) != NULL)
				die(EX_USAGE, "--tolerance: %s: '%s'", e, optarg);
			tolset = 1;
			break;
		case O_VALUES: opt.values = optarg; break;
		case 'v': opt.verbose = 1; break;
		case 'V': cli_version(); break;
		default: plan_usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (rejects_open(&rj, opt.reject) < 0)
		die_errno(EX_CANTCREAT, "%s", opt.reject);
	if (opt.recount) {
		if (argc > 0)
			die(EX_USAGE, "--recount reads the diffs only: no book operand");
		if (opt.sales || opt.values || opt.history || opt.full || opt.only || opt.nlocs ||
		    opt.perday || hasdate)
			die(EX_USAGE, "--recount takes only -F, --show-book, --tolerance and --reject");
		recount(opt.recount);
		return 0;
	}
	if (tolset)
		die(EX_USAGE, "--tolerance is for --recount (and invcount report)");
	if (argc != 1) {
		warnx_("%s", argc ? "too many arguments" : "the book is required");
		plan_usage(EX_USAGE);
	}
	if (opt.full + !!opt.only > 1)
		die(EX_USAGE, "--full and --only cannot be combined");
	if ((opt.full || opt.only) && (opt.perday || opt.history))
		die(EX_USAGE, "--full and --only list keys regardless of the schedule: "
		    "no --per-day or --history");
	if (!hasdate)
		opt.date = ic_local_day(time(NULL));

	keytab_init(&keys, sizeof(struct pkey));
	keytab_init(&skutab, sizeof(uint32_t));
	keytab_init(&values, sizeof(struct ic_value));
	load_book(argv[0]);
	if (opt.sales)
		load_sales(opt.sales);
	if (opt.values)
		ic_load_values(opt.values, &values, &rj);
	if (opt.history)
		load_history(opt.history);
	const char *basis = classify();

	/* classes over the whole book; the plan over the locations asked for */
	size_t nkeys = 0, ncls[3] = { 0 };
	struct pkey **sel = xcalloc(keytab_count(&keys) + 1, sizeof *sel);
	for (uint32_t i = 0; i < keytab_count(&keys); i++) {
		struct pkey *p = keytab_val(&keys, i);
		p->cls = skus[p->sku].cls;
		if (p->skip)
			continue;
		ncls[p->cls]++;
		sel[nkeys++] = p;
	}
	long need = 0;
	size_t take = nkeys;
	if (opt.only) {
		char *dup = xstrdup(opt.only), *save = NULL;
		take = 0;
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			size_t tn = strlen(t);
			const char *ts = t;
			while (tn && (*ts == ' ' || *ts == '\t'))
				ts++, tn--;
			while (tn && (ts[tn - 1] == ' ' || ts[tn - 1] == '\t'))
				tn--;
			if (!tn)
				continue;
			size_t found = 0;
			for (size_t i = 0; i < nkeys; i++) {
				size_t kn;
				const char *k = keytab_keyof(&keys, sel[i], &kn);
				int match = strlen(k) == tn && !memcmp(k, ts, tn);
				if (match && i < take) {
					found++;	/* listed twice */
					continue;
				}
				if (!match)
					continue;
				struct pkey *tmp = sel[take];
				sel[take++] = sel[i];
				sel[i] = tmp;
				found++;
			}
			if (!found && !opt.quiet)
				warnx_("--only: sku '%.*s' is not in the book%s", (int)tn, ts,
				    opt.nlocs ? " at the locations asked for" : "");
		}
		free(dup);
	} else if (!opt.full) {
		take = schedule(sel, nkeys, ncls, &need);
	}
	size_t got[3] = { 0 };
	for (size_t i = 0; i < take; i++)
		got[sel[i]->cls]++;
	qsort(sel, take, sizeof *sel, cmp_walk);
	write_sheet(sel, take);
	rejects_close(&rj);
	close_stdout();

	if (!opt.quiet) {
		char day[32];
		ic_fmt_day(opt.date, day);
		fprintf(stderr, "%s: %s: %zu of %zu keys to count (A %zu, B %zu, C %zu)", progname,
		    opt.full ? "full count" : opt.only ? "spot count" : day, take, nkeys, got[0],
		    got[1], got[2]);
		if (!opt.full && !opt.only)
			fprintf(stderr, "; %ld a day keeps every key within its cycle", need);
		if (rj.path)
			fprintf(stderr, "; %llu rejected to %s", (unsigned long long)rj.count, rj.path);
		fputc('\n', stderr);
		if (!opt.full && !opt.only && opt.perday && opt.perday < need)
			warnx_("warning: --per-day %ld is fewer than the %ld a day that count every "
			    "key within its cycle", opt.perday, need);
		if (opt.verbose)
			warnx_("classes by %s: A %zu, B %zu, C %zu keys; cycles %ld, %ld, %ld days",
			    basis ? basis : "nothing (no --sales or --values: all C)", ncls[0], ncls[1],
			    ncls[2], opt.cycle[0], opt.cycle[1], opt.cycle[2]);
	}
	free(sel);
	keytab_release(&keys);
	keytab_release(&skutab);
	keytab_release(&values);
	free(skus);
	buf_release(&xbuf);
	for (size_t i = 0; i < opt.nlocs; i++)
		free(opt.locs[i]);
	free(opt.locs);
	return 0;
}
