/*
 * woocommerce.c - the WooCommerce driver: REST API v3 under
 * {base_url}/wp-json/wc/v3, products and their variations.
 *
 * Facts it relies on, with the page that states each one:
 *   - The API lives at /wp-json/wc/v3; HTTP Basic auth with the consumer key
 *     as user name and the consumer secret as password; when a server does
 *     not pass the Authorization header on, the key and secret may go in the
 *     query string instead (consumer_key, consumer_secret).
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication
 *   - Errors are {"code", "message", "data": {"status"}} with 400/401/404/500.
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#errors
 *   - Lists take page, per_page and offset and answer X-WP-Total and
 *     X-WP-TotalPages.  https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination
 *     per_page is 1..100.  https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/
 *   - GET /products takes include, offset, orderby (id among the options) and
 *     order; a product has id, sku, type (simple, grouped, external,
 *     variable), manage_stock (boolean) and stock_quantity (integer).
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-products
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#product-properties
 *   - GET /products/{id}/variations takes the same paging, include and
 *     orderby=id; a variation's manage_stock is "boolean, string" (the
 *     string is "parent" when the parent product holds the stock).
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-product-variations
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#product-variation-properties
 *   - POST /products/batch and POST /products/{id}/variations/batch take
 *     {"update": [...]}, by default at most 100 objects per request.
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#batch-update-products
 *     https://woocommerce.github.io/woocommerce-rest-api-docs/#batch-update-product-variations
 *   - A batch answers 200 with, per item, the object or {"id", "error":
 *     {"code", "message", "data"}}; over the limit it is a 413
 *     woocommerce_rest_request_entity_too_large.  (WooCommerce source,
 *     includes/rest-api/Controllers/Version3/class-wc-rest-controller.php,
 *     batch_items() and check_batch_limit(); the docs do not show it.)
 *   - _fields=a,b limits an answer to those fields.
 *     https://developer.wordpress.org/rest-api/using-the-rest-api/global-parameters/#_fields
 * UNVERIFIED (and handled either way): that a managed item with a null
 * stock_quantity counts as 0 (we emit 0); WooCommerce's answer for the
 * variations of a parent that no longer exists (we take any 404 there as
 * "those items are gone").
 *
 * Items.  A product is its id ("123"); a variation is "<parent>/<variation>"
 * ("120/124"), because variations are written through their parent's batch
 * endpoint and the parent is needed to route them.  Location is "" (one
 * pool), state "available".
 *
 * Pull.  Only stock WooCommerce tracks is emitted: a product with
 * manage_stock true (a variable one too, when it holds the stock for its
 * variations), a variation with its own stock (manage_stock true).  Items
 * whose stock is not managed have no quantity to sync: they are not emitted
 * but counted in c->unmanaged for invpull's summary.  A variation showing
 * manage_stock "parent" is neither: its stock is its parent's, emitted as
 * the parent.  Lists are read in id order with offsets 99 apart, so that
 * each page repeats the last item of the one before: when a product
 * disappears mid-pull (deleted, trashed) and shifts the rest, the seam shows
 * it and the list is read again.  Products added mid-pull (a larger
 * X-WP-Total) are fetched too and the list is read again while it keeps
 * changing; duplicates are removed by id.  A page that fails after the HTTP
 * layer's retries fails the whole pull (75 or 69): never a short list.
 * pull_opts.since is not used: every pull reads everything (a superset is
 * always safe; modified_after on products would miss variations' changes).
 * The --item and --sku filters are applied to what was read.
 *
 * Push.  WooCommerce has no compare-and-set and no idempotency key, and a
 * batch sets absolute quantities, so (DESIGN.md, rule 3): immediately before
 * each batch the items are read again; an item whose quantity is no longer
 * the correction's `from` is a conflict (nothing written), the others are set
 * to current + delta.  A batch is never re-sent as it was: a 429/503 (or a
 * batch that could not be sent) is re-read and re-planned after the wait,
 * and a batch whose answer was lost is resolved by reading the items again:
 * applied when the quantity is the one we set, else failed with what the
 * re-read shows.
 *
 * The race window that remains: a sale that lands after the server answered
 * our re-read and before WooCommerce saves the item is overwritten.  It is
 * the rest of that read's answer in flight, our planning (microseconds), the
 * batch's trip to the server, and the server's work on the items before it
 * in the same batch (WooCommerce saves them one by one): one round trip plus
 * up to one batch's processing time, typically 0.1 s to a few seconds on a
 * real shop; never a backoff or Retry-After wait, since those come before
 * the re-read.  Smaller batches narrow it; only WooCommerce itself could
 * close it.
 */
#include "platform.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define PER_PAGE 100		/* the per_page maximum */
#define STRIDE (PER_PAGE - 1)	/* page k starts at k * STRIDE: one item of overlap */
#define MAX_PASSES 4		/* readings of one list before giving up (75) */
#define BATCH_MAX 100		/* the documented batch limit */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define LIST_WINDOW 64		/* pages of one list asked for at a time (memory stays
				   bounded whatever X-WP-Total claims) */

struct woo {
	char *api;		/* base_url + /wp-json/wc/v3 */
	char *apipath;		/* its path, for messages */
	char *authz;		/* "Authorization: Basic ..." (auth = basic) */
	char *qauth;		/* "consumer_key=...&consumer_secret=..." (auth = query) */
	char *hide[5];		/* key, secret, base64, and key and secret URL-encoded:
				   scrubbed out of any message */
	uint64_t rng;
};

/* ---- small helpers ---- */

