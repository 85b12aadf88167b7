/*
 * test_http.c - common/http.c against the platform simulator (tests/sim):
 * plain and concurrent GETs with connection reuse, retries on 503/429/500
 * and dropped connections, the `ambiguous` rule for non-idempotent writes
 * (checked against the simulator's write log), timeouts, the body limit,
 * http_url_ok, the token bucket, http_retry, http_header and the verbose
 * log (no query string, so no consumer secret).
 *
 * The group setup writes a state file, starts tests/sim/sim.py on a free
 * loopback port and reads the port; the teardown stops it.  The simulator
 * is found through $INVKIT_TOP or relative to this executable (bin/..).
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
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
#include "util.h"

#define CK "ck_test0123"
#define CS "cs_topsecret4567"
#define TOKEN "shpat_test89"

static const char state_json[] =
    "{\"shopify\": {\"demo\": {\"token\": \"" TOKEN "\","
    "  \"locations\": [{\"id\": 1, \"name\": \"Main\"}],"
    "  \"items\": [{\"id\": 1001, \"sku\": \"A-1\", \"levels\": {\"1\": 5}}]}},"
    " \"woocommerce\": {\"demo\": {\"consumer_key\": \"" CK "\", \"consumer_secret\": \"" CS "\","
    "  \"permissions\": \"read_write\", \"manage_stock\": true, \"products\": ["
    "   {\"id\": 10, \"type\": \"simple\", \"sku\": \"W-1\", \"name\": \"Mug\", \"manage_stock\": true, \"stock_quantity\": 5},"
    "   {\"id\": 11, \"type\": \"simple\", \"sku\": \"W-2\", \"name\": \"Cup\", \"manage_stock\": true, \"stock_quantity\": 3},"
    "   {\"id\": 12, \"type\": \"simple\", \"sku\": \"W-3\", \"name\": \"Pot\", \"manage_stock\": true, \"stock_quantity\": 8},"
    "   {\"id\": 13, \"type\": \"simple\", \"sku\": \"W-4\", \"name\": \"Pan\", \"manage_stock\": true, \"stock_quantity\": 0},"
    "   {\"id\": 14, \"type\": \"simple\", \"sku\": \"W-5\", \"name\": \"Jug\", \"manage_stock\": true, \"stock_quantity\": 2}"
    "  ]}}}\n";

static pid_t sim_pid = -1;
static int sim_port;
static char state_path[PATH_MAX];

/* ---- helpers ---- */

static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The repository top: $INVKIT_TOP, else the directory above bin/test_http. */
static int
find_top(char *top, size_t n)
{
	const char *e = getenv("INVKIT_TOP");
	if (e && *e) {
		snprintf(top, n, "%s", e);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return -1;
	exe[k] = '\0';
	for (int i = 0; i < 2; i++) {
		char *s = strrchr(exe, '/');
		if (!s)
			return -1;
		*s = '\0';
	}
	snprintf(top, n, "%s", exe);
	return 0;
}

static size_t
sink(char *p, size_t sz, size_t nm, void *arg)
{
	buf_add(arg, p, sz * nm);
	return sz * nm;
}

/* A control request to the simulator; returns its JSON answer (caller decrefs). */
static json_t *
ctl(const char *method, const char *path, const char *body)
{
	char url[256];
	struct buf out = BUF_INIT;
	long status = 0;
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", sim_port, path);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK || status != 200) {
		print_error("control %s %s: %s, HTTP %ld: %s\n", method, path, curl_easy_strerror(cc),
		    status, out.s ? out.s : "");
		buf_release(&out);
		fail();
	}
	json_error_t je;
	json_t *j = json_loadb(out.s ? out.s : "", out.len, 0, &je);
	buf_release(&out);
	assert_non_null(j);
	return j;
}

static void
ctl_do(const char *method, const char *path, const char *body)
{
	json_decref(ctl(method, path, body));
}

static void
faults(const char *rules_json)
{
	ctl_do("POST", "/_sim/faults", rules_json);
}

/* How many writes the simulator applied to WooCommerce product id. */
static int
writes_to(int id)
{
	json_t *j = ctl("GET", "/_sim/log?kind=writes", NULL);
	json_t *w = json_object_get(j, "writes"), *e;
	size_t i;
	int n = 0;
	assert_true(json_is_array(w));
	json_array_foreach(w, i, e) {
		if (json_integer_value(json_object_get(e, "item")) == id &&
		    !strcmp(json_string_value(json_object_get(e, "platform")), "woo"))
			n++;
	}
	json_decref(j);
	return n;
}

