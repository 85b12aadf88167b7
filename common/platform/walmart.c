/*
 * walmart.c - the Walmart Marketplace (US) driver: the Inventory API under
 * {base_url}/v3, base_url = https://marketplace.walmartapis.com (the default).
 *
 * Facts it relies on, with the page that states each one:
 *   - An access token comes from POST /v3/token with "Authorization: Basic
 *     base64(client_id:client_secret)" and the form body
 *     grant_type=client_credentials; it lives 15 minutes (900 s) and goes
 *     in the WM_SEC.ACCESS_TOKEN header of every call.  The client-
 *     credentials grant gives no refresh token: a new token is asked for.
 *     https://developer.walmart.com/us-marketplace/docs/get-an-access-token
 *     https://developer.walmart.com/us-marketplace/reference/tokenapi
 *   - Every call carries WM_QOS.CORRELATION_ID (a UUID per call) and
 *     WM_SVC.NAME; errors are {"errors": [{code, message, category,
 *     severity, field}]}; 401 is a missing, bad or expired token.
 *     https://developer.walmart.com/us-marketplace/docs/error-codes
 *     https://developer.walmart.com/us-marketplace/docs/authentication-onboarding-troubleshooting
 *   - GET /v3/inventories lists every SKU with its ship nodes: {meta
 *     {totalCount, nextCursor}, elements {inventories [{sku, nodes
 *     [{shipNode, inputQty, availToSellQty, reservedQty}]}]}}, quantities
 *     {unit: "EACH", amount}; limit at most 50; the next page is asked for
 *     with nextCursor=<the answer's>, absent on the last page.
 *     https://developer.walmart.com/us-marketplace/docs/return-your-entire-item-list
 *   - GET /v3/inventory?sku=[&shipNode=] reads one SKU at one ship node
 *     (the default node without shipNode); PUT /v3/inventory?sku=
 *     [&shipNode=] with {sku, quantity {unit: "EACH", amount}} sets it: an
 *     absolute quantity, one SKU per call, no compare-and-set, no
 *     idempotency key.
 *     https://developer.walmart.com/us-marketplace/docs/inventory-api-overview
 *     https://developer.walmart.com/us-marketplace/docs/update-single-item-inventory
 *   - Rate limits vary by API; over them the answer is 429.
 *     https://developer.walmart.com/us-marketplace/docs/throttling
 * UNVERIFIED (and handled either way): the answer's fields beyond
 * access_token and expires_in; the rate headers of the Marketplace API
 * (we read x-current-token-count, the tokens left in the endpoint's bucket,
 * and x-next-replenish-time or X-Next-Replenishment-Time, the epoch
 * milliseconds of the next token, as Walmart's supplier pages name them;
 * without them we back off); how an unknown SKU or a SKU with no record
 * at a node reads (we take 404 as "no record"); whether a 500 to a PUT
 * may have been applied (we assume it may).
 *
 * Records.  item = sku = the seller's SKU; location = the shipNode
 * ("" = the default ship node: reads and writes without shipNode); state
 * "on_hand"; qty = inputQty, the quantity the seller sets (availToSellQty
 * is it less reservedQty, orders not yet shipped, and is not writable).
 *
 * Push (DESIGN.md, rule 3).  Walmart has no relative update and no
 * compare-and-set, so each SKU is read (GET /v3/inventory) immediately
 * before its PUT: a quantity that is no longer `from` is a conflict and is
 * not written (a sale landed since the pull; the next run plans again); a
 * correction whose `from` is null is written only if the node still has no
 * record.  A PUT whose answer is lost (or a 5xx other than 503) may have
 * been applied: it is never sent again; the SKU is read back and the
 * correction is applied when the quantity is `to`, else failed "unknown
 * outcome".  A 429 or 503 was not processed: the SKU is read again after
 * the wait and written if it still shows `from`.  A 401 gets a new token
 * once and the call goes again (a refused call applied nothing).
 *
 * The race window that remains: a sale that lands between our GET and the
 * PUT's arrival is overwritten (the quantity becomes `to`, not `to` less
 * the sale) - one round trip, about 0.2 to 1 s per SKU; the next pull and
 * push correct the book.  Bulk feeds (POST /v3/feeds?feedType=inventory)
 * are not used: they are asynchronous and would widen the window to the
 * feed's processing time.
 *
 * Pacing.  Each endpoint has its own bucket; every answer's rate headers
 * say how many tokens are left and when the next one comes.  Requests go
 * one at a time; one whose bucket is empty waits for the replenish time.
 */
