/*
 * kuaishou.c - the Kuaishou (快手小店) driver: the e-commerce open platform
 * under base_url = https://openapi.kwaixiaodian.com.
 *
 * Facts it relies on, with the page that states each one (快手电商开放平台,
 * open.kwaixiaodian.com/zone/new/docs; "API调用说明", pageSign
 * 8cca5d25ba0015e5045a7ebec6383b741614263875756, and the API pages named):
 *   - A call goes to /open/<method with '.' as '/'> with the parameters
 *     appkey, method, version (1), param (the business parameters as a JSON
 *     string), access_token, timestamp (Unix time in milliseconds), signMethod
 *     (HMAC_SHA256, recommended, or MD5) and sign.  Content-Type
 *     application/x-www-form-urlencoded only; a POST carries them in the
 *     body.  We send every one of them in the body, so that the token is in
 *     no URL.  "API调用说明" §3.
 *   - sign: the parameters but sign, sorted by name, joined as k=v with '&',
 *     then "&signSecret=" and the app's signSecret (not its appSecret, which
 *     only serves OAuth); MD5 of that in lower-case hex, or HMAC-SHA256 keyed
 *     by the signSecret, in base64.  Computed on the raw values, before
 *     URL-encoding.  "API调用说明" §4 (its Java sample: DigestUtils.md5Hex,
 *     and Mac HmacSHA256 then Base64.encodeBase64String).
 *   - Every answer is {result (1: success), error_msg, code, msg, sub_code,
 *     sub_msg, requestId, data} (the SDK's response classes).
 *   - open.item.list.get {pageNumber, pageSize}: the shop's items with
 *     their skuInfos [{kwaiSkuId, skuNick (the merchant's code), skuStock}],
 *     data.totalItemCount, data.totalPage.  open.item.get {kwaiItemId}: one
 *     item, its data.skuInfos alike.
 *   - open.item.sku.stock.update {kwaiItemId, skuId, skuChangeStock,
 *     changeType}: "更新逻辑为增量更新，在原有的库存数量上进行增减" -
 *     relative only: changeType 1 adds skuChangeStock, 2 subtracts it;
 *     skuChangeStock is more than 0 and less than 9999999.  One SKU a call.
 * UNVERIFIED (and handled either way): the result codes of a refused
 * signature or token (we take HTTP 401/403 and results 24, 25 and 28 as
 * "auth refused": the simulator's choice, not confirmed); the rate limits
 * and how they are answered (we pace at rate_limit, default 10 a second,
 * and wait out an HTTP 429); the largest pageSize (we ask 100); whether a
 * subtraction below zero is refused (we never send one); whether a stock
 * update has an idempotency key (none is documented: we assume none).
 *
 * Items.  An item is "<kwaiItemId>/<kwaiSkuId>", the location "" (one stock
 * pool per SKU), state "available", sku the skuNick, qty skuStock.
 *
 * Push (DESIGN.md, rule 1: Kuaishou has only a relative change, and no
 * idempotency key).  The items of each batch are read with open.item.get
 * immediately before it is written.  A correction with a known `from`
 * becomes a change by `delta` (to - from): a sale that landed since the
 * pull is kept.  One without `from` becomes a change by `to` less the
 * quantity just read (rule 3: the window is one round trip).  A change
 * that would take the stock below zero is a conflict, not sent.  A write
 * is never re-sent after a lost answer: the item is read again; the
 * quantity read before plus the change means applied, the quantity read
 * before means not applied (it goes again, after one more read), anything
 * else is failed "unknown outcome" - nothing is applied twice.  A 429 or
 * 503 means "not processed": read again, then written.  An item the
 * platform refuses to read before a write (deleted, ...) fails only its
 * own corrections.  The platform's error_msg (Chinese) reaches the
 * result's error unchanged (cut, if at all, on a character boundary).
 *
 * The race window that remains.  None for sales when `from` is known: a
 * relative change cannot erase one.  For a correction without `from`, a
 * sale between the re-read and the write (one round trip) is kept, and the
 * SKU then shows that many units less than `to` until the next run.
 */