/* How many requests the simulator saw with this method and path substring
 * (dropped ones included); *faulted gets how many of them a fault hit. */
static int
requests_seen(const char *method, const char *path, int *faulted)
{
	json_t *j = ctl("GET", "/_sim/log?kind=requests", NULL);
	json_t *rq = json_object_get(j, "requests"), *e;
	size_t i;
	int n = 0, f = 0;
	assert_true(json_is_array(rq));
	json_array_foreach(rq, i, e) {
		const char *m = json_string_value(json_object_get(e, "method"));
		const char *p = json_string_value(json_object_get(e, "path"));
		if (m && p && !strcmp(m, method) && strstr(p, path)) {
			n++;
			f += !json_is_null(json_object_get(e, "fault"));
		}
	}
	json_decref(j);
	if (faulted)
		*faulted = f;
	return n;
}

/* The simulator's current stock_quantity of WooCommerce product id. */
static json_int_t
woo_stock(int id)
{
	json_t *j = ctl("GET", "/_sim/state", NULL);
	json_t *ps = json_object_get(json_object_get(json_object_get(j, "woocommerce"), "demo"), "products");
	json_t *e;
	size_t i;
	json_int_t q = -999;
	json_array_foreach(ps, i, e) {
		if (json_integer_value(json_object_get(e, "id")) == id)
			q = json_integer_value(json_object_get(e, "stock_quantity"));
	}
	json_decref(j);
	assert_int_not_equal(q, -999);
	return q;
}

/* Client sockets (any TCP state) connected to the simulator's port. */
static int
sockets_to_sim(void)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	if (!f)
		return -1;
	char line[512];
	int n = 0;
	unsigned rport;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, " %*d: %*x:%*x %*x:%x", &rport) == 1 && (int)rport == sim_port)
			n++;
	}
	fclose(f);
	return n;
}

static void
base64(struct buf *out, const char *s)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		buf_addc(out, t[v >> 18 & 63]);
		buf_addc(out, t[v >> 12 & 63]);
		buf_addc(out, i + 1 < n ? t[v >> 6 & 63] : '=');
		buf_addc(out, i + 2 < n ? t[v & 63] : '=');
	}
}

static void
count_done(struct http_req *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

/* A WooCommerce request to /wp-json/wc/v3/<rest> with HTTP Basic auth. */
static void
woo_req(struct http_req *r, const char *method, const char *rest, const char *body, int *ndone)
{
	struct buf a = BUF_INIT;
	http_req_init(r);
	r->method = method;
	buf_addf(&r->url, "http://127.0.0.1:%d/woo/demo/wp-json/wc/v3/%s", sim_port, rest);
	buf_adds(&a, "Authorization: Basic ");
	base64(&a, CK ":" CS);
	r->hdrs = curl_slist_append(r->hdrs, a.s);
	buf_release(&a);
	if (body) {
		r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
		buf_adds(&r->body, body);
	}
	r->done = count_done;
	r->arg = ndone;
}

/* One request, run to completion on h. */
static void
run1(struct http *h, struct http_req *r)
{
	int before = *(int *)r->arg;
	http_submit(h, r);
	http_run(h);
	assert_int_equal(*(int *)r->arg, before + 1);
}

/* Open a keep-alive connection on h first, so the request under test goes
 * out on a reused connection, as it does in a real run. */
static void
warm(struct http *h)
{
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products/10", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	http_req_release(&r);
}

static struct http *
new_http(int max_retries, double backoff_ms)
{
	struct http_opts o = { 0 };
	o.max_retries = max_retries;
	o.backoff_ms = backoff_ms;
	o.seed = 42;
	return http_new(&o);
}

#define BATCH_DELTA "{\"update\": [{\"id\": 10, \"inventory_delta\": -1}]}"

/* ---- setup ---- */

static int
group_setup(void **state)
{
	(void)state;
	char top[PATH_MAX], sim[PATH_MAX + 32];
	if (find_top(top, sizeof top) < 0)
		return -1;
	snprintf(sim, sizeof sim, "%s/tests/sim/sim.py", top);
	if (access(sim, R_OK) != 0) {
		fprintf(stderr, "test_http: no simulator at %s (set INVKIT_TOP)\n", sim);
		return -1;
	}
	const char *dir = getenv("TMPDIR");
	snprintf(state_path, sizeof state_path, "%s/invkit-test_http.XXXXXX",
	    dir && *dir ? dir : "/tmp");
	int fd = mkstemp(state_path);
	if (fd < 0)
		return -1;
	size_t n = strlen(state_json);
	if (write(fd, state_json, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	close(fd);

	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	sim_pid = fork();
	if (sim_pid < 0)
		return -1;
	if (sim_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* no orphan if this test dies */
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("python3", "python3", sim, "--port", "0", "--state", state_path, "--seed", "7",
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[64];
	size_t len = 0;
	while (len < sizeof line - 1) {
		ssize_t k = read(p[0], line + len, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(p[0]);
	unlink(state_path);	/* loaded by now; reset keeps it in memory */
	state_path[0] = '\0';
	if (sscanf(line, "port %d", &sim_port) != 1 || sim_port <= 0) {
		fprintf(stderr, "test_http: simulator said '%s'\n", line);
		return -1;
	}
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	int st = 0;
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		while (waitpid(sim_pid, &st, 0) < 0 && errno == EINTR)
			;
		sim_pid = -1;
	}
	if (state_path[0])
		unlink(state_path);
	curl_global_cleanup();
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Each case starts from the initial state: no faults, empty logs. */
static int
reset(void **state)
{
	(void)state;
	ctl_do("POST", "/_sim/reset", NULL);
	return 0;
}

/* ---- 1. plain GETs, concurrency, connection reuse ---- */

static void
test_get_plain(void **state)
{
	(void)state;
	struct http *h = new_http(0, 10);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products?per_page=2&orderby=id&order=asc", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.ambiguous, 0);
	assert_string_equal(r.error, "");
	assert_true(r.seconds >= 0 && r.seconds < 5);
	json_error_t je;
	json_t *j = json_loadb(r.resp.s, r.resp.len, 0, &je);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 10);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "sku")), "W-2");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 1), "stock_quantity")), 3);
	json_decref(j);
	const struct http_stats *st = http_stats(h);
	assert_int_equal(st->requests, 1);
	assert_int_equal(st->retries, 0);
	assert_int_equal(st->bytes_in, r.resp.len);
	assert_int_equal(st->bytes_out, 0);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("GET", "/wc/v3/products?per_page=2", NULL), 1);
}

