/*
 * test_drv_woo.c - the WooCommerce driver against tests/sim: a site with
 * simple and variable products (some stock unmanaged, more than 100 of
 * everything so that pages and batches are exercised) is written as the
 * simulator's state, the channel is opened through chan_open from a config
 * with a 0600 token file, and pull/read/push are called directly.  The
 * simulator's write and request logs prove what was written, and how often.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "platform.h"

/* A strong reference: links the driver out of libinvkit.a (platform.c's is weak). */
extern const struct driver drv_woocommerce;

#define SITE "t1"
#define CK "ck_t1_a1b2c3d4e5f6"
#define CS "cs_t1_s3cr3t_f00ba7"

static char dir[] = "/tmp/invkit-woo.XXXXXX";
static char confpath[512], statepath[512], state2path[512];
static pid_t simpid = -1;
static int port;
static struct config cfg;

/* ---- the model: what the site holds ---- */

struct vmodel {
	int64_t id;
	int managed;
	int64_t qty;
	char sku[32];
};

struct pmodel {
	int64_t id;
	const char *type;
	int managed;
	int64_t qty;
	char sku[32];
	struct vmodel *v;
	size_t nv;
};

static struct pmodel prods[240];
static size_t nprods;
static size_t expect_unmanaged;

/*
 * 210 products, ids 1001..1210: every 10th unmanaged; every 25th variable
 * (two variations with stock, one without); 1205 variable with 130
 * variations (pages of variations); 1207 variable holding the stock itself
 * (its variations show manage_stock "parent"); 1209 grouped.
 */
static void
model_build(void)
{
	int64_t vid = 5001;
	nprods = 0;
	expect_unmanaged = 0;
	for (int i = 1; i <= 210; i++) {
		struct pmodel *p = &prods[nprods++];
		memset(p, 0, sizeof *p);
		p->id = 1000 + i;
		snprintf(p->sku, sizeof p->sku, "W-%04d", i);
		p->qty = (i * 7) % 50;
		p->type = "simple";
		p->managed = 1;
		if (i == 205 || i == 207 || i % 25 == 0) {
			p->type = "variable";
			p->managed = i == 207;
			p->nv = i == 205 ? 130 : 3;
			p->v = calloc(p->nv, sizeof *p->v);
			for (size_t k = 0; k < p->nv; k++) {
				struct vmodel *v = &p->v[k];
				v->id = vid++;
				snprintf(v->sku, sizeof v->sku, "%s-%zu", p->sku, k);
				v->qty = (int64_t)((k * 3 + (size_t)i) % 20);
				v->managed = i == 207 ? 0 : (p->nv == 3 ? k < 2 : k % 9 != 0);
				if (!v->managed && i != 207)
					expect_unmanaged++;
			}
		} else if (i == 209) {
			p->type = "grouped";
			p->managed = 0;
			expect_unmanaged++;
		} else if (i % 10 == 0) {
			p->managed = 0;
			expect_unmanaged++;
		}
	}
}

static void
model_free(void)
{
	for (size_t i = 0; i < nprods; i++)
		free(prods[i].v);
}

