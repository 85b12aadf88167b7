/*
 * test_drv_medusa.c - the Medusa driver against canned answers.  A small
 * scripted HTTP server (Python, below) answers each request from a list of
 * rules (substrings of "METHOD /path?query" and of the body, then the
 * answers in turn, the last repeated) and logs every request it got, body
 * and Authorization header included.  Each test writes its rules, opens the
 * channel through chan_open from a config with a 0600 token file, calls the
 * driver and checks what it emitted or decided and what it sent.  The real
 * server is tests/real/medusa.sh; this proves the parsing and the decisions
 * on answers a real server gives rarely (413, a lost answer, a level that
 * moved during the write).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "platform.h"

/* a direct reference: it also links the driver out of libinvkit.a */
extern const struct driver drv_medusa;

#define KEY "sk_0123456789abcdef0123456789abcdef"
/* base64 of KEY ":" */
#define KEY64 "c2tfMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY6"

static const char server_py[] =
"import http.server, json, socket, socketserver, sys, threading\n"
"rules = json.load(open(sys.argv[1]))\n"
"lock = threading.Lock()\n"
"log = open(sys.argv[2], 'a')\n"
"class H(http.server.BaseHTTPRequestHandler):\n"
"    protocol_version = 'HTTP/1.1'\n"
"    def log_message(self, *a): pass\n"
"    def one(self):\n"
"        n = int(self.headers.get('Content-Length') or 0)\n"
"        body = self.rfile.read(n).decode() if n else ''\n"
"        line = self.command + ' ' + self.path\n"
"        with lock:\n"
"            log.write(json.dumps({'req': line, 'body': body,\n"
"                'auth': self.headers.get('Authorization', '')}) + '\\n')\n"
"            log.flush()\n"
"            resp = {'status': 418, 'body': {'message': 'no rule for ' + line}}\n"
"            for r in rules:\n"
"                if all(m in line for m in r.get('match', [])) and \\\n"
"                        all(b in body for b in r.get('body', [])) and \\\n"
"                        not any(b in body for b in r.get('not', [])):\n"
"                    k = r.setdefault('n', 0)\n"
"                    resp = r['answers'][min(k, len(r['answers']) - 1)]\n"
"                    r['n'] = k + 1\n"
"                    break\n"
"        if resp.get('drop'):\n"
"            self.close_connection = True\n"
"            self.connection.shutdown(socket.SHUT_RDWR)\n"
"            return\n"
"        b = resp.get('body', '')\n"
"        data = (b if isinstance(b, str) else json.dumps(b)).encode()\n"
"        self.send_response(resp['status'])\n"
"        self.send_header('Content-Type', 'application/json')\n"
"        self.send_header('Content-Length', str(len(data)))\n"
"        self.end_headers()\n"
"        self.wfile.write(data)\n"
"    do_GET = do_POST = one\n"
"class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
"    daemon_threads = True\n"
"s = S(('127.0.0.1', 0), H)\n"
"print('port %d' % s.server_address[1], flush=True)\n"
"s.serve_forever()\n";

static char dir[] = "/tmp/invkit-medusa.XXXXXX";
static char rulespath[512], logpath[512], confpath[512], keypath[512];
static pid_t srvpid = -1;
static int port;
static struct config cfg;

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
srv_stop(void)
{
	if (srvpid > 0) {
		kill(srvpid, SIGTERM);
		waitpid(srvpid, NULL, 0);
	}
	srvpid = -1;
}

