/*
 * fuzz_amazon.c - the Amazon driver's handling of SP-API answers: the LWA
 * token, searchListingsItems pages, getListingsItem and search-by-SKU
 * re-reads, patchListingsItem submissions, FBA inventory summary pages and
 * the JSON_LISTINGS_FEED round (document, upload, createFeed, getFeed
 * polling, the processing report), with HTTP failures (401/403, 429, lost
 * answers) anywhere.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers (the first is the token's):
 *   bits 0-1  0 pull, 1 pull filtered by --sku, 2 read, 3 push
 *   bit 2     channel "amzf": fba = yes (every FBA state) and feed_min = 2,
 *             else "amz": merchant quantities, one PATCH per SKU
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; neither the client secret nor the
 * refresh token appears in a message, a result or a URL, even when the
 * server echoes them; a pulled record is a merchant quantity ("" and
 * "available") or an FBA one ("fba" and an FBA state, >= 0), comes once and
 * passes the filter; after push every correction is decided, those the
 * driver must refuse (FBA location, other location, negative) are refused
 * and never sent; every PATCH and every feed message sets exactly `to` of
 * a correction that is allowed, after a read of that SKU since its last
 * write (DESIGN.md rule 3); writes are never re-sent by the transport, and
 * no createFeed follows one whose answer was lost.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define CSECRET "amzn1.oa2-cs.v1.fuzzsecret"
#define RTOKEN "Atzr|fuzz-refresh-77"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_amz.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[amz]\ntype = amazon\nbase_url = http://127.0.0.1:9/amz\n"
	    "lwa_url = http://127.0.0.1:9/lwa\nseller_id = S1\nmarketplace_id = M1\n\n"
	    "[amzf]\ntype = amazon\nbase_url = http://127.0.0.1:9/amz\n"
	    "lwa_url = http://127.0.0.1:9/lwa\nseller_id = S1\nmarketplace_id = M1\nfba = yes\n"
	    "fba_states = fulfillable,inbound_working,inbound_shipped,inbound_receiving,reserved,"
	    "researching,unfulfillable\nfeed_min = 2\nfeed_wait = 20\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_AMZ", "amzn1.application-oa2-client.fz:" CSECRET ":" RTOKEN, 1);
	setenv("INVKIT_TOKEN_AMZF", "amzn1.application-oa2-client.fz:" CSECRET ":" RTOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/*
 * The fixed secrets.  The access token is whatever the input's token answer
 * says, so a server echoing the seeds' "Atza|fz" before that token was
 * issued is no leak: it is not checked here.
 */
static int
secret_in(const char *s)
{
	return fz_contains(s, CSECRET) || fz_contains(s, RTOKEN);
}

/* ---- pull ---- */

static const char *const filt_skus[] = { "A-1", "A 2,x" };
static const char *const fba_states[] = { "fulfillable", "inbound_working", "inbound_shipped",
	"inbound_receiving", "reserved", "researching", "unfulfillable" };

struct pulled_ctx {
	const struct pull_opts *o;
	int fba;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && *p->item && p->sku && !strcmp(p->item, p->sku) && p->location && p->state);
	if (!strcmp(p->location, "fba")) {
		int ok = 0;
		for (size_t i = 0; i < 7; i++)
			ok |= !strcmp(p->state, fba_states[i]);
		CHECK(ok && x->fba && p->qty >= 0);
	} else {
		CHECK(!strcmp(p->location, "") && !strcmp(p->state, "available"));
	}
	snprintf(key, sizeof key, "%s@%s@%s", p->sku, p->location, p->state);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
	if (x->o->skus) {
		int ok = 0;
		for (size_t i = 0; i < x->o->nskus; i++)
			ok |= !strcmp(x->o->skus[i], p->sku);
		CHECK(ok);
	}
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "A-1", "", 1, 5, 3, -2, -1 },
	{ "A 2,x", "", 1, 3, 5, 2, -1 },
	{ "A-3", "fba", 1, 3, 9, 6, CS_FAILED },
	{ "A-4", "", 0, 0, 4, 4, -1 },
	{ "A-5", "wh", 1, 1, 2, 1, CS_FAILED },
	{ "A-6", "", 1, 1, -2, -3, CS_FAILED },
	{ "A-7", "", 1, 2, 2, 0, -1 },
	{ "A/8", "", 1, 0, 9000000000000000000LL, 9000000000000000000LL, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* The correction allowed to set sku, or NULL. */
static const struct corr *
corr_of(const struct corr *cs, size_t n, const char *sku)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cs[i].sku, sku) && fixed[i].must < 0)
			return &cs[i];
	return NULL;
}

/* SKUs read since their last write. */
struct fresh {
	char **v;
	size_t n;
};

static void
fresh_add(struct fresh *f, const char *sku, size_t len)
{
	f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
	f->v[f->n++] = xstrndup(sku, len);
}

