/*
 * fuzz_magento.c - the Magento driver's handling of MSI source-item
 * answers: list pages (items, total_count, pages asked for at once, lists
 * read again when the total moves), the reads before and after a write,
 * the save's answers (200 [], 400 {message, parameters} that refuse a
 * whole batch and make it split, 401, 429/503 with Retry-After, 5xx and
 * lost answers).
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull with --item (or --sku with bit 6), 2 read, 3 push
 *   bit 2     channel "mgs": page_size = 2, batch = 2
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the token appears in no message or
 * result even when the server echoes it; a pulled record is a non-empty
 * SKU (item = sku) at a non-empty source code, state on_hand or
 * out_of_stock, once per (item, location).  After read, a quantity is set
 * only as an answer showed it.  After push every correction is decided and
 * those the driver must refuse are refused; every save (not idempotent,
 * never re-sent by the transport) holds at most `batch` source items,
 * each a correction's SKU and source once, set to exactly `to` with
 * status 1 exactly when `to` > 0, and is sent only after a read (since
 * that source item's last save) whose answer showed `from` (no source item
 * when `from` is null): Magento has no compare-and-set, so this is what
 * keeps a shipment, and what keeps a save whose answer was lost from being
 * sent again blindly.  Applied or unchanged only when a read showed `to`.
 * Waits are bounded (fakehttp.h) and few.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define TOKEN "mg_fuzz_t0ken_3c3c55aa"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_mg.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[mg]\ntype = magento\nbase_url = http://127.0.0.1:9/rest/default\n\n"
	    "[mgs]\ntype = magento\nbase_url = http://127.0.0.1:9/rest/all/\npage_size = 2\nbatch = 2\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_MG", TOKEN, 1);
	setenv("INVKIT_TOKEN_MGS", TOKEN, 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

/* ---- pull ---- */

static const char *const filt_items[] = { "M-1", "M-2", "x" };
static const char *const filt_skus[] = { "M-1", "M,6" };

struct pulled_ctx {
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && *p->item && p->sku && !strcmp(p->item, p->sku));
	CHECK(p->location && *p->location);
	CHECK(p->state && (!strcmp(p->state, "on_hand") || !strcmp(p->state, "out_of_stock")));
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);	/* one record per source item */
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
	{ "M-1", "M-1", "src_a", 1, 5, 3, -2, -1 },
	{ "M-2", "M-2", "src_a", 1, 3, 5, 2, -1 },
	{ "M-3", "M-3", "src_b", 1, 3, 3, 0, -1 },
	{ "M-4", "M-4", "src_b", 0, 0, 4, 4, -1 },
	{ "M-5", "M-5", "", 1, 1, 2, 1, CS_FAILED },
	{ "M-1", "M-1", "src_a", 1, 5, 6, 1, -1 },
	{ "M,6", "M,6", "src_a", 1, 2, 0, -2, -1 },
	{ "M-7", "", "src_b", 1, 1, -3, -4, -1 },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

static const char *
sku_of(const struct corr *k)
{
	return k->item && *k->item ? k->item : k->sku;
}

/* A quantity as the driver takes it: an integer, or a real without a fraction. */
static int
whole(json_t *v, int64_t *q)
{
	if (json_is_integer(v)) {
		*q = json_integer_value(v);
		return 1;
	}
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) <= 9.0e15) {
		*q = (int64_t)json_real_value(v);
		return 1;
	}
	return 0;
}

/*
 * Whether the answer to GET i lists sku at src (first such item) and with
 * which quantity: 1 listed with *q, 0 not listed, -1 not an answer the
 * driver could use.
 */
static int
listed(size_t i, const char *sku, const char *src, int64_t *q)
{
	if (strcmp(fz.sent[i].method, "GET") || fz.sent[i].status != 200)
		return -1;
	json_t *a = fz_answer_json(i), *it;
	size_t k;
	int r = json_is_array(json_object_get(a, "items")) ? 0 : -1;
	json_array_foreach(json_object_get(a, "items"), k, it) {
		const char *s = json_string_value(json_object_get(it, "sku"));
		const char *c = json_string_value(json_object_get(it, "source_code"));
		if (r == 0 && s && c && !strcmp(s, sku) && !strcmp(c, src) &&
		    whole(json_object_get(it, "quantity"), q))
			r = 1;
	}
	json_decref(a);
	return r;
}

/* Whether GET i asks for page 1 of a list (where a reading starts). */
static int
first_page(size_t i)
{
	static const char p1[] = "searchCriteria%5BcurrentPage%5D=1";
	size_t n = strlen(fz.sent[i].url);
	return n >= sizeof p1 - 1 && !strcmp(fz.sent[i].url + n - (sizeof p1 - 1), p1);
}

static int
is_save(size_t i)
{
	return !strcmp(fz.sent[i].method, "POST");
}

/* The entry of save i for sku at src, or NULL.  Borrowed from *body (decref it). */
static json_t *
save_entry(size_t i, const char *sku, const char *src, json_t **body)
{
	json_t *it;
	size_t k;
	*body = json_loadb(fz.sent[i].body, fz.sent[i].bodylen, 0, NULL);
	json_array_foreach(json_object_get(*body, "sourceItems"), k, it) {
		const char *s = json_string_value(json_object_get(it, "sku"));
		const char *c = json_string_value(json_object_get(it, "source_code"));
		if (s && c && !strcmp(s, sku) && !strcmp(c, src))
			return it;
	}
	return NULL;
}

