/*
 * youzan.c - the Youzan (有赞) driver: the 有赞云 open API under base_url =
 * https://open.youzanyun.com, for a self-use app (自用型应用) of one shop.
 *
 * Facts it relies on, with where each is stated (doc.youzanyun.com, the
 * "API调用说明", "获取 access_token" and API pages named; the official SDKs
 * github.com/youzan/open-sdk-php and open-sdk-node build the same requests):
 *   - Credentials: POST /auth/token, a JSON body {client_id, client_secret,
 *     authorize_type: "silent", grant_id: <the shop's kdt_id>, refresh} ->
 *     {success: true, code: 200, data: {access_token, expires (Unix ms),
 *     scope, authority_id}}; refused: {success: false, code (1000: wrong
 *     client_secret, 1103: no such client), message}.  The secret travels in
 *     the body only.
 *   - Every call: POST /api/<api name>/<version>?access_token=TOKEN with a
 *     JSON body of the parameters (open-sdk-php HttpConfig: REQUEST_PATH).
 *     There is no request signature and no timestamp parameter: the token is
 *     the whole credential, so there is nothing to sign (the known-answer
 *     tests cover the token request, the URL and the time filter instead).
 *   - Answers, all with HTTP 200: the gateway's {gw_err_resp: {err_code,
 *     err_msg, trace_id}} (4201 非法的请求凭证, 4202 token expired, 4203
 *     Token 不存在, 4204 no permission, 4101 请求太频繁, 4005 no such API);
 *     the service's {success, code (200: ok), data, message, trace_id};
 *     older APIs' {response} / {error_response: {code, msg}}.  Rate refusals
 *     also come as code 500100004 or 123000042 "请求被限流" (the 限流 page,
 *     which advises waiting 3, 6, 12, 24, 48 s).
 *   - youzan.items.onsale.get / youzan.items.inventory.get 3.0.0 {page_no,
 *     page_size (at most 300), update_time_start (Unix ms)}: data {count,
 *     items [{item_id, item_no, quantity, ...}]} (on sale, and in the
 *     warehouse: both hold stock).
 *   - youzan.item.get 3.0.0 {item_id}: data.item {item_id, item_no,
 *     quantity, skus [{sku_id, item_no, quantity, ...}]}; an item without
 *     specifications has no skus and its own quantity.
 *   - youzan.item.quantity.update 3.0.0 {item_id, sku_id (left out for an
 *     item without specifications), quantity, type: 0 set (the default), 1
 *     change (增量更新)}: data {is_success}.  One SKU a call; no idempotency
 *     key.  Suggested rate: 30 a second a shop (300 for the reads).
 * UNVERIFIED (handled either way): that type=1 takes a negative quantity for
 * a decrease (third-party code does so; a refusal is reported as failed);
 * the exact shape of a 4101 refusal (we take any of the rate codes above,
 * and HTTP 429); whether a failed write could have been applied (we read
 * again whenever the answer is not a clear refusal).
 *
 * Items.  An item is "<item_id>/<sku_id>" for a SKU of an item with
 * specifications, "<item_id>" for an item without; location "" (one pool),
 * state "available" (the quantity on sale), sku the merchant's code
 * (item_no of the SKU, or of the item).
 *
 * Push (DESIGN.md rule 1, without an idempotency key).  The items of a
 * batch are read with youzan.item.get immediately before writing.  A
 * correction with a known `from` becomes a change by `delta` (type=1): a
 * sale since the pull is kept.  One without `from` becomes a change by `to`
 * less the quantity just read (rule 3: the window is one round trip).  A
 * change below zero is a conflict, not sent.  A write is never re-sent
 * after a lost answer: its item is read again; the quantity before plus the
 * change means applied, the quantity before means not applied (it goes
 * again, after another read), anything else fails "unknown outcome" -
 * nothing is applied twice.  A refusal for the rate is "not processed": read
 * again, then written.  The platform's message (often Chinese) reaches the
 * result's error unchanged (cut, if at all, on a character boundary).
 */
#include "platform.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define PAGE_SIZE 100		/* at most 300 */
#define GET_CHUNK 40		/* youzan.item.get requests in flight at once */
#define BATCH_MAX 50		/* corrections in one push() call */
#define CHANGE_MAX 100000000	/* UNVERIFIED: no bound is documented; we send no more */
#define MAX_PAGES 100000
#define MAX_TRIES 6
#define MAX_ROUNDS 7
#define ID_MAX 24
#define RATE_DEFAULT 10		/* requests per second (the documented 30 for writes, shared) */
#define RATE_MIN 0.25
#define TOKEN_MARGIN 300	/* renew a token with less than this left (seconds) */

#define P_TOKEN "/auth/token"
#define A_ONSALE "youzan.items.onsale.get"
#define A_INVENTORY "youzan.items.inventory.get"
#define A_GET "youzan.item.get"
#define A_UPDATE "youzan.item.quantity.update"
#define V3 "3.0.0"

