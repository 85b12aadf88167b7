/*
 * pinduoduo.c - the Pinduoduo (拼多多) driver: the open platform's API
 * router, base_url = https://gw-api.pinduoduo.com/api/router.
 *
 * Facts it relies on, with where each one is stated (the open platform's
 * API pages, open.pinduoduo.com/application/document/api?id=<type>, are
 * behind a login; their fields are reproduced in the SDKs generated from
 * them, e.g. the pdd crate on docs.rs, src/requests/<type>.rs, and
 * the TypeScript SDK's shangPin/<Type>.ts, which is where they were read):
 *   - Every call is a POST to the router; the common parameters are type
 *     (the API's name), client_id, access_token, timestamp (Unix seconds),
 *     data_type (JSON), then the API's own, and sign.  "公共参数" of the
 *     open platform's API guide; pdd crate, src/public_parameters.rs.
 *   - sign = upper-case hex MD5 of client_secret + every parameter but
 *     sign, sorted by name, each name followed by its value + client_secret.
 *     "签名算法" of the API guide, quoted in many SDKs ("所有参数进行按照首
 *     字母先后顺序排列 ... 首尾拼接client_secret进行md5加密后转大写").  A
 *     wrong one is answered {"error_response": {"error_msg": "签名验证失败",
 *     "sub_msg": "签名验证失败", "sub_code": "20004", "error_code": 20004,
 *     "request_id": "..."}} (answers captured in public code).
 *   - Every answer is {"<name>_response": {...}} or {"error_response":
 *     {error_code, error_msg, sub_code, sub_msg, request_id}}; an expired
 *     token is error_code 10019 "access_token已过期".
 *   - pdd.goods.list.get (page from 1, page_size at most 100) answers
 *     goods_list_get_response {total_count, goods_list [{goods_id,
 *     goods_name, goods_quantity, is_onsale, sku_list [{sku_id, outer_id,
 *     sku_quantity, is_sku_onsale, reserve_quantity, spec}]}]}; its limit
 *     is 600 calls a minute.  "商品列表接口".
 *   - pdd.goods.skus.get {goods_id, sku_id} ("库存同步、改价等场景")
 *     answers goods_sku_get_response {goods_id, sku_id, quantity,
 *     reserve_quantity, out_sku_sn, is_onsale, ...}.  "根据skuId查询sku详情".
 *   - pdd.goods.quantity.update {goods_id, sku_id | outer_id, quantity,
 *     update_type: 1 全量 (absolute, the default), 2 增量 (relative: "quantity
 *     为整数，可小于等于0 ... 负数与实际库存之和不能小于0")} answers
 *     goods_quantity_update_response {is_success}; "在资源位上的商品不能减少
 *     库存" (goods on a promotion slot cannot go down).  No idempotency key
 *     and no compare-and-set exist.  "商品库存更新接口".
 * UNVERIFIED (and handled either way): the error codes but 20004 and 10019
 * (we also take 10016 and HTTP 401/403 as "auth refused", and 70031 and
 * HTTP 429 as "throttled": waited out, never counted as a refusal); that a
 * throttled call was not processed (a throttled write is sent again only
 * after a re-read); the words of a business refusal (passed through as the
 * platform wrote them, UTF-8 untouched); the limits of quantity.update and
 * skus.get (we pace at `rate_limit`, default 10 a second, the list's
 * documented limit); the answer for an unknown SKU to skus.get (any business
 * error reads as "no such SKU", which never leads to a write).
 *
 * Items.  A SKU's item is "<goods_id>/<sku_id>"; location "" (one pool per
 * SKU); state "available"; qty is sku_quantity (quantity in skus.get); sku is
 * outer_id, the merchant's code.  Stock held for unpaid orders
 * (reserve_quantity) is not part of it.
 *
 * Push (DESIGN.md, rule 1).  Each correction is read (skus.get) right before
 * its write; one with a known `from` becomes update_type=2 by `delta`, so a
 * sale between pull and push (or during the push) is kept.  There is no
 * idempotency key: a write whose answer was lost (timeout, reset, 5xx, an
 * answer we cannot read) is never sent again; its SKU is read again and the
 * correction is applied when the quantity is the one read before plus the
 * delta, else failed "unknown outcome" with what the re-read shows.  A
 * throttled write (not processed) goes again after a wait and a re-read.  A
 * delta that would take the SKU below zero (a sale took more than the master
 * knew of) is a conflict, not sent.  A correction with `from` null (the pull
 * did not see the SKU) is never written: every Pinduoduo SKU has a quantity,
 * so it is a conflict when the SKU exists now, else failed.
 *
 * The race window that remains.  None for sales: a delta cannot erase one.
 * A lost answer can leave a correction reported failed although applied (a
 * sale moved the SKU in the meantime): safe, the next run pulls again.
 */
