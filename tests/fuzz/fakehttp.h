/*
 * fakehttp.h - a scripted transport for the driver fuzz targets
 * (fuzz_shopify.c, fuzz_woo.c): the drivers run unchanged, through their
 * public pull/read/push, and every answer they get comes from the fuzz
 * input instead of a server.
 *
 * common/http.c is compiled in here (the Makefile leaves it out of these
 * targets' link), with its transport functions renamed, so that
 * http_header, http_url_ok, http_req_init/release, http_stats and the
 * header callback are the real ones; only http_new/free/submit/run/retry/
 * bucket are replaced.  Requests are answered in the order they were
 * queued, one script segment per attempt.  The outcomes are those the real
 * layer can hand a driver after its own retries: a status with headers and
 * body, no answer at all, or a lost answer (ambiguous; so is a
 * non-idempotent write answered 5xx or over the body limit).
 *
 * The script: segments separated by a line "~~~".  A segment is a status
 * line, header lines up to an empty line, then the body:
 *
 *     200
 *     X-WP-Total: 3
 *
 *     [{"id":1}]
 *
 * Status 0 is "could not connect" (nothing sent), 1 a lost answer (timeout
 * or reset), 2 an answer over the body limit.  A segment whose first line
 * is not a number is a 200 with the whole segment as its body.  When the
 * script is used up, every further attempt gets status 0.
 *
 * nanosleep is replaced too: the WooCommerce driver waits between rounds,
 * and a fuzz run must not.  Each wait asked for is checked (finite, under
 * an hour) and counted.
 */
#ifndef FUZZ_FAKEHTTP_H
#define FUZZ_FAKEHTTP_H

#define http_new real_http_new
#define http_free real_http_free
#define http_submit real_http_submit
#define http_run real_http_run
#define http_retry real_http_retry
#define http_bucket real_http_bucket
#include "../../common/http.c"
#undef http_new
#undef http_free
#undef http_submit
#undef http_run
#undef http_retry
#undef http_bucket

#include <jansson.h>
#include <math.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s: check failed: %s (line %d)\n", \
	__FILE__, #c, __LINE__); abort(); } } while (0)

struct http *http_new(const struct http_opts *o);
void http_free(struct http *h);
void http_submit(struct http *h, struct http_req *r);
void http_run(struct http *h);
int http_retry(struct http *h, struct http_req *r, double delay);
void http_bucket(struct http *h, double max, double available, double rate);
int nanosleep(const struct timespec *req, struct timespec *rem);

/* Most attempts answered from one input; the rest get status 0. */
#define FZ_MAX_ATTEMPTS 400

/* One attempt as it was sent, for the targets' checks. */
struct fz_sent {
	char method[8];
	char *url, *body;
	size_t bodylen;
	int idempotent, no_retry;
	double cost;
	long status;		/* the answer it got */
	int ambiguous;
};

static struct {
	const char *p;		/* the script */
	size_t n, off;
	int done;
	struct fz_sent *sent;
	size_t nsent, capsent;
	double bmax;		/* largest bucket the driver reported, 0: none */
	unsigned sleeps;
} fz;

static void
fz_reset(const char *script, size_t n)
{
	for (size_t i = 0; i < fz.nsent; i++) {
		free(fz.sent[i].url);
		free(fz.sent[i].body);
	}
	free(fz.sent);
	memset(&fz, 0, sizeof fz);
	fz.p = script;
	fz.n = n;
}

/* The next segment of the script, or 0 when it is used up. */
static int
fz_segment(const char **s, size_t *n)
{
	static const char sep[] = "\n~~~\n";
	if (fz.done)
		return 0;
	const char *b = fz.p + fz.off, *e = fz.p + fz.n, *m = NULL;
	for (const char *q = b; q < e && !m; q++) {
		q = memchr(q, '\n', (size_t)(e - q));
		if (!q)
			break;
		if ((size_t)(e - q) >= sizeof sep - 1 && !memcmp(q, sep, sizeof sep - 1))
			m = q;
	}
	*s = b;
	*n = m ? (size_t)(m - b) : (size_t)(e - b);
	if (m)
		fz.off = (size_t)(m - fz.p) + sizeof sep - 1;
	else
		fz.done = 1;
	return 1;
}

