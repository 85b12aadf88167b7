/*
 * magento.c - the Magento 2 / Adobe Commerce driver: Multi-Source
 * Inventory source items under {base_url}/V1/inventory/source-items,
 * base_url = https://<shop>/rest/<store_code> (e.g. /rest/default or
 * /rest/all; source items are global, any store code reads the same).
 *
 * Facts it relies on, with the page that states each one:
 *   - GET /V1/inventory/source-items (SourceItemRepositoryInterface::getList)
 *     and POST /V1/inventory/source-items (SourceItemsSaveInterface) with
 *     {"sourceItems": [{sku, source_code, quantity, status}]}; quantity is
 *     a float, "the total amount of inventory available for this SKU and
 *     source"; status 1 in stock, 0 out of stock.  The save has no
 *     compare-and-set, no relative form and no idempotency key: it sets.
 *     https://developer.adobe.com/commerce/webapi/rest/inventory/manage-source-items/
 *     (routes and ACL resources: github.com/magento/inventory,
 *     InventoryApi/etc/webapi.xml: Magento_InventoryApi::source to read,
 *     Magento_InventoryApi::stock_source_item_assign to write)
 *   - searchCriteria in the query string:
 *     searchCriteria[filter_groups][g][filters][f][field|value|condition_type],
 *     filters of one group OR-ed, groups AND-ed; condition `in` takes a
 *     comma-separated list; searchCriteria[pageSize], [currentPage],
 *     [sortOrders][i][field|direction]; the answer is {items,
 *     search_criteria, total_count} with total_count the unpaged count.
 *     https://developer.adobe.com/commerce/webapi/rest/use-rest/performing-searches/
 *   - Input limits (Stores > Configuration > Services > Web API > Web Api
 *     Input Limits): an entity array in a REST request is limited to 20
 *     items by default when enabled (it was on by default in 2.4.3 and
 *     2.3.7-p1), a page to 300; over the list limit the answer is 400
 *     "Maximum items of type \"%type\" is %max", over the page size 400
 *     "Maximum SearchCriteria pageSize is %max".
 *     https://developer.adobe.com/commerce/webapi/get-started/api-security/
 *     https://experienceleague.adobe.com/docs/commerce-knowledge-base/kb/troubleshooting/known-issues-patches-attached/web-api-resources-limit.html
 *   - Authentication: "Authorization: Bearer <token>", an admin token (4 h)
 *     or an integration's access token (no expiry; usable as a standalone
 *     bearer token only with Stores > Configuration > Services > OAuth >
 *     Consumer Settings > "Allow OAuth Access Tokens to be used as
 *     standalone Bearer tokens" = Yes, off by default since 2.4.4).
 *     https://developer.adobe.com/commerce/webapi/get-started/authentication/gs-authentication-token/
 *   - Errors: HTTP 400 (validation), 401 (token refused or ACL), 404 (no
 *     route), with {"message": "... %name ...", "parameters": {name: value}
 *     | [v1, ...]} and sometimes "errors": [{message, parameters}].
 *     https://developer.adobe.com/commerce/webapi/get-started/gs-web-api-response/
 *   - A save validates every item first and refuses the whole request
 *     ("Validation Failed: ...", e.g. a SKU with no product) before one
 *     multi-row insert (github.com/magento/inventory,
 *     Inventory/Model/SourceItem/Command/Handler/SourceItemsSaveHandler.php).
 * UNVERIFIED (and handled either way): whether `quantity` is printed 5 or
 * 5.0 (both read; a fraction is refused, 65); a page past the end (we never
 * ask for one: pages come from total_count); whether a host answers 429
 * (Magento itself has no request quota; Fastly or a WAF in front may):
 * reads then wait Retry-After, writes re-read first.
 *
 * Items.  A source item is a SKU at a source: item = sku = the SKU,
 * location = source_code, qty = quantity (whole units), state `on_hand`
 * when its status is in stock (1) and `out_of_stock` when it is 0.  A
 * correction's item (or, when empty, its sku) names the SKU written.
 * Orders do not move source quantities (they make reservations); shipments
 * deduct them, so "a sale" below is a shipment or a manual change.
 *
 * Push (DESIGN.md, rule 3: no relative write, no compare-and-set).  Each
 * write of at most `batch` items (20 by default, the documented input list
 * limit) goes: read the batch's source items; an item whose quantity is no
 * longer `from` is a conflict and is not written (unchanged when it already
 * shows `to`); write the others absolutely (status 1 when `to` > 0, else
 * 0); read them again; one that does not show `to` moved after our write
 * and is a conflict too (the later change is kept).  A write whose answer
 * was lost (or a 5xx) is never re-sent blindly: the re-read decides
 * (applied when it shows `to`, sent again after a new read when it still
 * shows what was read before, else failed "unknown outcome").  A 429 or 503
 * waits and goes again through a new read.  A 400 on a batch of several
 * refuses them all: each is then sent on its own (after a new read), so
 * only the item at fault fails, with Magento's words.
 *
 * The race window that remains: a change to a source item (a shipment, an
 * admin edit) that lands after the read and before Magento applies our
 * write is overwritten without trace - one read answer plus one write round
 * trip.  The driver measures it per batch (from sending the read to the
 * write's answer) and prints it with -v; against tests/sim it is a few
 * milliseconds, against a real shop expect 0.2 to 2 s.
 */
