/*
 * ebay.c - the eBay driver: the Sell Inventory API v1 under
 * {base_url}/sell/inventory/v1, base_url = https://api.ebay.com (or
 * https://api.sandbox.ebay.com).
 *
 * Facts it relies on, with the page that states each one:
 *   - Every call carries an OAuth user access token, "Authorization: Bearer
 *     <token>", with the scope https://api.ebay.com/oauth/api_scope/
 *     sell.inventory (sell.inventory.readonly reads only); a user access
 *     token lives about two hours and is minted again from a refresh token.
 *     https://developer.ebay.com/api-docs/static/oauth-tokens.html
 *   - GET /inventory_item?limit=&offset= lists the seller's inventory
 *     items; limit "an integer from 1 to 200" (default 25); the answer
 *     InventoryItems has href, limit, next ("only returned if there are
 *     additional inventory items"), prev, size, total and inventoryItems.
 *     https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/getInventoryItems
 *     https://developer.ebay.com/api-docs/sell/inventory/types/slr:InventoryItems
 *   - availability.shipToLocationAvailability.quantity is "the total
 *     quantity of the item that is available for sale across all
 *     marketplaces"; availabilityDistributions [{merchantLocationKey,
 *     quantity}] is "returned if available quantity is set for one or more
 *     inventory locations".  A listing shows the smaller of that total and
 *     an offer's availableQuantity.
 *     https://developer.ebay.com/api-docs/sell/inventory/types/slr:ShipToLocationAvailability
 *     https://developer.ebay.com/api-docs/sell/inventory/types/slr:AvailabilityDistribution
 *   - POST /bulk_get_inventory_item {"requests": [{"sku"}]} reads up to 25
 *     items: {"responses": [{statusCode, sku, inventoryItem, errors}]}.
 *     https://developer.ebay.com/api-docs/sell/inventory/types/slr:BulkGetInventoryItem
 *     https://developer.ebay.com/api-docs/sell/inventory/types/slr:GetInventoryItemResponse
 *   - POST /bulk_update_price_quantity {"requests": [{sku,
 *     shipToLocationAvailability: {quantity}}]} sets the total of "one or
 *     more inventory items (up to 25)", Content-Type application/json; each
 *     entry is answered {statusCode (200: success), sku, errors, warnings}.
 *     "Each listing can be revised up to 250 times in one calendar day."
 *     PUT /inventory_item/{sku} would replace the whole record (a field left
 *     out is lost): this driver never sends it.
 *     https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/bulkUpdatePriceQuantity
 *     https://developer.ebay.com/api-docs/sell/inventory/types/slr:PriceQuantityResponse
 *     https://developer.ebay.com/api-docs/sell/static/inventory/bulk-updates.html
 *   - Call limits are per application and per day, per API.
 *     https://developer.ebay.com/develop/api/sell/api_call_limits
 *   - A user access token is renewed from the refresh token with POST
 *     https://api.ebay.com/identity/v1/oauth2/token (sandbox:
 *     api.sandbox.ebay.com), headers "Content-Type: application/x-www-
 *     form-urlencoded" and "Authorization: Basic base64(<client_id>:
 *     <client_secret>)", form grant_type=refresh_token, refresh_token and
 *     scope (URL-encoded, space-separated, the same as or a subset of the
 *     scopes the seller consented to).  The answer is {access_token,
 *     expires_in (7200), token_type "User Access Token"}: no new refresh
 *     token, which stays valid as it is (it is never rotated, so the file
 *     it comes from is only read).
 *     https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html
 *     https://developer.ebay.com/api-docs/static/oauth-auth-code-grant-request.html
 * UNVERIFIED (and handled either way): whether offset is a page number, as
 * the reference says, or a record offset (we follow each answer's `next`);
 * the method page's "Only one SKU (one product) can be updated per call",
 * which contradicts the type pages' 25 (invpush --batch 1 obeys it); the
 * HTTP status of a bulk answer whose entries partly fail (200 or 207, both
 * read alike); the 401 of an expired token (errorId 1001 "Invalid access
 * token"); the 429 of a spent quota (errorId 2001, no Retry-After, no rate
 * headers: we back off); the Inventory API's default daily quota; whether a
 * write of the quantity already shown counts as a revision (we never send
 * one); what a new total does to availabilityDistributions; the token
 * endpoint's errors (RFC 6749 shape {error, error_description}: 401
 * invalid_client "client authentication failed", 400 invalid_grant "the
 * provided authorization refresh token is invalid or was issued to another
 * client", 400 invalid_scope), quoted by developers, not by an eBay page;
 * the refresh token's life (18 months); whether scope may be left out
 * (we always send it).
 *
 * Tokens.  With token_file (or INVKIT_TOKEN_<NAME>) the access token is
 * fixed: a refused one exits 77.  With refresh_token_file and client_file
 * (the refresh mode) a token is minted before the first call and kept in
 * memory only; it is minted again a minute before its expires_in runs out,
 * and once after a 401 (an expired or revoked token: eBay did nothing with
 * the call, which goes again; a refused write goes back to its round, so
 * it is read again before it is sent).  A second 401 in a row, or a
 * refused client or refresh token, exits 77 naming the file to fix.  The
 * client secret, the refresh token and the access token are scrubbed from
 * every message and zeroed when freed.
 *
 * Items.  The item is the SKU (eBay's key of an inventory item).  The
 * ship-to total is location "", state "available".  With `distributions =
 * yes` each merchantLocationKey of availabilityDistributions gives one more
 * record (location = the key), read-only.  An item with no ship-to
 * quantity yet is not emitted (counted as unmanaged); a correction with
 * `from` null sets it.  pull_opts.since is not used (eBay's list has no
 * such filter): every pull reads everything, a superset.
 *
 * Push (DESIGN.md, rule 3: eBay has neither a relative adjustment nor a
 * compare-and-set).  Immediately before each batch the SKUs are read again
 * with bulk_get_inventory_item.  A quantity that is no longer the
 * correction's `from` is a conflict and is not written (a sale since the
 * pull is kept, and reported); a quantity already equal to `to` is
 * unchanged and not written (no revision spent); the rest are set to `to`
 * by one bulk_update_price_quantity call.  Revisions: the driver counts
 * the writes of this run per SKU and refuses one more past max_revisions
 * (250).  A write whose answer was lost, or a 5xx, is never sent again: the
 * SKUs are read again and the correction is applied when they show `to`,
 * else failed "unknown outcome".  A 429 or 503 means "not processed": the
 * batch goes again after a wait, re-read and re-decided.
 *
 * The race window that remains: a sale that lands after the re-read is
 * answered and before eBay applies the write is overwritten - one round
 * trip, typically 0.2 to 1 s a batch of 25.
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

#define PAGE_LIMIT 200		/* the documented `limit` maximum */
#define BATCH_MAX 25		/* the documented bulk limit (reads and writes) */
#define MAX_PASSES 3		/* readings of the whole list while it keeps changing */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define REV_BUCKETS 4096
#define TOKEN_PATH "/identity/v1/oauth2/token"
#define SCOPE_RW "https://api.ebay.com/oauth/api_scope/sell.inventory"
#define TOKEN_LIFE 7200		/* seconds, when an answer has no usable expires_in */

