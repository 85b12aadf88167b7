/*
 * invdiff - compare two stock record streams, WANT and HAVE, and emit one
 * correction record per key whose quantities differ.
 *
 * WANT is held in memory (keytab + a 24-byte entry per key), HAVE is
 * streamed.  Corrections are written to a temporary file and copied to
 * stdout only once both inputs have been read in full and found valid, so a
 * bad record never leaves half a diff downstream for invpush to apply.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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

#define LINE_MASK ((UINT64_C(1) << 48) - 1)
#define F_PRESENT (UINT64_C(1) << 63)	/* in wline: key in WANT; in hline: in HAVE */
#define F_WREJ (UINT64_C(1) << 62)	/* in wline: WANT's record for this key was rejected */
#define F_HREJ (UINT64_C(1) << 62)	/* in hline: HAVE's record for this key was rejected */
#define F_HAD(i) (UINT64_C(1) << (48 + (i)))	/* in wline: WANT carried key field i */
#define MAXKEY 14

/*
 * What is held per key, next to the key in the key table: 24 bytes.  The
 * table's user word holds the id of WANT's extras blob.  HAVE's quantity
 * is only held under --sum (struct sumext after the entry), since otherwise
 * each HAVE record is decided as it streams past.
 */
struct entry {
	int64_t wq;
	uint64_t wline, hline;	/* line numbers plus the F_ flags */
};
struct sumext {
	int64_t hq;
	uint32_t hx;		/* HAVE's blob */
};
#define WX(e) (*keytab_user(e))
#define SUMX(e) ((struct sumext *)((e) + 1))

struct keyfield {
	const char *name;
	int kid;		/* known id or -1 */
};

static struct {
	int all, partial, sum, exitcode, quiet, verbose, fmt, patch;
	const char *reason, *reject;
	struct keyfield *key;
	size_t nkey;
	int autochan;		/* default key: channel joins it if WANT is multi-channel */
	int tol_pct;
	long double tol;
} opt;

static struct {
	uint64_t keys, equal, changed, onlywant, onlyhave, within, absdelta;
	uint64_t skipped;	/* HAVE keys left alone: WANT's record was rejected */
	uint64_t want_unkeyed;	/* WANT records rejected before their key was known */
	int absdelta_sat;
} st;

/*
 * keys: the key of a record is the first key field's value followed by the
 * 4-byte id of each other key field's value in vals[] (locations and
 * channels repeat: interning them keeps a million keys small).
 */
static struct keytab keys, blobs, vals[16];
static size_t chanpos;		/* index of channel in the default key */
static int want_multichan, want_sawchan;
static uint64_t want_nochan_line;	/* first WANT record without a channel */
static const char *want_nochan_file;
static struct entry **horder;	/* --sum: HAVE's keys in HAVE's order */
static size_t nhorder, caphorder;
static uint32_t want_chan;	/* id of WANT's single channel value */
static struct rejects rj;
static struct writer *out;
static FILE *spool;
static struct progress prog;
static struct buf why, keybuf, scratch[4], blobbuf, tmp;

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invdiff [-aepqsv] [-F format] [-k fields] [-r reason] [-t tolerance]\n"
	    "               [--reject file] [--unbuffered] want have\n"
	    "       invdiff --patch [-q] [-F format] [-k fields] [--reject file] records corrections\n");
	if (!code)
		fprintf(f,
		    "\nCompare two stock record streams and emit corrections (have -> want).\n\n"
		    "  -a, --all             also emit equal keys (status same/within)\n"
		    "  -e, --exit-code       exit 1 when any correction was emitted\n"
		    "  -F, --format FMT      ndjson (default), csv or table\n"
		    "  -k, --key FIELDS      key fields (default sku,location[,channel])\n"
		    "  -p, --partial         keys missing from want are not corrections\n"
		    "      --patch           add the corrections' deltas to the records instead\n"
		    "  -q, --quiet           no summary\n"
		    "  -r, --reason TEXT     reason of the corrections (default sync)\n"
		    "      --reject FILE     write bad records to FILE and go on\n"
		    "  -s, --sum             add up duplicate keys instead of refusing them\n"
		    "  -t, --tolerance N|P%%  differences within N units or P%% are not emitted\n"
		    "      --unbuffered      accepted; output is written at the end anyway\n"
		    "  -v, --verbose         explain more\n"
		    "  -h, --help            this help\n"
		    "  -V, --version         version\n\n"
		    "See invdiff(1) and invkit(7).\n");
	exit(code);
}