#include "platform.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define DEFAULT_BASE "https://marketplace.walmartapis.com"
#define SVC_NAME "Walmart Marketplace"
#define PAGE_LIMIT 50		/* the documented `limit` maximum of /v3/inventories */
#define BATCH_MAX 50		/* corrections per push() call; one PUT per SKU anyway */
#define MAX_TRIES 7		/* attempts of one read after 429/5xx/no answer */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define TOKEN_MARGIN 60.0	/* seconds before expiry a token is renewed */
#define MAX_WAIT 60.0		/* longest wait for a bucket, seconds */
#define SLACK 0.005		/* after the replenish time: clocks and rounding differ */

enum ep { EP_TOKEN, EP_LIST, EP_GET, EP_PUT, EP_N };

struct bucket {
	int known;
	double tokens;		/* left, as the last answer said */
	double next_ms;		/* epoch ms of the next token */
};

struct wm {
	char *api;		/* base_url + /v3 */
	char *apipath;		/* its path, for messages */
	char *basic;		/* "Authorization: Basic ..." */
	char *secret;		/* "client_id:client_secret", scrubbed out of messages */
	char *b64;		/* its base64, scrubbed too */
	char *client_secret;	/* the part after ':', scrubbed too */
	char *token;		/* the access token (memory only), NULL until asked for */
	char *tokhdr;		/* "WM_SEC.ACCESS_TOKEN: ..." */
	double tok_until;	/* mono_now() after which it is renewed */
	unsigned long long seq;	/* for correlation ids */
	struct bucket b[EP_N];
};

/* ---- helpers ---- */

static void
scrub(const struct wm *w, struct buf *m)
{
	const char *hide[] = { w->secret, w->b64, w->client_secret, w->token };
	buf_scrub(m, hide, 4);
}

static double
epoch_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Read the endpoint's bucket from an answer's headers. */
static void
rate_seen(struct wm *w, enum ep e, const struct http_req *r)
{
	struct buf v = BUF_INIT;
	char *end;
	double n = -1, t = -1;
	if (http_header(r, "x-current-token-count", &v)) {
		n = strtod(v.s, &end);
		if (end == v.s)
			n = -1;
	}
	if (http_header(r, "x-next-replenish-time", &v) ||
	    http_header(r, "X-Next-Replenishment-Time", &v)) {
		t = strtod(v.s, &end);
		if (end == v.s)
			t = -1;
	}
	buf_release(&v);
	if (n < 0 || n > 1e9)
		return;
	w->b[e].known = 1;
	w->b[e].tokens = n;
	w->b[e].next_ms = t > 0 ? t : 0;
}

/* Seconds until the endpoint's next token, when its bucket is empty; else 0. */
static double
bucket_wait(const struct wm *w, enum ep e)
{
	const struct bucket *b = &w->b[e];
	if (!b->known || b->tokens >= 1 || b->next_ms <= 0)
		return 0;
	double d = (b->next_ms - epoch_ms()) / 1000.0 + SLACK;
	return d < 0 ? 0 : d > MAX_WAIT ? MAX_WAIT : d;
}

/* Seconds to wait after a 429/503: the replenish time, Retry-After, or -1. */
static double
wait_of(struct wm *w, enum ep e, const struct http_req *r)
{
	struct buf v = BUF_INIT;
	double d = -1;
	char *end;
	if (r->status == 429 && w->b[e].known && w->b[e].next_ms > 0) {
		d = (w->b[e].next_ms - epoch_ms()) / 1000.0 + SLACK;
		if (d < 0.01)
			d = 0.01;
		if (d > MAX_WAIT)
			d = MAX_WAIT;
	}
	if (d < 0 && http_header(r, "Retry-After", &v)) {
		double s = strtod(v.s, &end);
		if (end != v.s && s >= 0 && s < 3600)
			d = s;
	}
	buf_release(&v);
	return d;
}

