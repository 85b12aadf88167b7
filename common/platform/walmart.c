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
 *   - POST /v3/feeds?feedType=inventory uploads a bulk inventory feed as
 *     multipart/form-data, field "file"; spec 1.4 (JSON) is one ship node
 *     per file, the default node when none is given: {"InventoryHeader":
 *     {"version": "1.4"}, "Inventory": [{sku, quantity {unit: "EACH",
 *     amount}}]}; the answer is {feedId}; a page of the same site once
 *     stated 10 uploads an hour, 5 MB a file and up to 30 minutes of
 *     processing; 429 (with Retry-After) over the limit.
 *     https://developer.walmart.com/us-marketplace/docs/bulk-inventory
 *     https://developer.walmart.com/us-marketplace/docs/bulk-inventory-update-feed
 *     https://developer.walmart.com/us-marketplace/reference/post_v3-feeds
 *   - GET /v3/feeds/{feedId} (the id percent-encoded: @ as %40) with
 *     includeDetails=true&offset=&limit= (limit at most 1000) gives
 *     feedStatus RECEIVED, INPROGRESS, PROCESSED or ERROR, itemsReceived
 *     and itemDetails.itemIngestionStatus[], each line with its sku,
 *     ingestionStatus (SUCCESS, DATA_ERROR, SYSTEM_ERROR, TIMEOUT_ERROR) and
 *     ingestionErrors.ingestionError[{type, code, field, description}]; a
 *     feed in ERROR processed none of its lines.
 *     https://developer.walmart.com/us-marketplace/docs/feed-item-status-api-for-tracking-fitment-files
 *     https://developer.walmart.com/suppliers/docs/understanding-statuses-available-for-feeds
 *     https://developer.walmart.com/mx-marketplace/docs/feed-overview
 *   - GET /v3/feeds lists recent feeds: results.feed[{feedId, feedType,
 *     feedStatus, itemsReceived, feedDate (epoch ms), ...}]; filtering by
 *     feedType is left to the caller.
 *     https://developer.walmart.com/us-marketplace/docs/list-all-feed-statuses
 * UNVERIFIED (and handled either way): the answer's fields beyond
 * access_token and expires_in; the rate headers of the Marketplace API
 * (we read x-current-token-count, the tokens left in the endpoint's bucket,
 * and x-next-replenish-time or X-Next-Replenishment-Time, the epoch
 * milliseconds of the next token, as Walmart's supplier pages name them;
 * without them we back off); how an unknown SKU or a SKU with no record
 * at a node reads (we take 404 as "no record"); whether a 500 to a PUT
 * may have been applied (we assume it may); that the ship node of a 1.4
 * feed is the shipNode query parameter of the upload; whether 5 MB means
 * 10^6 or 2^20 bytes (we stay under 5,000,000); whether a feed line
 * carries its shipNode (we match by sku, one node per feed, and skip a
 * line naming another node); whether the listing of GET /v3/feeds is
 * newest first and names the uploaded file (a fileName, when present,
 * must be ours); whether a feed line creates a record at a node that has
 * none (we send it as the PUT would); whether the status of a feed just
 * uploaded can read 404 for a while (we ask again until feed_wait).
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
 * push correct the book.
 *
 * Feeds.  A push() of feed_min corrections or more (default 50; 0 never)
 * goes by inventory feeds instead, one ship node at a time: every SKU of
 * the node is re-read (one GET each) just before the feed is built, those
 * no longer at `from` are decided as above and left out, and the rest go
 * in feeds of at most feed_max_bytes.  Each feed is then polled, first
 * feed_poll seconds after its upload, the wait doubling up to 120 s, for
 * feed_wait seconds at most (default 1800, the documented 30 minutes);
 * its report, read in pages, decides each line: SUCCESS applied, any
 * error failed with Walmart's type, code and description; a line missing
 * from the report, or a feed never processed in time, is failed "unknown
 * outcome" and not sent again.  A feed in ERROR fails all its lines.  The
 * window is much wider than a PUT's: from a SKU's re-read to the moment
 * Walmart processes the feed (the other reads of the node, the upload and
 * the processing: seconds to minutes, up to 30 documented), a sale landing
 * then is overwritten.  That window buys a run of thousands of SKUs in a
 * few calls instead of one throttled PUT each; feed_min = 0 keeps every
 * push on the PUT.  With feeds on, invpush hands the driver up to 10000
 * corrections at a time (open sets the channel's max_batch), so a large run
 * is one push() and few feeds; without, 50.
 *
 * An upload whose answer is lost (or 5xx, or a 200 without feedId) may
 * have been received and is never sent again.  GET /v3/feeds is read (up
 * to 3 times, feed_poll apart) for an inventory feed of the same number of
 * lines, dated since the upload (give or take 5 minutes of clock skew),
 * that this process did not send before: exactly one such feed is taken
 * for ours and polled as above.  Otherwise (none, or several) each SKU is
 * read back: one showing `to` is applied, any other failed "unknown
 * outcome" (the feed may still be processed: the next pull shows it).  A
 * 429 or 503 was not received: its SKUs are read again after the wait and
 * go in the next round's feed if still at `from`.
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
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define DEFAULT_BASE "https://marketplace.walmartapis.com"
#define SVC_NAME "Walmart Marketplace"
#define PAGE_LIMIT 50		/* the documented `limit` maximum of /v3/inventories */
#define MAX_TRIES 7		/* attempts of one read after 429/5xx/no answer */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define TOKEN_MARGIN 60.0	/* seconds before expiry a token is renewed */
#define MAX_WAIT 60.0		/* longest wait for a bucket, seconds */
#define SLACK 0.005		/* after the replenish time: clocks and rounding differ */

#define BATCH_MAX_FEED 10000	/* corrections per push() call: a feed takes them all */
#define BATCH_MAX_PUT 50	/* the same without feeds (feed_min = 0): one PUT each */
#define FEED_MIN 50		/* corrections of a push() from which the feed is used */
#define FEED_BYTES 5000000	/* a feed upload's limit: "5 MB", read as 10^6 bytes */
#define FEED_WAIT 1800		/* seconds a feed is waited for (30 min documented) */
#define FEED_POLL 10		/* first wait before a feed's status is read, seconds */
#define POLL_MAX 120.0		/* longest wait between two status reads */
#define MAX_POLLS 200		/* status reads of one feed, whatever the waits */
#define FEED_PAGE 1000		/* item details a status page holds at most */
#define LIST_TRIES 3		/* GET /v3/feeds looks for a feed whose answer was lost */
#define CLOCK_SKEW 300000.0	/* ms our clock and Walmart's feedDate may differ */

enum ep { EP_TOKEN, EP_LIST, EP_GET, EP_PUT, EP_FEED, EP_FEEDSTAT, EP_FEEDLIST, EP_N };

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
	long long feed_min;	/* 0: never a feed */
	long long feed_wait, feed_bytes;
	double feed_poll;
	char **fids;		/* the feeds this process sent, not to be matched again */
	size_t nfids;
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
    const char *body, const char *ctype)
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
		if (e != EP_TOKEN) {
			struct buf ct = BUF_INIT;
			buf_addf(&ct, "Content-Type: %s", ctype ? ctype : "application/json");
			r->hdrs = curl_slist_append(r->hdrs, ct.s);
			buf_release(&ct);
		}
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
		buf_adds(&r->body, body);
	}
	r->idempotent = e != EP_PUT && e != EP_FEED;	/* writes are never re-sent blindly */
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
		send1(c, e, r, method, rel, body, NULL);
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
    const char *body, const char *ctype, struct buf *err)
{
	for (int k = 0; k < 2; k++) {
		int rc = token_get(c, k > 0, err);
		if (rc)
			return rc;
		if (e == EP_PUT || e == EP_FEED)
			send1(c, e, r, method, rel, body, ctype);
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
		rc = api_call(c, EP_LIST, &r, "GET", rel.s, NULL, NULL, err);
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
	int rc = api_call(c, EP_GET, &r, "GET", rel.s, NULL, NULL, err);
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

/*
 * After a re-read: is the correction still to be written (the quantity is
 * still `from`, or there is still no record)?  Else it is decided here:
 * conflict, unchanged, or failed.
 */
static int
still_to_write(struct corr *k)
{
	if (k->has_from && !k->has_current) {
		corr_fail(k, CS_FAILED, "not written: no inventory for sku %.60s at ship node "
		    "'%.30s' (gone since it was read)", sku_of(k), k->location ? k->location : "");
		return 0;
	}
	if (k->has_from && k->current != k->from) {
		corr_fail(k, CS_CONFLICT, "quantity changed since it was read: %lld now, %lld "
		    "expected (not written)", (long long)k->current, (long long)k->from);
		return 0;
	}
	if (!k->has_from && k->has_current) {
		corr_fail(k, CS_CONFLICT, "a record appeared since it was read: %lld now (not "
		    "written)", (long long)k->current);
		return 0;
	}
	if (k->has_from && k->to == k->current) {
		k->status = CS_UNCHANGED;
		k->error[0] = '\0';
		return 0;
	}
	if (k->to < 0 || k->to > 2147483647) {
		corr_fail(k, CS_FAILED, "not written: %lld is out of Walmart's range", (long long)k->to);
		return 0;
	}
	return 1;
}

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
		if (!still_to_write(k))
			break;
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
		rc = api_call(c, EP_PUT, &r, "PUT", rel.s, s, NULL, err);
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

/* ---- feeds ---- */

static const char *
loc_of(const struct corr *k)
{
	return k->location ? k->location : "";
}

static int
cmp_sku(const void *a, const void *b)
{
	return strcmp(sku_of(*(struct corr *const *)a), sku_of(*(struct corr *const *)b));
}

/* Decide every still pending correction of ks[0..n) as failed with text t. */
static void
fail_pending(struct corr **ks, size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++)
		if (ks[i]->status == CS_PENDING)
			corr_fail(ks[i], CS_FAILED, "%s", t);
}

/*
 * "TYPE: CODE: description" of the first of {ingestionError: [...]} (or of
 * a bare list); the type left out when it is skip.
 */
static void
ingestion_text(struct buf *out, json_t *ie, const char *skip)
{
	json_t *l = json_is_array(ie) ? ie : json_object_get(ie, "ingestionError");
	json_t *e = json_is_array(l) ? json_array_get(l, 0) : l;
	const char *f[] = { json_string_value(json_object_get(e, "type")),
	    json_string_value(json_object_get(e, "code")),
	    json_string_value(json_object_get(e, "description")) };
	for (int i = 0, n = 0; i < 3; i++) {
		if (!f[i] || !*f[i] || (!i && skip && !strcmp(f[i], skip)))
			continue;
		if (n++)
			buf_adds(out, ": ");
		for (int j = 0; f[i][j] && j < 200; j++)
			buf_addc(out, (unsigned char)f[i][j] < 0x20 ? ' ' : f[i][j]);
	}
}

/*
 * Apply one page of a processed feed's item details to ks[0..n) (sorted by
 * sku): SUCCESS is applied, DATA_ERROR, SYSTEM_ERROR, TIMEOUT_ERROR (or any
 * other final word) failed with Walmart's text.  Returns the lines read.
 */
static size_t
feed_map(struct chan *c, const char *fid, const char *node, json_t *lines, struct corr **ks,
    size_t n)
{
	struct buf m = BUF_INIT;
	size_t i;
	for (i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);
		const char *sku = json_string_value(json_object_get(l, "sku"));
		const char *sn = json_string_value(json_object_get(l, "shipNode"));
		const char *st = json_string_value(json_object_get(l, "ingestionStatus"));
		if (!sku || !st || (sn && *sn && *node && strcmp(sn, node)))
			continue;
		struct corr key = { .sku = sku }, *kp = &key, **hit;
		hit = bsearch(&kp, ks, n, sizeof *ks, cmp_sku);
		if (!hit || (*hit)->status != CS_PENDING)
			continue;
		struct corr *k = *hit;
		if (!strcmp(st, "SUCCESS")) {
			k->status = CS_APPLIED;
			k->error[0] = '\0';
			k->has_after = 1;
			k->after = k->to;
		} else if (strcmp(st, "INPROGRESS")) {
			buf_reset(&m);
			buf_addf(&m, "[%s]: feed %.60s: %.20s", c->name, fid, st);
			json_t *ie = json_object_get(l, "ingestionErrors");
			size_t at = m.len;
			buf_adds(&m, ": ");
			ingestion_text(&m, ie, st);
			if (m.len == at + 2)
				m.s[m.len = at] = '\0';
			scrub(c->priv, &m);
			corr_fail(k, CS_FAILED, "%s", m.s);
		}
	}
	buf_release(&m);
	return i;
}

