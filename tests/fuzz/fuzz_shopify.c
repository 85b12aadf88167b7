/*
 * fuzz_shopify.c - the Shopify driver's handling of GraphQL answers:
 * location checks, inventoryItems pages and their levels' follow-up pages,
 * read answers, mutation results with userErrors and inventoryAdjustment-
 * Group changes, GraphQL errors (THROTTLED, MAX_COST_EXCEEDED, ...), the
 * extensions.cost throttle status, and HTTP failures.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call and its options, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--sku or --item, bit 6), 2 read, 3 push
 *   bit 2     channel "cas": concurrent = conflict, locations = 1, 2
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the access token appears in no
 * message; a pulled record has an item, a location (a configured one) and
 * passes the filters; after push every correction is decided and those the
 * driver must refuse are refused; an applied set has a quantity after; every
 * mutation carries an idempotency key, a key is never reused for another
 * request body, and no call holds more than 250 entries; no request costs
 * more than the bucket can ever hold (it would wait for ever).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define TOKEN "shpat_fuzz_5ecret_0a1b2c3d"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_shopify.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[shop]\ntype = shopify\nbase_url = http://127.0.0.1:9/shopify/fz\n\n"
	    "[cas]\ntype = shopify\nbase_url = http://127.0.0.1:9/shopify/fz/\n"
	    "concurrent = conflict\nlocations = 1, gid://shopify/Location/2\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_SHOP", TOKEN, 1);
	setenv("INVKIT_TOKEN_CAS", TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* ---- pull ---- */

static const char *const filt_skus[] = { "A-1", "B-2", "Q\"uo*te" };
static const char *const filt_items[] = { "1001", "gid://shopify/InventoryItem/1002", "x" };

struct pulled_ctx {
	int cas;
	const struct pull_opts *o;
	unsigned n;
};

static int
is_gid(const char *s, const char *type)
{
	char pre[64];
	snprintf(pre, sizeof pre, "gid://shopify/%s/", type);
	if (!strncmp(s, pre, strlen(pre)))
		s += strlen(pre);
	if (!*s || strlen(s) > 18)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The item number of an id given as a gid or a bare number. */
static long long
num_of(const char *s)
{
	const char *p = strrchr(s, '/');
	return strtoll(p ? p + 1 : s, NULL, 10);
}

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	CHECK(p->item && is_gid(p->item, "InventoryItem") && num_of(p->item) > 0);
	CHECK(p->sku && p->location && *p->location && p->state && !strcmp(p->state, "available"));
	if (x->cas)
		CHECK(!strcmp(p->location, "gid://shopify/Location/1") ||
		    !strcmp(p->location, "gid://shopify/Location/2"));
	if (x->o->skus) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nskus; i++)
			ok |= !strcmp(x->o->skus[i], p->sku);
		CHECK(ok);
	}
	if (x->o->items) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nitems; i++)
			ok |= is_gid(x->o->items[i], "InventoryItem") &&
			    num_of(x->o->items[i]) == num_of(p->item);
		CHECK(ok);
	}
	x->n++;
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *item, *loc, *reason;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "A-1", "gid://shopify/InventoryItem/1001", "gid://shopify/Location/1", "sync", 1, 5, 3, -2, -1 },
	{ "B-2", "1002", "1", "count", 0, 0, 7, 7, -1 },
	{ "C-3", "gid://shopify/InventoryItem/1003", "gid://shopify/Location/2", "sync", 1, 4, 4, 0,
	  CS_UNCHANGED },
	{ "A-1", "gid://shopify/InventoryItem/1001", "gid://shopify/Location/2", "restock", 1, 0, 10, 10, -1 },
	{ "X", "abc", "gid://shopify/Location/1", "sync", 1, 1, 2, 1, CS_FAILED },
	{ "D-4", "gid://shopify/InventoryItem/1004", "gid://shopify/Location/1", "damaged", 1,
	  2147483647, 0, -2147483647, -1 },
	{ "E-5", "gid://shopify/InventoryItem/1005", "gid://shopify/Location/1", "sync", 1, 3,
	  2147483648LL, 2147483645LL, CS_FAILED },
	{ "F-6", "gid://shopify/InventoryItem/1006", "gid://shopify/Location/1", "sync", 1, 1, 2, 2,
	  CS_FAILED },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* Does the script of answers hold s anywhere (it may hold NUL bytes)? */
