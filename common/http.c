/*
 * http.c - see http.h.  One curl multi handle; requests wait in a queue
 * until a slot is free, their backoff has passed and the bucket holds
 * their cost.  Each attempt gets a fresh easy handle; connections are
 * reused through the multi handle's cache.
 *
 * What is retried (and why it is safe):
 *   - never sent (connect or resolve failure): always;
 *   - 429 and 503: always - the server says it did not process the request;
 *   - other 5xx, timeouts, resets, empty answers: only an idempotent request
 *     (a GET, or a write with an idempotency key); any other is finished
 *     with `ambiguous` set for the driver to resolve by re-reading.
 */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

struct http {
	CURLM *multi;
	struct http_opts o;
	struct http_req *qhead, *qtail;	/* waiting to start */
	int inflight;
	int have_bucket;
	double bmax, bavail, brate, bstamp;
	double inflight_cost;		/* cost of the requests sent, not yet answered */
	uint64_t rng;
	struct http_stats st;
};

static double
rnd(struct http *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return (double)(h->rng >> 11) / 9007199254740992.0;
}

struct http *
http_new(const struct http_opts *o)
{
	static int inited;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			die(EX_SOFTWARE, "cannot initialise libcurl");
		inited = 1;
	}
	struct http *h = xcalloc(1, sizeof *h);
	if (o)
		h->o = *o;
	if (h->o.concurrency <= 0)
		h->o.concurrency = 4;
	if (h->o.timeout_ms <= 0)
		h->o.timeout_ms = 30000;
	if (h->o.connect_timeout_ms <= 0)
		h->o.connect_timeout_ms = 10000;
	if (h->o.max_retries < 0)
		h->o.max_retries = 0;
	else if (h->o.max_retries == 0)
		h->o.max_retries = 6;
	if (h->o.backoff_ms <= 0)
		h->o.backoff_ms = 500;
	if (!h->o.max_body)
		h->o.max_body = (size_t)64 << 20;
	h->rng = h->o.seed ? h->o.seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	if (!h->rng)
		h->rng = 88172645463325252ULL;
	if (!(h->multi = curl_multi_init()))
		die(EX_SOFTWARE, "cannot initialise libcurl");
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->o.concurrency);
	return h;
}

void
http_free(struct http *h)
{
	if (!h)
		return;
	curl_multi_cleanup(h->multi);
	free(h);
}

const struct http_stats *
http_stats(const struct http *h)
{
	return &h->st;
}

void
http_req_init(struct http_req *r)
{
	memset(r, 0, sizeof *r);
	r->method = "GET";
}

void
http_req_release(struct http_req *r)
{
	buf_release(&r->url);
	buf_release(&r->body);
	buf_release(&r->resp);
	buf_release(&r->resp_hdrs);
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
}

int
http_url_ok(const char *url, struct buf *err)
{
	const char *host, *end;
	buf_reset(err);
	if (!strncmp(url, "https://", 8))
		return 0;
	if (strncmp(url, "http://", 7) != 0) {
		buf_addf(err, "base_url must start with https:// (got '%.40s')", url);
		return -1;
	}
	host = url + 7;
	end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	size_t n = (size_t)(end - host);
	size_t hn = strcspn(host, ":/?#");	/* the host without the port */
	if ((n >= 9 && !strncmp(host, "localhost", 9) && (n == 9 || host[9] == ':')) ||
	    (n >= 4 && !strncmp(host, "127.", 4) && strspn(host, "0123456789.") == hn) ||
	    (n >= 5 && !strncmp(host, "[::1]", 5) && (n == 5 || host[5] == ':')))
		return 0;
	buf_addf(err, "plain http:// is refused for '%.*s': credentials would travel in clear "
	    "(use https://)", (int)n, host);
	return -1;
}

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct http_req *r = arg;
	size_t n = sz * nm;
	if (r->resp.len + n > r->max_body)
		return 0;	/* curl fails the transfer with CURLE_WRITE_ERROR */
	buf_add(&r->resp, p, n);
	return n;
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct http_req *r = arg;
	size_t n = sz * nm;
	if (n >= 5 && !strncmp(p, "HTTP/", 5))
		buf_reset(&r->resp_hdrs);	/* a new response (after 100-continue) */
	else if (r->resp_hdrs.len < 65536)
		buf_add(&r->resp_hdrs, p, n);
	return n;
}

