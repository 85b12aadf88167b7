/*
 * file.c - the file driver: a local stock file (CSV or NDJSON stock
 * records, DESIGN.md) as a channel.  It is the embedded default master and
 * the stand-in for any WMS or ERP that exports files.
 *
 * This driver has no platform documentation to cite: the file is ours, and
 * so are its semantics, set down here and in invpull(1) and invpush(1).
 *
 * - A record is identified by its item (its sku when it has no item) and
 *   its location ("" when absent); qty is its quantity; state is given back
 *   as is ("available" when absent).
 * - pull reads the file under a shared flock(2) and emits every record.
 * - push applies corrections as relative changes (delta), never as
 *   absolute sets, so a change made to the file between pull and push is
 *   kept.  A correction with from null (the file had no record) adds one
 *   with qty = to; if a record has appeared meanwhile, it is a conflict
 *   unless it already holds to.  A correction whose record is gone is a
 *   conflict.
 * - push holds an exclusive flock(2) on the file, writes the new file
 *   beside it, fsyncs it, renames it over the old one and fsyncs the
 *   folder: a crash leaves either the old or the new file, never half of
 *   one.  Records that do not change are copied byte for byte, in order;
 *   unknown fields are kept; new records go at the end.
 * - Writers replace the file, so a process that waits for the lock may
 *   wake up holding the lock of a file that is no longer at the path: it
 *   then opens the path again (lock_path below).
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "keytab.h"
#include "rec.h"
#include "banned.h"

/* The channel: the resolved path and the optional location filter. */
struct fchan {
	char *path;
	char **locs;		/* `locations =`, NULL: all */
	size_t nlocs;
};

/* One record of the file, validated; strings borrowed from the reader. */
struct frec {
	const char *sku, *item, *loc, *state;
	size_t skulen, itemlen, loclen, statelen;
	int64_t qty;
};

/* What push knows of each record of the file, by its position. */
struct frow {
	int64_t qty;
	int changed;
};

/*
 * The index of a file: "i" item-or-sku NUL location, and "s" sku NUL
 * location, each to the first record's position and the number of records
 * that share the key (more than one makes a correction ambiguous).
 */
struct fent {
	uint64_t row;
	uint64_t count;
};

/* Everything push and read learn from reading the file once. */
struct fscan {
	struct keytab idx;
	struct frow *rows;
	size_t nrows, caprows;
	int fmt;		/* FMT_NDJSON or FMT_CSV; FMT_AUTO: no record, no header */
	int anyloc;		/* some record has a location field */
	char **cols;		/* CSV header */
	size_t ncols;
	/* records added by this push, written after the file's own */
	struct fnew { char *sku, *loc; int64_t qty; } *adds;
	size_t nadds;
};

static const char *const file_keys[] = {
	"type", "path", "locations", "concurrency", "timeout",
	/* scripts/invsync's own settings, read by it and ignored here */
	"master", "rules", "map", "location_map", "bundles",
	NULL
};

/* ---- opening ---- */

/* path, resolved against the folder of the configuration file when relative. */
static char *
resolve(const struct config *cfg, const char *path)
{
	if (path[0] == '/' || !cfg->path || !strchr(cfg->path, '/'))
		return xstrdup(path);
	struct buf b = BUF_INIT;
	char *dir = xstrdup(cfg->path);
	buf_addf(&b, "%s/%s", dirname(dir), path);
	free(dir);
	return b.s;
}

/* Split `locations = a, b` into fc->locs. */
static void
split_locations(struct fchan *fc, const char *v)
{
	char *dup = xstrdup(v), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		t += strspn(t, " \t");
		size_t n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			n--;
		fc->locs = xrealloc(fc->locs, (fc->nlocs + 1) * sizeof *fc->locs);
		fc->locs[fc->nlocs++] = xstrndup(t, n);
	}
	free(dup);
}

static void file_close(struct chan *c);

