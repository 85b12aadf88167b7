/*
 * patch.c - invdiff --patch RECORDS CORRECTIONS: the other way round from
 * a diff.  Apply each correction's delta to the record of its key and
 * write the records; a correction whose key has no record adds one with
 * qty = delta.
 *
 * It is what a two-way sync needs to keep its books: the channel's state
 * after a push is what it was pulled at plus the deltas that were applied
 * (invpush's results: only `applied` counts), and the master after the
 * channels' sales is the master plus those sales (invdiff's corrections).
 *
 * CORRECTIONS are held in memory (they are few); RECORDS stream.  Output
 * is spooled and written once both inputs were read in full and found
 * valid, as for a diff.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "invdiff.h"
#include "keytab.h"
#include "rec.h"
#include "util.h"
#include "wr.h"
#include "banned.h"

struct pent {
	int64_t delta;
	uint32_t first;		/* index of the first correction of the key */
	uint32_t used;		/* a record of the key was seen */
};

struct held {
	struct record rec;
	struct buf mem;
	struct fieldvec fv;
};

static struct keytab tab;
static struct held *held;
static size_t nheld, capheld;
static struct buf kb, sc, why;
static struct {
	uint64_t corr, ignored, records, patched, added;
} pst;

/*
 * The key of a record: each key field's string value, NUL-separated.  A
 * missing field is ""; a field other than a string is an error (as in a
 * diff).  0, or -1 with why set.
 */
static int
patch_key(const struct record *rec, const char *const *key, size_t nkey)
{
	buf_reset(&kb);
	for (size_t i = 0; i < nkey; i++) {
		const struct field *f = NULL;
		for (size_t j = 0; j < rec->nf && !f; j++)
			if (rec->f[j].nlen == strlen(key[i]) &&
			    !memcmp(rec->f[j].name, key[i], rec->f[j].nlen))
				f = &rec->f[j];
		if (i)
			buf_addc(&kb, '\0');
		if (!f || field_is_null(f)) {
			if (i == 0) {
				buf_reset(&why);
				buf_addf(&why, "field '%s': missing", key[i]);
				return -1;
			}
			continue;
		}
		const char *s;
		size_t n;
		if (field_str(f, &sc, &s, &n, &why) < 0)
			return -1;
		buf_add(&kb, s, n);
	}
	return 0;
}

/* Is this correction to be applied?  1 yes, 0 no (not applied), -1 bad. */
static int
applies(const struct record *rec)
{
	static const char *const yes[] = { "applied", "changed", "added", "removed", NULL };
	static const char *const no[] = {
		"unchanged", "conflict", "failed", "skipped", "planned", "same", "within", NULL
	};
	const char *s;
	size_t n;
	int r = rec_str(rec, K_STATUS, &sc, &s, &n, &why);
	if (r < 0)
		return -1;
	if (r == 1 || n == 0)
		return 1;
	for (size_t i = 0; yes[i]; i++)
		if (strlen(yes[i]) == n && !memcmp(yes[i], s, n))
			return 1;
	for (size_t i = 0; no[i]; i++)
		if (strlen(no[i]) == n && !memcmp(no[i], s, n))
			return 0;
	struct buf q = BUF_INIT;
	buf_reset(&why);
	buf_addf(&why, "field 'status': unknown status %s", quoted(&q, s, n));
	buf_release(&q);
	return -1;
}

/* delta, or to - from when there is no delta field (to when from is null). */
static int
corr_delta(const struct record *rec, int64_t *d)
{
	int r = rec_int(rec, K_DELTA, d, &why);
	if (r <= 0)
		return r;
	int64_t to, from = 0;
	if (rec_int(rec, K_TO, &to, &why) != 0) {
		buf_reset(&why);
		buf_addf(&why, "field 'delta': missing (and no 'to' to take it from)");
		return -1;
	}
	if (rec_int(rec, K_FROM, &from, &why) < 0)
		return -1;
	if (__builtin_sub_overflow(to, from, d)) {
		buf_reset(&why);
		buf_addf(&why, "field 'delta': to - from overflows");
		return -1;
	}
	return 0;
}

static void
load_corrections(const char *path, const char *const *key, size_t nkey, struct rejects *rj,
    struct reader **keep)
{
	struct reader *r = reader_open(path, FMT_AUTO, 0, 0);
	struct record *rec;
	int k;