/* Start the canned server on rules (JSON text) and write a config pointing at it. */
static void
srv_start(const char *rules, const char *extra)
{
	int fds[2];
	char conf[2048], line[64] = "";
	size_t got = 0;

	srv_stop();
	write_file(rulespath, rules, 0644);
	write_file(logpath, "", 0644);
	assert_int_equal(pipe(fds), 0);
	srvpid = fork();
	assert_true(srvpid >= 0);
	if (!srvpid) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", "-c", server_py, rulespath, logpath, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got < sizeof line - 1) {
		ssize_t k = read(fds[0], line + got, 1);
		if (k <= 0 || line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	close(fds[0]);
	assert_int_equal(sscanf(line, "port %d", &port), 1);
	snprintf(conf, sizeof conf, "[m]\ntype = medusa\nbase_url = http://127.0.0.1:%d\n"
	    "token_file = %s\n%s", port, keypath, extra ? extra : "");
	write_file(confpath, conf, 0644);
	config_release(&cfg);
	struct buf err = BUF_INIT;
	assert_int_equal(config_load(&cfg, confpath, &err), 0);
	buf_release(&err);
}

static struct chan *
open_chan(void)
{
	struct buf err = BUF_INIT;
	int code;
	struct chan *c = chan_open(&cfg, "m", 0, &err, &code);
	if (!c)
		fail_msg("chan_open: %d %s", code, err.s);
	buf_release(&err);
	return c;
}

/* The requests the server got, as a JSON array of {req, body, auth}. */
static json_t *
srv_log(void)
{
	json_t *a = json_array();
	FILE *f = fopen(logpath, "r");
	char line[65536];
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		json_array_append_new(a, json_loads(line, 0, NULL));
	fclose(f);
	return a;
}

/* How many logged requests contain s in their request line. */
static size_t
nreq(json_t *log, const char *s)
{
	size_t n = 0, i;
	json_t *x;
	json_array_foreach(log, i, x)
		n += strstr(json_string_value(json_object_get(x, "req")), s) != NULL;
	return n;
}

/* The body of the k-th POST. */
static const char *
post_body(json_t *log, size_t k)
{
	size_t i;
	json_t *x;
	json_array_foreach(log, i, x)
		if (!strncmp(json_string_value(json_object_get(x, "req")), "POST ", 5) && !k--)
			return json_string_value(json_object_get(x, "body"));
	return NULL;
}

/* ---- pull ---- */

struct got {
	char lines[64][160];
	size_t n;
};

static void
collect(const struct pulled *p, void *arg)
{
	struct got *g = arg;
	assert_true(g->n < 64);
	snprintf(g->lines[g->n++], sizeof g->lines[0], "%s %s %s %s %lld", p->item, p->sku,
	    p->location, p->state, (long long)p->qty);
}

static void
count_only(const struct pulled *p, void *arg)
{
	(void)p;
	(*(size_t *)arg)++;
}

#define ITEMS_A "{\"inventory_items\":[" \
	"{\"id\":\"iitem_B\",\"sku\":null,\"location_levels\":[{\"location_id\":\"sloc_1\"," \
	"\"stocked_quantity\":3,\"reserved_quantity\":0,\"available_quantity\":3}]}," \
	"{\"id\":\"iitem_A\",\"sku\":\"A-1\",\"location_levels\":[" \
	"{\"location_id\":\"sloc_2\",\"stocked_quantity\":5.0,\"reserved_quantity\":null}," \
	"{\"location_id\":\"sloc_1\",\"stocked_quantity\":7,\"reserved_quantity\":2," \
	"\"available_quantity\":5}]}," \
	"{\"id\":\"iitem_C\",\"sku\":\"C-1\",\"location_levels\":[]}],\"count\":3,\"offset\":0," \
	"\"limit\":250}"

static void
test_pull_parse(void **state)
{
	(void)state;
	struct got g = { .n = 0 };
	struct buf err = BUF_INIT;
	srv_start("[{\"match\":[\"GET /admin/inventory-items?\"],\"answers\":[{\"status\":200,"
	    "\"body\":" ITEMS_A "}]}]", NULL);
	struct chan *c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, collect, &g, &err), 0);
	/* id order, levels in location order; a null SKU is ""; available
	 * computed when the answer has none; a whole real number taken */
	assert_int_equal(g.n, 3);
	assert_string_equal(g.lines[0], "iitem_A A-1 sloc_1 available 5");
	assert_string_equal(g.lines[1], "iitem_A A-1 sloc_2 available 5");
	assert_string_equal(g.lines[2], "iitem_B  sloc_1 available 3");
	assert_int_equal(c->pages, 1);
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(json_array_size(log), 1);
	json_t *x = json_array_get(log, 0);
	assert_string_equal(json_string_value(json_object_get(x, "req")),
	    "GET /admin/inventory-items?limit=250&offset=0&order=id&fields=id,sku,"
	    "location_levels.location_id,location_levels.stocked_quantity,"
	    "location_levels.reserved_quantity,location_levels.available_quantity");
	assert_string_equal(json_string_value(json_object_get(x, "auth")), "Basic " KEY64);
	json_decref(log);

	/* quantity = stocked, and only the configured locations */
	g.n = 0;
	srv_start("[{\"match\":[\"GET /admin/inventory-items?\"],\"answers\":[{\"status\":200,"
	    "\"body\":" ITEMS_A "}]}]", "quantity = stocked\nlocations = sloc_1\n");
	c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, collect, &g, &err), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.lines[0], "iitem_A A-1 sloc_1 stocked 7");
	assert_string_equal(g.lines[1], "iitem_B  sloc_1 stocked 3");
	chan_close(c);
	buf_release(&err);
}

