/*
 * rec.h - the record stream every invkit tool reads: NDJSON or CSV,
 * auto-detected from the first byte, streamed with bounded memory.
 *
 * Ownership: a struct record returned by reader_next() is borrowed from the
 * reader and valid until the next call; copy what must outlive it.  Field
 * names and values point into the reader's buffers.
 */
#ifndef INVKIT_REC_H
#define INVKIT_REC_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "util.h"

enum fmt { FMT_AUTO = 0, FMT_NDJSON, FMT_CSV, FMT_TABLE };

/* Well-known fields (DESIGN.md), looked up by id instead of by name. */
enum kid {
	K_SKU, K_CHANNEL, K_LOCATION, K_ITEM, K_QTY, K_TS, K_FROM, K_TO, K_DELTA,
	K_REASON, K_STATUS, K_STATE, K_BARCODE, K_UNITS, K_COUNTER, K_BIN, K_NOTE,
	K_ERROR, K_AT, K_RUN, K_FROM_TS,
	K_COUNT
};
extern const char *const known_names[K_COUNT];
/* Known-field id of a name, or -1. */
int known_id(const char *name, size_t len);

struct record {
	struct field *f;	/* nf fields, in input order */
	size_t nf;
	int kidx[K_COUNT];	/* index into f of each known field, or -1 */
	const char *text;	/* the record as it was read (without line end) */
	size_t textlen;
	uint64_t line;		/* line number the record starts on (1-based) */
	int fmt;		/* FMT_NDJSON or FMT_CSV */
};

/* Reader options. */
#define RD_TRIM 1		/* CSV: trim spaces and tabs around cells and names */
#define RD_CONFIG 2		/* a table of settings: a bad header exits 78, not 65 */

struct reader;

/*
 * Open path ("-" = stdin) for reading records in format fmt (FMT_AUTO
 * detects).  delim: CSV delimiter (0 = ',').  Returns NULL and sets errno
 * if the file cannot be opened.
 */
struct reader *reader_open(const char *path, int fmt, int delim, int flags);
/* The name used in messages ("<stdin>" for "-"). */
const char *reader_name(const struct reader *r);
/* Format actually read (FMT_NDJSON/FMT_CSV; FMT_AUTO before the first record). */
int reader_fmt(const struct reader *r);
/* CSV header (after the first reader_next), NULL for NDJSON. */
const struct field *reader_header(const struct reader *r, size_t *n);

/*
 * Next record.  Returns 1 with *rec set, 0 at end of input, -1 for a bad
 * record (reader_error() says why; the bad record's text and line are in
 * *rec so it can be rejected; the next call goes on after it), -2 for an
 * I/O error (errno set) after which the stream cannot go on.
 */
int reader_next(struct reader *r, struct record **rec);
const char *reader_error(const struct reader *r);
/*
 * Deep copy of src into dst, owning its memory in mem and fv (reused from
 * call to call: no allocation once they are big enough).  dst stays valid
 * after the reader moves on, but not after reader_free(): the names of CSV
 * fields still point into the reader's header.
 */
void rec_clone(struct record *dst, const struct record *src, struct buf *mem,
    struct fieldvec *fv);
/* Bytes consumed so far (for progress). */
uint64_t reader_offset(const struct reader *r);
void reader_free(struct reader *r);

/*
 * Typed access.  Each returns 0 on success; 1 when the field is absent or
 * null; -1 when it has the wrong type or shape, with the reason written to
 * why as "field 'qty': not an integer: \"twelve\"".  An empty CSV cell is
 * null to the integer getters; the string getters give it as "" (a CSV
 * cannot tell an empty string from a missing one: callers that care check
 * the length).
 */
int rec_int(const struct record *rec, int kid, int64_t *v, struct buf *why);
/* String value of a field; decoded into scratch when it had escapes. */
int rec_str(const struct record *rec, int kid, struct buf *scratch,
    const char **s, size_t *n, struct buf *why);
/* Same for any field by position. */
int field_int(const struct field *f, int64_t *v, struct buf *why);
int field_str(const struct field *f, struct buf *scratch, const char **s, size_t *n,
    struct buf *why);
/* True when the field is JSON null or an empty CSV cell. */
int field_is_null(const struct field *f);

/*
 * Bad-record handling shared by every tool: strict (the first bad record is
 * fatal, exit 65) or --reject FILE (each bad record is written to FILE as an
 * NDJSON line {"file","line","error","text"} and counted).
 */
struct rejects {
	FILE *fp;
	const char *path;
	uint64_t count;
};
int rejects_open(struct rejects *rj, const char *path);
/*
 * Report a bad record: with no reject file, print "prog: FILE:LINE: why"
 * and exit 65; otherwise write it to the reject file and return.
 */
void reject_record(struct rejects *rj, const char *file, const struct record *rec,
    const char *why);
void rejects_close(struct rejects *rj);
/*
 * The next good record, for loops that need no more than the shared
 * rules: a read error is fatal (74), a bad record goes to reject_record()
 * (fatal without a reject file).  1 with *rec set, 0 at the end.
 */
int reader_next_good(struct reader *r, struct record **rec, struct rejects *rj);

#endif
