/*
 * shared.c - helpers the invcount subcommands share: count times as
 * spreadsheets write them, day arithmetic for the schedule, ABC classes
 * with their cycles and tolerances, fixed-point money, and the unit-value
 * file that plan and report both read.
 */
#include "invcount.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

const char *const ic_class_names[CL_N] = { "A", "B", "C", "-" };

/* ---- days and times ---- */

/* Howard Hinnant's days_from_civil: proleptic Gregorian, any year. */
long
ic_days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

void
ic_fmt_day(long z, char out[32])
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = (long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, 32, "%04ld-%02u-%02u", y + (m <= 2), m, d);
}

static int
mdays(long y, unsigned m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : n[m - 1];
}

/* Read 1..max digits at *i into *v; returns the count read. */
static int
digits(const char *s, size_t n, size_t *i, int max, long *v)
{
	int k = 0;
	*v = 0;
	while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
		*v = *v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	return k;
}

const char *
ic_parse_time(const char *s, size_t n, time_t *t)
{
	size_t i = 0;
	long y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	int zone = 0;

	if (digits(s, n, &i, 4, &y) != 4)
		return "not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)";
	if (i >= n || (s[i] != '-' && s[i] != '/'))
		return "not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)";
	char sep = s[i++];
	if (!digits(s, n, &i, 2, &mo) || i >= n || s[i++] != sep || !digits(s, n, &i, 2, &d))
		return "not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)";
	if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, (unsigned)mo))
		return "no such date";
	if (i < n && (s[i] == 'T' || s[i] == ' ')) {
		i++;
		while (i < n && s[i] == ' ')
			i++;
		if (!digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' ||
		    digits(s, n, &i, 2, &mi) != 2)
			return "not a time of day (use HH:MM or HH:MM:SS)";
		if (i < n && s[i] == ':') {
			i++;
			if (digits(s, n, &i, 2, &sec) != 2)
				return "not a time of day (use HH:MM or HH:MM:SS)";
			if (i < n && (s[i] == '.' || s[i] == ',')) {
				long frac;
				i++;
				if (!digits(s, n, &i, 9, &frac))
					return "not a time of day (use HH:MM or HH:MM:SS)";
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return "no such time of day";
		while (i < n && s[i] == ' ')
			i++;
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			zone = 1;
			i++;
		} else if (i < n && (s[i] == '+' || s[i] == '-')) {
			int neg = s[i++] == '-';
			long oh, om = 0;
			if (digits(s, n, &i, 2, &oh) != 2)
				return "bad time zone offset (use Z or +08:00)";
			if (i < n && s[i] == ':')
				i++;
			if (i < n && digits(s, n, &i, 2, &om) != 2)
				return "bad time zone offset (use Z or +08:00)";
			if (oh > 23 || om > 59)
				return "bad time zone offset (use Z or +08:00)";
			off = (oh * 60 + om) * 60 * (neg ? -1 : 1);
			zone = 1;
		}
	}
	if (i != n)
		return "not a date and time (use YYYY-MM-DD HH:MM)";
	if (zone) {
		*t = (time_t)(ic_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		    h * 3600 + mi * 60 + sec - off);
		return NULL;
	}
	/*
	 * Local time: mktime() once per local hour (it is slow, and a sheet
	 * has thousands of rows from the same few hours); within an hour the
	 * offset from UTC does not change.
	 */
	static long chour = LONG_MIN;
	static time_t cstart;
	long hour = ic_days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h;
	if (hour != chour) {
		struct tm tm = { 0 };
		tm.tm_year = (int)(y - 1900);
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		tm.tm_hour = (int)h;
		tm.tm_isdst = -1;
		errno = 0;
		cstart = mktime(&tm);
		if (cstart == (time_t)-1 && errno) {
			chour = LONG_MIN;
			return "time out of range";
		}
		chour = hour;
	}
	*t = cstart + mi * 60 + sec;
	return NULL;
}

void
ic_fmt_time(time_t t, char out[32])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