#include "platform.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define PAGE_SIZE 100
#define BATCH_MAX 50		/* corrections in one push() call */
#define CHANGE_MAX 9999998	/* "less than 9999999" */
#define MAX_PAGES 100000
#define MAX_PASSES 3
#define MAX_ROUNDS 7
#define ID_MAX 24		/* a Long in decimal, and the NUL */
#define RATE_DEFAULT 10		/* requests per second (UNVERIFIED) */
#define RATE_MIN 0.25
#define E_TOKEN 24		/* UNVERIFIED: see above */
#define E_APPKEY 25
#define E_SIGN 28

#define M_LIST "open.item.list.get"
#define M_GET "open.item.get"
#define M_UPDATE "open.item.sku.stock.update"

enum { SIGN_HMAC, SIGN_MD5 };

/* For the known-answer tests (tests/unit/test_drv_kuaishou.c). */
int ks_sign(const char *secret, int md5, const char *const *kv, size_t n, char *out,
    size_t outlen);
void ks_timestamp(const struct timespec *t, char *out, size_t outlen);

struct ks {
	char *base;
	char *app_key;
	char *secret, *token;	/* scrubbed from any message */
	int md5;
	double rate;
};

struct row {
	char pid[ID_MAX], sid[ID_MAX];
	char *sku;
	int64_t qty;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* ---- signing ---- */

/*
 * The sign of the n key/value pairs kv (k0, v0, k1, v1, ...), in any
 * order; a pair named "sign" is left out.  HMAC-SHA256 (base64) or MD5
 * (lower-case hex) into out (at least 45 bytes).  0, or -1 on failure.
 */
int
ks_sign(const char *secret, int md5, const char *const *kv, size_t n, char *out, size_t outlen)
{
	size_t *ix = xcalloc(n ? n : 1, sizeof *ix), m = 0;
	struct buf s = BUF_INIT, b = BUF_INIT;
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
	for (size_t i = 0; i < m; i++)
		buf_addf(&s, "%s%s=%s", i ? "&" : "", kv[2 * ix[i]], kv[2 * ix[i] + 1]);
	buf_adds(&s, "&signSecret=");
	buf_adds(&s, secret);
	if (md5) {
		if (outlen >= 33 && EVP_Digest(s.s, s.len, md, &mdlen, EVP_md5(), NULL) && mdlen == 16) {
			for (unsigned i = 0; i < mdlen; i++)
				snprintf(out + 2 * i, 3, "%02x", md[i]);
			rc = 0;
		}
	} else if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)s.s, s.len,
	    md, &mdlen) && mdlen == 32) {
		buf_add_base64(&b, md, mdlen);
		if (b.len < outlen) {
			memcpy(out, b.s, b.len + 1);
			rc = 0;
		}
	}
	explicit_bzero(s.s, s.len);
	buf_release(&s);
	buf_release(&b);
	free(ix);
	return rc;
}