/* What an answer means to us (yz_errclass). */
enum { YZ_OK, YZ_AUTH, YZ_RATE, YZ_BUSY, YZ_OTHER };

/* For the known-answer tests (tests/unit/test_drv_youzan.c). */
void yz_token_body(const char *client_id, const char *secret, const char *grant_id,
    struct buf *out);
void yz_api_url(const char *base, const char *api, const char *version, const char *token,
    struct buf *out);
int yz_since_ms(const char *rfc3339, int64_t *ms);
int yz_errclass(int gateway, long long code);

struct yz {
	char *base, *client_id, *grant_id;
	char *secret, *token;	/* scrubbed from any message */
	double token_until;
	double rate;
};

/* ---- requests ---- */

void
yz_token_body(const char *client_id, const char *secret, const char *grant_id, struct buf *out)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "client_id", client_id, "client_secret",
	    secret, "authorize_type", "silent", "grant_id", grant_id, "refresh", 0);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	buf_adds(out, s);
	explicit_bzero(s, strlen(s));
	free(s);
	json_decref(j);
}

void
yz_api_url(const char *base, const char *api, const char *version, const char *token,
    struct buf *out)
{
	buf_addf(out, "%s/api/%s/%s?access_token=", base, api, version);
	buf_add_pctenc(out, token);
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/*
 * An RFC 3339 time ("2026-03-02T09:14:00Z", "...T17:14:00.250+08:00") as
 * Unix milliseconds, the unit of update_time_start: computed from the
 * fields and the offset alone, never from the machine's zone.  -1 when
 * malformed.
 */
int
yz_since_ms(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, se, frac = 0, oh = 0, om = 0, sign = 0;
	size_t n = s ? strlen(s) : 0, i = 19;

	if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &se))
		return -1;
	if (s[i] == '.') {
		int k = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
			if (k < 3)
				frac = frac * 10 + (s[i] - '0');
		if (!k)
			return -1;
		for (; k < 3; k++)
			frac *= 10;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && !digits(s + i + 1, 2, &oh) &&
	    s[i + 3] == ':' && !digits(s + i + 4, 2, &om) && oh < 24 && om < 60) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + frac;
	return 0;
}

int
yz_errclass(int gateway, long long code)
{
	if (gateway) {
		switch (code) {
		case 4201: case 4202: case 4203: case 4204:
			return YZ_AUTH;
		case 4101:
			return YZ_RATE;
		default:
			return YZ_OTHER;
		}
	}
	switch (code) {
	case 200:
		return YZ_OK;
	case 500100004: case 123000042: case 141500203:
		return YZ_RATE;
	case 106000001: case 106100118:	/* request timed out: retry */
		return YZ_BUSY;
	default:
		return YZ_OTHER;
	}
}

static void
scrub(const struct yz *y, struct buf *m)
{
	const char *hide[] = { y->secret, y->token };
	buf_scrub(m, hide, 2);
}

/* An id (a positive integer, or a string of digits) into out; -1 when not one. */
static int
jid(json_t *v, char *out, size_t outlen)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!(s = json_string_value(v)) || !*s || *s == '0' || strlen(s) >= outlen ||
	    strspn(s, "0123456789") != strlen(s))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

static int
is_id(const char *s, size_t n)
{
	return n > 0 && n < 19 && s[0] != '0' && strspn(s, "0123456789") >= n;
}