/*
 * Wait for feed fid (the items ks[0..n), sorted here) to be processed and
 * decide each item from its report.  Polls with a doubling wait, at most
 * feed_wait seconds in all; a feed still unprocessed then leaves its items
 * failed "unknown outcome" (never sent again).  0 or EX_NOPERM.
 */
static int
feed_track(struct chan *c, const char *fid, const char *node, struct corr **ks, size_t n,
    double sent, struct buf *err)
{
	struct wm *w = c->priv;
	struct buf rel = BUF_INIT, m = BUF_INIT;
	double delay = w->feed_poll, waited = 0;
	size_t offset = 0;
	int rc = 0, done = 0;
	qsort(ks, n, sizeof *ks, cmp_sku);
	for (int polls = 0; !done; polls++) {
		if (!offset) {	/* the first wait counts from the upload */
			double d = polls ? delay : sent + delay - mono_now();
			sleep_s(d > 0 ? d : 0);
			waited += delay;
			if (polls)
				delay = delay * 2 > POLL_MAX ? POLL_MAX : delay * 2;
		}
		buf_reset(&rel);
		buf_adds(&rel, "/feeds/");
		buf_add_pctenc(&rel, fid);
		buf_addf(&rel, "?includeDetails=true&offset=%zu&limit=%d", offset, FEED_PAGE);
		struct http_req r;
		if ((rc = api_call(c, EP_FEEDSTAT, &r, "GET", rel.s, NULL, NULL, err)) != 0) {
			buf_reset(&m);
			buf_addf(&m, "unknown outcome: feed %.60s was sent, its status not read: %.150s (not "
			    "sent again)", fid, err->s);
			fail_pending(ks, n, m.s);
			break;
		}
		json_t *j = r.status == 200 ? json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL) :
		    NULL;
		const char *st = json_string_value(json_object_get(j, "feedStatus"));
		json_t *recv = json_object_get(j, "itemsReceived");
		buf_reset(&m);
		if (r.status == 404 && !offset && waited < (double)w->feed_wait && polls + 1 < MAX_POLLS) {
			/* not known yet where it is asked for: UNVERIFIED, so it is asked again */
			if (c->verbose)
				fprintf(stderr, "%s: [%s]: feed %.60s: not found yet after %.1f s\n", progname,
				    c->name, fid, waited);
		} else if (r.status != 200 || !st) {
			describe(c, &m, &r, "GET", rel.s);
			struct buf t = BUF_INIT;
			buf_addf(&t, "unknown outcome: feed %.60s was sent, its status not read: %.150s%s (not "
			    "sent again)", fid, m.s, r.status == 200 ? ": no feedStatus" : "");
			fail_pending(ks, n, t.s);
			buf_release(&t);
			if (r.status == 401 || r.status == 403) {
				buf_reset(err);
				buf_add(err, m.s, m.len);
				rc = EX_NOPERM;
			}
			done = 1;
		} else if (!strcmp(st, "PROCESSED")) {
			size_t got = feed_map(c, fid, node, json_object_get(json_object_get(j, "itemDetails"),
			    "itemIngestionStatus"), ks, n);
			offset += got;
			if (!got || (json_is_integer(recv) && (json_int_t)offset >= json_integer_value(recv)) ||
			    polls + 1 >= MAX_POLLS) {
				buf_addf(&m, "unknown outcome: feed %.60s was processed without a result for this "
				    "sku (not sent again)", fid);
				fail_pending(ks, n, m.s);
				done = 1;
			}
		} else if (!strcmp(st, "ERROR")) {
			/* documented: no element of a feed in ERROR was processed */
			buf_addf(&m, "not written: [%s]: feed %.60s: ERROR", c->name, fid);
			size_t at = m.len;
			buf_adds(&m, ": ");
			ingestion_text(&m, json_object_get(j, "ingestionErrors"), NULL);
			if (m.len == at + 2)
				m.s[m.len = at] = '\0';
			scrub(w, &m);
			fail_pending(ks, n, m.s);
			done = 1;
		} else if (waited >= (double)w->feed_wait || polls + 1 >= MAX_POLLS) {
			buf_addf(&m, "unknown outcome: feed %.60s still %.20s after %.0f s (not sent again; GET "
			    "/v3/feeds/{feedId} tells)", fid, st, waited);
			fail_pending(ks, n, m.s);
			done = 1;
		} else if (c->verbose) {
			fprintf(stderr, "%s: [%s]: feed %.60s (%zu items): %.20s after %.1f s, next look in "
			    "%.1f s\n", progname, c->name, fid, n, st, waited, delay);
		}
		json_decref(j);
		http_req_release(&r);
	}
	buf_release(&rel);
	buf_release(&m);
	return rc;
}