/* Unix time in milliseconds: the same instant in every time zone. */
void
ks_timestamp(const struct timespec *t, char *out, size_t outlen)
{
	snprintf(out, outlen, "%lld", (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000);
}

/* ---- helpers ---- */

static void
scrub(const struct ks *k, struct buf *m)
{
	const char *hide[] = { k->secret, k->token };
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
	if (!(s = json_string_value(v)) || !*s || strlen(s) >= outlen ||
	    strspn(s, "0123456789") != strlen(s))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

static int
is_id(const char *s, size_t n)
{
	int64_t v;
	return n > 0 && n < ID_MAX && s[0] != '0' && !parse_i64(s, n, &v) && v > 0;
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

/* A signed POST of method with its business parameters param (JSON). */
static void
req_prepare(struct chan *c, struct http_req *r, const char *method, json_t *param)
{
	struct ks *k = c->priv;
	char ts[32], sign[96], path[64];
	struct timespec now;
	char *p = json_dumps(param, JSON_COMPACT);

	clock_gettime(CLOCK_REALTIME, &now);
	ks_timestamp(&now, ts, sizeof ts);
	const char *kv[] = {
		"access_token", k->token, "appkey", k->app_key, "method", method, "param", p,
		"signMethod", k->md5 ? "MD5" : "HMAC_SHA256", "timestamp", ts, "version", "1",
	};
	size_t n = sizeof kv / sizeof kv[0] / 2;
	if (ks_sign(k->secret, k->md5, kv, n, sign, sizeof sign) < 0)
		die(EX_SOFTWARE, "signing failed (libcrypto)");
	http_req_init(r);
	r->method = "POST";
	snprintf(path, sizeof path, "/%s", method);
	for (char *q = path; *q; q++)
		if (*q == '.')
			*q = '/';
	buf_adds(&r->url, k->base);
	buf_adds(&r->url, path);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(&r->body, '&');
		buf_adds(&r->body, kv[2 * i]);
		buf_addc(&r->body, '=');
		buf_add_pctenc(&r->body, kv[2 * i + 1]);
	}
	buf_adds(&r->body, "&sign=");
	buf_add_pctenc(&r->body, sign);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/x-www-form-urlencoded");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;
	free(p);
}

/* The answer's result (-1 when none) and error_msg (control bytes as spaces). */
static long long
env_result(const struct http_req *r, struct buf *msg)
{
	long long res = -1;
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *rv = json_object_get(j, "result");
	const char *m = json_string_value(json_object_get(j, "error_msg"));
	if (!m || !*m)
		m = json_string_value(json_object_get(j, "msg"));
	if (json_is_integer(rv))
		res = json_integer_value(rv);
	if (msg) {
		buf_reset(msg);
		for (int i = 0; m && m[i] && i < 400; i++)
			buf_addc(msg, (unsigned char)m[i] < 0x20 ? ' ' : m[i]);
	}
	json_decref(j);
	return res;
}

static int
auth_refused(const struct http_req *r, long long res)
{
	return r->status == 401 || r->status == 403 ||
	    (r->status == 200 && (res == E_TOKEN || res == E_APPKEY || res == E_SIGN));
}

static int
fail_code(const struct http_req *r, long long res)
{
	if (auth_refused(r, res))
		return EX_NOPERM;
	if (r->permanent)
		return EX_UNAVAILABLE;
	if (r->status == 0 || r->status == 429 || r->status == 408 || r->status >= 500)
		return EX_TEMPFAIL;
	return EX_UNAVAILABLE;
}

/* "[chan]: open.item.list.get: HTTP 200: result 28: 签名验证失败 (check ...)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *method)
{
	struct ks *k = c->priv;
	struct buf m = BUF_INIT;
	long long res = env_result(r, &m);

	buf_addf(out, "[%s]: %s: ", c->name, method);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (res >= 0)
		buf_addf(out, ": result %lld", res);
	if (m.len)
		buf_addf(out, ": %s", m.s);
	if (auth_refused(r, res))
		buf_adds(out, " (check appkey, and sign_secret:access_token in token_file)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://openapi.kwaixiaodian.com)");
	buf_release(&m);
	scrub(k, out);
}

/* A result 1 answer's data (a new reference), or NULL with err and *rc set. */
static json_t *
answer_data(struct chan *c, const struct http_req *r, const char *method, int *rc, struct buf *err)
{
	json_t *j = NULL, *d;
	if (r->status == 200 && !r->ambiguous)
		j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	if (j && json_is_integer(json_object_get(j, "result")) &&
	    json_integer_value(json_object_get(j, "result")) == 1 &&
	    json_is_object(d = json_object_get(j, "data"))) {
		json_incref(d);
		json_decref(j);
		return d;
	}
	long long res = env_result(r, NULL);
	buf_reset(err);
	describe(c, err, r, method);
	if (r->status == 200 && res == 1)
		buf_adds(err, ": the answer has no data object");
	else if (r->status == 200 && res < 0)
		buf_adds(err, ": the answer is not a Kuaishou envelope (no result)");
	*rc = r->status == 200 && (res < 0 || res == 1) ? EX_DATAERR : fail_code(r, res);
	json_decref(j);
	return NULL;
}

static void
rows_add(struct rows *rs, const char *pid, const char *sid, const char *sku, int64_t qty)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	struct row *w = &rs->v[rs->n++];
	snprintf(w->pid, sizeof w->pid, "%s", pid);
	snprintf(w->sid, sizeof w->sid, "%s", sid);
	w->sku = xstrdup(sku);
	w->qty = qty;
}

static void
rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].sku);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = id_cmp(x->pid, y->pid);
	return d ? d : id_cmp(x->sid, y->sid);
}

