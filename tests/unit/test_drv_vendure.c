/*
 * test_drv_vendure.c - the Vendure driver's reading of answers, against
 * canned ones: a child process serves a scripted list of HTTP answers on
 * a loopback port, one per request, and logs each request's credentials
 * header and body, so a case checks both what the driver concluded and
 * what it sent.  The answers are shaped like those of a real Vendure
 * 3.7.3 (tests/real/vendure.sh runs the driver against one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "platform.h"

/* A strong reference: links the driver out of libinvkit.a. */
extern const struct driver drv_vendure;

#define KEY "a1b2c3d4e5f6a1b2c3d4e5f6:5ec2e7f00d5ec2e7f00d5ec2e7f00d5ec2e7f00d"

static char dir[] = "/tmp/invkit-vendure.XXXXXX";
static char logpath[512], confpath[512];
static int lsock = -1, port;
static pid_t srv = -1;

struct canned {
	int status;
	const char *body;
};

/* ---- the canned server ---- */

static void
serve(const struct canned *c, size_t n)
{
	for (size_t i = 0;; i++) {
		int s = accept(lsock, NULL, NULL);
		if (s < 0)
			continue;
		char buf[1 << 16];
		size_t got = 0;
		char *end = NULL;
		while (got < sizeof buf - 1 && !end) {
			ssize_t k = read(s, buf + got, sizeof buf - 1 - got);
			if (k <= 0)
				break;
			got += (size_t)k;
			buf[got] = '\0';
			end = strstr(buf, "\r\n\r\n");
		}
		if (!end) {
			close(s);
			continue;
		}
		size_t clen = 0;
		char *cl = strstr(buf, "\r\nContent-Length:");
		if (cl)
			clen = strtoul(cl + 17, NULL, 10);
		size_t want = (size_t)(end + 4 - buf) + clen;
		while (got < want && got < sizeof buf - 1) {
			ssize_t k = read(s, buf + got, sizeof buf - 1 - got);
			if (k <= 0)
				break;
			got += (size_t)k;
		}
		buf[got] = '\0';
		const char *auth = "none";
		char authv[256];
		char *h = strstr(buf, "\r\nvendure-api-key: ");
		char *b = strstr(buf, "\r\nAuthorization: ");
		if (h || b) {
			char *v = h ? h + 2 : b + 2;
			size_t k = strcspn(v, "\r");
			snprintf(authv, sizeof authv, "%.*s", (int)k, v);
			auth = authv;
		}
		FILE *f = fopen(logpath, "a");
		fprintf(f, "%s\t%s\n", auth, end + 4);
		fclose(f);
		int st = i < n ? c[i].status : 599;
		const char *body = i < n ? c[i].body : "{\"unexpected\":true}";
		char head[256];
		int hl = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", st, strlen(body));
		if (write(s, head, (size_t)hl) < 0 || write(s, body, strlen(body)) < 0)
			_exit(2);
		close(s);
	}
}

static void
serve_start(const struct canned *c, size_t n)
{
	unlink(logpath);
	srv = fork();
	assert_true(srv >= 0);
	if (!srv) {
		/* never outlive the test, never hold its output open */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		serve(c, n);
		_exit(0);
	}
}

static void
serve_stop(void)
{
	int st;
	if (srv > 0) {
		kill(srv, SIGTERM);
		waitpid(srv, &st, 0);
		srv = -1;
	}
}

