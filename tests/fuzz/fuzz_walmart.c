/*
 * fuzz_walmart.c - the Walmart driver's handling of Marketplace answers:
 * token answers, /v3/inventories pages (nextCursor), one-SKU reads before
 * each write, PUT /v3/inventory answers, inventory feed uploads, feed
 * status reports (paged item details, ingestion errors), the feed listing
 * that finds an upload whose answer was lost, the rate headers and HTTP
 * failures (429, 5xx, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *   bit 6     push through channel wmf (feed_min = 1: inventory feeds of at
 *             most 1024 bytes), else wm (one PUT per SKU)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the client secret (or its base64)
 * appears in no message, result or URL; a pulled record is its SKU at a
 * ship node, on hand, passing the filters; after push every correction is
 * decided and those the driver must refuse are refused; every write (a PUT
 * or a feed line) sets exactly `to` for a correction of the batch, at its
 * ship node, only after a read of that SKU there since its last write
 * (DESIGN.md rule 3), is never re-sent by the transport, and is never sent
 * again once a write of it may have been applied (a lost answer, 5xx or
 * 200); a feed upload is multipart with one JSON file of version 1.4 and
 * keeps to feed_max_bytes.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define CID "wm_fuzz_client"
#define SECRET "wm_fuzz_s3cret_77a1"
#define FEED_BYTES 1024

static struct config cfg;
static char b64[128];

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_wm.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[wm]\ntype = walmart\nbase_url = http://127.0.0.1:9/walmart/fz\nfeed_poll = 1\n"
	    "[wmf]\ntype = walmart\nbase_url = http://127.0.0.1:9/walmart/fz\nfeed_min = 1\n"
	    "feed_poll = 1\nfeed_wait = 30\nfeed_max_bytes = %d\n", FEED_BYTES);
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_WM", CID ":" SECRET, 1);
	setenv("INVKIT_TOKEN_WMF", CID ":" SECRET, 1);
	struct buf err = BUF_INIT, b = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	buf_add_base64(&b, CID ":" SECRET, strlen(CID ":" SECRET));
	snprintf(b64, sizeof b64, "%s", b.s);
	buf_release(&b);
	unlink(path);
	rmdir(dir);
}

static int
secret_in(const char *s)
{
	return fz_contains(s, SECRET) || fz_contains(s, b64);
}

/* ---- pull ---- */

static const char *const filt[] = { "W-1", "W-3" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && p->sku && !strcmp(p->item, p->sku) && p->location);
	CHECK(p->state && !strcmp(p->state, "on_hand"));
	snprintf(key, sizeof key, "%s\037%s", p->item, p->location);
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
	const char *const *l = x->o->skus ? x->o->skus : x->o->items;
	size_t nl = x->o->skus ? x->o->nskus : x->o->nitems;
	if (l) {
		int ok = 0;
		for (size_t i = 0; i < nl; i++)
			ok |= !strcmp(l[i], p->sku);
		CHECK(ok);
	}
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *loc;
	int has_from;
	int64_t from, to;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "W-1", "", 1, 5, 3, -1 },
	{ "W-2", "701", 1, 3, 5, -1 },
	{ "W-1", "701", 0, 0, 4, -1 },
	{ "W-3", "702", 1, 3, 3, -1 },
	{ "W-4", "701", 1, 1, -2, -1 },		/* below Walmart's range: never written */
	{ "W-2", "701", 1, 3, 6, CS_FAILED },	/* a second one for W-2 at 701 */
	{ "", "701", 1, 1, 2, CS_FAILED },	/* no sku */
	{ "W 5/&?", "702", 1, 2, 7, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* The value of query parameter k of url, percent-decoded, in out ("" if absent: 0). */
static int
query_get(const char *url, const char *k, char *out, size_t outlen)
{
	const char *q = strchr(url, '?');
	size_t kl = strlen(k);
	for (const char *p = q; p; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, k, kl) || p[1 + kl] != '=')
			continue;
		size_t o = 0;
		for (const char *s = p + 2 + kl; *s && *s != '&' && o + 1 < outlen; s++) {
			if (*s == '%' && s[1] && s[2]) {
				char h[3] = { s[1], s[2], 0 };
				out[o++] = (char)strtol(h, NULL, 16);
				s += 2;
			} else
				out[o++] = *s;
		}
		out[o] = '\0';
		return 1;
	}
	*out = '\0';
	return 0;
}

/* Keys "sku\037node" read since their last write, and those never to be written again. */
struct keys {
	char **v;
	size_t n;
};

static int
keys_has(const struct keys *k, const char *s)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i], s))
			return 1;
	return 0;
}

static void
keys_add(struct keys *k, const char *s)
{
	if (keys_has(k, s))
		return;
	k->v = xrealloc(k->v, (k->n + 1) * sizeof *k->v);
	k->v[k->n++] = xstrdup(s);
}

