/*
 * test_answers.c - the drivers on answers the simulator does not give,
 * replayed through the scripted transport of tests/fuzz/fakehttp.h: the
 * real drivers and the real http_header, only the transport is a script.
 * Each case is a bug the fuzz targets found; the input that found it is in
 * tests/fuzz/corpus/fuzz_shopify or fuzz_woo under the name in brackets.
 *
 *  - Shopify's GraphQL error messages hold newlines: a message on stderr
 *    was several lines [regress_message_newlines, the simulator's own
 *    MAX_COST_EXCEEDED text];
 *  - a server or proxy echoing the access token in an error message or a
 *    userError put it in messages and results [regress_token_echo_pull,
 *    regress_token_echo_push];
 *  - a THROTTLED answer asking more than the whole bucket made the request
 *    wait for ever for points the bucket can never hold
 *    [regress_cost_over_bucket];
 *  - a WooCommerce error code with a newline made a message two lines
 *    [regress_code_newline];
 *  - a WooCommerce quantity near the int64 limit plus the correction's
 *    delta overflowed (undefined behaviour; the wrapped value was sent)
 *    [regress_target_overflow];
 *  - a WooCommerce list claiming X-WP-Total 100000000 had every one of its
 *    million pages asked for at once (over 2 GB) [regress_total_pages].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../fuzz/fakehttp.h"
#include "platform.h"

#define TOKEN "shpat_test_0a1b2c3d4e"
#define CK "ck_test_k3y_42"
#define CS "cs_test_s3cr3t_43"

static char dir[] = "/tmp/invkit-answers.XXXXXX";
static struct config cfg;

#define SHOP_OK "200\n\n"
#define COST(req, avail, max) "\"extensions\":{\"cost\":{\"requestedQueryCost\":" #req \
	",\"actualQueryCost\":null,\"throttleStatus\":{\"maximumAvailable\":" #max \
	",\"currentlyAvailable\":" #avail ",\"restoreRate\":100.0}}}"
#define SEP "\n~~~\n"

static int
setup(void **state)
{
	(void)state;
	char path[512];
	struct buf err = BUF_INIT;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/invkit.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("[shop]\ntype = shopify\nbase_url = http://127.0.0.1:9/shopify/t\n\n"
	    "[woo]\ntype = woocommerce\nbase_url = http://127.0.0.1:9/woo/t\n", f);
	fclose(f);
	setenv("INVKIT_TOKEN_SHOP", TOKEN, 1);
	setenv("INVKIT_TOKEN_WOO", CK ":" CS, 1);
	if (config_load(&cfg, path, &err) < 0)
		return -1;
	buf_release(&err);
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	config_release(&cfg);
	fz_reset(NULL, 0);
	return rmdir(dir);
}

static struct chan *
open_chan(const char *name, const char *script)
{
	struct buf err = BUF_INIT;
	int code = -1;
	fz_reset(script, strlen(script));
	struct chan *c = chan_open(&cfg, name, 0, &err, &code);
	assert_non_null(c);
	buf_release(&err);
	return c;
}

static void
no_pull(const struct pulled *p, void *arg)
{
	(void)p;
	(*(int *)arg)++;
}

static void
test_shopify_message_one_line(void **state)
{
	(void)state;
	/* the simulator's text, as Shopify words it: newlines inside */
	struct chan *c = open_chan("shop", SHOP_OK "{\"errors\":[{\"message\":\"Query cost is 13, "
	    "which exceeds the single query max cost limit (2).\\n\\nSee https://shopify.dev/"
	    "concepts/about-apis/rate-limits for more information.\\n\",\"extensions\":"
	    "{\"code\":\"MAX_COST_EXCEEDED\"}}]}");
	struct buf err = BUF_INIT;
	struct pull_opts o = { 0 };
	int n = 0;
	assert_int_equal(c->drv->pull(c, &o, no_pull, &n, &err), EX_UNAVAILABLE);
	assert_string_equal(err.s, "shop: Shopify refused the query: Query cost is 13, which "
	    "exceeds the single query max cost limit (2).  See https://shopify.dev/concepts/"
	    "about-apis/rate-limits for more information.  (MAX_COST_EXCEEDED)");
	assert_int_equal(n, 0);
	chan_close(c);
	buf_release(&err);
}

static void
test_shopify_token_echo(void **state)
{
	(void)state;
	struct buf err = BUF_INIT;
	struct pull_opts o = { 0 };
	int n = 0;
	struct chan *c = open_chan("shop", SHOP_OK "{\"errors\":[{\"message\":\"Invalid access "
	    "token " TOKEN " for shop\",\"extensions\":{\"code\":\"ACCESS_DENIED\"}}]}");
	assert_int_equal(c->drv->pull(c, &o, no_pull, &n, &err), EX_UNAVAILABLE);
	assert_string_equal(err.s, "shop: Shopify refused the query: Invalid access token "
	    "[REDACTED] for shop (ACCESS_DENIED)");
	chan_close(c);

	/* a userError naming the token: the result's error does not */
	c = open_chan("shop", SHOP_OK "{\"data\":{\"inventoryAdjustQuantities\":"
	    "{\"inventoryAdjustmentGroup\":null,\"userErrors\":[{\"code\":\"INVALID_INVENTORY_ITEM\","
	    "\"field\":[\"input\",\"changes\",\"0\",\"inventoryItemId\"],\"message\":\"token "
	    TOKEN " has no access\"}]}}," COST(14, 1990, 2000.0) "}");
	struct corr k = { .sku = "A-1", .item = "gid://shopify/InventoryItem/1001",
		.location = "gid://shopify/Location/1", .reason = "sync", .has_from = 1,
		.from = 5, .to = 3, .delta = -2 };
	struct corr *v[1] = { &k };
	assert_int_equal(c->drv->push(c, v, 1, "run-1", &err), 0);
	assert_int_equal(k.status, CS_FAILED);
	assert_string_equal(k.error, "INVALID_INVENTORY_ITEM: token [REDACTED] has no access");
	chan_close(c);
	buf_release(&err);
}

