/*
 * fuzz_rec.c - the record reader end to end: the input is put in a memfd
 * and read with reader_next, once auto-detected (',') and once as CSV
 * (';', RD_TRIM from a bit of the input).  Every field goes through
 * field_is_null/field_int/field_str and every record through an NDJSON
 * writer; each line written must be JSON the scanner accepts, carrying
 * the same members (byte-exact for NDJSON input), and the whole output must
 * read back as records.  Every record also goes through a CSV writer, and
 * the CSV must read back to the same texts (csv_roundtrip).  Any crash, leak or failed check is a bug.
 *
 * The reader dies (exit 65) on a bad CSV header by design; libFuzzer would
 * count that as a crash, so header_ok() decides beforehand, with libcsv
 * configured as rec.c configures it, whether the header would be refused,
 * and such inputs skip that pass (tests/unit/test_rec.c covers the deaths).
 */
#define _GNU_SOURCE
#include <csv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "json.h"
#include "rec.h"
#include "util.h"
#include "wr.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_rec: check failed: %s (line %d)\n", \
	#c, __LINE__); abort(); } } while (0)

static int memfd = -1, memfd2 = -1;
static char fdpath[64], fdpath2[64];

static void
put(int fd, const uint8_t *data, size_t size)
{
	CHECK(ftruncate(fd, 0) == 0);
	size_t off = 0;
	while (off < size) {
		ssize_t k = pwrite(fd, data + off, size - off, (off_t)off);
		CHECK(k > 0);
		off += (size_t)k;
	}
}

/* ---- the header check (mirrors rec.c: detect, get_line, csv_record) ---- */

/* Next physical line as get_line() gives it; 0 at the end. */
static int
next_line(const char *p, size_t n, size_t *i, const char **l, size_t *ln)
{
	if (*i >= n)
		return 0;
	const char *nl = memchr(p + *i, '\n', n - *i);
	*l = p + *i;
	*ln = nl ? (size_t)(nl - *l) : n - *i;
	*i = nl ? (size_t)(nl - p) + 1 : n;
	if (*ln && (*l)[*ln - 1] == '\r')
		(*ln)--;
	return 1;
}

struct cells {
	struct buf text;
	size_t end[4096];
	size_t n;
	int overflow, done;
};

static void
cells_add(struct cells *c, const char *s, size_t n)
{
	if (c->n == sizeof c->end / sizeof *c->end) {
		c->overflow = 1;
		return;
	}
	buf_add(&c->text, s, n);
	c->end[c->n++] = c->text.len;
}

static void
cb_field(void *s, size_t n, void *data)
{
	cells_add(data, s ? s : "", s ? n : 0);
}

static void
cb_record(int ch, void *data)
{
	(void)ch;
	((struct cells *)data)->done = 1;
}

static int
no_space(unsigned char c)
{
	(void)c;
	return 0;
}

static int
nl_term(unsigned char c)
{
	return c == '\n';
}