#include "platform.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define PAGE_SIZE 100		/* the documented page_size maximum */
#define BATCH_MAX 100		/* corrections in one push() call */
#define MAX_PAGES 20000		/* 2 million goods: pages queued at once are bounded */
#define MAX_PASSES 3		/* readings of the whole list while it keeps changing */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define ID_MAX 24		/* longest id we accept (Pinduoduo's are at most 19 digits) */
#define RATE_DEFAULT 10		/* requests per second: pdd.goods.list.get's 600 a minute */
#define RATE_MIN 0.25
#define MSG_MAX 300		/* bytes of a platform message we keep */

#define T_LIST "pdd.goods.list.get"
#define T_SKU "pdd.goods.skus.get"
#define T_UPDATE "pdd.goods.quantity.update"

/* For the known-answer tests (tests/unit/test_drv_pinduoduo.c). */
int pdd_sign(const char *secret, const char *const *kv, size_t n, char *out, size_t outlen);
int pdd_timestamp(time_t t, char *out, size_t outlen);

struct pdd {
	char *url;		/* base_url: the router */
	char *path;		/* its path, for messages */
	char *client_id;
	char *secret, *token;	/* scrubbed out of any message */
	double rate;		/* requests per second we allow ourselves */
	double slowed_at;	/* when slow_down() last halved it */
};

/* What an answer is. */
enum { A_OK, A_AUTH, A_THROTTLED, A_TEMP, A_REFUSED, A_BAD, A_LOST };

/* ---- signing ---- */

/*
 * The sign of a call: kv holds n name/value pairs (k0, v0, k1, v1, ...) in
 * any order; sign is left out, the rest sorted by name (bytewise).  Writes
 * upper-case hex into out (33 bytes or more).  Returns 0, or -1 when out is
 * too small or MD5 failed.
 */
int
pdd_sign(const char *secret, const char *const *kv, size_t n, char *out, size_t outlen)
{
	size_t *ix = xcalloc(n ? n : 1, sizeof *ix), m = 0;
	struct buf s = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		const char *k = kv[2 * i];
		if (!strcmp(k, "sign"))
			continue;
		size_t j = m++;
		while (j > 0 && strcmp(kv[2 * ix[j - 1]], k) > 0) {
			ix[j] = ix[j - 1];
			j--;
		}
		ix[j] = i;
	}
	buf_adds(&s, secret);
	for (size_t i = 0; i < m; i++) {
		buf_adds(&s, kv[2 * ix[i]]);
		buf_adds(&s, kv[2 * ix[i] + 1]);
	}
	buf_adds(&s, secret);
	if (outlen >= 33 && EVP_Digest(s.s, s.len, md, &mdlen, EVP_md5(), NULL) && mdlen == 16) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(out + 2 * i, 3, "%02X", md[i]);
		rc = 0;
	}
	explicit_bzero(s.s, s.len);
	buf_release(&s);
	free(ix);
	return rc;
}

/*
 * The timestamp parameter: Unix seconds, in decimal.  Seconds since the
 * epoch are the same in every time zone: the machine's TZ plays no part.
 */
int
pdd_timestamp(time_t t, char *out, size_t outlen)
{
	int w = snprintf(out, outlen, "%lld", (long long)t);
	return w > 0 && (size_t)w < outlen ? 0 : -1;
}

/* ---- helpers ---- */

static void
scrub(const struct pdd *p, struct buf *m)
{
	const char *hide[] = { p->secret, p->token };
	buf_scrub(m, hide, 2);
}

/* A Pinduoduo id (digits, or a positive number) into out; -1 when not one. */
static int
jid(json_t *v, char *out, size_t outlen)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!(s = json_string_value(v)) || !*s || strlen(s) >= outlen ||
	    strspn(s, "0123456789") != strlen(s))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

/* A quantity (a number, or a string of one); -1 when not one. */
static int
jqty(json_t *v, int64_t *q)
{
	const char *s;
	if (json_is_integer(v)) {
		*q = (int64_t)json_integer_value(v);
		return 0;
	}
	if ((s = json_string_value(v)) && !parse_i64(s, strlen(s), q))
		return 0;
	return -1;
}

