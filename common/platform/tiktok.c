/*
 * tiktok.c - the TikTok Shop driver: the Partner API, version 202309, under
 * base_url = https://open-api.tiktokglobalshop.com.
 *
 * Facts it relies on, with the page that states each one (TikTok Shop
 * Partner Center, partner.tiktokshop.com/docv2; the pages are reproduced
 * field by field in github.com/lywzx/tiktok-partner-api, packages/
 * tk-origin-api/src/products/<Name>.ts, which is where they were checked):
 *   - Every request carries the query parameters app_key, timestamp (Unix
 *     seconds), shop_cipher (shop APIs) and sign; the access token goes in
 *     the x-tts-access-token header; Content-Type: application/json.
 *     sign = lower-case hex HMAC-SHA256, keyed by the app secret, of
 *     app_secret + path + (the query parameters except sign and
 *     access_token, sorted by key, each as key followed by value) + body
 *     (unless multipart/form-data) + app_secret.
 *     "Sign your API request", partner.tiktokshop.com/docv2 (the official
 *     sample's steps are quoted in many SDKs; the page itself was not
 *     reachable from here).  A wrong sign is answered HTTP 401 {"code":
 *     106001, "message": "Invalid credentials. The 'sign' query parameter
 *     is invalid. ..."} (a captured answer of open-api.tiktokglobalshop.com).
 *   - Every answer is {code (0: success), message, request_id, data}.
 *   - POST /product/202309/products/search?page_size=1..100&page_token=
 *     lists products {id, status, skus [{id, seller_sku, inventory
 *     [{warehouse_id, quantity}]}]} with data.total_count and
 *     data.next_page_token (cursor).  "Search Products".
 *   - POST /product/202309/inventory/search {"sku_ids": [...]} (at most
 *     600; or product_ids, at most 100) answers data.inventory [{product_id,
 *     skus [{id, seller_sku, warehouse_inventory [{warehouse_id,
 *     available_quantity, committed_quantity}]}]}]; available_quantity "is
 *     equivalent to inventory.quantity under the product SKU".
 *     "Inventory Search".
 *   - POST /product/202309/products/{product_id}/inventory/update {"skus":
 *     [{"id", "inventory": [{"warehouse_id", "quantity"}]}]}: the quantity
 *     after the change (absolute), 0 to less than 99999; only SKUs in live
 *     status can be updated.  The answer's data.errors [{code, message,
 *     detail {sku_id, extra_errors [{warehouse_id, code, message}]}}] lists
 *     what failed.  "Update Inventory".
 *   - Refresh mode (refresh_token_file set): GET https://auth.tiktok-shops.com
 *     /api/v2/token/refresh?app_key=&app_secret=&refresh_token=&grant_type=
 *     refresh_token (no sign, no access token) answers {code, message,
 *     request_id, data {access_token, access_token_expire_in, refresh_token,
 *     refresh_token_expire_in, open_id, seller_name, seller_base_region,
 *     user_type, granted_scopes}}, both *_expire_in being Unix times, not
 *     durations.  Partner Center, "Authorization overview" (the page was not
 *     reachable from here; the request and a whole answer are quoted by
 *     example-code.com, "Refresh a TikTok Shop OAuth2 Access Token", and by
 *     the SDKs that call it).  An access token lives about a week (that
 *     answer, dated 2024-07-23 by its request_id, expires on 2024-07-30).
 * UNVERIFIED (and handled either way): whether an answer with data.errors
 * applied the SKUs it does not name (we read them again and decide from
 * what changed); the HTTP status and code of an expired or wrong access
 * token (we take HTTP 401/403 and codes 105000-106999 as "auth refused");
 * the rate limits and the shape of a 429 (waited out, then read again);
 * that a warehouse a SKU has no record at can be written (we try, and map
 * the platform's refusal to the correction); whether the refresh token
 * rotates (the answer carries one: when it differs from the one sent, it is
 * saved over refresh_token_file, the file must be writable; whether the old
 * one keeps working is not known, so it is never kept); the codes and HTTP
 * status of a refused refresh (any answer but code 0, other than a 408,
 * 429 or 5xx, is taken as "refused": exit 77); that a call refused for its
 * token applied nothing (it is read again before a write goes again).
 *
 * Tokens.  With token_file = app_secret:access_token the token is fixed and
 * the requests are exactly as they always were.  In refresh mode token_file
 * holds the app secret alone; the access token is fetched before the first
 * call, kept in memory only, renewed TOKEN_MARGIN seconds before it expires
 * (half its life when shorter) and once when a call made with a token that
 * had been accepted is refused; a token refused straight away is not
 * renewed (exit 77).  refresh_token_file is read again for each refresh
 * under an exclusive flock(2), so that the pull and the push of one
 * pipeline never spend the same refresh token; a rotated one is written
 * aside (mode 0600, fsync) and renamed over the file while the lock is held.
 *
 * Items.  An item is "<product_id>/<sku_id>" (a write names the product),
 * the location is the warehouse_id, state "available", qty the SKU's
 * quantity in that warehouse; sku is the seller_sku.
 *
 * Pacing.  TikTok's rate limits are not published where we could check
 * them: requests go at most `rate_limit` a second (default 20).  A 429 on
 * a read is waited out and the read sent again (Retry-After, else backoff);
 * a 429 on a write halves our rate and the write goes again after a
 * re-read.
 *
 * Push (DESIGN.md, rule 3: TikTok Shop has no relative change and no
 * compare-and-set).  The corrections go in waves of at most 8 products;
 * each wave is read again with inventory/search immediately before it is
 * written.  A correction
 * whose quantity moved since it was pulled (a sale, another tool) is a
 * conflict, not written; one that already shows `to` is unchanged; the
 * others are sent, one request per product, up to `concurrency` products
 * at a time.  Per-SKU refusals inside a code 0 answer fail their
 * corrections with the platform's words; the other corrections of that
 * answer are read back.  An answer that was lost is never re-sent blindly:
 * the SKUs are read again; `to` means applied, the quantity read before
 * means not applied (it goes again, after one more read), anything else is
 * failed "unknown outcome".  A 429 or 503 means "not processed": read
 * again, then written.
 *
 * The race window that remains.  A sale that lands between the re-read
 * and the write is overwritten: the shop then shows one unit more than the
 * master wants until the next run pushes the master's lower number.  The
 * window runs from the wave's re-read to its product's write: at most 8
 * writes, `concurrency` (4) at a time and paced at `rate_limit`: about two
 * round trips on a fast link, at most 9 requests' pacing (0.45 s at the
 * default 20 a second) when the pacing is what limits.
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define PAGE_SIZE "100"		/* the documented page_size maximum */
#define READ_SKUS 600		/* the documented sku_ids maximum */
#define BATCH_MAX 100		/* corrections in one push() call */
#define WAVE 8			/* products read again, then written, together */
#define QTY_MAX 99998		/* "less than 99999" */
#define MAX_PAGES 1000000
#define MAX_PASSES 3		/* readings of the whole list while it keeps changing */
#define MAX_ROUNDS 7		/* re-read + write attempts of one correction */
#define ID_MAX 40		/* longest id we accept (TikTok's are 19 digits) */
#define RATE_DEFAULT 20		/* requests per second (the limits are UNVERIFIED) */
#define RATE_MIN 0.25

#define P_SEARCH "/product/202309/products/search"
#define P_INVENTORY "/product/202309/inventory/search"
#define P_REFRESH "/api/v2/token/refresh"
#define AUTH_DEFAULT "https://auth.tiktok-shops.com"
#define TOKEN_MARGIN 600	/* seconds before expiry an access token is renewed */
#define LOCK_TRIES 20		/* re-opens of a refresh_token_file replaced while we waited */

