/*
 * input.c - read the corrections invpush is given and check every one of
 * them before anything is written: a correction that cannot be pushed
 * exactly as it says must stop the run while the platform is untouched.
 *
 * A correction is what invdiff writes: sku, item, location, from (an
 * integer, or null when the target had no record), to, delta (to - from,
 * or to when from is null), reason, and any other field, which passes
 * through to the result.  invdiff --all's records of status same or within
 * are read too, and reported as skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "invpush.h"
#include "keytab.h"
#include "wr.h"
#include "banned.h"

/* Where the first correction of a key was seen, for duplicate messages. */
struct seen {
	uint64_t line;
	const char *file;	/* borrowed from the file list */
};

static void
why_set(struct buf *why, const char *fmt, const char *name)
{
	buf_reset(why);
	buf_addf(why, fmt, name);
}

/*
 * A string field: *out a copy, or NULL when absent or null.  -1 with why
 * set for another type or a NUL character.
 */
static int
str_opt(const struct record *rec, int kid, char **out, struct buf *why)
{
	struct buf sc = BUF_INIT;
	const char *s;
	size_t n;
	int r = rec_str(rec, kid, &sc, &s, &n, why);

	*out = NULL;
	if (r == 0 && memchr(s, '\0', n)) {
		why_set(why, "field '%s': contains a NUL character", known_names[kid]);
		r = -1;
	}
	if (r == 0)
		*out = xstrndup(s, n);
	buf_release(&sc);
	return r < 0 ? -1 : 0;
}

/* An integer field that must be there: -1 with why set when it is not. */
static int
int_req(const struct record *rec, int kid, int64_t *v, struct buf *why)
{
	int r = rec_int(rec, kid, v, why);
	if (r == 1)
		why_set(why, rec->kidx[kid] < 0 ? "field '%s': missing" : "field '%s': null",
		    known_names[kid]);
	return r ? -1 : 0;
}

/*
 * invdiff --all gives every record a status: same and within are no
 * corrections.  A result of invpush (applied, conflict, ...) fed back in
 * must not be pushed a second time.  1 skip, 0 push, -1 bad.
 */
static int
check_status(const struct record *rec, struct buf *why)
{
	static const char *const push[] = { "changed", "added", "removed", "planned", NULL };
	static const char *const results[] = {
		"applied", "unchanged", "conflict", "failed", "skipped", NULL
	};
	char *st;
	int r = 0;

	if (str_opt(rec, K_STATUS, &st, why) < 0)
		return -1;
	if (!st)
		return 0;
	if (!strcmp(st, "same") || !strcmp(st, "within"))
		r = 1;
	for (size_t i = 0; r == 0 && results[i]; i++)
		if (!strcmp(st, results[i])) {
			buf_reset(why);
			buf_addf(why, "field 'status': \"%s\" is a result of invpush, not a "
			    "correction: push corrections, never results", st);
			r = -1;
		}
	size_t i = 0;
	while (r == 0 && push[i] && strcmp(st, push[i]))
		i++;
	if (r == 0 && !push[i]) {
		struct buf q = BUF_INIT;
		buf_reset(why);
		buf_addf(why, "field 'status': unknown status %s (same, within, changed, added, "
		    "removed or planned)", quoted(&q, st, strlen(st)));
		buf_release(&q);
		r = -1;
	}
	free(st);
	return r;
}

/* from, to and delta, and that delta is what from and to say. */
static int
check_numbers(struct item *it, const struct record *rec, struct buf *why)
{
	struct corr *c = &it->c;
	int64_t want;

	if (rec->kidx[K_FROM] < 0) {
		why_set(why, "field '%s': missing (null when the target had no record)", "from");
		return -1;
	}
	int r = rec_int(rec, K_FROM, &c->from, why);
	if (r < 0)
		return -1;
	c->has_from = r == 0;
	if (int_req(rec, K_TO, &c->to, why) < 0 || int_req(rec, K_DELTA, &c->delta, why) < 0)
		return -1;
	if (!c->has_from)
		want = c->to;
	else if (__builtin_sub_overflow(c->to, c->from, &want)) {
		why_set(why, "field '%s': to - from is out of range", "delta");
		return -1;
	}
	if (c->delta != want) {
		buf_reset(why);
		if (c->has_from)
			buf_addf(why, "field 'delta': %lld, but to - from is %lld", (long long)c->delta,
			    (long long)want);
		else
			buf_addf(why, "field 'delta': %lld, but from is null and to is %lld",
			    (long long)c->delta, (long long)want);
		return -1;
	}
	return 0;
}

static void
item_free_strings(struct item *it)
{
	free(it->sku);
	free(it->itemid);
	free(it->location);
	free(it->reason);
	it->sku = it->itemid = it->location = it->reason = NULL;
}

