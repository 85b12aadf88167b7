/*
 * fuzz_jd.c - the JD driver's handling of JOS answers: searchSkuList pages
 * (page.data, totalItem), the re-reads before a write, updateSkuStock
 * answers, error_response bodies (Chinese words included), throttling
 * (code 2, 429) and HTTP failures (lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the app secret is never sent and
 * neither it nor the access token appears in a message or result, even
 * when the server echoes them; every call is a form POST to /routerjson
 * carrying a sign of 32 upper-case hex digits and a timestamp of the
 * "yyyy-MM-dd HH:mm:ss" shape; a pulled item is a skuId, comes once, has
 * location "" and passes the filters; after push every correction is
 * decided, those the driver must refuse are refused, an unchanged one had
 * no delta; every write sets exactly `to` for a correction with a known
 * `from` (DESIGN.md rule 3: re-read, absolute), is never re-sent by the
 * transport, and goes only after a read of its SKU since its last write.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "jd_fuzz_s3cret_9d9d"
#define TOKEN "jd_fuzz_t0ken_4e4e"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_jd.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[jd]\ntype = jd\nbase_url = http://127.0.0.1:9/jd/fz\napp_key = fzkey\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_JD", SECRET ":" TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
numeric(const char *s)
{
	if (*s < '1' || *s > '9')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Whether s[0..n) holds the bytes of needle. */
static int
has_bytes(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; k && i + k <= n; i++)
		if (!memcmp(s + i, needle, k))
			return 1;
	return 0;
}

/* The value of form field name in body, percent-decoded (malloc'd), or NULL. */
static char *
form_get(const char *body, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && body[e] != '&')
			e++;
		if (e - i > nl && !memcmp(body + i, name, nl) && body[i + nl] == '=') {
			char *out = xmalloc(e - i + 1), *o = out;
			for (size_t k = i + nl + 1; k < e; k++) {
				if (body[k] == '%' && k + 2 < e + 1 && k + 2 < n) {
					char h[3] = { body[k + 1], body[k + 2], 0 };
					*o++ = (char)strtol(h, NULL, 16);
					k += 2;
				} else {
					*o++ = body[k] == '+' ? ' ' : body[k];
				}
			}
			*o = '\0';
			return out;
		}
		i = e + 1;
	}
	return NULL;
}

/* ---- pull ---- */

static const char *const filt_items[] = { "1001", "1003", "x" };
static const char *const filt_skus[] = { "J-1", "J-2" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	CHECK(p->item && numeric(p->item));
	CHECK(p->sku && p->location && !p->location[0]);
	CHECK(p->state && !strcmp(p->state, "available"));
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], p->item) != 0);	/* one record per SKU */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(p->item);
	if (x->o->items) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nitems; i++)
			ok |= !strcmp(x->o->items[i], p->item);
		CHECK(ok);
	}
	if (x->o->skus) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nskus; i++)
			ok |= !strcmp(x->o->skus[i], p->sku);
		CHECK(ok);
	}
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "J-1", "1001", "", 1, 5, 3, -2, -1 },
	{ "J-2", "1002", "", 1, 3, 5, 2, -1 },
	{ "J-3", "1003", "", 1, 3, 3, 0, -1 },
	{ "J-4", "1004", "", 0, 0, 4, 4, -1 },
	{ "X", "x", "", 1, 1, 2, 1, CS_FAILED },
	{ "J-5", "1005", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "J-1", "1001", "", 1, 5, 6, 1, CS_FAILED },		/* the same SKU again */
	{ "J-6", "1006", "", 1, 2, 1000000000, 999999998, CS_FAILED },	/* over the limit */
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* SKUs read since they were last written. */
struct fresh {
	int64_t *v;
	size_t n;
};

static int
fresh_take(struct fresh *f, int64_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i] == id) {
			f->v[i] = f->v[--f->n];
			return 1;
		}
	return 0;
}

static void
check_requests(const struct corr *cs, size_t n)
{
	struct fresh fr = { NULL, 0 };
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!strcmp(e->method, "POST") && fz_contains(e->url, "/routerjson"));
		CHECK(!fz_contains(e->url, TOKEN) && !fz_contains(e->url, SECRET));
		CHECK(e->body && !has_bytes(e->body, e->bodylen, SECRET));
		char *m = form_get(e->body, e->bodylen, "method");
		char *pj = form_get(e->body, e->bodylen, "360buy_param_json");
		char *sign = form_get(e->body, e->bodylen, "sign");
		char *ts = form_get(e->body, e->bodylen, "timestamp");
		char *tok = form_get(e->body, e->bodylen, "access_token");
		CHECK(m && pj && sign && ts && tok && !strcmp(tok, TOKEN));
		CHECK(strlen(sign) == 32 && strspn(sign, "0123456789ABCDEF") == 32);
		CHECK(strlen(ts) == 19 && ts[4] == '-' && ts[7] == '-' && ts[10] == ' ' &&
		    ts[13] == ':' && ts[16] == ':');
		json_t *p = json_loads(pj, 0, NULL);
		CHECK(json_is_object(p));
		if (!strcmp(m, "jingdong.sku.read.searchSkuList")) {
			CHECK(e->idempotent);
			const char *ids = json_string_value(json_object_get(p, "skuId"));
			for (const char *q = ids; q && *q;) {
				char *end;
				int64_t id = strtoll(q, &end, 10);
				CHECK(end > q && (*end == ',' || !*end));
				fresh_take(&fr, id);
				fr.v = xrealloc(fr.v, (fr.n + 1) * sizeof *fr.v);
				fr.v[fr.n++] = id;
				q = *end ? end + 1 : end;
			}
		} else {
			CHECK(!strcmp(m, "jingdong.stock.write.updateSkuStock"));
			CHECK(!e->idempotent && e->no_retry);
			json_t *sid = json_object_get(p, "skuId"), *q = json_object_get(p, "stockNum");
			CHECK(json_is_integer(sid) && json_is_integer(q));
			const struct corr *c = NULL;
			for (size_t k = 0; k < n && !c; k++)
				if (numeric(cs[k].item) && !cs[k].location[0] &&
				    strtoll(cs[k].item, NULL, 10) == json_integer_value(sid))
					c = &cs[k];
			CHECK(c != NULL);		/* only what was asked for */
			CHECK(c->has_from);		/* a SKU with no record is never created */
			CHECK(json_integer_value(q) == c->to);
			CHECK(fresh_take(&fr, json_integer_value(sid)));	/* read since its last write */
		}
		json_decref(p);
		free(m);
		free(pj);
		free(sign);
		free(ts);
		free(tok);
	}
	free(fr.v);
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

	struct chan *c = chan_open(&cfg, "jd", 0, &err, &code);
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
		struct pulled_ctx x = { &o, NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
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
		} else {
			rc = c->drv->push(c, v, ncorr, "fuzz-run", &err);
			for (size_t i = 0; i < ncorr; i++) {
				struct corr *k = &cs[i];
				CHECK(final_status(k->status));
				if (k->status == CS_FAILED || k->status == CS_CONFLICT)
					CHECK(k->error[0] != '\0');
				if (k->status == CS_APPLIED)
					CHECK(k->error[0] == '\0' && k->has_from);
				if (k->status == CS_UNCHANGED)
					CHECK(k->delta == 0 || (k->has_current && k->current == k->to));
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!fz_contains(k->error, TOKEN) && !fz_contains(k->error, SECRET));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, TOKEN) && !fz_contains(err.s, SECRET));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
