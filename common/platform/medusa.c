/*
 * medusa.c - the Medusa 2 driver: the admin REST API, inventory items and
 * their location levels.
 *
 * Facts it relies on, with where each is stated; every one was also seen
 * on a real Medusa 2.21.2 by tests/real/medusa.sh:
 *   - Every admin route is under {base_url}/admin.  A secret API key
 *     (sk_...) authenticates as the admin user who created it.
 *     https://docs.medusajs.com/api/admin (Authentication)
 *     https://docs.medusajs.com/resources/commerce-modules/api-key/concepts
 *     It goes in HTTP Basic auth, the key as user name and an empty
 *     password; a wrong key answers 401 {"message":"Unauthorized"}
 *     (@medusajs/framework 2.21.2, dist/http/middlewares/
 *     authenticate-middleware.js, which also says so in its 401 hint).
 *   - GET /admin/inventory-items lists inventory items with limit, offset,
 *     order, the filters id and sku (a value or an array), and fields to
 *     pick what comes back; it answers {inventory_items, count, offset,
 *     limit}.  https://docs.medusajs.com/api/admin/inventory-items/list-inventory-items
 *   - POST /admin/inventory-items/location-levels/batch takes {create,
 *     update, delete}; create and update entries are {inventory_item_id,
 *     location_id, stocked_quantity}; it answers {created, updated,
 *     deleted} with the levels as they are after the call.
 *     https://docs.medusajs.com/api/admin/inventory-items (the route list)
 *   - A level (one inventory item at one stock location) has
 *     stocked_quantity, reserved_quantity (held by orders not yet
 *     fulfilled) and available_quantity = stocked - reserved.
 *     https://docs.medusajs.com/resources/commerce-modules/inventory/concepts
 * Seen on the real server and in its source, not in the docs: errors are
 * {"type", "message"} with real HTTP statuses: 400 invalid_data (a negative
 * stocked_quantity, a level that already exists), 401, 404 not_found
 * ("Item ... is not stocked at location ..."), 409 for a transaction that
 * conflicted ("you may retry"), 413 for a body over the route's limit, 2 MB
 * on batch routes (@medusajs/framework, dist/http/middlewares/
 * error-handler.js; @medusajs/medusa, dist/utils/middlewares:
 * DEFAULT_BATCH_ENDPOINTS_SIZE_LIMIT).  A batch call is one transaction (an
 * entry that fails leaves every entry of the call unwritten); an update of
 * a level that does not exist fails with 404; a level can be created at a
 * location id that does not exist, so the driver checks locations itself;
 * stocked_quantity must be 0 or more.
 *
 * Items and quantities.  item is the inventory item's id (iitem_...),
 * location the stock location's id (sloc_...), sku the inventory item's
 * SKU.  One record per level.  `quantity = available` (the default) pulls
 * available_quantity with state "available"; `quantity = stocked` pulls
 * stocked_quantity with state "stocked".  Either way the push writes
 * stocked_quantity, the one quantity Medusa lets an API client set: the
 * level's stocked quantity read just before the write plus the
 * correction's delta.  As available moves one for one with stocked, a
 * pulled, diffed and pushed quantity lands where the diff said, and the
 * stock that orders hold (reserved_quantity) is never touched.
 *
 * Pull.  Items are read in id order, pages of PER_PAGE with offsets
 * STRIDE apart, so each page repeats the last item of the one before; a
 * seam that does not match, or a count that changed, means the list moved
 * while it was read, and it is read again (MAX_PASSES, then 75).  Pages are
 * read side by side (the channel's concurrency).  Only the configured
 * locations are emitted; --since is not used (a superset is always safe).
 *
 * Push.  Medusa has no relative adjust, no compare-and-set and no
 * idempotency key, so (DESIGN.md, rule 3), for each batch: the levels are
 * read again immediately before writing; a level whose quantity is no
 * longer the correction's `from` is a conflict and is not written (with
 * `from` null: a level that appeared since is unchanged when it shows `to`,
 * a conflict otherwise; none is created).  The rest goes in one batch call
 * (or several under MAX_BODY bytes; a 413 halves the size and re-plans).
 * Right after, the written levels are read again: a level whose stocked
 * quantity is not the one written, or whose reserved quantity moved between
 * the first read and the second (an order or a fulfilment landed in the
 * window), is reported as a conflict, written but unsafe: pull and diff
 * again.  A call whose answer was lost is settled by that same read: applied
 * when the level holds what was written, failed otherwise, never re-sent.
 *
 * The window that remains: a change of stocked_quantity that lands after
 * the server answered the first read and before it commits the batch is
 * overwritten, and if it moved stocked only (another tool setting stock;
 * an order only moves reserved, a fulfilment moves both and is caught), the
 * second read cannot see it.  The window is one batch's round trip plus the
 * server's work on it; -v prints it for every round and invpush(1) gives
 * the figures measured against a real server.
 */
#include "platform.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define PER_PAGE 250		/* items a list page */
#define STRIDE (PER_PAGE - 1)	/* page k starts at k * STRIDE: one item of overlap */
#define MAX_PASSES 4		/* readings of the list before giving up (75) */
#define READ_CHUNK 50		/* ids or SKUs per read request */
#define READ_LIMIT 1000		/* items a read request may answer */
#define BATCH_MAX 1000		/* corrections per push() call */
#define MAX_BODY (512 * 1024)	/* bytes per batch call: under Medusa's 2 MB and nginx's 1 MB */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define FIELDS "id,sku,location_levels.location_id,location_levels.stocked_quantity," \
	"location_levels.reserved_quantity,location_levels.available_quantity"

struct med {
	char *base;		/* base_url, no trailing slash */
	char *basepath;		/* its path, for messages */
	char *authz;		/* "Authorization: Basic ..." (a secret) */
	char *hide[2];		/* the key and its base64: scrubbed out of any message */
	char **locs;		/* configured locations, sorted; NULL: all */
	size_t nlocs;
	char **known;		/* stock locations seen to exist */
	size_t nknown;
	int stocked;		/* quantity = stocked */
	size_t max_body;	/* current bytes per batch call (halved on 413) */
	uint64_t rng;
};

/* ---- small helpers ---- */

/* Replace every occurrence of the credentials in b (messages come from servers). */
static void
scrub(const struct med *m, struct buf *b)
{
	buf_scrub(b, (const char *const *)m->hide, 2);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
in_list(char *const *v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof *v, cmpstr) != NULL;
}

