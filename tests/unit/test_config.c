/*
 * test_config.c - the INI configuration: sections, settings, errors with
 * file and line, integer settings, and secrets (file mode, environment,
 * never echoed in errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[] = "/tmp/invkit-cfg.XXXXXX";

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void
test_sections(void **state)
{
	(void)state;
	struct config c;
	struct buf err = BUF_INIT;
	const char *p = write_file("a.conf",
	    "; comment\n[shopify-eu]\ntype = shopify\nbase_url = http://127.0.0.1:1/x\n"
	    "concurrency = 4\n\n[wms]\ntype=file\npath = /tmp/x.ndjson\n", 0644);
	assert_int_equal(config_load(&c, p, &err), 0);
	assert_int_equal(c.nch, 2);
	const struct chan_cfg *ch = config_channel(&c, "shopify-eu");
	assert_non_null(ch);
	assert_string_equal(ch->type, "shopify");
	assert_int_equal(ch->line, 2);
	assert_string_equal(chan_get(ch, "base_url"), "http://127.0.0.1:1/x");
	assert_null(chan_get(ch, "nothing"));
	long long n;
	assert_int_equal(chan_get_int(&c, ch, "concurrency", 8, 1, 64, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(chan_get_int(&c, ch, "timeout", 30, 1, 600, &n, &err), 0);
	assert_int_equal(n, 30);
	assert_int_equal(chan_get_int(&c, ch, "base_url", 30, 1, 600, &n, &err), -1);
	assert_non_null(strstr(err.s, "[shopify-eu]: base_url: not an integer"));
	assert_string_equal(config_channel(&c, "wms")->type, "file");
	assert_int_equal(config_channel(&c, "wms")->line, 7);
	assert_null(config_channel(&c, "nope"));
	config_release(&c);
	buf_release(&err);
}

static void
test_errors(void **state)
{
	(void)state;
	struct config c;
	struct buf err = BUF_INIT;
	const char *p = write_file("b.conf", "[x]\nbase_url = a\n", 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "b.conf:1: [x]: no 'type ='"));
	config_release(&c);
	p = write_file("c.conf", "[x]\ntype = file\ntype = shopify\n", 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "[x]: 'type' set twice"));
	config_release(&c);
	p = write_file("d.conf", "[x]\ntype = file\nthis is not ini\n", 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "d.conf:3: not a section"));
	config_release(&c);
	p = write_file("e.conf", "type = file\n", 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "outside any [channel] section"));
	config_release(&c);
	assert_int_equal(config_load(&c, "/nonexistent/invkit.conf", &err), -1);
	assert_non_null(strstr(err.s, "No such file"));
	config_release(&c);
	buf_release(&err);
}

/*
 * What libinih would read otherwise than written, found by fuzz_config
 * (tests/fuzz/corpus/fuzz_config/regress_*): the line of a section after a
 * byte order mark, a section name it would cut to 49 bytes, and an indented
 * line it would take for the setting before it continued (under that
 * setting's name cut to 49 bytes, as a second setting).
 */
static void
test_ini_limits(void **state)
{
	(void)state;
	struct config c;
	struct buf err = BUF_INIT;
	const char *p = write_file("bom.conf", "\xef\xbb\xbf[a]\r\ntype = file\r\n\r\n[b]\ntype = file\n",
	    0644);
	assert_int_equal(config_load(&c, p, &err), 0);
	assert_int_equal(config_channel(&c, "a")->line, 1);
	assert_int_equal(config_channel(&c, "b")->line, 4);
	config_release(&c);

	char text[256];
	snprintf(text, sizeof text, "[x]\ntype = file\n[%s]\ntype = file\n",
	    "s123456789s123456789s123456789s123456789s123456789");
	p = write_file("longsect.conf", text, 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "longsect.conf:3: section name longer than 49 bytes"));
	config_release(&c);

	p = write_file("indent.conf", "[x]\ntype = file\n  path = a.csv\n", 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "indent.conf:3: an indented line continues the setting "
	    "before it; settings are one line each, not indented"));
	config_release(&c);

	snprintf(text, sizeof text, "[x]\ntype = file\n%s = 1\n\tpath = b\n",
	    "k123456789k123456789k123456789k123456789k123456789k");
	p = write_file("longkey.conf", text, 0644);
	assert_int_equal(config_load(&c, p, &err), -1);
	assert_non_null(strstr(err.s, "longkey.conf:4: an indented line continues"));
	config_release(&c);
	buf_release(&err);
}

static void
test_secret(void **state)
{
	(void)state;
	struct config c;
	struct buf err = BUF_INIT, sec = BUF_INIT, conf = BUF_INIT;
	const char *tok = write_file("tok", "shpat_SECRET123\n", 0600);
	char tokpath[512];
	snprintf(tokpath, sizeof tokpath, "%s", tok);
	buf_addf(&conf, "[s]\ntype = shopify\ntoken_file = %s\n[e]\ntype = shopify\n", tokpath);
	const char *p = write_file("s.conf", conf.s, 0644);
	assert_int_equal(config_load(&c, p, &err), 0);
	assert_int_equal(chan_secret(&c, config_channel(&c, "s"), &sec, &err), 0);
	assert_string_equal(sec.s, "shpat_SECRET123");
	/* readable by others: refused, and the secret is not in the message */
	chmod(tokpath, 0644);
	assert_int_equal(chan_secret(&c, config_channel(&c, "s"), &sec, &err), -1);
	assert_non_null(strstr(err.s, "readable by others"));
	assert_null(strstr(err.s, "SECRET123"));
	/* environment */
	unsetenv("INVKIT_TOKEN_E");
	assert_int_equal(chan_secret(&c, config_channel(&c, "e"), &sec, &err), -1);
	assert_non_null(strstr(err.s, "INVKIT_TOKEN_E"));
	setenv("INVKIT_TOKEN_E", "envsecret", 1);
	assert_int_equal(chan_secret(&c, config_channel(&c, "e"), &sec, &err), 0);
	assert_string_equal(sec.s, "envsecret");
	config_release(&c);
	buf_release(&err);
	buf_release(&sec);
	buf_release(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ini_limits),
		cmocka_unit_test(test_secret),
	};
	if (!mkdtemp(dir))
		return 1;
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return r;
}