/* "iid" or "iid/sid" -> its parts (sid "" for the first); -1 when malformed. */
static int
parse_item(const char *s, char *iid, char *sid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!s || (!slash && !is_id(s, strlen(s))) ||
	    (slash && (!is_id(s, (size_t)(slash - s)) || !is_id(slash + 1, strlen(slash + 1)))))
		return -1;
	snprintf(iid, ID_MAX, "%.*s", (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
	snprintf(sid, ID_MAX, "%s", slash ? slash + 1 : "");
	return 0;
}

/* ---- answers ---- */

struct env {
	int kind;		/* 1 success, 0 refused, -1 not an envelope */
	int gateway;		/* refused by the gateway (gw_err_resp) */
	long long code;
	json_t *root;		/* the parsed answer (owned), or NULL */
	json_t *data;		/* borrowed from root, on success */
};

/* Parse r's answer; msg (when not NULL) gets the message, control bytes as spaces. */
static void
env_parse(const struct http_req *r, struct env *e, struct buf *msg)
{
	const char *m = NULL;
	json_t *j = r->status && r->resp.len && !r->ambiguous ?
	    json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *gw = json_object_get(j, "gw_err_resp"), *er = json_object_get(j, "error_response");
	json_t *ok = json_object_get(j, "success"), *code = json_object_get(j, "code");

	memset(e, 0, sizeof *e);
	e->kind = -1;
	e->code = -1;
	e->root = j;
	if (json_is_object(gw)) {
		e->kind = 0;
		e->gateway = 1;
		e->code = json_is_integer(json_object_get(gw, "err_code")) ?
		    json_integer_value(json_object_get(gw, "err_code")) : -1;
		m = json_string_value(json_object_get(gw, "err_msg"));
	} else if (json_is_object(er)) {
		e->kind = 0;
		e->code = json_is_integer(json_object_get(er, "code")) ?
		    json_integer_value(json_object_get(er, "code")) : -1;
		m = json_string_value(json_object_get(er, "msg"));
	} else if (json_is_object(json_object_get(j, "response"))) {
		e->kind = 1;
		e->code = 200;
		e->data = json_object_get(j, "response");
	} else if (json_is_boolean(ok)) {
		e->code = json_is_integer(code) ? json_integer_value(code) : -1;
		m = json_string_value(json_object_get(j, "message"));
		if (json_is_true(ok) && (e->code == 200 || !code)) {
			e->kind = 1;
			e->code = 200;
			e->data = json_object_get(j, "data");
		} else {
			e->kind = 0;
		}
	}
	if (msg) {
		buf_reset(msg);
		for (int i = 0; m && e->kind == 0 && m[i] && i < 400; i++)
			buf_addc(msg, (unsigned char)m[i] < 0x20 ? ' ' : m[i]);
	}
}

/* The class of an answer: its HTTP status's, else its envelope's. */
static int
ans_class(const struct http_req *r, const struct env *e)
{
	if (r->status == 401 || r->status == 403)
		return YZ_AUTH;
	if (r->status == 429)
		return YZ_RATE;
	if (r->status == 0 || r->status == 408 || r->status >= 500)
		return YZ_BUSY;
	if (r->status != 200 || e->kind < 0)
		return YZ_OTHER;
	if (e->kind == 1)
		return YZ_OK;
	return yz_errclass(e->gateway, e->code);
}

static int
fail_code(const struct http_req *r, const struct env *e)
{
	int k = ans_class(r, e);
	if (k == YZ_AUTH)
		return EX_NOPERM;
	if (r->permanent)
		return EX_UNAVAILABLE;
	if (k == YZ_RATE || k == YZ_BUSY)
		return EX_TEMPFAIL;
	if (r->status == 200 && e->kind < 0)
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

/* "[chan]: youzan.item.get: HTTP 200: code 4203: Token 不存在 (check ...)" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *what)
{
	struct yz *y = c->priv;
	struct buf m = BUF_INIT;
	struct env e;

	env_parse(r, &e, &m);
	buf_addf(out, "[%s]: %s: ", c->name, what);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (e.kind == 0 && e.code != -1)
		buf_addf(out, ": code %lld", e.code);
	if (m.len)
		buf_addf(out, ": %s", m.s);
	if (r->status == 200 && e.kind < 0)
		buf_adds(out, ": the answer is not a Youzan envelope");
	if (ans_class(r, &e) == YZ_AUTH)
		buf_adds(out, " (check client_id, grant_id and the client_secret in token_file)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://open.youzanyun.com)");
	json_decref(e.root);
	buf_release(&m);
	scrub(y, out);
}

static void
slow_down(struct chan *c)
{
	struct yz *y = c->priv;
	y->rate = y->rate / 2 > RATE_MIN ? y->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, y->rate);
}

/* ---- the access token ---- */

static int
token_ensure(struct chan *c, struct buf *err)
{
	struct yz *y = c->priv;
	int rc = 0;

	if (y->token && mono_now() < y->token_until)
		return 0;
	for (int attempt = 0;; attempt++) {
		struct http_req r;
		struct env e;
		http_req_init(&r);
		r.method = "POST";
		buf_adds(&r.url, y->base);
		buf_adds(&r.url, P_TOKEN);
		yz_token_body(y->client_id, y->secret, y->grant_id, &r.body);
		r.hdrs = curl_slist_append(r.hdrs, "Content-Type: application/json");
		r.hdrs = curl_slist_append(r.hdrs, "Expect:");
		r.idempotent = 1;	/* a self-use app's token: asking again is harmless */
		r.cost = 1;
		http_submit(c->http, &r);
		http_run(c->http);
		explicit_bzero(r.body.s, r.body.len);
		env_parse(&r, &e, NULL);
		const char *tok = e.kind == 1 ?
		    json_string_value(json_object_get(e.data, "access_token")) : NULL;
		json_t *ex = json_object_get(e.data, "expires");
		size_t tl = tok ? strlen(tok) : 0;
		int cls = ans_class(&r, &e);
		/* a token holding the client_secret would carry it into every URL: refused */
		if (tok && tl && tl <= 2048 && strcspn(tok, " \t\r\n\"&?#%") == tl &&
		    !strstr(tok, y->secret)) {
			double left = 60;	/* no usable expiry: ask again soon */
			if (json_is_integer(ex) && json_integer_value(ex) / 1000 > (json_int_t)time(NULL))
				left = (double)(json_integer_value(ex) / 1000 - (json_int_t)time(NULL));
			free_secret(y->token);
			y->token = xstrdup(tok);
			y->token_until = mono_now() + (left > 2 * TOKEN_MARGIN ? left - TOKEN_MARGIN :
			    left / 2);
			rc = 0;
		} else if ((cls == YZ_RATE || cls == YZ_BUSY) && !r.permanent && attempt + 1 < MAX_TRIES) {
			rc = -1;
		} else {
			buf_reset(err);
			describe(c, err, &r, "auth/token");
			if (e.kind == 1) {
				buf_adds(err, ": the answer has no data.access_token");
				rc = EX_DATAERR;
			} else if (e.kind == 0 && r.status == 200 && cls == YZ_OTHER) {
				/* the token service refuses only for the credentials (1000, 1103, ...) */
				buf_adds(err, " (check client_id, grant_id and the client_secret in "
				    "token_file)");
				rc = EX_NOPERM;
			} else {
				rc = fail_code(&r, &e);
			}
		}
		if (r.resp.s)
			explicit_bzero(r.resp.s, r.resp.len);
		json_decref(e.root);
		http_req_release(&r);
		if (rc >= 0)
			return rc;
		sleep_s(backoff_s(attempt));
	}
}

static void
req_prepare(struct chan *c, struct http_req *r, const char *api, json_t *body)
{
	struct yz *y = c->priv;
	char *p = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

	http_req_init(r);
	r->method = "POST";
	yz_api_url(y->base, api, V3, y->token ? y->token : "", &r->url);
	buf_adds(&r->body, p);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json;charset=UTF-8");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;
	free(p);
}

/*
 * One read (idempotent) until it succeeds, waiting out a refusal for the
 * rate or a busy platform.  Its data (a new reference), or NULL with err
 * and *rc set.
 */
static json_t *
read_call(struct chan *c, const char *api, json_t *body, int *rc, struct buf *err)
{
	for (int attempt = 0;; attempt++) {
		struct http_req r;
		struct env e;
		if ((*rc = token_ensure(c, err)) != 0)
			return NULL;
		req_prepare(c, &r, api, body);
		r.idempotent = 1;
		http_submit(c->http, &r);
		http_run(c->http);
		env_parse(&r, &e, NULL);
		int k = ans_class(&r, &e);
		if (k == YZ_OK && json_is_object(e.data)) {
			json_t *d = json_incref(e.data);
			json_decref(e.root);
			http_req_release(&r);
			return d;
		}
		json_decref(e.root);
		if ((k == YZ_RATE || k == YZ_BUSY) && !r.permanent && attempt + 1 < MAX_TRIES) {
			if (k == YZ_RATE)
				slow_down(c);
			http_req_release(&r);
			sleep_s(backoff_s(attempt));
			continue;
		}
		buf_reset(err);
		describe(c, err, &r, api);
		if (k == YZ_OK) {
			buf_adds(err, ": the answer has no data");
			*rc = EX_DATAERR;
		} else {
			*rc = fail_code(&r, &e);
		}
		http_req_release(&r);
		return NULL;
	}
}

/* ---- youzan.item.get, many at once ---- */

struct iget {
	char iid[ID_MAX];
	json_t *item;		/* data.item (owned) once read */
	int refused;		/* the platform refused this item alone (err) */
	char err[256];
};

/*
 * Read the items of g (those without item and not refused).  Strict: any
 * failure fails the whole read.  Lenient: an item the platform refuses (gone,
 * ...) is marked refused, with the platform's words; a failure of the
 * transport or of the credentials still fails the read.
 */
static int
get_items(struct chan *c, struct iget *g, size_t n, int lenient, struct buf *err)
{
	int rc;

	if ((rc = token_ensure(c, err)) != 0)
		return rc;
	for (size_t off = 0; off < n && !rc; off += GET_CHUNK) {
		size_t m = n - off < GET_CHUNK ? n - off : GET_CHUNK;
		for (int attempt = 0; !rc; attempt++) {
			struct http_req rq[GET_CHUNK];
			size_t ix[GET_CHUNK], nq = 0;
			int again = 0, rated = 0;
			for (size_t i = off; i < off + m; i++) {
				if (g[i].item || g[i].refused)
					continue;
				json_t *b = json_pack("{s:I}", "item_id",
				    (json_int_t)strtoll(g[i].iid, NULL, 10));
				req_prepare(c, &rq[nq], A_GET, b);
				json_decref(b);
				rq[nq].idempotent = 1;
				ix[nq++] = i;
				http_submit(c->http, &rq[nq - 1]);
			}
			if (!nq)
				break;
			http_run(c->http);
			for (size_t q = 0; q < nq; q++) {
				struct iget *t = &g[ix[q]];
				struct env e;
				env_parse(&rq[q], &e, NULL);
				int k = ans_class(&rq[q], &e);
				json_t *it = json_object_get(e.data, "item");
				char id[ID_MAX];
				if (rc) {
					;	/* already failed: only release */
				} else if (k == YZ_OK && json_is_object(it) &&
				    !jid(json_object_get(it, "item_id"), id, sizeof id) &&
				    !strcmp(id, t->iid)) {
					t->item = json_incref(it);
				} else if (k == YZ_OK) {
					buf_reset(err);
					buf_addf(err, "[%s]: %s: item %s: the answer has no data.item of "
					    "that item_id", c->name, A_GET, t->iid);
					rc = EX_DATAERR;
				} else if ((k == YZ_RATE || k == YZ_BUSY) && !rq[q].permanent &&
				    attempt + 1 < MAX_TRIES) {
					again = 1;
					rated |= k == YZ_RATE;
				} else if (lenient && k == YZ_OTHER && e.kind == 0 && !e.gateway &&
				    rq[q].status == 200) {
					struct buf m2 = BUF_INIT;
					describe(c, &m2, &rq[q], A_GET);
					snprintf(t->err, sizeof t->err, "%.*s", utf8_prefix(m2.s,
					    sizeof t->err - 1), m2.s);
					t->refused = 1;
					buf_release(&m2);
				} else {
					buf_reset(err);
					describe(c, err, &rq[q], A_GET);
					rc = fail_code(&rq[q], &e);
				}
				json_decref(e.root);
				http_req_release(&rq[q]);
			}
			if (rc || !again)
				break;
			if (rated)
				slow_down(c);
			sleep_s(backoff_s(attempt));
		}
	}
	return rc;
}

static void
iget_free(struct iget *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(g[i].item);
	free(g);
}

/*
 * The quantity of SKU sid (or, sid "", of the item itself) in item: 0
 * found, -1 no such SKU (why set).
 */
static int
item_qty(json_t *item, const char *sid, int64_t *qty, const char **why)
{
	json_t *skus = json_object_get(item, "skus"), *q;
	char id[ID_MAX];
	size_t ns = json_is_array(skus) ? json_array_size(skus) : 0;

	if (skus && !json_is_array(skus) && !json_is_null(skus)) {
		*why = "skus is not a list";
		return -1;
	}
	if (!*sid) {
		q = json_object_get(item, "quantity");
		if (ns) {
			*why = "the item has specifications: give <item_id>/<sku_id>";
			return -1;
		}
		if (!json_is_integer(q)) {
			*why = "the item has no quantity";
			return -1;
		}
		*qty = json_integer_value(q);
		return 0;
	}
	for (size_t i = 0; i < ns; i++) {
		json_t *s = json_array_get(skus, i);
		q = json_object_get(s, "quantity");
		if (!jid(json_object_get(s, "sku_id"), id, sizeof id) && !strcmp(id, sid)) {
			if (!json_is_integer(q)) {
				*why = "the SKU has no quantity";
				return -1;
			}
			*qty = json_integer_value(q);
			return 0;
		}
	}
	*why = "no such SKU in the item";
	return -1;
}

/* ---- pull ---- */

struct row {
	char item[2 * ID_MAX];
	char *code;
	int64_t qty;
};

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	char xi[ID_MAX], xs[ID_MAX], yi[ID_MAX], ys[ID_MAX];
	parse_item(x->item, xi, xs);
	parse_item(y->item, yi, ys);
	int d = id_cmp(xi, yi);
	return d ? d : id_cmp(xs, ys);
}

/* Item ids of both lists into *ids (new strings, sorted, each once). */
static int
list_ids(struct chan *c, const struct pull_opts *o, char ***ids, size_t *nids, struct buf *err)
{
	static const char *const apis[] = { A_ONSALE, A_INVENTORY };
	int64_t since = 0;
	int rc = 0;
	size_t cap = 0;

	if (o && o->since && yz_since_ms(o->since, &since) < 0) {
		buf_addf(err, "[%s]: --since '%.40s' is not an RFC 3339 time", c->name, o->since);
		return EX_USAGE;
	}
	for (size_t a = 0; a < 2 && !rc; a++) {
		uint64_t seen = 0;
		for (int page = 1; page <= MAX_PAGES && !rc; page++) {
			json_t *b = json_pack("{s:i, s:i}", "page_no", page, "page_size", PAGE_SIZE);
			if (o && o->since)
				json_object_set_new(b, "update_time_start", json_integer(since));
			json_t *d = read_call(c, apis[a], b, &rc, err);
			json_decref(b);
			if (!d)
				break;
			c->pages++;
			json_t *items = json_object_get(d, "items"), *cnt = json_object_get(d, "count");
			char id[ID_MAX];
			if (items && !json_is_array(items)) {
				buf_reset(err);
				buf_addf(err, "[%s]: %s: data.items is not a list", c->name, apis[a]);
				rc = EX_DATAERR;
			}
			for (size_t i = 0; !rc && i < json_array_size(items); i++) {
				if (jid(json_object_get(json_array_get(items, i), "item_id"), id, sizeof id)) {
					buf_reset(err);
					buf_addf(err, "[%s]: %s: an item has no item_id", c->name, apis[a]);
					rc = EX_DATAERR;
					break;
				}
				if (*nids == cap) {
					cap = cap ? cap * 2 : 256;
					*ids = xrealloc(*ids, cap * sizeof **ids);
				}
				(*ids)[(*nids)++] = xstrdup(id);
			}
			size_t got = json_array_size(items);
			seen += got;
			int last = got < PAGE_SIZE || (json_is_integer(cnt) &&
			    seen >= (uint64_t)(json_integer_value(cnt) > 0 ? json_integer_value(cnt) : 0));
			json_decref(d);
			if (last)
				break;
		}
	}
	if (*nids > 1)
		qsort(*ids, *nids, sizeof **ids, id_ptr_cmp);
	size_t u = 0;
	for (size_t i = 0; i < *nids; i++) {
		if (u && !strcmp((*ids)[u - 1], (*ids)[i]))
			free((*ids)[i]);
		else
			(*ids)[u++] = (*ids)[i];
	}
	*nids = u;
	return rc;
}

/* The rows of item (its SKUs, or itself) appended to *rows; -1 with why. */
static int
item_rows(json_t *item, const char *iid, struct row **rows, size_t *n, size_t *cap,
    const char **why)
{
	json_t *skus = json_object_get(item, "skus");
	size_t ns = json_is_array(skus) ? json_array_size(skus) : 0;
	char sid[ID_MAX];

	if (skus && !json_is_array(skus) && !json_is_null(skus)) {
		*why = "skus is not a list";
		return -1;
	}
	for (size_t i = 0; i < (ns ? ns : 1); i++) {
		json_t *s = ns ? json_array_get(skus, i) : item;
		json_t *q = json_object_get(s, "quantity");
		const char *code = json_string_value(json_object_get(s, "item_no"));
		if ((ns && jid(json_object_get(s, "sku_id"), sid, sizeof sid)) || !json_is_integer(q)) {
			*why = ns ? "a SKU has no sku_id or quantity" : "an item has no quantity";
			return -1;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*rows = xrealloc(*rows, *cap * sizeof **rows);
		}
		struct row *w = &(*rows)[(*n)++];
		if (ns)
			snprintf(w->item, sizeof w->item, "%s/%s", iid, sid);
		else
			snprintf(w->item, sizeof w->item, "%s", iid);
		w->code = xstrdup(code ? code : "");
		w->qty = json_integer_value(q);
	}
	return 0;
}

static int
yz_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	char **ids = NULL;
	size_t nids = 0, nrows = 0, cap = 0;
	struct row *rows = NULL;
	int rc = list_ids(c, o, &ids, &nids, err);

	for (size_t off = 0; !rc && off < nids; off += 200) {
		size_t m = nids - off < 200 ? nids - off : 200;
		struct iget *g = xcalloc(m, sizeof *g);
		for (size_t i = 0; i < m; i++)
			snprintf(g[i].iid, sizeof g[i].iid, "%s", ids[off + i]);
		rc = get_items(c, g, m, 0, err);
		for (size_t i = 0; i < m && !rc; i++) {
			const char *why = NULL;
			if (item_rows(g[i].item, g[i].iid, &rows, &nrows, &cap, &why) < 0) {
				buf_reset(err);
				buf_addf(err, "[%s]: %s: item %s: %s", c->name, A_GET, g[i].iid, why);
				rc = EX_DATAERR;
			}
		}
		iget_free(g, m);
	}
	if (!rc && nrows > 1)
		qsort(rows, nrows, sizeof *rows, row_cmp);
	for (size_t i = 0; i < nrows && !rc; i++) {
		struct row *w = &rows[i];
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->code);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], w->item);
		if (!keep || (i && !strcmp(rows[i - 1].item, w->item)))
			continue;
		struct pulled p = { w->item, w->code, "", "available", w->qty };
		emit(&p, arg);
	}
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].code);
	free(rows);
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

