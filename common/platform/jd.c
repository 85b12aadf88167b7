/*
 * jd.c - the JD (京东) driver: the JOS open platform's router, under
 * base_url = https://api.jd.com (the driver adds /routerjson).
 *
 * Facts it relies on, with the page that states each one:
 *   - One entry point, /routerjson; system parameters method, access_token,
 *     app_key, sign, timestamp and v (2.0); the API's own parameters go in
 *     one parameter, 360buy_param_json, a JSON object with its keys in
 *     alphabetical order.  timestamp is "yyyy-MM-dd HH:mm:ss" (Beijing
 *     time, GMT+8: we compute it from UTC, never from the machine's TZ),
 *     and the server allows 6 minutes of clock error.  "开发规范",
 *     help.jd.com/jos/question-580.html (JOS's developer guide).
 *   - sign = upper-case hex MD5 of app_secret + every parameter but sign,
 *     sorted by name, each as name followed by value + app_secret.  The
 *     same page ("API签名"), and JD's own SDK (jd/api/base.py, sign(),
 *     as vendored in github.com/ogto/scm_backend).  The SDK sends the
 *     parameters as an application/x-www-form-urlencoded POST body.
 *   - A refused call is answered {"error_response": {"code", "zh_desc",
 *     "en_desc"}}; a successful one {"<method, dots as underscores>
 *     _responce": {...}} (sic).  Gateway codes: 2 App Call Limited, 8
 *     Invalid Timestamp, 12 Invalid Signature ("网关系统错误码", the JOS
 *     table reproduced in blog.csdn.net/DianSan_ERP/article/details/
 *     142364242).
 *   - jingdong.sku.read.searchSkuList {wareId?, skuId?, field, pageNo,
 *     page_size} answers page {data [{skuId, wareId, outerId, stockNum,
 *     ...}], pageNo, pageSize, totalItem} (JD's SDK class
 *     SkuReadSearchSkuListRequest; answers as read by open-source JOS
 *     clients).
 *   - jingdong.stock.write.updateSkuStock {skuId, stockNum, storeId?}: the
 *     SKU's stock becomes stockNum (absolute; one SKU a call); a success
 *     answers {"code": "0", "success": true} under its _responce key (JD's
 *     SDK class StockWriteUpdateSkuStockRequest; clients that test
 *     .success).
 * UNVERIFIED (and handled either way): the code of an invalid or expired
 * access token (we take 19, the one seen in answers, and 9, besides HTTP
 * 401/403 and code 12, as "auth refused"); the per-second rate limit and
 * how it is answered (we pace ourselves at `rate_limit`, default 10 a
 * second, and take code 2 or HTTP 429 as "slow down": waited out, a write
 * sent again only after a re-read); how the business errors of
 * updateSkuStock are shaped (an error_response, or a _responce whose
 * success is false: both fail the correction with the platform's words,
 * zh_desc first, passed through untouched); the page_size maximum (we use
 * 100) and how many skuIds one searchSkuList takes (we send at most 20,
 * comma-separated); that stockNum as listed is the number updateSkuStock
 * sets (both are "the SKU's stock" in the docs).
 *
 * Items.  An item is the skuId; the location is "" (one stock pool per SKU
 * for a POP shop); state "available"; sku is the outerId (the merchant's
 * code), "" when the SKU has none.
 *
 * Push (DESIGN.md, rule 3: JD has only an absolute set, no compare-and-set
 * and no idempotency key).  The corrections go in waves of at most 20
 * SKUs; each wave is read again with searchSkuList immediately before it
 * is written.  A correction whose quantity moved since it was pulled is a
 * conflict, not written; one that already shows `to` is unchanged; the
 * others are set, one call each.  An answer that was lost is never re-sent
 * blindly: the SKU is read again; `to` means applied, the quantity read
 * before means not applied (it goes again, after one more read), anything
 * else is failed "unknown outcome".  A throttled write was not processed:
 * read again, then written.
 *
 * The race window that remains: a sale that lands between a wave's re-read
 * and its write is overwritten (the shop shows one unit more than the
 * master wants until the next run).  The window is one wave: at most 20
 * writes, `concurrency` (4) at a time, paced at `rate_limit` - two round
 * trips on a fast link, about 2 s at the default 10 calls a second when
 * the pacing is what limits.
 */
