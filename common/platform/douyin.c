/*
 * douyin.c - the Douyin shop (抖店) driver: the open platform's v2 API
 * under base_url = https://openapi-fxg.jinritemai.com.
 *
 * Facts it relies on, with where each one is stated (抖店开放平台,
 * op.jinritemai.com/docs; the official SDKs are generated from the same
 * pages, e.g. the PHP one mirrored at github.com/westng/doudian-sdk,
 * src/Core/DoudianOpClient.php, src/Utils/SignUtil.php and src/Api/<name>/):
 *   - Every call is POST {base_url}/{method with '.' as '/'} with the query
 *     app_key, method, v=2, timestamp, sign_method, access_token and sign;
 *     the body is param_json: the business parameters as compact JSON with
 *     the keys sorted at every level.  "签名算法", op.jinritemai.com/docs/
 *     guide-docs/10/23, and the SDK's DoudianOpClient::request and
 *     SignUtil::marshal.
 *   - sign = lower-case hex of HMAC-SHA256 keyed by the app secret
 *     (sign_method=hmac-sha256), or of MD5 (sign_method=md5), over
 *     app_secret + "app_key" + app_key + "method" + method + "param_json" +
 *     param_json + "timestamp" + timestamp + "v2" + app_secret.  Same page;
 *     SignUtil::sign.
 *   - timestamp: the guide gives "yyyy-MM-dd HH:mm:ss" in GMT+8 (Beijing
 *     time), and requests up to 10 minutes off are accepted; the SDKs send
 *     Unix seconds instead.  We send the documented form, computed from UTC
 *     (never from the machine's time zone).  UNVERIFIED: whether the
 *     gateway still prefers one form.
 *   - Answers are {code (10000: success), msg, sub_code, sub_msg, log_id,
 *     data}; sub_msg carries the reason, in Chinese.  "公共返回参数".
 *   - product.listV2 {page (from 1), size (at most 100)} answers data {data
 *     [{product_id, ...}], page, size, total}.  "商品列表V2",
 *     op.jinritemai.com/docs/api-docs/14/633 (SDK Api/product_listV2).
 *   - sku.list {product_id} answers data [{id, product_id, code, stock_num,
 *     sku_type, ...}]: code is the merchant's SKU code, stock_num the
 *     ordinary (普通) stock, sku_type 0 ordinary, 1 regional (区域库存), 10
 *     stepped.  "获取商品sku列表" (SDK Api/sku_list).
 *   - sku.stockNum {sku_id} answers data {sku_id, code, stock_num,
 *     prehold_stock_num, ...}.  "查询库存", op.jinritemai.com/docs/
 *     api-docs/34/936 (SDK Api/sku_stockNum).
 *   - sku.syncStock {product_id, sku_id, incremental, idempotent_id,
 *     stock_num}: incremental=false sets stock_num; incremental=true adds
 *     it (negative subtracts) and then idempotent_id is required; a
 *     subtraction below zero is refused ("系统错误:更新库存数失败").
 *     "同步库存" (SDK Api/sku_syncStock, SkuSyncStockParam).
 *   - sku.syncStockBatch {product_id, incremental, idempotent_id,
 *     sku_sync_list [{sku_id, sku_type, stock_num}, ...]}: the SKUs of ONE
 *     product in one call, all-or-nothing ("只支持批量同步归属于同一个商品的
 *     sku库存", "接口规则全部成功或全部失败": one SKU wrong and none is
 *     updated); sku_type (0 ordinary) is required in each entry; the answer
 *     is the envelope with an empty data.  "库存批量同步接口" (SDK
 *     Api/sku_syncStockBatch: SkuSyncStockBatchRequest, getUrlPath
 *     "/sku/syncStockBatch"; param SkuSyncStockBatchParam, SkuSyncList; the
 *     same page mirrored at doc.fw199.com/docs/h7b/h7b-1fkbojco2mb75).  The
 *     page says idempotent_id is "仅incremental=true时有用" (used only with
 *     incremental=true), so it applies to the batch as a whole.
 *     UNVERIFIED: the most SKUs in one call (no page we found states it: we
 *     send at most SKU_BATCH_MAX); whether a repeated idempotent_id is
 *     answered as before or refused (a generated SDK's table of the
 *     method's errors lists "更新库存数失败: 幂等ID重复",
 *     isv.parameter-invalid:2010021, "请勿重复请求": a repeat answered so is
 *     reported failed with those words, and the next pull shows the truth).
 * UNVERIFIED (and handled either way): the error codes (we take HTTP 401/403
 * and codes 30000-39999 as "auth refused", 50002 or HTTP 429 as "throttled",
 * 20000 and 5xx as "try later", anything else as a refusal of that call);
 * the QPS limits (requests go at most `rate_limit` a second, default 10,
 * halved after each throttled answer); how long idempotent_id is remembered
 * and what a repeat of it answers (we repeat a write only with the same
 * idempotent_id and body, so it cannot apply twice; a repeat answered with
 * an error is reported failed with the platform's words, and the next pull
 * shows the truth).
 *
 * Items.  An item is "<product_id>/<sku_id>", location "" (the ordinary
 * stock, one pool), state "available", qty stock_num; sku is the SKU's
 * code.  SKUs on regional or stepped stock are not emitted (counted as
 * unmanaged); corrections with a location are refused.
 *
 * Push (DESIGN.md, rule 1).  Every write is incremental=true: a correction
 * with a known `from` adds its delta; one with `from` null (its SKU was not
 * pulled) is read with sku.stockNum just before and adds to - (what it
 * read).  Two or more corrections of one product in a push() call go as
 * one sku.syncStockBatch (up to SKU_BATCH_MAX SKUs, ordered by sku_id, one
 * entry per SKU); a correction alone on its product goes as sku.syncStock.
 * Each request carries idempotent_id = a UUID hashed from its content: for
 * sku.syncStock the correction's key and the delta, for a batch the product
 * and the key and delta of each member in sku_id order.  So the HTTP layer
 * may re-send it after a lost answer, a 5xx or a throttled answer with the
 * same idempotent_id and body: the platform applies it once.  A batch is
 * settled as a whole: its answer (applied, refused with the platform's
 * words, or unknown) is that of every correction in it.  A sale that lands
 * between pull and push is never erased: the delta applies on top of it.
 * The race window: none for sales; for a `from` null correction a sale
 * between its read and its write makes the shop show less than `to`
 * (never more), until the next run.
 */