/* Replace every occurrence of the credentials in b (messages come from servers). */
static void
scrub(const struct woo *w, struct buf *b)
{
	buf_scrub(b, (const char *const *)w->hide, 5);
}

/* "123" -> (123, 0); "120/124" -> (120, 124).  -1 when malformed. */
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

/* An int64 -> size_t map (open addressing; keys are ids, never 0). */
struct imap {
	int64_t *k;
	size_t *v;
	size_t cap, n;
};

static size_t *
imap_get(const struct imap *m, int64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ULL >> 20) & (m->cap - 1);;
	    i = (i + 1) & (m->cap - 1)) {
		if (m->k[i] == key)
			return &m->v[i];
		if (!m->k[i])
			return NULL;
	}
}

static void
imap_put(struct imap *m, int64_t key, size_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct imap o = *m;
		m->cap = o.cap ? o.cap * 2 : 64;
		m->k = xcalloc(m->cap, sizeof *m->k);
		m->v = xcalloc(m->cap, sizeof *m->v);
		m->n = 0;
		for (size_t i = 0; i < o.cap; i++)
			if (o.k[i])
				imap_put(m, o.k[i], o.v[i]);
		free(o.k);
		free(o.v);
	}
	size_t i = (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ULL >> 20) & (m->cap - 1);
	while (m->k[i] && m->k[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->k[i])
		m->n++;
	m->k[i] = key;
	m->v[i] = val;
}

static void
imap_release(struct imap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* ---- requests and their failures ---- */

/* A request to the API: rel is "/products?..." (query optional). */
static void
req_prepare(struct chan *c, struct http_req *r, const char *method, const char *rel)
{
	struct woo *w = c->priv;
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, w->api);
	buf_adds(&r->url, rel);
	if (w->qauth) {
		buf_addc(&r->url, strchr(rel, '?') ? '&' : '?');
		buf_adds(&r->url, w->qauth);
	}
	if (w->authz)
		r->hdrs = curl_slist_append(r->hdrs, w->authz);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	}
	r->idempotent = !strcmp(method, "GET");
}

/* "METHOD /path" of a request, without its query (it may hold the key). */
static void
req_what(struct chan *c, char *out, size_t n, const char *method, const char *rel)
{
	struct woo *w = c->priv;
	snprintf(out, n, "%s %s%.*s", method, w->apipath, (int)strcspn(rel, "?"), rel);
}

/* Exit code for a request that failed (DESIGN.md: 77 auth, 75 later, 69 unavailable). */
/*
 * s scrubbed of the credentials, then cut to at most max bytes (in that
 * order: a credential cut in two would escape the scrub).  Returns t->s.
 */
static const char *
scrubbed(const struct woo *w, struct buf *t, const char *s, size_t max)
{
	buf_reset(t);
	buf_adds(t, s ? s : "");
	scrub(w, t);
	if (t->len > max) {
		t->len = max;
		t->s[max] = '\0';
	}
	return t->s;
}

/* Append the platform's own words from an error answer: ": code: message". */
static void
add_platform_error(const struct woo *w, struct buf *out, const struct http_req *r)
{
	json_t *j = r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	const char *code = j ? json_string_value(json_object_get(j, "code")) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
	struct buf t = BUF_INIT;
	if (code) {
		buf_adds(out, ": ");
		code = scrubbed(w, &t, code, 80);
		for (int i = 0; code[i]; i++)	/* one line, as the message below */
			buf_addc(out, (unsigned char)code[i] < 0x20 ? ' ' : code[i]);
	}
	if (msg) {
		buf_adds(out, ": ");
		msg = scrubbed(w, &t, msg, 200);
		for (int i = 0; msg[i]; i++)
			buf_addc(out, (unsigned char)msg[i] < 0x20 ? ' ' : msg[i]);
	}
	buf_release(&t);
	json_decref(j);
}

/* "[chan]: GET /wp-json/wc/v3/products: HTTP 401: code: message" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *what)
{
	buf_addf(out, "[%s]: %s: ", c->name, what);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (r->status)
		add_platform_error(c->priv, out, r);
	if (r->status == 401 || r->status == 403)
		buf_adds(out, " (check the consumer key and secret in token_file and that the key "
		    "has read/write permissions)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: it must be the site's root)");
	scrub(c->priv, out);
}

/* ---- JSON objects of lists ---- */

enum { MS_NO, MS_YES, MS_PARENT };
enum { TY_OTHER, TY_SIMPLE, TY_VARIABLE, TY_VARIATION };

struct wobj {
	int64_t id;
	char *sku;
	int type, managed, has_qty;
	int64_t qty;
};