#include "platform.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define ROUTER "/routerjson"
#define M_LIST "jingdong.sku.read.searchSkuList"
#define M_SET "jingdong.stock.write.updateSkuStock"
#define FIELDS "skuId,wareId,outerId,stockNum"
#define PAGE_SIZE 100		/* UNVERIFIED maximum */
#define READ_SKUS 20		/* skuIds in one re-read (UNVERIFIED maximum) */
#define BATCH_MAX 100		/* corrections in one push() call */
#define QTY_MAX 999999999	/* UNVERIFIED: JD states no maximum we could find */
#define MAX_PAGES 100000
#define MAX_PASSES 3		/* readings of the whole list while it keeps changing */
#define MAX_ROUNDS 6		/* re-read + write attempts of one correction */
#define MAX_TRIES 6		/* throttled reads sent again */
#define ID_MAX 24		/* longest skuId we accept (JD's are up to 14 digits) */
#define RATE_DEFAULT 10		/* calls per second (UNVERIFIED) */
#define RATE_MIN 0.25

/* For the known-answer tests (tests/unit/test_drv_jd.c). */
int jd_sign(const char *secret, const char *const *kv, size_t n, char *out, size_t outlen);

struct jd {
	char *url;		/* base_url + /routerjson */
	char *app_key;
	char *secret, *token;	/* scrubbed out of any message */
	double rate;		/* calls per second we allow ourselves */
};