long
ic_local_day(time_t t)
{
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 0;
	return ic_days_from_civil(tm.tm_year + 1900L, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

int
ic_parse_day(const char *s, long *day)
{
	size_t i = 0, n = strlen(s);
	long y, m, d;
	if (digits(s, n, &i, 4, &y) != 4 || i >= n || s[i++] != '-' ||
	    digits(s, n, &i, 2, &m) != 2 || i >= n || s[i++] != '-' ||
	    digits(s, n, &i, 2, &d) != 2 || i != n || m < 1 || m > 12 || d < 1 ||
	    d > mdays(y, (unsigned)m))
		return -1;
	*day = ic_days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

/* ---- classes, tolerances, cycles ---- */

int
ic_class_of(const char *s, size_t n)
{
	if (n != 1)
		return CL_NONE;
	switch (s[0]) {
	case 'A': case 'a': return CL_A;
	case 'B': case 'b': return CL_B;
	case 'C': case 'c': return CL_C;
	}
	return CL_NONE;
}

void
ic_tol_default(struct ic_tol *t)
{
	t->floor = 0;
	t->pct[CL_A] = 100;
	t->pct[CL_B] = 300;
	t->pct[CL_C] = 500;
	t->pct[CL_NONE] = 0;
}

/* Parse "1.5" (per cent, at most 2 decimals) into hundredths. */
static int
parse_pct(const char *s, size_t n, int64_t *v)
{
	size_t i = 0;
	int64_t acc = 0;
	int dec = -1;
	if (!n)
		return -1;
	for (; i < n; i++) {
		if (s[i] == '.' && dec < 0 && i > 0) {
			dec = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || dec >= 2 || acc > 1000000)
			return -1;
		acc = acc * 10 + (s[i] - '0');
		if (dec >= 0)
			dec++;
	}
	if (s[n - 1] == '.')
		return -1;
	for (dec = dec < 0 ? 0 : dec; dec < 2; dec++)
		acc *= 10;
	*v = acc;
	return 0;
}

const char *
ic_tol_parse(struct ic_tol *t, const char *spec)
{
	const char *p = spec;
	if (!*p)
		return "empty tolerance";
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int cls = -1;
		if (n >= 2 && p[1] == '=') {
			cls = ic_class_of(p, 1);
			if (cls == CL_NONE)
				return "unknown class (A, B or C)";
			p += 2;
			n -= 2;
		}
		if (n && p[n - 1] == '%') {
			int64_t v;
			if (parse_pct(p, n - 1, &v) < 0)
				return "bad percentage";
			if (cls >= 0)
				t->pct[cls] = v;
			else
				for (int c = 0; c < CL_N; c++)
					t->pct[c] = v;
		} else {
			int64_t v;
			if (cls >= 0)
				return "a class takes a percentage (A=1%)";
			if (parse_i64(p, n, &v) || v < 0)
				return "bad number of units";
			t->floor = v;
		}
		p += n;
		if (*p == ',')
			p++;
		if (e && !*p)
			return "trailing comma";
	}
	return NULL;
}

int
ic_tol_hit(const struct ic_tol *t, int cls, int64_t book, int64_t delta)
{
	__int128 d = delta < 0 ? -(__int128)delta : delta;
	__int128 b = book < 0 ? -(__int128)book : book;
	if (d <= t->floor)
		return 1;
	return d * 10000 <= b * t->pct[cls];
}

const char *
ic_cycles_parse(long cyc[3], const char *spec)
{
	const char *p = spec;
	int pos = 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int cls = pos;
		int64_t v;
		if (n >= 2 && p[1] == '=') {
			cls = ic_class_of(p, 1);
			if (cls == CL_NONE)
				return "unknown class (A, B or C)";
			p += 2;
			n -= 2;
		} else if (pos > 2) {
			return "more than three cycles";
		}
		if (parse_i64(p, n, &v) || v < 1 || v > 3660)
			return "a cycle is a number of days from 1 to 3660";
		cyc[cls] = (long)v;
		pos++;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!pos)
		return "empty list of cycles";
	return NULL;
}

const char *
ic_abc_parse(long pct[3], const char *spec)
{
	const char *p = spec;
	int k = 0;
	long sum = 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int64_t v;
		if (k == 3)
			return "more than three shares";
		if (parse_i64(p, n, &v) || v < 0 || v > 100)
			return "a share is a whole per cent from 0 to 100";
		pct[k++] = (long)v;
		sum += (long)v;
		p += n;
		if (*p == ',')
			p++;
	}
	if (k == 2 && sum <= 100) {
		pct[2] = 100 - sum;
		sum = 100;
	}
	if (k < 2 || sum != 100)
		return "shares must add up to 100 (80,15,5)";
	return NULL;
}

