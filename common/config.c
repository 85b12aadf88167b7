/*
 * config.c - INI configuration through libinih; see config.h.  libinih
 * does the parsing; this file keeps the sections, checks them (every
 * section has a type, no key twice) and reads secrets carefully.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

/* libinih keeps 49 bytes of a section name (MAX_SECTION in its ini.c, r55) */
#define INI_SECTION_MAX 49
/* the white space libinih skips at the start and end of lines (isspace) */
#define INI_SPACE " \t\r\n\v\f"

struct loadctx {
	struct config *c;
	struct buf *err;
	int failed;
	FILE *f;
	int line;		/* the line libinih is parsing */
	char *lb;		/* that line, as getline() read it */
	size_t lcap;
	struct sect {
		char *name;
		int line;
	} *sv;			/* the section headers read so far */
	size_t nsv;
};

static struct chan_cfg *
section(struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nch; i++)
		if (!strcmp(c->ch[i].name, name))
			return &c->ch[i];
	c->ch = xrealloc(c->ch, (c->nch + 1) * sizeof *c->ch);
	struct chan_cfg *ch = &c->ch[c->nch++];
	memset(ch, 0, sizeof *ch);
	ch->name = xstrdup(name);
	return ch;
}

/*
 * Whether the line being parsed reads "key = val" itself.  libinih also
 * calls the handler for an indented line after a setting, taking it as the
 * setting's value continued, under the previous key (cut to 49 bytes).
 */
static int
line_sets(const struct loadctx *x, const char *key, const char *val)
{
	const char *p = x->lb;
	size_t kl = strlen(key), vl = strlen(val);
	if (x->line == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	p += strspn(p, INI_SPACE);
	if (strncmp(p, key, kl) != 0)
		return 0;
	p += kl;
	p += strspn(p, INI_SPACE);
	if (*p != '=' && *p != ':')
		return 0;
	p++;
	p += strspn(p, INI_SPACE);
	return !strncmp(p, val, vl);
}

static int
on_kv(void *user, const char *sect, const char *key, const char *val)
{
	struct loadctx *x = user;
	if (x->failed)
		return 0;
	if (!line_sets(x, key, val)) {
		buf_addf(x->err, "%s:%d: an indented line continues the setting before it; "
		    "settings are one line each, not indented", x->c->path, x->line);
		x->failed = 1;
		return 0;
	}
	if (!*sect) {
		buf_addf(x->err, "%s:%d: setting '%s' outside any [channel] section", x->c->path,
		    x->line, key);
		x->failed = 1;
		return 0;
	}
	struct chan_cfg *ch = section(x->c, sect);
	for (size_t i = 0; i < ch->nkv; i++)
		if (!strcmp(ch->kv[i].key, key)) {
			buf_addf(x->err, "%s:%d: [%s]: '%s' set twice", x->c->path, x->line, sect, key);
			x->failed = 1;
			return 0;
		}
	ch->kv = xrealloc(ch->kv, (ch->nkv + 1) * sizeof *ch->kv);
	ch->kv[ch->nkv].key = xstrdup(key);
	ch->kv[ch->nkv].val = xstrdup(val);
	ch->nkv++;
	if (!strcmp(key, "type"))
		ch->type = ch->kv[ch->nkv - 1].val;
	return 1;
}

/*
 * libinih's reader: one whole line at a time, so that the lines are
 * counted for messages, and refusing what libinih would misread silently:
 * a NUL byte (the rest of the line lost), a line longer than its buffer
 * (the rest read as a line of its own), a section without a name, one
 * whose name it would cut short, and a section given twice (libinih would
 * merge the two).
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct loadctx *x = stream;
	if (x->failed)
		return NULL;
	ssize_t n = getline(&x->lb, &x->lcap, x->f);
	if (n <= 0)
		return NULL;
	x->line++;
	const char *path = x->c->path;
	if (memchr(x->lb, '\0', (size_t)n)) {
		buf_addf(x->err, "%s:%d: a NUL byte (not a text file?)", path, x->line);
		x->failed = 1;
		return NULL;
	}
	if (n - (x->lb[n - 1] == '\n') > num - 2) {
		buf_addf(x->err, "%s:%d: line longer than %d bytes", path, x->line, num - 2);
		x->failed = 1;
		return NULL;
	}
	const char *p = x->lb;
	if (x->line == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;	/* libinih skips a byte order mark */
	p += strspn(p, INI_SPACE);
	const char *e = *p == '[' ? strchr(p, ']') : NULL;
	if (e) {
		size_t len = (size_t)(e - p - 1);
		if (!len) {
			buf_addf(x->err, "%s:%d: a section without a name: []", path, x->line);
			x->failed = 1;
			return NULL;
		}
		if (len > INI_SECTION_MAX) {
			buf_addf(x->err, "%s:%d: section name longer than %d bytes", path, x->line,
			    INI_SECTION_MAX);
			x->failed = 1;
			return NULL;
		}
		for (size_t i = 0; i < x->nsv; i++)
			if (strlen(x->sv[i].name) == len && !memcmp(x->sv[i].name, p + 1, len)) {
				buf_addf(x->err, "%s:%d: [%.*s] given twice (first on line %d)", path,
				    x->line, (int)len, p + 1, x->sv[i].line);
				x->failed = 1;
				return NULL;
			}
		x->sv = xrealloc(x->sv, (x->nsv + 1) * sizeof *x->sv);
		x->sv[x->nsv].name = xstrndup(p + 1, len);
		x->sv[x->nsv++].line = x->line;
	}
	memcpy(str, x->lb, (size_t)n + 1);
	return str;
}