/* For the known-answer test (tests/unit/test_drv_tiktok.c). */
int tts_sign(const char *secret, const char *path, const char *const *kv, size_t n,
    const char *body, size_t blen, char *out, size_t outlen);

struct tt {
	char *base;		/* base_url, no trailing '/' */
	char *basepath;		/* its path, for messages */
	char *app_key, *cipher;
	char *secret, *token;	/* scrubbed out of any message */
	char *authz;		/* "x-tts-access-token: ...", NULL until a token is held */
	double rate;		/* requests per second we allow ourselves */
	/* refresh mode (refresh_token_file set); all NULL/0 with a fixed token */
	char *rt_path;		/* refresh_token_file */
	char *auth_base;	/* auth_url, no trailing '/' */
	char *auth_path;	/* its path, for messages */
	char *rtoken;		/* the refresh token last read or received (scrubbed) */
	time_t tok_until;	/* renew the access token from this time on */
	unsigned gen;		/* access tokens fetched so far */
	int gen_ok;		/* the current one has been accepted at least once */
};

/* One quantity of one SKU in one warehouse. */
struct row {
	char *pid, *sid, *wh, *sku;
	int64_t qty;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* ---- signing ---- */

/*
 * The sign of a request: kv holds n key/value pairs (k0, v0, k1, v1, ...)
 * of its query, in any order; sign and access_token are left out, the rest
 * sorted by key.  Writes lower-case hex into out (65 bytes or more).
 * Returns 0, or -1 when out is too small or HMAC failed.
 */
int
tts_sign(const char *secret, const char *path, const char *const *kv, size_t n,
    const char *body, size_t blen, char *out, size_t outlen)
{
	size_t *ix = xcalloc(n ? n : 1, sizeof *ix), m = 0;
	struct buf s = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		const char *k = kv[2 * i];
		if (!strcmp(k, "sign") || !strcmp(k, "access_token"))
			continue;
		size_t j = m++;
		while (j > 0 && strcmp(kv[2 * ix[j - 1]], k) > 0) {
			ix[j] = ix[j - 1];
			j--;
		}
		ix[j] = i;
	}
	buf_adds(&s, secret);
	buf_adds(&s, path);
	for (size_t i = 0; i < m; i++) {
		buf_adds(&s, kv[2 * ix[i]]);
		buf_adds(&s, kv[2 * ix[i] + 1]);
	}
	if (body)
		buf_add(&s, body, blen);
	buf_adds(&s, secret);
	if (outlen >= 65 && HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)s.s, s.len, md, &mdlen) && mdlen == 32) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
	explicit_bzero(s.s, s.len);
	buf_release(&s);
	free(ix);
	return rc;
}

/* ---- helpers ---- */

static void
scrub(const struct tt *t, struct buf *m)
{
	const char *hide[] = { t->secret, t->token, t->rtoken };
	buf_scrub(m, hide, 3);
}

/* A TikTok id (a string of digits, or a number) into out; -1 when not one. */
static int
jid(json_t *v, char *out, size_t outlen)
{
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!(s = json_string_value(v)) || !*s || strlen(s) >= outlen || strspn(s, "0123456789") !=
	    strlen(s))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

static int
is_id(const char *s, size_t n)
{
	if (n == 0 || n >= ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* "pid/sid" -> its two halves (in pid and sid, ID_MAX bytes each); -1 when malformed. */
static int
parse_item(const char *s, char *pid, char *sid)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || !is_id(s, (size_t)(slash - s)) || !is_id(slash + 1, strlen(slash + 1)))
		return -1;
	snprintf(pid, ID_MAX, "%.*s", (int)(slash - s), s);
	snprintf(sid, ID_MAX, "%s", slash + 1);
	return 0;
}

static int
parse_loc(const char *s)
{
	return s && is_id(s, strlen(s)) ? 0 : -1;
}

/*
 * Prepare a signed POST of body to the API path, with the extra query
 * parameters kv (n pairs) besides app_key, shop_cipher and timestamp.
 */
static void
req_prepare(struct chan *c, struct http_req *r, const char *path, const char *const *kv, size_t n,
    const char *body)
{
	struct tt *t = c->priv;
	char ts[24], sign[80];
	const char *all[2 * 8];
	size_t m = 0;

	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	all[2 * m] = "app_key", all[2 * m + 1] = t->app_key, m++;
	all[2 * m] = "shop_cipher", all[2 * m + 1] = t->cipher, m++;
	all[2 * m] = "timestamp", all[2 * m + 1] = ts, m++;
	for (size_t i = 0; i < n && m < 8; i++, m++) {
		all[2 * m] = kv[2 * i];
		all[2 * m + 1] = kv[2 * i + 1];
	}
	if (tts_sign(t->secret, path, all, m, body, strlen(body), sign, sizeof sign) < 0)
		die(EX_SOFTWARE, "HMAC-SHA256 failed (libcrypto)");
	if (!t->authz)
		die(EX_SOFTWARE, "[%s]: a request prepared without an access token", c->name);
	http_req_init(r);
	r->method = "POST";
	buf_adds(&r->url, t->base);
	buf_adds(&r->url, path);
	for (size_t i = 0; i < m; i++) {
		buf_addc(&r->url, i ? '&' : '?');
		buf_adds(&r->url, all[2 * i]);
		buf_addc(&r->url, '=');
		buf_add_pctenc(&r->url, all[2 * i + 1]);
	}
	buf_adds(&r->url, "&sign=");
	buf_adds(&r->url, sign);
	buf_adds(&r->body, body);
	r->hdrs = curl_slist_append(r->hdrs, t->authz);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	r->cost = 1;		/* one request of the rate we allow ourselves */
}

/* After a 429 on a write: halve our rate, and start from an empty bucket. */
static void
slow_down(struct chan *c)
{
	struct tt *t = c->priv;
	t->rate = t->rate / 2 > RATE_MIN ? t->rate / 2 : RATE_MIN;
	http_bucket(c->http, 1, 0, t->rate);
}

/* The answer's code (-1 when there is none) and message. */
static long long
env_code(const struct http_req *r, struct buf *msg)
{
	long long code = -1;
	json_t *j = r->status && r->resp.len ? json_loadb(r->resp.s, r->resp.len, 0, NULL) : NULL;
	json_t *cv = json_object_get(j, "code");
	const char *m = json_string_value(json_object_get(j, "message"));
	if (json_is_integer(cv))
		code = json_integer_value(cv);
	if (msg) {
		buf_reset(msg);
		for (int i = 0; m && m[i] && i < 300; i++)
			buf_addc(msg, (unsigned char)m[i] < 0x20 ? ' ' : m[i]);
	}
	json_decref(j);
	return code;
}

static int
auth_refused(const struct http_req *r, long long code)
{
	return r->status == 401 || r->status == 403 || (code >= 105000 && code <= 106999);
}

static int
fail_code(const struct http_req *r, long long code)
{
	if (auth_refused(r, code))
		return EX_NOPERM;
	if (r->permanent)
		return EX_UNAVAILABLE;
	if (r->status == 0 || r->status == 429 || r->status == 408 || r->status >= 500)
		return EX_TEMPFAIL;
	return EX_UNAVAILABLE;
}

