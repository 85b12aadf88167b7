/*
 * amazon.c - the Amazon driver: merchant-fulfilled (MFN) quantities through
 * the Selling Partner API Listings Items API v2021-08-01 (and the Feeds API
 * 2021-06-30 for large pushes), FBA quantities read-only through the FBA
 * Inventory API v1, authorized by a Login with Amazon (LWA) access token.
 *
 * Facts it relies on, with the page that states each one:
 *   - An LWA access token comes from POST https://api.amazon.com/auth/o2/token,
 *     form-encoded grant_type=refresh_token, refresh_token, client_id,
 *     client_secret; the answer is {access_token, token_type, expires_in} and
 *     the token expires one hour after it is issued.  It goes in the
 *     x-amz-access-token header of every call, no SigV4 signing (header name
 *     from ../shared/PLATFORMS.md; the page's text I read covers the token
 *     request only: UNVERIFIED here).
 *     https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api
 *     https://developer.amazon.com/docs/login-with-amazon/access-token.html
 *   - searchListingsItems GET /listings/2021-08-01/items/{sellerId}
 *     ?marketplaceIds=&includedData=summaries,fulfillmentAvailability
 *     &pageSize=&pageToken=; "the maximum number of results that can be
 *     returned and paged through is limited to 1,000".
 *     https://developer-docs.amazon.com/sp-api/docs/search-for-listings-items-by-id
 *   - getListingsItem GET .../items/{sellerId}/{sku} and patchListingsItem
 *     PATCH .../items/{sellerId}/{sku}?marketplaceIds= with {productType,
 *     patches: [{op: replace, path: /attributes/fulfillment_availability,
 *     value: [{fulfillment_channel_code: DEFAULT, quantity}]}]}, answered by
 *     {sku, status: ACCEPTED | INVALID, submissionId, issues [{code, message,
 *     severity, attributeNames}]}.  "Accepted does not mean the process is
 *     complete": the change is applied by later, asynchronous processing.
 *     https://developer-docs.amazon.com/sp-api/docs/manage-listings-issues
 *     (the request and answer shapes were checked against Amazon's OpenAPI
 *     model as mirrored by SDKs, not the reference page itself: UNVERIFIED)
 *   - Rate limits are token buckets per operation (Listings Items 5 requests/s,
 *     burst 5); the x-amzn-RateLimit-Limit header returns the rate applied,
 *     "when available"; over it the answer is 429.
 *     https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits
 *   - getInventorySummaries GET /fba/inventory/v1/summaries?details=true
 *     &granularityType=Marketplace&granularityId=&marketplaceIds=[&sellerSkus=
 *     (at most 50)][&nextToken=] answers {payload: {granularity,
 *     inventorySummaries: [{sellerSku, inventoryDetails: {fulfillableQuantity,
 *     inboundWorkingQuantity, inboundShippedQuantity, inboundReceivingQuantity,
 *     reservedQuantity.totalReservedQuantity, researchingQuantity
 *     .totalResearchingQuantity, unfulfillableQuantity
 *     .totalUnfulfillableQuantity}}]}, pagination: {nextToken}}; 2 requests/s,
 *     burst 2; a nextToken expires after 30 s.
 *     https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-use-case-guide
 *     https://github.com/amzn/selling-partner-api-models/blob/main/models/fba-inventory-api-model/fbaInventory.json
 *   - Feeds 2021-06-30: createFeedDocument POST /feeds/2021-06-30/documents
 *     {contentType} -> {feedDocumentId, url} (0.5/s, burst 15); the document is
 *     PUT to url with that Content-Type; createFeed POST /feeds/2021-06-30/feeds
 *     {feedType, marketplaceIds, inputFeedDocumentId} -> {feedId} (0.0083/s,
 *     burst 15); getFeed GET .../feeds/{feedId} -> {processingStatus IN_QUEUE |
 *     IN_PROGRESS | DONE | CANCELLED | FATAL, resultFeedDocumentId} (2/s, burst
 *     15); getFeedDocument GET .../documents/{id} -> {url,
 *     compressionAlgorithm}.  The Feed object does not name its input
 *     document, so getFeeds cannot find a feed by the document we uploaded.
 *     https://developer-docs.amazon.com/sp-api/docs/feeds-api-v2021-06-30-reference
 *     (rates and shapes read from Amazon's model as SDKs mirror it)
 *   - JSON_LISTINGS_FEED: {header: {sellerId, version: "2.0", issueLocale},
 *     messages: [{messageId, sku, operationType: PATCH, productType,
 *     patches}]}, at most 25,000 messages (../shared/PLATFORMS.md); its
 *     processing report {header, issues: [{messageId, code, severity,
 *     message, attributeName?, sku?}], summary: {errors, warnings,
 *     messagesProcessed, messagesAccepted, messagesInvalid}}.
 *     https://developer-docs.amazon.com/sp-api/docs/building-listings-management-workflows-guide
 *     (UNVERIFIED against the page itself: the report shape was read from an
 *     SDK's schema, and whether Amazon gzips the report of this feed type)
 * UNVERIFIED (and handled either way): pageSize at most 20 (we ask for 20);
 * the pagination object {nextToken} and numberOfResults field names; the
 * 403 {"errors":[{"code":"Unauthorized"}]} of an expired token (we fetch a
 * new token on any 401/403 once, then give up with 77); whether a 429
 * carries Retry-After (used when present, else back off); whether INVALID
 * comes with HTTP 200 or 400 (both read); getListingsItem's burst of 10;
 * searchListingsItems' identifiers (at most 20, with identifiersType=SKU);
 * that a comma inside a sellerSkus value, percent-encoded, is not a list
 * separator; that every inventoryDetails field is present (a missing one
 * for a state asked for stops the pull with 65 rather than guess 0).
 *
 * Items.  An item is the seller SKU; location "" (one merchant pool per
 * marketplace); state "available"; qty the quantity of the DEFAULT
 * fulfillment channel (merchant-fulfilled).  Listings with no DEFAULT
 * quantity (fulfilled by Amazon) are not emitted (counted as unmanaged).
 * With `fba = yes` (or `only`, without the merchant quantities) the FBA
 * summaries follow, one record per SKU and state at location "fba": state
 * fulfillable, inbound_working, inbound_shipped, inbound_receiving,
 * reserved, researching, unfulfillable (`fba_states =`, default
 * fulfillable), as shipbob.c names a 3PL's states.  They are read-only:
 * Amazon owns them, and push refuses every correction at location "fba".
 *
 * Pull.  Without filters: every page of searchListingsItems, read to the
 * end before anything is emitted; more than 1000 listings cannot be paged
 * through, so such a pull stops with 69 and says to filter by SKU.  With
 * --sku/--item filters: getListingsItem per SKU (no 1000 limit).  FBA pages
 * are paced at the rate Amazon reports (2/s) and read within a nextToken's
 * 30 s life; a pull that fails on either half emits nothing.
 *
 * Push (DESIGN.md, rule 3: re-read).  Amazon has no relative change, no
 * compare-and-set and no idempotency key.  Immediately before each PATCH the
 * SKU is read (getListingsItem, which also gives the productType the PATCH
 * needs); a quantity that is no longer `from` is a conflict and nothing is
 * written; one already at `to` is unchanged.  ACCEPTED is reported applied,
 * INVALID failed with Amazon's issues.  A PATCH whose answer is lost (or a
 * 5xx other than 503) is never re-sent: the SKU is read again, applied if it
 * shows `to`, else failed "unknown outcome" - an accepted patch may still be
 * applied later.  A 429 or 503 means "not processed": read again, then
 * PATCH again.  A 401/403 fetches a new access token once.
 *
 * Push by feed.  A batch of at least `feed_min` corrections (default 50;
 * 0: never) goes as one JSON_LISTINGS_FEED, and such a channel takes
 * batches of up to 10,000 (open sets the channel's max_batch).  The SKUs are re-read just
 * before the feed is built (searchListingsItems by identifiers, 20 a
 * request) and decided as above; only those still at `from` become
 * messages, messageId i + 1 for the i-th.  Document, upload (no access
 * token goes to the upload URL), createFeed, then getFeed from 0.5 s
 * doubling to 30 s (progress on stderr with -v) until DONE, CANCELLED or
 * FATAL, at most `feed_wait` seconds (default 3600).  DONE: the processing
 * report maps each ERROR issue to its message (failed, with Amazon's
 * words); every other message is applied (accepted, as a PATCH's
 * ACCEPTED).  CANCELLED: failed, not written.  A createFeed refused with
 * 429/503 created nothing: re-read and send again (at most 7 rounds).
 * A createFeed whose answer was lost is never sent again, and cannot be
 * found again either (a Feed does not name its input document): its SKUs
 * are re-read, those at `to` applied and the others failed "unknown
 * outcome"; so are those of a FATAL feed ("some, none or all" applied), a
 * feed still processing at feed_wait, and a report that cannot be read or
 * does not cover every message.
 *
 * The race window that remains.  A sale between our re-read and the moment
 * Amazon applies the patch is overwritten by the absolute quantity: the
 * re-read round trip plus Amazon's asynchronous processing of the accepted
 * patch - usually seconds, at worst minutes (not documented).  For a feed
 * the window runs from the re-read to the moment Amazon processes the feed:
 * the upload and createFeed round trips plus Amazon's queue, usually
 * minutes, up to feed_wait and beyond.  The next pull sees the result; the
 * merchant order itself is never lost, only the shown quantity is one sale
 * too high until then.
 */