struct http *
http_new(const struct http_opts *o)
{
	struct http *h = xcalloc(1, sizeof *h);
	if (o)
		h->o = *o;
	if (h->o.max_retries < 0)
		h->o.max_retries = 0;
	else if (h->o.max_retries == 0)
		h->o.max_retries = 6;
	if (!h->o.max_body)
		h->o.max_body = (size_t)64 << 20;
	return h;
}

void
http_free(struct http *h)
{
	if (h)
		CHECK(!h->qhead);	/* nothing left waiting */
	free(h);
}

void
http_submit(struct http *h, struct http_req *r)
{
	CHECK(r->method && r->url.s);	/* done may be NULL: the caller reads r after http_run */
	/* a fresh cost is the driver's: within the bucket it last reported */
	CHECK(isfinite(r->cost) && r->cost >= 0);
	CHECK(!h->have_bucket || r->cost <= h->bmax);
	r->status = 0;
	r->ambiguous = 0;
	r->attempts = 0;
	r->error[0] = '\0';
	r->seconds = 0;
	h->st.requests++;
	enqueue(h, r);
}

int
http_retry(struct http *h, struct http_req *r, double delay)
{
	CHECK(!isnan(delay) && delay < 3600);
	CHECK(isfinite(r->cost) && r->cost >= 0);
	if (r->attempts > h->o.max_retries)
		return -1;
	h->st.retries++;
	enqueue(h, r);
	return 0;
}

void
http_bucket(struct http *h, double max, double available, double rate)
{
	CHECK(isfinite(max) && max > 0 && isfinite(rate) && rate > 0 && !isnan(available));
	h->have_bucket = 1;
	h->bmax = max;
	h->brate = rate;
	h->bavail = available < max ? available : max;
	if (max > fz.bmax)
		fz.bmax = max;
}

/* Answer one attempt from the script. */
static void
fz_answer(struct http *h, struct http_req *r)
{
	const char *s = NULL;
	size_t n = 0;
	long code = 0;
	int idem = r->idempotent || !strcmp(r->method, "GET");

	r->attempts++;
	buf_reset(&r->resp);
	buf_reset(&r->resp_hdrs);
	r->error[0] = '\0';
	r->status = 0;
	r->ambiguous = 0;
	if (fz.nsent < FZ_MAX_ATTEMPTS && fz_segment(&s, &n)) {
		size_t i = 0;
		while (i < n && i < 4 && s[i] >= '0' && s[i] <= '9')
			code = code * 10 + (s[i++] - '0');
		if (i > 0 && (i == n || s[i] == '\n' || s[i] == '\r')) {
			/* status line, then headers up to an empty line */
			i += i < n && s[i] == '\r';
			i += i < n;
			while (i < n) {
				const char *eol = memchr(s + i, '\n', n - i);
				size_t ln = eol ? (size_t)(eol - (s + i)) + 1 : n - i;
				if (ln == 1 || (ln == 2 && s[i] == '\r')) {
					i += ln;
					break;
				}
				on_header((char *)s + i, 1, ln, r);
				i += ln;
			}
		} else {
			code = 200;
			i = 0;
		}
		s += i;
		n -= i;
	} else {
		code = 0;
		s = "";
		n = 0;
	}
	if (code >= 3 && n > h->o.max_body)
		code = 2;
	if (code == 0) {
		snprintf(r->error, sizeof r->error, "Failed to connect (fuzz script)");
	} else if (code == 1) {
		snprintf(r->error, sizeof r->error, "Operation timed out (fuzz script)");
		r->ambiguous = 1;	/* as finish() leaves it, retried or not */
	} else if (code == 2) {
		snprintf(r->error, sizeof r->error, "response larger than %zu bytes", h->o.max_body);
		r->ambiguous = !idem;
		buf_reset(&r->resp_hdrs);
	} else {
		r->status = code;
		buf_add(&r->resp, s, n);
		if (code >= 500 && code != 503 && !idem)
			r->ambiguous = 1;
		if (code >= 400)
			snprintf(r->error, sizeof r->error, "HTTP %ld", code);
	}
	h->st.ambiguous += (uint64_t)r->ambiguous;
}

