/*
 * wechat.c - the WeChat Channels shop (微信小店, formerly 视频号小店) driver:
 * the shop API under base_url = https://api.weixin.qq.com.
 *
 * Facts it relies on, with the page that states each one (the 微信小店
 * server API, developers.weixin.qq.com/doc/store/shop/API/product/ and the
 * page named; quotes are the pages' own words):
 *   - Credentials: POST /cgi-bin/stable_token, a JSON body {grant_type:
 *     "client_credential", appid, secret} -> {access_token, expires_in}
 *     (".../doc/channels/api/basic/api_getstableaccesstoken", 获取稳定版接口
 *     调用凭据).  The token lives 7200 s at most; in the normal mode a
 *     repeated call returns the same token, renewed by the platform 5
 *     minutes before it expires, so expires_in is at least 300.  The secret
 *     travels in the body, never in a URL.
 *   - Every other call: POST <path>?access_token=ACCESS_TOKEN with a JSON
 *     body; the answer carries errcode (0: success) and errmsg.  There is
 *     no request signature and no timestamp on these calls: the token is
 *     the whole credential.
 *   - /channels/ec/product/list/get {page_size ("不超过30"), next_key}:
 *     {product_ids [...], next_key, total_num} (list_get.html, 获取商品列表).
 *   - /channels/ec/product/stock/batchget {product_id: ["上限为50"]}:
 *     data.spu_stock_list [{product_id, sku_stock [{sku_id,
 *     normal_stock_num, warehouse_stocks, total_stock_num, ...}]}]
 *     (batchget_stock.html, 批量获取库存信息).
 *   - /channels/ec/product/stock/get {product_id, sku_id}: data
 *     {normal_stock_num, warehouse_stocks, total_stock_num}; 10020052
 *     商品不存在 (get_stock.html, 获取库存).
 *   - /channels/ec/product/stock/update {product_id, sku_id, diff_type, num}:
 *     diff_type 1 adds num, 2 subtracts it, 3 sets it - "建议使用1或2,不建议
 *     使用3,因为使用3在高并发场景可能会出现预期外表现"; "调用后立即生效".
 *     Errors include 10020052 (no such product), 10020112 (更新该sku库存频率
 *     超限), 10020217 (the product's draft under review), 10020218 (a change
 *     of 0), 10020219 (库存不足以减扣) (stock_update.html, 快速更新库存).  One
 *     SKU a call; no idempotency key is documented.
 * UNVERIFIED, the common error codes (from WeChat's general error list,
 * not re-checked for this API): -1 system busy, 40001/40014/42001 a bad or
 * expired access_token, 41001 none, 40013 a bad appid, 40125 a bad secret,
 * 40164 the caller's IP not allowed, 48001 the API not granted, 45009 the
 * daily quota used up, 45011 the per-minute quota.
 * UNVERIFIED too (and handled either way): which quantity diff_type
 * changes (we take normal_stock_num, 通用库存, and leave regional
 * warehouse stock alone); how the end of the product list is told (we stop at an empty
 * page, an empty next_key, or total_num products); whether an error ever
 * comes with an HTTP status other than 200 (a 429 or 5xx is treated as the
 * matching errcode); the per-second rate (we pace at rate_limit, default
 * 10 a second); whether -1 on a write means "not applied" (we read again
 * to learn it, as for a lost answer).
 *
 * Items.  An item is "<product_id>/<sku_id>", the location "" (the common
 * stock, normal_stock_num), state "available", sku the item again (the
 * stock API does not carry the merchant's SKU code, sku_code: map the
 * items to central SKUs with invmap).
 *
 * Push (DESIGN.md, rule 1, without an idempotency key).  The SKUs of each
 * batch are read with stock/get immediately before they are written.  A
 * correction with a known `from` becomes a change by `delta` (diff_type 1
 * or 2): a sale that landed since the pull is kept.  One without `from`
 * becomes a change by `to` less the quantity just read (rule 3: the window
 * is one round trip).  A change that would take the stock below zero is a
 * conflict, not sent.  A write is never re-sent after a lost answer: the
 * SKU is read again; the quantity read before plus the change means
 * applied, the quantity read before means not applied (it goes again,
 * after one more read), anything else is failed "unknown outcome" -
 * nothing is applied twice.  A refusal for the rate (45011, 10020112, HTTP
 * 429) means "not processed": read again, then written.  The platform's
 * errmsg (often Chinese) reaches the result's error unchanged (cut, if at
 * all, on a character boundary).
 *
 * The race window that remains.  None for sales when `from` is known: a
 * relative change cannot erase one.  For a correction without `from`, a
 * sale between the re-read and the write (one round trip) is kept, and the
 * SKU then shows that many units less than `to` until the next run.
 */
