/*
 * test_rec.c - the record reader: NDJSON and CSV from real files, line
 * numbers, errors and recovery, and typed field access.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "rec.h"
#include "util.h"

/* ---- helpers ---- */

/* Write data to a new temporary file; returns its path (malloc'd). */
static char *
tmpwrite(const char *data, size_t n)
{
	const char *dir = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/invkit-test_rec.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path.s);
	assert_true(fd >= 0);
	size_t off = 0;
	while (off < n) {
		ssize_t k = write(fd, data + off, n - off);
		assert_true(k > 0);
		off += (size_t)k;
	}
	assert_int_equal(close(fd), 0);
	return path.s;
}

/* A reader over data (the file is unlinked at once; the fd keeps it). */
static struct reader *
rd_n(const char *data, size_t n, int fmt, int delim, int flags)
{
	char *path = tmpwrite(data, n);
	struct reader *r = reader_open(path, fmt, delim, flags);
	assert_non_null(r);
	assert_string_equal(reader_name(r), path);
	unlink(path);
	free(path);
	return r;
}
#define rd(s) rd_n((s), strlen(s), FMT_AUTO, 0, 0)

static int
span_eq(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void
assert_span_(const char *p, size_t n, const char *want, const char *file, int line)
{
	if (!span_eq(p, n, want)) {
		struct buf a = BUF_INIT, b = BUF_INIT;
		print_error("%s:%d: got %s, want %s\n", file, line, quoted(&a, p, n),
		    quoted(&b, want, strlen(want)));
		buf_release(&a);
		buf_release(&b);
		fail();
	}
}
#define assert_span(p, n, want) assert_span_((p), (n), (want), __FILE__, __LINE__)

/* Field of rec by name, or NULL. */
static const struct field *
fld(const struct record *rec, const char *name)
{
	for (size_t i = 0; i < rec->nf; i++)
		if (span_eq(rec->f[i].name, rec->f[i].nlen, name))
			return &rec->f[i];
	return NULL;
}

/* Text value of a field (CSV cell or decoded JSON string). */
static void
assert_val_(const struct record *rec, const char *name, const char *want, const char *file, int line)
{
	const struct field *f = fld(rec, name);
	struct buf scratch = BUF_INIT, why = BUF_INIT;
	const char *s;
	size_t n;
	if (!f) {
		print_error("%s:%d: no field '%s'\n", file, line, name);
		fail();
	}
	assert_int_equal(field_str(f, &scratch, &s, &n, &why), 0);
	assert_span_(s, n, want, file, line);
	buf_release(&scratch);
	buf_release(&why);
}
#define assert_val(rec, name, want) assert_val_((rec), (name), (want), __FILE__, __LINE__)

/* ---- NDJSON ---- */

static void
ndjson_basic(void **state)
{
	(void)state;
	struct reader *r = rd("{\"sku\":\"A\",\"qty\":5,\"x\":{\"y\":[1]}}\n"
	    "{\"qty\":-2,\"sku\":\"B\"}\n");
	struct record *rec;
	int64_t v;
	struct buf why = BUF_INIT;

	assert_int_equal(reader_fmt(r), FMT_AUTO);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(reader_fmt(r), FMT_NDJSON);
	assert_int_equal(rec->fmt, FMT_NDJSON);
	assert_int_equal(rec->line, 1);
	assert_int_equal(rec->nf, 3);
	assert_span(rec->text, rec->textlen, "{\"sku\":\"A\",\"qty\":5,\"x\":{\"y\":[1]}}");
	assert_int_equal(rec->kidx[K_SKU], 0);
	assert_int_equal(rec->kidx[K_QTY], 1);
	assert_int_equal(rec->kidx[K_LOCATION], -1);
	assert_int_equal(rec->f[0].kid, K_SKU);
	assert_int_equal(rec->f[2].kid, -1);
	assert_int_equal(rec->f[2].type, J_OBJECT);
	assert_int_equal(rec_int(rec, K_QTY, &v, &why), 0);
	assert_int_equal(v, 5);
	assert_int_equal(rec_int(rec, K_TO, &v, &why), 1);
	size_t nh = 99;
	assert_null(reader_header(r, &nh));

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 2);
	assert_int_equal(rec->kidx[K_SKU], 1);
	assert_int_equal(rec->kidx[K_QTY], 0);
	assert_int_equal(rec_int(rec, K_QTY, &v, &why), 0);
	assert_int_equal(v, -2);
	assert_val(rec, "sku", "B");

	assert_int_equal(reader_next(r, &rec), 0);
	assert_int_equal(reader_next(r, &rec), 0);	/* end stays the end */
	assert_int_equal(reader_offset(r), 55);
	reader_free(r);
	buf_release(&why);
}

