/*
 * fuzz_config.c - the INI configuration (common/config.c over libinih):
 * the input is written to a memfd and loaded with config_load, then every
 * channel goes through the accessors and the integer settings.
 *
 * Checked beyond the sanitizers, against the file itself:
 *  - a refused file has a one-line message naming the file;
 *  - an accepted file has channels with a name and a type, no name twice,
 *    no key twice in a channel, and chan_get/config_channel find them;
 *  - each channel's line is the line of its own [name] header;
 *  - each setting is exactly one line of the file, "key = value" with
 *    optional spaces and an inline "; comment": nothing cut short, nothing
 *    taken from the middle of a line (libinih's buffer is 200 bytes, its
 *    section names 50; a NUL byte ends its line early);
 *  - chan_get_int gives a value in range, the default, or a message.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "platform.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_config: check failed: %s (line %d)\n", \
	#c, __LINE__); abort(); } } while (0)

static int memfd = -1;
static char fdpath[64];

/* libinih's white space (isspace in the C locale). */
static int
sp(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Physical line n (1-based) of p[0..size), without its '\n'; 0 if none. */
static int
line_of(const char *p, size_t size, int n, const char **l, size_t *ln)
{
	size_t i = 0;
	for (int k = 1; i <= size; k++) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t e = nl ? (size_t)(nl - p) : size;
		if (k == n) {
			*l = p + i;
			*ln = e - i;
			if (n == 1 && *ln >= 3 && !memcmp(*l, "\xef\xbb\xbf", 3)) {
				*l += 3;	/* libinih skips a byte order mark */
				*ln -= 3;
			}
			return 1;
		}
		if (!nl)
			return 0;
		i = e + 1;
	}
	return 0;
}

/* l[0..ln) trimmed of white space at both ends. */
static void
trim(const char **l, size_t *ln)
{
	while (*ln && sp(**l))
		(*l)++, (*ln)--;
	while (*ln && sp((*l)[*ln - 1]))
		(*ln)--;
}

/* Does line l[0..ln) set key to val? */
static int
sets(const char *l, size_t ln, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = strlen(val);
	if (memchr(l, '\0', ln))
		return 0;
	trim(&l, &ln);
	if (ln < kl || memcmp(l, key, kl))
		return 0;
	l += kl;
	ln -= kl;
	while (ln && sp(*l))
		l++, ln--;
	if (!ln || (*l != '=' && *l != ':'))
		return 0;
	l++, ln--;
	while (ln && sp(*l))
		l++, ln--;
	if (ln < vl || memcmp(l, val, vl))
		return 0;
	l += vl;
	ln -= vl;
	/* the rest: nothing, or white space and an inline comment */
	size_t w = 0;
	while (w < ln && sp(l[w]))
		w++;
	return w == ln || (w > 0 && l[w] == ';') || (vl == 0 && l[w] == ';');
}

static void
check_loaded(const struct config *c, const char *p, size_t size)
{
	struct buf err = BUF_INIT;
	for (size_t i = 0; i < c->nch; i++) {
		const struct chan_cfg *ch = &c->ch[i];
		const char *l;
		size_t ln;
		CHECK(ch->name && *ch->name && ch->type && *ch->type);
		CHECK(config_channel(c, ch->name) == ch);
		CHECK(chan_get(ch, "type") == ch->type);
		/* its line is its own header */
		CHECK(ch->line >= 1 && line_of(p, size, ch->line, &l, &ln));
		size_t nl = strlen(ch->name);
		while (ln && sp(*l))
			l++, ln--;
		CHECK(ln >= nl + 2 && l[0] == '[' && !memcmp(l + 1, ch->name, nl) && l[nl + 1] == ']');
		for (size_t k = 0; k < ch->nkv; k++) {
			const struct cfg_kv *kv = &ch->kv[k];
			CHECK(chan_get(ch, kv->key) == kv->val);
			int found = 0;
			for (int n = 1; !found && line_of(p, size, n, &l, &ln); n++)
				found = sets(l, ln, kv->key, kv->val);
			if (!found) {
				fprintf(stderr, "fuzz_config: [%s] %s = '%s' is no line of the file\n",
				    ch->name, kv->key, kv->val);
				abort();
			}
		}
		static const struct { const char *key; long long def, min, max; } ints[] = {
			{ "concurrency", 4, 1, 64 }, { "timeout", 30, 1, 3600 },
			{ "pagination_limit", 25000, 2, 25000 },
		};
		for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
			long long v = -12345;
			int r = chan_get_int(c, ch, ints[k].key, ints[k].def, ints[k].min, ints[k].max, &v, &err);
			if (r == 0)
				CHECK(chan_get(ch, ints[k].key) ? v >= ints[k].min && v <= ints[k].max :
				    v == ints[k].def);
			else
				CHECK(r == -1 && err.len && strstr(err.s, ch->name) && !strchr(err.s, '\n'));
		}
		(void)driver_find(ch->type);
	}
	for (size_t i = 0; i < c->nch; i++)
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->ch[i].name, c->ch[j].name) != 0);
	buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct buf err = BUF_INIT;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_config", 0);
		CHECK(memfd >= 0);
		snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", memfd);
	}
	CHECK(ftruncate(memfd, 0) == 0);
	for (size_t off = 0; off < size;) {
		ssize_t k = pwrite(memfd, data + off, size - off, (off_t)off);
		CHECK(k > 0);
		off += (size_t)k;
	}
	int r = config_load(&c, fdpath, &err);
	if (r == 0) {
		CHECK(c.path && !strcmp(c.path, fdpath));
		check_loaded(&c, (const char *)data, size);
	} else {
		CHECK(r == -1);
		CHECK(err.len > 0 && !strncmp(err.s, fdpath, strlen(fdpath)));
		CHECK(!strchr(err.s, '\n'));
	}
	config_release(&c);
	buf_release(&err);
	return 0;
}