/* Parse one product or variation; -1 with why set when the answer is bad. */
static int
wobj_parse(json_t *o, struct wobj *out, const char **why)
{
	json_t *v;
	memset(out, 0, sizeof *out);
	if (!json_is_object(o)) {
		*why = "an element is not an object";
		return -1;
	}
	v = json_object_get(o, "id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		*why = "an element has no valid id";
		return -1;
	}
	out->id = json_integer_value(v);
	v = json_object_get(o, "type");
	if (json_is_string(v)) {
		const char *t = json_string_value(v);
		out->type = !strcmp(t, "simple") ? TY_SIMPLE : !strcmp(t, "variable") ? TY_VARIABLE :
		    !strcmp(t, "variation") ? TY_VARIATION : TY_OTHER;
	}
	v = json_object_get(o, "manage_stock");
	out->managed = json_is_true(v) ? MS_YES :
	    (json_is_string(v) && !strcmp(json_string_value(v), "parent")) ? MS_PARENT : MS_NO;
	v = json_object_get(o, "stock_quantity");
	if (json_is_integer(v)) {
		out->has_qty = 1;
		out->qty = json_integer_value(v);
	} else if (json_is_real(v)) {
		/* some shops filter stock amounts to floats: accept whole numbers only */
		double d = json_real_value(v);
		if (d != d || d < -9e15 || d > 9e15 || d != (double)(int64_t)d) {
			if (out->managed == MS_YES) {
				*why = "a stock_quantity is not a whole number";
				return -1;
			}
		} else {
			out->has_qty = 1;
			out->qty = (int64_t)d;
		}
	} else if (!json_is_null(v) && v && out->managed == MS_YES) {
		*why = "a stock_quantity is not a number";
		return -1;
	}
	/* UNVERIFIED: a managed item with no quantity set is 0 to WooCommerce */
	if (out->managed == MS_YES && !out->has_qty) {
		out->has_qty = 1;
		out->qty = 0;
	}
	v = json_object_get(o, "sku");
	out->sku = xstrdup(json_is_string(v) ? json_string_value(v) : "");
	return 0;
}

