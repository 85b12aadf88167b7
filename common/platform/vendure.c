/*
 * vendure.c - the Vendure 3 driver: the GraphQL Admin API, product
 * variants and their stock levels, one per stock location.
 *
 * Facts it relies on, with where each is stated (and checked against a
 * real Vendure 3.7.3 by tests/real/vendure.sh):
 *   - The Admin API is POST {base_url}/admin-api (apiOptions.adminApiPath).
 *     An API key goes in the vendure-api-key header, as <lookupId>:<secret>,
 *     and only when the server lists 'api-key' in authOptions.tokenMethod
 *     (else the header is silently ignored); a session token goes in
 *     Authorization: Bearer.  API keys exist from Vendure 3.6.0.
 *     https://docs.vendure.io/current/core/developer-guide/api-keys
 *     (@vendure/core 3.7.3, api/common/extract-session-token.js;
 *     config/api-key-strategy/random-bytes-api-key-strategy.js)
 *   - Errors come back with HTTP 200 in errors[] with extensions.code
 *     (FORBIDDEN for missing or refused credentials, USER_INPUT_ERROR,
 *     ENTITY_NOT_FOUND, BAD_USER_INPUT for a variable out of range).
 *     https://docs.vendure.io/current/core/developer-guide/error-handling
 *   - productVariants(options: {skip, take, sort, filter}) answers
 *     {totalItems, items}; take is capped by apiOptions.adminListQueryLimit,
 *     1000 by default ("Cannot take more than 1000 results", USER_INPUT_ERROR).
 *     IDOperators and StringOperators have `in`.
 *     (@vendure/core 3.7.3, config/default-config.js; api/schema/common/
 *     common-types.graphql)
 *   - A variant has stockLevels { stockLocationId stockOnHand stockAllocated }
 *     (the locations of the active channel) and stockMovements, the ledger of
 *     every change (adjustments, allocations, sales, ...).  What can be sold
 *     is stockOnHand - stockAllocated - outOfStockThreshold.
 *     https://docs.vendure.io/current/core/core-concepts/stock-control
 *     https://docs.vendure.io/current/core/reference/typescript-api/entities/stock-level
 *     https://vendure.io/blog/announcing-vendure-v0-17-0 (the saleable formula)
 *   - updateProductVariants(input: [{id, stockLevels: [{stockLocationId,
 *     stockOnHand}]}]) sets absolute stockOnHand values; the server turns
 *     each into a StockAdjustment of new - old, read inside its transaction,
 *     and the whole call is one transaction: one bad entry and nothing is
 *     written.  A level that does not exist yet is created.
 *     https://docs.vendure.io/current/core/reference/typescript-api/services/stock-level-service
 *     (@vendure/core 3.7.3, service/services/stock-movement.service.js,
 *     adjustProductVariantStock; seen on the real server: one unknown id
 *     fails the whole call, ENTITY_NOT_FOUND)
 *   - The request body limit is Express's 100 KB (102400 bytes) unless the
 *     server replaces its body parser; a larger body answers HTTP 500 with
 *     an empty message.  (Seen on the real server; @vendure/core 3.7.3,
 *     wrap-early-middleware-handler.js documents replacing the parser.)
 *
 * Items and quantities.  An item is a variant id, a location a stock
 * location id.  `quantity = available` (the default) pulls stockOnHand -
 * stockAllocated, what the location can still sell (the variant's
 * outOfStockThreshold is not per location and is left to Vendure), with
 * state "available"; `quantity = on_hand` pulls stockOnHand, state
 * "on_hand".  Either way the platform is written through stockOnHand: for
 * available the target is to + stockAllocated as re-read just before the
 * write, so that pull, diff and push round-trip.
 *
 * Push.  Vendure has no relative change and no compare-and-set, so
 * (DESIGN.md, rule 3) each write is preceded by a re-read of its variants:
 * a quantity that is no longer the correction's `from` is a conflict and is
 * not written.  Writes are sent one at a time, at most write_batch variants
 * and body_limit bytes each (sized on the worst case before the re-read,
 * so a body never exceeds the limit).  The write's answer is read after
 * the commit and is the re-read after writing: it carries each variant's
 * levels and the count of its stock movements.  Movements beyond our own
 * adjustments since the re-read mean another change landed in the window:
 * the correction is reported as a conflict (written, but a change in the
 * window may have been overwritten), as is a quantity that is not `to`
 * after the write.  A write refused as a whole (one transaction) is split
 * in halves, each re-read and sent on its own, down to the variant at
 * fault; one whose answer was lost is settled by the next re-read (`to`
 * there: applied).  A correction with from null creates a level; when its
 * item is no variant id (a stock-file master's record carries its SKU as
 * item) the variant is the one with its sku, and several is refused.
 */
#include "platform.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "banned.h"

#define LIST_MAX 1000		/* adminListQueryLimit's default */
#define BODY_LIMIT 102400	/* Express's default json limit, "100kb" */
#define WRITE_BATCH 50		/* variants a write, by default */
#define MAX_BATCH 1000		/* corrections a push() call */
#define MAX_PASSES 4		/* readings of a changing list before giving up */
#define MAX_TRIES 6		/* writes of one variant that came back unanswered */
#define FILTER_CHUNK 500	/* values in one `in` filter */

static const char *const vendure_keys[] = {
	"type", "base_url", "token_file", "auth", "channel_token", "quantity", "locations",
	"page_size", "write_batch", "body_limit", "concurrency", "timeout", "ca_file",
	/* read by scripts/invsync from a channel's section */
	"master", "rules", "map", "location_map", "bundles", NULL
};

struct vend {
	struct buf url;		/* {base_url}/admin-api */
	char *path;		/* its path, for messages */
	struct buf auth;	/* the credentials header (a secret) */
	char *secret;		/* scrubbed out of any message */
	char *chtok;		/* "vendure-token: ..." or NULL */
	int on_hand;		/* quantity = on_hand */
	char **locs;		/* configured locations, sorted; NULL: all */
	size_t nlocs;
	long page;		/* page_size */
	long wbatch;		/* write_batch */
	size_t body_limit;
	uint64_t rng;
};

/* ---- small helpers ---- */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
loc_wanted(const struct vend *v, const char *loc)
{
	return !v->locs || bsearch(&loc, v->locs, v->nlocs, sizeof *v->locs, cmpstr) != NULL;
}

/* Replace every occurrence of the secret in b (server messages may echo it). */
static void
scrub(const struct vend *v, struct buf *b)
{
	/* the whole key, and its secret half (<lookupId>:<secret>) on its own */
	const char *colon = strchr(v->secret, ':');
	const char *hide[] = { v->secret, colon ? colon + 1 : NULL };
	buf_scrub(b, hide, 2);
}

static double
jitter(struct vend *v, int round)
{
	double d = 0.5;
	for (int i = 0; i < round && d < 30; i++)
		d *= 2;
	if (d > 30)
		d = 30;
	v->rng ^= v->rng << 13;
	v->rng ^= v->rng >> 7;
	v->rng ^= v->rng << 17;
	return d / 2 + (double)(v->rng >> 11) / 9007199254740992.0 * d / 2;
}