/*
 * The answer to a feed upload was lost (or 5xx): it may have been
 * received.  Look for it in GET /v3/feeds: an inventory feed of n items
 * dated since t0 (give or take the clocks' skew) that this process does
 * not know, and, where the listing names files, called fname.  Exactly one
 * such feed is ours; none or several leave *id NULL.  0 or EX_NOPERM.
 */
static int
feed_find(struct chan *c, size_t n, double t0, const char *fname, char **id, struct buf *err)
{
	struct wm *w = c->priv;
	int rc = 0;
	*id = NULL;
	for (int t = 0; t < LIST_TRIES && !*id && !rc; t++) {
		struct http_req r;
		if (t)
			sleep_s(w->feed_poll);
		if ((rc = api_call(c, EP_FEEDLIST, &r, "GET", "/feeds", NULL, NULL, err)) != 0)
			break;
		json_t *j = r.status == 200 ? json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL) :
		    NULL;
		json_t *l = json_object_get(json_object_get(j, "results"), "feed");
		const char *hit = NULL;
		size_t nhit = 0;
		for (size_t i = 0; i < json_array_size(l); i++) {
			json_t *f = json_array_get(l, i);
			const char *fid = json_string_value(json_object_get(f, "feedId"));
			const char *ft = json_string_value(json_object_get(f, "feedType"));
			const char *fn = json_string_value(json_object_get(f, "fileName"));
			json_t *cnt = json_object_get(f, "itemsReceived"), *d = json_object_get(f, "feedDate");
			int known = 0;
			for (size_t k = 0; fid && k < w->nfids; k++)
				known |= !strcmp(w->fids[k], fid);
			if (!fid || !*fid || known || !ft || strcasecmp(ft, "inventory") ||
			    !json_is_integer(cnt) || json_integer_value(cnt) != (json_int_t)n ||
			    !json_is_number(d) || json_number_value(d) < t0 - CLOCK_SKEW ||
			    json_number_value(d) > epoch_ms() + CLOCK_SKEW || (fn && strcmp(fn, fname)))
				continue;
			hit = fid;
			nhit++;
		}
		if (nhit == 1)
			*id = xstrdup(hit);
		if (r.status == 401 || r.status == 403) {
			buf_reset(err);
			describe(c, err, &r, "GET", "/feeds");
			rc = EX_NOPERM;
		}
		json_decref(j);
		http_req_release(&r);
		if (nhit > 1)
			break;	/* several would do: none is known to be ours */
	}
	return rc;
}