#include "platform.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define PAGE_SIZE 100		/* the documented size maximum */
#define BATCH_MAX 100		/* corrections in one push() call */
#define SKU_BATCH_MAX 50	/* SKUs in one sku.syncStockBatch (the limit is UNVERIFIED) */
#define MAX_PAGES 100000
#define MAX_PASSES 3		/* readings of the whole list while its total keeps changing */
#define RATE_DEFAULT 10		/* requests per second (the limits are UNVERIFIED) */
#define RATE_MIN 0.25
#define ID_MAX 24		/* a decimal int64 and its NUL */
#define C_OK 10000
#define C_UNAVAILABLE 20000
#define C_THROTTLED 50002	/* UNVERIFIED */

/* For the known-answer tests (tests/unit/test_drv_douyin.c). */
int dy_sign(const char *secret, int md5, const char *app_key, const char *method,
    const char *param_json, const char *ts, char *out, size_t outlen);

struct dy {
	char *base;		/* base_url, no trailing '/' */
	char *basepath;		/* its path, for messages */
	char *app_key;
	char *secret, *token;	/* scrubbed out of any message */
	int md5;		/* sign_method = md5 */
	double rate;		/* requests per second we allow ourselves */
};

/* One request and what the driver needs to settle it. */
struct call {
	struct http_req r;
	struct chan *c;
	char method[32];
	int throttled;		/* answers that said "too fast" */
	struct corr *k;		/* push/read: the correction */
	int64_t pid, sid, delta;
};

/* One SKU as listed. */
struct row {
	int64_t pid, sid, qty;
	char *code;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* ---- signing ---- */

/*
 * The sign of a call: lower-case hex of HMAC-SHA256 keyed by secret (or of
 * MD5 when md5) over secret + "app_key" + app_key + "method" + method +
 * "param_json" + param_json + "timestamp" + ts + "v2" + secret.  out takes
 * 65 bytes or more.  Returns 0, or -1 when out is too small or the digest
 * failed.
 */
int
dy_sign(const char *secret, int md5, const char *app_key, const char *method,
    const char *param_json, const char *ts, char *out, size_t outlen)
{
	struct buf s = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1, ok;

	buf_adds(&s, secret);
	buf_addf(&s, "app_key%smethod%sparam_json", app_key, method);
	buf_adds(&s, param_json);
	buf_addf(&s, "timestamp%sv2", ts);
	buf_adds(&s, secret);
	if (md5)
		ok = EVP_Digest(s.s, s.len, md, &mdlen, EVP_md5(), NULL) == 1 && mdlen == 16;
	else
		ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)s.s,
		    s.len, md, &mdlen) != NULL && mdlen == 32;
	if (ok && outlen >= 2 * (size_t)mdlen + 1) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
	explicit_bzero(s.s, s.len);
	buf_release(&s);
	return rc;
}

