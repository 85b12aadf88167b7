/*
 * taobao.c - the Taobao/Tmall driver: the Taobao Open Platform (TOP) REST
 * router, base_url = https://eco.taobao.com/router/rest (the router itself;
 * gw.api.taobao.com/router/rest is its plain-http twin, refused here).
 *
 * Facts it relies on, with the page that states each one (open.taobao.com
 * API pages, checked on their mirrors developer.alibaba.com/docs and
 * open.alitrip.com/docs, which show the same pages):
 *   - Every call is a POST of form fields to the router: the system
 *     parameters method, app_key, session (the seller's authorisation),
 *     timestamp "yyyy-MM-dd HH:mm:ss" in GMT+8 (at most 10 minutes off the
 *     server's clock), format=json, v=2.0, sign_method (md5, hmac = HMAC-MD5,
 *     hmac-sha256) and sign, next to the API's own fields.  sign = upper-case
 *     hex of MD5(secret + k1v1k2v2... + secret) for md5, or of HMAC keyed by
 *     the secret of k1v1k2v2... for hmac and hmac-sha256: every field but
 *     sign (and empty ones), sorted by name, values not encoded.  The
 *     documentation's worked example (app_key test, secret test,
 *     taobao.user.seller.get, 2013-05-06 13:52:03) signs to
 *     72CB4D809B375A54502C09360D879C64 (tests/unit/test_drv_taobao.c).
 *     "API调用方法详解" (open.taobao.com/doc.htm?docId=101617; the example
 *     is quoted at segmentfault.com/q/1010000002569107, the parameters at
 *     cnblogs.com/zeroone/p/6181024.html).
 *   - An error is {"error_response": {code, msg, sub_code, sub_msg,
 *     request_id}}: code 7 App Call Limited (flow control, sub_msg "This ban
 *     will last for N more seconds"), 25 Invalid signature, 27 Invalid
 *     session, 29 Invalid app key, 11/12 insufficient permissions, 15 Remote
 *     service error with an isv.* (the request's fault: not applied) or isp.*
 *     (the platform's) sub_code.  "错误码一览" on open.taobao.com (its docId
 *     UNVERIFIED; codes as SDKs and the API pages' error examples show them).
 *   - taobao.items.onsale.get: fields (num_iid, num, outer_id), page_no,
 *     page_size (at most 200); page_no * page_size above 20000 is refused;
 *     answers total_results and items.item[].  apiId=18.
 *   - taobao.items.seller.list.get: num_iids (at most 20, comma-separated),
 *     fields (num_iid, num, outer_id, sku): items.item[] with
 *     skus.sku[] {sku_id, quantity, outer_id}; unknown ids are left out
 *     without an error.  Checked on its Tmall twin's page,
 *     taobao.items.seller.list.get.tmall (apiId=40575, same fields).
 *   - taobao.item.quantity.update: num_iid, sku_id (none: the item's own
 *     stock), quantity, type (1 set, 2 change by quantity; may be negative,
 *     but the result may not go below 0); answers item {num_iid, num,
 *     modified, skus.sku[] {sku_id, quantity}}.  No idempotency key.
 *     Checked on its Tmall twin's page, taobao.item.quantity.update.tmall
 *     (apiId=38973, the same parameters and answer).
 *   - taobao.skus.quantity.update: num_iid, skuid_quantities
 *     "sku_id:quantity;sku_id:quantity" (at most 20 SKUs, all of that
 *     item), type (1 set, 2 change by quantity; default 1); answers
 *     skus_quantity_update_response.item {num_iid, num, modified, skus.sku[]
 *     {sku_id, quantity, modified}}.  No idempotency key.  Checked on its
 *     Tmall twin's page, taobao.skus.quantity.update.tmall (apiId=38499,
 *     open.alitrip.com/docs/api.htm?apiId=38499), and the Taobao page's
 *     SDK example (SkusQuantityUpdateRequest: setNumIid, setSkuidQuantities,
 *     setType; the answer's root skus_quantity_update_response).
 * UNVERIFIED (and handled either way): the HTTP status of errors (200
 * everywhere as far as reported; other statuses are handled as any HTTP
 * failure); the exact sub_codes of a refused stock change (any isv.* is
 * taken as "not applied", anything else is re-read); how long a code 7
 * lasts when the sub_msg does not say (backoff); the app's call rate (we
 * allow ourselves `rate_limit` a second, default 10); sign_method
 * hmac-sha256 (named by newer SDKs, not on the page above: md5 is the
 * default).
 * UNVERIFIED for taobao.skus.quantity.update: whether it is all or
 * nothing (we never count on it: a lost or unclear answer is settled SKU
 * by SKU, by reading them again); its JSON answer (only the XML example
 * is shown; we take the root every TOP answer has, and find each SKU's
 * quantity by sku_id whether the answer lists every SKU or only those
 * changed); what it does with a change below 0 (the Tmall page says the
 * SKU is set to 0, the single call refuses it: we never send one that
 * the read says would go below 0, and an answered quantity is taken as it
 * is); whether type=2 applies per SKU exactly as the single call does.
 * Not used: tmall.item.quantity.update, whose options.outer_biz_key is an
 * idempotency key for deltas, exists only for Tmall shops.
 *
 * Items.  An item with SKUs gives one record per SKU, item
 * "<num_iid>/<sku_id>", sku the SKU's outer_id, qty its quantity; an item
 * without SKUs gives "<num_iid>" with the item's outer_id and num.  There
 * is one pool per item or SKU: location "", state "available".  Pull lists
 * the items on sale (taobao.items.onsale.get), then reads them 20 at a time.
 *
 * Push (DESIGN.md, rule 1 without an idempotency key, as bigcommerce.c).
 * Each batch of at most 20 corrections is read (one call) immediately
 * before it is written; a correction with a known `from` becomes type=2, a
 * change by `delta`: a sale between pull and push is kept.  Two or more
 * such changes to SKUs of one item in a round go in one
 * taobao.skus.quantity.update (type=2, "sku_id:delta;..."), a change alone
 * in taobao.item.quantity.update; a batch's answer, refusal or loss is
 * each of its corrections', and each is settled as if sent alone.  One whose
 * `from` is null fails (a stock write cannot create a SKU) or, when Taobao
 * shows a quantity for it, is a conflict (pull again).  One whose change
 * would take the quantity below 0 is a conflict, not sent.  A lost answer
 * is never re-sent blindly: the SKU is read again; the quantity read before
 * plus delta means applied, the quantity read before means not applied (it
 * goes again, after another read), anything else is failed "unknown
 * outcome".  An isv.* refusal fails the correction with the platform's
 * words, untouched (they are often Chinese); code 7 means "not processed":
 * we halve our rate, wait, read again and send again.
 *
 * The race window that remains: none for sales (a change cannot erase one).
 * A lost answer whose SKU also sold meanwhile is reported failed although
 * it may have been applied: safe, the next pull sees the truth.
 */