/* The request log: one "auth<TAB>body" line a request. */
static char *
slurp(const char *path)
{
	struct buf b = BUF_INIT;
	char t[4096];
	size_t k;
	FILE *f = fopen(path, "r");
	if (!f)
		return xstrdup("");
	while ((k = fread(t, 1, sizeof t, f)) > 0)
		buf_add(&b, t, k);
	fclose(f);
	return b.s ? b.s : xstrdup("");
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* ---- channels ---- */

static struct config cfg;

/* Write the configuration with extra lines for [v] and open it. */
static struct chan *
open_chan(const char *extra, const char *secret, int *code, struct buf *err)
{
	char keypath[600];
	snprintf(keypath, sizeof keypath, "%s/key", dir);
	FILE *f = fopen(keypath, "w");
	fprintf(f, "%s\n", secret);
	fclose(f);
	chmod(keypath, 0600);
	f = fopen(confpath, "w");
	fprintf(f, "[v]\ntype = vendure\nbase_url = http://127.0.0.1:%d\ntoken_file = %s\n%s", port,
	    keypath, extra ? extra : "");
	fclose(f);
	config_release(&cfg);
	struct buf e = BUF_INIT;
	assert_int_equal(config_load(&cfg, confpath, &e), 0);
	buf_release(&e);
	return chan_open(&cfg, "v", 0, err, code);
}

static struct buf pulled;

static void
emit(const struct pulled *p, void *arg)
{
	(void)arg;
	buf_addf(&pulled, "%s %s %s %s %lld\n", p->item, p->sku, p->location, p->state,
	    (long long)p->qty);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	snprintf(confpath, sizeof confpath, "%s/invkit.conf", dir);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsock = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lsock >= 0);
	assert_int_equal(bind(lsock, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lsock, 16), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(lsock, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	serve_stop();
	config_release(&cfg);
	buf_release(&pulled);
	close(lsock);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* After each case, passed or failed: the server of the case goes. */
static int
after_case(void **state)
{
	(void)state;
	serve_stop();
	buf_reset(&pulled);
	return 0;
}

static void
after(void)
{
	serve_stop();
	buf_reset(&pulled);
}

/* ---- pull ---- */

#define V(id, sku, levels) "{\"id\":\"" id "\",\"sku\":\"" sku "\",\"stockLevels\":[" levels "]}"
#define L(loc, oh, al) "{\"stockLocationId\":\"" loc "\",\"stockOnHand\":" #oh ",\"stockAllocated\":" #al "}"
#define PAGE(total, items) "{\"data\":{\"productVariants\":{\"totalItems\":" #total ",\"items\":[" items "]}}}"

static void
pull_pages(void **state)
{
	(void)state;
	/* page_size 3: pages start at 0 and 2, each repeating the last variant before */
	const struct canned c[] = {
		{ 200, PAGE(5, V("1", "A", L("1", 10, 2) "," L("2", 5, 0)) "," V("2", "B", L("1", 0, 0)) ","
		    V("3", "C", L("1", 7, 7) "," L("2", -1, 0))) },
		{ 200, PAGE(5, V("3", "C", L("1", 7, 7) "," L("2", -1, 0)) "," V("4", "D", L("1", 3, 1)) ","
		    V("5", "E", "")) },
	};
	serve_start(c, 2);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan("page_size = 3\n", KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), 0);
	assert_string_equal(pulled.s,
	    "1 A 1 available 8\n1 A 2 available 5\n2 B 1 available 0\n3 C 1 available 0\n"
	    "3 C 2 available -1\n4 D 1 available 2\n");
	assert_int_equal(ch->pages, 2);
	chan_close(ch);
	char *log = slurp(logpath);
	assert_int_equal(count(log, "\n"), 2);
	assert_int_equal(count(log, "vendure-api-key: " KEY "\t"), 2);
	assert_non_null(strstr(log, "\"variables\":{\"options\":{\"skip\":0,\"take\":3,\"sort\":{\"id\":\"ASC\"}}}"));
	assert_non_null(strstr(log, "\"variables\":{\"options\":{\"skip\":2,\"take\":3,\"sort\":{\"id\":\"ASC\"}}}"));
	assert_int_equal(count(log, "query invkitPull"), 2);
	free(log);
	buf_release(&err);
	after();
}

static void
pull_on_hand_and_locations(void **state)
{
	(void)state;
	const struct canned c[] = {
		{ 200, PAGE(2, V("1", "A", L("1", 10, 2) "," L("2", 5, 0)) "," V("2", "B", L("2", 4, 4))) },
	};
	serve_start(c, 1);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan("quantity = on_hand\nlocations = 2\nauth = bearer\n", "tok3n",
	    &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), 0);
	assert_string_equal(pulled.s, "1 A 2 on_hand 5\n2 B 2 on_hand 4\n");
	chan_close(ch);
	char *log = slurp(logpath);
	assert_int_equal(count(log, "Authorization: Bearer tok3n\t"), 1);
	free(log);
	buf_release(&err);
	after();
}

static void
pull_list_changed(void **state)
{
	(void)state;
	/* a variant deleted between the pages: page 2 does not start with 3; read again */
	const struct canned c[] = {
		{ 200, PAGE(5, V("1", "A", "") "," V("2", "B", "") "," V("3", "C", "")) },
		{ 200, PAGE(5, V("4", "D", "") "," V("5", "E", "") "," V("6", "F", "")) },
		{ 200, PAGE(5, V("1", "A", "") "," V("2", "B", "") "," V("4", "D", L("1", 1, 0))) },
		{ 200, PAGE(5, V("4", "D", L("1", 1, 0)) "," V("5", "E", "") "," V("6", "F", L("1", 2, 0))) },
	};
	serve_start(c, 4);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan("page_size = 3\n", KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), 0);
	assert_string_equal(pulled.s, "4 D 1 available 1\n6 F 1 available 2\n");
	chan_close(ch);
	char *log = slurp(logpath);
	assert_int_equal(count(log, "\n"), 4);
	free(log);
	buf_release(&err);
	after();
}

