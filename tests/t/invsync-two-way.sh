# scripts/invsync two-way, end to end against tests/sim: a file master
# ([wms]) and two shops of different platforms, both "mode = two-way": the
# Shopify shop (two locations, a listing sold in cases of 2, a bundle
# listing) and the WooCommerce site (one pool, mapped to W1, the same
# bundle).  Allocation: safety 2 / share 50 on the shop, safety 4 / share 50
# on the site.  Sales land on both between runs and during runs; a run is
# killed with SIGKILL after its sales reached the master and before it
# booked them; a hand edit is made on the shop.  After every run:
#   - no channel shows more than the master minus its safety stock;
#   - the master equals the initial stock minus every sale the channels
#     had made before the run read them (all of them after a quiet run);
#   - no sale was erased: a sale overwritten on a shop would never be read,
#     and the master would stay above initial minus sales;
# and a run that finds the lock held is refused.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

. "$TOP/tests/invsync-world.sh"
# ---- run 1: no baseline yet: the shops get their allocation, nothing
# is taken from the master
run invsync
expect_rc 0 "run 1: exit 0"
expect_err "run 1: one line per channel" <<'X'
invsync: shop: 5 corrections: 5 applied; first run, baseline taken
invsync: woo: 3 corrections: 3 applied; first run, baseline taken
X
# shop: floor((qty - 2) / 2): P-1 19 / 9, P-2 14, P-3 11 pieces = 5 cases,
# KIT min(40, 15) = 15 -> 6; woo: floor((qty - 4) / 2): 18, 13, 5
expect_shops "run 1: the shops show their allocation" <<'X'
P-1@1 19
P-1@2 9
P-2@1 14
CASE-3@1 5
KIT@1 6
W-P1 18
W-P2 13
W-KIT 5
X
invariants "run 1"

# ---- sales on both shops between runs
sell shop P-1 3
sell shop KIT 1
sell woo W-P2 2
sell woo W-KIT 1
run invsync
expect_rc 0 "run 2: exit 0"
expect_err_has "run 2: the shop's sales go to the master" \
	"invsync: shop: 1 corrections: 1 applied; moved since the last push: sold P-1@W1 -4, P-2@W1 -2 (applied to wms)"
expect_err_has "run 2: the site's sales too" "invsync: woo: 2 corrections: 2 applied; moved since the last push: sold P-1@W1 -1, P-2@W1 -4 (applied to wms)"
# master: P-1 W1 40 - 3 - 1 - 1 = 35, P-2 W1 30 - 2 - 2 - 2 = 24
[ "$(jq -c 'select(.location == "W1" and (.sku == "P-1" or .sku == "P-2")) | .qty' master.ndjson | tr '\n' ' ')" = "35 24 " ] &&
	ok "run 2: the master lost exactly what was sold" ||
	notok "run 2: the master lost exactly what was sold" "$(cat master.ndjson)"
invariants "run 2"
# shop P-1 floor(33/2) = 16, P-2 11, KIT min(35, 12) = 12 -> 5;
# woo P-1 15, P-2 10, KIT 4
expect_shops "run 2: both shops lowered within the run" <<'X'
P-1@1 16
P-1@2 9
P-2@1 11
CASE-3@1 5
KIT@1 5
W-P1 15
W-P2 10
W-KIT 4
X

# ---- a sale during the run, on the shop, while its corrections are
# pushed; and one on the site between runs
mkdir wrap
cat > wrap/invpush <<X
#!/bin/sh
case " \$* " in
*" shop "*) python3 -c 'import urllib.request as u
u.urlopen(u.Request("http://127.0.0.1:$PORT/_sim/sale", method="POST",
    data=b"{\"platform\":\"shopify\",\"shop\":\"demo\",\"sku\":\"CASE-3\",\"location\":\"$S/Location/1\",\"qty\":1}"))' ;;