#include "platform.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define PAGE_SIZE 200		/* the documented page_size maximum */
#define LIST_MAX 20000		/* page_no * page_size beyond this is refused */
#define READ_IDS 20		/* the documented num_iids maximum */
#define BATCH_MAX 20		/* corrections read together, then written */
#define SKUS_MAX 20		/* the documented skuid_quantities maximum */
#define MAX_PASSES 3		/* readings of the list while it keeps changing */
#define MAX_ROUNDS 7		/* read + write attempts of one correction */
#define MAX_TRIES 6		/* sendings of a read refused by flow control */
#define ID_MAX 24		/* longest id we accept (Taobao's are 12-13 digits) */
#define QTY_MAX 999999999	/* a quantity TOP's Number holds without doubt */
#define RATE_DEFAULT 10		/* calls a second (the app's limit is UNVERIFIED) */
#define RATE_MIN 0.25

enum { SM_MD5, SM_HMAC, SM_HMAC256 };
static const char *const sm_names[] = { "md5", "hmac", "hmac-sha256" };

/* For the known-answer tests (tests/unit/test_drv_taobao.c). */
int top_sign(int method, const char *secret, const char *const *kv, size_t n, char *out,
    size_t outlen);

struct tb {
	char *url;		/* base_url: the router */
	char *app_key;
	char *secret, *session;	/* scrubbed out of any message */
	int sm;			/* sign method */
	double rate;
};

/* One quantity: of a SKU (sid set) or of an item without SKUs. */
struct row {
	char iid[ID_MAX], sid[ID_MAX];
	char *sku;
	int64_t qty;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* ---- signing and time ---- */

/*
 * The sign of the fields kv (n pairs k0, v0, k1, v1, ...; any order):
 * sign and empty values left out, the rest sorted by name.  Writes
 * upper-case hex into out (33 bytes for md5 and hmac, 65 for hmac-sha256).
 * Returns 0, or -1 when out is too small or the digest failed.
 */
int
top_sign(int method, const char *secret, const char *const *kv, size_t n, char *out,
    size_t outlen)
{
	size_t *ix = xcalloc(n ? n : 1, sizeof *ix), m = 0;
	struct buf s = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = 0;

	for (size_t i = 0; i < n; i++) {
		const char *k = kv[2 * i];
		if (!strcmp(k, "sign") || !kv[2 * i + 1] || !*kv[2 * i + 1])
			continue;
		size_t j = m++;
		while (j > 0 && strcmp(kv[2 * ix[j - 1]], k) > 0) {
			ix[j] = ix[j - 1];
			j--;
		}
		ix[j] = i;
	}
	buf_adds(&s, "");
	if (method == SM_MD5)
		buf_adds(&s, secret);
	for (size_t i = 0; i < m; i++) {
		buf_adds(&s, kv[2 * ix[i]]);
		buf_adds(&s, kv[2 * ix[i] + 1]);
	}
	if (method == SM_MD5) {
		buf_adds(&s, secret);
		ok = EVP_Digest(s.s, s.len, md, &mdlen, EVP_md5(), NULL) == 1;
	} else if (method == SM_HMAC || method == SM_HMAC256) {
		ok = HMAC(method == SM_HMAC ? EVP_md5() : EVP_sha256(), secret, (int)strlen(secret),
		    (const unsigned char *)s.s, s.len, md, &mdlen) != NULL;
	}
	if (ok && outlen > 2 * (size_t)mdlen) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(out + 2 * i, 3, "%02X", md[i]);
	} else {
		ok = 0;
	}
	explicit_bzero(s.s, s.len);
	buf_release(&s);
	free(ix);
	return ok ? 0 : -1;
}

/* ---- helpers ---- */

static void
scrub(const struct tb *t, struct buf *m)
{
	const char *hide[] = { t->secret, t->session };
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

/* A Taobao id (a number, or a string of digits) into out; -1 when not one. */
static int
jid(json_t *v, char *out)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, ID_MAX, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!(s = json_string_value(v)) || !is_id(s, strlen(s)))
		return -1;
	snprintf(out, ID_MAX, "%s", s);
	return 0;
}

/* "iid" or "iid/sid" -> its halves (sid "" for an item); -1 when malformed. */
static int
parse_item(const char *s, char *iid, char *sid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t n = s ? (slash ? (size_t)(slash - s) : strlen(s)) : 0;
	if (!s || !is_id(s, n) || (slash && !is_id(slash + 1, strlen(slash + 1))))
		return -1;
	snprintf(iid, ID_MAX, "%.*s", (int)n, s);
	snprintf(sid, ID_MAX, "%s", slash ? slash + 1 : "");
	return 0;
}