static void
rows_sort(struct rows *rs)
{
	size_t u = 0;
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	for (size_t i = 0; i < rs->n; i++) {
		if (u && !row_cmp(&rs->v[u - 1], &rs->v[i])) {
			free(rs->v[i].sku);
			continue;
		}
		rs->v[u++] = rs->v[i];
	}
	rs->n = u;
}

static const struct row *
row_find(const struct rows *rs, const char *pid, const char *sid)
{
	struct row key;
	snprintf(key.pid, sizeof key.pid, "%s", pid);
	snprintf(key.sid, sizeof key.sid, "%s", sid);
	return rs->n ? bsearch(&key, rs->v, rs->n, sizeof *rs->v, row_cmp) : NULL;
}

/* The SKUs of one item object (list entry or open.item.get data); -1 with why. */
static int
item_rows(json_t *it, const char *pid_hint, struct rows *rs, const char **why)
{
	char pid[ID_MAX], sid[ID_MAX];
	json_t *skus = json_object_get(it, "skuInfos");
	if (jid(json_object_get(it, "kwaiItemId"), pid, sizeof pid) < 0 &&
	    jid(json_object_get(it, "itemId"), pid, sizeof pid) < 0) {
		if (!pid_hint) {
			*why = "an item has no kwaiItemId";
			return -1;
		}
		snprintf(pid, sizeof pid, "%s", pid_hint);
	}
	if (skus && !json_is_array(skus)) {
		*why = "an item's skuInfos is not a list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(skus); i++) {
		json_t *s = json_array_get(skus, i), *q = json_object_get(s, "skuStock");
		const char *nick = json_string_value(json_object_get(s, "skuNick"));
		if (jid(json_object_get(s, "kwaiSkuId"), sid, sizeof sid) < 0 || !json_is_integer(q)) {
			*why = "a SKU has no kwaiSkuId or skuStock";
			return -1;
		}
		rows_add(rs, pid, sid, nick ? nick : "", json_integer_value(q));
	}
	return 0;
}

/* ---- pull: every page of open.item.list.get ---- */

static int
list_pass(struct chan *c, struct rows *rs, int *changed, struct buf *err)
{
	long long total = -1;
	int rc = 0;

	*changed = 0;
	for (long page = 1; !rc; page++) {
		struct http_req r;
		const char *why = NULL;
		int last = 1;
		json_t *param = json_pack("{s:I, s:i}", "pageNumber", (json_int_t)page, "pageSize",
		    PAGE_SIZE);
		req_prepare(c, &r, M_LIST, param);
		json_decref(param);
		r.idempotent = 1;	/* a read */
		http_submit(c->http, &r);
		http_run(c->http);
		json_t *data = answer_data(c, &r, M_LIST, &rc, err);
		if (data) {
			json_t *tc = json_object_get(data, "totalItemCount");
			json_t *tp = json_object_get(data, "totalPage");
			json_t *items = json_object_get(data, "items");
			c->pages++;
			if (page == 1)
				total = json_is_integer(tc) ? json_integer_value(tc) : -1;
			else if (json_is_integer(tc) && json_integer_value(tc) != total)
				*changed = 1;
			if (items && !json_is_array(items))
				why = "data.items is not a list";
			for (size_t i = 0; !why && i < json_array_size(items); i++)
				item_rows(json_array_get(items, i), NULL, rs, &why);
			if (!why && json_array_size(items) && json_is_integer(tp) &&
			    page < json_integer_value(tp)) {
				last = 0;
				if (page >= MAX_PAGES)
					why = "more pages than can be";
			}
			if (why) {
				rc = EX_DATAERR;
				buf_reset(err);
				buf_addf(err, "[%s]: %s: %s", c->name, M_LIST, why);
			}
			json_decref(data);
		}
		http_req_release(&r);
		if (last)
			break;
	}
	return rc;
}

