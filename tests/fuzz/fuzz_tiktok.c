/*
 * fuzz_tiktok.c - the TikTok Shop driver's handling of Partner API
 * answers: products/search pages (cursor tokens, total_count, ids as
 * strings or numbers), inventory/search answers, inventory/update answers
 * with and without data.errors (per SKU and per warehouse), the envelope
 * {code, message, data} with HTTP errors, 429/503 and lost answers.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull with --item (or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the app secret and the access token
 * appear in no URL, body, message or result even when the server echoes
 * them; every request is signed as TikTok checks it (tts_sign over its
 * path, query and body); a pulled record is "<product_id>/<sku_id>" at a
 * numeric warehouse, state available, once per (item, location).  After
 * read, a quantity is set exactly when the answer showed one, and it is
 * that one.  After push every correction is decided and those the driver
 * must refuse are refused; every update (not idempotent, never re-sent by
 * the transport) names one product, holds only corrections of that
 * product, each SKU and warehouse once, set to exactly `to`, and is sent
 * only after an inventory/search (since that SKU's last update) whose
 * answer showed `from` (no record when `from` is null): TikTok Shop has no
 * compare-and-set, so this is what keeps a sale and what keeps a lost
 * update from being sent again blindly.  Applied only when an update
 * answer said so (code 0, no errors) or a later read showed `to`;
 * unchanged only when a read showed `to`.  Waits are bounded and few.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "tt_fuzz_s3cret_9b9b"
#define ATOKEN "TTP_fuzz_acc3ss_4d4d"

int tts_sign(const char *secret, const char *path, const char *const *kv, size_t n,
    const char *body, size_t blen, char *out, size_t outlen);

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_tt.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[tt]\ntype = tiktok\nbase_url = http://127.0.0.1:9/\napp_key = 6abc\n"
	    "shop_cipher = ROW_fuzz+cipher/1\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_TT", SECRET ":" ATOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
secret_in(const char *s)
{
	return fz_contains(s, SECRET) || fz_contains(s, ATOKEN);
}

/* ---- pull ---- */

static const char *const filt_items[] = { "1001/2001", "1002/2003", "x" };
static const char *const filt_skus[] = { "T-1", "T-4" };

struct pulled_ctx {
	char **seen;
	size_t n;
};

static int
digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	const char *slash = p->item ? strchr(p->item, '/') : NULL;
	CHECK(slash && digits(p->item, (size_t)(slash - p->item)) && digits(slash + 1, strlen(slash + 1)));
	CHECK(p->sku && p->location && digits(p->location, strlen(p->location)));
	CHECK(p->state && !strcmp(p->state, "available"));
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);	/* one record per SKU and warehouse */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "T-1", "1001/2001", "7001", 1, 5, 3, -2, -1 },
	{ "T-2", "1001/2002", "7001", 1, 3, 5, 2, -1 },
	{ "T-3", "1002/2003", "7001", 1, 3, 3, 0, -1 },
	{ "T-4", "1002/2004", "7002", 0, 0, 4, 4, -1 },
	{ "T-5", "T-5", "7001", 1, 1, 2, 1, CS_FAILED },
	{ "T-1", "1001/2001", "7001", 1, 5, 6, 1, -1 },
	{ "T-6", "1003/2006", "wh-1", 1, 1, 2, 1, CS_FAILED },
	{ "T-7", "1003/2007", "7001", 1, 2, 100000, 99998, CS_FAILED },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* A TikTok id as the driver reads it, into out; 0 when it is none. */
static int
id_of(json_t *v, char *out, size_t outlen)
{
	const char *s = json_string_value(v);
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
		return 1;
	}
	if (!s || !*s || strlen(s) >= outlen || !digits(s, strlen(s)))
		return 0;
	snprintf(out, outlen, "%s", s);
	return 1;
}

static int
path_is(size_t i, const char *p)
{
	const char *u = strstr(fz.sent[i].url, "127.0.0.1:9");
	return u && !strncmp(u + 11, p, strlen(p)) && u[11 + strlen(p)] == '?';
}

static int
is_read(size_t i)
{
	return path_is(i, "/product/202309/inventory/search");
}

