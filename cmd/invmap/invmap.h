/*
 * invmap.h - what the parts of invmap share: the tables loaded from the
 * CSV files (tables.c), the record being transformed (struct cur) and the
 * transforms themselves (xform.c), driven by main.c.
 *
 * Ownership: every string in a table is owned by the table and lives until
 * tables_release(); a struct cur owns its buffers (cur_release).
 */
#ifndef INVMAP_H
#define INVMAP_H

#include <stdint.h>

#include "keytab.h"
#include "rec.h"
#include "util.h"

/* A row of the mapping table: one listing of a central SKU on a channel. */
struct maprow {
	char *channel, *item, *psku, *sku;
	int64_t units;
	uint64_t line;
	uint32_t next;		/* next listing of the same (channel, sku), +1; 0 = none */
};

/* A row of the location table. */
struct locrow {
	char *channel, *ploc, *loc;
	uint64_t line;
};

/* An allocation rule (only the rules of the --allocate channel are kept). */
struct rule {
	char *sku;
	int64_t safety, share, max, min;
	int hasmax, glob;
	size_t lits;		/* literal characters of a glob: its specificity */
	uint64_t line;
};

/* A bundle and its components (comp[first .. first+n)). */
struct bundle {
	uint32_t sku;		/* id in tables.skus */
	uint32_t first, n;
	uint64_t line;
};
struct bcomp {
	uint32_t sku;		/* id in tables.skus */
	int64_t count;
	uint64_t line;
};

/* A pair of 32-bit words: the value kept per key in the tables' keytabs. */
struct pair {
	uint32_t a, b;
};

struct tables {
	const char *mapfile, *locfile, *rulefile, *bundlefile;
	struct maprow *map;
	size_t nmap;
	struct keytab byitem, bypsku, bysku;	/* "chan\0item" etc. -> pair{row+1, tail+1} */
	struct locrow *loc;
	size_t nloc;
	struct keytab byploc, byloc;		/* "chan\0loc" -> pair{row+1} */
	struct rule *rules;			/* globs sorted: most specific first */
	size_t nrules;
	struct keytab exact;			/* exact sku -> pair{rule+1} */
	struct keytab skus;			/* bundle and component skus; value: pair{bundle+1} */
	struct bundle *bundles;
	size_t nbundles;
	struct bcomp *comps;
	size_t ncomps;
};

void tables_init(struct tables *t);
void tables_release(struct tables *t);
/* Each loader dies with exit 66 (file missing) or 78 (bad table). */
void load_map(struct tables *t, const char *path);
void load_locations(struct tables *t, const char *path);
void load_rules(struct tables *t, const char *path, const char *channel);
void load_bundles(struct tables *t, const char *path);

/* Lookups; NULL when absent. */
const struct maprow *map_forward(const struct tables *t, const char *chan, const char *item,
    const char *psku);
const struct maprow *map_listings(const struct tables *t, const char *chan, const char *sku);
const struct locrow *loc_forward(const struct tables *t, const char *chan, const char *ploc);
const struct locrow *loc_reverse(const struct tables *t, const char *chan, const char *loc);
const struct rule *rule_for(const struct tables *t, const char *sku);

/*
 * The record as it is being transformed: the input record's fields, with
 * the slots below overriding (or adding) the well-known ones.  A slot not
 * set leaves the input's field byte-exact.
 */
enum slot { S_SKU, S_CHANNEL, S_LOCATION, S_ITEM, S_QTY, S_UNITS, S_PSKU, S_PLOC, S_N };
extern const char *const slot_names[S_N];

struct cur {
	struct buf s[S_N];	/* string value of a slot (always NUL-terminated) */
	int64_t v[S_N];		/* integer value (qty, units) */
	unsigned char set[S_N];	/* 1: write this value instead of the input's */
	unsigned char has[S_N];	/* the slot has a value (from input or set) */
	unsigned char del[S_N];	/* drop the input's field */
};

void cur_reset(struct cur *c);
void cur_copy(struct cur *dst, const struct cur *src);
void cur_release(struct cur *c);
void cur_setstr(struct cur *c, int slot, const char *s);
void cur_setint(struct cur *c, int slot, int64_t v);
const char *cur_str(const struct cur *c, int slot);

/* Floor of a / b for b > 0 (toward minus infinity). */
int64_t floordiv(int64_t a, int64_t b);

#endif

/* ---- the run: options, counters and the stages (xform.c) ---- */

enum { U_STRICT, U_PASS, U_DROP, U_REJECT };

struct invmap_opt {
	const char *to;		/* --to: reverse-map for this channel */
	const char *alloc;	/* --allocate: allocate for this channel */
	const char *explain;	/* --explain: the sku to explain on stderr */
	int unmapped;		/* U_* */
	int quiet, verbose, fmt;
	int explode;		/* --explode: bundles into their components */
};

struct invmap_stats {
	uint64_t in, out, mapped, passed, dropped, unmapped_rej, bundles, allocated;
};

extern struct invmap_opt opt;
extern struct invmap_stats st;
extern struct tables tab;
extern struct writer *out;
extern struct rejects rj;

/* Transform one good input record and write what comes of it. */
void process(const char *file, const struct record *rec);
/* After all input: bundles, and the records they held back. */
void finish_bundles(void);
/* True when records are held (bundles): readers must stay open till the end. */
int holding(void);
void xform_release(void);
