/*
 * keytab.c - see keytab.h.  Linear probing over 64-bit slots at a load
 * factor of at most 0.7 (so the slot array costs about 12 bytes a key);
 * growth re-slots from the stored hash tags without touching the keys.
 * A ref is chunk << 18 | offset / 8.  Big blocks are asked for as
 * transparent huge pages: random probes over 100 MB otherwise spend as much
 * time on TLB misses as on cache misses.
 */
#include "keytab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util.h"
#include "banned.h"

#define CHUNK_SHIFT 21	/* 2 MiB: one huge page */
#define CHUNK ((size_t)1 << CHUNK_SHIFT)
#define HDR 8

void
keytab_init(struct keytab *t, size_t valsize)
{
	memset(t, 0, sizeof *t);
	t->valsize = (valsize + 7) & ~(size_t)7;
	t->nslots = 1024;
	t->slots = xcalloc(t->nslots, sizeof *t->slots);
	t->nchunks = 1;		/* chunk 0 is never used */
	t->chunks = xcalloc(1, sizeof *t->chunks);
	t->chunkused = CHUNK;
}

void
keytab_release(struct keytab *t)
{
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->slots);
	free(t->refs);
	memset(t, 0, sizeof *t);
}

/* Memory for n bytes (zeroed if asked), on huge pages where it is big. */
static void *
big_alloc(size_t n, int zero)
{
	void *p;
	if (n < CHUNK)
		return zero ? xcalloc(1, n) : xmalloc(n);
	if (posix_memalign(&p, CHUNK, n) != 0)
		die(EX_OSERR, "out of memory (%zu bytes)", n);
#ifdef MADV_HUGEPAGE
	madvise(p, n, MADV_HUGEPAGE);
#endif
	if (zero)
		memset(p, 0, n);
	return p;
}

static inline char *
deref(const struct keytab *t, uint32_t ref)
{
	return t->chunks[ref >> 18] + ((size_t)(ref & 0x3ffff) << 3);
}

/* Room for a record of n bytes; returns its ref. */
static uint32_t
arena_alloc(struct keytab *t, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (n > CHUNK - t->chunkused || n > CHUNK) {
		if (t->nchunks >= (1u << 14) - 1)
			die(EX_SOFTWARE, "key table full (32 GB)");
		size_t sz = n > CHUNK ? n : CHUNK;
		t->chunks = xrealloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
		t->chunks[t->nchunks++] = big_alloc(sz, 0);
		t->arenabytes += sz;
		t->chunkused = n > CHUNK ? CHUNK : 0;	/* an oversized record fills its chunk */
		if (n > CHUNK)
			return (uint32_t)(t->nchunks - 1) << 18;
	}
	uint32_t ref = (uint32_t)(t->nchunks - 1) << 18 | (uint32_t)(t->chunkused >> 3);
	t->chunkused += n;
	return ref;
}

/* Home slot of hash h: h scaled to [0, nslots) (any size, no modulo). */
static inline size_t
home(size_t nslots, uint32_t h)
{
	return (size_t)(((uint64_t)h * nslots) >> 32);
}

static void
grow(struct keytab *t)
{
	size_t ns = t->nslots + t->nslots / 2;
	uint64_t *s = big_alloc(ns * sizeof *s, 1);
	for (size_t k = 0; k < t->nslots; k++) {
		uint64_t v = t->slots[k];
		if (!v)
			continue;
		size_t i = home(ns, (uint32_t)(v >> 32));
		while (s[i])
			if (++i == ns)
				i = 0;
		s[i] = v;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
}

static inline uint32_t
hash(const void *s, size_t n)
{
	return (uint32_t)XXH3_64bits(s, n);
}

/* Slot index holding key s, or of the empty slot where it would go. */
static inline size_t
probe(const struct keytab *t, const void *s, size_t n, uint32_t h, int *found)
{
	size_t i = home(t->nslots, h);
	for (;; i = i + 1 == t->nslots ? 0 : i + 1) {
		uint64_t v = t->slots[i];
		if (!v) {
			*found = 0;
			return i;
		}
		if ((uint32_t)(v >> 32) == h) {
			const char *r = deref(t, (uint32_t)v);
			uint32_t len;
			memcpy(&len, r, sizeof len);
			if (len == n && memcmp(r + HDR + t->valsize, s, n) == 0) {
				*found = 1;
				return i;
			}
		}
	}
}

void *
keytab_find(const struct keytab *t, const void *s, size_t n)
{
	int found;
	size_t i = probe(t, s, n, hash(s, n), &found);
	return found ? deref(t, (uint32_t)t->slots[i]) + HDR : NULL;
}

uint32_t
keytab_hash(const void *s, size_t n)
{
	return hash(s, n);
}

void
keytab_prefetch(const struct keytab *t, uint32_t h, int stage)
{
	size_t i = home(t->nslots, h);
	if (stage == 0) {
		__builtin_prefetch(&t->slots[i]);
		return;
	}
	for (int k = 0; k < 4 && t->slots[i]; k++, i = i + 1 == t->nslots ? 0 : i + 1)
		if ((uint32_t)(t->slots[i] >> 32) == h)
			__builtin_prefetch(deref(t, (uint32_t)t->slots[i]));
}

void *
keytab_intern(struct keytab *t, const void *s, size_t n, int *isnew)
{
	return keytab_intern_h(t, s, n, hash(s, n), isnew);
}

void *
keytab_intern_h(struct keytab *t, const void *s, size_t n, uint32_t h, int *isnew)
{
	int found;
	size_t i = probe(t, s, n, h, &found);
	char *r;

	if (found) {
		if (isnew)
			*isnew = 0;
		return deref(t, (uint32_t)t->slots[i]) + HDR;
	}
	if (n > UINT32_MAX - 64 || t->n >= UINT32_MAX - 1)
		die(EX_SOFTWARE, "key table full");
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->refs = xrealloc(t->refs, t->cap * sizeof *t->refs);
	}
	uint32_t len = (uint32_t)n, nid = (uint32_t)t->n;
	uint32_t ref = arena_alloc(t, HDR + t->valsize + n);
	r = deref(t, ref);
	memcpy(r, &len, sizeof len);
	memcpy(r + 4, &nid, sizeof nid);
	memset(r + HDR, 0, t->valsize);
	memcpy(r + HDR + t->valsize, s, n);
	t->refs[t->n++] = ref;
	t->slots[i] = (uint64_t)h << 32 | ref;
	if (t->n * 10 > t->nslots * 7)
		grow(t);
	if (isnew)
		*isnew = 1;
	return r + HDR;
}

const char *
keytab_keyof(const struct keytab *t, const void *val, size_t *n)
{
	uint32_t len;
	memcpy(&len, (const char *)val - HDR, sizeof len);
	*n = len;
	return (const char *)val + t->valsize;
}

void *
keytab_val(const struct keytab *t, uint32_t id)
{
	return deref(t, t->refs[id]) + HDR;
}

size_t
keytab_bytes(const struct keytab *t)
{
	return t->nslots * sizeof *t->slots + t->cap * sizeof *t->refs + t->arenabytes;
}
