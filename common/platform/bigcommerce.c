/*
 * bigcommerce.c - the BigCommerce driver: the V3 Inventory API under
 * {base_url}/v3, base_url = https://api.bigcommerce.com/stores/{store_hash}.
 *
 * Facts it relies on, with the page that states each one:
 *   - Base URL https://api.bigcommerce.com/stores/{store_hash}/v3; the
 *     access token of an API account goes in the X-Auth-Token header;
 *     scopes store_inventory_read_only (pull) and store_inventory (push).
 *     https://developer.bigcommerce.com/docs/rest-management/inventory
 *     (OpenAPI: github.com/bigcommerce/docs, reference/inventory.v3.yml)
 *   - GET /inventory/items lists every item with its locations: identity
 *     {sku, variant_id, product_id, sku_id (null for a base variant)} and,
 *     per location, location_id, available_to_sell (on hand minus safety
 *     stock) and total_inventory_onhand; filters sku:in, variant_id:in,
 *     product_id:in, location_id:in; page and limit (at most 1000); the
 *     answer's meta.pagination has total, current_page and total_pages.
 *     https://developer.bigcommerce.com/docs/rest-management/inventory/items
 *   - PUT /inventory/adjustments/absolute and POST
 *     /inventory/adjustments/relative take {"reason", "items": [{location_id,
 *     sku | variant_id | product_id, quantity}]}, at most 2000 items, and
 *     answer {"transaction_id"}; a 422 problem+json {status, title, type,
 *     errors} names the items it refuses ("[Item with variant_id 106 is
 *     tracked by product, please update stock by product id]", "Items with
 *     identity: [product_id 113] requires absolute adjustment before
 *     relative").  No idempotency key exists.
 *     https://developer.bigcommerce.com/docs/rest-management/inventory/adjustments
 *   - Every request takes one unit of the store's quota (Plus and Standard:
 *     150 per 30 s); every answer carries X-Rate-Limit-Requests-Left,
 *     X-Rate-Limit-Requests-Quota, X-Rate-Limit-Time-Window-Ms and
 *     X-Rate-Limit-Time-Reset-Ms; over the quota the answer is 429.
 *     https://developer.bigcommerce.com/docs/start/best-practices/api-rate-limits
 * UNVERIFIED (and handled either way): that a 422 rejects the whole request
 * (we re-read after one and decide item by item from what changed); whether
 * a 429 carries Retry-After (we wait X-Rate-Limit-Time-Reset-Ms, else
 * Retry-After, else back off); how an item with no record at a location is
 * listed (we take "not in its locations" as no record).
 *
 * Items.  A product without options (base variant, sku_id null) is tracked
 * by product: its item is "<product_id>" and it is written by product_id.
 * A variant of a product with options is "<product_id>/<variant_id>",
 * written by variant_id.  Location is the location_id; state "available";
 * qty is available_to_sell.  Adjustments change the quantity on hand, which
 * moves available_to_sell by the same amount.
 *
 * Pacing.  Every answer's four X-Rate-Limit headers set the HTTP layer's
 * bucket (see rate_seen()); each request costs one token; until the first
 * answer, requests go one at a time.  A 429 waits X-Rate-Limit-Time-Reset-Ms (the
 * window's end) and goes again: reads as they were, writes after a re-read.
 *
 * Push (DESIGN.md, rule 1).  Immediately before each batch the items are
 * read.  A correction with a known `from` becomes a relative adjustment by
 * `delta`: a sale that lands between pull and push (or during the push) is
 * kept, never erased.  One with `from` null (the target had no record) is an
 * absolute adjustment to `to`, sent only if the re-read still shows no
 * record (else conflict).  A known `from` whose record is gone is failed.
 * BigCommerce has no idempotency key, so a write is never re-sent after an
 * ambiguous failure (answer lost, 5xx): the items are read again and the
 * correction is applied when the quantity is the one read before plus the
 * delta (or the absolute target), else failed "unknown outcome" with what
 * the re-read shows - the next pull sees the truth, and nothing was applied
 * twice.  A 429 or 503 means "not processed": those items go again after
 * the wait, re-read and re-planned.  After a 422 the items the title names
 * fail with its words; the others are read again and re-sent only if their
 * quantity is still the one read before (not applied), else failed.
 *
 * The race window that remains.  For relative adjustments, none for sales:
 * a delta cannot erase one.  A lost answer can leave a correction reported
 * failed although applied (a sale of the same item moved the quantity in
 * the meantime): safe, the next run pulls again.  For absolute adjustments
 * (new records only): a record created by someone else at that location
 * after our re-read and before BigCommerce applies the PUT is overwritten -
 * one round trip, about 0.1 to 1 s; no sale can land there (no record, no
 * stock to sell).
 */