#include "platform.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define PAGE_SIZE 30		/* "不超过30" */
#define BATCHGET_MAX 50		/* "上限为50" */
#define BATCH_MAX 50		/* corrections in one push() call */
#define CHANGE_MAX 100000000	/* UNVERIFIED: no bound is documented; we send no more */
#define MAX_PAGES 100000
#define MAX_TRIES 6		/* a read refused for the rate, or busy */
#define MAX_ROUNDS 7
#define ID_MAX 24		/* a uint64 in decimal, and the NUL */
#define RATE_DEFAULT 10		/* requests per second (UNVERIFIED) */
#define RATE_MIN 0.25
#define TOKEN_MARGIN 120	/* renew a token with less than this left (seconds) */

#define P_TOKEN "/cgi-bin/stable_token"
#define P_LIST "/channels/ec/product/list/get"
#define P_BATCHGET "/channels/ec/product/stock/batchget"
#define P_GET "/channels/ec/product/stock/get"
#define P_UPDATE "/channels/ec/product/stock/update"

/* What an errcode means to us (wx_errclass). */
enum { WX_OK, WX_AUTH, WX_RATE, WX_BUSY, WX_QUOTA, WX_OTHER };

/* For the known-answer tests (tests/unit/test_drv_wechat.c). */
void wx_token_body(const char *appid, const char *secret, struct buf *out);
void wx_api_url(const char *base, const char *path, const char *token, struct buf *out);
int wx_errclass(long long errcode);

struct wx {
	char *base;
	char *app_id;
	char *secret, *token;	/* scrubbed from any message */
	double token_until;	/* mono_now() when the token is to be renewed */
	double rate;
};

struct row {
	char pid[ID_MAX], sid[ID_MAX];
	int64_t qty;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* ---- requests ---- */

/* The stable_token body; the secret is in it, so out must be scrubbed by the caller. */
void
wx_token_body(const char *appid, const char *secret, struct buf *out)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "grant_type", "client_credential", "appid", appid,
	    "secret", secret);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	buf_adds(out, s);
	explicit_bzero(s, strlen(s));
	free(s);
	json_decref(j);
}

/* base + path + "?access_token=" + the token, percent-encoded. */
void
wx_api_url(const char *base, const char *path, const char *token, struct buf *out)
{
	buf_adds(out, base);
	buf_adds(out, path);
	buf_adds(out, "?access_token=");
	buf_add_pctenc(out, token);
}

int
wx_errclass(long long e)
{
	switch (e) {
	case 0:
		return WX_OK;
	case 40001: case 40014: case 42001: case 40013: case 40125: case 40164: case 48001:
	case 41001: case 40002:
		return WX_AUTH;
	case 45011: case 10020112:
		return WX_RATE;
	case -1:
		return WX_BUSY;
	case 45009:
		return WX_QUOTA;
	default:
		return WX_OTHER;
	}
}

static void
scrub(const struct wx *w, struct buf *m)
{
	const char *hide[] = { w->secret, w->token };
	buf_scrub(m, hide, 2);
}

/* An id (a positive integer, or a string of digits) into out; -1 when not one. */
static int
jid(json_t *v, char *out, size_t outlen)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!(s = json_string_value(v)) || !*s || *s == '0' || strlen(s) >= outlen ||
	    strspn(s, "0123456789") != strlen(s))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