static void
parse_key(const char *s)
{
	char *dup = xstrdup(s), *tok, *save = NULL;
	opt.nkey = 0;
	opt.key = NULL;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!*tok)
			continue;
		opt.key = xrealloc(opt.key, (opt.nkey + 1) * sizeof *opt.key);
		opt.key[opt.nkey].name = xstrdup(tok);
		opt.key[opt.nkey].kid = known_id(tok, strlen(tok));
		for (size_t i = 0; i < opt.nkey; i++)
			if (!strcmp(opt.key[i].name, tok))
				die(EX_USAGE, "key field '%s' given twice", tok);
		opt.nkey++;
	}
	free(dup);
	if (!opt.nkey)
		die(EX_USAGE, "empty key: -k needs at least one field");
}

/* N units (an integer) or P% (digits, at most one '.'): nothing else. */
static void
parse_tolerance(const char *s)
{
	size_t n = strlen(s), dots = 0, digits = 0;
	int64_t v;

	opt.tol_pct = n > 1 && s[n - 1] == '%';
	if (!opt.tol_pct) {
		if (parse_i64(s, n, &v) || v < 0)
			goto bad;
		opt.tol = (long double)v;
		return;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			goto bad;
	}
	if (dots > 1 || !digits || n > 24)
		goto bad;
	opt.tol = strtold(s, NULL);
	return;
bad:
	die(EX_USAGE, "bad tolerance '%s': give units (5) or a percentage (2.5%%)", s);
}

/* Find a field of rec by key field spec. */
static const struct field *
getf(const struct record *rec, const struct keyfield *k)
{
	if (k->kid >= 0)
		return rec->kidx[k->kid] >= 0 ? &rec->f[rec->kidx[k->kid]] : NULL;
	size_t n = strlen(k->name);
	for (size_t i = 0; i < rec->nf; i++)
		if (rec->f[i].nlen == n && !memcmp(rec->f[i].name, k->name, n))
			return &rec->f[i];
	return NULL;
}

/*
 * The string value of key field k of rec, "" when absent.  sku must be
 * present and not empty.  Returns -1 with why set for a bad value.
 */
static int
keyval(const struct record *rec, const struct keyfield *k, struct buf *sc, const char **s,
    size_t *n)
{
	const struct field *f = getf(rec, k);
	*s = "";
	*n = 0;
	if (!f || field_is_null(f)) {
		if (k->kid == K_SKU) {
			buf_reset(&why);
			buf_adds(&why, f ? "field 'sku': empty" : "field 'sku': missing");
			return -1;
		}
		return 0;
	}
	if (field_str(f, sc, s, n, &why) < 0)
		return -1;
	if (*n == 0 && k->kid == K_SKU) {
		buf_reset(&why);
		buf_adds(&why, "field 'sku': empty");
		return -1;
	}
	if (memchr(*s, '\0', *n)) {
		buf_reset(&why);
		buf_addf(&why, "field '%s': contains a NUL character", k->name);
		return -1;
	}
	return 0;
}

static int
qtyval(const struct record *rec, int64_t *q)
{
	int r = rec_int(rec, K_QTY, q, &why);
	if (r == 1) {
		buf_reset(&why);
		buf_adds(&why, rec->kidx[K_QTY] < 0 ? "field 'qty': missing" : "field 'qty': null");
		return -1;
	}
	return r;
}

/*
 * Build the key of rec into keybuf (see keys above).  chan, if not NULL,
 * replaces the channel value (single-channel WANT); needchan: a HAVE
 * record must carry a channel because WANT holds several.
 */