/* ---- helpers ---- */

static void
scrub(const struct dy *d, struct buf *m)
{
	const char *hide[] = { d->secret, d->token };
	buf_scrub(m, hide, 2);
}

/* Cut b to at most max bytes, at a UTF-8 character boundary. */
static void
utf8_cut(struct buf *b, size_t max)
{
	if (b->len <= max)
		return;
	size_t n = max;
	while (n > 0 && ((unsigned char)b->s[n] & 0xc0) == 0x80)
		n--;
	b->len = n;
	b->s[n] = '\0';
}

/* Fail (or leave pending) k with the text of m, cut on a character boundary. */
static void
corr_say(struct corr *k, int status, struct buf *m)
{
	utf8_cut(m, sizeof k->error - 1);
	corr_fail(k, status, "%s", m->s);
}

/* A positive decimal int64, whole; -1 when not one. */
static int
parse_id(const char *s, size_t n, int64_t *v)
{
	if (n == 0 || n >= ID_MAX || *s < '1' || *s > '9' || parse_i64(s, n, v) || *v <= 0)
		return -1;
	return 0;
}

/* "pid/sid" -> its two ids; -1 when malformed. */
static int
parse_item(const char *s, int64_t *pid, int64_t *sid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || parse_id(s, (size_t)(slash - s), pid) < 0 ||
	    parse_id(slash + 1, strlen(slash + 1), sid) < 0)
		return -1;
	return 0;
}

/* A Douyin id: a positive integer, or a string of digits.  -1 when not one. */
static int
jid(json_t *v, int64_t *out)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!(s = json_string_value(v)))
		return -1;
	return parse_id(s, strlen(s), out);
}

/*
 * Prepare a signed call of method (e.g. "sku.syncStock") with the business
 * parameters param (borrowed).
 */
static void
call_prepare(struct chan *c, struct call *q, const char *method, json_t *param)
{
	struct dy *d = c->priv;
	char ts[32], sign[160];
	char *pj = json_dumps(param, JSON_COMPACT | JSON_SORT_KEYS);

	if (!pj)
		die(EX_SOFTWARE, "cannot encode param_json");
	gmt8_time(time(NULL), ts, sizeof ts);
	if (dy_sign(d->secret, d->md5, d->app_key, method, pj, ts, sign, sizeof sign) < 0)
		die(EX_SOFTWARE, "%s failed (libcrypto)", d->md5 ? "MD5" : "HMAC-SHA256");
	http_req_init(&q->r);
	q->c = c;
	snprintf(q->method, sizeof q->method, "%s", method);
	q->r.method = "POST";
	buf_adds(&q->r.url, d->base);
	buf_addc(&q->r.url, '/');
	for (const char *p = method; *p; p++)
		buf_addc(&q->r.url, *p == '.' ? '/' : *p);
	buf_adds(&q->r.url, "?app_key=");
	buf_add_pctenc(&q->r.url, d->app_key);
	buf_adds(&q->r.url, "&method=");
	buf_add_pctenc(&q->r.url, method);
	buf_adds(&q->r.url, "&v=2&timestamp=");
	buf_add_pctenc(&q->r.url, ts);
	buf_adds(&q->r.url, d->md5 ? "&sign_method=md5" : "&sign_method=hmac-sha256");
	buf_adds(&q->r.url, "&access_token=");
	buf_add_pctenc(&q->r.url, d->token);
	buf_adds(&q->r.url, "&sign=");
	buf_adds(&q->r.url, sign);
	buf_adds(&q->r.body, pj);
	free(pj);
	q->r.hdrs = curl_slist_append(q->r.hdrs, "Content-Type: application/json");
	q->r.hdrs = curl_slist_append(q->r.hdrs, "Accept: application/json");
	q->r.hdrs = curl_slist_append(q->r.hdrs, "Expect:");
	q->r.cost = 1;
}