/* ---- read ---- */

/*
 * Set current of each correction of v (whose item parses) from a fresh
 * youzan.item.get of its item.  Lenient: see get_items; a correction whose
 * item or SKU could not be read is left without current, its error set.
 */
static int
read_corrs(struct chan *c, struct corr **v, size_t n, int lenient, struct buf *err)
{
	struct iget *g = xcalloc(n ? n : 1, sizeof *g);
	size_t ng = 0;
	char iid[ID_MAX], sid[ID_MAX];
	int rc;

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (lenient)
			v[i]->error[0] = '\0';
		if (parse_item(v[i]->item, iid, sid) < 0)
			continue;
		size_t k = 0;
		while (k < ng && strcmp(g[k].iid, iid))
			k++;
		if (k == ng)
			snprintf(g[ng++].iid, sizeof g->iid, "%s", iid);
	}
	rc = get_items(c, g, ng, lenient, err);
	for (size_t i = 0; i < n && !rc; i++) {
		struct corr *k = v[i];
		const char *why = NULL;
		if (parse_item(k->item, iid, sid) < 0)
			continue;
		size_t x = 0;
		while (x < ng && strcmp(g[x].iid, iid))
			x++;
		if (g[x].refused) {
			snprintf(k->error, sizeof k->error, "%s", g[x].err);
		} else if (item_qty(g[x].item, sid, &k->current, &why) == 0) {
			k->has_current = 1;
		} else if (lenient) {
			snprintf(k->error, sizeof k->error, "item %.60s: %s", k->item, why);
		} else {
			buf_reset(err);
			buf_addf(err, "[%s]: %s: item %.60s: %s", c->name, A_GET, k->item, why);
			rc = EX_DATAERR;
		}
	}
	iget_free(g, ng);
	return rc;
}