/* The simulator's state file for the model; skip one product id, add extra. */
static void
state_write(const char *path, int64_t skip, int extra)
{
	json_t *ps = json_array();
	for (size_t i = 0; i < nprods; i++) {
		struct pmodel *p = &prods[i];
		if (p->id == skip)
			continue;
		json_t *o = json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)p->id, "type", p->type,
		    "sku", p->sku, "manage_stock", p->managed);
		if (p->managed)
			json_object_set_new(o, "stock_quantity", json_integer(p->qty));
		if (p->nv) {
			json_t *vs = json_array();
			for (size_t k = 0; k < p->nv; k++) {
				json_t *v = json_pack("{s:I, s:s, s:b}", "id", (json_int_t)p->v[k].id,
				    "sku", p->v[k].sku, "manage_stock", p->v[k].managed);
				if (p->v[k].managed)
					json_object_set_new(v, "stock_quantity", json_integer(p->v[k].qty));
				json_array_append_new(vs, v);
			}
			json_object_set_new(o, "variations", vs);
		}
		json_array_append_new(ps, o);
	}
	for (int e = 0; e < extra; e++)
		json_array_append_new(ps, json_pack("{s:I, s:s, s:s, s:b, s:I}", "id",
		    (json_int_t)(2001 + e), "type", "simple", "sku", e == 0 ? "NEW-1" : e == 1 ? "NEW-2" :
		    "NEW-3", "manage_stock", 1, "stock_quantity", (json_int_t)(10 + e)));
	json_t *st = json_pack("{s:{s:{s:s, s:s, s:o}}}", "woocommerce", SITE, "consumer_key", CK,
	    "consumer_secret", CS, "products", ps);
	assert_int_equal(json_dump_file(st, path, JSON_COMPACT), 0);
	json_decref(st);
}

/* ---- the simulator ---- */

static const char *
sim_path(void)
{
	static char p[1024];
	const char *top = getenv("INVKIT_TOP");
	if (top) {
		snprintf(p, sizeof p, "%s/tests/sim/sim.py", top);
		if (!access(p, R_OK))
			return p;
	}
	char exe[900];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(p, sizeof p, "%s/../tests/sim/sim.py", dirname(exe));
		if (!access(p, R_OK))
			return p;
	}
	return "tests/sim/sim.py";
}

static void
sim_start(void)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	simpid = fork();
	assert_true(simpid >= 0);
	if (!simpid) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", sim_path(), "--port", "0", "--state", statepath,
		    "--seed", "1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[64] = "";
	size_t got = 0;
	while (got < sizeof line - 1) {
		ssize_t k = read(fds[0], line + got, 1);
		if (k <= 0 || line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	close(fds[0]);
	assert_int_equal(sscanf(line, "port %d", &port), 1);
}

static size_t
on_data(char *p, size_t sz, size_t nm, void *arg)
{
	buf_add(arg, p, sz * nm);
	return sz * nm;
}

/* A control request to the simulator; returns the HTTP status. */
static long
ctl(const char *method, const char *path, const char *body, struct buf *out)
{
	char url[256];
	struct buf tmp = BUF_INIT;
	long status = 0;
	CURL *h = curl_easy_init();
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &tmp);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	buf_release(&tmp);
	return status;
}

static void
ctl_ok(const char *method, const char *path, const char *body)
{
	struct buf b = BUF_INIT;
	long st = ctl(method, path, body, &b);
	if (st != 200)
		fail_msg("%s %s -> %ld %s", method, path, st, b.s ? b.s : "");
	buf_release(&b);
}

/* In a child: wait ms, then make a control request (changes mid-call). */
static pid_t
ctl_later(int ms, const char *method, const char *path, const char *body)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p)
		return p;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	_exit(ctl(method, path, body, NULL) == 200 ? 0 : 1);
}

static char *
slurp(const char *path)
{
	struct buf b = BUF_INIT;
	char t[4096];
	size_t k;
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while ((k = fread(t, 1, sizeof t, f)) > 0)
		buf_add(&b, t, k);
	fclose(f);
	return b.s;
}

/* "parent/variation" of variation k of product index i */
static const char *
vitem(char *out, size_t n, size_t i, size_t k)
{
	snprintf(out, n, "%lld/%lld", (long long)prods[i].id, (long long)prods[i].v[k].id);
	return out;
}

