/*
 * journal.c - the journal of a push: an append-only NDJSON file, mode
 * 0600, fsynced after every step, from which a killed run is finished
 * without applying anything twice (--resume).
 *
 * Lines, each with the run id:
 *   {"journal":"invpush","version":1,"run","channel","at","records"}
 *   {"run","input":N,"record":{...}}        every correction, as given
 *   {"run","status":"ready","at"}            the input is complete
 *   {"run","batch":K,"status":"sending","at","corrections":[{"input","key",
 *       "sku","item","location","from","to","delta"}, ...]}   before a batch
 *   {"run","batch":K,"status":"sent","at","results":[{"input","status",
 *       "at","after","error"}, ...]}          after it
 *   {"run","status":"resolved","at","results":[...]}   found out on resume
 *   {"run","status":"resumed"|"stopped"|"finished","at",...}
 * A correction in a "sending" batch with no result was sent and not
 * answered: it may have been applied, and --resume reads the platform to
 * learn which.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invpush.h"
#include "json.h"
#include "banned.h"

/* ---- places and names ---- */

const char *
state_dir(void)
{
	static struct buf b;
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (b.len)
		return b.s;
	if (x && x[0] == '/')
		buf_addf(&b, "%s/invkit", x);
	else if (home && *home)
		buf_addf(&b, "%s/.local/state/invkit", home);
	else
		die(EX_CONFIG, "no folder for the journal: set XDG_STATE_HOME or HOME, or give "
		    "--journal");
	return b.s;
}

void
path_escape(struct buf *b, const char *name)
{
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || (c == '.' && p != name))
			buf_addc(b, (char)c);
		else
			buf_addf(b, "%%%02X", c);
	}
}

void
mkdirs(const char *dir)
{
	char *d = xstrdup(dir);
	for (char *p = d + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			die_errno(EX_CANTCREAT, "%s", d);
		if (!c)
			break;
		*p = c;
	}
	free(d);
}

const char *
now_rfc3339(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

void
run_id(char *out, size_t n)
{
	unsigned char r[3];
	time_t t = time(NULL);
	struct tm tm;
	char ts[32];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		unsigned v = (unsigned)getpid() ^ (unsigned)t ^ (unsigned)clock();
		memcpy(r, &v, sizeof r);
	}
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, n, "%s-%02x%02x%02x", ts, r[0], r[1], r[2]);
}

char *
journal_path(const char *channel, const char *id)
{
	struct buf b = BUF_INIT;
	if (opt.journal)
		return xstrdup(opt.journal);
	buf_addf(&b, "%s/journal/", state_dir());
	path_escape(&b, channel);
	buf_addc(&b, '/');
	path_escape(&b, id);
	buf_adds(&b, ".ndjson");
	return b.s;
}

void
channel_lock(const char *channel)
{
	static struct buf b;	/* static: reachable when die() exits */
	buf_addf(&b, "%s/channel", state_dir());
	mkdirs(b.s);
	buf_addc(&b, '/');
	path_escape(&b, channel);
	buf_adds(&b, ".lock");
	int fd = open(b.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		die_errno(EX_CANTCREAT, "%s", b.s);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			die(EX_TEMPFAIL, "another invpush is pushing to channel '%s' (lock %s)",
			    channel, b.s);
		die_errno(EX_IOERR, "%s: cannot lock", b.s);
	}
	/* fd stays open: the lock lasts until exit */
}

/* ---- writing ---- */

