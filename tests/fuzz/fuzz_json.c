/*
 * fuzz_json.c - differential fuzzing of the strict record scanner
 * (json_scan_object) against jansson, plus properties of json_unescape,
 * json_quote and utf8_valid.  Any disagreement aborts.
 *
 * The two parsers agree on the grammar of RFC 8259; the differences that
 * are by design are excluded, each for a stated reason:
 *  - nesting: we refuse depth > JSON_MAX_DEPTH (jansson's limit is 2048),
 *    so inputs we refuse as "nested too deep" prove nothing;
 *  - numbers: jansson refuses numbers whose double overflows (1e400); we
 *    do not convert numbers at all.  JSON_DECODE_INT_AS_REAL makes big
 *    integers reals so that only true overflow is excluded;
 *  - NUL in member names: jansson never supports it; we refuse it in the
 *    record's own member names and pass nested ones through;
 *  - duplicate names: both accept them (the record reader refuses them
 *    later, in index_fields), so JSON_REJECT_DUPLICATES is not used;
 *  - a raw NUL byte: never valid JSON, so we must refuse it; jansson 2.14
 *    takes a NUL right after a number as the end of the text and accepts
 *    {"a":1<NUL>}, so such inputs are not compared with it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_json: check failed: %s (line %d)\n", \
	#c, __LINE__); abort(); } } while (0)

/* A second, independent UTF-8 validator (Unicode 15, table 3-7). */
static int
ref_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		uint32_t cp;
		size_t k;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < k)
			return 0;
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k;
	}
	return 1;
}

static int
jtype_matches(int t, const json_t *v)
{
	switch (t) {
	case J_STRING: return json_is_string(v);
	case J_NUMBER: return json_is_number(v);
	case J_TRUE: return json_is_true(v);
	case J_FALSE: return json_is_false(v);
	case J_NULL: return json_is_null(v);
	case J_OBJECT: return json_is_object(v);
	case J_ARRAY: return json_is_array(v);
	default: return 0;
	}
}

/* Quote s[0..n), wrap it as {"k":...}, scan: must be accepted. */
static void
quote_rescan(const char *s, size_t n, struct fieldvec *fv, struct buf *names)
{
	struct buf obj = BUF_INIT, dec = BUF_INIT;
	const char *why;
	size_t at;

	buf_adds(&obj, "{\"k\":");
	json_quote(&obj, s, n);
	buf_addc(&obj, '}');
	CHECK(json_scan_object(obj.s, obj.len, fv, names, &why, &at) == 0);
	CHECK(fv->n == 1 && fv->v[0].type == J_STRING);
	int rc = json_unescape(fv->v[0].val, fv->v[0].vlen, &dec);
	CHECK(rc == (memchr(s, 0, n) ? -1 : 0));
	if (utf8_valid(s, n)) {
		/* valid text survives exactly */
		CHECK(dec.len == n && memcmp(dec.s, s, n) == 0);
	} else {
		/* stray bytes became U+0080..U+00FF: the result is valid UTF-8 */
		CHECK(utf8_valid(dec.s, dec.len));
	}
	buf_release(&obj);
	buf_release(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct fieldvec fv = { 0 }, fv2 = { 0 };
	struct buf names = BUF_INIT, names2 = BUF_INIT, dec = BUF_INIT;
	const char *why = NULL;
	size_t at = (size_t)-1;

	/* utf8_valid against the reference */
	CHECK(utf8_valid(p, size) == ref_utf8_valid(data, size));

	int ours = json_scan_object(p, size, &fv, &names, &why, &at) == 0;
	if (!ours)
		CHECK(why != NULL && at <= size);

	json_error_t err;
	json_t *j = json_loadb(p, size, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
	int skip = ours ? 0 : strcmp(why, "nested too deep") == 0;
	if (memchr(p, 0, size)) {
		CHECK(!ours);
		skip = 1;
	}
	if (!j) {
		enum json_error_code code = json_error_code(&err);
		if (code == json_error_numeric_overflow || code == json_error_null_byte_in_key ||
		    code == json_error_stack_overflow || code == json_error_out_of_memory)
			skip = 1;
	}
	int theirs = j && json_is_object(j);
	if (!skip && ours != theirs) {
		fprintf(stderr, "fuzz_json: disagreement: ours %s (%s at %zu), jansson %s (%s)\n",
		    ours ? "accepts" : "refuses", ours ? "-" : why, at,
		    theirs ? "accepts" : "refuses",
		    theirs ? "-" : j ? "not an object" : err.text);
		abort();
	}

	if (ours && theirs) {
		/* the same members: names, types and decoded string values */
		size_t distinct = 0;
		for (size_t i = 0; i < fv.n; i++) {
			const struct field *f = &fv.v[i];
			int last = 1;
			for (size_t k = i + 1; k < fv.n && last; k++)
				last = !(fv.v[k].nlen == f->nlen && !memcmp(fv.v[k].name, f->name, f->nlen));
			CHECK(memchr(f->name, 0, f->nlen) == NULL);
			if (!last)
				continue;
			distinct++;
			json_t *v = json_object_getn(j, f->name, f->nlen);
			CHECK(v != NULL);
			CHECK(jtype_matches(f->type, v));
			if (f->type == J_STRING) {
				buf_reset(&dec);
				int rc = json_unescape(f->val, f->vlen, &dec);
				CHECK(dec.len == json_string_length(v));
				CHECK(memcmp(dec.s, json_string_value(v), dec.len) == 0);
				CHECK(rc == (memchr(dec.s, 0, dec.len) ? -1 : 0));
				CHECK(f->vesc == (memchr(f->val, '\\', f->vlen) != NULL));
			}
		}
		CHECK(distinct == json_object_size(j));
	}
	json_decref(j);

	if (ours) {
		/* every string member survives unescape -> quote -> rescan -> unescape */
		for (size_t i = 0; i < fv.n; i++) {
			const struct field *f = &fv.v[i];
			if (f->type != J_STRING)
				continue;
			buf_reset(&dec);
			if (json_unescape(f->val, f->vlen, &dec) < 0)
				continue;	/* holds U+0000: not a text value */
			CHECK(utf8_valid(dec.s, dec.len));
			quote_rescan(dec.s, dec.len, &fv2, &names2);
		}
		/* a member value span is itself valid JSON: wrap and rescan */
		for (size_t i = 0; i < fv.n && i < 8; i++) {
			const struct field *f = &fv.v[i];
			struct buf obj = BUF_INIT;
			buf_adds(&obj, "{\"k\":");
			if (f->type == J_STRING)
				buf_addc(&obj, '"');
			buf_add(&obj, f->val, f->vlen);
			if (f->type == J_STRING)
				buf_addc(&obj, '"');
			buf_addc(&obj, '}');
			const char *w2;
			size_t a2;
			CHECK(json_scan_object(obj.s, obj.len, &fv2, &names2, &w2, &a2) == 0);
			CHECK(fv2.n == 1 && fv2.v[0].type == f->type && fv2.v[0].vlen == f->vlen);
			buf_release(&obj);
		}
	}

	/* quoting arbitrary bytes always gives a string the scanner accepts */
	quote_rescan(p, size, &fv2, &names2);

	fieldvec_release(&fv);
	fieldvec_release(&fv2);
	buf_release(&names);
	buf_release(&names2);
	buf_release(&dec);
	return 0;
}