static int
is_id(const char *s, size_t n)
{
	return n > 0 && n < 21 && s[0] != '0' && strspn(s, "0123456789") >= n;
}

/* "pid/sid" -> its halves (ID_MAX bytes each); -1 when malformed. */
static int
parse_item(const char *s, char *pid, char *sid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || !is_id(s, (size_t)(slash - s)) || !is_id(slash + 1, strlen(slash + 1)))
		return -1;
	snprintf(pid, ID_MAX, "%.*s", (int)(slash - s), s);
	snprintf(sid, ID_MAX, "%s", slash + 1);
	return 0;
}

/* A POST of body (JSON) to path, with the access token in the query. */
static void
req_prepare(struct chan *c, struct http_req *r, const char *path, json_t *body)
{
	struct wx *w = c->priv;
	char *p = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

	http_req_init(r);
	r->method = "POST";
	wx_api_url(w->base, path, w->token ? w->token : "", &r->url);
	buf_adds(&r->body, p);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;
	free(p);
}

/* The answer's errcode (-2 when none: not an envelope) and errmsg (control bytes as spaces). */
static long long
env_code(const struct http_req *r, struct buf *msg)
{
	long long code = -2;
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "errcode");
	const char *m = json_string_value(json_object_get(j, "errmsg"));
	if (json_is_integer(e))
		code = json_integer_value(e);
	if (msg) {
		buf_reset(msg);
		for (int i = 0; m && m[i] && i < 400; i++)
			buf_addc(msg, (unsigned char)m[i] < 0x20 ? ' ' : m[i]);
	}
	json_decref(j);
	return code;
}

/* The class of an answer: its errcode's, or its HTTP status's. */
static int
ans_class(const struct http_req *r, long long code)
{
	if (r->status == 401 || r->status == 403)
		return WX_AUTH;
	if (r->status == 429)
		return WX_RATE;
	if (r->status == 0 || r->status == 408 || r->status >= 500)
		return WX_BUSY;
	if (r->status != 200)
		return WX_OTHER;
	return code == -2 ? WX_OTHER : wx_errclass(code);
}

static int
fail_code(const struct http_req *r, long long code)
{
	int k = ans_class(r, code);
	if (k == WX_AUTH)
		return EX_NOPERM;
	if (r->permanent)
		return EX_UNAVAILABLE;
	if (k == WX_RATE || k == WX_BUSY || k == WX_QUOTA)
		return EX_TEMPFAIL;
	return EX_UNAVAILABLE;
}

/* "[chan]: /channels/ec/product/list/get: HTTP 200: errcode 40001: ... (check ...)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *path)
{
	struct wx *w = c->priv;
	struct buf m = BUF_INIT;
	long long code = env_code(r, &m);

	buf_addf(out, "[%s]: %s: ", c->name, path);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (code != -2)
		buf_addf(out, ": errcode %lld", code);
	if (m.len)
		buf_addf(out, ": %s", m.s);
	if (ans_class(r, code) == WX_AUTH)
		buf_adds(out, " (check app_id, the AppSecret in token_file, and the IP allow-list)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://api.weixin.qq.com)");
	buf_release(&m);
	scrub(w, out);
}

/* An errcode 0 answer (a new reference), or NULL with err and *rc set. */
static json_t *
answer_ok(struct chan *c, const struct http_req *r, const char *path, int *rc, struct buf *err)
{
	json_t *j = NULL;
	if (r->status == 200 && !r->ambiguous)
		j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	json_t *e = json_object_get(j, "errcode");
	if (json_is_object(j) && json_is_integer(e) && json_integer_value(e) == 0)
		return j;
	long long code = env_code(r, NULL);
	buf_reset(err);
	describe(c, err, r, path);
	if (r->status == 200 && code == -2)
		buf_adds(err, ": the answer is not a WeChat envelope (no errcode)");
	*rc = r->status == 200 && code == -2 ? EX_DATAERR : fail_code(r, code);
	json_decref(j);
	return NULL;
}