static int
is_id(const char *s, size_t n)
{
	if (n == 0 || n >= ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* "gid/sid" -> its two halves (ID_MAX bytes each); -1 when malformed. */
static int
parse_item(const char *s, char *gid, char *sid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || !is_id(s, (size_t)(slash - s)) || !is_id(slash + 1, strlen(slash + 1)))
		return -1;
	snprintf(gid, ID_MAX, "%.*s", (int)(slash - s), s);
	snprintf(sid, ID_MAX, "%s", slash + 1);
	return 0;
}

/*
 * Prepare a signed call of the API type with its own parameters kv (n
 * pairs): a form-encoded POST to the router.
 */
static void
req_prepare(struct chan *c, struct http_req *r, const char *type, const char *const *kv, size_t n)
{
	struct pdd *p = c->priv;
	char ts[24], sign[40];
	const char *all[2 * 12];
	size_t m = 0;

	if (pdd_timestamp(time(NULL), ts, sizeof ts) < 0)
		die(EX_SOFTWARE, "timestamp out of range");
	all[2 * m] = "type", all[2 * m + 1] = type, m++;
	all[2 * m] = "client_id", all[2 * m + 1] = p->client_id, m++;
	all[2 * m] = "access_token", all[2 * m + 1] = p->token, m++;
	all[2 * m] = "timestamp", all[2 * m + 1] = ts, m++;
	all[2 * m] = "data_type", all[2 * m + 1] = "JSON", m++;
	for (size_t i = 0; i < n && m < 12; i++, m++) {
		all[2 * m] = kv[2 * i];
		all[2 * m + 1] = kv[2 * i + 1];
	}
	if (pdd_sign(p->secret, all, m, sign, sizeof sign) < 0)
		die(EX_SOFTWARE, "MD5 failed (libcrypto)");
	http_req_init(r);
	r->method = "POST";
	buf_adds(&r->url, p->url);
	for (size_t i = 0; i < m; i++) {
		buf_adds(&r->body, all[2 * i]);
		buf_addc(&r->body, '=');
		buf_add_pctenc(&r->body, all[2 * i + 1]);
		buf_addc(&r->body, '&');
	}
	buf_adds(&r->body, "sign=");
	buf_adds(&r->body, sign);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/x-www-form-urlencoded");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;
}

/*
 * After a throttled call: halve our rate, and start from an empty bucket.
 * The calls in flight when the platform said so are refused together: one
 * halving a second.
 */
static void
slow_down(struct chan *c)
{
	struct pdd *p = c->priv;
	double now = mono_now();
	if (p->slowed_at > 0 && now - p->slowed_at < 1.0)
		return;
	p->slowed_at = now;
	p->rate = p->rate / 2 > RATE_MIN ? p->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, p->rate);
}