static void
list_add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	qsort(*v, *n, sizeof **v, cmpstr);
}

static void
list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A location this channel works on (all, or those of `locations =`). */
static int
loc_wanted(const struct med *m, const char *loc)
{
	return !m->locs || in_list(m->locs, m->nlocs, loc);
}

/* A whole number from a JSON number (Medusa's quantities are BigNumbers). */
static int
json_qty(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == d && d > -9e15 && d < 9e15 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return 0;
		}
	}
	return -1;
}

/* ---- requests and their failures ---- */

/* A request to the admin API: rel is "/inventory-items?..." (query optional). */
static void
req_prepare(struct chan *c, struct http_req *r, const char *method, const char *rel)
{
	struct med *m = c->priv;
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, m->base);
	buf_adds(&r->url, "/admin");
	buf_adds(&r->url, rel);
	r->hdrs = curl_slist_append(r->hdrs, m->authz);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	}
	r->idempotent = !strcmp(method, "GET");
}

/* "METHOD /admin/path" of a request, without its query. */
static void
req_what(struct chan *c, char *out, size_t n, const char *method, const char *rel)
{
	struct med *m = c->priv;
	snprintf(out, n, "%s %s/admin%.*s", method, m->basepath, (int)strcspn(rel, "?"), rel);
}

/* Exit code for a request that failed (DESIGN.md: 77 auth, 75 later, 69 unavailable). */
static int
fail_code(const struct http_req *r)
{
	/* 409: a transaction that conflicted, "you may retry" */
	return r->status == 409 ? EX_TEMPFAIL : http_fail_code(r);
}

/* Append the platform's own words from an error answer: ": type: message". */
static void
add_platform_error(struct buf *out, const struct http_req *r)
{
	json_t *j = r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
	if (type)
		buf_addf(out, ": %.80s", type);
	if (msg) {
		buf_adds(out, ": ");
		for (int i = 0; msg[i] && i < 200; i++)
			buf_addc(out, (unsigned char)msg[i] < 0x20 ? ' ' : msg[i]);
	}
	json_decref(j);
}

/* "[chan]: GET /admin/inventory-items: HTTP 401: Unauthorized (...)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *what)
{
	buf_addf(out, "[%s]: %s: ", c->name, what);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (r->status)
		add_platform_error(out, r);
	if (r->status == 401 || r->status == 403)
		buf_adds(out, " (check the secret API key (sk_...) in token_file and that its user "
		    "may manage inventory)");
	else if (r->status == 404 && strstr(what, "GET"))
		buf_adds(out, " (check base_url: it must be the server's root, without /admin)");
	scrub(c->priv, out);
}

/* ---- inventory items as the API shows them ---- */

struct mlevel {
	char *loc;
	int64_t stocked, reserved, avail;
};

struct mitem {
	char *id, *sku;
	struct mlevel *lv;
	size_t nlv;
};

static void
mitem_release(struct mitem *it)
{
	for (size_t i = 0; i < it->nlv; i++)
		free(it->lv[i].loc);
	free(it->lv);
	free(it->id);
	free(it->sku);
	memset(it, 0, sizeof *it);
}

static int
mlevel_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mlevel *)a)->loc, ((const struct mlevel *)b)->loc);
}

/* Parse one inventory item; -1 with why set when the answer is bad. */
static int
mitem_parse(json_t *o, struct mitem *out, const char **why)
{
	json_t *v, *lv;
	memset(out, 0, sizeof *out);
	if (!json_is_object(o)) {
		*why = "an inventory item is not an object";
		return -1;
	}
	v = json_object_get(o, "id");
	if (!json_is_string(v) || !*json_string_value(v)) {
		*why = "an inventory item has no id";
		return -1;
	}
	out->id = xstrdup(json_string_value(v));
	v = json_object_get(o, "sku");
	out->sku = xstrdup(json_is_string(v) ? json_string_value(v) : "");
	lv = json_object_get(o, "location_levels");
	if (lv && !json_is_array(lv) && !json_is_null(lv)) {
		*why = "location_levels is not an array";
		goto bad;
	}
	size_t n = json_array_size(lv);
	out->lv = xcalloc(n ? n : 1, sizeof *out->lv);
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_array_get(lv, i);
		struct mlevel *x = &out->lv[out->nlv];
		v = json_object_get(l, "location_id");
		if (!json_is_string(v) || !*json_string_value(v)) {
			*why = "a location level has no location_id";
			goto bad;
		}
		for (size_t k = 0; k < out->nlv; k++)
			if (!strcmp(out->lv[k].loc, json_string_value(v))) {
				/* two quantities for one level: which one is meant is unknown */
				*why = "an inventory item lists one location level twice";
				goto bad;
			}
		if (json_qty(json_object_get(l, "stocked_quantity"), &x->stocked) < 0) {
			*why = "a stocked_quantity is not a whole number";
			goto bad;
		}
		v = json_object_get(l, "reserved_quantity");
		if (!v || json_is_null(v))
			x->reserved = 0;
		else if (json_qty(v, &x->reserved) < 0) {
			*why = "a reserved_quantity is not a whole number";
			goto bad;
		}
		v = json_object_get(l, "available_quantity");
		if (!v || json_is_null(v))
			x->avail = x->stocked - x->reserved;
		else if (json_qty(v, &x->avail) < 0) {
			*why = "an available_quantity is not a whole number";
			goto bad;
		}
		x->loc = xstrdup(json_string_value(json_object_get(l, "location_id")));
		out->nlv++;
	}
	if (out->nlv > 1)
		qsort(out->lv, out->nlv, sizeof *out->lv, mlevel_cmp);
	return 0;
bad:
	mitem_release(out);
	return -1;
}

static const struct mlevel *
mitem_level(const struct mitem *it, const char *loc)
{
	for (size_t i = 0; i < it->nlv; i++)
		if (!strcmp(it->lv[i].loc, loc))
			return &it->lv[i];
	return NULL;
}

/* The quantity this channel deals in. */
static int64_t
level_qty(const struct med *m, const struct mlevel *l)
{
	return m->stocked ? l->stocked : l->avail;
}

/* The JSON answer of a list request: its items array and count, or -1. */
static int
list_answer(const struct http_req *r, json_t **root, json_t **items, long long *count,
    const char **why)
{
	json_error_t je;
	*root = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, &je);
	*items = json_object_get(*root, "inventory_items");
	json_t *cv = json_object_get(*root, "count");
	if (!json_is_array(*items)) {
		*why = "the answer has no inventory_items array";
		return -1;
	}
	*count = json_is_integer(cv) ? json_integer_value(cv) : -1;
	return 0;
}