static void
keys_del(struct keys *k, const char *s)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i], s)) {
			free(k->v[i]);
			k->v[i] = k->v[--k->n];
			return;
		}
}

static void
keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* A write of sku at node to q: for a correction of the batch, after a fresh read. */
static void
check_write(const struct corr *cs, size_t n, const char *sku, const char *node, json_int_t q,
    struct keys *fresh, struct keys *done, int maybe_applied)
{
	char key[600];
	int found = 0;
	for (size_t c = 0; c < n; c++)
		found |= !strcmp(cs[c].sku, sku) && !strcmp(cs[c].location, node) && cs[c].to == q;
	CHECK(found && q >= 0 && q <= 2147483647);
	snprintf(key, sizeof key, "%s\037%s", sku, node);
	CHECK(keys_has(fresh, key));
	CHECK(!keys_has(done, key));	/* never again once it may have been applied */
	keys_del(fresh, key);
	if (maybe_applied)
		keys_add(done, key);
}

static void
check_requests(const struct corr *cs, size_t n)
{
	struct keys fresh = { NULL, 0 }, done = { NULL, 0 };
	char sku[300], node[300], key[600];
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!secret_in(e->url));
		int maybe = e->ambiguous || e->status == 200 || (e->status >= 500 && e->status != 503);
		if (strstr(e->url, "/v3/token")) {
			CHECK(!strcmp(e->method, "POST") && !strcmp(e->body, "grant_type=client_credentials"));
			continue;
		}
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0);
			if (strstr(e->url, "/v3/inventory?")) {
				CHECK(query_get(e->url, "sku", sku, sizeof sku));
				query_get(e->url, "shipNode", node, sizeof node);
				snprintf(key, sizeof key, "%s\037%s", sku, node);
				keys_add(&fresh, key);
			} else
				CHECK(strstr(e->url, "/v3/inventories?") || strstr(e->url, "/v3/feeds"));
			continue;
		}
		CHECK(!e->idempotent && e->no_retry);
		if (!strcmp(e->method, "PUT")) {
			CHECK(strstr(e->url, "/v3/inventory?"));
			CHECK(query_get(e->url, "sku", sku, sizeof sku));
			query_get(e->url, "shipNode", node, sizeof node);
			json_t *b = json_loadb(e->body, e->bodylen, 0, NULL);
			CHECK(!strcmp(json_string_value(json_object_get(b, "sku")), sku));
			json_t *qt = json_object_get(b, "quantity");
			CHECK(!strcmp(json_string_value(json_object_get(qt, "unit")), "EACH"));
			check_write(cs, n, sku, node, json_integer_value(json_object_get(qt, "amount")), &fresh,
			    &done, maybe);
			json_decref(b);
			continue;
		}
		/* a feed upload */
		CHECK(!strcmp(e->method, "POST") && strstr(e->url, "/v3/feeds?feedType=inventory"));
		CHECK(e->bodylen <= FEED_BYTES);
		query_get(e->url, "shipNode", node, sizeof node);
		CHECK(!strncmp(e->body, "--invkit-", 9));
		const char *a = strstr(e->body, "\r\n\r\n"), *z = a ? strstr(a, "\r\n--invkit-") : NULL;
		CHECK(a && z && strstr(e->body, "name=\"file\""));
		json_t *b = json_loadb(a + 4, (size_t)(z - a - 4), 0, NULL);
		CHECK(!strcmp(json_string_value(json_object_get(json_object_get(b, "InventoryHeader"),
		    "version")), "1.4"));
		json_t *inv = json_object_get(b, "Inventory"), *it;
		size_t k;
		CHECK(json_array_size(inv) >= 1);
		json_array_foreach(inv, k, it) {
			json_t *qt = json_object_get(it, "quantity");
			CHECK(!strcmp(json_string_value(json_object_get(qt, "unit")), "EACH"));
			check_write(cs, n, json_string_value(json_object_get(it, "sku")), node,
			    json_integer_value(json_object_get(qt, "amount")), &fresh, &done, maybe);
		}
		json_decref(b);
	}
	keys_free(&fresh);
	keys_free(&done);
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

	struct chan *c = chan_open(&cfg, op == 3 && (ctl & 0x40) ? "wmf" : "wm", 0, &err, &code);
	CHECK(c != NULL && code == 0);

	int rc;
	memset(cs, 0, sizeof cs);
	if (op <= 1) {
		struct pull_opts o = { 0 };
		if (op == 1 && (ctl & 0x40)) {
			o.skus = (const char **)filt;
			o.nskus = 2;
		} else if (op == 1) {
			o.items = (const char **)filt;
			o.nitems = 1;
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
			cs[i].item = f->sku;
			cs[i].location = f->loc;
			cs[i].reason = "sync";
			cs[i].has_from = f->has_from;
			cs[i].from = f->from;
			cs[i].to = f->to;
			cs[i].delta = f->to - (f->has_from ? f->from : 0);
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
					CHECK(k->has_from && k->to == k->from);
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
