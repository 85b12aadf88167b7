/*
 * shopify.c - the Shopify driver: the GraphQL Admin API, inventory subset.
 *
 * pull pages through inventoryItems with each item's inventory levels and
 * their "available" quantity; read asks inventoryItem { inventoryLevel }
 * for given (item, location) pairs, many pairs a query; push writes
 * corrections with inventoryAdjustQuantities (a known `from`: a relative
 * delta) and inventorySetQuantities (no `from`: an absolute value), at most
 * 250 entries a call, every call carrying an @idempotent key derived from
 * its corrections, so a call re-sent after a lost answer is answered with
 * the original result and never applied twice.
 *
 * Pacing: every answer's extensions.cost.throttleStatus goes to the HTTP
 * layer's bucket and every request carries its requested cost, so a run
 * waits for the points it needs instead of being throttled.  A THROTTLED
 * answer (HTTP 200 or 429) is re-sent once the bucket holds the cost.
 *
 * A concurrent sale is never erased: a delta is relative (with
 * `concurrent = merge`, the default, it lands on top of whatever the shop
 * holds now; with `concurrent = conflict` it carries changeFromQuantity =
 * from and a moved quantity becomes status conflict); an absolute set is
 * used only where the target had no record.  A stale compare is reported
 * as a conflict with the quantity re-read, never overwritten.
 *
 * Facts, with the page each comes from:
 *  - endpoint POST {shop}/admin/api/{version}/graphql.json, token in the
 *    X-Shopify-Access-Token header:
 *    https://shopify.dev/docs/api/admin-graphql (Authentication, Endpoints)
 *  - input arrays hold at most 250 items; connections page at most 25,000
 *    objects deep: https://shopify.dev/docs/api/usage/limits
 *  - cost-based leaky bucket per app and store, 100/200/1000/2000 points a
 *    second by plan, scalar 0 and object 1 point, every answer reports
 *    extensions.cost {requestedQueryCost, actualQueryCost, throttleStatus
 *    {maximumAvailable, currentlyAvailable, restoreRate}}:
 *    https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
 *  - changeFromQuantity must be given (null opts out) from 2026-04, on
 *    InventoryQuantityInput and InventoryChangeInput; a mismatch answers
 *    CHANGE_FROM_QUANTITY_STALE:
 *    https://shopify.dev/docs/api/admin-graphql/2026-07/input-objects/InventoryChangeInput
 *    https://shopify.dev/docs/api/admin-graphql/2026-07/input-objects/InventoryQuantityInput
 *    https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities
 *  - @idempotent(key:) required on both mutations from 2026-04:
 *    https://shopify.dev/docs/api/admin-graphql/2026-01/objects/InventoryAdjustQuantitiesUserError
 *    (the mutation's caution note); keys should be UUIDs and a duplicate
 *    request must reuse its key:
 *    https://shopify.dev/docs/api/usage/implementing-idempotency
 *  - user error codes (IDEMPOTENCY_CONCURRENT_REQUEST, ..._KEY_PARAMETER_
 *    MISMATCH, ..._PREVIOUS_ATTEMPT_FAILED "retry with a new idempotency
 *    key", ADJUST_QUANTITIES_FAILED "try again", SERVICE_UNAVAILABLE):
 *    https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode
 *    https://shopify.dev/docs/api/admin-graphql/2026-01/enums/InventoryAdjustQuantitiesUserErrorCode
 *  - referenceDocumentUri as gid://<app>/<entity>/<id>:
 *    https://shopify.dev/docs/api/admin-graphql/unstable/input-objects/InventoryAdjustQuantitiesInput
 * UNVERIFIED (handled so that either reading is safe): the 1000-point
 * single-query limit (a MAX_COST_EXCEEDED answer halves the page), HTTP 200
 * vs 429 for THROTTLED (both handled), whether a stale entry fails the
 * whole call (both handled), the reason values beyond the shopify.dev
 * examples (correction, restock), default id order of inventoryItems and
 * the id:> filter (checked at run time before relying on them).
 */
#include "platform.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* newest stable; versions are quarterly (https://shopify.dev/docs/api/usage/versioning) */
#define DEFAULT_API_VERSION "2026-10"
/* "Input arguments that accept an array have a maximum size of 250"
 * (https://shopify.dev/docs/api/usage/limits#input-limits) */
#define MAX_ENTRIES 250
/* single-query cost limit: UNVERIFIED (third-party pages only); a
 * MAX_COST_EXCEEDED answer halves the page instead of failing */
#define QUERY_COST_MAX 1000.0
/* "Shopify limits pagination of arrays of objects to 25,000 objects"
 * (https://shopify.dev/docs/api/usage/limits#pagination-limits) */
#define PAGINATION_MAX 25000
#define PAGE_LEVELS 10		/* levels fetched with each item in a page */
#define MORE_LEVELS 50		/* levels per follow-up query */
#define READ_BATCH 100		/* pairs per read query (3 points each) */
#define SKU_CHUNK 50		/* search terms per query string */
#define MAX_ROUNDS 4		/* push: follow-up calls after rejections */
#define CONCURRENT_TRIES 8	/* IDEMPOTENCY_CONCURRENT_REQUEST re-sends */

enum kind { K_LOCS, K_PAGE, K_LEVELS, K_READ, K_MUT, K_N };

struct shop {
	struct buf url;		/* the graphql.json endpoint */
	struct buf hdr;		/* "X-Shopify-Access-Token: ..." (a secret) */
	char **locs;		/* configured location gids, NULL: all */
	size_t nlocs;
	int conflict;		/* concurrent = conflict */
	long pagination_limit;
	double bmax;		/* the shop's bucket size, once reported */
	double ratio[K_N];	/* the platform's requested cost / our estimate */
};

/* One driver call (pull, read, push): its channel and its first failure. */
struct op {
	struct chan *c;
	struct shop *s;
	int code;
	struct buf err;
};

