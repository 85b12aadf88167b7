/*
 * test_json.c - the strict NDJSON object scanner (json_scan_object), the
 * string helpers (json_unescape, json_quote) and utf8_valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "util.h"

/* ---- helpers ---- */

struct scanres {
	int rc;
	const char *why;
	size_t at;
	struct fieldvec fv;
	struct buf names;
};

static int
scann(struct scanres *r, const char *p, size_t n)
{
	memset(r, 0, sizeof *r);
	r->why = NULL;
	r->at = (size_t)-1;
	r->rc = json_scan_object(p, n, &r->fv, &r->names, &r->why, &r->at);
	return r->rc;
}

static void
scanres_free(struct scanres *r)
{
	fieldvec_release(&r->fv);
	buf_release(&r->names);
}

/* Scan s; the verdict must be `want` (0 accept, -1 refuse). */
static void
expect_scan_n(const char *s, size_t n, int want, const char *file, int line)
{
	struct scanres r;
	int rc = scann(&r, s, n);
	if (rc != want) {
		struct buf q = BUF_INIT;
		print_error("%s:%d: json_scan_object(%s) = %d (why: %s), expected %d\n", file, line,
		    quoted(&q, s, n), rc, rc ? r.why : "-", want);
		buf_release(&q);
		scanres_free(&r);
		fail();
	}
	if (rc < 0) {
		/* a refusal always explains itself and points inside the input */
		assert_non_null(r.why);
		assert_true(r.at <= n);
	}
	scanres_free(&r);
}
#define ACCEPT(s) expect_scan_n((s), strlen(s), 0, __FILE__, __LINE__)
#define REFUSE(s) expect_scan_n((s), strlen(s), -1, __FILE__, __LINE__)
#define ACCEPTN(s) expect_scan_n((s), sizeof(s) - 1, 0, __FILE__, __LINE__)
#define REFUSEN(s) expect_scan_n((s), sizeof(s) - 1, -1, __FILE__, __LINE__)

/* Refuse s with exactly this message at exactly this offset. */
static void
expect_error(const char *s, const char *why, size_t at)
{
	struct scanres r;
	assert_int_equal(scann(&r, s, strlen(s)), -1);
	assert_string_equal(r.why, why);
	assert_int_equal(r.at, at);
	scanres_free(&r);
}

static void
assert_span(const char *p, size_t n, const char *want)
{
	if (n != strlen(want) || memcmp(p, want, n) != 0) {
		print_error("span %.*s != %s\n", (int)n, p, want);
		fail();
	}
}

/* ---- accepted ---- */

static void
accepts_every_value_type(void **state)
{
	(void)state;
	struct scanres r;
	const char *s = "{\"s\":\"x\",\"n\":-12.5e+3,\"t\":true,\"f\":false,\"z\":null,"
	    "\"o\":{\"a\":[1,{}]},\"a\":[ 1 , \"2\" ,null ],\"e\":\"\"}";

	assert_int_equal(scann(&r, s, strlen(s)), 0);
	assert_int_equal(r.fv.n, 8);
	static const struct { const char *name, *val; int type; } want[] = {
		{ "s", "x", J_STRING }, { "n", "-12.5e+3", J_NUMBER }, { "t", "true", J_TRUE },
		{ "f", "false", J_FALSE }, { "z", "null", J_NULL },
		{ "o", "{\"a\":[1,{}]}", J_OBJECT }, { "a", "[ 1 , \"2\" ,null ]", J_ARRAY },
		{ "e", "", J_STRING },
	};
	for (size_t i = 0; i < 8; i++) {
		const struct field *f = &r.fv.v[i];
		assert_span(f->name, f->nlen, want[i].name);
		assert_span(f->raw, f->rawlen, want[i].name);
		assert_span(f->val, f->vlen, want[i].val);
		assert_int_equal(f->type, want[i].type);
		assert_int_equal(f->vesc, 0);
		assert_int_equal(f->nfromjson, 1);
		assert_int_equal(f->kid, -1);
	}
	scanres_free(&r);

	ACCEPT("{}");
	ACCEPT(" \t\r\n{ \t\r\n} \t\r\n");
	ACCEPT("{\"a\":0}");
	ACCEPT("{\"a\":-0}");
	ACCEPT("{\"a\":0.0}");
	ACCEPT("{\"a\":-0.5}");
	ACCEPT("{\"a\":1E5}");
	ACCEPT("{\"a\":1e-5}");
	ACCEPT("{\"a\":10e+05}");
	ACCEPT("{\"a\":123456789012345678901234567890}");
	ACCEPT("{\"a\":[]}");
	ACCEPT("{\"a\":[[],{},[{}]]}");
	ACCEPT("{\"a\" : 1 , \"b\" : [ true , false , null ] }");
	ACCEPT("{\"\":1}");
	ACCEPT("{\"a\":1,\"a\":2}");	/* duplicates are the reader's business */
	ACCEPT("{\"a\":\"\x7f\"}");	/* DEL is not a control character in JSON */
}