#include "platform.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define LISTINGS "/listings/2021-08-01/items/"
#define PAGE_SIZE 20		/* pageSize maximum (UNVERIFIED) */
#define SEARCH_MAX 1000		/* results a search can page through (documented) */
#define BATCH_MAX 50		/* corrections in one push() call (one PATCH each) */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define AUTH_ATTEMPTS 8		/* readings of one batch while tokens expire under it */
#define MAX_PASSES 3		/* full readings while the list keeps changing */
#define DEFAULT_LWA "https://api.amazon.com/auth/o2/token"
#define FBA_PATH "/fba/inventory/v1/summaries"
#define FBA_SKUS 50		/* sellerSkus in one request (documented) */
#define FBA_LOCATION "fba"	/* the location of FBA records */
#define FEEDS "/feeds/2021-06-30"
#define FEED_BATCH 10000	/* corrections in one push() call, one feed (<= 25,000) */
#define FEED_MIN 50		/* feed_min default */
#define FEED_WAIT 3600		/* feed_wait default, seconds */
#define FEED_CTYPE "application/json; charset=UTF-8"

/* FBA quantities, in the order records are emitted */
enum { F_FULFILLABLE, F_INB_WORKING, F_INB_SHIPPED, F_INB_RECEIVING, F_RESERVED, F_RESEARCHING,
	F_UNFULFILLABLE, NFBA };
static const char *const fba_names[NFBA] = { "fulfillable", "inbound_working", "inbound_shipped",
	"inbound_receiving", "reserved", "researching", "unfulfillable" };
enum { FBA_NO, FBA_YES, FBA_ONLY };

struct amz {
	char *api;		/* base_url without trailing slash */
	char *apipath;		/* its path, for messages */
	char *lwa;		/* token URL */
	char *seller_enc, *mkt, *mkt_enc;
	char *client_id, *client_secret, *refresh;	/* secrets */
	char *access;		/* "x-amz-access-token: ...", NULL: none yet */
	double expires;		/* mono_now() when the access token is to be renewed */
	double rate;		/* rate the bucket was last set to */
	char *seller;		/* seller_id as given, for the feed header */
	int fba;		/* FBA_NO, FBA_YES, FBA_ONLY */
	int fba_want[NFBA];	/* the FBA states to emit */
	double fba_rate, fba_next;	/* getInventorySummaries pacing */
	long long feed_min, feed_wait;	/* 0: no feeds */
};

/* ---- helpers ---- */

/*
 * What is never shown: the client secret, the refresh token, the access
 * token (past its header name), and the client id (shown nowhere either).
 * The first NSECRETS are credentials.
 */
#define NSECRETS 3
static void
hidden(const struct amz *a, const char *h[NSECRETS + 1])
{
	h[0] = a->client_secret;
	h[1] = a->refresh;
	h[2] = a->access ? a->access + 20 : NULL;
	h[3] = a->client_id;
}

static void
scrub(const struct amz *a, struct buf *m)
{
	const char *h[NSECRETS + 1];
	hidden(a, h);
	buf_scrub(m, h, NSECRETS + 1);
}

/*
 * Does url, one the server gave (a feed document's upload or download),
 * hold one of our credentials?  It is then not followed: the request would
 * carry the secret to wherever it points.
 */
static int
url_holds_secret(const struct amz *a, const char *url)
{
	const char *h[NSECRETS + 1];
	hidden(a, h);
	for (size_t i = 0; i < NSECRETS; i++)
		if (h[i] && strlen(h[i]) >= 4 && strstr(url, h[i]))
			return 1;
	return 0;
}

/* The SKU a correction is about: its item, else its sku. */
static const char *
corr_sku(const struct corr *k)
{
	if (k->item && *k->item)
		return k->item;
	return k->sku && *k->sku ? k->sku : NULL;
}

/* Feed the bucket from x-amzn-RateLimit-Limit (requests per second). */
static void
rate_seen(struct chan *c, const struct http_req *r)
{
	struct amz *a = c->priv;
	struct buf v = BUF_INIT;
	if (http_header(r, "x-amzn-RateLimit-Limit", &v)) {
		char *end;
		double rate = strtod(v.s, &end);
		if (end != v.s && rate > 0 && rate < 1e4 && rate != a->rate) {
			/* the burst is not reported: assume one second's worth, at least 1 */
			a->rate = rate;
			http_bucket(c->http, rate < 1 ? 1 : rate, 1, rate);
		}
	}
	buf_release(&v);
}

/* Seconds a 429/503 asks us to wait (Retry-After), or -1. */
static double
wait_of(const struct http_req *r)
{
	struct buf v = BUF_INIT;
	double d = -1;
	if (http_header(r, "Retry-After", &v)) {
		char *end;
		double s = strtod(v.s, &end);
		if (end != v.s && s >= 0 && s < 3600)
			d = s;
	}
	buf_release(&v);
	return d;
}

/* "[chan]: GET /listings/...: HTTP 403: Unauthorized: message (details)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *method,
    const char *url)
{
	struct amz *a = c->priv;
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	buf_addf(out, "[%s]: %s %.*s: ", c->name, method, p ? (int)strcspn(p, "?") : 1, p ? p : "/");
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	const char *parts[3] = { json_string_value(json_object_get(e, "code")),
		json_string_value(json_object_get(e, "message")),
		json_string_value(json_object_get(e, "details")) };
	if (!e) {	/* LWA: {"error", "error_description"} */
		parts[0] = json_string_value(json_object_get(j, "error"));
		parts[1] = json_string_value(json_object_get(j, "error_description"));
	}
	for (int i = 0; i < 3; i++) {
		if (!parts[i] || !*parts[i])
			continue;
		buf_adds(out, i == 2 ? " (" : ": ");
		for (int k = 0; parts[i][k] && k < 200; k++)
			buf_addc(out, (unsigned char)parts[i][k] < 0x20 ? ' ' : parts[i][k]);
		if (i == 2)
			buf_addc(out, ')');
	}
	json_decref(j);
	if (r->status == 401 || r->status == 403 || r->status == 400) {
		if (!strcmp(url, a->lwa))
			buf_adds(out, " (check client_id:client_secret:refresh_token in token_file or "
			    "INVKIT_TOKEN_<NAME>)");
		else if (r->status != 400)
			buf_adds(out, " (check seller_id, that the seller authorized the app and that it "
			    "has the Product Listing role)");
	}
	scrub(a, out);
}

/* ---- LWA token ---- */

static void
req_done_noop(struct http_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* Fetch a new access token (synchronously: nothing else is in flight). */
static int
lwa_fetch(struct chan *c, struct buf *err)
{
	struct amz *a = c->priv;
	struct http_req r;
	int rc = 0;

	http_req_init(&r);
	r.method = "POST";
	buf_adds(&r.url, a->lwa);
	r.hdrs = curl_slist_append(r.hdrs, "Content-Type: application/x-www-form-urlencoded;charset=UTF-8");
	r.hdrs = curl_slist_append(r.hdrs, "Accept: application/json");
	r.hdrs = curl_slist_append(r.hdrs, "Expect:");
	buf_adds(&r.body, "grant_type=refresh_token&refresh_token=");
	buf_add_pctenc(&r.body, a->refresh);
	buf_adds(&r.body, "&client_id=");
	buf_add_pctenc(&r.body, a->client_id);
	buf_adds(&r.body, "&client_secret=");
	buf_add_pctenc(&r.body, a->client_secret);
	r.idempotent = 1;	/* a token request may go twice: each answer is a valid token */
	r.cost = 0;		/* not an SP-API call */
	r.done = req_done_noop;
	http_submit(c->http, &r);
	http_run(c->http);
	free_secret(a->access);
	a->access = NULL;
	json_t *j = r.status == 200 ? json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	json_t *ei = json_object_get(j, "expires_in");
	if (r.status == 200 && tok && *tok && strlen(tok) < 4096 && !strpbrk(tok, "\r\n")) {
		double life = json_is_integer(ei) && json_integer_value(ei) > 0 ?
		    (double)json_integer_value(ei) : 3600;
		struct buf h = BUF_INIT;
		buf_adds(&h, "x-amz-access-token: ");
		buf_adds(&h, tok);
		a->access = h.s;
		/* renew a little early: a minute, or a tenth of a short life */
		a->expires = mono_now() + life - (life > 600 ? 60 : life / 10);
	} else {
		rc = r.status == 200 ? EX_DATAERR : r.status == 400 || r.status == 401 ||
		    r.status == 403 ? EX_NOPERM : http_fail_code(&r);
		buf_reset(err);
		buf_addf(err, "cannot get an access token: ");
		describe(c, err, &r, "POST", a->lwa);
		if (r.status == 200)
			buf_adds(err, ": the answer has no access_token");
	}
	json_decref(j);		/* the raw answer, token included, is zeroed below */
	if (r.resp.s)
		explicit_bzero(r.resp.s, r.resp.len);
	if (r.body.s)
		explicit_bzero(r.body.s, r.body.len);
	http_req_release(&r);
	return rc;
}

static int
token_ok(struct chan *c, struct buf *err)
{
	struct amz *a = c->priv;
	if (a->access && mono_now() < a->expires)
		return 0;
	return lwa_fetch(c, err);
}

static void
req_prepare(struct chan *c, struct http_req *r, const char *method)
{
	struct amz *a = c->priv;
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, a->api);
	buf_adds(&r->url, LISTINGS);
	buf_adds(&r->url, a->seller_enc);
	r->hdrs = curl_slist_append(r->hdrs, a->access);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	}
	r->idempotent = !strcmp(method, "GET");
	r->no_retry = !r->idempotent;	/* a PATCH goes again only after a re-read */
	r->cost = 1;
}