/* "[chan]: PUT /v3/inventory: HTTP 404: CODE: message" (never the query, never a secret) */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *method,
    const char *rel)
{
	struct wm *w = c->priv;
	buf_addf(out, "[%s]: %s %s%.*s: ", c->name, method, w->apipath, (int)strcspn(rel, "?"), rel);
	if (r->ambiguous)
		buf_adds(out, "the answer was lost");
	else if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	if (!msg)
		msg = json_string_value(json_object_get(e0, "description"));
	if (code || msg) {
		buf_adds(out, ": ");
		if (code)
			buf_addf(out, "%.80s%s", code, msg ? ": " : "");
		for (int i = 0; msg && msg[i] && i < 300; i++)
			buf_addc(out, (unsigned char)msg[i] < 0x20 ? ' ' : msg[i]);
	}
	json_decref(j);
	if (r->status == 401 || r->status == 403)
		buf_adds(out, " (check client_id:client_secret in token_file and that the API key has "
		    "Inventory access)");
	scrub(w, out);
}

/* One request, sent now (after the bucket's wait); r is filled, nothing else. */
static void
send1(struct chan *c, enum ep e, struct http_req *r, const char *method, const char *rel,
    const char *body)
{
	struct wm *w = c->priv;
	char cid[40], seed[96];
	sleep_s(bucket_wait(w, e));
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, w->api);
	buf_adds(&r->url, rel);
	int n = snprintf(seed, sizeof seed, "walmart\037%ld\037%.3f\037%llu", (long)getpid(),
	    epoch_ms(), ++w->seq);
	key_uuid(seed, (size_t)n, cid, sizeof cid);
	struct buf h = BUF_INIT;
	buf_addf(&h, "WM_QOS.CORRELATION_ID: %s", cid);
	r->hdrs = curl_slist_append(r->hdrs, h.s);
	buf_release(&h);
	r->hdrs = curl_slist_append(r->hdrs, "WM_SVC.NAME: " SVC_NAME);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (e == EP_TOKEN) {
		r->hdrs = curl_slist_append(r->hdrs, w->basic);
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/x-www-form-urlencoded");
	} else {
		r->hdrs = curl_slist_append(r->hdrs, w->tokhdr);
	}
	if (body) {
		if (e != EP_TOKEN)
			r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
		buf_adds(&r->body, body);
	}
	r->idempotent = e != EP_PUT;	/* a PUT is never re-sent blindly */
	r->no_retry = 1;		/* 429s and 5xx are ours: we wait for the bucket */
	http_submit(c->http, r);
	http_run(c->http);
	rate_seen(w, e, r);
}

/* Is the answer "not processed, try again" (429, 503, nothing sent)? */
static int
again_status(const struct http_req *r)
{
	return !r->ambiguous && !r->permanent && (r->status == 0 || r->status == 429 ||
	    r->status == 503);
}

/*
 * A call that only reads (or asks for a token): sent again after a 429,
 * 5xx or a lost answer, waiting as the answer says.  r is left filled.
 */
static void
call_read(struct chan *c, enum ep e, struct http_req *r, const char *method, const char *rel,
    const char *body)
{
	struct wm *w = c->priv;
	for (int k = 0;; k++) {
		send1(c, e, r, method, rel, body);
		int again = r->status == 0 || r->status == 429 || r->status >= 500 || r->ambiguous;
		if (!again || r->permanent || k + 1 >= MAX_TRIES)
			return;
		double d = wait_of(w, e, r);
		http_req_release(r);
		sleep_s(d >= 0 ? d : 0.25 * (1 << k));
	}
}

/* Make sure a valid access token is held; 0 or an exit code with err set. */
static int
token_get(struct chan *c, int force, struct buf *err)
{
	struct wm *w = c->priv;
	if (w->token && !force && mono_now() < w->tok_until)
		return 0;
	free_secret(w->token);
	free_secret(w->tokhdr);
	w->token = w->tokhdr = NULL;
	struct http_req r;
	const char *rel = "/token";
	int rc = 0;
	call_read(c, EP_TOKEN, &r, "POST", rel, "grant_type=client_credentials");
	json_t *j = r.status == 200 ? json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	json_t *exp = json_object_get(j, "expires_in");
	if (r.status != 200 || !tok || !*tok || strpbrk(tok, "\r\n")) {
		buf_reset(err);
		describe(c, err, &r, "POST", rel);
		if (r.status == 200)
			buf_adds(err, ": the answer has no access_token");
		rc = r.status == 400 ? EX_NOPERM : r.status == 200 ? EX_DATAERR : http_fail_code(&r);
	} else {
		double life = json_is_integer(exp) ? (double)json_integer_value(exp) : 900;
		if (life <= 0 || life > 86400)
			life = 900;
		w->token = xstrdup(tok);
		struct buf h = BUF_INIT;
		buf_addf(&h, "WM_SEC.ACCESS_TOKEN: %s", tok);
		w->tokhdr = h.s;
		/* renewed a margin before it expires (half its life when that is short) */
		w->tok_until = mono_now() + (life > 2 * TOKEN_MARGIN ? life - TOKEN_MARGIN : life / 2);
	}
	json_decref(j);
	http_req_release(&r);
	return rc;
}