/* A list of n items i0000.. from offset off, count total. */
static void
page_json(struct buf *b, size_t off, size_t n, size_t total)
{
	buf_adds(b, "{\"status\":200,\"body\":{\"inventory_items\":[");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%s{\"id\":\"iitem_%04zu\",\"sku\":\"S%zu\",\"location_levels\":"
		    "[{\"location_id\":\"sloc_1\",\"stocked_quantity\":%zu,\"reserved_quantity\":0}]}",
		    i ? "," : "", off + i, off + i, (off + i) % 13);
	buf_addf(b, "],\"count\":%zu}}", total);
}

static void
test_pull_pages(void **state)
{
	(void)state;
	struct buf r = BUF_INIT, err = BUF_INIT;
	size_t n = 0;
	/* 300 items: pages at offsets 0 and 249, overlapping by one */
	buf_adds(&r, "[{\"match\":[\"offset=0&\"],\"answers\":[");
	page_json(&r, 0, 250, 300);
	buf_adds(&r, "]},{\"match\":[\"offset=249&\"],\"answers\":[");
	page_json(&r, 249, 51, 300);
	buf_adds(&r, "]}]");
	srv_start(r.s, NULL);
	struct chan *c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, count_only, &n, &err), 0);
	assert_int_equal(n, 300);
	assert_int_equal(c->pages, 2);
	chan_close(c);

	/* an item deleted between the pages: the seam shows it, the list is read again */
	buf_reset(&r);
	buf_adds(&r, "[{\"match\":[\"offset=0&\"],\"answers\":[");
	page_json(&r, 0, 250, 300);
	buf_adds(&r, ",");
	page_json(&r, 0, 250, 299);
	buf_adds(&r, "]},{\"match\":[\"offset=249&\"],\"answers\":[");
	page_json(&r, 250, 50, 299);
	buf_adds(&r, ",");
	page_json(&r, 249, 50, 299);
	buf_adds(&r, "]}]");
	srv_start(r.s, NULL);
	n = 0;
	c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, count_only, &n, &err), 0);
	assert_int_equal(n, 299);
	assert_int_equal(c->pages, 4);
	chan_close(c);
	buf_release(&r);
	buf_release(&err);
}

