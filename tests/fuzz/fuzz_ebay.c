/*
 * fuzz_ebay.c - the eBay driver's handling of Sell Inventory answers:
 * inventory_item pages (total, next links, shipToLocationAvailability and
 * availabilityDistributions), bulk_get_inventory_item and
 * bulk_update_price_quantity answers (200/207 with per-SKU statusCode and
 * errors), HTTP failures (401, 429, 5xx, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull with --item (or --sku with bit 6), 2 read, 3 push
 *   bit 2     channel "ebd": distributions = yes
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the token appears in no message or
 * result even when the server echoes it; a pulled record is a non-empty
 * SKU at "" (or, with distributions, at a merchantLocationKey), state
 * available, once per (item, location).  After read, a correction has a
 * current quantity exactly when the answer showed one, and it is that one.
 * After push every correction is decided and those the driver must refuse
 * are refused; every write is a bulk_update_price_quantity (not
 * idempotent, never re-sent by the transport) of at most 25 SKUs, each
 * the ship-to total of a correction, set to exactly its `to`, and sent
 * only after a bulk_get (since that SKU's last write) whose answer showed
 * `from` (no quantity when `from` is null): eBay has no compare-and-set,
 * so this re-read is what keeps a sale.  A SKU whose write answer was lost
 * is never written again.  A correction is applied only when an answer
 * said so (statusCode 200 for its SKU) or a later read showed `to`;
 * unchanged only when a read showed `to`.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define TOKEN "v^1.1#i^1#fuzz_eb_t0ken_77"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_eb.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[eb]\ntype = ebay\nbase_url = http://127.0.0.1:9\n\n"
	    "[ebd]\ntype = ebay\nbase_url = http://127.0.0.1:9/\ndistributions = yes\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_EB", TOKEN, 1);
	setenv("INVKIT_TOKEN_EBD", TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* ---- pull ---- */

static const char *const filt_items[] = { "E-1", "E-2", "x" };
static const char *const filt_skus[] = { "E-1", "E-3" };