/*
 * A feed whose upload may or may not have been received, and that no
 * listing names: each item is read back; one that shows `to` was applied
 * (by the feed, or it already showed it), any other is failed "unknown
 * outcome" and not sent again (the feed may still be processed).
 */
static int
feed_unknown(struct chan *c, struct corr **ks, size_t n, const char *why, struct buf *err)
{
	for (size_t i = 0; i < n; i++) {
		struct corr *k = ks[i];
		int64_t want = k->to;
		struct buf e = BUF_INIT;
		if (k->status != CS_PENDING)
			continue;
		int rc = read1(c, k, &e);
		if (rc == EX_NOPERM) {
			buf_reset(err);
			buf_add(err, e.s, e.len);
			buf_release(&e);
			return rc;
		}
		if (rc)
			corr_fail(k, CS_FAILED, "unknown outcome: %.100s, and the re-read failed: %.100s", why,
			    e.s);
		else if (k->has_current && k->current == want) {
			k->status = CS_APPLIED;
			k->error[0] = '\0';
			k->has_after = 1;
			k->after = want;
		} else if (k->has_current)
			corr_fail(k, CS_FAILED, "unknown outcome: %.120s; re-read shows %lld (%lld if "
			    "applied; not sent again)", why, (long long)k->current, (long long)want);
		else
			corr_fail(k, CS_FAILED, "unknown outcome: %.120s; re-read shows no record (not sent "
			    "again)", why);
		buf_release(&e);
	}
	return 0;
}