/* ---- pull: the list, read in overlapping pages side by side ---- */

struct page {
	int done;
	size_t count;
	char *first, *last;	/* ids of its first and last item */
	long long total;	/* its count, -1 when absent */
};

struct pullx {
	struct chan *c;
	int pass;
	struct page *pg;
	size_t npg, cappg;
	struct mitem *it;
	size_t nit, capit;
	int inflight, complete;
	int code;
	struct buf err;
	uint64_t pages;
};

struct lreq {
	struct http_req r;
	struct pullx *px;
	size_t page;
	char what[200];
};

static void pull_fail(struct pullx *px, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pull_fail(struct pullx *px, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (px->code)
		return;
	px->code = code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_reset(&px->err);
	buf_adds(&px->err, msg);
	scrub(px->c->priv, &px->err);
}

static void list_done(struct http_req *r, void *arg);

static void
list_page(struct pullx *px, size_t k)
{
	struct lreq *q = xcalloc(1, sizeof *q);
	char rel[400];
	snprintf(rel, sizeof rel, "/inventory-items?limit=%d&offset=%zu&order=id&fields=" FIELDS,
	    PER_PAGE, k * STRIDE);
	if (k >= px->cappg) {
		size_t nc = px->cappg ? px->cappg * 2 : 8;
		while (nc <= k)
			nc *= 2;
		px->pg = xrealloc(px->pg, nc * sizeof *px->pg);
		memset(px->pg + px->cappg, 0, (nc - px->cappg) * sizeof *px->pg);
		px->cappg = nc;
	}
	free(px->pg[k].first);
	free(px->pg[k].last);
	memset(&px->pg[k], 0, sizeof px->pg[k]);
	if (k >= px->npg)
		px->npg = k + 1;
	q->px = px;
	q->page = k;
	req_prepare(px->c, &q->r, "GET", rel);
	req_what(px->c, q->what, sizeof q->what, "GET", rel);
	q->r.done = list_done;
	q->r.arg = q;
	px->inflight++;
	http_submit(px->c->http, &q->r);
}

static void
list_start(struct pullx *px)
{
	for (size_t i = 0; i < px->nit; i++)
		mitem_release(&px->it[i]);
	px->nit = 0;
	px->npg = 0;
	px->pass++;
	list_page(px, 0);
}

/* Pages needed to cover total items with overlapping pages. */
static size_t
pages_for(long long total)
{
	if (total <= PER_PAGE)
		return 1;
	return 1 + (size_t)((total - PER_PAGE + STRIDE - 1) / STRIDE);
}

/*
 * Every page of this reading is in: check the seams (page k must start
 * with the last item of page k - 1) and whether the count changed; read
 * the list again if so.
 */
static void
list_settle(struct pullx *px)
{
	int seams_ok = 1, changed = 0;
	for (size_t k = 0; k < px->npg; k++) {
		if (px->pg[k].total != px->pg[0].total)
			changed = 1;
		if (!k)
			continue;
		const struct page *a = &px->pg[k - 1], *b = &px->pg[k];
		if (a->count == PER_PAGE ? (!b->count || strcmp(b->first, a->last) != 0) :
		    b->count > 0)
			seams_ok = 0;
	}
	if (seams_ok && !changed) {
		px->complete = 1;
		return;
	}
	if (px->pass >= MAX_PASSES) {
		pull_fail(px, EX_TEMPFAIL, "[%s]: the inventory item list changed while it was read "
		    "(%d times); try again", px->c->name, px->pass);
		return;
	}
	list_start(px);
}

static void
list_done(struct http_req *r, void *arg)
{
	struct lreq *q = arg;
	struct pullx *px = q->px;
	json_t *j = NULL, *items;
	const char *why = NULL;
	long long total;

	px->inflight--;
	px->pages++;
	if (px->code)
		goto out;
	if (r->status != 200) {
		struct buf msg = BUF_INIT;
		describe(px->c, &msg, r, q->what);
		pull_fail(px, fail_code(r), "%s", msg.s);
		buf_release(&msg);
		goto out;
	}
	if (list_answer(r, &j, &items, &total, &why) < 0) {
		pull_fail(px, EX_DATAERR, "[%s]: %s: %s", px->c->name, q->what, why);
		goto out;
	}
	size_t n = json_array_size(items);
	if (n > PER_PAGE || total > 100000000) {
		pull_fail(px, EX_DATAERR, "[%s]: %s: %zu items on a page of %d, count %lld", px->c->name,
		    q->what, n, PER_PAGE, total);
		goto out;
	}
	struct page *pg = &px->pg[q->page];
	pg->total = total;
	for (size_t i = 0; i < n; i++) {
		struct mitem it;
		if (mitem_parse(json_array_get(items, i), &it, &why) < 0) {
			pull_fail(px, EX_DATAERR, "[%s]: %s: %s", px->c->name, q->what, why);
			goto out;
		}
		if (!i)
			pg->first = xstrdup(it.id);
		if (i + 1 == n)
			pg->last = xstrdup(it.id);
		if (px->nit == px->capit) {
			px->capit = px->capit ? px->capit * 2 : 256;
			px->it = xrealloc(px->it, px->capit * sizeof *px->it);
		}
		px->it[px->nit++] = it;
	}
	pg->count = n;
	pg->done = 1;
	/* more pages: as many as the largest count seen needs, or one more
	 * after a full last page when the server gives no count */
	long long maxt = -1;
	for (size_t k = 0; k < px->npg; k++)
		if (px->pg[k].done && px->pg[k].total > maxt)
			maxt = px->pg[k].total;
	size_t want = maxt >= 0 ? pages_for(maxt) : px->npg;
	if (maxt < 0 && q->page == px->npg - 1 && n == PER_PAGE)
		want = px->npg + 1;
	/* at most 64 pages asked at a time: a count of 10^8 must not queue
	 * 400,000 requests at once (found by fuzzing the WooCommerce driver) */
	for (size_t k = px->npg; k < want && px->inflight < 64; k++)
		list_page(px, k);
	if (!px->inflight)
		list_settle(px);
out:
	json_decref(j);
	http_req_release(r);
	free(q);
}

static int
mitem_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mitem *)a)->id, ((const struct mitem *)b)->id);
}