static void
child_wait(pid_t p)
{
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static json_t *
ctl_json(const char *path)
{
	struct buf b = BUF_INIT;
	assert_int_equal(ctl("GET", path, NULL, &b), 200);
	json_t *j = json_loadb(b.s, b.len, 0, NULL);
	assert_non_null(j);
	buf_release(&b);
	return j;
}

/* POSTs to a batch route (op) in the request log, and update writes. */
static size_t
count_requests(const char *method, const char *op)
{
	json_t *j = ctl_json("/_sim/log?kind=requests"), *r;
	size_t i, n = 0;
	json_array_foreach(json_object_get(j, "requests"), i, r) {
		if (strcmp(json_string_value(json_object_get(r, "method")), method) != 0)
			continue;
		json_t *ops = json_object_get(r, "ops"), *o;
		size_t k;
		json_array_foreach(ops, k, o)
			if (!strcmp(json_string_value(o), op))
				n++;
	}
	json_decref(j);
	return n;
}

static size_t
count_writes(int64_t item)
{
	json_t *j = ctl_json("/_sim/log?kind=writes"), *w;
	size_t i, n = 0;
	json_array_foreach(json_object_get(j, "writes"), i, w)
		if (!strcmp(json_string_value(json_object_get(w, "kind")), "update") &&
		    (!item || json_integer_value(json_object_get(w, "item")) == item))
			n++;
	json_decref(j);
	return n;
}

/* ---- setup ---- */

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	model_build();
	snprintf(statepath, sizeof statepath, "%s/state.json", dir);
	snprintf(state2path, sizeof state2path, "%s/state2.json", dir);
	state_write(statepath, 0, 0);
	sim_start();
	write_file("woo.token", CK ":" CS "\n", 0600);
	write_file("bad.token", CK ":cs_wrong_secret_value\n", 0600);
	write_file("nokey.token", "ck_unknown_key_0000:cs_unknown_0000\n", 0600);
	write_file("perm.token", CK ":" CS "\n", 0644);
	write_file("garbled.token", "justonestring\n", 0600);
	struct buf c = BUF_INIT;
	const char *names[][3] = {
		{ "woo", "woo.token", "" }, { "woo-bad", "bad.token", "" },
		{ "woo-nokey", "nokey.token", "" }, { "woo-perm", "perm.token", "" },
		{ "woo-garbled", "garbled.token", "" }, { "woo-q", "woo.token", "auth = query\n" },
		{ "woo-qbad", "bad.token", "auth = query\n" },
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		buf_addf(&c, "[%s]\ntype = woocommerce\nbase_url = http://127.0.0.1:%d/woo/" SITE "/\n"
		    "token_file = %s/%s\nconcurrency = 4\ntimeout = 10\n%s\n", names[i][0], port, dir,
		    names[i][1], names[i][2]);
	write_file("invkit.conf", c.s, 0644);
	buf_release(&c);
	snprintf(confpath, sizeof confpath, "%s/invkit.conf", dir);
	struct buf err = BUF_INIT;
	assert_int_equal(config_load(&cfg, confpath, &err), 0);
	buf_release(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (simpid > 0) {
		kill(simpid, SIGTERM);
		waitpid(simpid, NULL, 0);
	}
	config_release(&cfg);
	model_free();
	const char *files[] = { "state.json", "state2.json", "woo.token", "bad.token", "nokey.token",
		"perm.token", "garbled.token", "invkit.conf" };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char p[600];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	curl_global_cleanup();
	return 0;
}

static int
reset(void **state)
{
	(void)state;
	ctl_ok("POST", "/_sim/reset", "{}");
	return 0;
}

static struct chan *
open_chan(const char *name)
{
	struct buf err = BUF_INIT;
	int code = -1;
	struct chan *c = chan_open(&cfg, name, 0, &err, &code);
	if (!c)
		fail_msg("chan_open %s: %d %s", name, code, err.s ? err.s : "");
	buf_release(&err);
	return c;
}

/* ---- pull ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, const char *s);

static void
collect(const struct pulled *p, void *arg)
{
	struct lines *l = arg;
	char b[200];
	snprintf(b, sizeof b, "%s|%s|%lld|%s|%s", p->item, p->sku, (long long)p->qty, p->location,
	    p->state);
	lines_add(l, b);
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
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
lines_add(struct lines *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = strdup(s);
}

/* What a pull must emit for the model (skip one product, extra new ones). */
static void
expected(struct lines *l, int64_t skip, int extra)
{
	char b[200];
	for (size_t i = 0; i < nprods; i++) {
		struct pmodel *p = &prods[i];
		if (p->id == skip)
			continue;
		if (p->managed) {
			snprintf(b, sizeof b, "%lld|%s|%lld||available", (long long)p->id, p->sku,
			    (long long)p->qty);
			lines_add(l, b);
		}
		for (size_t k = 0; k < p->nv; k++) {
			if (!p->v[k].managed)
				continue;
			snprintf(b, sizeof b, "%lld/%lld|%s|%lld||available", (long long)p->id,
			    (long long)p->v[k].id, p->v[k].sku, (long long)p->v[k].qty);
			lines_add(l, b);
		}
	}
	for (int e = 0; e < extra; e++) {
		snprintf(b, sizeof b, "%d|NEW-%d|%d||available", 2001 + e, e + 1, 10 + e);
		lines_add(l, b);
	}
}

static void
assert_same(struct lines *got, struct lines *want)
{
	qsort(got->v, got->n, sizeof *got->v, strp_cmp);
	qsort(want->v, want->n, sizeof *want->v, strp_cmp);
	for (size_t i = 0; i < got->n && i < want->n; i++)
		if (strcmp(got->v[i], want->v[i]) != 0)
			fail_msg("pull line %zu: got %s, want %s", i, got->v[i], want->v[i]);
	assert_int_equal(got->n, want->n);
}

static void
test_pull(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;
	assert_ptr_equal(driver_find("woocommerce"), &drv_woocommerce);
	assert_ptr_equal(c->drv, &drv_woocommerce);
	assert_int_equal(c->drv->max_batch, 100);
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 0);
	expected(&want, 0, 0);
	assert_true(want.n > 250);
	assert_same(&got, &want);
	assert_int_equal(c->unmanaged, expect_unmanaged);
	/* 210 products: 3 pages (offsets 0, 99, 198); 10 variation lists, one of 2 pages */
	assert_int_equal(c->pages, 3 + 11);
	/* each variation right after its parent, in id order */
	lines_free(&got);
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 0);
	for (size_t i = 1; i < got.n; i++) {
		long long a = strtoll(got.v[i - 1], NULL, 10), b = strtoll(got.v[i], NULL, 10);
		assert_true(a <= b);
	}
	lines_free(&got);
	/* filters */
	char vi[48];
	const char *items[] = { "1001", vitem(vi, sizeof vi, 204, 21) };
	const char *skus[] = { "W-0002" };
	struct pull_opts o = { 0 };
	o.items = items;
	o.nitems = 2;
	assert_int_equal(c->drv->pull(c, &o, collect, &got, &err), 0);
	assert_int_equal(got.n, 2);
	lines_free(&got);
	memset(&o, 0, sizeof o);
	o.skus = skus;
	o.nskus = 1;
	assert_int_equal(c->drv->pull(c, &o, collect, &got, &err), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.v[0], "1002|W-0002|14||available");
	lines_free(&got);
	lines_free(&want);
	buf_release(&err);
	chan_close(c);
}