static void
ndjson_blank_crlf_bom(void **state)
{
	(void)state;
	struct reader *r = rd("\xef\xbb\xbf{\"sku\":\"A\"}\r\n"
	    "\r\n"
	    "   \t \n"
	    "\n"
	    "{\"sku\":\"B\"}\r\n"
	    "  {\"sku\":\"C\"}  ");	/* no final line end */
	struct record *rec;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 1);
	assert_span(rec->text, rec->textlen, "{\"sku\":\"A\"}");
	assert_val(rec, "sku", "A");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 5);
	assert_span(rec->text, rec->textlen, "{\"sku\":\"B\"}");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 6);
	assert_val(rec, "sku", "C");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);

	/* empty and blank-only inputs have no records */
	r = rd("");
	assert_int_equal(reader_next(r, &rec), 0);
	assert_int_equal(reader_fmt(r), FMT_NDJSON);
	reader_free(r);
	r = rd("\n\r\n  \n");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
	r = rd("\xef\xbb\xbf");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
}

/*
 * Regression (found by tests/fuzz/fuzz_rec.c): detect() skipped the BOM by
 * moving the start of the buffer without the scan mark, so the next fill()
 * computed the mark as 0 - 3 and get_line() searched memory before the
 * buffer.  It takes a BOM followed by nothing but white space in the
 * first read: a BOM-only file, or a pipe that delivers the BOM alone.
 */
static void
bom_alone_in_first_read(void **state)
{
	(void)state;
	struct record *rec;
	struct reader *r = rd("\xef\xbb\xbf");
	assert_int_equal(reader_next(r, &rec), 0);
	assert_int_equal(reader_offset(r), 3);
	reader_free(r);
	r = rd("\xef\xbb\xbf \n\t\r\n");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);

	/* through a pipe: the BOM comes first, the record after a pause */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (write(pfd[1], "\xef\xbb\xbf\n", 4) != 4)
			_exit(1);
		usleep(100 * 1000);
		if (write(pfd[1], "{\"sku\":\"A\"}\n{\"sku\":\"B\"}\n", 24) != 24)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	char path[64];
	snprintf(path, sizeof path, "/dev/fd/%d", pfd[0]);
	r = reader_open(path, FMT_AUTO, 0, 0);
	assert_non_null(r);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 2);
	assert_span(rec->text, rec->textlen, "{\"sku\":\"A\"}");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);
	assert_val(rec, "sku", "B");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
ndjson_long_line(void **state)
{
	(void)state;
	const size_t big = 10u << 20;
	struct buf in = BUF_INIT;
	struct record *rec;

	buf_adds(&in, "{\"sku\":\"first\"}\n{\"sku\":\"long\",\"note\":\"");
	buf_grow(&in, big);
	for (size_t i = 0; i < big; i++)
		in.s[in.len + i] = (char)('a' + i % 26);
	in.len += big;
	in.s[in.len] = 0;
	buf_adds(&in, "\",\"qty\":7}\n{\"sku\":\"after\"}\n");
	struct reader *r = rd_n(in.s, in.len, FMT_AUTO, 0, 0);

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 2);
	assert_int_equal(rec->textlen, big + 32);
	const struct field *note = fld(rec, "note");
	assert_non_null(note);
	assert_int_equal(note->vlen, big);
	assert_int_equal(note->val[0], 'a');
	assert_int_equal(note->val[big - 1], (char)('a' + (big - 1) % 26));
	int64_t v;
	struct buf why = BUF_INIT;
	assert_int_equal(rec_int(rec, K_QTY, &v, &why), 0);
	assert_int_equal(v, 7);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);
	assert_val(rec, "sku", "after");
	assert_int_equal(reader_next(r, &rec), 0);
	assert_int_equal(reader_offset(r), in.len);
	reader_free(r);
	buf_release(&in);
	buf_release(&why);
}