static void
test_get_concurrent(void **state)
{
	(void)state;
	enum { N = 20 };
	/* every answer takes 150 ms: 20 in 5 waves of 4 is ~0.75 s, serial would be 3 s */
	faults("{\"rules\": [{\"kind\": \"slow\", \"ms\": 150, \"match\": {\"method\": \"GET\"}}]}");
	struct http *h = new_http(0, 10);
	struct http_req r[N];
	int n = 0;
	for (int i = 0; i < N; i++) {
		char rest[64];
		snprintf(rest, sizeof rest, "products/%d", 10 + i % 5);
		woo_req(&r[i], "GET", rest, NULL, &n);
		http_submit(h, &r[i]);
	}
	int socks0 = sockets_to_sim();
	double t0 = mono();
	http_run(h);
	double el = mono() - t0;
	int socks1 = sockets_to_sim();
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(r[i].status, 200);
		assert_int_equal(r[i].attempts, 1);
		json_error_t je;
		json_t *j = json_loadb(r[i].resp.s, r[i].resp.len, 0, &je);
		assert_int_equal(json_integer_value(json_object_get(j, "id")), 10 + i % 5);
		json_decref(j);
		http_req_release(&r[i]);
	}
	assert_true(el >= 0.7);		/* never more than 4 at once */
	assert_true(el < 2.5);		/* but 4 at once */
	const struct http_stats *st = http_stats(h);
	assert_int_equal(st->requests, N);
	assert_int_equal(st->retries, 0);
	assert_int_equal(st->ambiguous, 0);
	if (socks0 >= 0 && socks1 >= 0) {
		/* connections are reused: at most one per slot */
		assert_true(socks1 - socks0 >= 1);
		assert_true(socks1 - socks0 <= 4);
	}
	http_free(h);
	int f;
	assert_int_equal(requests_seen("GET", "/wc/v3/products/", &f), N);
	assert_int_equal(f, N);
}

/* ---- 2. 503 twice, then success ---- */