static void
accepts_escapes(void **state)
{
	(void)state;
	struct scanres r;
	const char *s = "{\"v\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u00E9 \\ud83d\\ude00\","
	    "\"q\\u0074y\":1,\"w\":\"plain\"}";
	struct buf out = BUF_INIT;

	assert_int_equal(scann(&r, s, strlen(s)), 0);
	assert_int_equal(r.fv.n, 3);
	const struct field *v = &r.fv.v[0];
	assert_int_equal(v->type, J_STRING);
	assert_int_equal(v->vesc, 1);
	assert_int_equal(json_unescape(v->val, v->vlen, &out), 0);
	static const char dec[] = "\" \\ / \b \f \n \r \t \xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80";
	assert_int_equal(out.len, sizeof dec - 1);
	assert_memory_equal(out.s, dec, sizeof dec - 1);

	/* an escaped name is decoded for lookup and kept raw for output */
	const struct field *q = &r.fv.v[1];
	assert_span(q->name, q->nlen, "qty");
	assert_span(q->raw, q->rawlen, "q\\u0074y");
	assert_int_equal(r.fv.v[2].vesc, 0);
	assert_span(r.fv.v[2].name, r.fv.v[2].nlen, "w");
	scanres_free(&r);
	buf_release(&out);

	/* several escaped names: each decoded name points at its own text */
	s = "{\"\\u0061\":1,\"b\":2,\"\\u0063\\u0063\":3,\"\\/\":4}";
	assert_int_equal(scann(&r, s, strlen(s)), 0);
	assert_int_equal(r.fv.n, 4);
	assert_span(r.fv.v[0].name, r.fv.v[0].nlen, "a");
	assert_span(r.fv.v[1].name, r.fv.v[1].nlen, "b");
	assert_span(r.fv.v[2].name, r.fv.v[2].nlen, "cc");
	assert_span(r.fv.v[3].name, r.fv.v[3].nlen, "/");
	scanres_free(&r);

	/* raw multi-byte UTF-8 */
	ACCEPT("{\"a\":\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}");
	ACCEPT("{\"\xe6\x95\xb0\xe9\x87\x8f\":1}");
	/* the max/min surrogate pair and \u0000 in a value */
	ACCEPT("{\"a\":\"\\udbff\\udfff\\ud800\\udc00\"}");
	ACCEPT("{\"a\":\"\\u0000\"}");
}

static void
accepts_nesting_to_the_limit(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	/* the record object is level 1; JSON_MAX_DEPTH - 1 arrays inside it */
	buf_adds(&b, "{\"a\":");
	for (int i = 0; i < JSON_MAX_DEPTH - 1; i++)
		buf_addc(&b, '[');
	for (int i = 0; i < JSON_MAX_DEPTH - 1; i++)
		buf_addc(&b, ']');
	buf_addc(&b, '}');
	ACCEPT(b.s);

	/* same depth with objects */
	buf_reset(&b);
	buf_adds(&b, "{\"a\":");
	for (int i = 0; i < JSON_MAX_DEPTH - 1; i++)
		buf_adds(&b, "{\"b\":");
	buf_adds(&b, "1");
	for (int i = 0; i < JSON_MAX_DEPTH - 1; i++)
		buf_addc(&b, '}');
	buf_addc(&b, '}');
	ACCEPT(b.s);
	buf_release(&b);
}

/* ---- refused ---- */

