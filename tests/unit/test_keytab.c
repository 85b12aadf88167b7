/*
 * test_keytab.c - the interning hash table: ids, values, user words, growth,
 * odd key sizes and hash-tag collisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "keytab.h"
#include "util.h"

static int
allzero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void
basics(void **state)
{
	(void)state;
	struct keytab t;
	int isnew = -1;
	size_t n;

	keytab_init(&t, 12);
	assert_int_equal(t.valsize, 16);	/* rounded up to 8 */
	assert_int_equal(keytab_count(&t), 0);
	assert_null(keytab_find(&t, "a", 1));

	char *a = keytab_intern(&t, "a", 1, &isnew);
	assert_non_null(a);
	assert_int_equal(isnew, 1);
	assert_true(allzero(a, 16));
	assert_int_equal(*keytab_user(a), 0);
	assert_int_equal((uintptr_t)a % 8, 0);
	memcpy(a, "value-of-a-16by", 16);

	char *b = keytab_intern(&t, "b", 1, &isnew);
	assert_int_equal(isnew, 1);
	assert_true(b != a);
	assert_true(allzero(b, 16));
	assert_int_equal(*keytab_user(b), 1);

	/* again: the same record, not new, value kept */
	assert_true(keytab_intern(&t, "a", 1, &isnew) == a);
	assert_int_equal(isnew, 0);
	assert_true(keytab_intern(&t, "a", 1, NULL) == a);
	assert_memory_equal(a, "value-of-a-16by", 16);
	assert_true(keytab_find(&t, "a", 1) == a);
	assert_true(keytab_find(&t, "b", 1) == b);
	assert_null(keytab_find(&t, "c", 1));
	assert_null(keytab_find(&t, "ab", 2));
	assert_null(keytab_find(&t, "A", 1));

	assert_memory_equal(keytab_keyof(&t, a, &n), "a", 1);
	assert_int_equal(n, 1);
	assert_true(keytab_val(&t, 0) == a);
	assert_true(keytab_val(&t, 1) == b);
	assert_int_equal(keytab_count(&t), 2);

	/* the user word is the caller's to change */
	*keytab_user(a) = 0xdeadbeef;
	assert_int_equal(*keytab_user(keytab_find(&t, "a", 1)), 0xdeadbeef);
	assert_memory_equal(a, "value-of-a-16by", 16);	/* and is not part of the value */
	assert_true(keytab_bytes(&t) > 0);
	keytab_release(&t);
	assert_null(t.slots);
	assert_int_equal(t.n, 0);
}

static void
binary_and_empty_keys(void **state)
{
	(void)state;
	struct keytab t;
	int isnew;
	size_t n;

	keytab_init(&t, 8);
	void *e = keytab_intern(&t, "", 0, &isnew);
	assert_int_equal(isnew, 1);
	void *z = keytab_intern(&t, "\0", 1, &isnew);
	assert_int_equal(isnew, 1);
	void *zz = keytab_intern(&t, "\0\0", 2, &isnew);
	assert_int_equal(isnew, 1);
	void *x = keytab_intern(&t, "x\0y", 3, &isnew);
	assert_int_equal(isnew, 1);
	void *x2 = keytab_intern(&t, "x\0z", 3, &isnew);
	assert_int_equal(isnew, 1);
	assert_true(e != z && z != zz && x != x2);
	assert_true(keytab_find(&t, "", 0) == e);
	assert_true(keytab_find(&t, "\0", 1) == z);
	assert_true(keytab_find(&t, "x\0y", 3) == x);
	keytab_keyof(&t, e, &n);
	assert_int_equal(n, 0);
	assert_memory_equal(keytab_keyof(&t, x2, &n), "x\0z", 3);
	assert_int_equal(n, 3);
	assert_int_equal(*keytab_user(x2), 4);
	keytab_release(&t);

	/* value size 0: a set of keys */
	keytab_init(&t, 0);
	assert_int_equal(t.valsize, 0);
	void *k = keytab_intern(&t, "key", 3, &isnew);
	assert_int_equal(isnew, 1);
	assert_memory_equal(keytab_keyof(&t, k, &n), "key", 3);
	assert_int_equal(*keytab_user(k), 0);
	assert_true(keytab_find(&t, "key", 3) == k);
	keytab_release(&t);
}