#include "platform.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define PAGE_LIMIT 1000		/* the documented `limit` maximum */
#define BATCH_MAX 2000		/* the documented adjustment limit */
#define READ_PRODUCTS 100	/* product ids in one product_id:in filter */
#define MAX_PASSES 3		/* readings of the whole list while it keeps changing */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */

struct bc {
	char *api;		/* base_url + /v3 */
	char *apipath;		/* its path, for messages */
	char *authz;		/* "X-Auth-Token: ..." */
	char *token;		/* scrubbed out of any message */
};

/* One quantity of one item at one location, as listed. */
struct row {
	int64_t pid, vid, loc, qty;
	int base;		/* sku_id null: tracked by product */
	char *sku;
};

/* ---- helpers ---- */

/* Replace every occurrence of the token in m (server messages may echo it). */
static void
scrub(const struct bc *b, struct buf *m)
{
	const char *hide[] = { b->token };
	buf_scrub(m, hide, 1);
}

/* "12" -> (12, 0); "12/34" -> (12, 34).  -1 when malformed. */
static int
parse_item(const char *s, int64_t *pid, int64_t *vid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	*vid = 0;
	if (!s || parse_i64(s, slash ? (size_t)(slash - s) : strlen(s), pid) || *pid <= 0)
		return -1;
	if (slash && (parse_i64(slash + 1, strlen(slash + 1), vid) || *vid <= 0))
		return -1;
	return 0;
}

static int
parse_loc(const char *s, int64_t *loc)
{
	return !s || !*s || parse_i64(s, strlen(s), loc) || *loc <= 0 ? -1 : 0;
}

static int64_t
jint(json_t *o, const char *k, int64_t dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static void
req_prepare(struct chan *c, struct http_req *r, const char *method, const char *rel)
{
	struct bc *b = c->priv;
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, b->api);
	buf_adds(&r->url, rel);
	r->hdrs = curl_slist_append(r->hdrs, b->authz);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	}
	r->idempotent = !strcmp(method, "GET");
	r->no_retry = 1;	/* 429s are ours: we wait for the window's end */
	r->cost = 1;		/* one unit of the store's quota */
}

/* Feed the HTTP layer's bucket from an answer's rate-limit headers. */
static void
rate_seen(struct chan *c, const struct http_req *r)
{
	struct buf v = BUF_INIT;
	double q = -1, left = -1, win = -1, reset = -1;
	if (http_header(r, "X-Rate-Limit-Requests-Quota", &v))
		q = strtod(v.s, NULL);
	if (http_header(r, "X-Rate-Limit-Requests-Left", &v))
		left = strtod(v.s, NULL);
	if (http_header(r, "X-Rate-Limit-Time-Window-Ms", &v))
		win = strtod(v.s, NULL);
	if (http_header(r, "X-Rate-Limit-Time-Reset-Ms", &v))
		reset = strtod(v.s, NULL);
	buf_release(&v);
	if (!(q >= 1 && left >= 0 && win > 0 && q < 1e9 && win < 1e9))
		return;
	if (!(reset >= 0 && reset <= win))
		reset = win;
	/*
	 * The quota comes back all at once when the window ends, a bucket
	 * refills steadily: holding what is left and refilled at one token per
	 * reset interval, the bucket lets the rest of the quota go at once and
	 * then at most one more request, when the window ends; its answer (a
	 * new window, `left` near the quota) sets the bucket again.
	 */
	if (!(reset >= 1))
		reset = win / q;
	http_bucket(c->http, q, left, 1000.0 / reset);
}

/* Seconds to wait after a 429/503: the window's reset, Retry-After, or -1. */
static double
wait_of(const struct http_req *r)
{
	struct buf v = BUF_INIT;
	double d = -1;
	char *end;
	if (http_header(r, "X-Rate-Limit-Time-Reset-Ms", &v)) {
		double ms = strtod(v.s, &end);
		if (end != v.s && ms >= 0 && ms < 3600e3)
			d = ms / 1000.0;
	}
	if (d < 0 && http_header(r, "Retry-After", &v)) {
		double s = strtod(v.s, &end);
		if (end != v.s && s >= 0 && s < 3600)
			d = s;
	}
	buf_release(&v);
	return d;
}