static void
pull_forbidden(void **state)
{
	(void)state;
	const struct canned c[] = {
		{ 200, "{\"errors\":[{\"message\":\"You are not currently authorized to perform this "
		    "action (" KEY ")\",\"locations\":[{\"line\":1,\"column\":3}],\"path\":[\"productVariants\"],"
		    "\"extensions\":{\"code\":\"FORBIDDEN\"}}],\"data\":null}" },
	};
	serve_start(c, 1);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), EX_NOPERM);
	assert_non_null(strstr(err.s, "[v]: POST /admin-api: FORBIDDEN: You are not currently "
	    "authorized to perform this action ([REDACTED])"));
	assert_null(strstr(err.s, "5ec2e7f00d"));
	assert_int_equal(pulled.len, 0);
	chan_close(ch);
	buf_release(&err);
	after();
}

static void
pull_bad_answers(void **state)
{
	(void)state;
	const struct canned c[] = {
		{ 200, "<html>not json</html>" },
		{ 200, PAGE(1, "{\"id\":\"1\",\"sku\":\"A\",\"stockLevels\":[{\"stockLocationId\":\"1\","
		    "\"stockOnHand\":\"ten\",\"stockAllocated\":0}]}") },
		{ 200, "{\"errors\":[{\"message\":\"Cannot take more than 1000 results from a list query\","
		    "\"extensions\":{\"code\":\"USER_INPUT_ERROR\"}}],\"data\":null}" },
		{ 404, "{}" },
	};
	serve_start(c, 4);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), EX_DATAERR);
	assert_non_null(strstr(err.s, "the answer is not a JSON object"));
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), EX_DATAERR);
	assert_string_equal(err.s, "[v]: a stock level without integer stockOnHand and stockAllocated "
	    "in the answer");
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), EX_UNAVAILABLE);
	assert_string_equal(err.s, "[v]: POST /admin-api: USER_INPUT_ERROR: Cannot take more than 1000 "
	    "results from a list query");
	assert_int_equal(ch->drv->pull(ch, NULL, emit, NULL, &err), EX_CONFIG);
	assert_non_null(strstr(err.s, "HTTP 404: check base_url"));
	assert_int_equal(pulled.len, 0);
	chan_close(ch);
	buf_release(&err);
	after();
}

/* ---- push ---- */

struct cset {
	struct corr c[8];
	struct corr *v[8];
	size_t n;
};

static void
corr_add(struct cset *s, const char *item, const char *loc, int has_from, int64_t from, int64_t to)
{
	struct corr *k = &s->c[s->n];
	memset(k, 0, sizeof *k);
	k->item = item;
	k->sku = "";
	k->location = loc;
	k->reason = "sync";
	k->has_from = has_from;
	k->from = from;
	k->to = to;
	k->delta = to - (has_from ? from : 0);
	s->v[s->n] = k;
	s->n++;
}

#define RV(id, moves, levels) "{\"id\":\"" id "\",\"sku\":\"S" id "\",\"stockLevels\":[" levels "]," \
	"\"stockMovements\":{\"totalItems\":" #moves "}}"
#define READ(items) "{\"data\":{\"productVariants\":{\"totalItems\":9,\"items\":[" items "]}}}"
#define WROTE(items) "{\"data\":{\"updateProductVariants\":[" items "]}}"