static int
fresh_take(struct fresh *f, const char *sku)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i], sku)) {
			free(f->v[i]);
			f->v[i] = f->v[--f->n];
			return 1;
		}
	return 0;
}

/* Percent-decode s[0..n) into out. */
static void
pctdec(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n) {
			char h[3] = { s[i + 1], s[i + 2], 0 };
			buf_addc(out, (char)strtol(h, NULL, 16));
			i += 2;
		} else {
			buf_addc(out, s[i]);
		}
	}
	if (!out->s)
		buf_adds(out, "");
}

/* Record the SKUs a GET of a listing (or a search by identifiers) reads. */
static void
note_reads(struct fresh *f, const char *url)
{
	struct buf d = BUF_INIT;
	const char *p = strstr(url, "/listings/2021-08-01/items/S1");
	if (!p)
		return;
	p += strlen("/listings/2021-08-01/items/S1");
	if (*p == '/') {
		size_t k = strcspn(p + 1, "?");
		pctdec(p + 1, k, &d);
		fresh_add(f, d.s, d.len);
	} else if ((p = strstr(p, "identifiers=")) != NULL) {
		p += strlen("identifiers=");
		while (*p && *p != '&') {
			size_t k = strcspn(p, ",&");
			pctdec(p, k, &d);
			fresh_add(f, d.s, d.len);
			p += k;
			if (*p == ',')
				p++;
		}
	}
	buf_release(&d);
}

static void
check_set(struct fresh *fr, const struct corr *cs, size_t n, const char *sku, json_t *patches)
{
	const struct corr *c = corr_of(cs, n, sku);
	CHECK(c != NULL);
	json_t *q = json_object_get(json_array_get(json_object_get(json_array_get(patches, 0), "value"),
	    0), "quantity");
	CHECK(json_is_integer(q) && json_integer_value(q) == c->to);
	CHECK(fresh_take(fr, sku));	/* read since its last write */
}

static void
check_requests(const struct corr *cs, size_t n)
{
	struct fresh fr = { NULL, 0 };
	int lost_feed = 0;
	struct buf d = BUF_INIT;
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!secret_in(e->url));
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0);
			note_reads(&fr, e->url);
			continue;
		}
		if (!strcmp(e->method, "PATCH")) {
			CHECK(!e->idempotent && e->no_retry);
			const char *p = strstr(e->url, "/listings/2021-08-01/items/S1/");
			CHECK(p != NULL);
			p += strlen("/listings/2021-08-01/items/S1/");
			pctdec(p, strcspn(p, "?"), &d);
			json_t *b = json_loadb(e->body, e->bodylen, 0, NULL);
			check_set(&fr, cs, n, d.s, json_object_get(b, "patches"));
			json_decref(b);
			continue;
		}
		if (!strcmp(e->method, "PUT")) {	/* a feed document */
			CHECK(e->idempotent);
			json_t *b = json_loadb(e->body, e->bodylen, 0, NULL), *m;
			json_t *msgs = json_object_get(b, "messages");
			size_t k;
			CHECK(json_is_array(msgs) && json_array_size(msgs) >= 1);
			json_array_foreach(msgs, k, m) {
				CHECK(json_integer_value(json_object_get(m, "messageId")) == (json_int_t)k + 1);
				check_set(&fr, cs, n, json_string_value(json_object_get(m, "sku")),
				    json_object_get(m, "patches"));
			}
			json_decref(b);
			continue;
		}
		CHECK(!strcmp(e->method, "POST"));
		if (strstr(e->url, "/feeds/2021-06-30/feeds")) {
			CHECK(!e->idempotent && e->no_retry && !lost_feed);
			lost_feed |= e->ambiguous || e->status == 1 || (e->status >= 500 && e->status != 503);
		}
	}
	for (size_t i = 0; i < fr.n; i++)
		free(fr.v[i]);
	free(fr.v);
	buf_release(&d);
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
	int op = ctl & 3, feed = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, feed ? "amzf" : "amz", 0, &err, &code);
	CHECK(c != NULL && code == 0);

	int rc;
	memset(cs, 0, sizeof cs);
	if (op <= 1) {
		struct pull_opts o = { 0 };
		if (op == 1) {
			o.skus = (const char **)filt_skus;
			o.nskus = 2;
		}
		struct pulled_ctx x = { &o, feed, NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
	} else {
		ncorr = 1 + ((ctl >> 3) & 7);
		for (size_t i = 0; i < ncorr; i++) {
			const struct fixed *f = &fixed[i];
			cs[i].sku = f->sku;
			cs[i].item = f->sku;
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
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!secret_in(k->error));
			}
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!secret_in(err.s));
	check_requests(cs, ncorr);
	chan_close(c);
	buf_release(&err);
	return 0;
}