static int
ks_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	struct buf item = BUF_INIT;
	int rc = 0, changed = 1;

	for (int pass = 0; pass < MAX_PASSES && changed && !rc; pass++) {
		rows_release(&rs);
		rc = list_pass(c, &rs, &changed, err);
	}
	if (!rc && changed) {
		buf_reset(err);
		buf_addf(err, "[%s]: the item list kept changing while it was read (%d readings); "
		    "try again", c->name, MAX_PASSES);
		rc = EX_TEMPFAIL;
	}
	if (!rc)
		rows_sort(&rs);
	for (size_t i = 0; i < rs.n && !rc; i++) {
		struct row *w = &rs.v[i];
		buf_reset(&item);
		buf_addf(&item, "%s/%s", w->pid, w->sid);
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->sku);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], item.s);
		if (!keep)
			continue;
		struct pulled p = { item.s, w->sku, "", "available", w->qty };
		emit(&p, arg);
	}
	buf_release(&item);
	rows_release(&rs);
	return rc;
}

/* ---- read: open.item.get, one request per item ---- */

/*
 * Read the items of v.  Strict (the driver's read): any failure fails the
 * whole read.  Lenient (before a write): an item the platform refuses
 * (result not 1: gone, under review, ...) only leaves its corrections
 * without a current quantity, with the platform's words in their error;
 * a failure of the transport or of the credentials still fails the read.
 */
static int
read_items(struct chan *c, struct corr **v, size_t n, int lenient, struct buf *err)
{
	char **pids = xcalloc(n ? n : 1, sizeof *pids);
	char pid[ID_MAX], sid[ID_MAX];
	size_t np = 0, u = 0;
	struct rows rs = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (lenient)
			v[i]->error[0] = '\0';
		if (!parse_item(v[i]->item, pid, sid))
			pids[np++] = xstrdup(pid);
	}
	if (np > 1)
		qsort(pids, np, sizeof *pids, id_ptr_cmp);
	for (size_t i = 0; i < np; i++) {
		if (u && !strcmp(pids[u - 1], pids[i])) {
			free(pids[i]);
			continue;
		}
		pids[u++] = pids[i];
	}
	struct http_req *rq = xcalloc(u ? u : 1, sizeof *rq);
	for (size_t q = 0; q < u; q++) {
		int64_t id = 0;
		parse_i64(pids[q], strlen(pids[q]), &id);
		json_t *param = json_pack("{s:I}", "kwaiItemId", (json_int_t)id);
		req_prepare(c, &rq[q], M_GET, param);
		json_decref(param);
		rq[q].idempotent = 1;
		http_submit(c->http, &rq[q]);
	}
	if (u)
		http_run(c->http);
	for (size_t q = 0; q < u; q++) {
		int qrc = 0;
		const char *why = NULL;
		json_t *data = rc ? NULL : answer_data(c, &rq[q], M_GET, &qrc, err);
		long long res = rc ? -1 : env_result(&rq[q], NULL);
		if (lenient && !data && !rc && rq[q].status == 200 && !rq[q].ambiguous && res >= 0 &&
		    res != 1 && !auth_refused(&rq[q], res)) {
			/* refused for this item only: its corrections have no current quantity */
			for (size_t i = 0; i < n; i++)
				if (!parse_item(v[i]->item, pid, sid) && !strcmp(pid, pids[q]))
					snprintf(v[i]->error, sizeof v[i]->error, "%.*s",
					    utf8_prefix(err->s, sizeof v[i]->error - 1), err->s);
			buf_reset(err);
			qrc = 0;
		}
		if (data && item_rows(data, pids[q], &rs, &why) < 0) {
			qrc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: %s: %s", c->name, M_GET, why);
		}
		if (!rc)
			rc = qrc;
		json_decref(data);
		http_req_release(&rq[q]);
	}
	rows_sort(&rs);
	for (size_t i = 0; i < n && !rc; i++) {
		if (parse_item(v[i]->item, pid, sid))
			continue;
		const struct row *w = row_find(&rs, pid, sid);
		if (w && (!v[i]->location || !*v[i]->location)) {
			v[i]->has_current = 1;
			v[i]->current = w->qty;
		}
	}
	rows_release(&rs);
	for (size_t i = 0; i < u; i++)
		free(pids[i]);
	free(pids);
	free(rq);
	return rc;
}