static void
ndjson_errors_and_recovery(void **state)
{
	(void)state;
	struct reader *r = rd("{\"sku\":\"A\",\"qty\":1,\"qty\":2}\n"
	    "{\"sku\":\"B\",\"qty\":}\n"
	    "{\"sku\":\"C\"}\n"
	    "{\"x\":1,\"x\":2}\n"
	    "{\"qty\":1,\"q\\u0074y\":2}\n"
	    "[1,2]\n"
	    "{\"sku\":\"\xff\"}\n"
	    "{\"sku\":\"D\"}\n");
	struct record *rec;

	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "duplicate field 'qty'");
	assert_int_equal(rec->line, 1);
	assert_span(rec->text, rec->textlen, "{\"sku\":\"A\",\"qty\":1,\"qty\":2}");

	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "invalid JSON at column 18: value expected");
	assert_int_equal(rec->line, 2);
	assert_span(rec->text, rec->textlen, "{\"sku\":\"B\",\"qty\":}");

	assert_int_equal(reader_next(r, &rec), 1);
	assert_string_equal(reader_error(r), "");
	assert_int_equal(rec->line, 3);
	assert_val(rec, "sku", "C");

	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "duplicate field \"x\"");
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "duplicate field 'qty'");
	/* an array on a later line is just not an object */
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "invalid JSON at column 1: not a JSON object");
	assert_int_equal(rec->line, 6);
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "invalid JSON at column 9: invalid UTF-8 in string");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 8);
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);

	/* a whole JSON array (jq's default output) gets a hint */
	r = rd("[{\"sku\":\"A\"},\n{\"sku\":\"B\"}]\n");
	assert_int_equal(reader_fmt(r), FMT_AUTO);
	assert_int_equal(reader_next(r, &rec), -1);
	assert_int_equal(reader_fmt(r), FMT_NDJSON);
	assert_string_equal(reader_error(r),
	    "a JSON array, not one object per line (try: jq -c '.[]')");
	assert_int_equal(rec->line, 1);
	reader_free(r);
	r = rd("[{\"sku\":\"A\"},{\"sku\":\"B\"}]");
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r),
	    "a JSON array, not one object per line (try: jq -c '.[]')");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
}

static void
ndjson_names_with_escapes(void **state)
{
	(void)state;
	struct reader *r = rd("{\"\\u0073ku\":\"A\",\"n\\u00e9\":\"x\",\"to\":3}\n");
	struct record *rec;
	int64_t v;
	struct buf why = BUF_INIT;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->kidx[K_SKU], 0);
	assert_span(rec->f[0].raw, rec->f[0].rawlen, "\\u0073ku");
	assert_val(rec, "sku", "A");
	assert_val(rec, "n\xc3\xa9", "x");
	assert_int_equal(rec_int(rec, K_TO, &v, &why), 0);
	assert_int_equal(v, 3);
	reader_free(r);
	buf_release(&why);
}

static void
missing_file(void **state)
{
	(void)state;
	assert_null(reader_open("/nonexistent/invkit/none.ndjson", FMT_AUTO, 0, 0));
	assert_null(reader_open("/", FMT_AUTO, 0, 0));
}

/* ---- CSV ---- */