static int
wobj_cmp(const void *a, const void *b)
{
	const struct wobj *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Sort by id and drop duplicates (page overlap, lists read twice). */
static void
wobj_unique(struct wobj *o, size_t *n)
{
	size_t j = 0;
	if (*n > 1)
		qsort(o, *n, sizeof *o, wobj_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (j && o[j - 1].id == o[i].id) {
			free(o[i].sku);
			continue;
		}
		o[j++] = o[i];
	}
	*n = j;
}

/* ---- pull: paginated lists read concurrently ---- */

struct lpage {
	int done;
	size_t count;
	int64_t first, last;	/* ids of its first and last element */
	long long total;	/* its X-WP-Total, -1 when absent */
};

struct pullx;

struct listing {
	struct pullx *px;
	int64_t parent;		/* 0: /products; else /products/{parent}/variations */
	int pass;		/* readings started */
	struct lpage *pg;
	size_t npg, cappg;	/* pages asked for so far */
	size_t want;		/* pages this reading needs, as far as known */
	struct wobj *o;
	size_t no, capo;
	int inflight;
	int complete;
};

struct pullx {
	struct chan *c;
	struct listing prod;
	struct listing **var;	/* the variation lists, one per variable product */
	size_t nvar, capvar;
	struct imap varof;	/* parent id -> index in var */
	int code;		/* first failure (exit code), 0 while none */
	struct buf err;
	uint64_t pages;
};

struct lreq {
	struct http_req r;
	struct listing *l;
	size_t page;
	char what[200];
};

static void list_done(struct http_req *r, void *arg);

static void
pull_fail(struct pullx *px, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pull_fail(struct pullx *px, int code, const char *fmt, ...)
{
	if (px->code)
		return;
	px->code = code;
	va_list ap;
	va_start(ap, fmt);
	char m[1024];
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	buf_reset(&px->err);
	buf_adds(&px->err, m);
	scrub(px->c->priv, &px->err);
}

static void
list_page(struct listing *l, size_t k)
{
	struct pullx *px = l->px;
	struct lreq *q = xcalloc(1, sizeof *q);
	char rel[256];
	if (l->parent)
		snprintf(rel, sizeof rel, "/products/%lld/variations?per_page=%d&offset=%zu&orderby=id"
		    "&order=asc&_fields=id,sku,manage_stock,stock_quantity", (long long)l->parent,
		    PER_PAGE, k * STRIDE);
	else
		snprintf(rel, sizeof rel, "/products?per_page=%d&offset=%zu&orderby=id&order=asc"
		    "&_fields=id,sku,type,manage_stock,stock_quantity", PER_PAGE, k * STRIDE);
	if (k >= l->cappg) {
		size_t nc = l->cappg ? l->cappg * 2 : 8;
		while (nc <= k)
			nc *= 2;
		l->pg = xrealloc(l->pg, nc * sizeof *l->pg);
		l->cappg = nc;
	}
	memset(&l->pg[k], 0, sizeof l->pg[k]);
	if (k >= l->npg)
		l->npg = k + 1;
	q->l = l;
	q->page = k;
	req_prepare(px->c, &q->r, "GET", rel);
	req_what(px->c, q->what, sizeof q->what, "GET", rel);
	q->r.done = list_done;
	q->r.arg = q;
	l->inflight++;
	http_submit(px->c->http, &q->r);
}

static void
list_start(struct listing *l)
{
	for (size_t i = 0; i < l->no; i++)
		free(l->o[i].sku);
	l->no = 0;
	l->npg = 0;
	l->want = 1;
	l->pass++;
	list_page(l, 0);
}

/* Pages needed to cover total items with overlapping pages. */
static size_t
pages_for(long long total)
{
	if (total <= PER_PAGE)
		return 1;
	return 1 + (size_t)((total - PER_PAGE + STRIDE - 1) / STRIDE);
}

/* The variation list of a variable product, started on first sight. */
static void
want_variations(struct pullx *px, int64_t parent)
{
	if (imap_get(&px->varof, parent))
		return;
	if (px->nvar == px->capvar) {
		px->capvar = px->capvar ? px->capvar * 2 : 16;
		px->var = xrealloc(px->var, px->capvar * sizeof *px->var);
	}
	struct listing *l = xcalloc(1, sizeof *l);
	l->px = px;
	l->parent = parent;
	imap_put(&px->varof, parent, px->nvar);
	px->var[px->nvar++] = l;
	list_start(l);
}

/*
 * Every page of this reading is in: check the seams (page k must start
 * with the last item of page k - 1) and whether the list changed size; read
 * it again if so.
 */
static void
list_settle(struct listing *l)
{
	struct pullx *px = l->px;
	int seams_ok = 1, changed = 0;
	for (size_t k = 0; k < l->npg; k++) {
		if (l->pg[k].total != l->pg[0].total)
			changed = 1;
		if (!k)
			continue;
		const struct lpage *a = &l->pg[k - 1], *b = &l->pg[k];
		if (a->count == PER_PAGE ? (!b->count || b->first != a->last) : b->count > 0)
			seams_ok = 0;
	}
	if (seams_ok && (!changed || l->pass >= MAX_PASSES - 1)) {
		l->complete = 1;
		return;
	}
	if (l->pass >= MAX_PASSES) {
		if (l->parent)
			pull_fail(px, EX_TEMPFAIL, "[%s]: the variations of product %lld changed while "
			    "they were read (%d times); try again", px->c->name, (long long)l->parent,
			    l->pass);
		else
			pull_fail(px, EX_TEMPFAIL, "[%s]: the product list changed while it was read "
			    "(%d times); try again", px->c->name, l->pass);
		return;
	}
	list_start(l);
}

static void
list_done(struct http_req *r, void *arg)
{
	struct lreq *q = arg;
	struct listing *l = q->l;
	struct pullx *px = l->px;
	json_t *j = NULL;
	const char *why = NULL;

	l->inflight--;
	px->pages++;
	if (px->code)
		goto out;
	if (r->status != 200) {
		struct buf m = BUF_INIT;
		describe(px->c, &m, r, q->what);
		pull_fail(px, http_fail_code(r), "%s", m.s);
		buf_release(&m);
		goto out;
	}
	json_error_t je;
	j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, &je);
	if (!json_is_array(j)) {
		pull_fail(px, EX_DATAERR, "[%s]: %s: the answer is not a JSON array%s%s", px->c->name,
		    q->what, j ? "" : ": ", j ? "" : je.text);
		goto out;
	}
	struct lpage *pg = &l->pg[q->page];
	struct buf hv = BUF_INIT;
	int64_t t;
	pg->total = http_header(r, "X-WP-Total", &hv) && !parse_i64(hv.s, hv.len, &t) && t >= 0 ? t : -1;
	buf_release(&hv);
	size_t n = json_array_size(j);
	if (n > PER_PAGE) {
		pull_fail(px, EX_DATAERR, "[%s]: %s: %zu elements on a page of %d", px->c->name,
		    q->what, n, PER_PAGE);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct wobj o;
		if (wobj_parse(json_array_get(j, i), &o, &why) < 0) {
			pull_fail(px, EX_DATAERR, "[%s]: %s: %s", px->c->name, q->what, why);
			goto out;
		}
		if (l->no == l->capo) {
			l->capo = l->capo ? l->capo * 2 : 128;
			l->o = xrealloc(l->o, l->capo * sizeof *l->o);
		}
		l->o[l->no++] = o;
		if (!l->parent && o.type == TY_VARIABLE)
			want_variations(px, o.id);
		if (!i)
			pg->first = o.id;
		pg->last = o.id;
	}
	pg->count = n;
	pg->done = 1;
	/* more pages: as many as the largest total seen needs, or one more
	 * after a full last page when the server gives no total */
	long long maxt = -1;
	for (size_t k = 0; k < l->npg; k++)
		if (l->pg[k].done && l->pg[k].total > maxt)
			maxt = l->pg[k].total;
	if (maxt > 100000000) {
		pull_fail(px, EX_DATAERR, "[%s]: %s: X-WP-Total %lld is not believable", px->c->name,
		    q->what, maxt);
		goto out;
	}
	size_t want = maxt >= 0 ? pages_for(maxt) : l->npg;
	if (maxt < 0 && q->page == l->npg - 1 && n == PER_PAGE)
		want = l->npg + 1;
	if (want > l->want)
		l->want = want;
	while (l->npg < l->want && l->inflight < LIST_WINDOW)
		list_page(l, l->npg);
	if (!l->inflight)
		list_settle(l);
out:
	json_decref(j);
	http_req_release(r);
	free(q);
}

static void
listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->no; i++)
		free(l->o[i].sku);
	free(l->o);
	free(l->pg);
}

static int
pull_wanted(const struct pull_opts *o, const char *item, const char *sku)
{
	int ok = 1;
	if (o && o->items) {
		ok = 0;
		for (size_t i = 0; i < o->nitems && !ok; i++)
			ok = !strcmp(o->items[i], item);
	}
	if (ok && o && o->skus) {
		ok = 0;
		for (size_t i = 0; i < o->nskus && !ok; i++)
			ok = !strcmp(o->skus[i], sku);
	}
	return ok;
}

static void
pull_emit(const struct pull_opts *o, int64_t pid, const struct wobj *x,
    void (*emit)(const struct pulled *p, void *arg), void *arg)
{
	char item[48];
	if (pid)
		snprintf(item, sizeof item, "%lld/%lld", (long long)pid, (long long)x->id);
	else
		snprintf(item, sizeof item, "%lld", (long long)x->id);
	if (!pull_wanted(o, item, x->sku))
		return;
	struct pulled p = { item, x->sku, "", "available", x->qty };
	emit(&p, arg);
}

