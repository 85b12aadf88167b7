/*
 * keytab.c - see keytab.h.  Linear probing at a load factor of at most
 * one half; growth rehashes from the stored 32-bit hashes, so keys are
 * never re-read.
 */
#include "keytab.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util.h"
#include "banned.h"

#define CHUNK (1u << 20)

void
keytab_init(struct keytab *t)
{
	memset(t, 0, sizeof *t);
	t->nslots = 1024;
	t->slots = xcalloc(t->nslots, sizeof *t->slots);
}

void
keytab_release(struct keytab *t)
{
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->slots);
	free(t->keys);
	free(t->hashes);
	memset(t, 0, sizeof *t);
}

static char *
arena_alloc(struct keytab *t, size_t n)
{
	if (n > t->chunkleft) {
		size_t sz = n > CHUNK / 4 ? n : CHUNK;
		char *c = xmalloc(sz);
		t->chunks = xrealloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
		t->chunks[t->nchunks++] = c;
		if (sz != CHUNK)
			return c;	/* a big key gets a chunk of its own */
		t->chunk = c;
		t->chunkleft = sz;
	}
	char *p = t->chunk;
	t->chunk += n;
	t->chunkleft -= n;
	return p;
}

static void
grow(struct keytab *t)
{
	size_t ns = t->nslots * 2, mask = ns - 1;
	uint32_t *s = xcalloc(ns, sizeof *s);
	for (size_t id = 0; id < t->n; id++) {
		size_t i = t->hashes[id] & mask;
		while (s[i])
			i = (i + 1) & mask;
		s[i] = (uint32_t)id + 1;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
}

static int
same(const char *k, const void *s, size_t n)
{
	uint32_t len;
	memcpy(&len, k, sizeof len);
	return len == n && memcmp(k + sizeof len, s, n) == 0;
}

uint32_t
keytab_find(const struct keytab *t, const void *s, size_t n)
{
	uint32_t h = (uint32_t)XXH3_64bits(s, n);
	size_t mask = t->nslots - 1, i = h & mask;
	for (; t->slots[i]; i = (i + 1) & mask) {
		uint32_t id = t->slots[i] - 1;
		if (t->hashes[id] == h && same(t->keys[id], s, n))
			return id;
	}
	return KEYTAB_NONE;
}

uint32_t
keytab_intern(struct keytab *t, const void *s, size_t n, int *isnew)
{
	uint32_t h = (uint32_t)XXH3_64bits(s, n);
	size_t mask = t->nslots - 1, i = h & mask;
	for (; t->slots[i]; i = (i + 1) & mask) {
		uint32_t id = t->slots[i] - 1;
		if (t->hashes[id] == h && same(t->keys[id], s, n)) {
			if (isnew)
				*isnew = 0;
			return id;
		}
	}
	if (n > UINT32_MAX || t->n >= UINT32_MAX - 1)
		die(EX_SOFTWARE, "key table full");
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->keys = xrealloc(t->keys, t->cap * sizeof *t->keys);
		t->hashes = xrealloc(t->hashes, t->cap * sizeof *t->hashes);
	}
	uint32_t len = (uint32_t)n, id = (uint32_t)t->n++;
	char *k = arena_alloc(t, sizeof len + n);
	memcpy(k, &len, sizeof len);
	memcpy(k + sizeof len, s, n);
	t->keys[id] = k;
	t->hashes[id] = h;
	t->slots[i] = id + 1;
	if (t->n * 2 > t->nslots)
		grow(t);
	if (isnew)
		*isnew = 1;
	return id;
}

const char *
keytab_get(const struct keytab *t, uint32_t id, size_t *n)
{
	uint32_t len;
	memcpy(&len, t->keys[id], sizeof len);
	*n = len;
	return t->keys[id] + sizeof len;
}

size_t
keytab_bytes(const struct keytab *t)
{
	return t->nslots * sizeof *t->slots + t->cap * (sizeof *t->keys + sizeof *t->hashes) +
	    t->nchunks * CHUNK;
}