static int
header_ok(const char *p, size_t n, int delim, int trim)
{
	static struct cells c;
	size_t i = 0, ln;
	const char *l;
	int ok = 0;

	buf_reset(&c.text);
	c.n = 0;
	c.overflow = c.done = 0;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (;;) {
		if (!next_line(p, n, &i, &l, &ln))
			return 1;	/* no header, no records: nothing dies */
		if (ln)
			break;
	}
	if (!utf8_valid(l, ln))
		return 0;
	if (!memchr(l, '"', ln)) {
		const char *e = l + ln, *s = l;
		for (;;) {
			const char *d = memchr(s, delim, (size_t)(e - s));
			if (!d) {
				cells_add(&c, s, (size_t)(e - s));
				break;
			}
			cells_add(&c, s, (size_t)(d - s));
			s = d + 1;
		}
	} else {
		struct csv_parser cp;
		csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI);
		csv_set_delim(&cp, (unsigned char)delim);
		csv_set_space_func(&cp, no_space);
		csv_set_term_func(&cp, nl_term);
		for (;;) {
			if (csv_parse(&cp, l, ln, cb_field, cb_record, &c) != ln ||
			    csv_parse(&cp, "\n", 1, cb_field, cb_record, &c) != 1)
				goto out;
			if (c.done)
				break;
			if (!next_line(p, n, &i, &l, &ln) || !utf8_valid(l, ln))
				goto out;
		}
		ok = 1;
out:
		csv_free(&cp);
		if (!ok)
			return 0;
	}
	if (c.overflow)
		return 0;	/* too many to compare cheaply: just skip the input */
	for (size_t k = 0; k < c.n; k++) {
		const char *s = c.text.s + (k ? c.end[k - 1] : 0);
		size_t sn = c.end[k] - (k ? c.end[k - 1] : 0);
		if (trim) {
			while (sn && (*s == ' ' || *s == '\t'))
				s++, sn--;
			while (sn && (s[sn - 1] == ' ' || s[sn - 1] == '\t'))
				sn--;
		}
		if (sn == 0)
			return 0;
		for (size_t j = 0; j < sn; j++)	/* a control character in a name (rec.c) */
			if (((unsigned char)s[j] < 0x20 && s[j] != '\t') || s[j] == 0x7f)
				return 0;
		for (size_t j = 0; j < k; j++) {
			const char *t = c.text.s + (j ? c.end[j - 1] : 0);
			size_t tn = c.end[j] - (j ? c.end[j - 1] : 0);
			if (trim) {
				while (tn && (*t == ' ' || *t == '\t'))
					t++, tn--;
				while (tn && (t[tn - 1] == ' ' || t[tn - 1] == '\t'))
					tn--;
			}
			if (tn == sn && memcmp(t, s, sn) == 0)
				return 0;
		}
	}
	return 1;
}