/* The product id of update i into pid, or 0 when i is no update. */
static int
update_of(size_t i, char *pid, size_t n)
{
	const char *pre = "127.0.0.1:9/product/202309/products/", *u = strstr(fz.sent[i].url, pre);
	if (!u)
		return 0;
	u += strlen(pre);
	size_t k = strcspn(u, "/");
	if (strncmp(u + k, "/inventory/update?", 18) || k >= n)
		return 0;
	snprintf(pid, n, "%.*s", (int)k, u);
	return 1;
}

/* The envelope's data of answer i when it is a code 0 answer (new reference), else NULL. */
static json_t *
data_of(size_t i)
{
	if (fz.sent[i].status != 200 || fz.sent[i].ambiguous)
		return NULL;
	json_t *a = fz_answer_json(i), *d = json_object_get(a, "data"), *cv = json_object_get(a, "code");
	if (!json_is_integer(cv) || json_integer_value(cv) != 0 || !json_is_object(d)) {
		json_decref(a);
		return NULL;
	}
	json_incref(d);
	json_decref(a);
	return d;
}

/*
 * What the answer to inventory/search i shows at (pid, sid, wh): -1 not a
 * usable answer, else the number of entries there; *q is set to `want`
 * when one of them shows it, else to the first.
 */
static int
shows(size_t i, const char *pid, const char *sid, const char *wh, int64_t want, int64_t *q)
{
	json_t *d = is_read(i) ? data_of(i) : NULL, *p, *s, *e;
	size_t a, b, c;
	char x[40];
	int n = 0;
	if (!d)
		return -1;
	json_array_foreach(json_object_get(d, "inventory"), a, p) {
		if (!id_of(json_object_get(p, "product_id"), x, sizeof x) || strcmp(x, pid))
			continue;
		json_array_foreach(json_object_get(p, "skus"), b, s) {
			if (!id_of(json_object_get(s, "id"), x, sizeof x) || strcmp(x, sid))
				continue;
			json_array_foreach(json_object_get(s, "warehouse_inventory"), c, e) {
				json_t *aq = json_object_get(e, "available_quantity");
				if (!id_of(json_object_get(e, "warehouse_id"), x, sizeof x) || strcmp(x, wh) ||
				    !json_is_integer(aq))
					continue;
				if (!n++ || json_integer_value(aq) == want)
					*q = json_integer_value(aq);
			}
		}
	}
	json_decref(d);
	return n;
}

/* The quantity update i sets at (sid, wh), or -1 when it does not name them. */
static int64_t
update_sets(size_t i, const char *sid, const char *wh)
{
	json_t *b = json_loadb(fz.sent[i].body, fz.sent[i].bodylen, 0, NULL), *s, *e;
	size_t a, c;
	int64_t q = -1;
	json_array_foreach(json_object_get(b, "skus"), a, s) {
		if (strcmp(json_string_value(json_object_get(s, "id")), sid))
			continue;
		json_array_foreach(json_object_get(s, "inventory"), c, e)
			if (!strcmp(json_string_value(json_object_get(e, "warehouse_id")), wh))
				q = json_integer_value(json_object_get(e, "quantity"));
	}
	json_decref(b);
	return q;
}