static void
refuses_grammar(void **state)
{
	(void)state;
	/* trailing commas */
	REFUSE("{\"a\":1,}");
	REFUSE("{\"a\":[1,]}");
	REFUSE("{,}");
	REFUSE("{\"a\":[,1]}");
	/* missing commas / colons */
	REFUSE("{\"a\":1 \"b\":2}");
	REFUSE("{\"a\":[1 2]}");
	REFUSE("{\"a\" 1}");
	REFUSE("{\"a\"}");
	REFUSE("{\"a\":}");
	REFUSE("{\"a\"::1}");
	REFUSE("{\"a\":{\"b\" 1}}");
	REFUSE("{\"a\":{\"b\":1 \"c\":2}}");
	/* single quotes, bare names */
	REFUSE("{'a':1}");
	REFUSE("{\"a\":'x'}");
	REFUSE("{a:1}");
	/* mismatched / unclosed */
	REFUSE("{");
	REFUSE("{\"a\":1");
	REFUSE("{\"a\":[1,2}");
	REFUSE("{\"a\":{\"b\":1]}");
	REFUSE("{\"a\":[");
	REFUSE("{\"a\":\"x");
	REFUSE("{\"a");
	REFUSE("{\"a\":\"x\\");
	REFUSE("}");
	/* non-object members */
	REFUSE("{1:2}");
	REFUSE("{null:2}");
}

static void
refuses_numbers_and_words(void **state)
{
	(void)state;
	REFUSE("{\"a\":01}");
	REFUSE("{\"a\":-01}");
	REFUSE("{\"a\":00}");
	REFUSE("{\"a\":1.}");
	REFUSE("{\"a\":1.e5}");
	REFUSE("{\"a\":.5}");
	REFUSE("{\"a\":-}");
	REFUSE("{\"a\":-.5}");
	REFUSE("{\"a\":+1}");
	REFUSE("{\"a\":1e}");
	REFUSE("{\"a\":1e+}");
	REFUSE("{\"a\":1E-}");
	REFUSE("{\"a\":0x10}");
	REFUSE("{\"a\":1_000}");
	REFUSE("{\"a\":--1}");
	REFUSE("{\"a\":1-}");
	REFUSE("{\"a\":tru}");
	REFUSE("{\"a\":truex}");
	REFUSE("{\"a\":True}");
	REFUSE("{\"a\":nul}");
	REFUSE("{\"a\":NULL}");
	REFUSE("{\"a\":fals}");
	REFUSE("{\"a\":twelve}");
	REFUSE("{\"a\":NaN}");
	REFUSE("{\"a\":Infinity}");
	REFUSE("{\"a\":-Infinity}");
	REFUSE("{\"a\":undefined}");
	/* a number cut by the end of input is still a fault of the object */
	REFUSE("{\"a\":1");
	REFUSE("{\"a\":-");
}

static void
refuses_bad_strings(void **state)
{
	(void)state;
	/* raw control characters */
	REFUSE("{\"a\":\"x\ty\"}");
	REFUSE("{\"a\":\"x\ny\"}");
	REFUSE("{\"a\":\"x\ry\"}");
	REFUSE("{\"a\":\"\x01\"}");
	REFUSE("{\"a\":\"\x1f\"}");
	REFUSEN("{\"a\":\"x\0y\"}");
	REFUSEN("{\"\0\":1}");
	REFUSE("{\"a\ttab\":1}");
	/* bad escapes */
	REFUSE("{\"a\":\"\\x41\"}");
	REFUSE("{\"a\":\"\\'\"}");
	REFUSE("{\"a\":\"\\U00e9\"}");
	REFUSE("{\"a\":\"\\u12\"}");
	REFUSE("{\"a\":\"\\u12g4\"}");
	REFUSE("{\"a\":\"\\u\"}");
	REFUSE("{\"a\":\"\\0\"}");
	REFUSE("{\"a\":\"\\ \"}");
	/* lone surrogates */
	REFUSE("{\"a\":\"\\ud800\"}");
	REFUSE("{\"a\":\"\\udbff\"}");
	REFUSE("{\"a\":\"\\udc00\"}");
	REFUSE("{\"a\":\"\\udfff\"}");
	REFUSE("{\"a\":\"\\ud800x\"}");
	REFUSE("{\"a\":\"\\ud800\\u0041\"}");
	REFUSE("{\"a\":\"\\ud800\\ud800\"}");
	REFUSE("{\"a\":\"\\udc00\\ud800\"}");
	REFUSE("{\"a\":\"\\ud800\\n\"}");
	REFUSE("{\"a\":\"\\ud800\\udc0\"}");
	REFUSE("{\"\\ud800\":1}");
	REFUSE("{\"a\":[\"\\udc00\"]}");
	/* a NUL in a member name cannot be looked up */
	REFUSE("{\"a\\u0000b\":1}");
}