/* The envelope's code (-1 when there is none); msg gets "msg: sub_code: sub_msg". */
static long long
env_code(const struct http_req *r, struct buf *msg)
{
	long long code = -1;
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *cv = json_object_get(j, "code");
	const char *parts[3] = {
		json_string_value(json_object_get(j, "msg")),
		json_string_value(json_object_get(j, "sub_code")),
		json_string_value(json_object_get(j, "sub_msg")),
	};
	if (json_is_integer(cv))
		code = json_integer_value(cv);
	if (msg) {
		buf_reset(msg);
		for (int i = 0; i < 3; i++) {
			if (!parts[i] || !*parts[i])
				continue;
			if (msg->len)
				buf_adds(msg, ": ");
			/* bytes pass as they are (UTF-8), control characters as spaces */
			for (size_t k = 0; parts[i][k] && k < 400; k++)
				buf_addc(msg, (unsigned char)parts[i][k] < 0x20 ? ' ' : parts[i][k]);
		}
	}
	json_decref(j);
	return code;
}

static int
auth_refused(const struct http_req *r, long long code)
{
	return r->status == 401 || r->status == 403 || (code >= 30000 && code <= 39999);
}

static int
throttled(const struct http_req *r, long long code)
{
	return r->status == 429 || (r->status == 200 && code == C_THROTTLED);
}

static int
fail_code(const struct http_req *r, long long code)
{
	if (auth_refused(r, code))
		return EX_NOPERM;
	if (r->permanent)
		return EX_UNAVAILABLE;
	if (r->status == 0 || r->status == 408 || r->status >= 500 || throttled(r, code) ||
	    code == C_UNAVAILABLE)
		return EX_TEMPFAIL;
	return EX_UNAVAILABLE;
}

/* "[chan]: POST /sku/syncStock: code 40004: 业务处理失败: isv.business-failed: 系统错误:..." */
static void
describe(struct chan *c, struct buf *out, const struct call *q)
{
	struct dy *d = c->priv;
	const struct http_req *r = &q->r;
	struct buf m = BUF_INIT;
	long long code = env_code(r, &m);

	buf_addf(out, "[%s]: POST %s/", c->name, d->basepath);
	for (const char *p = q->method; *p; p++)
		buf_addc(out, *p == '.' ? '/' : *p);
	buf_adds(out, ": ");
	if (r->error[0])
		buf_adds(out, r->error);
	else if (r->status != 200 || code < 0)
		buf_addf(out, "HTTP %ld", r->status);
	if (code >= 0)
		buf_addf(out, "%scode %lld", r->error[0] || r->status != 200 ? ": " : "", code);
	if (m.len)
		buf_addf(out, ": %s", m.s);
	if (auth_refused(r, code))
		buf_adds(out, " (check app_key, and the app secret and access token in token_file: "
		    "app_secret:access_token)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://openapi-fxg.jinritemai.com)");
	buf_release(&m);
	scrub(d, out);
}

/* After a throttled answer: halve our rate, and start from an empty bucket. */
static void
slow_down(struct chan *c)
{
	struct dy *d = c->priv;
	d->rate = d->rate / 2 > RATE_MIN ? d->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, d->rate);
}

/*
 * Every call ends here: a throttled answer is sent again (the same body:
 * reads, and writes carrying their idempotent_id) after a wait; the rest
 * is settled by the caller after http_run.
 */
static void
call_done(struct http_req *r, void *arg)
{
	struct call *q = arg;
	long long code = r->status == 200 || r->status == 429 ? env_code(r, NULL) : -1;
	if (!r->ambiguous && throttled(r, code)) {
		struct dy *d = q->c->priv;
		q->throttled++;
		slow_down(q->c);
		if (r->status == 200)	/* the layer retries a 429 itself */
			http_retry(q->c->http, r, 1.0 / d->rate + 0.1 * q->throttled);
	}
}

static void
call_submit(struct chan *c, struct call *q)
{
	q->r.idempotent = 1;	/* a read, or a write with its idempotent_id */
	q->r.done = call_done;
	q->r.arg = q;
	http_submit(c->http, &q->r);
}

/* A code 10000 answer's data (a new reference), or NULL with err set and *rc. */
static json_t *
answer_data(struct chan *c, const struct call *q, int *rc, struct buf *err)
{
	const struct http_req *r = &q->r;
	json_t *j = NULL, *d;
	if (r->status == 200 && !r->ambiguous)
		j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	if (j && json_is_integer(json_object_get(j, "code")) &&
	    json_integer_value(json_object_get(j, "code")) == C_OK &&
	    (d = json_object_get(j, "data")) != NULL && !json_is_null(d)) {
		json_incref(d);
		json_decref(j);
		return d;
	}
	long long code = env_code(r, NULL);
	buf_reset(err);
	describe(c, err, q);
	if (r->status == 200 && code == C_OK)
		buf_adds(err, ": the answer has no data");
	else if (r->status == 200 && code < 0)
		buf_adds(err, ": the answer is not a Douyin envelope (no code)");
	*rc = r->status == 200 && (code < 0 || code == C_OK) ? EX_DATAERR : fail_code(r, code);
	json_decref(j);
	return NULL;
}

