/*
 * test_drv_shopify.c - the Shopify driver against tests/sim: pagination
 * (items and levels), filters, pacing on the cost bucket, THROTTLED and
 * HTTP faults, lost answers re-sent under the same idempotency key,
 * compare-and-set conflicts in both stale modes, a sale landing between
 * read and push, batches over 250, a refused token (never echoed) and
 * unknown items.  The simulator's state and write log prove the end state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "platform.h"

#define TOKEN "shpat_test_SECRET_9f8e7d6c"
#define BADTOKEN "shpat_wrong_SECRET_0a1b2c"
#define NITEMS 300
#define BIG 5007		/* the item stocked at all 12 locations */

/* a direct reference: it also links the driver out of libinvkit.a */
extern const struct driver drv_shopify;

static char dir[] = "/tmp/invkit-shopify.XXXXXX";
static char confpath[PATH_MAX];
static pid_t sim_pid;
static int port;
static struct config cfg;

/* ---- the simulator ---- */

static void
find_sim(char *out, size_t n)
{
	const char *top = getenv("INVKIT_TOP");
	char exe[PATH_MAX - 32];
	ssize_t k;
	if (top) {
		snprintf(out, n, "%s/tests/sim/sim.py", top);
		if (access(out, R_OK) == 0)
			return;
	}
	if ((k = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[k] = '\0';
		char *s = strrchr(exe, '/');
		if (s) {
			*s = '\0';
			snprintf(out, n, "%s/../tests/sim/sim.py", exe);	/* bin/ or bin-san/ */
			if (access(out, R_OK) == 0)
				return;
		}
	}
	snprintf(out, n, "tests/sim/sim.py");
}

static size_t
collect(char *p, size_t sz, size_t nm, void *arg)
{
	buf_add(arg, p, sz * nm);
	return sz * nm;
}

/* A control request; returns the parsed answer (new reference). */
static json_t *
ctl(const char *method, const char *path, const char *body)
{
	CURL *c = curl_easy_init();
	struct buf url = BUF_INIT, out = BUF_INIT;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	buf_addf(&url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url.s);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		fail_msg("%s %s -> %ld: %s", method, path, status, out.s ? out.s : "");
	json_t *j = json_loadb(out.s ? out.s : "null", out.len ? out.len : 4, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_release(&url);
	buf_release(&out);
	return j;
}

static void
ctl0(const char *method, const char *path, const char *body)
{
	json_decref(ctl(method, path, body));
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	chmod(path, mode);
}

static int
qty_of(int i, int loc)
{
	return (i * 7 + loc * 3) % 50;
}

/* The shop: 12 locations, NITEMS items at location 1, some at 2 and 3, BIG at all. */
static void
write_state(void)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"shopify\": {\"t\": {\"token\": \"" TOKEN "\", \"locations\": [");
	for (int l = 1; l <= 12; l++)
		buf_addf(&b, "%s{\"id\": %d, \"name\": \"L%d\"}", l > 1 ? ", " : "", l, l);
	buf_adds(&b, "], \"items\": [");
	for (int i = 1; i <= NITEMS; i++) {
		int id = 5000 + i;
		buf_addf(&b, "%s{\"id\": %d, \"sku\": \"S-%04d\", \"levels\": {\"1\": %d", i > 1 ? ", " : "",
		    id, i, qty_of(i, 1));
		if (i % 3 == 0)
			buf_addf(&b, ", \"2\": %d", qty_of(i, 2));
		if (i % 5 == 0)
			buf_addf(&b, ", \"3\": %d", qty_of(i, 3));
		if (id == BIG)
			for (int l = 2; l <= 12; l++)
				buf_addf(&b, ", \"%d\": %d", l, qty_of(i, l));
		buf_adds(&b, "}}");
	}
	/* a SKU the search syntax cannot be trusted to quote */
	buf_adds(&b, ", {\"id\": 5301, \"sku\": \"Q\\\"uo\\\\te*\", \"levels\": {\"1\": 4}}");
	buf_adds(&b, "]}}}");
	write_file("state.json", b.s, 0644);
	buf_release(&b);
}