static void
slow_down(struct chan *c)
{
	struct wx *w = c->priv;
	w->rate = w->rate / 2 > RATE_MIN ? w->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, w->rate);
}

/* ---- the access token ---- */

/* Fetch a token unless the one held has more than TOKEN_MARGIN seconds left. */
static int
token_ensure(struct chan *c, struct buf *err)
{
	struct wx *w = c->priv;
	int rc = 0;

	if (w->token && mono_now() < w->token_until)
		return 0;
	for (int attempt = 0;; attempt++) {
		struct http_req r;
		http_req_init(&r);
		r.method = "POST";
		buf_adds(&r.url, w->base);
		buf_adds(&r.url, P_TOKEN);
		wx_token_body(w->app_id, w->secret, &r.body);
		r.hdrs = curl_slist_append(r.hdrs, "Content-Type: application/json");
		r.hdrs = curl_slist_append(r.hdrs, "Expect:");
		r.idempotent = 1;	/* the normal mode: the same token again */
		r.cost = 1;
		http_submit(c->http, &r);
		http_run(c->http);
		explicit_bzero(r.body.s, r.body.len);
		json_t *j = r.status == 200 && !r.ambiguous ?
		    json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL) : NULL;
		const char *tok = json_string_value(json_object_get(j, "access_token"));
		json_t *ex = json_object_get(j, "expires_in");
		size_t tl = tok ? strlen(tok) : 0;
		long long code = env_code(&r, NULL);
		int cls = ans_class(&r, code);
		if (tok && tl && tl <= 2048 && strcspn(tok, " \t\r\n\"&?#%") == tl &&
		    !strstr(tok, w->secret) && json_is_integer(ex) && json_integer_value(ex) > 0) {
			long long s = json_integer_value(ex);
			free_secret(w->token);
			w->token = xstrdup(tok);
			w->token_until = mono_now() +
			    (s > TOKEN_MARGIN * 2 ? (double)(s - TOKEN_MARGIN) : s / 2.0);
			rc = 0;
		} else if (!tok && (cls == WX_RATE || cls == WX_BUSY) && !r.permanent &&
		    attempt + 1 < MAX_TRIES) {
			rc = -1;	/* again */
		} else {
			buf_reset(err);
			describe(c, err, &r, P_TOKEN);
			if (r.status == 200 && (code == -2 || code == 0)) {
				buf_adds(err, ": the answer has no usable access_token and expires_in");
				rc = EX_DATAERR;
			} else {
				rc = fail_code(&r, code);
			}
		}
		if (r.resp.s)
			explicit_bzero(r.resp.s, r.resp.len);
		json_decref(j);
		http_req_release(&r);
		if (rc >= 0)
			return rc;
		sleep_s(backoff_s(attempt));
	}
}

/*
 * Run one read request (idempotent) until it is answered errcode 0, waiting
 * out a refusal for the rate or a busy platform.  The answer, or NULL with
 * err and *rc set (the platform's code in *codep, -2 none).
 */
static json_t *
read_call(struct chan *c, const char *path, json_t *body, int *rc, long long *codep,
    struct buf *err)
{
	for (int attempt = 0;; attempt++) {
		struct http_req r;
		if ((*rc = token_ensure(c, err)) != 0)
			return NULL;
		req_prepare(c, &r, path, body);
		r.idempotent = 1;
		http_submit(c->http, &r);
		http_run(c->http);
		json_t *j = answer_ok(c, &r, path, rc, err);
		long long code = env_code(&r, NULL);
		int k = ans_class(&r, code);
		if (codep)
			*codep = code;
		if (!j && (k == WX_RATE || k == WX_BUSY) && !r.permanent && attempt + 1 < MAX_TRIES) {
			if (k == WX_RATE)
				slow_down(c);
			http_req_release(&r);
			sleep_s(backoff_s(attempt));
			continue;
		}
		http_req_release(&r);
		return j;
	}
}

/* ---- rows ---- */

