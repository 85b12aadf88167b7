/*
 * fuzz_taobao.c - the Taobao (TOP) driver's handling of router answers: the
 * pages of items on sale, the detail reads (20 items a call), stock change
 * answers, error_response bodies (flow control, credentials, isv/isp
 * refusals, Chinese messages) and HTTP failures (lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull filtered (--item, or --sku with bit 6), 2 read, 3 push
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *   bit 6     read and push: the second table (SKUs of one item, several at once)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the app secret appears in no request,
 * message or result, the session key in no message or result, even when the
 * server echoes them; every call is signed (a sign field, upper-case hex)
 * and carries a GMT+8 timestamp; a pulled item is "I" or "I/S" in the one
 * pool, comes once, and passes the filters; after push every correction is
 * decided, those the driver must refuse are refused, an unchanged one had no
 * delta; every write is taobao.item.quantity.update type=2 by exactly
 * `delta` of a correction with a known `from`, or taobao.skus.quantity.update
 * type=2 of 2 to 20 distinct SKUs of one item, each pair "sku_id:delta"
 * exactly a correction's (DESIGN.md rule 1: a sale is never erased); never
 * re-sent by the transport, and written only after a read of its item since
 * its last write; an error text is valid UTF-8 (Chinese messages are cut at
 * character boundaries).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define SECRET "tb_fuzz_s3cret_5a5a"
#define SESSION "6100fuzz_s3ssion_77"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_tb.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[tb]\ntype = taobao\nbase_url = http://127.0.0.1:9/router/rest\napp_key = fzkey\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_TB", SECRET ":" SESSION, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
digits(const char *s, size_t n)
{
	if (n == 0 || *s == '0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* "I" or "I/S", positive decimal numbers without leading zeros. */
static int
item_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return digits(s, strlen(s));
	return digits(s, (size_t)(slash - s)) && digits(slash + 1, strlen(slash + 1));
}

/* Well-formed UTF-8 (no cut character). */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		    (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0)
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* The decoded value of form field key in body, or NULL (caller frees). */
static char *
field(const char *body, size_t len, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		if (end - i > kl && !memcmp(body + i, key, kl) && body[i + kl] == '=') {
			struct buf v = BUF_INIT;
			buf_adds(&v, "");
			for (size_t k = i + kl + 1; k < end; k++) {
				if (body[k] == '%' && k + 2 < end) {
					unsigned x;
					char h[3] = { body[k + 1], body[k + 2], 0 };
					CHECK(sscanf(h, "%2x", &x) == 1);
					buf_addc(&v, (char)x);
					k += 2;
				} else {
					buf_addc(&v, body[k]);
				}
			}
			return v.s;
		}
		i = end + 1;
	}
	return NULL;
}

/* ---- pull ---- */

static const char *const filt_items[] = { "601", "602/5021", "x" };
static const char *const filt_skus[] = { "A-1", "B-S" };

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
		CHECK(strcmp(x->seen[i], p->item) != 0);	/* one record per item */
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
	{ "A-1", "601", "", 1, 5, 3, -2, -1 },
	{ "B-S", "602/5021", "", 1, 3, 5, 2, -1 },
	{ "C-1", "603", "", 1, 3, 3, 0, -1 },
	{ "D-1", "604", "", 0, 0, 4, 4, -1 },
	{ "X", "x", "", 1, 1, 2, 1, CS_FAILED },
	{ "E-S", "605/5051", "W1", 1, 1, 2, 1, CS_FAILED },
	{ "A-1", "601", "", 1, 5, 6, 1, -1 },
	{ "F", "606", "", 1, 2, 9000000000000000002LL, 9000000000000000000LL, CS_FAILED },
};

/* Bit 6: three SKUs of item 602 and two of 605 (taobao.skus.quantity.update), one SKU twice. */
static const struct fixed fixed_skus[] = {
	{ "B-S", "602/5021", "", 1, 3, 5, 2, -1 },
	{ "B-M", "602/5022", "", 1, 0, 4, 4, -1 },
	{ "B-L", "602/5023", "", 1, 6, 1, -5, -1 },
	{ "E-S", "605/5051", "", 1, 1, 2, 1, -1 },
	{ "E-M", "605/5052", "", 1, 2, 0, -2, -1 },
	{ "A-1", "601", "", 1, 5, 3, -2, -1 },
	{ "B-S", "602/5021", "", 1, 3, 7, 4, -1 },
	{ "G-S", "607/5071", "", 0, 0, 4, 4, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* Items read since they were last written. */
struct fresh {
	char **v;
	size_t n;
};

static int
fresh_take(struct fresh *f, const char *iid)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i], iid)) {
			free(f->v[i]);
			f->v[i] = f->v[--f->n];
			return 1;
		}
	return 0;
}

/*
 * A write of quantity q to iid/sid (sid NULL: the item's own stock): it is
 * a correction asked for, with a known `from`, by exactly its delta (when
 * one item is asked for twice, the one whose delta this is).
 */
