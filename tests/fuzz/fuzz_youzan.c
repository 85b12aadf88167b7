/*
 * fuzz_youzan.c - the Youzan driver's handling of 有赞云 answers: the
 * token service, youzan.items.onsale.get / inventory.get pages, the
 * youzan.item.get reads (before a write, and after a lost answer), stock
 * update answers (gw_err_resp, success/code/message with Chinese text,
 * is_success false), HTTP failures (429, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *   bit 7     pull with --since
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the client_secret travels only in the
 * body of /auth/token, never in a URL, message or result, even when the
 * server echoes it; a pulled item is "I" or "I/S" with location "", comes
 * once and passes the filters; after push every correction is decided,
 * those the driver must refuse are refused; every write is a JSON POST of
 * youzan.item.quantity.update with type 1 for a correction of the batch,
 * changing one with a known `from` by exactly its delta (DESIGN.md rule 1),
 * never by 0, never re-sent by the transport, and sent only after a read of
 * its item since the SKU's last write.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "yz_fuzz_cl1ent_secret_77"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_yz.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[yz]\ntype = youzan\nbase_url = http://127.0.0.1:9/youzan/fz\n"
	    "client_id = yz_fuzz_client\ngrant_id = 4242\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_YZ", SECRET, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* "I" or "I/S", positive decimal numbers without leading zeros (*sid 0: none). */
static int
item_ok(const char *s, int64_t *iid, int64_t *sid)
{
	char *e;
	if (*s < '1' || *s > '9')
		return 0;
	*iid = strtoll(s, &e, 10);
	*sid = 0;
	if (*e == '\0')
		return *iid > 0;
	if (*e != '/' || e[1] < '1' || e[1] > '9')
		return 0;
	*sid = strtoll(e + 1, &e, 10);
	return *e == '\0' && *iid > 0 && *sid > 0;
}

/* ---- pull ---- */

static const char *const filt_items[] = { "10", "20/201", "x" };
static const char *const filt_skus[] = { "K-1", "K-2" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	int64_t iid, sid;
	CHECK(p->item && item_ok(p->item, &iid, &sid));
	CHECK(p->sku && p->location && !strcmp(p->location, ""));
	CHECK(p->state && !strcmp(p->state, "available"));
	CHECK(!fz_contains(p->sku, SECRET));
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], p->item) != 0);	/* one record per SKU */
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
	{ "K-1", "10", "", 1, 5, 3, -2, -1 },
	{ "K-2", "20/201", "", 1, 3, 5, 2, -1 },
	{ "K-3", "20/202", "", 1, 3, 3, 0, -1 },
	{ "K-4", "30/300", "", 0, 0, 4, 4, -1 },
	{ "X", "x/1", "", 1, 1, 2, 1, CS_FAILED },
	{ "K-5", "40", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "K-1", "10", "", 1, 5, 6, 1, CS_FAILED },	/* the same SKU twice */
	{ "K-6", "50/500", "", 1, 2, 9000000000000000002LL, 9000000000000000000LL, CS_FAILED },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* Items read, and the SKUs of each written since that read. */
struct fresh {
	int64_t iid;
	int64_t sids[8];
	size_t n;
};

static void
check_requests(const struct corr *cs, size_t n)
{
	struct fresh fresh[64];
	size_t nf = 0;
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!fz_contains(e->url, SECRET));
		CHECK(!strcmp(e->method, "POST"));
		if (strstr(e->url, "/auth/token")) {
			CHECK(e->idempotent && !strstr(e->url, "access_token="));
			continue;
		}
		CHECK(!fz_contains(e->body, SECRET));
		CHECK(strstr(e->url, "/3.0.0?access_token="));
		json_t *p = json_loadb(e->body ? e->body : "", e->bodylen, 0, NULL);
		CHECK(json_is_object(p));
		if (strstr(e->url, "/api/youzan.item.get/")) {
			CHECK(e->idempotent);
			int64_t id = json_integer_value(json_object_get(p, "item_id"));
			size_t f = 0;
			while (f < nf && fresh[f].iid != id)
				f++;
			if (f == nf && nf < 64)
				nf++;
			if (f < nf) {
				fresh[f].iid = id;
				fresh[f].n = 0;
			}
		} else if (strstr(e->url, "/api/youzan.items.onsale.get/") ||
		    strstr(e->url, "/api/youzan.items.inventory.get/")) {
			CHECK(e->idempotent);
			int64_t sz = json_integer_value(json_object_get(p, "page_size"));
			CHECK(sz >= 1 && sz <= 300);
		} else {
			CHECK(strstr(e->url, "/api/youzan.item.quantity.update/3.0.0?"));
			CHECK(!e->idempotent && e->no_retry);
			int64_t iid = json_integer_value(json_object_get(p, "item_id"));
			json_t *js = json_object_get(p, "sku_id");
			int64_t sid = js ? json_integer_value(js) : 0;
			int64_t q = json_integer_value(json_object_get(p, "quantity"));
			CHECK(json_integer_value(json_object_get(p, "type")) == 1);
			CHECK(q != 0 && q <= 100000000 && q >= -100000000);
			CHECK(!js || sid > 0);
			const struct corr *c = NULL;
			for (size_t k = 0; k < n && !c; k++) {
				int64_t a, b;
				if (item_ok(cs[k].item, &a, &b) && a == iid && b == sid && !cs[k].location[0])
					c = &cs[k];
			}
			CHECK(c != NULL);	/* only what was asked for */
			if (c->has_from)
				CHECK(q == c->to - c->from);
			size_t f = 0;
			while (f < nf && fresh[f].iid != iid)
				f++;
			CHECK(f < nf);	/* its item read before */
			for (size_t k = 0; k < fresh[f].n; k++)
				CHECK(fresh[f].sids[k] != sid);	/* and since this SKU's last write */
			CHECK(fresh[f].n < 8);
			fresh[f].sids[fresh[f].n++] = sid;
		}
		json_decref(p);
	}
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

	struct chan *c = chan_open(&cfg, "yz", 0, &err, &code);
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
		if (ctl & 0x80)
			o.since = "2026-03-02T17:14:00+08:00";
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
					CHECK(k->has_from ? k->to == k->from : k->has_current && k->current == k->to);
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!fz_contains(k->error, SECRET));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG || rc == EX_USAGE);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, SECRET));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