/* The multipart/form-data upload of lines[0..n) (JSON items) as file fname. */
static void
feed_body(struct buf *body, struct buf *ctype, char **lines, size_t n, const char *fname)
{
	struct buf j = BUF_INIT;
	char bnd[40];
	buf_adds(&j, "{\"InventoryHeader\":{\"version\":\"1.4\"},\"Inventory\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(&j, ',');
		buf_adds(&j, lines[i]);
	}
	buf_adds(&j, "]}");
	for (unsigned s = 0;; s++) {	/* a boundary the file does not hold */
		char seed[64];
		int sl = snprintf(seed, sizeof seed, "wmfeed\037%u\037%zu\037%.0f", s, j.len, epoch_ms());
		key_uuid(seed, (size_t)sl, bnd, sizeof bnd);
		if (!strstr(j.s, bnd))
			break;
	}
	buf_reset(body);
	buf_addf(body, "--invkit-%s\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"%s\"\r\nContent-Type: application/json\r\n\r\n", bnd, fname);
	buf_add(body, j.s, j.len);
	buf_addf(body, "\r\n--invkit-%s--\r\n", bnd);
	buf_reset(ctype);
	buf_addf(ctype, "multipart/form-data; boundary=invkit-%s", bnd);
	buf_release(&j);
}

