/*
 * test_drv_tiktok.c - known answers for the TikTok Shop request signature
 * (common/platform/tiktok.c, tts_sign).  The expected values were computed
 * independently of the driver, with Python's hmac module:
 *
 *   import hmac, hashlib
 *   def sign(secret, path, params, body=""):
 *       s = secret + path + "".join(k + v for k, v in sorted(params.items())
 *                                   if k not in ("sign", "access_token")) + body + secret
 *       return hmac.new(secret.encode(), s.encode(), hashlib.sha256).hexdigest()
 *
 * with the arguments written next to each case.  tests/sim/platforms/
 * tiktok.py checks every request the driver sends with its own Python
 * implementation of the same rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform.h"

extern const struct driver drv_tiktok;
int tts_sign(const char *secret, const char *path, const char *const *kv, size_t n,
    const char *body, size_t blen, char *out, size_t outlen);

#define SECRET "e59af819cc"
#define KEY "68xu9ks5p4i8"
#define CIPHER "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"

/*
 * sign(SECRET, "/product/202309/products/search", {"app_key": KEY,
 * "shop_cipher": CIPHER, "timestamp": "1696909648", "page_size": "100"}, "{}")
 */
static void
search_page(void **state)
{
	(void)state;
	const char *kv[] = { "app_key", KEY, "shop_cipher", CIPHER, "timestamp", "1696909648",
		"page_size", "100" };
	char out[80];
	assert_int_equal(tts_sign(SECRET, "/product/202309/products/search", kv, 4, "{}", 2, out,
	    sizeof out), 0);
	assert_string_equal(out, "ba2b56704120e42fe47324c8f7cb570b3cdfaa33d1b822899e6fa34ae1b19c8b");
}

/*
 * sign(SECRET, "/product/202309/products/1729592969712207000/inventory/update",
 * {"timestamp": "1696909648", "app_key": KEY, "shop_cipher": CIPHER,
 * "access_token": "TTP_secret", "sign": "ffff"}, BODY): unsorted input, and
 * access_token and sign left out
 */
static void
update_unsorted(void **state)
{
	(void)state;
	const char *body = "{\"skus\":[{\"id\":\"1729592969712207013\",\"inventory\":[{\"warehouse_id\":"
	    "\"7068517275539719942\",\"quantity\":12}]}]}";
	const char *kv[] = { "timestamp", "1696909648", "app_key", KEY, "shop_cipher", CIPHER,
		"access_token", "TTP_secret", "sign", "ffff" };
	char out[80];
	assert_int_equal(tts_sign(SECRET, "/product/202309/products/1729592969712207000/inventory/update",
	    kv, 5, body, strlen(body), out, sizeof out), 0);
	assert_string_equal(out, "55106394ea35fe51d0ec2a84db54011cbaad95f8dbbcd10ce220bb4d4ba4c08f");
	/* the same without access_token and sign: the same sign */
	assert_int_equal(tts_sign(SECRET, "/product/202309/products/1729592969712207000/inventory/update",
	    kv, 3, body, strlen(body), out, sizeof out), 0);
	assert_string_equal(out, "55106394ea35fe51d0ec2a84db54011cbaad95f8dbbcd10ce220bb4d4ba4c08f");
}

/*
 * sign(SECRET, "/product/202309/products/search", {..., "page_size": "100",
 * "page_token": "b2Zmc2V0PTEwMA=="}, "{}"): the raw value is signed, not
 * its percent-encoded form
 */
static void
page_token(void **state)
{
	(void)state;
	const char *kv[] = { "page_token", "b2Zmc2V0PTEwMA==", "app_key", KEY, "shop_cipher", CIPHER,
		"timestamp", "1696909648", "page_size", "100" };
	char out[80];
	assert_int_equal(tts_sign(SECRET, "/product/202309/products/search", kv, 5, "{}", 2, out,
	    sizeof out), 0);
	assert_string_equal(out, "9a036d9a8fe4be09d4b7990fd7366fae3b2d23c308851d5d92fa37036634e2a5");
	/* a changed body, path or secret changes the sign */
	char other[80];
	assert_int_equal(tts_sign(SECRET, "/product/202309/products/search", kv, 5, "{ }", 3, other,
	    sizeof other), 0);
	assert_string_not_equal(out, other);
	assert_int_equal(tts_sign("e59af819cd", "/product/202309/products/search", kv, 5, "{}", 2, other,
	    sizeof other), 0);
	assert_string_not_equal(out, other);
}

static void
small_buffer(void **state)
{
	(void)state;
	const char *kv[] = { "app_key", KEY };
	char out[64];
	assert_int_equal(tts_sign(SECRET, "/x", kv, 1, NULL, 0, out, sizeof out), -1);
	assert_string_equal(drv_tiktok.type, "tiktok");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(search_page),
		cmocka_unit_test(update_unsorted),
		cmocka_unit_test(page_token),
		cmocka_unit_test(small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
