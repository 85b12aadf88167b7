/*
 * push.c - send the corrections through the channel's driver in batches,
 * journal each batch before and after, find out on resume what a killed
 * run left unanswered, and write one result record per correction.
 *
 * The safe-write rules themselves (relative changes, idempotency keys,
 * compare-and-set, re-reading) live in the drivers: only a driver knows
 * what its platform offers.  Here: the order of things around them.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "invpush.h"
#include "wr.h"
#include "banned.h"

#define ITEM_OF(cp) ((struct item *)((char *)(cp) - offsetof(struct item, c)))

static struct progress prog;
static double lastprog;

static size_t
batch_size(const struct chan *c)
{
	size_t max = c->max_batch ? c->max_batch : c->drv->max_batch ? c->drv->max_batch : 1;
	return opt.batch && opt.batch < max ? opt.batch : max;
}

static void
progress(const struct run *r, size_t done, size_t total)
{
	double t = mono_now();
	if (!prog.on || (done < total && t - lastprog < 0.2))
		return;
	lastprog = t;
	if (done >= total)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\r\033[K%s: %s: %zu/%zu corrections", progname, r->channel, done,
		    total);
	fflush(stderr);
}

/* The items still to send, in input order. */
static struct item **
pending(struct run *r, size_t *n)
{
	struct item **v = xcalloc(r->n ? r->n : 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].skip && !r->v[i].inflight && r->v[i].c.status == CS_PENDING)
			v[(*n)++] = &r->v[i];
	return v;
}

static void
verbose_batch(uint64_t batch, struct item **v, size_t n)
{
	size_t count[CS_SKIPPED + 1] = { 0 };
	if (!opt.verbose)
		return;
	for (size_t i = 0; i < n; i++)
		count[v[i]->c.status]++;
	fprintf(stderr, "%s: batch %llu: %zu corrections: %zu applied, %zu unchanged, "
	    "%zu conflict, %zu failed, %zu unanswered\n", progname, (unsigned long long)batch, n,
	    count[CS_APPLIED], count[CS_UNCHANGED], count[CS_CONFLICT], count[CS_FAILED],
	    count[CS_PENDING]);
}

/* Send one batch: journal it, push it, journal what came back. */
static int
send_batch(struct chan *c, struct run *r, struct journal *j, struct item **v, size_t n,
    struct buf *err)
{
	struct corr **cv = xcalloc(n, sizeof *cv);
	uint64_t batch = ++j->batches;
	char at[32];

	for (size_t i = 0; i < n; i++) {
		cv[i] = &v[i]->c;
		cv[i]->status = CS_PENDING;
		cv[i]->error[0] = '\0';
		cv[i]->has_after = cv[i]->has_current = 0;
	}
	journal_sending(j, r, v, n, batch);
	buf_reset(err);
	int code = c->drv->push(c, cv, n, r->id, err);
	now_rfc3339(at);
	for (size_t i = 0; i < n; i++) {
		if (cv[i]->status == CS_APPLIED)
			memcpy(v[i]->at, at, sizeof at);
		v[i]->inflight = cv[i]->status == CS_PENDING;
	}
	journal_results(j, r, v, n, batch, "sent");
	verbose_batch(batch, v, n);
	free(cv);
	return code;
}

int
push_all(struct chan *c, struct run *r, struct journal *j, struct buf *err)
{
	size_t n, b = batch_size(c), done = 0;
	struct item **v = pending(r, &n);
	int code = 0;

	progress_init(&prog, opt.quiet);
	for (size_t i = 0; i < n && !code; i += b) {
		size_t k = n - i < b ? n - i : b;
		code = send_batch(c, r, j, v + i, k, err);
		done += k;
		progress(r, done, n);
		if (code)
			for (size_t m = i + k; m < n; m++)
				v[m]->stopped = 1;
	}
	progress(r, n, n);
	free(v);
	return code;
}

/*
 * What a read tells of a correction sent without an answer: applied when
 * the platform shows to, not applied when it still shows from (send it
 * again), and else nobody can tell, so it is a conflict and is not sent
 * again: a relative change must never be applied twice.
 */
static void
resolve_one(struct item *it, const char *at)
{
	struct corr *c = &it->c;
	it->inflight = 0;
	if (c->delta == 0) {
		c->status = CS_UNCHANGED;
	} else if (c->has_current && c->current == c->to) {
		c->status = CS_APPLIED;
		memcpy(it->at, at, 32);
	} else if (c->has_from ? (c->has_current && c->current == c->from) : !c->has_current) {
		c->status = CS_PENDING;	/* not applied: send it again */
		it->resend = 1;
	} else {
		c->status = CS_CONFLICT;
		if (c->has_current)
			snprintf(c->error, sizeof c->error, "sent by a run that stopped, and now %lld: "
			    "cannot tell whether it was applied; not sent again", (long long)c->current);
		else
			snprintf(c->error, sizeof c->error, "sent by a run that stopped, and now not "
			    "found: cannot tell whether it was applied; not sent again");
	}
}

