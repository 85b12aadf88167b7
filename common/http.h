/*
 * http.h - the HTTP layer every platform driver uses: one libcurl multi
 * handle per run, connection reuse, bounded concurrency, per-request
 * timeouts, retries with exponential backoff and full jitter on 429, 5xx,
 * resets and timeouts (honouring Retry-After), and a token bucket fed by
 * what the platform reports (Shopify's throttleStatus, rate headers), so a
 * run goes as fast as the platform allows.
 *
 * Safety: a request that was sent and got no complete answer may have been
 * applied.  Such a request is re-sent only when the caller marked it
 * idempotent (a GET, or a write carrying an idempotency key); otherwise it
 * completes with `ambiguous` set and the driver must re-read to learn what
 * happened - never blindly re-send a relative change.
 *
 * TLS verification is always on (ca_file for private proxies).  Plain
 * http:// is refused for any host but loopback.  Bodies are bounded
 * (max_body).  Secrets travel only in headers the caller adds; they are
 * never logged (-v shows method, URL path and status only).
 *
 * Ownership: the caller owns each struct http_req and must keep it alive
 * until its done callback has run; http_req_release() frees what the
 * request holds.  The done callback may submit new requests.
 */
#ifndef INVKIT_HTTP_H
#define INVKIT_HTTP_H

#include <curl/curl.h>
#include <stdint.h>

#include "util.h"

struct http_opts {
	int concurrency;	/* requests in flight at once (default 4) */
	long timeout_ms;	/* per request, whole transfer (default 30000) */
	long connect_timeout_ms;/* default 10000 */
	int max_retries;	/* per request (default 6) */
	double backoff_ms;	/* first backoff (default 500), doubled each retry, capped 30 s */
	size_t max_body;	/* largest response accepted (default 64 MiB) */
	const char *ca_file;	/* extra CA bundle, or NULL */
	int verbose;		/* log each request on stderr (no headers, no bodies) */
	uint64_t seed;		/* jitter seed (0: from time and pid) */
};

struct http_req {
	/* set by the caller before http_submit() */
	const char *method;	/* "GET", "POST", "PUT" */
	struct buf url;
	struct curl_slist *hdrs;
	struct buf body;
	int idempotent;		/* safe to re-send after an ambiguous failure */
	int no_retry;		/* never re-sent here, not even after a 429/503: the caller
				   must re-read before sending again (a write without
				   compare-and-set would be stale after the wait) */
	double cost;		/* tokens taken from the bucket before sending (0: none) */
	void (*done)(struct http_req *r, void *arg);
	void *arg;

	/* filled in when done */
	long status;		/* HTTP status, 0 when no answer */
	struct buf resp;	/* response body */
	struct buf resp_hdrs;	/* "name: value\n" lines of the last response */
	int ambiguous;		/* sent, no complete answer, not re-sent: may have been applied */
	int permanent;		/* no retry can mend it: the server's certificate was refused
				   (nothing sent) or the answer was over max_body */
	int attempts;
	double seconds;		/* wall time including retries */
	char error[CURL_ERROR_SIZE + 64]; /* why it failed, for messages (no secrets) */

	/* private */
	CURL *easy;
	double not_before;
	struct http_req *next;
	size_t max_body;
};

struct http_stats {
	uint64_t requests, retries, throttled, ambiguous, bytes_in, bytes_out;
	double wait_seconds;	/* time spent waiting for the bucket or backoff */
};

struct http;

struct http *http_new(const struct http_opts *o);
void http_free(struct http *h);
/* Check a base URL: https, or http to a loopback host.  -1 with err set. */
int http_url_ok(const char *url, struct buf *err);
/* Queue a request; it starts when a slot is free and the bucket allows. */
void http_submit(struct http *h, struct http_req *r);
/* Run until every queued request (and those submitted by callbacks) is done. */
void http_run(struct http *h);
/*
 * From a done callback: send r again after delay seconds (e.g. a 200 whose
 * body says THROTTLED).  Counts as a retry; refused (returns -1) once
 * max_retries is reached.
 */
int http_retry(struct http *h, struct http_req *r, double delay);
/*
 * The platform's own view of its rate limit: a bucket of max tokens with
 * available now, restored at rate per second.  Requests with a cost wait
 * until the bucket holds it.  The cost of requests in flight (sent, not yet
 * answered) is taken off available: the platform had not counted them.
 */
void http_bucket(struct http *h, double max, double available, double rate);
/* Value of response header name (case-insensitive), or NULL. */
const char *http_header(const struct http_req *r, const char *name, struct buf *out);
/* Seconds from r's Retry-After header (delta seconds under an hour), or -1. */
double http_retry_after(const struct http_req *r);
void http_req_init(struct http_req *r);
void http_req_release(struct http_req *r);
const struct http_stats *http_stats(const struct http *h);

#endif