static void
rows_add(struct rows *rs, const char *pid, const char *sid, int64_t qty)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	struct row *w = &rs->v[rs->n++];
	snprintf(w->pid, sizeof w->pid, "%s", pid);
	snprintf(w->sid, sizeof w->sid, "%s", sid);
	w->qty = qty;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = id_cmp(x->pid, y->pid);
	return d ? d : id_cmp(x->sid, y->sid);
}

/* Sort, and keep the first of equal SKUs. */
static void
rows_sort(struct rows *rs)
{
	size_t u = 0;
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	for (size_t i = 0; i < rs->n; i++)
		if (!u || row_cmp(&rs->v[u - 1], &rs->v[i]))
			rs->v[u++] = rs->v[i];
	rs->n = u;
}

/* ---- pull: product list pages, each followed by a batchget of its products ---- */

/* The SKUs of a batchget answer into rs; -1 with why. */
static int
batch_rows(json_t *ans, struct rows *rs, const char **why)
{
	json_t *list = json_object_get(json_object_get(ans, "data"), "spu_stock_list");
	char pid[ID_MAX], sid[ID_MAX];
	if (!json_is_array(list)) {
		*why = "the answer has no data.spu_stock_list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *spu = json_array_get(list, i), *skus = json_object_get(spu, "sku_stock");
		if (jid(json_object_get(spu, "product_id"), pid, sizeof pid) < 0 ||
		    (skus && !json_is_array(skus))) {
			*why = "a product has no product_id, or its sku_stock is not a list";
			return -1;
		}
		for (size_t k = 0; k < json_array_size(skus); k++) {
			json_t *s = json_array_get(skus, k), *q = json_object_get(s, "normal_stock_num");
			if (jid(json_object_get(s, "sku_id"), sid, sizeof sid) < 0 || !json_is_integer(q)) {
				*why = "a SKU has no sku_id or normal_stock_num";
				return -1;
			}
			rows_add(rs, pid, sid, json_integer_value(q));
		}
	}
	return 0;
}

static int
list_all(struct chan *c, struct rows *rs, struct buf *err)
{
	char *next = NULL;
	uint64_t seen = 0;
	int rc = 0;

	for (int page = 0; page < MAX_PAGES && !rc; page++) {
		json_t *body = json_pack("{s:i}", "page_size", PAGE_SIZE);
		const char *why = NULL;
		if (next)
			json_object_set_new(body, "next_key", json_string(next));
		json_t *ans = read_call(c, P_LIST, body, &rc, NULL, err);
		json_decref(body);
		if (!ans)
			break;
		c->pages++;
		json_t *ids = json_object_get(ans, "product_ids"), *tot = json_object_get(ans, "total_num");
		const char *nk = json_string_value(json_object_get(ans, "next_key"));
		json_t *batch = json_array();
		char pid[ID_MAX];
		if (ids && !json_is_array(ids))
			why = "product_ids is not a list";
		for (size_t i = 0; i < json_array_size(ids) && !why; i++) {
			if (jid(json_array_get(ids, i), pid, sizeof pid) < 0)
				why = "a product id is not a number";
			else
				json_array_append_new(batch, json_string(pid));
		}
		if (why) {
			buf_reset(err);
			buf_addf(err, "[%s]: %s: %s", c->name, P_LIST, why);
			rc = EX_DATAERR;
		}
		for (size_t off = 0; !rc && off < json_array_size(batch); off += BATCHGET_MAX) {
			json_t *part = json_array();
			for (size_t i = off; i < off + BATCHGET_MAX && i < json_array_size(batch); i++)
				json_array_append(part, json_array_get(batch, i));
			json_t *b = json_pack("{s:o}", "product_id", part);
			json_t *sa = read_call(c, P_BATCHGET, b, &rc, NULL, err);
			json_decref(b);
			if (sa && batch_rows(sa, rs, &why) < 0) {
				buf_reset(err);
				buf_addf(err, "[%s]: %s: %s", c->name, P_BATCHGET, why);
				rc = EX_DATAERR;
			}
			json_decref(sa);
		}
		seen += json_array_size(batch);
		int last = !json_array_size(batch) || !nk || !*nk ||
		    (json_is_integer(tot) && json_integer_value(tot) >= 0 &&
		    seen >= (uint64_t)json_integer_value(tot));
		if (!rc && !last && ((next && !strcmp(next, nk)) || page + 1 == MAX_PAGES)) {
			/* a list that does not move on would end short, or never */
			buf_reset(err);
			buf_addf(err, "[%s]: %s: next_key did not move on after %d pages; try again",
			    c->name, P_LIST, page + 1);
			rc = EX_TEMPFAIL;
		}
		free(next);
		next = nk ? xstrdup(nk) : NULL;
		json_decref(batch);
		json_decref(ans);
		if (last)
			break;
	}
	free(next);
	return rc;
}

