/*
 * json.c - the strict single-object scanner behind NDJSON records.
 *
 * Each record line is validated completely (grammar, escapes, surrogate
 * pairs, UTF-8, depth) without allocation; the top level is recorded as
 * spans into the line.  A table classifies bytes so the common case - plain
 * ASCII inside strings - costs one lookup a byte.  Fuzzed against jansson
 * (tests/fuzz/fuzz_json.c).
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* 1: byte needs attention inside a string ('"', '\\', control, non-ASCII) */
static unsigned char strclass[256];
static int strclass_ready;

static void
init_tables(void)
{
	for (int c = 0; c < 256; c++)
		strclass[c] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x80);
	strclass_ready = 1;
}

struct scan {
	const char *p;
	size_t n, i;
	const char *why;
	int esc;
};

#define FAIL(s, msg) do { (s)->why = (msg); return -1; } while (0)

static void
skip_ws(struct scan *s)
{
	while (s->i < s->n) {
		char c = s->p[s->i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
		s->i++;
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(p[k]);
		if (h < 0)
			return -1;
		x = x << 4 | (unsigned)h;
	}
	*v = x;
	return 0;
}

/* Length of the UTF-8 sequence at p (max n bytes), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (p[1] & 0xc0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;	/* > U+10FFFF */
		return 4;
	}
	return 0;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		/* eight ASCII bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, p + i, sizeof w);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(p + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* At '"': scan a string; s->i ends after the closing quote. */
static int
scan_string(struct scan *s)
{
	const unsigned char *p = (const unsigned char *)s->p;
	size_t i = s->i + 1, n = s->n;

	s->esc = 0;
	for (;;) {
		/* eight plain bytes at a time: none is '"', '\\', < 0x20 or >= 0x80 */
		while (i + 8 <= n) {
			uint64_t w, q, b, c;
			memcpy(&w, p + i, sizeof w);
			q = w ^ UINT64_C(0x2222222222222222);
			b = w ^ UINT64_C(0x5c5c5c5c5c5c5c5c);
			c = ((q - UINT64_C(0x0101010101010101)) & ~q) |
			    ((b - UINT64_C(0x0101010101010101)) & ~b) |
			    (w - UINT64_C(0x2020202020202020)) | w;
			if (c & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		while (i < n && !strclass[p[i]])
			i++;
		if (i >= n) {
			s->i = i;
			FAIL(s, "unterminated string");
		}
		unsigned c = p[i];
		if (c == '"') {
			s->i = i + 1;
			return 0;
		}
		if (c < 0x20) {
			s->i = i;
			FAIL(s, "control character in string");
		}
		if (c >= 0x80) {
			size_t k = utf8_seq(p + i, n - i);
			if (!k) {
				s->i = i;
				FAIL(s, "invalid UTF-8 in string");
			}
			i += k;
			continue;
		}
		/* backslash */
		s->esc = 1;
		if (i + 1 >= n) {
			s->i = i;
			FAIL(s, "unterminated string");
		}
		switch (p[i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			i += 2;
			break;
		case 'u': {
			unsigned u, u2;
			if (i + 6 > n || hex4(s->p + i + 2, &u) < 0) {
				s->i = i;
				FAIL(s, "bad \\u escape");
			}
			i += 6;
			if (u >= 0xdc00 && u <= 0xdfff) {
				s->i = i - 6;
				FAIL(s, "lone low surrogate in \\u escape");
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				if (i + 6 > n || p[i] != '\\' || p[i + 1] != 'u' ||
				    hex4(s->p + i + 2, &u2) < 0 || u2 < 0xdc00 || u2 > 0xdfff) {
					s->i = i - 6;
					FAIL(s, "lone high surrogate in \\u escape");
				}
				i += 6;
			}
			break;
		}
		default:
			s->i = i;
			FAIL(s, "bad escape in string");
		}
	}
}

static int
scan_number(struct scan *s)
{
	const char *p = s->p;
	size_t i = s->i, n = s->n;

	if (i < n && p[i] == '-')
		i++;
	if (i >= n)
		FAIL(s, "bad number");
	if (p[i] == '0') {
		i++;
		if (i < n && p[i] >= '0' && p[i] <= '9') {
			s->i = i;
			FAIL(s, "bad number (leading zero)");
		}
	} else if (p[i] >= '1' && p[i] <= '9') {
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	} else {
		s->i = i;
		FAIL(s, "bad number");
	}
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || p[i] < '0' || p[i] > '9') {
			s->i = i;
			FAIL(s, "bad number (digit expected after '.')");
		}
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || p[i] < '0' || p[i] > '9') {
			s->i = i;
			FAIL(s, "bad number (digit expected in exponent)");
		}
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	s->i = i;
	return 0;
}

static int
scan_lit(struct scan *s, const char *lit, size_t len)
{
	if (s->n - s->i < len || memcmp(s->p + s->i, lit, len) != 0)
		FAIL(s, "invalid literal");
	s->i += len;
	return 0;
}

static int scan_value(struct scan *s, int depth, unsigned char *type);

static int
scan_container(struct scan *s, int depth, int obj)
{
	unsigned char t;
	char close = obj ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH)
		FAIL(s, "nested too deep");
	s->i++;
	skip_ws(s);
	if (s->i < s->n && s->p[s->i] == close) {
		s->i++;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (obj) {
			if (s->i >= s->n || s->p[s->i] != '"')
				FAIL(s, s->i >= s->n ? "unexpected end of line" : "member name expected");
			if (scan_string(s) < 0)
				return -1;
			skip_ws(s);
			if (s->i >= s->n || s->p[s->i] != ':')
				FAIL(s, "':' expected");
			s->i++;
			skip_ws(s);
		}
		if (scan_value(s, depth + 1, &t) < 0)
			return -1;
		skip_ws(s);
		if (s->i >= s->n)
			FAIL(s, "unexpected end of line");
		if (s->p[s->i] == ',') {
			s->i++;
			continue;
		}
		if (s->p[s->i] == close) {
			s->i++;
			return 0;
		}
		FAIL(s, obj ? "',' or '}' expected" : "',' or ']' expected");
	}
}