/* Products added, or one deleted, while the pull is under way. */
static void
test_pull_changes(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct lines got = { 0 }, want = { 0 };
	struct buf err = BUF_INIT;

	/* three new products while the second page waits */
	state_write(state2path, 0, 3);
	char *body = slurp(state2path);
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"slow\",\"ms\":800,\"skip\":1,"
	    "\"next\":1,\"match\":{\"op\":\"products\",\"method\":\"GET\"}}]}");
	pid_t p = ctl_later(250, "POST", "/_sim/state", body);
	free(body);
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 0);
	child_wait(p);
	assert_true(c->pages > 3 + 11);	/* the product list was read again */
	expected(&want, 0, 3);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);

	/* a product of the first page deleted: the rest shift, the seam shows it */
	ctl_ok("POST", "/_sim/reset", "{}");
	state_write(state2path, 1003, 0);
	body = slurp(state2path);
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"slow\",\"ms\":800,\"skip\":1,"
	    "\"next\":1,\"match\":{\"op\":\"products\",\"method\":\"GET\"}}]}");
	p = ctl_later(250, "POST", "/_sim/state", body);
	free(body);
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 0);
	child_wait(p);
	assert_true(c->pages > 3 + 11);
	expected(&want, 1003, 0);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);

	/* a page that keeps failing is an error (75), never a short list */
	ctl_ok("POST", "/_sim/reset", "{}");
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"429\",\"retry_after\":0,"
	    "\"skip\":1,\"match\":{\"op\":\"products\",\"method\":\"GET\"}}]}");
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 75);
	assert_int_equal(got.n, 0);
	assert_non_null(strstr(err.s, "HTTP 429"));
	assert_non_null(strstr(err.s, "[woo]: GET /woo/" SITE "/wp-json/wc/v3/products"));
	/* and a list that keeps changing is one too */
	lines_free(&got);
	buf_release(&err);
	chan_close(c);
}