const char *
http_header(const struct http_req *r, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	const char *p = r->resp_hdrs.s, *e = p ? p + r->resp_hdrs.len : NULL;
	while (p && p < e) {
		const char *eol = memchr(p, '\n', (size_t)(e - p));
		if (!eol)
			eol = e;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			buf_reset(out);
			buf_add(out, v, (size_t)(ve - v));
			return out->s;
		}
		p = eol + 1;
	}
	return NULL;
}

static void
enqueue(struct http *h, struct http_req *r)
{
	r->next = NULL;
	if (h->qtail)
		h->qtail->next = r;
	else
		h->qhead = r;
	h->qtail = r;
}

void
http_submit(struct http *h, struct http_req *r)
{
	r->status = 0;
	r->ambiguous = 0;
	r->permanent = 0;
	r->attempts = 0;
	r->error[0] = '\0';
	r->not_before = 0;
	r->seconds = mono_now();	/* start time until done */
	h->st.requests++;
	enqueue(h, r);
}

void
http_bucket(struct http *h, double max, double available, double rate)
{
	h->have_bucket = max > 0 && rate > 0;
	h->bmax = max;
	/* the platform has not counted the requests still in flight: they are ours */
	h->bavail = (available < max ? available : max) - h->inflight_cost;
	h->brate = rate;
	h->bstamp = mono_now();
}

/* Tokens now in the bucket. */
static double
bucket_level(struct http *h, double t)
{
	double lvl = h->bavail + (t - h->bstamp) * h->brate;
	return lvl > h->bmax ? h->bmax : lvl;
}

static void
start(struct http *h, struct http_req *r)
{
	CURL *c = curl_easy_init();
	if (!c)
		die(EX_OSERR, "cannot create a curl handle");
	r->easy = c;
	r->attempts++;
	r->max_body = h->o.max_body;
	buf_reset(&r->resp);
	buf_reset(&r->resp_hdrs);
	curl_easy_setopt(c, CURLOPT_URL, r->url.s);
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->error);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "invkit/" INVKIT_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);	/* never carry credentials elsewhere */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (h->o.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->o.ca_file);
	if (r->hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
	if (!r->idempotent && strcmp(r->method, "GET") != 0)
		/* On a reused connection that dies before any answer byte, libcurl
		 * re-sends the request by itself on a new one (POSTs too); a
		 * write that may not be sent twice must not go out on one. */
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body.s ? r->body.s : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
		h->st.bytes_out += r->body.len;
	}
	r->error[0] = '\0';
	curl_multi_add_handle(h->multi, c);
	h->inflight++;
	h->inflight_cost += r->cost;
}

/* Seconds from a Retry-After header (delta seconds; dates are not worth it). */
double
http_retry_after(const struct http_req *r)
{
	struct buf v = BUF_INIT;
	double d = -1;
	if (http_header(r, "Retry-After", &v)) {
		char *end;
		double x = strtod(v.s, &end);
		if (end != v.s && x >= 0 && x < 3600)
			d = x;
	}
	buf_release(&v);
	return d;
}

static double
backoff(struct http *h, struct http_req *r)
{
	double cap = 30.0, d = h->o.backoff_ms / 1000.0;
	for (int i = 1; i < r->attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + rnd(h) * d / 2;	/* "equal jitter": never zero, never in step */
}

int
http_retry(struct http *h, struct http_req *r, double delay)
{
	if (r->attempts > h->o.max_retries)
		return -1;
	h->st.retries++;
	r->seconds = mono_now() - r->seconds;	/* finish() made it a duration: back to the start */
	r->not_before = mono_now() + (delay >= 0 ? delay : backoff(h, r));
	enqueue(h, r);
	return 0;
}

static void
path_of(const char *url, struct buf *out)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	buf_reset(out);
	buf_add(out, p ? p : "/", p ? strcspn(p, "?#") : 1);	/* never the query: it may hold keys */
}

