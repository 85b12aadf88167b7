/*
 * fuzz_http.c - what common/http.c parses: response header lines (the
 * header callback, http_header, Retry-After), base URLs (http_url_ok) and
 * the path it logs (path_of).  http.c is compiled in here, to reach its
 * static functions; the Makefile leaves it out of this target's link.
 *
 * The input is the header block as libcurl hands it over, one line per
 * callback (status lines included); its first line is also the URL.
 * Checked beyond the sanitizers:
 *  - the stored headers stay bounded, and restart at each status line;
 *  - http_header finds the first line with that name, case-insensitively,
 *    and gives its value without the spaces around it or the CR, on one
 *    line (compared with a plain reference lookup);
 *  - a Retry-After delay is -1 (none) or within [0, 3600) seconds;
 *  - http_url_ok accepts https://, and http:// only when libcurl's own
 *    parser sees a loopback host (credentials never go in clear to another);
 *  - the logged path starts with '/' and never holds the query or fragment.
 */
#include "../../common/http.c"

#include <ctype.h>
#include <math.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_http: check failed: %s (line %d)\n", \
	#c, __LINE__); abort(); } } while (0)

/* The reference: first line "name:" (any case), value trimmed as documented. */
static int
ref_header(const char *h, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t nl = strlen(name), i = 0;
	while (i < n) {
		const char *l = h + i, *eol = memchr(l, '\n', n - i);
		size_t ln = eol ? (size_t)(eol - l) : n - i;
		if (ln > nl && l[nl] == ':') {
			size_t k = 0;
			while (k < nl && tolower((unsigned char)l[k]) == tolower((unsigned char)name[k]))
				k++;
			if (k == nl) {
				const char *a = l + nl + 1, *b = l + ln;
				while (a < b && (*a == ' ' || *a == '\t'))
					a++;
				while (b > a && (b[-1] == '\r' || b[-1] == ' '))
					b--;
				*v = a;
				*vn = (size_t)(b - a);
				return 1;
			}
		}
		i += ln + 1;
	}
	return 0;
}

static int
loopback(const char *host)
{
	return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "[::1]");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_req r;
	struct buf v = BUF_INIT, err = BUF_INIT, path = BUF_INIT;
	size_t maxline = 0, last = 0;

	/* the header block, a line at a time as libcurl gives it */
	http_req_init(&r);
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (p + i)) + 1 : size - i;
		char *line = xmalloc(n);	/* a copy: ASan sees any read past it */
		memcpy(line, p + i, n);
		CHECK(on_header(line, 1, n, &r) == n);
		free(line);
		if (n >= 5 && !strncmp(p + i, "HTTP/", 5)) {
			CHECK(r.resp_hdrs.len == 0);
			last = i + n;	/* the headers kept start after the last status line */
			maxline = 0;
		}
		if (n > maxline)
			maxline = n;
		i += n;
	}
	CHECK(r.resp_hdrs.len <= 65536 + maxline);
	if (r.resp_hdrs.len < 65536)
		CHECK(r.resp_hdrs.len == size - last &&
		    (!r.resp_hdrs.len || !memcmp(r.resp_hdrs.s, p + last, r.resp_hdrs.len)));

	/* lookups: the usual names, and the first line's own name */
	char own[64] = "";
	const char *colon = memchr(p, ':', size < 63 ? size : 63);
	if (colon && colon > p) {
		memcpy(own, p, (size_t)(colon - p));
		own[colon - p] = '\0';
	}
	const char *names[] = { "Retry-After", "X-WP-Total", "x-wp-totalpages", "Link",
		"Content-Type", own };
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		if (!*names[k] || strchr(names[k], '\n'))
			continue;
		const char *rv = NULL;
		size_t rn = 0;
		int want = ref_header(r.resp_hdrs.s ? r.resp_hdrs.s : "", r.resp_hdrs.len,
		    names[k], &rv, &rn);
		const char *got = http_header(&r, names[k], &v);
		CHECK(!got == !want);
		if (got) {
			CHECK(got == v.s && v.len == rn && !memcmp(v.s, rv, rn));
			CHECK(!memchr(v.s, '\n', v.len));
			CHECK(!v.len || (v.s[0] != ' ' && v.s[0] != '\t' && v.s[v.len - 1] != '\r' &&
			    v.s[v.len - 1] != ' '));
		}
	}
	double d = http_retry_after(&r);
	CHECK(d == -1 || (d >= 0 && d < 3600));

	/* the first line as a base URL */
	const char *eol = memchr(p, '\n', size);
	size_t ul = eol ? (size_t)(eol - p) : size;
	char *url = xstrndup(p, ul);
	if (strlen(url) == ul) {
		int ok = http_url_ok(url, &err) == 0;
		if (!ok)
			CHECK(err.len > 0);
		if (ok)
			CHECK(!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7));
		if (ok && !strncmp(url, "http://", 7)) {
			CURLU *u = curl_url();
			char *host = NULL;
			if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
			    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
				if (!loopback(host)) {
					fprintf(stderr, "fuzz_http: http:// accepted for host '%s'\n", host);
					abort();
				}
			}
			curl_free(host);
			curl_url_cleanup(u);
		}
		path_of(url, &path);
		CHECK(path.len >= 1 && path.s[0] == '/' && !strpbrk(path.s, "?#"));
	}
	free(url);
	http_req_release(&r);
	buf_release(&v);
	buf_release(&err);
	buf_release(&path);
	return 0;
}