#include "platform.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define BATCH_DEFAULT 20	/* the documented default input list limit */
#define PAGE_DEFAULT 300	/* the documented default maximum page size */
#define MAX_BATCH 500		/* corrections in one push() call (written in batches) */
#define READ_SKUS 50		/* SKUs in one filtered read */
#define MAX_PASSES 3		/* readings of a list while its total keeps changing */
#define MAX_ROUNDS 7		/* read + write attempts of one correction */

struct mg {
	char *api;		/* base_url + /V1/inventory/source-items */
	char *apipath;		/* its path, for messages */
	char *authz;		/* "Authorization: Bearer ..." */
	char *token;		/* scrubbed out of any message */
	long long batch;	/* items in one write */
	long long page;		/* items in one page */
	double win_max, win_sum;/* re-read to write windows measured, seconds */
	uint64_t nwin;
};

/* One source item as read. */
struct srow {
	char *sku, *src;
	int64_t qty;
	int status;
};

/* ---- helpers ---- */

static void
scrub(const struct mg *m, struct buf *b)
{
	const char *hide[] = { m->token };
	buf_scrub(b, hide, 1);
}

/* The SKU a correction writes: its item, else its sku; NULL if neither. */
static const char *
sku_of(const struct corr *k)
{
	if (k->item && *k->item)
		return k->item;
	return k->sku && *k->sku ? k->sku : NULL;
}

/* A JSON quantity as whole units: integers, and reals without a fraction. */
static int
json_qty(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || d < -9.0e15 || d > 9.0e15)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	return -1;
}

/*
 * Magento's message with its placeholders filled: "%name" from an object
 * of parameters, "%1".. from an array; control bytes become spaces.
 */
static void
add_message(struct buf *out, json_t *msg, json_t *params)
{
	const char *s = json_string_value(msg);
	size_t start = out->len;
	if (!s)
		return;
	while (*s && out->len - start < 400) {
		if (*s == '%' && params) {
			size_t n = 0;
			while (s[1 + n] == '_' || (s[1 + n] >= 'a' && s[1 + n] <= 'z') ||
			    (s[1 + n] >= 'A' && s[1 + n] <= 'Z') || (s[1 + n] >= '0' && s[1 + n] <= '9'))
				n++;
			json_t *v = NULL;
			if (n && json_is_object(params)) {
				char key[64];
				snprintf(key, sizeof key, "%.*s", (int)n, s + 1);
				v = json_object_get(params, key);
			} else if (n && json_is_array(params)) {
				int64_t idx;
				if (!parse_i64(s + 1, n, &idx) && idx >= 1)
					v = json_array_get(params, (size_t)idx - 1);
			}
			if (v) {
				if (json_is_string(v))
					buf_adds(out, json_string_value(v));
				else if (json_is_integer(v))
					buf_addf(out, "%lld", (long long)json_integer_value(v));
				else if (json_is_real(v))
					buf_addf(out, "%g", json_real_value(v));
				s += 1 + n;
				continue;
			}
		}
		buf_addc(out, (unsigned char)*s < 0x20 ? ' ' : *s);
		s++;
	}
	for (size_t i = start; i < out->len; i++)
		if ((unsigned char)out->s[i] < 0x20)
			out->s[i] = ' ';
}