struct pulled_ctx {
	const struct pull_opts *o;
	int dist;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && *p->item && p->sku && !strcmp(p->item, p->sku));
	CHECK(p->location && (x->dist || !*p->location));
	CHECK(p->state && !strcmp(p->state, "available"));
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);	/* one record per SKU and location */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
	if (x->o->items || x->o->skus) {
		int ok = 0;
		for (size_t i = 0; x->o->items && i < x->o->nitems; i++)
			ok |= !strcmp(x->o->items[i], p->item);
		for (size_t i = 0; x->o->skus && i < x->o->nskus; i++)
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

#define LONG_SKU "E-0123456789012345678901234567890123456789012345678901"

static const struct fixed fixed[] = {
	{ "E-1", "E-1", "", 1, 5, 3, -2, -1 },
	{ "E-2", "E-2", "", 1, 3, 5, 2, -1 },
	{ "E-3", "E-3", "", 1, 3, 3, 0, -1 },
	{ "E-4", "E-4", "", 0, 0, 4, 4, -1 },
	{ "E-5", "E-5", "WH-1", 1, 1, 2, 1, CS_FAILED },
	{ "E-1", "E-1", "", 1, 5, 6, 1, -1 },
	{ LONG_SKU, LONG_SKU, "", 1, 1, 2, 1, CS_FAILED },
	{ "E-7", "", "", 1, 2, 0, -2, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

static const char *
sku_of(const struct corr *k)
{
	return k->item && *k->item ? k->item : k->sku;
}

/*
 * What bulk_get answer a (a parsed body) says of sku, as the driver reads
 * it: 1 a quantity (*q), 0 none (404, or no ship-to quantity), -1 the
 * answer does not tell (the driver must not decide from it).
 */
static int
bulk_shows(json_t *a, const char *sku, int64_t *q)
{
	json_t *rs = json_object_get(a, "responses"), *hit = NULL;
	for (size_t j = 0; j < json_array_size(rs) && !hit; j++) {
		const char *s = json_string_value(json_object_get(json_array_get(rs, j), "sku"));
		if (s && !strcmp(s, sku))
			hit = json_array_get(rs, j);
	}
	json_t *sc = json_object_get(hit, "statusCode");
	if (!hit || !json_is_integer(sc))
		return -1;
	if (json_integer_value(sc) == 404)
		return 0;
	if (json_integer_value(sc) != 200)
		return -1;
	json_t *v = json_object_get(json_object_get(json_object_get(json_object_get(hit,
	    "inventoryItem"), "availability"), "shipToLocationAvailability"), "quantity");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return -1;
	*q = json_integer_value(v);
	return 1;
}

/* Whether the body of request i (a bulk call) names sku. */
static int
names_sku(size_t i, const char *sku, int64_t *qty)
{
	const struct fz_sent *e = &fz.sent[i];
	json_t *b = json_loadb(e->body, e->bodylen, 0, NULL), *it;
	size_t k;
	int hit = 0;
	json_array_foreach(json_object_get(b, "requests"), k, it) {
		const char *s = json_string_value(json_object_get(it, "sku"));
		if (s && !strcmp(s, sku) && !hit) {
			hit = 1;
			if (qty)
				*qty = json_integer_value(json_object_get(json_object_get(it,
				    "shipToLocationAvailability"), "quantity"));
		}
	}
	json_decref(b);
	return hit;
}

static int
is_get(size_t i)
{
	return strstr(fz.sent[i].url, "/bulk_get_inventory_item") != NULL;
}

static int
is_write(size_t i)
{
	return strstr(fz.sent[i].url, "/bulk_update_price_quantity") != NULL;
}

/* What the last bulk_get naming sku before request i (and after request from) showed. */
static int
read_before(size_t from, size_t i, const char *sku, int64_t *q)
{
	for (size_t j = i; j-- > from;) {
		if (!is_get(j) || !names_sku(j, sku, NULL))
			continue;
		if (fz.sent[j].status != 200 && fz.sent[j].status != 207)
			return -1;
		json_t *a = fz_answer_json(j);
		int r = bulk_shows(a, sku, q);
		json_decref(a);
		return r;
	}
	return -1;
}

static void
check_requests(const struct corr *cs, size_t n)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		/* a page's query is the server's (its next link): it may echo anything */
		CHECK((i > 0 && !strcmp(e->method, "GET")) || !fz_contains(e->url, TOKEN));
		CHECK(!fz_contains(e->body, TOKEN));
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0 && strstr(e->url, "/sell/inventory/v1/inventory_item?"));
			continue;
		}
		CHECK(!strcmp(e->method, "POST"));
		if (is_get(i)) {
			CHECK(e->idempotent);
			continue;
		}
		CHECK(is_write(i) && !e->idempotent && e->no_retry);
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL), *it;
		json_t *reqs = json_object_get(b, "requests");
		size_t k;
		CHECK(json_array_size(reqs) >= 1 && json_array_size(reqs) <= 25);
		json_array_foreach(reqs, k, it) {
			const char *sku = json_string_value(json_object_get(it, "sku"));
			json_t *q = json_object_get(json_object_get(it, "shipToLocationAvailability"), "quantity");
			CHECK(sku && json_is_integer(q) && json_object_size(it) == 2);
			/* once in the request */
			for (size_t k2 = 0; k2 < k; k2++)
				CHECK(strcmp(sku, json_string_value(json_object_get(json_array_get(reqs, k2),
				    "sku"))) != 0);
			/* since its last write: never after a lost answer, and re-read first */
			size_t last = 0;
			for (size_t j = 0; j < i; j++)
				if (is_write(j) && names_sku(j, sku, NULL)) {
					CHECK(!fz.sent[j].ambiguous);
					last = j + 1;
				}
			int64_t cur = 0;
			int shown = read_before(last, i, sku, &cur);
			int ok = 0;
			for (size_t c = 0; c < n; c++) {
				if (strcmp(sku_of(&cs[c]), sku) || *cs[c].location || cs[c].to != json_integer_value(q))
					continue;
				ok |= cs[c].has_from ? shown == 1 && cur == cs[c].from : shown == 0;
			}
			CHECK(ok);
		}
		json_decref(b);
	}
}