/* Append s[0..n) cut to at most max bytes at a UTF-8 character boundary, controls as spaces. */
static void
add_text(struct buf *out, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		buf_addc(out, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
}

/* Format into k->error, cut at a character boundary (Chinese messages stay whole characters). */
static void
corr_set(struct corr *k, int status, const char *text)
{
	struct buf b = BUF_INIT;
	add_text(&b, text, sizeof k->error - 1);
	corr_fail(k, status, "%s", b.s);
	buf_release(&b);
}

/* k's status, and prefix then text as its error (text cut at a character boundary). */
static void
corr_fail2(struct corr *k, int status, const char *prefix, const char *text)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, prefix);
	buf_adds(&b, text ? text : "");
	corr_set(k, status, b.s);
	buf_release(&b);
}

/*
 * Prepare a signed call of api with its fields kv (n pairs; NULL or empty
 * values are left out).
 */
static void
req_prepare(struct chan *c, struct http_req *r, const char *api, const char *const *kv, size_t n)
{
	struct tb *t = c->priv;
	char ts[32], sign[80];
	const char **all = xcalloc(2 * (n + 9), sizeof *all);
	size_t m = 0;

	if (gmt8_time(time(NULL), ts, sizeof ts) < 0)
		die(EX_SOFTWARE, "cannot format the time");
	all[2 * m] = "method", all[2 * m + 1] = api, m++;
	all[2 * m] = "app_key", all[2 * m + 1] = t->app_key, m++;
	all[2 * m] = "session", all[2 * m + 1] = t->session, m++;
	all[2 * m] = "timestamp", all[2 * m + 1] = ts, m++;
	all[2 * m] = "format", all[2 * m + 1] = "json", m++;
	all[2 * m] = "v", all[2 * m + 1] = "2.0", m++;
	all[2 * m] = "sign_method", all[2 * m + 1] = sm_names[t->sm], m++;
	for (size_t i = 0; i < n; i++)
		if (kv[2 * i + 1] && *kv[2 * i + 1]) {
			all[2 * m] = kv[2 * i];
			all[2 * m + 1] = kv[2 * i + 1];
			m++;
		}
	if (top_sign(t->sm, t->secret, all, m, sign, sizeof sign) < 0)
		die(EX_SOFTWARE, "%s failed (libcrypto)", sm_names[t->sm]);
	http_req_init(r);
	r->method = "POST";
	buf_adds(&r->url, t->url);
	for (size_t i = 0; i < m; i++) {
		buf_adds(&r->body, all[2 * i]);
		buf_addc(&r->body, '=');
		buf_add_pctenc(&r->body, all[2 * i + 1]);
		buf_addc(&r->body, '&');
	}
	buf_adds(&r->body, "sign=");
	buf_adds(&r->body, sign);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/x-www-form-urlencoded;charset=utf-8");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;
	free(all);
}

/* After flow control refused a call: halve our rate, from an empty bucket. */
static void
slow_down(struct chan *c)
{
	struct tb *t = c->priv;
	t->rate = t->rate / 2 > RATE_MIN ? t->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, t->rate);
}

/* A TOP error answer, parsed. */
struct toperr {
	long long code;		/* -1: none */
	char sub_code[96];
	double wait;		/* code 7: seconds the ban lasts, -1 unknown */
	struct buf text;	/* "code 15: msg: sub_code: sub_msg" */
};

/* The answer's JSON, or NULL; with *e filled when it is an error_response. */
static json_t *
top_parse(const struct http_req *r, struct toperr *e)
{
	json_t *j = NULL, *er;
	e->code = -1;
	e->sub_code[0] = '\0';
	e->wait = -1;
	buf_reset(&e->text);
	if (r->status == 200 && !r->ambiguous)
		j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	if (!json_is_object(er = json_object_get(j, "error_response")))
		return j;
	json_t *cv = json_object_get(er, "code");
	const char *msg = json_string_value(json_object_get(er, "msg"));
	const char *sc = json_string_value(json_object_get(er, "sub_code"));
	const char *sm = json_string_value(json_object_get(er, "sub_msg"));
	e->code = json_is_integer(cv) ? json_integer_value(cv) : 0;
	if (json_is_string(cv))
		e->code = strtoll(json_string_value(cv), NULL, 10);
	if (e->code < 0)
		e->code = 0;
	buf_addf(&e->text, "code %lld", e->code);
	if (msg && *msg) {
		buf_adds(&e->text, ": ");
		add_text(&e->text, msg, 200);
	}
	if (sc && *sc) {
		buf_adds(&e->text, ": ");
		add_text(&e->text, sc, 90);
		snprintf(e->sub_code, sizeof e->sub_code, "%s", sc);
	}
	if (sm && *sm) {
		buf_adds(&e->text, ": ");
		add_text(&e->text, sm, 300);
		const char *p = strstr(sm, "last for ");
		if (p) {
			char *end;
			double d = strtod(p + 9, &end);
			if (end != p + 9 && d >= 0 && d < 3600)
				e->wait = d;
		}
	}
	return j;
}

static int
auth_code(long long code)
{
	return code == 11 || code == 12 || (code >= 25 && code <= 29);
}