static void
csv_basic(void **state)
{
	(void)state;
	struct reader *r = rd("sku,qty,note\nA,1,x\nB,-2,\n");
	struct record *rec;
	size_t nh;
	int64_t v;
	struct buf why = BUF_INIT;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(reader_fmt(r), FMT_CSV);
	assert_int_equal(rec->fmt, FMT_CSV);
	const struct field *h = reader_header(r, &nh);
	assert_non_null(h);
	assert_int_equal(nh, 3);
	assert_span(h[0].name, h[0].nlen, "sku");
	assert_span(h[2].name, h[2].nlen, "note");
	assert_int_equal(h[1].kid, K_QTY);
	assert_int_equal(rec->line, 2);
	assert_span(rec->text, rec->textlen, "A,1,x");
	assert_int_equal(rec->nf, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rec->f[i].type, J_TEXT);
		assert_int_equal(rec->f[i].nfromjson, 0);
		assert_true(rec->f[i].raw == rec->f[i].name);
	}
	assert_int_equal(rec->kidx[K_SKU], 0);
	assert_int_equal(rec->kidx[K_QTY], 1);
	assert_int_equal(rec->kidx[K_NOTE], 2);
	assert_val(rec, "sku", "A");
	assert_int_equal(rec_int(rec, K_QTY, &v, &why), 0);
	assert_int_equal(v, 1);

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);
	assert_int_equal(rec_int(rec, K_QTY, &v, &why), 0);
	assert_int_equal(v, -2);
	/* an empty cell: null to field_is_null, "" to field_str */
	const struct field *note = fld(rec, "note");
	assert_true(field_is_null(note));
	assert_val(rec, "note", "");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
	buf_release(&why);

	/* header only: no records */
	r = rd("sku,qty\n");
	assert_int_equal(reader_next(r, &rec), 0);
	assert_int_equal(reader_fmt(r), FMT_CSV);
	h = reader_header(r, &nh);
	assert_int_equal(nh, 2);
	reader_free(r);
}

static void
csv_bom_crlf(void **state)
{
	(void)state;
	struct reader *r = rd("\xef\xbb\xbfsku,qty\r\n\r\nA,1\r\nB,2");
	struct record *rec;
	size_t nh;

	assert_int_equal(reader_next(r, &rec), 1);
	const struct field *h = reader_header(r, &nh);
	assert_span(h[0].name, h[0].nlen, "sku");
	assert_int_equal(h[0].kid, K_SKU);
	assert_span(h[1].name, h[1].nlen, "qty");
	assert_int_equal(rec->line, 3);
	assert_span(rec->text, rec->textlen, "A,1");
	assert_val(rec, "qty", "1");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 4);
	assert_val(rec, "qty", "2");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
}

static void
csv_quoted(void **state)
{
	(void)state;
	struct reader *r = rd("sku,note,qty\n"
	    "\"A,1\",\"say \"\"hi\"\"\",3\n"
	    "B,\"line1\nline2\n\nline4\",4\n"
	    "C,x,5\n"
	    "\"\",\"\",6\n"
	    "\"D\",\"a;b\",\"7\"\n");
	struct record *rec;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 2);
	assert_val(rec, "sku", "A,1");
	assert_val(rec, "note", "say \"hi\"");
	assert_val(rec, "qty", "3");
	assert_span(rec->text, rec->textlen, "\"A,1\",\"say \"\"hi\"\"\",3");

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);	/* where it starts */
	assert_val(rec, "sku", "B");
	assert_val(rec, "note", "line1\nline2\n\nline4");
	assert_val(rec, "qty", "4");
	assert_span(rec->text, rec->textlen, "B,\"line1\nline2\n\nline4\",4");

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 7);	/* counted through the embedded lines */
	assert_val(rec, "sku", "C");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 8);
	assert_val(rec, "sku", "");
	assert_val(rec, "qty", "6");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 9);
	assert_val(rec, "sku", "D");
	assert_val(rec, "note", "a;b");
	assert_val(rec, "qty", "7");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
}

static void
csv_mixed_fast_and_quoted(void **state)
{
	(void)state;
	/* alternate the quote-free fast path and libcsv; the state must not leak */
	struct buf in = BUF_INIT;
	struct record *rec;
	buf_adds(&in, "sku,note\n");
	for (int i = 0; i < 200; i++) {
		switch (i % 4) {
		case 0: buf_addf(&in, "s%d,plain %d\n", i, i); break;
		case 1: buf_addf(&in, "\"s%d\",\"q,%d\"\n", i, i); break;
		case 2: buf_addf(&in, "s%d,\"multi\n%d\"\n", i, i); break;
		case 3: buf_addf(&in, "s%d,\n", i); break;
		}
	}
	struct reader *r = rd_n(in.s, in.len, FMT_AUTO, 0, 0);
	uint64_t line = 2;
	for (int i = 0; i < 200; i++) {
		struct buf want = BUF_INIT;
		assert_int_equal(reader_next(r, &rec), 1);
		assert_int_equal(rec->line, line);
		buf_addf(&want, "s%d", i);
		assert_val(rec, "sku", want.s);
		buf_reset(&want);
		switch (i % 4) {
		case 0: buf_addf(&want, "plain %d", i); break;
		case 1: buf_addf(&want, "q,%d", i); break;
		case 2: buf_addf(&want, "multi\n%d", i); break;
		case 3: break;
		}
		assert_val(rec, "note", want.s ? want.s : "");
		line += i % 4 == 2 ? 2 : 1;
		buf_release(&want);
	}
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
	buf_release(&in);
}