static void
req_prepare(struct chan *c, struct http_req *r, const char *method)
{
	struct mg *m = c->priv;
	http_req_init(r);
	r->method = method;
	buf_adds(&r->url, m->api);
	r->hdrs = curl_slist_append(r->hdrs, m->authz);
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
		r->no_retry = 1;	/* ours to decide, after reading again (rule 3) */
	}
	r->idempotent = !strcmp(method, "GET");
}

/* "[chan]: GET /rest/default/V1/inventory/source-items: HTTP 401: message" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *method)
{
	struct mg *m = c->priv;
	buf_addf(out, "[%s]: %s %s: ", c->name, method, m->apipath);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	if (json_is_string(json_object_get(j, "message"))) {
		buf_adds(out, ": ");
		add_message(out, json_object_get(j, "message"), json_object_get(j, "parameters"));
	}
	json_decref(j);
	if (r->status == 401 || r->status == 403)
		buf_adds(out, " (check the token in token_file: an admin or integration access token "
		    "with the Magento_InventoryApi resources, sent as a Bearer token)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://<shop>/rest/<store_code>)");
	scrub(m, out);
}

/* ---- lists: every page of GET source-items?<filter> ---- */

struct lst;

struct lpage {
	struct http_req r;
	struct lst *l;
	long page;
};

struct lst {
	struct chan *c;
	char *filter;		/* "" or searchCriteria filter_groups, percent-encoded */
	int64_t total;		/* total_count of the first page, -1 unknown */
	int changed;		/* a page saw another total: read again */
	struct srow *rows;
	size_t nrows, caprows;
	uint64_t pages;
	int code;
	struct buf err;
};

static void page_submit(struct lst *l, long page);

static void
lst_fail(struct lst *l, int code, const struct http_req *r, const char *why)
{
	if (l->code)
		return;
	l->code = code;
	buf_reset(&l->err);
	if (why) {
		struct mg *m = l->c->priv;
		buf_addf(&l->err, "[%s]: GET %s: %s", l->c->name, m->apipath, why);
		scrub(m, &l->err);
	} else {
		describe(l->c, &l->err, r, "GET");
	}
}

static void
rows_free(struct srow *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].sku);
		free(r[i].src);
	}
	free(r);
}

static void
page_done(struct http_req *r, void *arg)
{
	struct lpage *p = arg;
	struct lst *l = p->l;
	struct mg *m = l->c->priv;

	if (r->status != 200) {
		lst_fail(l, http_fail_code(r), r, NULL);
		goto out;
	}
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	json_t *items = json_object_get(j, "items");
	json_t *tc = json_object_get(j, "total_count");
	if (!json_is_array(items) || !json_is_integer(tc) || json_integer_value(tc) < 0) {
		lst_fail(l, EX_DATAERR, r, "the answer is not a list of source items (no items and "
		    "total_count)");
		json_decref(j);
		goto out;
	}
	int64_t total = json_integer_value(tc);
	l->pages++;
	if (p->page == 1) {
		l->total = total;
		int64_t np = (total + m->page - 1) / m->page;
		if (np > 100000) {
			lst_fail(l, EX_DATAERR, r, "total_count is absurd");
			json_decref(j);
			goto out;
		}
		for (long k = 2; k <= np && !l->code; k++)
			page_submit(l, k);
	} else if (total != l->total) {
		l->changed = 1;
	}
	for (size_t i = 0; i < json_array_size(items) && !l->code; i++) {
		json_t *it = json_array_get(items, i);
		const char *sku = json_string_value(json_object_get(it, "sku"));
		const char *src = json_string_value(json_object_get(it, "source_code"));
		json_t *st = json_object_get(it, "status");
		int64_t q;
		if (!sku || !*sku || !src || !*src || !json_is_integer(st)) {
			lst_fail(l, EX_DATAERR, r, "a source item has no sku, source_code or status");
			break;
		}
		if (json_qty(json_object_get(it, "quantity"), &q) < 0) {
			struct buf e = BUF_INIT, qs = BUF_INIT;
			buf_addf(&e, "source item %s at source %s: quantity is not a whole number "
			    "(decimal quantities are not supported)", quoted(&qs, sku, strlen(sku)), src);
			lst_fail(l, EX_DATAERR, r, e.s);
			buf_release(&e);
			buf_release(&qs);
			break;
		}
		if (l->nrows == l->caprows) {
			l->caprows = l->caprows ? l->caprows * 2 : 256;
			l->rows = xrealloc(l->rows, l->caprows * sizeof *l->rows);
		}
		struct srow *w = &l->rows[l->nrows++];
		w->sku = xstrdup(sku);
		w->src = xstrdup(src);
		w->qty = q;
		w->status = json_integer_value(st) != 0;
	}
	json_decref(j);
out:
	http_req_release(&p->r);
	free(p);
}

