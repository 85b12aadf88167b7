/*
 * platform.c - the driver registry and what every channel shares: finding
 * its config section, the HTTP layer built from its settings, and the
 * idempotency key of a correction.
 */
#include "platform.h"

#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "banned.h"

const char *const corr_status_names[] = {
	"pending", "applied", "unchanged", "conflict", "failed", "planned", "skipped",
};

/* Drivers, one file each in common/platform/. */
extern const struct driver drv_file, drv_shopify, drv_woocommerce, drv_medusa, drv_vendure;
extern const struct driver drv_bigcommerce, drv_ebay, drv_magento, drv_shipbob, drv_tiktok;
extern const struct driver drv_walmart, drv_amazon, drv_douyin, drv_taobao, drv_jd;
extern const struct driver drv_pinduoduo, drv_kuaishou, drv_youzan, drv_wechat;

const struct driver *
driver_find(const char *type)
{
	const struct driver *all[] = { &drv_file, &drv_shopify, &drv_woocommerce, &drv_medusa,
		&drv_vendure, &drv_bigcommerce, &drv_magento, &drv_ebay, &drv_shipbob, &drv_tiktok,
		&drv_amazon, &drv_walmart, &drv_douyin, &drv_taobao, &drv_jd, &drv_pinduoduo,
		&drv_kuaishou, &drv_youzan, &drv_wechat };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		if (!strcmp(all[i]->type, type))
			return all[i];
	return NULL;
}

struct chan *
chan_open(const struct config *cfg, const char *name, int verbose, struct buf *err, int *code)
{
	const struct chan_cfg *cc = config_channel(cfg, name);
	const struct driver *d;
	long long conc, timeout;

	buf_reset(err);
	*code = EX_CONFIG;
	if (!cc) {
		if (cfg->path)
			buf_addf(err, "%s: no channel '%s' (a [%s] section)", cfg->path, name, name);
		else
			buf_addf(err, "no configuration file found for channel '%s' (--config, "
			    "$INVKIT_CONFIG, ./invkit.conf, ~/.config/invkit/invkit.conf, "
			    "/etc/invkit.conf)", name);
		return NULL;
	}
	if (!(d = driver_find(cc->type))) {
		buf_addf(err, "%s:%d: [%s]: unknown type '%s'", cfg->path, cc->line, name, cc->type);
		return NULL;
	}
	if (chan_get_int(cfg, cc, "concurrency", 4, 1, 64, &conc, err) < 0 ||
	    chan_get_int(cfg, cc, "timeout", 30, 1, 3600, &timeout, err) < 0)
		return NULL;
	struct chan *c = xcalloc(1, sizeof *c);
	c->drv = d;
	c->cfg = cfg;
	c->cc = cc;
	c->name = cc->name;
	c->verbose = verbose;
	const char *base = chan_get(cc, "base_url");
	if (base) {
		if (http_url_ok(base, err) < 0) {
			struct buf e = BUF_INIT;
			buf_addf(&e, "%s:%d: [%s]: %s", cfg->path, cc->line, name, err->s);
			buf_reset(err);
			buf_add(err, e.s, e.len);
			buf_release(&e);
			free(c);
			return NULL;
		}
		struct http_opts o = { 0 };
		o.concurrency = (int)conc;
		o.timeout_ms = (long)timeout * 1000;
		o.ca_file = chan_get(cc, "ca_file");
		o.verbose = verbose;
		c->http = http_new(&o);
	}
	int rc = d->open(c, err);
	if (rc) {
		*code = rc;
		http_free(c->http);
		free(c);
		return NULL;
	}
	*code = 0;
	return c;
}

void
chan_close(struct chan *c)
{
	if (!c)
		return;
	if (c->drv->close)
		c->drv->close(c);
	http_free(c->http);
	free(c);
}

void
corr_key(struct corr *k, const char *run)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s\037%s\037%s\037", run, k->item ? k->item : "", k->location ? k->location : "");
	if (k->has_from)
		buf_addf(&b, "%lld", (long long)k->from);
	else
		buf_adds(&b, "null");
	buf_addf(&b, "\037%lld", (long long)k->to);
	key_uuid(b.s, b.len, k->key, sizeof k->key);
	buf_release(&b);
}

void
key_uuid(const void *s, size_t n, char *out, size_t outlen)
{
	XXH128_hash_t h = XXH3_128bits(s, n);
	/* UUID-shaped, as Shopify's examples use for @idempotent(key:) */
	snprintf(out, outlen, "%08x-%04x-%04x-%04x-%012llx",
	    (unsigned)(h.high64 >> 32), (unsigned)(h.high64 >> 16) & 0xffff,
	    (unsigned)h.high64 & 0xffff, (unsigned)(h.low64 >> 48),
	    (unsigned long long)(h.low64 & 0xffffffffffffULL));
}