static int
pct(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The request carries app_key, shop_cipher, timestamp and a right sign. */
static void
check_sign(const struct fz_sent *e)
{
	const char *u = strstr(e->url, "127.0.0.1:9") + 11, *q = strchr(u, '?');
	char *kv[16], path[256], sign[80] = "", want[80];
	size_t n = 0;
	int app = 0, cipher = 0, ts = 0;
	CHECK(q && (size_t)(q - u) < sizeof path);
	snprintf(path, sizeof path, "%.*s", (int)(q - u), u);
	for (const char *p = q + 1; *p;) {
		size_t l = strcspn(p, "&"), eq = strcspn(p, "=");
		CHECK(eq < l && n < 16);
		char *k = xstrndup(p, eq), *v = xcalloc(1, l - eq);
		size_t m = 0;
		for (size_t j = eq + 1; j < l; j++) {
			if (p[j] == '%') {
				CHECK(j + 2 < l && pct(p[j + 1]) >= 0 && pct(p[j + 2]) >= 0);
				v[m++] = (char)(pct(p[j + 1]) * 16 + pct(p[j + 2]));
				j += 2;
			} else {
				v[m++] = p[j];
			}
		}
		if (!strcmp(k, "sign")) {
			snprintf(sign, sizeof sign, "%s", v);
			free(k);
			free(v);
		} else {
			app |= !strcmp(k, "app_key") && !strcmp(v, "6abc");
			cipher |= !strcmp(k, "shop_cipher") && !strcmp(v, "ROW_fuzz+cipher/1");
			ts |= !strcmp(k, "timestamp") && digits(v, strlen(v));
			kv[n++] = k;
			kv[n++] = v;
		}
		p += l + (p[l] == '&');
	}
	CHECK(app && cipher && ts);
	CHECK(tts_sign(SECRET, path, (const char *const *)kv, n / 2, e->body, e->bodylen, want,
	    sizeof want) == 0);
	CHECK(!strcmp(sign, want));
	for (size_t i = 0; i < n; i++)
		free(kv[i]);
}

static void
check_requests(const struct corr *cs, size_t n)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		char pid[40];
		/* the page_token is the server's: it may echo anything */
		char *u = xstrdup(e->url), *pt = strstr(u, "&page_token=");
		if (pt) {
			size_t l = strcspn(pt + 1, "&") + 1;	/* the parameter, up to the next */
			memmove(pt, pt + l, strlen(pt + l) + 1);
		}
		CHECK(!secret_in(u) && !secret_in(e->body));
		free(u);
		CHECK(!strcmp(e->method, "POST") && e->cost == 1);
		check_sign(e);
		if (path_is(i, "/product/202309/products/search") || is_read(i)) {
			CHECK(e->idempotent);
			continue;
		}
		CHECK(update_of(i, pid, sizeof pid) && !e->idempotent && e->no_retry);
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL), *s, *w;
		size_t k, m, nent = 0;
		CHECK(json_array_size(json_object_get(b, "skus")) >= 1);
		json_array_foreach(json_object_get(b, "skus"), k, s) {
			const char *sid = json_string_value(json_object_get(s, "id"));
			CHECK(sid && json_array_size(json_object_get(s, "inventory")) >= 1);
			json_array_foreach(json_object_get(s, "inventory"), m, w) {
				const char *wh = json_string_value(json_object_get(w, "warehouse_id"));
				json_t *q = json_object_get(w, "quantity");
				CHECK(wh && json_is_integer(q));
				CHECK(json_integer_value(q) >= 0 && json_integer_value(q) <= 99998);
				nent++;
				/* since its last update: read, showing what the correction expects */
				size_t last = 0;
				for (size_t j = 0; j < i; j++) {
					char p2[40];
					if (update_of(j, p2, sizeof p2) && !strcmp(p2, pid) &&
					    update_sets(j, sid, wh) >= 0)
						last = j + 1;
				}
				int ok = 0;
				for (size_t c = 0; c < n; c++) {
					char item[100];
					snprintf(item, sizeof item, "%s/%s", pid, sid);
					if (strcmp(cs[c].item, item) || strcmp(cs[c].location, wh) ||
					    cs[c].to != json_integer_value(q))
						continue;
					/* the read just before, since the last update, showed `from` (or none) */
					size_t j = i;
					while (j-- > last && !is_read(j))
						;
					int64_t cur = 0;
					int l = j + 1 > last && j < i ? shows(j, pid, sid, wh, cs[c].from, &cur) : -1;
					ok |= cs[c].has_from ? l > 0 && cur == cs[c].from : l == 0;
				}
				CHECK(ok);
			}
		}
		/* each SKU and warehouse once */
		json_array_foreach(json_object_get(b, "skus"), k, s) {
			const char *sid = json_string_value(json_object_get(s, "id"));
			json_array_foreach(json_object_get(s, "inventory"), m, w) {
				size_t same = 0, k2, m2;
				json_t *s2, *w2;
				json_array_foreach(json_object_get(b, "skus"), k2, s2)
					json_array_foreach(json_object_get(s2, "inventory"), m2, w2)
						same += !strcmp(json_string_value(json_object_get(s2, "id")), sid) &&
						    json_equal(json_object_get(w, "warehouse_id"),
						    json_object_get(w2, "warehouse_id"));
				CHECK(same == 1);
			}
		}
		CHECK(nent >= 1);
		json_decref(b);
	}
}

