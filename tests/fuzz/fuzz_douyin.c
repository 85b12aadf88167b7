/*
 * fuzz_douyin.c - the Douyin (抖店) driver's handling of open-platform
 * answers: product.listV2 pages, sku.list and sku.stockNum answers, the
 * envelopes of sku.syncStock and sku.syncStockBatch (success, refusals in
 * Chinese, throttling, auth), HTTP failures and lost answers.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bit 2     read/push: the corrections of `one` (all of product 801, so they
 *             go as sku.syncStockBatch), else those of `fixed` (one product each)
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; neither the app secret nor the access
 * token appears in a message or result, and the secret in no URL; every
 * request carries a sign that dy_sign computes again from its URL and body,
 * and a param_json whose keys are sorted; a pulled item is "P/S" with
 * location "", comes once and passes the filters; after push every
 * correction is decided (or pending with a reason), those the driver must
 * refuse are refused, an unchanged one sent nothing; every write is an
 * incremental sku.syncStock, or a sku.syncStockBatch of two SKUs or more of
 * one product (in sku_id order, each once, sku_type 0), with an
 * idempotent_id, marked idempotent; each SKU changes by exactly the `delta`
 * of a correction of that item when its `from` is known (DESIGN.md rule 1),
 * after a read of its SKU when not; a correction is written under one
 * idempotent_id only, and every attempt of one idempotent_id carries the
 * same body (a repeat cannot apply twice).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "dy_fuzz_s3cret_5a5a"
#define TOKEN "dy_fuzz_t0ken_77a7"

int dy_sign(const char *secret, int md5, const char *app_key, const char *method,
    const char *param_json, const char *ts, char *out, size_t outlen);

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_dy.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[dy]\ntype = douyin\nbase_url = http://127.0.0.1:9/douyin/fz\napp_key = fzkey\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_DY", SECRET ":" TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* "P/S", positive decimal numbers. */
static int
item_ok(const char *s, int64_t *pid, int64_t *sid)
{
	char *e;
	if (*s < '1' || *s > '9')
		return 0;
	*pid = strtoll(s, &e, 10);
	if (*e != '/' || e[1] < '1' || e[1] > '9')
		return 0;
	*sid = strtoll(e + 1, &e, 10);
	return *e == '\0' && *pid > 0 && *sid > 0;
}

/* The percent-decoded value of query parameter k of url, into out. */
static int
query_get(const char *url, const char *k, char *out, size_t outlen)
{
	const char *q = strchr(url, '?');
	size_t kl = strlen(k), n = 0;
	for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, k, kl) || p[1 + kl] != '=')
			continue;
		for (const char *v = p + 2 + kl; *v && *v != '&' && n + 1 < outlen; v++) {
			if (*v == '%' && v[1] && v[2]) {
				char h[3] = { v[1], v[2], 0 };
				out[n++] = (char)strtol(h, NULL, 16);
				v += 2;
			} else {
				out[n++] = *v;
			}
		}
		out[n] = '\0';
		return 1;
	}
	return 0;
}

/* ---- pull ---- */

static const char *const filt_items[] = { "801/9010", "802/9020", "x" };
static const char *const filt_skus[] = { "D-1", "D-2" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	int64_t pid, sid;
	CHECK(p->item && item_ok(p->item, &pid, &sid));
	CHECK(p->sku && p->location && !strcmp(p->location, ""));
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
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "D-1", "801/9010", "", 1, 5, 3, -2, -1 },
	{ "D-2", "802/9020", "", 1, 3, 5, 2, -1 },
	{ "D-3", "803/9030", "", 1, 3, 3, 0, CS_UNCHANGED },
	{ "D-4", "804/9040", "", 0, 0, 4, 4, -1 },
	{ "X", "x", "", 1, 1, 2, 1, CS_FAILED },
	{ "D-5", "805/9050", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "D-6", "806/9060", "", 1, 2, -1, -3, CS_FAILED },
	{ "D-7", "807/9070", "", 1, 2, 9000000000LL, 8999999998LL, CS_FAILED },
};

/* All on product 801: two or more to write go as one sku.syncStockBatch. */
static const struct fixed one[] = {
	{ "E-1", "801/9011", "", 1, 5, 3, -2, -1 },
	{ "E-2", "801/9012", "", 1, 3, 5, 2, -1 },
	{ "E-3", "801/9013", "", 1, 3, 3, 0, CS_UNCHANGED },
	{ "E-4", "801/9014", "", 0, 0, 4, 4, -1 },
	{ "E-5", "801/9010", "", 1, 1, 2, 1, -1 },	/* a lower sku_id than those before */
	{ "E-6", "801/9015", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "E-7", "801/9016", "", 1, 2, -1, -3, CS_FAILED },
	{ "E-8", "801/9011", "", 1, 5, 9, 4, -1 },	/* E-1's SKU again: a request of its own */
};

static char wrote[8][40];	/* the idempotent_id each correction was written under */

/*
 * A write of num to SKU pid/sid in request i under key: it is the change
 * of a correction of that item (exactly its delta when `from` is known,
 * after a read of the SKU when not), and that correction was not written
 * under another key.
 */