/* "[chan]: GET /stores/x/v3/inventory/items: HTTP 401: title" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *method,
    const char *rel)
{
	struct bc *b = c->priv;
	buf_addf(out, "[%s]: %s %s%.*s: ", c->name, method, b->apipath, (int)strcspn(rel, "?"), rel);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	const char *t = json_string_value(json_object_get(j, "title"));
	if (t) {
		buf_adds(out, ": ");
		for (int i = 0; t[i] && i < 300; i++)
			buf_addc(out, (unsigned char)t[i] < 0x20 ? ' ' : t[i]);
	}
	json_decref(j);
	if (r->status == 401 || r->status == 403)
		buf_adds(out, " (check the access token in token_file and that its API account has the "
		    "Store Inventory scope: read-only to pull, modify to push)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://api.bigcommerce.com/stores/<store_hash>)");
	scrub(b, out);
}

/* ---- lists: every page of GET /inventory/items?<filter> ---- */

struct lst;

struct lpage {
	struct http_req r;
	struct lst *l;
	long page;
	char rel[1200];
};

struct lst {
	struct chan *c;
	char filter[1024];	/* "" or "product_id:in=1,2,3&" */
	int64_t total;		/* meta.pagination.total of the first page, -1 unknown */
	int changed;		/* a page saw another total: read again */
	struct row *rows;
	size_t nrows, caprows;
	uint64_t pages;
	int code;
	struct buf err;
};

static void page_submit(struct lst *l, long page);

static void
lst_fail(struct lst *l, int code, const struct http_req *r, const char *rel, const char *why)
{
	if (l->code)
		return;
	l->code = code;
	buf_reset(&l->err);
	if (why) {
		struct bc *b = l->c->priv;
		buf_addf(&l->err, "[%s]: GET %s%.*s: %s", l->c->name, b->apipath, (int)strcspn(rel, "?"),
		    rel, why);
	} else {
		describe(l->c, &l->err, r, "GET", rel);
	}
}

static void
page_done(struct http_req *r, void *arg)
{
	struct lpage *p = arg;
	struct lst *l = p->l;
	struct chan *c = l->c;

	rate_seen(c, r);
	if (r->status == 429 || r->status == 503) {
		if (http_retry(c->http, r, wait_of(r)) == 0)
			return;
		lst_fail(l, EX_TEMPFAIL, r, p->rel, NULL);
		goto out;
	}
	if (r->status != 200) {
		lst_fail(l, http_fail_code(r), r, p->rel, NULL);
		goto out;
	}
	json_error_t je;
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, &je);
	json_t *data = json_object_get(j, "data");
	json_t *pg = json_object_get(json_object_get(j, "meta"), "pagination");
	if (!json_is_array(data) || !json_is_object(pg)) {
		lst_fail(l, EX_DATAERR, r, p->rel, "the answer is not a list of items (no data and "
		    "meta.pagination)");
		json_decref(j);
		goto out;
	}
	int64_t total = jint(pg, "total", -1), tpages = jint(pg, "total_pages", -1);
	l->pages++;
	if (p->page == 1) {
		l->total = total;
		/* a count of pages that the total does not need would queue that
		 * many requests at once (found by fuzzing) */
		int64_t per = jint(pg, "per_page", PAGE_LIMIT);
		if (per < 1)
			per = 1;
		if (tpages < 0 || tpages > 100000 || (total >= 0 && tpages > total / per + 1)) {
			lst_fail(l, EX_DATAERR, r, p->rel, "meta.pagination.total_pages is missing or absurd");
			json_decref(j);
			goto out;
		}
		for (long k = 2; k <= tpages && !l->code; k++)
			page_submit(l, k);
	} else if (total != l->total) {
		l->changed = 1;
	}
	size_t n = json_array_size(data);
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(data, i), *id = json_object_get(it, "identity");
		json_t *locs = json_object_get(it, "locations");
		int64_t pid = jint(id, "product_id", 0), vid = jint(id, "variant_id", 0);
		json_t *sk = json_object_get(id, "sku");
		if (pid <= 0 || vid <= 0 || !json_is_array(locs)) {
			lst_fail(l, EX_DATAERR, r, p->rel, "an item has no product_id, variant_id or "
			    "locations");
			break;
		}
		for (size_t k = 0; k < json_array_size(locs); k++) {
			json_t *lo = json_array_get(locs, k);
			json_t *q = json_object_get(lo, "available_to_sell");
			int64_t loc = jint(lo, "location_id", 0);
			if (loc <= 0 || !json_is_integer(q)) {
				lst_fail(l, EX_DATAERR, r, p->rel, "a location has no location_id or "
				    "available_to_sell");
				break;
			}
			if (l->nrows == l->caprows) {
				l->caprows = l->caprows ? l->caprows * 2 : 256;
				l->rows = xrealloc(l->rows, l->caprows * sizeof *l->rows);
			}
			struct row *w = &l->rows[l->nrows++];
			w->pid = pid;
			w->vid = vid;
			w->loc = loc;
			w->qty = json_integer_value(q);
			w->base = json_is_null(json_object_get(id, "sku_id")) ||
			    !json_object_get(id, "sku_id");
			w->sku = xstrdup(json_is_string(sk) ? json_string_value(sk) : "");
		}
	}
	json_decref(j);
