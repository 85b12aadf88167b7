/*
 * config.h - the INI configuration (libinih): one section per channel,
 * `type =` and its settings (DESIGN.md, "Config").  Looked for at
 * --config, $INVKIT_CONFIG, ./invkit.conf, $XDG_CONFIG_HOME/invkit/
 * invkit.conf (or ~/.config/...), /etc/invkit.conf, first found wins.
 *
 * Ownership: everything returned points into the struct config and lives
 * until config_release().  Secrets are read on demand into a caller's
 * buffer and never kept here.
 */
#ifndef INVKIT_CONFIG_H
#define INVKIT_CONFIG_H

#include <stddef.h>

#include "util.h"

struct cfg_kv {
	char *key, *val;
};

struct chan_cfg {
	char *name;		/* the section name: the channel's name */
	char *type;		/* shopify, woocommerce, file, ... */
	int line;		/* line of the section header */
	struct cfg_kv *kv;
	size_t nkv;
};

struct config {
	char *path;		/* the file read, NULL when none was found */
	struct chan_cfg *ch;
	size_t nch;
};

/*
 * Load the configuration from path, or from the first file found in the
 * search order when path is NULL.  No file found with path NULL is not an
 * error (an empty configuration).  Returns 0, or -1 with err set to
 * "FILE:LINE: problem" (the caller exits 78).
 */
int config_load(struct config *c, const char *path, struct buf *err);
void config_release(struct config *c);
const struct chan_cfg *config_channel(const struct config *c, const char *name);
/* Value of key in a channel's section, or NULL. */
const char *chan_get(const struct chan_cfg *ch, const char *key);
/*
 * Integer setting within [min, max], def when absent.  -1 with err set
 * ("FILE: [name]: concurrency: not an integer: ...") when bad.
 */
int chan_get_int(const struct config *c, const struct chan_cfg *ch, const char *key,
    long long def, long long min, long long max, long long *out, struct buf *err);
/*
 * The channel's secret: the first line of token_file (refused when the
 * file is readable by group or others, as ssh refuses a private key), or
 * else the environment variable INVKIT_TOKEN_<NAME> (name upper-cased,
 * '-' and '.' as '_').  -1 with err set when there is none or it is
 * refused; the secret itself never appears in err.
 */
int chan_secret(const struct config *c, const struct chan_cfg *ch, struct buf *secret,
    struct buf *err);

#endif