static int
build_key(const struct record *rec, const uint32_t *chan, int needchan)
{
	const char *s;
	size_t n;

	buf_reset(&keybuf);
	if (keyval(rec, &opt.key[0], &scratch[0], &s, &n) < 0)
		return -1;
	buf_add(&keybuf, s, n);
	for (size_t i = 1; i < opt.nkey; i++) {
		uint32_t id;
		if (chan && i == chanpos) {
			id = *chan;
		} else if (needchan && i == chanpos && rec->kidx[K_CHANNEL] < 0) {
			buf_reset(&why);
			buf_adds(&why, "field 'channel': missing, and want holds several channels "
			    "(use -k to choose the key)");
			return -1;
		} else {
			if (keyval(rec, &opt.key[i], &scratch[1], &s, &n) < 0)
				return -1;
			id = *keytab_user(keytab_intern(&vals[i], s, n, NULL));
		}
		buf_add(&keybuf, &id, sizeof id);
	}
	return 0;
}

/* Value of key field f within key k[0..n) (as built by build_key). */
static const char *
key_part(const char *k, size_t n, size_t f, size_t *len)
{
	size_t first = n - 4 * (opt.nkey - 1);
	uint32_t id;
	if (f == 0) {
		*len = first;
		return k;
	}
	memcpy(&id, k + first + 4 * (f - 1), sizeof id);
	return keytab_keyof(&vals[f], keytab_val(&vals[f], id), len);
}

static int
is_keyfield(const struct field *f)
{
	for (size_t i = 0; i < opt.nkey; i++) {
		if (opt.key[i].kid >= 0 ? f->kid == opt.key[i].kid :
		    (f->nlen == strlen(opt.key[i].name) && !memcmp(f->name, opt.key[i].name, f->nlen)))
			return 1;
	}
	return 0;
}

/* Fields invdiff writes itself; an input's own copies are stale. */
static int
is_output_field(const struct field *f)
{
	return f->kid == K_QTY || f->kid == K_FROM || f->kid == K_TO || f->kid == K_DELTA ||
	    f->kid == K_REASON || f->kid == K_STATUS || f->kid == K_FROM_TS;
}

/*
 * Blobs: a record's fields serialised so they can be replayed through the
 * writer later.  Interned, so WANT records that share everything but the
 * key (the usual case: same channel, same ts) cost one copy.
 */
struct blobhdr {
	unsigned char type, vesc, nfromjson;
	signed char kid;
	uint32_t rawlen, nlen, vlen;	/* nlen == UINT32_MAX: name same as raw */
};

static uint32_t
make_blob(const struct record *rec, int skipkeys)
{
	buf_reset(&blobbuf);
	for (size_t i = 0; i < rec->nf; i++) {
		const struct field *f = &rec->f[i];
		/* key fields are rebuilt from the key, unless escapes make them
		 * differ from it byte for byte */
		if (f->kid == K_QTY || (skipkeys && !f->vesc && is_keyfield(f)))
			continue;
		struct blobhdr h = { f->type, f->vesc, f->nfromjson, f->kid, (uint32_t)f->rawlen,
			f->name == f->raw ? UINT32_MAX : (uint32_t)f->nlen, (uint32_t)f->vlen };
		buf_add(&blobbuf, &h, sizeof h);
		buf_add(&blobbuf, f->raw, f->rawlen);
		if (f->name != f->raw)
			buf_add(&blobbuf, f->name, f->nlen);
		buf_add(&blobbuf, f->val, f->vlen);
	}
	return *keytab_user(keytab_intern(&blobs, blobbuf.s ? blobbuf.s : "", blobbuf.len, NULL));
}