static void op_fail(struct op *o, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
op_fail(struct op *o, int code, const char *fmt, ...)
{
	char m[600];
	va_list ap;
	if (o->code)
		return;		/* the first failure is the one to report */
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	o->code = code;
	buf_reset(&o->err);
	buf_addf(&o->err, "%s: %s", o->c->name, m);
}

static void
op_init(struct op *o, struct chan *c)
{
	memset(o, 0, sizeof *o);
	o->c = c;
	o->s = c->priv;
}

/* Hand an op's failure to the caller's err; returns its code. */
static int
op_done(struct op *o, struct buf *err)
{
	if (o->code) {
		buf_reset(err);
		buf_add(err, o->err.s, o->err.len);
	}
	buf_release(&o->err);
	return o->code;
}

/* ---- ids ---- */

/* The number at the end of gid://shopify/<type>/<n> (or of a bare n); 0 if not one. */
static long long
gid_num(const char *s, const char *type)
{
	char pre[64];
	snprintf(pre, sizeof pre, "gid://shopify/%s/", type);
	size_t pl = strlen(pre);
	if (!strncmp(s, pre, pl))
		s += pl;
	if (!*s || strlen(s) > 18)
		return 0;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	long long n = 0;
	for (; *s; s++)
		n = n * 10 + (*s - '0');
	return n;
}

/* The canonical gid of an id given as a gid or a bare number, or NULL. */
static char *
gid_norm(const char *s, const char *type)
{
	long long n = s ? gid_num(s, type) : 0;
	if (n <= 0)
		return NULL;
	struct buf b = BUF_INIT;
	buf_addf(&b, "gid://shopify/%s/%lld", type, n);
	return b.s;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
in_sorted(char **v, size_t n, const char *s)
{
	return bsearch(&s, v, n, sizeof *v, cmpstr) != NULL;
}

/* ---- GraphQL requests ---- */

struct gq;
/*
 * What to do with an answer: data is its "data" object (borrowed), or NULL
 * when the request failed (the op's code set) or the answer was a GraphQL
 * error (gqlcode/gqlmsg set).  Returns 1 when it re-sent the request with
 * http_retry (the request stays alive), else 0 (it is freed).
 */
typedef int (*gq_fn)(struct gq *q, json_t *data);

struct gq {
	struct http_req r;
	struct op *o;
	enum kind kind;
	double est;		/* our estimate of its cost */
	double requested;	/* the platform's, once answered */
	gq_fn fn;
	void *arg;
	char gqlcode[64];
	struct buf gqlmsg;
};

static double
jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : -1;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/*
 * Text from an answer (an error message or code) for our messages: one
 * line (control characters as spaces) and never the access token, should
 * a server or proxy echo it.
 */
static void
server_text(const struct shop *s, struct buf *out, const char *t)
{
	static const char pre[] = "X-Shopify-Access-Token: ";
	const char *tok = s->hdr.len > sizeof pre - 1 ? s->hdr.s + sizeof pre - 1 : NULL;
	size_t tl = tok ? strlen(tok) : 0;
	for (; *t; t++) {
		if (tl && !strncmp(t, tok, tl)) {
			buf_adds(out, "[REDACTED]");
			t += tl - 1;
		} else {
			buf_addc(out, (unsigned char)*t < 0x20 || *t == 0x7f ? ' ' : *t);
		}
	}
}

/* Cost to take from the bucket for a request we estimate at est. */
static double
gq_cost(struct shop *s, enum kind k, double est)
{
	double c = est * (s->ratio[k] > 0 ? s->ratio[k] : 1);
	if (s->bmax > 0 && c > s->bmax)
		c = s->bmax;	/* never wait for more than the bucket holds */
	return c;
}

/* Feed the bucket from an answer's extensions.cost; learn the cost. */
static void
gq_cost_seen(struct gq *q, json_t *root)
{
	struct shop *s = q->o->s;
	json_t *cost = json_object_get(json_object_get(root, "extensions"), "cost");
	json_t *ts = json_object_get(cost, "throttleStatus");
	double max = jnum(ts, "maximumAvailable"), avail = jnum(ts, "currentlyAvailable");
	double rate = jnum(ts, "restoreRate");
	if (max > 0 && rate > 0 && avail >= 0) {
		/* one point below: currentlyAvailable may be rounded up */
		http_bucket(q->o->c->http, max, avail - 1, rate);
		s->bmax = max;
	}
	q->requested = jnum(cost, "requestedQueryCost");
	if (q->requested > 0 && q->est > 0)
		s->ratio[q->kind] = q->requested / q->est;
}

static void
gq_free(struct gq *q)
{
	http_req_release(&q->r);
	buf_release(&q->gqlmsg);
	free(q);
}

static void
gq_done(struct http_req *r, void *arg)
{
	struct gq *q = arg;
	struct op *o = q->o;
	struct http *h = o->c->http;
	json_t *root = NULL, *data = NULL;
	json_error_t je = { .text = "empty" };
	int called = 0, keep = 0;

	if (r->resp.len)
		root = json_loadb(r->resp.s, r->resp.len, 0, &je);	/* nesting: at most 2048 */
	if (root && !json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
	if (root)
		gq_cost_seen(q, root);
	json_t *errs = root ? json_object_get(root, "errors") : NULL;
	const char *code = NULL, *msg = NULL;
	if (json_is_array(errs) && json_array_size(errs) > 0) {
		json_t *e0 = json_array_get(errs, 0);
		code = jstr(json_object_get(e0, "extensions"), "code");
		msg = jstr(e0, "message");
	} else if (json_is_string(errs)) {
		msg = json_string_value(errs);
	}

	if ((r->status == 200 || r->status == 429) && code && !strcmp(code, "THROTTLED")) {
		/*
		 * Not enough points: the bucket now says how many there are, and
		 * the request waits there for its requested cost before going out
		 * again.  (A 429 is normally re-sent by the HTTP layer itself.)
		 */
		if (q->requested > 0)	/* never more than the bucket holds: it would wait for ever */
			q->r.cost = o->s->bmax > 0 && q->requested > o->s->bmax ? o->s->bmax : q->requested;
		if (http_retry(h, r, 0) == 0) {
			json_decref(root);
			return;
		}
		op_fail(o, EX_TEMPFAIL, "still throttled after %d attempts", r->attempts);
	} else if (r->status == 200 && code && (!strcmp(code, "INTERNAL_SERVER_ERROR") ||
	    !strcmp(code, "SERVICE_UNAVAILABLE"))) {
		if (http_retry(h, r, -1) == 0) {
			json_decref(root);
			return;
		}
		op_fail(o, EX_TEMPFAIL, "%s after %d attempts", code, r->attempts);
	} else if (r->status == 200 && root && (code || msg) && !(q->kind == K_MUT &&
	    json_object_size(json_object_get(root, "data")) &&
	    !json_is_null(json_object_iter_value(json_object_iter(json_object_get(root, "data")))))) {
		/* a GraphQL error: the caller decides what it means */
		struct buf t = BUF_INIT;
		server_text(o->s, &t, code ? code : "GRAPHQL_ERROR");
		snprintf(q->gqlcode, sizeof q->gqlcode, "%s", t.s);
		buf_release(&t);
		server_text(o->s, &q->gqlmsg, msg ? msg : "no message");
		keep = q->fn(q, NULL);
		called = 1;
	} else if (r->status == 200 && root) {
		data = json_object_get(root, "data");
		if (json_is_object(data)) {
			keep = q->fn(q, data);
			called = 1;
		} else {
			op_fail(o, EX_DATAERR, "answer without data from %s", "Shopify");
		}
	} else if (r->status == 200) {
		op_fail(o, EX_DATAERR, "answer is not JSON (%zu bytes): %.80s", r->resp.len, je.text);
	} else if (r->status == 401 || r->status == 403) {
		op_fail(o, EX_NOPERM, "access token refused (HTTP %ld): check the token_file or "
		    "INVKIT_TOKEN_ variable of this channel and the app's access scopes "
		    "(read_inventory, write_inventory)", r->status);
	} else if (r->status == 404) {
		op_fail(o, EX_CONFIG, "HTTP 404 from the Admin API: check base_url (the shop's "
		    "root) and api_version");
	} else if (r->status == 429 || r->status >= 500) {
		op_fail(o, EX_TEMPFAIL, "%s", r->error[0] ? r->error : "server error");
	} else if (r->status == 0) {
		op_fail(o, EX_UNAVAILABLE, "no answer: %s", r->error[0] ? r->error : "connection failed");
	} else {
		op_fail(o, EX_UNAVAILABLE, "HTTP %ld from the Admin API", r->status);
	}
	if (!called)
		keep = q->fn(q, NULL);
	json_decref(root);
	if (!keep)
		gq_free(q);
}

/* A GraphQL error answer the caller does not handle: the op fails. */
static void
gq_fail(struct gq *q)
{
	if (q->gqlcode[0])
		op_fail(q->o, EX_UNAVAILABLE, "Shopify refused the query: %s (%s)",
		    q->gqlmsg.s ? q->gqlmsg.s : "", q->gqlcode);
	else
		op_fail(q->o, EX_SOFTWARE, "request failed");
}

/* Send query with vars (stolen) at an estimated cost; fn gets the answer. */
static struct gq *
gq_send(struct op *o, enum kind k, double est, const char *query, json_t *vars, gq_fn fn, void *arg)
{
	struct shop *s = o->s;
	struct gq *q = xcalloc(1, sizeof *q);
	http_req_init(&q->r);
	q->o = o;
	q->kind = k;
	q->est = est;
	q->fn = fn;
	q->arg = arg;
	q->r.method = "POST";
	buf_add(&q->r.url, s->url.s, s->url.len);
	/* the token goes in X-Shopify-Access-Token (https://shopify.dev/docs/api/admin-graphql) */
	const char *hs[] = { "Content-Type: application/json", "Accept: application/json",
		"Expect:", s->hdr.s };
	for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
		if (!(q->r.hdrs = curl_slist_append(q->r.hdrs, hs[i])))
			die(EX_OSERR, "out of memory");
	json_t *body = json_object();
	json_object_set_new(body, "query", json_string(query));
	json_object_set_new(body, "variables", vars ? vars : json_object());
	char *t = json_dumps(body, JSON_COMPACT);
	if (!t)
		die(EX_SOFTWARE, "cannot encode a GraphQL request");
	buf_adds(&q->r.body, t);
	free(t);
	json_decref(body);
	/* queries are reads; mutations carry an idempotency key: re-sending is safe */
	q->r.idempotent = 1;
	q->r.cost = gq_cost(s, k, est);
	q->r.done = gq_done;
	q->r.arg = q;
	http_submit(o->c->http, &q->r);
	return q;
}

/* ---- open / close ---- */

static void
shop_free(struct shop *s)
{
	if (!s)
		return;
	if (s->hdr.s)
		explicit_bzero(s->hdr.s, s->hdr.cap);
	buf_release(&s->hdr);
	buf_release(&s->url);
	for (size_t i = 0; i < s->nlocs; i++)
		free(s->locs[i]);
	free(s->locs);
	free(s);
}

static int
shopify_open(struct chan *c, struct buf *err)
{
	const struct config *cfg = c->cfg;
	const struct chan_cfg *cc = c->cc;
	const char *path = cfg->path ? cfg->path : "config";
	struct shop *s;
	long long lim;

	buf_reset(err);
	if (!c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url is required (the shop's root, "
		    "https://NAME.myshopify.com)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	const char *base = chan_get(cc, "base_url");
	if (strstr(base, "/admin/")) {
		buf_addf(err, "%s:%d: [%s]: base_url is the shop's root; the driver adds "
		    "/admin/api/VERSION/graphql.json", path, cc->line, c->name);
		return EX_CONFIG;
	}
	const char *v = chan_get(cc, "api_version");
	if (!v)
		v = DEFAULT_API_VERSION;
	/* versions are YYYY-MM (Jan, Apr, Jul, Oct) or "unstable" */
	if (strcmp(v, "unstable") != 0 && (strlen(v) != 7 || !isdigit((unsigned char)v[0]) ||
	    !isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[2]) ||
	    !isdigit((unsigned char)v[3]) || v[4] != '-' || !isdigit((unsigned char)v[5]) ||
	    !isdigit((unsigned char)v[6]))) {
		buf_addf(err, "%s:%d: [%s]: api_version: '%.20s' is not YYYY-MM", path, cc->line,
		    c->name, v);
		return EX_CONFIG;
	}
	if (strcmp(v, "unstable") != 0 && strcmp(v, "2026-04") < 0) {
		/* the driver relies on changeFromQuantity and @idempotent (2026-04 and later) */
		buf_addf(err, "%s:%d: [%s]: api_version %s is too old: 2026-04 or later is needed",
		    path, cc->line, c->name, v);
		return EX_CONFIG;
	}
	const char *cm = chan_get(cc, "concurrent");
	if (cm && strcmp(cm, "merge") != 0 && strcmp(cm, "conflict") != 0) {
		buf_addf(err, "%s:%d: [%s]: concurrent: '%.20s' is not merge or conflict", path,
		    cc->line, c->name, cm);
		return EX_CONFIG;
	}
	if (chan_get_int(cfg, cc, "pagination_limit", PAGINATION_MAX, 2, PAGINATION_MAX, &lim, err) < 0)
		return EX_CONFIG;

	s = xcalloc(1, sizeof *s);
	s->conflict = cm && !strcmp(cm, "conflict");
	s->pagination_limit = (long)lim;
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	buf_add(&s->url, base, bl);
	buf_addf(&s->url, "/admin/api/%s/graphql.json", v);

	const char *locs = chan_get(cc, "locations");
	if (locs) {
		const char *p = locs;
		while (*p) {
			size_t n = strcspn(p, ", \t");
			if (n) {
				char *one = xstrndup(p, n);
				char *g = gid_norm(one, "Location");
				if (!g) {
					buf_addf(err, "%s:%d: [%s]: locations: '%.60s' is not a location id "
					    "(a number or gid://shopify/Location/N)", path, cc->line, c->name, one);
					free(one);
					shop_free(s);
					return EX_CONFIG;
				}
				free(one);
				s->locs = xrealloc(s->locs, (s->nlocs + 1) * sizeof *s->locs);
				s->locs[s->nlocs++] = g;
			}
			p += n;
			p += strspn(p, ", \t");
		}
		if (s->nlocs)
			qsort(s->locs, s->nlocs, sizeof *s->locs, cmpstr);
	}

	struct buf tok = BUF_INIT;
	if (chan_secret(cfg, cc, &tok, err) < 0) {
		buf_release(&tok);
		shop_free(s);
		return EX_CONFIG;
	}
	for (size_t i = 0; i < tok.len; i++) {
		unsigned char ch = (unsigned char)tok.s[i];
		if (ch <= ' ' || ch >= 0x7f) {
			explicit_bzero(tok.s, tok.len);
			buf_release(&tok);
			shop_free(s);
			buf_reset(err);
			buf_addf(err, "%s:%d: [%s]: the access token holds a space or control "
			    "character", path, cc->line, c->name);
			return EX_CONFIG;
		}
	}
	buf_adds(&s->hdr, "X-Shopify-Access-Token: ");
	buf_add(&s->hdr, tok.s, tok.len);
	explicit_bzero(tok.s, tok.len);
	buf_release(&tok);
	c->priv = s;
	return 0;
}

static void
shopify_close(struct chan *c)
{
	shop_free(c->priv);
	c->priv = NULL;
}

/* ---- pull ---- */

struct chain;

struct pull {
	struct op o;
	const struct pull_opts *po;
	void (*emit)(const struct pulled *p, void *arg);
	void *arg;
	char **skus;		/* sorted, borrowed */
	size_t nskus;
	char **items;		/* sorted gids, owned */
	size_t nitems;
	int L, P;		/* levels per item, items per page */
	int shoplocs;		/* locations in the shop (capped) */
	struct chain **chains;
	size_t nchains;
};

/* One paginated listing: all items, or those matching one filter. */
struct chain {
	struct pull *p;
	char *base;		/* filter, or NULL */
	char *filter;		/* base plus a restart's id:> term */
	char *cursor;
	long count;		/* items listed since (re)start */
	long long last;		/* last item number seen */
	long long floor;	/* restart point: items must be above it */
	int monotonic;		/* items came in increasing id order */
	int terms;		/* search terms in base (0: none) */
};

/* Levels of one item beyond those in its page. */
struct more {
	struct pull *p;
	char *item, *sku, *cursor;
};

static const char LEVEL_FIELDS[] =
    "pageInfo { hasNextPage endCursor } "
    "nodes { location { id } quantities(names: [\"available\"]) { name quantity } }";

static double
page_est(int P, int L)
{
	/*
	 * Object 1, scalar 0, a connection sized by first
	 * (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits);
	 * the +2 per connection is UNVERIFIED.  The platform's requestedQueryCost
	 * corrects this estimate (ratio) from the first answer on.
	 * connection 2 + per item: item 1, levels connection 2, per level 3
	 */
	return 2 + (double)P * (3 + 3.0 * L);
}

/* Largest page that stays within the single-query limit and the bucket. */
static void
page_size(struct pull *p)
{
	struct shop *s = p->o.s;
	double budget = QUERY_COST_MAX;
	double ratio = s->ratio[K_PAGE] > 0 ? s->ratio[K_PAGE] : 1;
	if (s->bmax > 0 && s->bmax < budget)
		budget = s->bmax;
	int P = 250;
	while (P > 1 && page_est(P, p->L) * ratio > budget)
		P--;
	if (P > s->pagination_limit)
		P = (int)s->pagination_limit;
	if (p->P == 0 || P < p->P)
		p->P = P;
}

static int page_done(struct gq *q, json_t *data);

static void
page_send(struct chain *ch)
{
	struct pull *p = ch->p;
	static const char fmt[] =
	    "query invkitPull($first: Int!, $after: String, $query: String, $levels: Int!) { "
	    "inventoryItems(first: $first, after: $after, query: $query) { "
	    "pageInfo { hasNextPage endCursor } "
	    "nodes { id sku inventoryLevels(first: $levels) { %s } } } }";
	/* a filter of a few exact terms seldom matches more items than terms */
	int P = ch->terms > 0 && ch->terms < p->P ? ch->terms : p->P;
	struct buf qs = BUF_INIT;
	buf_addf(&qs, fmt, LEVEL_FIELDS);
	json_t *vars = json_object();
	json_object_set_new(vars, "first", json_integer(P));
	json_object_set_new(vars, "levels", json_integer(p->L));
	if (ch->cursor)
		json_object_set_new(vars, "after", json_string(ch->cursor));
	if (ch->filter)
		json_object_set_new(vars, "query", json_string(ch->filter));
	gq_send(&p->o, K_PAGE, page_est(P, p->L), qs.s, vars, page_done, ch);
	buf_release(&qs);
}

static int
wanted_item(struct pull *p, const char *id, const char *sku)
{
	if (p->skus && !in_sorted(p->skus, p->nskus, sku))
		return 0;	/* the search is not exact (case, prefixes): filter here */
	if (p->items && !in_sorted(p->items, p->nitems, id))
		return 0;
	return 1;
}

static int more_done(struct gq *q, json_t *data);

static void
more_send(struct more *m)
{
	struct pull *p = m->p;
	struct shop *s = p->o.s;
	int n = MORE_LEVELS;
	double budget = s->bmax > 0 && s->bmax < QUERY_COST_MAX ? s->bmax : QUERY_COST_MAX;
	while (n > 1 && 3 + 3.0 * n > budget)
		n--;
	struct buf qs = BUF_INIT;
	buf_addf(&qs, "query invkitLevels($id: ID!, $after: String, $levels: Int!) { "
	    "inventoryItem(id: $id) { inventoryLevels(first: $levels, after: $after) { %s } } }",
	    LEVEL_FIELDS);
	json_t *vars = json_object();
	json_object_set_new(vars, "id", json_string(m->item));
	json_object_set_new(vars, "after", json_string(m->cursor));
	json_object_set_new(vars, "levels", json_integer(n));
	gq_send(&p->o, K_LEVELS, 3 + 3.0 * n, qs.s, vars, more_done, m);
	buf_release(&qs);
}

static void
more_free(struct more *m)
{
	free(m->item);
	free(m->sku);
	free(m->cursor);
	free(m);
}

/* Emit one item's levels from an InventoryLevelConnection; follow its pages. */
static void
levels(struct pull *p, const char *item, const char *sku, json_t *conn, struct more *m)
{
	struct shop *s = p->o.s;
	json_t *nodes = json_object_get(conn, "nodes"), *pi = json_object_get(conn, "pageInfo");
	json_t *lv;
	size_t i;

	if (!json_is_array(nodes) || !json_is_object(pi)) {
		op_fail(&p->o, EX_DATAERR, "inventory levels of %s missing from the answer", item);
		if (m)
			more_free(m);
		return;
	}
	json_array_foreach(nodes, i, lv) {
		const char *loc = jstr(json_object_get(lv, "location"), "id");
		json_t *qs = json_object_get(lv, "quantities"), *qv;
		size_t j;
		int found = 0;
		json_int_t qty = 0;
		json_array_foreach(qs, j, qv) {
			const char *nm = jstr(qv, "name");
			json_t *n = json_object_get(qv, "quantity");
			if (nm && !strcmp(nm, "available") && json_is_integer(n)) {
				qty = json_integer_value(n);
				found = 1;
			}
		}
		if (!loc || !found) {
			op_fail(&p->o, EX_DATAERR, "a level of %s has no location or available quantity",
			    item);
			break;
		}
		if (s->locs && !in_sorted(s->locs, s->nlocs, loc))
			continue;
		struct pulled r = { item, sku, loc, "available", (int64_t)qty };
		p->emit(&r, p->arg);
	}
	int more = json_is_true(json_object_get(pi, "hasNextPage"));
	const char *cur = jstr(pi, "endCursor");
	if (!p->o.code && more && !cur)
		op_fail(&p->o, EX_DATAERR, "levels of %s: a next page without a cursor", item);
	if (p->o.code || !more) {
		if (m)
			more_free(m);
		return;
	}
	if (!m) {
		m = xcalloc(1, sizeof *m);
		m->p = p;
		m->item = xstrdup(item);
		m->sku = xstrdup(sku);
	}
	free(m->cursor);
	m->cursor = xstrdup(cur);
	more_send(m);
}

static int
more_done(struct gq *q, json_t *data)
{
	struct more *m = q->arg;
	struct pull *p = m->p;
	if (!data || p->o.code) {
		if (!data)
			gq_fail(q);
		more_free(m);
		return 0;
	}
	json_t *it = json_object_get(data, "inventoryItem");
	if (!json_is_object(it)) {
		op_fail(&p->o, EX_TEMPFAIL, "item %s was deleted during the pull; pull again", m->item);
		more_free(m);
		return 0;
	}
	levels(p, m->item, m->sku, json_object_get(it, "inventoryLevels"), m);
	return 0;
}

static int
page_done(struct gq *q, json_t *data)
{
	struct chain *ch = q->arg;
	struct pull *p = ch->p;
	struct shop *s = p->o.s;

	if (!data) {
		if (!strcmp(q->gqlcode, "MAX_COST_EXCEEDED") && p->P > 1 && !p->o.code) {
			p->P /= 2;	/* the limit is lower than we thought: smaller pages */
			page_send(ch);
			return 0;
		}
		gq_fail(q);
		return 0;
	}
	if (p->o.code)
		return 0;
	json_t *conn = json_object_get(data, "inventoryItems");
	json_t *nodes = json_object_get(conn, "nodes"), *pi = json_object_get(conn, "pageInfo");
	json_t *n;
	size_t i;
	if (!json_is_array(nodes) || !json_is_object(pi)) {
		op_fail(&p->o, EX_DATAERR, "inventoryItems missing from the answer");
		return 0;
	}
	json_array_foreach(nodes, i, n) {
		const char *id = jstr(n, "id");
		const char *sku = jstr(n, "sku");
		long long num = id ? gid_num(id, "InventoryItem") : 0;
		if (!id || num <= 0) {
			op_fail(&p->o, EX_DATAERR, "an inventory item without a usable id");
			return 0;
		}
		if (ch->floor && num <= ch->floor) {
			op_fail(&p->o, EX_UNAVAILABLE, "the id:> search term was not applied; more than "
			    "%ld items cannot be listed: narrow the pull with --sku", s->pagination_limit);
			return 0;
		}
		if (num <= ch->last)
			ch->monotonic = 0;
		ch->last = num;
		if (!sku)
			sku = "";
		if (wanted_item(p, id, sku))
			levels(p, id, sku, json_object_get(n, "inventoryLevels"), NULL);
		if (p->o.code)
			return 0;
	}
	ch->count += (long)json_array_size(nodes);
	if (!json_is_true(json_object_get(pi, "hasNextPage")))
		return 0;
	const char *cur = jstr(pi, "endCursor");
	if (!cur) {
		op_fail(&p->o, EX_DATAERR, "inventoryItems: a next page without a cursor");
		return 0;
	}
	page_size(p);
	free(ch->cursor);
	ch->cursor = xstrdup(cur);
	if (ch->count + p->P > s->pagination_limit) {
		/*
		 * Paging deeper than the platform allows fails, so start the
		 * listing again above the last id seen - only when ids came in
		 * increasing order, else that would skip items.
		 */
		if (!ch->monotonic) {
			op_fail(&p->o, EX_UNAVAILABLE, "more than %ld items in one listing and they are "
			    "not in id order: narrow the pull with --sku", s->pagination_limit);
			return 0;
		}
		struct buf f = BUF_INIT;
		if (ch->base)
			buf_addf(&f, "(%s) AND id:>%lld", ch->base, ch->last);
		else
			buf_addf(&f, "id:>%lld", ch->last);
		free(ch->filter);
		ch->filter = f.s;
		free(ch->cursor);
		ch->cursor = NULL;
		ch->floor = ch->last;
		ch->count = 0;
	}
	page_send(ch);
	return 0;
}

/* The shop's locations: how many (levels per item) and whether configured ones exist. */
static int
locs_done(struct gq *q, json_t *data)
{
	struct pull *p = q->arg;
	struct shop *s = p->o.s;
	if (!data) {
		gq_fail(q);
		return 0;
	}
	json_t *conn = json_object_get(data, "locations");
	json_t *nodes = json_object_get(conn, "nodes");
	if (!json_is_array(nodes)) {
		op_fail(&p->o, EX_DATAERR, "locations missing from the answer");
		return 0;
	}
	p->shoplocs = (int)json_array_size(nodes) +
	    json_is_true(json_object_get(json_object_get(conn, "pageInfo"), "hasNextPage"));
	for (size_t i = 0; i < s->nlocs; i++) {
		char a[32];
		snprintf(a, sizeof a, "l%zu", i);
		if (!json_is_object(json_object_get(data, a))) {
			op_fail(&p->o, EX_CONFIG, "locations: %s is not a location of this shop", s->locs[i]);
			return 0;
		}
	}
	return 0;
}

/*
 * A SKU the search syntax can quote without doubt: no quote, backslash,
 * wildcard or control byte (how Shopify unescapes those is UNVERIFIED).
 */
static int
sku_plain(const char *sku)
{
	if (!*sku)
		return 0;
	for (const unsigned char *p = (const unsigned char *)sku; *p; p++)
		if (*p < ' ' || *p == 0x7f || *p == '"' || *p == '\\' || *p == '*')
			return 0;
	return 1;
}

/* A search term for one SKU: sku:"..." (https://shopify.dev/docs/api/usage/search-syntax). */
static void
sku_term(struct buf *b, const char *sku)
{
	buf_adds(b, "sku:\"");
	buf_adds(b, sku);
	buf_addc(b, '"');
}

static void
chain_add(struct pull *p, char *base, int terms)
{
	struct chain *ch = xcalloc(1, sizeof *ch);
	ch->p = p;
	ch->terms = terms;
	ch->base = base;
	ch->filter = base ? xstrdup(base) : NULL;
	ch->monotonic = 1;
	p->chains = xrealloc(p->chains, (p->nchains + 1) * sizeof *p->chains);
	p->chains[p->nchains++] = ch;
}

static int
shopify_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct pull p;
	struct shop *s = c->priv;

	memset(&p, 0, sizeof p);
	op_init(&p.o, c);
	p.po = o;
	p.emit = emit;
	p.arg = arg;
	/*
	 * o->since is not used: an inventory item's updated_at does not follow
	 * its quantities, so filtering on it could miss changes.  Pulling
	 * everything is the safe superset.
	 */
	if (o && o->skus && o->nskus) {
		p.nskus = o->nskus;
		p.skus = xmalloc(p.nskus * sizeof *p.skus);
		for (size_t i = 0; i < p.nskus; i++)
			p.skus[i] = (char *)o->skus[i];
		qsort(p.skus, p.nskus, sizeof *p.skus, cmpstr);
	}
	if (o && o->items && o->nitems) {
		p.items = xcalloc(o->nitems, sizeof *p.items);
		for (size_t i = 0; i < o->nitems; i++) {
			char *g = gid_norm(o->items[i], "InventoryItem");
			if (g)
				p.items[p.nitems++] = g;
		}
		qsort(p.items, p.nitems, sizeof *p.items, cmpstr);
	}

	/* 1: the locations (levels per item, configured ones exist) */
	struct buf qs = BUF_INIT;
	buf_adds(&qs, "query invkitLocations { locations(first: 11, includeInactive: true) "
	    "{ nodes { id } pageInfo { hasNextPage } }");
	for (size_t i = 0; i < s->nlocs; i++)
		buf_addf(&qs, " l%zu: location(id: \"%s\") { id }", i, s->locs[i]);
	buf_adds(&qs, " }");
	gq_send(&p.o, K_LOCS, 13 + (double)s->nlocs, qs.s, NULL, locs_done, &p);
	buf_release(&qs);
	http_run(c->http);

	/* 2: the listings, one per chunk of search terms */
	if (!p.o.code) {
		p.L = p.shoplocs < 1 ? 1 : p.shoplocs > PAGE_LEVELS ? PAGE_LEVELS : p.shoplocs;
		page_size(&p);
		int plain = 1;
		for (size_t i = 0; i < p.nskus; i++)
			plain &= sku_plain(p.skus[i]);
		if (p.skus && !plain) {
			/* one SKU the search might not find: list everything, filter here */
			chain_add(&p, NULL, 0);
		} else if (p.skus) {
			for (size_t i = 0; i < p.nskus; i += SKU_CHUNK) {
				struct buf f = BUF_INIT;
				for (size_t j = i; j < p.nskus && j < i + SKU_CHUNK; j++) {
					if (j > i)
						buf_adds(&f, " OR ");
					sku_term(&f, p.skus[j]);
				}
				chain_add(&p, f.s, (int)(p.nskus - i < SKU_CHUNK ? p.nskus - i : SKU_CHUNK));
			}
		} else if (p.items) {
			for (size_t i = 0; i < p.nitems; i += SKU_CHUNK) {
				struct buf f = BUF_INIT;
				for (size_t j = i; j < p.nitems && j < i + SKU_CHUNK; j++)
					buf_addf(&f, "%sid:%lld", j > i ? " OR " : "",
					    gid_num(p.items[j], "InventoryItem"));
				chain_add(&p, f.s, (int)(p.nitems - i < SKU_CHUNK ? p.nitems - i : SKU_CHUNK));
			}
		} else if (!(o && o->items && o->nitems)) {
			chain_add(&p, NULL, 0);	/* (items given but none a Shopify id: nothing matches) */
		}
		for (size_t i = 0; i < p.nchains; i++)
			page_send(p.chains[i]);
		http_run(c->http);
	}

	for (size_t i = 0; i < p.nchains; i++) {
		free(p.chains[i]->base);
		free(p.chains[i]->filter);
		free(p.chains[i]->cursor);
		free(p.chains[i]);
	}
	free(p.chains);
	free(p.skus);
	for (size_t i = 0; i < p.nitems; i++)
		free(p.items[i]);
	free(p.items);
	return op_done(&p.o, err);
}

/* ---- read ---- */

struct rbatch {
	struct corr **v;	/* the pairs asked, in alias order */
	size_t n;
};

static int
read_done(struct gq *q, json_t *data)
{
	struct rbatch *b = q->arg;
	if (!data) {
		gq_fail(q);
		return 0;
	}
	for (size_t i = 0; i < b->n; i++) {
		char a[32];
		snprintf(a, sizeof a, "r%zu", i);
		json_t *lv = json_object_get(json_object_get(data, a), "inventoryLevel");
		json_t *qs = json_object_get(lv, "quantities"), *qv;
		size_t j;
		b->v[i]->has_current = 0;
		json_array_foreach(qs, j, qv) {
			const char *nm = jstr(qv, "name");
			json_t *n = json_object_get(qv, "quantity");
			if (nm && !strcmp(nm, "available") && json_is_integer(n)) {
				b->v[i]->current = (int64_t)json_integer_value(n);
				b->v[i]->has_current = 1;
			}
		}
	}
	return 0;
}

/* Read the current available quantity of each pair (no record: has_current 0). */
static void
read_pairs(struct op *o, struct corr **v, size_t n)
{
	struct rbatch *bs = NULL;
	size_t nb = 0;
	size_t per = READ_BATCH;
	struct shop *s = o->s;
	if (s->bmax > 0)
		while (per > 1 && 3.0 * (double)per * (s->ratio[K_READ] > 0 ? s->ratio[K_READ] : 1) > s->bmax)
			per /= 2;
	struct corr **ok = xcalloc(n ? n : 1, sizeof *ok);
	size_t nok = 0;
	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (gid_num(v[i]->item ? v[i]->item : "", "InventoryItem") > 0 &&
		    gid_num(v[i]->location ? v[i]->location : "", "Location") > 0)
			ok[nok++] = v[i];
	}
	bs = xcalloc(nok / per + 1, sizeof *bs);
	for (size_t i = 0; i < nok; i += per) {
		struct rbatch *b = &bs[nb++];
		b->v = ok + i;
		b->n = nok - i < per ? nok - i : per;
		struct buf qs = BUF_INIT, decl = BUF_INIT;
		json_t *vars = json_object();
		for (size_t j = 0; j < b->n; j++) {
			char *it = gid_norm(b->v[j]->item, "InventoryItem");
			char *lo = gid_norm(b->v[j]->location, "Location");
			char k[32];
			buf_addf(&decl, "%s$i%zu: ID!, $l%zu: ID!", j ? ", " : "", j, j);
			buf_addf(&qs, " r%zu: inventoryItem(id: $i%zu) { inventoryLevel(locationId: $l%zu) "
			    "{ quantities(names: [\"available\"]) { name quantity } } }", j, j, j);
			snprintf(k, sizeof k, "i%zu", j);
			json_object_set_new(vars, k, json_string(it));
			snprintf(k, sizeof k, "l%zu", j);
			json_object_set_new(vars, k, json_string(lo));
			free(it);
			free(lo);
		}
		struct buf full = BUF_INIT;
		buf_addf(&full, "query invkitRead(%s) {%s }", decl.s, qs.s);
		gq_send(o, K_READ, 3.0 * (double)b->n, full.s, vars, read_done, b);
		buf_release(&full);
		buf_release(&qs);
		buf_release(&decl);
	}
	http_run(o->c->http);
	free(bs);
	free(ok);
}

static int
shopify_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct op o;
	op_init(&o, c);
	read_pairs(&o, v, n);
	return op_done(&o, err);
}

/* ---- push ---- */

/* A correction waiting to be sent, and the changeFromQuantity it goes with. */
struct pend {
	struct corr *c;
	int set;		/* inventorySetQuantities (else adjust) */
	int has_cf;		/* changeFromQuantity (else null) */
	int64_t cf;
	int retry;		/* re-sent after a failed attempt: a new key */
};

struct plist {
	struct pend *v;
	size_t n, cap;
};

static void
plist_add(struct plist *l, struct pend e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = e;
}

struct push {
	struct op o;
	const char *run;
	struct buf ref;		/* referenceDocumentUri */
	struct plist next;	/* to send in the next round */
	struct plist resolve;	/* a failed attempt: read, then decide */
	struct plist conflicts;	/* stale: read to report the current quantity */
};

struct call {
	struct push *p;
	struct pend *e;		/* its entries (owned copy) */
	size_t n;
	int set;
	const char *reason;
	int tries;		/* IDEMPOTENCY_CONCURRENT_REQUEST re-sends */
	char key[48];
};

/*
 * Shopify's reason for a correction's: sync -> correction, count ->
 * cycle_count_available, a documented reason passes through, anything else
 * is a correction.  (Values: shopify.dev's examples show correction and
 * restock; the rest of the list is UNVERIFIED there, mirrored by
 * Shopline's copy of the reasons table.)
 */
static const char *
shop_reason(const char *r)
{
	static const char *const known[] = {
		"correction", "cycle_count_available", "damaged", "other", "promotion",
		"received", "restock", "shrinkage",
	};
	if (!r || !strcmp(r, "sync"))
		return "correction";
	if (!strcmp(r, "count"))
		return "cycle_count_available";
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (!strcmp(r, known[i]))
			return known[i];
	return "correction";
}

/* The call's idempotency key: UUID-shaped hash of what it sends. */
static void
call_key(struct call *k)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s\037%s", k->set ? "set" : "adjust", k->reason);
	for (size_t i = 0; i < k->n; i++) {
		struct pend *e = &k->e[i];
		buf_addf(&b, "\036%s\037", e->c->key);
		if (e->has_cf)
			buf_addf(&b, "%lld", (long long)e->cf);
		else
			buf_adds(&b, "null");
		if (e->retry)
			buf_addf(&b, "\037retry%d", e->retry);
	}
	key_uuid(b.s, b.len, k->key, sizeof k->key);
	buf_release(&b);
}