static int
file_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *path = chan_get(cc, "path");
	struct stat st;

	for (size_t i = 0; i < cc->nkv; i++) {
		size_t k = 0;
		while (file_keys[k] && strcmp(file_keys[k], cc->kv[i].key))
			k++;
		if (!file_keys[k]) {
			buf_addf(err, "%s:%d: [%s]: unknown setting '%s' for type file (path, locations)",
			    c->cfg->path, cc->line, cc->name, cc->kv[i].key);
			return EX_CONFIG;
		}
	}
	if (!path || !*path) {
		buf_addf(err, "%s:%d: [%s]: no 'path =' (the stock file of this channel)",
		    c->cfg->path, cc->line, cc->name);
		return EX_CONFIG;
	}
	struct fchan *fc = xcalloc(1, sizeof *fc);
	fc->path = resolve(c->cfg, path);
	if (chan_get(cc, "locations"))
		split_locations(fc, chan_get(cc, "locations"));
	c->priv = fc;
	const char *bad = stat(fc->path, &st) < 0 ? strerror(errno) :
	    !S_ISREG(st.st_mode) ? "not a regular file" : NULL;
	if (bad) {
		buf_addf(err, "%s:%d: [%s]: path %s: %s", c->cfg->path, cc->line, cc->name, fc->path,
		    bad);
		file_close(c);	/* chan_open does not call close when open fails */
		return EX_NOINPUT;
	}
	return 0;
}

static void
file_close(struct chan *c)
{
	struct fchan *fc = c->priv;
	if (!fc)
		return;
	for (size_t i = 0; i < fc->nlocs; i++)
		free(fc->locs[i]);
	free(fc->locs);
	free(fc->path);
	free(fc);
	c->priv = NULL;
}

/* ---- locking ---- */

/*
 * Open path and take a flock of kind how on it.  A writer replaces the
 * file by rename, so once the lock is ours the path must still name the
 * file locked; else open it again.  Returns the descriptor, or -1 with err
 * set and *code the exit code.
 */
static int
lock_path(const char *path, int how, struct buf *err, int *code)
{
	for (int tries = 0; tries < 1000; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			buf_addf(err, "%s: %s", path, strerror(errno));
			*code = errno == ENOENT ? EX_NOINPUT : EX_IOERR;
			return -1;
		}
		while (flock(fd, how) < 0)
			if (errno != EINTR) {
				buf_addf(err, "%s: cannot lock: %s", path, strerror(errno));
				close(fd);
				*code = EX_IOERR;
				return -1;
			}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	buf_addf(err, "%s: replaced too often while waiting for its lock", path);
	*code = EX_TEMPFAIL;
	return -1;
}

/* ---- reading ---- */

static int
str_field(const struct record *rec, int kid, struct buf *sc, const char **s, size_t *n,
    struct buf *why)
{
	*s = "";
	*n = 0;
	int r = rec_str(rec, kid, sc, s, n, why);
	if (r < 0)
		return -1;
	if (r == 0 && memchr(*s, '\0', *n)) {
		buf_reset(why);
		buf_addf(why, "field '%s': contains a NUL character", known_names[kid]);
		return -1;
	}
	if (r == 1) {
		*s = "";
		*n = 0;
	}
	return 0;
}

/* Validate one record of the file into fr.  -1 with why set when bad. */
static int
file_rec(const struct record *rec, struct frec *fr, struct buf sc[4], struct buf *why)
{
	if (str_field(rec, K_SKU, &sc[0], &fr->sku, &fr->skulen, why) < 0 ||
	    str_field(rec, K_ITEM, &sc[1], &fr->item, &fr->itemlen, why) < 0 ||
	    str_field(rec, K_LOCATION, &sc[2], &fr->loc, &fr->loclen, why) < 0 ||
	    str_field(rec, K_STATE, &sc[3], &fr->state, &fr->statelen, why) < 0)
		return -1;
	if (!fr->skulen && !fr->itemlen) {
		buf_reset(why);
		buf_adds(why, "field 'sku': missing (a record needs a sku or an item)");
		return -1;
	}
	int r = rec_int(rec, K_QTY, &fr->qty, why);
	if (r == 1) {
		buf_reset(why);
		buf_adds(why, rec->kidx[K_QTY] < 0 ? "field 'qty': missing" : "field 'qty': null");
	}
	return r ? -1 : 0;
}

