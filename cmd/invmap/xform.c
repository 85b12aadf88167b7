/*
 * xform.c - the transforms of invmap, applied to each record in order:
 *
 *   forward map (sku and units, then location; skipped under --to)
 *   -> bundles (component quantities gathered; bundle records held back)
 *   -> allocation (--allocate)
 *   -> reverse map (--to: one record per listing of the sku on the channel)
 *   -> written.
 *
 * A record is carried through the stages as its input fields plus a
 * struct cur of overridden well-known fields, so that fields invmap does not
 * touch are written back byte for byte.
 */
#include <string.h>
#include <stdlib.h>

#include "invmap.h"
#include "wr.h"
#include "banned.h"

struct invmap_opt opt;
struct invmap_stats st;
struct tables tab;
struct writer *out;
struct rejects rj;

const char *const slot_names[S_N] = {
	"sku", "channel", "location", "item", "qty", "units", "platform_sku", "platform_location",
};

static struct buf why, sc, expl, cname;	/* cname: a component's name (--explode) */
static struct cur cur0, curo;	/* the record in hand; a listing of it (--to) */
static struct rejects strict;	/* no file: reporting through it is fatal */

/* ---- struct cur ---- */

void
cur_reset(struct cur *c)
{
	for (int i = 0; i < S_N; i++) {
		buf_reset(&c->s[i]);
		buf_addc(&c->s[i], 0);
		c->s[i].len = 0;
		c->v[i] = 0;
		c->set[i] = c->has[i] = c->del[i] = 0;
	}
}

void
cur_copy(struct cur *dst, const struct cur *src)
{
	for (int i = 0; i < S_N; i++) {
		buf_reset(&dst->s[i]);
		buf_add(&dst->s[i], src->s[i].s ? src->s[i].s : "", src->s[i].len);
		dst->v[i] = src->v[i];
		dst->set[i] = src->set[i];
		dst->has[i] = src->has[i];
		dst->del[i] = src->del[i];
	}
}

void
cur_release(struct cur *c)
{
	for (int i = 0; i < S_N; i++)
		buf_release(&c->s[i]);
}

void
cur_setstr(struct cur *c, int slot, const char *s)
{
	buf_reset(&c->s[slot]);
	buf_adds(&c->s[slot], s);
	c->set[slot] = c->has[slot] = 1;
}

void
cur_setint(struct cur *c, int slot, int64_t v)
{
	c->v[slot] = v;
	c->set[slot] = c->has[slot] = 1;
}

const char *
cur_str(const struct cur *c, int slot)
{
	return c->has[slot] && c->s[slot].s ? c->s[slot].s : "";
}

int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

/* ---- explain ---- */

static int
explaining(const struct cur *c, const char *other)
{
	return opt.explain && (!strcmp(cur_str(c, S_SKU), opt.explain) ||
	    (other && !strcmp(other, opt.explain)));
}