static void
rows_add(struct rows *rs, int64_t pid, int64_t sid, const char *code, int64_t qty)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	struct row *w = &rs->v[rs->n++];
	w->pid = pid;
	w->sid = sid;
	w->qty = qty;
	w->code = xstrdup(code);
}

static void
rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].code);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* ---- pull: every page of product.listV2, and each product's sku.list ---- */

/* Rows of one sku.list answer; -1 with why set when malformed. */
static int
sku_rows(struct chan *c, json_t *data, int64_t pid, struct rows *rs, const char **why)
{
	if (!json_is_array(data)) {
		*why = "sku.list: data is not a list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(data); i++) {
		json_t *s = json_array_get(data, i), *q = json_object_get(s, "stock_num");
		json_t *t = json_object_get(s, "sku_type"), *p = json_object_get(s, "product_id");
		const char *code = json_string_value(json_object_get(s, "code"));
		int64_t sid, p2;
		if (jid(json_object_get(s, "id"), &sid) < 0 || (p && (jid(p, &p2) < 0 || p2 != pid))) {
			*why = "sku.list: a SKU has no id, or names another product";
			return -1;
		}
		if (t && !json_is_null(t) && (!json_is_integer(t) || json_integer_value(t) != 0)) {
			c->unmanaged++;	/* regional or stepped stock: not the ordinary pool */
			continue;
		}
		if (!json_is_integer(q)) {
			*why = "sku.list: a SKU has no integer stock_num";
			return -1;
		}
		rows_add(rs, pid, sid, code ? code : "", (int64_t)json_integer_value(q));
	}
	return 0;
}

/* One reading of the whole list; *changed when its total moved meanwhile. */
static int
list_pass(struct chan *c, struct rows *rs, int *changed, struct buf *err)
{
	struct dy *d = c->priv;
	long long total = -1;
	size_t seen = 0;
	int rc = 0;

	*changed = 0;
	for (long page = 1; !rc && page <= MAX_PAGES; page++) {
		struct call q = { 0 };
		const char *why = NULL;
		json_t *param = json_pack("{s:I, s:I}", "page", (json_int_t)page, "size",
		    (json_int_t)PAGE_SIZE);
		call_prepare(c, &q, "product.listV2", param);
		json_decref(param);
		call_submit(c, &q);
		http_run(c->http);
		json_t *data = answer_data(c, &q, &rc, err);
		http_req_release(&q.r);
		if (!data)
			break;
		c->pages++;
		json_t *tv = json_object_get(data, "total"), *list = json_object_get(data, "data");
		if (!json_is_integer(tv) || json_integer_value(tv) < 0 || (list && !json_is_array(list))) {
			why = "product.listV2: no total, or data.data is not a list";
		} else if (page == 1) {
			total = json_integer_value(tv);
		} else if (json_integer_value(tv) != total) {
			*changed = 1;
		}
		size_t np = json_array_size(list);
		struct call *qs = xcalloc(np ? np : 1, sizeof *qs);
		int64_t *pids = xcalloc(np ? np : 1, sizeof *pids);
		for (size_t i = 0; i < np && !why; i++) {
			if (jid(json_object_get(json_array_get(list, i), "product_id"), &pids[i]) < 0) {
				why = "product.listV2: a product has no product_id";
				break;
			}
		}
		size_t nq = why ? 0 : np;
		for (size_t i = 0; i < nq; i++) {
			json_t *p = json_pack("{s:I}", "product_id", (json_int_t)pids[i]);
			call_prepare(c, &qs[i], "sku.list", p);
			json_decref(p);
			call_submit(c, &qs[i]);
		}
		if (nq)
			http_run(c->http);
		for (size_t i = 0; i < nq; i++) {
			int qrc = 0;
			json_t *sd = rc || why ? NULL : answer_data(c, &qs[i], &qrc, err);
			if (sd && sku_rows(c, sd, pids[i], rs, &why) < 0)
				qrc = EX_DATAERR;
			if (!rc && !why)
				rc = qrc;
			json_decref(sd);
			http_req_release(&qs[i].r);
		}
		free(qs);
		free(pids);
		if (why) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: POST %s: %s", c->name, d->basepath, why);
		}
		json_decref(data);
		seen += np;
		if (rc || np == 0 || (long long)seen >= total || np < PAGE_SIZE)
			break;
	}
	return rc;
}

