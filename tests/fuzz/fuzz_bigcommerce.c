/*
 * fuzz_bigcommerce.c - the BigCommerce driver's handling of V3 Inventory
 * answers: item list pages (meta.pagination), the re-reads before a write,
 * adjustment answers, 422 problem+json bodies, the X-Rate-Limit headers and
 * HTTP failures (429, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the token appears in no message or
 * result even when the server echoes it; a pulled item is "P" or "P/V" at a
 * numeric location, comes once, and passes the filters; after push every
 * correction is decided, those the driver must refuse are refused, an
 * unchanged one had no delta; every write is a relative adjustment by
 * exactly `delta` for a correction with a known `from`, or an absolute one
 * to exactly `to` for a correction without (DESIGN.md rule 1: a sale is
 * never erased), at most 2000 items, never re-sent by the transport, and
 * written only after a read of its product since its last write.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define TOKEN "bc_fuzz_t0ken_5a5a77"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_bc.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[bc]\ntype = bigcommerce\nbase_url = http://127.0.0.1:9/stores/fz\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_BC", TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* "P" or "P/V", positive decimal numbers; *pid, *vid (0 for a product). */
static int
item_ok(const char *s, int64_t *pid, int64_t *vid)
{
	char *e;
	*vid = 0;
	if (*s < '1' || *s > '9')
		return 0;
	*pid = strtoll(s, &e, 10);
	if (*e == '/') {
		if (e[1] < '1' || e[1] > '9')
			return 0;
		*vid = strtoll(e + 1, &e, 10);
	}
	return *e == '\0' && *pid > 0;
}

static int
numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* ---- pull ---- */

static const char *const filt_items[] = { "10", "20/21", "x" };
static const char *const filt_skus[] = { "B-1", "B-2" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	int64_t pid, vid;
	char key[256];
	CHECK(p->item && item_ok(p->item, &pid, &vid));
	CHECK(p->sku && p->location && numeric(p->location));
	CHECK(p->state && !strcmp(p->state, "available"));
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);	/* one record per item and location */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
	if (x->o->items) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nitems; i++)
			ok |= !strcmp(x->o->items[i], p->item);
		CHECK(ok);
	}
	if (x->o->skus) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nskus; i++)
			ok |= !strcmp(x->o->skus[i], p->sku);
		CHECK(ok);
	}
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "B-1", "10", "1", 1, 5, 3, -2, -1 },
	{ "B-2", "20/21", "1", 1, 3, 5, 2, -1 },
	{ "B-3", "11", "1", 1, 3, 3, 0, -1 },
	{ "B-4", "12", "2", 0, 0, 4, 4, -1 },
	{ "X", "x", "1", 1, 1, 2, 1, CS_FAILED },
	{ "B-5", "13", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "B-1", "10", "2", 1, 5, 6, 1, -1 },
	{ "B-6", "14", "1", 1, 2, 9000000000000000002LL, 9000000000000000000LL, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* Products read since they were last written. */
struct fresh {
	int64_t *v;
	size_t n;
};

static int
fresh_take(struct fresh *f, int64_t pid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i] == pid) {
			f->v[i] = f->v[--f->n];
			return 1;
		}
	return 0;
}

/* The correction a write item is for: by location and product or variant id. */
static const struct corr *
corr_for(const struct corr *cs, size_t n, json_t *it, int64_t *pid)
{
	json_int_t loc = json_integer_value(json_object_get(it, "location_id"));
	json_t *jv = json_object_get(it, "variant_id"), *jp = json_object_get(it, "product_id");
	for (size_t c = 0; c < n; c++) {
		int64_t p, v;
		if (!item_ok(cs[c].item, &p, &v) || !numeric(cs[c].location) ||
		    strtoll(cs[c].location, NULL, 10) != loc)
			continue;
		if ((v && jv && json_integer_value(jv) == v) || (!v && jp && json_integer_value(jp) == p)) {
			*pid = p;
			return &cs[c];
		}
	}
	return NULL;
}

