# scripts/invsync, one-way, end to end against tests/sim: a file master
# ([wms], master = yes) and the sample Shopify shop, with allocation rules
# (safety 2, share 50, one exact rule with a cap), a map (one listing is a
# case of 2) and a location map.  A dry run writes nothing; one run makes
# the shop show exactly the allocation; a second finds nothing to do; a run
# that finds the lock held exits 75 quietly; a master that cannot be pulled
# stops the run before any push; a sale that lands between the pull and the
# push, or between runs, is kept.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

start_sim --sample 6 --seed 3

printf 'shpat_sim_demo\n' > shop.token
chmod 600 shop.token
cat > invkit.conf <<X
; the warehouse, the master of every channel
[wms]
type = file
path = master.ndjson
master = yes

[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token
rules = rules.csv          ; allocation
map = map.csv
location_map = loc.csv
X
L1=gid://shopify/Location/1 L2=gid://shopify/Location/2 I=gid://shopify/InventoryItem
cat > rules.csv <<'X'
channel,sku,safety,share,max,min
shop,*,2,50,,
shop,SKU-00005,2,50,20,
X
cat > map.csv <<X
channel,item,platform_sku,sku,units
shop,${I}/1001,SKU-00001,SKU-00001,1
shop,${I}/1002,SKU-00002,SKU-00002,1
shop,${I}/1003,SKU-00003,C-3,2
shop,${I}/1004,SKU-00004,SKU-00004,1
shop,${I}/1005,SKU-00005,SKU-00005,1
shop,${I}/1006,SKU-00006,SKU-00006,1
X
cat > loc.csv <<X
channel,platform_location,location
shop,$L1,W1
shop,$L2,W2
X
# ONLY-WMS is not listed on the shop: dropped by the reverse mapping
cat > master.ndjson <<'X'
{"sku":"SKU-00001","location":"W1","qty":12}
{"sku":"SKU-00001","location":"W2","qty":21}
{"sku":"SKU-00002","location":"W1","qty":9}
{"sku":"SKU-00002","location":"W2","qty":1}
{"sku":"C-3","location":"W1","qty":30}
{"sku":"C-3","location":"W2","qty":17}
{"sku":"SKU-00004","location":"W1","qty":4}
{"sku":"SKU-00004","location":"W2","qty":8}
{"sku":"SKU-00005","location":"W1","qty":50}
{"sku":"SKU-00006","location":"W1","qty":3}
{"sku":"SKU-00006","location":"W2","qty":6}
{"sku":"ONLY-WMS","location":"W1","qty":100}
X

# the shop as "item location qty" lines, sorted
shop_state() {
	ctl GET state | jq -r '.shopify.demo.items[] | .id as $i |
		.levels | to_entries[] | "\($i | sub(".*/"; "")) \(.key | sub(".*/"; "")) \(.value)"' | sort
}
writes() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind != "sale")] | length'; }
# master edits: set_master SKU LOCATION QTY
set_master() {
	jq -c --arg s "$1" --arg l "$2" --argjson q "$3" \
		'if .sku == $s and .location == $l then .qty = $q else . end' master.ndjson > m.tmp &&
		mv m.tmp master.ndjson
}
expect_shop() {
	local got; got=$(shop_state)
	[ "$got" = "$(cat)" ] && ok "$1" || notok "$1" "$got"
}

run invsync --help
expect_rc 0 "--help: exit 0"
expect_out_has "--help: usage" "usage: invsync"

shop_state > before

# a dry run plans and writes nothing
ctl POST log/clear '{}' > /dev/null
run invsync --dry-run
expect_rc 0 "dry run: exit 0"
expect_err "dry run: one summary line" <<'X'
invsync: shop: dry run: 10 corrections: 10 planned; first run, no baseline yet
X
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] &&
	ok "dry run: nothing written" || notok "dry run: nothing written"
expect_shop "dry run: the shop is as it was" < before

# one run: the shop shows the allocation, exactly:
# max(0, floor((qty - 2) * 50 / 100)), SKU-00005 capped at 20, C-3 in cases of 2
run invsync
expect_rc 0 "first run: exit 0"
expect_err "first run: one summary line" <<'X'
invsync: shop: 10 corrections: 10 applied; first run, baseline taken
X
expect_empty_out "first run: nothing on stdout"
expect_shop "first run: the shop shows the allocation" <<'X'
1001 1 5
1001 2 9
1002 1 3
1002 2 0
1003 1 7
1003 2 3
1004 1 1
1004 2 3
1005 1 20
1006 1 0
1006 2 2
X
ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.sku == "ONLY-WMS")] | length == 0' > /dev/null &&
	ok "first run: an SKU the shop does not list is not pushed" ||
	notok "first run: an SKU the shop does not list is not pushed"