static int
woo_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct pullx px;
	int rc = 0;

	memset(&px, 0, sizeof px);
	px.c = c;
	px.prod.px = &px;
	c->pages = c->unmanaged = 0;
	list_start(&px.prod);
	http_run(c->http);
	c->pages = px.pages;
	if (px.code) {
		rc = px.code;
		buf_reset(err);
		buf_add(err, px.err.s, px.err.len);
		goto out;
	}
	/* Emit in id order, each variation right after its parent. */
	wobj_unique(px.prod.o, &px.prod.no);
	for (size_t i = 0; i < px.prod.no; i++) {
		struct wobj *p = &px.prod.o[i];
		if (p->type == TY_VARIATION)
			continue;	/* listed through its parent */
		if (p->managed == MS_YES)
			pull_emit(o, 0, p, emit, arg);
		else if (p->type != TY_VARIABLE)
			c->unmanaged++;
		if (p->type != TY_VARIABLE)
			continue;
		size_t *vi = imap_get(&px.varof, p->id);
		struct listing *vl = vi ? px.var[*vi] : NULL;
		if (!vl || !vl->complete) {
			rc = EX_SOFTWARE;
			buf_reset(err);
			buf_addf(err, "[%s]: the variations of product %lld were not read", c->name,
			    (long long)p->id);
			goto out;
		}
		wobj_unique(vl->o, &vl->no);
		for (size_t k = 0; k < vl->no; k++) {
			if (vl->o[k].managed == MS_YES)
				pull_emit(o, p->id, &vl->o[k], emit, arg);
			else if (vl->o[k].managed == MS_NO && p->managed != MS_YES)
				c->unmanaged++;
		}
		if (!vl->no && p->managed != MS_YES)
			c->unmanaged++;	/* a variable product with no stock anywhere */
	}
out:
	listing_release(&px.prod);
	for (size_t i = 0; i < px.nvar; i++) {
		listing_release(px.var[i]);
		free(px.var[i]);
	}
	free(px.var);
	imap_release(&px.varof);
	buf_release(&px.err);
	return rc;
}

/* ---- read: the current quantity of given items ---- */

struct readx {
	struct chan *c;
	struct corr **v;
	size_t n;
	int64_t *pid, *vid;	/* parsed items (pid 0: malformed) */
	struct imap first;	/* object id -> first index in v */
	size_t *next;		/* next index with the same object id, or n */
	int code;
	struct buf err;
};

struct rreq {
	struct http_req r;
	struct readx *rx;
	int64_t parent;
	char what[200];
};

static void
read_done(struct http_req *r, void *arg)
{
	struct rreq *q = arg;
	struct readx *rx = q->rx;
	json_t *j = NULL;

	if (rx->code)
		goto out;
	if (r->status == 404 && q->parent)
		goto out;	/* the parent is gone: so are its variations (not current) */
	if (r->status != 200) {
		struct buf m = BUF_INIT;
		describe(rx->c, &m, r, q->what);
		rx->code = http_fail_code(r);
		buf_add(&rx->err, m.s, m.len);
		buf_release(&m);
		goto out;
	}
	j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	if (!json_is_array(j)) {
		rx->code = EX_DATAERR;
		buf_addf(&rx->err, "[%s]: %s: the answer is not a JSON array", rx->c->name, q->what);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(j); i++) {
		struct wobj o;
		const char *why;
		if (wobj_parse(json_array_get(j, i), &o, &why) < 0) {
			rx->code = EX_DATAERR;
			buf_addf(&rx->err, "[%s]: %s: %s", rx->c->name, q->what, why);
			goto out;
		}
		free(o.sku);
		size_t *f = imap_get(&rx->first, o.id);
		for (size_t k = f ? *f : rx->n; k < rx->n; k = rx->next[k]) {
			int64_t want = q->parent ? rx->vid[k] : rx->pid[k];
			if (want != o.id || (q->parent ? rx->pid[k] != q->parent : rx->vid[k] != 0) ||
			    o.managed != MS_YES || o.type == TY_VARIATION)
				continue;
			rx->v[k]->has_current = 1;
			rx->v[k]->current = o.qty;
		}
	}
out:
	json_decref(j);
	http_req_release(r);
	free(q);
}

static void
read_submit(struct readx *rx, int64_t parent, const int64_t *ids, size_t n)
{
	struct rreq *q = xcalloc(1, sizeof *q);
	struct buf rel = BUF_INIT;
	if (parent)
		buf_addf(&rel, "/products/%lld/variations?per_page=%d&_fields=id,manage_stock,"
		    "stock_quantity&include=", (long long)parent, PER_PAGE);
	else
		buf_addf(&rel, "/products?per_page=%d&_fields=id,type,manage_stock,stock_quantity"
		    "&include=", PER_PAGE);
	for (size_t i = 0; i < n; i++)
		buf_addf(&rel, "%s%lld", i ? "," : "", (long long)ids[i]);
	q->rx = rx;
	q->parent = parent;
	req_prepare(rx->c, &q->r, "GET", rel.s);
	req_what(rx->c, q->what, sizeof q->what, "GET", rel.s);
	q->r.done = read_done;
	q->r.arg = q;
	http_submit(rx->c->http, &q->r);
	buf_release(&rel);
}

struct idpair {
	int64_t parent, id;
};