/* The DEFAULT (merchant) quantity and the productType of a listing. */
static void
listing_parse(json_t *it, const char *mkt, int *has_qty, int64_t *qty, const char **ptype)
{
	json_t *fa = json_object_get(it, "fulfillmentAvailability"), *sm = json_object_get(it, "summaries");
	*has_qty = 0;
	for (size_t i = 0; i < json_array_size(fa); i++) {
		json_t *f = json_array_get(fa, i), *q = json_object_get(f, "quantity");
		const char *code = json_string_value(json_object_get(f, "fulfillmentChannelCode"));
		if (code && !strcmp(code, "DEFAULT") && json_is_integer(q)) {
			*has_qty = 1;
			*qty = json_integer_value(q);
		}
	}
	if (ptype) {
		*ptype = NULL;
		for (size_t i = 0; i < json_array_size(sm); i++) {
			json_t *s = json_array_get(sm, i);
			const char *m = json_string_value(json_object_get(s, "marketplaceId"));
			const char *p = json_string_value(json_object_get(s, "productType"));
			if (p && (!*ptype || (m && !strcmp(m, mkt))))
				*ptype = p;
		}
	}
}

/* ---- getListingsItem of many SKUs ---- */

struct cur {
	const char *sku;
	int found, has_qty;
	int64_t qty;
	char *ptype;
	/* private */
	struct http_req r;
	int code, auth;
	size_t ngrp;		/* search: this request reads v[0..ngrp) (itself first) */
	struct chan *c;
	struct buf err;
};

/*
 * The answer of a searchListingsItems by identifiers: the listings of the
 * group's SKUs; a SKU it does not return has no listing.
 */
static void
grp_done(struct http_req *r, void *arg)
{
	struct cur *g = arg;
	struct amz *a = g->c->priv;
	rate_seen(g->c, r);
	if (r->status != 200) {
		for (size_t i = 0; i < g->ngrp; i++) {
			g[i].auth = r->status == 401 || r->status == 403;
			g[i].code = g[i].auth ? 0 : http_fail_code(r);
			buf_reset(&g[i].err);
			describe(g->c, &g[i].err, r, "GET", r->url.s);
		}
		return;
	}
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	json_t *items = json_object_get(j, "items");
	if (!json_is_array(items)) {
		g->code = EX_DATAERR;
		buf_addf(&g->err, "[%s]: GET %s%s{sellerId}?identifiers=: the answer is not a list of "
		    "listings (no items)", g->c->name, a->apipath, LISTINGS);
	}
	for (size_t k = 0; k < json_array_size(items); k++) {
		json_t *it = json_array_get(items, k);
		const char *sku = json_string_value(json_object_get(it, "sku"));
		for (size_t i = 0; sku && i < g->ngrp; i++) {
			const char *pt;
			if (strcmp(sku, g[i].sku) != 0)
				continue;
			g[i].found = 1;
			listing_parse(it, a->mkt, &g[i].has_qty, &g[i].qty, &pt);
			free(g[i].ptype);
			g[i].ptype = pt ? xstrdup(pt) : NULL;
		}
	}
	json_decref(j);
}

static void
cur_done(struct http_req *r, void *arg)
{
	struct cur *u = arg;
	struct amz *a = u->c->priv;
	rate_seen(u->c, r);
	if (r->status == 401 || r->status == 403) {
		u->auth = 1;
		describe(u->c, &u->err, r, "GET", r->url.s);
		return;
	}
	if (r->status == 404) {
		u->found = 0;
		return;
	}
	if (r->status != 200) {
		u->code = http_fail_code(r);
		describe(u->c, &u->err, r, "GET", r->url.s);
		return;
	}
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	const char *sku = json_string_value(json_object_get(j, "sku"));
	if (!json_is_object(j) || (sku && strcmp(sku, u->sku) != 0)) {
		u->code = EX_DATAERR;
		buf_addf(&u->err, "[%s]: GET %s%s: the answer is not the listing of SKU %s", u->c->name,
		    a->apipath, LISTINGS, u->sku);
	} else {
		const char *pt;
		u->found = 1;
		listing_parse(j, a->mkt, &u->has_qty, &u->qty, &pt);
		free(u->ptype);
		u->ptype = pt ? xstrdup(pt) : NULL;
	}
	json_decref(j);
}

/*
 * Is a 401/403 that arrived now a refusal, or the expiry of a token that the
 * limiter kept queued past its life?  Our own clock says which.
 */
static int
refused(struct chan *c)
{
	struct amz *a = c->priv;
	return mono_now() < a->expires;
}

/*
 * Read every SKU of v: one getListingsItem each, or with search set one
 * searchListingsItems by identifiers for up to 20 SKUs (a SKU with a comma
 * cannot be one of a list: it is read alone).  A 401/403 fetches a new token
 * and reads those SKUs again; a second refusal of a token that had not
 * expired is final (77).  0 or an exit code.
 */
static int
cur_read(struct chan *c, struct cur *v, size_t n, int search, struct buf *err)
{
	struct amz *a = c->priv;
	int rc = 0, strikes = 0;
	for (int attempt = 0; attempt < AUTH_ATTEMPTS && !rc; attempt++) {
		size_t todo = 0;
		if ((rc = token_ok(c, err)) != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			struct cur *u = &v[i];
			if (attempt && !u->auth)
				continue;
			/* search: up to PAGE_SIZE SKUs without a comma, next to each other */
			size_t k = 1, len = strlen(u->sku);
			while (search && !strchr(u->sku, ',') && i + k < n && k < PAGE_SIZE &&
			    (!attempt || v[i + k].auth) && !strchr(v[i + k].sku, ',') &&
			    (len += strlen(v[i + k].sku) + 1) < 1800)
				k++;
			for (size_t q = 0; q < k; q++) {
				u[q].c = c;
				u[q].auth = u[q].code = u[q].found = u[q].has_qty = 0;
				u[q].ngrp = 0;
				buf_reset(&u[q].err);
			}
			req_prepare(c, &u->r, "GET");
			if (search && !strchr(u->sku, ',')) {
				u->ngrp = k;
				buf_adds(&u->r.url, "?marketplaceIds=");
				buf_adds(&u->r.url, a->mkt_enc);
				buf_adds(&u->r.url, "&identifiersType=SKU&identifiers=");
				for (size_t q = 0; q < k; q++) {
					if (q)
						buf_addc(&u->r.url, ',');
					buf_add_pctenc(&u->r.url, u[q].sku);
				}
				buf_addf(&u->r.url, "&includedData=summaries,fulfillmentAvailability"
				    "&pageSize=%d", PAGE_SIZE);
				u->r.done = grp_done;
				i += k - 1;
			} else {
				buf_addc(&u->r.url, '/');
				buf_add_pctenc(&u->r.url, u->sku);
				buf_adds(&u->r.url, "?marketplaceIds=");
				buf_adds(&u->r.url, a->mkt_enc);
				buf_adds(&u->r.url, "&includedData=summaries,fulfillmentAvailability");
				u->r.done = cur_done;
			}
			u->r.arg = u;
			http_submit(c->http, &u->r);
			todo++;
		}
		if (!todo)
			break;
		http_run(c->http);
		int auth = 0;
		for (size_t i = 0; i < n; i++) {
			if (v[i].code && !rc) {
				rc = v[i].code;
				buf_reset(err);
				buf_add(err, v[i].err.s, v[i].err.len);
			}
			auth |= v[i].auth;
		}
		for (size_t i = 0; i < n; i++) {
			http_req_release(&v[i].r);
			http_req_init(&v[i].r);
		}
		if (!auth || rc)
			break;
		if ((refused(c) && ++strikes >= 2) || attempt + 1 == AUTH_ATTEMPTS) {
			for (size_t i = 0; i < n && !rc; i++)
				if (v[i].auth) {
					rc = EX_NOPERM;
					buf_reset(err);
					buf_add(err, v[i].err.s, v[i].err.len);
				}
			break;
		}
		free_secret(a->access);	/* refused or expired: fetch another */
		a->access = NULL;
	}
	return rc;
}

static void
cur_free(struct cur *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].ptype);
		buf_release(&v[i].err);
	}
	free(v);
}

/* ---- pull ---- */

struct row {
	char *sku;
	int64_t qty;
};

static int
row_cmp(const void *x, const void *y)
{
	return strcmp(((const struct row *)x)->sku, ((const struct row *)y)->sku);
}

static void
rows_free(struct row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].sku);
	free(r);
}

/* One full reading of searchListingsItems.  *changed: the count moved. */
static int
search_all(struct chan *c, struct row **out, size_t *nout, uint64_t *unmanaged, int *changed,
    struct buf *err)
{
	struct amz *a = c->priv;
	struct buf next = BUF_INIT;
	struct row *rows = NULL;
	size_t n = 0, cap = 0;
	int64_t total = -1, seen = 0;
	int rc = 0, strikes = 0, attempts = 0;