/* Writes of this run to one SKU (listing revisions). */
struct rev {
	char *sku;
	long long n;
	struct rev *next;
};

struct eb {
	char *api;		/* base_url + /sell/inventory/v1 */
	char *apipath;		/* its path, for messages */
	char *authz;		/* "Authorization: Bearer ..." (refresh mode: NULL until fetched) */
	char *token;		/* scrubbed out of any message */
	/* refresh mode (refresh_token_file =); all NULL in the fixed-token mode */
	char *tokurl;		/* the token endpoint */
	char *tokpath;		/* its path, for messages */
	char *basic;		/* "Authorization: Basic base64(client_id:client_secret)" */
	char *cid, *csec, *b64;	/* client_id, client_secret, the base64 of both: scrubbed */
	char *refresh;		/* the refresh token: scrubbed */
	char *scope;		/* the scope= asked for */
	char *cfile, *rfile;	/* the files they came from, for messages */
	double tok_until;	/* mono_now() past which the access token is renewed */
	int renewed401;		/* renewed after a 401, no call accepted since */
	int dist;		/* distributions = yes */
	long long max_rev;	/* max_revisions */
	struct rev **revs;	/* REV_BUCKETS chains */
};

/* Settings a section of type ebay may have (the last ones are invsync's). */
static const char *const ebay_keys[] = {
	"type", "base_url", "token_file", "max_revisions", "distributions", "concurrency",
	"timeout", "ca_file", "master", "rules", "map", "location_map", "bundles",
	"client_file", "refresh_token_file", "token_url", "scope", NULL
};

/* ---- helpers ---- */

static void
scrub(const struct eb *e, struct buf *m)
{
	const char *hide[] = { e->token, e->refresh, e->csec, e->b64, e->cid };
	buf_scrub(m, hide, 5);
}

static struct rev **
rev_slot(struct eb *e, const char *sku)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)sku; *p; p++)
		h = (h ^ *p) * 16777619u;
	struct rev **pp = &e->revs[h % REV_BUCKETS];
	while (*pp && strcmp((*pp)->sku, sku) != 0)
		pp = &(*pp)->next;
	return pp;
}

static long long
rev_count(struct eb *e, const char *sku)
{
	struct rev *r = *rev_slot(e, sku);
	return r ? r->n : 0;
}

static void
rev_add(struct eb *e, const char *sku)
{
	struct rev **pp = rev_slot(e, sku);
	if (!*pp) {
		*pp = xcalloc(1, sizeof **pp);
		(*pp)->sku = xstrdup(sku);
	}
	(*pp)->n++;
}

static void
req_prepare(struct chan *c, struct http_req *r, const char *method, const char *rel)
{
	struct eb *e = c->priv;
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, e->api);
	buf_adds(&r->url, rel);
	r->hdrs = curl_slist_append(r->hdrs, e->authz);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	}
	r->idempotent = 1;	/* reads (bulk_get is a POST that writes nothing) */
}

/* Append "errorId N: message" of the first of errors (an eBay error list). */
static void
add_errors(struct buf *out, json_t *errors)
{
	json_t *e0 = json_array_get(errors, 0);
	json_t *id = json_object_get(e0, "errorId");
	const char *m = json_string_value(json_object_get(e0, "longMessage"));
	if (!m)
		m = json_string_value(json_object_get(e0, "message"));
	if (!e0)
		return;
	if (json_is_integer(id))
		buf_addf(out, "errorId %lld", (long long)json_integer_value(id));
	if (m) {
		buf_adds(out, json_is_integer(id) ? ": " : "");
		for (int i = 0; m[i] && i < 200; i++)
			buf_addc(out, (unsigned char)m[i] < 0x20 ? ' ' : m[i]);
	}
}

/* "[chan]: GET /sell/inventory/v1/inventory_item: HTTP 401: errorId 1001: ..." */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *method,
    const char *rel)
{
	struct eb *e = c->priv;
	buf_addf(out, "[%s]: %s %s%.*s: ", c->name, method, e->apipath, (int)strcspn(rel, "?"), rel);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *errs = json_object_get(j, "errors");
	if (json_array_size(errs)) {
		buf_adds(out, ": ");
		add_errors(out, errs);
	}
	json_decref(j);
	if (r->status == 401 && e->refresh)
		buf_addf(out, " (the user access token was refused, also after it was renewed with the "
		    "refresh token of %s)", e->rfile);
	else if (r->status == 401)
		buf_adds(out, " (the user access token was refused: eBay user access tokens expire about "
		    "2 hours after they are minted; put a fresh one in token_file or INVKIT_TOKEN_<NAME>)");
	else if (r->status == 403)
		buf_adds(out, " (the token lacks the scope https://api.ebay.com/oauth/api_scope/"
		    "sell.inventory: sell.inventory.readonly can pull, not push)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://api.ebay.com)");
	else if (r->status == 429)
		buf_adds(out, " (the application's call limit is spent: eBay counts calls a day per API)");
	scrub(e, out);
}

/* ---- the access token of the refresh mode ---- */

/*
 * Mint a user access token from the refresh token (POST /identity/v1/
 * oauth2/token) when none is held, when the one held is near its end, or
 * when force is set (after a 401).  Returns 0, or an exit code with err
 * set: 77 when eBay refuses the client credentials or the refresh token.
 * The token lives in memory only; the answer's bytes are zeroed.  eBay's
 * answer carries no new refresh token: the file is never written.
 */