/* Unpack blob id into fv (fields point into the blob table). */
static void
unpack_blob(uint32_t id, struct fieldvec *fv)
{
	size_t n;
	const char *p = keytab_keyof(&blobs, keytab_val(&blobs, id), &n), *e = p + n;
	fv->n = 0;
	while (p < e) {
		struct blobhdr h;
		struct field f = { 0 };
		memcpy(&h, p, sizeof h);
		p += sizeof h;
		f.type = h.type;
		f.vesc = h.vesc;
		f.nfromjson = h.nfromjson;
		f.kid = h.kid;
		f.raw = p;
		f.rawlen = h.rawlen;
		p += h.rawlen;
		if (h.nlen == UINT32_MAX) {
			f.name = f.raw;
			f.nlen = f.rawlen;
		} else {
			f.name = p;
			f.nlen = h.nlen;
			p += h.nlen;
		}
		f.val = p;
		f.vlen = h.vlen;
		p += h.vlen;
		fieldvec_push(fv, &f);
	}
}

/* Human form of the current key for messages: sku 'A', location 'X'. */
static const char *
key_desc(const char *k, size_t n)
{
	buf_reset(&tmp);
	for (size_t f = 0; f < opt.nkey; f++) {
		size_t len;
		const char *s = key_part(k, n, f, &len);
		struct buf q = BUF_INIT;
		if (opt.autochan && f == chanpos && !want_multichan)
			;	/* matched regardless of channel: do not show it */
		else
			buf_addf(&tmp, "%s%s %s", tmp.len ? ", " : "", opt.key[f].name,
			    quoted(&q, s, len));
		buf_release(&q);
	}
	return tmp.s;
}

static int
add_checked(int64_t *acc, int64_t v)
{
	return __builtin_add_overflow(*acc, v, acc) ? -1 : 0;
}

/*
 * Records are taken in batches: parsed, keyed and copied first, with the
 * key's hash slot prefetched, then applied to the table in input order.
 * A million random probes otherwise wait on memory one at a time.
 */
#define BATCH 16
struct pend {
	struct record rec;	/* a copy that outlives the reader's buffers */
	struct fieldvec fv;
	struct buf mem, key, why;
	uint32_t h;
	int64_t q;
	int bad;
	int keyok;		/* bad, but its key is known */
};
static struct pend batch[BATCH];
static size_t nbatch;

/* Take the reader's current record into the batch; k as reader_next. */
static void
pend_add(struct reader *r, struct record *rec, int k, const uint32_t *chan, int needchan)
{
	struct pend *e = &batch[nbatch++];
	e->bad = e->keyok = 0;
	if (k < 0) {
		e->bad = 1;
		buf_reset(&e->why);
		buf_adds(&e->why, reader_error(r));
	} else if (build_key(rec, chan, needchan) < 0) {
		e->bad = 1;
		buf_reset(&e->why);
		buf_add(&e->why, why.s, why.len);
	} else if (rec->line > LINE_MASK) {
		die(EX_DATAERR, "%s: more lines than invdiff can number", reader_name(r));
	} else {
		buf_reset(&e->key);
		buf_add(&e->key, keybuf.s, keybuf.len);
		e->h = keytab_hash(keybuf.s, keybuf.len);
		keytab_prefetch(&keys, e->h, 0);
		if (qtyval(rec, &e->q) < 0) {
			e->bad = 1;
			e->keyok = 1;
			buf_reset(&e->why);
			buf_add(&e->why, why.s, why.len);
		}
	}
	rec_clone(&e->rec, rec, &e->mem, &e->fv);
}

