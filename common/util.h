/*
 * util.h - small helpers every invkit tool shares: messages in the
 * "tool: file:line: problem" form, checked allocation, growable byte
 * buffers and checked number parsing.  Nothing here is specific to a tool.
 */
#ifndef INVKIT_UTIL_H
#define INVKIT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#define INVKIT_VERSION "0.1.0"

/* Exit codes beyond sysexits.h that DESIGN.md gives a meaning. */
#define EXIT_SOME_FAILED 1

extern const char *progname;

void setprogname_(const char *argv0);
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void die_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growable byte buffer; s is always NUL-terminated after any append. */
struct buf {
	char *s;
	size_t len, cap;
};
#define BUF_INIT { NULL, 0, 0 }
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_release(struct buf *b);

/*
 * Parse a whole decimal integer in s[0..n) into *v.  Returns NULL on
 * success or a static explanation ("not an integer", "out of range", ...).
 * No spaces, no '+', no fraction, no exponent: strictness is the point.
 */
const char *parse_i64(const char *s, size_t n, int64_t *v);

/* Quote s[0..n) for a message: "..." with control bytes escaped, cut at 60. */
const char *quoted(struct buf *scratch, const char *s, size_t n);

/* Write all of p to f, or die with EX_IOERR (quietly on EPIPE). */
void xfwrite(const void *p, size_t n, FILE *f);
/* Flush and check stdout at exit; dies with EX_IOERR on error. */
void close_stdout(void);

/* Seconds on the monotonic clock, for durations. */
double mono_now(void);
/* Sleep s seconds (fractions too; nothing when s <= 0), through EINTR. */
void sleep_s(double s);
/* Append base64 (RFC 4648, padded) of p[0..n) to out. */
void buf_add_base64(struct buf *out, const void *p, size_t n);
/* Append s percent-encoded (all but RFC 3986 unreserved characters). */
void buf_add_pctenc(struct buf *out, const char *s);
/*
 * Replace every occurrence in b of each of the n strings of hide (NULL
 * or shorter than 4 bytes: skipped) with "[REDACTED]": credentials that a
 * server's message may echo never reach ours.
 */
void buf_scrub(struct buf *b, const char *const *hide, size_t n);
/* Zero a secret string, then free it (NULL: nothing). */
void free_secret(char *s);
/* Copy a spooled temporary file to stdout, close it and check stdout. */
void spool_to_stdout(FILE *spool);

/* True when fd is a terminal and progress/colour may be shown. */
int isatty_(int fd);

#endif
