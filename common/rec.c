/*
 * rec.c - the record reader: NDJSON lines through the strict scanner in
 * json.c, CSV through libcsv, with a fast path for the common CSV line that
 * has no quote character (split on the delimiter, nothing else to do).
 * Input is read in 1 MiB blocks; a record is handed out as spans into the
 * block, so memory stays bounded by the longest record, not the file.
 */
#include "rec.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

const char *const known_names[K_COUNT] = {
	"sku", "channel", "location", "item", "qty", "ts", "from", "to", "delta",
	"reason", "status", "state", "barcode", "units", "counter", "bin", "note",
	"error", "at", "run", "from_ts",
};

static unsigned char known_len[K_COUNT];

int
known_id(const char *name, size_t len)
{
	if (!known_len[0])
		for (int k = 0; k < K_COUNT; k++)
			known_len[k] = (unsigned char)strlen(known_names[k]);
	if (len == 0 || len > 8)
		return -1;
	for (int k = 0; k < K_COUNT; k++)
		if (known_len[k] == len && known_names[k][0] == name[0] &&
		    memcmp(known_names[k], name, len) == 0)
			return k;
	return -1;
}

#define BLOCK (1u << 20)

struct reader {
	char *name;
	int fd;
	char *buf;
	size_t cap, beg, end, scanned;
	int eof, started, fmt, delim, flags;
	uint64_t lineno, consumed;
	struct record rec;
	struct fieldvec fv;
	struct buf names;
	struct buf err;
	/* CSV */
	struct csv_parser csv;
	int csv_inited;
	struct fieldvec hdr;
	struct buf hdrbuf;
	struct buf cells;	/* cell texts unquoted by libcsv, back to back */
	const char *cellbase;	/* the line (fast path) or cells.s */
	struct cell { size_t off, n; } *cell;	/* each cell: offset from cellbase */
	size_t ncells, cellcap;
	int recdone;
	int lastcr;		/* the last line ended in CR LF */
	struct buf rectext;	/* raw text of a record read through libcsv */
};

struct reader *
reader_open(const char *path, int fmt, int delim, int flags)
{
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			errno = EISDIR;
			return NULL;
		}
	}
	struct reader *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	r->fd = fd;
	r->cap = BLOCK;
	r->buf = xmalloc(r->cap);
	r->fmt = fmt;
	r->delim = delim ? delim : ',';
	r->flags = flags;
	return r;
}

const char *
reader_name(const struct reader *r)
{
	return r->name;
}

int
reader_fmt(const struct reader *r)
{
	return r->fmt;
}

const char *
reader_error(const struct reader *r)
{
	return r->err.s ? r->err.s : "";
}

uint64_t
reader_offset(const struct reader *r)
{
	return r->consumed;
}

const struct field *
reader_header(const struct reader *r, size_t *n)
{
	if (r->fmt != FMT_CSV)
		return NULL;
	*n = r->hdr.n;
	return r->hdr.v;
}

void
reader_free(struct reader *r)
{
	if (!r)
		return;
	if (r->fd != STDIN_FILENO)
		close(r->fd);
	if (r->csv_inited)
		csv_free(&r->csv);
	free(r->name);
	free(r->buf);
	fieldvec_release(&r->fv);
	fieldvec_release(&r->hdr);
	buf_release(&r->names);
	buf_release(&r->err);
	buf_release(&r->hdrbuf);
	buf_release(&r->cells);
	buf_release(&r->rectext);
	free(r->cell);
	free(r);
}