static int call_done(struct gq *q, json_t *data);

static void
call_send(struct push *p, struct call *k)
{
	/*
	 * @idempotent(key:) is required on both from 2026-04
	 * (https://shopify.dev/docs/api/admin-graphql/2026-01/mutations/inventoryAdjustQuantities,
	 * caution note); a re-sent call reuses its key
	 * (https://shopify.dev/docs/api/usage/implementing-idempotency).
	 */
	static const char adjust[] =
	    "mutation invkitAdjust($input: InventoryAdjustQuantitiesInput!, $key: String!) { "
	    "inventoryAdjustQuantities(input: $input) @idempotent(key: $key) { %s } }";
	static const char set[] =
	    "mutation invkitSet($input: InventorySetQuantitiesInput!, $key: String!) { "
	    "inventorySetQuantities(input: $input) @idempotent(key: $key) { %s } }";
	static const char sel[] =
	    "inventoryAdjustmentGroup { changes(quantityNames: [\"available\"]) "
	    "{ name quantityAfterChange item { id } location { id } } } "
	    "userErrors { code field message }";
	struct buf qs = BUF_INIT;
	json_t *arr = json_array();

	call_key(k);
	buf_addf(&qs, k->set ? set : adjust, sel);
	for (size_t i = 0; i < k->n; i++) {
		struct pend *e = &k->e[i];
		json_t *o = json_object();
		char *it = gid_norm(e->c->item, "InventoryItem");
		char *lo = gid_norm(e->c->location, "Location");
		if (k->set)
			json_object_set_new(o, "quantity", json_integer(e->c->to));
		else
			json_object_set_new(o, "delta", json_integer(e->c->delta));
		json_object_set_new(o, "inventoryItemId", json_string(it));
		json_object_set_new(o, "locationId", json_string(lo));
		/*
		 * changeFromQuantity must be present from 2026-04, null opting out of
		 * the compare; a mismatch is CHANGE_FROM_QUANTITY_STALE
		 * (https://shopify.dev/docs/api/admin-graphql/2026-07/input-objects/InventoryChangeInput,
		 * .../InventoryQuantityInput)
		 */
		json_object_set_new(o, "changeFromQuantity", e->has_cf ? json_integer(e->cf) : json_null());
		json_array_append_new(arr, o);
		free(it);
		free(lo);
	}
	json_t *input = json_object();
	json_object_set_new(input, "name", json_string("available"));
	json_object_set_new(input, "reason", json_string(k->reason));
	json_object_set_new(input, "referenceDocumentUri", json_string(p->ref.s));
	json_object_set_new(input, k->set ? "quantities" : "changes", arr);
	json_t *vars = json_object();
	json_object_set_new(vars, "input", input);
	json_object_set_new(vars, "key", json_string(k->key));
	gq_send(&p->o, K_MUT, 14, qs.s, vars, call_done, k);
	buf_release(&qs);
}