/* "[chan]: taobao.items.onsale.get: code 25: Invalid signature (check ...)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *api,
    const struct toperr *e)
{
	struct tb *t = c->priv;
	buf_addf(out, "[%s]: %s: ", c->name, api);
	if (e->code >= 0)
		buf_add(out, e->text.s, e->text.len);
	else if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (auth_code(e->code) || r->status == 401 || r->status == 403)
		buf_adds(out, " (check app_key, and the app secret and session key in token_file: "
		    "app_secret:session_key)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://eco.taobao.com/router/rest)");
	scrub(t, out);
}

/* The exit code for a call that failed. */
static int
fail_code(const struct http_req *r, const struct toperr *e)
{
	if (auth_code(e->code) || r->status == 401 || r->status == 403)
		return EX_NOPERM;
	if (e->code == 7 || (e->code >= 0 && !strncmp(e->sub_code, "isp.", 4)))
		return EX_TEMPFAIL;
	if (e->code >= 0)
		return EX_UNAVAILABLE;
	if (r->permanent)
		return EX_UNAVAILABLE;
	if (r->status == 0 || r->status == 429 || r->status == 408 || r->status >= 500)
		return EX_TEMPFAIL;
	if (r->status == 200)
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

/* ---- reads: calls sent together, sent again while flow control refuses them ---- */

struct call {
	const char *api, *rkey;	/* the method and its answer's key */
	const char *kv[8];	/* its fields */
	size_t n;
	json_t *resp;		/* the answer's object under rkey (a new reference) */
};

static int
calls_run(struct chan *c, struct call *cs, size_t n, struct buf *err)
{
	struct http_req *rq = xcalloc(n ? n : 1, sizeof *rq);
	struct toperr e = { 0 };
	int rc = 0;

	for (int attempt = 0; !rc; attempt++) {
		size_t sent = 0;
		double wait = -1;
		for (size_t i = 0; i < n; i++) {
			if (cs[i].resp)
				continue;
			req_prepare(c, &rq[i], cs[i].api, cs[i].kv, cs[i].n);
			rq[i].idempotent = 1;	/* a read */
			http_submit(c->http, &rq[i]);
			sent++;
		}
		if (!sent)
			break;
		http_run(c->http);
		size_t refused = 0;
		for (size_t i = 0; i < n; i++) {
			if (cs[i].resp || !rq[i].url.s)
				continue;
			json_t *j = top_parse(&rq[i], &e), *o;
			if (e.code == 7) {
				refused++;
				if (e.wait > wait)
					wait = e.wait;
				if (attempt + 1 >= MAX_TRIES && !rc) {
					rc = EX_TEMPFAIL;
					buf_reset(err);
					describe(c, err, &rq[i], cs[i].api, &e);
					buf_addf(err, " (refused %d times)", MAX_TRIES);
				}
			} else if (e.code < 0 && json_is_object(o = json_object_get(j, cs[i].rkey))) {
				cs[i].resp = json_incref(o);
			} else if (!rc) {
				rc = fail_code(&rq[i], &e);
				buf_reset(err);
				describe(c, err, &rq[i], cs[i].api, &e);
				if (rq[i].status == 200 && e.code < 0)
					buf_addf(err, ": the answer has no %s", cs[i].rkey);
			}
			json_decref(j);
			http_req_release(&rq[i]);
			memset(&rq[i], 0, sizeof rq[i]);
		}
		if (refused && !rc) {
			slow_down(c);
			sleep_s(wait >= 0 ? wait : 0.5 * (1 << attempt));
		}
	}
	buf_release(&e.text);
	free(rq);
	return rc;
}

static void
calls_release(struct call *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(cs[i].resp);
	free(cs);
}

/* ---- rows ---- */

static void
rows_add(struct rows *rs, const char *iid, const char *sid, const char *sku, int64_t qty)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	struct row *w = &rs->v[rs->n++];
	snprintf(w->iid, sizeof w->iid, "%s", iid);
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
	int d = id_cmp(x->iid, y->iid);
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
row_find(const struct rows *rs, const char *iid, const char *sid)
{
	struct row key;
	snprintf(key.iid, sizeof key.iid, "%s", iid);
	snprintf(key.sid, sizeof key.sid, "%s", sid);
	return rs->n ? bsearch(&key, rs->v, rs->n, sizeof *rs->v, row_cmp) : NULL;
}

/* TOP's JSON lists: {"item": [...]} (or the list itself); NULL when absent. */
static json_t *
list_of(json_t *o, const char *key, const char *inner)
{
	json_t *v = json_object_get(o, key);
	if (json_is_object(v))
		v = json_object_get(v, inner);
	return v;
}

/* The rows of a seller.list.get answer; -1 with why set when malformed. */
static int
detail_rows(json_t *resp, struct rows *rs, const char **why)
{
	json_t *items = list_of(resp, "items", "item");
	char iid[ID_MAX], sid[ID_MAX];
	if (!items)
		return 0;	/* none of the ids exists */
	if (!json_is_array(items)) {
		*why = "items.item is not a list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i), *skus = list_of(it, "skus", "sku");
		json_t *num = json_object_get(it, "num");
		const char *oid = json_string_value(json_object_get(it, "outer_id"));
		if (jid(json_object_get(it, "num_iid"), iid) < 0 || (skus && !json_is_array(skus))) {
			*why = "an item has no num_iid or its skus are not a list";
			return -1;
		}
		if (json_array_size(skus) == 0) {
			if (!json_is_integer(num)) {
				*why = "an item without SKUs has no num";
				return -1;
			}
			rows_add(rs, iid, "", oid ? oid : "", json_integer_value(num));
			continue;
		}
		for (size_t k = 0; k < json_array_size(skus); k++) {
			json_t *s = json_array_get(skus, k), *q = json_object_get(s, "quantity");
			const char *so = json_string_value(json_object_get(s, "outer_id"));
			if (jid(json_object_get(s, "sku_id"), sid) < 0 || !json_is_integer(q)) {
				*why = "a SKU has no sku_id or quantity";
				return -1;
			}
			rows_add(rs, iid, sid, so ? so : "", json_integer_value(q));
		}
	}
	return 0;
}

/* Read the items ids[0..n) (sorted, distinct) into rs, 20 a call. */
static int
details_read(struct chan *c, char **ids, size_t n, struct rows *rs, struct buf *err)
{
	size_t nc = (n + READ_IDS - 1) / READ_IDS;
	struct call *cs = xcalloc(nc ? nc : 1, sizeof *cs);
	struct buf *lists = xcalloc(nc ? nc : 1, sizeof *lists);
	int rc;

	for (size_t q = 0; q < nc; q++) {
		for (size_t k = q * READ_IDS; k < n && k < (q + 1) * READ_IDS; k++) {
			if (k > q * READ_IDS)
				buf_addc(&lists[q], ',');
			buf_adds(&lists[q], ids[k]);
		}
		cs[q].api = "taobao.items.seller.list.get";
		cs[q].rkey = "items_seller_list_get_response";
		cs[q].kv[0] = "fields", cs[q].kv[1] = "num_iid,num,outer_id,sku";
		cs[q].kv[2] = "num_iids", cs[q].kv[3] = lists[q].s;
		cs[q].n = 2;
	}
	rc = nc ? calls_run(c, cs, nc, err) : 0;
	for (size_t q = 0; q < nc && !rc; q++) {
		const char *why = NULL;
		if (detail_rows(cs[q].resp, rs, &why) < 0) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: taobao.items.seller.list.get: %s", c->name, why);
		}
	}
	for (size_t q = 0; q < nc; q++)
		buf_release(&lists[q]);
	free(lists);
	calls_release(cs, nc);
	if (!rc)
		rows_sort(rs);
	return rc;
}