static int
list_read(struct chan *c, struct rows *rs, struct buf *err)
{
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		int changed, rc;
		rows_release(rs);
		c->unmanaged = 0;
		if ((rc = list_pass(c, rs, &changed, err)) != 0)
			return rc;
		if (!changed) {
			/* a product listed twice (the list moved under us) counts once */
			size_t u = 0;
			if (rs->n > 1)
				qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
			for (size_t i = 0; i < rs->n; i++) {
				if (u && !row_cmp(&rs->v[u - 1], &rs->v[i])) {
					free(rs->v[i].code);
					continue;
				}
				rs->v[u++] = rs->v[i];
			}
			rs->n = u;
			return 0;
		}
	}
	buf_reset(err);
	buf_addf(err, "[%s]: the product list kept changing while it was read (%d readings); try "
	    "again", c->name, MAX_PASSES);
	return EX_TEMPFAIL;
}

static int
dy_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	char item[2 * ID_MAX + 2];
	int rc = list_read(c, &rs, err);

	for (size_t i = 0; i < rs.n && !rc; i++) {
		struct row *w = &rs.v[i];
		snprintf(item, sizeof item, "%lld/%lld", (long long)w->pid, (long long)w->sid);
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->code);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], item);
		if (!keep)
			continue;
		struct pulled p = { item, w->code, "", "available", w->qty };
		emit(&p, arg);
	}
	rows_release(&rs);
	return rc;
}

/* ---- read: sku.stockNum, one call per SKU ---- */

/* Is this refusal "no such SKU"?  (sub_code/sub_msg wording UNVERIFIED) */
static int
no_such_sku(const struct http_req *r)
{
	struct buf m = BUF_INIT;
	long long code = env_code(r, &m);
	int no = r->status == 200 && code == 40004 && m.s && strstr(m.s, "sku不存在") != NULL;
	buf_release(&m);
	return no;
}

static int
dy_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct dy *d = c->priv;
	struct call *qs = xcalloc(n ? n : 1, sizeof *qs);
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (parse_item(v[i]->item, &qs[i].pid, &qs[i].sid) < 0 ||
		    (v[i]->location && *v[i]->location))
			continue;
		json_t *p = json_pack("{s:I}", "sku_id", (json_int_t)qs[i].sid);
		call_prepare(c, &qs[i], "sku.stockNum", p);
		json_decref(p);
		qs[i].k = v[i];
		call_submit(c, &qs[i]);
	}
	http_run(c->http);
	for (size_t i = 0; i < n; i++) {
		struct call *q = &qs[i];
		if (!q->k)
			continue;
		int qrc = 0;
		json_t *data = NULL;
		if (!rc && !no_such_sku(&q->r) && (data = answer_data(c, q, &qrc, err)) != NULL) {
			json_t *sn = json_object_get(data, "stock_num");
			int64_t sid;
			json_t *sv = json_object_get(data, "sku_id");
			if (!json_is_integer(sn) || (sv && (jid(sv, &sid) < 0 || sid != q->sid))) {
				qrc = EX_DATAERR;
				buf_reset(err);
				buf_addf(err, "[%s]: POST %s/sku/stockNum: the answer for SKU %lld has no "
				    "stock_num, or names another SKU", c->name, d->basepath,
				    (long long)q->sid);
			} else {
				q->k->has_current = 1;
				q->k->current = (int64_t)json_integer_value(sn);
			}
		}
		if (!rc)
			rc = qrc;
		json_decref(data);
		http_req_release(&q->r);
	}
	free(qs);
	return rc;
}

/* ---- push: sku.syncStock or sku.syncStockBatch, incremental, with idempotent_id ---- */

/*
 * Settle k by the answer to q, the request that carried it (alone, or in a
 * batch with others: then every member gets the same outcome and words).
 */