static void
fz_log(const struct http_req *r)
{
	if (fz.nsent == fz.capsent) {
		fz.capsent = fz.capsent ? 2 * fz.capsent : 64;
		fz.sent = xrealloc(fz.sent, fz.capsent * sizeof *fz.sent);
	}
	struct fz_sent *e = &fz.sent[fz.nsent++];
	memset(e, 0, sizeof *e);
	snprintf(e->method, sizeof e->method, "%s", r->method);
	e->url = xstrdup(r->url.s);
	e->body = xstrndup(r->body.s ? r->body.s : "", r->body.len);
	e->bodylen = r->body.len;
	e->idempotent = r->idempotent;
	e->no_retry = r->no_retry;
	e->cost = r->cost;
}

void
http_run(struct http *h)
{
	while (h->qhead) {
		struct http_req *r = h->qhead;
		h->qhead = r->next;
		if (!h->qhead)
			h->qtail = NULL;
		r->next = NULL;
		CHECK(isfinite(r->cost) && r->cost >= 0);
		fz_log(r);	/* with the cost the driver asked */
		/* as start_ready does: a cost over a bucket that shrank since is cut */
		if (h->have_bucket && r->cost > h->bmax)
			r->cost = h->bmax;
		fz_answer(h, r);
		fz.sent[fz.nsent - 1].status = r->status;
		fz.sent[fz.nsent - 1].ambiguous = r->ambiguous;
		if (r->done)
			r->done(r, r->arg);
	}
}

int
nanosleep(const struct timespec *req, struct timespec *rem)
{
	(void)rem;
	CHECK(req->tv_sec >= 0 && req->tv_sec < 3600 && req->tv_nsec >= 0 &&
	    req->tv_nsec < 1000000000L);
	fz.sleeps++;
	return 0;
}

/* True when s holds needle (NUL-terminated, length >= 4). */
static inline int
fz_contains(const char *s, const char *needle)
{
	return s && needle && strlen(needle) >= 4 && strstr(s, needle) != NULL;
}

/*
 * The body of the answer attempt i got (as fz_answer split it), parsed as
 * JSON; NULL when it had no answer or the body is not JSON.  New reference.
 */
static inline json_t *
fz_answer_json(size_t i)
{
	static const char sep[] = "\n~~~\n";
	const char *b = fz.p, *e = fz.p + fz.n;
	if (i >= fz.nsent || fz.sent[i].status == 0 || i + 1 >= FZ_MAX_ATTEMPTS)
		return NULL;
	for (size_t k = 0; k <= i; k++) {
		const char *m = NULL;
		for (const char *q = b; q + sizeof sep - 1 <= e && !m; q++)
			if (!memcmp(q, sep, sizeof sep - 1))
				m = q;
		if (k == i) {
			const char *s = b;
			size_t n = m ? (size_t)(m - b) : (size_t)(e - b), j = 0;
			while (j < n && j < 4 && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j > 0 && (j == n || s[j] == '\n' || s[j] == '\r')) {
				j += j < n && s[j] == '\r';
				j += j < n;
				while (j < n) {
					const char *eol = memchr(s + j, '\n', n - j);
					size_t ln = eol ? (size_t)(eol - (s + j)) + 1 : n - j;
					j += ln;
					if (ln == 1 || (ln == 2 && s[j - 2] == '\r'))
						break;
				}
			} else {
				j = 0;
			}
			return json_loadb(s + j, n - j, 0, NULL);
		}
		CHECK(m != NULL);	/* an answered attempt had its segment */
		b = m + sizeof sep - 1;
	}
	return NULL;
}

#endif
