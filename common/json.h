/*
 * json.h - a strict, allocation-free scanner for one JSON object per line,
 * and the few string helpers the record layer needs.  It validates the whole
 * text (RFC 8259: grammar, escapes, surrogates, UTF-8) and reports the spans
 * of the top-level members, so unknown fields can be copied byte-exact and
 * nothing builds a tree on the hot path.  jansson stays for API bodies.
 */
#ifndef INVKIT_JSON_H
#define INVKIT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum jtype {
	J_NONE = 0,
	J_STRING,	/* val/vlen: the bytes between the quotes, still escaped */
	J_NUMBER,
	J_TRUE,
	J_FALSE,
	J_NULL,
	J_OBJECT,
	J_ARRAY,
	J_TEXT		/* a CSV cell: plain text, no escapes */
};

/*
 * One top-level member.  name/nlen is the name as used for lookup (decoded
 * when the raw name had escapes); raw/rawlen is the name as written in the
 * input, for byte-exact output.  For CSV, raw == name.
 */
struct field {
	const char *name, *raw, *val;
	size_t nlen, rawlen, vlen;
	size_t nameoff;		/* scanner-internal: offset of a decoded name */
	unsigned char type;
	unsigned char vesc;	/* J_STRING value contains backslash escapes */
	unsigned char nfromjson;/* raw name is JSON-escaped text */
	signed char kid;	/* known-field id (rec.h), -1 if unknown */
};

struct fieldvec {
	struct field *v;
	size_t n, cap;
};

/* Maximum nesting depth accepted inside a record. */
#define JSON_MAX_DEPTH 64

/*
 * Scan p[0..n) as exactly one JSON object with optional surrounding white
 * space; append its top-level members to fv (which is reset first).  Names
 * with escapes are decoded into names (reset first; fields point into it
 * only after the call returns).  Returns 0, or -1 with *why set to a static
 * message and *at to the byte offset of the problem.
 */
int json_scan_object(const char *p, size_t n, struct fieldvec *fv, struct buf *names,
    const char **why, size_t *at);

/*
 * Decode the escaped string content s[0..n) (already validated) into out
 * (appended).  Returns 0, or -1 if it decodes to text containing NUL.
 */
int json_unescape(const char *s, size_t n, struct buf *out);

/* Append s[0..n) as a JSON string literal with quotes. */
void json_quote(struct buf *out, const char *s, size_t n);

/* True when s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int utf8_valid(const char *s, size_t n);

void fieldvec_grow(struct fieldvec *fv);
static inline void
fieldvec_push(struct fieldvec *fv, const struct field *f)
{
	if (fv->n == fv->cap)
		fieldvec_grow(fv);
	fv->v[fv->n++] = *f;
}
void fieldvec_release(struct fieldvec *fv);

#endif
