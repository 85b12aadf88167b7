/*
 * shipbob.c - the ShipBob driver: a 3PL's stock per fulfillment center,
 * read from the inventory-level API under {base_url}/{api_version},
 * base_url = https://api.shipbob.com (or https://sandbox-api.shipbob.com).
 * Pull only: ShipBob is a 3PL, its stock is read, never written.
 *
 * Facts it relies on, with the page that states each one:
 *   - Date versions YYYY-MM, a new one each January and July; 2026-07 is
 *     the latest (released Jul 31, 2026), 2026-01 and 2025-07 are still
 *     supported; 1.0 and 2.0 are deprecated (end of support Jul 31, 2026).
 *     https://developer.shipbob.com/versioning
 *   - A personal access token (Integrations > API Tokens > Generate New
 *     Token; it does not expire) goes in "Authorization: Bearer <token>".
 *     https://developer.shipbob.com/auth
 *   - GET /{version}/inventory-level/locations lists every inventory item
 *     with its stock per fulfillment center: {first, items, last, next,
 *     prev}, next a URL ("Null if on the last page"); an item is
 *     {inventory_id, name, sku, locations: [{location_id, name,
 *     on_hand_quantity, fulfillable_quantity, committed_quantity,
 *     awaiting_quantity, internal_transfer_quantity}]}; query InventoryIds,
 *     LocationId, LocationType, SearchBy, IsActive, IsDigital, PageSize,
 *     SortBy; errors 400/401/403/404 are ProblemDetails {type, title,
 *     status, detail, instance}.  Only the Authorization header is listed:
 *     no shipbob_channel_id on these reads.
 *     https://developer.shipbob.com/api/inventory/get-all-inventory-levels-grouped-by-fulfillment-center
 *     (the OpenAPI 3.1 file it links, read for 2026-01; the 2026-07
 *     release notes list no inventory change: developer.shipbob.com/release-notes)
 *   - Fulfillable = on hand minus committed: "available to fulfill new
 *     orders".  https://developer.shipbob.com/api/inventory/get-all-inventory-levels
 *   - 150 requests a minute per user and application, across every
 *     ShipBob API, in a sliding window; over it HTTP 429, with headers
 *     x-retry-after (seconds) and x-remaining-calls.
 *     https://developer.shipbob.com/rate-limit
 *   - The API has no endpoint that sets or adjusts stock: stock changes
 *     through receiving (WROs), orders and the warehouse's own counts.
 *     https://developer.shipbob.com/api/inventory (Inventory: GET only)
 * UNVERIFIED (and handled either way): whether `next` is an absolute URL
 * or a path from the API root (both are followed, and only below base_url);
 * the largest PageSize (page_size = sets ours, 100 by default); whether
 * every answer carries x-remaining-calls (used when present; the FAQ's
 * X-RateLimit-Remaining too); the default sort (the list is sorted here).
 *
 * Records.  One per inventory item, fulfillment center and state: item =
 * inventory_id, sku = the item's SKU, location = location_id, state and qty
 * = the quantity of that state.  `states =` chooses them (fulfillable,
 * on_hand, committed, awaiting, internal_transfer; default fulfillable).
 *
 * Pacing.  A sliding window of L requests in W seconds (rate_limit =,
 * rate_window =; 150 and 60) is never exceeded by a token bucket of B
 * tokens refilled at r a second when B + r*W <= L: here B = L/15 and r =
 * (L - B - L/30)/W, so any W seconds hold at most L - L/30 of our
 * requests (135 of 150): a long pull is paced, not refused.  The bucket
 * starts with one token; the first answer's x-remaining-calls (calls left
 * to the account, which other programs share) gives the burst.  An answer
 * saying no calls are left makes the next request wait two refills.  A
 * 429 waits x-retry-after (else Retry-After, else W/L) and asks again.
 *
 * Push.  Refused: invpush is stopped when it opens the channel, before it
 * reads its input, journals, locks or sends anything (exit 78); push()
 * and read() refuse the same way should any other program call them.
 */
#include "platform.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define DEFAULT_API_VERSION "2026-07"
#define MAX_PAGES 10000000
#define READ_ONLY "ShipBob is a 3PL: its stock is read, never written"

enum { ST_FULFILLABLE, ST_ON_HAND, ST_COMMITTED, ST_AWAITING, ST_TRANSFER, NSTATES };
static const char *const state_names[NSTATES] = {
	"fulfillable", "on_hand", "committed", "awaiting", "internal_transfer",
};
static const char *const state_fields[NSTATES] = {
	"fulfillable_quantity", "on_hand_quantity", "committed_quantity", "awaiting_quantity",
	"internal_transfer_quantity",
};