static void
many_keys_dense_ids(void **state)
{
	(void)state;
	enum { N = 200000 };
	struct keytab t;
	char key[32];
	int isnew;
	size_t n;

	keytab_init(&t, 24);
	size_t bytes0 = keytab_bytes(&t), nslots0 = t.nslots;
	for (uint32_t i = 0; i < N; i++) {
		int len = snprintf(key, sizeof key, "sku-%u", i * 7919u);
		uint64_t *v = keytab_intern(&t, key, (size_t)len, &isnew);
		assert_int_equal(isnew, 1);
		assert_true(allzero(v, 24));
		assert_int_equal(*keytab_user(v), i);
		v[0] = i;
		v[1] = ~(uint64_t)i;
		v[2] = (uint64_t)i * 3;
		/* load factor stays at or below 0.7 */
		assert_true(t.n * 10 <= t.nslots * 7);
	}
	assert_int_equal(keytab_count(&t), N);
	assert_true(t.nslots > nslots0);
	assert_true(t.nslots * 7 >= (size_t)N * 10);
	assert_true(t.nchunks > 2);		/* the arena grew by chunks */
	assert_true(keytab_bytes(&t) > bytes0);

	for (uint32_t i = 0; i < N; i++) {
		int len = snprintf(key, sizeof key, "sku-%u", i * 7919u);
		uint64_t *v = keytab_find(&t, key, (size_t)len);
		assert_non_null(v);
		assert_true(v == keytab_val(&t, i));
		assert_int_equal(v[0], i);
		assert_int_equal(v[1], ~(uint64_t)i);
		assert_int_equal(v[2], (uint64_t)i * 3);
		assert_int_equal(*keytab_user(v), i);
		const char *k = keytab_keyof(&t, v, &n);
		assert_int_equal(n, (size_t)len);
		assert_memory_equal(k, key, n);
		assert_true(keytab_intern(&t, key, (size_t)len, &isnew) == v);
		assert_int_equal(isnew, 0);
	}
	/* absent keys, including prefixes and extensions of present ones */
	for (uint32_t i = 0; i < 5000; i++) {
		int len = snprintf(key, sizeof key, "sku-%u", i * 7919u + 1);
		assert_null(keytab_find(&t, key, (size_t)len));
		len = snprintf(key, sizeof key, "sku-%ux", i * 7919u);
		assert_null(keytab_find(&t, key, (size_t)len));
		assert_null(keytab_find(&t, key, 3));
	}
	assert_int_equal(keytab_count(&t), N);
	keytab_release(&t);
}