static int
scan_value(struct scan *s, int depth, unsigned char *type)
{
	if (s->i >= s->n)
		FAIL(s, "value expected");
	switch (s->p[s->i]) {
	case '"':
		*type = J_STRING;
		return scan_string(s);
	case '{':
		*type = J_OBJECT;
		return scan_container(s, depth, 1);
	case '[':
		*type = J_ARRAY;
		return scan_container(s, depth, 0);
	case 't':
		*type = J_TRUE;
		return scan_lit(s, "true", 4);
	case 'f':
		*type = J_FALSE;
		return scan_lit(s, "false", 5);
	case 'n':
		*type = J_NULL;
		return scan_lit(s, "null", 4);
	default:
		*type = J_NUMBER;
		if (s->p[s->i] == '-' || (s->p[s->i] >= '0' && s->p[s->i] <= '9'))
			return scan_number(s);
		FAIL(s, "value expected");
	}
}

void
fieldvec_grow(struct fieldvec *fv)
{
	fv->cap = fv->cap ? fv->cap * 2 : 16;
	fv->v = xrealloc(fv->v, fv->cap * sizeof *fv->v);
}

void
fieldvec_release(struct fieldvec *fv)
{
	free(fv->v);
	fv->v = NULL;
	fv->n = fv->cap = 0;
}

