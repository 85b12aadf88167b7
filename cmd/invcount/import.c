/*
 * import.c - invcount import: turn count sheets as staff really hand them in
 * (spreadsheet CSV in any of three delimiters, a BOM, CRLF, quotes, stray
 * spaces, legacy encodings, header names in English or Chinese, barcodes
 * instead of SKUs) into stock records of channel "count", one per
 * sku+location.
 *
 * The library's CSV reader is strict on purpose; a sheet needs a lenient
 * one, so this file has its own push parser (struct sheet) fed by an iconv
 * layer (struct conv).  Leniency never means losing a row: every non-blank
 * row after the header is either used or rejected with its line, column
 * and reason, and the summary adds them up.
 *
 * The core (imp_*) depends on common/ and shared.c only and never exits,
 * so tests/fuzz/fuzz_invcount.c can #include this file and drive it from a
 * buffer; import_main() is the command-line front end.
 */
#include "invcount.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "wr.h"
#include "banned.h"

/* ---- the sheet parser ---- */

/*
 * A push parser for spreadsheet CSV.  Bytes go in through sheet_feed();
 * each complete record is handed to the row callback with its cells, its
 * raw text and the line it starts on.  The delimiter, unless forced, is
 * chosen from the first lines before any record is parsed.
 */
struct sheet {
	const char *name;
	int delim;		/* 0 until known */
	struct buf pend;	/* input held back until the delimiter is known */
	size_t pendlines;
	int bom;		/* BOM bytes matched, -1 once past the start */
	struct buf raw, cells;
	size_t *ends, ncell, capcell, cellstart;
	int inq, qpend, cr, recopen;
	uint64_t line, recline, qline;
	const char *bad;	/* why the current record cannot be read, or NULL */
	struct buf badbuf;
	void (*row)(void *ctx, struct sheet *sh);
	void *ctx;
};

static void
sheet_init(struct sheet *sh, const char *name, int delim, void (*row)(void *, struct sheet *),
    void *ctx)
{
	memset(sh, 0, sizeof *sh);
	sh->name = name;
	sh->delim = delim;
	sh->line = 1;
	sh->row = row;
	sh->ctx = ctx;
}

static void
sheet_release(struct sheet *sh)
{
	buf_release(&sh->pend);
	buf_release(&sh->raw);
	buf_release(&sh->cells);
	buf_release(&sh->badbuf);
	free(sh->ends);
}

static int
is_blank_byte(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Trim spaces, tabs, no-break spaces and ideographic spaces from both ends. */
static void
trim_cell(const char **s, size_t *n)
{
	for (;;) {
		if (*n && is_blank_byte((unsigned char)(*s)[0])) {
			(*s)++, (*n)--;
		} else if (*n >= 2 && !memcmp(*s, "\xc2\xa0", 2)) {
			*s += 2, *n -= 2;
		} else if (*n >= 3 && !memcmp(*s, "\xe3\x80\x80", 3)) {
			*s += 3, *n -= 3;
		} else {
			break;
		}
	}
	for (;;) {
		if (*n && is_blank_byte((unsigned char)(*s)[*n - 1]))
			(*n)--;
		else if (*n >= 2 && !memcmp(*s + *n - 2, "\xc2\xa0", 2))
			*n -= 2;
		else if (*n >= 3 && !memcmp(*s + *n - 3, "\xe3\x80\x80", 3))
			*n -= 3;
		else
			break;
	}
}

/* Cell i of the current record, trimmed; empty when the row is shorter. */
static void
sheet_cell(const struct sheet *sh, size_t i, const char **s, size_t *n)
{
	if (i >= sh->ncell) {
		*s = "";
		*n = 0;
		return;
	}
	size_t b = i ? sh->ends[i - 1] : 0;
	*s = sh->cells.s ? sh->cells.s + b : "";
	*n = sh->ends[i] - b;
	trim_cell(s, n);
}

static int
sheet_blank(const struct sheet *sh)
{
	for (size_t i = 0; i < sh->ncell; i++) {
		const char *s;
		size_t n;
		sheet_cell(sh, i, &s, &n);
		if (n)
			return 0;
	}
	return 1;
}

static void
end_cell(struct sheet *sh)
{
	if (sh->ncell == sh->capcell) {
		sh->capcell = sh->capcell ? sh->capcell * 2 : 16;
		sh->ends = xrealloc(sh->ends, sh->capcell * sizeof *sh->ends);
	}
	sh->ends[sh->ncell++] = sh->cells.len;
	sh->cellstart = sh->cells.len;
}

static void
end_record(struct sheet *sh)
{
	end_cell(sh);
	if (!sh->bad && memchr(sh->raw.s ? sh->raw.s : "", '\0', sh->raw.len))
		sh->bad = "contains a NUL byte (a UTF-16 file? try --encoding UTF-16)";
	sh->row(sh->ctx, sh);
	buf_reset(&sh->raw);
	buf_reset(&sh->cells);
	sh->ncell = sh->cellstart = 0;
	sh->recopen = 0;
	sh->bad = NULL;
}

static void
sheet_byte(struct sheet *sh, unsigned char c)
{
	if (sh->cr) {
		sh->cr = 0;
		if (c == '\n')
			return;	/* the CR of a CRLF already ended the line */
	}
	if (!sh->recopen) {
		sh->recopen = 1;
		sh->recline = sh->line;
	}
	if (sh->qpend) {
		sh->qpend = 0;
		if (c == '"') {
			buf_addc(&sh->cells, '"');
			buf_addc(&sh->raw, '"');
			return;
		}
		sh->inq = 0;	/* that quote closed the field */
	}
	if (sh->inq) {
		if (c == '"') {
			sh->qpend = 1;
			buf_addc(&sh->raw, '"');
		} else if (c == '\r' || c == '\n') {
			buf_addc(&sh->cells, '\n');
			buf_addc(&sh->raw, '\n');
			sh->line++;
			sh->cr = c == '\r';
		} else {
			buf_addc(&sh->cells, (char)c);
			buf_addc(&sh->raw, (char)c);
		}
		return;
	}
	if (c == '\r' || c == '\n') {
		sh->cr = c == '\r';
		sh->line++;
		end_record(sh);
		return;
	}
	buf_addc(&sh->raw, (char)c);
	if (c == (unsigned char)sh->delim) {
		end_cell(sh);
		return;
	}
	if (c == '"') {
		/* a quote opens a quoted field only at its start (after blanks) */
		size_t i = sh->cellstart;
		while (i < sh->cells.len && is_blank_byte((unsigned char)sh->cells.s[i]))
			i++;
		if (i == sh->cells.len) {
			sh->cells.len = sh->cellstart;
			sh->inq = 1;
			sh->qline = sh->line;
			return;
		}
	}
	buf_addc(&sh->cells, (char)c);
}

/*
 * Choose the delimiter from the first lines held in pend: the one of tab,
 * ';', ',' and '|' that occurs (outside quotes) on the most lines, then
 * most often; ',' when none does.
 */
static void
detect_delim(struct sheet *sh)
{
	static const char cand[] = { '\t', ';', ',', '|' };
	size_t lines[4] = { 0 }, total[4] = { 0 }, cnt[4] = { 0 };
	int inq = 0;
	const char *p = sh->pend.s ? sh->pend.s : "";
	for (size_t i = 0; i <= sh->pend.len; i++) {
		char c = i < sh->pend.len ? p[i] : '\n';
		if (c == '"')
			inq = !inq;
		if (inq && i < sh->pend.len)
			continue;
		if (c == '\n' || c == '\r') {
			for (int k = 0; k < 4; k++) {
				lines[k] += cnt[k] > 0;
				total[k] += cnt[k];
				cnt[k] = 0;
			}
			inq = 0;
			continue;
		}
		for (int k = 0; k < 4; k++)
			cnt[k] += c == cand[k];
	}
	int best = 2;
	for (int k = 0; k < 4; k++)
		if (lines[k] > lines[best] || (lines[k] == lines[best] && total[k] > total[best]))
			best = k;
	sh->delim = cand[best];
}

/*
 * Feed bytes to the state machine; runs of bytes that are plain text in
 * the current state (no delimiter, quote or line end) go in as one block.
 */
static void
sheet_push(struct sheet *sh, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (sh->recopen && !sh->qpend && !sh->cr) {
			size_t j = i;
			char d = sh->inq ? '"' : (char)sh->delim;
			while (j < n && p[j] != d && p[j] != '"' && p[j] != '\n' && p[j] != '\r')
				j++;
			if (j > i) {
				buf_add(&sh->cells, p + i, j - i);
				buf_add(&sh->raw, p + i, j - i);
				i = j;
				continue;
			}
		}
		sheet_byte(sh, (unsigned char)p[i++]);
	}
}

