/*
 * tables.c - load invmap's CSV tables into memory: the mapping table (-m),
 * the location table (-l), the allocation rules (-a) and the bundles (-b).
 *
 * Tables are configuration, so every fault in them is a config error (exit
 * 78) naming the file and line: a missing column, a value that is not a
 * number, a row repeated, two rows that contradict each other (naming both
 * lines) or a cycle of bundles.  Tables are read with the record reader, so
 * they get the same CSV rules (RFC 4180, BOM, CRLF) as the records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "invmap.h"
#include "banned.h"

/* The key of a lookup: reused, so that a lookup allocates nothing. */
static struct buf lk;

void
tables_init(struct tables *t)
{
	memset(t, 0, sizeof *t);
	keytab_init(&t->byitem, sizeof(struct pair));
	keytab_init(&t->bypsku, sizeof(struct pair));
	keytab_init(&t->bysku, sizeof(struct pair));
	keytab_init(&t->byploc, sizeof(struct pair));
	keytab_init(&t->byloc, sizeof(struct pair));
	keytab_init(&t->exact, sizeof(struct pair));
	keytab_init(&t->skus, sizeof(struct pair));
}

void
tables_release(struct tables *t)
{
	for (size_t i = 0; i < t->nmap; i++) {
		free(t->map[i].channel);
		free(t->map[i].item);
		free(t->map[i].psku);
		free(t->map[i].sku);
	}
	for (size_t i = 0; i < t->nloc; i++) {
		free(t->loc[i].channel);
		free(t->loc[i].ploc);
		free(t->loc[i].loc);
	}
	for (size_t i = 0; i < t->nrules; i++)
		free(t->rules[i].sku);
	free(t->map);
	free(t->loc);
	free(t->rules);
	free(t->bundles);
	free(t->comps);
	keytab_release(&t->byitem);
	keytab_release(&t->bypsku);
	keytab_release(&t->bysku);
	keytab_release(&t->byploc);
	keytab_release(&t->byloc);
	keytab_release(&t->exact);
	keytab_release(&t->skus);
	buf_release(&lk);
}

/*
 * A table being read: the reader, the columns wanted and, for the current
 * row, their values (copied, so that they survive the next row).
 */
#define MAXCOL 8
struct table {
	struct reader *r;
	const char *path;
	const char *const *cols;
	size_t ncol;
	struct record *rec;
	char *val[MAXCOL];
	struct buf scratch, why;
};