static void
huge_keys(void **state)
{
	(void)state;
	struct keytab t;
	const size_t big = (2u << 20) + (512u << 10);	/* 2.5 MiB: more than a chunk */
	char *k1 = xmalloc(big), *k2 = xmalloc(big);
	int isnew;
	size_t n;

	for (size_t i = 0; i < big; i++)
		k1[i] = k2[i] = (char)(i * 131 + (i >> 11));
	k2[big - 1] ^= 1;

	keytab_init(&t, 16);
	void *s1 = keytab_intern(&t, "small-1", 7, &isnew);
	memset(s1, 0x11, 16);
	void *b1 = keytab_intern(&t, k1, big, &isnew);
	assert_int_equal(isnew, 1);
	assert_true(allzero(b1, 16));
	memset(b1, 0x22, 16);
	/* a record after an oversized one lands in fresh memory */
	void *s2 = keytab_intern(&t, "small-2", 7, &isnew);
	assert_true(allzero(s2, 16));
	memset(s2, 0x33, 16);
	void *b2 = keytab_intern(&t, k2, big, &isnew);
	assert_int_equal(isnew, 1);
	assert_true(b2 != b1);
	memset(b2, 0x44, 16);
	void *s3 = keytab_intern(&t, "small-3", 7, &isnew);
	memset(s3, 0x55, 16);

	/* records that exactly fill a chunk, and one byte more */
	const size_t fill = ((size_t)1 << 21) - 8 - 16;
	char *k3 = xcalloc(1, fill + 1);
	memset(k3, 'f', fill + 1);
	void *f1 = keytab_intern(&t, k3, fill, &isnew);
	assert_int_equal(isnew, 1);
	void *f2 = keytab_intern(&t, k3, fill + 1, &isnew);
	assert_int_equal(isnew, 1);
	assert_true(f1 != f2);
	void *s4 = keytab_intern(&t, "small-4", 7, &isnew);
	memset(s4, 0x66, 16);

	assert_true(keytab_find(&t, k1, big) == b1);
	assert_true(keytab_find(&t, k2, big) == b2);
	assert_true(keytab_find(&t, k3, fill) == f1);
	assert_true(keytab_find(&t, k3, fill + 1) == f2);
	assert_null(keytab_find(&t, k1, big - 1));
	assert_memory_equal(keytab_keyof(&t, b1, &n), k1, big);
	assert_int_equal(n, big);
	assert_memory_equal(keytab_keyof(&t, b2, &n), k2, big);
	assert_int_equal(n, big);
	assert_memory_equal(keytab_keyof(&t, f2, &n), k3, fill + 1);
	assert_int_equal(n, fill + 1);
	/* nothing overwrote anything */
	static const struct { const char *k; int c; } smalls[] = {
		{ "small-1", 0x11 }, { "small-2", 0x33 }, { "small-3", 0x55 }, { "small-4", 0x66 },
	};
	for (size_t i = 0; i < 4; i++) {
		unsigned char *v = keytab_find(&t, smalls[i].k, 7);
		assert_non_null(v);
		for (size_t j = 0; j < 16; j++)
			assert_int_equal(v[j], smalls[i].c);
		assert_memory_equal(keytab_keyof(&t, v, &n), smalls[i].k, 7);
	}
	unsigned char *v1 = b1, *v2 = b2;
	for (size_t j = 0; j < 16; j++) {
		assert_int_equal(v1[j], 0x22);
		assert_int_equal(v2[j], 0x44);
	}
	assert_int_equal(*keytab_user(b2), 3);
	assert_int_equal(*keytab_user(s4), 7);
	assert_true(keytab_bytes(&t) >= 2 * big);
	keytab_release(&t);
	free(k1);
	free(k2);
	free(k3);
}

static int
cmp_tag(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void
hash_tag_collisions(void **state)
{
	(void)state;
	/*
	 * Find two keys whose 32-bit hash tags are equal (a birthday search
	 * over 300k keys finds some): the table must still tell them apart.
	 */
	enum { N = 300000 };
	uint64_t *tags = xmalloc(N * sizeof *tags);
	char key[32];
	for (uint32_t i = 0; i < N; i++) {
		int len = snprintf(key, sizeof key, "k%u", i);
		tags[i] = (uint64_t)(uint32_t)XXH3_64bits(key, (size_t)len) << 32 | i;
	}
	qsort(tags, N, sizeof *tags, cmp_tag);
	struct keytab t;
	int isnew, pairs = 0;
	keytab_init(&t, 8);
	for (uint32_t i = 1; i < N; i++) {
		if (tags[i] >> 32 != tags[i - 1] >> 32)
			continue;
		char ka[32], kb[32];
		int la = snprintf(ka, sizeof ka, "k%u", (uint32_t)tags[i - 1]);
		int lb = snprintf(kb, sizeof kb, "k%u", (uint32_t)tags[i]);
		uint64_t *a = keytab_intern(&t, ka, (size_t)la, &isnew);
		assert_int_equal(isnew, 1);
		*a = 1000 + i;
		uint64_t *b = keytab_intern(&t, kb, (size_t)lb, &isnew);
		assert_int_equal(isnew, 1);
		assert_true(a != b);
		*b = 2000 + i;
		assert_int_equal(*(uint64_t *)keytab_find(&t, ka, (size_t)la), 1000 + i);
		assert_int_equal(*(uint64_t *)keytab_find(&t, kb, (size_t)lb), 2000 + i);
		pairs++;
	}
	assert_true(pairs > 0);
	keytab_release(&t);
	free(tags);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basics),
		cmocka_unit_test(binary_and_empty_keys),
		cmocka_unit_test(many_keys_dense_ids),
		cmocka_unit_test(huge_keys),
		cmocka_unit_test(hash_tag_collisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