/*
 * Read every record of the locked file through each(), which returns 0 to
 * go on.  A bad record fails the whole read (65): a file that cannot be
 * read in full must not be taken for a shorter one.
 */
static int
scan_file(const char *path, struct fscan *fs,
    int (*each)(const struct frec *fr, const struct record *rec, void *arg), void *arg,
    struct buf *err)
{
	struct reader *r = reader_open(path, FMT_AUTO, 0, 0);
	struct buf sc[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT }, why = BUF_INIT;
	struct record *rec;
	int k, code = 0;

	if (!r) {
		buf_addf(err, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	while ((k = reader_next(r, &rec)) != 0) {
		struct frec fr;
		if (k == -2) {
			buf_addf(err, "%s: read error: %s", path, strerror(errno));
			code = EX_IOERR;
			break;
		}
		if (k < 0 || file_rec(rec, &fr, sc, &why) < 0) {
			buf_addf(err, "%s:%llu: %s", path, (unsigned long long)rec->line,
			    k < 0 ? reader_error(r) : why.s);
			code = EX_DATAERR;
			break;
		}
		if ((code = each(&fr, rec, arg)) != 0)
			break;
	}
	if (fs) {
		size_t nh = 0;
		const struct field *h = reader_header(r, &nh);
		fs->fmt = h ? FMT_CSV : fs->nrows ? FMT_NDJSON : FMT_AUTO;
		for (size_t i = 0; h && i < nh; i++) {
			fs->cols = xrealloc(fs->cols, (fs->ncols + 1) * sizeof *fs->cols);
			fs->cols[fs->ncols++] = xstrndup(h[i].name, h[i].nlen);
		}
	}
	reader_free(r);
	for (int i = 0; i < 4; i++)
		buf_release(&sc[i]);
	buf_release(&why);
	return code;
}

/* ---- pull ---- */

struct pullctx {
	const struct fchan *fc;
	const struct pull_opts *o;
	void (*emit)(const struct pulled *p, void *arg);
	void *arg;
	struct buf s[4];
};

static int
in_list(const char *const *v, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]) == len && !memcmp(v[i], s, len))
			return 1;
	return 0;
}

/* A record's identity as a pull gives it: its item, else its sku. */
static void
identity(const struct frec *fr, const char **s, size_t *n)
{
	*s = fr->itemlen ? fr->item : fr->sku;
	*n = fr->itemlen ? fr->itemlen : fr->skulen;
}

static int
pull_one(const struct frec *fr, const struct record *rec, void *arg)
{
	struct pullctx *x = arg;
	const char *id;
	size_t idn;
	(void)rec;

	identity(fr, &id, &idn);
	if ((x->o->skus && !in_list(x->o->skus, x->o->nskus, fr->sku, fr->skulen)) ||
	    (x->o->items && !in_list(x->o->items, x->o->nitems, id, idn)) ||
	    (x->fc->locs && !in_list((const char *const *)x->fc->locs, x->fc->nlocs, fr->loc,
	    fr->loclen)))
		return 0;
	/* NUL-terminated copies: strings from the reader are spans */
	struct pulled p;
	buf_reset(&x->s[0]);
	buf_add(&x->s[0], id, idn);
	buf_reset(&x->s[1]);
	buf_add(&x->s[1], fr->sku, fr->skulen);
	buf_reset(&x->s[2]);
	buf_add(&x->s[2], fr->loc, fr->loclen);
	buf_reset(&x->s[3]);
	buf_add(&x->s[3], fr->statelen ? fr->state : "available", fr->statelen ? fr->statelen : 9);
	p.item = x->s[0].s;
	p.sku = x->s[1].s;
	p.location = x->s[2].s;
	p.state = x->s[3].s;
	p.qty = fr->qty;
	x->emit(&p, x->arg);
	return 0;
}