static void
finish(struct http *h, struct http_req *r, CURLcode cc)
{
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	h->inflight--;
	h->inflight_cost -= r->cost;
	h->st.bytes_in += r->resp.len;
	r->status = cc == CURLE_OK ? status : 0;

	int never_sent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY;
	/*
	 * The server's certificate was refused: nothing was sent (the handshake
	 * failed before any HTTP byte) and no retry can help.  Verification is
	 * never turned off: no option, setting or variable does it.
	 */
	int tls = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
	    cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
	    cc == CURLE_SSL_INVALIDCERTSTATUS || cc == CURLE_SSL_CRL_BADFILE;
	int lost = cc != CURLE_OK && !never_sent && !tls;	/* timeout, reset, nothing, partial */
	int idem = r->idempotent || !strcmp(r->method, "GET");
	int retry = 0;
	double delay = -1;

	if (cc == CURLE_WRITE_ERROR) {
		snprintf(r->error, sizeof r->error, "response larger than %zu bytes", h->o.max_body);
		lost = !idem;	/* a write was answered, so it may well have been applied */
		r->status = 0;
	} else if (never_sent) {
		retry = 1;
	} else if (lost) {
		retry = idem;
	} else if (status == 429 || status == 503) {
		retry = 1;
		delay = http_retry_after(r);
		h->st.throttled += status == 429;
	} else if (status >= 500) {
		retry = idem;
		lost = !retry;
	}
	if (r->no_retry)
		retry = 0;	/* the caller decides, after reading again */
	if (h->o.verbose) {
		struct buf p = BUF_INIT;
		path_of(r->url.s, &p);
		fprintf(stderr, "%s: %s %s -> %ld%s%s\n", progname, r->method, p.s, r->status,
		    cc != CURLE_OK ? ": " : "", cc != CURLE_OK ? curl_easy_strerror(cc) : "");
		buf_release(&p);
	}
	if (retry && r->attempts <= h->o.max_retries) {
		h->st.retries++;
		r->not_before = mono_now() + (delay >= 0 ? delay : backoff(h, r));
		enqueue(h, r);
		return;
	}
	if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR) {
		char e[sizeof r->error];
		snprintf(e, sizeof e, "%s", r->error[0] ? r->error : curl_easy_strerror(cc));
		snprintf(r->error, sizeof r->error, "%.250s%s", e, tls ? " (TLS verification is always "
		    "on; ca_file = adds a private CA)" : "");
	} else if (!r->error[0] && r->status >= 400) {
		snprintf(r->error, sizeof r->error, "HTTP %ld", r->status);
	}
	if (retry)
		snprintf(r->error + strlen(r->error), sizeof r->error - strlen(r->error),
		    " (gave up after %d attempts)", r->attempts);
	r->ambiguous = lost;
	r->permanent = tls || cc == CURLE_WRITE_ERROR;
	h->st.ambiguous += (uint64_t)lost;
	r->seconds = mono_now() - r->seconds;
	if (r->done)
		r->done(r, r->arg);
}

/* Start what may start; returns seconds until something could, or -1. */
static double
start_ready(struct http *h)
{
	double t = mono_now(), wait = -1;
	struct http_req *prev = NULL, *r = h->qhead;
	while (r && h->inflight < h->o.concurrency) {
		struct http_req *next = r->next;
		double w = r->not_before - t;
		if (h->have_bucket && r->cost > h->bmax)
			r->cost = h->bmax;	/* the bucket shrank since: never wait for more than it holds */
		if (w <= 0 && r->cost > 0 && h->have_bucket) {
			double lvl = bucket_level(h, t);
			if (lvl < r->cost) {
				w = (r->cost - lvl) / h->brate;
				h->st.throttled++;
			} else {
				h->bavail = lvl - r->cost;
				h->bstamp = t;
			}
		}
		if (w > 0) {
			if (wait < 0 || w < wait)
				wait = w;
			prev = r;
			r = next;
			continue;
		}
		if (prev)
			prev->next = next;
		else
			h->qhead = next;
		if (h->qtail == r)
			h->qtail = prev;
		start(h, r);
		r = next;
	}
	return wait;
}

void
http_run(struct http *h)
{
	for (;;) {
		double wait = start_ready(h);
		if (!h->inflight && !h->qhead)
			return;
		int running = 0;
		curl_multi_perform(h->multi, &running);
		CURLMsg *m;
		int left, finished = 0;
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct http_req *r;
			CURLcode cc = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			finish(h, r, cc);
			finished++;
		}
		if (!h->inflight) {
			if (!h->qhead)
				return;
			/* nothing in flight: sleep until the first can start (wait is
			 * stale when callbacks just queued more: look again first) */
			if (wait > 0 && !finished) {
				double t0 = mono_now();
				struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
				while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
					;
				h->st.wait_seconds += mono_now() - t0;
			}
			continue;
		}
		int ms = wait > 0 && wait < 1 ? (int)(wait * 1000) + 1 : 1000;
		curl_multi_poll(h->multi, NULL, 0, ms, NULL);
	}
}