static void
add_text(struct buf *out, const char *s)
{
	struct buf t = BUF_INIT;
	for (size_t i = 0; s[i]; i++)
		buf_addc(&t, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
	if (t.len)
		buf_add(out, t.s, (size_t)utf8_prefix(t.s, MSG_MAX));
	buf_release(&t);
}

/*
 * What the answer r to a call of type is, with its words in msg ("[chan]:
 * POST /api/router type: error_code 50001: message: sub message") and, when
 * A_OK, the object under key in *obj (a new reference).
 */
static int
answer(struct chan *c, const struct http_req *r, const char *type, const char *key, json_t **obj,
    struct buf *msg)
{
	struct pdd *p = c->priv;
	json_t *j = NULL, *e, *o;
	long long code = -1;
	int kind;

	if (obj)
		*obj = NULL;
	buf_reset(msg);
	buf_addf(msg, "[%s]: POST %s %s: ", c->name, p->path, type);
	if (r->status && r->resp.len)
		j = json_loadb(r->resp.s, r->resp.len, 0, NULL);
	e = json_object_get(j, "error_response");
	if (r->ambiguous) {
		buf_adds(msg, r->error[0] ? r->error : "no answer");
		kind = A_LOST;
	} else if (json_is_object(e)) {
		const char *em = json_string_value(json_object_get(e, "error_msg"));
		const char *sm = json_string_value(json_object_get(e, "sub_msg"));
		json_t *cv = json_object_get(e, "error_code");
		if (json_is_integer(cv))
			code = json_integer_value(cv);
		else if (json_is_string(cv))
			code = strtoll(json_string_value(cv), NULL, 10);
		if (r->status != 200)
			buf_addf(msg, "HTTP %ld: ", r->status);
		buf_addf(msg, "error_code %lld", code);
		if (em && *em) {
			buf_adds(msg, ": ");
			add_text(msg, em);
		}
		if (sm && *sm && (!em || strcmp(em, sm))) {
			buf_adds(msg, ": ");
			add_text(msg, sm);
		}
		if (code == 10016 || code == 10019 || code == 20004 || r->status == 401 ||
		    r->status == 403)
			kind = A_AUTH;
		else if (code == 70031 || r->status == 429)
			kind = A_THROTTLED;
		else if (r->status >= 500)
			kind = A_TEMP;
		else
			kind = A_REFUSED;
	} else if (r->status == 200 && json_is_object(o = json_object_get(j, key))) {
		buf_adds(msg, "ok");
		if (obj) {
			json_incref(o);
			*obj = o;
		}
		kind = A_OK;
	} else {
		if (r->error[0])
			buf_adds(msg, r->error);
		else
			buf_addf(msg, "HTTP %ld", r->status);
		if (r->status == 401 || r->status == 403)
			kind = A_AUTH;
		else if (r->status == 0 || r->status == 429 || r->status == 408 || r->status >= 500)
			kind = r->permanent ? A_BAD : r->status == 429 ? A_THROTTLED : A_TEMP;
		else if (r->status == 200) {
			buf_addf(msg, ": the answer is neither %s nor error_response", key);
			kind = A_BAD;
		} else
			kind = A_BAD;
	}
	if (kind == A_AUTH)
		buf_adds(msg, " (check client_id, and the client secret and access token in "
		    "token_file: client_secret:access_token)");
	else if (r->status == 404)
		buf_adds(msg, " (check base_url: https://gw-api.pinduoduo.com/api/router)");
	json_decref(j);
	scrub(p, msg);
	return kind;
}

/* The exit code for a call that could not be used. */
static int
kind_code(int kind, const struct http_req *r)
{
	switch (kind) {
	case A_AUTH:
		return EX_NOPERM;
	case A_THROTTLED:
	case A_TEMP:
	case A_LOST:
		return EX_TEMPFAIL;
	case A_BAD:
		return r->status == 200 ? EX_DATAERR : EX_UNAVAILABLE;
	default:
		return EX_UNAVAILABLE;
	}
}

/* ---- pull: every page of pdd.goods.list.get ---- */

struct row {
	char *gid, *sid, *sku;
	int64_t qty;
};

struct lst;

struct lpage {
	struct http_req r;
	struct lst *l;
	long page;
};

struct lst {
	struct chan *c;
	long long total;	/* total_count of the first page */
	int changed;		/* a page saw another total: read again */
	struct row *rows;
	size_t nrows, caprows;
	int code;
	struct buf err;
};

static void lpage_submit(struct lst *l, long page);

static void
lst_fail(struct lst *l, int code, const char *msg, const char *why)
{
	if (l->code)
		return;
	l->code = code;
	buf_reset(&l->err);
	buf_adds(&l->err, msg);
	if (why)
		buf_addf(&l->err, ": %s", why);
}

static void
lpage_done(struct http_req *r, void *arg)
{
	struct lpage *pg = arg;
	struct lst *l = pg->l;
	struct chan *c = l->c;
	struct buf m = BUF_INIT;
	json_t *o = NULL;
	int kind = answer(c, r, T_LIST, "goods_list_get_response", &o, &m);

	if (kind == A_THROTTLED)
		slow_down(c);
	if (kind == A_THROTTLED && http_retry(c->http, r, -1) == 0)
		goto keep;
	if (kind != A_OK) {
		lst_fail(l, kind_code(kind, r), m.s, NULL);
		goto out;
	}
	json_t *tc = json_object_get(o, "total_count"), *gl = json_object_get(o, "goods_list");
	if (!json_is_integer(tc) || json_integer_value(tc) < 0 || !json_is_array(gl)) {
		lst_fail(l, EX_DATAERR, m.s, "no total_count or goods_list");
		goto out;
	}
	long long total = json_integer_value(tc);
	c->pages++;
	if (pg->page == 1) {
		l->total = total;
		long long np = (total + PAGE_SIZE - 1) / PAGE_SIZE;
		if (np > MAX_PAGES) {
			lst_fail(l, EX_DATAERR, m.s, "total_count is absurd");
			goto out;
		}
		for (long k = 2; k <= np && !l->code; k++)
			lpage_submit(l, k);
	} else if (total != l->total) {
		l->changed = 1;
	}
	for (size_t i = 0; i < json_array_size(gl) && !l->code; i++) {
		json_t *g = json_array_get(gl, i), *sl = json_object_get(g, "sku_list");
		char gid[ID_MAX], sid[ID_MAX];
		if (jid(json_object_get(g, "goods_id"), gid, sizeof gid) < 0 || !json_is_array(sl)) {
			lst_fail(l, EX_DATAERR, m.s, "a goods has no goods_id or sku_list");
			break;
		}
		for (size_t k = 0; k < json_array_size(sl); k++) {
			json_t *s = json_array_get(sl, k);
			const char *oid = json_string_value(json_object_get(s, "outer_id"));
			int64_t q;
			if (jid(json_object_get(s, "sku_id"), sid, sizeof sid) < 0 ||
			    jqty(json_object_get(s, "sku_quantity"), &q) < 0) {
				lst_fail(l, EX_DATAERR, m.s, "a SKU has no sku_id or sku_quantity");
				break;
			}
			if (l->nrows == l->caprows) {
				l->caprows = l->caprows ? l->caprows * 2 : 256;
				l->rows = xrealloc(l->rows, l->caprows * sizeof *l->rows);
			}
			struct row *w = &l->rows[l->nrows++];
			w->gid = xstrdup(gid);
			w->sid = xstrdup(sid);
			w->sku = xstrdup(oid ? oid : "");
			w->qty = q;
		}
	}
out:
	http_req_release(&pg->r);
	free(pg);
keep:
	json_decref(o);
	buf_release(&m);
}

static void
lpage_submit(struct lst *l, long page)
{
	struct lpage *pg = xcalloc(1, sizeof *pg);
	char ps[24], sz[24];
	snprintf(ps, sizeof ps, "%ld", page);
	snprintf(sz, sizeof sz, "%d", PAGE_SIZE);
	const char *kv[] = { "page", ps, "page_size", sz };
	pg->l = l;
	pg->page = page;
	req_prepare(l->c, &pg->r, T_LIST, kv, 2);
	pg->r.idempotent = 1;	/* a read */
	pg->r.done = lpage_done;
	pg->r.arg = pg;
	http_submit(l->c->http, &pg->r);
}

static void
rows_free(struct row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].gid);
		free(v[i].sid);
		free(v[i].sku);
	}
	free(v);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = id_cmp(x->gid, y->gid);
	return d ? d : id_cmp(x->sid, y->sid);
}

