/*
 * keytab.h - an interning hash table: byte strings in, dense ids out (0, 1,
 * 2, ... in order of first insertion), each with a fixed-size value stored
 * next to its key.  Built for holding one side of a million-record diff in
 * well under 100 MB and with few cache misses: keys and values live back to
 * back in 1 MiB arena chunks; a slot holds a 32-bit hash tag and a 32-bit
 * arena reference, so a lookup touches one slot line and one record.
 *
 * A record in the arena: u32 key length, u32 user word, the value
 * (valsize bytes), the key bytes, padding to 8.
 *
 * Ownership: pointers returned into the table (keys, values) stay valid
 * until keytab_release(); the table never moves a record.
 */
#ifndef INVKIT_KEYTAB_H
#define INVKIT_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

struct keytab {
	uint64_t *slots;	/* hash << 32 | ref; 0 = empty */
	size_t nslots;
	uint32_t *refs;		/* ref of each id, in insertion order */
	size_t n, cap;
	size_t valsize;		/* bytes of value per key, rounded up to 8 */
	char **chunks;		/* chunks[0] unused: a ref is never 0 */
	size_t nchunks, chunkused;
	size_t arenabytes;
};

void keytab_init(struct keytab *t, size_t valsize);
void keytab_release(struct keytab *t);
/*
 * Value of key s[0..n), inserting the key (with a zeroed value) if new;
 * *isnew (if not NULL) says which.  Every record also has a 32-bit user
 * word (keytab_user), set to the record's id on insertion.
 */
void *keytab_intern(struct keytab *t, const void *s, size_t n, int *isnew);
/* Value of key s[0..n), or NULL when absent. */
void *keytab_find(const struct keytab *t, const void *s, size_t n);
/*
 * For callers that batch lookups to hide memory latency: the hash of a
 * key, a prefetch of its slot (stage 0) or, once the slot is in cache, of
 * the records its tag matches (stage 1), and intern with the hash given.
 */
uint32_t keytab_hash(const void *s, size_t n);
void keytab_prefetch(const struct keytab *t, uint32_t h, int stage);
void *keytab_intern_h(struct keytab *t, const void *s, size_t n, uint32_t h, int *isnew);
/* The user word of a record, by its value pointer. */
static inline uint32_t *keytab_user(void *val) { return (uint32_t *)val - 1; }
/* Key bytes of a record, by its value pointer. */
const char *keytab_keyof(const struct keytab *t, const void *val, size_t *n);
/* Value of the id-th record inserted. */
void *keytab_val(const struct keytab *t, uint32_t id);
static inline size_t keytab_count(const struct keytab *t) { return t->n; }
/* Bytes of memory held (for -v and the benchmark). */
size_t keytab_bytes(const struct keytab *t);

#endif
