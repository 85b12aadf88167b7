/*
 * keytab.h - an interning hash table: byte strings in, dense ids out
 * (0, 1, 2, ... in order of first insertion).  Built for holding one side
 * of a million-record diff in well under 100 MB: keys live back to back in
 * 1 MiB arena chunks, the table is open addressing over 32-bit ids, and the
 * hash is XXH3.  Callers keep their per-key data in arrays indexed by id.
 *
 * Ownership: keytab_get() returns a pointer into the table, valid until
 * keytab_release().
 */
#ifndef INVKIT_KEYTAB_H
#define INVKIT_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

#define KEYTAB_NONE UINT32_MAX

struct keytab {
	uint32_t *slots;	/* id + 1, 0 = empty */
	size_t nslots;		/* power of two */
	const char **keys;	/* each key: 4-byte length, then the bytes */
	uint32_t *hashes;
	size_t n, cap;
	char *chunk;		/* arena: current chunk and what is left in it */
	size_t chunkleft;
	char **chunks;
	size_t nchunks;
};

void keytab_init(struct keytab *t);
void keytab_release(struct keytab *t);
/* Id of key s[0..n), inserting it if new (*isnew says which). */
uint32_t keytab_intern(struct keytab *t, const void *s, size_t n, int *isnew);
/* Id of key s[0..n), or KEYTAB_NONE. */
uint32_t keytab_find(const struct keytab *t, const void *s, size_t n);
/* The bytes of key id, and their length. */
const char *keytab_get(const struct keytab *t, uint32_t id, size_t *n);
/* Bytes of memory held (for -v and the benchmark). */
size_t keytab_bytes(const struct keytab *t);

#endif