/*
 * An API call with a valid token: a 401 gets a new token once and goes
 * again (nothing was done).  Reads are sent again after 429/5xx; a PUT is
 * sent once.  Returns 0 with r filled, or an exit code (token refused).
 */
static int
api_call(struct chan *c, enum ep e, struct http_req *r, const char *method, const char *rel,
    const char *body, struct buf *err)
{
	for (int k = 0; k < 2; k++) {
		int rc = token_get(c, k > 0, err);
		if (rc)
			return rc;
		if (e == EP_PUT)
			send1(c, e, r, method, rel, body);
		else
			call_read(c, e, r, method, rel, body);
		if (r->status != 401 || k)
			return 0;
		http_req_release(r);
	}
	return 0;
}

/* "/inventory?sku=X[&shipNode=N]" */
static void
one_rel(struct buf *b, const char *sku, const char *node)
{
	buf_reset(b);
	buf_adds(b, "/inventory?sku=");
	buf_add_pctenc(b, sku);
	if (node && *node) {
		buf_adds(b, "&shipNode=");
		buf_add_pctenc(b, node);
	}
}

static int
qty_of(json_t *q, int64_t *out)
{
	json_t *a = json_object_get(q, "amount");
	const char *u = json_string_value(json_object_get(q, "unit"));
	if (!json_is_integer(a) || (u && strcmp(u, "EACH")))
		return -1;
	*out = json_integer_value(a);
	return 0;
}

/* ---- pull ---- */

static int
wm_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct buf rel = BUF_INIT;
	char *cursor = NULL;
	int rc = 0;
	for (;;) {
		struct http_req r;
		buf_reset(&rel);
		buf_addf(&rel, "/inventories?limit=%d", PAGE_LIMIT);
		if (cursor) {
			buf_adds(&rel, "&nextCursor=");
			buf_add_pctenc(&rel, cursor);
		}
		rc = api_call(c, EP_LIST, &r, "GET", rel.s, NULL, err);
		if (rc)
			break;
		if (r.status != 200) {
			buf_reset(err);
			describe(c, err, &r, "GET", rel.s);
			rc = http_fail_code(&r);
			http_req_release(&r);
			break;
		}
		c->pages++;
		json_t *j = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
		json_t *inv = json_object_get(json_object_get(j, "elements"), "inventories");
		json_t *nc = json_object_get(json_object_get(j, "meta"), "nextCursor");
		const char *bad = NULL;
		if (!json_is_array(inv))
			bad = "the answer is not a list of inventories (no elements.inventories)";
		for (size_t i = 0; !bad && i < json_array_size(inv); i++) {
			json_t *it = json_array_get(inv, i), *nodes = json_object_get(it, "nodes");
			const char *sku = json_string_value(json_object_get(it, "sku"));
			if (!sku || !json_is_array(nodes)) {
				bad = "an inventory has no sku or nodes";
				break;
			}
			int keep = !o || (!o->skus && !o->items);
			for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
				keep = !strcmp(o->skus[k], sku);
			for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
				keep = !strcmp(o->items[k], sku);
			for (size_t k = 0; keep && k < json_array_size(nodes); k++) {
				json_t *nd = json_array_get(nodes, k);
				const char *node = json_string_value(json_object_get(nd, "shipNode"));
				int64_t q;
				if (!node || qty_of(json_object_get(nd, "inputQty"), &q)) {
					bad = "a node has no shipNode or inputQty {unit EACH, amount}";
					break;
				}
				struct pulled p = { sku, sku, node, "on_hand", q };
				emit(&p, arg);
			}
		}
		if (!bad && nc && !json_is_null(nc) && (!json_is_string(nc) || !*json_string_value(nc)))
			bad = "meta.nextCursor is not a string";
		if (bad) {
			buf_reset(err);
			buf_addf(err, "[%s]: GET %s/inventories: %s", c->name, ((struct wm *)c->priv)->apipath,
			    bad);
			rc = EX_DATAERR;
		}
		free(cursor);
		cursor = !bad && json_is_string(nc) ? xstrdup(json_string_value(nc)) : NULL;
		json_decref(j);
		http_req_release(&r);
		if (rc || !cursor)
			break;
	}
	free(cursor);
	buf_release(&rel);
	return rc;
}

