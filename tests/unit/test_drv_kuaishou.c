/*
 * test_drv_kuaishou.c - known answers for the Kuaishou request signature
 * and timestamp (common/platform/kuaishou.c, ks_sign and ks_timestamp).
 *
 * The official page ("API调用说明", open.kwaixiaodian.com) works its example
 * with placeholders (access_token=xxx, signSecret=xxxxxx) and shows a sign
 * that those placeholders do not produce, so the expected values here were
 * computed independently of the driver, with Python's hashlib and hmac, on
 * the page's own parameters where they exist:
 *
 *   import hmac, hashlib, base64
 *   def sign(secret, params, md5=False):
 *       s = "&".join(k + "=" + v for k, v in sorted(params.items())
 *                    if k != "sign") + "&signSecret=" + secret
 *       if md5:
 *           return hashlib.md5(s.encode()).hexdigest()
 *       return base64.b64encode(hmac.new(secret.encode(), s.encode(),
 *                                        hashlib.sha256).digest()).decode()
 *
 * tests/sim/platforms/kuaishou.py checks every request the driver sends
 * with its own Python implementation of the same rule.
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

int ks_sign(const char *secret, int md5, const char *const *kv, size_t n, char *out,
    size_t outlen);
void ks_timestamp(const struct timespec *t, char *out, size_t outlen);

#define DOC_PARAM "{\"title\":\"短袖\", \"relItemId\":123456, \"categoryId\":12}"

/*
 * The page's example: sign("xxxxxx", {"access_token": "xxx", "appkey":
 * "ks123", "method": "open.xxx.xxx.xxx", "param": DOC_PARAM, "signMethod":
 * "HMAC_SHA256", "timestamp": "1583271919000", "version": "1"}), given in
 * another order.
 */
static void
doc_example_hmac(void **state)
{
	(void)state;
	const char *kv[] = { "version", "1", "timestamp", "1583271919000", "signMethod", "HMAC_SHA256",
		"param", DOC_PARAM, "method", "open.xxx.xxx.xxx", "appkey", "ks123", "access_token", "xxx" };
	char out[96];
	assert_int_equal(ks_sign("xxxxxx", 0, kv, 7, out, sizeof out), 0);
	assert_string_equal(out, "pw81NVLI1T0dWe5ja6jiZd5ZON3iSx65h/8TBi8CYCg=");
}

/* The same with signMethod MD5 and md5=True: lower-case hex. */
static void
doc_example_md5(void **state)
{
	(void)state;
	const char *kv[] = { "access_token", "xxx", "appkey", "ks123", "method", "open.xxx.xxx.xxx",
		"param", DOC_PARAM, "signMethod", "MD5", "timestamp", "1583271919000", "version", "1" };
	char out[96];
	assert_int_equal(ks_sign("xxxxxx", 1, kv, 7, out, sizeof out), 0);
	assert_string_equal(out, "5ed7892473f85b811891e0f1d65e10a4");
}

/*
 * A stock update as the driver sends it, with a "sign" pair that must be
 * left out: sign("b690afccbefc07697782cad097e51e40", {"access_token":
 * "ChFvYXV0aC5hY2Nlc3NUb2tlbh", "appkey": "ks700000000000000001", "method":
 * "open.item.sku.stock.update", "param": '{"kwaiItemId":2100000000001,
 * "skuId":2200000000001,"skuChangeStock":3,"changeType":2}', "signMethod":
 * "HMAC_SHA256", "timestamp": "1764124800123", "version": "1", "sign":
 * "ignored"})
 */
static void
stock_update(void **state)
{
	(void)state;
	const char *kv[] = { "sign", "ignored", "appkey", "ks700000000000000001",
		"access_token", "ChFvYXV0aC5hY2Nlc3NUb2tlbh", "method", "open.item.sku.stock.update",
		"param", "{\"kwaiItemId\":2100000000001,\"skuId\":2200000000001,\"skuChangeStock\":3,"
		"\"changeType\":2}", "signMethod", "HMAC_SHA256", "timestamp", "1764124800123",
		"version", "1" };
	char out[96];
	assert_int_equal(ks_sign("b690afccbefc07697782cad097e51e40", 0, kv, 8, out, sizeof out), 0);
	assert_string_equal(out, "Nug/IbScrcE2/0XsjA9p3FVdSSySxIVmvEfgeICvSFk=");
}

/* Too small an output buffer is refused, not overrun. */
static void
small_buffer(void **state)
{
	(void)state;
	const char *kv[] = { "appkey", "k" };
	char out[32];
	assert_int_equal(ks_sign("s", 0, kv, 1, out, sizeof out), -1);
	assert_int_equal(ks_sign("s", 1, kv, 1, out, sizeof out), -1);
}

/*
 * The timestamp is Unix time in milliseconds (2025-11-26T02:40:00.123Z is
 * 1764124800123): the same under any TZ, Beijing time included.
 */
static void
timestamp_ms(void **state)
{
	(void)state;
	struct timespec t = { 1764124800, 123999999 };
	const char *zones[] = { "UTC", "Asia/Shanghai", "America/New_York", "CST-8", "<+14>-14" };
	char out[32];
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		setenv("TZ", zones[i], 1);
		tzset();
		ks_timestamp(&t, out, sizeof out);
		assert_string_equal(out, "1764124800123");
	}
	struct timespec z = { 0, 999999 };
	ks_timestamp(&z, out, sizeof out);
	assert_string_equal(out, "0");
	unsetenv("TZ");
	tzset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doc_example_hmac),
		cmocka_unit_test(doc_example_md5),
		cmocka_unit_test(stock_update),
		cmocka_unit_test(small_buffer),
		cmocka_unit_test(timestamp_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