static void
csv_errors_and_recovery(void **state)
{
	(void)state;
	struct reader *r = rd("sku,qty\n"
	    "A,1,2\n"
	    "B\n"
	    "C,3\n"
	    "a\"b,4\n"
	    "\"x\"y,5\n"
	    "D,6\n"
	    "E,\xff\n"
	    "F,\"\xc3\xa9\"\n"
	    "G,\"ok\n\xfe\"\n"
	    "H,8\n"
	    "I,\"open\n");
	struct record *rec;

	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "3 fields where the header has 2");
	assert_int_equal(rec->line, 2);
	assert_span(rec->text, rec->textlen, "A,1,2");
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "1 fields where the header has 2");
	assert_int_equal(rec->line, 3);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 4);
	assert_val(rec, "sku", "C");

	/* a quote inside an unquoted cell, text after a closing quote */
	assert_int_equal(reader_next(r, &rec), -1);
	assert_int_equal(strncmp(reader_error(r), "bad CSV quoting: ", 17), 0);
	assert_int_equal(rec->line, 5);
	assert_span(rec->text, rec->textlen, "a\"b,4");
	assert_int_equal(reader_next(r, &rec), -1);
	assert_int_equal(strncmp(reader_error(r), "bad CSV quoting: ", 17), 0);
	assert_int_equal(rec->line, 6);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 7);
	assert_val(rec, "sku", "D");

	/* invalid UTF-8, on the fast path and inside a quoted record */
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "invalid UTF-8 (is the file in another encoding?)");
	assert_int_equal(rec->line, 8);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 9);
	assert_val(rec, "qty", "\xc3\xa9");
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "invalid UTF-8 (is the file in another encoding?)");
	assert_int_equal(rec->line, 10);
	assert_span(rec->text, rec->textlen, "G,\"ok\n\xfe\"");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 12);
	assert_val(rec, "sku", "H");

	/* unterminated quote at the end of the input */
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "unterminated quoted field");
	assert_int_equal(rec->line, 13);
	assert_span(rec->text, rec->textlen, "I,\"open");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
}

static void
csv_empty_rows_skipped(void **state)
{
	(void)state;
	struct reader *r = rd("sku,qty\n,\nA,1\n\"\",\"\"\n\n,,\nB,2\n");
	struct record *rec;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);
	assert_val(rec, "sku", "A");
	/* ",," is empty too: skipped before its cell count is looked at */
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 7);
	assert_val(rec, "sku", "B");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);

	/* one column: a quoted empty cell is a record (an empty line is not) */
	r = rd("note\n\n\"\"\nx\n");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);
	assert_val(rec, "note", "");
	assert_int_equal(reader_next(r, &rec), 1);
	assert_val(rec, "note", "x");
	assert_int_equal(reader_next(r, &rec), 0);
	reader_free(r);
}