static int
idpair_cmp(const void *a, const void *b)
{
	const struct idpair *x = a, *y = b;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
woo_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct readx rx;
	struct idpair *ids = xcalloc(n ? n : 1, sizeof *ids);
	int64_t *chunk = xcalloc(BATCH_MAX, sizeof *chunk);
	size_t nid = 0;

	memset(&rx, 0, sizeof rx);
	rx.c = c;
	rx.v = v;
	rx.n = n;
	rx.pid = xcalloc(n ? n : 1, sizeof *rx.pid);
	rx.vid = xcalloc(n ? n : 1, sizeof *rx.vid);
	rx.next = xcalloc(n ? n : 1, sizeof *rx.next);
	for (size_t i = n; i-- > 0;) {
		v[i]->has_current = 0;
		rx.next[i] = n;
		if (parse_item(v[i]->item, &rx.pid[i], &rx.vid[i]) < 0) {
			rx.pid[i] = 0;
			continue;
		}
		int64_t oid = rx.vid[i] ? rx.vid[i] : rx.pid[i];
		size_t *f = imap_get(&rx.first, oid);
		rx.next[i] = f ? *f : n;
		imap_put(&rx.first, oid, i);
		ids[nid].parent = rx.vid[i] ? rx.pid[i] : 0;
		ids[nid++].id = oid;
	}
	/* one request per 100 products, and per 100 variations of one parent */
	qsort(ids, nid, sizeof *ids, idpair_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nid; i++)
		if (!u || idpair_cmp(&ids[u - 1], &ids[i]))
			ids[u++] = ids[i];
	for (size_t i = 0, k = 0; i < u; i++) {
		chunk[k++] = ids[i].id;
		if (k == BATCH_MAX || i + 1 == u || ids[i + 1].parent != ids[i].parent) {
			read_submit(&rx, ids[i].parent, chunk, k);
			k = 0;
		}
	}
	http_run(c->http);
	int rc = rx.code;
	if (rc) {
		buf_reset(err);
		buf_add(err, rx.err.s, rx.err.len);
	}
	free(ids);
	free(chunk);
	free(rx.pid);
	free(rx.vid);
	free(rx.next);
	imap_release(&rx.first);
	buf_release(&rx.err);
	return rc;
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_DONE };

struct wr {
	struct corr *k;
	int64_t pid, vid, target;
	int state;
};

struct batch {
	struct http_req r;
	struct chan *c;
	struct wr **w;
	size_t n;
	char what[200];
	double retry_after;	/* from a 429/503, -1 none */
	int auth_failed;
	char msg[300];		/* why the whole batch failed */
};

/* Settle the items of a batch from its answer. */
static void
batch_done(struct http_req *r, void *arg)
{
	struct batch *b = arg;
	struct woo *w = b->c->priv;
	json_t *j = NULL;

	b->retry_after = -1;
	if (r->ambiguous) {
		for (size_t i = 0; i < b->n; i++)
			b->w[i]->state = W_UNKNOWN;
		return;
	}
	if (r->status == 0 || r->status == 429 || r->status == 503) {
		/* not processed (never sent, or the server said so): plan again after a re-read */
		struct buf v = BUF_INIT;
		char *end;
		if (http_header(r, "Retry-After", &v)) {
			double d = strtod(v.s, &end);
			if (end != v.s && d >= 0 && d < 3600)
				b->retry_after = d;
		}
		buf_release(&v);
		struct buf m = BUF_INIT;
		describe(b->c, &m, r, b->what);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RETRY;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s", m.s);
		}
		buf_release(&m);
		return;
	}
	if (r->status != 200) {
		struct buf m = BUF_INIT;
		describe(b->c, &m, r, b->what);
		b->auth_failed = r->status == 401 || r->status == 403;
		snprintf(b->msg, sizeof b->msg, "%s", m.s);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_DONE;
			corr_fail(b->w[i]->k, CS_FAILED, "not written: %s", m.s);
		}
		buf_release(&m);
		return;
	}
	j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	json_t *upd = json_object_get(j, "update");
	size_t nu = json_array_size(upd);
	for (size_t e = 0; e < nu; e++) {
		json_t *x = json_array_get(upd, e), *idv = json_object_get(x, "id");
		int64_t id = 0;
		if (json_is_integer(idv))
			id = json_integer_value(idv);
		else if (json_is_string(idv) && parse_i64(json_string_value(idv),
		    strlen(json_string_value(idv)), &id))
			id = 0;
		struct wr *t = NULL;
		for (size_t i = 0; i < b->n && !t; i++)
			if ((b->w[i]->vid ? b->w[i]->vid : b->w[i]->pid) == id && b->w[i]->state == W_SENT)
				t = b->w[i];
		if (!t)
			continue;
		json_t *er = json_object_get(x, "error");
		if (er) {
			const char *code = json_string_value(json_object_get(er, "code"));
			const char *msg = json_string_value(json_object_get(er, "message"));
			json_t *st = json_object_get(json_object_get(er, "data"), "status");
			struct buf m = BUF_INIT, sb = BUF_INIT;
			buf_addf(&m, "%s: ", scrubbed(w, &sb, code ? code : "error", 80));
			buf_adds(&m, scrubbed(w, &sb, msg, 160));
			buf_release(&sb);
			if (json_is_integer(st))
				buf_addf(&m, " (HTTP %lld)", (long long)json_integer_value(st));
			scrub(w, &m);
			corr_fail(t->k, CS_FAILED, "%s", m.s);
			buf_release(&m);
			t->state = W_DONE;
			continue;
		}
		struct wobj o;
		const char *why;
		if (wobj_parse(x, &o, &why) < 0)
			continue;	/* left W_SENT: resolved by a re-read */
		free(o.sku);
		t->state = W_DONE;
		if (o.managed == MS_YES && o.qty == t->target) {
			t->k->status = CS_APPLIED;
			t->k->has_after = 1;
			t->k->after = o.qty;
			t->k->error[0] = '\0';
		} else if (o.managed != MS_YES) {
			corr_fail(t->k, CS_FAILED, "the platform ignored the quantity: stock is not "
			    "managed for this item");
		} else {
			corr_fail(t->k, CS_FAILED, "set to %lld, but the answer shows %lld",
			    (long long)t->target, (long long)o.qty);
		}
	}
	/* items the answer does not account for: find out by reading them */
	for (size_t i = 0; i < b->n; i++)
		if (b->w[i]->state == W_SENT)
			b->w[i]->state = W_UNKNOWN;
	json_decref(j);
}