/* ---- read ---- */

static void
test_read(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct buf err = BUF_INIT;
	struct corr k[7];
	struct corr *v[7];
	char a[48], b[48], d[48];
	const char *items[] = { "1001", "1010", vitem(a, sizeof a, 204, 21), "1207",
		vitem(b, sizeof b, 206, 1), "99999", vitem(d, sizeof d, 24, 0) };
	memset(k, 0, sizeof k);
	for (int i = 0; i < 7; i++) {
		k[i].item = items[i];
		k[i].location = "";
		k[i].has_current = 1;
		v[i] = &k[i];
	}
	assert_int_equal(c->drv->read(c, v, 7, &err), 0);
	assert_true(k[0].has_current);
	assert_int_equal(k[0].current, 7);		/* 1001: 1 * 7 % 50 */
	assert_false(k[1].has_current);			/* unmanaged */
	assert_true(k[2].has_current);			/* a variation of the big one */
	assert_int_equal(k[2].current, prods[204].v[21].qty);
	assert_true(k[3].has_current);			/* the variable product holding stock */
	assert_int_equal(k[3].current, prods[206].qty);
	assert_false(k[4].has_current);			/* its variation: the parent's stock */
	assert_false(k[5].has_current);			/* no such product */
	assert_true(k[6].has_current);			/* first variation of 1025 */
	assert_int_equal(k[6].current, prods[24].v[0].qty);
	buf_release(&err);
	chan_close(c);
}

/* ---- push ---- */

static struct corr *
corr_for(struct corr *k, const char *item, int64_t from, int64_t to)
{
	memset(k, 0, sizeof *k);
	k->item = item;
	k->location = "";
	k->sku = "";
	k->reason = "sync";
	k->has_from = 1;
	k->from = from;
	k->to = to;
	k->delta = to - from;
	return k;
}

/* Managed simple products: the first n. */
static size_t
simple_items(char (*items)[24], struct pmodel **pm, size_t n)
{
	size_t m = 0;
	for (size_t i = 0; i < nprods && m < n; i++)
		if (prods[i].managed && !prods[i].nv) {
			snprintf(items[m], sizeof items[m], "%lld", (long long)prods[i].id);
			pm[m++] = &prods[i];
		}
	return m;
}