/* "[chan]: POST /product/202309/products/search: HTTP 401: code 106001: message" */
static void
describe(struct chan *c, struct buf *out, const struct http_req *r, const char *path)
{
	struct tt *t = c->priv;
	struct buf m = BUF_INIT;
	long long code = env_code(r, &m);

	buf_addf(out, "[%s]: POST %s%s: ", c->name, t->basepath, path);
	if (r->error[0])
		buf_adds(out, r->error);
	else
		buf_addf(out, "HTTP %ld", r->status);
	if (code >= 0)
		buf_addf(out, ": code %lld", code);
	if (m.len)
		buf_addf(out, ": %s", m.s);
	if (auth_refused(r, code) && t->rt_path)
		buf_addf(out, " (check app_key and shop_cipher, and the app secret in token_file; the "
		    "access token came from refresh_token_file %s)", t->rt_path);
	else if (auth_refused(r, code))
		buf_adds(out, " (check app_key, and the app secret and access token in token_file: "
		    "app_secret:access_token)");
	else if (r->status == 404)
		buf_adds(out, " (check base_url: https://open-api.tiktokglobalshop.com)");
	buf_release(&m);
	scrub(t, out);
}

/* Parse a code 0 answer: its data (a new reference), or NULL with err set and *rc. */
static json_t *
answer_data(struct chan *c, const struct http_req *r, const char *path, int *rc, struct buf *err)
{
	json_t *j = NULL, *d;
	if (r->status == 200 && !r->ambiguous)
		j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL);
	if (j && json_is_integer(json_object_get(j, "code")) &&
	    json_integer_value(json_object_get(j, "code")) == 0 &&
	    json_is_object(d = json_object_get(j, "data"))) {
		((struct tt *)c->priv)->gen_ok = 1;
		json_incref(d);
		json_decref(j);
		return d;
	}
	long long code = env_code(r, NULL);
	buf_reset(err);
	describe(c, err, r, path);
	if (r->status == 200 && code == 0)
		buf_adds(err, ": the answer has no data object");
	else if (r->status == 200 && code < 0)
		buf_adds(err, ": the answer is not a TikTok Shop envelope (no code)");
	*rc = r->status == 200 && code <= 0 ? EX_DATAERR : fail_code(r, code);
	json_decref(j);
	return NULL;
}

/* ---- the access token in refresh mode ---- */

/*
 * Write the refresh token rt into path, atomically: a file aside in the same
 * folder, mode 0600, fsync'd, renamed over path, then the folder fsync'd.
 * 0, or -1 with errno set (path left as it was).
 */
static int
save_refresh(const char *path, const char *rt)
{
	const char *slash = strrchr(path, '/');
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	int fd, rc = -1, e = 0;

	if (slash)
		buf_add(&dir, path, (size_t)(slash - path) + 1);
	else
		buf_adds(&dir, ".");
	buf_addf(&tmp, "%s.new-XXXXXX", path);
	if ((fd = mkstemp(tmp.s)) < 0)
		goto out;
	size_t n = strlen(rt), off = 0;
	ssize_t k = 0;
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (off < n && (k = write(fd, rt + off, n - off)) > 0)
		off += (size_t)k;
	if (off < n || write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp.s, path) < 0)
		goto fail;
	int dfd = open(dir.s, O_RDONLY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);	/* the rename is durable; a folder that cannot be synced still has it */
		close(dfd);
	}
	rc = 0;
	goto out;
fail:
	e = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	unlink(tmp.s);
	errno = e;
out:
	buf_release(&tmp);
	buf_release(&dir);
	return rc;
}

/*
 * Open refresh_token_file and hold an exclusive lock on it, so that two runs
 * (a pull and a push of one pipeline) never spend one refresh token twice:
 * the second waits, then reads what the first one saved.  A file renamed
 * over while we waited is opened again.  The fd, or -1 with err set.
 */
