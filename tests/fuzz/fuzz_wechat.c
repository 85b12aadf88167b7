/*
 * fuzz_wechat.c - the WeChat Channels shop driver's handling of answers:
 * the stable_token answer, product/list/get pages, stock/batchget, the
 * stock/get re-reads before a write, stock/update answers (errcodes,
 * Chinese errmsg), HTTP failures (429, 5xx, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers (the first one normally the
 * token's):
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the AppSecret appears in no URL,
 * message or result even when the server echoes it, and travels only in
 * the body of /cgi-bin/stable_token; every other call carries the access
 * token in its query; a pulled item is "P/S" with location "", comes once
 * and passes the filters; after push every correction is decided, those
 * the driver must refuse are refused; every write is a JSON POST of
 * stock/update for a correction of the batch, diff_type 1 or 2 (never 3),
 * changing a correction with a known `from` by exactly its delta (DESIGN.md
 * rule 1), num > 0, never re-sent by the transport, and sent only after a
 * stock/get of its SKU since that SKU's last write.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "wx_fuzz_app_s3cret_77"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_wx.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[wx]\ntype = wechat\nbase_url = http://127.0.0.1:9/wechat/fz\n"
	    "app_id = wx_fuzz_appid\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_WX", SECRET, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* "P/S", positive decimal numbers without leading zeros. */
static int
item_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || s[0] < '1' || s[0] > '9' || slash[1] < '1' || slash[1] > '9')
		return 0;
	return strspn(s, "0123456789") == (size_t)(slash - s) &&
	    strspn(slash + 1, "0123456789") == strlen(slash + 1);
}

/* ---- pull ---- */

static const char *const filt_items[] = { "10/100", "20/201", "x" };
static const char *const filt_skus[] = { "10/101", "y" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	CHECK(p->item && item_ok(p->item));
	CHECK(p->sku && !strcmp(p->sku, p->item));
	CHECK(p->location && !strcmp(p->location, ""));
	CHECK(p->state && !strcmp(p->state, "available"));
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
	const char *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "10/100", "", 1, 5, 3, -2, -1 },
	{ "20/201", "", 1, 3, 5, 2, -1 },
	{ "10/101", "", 1, 3, 3, 0, -1 },
	{ "30/300", "", 0, 0, 4, 4, -1 },
	{ "x", "", 1, 1, 2, 1, CS_FAILED },
	{ "40/400", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "10/100", "", 1, 5, 6, 1, CS_FAILED },	/* the same SKU twice */
	{ "50/500", "", 1, 2, 9000000000000000002LL, 9000000000000000000LL, CS_FAILED },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void
check_requests(const struct corr *cs, size_t n)
{
	char fresh[64][48];	/* "P/S" read since its last write */
	size_t nf = 0;
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!fz_contains(e->url, SECRET));
		CHECK(!strcmp(e->method, "POST"));
		json_t *b = json_loadb(e->body ? e->body : "", e->bodylen, 0, NULL);
		CHECK(json_is_object(b));
		if (strstr(e->url, "/cgi-bin/stable_token")) {
			CHECK(!strchr(e->url, '?') && e->idempotent);
			CHECK(!strcmp(jstr(b, "grant_type"), "client_credential") &&
			    !strcmp(jstr(b, "appid"), "wx_fuzz_appid") && !strcmp(jstr(b, "secret"), SECRET));
			json_decref(b);
			continue;
		}
		CHECK(strstr(e->url, "?access_token=") != NULL);
		CHECK(!e->body || !fz_contains(e->body, SECRET));
		char key[48];
		snprintf(key, sizeof key, "%s/%s", jstr(b, "product_id"), jstr(b, "sku_id"));
		if (strstr(e->url, "/channels/ec/product/stock/get?")) {
			CHECK(e->idempotent && item_ok(key));
			size_t f = 0;
			while (f < nf && strcmp(fresh[f], key))
				f++;
			if (f == nf && nf < 64)
				snprintf(fresh[nf++], sizeof fresh[0], "%s", key);
		} else if (strstr(e->url, "/channels/ec/product/list/get?")) {
			CHECK(e->idempotent);
			json_int_t ps = json_integer_value(json_object_get(b, "page_size"));
			CHECK(ps >= 1 && ps <= 30);
		} else if (strstr(e->url, "/channels/ec/product/stock/batchget?")) {
			CHECK(e->idempotent);
			size_t np = json_array_size(json_object_get(b, "product_id"));
			CHECK(np >= 1 && np <= 50);
		} else {
			CHECK(strstr(e->url, "/channels/ec/product/stock/update?") != NULL);
			CHECK(!e->idempotent && e->no_retry);
			json_int_t dt = json_integer_value(json_object_get(b, "diff_type"));
			json_int_t q = json_integer_value(json_object_get(b, "num"));
			CHECK((dt == 1 || dt == 2) && q > 0);
			const struct corr *c = NULL;
			for (size_t k = 0; k < n && !c; k++)
				if (!strcmp(cs[k].item, key) && !cs[k].location[0])
					c = &cs[k];
			CHECK(c != NULL);	/* only what was asked for */
			if (c->has_from)
				CHECK((dt == 1 ? q : -q) == c->to - c->from);
			/* its SKU read since its last write, and now no longer fresh */
			size_t f = 0;
			while (f < nf && strcmp(fresh[f], key))
				f++;
			CHECK(f < nf);
			fresh[f][0] = '\0';
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

	struct chan *c = chan_open(&cfg, "wx", 0, &err, &code);
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
			cs[i].sku = f->item;
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
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, SECRET));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