static void
csv_delimiter_and_trim(void **state)
{
	(void)state;
	const char *in = "sku ; qty;note\n A,B ; 12 ;\"x;y\"\n";
	struct record *rec;
	struct reader *r = rd_n(in, strlen(in), FMT_AUTO, ';', RD_TRIM);
	size_t nh;
	int64_t v;
	struct buf why = BUF_INIT;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(reader_fmt(r), FMT_CSV);
	const struct field *h = reader_header(r, &nh);
	assert_int_equal(nh, 3);
	assert_span(h[0].name, h[0].nlen, "sku");
	assert_span(h[1].name, h[1].nlen, "qty");
	assert_int_equal(h[1].kid, K_QTY);
	assert_val(rec, "sku", "A,B");
	assert_val(rec, "note", "x;y");
	assert_int_equal(rec_int(rec, K_QTY, &v, &why), 0);
	assert_int_equal(v, 12);
	reader_free(r);

	/* without RD_TRIM the spaces are data: " qty" is not the qty field */
	r = rd_n(in, strlen(in), FMT_AUTO, ';', 0);
	assert_int_equal(reader_next(r, &rec), 1);
	h = reader_header(r, &nh);
	assert_span(h[0].name, h[0].nlen, "sku ");
	assert_span(h[1].name, h[1].nlen, " qty");
	assert_int_equal(h[1].kid, -1);
	assert_int_equal(rec->kidx[K_QTY], -1);
	assert_val(rec, " qty", " 12 ");
	reader_free(r);

	/* forced CSV even when the first byte is '{' */
	r = rd_n("{a}|b\n1|2\n", 10, FMT_CSV, '|', 0);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_val(rec, "{a}", "1");
	assert_val(rec, "b", "2");
	reader_free(r);

	/* RD_TRIM: a row of blanks is an empty row */
	r = rd_n("sku,qty\n  ,\t\nA,1\n", 17, FMT_AUTO, 0, RD_TRIM);
	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec->line, 3);
	reader_free(r);
	buf_release(&why);
}

/* Run reader_next on a CSV with a bad header in a child: it must die(65). */
static struct reader *child_reader;	/* global: reachable for LeakSanitizer */

static void
expect_header_death(const char *in, const char *msg)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct record *rec;
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		child_reader = rd(in);
		reader_next(child_reader, &rec);
		_exit(99);	/* not reached: the header is fatal */
	}
	close(pfd[1]);
	struct buf err = BUF_INIT;
	char tmp[512];
	ssize_t k;
	while ((k = read(pfd[0], tmp, sizeof tmp)) > 0)
		buf_add(&err, tmp, (size_t)k);
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), EX_DATAERR);
	if (!err.s || !strstr(err.s, msg)) {
		print_error("stderr %s lacks %s\n", err.s ? err.s : "(none)", msg);
		fail();
	}
	buf_release(&err);
}

static void
csv_bad_header_dies(void **state)
{
	(void)state;
	expect_header_death("sku,qty,sku\nA,1,B\n",
	    ":1: header: column \"sku\" appears twice (columns 1 and 3)");
	expect_header_death("\nsku,,qty\n", ":2: header: column 2 has no name");
	expect_header_death("sku,\"qty\n", ":1: header: unterminated quoted field");
	expect_header_death("s\"ku,qty\n", ":1: header: bad CSV quoting");
	expect_header_death("sku,q\xfft\n", ":1: header: invalid UTF-8");
}

/* ---- typed access ---- */

struct intcase {
	const char *val;	/* CSV cell / JSON value text */
	int rc;
	int64_t v;
	const char *why;
};

static void
check_int_cases(const char *prefix, const char *suffix, const struct intcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf in = BUF_INIT, why = BUF_INIT;
		struct record *rec;
		int64_t v = 0x5a5a;
		buf_addf(&in, "%s%s%s\n", prefix, c[i].val, suffix);
		struct reader *r = rd_n(in.s, in.len, FMT_AUTO, 0, 0);
		assert_int_equal(reader_next(r, &rec), 1);
		int rc = rec_int(rec, K_QTY, &v, &why);
		if (rc != c[i].rc || (rc == 0 && v != c[i].v) ||
		    (rc < 0 && strcmp(why.s, c[i].why) != 0)) {
			print_error("%s: rc %d v %lld why '%s'; want rc %d v %lld why '%s'\n", in.s,
			    rc, (long long)v, why.s ? why.s : "", c[i].rc, (long long)c[i].v,
			    c[i].why ? c[i].why : "");
			fail();
		}
		/* field_int on the same field agrees with rec_int */
		int64_t v2 = 0;
		struct buf why2 = BUF_INIT;
		assert_int_equal(field_int(&rec->f[rec->kidx[K_QTY]], &v2, &why2), rc);
		if (rc == 0)
			assert_int_equal(v2, v);
		reader_free(r);
		buf_release(&in);
		buf_release(&why);
		buf_release(&why2);
	}
}