	*unmanaged = 0;
	*changed = 0;
	for (;;) {
		struct http_req r;
		if ((rc = token_ok(c, err)) != 0)
			break;
		req_prepare(c, &r, "GET");
		buf_adds(&r.url, "?marketplaceIds=");
		buf_adds(&r.url, a->mkt_enc);
		buf_addf(&r.url, "&includedData=summaries,fulfillmentAvailability&pageSize=%d", PAGE_SIZE);
		if (next.len) {
			buf_adds(&r.url, "&pageToken=");
			buf_add_pctenc(&r.url, next.s);
		}
		r.done = req_done_noop;
		http_submit(c->http, &r);
		http_run(c->http);
		rate_seen(c, &r);
		if ((r.status == 401 || r.status == 403) && ++attempts < AUTH_ATTEMPTS &&
		    !(refused(c) && ++strikes >= 2)) {
			free_secret(a->access);
			a->access = NULL;
			http_req_release(&r);
			continue;
		}
		if (r.status != 200) {
			rc = http_fail_code(&r);
			buf_reset(err);
			describe(c, err, &r, "GET", r.url.s);
			http_req_release(&r);
			break;
		}
		strikes = attempts = 0;
		c->pages++;
		json_t *j = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
		json_t *items = json_object_get(j, "items"), *nr = json_object_get(j, "numberOfResults");
		const char *nt = json_string_value(json_object_get(json_object_get(j, "pagination"), "nextToken"));
		if (!json_is_array(items) || !json_is_integer(nr)) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: GET %s%s%s: the answer is not a list of listings (no items and "
			    "numberOfResults)", c->name, a->apipath, LISTINGS, "{sellerId}");
		} else if (total < 0 && json_integer_value(nr) > SEARCH_MAX) {
			rc = EX_UNAVAILABLE;
			buf_reset(err);
			buf_addf(err, "[%s]: %lld listings: searchListingsItems pages through at most %d; "
			    "pull them by SKU (--sku or --item, read one by one)", c->name,
			    (long long)json_integer_value(nr), SEARCH_MAX);
		} else {
			if (total < 0)
				total = json_integer_value(nr);
			else if (total != json_integer_value(nr))
				*changed = 1;
			for (size_t i = 0; i < json_array_size(items); i++) {
				json_t *it = json_array_get(items, i);
				const char *sku = json_string_value(json_object_get(it, "sku"));
				int has;
				int64_t q;
				if (!sku || !*sku) {
					rc = EX_DATAERR;
					buf_reset(err);
					buf_addf(err, "[%s]: GET %s%s{sellerId}: a listing has no sku", c->name,
					    a->apipath, LISTINGS);
					break;
				}
				seen++;
				listing_parse(it, a->mkt, &has, &q, NULL);
				if (!has) {
					(*unmanaged)++;
					continue;
				}
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					rows = xrealloc(rows, cap * sizeof *rows);
				}
				rows[n].sku = xstrdup(sku);
				rows[n++].qty = q;
			}
		}
		buf_reset(&next);
		if (!rc && nt && *nt)
			buf_adds(&next, nt);
		json_decref(j);
		http_req_release(&r);
		if (rc || !next.len)
			break;
	}
	buf_release(&next);
	if (!rc && seen != total)
		*changed = 1;
	*out = rows;
	*nout = n;
	return rc;
}

/* ---- FBA inventory summaries (read-only) ---- */

struct frow {
	char *sku;
	int64_t q[NFBA];
};

static int
frow_cmp(const void *x, const void *y)
{
	return strcmp(((const struct frow *)x)->sku, ((const struct frow *)y)->sku);
}

static void
frows_free(struct frow *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].sku);
	free(r);
}

/*
 * One synchronous SP-API call (token, when tok is set, renewed on a
 * 401/403 as cur_read does).  r is the caller's to inspect and release.
 * No cost: these operations have buckets of their own, paced by the caller.
 * 0 or an exit code (the token could not be had).
 */
static int
call(struct chan *c, struct http_req *r, const char *method, const char *url, const char *body,
    const char *ctype, int tok, int idem, struct buf *err)
{
	struct amz *a = c->priv;
	int rc, strikes = 0;
	for (int attempt = 0;; attempt++) {
		if (tok && (rc = token_ok(c, err)) != 0) {
			http_req_init(r);
			return rc;
		}
		http_req_init(r);
		r->method = method;
		buf_adds(&r->url, url);
		if (tok)
			r->hdrs = curl_slist_append(r->hdrs, a->access);
		if (tok)
			r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
		if (body) {
			struct buf h = BUF_INIT;
			buf_addf(&h, "Content-Type: %s", ctype);
			r->hdrs = curl_slist_append(r->hdrs, h.s);
			r->hdrs = curl_slist_append(r->hdrs, "Expect:");
			buf_release(&h);
			buf_adds(&r->body, body);
		}
		r->idempotent = idem;
		r->no_retry = !idem;
		r->cost = 0;
		r->done = req_done_noop;
		http_submit(c->http, r);
		http_run(c->http);
		if (tok && (r->status == 401 || r->status == 403) && attempt + 1 < AUTH_ATTEMPTS &&
		    !(refused(c) && ++strikes >= 2)) {
			free_secret(a->access);
			a->access = NULL;
			http_req_release(r);
			continue;
		}
		return 0;
	}
}

/* A whole number >= 0 at o.k (k1.k2 when k2), or -1. */
static int64_t
fba_num(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);
	if (k2)
		v = json_object_get(v, k2);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

/*
 * Every page of getInventorySummaries (all SKUs, or those of skus[0..n) in
 * lists of 50), paced at the operation's rate (2/s until an answer says).
 */
static int
fba_read(struct chan *c, const char **skus, size_t nskus, struct frow **out, size_t *nout,
    struct buf *err)
{
	static const char *const f1[NFBA] = { "fulfillableQuantity", "inboundWorkingQuantity",
		"inboundShippedQuantity", "inboundReceivingQuantity", "reservedQuantity",
		"researchingQuantity", "unfulfillableQuantity" };
	static const char *const f2[NFBA] = { NULL, NULL, NULL, NULL, "totalReservedQuantity",
		"totalResearchingQuantity", "totalUnfulfillableQuantity" };
	struct amz *a = c->priv;
	struct frow *rows = NULL;
	struct buf next = BUF_INIT, url = BUF_INIT;
	size_t n = 0, cap = 0, from = 0;
	int rc = 0;

	for (;;) {
		struct http_req r;
		size_t upto = nskus ? (from + FBA_SKUS < nskus ? from + FBA_SKUS : nskus) : 0;
		buf_reset(&url);
		buf_addf(&url, "%s%s?details=true&granularityType=Marketplace&granularityId=%s"
		    "&marketplaceIds=%s", a->api, FBA_PATH, a->mkt_enc, a->mkt_enc);
		for (size_t i = from; i < upto; i++) {
			buf_adds(&url, i == from ? "&sellerSkus=" : ",");
			buf_add_pctenc(&url, skus[i]);
		}
		if (next.len) {
			buf_adds(&url, "&nextToken=");
			buf_add_pctenc(&url, next.s);
		}
		sleep_s(a->fba_next - mono_now());
		if ((rc = call(c, &r, "GET", url.s, NULL, NULL, 1, 1, err)) != 0)
			break;
		a->fba_next = mono_now() + 1 / a->fba_rate;
		struct buf v = BUF_INIT;
		if (http_header(&r, "x-amzn-RateLimit-Limit", &v)) {
			double rate = strtod(v.s, NULL);
			if (rate > 0.01 && rate < 1e4)
				a->fba_rate = rate;
		}
		buf_release(&v);
		if (r.status != 200) {
			rc = r.status == 401 || r.status == 403 ? EX_NOPERM : http_fail_code(&r);
			buf_reset(err);
			describe(c, err, &r, "GET", r.url.s);
			http_req_release(&r);
			break;
		}
		c->pages++;
		json_t *j = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
		json_t *sums = json_object_get(json_object_get(j, "payload"), "inventorySummaries");
		const char *nt = json_string_value(json_object_get(json_object_get(j, "pagination"),
		    "nextToken"));
		http_req_release(&r);
		if (!json_is_array(sums)) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: GET %s%s: the answer is not a list of inventory summaries (no "
			    "payload.inventorySummaries)", c->name, a->apipath, FBA_PATH);
		}
		for (size_t i = 0; !rc && i < json_array_size(sums); i++) {
			json_t *s = json_array_get(sums, i), *d = json_object_get(s, "inventoryDetails");
			const char *sku = json_string_value(json_object_get(s, "sellerSku"));
			if (!sku || !*sku) {
				rc = EX_DATAERR;
				buf_reset(err);
				buf_addf(err, "[%s]: GET %s%s: an inventory summary has no sellerSku", c->name,
				    a->apipath, FBA_PATH);
				break;
			}
			size_t w = from;
			while (w < upto && strcmp(skus[w], sku) != 0)
				w++;
			if (nskus && w == upto) {
				rc = EX_DATAERR;
				buf_reset(err);
				buf_addf(err, "[%s]: GET %s%s: the answer has SKU '%.60s', which was not asked "
				    "for (sellerSkus)", c->name, a->apipath, FBA_PATH, sku);
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				rows = xrealloc(rows, cap * sizeof *rows);
			}
			rows[n].sku = xstrdup(sku);
			for (int k = 0; k < NFBA; k++) {
				rows[n].q[k] = fba_num(d, f1[k], f2[k]);
				if (rows[n].q[k] < 0 && a->fba_want[k] && !rc) {
					rc = EX_DATAERR;
					buf_reset(err);
					buf_addf(err, "[%s]: GET %s%s: SKU '%.60s': inventoryDetails has no %s%s%s "
					    "(a whole number)", c->name, a->apipath, FBA_PATH, sku, f1[k],
					    f2[k] ? "." : "", f2[k] ? f2[k] : "");
				}
			}
			n++;
		}
		buf_reset(&next);
		if (!rc && nt && *nt)
			buf_adds(&next, nt);
		json_decref(j);
		if (rc)
			break;
		if (!next.len) {
			from = upto;
			if (from >= nskus)
				break;
		}
	}
	buf_release(&next);
	buf_release(&url);
	*out = rows;
	*nout = n;
	return rc;
}

