/*
 * fuzz_shipbob.c - the ShipBob driver's handling of inventory-level
 * answers: pages of items with their fulfillment centers ({items, next}),
 * next links (absolute, a path, a query, or ones that must be refused),
 * the x-remaining-calls / X-RateLimit-Remaining headers that size its
 * bucket, 429 with x-retry-after, 5xx, lost answers and ProblemDetails.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull with --item (or --sku with bit 6), 2 read, 3 push
 *   bit 2     channel "sbs": every state, a channel_id, rate_limit = 30
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the token appears in no URL, message
 * or result even when the server echoes it; every request is a GET below
 * base_url (a next link elsewhere is never followed: the token would go
 * with it), idempotent, with a cost within the bucket the driver last set,
 * and is retried only with a bounded wait (fakehttp.h); a pulled record is
 * a positive inventory_id at a positive location_id, once per item,
 * location and state, every state asked for (and only those, in the
 * configured order) for each, passing --item/--sku.  read and push are
 * refused whatever the answers, with every correction failed, exit 78,
 * and nothing sent.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define TOKEN "sb_fuzz_pat_t0ken_61e1"
#define BASE "http://127.0.0.1:9"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_sb.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[sb]\ntype = shipbob\nbase_url = " BASE "\n\n"
	    "[sbs]\ntype = shipbob\nbase_url = " BASE "/\napi_version = 2026-01\nchannel_id = 12345\n"
	    "rate_limit = 30\nstates = on_hand, fulfillable committed,awaiting,internal_transfer\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_SB", TOKEN, 1);
	setenv("INVKIT_TOKEN_SBS", TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* ---- pull ---- */

static const char *const states_one[] = { "fulfillable", NULL };
static const char *const states_all[] = { "on_hand", "fulfillable", "committed", "awaiting",
	"internal_transfer", NULL };
static const char *const filt_items[] = { "101", "102", "x" };
static const char *const filt_skus[] = { "SB-1", "SB-3" };

struct pulled_ctx {
	const struct pull_opts *o;
	const char *const *states;
	char *last;		/* item@location of the last record */
	size_t nstate;		/* records of it so far */
	char **seen;		/* item@location done */
	size_t n;
};

static int
positive(const char *s)
{
	if (*s < '1' || *s > '9')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && positive(p->item) && strlen(p->item) <= 19);
	CHECK(p->location && positive(p->location) && strlen(p->location) <= 19);
	CHECK(p->sku && p->state);
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	if (!x->last || strcmp(x->last, key)) {
		/* the one before got every state; this one is new */
		CHECK(!x->last || !x->states[x->nstate]);
		for (size_t i = 0; i < x->n; i++)
			CHECK(strcmp(x->seen[i], key) != 0);
		x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
		x->seen[x->n++] = xstrdup(key);
		x->last = x->seen[x->n - 1];
		x->nstate = 0;
	}
	CHECK(x->states[x->nstate] && !strcmp(p->state, x->states[x->nstate]));
	x->nstate++;
	if (x->o->items || x->o->skus) {
		int ok = 0;
		for (size_t i = 0; x->o->items && i < x->o->nitems; i++)
			ok |= !strcmp(x->o->items[i], p->item);
		for (size_t i = 0; x->o->skus && i < x->o->nskus; i++)
			ok |= !strcmp(x->o->skus[i], p->sku);
		CHECK(ok);
	}
}

static void
check_requests(void)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		/* the first URL is the driver's; the others are the server's links */
		CHECK(i > 0 || !fz_contains(e->url, TOKEN));
		CHECK(!strcmp(e->method, "GET") && e->idempotent && e->bodylen == 0);
		/* below base_url, nowhere else */
		CHECK(!strncmp(e->url, BASE, strlen(BASE)) && (e->url[strlen(BASE)] == '/' ||
		    e->url[strlen(BASE)] == '?'));
		for (const char *p = e->url; *p; p++)
			CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
		CHECK(e->cost == 1);
	}
	if (fz.nsent)
		CHECK(strstr(fz.sent[0].url, "/inventory-level/locations?PageSize=100") != NULL);
}

/* ---- corrections: all refused ---- */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
};

static const struct fixed fixed[] = {
	{ "SB-1", "101", "11", 1, 5, 3, -2 },
	{ "SB-2", "102", "11", 1, 3, 5, 2 },
	{ "SB-3", "103", "12", 1, 3, 3, 0 },
	{ "SB-4", "104", "12", 0, 0, 4, 4 },
	{ "SB-5", "SB-5", "", 1, 1, 2, 1 },
	{ "SB-1", "101", "12", 1, 5, 6, 1 },
	{ "SB-6", "106", "11", 1, 2, 0, -2 },
	{ "SB-7", "107", "11", 1, 1, -3, -4 },
};

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
	int op = ctl & 3, all = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, all ? "sbs" : "sb", 0, &err, &code);
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
		struct pulled_ctx x = { &o, all ? states_all : states_one, NULL, 0, NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		CHECK(!x.last || !x.states[x.nstate]);	/* the last one got every state too */
		if (rc)
			CHECK(rc == EX_DATAERR || rc == EX_TEMPFAIL || rc == EX_UNAVAILABLE ||
			    rc == EX_NOPERM);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
		CHECK(c->pages <= fz.nsent);
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
		rc = op == 2 ? c->drv->read(c, v, ncorr, &err) :
		    c->drv->push(c, v, ncorr, "fuzz-run", &err);
		CHECK(rc == EX_CONFIG && fz.nsent == 0);
		for (size_t i = 0; i < ncorr; i++) {
			CHECK(cs[i].status == CS_FAILED && !cs[i].has_current);
			CHECK(!strcmp(cs[i].error, "not written: ShipBob is a 3PL: its stock is read, "
			    "never written"));
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	if (getenv("FUZZ_SHOW"))	/* to see what a seed does */
		fprintf(stderr, "rc %d, %zu requests, %llu pages: %s\n", rc, fz.nsent,
		    (unsigned long long)c->pages, err.s ? err.s : "");
	CHECK(!fz_contains(err.s, TOKEN));
	CHECK(fz.sleeps == 0);	/* waits go through http_retry, checked there */
	check_requests();
	chan_close(c);
	buf_release(&err);
	return 0;
}