static void
push_plan(void **state)
{
	(void)state;
	const struct canned c[] = {
		{ 200, READ(RV("1", 4, L("1", 10, 2) "," L("2", 6, 0)) "," RV("2", 1, L("1", 4, 0)) ","
		    RV("3", 0, L("1", 0, 0))) },
		{ 200, WROTE(RV("1", 5, L("1", 14, 2) "," L("2", 6, 0)) "," RV("3", 1, L("1", 0, 0) ","
		    L("9", 6, 0))) },
	};
	serve_start(c, 2);
	struct cset s = { .n = 0 };
	corr_add(&s, "1", "1", 1, 8, 12);	/* available 8: stockOnHand 12 + 2 allocated */
	corr_add(&s, "1", "2", 1, 5, 9);	/* shows 6 now: conflict */
	corr_add(&s, "2", "1", 1, 0, 4);	/* shows 4 already */
	corr_add(&s, "3", "9", 0, 0, 6);	/* no level yet: created */
	corr_add(&s, "99", "1", 1, 1, 2);	/* no such variant */
	corr_add(&s, "3", "", 1, 1, 2);		/* no location */
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), 0);
	assert_int_equal(s.c[0].status, CS_APPLIED);
	assert_true(s.c[0].has_after && s.c[0].after == 12);
	assert_int_equal(s.c[1].status, CS_CONFLICT);
	assert_string_equal(s.c[1].error, "quantity moved since it was read: 5 expected, 6 now (not written)");
	assert_int_equal(s.c[2].status, CS_UNCHANGED);
	assert_int_equal(s.c[3].status, CS_APPLIED);
	assert_int_equal(s.c[4].status, CS_FAILED);
	assert_string_equal(s.c[4].error, "not written: no variant '99' on the platform");
	assert_int_equal(s.c[5].status, CS_FAILED);
	assert_string_equal(s.c[5].error, "not written: Vendure stocks by location; location must be a "
	    "stock location id");
	chan_close(ch);
	char *log = slurp(logpath);
	assert_int_equal(count(log, "\n"), 2);
	assert_non_null(strstr(log, "query invkitRead"));
	assert_non_null(strstr(log, "\"variables\":{\"ids\":[\"1\",\"2\",\"3\",\"99\"],\"take\":4}"));
	assert_non_null(strstr(log, "\"variables\":{\"input\":[{\"id\":\"1\",\"stockLevels\":[{"
	    "\"stockLocationId\":\"1\",\"stockOnHand\":14}]},{\"id\":\"3\",\"stockLevels\":[{"
	    "\"stockLocationId\":\"9\",\"stockOnHand\":6}]}]}}\n"));
	free(log);
	buf_release(&err);
	after();
}

static void
push_window(void **state)
{
	(void)state;
	/* between the re-read and the answer: 2 more movements, 1 of them ours */
	const struct canned c[] = {
		{ 200, READ(RV("1", 4, L("1", 10, 2))) },
		{ 200, WROTE(RV("1", 6, L("1", 14, 2))) },
	};
	serve_start(c, 2);
	struct cset s = { .n = 0 };
	corr_add(&s, "1", "1", 1, 8, 12);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), 0);
	assert_int_equal(s.c[0].status, CS_CONFLICT);
	assert_string_equal(s.c[0].error, "written (stockOnHand 14), but 1 other stock movement of this "
	    "variant landed between the re-read and the write's answer: a change in that window may "
	    "have been overwritten; pull and diff again");
	chan_close(ch);
	buf_release(&err);
	after();
}

static void
push_split(void **state)
{
	(void)state;
	/* one transaction refused for one variant: halves, down to the culprit */
	const struct canned c[] = {
		{ 200, READ(RV("1", 0, L("1", 1, 0)) "," RV("2", 0, L("1", 1, 0))) },
		{ 200, "{\"errors\":[{\"message\":\"No ProductVariant with the id \\\"2\\\" could be found\","
		    "\"extensions\":{\"code\":\"ENTITY_NOT_FOUND\"}}],\"data\":null}" },
		{ 200, READ(RV("1", 0, L("1", 1, 0))) },
		{ 200, WROTE(RV("1", 1, L("1", 3, 0))) },
		{ 200, READ(RV("2", 0, L("1", 1, 0))) },
		{ 200, "{\"errors\":[{\"message\":\"No ProductVariant with the id \\\"2\\\" could be found\","
		    "\"extensions\":{\"code\":\"ENTITY_NOT_FOUND\"}}],\"data\":null}" },
	};
	serve_start(c, 6);
	struct cset s = { .n = 0 };
	corr_add(&s, "1", "1", 1, 1, 3);
	corr_add(&s, "2", "1", 1, 1, 5);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), 0);
	assert_int_equal(s.c[0].status, CS_APPLIED);
	assert_int_equal(s.c[1].status, CS_FAILED);
	assert_string_equal(s.c[1].error, "not written: [v]: POST /admin-api: ENTITY_NOT_FOUND: No "
	    "ProductVariant with the id \"2\" could be found");
	chan_close(ch);
	char *log = slurp(logpath);
	assert_int_equal(count(log, "mutation invkitPush"), 3);
	assert_int_equal(count(log, "query invkitRead"), 3);
	free(log);
	buf_release(&err);
	after();
}