static void
page_submit(struct lst *l, long page)
{
	struct mg *m = l->c->priv;
	struct lpage *p = xcalloc(1, sizeof *p);
	p->l = l;
	p->page = page;
	req_prepare(l->c, &p->r, "GET");
	/* brackets percent-encoded: %5B = [, %5D = ] */
	buf_addf(&p->r.url, "?%ssearchCriteria%%5BsortOrders%%5D%%5B0%%5D%%5Bfield%%5D=sku"
	    "&searchCriteria%%5BsortOrders%%5D%%5B0%%5D%%5Bdirection%%5D=ASC"
	    "&searchCriteria%%5BsortOrders%%5D%%5B1%%5D%%5Bfield%%5D=source_code"
	    "&searchCriteria%%5BsortOrders%%5D%%5B1%%5D%%5Bdirection%%5D=ASC"
	    "&searchCriteria%%5BpageSize%%5D=%lld&searchCriteria%%5BcurrentPage%%5D=%ld",
	    l->filter, m->page, page);
	p->r.done = page_done;
	p->r.arg = p;
	http_submit(l->c->http, &p->r);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;
	int d = strcmp(x->sku, y->sku);
	return d ? d : strcmp(x->src, y->src);
}

/*
 * Read the lists of the given filters (each "" or filter groups ending in
 * '&'), all at once; rows sorted by (sku, source) and unique.  A list whose
 * total moved while it was read is read again (a page may have shifted).
 */
static int
lists_read(struct chan *c, char **filters, size_t nf, struct srow **out, size_t *nout,
    struct buf *err)
{
	struct lst *ls = xcalloc(nf ? nf : 1, sizeof *ls);
	struct srow *all = NULL;
	size_t nall = 0;
	int rc = 0;
	for (size_t i = 0; i < nf; i++) {
		ls[i].c = c;
		ls[i].filter = filters[i];
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
			buf_addf(err, "[%s]: the source items kept changing while they were read (%d "
			    "readings); try again", c->name, MAX_PASSES);
		}
	}
	for (size_t i = 0; i < nf; i++) {
		if (!rc) {
			all = xrealloc(all, (nall + ls[i].nrows + 1) * sizeof *all);
			if (ls[i].nrows)
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
			free(all[i].src);
			continue;
		}
		all[u++] = all[i];
	}
	*out = all;
	*nout = u;
	return rc;
}