static int
yz_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	return read_corrs(c, v, n, 0, err);
}

/* ---- push ---- */


struct wr {
	struct chan *c;
	struct http_req r;
	struct dwrite d;	/* the correction, its change and what became of it */
	int auth_failed, rated;
	char msg[400];
};

static void
wr_done(struct http_req *r, void *arg)
{
	struct wr *w = arg;
	struct corr *k = w->d.k;
	struct buf m = BUF_INIT;
	struct env e;

	if (r->ambiguous) {
		w->d.state = DW_UNKNOWN;
		return;
	}
	env_parse(r, &e, NULL);
	int cls = ans_class(r, &e);
	json_t *ok = json_object_get(e.data, "is_success");
	describe(w->c, &m, r, A_UPDATE);
	if (cls == YZ_OK && (!ok || json_is_true(ok))) {
		w->d.state = DW_DONE;
		k->status = CS_APPLIED;
		k->error[0] = '\0';
	} else if (cls == YZ_OK) {
		w->d.state = DW_UNKNOWN;	/* is_success false: read again to learn */
	} else if (r->status == 0 || cls == YZ_RATE) {
		w->rated = cls == YZ_RATE;
		w->d.state = DW_RETRY;	/* not processed: again, after a re-read */
		snprintf(k->error, sizeof k->error, "%.*s", utf8_prefix(m.s, 250), m.s);
	} else if (cls == YZ_BUSY || (r->status == 200 && e.kind < 0)) {
		w->d.state = DW_UNKNOWN;	/* may have been applied */
	} else {
		w->auth_failed = cls == YZ_AUTH;
		snprintf(w->msg, sizeof w->msg, "%.*s", utf8_prefix(m.s, sizeof w->msg - 1), m.s);
		w->d.state = DW_DONE;
		corr_fail(k, CS_FAILED, "not written: %.*s", utf8_prefix(m.s, 230), m.s);
	}
	json_decref(e.root);
	buf_release(&m);
}