static int
ks_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	return read_items(c, v, n, 0, err);
}

/* ---- push ---- */


struct wr {
	struct chan *c;
	struct http_req r;
	struct dwrite d;	/* the correction, its change and what became of it */
	int auth_failed;
	double wait;		/* Retry-After after a 429/503, -1 none */
	char msg[400];
};

static void
wr_done(struct http_req *r, void *arg)
{
	struct wr *w = arg;
	struct corr *k = w->d.k;
	struct buf m = BUF_INIT, em = BUF_INIT;

	w->wait = -1;
	if (r->ambiguous) {
		w->d.state = DW_UNKNOWN;
		return;
	}
	json_t *j = r->status == 200 ? json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL) :
	    NULL;
	long long res = env_result(r, &em);
	describe(w->c, &m, r, M_UPDATE);
	if (r->status == 0 || r->status == 429 || r->status == 503) {
		/* not processed: again, after a re-read */
		w->wait = http_retry_after(r);
		w->d.state = DW_RETRY;
		snprintf(k->error, sizeof k->error, "%.*s", utf8_prefix(m.s, 250), m.s);
	} else if (r->status == 200 && res == 1) {
		w->d.state = DW_DONE;
		k->status = CS_APPLIED;
		k->error[0] = '\0';
	} else if (r->status == 200 && (!j || res < 0)) {
		w->d.state = DW_UNKNOWN;	/* answered, not in a shape we know: may have been applied */
	} else {
		w->auth_failed = auth_refused(r, res);
		snprintf(w->msg, sizeof w->msg, "%.*s", utf8_prefix(m.s, sizeof w->msg - 1), m.s);
		w->d.state = DW_DONE;
		corr_fail(k, CS_FAILED, "not written: %.*s", utf8_prefix(m.s, 230), m.s);
	}
	json_decref(j);
	buf_release(&m);
	buf_release(&em);
}

static void
wr_submit(struct chan *c, struct wr *w)
{
	char pid[ID_MAX], sid[ID_MAX];
	int64_t p = 0, s = 0;
	parse_item(w->d.k->item, pid, sid);
	parse_i64(pid, strlen(pid), &p);
	parse_i64(sid, strlen(sid), &s);
	json_t *param = json_pack("{s:I, s:I, s:I, s:i}", "kwaiItemId", (json_int_t)p, "skuId",
	    (json_int_t)s, "skuChangeStock", (json_int_t)(w->d.change < 0 ? -w->d.change : w->d.change),
	    "changeType", w->d.change > 0 ? 1 : 2);
	w->c = c;
	req_prepare(c, &w->r, M_UPDATE, param);
	json_decref(param);
	w->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	w->r.no_retry = 1;	/* nor after a 429: read again first */
	w->r.done = wr_done;
	w->r.arg = w;
	http_submit(c->http, &w->r);
}