static void
check_requests(const struct corr *cs, size_t n)
{
	struct fresh fr = { NULL, 0 };
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!fz_contains(e->url, TOKEN));
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0 && strstr(e->url, "/v3/inventory/items"));
			const char *in = strstr(e->url, "product_id:in=");
			for (const char *p = in ? in + 14 : NULL; p && *p >= '0' && *p <= '9';) {
				char *end;
				int64_t id = strtoll(p, &end, 10);
				fresh_take(&fr, id);
				fr.v = xrealloc(fr.v, (fr.n + 1) * sizeof *fr.v);
				fr.v[fr.n++] = id;
				p = *end == ',' ? end + 1 : (*end == '%' && !strncmp(end, "%2C", 3) ? end + 3 : NULL);
			}
			continue;
		}
		int rel = strstr(e->url, "/inventory/adjustments/relative") != NULL;
		int abs_ = strstr(e->url, "/inventory/adjustments/absolute") != NULL;
		CHECK(rel != abs_);
		CHECK(!strcmp(e->method, rel ? "POST" : "PUT") && !e->idempotent && e->no_retry);
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL);
		json_t *items = json_object_get(b, "items"), *it;
		size_t k;
		CHECK(json_is_array(items) && json_array_size(items) >= 1 &&
		    json_array_size(items) <= 2000);
		json_array_foreach(items, k, it) {
			int64_t pid = 0;
			const struct corr *c = corr_for(cs, n, it, &pid);
			CHECK(c != NULL);		/* only what was asked for */
			CHECK(c->has_from == rel);	/* relative iff `from` is known */
			json_int_t q = json_integer_value(json_object_get(it, "quantity"));
			CHECK(q == (rel ? c->delta : c->to));
			int found = 0;	/* its product read since its last write */
			for (size_t f = 0; f < fr.n; f++)
				found |= fr.v[f] == pid;
			CHECK(found);
		}
		/* several items of one product share a read; the next write needs another */
		json_array_foreach(items, k, it) {
			int64_t pid = 0;
			corr_for(cs, n, it, &pid);
			fresh_take(&fr, pid);
		}
		json_decref(b);
	}
	free(fr.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct buf err = BUF_INIT;
	int code = -1;
	struct corr cs[8], *v[8];
	size_t ncorr = 0;

	if (!inited) {
		setup();
		inited = 1;
	}
	if (size < 1)
		return 0;
	unsigned ctl = data[0];
	int op = ctl & 3;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, "bc", 0, &err, &code);
	CHECK(c != NULL && code == 0);

	int rc;
	memset(cs, 0, sizeof cs);
	if (op <= 1) {
		struct pull_opts o = { 0 };
		if (op == 1 && (ctl & 0x40)) {
			o.skus = (const char **)filt_skus;
			o.nskus = 2;
		} else if (op == 1) {
			o.items = (const char **)filt_items;
			o.nitems = 3;
		}
		struct pulled_ctx x = { &o, NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
	} else {
		ncorr = 1 + ((ctl >> 3) & 7);
		for (size_t i = 0; i < ncorr; i++) {
			const struct fixed *f = &fixed[i];
			cs[i].sku = f->sku;
			cs[i].item = f->item;
			cs[i].location = f->loc;
			cs[i].reason = "sync";
			cs[i].has_from = f->has_from;
			cs[i].from = f->from;
			cs[i].to = f->to;
			cs[i].delta = f->delta;
			corr_key(&cs[i], "fuzz-run");
			v[i] = &cs[i];
		}
		if (op == 2) {
			rc = c->drv->read(c, v, ncorr, &err);
		} else {
			rc = c->drv->push(c, v, ncorr, "fuzz-run", &err);
			for (size_t i = 0; i < ncorr; i++) {
				struct corr *k = &cs[i];
				CHECK(final_status(k->status));
				if (k->status == CS_FAILED || k->status == CS_CONFLICT)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED)
					CHECK(k->error[0] == '\0');
				if (k->status == CS_UNCHANGED)
					CHECK(k->delta == 0);
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!fz_contains(k->error, TOKEN));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, TOKEN));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