static void
test_pull_errors(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	size_t n = 0;
	srv_start("[{\"match\":[\"GET\"],\"answers\":[{\"status\":200,\"body\":{\"inventory_items\":"
	    "[{\"id\":\"iitem_A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":\"7\"}]}],\"count\":1}}]}]", NULL);
	struct chan *c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, count_only, &n, &err), 65);
	assert_string_equal(err.s, "[m]: GET /admin/inventory-items: a stocked_quantity is not a "
	    "whole number");
	assert_int_equal(n, 0);
	chan_close(c);

	srv_start("[{\"match\":[\"GET\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"products\":[]}}]}]", NULL);
	c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, count_only, &n, &err), 65);
	assert_string_equal(err.s, "[m]: GET /admin/inventory-items: the answer has no "
	    "inventory_items array");
	chan_close(c);

	/* a refused key: 77, Medusa's words, and never the key */
	srv_start("[{\"match\":[\"GET\"],\"answers\":[{\"status\":401,\"body\":{\"message\":"
	    "\"Unauthorized\"}}]}]", NULL);
	c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, count_only, &n, &err), 77);
	assert_string_equal(err.s, "[m]: GET /admin/inventory-items: HTTP 401: Unauthorized "
	    "(check the secret API key (sk_...) in token_file and that its user may manage "
	    "inventory)");
	chan_close(c);

	/* a wrong base_url: 69 and a hint */
	srv_start("[{\"match\":[\"GET\"],\"answers\":[{\"status\":404,\"body\":\"Cannot GET\"}]}]",
	    NULL);
	c = open_chan();
	assert_int_equal(c->drv->pull(c, NULL, count_only, &n, &err), 69);
	assert_non_null(strstr(err.s, "HTTP 404 (check base_url: it must be the server's root, "
	    "without /admin)"));
	chan_close(c);
	buf_release(&err);
}

/* ---- open ---- */

static void
test_open(void **state)
{
	(void)state;
	static const struct { const char *extra, *key, *msg; } cases[] = {
		{ "quantity = on_hand\n", KEY, "quantity: 'on_hand' is not available or stocked" },
		{ "", "pk_0123456789", "the secret must be a Medusa secret API key (sk_...)" },
		{ "", "sk_abc def", "the secret API key holds a space, a colon or a control character" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct buf err = BUF_INIT;
		int code;
		char k[128];
		snprintf(k, sizeof k, "%s\n", cases[i].key);
		write_file(keypath, k, 0600);
		srv_start("[]", cases[i].extra);
		assert_null(chan_open(&cfg, "m", 0, &err, &code));
		assert_int_equal(code, 78);
		if (!strstr(err.s, cases[i].msg))
			fail_msg("%s", err.s);
		assert_null(strstr(err.s, cases[i].key));
		buf_release(&err);
	}
	write_file(keypath, KEY "\n", 0600);
}

/* ---- read and push ---- */

static struct corr
mk(const char *item, const char *sku, const char *loc, int has_from, int64_t from, int64_t to)
{
	struct corr k;
	memset(&k, 0, sizeof k);
	k.item = item;
	k.sku = sku;
	k.location = loc;
	k.reason = "sync";
	k.has_from = has_from;
	k.from = from;
	k.to = to;
	k.delta = to - (has_from ? from : 0);
	return k;
}

/* An inventory-items answer with one item and one level. */
#define ONE(id, sku, loc, st, rs) "{\"status\":200,\"body\":{\"inventory_items\":[{\"id\":\"" id \
	"\",\"sku\":\"" sku "\",\"location_levels\":[{\"location_id\":\"" loc "\",\"stocked_quantity\":" \
	#st ",\"reserved_quantity\":" #rs "}]}],\"count\":1}}"

static void
test_read(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	srv_start("[{\"match\":[\"id%5B%5D=iitem_A\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"inventory_items\":[{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":"
	    "[{\"location_id\":\"sloc_1\",\"stocked_quantity\":9,\"reserved_quantity\":4}]}],"
	    "\"count\":1}}]}]", NULL);
	struct chan *c = open_chan();
	struct corr k[3] = { mk("iitem_A", "A", "sloc_1", 1, 5, 6), mk("iitem_A", "A", "sloc_2", 1, 1, 2),
		mk("iitem_Z", "Z", "sloc_1", 1, 1, 2) };
	struct corr *v[3] = { &k[0], &k[1], &k[2] };
	assert_int_equal(c->drv->read(c, v, 3, &err), 0);
	assert_true(k[0].has_current);
	assert_int_equal(k[0].current, 5);
	assert_false(k[1].has_current);
	assert_false(k[2].has_current);
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(json_array_size(log), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(log, 0), "req")),
	    "&id%5B%5D=iitem_A&id%5B%5D=iitem_Z"));
	json_decref(log);
	buf_release(&err);
}

