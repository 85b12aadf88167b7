/*
 * test_drv_youzan.c - known answers for the Youzan driver's requests
 * (common/platform/youzan.c): the token request, the API URL, the
 * --since time as Unix milliseconds, and what each answer code means.
 *
 * The 有赞云 open API signs nothing: a call carries only the access token
 * in its URL, obtained from /auth/token with the app's client_secret (see
 * the head of youzan.c).  So there is no signature to know the answer of;
 * what must be exact instead is the token request's body, the URL the
 * token travels in, and the time filter (update_time_start, Unix ms),
 * which must not depend on the machine's zone.  The expected values were
 * computed independently of the driver, with Python:
 *
 *   json.dumps({"client_id": ..., "client_secret": ..., "authorize_type":
 *       "silent", "grant_id": ..., "refresh": False},
 *       separators=(",", ":"), ensure_ascii=False)
 *   urllib.parse.quote(token, safe="-._~")
 *   int(datetime.fromisoformat(t).timestamp() * 1000)
 *
 * tests/sim/platforms/youzan.py checks the credentials of every request
 * the driver sends with its own code.
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

void yz_token_body(const char *client_id, const char *secret, const char *grant_id,
    struct buf *out);
void yz_api_url(const char *base, const char *api, const char *version, const char *token,
    struct buf *out);
int yz_since_ms(const char *rfc3339, int64_t *ms);
int yz_errclass(int gateway, long long code);

enum { YZ_OK, YZ_AUTH, YZ_RATE, YZ_BUSY, YZ_OTHER };

/* The self-use app's token request, a JSON body (a quote and non-ASCII kept exact). */
static void
token_body(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	yz_token_body("yz_client_1", "s3cr\"et/\xc3\xa9", "91234567", &b);
	assert_string_equal(b.s, "{\"client_id\":\"yz_client_1\",\"client_secret\":\"s3cr\\\"et/"
	    "\xc3\xa9\",\"authorize_type\":\"silent\",\"grant_id\":\"91234567\",\"refresh\":false}");
	buf_release(&b);
}

/* /api/<name>/<version>?access_token=, the token percent-encoded. */
static void
api_url(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	yz_api_url("https://open.youzanyun.com", "youzan.item.quantity.update", "3.0.0",
	    "tok+/=~._-", &b);
	assert_string_equal(b.s, "https://open.youzanyun.com/api/youzan.item.quantity.update/3.0.0"
	    "?access_token=tok%2B%2F%3D~._-");
	buf_release(&b);
}

/* RFC 3339 -> Unix ms from the time's own offset, whatever TZ says. */
static void
since_ms(void **state)
{
	(void)state;
	static const struct { const char *s; int64_t ms; } ok[] = {
		{ "2026-03-02T09:14:00Z", 1772442840000LL },
		{ "2026-03-02T17:14:00.250+08:00", 1772442840250LL },	/* the same instant, Beijing */
		{ "2026-03-01T23:59:59.999-05:30", 1772429399999LL },
		{ "2026-03-01T23:59:59.9999-05:30", 1772429399999LL },	/* cut to ms, not rounded */
		{ "2026-11-26T00:00:00+08:00", 1795622400000LL },
		{ "2024-02-29T12:00:00+14:00", 1709157600000LL },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1999-12-31T23:59:60Z", 946684800000LL },	/* a leap second: the next one */
	};
	static const char *const bad[] = { "", "2026-03-02", "2026-03-02T09:14:00",
		"2026-03-02T09:14:00+0800", "2026-13-02T09:14:00Z", "2026-03-02T24:00:00Z",
		"2026-03-02T09:14:00.Z", "2026-03-02T09:14:00Zx", "2026-03-02T09:14:00+08:00 " };
	const char *zones[] = { "UTC", "Asia/Shanghai", "America/Los_Angeles", "<+14>-14" };
	int64_t ms;

	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
			ms = -1;
			assert_int_equal(yz_since_ms(ok[i].s, &ms), 0);
			assert_int_equal(ms, ok[i].ms);
		}
	}
	unsetenv("TZ");
	tzset();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(yz_since_ms(bad[i], &ms), -1);
	assert_int_equal(yz_since_ms(NULL, &ms), -1);
}

/* Gateway and service codes: credentials, rate, retry, the rest. */
static void
errclass(void **state)
{
	(void)state;
	assert_int_equal(yz_errclass(1, 4201), YZ_AUTH);
	assert_int_equal(yz_errclass(1, 4202), YZ_AUTH);
	assert_int_equal(yz_errclass(1, 4203), YZ_AUTH);
	assert_int_equal(yz_errclass(1, 4204), YZ_AUTH);
	assert_int_equal(yz_errclass(1, 4101), YZ_RATE);
	assert_int_equal(yz_errclass(1, 4005), YZ_OTHER);
	assert_int_equal(yz_errclass(1, 200), YZ_OTHER);	/* a gateway refusal is never ok */
	assert_int_equal(yz_errclass(0, 200), YZ_OK);
	assert_int_equal(yz_errclass(0, 500100004), YZ_RATE);
	assert_int_equal(yz_errclass(0, 123000042), YZ_RATE);
	assert_int_equal(yz_errclass(0, 106000001), YZ_BUSY);
	assert_int_equal(yz_errclass(0, 4201), YZ_OTHER);	/* a service code, not the gateway's */
	assert_int_equal(yz_errclass(0, 123003023), YZ_OTHER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_body),
		cmocka_unit_test(api_url),
		cmocka_unit_test(since_ms),
		cmocka_unit_test(errclass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