/* One SKU's stock. */
struct row {
	char *sid, *sku;
	int64_t qty;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* ---- signing and time ---- */

/*
 * The sign of a call: kv holds n name/value pairs (k0, v0, k1, v1, ...) in
 * any order; sign and empty values are left out, the rest sorted by name.
 * Writes 32 upper-case hex digits into out (33 bytes or more).  Returns 0,
 * or -1 when out is too small or MD5 failed.
 */
int
jd_sign(const char *secret, const char *const *kv, size_t n, char *out, size_t outlen)
{
	size_t *ix = xcalloc(n ? n : 1, sizeof *ix), m = 0;
	struct buf s = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		const char *k = kv[2 * i];
		if (!strcmp(k, "sign") || !kv[2 * i + 1] || !kv[2 * i + 1][0])
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

/* ---- helpers ---- */

static void
scrub(const struct jd *d, struct buf *m)
{
	const char *hide[] = { d->secret, d->token };
	buf_scrub(m, hide, 2);
}

static int
is_id(const char *s, size_t n)
{
	if (n == 0 || n >= ID_MAX || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A JD id (a positive number, or a string of digits) into out; -1 when not one. */
static int
jid(json_t *v, char *out, size_t outlen)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!(s = json_string_value(v)) || strlen(s) >= outlen || !is_id(s, strlen(s)))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

/*
 * Prepare a signed call of method with its parameters p (360buy_param_json,
 * keys sorted), as a form-encoded POST.
 */
static void
req_prepare(struct chan *c, struct http_req *r, const char *method, json_t *p)
{
	struct jd *d = c->priv;
	char ts[32], sign[40];
	char *pj = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);

	if (!pj || gmt8_time(time(NULL), ts, sizeof ts) < 0)
		die(EX_SOFTWARE, "cannot build a JD call");
	const char *kv[] = { "360buy_param_json", pj, "access_token", d->token, "app_key", d->app_key,
		"method", method, "timestamp", ts, "v", "2.0" };
	size_t n = sizeof kv / sizeof kv[0] / 2;
	if (jd_sign(d->secret, kv, n, sign, sizeof sign) < 0)
		die(EX_SOFTWARE, "MD5 failed (libcrypto)");
	http_req_init(r);
	r->method = "POST";
	buf_adds(&r->url, d->url);
	for (size_t i = 0; i < n; i++) {
		buf_adds(&r->body, kv[2 * i]);
		buf_addc(&r->body, '=');
		buf_add_pctenc(&r->body, kv[2 * i + 1]);
		buf_addc(&r->body, '&');
	}
	buf_adds(&r->body, "sign=");
	buf_adds(&r->body, sign);
	free(pj);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/x-www-form-urlencoded;charset=UTF-8");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;		/* one call of the rate we allow ourselves */
}

/* What an answer says. */
enum { A_OK, A_REFUSED, A_THROTTLED, A_NOT_SENT, A_UNCLEAR };

struct answer {
	int kind;
	int auth;		/* refused: the credentials */
	char code[24];		/* error_response.code, "" when none */
	struct buf msg;		/* the platform's words (zh_desc, else en_desc), as sent */
	json_t *res;		/* A_OK: the _responce object (a reference of j) */
	json_t *j;
};

static void
answer_release(struct answer *a)
{
	buf_release(&a->msg);
	json_decref(a->j);
	memset(a, 0, sizeof *a);
}

static int
auth_code(const char *code)
{
	return !strcmp(code, "9") || !strcmp(code, "12") || !strcmp(code, "19");
}

/* The platform's words: control bytes become spaces, everything else (UTF-8) is kept. */
static void
add_words(struct buf *m, const char *s)
{
	int n = s ? utf8_prefix(s, 400) : 0;
	for (int i = 0; i < n; i++)
		buf_addc(m, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
}

/* Read the answer to a call of method. */
static void
answer_parse(const struct http_req *r, const char *method, struct answer *a)
{
	char key[96];
	json_t *e, *cv;
	memset(a, 0, sizeof *a);
	a->kind = A_UNCLEAR;
	if (r->ambiguous)
		return;
	if (r->status == 0) {
		a->kind = A_NOT_SENT;	/* no connection (the HTTP layer tried again already) */
		return;
	}
	if (r->status == 429 || r->status == 503) {
		a->kind = A_THROTTLED;	/* not processed: try again later */
		return;
	}
	a->auth = r->status == 401 || r->status == 403;
	if (r->resp.len && !r->permanent)
		a->j = json_loadb(r->resp.s, r->resp.len, 0, NULL);
	if ((e = json_object_get(a->j, "error_response")) && json_is_object(e)) {
		cv = json_object_get(e, "code");
		if (json_is_string(cv))
			snprintf(a->code, sizeof a->code, "%s", json_string_value(cv));
		else if (json_is_integer(cv))
			snprintf(a->code, sizeof a->code, "%lld", (long long)json_integer_value(cv));
		const char *zh = json_string_value(json_object_get(e, "zh_desc"));
		add_words(&a->msg, zh && *zh ? zh : json_string_value(json_object_get(e, "en_desc")));
		a->auth = auth_code(a->code);
		a->kind = !strcmp(a->code, "2") ? A_THROTTLED : A_REFUSED;
		return;
	}
	snprintf(key, sizeof key, "%s_responce", method);
	for (char *p = key; *p; p++)
		if (*p == '.')
			*p = '_';
	json_t *res = json_object_get(a->j, key);
	if (r->status == 200 && json_is_object(res)) {
		cv = json_object_get(res, "code");
		const char *code = json_string_value(cv);
		json_t *ok = json_object_get(res, "success");
		if ((code && strcmp(code, "0")) || json_is_false(ok)) {
			/* a business refusal inside the answer (UNVERIFIED shape) */
			snprintf(a->code, sizeof a->code, "%s", code ? code : "");
			const char *m = NULL;
			static const char *const names[] = { "zh_desc", "message", "msg", "resultMessage",
				"en_desc" };
			for (size_t i = 0; i < sizeof names / sizeof names[0] && !m; i++)
				if ((m = json_string_value(json_object_get(res, names[i]))) && !*m)
					m = NULL;
			add_words(&a->msg, m ? m : "success is false");
			a->kind = A_REFUSED;
			return;
		}
		a->res = res;
		a->kind = A_OK;
		return;
	}
	if (r->status != 200 && r->status != 500 && r->status != 502 && r->status != 504)
		a->kind = A_REFUSED;	/* another 4xx: the gateway refused it */
}

/* "[chan]: jingdong.sku.read.searchSkuList: HTTP 200: code 12: 无效签名" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const struct answer *a,
    const char *method)
{
	struct jd *d = c->priv;
	buf_addf(out, "[%s]: %s: ", c->name, method);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (a->code[0])
		buf_addf(out, ": code %s", a->code);
	if (a->msg.len)
		buf_addf(out, ": %s", a->msg.s);
	if (a->auth)
		buf_adds(out, " (check app_key, and the app secret and access token in token_file: "
		    "app_secret:access_token)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://api.jd.com)");
	scrub(d, out);
}

/* After a throttled call: halve our rate, and start from an empty bucket. */
static void
slow_down(struct chan *c)
{
	struct jd *d = c->priv;
	d->rate = d->rate / 2 > RATE_MIN ? d->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, d->rate);
}

/*
 * One read call (a read is safe to send again): its answer in a, or an
 * exit code with err set.  Throttled calls are waited out and sent again.
 */
static int
call_read(struct chan *c, const char *method, json_t *p, struct answer *a, struct buf *err)
{
	for (int try = 0;; try++) {
		struct http_req r;
		req_prepare(c, &r, method, p);
		r.idempotent = 1;
		http_submit(c->http, &r);
		http_run(c->http);
		answer_parse(&r, method, a);
		if (a->kind == A_OK) {
			http_req_release(&r);
			return 0;
		}
		buf_reset(err);
		describe(c, err, &r, a, method);
		int rc;
		if (a->kind == A_THROTTLED && r.status == 200 && try + 1 < MAX_TRIES) {
			/* JOS's own "slow down" (the HTTP layer already waited out 429 and 503) */
			double w = http_retry_after(&r);
			slow_down(c);
			http_req_release(&r);
			answer_release(a);
			sleep_s(w >= 0 ? w : 0.5 * (1 << try));
			continue;
		}
		if (a->auth)
			rc = EX_NOPERM;
		else if (a->kind == A_THROTTLED || a->kind == A_NOT_SENT ||
		    (a->kind == A_UNCLEAR && r.status >= 500))
			rc = EX_TEMPFAIL;
		else if (r.permanent)
			rc = EX_UNAVAILABLE;
		else if (a->kind == A_UNCLEAR && r.status == 200) {
			buf_adds(err, ": the answer is not a JOS envelope");
			rc = EX_DATAERR;
		} else
			rc = r.status == 0 ? EX_TEMPFAIL : EX_UNAVAILABLE;
		http_req_release(&r);
		answer_release(a);
		return rc;
	}
}

static void
rows_add(struct rows *rs, const char *sid, const char *sku, int64_t qty)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	struct row *w = &rs->v[rs->n++];
	w->sid = xstrdup(sid);
	w->sku = xstrdup(sku);
	w->qty = qty;
}

static void
rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].sid);
		free(rs->v[i].sku);
	}
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