static int
setup(void **state)
{
	(void)state;
	char sim[PATH_MAX], statef[PATH_MAX];
	int fd[2];

	assert_non_null(mkdtemp(dir));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	write_state();
	find_sim(sim, sizeof sim);
	snprintf(statef, sizeof statef, "%s/state.json", dir);
	assert_int_equal(pipe(fd), 0);
	sim_pid = fork();
	assert_true(sim_pid >= 0);
	if (sim_pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("python3", "python3", sim, "--port", "0", "--state", statef, "--seed", "1",
		    "--scale", "20", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	char line[64] = "";
	if (!fgets(line, sizeof line, f) || sscanf(line, "port %d", &port) != 1)
		fail_msg("simulator %s did not start", sim);
	fclose(f);

	write_file("token", TOKEN "\n", 0600);
	write_file("badtoken", BADTOKEN "\n", 0600);
	struct buf c = BUF_INIT;
	const char *sections[][2] = {
		{ "shop", "" },
		{ "cas", "concurrent = conflict\n" },
		{ "loc", "locations = 2, gid://shopify/Location/3\n" },
		{ "badloc", "locations = 99\n" },
		{ "deep", "pagination_limit = 40\n" },
	};
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		buf_addf(&c, "[%s]\ntype = shopify\nbase_url = http://127.0.0.1:%d/shopify/t/\n"
		    "token_file = %s/token\ntimeout = 10\n%s\n", sections[i][0], port, dir, sections[i][1]);
	buf_addf(&c, "[bad]\ntype = shopify\nbase_url = http://127.0.0.1:%d/shopify/t\n"
	    "token_file = %s/badtoken\n\n", port, dir);
	buf_addf(&c, "[open]\ntype = shopify\nbase_url = http://127.0.0.1:%d/shopify/t\n"
	    "token_file = %s/opentoken\n\n", port, dir);
	write_file("opentoken", TOKEN "\n", 0644);
	write_file("invkit.conf", c.s, 0644);
	buf_release(&c);
	snprintf(confpath, sizeof confpath, "%s/invkit.conf", dir);
	struct buf err = BUF_INIT;
	if (config_load(&cfg, confpath, &err) < 0)
		fail_msg("%s", err.s);
	buf_release(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, NULL, 0);
	}
	config_release(&cfg);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	curl_global_cleanup();
	return 0;
}

static int
reset(void **state)
{
	(void)state;
	ctl0("POST", "/_sim/reset", "{}");
	return 0;
}

static struct chan *
open_chan(const char *name)
{
	struct buf err = BUF_INIT;
	int code = -1;
	/* INVKIT_TEST_VERBOSE=1 logs each request (method, path, status) */
	struct chan *c = chan_open(&cfg, name, getenv("INVKIT_TEST_VERBOSE") != NULL, &err, &code);
	if (!c)
		fail_msg("chan_open %s: %d %s", name, code, err.s);
	buf_release(&err);
	return c;
}

/* ---- pull helpers ---- */

struct lines {
	char **v;
	size_t n;
};

static void
lines_add(struct lines *l, char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
on_pulled(const struct pulled *p, void *arg)
{
	struct buf b = BUF_INIT;
	assert_string_equal(p->state, "available");
	buf_addf(&b, "%s|%s|%s|%lld", p->item, p->location, p->sku, (long long)p->qty);
	lines_add(arg, b.s);
}

/* What the simulator holds, as "item|location|sku|qty" lines (only these skus/locations if given). */
static void
expected(struct lines *out, const char *const *skus, const char *const *locs)
{
	json_t *st = ctl("GET", "/_sim/state", NULL);
	json_t *items = json_object_get(json_object_get(json_object_get(st, "shopify"), "t"), "items");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		const char *sku = json_string_value(json_object_get(it, "sku"));
		int keep = !skus;
		for (size_t k = 0; skus && skus[k]; k++)
			keep |= !strcmp(skus[k], sku);
		if (!keep)
			continue;
		const char *loc;
		json_t *q;
		json_object_foreach(json_object_get(it, "levels"), loc, q) {
			int lk = !locs;
			for (size_t k = 0; locs && locs[k]; k++)
				lk |= !strcmp(locs[k], loc);
			if (!lk)
				continue;
			struct buf b = BUF_INIT;
			buf_addf(&b, "%s|%s|%s|%lld", json_string_value(json_object_get(it, "id")), loc, sku,
			    (long long)json_integer_value(q));
			lines_add(out, b.s);
		}
	}
	json_decref(st);
}

static void
assert_same(struct lines *got, struct lines *want)
{
	qsort(got->v, got->n, sizeof *got->v, cmp);
	qsort(want->v, want->n, sizeof *want->v, cmp);
	assert_int_equal(got->n, want->n);
	for (size_t i = 0; i < got->n; i++)
		assert_string_equal(got->v[i], want->v[i]);
}

static int
do_pull(struct chan *c, const struct pull_opts *o, struct lines *got, struct buf *err)
{
	struct pull_opts none = { 0 };
	return c->drv->pull(c, o ? o : &none, on_pulled, got, err);
}

/* Requests in the simulator's log whose ops include op (NULL: all Shopify requests). */
static size_t
count_requests(const char *op, int *throttled, double *maxreq)
{
	json_t *log = ctl("GET", "/_sim/log?kind=requests", NULL);
	json_t *rs = json_object_get(log, "requests"), *r;
	size_t i, n = 0;
	json_array_foreach(rs, i, r) {
		json_t *ops = json_object_get(r, "ops"), *o;
		size_t j;
		int match = !op;
		json_array_foreach(ops, j, o)
			match |= op && json_is_string(o) && !strcmp(json_string_value(o), op);
		if (!match)
			continue;
		n++;
		json_t *cost = json_object_get(r, "cost");
		if (throttled && json_is_true(json_object_get(cost, "throttled")))
			(*throttled)++;
		double rq = json_number_value(json_object_get(cost, "requested"));
		if (maxreq && rq > *maxreq)
			*maxreq = rq;
	}
	json_decref(log);
	return n;
}

/* Writes logged for an item gid (kind: "adjust", "set", "sale" or NULL for any). */
static size_t
count_writes(const char *item, const char *kind)
{
	json_t *log = ctl("GET", "/_sim/log?kind=writes", NULL);
	json_t *ws = json_object_get(log, "writes"), *w;
	size_t i, n = 0;
	json_array_foreach(ws, i, w) {
		if (item && strcmp(json_string_value(json_object_get(w, "item")), item))
			continue;
		if (kind && strcmp(json_string_value(json_object_get(w, "kind")), kind))
			continue;
		n++;
	}
	json_decref(log);
	return n;
}

static long long
shop_qty(int id, int loc)
{
	char k[64];
	json_t *st = ctl("GET", "/_sim/state", NULL);
	json_t *items = json_object_get(json_object_get(json_object_get(st, "shopify"), "t"), "items");
	json_t *it;
	size_t i;
	long long q = -999999;
	snprintf(k, sizeof k, "gid://shopify/Location/%d", loc);
	json_array_foreach(items, i, it) {
		char g[64];
		snprintf(g, sizeof g, "gid://shopify/InventoryItem/%d", id);
		if (!strcmp(json_string_value(json_object_get(it, "id")), g)) {
			json_t *v = json_object_get(json_object_get(it, "levels"), k);
			if (v)
				q = json_integer_value(v);
		}
	}
	json_decref(st);
	return q;
}

/* ---- corrections ---- */

struct cset {
	struct corr *c;
	struct corr **v;
	char (*item)[64], (*loc)[64];
	size_t n;
};

static void
cset_init(struct cset *s, size_t n)
{
	s->n = n;
	s->c = calloc(n, sizeof *s->c);
	s->v = calloc(n, sizeof *s->v);
	s->item = calloc(n, sizeof *s->item);
	s->loc = calloc(n, sizeof *s->loc);
	for (size_t i = 0; i < n; i++)
		s->v[i] = &s->c[i];
}

/* Correction i: item id at loc, from (or none when from < 0) to to. */
static void
cset_set(struct cset *s, size_t i, int id, int loc, long long from, long long to)
{
	struct corr *c = &s->c[i];
	snprintf(s->item[i], sizeof s->item[i], "gid://shopify/InventoryItem/%d", id);
	snprintf(s->loc[i], sizeof s->loc[i], "gid://shopify/Location/%d", loc);
	c->item = s->item[i];
	c->location = s->loc[i];
	c->sku = "";
	c->reason = "sync";
	c->has_from = from >= 0;
	c->from = from >= 0 ? from : 0;
	c->to = to;
	c->delta = from >= 0 ? to - from : to;
	c->key[0] = '\0';
}

static void
cset_free(struct cset *s)
{
	free(s->c);
	free(s->v);
	free(s->item);
	free(s->loc);
}

static int
do_push(struct chan *c, struct cset *s, const char *run, struct buf *err)
{
	return c->drv->push(c, s->v, s->n, run, err);
}

/* ---- tests ---- */

static void
test_pull_all(void **state)
{
	(void)state;
	struct chan *c = open_chan("shop");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;
	assert_ptr_equal(driver_find("shopify"), &drv_shopify);
	assert_ptr_equal(c->drv, &drv_shopify);
	int rc = do_pull(c, NULL, &got, &err);
	if (rc)
		fail_msg("pull: %d %s", rc, err.s);
	expected(&want, NULL, NULL);
	assert_same(&got, &want);
	/* 300 items over several pages, and BIG's levels beyond the first 10 */
	assert_true(count_requests("inventoryItems", NULL, NULL) >= 3);
	assert_int_equal(count_requests("inventoryItem", NULL, NULL), 1);
	lines_free(&got);
	lines_free(&want);
	buf_release(&err);
	chan_close(c);
}

static void
test_pull_filters(void **state)
{
	(void)state;
	struct chan *c = open_chan("shop");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;
	/* exact skus only: "s-0005" differs in case, "S-000" is a prefix */
	const char *skus[] = { "S-0003", "s-0005", "S-0007", "S-000", "NOPE", "S-0015" };
	struct pull_opts o = { 0 };
	o.skus = skus;
	o.nskus = sizeof skus / sizeof *skus;
	assert_int_equal(do_pull(c, &o, &got, &err), 0);
	const char *want_skus[] = { "S-0003", "S-0007", "S-0015", NULL };
	expected(&want, want_skus, NULL);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);

	/* a SKU with a quote, a backslash and a star: found all the same */
	const char *odd[] = { "Q\"uo\\te*", "S-0004" };
	o.skus = odd;
	o.nskus = 2;
	assert_int_equal(do_pull(c, &o, &got, &err), 0);
	const char *want_odd[] = { "Q\"uo\\te*", "S-0004", NULL };
	expected(&want, want_odd, NULL);
	assert_int_equal(want.n, 2);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);
	chan_close(c);

	/* configured locations */
	c = open_chan("loc");
	assert_int_equal(do_pull(c, NULL, &got, &err), 0);
	const char *locs[] = { "gid://shopify/Location/2", "gid://shopify/Location/3", NULL };
	expected(&want, NULL, locs);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);
	chan_close(c);

	/* --item */
	c = open_chan("shop");
	const char *items[] = { "gid://shopify/InventoryItem/5010", "5020", "nonsense" };
	struct pull_opts oi = { 0 };
	oi.items = items;
	oi.nitems = 3;
	assert_int_equal(do_pull(c, &oi, &got, &err), 0);
	const char *item_skus[] = { "S-0010", "S-0020", NULL };
	expected(&want, item_skus, NULL);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);
	chan_close(c);

	/* a configured location the shop does not have */
	c = open_chan("badloc");
	assert_int_equal(do_pull(c, NULL, &got, &err), EX_CONFIG);
	assert_non_null(strstr(err.s, "gid://shopify/Location/99"));
	lines_free(&got);
	chan_close(c);
	buf_release(&err);
}