#define DETECT_LINES 20
#define DETECT_BYTES (64 * 1024)

static void
sheet_feed(struct sheet *sh, const char *p, size_t n)
{
	static const char bom[] = "\xef\xbb\xbf";
	size_t i = 0;
	/* a UTF-8 BOM at the very start is no content */
	while (sh->bom >= 0 && i < n) {
		if (p[i] == bom[sh->bom]) {
			i++;
			if (++sh->bom == 3)
				sh->bom = -1;
			continue;
		}
		size_t k = (size_t)sh->bom;
		sh->bom = -1;
		if (k)
			sheet_feed(sh, bom, k);
	}
	p += i;
	n -= i;
	if (sh->delim) {
		sheet_push(sh, p, n);
		return;
	}
	buf_add(&sh->pend, p, n);
	for (size_t j = 0; j < n; j++)
		sh->pendlines += p[j] == '\n';
	if (sh->pendlines >= DETECT_LINES || sh->pend.len >= DETECT_BYTES) {
		detect_delim(sh);
		sheet_push(sh, sh->pend.s, sh->pend.len);
		buf_release(&sh->pend);
	}
}

static void
sheet_finish(struct sheet *sh)
{
	if (sh->bom > 0) {
		size_t k = (size_t)sh->bom;
		sh->bom = -1;
		sheet_feed(sh, "\xef\xbb\xbf", k);
	}
	if (!sh->delim) {
		detect_delim(sh);
		sheet_push(sh, sh->pend.s ? sh->pend.s : "", sh->pend.len);
		buf_release(&sh->pend);
	}
	if (sh->qpend) {
		sh->qpend = 0;
		sh->inq = 0;
	}
	if (sh->inq) {
		sh->inq = 0;
		buf_reset(&sh->badbuf);
		buf_addf(&sh->badbuf, "unterminated quoted field (the quote opened at line %llu)",
		    (unsigned long long)sh->qline);
		sh->bad = sh->badbuf.s;
		while (sh->raw.len && sh->raw.s[sh->raw.len - 1] == '\n')
			sh->raw.s[--sh->raw.len] = '\0';
		end_record(sh);
	} else if (sh->recopen) {
		end_record(sh);
	}
}

/* ---- encoding conversion ---- */

/*
 * Converts input in a legacy encoding to UTF-8 for the sheet parser.  A
 * byte sequence that is invalid in the encoding becomes the byte 0xFF,
 * which valid UTF-8 never holds, so the row that contains it is rejected
 * with its line number instead of the whole file failing.
 */
struct conv {
	iconv_t cd;
	int on, started, unit;
	const char *enc;
	struct buf in;
};

static int
enc_is_utf8(const char *e)
{
	return !e || !strcasecmp(e, "UTF-8") || !strcasecmp(e, "UTF8");
}

static size_t
enc_unit(const char *e)
{
	if (!strncasecmp(e, "UTF-16", 6) || !strncasecmp(e, "UCS-2", 5) || !strncasecmp(e, "UTF16", 5))
		return 2;
	if (!strncasecmp(e, "UTF-32", 6) || !strncasecmp(e, "UCS-4", 5) || !strncasecmp(e, "UTF32", 5))
		return 4;
	return 1;
}

/* Start converting from enc; -1 (errno set) if iconv does not know it. */
static int
conv_open(struct conv *cv, const char *enc)
{
	cv->enc = enc;
	cv->unit = (int)enc_unit(enc);
	cv->cd = iconv_open("UTF-8", enc);
	if (cv->cd == (iconv_t)-1)
		return -1;
	cv->on = 1;
	return 0;
}

static void
conv_close(struct conv *cv)
{
	if (cv->on)
		iconv_close(cv->cd);
	cv->on = 0;
	buf_release(&cv->in);
}

/* Convert what is in cv->in (all of it when last) and feed the sheet. */
static void
conv_run(struct conv *cv, struct sheet *sh, int last)
{
	char out[16384];
	char *ip = cv->in.s;
	size_t il = cv->in.len;
	while (il > 0) {
		char *op = out;
		size_t ol = sizeof out;
		size_t k = iconv(cv->cd, &ip, &il, &op, &ol);
		sheet_feed(sh, out, sizeof out - ol);
		if (k != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno == EINVAL && !last)
			break;	/* an incomplete sequence: wait for more input */
		/* invalid (or truncated at the end): mark it and step over */
		sheet_feed(sh, "\xff", 1);
		size_t skip = (size_t)cv->unit < il ? (size_t)cv->unit : il;
		ip += skip;
		il -= skip;
	}
	if (il)
		memmove(cv->in.s, ip, il);
	cv->in.len = il;
	if (last) {
		char *op = out;
		size_t ol = sizeof out;
		iconv(cv->cd, NULL, NULL, &op, &ol);
		sheet_feed(sh, out, sizeof out - ol);
	}
}

/* ---- the importer ---- */

enum role { R_SKU, R_QTY, R_LOCATION, R_BIN, R_BARCODE, R_COUNTER, R_TS, R_NOTE, R_CLASS, R_N };
static const char *const role_names[R_N] = {
	"sku", "qty", "location", "bin", "barcode", "counter", "counted_at", "note", "class",
};

/* Header names, normalised (see norm_name), and what they mean. */
static const struct synonym {
	const char *name;
	int role;
} synonyms[] = {
	{ "sku", R_SKU }, { "skucode", R_SKU }, { "skuno", R_SKU }, { "sku编码", R_SKU },
	{ "itemcode", R_SKU }, { "itemno", R_SKU }, { "itemnumber", R_SKU },
	{ "article", R_SKU }, { "articleno", R_SKU }, { "articlenumber", R_SKU },
	{ "artno", R_SKU }, { "productcode", R_SKU }, { "productno", R_SKU },
	{ "partno", R_SKU }, { "partnumber", R_SKU }, { "货号", R_SKU },
	{ "商品编码", R_SKU }, { "商品编号", R_SKU }, { "商品代码", R_SKU },
	{ "物料编码", R_SKU }, { "物料号", R_SKU }, { "料号", R_SKU }, { "品号", R_SKU },
	{ "qty", R_QTY }, { "quantity", R_QTY }, { "count", R_QTY }, { "counted", R_QTY },
	{ "countedqty", R_QTY }, { "countqty", R_QTY }, { "countedquantity", R_QTY },
	{ "physicalqty", R_QTY }, { "physicalcount", R_QTY }, { "actualqty", R_QTY },
	{ "数量", R_QTY }, { "盘点数量", R_QTY }, { "实盘数量", R_QTY }, { "实盘数", R_QTY },
	{ "盘点数", R_QTY }, { "实际数量", R_QTY },
	{ "location", R_LOCATION }, { "loc", R_LOCATION }, { "locationid", R_LOCATION },
	{ "warehouse", R_LOCATION }, { "warehouseid", R_LOCATION }, { "wh", R_LOCATION },
	{ "site", R_LOCATION }, { "仓库", R_LOCATION }, { "仓库编码", R_LOCATION },
	{ "仓库代码", R_LOCATION },
	{ "bin", R_BIN }, { "binlocation", R_BIN }, { "bincode", R_BIN }, { "shelf", R_BIN },
	{ "slot", R_BIN }, { "position", R_BIN }, { "库位", R_BIN }, { "货位", R_BIN },
	{ "储位", R_BIN }, { "库位编码", R_BIN }, { "库位号", R_BIN }, { "货架", R_BIN },
	{ "barcode", R_BARCODE }, { "ean", R_BARCODE }, { "ean13", R_BARCODE },
	{ "upc", R_BARCODE }, { "gtin", R_BARCODE }, { "条码", R_BARCODE },
	{ "条形码", R_BARCODE }, { "商品条码", R_BARCODE },
	{ "counter", R_COUNTER }, { "countedby", R_COUNTER }, { "countby", R_COUNTER },
	{ "countername", R_COUNTER }, { "盘点人", R_COUNTER }, { "盘点员", R_COUNTER },
	{ "countedat", R_TS }, { "counttime", R_TS }, { "countdate", R_TS },
	{ "counteddate", R_TS }, { "countedon", R_TS }, { "date", R_TS }, { "time", R_TS },
	{ "datetime", R_TS }, { "timestamp", R_TS }, { "ts", R_TS }, { "scannedat", R_TS },
	{ "scantime", R_TS }, { "scandate", R_TS }, { "盘点时间", R_TS },
	{ "盘点日期", R_TS }, { "日期", R_TS }, { "时间", R_TS },
	{ "note", R_NOTE }, { "notes", R_NOTE }, { "remark", R_NOTE }, { "remarks", R_NOTE },
	{ "comment", R_NOTE }, { "comments", R_NOTE }, { "备注", R_NOTE }, { "说明", R_NOTE },
	{ "class", R_CLASS }, { "abc", R_CLASS }, { "abcclass", R_CLASS },
};