/* ---- read ---- */

static const char *
sku_of(const struct corr *k)
{
	return k->item && *k->item ? k->item : k->sku ? k->sku : "";
}

/* The current quantity of one correction's SKU at its node; 0 or an exit code. */
static int
read1(struct chan *c, struct corr *k, struct buf *err)
{
	struct buf rel = BUF_INIT;
	struct http_req r;
	one_rel(&rel, sku_of(k), k->location);
	k->has_current = 0;
	int rc = api_call(c, EP_GET, &r, "GET", rel.s, NULL, err);
	if (rc) {		/* no request held */
		buf_release(&rel);
		return rc;
	}
	if (r.status == 200) {
		json_t *j = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
		if (qty_of(json_object_get(j, "quantity"), &k->current) == 0)
			k->has_current = 1;
		else {
			buf_reset(err);
			buf_addf(err, "[%s]: GET %s/inventory: the answer has no quantity {unit EACH, "
			    "amount}", c->name, ((struct wm *)c->priv)->apipath);
			rc = EX_DATAERR;
		}
		json_decref(j);
	} else if (r.status != 404) {
		buf_reset(err);
		describe(c, err, &r, "GET", rel.s);
		rc = http_fail_code(&r);
	}
	http_req_release(&r);
	buf_release(&rel);
	return rc;
}

static int
wm_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = read1(c, v[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- push ---- */

/* Re-read, check, write one correction; 0 or an exit code (stop the push). */
static int
push1(struct chan *c, struct corr *k, struct buf *err)
{
	struct buf rel = BUF_INIT, m = BUF_INIT;
	int rc = 0;
	for (int round = 0; round < MAX_ROUNDS && k->status == CS_PENDING; round++) {
		if ((rc = read1(c, k, err)) != 0) {
			if (rc != EX_NOPERM) {
				corr_fail(k, CS_FAILED, "not written: the read before writing failed: %.200s",
				    err->s);
				rc = 0;
			}
			break;
		}
		if (k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: no inventory for sku %.60s at ship node "
			    "'%.30s' (gone since it was read)", sku_of(k), k->location ? k->location : "");
			break;
		}
		if (k->has_from && k->current != k->from) {
			corr_fail(k, CS_CONFLICT, "quantity changed since it was read: %lld now, %lld "
			    "expected (not written)", (long long)k->current, (long long)k->from);
			break;
		}
		if (!k->has_from && k->has_current) {
			corr_fail(k, CS_CONFLICT, "a record appeared since it was read: %lld now (not "
			    "written)", (long long)k->current);
			break;
		}
		if (k->has_from && k->to == k->current) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
			break;
		}
		if (k->to < 0 || k->to > 2147483647) {
			corr_fail(k, CS_FAILED, "not written: %lld is out of Walmart's range", (long long)k->to);
			break;
		}
		json_t *b = json_pack("{s:s, s:{s:s, s:I}}", "sku", sku_of(k), "quantity", "unit", "EACH",
		    "amount", (json_int_t)k->to);
		char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
		json_decref(b);
		if (!s) {
			corr_fail(k, CS_FAILED, "not written: the sku is not valid UTF-8");
			break;
		}
		one_rel(&rel, sku_of(k), k->location);
		struct http_req r;
		rc = api_call(c, EP_PUT, &r, "PUT", rel.s, s, err);
		free(s);
		if (rc)
			break;
		buf_reset(&m);
		describe(c, &m, &r, "PUT", rel.s);
		if (r.status == 200) {
			json_t *j = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
			k->status = CS_APPLIED;
			k->error[0] = '\0';
			k->has_after = qty_of(json_object_get(j, "quantity"), &k->after) == 0;
			json_decref(j);
		} else if (again_status(&r)) {
			/* not processed: read again after the wait, write if still `from` */
			double d = wait_of(c->priv, EP_PUT, &r);
			snprintf(k->error, sizeof k->error, "%s", m.s);
			http_req_release(&r);
			sleep_s(d >= 0 ? d : 0.25 * (1 << round));
			continue;
		} else if (r.ambiguous || r.status >= 500) {
			/* may have been applied: read back, never send again */
			int64_t want = k->to;
			struct buf e = BUF_INIT;
			if (read1(c, k, &e))
				corr_fail(k, CS_FAILED, "unknown outcome: %.100s, and the re-read failed: "
				    "%.100s", m.s, e.s);
			else if (k->has_current && k->current == want) {
				k->status = CS_APPLIED;
				k->error[0] = '\0';
				k->has_after = 1;
				k->after = want;
			} else if (k->has_current)
				corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if applied; "
				    "not sent again)", (long long)k->current, (long long)want);
			else
				corr_fail(k, CS_FAILED, "unknown outcome, re-read shows no record (not sent "
				    "again)");
			buf_release(&e);
		} else {
			corr_fail(k, CS_FAILED, "not written: %.230s", m.s);
			if (r.status == 401 || r.status == 403) {
				buf_reset(err);
				buf_add(err, m.s, m.len);
				rc = EX_NOPERM;
			}
		}
		http_req_release(&r);
	}
	if (!rc && k->status == CS_PENDING) {
		char e[sizeof k->error];
		snprintf(e, sizeof e, "%s", k->error);
		corr_fail(k, CS_FAILED, "not written: gave up after %d attempts: %.200s", MAX_ROUNDS, e);
	}
	buf_release(&rel);
	buf_release(&m);
	return rc;
}

