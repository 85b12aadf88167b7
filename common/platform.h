/*
 * platform.h - the one interface behind every platform driver (one file
 * each in common/platform/): open a configured channel, pull its stock,
 * read the current quantity of given items, and push corrections safely.
 *
 * The safe-write rules of DESIGN.md live in the drivers, because only a
 * driver knows what its platform offers: a relative adjust with an
 * idempotency key, an absolute set with compare-and-set, or neither (then
 * re-read immediately before writing).  invpush owns everything around
 * them: reading and planning the corrections, guards, the journal, resume
 * and results.
 *
 * Ownership: a struct chan is created by chan_open() and freed by
 * chan_close(); strings passed to emit() are borrowed for the call only.
 */
#ifndef INVKIT_PLATFORM_H
#define INVKIT_PLATFORM_H

#include <stdint.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "util.h"

/* One pulled quantity (invpull adds channel and ts). */
struct pulled {
	const char *item;	/* the platform's id */
	const char *sku;	/* the platform's own SKU, may be "" */
	const char *location;	/* platform location id, "" for one pool */
	const char *state;	/* "available", "on_hand", ... */
	int64_t qty;
};

struct pull_opts {
	const char **skus;	/* only these SKUs (NULL: all) */
	size_t nskus;
	const char **items;	/* only these items (NULL: all) */
	size_t nitems;
	const char *since;	/* RFC 3339, where the platform can filter; NULL */
};

enum corr_status {
	CS_PENDING = 0, CS_APPLIED, CS_UNCHANGED, CS_CONFLICT, CS_FAILED, CS_PLANNED, CS_SKIPPED
};
extern const char *const corr_status_names[];

/* One correction as a driver sees it. */
struct corr {
	const char *sku, *item, *location, *reason;
	int has_from;		/* from is known (else the target had no record) */
	int64_t from, to, delta;
	char key[80];		/* idempotency key: run + item + location + from + to */
	/* filled by the driver */
	int status;		/* enum corr_status */
	int has_current;	/* read(): current quantity known */
	int64_t current;
	int64_t after;		/* quantity after the write, when the platform says */
	int has_after;
	char error[256];	/* why, when not applied (never a secret) */
	void *user;		/* invpush's */
};

struct chan;

struct driver {
	const char *type;	/* the `type =` of a config section */
	size_t max_batch;	/* most corrections in one push() call */
	const char *read_only;	/* why invpush refuses the type (a 3PL's stock); NULL: it writes */
	/*
	 * Optional, no network: fail k (status and error set, returns 1) when
	 * push would refuse it whatever the platform shows (a read-only
	 * location, a quantity the platform cannot hold); 0 otherwise.  push
	 * applies the same rule; invpush --dry-run shows it.
	 */
	int (*refuse)(struct chan *c, struct corr *k);
	/*
	 * Check the section, read the secret, prepare.  Returns 0, or an exit
	 * code (78 bad config, 77 secret refused) with err set.
	 */
	int (*open)(struct chan *c, struct buf *err);
	/*
	 * Pull every matching quantity through emit.  Returns 0, or an exit
	 * code (69 unavailable, 75 try later, 77 auth refused, 65 bad answer)
	 * with err set: a pull that stops early is an error, never a short list.
	 */
	int (*pull)(struct chan *c, const struct pull_opts *o,
	    void (*emit)(const struct pulled *p, void *arg), void *arg, struct buf *err);
	/* Set current/has_current of each correction from the platform now. */
	int (*read)(struct chan *c, struct corr **v, size_t n, struct buf *err);
	/*
	 * Apply up to max_batch corrections, setting each one's status
	 * (applied, unchanged, conflict, failed) and error.  Never erase a
	 * concurrent sale; never re-send a relative change blindly.  A
	 * correction left CS_PENDING means "outcome unknown": invpush reports
	 * it as failed and --resume reads it back, so leave pending whatever
	 * was not decided.  Returns 0, or an exit code as pull when the
	 * platform could not be used at all.
	 */
	int (*push)(struct chan *c, struct corr **v, size_t n, const char *run, struct buf *err);
	void (*close)(struct chan *c);
};

struct chan {
	const struct driver *drv;
	const struct config *cfg;
	const struct chan_cfg *cc;	/* its config section */
	const char *name;
	struct http *http;		/* NULL for drivers without network */
	int verbose;
	void *priv;			/* the driver's */
	size_t max_batch;		/* set by open to override the driver's max_batch (0: the driver's) */
	/* what the last pull saw, for invpull's summary (drivers fill what applies) */
	uint64_t pages;			/* list pages read */
	uint64_t unmanaged;		/* items whose stock the platform does not track: not emitted */
};