static int
med_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct med *m = c->priv;
	struct pullx px;
	int rc = 0;

	(void)o;	/* --item and --sku are applied by invpull; --since is not used */
	memset(&px, 0, sizeof px);
	px.c = c;
	c->pages = c->unmanaged = 0;
	list_start(&px);
	http_run(c->http);
	c->pages = px.pages;
	if (px.code || !px.complete) {
		rc = px.code ? px.code : EX_SOFTWARE;
		buf_reset(err);
		if (px.code)
			buf_add(err, px.err.s, px.err.len);
		else
			buf_addf(err, "[%s]: the list was not read to its end", c->name);
		goto out;
	}
	/* in id order, without the items that page overlaps repeat */
	if (px.nit > 1)
		qsort(px.it, px.nit, sizeof *px.it, mitem_cmp);
	for (size_t i = 0; i < px.nit; i++) {
		const struct mitem *it = &px.it[i];
		if (i && !strcmp(px.it[i - 1].id, it->id))
			continue;
		for (size_t k = 0; k < it->nlv; k++) {
			if (!loc_wanted(m, it->lv[k].loc))
				continue;
			struct pulled p = { it->id, it->sku, it->lv[k].loc,
			    m->stocked ? "stocked" : "available", level_qty(m, &it->lv[k]) };
			emit(&p, arg);
		}
	}
out:
	for (size_t i = 0; i < px.nit; i++)
		mitem_release(&px.it[i]);
	free(px.it);
	for (size_t k = 0; k < px.cappg; k++) {
		free(px.pg[k].first);
		free(px.pg[k].last);
	}
	free(px.pg);
	buf_release(&px.err);
	return rc;
}

/* ---- read: the levels of given corrections, now ---- */

/*
 * What a read found for one correction.  A correction names its inventory
 * item by item; one with from null whose item is not an inventory item id
 * (a master's record of a SKU the channel does not stock there yet) is
 * found by its sku.
 */
struct cur {
	const char *key;	/* the id or SKU looked for (borrowed from the correction) */
	int by_sku;
	char *id;		/* the inventory item found (owned) */
	int nfound;		/* items that matched (a SKU may match several) */
	int has_lvl;
	int64_t stocked, reserved, qty;
};

struct readx {
	struct chan *c;
	struct corr **v;
	struct cur *cur;
	size_t *ord;		/* indexes of v by (by_sku, key) */
	int code;
	struct buf err;
	double last_answer;	/* mono_now() of the last answer */
};

struct rreq {
	struct http_req r;
	struct readx *rx;
	size_t from, to;	/* its range of ord */
	char what[200];
};

static int
is_item_id(const char *s)
{
	return s && !strncmp(s, "iitem_", 6);
}

static void
read_done(struct http_req *r, void *arg)
{
	struct rreq *q = arg;
	struct readx *rx = q->rx;
	struct med *m = rx->c->priv;
	json_t *j = NULL, *items;
	const char *why;
	long long total;

	rx->last_answer = mono_now();
	if (rx->code)
		goto out;
	if (r->status != 200) {
		struct buf msg = BUF_INIT;
		describe(rx->c, &msg, r, q->what);
		rx->code = fail_code(r);
		buf_add(&rx->err, msg.s, msg.len);
		scrub(m, &rx->err);
		buf_release(&msg);
		goto out;
	}
	if (list_answer(r, &j, &items, &total, &why) < 0) {
		rx->code = EX_DATAERR;
		buf_addf(&rx->err, "[%s]: %s: %s", rx->c->name, q->what, why);
		goto out;
	}
	if (total > (long long)json_array_size(items)) {
		rx->code = EX_DATAERR;
		buf_addf(&rx->err, "[%s]: %s: %lld items match, only %zu came back", rx->c->name,
		    q->what, total, json_array_size(items));
		goto out;
	}
	for (size_t i = 0; i < json_array_size(items); i++) {
		struct mitem it;
		if (mitem_parse(json_array_get(items, i), &it, &why) < 0) {
			rx->code = EX_DATAERR;
			buf_addf(&rx->err, "[%s]: %s: %s", rx->c->name, q->what, why);
			goto out;
		}
		for (size_t x = q->from; x < q->to; x++) {
			size_t k = rx->ord[x];
			struct cur *u = &rx->cur[k];
			if (strcmp(u->key, u->by_sku ? it.sku : it.id) != 0)
				continue;
			if (u->nfound++)
				continue;	/* a second item with this SKU: ambiguous */
			u->id = xstrdup(it.id);
			const struct mlevel *l = mitem_level(&it, rx->v[k]->location);
			if (l) {
				u->has_lvl = 1;
				u->stocked = l->stocked;
				u->reserved = l->reserved;
				u->qty = level_qty(m, l);
			}
		}
		mitem_release(&it);
	}
out:
	json_decref(j);
	http_req_release(r);
	free(q);
}

static struct readx *sort_rx;	/* qsort has no argument: the read being sorted */

static int
ord_cmp(const void *a, const void *b)
{
	const struct cur *x = &sort_rx->cur[*(const size_t *)a], *y = &sort_rx->cur[*(const size_t *)b];
	if (x->by_sku != y->by_sku)
		return x->by_sku - y->by_sku;
	return strcmp(x->key, y->key);
}

static void
read_submit(struct readx *rx, size_t from, size_t to)
{
	struct rreq *q = xcalloc(1, sizeof *q);
	struct buf rel = BUF_INIT;
	int by_sku = rx->cur[rx->ord[from]].by_sku;
	buf_addf(&rel, "/inventory-items?limit=%d&fields=" FIELDS, READ_LIMIT);
	for (size_t x = from; x < to; x++) {
		const char *key = rx->cur[rx->ord[x]].key;
		if (x > from && !strcmp(key, rx->cur[rx->ord[x - 1]].key))
			continue;
		buf_adds(&rel, by_sku ? "&sku%5B%5D=" : "&id%5B%5D=");
		buf_add_pctenc(&rel, key);
	}
	q->rx = rx;
	q->from = from;
	q->to = to;
	req_prepare(rx->c, &q->r, "GET", rel.s);
	req_what(rx->c, q->what, sizeof q->what, "GET", rel.s);
	q->r.done = read_done;
	q->r.arg = q;
	http_submit(rx->c->http, &q->r);
	buf_release(&rel);
}