static void
test_push_batches(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct buf err = BUF_INIT;
	static char items[150][24];
	static struct pmodel *pm[150];
	static struct corr k[150];
	static struct corr *v[150];
	assert_int_equal(simple_items(items, pm, 150), 150);
	for (size_t i = 0; i < 150; i++)
		v[i] = corr_for(&k[i], items[i], pm[i]->qty, pm[i]->qty + 3);
	ctl_ok("POST", "/_sim/log/clear", "{}");
	for (size_t off = 0; off < 150; off += c->drv->max_batch) {
		size_t n = 150 - off < c->drv->max_batch ? 150 - off : c->drv->max_batch;
		assert_int_equal(c->drv->push(c, v + off, n, "run-1", &err), 0);
	}
	for (size_t i = 0; i < 150; i++) {
		if (k[i].status != CS_APPLIED)
			fail_msg("%s: %s %s", k[i].item, corr_status_names[k[i].status], k[i].error);
		assert_true(k[i].has_after);
		assert_int_equal(k[i].after, pm[i]->qty + 3);
	}
	assert_int_equal(count_requests("POST", "products/batch"), 2);
	assert_int_equal(count_writes(0), 150);
	assert_int_equal(c->drv->read(c, v, 150, &err), 0);
	for (size_t i = 0; i < 150; i++)
		assert_int_equal(k[i].current, pm[i]->qty + 3);

	/* variations go to their parent's batch; unchanged and bad ones are not sent */
	struct corr q[6];
	struct corr *w[6];
	char i0[48], i1[48], i2[48];
	vitem(i0, sizeof i0, 204, 1);
	vitem(i1, sizeof i1, 204, 2);
	vitem(i2, sizeof i2, 49, 0);
	w[0] = corr_for(&q[0], i0, prods[204].v[1].qty, 40);
	w[1] = corr_for(&q[1], i1, prods[204].v[2].qty, 41);
	w[2] = corr_for(&q[2], i2, prods[49].v[0].qty, 42);
	w[3] = corr_for(&q[3], "1207", prods[206].qty, prods[206].qty);	/* delta 0 */
	w[4] = corr_for(&q[4], "12x", 1, 2);
	w[5] = corr_for(&q[5], "1001", 10, 11);
	q[5].location = "2";
	ctl_ok("POST", "/_sim/log/clear", "{}");
	assert_int_equal(c->drv->push(c, w, 6, "run-2", &err), 0);
	for (int i = 0; i < 3; i++) {
		if (q[i].status != CS_APPLIED)
			fail_msg("%s: %s %s", q[i].item, corr_status_names[q[i].status], q[i].error);
		assert_int_equal(q[i].after, q[i].to);
	}
	assert_int_equal(q[3].status, CS_UNCHANGED);
	assert_int_equal(q[4].status, CS_FAILED);
	assert_int_equal(q[5].status, CS_FAILED);
	assert_non_null(strstr(q[5].error, "location"));
	assert_int_equal(count_requests("POST", "variations/batch"), 2);
	assert_int_equal(count_requests("POST", "products/batch"), 0);
	assert_int_equal(count_writes(0), 3);
	buf_release(&err);
	chan_close(c);
}

/* A sale between our pull and our push: conflict, the sale survives. */
static void
test_push_sale(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct buf err = BUF_INIT;
	struct corr k[3];
	struct corr *v[3] = {
		corr_for(&k[0], "1003", prods[2].qty, 30),
		corr_for(&k[1], "1004", prods[3].qty, 31),
		corr_for(&k[2], "1005", prods[4].qty, 32),
	};
	ctl_ok("POST", "/_sim/sale", "{\"shop\":\"" SITE "\",\"item\":1004,\"qty\":2,\"platform\":\"woo\"}");
	assert_int_equal(c->drv->push(c, v, 3, "run-3", &err), 0);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[2].status, CS_APPLIED);
	assert_int_equal(k[1].status, CS_CONFLICT);
	char now[32];
	snprintf(now, sizeof now, "%lld now", (long long)prods[3].qty - 2);
	if (!strstr(k[1].error, now))
		fail_msg("conflict error lacks '%s': %s", now, k[1].error);
	assert_int_equal(count_writes(1004), 0);
	assert_int_equal(c->drv->read(c, v, 3, &err), 0);
	assert_int_equal(k[1].current, prods[3].qty - 2);
	assert_int_equal(k[0].current, 30);
	buf_release(&err);
	chan_close(c);
}