static int
file_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct fchan *fc = c->priv;
	struct pullctx x = { fc, o, emit, arg, { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT } };
	int code, fd;

	if (o->since) {
		buf_addf(err, "[%s]: a stock file keeps no change times: --since is not supported "
		    "by type file", c->name);
		return EX_USAGE;
	}
	if ((fd = lock_path(fc->path, LOCK_SH, err, &code)) < 0)
		return code;
	code = scan_file(fc->path, NULL, pull_one, &x, err);
	close(fd);
	for (int i = 0; i < 4; i++)
		buf_release(&x.s[i]);
	return code;
}

/* ---- the index used by read and push ---- */

static void
idx_key(struct buf *k, char kind, const char *s, size_t n, const char *loc, size_t loclen)
{
	buf_reset(k);
	buf_addc(k, kind);
	buf_add(k, s, n);
	buf_addc(k, '\0');
	buf_add(k, loc, loclen);
}

static void
idx_add(struct fscan *fs, struct buf *k, uint64_t row)
{
	int isnew;
	struct fent *e = keytab_intern(&fs->idx, k->s, k->len, &isnew);
	if (isnew)
		e->row = row;
	e->count++;
}

/* Index one record of the file under its identity and its sku. */
static void
idx_record(struct fscan *fs, const char *id, size_t idn, const char *sku, size_t skulen,
    const char *loc, size_t loclen, uint64_t row)
{
	struct buf k = BUF_INIT;
	idx_key(&k, 'i', id, idn, loc, loclen);
	idx_add(fs, &k, row);
	if (skulen) {
		idx_key(&k, 's', sku, skulen, loc, loclen);
		idx_add(fs, &k, row);
	}
	buf_release(&k);
}

static int
scan_one(const struct frec *fr, const struct record *rec, void *arg)
{
	struct fscan *fs = arg;
	const char *id;
	size_t idn;

	identity(fr, &id, &idn);
	if (fs->nrows == fs->caprows) {
		fs->caprows = fs->caprows ? 2 * fs->caprows : 1024;
		fs->rows = xrealloc(fs->rows, fs->caprows * sizeof *fs->rows);
	}
	fs->rows[fs->nrows].qty = fr->qty;
	fs->rows[fs->nrows].changed = 0;
	idx_record(fs, id, idn, fr->sku, fr->skulen, fr->loc, fr->loclen, fs->nrows);
	fs->nrows++;
	if (rec->kidx[K_LOCATION] >= 0)
		fs->anyloc = 1;
	return 0;
}

static void
fscan_init(struct fscan *fs)
{
	memset(fs, 0, sizeof *fs);
	keytab_init(&fs->idx, sizeof(struct fent));
}

static void
fscan_release(struct fscan *fs)
{
	keytab_release(&fs->idx);
	free(fs->rows);
	for (size_t i = 0; i < fs->ncols; i++)
		free(fs->cols[i]);
	free(fs->cols);
	for (size_t i = 0; i < fs->nadds; i++) {
		free(fs->adds[i].sku);
		free(fs->adds[i].loc);
	}
	free(fs->adds);
}

/*
 * The record a correction is about.  With from known, the correction came
 * from this channel's own pull, so its item is ours; with from null the
 * file had no record and the item, if any, is another channel's: then the
 * sku is what identifies it.  Returns the index entry or NULL.
 */
static struct fent *
corr_find(struct fscan *fs, const struct corr *k)
{
	struct buf key = BUF_INIT;
	const char *loc = k->location ? k->location : "";
	const char *id = k->has_from && k->item && *k->item ? k->item : k->sku;
	idx_key(&key, k->has_from ? 'i' : 's', id, strlen(id), loc, strlen(loc));
	struct fent *e = keytab_find(&fs->idx, key.s, key.len);
	buf_release(&key);
	return e;
}