# a second run finds nothing to do
ctl POST log/clear '{}' > /dev/null
run invsync
expect_rc 0 "second run: exit 0"
expect_err "second run: nothing to do" <<'X'
invsync: shop: in step, nothing to do (11 records); incremental: 0 SKUs read
X
[ "$(writes)" -eq 0 ] && ok "second run: nothing written" || notok "second run: nothing written"

# a run while another holds the lock: 75, silent, nothing done
set_master SKU-00002 W1 13
ctl POST log/clear '{}' > /dev/null
mkdir -p "$XDG_STATE_HOME/invkit"
run flock "$XDG_STATE_HOME/invkit/invsync.lock" invsync
expect_rc 75 "lock held: exit 75"
expect_err "lock held: quiet" < /dev/null
expect_empty_out "lock held: nothing on stdout"
[ "$(writes)" -eq 0 ] && ok "lock held: nothing written" || notok "lock held: nothing written"
set_master SKU-00002 W1 9

# a master that cannot be pulled stops the run before any push
cat > alt.conf <<X
[wms2]
type = file
path = missing.ndjson

[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token
X
ctl POST log/clear '{}' > /dev/null
run invsync --config alt.conf --master wms2
expect_rc 66 "missing master: exit 66 (invpull's)"
expect_err_has "missing master: says so" "invsync: master wms2: pull failed (exit 66); no channel touched"
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] &&
	ok "missing master: nothing written" || notok "missing master: nothing written"
[ "$(ctl GET 'log?kind=requests' | jq '.requests | length')" -eq 0 ] &&
	ok "missing master: the shop not even read" || notok "missing master: the shop not even read"

# configuration mistakes
run invsync nosuch
expect_rc 78 "unknown channel: exit 78"
expect_err "unknown channel: says so" <<'X'
invsync: invkit.conf: no channel 'nosuch' (a [nosuch] section)
X
run invsync wms
expect_rc 64 "the master as a channel: exit 64"
run invsync --bogus
expect_rc 64 "unknown option: exit 64"

# a sale lands between the channel's pull and the push (an invpush wrapper
# sells 1 of item 1001 at location 1 first); the master now allocates 7
# there: the push moves by the delta and the shop ends at 7 - 1
set_master SKU-00001 W1 16
mkdir wrap
cat > wrap/invpush <<X
#!/bin/sh
python3 -c 'import urllib.request as u
u.urlopen(u.Request("http://127.0.0.1:$PORT/_sim/sale", method="POST",
    data=b"{\"platform\":\"shopify\",\"shop\":\"demo\",\"item\":\"$I/1001\",\"location\":\"$L1\",\"qty\":1}"))'
exec "$INVKIT_BIN/invpush" "\$@"
X
chmod +x wrap/invpush
ctl POST log/clear '{}' > /dev/null
PATH=$T/wrap:$PATH run invsync
expect_rc 0 "sale mid-run: exit 0"
expect_err "sale mid-run: one correction, read alone" <<'X'
invsync: shop: 1 corrections: 1 applied; incremental: 1 SKUs read
X
[ "$(shop_state | grep '^1001 1 ')" = "1001 1 6" ] && ok "sale mid-run: kept (7 - 1 = 6)" ||
	notok "sale mid-run: kept (7 - 1 = 6)" "$(shop_state | grep '^1001 1 ')"
ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.kind == "sale")] | length == 1' > /dev/null &&
	ok "sale mid-run: the sale is in the write log" || notok "sale mid-run: the sale is in the write log"

# the warehouse ships that order (master 16 -> 15, allocation 6): in step
ctl POST log/clear '{}' > /dev/null
set_master SKU-00001 W1 15
run invsync
expect_rc 0 "master catches up: exit 0"
expect_err_has "master catches up: nothing to do" "in step, nothing to do"
[ "$(writes)" -eq 0 ] && ok "master catches up: nothing written" || notok "master catches up: nothing written"

# a sale between runs (2 of 1004 at location 2: 3 -> 1) that the master
# records too (8 -> 6, allocation 2): the next run moves the shop by +1
ctl POST sale "{\"platform\":\"shopify\",\"shop\":\"demo\",\"item\":\"$I/1004\",
	\"location\":\"$L2\",\"qty\":2}" > /dev/null
set_master SKU-00004 W2 6
ctl POST log/clear '{}' > /dev/null
run invsync -v
expect_rc 0 "sale between runs: exit 0"
expect_err_has "verbose: a line per step" "invsync: shop: reverse-map: ok (11 records)"
ctl GET 'log?kind=writes' | jq -e '[.writes[]] | length == 1 and .[0].delta == 1' > /dev/null &&
	ok "sale between runs: one write, by +1" || notok "sale between runs: one write, by +1" \
	"$(ctl GET 'log?kind=writes')"