static void
test_get_503(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"503\", \"next\": 2, \"match\": {\"path\": \"/products/11\"}}]}");
	struct http *h = new_http(0, 20);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products/11", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.ambiguous, 0);
	assert_string_equal(r.error, "");
	assert_non_null(strstr(r.resp.s, "\"sku\":\"W-2\""));
	assert_true(r.seconds < 1.0);	/* backoff 20 ms, 40 ms (with jitter) */
	const struct http_stats *st = http_stats(h);
	assert_int_equal(st->requests, 1);
	assert_int_equal(st->retries, 2);
	assert_int_equal(st->throttled, 0);
	assert_int_equal(st->ambiguous, 0);
	http_req_release(&r);
	http_free(h);
	int f;
	assert_int_equal(requests_seen("GET", "/products/11", &f), 3);
	assert_int_equal(f, 2);
}

/* 503 forever: gives up after max_retries, not ambiguous */
static void
test_get_503_gives_up(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"503\", \"match\": {\"path\": \"/products/11\"}}]}");
	struct http *h = new_http(2, 5);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products/11", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.ambiguous, 0);
	assert_string_equal(r.error, "HTTP 503 (gave up after 3 attempts)");
	assert_int_equal(http_stats(h)->retries, 2);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("GET", "/products/11", NULL), 3);
}

/* ---- 3. 429 with Retry-After ---- */

static void
test_get_429_retry_after(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"429\", \"next\": 1, \"retry_after\": 1, \"match\": {\"platform\": \"woo\"}}]}");
	struct http *h = new_http(0, 10);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products/12", NULL, &n);
	double t0 = mono();
	run1(h, &r);
	double el = mono() - t0;
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.ambiguous, 0);
	assert_true(el >= 0.9);		/* Retry-After, not the 10 ms backoff */
	assert_true(el < 3.0);
	assert_true(r.seconds >= 0.9 && r.seconds < 3.0);
	const struct http_stats *st = http_stats(h);
	assert_int_equal(st->throttled, 1);
	assert_int_equal(st->retries, 1);
	assert_true(st->wait_seconds >= 0.8);
	http_req_release(&r);
	http_free(h);
	int f;
	assert_int_equal(requests_seen("GET", "/products/12", &f), 2);
	assert_int_equal(f, 1);
}

/* ---- 4. an idempotent GET survives a dropped connection and a 500 ---- */

static void
test_get_drop_and_500(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"drop\", \"next\": 1, \"match\": {\"path\": \"/products/13\"}},"
	    "{\"kind\": \"500\", \"next\": 1, \"match\": {\"path\": \"/products/14\"}}]}");
	struct http *h = new_http(0, 10);
	struct http_req r;
	int n = 0;

	woo_req(&r, "GET", "products/13", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.ambiguous, 0);
	assert_string_equal(r.error, "");
	assert_non_null(strstr(r.resp.s, "\"sku\":\"W-4\""));
	http_req_release(&r);

	woo_req(&r, "GET", "products/14", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.ambiguous, 0);
	assert_non_null(strstr(r.resp.s, "\"sku\":\"W-5\""));
	http_req_release(&r);

	const struct http_stats *st = http_stats(h);
	assert_int_equal(st->requests, 2);
	assert_int_equal(st->retries, 2);
	assert_int_equal(st->ambiguous, 0);
	http_free(h);
	int f;
	assert_int_equal(requests_seen("GET", "/products/13", &f), 2);
	assert_int_equal(f, 1);
	assert_int_equal(requests_seen("GET", "/products/14", &f), 2);
	assert_int_equal(f, 1);
}

/* ---- 5. a non-idempotent write is never re-sent without an answer ---- */

static void
test_post_lost_answer(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"lost_answer\", \"next\": 1, \"match\": {\"op\": \"products/batch\"}}]}");
	struct http *h = new_http(0, 10);
	warm(h);
	struct http_req r;
	int n = 0;
	woo_req(&r, "POST", "products/batch", BATCH_DELTA, &n);
	run1(h, &r);
	assert_int_equal(requests_seen("POST", "/products/batch", NULL), 1);
	assert_int_equal(writes_to(10), 1);	/* applied, exactly once */
	assert_int_equal(woo_stock(10), 4);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.ambiguous, 1);
	assert_string_equal(r.error, "Empty reply from server");
	const struct http_stats *st = http_stats(h);
	assert_int_equal(st->ambiguous, 1);
	assert_int_equal(st->retries, 0);
	assert_int_equal(st->bytes_out, strlen(BATCH_DELTA));
	http_req_release(&r);
	http_free(h);
}