int
item_from_record(struct item *it, const struct record *rec, struct buf *why)
{
	int skip = check_status(rec, why);

	if (skip < 0)
		return -1;
	if (str_opt(rec, K_SKU, &it->sku, why) < 0 || str_opt(rec, K_ITEM, &it->itemid, why) < 0 ||
	    str_opt(rec, K_LOCATION, &it->location, why) < 0 ||
	    str_opt(rec, K_REASON, &it->reason, why) < 0 || check_numbers(it, rec, why) < 0)
		goto bad;
	if (!it->sku || !*it->sku) {
		why_set(why, "field 'sku': %s", it->sku ? "empty" : "missing");
		goto bad;
	}
	if (!it->location)
		it->location = xstrdup("");
	if (!it->reason || !*it->reason) {
		free(it->reason);
		it->reason = xstrdup("sync");
	}
	it->skip = skip;
	it->c.sku = it->sku;
	it->c.item = it->itemid && *it->itemid ? it->itemid : NULL;
	it->c.location = it->location;
	it->c.reason = it->reason;
	rec_clone(&it->rec, rec, &it->mem, &it->fv);
	return 0;
bad:
	item_free_strings(it);
	return -1;
}

/* sku NUL location: two corrections of one key would both be applied. */
static int
check_duplicate(struct keytab *keys, const struct item *it, const char *file, uint64_t line,
    struct buf *why)
{
	struct buf k = BUF_INIT, q1 = BUF_INIT, q2 = BUF_INIT;
	int isnew;

	buf_adds(&k, it->sku);
	buf_addc(&k, '\0');
	buf_adds(&k, it->location);
	struct seen *s = keytab_intern(keys, k.s, k.len, &isnew);
	if (isnew) {
		s->line = line;
		s->file = file;
	} else {
		buf_reset(why);
		buf_addf(why, "duplicate correction for sku %s at location %s, first at ",
		    quoted(&q1, it->sku, strlen(it->sku)),
		    quoted(&q2, it->location, strlen(it->location)));
		if (strcmp(s->file, file))
			buf_addf(why, "%s:", strcmp(s->file, "-") ? s->file : "<stdin>");
		buf_addf(why, "line %llu", (unsigned long long)s->line);
	}
	buf_release(&k);
	buf_release(&q1);
	buf_release(&q2);
	return isnew ? 0 : -1;
}

static struct item *
run_add(struct run *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	struct item *it = &r->v[r->n];
	memset(it, 0, sizeof *it);
	return it;
}

/* Read one input file's corrections into r. */
static void
read_file(struct run *r, const char *path, struct keytab *keys, struct rejects *rj)
{
	struct reader *rd = reader_open(path, FMT_AUTO, 0, 0);
	static struct buf why;	/* static: still reachable when a bad record exits */
	struct record *rec;
	int k;

	if (!rd)
		die_errno(EX_NOINPUT, "%s", path);
	run_keep_reader(r, rd);
	const char *name = reader_name(rd);
	while ((k = reader_next(rd, &rec)) != 0) {
		if (k == -2)
			die_errno(EX_IOERR, "%s: read error", name);
		if (k < 0) {
			reject_record(rj, name, rec, reader_error(rd));
			r->bad++;
			continue;
		}
		struct item *it = run_add(r);
		if (item_from_record(it, rec, &why) < 0 ||
		    check_duplicate(keys, it, path, rec->line, &why) < 0) {
			item_free_strings(it);
			buf_release(&it->mem);
			fieldvec_release(&it->fv);
			reject_record(rj, name, rec, why.s);
			r->bad++;
			continue;
		}
		if (rec->kidx[K_STATUS] < 0)
			r->full = 0;
		it->n = ++r->n;
	}
}

void
run_keep_reader(struct run *r, struct reader *rd)
{
	r->readers = xrealloc(r->readers, (r->nreaders + 1) * sizeof *r->readers);
	r->readers[r->nreaders++] = rd;
}

void
input_read(struct run *r, char **files, struct rejects *rj)
{
	static char *stdin_only[] = { "-", NULL };
	static struct keytab keys;	/* static: still reachable when a bad record exits */

	keytab_init(&keys, sizeof(struct seen));
	r->full = 1;
	if (!files || !files[0])
		files = stdin_only;
	for (size_t i = 0; files[i]; i++)
		read_file(r, files[i], &keys, rj);
	if (!r->n)
		r->full = 0;
	keytab_release(&keys);
}

void
run_release(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		item_free_strings(&r->v[i]);
		buf_release(&r->v[i].mem);
		fieldvec_release(&r->v[i].fv);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
	for (size_t i = 0; i < r->nreaders; i++)
		reader_free(r->readers[i]);
	free(r->readers);
	r->readers = NULL;
	r->nreaders = 0;
}

void
item_json(const struct item *it, struct buf *out)
{
	const struct record *rec = &it->rec;
	if (rec->fmt == FMT_NDJSON) {
		const char *s = rec->text, *e = rec->text + rec->textlen;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		buf_add(out, s, (size_t)(e - s));
		return;
	}
	/* a CSV record: its NDJSON form, as the writer gives it */
	char *mem = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&mem, &len);
	if (!fp)
		die_errno(EX_OSERR, "open_memstream");
	struct writer *w = writer_new(fp, FMT_NDJSON, 0);
	wr_begin(w);
	for (size_t i = 0; i < rec->nf; i++)
		wr_field(w, &rec->f[i]);
	wr_end(w);
	writer_close(w);
	fclose(fp);
	buf_add(out, mem, len && mem[len - 1] == '\n' ? len - 1 : len);
	free(mem);
}