/* Human form of a correction's record for messages: item "A" at location "w". */
static void
corr_desc(const struct corr *k, char *out, size_t n)
{
	struct buf q1 = BUF_INIT, q2 = BUF_INIT;
	const char *id = k->has_from && k->item && *k->item ? k->item : k->sku;
	const char *loc = k->location ? k->location : "";
	snprintf(out, n, "%s %s at location %s", k->has_from && k->item && *k->item ? "item" : "sku",
	    quoted(&q1, id, strlen(id)), quoted(&q2, loc, strlen(loc)));
	buf_release(&q1);
	buf_release(&q2);
}

/* ---- read ---- */

static int
file_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct fchan *fc = c->priv;
	struct fscan fs;
	int code, fd;

	if ((fd = lock_path(fc->path, LOCK_SH, err, &code)) < 0)
		return code;
	fscan_init(&fs);
	code = scan_file(fc->path, &fs, scan_one, &fs, err);
	close(fd);
	for (size_t i = 0; i < n && !code; i++) {
		struct fent *e = corr_find(&fs, v[i]);
		v[i]->has_current = e && e->count == 1;
		v[i]->current = v[i]->has_current ? fs.rows[e->row].qty : 0;
	}
	fscan_release(&fs);
	return code;
}

/* ---- push: deciding ---- */

static int
loc_allowed(const struct fchan *fc, const struct corr *k)
{
	const char *loc = k->location ? k->location : "";
	return !fc->locs || in_list((const char *const *)fc->locs, fc->nlocs, loc, strlen(loc));
}

/* A record that the file does not hold yet: add it (from null). */
static void
add_record(struct fscan *fs, struct corr *k)
{
	const char *loc = k->location ? k->location : "";
	fs->adds = xrealloc(fs->adds, (fs->nadds + 1) * sizeof *fs->adds);
	fs->adds[fs->nadds].sku = xstrdup(k->sku);
	fs->adds[fs->nadds].loc = xstrdup(loc);
	fs->adds[fs->nadds].qty = k->to;
	if (fs->nrows == fs->caprows) {
		fs->caprows = fs->caprows ? 2 * fs->caprows : 1024;
		fs->rows = xrealloc(fs->rows, fs->caprows * sizeof *fs->rows);
	}
	/* its row, after the file's own, so later corrections can find it */
	fs->rows[fs->nrows].qty = k->to;
	fs->rows[fs->nrows].changed = 0;
	idx_record(fs, k->sku, strlen(k->sku), k->sku, strlen(k->sku), loc, strlen(loc), fs->nrows);
	fs->nrows++;
	fs->nadds++;
	k->status = CS_APPLIED;
	k->after = k->to;
	k->has_after = 1;
}

