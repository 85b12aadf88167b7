/*
 * wr.h - record writers: NDJSON (streamed), CSV (header = every field seen,
 * in order of first appearance, so rows are spooled to a temporary file
 * until the end) and table (aligned columns for people, colour on a
 * terminal unless NO_COLOR).
 *
 * Ownership: the writer borrows fp; writer_close() flushes but does not
 * close it, and frees the writer.
 */
#ifndef INVKIT_WR_H
#define INVKIT_WR_H

#include <stdint.h>
#include <stdio.h>

#include "rec.h"

#define WR_UNBUFFERED 1
#define WR_COLOR 2

struct writer;

struct writer *writer_new(FILE *fp, int fmt, int flags);
void wr_begin(struct writer *w);
/* Copy a field from an input record unchanged (byte-exact in NDJSON). */
void wr_field(struct writer *w, const struct field *f);
/* Same, under another name. */
void wr_field_as(struct writer *w, const char *name, const struct field *f);
void wr_str(struct writer *w, const char *name, const char *s, size_t n);
void wr_int(struct writer *w, const char *name, int64_t v);
void wr_null(struct writer *w, const char *name);
void wr_end(struct writer *w);
/* Records written so far. */
uint64_t writer_count(const struct writer *w);
/* Finish (CSV header and rows, table), flush; dies on I/O error. */
void writer_close(struct writer *w);

/* "ndjson"|"json"|"csv"|"table" -> FMT_*, or -1. */
int parse_format(const char *s);
/* Colour on when fd is a terminal and NO_COLOR is unset or empty. */
int want_color(int fd);

#endif