static const struct srow *
row_find(const struct srow *rows, size_t n, const char *sku, const char *src)
{
	struct srow key = { (char *)sku, (char *)src, 0, 0 };
	return n ? bsearch(&key, rows, n, sizeof *rows, row_cmp) : NULL;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Read the source items of these SKUs (every source), READ_SKUS per list:
 * one `in` filter for the SKUs without a comma, an `eq` filter (OR-ed in
 * the same group) for each one with a comma.
 */
static int
read_skus(struct chan *c, const char **skus, size_t n, struct srow **out, size_t *nout,
    struct buf *err)
{
	const char **u = xcalloc(n ? n : 1, sizeof *u);
	size_t nu = 0;
	for (size_t i = 0; i < n; i++)
		if (skus[i])
			u[nu++] = skus[i];
	qsort(u, nu, sizeof *u, str_cmp);
	size_t k = 0;
	for (size_t i = 0; i < nu; i++)
		if (!k || strcmp(u[k - 1], u[i]))
			u[k++] = u[i];
	nu = k;
	size_t nf = (nu + READ_SKUS - 1) / READ_SKUS;
	char **fs = xcalloc(nf ? nf : 1, sizeof *fs);
	for (size_t f = 0; f < nf; f++) {
		struct buf b = BUF_INIT, in = BUF_INIT;
		int nfil = 0;
		for (size_t i = f * READ_SKUS; i < nu && i < (f + 1) * READ_SKUS; i++) {
			if (strchr(u[i], ',')) {
				const char *pre = "searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D";
				buf_addf(&b, "%s%%5B%d%%5D%%5Bfield%%5D=sku&%s%%5B%d%%5D%%5Bvalue%%5D=", pre,
				    nfil, pre, nfil);
				buf_add_pctenc(&b, u[i]);
				buf_addf(&b, "&%s%%5B%d%%5D%%5Bcondition_type%%5D=eq&", pre, nfil);
				nfil++;
				continue;
			}
			if (in.len)
				buf_addc(&in, ',');
			buf_adds(&in, u[i]);
		}
		if (in.len) {
			const char *pre = "searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D";
			buf_addf(&b, "%s%%5B%d%%5D%%5Bfield%%5D=sku&%s%%5B%d%%5D%%5Bvalue%%5D=", pre, nfil,
			    pre, nfil);
			buf_add_pctenc(&b, in.s);
			buf_addf(&b, "&%s%%5B%d%%5D%%5Bcondition_type%%5D=in&", pre, nfil);
		}
		buf_release(&in);
		fs[f] = b.s;
	}
	*out = NULL;
	*nout = 0;
	int rc = nf ? lists_read(c, fs, nf, out, nout, err) : 0;
	for (size_t f = 0; f < nf; f++)
		free(fs[f]);
	free(fs);
	free(u);
	return rc;
}

/* ---- pull ---- */

static int
mg_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct srow *rows;
	size_t n;
	char *f = "";
	int rc;

	if (o && (o->skus || o->items)) {
		/* only these SKUs (items are SKUs here): a filtered read */
		size_t ns = (o->skus ? o->nskus : 0) + (o->items ? o->nitems : 0);
		const char **s = xcalloc(ns ? ns : 1, sizeof *s);
		size_t k = 0;
		for (size_t i = 0; o->skus && i < o->nskus; i++)
			s[k++] = o->skus[i];
		for (size_t i = 0; o->items && i < o->nitems; i++)
			s[k++] = o->items[i];
		rc = read_skus(c, s, k, &rows, &n, err);
		free(s);
	} else {
		rc = lists_read(c, &f, 1, &rows, &n, err);
	}
	if (rc) {
		rows_free(rows, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct pulled p = { rows[i].sku, rows[i].sku, rows[i].src,
			rows[i].status ? "on_hand" : "out_of_stock", rows[i].qty };
		emit(&p, arg);
	}
	rows_free(rows, n);
	return 0;
}

/* ---- read ---- */

static int
mg_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	const char **s = xcalloc(n ? n : 1, sizeof *s);
	struct srow *rows = NULL;
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		s[i] = v[i]->location && *v[i]->location ? sku_of(v[i]) : NULL;
	}
	int rc = read_skus(c, s, n, &rows, &nr, err);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct srow *w = s[i] ? row_find(rows, nr, s[i], v[i]->location) : NULL;
		if (w) {
			v[i]->has_current = 1;
			v[i]->current = w->qty;
		}
	}
	rows_free(rows, nr);
	free(s);
	return rc;
}

/* ---- push ---- */

enum { W_IDLE, W_SENT, W_CHECK, W_UNKNOWN, W_SPLIT, W_RETRY, W_DONE };

struct wr {
	struct corr *k;
	const char *sku;
	int64_t pre;		/* quantity read before the write */
	int had;		/* a source item existed before the write */
	int state, solo;
};

struct wreq {
	struct http_req r;
	struct chan *c;
	struct wr **w;
	size_t n;
	double wait;		/* after a 429/503, -1 none */
	int auth_failed;
	char msg[400];
};