/* A JSON id: a string, or a number Vendure's id strategy may give. */
static char *
jid(json_t *x)
{
	char b[32];
	if (json_is_string(x))
		return *json_string_value(x) ? xstrdup(json_string_value(x)) : NULL;
	if (json_is_integer(x)) {
		snprintf(b, sizeof b, "%lld", (long long)json_integer_value(x));
		return xstrdup(b);
	}
	return NULL;
}

/* ---- GraphQL requests ---- */

/*
 * One request and what its answer says.  After gq_settle(): code is 0
 * when data holds the answer's data object; else the exit code it means,
 * with msg saying why (no secret), and gqlcode the GraphQL error code when
 * the server answered one.
 */
struct gq {
	struct http_req r;
	struct chan *c;
	json_t *root;		/* owned */
	json_t *data;		/* borrowed from root */
	int code;
	char gqlcode[64];
	struct buf msg;
	double sent, answered;	/* mono_now() */
	void (*then)(struct gq *q);
	void *arg;
};

static void gq_done(struct http_req *r, void *arg);

/* Prepare a request of query with variables vars (the JSON text of an object). */
static void
gq_init(struct gq *q, struct chan *c, const char *query, const char *vars)
{
	struct vend *v = c->priv;
	memset(q, 0, sizeof *q);
	q->c = c;
	http_req_init(&q->r);
	q->r.method = "POST";
	buf_add(&q->r.url, v->url.s, v->url.len);
	const char *hs[] = { "Content-Type: application/json", "Accept: application/json", "Expect:",
		v->auth.s, v->chtok };
	for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
		if (hs[i] && !(q->r.hdrs = curl_slist_append(q->r.hdrs, hs[i])))
			die(EX_OSERR, "out of memory");
	buf_adds(&q->r.body, "{\"query\":");
	json_quote(&q->r.body, query, strlen(query));
	buf_adds(&q->r.body, ",\"variables\":");
	buf_adds(&q->r.body, vars);
	buf_addc(&q->r.body, '}');
	q->r.idempotent = 1;	/* queries; a write clears it */
	q->r.done = gq_done;
	q->r.arg = q;
}

static void
gq_send(struct gq *q)
{
	q->sent = mono_now();
	http_submit(q->c->http, &q->r);
}

static void
gq_release(struct gq *q)
{
	http_req_release(&q->r);
	json_decref(q->root);
	q->root = NULL;
	q->data = NULL;
	buf_release(&q->msg);
}