static int
pdd_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct lst l;
	int rc = 0;

	memset(&l, 0, sizeof l);
	l.c = c;
	for (int pass = 0;; pass++) {
		rows_free(l.rows, l.nrows);
		l.rows = NULL;
		l.nrows = l.caprows = 0;
		l.changed = 0;
		lpage_submit(&l, 1);
		http_run(c->http);
		if (l.code || !l.changed)
			break;
		if (pass + 1 >= MAX_PASSES) {
			struct pdd *p = c->priv;
			buf_reset(&l.err);
			buf_addf(&l.err, "[%s]: POST %s %s: the goods list kept changing while it was "
			    "read (%d times); try again", c->name, p->path, T_LIST, MAX_PASSES);
			l.code = EX_TEMPFAIL;
			break;
		}
	}
	if (l.code) {
		buf_reset(err);
		buf_add(err, l.err.s, l.err.len);
		rc = l.code;
		goto out;
	}
	if (l.nrows > 1)
		qsort(l.rows, l.nrows, sizeof *l.rows, row_cmp);
	struct buf item = BUF_INIT;
	for (size_t i = 0; i < l.nrows; i++) {
		struct row *w = &l.rows[i];
		if (i && !row_cmp(&l.rows[i - 1], w))
			continue;	/* a goods listed on two pages (the list moved) */
		buf_reset(&item);
		buf_addf(&item, "%s/%s", w->gid, w->sid);
		int keep = 1;
		if (o && o->skus) {
			keep = 0;
			for (size_t k = 0; k < o->nskus && !keep; k++)
				keep = !strcmp(o->skus[k], w->sku);
		}
		if (keep && o && o->items) {
			keep = 0;
			for (size_t k = 0; k < o->nitems && !keep; k++)
				keep = !strcmp(o->items[k], item.s);
		}
		if (!keep)
			continue;
		struct pulled pl = { item.s, w->sku, "", "available", w->qty };
		emit(&pl, arg);
	}
	buf_release(&item);
out:
	rows_free(l.rows, l.nrows);
	buf_release(&l.err);
	return rc;
}

/* ---- read: pdd.goods.skus.get, one call per SKU ---- */

struct rd {
	struct http_req r;
	struct chan *c;
	char gid[ID_MAX], sid[ID_MAX];
	int has;		/* the SKU was read */
	int64_t qty;
	int code;		/* exit code when the call could not be used */
	char msg[400];		/* the platform's words: a refusal, or why code */
};