static void
wreq_done(struct http_req *r, void *arg)
{
	struct wreq *b = arg;
	struct buf m = BUF_INIT;

	b->wait = -1;
	if (r->ambiguous) {
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_UNKNOWN;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "the answer was lost");
		}
		return;
	}
	describe(b->c, &m, r, "POST");
	if (r->status == 200) {
		for (size_t i = 0; i < b->n; i++)
			b->w[i]->state = W_CHECK;
	} else if (r->status == 0 || r->status == 429 || r->status == 503) {
		/* not processed: again after the wait, through a new read */
		struct buf v = BUF_INIT;
		if (http_header(r, "Retry-After", &v)) {
			char *end;
			double s = strtod(v.s, &end);
			if (end != v.s && s >= 0 && s < 3600)
				b->wait = s;
		}
		buf_release(&v);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RETRY;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s", m.s);
		}
	} else if (r->status == 400 && b->n > 1) {
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_SPLIT;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s", m.s);
		}
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
wreq_submit(struct chan *c, struct wreq *b)
{
	req_prepare(c, &b->r, "POST");
	b->c = c;
	json_t *items = json_array();
	for (size_t i = 0; i < b->n; i++) {
		struct wr *t = b->w[i];
		json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:i}", "sku", t->sku,
		    "source_code", t->k->location, "quantity", (json_int_t)t->k->to,
		    "status", t->k->to > 0 ? 1 : 0));
	}
	json_t *body = json_pack("{s:o}", "sourceItems", items);
	char *s = json_dumps(body, JSON_COMPACT);
	buf_adds(&b->r.body, s);
	free(s);
	json_decref(body);
	b->r.done = wreq_done;
	b->r.arg = b;
	http_submit(c->http, &b->r);
}

/* Read the items of ws[0..n) now: their current/has_current.  0 or an exit code. */
static int
reread(struct chan *c, struct wr **ws, size_t n, struct buf *err)
{
	struct corr **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = ws[i]->k;
	int rc = n ? mg_read(c, v, n, err) : 0;
	free(v);
	return rc;
}

/*
 * One round of one batch: read, plan, write (one request, or one per item
 * after a 400), read again and settle.  What goes again is left in ws
 * (state W_RETRY, first *nws); *wait is the longest wait asked for.
 */