static void
wr_submit(struct chan *c, struct wr *w)
{
	char iid[ID_MAX], sid[ID_MAX];
	parse_item(w->d.k->item, iid, sid);
	json_t *b = json_pack("{s:I}", "item_id", (json_int_t)strtoll(iid, NULL, 10));
	if (*sid)
		json_object_set_new(b, "sku_id", json_integer(strtoll(sid, NULL, 10)));
	json_object_set_new(b, "quantity", json_integer(w->d.change));
	json_object_set_new(b, "type", json_integer(1));	/* 增量更新 */
	w->c = c;
	req_prepare(c, &w->r, A_UPDATE, b);
	json_decref(b);
	w->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	w->r.no_retry = 1;	/* nor after a 429: read again first */
	w->r.done = wr_done;
	w->r.arg = w;
	http_submit(c->http, &w->r);
}

/* Settle the writes of ws whose answer was lost by reading again. */
static void
settle(struct chan *c, struct wr *ws, size_t nw)
{
	struct dwrite **d = xcalloc(nw ? nw : 1, sizeof *d);
	for (size_t i = 0; i < nw; i++)
		d[i] = &ws[i].d;
	delta_settle_lost(c, d, nw, read_corrs);
	free(d);
}

/* One round: read, plan, write, settle; what goes again is left in pend. */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	(void)wait;	/* the default back-off */
	size_t n = *npend, nw = 0, nret = 0;
	struct wr *ws = xcalloc(n ? n : 1, sizeof *ws);
	int rc;

	if ((rc = read_corrs(c, pend, n, 1, err)) != 0) {
		for (size_t i = 0; i < n; i++)
			corr_fail(pend[i], CS_FAILED, "not written: the read before writing failed: %.*s",
			    utf8_prefix(err->s, 190), err->s);
		*npend = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *k = pend[i];
		int64_t change = 0, after = 0;
		if (!k->has_current) {
			corr_fail(k, CS_FAILED, "not written: the read before writing was refused: %.*s",
			    utf8_prefix(k->error, 200), k->error);
		} else if (__builtin_sub_overflow(k->to, k->has_from ? k->from : k->current, &change) ||
		    change > CHANGE_MAX || change < -CHANGE_MAX) {
			corr_fail(k, CS_FAILED, "not written: a change of more than %d at once", CHANGE_MAX);
		} else if (change == 0) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (__builtin_add_overflow(k->current, change, &after) || after < 0) {
			corr_fail(k, CS_CONFLICT, "moved since it was read: %lld now, and %+lld would "
			    "take it below zero (not written)", (long long)k->current, (long long)change);
		} else {
			struct wr *w = &ws[nw++];
			w->d.k = k;
			w->d.pre = k->current;
			w->d.change = change;
			w->d.state = DW_SENT;
		}
	}
	for (size_t i = 0; i < nw; i++)
		wr_submit(c, &ws[i]);
	if (nw)
		http_run(c->http);
	settle(c, ws, nw);
	for (size_t i = 0; i < nw; i++)
		if (ws[i].rated) {
			slow_down(c);
			break;
		}
	for (size_t i = 0; i < nw; i++) {
		if (ws[i].auth_failed && !rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, ws[i].msg);
		}
		if (ws[i].d.state == DW_RETRY)
			pend[nret++] = ws[i].d.k;
		http_req_release(&ws[i].r);
	}
	*npend = nret;