/* Line of each section header, for messages (libinih does not say). */
static void
section_lines(struct config *c, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	rewind(f);
	while (getline(&line, &cap, f) > 0) {
		n++;
		char *p = line;
		if (n == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
			p += 3;	/* a byte order mark, as libinih skips it */
		p += strspn(p, INI_SPACE);
		if (*p != '[')
			continue;
		char *e = strchr(p, ']');
		if (!e)
			continue;
		*e = '\0';
		for (size_t i = 0; i < c->nch; i++)
			if (!strcmp(c->ch[i].name, p + 1) && !c->ch[i].line)
				c->ch[i].line = n;
	}
	free(line);
}

static char *
search(void)
{
	const char *env = getenv("INVKIT_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct buf b = BUF_INIT;

	if (env && *env)
		return xstrdup(env);
	if (access("invkit.conf", F_OK) == 0)
		return xstrdup("invkit.conf");
	if (xdg && *xdg)
		buf_addf(&b, "%s/invkit/invkit.conf", xdg);
	else if (home && *home)
		buf_addf(&b, "%s/.config/invkit/invkit.conf", home);
	if (b.len && access(b.s, F_OK) == 0)
		return b.s;
	buf_release(&b);
	if (access("/etc/invkit.conf", F_OK) == 0)
		return xstrdup("/etc/invkit.conf");
	return NULL;
}

int
config_load(struct config *c, const char *path, struct buf *err)
{
	struct loadctx x = { .c = c, .err = err };
	FILE *f;

	memset(c, 0, sizeof *c);
	buf_reset(err);
	c->path = path ? xstrdup(path) : search();
	if (!c->path)
		return 0;
	if (!(f = fopen(c->path, "r"))) {
		buf_addf(err, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	x.f = f;
	int r = ini_parse_stream(read_line, &x, on_kv, &x);
	free(x.lb);
	for (size_t i = 0; i < x.nsv; i++)
		free(x.sv[i].name);
	free(x.sv);
	/* libinih goes on after a line it cannot parse: the first fault wins */
	if (r > 0 && (!x.failed || r < x.line)) {
		buf_reset(err);
		buf_addf(err, "%s:%d: not a section, a setting or a comment", c->path, r);
	}
	if (r != 0 || x.failed) {
		fclose(f);
		return -1;
	}
	section_lines(c, f);
	fclose(f);
	for (size_t i = 0; i < c->nch; i++)
		if (!c->ch[i].type || !*c->ch[i].type) {
			buf_addf(err, "%s:%d: [%s]: no 'type =' (shopify, woocommerce, file, ...)",
			    c->path, c->ch[i].line, c->ch[i].name);
			return -1;
		}
	return 0;
}

void
config_release(struct config *c)
{
	for (size_t i = 0; i < c->nch; i++) {
		for (size_t k = 0; k < c->ch[i].nkv; k++) {
			free(c->ch[i].kv[k].key);
			free(c->ch[i].kv[k].val);
		}
		free(c->ch[i].kv);
		free(c->ch[i].name);
	}
	free(c->ch);
	free(c->path);
	memset(c, 0, sizeof *c);
}

const struct chan_cfg *
config_channel(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nch; i++)
		if (!strcmp(c->ch[i].name, name))
			return &c->ch[i];
	return NULL;
}

const char *
chan_get(const struct chan_cfg *ch, const char *key)
{
	for (size_t i = 0; i < ch->nkv; i++)
		if (!strcmp(ch->kv[i].key, key))
			return ch->kv[i].val;
	return NULL;
}

int
chan_get_int(const struct config *c, const struct chan_cfg *ch, const char *key,
    long long def, long long min, long long max, long long *out, struct buf *err)
{
	const char *v = chan_get(ch, key);
	int64_t n;
	const char *why;

	*out = def;
	if (!v)
		return 0;
	if ((why = parse_i64(v, strlen(v), &n)) != NULL || n < min || n > max) {
		struct buf q = BUF_INIT;
		buf_reset(err);
		if (why)
			buf_addf(err, "%s:%d: [%s]: %s: %s: %s", c->path, ch->line, ch->name, key, why,
			    quoted(&q, v, strlen(v)));
		else
			buf_addf(err, "%s:%d: [%s]: %s: %lld is out of range (%lld to %lld)", c->path,
			    ch->line, ch->name, key, (long long)n, min, max);
		buf_release(&q);
		return -1;
	}
	*out = n;
	return 0;
}

int
chan_secret(const struct config *c, const struct chan_cfg *ch, struct buf *secret,
    struct buf *err)
{
	const char *tf = chan_get(ch, "token_file");
	buf_reset(secret);
	buf_reset(err);
	if (tf) {
		int fd = open(tf, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0) {
			buf_addf(err, "%s: [%s]: token_file %s: %s", c->path, ch->name, tf, strerror(errno));
			return -1;
		}
		if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
			buf_addf(err, "%s: [%s]: token_file %s is readable by others (mode %03o); "
			    "chmod 600 it", c->path, ch->name, tf, (unsigned)(st.st_mode & 0777));
			close(fd);
			return -1;
		}
		char b[4096];
		ssize_t k;
		while ((k = read(fd, b, sizeof b)) > 0)
			buf_add(secret, b, (size_t)k);
		close(fd);
		if (k < 0) {
			buf_addf(err, "%s: [%s]: token_file %s: %s", c->path, ch->name, tf, strerror(errno));
			return -1;
		}
		size_t nl = strcspn(secret->s ? secret->s : "", "\r\n");
		secret->len = nl;
		if (secret->s)
			secret->s[nl] = '\0';
		if (!nl) {
			buf_addf(err, "%s: [%s]: token_file %s is empty", c->path, ch->name, tf);
			return -1;
		}
		return 0;
	}
	struct buf var = BUF_INIT;
	buf_adds(&var, "INVKIT_TOKEN_");
	for (const char *p = ch->name; *p; p++)
		buf_addc(&var, *p == '-' || *p == '.' ? '_' :
		    (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p);
	const char *v = getenv(var.s);
	if (!v || !*v) {
		buf_addf(err, "%s: [%s]: no secret: set token_file = or %s", c->path ? c->path : "config",
		    ch->name, var.s);
		buf_release(&var);
		return -1;
	}
	buf_adds(secret, v);
	buf_release(&var);
	return 0;
}
