/*
 * test_drv_taobao.c - known answers for the Taobao Open Platform request
 * sign (common/platform/taobao.c, top_sign) and its GMT+8 timestamp
 * (gmt8_time, common/platform.c).
 *
 * The first case is the documentation's own worked example ("API调用方法
 * 详解", open.taobao.com/doc.htm?docId=101617, quoted at
 * segmentfault.com/q/1010000002569107): app_key test, secret test,
 * taobao.user.seller.get at 2013-05-06 13:52:03 signs to
 * 72CB4D809B375A54502C09360D879C64.  The others were computed
 * independently of the driver, with Python's hashlib and hmac:
 *
 *   def sign(method, secret, params):
 *       s = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v != "")
 *       if method == "md5":
 *           return hashlib.md5((secret + s + secret).encode()).hexdigest().upper()
 *       h = hashlib.md5 if method == "hmac" else hashlib.sha256
 *       return hmac.new(secret.encode(), s.encode(), h).hexdigest().upper()
 *
 * and the timestamps with datetime.utcfromtimestamp(t + 28800).
 * tests/sim/platforms/taobao.py checks every request the driver sends with
 * its own implementation of the same rules.
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

extern const struct driver drv_taobao;
int top_sign(int method, const char *secret, const char *const *kv, size_t n, char *out,
    size_t outlen);

enum { SM_MD5, SM_HMAC, SM_HMAC256 };

/* The documentation's example: every system parameter, md5. */
static void
doc_example(void **state)
{
	(void)state;
	const char *kv[] = { "method", "taobao.user.seller.get", "timestamp", "2013-05-06 13:52:03",
		"format", "xml", "app_key", "test", "v", "2.0", "fields", "nick", "sign_method", "md5",
		"session", "test" };
	char out[80];
	assert_int_equal(top_sign(SM_MD5, "test", kv, 8, out, sizeof out), 0);
	assert_string_equal(out, "72CB4D809B375A54502C09360D879C64");
}

#define UPD_KV \
	"method", "taobao.item.quantity.update", "app_key", "12345678", "session", "6100abc", \
	"timestamp", "2026-11-26 10:30:00", "format", "json", "v", "2.0"

/*
 * sign(m, "helloworld", {method: taobao.item.quantity.update, app_key:
 * 12345678, session: 6100abc, timestamp: "2026-11-26 10:30:00", format:
 * json, v: 2.0, sign_method: m, num_iid: 600000000003, sku_id:
 * 5000000000001, quantity: -3, type: 2}) for the three methods
 */
static void
update_three_methods(void **state)
{
	(void)state;
	const char *md5[] = { UPD_KV, "sign_method", "md5", "num_iid", "600000000003", "sku_id",
		"5000000000001", "quantity", "-3", "type", "2" };
	const char *hm[] = { UPD_KV, "sign_method", "hmac", "num_iid", "600000000003", "sku_id",
		"5000000000001", "quantity", "-3", "type", "2" };
	const char *hs[] = { UPD_KV, "sign_method", "hmac-sha256", "num_iid", "600000000003", "sku_id",
		"5000000000001", "quantity", "-3", "type", "2" };
	char out[80];
	assert_int_equal(top_sign(SM_MD5, "helloworld", md5, 11, out, sizeof out), 0);
	assert_string_equal(out, "4D36746D25E86CE8113B187F37174230");
	assert_int_equal(top_sign(SM_HMAC, "helloworld", hm, 11, out, sizeof out), 0);
	assert_string_equal(out, "712E23C2DD416B2FF9E27311E40C3FAA");
	assert_int_equal(top_sign(SM_HMAC256, "helloworld", hs, 11, out, sizeof out), 0);
	assert_string_equal(out, "05B594D89CB861CFACF00336D19DC878CADC45F3863CFF4093ADC419AF4AC8E1");
}

/* sign and empty values are left out; the order of the input does not matter */
static void
left_out(void **state)
{
	(void)state;
	const char *kv[] = { "type", "2", "sign", "FFFF", "quantity", "-3", "sku_id", "5000000000001",
		"outer_id", "", "num_iid", "600000000003", "sign_method", "md5", UPD_KV };
	char out[80];
	assert_int_equal(top_sign(SM_MD5, "helloworld", kv, 13, out, sizeof out), 0);
	assert_string_equal(out, "4D36746D25E86CE8113B187F37174230");
	/* another secret, another sign */
	assert_int_equal(top_sign(SM_MD5, "helloworlD", kv, 13, out, sizeof out), 0);
	assert_string_not_equal(out, "4D36746D25E86CE8113B187F37174230");
}

/* a UTF-8 value is signed as its raw bytes, not encoded */
static void
utf8_value(void **state)
{
	(void)state;
	const char *kv[] = { "method", "taobao.items.onsale.get", "app_key", "12345678", "session",
		"6100abc", "timestamp", "2026-11-26 10:30:00", "format", "json", "v", "2.0",
		"sign_method", "md5", "fields", "num_iid,num,outer_id", "q", "连衣裙" };
	char out[80];
	assert_int_equal(top_sign(SM_MD5, "helloworld", kv, 9, out, sizeof out), 0);
	assert_string_equal(out, "DD54277888C78286378515A0CF96F81B");
}

static void
small_buffer(void **state)
{
	(void)state;
	const char *kv[] = { "app_key", "test" };
	char out[64];
	assert_int_equal(top_sign(SM_MD5, "test", kv, 1, out, 32), -1);
	assert_int_equal(top_sign(SM_HMAC256, "test", kv, 1, out, sizeof out), -1);
	assert_int_equal(top_sign(SM_HMAC, "test", kv, 1, out, 33), 0);
	assert_string_equal(drv_taobao.type, "taobao");
	assert_int_equal(drv_taobao.max_batch, 20);
}

/* GMT+8 from UTC, whatever the local zone says */
static void
timestamps(void **state)
{
	(void)state;
	const char *zones[] = { "America/Los_Angeles", "Pacific/Kiritimati", "UTC", "Asia/Shanghai" };
	char out[32];
	for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
		setenv("TZ", zones[i], 1);
		tzset();
		assert_int_equal(gmt8_time(0, out, sizeof out), 0);
		assert_string_equal(out, "1970-01-01 08:00:00");
		assert_int_equal(gmt8_time(1700000000, out, sizeof out), 0);
		assert_string_equal(out, "2023-11-15 06:13:20");
		/* 2023-12-31 16:00:00 UTC is already the new year in Beijing */
		assert_int_equal(gmt8_time(1704038400, out, sizeof out), 0);
		assert_string_equal(out, "2024-01-01 00:00:00");
	}
	assert_int_equal(gmt8_time(0, out, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doc_example),
		cmocka_unit_test(update_three_methods),
		cmocka_unit_test(left_out),
		cmocka_unit_test(utf8_value),
		cmocka_unit_test(small_buffer),
		cmocka_unit_test(timestamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
