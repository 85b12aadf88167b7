/*
 * wr.c - record writers.  NDJSON is built a line at a time and written as
 * it is finished.  CSV and table need every column before the first row, so
 * their rows go to an anonymous temporary file as (column, text) pairs and
 * are laid out at writer_close(): memory stays flat whatever the size.
 */
#include "wr.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

struct col {
	char *name;
	size_t nlen;
	size_t width;		/* display width, for the table */
	int numeric;		/* every non-empty cell is an integer */
};

struct writer {
	FILE *fp;
	int fmt, flags;
	uint64_t count;
	struct buf line;	/* NDJSON line, or the spooled record */
	int nfields;
	/* CSV, table */
	FILE *spool;
	struct col *cols;
	size_t ncols, capcols, hint;
	struct buf tmp;
};

int
parse_format(const char *s)
{
	if (!strcmp(s, "ndjson") || !strcmp(s, "json") || !strcmp(s, "jsonl"))
		return FMT_NDJSON;
	if (!strcmp(s, "csv"))
		return FMT_CSV;
	if (!strcmp(s, "table"))
		return FMT_TABLE;
	return -1;
}

int
want_color(int fd)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	return isatty_(fd) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
}

struct writer *
writer_new(FILE *fp, int fmt, int flags)
{
	struct writer *w = xcalloc(1, sizeof *w);
	w->fp = fp;
	w->fmt = fmt == FMT_AUTO ? FMT_NDJSON : fmt;
	w->flags = flags;
	if (w->fmt != FMT_NDJSON && !(w->spool = tmpfile()))
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	return w;
}

uint64_t
writer_count(const struct writer *w)
{
	return w->count;
}

void
wr_begin(struct writer *w)
{
	buf_reset(&w->line);
	w->nfields = 0;
	if (w->fmt == FMT_NDJSON)
		buf_addc(&w->line, '{');
}

static size_t
colid(struct writer *w, const char *name, size_t nlen)
{
	size_t i;
	if (w->hint < w->ncols && w->cols[w->hint].nlen == nlen &&
	    !memcmp(w->cols[w->hint].name, name, nlen))
		return w->hint++;
	for (i = 0; i < w->ncols; i++)
		if (w->cols[i].nlen == nlen && !memcmp(w->cols[i].name, name, nlen))
			break;
	if (i == w->ncols) {
		if (w->ncols == w->capcols) {
			w->capcols = w->capcols ? w->capcols * 2 : 16;
			w->cols = xrealloc(w->cols, w->capcols * sizeof *w->cols);
		}
		w->cols[i].name = xstrndup(name, nlen);
		w->cols[i].nlen = nlen;
		w->cols[i].width = 0;
		w->cols[i].numeric = 1;
		w->ncols++;
	}
	w->hint = i + 1;
	return i;
}

/* Display width of UTF-8 text: CJK and other wide characters count 2. */
static size_t
dwidth(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		unsigned u;
		size_t k;
		if (c < 0x80) { u = c; k = 1; }
		else if (c < 0xe0) { u = c & 0x1f; k = 2; }
		else if (c < 0xf0) { u = c & 0x0f; k = 3; }
		else { u = c & 0x07; k = 4; }
		for (size_t j = 1; j < k && i + j < n; j++)
			u = u << 6 | ((unsigned char)s[i + j] & 0x3f);
		i += k;
		w += (u >= 0x1100 && u <= 0x115f) || (u >= 0x2e80 && u <= 0xa4cf) ||
		    (u >= 0xac00 && u <= 0xd7a3) || (u >= 0xf900 && u <= 0xfaff) ||
		    (u >= 0xfe30 && u <= 0xfe4f) || (u >= 0xff00 && u <= 0xff60) ||
		    (u >= 0xffe0 && u <= 0xffe6) || (u >= 0x1f300 && u <= 0x1faff) ||
		    (u >= 0x20000 && u <= 0x3fffd) ? 2 : 1;
	}
	return w;
}

/* Spool one (column, text) cell of a CSV/table record. */
static void
spool_cell(struct writer *w, const char *name, size_t nlen, const char *s, size_t n)
{
	uint32_t hdr[2];
	size_t c = colid(w, name, nlen);
	int64_t v;
	hdr[0] = (uint32_t)c;
	hdr[1] = (uint32_t)n;
	buf_add(&w->line, hdr, sizeof hdr);
	buf_add(&w->line, s, n);
	w->nfields++;
	if (w->fmt == FMT_TABLE) {
		size_t dw = dwidth(s, n);
		if (dw > w->cols[c].width)
			w->cols[c].width = dw;
	}
	if (n && parse_i64(s, n, &v))
		w->cols[c].numeric = 0;
}