static int
wx_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	struct buf item = BUF_INIT;
	int rc = list_all(c, &rs, err);

	if (!rc)
		rows_sort(&rs);
	for (size_t i = 0; i < rs.n && !rc; i++) {
		struct row *w = &rs.v[i];
		buf_reset(&item);
		buf_addf(&item, "%s/%s", w->pid, w->sid);
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], item.s);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], item.s);
		if (!keep)
			continue;
		struct pulled p = { item.s, item.s, "", "available", w->qty };
		emit(&p, arg);
	}
	buf_release(&item);
	free(rs.v);
	return rc;
}

/* ---- read: stock/get, one request per SKU ---- */

/*
 * Read the SKUs of v.  Strict (the driver's read): any failure fails the
 * whole read.  Lenient (before a write): a SKU the platform refuses (gone,
 * no permission, ...) only leaves its corrections without a current
 * quantity, with the platform's words in their error; a failure of the
 * transport or of the credentials still fails the read.
 */
static int
read_skus(struct chan *c, struct corr **v, size_t n, int lenient, struct buf *err)
{
	char pid[ID_MAX], sid[ID_MAX];
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (lenient)
			v[i]->error[0] = '\0';
	}
	if ((rc = token_ensure(c, err)) != 0)
		return rc;
	for (int attempt = 0;; attempt++) {
		struct http_req *rq = xcalloc(n ? n : 1, sizeof *rq);
		size_t *ix = xcalloc(n ? n : 1, sizeof *ix), nq = 0;
		int again = 0, rated = 0;
		for (size_t i = 0; i < n; i++) {
			if (parse_item(v[i]->item, pid, sid) < 0 || v[i]->has_current ||
			    (lenient && v[i]->error[0]))
				continue;
			json_t *b = json_pack("{s:s, s:s}", "product_id", pid, "sku_id", sid);
			req_prepare(c, &rq[nq], P_GET, b);
			json_decref(b);
			rq[nq].idempotent = 1;
			ix[nq++] = i;
			http_submit(c->http, &rq[nq - 1]);
		}
		if (nq)
			http_run(c->http);
		for (size_t q = 0; q < nq; q++) {
			struct corr *k = v[ix[q]];
			int qrc = 0;
			json_t *ans = rc ? NULL : answer_ok(c, &rq[q], P_GET, &qrc, err);
			long long code = env_code(&rq[q], NULL);
			int cls = ans_class(&rq[q], code);
			json_t *qty = json_object_get(json_object_get(ans, "data"), "normal_stock_num");
			if (ans && json_is_integer(qty)) {
				k->has_current = 1;
				k->current = json_integer_value(qty);
			} else if (ans) {
				qrc = EX_DATAERR;
				buf_reset(err);
				buf_addf(err, "[%s]: %s: the answer has no data.normal_stock_num", c->name,
				    P_GET);
			} else if (!rc && (cls == WX_RATE || cls == WX_BUSY) && !rq[q].permanent &&
			    attempt + 1 < MAX_TRIES) {
				again = 1;
				rated |= cls == WX_RATE;
				qrc = 0;
			} else if (!rc && lenient && rq[q].status == 200 && !rq[q].ambiguous &&
			    code != -2 && cls == WX_OTHER) {
				/* refused for this SKU only */
				snprintf(k->error, sizeof k->error, "%.*s",
				    utf8_prefix(err->s, sizeof k->error - 1), err->s);
				buf_reset(err);
				qrc = 0;
			}
			if (!rc)
				rc = qrc;
			json_decref(ans);
			http_req_release(&rq[q]);
		}
		free(rq);
		free(ix);
		if (rc || !again)
			break;
		if (rated)
			slow_down(c);
		sleep_s(backoff_s(attempt));
	}
	return rc;
}