static int
row_cmp(const void *a, const void *b)
{
	return id_cmp(((const struct row *)a)->sid, ((const struct row *)b)->sid);
}

/* Sort, and drop repeated SKUs (a page boundary that moved). */
static void
rows_sort(struct rows *rs)
{
	size_t u = 0;
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	for (size_t i = 0; i < rs->n; i++) {
		if (u && !row_cmp(&rs->v[u - 1], &rs->v[i])) {
			free(rs->v[i].sid);
			free(rs->v[i].sku);
			continue;
		}
		rs->v[u++] = rs->v[i];
	}
	rs->n = u;
}

static const struct row *
row_find(const struct rows *rs, const char *sid)
{
	struct row key = { (char *)sid, NULL, 0 };
	return rs->n ? bsearch(&key, rs->v, rs->n, sizeof *rs->v, row_cmp) : NULL;
}

/* The rows of a searchSkuList page; its length in *len.  -1 with why set when malformed. */
static int
page_rows(json_t *res, struct rows *rs, size_t *len, long long *total, const char **why)
{
	json_t *page = json_object_get(res, "page"), *data = json_object_get(page, "data");
	json_t *ti = json_object_get(page, "totalItem");
	char sid[ID_MAX];
	*len = 0;
	*total = -1;
	if (!json_is_object(page)) {
		*why = "the answer has no page";
		return -1;
	}
	if (json_is_integer(ti))
		*total = json_integer_value(ti);
	else if (json_is_string(ti)) {
		int64_t v;
		if (!parse_i64(json_string_value(ti), strlen(json_string_value(ti)), &v))
			*total = v;
	}
	if (!data || json_is_null(data))
		return 0;
	if (!json_is_array(data)) {
		*why = "page.data is not a list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(data); i++) {
		json_t *s = json_array_get(data, i), *q = json_object_get(s, "stockNum");
		const char *sku = json_string_value(json_object_get(s, "outerId"));
		if (jid(json_object_get(s, "skuId"), sid, sizeof sid) < 0 || !json_is_integer(q)) {
			*why = "a SKU has no skuId or no stockNum";
			return -1;
		}
		rows_add(rs, sid, sku ? sku : "", json_integer_value(q));
	}
	*len = json_array_size(data);
	return 0;
}