/* Write the line buffer whole and fsync; a journal that cannot be written stops the run. */
static void
jflush(struct journal *j)
{
	size_t off = 0;
	while (off < j->line.len) {
		ssize_t w = write(j->fd, j->line.s + off, j->line.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die_errno(EX_IOERR, "journal %s: write error", j->path);
		off += (size_t)w;
	}
	if (fsync(j->fd) < 0)
		die_errno(EX_IOERR, "journal %s: fsync", j->path);
	buf_reset(&j->line);
}

static void
jstr(struct buf *b, const char *name, const char *s)
{
	buf_addf(b, ",\"%s\":", name);
	if (s)
		json_quote(b, s, strlen(s));
	else
		buf_adds(b, "null");
}

/* The start of a line: {"run":"ID" */
static void
jbegin(struct journal *j, const struct run *r)
{
	buf_adds(&j->line, "{\"run\":");
	json_quote(&j->line, r->id, strlen(r->id));
}

static void
sync_parent(const char *path)
{
	char *d = xstrdup(path);
	int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(d);
}

void
journal_create(struct journal *j, struct run *r)
{
	char at[32], *d;

	memset(j, 0, sizeof *j);
	j->path = journal_path(r->channel, r->id);
	d = xstrdup(j->path);
	mkdirs(dirname(d));
	free(d);
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0 || fchmod(j->fd, 0600) < 0)
		die_errno(EX_CANTCREAT, "journal %s", j->path);
	buf_adds(&j->line, "{\"journal\":\"invpush\",\"version\":1,\"run\":");
	json_quote(&j->line, r->id, strlen(r->id));
	jstr(&j->line, "channel", r->channel);
	jstr(&j->line, "at", now_rfc3339(at));
	buf_addf(&j->line, ",\"records\":%zu}\n", r->n);
	for (size_t i = 0; i < r->n; i++) {
		jbegin(j, r);
		buf_addf(&j->line, ",\"input\":%llu,\"record\":", (unsigned long long)r->v[i].n);
		item_json(&r->v[i], &j->line);
		buf_adds(&j->line, "}\n");
		if (j->line.len > (1u << 20)) {
			size_t off = 0;	/* large inputs: write as we go, fsync once */
			while (off < j->line.len) {
				ssize_t w = write(j->fd, j->line.s + off, j->line.len - off);
				if (w < 0 && errno != EINTR)
					die_errno(EX_IOERR, "journal %s: write error", j->path);
				off += w > 0 ? (size_t)w : 0;
			}
			buf_reset(&j->line);
		}
	}
	jbegin(j, r);
	jstr(&j->line, "status", "ready");
	jstr(&j->line, "at", now_rfc3339(at));
	buf_adds(&j->line, "}\n");
	jflush(j);
	sync_parent(j->path);
}

static void
jint_or_null(struct buf *b, const char *name, int has, int64_t v)
{
	if (has)
		buf_addf(b, ",\"%s\":%lld", name, (long long)v);
	else
		buf_addf(b, ",\"%s\":null", name);
}

void
journal_sending(struct journal *j, const struct run *r, struct item **v, size_t n,
    uint64_t batch)
{
	char at[32];
	jbegin(j, r);
	buf_addf(&j->line, ",\"batch\":%llu", (unsigned long long)batch);
	jstr(&j->line, "status", "sending");
	jstr(&j->line, "at", now_rfc3339(at));
	buf_adds(&j->line, ",\"corrections\":[");
	for (size_t i = 0; i < n; i++) {
		const struct corr *c = &v[i]->c;
		buf_addf(&j->line, "%s{\"input\":%llu", i ? "," : "", (unsigned long long)v[i]->n);
		jstr(&j->line, "key", c->key);
		jstr(&j->line, "sku", c->sku);
		jstr(&j->line, "item", c->item);
		jstr(&j->line, "location", c->location);
		jint_or_null(&j->line, "from", c->has_from, c->from);
		buf_addf(&j->line, ",\"to\":%lld,\"delta\":%lld}", (long long)c->to,
		    (long long)c->delta);
	}
	buf_adds(&j->line, "]}\n");
	jflush(j);
}

void
journal_results(struct journal *j, const struct run *r, struct item **v, size_t n,
    uint64_t batch, const char *status)
{
	char at[32];
	int first = 1;
	jbegin(j, r);
	if (batch)
		buf_addf(&j->line, ",\"batch\":%llu", (unsigned long long)batch);
	jstr(&j->line, "status", status);
	jstr(&j->line, "at", now_rfc3339(at));
	buf_adds(&j->line, ",\"results\":[");
	for (size_t i = 0; i < n; i++) {
		const struct corr *c = &v[i]->c;
		if (c->status == CS_PENDING)
			continue;	/* unknown: left for --resume to find out */
		buf_addf(&j->line, "%s{\"input\":%llu", first ? "" : ",",
		    (unsigned long long)v[i]->n);
		jstr(&j->line, "status", corr_status_names[c->status]);
		if (c->status == CS_APPLIED)
			jstr(&j->line, "at", v[i]->at);
		if (c->has_after)
			buf_addf(&j->line, ",\"after\":%lld", (long long)c->after);
		if (c->error[0])
			jstr(&j->line, "error", c->error);
		buf_addc(&j->line, '}');
		first = 0;
	}
	buf_adds(&j->line, "]}\n");
	jflush(j);
}