static void
test_push_applied(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	/* an update (available 5 -> 8: stocked 7 -> 10) and a level created from a SKU */
	srv_start("["
	    "{\"match\":[\"GET /admin/stock-locations?\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"stock_locations\":[{\"id\":\"sloc_1\"}]}}]},"
	    "{\"match\":[\"sku%5B%5D=NEW-1\"],\"answers\":[{\"status\":200,\"body\":{\"inventory_items\":"
	    "[{\"id\":\"iitem_N\",\"sku\":\"NEW-1\",\"location_levels\":[]}],\"count\":1}}]},"
	    "{\"match\":[\"id%5B%5D=iitem_A&id%5B%5D=iitem_N\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"inventory_items\":[{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{"
	    "\"location_id\":\"sloc_1\",\"stocked_quantity\":10,\"reserved_quantity\":2}]},"
	    "{\"id\":\"iitem_N\",\"sku\":\"NEW-1\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":4,\"reserved_quantity\":0}]}],\"count\":2}}]},"
	    "{\"match\":[\"id%5B%5D=iitem_A\"],\"answers\":[" ONE("iitem_A", "A", "sloc_1", 7, 2) "]},"
	    "{\"match\":[\"POST /admin/inventory-items/location-levels/batch\"],\"answers\":["
	    "{\"status\":200,\"body\":{\"created\":[{\"inventory_item_id\":\"iitem_N\","
	    "\"location_id\":\"sloc_1\",\"stocked_quantity\":4,\"reserved_quantity\":0}],"
	    "\"updated\":[{\"inventory_item_id\":\"iitem_A\",\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":10,\"reserved_quantity\":2}]}}]}]", NULL);
	struct chan *c = open_chan();
	struct corr k[2] = { mk("iitem_A", "A", "sloc_1", 1, 5, 8), mk("NEW-1", "NEW-1", "sloc_1", 0, 0, 4) };
	struct corr *v[2] = { &k[0], &k[1] };
	assert_int_equal(c->drv->push(c, v, 2, "run1", &err), 0);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_true(k[0].has_after);
	assert_int_equal(k[0].after, 8);
	assert_int_equal(k[1].status, CS_APPLIED);
	assert_int_equal(k[1].after, 4);
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(nreq(log, "POST "), 1);
	assert_string_equal(post_body(log, 0), "{\"create\":[{\"inventory_item_id\":\"iitem_N\","
	    "\"location_id\":\"sloc_1\",\"stocked_quantity\":4}],\"update\":[{\"inventory_item_id\":"
	    "\"iitem_A\",\"location_id\":\"sloc_1\",\"stocked_quantity\":10}]}");
	/* the locations checked once, before the read that precedes the write */
	assert_int_equal(nreq(log, "GET /admin/stock-locations"), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(log, 0), "req")),
	    "GET /admin/stock-locations"));
	json_decref(log);
	buf_release(&err);
}