out:
	http_req_release(&p->r);
	free(p);
}

static void
page_submit(struct lst *l, long page)
{
	struct lpage *p = xcalloc(1, sizeof *p);
	p->l = l;
	p->page = page;
	snprintf(p->rel, sizeof p->rel, "/inventory/items?%slimit=%d&page=%ld", l->filter, PAGE_LIMIT,
	    page);
	req_prepare(l->c, &p->r, "GET", p->rel);
	p->r.done = page_done;
	p->r.arg = p;
	http_submit(l->c->http, &p->r);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->vid != y->vid)
		return x->vid < y->vid ? -1 : 1;
	return x->loc < y->loc ? -1 : x->loc > y->loc;
}

static void
rows_free(struct row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].sku);
	free(r);
}

/*
 * Read the lists of the given filters (each "" or "product_id:in=...&"),
 * all at once; rows sorted and unique.  A list whose total moved while it
 * was read is read again (a page may have been skipped).
 */
static int
lists_read(struct chan *c, char **filters, size_t nf, struct row **out, size_t *nout,
    struct buf *err)
{
	struct lst *ls = xcalloc(nf ? nf : 1, sizeof *ls);
	struct row *all = NULL;
	size_t nall = 0, cap = 0;
	int rc = 0;
	for (size_t i = 0; i < nf; i++) {
		ls[i].c = c;
		snprintf(ls[i].filter, sizeof ls[i].filter, "%s", filters[i]);
	}
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		int again = 0;
		for (size_t i = 0; i < nf; i++) {
			struct lst *l = &ls[i];
			if (pass && !l->changed)
				continue;
			rows_free(l->rows, l->nrows);
			l->rows = NULL;
			l->nrows = l->caprows = 0;
			l->changed = 0;
			l->total = -1;
			page_submit(l, 1);
		}
		http_run(c->http);
		for (size_t i = 0; i < nf; i++) {
			c->pages += ls[i].pages;
			ls[i].pages = 0;
			if (ls[i].code && !rc) {
				rc = ls[i].code;
				buf_reset(err);
				buf_add(err, ls[i].err.s, ls[i].err.len);
			}
			again |= ls[i].changed;
		}
		if (rc || !again)
			break;
		if (pass + 1 == MAX_PASSES) {
			rc = EX_TEMPFAIL;
			buf_reset(err);
			buf_addf(err, "[%s]: the inventory list kept changing while it was read (%d "
			    "readings); try again", c->name, MAX_PASSES);
		}
	}
	for (size_t i = 0; i < nf; i++) {
		if (!rc) {
			if (nall + ls[i].nrows > cap) {
				cap = (nall + ls[i].nrows) * 2;
				all = xrealloc(all, cap * sizeof *all);
			}
			if (ls[i].nrows)	/* (all is still NULL while nothing came) */
				memcpy(all + nall, ls[i].rows, ls[i].nrows * sizeof *all);
			nall += ls[i].nrows;
			free(ls[i].rows);
		} else {
			rows_free(ls[i].rows, ls[i].nrows);
		}
		buf_release(&ls[i].err);
	}
	free(ls);
	if (nall > 1)
		qsort(all, nall, sizeof *all, row_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nall; i++) {
		if (u && !row_cmp(&all[u - 1], &all[i])) {
			free(all[i].sku);
			continue;
		}
		all[u++] = all[i];
	}
	*out = all;
	*nout = u;
	return rc;
}