static void
batch_submit(struct chan *c, struct batch *b, int64_t parent)
{
	char rel[96];
	if (parent)
		snprintf(rel, sizeof rel, "/products/%lld/variations/batch", (long long)parent);
	else
		snprintf(rel, sizeof rel, "/products/batch");
	req_prepare(c, &b->r, "POST", rel);
	req_what(c, b->what, sizeof b->what, "POST", rel);
	b->r.idempotent = 0;	/* absolute values: a late duplicate could erase a sale */
	b->r.no_retry = 1;	/* and never re-sent by the HTTP layer after a wait */
	b->c = c;
	buf_adds(&b->r.body, "{\"update\":[");
	for (size_t i = 0; i < b->n; i++)
		buf_addf(&b->r.body, "%s{\"id\":%lld,\"stock_quantity\":%lld}", i ? "," : "",
		    (long long)(b->w[i]->vid ? b->w[i]->vid : b->w[i]->pid),
		    (long long)b->w[i]->target);
	buf_adds(&b->r.body, "]}");
	b->r.done = batch_done;
	b->r.arg = b;
	http_submit(c->http, &b->r);
}

static int
wr_cmp(const void *a, const void *b)
{
	const struct wr *x = *(struct wr *const *)a, *y = *(struct wr *const *)b;
	int64_t px = x->vid ? x->pid : 0, py = y->vid ? y->pid : 0;
	if (px != py)
		return px < py ? -1 : 1;
	return (x->vid ? x->vid : x->pid) < (y->vid ? y->vid : y->pid) ? -1 :
	    (x->vid ? x->vid : x->pid) > (y->vid ? y->vid : y->pid);
}

static double
round_backoff(struct woo *w, int round)
{
	double d = 0.5;
	for (int i = 0; i < round && d < 30; i++)
		d *= 2;
	if (d > 30)
		d = 30;
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return d / 2 + (double)(w->rng >> 11) / 9007199254740992.0 * d / 2;
}

/*
 * Write one round: re-read the pending items, plan (conflict, unchanged or
 * a target), send the batches, sort out the answers.  Items to try again
 * are left in pend; returns the longest Retry-After seen (-1 none) in
 * *wait, and an exit code when the platform refused us (77).
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **ws = xcalloc(n ? n : 1, sizeof *ws);
	struct batch *bs = NULL;
	size_t nb = 0;
	int rc;

	*wait = -1;
	rc = woo_read(c, pend, n, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the re-read before writing failed: %s",
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
		if (!k->has_current) {
			corr_fail(k, CS_FAILED, "not written: no such item with managed stock on the "
			    "platform");
			continue;
		}
		if (k->has_from && k->current != k->from) {
			corr_fail(k, CS_CONFLICT, "quantity moved since it was read: %lld expected, "
			    "%lld now (not written)", (long long)k->from, (long long)k->current);
			continue;
		}
		if (__builtin_add_overflow(k->current, k->delta, &t->target)) {
			corr_fail(k, CS_FAILED, "not written: %lld %+lld is out of range",
			    (long long)k->current, (long long)k->delta);
			continue;
		}
		if (t->target == k->current) {
			k->status = CS_UNCHANGED;
			k->has_after = 1;
			k->after = k->current;
			k->error[0] = '\0';
			continue;
		}
		t->state = W_SENT;
		ws[nw++] = t;
	}
	/* one item twice would be set from the same reading twice: refuse the later ones */
	qsort(ws, nw, sizeof *ws, wr_cmp);
	size_t m = 0;
	for (size_t i = 0; i < nw; i++) {
		if (m && !wr_cmp(&ws[m - 1], &ws[i])) {
			corr_fail(ws[i]->k, CS_FAILED, "not written: another correction for item %s "
			    "is in the same batch", ws[i]->k->item);
			continue;
		}
		ws[m++] = ws[i];
	}
	nw = m;
	/* batches: products together, variations by parent, at most 100 each */
	bs = xcalloc(nw ? nw : 1, sizeof *bs);
	for (size_t i = 0; i < nw;) {
		size_t j = i;
		int64_t parent = ws[i]->vid ? ws[i]->pid : 0;
		while (j < nw && j - i < BATCH_MAX && (ws[j]->vid ? ws[j]->pid : 0) == parent)
			j++;
		bs[nb].w = &ws[i];
		bs[nb].n = j - i;
		batch_submit(c, &bs[nb++], parent);
		i = j;
	}
	http_run(c->http);
	/* answers lost: what does the platform show now? */
	size_t nunk = 0;
	struct corr **unk = xcalloc(nw ? nw : 1, sizeof *unk);
	struct wr **unkw = xcalloc(nw ? nw : 1, sizeof *unkw);
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_UNKNOWN) {
			unkw[nunk] = ws[i];
			unk[nunk++] = ws[i]->k;
		}
	if (nunk) {
		struct buf e = BUF_INIT;
		if (woo_read(c, unk, nunk, &e)) {
			for (size_t i = 0; i < nunk; i++)
				corr_fail(unk[i], CS_FAILED, "unknown outcome: the answer was lost and the "
				    "re-read failed: %s", e.s);
		} else {
			for (size_t i = 0; i < nunk; i++) {
				struct corr *k = unk[i];
				if (k->has_current && k->current == unkw[i]->target) {
					k->status = CS_APPLIED;
					k->has_after = 1;
					k->after = k->current;
					k->error[0] = '\0';
				} else if (k->has_current) {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld was "
					    "set; not sent again)", (long long)k->current,
					    (long long)unkw[i]->target);
				} else {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows no managed "
					    "stock (not sent again)");
				}
			}
		}
		buf_release(&e);
	}
	free(unk);
	free(unkw);
	/* the rest goes again, after the wait, from a new reading */
	for (size_t i = 0; i < nb; i++) {
		if (bs[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, bs[i].msg);
		}
		if (bs[i].retry_after > *wait)
			*wait = bs[i].retry_after;
		http_req_release(&bs[i].r);
	}
	for (size_t i = 0; i < nw; i++)
		if (ws[i]->state == W_RETRY)
			pend[nret++] = ws[i]->k;
	*npend = nret;
