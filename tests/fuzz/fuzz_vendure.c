/*
 * fuzz_vendure.c - the Vendure driver's handling of Admin API answers:
 * productVariants pages (totalItems, the one-variant overlap between pages
 * that proves the list did not move), the re-reads by id and by SKU with
 * stock-movement counts, updateProductVariants answers (levels after the
 * commit), GraphQL errors with HTTP 200 (FORBIDDEN, USER_INPUT_ERROR,
 * INTERNAL_SERVER_ERROR), HTTP 401/404/413/429/500 and lost answers.
 *
 * The driver runs unchanged through chan_open and its pull/read/push; the
 * answers come from the input through fakehttp.h.  The first byte picks the
 * call, the rest is the script of answers:
 *   bits 0-1  0 pull, 1 pull with --item (or --sku with bit 6), 2 read, 3 push
 *   bit 2     channel "vdo": quantity = on_hand, locations = 1,2,
 *             write_batch = 2, a bearer token and a channel token
 *   bits 3-5  how many of the fixed corrections below (1 to 8)
 *
 * Checked beyond the sanitizers: the exit code is one the interface allows
 * and comes with a one-line message; the key appears in no URL, message
 * or result even when the server echoes it, and in no body unless the
 * server's answers hold it (an id given back to the server it came from);
 * a pulled record is a non-empty
 * variant id at a non-empty stock location (one of `locations =` when
 * set), state available or on_hand, once per (item, location).  After
 * read, a quantity is set only as an answer showed it.  After push every
 * correction is decided and those the driver must refuse are refused;
 * every updateProductVariants (not idempotent, never re-sent by the
 * transport) holds at most write_batch variants, each level once, and sets
 * stockOnHand to exactly `to` (plus stockAllocated as re-read, for
 * quantity = available), and only after a read (since that level's last
 * write) whose answer showed `from` (no level when `from` is null):
 * Vendure has no compare-and-set, so this re-read is what keeps a sale and
 * what keeps a write whose answer was lost from being sent again blindly.
 * Applied only when an answer after a write showed `to`; unchanged only
 * when a read showed `to`.  Waits are bounded (fakehttp.h) and few.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehttp.h"
#include "platform.h"

#define KEY "vd-lookup-77:vd_fuzz_s3cret_8e8e"

static struct config cfg;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_vd.XXXXXX";
	char path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "[vd]\ntype = vendure\nbase_url = http://127.0.0.1:9\n\n"
	    "[vdo]\ntype = vendure\nbase_url = http://127.0.0.1:9/shop/\nquantity = on_hand\n"
	    "locations = 2, 1\nwrite_batch = 2\nauth = bearer\nchannel_token = default-channel\n");
	CHECK(fclose(f) == 0);
	setenv("INVKIT_TOKEN_VD", KEY, 1);
	setenv("INVKIT_TOKEN_VDO", "vd_fuzz_s3cret_8e8e", 1);
	struct buf err = BUF_INIT;
	CHECK(config_load(&cfg, path, &err) == 0);
	buf_release(&err);
	unlink(path);
	rmdir(dir);
}

static int
secret_in(const char *s)
{
	return fz_contains(s, "vd_fuzz_s3cret_8e8e");
}

/* ---- pull ---- */

static const char *const filt_items[] = { "11", "12", "x" };
static const char *const filt_skus[] = { "V-1", "V-5" };

struct pulled_ctx {
	int on_hand;
	char **seen;
	size_t n;
};

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct pulled_ctx *x = arg;
	char key[512];
	CHECK(p->item && *p->item && p->sku && p->location && *p->location);
	if (x->on_hand)
		CHECK(!strcmp(p->location, "1") || !strcmp(p->location, "2"));
	CHECK(p->state && !strcmp(p->state, x->on_hand ? "on_hand" : "available"));
	snprintf(key, sizeof key, "%s@%s", p->item, p->location);
	for (size_t i = 0; i < x->n; i++)
		CHECK(strcmp(x->seen[i], key) != 0);	/* one record per level */
	x->seen = xrealloc(x->seen, (x->n + 1) * sizeof *x->seen);
	x->seen[x->n++] = xstrdup(key);
	/* --item and --sku: applied here by the driver, and by invpull */
}

/* ---- corrections ---- */