static void
refuses_invalid_utf8(void **state)
{
	(void)state;
	/* overlong */
	REFUSE("{\"a\":\"\xc0\x80\"}");
	REFUSE("{\"a\":\"\xc1\xbf\"}");
	REFUSE("{\"a\":\"\xe0\x80\x80\"}");
	REFUSE("{\"a\":\"\xe0\x9f\xbf\"}");
	REFUSE("{\"a\":\"\xf0\x80\x80\x80\"}");
	REFUSE("{\"a\":\"\xf0\x8f\xbf\xbf\"}");
	/* UTF-16 surrogates encoded in UTF-8 */
	REFUSE("{\"a\":\"\xed\xa0\x80\"}");
	REFUSE("{\"a\":\"\xed\xbf\xbf\"}");
	REFUSE("{\"a\":\"\xed\xa0\xbd\xed\xb8\x80\"}");
	/* beyond U+10FFFF, and bytes that never occur */
	REFUSE("{\"a\":\"\xf4\x90\x80\x80\"}");
	REFUSE("{\"a\":\"\xf5\x80\x80\x80\"}");
	REFUSE("{\"a\":\"\xf8\x88\x80\x80\x80\"}");
	REFUSE("{\"a\":\"\xfe\"}");
	REFUSE("{\"a\":\"\xff\"}");
	/* stray continuation bytes, truncated sequences */
	REFUSE("{\"a\":\"\x80\"}");
	REFUSE("{\"a\":\"\xbf\"}");
	REFUSE("{\"a\":\"\xc3\"}");
	REFUSE("{\"a\":\"\xc3x\"}");
	REFUSE("{\"a\":\"\xe2\x82\"}");
	REFUSE("{\"a\":\"\xf0\x9f\x98\"}");
	REFUSE("{\"a\":\"\xf0\x9f\x98");
	REFUSE("{\"a\":\"\xc3");
	/* in names, nested values, outside strings */
	REFUSE("{\"\xff\":1}");
	REFUSE("{\"a\":[\"\xc3\x28\"]}");
	REFUSE("{\"a\":{\"\xed\xa0\x80\":1}}");
	REFUSE("{\"a\":1}\xc3\xa9");
	REFUSE("\xef\xbb\xbf{}");	/* the scanner sees no BOM: the reader strips it */
}

static void
refuses_wrong_top_level(void **state)
{
	(void)state;
	REFUSE("");
	REFUSE("   ");
	REFUSE("\n\t\r ");
	REFUSE("[]");
	REFUSE("[{\"a\":1}]");
	REFUSE("1");
	REFUSE("-1");
	REFUSE("\"x\"");
	REFUSE("null");
	REFUSE("true");
	REFUSE("x");
	/* text after the object */
	REFUSE("{}{}");
	REFUSE("{\"a\":1}x");
	REFUSE("{\"a\":1} 2");
	REFUSE("{\"a\":1},");
	REFUSE("{\"a\":1}\n{\"b\":2}");
	REFUSEN("{\"a\":1}\0");
	REFUSE("{\"a\":1}\f");	/* form feed is not JSON white space */
	REFUSE("\v{}");
}

static void
refuses_too_deep(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	struct scanres r;

	buf_adds(&b, "{\"a\":");
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		buf_addc(&b, '[');
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		buf_addc(&b, ']');
	buf_addc(&b, '}');
	assert_int_equal(scann(&r, b.s, b.len), -1);
	assert_string_equal(r.why, "nested too deep");
	/* the offending bracket is the first one past the limit */
	assert_int_equal(r.at, 5 + JSON_MAX_DEPTH - 1);
	scanres_free(&r);

	/* very deep input is refused without recursing through it */
	buf_reset(&b);
	buf_adds(&b, "{\"a\":");
	for (int i = 0; i < 1000000; i++)
		buf_add(&b, "{\"a\":[", 6);
	assert_int_equal(scann(&r, b.s, b.len), -1);
	assert_string_equal(r.why, "nested too deep");
	scanres_free(&r);
	buf_release(&b);
}