/*
 * Read the current level of each correction into cur[] (n of them; cur is
 * the caller's, its ids owned and freed by cur_release), looking for
 * ids[i] when ids is given.  Corrections with no item to look for are left
 * not found.  *answered is when the last answer came.  Returns 0 or an
 * exit code.
 */
static int
fetch(struct chan *c, struct corr **v, size_t n, const char *const *ids, struct cur *cur,
    double *answered, struct buf *err)
{
	struct readx rx;
	size_t nord = 0;

	memset(&rx, 0, sizeof rx);
	rx.c = c;
	rx.v = v;
	rx.cur = cur;
	rx.ord = xcalloc(n ? n : 1, sizeof *rx.ord);
	for (size_t i = 0; i < n; i++) {
		struct cur *u = &cur[i];
		free(u->id);
		memset(u, 0, sizeof *u);
		const char *item = ids ? ids[i] : v[i]->item, *sku = v[i]->sku;
		if (!ids && !v[i]->has_from && !is_item_id(item) && sku && *sku) {
			u->key = sku;
			u->by_sku = 1;
		} else if (item && *item) {
			u->key = item;
		} else {
			continue;
		}
		rx.ord[nord++] = i;
	}
	sort_rx = &rx;
	if (nord > 1)
		qsort(rx.ord, nord, sizeof *rx.ord, ord_cmp);
	/* chunks of READ_CHUNK distinct keys of one kind */
	for (size_t i = 0; i < nord;) {
		size_t j = i, keys = 0;
		while (j < nord && cur[rx.ord[j]].by_sku == cur[rx.ord[i]].by_sku) {
			if (j == i || strcmp(cur[rx.ord[j]].key, cur[rx.ord[j - 1]].key) != 0) {
				if (keys == READ_CHUNK)
					break;
				keys++;
			}
			j++;
		}
		read_submit(&rx, i, j);
		i = j;
	}
	http_run(c->http);
	if (answered)
		*answered = rx.last_answer;
	int rc = rx.code;
	if (rc) {
		buf_reset(err);
		buf_add(err, rx.err.s, rx.err.len);
	}
	free(rx.ord);
	buf_release(&rx.err);
	return rc;
}

static void
cur_release(struct cur *cur, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cur[i].id);
	free(cur);
}

static int
med_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct cur *cur = xcalloc(n ? n : 1, sizeof *cur);
	int rc = fetch(c, v, n, NULL, cur, NULL, err);
	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = !rc && cur[i].nfound == 1 && cur[i].has_lvl;
		v[i]->current = v[i]->has_current ? cur[i].qty : 0;
	}
	cur_release(cur, n);
	return rc;
}

/* ---- push ---- */

enum { W_PLAN, W_SENT, W_RETRY, W_UNKNOWN, W_WRITTEN, W_DONE };

struct wr {
	struct corr *k;
	struct cur cur;		/* the level before the write */
	const char *id;		/* the item written (cur.id) */
	int create;
	int64_t target;		/* stocked_quantity written */
	int state;
	int solo;		/* send alone: its call failed with others */
	int refused;		/* calls refused while alone */
	int has_resp;		/* the batch answered the level after the write */
	int64_t resp_stocked, resp_reserved;
};

struct batch {
	struct http_req r;
	struct chan *c;
	struct wr **w;
	size_t n;
	char what[120];
	double retry_after;	/* from a 429/503, -1 none */
	int auth_failed;
	int too_large;
	char msg[400];		/* why the call failed */
};

static void
corr_done(struct corr *k, int status, int64_t after)
{
	k->status = status;
	k->has_after = 1;
	k->after = after;
	k->error[0] = '\0';
}

/* Settle the corrections of a batch call from its answer. */
static void
batch_done(struct http_req *r, void *arg)
{
	struct batch *b = arg;
	json_t *j = NULL;

	b->retry_after = -1;
	if (r->ambiguous || (r->status >= 500 && r->status != 503)) {
		/* sent, and maybe applied: the read after the write tells */
		for (size_t i = 0; i < b->n; i++)
			b->w[i]->state = W_UNKNOWN;
		return;
	}
	if (r->status != 200) {
		struct buf msg = BUF_INIT;
		describe(b->c, &msg, r, b->what);
		snprintf(b->msg, sizeof b->msg, "%s", msg.s);
		buf_release(&msg);
	}
	if (r->status == 0 || r->status == 429 || r->status == 503 || r->status == 409 ||
	    r->status == 413) {
		/* not applied (one transaction): plan again from a new reading */
		struct buf v = BUF_INIT;
		char *end;
		if (http_header(r, "Retry-After", &v)) {
			double d = strtod(v.s, &end);
			if (end != v.s && d >= 0 && d < 3600)
				b->retry_after = d;
		}
		buf_release(&v);
		b->too_large = r->status == 413;
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RETRY;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%.250s", b->msg);
		}
		return;
	}
	if (r->status == 401 || r->status == 403) {
		b->auth_failed = 1;
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_DONE;
			corr_fail(b->w[i]->k, CS_FAILED, "not written: %s", b->msg);
		}
		return;
	}
	if (r->status != 200) {
		/*
		 * 400 or 404: the call failed as a whole, for one of its entries
		 * or for all.  Each goes again alone, from a new reading (a level
		 * that vanished or appeared since is then planned anew); one
		 * refused when alone is failed with the platform's words.
		 */
		for (size_t i = 0; i < b->n; i++) {
			struct wr *t = b->w[i];
			if (b->n == 1 && t->refused++) {
				t->state = W_DONE;
				corr_fail(t->k, CS_FAILED, "not written: %s", b->msg);
			} else {
				t->solo = 1;
				t->state = W_RETRY;
				snprintf(t->k->error, sizeof t->k->error, "%.250s", b->msg);
			}
		}
		return;
	}
	j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	const char *lists[2] = { "created", "updated" };
	for (int li = 0; li < 2; li++) {
		json_t *a = json_object_get(j, lists[li]);
		for (size_t e = 0; e < json_array_size(a); e++) {
			json_t *x = json_array_get(a, e);
			const char *iid = json_string_value(json_object_get(x, "inventory_item_id"));
			const char *loc = json_string_value(json_object_get(x, "location_id"));
			int64_t st, rs;
			if (!iid || !loc || json_qty(json_object_get(x, "stocked_quantity"), &st) < 0)
				continue;
			if (json_qty(json_object_get(x, "reserved_quantity"), &rs) < 0)
				rs = 0;
			for (size_t i = 0; i < b->n; i++) {
				struct wr *t = b->w[i];
				if (t->state != W_SENT || t->create != !li || strcmp(t->id, iid) != 0 ||
				    strcmp(t->k->location, loc) != 0)
					continue;
				t->state = W_WRITTEN;
				t->has_resp = 1;
				t->resp_stocked = st;
				t->resp_reserved = rs;
				break;
			}
		}
	}
	/* entries the answer does not account for: the read after the write tells */
	for (size_t i = 0; i < b->n; i++)
		if (b->w[i]->state == W_SENT)
			b->w[i]->state = W_UNKNOWN;
	json_decref(j);
}