struct fixed {
	const char *sku, *item, *loc;
	int has_from;
	int64_t from, to, delta;
	int must;		/* the status the driver must give whatever the answers, or -1 */
};

static const struct fixed fixed[] = {
	{ "V-1", "11", "1", 1, 5, 3, -2, -1 },
	{ "V-2", "12", "1", 1, 3, 5, 2, -1 },
	{ "V-3", "13", "2", 1, 3, 3, 0, -1 },
	{ "V-4", "14", "2", 0, 0, 4, 4, -1 },
	{ "V-5", "V-5", "1", 0, 0, 7, 7, -1 },
	{ "V-1", "11", "2", 1, 5, 6, 1, -1 },
	{ "V-6", "16", "", 1, 1, 2, 1, CS_FAILED },
	{ "V-7", "17", "1", 1, 1, 3, 5, CS_FAILED },
};

static int
final_status(int s)
{
	return s == CS_APPLIED || s == CS_UNCHANGED || s == CS_CONFLICT || s == CS_FAILED;
}

/* An id as the driver reads it (a string, or an integer), into out; 0 when none. */
static int
id_of(json_t *v, char *out, size_t n)
{
	if (json_is_string(v)) {
		snprintf(out, n, "%s", json_string_value(v));
		return strlen(json_string_value(v)) < n;
	}
	if (json_is_integer(v)) {
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
		return 1;
	}
	return 0;
}

/* The kind of request i: 'r' a read (by id or SKU), 'p' a list page, 'w' a write. */
static int
kind(size_t i)
{
	const char *b = fz.sent[i].body;
	if (strstr(b, "\"query invkitRead("))
		return 'r';
	if (strstr(b, "\"query invkitPull("))
		return 'p';
	if (strstr(b, "\"mutation invkitPush("))
		return 'w';
	return 0;
}

/*
 * The variants of answer i (the list under data.<field> or
 * data.<field>.items), when it is a usable answer; new reference or NULL.
 */
static json_t *
variants_of(size_t i)
{
	if (fz.sent[i].status != 200 || fz.sent[i].ambiguous)
		return NULL;
	json_t *a = fz_answer_json(i), *d = json_object_get(a, "data"), *l = NULL;
	json_t *errs = json_object_get(a, "errors");
	if (json_is_object(d) && !(json_is_array(errs) && json_array_size(errs))) {
		l = kind(i) == 'w' ? json_object_get(d, "updateProductVariants") :
		    json_object_get(json_object_get(d, "productVariants"), "items");
		if (!json_is_array(l))
			l = NULL;
	}
	json_incref(l);
	json_decref(a);
	return l;
}

/*
 * What answer i shows of variant id at loc: -1 nothing usable (or the
 * variant not in it), 0 the variant without that level, 1 the level with
 * *qty (in the channel's terms) and *alloc; when the answer lists it more
 * than once, one showing `want` (with want_alloc allocated, unless
 * INT64_MIN) is preferred: the driver may have taken either.
 */
static int
shows(size_t i, const char *id, const char *loc, int on_hand, int64_t want, int64_t want_alloc,
    int64_t *qty, int64_t *alloc)
{
	json_t *vs = variants_of(i), *v, *l;
	size_t a, b;
	char x[64];
	int r = -1;
	json_array_foreach(vs, a, v) {
		if (!id_of(json_object_get(v, "id"), x, sizeof x) || strcmp(x, id))
			continue;
		if (r < 0)
			r = 0;
		json_array_foreach(json_object_get(v, "stockLevels"), b, l) {
			json_t *oh = json_object_get(l, "stockOnHand"), *al = json_object_get(l, "stockAllocated");
			if (!id_of(json_object_get(l, "stockLocationId"), x, sizeof x) || strcmp(x, loc) ||
			    !json_is_integer(oh) || !json_is_integer(al))
				continue;
			int64_t q = json_integer_value(oh) - (on_hand ? 0 : json_integer_value(al));
			if (r < 1 || (q == want && (want_alloc == INT64_MIN ||
			    json_integer_value(al) == want_alloc))) {
				*qty = q;
				*alloc = json_integer_value(al);
			}
			r = 1;
		}
	}
	json_decref(vs);
	return r;
}