static int
amz_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct amz *a = c->priv;
	struct row *rows = NULL;
	struct frow *frows = NULL;
	size_t n = 0, nf = 0;
	int rc = 0;

	if (a->fba == FBA_ONLY) {
		/* no merchant quantities */
	} else if (o && (o->skus || o->items)) {
		size_t ns = (o->skus ? o->nskus : 0) + (o->items ? o->nitems : 0), m = 0;
		struct cur *v = xcalloc(ns ? ns : 1, sizeof *v);
		for (size_t i = 0; o->skus && i < o->nskus; i++)
			v[m++].sku = o->skus[i];
		for (size_t i = 0; o->items && i < o->nitems; i++)
			v[m++].sku = o->items[i];
		rc = cur_read(c, v, m, 0, err);
		rows = xcalloc(m ? m : 1, sizeof *rows);
		for (size_t i = 0; i < m && !rc; i++) {
			if (v[i].found && !v[i].has_qty)
				c->unmanaged++;
			if (!v[i].found || !v[i].has_qty)
				continue;
			rows[n].sku = xstrdup(v[i].sku);
			rows[n++].qty = v[i].qty;
		}
		cur_free(v, m);
	} else {
		for (int pass = 0; pass < MAX_PASSES; pass++) {
			int changed;
			uint64_t unm;
			rows_free(rows, n);
			rc = search_all(c, &rows, &n, &unm, &changed, err);
			if (rc || !changed) {
				c->unmanaged += unm;
				break;
			}
			if (pass + 1 == MAX_PASSES) {
				rc = EX_TEMPFAIL;
				buf_reset(err);
				buf_addf(err, "[%s]: the listings kept changing while they were read (%d "
				    "readings); try again", c->name, MAX_PASSES);
			}
		}
	}
	if (!rc && a->fba) {
		size_t ns = o ? (o->skus ? o->nskus : 0) + (o->items ? o->nitems : 0) : 0, m = 0;
		const char **skus = xcalloc(ns ? ns : 1, sizeof *skus);
		for (size_t i = 0; o && o->skus && i < o->nskus; i++)
			skus[m++] = o->skus[i];
		for (size_t i = 0; o && o->items && i < o->nitems; i++)
			skus[m++] = o->items[i];
		if (!o || (!o->skus && !o->items) || m)
			rc = fba_read(c, skus, m, &frows, &nf, err);
		free(skus);
	}
	if (!rc) {
		/* one record per SKU: a list that shifted between pages may repeat one */
		if (n > 1)
			qsort(rows, n, sizeof *rows, row_cmp);
		for (size_t i = 0; i < n; i++) {
			if (i + 1 < n && !strcmp(rows[i].sku, rows[i + 1].sku))
				continue;
			struct pulled p = { rows[i].sku, rows[i].sku, "", "available", rows[i].qty };
			emit(&p, arg);
		}
		if (nf > 1)
			qsort(frows, nf, sizeof *frows, frow_cmp);
		for (size_t i = 0; i < nf; i++) {
			if (i + 1 < nf && !strcmp(frows[i].sku, frows[i + 1].sku))
				continue;
			for (int k = 0; k < NFBA; k++) {
				if (!a->fba_want[k])
					continue;
				struct pulled p = { frows[i].sku, frows[i].sku, FBA_LOCATION, fba_names[k],
					frows[i].q[k] };
				emit(&p, arg);
			}
		}
	}
	rows_free(rows, n);
	frows_free(frows, nf);
	return rc;
}

/* ---- read ---- */

static int
amz_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct cur *u = xcalloc(n ? n : 1, sizeof *u);
	size_t m = 0;
	size_t *idx = xcalloc(n ? n : 1, sizeof *idx);
	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (corr_sku(v[i])) {
			idx[m] = i;
			u[m++].sku = corr_sku(v[i]);
		}
	}
	int rc = cur_read(c, u, m, 0, err);
	for (size_t i = 0; i < m && !rc; i++)
		if (u[i].found && u[i].has_qty) {
			v[idx[i]]->has_current = 1;
			v[idx[i]]->current = u[i].qty;
		}
	cur_free(u, m);
	free(idx);
	return rc;
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_DONE };

struct wr {
	struct http_req r;
	struct chan *c;
	struct corr *k;
	int state, auth;
	double wait;
};

static void
patch_done(struct http_req *r, void *arg)
{
	struct wr *w = arg;
	struct corr *k = w->k;
	struct buf m = BUF_INIT;

	rate_seen(w->c, r);
	w->wait = -1;
	describe(w->c, &m, r, "PATCH", r->url.s);
	if (r->ambiguous || (r->status >= 500 && r->status != 503)) {
		w->state = W_UNKNOWN;
		snprintf(k->error, sizeof k->error, "%s", m.s);
		buf_release(&m);
		return;
	}
	if (r->status == 0 || r->status == 429 || r->status == 503 || r->status == 401 ||
	    r->status == 403) {
		/* not processed: again after a re-read (and a new token after 401/403) */
		w->state = W_RETRY;
		w->auth = (r->status == 401 || r->status == 403) && refused(w->c);
		w->wait = wait_of(r);
		snprintf(k->error, sizeof k->error, "%s", m.s);
		buf_release(&m);
		return;
	}
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	const char *st = json_string_value(json_object_get(j, "status"));
	json_t *iss = json_object_get(j, "issues");
	w->state = W_DONE;
	if (r->status == 200 && st && !strcmp(st, "ACCEPTED")) {
		k->status = CS_APPLIED;
		k->error[0] = '\0';
	} else if (st && !strcmp(st, "INVALID")) {
		struct buf e = BUF_INIT;
		buf_adds(&e, "not written: INVALID");
		for (size_t i = 0; i < json_array_size(iss) && i < 3; i++) {
			json_t *x = json_array_get(iss, i);
			const char *code = json_string_value(json_object_get(x, "code"));
			const char *msg = json_string_value(json_object_get(x, "message"));
			buf_addf(&e, "%s %s: ", i ? ";" : ":", code ? code : "?");
			for (int q = 0; msg && msg[q] && q < 160; q++)
				buf_addc(&e, (unsigned char)msg[q] < 0x20 ? ' ' : msg[q]);
		}
		scrub(w->c->priv, &e);
		corr_fail(k, CS_FAILED, "%.250s", e.s);
		buf_release(&e);
	} else {
		corr_fail(k, CS_FAILED, "not written: %.230s", m.s);
	}
	json_decref(j);
	buf_release(&m);
}

static void
patch_submit(struct chan *c, struct wr *w, const char *ptype)
{
	struct amz *a = c->priv;
	const char *sku = corr_sku(w->k);
	req_prepare(c, &w->r, "PATCH");
	buf_addc(&w->r.url, '/');
	buf_add_pctenc(&w->r.url, sku);
	buf_adds(&w->r.url, "?marketplaceIds=");
	buf_adds(&w->r.url, a->mkt_enc);
	json_t *body = json_pack("{s:s, s:[{s:s, s:s, s:[{s:s, s:I}]}]}", "productType", ptype,
	    "patches", "op", "replace", "path", "/attributes/fulfillment_availability", "value",
	    "fulfillment_channel_code", "DEFAULT", "quantity", (json_int_t)w->k->to);
	char *s = json_dumps(body, JSON_COMPACT);
	buf_adds(&w->r.body, s);
	free(s);
	json_decref(body);
	w->c = c;
	w->state = W_SENT;
	w->r.done = patch_done;
	w->r.arg = w;
	http_submit(c->http, &w->r);
}

/*
 * What the decision after a re-read says of one correction: 1 when it is
 * still to be written (the listing shows `from` and names its productType),
 * else 0 with its status set (unchanged, conflict, failed).
 */
static int
decide(struct chan *c, struct corr *k, const struct cur *u)
{
	struct amz *a = c->priv;
	if (!u->found) {
		corr_fail(k, CS_FAILED, "not written: no listing for SKU '%.60s' in marketplace %.20s",
		    u->sku, a->mkt);
	} else if (!u->has_qty) {
		corr_fail(k, CS_FAILED, "not written: SKU '%.60s' has no merchant-fulfilled (DEFAULT) "
		    "quantity; is it fulfilled by Amazon?", u->sku);
	} else if (u->qty == k->to) {
		k->status = CS_UNCHANGED;
		k->error[0] = '\0';
	} else if (!k->has_from) {
		corr_fail(k, CS_CONFLICT, "a quantity appeared since it was read: %lld now (not "
		    "written)", (long long)u->qty);
	} else if (u->qty != k->from) {
		corr_fail(k, CS_CONFLICT, "quantity is %lld now, %lld when read: changed since (not "
		    "written)", (long long)u->qty, (long long)k->from);
	} else if (!u->ptype) {
		corr_fail(k, CS_FAILED, "not written: the listing of SKU '%.60s' names no productType "
		    "for marketplace %.20s", u->sku, a->mkt);
	} else {
		return 1;
	}
	return 0;
}