/* Applied or unchanged only on the word of an answer. */
static void
check_confirmed(const struct corr *k)
{
	char pid[40], sid[40];
	const char *slash = strchr(k->item, '/');
	int ok = 0, written = 0;
	snprintf(pid, sizeof pid, "%.*s", (int)(slash - k->item), k->item);
	snprintf(sid, sizeof sid, "%s", slash + 1);
	for (size_t i = 0; i < fz.nsent && !ok; i++) {
		char p2[40];
		int64_t q = 0;
		if (is_read(i) && (k->status == CS_UNCHANGED || written))
			ok = shows(i, pid, sid, k->location, k->to, &q) > 0 && q == k->to;
		if (update_of(i, p2, sizeof p2) && !strcmp(p2, pid) &&
		    update_sets(i, sid, k->location) == k->to) {
			written = 1;
			if (k->status != CS_APPLIED || fz.sent[i].status != 200 || fz.sent[i].ambiguous)
				continue;
			json_t *a = fz_answer_json(i), *cv = json_object_get(a, "code");
			ok = json_is_integer(cv) && json_integer_value(cv) == 0 &&
			    json_array_size(json_object_get(json_object_get(a, "data"), "errors")) == 0;
			json_decref(a);
		}
	}
	CHECK(ok);
	if (k->status == CS_APPLIED)
		CHECK(k->has_after && k->after == k->to);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct buf err = BUF_INIT;
	int code = -1;
	struct corr cs[8], *v[8];
	size_t ncorr = 0;

	if (!inited) {
		setup();
		inited = 1;
	}
	if (size < 1)
		return 0;
	unsigned ctl = data[0];
	int op = ctl & 3;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, "tt", 0, &err, &code);
	CHECK(c != NULL && code == 0);

	int rc;
	memset(cs, 0, sizeof cs);
	if (op <= 1) {
		struct pull_opts o = { 0 };
		if (op == 1 && (ctl & 0x40)) {
			o.skus = (const char **)filt_skus;
			o.nskus = 2;
		} else if (op == 1) {
			o.items = (const char **)filt_items;
			o.nitems = 3;
		}
		struct pulled_ctx x = { NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
		for (size_t i = 0; i < fz.nsent; i++)
			CHECK(path_is(i, "/product/202309/products/search"));
	} else {
		ncorr = 1 + ((ctl >> 3) & 7);
		for (size_t i = 0; i < ncorr; i++) {
			const struct fixed *f = &fixed[i];
			cs[i].sku = f->sku;
			cs[i].item = f->item;
			cs[i].location = f->loc;
			cs[i].reason = "sync";
			cs[i].has_from = f->has_from;
			cs[i].from = f->from;
			cs[i].to = f->to;
			cs[i].delta = f->delta;
			corr_key(&cs[i], "fuzz-run");
			v[i] = &cs[i];
		}
		if (op == 2) {
			rc = c->drv->read(c, v, ncorr, &err);
			for (size_t i = 0; i < fz.nsent; i++)
				CHECK(is_read(i));
			for (size_t i = 0; i < ncorr && rc == 0; i++) {
				struct corr *k = &cs[i];
				const char *slash = strchr(k->item, '/');
				if (!slash || !digits(k->location, strlen(k->location))) {
					CHECK(!k->has_current);
					continue;
				}
				char pid[40], sid[40];
				int64_t q = 0;
				snprintf(pid, sizeof pid, "%.*s", (int)(slash - k->item), k->item);
				snprintf(sid, sizeof sid, "%s", slash + 1);
				int l = shows(fz.nsent - 1, pid, sid, k->location, k->current, &q);
				CHECK(l >= 0 && k->has_current == (l > 0));
				if (l > 0)
					CHECK(q == k->current);
			}
		} else {
			rc = c->drv->push(c, v, ncorr, "fuzz-run", &err);
			for (size_t i = 0; i < ncorr; i++) {
				struct corr *k = &cs[i];
				CHECK(final_status(k->status));
				if (k->status == CS_FAILED || k->status == CS_CONFLICT)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED || k->status == CS_UNCHANGED) {
					CHECK(k->error[0] == '\0');
					check_confirmed(k);
				}
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!secret_in(k->error));
			}
			/* one wave of at most 7 rounds, a wait between two */
			CHECK(fz.sleeps <= 6);
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!secret_in(err.s));
	if (getenv("FUZZ_SHOW")) {	/* to see what a seed does */
		fprintf(stderr, "rc %d, %zu requests, %u waits: %s\n", rc, fz.nsent, fz.sleeps,
		    err.s ? err.s : "");
		for (size_t i = 0; i < ncorr && op == 3; i++)
			fprintf(stderr, "  %s@%s: %s %s\n", cs[i].item, cs[i].location,
			    corr_status_names[cs[i].status], cs[i].error);
	}
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