static void
call_free(struct call *k)
{
	free(k->e);
	free(k);
}

/* Index of the entry a userError's field names (input, changes|quantities, i, ...), or -1. */
static long
ue_index(json_t *field, size_t n)
{
	if (!json_is_array(field) || json_array_size(field) < 3)
		return -1;
	const char *a = json_string_value(json_array_get(field, 1));
	const char *i = json_string_value(json_array_get(field, 2));
	if (!a || !i || (strcmp(a, "changes") != 0 && strcmp(a, "quantities") != 0))
		return -1;
	int64_t x;
	if (parse_i64(i, strlen(i), &x) || x < 0 || (uint64_t)x >= n)
		return -1;
	return (long)x;
}

/*
 * Codes that say the attempt did not go through and a new one may ("Retry
 * with a new idempotency key", "Try again"): resolve by reading.
 * (https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode,
 * https://shopify.dev/docs/api/admin-graphql/2026-01/enums/InventoryAdjustQuantitiesUserErrorCode)
 */
static int
code_transient(const char *code)
{
	return !strcmp(code, "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED") ||
	    !strcmp(code, "ADJUST_QUANTITIES_FAILED") || !strcmp(code, "SERVICE_UNAVAILABLE");
}

static int
code_stale(const char *code)
{
	return !strcmp(code, "CHANGE_FROM_QUANTITY_STALE") || !strcmp(code, "COMPARE_QUANTITY_STALE");
}