static void
want_one(const char *name, struct pend *p)
{
	struct record *rec = &p->rec;
	if (p->bad) {
		reject_record(&rj, name, rec, p->why.s);
		/* a rejected WANT record must not zero its key in HAVE */
		if (p->keyok) {
			int isnew;
			struct entry *e = keytab_intern_h(&keys, p->key.s, p->key.len, p->h, &isnew);
			if (isnew)
				e->wline = rec->line | F_WREJ;
		} else {
			st.want_unkeyed++;
		}
		return;
	}
	if (opt.autochan && rec->kidx[K_CHANNEL] < 0 && !want_nochan_line) {
		want_nochan_line = rec->line;
		want_nochan_file = xstrdup(name);
	}
	if (opt.autochan) {
		uint32_t c;
		memcpy(&c, p->key.s + p->key.len - 4 * (opt.nkey - chanpos), sizeof c);
		if (!want_sawchan) {
			want_chan = c;
			want_sawchan = 1;
		} else if (c != want_chan) {
			want_multichan = 1;
		}
	}
	int isnew;
	struct entry *e = keytab_intern_h(&keys, p->key.s, p->key.len, p->h, &isnew);
	if (!isnew && (e->wline & F_WREJ) && !(e->wline & F_PRESENT)) {
		isnew = 1;	/* its first record was rejected: this one counts */
	} else if (!isnew) {
		if (!opt.sum) {
			buf_reset(&why);
			buf_addf(&why, "duplicate key (%s), first at line %llu (use --sum to add them up)",
			    key_desc(p->key.s, p->key.len), (unsigned long long)(e->wline & LINE_MASK));
			reject_record(&rj, name, rec, why.s);
		} else if (add_checked(&e->wq, p->q) < 0) {
			reject_record(&rj, name, rec, "field 'qty': sum out of range");
		}
		return;
	}
	e->wq = p->q;
	e->wline = (e->wline & F_WREJ) | rec->line | F_PRESENT;
	for (size_t i = 0; i < opt.nkey; i++)
		if (getf(rec, &opt.key[i]))
			e->wline |= F_HAD(i);
	WX(e) = make_blob(rec, 1);
}

static void have_one(const char *name, struct pend *p);

static void
flush_batch(const char *name, int want)
{
	for (size_t i = 0; i < nbatch; i++)
		if (!batch[i].bad)
			keytab_prefetch(&keys, batch[i].h, 1);
	for (size_t i = 0; i < nbatch; i++)
		if (want)
			want_one(name, &batch[i]);
		else
			have_one(name, &batch[i]);
	nbatch = 0;
}

/* Read one side through the batch; WANT is held, HAVE decided as it goes. */
static void
read_side(const char *path, int want)
{
	struct reader *r = reader_open(path, FMT_AUTO, 0, 0);
	struct record *rec;
	uint64_t nrec = 0;
	const uint32_t *chan = NULL;
	int k;

	if (!r)
		die_errno(EX_NOINPUT, "%s", path);
	if (!want && opt.autochan && !want_multichan) {
		if (!want_sawchan)
			want_chan = *keytab_user(keytab_intern(&vals[chanpos], "", 0, NULL));
		chan = &want_chan;
	}
	while ((k = reader_next(r, &rec)) != 0) {
		if (k == -2)
			die_errno(EX_IOERR, "%s: read error", reader_name(r));
		progress_tick(&prog, want ? "want" : "have", ++nrec, reader_offset(r));
		pend_add(r, rec, k, chan, !want && opt.autochan && want_multichan);
		if (nbatch == BATCH)
			flush_batch(reader_name(r), want);
	}
	flush_batch(reader_name(r), want);
	reader_free(r);
}

/* Track names written into the current output record. */
static struct { const char *s; size_t n; } written[256];
static size_t nwritten;

static void
mark(const char *s, size_t n)
{
	if (nwritten < sizeof written / sizeof *written) {
		written[nwritten].s = s;
		written[nwritten].n = n;
		nwritten++;
	}
}

static int
was_written(const char *s, size_t n)
{
	for (size_t i = 0; i < nwritten; i++)
		if (written[i].n == n && !memcmp(written[i].s, s, n))
			return 1;
	return 0;
}

/* Write HAVE's fields: all but qty and output fields; ts becomes from_ts. */
static void
put_have(const struct field *f, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		if (is_output_field(&f[i]))
			continue;
		if (f[i].kid == K_TS) {
			wr_field_as(out, "from_ts", &f[i]);
			mark("from_ts", 7);
			continue;
		}
		wr_field(out, &f[i]);
		mark(f[i].name, f[i].nlen);
	}
}