/* ---- numbers ---- */

const char *
ic_parse_money(const char *s, size_t n, int64_t *v)
{
	size_t i = 0;
	int neg = 0, dec = -1;
	int64_t acc = 0;
	if (!n)
		return "empty";
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return "not a number";
	for (; i < n; i++) {
		if (s[i] == '.' && dec < 0 && i > (size_t)neg && i + 1 < n) {
			dec = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return "not a decimal number";
		if (dec >= 4)
			return "more than 4 decimal places";
		if (acc > (INT64_MAX / 10 - 9) / IC_MONEY_ONE)
			return "out of range";
		acc = acc * 10 + (s[i] - '0');
		if (dec >= 0)
			dec++;
	}
	for (dec = dec < 0 ? 0 : dec; dec < 4; dec++)
		acc *= 10;
	*v = neg ? -acc : acc;
	return NULL;
}

void
ic_fmt_money(struct buf *b, __int128 v)
{
	char tmp[64];
	size_t k = sizeof tmp;
	unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v :
	    (unsigned __int128)v;
	unsigned __int128 ip = u / IC_MONEY_ONE;
	unsigned frac = (unsigned)(u % IC_MONEY_ONE);
	tmp[--k] = '\0';
	do {
		tmp[--k] = (char)('0' + (unsigned)(ip % 10));
		ip /= 10;
	} while (ip);
	if (v < 0)
		buf_addc(b, '-');
	buf_adds(b, tmp + k);
	if (frac % 100 == 0)
		buf_addf(b, ".%02u", frac / 100);
	else
		buf_addf(b, ".%04u", frac);
}

long
ic_num_opt(const char *opt, const char *s, long min, long max)
{
	int64_t v;
	const char *e = parse_i64(s, strlen(s), &v);
	if (e || v < min || v > max)
		die(EX_USAGE, "%s: bad number '%s' (from %ld to %ld)", opt, s, min, max);
	return (long)v;
}

/* ---- records ---- */

const struct field *
ic_getf(const struct record *rec, const char *name)
{
	size_t n = strlen(name);
	int k = known_id(name, n);
	if (k >= 0)
		return rec->kidx[k] >= 0 ? &rec->f[rec->kidx[k]] : NULL;
	for (size_t i = 0; i < rec->nf; i++)
		if (rec->f[i].nlen == n && !memcmp(rec->f[i].name, name, n))
			return &rec->f[i];
	return NULL;
}

const char *
ic_field_money(const struct field *f, int64_t *v)
{
	if (f->type != J_NUMBER && f->type != J_TEXT && !(f->type == J_STRING && !f->vesc))
		return "not a number";
	return ic_parse_money(f->val, f->vlen, v);
}

void
ic_load_values(const char *path, struct keytab *t, struct rejects *rj)
{
	struct reader *r = reader_open(path, FMT_AUTO, 0, RD_TRIM);
	struct record *rec;
	struct buf why = BUF_INIT, sc = BUF_INIT, q = BUF_INIT;

	if (!r)
		die_errno(EX_NOINPUT, "%s", path);
	while (reader_next_good(r, &rec, rj)) {
		const char *s;
		size_t n;
		int64_t v;
		int rs = rec_str(rec, K_SKU, &sc, &s, &n, &why);
		if (rs < 0) {
			reject_record(rj, reader_name(r), rec, why.s);
			continue;
		}
		if (rs > 0 || n == 0) {
			reject_record(rj, reader_name(r), rec,
			    rs > 0 ? "field 'sku': missing" : "field 'sku': empty");
			continue;
		}
		const struct field *f = ic_getf(rec, "value");
		const char *e;
		if (!f || field_is_null(f)) {
			reject_record(rj, reader_name(r), rec,
			    f ? "field 'value': empty" : "field 'value': missing");
			continue;
		}
		if ((e = ic_field_money(f, &v)) != NULL) {
			buf_reset(&why);
			buf_addf(&why, "field 'value': %s: %s", e, quoted(&q, f->val, f->vlen));
			reject_record(rj, reader_name(r), rec, why.s);
			continue;
		}
		int isnew;
		struct ic_value *iv = keytab_intern(t, s, n, &isnew);
		if (!isnew && iv->v != v) {
			buf_reset(&why);
			buf_addf(&why, "sku %s has another value at line %llu", quoted(&q, s, n),
			    (unsigned long long)iv->line);
			reject_record(rj, reader_name(r), rec, why.s);
			continue;
		}
		if (isnew) {
			iv->v = v;
			iv->line = rec->line;
		}
	}
	reader_free(r);
	buf_release(&why);
	buf_release(&sc);
	buf_release(&q);
}

int
ic_str_field(const struct record *rec, const char *name, struct buf *scratch, const char **s,
    size_t *n, struct buf *why)
{
	const struct field *f = ic_getf(rec, name);
	*s = "";
	*n = 0;
	if (!f || field_is_null(f))
		return 0;
	if (f->type == J_NUMBER && strcmp(name, "sku") && strcmp(name, "location")) {
		*s = f->val;	/* a number where text was expected: keep its text */
		*n = f->vlen;
		return 0;
	}
	if (field_str(f, scratch, s, n, why) < 0)
		return -1;
	if (memchr(*s, '\0', *n)) {
		buf_reset(why);
		buf_addf(why, "field '%s': contains a NUL character", name);
		return -1;
	}
	return 0;
}

int
ic_rec_key(const struct record *rec, struct buf *key, struct buf *scratch, struct buf *why)
{
	const char *s, *l;
	size_t n, ln;
	if (ic_str_field(rec, "sku", scratch, &s, &n, why) < 0)
		return -1;
	if (!n) {
		buf_reset(why);
		buf_adds(why, ic_getf(rec, "sku") ? "field 'sku': empty" : "field 'sku': missing");
		return -1;
	}
	buf_reset(key);
	buf_add(key, s, n);
	buf_addc(key, '\0');
	if (ic_str_field(rec, "location", scratch, &l, &ln, why) < 0)
		return -1;
	buf_add(key, l, ln);
	return 0;
}

/* An integer or null field: 0 ok, 1 null or absent, -1 bad. */
static int
int_or_null(const struct record *rec, const char *name, int64_t *v, struct buf *why)
{
	const struct field *f = ic_getf(rec, name);
	if (!f || field_is_null(f))
		return 1;
	return field_int(f, v, why) < 0 ? -1 : 0;
}

int
ic_diff_rec(const struct record *rec, int64_t *from, int *hasfrom, int64_t *to,
    struct buf *scratch, struct buf *why)
{
	const char *s;
	size_t n;
	int64_t d, want;
	if (ic_str_field(rec, "status", scratch, &s, &n, why) < 0)
		return -1;
	if (n == 7 && !memcmp(s, "removed", 7))
		return 0;	/* in the book only: not counted */
	int k = int_or_null(rec, "to", to, why);
	if (k) {
		if (k > 0) {
			buf_reset(why);
			buf_adds(why, "field 'to': missing (is this invdiff output?)");
		}
		return -1;
	}
	if ((k = int_or_null(rec, "from", from, why)) < 0)
		return -1;
	*hasfrom = k == 0;
	if (!*hasfrom)
		*from = 0;
	if (__builtin_sub_overflow(*to, *from, &want)) {
		buf_reset(why);
		buf_adds(why, "field 'to': difference out of range");
		return -1;
	}
	if ((k = int_or_null(rec, "delta", &d, why)) < 0)
		return -1;
	if (k == 0 && d != want) {
		buf_reset(why);
		buf_addf(why, "field 'delta': %lld is not to - from (%lld)", (long long)d,
		    (long long)want);
		return -1;
	}
	return 1;
}