/* FMT_AUTO's choice, as detect() makes it. */
static int
detect_fmt(const char *p, size_t n)
{
	size_t i = n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	for (; i < n; i++) {
		char c = p[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		return c == '{' || c == '[' ? FMT_NDJSON : FMT_CSV;
	}
	return FMT_NDJSON;
}

/* ---- checks on a record and on what the writer made of it ---- */

static int
span_eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

static int
numeric_kid(int kid)
{
	return kid == K_QTY || kid == K_FROM || kid == K_TO || kid == K_DELTA || kid == K_UNITS;
}

static void
check_fields(const struct record *rec)
{
	struct buf scratch = BUF_INIT, why = BUF_INIT;
	const char *s;
	size_t n;
	int64_t v;

	for (size_t i = 0; i < rec->nf; i++) {
		const struct field *f = &rec->f[i];
		int null = field_is_null(f);
		int ri = field_int(f, &v, &why);
		CHECK(ri >= -1 && ri <= 1);
		CHECK((ri == 1) == null);
		if (ri < 0)
			CHECK(why.len > 0 && strncmp(why.s, "field '", 7) == 0);
		int rs = field_str(f, &scratch, &s, &n, &why);
		if (rs == 0)
			CHECK(utf8_valid(s, n));
		if (f->type == J_TEXT)
			CHECK(rs == 0 && s == f->val && n == f->vlen);
		if (f->type == J_NULL)
			CHECK(rs == 1);
		/* the known-field index */
		if (f->kid >= 0) {
			CHECK(f->kid < K_COUNT && rec->kidx[(int)f->kid] == (int)i);
			CHECK(span_eq(f->name, f->nlen, known_names[(int)f->kid],
			    strlen(known_names[(int)f->kid])));
		} else {
			CHECK(known_id(f->name, f->nlen) < 0);
		}
	}
	for (int k = 0; k < K_COUNT; k++) {
		CHECK(rec->kidx[k] >= -1 && rec->kidx[k] < (int)rec->nf);
		if (rec->kidx[k] >= 0)
			CHECK(rec->f[rec->kidx[k]].kid == k);
		int r1 = rec_int(rec, k, &v, &why);
		CHECK(r1 >= -1 && r1 <= 1);
		int r2 = rec_str(rec, k, &scratch, &s, &n, &why);
		CHECK(r2 >= -1 && r2 <= 1);
		if (rec->kidx[k] < 0)
			CHECK(r1 == 1 && r2 == 1);
	}
	buf_release(&scratch);
	buf_release(&why);
}

/* The line the writer made of rec must carry the same members. */
static void
check_written(const struct record *rec, const char *line, size_t len)
{
	struct fieldvec fv = { 0 };
	struct buf names = BUF_INIT, dec = BUF_INIT;
	const char *why;
	size_t at;
	int64_t v;

	CHECK(len > 0 && line[len - 1] == '\n');
	CHECK(memchr(line, '\n', len - 1) == NULL);
	if (json_scan_object(line, len - 1, &fv, &names, &why, &at) < 0) {
		/* only a CSV column name holding NUL cannot be a member name */
		int nulname = 0;
		for (size_t i = 0; i < rec->nf; i++)
			nulname |= memchr(rec->f[i].name, 0, rec->f[i].nlen) != NULL;
		if (!(rec->fmt == FMT_CSV && nulname && strcmp(why, "NUL in member name") == 0)) {
			fprintf(stderr, "fuzz_rec: written line refused: %s at %zu: %.*s\n", why, at,
			    (int)len, line);
			abort();
		}
		goto out;
	}
	CHECK(fv.n == rec->nf);
	for (size_t i = 0; i < fv.n; i++) {
		const struct field *in = &rec->f[i], *o = &fv.v[i];
		CHECK(span_eq(o->name, o->nlen, in->name, in->nlen));
		if (rec->fmt == FMT_NDJSON) {
			/* byte-exact */
			CHECK(span_eq(o->raw, o->rawlen, in->raw, in->rawlen));
			CHECK(o->type == in->type);
			CHECK(span_eq(o->val, o->vlen, in->val, in->vlen));
			continue;
		}
		/* CSV: empty known fields as null, known numeric ones as numbers,
		 * the rest as strings */
		if (in->kid >= 0 && in->vlen == 0) {
			CHECK(o->type == J_NULL);
		} else if (numeric_kid(in->kid) && !parse_i64(in->val, in->vlen, &v)) {
			int64_t w;
			CHECK(o->type == J_NUMBER);
			CHECK(parse_i64(o->val, o->vlen, &w) == NULL && w == v);
		} else {
			CHECK(o->type == J_STRING);
			buf_reset(&dec);
			json_unescape(o->val, o->vlen, &dec);
			CHECK(span_eq(dec.s, dec.len, in->val, in->vlen));
		}
	}
out:
	fieldvec_release(&fv);
	buf_release(&names);
	buf_release(&dec);
}

/* Read the writer's whole output back: every line is a good record. */
static void
reread(const char *out, size_t len, uint64_t nrec, int nulnames)
{
	put(memfd2, (const uint8_t *)out, len);
	struct reader *r = reader_open(fdpath2, FMT_NDJSON, 0, 0);
	CHECK(r != NULL);
	struct record *rec;
	uint64_t n = 0;
	int k;
	while ((k = reader_next(r, &rec)) != 0) {
		CHECK(k == 1 || (k == -1 && nulnames));
		n++;
	}
	CHECK(n == nrec);
	reader_free(r);
}

/*
 * CSV round trip: every good record also goes through a CSV writer; read
 * back, each row must hold the same text under the union of the columns
 * ("" where a record had no such field), rows of only empty cells dropped.
 * The model keeps (record, name, text) triples in one buffer.
 */
struct cell {
	uint64_t rec;
	size_t name, nlen, val, vlen;	/* offsets into model.text */
};
struct model {
	struct buf text;
	struct cell *c;
	size_t n, cap;
	int unfit;	/* a known limit makes the round trip inexact: skip it */
};

static void
model_add(struct model *m, uint64_t rec, const struct field *f)
{
	struct buf scratch = BUF_INIT;
	const char *v;
	size_t vn;

	if (f->type == J_STRING && f->vesc) {
		json_unescape(f->val, f->vlen, &scratch);	/* as the writer does */
		v = scratch.s;
		vn = scratch.len;
	} else if (f->type == J_NULL) {
		v = "";
		vn = 0;
	} else {
		v = f->val;
		vn = f->vlen;
	}
	/*
	 * Known limits, excluded here: a CR in a cell (kept inside quotes
	 * before a line end, but read as part of a CR LF line end when it
	 * ends an unquoted line, which the rescan cannot tell); an empty column name
	 * is fatal in a CSV header; a BOM at the start of the first column
	 * name is taken for the file's BOM (any column here, to keep it simple);
	 * a control character in a column name is fatal in a CSV header (rec.c
	 * refuses it: a binary or CR-ended file), though an NDJSON member name
	 * may hold one.
	 */
	if (memchr(v, '\r', vn) || f->nlen == 0 ||
	    (f->nlen >= 3 && memcmp(f->name, "\xef\xbb\xbf", 3) == 0))
		m->unfit = 1;
	for (size_t i = 0; i < f->nlen; i++)
		if ((unsigned char)f->name[i] < 0x20 && f->name[i] != '\t')
			m->unfit = 1;
		else if (f->name[i] == 0x7f)
			m->unfit = 1;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->c = xrealloc(m->c, m->cap * sizeof *m->c);
	}
	struct cell *c = &m->c[m->n++];
	c->rec = rec;
	c->name = m->text.len;
	c->nlen = f->nlen;
	buf_add(&m->text, f->name, f->nlen);
	c->val = m->text.len;
	c->vlen = vn;
	buf_add(&m->text, v, vn);
	buf_release(&scratch);
}