/* One entry of a batch body. */
static void
entry_json(struct buf *out, const struct wr *t)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "inventory_item_id", t->id, "location_id",
	    t->k->location, "stocked_quantity", (json_int_t)t->target);
	char *s = json_dumps(o, JSON_COMPACT);
	buf_adds(out, s);
	free(s);
	json_decref(o);
}

static void
batch_submit(struct chan *c, struct batch *b)
{
	static const char rel[] = "/inventory-items/location-levels/batch";
	req_prepare(c, &b->r, "POST", rel);
	req_what(c, b->what, sizeof b->what, "POST", rel);
	b->r.idempotent = 0;	/* absolute values: a late duplicate could erase a sale */
	b->r.no_retry = 1;	/* and never re-sent by the HTTP layer after a wait */
	b->c = c;
	for (int create = 1; create >= 0; create--) {
		int any = 0;
		for (size_t i = 0; i < b->n; i++) {
			if (b->w[i]->create != create)
				continue;
			buf_adds(&b->r.body, any ? "," : b->r.body.len ? "],\"update\":[" :
			    create ? "{\"create\":[" : "{\"update\":[");
			entry_json(&b->r.body, b->w[i]);
			any = 1;
		}
	}
	buf_adds(&b->r.body, "]}");
	b->r.done = batch_done;
	b->r.arg = b;
	http_submit(c->http, &b->r);
}

/*
 * Check that the stock locations of the corrections with from null (those
 * that may create a level) exist: Medusa creates a level at any id.  Done
 * once per push, before the first reading, to keep the window narrow.
 */
static int
check_locations(struct chan *c, struct wr **w, size_t n, struct buf *err)
{
	struct med *m = c->priv;
	struct buf rel = BUF_INIT;
	char **ask = NULL;
	size_t nask = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const char *loc = w[i]->k->location;
		if (w[i]->k->has_from || in_list(m->known, m->nknown, loc) ||
		    (nask && in_list(ask, nask, loc)))
			continue;
		list_add(&ask, &nask, loc);
	}
	for (size_t off = 0; off < nask && !rc; off += READ_CHUNK) {
		struct http_req r;
		char what[120];
		buf_reset(&rel);
		buf_addf(&rel, "/stock-locations?limit=%d&fields=id", READ_LIMIT);
		for (size_t i = off; i < nask && i < off + READ_CHUNK; i++) {
			buf_adds(&rel, "&id%5B%5D=");
			buf_add_pctenc(&rel, ask[i]);
		}
		req_prepare(c, &r, "GET", rel.s);
		req_what(c, what, sizeof what, "GET", rel.s);
		http_submit(c->http, &r);
		http_run(c->http);
		json_t *j = r.status == 200 ? json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0,
		    NULL) : NULL;
		json_t *a = json_object_get(j, "stock_locations");
		if (r.status != 200 || !json_is_array(a)) {
			rc = r.status == 200 ? EX_DATAERR : fail_code(&r);
			buf_reset(err);
			describe(c, err, &r, what);
			if (r.status == 200)
				buf_adds(err, ": the answer has no stock_locations array");
		}
		for (size_t e = 0; e < json_array_size(a); e++) {
			const char *id = json_string_value(json_object_get(json_array_get(a, e), "id"));
			if (id && in_list(ask, nask, id) && !in_list(m->known, m->nknown, id))
				list_add(&m->known, &m->nknown, id);
		}
		json_decref(j);
		http_req_release(&r);
	}
	for (size_t i = 0; i < n && !rc; i++)
		if (!w[i]->k->has_from && !in_list(m->known, m->nknown, w[i]->k->location)) {
			w[i]->state = W_DONE;
			corr_fail(w[i]->k, CS_FAILED, "not written: no stock location '%.60s' on the "
			    "platform", w[i]->k->location);
		}
	buf_release(&rel);
	list_free(ask, nask);
	return rc;
}

static int
wr_key_cmp(const void *a, const void *b)
{
	const struct wr *x = *(struct wr *const *)a, *y = *(struct wr *const *)b;
	int d = strcmp(x->id, y->id);
	return d ? d : strcmp(x->k->location, y->k->location);
}

static double
round_backoff(struct med *m, int round)
{
	double d = 0.5;
	for (int i = 0; i < round && d < 30; i++)
		d *= 2;
	if (d > 30)
		d = 30;
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return d / 2 + (double)(m->rng >> 11) / 9007199254740992.0 * d / 2;
}

/* Decide what to write for one correction from the level just read. */
static void
plan_one(struct med *m, struct wr *t)
{
	struct corr *k = t->k;
	const struct cur *u = &t->cur;

	t->state = W_DONE;
	t->create = 0;
	if (u->nfound > 1) {
		corr_fail(k, CS_FAILED, "not written: %d inventory items have SKU '%.60s'",
		    u->nfound, u->key);
		return;
	}
	if (!u->nfound) {
		corr_fail(k, CS_FAILED, "not written: no inventory item %s'%.80s' on the platform",
		    u->by_sku ? "with SKU " : "", u->key ? u->key : "");
		return;
	}
	t->id = u->id;
	if (k->has_from) {
		if (!u->has_lvl) {
			corr_fail(k, CS_CONFLICT, "the item is no longer stocked at this location "
			    "(%lld expected; not written)", (long long)k->from);
			return;
		}
		if (u->qty != k->from) {
			corr_fail(k, CS_CONFLICT, "quantity moved since it was read: %lld expected, "
			    "%lld now (not written)", (long long)k->from, (long long)u->qty);
			return;
		}
		if (!k->delta) {
			corr_done(k, CS_UNCHANGED, u->qty);
			return;
		}
		t->target = u->stocked + k->delta;
	} else {
		if (u->has_lvl) {
			if (u->qty == k->to)
				corr_done(k, CS_UNCHANGED, u->qty);
			else
				corr_fail(k, CS_CONFLICT, "the item is stocked at this location since it "
				    "was read, with %lld (not written)", (long long)u->qty);
			return;
		}
		/* a new level holds nothing reserved: available = stocked */
		t->create = 1;
		t->target = k->to;
	}
	if (t->target < 0) {
		corr_fail(k, CS_FAILED, "not written: stocked_quantity would be %lld; Medusa takes "
		    "0 or more%s", (long long)t->target, m->stocked ? "" :
		    " (available can go below 0 only by what orders reserve)");
		return;
	}
	t->state = W_PLAN;
}