static void
rd_done(struct http_req *r, void *arg)
{
	struct rd *d = arg;
	struct buf m = BUF_INIT;
	json_t *o = NULL;
	int kind = answer(d->c, r, T_SKU, "goods_sku_get_response", &o, &m);
	char gid[ID_MAX], sid[ID_MAX];

	if (kind == A_THROTTLED)
		slow_down(d->c);
	if (kind == A_THROTTLED && http_retry(d->c->http, r, -1) == 0)
		goto out;
	snprintf(d->msg, sizeof d->msg, "%.*s", utf8_prefix(m.s, sizeof d->msg - 1), m.s);
	if (kind == A_REFUSED) {
		d->has = 0;	/* no such SKU, or not readable: never written */
	} else if (kind != A_OK) {
		d->code = kind_code(kind, r);
	} else if (jid(json_object_get(o, "sku_id"), sid, sizeof sid) < 0 || strcmp(sid, d->sid) ||
	    (json_object_get(o, "goods_id") && (jid(json_object_get(o, "goods_id"), gid, sizeof gid) < 0 ||
	    strcmp(gid, d->gid))) || jqty(json_object_get(o, "quantity"), &d->qty) < 0) {
		d->code = EX_DATAERR;
		snprintf(d->msg, sizeof d->msg, "[%s]: POST %s %s: the answer is not SKU %s/%s with a "
		    "quantity", d->c->name, ((struct pdd *)d->c->priv)->path, T_SKU, d->gid, d->sid);
	} else {
		d->has = 1;
	}
out:
	json_decref(o);
	buf_release(&m);
}

/*
 * Read the SKUs of v (n corrections): has_current and current of each, and
 * in why[i] (when why is not NULL) the platform's words for one that could
 * not be read.  Returns 0, or the exit code of the first call that failed
 * with err set.
 */
static int
rd_run(struct chan *c, struct corr **v, size_t n, char (*why)[200], struct buf *err)
{
	struct rd **ds = xcalloc(n ? n : 1, sizeof *ds);
	size_t nd = 0;
	int rc = 0;
	char gid[ID_MAX], sid[ID_MAX];

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (why)
			why[i][0] = '\0';
		if (parse_item(v[i]->item, gid, sid) < 0)
			continue;
		size_t k;
		for (k = 0; k < nd; k++)
			if (!strcmp(ds[k]->gid, gid) && !strcmp(ds[k]->sid, sid))
				break;
		if (k < nd)
			continue;
		struct rd *d = ds[nd++] = xcalloc(1, sizeof *d);
		d->c = c;
		snprintf(d->gid, sizeof d->gid, "%s", gid);
		snprintf(d->sid, sizeof d->sid, "%s", sid);
		const char *kv[] = { "goods_id", d->gid, "sku_id", d->sid };
		req_prepare(c, &d->r, T_SKU, kv, 2);
		d->r.idempotent = 1;
		d->r.done = rd_done;
		d->r.arg = d;
		http_submit(c->http, &d->r);
	}
	if (nd)
		http_run(c->http);
	for (size_t k = 0; k < nd; k++)
		if (ds[k]->code && !rc) {
			rc = ds[k]->code;
			buf_reset(err);
			buf_adds(err, ds[k]->msg);
		}
	for (size_t i = 0; i < n && !rc; i++) {
		if (parse_item(v[i]->item, gid, sid) < 0)
			continue;
		for (size_t k = 0; k < nd; k++)
			if (!strcmp(ds[k]->gid, gid) && !strcmp(ds[k]->sid, sid)) {
				v[i]->has_current = ds[k]->has;
				v[i]->current = ds[k]->has ? ds[k]->qty : 0;
				if (why && !ds[k]->has)
					snprintf(why[i], sizeof why[i], "%.*s", utf8_prefix(ds[k]->msg, 199),
					    ds[k]->msg);
				break;
			}
	}
	for (size_t k = 0; k < nd; k++) {
		http_req_release(&ds[k]->r);
		free(ds[k]);
	}
	free(ds);
	return rc;
}

static int
pdd_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	return rd_run(c, v, n, NULL, err);
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_DONE };

struct wr {
	struct http_req r;
	struct chan *c;
	struct corr *k;
	char gid[ID_MAX], sid[ID_MAX];
	int64_t pre, expect;	/* quantity read before the write, and once applied */
	int state, kind;
	char msg[400];
};