static void
ndjson_name(struct writer *w, const char *name, size_t nlen, int raw)
{
	if (w->nfields++)
		buf_addc(&w->line, ',');
	if (raw) {
		buf_addc(&w->line, '"');
		buf_add(&w->line, name, nlen);
		buf_addc(&w->line, '"');
	} else {
		json_quote(&w->line, name, nlen);
	}
	buf_addc(&w->line, ':');
}

static int
numeric_kid(int kid)
{
	return kid == K_QTY || kid == K_FROM || kid == K_TO || kid == K_DELTA || kid == K_UNITS;
}

/* Write field f's value under the given name. */
static void
put_field(struct writer *w, const char *name, size_t nlen, int rawname, const struct field *f)
{
	int64_t v;

	if (w->fmt == FMT_NDJSON) {
		ndjson_name(w, name, nlen, rawname);
		if (f->type == J_STRING) {
			buf_addc(&w->line, '"');
			buf_add(&w->line, f->val, f->vlen);
			buf_addc(&w->line, '"');
		} else if (f->type == J_TEXT) {
			/*
			 * CSV text: an empty cell of a known field is null; known
			 * numeric fields become numbers, written from their value:
			 * parse_i64 takes "007", which is no JSON number.
			 */
			if (f->kid >= 0 && f->vlen == 0)
				buf_add(&w->line, "null", 4);
			else if (numeric_kid(f->kid) && !parse_i64(f->val, f->vlen, &v))
				buf_addf(&w->line, "%lld", (long long)v);
			else
				json_quote(&w->line, f->val, f->vlen);
		} else {
			buf_add(&w->line, f->val, f->vlen);
		}
		return;
	}
	if (f->type == J_STRING && f->vesc) {
		buf_reset(&w->tmp);
		json_unescape(f->val, f->vlen, &w->tmp);
		spool_cell(w, name, nlen, w->tmp.s, w->tmp.len);
	} else if (f->type == J_NULL) {
		spool_cell(w, name, nlen, "", 0);
	} else {
		spool_cell(w, name, nlen, f->val, f->vlen);
	}
}

void
wr_field(struct writer *w, const struct field *f)
{
	if (w->fmt == FMT_NDJSON && f->nfromjson)
		put_field(w, f->raw, f->rawlen, 1, f);
	else
		put_field(w, f->name, f->nlen, 0, f);
}

void
wr_field_as(struct writer *w, const char *name, const struct field *f)
{
	put_field(w, name, strlen(name), 0, f);
}

void
wr_str(struct writer *w, const char *name, const char *s, size_t n)
{
	if (w->fmt == FMT_NDJSON) {
		ndjson_name(w, name, strlen(name), 1);
		json_quote(&w->line, s, n);
	} else {
		spool_cell(w, name, strlen(name), s, n);
	}
}

void
wr_int(struct writer *w, const char *name, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", (long long)v);
	if (w->fmt == FMT_NDJSON) {
		ndjson_name(w, name, strlen(name), 1);
		buf_add(&w->line, num, (size_t)n);
	} else {
		spool_cell(w, name, strlen(name), num, (size_t)n);
	}
}

void
wr_null(struct writer *w, const char *name)
{
	if (w->fmt == FMT_NDJSON) {
		ndjson_name(w, name, strlen(name), 1);
		buf_add(&w->line, "null", 4);
	} else {
		spool_cell(w, name, strlen(name), "", 0);
	}
}

void
wr_end(struct writer *w)
{
	w->count++;
	if (w->fmt == FMT_NDJSON) {
		buf_add(&w->line, "}\n", 2);
		xfwrite(w->line.s, w->line.len, w->fp);
		if (w->flags & WR_UNBUFFERED)
			fflush(w->fp);
		return;
	}
	uint32_t nf = (uint32_t)w->nfields, len = (uint32_t)w->line.len;
	if (fwrite(&nf, sizeof nf, 1, w->spool) != 1 || fwrite(&len, sizeof len, 1, w->spool) != 1 ||
	    fwrite(w->line.s, 1, w->line.len, w->spool) != w->line.len)
		die_errno(EX_IOERR, "temporary file: write error");
}

/* Append s as a CSV cell, quoted when RFC 4180 requires (or spaces would be lost). */
static void
csv_cell(struct buf *o, const char *s, size_t n)
{
	int q = n && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !q; i++)
		q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!q) {
		buf_add(o, s, n);
		return;
	}
	buf_addc(o, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			buf_addc(o, '"');
		buf_addc(o, s[i]);
	}
	buf_addc(o, '"');
}