/*
 * One round: re-read the pending SKUs, decide, PATCH those still at `from`,
 * resolve lost answers by reading again.  What goes again stays in pend.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, int *auth,
    struct buf *err)
{
	size_t n = *npend, nret = 0;
	struct cur *u = xcalloc(n ? n : 1, sizeof *u);
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc;

	*wait = -1;
	*auth = 0;
	for (size_t i = 0; i < n; i++)
		u[i].sku = corr_sku(pend[i]);
	rc = cur_read(c, u, n, 0, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: %.200s",
			    err->s);
		*npend = 0;
		goto out;
	}
	if ((rc = token_ok(c, err)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		ws[i].state = W_DONE;
		ws[i].k = k;
		if (decide(c, k, &u[i]))
			patch_submit(c, &ws[i], u[i].ptype);
	}
	http_run(c->http);
	/* answers lost: read again, never send again */
	size_t nunk = 0;
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_UNKNOWN)
			u[nunk++].sku = corr_sku(ws[i].k);
	if (nunk) {
		struct buf e = BUF_INIT;
		int rrc = cur_read(c, u, nunk, 0, &e);
		for (size_t i = 0, q = 0; i < n; i++) {
			if (ws[i].state != W_UNKNOWN)
				continue;
			struct corr *k = ws[i].k;
			struct cur *x = &u[q++];
			ws[i].state = W_DONE;
			if (rrc)
				corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost and the re-read "
				    "failed: %.150s", e.s);
			else if (x->found && x->has_qty && x->qty == k->to) {
				k->status = CS_APPLIED;
				k->error[0] = '\0';
			} else if (x->found && x->has_qty)
				corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost, re-read shows %lld "
				    "(%lld if applied; an accepted patch may still apply): not sent again",
				    (long long)x->qty, (long long)k->to);
			else
				corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost, re-read shows no "
				    "merchant quantity: not sent again");
		}
		buf_release(&e);
	}
	for (size_t i = 0; i < n; i++) {
		if (ws[i].state == W_RETRY) {
			pend[nret++] = ws[i].k;
			*auth |= ws[i].auth;
			if (ws[i].wait > *wait)
				*wait = ws[i].wait;
		}
		http_req_release(&ws[i].r);
	}
	*npend = nret;
out:
	cur_free(u, n);
	free(ws);
	return rc;
}

/* ---- push by JSON_LISTINGS_FEED ---- */

/*
 * A feed whose outcome we cannot know (its createFeed answer lost, FATAL,
 * still processing at our deadline, its report unreadable): read the SKUs
 * of v[i] with unk[i] set; one showing `to` is applied, any other failed
 * "unknown outcome" and never sent again.
 */
static void
feed_unknown(struct chan *c, struct corr **v, const char *unk, size_t n, const char *why)
{
	struct cur *u = xcalloc(n ? n : 1, sizeof *u);
	struct corr **k = xcalloc(n ? n : 1, sizeof *k);
	struct buf e = BUF_INIT;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (unk[i]) {
			k[m] = v[i];
			u[m++].sku = corr_sku(v[i]);
		}
	int rc = cur_read(c, u, m, 1, &e);
	for (size_t i = 0; i < m; i++) {
		if (rc)
			corr_fail(k[i], CS_FAILED, "unknown outcome: %.120s; the re-read failed: %.100s", why,
			    e.s);
		else if (u[i].found && u[i].has_qty && u[i].qty == k[i]->to) {
			k[i]->status = CS_APPLIED;
			k[i]->error[0] = '\0';
		} else if (u[i].found && u[i].has_qty)
			corr_fail(k[i], CS_FAILED, "unknown outcome: %.120s; re-read shows %lld (%lld if "
			    "applied): not sent again", why, (long long)u[i].qty, (long long)k[i]->to);
		else
			corr_fail(k[i], CS_FAILED, "unknown outcome: %.120s; re-read shows no merchant "
			    "quantity: not sent again", why);
	}
	buf_release(&e);
	cur_free(u, m);
	free(k);
}

/* Parse a JSON answer of a feed call; NULL (and err set) when it is not an object. */
static json_t *
feed_json(struct chan *c, const struct http_req *r, const char *what, struct buf *err)
{
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		buf_reset(err);
		buf_addf(err, "[%s]: %s: the answer is not a JSON object", c->name, what);
		return NULL;
	}
	return j;
}

enum { FS_DONE, FS_RETRY, FS_UNKNOWN };

/*
 * Map the processing report of a DONE feed back to its messages:
 * messageId i + 1 is v[i].  A message with an ERROR issue failed with
 * Amazon's words; any other was accepted (applied).  When the summary says
 * fewer messages were processed than sent, those without an issue are
 * unknown (unk[i] = 1).  0, or -1 when the report is not one.
 */
static int
feed_report(struct chan *c, const char *feed, json_t *rep, struct corr **v, char *unk, size_t n)
{
	json_t *iss = json_object_get(rep, "issues"), *sum = json_object_get(rep, "summary");
	json_t *proc = json_object_get(sum, "messagesProcessed");
	struct buf *e = xcalloc(n ? n : 1, sizeof *e);
	int *nerr = xcalloc(n ? n : 1, sizeof *nerr);
	if (!json_is_array(iss) || !json_is_object(sum)) {
		free(e);
		free(nerr);
		return -1;
	}
	for (size_t i = 0; i < json_array_size(iss); i++) {
		json_t *x = json_array_get(iss, i), *id = json_object_get(x, "messageId");
		const char *sev = json_string_value(json_object_get(x, "severity"));
		const char *code = json_string_value(json_object_get(x, "code"));
		const char *msg = json_string_value(json_object_get(x, "message"));
		if (!json_is_integer(id) || json_integer_value(id) < 1 ||
		    (uint64_t)json_integer_value(id) > n || !sev || strcmp(sev, "ERROR") != 0)
			continue;
		size_t m = (size_t)json_integer_value(id) - 1;
		if (nerr[m]++ >= 3)
			continue;
		buf_addf(&e[m], "%s %s: ", nerr[m] > 1 ? ";" : ":", code ? code : "?");
		for (int q = 0; msg && msg[q] && q < 160; q++)
			buf_addc(&e[m], (unsigned char)msg[q] < 0x20 ? ' ' : msg[q]);
	}
	int partial = json_is_integer(proc) && json_integer_value(proc) < (json_int_t)n;
	for (size_t i = 0; i < n; i++) {
		unk[i] = 0;
		if (nerr[i]) {
			scrub(c->priv, &e[i]);
			corr_fail(v[i], CS_FAILED, "not written: feed %.20s: ERROR%.200s", feed, e[i].s);
		} else if (partial) {
			unk[i] = 1;
		} else {
			v[i]->status = CS_APPLIED;
			v[i]->error[0] = '\0';
		}
		buf_release(&e[i]);
	}
	free(e);
	free(nerr);
	return 0;
}

/*
 * Send v[0..n) (each re-read just now, at `from`; ptype[i] its productType)
 * as one JSON_LISTINGS_FEED and wait for its report.  FS_DONE: every
 * status set; FS_RETRY: nothing was created (429/503), send again after
 * *wait seconds and a new re-read; FS_UNKNOWN: a feed may exist, its
 * outcome unknown (why says so).  0 or an exit code with err set (then
 * the statuses stay pending: nothing was sent).
 */
static int
feed_send(struct chan *c, struct corr **v, char **ptype, size_t n, int *fs, double *wait,
    struct buf *why, struct buf *err)
{
	struct amz *a = c->priv;
	struct http_req r;
	struct buf url = BUF_INIT, feed = BUF_INIT;
	char *s;
	json_t *j = NULL, *msgs = json_array();
	int rc = 0;
	char *unk = xcalloc(n ? n : 1, 1);