static int
push_round(struct chan *c, struct wr **ws, size_t *nws, double *wait, struct buf *err)
{
	struct mg *m = c->priv;
	size_t n = *nws, nw = 0, nreq = 0;
	struct wr **send = xcalloc(n ? n : 1, sizeof *send);
	struct wreq *reqs = xcalloc(n ? n : 1, sizeof *reqs);
	int rc;

	*wait = -1;
	double t0 = mono_now();
	rc = reread(c, ws, n, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			corr_fail(ws[i]->k, CS_FAILED, "not written: the read before writing failed: "
			    "%.200s", err->s);
		*nws = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct wr *t = ws[i];
		struct corr *k = t->k;
		t->state = W_DONE;
		if (k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: no source item for SKU %.60s at source "
			    "%.40s (gone since it was read)", t->sku, k->location);
		} else if (!k->has_from && k->has_current) {
			corr_fail(k, CS_CONFLICT, "a source item appeared since it was read: %lld now "
			    "(not written)", (long long)k->current);
		} else if (k->has_current && k->current == k->to) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (k->has_from && k->current != k->from) {
			corr_fail(k, CS_CONFLICT, "quantity moved from %lld to %lld since it was read "
			    "(not written)", (long long)k->from, (long long)k->current);
		} else {
			t->had = k->has_current;
			t->pre = k->current;
			t->state = W_SENT;
			send[nw++] = t;
		}
	}
	/* one request for the batch; one per item for those a 400 refused together */
	size_t ngroup = 0;
	for (size_t i = 0; i < nw; i++)
		if (!send[i]->solo)
			ngroup++;
	if (ngroup) {
		reqs[nreq].w = xcalloc(ngroup, sizeof *reqs[nreq].w);
		for (size_t i = 0; i < nw; i++)
			if (!send[i]->solo)
				reqs[nreq].w[reqs[nreq].n++] = send[i];
		nreq++;
	}
	for (size_t i = 0; i < nw; i++)
		if (send[i]->solo) {
			reqs[nreq].w = xcalloc(1, sizeof *reqs[nreq].w);
			reqs[nreq].w[0] = send[i];
			reqs[nreq++].n = 1;
		}
	for (size_t i = 0; i < nreq; i++)
		wreq_submit(c, &reqs[i]);
	if (nreq) {
		http_run(c->http);
		double win = mono_now() - t0;
		m->nwin++;
		m->win_sum += win;
		if (win > m->win_max)
			m->win_max = win;
		if (c->verbose)
			fprintf(stderr, "%s: [%s]: %zu source items written %.1f ms after the read "
			    "before it (the window in which a change is overwritten)\n", progname,
			    c->name, nw, win * 1e3);
	}
	/* read again what was written or may have been */
	size_t nchk = 0;
	struct wr **chk = xcalloc(nw ? nw : 1, sizeof *chk);
	for (size_t i = 0; i < nw; i++)
		if (send[i]->state == W_CHECK || send[i]->state == W_UNKNOWN ||
		    send[i]->state == W_SPLIT)
			chk[nchk++] = send[i];
	if (nchk) {
		struct buf e = BUF_INIT;
		if (reread(c, chk, nchk, &e)) {
			for (size_t i = 0; i < nchk; i++) {
				struct wr *t = chk[i];
				int written = t->state == W_CHECK;
				t->state = W_DONE;
				if (written)
					corr_fail(t->k, CS_FAILED, "written, but the read after it failed: "
					    "%.180s", e.s);
				else
					corr_fail(t->k, CS_FAILED, "unknown outcome: the read after the "
					    "write failed: %.180s", e.s);
			}
		} else {
			for (size_t i = 0; i < nchk; i++) {
				struct wr *t = chk[i];
				struct corr *k = t->k;
				int shows_to = k->has_current && k->current == k->to;
				int as_before = t->had ? k->has_current && k->current == t->pre :
				    !k->has_current;
				if (shows_to) {
					k->status = CS_APPLIED;
					k->error[0] = '\0';
					k->has_after = 1;
					k->after = k->to;
					t->state = W_DONE;
				} else if (t->state == W_CHECK) {
					k->has_after = k->has_current;
					k->after = k->current;
					if (k->has_current)
						corr_fail(k, CS_CONFLICT, "written %lld, then the quantity moved "
						    "to %lld (a later change, kept)", (long long)k->to,
						    (long long)k->current);
					else
						corr_fail(k, CS_CONFLICT, "written %lld, then the source item "
						    "was removed", (long long)k->to);
					t->state = W_DONE;
				} else if (as_before) {
					/* not applied: send again after a new read */
					if (t->state == W_SPLIT)
						t->solo = 1;
					t->state = W_RETRY;
				} else {
					if (k->has_current)
						corr_fail(k, CS_FAILED, "unknown outcome (%.100s), the read "
						    "after shows %lld (%lld if applied; not sent again)",
						    k->error, (long long)k->current, (long long)k->to);
					else
						corr_fail(k, CS_FAILED, "unknown outcome (%.100s), the read "
						    "after shows no source item (not sent again)", k->error);
					t->state = W_DONE;
				}
			}
		}
		buf_release(&e);
	}
	free(chk);
	size_t nret = 0;
	for (size_t i = 0; i < nreq; i++) {
		if (reqs[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, reqs[i].msg);
		}
		if (reqs[i].wait > *wait)
			*wait = reqs[i].wait;
		http_req_release(&reqs[i].r);
		free(reqs[i].w);
	}
	for (size_t i = 0; i < nw; i++)
		if (send[i]->state == W_RETRY)
			ws[nret++] = send[i];
	*nws = nret;
out:
	free(reqs);
	free(send);
	return rc;
}

static int
wr_cmp(const void *a, const void *b)
{
	const struct wr *x = *(struct wr *const *)a, *y = *(struct wr *const *)b;
	int d = strcmp(x->sku, y->sku);
	return d ? d : strcmp(x->k->location, y->k->location);
}