static void
reports_offsets(void **state)
{
	(void)state;
	/*            0123456789 */
	expect_error("{\"a\":1,}", "member name expected", 7);
	expect_error("{\"a\":1 \"b\":2}", "',' or '}' expected", 7);
	expect_error("{\"a\" 1}", "':' expected", 5);
	expect_error("{'a':1}", "member name expected", 1);
	expect_error("{\"a\":01}", "bad number (leading zero)", 6);
	expect_error("{\"a\":1.}", "bad number (digit expected after '.')", 7);
	expect_error("{\"a\":1e}", "bad number (digit expected in exponent)", 7);
	expect_error("{\"a\":-}", "bad number", 6);
	expect_error("{\"a\":.5}", "value expected", 5);
	expect_error("{\"a\":+1}", "value expected", 5);
	expect_error("{\"a\":NaN}", "value expected", 5);
	expect_error("{\"a\":nul}", "invalid literal", 5);
	expect_error("{\"a\":\"x\ty\"}", "control character in string", 7);
	expect_error("{\"a\":\"x\\qy\"}", "bad escape in string", 7);
	expect_error("{\"a\":\"\\u12\"}", "bad \\u escape", 6);
	expect_error("{\"a\":\"ab\\ud800\"}", "lone high surrogate in \\u escape", 8);
	expect_error("{\"a\":\"ab\\udc00\"}", "lone low surrogate in \\u escape", 8);
	expect_error("{\"a\":\"\xc3\xa9\xff\"}", "invalid UTF-8 in string", 8);
	expect_error("{\"a\":\"xyz", "unterminated string", 9);
	expect_error("{\"a\":1", "unexpected end of line", 6);
	expect_error("{\"a\":[1,2}", "',' or ']' expected", 9);
	expect_error("{\"a\":1} x", "text after the object", 8);
	expect_error("  [1]", "not a JSON object", 2);
	expect_error("  ", "empty record", 2);
	expect_error("", "empty record", 0);
	expect_error("{\"\\u0000\":1}", "NUL in member name", 1);
}

static void
resets_outputs(void **state)
{
	(void)state;
	struct fieldvec fv = { 0 };
	struct buf names = BUF_INIT;
	const char *why;
	size_t at;
	const char *a = "{\"\\u0078\":1,\"b\":2,\"c\":3}", *b = "{\"\\u0079\":4}";

	assert_int_equal(json_scan_object(a, strlen(a), &fv, &names, &why, &at), 0);
	assert_int_equal(fv.n, 3);
	assert_int_equal(json_scan_object(b, strlen(b), &fv, &names, &why, &at), 0);
	assert_int_equal(fv.n, 1);
	assert_span(fv.v[0].name, fv.v[0].nlen, "y");
	assert_int_equal(names.len, 1);
	/* a failed scan leaves no stale fields behind for the next one */
	assert_int_equal(json_scan_object("{\"a\":1,x", 8, &fv, &names, &why, &at), -1);
	assert_int_equal(json_scan_object("{}", 2, &fv, &names, &why, &at), 0);
	assert_int_equal(fv.n, 0);
	/* many members: the field vector grows */
	struct buf big = BUF_INIT;
	buf_addc(&big, '{');
	for (int i = 0; i < 1000; i++)
		buf_addf(&big, "%s\"k%d\":%d", i ? "," : "", i, i);
	buf_addc(&big, '}');
	assert_int_equal(json_scan_object(big.s, big.len, &fv, &names, &why, &at), 0);
	assert_int_equal(fv.n, 1000);
	assert_span(fv.v[999].name, fv.v[999].nlen, "k999");
	assert_span(fv.v[999].val, fv.v[999].vlen, "999");
	buf_release(&big);
	fieldvec_release(&fv);
	buf_release(&names);
}

/* ---- json_unescape / json_quote ---- */