	*fs = FS_DONE;
	*wait = -1;
	buf_reset(why);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(msgs, json_pack("{s:I, s:s, s:s, s:s, s:[{s:s, s:s, s:[{s:s, s:I}]}]}",
		    "messageId", (json_int_t)(i + 1), "sku", corr_sku(v[i]), "operationType", "PATCH",
		    "productType", ptype[i], "patches", "op", "replace", "path",
		    "/attributes/fulfillment_availability", "value", "fulfillment_channel_code", "DEFAULT",
		    "quantity", (json_int_t)v[i]->to));
	json_t *doc = json_pack("{s:{s:s, s:s, s:s}, s:o}", "header", "sellerId", a->seller, "version",
	    "2.0", "issueLocale", "en_US", "messages", msgs);
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);

	/* 1. createFeedDocument: a second document is harmless, so it may go twice */
	buf_addf(&url, "%s%s/documents", a->api, FEEDS);
	json_t *cd = json_pack("{s:s}", "contentType", FEED_CTYPE);
	s = json_dumps(cd, JSON_COMPACT);
	json_decref(cd);
	rc = call(c, &r, "POST", url.s, s, "application/json", 1, 1, err);
	free(s);
	if (rc)
		goto out;
	const char *docid = NULL, *put = NULL;
	if (r.status == 200 || r.status == 201) {
		if ((j = feed_json(c, &r, "createFeedDocument", err)) != NULL) {
			docid = json_string_value(json_object_get(j, "feedDocumentId"));
			put = json_string_value(json_object_get(j, "url"));
		}
		int leak = put && url_holds_secret(a, put);
		if (!docid || !put || http_url_ok(put, &url) < 0 || leak) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: POST %s%s/documents: the answer has no feedDocumentId and "
			    "https url%s", c->name, a->apipath, FEEDS,
			    leak ? " (its url holds a credential of ours: not followed)" : "");
			http_req_release(&r);
			goto out;
		}
	} else {
		if (r.status == 429 || r.status == 503 || !r.status)
			*fs = FS_RETRY, *wait = wait_of(&r);
		else
			rc = r.status == 401 || r.status == 403 ? EX_NOPERM : http_fail_code(&r);
		buf_reset(err);
		describe(c, err, &r, "POST", r.url.s);
		http_req_release(&r);
		goto out;
	}
	http_req_release(&r);

	/* 2. upload to the pre-signed url: no access token goes there */
	rc = call(c, &r, "PUT", put, body, FEED_CTYPE, 0, 1, err);
	if (!rc && r.status != 200) {
		if (r.status == 429 || r.status == 503 || !r.status)
			*fs = FS_RETRY, *wait = wait_of(&r);
		else
			rc = http_fail_code(&r);
		buf_reset(err);
		buf_addf(err, "[%s]: PUT feed document %.60s: ", c->name, docid);
		buf_adds(err, r.error[0] ? r.error : "");
		if (!r.error[0])
			buf_addf(err, "HTTP %ld", r.status);
	}
	http_req_release(&r);
	if (rc || *fs != FS_DONE)
		goto out;

	/* 3. createFeed: never sent twice; an answer lost is an unknown outcome */
	buf_reset(&url);
	buf_addf(&url, "%s%s/feeds", a->api, FEEDS);
	json_t *cf = json_pack("{s:s, s:[s], s:s}", "feedType", "JSON_LISTINGS_FEED", "marketplaceIds",
	    a->mkt, "inputFeedDocumentId", docid);
	s = json_dumps(cf, JSON_COMPACT);
	json_decref(cf);
	rc = call(c, &r, "POST", url.s, s, "application/json", 1, 0, err);
	free(s);
	if (rc)
		goto out;
	json_decref(j);
	j = NULL;
	const char *fid = NULL;
	if (r.ambiguous || (r.status >= 500 && r.status != 503)) {
		*fs = FS_UNKNOWN;
		buf_addf(why, "the createFeed answer was lost (");
		describe(c, why, &r, "POST", r.url.s);
		buf_adds(why, ")");
		http_req_release(&r);
		goto out;
	}
	if (r.status == 429 || r.status == 503 || !r.status) {
		*fs = FS_RETRY;
		*wait = wait_of(&r);
		buf_reset(err);
		describe(c, err, &r, "POST", r.url.s);
		http_req_release(&r);
		goto out;
	}
	if (r.status >= 200 && r.status < 300 && (j = feed_json(c, &r, "createFeed", err)) != NULL)
		fid = json_string_value(json_object_get(j, "feedId"));
	if (!fid || !*fid || strlen(fid) > 64) {
		struct buf m = BUF_INIT;
		describe(c, &m, &r, "POST", r.url.s);
		for (size_t i = 0; i < n; i++)
			corr_fail(v[i], CS_FAILED, "not written: %.200s%s", m.s, r.status >= 200 &&
			    r.status < 300 ? ": the answer has no feedId" : "");
		buf_release(&m);
		if (r.status == 401 || r.status == 403) {
			rc = EX_NOPERM;
			buf_reset(err);
			describe(c, err, &r, "POST", r.url.s);
		}
		http_req_release(&r);
		goto out;
	}
	http_req_release(&r);
	buf_adds(&feed, fid);

	/* 4. getFeed until it is done, backing off from half a second to 30 s */
	double t0 = mono_now(), delay = 0.5;
	const char *ps = NULL, *resdoc = NULL;
	for (;;) {
		sleep_s(delay);
		json_decref(j);
		j = NULL;
		buf_reset(&url);
		buf_addf(&url, "%s%s/feeds/", a->api, FEEDS);
		buf_add_pctenc(&url, feed.s);
		if ((rc = call(c, &r, "GET", url.s, NULL, NULL, 1, 1, err)) != 0 || r.status != 200 ||
		    !(j = feed_json(c, &r, "getFeed", err)) ||
		    !(ps = json_string_value(json_object_get(j, "processingStatus")))) {
			*fs = FS_UNKNOWN;
			buf_addf(why, "feed %s: cannot read its status (", feed.s);
			if (rc || r.status != 200)
				describe(c, why, &r, "GET", url.s);
			else
				buf_adds(why, "no processingStatus");
			buf_adds(why, ")");
			http_req_release(&r);
			rc = 0;
			goto out;
		}
		http_req_release(&r);
		double t = mono_now() - t0;
		if (c->verbose)
			warnx_("[%s]: feed %s: %s after %.1f s", c->name, feed.s, ps, t);
		if (strcmp(ps, "IN_QUEUE") != 0 && strcmp(ps, "IN_PROGRESS") != 0)
			break;
		delay = delay * 2 < 30 ? delay * 2 : 30;
		if (t + delay > (double)a->feed_wait) {
			*fs = FS_UNKNOWN;
			buf_addf(why, "feed %s still %s after %.0f s (feed_wait); Amazon may apply it later",
			    feed.s, ps, t);
			goto out;
		}
	}
	if (!strcmp(ps, "CANCELLED")) {
		for (size_t i = 0; i < n; i++)
			corr_fail(v[i], CS_FAILED, "not written: feed %s was CANCELLED", feed.s);
		goto out;
	}
	if (strcmp(ps, "DONE") != 0) {
		*fs = FS_UNKNOWN;
		buf_addf(why, "feed %s ended %.20s", feed.s, ps);
		goto out;
	}
	resdoc = json_string_value(json_object_get(j, "resultFeedDocumentId"));

	/* 5. getFeedDocument of the report, then the report itself */
	json_t *dj = NULL, *rep = NULL;
	const char *get = NULL, *comp = NULL;
	buf_reset(&url);
	if (resdoc) {
		buf_addf(&url, "%s%s/documents/", a->api, FEEDS);
		buf_add_pctenc(&url, resdoc);
		if ((rc = call(c, &r, "GET", url.s, NULL, NULL, 1, 1, err)) == 0 && r.status == 200 &&
		    (dj = feed_json(c, &r, "getFeedDocument", err)) != NULL) {
			get = json_string_value(json_object_get(dj, "url"));
			comp = json_string_value(json_object_get(dj, "compressionAlgorithm"));
		}
		if (!rc)
			http_req_release(&r);
		rc = 0;
	}
	/* (the check's message quotes the url, which is the server's: not kept) */
	struct buf bad = BUF_INIT;
	int url_bad = get && (http_url_ok(get, &bad) < 0 || url_holds_secret(a, get));
	buf_release(&bad);
	if (!get || url_bad) {
		*fs = FS_UNKNOWN;
		buf_addf(why, "feed %s is DONE but its processing report cannot be had%s", feed.s,
		    url_bad ? " (its url is not https, or holds a credential of ours)" : "");
	} else if (comp && *comp) {
		*fs = FS_UNKNOWN;
		buf_addf(why, "feed %s is DONE but its processing report is %.20s-compressed (not read "
		    "here)", feed.s, comp);
	} else {
		if (call(c, &r, "GET", get, NULL, NULL, 0, 1, err) == 0 && r.status == 200)
			rep = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
		http_req_release(&r);
		if (!json_is_object(rep) || feed_report(c, feed.s, rep, v, unk, n) < 0) {
			*fs = FS_UNKNOWN;
			buf_addf(why, "feed %s is DONE but its processing report is not readable", feed.s);
		} else {
			int any = 0;
			for (size_t i = 0; i < n; i++)
				any |= unk[i];
			if (any) {
				buf_addf(why, "feed %s: the processing report does not cover this message",
				    feed.s);
				feed_unknown(c, v, unk, n, why->s);
			}
		}
	}
	json_decref(rep);
	json_decref(dj);
out:
	if (*fs == FS_UNKNOWN) {
		memset(unk, 1, n);
		feed_unknown(c, v, unk, n, why->s);
	}
	json_decref(j);
	free(body);
	free(unk);
	buf_release(&url);
	buf_release(&feed);
	return rc;
}

/*
 * Push by feed: re-read every SKU (searchListingsItems by identifiers, 20
 * a request), decide as push_round does, send those still at `from` in one
 * feed.  A feed refused before it was created (429/503) is tried again
 * after a new re-read, at most MAX_ROUNDS times.
 */