/* Table cells: one line each, control characters shown as spaces. */
static void
table_cell(struct buf *o, const char *s, size_t n, size_t width, int right)
{
	size_t dw = dwidth(s, n);
	if (right)
		for (size_t i = dw; i < width; i++)
			buf_addc(o, ' ');
	for (size_t i = 0; i < n; i++)
		buf_addc(o, (unsigned char)s[i] < 0x20 ? ' ' : s[i]);
	if (!right)
		for (size_t i = dw; i < width; i++)
			buf_addc(o, ' ');
}

static void
emit_rows(struct writer *w)
{
	const char **cell = xcalloc(w->ncols, sizeof *cell);
	size_t *clen = xcalloc(w->ncols, sizeof *clen);
	int color = (w->flags & WR_COLOR) && w->fmt == FMT_TABLE;
	struct buf o = BUF_INIT, rec = BUF_INIT;

	/* header */
	for (size_t c = 0; c < w->ncols; c++) {
		if (w->fmt == FMT_CSV) {
			if (c)
				buf_addc(&o, ',');
			csv_cell(&o, w->cols[c].name, w->cols[c].nlen);
		} else {
			size_t hw = dwidth(w->cols[c].name, w->cols[c].nlen);
			if (w->cols[c].width < hw)
				w->cols[c].width = hw;
			if (c)
				buf_add(&o, "  ", 2);
			if (color)
				buf_adds(&o, "\033[1m");
			table_cell(&o, w->cols[c].name, w->cols[c].nlen,
			    c + 1 < w->ncols || w->cols[c].numeric ? w->cols[c].width : 0,
			    w->cols[c].numeric);
			if (color)
				buf_adds(&o, "\033[0m");
		}
	}
	buf_addc(&o, '\n');
	xfwrite(o.s, o.len, w->fp);

	rewind(w->spool);
	for (;;) {
		uint32_t nf, len;
		if (fread(&nf, sizeof nf, 1, w->spool) != 1)
			break;
		if (fread(&len, sizeof len, 1, w->spool) != 1)
			die(EX_IOERR, "temporary file: short read");
		buf_reset(&rec);
		buf_grow(&rec, len);
		if (len && fread(rec.s, 1, len, w->spool) != len)
			die(EX_IOERR, "temporary file: short read");
		rec.len = len;
		for (size_t c = 0; c < w->ncols; c++)
			cell[c] = NULL;
		const char *p = rec.s;
		for (uint32_t i = 0; i < nf; i++) {
			uint32_t h[2];
			memcpy(h, p, sizeof h);
			p += sizeof h;
			cell[h[0]] = p;
			clen[h[0]] = h[1];
			p += h[1];
		}
		buf_reset(&o);
		for (size_t c = 0; c < w->ncols; c++) {
			const char *s = cell[c] ? cell[c] : "";
			size_t n = cell[c] ? clen[c] : 0;
			if (w->fmt == FMT_CSV) {
				if (c)
					buf_addc(&o, ',');
				csv_cell(&o, s, n);
				continue;
			}
			if (c)
				buf_add(&o, "  ", 2);
			int neg = color && w->cols[c].numeric && n && s[0] == '-';
			int pos = color && w->cols[c].numeric && n && s[0] != '-' && s[0] != '0' &&
			    w->cols[c].nlen == 5 && !memcmp(w->cols[c].name, "delta", 5);
			if (neg)
				buf_adds(&o, "\033[31m");
			else if (pos)
				buf_adds(&o, "\033[32m");
			table_cell(&o, s, n, c + 1 < w->ncols || w->cols[c].numeric ? w->cols[c].width : 0,
			    w->cols[c].numeric);
			if (neg || pos)
				buf_adds(&o, "\033[0m");
		}
		while (o.len && o.s[o.len - 1] == ' ')
			o.len--;
		buf_addc(&o, '\n');
		xfwrite(o.s, o.len, w->fp);
	}
	if (ferror(w->spool))
		die_errno(EX_IOERR, "temporary file: read error");
	free(cell);
	free(clen);
	buf_release(&o);
	buf_release(&rec);
}

void
writer_close(struct writer *w)
{
	if (w->fmt != FMT_NDJSON) {
		if (fflush(w->spool) != 0)
			die_errno(EX_IOERR, "temporary file: write error");
		if (w->ncols)
			emit_rows(w);
		fclose(w->spool);
	}
	if (fflush(w->fp) != 0 || ferror(w->fp))
		die_errno(EX_IOERR, "write error");
	for (size_t c = 0; c < w->ncols; c++)
		free(w->cols[c].name);
	free(w->cols);
	buf_release(&w->line);
	buf_release(&w->tmp);
	free(w);
}