out:
	free(bs);
	free(ws);
	free(all);
	return rc;
}

static int
woo_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct woo *w = c->priv;
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	size_t np = 0;
	int rc = 0;

	(void)run;	/* WooCommerce keeps no reference or idempotency key */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		int64_t pid, vid;
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (k->location && *k->location)
			corr_fail(k, CS_FAILED, "not written: WooCommerce has one stock pool; location "
			    "must be empty");
		else if (parse_item(k->item, &pid, &vid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a WooCommerce item "
			    "(<product> or <product>/<variation>)", k->item ? k->item : "");
		else
			pend[np++] = k;
	}
	/* chunks of the batch limit, each re-read just before its own write */
	for (size_t off = 0; off < np && !rc; off += BATCH_MAX) {
		size_t cnt = np - off < BATCH_MAX ? np - off : BATCH_MAX;
		struct corr **p = pend + off;
		for (int round = 0; cnt && !rc; round++) {
			double wait;
			rc = push_round(c, p, &cnt, &wait, err);
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
			sleep_s(wait >= 0 ? wait : round_backoff(w, round));
		}
		for (size_t i = 0; i < cnt && rc; i++)
			if (p[i]->status == CS_PENDING)
				corr_fail(p[i], CS_FAILED, "not written: %.200s", err->s);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
woo_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url"), *auth = chan_get(cc, "auth");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	int query = 0;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (the site's root, "
		    "e.g. https://shop.example.com)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (auth && !strcmp(auth, "query"))
		query = 1;
	else if (auth && strcmp(auth, "basic") != 0) {
		buf_addf(err, "%s:%d: [%s]: auth must be basic or query", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	const char *colon = memchr(sec.s, ':', sec.len);
	if (!colon || colon == sec.s || (size_t)(colon - sec.s) + 1 == sec.len) {
		buf_addf(err, "%s: [%s]: the secret must be consumer_key:consumer_secret on one line",
		    path, c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct woo *w = xcalloc(1, sizeof *w);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	struct buf a = BUF_INIT;
	buf_add(&a, base, bl);
	buf_adds(&a, "/wp-json/wc/v3");
	w->api = a.s;
	const char *hp = strstr(w->api, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	w->apipath = xstrdup(hp ? hp : "/wp-json/wc/v3");
	w->hide[0] = xstrndup(sec.s, (size_t)(colon - sec.s));
	w->hide[1] = xstrdup(colon + 1);
	struct buf t = BUF_INIT;
	buf_add_base64(&t, sec.s, sec.len);
	/* without its padding: found whether an echo kept the '=' or not */
	w->hide[2] = xstrndup(t.s, strcspn(t.s, "="));
	struct buf pe = BUF_INIT;
	buf_add_pctenc(&pe, w->hide[0]);
	w->hide[3] = pe.s;
	pe = (struct buf)BUF_INIT;
	buf_add_pctenc(&pe, w->hide[1]);
	w->hide[4] = pe.s;
	if (query) {
		struct buf q = BUF_INIT;
		buf_adds(&q, "consumer_key=");
		buf_add_pctenc(&q, w->hide[0]);
		buf_adds(&q, "&consumer_secret=");
		buf_add_pctenc(&q, w->hide[1]);
		w->qauth = q.s;
	} else {
		struct buf h = BUF_INIT;
		buf_addf(&h, "Authorization: Basic %s", t.s);
		w->authz = h.s;
	}
	explicit_bzero(t.s, t.len);
	buf_release(&t);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	w->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x2545F4914F6CDD1DULL;
	c->priv = w;
	return 0;
}

static void
woo_close(struct chan *c)
{
	struct woo *w = c->priv;
	if (!w)
		return;
	free(w->api);
	free(w->apipath);
	free_secret(w->authz);
	free_secret(w->qauth);
	for (int i = 0; i < 5; i++)
		free_secret(w->hide[i]);
	free(w);
	c->priv = NULL;
}

const struct driver drv_woocommerce = {
	.type = "woocommerce",
	.max_batch = BATCH_MAX,
	.open = woo_open,
	.pull = woo_pull,
	.read = woo_read,
	.push = woo_push,
	.close = woo_close,
};