esac
exec "$INVKIT_BIN/invpush" "\$@"
X
chmod +x wrap/invpush
sell woo W-P1 2
cp sold.ndjson sold-before-3.ndjson
{ PATH=$T/wrap:$PATH run invsync; } 2> /dev/null	# not the shell's "Killed"
expect_rc 0 "run 3: exit 0"
echo '{"sku":"P-3","location":"W1","qty":2}' >> sold.ndjson
invariants "run 3 (the sale made during it not yet read)" sold-before-3.ndjson

# ---- a quiet run: the sale made during run 3 reaches the master
run invsync
expect_rc 0 "run 4: exit 0"
expect_err_has "run 4: the case sold during run 3 is read now" "invsync: shop: "
invariants "run 4"
[ "$(jq -c 'select(.sku == "P-3") | .qty' master.ndjson)" = 22 ] &&
	ok "run 4: one case = 2 pieces off the master" || notok "run 4: one case = 2 pieces off the master" "$(cat master.ndjson)"

# ---- a run that finds the lock held does nothing
sell shop P-2 1
run flock "$XDG_STATE_HOME/invkit/invsync.lock" invsync
expect_rc 75 "overlap: exit 75"
expect_err "overlap: quiet" < /dev/null
cp sold.ndjson sold-locked.ndjson
head -n -1 sold.ndjson > sold-before-lock.ndjson
invariants "overlap: nothing applied" sold-before-lock.ndjson

# ---- killed (SIGKILL) after the sales reached the master, before they
# were booked: the next run finishes the push from its journal and does
# not apply them twice
cat > wrap/invpush <<X
#!/bin/sh
case " \$* " in
*" wms "*) "$INVKIT_BIN/invpush" "\$@"; kill -9 \$PPID; exit 0 ;;
esac
exec "$INVKIT_BIN/invpush" "\$@"
X
{ PATH=$T/wrap:$PATH run invsync; } 2> /dev/null	# not the shell's "Killed"
[ "$rc" -eq 137 ] || [ "$rc" -eq 9 ] && ok "killed: the run died" || notok "killed: the run died" "rc $rc"
[ -f "$XDG_STATE_HOME/invkit/sync/shop/pending" ] && ok "killed: the push is marked pending" ||
	notok "killed: the push is marked pending"
invariants "killed: the sale reached the master once"
rm -rf "$TMPDIR"/invsync.*	# what the killed run could not clean
run invsync -v
expect_rc 0 "after the kill: exit 0"
expect_err_has "after the kill: the push was finished first" "invsync: shop: finished the master push of run"
invariants "after the kill: applied once"
[ ! -f "$XDG_STATE_HOME/invkit/sync/shop/pending" ] && ok "after the kill: nothing pending" ||
	notok "after the kill: nothing pending"

# ---- killed after the push to the master was marked pending, before
# invpush had its input (no journal ready: nothing was sent): the next run
# must not book the sales as applied, it applies them (the soak once lost
# a sale this way)
sell shop P-2 2
cat > wrap/invpush <<X
#!/bin/sh
case " \$* " in
*" wms "*) kill -9 \$PPID; exit 0 ;;
esac
exec "$INVKIT_BIN/invpush" "\$@"
X
{ PATH=$T/wrap:$PATH run invsync; } 2> /dev/null	# not the shell's "Killed"
[ "$rc" -eq 137 ] || [ "$rc" -eq 9 ] && ok "killed before sending: the run died" ||
	notok "killed before sending: the run died" "rc $rc"
[ "$(cat "$XDG_STATE_HOME/invkit/sync/shop/pending" 2>/dev/null)" = master ] &&
	ok "killed before sending: marked pending" || notok "killed before sending: marked pending"