/*
 * One round: read the pending corrections' levels, plan, write in calls of
 * at most max_body bytes, read the written levels again and settle.  Those
 * to try again are left in pend; *wait is the longest Retry-After seen (-1
 * none); returns an exit code when the platform refused us (77).
 */
static int
push_round(struct chan *c, struct wr **pend, size_t *npend, double *wait, struct buf *err)
{
	struct med *m = c->priv;
	size_t n = *npend, nw = 0, nb = 0, nret = 0;
	struct corr **kv = xcalloc(n ? n : 1, sizeof *kv);
	struct cur *cur = xcalloc(n ? n : 1, sizeof *cur);
	struct wr **ws = xcalloc(n ? n : 1, sizeof *ws);
	struct batch *bs = NULL;
	int rc;
	double t0 = mono_now(), t_read, t_write = 0;

	*wait = -1;
	for (size_t i = 0; i < n; i++)
		kv[i] = pend[i]->k;
	rc = fetch(c, kv, n, NULL, cur, &t_read, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i]->k, CS_FAILED, "not written: the read before writing failed: "
			    "%.200s", err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct wr *t = pend[i];
		free(t->cur.id);
		t->cur = cur[i];
		cur[i].id = NULL;	/* now t's */
		plan_one(m, t);
		if (t->state == W_PLAN)
			ws[nw++] = t;
	}
	/* one level twice would be set from the same reading twice: refuse the later ones */
	if (nw > 1)
		qsort(ws, nw, sizeof *ws, wr_key_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nw; i++) {
		if (u && !wr_key_cmp(&ws[u - 1], &ws[i])) {
			ws[i]->state = W_DONE;
			corr_fail(ws[i]->k, CS_FAILED, "not written: another correction for item %s at "
			    "%s is in the same batch", ws[i]->id, ws[i]->k->location);
			continue;
		}
		ws[u++] = ws[i];
	}
	nw = u;
	/* calls of at most max_body bytes; a correction refused with others goes alone */
	bs = xcalloc(nw ? nw : 1, sizeof *bs);
	for (size_t i = 0; i < nw;) {
		size_t j = i, bytes = 40;
		while (j < nw) {
			struct buf e = BUF_INIT;
			entry_json(&e, ws[j]);
			bytes += e.len + 1;
			buf_release(&e);
			if (j > i && (bytes > m->max_body || ws[j]->solo || ws[i]->solo))
				break;
			j++;
		}
		bs[nb].w = &ws[i];
		bs[nb].n = j - i;
		for (size_t x = i; x < j; x++)
			ws[x]->state = W_SENT;
		batch_submit(c, &bs[nb++]);
		i = j;
	}
	if (nb) {
		http_run(c->http);
		t_write = mono_now();
	}
	/* the written levels (and those whose answer was lost), read again */
	size_t nchk = 0;
	struct wr **chk = xcalloc(nw ? nw : 1, sizeof *chk);
	struct corr **ck = xcalloc(nw ? nw : 1, sizeof *ck);
	const char **ckid = xcalloc(nw ? nw : 1, sizeof *ckid);
	struct cur *after = xcalloc(nw ? nw : 1, sizeof *after);
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_WRITTEN || ws[i]->state == W_UNKNOWN) {
			chk[nchk] = ws[i];
			ckid[nchk] = ws[i]->id;	/* by id now, also for one found by SKU */
			ck[nchk++] = ws[i]->k;
		}
	if (nchk) {
		struct buf e = BUF_INIT;
		int frc = fetch(c, ck, nchk, ckid, after, NULL, &e);
		for (size_t i = 0; i < nchk; i++) {
			struct wr *t = chk[i];
			struct corr *k = t->k;
			const struct cur *a = &after[i];
			int seen = !frc && a->nfound == 1 && a->id && !strcmp(a->id, t->id) && a->has_lvl;
			if (t->state == W_UNKNOWN) {
				if (seen && a->stocked == t->target)
					corr_done(k, CS_APPLIED, a->qty);
				else if (frc)
					corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost and the "
					    "read after it failed: %.160s", e.s);
				else
					corr_fail(k, CS_FAILED, "unknown outcome: the answer was lost and the "
					    "level shows stocked_quantity %lld, not the %lld written (not sent "
					    "again)", seen ? (long long)a->stocked : -1LL, (long long)t->target);
			} else if (frc) {
				corr_fail(k, CS_CONFLICT, "written (stocked_quantity %lld), but the read "
				    "after the write failed, so a concurrent change cannot be ruled out: "
				    "%.120s", (long long)t->target, e.s);
			} else if (!seen) {
				corr_fail(k, CS_CONFLICT, "written (stocked_quantity %lld), but the level "
				    "was gone right after", (long long)t->target);
			} else if (a->stocked != t->target ||
			    (t->has_resp && (t->resp_stocked != t->target ||
			    t->resp_reserved != t->cur.reserved)) || a->reserved != t->cur.reserved) {
				corr_fail(k, CS_CONFLICT, "written (stocked_quantity %lld), but the level "
				    "moved while writing: stocked %lld, reserved %lld before, now stocked "
				    "%lld, reserved %lld; a concurrent change may have been overwritten: "
				    "pull and diff again", (long long)t->target, (long long)t->cur.stocked,
				    (long long)t->cur.reserved, (long long)a->stocked,
				    (long long)a->reserved);
				k->has_after = 1;
				k->after = a->qty;
			} else {
				corr_done(k, CS_APPLIED, a->qty);
			}
			t->state = W_DONE;
		}
		buf_release(&e);
	}
	for (size_t i = 0; i < nchk; i++)
		free(after[i].id);
	free(after);
	free(chk);
	free(ck);
	free(ckid);
	if (c->verbose && nb)
		fprintf(stderr, "%s: %s: %zu written in %zu call%s; window from the read before "
		    "to the write's answer %.3f s (read %.3f s, write %.3f s)\n", progname, c->name,
		    nw, nb, nb == 1 ? "" : "s", t_write - t0, t_read - t0, t_write - t_read);
	/* the rest goes again, after the wait, from a new reading */
	for (size_t i = 0; i < nb; i++) {
		if (bs[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, bs[i].msg);
		}
		if (bs[i].too_large && bs[i].n == 1) {
			bs[i].w[0]->state = W_DONE;
			corr_fail(bs[i].w[0]->k, CS_FAILED, "not written: %s", bs[i].msg);
		} else if (bs[i].too_large) {
			/* smaller calls, at once: nothing was applied */
			if (m->max_body > bs[i].r.body.len / 2)
				m->max_body = bs[i].r.body.len / 2;
			*wait = 0;
		}
		if (bs[i].retry_after > *wait)
			*wait = bs[i].retry_after;
		http_req_release(&bs[i].r);
	}
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_RETRY)
			pend[nret++] = ws[i];
	*npend = nret;