void
journal_mark(struct journal *j, const struct run *r, const char *status, const char *extra)
{
	char at[32];
	jbegin(j, r);
	jstr(&j->line, "status", status);
	jstr(&j->line, "at", now_rfc3339(at));
	if (extra)
		buf_adds(&j->line, extra);
	buf_adds(&j->line, "}\n");
	jflush(j);
}

void
journal_close(struct journal *j)
{
	if (j->fd > 0 && close(j->fd) < 0)
		die_errno(EX_IOERR, "journal %s", j->path);
	j->fd = -1;
	free(j->path);
	j->path = NULL;
	buf_release(&j->line);
}

/* ---- reading back (--resume) ---- */

/* What the journal says of one input correction. */
struct jres {
	int status;		/* CS_PENDING: no result */
	int inflight;
	char at[32];
	char *error;
	int has_after;
	int64_t after;
	uint64_t batch;		/* the last batch it was sent in */
	size_t pos;		/* its place in that batch */
};

/* Everything journal_load gathers before the items are rebuilt. */
struct jload {
	const char *path;
	struct run *r;
	const char *id;
	struct jres *res;	/* indexed by input number */
	uint64_t nrec;
	int header, ready;
	struct reader *rd;	/* the journal being read */
	char *st, *hrun, *hch;	/* strings of the line being read */
	FILE *inputs;		/* the input records, one per line */
	char *inpath;
	uint64_t ninputs;
};

static _Noreturn void
corrupt(const struct jload *x, uint64_t line, const char *why)
{
	die(EX_DATAERR, "journal %s:%llu: %s", x->path, (unsigned long long)line, why);
}

static const struct field *
getf(const struct record *rec, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < rec->nf; i++)
		if (rec->f[i].nlen == n && !memcmp(rec->f[i].name, name, n))
			return &rec->f[i];
	return NULL;
}

/* A string field of a journal line, or NULL. */
static char *
getstr(const struct record *rec, const char *name, struct buf *sc)
{
	const struct field *f = getf(rec, name);
	const char *s;
	size_t n;
	struct buf why = BUF_INIT;
	if (!f || field_str(f, sc, &s, &n, &why) != 0) {
		buf_release(&why);
		return NULL;
	}
	buf_release(&why);
	return xstrndup(s, n);
}

static int64_t
getint(const struct jload *x, const struct record *rec, const char *name)
{
	const struct field *f = getf(rec, name);
	struct buf why = BUF_INIT;
	int64_t v;
	if (!f || field_int(f, &v, &why) != 0 || v < 0)
		corrupt(x, rec->line, "a field is missing or not a count");
	buf_release(&why);
	return v;
}

static int
status_id(const char *s)
{
	for (int i = CS_APPLIED; i <= CS_SKIPPED; i++)
		if (!strcmp(corr_status_names[i], s))
			return i;
	return -1;
}

/* The number of an input correction in a journal array element. */
static uint64_t
jinput(const struct jload *x, uint64_t line, json_t *o)
{
	json_t *n = json_object_get(o, "input");
	if (!json_is_integer(n) || json_integer_value(n) < 1 ||
	    (uint64_t)json_integer_value(n) > x->nrec)
		corrupt(x, line, "an entry with no valid 'input'");
	return (uint64_t)json_integer_value(n);
}

/* The "results" array of a sent or resolved line. */
static void
load_results(struct jload *x, const struct record *rec)
{
	const struct field *f = getf(rec, "results");
	json_error_t e;
	json_t *a = f && f->type == J_ARRAY ? json_loadb(f->val, f->vlen, 0, &e) : NULL, *o;
	size_t i;

	if (!a)
		corrupt(x, rec->line, "no 'results' array");
	json_array_foreach(a, i, o) {
		struct jres *jr = &x->res[jinput(x, rec->line, o)];
		const char *st = json_string_value(json_object_get(o, "status"));
		const char *at = json_string_value(json_object_get(o, "at"));
		const char *er = json_string_value(json_object_get(o, "error"));
		json_t *after = json_object_get(o, "after");
		if (!st || (jr->status = status_id(st)) < 0)
			corrupt(x, rec->line, "a result with no valid 'status'");
		jr->inflight = 0;
		snprintf(jr->at, sizeof jr->at, "%s", at ? at : "");
		free(jr->error);
		jr->error = er ? xstrdup(er) : NULL;
		jr->has_after = json_is_integer(after);
		jr->after = jr->has_after ? json_integer_value(after) : 0;
	}
	json_decref(a);
}

