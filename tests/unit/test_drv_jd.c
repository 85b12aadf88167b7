/*
 * test_drv_jd.c - known answers for the JD (JOS) call signature and the
 * GMT+8 timestamp (common/platform/jd.c, jd_sign; the timestamp is common/platform.c's gmt8_time).  JOS
 * publishes no worked example we could reach, so the expected signs were
 * computed independently of the driver, with Python's hashlib:
 *
 *   import hashlib
 *   def sign(secret, params):
 *       s = secret + "".join(k + v for k, v in sorted(params.items())
 *                            if k != "sign" and v != "") + secret
 *       return hashlib.md5(s.encode("utf-8")).hexdigest().upper()
 *
 * with the arguments written next to each case; the epoch seconds with
 * calendar.timegm.  tests/sim/platforms/jd.py checks every call the driver
 * sends with its own implementation of the same rule, and the timestamp
 * against the clock.
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

extern const struct driver drv_jd;
int jd_sign(const char *secret, const char *const *kv, size_t n, char *out, size_t outlen);

#define SECRET "7b3f2e1d9c8a"
#define KEY "A1B2C3D4"
#define TOKEN "tok-0a1b"

/*
 * sign(SECRET, {"360buy_param_json": '{"field":"skuId,wareId,outerId,stockNum",
 * "pageNo":1,"page_size":100}', "access_token": TOKEN, "app_key": KEY, "method":
 * "jingdong.sku.read.searchSkuList", "timestamp": "2026-11-26 10:30:00", "v": "2.0"})
 */
static void
list_page(void **state)
{
	(void)state;
	const char *kv[] = { "360buy_param_json",
		"{\"field\":\"skuId,wareId,outerId,stockNum\",\"pageNo\":1,\"page_size\":100}",
		"access_token", TOKEN, "app_key", KEY, "method", "jingdong.sku.read.searchSkuList",
		"timestamp", "2026-11-26 10:30:00", "v", "2.0" };
	char out[40];
	assert_int_equal(jd_sign(SECRET, kv, 6, out, sizeof out), 0);
	assert_string_equal(out, "7C3A867889E7CD276C2C2C7FA882D10F");
}

/*
 * sign(SECRET, {"360buy_param_json": '{"skuId":100012340005,"stockNum":13}',
 * "access_token": TOKEN, "app_key": KEY, "method":
 * "jingdong.stock.write.updateSkuStock", "timestamp": "2027-01-01 00:00:00",
 * "v": "2.0", "sign": "FFFF"}): unsorted input; sign and an empty value left out
 */
static void
update_unsorted(void **state)
{
	(void)state;
	const char *kv[] = { "v", "2.0", "timestamp", "2027-01-01 00:00:00", "sign", "FFFF",
		"method", "jingdong.stock.write.updateSkuStock", "app_key", KEY, "format", "",
		"360buy_param_json", "{\"skuId\":100012340005,\"stockNum\":13}", "access_token", TOKEN };
	char out[40];
	assert_int_equal(jd_sign(SECRET, kv, 8, out, sizeof out), 0);
	assert_string_equal(out, "0ED75C98300021261623447968785DB9");
	/* another secret, another sign */
	char other[40];
	assert_int_equal(jd_sign("7b3f2e1d9c8b", kv, 8, other, sizeof other), 0);
	assert_string_not_equal(out, other);
}

/* the UTF-8 bytes are signed as they are: '{"note":"库存"}' in place of the list page's JSON */
static void
utf8_value(void **state)
{
	(void)state;
	const char *kv[] = { "360buy_param_json", "{\"note\":\"\xe5\xba\x93\xe5\xad\x98\"}",
		"access_token", TOKEN, "app_key", KEY, "method", "jingdong.sku.read.searchSkuList",
		"timestamp", "2026-11-26 10:30:00", "v", "2.0" };
	char out[40];
	assert_int_equal(jd_sign(SECRET, kv, 6, out, sizeof out), 0);
	assert_string_equal(out, "13FCEAF2F170EC3AFFD9475E6179431C");
}

static void
small_buffer(void **state)
{
	(void)state;
	const char *kv[] = { "app_key", KEY };
	char out[32];
	assert_int_equal(jd_sign(SECRET, kv, 1, out, sizeof out), -1);
	assert_string_equal(drv_jd.type, "jd");
}

/*
 * Beijing time from UTC, whatever the machine's zone: 0 is 08:00 on
 * 1970-01-01; 1795660200 (2026-11-26 02:30:00 UTC) is 10:30; 1798732800
 * (2026-12-31 16:00:00 UTC) is already 2027-01-01 in Beijing.
 */
static void
timestamp(void **state)
{
	(void)state;
	static const char *const zones[] = { "UTC", "America/Los_Angeles", "Pacific/Kiritimati",
		"Asia/Shanghai", "EST5EDT,M3.2.0,M11.1.0" };
	char out[32];
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		setenv("TZ", zones[i], 1);
		tzset();
		assert_int_equal(gmt8_time(0, out, sizeof out), 0);
		assert_string_equal(out, "1970-01-01 08:00:00");
		assert_int_equal(gmt8_time(1795660200, out, sizeof out), 0);
		assert_string_equal(out, "2026-11-26 10:30:00");
		assert_int_equal(gmt8_time(1798732800, out, sizeof out), 0);
		assert_string_equal(out, "2027-01-01 00:00:00");
		assert_int_equal(gmt8_time(1798732799, out, sizeof out), 0);
		assert_string_equal(out, "2026-12-31 23:59:59");
	}
	unsetenv("TZ");
	tzset();
	assert_int_equal(gmt8_time(0, out, 19), -1);	/* no room for the NUL */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_page),
		cmocka_unit_test(update_unsorted),
		cmocka_unit_test(utf8_value),
		cmocka_unit_test(small_buffer),
		cmocka_unit_test(timestamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