/* Sort and make distinct; returns the new count (the repeats are freed). */
static size_t
ids_unique(char **ids, size_t n)
{
	size_t u = 0;
	if (n > 1)
		qsort(ids, n, sizeof *ids, id_ptr_cmp);
	for (size_t i = 0; i < n; i++) {
		if (u && !strcmp(ids[u - 1], ids[i])) {
			free(ids[i]);
			continue;
		}
		ids[u++] = ids[i];
	}
	return u;
}

/* ---- pull ---- */

/* Ids of one onsale.get page appended to *ids; -1 with why set when malformed. */
static int
page_ids(json_t *resp, char ***ids, size_t *n, const char **why)
{
	json_t *items = list_of(resp, "items", "item");
	char iid[ID_MAX];
	if (!items)
		return 0;
	if (!json_is_array(items)) {
		*why = "items.item is not a list";
		return -1;
	}
	*ids = xrealloc(*ids, (*n + json_array_size(items) + 1) * sizeof **ids);
	for (size_t i = 0; i < json_array_size(items); i++) {
		if (jid(json_object_get(json_array_get(items, i), "num_iid"), iid) < 0) {
			*why = "an item has no num_iid";
			return -1;
		}
		(*ids)[(*n)++] = xstrdup(iid);
	}
	return 0;
}

/* One reading of the list of items on sale; *changed when it moved meanwhile. */
static int
list_pass(struct chan *c, char ***ids, size_t *nids, int *changed, struct buf *err)
{
	char size[16], nos[LIST_MAX / PAGE_SIZE][12];
	struct call *first = xcalloc(1, sizeof *first), *rest = NULL;
	long long total = -1;
	size_t npages = 0;
	const char *why = NULL;
	int rc;

	*changed = 0;
	snprintf(size, sizeof size, "%d", PAGE_SIZE);
	for (size_t p = 0; p < LIST_MAX / PAGE_SIZE; p++)
		snprintf(nos[p], sizeof nos[p], "%zu", p + 1);
	first->api = "taobao.items.onsale.get";
	first->rkey = "items_onsale_get_response";
	first->kv[0] = "fields", first->kv[1] = "num_iid,num,outer_id";
	first->kv[2] = "page_no", first->kv[3] = nos[0];
	first->kv[4] = "page_size", first->kv[5] = size;
	first->n = 3;
	if ((rc = calls_run(c, first, 1, err)) != 0)
		goto out;
	c->pages++;
	json_t *tr = json_object_get(first->resp, "total_results");
	total = json_is_integer(tr) ? json_integer_value(tr) : -1;
	if (total < 0 || total > LIST_MAX) {
		rc = total < 0 ? EX_DATAERR : EX_UNAVAILABLE;
		buf_reset(err);
		if (total < 0)
			buf_addf(err, "[%s]: taobao.items.onsale.get: the answer has no total_results",
			    c->name);
		else
			buf_addf(err, "[%s]: taobao.items.onsale.get: %lld items on sale, more than the "
			    "%d the API can page through", c->name, total, LIST_MAX);
		goto out;
	}
	if (page_ids(first->resp, ids, nids, &why) < 0)
		goto bad;
	npages = (size_t)((total + PAGE_SIZE - 1) / PAGE_SIZE);
	if (npages > 1) {
		rest = xcalloc(npages - 1, sizeof *rest);
		for (size_t p = 1; p < npages; p++) {
			rest[p - 1] = *first;
			rest[p - 1].resp = NULL;
			rest[p - 1].kv[3] = nos[p];
		}
		if ((rc = calls_run(c, rest, npages - 1, err)) != 0)
			goto out;
		for (size_t p = 1; p < npages; p++) {
			c->pages++;
			tr = json_object_get(rest[p - 1].resp, "total_results");
			if (!json_is_integer(tr) || json_integer_value(tr) != total)
				*changed = 1;
			if (page_ids(rest[p - 1].resp, ids, nids, &why) < 0)
				goto bad;
		}
	}
	*nids = ids_unique(*ids, *nids);
	if ((long long)*nids != total)
		*changed = 1;	/* the list moved under the pages */
	goto out;
bad:
	rc = EX_DATAERR;
	buf_reset(err);
	buf_addf(err, "[%s]: taobao.items.onsale.get: %s", c->name, why);
out:
	if (rest)
		calls_release(rest, npages - 1);
	calls_release(first, 1);
	return rc;
}