int
resolve_inflight(struct chan *c, struct run *r, struct journal *j, struct buf *err)
{
	size_t n = 0, b = batch_size(c);
	struct item **v = xcalloc(r->n ? r->n : 1, sizeof *v);
	struct corr **cv = xcalloc(r->n ? r->n : 1, sizeof *cv);
	char at[32];
	int code = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].inflight) {
			v[n] = &r->v[i];
			cv[n] = &r->v[i].c;
			cv[n]->has_current = 0;
			cv[n]->error[0] = '\0';
			n++;
		}
	for (size_t i = 0; i < n && !code; i += b) {
		size_t k = n - i < b ? n - i : b;
		buf_reset(err);
		code = c->drv->read(c, cv + i, k, err);
	}
	if (!code && n) {
		now_rfc3339(at);
		for (size_t i = 0; i < n; i++)
			resolve_one(v[i], at);
		journal_results(j, r, v, n, 0, "resolved");
		if (opt.verbose)
			fprintf(stderr, "%s: %zu corrections were sent without an answer; read back\n",
			    progname, n);
	}
	free(v);
	free(cv);
	return code;
}

static int
by_batch(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;
	if (x->batch != y->batch)
		return x->batch < y->batch ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Send again what a stopped run sent without an answer and a read showed
 * not applied - each batch as it was, the same corrections in the same
 * order, so that a platform with idempotency keys (the key is derived from
 * the call's entries) answers the call that was sent with the earlier key
 * as a replay if it lands late, and never applies it twice.
 */
int
resend_unanswered(struct chan *c, struct run *r, struct journal *j, struct buf *err)
{
	struct item **v = xcalloc(r->n ? r->n : 1, sizeof *v);
	size_t n = 0;
	int code = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].resend && r->v[i].c.status == CS_PENDING)
			v[n++] = &r->v[i];
	qsort(v, n, sizeof *v, by_batch);
	for (size_t i = 0; i < n && !code;) {
		size_t k = 1;
		while (i + k < n && v[i + k]->batch == v[i]->batch)
			k++;
		code = send_batch(c, r, j, v + i, k, err);
		for (size_t m = i; m < i + k; m++)
			v[m]->resend = 0;
		if (code)
			for (size_t m = i + k; m < n; m++)
				v[m]->stopped = 1;
		i += k;
	}
	free(v);
	return code;
}

void
plan_all(struct chan *c, struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].skip)
			continue;
		/* what the driver refuses whatever the platform shows fails here too */
		if (c->drv->refuse && c->drv->refuse(c, &r->v[i].c))
			continue;
		r->v[i].c.status = CS_PLANNED;
	}
}

/* Fields invpush writes itself: the input's own copies are replaced. */
static int
is_result_field(const struct field *f)
{
	return f->kid == K_STATUS || f->kid == K_ERROR || f->kid == K_AT || f->kid == K_RUN;
}

/* Status and error text of an item's result. */
static const char *
result_of(const struct item *it, const char *stoperr, struct buf *error)
{
	buf_reset(error);
	if (it->skip) {
		struct buf sc = BUF_INIT, why = BUF_INIT;
		const char *s = "";
		size_t n = 0;
		rec_str(&it->rec, K_STATUS, &sc, &s, &n, &why);
		buf_addf(error, "no correction: status %.*s in the input", (int)n, s);
		buf_release(&sc);
		buf_release(&why);
		return "skipped";
	}
	if (it->stopped) {
		buf_addf(error, "not sent: the run stopped: %s", stoperr ? stoperr : "");
		return "skipped";
	}
	if (it->c.status == CS_PENDING) {
		buf_addf(error, "sent, but no answer%s%s: --resume finds out whether it was applied",
		    stoperr ? ": " : "", stoperr ? stoperr : "");
		return "failed";
	}
	buf_adds(error, it->c.error);
	return corr_status_names[it->c.status];
}

int
write_results(const struct run *r, int stopcode, const char *stoperr)
{
	struct writer *w = writer_new(stdout, opt.fmt,
	    opt.fmt == FMT_TABLE && want_color(STDOUT_FILENO) ? WR_COLOR : 0);
	struct buf error = BUF_INIT;
	int any = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct item *it = &r->v[i];
		const char *st = result_of(it, stoperr, &error);
		wr_begin(w);
		for (size_t f = 0; f < it->rec.nf; f++)
			if (!is_result_field(&it->rec.f[f]))
				wr_field(w, &it->rec.f[f]);
		wr_str(w, "status", st, strlen(st));
		if (error.len)
			wr_str(w, "error", error.s, error.len);
		if (!strcmp(st, "applied"))
			wr_str(w, "at", it->at, strlen(it->at));
		wr_str(w, "run", r->id, strlen(r->id));
		wr_end(w);
		any |= !strcmp(st, "conflict") || !strcmp(st, "failed");
	}
	writer_close(w);
	close_stdout();
	buf_release(&error);
	return stopcode ? stopcode : any ? EXIT_SOME_FAILED : 0;
}