/* Applied or unchanged only on the word of an answer. */
static void
check_confirmed(const struct corr *k)
{
	const char *sku = sku_of(k);
	int ok = 0;
	for (size_t i = 0; i < fz.nsent && !ok; i++) {
		int64_t q;
		if (is_get(i) && names_sku(i, sku, NULL) && (fz.sent[i].status == 200 ||
		    fz.sent[i].status == 207)) {
			json_t *a = fz_answer_json(i);
			ok = bulk_shows(a, sku, &q) == 1 && q == k->to;
			json_decref(a);
		} else if (k->status == CS_APPLIED && is_write(i) && names_sku(i, sku, &q) && q == k->to &&
		    !fz.sent[i].ambiguous && (fz.sent[i].status == 200 || fz.sent[i].status == 207)) {
			json_t *a = fz_answer_json(i), *rs = json_object_get(a, "responses"), *hit = NULL;
			for (size_t j = 0; j < json_array_size(rs) && !hit; j++) {
				const char *s = json_string_value(json_object_get(json_array_get(rs, j), "sku"));
				if (s && !strcmp(s, sku))
					hit = json_array_get(rs, j);
			}
			json_t *sc = json_object_get(hit, "statusCode");
			ok = json_is_integer(sc) && json_integer_value(sc) == 200;
			json_decref(a);
		}
	}
	CHECK(ok);
	if (k->status == CS_APPLIED)
		CHECK(k->has_after && k->after == k->to);
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
	int op = ctl & 3, dist = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, dist ? "ebd" : "eb", 0, &err, &code);
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
		struct pulled_ctx x = { &o, dist, NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
		/* pages only: reads and writes are for read and push */
		for (size_t i = 0; i < fz.nsent; i++)
			CHECK(!strcmp(fz.sent[i].method, "GET"));
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
			for (size_t i = 0; i < fz.nsent; i++)
				CHECK(is_get(i));
			/* what the answer showed, for the quantity asked for */
			for (size_t i = 0; i < ncorr && rc == 0; i++) {
				struct corr *k = &cs[i];
				if (*k->location)
					continue;	/* a distribution: not checked here */
				int64_t q = 0;
				int shown = read_before(0, fz.nsent, sku_of(k), &q);
				CHECK(shown >= 0 && k->has_current == shown);
				if (shown)
					CHECK(k->current == q);
			}
		} else {
			rc = c->drv->push(c, v, ncorr, "fuzz-run", &err);
			for (size_t i = 0; i < ncorr; i++) {
				struct corr *k = &cs[i];
				CHECK(final_status(k->status));
				if (k->status == CS_FAILED || k->status == CS_CONFLICT)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED || k->status == CS_UNCHANGED) {
					CHECK(k->error[0] == '\0');
					check_confirmed(k);
				}
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!fz_contains(k->error, TOKEN));
			}
			/* a round waits at most once, 7 rounds a batch */
			CHECK(fz.sleeps <= 6);
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, TOKEN));
	if (getenv("FUZZ_SHOW")) {	/* to see what a seed does */
		fprintf(stderr, "rc %d, %zu requests, %u waits: %s\n", rc, fz.nsent, fz.sleeps,
		    err.s ? err.s : "");
		for (size_t i = 0; i < ncorr && op == 3; i++)
			fprintf(stderr, "  %s@%s: %s %s\n", cs[i].item, cs[i].location,
			    corr_status_names[cs[i].status], cs[i].error);
	}
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