static int
mg_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct mg *m = c->priv;
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **ok = xcalloc(n ? n : 1, sizeof *ok);
	size_t nok = 0;
	int rc = 0;

	(void)run;	/* Magento keeps no reason or reference with a source item */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		all[i].k = k;
		all[i].sku = sku_of(k);
		if (!all[i].sku)
			corr_fail(k, CS_FAILED, "not written: no SKU (item and sku are empty)");
		else if (!k->location || !*k->location || strpbrk(k->location, " \t\r\n"))
			corr_fail(k, CS_FAILED, "not written: location '%.40s' is not a source code",
			    k->location ? k->location : "");
		else
			ok[nok++] = &all[i];
	}
	/* one source item twice in a call would be set twice: refuse the later ones */
	qsort(ok, nok, sizeof *ok, wr_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nok; i++) {
		if (u && !wr_cmp(&ok[u - 1], &ok[i])) {
			corr_fail(ok[i]->k, CS_FAILED, "not written: another correction for SKU %.60s at "
			    "source %.40s is in the same batch", ok[i]->sku, ok[i]->k->location);
			continue;
		}
		ok[u++] = ok[i];
	}
	nok = u;
	for (size_t off = 0; off < nok && !rc; off += (size_t)m->batch) {
		size_t cnt = nok - off < (size_t)m->batch ? nok - off : (size_t)m->batch;
		struct wr **p = ok + off;
		for (int round = 0; cnt && !rc; round++) {
			double wait;
			rc = push_round(c, p, &cnt, &wait, err);
			if (!cnt || rc)
				break;
			if (round + 1 >= MAX_ROUNDS) {
				for (size_t i = 0; i < cnt; i++) {
					char e[sizeof p[i]->k->error];
					snprintf(e, sizeof e, "%s", p[i]->k->error);
					corr_fail(p[i]->k, CS_FAILED, "not written: gave up after %d attempts: "
					    "%.200s", MAX_ROUNDS, e);
				}
				break;
			}
			int split = 0;
			for (size_t i = 0; i < cnt; i++)
				split |= p[i]->solo;
			sleep_s(wait >= 0 ? wait : split ? 0 : 0.5 * (1 << (round < 6 ? round : 6)));
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %.200s", rc ? err->s : "not attempted");
	free(ok);
	free(all);
	return rc;
}

/* ---- open and close ---- */

static int
mg_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long batch, page;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://<shop>/rest/<store_code>)",
		    path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "batch", BATCH_DEFAULT, 1, MAX_BATCH, &batch, err) < 0 ||
	    chan_get_int(c->cfg, cc, "page_size", PAGE_DEFAULT, 1, 10000, &page, err) < 0)
		return EX_CONFIG;
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	for (size_t i = 0; i < sec.len; i++)
		if ((unsigned char)sec.s[i] <= 0x20 || sec.s[i] == 0x7f) {
			buf_addf(err, "%s: [%s]: the secret must be the access token, on one line", path,
			    c->name);
			explicit_bzero(sec.s, sec.len);
			buf_release(&sec);
			return EX_CONFIG;
		}
	struct mg *m = xcalloc(1, sizeof *m);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	struct buf a = BUF_INIT;
	buf_add(&a, base, bl);
	buf_adds(&a, "/V1/inventory/source-items");
	m->api = a.s;
	const char *hp = strstr(m->api, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	m->apipath = xstrdup(hp ? hp : "/V1/inventory/source-items");
	struct buf h = BUF_INIT;
	buf_adds(&h, "Authorization: Bearer ");
	buf_add(&h, sec.s, sec.len);
	m->authz = h.s;
	m->token = xstrndup(sec.s, sec.len);
	m->batch = batch;
	m->page = page;
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	c->priv = m;
	return 0;
}

static void
mg_close(struct chan *c)
{
	struct mg *m = c->priv;
	if (!m)
		return;
	if (c->verbose && m->nwin)
		fprintf(stderr, "%s: [%s]: %llu writes, read-to-write window %.1f ms on average, "
		    "%.1f ms at most\n", progname, c->name, (unsigned long long)m->nwin,
		    m->win_sum / (double)m->nwin * 1e3, m->win_max * 1e3);
	free(m->api);
	free(m->apipath);
	free_secret(m->authz);
	free_secret(m->token);
	free(m);
	c->priv = NULL;
}

const struct driver drv_magento = {
	.type = "magento",
	.max_batch = MAX_BATCH,
	.open = mg_open,
	.pull = mg_pull,
	.read = mg_read,
	.push = mg_push,
	.close = mg_close,
};
