/*
 * test_drv_douyin.c - known answers for the Douyin (抖店) request signature
 * and timestamp (common/platform/douyin.c: dy_sign; the timestamp is common/platform.c's gmt8_time).  The
 * open platform's pages give the rule but no worked example we could
 * reach, so the expected values were computed independently of the
 * driver, with Python's hashlib/hmac modules:
 *
 *   import hmac, hashlib
 *   def sign(secret, key, method, param_json, ts, md5=False):
 *       s = (secret + "app_key" + key + "method" + method + "param_json" + param_json +
 *            "timestamp" + ts + "v2" + secret).encode()
 *       return (hashlib.md5(s).hexdigest() if md5 else
 *               hmac.new(secret.encode(), s, hashlib.sha256).hexdigest())
 *
 * and the timestamps with datetime.fromtimestamp(t, timezone(timedelta(
 * hours=8))).strftime("%Y-%m-%d %H:%M:%S").  tests/sim/platforms/douyin.py
 * checks every request the driver sends with its own implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "platform.h"

extern const struct driver drv_douyin;
int dy_sign(const char *secret, int md5, const char *app_key, const char *method,
    const char *param_json, const char *ts, char *out, size_t outlen);

#define SECRET "e59af819cc"
#define KEY "7152331588175513634"
#define TS "2026-11-26 10:30:00"

/* sign(SECRET, KEY, "product.listV2", '{"page":1,"size":100}', TS[, md5=True]) */
static void
list_page(void **state)
{
	(void)state;
	char out[80];
	assert_int_equal(dy_sign(SECRET, 0, KEY, "product.listV2", "{\"page\":1,\"size\":100}", TS,
	    out, sizeof out), 0);
	assert_string_equal(out, "cfa4a4b1ca0a3aa39cf998620ec93af0f79bf48ab9276184c442c2259e0aa3c2");
	assert_int_equal(dy_sign(SECRET, 1, KEY, "product.listV2", "{\"page\":1,\"size\":100}", TS,
	    out, sizeof out), 0);
	assert_string_equal(out, "60ced90f613e7408ecd17700f3b6602f");
}

/* an incremental write: booleans, a negative number, 19-digit ids */
static void
sync_stock(void **state)
{
	(void)state;
	const char *pj = "{\"idempotent_id\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\",\"incremental\":"
	    "true,\"product_id\":3539925204033339668,\"sku_id\":1737398770243598,\"stock_num\":-3}";
	char out[80];
	assert_int_equal(dy_sign(SECRET, 0, KEY, "sku.syncStock", pj, TS, out, sizeof out), 0);
	assert_string_equal(out, "e77a9f321c99974b9548971f6ce099b64db683490bbdd0d6b4dee0632cf3d1df");
}

/* UTF-8 inside param_json is signed as its bytes */
static void
chinese(void **state)
{
	(void)state;
	const char *pj = "{\"name\":\"抖店商品\",\"product_id\":3539925204033339668}";
	char out[80];
	assert_int_equal(dy_sign(SECRET, 0, KEY, "sku.list", pj, TS, out, sizeof out), 0);
	assert_string_equal(out, "54fb50d3d5ff9ca70efd838de832eeb075c488f1bcb3a06e6a470623503316cb");
	assert_int_equal(dy_sign(SECRET, 1, KEY, "sku.list", pj, TS, out, sizeof out), 0);
	assert_string_equal(out, "0f5c847b521174fd2db0333562aa5cc5");
}

/* too small an output: refused, nothing written past it */
static void
small_out(void **state)
{
	(void)state;
	char out[65];
	assert_int_equal(dy_sign(SECRET, 0, KEY, "sku.list", "{}", TS, out, 64), -1);
	assert_int_equal(dy_sign(SECRET, 1, KEY, "sku.list", "{}", TS, out, 32), -1);
	assert_int_equal(dy_sign(SECRET, 1, KEY, "sku.list", "{}", TS, out, 33), 0);
	assert_int_equal(strlen(out), 32);
}

/*
 * Beijing time from UTC, whatever the machine's zone: each case under
 * three zones (UTC-8 with daylight saving, UTC+14, UTC).
 */
static void
timestamps(void **state)
{
	(void)state;
	static const struct {
		time_t t;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01 08:00:00" },
		{ 1798732800, "2027-01-01 00:00:00" },	/* 2026-12-31T16:00:00Z: a new year in Beijing */
		{ 1795660200, "2026-11-26 10:30:00" },
		{ 1709139599, "2024-02-29 00:59:59" },	/* a leap day */
	};
	static const char *const zones[] = { "America/Los_Angeles", "Pacific/Kiritimati", "UTC" };
	char out[32];
	for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
			gmt8_time(cases[i].t, out, sizeof out);
			assert_string_equal(out, cases[i].want);
		}
	}
	unsetenv("TZ");
	tzset();
}

static void
registered(void **state)
{
	(void)state;
	assert_ptr_equal(driver_find("douyin"), &drv_douyin);
	assert_true(drv_douyin.max_batch >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_page),
		cmocka_unit_test(sync_stock),
		cmocka_unit_test(chinese),
		cmocka_unit_test(small_out),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(registered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