static void gq_fail(struct gq *q, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
gq_fail(struct gq *q, int code, const char *fmt, ...)
{
	va_list ap;
	char m[700];
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	q->code = code;
	buf_reset(&q->msg);
	buf_addf(&q->msg, "[%s]: POST %s: %s", q->c->name, ((struct vend *)q->c->priv)->path, m);
	scrub(q->c->priv, &q->msg);
}

/* Sort out an answer: data, a GraphQL error, or an HTTP failure. */
static void
gq_settle(struct gq *q)
{
	struct http_req *r = &q->r;
	json_t *errs;

	q->answered = mono_now();
	if (r->status == 200 && r->resp.len)
		q->root = json_loadb(r->resp.s, r->resp.len, 0, NULL);
	if (q->root && !json_is_object(q->root)) {
		json_decref(q->root);
		q->root = NULL;
	}
	if (r->status != 200 || !q->root) {
		if (r->status == 401 || r->status == 403)
			gq_fail(q, EX_NOPERM, "HTTP %ld: credentials refused", r->status);
		else if (r->status == 404)
			gq_fail(q, EX_CONFIG, "HTTP 404: check base_url (the server's root; the driver "
			    "adds /admin-api)");
		else if (r->status == 200)
			gq_fail(q, EX_DATAERR, "the answer is not a JSON object (%zu bytes)", r->resp.len);
		else if (r->permanent)
			gq_fail(q, EX_UNAVAILABLE, "%s", r->error);
		else if (r->status == 0 || r->status == 429 || r->status == 408 || r->status >= 500)
			gq_fail(q, EX_TEMPFAIL, "%s%s", r->error[0] ? r->error : "no answer",
			    r->status == 500 ? " (an empty message: the body may be over the server's "
			    "limit, see body_limit)" : "");
		else
			gq_fail(q, EX_UNAVAILABLE, "HTTP %ld", r->status);
		return;
	}
	errs = json_object_get(q->root, "errors");
	if (json_is_array(errs) && json_array_size(errs) > 0) {
		json_t *e0 = json_array_get(errs, 0);
		const char *code = json_string_value(json_object_get(json_object_get(e0, "extensions"),
		    "code"));
		const char *msg = json_string_value(json_object_get(e0, "message"));
		struct buf m = BUF_INIT;
		snprintf(q->gqlcode, sizeof q->gqlcode, "%s", code ? code : "GRAPHQL_ERROR");
		for (int i = 0; msg && msg[i] && i < 300; i++)
			buf_addc(&m, (unsigned char)msg[i] < 0x20 ? ' ' : msg[i]);
		if (code && (!strcmp(code, "FORBIDDEN") || !strcmp(code, "UNAUTHORIZED")))
			gq_fail(q, EX_NOPERM, "%s: %s (check the key in token_file or INVKIT_TOKEN_*, "
			    "that the server lists 'api-key' in authOptions.tokenMethod, and that the "
			    "key's role has ReadProduct and UpdateProduct)", q->gqlcode, m.s ? m.s : "");
		else if (code && !strcmp(code, "INTERNAL_SERVER_ERROR"))
			gq_fail(q, EX_TEMPFAIL, "%s: %s", q->gqlcode, m.s ? m.s : "");
		else
			gq_fail(q, EX_UNAVAILABLE, "%s: %s", q->gqlcode, m.s ? m.s : "");
		buf_release(&m);
		return;
	}
	q->data = json_object_get(q->root, "data");
	if (!json_is_object(q->data))
		gq_fail(q, EX_DATAERR, "an answer without data");
}

static void
gq_done(struct http_req *r, void *arg)
{
	struct gq *q = arg;
	(void)r;
	gq_settle(q);
	if (q->then)
		q->then(q);
}

/* ---- variants as read ---- */

struct lvl {
	char *loc;
	int64_t onhand, alloc;
};

struct var {
	char *id, *sku;
	struct lvl *l;
	size_t nl;
	long long moves;	/* stock movements, -1 when not asked */
};

static void
var_free(struct var *x)
{
	for (size_t i = 0; i < x->nl; i++)
		free(x->l[i].loc);
	free(x->l);
	free(x->id);
	free(x->sku);
}

static int
var_cmp(const void *a, const void *b)
{
	return strcmp(((const struct var *)a)->id, ((const struct var *)b)->id);
}

static const struct lvl *
var_level(const struct var *x, const char *loc)
{
	for (size_t i = 0; i < x->nl; i++)
		if (!strcmp(x->l[i].loc, loc))
			return &x->l[i];
	return NULL;
}

/* The quantity a level shows in the channel's terms. */
static int64_t
lvl_qty(const struct vend *v, const struct lvl *l)
{
	return v->on_hand ? l->onhand : l->onhand - l->alloc;
}

static int
int_of(json_t *x, int64_t *out)
{
	if (!json_is_integer(x))
		return -1;
	*out = (int64_t)json_integer_value(x);
	return 0;
}

/* Parse a variant of an answer; -1 with *why set when it is not one. */
static int
var_parse(json_t *o, struct var *out, const char **why)
{
	json_t *ls, *l;
	size_t i;
	memset(out, 0, sizeof *out);
	out->moves = -1;
	if (!json_is_object(o) || !(out->id = jid(json_object_get(o, "id")))) {
		*why = "a variant without an id";
		return -1;
	}
	const char *sku = json_string_value(json_object_get(o, "sku"));
	out->sku = xstrdup(sku ? sku : "");
	ls = json_object_get(o, "stockLevels");
	if (!json_is_array(ls)) {
		*why = "a variant without stockLevels";
		goto bad;
	}
	out->l = xcalloc(json_array_size(ls) + 1, sizeof *out->l);
	json_array_foreach(ls, i, l) {
		struct lvl *x = &out->l[out->nl];
		if (!(x->loc = jid(json_object_get(l, "stockLocationId")))) {
			*why = "a stock level without a stockLocationId";
			goto bad;
		}
		out->nl++;
		for (size_t k = 0; k + 1 < out->nl; k++)
			if (!strcmp(out->l[k].loc, x->loc)) {
				*why = "a variant lists one stock location twice";
				goto bad;
			}
		if (int_of(json_object_get(l, "stockOnHand"), &x->onhand) < 0 ||
		    int_of(json_object_get(l, "stockAllocated"), &x->alloc) < 0) {
			*why = "a stock level without integer stockOnHand and stockAllocated";
			goto bad;
		}
	}
	json_t *m = json_object_get(o, "stockMovements");
	if (m) {
		int64_t t;
		if (int_of(json_object_get(m, "totalItems"), &t) < 0 || t < 0) {
			*why = "stockMovements without a totalItems";
			goto bad;
		}
		out->moves = t;
	}
	return 0;
bad:
	var_free(out);
	memset(out, 0, sizeof *out);
	return -1;
}

struct vars {
	struct var *v;
	size_t n, cap;
};

static void
vars_add(struct vars *s, struct var *x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = *x;
}

static void
vars_release(struct vars *s)
{
	for (size_t i = 0; i < s->n; i++)
		var_free(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static const struct var *
vars_find(const struct vars *s, const char *id)
{
	struct var key;
	if (!s->n)
		return NULL;
	key.id = (char *)id;
	return bsearch(&key, s->v, s->n, sizeof *s->v, var_cmp);
}

/* Sort by id and drop repeats (page overlaps, lists read twice). */
static void
vars_unique(struct vars *s)
{
	size_t j = 0;
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, var_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (j && !strcmp(s->v[j - 1].id, s->v[i].id)) {
			var_free(&s->v[i]);
			continue;
		}
		s->v[j++] = s->v[i];
	}
	s->n = j;
}

static const char VAR_FIELDS[] =
    "id sku stockLevels { stockLocationId stockOnHand stockAllocated }";

/* ---- reading given variants ---- */

struct rd {
	struct gq q;
	struct vars *out;
	int *code;
	struct buf *err;
};

static void
rd_then(struct gq *q)
{
	struct rd *d = q->arg;
	json_t *items, *it;
	size_t i;
	const char *why;

	if (q->code) {
		if (!*d->code) {
			*d->code = q->code;
			buf_reset(d->err);
			buf_add(d->err, q->msg.s, q->msg.len);
		}
		return;
	}
	items = json_object_get(json_object_get(q->data, "productVariants"), "items");
	if (!json_is_array(items)) {
		if (!*d->code) {
			*d->code = EX_DATAERR;
			buf_reset(d->err);
			buf_addf(d->err, "[%s]: productVariants missing from the answer", q->c->name);
		}
		return;
	}
	json_array_foreach(items, i, it) {
		struct var x;
		if (var_parse(it, &x, &why) < 0) {
			if (!*d->code) {
				*d->code = EX_DATAERR;
				buf_reset(d->err);
				buf_addf(d->err, "[%s]: %s in the answer", q->c->name, why);
			}
			return;
		}
		vars_add(d->out, &x);
	}
}

/*
 * Read the variants whose field ("id" or "sku") is one of ids[0..n) (with
 * their stock-movement counts when moves) into out, sorted by id; a
 * variant that does not exist is simply not there.  Returns 0 or an exit
 * code with err set.  *t0 and *t1 get when the first request was sent and
 * the last answered.
 */
static int
read_by(struct chan *c, const char *field, char **ids, size_t n, int moves, struct vars *out,
    struct buf *err, double *t0, double *t1)
{
	struct vend *v = c->priv;
	size_t per = (size_t)v->page;
	size_t nq = (n + per - 1) / per;
	struct rd *ds = xcalloc(nq ? nq : 1, sizeof *ds);
	int code = 0;
	struct buf query = BUF_INIT;

	buf_addf(&query, "query invkitRead($ids: [String!]!, $take: Int!) { productVariants(options: "
	    "{filter: {%s: {in: $ids}}, take: $take}) { totalItems items { %s%s } } }", field,
	    VAR_FIELDS, moves ? " stockMovements(options: {take: 1}) { totalItems }" : "");
	for (size_t k = 0; k < nq; k++) {
		size_t a = k * per, b = a + per < n ? a + per : n;
		struct buf vars = BUF_INIT;
		buf_adds(&vars, "{\"ids\":[");
		for (size_t i = a; i < b; i++) {
			if (i > a)
				buf_addc(&vars, ',');
			json_quote(&vars, ids[i], strlen(ids[i]));
		}
		/* a SKU may be on several variants: as many as a page holds */
		buf_addf(&vars, "],\"take\":%zu}", strcmp(field, "id") ? per : b - a);
		gq_init(&ds[k].q, c, query.s, vars.s);
		ds[k].q.then = rd_then;
		ds[k].q.arg = &ds[k];
		ds[k].out = out;
		ds[k].code = &code;
		ds[k].err = err;
		buf_release(&vars);
	}
	if (t0)
		*t0 = mono_now();
	for (size_t k = 0; k < nq; k++)
		gq_send(&ds[k].q);
	http_run(c->http);
	if (t1)
		*t1 = mono_now();
	for (size_t k = 0; k < nq; k++)
		gq_release(&ds[k].q);
	free(ds);
	buf_release(&query);
	size_t before = out->n;
	vars_unique(out);
	if (!code && out->n != before) {
		/* one variant twice: which stock is meant is unknown */
		code = EX_DATAERR;
		buf_reset(err);
		buf_addf(err, "[%s]: the answer lists one variant twice", c->name);
	}
	return code;
}

static int
read_vars(struct chan *c, char **ids, size_t n, int moves, struct vars *out, struct buf *err,
    double *t0, double *t1)
{
	return read_by(c, "id", ids, n, moves, out, err, t0, t1);
}

/* Sorted distinct strings of v[0..n), in place; returns how many. */
static size_t
distinct(char **v, size_t n)
{
	size_t u = 0;
	qsort(v, n, sizeof *v, cmpstr);
	for (size_t i = 0; i < n; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	return u;
}

/*
 * The variant of each correction.  A correction for a key only the master
 * had (from null) carries the master's item, which for a stock file is
 * its SKU: when such an item is no variant id, the variant is found by
 * sku.  ids[i] gets the id for cv[i] when it differs from its item
 * (owned), and nsku[i] how many variants have its SKU when it was looked
 * up (so that several is refused, not guessed).  Returns 0 or an exit code.
 */
static int
resolve_items(struct chan *c, struct corr **cv, size_t n, char **ids, size_t *nsku,
    struct buf *err)
{
	char **look = xcalloc(n ? n : 1, sizeof *look);
	size_t nl = 0;
	struct vars got = { 0 }, bysku = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		ids[i] = NULL;
		nsku[i] = 0;
		if (!cv[i]->has_from && cv[i]->item && *cv[i]->item && cv[i]->sku && *cv[i]->sku)
			look[nl++] = (char *)cv[i]->item;
	}
	if (!nl)
		goto out;
	nl = distinct(look, nl);
	if ((rc = read_vars(c, look, nl, 0, &got, err, NULL, NULL)) != 0)
		goto out;
	nl = 0;
	for (size_t i = 0; i < n; i++)
		if (!cv[i]->has_from && cv[i]->item && *cv[i]->item && cv[i]->sku && *cv[i]->sku &&
		    !vars_find(&got, cv[i]->item))
			look[nl++] = (char *)cv[i]->sku;
	if (!nl)
		goto out;
	nl = distinct(look, nl);
	if ((rc = read_by(c, "sku", look, nl, 0, &bysku, err, NULL, NULL)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (cv[i]->has_from || !cv[i]->item || !*cv[i]->item || !cv[i]->sku || !*cv[i]->sku ||
		    vars_find(&got, cv[i]->item))
			continue;
		const struct var *one = NULL;
		for (size_t k = 0; k < bysku.n; k++)
			if (!strcmp(bysku.v[k].sku, cv[i]->sku)) {
				one = &bysku.v[k];
				nsku[i]++;
			}
		if (nsku[i] == 1)
			ids[i] = xstrdup(one->id);
	}
out:
	vars_release(&got);
	vars_release(&bysku);
	free(look);
	return rc;
}

static int
vendure_read(struct chan *c, struct corr **cv, size_t n, struct buf *err)
{
	struct vend *v = c->priv;
	char **ids = xcalloc(n ? n : 1, sizeof *ids), **own = xcalloc(n ? n : 1, sizeof *own);
	size_t *nsku = xcalloc(n ? n : 1, sizeof *nsku);
	size_t nid = 0, u = 0;
	struct vars got = { 0 };

	for (size_t i = 0; i < n; i++)
		cv[i]->has_current = 0;
	int rc = resolve_items(c, cv, n, own, nsku, err);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *id = own[i] ? own[i] : cv[i]->item;
		if (id && *id)
			ids[nid++] = (char *)id;
	}
	u = distinct(ids, nid);
	if (!rc && u)
		rc = read_vars(c, ids, u, 0, &got, err, NULL, NULL);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *id = own[i] ? own[i] : cv[i]->item;
		const struct var *x = id ? vars_find(&got, id) : NULL;
		const struct lvl *l = x && cv[i]->location ? var_level(x, cv[i]->location) : NULL;
		if (l && loc_wanted(v, l->loc)) {
			cv[i]->has_current = 1;
			cv[i]->current = lvl_qty(v, l);
		}
	}
	vars_release(&got);
	for (size_t i = 0; i < n; i++)
		free(own[i]);
	free(own);
	free(nsku);
	free(ids);
	return rc;
}

/* ---- pull: a paginated list, read again while it changes ---- */

struct page {
	struct gq q;
	struct listing *ls;
	size_t k;
	int done;
	long long total;
	struct vars got;	/* in the order of the answer */
};

struct listing {
	struct chan *c;
	char *filter;		/* JSON of options.filter, or NULL */
	struct page **pg;
	size_t npg;
	int code;
	struct buf err;
};

static void
page_then(struct gq *q)
{
	struct page *p = q->arg;
	struct listing *ls = p->ls;
	json_t *pv, *items, *it;
	size_t i;
	const char *why;
	int64_t t;

	p->done = 1;
	if (ls->code)
		return;
	if (q->code) {
		ls->code = q->code;
		buf_add(&ls->err, q->msg.s, q->msg.len);
		return;
	}
	pv = json_object_get(q->data, "productVariants");
	items = json_object_get(pv, "items");
	if (!json_is_array(items) || int_of(json_object_get(pv, "totalItems"), &t) < 0 || t < 0 ||
	    t > 100000000) {
		ls->code = EX_DATAERR;
		buf_addf(&ls->err, "[%s]: productVariants without items or a believable totalItems",
		    q->c->name);
		return;
	}
	p->total = t;
	json_array_foreach(items, i, it) {
		struct var x;
		if (var_parse(it, &x, &why) < 0) {
			ls->code = EX_DATAERR;
			buf_addf(&ls->err, "[%s]: %s in the answer", q->c->name, why);
			return;
		}
		vars_add(&p->got, &x);
	}
	q->c->pages++;
	/* what was needed is copied out: the answer goes now, not with the listing */
	json_decref(q->root);
	q->root = NULL;
	q->data = NULL;
	buf_release(&q->r.resp);
}

static void
page_send(struct listing *ls, size_t k)
{
	struct vend *v = ls->c->priv;
	struct page *p = xcalloc(1, sizeof *p);
	struct buf vars = BUF_INIT;
	size_t stride = v->page > 1 ? (size_t)v->page - 1 : 1;

	p->ls = ls;
	p->k = k;
	p->total = -1;
	/* page k starts at k * stride: each repeats the last variant of the one before */
	buf_addf(&vars, "{\"options\":{\"skip\":%zu,\"take\":%ld,\"sort\":{\"id\":\"ASC\"}%s%s}}",
	    k * stride, v->page, ls->filter ? ",\"filter\":" : "", ls->filter ? ls->filter : "");
	gq_init(&p->q, ls->c, "query invkitPull($options: ProductVariantListOptions) { "
	    "productVariants(options: $options) { totalItems items { id sku stockLevels { "
	    "stockLocationId stockOnHand stockAllocated } } } }", vars.s);
	p->q.then = page_then;
	p->q.arg = p;
	buf_release(&vars);
	ls->pg = xrealloc(ls->pg, (ls->npg + 1) * sizeof *ls->pg);
	ls->pg[ls->npg++] = p;
	gq_send(&p->q);
}

static void
pages_free(struct listing *ls)
{
	for (size_t k = 0; k < ls->npg; k++) {
		gq_release(&ls->pg[k]->q);
		vars_release(&ls->pg[k]->got);
		free(ls->pg[k]);
	}
	free(ls->pg);
	ls->pg = NULL;
	ls->npg = 0;
}

/*
 * Read a whole listing into out: the first page says how many pages, the
 * others go out at once.  The list is consistent when every page reports
 * the same total and each page starts with the last variant of the one
 * before (a variant deleted or added mid-pull shifts the pages and breaks
 * a seam); otherwise it is read again, up to MAX_PASSES times.
 */
static int
listing_read(struct listing *ls, struct vars *out, struct buf *err)
{
	struct chan *c = ls->c;
	struct vend *v = c->priv;
	size_t take = (size_t)v->page, stride = take > 1 ? take - 1 : 1;

	for (int pass = 1;; pass++) {
		pages_free(ls);
		page_send(ls, 0);
		http_run(c->http);
		if (!ls->code) {
			long long t = ls->pg[0]->total;
			size_t want = (size_t)t <= take ? 1 : 1 + ((size_t)t - take + stride - 1) / stride;
			for (size_t k = 1; k < want; k++)
				page_send(ls, k);
			http_run(c->http);
		}
		if (ls->code) {
			buf_reset(err);
			buf_add(err, ls->err.s, ls->err.len);
			pages_free(ls);
			return ls->code;
		}
		int ok = 1;
		long long t = ls->pg[0]->total;
		size_t seen = 0;
		for (size_t k = 0; k < ls->npg && ok; k++) {
			struct page *p = ls->pg[k];
			size_t expect = (size_t)t > k * stride ? (size_t)t - k * stride : 0;
			if (expect > take)
				expect = take;
			if (p->total != t || p->got.n != expect)
				ok = 0;
			else if (k && (!p->got.n || strcmp(p->got.v[0].id,
			    ls->pg[k - 1]->got.v[ls->pg[k - 1]->got.n - 1].id)))
				ok = 0;
			seen += p->got.n - (k && p->got.n ? 1 : 0);
		}
		if (ok && seen == (size_t)t) {
			for (size_t k = 0; k < ls->npg; k++) {
				struct page *p = ls->pg[k];
				for (size_t i = k ? 1 : 0; i < p->got.n; i++)
					vars_add(out, &p->got.v[i]);
				if (k && p->got.n)
					var_free(&p->got.v[0]);
				p->got.n = 0;
			}
			pages_free(ls);
			return 0;
		}
		if (pass >= MAX_PASSES) {
			pages_free(ls);
			buf_reset(err);
			buf_addf(err, "[%s]: the variant list changed while it was read (%d times); "
			    "try again", c->name, pass);
			return EX_TEMPFAIL;
		}
	}
}

static int
in_list(const char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static int
vendure_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct vend *v = c->priv;
	struct vars all = { 0 };
	int rc = 0;
	const char **fv = NULL, *field = NULL;
	size_t nf = 0;

	c->pages = c->unmanaged = 0;
	/*
	 * pull_opts.since is not used: a stock level's change does not touch its
	 * variant's updatedAt, so a filter on it could miss changes.  --sku and
	 * --item become `in` filters (exact, and applied here too).
	 */
	if (o && o->skus && o->nskus) {
		fv = o->skus;
		nf = o->nskus;
		field = "sku";
	} else if (o && o->items && o->nitems) {
		fv = o->items;
		nf = o->nitems;
		field = "id";
	}
	for (size_t a = 0; !rc && (a < nf || (!field && a == 0)); a += FILTER_CHUNK) {
		struct listing ls;
		memset(&ls, 0, sizeof ls);
		ls.c = c;
		if (field) {
			struct buf f = BUF_INIT;
			buf_addf(&f, "{\"%s\":{\"in\":[", field);
			for (size_t i = a; i < nf && i < a + FILTER_CHUNK; i++) {
				if (i > a)
					buf_addc(&f, ',');
				json_quote(&f, fv[i], strlen(fv[i]));
			}
			buf_adds(&f, "]}}");
			ls.filter = f.s;
		}
		rc = listing_read(&ls, &all, err);
		free(ls.filter);
		buf_release(&ls.err);
		if (!field)
			break;
	}
	if (!rc) {
		/* chunks are disjoint by value, but one variant can match twice (repeated SKUs) */
		size_t before = all.n;
		vars_unique(&all);
		if (!field && all.n != before) {
			rc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: the variant list shows one variant twice", c->name);
		}
	}
	for (size_t i = 0; i < all.n && !rc; i++) {
		const struct var *x = &all.v[i];
		if (o && o->skus && !in_list(o->skus, o->nskus, x->sku))
			continue;
		if (o && o->items && !in_list(o->items, o->nitems, x->id))
			continue;
		for (size_t k = 0; k < x->nl; k++) {
			if (!loc_wanted(v, x->l[k].loc))
				continue;
			struct pulled p = { x->id, x->sku, x->l[k].loc, v->on_hand ? "on_hand" : "available",
				lvl_qty(v, &x->l[k]) };
			emit(&p, arg);
		}
	}
	vars_release(&all);
	return rc;
}

/* ---- push ---- */

/* One correction on its way. */
struct pc {
	struct corr *k;
	const char *item;	/* the variant id: k->item, or found by its sku */
	int unknown;		/* sent, answer lost: settled by the next re-read */
	int write;		/* in the write being prepared */
	int64_t target;		/* stockOnHand to set */
};

/* A variant and the corrections for its levels. */
struct vg {
	char *id;
	struct pc **c;
	size_t n;
	size_t maxlen;		/* its entry's largest JSON size */
	int tries;
};

struct chunk {
	struct vg **g;
	size_t n;
};

struct push {
	struct chan *c;
	struct vend *v;
	struct chunk *q;	/* the queue of writes to make, in order */
	size_t qhead, qn, qcap;
	size_t prefix;		/* bytes of the body around the entries */
	uint64_t writes;
};

static const char WRITE_QUERY[] =
    "mutation invkitPush($input: [UpdateProductVariantInput!]!) { updateProductVariants(input: "
    "$input) { id stockLevels { stockLocationId stockOnHand stockAllocated } "
    "stockMovements(options: {take: 1}) { totalItems } } }";

/* The JSON of a variant's entry, with the targets of the levels it writes. */
static void
entry_json(struct buf *b, const struct vg *g, int worst)
{
	int first = 1;
	buf_adds(b, "{\"id\":");
	json_quote(b, g->id, strlen(g->id));
	buf_adds(b, ",\"stockLevels\":[");
	for (size_t i = 0; i < g->n; i++) {
		const struct pc *p = g->c[i];
		if (!worst && !p->write)
			continue;
		buf_adds(b, first ? "{\"stockLocationId\":" : ",{\"stockLocationId\":");
		json_quote(b, p->k->location, strlen(p->k->location));
		if (worst)
			buf_adds(b, ",\"stockOnHand\":-2147483648}");
		else
			buf_addf(b, ",\"stockOnHand\":%lld}", (long long)p->target);
		first = 0;
	}
	buf_adds(b, "]}");
}

static void
queue_add(struct push *p, struct vg **g, size_t n)
{
	if (!n)
		return;
	if (p->qn == p->qcap) {
		p->qcap = p->qcap ? p->qcap * 2 : 16;
		p->q = xrealloc(p->q, p->qcap * sizeof *p->q);
	}
	p->q[p->qn].g = xmalloc(n * sizeof *g);
	memcpy(p->q[p->qn].g, g, n * sizeof *g);
	p->q[p->qn++].n = n;
}

/* Cut the variants into writes of at most write_batch variants and body_limit bytes. */
static void
queue_cut(struct push *p, struct vg **g, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i, bytes = p->prefix;
		while (j < n && j - i < (size_t)p->v->wbatch &&
		    bytes + g[j]->maxlen + (j > i) <= p->v->body_limit) {
			bytes += g[j]->maxlen + (j > i);
			j++;
		}
		if (j == i)
			j++;	/* too large alone: sent, refused, failed */
		queue_add(p, g + i, j - i);
		i = j;
	}
}