static void
test_shopify_cost_over_bucket(void **state)
{
	(void)state;
	/* a bucket of 50 points, then THROTTLED for a query asking 752 */
	struct chan *c = open_chan("shop", SHOP_OK "{\"data\":{\"locations\":{\"nodes\":"
	    "[{\"id\":\"gid://shopify/Location/1\"}],\"pageInfo\":{\"hasNextPage\":false}}},"
	    COST(13, 40, 50.0) "}" SEP
	    SHOP_OK "{\"errors\":[{\"message\":\"Throttled\",\"extensions\":{\"code\":\"THROTTLED\"}}],"
	    COST(752, 12, 50.0) "}" SEP
	    SHOP_OK "{\"data\":{\"inventoryItems\":{\"pageInfo\":{\"hasNextPage\":false,"
	    "\"endCursor\":null},\"nodes\":[{\"id\":\"gid://shopify/InventoryItem/1\",\"sku\":\"A\","
	    "\"inventoryLevels\":{\"pageInfo\":{\"hasNextPage\":false,\"endCursor\":null},\"nodes\":"
	    "[{\"location\":{\"id\":\"gid://shopify/Location/1\"},\"quantities\":[{\"name\":"
	    "\"available\",\"quantity\":4}]}]}}]}}," COST(8, 40, 50.0) "}");
	struct buf err = BUF_INIT;
	struct pull_opts o = { 0 };
	int n = 0;
	assert_int_equal(c->drv->pull(c, &o, no_pull, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fz.nsent, 3);
	/* sent again asking what the bucket can hold, not 752 (the HTTP layer
	 * would cut it too: test_http.c, test_bucket_shrank) */
	assert_true(fz.sent[2].cost == 50.0);
	chan_close(c);
	buf_release(&err);
}

static void
test_woo_code_one_line(void **state)
{
	(void)state;
	struct chan *c = open_chan("woo", "403\n\n{\"code\":\"rest_forbidden\\nfor " CK "\","
	    "\"message\":\"Sorry,\\nno.\",\"data\":{\"status\":403}}");
	struct buf err = BUF_INIT;
	struct pull_opts o = { 0 };
	int n = 0;
	assert_int_equal(c->drv->pull(c, &o, no_pull, &n, &err), EX_NOPERM);
	assert_string_equal(err.s, "[woo]: GET /woo/t/wp-json/wc/v3/products: HTTP 403: "
	    "rest_forbidden for [REDACTED]: Sorry, no. (check the consumer key and secret in "
	    "token_file and that the key has read/write permissions)");
	chan_close(c);
	buf_release(&err);
}

static void
test_woo_target_overflow(void **state)
{
	(void)state;
	/* the re-read before writing shows a quantity at the int64 limit */
	struct chan *c = open_chan("woo", "200\nX-WP-Total: 1\n\n[{\"id\":12,\"type\":\"simple\","
	    "\"manage_stock\":true,\"stock_quantity\":9223372036854775807}]");
	struct corr k = { .sku = "W-4", .item = "12", .location = "", .reason = "sync",
		.has_from = 0, .to = 4, .delta = 4 };
	struct corr *v[1] = { &k };
	struct buf err = BUF_INIT;
	assert_int_equal(c->drv->push(c, v, 1, "run-1", &err), 0);
	assert_int_equal(k.status, CS_FAILED);
	assert_string_equal(k.error, "not written: 9223372036854775807 +4 is out of range");
	assert_int_equal(fz.nsent, 1);	/* the re-read only: nothing written */
	assert_string_equal(fz.sent[0].method, "GET");
	chan_close(c);
	buf_release(&err);
}

static void
test_woo_total_pages(void **state)
{
	(void)state;
	struct buf page = BUF_INIT;
	buf_adds(&page, "200\nX-WP-Total: 100000000\n\n[");
	for (int i = 1; i <= 100; i++)
		buf_addf(&page, "%s{\"id\":%d,\"type\":\"simple\",\"manage_stock\":true,"
		    "\"stock_quantity\":1}", i > 1 ? "," : "", i);
	buf_adds(&page, "]");
	/* then no answer: the pull fails on the next page */
	struct chan *c = open_chan("woo", page.s);
	struct buf err = BUF_INIT;
	struct pull_opts o = { 0 };
	int n = 0;
	assert_int_equal(c->drv->pull(c, &o, no_pull, &n, &err), EX_TEMPFAIL);
	assert_int_equal(n, 0);
	/* the first page, then 64 at a time: not a million */
	assert_int_equal(fz.nsent, 65);
	assert_non_null(strstr(fz.sent[64].url, "offset=6336&"));
	chan_close(c);
	buf_release(&err);
	buf_release(&page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shopify_message_one_line),
		cmocka_unit_test(test_shopify_token_echo),
		cmocka_unit_test(test_shopify_cost_over_bucket),
		cmocka_unit_test(test_woo_code_one_line),
		cmocka_unit_test(test_woo_target_overflow),
		cmocka_unit_test(test_woo_total_pages),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