/* Bytes a feed's multipart upload takes besides its items and commas. */
#define FEED_OVERHEAD 400

/*
 * Push the corrections g[0..m) of one ship node (node, "" for the default)
 * by inventory feeds.  Each round re-reads every pending SKU, keeps those
 * still at `from`, uploads them in feeds of at most feed_bytes, then
 * tracks each feed to its report.  A 429/503 to an upload leaves its items
 * for the next round (read again after the wait); a lost answer is
 * resolved by feed_find or feed_unknown, never by sending again.
 */
static int
feed_node(struct chan *c, struct corr **g, size_t m, const char *node, const char *run,
    struct buf *err)
{
	struct wm *w = c->priv;
	struct corr **send = xcalloc(m, sizeof *send);
	char **lines = xcalloc(m, sizeof *lines);
	struct buf rel = BUF_INIT, body = BUF_INIT, ct = BUF_INIT, msg = BUF_INIT, fname = BUF_INIT;
	int rc = 0;
	unsigned nfeed = 0;

	buf_adds(&rel, "/feeds?feedType=inventory");
	if (*node) {
		buf_adds(&rel, "&shipNode=");
		buf_add_pctenc(&rel, node);
	}
	for (int round = 0; round < MAX_ROUNDS && !rc; round++) {
		size_t ns = 0;
		double again = -1, t_read = mono_now();
		for (size_t i = 0; i < m && !rc; i++) {
			struct corr *k = g[i];
			if (k->status != CS_PENDING)
				continue;
			if ((rc = read1(c, k, err)) != 0) {
				if (rc == EX_NOPERM)
					break;
				corr_fail(k, CS_FAILED, "not written: the read before writing failed: %.200s",
				    err->s);
				rc = 0;
				continue;
			}
			if (!still_to_write(k))
				continue;
			json_t *b = json_pack("{s:s, s:{s:s, s:I}}", "sku", sku_of(k), "quantity", "unit",
			    "EACH", "amount", (json_int_t)k->to);
			char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
			json_decref(b);
			if (!s || strlen(s) + 1 + FEED_OVERHEAD > (size_t)w->feed_bytes) {
				corr_fail(k, CS_FAILED, "not written: %s", s ? "the sku is too long for a feed" :
				    "the sku is not valid UTF-8");
				free(s);
				continue;
			}
			lines[ns] = s;
			send[ns++] = k;
		}
		if (rc || !ns) {
			for (size_t i = 0; i < ns; i++)
				free(lines[i]);
			break;
		}
		/* upload: each feed as large as the limit allows */
		struct { size_t at, n; char *id; double sent; } *fd = xcalloc(ns, sizeof *fd);
		size_t nf = 0, at = 0;
		while (at < ns) {
			size_t n = 0, bytes = FEED_OVERHEAD;
			while (at + n < ns && bytes + strlen(lines[at + n]) + 1 <= (size_t)w->feed_bytes)
				bytes += strlen(lines[at + n++]) + 1;
			if (!n)
				n = 1;	/* not reached: a line over the limit was refused above */
			buf_reset(&fname);
			buf_addf(&fname, "invkit-%.40s-%u.json", run && *run ? run : "run", ++nfeed);
			for (size_t i = 0; i < fname.len; i++)
				if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
				    fname.s[i]))
					fname.s[i] = '_';
			feed_body(&body, &ct, lines + at, n, fname.s);
			double t0 = epoch_ms();
			struct http_req r;
			if ((rc = api_call(c, EP_FEED, &r, "POST", rel.s, body.s, ct.s, err)) != 0)
				break;
			json_t *j = r.status == 200 ? json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0,
			    NULL) : NULL;
			const char *id = json_string_value(json_object_get(j, "feedId"));
			buf_reset(&msg);
			describe(c, &msg, &r, "POST", rel.s);
			if (r.status == 200 && id && *id && !strpbrk(id, "\r\n")) {
				fd[nf].id = xstrdup(id);
			} else if (again_status(&r)) {
				/* not received: these items wait for the next round and its re-read */
				again = wait_of(w, EP_FEED, &r);
				if (again < 0)
					again = 0.25 * (1 << round);
				for (size_t i = at; i < ns; i++)
					snprintf(send[i]->error, sizeof send[i]->error, "%s", msg.s);
				json_decref(j);
				http_req_release(&r);
				break;
			} else if (r.ambiguous || r.status >= 500 || r.status == 200) {
				if (r.status == 200)
					buf_adds(&msg, ": the answer has no feedId");
				rc = feed_find(c, n, t0, fname.s, &fd[nf].id, err);
				if (!rc && !fd[nf].id) {
					buf_adds(&msg, "; GET /v3/feeds lists no feed that is surely this one");
					rc = feed_unknown(c, send + at, n, msg.s, err);
				}
			} else {
				struct buf t = BUF_INIT;
				buf_addf(&t, "not written: %.230s", msg.s);
				fail_pending(send + at, n, t.s);
				buf_release(&t);
				if (r.status == 401 || r.status == 403) {
					buf_reset(err);
					buf_add(err, msg.s, msg.len);
					rc = EX_NOPERM;
				}
			}
			json_decref(j);
			http_req_release(&r);
			if (fd[nf].id) {
				w->fids = xrealloc(w->fids, (w->nfids + 1) * sizeof *w->fids);
				w->fids[w->nfids++] = xstrdup(fd[nf].id);
				if (c->verbose)
					fprintf(stderr, "%s: [%s]: feed %.60s: %zu items at ship node '%.30s', %zu "
					    "bytes, sent %.1f s after the first re-read of its SKUs\n", progname,
					    c->name, fd[nf].id, n, node, body.len, mono_now() - t_read);
			}
			fd[nf].at = at;
			fd[nf].sent = mono_now();
			fd[nf++].n = n;
			at += n;
			if (rc)
				break;
		}
		/* track what was sent (also after a refusal: those items were sent) */
		for (size_t i = 0; i < nf; i++) {
			if (fd[i].id && rc != EX_NOPERM) {
				int t = feed_track(c, fd[i].id, node, send + fd[i].at, fd[i].n, fd[i].sent,
				    err);
				if (!rc)
					rc = t;
			} else if (fd[i].id)
				fail_pending(send + fd[i].at, fd[i].n, "unknown outcome: the feed was sent, its "
				    "status not read: the credentials were refused (not sent again)");
			free(fd[i].id);
		}
		free(fd);
		for (size_t i = 0; i < ns; i++) {
			free(lines[i]);
			lines[i] = NULL;
		}
		if (rc || again < 0)
			break;
		sleep_s(again);
	}
	for (size_t i = 0; i < m && !rc; i++)
		if (g[i]->status == CS_PENDING) {
			char e[sizeof g[i]->error];
			snprintf(e, sizeof e, "%s", g[i]->error);
			corr_fail(g[i], CS_FAILED, "not written: gave up after %d attempts: %.200s",
			    MAX_ROUNDS, e);
		}
	free(send);
	free(lines);
	buf_release(&rel);
	buf_release(&body);
	buf_release(&ct);
	buf_release(&msg);
	buf_release(&fname);
	return rc;
}