static int
wx_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	return read_skus(c, v, n, 0, err);
}

/* ---- push ---- */


struct wr {
	struct chan *c;
	struct http_req r;
	struct dwrite d;	/* the correction, its change and what became of it */
	int auth_failed, rated;
	char msg[400];
};

static void
wr_done(struct http_req *r, void *arg)
{
	struct wr *w = arg;
	struct corr *k = w->d.k;
	struct buf m = BUF_INIT;

	if (r->ambiguous) {
		w->d.state = DW_UNKNOWN;
		return;
	}
	json_t *j = r->status == 200 ? json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL) :
	    NULL;
	long long code = env_code(r, NULL);
	int cls = ans_class(r, code);
	describe(w->c, &m, r, P_UPDATE);
	if (r->status == 200 && code == 0) {
		w->d.state = DW_DONE;
		k->status = CS_APPLIED;
		k->error[0] = '\0';
	} else if (r->status == 0 || cls == WX_RATE) {
		/* not processed: again, after a re-read */
		w->rated = cls == WX_RATE;
		w->d.state = DW_RETRY;
		snprintf(k->error, sizeof k->error, "%.*s", utf8_prefix(m.s, 250), m.s);
	} else if (cls == WX_BUSY || (r->status == 200 && !j)) {
		w->d.state = DW_UNKNOWN;	/* may have been applied: read again to learn it */
	} else {
		w->auth_failed = cls == WX_AUTH;
		snprintf(w->msg, sizeof w->msg, "%.*s", utf8_prefix(m.s, sizeof w->msg - 1), m.s);
		w->d.state = DW_DONE;
		corr_fail(k, CS_FAILED, "not written: %.*s", utf8_prefix(m.s, 230), m.s);
	}
	json_decref(j);
	buf_release(&m);
}

static void
wr_submit(struct chan *c, struct wr *w)
{
	char pid[ID_MAX], sid[ID_MAX];
	parse_item(w->d.k->item, pid, sid);
	json_t *b = json_pack("{s:s, s:s, s:i, s:I}", "product_id", pid, "sku_id", sid, "diff_type",
	    w->d.change > 0 ? 1 : 2, "num", (json_int_t)(w->d.change < 0 ? -w->d.change : w->d.change));
	w->c = c;
	req_prepare(c, &w->r, P_UPDATE, b);
	json_decref(b);
	w->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	w->r.no_retry = 1;	/* nor after a 429: read again first */
	w->r.done = wr_done;
	w->r.arg = w;
	http_submit(c->http, &w->r);
}

/* Settle the writes of ws whose answer was lost by reading again. */
static void
settle(struct chan *c, struct wr *ws, size_t nw)
{
	struct dwrite **d = xcalloc(nw ? nw : 1, sizeof *d);
	for (size_t i = 0; i < nw; i++)
		d[i] = &ws[i].d;
	delta_settle_lost(c, d, nw, read_skus);
	free(d);
}