/* Write WANT's key fields (from the key) and extras HAVE did not have. */
static void
put_want(struct entry *e, int withkey)
{
	static struct fieldvec fv;
	unpack_blob(WX(e), &fv);
	if (withkey) {
		size_t n;
		const char *k = keytab_keyof(&keys, e, &n);
		for (size_t f = 0; f < opt.nkey; f++) {
			size_t len, nl = strlen(opt.key[f].name);
			const char *s = key_part(k, n, f, &len);
			int inblob = 0;
			for (size_t i = 0; i < fv.n && !inblob; i++)
				inblob = fv.v[i].nlen == nl && !memcmp(fv.v[i].name, opt.key[f].name, nl);
			if (!(e->wline & F_HAD(f)) || inblob || was_written(opt.key[f].name, nl))
				continue;
			wr_str(out, opt.key[f].name, s, len);
			mark(opt.key[f].name, nl);
		}
	}
	for (size_t i = 0; i < fv.n; i++) {
		const struct field *f = &fv.v[i];
		if (is_output_field(f) || was_written(f->name, f->nlen))
			continue;
		wr_field(out, f);
		mark(f->name, f->nlen);
	}
}

static int
within(int64_t from, int64_t delta)
{
	long double d = delta < 0 ? -(long double)delta : (long double)delta;
	if (opt.tol_pct)	/* a share of nothing, or of an oversold count, is nothing */
		return from > 0 && d * 100 <= opt.tol * (long double)from;
	return d <= opt.tol;
}

enum kind { SAME, CHANGED, ADDED, REMOVED };

/*
 * Decide and, if it is to be written, write the output record of one key.
 * hf: HAVE's fields (NULL when only in WANT); e: the key's entry.  Returns
 * -1 with why set when the difference does not fit in 64 bits.
 */
static int
decide(const struct field *hf, size_t hnf, struct entry *e, int64_t hq, int inhave)
{
	int inwant = (e->wline & F_PRESENT) != 0;
	int64_t to, delta = 0;
	const char *status;

	if (!inwant && (e->wline & F_WREJ)) {
		st.skipped++;	/* WANT's record was bad: leave HAVE alone */
		return 0;
	}
	if (!inwant && (opt.partial || st.want_unkeyed))
		return 0;	/* not counted: a partial WANT says nothing of it */
	to = inwant ? e->wq : 0;
	if (inhave && __builtin_sub_overflow(to, hq, &delta)) {
		size_t kn;
		const char *k = keytab_keyof(&keys, e, &kn);
		buf_reset(&why);
		buf_addf(&why, "key (%s): difference %lld - %lld out of range", key_desc(k, kn),
		    (long long)to, (long long)hq);
		return -1;
	}
	st.keys++;
	if (!inhave)
		delta = to;
	if (delta == 0) {
		st.equal++;	/* equal, or only on one side and 0 there */
		status = "same";
	} else if (inhave && within(hq, delta)) {
		st.within++;
		status = "within";
	} else {
		status = !inhave ? "added" : !inwant ? "removed" : "changed";
		if (!inhave)
			st.onlywant++;
		else if (!inwant)
			st.onlyhave++;
		else
			st.changed++;
		uint64_t ad = delta < 0 ? (uint64_t)0 - (uint64_t)delta : (uint64_t)delta;
		if (st.absdelta + ad < st.absdelta) {
			st.absdelta_sat = 1;
			st.absdelta = UINT64_MAX;
		} else if (!st.absdelta_sat) {
			st.absdelta += ad;
		}
	}
	int emit = status[0] == 'a' || status[0] == 'r' || status[0] == 'c';
	if (!emit && !opt.all)
		return 0;
	wr_begin(out);
	nwritten = 0;
	if (hf)
		put_have(hf, hnf);
	if (inwant)
		put_want(e, !hf);
	if (inhave)
		wr_int(out, "from", hq);
	else
		wr_null(out, "from");
	wr_int(out, "to", to);
	wr_int(out, "delta", delta);
	wr_str(out, "reason", opt.reason, strlen(opt.reason));
	if (opt.all)
		wr_str(out, "status", status, strlen(status));
	wr_end(out);
	return 0;
}