/*
 * Normalise a header name for lookup: ASCII lower case, without blanks,
 * '_', '-', '.', '#', '/' and without a parenthesised part ("Qty (pcs)",
 * "数量（件）").
 */
static void
norm_name(struct buf *o, const char *s, size_t n)
{
	int depth = 0;
	buf_reset(o);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '(') {
			depth++;
			continue;
		}
		if (i + 3 <= n && !memcmp(s + i, "\xef\xbc\x88", 3)) {	/* （ */
			depth++;
			i += 2;
			continue;
		}
		if (c == ')' || (i + 3 <= n && !memcmp(s + i, "\xef\xbc\x89", 3))) {	/* ） */
			if (depth)
				depth--;
			if (c != ')')
				i += 2;
			continue;
		}
		if (depth)
			continue;
		if (c == ' ' || c == '\t' || c == '_' || c == '-' || c == '.' || c == '#' || c == '/')
			continue;
		if (i + 3 <= n && !memcmp(s + i, "\xe3\x80\x80", 3)) {
			i += 2;
			continue;
		}
		buf_addc(o, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
	}
}

static int
synonym_role(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof synonyms / sizeof *synonyms; i++)
		if (strlen(synonyms[i].name) == n && !memcmp(synonyms[i].name, s, n))
			return synonyms[i].role;
	return -1;
}

struct imp_opts {
	int delim;		/* 0: detect */
	int noheader;
	const char *encoding;	/* NULL: UTF-8, or UTF-16 when the file starts with its BOM */
	int sum;
	int colnum[R_N];	/* --columns role=N (1-based), 0 if not given */
	const char *colname[R_N];	/* --columns role=NAME */
	const char *location;	/* for rows without one */
	int has_at;
	time_t at;
	int verbose;
};

/*
 * One count: sku+location.  Its kept fields (counter, bin, note and class,
 * each a list, NUL-terminated) are in imp.xarena at xoff; a row that adds
 * to a list appends the new lists there, so a key counted in one row costs
 * only its own bytes.
 */
struct agg {
	int64_t qty;
	int64_t ts;
	uint64_t rows;		/* rows used for it */
	uint64_t xoff;
	uint32_t xlen;
	unsigned char hasts, conflicted;
};
/* One place counted: count id + bin.  at: line | file << 48. */
struct binent {
	int64_t qty;
	uint64_t at;
};
#define AT_LINE(at) ((at) & ((UINT64_C(1) << 48) - 1))
#define AT_FILE(at) ((uint32_t)((at) >> 48))
/* A barcode: its sku (in imp.bcskus) and base units per scan. */
struct bcent {
	size_t off, len;
	int64_t units;
	uint64_t line;
};

struct imp {
	struct imp_opts o;
	struct keytab keys, bins, barcodes;
	struct buf bcskus;
	int have_barcodes;
	struct buf xarena, xnew;
	struct keytab whys;	/* count id -> why its count was not written (char *) */
	char **files;
	size_t nfiles;
	uint64_t rows, used, rejected, blank, prehdr, nots, conflicts;
	/* a bad row: never returns in strict mode (the front end dies) */
	void (*reject)(void *ctx, const char *file, uint64_t line, const char *text, size_t len,
	    const char *why);
	void *rctx;
	FILE *spool;		/* rows used: key id, file, line, text */
	int fatal;
	struct buf err;		/* why the file could not be read */
	/* per file */
	uint32_t fileno;
	int hdr, looked;
	uint64_t firstline, hdrline;
	int col[R_N];
	size_t ncols;
	struct buf hdrnames, ignored;
	size_t hdroff[R_N], hdrlen[R_N];
	struct buf key, bkey, why, q, q2, nm, tmp;
};

static void
imp_init(struct imp *im, const struct imp_opts *o)
{
	memset(im, 0, sizeof *im);
	im->o = *o;
	keytab_init(&im->keys, sizeof(struct agg));
	keytab_init(&im->bins, sizeof(struct binent));
	keytab_init(&im->whys, sizeof(char *));
	keytab_init(&im->barcodes, sizeof(struct bcent));
}

static void
imp_release(struct imp *im)
{
	keytab_release(&im->keys);
	keytab_release(&im->bins);
	keytab_release(&im->barcodes);
	buf_release(&im->bcskus);
	for (uint32_t i = 0; i < keytab_count(&im->whys); i++)
		free(*(char **)keytab_val(&im->whys, i));
	keytab_release(&im->whys);
	buf_release(&im->xarena);
	buf_release(&im->xnew);
	for (size_t i = 0; i < im->nfiles; i++)
		free(im->files[i]);
	free(im->files);
	if (im->spool)
		fclose(im->spool);
	struct buf *bs[] = { &im->err, &im->hdrnames, &im->ignored, &im->key, &im->bkey,
		&im->why, &im->q, &im->q2, &im->nm, &im->tmp };
	for (size_t i = 0; i < sizeof bs / sizeof *bs; i++)
		buf_release(bs[i]);
}

/* Add barcode -> sku (units per scan).  NULL, or why it cannot be added. */
static const char *
imp_add_barcode(struct imp *im, const char *bc, size_t bn, const char *sku, size_t sn,
    int64_t units, uint64_t line)
{
	int isnew;
	struct bcent *e = keytab_intern(&im->barcodes, bc, bn, &isnew);
	im->have_barcodes = 1;
	if (!isnew) {
		if (e->len == sn && !memcmp(im->bcskus.s + e->off, sku, sn) && e->units == units)
			return NULL;
		buf_reset(&im->why);
		buf_addf(&im->why, "barcode %s already stands for sku %s at line %llu",
		    quoted(&im->q, bc, bn), quoted(&im->q2, im->bcskus.s + e->off, e->len),
		    (unsigned long long)e->line);
		return im->why.s;
	}
	e->off = im->bcskus.len;
	e->len = sn;
	e->units = units;
	e->line = line;
	buf_add(&im->bcskus, sku, sn);
	return NULL;
}

static const char *
hdrname(struct imp *im, int role)
{
	return im->hdrnames.s + im->hdroff[role];
}

/* Reject the current row of sh with why. */
static void
bad_row(struct imp *im, struct sheet *sh, const char *why)
{
	im->rejected++;
	im->reject(im->rctx, sh->name, sh->recline, sh->raw.s ? sh->raw.s : "", sh->raw.len, why);
}