/*
 * One round: read, plan, write, settle lost answers by reading again.
 * What goes again is left in pend (*npend).
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	(void)wait;	/* the default back-off */
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc;

	if ((rc = read_skus(c, pend, n, 1, err)) != 0) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: %.*s",
			    utf8_prefix(err->s, 190), err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		int64_t change = 0, after = 0;
		if (!k->has_current && k->error[0]) {
			corr_fail(k, CS_FAILED, "not written: the read before writing was refused: %.*s",
			    utf8_prefix(k->error, 200), k->error);
		} else if (!k->has_current) {
			corr_fail(k, CS_FAILED, "not written: no SKU %.60s in the shop", k->item);
		} else if (__builtin_sub_overflow(k->to, k->has_from ? k->from : k->current, &change) ||
		    change > CHANGE_MAX || change < -CHANGE_MAX) {
			corr_fail(k, CS_FAILED, "not written: a change of more than %d at once",
			    CHANGE_MAX);
		} else if (change == 0) {
			k->status = CS_UNCHANGED;	/* and a change of 0 is refused (10020218) */
			k->error[0] = '\0';
		} else if (__builtin_add_overflow(k->current, change, &after) || after < 0) {
			corr_fail(k, CS_CONFLICT, "moved since it was read: %lld now, and %+lld would "
			    "take it below zero (not written)", (long long)k->current, (long long)change);
		} else {
			struct wr *w = &ws[nw++];
			w->d.k = k;
			w->d.pre = k->current;
			w->d.change = change;
			w->d.state = DW_SENT;
		}
	}
	for (size_t i = 0; i < nw; i++)
		wr_submit(c, &ws[i]);
	if (nw)
		http_run(c->http);
	settle(c, ws, nw);
	for (size_t i = 0; i < nw; i++)
		if (ws[i].rated) {
			slow_down(c);
			break;
		}
	for (size_t i = 0; i < nw; i++) {
		if (ws[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, ws[i].msg);
		}
		if (ws[i].d.state == DW_RETRY)
			pend[nret++] = ws[i].d.k;
		http_req_release(&ws[i].r);
	}
	*npend = nret;
out:
	free(ws);
	return rc;
}

static int
wx_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	char pid[ID_MAX], sid[ID_MAX];
	size_t np = 0;
	int rc = 0;

	(void)run;	/* the stock API keeps no reason or reference for a change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, pid, sid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a WeChat Channels item "
			    "(<product_id>/<sku_id>)", k->item ? k->item : "");
		else if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: location '%.40s': the driver writes the "
			    "common stock only (location \"\")", k->location);
		else if (k->to < 0)
			corr_fail(k, CS_FAILED, "not written: WeChat Channels stock cannot be negative "
			    "(%lld)", (long long)k->to);
		else {
			/* one SKU twice would be changed twice: refuse the later ones */
			int dup = 0;
			for (size_t j = 0; j < np && !dup; j++)
				dup = !strcmp(pend[j]->item, k->item);
			if (dup)
				corr_fail(k, CS_FAILED, "not written: another correction for item %.60s is "
				    "in the same batch", k->item);
			else
				pend[np++] = k;
		}
	}
	size_t todo = np;
	rc = push_rounds(c, pend, todo, MAX_ROUNDS, push_round, err);
	corr_fail_pending(v, n, rc, err);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
wx_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *app = chan_get(cc, "app_id");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://api.weixin.qq.com)", path,
		    cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!app || !cred_ok(app, strlen(app))) {
		buf_addf(err, "%s:%d: [%s]: app_id = is required (the shop's AppID, wx...)", path,
		    cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	if (!cred_ok(sec.s, sec.len)) {
		buf_addf(err, "%s: [%s]: the secret must be the AppSecret, on one line", path, c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct wx *w = xcalloc(1, sizeof *w);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	w->base = xstrndup(base, bl);
	w->app_id = xstrdup(app);
	w->secret = xstrndup(sec.s, sec.len);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	w->rate = (double)rate;
	http_bucket(c->http, 1, 1, w->rate);
	c->priv = w;
	return 0;
}

static void
wx_close(struct chan *c)
{
	struct wx *w = c->priv;
	if (!w)
		return;
	free(w->base);
	free(w->app_id);
	free_secret(w->secret);
	free_secret(w->token);
	free(w);
	c->priv = NULL;
}

const struct driver drv_wechat = {
	.type = "wechat",
	.max_batch = BATCH_MAX,
	.open = wx_open,
	.pull = wx_pull,
	.read = wx_read,
	.push = wx_push,
	.close = wx_close,
};