/* ---- pull ---- */

/* Rows with one identity: the same item ("P" or "P/V") at the same location. */
static int
row_same_item(const struct row *a, const struct row *b)
{
	return a->pid == b->pid && a->base == b->base && (a->base || a->vid == b->vid) &&
	    a->loc == b->loc;
}

static const struct row *sort_rows;	/* for row_identity_cmp (qsort has no argument) */

/* Indices of rows by identity, then by position (the order they were read). */
static int
row_identity_cmp(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	const struct row *a = &sort_rows[i], *b = &sort_rows[j];
	int64_t av = a->base ? 0 : a->vid, bv = b->base ? 0 : b->vid;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->base != b->base)
		return a->base < b->base ? -1 : 1;
	if (av != bv)
		return av < bv ? -1 : 1;
	if (a->loc != b->loc)
		return a->loc < b->loc ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int
bc_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct row *rows;
	size_t n;
	char *f = "";
	int rc = lists_read(c, &f, 1, &rows, &n, err);
	if (rc) {
		rows_free(rows, n);
		return rc;
	}
	/*
	 * One record per item and location: a list that shifted between two
	 * pages (an item deleted and another added, the total the same) can
	 * list one twice.  The later reading wins.
	 */
	size_t *ord = xcalloc(n ? n : 1, sizeof *ord);
	unsigned char *dup = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++)
		ord[i] = i;
	sort_rows = rows;
	qsort(ord, n, sizeof *ord, row_identity_cmp);
	for (size_t i = 0; i + 1 < n; i++)	/* ord: by identity, then reading order */
		if (row_same_item(&rows[ord[i]], &rows[ord[i + 1]]))
			dup[ord[i]] = 1;
	free(ord);
	struct buf item = BUF_INIT, loc = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		struct row *w = &rows[i];
		if (dup[i])
			continue;
		buf_reset(&item);
		if (w->base)
			buf_addf(&item, "%lld", (long long)w->pid);
		else
			buf_addf(&item, "%lld/%lld", (long long)w->pid, (long long)w->vid);
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->sku);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], item.s);
		if (!keep)
			continue;
		buf_reset(&loc);
		buf_addf(&loc, "%lld", (long long)w->loc);
		struct pulled p = { item.s, w->sku, loc.s, "available", w->qty };
		emit(&p, arg);
	}
	buf_release(&item);
	buf_release(&loc);
	free(dup);
	rows_free(rows, n);
	return 0;
}

/* ---- read ---- */

static int
i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static const struct row *
row_find(const struct row *rows, size_t n, int64_t pid, int64_t vid, int64_t loc)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {	/* first row of the product */
		size_t mid = (lo + hi) / 2;
		if (rows[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && rows[lo].pid == pid; lo++)
		if ((vid ? rows[lo].vid == vid : rows[lo].base) && rows[lo].loc == loc)
			return &rows[lo];
	return NULL;
}

static int
bc_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	int64_t *pids = xcalloc(n ? n : 1, sizeof *pids);
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t pid, vid, loc;
		v[i]->has_current = 0;
		if (!parse_item(v[i]->item, &pid, &vid) && !parse_loc(v[i]->location, &loc))
			pids[np++] = pid;
	}
	qsort(pids, np, sizeof *pids, i64_cmp);
	size_t u = 0;
	for (size_t i = 0; i < np; i++)
		if (!u || pids[u - 1] != pids[i])
			pids[u++] = pids[i];
	size_t nf = (u + READ_PRODUCTS - 1) / READ_PRODUCTS;
	char **fs = xcalloc(nf ? nf : 1, sizeof *fs);
	for (size_t f = 0; f < nf; f++) {
		struct buf b = BUF_INIT;
		buf_adds(&b, "product_id:in=");
		for (size_t k = f * READ_PRODUCTS; k < u && k < (f + 1) * READ_PRODUCTS; k++)
			buf_addf(&b, "%s%lld", k % READ_PRODUCTS ? "," : "", (long long)pids[k]);
		buf_addc(&b, '&');
		fs[f] = b.s;
	}
	struct row *rows = NULL;
	size_t nr = 0;
	int rc = nf ? lists_read(c, fs, nf, &rows, &nr, err) : 0;
	for (size_t i = 0; i < n && !rc; i++) {
		int64_t pid, vid, loc;
		if (parse_item(v[i]->item, &pid, &vid) || parse_loc(v[i]->location, &loc))
			continue;
		const struct row *w = row_find(rows, nr, pid, vid, loc);
		if (w) {
			v[i]->has_current = 1;
			v[i]->current = w->qty;
		}
	}
	rows_free(rows, nr);
	for (size_t f = 0; f < nf; f++)
		free(fs[f]);
	free(fs);
	free(pids);
	return rc;
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_RECHECK, W_DONE };