static void
test_push_conflicts(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	/*
	 * A moved since the pull (available 6, not 5): not written.  B written,
	 * but an order reserved one more while the write was on its way: a
	 * conflict, written.  C: from null, the level exists with another
	 * quantity: not created.  D: no such item.  E: no location.
	 */
	srv_start("["
	    "{\"match\":[\"GET /admin/stock-locations?\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"stock_locations\":[{\"id\":\"sloc_1\"}]}}]},"
	    "{\"match\":[\"GET /admin/inventory-items?\", \"iitem_B\"],\"not\":[],\"answers\":["
	    "{\"status\":200,\"body\":{\"inventory_items\":["
	    "{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":6,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":3,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_C\",\"sku\":\"C\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":2,\"reserved_quantity\":0}]}],\"count\":3}},"
	    ONE("iitem_B", "B", "sloc_1", 4, 1) "]},"
	    "{\"match\":[\"POST\"],\"body\":[\"iitem_B\"],\"not\":[\"iitem_A\",\"iitem_C\"],\"answers\":["
	    "{\"status\":200,\"body\":{\"created\":[],\"updated\":[{\"inventory_item_id\":\"iitem_B\","
	    "\"location_id\":\"sloc_1\",\"stocked_quantity\":4,\"reserved_quantity\":0}]}}]}]", NULL);
	struct chan *c = open_chan();
	struct corr k[5] = { mk("iitem_A", "A", "sloc_1", 1, 5, 9), mk("iitem_B", "B", "sloc_1", 1, 3, 4),
		mk("iitem_C", "C", "sloc_1", 0, 0, 5), mk("iitem_D", "D", "sloc_1", 1, 1, 2),
		mk("iitem_E", "E", "", 1, 1, 2) };
	struct corr *v[5] = { &k[0], &k[1], &k[2], &k[3], &k[4] };
	assert_int_equal(c->drv->push(c, v, 5, "run1", &err), 0);
	assert_int_equal(k[0].status, CS_CONFLICT);
	assert_string_equal(k[0].error, "quantity moved since it was read: 5 expected, 6 now "
	    "(not written)");
	assert_int_equal(k[1].status, CS_CONFLICT);
	assert_string_equal(k[1].error, "written (stocked_quantity 4), but the level moved while "
	    "writing: stocked 3, reserved 0 before, now stocked 4, reserved 1; a concurrent change "
	    "may have been overwritten: pull and diff again");
	assert_int_equal(k[1].after, 3);
	assert_int_equal(k[2].status, CS_CONFLICT);
	assert_string_equal(k[2].error, "the item is stocked at this location since it was read, "
	    "with 2 (not written)");
	assert_int_equal(k[3].status, CS_FAILED);
	assert_string_equal(k[3].error, "not written: no inventory item 'iitem_D' on the platform");
	assert_int_equal(k[4].status, CS_FAILED);
	assert_string_equal(k[4].error, "not written: a Medusa level needs a location (a stock "
	    "location id, sloc_...)");
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(nreq(log, "POST "), 1);
	assert_string_equal(post_body(log, 0), "{\"update\":[{\"inventory_item_id\":\"iitem_B\","
	    "\"location_id\":\"sloc_1\",\"stocked_quantity\":4}]}");
	json_decref(log);
	buf_release(&err);
}