struct sb {
	char *base;		/* base_url, no trailing '/' */
	char *first;		/* URL of the first page */
	char *authz;		/* "Authorization: Bearer ..." */
	char *chanhdr;		/* "shipbob_channel_id: N", or NULL */
	char *token;		/* scrubbed out of any message */
	int states[NSTATES + 1];	/* the states to emit, in order; -1 ends */
	double burst, margin, rate, window, limit;
	int rate_known;		/* an answer has told how many calls are left */
};

/* One item at one fulfillment center, as listed. */
struct row {
	int64_t iid, loc;
	int64_t q[NSTATES];
	char *sku;
};

/* ---- helpers ---- */

static void
scrub(const struct sb *s, struct buf *m)
{
	const char *hide[] = { s->token };
	buf_scrub(m, hide, 1);
}

/* The path of a URL, without its query (which may be long and says nothing). */
static void
path_of(const char *url, struct buf *out)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : url;
	buf_reset(out);
	if (p)
		buf_add(out, p, strcspn(p, "?#"));
	else
		buf_addc(out, '/');
}

/* "[sb]: GET /2026-07/inventory-level/locations: HTTP 401: Unauthorized (...)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r)
{
	struct sb *s = c->priv;
	struct buf p = BUF_INIT;
	path_of(r->url.s, &p);
	buf_addf(out, "[%s]: GET %s: ", c->name, p.s);
	buf_release(&p);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	const char *keys[] = { "title", "detail", "message" };
	for (size_t k = 0; k < 3; k++) {
		const char *t = json_string_value(json_object_get(j, keys[k]));
		if (!t)
			continue;
		buf_adds(out, ": ");
		for (int i = 0; t[i] && i < 200; i++)
			buf_addc(out, (unsigned char)t[i] < 0x20 ? ' ' : t[i]);
	}
	json_decref(j);
	if (r->status == 401)
		buf_adds(out, " (check the personal access token in token_file: ShipBob, Integrations, "
		    "API Tokens)");
	else if (r->status == 403)
		buf_adds(out, " (the token may not read inventory, or channel_id is not a channel of "
		    "this account)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url, https://api.shipbob.com, and api_version)");
	scrub(s, out);
}

/* A header's value as a number, or -1. */
static double
header_num(const struct http_req *r, const char *name)
{
	struct buf v = BUF_INIT;
	double d = -1;
	if (http_header(r, name, &v)) {
		char *end;
		double x = strtod(v.s, &end);
		if (end != v.s && *end == '\0' && x >= 0 && x < 1e9)
			d = x;
	}
	buf_release(&v);
	return d;
}

/* What an answer says of the calls left: set the bucket (see "Pacing" above). */
static void
rate_seen(struct chan *c, const struct http_req *r)
{
	struct sb *s = c->priv;
	double left = header_num(r, "x-remaining-calls");
	if (left < 0)
		left = header_num(r, "X-RateLimit-Remaining");
	if (left < 0 || r->status == 429)
		return;
	if (!s->rate_known) {
		/* the first answer: burst what the window allows, keeping the margin */
		double a = left - s->margin < s->burst ? left - s->margin : s->burst;
		http_bucket(c->http, s->burst, a, s->rate);
		s->rate_known = 1;
	} else if (left < 1) {
		http_bucket(c->http, s->burst, -1, s->rate);	/* others use the account too */
	}
}

/* Seconds to wait after a 429 or 503. */
static double
wait_of(const struct sb *s, const struct http_req *r)
{
	double d = header_num(r, "x-retry-after");
	if (d < 0)
		d = header_num(r, "Retry-After");
	if (d < 0 || d >= 3600)
		d = r->status == 429 ? s->window / s->limit : -1;
	return d;
}

/*
 * The URL of the page after cur from the answer's `next`: an absolute URL
 * below base_url, a path from the API root or a query.  Anything else is
 * refused: the token never goes anywhere but base_url.
 */