static void
check_write(const struct corr *cs, size_t n, int64_t pid, int64_t sid, int64_t num, size_t i,
    const char *key)
{
	char needle[48];
	int found = -1;
	snprintf(needle, sizeof needle, "\"sku_id\":%lld", (long long)sid);
	CHECK(num != 0);
	for (size_t k = 0; k < n && found < 0; k++) {
		int64_t p, s;
		if (!item_ok(cs[k].item, &p, &s) || p != pid || s != sid || cs[k].to < 0)
			continue;
		if (cs[k].has_from) {
			if (num == cs[k].delta)
				found = (int)k;
		} else {
			int read = 0;	/* its SKU read before */
			for (size_t r = 0; r < i; r++)
				read |= strstr(fz.sent[r].url, "method=sku.stockNum") &&
				    fz.sent[r].body && strstr(fz.sent[r].body, needle);
			if (read)
				found = (int)k;
		}
	}
	CHECK(found >= 0);	/* only what was asked for, by its delta */
	CHECK(!wrote[found][0] || !strcmp(wrote[found], key));
	snprintf(wrote[found], sizeof wrote[found], "%s", key);
}

/* Every request: signed as dy_sign says, param_json sorted; writes as rule 1 wants. */
static void
check_requests(const struct corr *cs, size_t n)
{
	memset(wrote, 0, sizeof wrote);
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		char method[64], ts[64], sign[160], want[160], sm[32];
		CHECK(!fz_contains(e->url, SECRET));
		CHECK(!strcmp(e->method, "POST") && e->idempotent);
		CHECK(query_get(e->url, "method", method, sizeof method));
		CHECK(query_get(e->url, "timestamp", ts, sizeof ts) && strlen(ts) == 19);
		CHECK(query_get(e->url, "sign", sign, sizeof sign));
		CHECK(query_get(e->url, "sign_method", sm, sizeof sm) && !strcmp(sm, "hmac-sha256"));
		char *body = xstrndup(e->body ? e->body : "", e->bodylen);
		CHECK(dy_sign(SECRET, 0, "fzkey", method, body, ts, want, sizeof want) == 0);
		CHECK(!strcmp(sign, want));
		json_t *b = json_loads(body, 0, NULL);
		CHECK(json_is_object(b));
		char *again = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK(again && !strcmp(again, body));	/* compact, keys sorted */
		free(again);
		const char *key = json_string_value(json_object_get(b, "idempotent_id"));
		json_int_t pid = json_integer_value(json_object_get(b, "product_id"));
		if (!strcmp(method, "sku.syncStock")) {
			CHECK(json_object_size(b) == 5);
			CHECK(json_is_true(json_object_get(b, "incremental")) && key && strlen(key) == 36);
			CHECK(json_is_integer(json_object_get(b, "stock_num")));
			check_write(cs, n, pid, json_integer_value(json_object_get(b, "sku_id")),
			    json_integer_value(json_object_get(b, "stock_num")), i, key);
		} else if (!strcmp(method, "sku.syncStockBatch")) {
			json_t *list = json_object_get(b, "sku_sync_list");
			CHECK(json_object_size(b) == 4);
			CHECK(json_is_true(json_object_get(b, "incremental")) && key && strlen(key) == 36);
			CHECK(json_is_array(list) && json_array_size(list) >= 2);
			json_int_t prev = 0;
			for (size_t x = 0; x < json_array_size(list); x++) {
				json_t *e = json_array_get(list, x);
				json_int_t sid = json_integer_value(json_object_get(e, "sku_id"));
				CHECK(json_object_size(e) == 3 && sid > prev);	/* in order, each once */
				CHECK(json_is_integer(json_object_get(e, "sku_type")) &&
				    json_integer_value(json_object_get(e, "sku_type")) == 0);
				CHECK(json_is_integer(json_object_get(e, "stock_num")));
				check_write(cs, n, pid, sid,
				    json_integer_value(json_object_get(e, "stock_num")), i, key);
				prev = sid;
			}
		} else {
			CHECK(!key);	/* reads carry none */
		}
		/* an earlier attempt with the same key had the same body */
		for (size_t k = 0; key && k < i; k++)
			if (fz.sent[k].body && strstr(fz.sent[k].body, key))
				CHECK(fz.sent[k].bodylen == e->bodylen &&
				    !memcmp(fz.sent[k].body, e->body, e->bodylen));
		json_decref(b);
		free(body);
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

	struct chan *c = chan_open(&cfg, "dy", 0, &err, &code);
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
		const struct fixed *tab = ctl & 4 ? one : fixed;
		ncorr = 1 + ((ctl >> 3) & 7);
		for (size_t i = 0; i < ncorr; i++) {
			const struct fixed *f = &tab[i];
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
				CHECK(k->status == CS_APPLIED || k->status == CS_UNCHANGED ||
				    k->status == CS_FAILED || k->status == CS_PENDING);
				if (k->status == CS_FAILED || k->status == CS_PENDING)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED || k->status == CS_UNCHANGED)
					CHECK(k->error[0] == '\0');
				if (tab[i].must >= 0)
					CHECK(k->status == tab[i].must);
				CHECK(!fz_contains(k->error, SECRET) && !fz_contains(k->error, TOKEN));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, SECRET) && !fz_contains(err.s, TOKEN));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
