/*
 * fuzz_file.c - the file driver (common/platform/file.c) on a master file
 * from the input: pull, read, push, and a pull again of what push wrote.
 *
 * The first byte sets the options, the rest is the file:
 *   bits 0-1  the CSV header put before the rest when it is not NDJSON
 *   bit 2     a byte order mark before that header
 *   bit 3     CRLF after that header
 *   bit 4     channel "wmsl" (locations = WH-1, WH-2) instead of "wms"
 *   bits 5-7  the deltas of the corrections (see DELTAS)
 * The CSV header is the target's because the reader exits (65) on a bad
 * one by design; fuzz_rec covers headers, this target what follows them.
 *
 * Checked beyond the sanitizers, against a model built from the first pull:
 *  - exit codes as the interface allows, with a one-line message;
 *  - pulled records have an identity and a state, and a configured
 *    location; --since is refused (64);
 *  - read gives the quantity of a record found once under its key, and
 *    nothing for a key held twice or not at all;
 *  - push decides each correction as file.c says: a record found once is
 *    changed by delta (out of range: failed), a key held twice fails, a
 *    record gone is a conflict, a new sku is added (or fails for want of a
 *    column); when push fails the file is byte for byte what it was;
 *  - the file written pulls again as the same records, in order, with only
 *    the applied quantities changed and the added records at the end;
 *  - no temporary file is left behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_file: check failed: %s (line %d)\n", \
	#c, __LINE__); abort(); } } while (0)

static struct config cfg;
static char dir[64], stock[96];

static const char *const headers[] = {
	"sku,location,qty", "item,sku,qty,state,note", "qty,sku", "sku,qty,location,bin",
};

/* Deltas for the corrections, by bits 5-7: small, zero, and range edges. */
static const int64_t DELTAS[8][3] = {
	{ 1, -1, 0 }, { -5, 3, 2 }, { 0, 0, 0 }, { INT64_MAX, 1, -1 },
	{ INT64_MIN, -1, 1 }, { 7, 7, 7 }, { 100, -100, 1 }, { -1, INT64_MAX, INT64_MIN },
};

static void
cleanup(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	unlink(path);
	unlink(stock);
	rmdir(dir);
}

static void
setup(void)
{
	char path[128];
	snprintf(dir, sizeof dir, "/dev/shm/fuzz_file.XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof dir, "/tmp/fuzz_file.XXXXXX");
		CHECK(mkdtemp(dir) != NULL);
	}
	snprintf(stock, sizeof stock, "%s/stock.csv", dir);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[wms]\ntype = file\npath = stock.csv\n\n"
	    "[wmsl]\ntype = file\npath = %s\nlocations = WH-1, WH-2\n", stock);
	CHECK(fclose(f) == 0);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	atexit(cleanup);
}

/* ---- pulled records ---- */

struct prec {
	char *item, *sku, *loc, *state;
	int64_t qty;
};

struct plist {
	struct prec *v;
	size_t n;
	int locfilter;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct plist *l = arg;
	CHECK(p->item && *p->item && p->sku && p->location && p->state && *p->state);
	if (l->locfilter)
		CHECK(!strcmp(p->location, "WH-1") || !strcmp(p->location, "WH-2"));
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	struct prec *r = &l->v[l->n++];
	r->item = xstrdup(p->item);
	r->sku = xstrdup(p->sku);
	r->loc = xstrdup(p->location);
	r->state = xstrdup(p->state);
	r->qty = p->qty;
}

static void
plist_free(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].item);
		free(l->v[i].sku);
		free(l->v[i].loc);
		free(l->v[i].state);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int
pull(struct chan *c, struct plist *l, struct buf *err)
{
	struct pull_opts o = { 0 };
	int rc = c->drv->pull(c, &o, on_pulled, l, err);
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_IOERR);
	if (rc)
		CHECK(err->len && strstr(err->s, stock) && !strchr(err->s, '\n'));
	return rc;
}

/* Records of l under (identity, location), and the first one's index. */
static size_t
count_key(const struct plist *l, const char *id, const char *loc, size_t *first)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].item, id) && !strcmp(l->v[i].loc, loc) && !n++)
			*first = i;
	return n;
}