static int
script_has(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; n <= fz.n && i <= fz.n - n; i++)
		if (!memcmp(fz.p + i, s, n))
			return 1;
	return 0;
}

/* Mutations: a key, the same body for the same key, at most 250 entries. */
static void
check_requests(void)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!strcmp(e->method, "POST") && e->idempotent);
		/* the token goes in a header only; it may come back in a request only
		 * as data the server itself sent (a cursor, an id) */
		if (!script_has(TOKEN))
			CHECK(!fz_contains(e->url, TOKEN) && !fz_contains(e->body, TOKEN));
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL);
		CHECK(b != NULL);
		const char *q = json_string_value(json_object_get(b, "query"));
		CHECK(q != NULL);
		if (!strncmp(q, "mutation", 8)) {
			json_t *vars = json_object_get(b, "variables");
			const char *key = json_string_value(json_object_get(vars, "key"));
			CHECK(key && strlen(key) == 36);
			json_t *in = json_object_get(vars, "input");
			json_t *arr = json_object_get(in, "changes");
			if (!arr)
				arr = json_object_get(in, "quantities");
			CHECK(json_is_array(arr) && json_array_size(arr) >= 1 && json_array_size(arr) <= 250);
			for (size_t k = 0; k < i; k++) {
				const struct fz_sent *o = &fz.sent[k];
				if (strstr(o->body, key))
					CHECK(o->bodylen == e->bodylen && !memcmp(o->body, e->body, e->bodylen));
			}
		}
		json_decref(b);
	}
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
	int op = ctl & 3, cas = (ctl >> 2) & 1;
	size_t ncorr = 1 + ((ctl >> 3) & 7);
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, cas ? "cas" : "shop", 0, &err, &code);
	CHECK(c != NULL && code == 0);

	int rc;
	if (op <= 1) {
		struct pull_opts o = { 0 };
		if (op == 1 && (ctl & 0x40)) {
			o.items = (const char **)filt_items;
			o.nitems = 3;
		} else if (op == 1) {
			o.skus = (const char **)filt_skus;
			o.nskus = (ctl & 0x80) ? 2 : 3;	/* with or without one the search cannot quote */
		}
		struct pulled_ctx x = { cas, &o, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
	} else {
		struct corr cs[8], *v[8];
		memset(cs, 0, sizeof cs);
		for (size_t i = 0; i < ncorr; i++) {
			const struct fixed *f = &fixed[i];
			cs[i].sku = f->sku;
			cs[i].item = f->item;
			cs[i].location = f->loc;
			cs[i].reason = f->reason;
			cs[i].has_from = f->has_from;
			cs[i].from = f->from;
			cs[i].to = f->to;
			cs[i].delta = f->delta;
			corr_key(&cs[i], "fuzz-run");
			v[i] = &cs[i];
		}
		if (op == 2) {
			rc = c->drv->read(c, v, ncorr, &err);
			for (size_t i = 0; i < ncorr; i++)
				if (!is_gid(fixed[i].item, "InventoryItem"))
					CHECK(!cs[i].has_current);
		} else {
			rc = c->drv->push(c, v, ncorr, "fuzz-run", &err);
			for (size_t i = 0; i < ncorr; i++) {
				struct corr *k = &cs[i];
				CHECK(final_status(k->status));
				if (k->status == CS_FAILED || k->status == CS_CONFLICT)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED)
					CHECK(k->error[0] == '\0');
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				if (k->status == CS_APPLIED && !k->has_from)
					CHECK(k->has_after);	/* the value set, or the one the answer lists */
				CHECK(!fz_contains(k->error, TOKEN));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc) {
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	}
	CHECK(!fz_contains(err.s, TOKEN));
	check_requests();
	chan_close(c);
	buf_release(&err);
	return 0;
}