/*
 * Decide each pending correction of a chunk from the re-read: settled
 * (unchanged, conflict, failed, applied after a lost answer) or to write,
 * with its target.  Returns how many levels are to be written.
 */
static size_t
plan(struct push *p, struct chunk *ch, const struct vars *pre)
{
	struct vend *v = p->v;
	size_t nw = 0;
	for (size_t gi = 0; gi < ch->n; gi++) {
		struct vg *g = ch->g[gi];
		const struct var *x = vars_find(pre, g->id);
		for (size_t i = 0; i < g->n; i++) {
			struct pc *c = g->c[i];
			struct corr *k = c->k;
			c->write = 0;
			if (k->status != CS_PENDING)
				continue;
			if (!x) {
				corr_fail(k, CS_FAILED, "not written: no variant '%.60s' on the platform",
				    g->id);
				continue;
			}
			const struct lvl *l = var_level(x, k->location);
			int64_t cur = l ? lvl_qty(v, l) : 0, alloc = l ? l->alloc : 0;
			if (l && cur == k->to) {
				k->has_after = 1;
				k->after = cur;
				k->error[0] = '\0';
				k->status = c->unknown ? CS_APPLIED : CS_UNCHANGED;
				continue;
			}
			if (c->unknown && !(k->has_from ? l && cur == k->from : !l)) {
				if (l)
					corr_fail(k, CS_FAILED, "the answer to the write was lost and the "
					    "quantity is now %lld (%lld expected before, %lld after); not sent "
					    "again", (long long)cur, (long long)(k->has_from ? k->from : 0),
					    (long long)k->to);
				else
					corr_fail(k, CS_FAILED, "the answer to the write was lost and the "
					    "variant has no level at location %.40s now; not sent again",
					    k->location);
				continue;
			}
			if (k->has_from && !l) {
				corr_fail(k, CS_CONFLICT, "variant %.40s has no stock level at location "
				    "%.40s any more (not written)", g->id, k->location);
				continue;
			}
			if (k->has_from && cur != k->from) {
				corr_fail(k, CS_CONFLICT, "quantity moved since it was read: %lld expected, "
				    "%lld now (not written)", (long long)k->from, (long long)cur);
				continue;
			}
			if (!k->has_from && l) {
				corr_fail(k, CS_CONFLICT, "a stock level appeared at location %.40s since it "
				    "was read, showing %lld (not written)", k->location, (long long)cur);
				continue;
			}
			c->target = k->to + (v->on_hand ? 0 : alloc);
			if (c->target > INT32_MAX || c->target < INT32_MIN) {
				corr_fail(k, CS_FAILED, "not written: stockOnHand %lld is out of range for "
				    "Vendure (a 32-bit Int)", (long long)c->target);
				continue;
			}
			c->write = 1;
			nw++;
		}
	}
	return nw;
}