/* One entry's outcome from its own user error. */
static void
entry_error(struct push *p, struct pend *e, const char *code, const char *msg)
{
	if (code_stale(code)) {
		e->c->status = CS_CONFLICT;
		plist_add(&p->conflicts, *e);
	} else if (code_transient(code)) {
		plist_add(&p->resolve, *e);
	} else {
		struct buf t = BUF_INIT;
		server_text(p->o.s, &t, code);
		buf_adds(&t, ": ");
		server_text(p->o.s, &t, msg);
		corr_fail(e->c, CS_FAILED, "%s", t.s);
		buf_release(&t);
	}
}

static int
call_done(struct gq *q, json_t *data)
{
	struct call *k = q->arg;
	struct push *p = k->p;
	size_t i;

	if (!data) {
		if (q->gqlcode[0]) {
			for (i = 0; i < k->n; i++)
				corr_fail(k->e[i].c, CS_FAILED, "%s: %s", q->gqlcode,
				    q->gqlmsg.s ? q->gqlmsg.s : "");
		} else if (p->o.code == EX_NOPERM || p->o.code == EX_CONFIG) {
			for (i = 0; i < k->n; i++)
				corr_fail(k->e[i].c, CS_FAILED, "not applied: %s", p->o.err.s);
		} else {
			/*
			 * No usable answer after every retry: the call may or may not
			 * have been applied.  Re-sending it with the same key (the same
			 * run, resumed) is safe: Shopify answers a key it has seen with
			 * the first result.
			 */
			for (i = 0; i < k->n; i++)
				corr_fail(k->e[i].c, CS_FAILED, "not confirmed (%s); the same run "
				    "may re-send it safely", p->o.err.s ? p->o.err.s : "no answer");
		}
		call_free(k);
		return 0;
	}
	json_t *res = json_object_get(data, k->set ? "inventorySetQuantities" : "inventoryAdjustQuantities");
	json_t *group = json_object_get(res, "inventoryAdjustmentGroup");
	json_t *ues = json_object_get(res, "userErrors"), *ue;
	const char **ecode = xcalloc(k->n, sizeof *ecode), **emsg = xcalloc(k->n, sizeof *emsg);
	const char *wcode = NULL, *wmsg = NULL;

	if (!json_is_object(res)) {
		for (i = 0; i < k->n; i++)
			corr_fail(k->e[i].c, CS_FAILED, "no result in the answer");
		goto out;
	}
	json_array_foreach(ues, i, ue) {
		const char *code = jstr(ue, "code"), *msg = jstr(ue, "message");
		if (!code)
			code = "USER_ERROR";
		if (!msg)
			msg = "";
		long x = ue_index(json_object_get(ue, "field"), k->n);
		if (x >= 0) {
			if (!ecode[x]) {
				ecode[x] = code;
				emsg[x] = msg;
			}
		} else if (!wcode || !strncmp(code, "IDEMPOTENCY_", 12)) {
			wcode = code;
			wmsg = msg;
		}
	}
	if (wcode) {
		/* an error about the whole call */
		if (!strcmp(wcode, "IDEMPOTENCY_CONCURRENT_REQUEST") && k->tries < CONCURRENT_TRIES &&
		    !p->o.code) {
			/* the first attempt is still being answered: wait, ask again (same key) */
			k->tries++;
			if (http_retry(p->o.c->http, &q->r, 0.25 * k->tries) == 0) {
				free(ecode);
				free(emsg);
				return 1;
			}
		}
		for (i = 0; i < k->n; i++)
			entry_error(p, &k->e[i], wcode, wmsg);
		goto out;
	}
	for (i = 0; i < k->n; i++) {
		struct pend *e = &k->e[i];
		if (ecode[i]) {
			entry_error(p, e, ecode[i], emsg[i]);
		} else if (json_is_object(group)) {
			e->c->status = CS_APPLIED;
			e->c->error[0] = '\0';
			if (k->set) {
				e->c->has_after = 1;	/* a set shows its value, listed or not */
				e->c->after = e->c->to;
			}
		} else {
			/* rejected with the others (stale_mode "call"): nothing applied, send again */
			plist_add(&p->next, *e);
		}
	}
	json_t *chs = json_object_get(group, "changes"), *chg;
	/* each id parsed once, not once per (change, entry) pair: 250 x 250 a call */
	long long *eit = xcalloc(k->n, sizeof *eit), *elo = xcalloc(k->n, sizeof *elo);
	for (size_t j = 0; j < k->n; j++) {
		eit[j] = gid_num(k->e[j].c->item, "InventoryItem");
		elo[j] = gid_num(k->e[j].c->location, "Location");
	}
	json_array_foreach(chs, i, chg) {
		const char *nm = jstr(chg, "name");
		const char *it = jstr(json_object_get(chg, "item"), "id");
		const char *lo = jstr(json_object_get(chg, "location"), "id");
		json_t *after = json_object_get(chg, "quantityAfterChange");
		if (!nm || strcmp(nm, "available") != 0 || !it || !lo || !json_is_integer(after))
			continue;
		long long nit = gid_num(it, "InventoryItem"), nlo = gid_num(lo, "Location");
		for (size_t j = 0; j < k->n; j++) {
			struct corr *c = k->e[j].c;
			if (c->status == CS_APPLIED && eit[j] == nit && elo[j] == nlo) {
				c->has_after = 1;
				c->after = (int64_t)json_integer_value(after);
			}
		}
	}
	free(eit);
	free(elo);
out:
	free(ecode);
	free(emsg);
	call_free(k);
	return 0;
}