static int
lock_refresh(struct chan *c, struct buf *err)
{
	struct tt *t = c->priv;
	for (int k = 0; k < LOCK_TRIES; k++) {
		struct stat st, sp;
		int fd = open(t->rt_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
			buf_addf(err, "[%s]: refresh_token_file %s: %s", c->name, t->rt_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (stat(t->rt_path, &sp) == 0 && sp.st_ino == st.st_ino && sp.st_dev == st.st_dev) {
			if (st.st_mode & 077) {
				buf_addf(err, "[%s]: refresh_token_file %s is readable by others (mode %03o); "
				    "chmod 600 it", c->name, t->rt_path, (unsigned)(st.st_mode & 0777));
				close(fd);
				return -1;
			}
			return fd;
		}
		close(fd);	/* replaced meanwhile: the new one is the one to read */
	}
	buf_addf(err, "[%s]: refresh_token_file %s keeps being replaced", c->name, t->rt_path);
	return -1;
}

/* The first line of the locked file fd, checked; NULL with err set. */
static char *
read_refresh(struct chan *c, int fd, struct buf *err)
{
	struct tt *t = c->priv;
	struct buf s = BUF_INIT;
	char b[1024];
	ssize_t k;
	char *out = NULL;

	while ((k = read(fd, b, sizeof b)) > 0 && s.len < 65536)
		buf_add(&s, b, (size_t)k);
	explicit_bzero(b, sizeof b);
	if (k < 0)
		buf_addf(err, "[%s]: refresh_token_file %s: %s", c->name, t->rt_path, strerror(errno));
	else if (!s.len || !cred_ok(s.s, strcspn(s.s, "\r\n")))
		buf_addf(err, "[%s]: refresh_token_file %s must hold the refresh token, on one line",
		    c->name, t->rt_path);
	else
		out = xstrndup(s.s, strcspn(s.s, "\r\n"));
	if (s.s)
		explicit_bzero(s.s, s.len);
	buf_release(&s);
	return out;
}

/*
 * Ask the token endpoint for a new access token with the refresh token of
 * refresh_token_file (read again each time: another run may have rotated
 * it), keep it in memory and save a rotated refresh token.  0, or an exit
 * code with err set: 78 the file, 77 the refresh refused, 75/69 the
 * endpoint unavailable, 65 an answer we cannot read.
 */
static int
token_refresh(struct chan *c, struct buf *err)
{
	struct tt *t = c->priv;
	struct http_req r;
	int rc = 0;

	buf_reset(err);
	int fd = lock_refresh(c, err);
	if (fd < 0)
		return EX_CONFIG;
	char *rt = read_refresh(c, fd, err);
	if (!rt) {
		close(fd);
		return EX_CONFIG;
	}
	free_secret(t->rtoken);
	t->rtoken = rt;
	http_req_init(&r);
	r.method = "GET";
	buf_adds(&r.url, t->auth_base);
	buf_adds(&r.url, P_REFRESH "?app_key=");
	buf_add_pctenc(&r.url, t->app_key);
	buf_adds(&r.url, "&app_secret=");
	buf_add_pctenc(&r.url, t->secret);
	buf_adds(&r.url, "&refresh_token=");
	buf_add_pctenc(&r.url, rt);
	buf_adds(&r.url, "&grant_type=refresh_token");
	r.hdrs = curl_slist_append(r.hdrs, "Accept: application/json");
	r.idempotent = 1;	/* nothing changes but the tokens: asked again after a lost answer */
	r.cost = 1;
	http_submit(c->http, &r);
	http_run(c->http);

	json_t *j = r.status == 200 && !r.ambiguous ?
	    json_loadb(r.resp.s ? r.resp.s : "", r.resp.len, 0, NULL) : NULL;
	json_t *cv = json_object_get(j, "code"), *d = json_object_get(j, "data");
	long long code = json_is_integer(cv) ? json_integer_value(cv) : -1;
	const char *at = json_string_value(json_object_get(d, "access_token"));
	const char *nrt = json_string_value(json_object_get(d, "refresh_token"));
	json_t *exp = json_object_get(d, "access_token_expire_in");
	if (r.status == 200 && code == 0 && at && cred_ok(at, strlen(at)) && json_is_integer(exp)) {
		time_t now = time(NULL);
		long long e = json_integer_value(exp);
		/* a Unix time (as the answers show); a number too small for one is taken as seconds */
		long long life = e >= 1000000000LL ? e - (long long)now : e;
		free_secret(t->token);
		free_secret(t->authz);
		t->token = xstrdup(at);
		struct buf h = BUF_INIT;
		buf_adds(&h, "x-tts-access-token: ");
		buf_adds(&h, at);
		t->authz = h.s;
		t->gen++;
		t->gen_ok = 0;
		/* renewed a margin before it expires (half its life when that is short) */
		t->tok_until = now + (time_t)(life > 2 * TOKEN_MARGIN ? life - TOKEN_MARGIN :
		    life > 1 ? life / 2 : 0);
		if (nrt && cred_ok(nrt, strlen(nrt)) && strcmp(nrt, t->rtoken)) {
			if (save_refresh(t->rt_path, nrt) < 0) {
				struct buf w = BUF_INIT;
				buf_addf(&w, "[%s]: refresh_token_file %s: the platform sent a new refresh "
				    "token and it could not be saved: %s; the next run may need a new "
				    "authorization", c->name, t->rt_path, strerror(errno));
				scrub(t, &w);
				warnx_("%s", w.s);
				buf_release(&w);
			}
			free_secret(t->rtoken);
			t->rtoken = xstrdup(nrt);
		}
	} else {
		struct buf m = BUF_INIT;
		code = env_code(&r, &m);
		buf_addf(err, "[%s]: GET %s%s: ", c->name, t->auth_path, P_REFRESH);
		if (r.error[0])
			buf_adds(err, r.error);
		else
			buf_addf(err, "HTTP %ld", r.status);
		if (code >= 0)
			buf_addf(err, ": code %lld", code);
		if (m.len)
			buf_addf(err, ": %s", m.s);
		buf_release(&m);
		if (r.status == 200 && code == 0) {
			buf_adds(err, ": the answer has no access_token and access_token_expire_in");
			rc = EX_DATAERR;
		} else if (r.status == 200 || (r.status >= 400 && r.status < 500 && r.status != 408 &&
		    r.status != 429)) {
			buf_addf(err, " (the refresh token in %s was refused: check app_key and the app "
			    "secret in token_file; an expired or revoked refresh token needs a new "
			    "authorization of the shop)", t->rt_path);
			rc = EX_NOPERM;
		} else {
			rc = fail_code(&r, code);
		}
		scrub(t, err);
	}
	json_decref(j);
	http_req_release(&r);
	close(fd);		/* the lock goes with it */
	return rc;
}

/* In refresh mode, hold an access token that is not about to expire. */
static int
token_ensure(struct chan *c, struct buf *err)
{
	struct tt *t = c->priv;
	if (!t->rt_path || (t->authz && time(NULL) < t->tok_until))
		return 0;
	return token_refresh(c, err);
}

/*
 * A call made with access token number gen was refused.  Returns 0 when it
 * should go again (a new token is held now), -1 when not (fixed token, or a
 * new token refused at once: the refusal stands), or the exit code of a
 * refresh that failed (err set).
 */
static int
token_renew(struct chan *c, unsigned gen, struct buf *err)
{
	struct tt *t = c->priv;
	if (!t->rt_path)
		return -1;
	if (gen != t->gen)
		return 0;	/* renewed since the call was prepared */
	if (!t->gen_ok)
		return -1;	/* never accepted: renewing would not help */
	struct buf e = BUF_INIT;
	int rc = token_refresh(c, &e);
	if (rc) {
		buf_reset(err);
		buf_add(err, e.s, e.len);
	}
	buf_release(&e);
	return rc;
}

static void
rows_add(struct rows *rs, const char *pid, const char *sid, const char *wh, const char *sku,
    int64_t qty)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	struct row *w = &rs->v[rs->n++];
	w->pid = xstrdup(pid);
	w->sid = xstrdup(sid);
	w->wh = xstrdup(wh);
	w->sku = xstrdup(sku);
	w->qty = qty;
}

static void
rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].pid);
		free(rs->v[i].sid);
		free(rs->v[i].wh);
		free(rs->v[i].sku);
	}
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = id_cmp(x->pid, y->pid);
	if (!d)
		d = id_cmp(x->sid, y->sid);
	return d ? d : id_cmp(x->wh, y->wh);
}

/* Sort, and drop repeated (product, SKU, warehouse) rows. */
static void
rows_sort(struct rows *rs)
{
	size_t u = 0;
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	for (size_t i = 0; i < rs->n; i++) {
		if (u && !row_cmp(&rs->v[u - 1], &rs->v[i])) {
			free(rs->v[i].pid);
			free(rs->v[i].sid);
			free(rs->v[i].wh);
			free(rs->v[i].sku);
			continue;
		}
		rs->v[u++] = rs->v[i];
	}
	rs->n = u;
}

static const struct row *
row_find(const struct rows *rs, const char *pid, const char *sid, const char *wh)
{
	struct row key = { (char *)pid, (char *)sid, (char *)wh, NULL, 0 };
	return rs->n ? bsearch(&key, rs->v, rs->n, sizeof *rs->v, row_cmp) : NULL;
}

/* ---- pull: every page of products/search ---- */

/* Rows of one products/search page; -1 with why set when malformed. */
static int
page_rows(json_t *data, struct rows *rs, const char **why)
{
	json_t *prods = json_object_get(data, "products");
	char pid[ID_MAX], sid[ID_MAX], wh[ID_MAX];
	if (!prods)
		return 0;	/* an empty page may leave it out */
	if (!json_is_array(prods)) {
		*why = "data.products is not a list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(prods); i++) {
		json_t *p = json_array_get(prods, i), *skus = json_object_get(p, "skus");
		if (jid(json_object_get(p, "id"), pid, sizeof pid) < 0 || (skus && !json_is_array(skus))) {
			*why = "a product has no id or its skus are not a list";
			return -1;
		}
		for (size_t k = 0; k < json_array_size(skus); k++) {
			json_t *s = json_array_get(skus, k), *inv = json_object_get(s, "inventory");
			const char *sku = json_string_value(json_object_get(s, "seller_sku"));
			if (jid(json_object_get(s, "id"), sid, sizeof sid) < 0 || (inv && !json_is_array(inv))) {
				*why = "a SKU has no id or its inventory is not a list";
				return -1;
			}
			for (size_t w = 0; w < json_array_size(inv); w++) {
				json_t *e = json_array_get(inv, w), *q = json_object_get(e, "quantity");
				if (jid(json_object_get(e, "warehouse_id"), wh, sizeof wh) < 0 ||
				    !json_is_integer(q)) {
					*why = "an inventory entry has no warehouse_id or quantity";
					return -1;
				}
				rows_add(rs, pid, sid, wh, sku ? sku : "", json_integer_value(q));
			}
		}
	}
	return 0;
}