static int
tb_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	struct buf item = BUF_INIT;
	char **ids = NULL;
	size_t nids = 0;
	int rc = 0, changed = 1;

	for (int pass = 0; pass < MAX_PASSES && changed && !rc; pass++) {
		for (size_t i = 0; i < nids; i++)
			free(ids[i]);
		nids = 0;
		rc = list_pass(c, &ids, &nids, &changed, err);
	}
	if (!rc && changed) {
		rc = EX_TEMPFAIL;
		buf_reset(err);
		buf_addf(err, "[%s]: the list of items on sale kept changing while it was read (%d "
		    "readings); try again", c->name, MAX_PASSES);
	}
	if (!rc)
		rc = details_read(c, ids, nids, &rs, err);
	for (size_t i = 0; i < rs.n && !rc; i++) {
		struct row *w = &rs.v[i];
		buf_reset(&item);
		buf_addf(&item, "%s%s%s", w->iid, *w->sid ? "/" : "", w->sid);
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
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	buf_release(&item);
	rows_release(&rs);
	return rc;
}

/* ---- read ---- */

static int
tb_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	char **ids = xcalloc(n ? n : 1, sizeof *ids);
	char iid[ID_MAX], sid[ID_MAX];
	size_t ni = 0;
	struct rows rs = { 0 };

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (!parse_item(v[i]->item, iid, sid))
			ids[ni++] = xstrdup(iid);
	}
	ni = ids_unique(ids, ni);
	int rc = details_read(c, ids, ni, &rs, err);
	for (size_t i = 0; i < n && !rc; i++) {
		if (parse_item(v[i]->item, iid, sid))
			continue;
		const struct row *w = row_find(&rs, iid, sid);
		if (w) {
			v[i]->has_current = 1;
			v[i]->current = w->qty;
		}
	}
	rows_release(&rs);
	for (size_t i = 0; i < ni; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_RECHECK, W_DONE };

static const char API_ONE[] = "taobao.item.quantity.update";
static const char API_SKUS[] = "taobao.skus.quantity.update";

/*
 * One correction's write.  The call that carries it is r of the first
 * correction of the call (head), the others linked from it by next: a
 * batch of SKUs of one item (taobao.skus.quantity.update), or the
 * correction alone (taobao.item.quantity.update).
 */
struct wr {
	struct http_req r;
	struct chan *c;
	struct corr *k;
	struct wr *next;	/* the call's next correction (head only carries r) */
	int batch;		/* head: the call is taobao.skus.quantity.update */
	char iid[ID_MAX], sid[ID_MAX];
	int64_t pre, expect;	/* quantity read before, and once applied */
	double wait;		/* after a refusal for the rate: seconds, -1 unknown */
	int state, auth_failed, throttled;
	char msg[400];
};

/* The quantity the answer shows for the written item or SKU; -1 when it does not. */
static int
answer_after(json_t *item, const struct wr *w, int64_t *after)
{
	char id[ID_MAX];
	if (!*w->sid) {
		json_t *num = json_object_get(item, "num");
		if (!json_is_integer(num))
			return -1;
		*after = json_integer_value(num);
		return 0;
	}
	json_t *skus = list_of(item, "skus", "sku");
	for (size_t i = 0; i < json_array_size(skus); i++) {
		json_t *s = json_array_get(skus, i), *q = json_object_get(s, "quantity");
		if (!jid(json_object_get(s, "sku_id"), id) && !strcmp(id, w->sid) && json_is_integer(q)) {
			*after = json_integer_value(q);
			return 0;
		}
	}
	return -1;
}

/*
 * w's outcome from the answer r of the call that carried it: e parsed
 * from it, item the answer's item (NULL when it has none), m describe()'s
 * words.  Every correction of a batch gets the same verdict.
 */
static void
write_settle(struct wr *w, const struct http_req *r, const struct toperr *e, json_t *item,
    const struct buf *m)
{
	struct corr *k = w->k;
	w->wait = -1;
	if (r->status == 0 || r->status == 429 || r->status == 503 || e->code == 7) {
		/* not processed (never sent, or refused for the rate): again after a read */
		w->state = W_RETRY;
		w->throttled = r->status == 429 || e->code == 7;
		w->wait = e->code == 7 ? e->wait : http_retry_after(r);
		corr_set(k, CS_PENDING, m->s);
	} else if (r->status == 200 && e->code < 0 && item) {
		int64_t after;
		w->state = W_DONE;
		k->status = CS_APPLIED;
		k->error[0] = '\0';
		if (!answer_after(item, w, &after)) {
			k->has_after = 1;
			k->after = after;
		}
	} else if (e->code >= 0 && !auth_code(e->code) && strncmp(e->sub_code, "isv.", 4)) {
		/* the platform's own trouble (isp.*, or no sub_code): applied or not? */
		w->state = W_RECHECK;
		corr_set(k, CS_PENDING, m->s);
	} else if (r->status == 200 && e->code < 0) {
		/* answered, but not in a shape we know: may have been applied */
		struct buf t = BUF_INIT;
		w->state = W_RECHECK;
		buf_add(&t, m->s, m->len);
		buf_adds(&t, ": not an answer of this API");
		corr_set(k, CS_PENDING, t.s);
		buf_release(&t);
	} else {
		/* refused: isv.* (the request's fault), credentials, or HTTP */
		struct buf t = BUF_INIT;
		w->auth_failed = auth_code(e->code) || r->status == 401 || r->status == 403;
		snprintf(w->msg, sizeof w->msg, "%s", m->s);
		w->state = W_DONE;
		buf_adds(&t, "not written: ");
		buf_add(&t, m->s, m->len);
		corr_set(k, CS_FAILED, t.s);
		buf_release(&t);
	}
}