/* Send a round: entries grouped by mutation and reason, 250 a call. */
static void
round_send(struct push *p, struct plist *l)
{
	char *done = xcalloc(l->n ? l->n : 1, 1);
	for (size_t i = 0; i < l->n; i++) {
		if (done[i])
			continue;
		int set = l->v[i].set;
		const char *reason = shop_reason(l->v[i].c->reason);
		struct call *k = NULL;
		for (size_t j = i; j < l->n; j++) {
			if (done[j] || l->v[j].set != set || strcmp(shop_reason(l->v[j].c->reason), reason))
				continue;
			if (!k) {
				k = xcalloc(1, sizeof *k);
				k->p = p;
				k->set = set;
				k->reason = reason;
				k->e = xcalloc(MAX_ENTRIES, sizeof *k->e);
			}
			k->e[k->n++] = l->v[j];
			done[j] = 1;
			if (k->n == MAX_ENTRIES) {
				call_send(p, k);
				k = NULL;
			}
		}
		if (k)
			call_send(p, k);
	}
	free(done);
}

/* The last status of entries whose attempt failed, from what the shop shows now. */
static void
resolve(struct push *p)
{
	struct plist l = p->resolve;
	memset(&p->resolve, 0, sizeof p->resolve);
	struct corr **v = xcalloc(l.n ? l.n : 1, sizeof *v);
	for (size_t i = 0; i < l.n; i++)
		v[i] = l.v[i].c;
	read_pairs(&p->o, v, l.n);
	for (size_t i = 0; i < l.n; i++) {
		struct pend e = l.v[i];
		struct corr *c = e.c;
		if (!c->has_current) {
			corr_fail(c, CS_FAILED, "an attempt failed and the quantity could not be read back");
			continue;
		}
		int64_t before = e.has_cf ? e.cf : c->from;
		if (e.set ? c->current == c->to : c->current == before + c->delta) {
			/* the shop shows the wanted quantity: nothing to send */
			c->status = CS_APPLIED;
			c->error[0] = '\0';
			c->has_after = 1;
			c->after = c->current;
		} else if (e.set || c->current == before) {
			/* not applied: send again under a new key */
			e.retry++;
			plist_add(&p->next, e);
		} else {
			/* moved by someone else since: cannot tell, never guess */
			corr_fail(c, CS_CONFLICT, "an attempt failed and the quantity moved since it was "
			    "read (%lld, now %lld); not applied", (long long)before, (long long)c->current);
		}
	}
	free(v);
	free(l.v);
}