static void
push_settle(struct chan *c, struct call *q, struct corr *k, int *rc, struct buf *err)
{
	struct http_req *r = &q->r;
	struct buf m = BUF_INIT, e = BUF_INIT;
	long long code = env_code(r, NULL);

	describe(c, &m, q);
	if (r->status == 200 && !r->ambiguous && code == C_OK) {
		k->status = CS_APPLIED;	/* the answer says nothing of the quantity after */
		k->error[0] = '\0';
	} else if (!r->ambiguous && throttled(r, code)) {
		/* refused, not processed: the next run sends it again */
		buf_addf(&e, "not written: still throttled after %d attempts: %s", r->attempts, m.s);
		corr_say(k, CS_FAILED, &e);
	} else if (r->ambiguous || r->status == 0 || r->status >= 500 ||
	    code == C_UNAVAILABLE || (r->status == 200 && code < 0)) {
		/* not settled: a repeat with the same idempotent_id is safe (--resume) */
		buf_addf(&e, "unknown outcome (a repeat applies it once): %s", m.s);
		corr_say(k, CS_PENDING, &e);
	} else {
		if (auth_refused(r, code) && !*rc) {
			*rc = EX_NOPERM;
			buf_reset(err);
			buf_add(err, m.s, m.len);
		}
		buf_adds(&e, "not written: ");
		buf_add(&e, m.s, m.len);
		corr_say(k, CS_FAILED, &e);
	}
	buf_release(&e);
	buf_release(&m);
}

/*
 * Prepare in q the sku.syncStockBatch of the nm corrections qs[mem[0..nm)],
 * all of one product.  mem is put in sku_id order first, so the list and
 * the idempotent_id hashed from the members' keys and deltas come out the
 * same for the same corrections however they arrived.
 */
static void
batch_prepare(struct chan *c, struct call *q, const struct call *qs, size_t *mem, size_t nm)
{
	struct buf dk = BUF_INIT;
	json_t *list = json_array();
	char idem[40];

	for (size_t i = 1; i < nm; i++)
		for (size_t j = i; j > 0 && qs[mem[j]].sid < qs[mem[j - 1]].sid; j--) {
			size_t t = mem[j];
			mem[j] = mem[j - 1];
			mem[j - 1] = t;
		}
	buf_addf(&dk, "sku.syncStockBatch\037%lld", (long long)qs[mem[0]].pid);
	for (size_t i = 0; i < nm; i++) {
		const struct call *m = &qs[mem[i]];
		buf_addf(&dk, "\037%s/%lld", m->k->key, (long long)m->delta);
		json_array_append_new(list, json_pack("{s:I, s:i, s:I}", "sku_id", (json_int_t)m->sid,
		    "sku_type", 0, "stock_num", (json_int_t)m->delta));
	}
	key_uuid(dk.s, dk.len, idem, sizeof idem);
	json_t *p = json_pack("{s:I, s:b, s:s, s:o}", "product_id", (json_int_t)qs[mem[0]].pid,
	    "incremental", 1, "idempotent_id", idem, "sku_sync_list", list);
	call_prepare(c, q, "sku.syncStockBatch", p);
	json_decref(p);
	buf_release(&dk);
}

