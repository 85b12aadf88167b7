/*
 * fuzz_invcount.c - libFuzzer target for the count-sheet importer of
 * invcount import: the lenient CSV parser, delimiter detection, the iconv
 * layer, header mapping, row validation and the per-bin bookkeeping.
 *
 * The importer's core never exits, so it is compiled in directly.  The
 * first input byte picks the options (encoding, delimiter, --sum,
 * --no-header with --columns, a default location, a barcode table); the
 * rest is the sheet.  Besides the sanitizers' checks it asserts what the
 * importer promises: every row read is used or rejected, and every reason
 * given is one line.
 */
#include "../../cmd/invcount/import.c"
#include "../../cmd/invcount/shared.c"

static uint64_t nreject;

static void
fz_reject(void *ctx, const char *file, uint64_t line, const char *text, size_t len, const char *why)
{
	(void)ctx;
	(void)text;
	(void)len;
	if (!file || !line || !why || !*why || strchr(why, '\n'))
		abort();
	nreject++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	static const char *const encs[] = { NULL, "GBK", "UTF-16LE", "GB18030" };
	static const int delims[] = { 0, ',', ';', '\t' };
	struct imp_opts o = { 0 };
	struct imp im;

	if (size < 1)
		return 0;
	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	unsigned char ctl = data[0];
	data++;
	size--;
	o.sum = ctl & 1;
	o.encoding = encs[(ctl >> 1) & 3];
	o.delim = delims[(ctl >> 3) & 3];
	if (ctl & 0x20) {
		o.noheader = 1;
		o.colnum[R_SKU] = 1;
		o.colnum[R_QTY] = 2;
		o.colnum[R_BIN] = 3;
		o.colnum[R_BARCODE] = 4;
	}
	if (ctl & 0x40)
		o.location = "WH-1";
	imp_init(&im, &o);
	im.reject = fz_reject;
	if (ctl & 0x80) {
		imp_add_barcode(&im, "4006381333931", 13, "PEN-BLU", 7, 1, 1);
		imp_add_barcode(&im, "12345", 5, "BOX-12", 6, 12, 2);
	}
	nreject = 0;
	if (imp_buffer(&im, "fuzz.csv", (const char *)data, size) == 0) {
		struct writer *w = writer_new(null, FMT_NDJSON, 0);
		imp_finish(&im, w);
		writer_close(w);
		if (im.rows != im.used + im.rejected)
			abort();
	}
	imp_release(&im);
	return 0;
}