/* The levels a variant's write changes: one stock adjustment each on the server. */
static size_t
writes_of(const struct vg *g)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		n += g->c[i]->write;
	return n;
}

/* Check the write's answer (read after the commit) against what was set. */
static void
check_answer(struct push *p, struct chunk *ch, const struct vars *pre, json_t *data)
{
	struct vend *v = p->v;
	json_t *arr = json_object_get(data, "updateProductVariants"), *it;
	struct vars post = { 0 };
	size_t i;
	const char *why;

	json_array_foreach(arr, i, it) {
		struct var x;
		if (var_parse(it, &x, &why) == 0)
			vars_add(&post, &x);
	}
	vars_unique(&post);
	for (size_t gi = 0; gi < ch->n; gi++) {
		struct vg *g = ch->g[gi];
		const struct var *a = vars_find(pre, g->id), *b = vars_find(&post, g->id);
		long long foreign = a && b && a->moves >= 0 && b->moves >= 0 ?
		    b->moves - a->moves - (long long)writes_of(g) : 0;
		for (size_t k = 0; k < g->n; k++) {
			struct pc *c = g->c[k];
			if (!c->write)
				continue;
			const struct lvl *l = b ? var_level(b, c->k->location) : NULL;
			if (!l) {
				c->unknown = 1;	/* not in the answer: the next re-read tells */
				continue;
			}
			int64_t now = lvl_qty(v, l);
			c->k->has_after = 1;
			c->k->after = now;
			if (foreign > 0)
				corr_fail(c->k, CS_CONFLICT, "written (stockOnHand %lld), but %lld other stock "
				    "movement%s of this variant landed between the re-read and the write's "
				    "answer: a change in that window may have been overwritten; pull and "
				    "diff again", (long long)c->target, foreign, foreign > 1 ? "s" : "");
			else if (now != c->k->to)
				corr_fail(c->k, CS_CONFLICT, "written, but the quantity is %lld after the "
				    "write, not %lld: it moved around the write; pull and diff again",
				    (long long)now, (long long)c->k->to);
			else {
				c->k->status = CS_APPLIED;
				c->k->error[0] = '\0';
			}
		}
	}
	vars_release(&post);
}