static void
typed_int_csv(void **state)
{
	(void)state;
	static const struct intcase c[] = {
		{ "12", 0, 12, NULL },
		{ "0", 0, 0, NULL },
		{ "-0", 0, 0, NULL },
		{ "-7", 0, -7, NULL },
		{ "9223372036854775807", 0, INT64_MAX, NULL },
		{ "-9223372036854775808", 0, INT64_MIN, NULL },
		{ "", 1, 0, NULL },
		{ "12.0", -1, 0, "field 'qty': not an integer (has a fraction): \"12.0\"" },
		{ "1e3", -1, 0, "field 'qty': not an integer (has an exponent): \"1e3\"" },
		{ "1E3", -1, 0, "field 'qty': not an integer (has an exponent): \"1E3\"" },
		{ " 12", -1, 0, "field 'qty': not an integer (stray space): \" 12\"" },
		{ "12\t", -1, 0, "field 'qty': not an integer (stray space): \"12\\x09\"" },
		{ "twelve", -1, 0, "field 'qty': not an integer: \"twelve\"" },
		{ "+5", -1, 0, "field 'qty': not an integer (sign '+'): \"+5\"" },
		{ "-", -1, 0, "field 'qty': not an integer: \"-\"" },
		{ "--5", -1, 0, "field 'qty': not an integer: \"--5\"" },
		{ ".5", -1, 0, "field 'qty': not an integer: \".5\"" },
		{ "1 000", -1, 0, "field 'qty': not an integer: \"1 000\"" },
		{ "0x10", -1, 0, "field 'qty': not an integer: \"0x10\"" },
		{ "9223372036854775808", -1, 0,
		    "field 'qty': out of range for a 64-bit integer: \"9223372036854775808\"" },
		{ "-9223372036854775809", -1, 0,
		    "field 'qty': out of range for a 64-bit integer: \"-9223372036854775809\"" },
		{ "1180591620717411303424", -1, 0,
		    "field 'qty': out of range for a 64-bit integer: \"1180591620717411303424\"" },
		{ "99999999999999999999.5", -1, 0,
		    "field 'qty': not an integer (has a fraction): \"99999999999999999999.5\"" },
		{ "\"say \"\"5\"\"\"", -1, 0, "field 'qty': not an integer: \"say \\\"5\\\"\"" },
	};
	check_int_cases("sku,qty\nA,", "", c, sizeof c / sizeof *c);
}

static void
typed_int_ndjson(void **state)
{
	(void)state;
	static const struct intcase c[] = {
		{ "12", 0, 12, NULL },
		{ "-0", 0, 0, NULL },
		{ "9223372036854775807", 0, INT64_MAX, NULL },
		{ "-9223372036854775808", 0, INT64_MIN, NULL },
		{ "null", 1, 0, NULL },
		{ "\"12\"", -1, 0, "field 'qty': a string, not an integer: \"12\"" },
		{ "\"\"", -1, 0, "field 'qty': a string, not an integer: \"\"" },
		{ "12.0", -1, 0, "field 'qty': not an integer (has a fraction): 12.0" },
		{ "1e3", -1, 0, "field 'qty': not an integer (has an exponent): 1e3" },
		{ "-1.5E+3", -1, 0, "field 'qty': not an integer (has a fraction): -1.5E+3" },
		{ "9223372036854775808", -1, 0,
		    "field 'qty': out of range for a 64-bit integer: 9223372036854775808" },
		{ "1180591620717411303424", -1, 0,
		    "field 'qty': out of range for a 64-bit integer: 1180591620717411303424" },
		{ "true", -1, 0, "field 'qty': not an integer: true" },
		{ "[1]", -1, 0, "field 'qty': not an integer: [1]" },
		{ "{\"v\":1}", -1, 0, "field 'qty': not an integer: {\"v\":1}" },
		{ "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]", -1, 0,
		    "field 'qty': not an integer: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,"
		    "22,23...", },
	};
	check_int_cases("{\"sku\":\"A\",\"qty\":", "}", c, sizeof c / sizeof *c);
}