static int
token_get(struct chan *c, int force, struct buf *err)
{
	struct eb *e = c->priv;
	if (!e->refresh || (e->token && !force && mono_now() < e->tok_until))
		return 0;
	free_secret(e->token);
	free_secret(e->authz);
	e->token = e->authz = NULL;

	struct http_req r;
	http_req_init(&r);
	r.method = "POST";
	buf_adds(&r.url, e->tokurl);
	r.hdrs = curl_slist_append(r.hdrs, e->basic);
	r.hdrs = curl_slist_append(r.hdrs, "Content-Type: application/x-www-form-urlencoded");
	r.hdrs = curl_slist_append(r.hdrs, "Accept: application/json");
	r.hdrs = curl_slist_append(r.hdrs, "Expect:");
	buf_adds(&r.body, "grant_type=refresh_token&refresh_token=");
	buf_add_pctenc(&r.body, e->refresh);
	buf_adds(&r.body, "&scope=");
	buf_add_pctenc(&r.body, e->scope);
	r.idempotent = 1;	/* asking twice only mints two tokens */
	http_submit(c->http, &r);
	http_run(c->http);

	int rc = 0;
	json_t *j = r.status && r.resp.len ? json_loadb(r.resp.s, r.resp.len, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	json_t *ei = json_object_get(j, "expires_in");
	if (r.status == 200 && tok && strlen(tok) < 4096 && cred_ok(tok, strlen(tok))) {
		double life = json_is_integer(ei) && json_integer_value(ei) > 0 &&
		    json_integer_value(ei) <= 1000000 ? (double)json_integer_value(ei) : TOKEN_LIFE;
		struct buf h = BUF_INIT;
		buf_adds(&h, "Authorization: Bearer ");
		buf_adds(&h, tok);
		e->authz = h.s;
		e->token = xstrdup(tok);
		/* renewed a minute before its end (a quarter of a short life) */
		e->tok_until = mono_now() + life - (life > 240 ? 60 : life / 4);
	} else {
		const char *oe = json_string_value(json_object_get(j, "error"));
		const char *od = json_string_value(json_object_get(j, "error_description"));
		buf_reset(err);
		buf_addf(err, "[%s]: POST %s: ", c->name, e->tokpath);
		if (r.error[0])
			buf_adds(err, r.error);
		else
			buf_addf(err, "HTTP %ld", r.status);
		for (int i = 0; oe && i < 2; i++) {
			const char *t = i ? od : oe;
			if (!t)
				continue;
			buf_adds(err, ": ");
			for (int k = 0; t[k] && k < 200; k++)
				buf_addc(err, (unsigned char)t[k] < 0x20 ? ' ' : t[k]);
		}
		if (r.status == 200) {
			buf_adds(err, ": the answer has no usable access_token");
			rc = EX_DATAERR;
		} else if (r.status == 401 || (oe && !strcmp(oe, "invalid_client"))) {
			buf_addf(err, " (eBay refused the application's keys: check client_id:client_secret "
			    "in %s)", e->cfile);
			rc = EX_NOPERM;
		} else if (oe && !strcmp(oe, "invalid_grant")) {
			buf_addf(err, " (eBay refused the refresh token in %s: it expired (18 months after "
			    "the seller's consent), was revoked, or belongs to another application; have the "
			    "seller consent again and put the new refresh token there)", e->rfile);
			rc = EX_NOPERM;
		} else if (oe && !strcmp(oe, "invalid_scope")) {
			buf_addf(err, " (the refresh token in %s was not granted the scope asked for: "
			    "check scope =)", e->rfile);
			rc = EX_NOPERM;
		} else {
			rc = r.status == 403 ? EX_NOPERM : r.status == 400 ? EX_UNAVAILABLE :
			    http_fail_code(&r);
		}
		scrub(e, err);
	}
	json_decref(j);
	if (r.resp.s)
		explicit_bzero(r.resp.s, r.resp.len);
	if (r.body.s)
		explicit_bzero(r.body.s, r.body.len);
	http_req_release(&r);
	return rc;
}

/*
 * After a 401 in refresh mode: a new token, once (eBay did nothing with
 * the refused call, which goes again).  -1 when that does not apply (fixed
 * token, or renewed already and refused again), 0 when renewed, else an
 * exit code with err set.
 */
static int
renew_401(struct chan *c, struct buf *err)
{
	struct eb *e = c->priv;
	if (!e->refresh || e->renewed401)
		return -1;
	e->renewed401 = 1;
	return token_get(c, 1, err);
}

/* A call was accepted: the next 401 may renew the token again. */
static void
accepted(struct chan *c)
{
	((struct eb *)c->priv)->renewed401 = 0;
}

/* The quantity at loc ("": the ship-to total) of an inventoryItem, or -1 (none), -2 (bad). */
static int
item_qty(json_t *it, const char *loc, int64_t *q)
{
	json_t *ship = json_object_get(json_object_get(it, "availability"), "shipToLocationAvailability");
	json_t *v = json_object_get(ship, "quantity");
	if (!*loc) {
		if (!v || json_is_null(v))
			return -1;
		if (!json_is_integer(v))
			return -2;
		*q = json_integer_value(v);
		return 0;
	}
	json_t *ds = json_object_get(ship, "availabilityDistributions");
	for (size_t i = 0; i < json_array_size(ds); i++) {
		json_t *d = json_array_get(ds, i);
		const char *k = json_string_value(json_object_get(d, "merchantLocationKey"));
		if (k && !strcmp(k, loc)) {
			v = json_object_get(d, "quantity");
			if (!json_is_integer(v))
				return -2;
			*q = json_integer_value(v);
			return 0;
		}
	}
	return -1;
}

/* ---- pull: every page of GET /inventory_item, following `next` ---- */

struct row {
	char *sku, *loc;
	int64_t qty;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void
rows_add(struct rows *rs, const char *sku, const char *loc, int64_t q)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	rs->v[rs->n].sku = xstrdup(sku);
	rs->v[rs->n].loc = xstrdup(loc);
	rs->v[rs->n++].qty = q;
}

static void
rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].sku);
		free(rs->v[i].loc);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = strcmp(x->sku, y->sku);
	return d ? d : strcmp(x->loc, y->loc);
}