/* The "corrections" array of a sending line: in flight until a result comes. */
static void
load_sending(struct jload *x, const struct record *rec)
{
	const struct field *f = getf(rec, "corrections");
	json_error_t e;
	json_t *a = f && f->type == J_ARRAY ? json_loadb(f->val, f->vlen, 0, &e) : NULL, *o;
	size_t i;

	const struct field *bf = getf(rec, "batch");
	struct buf why = BUF_INIT;
	int64_t batch = 0;
	if (!a)
		corrupt(x, rec->line, "no 'corrections' array");
	int bad = !bf || field_int(bf, &batch, &why) != 0 || batch < 1;
	buf_release(&why);
	if (bad)
		corrupt(x, rec->line, "a 'sending' line with no valid 'batch'");
	json_array_foreach(a, i, o) {
		struct jres *jr = &x->res[jinput(x, rec->line, o)];
		if (jr->status == CS_PENDING)
			jr->inflight = 1;
		jr->batch = (uint64_t)batch;
		jr->pos = i;
	}
	json_decref(a);
}

/* The header line: the run and channel must be the ones asked for. */
static void
load_header(struct jload *x, const struct record *rec, struct buf *sc)
{
	x->hrun = getstr(rec, "run", sc);
	x->hch = getstr(rec, "channel", sc);
	if (!x->hrun || strcmp(x->hrun, x->id))
		corrupt(x, rec->line, "not the journal of this run");
	if (!x->hch || strcmp(x->hch, x->r->channel))
		die(EX_USAGE, "journal %s is of channel '%s', not '%s'", x->path,
		    x->hch ? x->hch : "", x->r->channel);
	x->nrec = (uint64_t)getint(x, rec, "records");
	x->res = xcalloc(x->nrec + 1, sizeof *x->res);
	x->header = 1;
	free(x->hrun);
	free(x->hch);
	x->hrun = x->hch = NULL;
}

/* An input line: its record goes to the temporary file, to be read back. */
static void
load_input(struct jload *x, const struct record *rec)
{
	const struct field *f = getf(rec, "record");
	if (!f || f->type != J_OBJECT || (uint64_t)getint(x, rec, "input") != ++x->ninputs)
		corrupt(x, rec->line, "an input line out of order or without its record");
	if (fwrite(f->val, 1, f->vlen, x->inputs) != f->vlen || fputc('\n', x->inputs) == EOF)
		die_errno(EX_IOERR, "temporary file: write error");
}

/* One line of the journal. */
static void
load_line(struct jload *x, const struct record *rec, struct buf *sc)
{
	char *st = x->st = getstr(rec, "status", sc);
	if (!x->header) {
		if (!getf(rec, "journal"))
			corrupt(x, rec->line, "not an invpush journal");
		load_header(x, rec, sc);
	} else if (getf(rec, "input")) {
		load_input(x, rec);
	} else if (st && !strcmp(st, "ready")) {
		x->ready = 1;
	} else if (st && !strcmp(st, "sending")) {
		load_sending(x, rec);
	} else if (st && (!strcmp(st, "sent") || !strcmp(st, "resolved"))) {
		load_results(x, rec);
	}
	free(st);
	x->st = NULL;
}

/*
 * A line cut short by a kill is no line: cut the file back to its last
 * complete line, so that what is appended starts on a line of its own.
 */
static void
drop_torn_tail(int fd, const char *path)
{
	struct stat st;
	char c;
	if (fstat(fd, &st) < 0 || st.st_size == 0 || pread(fd, &c, 1, st.st_size - 1) != 1 ||
	    c == '\n')
		return;
	off_t end = st.st_size - 1;
	while (end > 0 && pread(fd, &c, 1, end - 1) == 1 && c != '\n')
		end--;
	if (ftruncate(fd, end) < 0)
		die_errno(EX_IOERR, "journal %s: cannot drop its torn last line", path);
	warnx_("journal %s: dropped a line cut short", path);
}