static const char *
next_url(const struct sb *s, const char *cur, const char *next, struct buf *out)
{
	size_t bl = strlen(s->base);
	for (const char *p = next; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return "the next page's link has spaces or control characters";
	buf_reset(out);
	if (!strncmp(next, "http://", 7) || !strncmp(next, "https://", 8)) {
		if (strncmp(next, s->base, bl) != 0 || (next[bl] != '/' && next[bl] != '?'))
			return "the next page's link leaves base_url (not followed: the token goes "
			    "nowhere else)";
		buf_adds(out, next);
	} else if (next[0] == '/' && next[1] != '/') {
		buf_adds(out, s->base);
		buf_adds(out, next);
	} else if (next[0] == '?') {
		buf_add(out, cur, strcspn(cur, "?#"));
		buf_adds(out, next);
	} else {
		return "the next page's link is neither a URL nor a path";
	}
	if (!strcmp(out->s, cur))
		return "the next page's link is the page itself";
	return NULL;
}

static int64_t
jint(json_t *o, const char *k, int *ok)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v)) {
		*ok = 0;
		return 0;
	}
	return (int64_t)json_integer_value(v);
}

/* ---- the list: every page of /inventory-level/locations, one after another ---- */

struct lst {
	struct chan *c;
	struct row *rows;
	size_t n, cap;
	int code;
	struct buf err;
};

struct lpage {
	struct http_req r;
	struct lst *l;
};

static void page_submit(struct lst *l, const char *url);

static void
lst_fail(struct lst *l, int code, const struct http_req *r, const char *why)
{
	if (l->code)
		return;
	l->code = code;
	buf_reset(&l->err);
	if (why) {
		struct buf p = BUF_INIT;
		path_of(r->url.s, &p);
		buf_addf(&l->err, "[%s]: GET %s: %s", l->c->name, p.s, why);
		buf_release(&p);
		scrub(l->c->priv, &l->err);
	} else {
		describe(l->c, &l->err, r);
	}
}

/* Take the items of one page; NULL, or why the page is refused. */
static const char *
take_items(struct lst *l, json_t *items)
{
	struct sb *s = l->c->priv;
	size_t n = json_array_size(items);
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(items, i), *locs = json_object_get(it, "locations");
		json_t *sk = json_object_get(it, "sku");
		int ok = 1;
		int64_t iid = jint(it, "inventory_id", &ok);
		if (!ok || iid <= 0)
			return "an item has no inventory_id";
		if (!json_is_array(locs) && !json_is_null(locs) && locs)
			return "an item's locations is not a list";
		if (sk && !json_is_string(sk) && !json_is_null(sk))
			return "an item's sku is not a string";
		for (size_t k = 0; k < json_array_size(locs); k++) {
			json_t *lo = json_array_get(locs, k);
			struct row w = { 0 };
			w.iid = iid;
			w.loc = jint(lo, "location_id", &ok);
			if (!ok || w.loc <= 0)
				return "a location has no location_id";
			for (int *st = s->states; *st >= 0; st++) {
				w.q[*st] = jint(lo, state_fields[*st], &ok);
				if (!ok)
					return *st == ST_FULFILLABLE ? "a location has no integer "
					    "fulfillable_quantity" : "a location lacks the quantity of a state "
					    "asked for (states =)";
			}
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 256;
				l->rows = xrealloc(l->rows, l->cap * sizeof *l->rows);
			}
			w.sku = xstrdup(json_is_string(sk) ? json_string_value(sk) : "");
			l->rows[l->n++] = w;
		}
	}
	return NULL;
}

static void
page_done(struct http_req *r, void *arg)
{
	struct lpage *p = arg;
	struct lst *l = p->l;
	struct chan *c = l->c;
	struct sb *s = c->priv;

	rate_seen(c, r);
	if (r->status == 429 || r->status == 503 || (r->status == 0 && !r->permanent) ||
	    r->status >= 500) {
		/* a GET: always safe to ask again */
		double w = r->status == 429 || r->status == 503 ? wait_of(s, r) : -1;
		if (r->status == 429)
			http_bucket(c->http, s->burst, 0, s->rate);
		if (http_retry(c->http, r, w) == 0)
			return;
		lst_fail(l, EX_TEMPFAIL, r, NULL);
		goto out;
	}
	if (r->status != 200) {
		lst_fail(l, http_fail_code(r), r, NULL);
		goto out;
	}
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	json_t *items = json_object_get(j, "items"), *next = json_object_get(j, "next");
	const char *why = NULL;
	if (!json_is_object(j) || (!json_is_array(items) && !json_is_null(items)))
		why = "the answer is not a page of inventory levels (no items)";
	else if (next && !json_is_null(next) && !json_is_string(next))
		why = "the answer's next is not a link";
	else
		why = take_items(l, items);
	c->pages++;
	if (!why && json_is_string(next) && *json_string_value(next)) {
		struct buf u = BUF_INIT;
		why = next_url(s, r->url.s, json_string_value(next), &u);
		if (!why && c->pages >= MAX_PAGES)
			why = "more than 10000000 pages: the links go round in a circle";
		if (!why && !l->code)
			page_submit(l, u.s);
		buf_release(&u);
	}
	if (why)
		lst_fail(l, EX_DATAERR, r, why);
	json_decref(j);
out:
	http_req_release(&p->r);
	free(p);
}

