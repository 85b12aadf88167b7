/*
 * guard.c - refuse a push that looks like a broken feed, before anything is
 * written: too many in-stock items going to zero (a master that lost
 * rows), too many changes at once, or a full feed far shorter than the
 * channel's last one (a truncated file).  --force overrides them all.
 *
 * The last size is remembered per channel in the state folder, and only
 * for full feeds (invdiff --all: every record has a status): the number of
 * corrections alone varies from run to run and says nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invpush.h"
#include "banned.h"

/* A last feed smaller than this says too little to compare with. */
#define SHRINK_MIN 10

static char *
last_path(const char *channel)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/channel/", state_dir());
	path_escape(&b, channel);
	buf_adds(&b, ".last");
	return b.s;
}

/* The size of the channel's last full feed, or -1 when none is known. */
static long long
last_size(const char *channel)
{
	char *p = last_path(channel);
	FILE *f = fopen(p, "r");
	long long n = -1;
	char line[64];

	if (f && fgets(line, sizeof line, f)) {
		int64_t v;
		size_t len = strcspn(line, "\n");
		if (!strncmp(line, "records ", 8) && !parse_i64(line + 8, len - 8, &v) && v >= 0)
			n = v;
	}
	if (f)
		fclose(f);
	free(p);
	return n;
}

static _Noreturn void
refuse(const char *what)
{
	die(EX_DATAERR, "refused: %s; nothing written (--force to push anyway)", what);
}

void
guards_check(const struct run *r)
{
	uint64_t ncorr = 0, zero = 0, changes = 0;
	static struct buf b;	/* static: reachable when refuse() exits */

	for (size_t i = 0; i < r->n; i++) {
		const struct corr *c = &r->v[i].c;
		if (r->v[i].skip)
			continue;
		ncorr++;
		zero += c->has_from && c->from > 0 && c->to == 0;
		changes += c->delta != 0;
	}
	if (opt.force)
		return;
	/*
	 * The share is of the whole feed when the input is one (invdiff --all),
	 * else of the corrections; and it takes --min-zero items at least, so
	 * that the one item that sold out since the last run does not stop a
	 * cron job (which would soon run with --force, and no guard at all).
	 */
	uint64_t base = r->full ? (uint64_t)r->n : ncorr;
	if (base && zero >= (uint64_t)opt.min_zero && zero * 100 > (uint64_t)opt.max_zero * base) {
		buf_addf(&b, "%llu of %llu %s (%.0f%%) would take an in-stock item to 0, "
		    "more than --max-zero %ld%%", (unsigned long long)zero,
		    (unsigned long long)base, r->full ? "records" : "corrections",
		    100.0 * (double)zero / (double)base, opt.max_zero);
		refuse(b.s);
	}
	if (opt.max_changes && changes > (uint64_t)opt.max_changes) {
		buf_addf(&b, "%llu changes, more than --max-changes %lld",
		    (unsigned long long)changes, opt.max_changes);
		refuse(b.s);
	}
	long long last = r->full ? last_size(r->channel) : -1;
	if (last >= SHRINK_MIN && (long double)r->n * 100 <
	    (long double)last * (long double)(100 - opt.max_shrink)) {
		buf_addf(&b, "the input holds %zu records, %.0f%% fewer than the %lld of this "
		    "channel's last full feed (--max-shrink %ld%%): a truncated feed?", r->n,
		    100.0 - 100.0 * (double)r->n / (double)last, last, opt.max_shrink);
		refuse(b.s);
	}
	buf_release(&b);
}

void
guards_remember(const struct run *r)
{
	if (!r->full)
		return;
	char *p = last_path(r->channel);
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	buf_addf(&dir, "%s/channel", state_dir());
	mkdirs(dir.s);
	buf_addf(&tmp, "%s.tmp", p);
	/* 0600 like every file of the state folder, whatever the umask */
	int fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fd >= 0 && !f)
		close(fd);
	int bad = !f || fprintf(f, "records %zu\n", r->n) < 0;
	if ((f && fclose(f) != 0) || bad || rename(tmp.s, p) < 0)
		warn_("%s: cannot remember the size of this feed", p);
	buf_release(&tmp);
	buf_release(&dir);
	free(p);
}