static void
wr_done(struct http_req *r, void *arg)
{
	struct wr *w = arg;
	struct buf m = BUF_INIT;
	json_t *o = NULL;

	w->kind = answer(w->c, r, T_UPDATE, "goods_quantity_update_response", &o, &m);
	snprintf(w->msg, sizeof w->msg, "%.*s", utf8_prefix(m.s, sizeof w->msg - 1), m.s);
	switch (w->kind) {
	case A_OK:
		if (json_is_true(json_object_get(o, "is_success"))) {
			w->state = W_DONE;
			w->k->status = CS_APPLIED;
			w->k->error[0] = '\0';
		} else {
			w->state = W_UNKNOWN;	/* answered, but not "done": read again */
			snprintf(w->msg, sizeof w->msg, "the answer did not say is_success");
		}
		break;
	case A_THROTTLED:
		slow_down(w->c);
		w->state = W_RETRY;	/* not processed: again after a wait and a re-read */
		break;
	case A_TEMP:
		w->state = r->status == 0 || r->status == 503 ? W_RETRY : W_UNKNOWN;
		break;
	case A_LOST:
		w->state = W_UNKNOWN;
		break;
	case A_BAD:
		w->state = r->status == 200 ? W_UNKNOWN : W_DONE;
		if (w->state == W_DONE)
			corr_fail(w->k, CS_FAILED, "not written: %.*s", utf8_prefix(m.s, 230), m.s);
		break;
	default:	/* refused (the platform's words), or auth */
		w->state = W_DONE;
		corr_fail(w->k, CS_FAILED, "not written: %.*s", utf8_prefix(m.s, 230), m.s);
		break;
	}
	if (w->state == W_RETRY)
		snprintf(w->k->error, sizeof w->k->error, "%.*s", utf8_prefix(m.s, 250), m.s);
	json_decref(o);
	buf_release(&m);
}

static void
wr_submit(struct wr *w)
{
	char q[24];
	snprintf(q, sizeof q, "%lld", (long long)w->k->delta);
	const char *kv[] = { "goods_id", w->gid, "sku_id", w->sid, "quantity", q, "update_type", "2" };
	req_prepare(w->c, &w->r, T_UPDATE, kv, 4);
	w->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	w->r.no_retry = 1;	/* nor after a 429: read again first */
	w->r.done = wr_done;
	w->r.arg = w;
	http_submit(w->c->http, &w->r);
}

/*
 * One round: read the pending corrections, plan, write, settle the lost
 * answers by reading again.  What goes again is left in pend.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	(void)wait;	/* the default back-off */
	size_t n = *npend, nret = 0, nw = 0;
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	char (*why)[200] = xcalloc(n ? n : 1, sizeof *why);
	int rc;

	rc = rd_run(c, pend, n, why, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: %.*s",
			    utf8_prefix(err->s, 200), err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		struct wr *w = &ws[i];
		w->k = k;
		w->c = c;
		w->state = W_DONE;
		parse_item(k->item, w->gid, w->sid);
		if (!k->has_from && k->has_current) {
			corr_fail(k, CS_CONFLICT, "SKU %s exists with %lld now but was not in the pull "
			    "(not written)", k->item, (long long)k->current);
		} else if (!k->has_current) {
			corr_fail(k, CS_FAILED, "not written: SKU %s could not be read: %.*s", k->item,
			    utf8_prefix(why[i], 160), why[i]);
		} else if (k->delta == 0) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (__builtin_add_overflow(k->current, k->delta, &w->expect)) {
			corr_fail(k, CS_FAILED, "not written: %lld %+lld is out of range",
			    (long long)k->current, (long long)k->delta);
		} else if (w->expect < 0) {
			corr_fail(k, CS_CONFLICT, "moved since it was read: %lld then, %lld now, and %+lld "
			    "would take it below 0 (not written)", (long long)k->from,
			    (long long)k->current, (long long)k->delta);
		} else {
			w->pre = k->current;
			w->state = W_SENT;
			nw++;
		}
	}
	/* one SKU twice would be adjusted twice: refuse the later ones */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i && ws[i].state == W_SENT; j++)
			if (ws[j].state == W_SENT && !strcmp(ws[i].gid, ws[j].gid) &&
			    !strcmp(ws[i].sid, ws[j].sid)) {
				ws[i].state = W_DONE;
				corr_fail(ws[i].k, CS_FAILED, "not written: another correction for item "
				    "%.60s is in the same batch", ws[i].k->item);
			}
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_SENT)
			wr_submit(&ws[i]);
	if (nw)
		http_run(c->http);
	/* answers lost: what does the platform show now? */
	size_t nunk = 0;
	struct corr **unk = xcalloc(n ? n : 1, sizeof *unk);
	struct wr **unkw = xcalloc(n ? n : 1, sizeof *unkw);
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_UNKNOWN) {
			unkw[nunk] = &ws[i];
			unk[nunk++] = ws[i].k;
		}
	if (nunk) {
		struct buf e = BUF_INIT;
		if (rd_run(c, unk, nunk, NULL, &e)) {
			for (size_t i = 0; i < nunk; i++)
				corr_fail(unk[i], CS_FAILED, "unknown outcome: %.*s; and the re-read failed: "
				    "%.*s (not sent again)", utf8_prefix(unkw[i]->msg, 90), unkw[i]->msg,
				    utf8_prefix(e.s, 90), e.s);
		} else {
			for (size_t i = 0; i < nunk; i++) {
				struct corr *k = unk[i];
				struct wr *w = unkw[i];
				w->state = W_DONE;
				if (k->has_current && k->current == w->expect) {
					k->status = CS_APPLIED;
					k->error[0] = '\0';
				} else if (k->has_current) {
					corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost; re-read "
					    "shows %lld (%lld if applied, %lld if not; not sent again)",
					    (long long)k->current, (long long)w->expect, (long long)w->pre);
				} else {
					corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost; the SKU "
					    "cannot be read now (not sent again)");
				}
			}
		}
		buf_release(&e);
	}
	free(unk);
	free(unkw);
	for (size_t i = 0; i < n; i++) {
		if (ws[i].r.method) {	/* sent */
			if (ws[i].kind == A_AUTH && !rc) {
				rc = EX_NOPERM;
				buf_reset(err);
				buf_adds(err, ws[i].msg);
			}
			http_req_release(&ws[i].r);
		}
		if (ws[i].state == W_RETRY)
			pend[nret++] = ws[i].k;
	}
	*npend = nret;