/*
 * One write: re-read the chunk's variants, plan, send the levels to
 * change in one updateProductVariants call, check the answer.  What must
 * go again (split halves, lost answers) is queued.  Returns an exit code
 * when the platform cannot be used at all (77, ...), with err set.
 */
static int
write_chunk(struct push *p, struct chunk *ch, double *wait, struct buf *err)
{
	struct chan *c = p->c;
	struct vend *v = p->v;
	struct vars pre = { 0 };
	char **ids = xcalloc(ch->n, sizeof *ids);
	double r0, r1;
	int rc;

	*wait = 0;
	for (size_t i = 0; i < ch->n; i++)
		ids[i] = ch->g[i]->id;
	rc = read_vars(c, ids, ch->n, 1, &pre, err, &r0, &r1);
	free(ids);
	if (rc) {
		for (size_t gi = 0; gi < ch->n; gi++)
			for (size_t i = 0; i < ch->g[gi]->n; i++)
				if (ch->g[gi]->c[i]->k->status == CS_PENDING)
					corr_fail(ch->g[gi]->c[i]->k, CS_FAILED, "not written: the re-read "
					    "before writing failed: %.200s", err->s);
		vars_release(&pre);
		return rc;
	}
	size_t nw = plan(p, ch, &pre);
	if (!nw) {
		vars_release(&pre);
		return 0;
	}
	/* the body: only variants with levels to write */
	struct vg **wg = xcalloc(ch->n, sizeof *wg);
	size_t nwg = 0;
	struct buf vars = BUF_INIT;
	buf_adds(&vars, "{\"input\":[");
	for (size_t gi = 0; gi < ch->n; gi++) {
		if (!writes_of(ch->g[gi]))
			continue;
		if (nwg)
			buf_addc(&vars, ',');
		entry_json(&vars, ch->g[gi], 0);
		wg[nwg++] = ch->g[gi];
	}
	buf_adds(&vars, "]}");
	struct gq q;
	gq_init(&q, c, WRITE_QUERY, vars.s);
	buf_release(&vars);
	q.r.idempotent = 0;	/* absolute values: a late duplicate could erase a sale */
	q.r.no_retry = 1;	/* and never re-sent without a re-read */
	size_t bytes = q.r.body.len;
	gq_send(&q);
	http_run(c->http);	/* gq_done settles the answer */
	p->writes++;
	if (c->verbose)
		fprintf(stderr, "%s: [%s]: write %llu: %zu levels of %zu variants, %zu bytes in one "
		    "transaction; window %.0f ms (re-read sent to write answered), write %.0f ms\n",
		    progname, c->name, (unsigned long long)p->writes, nw, nwg, bytes,
		    (q.answered - r0) * 1000, (q.answered - q.sent) * 1000);
	if (!q.code) {
		struct chunk one = { wg, nwg };
		check_answer(p, &one, &pre, q.data);
		/* levels the answer did not show: settled by a re-read */
		size_t nu = 0;
		for (size_t gi = 0; gi < nwg; gi++) {
			int any = 0;
			for (size_t i = 0; i < wg[gi]->n; i++)
				any |= wg[gi]->c[i]->write && wg[gi]->c[i]->unknown &&
				    wg[gi]->c[i]->k->status == CS_PENDING;
			if (any && ++wg[gi]->tries < MAX_TRIES)
				wg[nu++] = wg[gi];
		}
		queue_add(p, wg, nu);
	} else if (q.code == EX_NOPERM || q.code == EX_CONFIG) {
		for (size_t gi = 0; gi < nwg; gi++)
			for (size_t i = 0; i < wg[gi]->n; i++)
				if (wg[gi]->c[i]->write)
					corr_fail(wg[gi]->c[i]->k, CS_FAILED, "not written: %.200s", q.msg.s);
		rc = q.code;
		buf_reset(err);
		buf_add(err, q.msg.s, q.msg.len);
	} else if (nwg > 1 && (q.r.status == 500 || q.r.status == 413)) {
		/* refused whole, likely for its size (Vendure answers 500, an empty message): halves */
		if (c->verbose)
			fprintf(stderr, "%s: [%s]: write %llu refused (HTTP %ld): split in two\n", progname,
			    c->name, (unsigned long long)p->writes, q.r.status);
		for (size_t gi = 0; gi < nwg; gi++)
			for (size_t i = 0; i < wg[gi]->n; i++)
				wg[gi]->c[i]->unknown |= wg[gi]->c[i]->write && q.r.ambiguous;
		queue_add(p, wg, nwg / 2);
		queue_add(p, wg + nwg / 2, nwg - nwg / 2);
	} else if (q.r.ambiguous || q.r.status >= 500 || q.r.status == 0 ||
	    q.r.status == 429 || q.r.status == 408) {
		/* not processed, or not known to be: again after a wait, from a new re-read */
		size_t nu = 0;
		for (size_t gi = 0; gi < nwg; gi++) {
			for (size_t i = 0; i < wg[gi]->n; i++) {
				struct pc *pc = wg[gi]->c[i];
				if (!pc->write)
					continue;
				pc->unknown |= q.r.ambiguous || q.r.status >= 500;
				snprintf(pc->k->error, sizeof pc->k->error, "%.200s", q.msg.s);
			}
			if (++wg[gi]->tries < MAX_TRIES) {
				wg[nu++] = wg[gi];
			} else {
				for (size_t i = 0; i < wg[gi]->n; i++)
					if (wg[gi]->c[i]->write)
						corr_fail(wg[gi]->c[i]->k, CS_FAILED, "not written after %d "
						    "attempts: %.200s", MAX_TRIES, q.msg.s);
			}
		}
		queue_add(p, wg, nu);
		struct buf ra = BUF_INIT;
		if (http_header(&q.r, "Retry-After", &ra)) {
			char *end;
			double d = strtod(ra.s, &end);
			if (end != ra.s && d >= 0 && d < 3600)
				*wait = d;
		}
		buf_release(&ra);
		if (*wait <= 0)
			*wait = jitter(v, wg[0] ? wg[0]->tries : 1);
	} else if (nwg > 1) {
		/* refused as a whole (one transaction: nothing written): find the culprit */
		if (c->verbose)
			fprintf(stderr, "%s: [%s]: write %llu refused (%s): split in two\n", progname,
			    c->name, (unsigned long long)p->writes, q.gqlcode[0] ? q.gqlcode : "HTTP error");
		queue_add(p, wg, nwg / 2);
		queue_add(p, wg + nwg / 2, nwg - nwg / 2);
	} else {
		for (size_t i = 0; i < wg[0]->n; i++)
			if (wg[0]->c[i]->write)
				corr_fail(wg[0]->c[i]->k, CS_FAILED, "not written: %.220s", q.msg.s);
	}
	gq_release(&q);
	free(wg);
	vars_release(&pre);
	return rc;
}