static void
test_post_drop_before(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"drop\", \"phase\": \"before\", \"next\": 1, \"match\": {\"op\": \"products/batch\"}}]}");
	struct http *h = new_http(0, 10);
	warm(h);
	struct http_req r;
	int n = 0;
	woo_req(&r, "POST", "products/batch", BATCH_DELTA, &n);
	run1(h, &r);
	assert_int_equal(requests_seen("POST", "/products/batch", NULL), 1);
	assert_int_equal(writes_to(10), 0);
	assert_int_equal(woo_stock(10), 5);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.ambiguous, 1);	/* the client cannot tell it from lost_answer */
	assert_int_equal(http_stats(h)->ambiguous, 1);
	assert_int_equal(http_stats(h)->retries, 0);
	http_req_release(&r);
	http_free(h);
}

static void
test_post_503(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"503\", \"next\": 1, \"match\": {\"op\": \"products/batch\"}}]}");
	struct http *h = new_http(0, 10);
	warm(h);
	struct http_req r;
	int n = 0;
	woo_req(&r, "POST", "products/batch", BATCH_DELTA, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.ambiguous, 0);
	json_error_t je;
	json_t *j = json_loadb(r.resp.s, r.resp.len, 0, &je);
	json_t *u = json_array_get(json_object_get(j, "update"), 0);
	assert_int_equal(json_integer_value(json_object_get(u, "stock_quantity")), 4);
	json_decref(j);
	assert_int_equal(http_stats(h)->retries, 1);
	assert_int_equal(http_stats(h)->ambiguous, 0);
	assert_int_equal(http_stats(h)->bytes_out, 2 * strlen(BATCH_DELTA));
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("POST", "/products/batch", NULL), 2);
	assert_int_equal(writes_to(10), 1);
	assert_int_equal(woo_stock(10), 4);
}

static void
test_post_500(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"500\", \"next\": 1, \"match\": {\"op\": \"products/batch\"}}]}");
	struct http *h = new_http(0, 10);
	warm(h);
	struct http_req r;
	int n = 0;
	woo_req(&r, "POST", "products/batch", BATCH_DELTA, &n);
	run1(h, &r);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.ambiguous, 1);	/* a 500 may come after the write */
	assert_string_equal(r.error, "HTTP 500");
	assert_non_null(strstr(r.resp.s, "internal_server_error"));
	assert_int_equal(http_stats(h)->retries, 0);
	assert_int_equal(http_stats(h)->ambiguous, 1);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("POST", "/products/batch", NULL), 1);
	assert_int_equal(writes_to(10), 0);
	assert_int_equal(woo_stock(10), 5);
}

/* ---- 6. the same write marked idempotent (an absolute set) is re-sent ---- */

static void
test_post_idempotent_lost_answer(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"lost_answer\", \"next\": 1, \"match\": {\"op\": \"products/batch\"}}]}");
	/* on a fresh connection: on a reused one libcurl itself may re-send an
	 * idempotent request once, and attempts would stay 1 */
	struct http *h = new_http(0, 10);
	struct http_req r;
	int n = 0;
	woo_req(&r, "POST", "products/batch", "{\"update\": [{\"id\": 10, \"stock_quantity\": 7}]}", &n);
	r.idempotent = 1;
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.ambiguous, 0);
	assert_string_equal(r.error, "");
	assert_int_equal(http_stats(h)->retries, 1);
	assert_int_equal(http_stats(h)->ambiguous, 0);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("POST", "/products/batch", NULL), 2);
	assert_int_equal(writes_to(10), 2);	/* applied twice, harmlessly: 7 and 7 */
	assert_int_equal(woo_stock(10), 7);
}

/* never sent (connection refused) is always retried, even a write */
static void
test_post_never_sent(void **state)
{
	(void)state;
	struct http *h = new_http(2, 5);
	struct http_req r;
	int n = 0;
	http_req_init(&r);
	r.method = "POST";
	buf_adds(&r.url, "http://127.0.0.1:1/woo/demo/wp-json/wc/v3/products/batch");
	buf_adds(&r.body, BATCH_DELTA);
	r.done = count_done;
	r.arg = &n;
	run1(h, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.ambiguous, 0);	/* nothing reached a server */
	assert_non_null(strstr(r.error, "(gave up after 3 attempts)"));
	assert_int_equal(http_stats(h)->retries, 2);
	assert_int_equal(http_stats(h)->ambiguous, 0);
	http_req_release(&r);
	http_free(h);
}

/* ---- 7. timeout ---- */

