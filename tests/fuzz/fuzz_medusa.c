/*
 * fuzz_medusa.c - the Medusa driver's handling of admin REST answers:
 * inventory item pages (count/offset with one item of overlap), the
 * re-reads before and after a write, stock location lists, batch answers
 * and error bodies ({type, message} with 400/401/404/409/413), lost answers.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull with --item (or --sku with bit 6), 2 read, 3 push
 *   bit 2     channel "meds": quantity = stocked
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the secret key and its base64 appear
 * in no message or result even when the server echoes them; a pulled
 * record has an item and a location and comes once per (item, location); after push every correction is decided and those the
 * driver must refuse are refused; every batch body holds only levels that
 * were asked for, creates a level only for a correction whose `from` is
 * null, never writes a negative stocked_quantity, and is never re-sent by
 * the transport (no_retry, not idempotent: it sets absolute values).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define KEY "sk_fuzz_k3y_0a0a99"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_med.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[med]\ntype = medusa\nbase_url = http://127.0.0.1:9\n\n"
	    "[meds]\ntype = medusa\nbase_url = http://127.0.0.1:9/\nquantity = stocked\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_MED", KEY, 1);
	setenv("INVKIT_TOKEN_MEDS", KEY, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
secret_in(const char *s)
{
	/* the key, and the Basic credentials "KEY:" in base64, padded or not */
	return fz_contains(s, KEY) || fz_contains(s, "c2tfZnV6el9rM3lfMGEwYTk5Og");
}

/* ---- pull ---- */

static const char *const filt_items[] = { "iitem_01", "iitem_02", "x" };
static const char *const filt_skus[] = { "M-1", "M-2" };

struct pulled_ctx {
	const struct pull_opts *o;
	int stocked;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && *p->item && p->location && *p->location && p->sku);
	CHECK(p->state && !strcmp(p->state, x->stocked ? "stocked" : "available"));
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);	/* one record per level */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
	/* --item and --sku: invpull applies them to what the driver emits */
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "M-1", "iitem_01", "sloc_1", 1, 5, 3, -2, -1 },
	{ "M-2", "iitem_02", "sloc_1", 1, 3, 5, 2, -1 },
	{ "M-3", "iitem_03", "sloc_1", 1, 3, 3, 0, -1 },
	{ "M-4", "iitem_04", "sloc_2", 0, 0, 4, 4, -1 },
	{ "M-5", "M-5", "sloc_2", 0, 0, 7, 7, -1 },
	{ "M-1", "iitem_01", "sloc_2", 1, 5, 6, 1, -1 },
	{ "M-6", "iitem_06", "sloc_1", 1, 2, 9000000000000000002LL, 9000000000000000000LL, -1 },
	{ "M-7", "iitem_07", "sloc_1", 1, 1, -3, -4, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

static void
check_entries(json_t *arr, int create, const struct corr *cs, size_t n)
{
	size_t k;
	json_t *e;
	if (!arr)
		return;
	CHECK(json_is_array(arr));
	json_array_foreach(arr, k, e) {
		const char *iid = json_string_value(json_object_get(e, "inventory_item_id"));
		const char *loc = json_string_value(json_object_get(e, "location_id"));
		json_t *q = json_object_get(e, "stocked_quantity");
		CHECK(iid && loc && json_is_integer(q) && json_integer_value(q) >= 0);
		/*
		 * asked for: an update only by a correction with a known `from`
		 * for this very level; a create only by one whose `from` is null
		 * (its item this id, or a SKU the driver looked up)
		 */
		int asked = 0;
		for (size_t c = 0; c < n; c++) {
			if (strcmp(cs[c].location, loc) || cs[c].has_from == create)
				continue;
			if (!strcmp(cs[c].item, iid) || (create && strncmp(cs[c].item, "iitem_", 6)))
				asked = 1;
		}
		CHECK(asked);
	}
}

static void
check_requests(const struct corr *cs, size_t n)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0);
			continue;
		}
		CHECK(!strcmp(e->method, "POST") && strstr(e->url, "/admin/inventory-items/location-levels/batch"));
		CHECK(!e->idempotent && e->no_retry);
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL);
		CHECK(json_is_object(b));
		check_entries(json_object_get(b, "create"), 1, cs, n);
		check_entries(json_object_get(b, "update"), 0, cs, n);
		CHECK(!json_object_get(b, "delete"));
		json_decref(b);
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
	int op = ctl & 3, stocked = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, stocked ? "meds" : "med", 0, &err, &code);
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
		struct pulled_ctx x = { &o, stocked, NULL, 0 };
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
				/* unchanged: the level already shows `to` (delta or not) */
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