/* Set a correction's status and error text (cut to fit). */
static void seterr(struct corr *k, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
seterr(struct corr *k, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(k->error, sizeof k->error, fmt, ap);
	va_end(ap);
	k->status = status;
}

/* A column a CSV file lacks to hold a record added for k, or NULL. */
static const char *
missing_column(const struct fscan *fs, const struct corr *k)
{
	int hasq = 0, hass = 0, hasl = 0;
	if (fs->fmt != FMT_CSV || !fs->ncols)
		return NULL;	/* NDJSON, or a new file: any record fits */
	for (size_t c = 0; c < fs->ncols; c++) {
		hasq |= !strcmp(fs->cols[c], "qty");
		hass |= !strcmp(fs->cols[c], "sku");
		hasl |= !strcmp(fs->cols[c], "location");
	}
	return !hasq ? "qty" : !hass ? "sku" : (k->location && *k->location && !hasl) ?
	    "location" : NULL;
}

/*
 * Decide one correction against the file as read, and set its status: a
 * relative change of the record found, a record added (from null), or why
 * not.  The file is written afterwards, once for the whole batch.
 */
static void
decide(struct fchan *fc, struct fscan *fs, struct corr *k)
{
	char what[200];
	struct fent *e;
	const char *miss;
	int64_t after;

	corr_desc(k, what, sizeof what);
	if (!loc_allowed(fc, k)) {
		seterr(k, CS_FAILED, "%s: not one of this channel's locations", what);
		return;
	}
	if (k->delta == 0) {
		k->status = CS_UNCHANGED;
		return;
	}
	e = corr_find(fs, k);
	if (e && e->count > 1) {
		seterr(k, CS_FAILED, "%s: the file holds %llu records for it", what,
		    (unsigned long long)e->count);
		return;
	}
	if (!e && k->has_from) {
		seterr(k, CS_CONFLICT, "%s: no longer in the file", what);
		return;
	}
	if (!e && (miss = missing_column(fs, k)) != NULL) {
		seterr(k, CS_FAILED, "%s: cannot add a record for it: the file has no '%s' "
		    "column", what, miss);
		return;
	}
	if (!e) {
		add_record(fs, k);
		return;
	}
	struct frow *row = &fs->rows[e->row];
	k->has_current = 1;
	k->current = row->qty;
	if (!k->has_from && row->qty == k->to) {
		k->status = CS_UNCHANGED;
		return;
	}
	if (!k->has_from) {
		seterr(k, CS_CONFLICT, "%s: appeared in the file since it was read, with "
		    "%lld: not overwritten", what, (long long)row->qty);
		return;
	}
	if (__builtin_add_overflow(row->qty, k->delta, &after)) {
		seterr(k, CS_FAILED, "%s: %lld %+lld is out of range", what,
		    (long long)row->qty, (long long)k->delta);
		return;
	}
	row->qty = after;
	row->changed = 1;
	k->status = CS_APPLIED;
	k->after = after;
	k->has_after = 1;
}

/* ---- push: writing ---- */

/* The new file being written: its descriptor, name and output buffer. */
struct fout {
	int fd;
	char *tmp;
	struct buf b;
	const char *eol;
	int fmt;
	struct fscan *fs;
	uint64_t nold;		/* records of the old file, as first read */
	int failed;
	int err;	/* errno of the failure */
};

static void
out_flush(struct fout *o)
{
	size_t off = 0;
	while (!o->failed && off < o->b.len) {
		ssize_t w = write(o->fd, o->b.s + off, o->b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			o->failed = 1;
			o->err = errno;
		} else {
			off += (size_t)w;
		}
	}
	buf_reset(&o->b);
}

static void
out_add(struct fout *o, const char *s, size_t n)
{
	buf_add(&o->b, s, n);
	if (o->b.len >= (1u << 20))
		out_flush(o);
}

/* A CSV cell, quoted when RFC 4180 requires it or spaces would be lost. */
static void
csv_cell(struct buf *b, const char *s, size_t n)
{
	int q = n && (s[0] == ' ' || s[n - 1] == ' ' || s[0] == '\t' || s[n - 1] == '\t');
	for (size_t i = 0; i < n && !q; i++)
		q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!q) {
		buf_add(b, s, n);
		return;
	}
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			buf_addc(b, '"');
		buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

/* A changed NDJSON record: its text with the qty value replaced. */
static void
put_ndjson_changed(struct fout *o, const struct record *rec, int64_t qty)
{
	const struct field *f = &rec->f[rec->kidx[K_QTY]];
	size_t at = (size_t)(f->val - rec->text);
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", (long long)qty);
	out_add(o, rec->text, at);
	out_add(o, num, (size_t)n);
	out_add(o, f->val + f->vlen, rec->textlen - at - f->vlen);
}

/* A changed CSV record: its cells again, the qty cell replaced. */
static void
put_csv_changed(struct fout *o, const struct record *rec, int64_t qty)
{
	struct buf line = BUF_INIT;
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", (long long)qty);
	for (size_t i = 0; i < rec->nf; i++) {
		if (i)
			buf_addc(&line, ',');
		if ((int)i == rec->kidx[K_QTY])
			buf_add(&line, num, (size_t)n);
		else
			csv_cell(&line, rec->f[i].val, rec->f[i].vlen);
	}
	out_add(o, line.s, line.len);
	buf_release(&line);
}

/* Copy or rewrite each record of the old file, in order. */
static int
copy_one(const struct frec *fr, const struct record *rec, void *arg)
{
	struct fout *o = arg;
	uint64_t row = o->fs->nrows++;	/* counted again, in the same order */
	(void)fr;
	if (row >= o->nold)
		return EX_TEMPFAIL;	/* changed by a writer that ignores the lock */
	if (!o->fs->rows[row].changed)
		out_add(o, rec->text, rec->textlen);
	else if (rec->fmt == FMT_CSV)
		put_csv_changed(o, rec, o->fs->rows[row].qty);
	else
		put_ndjson_changed(o, rec, o->fs->rows[row].qty);
	out_add(o, o->eol, strlen(o->eol));
	return o->failed ? EX_IOERR : 0;
}

/* The records this push adds, at the end, in the file's format. */
static void
put_adds(struct fout *o)
{
	struct fscan *fs = o->fs;
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < fs->nadds; i++) {
		const struct fnew *a = &fs->adds[i];
		buf_reset(&line);
		if (o->fmt == FMT_CSV) {
			for (size_t c = 0; c < fs->ncols; c++) {
				const char *name = fs->cols[c];
				if (c)
					buf_addc(&line, ',');
				if (!strcmp(name, "sku"))
					csv_cell(&line, a->sku, strlen(a->sku));
				else if (!strcmp(name, "location"))
					csv_cell(&line, a->loc, strlen(a->loc));
				else if (!strcmp(name, "qty"))
					buf_addf(&line, "%lld", (long long)a->qty);
			}
		} else {
			buf_adds(&line, "{\"sku\":");
			json_quote(&line, a->sku, strlen(a->sku));
			if (*a->loc || fs->anyloc) {
				buf_adds(&line, ",\"location\":");
				json_quote(&line, a->loc, strlen(a->loc));
			}
			buf_addf(&line, ",\"qty\":%lld}", (long long)a->qty);
		}
		out_add(o, line.s, line.len);
		out_add(o, o->eol, strlen(o->eol));
	}
	buf_release(&line);
}