	if (!r)
		die_errno(EX_NOINPUT, "%s", path);
	while ((k = reader_next(r, &rec)) != 0) {
		int64_t d;
		int a;
		if (k == -2)
			die_errno(EX_IOERR, "%s: read error", reader_name(r));
		if (k < 0) {
			reject_record(rj, reader_name(r), rec, reader_error(r));
			continue;
		}
		if ((a = applies(rec)) < 0 || corr_delta(rec, &d) < 0 ||
		    patch_key(rec, key, nkey) < 0) {
			reject_record(rj, reader_name(r), rec, why.s);
			continue;
		}
		pst.corr++;
		if (!a) {
			pst.ignored++;
			continue;
		}
		int isnew;
		struct pent *e = keytab_intern(&tab, kb.s, kb.len, &isnew);
		if (isnew) {
			if (nheld == capheld) {
				capheld = capheld ? capheld * 2 : 64;
				held = xrealloc(held, capheld * sizeof *held);
			}
			memset(&held[nheld], 0, sizeof held[nheld]);
			rec_clone(&held[nheld].rec, rec, &held[nheld].mem, &held[nheld].fv);
			e->first = (uint32_t)nheld++;
		}
		if (__builtin_add_overflow(e->delta, d, &e->delta)) {
			buf_reset(&why);
			buf_addf(&why, "field 'delta': the deltas of this key add up past 64 bits");
			reject_record(rj, reader_name(r), rec, why.s);
		}
	}
	*keep = r;		/* CSV names of the held corrections point into it */
}

/* A new record from a correction: its fields but the correction's own. */
static void
write_new(struct writer *w, const struct record *rec, int64_t q)
{
	wr_begin(w);
	for (size_t i = 0; i < rec->nf; i++) {
		switch (rec->f[i].kid) {
		case K_FROM: case K_TO: case K_DELTA: case K_REASON: case K_STATUS:
		case K_ERROR: case K_AT: case K_RUN: case K_QTY: case K_FROM_TS:
			continue;
		}
		wr_field(w, &rec->f[i]);
	}
	wr_int(w, "qty", q);
	wr_end(w);
}

int
patch_main(const char *records, const char *corrections, const char *const *key, size_t nkey,
    int fmt, int quiet, const char *reject)
{
	struct rejects rj;
	struct reader *cr = NULL, *r;
	struct record *rec;
	FILE *spool;
	struct writer *w;
	int k;

	if (!strcmp(records, "-") && !strcmp(corrections, "-"))
		die(EX_USAGE, "records and corrections cannot both be standard input");
	if (rejects_open(&rj, reject) < 0)
		die_errno(EX_CANTCREAT, "%s", reject);
	keytab_init(&tab, sizeof(struct pent));
	load_corrections(corrections, key, nkey, &rj, &cr);

	if (!(spool = tmpfile()))
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	w = writer_new(spool, fmt, (fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0));
	if (!(r = reader_open(records, FMT_AUTO, 0, 0)))
		die_errno(EX_NOINPUT, "%s", records);
	while ((k = reader_next(r, &rec)) != 0) {
		int64_t q;
		struct pent *e;
		if (k == -2)
			die_errno(EX_IOERR, "%s: read error", reader_name(r));
		if (k < 0) {
			reject_record(&rj, reader_name(r), rec, reader_error(r));
			continue;
		}
		int qr = rec_int(rec, K_QTY, &q, &why);
		if (qr == 1) {
			buf_reset(&why);
			buf_addf(&why, "field 'qty': missing");
		}
		if (qr != 0 || patch_key(rec, key, nkey) < 0) {
			reject_record(&rj, reader_name(r), rec, why.s);
			continue;
		}
		pst.records++;
		e = keytab_find(&tab, kb.s, kb.len);
		if (!e) {
			wr_begin(w);
			for (size_t i = 0; i < rec->nf; i++)
				wr_field(w, &rec->f[i]);
			wr_end(w);
			continue;
		}
		if (e->used)
			die(EX_DATAERR, "%s:%llu: a second record of a key that a correction "
			    "patches: which one is meant is unknown", reader_name(r),
			    (unsigned long long)rec->line);
		e->used = 1;
		if (__builtin_add_overflow(q, e->delta, &q))
			die(EX_DATAERR, "%s:%llu: field 'qty': qty + delta overflows",
			    reader_name(r), (unsigned long long)rec->line);
		pst.patched++;
		wr_begin(w);
		for (size_t i = 0; i < rec->nf; i++) {
			if (rec->f[i].kid == K_QTY)
				wr_int(w, "qty", q);
			else
				wr_field(w, &rec->f[i]);
		}
		wr_end(w);
	}
	reader_free(r);
	for (size_t i = 0; i < keytab_count(&tab); i++) {
		struct pent *e = keytab_val(&tab, (uint32_t)i);
		if (e->used)
			continue;
		pst.added++;
		write_new(w, &held[e->first].rec, e->delta);
	}
	writer_close(w);
	rejects_close(&rj);
	spool_to_stdout(spool);
	if (!quiet) {
		fprintf(stderr, "%s: %llu records, %llu patched, %llu added; %llu corrections, "
		    "%llu not applied", progname, (unsigned long long)pst.records,
		    (unsigned long long)pst.patched, (unsigned long long)pst.added,
		    (unsigned long long)pst.corr, (unsigned long long)pst.ignored);
		if (rj.count)
			fprintf(stderr, "; %llu rejected", (unsigned long long)rj.count);
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < nheld; i++) {
		buf_release(&held[i].mem);
		free(held[i].fv.v);
	}
	free(held);
	reader_free(cr);
	keytab_release(&tab);
	buf_release(&kb);
	buf_release(&sc);
	buf_release(&why);
	return 0;
}