/*
 * Whether variant id is the one correction k is for, as known before
 * request i: its item, or (from null: the master's item may be its SKU)
 * a variant a read by SKU answered with k's sku.
 */
static int
variant_of(const struct corr *k, const char *id, size_t i)
{
	if (!strcmp(k->item, id))
		return 1;
	if (k->has_from || !k->sku || !*k->sku)
		return 0;
	for (size_t j = 0; j < i; j++) {
		json_t *vs = strstr(fz.sent[j].body, "{filter: {sku: {in: $ids}}") ? variants_of(j) : NULL, *v;
		size_t a;
		char x[64];
		int hit = 0;
		json_array_foreach(vs, a, v)
			hit |= id_of(json_object_get(v, "id"), x, sizeof x) && !strcmp(x, id) &&
			    json_string_value(json_object_get(v, "sku")) &&
			    !strcmp(json_string_value(json_object_get(v, "sku")), k->sku);
		json_decref(vs);
		if (hit)
			return 1;
	}
	return 0;
}

/* The stockOnHand write i sets for id at loc, or INT64_MIN when it does not. */
static int64_t
write_sets(size_t i, const char *id, const char *loc)
{
	json_t *b = json_loadb(fz.sent[i].body, fz.sent[i].bodylen, 0, NULL), *v, *l;
	size_t a, c;
	int64_t q = INT64_MIN;
	json_array_foreach(json_object_get(json_object_get(b, "variables"), "input"), a, v) {
		if (strcmp(json_string_value(json_object_get(v, "id")), id))
			continue;
		json_array_foreach(json_object_get(v, "stockLevels"), c, l)
			if (!strcmp(json_string_value(json_object_get(l, "stockLocationId")), loc))
				q = json_integer_value(json_object_get(l, "stockOnHand"));
	}
	json_decref(b);
	return q;
}

/* Do the input's answers hold the secret? */
static int
echoed(const uint8_t *d, size_t n)
{
	static const char s[] = "vd_fuzz_s3cret_8e8e";
	for (size_t i = 0; i + sizeof s - 1 <= n; i++)
		if (!memcmp(d + i, s, sizeof s - 1))
			return 1;
	return 0;
}

/*
 * echoed: the server's answers hold the secret (in an id, say).  An id is
 * sent back to the server it came from, so the secret may then be in a
 * request body; never in a URL.
 */
static void
check_requests(const struct corr *cs, size_t n, int on_hand, int echoed)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		const struct fz_sent *e = &fz.sent[i];
		CHECK(!secret_in(e->url) && (echoed || !secret_in(e->body)));
		CHECK(!strcmp(e->method, "POST") && strstr(e->url, "127.0.0.1:9") &&
		    strstr(e->url, "/admin-api") && !strstr(e->url, "//admin-api"));
		int k = kind(i);
		CHECK(k != 0);
		if (k != 'w') {
			CHECK(e->idempotent);
			continue;
		}
		CHECK(!e->idempotent && e->no_retry && e->bodylen <= 102400);
		json_t *b = json_loadb(e->body, e->bodylen, 0, NULL), *v, *l;
		json_t *in = json_object_get(json_object_get(b, "variables"), "input");
		size_t a, c;
		CHECK(json_array_size(in) >= 1 && json_array_size(in) <= (on_hand ? 2 : 50));
		json_array_foreach(in, a, v) {
			const char *id = json_string_value(json_object_get(v, "id"));
			CHECK(id && json_array_size(json_object_get(v, "stockLevels")) >= 1);
			for (size_t a2 = 0; a2 < a; a2++)	/* a variant once */
				CHECK(strcmp(id, json_string_value(json_object_get(json_array_get(in, a2), "id"))));
			json_array_foreach(json_object_get(v, "stockLevels"), c, l) {
				const char *loc = json_string_value(json_object_get(l, "stockLocationId"));
				json_t *soh = json_object_get(l, "stockOnHand");
				CHECK(loc && json_is_integer(soh) && json_object_size(l) == 2);
				for (size_t c2 = 0; c2 < c; c2++)	/* a level once */
					CHECK(strcmp(loc, json_string_value(json_object_get(json_array_get(
					    json_object_get(v, "stockLevels"), c2), "stockLocationId"))));
				size_t last = 0;
				for (size_t j = 0; j < i; j++)
					if (kind(j) == 'w' && write_sets(j, id, loc) != INT64_MIN)
						last = j + 1;
				int ok = 0;
				for (size_t ci = 0; ci < n; ci++) {
					const struct corr *k = &cs[ci];
					if (strcmp(k->location, loc) || !variant_of(k, id, i))
						continue;
					/* the re-read just before, since the last write, showed `from` (or no level) */
					size_t j = i;
					while (j-- > last && kind(j) != 'r')
						;
					int64_t q = 0, al = 0;
					int s = j + 1 > last && j < i ? shows(j, id, loc, on_hand, k->from,
					    on_hand ? INT64_MIN : json_integer_value(soh) - k->to, &q, &al) : -1;
					ok |= k->has_from ? s == 1 && q == k->from &&
					    json_integer_value(soh) == k->to + (on_hand ? 0 : al) :
					    s == 0 && json_integer_value(soh) == k->to;
				}
				CHECK(ok);
			}
		}
		json_decref(b);
	}
}

