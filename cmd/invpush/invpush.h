/*
 * invpush.h - what the parts of invpush share.  main.c parses options and
 * runs the steps; input.c reads and validates the corrections; guard.c
 * refuses pushes that look like a broken feed; journal.c keeps the
 * append-only journal and reads it back for --resume; push.c sends the
 * batches through the channel's driver and writes the results.
 *
 * Ownership: struct run owns its items and everything they point to;
 * run_release() frees them.
 */
#ifndef INVPUSH_H
#define INVPUSH_H

#include <stdint.h>
#include <stdio.h>

#include "platform.h"
#include "rec.h"
#include "util.h"

/* One correction of the input, with the driver's view of it in c. */
struct item {
	struct record rec;	/* a copy of the input record (fields pass through) */
	struct buf mem;
	struct fieldvec fv;
	char *sku, *itemid, *location, *reason;	/* decoded; c points to them */
	struct corr c;
	uint64_t n;		/* 1-based number in the run (the journal's "input") */
	int skip;		/* invdiff -a's same/within: not a correction */
	int inflight;		/* resume: sent, no result in the journal */
	int resend;		/* resume: read back as not applied: send it again */
	uint64_t batch;		/* resume: the batch it was last sent in, and where */
	size_t pos;
	int stopped;		/* not sent: the run stopped before its batch */
	char at[32];		/* when applied */
};

struct run {
	struct item *v;
	size_t n, cap;
	uint64_t bad;		/* records set aside with --reject */
	int full;		/* every record carries invdiff -a's status */
	char id[64];		/* run id */
	const char *channel;
	/* the readers of the input: a copied CSV record borrows their header names */
	struct reader **readers;
	size_t nreaders;
};
/* Keep rd until run_release(). */
void run_keep_reader(struct run *r, struct reader *rd);

struct opts {
	const char *config, *journal, *resume, *reject;
	int dry_run, force, quiet, verbose, fmt;
	long max_zero, max_shrink;	/* per cent */
	long long min_zero;		/* items to 0 before --max-zero applies */
	long long max_changes;		/* 0: no limit */
	size_t batch;			/* 0: the driver's largest */
};
extern struct opts opt;

/* ---- input.c ---- */
/* Read and validate every correction of files (NULL-terminated; none: stdin). */
void input_read(struct run *r, char **files, struct rejects *rj);
/*
 * Validate rec into it (fields copied); -1 with why set when it is not a
 * correction invpush can push.
 */
int item_from_record(struct item *it, const struct record *rec, struct buf *why);
void run_release(struct run *r);
/* The correction as one NDJSON object, for the journal. */
void item_json(const struct item *it, struct buf *out);

/* ---- guard.c ---- */
/* Refuse (exit 65, nothing written) a push that looks like a broken feed. */
void guards_check(const struct run *r);
/* Remember the size of this run's input for the next run's guard. */
void guards_remember(const struct run *r);

/* ---- journal.c ---- */
/* $XDG_STATE_HOME/invkit (or ~/.local/state/invkit), created 0700. */
const char *state_dir(void);
/* A path component for name: safe characters kept, the rest %XX. */
void path_escape(struct buf *b, const char *name);
/* mkdir -p with mode 0700. */
void mkdirs(const char *dir);
/* A new run id: UTC timestamp and a random suffix. */
void run_id(char *out, size_t n);
/* RFC 3339 UTC time now. */
const char *now_rfc3339(char out[32]);
/* The journal path of run id on channel (opt.journal when given). */
char *journal_path(const char *channel, const char *id);
/* Take the channel's lock, or exit 75 when another invpush holds it. */
void channel_lock(const char *channel);

struct journal {
	int fd;
	char *path;
	struct buf line;
	uint64_t batches;	/* batch numbers used so far */
};
/* Create the journal of a new run and write its input (exits on failure). */
void journal_create(struct journal *j, struct run *r);
/* Read the journal of run id for --resume: rebuild r and the results known. */
void journal_load(struct journal *j, struct run *r, const char *id);
/* Append a "sending" line for the batch v[0..n) and fsync. */
void journal_sending(struct journal *j, const struct run *r, struct item **v, size_t n,
    uint64_t batch);
/* Append the results of v[0..n) (those not pending) under status and fsync. */
void journal_results(struct journal *j, const struct run *r, struct item **v, size_t n,
    uint64_t batch, const char *status);
/* Append a line {"run":..., "status": status, ...extra} and fsync. */
void journal_mark(struct journal *j, const struct run *r, const char *status, const char *extra);
void journal_close(struct journal *j);

/* ---- push.c ---- */
/* Send every pending item in batches; returns 0 or the driver's exit code. */
int push_all(struct chan *c, struct run *r, struct journal *j, struct buf *err);
/* Resolve the items sent without a result by reading the platform. */
int resolve_inflight(struct chan *c, struct run *r, struct journal *j, struct buf *err);
int resend_unanswered(struct chan *c, struct run *r, struct journal *j, struct buf *err);
/* Mark every pending item planned (dry run). */
void plan_all(struct chan *c, struct run *r);
/* Write one result record per item to stdout in fmt; returns the exit code. */
int write_results(const struct run *r, int stopcode, const char *stoperr);

#endif