/* Rebuild the items from the saved input and give them what the journal knows. */
static void
rebuild_items(struct jload *x)
{
	struct run *r = x->r;
	static struct buf why;	/* static: reachable when a bad record exits */
	struct record *rec;
	int k;

	if (fflush(x->inputs) != 0)
		die_errno(EX_IOERR, "temporary file: write error");
	struct reader *rd = reader_open(x->inpath, FMT_NDJSON, 0, 0);
	if (!rd)
		die_errno(EX_IOERR, "%s", x->inpath);
	run_keep_reader(r, rd);	/* the items borrow from it */
	unlink(x->inpath);
	while ((k = reader_next(rd, &rec)) != 0) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 256;
			r->v = xrealloc(r->v, r->cap * sizeof *r->v);
		}
		struct item *it = &r->v[r->n];
		memset(it, 0, sizeof *it);
		if (k < 0 || item_from_record(it, rec, &why) < 0)
			die(EX_DATAERR, "journal %s: input %llu: %s", x->path,
			    (unsigned long long)rec->line, k < 0 ? reader_error(rd) : why.s);
		it->n = ++r->n;
		struct jres *jr = &x->res[it->n];
		it->c.status = jr->status;
		it->inflight = jr->inflight;
		it->batch = jr->batch;
		it->pos = jr->pos;
		memcpy(it->at, jr->at, sizeof it->at);
		snprintf(it->c.error, sizeof it->c.error, "%s", jr->error ? jr->error : "");
		it->c.has_after = jr->has_after;
		it->c.after = jr->after;
		corr_key(&it->c, r->id);
	}
	buf_release(&why);
}

/* The highest batch number used, so that new batches follow it. */
static uint64_t
last_batch(const char *path)
{
	struct reader *rd = reader_open(path, FMT_NDJSON, 0, 0);
	struct record *rec;
	uint64_t max = 0;
	int k;
	while (rd && (k = reader_next(rd, &rec)) > 0) {
		const struct field *f = getf(rec, "batch");
		int64_t v;
		struct buf why = BUF_INIT;
		if (f && field_int(f, &v, &why) == 0 && v > 0 && (uint64_t)v > max)
			max = (uint64_t)v;
		buf_release(&why);
	}
	reader_free(rd);
	return max;
}

void
journal_load(struct journal *j, struct run *r, const char *id)
{
	static struct jload x;	/* static: reachable when a bad journal exits */
	static struct buf sc;
	struct record *rec;
	int k, tfd;

	memset(j, 0, sizeof *j);
	snprintf(r->id, sizeof r->id, "%s", id);
	j->path = journal_path(r->channel, id);
	if ((j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC)) < 0)
		die_errno(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "journal of run '%s': %s", id,
		    j->path);
	drop_torn_tail(j->fd, j->path);
	x.path = j->path;
	x.r = r;
	x.id = id;
	const char *tmpdir = getenv("TMPDIR");
	buf_addf(&sc, "%s/invpush.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if ((tfd = mkstemp(sc.s)) < 0 || !(x.inputs = fdopen(tfd, "w")))
		die_errno(EX_CANTCREAT, "cannot create a temporary file");
	x.inpath = xstrdup(sc.s);
	if (!(x.rd = reader_open(j->path, FMT_NDJSON, 0, 0)))
		die_errno(EX_IOERR, "%s", j->path);
	while ((k = reader_next(x.rd, &rec)) != 0) {
		if (k < 0)
			corrupt(&x, rec->line, k == -2 ? "read error" : reader_error(x.rd));
		load_line(&x, rec, &sc);
	}
	reader_free(x.rd);
	x.rd = NULL;
	if (!x.header || !x.ready || x.ninputs != x.nrec)
		die(EX_DATAERR, "journal %s: the run stopped before its input was saved, so "
		    "nothing was sent: push again without --resume", j->path);
	rebuild_items(&x);
	fclose(x.inputs);
	free(x.inpath);
	if (r->n != x.nrec)
		die(EX_DATAERR, "journal %s: %zu corrections where the header says %llu", j->path,
		    r->n, (unsigned long long)x.nrec);
	for (uint64_t i = 0; i <= x.nrec; i++)
		free(x.res[i].error);
	free(x.res);
	x.res = NULL;
	buf_release(&sc);
	j->batches = last_batch(j->path);
}