static void
check_requests(const struct corr *cs, size_t n, size_t batch)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!fz_contains(e->url, TOKEN) && !fz_contains(e->body, TOKEN));
		CHECK(strstr(e->url, "/V1/inventory/source-items") != NULL);
		if (!strcmp(e->method, "GET")) {
			CHECK(e->idempotent && e->bodylen == 0 && strchr(e->url, '?'));
			continue;
		}
		CHECK(is_save(i) && !e->idempotent && e->no_retry && !strchr(e->url, '?'));
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL), *it;
		json_t *items = json_object_get(b, "sourceItems");
		size_t k;
		CHECK(json_array_size(items) >= 1 && json_array_size(items) <= batch);
		json_array_foreach(items, k, it) {
			const char *sku = json_string_value(json_object_get(it, "sku"));
			const char *src = json_string_value(json_object_get(it, "source_code"));
			json_t *q = json_object_get(it, "quantity"), *st = json_object_get(it, "status");
			CHECK(sku && src && json_is_integer(q) && json_is_integer(st) && json_object_size(it) == 4);
			CHECK(json_integer_value(st) == (json_integer_value(q) > 0));
			for (size_t k2 = 0; k2 < k; k2++) {	/* once in the request */
				json_t *o = json_array_get(items, k2);
				CHECK(strcmp(sku, json_string_value(json_object_get(o, "sku"))) ||
				    strcmp(src, json_string_value(json_object_get(o, "source_code"))));
			}
			/* read since its last save, showing what the correction expects */
			size_t last = 0;
			for (size_t j = 0; j < i; j++) {
				json_t *ob = NULL;
				if (is_save(j) && save_entry(j, sku, src, &ob))
					last = j + 1;
				json_decref(ob);
			}
			/*
			 * the read just before (before the saves sent with this one, the
			 * GETs since the last page 1: the driver's last pass), since its
			 * last save
			 */
			size_t j0 = i;
			while (j0 > last && is_save(j0 - 1))
				j0--;	/* the saves of this round, sent together */
			while (j0 > last && !strcmp(fz.sent[j0 - 1].method, "GET") && !first_page(j0 - 1))
				j0--;
			if (j0 > last && !strcmp(fz.sent[j0 - 1].method, "GET"))
				j0--;	/* its page 1 */
			int got = 0, from_seen = 0, absent_ok = 1;
			for (size_t j = j0; j < i; j++) {
				int64_t cur = 0;
				int l = listed(j, sku, src, &cur);
				got |= l >= 0;
				if (l == 1)
					absent_ok = 0;
				for (size_t c = 0; c < n && l == 1; c++)
					from_seen |= cs[c].has_from && cur == cs[c].from && cs[c].to == json_integer_value(q) &&
					    !strcmp(sku_of(&cs[c]), sku) && !strcmp(cs[c].location, src);
			}
			int ok = 0;
			for (size_t c = 0; c < n; c++) {
				if (strcmp(sku_of(&cs[c]), sku) || strcmp(cs[c].location, src) ||
				    cs[c].to != json_integer_value(q))
					continue;
				ok |= cs[c].has_from ? from_seen : got && absent_ok;
			}
			CHECK(ok);
		}
		json_decref(b);
	}
}

/* Applied or unchanged only when a read showed `to` (after a save of it, for applied). */
static void
check_confirmed(const struct corr *k)
{
	size_t first = 0;
	int ok = 0;
	if (k->status == CS_APPLIED) {
		first = fz.nsent;
		for (size_t j = 0; j < fz.nsent && first == fz.nsent; j++) {
			json_t *b = NULL;
			if (is_save(j) && save_entry(j, sku_of(k), k->location, &b))
				first = j + 1;
			json_decref(b);
		}
		CHECK(k->has_after && k->after == k->to);
	}
	for (size_t j = first; j < fz.nsent && !ok; j++) {
		int64_t q;
		ok = listed(j, sku_of(k), k->location, &q) == 1 && q == k->to;
	}
	CHECK(ok);
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
	int op = ctl & 3, small = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, small ? "mgs" : "mg", 0, &err, &code);
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
			CHECK(!strcmp(fz.sent[i].method, "GET"));
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
				CHECK(!strcmp(fz.sent[i].method, "GET"));
			for (size_t i = 0; i < ncorr && rc == 0; i++) {
				struct corr *k = &cs[i];
				int ok = !k->has_current;
				for (size_t j = 0; j < fz.nsent && !ok; j++) {
					int64_t q;
					ok = listed(j, sku_of(k), k->location, &q) == 1 && q == k->current;
				}
				CHECK(ok);
				if (!*k->location)
					CHECK(!k->has_current);
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
				CHECK(!fz_contains(k->error, TOKEN));
			}
			/* a batch has at most 7 rounds, a wait between two */
			CHECK(fz.sleeps <= 6 * ncorr);
		}
	}
	CHECK(rc == 0 || rc == EX_DATAERR || rc == EX_UNAVAILABLE || rc == EX_SOFTWARE ||
	    rc == EX_TEMPFAIL || rc == EX_NOPERM || rc == EX_CONFIG);
	if (rc)
		CHECK(err.len > 0 && !strchr(err.s, '\n'));
	CHECK(!fz_contains(err.s, TOKEN));
	if (getenv("FUZZ_SHOW")) {	/* to see what a seed does */
		fprintf(stderr, "rc %d, %zu requests, %u waits: %s\n", rc, fz.nsent, fz.sleeps,
		    err.s ? err.s : "");
		for (size_t i = 0; i < ncorr && op == 3; i++)
			fprintf(stderr, "  %s@%s: %s %s\n", sku_of(&cs[i]), cs[i].location,
			    corr_status_names[cs[i].status], cs[i].error);
	}
	check_requests(cs, ncorr, small ? 2 : 20);
	chan_close(c);
	buf_release(&err);
	return 0;
}