struct wr {
	struct corr *k;
	int64_t pid, vid, loc;
	int64_t pre;		/* quantity read before the write (absolute: none) */
	int64_t expect;		/* quantity once applied */
	int absolute, state;
};

struct batch {
	struct http_req r;
	struct chan *c;
	struct wr **w;
	size_t n;
	const char *method, *rel;
	double wait;		/* after a 429/503, -1 none */
	int auth_failed;
	char msg[400];
};

/* Does a 422 title name this item ("variant_id 12]", "product_id 7 is ...")? */
static int
named_in(const char *title, const struct wr *t)
{
	char pat[48];
	size_t pl;
	const char *p = title;
	if (t->vid)
		snprintf(pat, sizeof pat, "variant_id %lld", (long long)t->vid);
	else
		snprintf(pat, sizeof pat, "product_id %lld", (long long)t->pid);
	pl = strlen(pat);
	while ((p = strstr(p, pat)) != NULL) {
		if (p[pl] < '0' || p[pl] > '9')
			return 1;
		p += pl;
	}
	return 0;
}

static void
batch_done(struct http_req *r, void *arg)
{
	struct batch *b = arg;
	struct chan *c = b->c;

	rate_seen(c, r);
	b->wait = -1;
	if (r->ambiguous) {
		for (size_t i = 0; i < b->n; i++)
			b->w[i]->state = W_UNKNOWN;
		return;
	}
	struct buf m = BUF_INIT;
	describe(c, &m, r, b->method, b->rel);
	if (r->status == 0 || r->status == 429 || r->status == 503) {
		/* not processed (never sent, or the server said so): again after the wait */
		b->wait = wait_of(r);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RETRY;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s", m.s);
		}
	} else if (r->status == 200) {
		for (size_t i = 0; i < b->n; i++) {
			struct corr *k = b->w[i]->k;
			b->w[i]->state = W_DONE;
			k->status = CS_APPLIED;
			k->error[0] = '\0';
			if (b->w[i]->absolute) {
				k->has_after = 1;
				k->after = b->w[i]->expect;
			}
		}
	} else if (r->status == 422) {
		json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
		const char *title = json_string_value(json_object_get(j, "title"));
		size_t named = 0;
		for (size_t i = 0; title && i < b->n; i++)
			if (named_in(title, b->w[i])) {
				b->w[i]->state = W_DONE;
				corr_fail(b->w[i]->k, CS_FAILED, "not written: %.230s", m.s);
				named++;
			}
		for (size_t i = 0; i < b->n; i++)
			if (b->w[i]->state == W_SENT) {
				if (named) {
					b->w[i]->state = W_RECHECK;	/* applied or not? read again */
					snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s", m.s);
				} else {
					b->w[i]->state = W_DONE;
					corr_fail(b->w[i]->k, CS_FAILED, "not written: %.230s", m.s);
				}
			}
		json_decref(j);
	} else {
		b->auth_failed = r->status == 401 || r->status == 403;
		snprintf(b->msg, sizeof b->msg, "%s", m.s);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_DONE;
			corr_fail(b->w[i]->k, CS_FAILED, "not written: %.230s", m.s);
		}
	}
	buf_release(&m);
}