[ "$(shop_state | grep '^1004 2 ')" = "1004 2 2" ] && ok "sale between runs: the shop shows 2" ||
	notok "sale between runs: the shop shows 2" "$(shop_state | grep '^1004 2 ')"

# a channel that fails does not stop the others; the exit is the worst step's
printf 'shpat_not_the_token\n' > bad.token
chmod 600 bad.token
{ cat invkit.conf; cat <<X; } > two.conf

[bad]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/bad.token
X
set_master SKU-00006 W2 8
ctl POST log/clear '{}' > /dev/null
run invsync -c two.conf
expect_rc 77 "a refused channel: exit 77"
expect_err_has "a refused channel: stopped at its pull" "invsync: bad: stopped at pull (exit 77); nothing pushed"
expect_err_has "a refused channel: the other one synced" "invsync: shop: 1 corrections: 1 applied"
[ "$(shop_state | grep '^1006 2 ')" = "1006 2 3" ] && ok "a refused channel: the shop shows 3" ||
	notok "a refused channel: the shop shows 3" "$(shop_state | grep '^1006 2 ')"

# full passes: a hand edit on a key whose want does not move (1002 at
# location 1 raised from 3 to 9) is not seen by an incremental run, which
# reads only what changed; --full reads everything, reports it and puts it back
edit_shop() {
	ctl GET state | jq --arg i "$I/$1" --arg l "gid://shopify/Location/$2" --argjson q "$3" \
		'(.shopify.demo.items[] | select(.id == $i) | .levels[$l]) = $q' > st.json
	ctl POST state "$(cat st.json)" > /dev/null
}
edit_shop 1002 1 9
ctl POST log/clear '{}' > /dev/null
run invsync
expect_rc 0 "incremental: exit 0"
expect_err "incremental: reads nothing, sees nothing" <<'X'
invsync: shop: in step, nothing to do (11 records); incremental: 0 SKUs read
X
[ "$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.path | test("graphql"))] | length')" -eq 0 ] &&
	ok "incremental: not one request to the shop" || notok "incremental: not one request to the shop"
[ "$(shop_state | grep '^1002 1 ')" = "1002 1 9" ] && ok "incremental: the edit is still there" ||
	notok "incremental: the edit is still there"
run invsync --full
expect_rc 0 "--full: exit 0"
expect_err "--full: the hand edit reported and overwritten" <<'X'
invsync: shop: 1 corrections: 1 applied; moved since the last push: edited by hand, overwritten: SKU-00002@W1 3->9
X
[ "$(shop_state | grep '^1002 1 ')" = "1002 1 3" ] && ok "--full: put back" || notok "--full: put back"

# a full pass is due once full_every (24h by default) has passed since the
# last one; full_every = 0 makes every run a full pass
edit_shop 1002 1 8
books=$XDG_STATE_HOME/invkit/sync/shop
echo $(( $(date +%s) - 86401 )) > "$books/full"
run invsync
expect_err_has "a day later: a full pass" "edited by hand, overwritten: SKU-00002@W1 3->8"
[ $(( $(date +%s) - $(cat "$books/full") )) -lt 60 ] && ok "a day later: the full pass noted" ||
	notok "a day later: the full pass noted"
edit_shop 1002 1 7
sed 's/^\[shop\]$/[shop]\nfull_every = 0/' invkit.conf > every.conf
run invsync -c every.conf
expect_err_has "full_every = 0: a full pass" "edited by hand, overwritten: SKU-00002@W1 3->7"
sed 's/^\[shop\]$/[shop]\nfull_every = 1x/' invkit.conf > badevery.conf
run invsync -c badevery.conf
expect_rc 78 "full_every bad: exit 78"
expect_err_has "full_every bad: says so" "[shop] full_every = 1x: a number of s, m, h or d"

# a master change on one SKU: an incremental run reads that SKU only
set_master SKU-00006 W1 9
ctl POST log/clear '{}' > /dev/null
run invsync
expect_rc 0 "incremental, one SKU: exit 0"
expect_err "incremental, one SKU: read and corrected" <<'X'
invsync: shop: 1 corrections: 1 applied; incremental: 1 SKUs read
X
[ "$(shop_state | grep '^1006 1 ')" = "1006 1 3" ] && ok "incremental, one SKU: the shop shows 3" ||
	notok "incremental, one SKU: the shop shows 3" "$(shop_state | grep '^1006 1 ')"

# nothing left behind in TMPDIR
[ -z "$(ls -A "$TMPDIR")" ] && ok "temporary files removed" || notok "temporary files removed" "$(ls -A "$TMPDIR")"