static void
csv_roundtrip(struct model *m, const char *csv, size_t len, uint64_t nrec)
{
	/* the columns, in order of first appearance */
	size_t *col = xcalloc(m->n + 1, sizeof *col), ncol = 0;
	size_t *colof = xcalloc(m->n + 1, sizeof *colof);
	for (size_t i = 0; i < m->n; i++) {
		size_t j;
		for (j = 0; j < ncol; j++)
			if (span_eq(m->text.s + m->c[col[j]].name, m->c[col[j]].nlen,
			    m->text.s + m->c[i].name, m->c[i].nlen))
				break;
		if (j == ncol)
			col[ncol++] = i;
		colof[i] = j;
	}
	put(memfd2, (const uint8_t *)csv, len);
	struct reader *r = reader_open(fdpath2, FMT_CSV, ',', 0);
	CHECK(r != NULL);
	struct record *rec;
	size_t i = 0;
	const struct cell **row = xcalloc(ncol + 1, sizeof *row);
	for (uint64_t n = 0; n < nrec; n++) {
		for (size_t j = 0; j < ncol; j++)
			row[j] = NULL;
		for (; i < m->n && m->c[i].rec == n; i++)
			row[colof[i]] = &m->c[i];	/* a repeated name: the last wins */
		int empty = 1;
		for (size_t j = 0; j < ncol; j++)
			if (row[j] && row[j]->vlen)
				empty = 0;
		if (empty)
			continue;
		int k = reader_next(r, &rec);
		if (k != 1) {
			fprintf(stderr, "fuzz_rec: CSV round trip: record %llu: %d %s\n%.*s",
			    (unsigned long long)n, k, reader_error(r), (int)len, csv);
			abort();
		}
		CHECK(rec->nf == ncol);
		for (size_t j = 0; j < ncol; j++) {
			const struct cell *h = &m->c[col[j]];
			CHECK(span_eq(rec->f[j].name, rec->f[j].nlen, m->text.s + h->name, h->nlen));
			const char *want = row[j] ? m->text.s + row[j]->val : "";
			size_t wn = row[j] ? row[j]->vlen : 0;
			if (!span_eq(rec->f[j].val, rec->f[j].vlen, want, wn)) {
				fprintf(stderr, "fuzz_rec: CSV round trip: record %llu column %zu: "
				    "got %.*s want %.*s\n", (unsigned long long)n, j,
				    (int)rec->f[j].vlen, rec->f[j].val, (int)wn, want);
				abort();
			}
		}
	}
	CHECK(reader_next(r, &rec) == 0);
	reader_free(r);
	free(row);
	free(col);
	free(colof);
}