/* The driver for a config type, or NULL. */
const struct driver *driver_find(const char *type);
/*
 * Open channel name from cfg: find its section and driver, create the HTTP
 * layer from its settings (concurrency, timeout, ca_file) and call the
 * driver's open.  Returns NULL with err set and *code the exit code (78
 * config, 77 auth, 69 unavailable).
 */
struct chan *chan_open(const struct config *cfg, const char *name, int verbose,
    struct buf *err, int *code);
void chan_close(struct chan *c);
/* A UUID-shaped key (37 bytes with the NUL) hashed from s[0..n). */
void key_uuid(const void *s, size_t n, char *out, size_t outlen);
/* The idempotency key of a correction in a run (hex of a hash). */
void corr_key(struct corr *k, const char *run);

/*
 * The exit status for a request that failed (sysexits): 77 for a refused
 * credential (401/403), 69 for what waiting will not cure (a bad
 * certificate, an answer over the limit, other 4xx), 75 for what it may
 * (no connection, 408, 429, 5xx).
 */
int http_fail_code(const struct http_req *r);

/*
 * Set a correction's status and its error text (printf-style).  The
 * arguments may quote k->error itself: the text is formatted aside first.
 * A text too long is cut on a UTF-8 character boundary (a platform's
 * Chinese message never ends in half a character).
 */
void corr_fail(struct corr *k, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The back-off before attempt + 1: 0.5 s, doubling up to 32 s. */
double backoff_s(int attempt);
/*
 * The rounds of a push.  round() writes what it can of p[0..*todo) and
 * leaves in p[0..*todo) the corrections to try again (each one's error
 * saying why); it may set *wait, the seconds before the next round (left
 * negative: backoff_s).  It returns 0, or an exit code that stops the
 * push (err set).  After max rounds the rest fail "not
 * written: gave up after MAX attempts: WHY".  Returns round()'s code.
 */
typedef int push_round_fn(struct chan *c, struct corr **p, size_t *todo, double *wait,
    struct buf *err);
int push_rounds(struct chan *c, struct corr **p, size_t todo, int max, push_round_fn *round,
    struct buf *err);
/* Every correction of v[0..n) still pending fails: "not written: " and err
 * when rc is an exit code, else "not attempted". */
void corr_fail_pending(struct corr **v, size_t n, int rc, const struct buf *err);

/*
 * A relative change of k by change, sent when k showed pre, whose answer
 * was lost, decided by a re-read (k->current, k->has_current): 1 applied
 * (k shows pre + change), 0 not applied (k still shows pre: it may go
 * again; k->error says why), -1 unknown (anything else: failed "unknown
 * outcome", never sent again).
 */
int delta_settle(struct corr *k, int64_t pre, int64_t change);

/* A relative write (a change by delta, no idempotency key) and its outcome. */
enum { DW_SENT, DW_RETRY, DW_UNKNOWN, DW_DONE };
struct dwrite {
	struct corr *k;
	int64_t pre, change;	/* quantity read before, and the change sent */
	int state;		/* DW_*: sent, to go again, answer lost, decided */
};

/*
 * The writes of w[0..n) whose answer was lost (DW_UNKNOWN) decided by one
 * re-read of their corrections, reread(c, v, n, 0, err) (the driver's read,
 * not lenient): by delta_settle, DW_RETRY when not applied, else DW_DONE.
 * A re-read that fails fails them all as unknown outcomes.
 */
void delta_settle_lost(struct chan *c, struct dwrite **w, size_t n,
    int (*reread)(struct chan *, struct corr **, size_t, int, struct buf *));

/* Helpers the drivers share. */
/* The length of the longest prefix of the string s, at most max bytes,
 * that ends on a UTF-8 character boundary (for "%.*s"). */
int utf8_prefix(const char *s, size_t max);
/* A credential read from a file: not empty, no space or control character. */
int cred_ok(const char *s, size_t n);
/* Order of two decimal ids as numbers, of any length (shorter first). */
int id_cmp(const char *a, const char *b);
/* id_cmp for qsort/bsearch over an array of char *. */
int id_ptr_cmp(const void *a, const void *b);
/* Time t as Beijing time (GMT+8, no daylight saving), "yyyy-MM-dd HH:mm:ss",
 * whatever the machine's time zone: 0, or -1 if out is too small. */
int gmt8_time(time_t t, char *out, size_t outlen);

#endif