static void
unescape_decodes(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;

	buf_adds(&out, "pre:");	/* appends */
	assert_int_equal(json_unescape("a\\nb\\t\\\"\\\\\\/", 12, &out), 0);
	assert_string_equal(out.s, "pre:a\nb\t\"\\/");
	buf_reset(&out);
	assert_int_equal(json_unescape("\\u00e9\\u4e2d\\ud83d\\ude00\\u007f\\u0001", 36, &out), 0);
	assert_string_equal(out.s, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\x7f\x01");
	buf_reset(&out);
	assert_int_equal(json_unescape("\\b\\f\\r", 6, &out), 0);
	assert_string_equal(out.s, "\b\f\r");
	buf_reset(&out);
	assert_int_equal(json_unescape("", 0, &out), 0);
	assert_int_equal(out.len, 0);
	/* U+0000 decodes but is reported */
	buf_reset(&out);
	assert_int_equal(json_unescape("a\\u0000b", 8, &out), -1);
	buf_release(&out);
}

static void
quote_escapes(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;

	json_quote(&out, "plain", 5);
	assert_string_equal(out.s, "\"plain\"");
	buf_reset(&out);
	json_quote(&out, "", 0);
	assert_string_equal(out.s, "\"\"");
	buf_reset(&out);
	json_quote(&out, "a\"b\\c/d", 7);
	assert_string_equal(out.s, "\"a\\\"b\\\\c/d\"");
	buf_reset(&out);
	json_quote(&out, "\n\r\t\b\f\x01\x1f\x7f", 8);
	assert_string_equal(out.s, "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\"");
	buf_reset(&out);
	json_quote(&out, "x\0y", 3);
	assert_string_equal(out.s, "\"x\\u0000y\"");
	/* valid UTF-8 passes through, each stray byte becomes \u00XX */
	buf_reset(&out);
	json_quote(&out, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 9);
	assert_string_equal(out.s, "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"");
	buf_reset(&out);
	json_quote(&out, "a\xff" "b\xc3(\xe2\x82", 7);
	assert_string_equal(out.s, "\"a\\u00ffb\\u00c3(\\u00e2\\u0082\"");
	buf_reset(&out);
	json_quote(&out, "\xed\xa0\x80\xc0\x80", 5);
	assert_string_equal(out.s, "\"\\u00ed\\u00a0\\u0080\\u00c0\\u0080\"");
	/* appends */
	buf_reset(&out);
	buf_adds(&out, "x=");
	json_quote(&out, "1", 1);
	assert_string_equal(out.s, "x=\"1\"");
	buf_release(&out);
}

/* Quote s, embed it in an object, scan, unescape: must give s back. */
static void
roundtrip(const char *s, size_t n, int want_same)
{
	struct buf obj = BUF_INIT, dec = BUF_INIT;
	struct scanres r;

	/* {"k":<s>,<s>:1} - s as a value and as a member name */
	buf_adds(&obj, "{\"k\":");
	json_quote(&obj, s, n);
	buf_addc(&obj, ',');
	json_quote(&obj, s, n);
	buf_adds(&obj, ":1}");
	int nul = memchr(s, 0, n) != NULL;
	int rc = scann(&r, obj.s, obj.len);
	if (nul) {
		/* a NUL can be a value but not a member name */
		assert_int_equal(rc, -1);
		assert_string_equal(r.why, "NUL in member name");
		scanres_free(&r);
		buf_release(&obj);
		return;
	}
	if (rc != 0) {
		print_error("rescan of %s failed: %s at %zu\n", obj.s, r.why, r.at);
		fail();
	}
	assert_int_equal(r.fv.n, 2);
	const struct field *f = &r.fv.v[0];
	assert_int_equal(f->type, J_STRING);
	assert_int_equal(json_unescape(f->val, f->vlen, &dec), 0);
	if (want_same) {
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.s, s, n);
		assert_int_equal(r.fv.v[1].nlen, n);
		assert_memory_equal(r.fv.v[1].name, s, n);
	}
	assert_true(utf8_valid(dec.s, dec.len));
	scanres_free(&r);
	buf_release(&obj);
	buf_release(&dec);
}

static void
quote_unescape_roundtrip(void **state)
{
	(void)state;
	static const char *same[] = {
		"", "a", "qty", "with space", "a\"b", "back\\slash", "sl/ash", "\n", "\r\n",
		"\t\b\f", "\x01\x02\x1e\x1f\x7f", "\xc3\xa9t\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87",
		"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf", "\xed\x9f\xbf",
		"\\u0041", "\\\\\\\"", "\"\"\"",
	};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++)
		roundtrip(same[i], strlen(same[i]), 1);
	roundtrip("a\0b", 3, 1);
	/* every byte value once: invalid bytes come back as U+00XX, valid JSON either way */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)(i == 0 ? 'x' : i);
	roundtrip(all, 256, 0);
	roundtrip("\xff\xfe", 2, 0);
	roundtrip("\xc3", 1, 0);
	/* the \u00XX mapping is exact: byte 0xff comes back as U+00FF */
	struct buf obj = BUF_INIT, dec = BUF_INIT;
	buf_adds(&obj, "{\"k\":");
	json_quote(&obj, "\xff", 1);
	buf_addc(&obj, '}');
	struct scanres r;
	assert_int_equal(scann(&r, obj.s, obj.len), 0);
	assert_int_equal(json_unescape(r.fv.v[0].val, r.fv.v[0].vlen, &dec), 0);
	assert_string_equal(dec.s, "\xc3\xbf");
	scanres_free(&r);
	buf_release(&obj);
	buf_release(&dec);
}