/* ---- pull: every page of searchSkuList ---- */

/* One reading of the whole list; *changed when its total moved meanwhile. */
static int
list_pass(struct chan *c, struct rows *rs, int *changed, struct buf *err)
{
	long long total = -1;
	int rc = 0;

	*changed = 0;
	for (long page = 1; !rc; page++) {
		struct answer a;
		const char *why = NULL;
		size_t len;
		long long t;
		json_t *p = json_pack("{s:s, s:i, s:i}", "field", FIELDS, "pageNo", (int)page,
		    "page_size", PAGE_SIZE);
		rc = call_read(c, M_LIST, p, &a, err);
		json_decref(p);
		if (rc)
			break;
		c->pages++;
		if (page_rows(a.res, rs, &len, &t, &why) == 0) {
			if (page == 1)
				total = t;
			else if (t != total)
				*changed = 1;
			if (len < PAGE_SIZE || (total >= 0 && page * (long long)PAGE_SIZE >= total)) {
				answer_release(&a);
				break;
			}
			if (page >= MAX_PAGES)
				why = "more pages than can be";
		}
		answer_release(&a);
		if (why) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: %s: %s", c->name, M_LIST, why);
		}
	}
	return rc;
}

static int
list_read(struct chan *c, struct rows *rs, struct buf *err)
{
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		int changed, rc;
		rows_release(rs);
		if ((rc = list_pass(c, rs, &changed, err)) != 0)
			return rc;
		if (!changed) {
			rows_sort(rs);
			return 0;
		}
	}
	buf_reset(err);
	buf_addf(err, "[%s]: the SKU list kept changing while it was read (%d readings); try "
	    "again", c->name, MAX_PASSES);
	return EX_TEMPFAIL;
}

static int
jd_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	int rc = list_read(c, &rs, err);

	for (size_t i = 0; i < rs.n && !rc; i++) {
		struct row *w = &rs.v[i];
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->sku);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], w->sid);
		if (!keep)
			continue;
		struct pulled p = { w->sid, w->sku, "", "available", w->qty };
		emit(&p, arg);
	}
	rows_release(&rs);
	return rc;
}

/* ---- read: searchSkuList by skuId ---- */

static int
item_ok(const struct corr *k)
{
	return k->item && is_id(k->item, strlen(k->item)) && k->location && !k->location[0];
}

static int
jd_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	const char **ids = xcalloc(n ? n : 1, sizeof *ids);
	size_t ni = 0, u = 0;
	struct rows rs = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (item_ok(v[i]))
			ids[ni++] = v[i]->item;
	}
	if (ni > 1)
		qsort(ids, ni, sizeof *ids, id_ptr_cmp);
	for (size_t i = 0; i < ni; i++)
		if (!u || strcmp(ids[u - 1], ids[i]))
			ids[u++] = ids[i];
	for (size_t off = 0; off < u && !rc; off += READ_SKUS) {
		struct buf list = BUF_INIT;
		struct answer a;
		const char *why = NULL;
		size_t len;
		long long total;
		for (size_t k = off; k < u && k < off + READ_SKUS; k++) {
			if (k > off)
				buf_addc(&list, ',');
			buf_adds(&list, ids[k]);
		}
		json_t *p = json_pack("{s:s, s:s, s:i, s:i}", "skuId", list.s, "field", FIELDS,
		    "pageNo", 1, "page_size", PAGE_SIZE);
		buf_release(&list);
		rc = call_read(c, M_LIST, p, &a, err);
		json_decref(p);
		if (rc)
			break;
		if (page_rows(a.res, &rs, &len, &total, &why) < 0) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: %s: %s", c->name, M_LIST, why);
		}
		answer_release(&a);
	}
	rows_sort(&rs);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct row *w = item_ok(v[i]) ? row_find(&rs, v[i]->item) : NULL;
		if (w) {
			v[i]->has_current = 1;
			v[i]->current = w->qty;
		}
	}
	rows_release(&rs);
	free(ids);
	return rc;
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_DONE };

struct wr {
	struct corr *k;
	struct http_req r;
	struct chan *c;
	int64_t pre;		/* the quantity read before the write */
	int state;
	int auth;
	double wait;		/* throttled: Retry-After, -1 none */
	char msg[200];
};