/* The batch is applied but its answer is lost; then one never sent at all. */
static void
test_push_lost(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct buf err = BUF_INIT;
	struct corr k[3];
	char vi[48];
	struct corr *v[3] = {
		corr_for(&k[0], "1003", prods[2].qty, 30),
		corr_for(&k[1], "1004", prods[3].qty, 31),
		corr_for(&k[2], vitem(vi, sizeof vi, 204, 1), prods[204].v[1].qty, 32),
	};
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"lost_answer\",\"next\":1,"
	    "\"match\":{\"op\":\"products/batch\"}}]}");
	assert_int_equal(c->drv->push(c, v, 3, "run-4", &err), 0);
	for (int i = 0; i < 3; i++) {
		if (k[i].status != CS_APPLIED)
			fail_msg("%s: %s %s", k[i].item, corr_status_names[k[i].status], k[i].error);
		assert_int_equal(k[i].after, k[i].to);
	}
	assert_int_equal(count_requests("POST", "products/batch"), 1);	/* never re-sent */
	assert_int_equal(count_writes(1003), 1);
	assert_int_equal(count_writes(1004), 1);
	assert_int_equal(count_writes(prods[204].v[1].id), 1);

	/* dropped before it was applied: unknown outcome, still not re-sent */
	ctl_ok("POST", "/_sim/reset", "{}");
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"drop\",\"next\":1,"
	    "\"match\":{\"op\":\"products/batch\"}}]}");
	assert_int_equal(c->drv->push(c, v, 2, "run-5", &err), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(k[i].status, CS_FAILED);
		assert_non_null(strstr(k[i].error, "unknown outcome, re-read shows"));
	}
	assert_int_equal(count_requests("POST", "products/batch"), 1);
	assert_int_equal(count_writes(0), 0);

	/* a 500 after applying: the same, resolved by the re-read */
	ctl_ok("POST", "/_sim/reset", "{}");
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"500\",\"phase\":\"after\",\"next\":1,"
	    "\"match\":{\"op\":\"products/batch\"}}]}");
	assert_int_equal(c->drv->push(c, v, 2, "run-6", &err), 0);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[1].status, CS_APPLIED);
	assert_int_equal(count_requests("POST", "products/batch"), 1);
	assert_int_equal(count_writes(0), 2);
	buf_release(&err);
	chan_close(c);
}

/* 429 and 503 are waited out; a sale during the wait is not erased. */
static void
test_push_throttled(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct buf err = BUF_INIT;
	struct corr k[3];
	struct corr *v[3] = {
		corr_for(&k[0], "1003", prods[2].qty, 30),
		corr_for(&k[1], "1004", prods[3].qty, 31),
		corr_for(&k[2], "1005", prods[4].qty, 32),
	};
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"429\",\"next\":1,"
	    "\"retry_after\":1,\"match\":{\"op\":\"products/batch\"}}]}");
	pid_t p = ctl_later(400, "POST", "/_sim/sale",
	    "{\"shop\":\"" SITE "\",\"item\":1004,\"qty\":1,\"platform\":\"woo\"}");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(c->drv->push(c, v, 3, "run-9", &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	child_wait(p);
	/* Retry-After: 1 was honoured */
	assert_true((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 >= 0.95);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[2].status, CS_APPLIED);
	/* the sale landed during the Retry-After wait: the re-read caught it */
	assert_int_equal(k[1].status, CS_CONFLICT);
	assert_int_equal(count_requests("POST", "products/batch"), 2);
	assert_int_equal(count_writes(1004), 0);
	assert_int_equal(c->drv->read(c, v, 3, &err), 0);
	assert_int_equal(k[1].current, prods[3].qty - 1);

	/* reads: 503 twice, then the pull goes through */
	ctl_ok("POST", "/_sim/reset", "{}");
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"503\",\"next\":2,"
	    "\"match\":{\"write\":false}}]}");
	struct lines got = { 0 }, want = { 0 };
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 0);
	expected(&want, 0, 0);
	assert_same(&got, &want);
	lines_free(&got);
	lines_free(&want);
	buf_release(&err);
	chan_close(c);
}