static int
list_fail(struct chan *c, struct buf *err, int code, const char *rel, const char *why)
{
	struct eb *e = c->priv;
	buf_reset(err);
	buf_addf(err, "[%s]: GET %s%.*s: %s", c->name, e->apipath, (int)strcspn(rel, "?"), rel, why);
	return code;
}

/*
 * One reading of the whole list.  *changed is set when `total` moved
 * between pages or the items read are not `total` (a page was skipped or
 * read twice): the caller reads again.
 */
static int
list_once(struct chan *c, struct rows *rs, uint64_t *unmanaged, int *changed, struct buf *err)
{
	struct eb *e = c->priv;
	struct buf rel = BUF_INIT;
	int64_t total = -1, got = 0;
	uint64_t pages = 0;
	int rc = 0;

	buf_addf(&rel, "/inventory_item?limit=%d&offset=0", PAGE_LIMIT);
	*changed = 0;
	while (rel.len && !rc) {
		struct http_req r;
		if ((rc = token_get(c, 0, err)) != 0)
			break;
		req_prepare(c, &r, "GET", rel.s);
		http_submit(c->http, &r);
		http_run(c->http);
		if (r.status == 401) {
			int rn = renew_401(c, err);
			if (rn >= 0) {
				http_req_release(&r);
				rc = rn;
				continue;	/* renewed: the same page again */
			}
		}
		c->pages++;
		pages++;
		if (r.status == 200)
			accepted(c);
		if (r.status != 200) {
			buf_reset(err);
			describe(c, err, &r, "GET", rel.s);
			rc = http_fail_code(&r);
			http_req_release(&r);
			break;
		}
		json_t *j = json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL);
		http_req_release(&r);
		json_t *items = json_object_get(j, "inventoryItems");
		json_t *tot = json_object_get(j, "total");
		if (!json_is_object(j) || !json_is_integer(tot) || (items && !json_is_array(items))) {
			rc = list_fail(c, err, EX_DATAERR, rel.s, "the answer is not a page of inventory items "
			    "(no total, or inventoryItems not a list)");
			json_decref(j);
			break;
		}
		if (total < 0)
			total = json_integer_value(tot);
		else if (total != json_integer_value(tot))
			*changed = 1;
		for (size_t i = 0; i < json_array_size(items) && !rc; i++) {
			json_t *it = json_array_get(items, i);
			const char *sku = json_string_value(json_object_get(it, "sku"));
			int64_t q;
			if (!sku || !*sku) {
				rc = list_fail(c, err, EX_DATAERR, rel.s, "an inventory item has no sku");
				break;
			}
			got++;
			int k = item_qty(it, "", &q);
			if (k == -1) {
				(*unmanaged)++;
				continue;
			}
			if (k < 0) {
				rc = list_fail(c, err, EX_DATAERR, rel.s, "a shipToLocationAvailability.quantity "
				    "is not an integer");
				break;
			}
			rows_add(rs, sku, "", q);
			json_t *ds = json_object_get(json_object_get(json_object_get(it, "availability"),
			    "shipToLocationAvailability"), "availabilityDistributions");
			for (size_t d = 0; e->dist && d < json_array_size(ds); d++) {
				json_t *dv = json_array_get(ds, d);
				const char *key = json_string_value(json_object_get(dv, "merchantLocationKey"));
				json_t *dq = json_object_get(dv, "quantity");
				if (!key || !*key || !json_is_integer(dq)) {
					rc = list_fail(c, err, EX_DATAERR, rel.s, "an availabilityDistributions "
					    "entry has no merchantLocationKey or integer quantity");
					break;
				}
				rows_add(rs, sku, key, json_integer_value(dq));
			}
		}
		const char *next = json_string_value(json_object_get(j, "next"));
		const char *qm = next ? strchr(next, '?') : NULL;
		buf_reset(&rel);
		if (!rc && next && *next) {
			size_t pl = qm ? (size_t)(qm - next) : strlen(next);
			if (!qm || pl < 15 || memcmp(next + pl - 15, "/inventory_item", 15) != 0 ||
			    strlen(qm) > 1000 || strcspn(qm, " \t\r\n\"<>\\") != strlen(qm)) {
				rc = list_fail(c, err, EX_DATAERR, "/inventory_item", "the answer's next link is "
				    "not a page of /inventory_item");
			} else if (!json_array_size(items) || pages > (uint64_t)total + 2) {
				rc = list_fail(c, err, EX_DATAERR, "/inventory_item", "the next links do not end "
				    "(an empty page, or more pages than items)");
			} else {
				buf_adds(&rel, "/inventory_item");
				buf_adds(&rel, qm);
			}
		}
		json_decref(j);
	}
	buf_release(&rel);
	if (!rc && got != total)
		*changed = 1;
	return rc;
}

static int
list_all(struct chan *c, struct rows *rs, uint64_t *unmanaged, struct buf *err)
{
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		int changed;
		rows_release(rs);
		*unmanaged = 0;
		int rc = list_once(c, rs, unmanaged, &changed, err);
		if (rc)
			return rc;
		if (!changed)
			break;
		if (pass + 1 == MAX_PASSES) {
			buf_reset(err);
			buf_addf(err, "[%s]: the inventory item list kept changing while it was read (%d "
			    "readings); try again", c->name, MAX_PASSES);
			return EX_TEMPFAIL;
		}
	}
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	size_t u = 0;
	for (size_t i = 0; i < rs->n; i++) {
		if (u && !row_cmp(&rs->v[u - 1], &rs->v[i])) {
			free(rs->v[i].sku);
			free(rs->v[i].loc);
			continue;
		}
		rs->v[u++] = rs->v[i];
	}
	rs->n = u;
	return 0;
}

static int
eb_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	uint64_t unmanaged = 0;
	int rc = list_all(c, &rs, &unmanaged, err);
	if (rc) {
		rows_release(&rs);
		return rc;
	}
	c->unmanaged += unmanaged;
	for (size_t i = 0; i < rs.n; i++) {
		struct row *w = &rs.v[i];
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->sku);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], w->sku);
		if (!keep)
			continue;
		struct pulled p = { w->sku, w->sku, w->loc, "available", w->qty };
		emit(&p, arg);
	}
	rows_release(&rs);
	return 0;
}

/* ---- read: bulk_get_inventory_item, 25 SKUs a call ---- */

/* One quantity to read; found: 1 yes, 0 no item or no quantity there. */
struct rd {
	const char *sku, *loc;
	int found;
	int64_t q;
};