/* "column 5 'qty': reason: "value"" into im->why. */
static const char *
col_why(struct imp *im, int role, const char *reason, const char *s, size_t n)
{
	buf_reset(&im->why);
	buf_addf(&im->why, "column %d '%s': %s", im->col[role] + 1, hdrname(im, role), reason);
	if (s)
		buf_addf(&im->why, ": %s", quoted(&im->q, s, n));
	return im->why.s;
}

static void
file_error(struct imp *im, struct sheet *sh, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
file_error(struct imp *im, struct sheet *sh, uint64_t line, const char *fmt, ...)
{
	va_list ap;
	if (im->fatal)
		return;
	im->fatal = 1;
	buf_reset(&im->err);
	if (line)
		buf_addf(&im->err, "%s:%llu: ", sh->name, (unsigned long long)line);
	else
		buf_addf(&im->err, "%s: ", sh->name);
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_grow(&im->err, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(im->err.s + im->err.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	im->err.len += (size_t)n;
}

/*
 * Decide whether the current row is the header and map its columns.
 * Returns 1 when it is, 0 when it is not (a title line), -1 on a fatal
 * problem (im->err).
 */
static int
map_header(struct imp *im, struct sheet *sh)
{
	int col[R_N];
	int bynum = 0, byname = 0;
	for (int r = 0; r < R_N; r++) {
		col[r] = -1;
		if (im->o.colnum[r])
			col[r] = im->o.colnum[r] - 1, bynum = 1;
	}
	for (int r = 0; r < R_N; r++) {
		if (!im->o.colname[r])
			continue;
		const char *want = im->o.colname[r];
		for (size_t i = 0; i < sh->ncell; i++) {
			const char *s;
			size_t n;
			sheet_cell(sh, i, &s, &n);
			if (n == strlen(want) && !strncasecmp(s, want, n))
				col[r] = (int)i;
		}
		if (col[r] >= 0)
			byname = 1;
	}
	/* synonyms for what --columns did not set, in columns it did not claim */
	for (size_t i = 0; i < sh->ncell; i++) {
		const char *s;
		size_t n;
		int claimed = 0;
		for (int r = 0; r < R_N; r++)
			claimed |= col[r] == (int)i;
		if (claimed)
			continue;
		sheet_cell(sh, i, &s, &n);
		norm_name(&im->nm, s, n);
		int r = synonym_role(im->nm.s ? im->nm.s : "", im->nm.len);
		if (r < 0 || im->o.colnum[r] || im->o.colname[r])
			continue;
		if (col[r] >= 0) {
			const char *s0;
			size_t n0;
			sheet_cell(sh, (size_t)col[r], &s0, &n0);
			file_error(im, sh, sh->recline,
			    "header: columns %d %s and %zu %s both mean '%s' (choose one with --columns %s=N)",
			    col[r] + 1, quoted(&im->q, s0, n0), i + 1, quoted(&im->q2, s, n),
			    role_names[r], role_names[r]);
			return -1;
		}
		col[r] = (int)i;
		byname = 1;
	}
	int id = col[R_SKU] >= 0 || col[R_BARCODE] >= 0;
	if (!id || (!byname && !bynum))
		return 0;
	/* --columns by name that the header lacks */
	for (int r = 0; r < R_N; r++)
		if (im->o.colname[r] && col[r] < 0) {
			file_error(im, sh, sh->recline, "header: no column named '%s' (from --columns %s=%s)",
			    im->o.colname[r], role_names[r], im->o.colname[r]);
			return -1;
		}
	for (int r = 0; r < R_N; r++)
		if (col[r] >= (int)sh->ncell) {
			file_error(im, sh, sh->recline, "header: has %zu columns, --columns %s=%d asks for column %d",
			    sh->ncell, role_names[r], col[r] + 1, col[r] + 1);
			return -1;
		}
	memcpy(im->col, col, sizeof col);
	im->ncols = sh->ncell;
	buf_reset(&im->hdrnames);
	buf_reset(&im->ignored);
	for (int r = 0; r < R_N; r++) {
		const char *s = role_names[r];
		size_t n = strlen(s);
		if (col[r] >= 0)
			sheet_cell(sh, (size_t)col[r], &s, &n);
		im->hdroff[r] = im->hdrnames.len;
		buf_add(&im->hdrnames, s, n);
		buf_addc(&im->hdrnames, '\0');
	}
	for (size_t i = 0; i < sh->ncell; i++) {
		int used = 0;
		for (int r = 0; r < R_N; r++)
			used |= col[r] == (int)i;
		const char *s;
		size_t n;
		sheet_cell(sh, i, &s, &n);
		if (!used && n)
			buf_addf(&im->ignored, "%s%s", im->ignored.len ? ", " : "", quoted(&im->q, s, n));
	}
	return 1;
}

/* Check the mapping of a file once its columns are known. */
static int
check_columns(struct imp *im, struct sheet *sh, uint64_t line)
{
	if (im->col[R_SKU] < 0 && im->col[R_BARCODE] < 0) {
		file_error(im, sh, line, "no sku or barcode column (name one with --columns sku=N)");
		return -1;
	}
	if (im->col[R_SKU] < 0 && !im->have_barcodes) {
		file_error(im, sh, line, "column %d '%s' holds barcodes: give --barcodes FILE to find their skus",
		    im->col[R_BARCODE] + 1, hdrname(im, R_BARCODE));
		return -1;
	}
	return 0;
}

/* A quantity as a sheet writes it: 12, or 12.0; never a fraction. */
static const char *
parse_qty(const char *s, size_t n, int64_t *v)
{
	size_t i = 0, j;
	int neg = 0;
	if (n && s[0] == '-')
		neg = i = 1;
	for (j = i; j < n && s[j] >= '0' && s[j] <= '9'; j++)
		;
	if (j == i)
		return "not a whole number";
	size_t intend = j;
	if (j < n && s[j] == '.') {
		size_t k = j + 1;
		int frac = 0;
		for (; k < n && s[k] >= '0' && s[k] <= '9'; k++)
			frac |= s[k] != '0';
		if (k == j + 1 || k != n)
			return "not a whole number";
		if (frac)
			return "fractional quantity";
	} else if (j != n) {
		return "not a whole number";
	}
	int64_t acc;
	if (parse_i64(s + i, intend - i, &acc))
		return "out of range";
	if (neg && acc)
		return "negative quantity";
	*v = acc;
	return NULL;
}

/* Append s to a comma- (or "; "-) separated list unless already in it. */
static void
list_add(struct buf *l, const char *s, size_t n, const char *sep)
{
	size_t sl = strlen(sep);
	if (!n)
		return;
	for (size_t i = 0; i < l->len;) {
		const char *e = strstr(l->s + i, sep);
		size_t len = e ? (size_t)(e - (l->s + i)) : l->len - i;
		if (len == n && !memcmp(l->s + i, s, n))
			return;
		i += len + (e ? sl : 0);
		if (!e)
			break;
	}
	if (l->len)
		buf_adds(l, sep);
	buf_add(l, s, n);
}

static void
spool_row(struct imp *im, struct sheet *sh, uint32_t keyid)
{
	if (!im->spool)
		return;
	uint32_t h[3] = { keyid, im->fileno, (uint32_t)sh->raw.len };
	uint64_t line = sh->recline;
	if (fwrite(h, sizeof h, 1, im->spool) != 1 || fwrite(&line, sizeof line, 1, im->spool) != 1 ||
	    fwrite(sh->raw.s ? sh->raw.s : "", 1, sh->raw.len, im->spool) != sh->raw.len) {
		file_error(im, sh, 0, "temporary file: write error");
	}
}

/* "bin 'X' of sku 'Y' at location 'Z'" for messages, into im->tmp. */
static const char *
place_desc(struct imp *im, const char *sku, size_t sn, const char *loc, size_t ln,
    const char *bin, size_t bn)
{
	buf_reset(&im->tmp);
	if (bn)
		buf_addf(&im->tmp, "bin %s of ", quoted(&im->q, bin, bn));
	buf_addf(&im->tmp, "sku %s", quoted(&im->q, sku, sn));
	if (ln)
		buf_addf(&im->tmp, " at location %s", quoted(&im->q, loc, ln));
	return im->tmp.s;
}

/* "line 4" or "other.csv:4": where a place was first counted. */
static const char *
where(struct imp *im, uint64_t at, struct buf *o)
{
	buf_reset(o);
	if (AT_FILE(at) != im->fileno)
		buf_addf(o, "%s:%llu", im->files[AT_FILE(at)], (unsigned long long)AT_LINE(at));
	else
		buf_addf(o, "line %llu", (unsigned long long)AT_LINE(at));
	return o->s;
}

/*
 * The current row counts place b again with another number: reject it,
 * and mark its count, whose earlier rows are rejected at the end.
 */
static void
conflict(struct imp *im, struct sheet *sh, struct agg *a, struct binent *b, int64_t qty,
    const char *sku, size_t skun, const char *loc, size_t locn, const char *bin, size_t binn)
{
	const char *place = place_desc(im, sku, skun, loc, locn, bin, binn);
	where(im, b->at, &im->nm);
	buf_reset(&im->why);
	buf_addf(&im->why, "column %d '%s': %s counted twice with different numbers: "
	    "%lld here, %lld at %s (use --sum to add them up)", im->col[R_QTY] + 1,
	    hdrname(im, R_QTY), place, (long long)qty, (long long)b->qty, im->nm.s);
	if (!a->conflicted) {
		struct buf w = BUF_INIT;
		uint32_t id = *keytab_user(a);
		if (AT_FILE(b->at) != im->fileno)
			buf_addf(&w, "%s has conflicting counts (%s and %s:%llu)", place, im->nm.s,
			    sh->name, (unsigned long long)sh->recline);
		else
			buf_addf(&w, "%s has conflicting counts (lines %llu and %llu)", place,
			    (unsigned long long)AT_LINE(b->at), (unsigned long long)sh->recline);
		buf_adds(&w, ", so its count was not written");
		*(char **)keytab_intern(&im->whys, &id, sizeof id, NULL) = w.s;
	}
	a->conflicted = 1;
	im->conflicts++;
	bad_row(im, sh, im->why.s);
}

/* The i-th NUL-terminated list of count a's kept fields. */
static const char *
kept(const struct imp *im, const struct agg *a, int i)
{
	if (!a->xlen)
		return "";
	const char *p = im->xarena.s + a->xoff;
	while (i--)
		p += strlen(p) + 1;
	return p;
}

/* Add a row's counter, bin, note and class to its count's lists. */
static void
keep_fields(struct imp *im, struct agg *a, const char *const cell[R_N], const size_t len[R_N])
{
	static const int roles[4] = { R_COUNTER, R_BIN, R_NOTE, R_CLASS };
	static const char *const seps[4] = { ",", ",", "; ", "" };
	int changed = 0;
	struct buf *l = &im->tmp;
	buf_reset(&im->xnew);
	for (int i = 0; i < 4; i++) {
		const char *old = kept(im, a, i);
		size_t before;
		buf_reset(l);
		buf_adds(l, old);
		before = l->len;
		if (roles[i] == R_CLASS) {
			if (!l->len)
				buf_add(l, cell[R_CLASS], len[R_CLASS]);	/* the first class */
		} else {
			list_add(l, cell[roles[i]], len[roles[i]], seps[i]);
		}
		changed |= l->len != before;
		buf_add(&im->xnew, l->s ? l->s : "", l->len);
		buf_addc(&im->xnew, '\0');
	}
	if (!changed)
		return;
	a->xoff = im->xarena.len;
	a->xlen = (uint32_t)im->xnew.len;
	buf_add(&im->xarena, im->xnew.s, im->xnew.len);
}

/* One data row: validate, resolve, add to its count. */
static void
data_row(struct imp *im, struct sheet *sh)
{
	const char *cell[R_N];
	size_t len[R_N];
	im->rows++;
	if (sh->bad) {
		bad_row(im, sh, sh->bad);
		return;
	}
	if (im->ncols && sh->ncell > im->ncols)
		for (size_t i = im->ncols; i < sh->ncell; i++) {
			const char *s;
			size_t n;
			sheet_cell(sh, i, &s, &n);
			if (n) {
				buf_reset(&im->why);
				buf_addf(&im->why, "%zu cells where the header has %zu: column %zu has no header: %s",
				    sh->ncell, im->ncols, i + 1, quoted(&im->q, s, n));
				bad_row(im, sh, im->why.s);
				return;
			}
		}
	for (int r = 0; r < R_N; r++) {
		if (im->col[r] >= 0)
			sheet_cell(sh, (size_t)im->col[r], &cell[r], &len[r]);
		else
			cell[r] = "", len[r] = 0;
	}
	const char *sku = cell[R_SKU];
	size_t skun = len[R_SKU];
	int64_t units = 1;
	if (len[R_BARCODE] && im->have_barcodes) {
		struct bcent *e = keytab_find(&im->barcodes, cell[R_BARCODE], len[R_BARCODE]);
		if (!e && !skun) {
			bad_row(im, sh, col_why(im, R_BARCODE, "unknown barcode", cell[R_BARCODE],
			    len[R_BARCODE]));
			return;
		}
		if (e && skun && (e->len != skun || memcmp(im->bcskus.s + e->off, sku, skun))) {
			buf_reset(&im->tmp);
			buf_addf(&im->tmp, "barcode %s is sku %s, not %s",
			    quoted(&im->q, cell[R_BARCODE], len[R_BARCODE]),
			    quoted(&im->q2, im->bcskus.s + e->off, e->len), quoted(&im->nm, sku, skun));
			buf_reset(&im->why);
			buf_addf(&im->why, "column %d '%s': %s", im->col[R_BARCODE] + 1,
			    hdrname(im, R_BARCODE), im->tmp.s);
			bad_row(im, sh, im->why.s);
			return;
		}
		if (e && !skun) {
			sku = im->bcskus.s + e->off;
			skun = e->len;
			units = e->units;
		}
	}
	if (!skun) {
		if (im->col[R_SKU] >= 0)
			bad_row(im, sh, col_why(im, R_SKU, "empty sku", NULL, 0));
		else
			bad_row(im, sh, col_why(im, R_BARCODE, "empty barcode, and no sku column", NULL, 0));
		return;
	}
	int64_t qty = units;
	if (im->col[R_QTY] >= 0) {
		const char *e;
		if (!len[R_QTY]) {
			bad_row(im, sh, col_why(im, R_QTY,
			    "empty (not counted? write 0 for a place found empty)", NULL, 0));
			return;
		}
		if ((e = parse_qty(cell[R_QTY], len[R_QTY], &qty)) != NULL) {
			bad_row(im, sh, col_why(im, R_QTY, e, cell[R_QTY], len[R_QTY]));
			return;
		}
		if (__builtin_mul_overflow(qty, units, &qty)) {
			bad_row(im, sh, col_why(im, R_QTY, "out of range after units per barcode",
			    cell[R_QTY], len[R_QTY]));
			return;
		}
	}
	time_t ts = 0;
	int hasts = 0;
	if (len[R_TS]) {
		const char *e = ic_parse_time(cell[R_TS], len[R_TS], &ts);
		if (e) {
			bad_row(im, sh, col_why(im, R_TS, e, cell[R_TS], len[R_TS]));
			return;
		}
		hasts = 1;
	} else if (im->o.has_at) {
		ts = im->o.at;
		hasts = 1;
	}
	const char *loc = cell[R_LOCATION];
	size_t locn = len[R_LOCATION];
	if (!locn && im->o.location) {
		loc = im->o.location;
		locn = strlen(loc);
	}
	/* the key: sku NUL location; the place: the key's id and the bin */
	buf_reset(&im->key);
	buf_add(&im->key, sku, skun);
	buf_addc(&im->key, '\0');
	buf_add(&im->key, loc, locn);
	int bnew, anew;
	struct agg *a = keytab_intern(&im->keys, im->key.s, im->key.len, &anew);
	uint32_t id = *keytab_user(a);
	buf_reset(&im->bkey);
	buf_add(&im->bkey, &id, sizeof id);
	buf_add(&im->bkey, cell[R_BIN], len[R_BIN]);
	struct binent *b = keytab_intern(&im->bins, im->bkey.s, im->bkey.len, &bnew);
	int add = 1;
	bnew |= !b->at;		/* an entry left by a row that was then rejected */
	if (!bnew && im->col[R_QTY] >= 0 && !im->o.sum) {
		if (b->qty == qty) {
			add = 0;	/* the same place counted again, same number */
		} else {
			conflict(im, sh, a, b, qty, sku, skun, loc, locn, cell[R_BIN], len[R_BIN]);
			return;
		}
	}
	int64_t na = a->qty, nb = qty;
	if (add && (__builtin_add_overflow(a->qty, qty, &na) ||
	    (!bnew && __builtin_add_overflow(b->qty, qty, &nb)))) {
		/* a sheet of scans has no qty column: name the column scanned */
		int role = im->col[R_QTY] >= 0 ? R_QTY : im->col[R_BARCODE] >= 0 ? R_BARCODE : R_SKU;
		bad_row(im, sh, col_why(im, role, role == R_QTY ? "sum out of range" :
		    "sum of the scans out of range", cell[role], len[role]));
		return;
	}
	if (add) {
		a->qty = na;
		b->qty = nb;
	}
	if (bnew)
		b->at = (sh->recline & ((UINT64_C(1) << 48) - 1)) | (uint64_t)im->fileno << 48;
	if (hasts && (!a->hasts || ts > a->ts)) {
		a->ts = ts;
		a->hasts = 1;
	}
	keep_fields(im, a, cell, len);
	a->rows++;
	im->used++;
	spool_row(im, sh, id);
}

/* The row callback of a count sheet. */
static void
sheet_row(void *ctx, struct sheet *sh)
{
	struct imp *im = ctx;
	if (im->fatal)
		return;
	if (!sh->bad && !utf8_valid(sh->raw.s ? sh->raw.s : "", sh->raw.len))
		sh->bad = enc_is_utf8(im->o.encoding) ?
		    "invalid UTF-8 (is the file in another encoding? try --encoding GBK)" :
		    "invalid byte sequence for the encoding (is --encoding right?)";
	if (!sh->bad && sheet_blank(sh)) {
		im->blank++;
		return;
	}
	if (im->hdr) {
		data_row(im, sh);
		return;
	}
	if (!im->looked++)
		im->firstline = sh->recline;
	if (sh->bad) {
		file_error(im, sh, sh->recline, "header: %s", sh->bad);
		return;
	}
	int k = map_header(im, sh);
	if (k < 0)
		return;
	if (k == 0) {
		if (im->looked >= 10)
			file_error(im, sh, im->firstline, "no header found: no column is named sku, "
			    "barcode or a synonym in the first %d lines (see --columns)", im->looked);
		return;
	}
	if (check_columns(im, sh, sh->recline) < 0)
		return;
	im->prehdr += (uint64_t)(im->looked - 1);
	im->hdr = 1;
	im->hdrline = sh->recline;
}

static uint32_t
add_file(struct imp *im, const char *name)
{
	im->files = xrealloc(im->files, (im->nfiles + 1) * sizeof *im->files);
	im->files[im->nfiles] = xstrdup(name);
	return (uint32_t)im->nfiles++;
}

/* Per-file setup: the columns when there is no header to read. */
static void
file_begin(struct imp *im, struct sheet *sh, const char *name)
{
	im->fileno = add_file(im, name);
	im->hdr = 0;
	im->looked = 0;
	im->ncols = 0;
	for (int r = 0; r < R_N; r++)
		im->col[r] = -1;
	if (im->o.noheader) {
		buf_reset(&im->hdrnames);
		for (int r = 0; r < R_N; r++) {
			im->col[r] = im->o.colnum[r] - 1;
			im->hdroff[r] = im->hdrnames.len;
			buf_adds(&im->hdrnames, role_names[r]);
			buf_addc(&im->hdrnames, '\0');
		}
		if (check_columns(im, sh, 0) == 0)
			im->hdr = 1;
	}
}

static int
file_end(struct imp *im, struct sheet *sh)
{
	if (!im->fatal && !im->hdr && im->looked)
		file_error(im, sh, im->firstline, "no header found: no column is named sku, barcode or "
		    "a synonym (see --columns)");
	return im->fatal ? -1 : 0;
}

/* Start conversion for a file whose first bytes are p[0..n). */
static int
conv_start(struct imp *im, struct conv *cv, struct sheet *sh, const char *p, size_t n)
{
	const char *enc = im->o.encoding;
	cv->started = 1;
	if (enc_is_utf8(enc)) {
		if (n >= 2 && (!memcmp(p, "\xff\xfe", 2) || !memcmp(p, "\xfe\xff", 2)))
			enc = "UTF-16";
		else
			return 0;
	}
	if (conv_open(cv, enc) < 0) {
		file_error(im, sh, 0, "unknown encoding '%s' (iconv -l lists them)", enc);
		return -1;
	}
	return 0;
}

static void
feed(struct imp *im, struct conv *cv, struct sheet *sh, const char *p, size_t n)
{
	if (!cv->started) {
		/* hold the first two bytes: a UTF-16 BOM says how to read the rest */
		buf_add(&cv->in, p, n);
		if (cv->in.len < 2 || conv_start(im, cv, sh, cv->in.s, cv->in.len) < 0)
			return;
		if (!cv->on) {
			sheet_feed(sh, cv->in.s, cv->in.len);
			buf_reset(&cv->in);
		} else {
			conv_run(cv, sh, 0);
		}
		return;
	}
	if (!cv->on) {
		sheet_feed(sh, p, n);
		return;
	}
	buf_add(&cv->in, p, n);
	conv_run(cv, sh, 0);
}

static void
feed_end(struct imp *im, struct conv *cv, struct sheet *sh)
{
	if (!cv->started) {
		if (conv_start(im, cv, sh, cv->in.s ? cv->in.s : "", cv->in.len) < 0)
			return;
		if (!cv->on) {
			sheet_feed(sh, cv->in.s ? cv->in.s : "", cv->in.len);
			buf_reset(&cv->in);
		}
	}
	if (cv->on && !im->fatal)
		conv_run(cv, sh, 1);
	if (!im->fatal)
		sheet_finish(sh);
}

/* Import a whole sheet held in memory (the fuzz target's way in).  0, or -1 with im->err set. */
static int __attribute__((unused))
imp_buffer(struct imp *im, const char *name, const char *p, size_t n)
{
	struct sheet sh;
	struct conv cv = { 0 };
	sheet_init(&sh, name, im->o.delim, sheet_row, im);
	file_begin(im, &sh, name);
	if (!im->fatal)
		feed(im, &cv, &sh, p, n);
	if (!im->fatal)
		feed_end(im, &cv, &sh);
	int k = file_end(im, &sh);
	conv_close(&cv);
	sheet_release(&sh);
	return k;
}

/* Import a sheet from fd, streamed.  0, -1 (im->err) or -2 (read error, errno). */
static int
imp_fd(struct imp *im, const char *name, int fd)
{
	struct sheet sh;
	struct conv cv = { 0 };
	char *b = xmalloc(1 << 16);
	int k = 0;
	sheet_init(&sh, name, im->o.delim, sheet_row, im);
	file_begin(im, &sh, name);
	while (!im->fatal) {
		ssize_t r = read(fd, b, 1 << 16);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			k = -2;
			break;
		}
		if (r == 0) {
			feed_end(im, &cv, &sh);
			break;
		}
		feed(im, &cv, &sh, b, (size_t)r);
	}
	int e = errno;
	if (k == 0)
		k = file_end(im, &sh);
	conv_close(&cv);
	sheet_release(&sh);
	free(b);
	errno = e;
	return k;
}

/*
 * After all files: reject the rows of counts that had a conflict, then
 * write one record per remaining sku+location, in order of first sight.
 */
static void
imp_finish(struct imp *im, struct writer *w)
{
	char ts[32];
	if (im->conflicts && im->spool) {
		struct buf text = BUF_INIT;
		uint32_t h[3];
		uint64_t line;
		rewind(im->spool);
		while (fread(h, sizeof h, 1, im->spool) == 1 && fread(&line, sizeof line, 1, im->spool) == 1) {
			buf_reset(&text);
			buf_grow(&text, h[2]);
			if (h[2] && fread(text.s, 1, h[2], im->spool) != h[2])
				break;
			text.len = h[2];
			struct agg *a = keytab_val(&im->keys, h[0]);
			if (!a->conflicted)
				continue;
			im->rejected++;
			im->reject(im->rctx, im->files[h[1]], line, text.s ? text.s : "", text.len,
			    *(char **)keytab_find(&im->whys, &h[0], sizeof h[0]));
		}
		buf_release(&text);
	}
	for (uint32_t id = 0; id < keytab_count(&im->keys); id++) {
		struct agg *a = keytab_val(&im->keys, id);
		size_t n;
		const char *k = keytab_keyof(&im->keys, a, &n);
		size_t skun = strlen(k);
		if (!a->rows)
			continue;
		if (a->conflicted) {
			im->used -= a->rows;
			if (!im->spool)
				im->rejected += a->rows;
			continue;
		}
		wr_begin(w);
		wr_str(w, "sku", k, skun);
		wr_str(w, "channel", "count", 5);
		wr_str(w, "location", k + skun + 1, n - skun - 1);
		wr_int(w, "qty", a->qty);
		if (!a->hasts)
			im->nots++;
		if (a->hasts) {
			ic_fmt_time((time_t)a->ts, ts);
			wr_str(w, "ts", ts, strlen(ts));
		}
		static const char *const names[4] = { "counter", "bin", "note", "class" };
		for (int i = 0; i < 4; i++) {
			const char *v = kept(im, a, i);
			if (*v)
				wr_str(w, names[i], v, strlen(v));
		}
		wr_end(w);
	}
}

/* ---- command line ---- */

static struct rejects import_rj;

static void
cli_reject(void *ctx, const char *file, uint64_t line, const char *text, size_t len, const char *why)
{
	struct record rec = { 0 };
	(void)ctx;
	rec.line = line;
	rec.text = text;
	rec.textlen = len;
	reject_record(&import_rj, file, &rec, why);
}

/* The barcodes file: barcode,sku[,units], with or without a header. */
struct bcload {
	struct imp *im;
	int first, col[3];
};

static void
barcode_row(void *ctx, struct sheet *sh)
{
	struct bcload *bl = ctx;
	struct imp *im = bl->im;
	const char *s[3];
	size_t n[3];
	if (sh->bad)
		die(EX_DATAERR, "%s:%llu: %s", sh->name, (unsigned long long)sh->recline, sh->bad);
	if (!utf8_valid(sh->raw.s ? sh->raw.s : "", sh->raw.len))
		die(EX_DATAERR, "%s:%llu: invalid UTF-8", sh->name, (unsigned long long)sh->recline);
	if (sheet_blank(sh))
		return;
	if (bl->first) {
		bl->first = 0;
		int hdr = 0, col[3] = { -1, -1, -1 };
		for (size_t i = 0; i < sh->ncell; i++) {
			const char *c;
			size_t cn;
			sheet_cell(sh, i, &c, &cn);
			norm_name(&im->nm, c, cn);
			const char *nm = im->nm.s ? im->nm.s : "";
			int r = synonym_role(nm, im->nm.len);
			int k = r == R_BARCODE ? 0 : r == R_SKU ? 1 :
			    (!strcmp(nm, "units") || !strcmp(nm, "unit") || !strcmp(nm, "packsize") ||
			    !strcmp(nm, "pack") || r == R_QTY) ? 2 : -1;
			if (k >= 0 && col[k] < 0) {
				col[k] = (int)i;
				hdr = 1;
			}
		}
		if (hdr) {
			if (col[0] < 0 || col[1] < 0)
				die(EX_DATAERR, "%s:%llu: header: needs a barcode and a sku column",
				    sh->name, (unsigned long long)sh->recline);
			memcpy(bl->col, col, sizeof col);
			return;
		}
	}
	for (int k = 0; k < 3; k++)
		sheet_cell(sh, bl->col[k] < 0 ? (size_t)-1 : (size_t)bl->col[k], &s[k], &n[k]);
	if (!n[0] || !n[1])
		die(EX_DATAERR, "%s:%llu: %s", sh->name, (unsigned long long)sh->recline,
		    !n[0] ? "empty barcode" : "empty sku");
	int64_t units = 1;
	if (n[2] && (parse_i64(s[2], n[2], &units) || units < 1))
		die(EX_DATAERR, "%s:%llu: units: not a whole number above 0: %s", sh->name,
		    (unsigned long long)sh->recline, quoted(&im->q, s[2], n[2]));
	const char *e = imp_add_barcode(im, s[0], n[0], s[1], n[1], units, sh->recline);
	if (e)
		die(EX_DATAERR, "%s:%llu: %s", sh->name, (unsigned long long)sh->recline, e);
}

static void
load_barcodes(struct imp *im, const char *path)
{
	struct bcload bl = { im, 1, { 0, 1, 2 } };
	struct sheet sh;
	char b[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno(EX_NOINPUT, "%s", path);
	sheet_init(&sh, path, 0, barcode_row, &bl);
	for (;;) {
		ssize_t r = read(fd, b, sizeof b);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die_errno(EX_IOERR, "%s: read error", path);
		if (r == 0)
			break;
		sheet_feed(&sh, b, (size_t)r);
	}
	sheet_finish(&sh);
	sheet_release(&sh);
	close(fd);
	im->have_barcodes = 1;
}

static int
role_of(const char *s, size_t n)
{
	for (int r = 0; r < R_N; r++)
		if (strlen(role_names[r]) == n && !memcmp(role_names[r], s, n))
			return r;
	if (n == 2 && !memcmp(s, "ts", 2))
		return R_TS;
	return -1;
}

/* --columns sku=2,qty=5 or sku=Artikel: 1-based numbers or header names. */
static void
parse_columns(struct imp_opts *o, char *spec)
{
	char *save = NULL;
	for (char *t = strtok_r(spec, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		int r = eq ? role_of(t, (size_t)(eq - t)) : -1;
		if (!eq || !eq[1])
			die(EX_USAGE, "--columns: '%s' is not field=column (sku=2,qty=5)", t);
		if (r < 0)
			die(EX_USAGE, "--columns: unknown field '%.*s' (sku, qty, location, bin, barcode, "
			    "counter, counted_at, note, class)", (int)(eq - t), t);
		if (o->colnum[r] || o->colname[r])
			die(EX_USAGE, "--columns: field '%s' given twice", role_names[r]);
		int64_t v;
		if (!parse_i64(eq + 1, strlen(eq + 1), &v)) {
			if (v < 1 || v > 100000)
				die(EX_USAGE, "--columns: column %s of '%s' out of range (from 1)", eq + 1,
				    role_names[r]);
			o->colnum[r] = (int)v;
		} else {
			o->colname[r] = eq + 1;
		}
	}
	for (int r = 0; r < R_N; r++)
		for (int s = r + 1; s < R_N; s++)
			if (o->colnum[r] && o->colnum[r] == o->colnum[s])
				die(EX_USAGE, "--columns: column %d given for both '%s' and '%s'", o->colnum[r],
				    role_names[r], role_names[s]);
}

static int
parse_delim(const char *s)
{
	if (!strcmp(s, "tab") || !strcmp(s, "\\t") || !strcmp(s, "\t"))
		return '\t';
	if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r')
		return (unsigned char)s[0];
	die(EX_USAGE, "--delimiter: '%s' is not one character (or 'tab')", s);
}

static void
import_usage(int code)
{
	FILE *f = code ? stderr : stdout;
	fprintf(f,
	    "usage: invcount import [-qsv] [-b barcodes] [-c columns] [-d delimiter] [-e encoding]\n"
	    "                       [-F format] [-l location] [--at time] [--no-header]\n"
	    "                       [--reject file] [file ...]\n");
	if (!code)
		fprintf(f,
		    "\nRead count sheets and write one stock record (channel count) per sku+location.\n\n"
		    "      --at TIME           count time of rows without one (YYYY-MM-DD HH:MM, or now)\n"
		    "  -b, --barcodes FILE     resolve barcodes: barcode,sku[,units]\n"
		    "  -c, --columns LIST      which column is which: sku=2,qty=5 or sku=Artikel\n"
		    "  -d, --delimiter C       cell delimiter (default: detected; 'tab' for a tab)\n"
		    "  -e, --encoding ENC      the sheets' encoding: GBK, GB18030, UTF-16, ...\n"
		    "  -F, --format FMT        ndjson (default) or csv\n"
		    "  -l, --location LOC      location of rows that name none\n"
		    "      --no-header         the first row is data (needs --columns)\n"
		    "  -q, --quiet             no summary\n"
		    "      --reject FILE       write bad rows to FILE and go on\n"
		    "  -s, --sum               add up a place counted twice instead of refusing it\n"
		    "  -v, --verbose           explain more\n"
		    "  -h, --help              this help\n\n"
		    "See invcount(1).\n");
	exit(code);
}

int
import_main(int argc, char **argv)
{
	enum { O_AT = 256, O_NOHEADER, O_REJECT };
	static const struct option longopts[] = {
		{ "at", required_argument, NULL, O_AT },
		{ "barcodes", required_argument, NULL, 'b' },
		{ "columns", required_argument, NULL, 'c' },
		{ "delimiter", required_argument, NULL, 'd' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "location", required_argument, NULL, 'l' },
		{ "no-header", no_argument, NULL, O_NOHEADER },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reject", required_argument, NULL, O_REJECT },
		{ "sum", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct imp_opts o = { 0 };
	const char *barcodes = NULL, *reject = NULL;
	int c, fmt = FMT_NDJSON, quiet = 0;
	char *colspec = NULL;

	while ((c = getopt_long(argc, argv, "b:c:d:e:F:hl:qsvV", longopts, NULL)) != -1) {
		switch (c) {
		case O_AT:
			if (!strcmp(optarg, "now")) {
				o.at = time(NULL);
			} else {
				const char *e = ic_parse_time(optarg, strlen(optarg), &o.at);
				if (e)
					die(EX_USAGE, "--at: %s: '%s'", e, optarg);
			}
			o.has_at = 1;
			break;
		case 'b': barcodes = optarg; break;
		case 'c':
			free(colspec);
			colspec = xstrdup(optarg);
			parse_columns(&o, colspec);
			break;
		case 'd': o.delim = parse_delim(optarg); break;
		case 'e': o.encoding = optarg; break;
		case 'F':
			fmt = parse_format(optarg);
			if (fmt != FMT_NDJSON && fmt != FMT_CSV)
				die(EX_USAGE, "unknown format '%s' (ndjson or csv)", optarg);
			break;
		case 'h': import_usage(0); break;
		case 'l':
			if (!*optarg)
				die(EX_USAGE, "--location: empty location");
			o.location = optarg;
			break;
		case O_NOHEADER: o.noheader = 1; break;
		case 'q': quiet = 1; break;
		case O_REJECT: reject = optarg; break;
		case 's': o.sum = 1; break;
		case 'v': o.verbose = 1; break;
		case 'V': cli_version(); break;
		default: import_usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (o.noheader && !o.colnum[R_SKU] && !o.colnum[R_BARCODE])
		die(EX_USAGE, "--no-header needs --columns with the sku (or barcode) column's number");
	for (int r = 0; r < R_N && o.noheader; r++)
		if (o.colname[r])
			die(EX_USAGE, "--no-header: --columns %s=%s names a column, but there is no header",
			    role_names[r], o.colname[r]);
	if (!enc_is_utf8(o.encoding)) {
		iconv_t cd = iconv_open("UTF-8", o.encoding);
		if (cd == (iconv_t)-1)
			die(EX_USAGE, "--encoding: unknown encoding '%s' (iconv -l lists them)", o.encoding);
		iconv_close(cd);
	}
	int nstdin = 0;
	for (int i = 0; i < argc; i++)
		nstdin += !strcmp(argv[i], "-");
	if (nstdin > 1)
		die(EX_USAGE, "standard input given more than once");

	struct imp im;
	imp_init(&im, &o);
	im.reject = cli_reject;
	if (rejects_open(&import_rj, reject) < 0)
		die_errno(EX_CANTCREAT, "%s", reject);
	if (reject && !(im.spool = tmpfile()))
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	if (barcodes)
		load_barcodes(&im, barcodes);

	/* open every file first: a missing one is found before any work */
	static const char *dash[] = { "-" };
	const char **files = argc ? (const char **)argv : dash;
	int nfiles = argc ? argc : 1;
	int *fds = xcalloc((size_t)nfiles, sizeof *fds);
	for (int i = 0; i < nfiles; i++) {
		if (!strcmp(files[i], "-")) {
			fds[i] = STDIN_FILENO;
			continue;
		}
		if ((fds[i] = open(files[i], O_RDONLY | O_CLOEXEC)) < 0)
			die_errno(EX_NOINPUT, "%s", files[i]);
	}
	for (int i = 0; i < nfiles; i++) {
		const char *name = strcmp(files[i], "-") ? files[i] : "<stdin>";
		uint64_t rows0 = im.rows;
		int k = imp_fd(&im, name, fds[i]);
		if (k == -2)
			die_errno(EX_IOERR, "%s: read error", name);
		if (k < 0)
			die(EX_DATAERR, "%s", im.err.s);
		if (fds[i] != STDIN_FILENO)
			close(fds[i]);
		if (o.verbose) {
			struct buf m = BUF_INIT;
			for (int r = 0; r < R_N; r++)
				if (im.col[r] >= 0)
					buf_addf(&m, "%s%s=%d", m.len ? ", " : "", role_names[r], im.col[r] + 1);
			warnx_("%s: %llu rows; columns %s%s%s%s", name,
			    (unsigned long long)(im.rows - rows0), m.s ? m.s : "none",
			    im.ignored.len ? "; ignored " : "", im.ignored.len ? im.ignored.s : "",
			    im.col[R_QTY] < 0 ? "; no qty column: each row is one scan" : "");
			buf_release(&m);
		}
	}
	free(fds);

	struct writer *w = writer_new(stdout, fmt, 0);
	imp_finish(&im, w);
	uint64_t written = writer_count(w);
	writer_close(w);
	rejects_close(&import_rj);
	close_stdout();
	if (!quiet) {
		fprintf(stderr, "%s: %llu rows read = %llu used + %llu rejected", progname,
		    (unsigned long long)im.rows, (unsigned long long)im.used,
		    (unsigned long long)im.rejected);
		if (reject)
			fprintf(stderr, " to %s", reject);
		fprintf(stderr, "; %llu count%s written", (unsigned long long)written,
		    written == 1 ? "" : "s");
		if (im.nots)
			fprintf(stderr, ", %llu without a count time (see --at)",
			    (unsigned long long)im.nots);
		if (im.prehdr)
			fprintf(stderr, "; %llu line%s before the header skipped",
			    (unsigned long long)im.prehdr, im.prehdr == 1 ? "" : "s");
		fputc('\n', stderr);
	}
	imp_release(&im);
	free(colspec);
	return 0;
}