/* A per-item error in the batch answer (the product vanished meanwhile). */
static void
test_push_item_error(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo");
	struct buf err = BUF_INIT;
	struct corr k[3];
	struct corr *v[3] = {
		corr_for(&k[0], "1003", prods[2].qty, 30),
		corr_for(&k[1], "1004", prods[3].qty, 31),
		corr_for(&k[2], "1005", prods[4].qty, 32),
	};
	state_write(state2path, 1004, 0);
	char *body = slurp(state2path);
	ctl_ok("POST", "/_sim/faults", "{\"rules\":[{\"kind\":\"slow\",\"ms\":800,\"next\":1,"
	    "\"match\":{\"op\":\"products/batch\"}}]}");
	pid_t p = ctl_later(250, "POST", "/_sim/state", body);
	free(body);
	assert_int_equal(c->drv->push(c, v, 3, "run-7", &err), 0);
	child_wait(p);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[2].status, CS_APPLIED);
	assert_int_equal(k[1].status, CS_FAILED);
	if (!strstr(k[1].error, "woocommerce_rest_product_invalid_id"))
		fail_msg("per-item error: %s", k[1].error);
	assert_int_equal(count_requests("POST", "products/batch"), 1);
	buf_release(&err);
	chan_close(c);
}

/* ---- credentials ---- */

static void
no_secret(const char *s)
{
	if (s && (strstr(s, CS) || strstr(s, CK) || strstr(s, "cs_wrong_secret_value") ||
	    strstr(s, "cs_unknown_0000")))
		fail_msg("a secret leaked: %s", s);
}

static void
test_auth(void **state)
{
	(void)state;
	const char *names[] = { "woo-bad", "woo-nokey", "woo-qbad" };
	for (size_t i = 0; i < 3; i++) {
		struct chan *c = open_chan(names[i]);
		struct buf err = BUF_INIT;
		struct lines got = { 0 };
		assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 77);
		assert_int_equal(got.n, 0);
		assert_non_null(strstr(err.s, "401"));
		no_secret(err.s);
		struct corr k;
		struct corr *v = corr_for(&k, "1003", prods[2].qty, 30);
		assert_int_equal(c->drv->read(c, &v, 1, &err), 77);
		no_secret(err.s);
		assert_int_equal(c->drv->push(c, &v, 1, "run-8", &err), 77);
		assert_int_equal(k.status, CS_FAILED);
		no_secret(err.s);
		no_secret(k.error);
		lines_free(&got);
		buf_release(&err);
		chan_close(c);
	}
	assert_int_equal(count_writes(0), 0);

	/* query-string authentication works (when configured) */
	struct chan *c = open_chan("woo-q");
	struct buf err = BUF_INIT;
	struct lines got = { 0 };
	assert_int_equal(c->drv->pull(c, NULL, collect, &got, &err), 0);
	assert_true(got.n > 250);
	lines_free(&got);
	buf_release(&err);
	chan_close(c);

	/* refused before any request: readable token file, garbled secret */
	struct buf e = BUF_INIT;
	int code = 0;
	assert_null(chan_open(&cfg, "woo-perm", 0, &e, &code));
	assert_int_equal(code, 78);
	assert_non_null(strstr(e.s, "readable by others"));
	no_secret(e.s);
	assert_null(chan_open(&cfg, "woo-garbled", 0, &e, &code));
	assert_int_equal(code, 78);
	assert_null(strstr(e.s, "justonestring"));
	buf_release(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pull, reset),
		cmocka_unit_test_setup(test_pull_changes, reset),
		cmocka_unit_test_setup(test_read, reset),
		cmocka_unit_test_setup(test_push_batches, reset),
		cmocka_unit_test_setup(test_push_sale, reset),
		cmocka_unit_test_setup(test_push_lost, reset),
		cmocka_unit_test_setup(test_push_throttled, reset),
		cmocka_unit_test_setup(test_push_item_error, reset),
		cmocka_unit_test_setup(test_auth, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