static void
have_one(const char *name, struct pend *p)
{
	struct record *rec = &p->rec;
	if (p->bad) {
		reject_record(&rj, name, rec, p->why.s);
		/* nor may a rejected HAVE record make its key look new */
		if (p->keyok) {
			struct entry *e = keytab_intern_h(&keys, p->key.s, p->key.len, p->h, NULL);
			if (!(e->hline & F_PRESENT))
				e->hline |= F_HREJ;
		}
		return;
	}
	struct entry *e = keytab_intern_h(&keys, p->key.s, p->key.len, p->h, NULL);
	if (e->hline & F_PRESENT) {
		if (!opt.sum) {
			buf_reset(&why);
			buf_addf(&why, "duplicate key (%s), first at line %llu (use --sum to add them up)",
			    key_desc(p->key.s, p->key.len), (unsigned long long)(e->hline & LINE_MASK));
			reject_record(&rj, name, rec, why.s);
		} else if (add_checked(&SUMX(e)->hq, p->q) < 0) {
			reject_record(&rj, name, rec, "field 'qty': sum out of range");
		}
		return;
	}
	e->hline = rec->line | F_PRESENT;
	if (opt.sum) {
		SUMX(e)->hq = p->q;	/* decided at the end */
		SUMX(e)->hx = make_blob(rec, 0);
		if (nhorder == caphorder) {
			caphorder = caphorder ? caphorder * 2 : 1024;
			horder = xrealloc(horder, caphorder * sizeof *horder);
		}
		horder[nhorder++] = e;
	} else if (decide(rec->f, rec->nf, e, p->q, 1) < 0) {
		e->hline &= ~F_PRESENT;
		reject_record(&rj, name, rec, why.s);
	}
}

/* After both inputs: keys only in WANT, and under --sum everything. */
static void
finish(void)
{
	struct fieldvec fv = { 0 };
	for (size_t i = 0; i < nhorder; i++) {	/* --sum: HAVE's keys, in HAVE's order */
		struct entry *e = horder[i];
		unpack_blob(SUMX(e)->hx, &fv);
		if (decide(fv.v, fv.n, e, SUMX(e)->hq, 1) < 0)
			die(EX_DATAERR, "%s", why.s);
	}
	for (uint32_t id = 0; id < keytab_count(&keys); id++) {
		struct entry *e = keytab_val(&keys, id);
		if (!(e->wline & F_PRESENT) || (e->hline & F_PRESENT))
			continue;
		if (e->hline & F_HREJ)
			st.skipped++;	/* HAVE's record was bad: do not call it new */
		else
			decide(NULL, 0, e, 0, 0);
	}
	fieldvec_release(&fv);
	free(horder);
}