/*
 * What the old file starts with that the reader hides: a byte order mark,
 * and CRLF line ends.  Both are kept.
 */
static void
sniff(int fd, int *bom, int *crlf)
{
	char b[65536];
	ssize_t n = pread(fd, b, sizeof b, 0);
	*bom = *crlf = 0;
	if (n <= 0)
		return;
	*bom = n >= 3 && !memcmp(b, "\xef\xbb\xbf", 3);
	char *nl = memchr(b, '\n', (size_t)n);
	*crlf = nl && nl > b && nl[-1] == '\r';
}

/* The header of a new or header-less CSV file, and the CSV one as read. */
static void
put_header(struct fout *o)
{
	struct fscan *fs = o->fs;
	struct buf line = BUF_INIT;
	if (!fs->ncols) {
		static const char *const def[] = { "sku", "location", "qty" };
		for (size_t i = 0; i < 3; i++) {
			fs->cols = xrealloc(fs->cols, (fs->ncols + 1) * sizeof *fs->cols);
			fs->cols[fs->ncols++] = xstrdup(def[i]);
		}
	}
	for (size_t c = 0; c < fs->ncols; c++) {
		if (c)
			buf_addc(&line, ',');
		csv_cell(&line, fs->cols[c], strlen(fs->cols[c]));
	}
	out_add(o, line.s, line.len);
	out_add(o, o->eol, strlen(o->eol));
	buf_release(&line);
}

/* fsync the folder holding path, so that the rename itself is durable. */
static int
sync_dir(const char *path)
{
	char *dup = xstrdup(path);
	int fd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	free(dup);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -1;
	close(fd);
	return r;
}

/* A temporary file beside path, with the old file's mode and owner. */
static int
make_temp(const char *path, int lockfd, char **tmp)
{
	struct buf b = BUF_INIT;
	char *d = xstrdup(path), *f = xstrdup(path);
	struct stat st;
	buf_addf(&b, "%s/.%s.XXXXXX", dirname(d), basename(f));
	free(d);
	free(f);
	int fd = mkstemp(b.s);
	if (fd < 0) {
		buf_release(&b);
		return -1;
	}
	if (fstat(lockfd, &st) == 0) {
		/* an owner not ours to give away: the file stays ours */
		int r = fchown(fd, st.st_uid, st.st_gid);
		(void)r;
		fchmod(fd, st.st_mode & 07777);
	}
	*tmp = b.s;
	return fd;
}