int
http_fail_code(const struct http_req *r)
{
	if (r->status == 401 || r->status == 403)
		return EX_NOPERM;
	if (r->permanent)
		return EX_UNAVAILABLE;	/* a bad certificate or a huge answer: not "retry later" */
	if (r->status == 0 || r->status == 429 || r->status == 408 || r->status >= 500)
		return EX_TEMPFAIL;
	return EX_UNAVAILABLE;
}

void
corr_fail(struct corr *k, int status, const char *fmt, ...)
{
	char m[sizeof k->error];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	m[utf8_prefix(m, sizeof m - 1)] = '\0';
	memcpy(k->error, m, sizeof m);
	k->status = status;
}

double
backoff_s(int attempt)
{
	return 0.5 * (1 << (attempt < 6 ? attempt : 6));
}

int
push_rounds(struct chan *c, struct corr **p, size_t todo, int max, push_round_fn *round,
    struct buf *err)
{
	int rc = 0;
	for (int r = 0; todo && !rc; r++) {
		double wait = -1;
		rc = round(c, p, &todo, &wait, err);
		if (!todo || rc)
			break;
		if (r + 1 >= max) {
			for (size_t i = 0; i < todo; i++)
				corr_fail(p[i], CS_FAILED, "not written: gave up after %d attempts: %s", max,
				    p[i]->error);
			break;
		}
		sleep_s(wait >= 0 ? wait : backoff_s(r));
	}
	return rc;
}

void
corr_fail_pending(struct corr **v, size_t n, int rc, const struct buf *err)
{
	for (size_t i = 0; i < n; i++)
		if (v[i]->status == CS_PENDING)
			corr_fail(v[i], CS_FAILED, "not written: %s",
			    rc && err->len ? err->s : "not attempted");
}

int
delta_settle(struct corr *k, int64_t pre, int64_t change)
{
	if (k->has_current && k->current == pre + change) {
		k->status = CS_APPLIED;
		k->error[0] = '\0';
		return 1;
	}
	if (k->has_current && k->current == pre) {
		snprintf(k->error, sizeof k->error, "not applied: the answer was lost");
		return 0;
	}
	if (k->has_current)
		corr_fail(k, CS_FAILED, "unknown outcome, re-read shows %lld (%lld if applied; not sent "
		    "again)", (long long)k->current, (long long)(pre + change));
	else
		corr_fail(k, CS_FAILED, "unknown outcome, re-read shows no SKU (not sent again)");
	return -1;
}

void
delta_settle_lost(struct chan *c, struct dwrite **w, size_t n,
    int (*reread)(struct chan *, struct corr **, size_t, int, struct buf *))
{
	struct corr **unk = xcalloc(n ? n : 1, sizeof *unk);
	struct buf e = BUF_INIT;
	size_t nunk = 0;

	for (size_t i = 0; i < n; i++)
		if (w[i]->state == DW_UNKNOWN)
			unk[nunk++] = w[i]->k;
	int failed = nunk && reread(c, unk, nunk, 0, &e);
	for (size_t i = 0; i < n && nunk; i++) {
		if (w[i]->state != DW_UNKNOWN)
			continue;
		if (failed) {
			w[i]->state = DW_DONE;
			corr_fail(w[i]->k, CS_FAILED, "unknown outcome: the answer was lost, and the "
			    "re-read failed: %.*s", utf8_prefix(e.s, 150), e.s);
		} else {
			w[i]->state = delta_settle(w[i]->k, w[i]->pre, w[i]->change) == 0 ?
			    DW_RETRY : DW_DONE;
		}
	}
	buf_release(&e);
	free(unk);
}

int
utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n <= max)
		return (int)n;
	/* s[max] is not kept: back off while it continues a character */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

int
cred_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return n > 0;
}

int
id_cmp(const char *a, const char *b)
{
	size_t x = strlen(a), y = strlen(b);
	return x != y ? (x < y ? -1 : 1) : strcmp(a, b);
}

int
id_ptr_cmp(const void *a, const void *b)
{
	return id_cmp(*(char *const *)a, *(char *const *)b);
}

int
gmt8_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	time_t b = t + 8 * 3600;
	if (!gmtime_r(&b, &tm) || strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return -1;
	return 0;
}