/* One reading of the whole list; *changed when its total moved meanwhile. */
static int
list_pass(struct chan *c, struct rows *rs, int *changed, struct buf *err)
{
	struct tt *t = c->priv;
	char *tok = NULL;
	long long total = -1;
	int rc = 0;

	*changed = 0;
	for (long page = 1, again = 0; !rc; page++) {
		struct http_req r;
		const char *kv[4] = { "page_size", PAGE_SIZE, "page_token", tok };
		const char *why = NULL;
		if ((rc = token_ensure(c, err)) != 0)
			break;
		unsigned gen = t->gen;
		req_prepare(c, &r, P_SEARCH, kv, tok ? 2 : 1, "{}");
		r.idempotent = 1;	/* a read */
		http_submit(c->http, &r);
		http_run(c->http);
		json_t *data = answer_data(c, &r, P_SEARCH, &rc, err);
		if (!data && rc == EX_NOPERM && !again) {
			/* refused: an access token that expired is renewed once, and the page read again */
			int k = token_renew(c, gen, err);
			if (k >= 0) {
				http_req_release(&r);
				if (k)
					rc = k;
				else
					rc = 0, again = 1, page--;
				continue;
			}
		}
		again = 0;
		if (data) {
			json_t *tc = json_object_get(data, "total_count");
			const char *next = json_string_value(json_object_get(data, "next_page_token"));
			c->pages++;
			if (page == 1)
				total = json_is_integer(tc) ? json_integer_value(tc) : -1;
			else if (json_is_integer(tc) && json_integer_value(tc) != total)
				*changed = 1;
			if (page_rows(data, rs, &why) < 0) {
			} else if (next && *next && tok && !strcmp(next, tok)) {
				why = "next_page_token repeats the page's own";
			} else if (next && *next && page >= MAX_PAGES) {
				why = "more pages than can be";
			} else {
				free(tok);
				tok = next && *next ? xstrdup(next) : NULL;
			}
			if (why) {
				rc = EX_DATAERR;
				buf_reset(err);
				buf_addf(err, "[%s]: POST %s%s: %s", c->name, t->basepath, P_SEARCH, why);
			}
			json_decref(data);
		}
		http_req_release(&r);
		if (!tok)
			break;
	}
	free(tok);
	return rc;
}

static int
list_read(struct chan *c, struct rows *rs, struct buf *err)
{
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		int changed, rc;
		rows_release(rs);
		if ((rc = list_pass(c, rs, &changed, err)) != 0)
			return rc;
		if (!changed) {
			rows_sort(rs);
			return 0;
		}
	}
	buf_reset(err);
	buf_addf(err, "[%s]: the product list kept changing while it was read (%d readings); try "
	    "again", c->name, MAX_PASSES);
	return EX_TEMPFAIL;
}

static int
tt_pull(struct chan *c, const struct pull_opts *o,
    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err)
{
	struct rows rs = { 0 };
	struct buf item = BUF_INIT;
	int rc = list_read(c, &rs, err);

	for (size_t i = 0; i < rs.n && !rc; i++) {
		struct row *w = &rs.v[i];
		buf_reset(&item);
		buf_addf(&item, "%s/%s", w->pid, w->sid);
		int keep = !o || (!o->skus && !o->items);
		for (size_t k = 0; o && o->skus && k < o->nskus && !keep; k++)
			keep = !strcmp(o->skus[k], w->sku);
		for (size_t k = 0; o && o->items && k < o->nitems && !keep; k++)
			keep = !strcmp(o->items[k], item.s);
		if (!keep)
			continue;
		struct pulled p = { item.s, w->sku, w->wh, "available", w->qty };
		emit(&p, arg);
	}
	buf_release(&item);
	rows_release(&rs);
	return rc;
}

/* ---- read: inventory/search by SKU ids ---- */

/* Rows of an inventory/search answer; -1 with why set when malformed. */
static int
inventory_rows(json_t *data, struct rows *rs, const char **why)
{
	json_t *inv = json_object_get(data, "inventory");
	char pid[ID_MAX], sid[ID_MAX], wh[ID_MAX];
	if (!inv)
		return 0;
	if (!json_is_array(inv)) {
		*why = "data.inventory is not a list";
		return -1;
	}
	for (size_t i = 0; i < json_array_size(inv); i++) {
		json_t *p = json_array_get(inv, i), *skus = json_object_get(p, "skus");
		if (jid(json_object_get(p, "product_id"), pid, sizeof pid) < 0 ||
		    (skus && !json_is_array(skus))) {
			*why = "an entry has no product_id or its skus are not a list";
			return -1;
		}
		for (size_t k = 0; k < json_array_size(skus); k++) {
			json_t *s = json_array_get(skus, k), *wi = json_object_get(s, "warehouse_inventory");
			const char *sku = json_string_value(json_object_get(s, "seller_sku"));
			if (jid(json_object_get(s, "id"), sid, sizeof sid) < 0 || (wi && !json_is_array(wi))) {
				*why = "a SKU has no id or its warehouse_inventory is not a list";
				return -1;
			}
			for (size_t w = 0; w < json_array_size(wi); w++) {
				json_t *e = json_array_get(wi, w), *q = json_object_get(e, "available_quantity");
				if (jid(json_object_get(e, "warehouse_id"), wh, sizeof wh) < 0 ||
				    !json_is_integer(q)) {
					*why = "a warehouse entry has no warehouse_id or available_quantity";
					return -1;
				}
				rows_add(rs, pid, sid, wh, sku ? sku : "", json_integer_value(q));
			}
		}
	}
	return 0;
}

static int
read_once(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct tt *t = c->priv;
	char **sids = xcalloc(n ? n : 1, sizeof *sids);
	char pid[ID_MAX], sid[ID_MAX];
	size_t ns = 0, u = 0;
	struct rows rs = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i]->has_current = 0;
		if (!parse_item(v[i]->item, pid, sid) && !parse_loc(v[i]->location))
			sids[ns++] = xstrdup(sid);
	}
	if (ns > 1)
		qsort(sids, ns, sizeof *sids, id_ptr_cmp);
	for (size_t i = 0; i < ns; i++) {
		if (u && !strcmp(sids[u - 1], sids[i])) {
			free(sids[i]);
			continue;
		}
		sids[u++] = sids[i];
	}
	size_t nq = (u + READ_SKUS - 1) / READ_SKUS;
	struct http_req *rq = xcalloc(nq ? nq : 1, sizeof *rq);
	for (size_t q = 0; q < nq; q++) {
		json_t *ids = json_array();
		for (size_t k = q * READ_SKUS; k < u && k < (q + 1) * READ_SKUS; k++)
			json_array_append_new(ids, json_string(sids[k]));
		json_t *body = json_pack("{s:o}", "sku_ids", ids);
		char *s = json_dumps(body, JSON_COMPACT);
		req_prepare(c, &rq[q], P_INVENTORY, NULL, 0, s);
		rq[q].idempotent = 1;	/* a read */
		free(s);
		json_decref(body);
		http_submit(c->http, &rq[q]);
	}
	if (nq)
		http_run(c->http);
	for (size_t q = 0; q < nq; q++) {
		int qrc = 0;
		const char *why = NULL;
		json_t *data = rc ? NULL : answer_data(c, &rq[q], P_INVENTORY, &qrc, err);
		if (data && inventory_rows(data, &rs, &why) < 0) {
			qrc = EX_DATAERR;
			buf_reset(err);
			buf_addf(err, "[%s]: POST %s%s: %s", c->name, t->basepath, P_INVENTORY, why);
		}
		if (!rc)
			rc = qrc;
		json_decref(data);
		http_req_release(&rq[q]);
	}
	rows_sort(&rs);
	for (size_t i = 0; i < n && !rc; i++) {
		if (parse_item(v[i]->item, pid, sid) || parse_loc(v[i]->location))
			continue;
		const struct row *w = row_find(&rs, pid, sid, v[i]->location);
		if (w) {
			v[i]->has_current = 1;
			v[i]->current = w->qty;
		}
	}
	rows_release(&rs);
	for (size_t i = 0; i < u; i++)
		free(sids[i]);
	free(sids);
	free(rq);
	return rc;
}