head -n -1 sold.ndjson > sold-before-unsent.ndjson
invariants "killed before sending: nothing applied" sold-before-unsent.ndjson
rm -rf "$TMPDIR"/invsync.*
run invsync -v
expect_rc 0 "after the kill before sending: exit 0"
expect_err_has "after the kill before sending: the sale applied now" "sold P-2@W1 -2 (applied to wms)"
invariants "after the kill before sending: the sale not lost"
[ ! -f "$XDG_STATE_HOME/invkit/sync/shop/pending" ] && ok "after the kill before sending: nothing pending" ||
	notok "after the kill before sending: nothing pending"

# ---- killed after the shop's corrections were applied, before they were
# booked: the next run books them from the journal and does not take our
# own writes for sales
sell woo W-P2 3
cat > wrap/invpush <<X
#!/bin/sh
case " \$* " in
*" shop "*) "$INVKIT_BIN/invpush" "\$@"; kill -9 \$PPID; exit 0 ;;
esac
exec "$INVKIT_BIN/invpush" "\$@"
X
{ PATH=$T/wrap:$PATH run invsync; } 2> /dev/null	# not the shell's "Killed"
[ "$rc" -eq 137 ] || [ "$rc" -eq 9 ] && ok "killed in the shop's push: the run died" ||
	notok "killed in the shop's push: the run died" "rc $rc"
[ "$(cat "$XDG_STATE_HOME/invkit/sync/shop/pending" 2>/dev/null)" = channel ] &&
	ok "killed in the shop's push: marked pending" || notok "killed in the shop's push: marked pending"
rm -rf "$TMPDIR"/invsync.*
run invsync -v
expect_rc 0 "after the second kill: exit 0"
expect_err_has "after the second kill: the push was finished first" "invsync: shop: finished the channel push of run"
if grep -q 'invsync: shop: .*sold' "$T/err"; then
	notok "after the second kill: our own writes not taken for sales" "$(grep 'invsync: shop' "$T/err")"
else
	ok "after the second kill: our own writes not taken for sales"
fi
invariants "after the second kill"

# ---- a dry run: sales are reported, not applied; nothing written
sell shop P-1 1 2
ctl POST log/clear '{}' > /dev/null
cp master.ndjson master-before-dry.ndjson
run invsync -n
expect_rc 0 "dry run: exit 0"
expect_err_has "dry run: the sale reported, not applied" "sold P-1@W2 -1 (not applied to wms: dry run)"
cmp -s master.ndjson master-before-dry.ndjson && ok "dry run: the master untouched" ||
	notok "dry run: the master untouched"
[ "$(ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind != "sale")] | length')" -eq 0 ] &&
	ok "dry run: nothing written to the shops" || notok "dry run: nothing written to the shops"
run invsync
expect_rc 0 "after the dry run: exit 0"
expect_err_has "after the dry run: the sale applied now" "sold P-1@W2 -1 (applied to wms)"
invariants "after the dry run"

# ---- a hand edit on the shop (P-1 at location 2 raised by 5): reported,
# overwritten, not taken into the master
ctl GET state | jq '.shopify.demo.items[0].levels["gid://shopify/Location/2"] += 5' > edited.json
ctl POST state "$(cat edited.json)" > /dev/null
run invsync
expect_rc 0 "hand edit: exit 0"
expect_err_has "hand edit: reported" "edited by hand, overwritten: P-1@W2 8->13"
invariants "hand edit"
[ "$(shops | grep "^P-1@2 ")" = "P-1@2 8" ] && ok "hand edit: overwritten" ||
	notok "hand edit: overwritten" "$(shops | grep '^P-1@2 ')"

# ---- a quiet run: nothing moves, nothing written
ctl POST log/clear '{}' > /dev/null
run invsync
expect_rc 0 "quiet: exit 0"
expect_err "quiet: both in step" <<'X'
invsync: shop: in step, nothing to do (5 records)
invsync: woo: in step, nothing to do (3 records)
X
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] && ok "quiet: nothing written" ||
	notok "quiet: nothing written"
invariants "quiet"