static void
wr_done(struct http_req *r, void *arg)
{
	struct wr *w = arg;
	struct corr *k = w->k;
	struct answer a;
	struct buf m = BUF_INIT;

	answer_parse(r, M_SET, &a);
	w->wait = -1;
	switch (a.kind) {
	case A_OK:
		w->state = W_DONE;
		k->status = CS_APPLIED;
		k->error[0] = '\0';
		k->has_after = 1;
		k->after = k->to;
		break;
	case A_THROTTLED:
	case A_NOT_SENT:
		/* not processed (never sent, or the platform said so): again after a re-read */
		w->state = W_RETRY;
		w->wait = http_retry_after(r);
		describe(w->c, &m, r, &a, M_SET);
		snprintf(k->error, sizeof k->error, "not applied: %.*s", utf8_prefix(m.s, 200), m.s);
		break;
	case A_REFUSED:
		w->state = W_DONE;
		w->auth = a.auth;
		describe(w->c, &m, r, &a, M_SET);
		snprintf(w->msg, sizeof w->msg, "%.*s", utf8_prefix(m.s, sizeof w->msg - 1), m.s);
		corr_fail(k, CS_FAILED, "not written: %.*s", utf8_prefix(m.s, 240), m.s);
		break;
	default:
		/* lost, or answered in a shape we do not know: it may have been applied */
		w->state = W_UNKNOWN;
		break;
	}
	buf_release(&m);
	answer_release(&a);
}

static void
wr_submit(struct chan *c, struct wr *w)
{
	json_t *p = json_pack("{s:I, s:I}", "skuId", (json_int_t)strtoll(w->k->item, NULL, 10),
	    "stockNum", (json_int_t)w->k->to);
	w->c = c;
	req_prepare(c, &w->r, M_SET, p);
	json_decref(p);
	w->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	w->r.no_retry = 1;	/* nor after a throttled answer: read again first */
	w->r.done = wr_done;
	w->r.arg = w;
	http_submit(c->http, &w->r);
}

/*
 * One round over the corrections of a wave: read them, decide, write those
 * to write, settle the unclear ones by reading again.  What goes again is
 * left in pend; *wait is the longest Retry-After asked for.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc;

	*wait = -1;
	rc = jd_read(c, pend, n, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: %.*s",
			    utf8_prefix(err->s, 200), err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		if (k->has_current && k->current == k->to) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (!k->has_current) {
			corr_fail(k, CS_FAILED, "not written: JD lists no SKU %.30s (gone, or not this "
			    "shop's)", k->item);
		} else if (!k->has_from) {
			corr_fail(k, CS_CONFLICT, "a record appeared since it was read: %lld now (not "
			    "written)", (long long)k->current);
		} else if (k->current != k->from) {
			corr_fail(k, CS_CONFLICT, "moved since it was read: %lld then, %lld now (not "
			    "written: JD has no compare-and-set)", (long long)k->from,
			    (long long)k->current);
		} else {
			ws[nw].k = k;
			ws[nw].pre = k->current;
			ws[nw].state = W_SENT;
			nw++;
		}
	}
	for (size_t i = 0; i < nw; i++)
		wr_submit(c, &ws[i]);
	if (nw)
		http_run(c->http);
	/* answers lost: what does the platform show now? */
	size_t nunk = 0;
	struct corr **unk = xcalloc(nw ? nw : 1, sizeof *unk);
	for (size_t i = 0; i < nw; i++)
		if (ws[i].state == W_UNKNOWN)
			unk[nunk++] = ws[i].k;
	if (nunk) {
		struct buf e = BUF_INIT;
		int rrc = jd_read(c, unk, nunk, &e);
		for (size_t i = 0; i < nw; i++) {
			struct wr *w = &ws[i];
			struct corr *k = w->k;
			if (w->state != W_UNKNOWN)
				continue;
			if (rrc) {
				corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost, and the "
				    "re-read failed: %.*s", utf8_prefix(e.s, 160), e.s);
				w->state = W_DONE;
			} else if (k->has_current && k->current == k->to) {
				k->status = CS_APPLIED;
				k->error[0] = '\0';
				k->has_after = 1;
				k->after = k->to;
				w->state = W_DONE;
			} else if (k->has_current && k->current == w->pre) {
				snprintf(k->error, sizeof k->error, "not applied: the answer was lost");
				w->state = W_RETRY;	/* not applied: again, after a re-read */
			} else if (k->has_current) {
				corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if "
				    "applied; not sent again)", (long long)k->current, (long long)k->to);
				w->state = W_DONE;
			} else {
				corr_fail(k, CS_FAILED, "unknown outcome, re-read lists no SKU (not sent "
				    "again)");
				w->state = W_DONE;
			}
		}
		buf_release(&e);
	}
	free(unk);
	int throttled = 0;
	for (size_t i = 0; i < nw; i++) {
		if (ws[i].auth && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, ws[i].msg);
		}
		if (ws[i].state == W_RETRY) {
			pend[nret++] = ws[i].k;
			throttled |= ws[i].r.status != 0 || ws[i].wait >= 0;
		}
		if (ws[i].wait > *wait)
			*wait = ws[i].wait;
		http_req_release(&ws[i].r);
	}
	if (throttled)
		slow_down(c);
	*npend = nret;