/* Applied only when an answer after a write showed `to`; unchanged when a read did. */
static void
check_confirmed(const struct corr *k, int on_hand)
{
	int ok = 0;
	size_t first = k->status == CS_APPLIED ? fz.nsent : 0;
	for (size_t i = 0; i < fz.nsent && first == fz.nsent; i++) {
		json_t *b = kind(i) == 'w' ? json_loadb(fz.sent[i].body, fz.sent[i].bodylen, 0, NULL) : NULL, *v, *l;
		size_t a, c;
		json_array_foreach(json_object_get(json_object_get(b, "variables"), "input"), a, v)
			json_array_foreach(json_object_get(v, "stockLevels"), c, l)
				if (!strcmp(json_string_value(json_object_get(l, "stockLocationId")), k->location) &&
				    variant_of(k, json_string_value(json_object_get(v, "id")), i))
					first = i;
		json_decref(b);
	}
	for (size_t i = first; i < fz.nsent && !ok; i++) {
		json_t *vs = variants_of(i), *v;
		size_t a;
		json_array_foreach(vs, a, v) {
			char id[64];
			int64_t q = 0, al = 0;
			if (!id_of(json_object_get(v, "id"), id, sizeof id))
				continue;
			if (!variant_of(k, id, i))
				continue;
			ok |= shows(i, id, k->location, on_hand, k->to, INT64_MIN, &q, &al) == 1 && q == k->to;
		}
		json_decref(vs);
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
	int op = ctl & 3, on_hand = (ctl >> 2) & 1;
	fz_reset((const char *)data + 1, size - 1);

	struct chan *c = chan_open(&cfg, on_hand ? "vdo" : "vd", 0, &err, &code);
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
		struct pulled_ctx x = { on_hand, NULL, 0 };
		rc = c->drv->pull(c, &o, on_pulled, &x, &err);
		for (size_t i = 0; i < x.n; i++)
			free(x.seen[i]);
		free(x.seen);
		for (size_t i = 0; i < fz.nsent; i++)
			CHECK(kind(i) == 'p');
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
				CHECK(kind(i) == 'r');
			for (size_t i = 0; i < ncorr && rc == 0; i++) {
				struct corr *k = &cs[i];
				int ok = !k->has_current;
				for (size_t j = 0; j < fz.nsent && !ok; j++) {
					json_t *vs = variants_of(j), *x;
					size_t a;
					json_array_foreach(vs, a, x) {
						char id[64];
						int64_t q = 0, al = 0;
						if (id_of(json_object_get(x, "id"), id, sizeof id) &&
						    shows(j, id, k->location, on_hand, k->current, INT64_MIN, &q, &al) == 1 &&
						    q == k->current && variant_of(k, id, j))
							ok = 1;
					}
					json_decref(vs);
				}
				CHECK(ok);
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
					check_confirmed(k, on_hand);
				}
				if (fixed[i].must >= 0)
					CHECK(k->status == fixed[i].must);
				CHECK(!secret_in(k->error));
			}
			/* a wait after each write that went unanswered, at most 6 a variant */
			CHECK(fz.sleeps <= 6 * ncorr);
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
	check_requests(cs, ncorr, on_hand, echoed(data, size));
	chan_close(c);
	buf_release(&err);
	return 0;
}