/* ---- utf8_valid ---- */

#define VALID(s) assert_true(utf8_valid((s), sizeof(s) - 1))
#define INVALID(s) assert_false(utf8_valid((s), sizeof(s) - 1))

static void
utf8_validity(void **state)
{
	(void)state;
	VALID("");
	VALID("plain ascii");
	VALID("nul\0inside");
	VALID("\x7f");
	VALID("\xc2\x80");		/* U+0080 */
	VALID("\xdf\xbf");		/* U+07FF */
	VALID("\xe0\xa0\x80");		/* U+0800 */
	VALID("\xed\x9f\xbf");		/* U+D7FF */
	VALID("\xee\x80\x80");		/* U+E000 */
	VALID("\xef\xbf\xbf");		/* U+FFFF */
	VALID("\xf0\x90\x80\x80");	/* U+10000 */
	VALID("\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	VALID("\xef\xbb\xbf");		/* BOM */
	VALID("a\xc3\xa9z\xe4\xb8\xad\xf0\x9f\x98\x80");

	INVALID("\x80");
	INVALID("\xbf");
	INVALID("\xc0\x80");
	INVALID("\xc1\xbf");
	INVALID("\xc2");
	INVALID("\xc2\x41");
	INVALID("\xc2\xc0");
	INVALID("\xe0\x80\x80");
	INVALID("\xe0\x9f\xbf");
	INVALID("\xe1\x80");
	INVALID("\xe1\x80\x41");
	INVALID("\xed\xa0\x80");	/* U+D800 */
	INVALID("\xed\xbf\xbf");	/* U+DFFF */
	INVALID("\xf0\x80\x80\x80");
	INVALID("\xf0\x8f\xbf\xbf");
	INVALID("\xf0\x90\x80");
	INVALID("\xf4\x90\x80\x80");	/* U+110000 */
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xf7\xbf\xbf\xbf");
	INVALID("\xf8\x88\x80\x80\x80");
	INVALID("\xfc\x84\x80\x80\x80\x80");
	INVALID("\xfe");
	INVALID("\xff");
	INVALID("ok\xc3");
	INVALID("\xc3\xa9\x80");
	/* the length bounds the check: a sequence cut by n is invalid */
	assert_false(utf8_valid("\xc3\xa9", 1));
	assert_true(utf8_valid("\xc3\xa9\xff", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_every_value_type),
		cmocka_unit_test(accepts_escapes),
		cmocka_unit_test(accepts_nesting_to_the_limit),
		cmocka_unit_test(refuses_grammar),
		cmocka_unit_test(refuses_numbers_and_words),
		cmocka_unit_test(refuses_bad_strings),
		cmocka_unit_test(refuses_invalid_utf8),
		cmocka_unit_test(refuses_wrong_top_level),
		cmocka_unit_test(refuses_too_deep),
		cmocka_unit_test(reports_offsets),
		cmocka_unit_test(resets_outputs),
		cmocka_unit_test(unescape_decodes),
		cmocka_unit_test(quote_escapes),
		cmocka_unit_test(quote_unescape_roundtrip),
		cmocka_unit_test(utf8_validity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