static void
explain(const char *file, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
explain(const char *file, uint64_t line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: explain '%s': ", progname, opt.explain);
	if (file)
		fprintf(stderr, "%s:%llu: ", file, (unsigned long long)line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- writing ---- */

static int
slot_of(const struct field *f)
{
	switch (f->kid) {
	case K_SKU: return S_SKU;
	case K_CHANNEL: return S_CHANNEL;
	case K_LOCATION: return S_LOCATION;
	case K_ITEM: return S_ITEM;
	case K_QTY: return S_QTY;
	case K_UNITS: return S_UNITS;
	default: break;
	}
	if (f->nlen == 12 && !memcmp(f->name, "platform_sku", 12))
		return S_PSKU;
	if (f->nlen == 17 && !memcmp(f->name, "platform_location", 17))
		return S_PLOC;
	return -1;
}

static void
put_slot(const struct cur *c, int i)
{
	if (i == S_QTY || i == S_UNITS)
		wr_int(out, slot_names[i], c->v[i]);
	else
		wr_str(out, slot_names[i], c->s[i].s ? c->s[i].s : "", c->s[i].len);
}

/* Write rec (NULL: no input fields) with c's slots over it. */
static void
emit(const struct record *rec, const struct cur *c)
{
	unsigned done = 0;
	wr_begin(out);
	for (size_t i = 0; rec && i < rec->nf; i++) {
		const struct field *f = &rec->f[i];
		int s = slot_of(f);
		if (s < 0) {
			wr_field(out, f);
			continue;
		}
		if (done & (1u << s))
			continue;	/* a repeated name: written once */
		done |= 1u << s;
		if (c->set[s])
			put_slot(c, s);
		else if (!c->del[s])
			wr_field(out, f);
	}
	for (int s = 0; s < S_N; s++)
		if (c->set[s] && !(done & (1u << s)))
			put_slot(c, s);
	wr_end(out);
	st.out++;
}

/* ---- unmapped records ---- */

/* Apply --unmapped to a record with no mapping; returns 1 when it goes on. */
static int
unmapped(const char *file, const struct record *rec, const char *reason)
{
	switch (opt.unmapped) {
	case U_PASS:
		st.passed++;
		return 1;
	case U_DROP:
		st.dropped++;
		return 0;
	case U_REJECT:
		st.unmapped_rej++;
		reject_record(&rj, file, rec, reason);
		return 0;
	default:
		buf_reset(&expl);
		buf_addf(&expl, "%s (use --unmapped to pass, drop or reject such records)", reason);
		reject_record(&strict, file, rec, expl.s);
		return 0;
	}
}

/* ---- forward: platform -> central ---- */

/* Returns 1 to go on, 0 when the record was dropped or rejected. */
static int
forward(const char *file, const struct record *rec, struct cur *c)
{
	const char *chan = cur_str(c, S_CHANNEL), *item = cur_str(c, S_ITEM);
	const char *psku = cur_str(c, S_SKU), *ploc = cur_str(c, S_LOCATION);
	const struct maprow *m = NULL;
	const struct locrow *l = NULL;
	struct buf q = BUF_INIT, q2 = BUF_INIT, q3 = BUF_INIT;

	/* look both up first: an unmapped record passes with nothing changed */
	if (tab.mapfile && !(m = map_forward(&tab, chan, item, psku))) {
		buf_reset(&why);
		buf_addf(&why, "unmapped: no row of %s for channel %s, item %s, sku %s",
		    tab.mapfile, quoted(&q, chan, strlen(chan)), quoted(&q2, item, strlen(item)),
		    quoted(&q3, psku, strlen(psku)));
	} else if (tab.locfile && !(l = loc_forward(&tab, chan, ploc)) && *ploc) {
		buf_reset(&why);
		buf_addf(&why, "unmapped: no row of %s for channel %s, platform location %s",
		    tab.locfile, quoted(&q, chan, strlen(chan)), quoted(&q2, ploc, strlen(ploc)));
	} else {
		why.len = 0;
	}
	buf_release(&q);
	buf_release(&q2);
	buf_release(&q3);
	if (why.len)
		return unmapped(file, rec, why.s);
	if (m) {
		int64_t qty;
		if (__builtin_mul_overflow(c->v[S_QTY], m->units, &qty)) {
			buf_reset(&why);
			buf_addf(&why, "field 'qty': %lld x %lld units is out of range",
			    (long long)c->v[S_QTY], (long long)m->units);
			reject_record(&rj, file, rec, why.s);
			return 0;
		}
		if (explaining(c, m->sku))
			explain(file, rec->line, "channel '%s' item '%s' sku '%s' qty %lld -> sku '%s' "
			    "x %lld units (%s:%llu) = %lld", chan, item, psku, (long long)c->v[S_QTY],
			    m->sku, (long long)m->units, tab.mapfile, (unsigned long long)m->line,
			    (long long)qty);
		cur_setstr(c, S_PSKU, psku);
		cur_setstr(c, S_SKU, m->sku);
		cur_setint(c, S_QTY, qty);
		cur_setint(c, S_UNITS, m->units);
	}
	if (l) {
		if (explaining(c, NULL))
			explain(file, rec->line, "location '%s' -> '%s' (%s:%llu)", ploc, l->loc,
			    tab.locfile, (unsigned long long)l->line);
		cur_setstr(c, S_PLOC, ploc);
		cur_setstr(c, S_LOCATION, l->loc);
	}
	st.mapped += m || l;
	return 1;
}

/* ---- allocation and reverse mapping: the stages after bundles ---- */

static void
allocate(const char *file, const struct record *rec, struct cur *c)
{
	const struct rule *r = rule_for(&tab, cur_str(c, S_SKU));
	cur_setstr(c, S_CHANNEL, opt.alloc);
	if (!r) {
		if (explaining(c, NULL))
			explain(file, rec ? rec->line : 0, "allocate to '%s': no rule, qty %lld unchanged",
			    opt.alloc, (long long)c->v[S_QTY]);
		return;
	}
	int64_t q0 = c->v[S_QTY], q;
	__int128 x = (__int128)q0 - r->safety;
	x = x * r->share;
	x = x >= 0 ? x / 100 : -((-x + 99) / 100);	/* floor */
	if (r->hasmax && x > r->max)
		x = r->max;
	if (x < r->min)
		x = r->min;
	if (x < 0)
		x = 0;
	q = (int64_t)x;	/* within [0, q0] or [min, max]: fits */
	if (explaining(c, NULL)) {
		buf_reset(&expl);
		if (r->hasmax)
			buf_addf(&expl, ", max %lld", (long long)r->max);
		explain(file, rec ? rec->line : 0, "allocate to '%s' by rule '%s' (%s:%llu): floor((%lld "
		    "- safety %lld) x %lld%%), min %lld%s, not below 0 = %lld", opt.alloc, r->sku,
		    tab.rulefile, (unsigned long long)r->line, (long long)q0, (long long)r->safety,
		    (long long)r->share, (long long)r->min, expl.s ? expl.s : "", (long long)q);
	}
	cur_setint(c, S_QTY, q);
	st.allocated++;
}

static void
reverse(const char *file, const struct record *rec, struct cur *c)
{
	struct cur *o = &curo;
	struct buf q = BUF_INIT, q2 = BUF_INIT;
	const char *sku = cur_str(c, S_SKU);
	int mapped = 0;

	cur_setstr(c, S_CHANNEL, opt.to);
	if (tab.locfile) {
		const char *loc = cur_str(c, S_LOCATION);
		const struct locrow *l = loc_reverse(&tab, opt.to, loc);
		if (!l && *loc) {
			buf_reset(&why);
			buf_addf(&why, "unmapped: no row of %s for channel %s, location %s", tab.locfile,
			    quoted(&q, opt.to, strlen(opt.to)), quoted(&q2, loc, strlen(loc)));
			buf_release(&q);
			buf_release(&q2);
			if (unmapped(file, rec, why.s))
				emit(rec, c);
			return;
		}
		if (l) {
			if (explaining(c, NULL))
				explain(file, rec ? rec->line : 0, "to '%s': location '%s' -> '%s' (%s:%llu)",
				    opt.to, loc, l->ploc, tab.locfile, (unsigned long long)l->line);
			cur_setstr(c, S_LOCATION, l->ploc);
			mapped = 1;
		}
		c->del[S_PLOC] = 1;
	}
	if (!tab.mapfile) {
		st.mapped += mapped;
		emit(rec, c);
		return;
	}
	const struct maprow *m = map_listings(&tab, opt.to, sku);
	if (!m) {
		buf_reset(&why);
		buf_addf(&why, "unmapped: no row of %s for channel %s, sku %s", tab.mapfile,
		    quoted(&q, opt.to, strlen(opt.to)), quoted(&q2, sku, strlen(sku)));
		buf_release(&q);
		buf_release(&q2);
		if (unmapped(file, rec, why.s))
			emit(rec, c);
		return;
	}
	st.mapped++;
	for (; m; m = m->next ? &tab.map[m->next - 1] : NULL) {
		cur_copy(o, c);
		int64_t qty = floordiv(c->v[S_QTY], m->units);
		if (explaining(c, NULL))
			explain(file, rec ? rec->line : 0, "to '%s': listing item '%s' sku '%s' (%s:%llu): "
			    "floor(%lld / %lld units) = %lld", opt.to, m->item, m->psku, tab.mapfile,
			    (unsigned long long)m->line, (long long)c->v[S_QTY], (long long)m->units,
			    (long long)qty);
		if (*m->psku)
			cur_setstr(o, S_SKU, m->psku);
		if (*m->item)
			cur_setstr(o, S_ITEM, m->item);
		else
			o->set[S_ITEM] = 0, o->del[S_ITEM] = 1;
		cur_setint(o, S_QTY, qty);
		o->set[S_UNITS] = o->set[S_PSKU] = 0;
		o->del[S_UNITS] = o->del[S_PSKU] = 1;
		emit(rec, o);
	}
}

static void
after_bundles(const char *file, const struct record *rec, struct cur *c)
{
	if (opt.alloc)
		allocate(file, rec, c);
	if (opt.to)
		reverse(file, rec, c);
	else
		emit(rec, c);
}

/* ---- bundles ---- */

/*
 * Component quantities per (sku, location), summed; the locations in order
 * of first appearance with the channel first seen there; and the bundle
 * records of the input, held back until every component is known.
 */
struct compq {
	int64_t qty;
	uint32_t loc;		/* id in locs */
};
struct held {
	struct record rec;
	struct fieldvec fv;
	struct buf mem;
	struct cur c;
	const char *file;
	uint32_t bundle, loc;
};
static struct keytab compqty, locs, chans, heldkeys;
static struct held *held;
static size_t nheld, capheld;
static int bundles_on;

int
holding(void)
{
	return tab.nbundles > 0 && !opt.explode;
}

/*
 * --explode: a record of a bundle becomes one record per component that
 * is not itself a bundle, with qty = the bundle's qty times the counts on
 * the way down.  What a sale of a bundle takes from its components.
 */
static void
explode(const char *file, const struct record *rec, const struct cur *c, uint32_t b, int64_t q)
{
	const struct bundle *bu = &tab.bundles[b];
	for (uint32_t i = bu->first; i < bu->first + bu->n; i++) {
		const struct bcomp *k = &tab.comps[i];
		const struct pair *p = keytab_val(&tab.skus, k->sku);
		size_t n;
		const char *key = keytab_keyof(&tab.skus, p, &n);
		int64_t m;
		buf_reset(&cname);	/* keys are not NUL-terminated */
		buf_add(&cname, key, n);
		const char *name = cname.s;
		if (__builtin_mul_overflow(q, k->count, &m)) {
			buf_reset(&why);
			buf_addf(&why, "field 'qty': %lld x %lld pieces of '%s' overflows",
			    (long long)q, (long long)k->count, name);
			reject_record(&rj, file, rec, why.s);
			return;
		}
		if (p->a) {
			explode(file, rec, c, p->a - 1, m);
			continue;
		}
		cur_copy(&curo, c);
		cur_setstr(&curo, S_SKU, name);
		cur_setint(&curo, S_QTY, m);
		curo.set[S_ITEM] = 0;
		curo.del[S_ITEM] = 1;
		if (explaining(&curo, NULL) || explaining(c, NULL))
			explain(file, rec->line, "explode: bundle '%s' qty %lld -> component '%s' "
			    "qty %lld", cur_str(c, S_SKU), (long long)c->v[S_QTY], name, (long long)m);
		emit(rec, &curo);
	}
}

static void
bundles_init(void)
{
	keytab_init(&compqty, sizeof(struct compq));
	keytab_init(&locs, sizeof(struct pair));
	keytab_init(&chans, 0);
	keytab_init(&heldkeys, 0);
	bundles_on = 1;
}

static void
qkey(struct buf *k, uint32_t sku, uint32_t loc)
{
	buf_reset(k);
	buf_add(k, &sku, sizeof sku);
	buf_add(k, &loc, sizeof loc);
}

static uint32_t
loc_id(const char *loc, const char *chan)
{
	int isnew;
	struct pair *p = keytab_intern(&locs, loc, strlen(loc), &isnew);
	if (isnew)
		p->a = *keytab_user(keytab_intern(&chans, chan, strlen(chan), NULL));
	return *keytab_user(p);
}

/* Returns 1 when the record was taken (a bundle, held back). */
static int
gather(const char *file, const struct record *rec, struct cur *c)
{
	const char *sku = cur_str(c, S_SKU);
	struct pair *sp = keytab_find(&tab.skus, sku, strlen(sku));
	struct buf k = BUF_INIT;
	if (!sp)
		return 0;
	uint32_t sid = *keytab_user(sp);
	uint32_t lid = loc_id(cur_str(c, S_LOCATION), cur_str(c, S_CHANNEL));
	if (sp->a) {
		if (nheld == capheld) {
			capheld = capheld ? capheld * 2 : 16;
			held = xrealloc(held, capheld * sizeof *held);
		}
		struct held *h = &held[nheld++];
		memset(h, 0, sizeof *h);
		rec_clone(&h->rec, rec, &h->mem, &h->fv);
		cur_copy(&h->c, c);
		h->file = file;
		h->bundle = sp->a - 1;
		h->loc = lid;
		qkey(&k, sp->a - 1, lid);
		keytab_intern(&heldkeys, k.s, k.len, NULL);
		buf_release(&k);
		return 1;
	}
	qkey(&k, sid, lid);
	int isnew;
	struct compq *q = keytab_intern(&compqty, k.s, k.len, &isnew);
	buf_release(&k);
	q->loc = lid;
	if (__builtin_add_overflow(q->qty, c->v[S_QTY], &q->qty))
		die(EX_DATAERR, "%s:%llu: field 'qty': sum for sku '%s' out of range", file,
		    (unsigned long long)rec->line, sku);
	return 0;
}

/*
 * The quantity of each bundle that is a component of another, remembered
 * for the location last computed: bundles that share sub-bundles would
 * otherwise be walked once per path, exponentially many times.
 */
struct bmemo {
	uint32_t lid1;		/* location id + 1 it was computed for; 0 none */
	int seen;
	int64_t qty;
};
static struct bmemo *bmemo;

/*
 * Quantity of bundle b at location lid: the minimum over its components of
 * floor(component quantity / count), components that are bundles computed
 * the same way, absent components 0; never below 0.  *seen: a component
 * had a record there.  *lim: the limiting component's sku id.
 */
static int64_t
bundle_qty(uint32_t b, uint32_t lid, int *seen, uint32_t *lim, int why)
{
	const struct bundle *bu = &tab.bundles[b];
	int64_t best = INT64_MAX;
	struct buf k = BUF_INIT;
	*lim = UINT32_MAX;
	for (uint32_t i = 0; i < bu->n; i++) {
		const struct bcomp *cp = &tab.comps[bu->first + i];
		const struct pair *p = keytab_val(&tab.skus, cp->sku);
		int64_t have = 0;
		uint32_t sub;
		if (p->a) {
			if (!bmemo)
				bmemo = xcalloc(tab.nbundles, sizeof *bmemo);
			struct bmemo *m = &bmemo[p->a - 1];
			if (m->lid1 != lid + 1) {
				int s = 0;
				m->qty = bundle_qty(p->a - 1, lid, &s, &sub, 0);
				m->seen = s;
				m->lid1 = lid + 1;
			}
			have = m->qty;
			if (m->seen)
				*seen = 1;
		} else {
			qkey(&k, cp->sku, lid);
			const struct compq *q = keytab_find(&compqty, k.s, k.len);
			if (q) {
				have = q->qty;
				*seen = 1;
			}
		}
		int64_t v = floordiv(have, cp->count);
		if (why) {
			size_t n;
			const char *s = keytab_keyof(&tab.skus, keytab_val(&tab.skus, cp->sku), &n);
			buf_addf(&expl, "%s'%.*s' %lld / %lld = %lld", i ? ", " : "", (int)n, s,
			    (long long)have, (long long)cp->count, (long long)v);
		}
		if (v < best) {
			best = v;
			*lim = cp->sku;
		}
	}
	buf_release(&k);
	return best < 0 ? 0 : best;
}

/* The key of record id of kt as a C string (keys are not NUL-terminated);
 * valid until the fourth call after. */
static struct buf names[4];
static unsigned nextname;

static const char *
name_of(struct keytab *kt, uint32_t id)
{
	size_t n;
	const char *k = keytab_keyof(kt, keytab_val(kt, id), &n);
	struct buf *b = &names[nextname++ % 4];
	buf_reset(b);
	buf_add(b, k, n);
	return b->s;
}

static int64_t
bundle_for(const char *file, uint64_t line, uint32_t b, uint32_t lid, int *seen)
{
	uint32_t lim;
	const char *sku = name_of(&tab.skus, tab.bundles[b].sku);
	int ex = opt.explain && !strcmp(sku, opt.explain);
	buf_reset(&expl);
	int64_t q = bundle_qty(b, lid, seen, &lim, ex);
	if (ex)
		explain(file, line, "bundle at location '%s' (%s:%llu): min of %s = %lld, limited by "
		    "'%s'", name_of(&locs, lid), tab.bundlefile,
		    (unsigned long long)tab.bundles[b].line, expl.s ? expl.s : "", (long long)q,
		    lim == UINT32_MAX ? "" : name_of(&tab.skus, lim));
	return q;
}

void
finish_bundles(void)
{
	struct cur c = { 0 };
	struct buf k = BUF_INIT;
	int seen;

	if (!bundles_on)
		return;
	/* the bundle records of the input, in input order */
	for (size_t i = 0; i < nheld; i++) {
		struct held *h = &held[i];
		cur_setint(&h->c, S_QTY, bundle_for(h->file, h->rec.line, h->bundle, h->loc, &seen));
		st.bundles++;
		after_bundles(h->file, &h->rec, &h->c);
	}
	/* and those made from components, by location */
	for (uint32_t l = 0; l < keytab_count(&locs); l++) {
		const struct pair *lp = keytab_val(&locs, l);
		for (uint32_t b = 0; b < tab.nbundles; b++) {
			qkey(&k, b, l);
			if (keytab_find(&heldkeys, k.s, k.len))
				continue;
			seen = 0;
			int64_t q = bundle_for(NULL, 0, b, l, &seen);
			if (!seen)
				continue;
			cur_reset(&c);
			cur_setstr(&c, S_SKU, name_of(&tab.skus, tab.bundles[b].sku));
			const char *ch = name_of(&chans, lp->a);
			if (*ch)
				cur_setstr(&c, S_CHANNEL, ch);
			cur_setstr(&c, S_LOCATION, name_of(&locs, l));
			cur_setint(&c, S_QTY, q);
			st.bundles++;
			after_bundles(NULL, NULL, &c);
		}
	}
	cur_release(&c);
	buf_release(&k);
}

/* ---- one record ---- */

/* A string field of rec into slot s of c; -1 with why set if bad. */
static int
take_str(const struct record *rec, int kid, struct cur *c, int s, int required)
{
	const char *v;
	size_t n;
	int r = rec_str(rec, kid, &sc, &v, &n, &why);
	if (r < 0)
		return -1;
	if (r == 0 && memchr(v, 0, n)) {
		buf_reset(&why);
		buf_addf(&why, "field '%s': contains a NUL character", slot_names[s]);
		return -1;
	}
	if (required && (r == 1 || n == 0)) {
		buf_reset(&why);
		buf_addf(&why, "field '%s': %s", slot_names[s], rec->kidx[kid] < 0 ? "missing" :
		    r == 1 ? "null" : "empty");
		return -1;
	}
	if (r == 0) {
		buf_reset(&c->s[s]);
		buf_add(&c->s[s], v, n);
		c->has[s] = 1;
	}
	return 0;
}

void
process(const char *file, const struct record *rec)
{
	struct cur *cp = &cur0;
	int r;

	if (!bundles_on && holding())
		bundles_init();
	st.in++;
	cur_reset(cp);
	if (take_str(rec, K_SKU, cp, S_SKU, 1) < 0 || take_str(rec, K_CHANNEL, cp, S_CHANNEL, 0) < 0 ||
	    take_str(rec, K_LOCATION, cp, S_LOCATION, 0) < 0 || take_str(rec, K_ITEM, cp, S_ITEM, 0) < 0)
		goto bad;
	if ((r = rec_int(rec, K_QTY, &cp->v[S_QTY], &why)) != 0) {
		if (r == 1) {
			buf_reset(&why);
			buf_adds(&why, rec->kidx[K_QTY] < 0 ? "field 'qty': missing" : "field 'qty': null");
		}
		goto bad;
	}
	cp->has[S_QTY] = 1;
	if (explaining(cp, NULL))
		explain(file, rec->line, "read: channel '%s' location '%s' qty %lld",
		    cur_str(cp, S_CHANNEL), cur_str(cp, S_LOCATION), (long long)cp->v[S_QTY]);
	if (!opt.to && !forward(file, rec, cp))
		return;
	if (opt.explode) {
		const char *sku = cur_str(cp, S_SKU);
		const struct pair *p = keytab_find(&tab.skus, sku, strlen(sku));
		if (p && p->a) {
			st.bundles++;
			explode(file, rec, cp, p->a - 1, cp->v[S_QTY]);
			return;
		}
	}
	if (bundles_on && gather(file, rec, cp))
		return;
	after_bundles(file, rec, cp);
	return;
bad:
	reject_record(&rj, file, rec, why.s);
}

void
xform_release(void)
{
	for (size_t i = 0; i < nheld; i++) {
		fieldvec_release(&held[i].fv);
		buf_release(&held[i].mem);
		cur_release(&held[i].c);
	}
	free(held);
	free(bmemo);
	if (bundles_on) {
		keytab_release(&compqty);
		keytab_release(&locs);
		keytab_release(&chans);
		keytab_release(&heldkeys);
	}
	cur_release(&cur0);
	cur_release(&curo);
	buf_release(&why);
	buf_release(&sc);
	buf_release(&expl);
	buf_release(&cname);
	for (int i = 0; i < 4; i++)
		buf_release(&names[i]);
}