static int
wm_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	int rc = 0;
	(void)run;	/* Walmart keeps no reason or reference with an update */
	for (size_t i = 0; i < n; i++) {
		v[i]->status = CS_PENDING;
		v[i]->error[0] = '\0';
		v[i]->has_after = 0;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct corr *k = v[i];
		if (!*sku_of(k)) {
			corr_fail(k, CS_FAILED, "not written: no sku");
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(sku_of(v[j]), sku_of(k)) && !strcmp(v[j]->location ? v[j]->location : "",
			    k->location ? k->location : "")) {
				corr_fail(k, CS_FAILED, "not written: another correction for sku %.60s at ship "
				    "node '%.30s' is in the same batch", sku_of(k), k->location ? k->location : "");
				break;
			}
		if (k->status == CS_PENDING)
			rc = push1(c, k, err);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	return rc;
}

/* ---- open and close ---- */

static int
wm_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;

	if (!base || !*base)
		base = DEFAULT_BASE;
	if (!c->http) {
		buf_addf(err, "%s:%d: [%s]: no HTTP layer", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	const char *colon = memchr(sec.s, ':', sec.len);
	int ok = colon && colon > sec.s && (size_t)(colon - sec.s) + 1 < sec.len;
	for (size_t i = 0; ok && i < sec.len; i++)
		if ((unsigned char)sec.s[i] <= 0x20 || sec.s[i] == 0x7f)
			ok = 0;
	if (!ok) {
		buf_addf(err, "%s: [%s]: the secret must be client_id:client_secret, on one line", path,
		    c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct wm *w = xcalloc(1, sizeof *w);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	struct buf a = BUF_INIT;
	buf_add(&a, base, bl);
	buf_adds(&a, "/v3");
	w->api = a.s;
	const char *hp = strstr(w->api, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	w->apipath = xstrdup(hp ? hp : "/v3");
	w->secret = xstrndup(sec.s, sec.len);
	w->client_secret = xstrdup(w->secret + (colon - sec.s) + 1);
	struct buf b64 = BUF_INIT, h = BUF_INIT;
	buf_add_base64(&b64, sec.s, sec.len);
	w->b64 = b64.s;
	buf_addf(&h, "Authorization: Basic %s", b64.s);
	w->basic = h.s;
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	c->priv = w;
	return 0;
}

static void
wm_close(struct chan *c)
{
	struct wm *w = c->priv;
	if (!w)
		return;
	free(w->api);
	free(w->apipath);
	free_secret(w->basic);
	free_secret(w->secret);
	free_secret(w->b64);
	free_secret(w->client_secret);
	free_secret(w->token);
	free_secret(w->tokhdr);
	free(w);
	c->priv = NULL;
}

const struct driver drv_walmart = {
	.type = "walmart",
	.max_batch = BATCH_MAX,
	.open = wm_open,
	.pull = wm_pull,
	.read = wm_read,
	.push = wm_push,
	.close = wm_close,
};