static void
batch_submit(struct chan *c, struct batch *b, int absolute, const char *run)
{
	b->method = absolute ? "PUT" : "POST";
	b->rel = absolute ? "/inventory/adjustments/absolute" : "/inventory/adjustments/relative";
	req_prepare(c, &b->r, b->method, b->rel);
	b->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	b->c = c;
	json_t *items = json_array();
	for (size_t i = 0; i < b->n; i++) {
		struct wr *t = b->w[i];
		json_t *e = json_object();
		json_object_set_new(e, "location_id", json_integer(t->loc));
		if (t->vid)
			json_object_set_new(e, "variant_id", json_integer(t->vid));
		else
			json_object_set_new(e, "product_id", json_integer(t->pid));
		json_object_set_new(e, "quantity", json_integer(absolute ? t->k->to : t->k->delta));
		json_array_append_new(items, e);
	}
	struct buf why = BUF_INIT;
	const char *reason = b->n && b->w[0]->k->reason && *b->w[0]->k->reason ? b->w[0]->k->reason : "sync";
	buf_addf(&why, "invkit %.40s (run %.60s)", reason, run ? run : "");
	json_t *body = json_pack("{s:s%, s:o}", "reason", why.s, why.len, "items", items);
	char *s = json_dumps(body, JSON_COMPACT);
	buf_adds(&b->r.body, s);
	free(s);
	json_decref(body);
	buf_release(&why);
	b->r.done = batch_done;
	b->r.arg = b;
	http_submit(c->http, &b->r);
}

static int
wr_cmp(const void *a, const void *b)
{
	const struct wr *x = *(struct wr *const *)a, *y = *(struct wr *const *)b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->vid != y->vid)
		return x->vid < y->vid ? -1 : 1;
	return x->loc < y->loc ? -1 : x->loc > y->loc;
}

/*
 * One round: read the pending items, plan, send at most one relative and
 * one absolute batch, settle the answers (re-reading after lost ones).
 * What goes again is left in pend; *wait is the longest wait asked for.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, const char *run, double *wait,
    struct buf *err)
{
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **ws = xcalloc(n ? n : 1, sizeof *ws);
	struct wr **rel = xcalloc(n ? n : 1, sizeof *rel), **abs_ = xcalloc(n ? n : 1, sizeof *abs_);
	struct batch bs[2];
	size_t nrel = 0, nabs = 0;
	int rc;

	memset(bs, 0, sizeof bs);
	*wait = -1;
	rc = bc_read(c, pend, n, err);
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
		t->state = W_DONE;
		parse_item(k->item, &t->pid, &t->vid);
		parse_loc(k->location, &t->loc);
		if (k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: no inventory record for item %.40s at "
			    "location %.20s (gone since it was read)", k->item, k->location);
			continue;
		}
		if (!k->has_from && k->has_current) {
			corr_fail(k, CS_CONFLICT, "a record appeared since it was read: %lld now (not "
			    "written)", (long long)k->current);
			continue;
		}
		if (k->has_from && k->delta == 0) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
			continue;
		}
		t->absolute = !k->has_from;
		t->pre = k->current;
		if (t->absolute)
			t->expect = k->to;
		else if (__builtin_add_overflow(k->current, k->delta, &t->expect)) {
			corr_fail(k, CS_FAILED, "not written: %lld %+lld is out of range",
			    (long long)k->current, (long long)k->delta);
			continue;
		}
		t->state = W_SENT;
		ws[nw++] = t;
	}
	/* one item and location twice would be adjusted twice: refuse the later ones */
	qsort(ws, nw, sizeof *ws, wr_cmp);
	size_t m = 0;
	for (size_t i = 0; i < nw; i++) {
		if (m && !wr_cmp(&ws[m - 1], &ws[i])) {
			ws[i]->state = W_DONE;
			corr_fail(ws[i]->k, CS_FAILED, "not written: another correction for item %.40s at "
			    "location %.20s is in the same batch", ws[i]->k->item, ws[i]->k->location);
			continue;
		}
		ws[m++] = ws[i];
	}
	nw = m;
	for (size_t i = 0; i < nw; i++) {
		if (ws[i]->absolute)
			abs_[nabs++] = ws[i];
		else
			rel[nrel++] = ws[i];
	}
	if (nrel) {
		bs[0].w = rel;
		bs[0].n = nrel;
		batch_submit(c, &bs[0], 0, run);
	}
	if (nabs) {
		bs[1].w = abs_;
		bs[1].n = nabs;
		batch_submit(c, &bs[1], 1, run);
	}
	http_run(c->http);
	/* answers lost, or a 422 that named others: what does the platform show now? */
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
		if (bc_read(c, unk, nunk, &e)) {
			for (size_t i = 0; i < nunk; i++)
				corr_fail(unk[i], CS_FAILED, "unknown outcome: %s, and the re-read failed: "
				    "%.150s", unkw[i]->state == W_UNKNOWN ? "the answer was lost" :
				    "the request was refused", e.s);
		} else {
			for (size_t i = 0; i < nunk; i++) {
				struct corr *k = unk[i];
				struct wr *t = unkw[i];
				int had = !t->absolute;	/* a record before the write */
				if (k->has_current && k->current == t->expect) {
					k->status = CS_APPLIED;
					k->error[0] = '\0';
					t->state = W_DONE;
				} else if (t->state == W_RECHECK && (had ? k->has_current &&
				    k->current == t->pre : !k->has_current)) {
					t->state = W_RETRY;	/* not applied: the 422 was about others */
				} else if (k->has_current) {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if "
					    "applied; not sent again)", (long long)k->current,
					    (long long)t->expect);
					t->state = W_DONE;
				} else {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows no record "
					    "(not sent again)");
					t->state = W_DONE;
				}
			}
		}
		buf_release(&e);
	}
	free(unk);
	free(unkw);
	for (size_t i = 0; i < 2; i++) {
		if (bs[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, bs[i].msg);
		}
		if (bs[i].wait > *wait)
			*wait = bs[i].wait;
		http_req_release(&bs[i].r);
	}
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_RETRY)
			pend[nret++] = ws[i]->k;
	*npend = nret;