static void
test_push_413(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	/* a proxy refuses the call of both: each goes again alone, from a new reading */
	srv_start("["
	    "{\"match\":[\"GET\"],\"answers\":["
	    "{\"status\":200,\"body\":{\"inventory_items\":["
	    "{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":1,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":2,\"reserved_quantity\":0}]}],\"count\":2}},"
	    "{\"status\":200,\"body\":{\"inventory_items\":["
	    "{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":1,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":2,\"reserved_quantity\":0}]}],\"count\":2}},"
	    "{\"status\":200,\"body\":{\"inventory_items\":["
	    "{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":11,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":12,\"reserved_quantity\":0}]}],\"count\":2}}]},"
	    "{\"match\":[\"POST\"],\"body\":[\"iitem_A\",\"iitem_B\"],\"answers\":[{\"status\":413,"
	    "\"body\":\"<html><title>413 Request Entity Too Large</title></html>\"}]},"
	    "{\"match\":[\"POST\"],\"body\":[\"iitem_A\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"updated\":[{\"inventory_item_id\":\"iitem_A\",\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":11,\"reserved_quantity\":0}]}}]},"
	    "{\"match\":[\"POST\"],\"body\":[\"iitem_B\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"updated\":[{\"inventory_item_id\":\"iitem_B\",\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":12,\"reserved_quantity\":0}]}}]}]", NULL);
	struct chan *c = open_chan();
	struct corr k[2] = { mk("iitem_A", "A", "sloc_1", 1, 1, 11), mk("iitem_B", "B", "sloc_1", 1, 2, 12) };
	struct corr *v[2] = { &k[0], &k[1] };
	assert_int_equal(c->drv->push(c, v, 2, "run1", &err), 0);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[1].status, CS_APPLIED);
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(nreq(log, "POST "), 3);
	assert_int_equal(nreq(log, "GET "), 3);
	json_decref(log);

	/* one level alone still too large: failed, with the proxy's status */
	srv_start("[{\"match\":[\"GET\"],\"answers\":[" ONE("iitem_A", "A", "sloc_1", 1, 0) "]},"
	    "{\"match\":[\"POST\"],\"answers\":[{\"status\":413,\"body\":\"too large\"}]}]", NULL);
	c = open_chan();
	struct corr *one[1] = { &k[0] };
	k[0] = mk("iitem_A", "A", "sloc_1", 1, 1, 11);
	assert_int_equal(c->drv->push(c, one, 1, "run1", &err), 0);
	assert_int_equal(k[0].status, CS_FAILED);
	assert_string_equal(k[0].error, "not written: [m]: POST /admin/inventory-items/"
	    "location-levels/batch: HTTP 413");
	chan_close(c);
	buf_release(&err);
}

static void
test_push_lost(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	/* the answer is lost: the read after tells; A holds what was written, B does not */
	srv_start("["
	    "{\"match\":[\"GET\"],\"answers\":["
	    "{\"status\":200,\"body\":{\"inventory_items\":["
	    "{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":1,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":2,\"reserved_quantity\":0}]}],\"count\":2}},"
	    "{\"status\":200,\"body\":{\"inventory_items\":["
	    "{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":4,\"reserved_quantity\":0}]},"
	    "{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":2,\"reserved_quantity\":0}]}],\"count\":2}}]},"
	    "{\"match\":[\"POST\"],\"answers\":[{\"drop\":true}]}]", NULL);
	struct chan *c = open_chan();
	struct corr k[2] = { mk("iitem_A", "A", "sloc_1", 1, 1, 4), mk("iitem_B", "B", "sloc_1", 1, 2, 5) };
	struct corr *v[2] = { &k[0], &k[1] };
	assert_int_equal(c->drv->push(c, v, 2, "run1", &err), 0);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[1].status, CS_FAILED);
	assert_string_equal(k[1].error, "unknown outcome: the answer was lost and the level shows "
	    "stocked_quantity 2, not the 5 written (not sent again)");
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(nreq(log, "POST "), 1);
	json_decref(log);
	buf_release(&err);
}