static void
page_submit(struct lst *l, const char *url)
{
	struct sb *s = l->c->priv;
	struct lpage *p = xcalloc(1, sizeof *p);
	p->l = l;
	http_req_init(&p->r);
	p->r.method = "GET";
	buf_adds(&p->r.url, url);
	p->r.hdrs = curl_slist_append(p->r.hdrs, s->authz);
	p->r.hdrs = curl_slist_append(p->r.hdrs, "Accept: application/json");
	if (s->chanhdr)
		p->r.hdrs = curl_slist_append(p->r.hdrs, s->chanhdr);
	p->r.idempotent = 1;
	p->r.no_retry = 1;	/* ours to retry: 429 waits x-retry-after, not Retry-After */
	p->r.cost = 1;
	p->r.done = page_done;
	p->r.arg = p;
	http_submit(l->c->http, &p->r);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->iid != y->iid)
		return x->iid < y->iid ? -1 : 1;
	return x->loc < y->loc ? -1 : x->loc > y->loc;
}

/* ---- pull ---- */

static int
sb_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct sb *s = c->priv;
	struct lst l = { 0 };
	l.c = c;
	page_submit(&l, s->first);
	http_run(c->http);
	if (l.code) {
		buf_reset(err);
		buf_add(err, l.err.s, l.err.len);
	} else {
		/* sorted, and an item a changing list showed twice is taken once */
		if (l.n > 1)
			qsort(l.rows, l.n, sizeof *l.rows, row_cmp);
		struct buf item = BUF_INIT, loc = BUF_INIT;
		for (size_t i = 0; i < l.n; i++) {
			struct row *w = &l.rows[i];
			if (i && !row_cmp(&l.rows[i - 1], w))
				continue;
			buf_reset(&item);
			buf_addf(&item, "%lld", (long long)w->iid);
			int keep = !o || (!o->skus && !o->items);
			for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
				keep = !strcmp(o->skus[k], w->sku);
			for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
				keep = !strcmp(o->items[k], item.s);
			if (!keep)
				continue;
			buf_reset(&loc);
			buf_addf(&loc, "%lld", (long long)w->loc);
			for (int *st = s->states; *st >= 0; st++) {
				struct pulled p = { item.s, w->sku, loc.s, state_names[*st], w->q[*st] };
				emit(&p, arg);
			}
		}
		buf_release(&item);
		buf_release(&loc);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.rows[i].sku);
	free(l.rows);
	buf_release(&l.err);
	return l.code;
}

/* ---- read and push: refused ---- */

static int
refuse(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	for (size_t i = 0; i < n; i++) {
		v[i]->status = CS_FAILED;
		v[i]->has_current = 0;
		snprintf(v[i]->error, sizeof v[i]->error, "not written: %s", READ_ONLY);
	}
	buf_reset(err);
	buf_addf(err, "[%s]: %s", c->name, READ_ONLY);
	return EX_CONFIG;
}

static int
sb_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	return refuse(c, v, n, err);
}

static int
sb_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	(void)run;
	return refuse(c, v, n, err);
}

/* ---- open and close ---- */

static int
parse_states(struct sb *s, const char *v, const char *path, const struct chan *c, struct buf *err)
{
	int n = 0;
	const char *p = v ? v : "fulfillable";
	while (*p) {
		size_t k = strcspn(p, ", \t");
		if (k) {
			int f = -1;
			for (int i = 0; i < NSTATES; i++)
				if (strlen(state_names[i]) == k && !strncmp(p, state_names[i], k))
					f = i;
			for (int i = 0; i < n && f >= 0; i++)
				if (s->states[i] == f) {
					buf_addf(err, "%s:%d: [%s]: states: '%s' is given twice", path,
					    c->cc->line, c->name, state_names[f]);
					return -1;
				}
			if (f < 0) {
				buf_addf(err, "%s:%d: [%s]: states: '%.*s' is not a ShipBob quantity "
				    "(fulfillable, on_hand, committed, awaiting, internal_transfer)", path,
				    c->cc->line, c->name, (int)(k < 40 ? k : 40), p);
				return -1;
			}
			s->states[n++] = f;
		}
		p += k;
		p += strspn(p, ", \t");
	}
	s->states[n] = -1;
	if (!n) {
		buf_addf(err, "%s:%d: [%s]: states: empty (fulfillable, on_hand, committed, awaiting, "
		    "internal_transfer)", path, c->cc->line, c->name);
		return -1;
	}
	return 0;
}

