/*
 * util.c - messages, allocation, buffers and number parsing shared by all
 * tools.  Messages follow DESIGN.md: "tool: place: problem", lower case, on
 * stderr, never a newline inside.
 */
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

const char *progname = "invkit";

void
setprogname_(const char *argv0)
{
	const char *p = strrchr(argv0, '/');
	progname = p ? p + 1 : argv0;
}

static void
vmsg(const char *fmt, va_list ap, int errnum)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
}

void
warn_(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, e);
	va_end(ap);
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	exit(code);
}

void
die_errno(int code, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, e);
	va_end(ap);
	exit(code);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die(EX_OSERR, "out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		die(EX_OSERR, "out of memory (%zu x %zu bytes)", n, m);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die(EX_OSERR, "out of memory (%zu bytes)", n);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void
buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2)
			die(EX_OSERR, "out of memory");
		cap *= 2;
	}
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_addc(struct buf *b, char c)
{
	buf_grow(b, 1);
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void
buf_release(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

const char *
parse_i64(const char *s, size_t n, int64_t *v)
{
	size_t i = 0, j;
	int neg = 0;
	uint64_t acc = 0, lim;

	if (n == 0)
		return "empty";
	if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return "not an integer (stray space)";
	if (s[0] == '+')
		return "not an integer (sign '+')";
	if (s[0] == '-')
		neg = i = 1;
	if (i == n)
		return "not an integer";
	/* Classify first, so "1.5" says fraction even when it is huge. */
	for (j = i; j < n; j++)
		if ((unsigned)((unsigned char)s[j] - '0') > 9)
			break;
	if (j < n) {
		if (j > i && s[j] == '.')
			return "not an integer (has a fraction)";
		if (j > i && (s[j] == 'e' || s[j] == 'E'))
			return "not an integer (has an exponent)";
		return "not an integer";
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (acc > (lim - d) / 10)
			return "out of range for a 64-bit integer";
		acc = acc * 10 + d;
	}
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return NULL;
}

const char *
quoted(struct buf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t max = 60, i;

	buf_reset(sb);
	buf_addc(sb, '"');
	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_addc(sb, '\\');
			buf_addc(sb, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			buf_add(sb, e, 4);
		} else {
			buf_addc(sb, (char)c);
		}
	}
	buf_addc(sb, '"');
	if (i < n)
		buf_adds(sb, "...");
	return sb->s;
}

void
xfwrite(const void *p, size_t n, FILE *f)
{
	if (n && fwrite(p, 1, n, f) != n) {
		if (errno == EPIPE)
			exit(EX_IOERR);
		die_errno(EX_IOERR, "write error");
	}
}

void
close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			exit(EX_IOERR);
		die_errno(EX_IOERR, "write error on standard output");
	}
}

int
isatty_(int fd)
{
	return isatty(fd);
}

double
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
spool_to_stdout(FILE *spool)
{
	char b[1 << 16];
	size_t n;
	if (fflush(spool) != 0)
		die_errno(EX_IOERR, "temporary file: write error");
	rewind(spool);
	while ((n = fread(b, 1, sizeof b, spool)) > 0)
		xfwrite(b, n, stdout);
	if (ferror(spool))
		die_errno(EX_IOERR, "temporary file: read error");
	fclose(spool);
	close_stdout();
}

void
sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
buf_add_base64(struct buf *out, const void *data, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		buf_addc(out, a[v >> 18 & 63]);
		buf_addc(out, a[v >> 12 & 63]);
		buf_addc(out, i + 1 < n ? a[v >> 6 & 63] : '=');
		buf_addc(out, i + 2 < n ? a[v & 63] : '=');
	}
}

void
buf_add_pctenc(struct buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			buf_addc(out, (char)ch);
		else
			buf_addf(out, "%%%02X", ch);
	}
}

void
buf_scrub(struct buf *b, const char *const *hide, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *h = hide[i];
		size_t hl = h ? strlen(h) : 0;
		char *p;
		if (hl < 4 || !b->s)
			continue;
		while ((p = strstr(b->s, h)) != NULL) {
			struct buf t = BUF_INIT;
			buf_add(&t, b->s, (size_t)(p - b->s));
			buf_adds(&t, "[REDACTED]");
			buf_adds(&t, p + hl);
			buf_release(b);
			*b = t;
		}
	}
}

void
free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}