static int
dy_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct call *qs = xcalloc(n ? n : 1, sizeof *qs);
	struct corr **fresh = xcalloc(n ? n : 1, sizeof *fresh);
	size_t *lead = xcalloc(n ? n : 1, sizeof *lead);	/* the call that carries v[i] */
	size_t *mem = xcalloc(n ? n : 1, sizeof *mem);
	size_t nf = 0;
	int rc = 0;

	(void)run;	/* the key of each correction already holds the run */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, &qs[i].pid, &qs[i].sid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a Douyin item "
			    "(<product_id>/<sku_id>)", k->item ? k->item : "");
		else if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: location '%.40s': only the ordinary stock "
			    "(location \"\") is written, not regional stock", k->location);
		else if (k->to < 0 || k->to > INT32_MAX)
			corr_fail(k, CS_FAILED, "not written: Douyin takes quantities 0 to %d, not %lld",
			    INT32_MAX, (long long)k->to);
		else if (!k->has_from)
			fresh[nf++] = k;
		else if (k->to == k->from)
			k->status = CS_UNCHANGED;
	}
	/* `from` null: the SKU was not pulled; read it now, and move it to `to` by a delta */
	int rrc = nf ? dy_read(c, fresh, nf, err) : 0;
	if (rrc) {
		for (size_t i = 0; i < nf; i++)
			corr_fail(fresh[i], CS_FAILED, "not written: the read before writing failed: "
			    "%.200s", err->s);
		if (rrc == EX_NOPERM)
			rc = rrc;	/* the others would be refused too */
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct corr *k = v[i];
		if (k->status != CS_PENDING)
			continue;
		if (!k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: SKU %lld of product %lld not found",
			    (long long)qs[i].sid, (long long)qs[i].pid);
			continue;
		}
		int64_t base = k->has_from ? k->from : k->current;
		qs[i].delta = k->to - base;
		if (qs[i].delta == 0) {
			k->status = CS_UNCHANGED;
			continue;
		}
		qs[i].k = k;	/* to be written */
		lead[i] = i;
	}
	/*
	 * One request per product: a batch when it has two SKUs or more to
	 * write, carried by qs[i], i its first correction (lead[j] = i).
	 */
	size_t nw = 0;
	for (size_t i = 0; i < n; i++) {
		if (!qs[i].k || lead[i] != i)
			continue;
		size_t nm = 0;
		mem[nm++] = i;
		for (size_t j = i + 1; j < n && nm < SKU_BATCH_MAX; j++) {
			int dup = 0;	/* a SKU twice: the second goes in a request of its own */
			for (size_t t = 0; t < nm && !dup; t++)
				dup = qs[mem[t]].sid == qs[j].sid;
			if (qs[j].k && lead[j] == j && qs[j].pid == qs[i].pid && !dup) {
				lead[j] = i;
				mem[nm++] = j;
			}
		}
		if (nm > 1) {
			batch_prepare(c, &qs[i], qs, mem, nm);
		} else {
			struct corr *k = qs[i].k;
			char idem[40], dk[sizeof k->key + 32];
			int dl = snprintf(dk, sizeof dk, "%s/%lld", k->key, (long long)qs[i].delta);
			key_uuid(dk, (size_t)dl, idem, sizeof idem);
			json_t *p = json_pack("{s:I, s:I, s:b, s:s, s:I}", "product_id",
			    (json_int_t)qs[i].pid, "sku_id", (json_int_t)qs[i].sid, "incremental", 1,
			    "idempotent_id", idem, "stock_num", (json_int_t)qs[i].delta);
			call_prepare(c, &qs[i], "sku.syncStock", p);
			json_decref(p);
		}
		call_submit(c, &qs[i]);
		nw++;
	}
	if (nw)
		http_run(c->http);
	for (size_t i = 0; i < n; i++) {
		if (!qs[i].k || lead[i] != i)
			continue;
		for (size_t j = i; j < n; j++)
			if (qs[j].k && lead[j] == i)
				push_settle(c, &qs[i], qs[j].k, &rc, err);
		http_req_release(&qs[i].r);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING && !v[i]->error[0])
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	free(mem);
	free(lead);
	free(fresh);
	free(qs);
	return rc;
}

/* ---- open and close ---- */

static int
dy_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *key = chan_get(cc, "app_key"), *sm = chan_get(cc, "sign_method");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required "
		    "(https://openapi-fxg.jinritemai.com)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!key || !cred_ok(key, strlen(key))) {
		buf_addf(err, "%s:%d: [%s]: app_key = is required (the app's key, 抖店开放平台, "
		    "控制台, 应用详情)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (sm && strcmp(sm, "md5") && strcmp(sm, "hmac-sha256")) {
		buf_addf(err, "%s:%d: [%s]: sign_method = must be hmac-sha256 or md5, not '%.40s'",
		    path, cc->line, c->name, sm);
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
		buf_addf(err, "%s: [%s]: the secret must be app_secret:access_token, on one line", path,
		    c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct dy *d = xcalloc(1, sizeof *d);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	d->base = xstrndup(base, bl);
	const char *hp = strstr(d->base, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	d->basepath = xstrdup(hp ? hp : "");
	d->app_key = xstrdup(key);
	d->secret = xstrndup(sec.s, (size_t)(colon - sec.s));
	d->token = xstrdup(colon + 1);
	d->md5 = sm && !strcmp(sm, "md5");
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	d->rate = (double)rate;
	http_bucket(c->http, 1, 1, d->rate);	/* evenly spaced, no burst */
	c->priv = d;
	return 0;
}

static void
dy_close(struct chan *c)
{
	struct dy *d = c->priv;
	if (!d)
		return;
	free(d->base);
	free(d->basepath);
	free(d->app_key);
	free_secret(d->secret);
	free_secret(d->token);
	free(d);
	c->priv = NULL;
}

const struct driver drv_douyin = {
	.type = "douyin",
	.max_batch = BATCH_MAX,
	.open = dy_open,
	.pull = dy_pull,
	.read = dy_read,
	.push = dy_push,
	.close = dy_close,
};
