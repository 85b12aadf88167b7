/*
 * fuzz_pinduoduo.c - the Pinduoduo driver's handling of the router's
 * answers: goods list pages (pdd.goods.list.get), SKU reads before a write
 * (pdd.goods.skus.get), stock update answers (pdd.goods.quantity.update),
 * error_response bodies (auth, throttle, business refusals in any bytes),
 * and HTTP failures (429, lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the client secret and access token
 * appear in no message, result or URL even when the server echoes them; a
 * pulled item is "G/S" in digits with location "", comes once and passes the
 * filters; after push every correction is decided, those the driver must
 * refuse are refused and never written, an unchanged one had no delta, and
 * every error is valid UTF-8 when the server's words were; every write is
 * update_type=2 by exactly `delta` of a correction with a known `from`
 * (DESIGN.md rule 1: a sale is never erased), signed, never re-sent by the
 * transport, and sent only after a read of its SKU since its last write.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "pdd_fuzz_s3cret_77"
#define TOKEN "pdd_fuzz_t0ken_5a5a"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_pdd.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[pdd]\ntype = pinduoduo\nbase_url = http://127.0.0.1:9/api/router\n"
	    "client_id = fuzz_client\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_PDD", SECRET ":" TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* "G/S", both decimal digits. */
static int
item_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	return slash && digits(s, (size_t)(slash - s)) && digits(slash + 1, strlen(slash + 1));
}

/* The value of name in a form body (as sent: ids and numbers need no decoding), or "". */
static void
form_get(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end - i > nl && !memcmp(body + i, name, nl) && body[i + nl] == '=') {
			snprintf(out, outlen, "%.*s", (int)(end - i - nl - 1), body + i + nl + 1);
			return;
		}
		i = end + 1;
	}
}

/* Well-formed UTF-8 (no overlong forms checked: enough to catch a cut character). */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 :
		    (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0)
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

/* ---- pull ---- */

static const char *const filt_items[] = { "10/110", "20/210", "x" };
static const char *const filt_skus[] = { "S-1", "S-2" };

struct pulled_ctx {
	const struct pull_opts *o;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	CHECK(p->item && item_ok(p->item));
	CHECK(p->sku && p->location && !strcmp(p->location, ""));
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

#define NOT_APPLIED 100	/* conflict or failed, never written */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "S-1", "10/110", "", 1, 5, 3, -2, -1 },
	{ "S-2", "20/210", "", 1, 3, 5, 2, -1 },
	{ "S-3", "11/111", "", 1, 3, 3, 0, -1 },
	{ "S-4", "12/112", "", 0, 0, 4, 4, NOT_APPLIED },
	{ "X", "x", "", 1, 1, 2, 1, CS_FAILED },
	{ "S-5", "13/113", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "S-1", "10/110", "", 1, 5, 6, 1, -1 },
	{ "S-6", "14/114", "", 1, 2, 9000000000000000002LL, 9000000000000000000LL, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/*
 * The requests sent: the secret nowhere in a URL, the token only in bodies;
 * every write a delta of a correction with a known from, by exactly its
 * delta, after a read of its SKU since its last write.
 */
static void
check_requests(const struct corr *cs, size_t n)
{
	char fresh[64][48];	/* "G/S" read since last written */
	size_t nfresh = 0;
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		char type[64], gid[32], sid[32], q[32], ut[8], item[72], sign[40];
		CHECK(!fz_contains(e->url, SECRET) && !fz_contains(e->url, TOKEN));
		CHECK(!strcmp(e->method, "POST") && strstr(e->url, "/api/router"));
		CHECK(!fz_contains(e->body, SECRET));
		form_get(e->body, e->bodylen, "type", type, sizeof type);
		form_get(e->body, e->bodylen, "sign", sign, sizeof sign);
		CHECK(strlen(sign) == 32 && strspn(sign, "0123456789ABCDEF") == 32);
		form_get(e->body, e->bodylen, "goods_id", gid, sizeof gid);
		form_get(e->body, e->bodylen, "sku_id", sid, sizeof sid);
		snprintf(item, sizeof item, "%s/%s", gid, sid);
		if (!strcmp(type, "pdd.goods.list.get")) {
			CHECK(e->idempotent);
			continue;
		}
		if (!strcmp(type, "pdd.goods.skus.get")) {
			CHECK(e->idempotent && item_ok(item));
			if (nfresh < 64)
				snprintf(fresh[nfresh++], sizeof fresh[0], "%s", item);
			continue;
		}
		CHECK(!strcmp(type, "pdd.goods.quantity.update"));
		CHECK(!e->idempotent && e->no_retry);
		form_get(e->body, e->bodylen, "quantity", q, sizeof q);
		form_get(e->body, e->bodylen, "update_type", ut, sizeof ut);
		CHECK(!strcmp(ut, "2"));
		int found = 0;
		for (size_t c = 0; c < n && !found; c++)
			if (cs[c].item && !strcmp(cs[c].item, item) && cs[c].has_from &&
			    strtoll(q, NULL, 10) == cs[c].delta && cs[c].delta != 0)
				found = 1;
		CHECK(found);	/* only what was asked for, by its delta */
		found = 0;
		for (size_t f = 0; f < nfresh && !found; f++)
			if (!strcmp(fresh[f], item)) {
				found = 1;
				memmove(fresh[f], fresh[nfresh - 1], sizeof fresh[0]);
				nfresh--;
			}
		CHECK(found);	/* read since its last write */
	}
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
	/* the server's words were valid UTF-8: so must ours be */
	char *script = xstrndup((const char *)data + 1, size - 1);
	int script_utf8 = strlen(script) == size - 1 && utf8_ok(script);
	free(script);

	struct chan *c = chan_open(&cfg, "pdd", 0, &err, &code);
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
					CHECK(k->error[0] == '\0');
				if (k->status == CS_UNCHANGED)
					CHECK(k->delta == 0);
				if (fixed[i].must == NOT_APPLIED)
					CHECK(k->status == CS_CONFLICT || k->status == CS_FAILED);
				else if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!fz_contains(k->error, SECRET) && !fz_contains(k->error, TOKEN));
				if (script_utf8)
					CHECK(utf8_ok(k->error));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, SECRET) && !fz_contains(err.s, TOKEN));
	if (script_utf8 && err.s)
		CHECK(utf8_ok(err.s));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