out:
	free(ws);
	return rc;
}

static int
corr_cmp(const void *a, const void *b)
{
	const struct corr *x = *(struct corr *const *)a, *y = *(struct corr *const *)b;
	int d = id_cmp(x->item, y->item);
	return d ? d : (x < y ? -1 : x > y);
}

static int
jd_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	size_t np = 0, u = 0;
	int rc = 0;

	(void)run;	/* JD keeps no reason or reference for a change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (!k->item || !is_id(k->item, strlen(k->item)))
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a JD skuId", k->item ? k->item : "");
		else if (!k->location || k->location[0])
			corr_fail(k, CS_FAILED, "not written: JD has one stock pool per SKU: the location "
			    "must be \"\", not '%.40s'", k->location ? k->location : "");
		else if (k->to < 0 || k->to > QTY_MAX)
			corr_fail(k, CS_FAILED, "not written: JD takes quantities 0 to %d, not %lld",
			    QTY_MAX, (long long)k->to);
		else
			pend[np++] = k;
	}
	/* one SKU twice would be written twice: refuse the later ones */
	if (np > 1)
		qsort(pend, np, sizeof *pend, corr_cmp);
	for (size_t i = 0; i < np; i++) {
		if (u && !strcmp(pend[u - 1]->item, pend[i]->item)) {
			corr_fail(pend[i], CS_FAILED, "not written: another correction for SKU %.30s is in "
			    "the same batch", pend[i]->item);
			continue;
		}
		pend[u++] = pend[i];
	}
	np = u;
	for (size_t off = 0; off < np && !rc; off += READ_SKUS) {
		struct corr **p = pend + off;
		size_t todo = np - off < READ_SKUS ? np - off : READ_SKUS;
		rc = push_rounds(c, p, todo, MAX_ROUNDS, push_round, err);
	}
	corr_fail_pending(v, n, rc, err);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
jd_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *key = chan_get(cc, "app_key");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://api.jd.com)", path,
		    cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!key || !cred_ok(key, strlen(key))) {
		buf_addf(err, "%s:%d: [%s]: app_key = is required (the app's App Key, JD open "
		    "platform console)", path, cc->line, c->name);
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
	struct jd *d = xcalloc(1, sizeof *d);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	struct buf u = BUF_INIT;
	buf_add(&u, base, bl);
	buf_adds(&u, ROUTER);
	d->url = u.s;
	d->app_key = xstrdup(key);
	d->secret = xstrndup(sec.s, (size_t)(colon - sec.s));
	d->token = xstrdup(colon + 1);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	d->rate = (double)rate;
	http_bucket(c->http, 1, 1, d->rate);	/* evenly spaced, no burst */
	c->priv = d;
	return 0;
}

static void
jd_close(struct chan *c)
{
	struct jd *d = c->priv;
	if (!d)
		return;
	free(d->url);
	free(d->app_key);
	free_secret(d->secret);
	free_secret(d->token);
	free(d);
	c->priv = NULL;
}

const struct driver drv_jd = {
	.type = "jd",
	.max_batch = BATCH_MAX,
	.open = jd_open,
	.pull = jd_pull,
	.read = jd_read,
	.push = jd_push,
	.close = jd_close,
};