struct chunk {
	struct http_req r;
	const char **skus;
	size_t n;
	json_t *resp;		/* the parsed answer (200/207) */
};

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Read every entry of v.  Returns 0, or an exit code with err set when an
 * answer is missing or not understood (nothing then is trusted).
 */
static int
bulk_read_once(struct chan *c, struct rd *v, size_t n, int *unauth, struct buf *err)
{
	const char **u = xcalloc(n ? n : 1, sizeof *u);
	size_t nu = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		u[nu++] = v[i].sku;
	if (nu > 1)
		qsort(u, nu, sizeof *u, str_cmp);
	size_t m = 0;
	for (size_t i = 0; i < nu; i++)
		if (!m || strcmp(u[m - 1], u[i]))
			u[m++] = u[i];
	nu = m;
	size_t nc = (nu + BATCH_MAX - 1) / BATCH_MAX;
	struct chunk *ch = xcalloc(nc ? nc : 1, sizeof *ch);
	for (size_t k = 0; k < nc; k++) {
		ch[k].skus = u + k * BATCH_MAX;
		ch[k].n = nu - k * BATCH_MAX < BATCH_MAX ? nu - k * BATCH_MAX : BATCH_MAX;
		req_prepare(c, &ch[k].r, "POST", "/bulk_get_inventory_item");
		json_t *reqs = json_array();
		for (size_t i = 0; i < ch[k].n; i++)
			json_array_append_new(reqs, json_pack("{s:s}", "sku", ch[k].skus[i]));
		json_t *body = json_pack("{s:o}", "requests", reqs);
		char *s = json_dumps(body, JSON_COMPACT);
		buf_adds(&ch[k].r.body, s);
		free(s);
		json_decref(body);
		http_submit(c->http, &ch[k].r);
	}
	if (nc)
		http_run(c->http);
	for (size_t k = 0; k < nc; k++) {
		struct http_req *r = &ch[k].r;
		if (rc)
			continue;
		*unauth |= r->status == 401;
		if (r->status != 200 && r->status != 207) {
			buf_reset(err);
			describe(c, err, r, "POST", "/bulk_get_inventory_item");
			rc = http_fail_code(r);
			continue;
		}
		ch[k].resp = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
		if (!json_is_array(json_object_get(ch[k].resp, "responses"))) {
			buf_reset(err);
			buf_addf(err, "[%s]: POST %s/bulk_get_inventory_item: the answer has no responses "
			    "list", c->name, ((struct eb *)c->priv)->apipath);
			rc = EX_DATAERR;
		}
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const char **p = bsearch(&v[i].sku, u, nu, sizeof *u, str_cmp);
		size_t k = (size_t)(p - u) / BATCH_MAX;
		json_t *rs = json_object_get(ch[k].resp, "responses"), *hit = NULL;
		for (size_t j = 0; j < json_array_size(rs) && !hit; j++) {
			const char *s = json_string_value(json_object_get(json_array_get(rs, j), "sku"));
			if (s && !strcmp(s, v[i].sku))
				hit = json_array_get(rs, j);
		}
		json_t *sc = json_object_get(hit, "statusCode");
		v[i].found = 0;
		if (hit && json_is_integer(sc) && json_integer_value(sc) == 404)
			continue;
		int kq = hit && json_is_integer(sc) && json_integer_value(sc) == 200 ?
		    item_qty(json_object_get(hit, "inventoryItem"), v[i].loc, &v[i].q) : -3;
		if (kq == -1)
			continue;
		if (kq == 0) {
			v[i].found = 1;
			continue;
		}
		buf_reset(err);
		buf_addf(err, "[%s]: POST %s/bulk_get_inventory_item: SKU '%.50s': ", c->name,
		    ((struct eb *)c->priv)->apipath, v[i].sku);
		if (!hit)
			buf_adds(err, "not in the answer");
		else if (kq == -2)
			buf_adds(err, "its quantity is not an integer");
		else {
			buf_addf(err, "status %lld: ", json_is_integer(sc) ? (long long)json_integer_value(sc) : 0LL);
			add_errors(err, json_object_get(hit, "errors"));
		}
		scrub(c->priv, err);
		rc = kq == -2 || !hit ? EX_DATAERR : EX_UNAVAILABLE;
	}
	for (size_t k = 0; k < nc; k++) {
		json_decref(ch[k].resp);
		http_req_release(&ch[k].r);
	}
	free(ch);
	free(u);
	return rc;
}

/* bulk_read_once with a valid token: a 401 renews it once and reads again. */
static int
bulk_read(struct chan *c, struct rd *v, size_t n, struct buf *err)
{
	for (;;) {
		int unauth = 0, rc = token_get(c, 0, err);
		if (rc)
			return rc;
		rc = bulk_read_once(c, v, n, &unauth, err);
		if (!unauth) {
			if (!rc && n)
				accepted(c);
			return rc;
		}
		int rn = renew_401(c, err);
		if (rn)
			return rn > 0 ? rn : rc;
	}
}

/* The eBay SKU a correction writes: its item, else its sku. */
static const char *
sku_of(const struct corr *k)
{
	return k->item && *k->item ? k->item : k->sku ? k->sku : "";
}

static int
eb_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct rd *rd = xcalloc(n ? n : 1, sizeof *rd);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (*sku_of(v[i])) {
			rd[m].sku = sku_of(v[i]);
			rd[m++].loc = v[i]->location ? v[i]->location : "";
		}
	}
	int rc = bulk_read(c, rd, m, err);
	for (size_t i = 0, j = 0; i < n && !rc; i++) {
		if (!*sku_of(v[i]))
			continue;
		v[i]->has_current = rd[j].found;
		v[i]->current = rd[j].q;
		j++;
	}
	free(rd);
	return rc;
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_DONE };

struct wr {
	struct corr *k;
	const char *sku;
	int state;
};

static void
applied(struct corr *k)
{
	k->status = CS_APPLIED;
	k->error[0] = '\0';
	k->has_after = 1;
	k->after = k->to;
}

