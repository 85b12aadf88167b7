/*
 * test_drv_wechat.c - known answers for the WeChat Channels shop driver's
 * requests (common/platform/wechat.c: wx_token_body, wx_api_url,
 * wx_errclass).
 *
 * The shop API has no request signature and no timestamp: a call is
 * authorised by the access token in its query alone, and the token comes
 * from POST /cgi-bin/stable_token with the AppID and AppSecret in a JSON
 * body ("获取稳定版接口调用凭据").  So the known answers here are that body
 * and the call URLs, from the official pages' own examples where they have
 * them (appid "APPID", secret "APPSECRET", ACCESS_TOKEN), and otherwise
 * computed independently of the driver with Python:
 *
 *   json.dumps({"grant_type": "client_credential", "appid": a,
 *               "secret": s}, separators=(",", ":"), ensure_ascii=False)
 *   base + path + "?access_token=" + urllib.parse.quote(t, safe="-._~")
 *
 * tests/sim/platforms/wechat.py checks the token of every call the driver
 * makes, and that the secret is in no URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "platform.h"

void wx_token_body(const char *appid, const char *secret, struct buf *out);
void wx_api_url(const char *base, const char *path, const char *token, struct buf *out);
int wx_errclass(long long errcode);

enum { WX_OK, WX_AUTH, WX_RATE, WX_BUSY, WX_QUOTA, WX_OTHER };

/* The page's request example (without force_refresh, which defaults to false). */
static void
token_body_doc(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	wx_token_body("APPID", "APPSECRET", &b);
	assert_string_equal(b.s,
	    "{\"grant_type\":\"client_credential\",\"appid\":\"APPID\",\"secret\":\"APPSECRET\"}");
	buf_release(&b);
}

/* A secret with JSON's special characters and UTF-8 (Python's json.dumps above). */
static void
token_body_escaped(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	wx_token_body("wx1a2b3c4d5e6f7a8b", "a\"b\\c/\xe5\xaf\x86", &b);
	assert_string_equal(b.s, "{\"grant_type\":\"client_credential\",\"appid\":"
	    "\"wx1a2b3c4d5e6f7a8b\",\"secret\":\"a\\\"b\\\\c/\xe5\xaf\x86\"}");
	buf_release(&b);
}

/* The page's URL, and a token with characters a query must encode. */
static void
api_url(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	wx_api_url("https://api.weixin.qq.com", "/channels/ec/product/stock/update", "ACCESS_TOKEN", &b);
	assert_string_equal(b.s,
	    "https://api.weixin.qq.com/channels/ec/product/stock/update?access_token=ACCESS_TOKEN");
	buf_reset(&b);
	wx_api_url("http://127.0.0.1:8080/wechat/s1", "/channels/ec/product/stock/get",
	    "89_aB+c/d=e&f~g.h-i_", &b);
	assert_string_equal(b.s, "http://127.0.0.1:8080/wechat/s1/channels/ec/product/stock/get"
	    "?access_token=89_aB%2Bc%2Fd%3De%26f~g.h-i_");
	buf_release(&b);
}

/* The error codes of the pages named in wechat.c, as the driver treats them. */
static void
errclass(void **state)
{
	(void)state;
	static const struct { long long code; int cls; } t[] = {
		{ 0, WX_OK },
		{ 40001, WX_AUTH }, { 40014, WX_AUTH }, { 42001, WX_AUTH }, { 40013, WX_AUTH },
		{ 40125, WX_AUTH }, { 40164, WX_AUTH }, { 48001, WX_AUTH }, { 41001, WX_AUTH },
		{ 45011, WX_RATE }, { 10020112, WX_RATE },
		{ -1, WX_BUSY },
		{ 45009, WX_QUOTA },
		{ 10020052, WX_OTHER }, { 10020217, WX_OTHER }, { 10020219, WX_OTHER },
		{ 10020050, WX_OTHER }, { 1, WX_OTHER },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(wx_errclass(t[i].code), t[i].cls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_body_doc),
		cmocka_unit_test(token_body_escaped),
		cmocka_unit_test(api_url),
		cmocka_unit_test(errclass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