out:
	free(rel);
	free(abs_);
	free(ws);
	free(all);
	return rc;
}

static int
bc_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	size_t np = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		int64_t pid, vid, loc;
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, &pid, &vid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a BigCommerce item "
			    "(<product_id> or <product_id>/<variant_id>)", k->item ? k->item : "");
		else if (parse_loc(k->location, &loc) < 0)
			corr_fail(k, CS_FAILED, "not written: location '%.40s' is not a BigCommerce "
			    "location id", k->location ? k->location : "");
		else
			pend[np++] = k;
	}
	for (size_t off = 0; off < np && !rc; off += BATCH_MAX) {
		size_t cnt = np - off < BATCH_MAX ? np - off : BATCH_MAX;
		struct corr **p = pend + off;
		for (int round = 0; cnt && !rc; round++) {
			double wait;
			rc = push_round(c, p, &cnt, run, &wait, err);
			if (!cnt || rc)
				break;
			if (round + 1 >= MAX_ROUNDS) {
				for (size_t i = 0; i < cnt; i++) {
					char e[sizeof p[i]->error];
					snprintf(e, sizeof e, "%s", p[i]->error);
					corr_fail(p[i], CS_FAILED, "not written: gave up after %d attempts: "
					    "%.200s", MAX_ROUNDS, e);
				}
				break;
			}
			sleep_s(wait >= 0 ? wait : 0.5 * (1 << (round < 6 ? round : 6)));
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
bc_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required "
		    "(https://api.bigcommerce.com/stores/<store_hash>)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	for (size_t i = 0; i < sec.len; i++)
		if ((unsigned char)sec.s[i] <= 0x20 || sec.s[i] == 0x7f) {
			buf_addf(err, "%s: [%s]: the secret must be the API account's access token, on "
			    "one line", path, c->name);
			explicit_bzero(sec.s, sec.len);
			buf_release(&sec);
			return EX_CONFIG;
		}
	struct bc *b = xcalloc(1, sizeof *b);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	struct buf a = BUF_INIT;
	buf_add(&a, base, bl);
	buf_adds(&a, "/v3");
	b->api = a.s;
	const char *hp = strstr(b->api, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	b->apipath = xstrdup(hp ? hp : "/v3");
	struct buf h = BUF_INIT;
	buf_adds(&h, "X-Auth-Token: ");
	buf_add(&h, sec.s, sec.len);
	b->authz = h.s;
	b->token = xstrndup(sec.s, sec.len);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	c->priv = b;
	/* one request at a time until the first answer tells the store's quota */
	http_bucket(c->http, 1, 1, 1);
	return 0;
}

static void
bc_close(struct chan *c)
{
	struct bc *b = c->priv;
	if (!b)
		return;
	free(b->api);
	free(b->apipath);
	free_secret(b->authz);
	free_secret(b->token);
	free(b);
	c->priv = NULL;
}

const struct driver drv_bigcommerce = {
	.type = "bigcommerce",
	.max_batch = BATCH_MAX,
	.open = bc_open,
	.pull = bc_pull,
	.read = bc_read,
	.push = bc_push,
	.close = bc_close,
};