static int
tt_read(struct chan *c, struct corr **v, size_t n, struct buf *err)
{
	struct tt *t = c->priv;
	for (int again = 0;; again++) {
		int rc = token_ensure(c, err);
		if (rc)
			return rc;
		unsigned gen = t->gen;
		rc = read_once(c, v, n, err);
		if (rc != EX_NOPERM || again)
			return rc;
		/* refused: an access token that expired is renewed once, and all is read again */
		int k = token_renew(c, gen, err);
		if (k < 0)
			return rc;
		if (k)
			return k;
	}
}

/* ---- push ---- */

enum { W_SENT, W_RETRY, W_UNKNOWN, W_RECHECK, W_DONE };

struct wr {
	struct corr *k;
	char pid[ID_MAX], sid[ID_MAX];
	int had;		/* a record before the write */
	int64_t pre;		/* its quantity then */
	int state;
};

/* One product's update request. */
struct batch {
	struct http_req r;
	struct chan *c;
	struct wr **w;
	size_t n;
	char path[128];
	double wait;		/* after a 429/503: Retry-After, -1 none */
	int auth_failed;
	unsigned gen;		/* the access token it was sent with */
	char msg[400];
};

/* Fail the corrections of SKU sid (at warehouse wh, or all when NULL) that an answer refused. */
static size_t
refuse(struct batch *b, const char *sid, const char *wh, long long code, const char *msg)
{
	struct tt *t = b->c->priv;
	size_t hit = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct wr *w = b->w[i];
		if (w->state != W_SENT || strcmp(w->sid, sid) || (wh && strcmp(w->k->location, wh)))
			continue;
		struct buf m = BUF_INIT;
		buf_addf(&m, "not written: [%s]: POST %s%s: SKU %s at warehouse %s: code %lld: %s",
		    b->c->name, t->basepath, b->path, sid, w->k->location, code, msg ? msg : "");
		scrub(t, &m);
		w->state = W_DONE;
		corr_fail(w->k, CS_FAILED, "%.250s", m.s);
		buf_release(&m);
		hit++;
	}
	return hit;
}

/* Map the per-SKU errors of a code 0 answer; the others are read back. */
static void
partial(struct batch *b, json_t *errs)
{
	char sid[ID_MAX], wh[ID_MAX];
	for (size_t i = 0; i < json_array_size(errs); i++) {
		json_t *e = json_array_get(errs, i), *d = json_object_get(e, "detail");
		json_t *xs = json_object_get(d, "extra_errors");
		if (jid(json_object_get(d, "sku_id"), sid, sizeof sid) < 0)
			continue;	/* names nothing we can map: the read back decides */
		if (json_array_size(xs) == 0) {
			refuse(b, sid, NULL, json_integer_value(json_object_get(e, "code")),
			    json_string_value(json_object_get(e, "message")));
			continue;
		}
		for (size_t k = 0; k < json_array_size(xs); k++) {
			json_t *x = json_array_get(xs, k);
			json_t *xc = json_object_get(x, "code"), *xm = json_object_get(x, "message");
			if (jid(json_object_get(x, "warehouse_id"), wh, sizeof wh) < 0) {
				refuse(b, sid, NULL, json_integer_value(json_is_integer(xc) ? xc :
				    json_object_get(e, "code")), json_string_value(json_is_string(xm) ? xm :
				    json_object_get(e, "message")));
				continue;
			}
			refuse(b, sid, wh, json_integer_value(json_is_integer(xc) ? xc :
			    json_object_get(e, "code")), json_string_value(json_is_string(xm) ? xm :
			    json_object_get(e, "message")));
		}
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->w[i]->state == W_SENT)
			b->w[i]->state = W_RECHECK;
}

static void
batch_done(struct http_req *r, void *arg)
{
	struct batch *b = arg;
	struct chan *c = b->c;
	struct buf m = BUF_INIT;

	b->wait = -1;
	if (r->ambiguous) {
		for (size_t i = 0; i < b->n; i++)
			b->w[i]->state = W_UNKNOWN;
		return;
	}
	describe(c, &m, r, b->path);
	json_t *j = r->status == 200 ? json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, NULL) :
	    NULL;
	json_t *cv = json_object_get(j, "code");
	long long code = json_is_integer(cv) ? json_integer_value(cv) : -1;
	if (r->status == 0 || r->status == 429 || r->status == 503) {
		/* not processed (never sent, or the server said so): again after a re-read */
		b->wait = http_retry_after(r);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RETRY;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s", m.s);
		}
	} else if (r->status == 200 && code == 0) {
		json_t *errs = json_object_get(json_object_get(j, "data"), "errors");
		((struct tt *)c->priv)->gen_ok = 1;
		if (json_array_size(errs)) {
			partial(b, errs);
		} else {
			for (size_t i = 0; i < b->n; i++) {
				struct corr *k = b->w[i]->k;
				b->w[i]->state = W_DONE;
				k->status = CS_APPLIED;
				k->error[0] = '\0';
				k->has_after = 1;
				k->after = k->to;
			}
		}
	} else if (r->status == 200 && !j) {
		/* answered, but not in a shape we know: may have been applied */
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RECHECK;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "%s: not JSON", m.s);
		}
	} else if (auth_refused(r, code) && ((struct tt *)c->priv)->rt_path) {
		/* a refused call applied nothing: again after a re-read, if a new token helps */
		b->auth_failed = 1;
		snprintf(b->msg, sizeof b->msg, "%s", m.s);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_RETRY;
			snprintf(b->w[i]->k->error, sizeof b->w[i]->k->error, "not written: %.230s", m.s);
		}
	} else {
		b->auth_failed = auth_refused(r, code);
		snprintf(b->msg, sizeof b->msg, "%s", m.s);
		for (size_t i = 0; i < b->n; i++) {
			b->w[i]->state = W_DONE;
			corr_fail(b->w[i]->k, CS_FAILED, "not written: %.230s", m.s);
		}
	}
	json_decref(j);
	buf_release(&m);
}

static void
batch_submit(struct chan *c, struct batch *b)
{
	json_t *skus = json_array(), *cur = NULL;
	const char *cursid = NULL;

	b->c = c;
	snprintf(b->path, sizeof b->path, "/product/202309/products/%s/inventory/update", b->w[0]->pid);
	for (size_t i = 0; i < b->n; i++) {
		struct wr *w = b->w[i];
		if (!cursid || strcmp(cursid, w->sid)) {
			cur = json_array();
			json_array_append_new(skus, json_pack("{s:s, s:o}", "id", w->sid, "inventory", cur));
			cursid = w->sid;
		}
		json_array_append_new(cur, json_pack("{s:s, s:I}", "warehouse_id", w->k->location,
		    "quantity", (json_int_t)w->k->to));
	}
	json_t *body = json_pack("{s:o}", "skus", skus);
	char *s = json_dumps(body, JSON_COMPACT);
	req_prepare(c, &b->r, b->path, NULL, 0, s);
	free(s);
	json_decref(body);
	b->r.idempotent = 0;	/* no idempotency key: never re-sent after a lost answer */
	b->r.no_retry = 1;	/* nor after a 429: read again first */
	b->r.done = batch_done;
	b->r.arg = b;
	b->gen = ((struct tt *)c->priv)->gen;
	http_submit(c->http, &b->r);
}

static int
wr_cmp(const void *a, const void *b)
{
	const struct wr *x = *(struct wr *const *)a, *y = *(struct wr *const *)b;
	int d = id_cmp(x->pid, y->pid);
	if (!d)
		d = id_cmp(x->sid, y->sid);
	return d ? d : id_cmp(x->k->location, y->k->location);
}