/* Push the pending corrections of v[0..n) by feeds, one node at a time. */
static int
feed_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **g = xcalloc(n, sizeof *g);
	char *taken = xcalloc(n, 1);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (taken[i] || v[i]->status != CS_PENDING)
			continue;
		size_t m = 0;
		for (size_t j = i; j < n; j++)
			if (!taken[j] && v[j]->status == CS_PENDING && !strcmp(loc_of(v[j]), loc_of(v[i]))) {
				taken[j] = 1;
				g[m++] = v[j];
			}
		rc = feed_node(c, g, m, loc_of(v[i]), run, err);
	}
	free(g);
	free(taken);
	return rc;
}

/* Sort by sku, ship node, then input position: for finding duplicates. */
static int
cmp_key(const void *a, const void *b)
{
	struct corr *const *x = *(struct corr *const *const *)a, *const *y =
	    *(struct corr *const *const *)b;
	int d = strcmp(sku_of(*x), sku_of(*y));
	if (!d)
		d = strcmp(loc_of(*x), loc_of(*y));
	return d ? d : (x > y) - (x < y);
}

/*
 * Push a batch: each correction's SKU re-read just before it is written,
 * by one PUT each below feed_min corrections, else by inventory feeds.  A
 * second correction for the same SKU and ship node in a batch is refused
 * (its outcome would depend on the order Walmart applies them in).
 */