static _Noreturn void
bad_table(struct table *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static _Noreturn void
bad_table(struct table *tb, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (tb->rec)
		die(EX_CONFIG, "%s:%llu: %s", reader_name(tb->r), (unsigned long long)tb->rec->line, msg);
	die(EX_CONFIG, "%s: %s", tb->path, msg);
}

static void
table_open(struct table *tb, const char *path, const char *const *cols, size_t ncol)
{
	memset(tb, 0, sizeof *tb);
	tb->path = path;
	tb->cols = cols;
	tb->ncol = ncol;
	if (!(tb->r = reader_open(path, FMT_CSV, 0, RD_CONFIG)))
		die_errno(EX_NOINPUT, "%s", path);
}

/* Column index i of the current row into tb->val[i] ("" when empty). */
static void
table_cols(struct table *tb)
{
	for (size_t i = 0; i < tb->ncol; i++) {
		const struct field *f = NULL;
		size_t n = strlen(tb->cols[i]);
		for (size_t j = 0; j < tb->rec->nf; j++)
			if (tb->rec->f[j].nlen == n && !memcmp(tb->rec->f[j].name, tb->cols[i], n))
				f = &tb->rec->f[j];
		if (!f)
			bad_table(tb, "missing column '%s'", tb->cols[i]);
		const char *s = "";
		size_t len = 0;
		if (field_str(f, &tb->scratch, &s, &len, &tb->why) < 0)
			bad_table(tb, "%s", tb->why.s);
		if (memchr(s, '\0', len))	/* kept as a C string, it would be cut short */
			bad_table(tb, "field '%s': contains a NUL character", tb->cols[i]);
		free(tb->val[i]);
		tb->val[i] = xstrndup(s, len);
	}
}

/* Next row: 1, or 0 at the end; checks the header on the way. */
static int
table_next(struct table *tb)
{
	int k = reader_next(tb->r, &tb->rec);
	if (k == -2)
		die_errno(EX_IOERR, "%s: read error", tb->path);
	if (k == -1)
		bad_table(tb, "%s", reader_error(tb->r));
	size_t nh = 0;
	const struct field *h = reader_header(tb->r, &nh);
	for (size_t i = 0; i < tb->ncol; i++) {
		size_t n = strlen(tb->cols[i]), j;
		for (j = 0; j < nh; j++)
			if (h[j].nlen == n && !memcmp(h[j].name, tb->cols[i], n))
				break;
		if (j == nh) {
			tb->rec = NULL;
			struct buf all = BUF_INIT;
			for (size_t j = 0; j < tb->ncol; j++)
				buf_addf(&all, "%s%s", j ? "," : "", tb->cols[j]);
			bad_table(tb, "missing column '%s' (the header must name %s)", tb->cols[i],
			    all.s);
		}
	}
	if (k == 0)
		return 0;
	table_cols(tb);
	return 1;
}

static void
table_close(struct table *tb)
{
	reader_free(tb->r);
	for (size_t i = 0; i < tb->ncol; i++)
		free(tb->val[i]);
	buf_release(&tb->scratch);
	buf_release(&tb->why);
}

/* A whole integer in [lo, hi]; "" gives def when allowed (def_ok). */
static int64_t
table_int(struct table *tb, size_t col, int64_t lo, int64_t hi, int def_ok, int64_t def)
{
	const char *s = tb->val[col], *e;
	int64_t v;
	if (!*s) {
		if (def_ok)
			return def;
		bad_table(tb, "field '%s': empty", tb->cols[col]);
	}
	if ((e = parse_i64(s, strlen(s), &v))) {
		struct buf q = BUF_INIT;
		bad_table(tb, "field '%s': %s: %s", tb->cols[col], e, quoted(&q, s, strlen(s)));
	}
	if (v < lo || v > hi)
		bad_table(tb, "field '%s': %lld is out of range (%lld to %lld)", tb->cols[col],
		    (long long)v, (long long)lo, (long long)hi);
	return v;
}

static void
catkey(struct buf *k, const char *a, const char *b)
{
	buf_reset(k);
	buf_add(k, a, strlen(a) + 1);
	buf_adds(k, b);
}

/* ---- mapping table ---- */

void
load_map(struct tables *t, const char *path)
{
	static const char *const cols[] = { "channel", "item", "platform_sku", "sku", "units" };
	struct table tb;
	struct buf k = BUF_INIT;
	size_t cap = 0;

	t->mapfile = path;
	table_open(&tb, path, cols, 5);
	while (table_next(&tb)) {
		const char *ch = tb.val[0], *item = tb.val[1], *psku = tb.val[2], *sku = tb.val[3];
		if (!*sku)
			bad_table(&tb, "field 'sku': empty");
		if (!*item && !*psku)
			bad_table(&tb, "fields 'item' and 'platform_sku': both empty");
		int64_t units = table_int(&tb, 4, 1, INT64_MAX, 1, 1);
		if (t->nmap == UINT32_MAX - 1)
			bad_table(&tb, "too many rows");
		uint32_t id = (uint32_t)t->nmap;
		struct pair *p;
		int isnew;
		/* one item, one listing */
		if (*item) {
			catkey(&k, ch, item);
			p = keytab_intern(&t->byitem, k.s, k.len, &isnew);
			if (!isnew) {
				const struct maprow *o = &t->map[p->a - 1];
				if (!strcmp(o->sku, sku) && o->units == units && !strcmp(o->psku, psku))
					bad_table(&tb, "duplicate row: item '%s' of channel '%s' is also "
					    "on line %llu", item, ch, (unsigned long long)o->line);
				bad_table(&tb, "conflicting rows: item '%s' of channel '%s' maps to sku "
				    "'%s' x%lld here and to sku '%s' x%lld on line %llu", item, ch, sku,
				    (long long)units, o->sku, (long long)o->units,
				    (unsigned long long)o->line);
			}
			p->a = id + 1;
		}
		/* a platform sku may name several items, but only one central sku */
		if (*psku) {
			catkey(&k, ch, psku);
			p = keytab_intern(&t->bypsku, k.s, k.len, &isnew);
			if (!isnew) {
				const struct maprow *o = &t->map[p->a - 1];
				if (strcmp(o->sku, sku) || o->units != units)
					bad_table(&tb, "conflicting rows: platform sku '%s' of channel '%s' "
					    "maps to sku '%s' x%lld here and to sku '%s' x%lld on line %llu",
					    psku, ch, sku, (long long)units, o->sku, (long long)o->units,
					    (unsigned long long)o->line);
				if (!*item || !*o->item)
					bad_table(&tb, "duplicate row: platform sku '%s' of channel '%s' is "
					    "also on line %llu", psku, ch, (unsigned long long)o->line);
			} else {
				p->a = id + 1;
			}
		}
		if (t->nmap == cap) {
			cap = cap ? cap * 2 : 64;
			t->map = xrealloc(t->map, cap * sizeof *t->map);
		}
		struct maprow *m = &t->map[t->nmap++];
		m->channel = xstrdup(ch);
		m->item = xstrdup(item);
		m->psku = xstrdup(psku);
		m->sku = xstrdup(sku);
		m->units = units;
		m->line = tb.rec->line;
		m->next = 0;
		/* the listings of a central sku, in file order */
		catkey(&k, ch, sku);
		p = keytab_intern(&t->bysku, k.s, k.len, &isnew);
		if (isnew)
			p->a = id + 1;
		else
			t->map[p->b - 1].next = id + 1;
		p->b = id + 1;
	}
	table_close(&tb);
	buf_release(&k);
}

const struct maprow *
map_forward(const struct tables *t, const char *chan, const char *item, const char *psku)
{
	const struct pair *p = NULL;
	if (item && *item) {
		catkey(&lk, chan, item);
		p = keytab_find(&t->byitem, lk.s, lk.len);
	}
	if (!p && psku && *psku) {
		catkey(&lk, chan, psku);
		p = keytab_find(&t->bypsku, lk.s, lk.len);
	}
	return p ? &t->map[p->a - 1] : NULL;
}

const struct maprow *
map_listings(const struct tables *t, const char *chan, const char *sku)
{
	catkey(&lk, chan, sku);
	const struct pair *p = keytab_find(&t->bysku, lk.s, lk.len);
	return p ? &t->map[p->a - 1] : NULL;
}

/* ---- locations ---- */

void
load_locations(struct tables *t, const char *path)
{
	static const char *const cols[] = { "channel", "platform_location", "location" };
	struct table tb;
	struct buf k = BUF_INIT;
	size_t cap = 0;

	t->locfile = path;
	table_open(&tb, path, cols, 3);
	while (table_next(&tb)) {
		const char *ch = tb.val[0], *ploc = tb.val[1], *loc = tb.val[2];
		uint32_t id = (uint32_t)t->nloc;
		int isnew;
		struct pair *p;
		if (!*ploc && !*loc)
			bad_table(&tb, "fields 'platform_location' and 'location': both empty");
		catkey(&k, ch, ploc);
		p = keytab_intern(&t->byploc, k.s, k.len, &isnew);
		if (!isnew) {
			const struct locrow *o = &t->loc[p->a - 1];
			if (!strcmp(o->loc, loc))
				bad_table(&tb, "duplicate row: platform location '%s' of channel '%s' is "
				    "also on line %llu", ploc, ch, (unsigned long long)o->line);
			bad_table(&tb, "conflicting rows: platform location '%s' of channel '%s' maps "
			    "to '%s' here and to '%s' on line %llu", ploc, ch, loc, o->loc,
			    (unsigned long long)o->line);
		}
		p->a = id + 1;
		/* the way back must be just as unambiguous */
		catkey(&k, ch, loc);
		p = keytab_intern(&t->byloc, k.s, k.len, &isnew);
		if (!isnew) {
			const struct locrow *o = &t->loc[p->a - 1];
			bad_table(&tb, "conflicting rows: location '%s' of channel '%s' is platform "
			    "location '%s' here and '%s' on line %llu", loc, ch, ploc, o->ploc,
			    (unsigned long long)o->line);
		}
		p->a = id + 1;
		if (t->nloc == cap) {
			cap = cap ? cap * 2 : 16;
			t->loc = xrealloc(t->loc, cap * sizeof *t->loc);
		}
		struct locrow *l = &t->loc[t->nloc++];
		l->channel = xstrdup(ch);
		l->ploc = xstrdup(ploc);
		l->loc = xstrdup(loc);
		l->line = tb.rec->line;
	}
	table_close(&tb);
	buf_release(&k);
}

static const struct locrow *
loc_find(const struct tables *t, const struct keytab *kt, const char *chan, const char *s)
{
	catkey(&lk, chan, s);
	const struct pair *p = keytab_find(kt, lk.s, lk.len);
	return p ? &t->loc[p->a - 1] : NULL;
}

const struct locrow *
loc_forward(const struct tables *t, const char *chan, const char *ploc)
{
	return loc_find(t, &t->byploc, chan, ploc);
}

const struct locrow *
loc_reverse(const struct tables *t, const char *chan, const char *loc)
{
	return loc_find(t, &t->byloc, chan, loc);
}

/* ---- allocation rules ---- */

/*
 * Specificity of a pattern: the characters it matches literally.  '*' and
 * '?' count nothing, a bracket expression nothing, an escaped character
 * one.  Returns 0 with *glob = 0 for a pattern without any of them.
 */
static size_t
literals(const char *s, int *glob)
{
	size_t n = 0;
	*glob = 0;
	for (; *s; s++) {
		if (*s == '*' || *s == '?') {
			*glob = 1;
		} else if (*s == '[' && strchr(s + 1, ']')) {
			*glob = 1;
			s = strchr(s + (s[1] == ']' ? 2 : 1), ']');
			if (!s)
				break;
		} else if (*s == '\\' && s[1]) {
			*glob = 1;
			s++;
			n++;
		} else {
			n++;
		}
	}
	return n;
}

static int
rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	if (x->glob != y->glob)
		return x->glob - y->glob;
	if (x->lits != y->lits)
		return x->lits > y->lits ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

void
load_rules(struct tables *t, const char *path, const char *channel)
{
	static const char *const cols[] = { "channel", "sku", "safety", "share", "max", "min" };
	struct table tb;
	size_t cap = 0;

	t->rulefile = path;
	table_open(&tb, path, cols, 6);
	while (table_next(&tb)) {
		struct rule r = { 0 };
		if (!*tb.val[1])
			bad_table(&tb, "field 'sku': empty");
		r.safety = table_int(&tb, 2, 0, INT64_MAX, 1, 0);
		r.share = table_int(&tb, 3, 0, 100, 1, 100);
		r.hasmax = *tb.val[4] != 0;
		r.max = table_int(&tb, 4, 0, INT64_MAX, 1, 0);
		r.min = table_int(&tb, 5, 0, INT64_MAX, 1, 0);
		if (r.hasmax && r.min > r.max)
			bad_table(&tb, "min %lld is above max %lld", (long long)r.min, (long long)r.max);
		if (strcmp(tb.val[0], channel))
			continue;	/* checked, but for another channel */
		r.line = tb.rec->line;
		r.lits = literals(tb.val[1], &r.glob);
		for (size_t i = 0; i < t->nrules; i++)
			if (!strcmp(t->rules[i].sku, tb.val[1]))
				bad_table(&tb, "duplicate rule: sku '%s' of channel '%s' is also on line %llu",
				    tb.val[1], channel, (unsigned long long)t->rules[i].line);
		r.sku = xstrdup(tb.val[1]);
		if (t->nrules == cap) {
			cap = cap ? cap * 2 : 16;
			t->rules = xrealloc(t->rules, cap * sizeof *t->rules);
		}
		t->rules[t->nrules++] = r;
	}
	table_close(&tb);
	/* exact skus first, then globs from the most literal; ties by line */
	if (t->nrules)
		qsort(t->rules, t->nrules, sizeof *t->rules, rule_cmp);
	for (size_t i = 0; i < t->nrules; i++)
		if (!t->rules[i].glob) {
			struct pair *p = keytab_intern(&t->exact, t->rules[i].sku, strlen(t->rules[i].sku),
			    NULL);
			p->a = (uint32_t)i + 1;
		}
}

#include <fnmatch.h>

const struct rule *
rule_for(const struct tables *t, const char *sku)
{
	const struct pair *p = keytab_find(&t->exact, sku, strlen(sku));
	if (p)
		return &t->rules[p->a - 1];
	for (size_t i = 0; i < t->nrules; i++)
		if (t->rules[i].glob && fnmatch(t->rules[i].sku, sku, 0) == 0)
			return &t->rules[i];
	return NULL;
}

/* ---- bundles ---- */

struct brow {
	uint32_t bundle, comp;
	int64_t count;
	uint64_t line;
};

static int
brow_cmp(const void *a, const void *b)
{
	const struct brow *x = a, *y = b;
	if (x->bundle != y->bundle)
		return x->bundle < y->bundle ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static uint32_t
sku_id(struct tables *t, const char *s)
{
	return *keytab_user(keytab_intern(&t->skus, s, strlen(s), NULL));
}

/*
 * Bundles within bundles are computed recursively: a chain of more than
 * this many is refused, so that no table can exhaust the stack.
 */
#define MAX_NESTING 1000

static _Noreturn void
too_deep(struct tables *t, const struct bundle *bu)
{
	size_t n;
	const char *s = keytab_keyof(&t->skus, keytab_val(&t->skus, bu->sku), &n);
	die(EX_CONFIG, "%s:%llu: bundles nested more than %d levels deep, through '%.*s'",
	    t->bundlefile, (unsigned long long)bu->line, MAX_NESTING, (int)n, s);
}

/*
 * Depth-first search for a cycle; state: 0 new, 1 on the path, 2 done.
 * height: the longest chain of bundles from each bundle done, itself included.
 */
static void
find_cycle(struct tables *t, uint32_t b, unsigned char *state, uint32_t *path, size_t depth,
    uint32_t *height)
{
	const struct bundle *bu = &t->bundles[b];
	uint32_t h = 1;
	if (depth >= MAX_NESTING)
		too_deep(t, bu);
	state[b] = 1;
	path[depth] = bu->sku;
	for (uint32_t i = 0; i < bu->n; i++) {
		const struct bcomp *c = &t->comps[bu->first + i];
		const struct pair *p = keytab_val(&t->skus, c->sku);
		if (!p->a)
			continue;
		uint32_t cb = p->a - 1;
		if (state[cb] == 1) {
			struct buf msg = BUF_INIT;
			size_t start = 0, n;
			while (path[start] != c->sku)
				start++;
			for (size_t j = start; j <= depth; j++) {
				const char *s = keytab_keyof(&t->skus, keytab_val(&t->skus, path[j]), &n);
				buf_addf(&msg, "'%.*s' -> ", (int)n, s);
			}
			const char *s = keytab_keyof(&t->skus, keytab_val(&t->skus, c->sku), &n);
			buf_addf(&msg, "'%.*s'", (int)n, s);
			die(EX_CONFIG, "%s:%llu: bundles form a cycle: %s", t->bundlefile,
			    (unsigned long long)c->line, msg.s);
		}
		if (state[cb] == 0)
			find_cycle(t, cb, state, path, depth + 1, height);
		if (height[cb] >= h)
			h = height[cb] + 1;
	}
	if (h > MAX_NESTING)
		too_deep(t, bu);
	height[b] = h;
	state[b] = 2;
}

void
load_bundles(struct tables *t, const char *path)
{
	static const char *const cols[] = { "bundle_sku", "component_sku", "count" };
	struct table tb;
	struct brow *rows = NULL;
	size_t nrows = 0, cap = 0;
	struct keytab seen;

	t->bundlefile = path;
	keytab_init(&seen, sizeof(uint64_t));
	table_open(&tb, path, cols, 3);
	while (table_next(&tb)) {
		struct buf k = BUF_INIT;
		int isnew;
		if (!*tb.val[0] || !*tb.val[1])
			bad_table(&tb, "field '%s': empty", *tb.val[0] ? "component_sku" : "bundle_sku");
		if (!strcmp(tb.val[0], tb.val[1]))
			bad_table(&tb, "bundles form a cycle: '%s' -> '%s'", tb.val[0], tb.val[1]);
		int64_t count = table_int(&tb, 2, 1, INT64_MAX, 0, 0);
		catkey(&k, tb.val[0], tb.val[1]);
		uint64_t *first = keytab_intern(&seen, k.s, k.len, &isnew);
		buf_release(&k);
		if (!isnew)
			bad_table(&tb, "duplicate row: component '%s' of bundle '%s' is also on line %llu",
			    tb.val[1], tb.val[0], (unsigned long long)*first);
		*first = tb.rec->line;
		if (nrows == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		rows[nrows].bundle = sku_id(t, tb.val[0]);
		rows[nrows].comp = sku_id(t, tb.val[1]);
		rows[nrows].count = count;
		rows[nrows].line = tb.rec->line;
		nrows++;
	}
	table_close(&tb);
	keytab_release(&seen);
	if (nrows)
		qsort(rows, nrows, sizeof *rows, brow_cmp);
	t->comps = xcalloc(nrows ? nrows : 1, sizeof *t->comps);
	t->bundles = xcalloc(nrows ? nrows : 1, sizeof *t->bundles);
	for (size_t i = 0; i < nrows; i++) {
		if (!i || rows[i].bundle != rows[i - 1].bundle) {
			struct bundle *b = &t->bundles[t->nbundles];
			b->sku = rows[i].bundle;
			b->first = (uint32_t)i;
			b->line = rows[i].line;
			struct pair *p = keytab_val(&t->skus, rows[i].bundle);
			p->a = (uint32_t)++t->nbundles;
		}
		t->bundles[t->nbundles - 1].n++;
		t->comps[i].sku = rows[i].comp;
		t->comps[i].count = rows[i].count;
		t->comps[i].line = rows[i].line;
	}
	t->ncomps = nrows;
	free(rows);
	unsigned char *state = xcalloc(t->nbundles + 1, 1);
	uint32_t *pathv = xcalloc(t->nbundles + 1, sizeof *pathv);
	uint32_t *height = xcalloc(t->nbundles + 1, sizeof *height);
	for (uint32_t b = 0; b < t->nbundles; b++)
		if (!state[b])
			find_cycle(t, b, state, pathv, 0, height);
	free(state);
	free(pathv);
	free(height);
}