/* Read more input after compacting; 1 got data, 0 end of input, -2 error. */
static int
fill(struct reader *r)
{
	if (r->eof)
		return 0;
	if (r->beg > 0) {
		memmove(r->buf, r->buf + r->beg, r->end - r->beg);
		r->end -= r->beg;
		/* detect() moves beg past a BOM before anything was scanned */
		r->scanned = r->scanned > r->beg ? r->scanned - r->beg : 0;
		r->beg = 0;
	}
	if (r->end == r->cap) {
		r->cap *= 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	for (;;) {
		ssize_t k = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -2;
		if (k == 0) {
			r->eof = 1;
			return 0;
		}
		r->end += (size_t)k;
		return 1;
	}
}

/* Next physical line without its end ("\n" or "\r\n"). 1, 0 at end, -2. */
static int
get_line(struct reader *r, const char **p, size_t *n)
{
	for (;;) {
		if (r->scanned < r->beg)
			r->scanned = r->beg;
		char *nl = memchr(r->buf + r->scanned, '\n', r->end - r->scanned);
		if (nl) {
			*p = r->buf + r->beg;
			*n = (size_t)(nl - *p);
			r->consumed += *n + 1;
			r->beg = (size_t)(nl - r->buf) + 1;
			r->scanned = r->beg;
			break;
		}
		r->scanned = r->end;
		int k = fill(r);
		if (k == -2)
			return -2;
		if (k == 0) {
			if (r->end == r->beg)
				return 0;
			*p = r->buf + r->beg;
			*n = r->end - r->beg;
			r->consumed += *n;
			r->beg = r->scanned = r->end;
			break;
		}
	}
	r->lineno++;
	r->lastcr = *n && (*p)[*n - 1] == '\r';
	if (r->lastcr)
		(*n)--;
	return 1;
}

static int
blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* Decide the format from the first byte that is not white space. */
static int
detect(struct reader *r)
{
	int k;
	r->started = 1;
	while (r->end - r->beg < 3 && (k = fill(r)) > 0)
		;
	if (r->end - r->beg >= 3 && memcmp(r->buf + r->beg, "\xef\xbb\xbf", 3) == 0) {
		r->beg += 3;
		r->consumed += 3;
	}
	if (r->fmt != FMT_AUTO)
		return 0;
	for (;;) {
		for (size_t i = r->beg; i < r->end; i++) {
			char c = r->buf[i];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				continue;
			r->fmt = c == '{' || c == '[' ? FMT_NDJSON : FMT_CSV;
			return 0;
		}
		k = fill(r);
		if (k == -2)
			return -2;
		if (k == 0) {
			r->fmt = FMT_NDJSON;	/* empty input: no records either way */
			return 0;
		}
	}
}

static void
seterr(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
seterr(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&r->err);
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_grow(&r->err, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(r->err.s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->err.len = (size_t)n;
}

static int
dup_field(struct reader *r, const struct field *f)
{
	struct buf q = BUF_INIT;
	seterr(r, "duplicate field %s", quoted(&q, f->name, f->nlen));
	buf_release(&q);
	return -1;
}

static int
by_name(const void *a, const void *b)
{
	const struct field *x = *(const struct field *const *)a, *y = *(const struct field *const *)b;
	size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

/* Duplicate unknown names of a big record: sorted, O(n log n). */
static int
dup_sorted(struct reader *r, const struct record *rec)
{
	const struct field **v = xcalloc(rec->nf, sizeof *v);
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < rec->nf; i++)
		if (rec->f[i].kid < 0)
			v[n++] = &rec->f[i];
	qsort(v, n, sizeof *v, by_name);
	for (size_t i = 1; i < n && !rc; i++)
		if (!by_name(&v[i - 1], &v[i]))
			rc = dup_field(r, v[i]);
	free(v);
	return rc;
}

/*
 * Fill rec->kidx from the field names and refuse duplicate names: a
 * record with two 'qty' fields has no meaning we could pick silently.
 */
static int
index_fields(struct reader *r, struct record *rec, int classify)
{
	for (int k = 0; k < K_COUNT; k++)
		rec->kidx[k] = -1;
	for (size_t i = 0; i < rec->nf; i++) {
		struct field *f = &rec->f[i];
		if (classify)
			f->kid = (signed char)known_id(f->name, f->nlen);
		if (f->kid >= 0) {
			if (rec->kidx[(int)f->kid] >= 0) {
				seterr(r, "duplicate field '%s'", known_names[(int)f->kid]);
				return -1;
			}
			rec->kidx[(int)f->kid] = (int)i;
			continue;
		}
		/* unknown names: pairwise while records are small, as they are */
		if (rec->nf > 64)
			continue;
		for (size_t j = 0; j < i; j++)
			if (rec->f[j].kid < 0 && rec->f[j].nlen == f->nlen &&
			    memcmp(rec->f[j].name, f->name, f->nlen) == 0)
				return dup_field(r, f);
	}
	return rec->nf > 64 ? dup_sorted(r, rec) : 0;
}

static int
next_ndjson(struct reader *r, struct record **out)
{
	const char *p, *why;
	size_t n, at;
	int k;

	for (;;) {
		if ((k = get_line(r, &p, &n)) <= 0)
			return k;
		if (!blank(p, n))
			break;
	}
	struct record *rec = &r->rec;
	rec->text = p;
	rec->textlen = n;
	rec->line = r->lineno;
	rec->fmt = FMT_NDJSON;
	rec->nf = 0;
	*out = rec;
	if (json_scan_object(p, n, &r->fv, &r->names, &why, &at) < 0) {
		if (r->lineno == 1 && n && p[0] == '[')
			seterr(r, "a JSON array, not one object per line (try: jq -c '.[]')");
		else
			seterr(r, "invalid JSON at column %zu: %s", at + 1, why);
		return -1;
	}
	rec->f = r->fv.v;
	rec->nf = r->fv.n;
	return index_fields(r, rec, 1) < 0 ? -1 : 1;
}

/* ---- CSV ---- */

static inline void
cell_span_add(struct reader *r, size_t off, size_t n)
{
	if (r->ncells == r->cellcap) {
		r->cellcap = r->cellcap ? r->cellcap * 2 : 32;
		r->cell = xrealloc(r->cell, r->cellcap * sizeof *r->cell);
	}
	r->cell[r->ncells].off = off;
	r->cell[r->ncells++].n = n;
}

/* A cell libcsv unquoted: copied, since libcsv reuses its buffer. */
static void
cell_add(struct reader *r, const char *s, size_t n)
{
	cell_span_add(r, r->cells.len, n);
	buf_add(&r->cells, s, n);
}

static void
csv_cb_field(void *s, size_t n, void *data)
{
	struct reader *r = data;
	cell_add(r, s ? s : "", s ? n : 0);
}

static void
csv_cb_record(int c, void *data)
{
	(void)c;
	((struct reader *)data)->recdone = 1;
}

static int
csv_space(unsigned char c)
{
	(void)c;
	return 0;
}

static int
csv_term(unsigned char c)
{
	return c == '\n';
}

static void
csv_restart(struct reader *r)
{
	if (r->csv_inited)
		csv_free(&r->csv);
	csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI);
	csv_set_delim(&r->csv, (unsigned char)r->delim);
	csv_set_space_func(&r->csv, csv_space);
	csv_set_term_func(&r->csv, csv_term);
	r->csv_inited = 1;
}

static void
trim(const char **s, size_t *n)
{
	while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * Read one CSV record's cells into r->cells.  Returns 1, 0 at end, -1 bad
 * record (text/line set), -2 I/O error.
 */
static int
csv_record(struct reader *r, struct record *rec)
{
	const char *p;
	size_t n;
	int k;

	r->ncells = 0;
	buf_reset(&r->cells);
	for (;;) {
		if ((k = get_line(r, &p, &n)) < 0)
			return k;
		if (k == 0)
			return 0;
		if (n == 0)
			continue;	/* an empty line is no record */
		rec->line = r->lineno;
		rec->text = p;
		rec->textlen = n;
		break;
	}
	if (!utf8_valid(p, n)) {
		seterr(r, "invalid UTF-8 (is the file in another encoding?)");
		return -1;
	}
	if (!memchr(p, '"', n)) {
		/* fast path: no quoting, split on the delimiter, no copy */
		const char *e = p + n, *c = p;
		r->cellbase = p;
		for (;;) {
			const char *d = memchr(c, r->delim, (size_t)(e - c));
			if (!d) {
				cell_span_add(r, (size_t)(c - p), (size_t)(e - c));
				break;
			}
			cell_span_add(r, (size_t)(c - p), (size_t)(d - c));
			c = d + 1;
		}
		return 1;
	}
	/*
	 * quoted: libcsv, line by line, until the record ends.  An odd number
	 * of quotes so far means the line ends inside a quoted field: its line
	 * end is data, and a CR LF there stays CR LF.
	 */
	buf_reset(&r->rectext);
	r->recdone = 0;
	int inquote = 0;
	for (;;) {
		buf_add(&r->rectext, p, n);
		for (const char *q = p; (q = memchr(q, '"', (size_t)(p + n - q))) != NULL; q++)
			inquote ^= 1;
		const char *eol = inquote && r->lastcr ? "\r\n" : "\n";
		size_t eoln = strlen(eol);
		if (csv_parse(&r->csv, p, n, csv_cb_field, csv_cb_record, r) != n ||
		    csv_parse(&r->csv, eol, eoln, csv_cb_field, csv_cb_record, r) != eoln) {
			int e = csv_error(&r->csv);
			seterr(r, "bad CSV quoting: %s", e == CSV_EPARSE ? "a quote inside an "
			    "unquoted field, or text after a closing quote" : csv_strerror(e));
			csv_restart(r);
			/* skip the rest of this physical line's record */
			rec->text = r->rectext.s;
			rec->textlen = r->rectext.len;
			return -1;
		}
		if (r->recdone)
			break;
		k = get_line(r, &p, &n);
		if (k == -2)
			return -2;
		if (k == 0) {
			rec->text = r->rectext.s;
			rec->textlen = r->rectext.len;
			seterr(r, "unterminated quoted field");
			csv_restart(r);
			return -1;
		}
		if (!utf8_valid(p, n)) {
			buf_add(&r->rectext, "\n", 1);
			buf_add(&r->rectext, p, n);
			rec->text = r->rectext.s;
			rec->textlen = r->rectext.len;
			seterr(r, "invalid UTF-8 (is the file in another encoding?)");
			csv_restart(r);
			return -1;
		}
		buf_add(&r->rectext, eol, eoln);
	}
	rec->text = r->rectext.s;
	rec->textlen = r->rectext.len;
	r->cellbase = r->cells.s;
	return 1;
}

static void
cell_span(struct reader *r, size_t i, const char **s, size_t *n)
{
	*s = r->cellbase + r->cell[i].off;
	*n = r->cell[i].n;
	if (r->flags & RD_TRIM)
		trim(s, n);
}

/*
 * A header that cannot be read stops the reader: it is no record that
 * could be rejected.  Bad data (65), or bad configuration (78) for tables.
 */
static _Noreturn void
bad_header(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void
bad_header(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die(r->flags & RD_CONFIG ? EX_CONFIG : EX_DATAERR, "%s:%llu: header: %s", r->name,
	    (unsigned long long)r->rec.line, msg);
}

static int
read_header(struct reader *r)
{
	struct record *rec = &r->rec;
	int k;

	csv_restart(r);
	for (;;) {
		k = csv_record(r, rec);
		if (k == 0 || k == -2)
			return k;
		if (k < 0)
			bad_header(r, "%s", reader_error(r));
		break;
	}
	buf_reset(&r->hdrbuf);
	r->hdr.n = 0;
	for (size_t i = 0; i < r->ncells; i++) {
		const char *s;
		size_t n;
		cell_span(r, i, &s, &n);
		if (n == 0)
			bad_header(r, "column %zu has no name", i + 1);
		/*
		 * A control character in a name is no header: a file with CR
		 * line ends is one long "header" and would silently have no
		 * records; so would a binary or UTF-16 file.
		 */
		for (size_t j = 0; j < n; j++) {
			unsigned char c = (unsigned char)s[j];
			if (c == '\r')
				bad_header(r, "column %zu has a carriage return in its name (CR line "
				    "ends? save the file with LF or CR LF line ends)", i + 1);
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				bad_header(r, "column %zu has control character 0x%02x in its name (a "
				    "binary or UTF-16 file?)", i + 1, c);
		}
		struct field f = { 0 };
		f.nameoff = r->hdrbuf.len;
		f.nlen = f.rawlen = n;
		f.kid = (signed char)known_id(s, n);
		buf_add(&r->hdrbuf, s, n);
		fieldvec_push(&r->hdr, &f);
	}
	for (size_t i = 0; i < r->hdr.n; i++) {
		struct field *f = &r->hdr.v[i];
		f->name = f->raw = r->hdrbuf.s + f->nameoff;
		for (size_t j = 0; j < i; j++)
			if (r->hdr.v[j].nlen == f->nlen && memcmp(r->hdr.v[j].name, f->name, f->nlen) == 0) {
				struct buf q = BUF_INIT;
				bad_header(r, "column %s appears twice (columns %zu and %zu)",
				    quoted(&q, f->name, f->nlen), j + 1, i + 1);
			}
	}
	return 1;
}

static int
next_csv(struct reader *r, struct record **out)
{
	struct record *rec = &r->rec;
	int k;

	if (!r->hdr.cap && (k = read_header(r)) <= 0)
		return k;
	for (;;) {
		rec->nf = 0;
		rec->fmt = FMT_CSV;
		*out = rec;
		k = csv_record(r, rec);
		if (k <= 0)
			return k;
		/* a row of empty cells is a spreadsheet's trailing row, not a record */
		int empty = 1;
		for (size_t i = 0; i < r->ncells && empty; i++) {
			const char *s;
			size_t n;
			cell_span(r, i, &s, &n);
			empty = n == 0;
		}
		if (empty && !(r->ncells == 1 && r->hdr.n == 1))
			continue;
		break;
	}
	if (r->ncells != r->hdr.n) {
		seterr(r, "%zu fields where the header has %zu", r->ncells, r->hdr.n);
		return -1;
	}
	r->fv.n = 0;
	for (size_t i = 0; i < r->ncells; i++) {
		struct field f = r->hdr.v[i];
		cell_span(r, i, &f.val, &f.vlen);
		f.type = J_TEXT;
		f.vesc = 0;
		fieldvec_push(&r->fv, &f);
	}
	rec->f = r->fv.v;
	rec->nf = r->fv.n;
	return index_fields(r, rec, 0) < 0 ? -1 : 1;
}

int
reader_next(struct reader *r, struct record **out)
{
	static struct record none;
	*out = &none;
	if (!r->started && detect(r) < 0)
		return -2;
	buf_reset(&r->err);
	return r->fmt == FMT_CSV ? next_csv(r, out) : next_ndjson(r, out);
}

/*
 * Most spans of a record point into its text (an NDJSON line, a CSV line
 * on the fast path): those are rebased onto the copy of the text; only the
 * rest (decoded names, cells libcsv unquoted) is copied one by one.  Names
 * from a CSV header live as long as the reader and are not copied.
 */
static const char *
rebase(const char *p, size_t n, const struct record *src, struct record *dst, struct buf *mem)
{
	if (p >= src->text && p + n <= src->text + src->textlen)
		return dst->text + (p - src->text);
	const char *q = mem->s + mem->len;
	buf_add(mem, p, n);
	return q;
}

void
rec_clone(struct record *dst, const struct record *src, struct buf *mem, struct fieldvec *fv)
{
	size_t total = src->textlen + 1;
	for (size_t i = 0; i < src->nf; i++)
		total += src->f[i].vlen + (src->f[i].name != src->f[i].raw ? src->f[i].nlen : 0) +
		    (src->fmt == FMT_NDJSON ? src->f[i].rawlen : 0);
	buf_reset(mem);
	buf_grow(mem, total);	/* no realloc below: pointers stay good */
	*dst = *src;
	dst->text = mem->s;
	buf_add(mem, src->text ? src->text : "", src->text ? src->textlen : 0);
	if (fv->cap < src->nf) {
		fv->n = 0;
		while (fv->cap < src->nf)
			fieldvec_grow(fv);
	}
	if (src->nf)
		memcpy(fv->v, src->f, src->nf * sizeof *src->f);
	fv->n = src->nf;
	for (size_t i = 0; i < src->nf; i++) {
		struct field *f = &fv->v[i];
		if (src->fmt == FMT_NDJSON) {
			int same = f->name == f->raw;
			f->raw = rebase(f->raw, f->rawlen, src, dst, mem);
			f->name = same ? f->raw : rebase(f->name, f->nlen, src, dst, mem);
		}
		f->val = rebase(f->val, f->vlen, src, dst, mem);
	}
	dst->f = fv->v;
	dst->nf = fv->n;
}

/* ---- typed access ---- */

int
field_is_null(const struct field *f)
{
	return f->type == J_NULL || (f->type == J_TEXT && f->vlen == 0);
}

static void
field_why(struct buf *why, const struct field *f, const char *reason)
{
	struct buf q = BUF_INIT;
	buf_reset(why);
	buf_adds(why, "field '");
	buf_add(why, f->name, f->nlen);
	buf_adds(why, "': ");
	buf_adds(why, reason);
	buf_adds(why, ": ");
	if (f->type == J_STRING || f->type == J_TEXT)
		buf_adds(why, quoted(&q, f->val, f->vlen));
	else if (f->vlen > 60) {
		buf_add(why, f->val, 60);
		buf_adds(why, "...");
	} else
		buf_add(why, f->val, f->vlen);
	buf_release(&q);
}

int
field_int(const struct field *f, int64_t *v, struct buf *why)
{
	const char *e;

	if (field_is_null(f))
		return 1;
	switch (f->type) {
	case J_NUMBER:
	case J_TEXT:
		if ((e = parse_i64(f->val, f->vlen, v)) == NULL)
			return 0;
		field_why(why, f, e);
		return -1;
	case J_STRING:
		field_why(why, f, "a string, not an integer");
		return -1;
	default:
		field_why(why, f, "not an integer");
		return -1;
	}
}

int
field_str(const struct field *f, struct buf *scratch, const char **s, size_t *n,
    struct buf *why)
{
	if (f->type == J_NULL)
		return 1;
	if (f->type == J_TEXT) {
		*s = f->val;
		*n = f->vlen;
		return 0;
	}
	if (f->type != J_STRING) {
		field_why(why, f, "not a string");
		return -1;
	}
	if (!f->vesc) {
		*s = f->val;
		*n = f->vlen;
		return 0;
	}
	buf_reset(scratch);
	if (json_unescape(f->val, f->vlen, scratch) < 0) {
		field_why(why, f, "contains a NUL character");
		return -1;
	}
	*s = scratch->s;
	*n = scratch->len;
	return 0;
}

int
rec_int(const struct record *rec, int kid, int64_t *v, struct buf *why)
{
	int i = rec->kidx[kid];
	return i < 0 ? 1 : field_int(&rec->f[i], v, why);
}

int
rec_str(const struct record *rec, int kid, struct buf *scratch, const char **s, size_t *n,
    struct buf *why)
{
	int i = rec->kidx[kid];
	return i < 0 ? 1 : field_str(&rec->f[i], scratch, s, n, why);
}

/* ---- rejects ---- */

int
rejects_open(struct rejects *rj, const char *path)
{
	rj->count = 0;
	rj->path = path;
	rj->fp = NULL;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) < 0 || !(rj->fp = fdopen(fd, "w"))) {
		close(fd);
		return -1;
	}
	return 0;
}

void
reject_record(struct rejects *rj, const char *file, const struct record *rec, const char *why)
{
	if (!rj->fp)
		die(EX_DATAERR, "%s:%llu: %s", file, (unsigned long long)rec->line, why);
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"file\":");
	json_quote(&b, file, strlen(file));
	buf_addf(&b, ",\"line\":%llu,\"error\":", (unsigned long long)rec->line);
	json_quote(&b, why, strlen(why));
	buf_adds(&b, ",\"text\":");
	json_quote(&b, rec->text ? rec->text : "", rec->text ? rec->textlen : 0);
	buf_adds(&b, "}\n");
	if (fwrite(b.s, 1, b.len, rj->fp) != b.len)
		die_errno(EX_IOERR, "%s: write error", rj->path);
	buf_release(&b);
	rj->count++;
}

void
rejects_close(struct rejects *rj)
{
	if (rj->fp && (fflush(rj->fp) != 0 || ferror(rj->fp) || fsync(fileno(rj->fp)) < 0 ||
	    fclose(rj->fp) != 0))
		die_errno(EX_IOERR, "%s: write error", rj->path);
	rj->fp = NULL;
}

int
reader_next_good(struct reader *r, struct record **rec, struct rejects *rj)
{
	int k;
	while ((k = reader_next(r, rec)) < 0) {
		if (k == -2)
			die_errno(EX_IOERR, "%s: read error", reader_name(r));
		reject_record(rj, reader_name(r), *rec, reader_error(r));
	}
	return k;
}