static void
test_push_refused(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	/*
	 * A 404 for the call of A and B: each goes again alone, from a new
	 * reading.  A is written; B, refused twice alone, is failed with
	 * Medusa's words.  C asks for no change: unchanged, not sent.
	 */
#define LEVELS(a, b) "{\"status\":200,\"body\":{\"inventory_items\":[" \
	"{\"id\":\"iitem_A\",\"sku\":\"A\",\"location_levels\":[{\"location_id\":\"sloc_1\"," \
	"\"stocked_quantity\":" #a ",\"reserved_quantity\":0}]}," \
	"{\"id\":\"iitem_B\",\"sku\":\"B\",\"location_levels\":[{\"location_id\":\"sloc_1\"," \
	"\"stocked_quantity\":" #b ",\"reserved_quantity\":0}]}," \
	"{\"id\":\"iitem_C\",\"sku\":\"C\",\"location_levels\":[{\"location_id\":\"sloc_1\"," \
	"\"stocked_quantity\":4,\"reserved_quantity\":0}]}],\"count\":3}}"
	srv_start("["
	    "{\"match\":[\"GET\"],\"answers\":[" LEVELS(1, 2) "," LEVELS(1, 2) "," LEVELS(3, 2) ","
	    LEVELS(3, 2) "]},"
	    "{\"match\":[\"POST\"],\"body\":[\"iitem_B\"],\"answers\":[{\"status\":404,\"body\":"
	    "{\"type\":\"not_found\",\"message\":\"Item iitem_B is not stocked at location sloc_1\"}}]},"
	    "{\"match\":[\"POST\"],\"body\":[\"iitem_A\"],\"answers\":[{\"status\":200,\"body\":"
	    "{\"updated\":[{\"inventory_item_id\":\"iitem_A\",\"location_id\":\"sloc_1\","
	    "\"stocked_quantity\":3,\"reserved_quantity\":0}]}}]}]", NULL);
	struct chan *c = open_chan();
	struct corr k[3] = { mk("iitem_A", "A", "sloc_1", 1, 1, 3), mk("iitem_B", "B", "sloc_1", 1, 2, 3),
		mk("iitem_C", "C", "sloc_1", 1, 4, 4) };
	struct corr *v[3] = { &k[0], &k[1], &k[2] };
	assert_int_equal(c->drv->push(c, v, 3, "run1", &err), 0);
	assert_int_equal(k[0].status, CS_APPLIED);
	assert_int_equal(k[0].after, 3);
	assert_int_equal(k[1].status, CS_FAILED);
	assert_string_equal(k[1].error, "not written: [m]: POST /admin/inventory-items/"
	    "location-levels/batch: HTTP 404: not_found: Item iitem_B is not stocked at location "
	    "sloc_1");
	assert_int_equal(k[2].status, CS_UNCHANGED);
	chan_close(c);
	json_t *log = srv_log();
	assert_int_equal(nreq(log, "POST "), 4);
	assert_non_null(strstr(post_body(log, 0), "iitem_A"));
	assert_non_null(strstr(post_body(log, 0), "iitem_B"));
	assert_null(strstr(post_body(log, 3), "iitem_A"));
	json_decref(log);

	/* a refused key while writing: 77 for the caller */
	srv_start("[{\"match\":[\"GET\"],\"answers\":[" ONE("iitem_A", "A", "sloc_1", 1, 0) "]},"
	    "{\"match\":[\"POST\"],\"answers\":[{\"status\":401,\"body\":{\"message\":"
	    "\"Unauthorized\"}}]}]", NULL);
	c = open_chan();
	k[0] = mk("iitem_A", "A", "sloc_1", 1, 1, 3);
	struct corr *one[1] = { &k[0] };
	assert_int_equal(c->drv->push(c, one, 1, "run1", &err), 77);
	assert_int_equal(k[0].status, CS_FAILED);
	assert_null(strstr(err.s, KEY));
	chan_close(c);
	log = srv_log();
	for (size_t i = 0; i < json_array_size(log); i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(log, i), "auth")),
		    "Basic " KEY64);
	json_decref(log);
	buf_release(&err);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(rulespath, sizeof rulespath, "%s/rules.json", dir);
	snprintf(logpath, sizeof logpath, "%s/log.ndjson", dir);
	snprintf(confpath, sizeof confpath, "%s/invkit.conf", dir);
	snprintf(keypath, sizeof keypath, "%s/key", dir);
	write_file(keypath, KEY "\n", 0600);
	memset(&cfg, 0, sizeof cfg);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[600];
	srv_stop();
	config_release(&cfg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pull_parse),
		cmocka_unit_test(test_pull_pages),
		cmocka_unit_test(test_pull_errors),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_push_applied),
		cmocka_unit_test(test_push_conflicts),
		cmocka_unit_test(test_push_413),
		cmocka_unit_test(test_push_lost),
		cmocka_unit_test(test_push_refused),
	};
	(void)drv_medusa;
	return cmocka_run_group_tests(tests, setup, teardown);
}