int
json_scan_object(const char *p, size_t n, struct fieldvec *fv, struct buf *names,
    const char **why, size_t *at)
{
	struct scan s = { p, n, 0, NULL, 0 };
	struct field f;
	int anyesc = 0;

	if (!strclass_ready)
		init_tables();
	fv->n = 0;
	buf_reset(names);
	skip_ws(&s);
	if (s.i >= n || p[s.i] != '{') {
		s.why = s.i >= n ? "empty record" : "not a JSON object";
		goto fail;
	}
	s.i++;
	skip_ws(&s);
	if (s.i < n && p[s.i] == '}') {
		s.i++;
		goto end;
	}
	for (;;) {
		memset(&f, 0, sizeof f);
		skip_ws(&s);
		if (s.i >= n || p[s.i] != '"') {
			s.why = s.i >= n ? "unexpected end of line" : "member name expected";
			goto fail;
		}
		size_t ns = s.i;
		if (scan_string(&s) < 0)
			goto fail;
		f.raw = p + ns + 1;
		f.rawlen = s.i - ns - 2;
		f.nfromjson = 1;
		f.kid = -1;
		if (s.esc) {
			/* decoded name stored as an offset for now; fixed up below */
			size_t off = names->len;
			if (json_unescape(f.raw, f.rawlen, names) < 0) {
				s.i = ns;
				s.why = "NUL in member name";
				goto fail;
			}
			f.name = NULL;
			f.nameoff = off;
			f.nlen = names->len - off;
			anyesc = 1;
		} else {
			f.name = f.raw;
			f.nlen = f.rawlen;
		}
		skip_ws(&s);
		if (s.i >= n || p[s.i] != ':') {
			s.why = "':' expected";
			goto fail;
		}
		s.i++;
		skip_ws(&s);
		size_t vs = s.i;
		if (scan_value(&s, 1, &f.type) < 0)
			goto fail;
		if (f.type == J_STRING) {
			f.val = p + vs + 1;
			f.vlen = s.i - vs - 2;
			f.vesc = (unsigned char)s.esc;
		} else {
			f.val = p + vs;
			f.vlen = s.i - vs;
		}
		fieldvec_push(fv, &f);
		skip_ws(&s);
		if (s.i >= n) {
			s.why = "unexpected end of line";
			goto fail;
		}
		if (p[s.i] == ',') {
			s.i++;
			continue;
		}
		if (p[s.i] == '}') {
			s.i++;
			break;
		}
		s.why = "',' or '}' expected";
		goto fail;
	}
end:
	skip_ws(&s);
	if (s.i < n) {
		s.why = "text after the object";
		goto fail;
	}
	if (anyesc)
		for (size_t k = 0; k < fv->n; k++)
			if (!fv->v[k].name)
				fv->v[k].name = names->s + fv->v[k].nameoff;
	return 0;
fail:
	*why = s.why;
	*at = s.i;
	return -1;
}

static size_t
put_utf8(char *o, unsigned u)
{
	if (u < 0x80) {
		o[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		o[0] = (char)(0xc0 | u >> 6);
		o[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		o[0] = (char)(0xe0 | u >> 12);
		o[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		o[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | u >> 18);
	o[1] = (char)(0x80 | ((u >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((u >> 6) & 0x3f));
	o[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

int
json_unescape(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;
	int nul = 0;

	buf_grow(out, n);
	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
		buf_add(out, s + i, run);
		i += run;
		if (i >= n)
			break;
		char c = s[i + 1], o[4];
		unsigned u, u2;
		i += 2;
		switch (c) {
		case 'b': buf_addc(out, '\b'); break;
		case 'f': buf_addc(out, '\f'); break;
		case 'n': buf_addc(out, '\n'); break;
		case 'r': buf_addc(out, '\r'); break;
		case 't': buf_addc(out, '\t'); break;
		case 'u':
			if (i + 4 > n || hex4(s + i, &u) < 0)
				return -1;
			i += 4;
			if (u >= 0xd800 && u <= 0xdbff && i + 6 <= n && s[i] == '\\' &&
			    s[i + 1] == 'u' && hex4(s + i + 2, &u2) == 0) {
				u = 0x10000 + ((u - 0xd800) << 10) + (u2 - 0xdc00);
				i += 6;
			}
			if (u == 0)
				nul = 1;
			buf_add(out, o, put_utf8(o, u));
			break;
		default:
			buf_addc(out, c);
		}
	}
	return nul ? -1 : 0;
}

void
json_quote(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	if (!strclass_ready)
		init_tables();
	buf_grow(out, n + 2);
	buf_addc(out, '"');
	while (i < n) {
		size_t j = i;
		/* non-ASCII passes through (validated elsewhere) */
		while (j < n && !strclass[(unsigned char)s[j]])
			j++;
		buf_add(out, s + i, j - i);
		if (j >= n)
			break;
		unsigned char c = (unsigned char)s[j];
		if (c >= 0x80) {
			/* valid UTF-8 passes; a stray byte becomes \u00XX */
			size_t k = utf8_seq((const unsigned char *)s + j, n - j);
			if (k) {
				buf_add(out, s + j, k);
				i = j + k;
				continue;
			}
		}
		switch (c) {
		case '"': buf_add(out, "\\\"", 2); break;
		case '\\': buf_add(out, "\\\\", 2); break;
		case '\n': buf_add(out, "\\n", 2); break;
		case '\r': buf_add(out, "\\r", 2); break;
		case '\t': buf_add(out, "\\t", 2); break;
		default: {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(out, e, 6);
		}
		}
		i = j + 1;
	}
	buf_addc(out, '"');
}