static void
test_pull_restart(void **state)
{
	(void)state;
	/* paging deeper than pagination_limit restarts the listing above the last id */
	struct chan *c = open_chan("deep");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;
	int rc = do_pull(c, NULL, &got, &err);
	if (rc)
		fail_msg("pull: %d %s", rc, err.s);
	expected(&want, NULL, NULL);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);
	buf_release(&err);
	chan_close(c);
}

static void
test_throttle(void **state)
{
	(void)state;
	/* a small bucket: pages shrink to fit and the run waits, never throttled */
	ctl0("POST", "/_sim/config", "{\"bucket_size\": 300, \"restore_rate\": 100, \"scale\": 20}");
	struct chan *c = open_chan("shop");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;
	ctl0("POST", "/_sim/log/clear", "{}");
	int rc = do_pull(c, NULL, &got, &err);
	if (rc)
		fail_msg("pull: %d %s", rc, err.s);
	expected(&want, NULL, NULL);
	assert_same(&got, &want);
	int thr = 0;
	double maxreq = 0;
	size_t n = count_requests(NULL, &thr, &maxreq);
	assert_true(n > 10);
	assert_int_equal(thr, 0);
	assert_true(maxreq <= 300);
	lines_free(&got);
	lines_free(&want);

	/* and pushes of 300 corrections (two calls) likewise */
	struct cset s;
	cset_init(&s, NITEMS);
	for (int i = 0; i < NITEMS; i++)
		cset_set(&s, (size_t)i, 5001 + i, 1, qty_of(i + 1, 1), qty_of(i + 1, 1) + 1);
	assert_int_equal(do_push(c, &s, "thr", &err), 0);
	for (int i = 0; i < NITEMS; i++)
		assert_int_equal(s.c[i].status, CS_APPLIED);
	thr = 0;
	count_requests(NULL, &thr, NULL);
	assert_int_equal(thr, 0);
	cset_free(&s);
	chan_close(c);

	/* an empty bucket: THROTTLED answers (200, then 429) are waited out */
	const char *modes[] = { "{\"throttle_status\": 200, \"bucket_size\": 2000, \"restore_rate\": 100, "
		"\"scale\": 5}", "{\"throttle_status\": 429, \"bucket_size\": 2000, \"restore_rate\": 100, "
		"\"scale\": 5}" };
	for (size_t m = 0; m < 2; m++) {
		ctl0("POST", "/_sim/config", modes[m]);
		ctl0("POST", "/_sim/log/clear", "{}");
		ctl0("POST", "/_sim/bucket", "{\"shop\": \"t\", \"available\": 0}");
		c = open_chan("shop");
		const char *skus[] = { "S-0001", "S-0002" };
		struct pull_opts o = { 0 };
		o.skus = skus;
		o.nskus = 2;
		rc = do_pull(c, &o, &got, &err);
		if (rc)
			fail_msg("pull (throttle %zu): %d %s", m, rc, err.s);
		const char *ws[] = { "S-0001", "S-0002", NULL };
		expected(&want, ws, NULL);
		assert_same(&got, &want);
		thr = 0;
		count_requests(NULL, &thr, NULL);
		assert_true(thr >= 1);	/* it was throttled, and recovered */
		lines_free(&got);
		lines_free(&want);
		chan_close(c);
	}
	buf_release(&err);
}