static void
push_body_limit(void **state)
{
	(void)state;
	/* Vendure's answer to a body over its limit: 500, an empty message */
	const struct canned c[] = {
		{ 200, READ(RV("1", 0, L("1", 1, 0)) "," RV("2", 0, L("1", 1, 0))) },
		{ 500, "{\"statusCode\":500,\"message\":\"\",\"path\":\"/admin-api\"}" },
		{ 200, READ(RV("1", 0, L("1", 1, 0))) },
		{ 200, WROTE(RV("1", 1, L("1", 3, 0))) },
		{ 200, READ(RV("2", 0, L("1", 1, 0))) },
		{ 200, WROTE(RV("2", 1, L("1", 5, 0))) },
	};
	serve_start(c, 6);
	struct cset s = { .n = 0 };
	corr_add(&s, "1", "1", 1, 1, 3);
	corr_add(&s, "2", "1", 1, 1, 5);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), 0);
	assert_int_equal(s.c[0].status, CS_APPLIED);
	assert_int_equal(s.c[1].status, CS_APPLIED);
	chan_close(ch);
	buf_release(&err);
	after();
}

static void
push_sized(void **state)
{
	(void)state;
	/*
	 * body_limit 1024, ids of 40 characters: the worst case of an entry
	 * (115 bytes) decides the cut before any read, 6 variants and then 2
	 */
	static char bodies[4][4096], ids[8][48];
	struct canned c[4];
	struct cset s = { .n = 0 };
	for (int i = 0; i < 8; i++) {
		snprintf(ids[i], sizeof ids[i], "v%039d", 100 + i);
		corr_add(&s, ids[i], "1", 1, 1, 2);
	}
	for (int w = 0; w < 2; w++) {
		struct buf r = BUF_INIT, a = BUF_INIT;
		for (int j = w ? 6 : 0; j < (w ? 8 : 6); j++) {
			buf_addf(&r, "%s{\"id\":\"%s\",\"sku\":\"\",\"stockLevels\":[" L("1", 1, 0) "],"
			    "\"stockMovements\":{\"totalItems\":0}}", j % 6 ? "," : "", ids[j]);
			buf_addf(&a, "%s{\"id\":\"%s\",\"sku\":\"\",\"stockLevels\":[" L("1", 2, 0) "],"
			    "\"stockMovements\":{\"totalItems\":1}}", j % 6 ? "," : "", ids[j]);
		}
		snprintf(bodies[2 * w], sizeof bodies[0], READ("%s"), r.s);
		snprintf(bodies[2 * w + 1], sizeof bodies[0], WROTE("%s"), a.s);
		c[2 * w].status = c[2 * w + 1].status = 200;
		c[2 * w].body = bodies[2 * w];
		c[2 * w + 1].body = bodies[2 * w + 1];
		buf_release(&r);
		buf_release(&a);
	}
	serve_start(c, 4);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan("body_limit = 1024\nwrite_batch = 1000\n", KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), 0);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(s.c[i].status, CS_APPLIED);
	chan_close(ch);
	char *log = slurp(logpath), *line = log;
	assert_int_equal(count(log, "mutation invkitPush"), 2);
	assert_int_equal(count(log, "\n"), 4);
	while (*line) {
		char *nl = strchr(line, '\n');
		char *body = strchr(line, '\t') + 1;
		if (strstr(body, "mutation invkitPush"))
			assert_true((size_t)(nl - body) <= 1024);
		line = nl + 1;
	}
	free(log);
	buf_release(&err);
	after();
}