static int
shopify_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct push p;
	struct shop *s = c->priv;
	struct plist cur = { 0 };

	memset(&p, 0, sizeof p);
	op_init(&p.o, c);
	p.run = run;
	/* gid://<app>/<entity>/<id> is the preferred form
	 * (https://shopify.dev/docs/api/admin-graphql/unstable/input-objects/InventoryAdjustQuantitiesInput) */
	buf_adds(&p.ref, "gid://invkit/Run/");
	for (const char *r = run ? run : ""; *r; r++) {
		unsigned char ch = (unsigned char)*r;
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
			buf_addc(&p.ref, (char)ch);
		else
			buf_addf(&p.ref, "%%%02X", ch);
	}

	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (!k->key[0])
			corr_key(k, run ? run : "");
		if (gid_num(k->item ? k->item : "", "InventoryItem") <= 0) {
			corr_fail(k, CS_FAILED, "INVALID_INVENTORY_ITEM: '%.60s' is not a Shopify "
			    "inventory item id", k->item ? k->item : "");
			continue;
		}
		if (gid_num(k->location ? k->location : "", "Location") <= 0) {
			corr_fail(k, CS_FAILED, "INVALID_LOCATION: '%.60s' is not a Shopify location id",
			    k->location ? k->location : "");
			continue;
		}
		/* GraphQL Int is 32-bit */
		if (k->to > INT32_MAX || k->to < -INT32_MAX || k->delta > INT32_MAX ||
		    k->delta < -INT32_MAX || (k->has_from && (k->from > INT32_MAX || k->from < -INT32_MAX))) {
			corr_fail(k, CS_FAILED, "quantity out of range for Shopify");
			continue;
		}
		if (k->has_from && k->to - k->from != k->delta) {
			corr_fail(k, CS_FAILED, "delta %lld is not to - from", (long long)k->delta);
			continue;
		}
		if (k->has_from && k->delta == 0) {
			k->status = CS_UNCHANGED;
			continue;
		}
		struct pend e = { k, !k->has_from, 0, 0, 0 };
		if (k->has_from && s->conflict) {
			e.has_cf = 1;
			e.cf = k->from;
		}
		plist_add(&cur, e);
	}

	for (int round = 0; cur.n && round < MAX_ROUNDS && !p.o.code; round++) {
		round_send(&p, &cur);
		cur.n = 0;
		http_run(c->http);
		if (p.resolve.n && !p.o.code)
			resolve(&p);
		struct plist t = cur;
		cur = p.next;
		p.next = t;
	}
	for (size_t i = 0; i < cur.n; i++) {
		if (p.o.code)
			corr_fail(cur.v[i].c, CS_FAILED, "not sent: %s", p.o.err.s);
		else
			corr_fail(cur.v[i].c, CS_FAILED, "not applied after %d rounds of rejected calls",
			    MAX_ROUNDS);
	}
	for (size_t i = 0; i < p.resolve.n; i++)
		corr_fail(p.resolve.v[i].c, CS_FAILED, "an attempt failed: %s",
		    p.o.err.s ? p.o.err.s : "not resolved");

	/* stale: report what the shop shows now, never overwrite it */
	if (p.conflicts.n) {
		struct corr **cv = xcalloc(p.conflicts.n, sizeof *cv);
		for (size_t i = 0; i < p.conflicts.n; i++)
			cv[i] = p.conflicts.v[i].c;
		struct op ro;
		op_init(&ro, c);
		read_pairs(&ro, cv, p.conflicts.n);
		for (size_t i = 0; i < p.conflicts.n; i++) {
			struct pend *e = &p.conflicts.v[i];
			struct corr *k = e->c;
			char exp[32] = "null";
			if (e->has_cf)
				snprintf(exp, sizeof exp, "%lld", (long long)e->cf);
			if (k->has_current)
				corr_fail(k, CS_CONFLICT, "CHANGE_FROM_QUANTITY_STALE: changed on the platform "
				    "since it was read (expected %s, now %lld); not applied", exp,
				    (long long)k->current);
			else
				corr_fail(k, CS_CONFLICT, "CHANGE_FROM_QUANTITY_STALE: changed on the platform "
				    "since it was read (expected %s; now unreadable%s%s); not applied", exp,
				    ro.code ? ": " : "", ro.code ? ro.err.s : "");
		}
		buf_release(&ro.err);
		free(cv);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not sent: %s", p.o.err.s ? p.o.err.s : "stopped");

	free(cur.v);
	free(p.next.v);
	free(p.resolve.v);
	free(p.conflicts.v);
	buf_release(&p.ref);
	return op_done(&p.o, err);
}

const struct driver drv_shopify = {
	.type = "shopify",
	/*
	 * A batch is four calls of 250, sent at once (as many as the channel's
	 * concurrency lets fly): with one call at a time a round trip longer
	 * than the bucket's refill of one call's cost (140 ms on the Standard
	 * plan) would leave the rate unused (scripts/bench-push --latency).
	 * A batch always splits into the same calls, so a resumed batch
	 * carries the same idempotency keys.
	 */
	.max_batch = 4 * MAX_ENTRIES,
	.open = shopify_open,
	.pull = shopify_pull,
	.read = shopify_read,
	.push = shopify_push,
	.close = shopify_close,
};