static int
feed_push(struct chan *c, struct corr **pend, size_t np, struct buf *err)
{
	struct buf why = BUF_INIT;
	int rc = 0;

	for (int round = 0; np && !rc; round++) {
		size_t nu = np;
		struct cur *u = xcalloc(np, sizeof *u);
		struct corr **send = xcalloc(np, sizeof *send);
		char **pt = xcalloc(np, sizeof *pt);
		size_t ns = 0;
		int fs = FS_DONE;
		double wait = -1;
		for (size_t i = 0; i < np; i++)
			u[i].sku = corr_sku(pend[i]);
		rc = cur_read(c, u, np, 1, err);
		for (size_t i = 0; i < np; i++) {
			if (rc)
				corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: "
				    "%.200s", err->s);
			else if (decide(c, pend[i], &u[i])) {
				pt[ns] = u[i].ptype;
				send[ns++] = pend[i];
			}
		}
		if (ns && !rc)
			rc = feed_send(c, send, pt, ns, &fs, &wait, &why, err);
		np = 0;
		if (fs == FS_RETRY) {
			if (round + 1 >= MAX_ROUNDS) {
				for (size_t i = 0; i < ns; i++)
					corr_fail(send[i], CS_FAILED, "not written: gave up after %d attempts: "
					    "%.200s", MAX_ROUNDS, err->s);
			} else {
				memcpy(pend, send, ns * sizeof *send);
				np = ns;
				sleep_s(wait >= 0 ? wait : 2.0 * (1 << round));
			}
		}
		cur_free(u, nu);
		free(send);
		free(pt);
	}
	buf_release(&why);
	return rc;
}

/* What is refused whatever Amazon shows (also invpush --dry-run's rule). */
static int
amz_refuse(struct chan *c, struct corr *k)
{
	(void)c;
	if (!corr_sku(k))
		corr_fail(k, CS_FAILED, "not written: no SKU (item or sku) to write");
	else if (k->location && !strcmp(k->location, FBA_LOCATION))
		corr_fail(k, CS_FAILED, "not written: location 'fba': FBA quantities are Amazon's "
		    "(read-only); only merchant-fulfilled quantities (location \"\") are written");
	else if (k->location && *k->location)
		corr_fail(k, CS_FAILED, "not written: location '%.40s': Amazon merchant quantities "
		    "have one pool (location \"\")", k->location);
	else if (k->to < 0)
		corr_fail(k, CS_FAILED, "not written: Amazon quantities cannot be negative (%lld)",
		    (long long)k->to);
	else
		return 0;
	return 1;
}

static int
amz_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct amz *a = c->priv;
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	size_t np = 0;
	int rc = 0, auths = 0;

	(void)run;	/* Amazon keeps no reason or reference for a quantity */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (!amz_refuse(c, k))
			pend[np++] = k;
	}
	if (a->feed_min && np >= (size_t)a->feed_min) {
		rc = feed_push(c, pend, np, err);
		np = 0;
	}
	for (int round = 0; np && !rc; round++) {
		double wait;
		int auth;
		rc = push_round(c, pend, &np, &wait, &auth, err);
		if (!np || rc)
			break;
		if (auth) {
			if (++auths >= 2) {
				rc = EX_NOPERM;
				buf_reset(err);
				buf_addf(err, "%s", pend[0]->error);
				break;
			}
			free_secret(a->access);
			a->access = NULL;
		}
		if (round + 1 >= MAX_ROUNDS) {
			for (size_t i = 0; i < np; i++) {
				char e[sizeof pend[i]->error];
				snprintf(e, sizeof e, "%s", pend[i]->error);
				corr_fail(pend[i], CS_FAILED, "not written: gave up after %d attempts: %.200s",
				    MAX_ROUNDS, e);
			}
			break;
		}
		sleep_s(wait >= 0 ? wait : 0.5 * (1 << (round < 6 ? round : 6)));
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static const char *const amz_keys[] = {
	"type", "base_url", "lwa_url", "seller_id", "marketplace_id", "token_file", "concurrency",
	"timeout", "ca_file", "master", "rules", "map", "location_map", "bundles", "fba", "fba_states",
	"feed_min", "feed_wait", NULL
};

static char *
pctenc(const char *s)
{
	struct buf b = BUF_INIT;
	buf_add_pctenc(&b, s);
	if (!b.s)
		buf_adds(&b, "");
	return b.s;
}

/* fba =, fba_states =, feed_min =, feed_wait =.  -1 with err set. */
static void amz_close(struct chan *c);

static int
amz_options(struct chan *c, struct amz *a, const char *path, struct buf *err)
{
	const char *fba = chan_get(c->cc, "fba"), *st = chan_get(c->cc, "fba_states");
	if (!fba || !strcmp(fba, "no"))
		a->fba = FBA_NO;
	else if (!strcmp(fba, "yes"))
		a->fba = FBA_YES;
	else if (!strcmp(fba, "only"))
		a->fba = FBA_ONLY;
	else {
		buf_addf(err, "%s:%d: [%s]: fba: '%.40s' is not yes, no or only", path, c->cc->line,
		    c->name, fba);
		return -1;
	}
	if (st && !a->fba) {
		buf_addf(err, "%s:%d: [%s]: fba_states = needs fba = yes or only", path, c->cc->line,
		    c->name);
		return -1;
	}
	for (const char *p = st ? st : "fulfillable"; *p;) {
		size_t k = strcspn(p, ", "), f = 0;
		while (f < NFBA && (strlen(fba_names[f]) != k || strncmp(p, fba_names[f], k) != 0))
			f++;
		if (k && f == NFBA) {
			buf_addf(err, "%s:%d: [%s]: fba_states: '%.*s' is not an FBA quantity (fulfillable, "
			    "inbound_working, inbound_shipped, inbound_receiving, reserved, researching, "
			    "unfulfillable)", path, c->cc->line, c->name, (int)(k < 40 ? k : 40), p);
			return -1;
		}
		if (k)
			a->fba_want[f] = 1;
		p += k;
		p += strspn(p, ", ");
	}
	a->fba_rate = 2;	/* getInventorySummaries: 2 requests/s, burst 2 (documented) */
	if (chan_get_int(c->cfg, c->cc, "feed_min", FEED_MIN, 0, FEED_BATCH, &a->feed_min, err) < 0 ||
	    chan_get_int(c->cfg, c->cc, "feed_wait", FEED_WAIT, 1, 86400, &a->feed_wait, err) < 0)
		return -1;
	return 0;
}

static int
amz_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *lwa = chan_get(cc, "lwa_url");
	const char *seller = chan_get(cc, "seller_id"), *mkt = chan_get(cc, "marketplace_id");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;

	for (size_t i = 0; i < cc->nkv; i++) {
		size_t k = 0;
		while (amz_keys[k] && strcmp(amz_keys[k], cc->kv[i].key))
			k++;
		if (!amz_keys[k]) {
			buf_addf(err, "%s:%d: [%s]: unknown setting '%s' for type amazon", path, cc->line,
			    c->name, cc->kv[i].key);
			return EX_CONFIG;
		}
	}
	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://sellingpartnerapi-na.amazon.com, "
		    "-eu or -fe)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (!seller || !*seller || !mkt || !*mkt) {
		buf_addf(err, "%s:%d: [%s]: seller_id = and marketplace_id = are required", path, cc->line,
		    c->name);
		return EX_CONFIG;
	}
	if (!lwa || !*lwa)
		lwa = DEFAULT_LWA;
	if (http_url_ok(lwa, &e) < 0) {
		buf_addf(err, "%s:%d: [%s]: lwa_url: %s", path, cc->line, c->name, e.s);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_reset(&e);
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	const char *c1 = memchr(sec.s, ':', sec.len);
	const char *c2 = c1 ? memchr(c1 + 1, ':', sec.len - (size_t)(c1 + 1 - sec.s)) : NULL;
	int bad = !c2 || c1 == sec.s || c2 == c1 + 1 || c2 + 1 == sec.s + sec.len;
	for (size_t i = 0; i < sec.len && !bad; i++)
		bad = (unsigned char)sec.s[i] <= 0x20 || sec.s[i] == 0x7f;
	if (bad) {
		buf_addf(err, "%s: [%s]: the secret must be client_id:client_secret:refresh_token of the "
		    "LWA app, on one line", path, c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct amz *a = xcalloc(1, sizeof *a);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	a->api = xstrndup(base, bl);
	const char *hp = strstr(a->api, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	a->apipath = xstrdup(hp ? hp : "");
	a->lwa = xstrdup(lwa);
	a->seller_enc = pctenc(seller);
	a->mkt = xstrdup(mkt);
	a->mkt_enc = pctenc(mkt);
	a->client_id = xstrndup(sec.s, (size_t)(c1 - sec.s));
	a->client_secret = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
	a->refresh = xstrndup(c2 + 1, sec.len - (size_t)(c2 + 1 - sec.s));
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	a->seller = xstrdup(seller);
	c->priv = a;
	if (amz_options(c, a, path, err) < 0) {
		amz_close(c);
		return EX_CONFIG;
	}
	/* a channel that may push by feed takes batches a feed can carry */
	if (a->feed_min)
		c->max_batch = FEED_BATCH;
	/* the documented default until an answer says otherwise: 5 requests/s, burst 5 */
	a->rate = 5;
	http_bucket(c->http, 5, 5, 5);
	return 0;
}

static void
amz_close(struct chan *c)
{
	struct amz *a = c->priv;
	if (!a)
		return;
	free(a->api);
	free(a->seller);
	free(a->apipath);
	free(a->lwa);
	free(a->seller_enc);
	free(a->mkt);
	free(a->mkt_enc);
	free_secret(a->client_id);
	free_secret(a->client_secret);
	free_secret(a->refresh);
	free_secret(a->access);
	free(a);
	c->priv = NULL;
}

const struct driver drv_amazon = {
	.type = "amazon",
	.max_batch = BATCH_MAX,
	.refuse = amz_refuse,
	.open = amz_open,
	.pull = amz_pull,
	.read = amz_read,
	.push = amz_push,
	.close = amz_close,
};