static void
summary(void)
{
	if (opt.quiet)
		return;
	fprintf(stderr, "%s: %llu keys: %llu equal, %llu changed, %llu only in want, "
	    "%llu only in have, %llu within tolerance; total |delta| %s%llu",
	    progname, (unsigned long long)st.keys, (unsigned long long)st.equal,
	    (unsigned long long)st.changed, (unsigned long long)st.onlywant,
	    (unsigned long long)st.onlyhave, (unsigned long long)st.within,
	    st.absdelta_sat ? ">" : "", (unsigned long long)st.absdelta);
	if (rj.fp || rj.count)
		fprintf(stderr, "; %llu rejected to %s", (unsigned long long)rj.count, rj.path);
	if (st.skipped)
		fprintf(stderr, "; %llu left alone (a record of theirs was rejected)",
		    (unsigned long long)st.skipped);
	fputc('\n', stderr);
	if (st.want_unkeyed && !opt.partial)
		fprintf(stderr, "%s: warning: %llu want records were rejected before their key was "
		    "known, so keys only in have were not set to 0 (as with --partial)\n", progname,
		    (unsigned long long)st.want_unkeyed);
	if (opt.verbose)
		fprintf(stderr, "%s: held %zu keys in about %.1f MB; %s\n", progname,
		    keytab_count(&keys), (double)(keytab_bytes(&keys) + keytab_bytes(&blobs)) / 1e6,
		    opt.autochan ? (want_multichan ? "channel is part of the key (want has several)" :
		    "want has one channel: matched on the other key fields") : "key as given by -k");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "exit-code", no_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "key", required_argument, NULL, 'k' },
		{ "partial", no_argument, NULL, 'p' },
		{ "patch", no_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reason", required_argument, NULL, 'r' },
		{ "reject", required_argument, NULL, 'R' },
		{ "sum", no_argument, NULL, 's' },
		{ "tolerance", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli_init(argv[0]);
	argv[0] = (char *)progname;	/* getopt's messages name the program, not its path */
	opt.reason = "sync";
	opt.fmt = FMT_NDJSON;
	while ((c = getopt_long(argc, argv, "aeF:hk:pqr:st:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': opt.all = 1; break;
		case 'e': opt.exitcode = 1; break;
		case 'F':
			if ((opt.fmt = parse_format(optarg)) < 0)
				die(EX_USAGE, "unknown format '%s' (ndjson, csv or table)", optarg);
			break;
		case 'h': usage(0); break;
		case 'k': parse_key(optarg); break;
		case 'p': opt.partial = 1; break;
		case 'P': opt.patch = 1; break;
		case 'q': opt.quiet = 1; break;
		case 'r':
			if (!*optarg)
				die(EX_USAGE, "empty reason");
			opt.reason = optarg;
			break;
		case 'R': opt.reject = optarg; break;
		case 's': opt.sum = 1; break;
		case 't': parse_tolerance(optarg); break;
		case 'U': break;	/* output is written at the end in any case */
		case 'v': opt.verbose = 1; break;
		case 'V': cli_version(); break;
		default: usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		warnx_("%s", argc < 2 ? "want and have files are required" : "too many arguments");
		usage(EX_USAGE);
	}
	if (opt.patch) {
		static const char *const def[] = { "sku", "location" };
		const char **names = NULL;
		if (opt.all || opt.partial || opt.sum || opt.exitcode || opt.tol_pct || opt.tol != 0 ||
		    strcmp(opt.reason, "sync"))
			die(EX_USAGE, "--patch takes only -q, -F, -k and --reject");
		if (opt.key) {
			names = xcalloc(opt.nkey, sizeof *names);
			for (size_t i = 0; i < opt.nkey; i++)
				names[i] = opt.key[i].name;
		}
		int r = patch_main(argv[0], argv[1], names ? names : def, names ? opt.nkey : 2,
		    opt.fmt, opt.quiet, opt.reject);
		free(names);
		return r;
	}
	if (!strcmp(argv[0], "-") && !strcmp(argv[1], "-"))
		die(EX_USAGE, "want and have cannot both be standard input");
	if (!opt.key) {
		static struct keyfield def[] = {
			{ "sku", K_SKU }, { "location", K_LOCATION }, { "channel", K_CHANNEL },
		};
		opt.key = def;
		opt.nkey = 3;
		opt.autochan = 1;
		chanpos = 2;
	}
	if (rejects_open(&rj, opt.reject) < 0)
		die_errno(EX_CANTCREAT, "%s", opt.reject);
	if (!(spool = tmpfile()))
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	out = writer_new(spool, opt.fmt,
	    (opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0));
	progress_init(&prog, opt.quiet);
	if (opt.nkey > MAXKEY)
		die(EX_USAGE, "too many key fields (at most %d)", MAXKEY);
	keytab_init(&keys, sizeof(struct entry) + (opt.sum ? sizeof(struct sumext) : 0));
	keytab_init(&blobs, 0);
	for (size_t i = 0; i < opt.nkey; i++)
		keytab_init(&vals[i], 0);

	read_side(argv[0], 1);
	if (want_multichan && want_nochan_line)
		die(EX_DATAERR, "%s:%llu: field 'channel': missing, and want holds several channels "
		    "(use -k to choose the key)", want_nochan_file, (unsigned long long)want_nochan_line);
	read_side(argv[1], 0);
	finish();
	progress_done(&prog);
	writer_close(out);
	rejects_close(&rj);
	spool_to_stdout(spool);
	summary();
	return opt.exitcode && (st.changed || st.onlywant || st.onlyhave) ? 1 : 0;
}