static int
vendure_push(struct chan *c, struct corr **cv, size_t n, const char *run, struct buf *err)
{
	struct push p;
	struct vend *v = c->priv;
	struct pc *pcs = xcalloc(n ? n : 1, sizeof *pcs);
	struct pc **byitem = xcalloc(n ? n : 1, sizeof *byitem);
	size_t nb = 0;
	int rc = 0;

	(void)run;	/* Vendure keeps no idempotency key */
	memset(&p, 0, sizeof p);
	p.c = c;
	p.v = v;
	char **own = xcalloc(n ? n : 1, sizeof *own);
	size_t *nsku = xcalloc(n ? n : 1, sizeof *nsku);
	rc = resolve_items(c, cv, n, own, nsku, err);
	for (size_t i = 0; i < n; i++) {
		struct corr *k = cv[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		pcs[i].k = k;
		pcs[i].item = own[i] ? own[i] : k->item;
		if (rc)
			corr_fail(k, CS_FAILED, "not written: %.200s", err->s);
		else if (nsku[i] > 1)
			corr_fail(k, CS_FAILED, "not written: item '%.40s' is no variant id and %zu variants "
			    "have SKU '%.40s'", k->item, nsku[i], k->sku);
		else if (!k->item || !*k->item)
			corr_fail(k, CS_FAILED, "not written: no item (a Vendure variant id)");
		else if (!k->location || !*k->location)
			corr_fail(k, CS_FAILED, "not written: Vendure stocks by location; location must be "
			    "a stock location id");
		else if (!loc_wanted(v, k->location))
			corr_fail(k, CS_FAILED, "not written: location '%.60s' is not in this channel's "
			    "locations", k->location);
		else if (k->to > INT32_MAX || k->to < INT32_MIN)
			corr_fail(k, CS_FAILED, "not written: %lld is out of range for Vendure",
			    (long long)k->to);
		else if (k->has_from && k->to - k->from != k->delta)
			corr_fail(k, CS_FAILED, "not written: delta %lld is not to - from",
			    (long long)k->delta);
		else
			byitem[nb++] = &pcs[i];
	}
	/* group by variant, in input order of each variant's first correction */
	struct vg *gs = xcalloc(nb ? nb : 1, sizeof *gs);
	struct vg **gp = xcalloc(nb ? nb : 1, sizeof *gp);
	size_t ng = 0;
	for (size_t i = 0; i < nb; i++) {
		struct pc *c1 = byitem[i];
		struct vg *g = NULL;
		for (size_t j = ng; j-- > 0 && !g;)
			if (!strcmp(gs[j].id, c1->item))
				g = &gs[j];
		if (!g) {
			g = &gs[ng];
			gp[ng++] = g;
			g->id = (char *)c1->item;
		}
		int dup = 0;
		for (size_t j = 0; j < g->n && !dup; j++)
			dup = !strcmp(g->c[j]->k->location, c1->k->location);
		if (dup) {
			corr_fail(c1->k, CS_FAILED, "not written: another correction for item %.40s at "
			    "location %.40s is in the same batch", c1->k->item, c1->k->location);
			continue;
		}
		g->c = xrealloc(g->c, (g->n + 1) * sizeof *g->c);
		g->c[g->n++] = c1;
	}
	{
		struct buf b = BUF_INIT;
		struct gq q;
		gq_init(&q, c, WRITE_QUERY, "{\"input\":[]}");
		p.prefix = q.r.body.len;
		gq_release(&q);
		for (size_t i = 0; i < ng; i++) {
			buf_reset(&b);
			entry_json(&b, gp[i], 1);
			gp[i]->maxlen = b.len;
		}
		buf_release(&b);
	}
	queue_cut(&p, gp, ng);
	while (p.qhead < p.qn && !rc) {
		struct chunk ch = p.q[p.qhead++];
		double wait;
		rc = write_chunk(&p, &ch, &wait, err);
		free(ch.g);
		if (!rc && wait > 0)
			sleep_s(wait);
	}
	for (size_t i = p.qhead; i < p.qn; i++)
		free(p.q[i].g);
	free(p.q);
	for (size_t i = 0; i < n; i++)
		if (cv[i]->status == CS_PENDING)
			corr_fail(cv[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	for (size_t i = 0; i < ng; i++)
		free(gs[i].c);
	free(gs);
	free(gp);
	free(byitem);
	free(pcs);
	for (size_t i = 0; i < n; i++)
		free(own[i]);
	free(own);
	free(nsku);
	return rc;
}

/* ---- open and close ---- */

static void
vend_free(struct vend *v)
{
	if (!v)
		return;
	if (v->auth.s)
		explicit_bzero(v->auth.s, v->auth.cap);
	buf_release(&v->auth);
	if (v->secret) {
		explicit_bzero(v->secret, strlen(v->secret));
		free(v->secret);
	}
	buf_release(&v->url);
	free(v->path);
	free(v->chtok);
	for (size_t i = 0; i < v->nlocs; i++)
		free(v->locs[i]);
	free(v->locs);
	free(v);
}

static int
vendure_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *path = c->cfg->path ? c->cfg->path : "config";
	const char *base = chan_get(cc, "base_url"), *auth = chan_get(cc, "auth");
	const char *qty = chan_get(cc, "quantity"), *chtok = chan_get(cc, "channel_token");
	long long page, wb, bl;
	struct vend *v;

	buf_reset(err);
	for (size_t i = 0; i < cc->nkv; i++) {
		size_t k = 0;
		while (vendure_keys[k] && strcmp(vendure_keys[k], cc->kv[i].key))
			k++;
		if (!vendure_keys[k]) {
			buf_addf(err, "%s:%d: [%s]: unknown setting '%s' for type vendure", path, cc->line,
			    c->name, cc->kv[i].key);
			return EX_CONFIG;
		}
	}
	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (the server's root, e.g. "
		    "https://shop.example.com; the driver adds /admin-api)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (auth && strcmp(auth, "api-key") != 0 && strcmp(auth, "bearer") != 0) {
		buf_addf(err, "%s:%d: [%s]: auth must be api-key or bearer", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (qty && strcmp(qty, "available") != 0 && strcmp(qty, "on_hand") != 0) {
		buf_addf(err, "%s:%d: [%s]: quantity must be available or on_hand", path, cc->line,
		    c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "page_size", LIST_MAX, 2, 100000, &page, err) < 0 ||
	    chan_get_int(c->cfg, cc, "write_batch", WRITE_BATCH, 1, MAX_BATCH, &wb, err) < 0 ||
	    chan_get_int(c->cfg, cc, "body_limit", BODY_LIMIT, 1024, 1LL << 30, &bl, err) < 0)
		return EX_CONFIG;
	if (chtok)
		for (const char *s = chtok; *s; s++)
			if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) {
				buf_addf(err, "%s:%d: [%s]: channel_token holds a space or control character",
				    path, cc->line, c->name);
				return EX_CONFIG;
			}

	struct buf sec = BUF_INIT;
	if (chan_secret(c->cfg, cc, &sec, err) < 0) {
		buf_release(&sec);
		return EX_CONFIG;
	}
	int bad = 0;
	for (size_t i = 0; i < sec.len; i++)
		bad |= (unsigned char)sec.s[i] <= ' ' || (unsigned char)sec.s[i] >= 0x7f;
	int apikey = !auth || !strcmp(auth, "api-key");
	if (bad || (apikey && (!memchr(sec.s, ':', sec.len) || sec.s[0] == ':' ||
	    sec.s[sec.len - 1] == ':'))) {
		buf_addf(err, "%s:%d: [%s]: the secret must be %s on one line, with no space or "
		    "control character", path, cc->line, c->name, apikey ? "an API key "
		    "<lookupId>:<secret>" : "a session token");
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}

	v = xcalloc(1, sizeof *v);
	v->on_hand = qty && !strcmp(qty, "on_hand");
	v->page = (long)page;
	v->wbatch = (long)wb;
	v->body_limit = (size_t)bl;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	buf_add(&v->url, base, blen);
	buf_adds(&v->url, "/admin-api");
	const char *hp = strstr(v->url.s, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	v->path = xstrdup(hp ? hp : "/admin-api");
	/* the key in vendure-api-key, a session token as a bearer
	 * (https://docs.vendure.io/current/core/developer-guide/api-keys) */
	buf_adds(&v->auth, apikey ? "vendure-api-key: " : "Authorization: Bearer ");
	buf_add(&v->auth, sec.s, sec.len);
	v->secret = xstrndup(sec.s, sec.len);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	if (chtok) {
		struct buf h = BUF_INIT;
		buf_addf(&h, "vendure-token: %s", chtok);
		v->chtok = h.s;
	}
	const char *locs = chan_get(cc, "locations");
	if (locs) {
		const char *s = locs;
		while (*s) {
			size_t k = strcspn(s, ", \t");
			if (k) {
				v->locs = xrealloc(v->locs, (v->nlocs + 1) * sizeof *v->locs);
				v->locs[v->nlocs++] = xstrndup(s, k);
			}
			s += k;
			s += strspn(s, ", \t");
		}
		if (v->nlocs)
			qsort(v->locs, v->nlocs, sizeof *v->locs, cmpstr);
		else {
			free(v->locs);
			v->locs = NULL;
		}
	}
	v->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ULL;
	c->priv = v;
	return 0;
}

static void
vendure_close(struct chan *c)
{
	vend_free(c->priv);
	c->priv = NULL;
}

const struct driver drv_vendure = {
	.type = "vendure",
	.max_batch = MAX_BATCH,
	.open = vendure_open,
	.pull = vendure_pull,
	.read = vendure_read,
	.push = vendure_push,
	.close = vendure_close,
};