static void
push_by_sku(void **state)
{
	(void)state;
	/* keys only a stock-file master had: item is the SKU, found by sku */
	const struct canned c[] = {
		{ 200, READ("") },
		{ 200, READ(RV("9", 2, L("1", 5, 0)) "," RV("10", 0, "") ","
		    "{\"id\":\"11\",\"sku\":\"S10\",\"stockLevels\":[]}") },
		{ 200, READ(RV("9", 2, L("1", 5, 0))) },
		{ 200, WROTE(RV("9", 3, L("1", 5, 0) "," L("3", 4, 0))) },
	};
	serve_start(c, 4);
	struct cset s = { .n = 0 };
	corr_add(&s, "S9", "3", 0, 0, 4);
	corr_add(&s, "S10", "3", 0, 0, 1);
	s.c[0].sku = "S9";
	s.c[1].sku = "S10";
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), 0);
	assert_int_equal(s.c[0].status, CS_APPLIED);
	assert_int_equal(s.c[1].status, CS_FAILED);
	assert_string_equal(s.c[1].error, "not written: item 'S10' is no variant id and 2 variants have "
	    "SKU 'S10'");
	chan_close(ch);
	char *log = slurp(logpath);
	assert_non_null(strstr(log, "{filter: {id: {in: $ids}}, take: $take}"));
	assert_non_null(strstr(log, "\"variables\":{\"ids\":[\"S10\",\"S9\"],\"take\":2}"));
	assert_non_null(strstr(log, "{filter: {sku: {in: $ids}}, take: $take}"));
	assert_non_null(strstr(log, "\"variables\":{\"ids\":[\"S10\",\"S9\"],\"take\":1000}"));
	assert_non_null(strstr(log, "\"variables\":{\"input\":[{\"id\":\"9\",\"stockLevels\":[{"
	    "\"stockLocationId\":\"3\",\"stockOnHand\":4}]}]}}\n"));
	free(log);
	buf_release(&err);
	after();
}

static void
push_forbidden(void **state)
{
	(void)state;
	const struct canned c[] = {
		{ 200, "{\"errors\":[{\"message\":\"You are not currently authorized to perform this "
		    "action\",\"extensions\":{\"code\":\"FORBIDDEN\"}}],\"data\":null}" },
	};
	serve_start(c, 1);
	struct cset s = { .n = 0 };
	corr_add(&s, "1", "1", 1, 1, 3);
	corr_add(&s, "2", "1", 1, 1, 5);
	struct buf err = BUF_INIT;
	int code;
	struct chan *ch = open_chan(NULL, KEY, &code, &err);
	assert_non_null(ch);
	assert_int_equal(ch->drv->push(ch, s.v, s.n, "run1", &err), EX_NOPERM);
	for (size_t i = 0; i < s.n; i++) {
		assert_int_equal(s.c[i].status, CS_FAILED);
		assert_non_null(strstr(s.c[i].error, "FORBIDDEN"));
	}
	chan_close(ch);
	char *log = slurp(logpath);
	assert_int_equal(count(log, "mutation invkitPush"), 0);
	free(log);
	buf_release(&err);
	after();
}

/* ---- open ---- */

static void
open_refusals(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	int code;
	assert_null(open_chan("auth = basic\n", KEY, &code, &err));
	assert_int_equal(code, EX_CONFIG);
	assert_non_null(strstr(err.s, "[v]: auth must be api-key or bearer"));
	assert_null(open_chan("quantity = saleable\n", KEY, &code, &err));
	assert_non_null(strstr(err.s, "[v]: quantity must be available or on_hand"));
	assert_null(open_chan("write_bach = 10\n", KEY, &code, &err));
	assert_non_null(strstr(err.s, "[v]: unknown setting 'write_bach' for type vendure"));
	assert_null(open_chan("write_batch = 0\n", KEY, &code, &err));
	assert_non_null(strstr(err.s, "write_batch: 0 is out of range (1 to 1000)"));
	assert_null(open_chan(NULL, "s3cr3t-without-colon", &code, &err));
	assert_int_equal(code, EX_CONFIG);
	assert_non_null(strstr(err.s, "the secret must be an API key <lookupId>:<secret> on one line"));
	assert_null(strstr(err.s, "s3cr3t"));
	buf_release(&err);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(pull_pages, after_case),
		cmocka_unit_test_teardown(pull_on_hand_and_locations, after_case),
		cmocka_unit_test_teardown(pull_list_changed, after_case),
		cmocka_unit_test_teardown(pull_forbidden, after_case),
		cmocka_unit_test_teardown(pull_bad_answers, after_case),
		cmocka_unit_test_teardown(push_plan, after_case),
		cmocka_unit_test_teardown(push_window, after_case),
		cmocka_unit_test_teardown(push_split, after_case),
		cmocka_unit_test_teardown(push_body_limit, after_case),
		cmocka_unit_test_teardown(push_sized, after_case),
		cmocka_unit_test_teardown(push_by_sku, after_case),
		cmocka_unit_test_teardown(push_forbidden, after_case),
		cmocka_unit_test_teardown(open_refusals, after_case),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
