/*
 * invcount.h - what the three subcommands of invcount (import, plan,
 * report) share: the entry points main.c dispatches to, and the helpers in
 * shared.c for times, ABC classes, tolerances, money and unit values.
 *
 * import.c holds the spreadsheet importer; it depends only on common/ and
 * shared.c, so that the fuzz target can compile the two files directly.
 */
#ifndef INVCOUNT_H
#define INVCOUNT_H

#include <stdint.h>
#include <time.h>

#include "keytab.h"
#include "rec.h"
#include "util.h"

int import_main(int argc, char **argv);
int plan_main(int argc, char **argv);
int report_main(int argc, char **argv);

/* ---- times ---- */

/*
 * Parse a count time as spreadsheets write it: YYYY-MM-DD, optionally
 * followed by 'T' or spaces and HH:MM[:SS[.frac]], optionally followed by
 * Z or an offset (+08:00, +0800); '/' may stand for '-' in the date.  A
 * time without a zone is local time (TZ).  Returns NULL and sets *t, or a
 * static reason.
 */
const char *ic_parse_time(const char *s, size_t n, time_t *t);
/* Write t as RFC 3339 UTC ("2026-03-02T09:14:00Z") into out[21]. */
void ic_fmt_time(time_t t, char out[32]);
/* Days since 1970-01-01 of t's local date. */
long ic_local_day(time_t t);
/* Days since 1970-01-01 of a civil date. */
long ic_days_from_civil(long y, unsigned m, unsigned d);
/* Civil date of day number z, as "YYYY-MM-DD" into out. */
void ic_fmt_day(long z, char out[32]);
/* Parse --date YYYY-MM-DD; -1 if bad. */
int ic_parse_day(const char *s, long *day);

/* ---- classes, cycles, tolerances ---- */

enum { CL_A, CL_B, CL_C, CL_NONE, CL_N };
extern const char *const ic_class_names[CL_N];	/* "A" "B" "C" "-" */
/* Class of a class field's value: A, B or C in either case, else CL_NONE. */
int ic_class_of(const char *s, size_t n);

/*
 * Tolerance: a count is a hit when |counted - book| is at most the
 * larger of floor units and pct (in hundredths of a per cent) of |book|.
 */
struct ic_tol {
	int64_t floor;
	int64_t pct[CL_N];	/* 100 = 1% */
};
void ic_tol_default(struct ic_tol *t);
/* Parse "2", "2%", "A=1%,B=3%,C=5%,2" into t; returns NULL or a reason. */
const char *ic_tol_parse(struct ic_tol *t, const char *spec);
int ic_tol_hit(const struct ic_tol *t, int cls, int64_t book, int64_t delta);

/* "30,90,365" or "A=30,C=180" into cyc[3]; NULL or a reason. */
const char *ic_cycles_parse(long cyc[3], const char *spec);
/* "80,15,5" into pct[3] (must add up to 100); NULL or a reason. */
const char *ic_abc_parse(long pct[3], const char *spec);

/* ---- numbers ---- */

/* Money and unit values are fixed point: 1 unit = 10000. */
#define IC_MONEY_ONE 10000
/* Parse a decimal such as 12, 12.5 or -0.0125 (at most 4 decimals). */
const char *ic_parse_money(const char *s, size_t n, int64_t *v);
/* Append v (fixed point, may exceed 64 bits) with 2 or 4 decimals. */
void ic_fmt_money(struct buf *b, __int128 v);
/* A checked non-negative integer option value (strtonum style). */
long ic_num_opt(const char *opt, const char *s, long min, long max);

/*
 * Unit values: records with sku and value (a decimal number or a numeric
 * string), keyed by sku into t (value: struct ic_value).  Bad records go
 * through rj.  Exits 66 when the file cannot be opened.
 */
struct ic_value {
	int64_t v;
	uint64_t line;
};
void ic_load_values(const char *path, struct keytab *t, struct rejects *rj);
/* The decimal value of a field (number or string), NULL or a reason. */
const char *ic_field_money(const struct field *f, int64_t *v);

/* Find a field of rec by name (known fields by id). */
const struct field *ic_getf(const struct record *rec, const char *name);
/*
 * A string field by name into s and n ("" when absent or null; a number's
 * text for fields other than sku and location).  0, or -1 with why set.
 */
int ic_str_field(const struct record *rec, const char *name, struct buf *scratch,
    const char **s, size_t *n, struct buf *why);
/* The key sku NUL location of rec into key (sku must not be empty). */
int ic_rec_key(const struct record *rec, struct buf *key, struct buf *scratch, struct buf *why);
/*
 * One invdiff --all record of a count: to (counted), from (book, or none:
 * *hasfrom 0 and *from 0), checked against delta.  1 use it, 0 skip it
 * (status removed: in the book, not counted), -1 bad (why set).
 */
int ic_diff_rec(const struct record *rec, int64_t *from, int *hasfrom, int64_t *to,
    struct buf *scratch, struct buf *why);

#endif