static void
pass(const uint8_t *data, size_t size, int fmt, int delim, int flags)
{
	struct reader *r = reader_open(fdpath, fmt, delim, flags);
	CHECK(r != NULL);
	char *out = NULL;
	size_t outlen = 0, seen = 0;
	FILE *fp = open_memstream(&out, &outlen);
	CHECK(fp != NULL);
	struct writer *w = writer_new(fp, FMT_NDJSON, WR_UNBUFFERED);
	char *csv = NULL;
	size_t csvlen = 0;
	FILE *cfp = open_memstream(&csv, &csvlen);
	CHECK(cfp != NULL);
	struct writer *cw = writer_new(cfp, FMT_CSV, 0);
	struct model m = { BUF_INIT, NULL, 0, 0, 0 };
	struct record *rec;
	uint64_t good = 0, bad = 0;
	int k, nulnames = 0;
	unsigned sum = 0;

	while ((k = reader_next(r, &rec)) != 0) {
		CHECK(k == 1 || k == -1);
		CHECK(good + bad <= size);
		CHECK(rec->line >= 1 && rec->line <= (uint64_t)size + 1);
		CHECK(reader_offset(r) <= size);
		if (k < 0) {
			CHECK(reader_error(r)[0] != '\0');
			for (size_t i = 0; i < rec->textlen; i++)
				sum += (unsigned char)rec->text[i];
			bad++;
			continue;
		}
		CHECK(rec->fmt == reader_fmt(r));
		if (rec->fmt == FMT_CSV) {
			size_t nh;
			CHECK(reader_header(r, &nh) != NULL && nh == rec->nf);
		}
		check_fields(rec);
		wr_begin(w);
		for (size_t i = 0; i < rec->nf; i++) {
			wr_field(w, &rec->f[i]);
			nulnames |= memchr(rec->f[i].name, 0, rec->f[i].nlen) != NULL;
		}
		wr_end(w);
		wr_begin(cw);
		for (size_t i = 0; i < rec->nf; i++) {
			wr_field(cw, &rec->f[i]);
			model_add(&m, good, &rec->f[i]);
		}
		wr_end(cw);
		good++;
		CHECK(outlen > seen);
		check_written(rec, out + seen, outlen - seen);
		seen = outlen;
	}
	CHECK(writer_count(w) == good);
	CHECK(reader_offset(r) <= size);
	writer_close(w);
	fclose(fp);
	reader_free(r);
	writer_close(cw);
	fclose(cfp);
	if (good)
		reread(out, outlen, good, nulnames);
	if (good && !m.unfit)
		csv_roundtrip(&m, csv, csvlen, good);
	free(out);
	free(csv);
	free(m.c);
	buf_release(&m.text);
	(void)sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_rec", 0);
		memfd2 = memfd_create("fuzz_rec_out", 0);
		CHECK(memfd >= 0 && memfd2 >= 0);
		snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", memfd);
		snprintf(fdpath2, sizeof fdpath2, "/proc/self/fd/%d", memfd2);
	}
	put(memfd, data, size);

	if (detect_fmt(p, size) == FMT_NDJSON || header_ok(p, size, ',', 0))
		pass(data, size, FMT_AUTO, 0, 0);
	int trim = size && (data[size - 1] & 1);
	if (header_ok(p, size, ';', trim))
		pass(data, size, FMT_CSV, ';', trim ? RD_TRIM : 0);
	return 0;
}