static void
sb_free(struct sb *s)
{
	if (!s)
		return;
	free(s->base);
	free(s->first);
	free_secret(s->authz);
	free(s->chanhdr);
	free_secret(s->token);
	free(s);
}

static int
sb_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *path = c->cfg->path ? c->cfg->path : "config";
	const char *base = chan_get(cc, "base_url");
	const char *v = chan_get(cc, "api_version"), *ch = chan_get(cc, "channel_id");
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long page, lim, win;

	buf_reset(err);
	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://api.shipbob.com, or "
		    "https://sandbox-api.shipbob.com)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (!v)
		v = DEFAULT_API_VERSION;
	if (strlen(v) != 7 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]) ||
	    !isdigit((unsigned char)v[2]) || !isdigit((unsigned char)v[3]) || v[4] != '-' ||
	    !isdigit((unsigned char)v[5]) || !isdigit((unsigned char)v[6]) || strcmp(v, "2025-07") < 0) {
		buf_addf(err, "%s:%d: [%s]: api_version: '%.20s' is not a dated version (YYYY-MM, "
		    "2025-07 or later; 1.0 and 2.0 are deprecated)", path, cc->line, c->name, v);
		return EX_CONFIG;
	}
	if (ch && (!*ch || strspn(ch, "0123456789") != strlen(ch) || strlen(ch) > 18)) {
		buf_addf(err, "%s:%d: [%s]: channel_id: '%.20s' is not a ShipBob channel id (a number)",
		    path, cc->line, c->name, ch);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "page_size", 100, 1, 1000, &page, err) < 0 ||
	    chan_get_int(c->cfg, cc, "rate_limit", 150, 1, 1000000, &lim, err) < 0 ||
	    chan_get_int(c->cfg, cc, "rate_window", 60, 1, 3600, &win, err) < 0)
		return EX_CONFIG;
	struct sb *s = xcalloc(1, sizeof *s);
	if (parse_states(s, chan_get(cc, "states"), path, c, err) < 0) {
		sb_free(s);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		sb_free(s);
		return EX_CONFIG;
	}
	buf_release(&e);
	for (size_t i = 0; i < sec.len; i++)
		if ((unsigned char)sec.s[i] <= 0x20 || sec.s[i] == 0x7f) {
			buf_addf(err, "%s: [%s]: the secret must be the personal access token, on one "
			    "line", path, c->name);
			explicit_bzero(sec.s, sec.len);
			buf_release(&sec);
			sb_free(s);
			return EX_CONFIG;
		}
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	s->base = xstrndup(base, bl);
	struct buf u = BUF_INIT;
	buf_addf(&u, "%s/%s/inventory-level/locations?PageSize=%lld", s->base, v, page);
	s->first = u.s;
	struct buf h = BUF_INIT;
	buf_adds(&h, "Authorization: Bearer ");
	buf_add(&h, sec.s, sec.len);
	s->authz = h.s;
	s->token = xstrndup(sec.s, sec.len);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	if (ch) {
		struct buf hc = BUF_INIT;
		buf_addf(&hc, "shipbob_channel_id: %s", ch);
		s->chanhdr = hc.s;
	}
	/* the bucket that keeps within the sliding window (see "Pacing" above) */
	s->limit = (double)lim;
	s->window = (double)win;
	s->burst = (double)(lim / 15 > 1 ? lim / 15 : 1);
	s->margin = (double)(lim / 30 > 1 ? lim / 30 : 1);
	s->rate = (s->limit - s->burst - s->margin) / s->window;
	if (s->rate <= 0)
		s->rate = s->limit / s->window / 2;	/* limits under 3: no room for a margin */
	c->priv = s;
	http_bucket(c->http, s->burst, 1, s->rate);	/* one request until an answer tells more */
	return 0;
}

static void
sb_close(struct chan *c)
{
	sb_free(c->priv);
	c->priv = NULL;
}

const struct driver drv_shipbob = {
	.type = "shipbob",
	.max_batch = 1,
	.read_only = READ_ONLY " (type shipbob is pull-only: pull it as the master and push to "
	    "the channels it feeds)",
	.open = sb_open,
	.pull = sb_pull,
	.read = sb_read,
	.push = sb_push,
	.close = sb_close,
};