/* Settle the answer of a bulk_update_price_quantity call; *wait after a 429/503. */
static void
settle(struct chan *c, struct http_req *r, struct wr **w, size_t n, double *wait, int *auth)
{
	struct buf m = BUF_INIT;
	const char *rel = "/bulk_update_price_quantity";
	if (r->ambiguous) {
		for (size_t i = 0; i < n; i++)
			w[i]->state = W_UNKNOWN;
		return;
	}
	describe(c, &m, r, "POST", rel);
	if (r->status == 0 || r->status == 429 || r->status == 503) {
		/* not processed (never sent, or the server said so): again after the wait */
		struct buf v = BUF_INIT;
		char *end;
		if (http_header(r, "Retry-After", &v)) {
			double s = strtod(v.s, &end);
			if (end != v.s && s >= 0 && s < 3600 && s > *wait)
				*wait = s;
		}
		buf_release(&v);
		for (size_t i = 0; i < n; i++) {
			w[i]->state = W_RETRY;
			snprintf(w[i]->k->error, sizeof w[i]->k->error, "%s", m.s);
		}
	} else if (r->status == 200 || r->status == 207) {
		json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
		json_t *rs = json_object_get(j, "responses");
		for (size_t i = 0; i < n; i++) {
			json_t *hit = NULL;
			for (size_t k = 0; k < json_array_size(rs) && !hit; k++) {
				const char *s = json_string_value(json_object_get(json_array_get(rs, k), "sku"));
				if (s && !strcmp(s, w[i]->sku))
					hit = json_array_get(rs, k);
			}
			json_t *sc = json_object_get(hit, "statusCode");
			long long st = json_is_integer(sc) ? (long long)json_integer_value(sc) : -1;
			if (st == 200) {
				w[i]->state = W_DONE;
				applied(w[i]->k);
			} else if (st >= 400 && st < 500 && st != 408 && st != 429) {
				struct buf t = BUF_INIT;
				add_errors(&t, json_object_get(hit, "errors"));
				scrub(c->priv, &t);
				w[i]->state = W_DONE;
				corr_fail(w[i]->k, CS_FAILED, "not written: eBay answered %lld for SKU '%.50s'%s%.150s",
				    st, w[i]->sku, t.len ? ": " : "", t.len ? t.s : "");
				buf_release(&t);
			} else {
				/* not in the answer, or a 5xx of its own: applied or not? read again */
				w[i]->state = W_UNKNOWN;
			}
		}
		json_decref(j);
	} else {
		*auth |= r->status == 401 || r->status == 403;
		for (size_t i = 0; i < n; i++) {
			w[i]->state = W_DONE;
			corr_fail(w[i]->k, CS_FAILED, "not written: %.230s", m.s);
		}
	}
	buf_release(&m);
}

/*
 * One round: re-read the pending SKUs, decide, send one bulk update,
 * settle its answer (re-reading after a lost one).  What goes again is
 * left in pend; *wait is the wait asked for (-1: none).
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	struct eb *e = c->priv;
	size_t n = *npend, nw = 0, nret = 0;
	struct rd *rd = xcalloc(n ? n : 1, sizeof *rd);
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc, auth = 0;

	*wait = -1;
	for (size_t i = 0; i < n; i++) {
		rd[i].sku = sku_of(pend[i]);
		rd[i].loc = "";
	}
	rc = bulk_read(c, rd, n, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: %.200s",
			    err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		struct wr *t = &all[i];
		t->k = k;
		t->sku = rd[i].sku;
		t->state = W_DONE;
		if (rd[i].found && rd[i].q == k->to) {
			k->status = CS_UNCHANGED;	/* nothing to write: no revision spent */
			k->error[0] = '\0';
			continue;
		}
		if (k->has_from && !rd[i].found) {
			corr_fail(k, CS_FAILED, "not written: SKU '%.50s' has no inventory item or no ship-to "
			    "quantity now (gone since it was read)", t->sku);
			continue;
		}
		if (!k->has_from && rd[i].found) {
			corr_fail(k, CS_CONFLICT, "SKU '%.50s' has a quantity now: %lld, none when it was read "
			    "(not written)", t->sku, (long long)rd[i].q);
			continue;
		}
		if (k->has_from && rd[i].q != k->from) {
			corr_fail(k, CS_CONFLICT, "SKU '%.50s' shows %lld now, not %lld as read: changed since "
			    "(a sale?); not written, eBay has no compare-and-set: pull again", t->sku,
			    (long long)rd[i].q, (long long)k->from);
			continue;
		}
		if (rev_count(e, t->sku) >= e->max_rev) {
			corr_fail(k, CS_FAILED, "not written: SKU '%.50s' was written %lld times in this run "
			    "(max_revisions = %lld; eBay allows 250 revisions a listing a day)", t->sku,
			    rev_count(e, t->sku), e->max_rev);
			continue;
		}
		t->state = W_SENT;
		ws[nw++] = t;
	}
	/* one SKU twice would be written twice: refuse the later ones */
	size_t m = 0;
	for (size_t i = 0; i < nw; i++) {
		size_t j = 0;
		while (j < m && strcmp(ws[j]->sku, ws[i]->sku) != 0)
			j++;
		if (j < m) {
			ws[i]->state = W_DONE;
			corr_fail(ws[i]->k, CS_FAILED, "not written: another correction for SKU '%.50s' is in "
			    "the same batch", ws[i]->sku);
			continue;
		}
		ws[m++] = ws[i];
	}
	nw = m;
	if (nw && (rc = token_get(c, 0, err)) != 0) {
		for (size_t i = 0; i < nw; i++) {
			ws[i]->state = W_DONE;
			corr_fail(ws[i]->k, CS_FAILED, "not written: %.230s", err->s);
		}
		nw = 0;
	}
	if (nw) {
		struct http_req r;
		req_prepare(c, &r, "POST", "/bulk_update_price_quantity");
		r.idempotent = 0;	/* no compare-and-set: never re-sent blindly */
		r.no_retry = 1;		/* a 429/503 is ours: re-read, then send again */
		json_t *reqs = json_array();
		for (size_t i = 0; i < nw; i++)
			json_array_append_new(reqs, json_pack("{s:s, s:{s:I}}", "sku", ws[i]->sku,
			    "shipToLocationAvailability", "quantity", (json_int_t)ws[i]->k->to));
		json_t *body = json_pack("{s:o}", "requests", reqs);
		char *s = json_dumps(body, JSON_COMPACT);
		buf_adds(&r.body, s);
		free(s);
		json_decref(body);
		http_submit(c->http, &r);
		http_run(c->http);
		int rn = r.status == 401 && !r.ambiguous ? renew_401(c, err) : -1;
		if (rn == 0) {
			/* refused before anything was done: re-read and write in the next round */
			*wait = 0;
			for (size_t i = 0; i < nw; i++) {
				ws[i]->state = W_RETRY;
				snprintf(ws[i]->k->error, sizeof ws[i]->k->error, "not written: the access token "
				    "was refused, and renewed");
			}
		} else if (rn > 0) {
			rc = rn;
			for (size_t i = 0; i < nw; i++) {
				ws[i]->state = W_DONE;
				corr_fail(ws[i]->k, CS_FAILED, "not written: %.230s", err->s);
			}
		} else {
			if (r.status == 200 || r.status == 207)
				accepted(c);
			settle(c, &r, ws, nw, wait, &auth);
		}
		if (auth) {
			rc = EX_NOPERM;
			buf_reset(err);
			describe(c, err, &r, "POST", "/bulk_update_price_quantity");
		}
		http_req_release(&r);
		for (size_t i = 0; i < nw; i++)
			if (ws[i]->k->status == CS_APPLIED || ws[i]->state == W_UNKNOWN)
				rev_add(e, ws[i]->sku);	/* a revision spent, or maybe */
	}
	/* answers lost: what does eBay show now? */
	size_t nunk = 0;
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_UNKNOWN) {
			rd[nunk].sku = ws[i]->sku;
			rd[nunk++].loc = "";
		}
	if (nunk) {
		struct buf e2 = BUF_INIT;
		int rrc = bulk_read(c, rd, nunk, &e2);
		for (size_t i = 0, j = 0; i < nw; i++) {
			struct corr *k = ws[i]->k;
			if (ws[i]->state != W_UNKNOWN)
				continue;
			ws[i]->state = W_DONE;
			if (rrc)
				corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost, and the re-read "
				    "failed: %.150s", e2.s);
			else if (rd[j].found && rd[j].q == k->to)
				applied(k);
			else if (rd[j].found)
				corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if applied; "
				    "not sent again)", (long long)rd[j].q, (long long)k->to);
			else
				corr_fail(k, CS_FAILED, "unknown outcome, re-read shows no quantity (not sent "
				    "again)");
			j++;
		}
		buf_release(&e2);
	}
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_RETRY)
			pend[nret++] = ws[i]->k;
	*npend = nret;