static void
test_timeout(void **state)
{
	(void)state;
	faults("{\"rules\": [{\"kind\": \"slow\", \"ms\": 1500, \"match\": {\"path\": \"/products/12\"}}]}");
	struct http_opts o = { 0 };
	o.timeout_ms = 300;
	o.max_retries = 1;
	o.backoff_ms = 10;
	o.seed = 1;
	struct http *h = http_new(&o);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products/12", NULL, &n);
	double t0 = mono();
	run1(h, &r);
	double el = mono() - t0;
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 2);
	assert_non_null(strstr(r.error, "timed out"));
	assert_non_null(strstr(r.error, "(gave up after 2 attempts)"));
	assert_true(el >= 0.55 && el < 1.4);
	assert_int_equal(http_stats(h)->retries, 1);
	http_req_release(&r);
	http_free(h);
}

/* ---- 8. body limit ---- */

static void
test_max_body(void **state)
{
	(void)state;
	struct http_opts o = { 0 };
	o.max_body = 100;
	struct http *h = http_new(&o);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products?per_page=5", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.error, "response larger than 100 bytes");
	assert_int_equal(r.ambiguous, 0);	/* a GET applies nothing */
	assert_true(r.resp.len <= 100);
	assert_int_equal(http_stats(h)->retries, 0);
	http_req_release(&r);

	/* a write whose answer is cut short was applied: ambiguous, not re-sent */
	woo_req(&r, "POST", "products/batch", BATCH_DELTA, &n);
	run1(h, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.ambiguous, 1);
	assert_string_equal(r.error, "response larger than 100 bytes");
	assert_int_equal(http_stats(h)->retries, 0);
	assert_int_equal(http_stats(h)->ambiguous, 1);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("POST", "/products/batch", NULL), 1);
	assert_int_equal(writes_to(10), 1);
	assert_int_equal(woo_stock(10), 4);
}

/* ---- 9. http_url_ok ---- */

static void
test_url_ok(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	assert_int_equal(http_url_ok("https://shop.example.com/", &err), 0);
	assert_int_equal(err.len, 0);
	assert_int_equal(http_url_ok("http://127.0.0.1:1/x", &err), 0);
	assert_int_equal(http_url_ok("http://127.0.0.1", &err), 0);
	assert_int_equal(http_url_ok("http://localhost:8/", &err), 0);
	assert_int_equal(http_url_ok("http://localhost", &err), 0);
	assert_int_equal(http_url_ok("http://[::1]:9/", &err), 0);
	assert_int_equal(http_url_ok("http://user@127.0.0.1/", &err), 0);
	assert_int_equal(http_url_ok("http://user:pw@localhost:80/a?b", &err), 0);

	assert_int_equal(http_url_ok("http://example.com/", &err), -1);
	assert_non_null(strstr(err.s, "plain http:// is refused for 'example.com'"));
	assert_int_equal(http_url_ok("ftp://127.0.0.1/", &err), -1);
	assert_non_null(strstr(err.s, "must start with https://"));
	assert_int_equal(http_url_ok("http://localhost.example.com/", &err), -1);
	assert_int_equal(http_url_ok("http://127.0.0.1@example.com/", &err), -1);
	assert_non_null(strstr(err.s, "'example.com'"));
	/* a DNS name that merely starts with "127." is not loopback */
	assert_int_equal(http_url_ok("http://127.0.0.1.example.com/", &err), -1);
	assert_int_equal(http_url_ok("http://127.example.com:80/", &err), -1);
	buf_release(&err);
}

/* ---- 10. token bucket ---- */

static void
test_bucket(void **state)
{
	(void)state;
	struct http *h = new_http(0, 10);
	struct http_req r[5];
	int n = 0;
	http_bucket(h, 10, 0, 100);	/* empty, 100 tokens/s: 5 x 5 tokens take 0.25 s */
	double t0 = mono();
	for (int i = 0; i < 5; i++) {
		woo_req(&r[i], "GET", "products/10", NULL, &n);
		r[i].cost = 5;
		http_submit(h, &r[i]);
	}
	http_run(h);
	double el = mono() - t0;
	assert_int_equal(n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].status, 200);
		assert_int_equal(r[i].attempts, 1);
		http_req_release(&r[i]);
	}
	assert_true(el >= 0.2);
	assert_true(el < 2.0);
	assert_true(http_stats(h)->throttled > 0);
	assert_int_equal(http_stats(h)->retries, 0);
	http_free(h);
	assert_int_equal(requests_seen("GET", "/products/10", NULL), 5);
}

/* ---- 11. http_retry from a done callback ---- */