static void
check_write(const struct corr *cs, size_t n, const char *iid, const char *sid, long long q)
{
	char item[64];
	const struct corr *c = NULL;
	snprintf(item, sizeof item, "%s%s%s", iid, sid ? "/" : "", sid ? sid : "");
	for (size_t k = 0; k < n; k++)
		if (!strcmp(cs[k].item, item) && (!c || cs[k].delta == q))
			c = &cs[k];
	CHECK(c != NULL);		/* only what was asked for */
	CHECK(c->has_from);		/* never a write for an unknown `from` */
	CHECK(q == c->delta && c->delta != 0);
}

static void
check_requests(const struct corr *cs, size_t n)
{
	struct fresh fr = { NULL, 0 };
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!fz_contains(e->url, SECRET) && !fz_contains(e->url, SESSION));
		CHECK(!strcmp(e->method, "POST") && !strcmp(e->url, "http://127.0.0.1:9/router/rest"));
		char *body = xstrndup(e->body ? e->body : "", e->bodylen);
		CHECK(!fz_contains(body, SECRET));
		char *method = field(body, e->bodylen, "method"), *sign = field(body, e->bodylen, "sign");
		char *ts = field(body, e->bodylen, "timestamp");
		CHECK(method && sign && ts);
		CHECK(strlen(sign) == 32 && strspn(sign, "0123456789ABCDEF") == 32);
		CHECK(strlen(ts) == 19 && ts[4] == '-' && ts[10] == ' ' && ts[13] == ':');
		if (!strcmp(method, "taobao.items.onsale.get")) {
			CHECK(e->idempotent);
		} else if (!strcmp(method, "taobao.items.seller.list.get")) {
			CHECK(e->idempotent);
			char *ids = field(body, e->bodylen, "num_iids");
			CHECK(ids);
			size_t cnt = 0;
			for (char *p = ids, *q; p; p = q ? q + 1 : NULL) {
				q = strchr(p, ',');
				if (q)
					*q = '\0';
				fresh_take(&fr, p);
				fr.v = xrealloc(fr.v, (fr.n + 1) * sizeof *fr.v);
				fr.v[fr.n++] = xstrdup(p);
				cnt++;
			}
			CHECK(cnt <= 20);
			free(ids);
		} else if (!strcmp(method, "taobao.skus.quantity.update")) {
			CHECK(!e->idempotent && e->no_retry);
			char *iid = field(body, e->bodylen, "num_iid"), *type = field(body, e->bodylen, "type");
			char *list = field(body, e->bodylen, "skuid_quantities");
			CHECK(iid && list && type && !strcmp(type, "2"));
			CHECK(!field(body, e->bodylen, "sku_id") && !field(body, e->bodylen, "quantity"));
			char *sids[21];
			size_t cnt = 0;
			for (char *p = list, *q; p; p = q ? q + 1 : NULL) {
				q = strchr(p, ';');
				if (q)
					*q = '\0';
				char *colon = strchr(p, ':'), *end;
				CHECK(colon && cnt < 20);
				*colon = '\0';
				CHECK(digits(p, strlen(p)));
				long long qv = strtoll(colon + 1, &end, 10);
				CHECK(end != colon + 1 && *end == '\0');
				for (size_t k = 0; k < cnt; k++)
					CHECK(strcmp(sids[k], p) != 0);	/* each SKU once */
				sids[cnt++] = p;
				check_write(cs, n, iid, p, qv);
			}
			CHECK(cnt >= 2);			/* one SKU alone: item.quantity.update */
			CHECK(fresh_take(&fr, iid));	/* read since its last write */
			free(iid);
			free(type);
			free(list);
		} else {
			CHECK(!strcmp(method, "taobao.item.quantity.update"));
			CHECK(!e->idempotent && e->no_retry);
			char *iid = field(body, e->bodylen, "num_iid"), *sid = field(body, e->bodylen, "sku_id");
			char *q = field(body, e->bodylen, "quantity"), *type = field(body, e->bodylen, "type");
			CHECK(iid && q && type && !strcmp(type, "2"));
			check_write(cs, n, iid, sid, strtoll(q, NULL, 10));
			CHECK(fresh_take(&fr, iid));	/* read since its last write */
			free(iid);
			free(sid);
			free(q);
			free(type);
		}
		free(method);
		free(sign);
		free(ts);
		free(body);
	}
	for (size_t i = 0; i < fr.n; i++)
		free(fr.v[i]);
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

	struct chan *c = chan_open(&cfg, "tb", 0, &err, &code);
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
		const struct fixed *tab = ctl & 0x40 ? fixed_skus : fixed;
		ncorr = 1 + ((ctl >> 3) & 7);
		for (size_t i = 0; i < ncorr; i++) {
			const struct fixed *f = &tab[i];
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
				if (tab[i].must >= 0)
					CHECK(k->status == tab[i].must);
				CHECK(!fz_contains(k->error, SECRET) && !fz_contains(k->error, SESSION));
				CHECK(utf8_ok(k->error));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, SECRET) && !fz_contains(err.s, SESSION));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