out:
	free(ws);
	free(all);
	free(rd);
	return rc;
}

static int
eb_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	size_t np = 0;
	int rc = 0;

	(void)run;	/* eBay keeps no reason or reference for a quantity */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (!*sku_of(k))
			corr_fail(k, CS_FAILED, "not written: no SKU (item or sku)");
		else if (strlen(sku_of(k)) > 50)
			corr_fail(k, CS_FAILED, "not written: SKU '%.50s...' is longer than eBay's 50 "
			    "characters", sku_of(k));
		else if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: location '%.40s' is a merchantLocationKey; "
			    "quantities per location (availabilityDistributions) are read-only here, push "
			    "the ship-to total (location \"\")", k->location);
		else
			pend[np++] = k;
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

/*
 * The first line of the secret file named by setting key into out,
 * refused when group or others may read it (as token_file is).  0, or -1
 * with err set (never the content).
 */
static int
secret_file(struct chan *c, const char *key, const char *file, struct buf *out, struct buf *err)
{
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct stat st;
	char b[4096];
	ssize_t k = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	buf_reset(out);
	if (fd < 0) {
		buf_addf(err, "%s: [%s]: %s %s: %s", path, c->name, key, file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
		buf_addf(err, "%s: [%s]: %s %s is readable by others (mode %03o); chmod 600 it", path,
		    c->name, key, file, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	buf_grow(out, 65536 + sizeof b);	/* no realloc: no copy of the secret left behind */
	while (out->len < 65536 && (k = read(fd, b, sizeof b)) > 0)
		buf_add(out, b, (size_t)k);
	explicit_bzero(b, sizeof b);
	close(fd);
	if (k < 0) {
		buf_addf(err, "%s: [%s]: %s %s: %s", path, c->name, key, file, strerror(errno));
		return -1;
	}
	size_t nl = strcspn(out->s ? out->s : "", "\r\n");
	if (out->s)
		explicit_bzero(out->s + nl, out->len - nl);
	out->len = nl;
	if (!cred_ok(out->s, out->len)) {
		buf_addf(err, "%s: [%s]: %s %s: %s", path, c->name, key, file, nl ? "the first line "
		    "holds a space or a control character" : "empty first line");
		return -1;
	}
	return 0;
}

static void
release_secret(struct buf *b)
{
	if (b->s)
		explicit_bzero(b->s, b->cap);
	buf_release(b);
}

/*
 * The refresh mode's settings: client_file (client_id:client_secret),
 * refresh_token_file, token_url (default base_url + TOKEN_PATH), scope.
 * 0, or an exit code with err set.
 */
static int
open_refresh(struct chan *c, struct eb *eb, const char *base, size_t bl, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *path = c->cfg->path ? c->cfg->path : "config";
	const char *cf = chan_get(cc, "client_file"), *rf = chan_get(cc, "refresh_token_file");
	const char *tu = chan_get(cc, "token_url"), *sc = chan_get(cc, "scope");
	struct buf cs = BUF_INIT, rt = BUF_INIT, u = BUF_INIT, e = BUF_INIT;
	int rc = EX_CONFIG;

	if ((!cf || !*cf) && (!rf || !*rf)) {
		buf_addf(err, "%s:%d: [%s]: scope = and token_url = belong to the refresh mode: set "
		    "refresh_token_file = and client_file =", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (!cf || !*cf || !rf || !*rf) {
		buf_addf(err, "%s:%d: [%s]: %s = is required with %s = (the refresh mode)", path, cc->line,
		    c->name, cf && *cf ? "refresh_token_file" : "client_file", cf && *cf ? "client_file" :
		    "refresh_token_file");
		return EX_CONFIG;
	}
	if (chan_get(cc, "token_file")) {
		buf_addf(err, "%s:%d: [%s]: token_file = and refresh_token_file = exclude each other "
		    "(a fixed access token, or one renewed from the refresh token)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (sc && (!*sc || strcspn(sc, "\r\n\t") != strlen(sc))) {
		buf_addf(err, "%s:%d: [%s]: scope = must be a space-separated list of scope URLs", path,
		    cc->line, c->name);
		return EX_CONFIG;
	}
	if (tu && *tu)
		buf_adds(&u, tu);
	else {
		buf_add(&u, base, bl);
		buf_adds(&u, TOKEN_PATH);
	}
	if (http_url_ok(u.s, &e) < 0) {
		buf_addf(err, "%s:%d: [%s]: token_url: %s", path, cc->line, c->name, e.s);
		goto out;
	}
	if (secret_file(c, "client_file", cf, &cs, err) < 0 ||
	    secret_file(c, "refresh_token_file", rf, &rt, err) < 0)
		goto out;
	const char *colon = memchr(cs.s, ':', cs.len);
	if (!colon || colon == cs.s || colon + 1 == cs.s + cs.len) {
		buf_addf(err, "%s: [%s]: client_file %s must hold client_id:client_secret (the App ID and "
		    "the Cert ID of the application), on one line", path, c->name, cf);
		goto out;
	}
	eb->tokurl = u.s;
	u.s = NULL;
	const char *hp = strstr(eb->tokurl, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	eb->tokpath = xstrndup(hp ? hp : "/", hp ? strcspn(hp, "?") : 1);
	eb->cid = xstrndup(cs.s, (size_t)(colon - cs.s));
	eb->csec = xstrndup(colon + 1, cs.len - (size_t)(colon + 1 - cs.s));
	struct buf b = BUF_INIT, h = BUF_INIT;
	buf_add_base64(&b, cs.s, cs.len);
	buf_adds(&h, "Authorization: Basic ");
	buf_add(&h, b.s, b.len);
	eb->b64 = b.s;
	eb->basic = h.s;
	eb->refresh = xstrndup(rt.s, rt.len);
	eb->scope = xstrdup(sc ? sc : SCOPE_RW);
	eb->cfile = xstrdup(cf);
	eb->rfile = xstrdup(rf);
	rc = 0;
out:
	release_secret(&cs);
	release_secret(&rt);
	buf_release(&u);
	buf_release(&e);
	return rc;
}

static void eb_close(struct chan *c);

static int
eb_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *dist = chan_get(cc, "distributions");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long maxrev;

	for (size_t i = 0; i < cc->nkv; i++) {
		size_t k = 0;
		while (ebay_keys[k] && strcmp(ebay_keys[k], cc->kv[i].key))
			k++;
		if (!ebay_keys[k]) {
			buf_addf(err, "%s:%d: [%s]: unknown setting '%s' for type ebay", path, cc->line,
			    c->name, cc->kv[i].key);
			return EX_CONFIG;
		}
	}
	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://api.ebay.com; the driver "
		    "adds /sell/inventory/v1)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (dist && strcmp(dist, "yes") != 0 && strcmp(dist, "no") != 0) {
		buf_addf(err, "%s:%d: [%s]: distributions must be yes or no", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "max_revisions", 250, 1, 250, &maxrev, err) < 0)
		return EX_CONFIG;
	if (chan_get(cc, "client_file") || chan_get(cc, "refresh_token_file") ||
	    chan_get(cc, "token_url") || chan_get(cc, "scope")) {
		struct eb *eb = xcalloc(1, sizeof *eb);
		size_t bl = strlen(base);
		while (bl && base[bl - 1] == '/')
			bl--;
		int rc = open_refresh(c, eb, base, bl, err);
		if (rc) {
			c->priv = eb;
			eb_close(c);
			return rc;
		}
		struct buf a = BUF_INIT;
		buf_add(&a, base, bl);
		buf_adds(&a, "/sell/inventory/v1");
		eb->api = a.s;
		const char *hp = strstr(eb->api, "://");
		hp = hp ? strchr(hp + 3, '/') : NULL;
		eb->apipath = xstrdup(hp ? hp : "/sell/inventory/v1");
		eb->dist = dist && !strcmp(dist, "yes");
		eb->max_rev = maxrev;
		eb->revs = xcalloc(REV_BUCKETS, sizeof *eb->revs);
		c->priv = eb;
		return 0;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	for (size_t i = 0; i < sec.len; i++)
		if ((unsigned char)sec.s[i] <= 0x20 || sec.s[i] == 0x7f) {
			buf_addf(err, "%s: [%s]: the secret must be an eBay user access token, on one line",
			    path, c->name);
			explicit_bzero(sec.s, sec.len);
			buf_release(&sec);
			return EX_CONFIG;
		}
	struct eb *eb = xcalloc(1, sizeof *eb);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	struct buf a = BUF_INIT;
	buf_add(&a, base, bl);
	buf_adds(&a, "/sell/inventory/v1");
	eb->api = a.s;
	const char *hp = strstr(eb->api, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	eb->apipath = xstrdup(hp ? hp : "/sell/inventory/v1");
	struct buf h = BUF_INIT;
	buf_adds(&h, "Authorization: Bearer ");
	buf_add(&h, sec.s, sec.len);
	eb->authz = h.s;
	eb->token = xstrndup(sec.s, sec.len);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	eb->dist = dist && !strcmp(dist, "yes");
	eb->max_rev = maxrev;
	eb->revs = xcalloc(REV_BUCKETS, sizeof *eb->revs);
	c->priv = eb;
	return 0;
}

static void
eb_close(struct chan *c)
{
	struct eb *e = c->priv;
	if (!e)
		return;
	for (size_t i = 0; e->revs && i < REV_BUCKETS; i++)
		for (struct rev *r = e->revs[i], *nx; r; r = nx) {
			nx = r->next;
			free(r->sku);
			free(r);
		}
	free(e->revs);
	free(e->api);
	free(e->apipath);
	free_secret(e->authz);
	free_secret(e->token);
	free(e->tokurl);
	free(e->tokpath);
	free_secret(e->basic);
	free_secret(e->cid);
	free_secret(e->csec);
	free_secret(e->b64);
	free_secret(e->refresh);
	free(e->scope);
	free(e->cfile);
	free(e->rfile);
	free(e);
	c->priv = NULL;
}

const struct driver drv_ebay = {
	.type = "ebay",
	.max_batch = BATCH_MAX,
	.open = eb_open,
	.read = eb_read,
	.pull = eb_pull,
	.push = eb_push,
	.close = eb_close,
};