struct rctx {
	struct http *h;
	int calls;
	int rets[8];
	double delay;
	int throttled;	/* Shopify: answers that said THROTTLED */
};

/* Re-send every answer until http_retry refuses. */
static void
retry_always(struct http_req *r, void *arg)
{
	struct rctx *c = arg;
	if (c->calls < 8)
		c->rets[c->calls] = r->status == 200 ? http_retry(c->h, r, c->delay) : 99;
	c->calls++;
}

/*
 * A request costing more than the whole bucket (its size reported smaller
 * after the cost was set) is sent once the bucket is full, not held for
 * ever (found by fuzz_shopify: tests/fuzz/corpus/fuzz_shopify/
 * regress_bucket_shrank).
 */
static void
test_bucket_shrank(void **state)
{
	(void)state;
	struct http *h = new_http(0, 10);
	struct http_req r;
	int n = 0;
	woo_req(&r, "GET", "products/10", NULL, &n);
	r.cost = 752;
	http_bucket(h, 2000, 2000, 100);
	http_submit(h, &r);
	http_bucket(h, 50, 0, 1000);	/* 50 tokens at most, 1000 a second: 0.05 s */
	alarm(10);			/* before the fix: a wait for ever */
	double t0 = mono();
	http_run(h);
	alarm(0);
	assert_int_equal(n, 1);
	assert_int_equal(r.status, 200);
	assert_true(mono() - t0 < 2.0);
	assert_true(r.cost == 50);
	http_req_release(&r);
	http_free(h);
}

static void
test_retry_callback(void **state)
{
	(void)state;
	struct http *h = new_http(2, 10);
	struct rctx c = { h, 0, { 0 }, 0.15, 0 };
	struct http_req r;
	int unused = 0;
	woo_req(&r, "GET", "products/11", NULL, &unused);
	r.done = retry_always;
	r.arg = &c;
	double t0 = mono();
	http_submit(h, &r);
	http_run(h);
	double el = mono() - t0;
	assert_int_equal(c.calls, 3);
	assert_int_equal(c.rets[0], 0);
	assert_int_equal(c.rets[1], 0);
	assert_int_equal(c.rets[2], -1);	/* max_retries 2 reached */
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.status, 200);
	assert_true(el >= 0.3);			/* two delays of 0.15 s */
	assert_true(r.seconds >= 0.3 && r.seconds < 3.0);	/* the whole run, retries included */
	assert_int_equal(http_stats(h)->retries, 2);
	assert_int_equal(http_stats(h)->requests, 1);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("GET", "/products/11", NULL), 3);
}

/* A Shopify query answered THROTTLED with HTTP 200: the callback re-sends it. */
static void
shopify_done(struct http_req *r, void *arg)
{
	struct rctx *c = arg;
	c->calls++;
	json_error_t je;
	json_t *j = json_loadb(r->resp.s ? r->resp.s : "", r->resp.len, 0, &je);
	json_t *code = json_object_get(json_object_get(json_array_get(json_object_get(j, "errors"), 0),
	    "extensions"), "code");
	if (r->status == 200 && json_is_string(code) && !strcmp(json_string_value(code), "THROTTLED")) {
		c->throttled++;
		/* the bucket refills only now: the retry is answered, however slow the machine */
		ctl_do("POST", "/_sim/bucket", "{\"shop\": \"demo\", \"available\": 1000}");
		c->rets[0] = http_retry(c->h, r, c->delay);
	}
	json_decref(j);
}

static void
test_retry_throttled_200(void **state)
{
	(void)state;
	/* empty and not refilling: the first answer is THROTTLED on any machine */
	ctl_do("POST", "/_sim/bucket", "{\"shop\": \"demo\", \"available\": 0, \"restore_rate\": 0}");
	struct http *h = new_http(0, 10);
	struct rctx c = { h, 0, { 7 }, 0.1, 0 };
	struct http_req r;
	http_req_init(&r);
	r.method = "POST";
	r.idempotent = 1;
	buf_addf(&r.url, "http://127.0.0.1:%d/shopify/demo/admin/api/2026-10/graphql.json", sim_port);
	r.hdrs = curl_slist_append(r.hdrs, "X-Shopify-Access-Token: " TOKEN);
	r.hdrs = curl_slist_append(r.hdrs, "Content-Type: application/json");
	buf_adds(&r.body, "{\"query\": \"{ shop { name myshopifyDomain } }\"}");
	r.done = shopify_done;
	r.arg = &c;
	http_submit(h, &r);
	http_run(h);
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.throttled, 1);
	assert_int_equal(c.rets[0], 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	json_error_t je;
	json_t *j = json_loadb(r.resp.s, r.resp.len, 0, &je);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "data"),
	    "shop"), "myshopifyDomain")), "demo.myshopify.com");
	json_decref(j);
	assert_int_equal(http_stats(h)->retries, 1);
	http_req_release(&r);
	http_free(h);
	assert_int_equal(requests_seen("POST", "/graphql.json", NULL), 2);
}