/*
 * One round: read the pending corrections, plan, send one request per
 * product, settle the answers (reading back what is unclear).  What goes
 * again is left in pend; *wait is the longest Retry-After asked for.
 */
static int
push_round(struct chan *c, struct corr **pend, size_t *npend, double *wait, struct buf *err)
{
	size_t n = *npend, nw = 0, nret = 0, nb = 0;
	struct wr *all = xcalloc(n ? n : 1, sizeof *all);
	struct wr **ws = xcalloc(n ? n : 1, sizeof *ws);
	struct batch *bs = NULL;
	int rc;

	*wait = -1;
	rc = tt_read(c, pend, n, err);
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
		parse_item(k->item, t->pid, t->sid);
		if (k->has_current && k->current == k->to) {
			k->status = CS_UNCHANGED;
			k->error[0] = '\0';
		} else if (k->has_from && !k->has_current) {
			corr_fail(k, CS_FAILED, "not written: no inventory record for SKU %.40s at "
			    "warehouse %.40s (gone since it was read)", t->sid, k->location);
		} else if (!k->has_from && k->has_current) {
			corr_fail(k, CS_CONFLICT, "a record appeared since it was read: %lld now (not "
			    "written)", (long long)k->current);
		} else if (k->has_from && k->current != k->from) {
			corr_fail(k, CS_CONFLICT, "moved since it was read: %lld then, %lld now (not "
			    "written: TikTok Shop has no compare-and-set)", (long long)k->from,
			    (long long)k->current);
		} else {
			t->had = k->has_current;
			t->pre = k->current;
			t->state = W_SENT;
			ws[nw++] = t;
		}
	}
	/* one SKU and warehouse twice would be written twice: refuse the later ones */
	if (nw > 1)
		qsort(ws, nw, sizeof *ws, wr_cmp);
	size_t m = 0;
	for (size_t i = 0; i < nw; i++) {
		if (m && !wr_cmp(&ws[m - 1], &ws[i])) {
			ws[i]->state = W_DONE;
			corr_fail(ws[i]->k, CS_FAILED, "not written: another correction for item %.60s at "
			    "warehouse %.40s is in the same batch", ws[i]->k->item, ws[i]->k->location);
			continue;
		}
		ws[m++] = ws[i];
	}
	nw = m;
	if (nw && (rc = token_ensure(c, err)) != 0) {
		for (size_t i = 0; i < nw; i++)
			corr_fail(ws[i]->k, CS_FAILED, "not written: %.230s", err->s);
		*npend = 0;
		goto out;
	}
	bs = xcalloc(nw ? nw : 1, sizeof *bs);
	for (size_t i = 0; i < nw; i++) {
		if (nb && !strcmp(bs[nb - 1].w[0]->pid, ws[i]->pid)) {
			bs[nb - 1].n++;
			continue;
		}
		bs[nb].w = &ws[i];
		bs[nb].n = 1;
		nb++;
	}
	for (size_t i = 0; i < nb; i++)
		batch_submit(c, &bs[i]);
	if (nb)
		http_run(c->http);
	/* answers lost or partial: what does the platform show now? */
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
		if (tt_read(c, unk, nunk, &e)) {
			for (size_t i = 0; i < nunk; i++)
				corr_fail(unk[i], CS_FAILED, "unknown outcome: %s, and the re-read failed: "
				    "%.150s", unkw[i]->state == W_UNKNOWN ? "the answer was lost" :
				    "the answer named other SKUs", e.s);
		} else {
			for (size_t i = 0; i < nunk; i++) {
				struct corr *k = unk[i];
				struct wr *t = unkw[i];
				if (k->has_current && k->current == k->to) {
					k->status = CS_APPLIED;
					k->error[0] = '\0';
					k->has_after = 1;
					k->after = k->to;
					t->state = W_DONE;
				} else if (t->had ? k->has_current && k->current == t->pre : !k->has_current) {
					snprintf(k->error, sizeof k->error, "not applied: %s",
					    t->state == W_UNKNOWN ? "the answer was lost" : "the answer "
					    "named other SKUs");
					t->state = W_RETRY;	/* not applied: again, after a re-read */
				} else if (k->has_current) {
					corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if "
					    "applied; not sent again)", (long long)k->current,
					    (long long)k->to);
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
	for (size_t i = 0; i < nb; i++)
		if (bs[i].r.status == 429) {
			slow_down(c);
			break;
		}
	/* refused in refresh mode: a new token, once, and the refused writes go again */
	int renew = 0;
	for (size_t i = 0; i < nb; i++) {
		if (!bs[i].auth_failed || !((struct tt *)c->priv)->rt_path)
			continue;
		if (!renew)
			renew = token_renew(c, bs[i].gen, err);
		if (renew == 0) {
			*wait = 0;
			continue;
		}
		for (size_t k = 0; k < bs[i].n; k++)
			if (bs[i].w[k]->state == W_RETRY) {
				bs[i].w[k]->state = W_DONE;
				corr_fail(bs[i].w[k]->k, CS_FAILED, "not written: %.230s", renew > 0 ?
				    err->s : bs[i].msg);
			}
		if (!rc && renew > 0) {
			rc = renew;
		} else if (!rc) {
			rc = EX_NOPERM;
			buf_reset(err);
			buf_adds(err, bs[i].msg);
		}
	}
	for (size_t i = 0; i < nb; i++) {
		if (bs[i].auth_failed && !rc && !((struct tt *)c->priv)->rt_path) {
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
	free(bs);
	free(ws);
	free(all);
	return rc;
}

/* Corrections by product, so that a wave holds whole products. */
static int
pend_cmp(const void *a, const void *b)
{
	const struct corr *x = *(struct corr *const *)a, *y = *(struct corr *const *)b;
	size_t lx = strcspn(x->item, "/"), ly = strcspn(y->item, "/");
	int d = lx != ly ? (lx < ly ? -1 : 1) : strncmp(x->item, y->item, lx);
	return d ? d : (x < y ? -1 : x > y);
}

static int
same_product(const struct corr *x, const struct corr *y)
{
	size_t lx = strcspn(x->item, "/");
	return lx == strcspn(y->item, "/") && !strncmp(x->item, y->item, lx);
}

static int
tt_push(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err)
{
	struct corr **pend = xcalloc(n ? n : 1, sizeof *pend);
	char pid[ID_MAX], sid[ID_MAX];
	size_t np = 0;
	int rc = 0;

	(void)run;	/* TikTok keeps no reason or reference for a change */
	for (size_t i = 0; i < n; i++) {
		struct corr *k = v[i];
		k->status = CS_PENDING;
		k->error[0] = '\0';
		k->has_after = 0;
		if (parse_item(k->item, pid, sid) < 0)
			corr_fail(k, CS_FAILED, "not written: '%.60s' is not a TikTok Shop item "
			    "(<product_id>/<sku_id>)", k->item ? k->item : "");
		else if (parse_loc(k->location) < 0)
			corr_fail(k, CS_FAILED, "not written: location '%.40s' is not a TikTok Shop "
			    "warehouse id", k->location ? k->location : "");
		else if (k->to < 0 || k->to > QTY_MAX)
			corr_fail(k, CS_FAILED, "not written: TikTok Shop takes quantities 0 to %d, "
			    "not %lld", QTY_MAX, (long long)k->to);
		else
			pend[np++] = k;
	}
	/* by product (ties by address: any order within a product will do) */
	if (np > 1)
		qsort(pend, np, sizeof *pend, pend_cmp);
	for (size_t off = 0, cnt; off < np && !rc; off += cnt) {
		/* a wave: the corrections of at most WAVE products */
		size_t prods = 0;
		for (cnt = 0; off + cnt < np; cnt++)
			if ((!cnt || !same_product(pend[off + cnt - 1], pend[off + cnt])) && ++prods > WAVE)
				break;
		struct corr **p = pend + off;
		size_t todo = cnt;
		rc = push_rounds(c, p, todo, MAX_ROUNDS, push_round, err);
	}
	corr_fail_pending(v, n, rc, err);
	free(pend);
	return rc;
}

/* ---- open and close ---- */

/* url without its trailing '/', and its path (for messages) in *path. */
static char *
url_trim(const char *url, char **path)
{
	size_t bl = strlen(url);
	while (bl && url[bl - 1] == '/')
		bl--;
	char *u = xstrndup(url, bl);
	const char *hp = strstr(u, "://");
	hp = hp ? strchr(hp + 3, '/') : NULL;
	*path = xstrdup(hp ? hp : "");
	return u;
}

/* The settings both modes share (checked by the caller). */
static struct tt *
tt_new(const struct chan_cfg *cc)
{
	struct tt *t = xcalloc(1, sizeof *t);
	t->base = url_trim(chan_get(cc, "base_url"), &t->basepath);
	t->app_key = xstrdup(chan_get(cc, "app_key"));
	t->cipher = xstrdup(chan_get(cc, "shop_cipher"));
	return t;
}

/*
 * Refresh mode: token_file (or the environment) holds the app secret alone;
 * the refresh token is in refresh_token_file, which must be ours alone (0600)
 * in a folder we can write (a rotated refresh token is saved there).  No
 * request yet: the first call fetches the access token.
 */
static int
open_refresh(struct chan *c, struct buf *sec, const char *rtf, double rate, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *path = c->cfg->path ? c->cfg->path : "config";
	const char *auth = chan_get(cc, "auth_url");
	struct stat st;
	int rc = 0;

	if (memchr(sec->s, ':', sec->len) || !cred_ok(sec->s, sec->len)) {
		buf_addf(err, "%s: [%s]: with refresh_token_file = the secret is the app secret alone, "
		    "on one line", path, c->name);
		rc = EX_CONFIG;
	} else if (!*rtf) {
		buf_addf(err, "%s:%d: [%s]: refresh_token_file = names no file", path, cc->line, c->name);
		rc = EX_CONFIG;
	} else if (auth && strncmp(auth, "https://", 8) && strncmp(auth, "http://", 7)) {
		buf_addf(err, "%s:%d: [%s]: auth_url = must be an http(s) address (%s)", path, cc->line,
		    c->name, AUTH_DEFAULT);
		rc = EX_CONFIG;
	} else if (stat(rtf, &st) < 0) {
		buf_addf(err, "%s: [%s]: refresh_token_file %s: %s", path, c->name, rtf, strerror(errno));
		rc = EX_CONFIG;
	} else if (st.st_mode & 077) {
		buf_addf(err, "%s: [%s]: refresh_token_file %s is readable by others (mode %03o); chmod "
		    "600 it", path, c->name, rtf, (unsigned)(st.st_mode & 0777));
		rc = EX_CONFIG;
	} else {
		const char *slash = strrchr(rtf, '/');
		char *dir = slash ? xstrndup(rtf, (size_t)(slash - rtf) + 1) : xstrdup(".");
		if (access(rtf, R_OK | W_OK) < 0 || access(dir, W_OK | X_OK) < 0) {
			buf_addf(err, "%s: [%s]: refresh_token_file %s and its folder must be writable (a "
			    "new refresh token is saved there): %s", path, c->name, rtf, strerror(errno));
			rc = EX_CONFIG;
		}
		free(dir);
	}
	if (rc) {
		explicit_bzero(sec->s, sec->len);
		buf_release(sec);
		return rc;
	}
	struct tt *t = tt_new(cc);
	t->secret = xstrndup(sec->s, sec->len);
	explicit_bzero(sec->s, sec->len);
	buf_release(sec);
	t->rt_path = xstrdup(rtf);
	t->auth_base = url_trim(auth && *auth ? auth : AUTH_DEFAULT, &t->auth_path);
	t->rate = rate;
	http_bucket(c->http, 1, 1, t->rate);	/* evenly spaced, no burst */
	c->priv = t;
	return 0;
}

static int
tt_open(struct chan *c, struct buf *err)
{
	const struct chan_cfg *cc = c->cc;
	const char *base = chan_get(cc, "base_url");
	const char *key = chan_get(cc, "app_key"), *cipher = chan_get(cc, "shop_cipher");
	const char *path = c->cfg->path ? c->cfg->path : "config";
	struct buf sec = BUF_INIT, e = BUF_INIT;
	long long rate;

	if (!base || !*base || !c->http) {
		buf_addf(err, "%s:%d: [%s]: base_url = is required "
		    "(https://open-api.tiktokglobalshop.com)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_get_int(c->cfg, cc, "rate_limit", RATE_DEFAULT, 1, 1000, &rate, err) < 0)
		return EX_CONFIG;
	if (!key || !cred_ok(key, strlen(key))) {
		buf_addf(err, "%s:%d: [%s]: app_key = is required (the app's key, Partner Center, App "
		    "and service)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (!cipher || !cred_ok(cipher, strlen(cipher))) {
		buf_addf(err, "%s:%d: [%s]: shop_cipher = is required (the cipher of the shop, from "
		    "Get Authorized Shops)", path, cc->line, c->name);
		return EX_CONFIG;
	}
	if (chan_secret(c->cfg, cc, &sec, &e) < 0) {
		buf_add(err, e.s, e.len);
		buf_release(&e);
		return EX_CONFIG;
	}
	buf_release(&e);
	const char *rtf = chan_get(cc, "refresh_token_file");
	if (rtf)
		return open_refresh(c, &sec, rtf, (double)rate, err);
	const char *colon = memchr(sec.s, ':', sec.len);
	if (!colon || !cred_ok(sec.s, (size_t)(colon - sec.s)) ||
	    !cred_ok(colon + 1, sec.len - (size_t)(colon - sec.s) - 1)) {
		buf_addf(err, "%s: [%s]: the secret must be app_secret:access_token, on one line", path,
		    c->name);
		explicit_bzero(sec.s, sec.len);
		buf_release(&sec);
		return EX_CONFIG;
	}
	struct tt *t = tt_new(cc);
	t->secret = xstrndup(sec.s, (size_t)(colon - sec.s));
	t->token = xstrdup(colon + 1);
	struct buf h = BUF_INIT;
	buf_adds(&h, "x-tts-access-token: ");
	buf_adds(&h, t->token);
	t->authz = h.s;
	explicit_bzero(sec.s, sec.len);
	buf_release(&sec);
	t->rate = (double)rate;
	http_bucket(c->http, 1, 1, t->rate);	/* evenly spaced, no burst */
	c->priv = t;
	return 0;
}

static void
tt_close(struct chan *c)
{
	struct tt *t = c->priv;
	if (!t)
		return;
	free(t->base);
	free(t->basepath);
	free(t->app_key);
	free(t->cipher);
	free_secret(t->secret);
	free_secret(t->token);
	free_secret(t->authz);
	free_secret(t->rtoken);
	free(t->rt_path);
	free(t->auth_base);
	free(t->auth_path);
	free(t);
	c->priv = NULL;
}

const struct driver drv_tiktok = {
	.type = "tiktok",
	.max_batch = BATCH_MAX,
	.open = tt_open,
	.pull = tt_pull,
	.read = tt_read,
	.push = tt_push,
	.close = tt_close,
};