static int
wm_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct wm *w = c->priv;
	int rc = 0;
	size_t npend = 0;
	for (size_t i = 0; i < n; i++) {
		v[i]->status = CS_PENDING;
		v[i]->error[0] = '\0';
		v[i]->has_after = 0;
		if (!*sku_of(v[i]))
			corr_fail(v[i], CS_FAILED, "not written: no sku");
	}
	struct corr ***o = xcalloc(n ? n : 1, sizeof *o);
	for (size_t i = 0; i < n; i++)
		o[i] = &v[i];
	qsort(o, n, sizeof *o, cmp_key);
	for (size_t i = 1; i < n; i++) {
		struct corr *a = *o[i - 1], *k = *o[i];
		if (*sku_of(k) && !strcmp(sku_of(a), sku_of(k)) && !strcmp(loc_of(a), loc_of(k)))
			corr_fail(k, CS_FAILED, "not written: another correction for sku %.60s at ship "
			    "node '%.30s' is in the same batch", sku_of(k), loc_of(k));
	}
	free(o);
	for (size_t i = 0; i < n; i++)
		npend += v[i]->status == CS_PENDING;
	if (w->feed_min && npend >= (size_t)w->feed_min)
		rc = feed_push(c, v, n, run, err);
	else
		for (size_t i = 0; i < n && !rc; i++)
			if (v[i]->status == CS_PENDING)
				rc = push1(c, v[i], err);
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	return rc;
}

/* ---- open and close ---- */

/* A number of seconds (decimals allowed) within [min, max], def when absent. */
static int
secs_get(const struct chan *c, const char *key, double def, double min, double max, double *out,
    struct buf *err)
{
	const char *v = chan_get(c->cc, key);
	char *end;
	*out = def;
	if (!v)
		return 0;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || *end || errno || !(d >= min && d <= max)) {
		struct buf q = BUF_INIT;
		buf_reset(err);
		buf_addf(err, "%s:%d: [%s]: %s: not a number of seconds from %g to %g: %s",
		    c->cfg->path ? c->cfg->path : "config", c->cc->line, c->name, key, min, max,
		    quoted(&q, v, strlen(v)));
		buf_release(&q);
		return -1;
	}
	*out = d;
	return 0;
}

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
	long long fmin, fwait, fbytes;
	double fpoll;
	if (chan_get_int(c->cfg, cc, "feed_min", FEED_MIN, 0, BATCH_MAX_FEED, &fmin, err) < 0 ||
	    chan_get_int(c->cfg, cc, "feed_wait", FEED_WAIT, 1, 86400, &fwait, err) < 0 ||
	    secs_get(c, "feed_poll", FEED_POLL, 0.05, 3600, &fpoll, err) < 0 ||
	    chan_get_int(c->cfg, cc, "feed_max_bytes", FEED_BYTES, 1024, 5242880, &fbytes, err) < 0) {
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct wm *w = xcalloc(1, sizeof *w);
	w->feed_min = fmin;
	if (fmin)
		c->max_batch = BATCH_MAX_FEED;
	w->feed_wait = fwait;
	w->feed_poll = fpoll;
	w->feed_bytes = fbytes;
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
	for (size_t i = 0; i < w->nfids; i++)
		free(w->fids[i]);
	free(w->fids);
	free(w);
	c->priv = NULL;
}

const struct driver drv_walmart = {
	.type = "walmart",
	.max_batch = BATCH_MAX_PUT,
	.open = wm_open,
	.pull = wm_pull,
	.read = wm_read,
	.push = wm_push,
	.close = wm_close,
};