/* ---- 12. http_header ---- */

static void
test_header(void **state)
{
	(void)state;
	struct http *h = new_http(0, 10);
	struct http_req r;
	int n = 0;
	struct buf v = BUF_INIT;
	woo_req(&r, "GET", "products?per_page=2", NULL, &n);
	run1(h, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(http_header(&r, "X-WP-TotalPages", &v), "3");
	assert_string_equal(http_header(&r, "x-wp-totalpages", &v), "3");
	assert_string_equal(http_header(&r, "X-WP-TOTALPAGES", &v), "3");
	assert_string_equal(http_header(&r, "x-wp-total", &v), "5");	/* not a prefix match */
	assert_string_equal(http_header(&r, "content-type", &v), "application/json; charset=UTF-8");
	assert_non_null(strstr(http_header(&r, "Link", &v), "rel=\"next\""));
	assert_non_null(http_header(&r, "x-request-id", &v));
	assert_memory_equal(v.s, "sim-", 4);
	assert_null(http_header(&r, "X-WP", &v));
	assert_null(http_header(&r, "Retry-After", &v));
	buf_release(&v);
	http_req_release(&r);
	http_free(h);
}

/* ---- 13. verbose: method, path, status; never the query string ---- */

static void
test_verbose(void **state)
{
	(void)state;
	struct http_opts o = { 0 };
	o.verbose = 1;
	struct http *h = http_new(&o);
	struct http_req r;
	int n = 0;
	http_req_init(&r);
	buf_addf(&r.url, "http://127.0.0.1:%d/woo/demo/wp-json/wc/v3/products?consumer_key=" CK
	    "&consumer_secret=" CS "&per_page=1", sim_port);
	r.done = count_done;
	r.arg = &n;

	char path[] = "/tmp/invkit-test_http-err.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	dup2(fd, 2);
	http_submit(h, &r);
	http_run(h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	char text[4096];
	ssize_t k = pread(fd, text, sizeof text - 1, 0);
	close(fd);
	assert_true(k > 0);
	text[k] = '\0';
	assert_int_equal(n, 1);
	assert_int_equal(r.status, 200);
	struct buf want = BUF_INIT;
	buf_addf(&want, "%s: GET /woo/demo/wp-json/wc/v3/products -> 200\n", progname);
	assert_string_equal(text, want.s);
	assert_null(strstr(text, CS));
	assert_null(strstr(text, CK));
	assert_null(strstr(text, "consumer"));
	assert_null(strstr(text, "?"));
	buf_release(&want);
	http_req_release(&r);
	http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_ok),
		cmocka_unit_test_setup(test_get_plain, reset),
		cmocka_unit_test_setup(test_get_concurrent, reset),
		cmocka_unit_test_setup(test_get_503, reset),
		cmocka_unit_test_setup(test_get_503_gives_up, reset),
		cmocka_unit_test_setup(test_get_429_retry_after, reset),
		cmocka_unit_test_setup(test_get_drop_and_500, reset),
		cmocka_unit_test_setup(test_post_lost_answer, reset),
		cmocka_unit_test_setup(test_post_drop_before, reset),
		cmocka_unit_test_setup(test_post_503, reset),
		cmocka_unit_test_setup(test_post_500, reset),
		cmocka_unit_test_setup(test_post_idempotent_lost_answer, reset),
		cmocka_unit_test_setup(test_post_never_sent, reset),
		cmocka_unit_test_setup(test_max_body, reset),
		cmocka_unit_test_setup(test_bucket, reset),
		cmocka_unit_test_setup(test_bucket_shrank, reset),
		cmocka_unit_test_setup(test_retry_callback, reset),
		cmocka_unit_test_setup(test_retry_throttled_200, reset),
		cmocka_unit_test_setup(test_header, reset),
		cmocka_unit_test_setup(test_verbose, reset),
		/* last: the simulator's slow handlers outlive the client's timeout */
		cmocka_unit_test_setup(test_timeout, reset),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
