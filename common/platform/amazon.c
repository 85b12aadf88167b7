/*
 * amazon.c - the Amazon driver: merchant-fulfilled (MFN) quantities through
 * the Selling Partner API Listings Items API v2021-08-01, authorized by a
 * Login with Amazon (LWA) access token.
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
 * UNVERIFIED (and handled either way): pageSize at most 20 (we ask for 20);
 * the pagination object {nextToken} and numberOfResults field names; the
 * 403 {"errors":[{"code":"Unauthorized"}]} of an expired token (we fetch a
 * new token on any 401/403 once, then give up with 77); whether a 429
 * carries Retry-After (used when present, else back off); whether INVALID
 * comes with HTTP 200 or 400 (both read); getListingsItem's burst of 10.
 *
 * Items.  An item is the seller SKU; location "" (one merchant pool per
 * marketplace); state "available"; qty the quantity of the DEFAULT
 * fulfillment channel (merchant-fulfilled).  Listings with no DEFAULT
 * quantity (fulfilled by Amazon) are not emitted (counted as unmanaged).
 * FBA quantities (the FBA Inventory API) are not pulled: Amazon owns them.
 *
 * Pull.  Without filters: every page of searchListingsItems, read to the
 * end before anything is emitted; more than 1000 listings cannot be paged
 * through, so such a pull stops with 69 and says to filter by SKU.  With
 * --sku/--item filters: getListingsItem per SKU (no 1000 limit).
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
 * The race window that remains.  A sale between our re-read and the moment
 * Amazon applies the patch is overwritten by the absolute quantity: the
 * re-read round trip plus Amazon's asynchronous processing of the accepted
 * patch - usually seconds, at worst minutes (not documented).  The next
 * pull sees the result; the merchant order itself is never lost, only the
 * shown quantity is one sale too high until then.
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

struct amz {
	char *api;		/* base_url without trailing slash */
	char *apipath;		/* its path, for messages */
	char *lwa;		/* token URL */
	char *seller_enc, *mkt, *mkt_enc;
	char *client_id, *client_secret, *refresh;	/* secrets */
	char *access;		/* "x-amz-access-token: ...", NULL: none yet */
	double expires;		/* mono_now() when the access token is to be renewed */
	double rate;		/* rate the bucket was last set to */
};

/* ---- helpers ---- */

static void
scrub(const struct amz *a, struct buf *m)
{
	const char *hide[] = { a->client_secret, a->refresh, a->access ? a->access + 20 : NULL,
	    a->client_id };
	buf_scrub(m, hide, 4);
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
	struct chan *c;
	struct buf err;
};

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
 * Read every SKU of v.  A 401/403 fetches a new token and reads those SKUs
 * again; a second refusal of a token that had not expired is final (77).
 * 0 or an exit code.
 */
static int
cur_read(struct chan *c, struct cur *v, size_t n, struct buf *err)
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
			u->c = c;
			u->auth = u->code = u->found = u->has_qty = 0;
			buf_reset(&u->err);
			req_prepare(c, &u->r, "GET");
			buf_addc(&u->r.url, '/');
			buf_add_pctenc(&u->r.url, u->sku);
			buf_adds(&u->r.url, "?marketplaceIds=");
			buf_adds(&u->r.url, a->mkt_enc);
			buf_adds(&u->r.url, "&includedData=summaries,fulfillmentAvailability");
			u->r.done = cur_done;
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
		for (size_t i = 0; i < n; i++)
			http_req_release(&v[i].r);
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

static int
amz_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct row *rows = NULL;
	size_t n = 0;
	int rc = 0;

	if (o && (o->skus || o->items)) {
		size_t ns = (o->skus ? o->nskus : 0) + (o->items ? o->nitems : 0), m = 0;
		struct cur *v = xcalloc(ns ? ns : 1, sizeof *v);
		for (size_t i = 0; o->skus && i < o->nskus; i++)
			v[m++].sku = o->skus[i];
		for (size_t i = 0; o->items && i < o->nitems; i++)
			v[m++].sku = o->items[i];
		rc = cur_read(c, v, m, err);
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
	}
	rows_free(rows, n);
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
	int rc = cur_read(c, u, m, err);
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
 * One round: re-read the pending SKUs, decide, PATCH those still at `from`,
 * resolve lost answers by reading again.  What goes again stays in pend.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, int *auth,
    struct buf *err)
{
	struct amz *a = c->priv;
	size_t n = *npend, nret = 0;
	struct cur *u = xcalloc(n ? n : 1, sizeof *u);
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc;

	*wait = -1;
	*auth = 0;
	for (size_t i = 0; i < n; i++)
		u[i].sku = corr_sku(pend[i]);
	rc = cur_read(c, u, n, err);
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
		if (!u[i].found) {
			corr_fail(k, CS_FAILED, "not written: no listing for SKU '%.60s' in marketplace %.20s",
			    u[i].sku, a->mkt);
		} else if (!u[i].has_qty) {
			corr_fail(k, CS_FAILED, "not written: SKU '%.60s' has no merchant-fulfilled (DEFAULT) "
			    "quantity; is it fulfilled by Amazon?", u[i].sku);
		} else if (u[i].qty == k->to) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (!k->has_from) {
			corr_fail(k, CS_CONFLICT, "a quantity appeared since it was read: %lld now (not "
			    "written)", (long long)u[i].qty);
		} else if (u[i].qty != k->from) {
			corr_fail(k, CS_CONFLICT, "quantity is %lld now, %lld when read: changed since (not "
			    "written)", (long long)u[i].qty, (long long)k->from);
		} else if (!u[i].ptype) {
			corr_fail(k, CS_FAILED, "not written: the listing of SKU '%.60s' names no productType "
			    "for marketplace %.20s", u[i].sku, a->mkt);
		} else {
			patch_submit(c, &ws[i], u[i].ptype);
		}
	}
	http_run(c->http);
	/* answers lost: read again, never send again */
	size_t nunk = 0;
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_UNKNOWN)
			u[nunk++].sku = corr_sku(ws[i].k);
	if (nunk) {
		struct buf e = BUF_INIT;
		int rrc = cur_read(c, u, nunk, &e);
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
		if (!corr_sku(k))
			corr_fail(k, CS_FAILED, "not written: no SKU (item or sku) to write");
		else if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: location '%.40s': Amazon merchant quantities "
			    "have one pool (location \"\")", k->location);
		else if (k->to < 0)
			corr_fail(k, CS_FAILED, "not written: Amazon quantities cannot be negative (%lld)",
			    (long long)k->to);
		else
			pend[np++] = k;
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
	"timeout", "ca_file", "master", "rules", "map", "location_map", "bundles", NULL
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
	c->priv = a;
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
	.open = amz_open,
	.pull = amz_pull,
	.read = amz_read,
	.push = amz_push,
	.close = amz_close,
};