/* Records of l with this sku at this location (what a from-null correction looks for). */
static size_t
count_sku(const struct plist *l, const char *sku, const char *loc, size_t *first)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].sku, sku) && *l->v[i].sku && !strcmp(l->v[i].loc, loc) && !n++)
			*first = i;
	return n;
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	char *s = NULL;
	size_t cap = 0;
	*n = 0;
	for (;;) {
		if (*n + 4096 > cap)
			s = xrealloc(s, cap = 2 * cap + 4096);
		size_t k = fread(s + *n, 1, cap - *n, f);
		*n += k;
		if (!k)
			break;
	}
	fclose(f);
	return s;
}

static void
no_temp_left(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		CHECK(strncmp(e->d_name, ".stock.csv.", 11) != 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct buf err = BUF_INIT;
	int code = -1;

	if (!inited) {
		setup();
		inited = 1;
	}
	if (size < 1)
		return 0;
	unsigned ctl = data[0];
	const char *body = (const char *)data + 1;
	size_t blen = size - 1;

	/* the file: NDJSON (or nothing) as it is, else our header and the rest */
	FILE *f = fopen(stock, "wb");
	CHECK(f != NULL);
	size_t i = blen >= 3 && !memcmp(body, "\xef\xbb\xbf", 3) ? 3 : 0;
	while (i < blen && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i < blen && body[i] != '{' && body[i] != '[')
		fprintf(f, "%s%s%s", (ctl & 4) ? "\xef\xbb\xbf" : "", headers[ctl & 3],
		    (ctl & 8) ? "\r\n" : "\n");
	CHECK(fwrite(body, 1, blen, f) == blen);
	CHECK(fclose(f) == 0);

	int locf = (ctl >> 4) & 1;
	struct chan *c = chan_open(&cfg, locf ? "wmsl" : "wms", 0, &err, &code);
	CHECK(c != NULL && code == 0);

	struct plist before = { NULL, 0, locf }, after = { NULL, 0, locf };
	int rc = pull(c, &before, &err);
	struct pull_opts since = { 0 };
	since.since = "2026-01-01T00:00:00Z";
	CHECK(c->drv->pull(c, &since, on_pulled, &after, &err) == EX_USAGE && after.n == 0);

	/* corrections: three records as pulled, one gone, a new sku, a known sku with from null */
	struct corr cs[6], *v[6];
	size_t n = 0;
	const int64_t *dl = DELTAS[(ctl >> 5) & 7];
	memset(cs, 0, sizeof cs);
	for (size_t k = 0; k < before.n && n < 3; k++) {
		struct prec *r = &before.v[k * before.n / 3 % before.n];
		struct corr *x = &cs[n];
		x->sku = r->sku;
		x->item = r->item;
		x->location = r->loc;
		x->has_from = 1;
		x->from = r->qty;
		x->delta = dl[n];
		if (__builtin_add_overflow(x->from, x->delta, &x->to)) {
			x->delta = 0;	/* invdiff never makes such a correction */
			x->to = x->from;
		}
		n++;
	}
	cs[n++] = (struct corr){ .sku = "GONE", .item = "GONE", .location = "WH-1", .has_from = 1,
	    .from = 1, .to = 2, .delta = 1 };
	if (before.n && *before.v[0].sku)	/* invpush refuses an empty sku */
		cs[n++] = (struct corr){ .sku = before.v[0].sku, .item = "", .location = before.v[0].loc,
		    .to = 3, .delta = 3 };
	cs[n++] = (struct corr){ .sku = "FUZZ-NEW", .item = "", .location = locf ? "WH-2" : "",
	    .to = 7, .delta = 7 };
	for (size_t k = 0; k < n; k++) {
		cs[k].reason = "sync";
		corr_key(&cs[k], "fuzz");
		v[k] = &cs[k];
	}

	if (rc == 0) {
		/* read: the quantity of a record found once */
		CHECK(c->drv->read(c, v, n, &err) == 0);
		for (size_t k = 0; k < n; k++) {
			size_t first = 0, cnt;
			if (cs[k].has_from)
				cnt = count_key(&before, *cs[k].item ? cs[k].item : cs[k].sku, cs[k].location, &first);
			else
				cnt = count_sku(&before, cs[k].sku, cs[k].location, &first);
			CHECK(cs[k].has_current == (cnt == 1));
			if (cs[k].has_from && cnt == 1)
				CHECK(cs[k].current == before.v[first].qty);
		}
	}

	size_t oldlen, newlen;
	char *old = slurp(stock, &oldlen);
	for (size_t k = 0; k < n; k++)
		cs[k].has_current = 0;
	int prc = c->drv->push(c, v, n, "fuzz", &err);
	CHECK(prc == rc || (rc == 0 && (prc == EX_IOERR || prc == EX_CANTCREAT)));
	char *now = slurp(stock, &newlen);
	no_temp_left();
	if (prc) {
		/* nothing written: the file as it was, nothing marked applied */
		CHECK(newlen == oldlen && !memcmp(old, now, oldlen));
		for (size_t k = 0; k < n; k++)
			CHECK(cs[k].status != CS_APPLIED);
	} else {
		/* the model: each correction as file.c decides it */
		int64_t *want = xcalloc(before.n + 1, sizeof *want);
		for (size_t k = 0; k < before.n; k++)
			want[k] = before.v[k].qty;
		size_t nadd = 0;
		const struct corr *adds[6];
		for (size_t k = 0; k < n; k++) {
			struct corr *x = &cs[k];
			size_t first = 0, cnt;
			if (x->delta == 0) {
				CHECK(x->status == CS_UNCHANGED);
				continue;
			}
			if (x->has_from) {
				cnt = count_key(&before, *x->item ? x->item : x->sku, x->location, &first);
				if (cnt > 1) {
					CHECK(x->status == CS_FAILED && strstr(x->error, "records for it"));
				} else if (cnt == 0) {
					CHECK(x->status == CS_CONFLICT && strstr(x->error, "no longer in the file"));
				} else {
					int64_t a;
					if (__builtin_add_overflow(want[first], x->delta, &a)) {
						CHECK(x->status == CS_FAILED && strstr(x->error, "out of range"));
					} else {
						CHECK(x->status == CS_APPLIED && x->has_after && x->after == a);
						want[first] = a;
					}
				}
			} else {
				cnt = count_sku(&before, x->sku, x->location, &first);
				if (cnt == 0 && x->status == CS_APPLIED) {
					CHECK(x->has_after && x->after == x->to);
					adds[nadd++] = x;
				} else if (cnt == 0) {
					CHECK(x->status == CS_FAILED && strstr(x->error, "column"));
				} else if (cnt > 1) {
					CHECK(x->status == CS_FAILED && strstr(x->error, "records for it"));
				} else {
					CHECK(x->status == (want[first] == x->to ? CS_UNCHANGED : CS_CONFLICT));
				}
			}
		}
		/* what was written reads back as the model */
		CHECK(pull(c, &after, &err) == 0);
		CHECK(after.n == before.n + nadd);
		for (size_t k = 0; k < before.n; k++) {
			const struct prec *a = &after.v[k], *b = &before.v[k];
			CHECK(!strcmp(a->item, b->item) && !strcmp(a->sku, b->sku));
			CHECK(!strcmp(a->loc, b->loc) && !strcmp(a->state, b->state));
			CHECK(a->qty == want[k]);
		}
		for (size_t k = before.n; k < after.n; k++) {
			const struct corr *x = adds[k - before.n];
			CHECK(!strcmp(after.v[k].sku, x->sku) && !strcmp(after.v[k].loc, x->location));
			CHECK(after.v[k].qty == x->to);
		}
		int changed = 0;
		for (size_t k = 0; k < n; k++)
			changed |= cs[k].status == CS_APPLIED;
		if (!changed)
			CHECK(newlen == oldlen && !memcmp(old, now, oldlen));
		free(want);
	}
	for (size_t k = 0; k < n; k++) {
		CHECK(cs[k].status == CS_PENDING ? prc != 0 : 1);
		if (cs[k].status == CS_FAILED || cs[k].status == CS_CONFLICT)
			CHECK(cs[k].error[0]);
	}
	free(old);
	free(now);
	plist_free(&before);
	plist_free(&after);
	chan_close(c);
	buf_release(&err);
	return 0;
}