static void
write_done(struct http_req *r, void *arg)
{
	struct wr *head = arg;
	struct toperr e = { 0 };
	struct buf m = BUF_INIT;
	const char *api = head->batch ? API_SKUS : API_ONE;

	if (r->ambiguous) {
		for (struct wr *w = head; w; w = w->next) {
			w->state = W_UNKNOWN;
			w->wait = -1;
			snprintf(w->k->error, sizeof w->k->error, "the answer was lost");
		}
		return;
	}
	json_t *j = top_parse(r, &e);
	json_t *item = json_object_get(json_object_get(j, head->batch ?
	    "skus_quantity_update_response" : "item_quantity_update_response"), "item");
	describe(head->c, &m, r, api, &e);
	for (struct wr *w = head; w; w = w->next)
		write_settle(w, r, &e, json_is_object(item) ? item : NULL, &m);
	json_decref(j);
	buf_release(&e.text);
	buf_release(&m);
}

/*
 * Send ws[0..n): one taobao.item.quantity.update type=2 for one
 * correction, one taobao.skus.quantity.update type=2 for several SKUs of
 * one item (skuid_quantities "sku_id:delta;...", at most SKUS_MAX).
 */
static void
write_submit(struct chan *c, struct wr **ws, size_t n)
{
	struct wr *head = ws[0];
	struct buf list = BUF_INIT;
	char qty[24];

	for (size_t i = 0; i < n; i++) {
		ws[i]->c = c;
		ws[i]->next = i + 1 < n ? ws[i + 1] : NULL;
	}
	head->batch = n > 1;
	if (head->batch) {
		for (size_t i = 0; i < n; i++)
			buf_addf(&list, "%s%s:%lld", i ? ";" : "", ws[i]->sid, (long long)ws[i]->k->delta);
		const char *kv[] = { "num_iid", head->iid, "skuid_quantities", list.s, "type", "2" };
		req_prepare(c, &head->r, API_SKUS, kv, 3);
	} else {
		snprintf(qty, sizeof qty, "%lld", (long long)head->k->delta);
		const char *kv[] = { "num_iid", head->iid, "sku_id", head->sid, "quantity", qty,
		    "type", "2" };
		req_prepare(c, &head->r, API_ONE, kv, 4);
	}
	head->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	head->r.no_retry = 1;	/* nor after a refusal for the rate: read again first */
	head->r.done = write_done;
	head->r.arg = head;
	http_submit(c->http, &head->r);
	buf_release(&list);
}

static int
wr_cmp(const void *a, const void *b)
{
	const struct wr *x = *(struct wr *const *)a, *y = *(struct wr *const *)b;
	int d = id_cmp(x->iid, y->iid);
	return d ? d : id_cmp(x->sid, y->sid);
}

/*
 * One round: read the pending corrections, plan, send one change per
 * correction (one call for the SKUs of one item), settle the answers
 * (reading back what is unclear).  What
 * goes again is left in pend; *wait is the longest wait asked for.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc, throttled = 0;

	*wait = -1;
	rc = tb_read(c, pend, n, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail2(pend[i], CS_FAILED, "not written: the read before writing failed: ", err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		struct wr *t = &all[i];
		t->k = k;
		t->state = W_DONE;
		parse_item(k->item, t->iid, t->sid);
		if (k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: Taobao has no item %.40s (gone since it "
			    "was read)", k->item);
		} else if (!k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: Taobao has no item %.40s (a stock change "
			    "cannot create one)", k->item);
		} else if (!k->has_from) {
			corr_fail(k, CS_CONFLICT, "not in what was pulled, Taobao shows %lld now (not "
			    "written: pull again)", (long long)k->current);
		} else if (k->delta == 0) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (__builtin_add_overflow(k->current, k->delta, &t->expect) || t->expect < 0) {
			corr_fail(k, CS_CONFLICT, "moved since it was read: %lld then, %lld now, and "
			    "%+lld would leave %lld (not written)", (long long)k->from,
			    (long long)k->current, (long long)k->delta,
			    (long long)t->expect);
		} else {
			t->pre = k->current;
			t->state = W_SENT;
			ws[nw++] = t;
		}
	}
	/* one item or SKU twice would be changed twice: refuse the later ones */
	if (nw > 1)
		qsort(ws, nw, sizeof *ws, wr_cmp);
	size_t m = 0;
	for (size_t i = 0; i < nw; i++) {
		if (m && !wr_cmp(&ws[m - 1], &ws[i])) {
			ws[i]->state = W_DONE;
			corr_fail(ws[i]->k, CS_FAILED, "not written: another correction for item %.60s is "
			    "in the same batch", ws[i]->k->item);
			continue;
		}
		ws[m++] = ws[i];
	}
	nw = m;
	/* SKUs of one item (sorted together): one call for two or more */
	for (size_t i = 0, j; i < nw; i = j) {
		for (j = i + 1; j < nw && j - i < SKUS_MAX && *ws[i]->sid && *ws[j]->sid &&
		    !strcmp(ws[i]->iid, ws[j]->iid); j++)
			;
		write_submit(c, ws + i, j - i);
	}
	if (nw)
		http_run(c->http);
	/* answers lost or unclear: what does Taobao show now? */
	size_t nunk = 0;
	struct corr **unk = xcalloc(nw ? nw : 1, sizeof *unk);
	struct wr **unkw = xcalloc(nw ? nw : 1, sizeof *unkw);
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_UNKNOWN || ws[i]->state == W_RECHECK) {
			unkw[nunk] = ws[i];
			unk[nunk++] = ws[i]->k;
		}
	if (nunk) {
		struct buf e = BUF_INIT;
		if (tb_read(c, unk, nunk, &e)) {
			for (size_t i = 0; i < nunk; i++) {
				struct buf t = BUF_INIT;
				buf_adds(&t, "unknown outcome: ");
				add_text(&t, unk[i]->error, 100);
				buf_adds(&t, ", and the re-read failed: ");
				buf_add(&t, e.s, e.len);
				corr_set(unk[i], CS_FAILED, t.s);
				buf_release(&t);
			}
		} else {
			for (size_t i = 0; i < nunk; i++) {
				struct corr *k = unk[i];
				struct wr *t = unkw[i];
				if (k->has_current && k->current == t->expect) {
					k->status = CS_APPLIED;
					k->error[0] = '\0';
					k->has_after = 1;
					k->after = t->expect;
					t->state = W_DONE;
				} else if (k->has_current && k->current == t->pre) {
					t->state = W_RETRY;	/* not applied: again, after a read */
				} else if (k->has_current) {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if "
					    "applied; not sent again)", (long long)k->current,
					    (long long)t->expect);
					t->state = W_DONE;
				} else {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows no item (not "
					    "sent again)");
					t->state = W_DONE;
				}
			}
		}
		buf_release(&e);
	}
	free(unk);
	free(unkw);
	for (size_t i = 0; i < nw; i++) {
		struct wr *t = ws[i];
		if (t->auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, t->msg);
		}
		throttled |= t->throttled;
		if (t->state == W_RETRY && t->wait > *wait)
			*wait = t->wait;
		http_req_release(&t->r);
		if (t->state == W_RETRY)
			pend[nret++] = t->k;
	}
	if (throttled)
		slow_down(c);
	*npend = nret;