out:
	free(why);
	free(ws);
	return rc;
}

static int
pdd_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	char gid[ID_MAX], sid[ID_MAX];
	size_t np = 0;
	int rc = 0;

	(void)run;	/* Pinduoduo keeps no reason or reference for a change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, gid, sid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a Pinduoduo item "
			    "(<goods_id>/<sku_id>)", k->item ? k->item : "");
		else if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: Pinduoduo has one stock pool per SKU: "
			    "location must be \"\", not '%.40s'", k->location);
		else if (k->to < 0)
			corr_fail(k, CS_FAILED, "not written: Pinduoduo cannot show %lld (no negative "
			    "stock)", (long long)k->to);
		else
			pend[np++] = k;
	}
	rc = push_rounds(c, pend, np, MAX_ROUNDS, push_round, err);
	corr_fail_pending(v, n, rc, err);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
pdd_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *id = chan_get(cc, "client_id");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required "
		    "(https://gw-api.pinduoduo.com/api/router)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!id || !cred_ok(id, strlen(id))) {
		buf_addf(err, "%s:%d: [%s]: client_id = is required (the app's client_id, open "
		    "platform console, 应用管理)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	const char *colon = memchr(sec.s, ':', sec.len);
	if (!colon || !cred_ok(sec.s, (size_t)(colon - sec.s)) ||
	    !cred_ok(colon + 1, sec.len - (size_t)(colon - sec.s) - 1)) {
		buf_addf(err, "%s: [%s]: the secret must be client_secret:access_token, on one line",
		    path, c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct pdd *p = xcalloc(1, sizeof *p);
	p->url = xstrdup(base);
	const char *hp = strstr(p->url, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	p->path = xstrdup(hp ? hp : "/");
	p->client_id = xstrdup(id);
	p->secret = xstrndup(sec.s, (size_t)(colon - sec.s));
	p->token = xstrdup(colon + 1);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	p->rate = (double)rate;
	http_bucket(c->http, 1, 1, p->rate);	/* evenly spaced, no burst */
	c->priv = p;
	return 0;
}

static void
pdd_close(struct chan *c)
{
	struct pdd *p = c->priv;
	if (!p)
		return;
	free(p->url);
	free(p->path);
	free(p->client_id);
	free_secret(p->secret);
	free_secret(p->token);
	free(p);
	c->priv = NULL;
}

const struct driver drv_pinduoduo = {
	.type = "pinduoduo",
	.max_batch = BATCH_MAX,
	.open = pdd_open,
	.pull = pdd_pull,
	.read = pdd_read,
	.push = pdd_push,
	.close = pdd_close,
};