/*
 * Write the new file next to the old one and rename it into place.  The
 * old file stays whole until the rename; on any failure the temporary
 * file is removed and nothing has changed.
 */
static int
rewrite(struct fchan *fc, struct fscan *fs, int lockfd, struct buf *err)
{
	struct fout o = { .fs = fs };
	int bom, crlf, code;
	uint64_t nrows = fs->nrows;

	sniff(lockfd, &bom, &crlf);
	o.eol = crlf ? "\r\n" : "\n";
	o.fmt = fs->fmt != FMT_AUTO ? fs->fmt : (strlen(fc->path) > 4 &&
	    !strcmp(fc->path + strlen(fc->path) - 4, ".csv")) ? FMT_CSV : FMT_NDJSON;
	if ((o.fd = make_temp(fc->path, lockfd, &o.tmp)) < 0) {
		buf_addf(err, "%s: cannot create a temporary file beside it: %s", fc->path,
		    strerror(errno));
		return EX_CANTCREAT;
	}
	if (bom)
		out_add(&o, "\xef\xbb\xbf", 3);
	if (o.fmt == FMT_CSV)
		put_header(&o);
	o.nold = nrows - fs->nadds;
	fs->nrows = 0;
	code = scan_file(fc->path, NULL, copy_one, &o, err);
	if (code == EX_TEMPFAIL || (!code && fs->nrows != o.nold)) {
		buf_addf(err, "%s: changed while locked (by a program that ignores flock); "
		    "nothing written", fc->path);
		code = EX_TEMPFAIL;
	}
	fs->nrows = nrows;
	put_adds(&o);
	out_flush(&o);
	if (!code && !o.failed && fsync(o.fd) < 0) {
		o.failed = 1;
		o.err = errno;
	}
	if (close(o.fd) < 0 && !o.failed) {
		o.failed = 1;
		o.err = errno;
	}
	if (!code && !o.failed && rename(o.tmp, fc->path) < 0) {
		o.failed = 1;
		o.err = errno;
	}
	if (code || o.failed) {
		if (!code)
			buf_addf(err, "%s: cannot write the new file: %s", fc->path, strerror(o.err));
		unlink(o.tmp);
		code = code ? code : EX_IOERR;
	} else if (sync_dir(fc->path) < 0) {
		buf_addf(err, "%s: cannot sync its folder: %s", fc->path, strerror(errno));
		code = EX_IOERR;
	}
	free(o.tmp);
	buf_release(&o.b);
	return code;
}

static int
file_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct fchan *fc = c->priv;
	struct fscan fs;
	int code, fd, dirty = 0;
	(void)run;	/* a file keeps no idempotency keys: invpush's journal does */

	if ((fd = lock_path(fc->path, LOCK_EX, err, &code)) < 0)
		return code;
	fscan_init(&fs);
	if ((code = scan_file(fc->path, &fs, scan_one, &fs, err)) == 0) {
		for (size_t i = 0; i < n; i++) {
			v[i]->error[0] = '\0';
			decide(fc, &fs, v[i]);
		}
		for (size_t i = 0; i < n; i++)
			dirty |= v[i]->status == CS_APPLIED;
		if (dirty && (code = rewrite(fc, &fs, fd, err)) != 0)
			for (size_t i = 0; i < n; i++) {	/* nothing was written */
				v[i]->status = CS_PENDING;
				v[i]->has_after = 0;
			}
	}
	close(fd);
	fscan_release(&fs);
	return code;
}

const struct driver drv_file = {
	.type = "file",
	.max_batch = 10000,
	.open = file_open,
	.pull = file_pull,
	.read = file_read,
	.push = file_push,
	.close = file_close,
};