out:
	free(ws);
	free(all);
	return rc;
}

static int
tb_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	char iid[ID_MAX], sid[ID_MAX];
	size_t np = 0;
	int rc = 0;

	(void)run;	/* TOP keeps no reason or reference for a stock change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		struct buf t = BUF_INIT;
		if (parse_item(k->item, iid, sid) < 0) {
			buf_adds(&t, "not written: '");
			add_text(&t, k->item ? k->item : "", 60);
			buf_adds(&t, "' is not a Taobao item (<num_iid> or <num_iid>/<sku_id>)");
		} else if (k->location && *k->location) {
			buf_adds(&t, "not written: location '");
			add_text(&t, k->location, 40);
			buf_adds(&t, "': Taobao keeps one stock per item or SKU (location \"\")");
		}
		if (t.len)
			corr_set(k, CS_FAILED, t.s);
		else if (k->to < 0 || k->to > QTY_MAX || k->delta < -QTY_MAX || k->delta > QTY_MAX)
			corr_fail(k, CS_FAILED, "not written: Taobao takes quantities 0 to %d, not %lld "
			    "(a change of %lld)", QTY_MAX, (long long)k->to, (long long)k->delta);
		else
			pend[np++] = k;
		buf_release(&t);
	}
	for (size_t off = 0; off < np && !rc; off += BATCH_MAX) {
		size_t cnt = np - off < BATCH_MAX ? np - off : BATCH_MAX;
		struct corr **p = pend + off;
		rc = push_rounds(c, p, cnt, MAX_ROUNDS, push_round, err);
	}
	corr_fail_pending(v, n, rc, err);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
tb_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *key = chan_get(cc, "app_key");
	const char *smv = chan_get(cc, "sign_method");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;
	int sm = SM_MD5;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://eco.taobao.com/router/rest)",
		    path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!key || !cred_ok(key, strlen(key))) {
		buf_addf(err, "%s:%d: [%s]: app_key = is required (the app's AppKey, open.taobao.com "
		    "console)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (smv) {
		for (sm = 0; sm < 3 && strcmp(smv, sm_names[sm]); sm++)
			;
		if (sm == 3) {
			buf_addf(err, "%s:%d: [%s]: sign_method = '%.40s': md5, hmac or hmac-sha256",
			    path, cc->line, c->name, smv);
			return EX_CONFIG;
		}
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
		buf_addf(err, "%s: [%s]: the secret must be app_secret:session_key, on one line", path,
		    c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct tb *t = xcalloc(1, sizeof *t);
	t->url = xstrdup(base);
	t->app_key = xstrdup(key);
	t->secret = xstrndup(sec.s, (size_t)(colon - sec.s));
	t->session = xstrdup(colon + 1);
	t->sm = sm;
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	t->rate = (double)rate;
	http_bucket(c->http, 1, 1, t->rate);	/* evenly spaced, no burst */
	c->priv = t;
	return 0;
}

static void
tb_close(struct chan *c)
{
	struct tb *t = c->priv;
	if (!t)
		return;
	free(t->url);
	free(t->app_key);
	free_secret(t->secret);
	free_secret(t->session);
	free(t);
	c->priv = NULL;
}

const struct driver drv_taobao = {
	.type = "taobao",
	.max_batch = BATCH_MAX,
	.open = tb_open,
	.pull = tb_pull,
	.read = tb_read,
	.push = tb_push,
	.close = tb_close,
};