static void
slow_down(struct chan *c)
{
	struct ks *k = c->priv;
	k->rate = k->rate / 2 > RATE_MIN ? k->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, k->rate);
}

/*
 * One round: read, plan, write, settle lost answers by reading again.
 * What goes again is left in pend (*npend); *wait the longest Retry-After.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc;

	*wait = -1;
	if ((rc = read_items(c, pend, n, 1, err)) != 0) {
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
			corr_fail(k, CS_FAILED, "not written: no SKU %.60s in the shop (gone, or not "
			    "listed)", k->item);
		} else if (__builtin_sub_overflow(k->to, k->has_from ? k->from : k->current, &change) ||
		    change > CHANGE_MAX || change < -CHANGE_MAX) {
			corr_fail(k, CS_FAILED, "not written: the change is more than Kuaishou takes "
			    "(%d)", CHANGE_MAX);
		} else if (change == 0) {
			k->status = CS_UNCHANGED;
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
	/* answers lost: what does Kuaishou show now? */
	struct dwrite **d = xcalloc(nw ? nw : 1, sizeof *d);
	for (size_t i = 0; i < nw; i++)
		d[i] = &ws[i].d;
	delta_settle_lost(c, d, nw, read_items);
	free(d);
	for (size_t i = 0; i < nw; i++)
		if (ws[i].r.status == 429) {
			slow_down(c);
			break;
		}
	for (size_t i = 0; i < nw; i++) {
		if (ws[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, ws[i].msg);
		}
		if (ws[i].wait > *wait)
			*wait = ws[i].wait;
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
ks_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	char pid[ID_MAX], sid[ID_MAX];
	size_t np = 0;
	int rc = 0;

	(void)run;	/* Kuaishou keeps no reason or reference for a change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, pid, sid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a Kuaishou item "
			    "(<kwaiItemId>/<kwaiSkuId>)", k->item ? k->item : "");
		else if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: location '%.40s': Kuaishou has one stock "
			    "per SKU (location \"\")", k->location);
		else if (k->to < 0)
			corr_fail(k, CS_FAILED, "not written: Kuaishou stock cannot be negative (%lld)",
			    (long long)k->to);
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
ks_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *key = chan_get(cc, "app_key"), *sm = chan_get(cc, "sign_method");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;
	int md5 = 0;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://openapi.kwaixiaodian.com)",
		    path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!key || !cred_ok(key, strlen(key))) {
		buf_addf(err, "%s:%d: [%s]: app_key = is required (the appkey of the app, 应用详情)",
		    path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (sm && !strcmp(sm, "MD5"))
		md5 = 1;
	else if (sm && strcmp(sm, "HMAC_SHA256")) {
		buf_addf(err, "%s:%d: [%s]: sign_method = HMAC_SHA256 or MD5, not '%.40s'", path,
		    cc->line, c->name, sm);
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
		buf_addf(err, "%s: [%s]: the secret must be sign_secret:access_token, on one line", path,
		    c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct ks *k = xcalloc(1, sizeof *k);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	k->base = xstrndup(base, bl);
	k->app_key = xstrdup(key);
	k->secret = xstrndup(sec.s, (size_t)(colon - sec.s));
	k->token = xstrdup(colon + 1);
	k->md5 = md5;
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	k->rate = (double)rate;
	http_bucket(c->http, 1, 1, k->rate);
	c->priv = k;
	return 0;
}

static void
ks_close(struct chan *c)
{
	struct ks *k = c->priv;
	if (!k)
		return;
	free(k->base);
	free(k->app_key);
	free_secret(k->secret);
	free_secret(k->token);
	free(k);
	c->priv = NULL;
}

const struct driver drv_kuaishou = {
	.type = "kuaishou",
	.max_batch = BATCH_MAX,
	.open = ks_open,
	.pull = ks_pull,
	.read = ks_read,
	.push = ks_push,
	.close = ks_close,
};