out:
	free(ws);
	return rc;
}

static int
yz_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	char iid[ID_MAX], sid[ID_MAX];
	size_t np = 0;
	int rc = 0;

	(void)run;	/* the stock API keeps no reason or reference for a change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, iid, sid) < 0) {
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a Youzan item (<item_id> or "
			    "<item_id>/<sku_id>)", k->item ? k->item : "");
		} else if (k->location && *k->location) {
			corr_fail(k, CS_FAILED, "not written: location '%.40s': Youzan keeps one stock "
			    "per SKU (location \"\")", k->location);
		} else if (k->to < 0) {
			corr_fail(k, CS_FAILED, "not written: Youzan stock cannot be negative (%lld)",
			    (long long)k->to);
		} else {
			int dup = 0;
			for (size_t j = 0; j < np && !dup; j++)
				dup = !strcmp(pend[j]->item, k->item);
			if (dup)
				corr_fail(k, CS_FAILED, "not written: another correction for item %.60s is "
				    "in the same batch", k->item);
			else
				pend[np++] = k;
		}
	}
	size_t todo = np;
	rc = push_rounds(c, pend, todo, MAX_ROUNDS, push_round, err);
	corr_fail_pending(v, n, rc, err);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

static int
yz_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *cid = chan_get(cc, "client_id");
	const char *gid = chan_get(cc, "grant_id");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required (https://open.youzanyun.com)", path,
		    cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!cid || !cred_ok(cid, strlen(cid))) {
		buf_addf(err, "%s:%d: [%s]: client_id = is required (the app's client_id)", path,
		    cc->line, c->name);
		return EX_CONFIG;
	}
	if (!gid || !is_id(gid, strlen(gid))) {
		buf_addf(err, "%s:%d: [%s]: grant_id = is required (the shop's kdt_id, a number)",
		    path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	if (!cred_ok(sec.s, sec.len)) {
		buf_addf(err, "%s: [%s]: the secret must be the app's client_secret, on one line", path,
		    c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct yz *y = xcalloc(1, sizeof *y);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	y->base = xstrndup(base, bl);
	y->client_id = xstrdup(cid);
	y->grant_id = xstrdup(gid);
	y->secret = xstrndup(sec.s, sec.len);
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	y->rate = (double)rate;
	http_bucket(c->http, 1, 1, y->rate);
	c->priv = y;
	return 0;
}

static void
yz_close(struct chan *c)
{
	struct yz *y = c->priv;
	if (!y)
		return;
	free(y->base);
	free(y->client_id);
	free(y->grant_id);
	free_secret(y->secret);
	free_secret(y->token);
	free(y);
	c->priv = NULL;
}

const struct driver drv_youzan = {
	.type = "youzan",
	.max_batch = BATCH_MAX,
	.open = yz_open,
	.pull = yz_pull,
	.read = yz_read,
	.push = yz_push,
	.close = yz_close,
};
