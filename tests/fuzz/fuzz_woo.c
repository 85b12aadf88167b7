/*
 * fuzz_woo.c - the WooCommerce driver's handling of REST answers: product
 * and variation list pages with X-WP-Total, the re-reads before a write,
 * batch answers (objects and per-item errors), error bodies and HTTP
 * failures (Retry-After, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call and its options, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bit 2     channel "wooq": the key and secret in the query string
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the consumer key and secret (and
 * their base64) appear in no message even when the server echoes them; a
 * pulled item is "N" or "N/M", comes once, and passes the filters; after
 * push every correction is decided, those the driver must refuse are
 * refused, an applied one shows its target, and an unchanged one had no
 * delta; each batch holds at most 100 distinct items and sets a correction
 * with a known `from` to exactly its `to` (a moved quantity is a conflict,
 * never overwritten); an item is written only after a re-read that asked
 * for it since its last write (a batch is never re-sent as it was), and no
 * batch may be re-sent by the transport.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define CK "ck_fuzz_k3y_77aa"
#define CS "cs_fuzz_s3cr3t_99bb"
#define B64 "Y2tfZnV6el9rM3lfNzdhYTpjc19mdXp6X3MzY3IzdF85OWJi"	/* CK:CS */

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_woo.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[woo]\ntype = woocommerce\nbase_url = http://127.0.0.1:9/woo/fz\n\n"
	    "[wooq]\ntype = woocommerce\nbase_url = http://127.0.0.1:9/woo/fz/\nauth = query\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_WOO", CK ":" CS, 1);
	setenv("INVKIT_TOKEN_WOOQ", CK ":" CS, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
secret_in(const char *s)
{
	return fz_contains(s, CK) || fz_contains(s, CS) || fz_contains(s, B64);
}

/* "N" or "N/M", positive decimal numbers; *pid, *vid (0 for a product). */
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

/* ---- pull ---- */

static const char *const filt_items[] = { "10", "20/21", "x" };
static const char *const filt_skus[] = { "W-1", "W-3-S" };

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
	CHECK(p->item && item_ok(p->item, &pid, &vid));
	CHECK(p->sku && p->location && !*p->location && p->state && !strcmp(p->state, "available"));
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], p->item) != 0);	/* duplicates are removed by id */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(p->item);
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
	{ "W-1", "10", "", 1, 5, 3, -2, -1 },
	{ "W-3-S", "20/21", "", 1, 3, 5, 2, -1 },
	{ "W-2", "11", "", 1, 3, 3, 0, -1 },
	{ "W-4", "12", "", 0, 0, 4, 4, -1 },
	{ "X", "x", "", 1, 1, 2, 1, CS_FAILED },
	{ "W-5", "13", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "W-1", "10", "", 1, 5, 6, 1, -1 },
	{ "W-6", "14", "", 1, 2, 9000000000000000002LL, 9000000000000000000LL, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* The parent of a request's path: /products/P/variations..., 0 for /products... */
static int64_t
url_parent(const char *url)
{
	const char *p = strstr(url, "/wp-json/wc/v3/products");
	CHECK(p != NULL);
	p += strlen("/wp-json/wc/v3/products");
	return *p == '/' && p[1] >= '0' && p[1] <= '9' ? strtoll(p + 1, NULL, 10) : 0;
}

/* Items read since they were last written: (parent, id) pairs. */
struct fresh {
	int64_t (*v)[2];
	size_t n;
};

static int
fresh_take(struct fresh *f, int64_t parent, int64_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i][0] == parent && f->v[i][1] == id) {
			f->v[i][0] = f->v[--f->n][0];
			f->v[i][1] = f->v[f->n][1];
			return 1;
		}
	return 0;
}

/*
 * The batches: bounded, distinct items, `to` for a known `from`, and each
 * item written only after a re-read that asked for it (never re-sent as it
 * was after a wait or a lost answer).
 */
static void
check_requests(const struct corr *cs, size_t n)
{
	struct fresh fr = { NULL, 0 };
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!strstr(e->url, "consumer_secret") || strstr(e->url, "consumer_secret=" CS));
		int64_t parent = url_parent(e->url);
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0);
			const char *inc = strstr(e->url, "include=");
			for (const char *p = inc ? inc + 8 : NULL; p && *p >= '0' && *p <= '9';) {
				char *end;
				int64_t id = strtoll(p, &end, 10);
				fresh_take(&fr, parent, id);
				fr.v = xrealloc(fr.v, (fr.n + 1) * sizeof *fr.v);
				fr.v[fr.n][0] = parent;
				fr.v[fr.n++][1] = id;
				p = *end == ',' ? end + 1 : NULL;
			}
			continue;
		}
		CHECK(!strcmp(e->method, "POST") && !e->idempotent && e->no_retry);
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL);
		json_t *upd = json_object_get(b, "update"), *u;
		size_t k;
		CHECK(json_is_array(upd) && json_array_size(upd) >= 1 && json_array_size(upd) <= 100);
		json_array_foreach(upd, k, u) {
			json_int_t id = json_integer_value(json_object_get(u, "id"));
			json_t *q = json_object_get(u, "stock_quantity");
			CHECK(id > 0 && json_is_integer(q));
			CHECK(fresh_take(&fr, parent, id));	/* read again since its last write */
			for (size_t c = 0; c < n; c++) {
				int64_t pid, vid;
				if (!cs[c].has_from || !item_ok(cs[c].item, &pid, &vid))
					continue;
				if ((vid ? vid : pid) == id && (vid ? pid : 0) == parent &&
				    cs[c].status != CS_FAILED)
					CHECK(json_integer_value(q) == cs[c].to);
			}
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
	int op = ctl & 3, query = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, query ? "wooq" : "woo", 0, &err, &code);
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
			for (size_t i = 0; i < ncorr; i++) {
				int64_t pid, vid;
				if (!item_ok(fixed[i].item, &pid, &vid))
					CHECK(!cs[i].has_current);
			}
		} else {
			rc = c->drv->push(c, v, ncorr, "fuzz-run", &err);
			for (size_t i = 0; i < ncorr; i++) {
				struct corr *k = &cs[i];
				CHECK(final_status(k->status));
				if (k->status == CS_FAILED || k->status == CS_CONFLICT)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED)
					CHECK(k->error[0] == '\0' && k->has_after);
				if (k->status == CS_APPLIED && k->has_from)
					CHECK(k->after == k->to);
				if (k->status == CS_UNCHANGED)
					CHECK(k->delta == 0);
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!secret_in(k->error));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!secret_in(err.s));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