static void
typed_str(void **state)
{
	(void)state;
	struct reader *r = rd("{\"sku\":\"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\\t\",\"note\":\"plain\","
	    "\"bin\":\"x\\u0000y\",\"qty\":1,\"item\":null,\"state\":[\"a\"]}\n"
	    "sku\n");
	struct record *rec;
	struct buf scratch = BUF_INIT, why = BUF_INIT;
	const char *s;
	size_t n;

	assert_int_equal(reader_next(r, &rec), 1);
	assert_int_equal(rec_str(rec, K_SKU, &scratch, &s, &n, &why), 0);
	assert_span(s, n, "a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80\n\t");
	assert_true(s == scratch.s);
	/* no escapes: the value is handed out in place */
	assert_int_equal(rec_str(rec, K_NOTE, &scratch, &s, &n, &why), 0);
	assert_span(s, n, "plain");
	assert_true(s == rec->f[rec->kidx[K_NOTE]].val);
	/* U+0000 is refused: names and values are C-string safe downstream */
	assert_int_equal(rec_str(rec, K_BIN, &scratch, &s, &n, &why), -1);
	assert_string_equal(why.s, "field 'bin': contains a NUL character: \"x\\\\u0000y\"");
	assert_int_equal(rec_str(rec, K_QTY, &scratch, &s, &n, &why), -1);
	assert_string_equal(why.s, "field 'qty': not a string: 1");
	assert_int_equal(rec_str(rec, K_STATE, &scratch, &s, &n, &why), -1);
	assert_string_equal(why.s, "field 'state': not a string: [\"a\"]");
	assert_int_equal(rec_str(rec, K_ITEM, &scratch, &s, &n, &why), 1);
	assert_true(field_is_null(&rec->f[rec->kidx[K_ITEM]]));
	assert_int_equal(rec_str(rec, K_LOCATION, &scratch, &s, &n, &why), 1);
	/* the next line is a bad record of the NDJSON stream */
	assert_int_equal(reader_next(r, &rec), -1);
	assert_string_equal(reader_error(r), "invalid JSON at column 1: not a JSON object");
	reader_free(r);
	buf_release(&scratch);
	buf_release(&why);
}

/* ---- rejects ---- */

static void
rejects_file(void **state)
{
	(void)state;
	char *path = tmpwrite("", 0);
	struct rejects rj;
	struct reader *r = rd("{\"qty\":}\n{\"sku\":\"\\u00e9\"}\n");
	struct record *rec;

	assert_int_equal(rejects_open(&rj, path), 0);
	assert_int_equal(reader_next(r, &rec), -1);
	reject_record(&rj, "in.ndjson", rec, reader_error(r));
	assert_int_equal(rj.count, 1);
	rejects_close(&rj);
	reader_free(r);

	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[512];
	assert_non_null(fgets(line, sizeof line, f));
	assert_string_equal(line, "{\"file\":\"in.ndjson\",\"line\":1,"
	    "\"error\":\"invalid JSON at column 8: value expected\",\"text\":\"{\\\"qty\\\":}\"}\n");
	assert_null(fgets(line, sizeof line, f));
	fclose(f);
	unlink(path);
	free(path);

	/* no path: no file, nothing counted */
	assert_int_equal(rejects_open(&rj, NULL), 0);
	assert_null(rj.fp);
	rejects_close(&rj);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ndjson_basic),
		cmocka_unit_test(ndjson_blank_crlf_bom),
		cmocka_unit_test(bom_alone_in_first_read),
		cmocka_unit_test(ndjson_long_line),
		cmocka_unit_test(ndjson_errors_and_recovery),
		cmocka_unit_test(ndjson_names_with_escapes),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(csv_basic),
		cmocka_unit_test(csv_bom_crlf),
		cmocka_unit_test(csv_quoted),
		cmocka_unit_test(csv_mixed_fast_and_quoted),
		cmocka_unit_test(csv_errors_and_recovery),
		cmocka_unit_test(csv_empty_rows_skipped),
		cmocka_unit_test(csv_delimiter_and_trim),
		cmocka_unit_test(csv_bad_header_dies),
		cmocka_unit_test(typed_int_csv),
		cmocka_unit_test(typed_int_ndjson),
		cmocka_unit_test(typed_str),
		cmocka_unit_test(rejects_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