out:
	free(bs);
	free(ws);
	free(kv);
	cur_release(cur, n);
	return rc;
}

static int
med_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct med *m = c->priv;
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **pend = xcalloc(n ? n : 1, sizeof *pend);
	size_t np = 0;
	int rc = 0;

	(void)run;	/* Medusa keeps no idempotency key for these calls */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		all[i].k = k;
		if (!k->location || !*k->location)
			corr_fail(k, CS_FAILED, "not written: a Medusa level needs a location (a stock "
			    "location id, sloc_...)");
		else if (!loc_wanted(m, k->location))
			corr_fail(k, CS_FAILED, "not written: location '%.60s' is not among this "
			    "channel's locations", k->location);
		else if ((!k->item || !*k->item) && (k->has_from || !k->sku || !*k->sku))
			corr_fail(k, CS_FAILED, "not written: no item (an inventory item id, iitem_...)");
		else
			pend[np++] = &all[i];
	}
	if (np && (rc = check_locations(c, pend, np, err)) == 0) {
		size_t u = 0;
		for (size_t i = 0; i < np; i++)
			if (pend[i]->state != W_DONE)
				pend[u++] = pend[i];
		np = u;
	}
	for (int round = 0; np && !rc; round++) {
		double wait;
		rc = push_round(c, pend, &np, &wait, err);
		if (!np || rc)
			break;
		if (round + 1 >= MAX_ROUNDS) {
			for (size_t i = 0; i < np; i++) {
				char e[sizeof pend[i]->k->error];
				snprintf(e, sizeof e, "%s", pend[i]->k->error);
				corr_fail(pend[i]->k, CS_FAILED, "not written: gave up after %d attempts: "
				    "%.200s", MAX_ROUNDS, e);
			}
			break;
		}
		/* a 413 only asks for smaller calls: again at once; the rest after a wait */
		sleep_s(wait >= 0 ? wait : round_backoff(m, round));
	}
	for (size_t i = 0; i < n; i++) {
		free(all[i].cur.id);
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	}
	free(all);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
med_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *q = chan_get(cc, "quantity");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (the Medusa server's root, "
		    "e.g. https://shop.example.com)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (strstr(base, "/admin")) {
		buf_addf(err, "%s:%d: [%s]: base_url is the server's root; the driver adds /admin",
		    path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (q && strcmp(q, "available") != 0 && strcmp(q, "stocked") != 0) {
		buf_addf(err, "%s:%d: [%s]: quantity: '%.20s' is not available or stocked", path,
		    cc->line, c->name, q);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	for (size_t i = 0; i < sec.len; i++) {
		unsigned char ch = (unsigned char)sec.s[i];
		if (ch <= ' ' || ch >= 0x7f || ch == ':') {
			explicit_bzero(sec.s, sec.len);
			buf_release(&sec);
			buf_addf(err, "%s: [%s]: the secret API key holds a space, a colon or a control "
			    "character", path, c->name);
			return EX_CONFIG;
		}
	}
	if (strncmp(sec.s, "sk_", 3) != 0) {
		/* Medusa takes only secret keys over Basic auth; say so without showing it */
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		buf_addf(err, "%s: [%s]: the secret must be a Medusa secret API key (sk_...)", path,
		    c->name);
		return EX_CONFIG;
	}
	struct med *m = xcalloc(1, sizeof *m);
	m->stocked = q && !strcmp(q, "stocked");
	m->max_body = MAX_BODY;
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	m->base = xstrndup(base, bl);
	const char *hp = strstr(m->base, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	m->basepath = xstrdup(hp ? hp : "");
	const char *locs = chan_get(cc, "locations");
	if (locs) {
		const char *p = locs;
		while (*p) {
			size_t k = strcspn(p, ", \t");
			if (k) {
				char *one = xstrndup(p, k);
				if (!m->locs || !in_list(m->locs, m->nlocs, one))
					list_add(&m->locs, &m->nlocs, one);
				free(one);
			}
			p += k;
			p += strspn(p, ", \t");
		}
	}
	struct buf cred = BUF_INIT, t = BUF_INIT, h = BUF_INIT;
	buf_add(&cred, sec.s, sec.len);
	buf_addc(&cred, ':');	/* the key as user name, an empty password */
	buf_add_base64(&t, cred.s, cred.len);
	buf_addf(&h, "Authorization: Basic %s", t.s);
	m->authz = h.s;
	m->hide[0] = xstrdup(sec.s);
	/* without its padding: found whether an echo kept the '=' or not */
	m->hide[1] = xstrndup(t.s, strcspn(t.s, "="));
	explicit_bzero(cred.s, cred.len);
	buf_release(&cred);
	explicit_bzero(t.s, t.len);
	buf_release(&t);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	m->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x2545F4914F6CDD1DULL;
	c->priv = m;
	return 0;
}

static void
med_close(struct chan *c)
{
	struct med *m = c->priv;
	if (!m)
		return;
	free(m->base);
	free(m->basepath);
	free_secret(m->authz);
	for (int i = 0; i < 2; i++)
		free_secret(m->hide[i]);
	list_free(m->locs, m->nlocs);
	list_free(m->known, m->nknown);
	free(m);
	c->priv = NULL;
}

const struct driver drv_medusa = {
	.type = "medusa",
	.max_batch = BATCH_MAX,
	.open = med_open,
	.pull = med_pull,
	.read = med_read,
	.push = med_push,
	.close = med_close,
};