static void
test_faults(void **state)
{
	(void)state;
	/* one fault each on different requests (a request's backoffs add up) */
	ctl0("POST", "/_sim/faults", "{\"rules\": ["
	    "{\"kind\": \"429\", \"next\": 1, \"retry_after\": 0, \"match\": {\"write\": false}},"
	    "{\"kind\": \"500\", \"skip\": 3, \"next\": 1, \"match\": {\"write\": false}},"
	    "{\"kind\": \"503\", \"skip\": 6, \"next\": 1, \"retry_after\": 0, "
	    "\"match\": {\"write\": false}},"
	    "{\"kind\": \"drop\", \"skip\": 9, \"next\": 1, \"match\": {\"write\": false}},"
	    "{\"kind\": \"502\", \"next\": 1, \"match\": {\"write\": true}}]}");
	struct chan *c = open_chan("shop");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;
	int rc = do_pull(c, NULL, &got, &err);
	if (rc)
		fail_msg("pull: %d %s", rc, err.s);
	expected(&want, NULL, NULL);
	assert_same(&got, &want);

	struct cset s;
	cset_init(&s, 3);
	for (int i = 0; i < 3; i++)
		cset_set(&s, (size_t)i, 5001 + i, 1, qty_of(i + 1, 1), 40 + i);
	assert_int_equal(do_push(c, &s, "faults", &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(s.c[i].status, CS_APPLIED);
		assert_int_equal(shop_qty(5001 + i, 1), 40 + i);
		assert_int_equal(count_writes(s.c[i].item, "adjust"), 1);
		assert_true(s.c[i].has_after);
		assert_int_equal(s.c[i].after, 40 + i);
	}
	cset_free(&s);
	lines_free(&got);
	lines_free(&want);
	buf_release(&err);
	chan_close(c);
}

static void
test_lost_answer(void **state)
{
	(void)state;
	/* applied, answer lost: re-sent under the same key, replayed, applied once */
	ctl0("POST", "/_sim/faults", "{\"rules\": [{\"kind\": \"lost_answer\", \"next\": 1, "
	    "\"match\": {\"write\": true}}]}");
	struct chan *c = open_chan("shop");
	struct buf err = BUF_INIT;
	struct cset s;
	cset_init(&s, 2);
	cset_set(&s, 0, 5010, 1, qty_of(10, 1), qty_of(10, 1) + 5);
	cset_set(&s, 1, 5011, 1, -1, 33);	/* no from: a set */
	assert_int_equal(do_push(c, &s, "lost", &err), 0);
	assert_int_equal(s.c[0].status, CS_APPLIED);
	assert_int_equal(s.c[1].status, CS_APPLIED);
	assert_int_equal(shop_qty(5010, 1), qty_of(10, 1) + 5);
	assert_int_equal(shop_qty(5011, 1), 33);
	assert_int_equal(count_writes(s.c[0].item, "adjust"), 1);
	assert_int_equal(count_writes(s.c[1].item, "set"), 1);
	json_t *log = ctl("GET", "/_sim/log?kind=requests", NULL);
	json_t *r;
	size_t i, replayed = 0, lost = 0;
	json_array_foreach(json_object_get(log, "requests"), i, r) {
		replayed += json_is_true(json_object_get(r, "replayed"));
		lost += json_is_string(json_object_get(r, "fault"));
	}
	json_decref(log);
	assert_int_equal(lost, 1);
	assert_int_equal(replayed, 1);

	/* a failed attempt (fail_key): resolved by reading, then sent under a new key */
	ctl0("POST", "/_sim/faults", "{\"rules\": [{\"kind\": \"fail_key\", \"next\": 1, "
	    "\"match\": {\"write\": true}}]}");
	cset_set(&s, 0, 5012, 1, qty_of(12, 1), qty_of(12, 1) + 2);
	cset_set(&s, 1, 5013, 1, qty_of(13, 1), qty_of(13, 1) - 1);
	assert_int_equal(do_push(c, &s, "failkey", &err), 0);
	assert_int_equal(s.c[0].status, CS_APPLIED);
	assert_int_equal(s.c[1].status, CS_APPLIED);
	assert_int_equal(shop_qty(5012, 1), qty_of(12, 1) + 2);
	assert_int_equal(shop_qty(5013, 1), qty_of(13, 1) - 1);
	assert_int_equal(count_writes(s.c[0].item, "adjust"), 1);
	cset_free(&s);
	buf_release(&err);
	chan_close(c);
}

static void
test_stale(void **state)
{
	(void)state;
	const char *modes[] = { "{\"stale_mode\": \"call\"}", "{\"stale_mode\": \"entry\"}" };
	for (size_t m = 0; m < 2; m++) {
		ctl0("POST", "/_sim/reset", "{}");
		ctl0("POST", "/_sim/config", modes[m]);
		struct chan *c = open_chan("cas");
		struct buf err = BUF_INIT;
		struct cset s;
		cset_init(&s, 3);
		long long q20 = qty_of(20, 1);
		cset_set(&s, 0, 5021, 1, qty_of(21, 1), qty_of(21, 1) + 3);
		cset_set(&s, 1, 5020, 1, q20 + 1, 7);	/* stale from */
		cset_set(&s, 2, 5022, 1, qty_of(22, 1), 0);
		assert_int_equal(do_push(c, &s, "stale", &err), 0);
		assert_int_equal(s.c[0].status, CS_APPLIED);
		assert_int_equal(s.c[2].status, CS_APPLIED);
		assert_int_equal(s.c[1].status, CS_CONFLICT);
		assert_true(s.c[1].has_current);
		assert_int_equal(s.c[1].current, q20);
		assert_non_null(strstr(s.c[1].error, "CHANGE_FROM_QUANTITY_STALE"));
		char now[32];
		snprintf(now, sizeof now, "now %lld", q20);
		assert_non_null(strstr(s.c[1].error, now));
		assert_int_equal(shop_qty(5020, 1), q20);	/* nothing applied, never overwritten */
		assert_int_equal(count_writes(s.c[1].item, NULL), 0);
		assert_int_equal(shop_qty(5021, 1), qty_of(21, 1) + 3);
		assert_int_equal(shop_qty(5022, 1), 0);
		assert_int_equal(count_writes(s.c[0].item, "adjust"), 1);
		cset_free(&s);
		buf_release(&err);
		chan_close(c);
	}
}

static void
test_sale_between(void **state)
{
	(void)state;
	const char *chans[] = { "shop", "cas" };
	for (size_t m = 0; m < 2; m++) {
		ctl0("POST", "/_sim/reset", "{}");
		struct chan *c = open_chan(chans[m]);
		struct buf err = BUF_INIT;
		struct cset s;
		cset_init(&s, 1);
		cset_set(&s, 0, 5030, 1, 0, 0);
		assert_int_equal(c->drv->read(c, s.v, 1, &err), 0);
		assert_true(s.c[0].has_current);
		long long cur = s.c[0].current;
		assert_int_equal(cur, qty_of(30, 1));
		cset_set(&s, 0, 5030, 1, cur, cur + 5);	/* wanted: cur + 5 */
		ctl0("POST", "/_sim/sale", "{\"shop\": \"t\", \"item\": \"gid://shopify/InventoryItem/5030\", "
		    "\"location\": \"gid://shopify/Location/1\", \"qty\": 2}");
		assert_int_equal(do_push(c, &s, "sale", &err), 0);
		if (m == 0) {
			/* merge: the delta lands on top of the sale */
			assert_int_equal(s.c[0].status, CS_APPLIED);
			assert_int_equal(shop_qty(5030, 1), cur + 5 - 2);
			assert_int_equal(s.c[0].after, cur + 5 - 2);
		} else {
			/* conflict: nothing written, the sale stands */
			assert_int_equal(s.c[0].status, CS_CONFLICT);
			assert_int_equal(s.c[0].current, cur - 2);
			assert_int_equal(shop_qty(5030, 1), cur - 2);
		}
		assert_int_equal(count_writes(s.c[0].item, "sale"), 1);
		cset_free(&s);
		buf_release(&err);
		chan_close(c);
	}
}

static void
test_batches(void **state)
{
	(void)state;
	struct chan *c = open_chan("shop");
	struct buf err = BUF_INIT;
	struct cset s;
	assert_int_equal(c->drv->max_batch, 4 * 250);	/* four calls of 250 in flight */
	cset_init(&s, 251);
	for (int i = 0; i < 251; i++)
		cset_set(&s, (size_t)i, 5001 + i, 1, qty_of(i + 1, 1), qty_of(i + 1, 1) + 2);
	assert_int_equal(do_push(c, &s, "batch", &err), 0);
	for (int i = 0; i < 251; i++)
		assert_int_equal(s.c[i].status, CS_APPLIED);
	assert_int_equal(count_requests("inventoryAdjustQuantities", NULL, NULL), 2);
	assert_int_equal(count_writes(NULL, "adjust"), 251);
	assert_int_equal(shop_qty(5251, 1), qty_of(251, 1) + 2);
	cset_free(&s);

	/* unchanged and mixed reasons */
	cset_init(&s, 3);
	cset_set(&s, 0, 5001, 1, qty_of(1, 1) + 2, qty_of(1, 1) + 2);
	cset_set(&s, 1, 5002, 1, qty_of(2, 1) + 2, 9);
	s.c[1].reason = "count";
	cset_set(&s, 2, 5003, 1, qty_of(3, 1) + 2, 8);
	s.c[2].reason = "damaged";
	assert_int_equal(do_push(c, &s, "batch2", &err), 0);
	assert_int_equal(s.c[0].status, CS_UNCHANGED);
	assert_int_equal(s.c[1].status, CS_APPLIED);
	assert_int_equal(s.c[2].status, CS_APPLIED);
	json_t *log = ctl("GET", "/_sim/log?kind=writes", NULL);
	json_t *w;
	size_t i;
	int seen = 0;
	json_array_foreach(json_object_get(log, "writes"), i, w) {
		const char *it = json_string_value(json_object_get(w, "item"));
		const char *rs = json_string_value(json_object_get(w, "reason"));
		const char *ref = json_string_value(json_object_get(w, "reference"));
		if (strcmp(ref, "gid://invkit/Run/batch2") != 0)
			continue;
		if (!strcmp(it, s.item[1])) {
			assert_string_equal(rs, "cycle_count_available");
			assert_string_equal(ref, "gid://invkit/Run/batch2");
			seen++;
		} else if (!strcmp(it, s.item[2])) {
			assert_string_equal(rs, "damaged");
			seen++;
		}
	}
	json_decref(log);
	assert_int_equal(seen, 2);
	cset_free(&s);
	buf_release(&err);
	chan_close(c);
}

static void
test_bad_token(void **state)
{
	(void)state;
	struct chan *c = open_chan("bad");
	struct lines got = { 0 };
	struct buf err = BUF_INIT;
	assert_int_equal(do_pull(c, NULL, &got, &err), EX_NOPERM);
	assert_int_equal(got.n, 0);
	assert_non_null(strstr(err.s, "access token refused"));
	assert_null(strstr(err.s, BADTOKEN));
	assert_null(strstr(err.s, "SECRET"));
	struct cset s;
	cset_init(&s, 1);
	cset_set(&s, 0, 5001, 1, 1, 2);
	assert_int_equal(do_push(c, &s, "bad", &err), EX_NOPERM);
	assert_int_equal(s.c[0].status, CS_FAILED);
	assert_null(strstr(s.c[0].error, "SECRET"));
	assert_null(strstr(err.s, "SECRET"));
	assert_int_equal(count_writes(NULL, NULL), 0);
	cset_free(&s);
	chan_close(c);

	/* a token file others can read is refused, and the token is not shown */
	int code = 0;
	assert_null(chan_open(&cfg, "open", 0, &err, &code));
	assert_int_equal(code, EX_CONFIG);
	assert_null(strstr(err.s, "SECRET"));
	buf_release(&err);
}

static void
test_unknown_item(void **state)
{
	(void)state;
	const char *modes[] = { "{\"stale_mode\": \"call\"}", "{\"stale_mode\": \"entry\"}" };
	for (size_t m = 0; m < 2; m++) {
		ctl0("POST", "/_sim/reset", "{}");
		ctl0("POST", "/_sim/config", modes[m]);
		struct chan *c = open_chan("shop");
		struct buf err = BUF_INIT;
		struct cset s;
		cset_init(&s, 5);
		cset_set(&s, 0, 999999, 1, 3, 5);		/* no such item */
		cset_set(&s, 1, 5040, 1, qty_of(40, 1), 11);
		cset_set(&s, 2, 5041, 2, -1, 4);		/* not stocked at 2: set fails */
		cset_set(&s, 3, 5042, 1, -1, 42);		/* set, no compare */
		cset_set(&s, 4, 5043, 1, 1, 2);
		s.c[4].item = "not-a-gid";
		assert_int_equal(do_push(c, &s, "unknown", &err), 0);
		assert_int_equal(s.c[0].status, CS_FAILED);
		assert_non_null(strstr(s.c[0].error, "INVALID_INVENTORY_ITEM"));
		assert_int_equal(s.c[1].status, CS_APPLIED);
		assert_int_equal(shop_qty(5040, 1), 11);
		assert_int_equal(s.c[2].status, CS_FAILED);
		assert_non_null(strstr(s.c[2].error, "ITEM_NOT_STOCKED_AT_LOCATION"));
		assert_int_equal(s.c[3].status, CS_APPLIED);
		assert_int_equal(s.c[3].after, 42);
		assert_int_equal(shop_qty(5042, 1), 42);
		assert_int_equal(s.c[4].status, CS_FAILED);
		assert_non_null(strstr(s.c[4].error, "INVALID_INVENTORY_ITEM"));

		/* read: known, unknown item, not stocked */
		assert_int_equal(c->drv->read(c, s.v, 3, &err), 0);
		assert_false(s.c[0].has_current);
		assert_true(s.c[1].has_current);
		assert_int_equal(s.c[1].current, 11);
		assert_false(s.c[2].has_current);
		cset_free(&s);
		buf_release(&err);
		chan_close(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pull_all, reset),
		cmocka_unit_test_setup(test_pull_filters, reset),
		cmocka_unit_test_setup(test_pull_restart, reset),
		cmocka_unit_test_setup(test_throttle, reset),
		cmocka_unit_test_setup(test_faults, reset),
		cmocka_unit_test_setup(test_lost_answer, reset),
		cmocka_unit_test_setup(test_stale, reset),
		cmocka_unit_test_setup(test_sale_between, reset),
		cmocka_unit_test_setup(test_batches, reset),
		cmocka_unit_test_setup(test_bad_token, reset),
		cmocka_unit_test_setup(test_unknown_item, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
