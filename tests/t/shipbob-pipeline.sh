# The ShipBob driver end to end against tests/sim (platform plugin
# tests/sim/platforms/shipbob.py).  ShipBob is a 3PL: pull only.  The pull
# is exact (fulfillable per fulfillment center, and the other states when
# asked); a pull of many pages stays inside the sliding window without a
# single 429 (and a driver told a far larger limit does get 429s, which
# proves the check can fail); injected 429s wait x-retry-after; a broken
# page fails the pull with nothing on stdout; a bad token exits 77 without
# the token ever printed; invpush is refused before it reads, journals or
# sends anything; and ShipBob as the MASTER of another channel converges:
# invpull shipbob | invdiff - <(invpull shop) | invpush shop.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 1200 --seed 5

printf 'sb_sim_demo\n' > sb.token
printf 'sb_WRONG_t0ken_9f3c\n' > bad.token
chmod 600 sb.token bad.token
base=http://127.0.0.1:$PORT/shipbob/demo
cat > invkit.conf <<X
[sb]
type = shipbob
base_url = $base
token_file = $T/sb.token

[sb3]
type = shipbob
base_url = $base
token_file = $T/sb.token
states = fulfillable, on_hand, committed
api_version = 2026-01

[paced]
type = shipbob
base_url = $base
token_file = $T/sb.token
page_size = 10
rate_limit = 60
rate_window = 2

[greedy]
type = shipbob
base_url = $base
token_file = $T/sb.token
page_size = 10
rate_limit = 100000
rate_window = 1

[bad]
type = shipbob
base_url = $base
token_file = $T/bad.token

[shop]
type = file
path = shop.ndjson
X

# what the account holds, per fulfillment center: fulfillable = on hand - committed
ctl GET state | jq -c '.shipbob.demo.items[] | . as $i | .levels | to_entries[] |
	{item: "\($i.inventory_id)", sku: $i.sku, location: .key,
	 f: (.value.on_hand - .value.committed), o: .value.on_hand, c: .value.committed}' > levels
jq -c '{item, sku, location, qty: .f}' levels | sort > want-f
# pages of the list read since the last reset (the request log's inventory-level/locations)
npages() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["inventory-level/locations"])] | length'; }
n429() { ctl GET 'log?kind=requests' | jq "[.requests[] | select(.status == 429 and .fault $1 null)] | length"; }

# ---- pull exact
run invpull -q sb
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > got
cmp -s want-f got && ok "invpull: every item at every fulfillment center, fulfillable ($(wc -l < got) records)" ||
	notok "invpull: every item at every fulfillment center, fulfillable" "$(diff want-f got | head)"
[ "$(jq -r '"\(.state) \(.channel)"' "$T/out" | sort -u)" = "fulfillable sb" ] &&
	ok "invpull: state fulfillable, channel sb" || notok "invpull: state fulfillable, channel sb"
[ "$(npages)" -eq 12 ] && ok "invpull: 12 pages of 100 (1200 items)" || notok "invpull: 12 pages" "$(npages)"
ctl GET 'log?kind=requests' | jq -r '.requests[0].path' > got
echo "/shipbob/demo/2026-07/inventory-level/locations?PageSize=100" | cmp -s - got &&
	ok "invpull: api 2026-07 by default, PageSize 100" || notok "invpull: api 2026-07, PageSize 100" "$(cat got)"

# ---- multi-state, api_version 2026-01, and the next links as absolute URLs
ctl POST config '{"sb_next_absolute": 1}' > /dev/null
ctl DELETE log > /dev/null
run invpull -q sb3
expect_rc 0 "states: exit 0"
jq -c '({item, sku, location, qty: .f, state: "fulfillable"}), ({item, sku, location, qty: .o, state: "on_hand"}),
	({item, sku, location, qty: .c, state: "committed"})' levels | sort > want3
jq -c '{item, sku, location, qty, state}' "$T/out" | sort > got
cmp -s want3 got && ok "states: fulfillable, on_hand and committed per center ($(wc -l < got) records)" ||
	notok "states: fulfillable, on_hand and committed per center" "$(diff want3 got | head)"
ctl GET 'log?kind=requests' | jq -r '[.requests[] | .path | split("?")[0]] | unique | .[]' > got
echo "/shipbob/demo/2026-01/inventory-level/locations" | cmp -s - got &&
	ok "states: every page from 2026-01 (absolute next links followed)" || notok "states: 2026-01 pages" "$(cat got)"
ctl POST config '{"sb_next_absolute": 0}' > /dev/null

# ---- the sliding window: 60 requests per 2 s; 120 pages of 10
ctl POST reset '{}' > /dev/null
ctl POST config '{"sb_limit": 60, "sb_window_ms": 2000}' > /dev/null
t0=$(date +%s%N)
run invpull -q paced
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
expect_rc 0 "paced: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > got
cmp -s want-f got && ok "paced: the pull is exact" || notok "paced: the pull is exact" "$(diff want-f got | head -5)"
p=$(npages)
peak=$(ctl GET 'log?kind=requests' | jq '[.requests[].notes[]? | select(startswith("window ")) |
	ltrimstr("window ") | split("/")[0] | tonumber] | max')
[ "$p" -eq 120 ] && [ "$(n429 '==')" -eq 0 ] &&
	ok "paced: 120 pages, not one 429 (at most $peak in any 2 s window, $ms ms)" ||
	notok "paced: 120 pages, no 429" "$p pages, $(n429 '==') refused, peak $peak"
# the bucket: 4 at once, then 27 a second: (120 - 4) / 27 s at the least
[ "$ms" -ge 4000 ] && ok "paced: kept to the window's pace ($ms ms for 120 requests)" ||
	notok "paced: kept to the window's pace" "$ms ms"
# the same pull, told a limit far above the real one: the window does refuse it
ctl POST reset '{}' > /dev/null
ctl POST config '{"sb_limit": 60, "sb_window_ms": 2000}' > /dev/null
run invpull -q greedy
expect_rc 0 "unpaced: exit 0 (after waiting x-retry-after)"
jq -c '{item, sku, location, qty}' "$T/out" | sort > got
r=$(n429 '==')
cmp -s want-f got && [ "$r" -ge 1 ] && ok "unpaced: the window refuses an unpaced pull ($r 429s), which still ends exact" ||
	notok "unpaced: 429s, and exact" "$r 429s; $(diff want-f got | head -3)"

# ---- throttled by another user of the account: two 429s, x-retry-after 1
ctl POST reset '{}' > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":2,"retry_after":1,"match":{"platform":"shipbob","op":"inventory-level/locations"}}]}' > /dev/null
t0=$(date +%s%N)
run invpull -q sb
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
expect_rc 0 "429: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > got
cmp -s want-f got && ok "429: the pull is exact" || notok "429: the pull is exact" "$(diff want-f got | head -5)"
[ "$(n429 '!=')" -eq 2 ] && [ "$(npages)" -eq 14 ] && [ "$ms" -ge 1900 ] &&
	ok "429: each refused page asked again after x-retry-after ($ms ms)" ||
	notok "429: asked again after x-retry-after" "$(n429 '!=') faults, $(npages) pages, $ms ms"
ctl DELETE faults > /dev/null

# ---- a broken page: the pull fails, never a short list
ctl POST faults '{"rules":[{"kind":"deep","depth":3,"skip":2,"next":1,"match":{"platform":"shipbob"}}]}' > /dev/null
run invpull -q sb
expect_rc 65 "broken page: exit 65"
expect_empty_out "broken page: nothing on stdout"
expect_err "broken page: the page and the problem named" <<X
invpull: [sb]: GET /shipbob/demo/2026-07/inventory-level/locations: the answer is not a page of inventory levels (no items)
X
ctl DELETE faults > /dev/null
# and a 503 on one page is asked again
ctl POST faults '{"rules":[{"kind":"503","skip":4,"next":1,"match":{"platform":"shipbob"}}]}' > /dev/null
run invpull -q sb
jq -c '{item, sku, location, qty}' "$T/out" | sort > got
[ "$rc" -eq 0 ] && cmp -s want-f got && ok "503: asked again, the pull is exact" || notok "503: asked again" "rc $rc"
ctl DELETE faults > /dev/null

# ---- bad credentials: 77, the token never printed
run invpull -q bad
expect_rc 77 "bad token: exit 77"
expect_empty_out "bad token: nothing on stdout"
expect_err "bad token: the refusal explained" <<X
invpull: [bad]: GET /shipbob/demo/2026-07/inventory-level/locations: HTTP 401: Unauthorized (check the personal access token in token_file: ShipBob, Integrations, API Tokens)
X
run invpull -v bad
if grep -rqF -e sb_WRONG_t0ken_9f3c -e sb_sim_demo "$T/out" "$T/err"; then
	notok "bad token: the token is not in any output, even with -v"
else
	ok "bad token: the token is not in any output, even with -v"
fi

# ---- invpush: refused before anything is read, locked, journalled or sent
ctl POST reset '{}' > /dev/null
invpull -q sb > have.ndjson
printf '{"sku":"SB-00001","location":"156","qty":3}\n' > want.ndjson
invdiff -q want.ndjson have.ndjson > corr.ndjson
before=$(ctl GET 'log?kind=requests' | jq '.requests | length')
for args in "sb" "--dry-run sb"; do
	STDIN=corr.ndjson run invpush $args
	expect_rc 78 "invpush $args: exit 78"
	expect_empty_out "invpush $args: no results"
	expect_err "invpush $args: refused, saying why" <<X
invpush: invkit.conf:1: [sb]: ShipBob is a 3PL: its stock is read, never written (type shipbob is pull-only: pull it as the master and push to the channels it feeds)
X
done
after=$(ctl GET 'log?kind=requests' | jq '.requests | length')
[ "$before" -eq "$after" ] && [ ! -e "$T/state" ] &&
	ok "invpush: no request sent, no journal written" || notok "invpush: nothing sent or written" "$before/$after requests; $(ls -R "$T/state" 2>&1 | head -3)"

# ---- ShipBob as the MASTER of another channel
# the shop (with item ids of its own) shows every third record of the pull, off
# by one or two, lacks the others, and has one the 3PL does not (it goes to 0)
jq -c 'select(.state == "fulfillable")' have.ndjson | awk 'NR % 3 == 0' |
	jq -c '{sku, item: "shop-\(.sku)-\(.location)", location, qty: (.qty + (.qty % 2) + 1)}' > shop.ndjson
printf '{"sku":"GONE-1","item":"shop-GONE-1","location":"156","qty":4}\n' >> shop.ndjson
cp shop.ndjson shop.before
# corrections: every record of the shop (each is off), and each ShipBob record
# above 0 that the shop lacks (one at 0 that it lacks is already right)
ncorr=$(jq -sr --slurpfile s shop.before '($s | map("\(.sku)@\(.location)")) as $k |
	[.[] | select(.qty > 0 and ("\(.sku)@\(.location)" | IN($k[]) | not))] | length + ($s | length)' want-f)
invpull -q sb | invdiff -q - <(invpull -q shop) | invpush -q --max-zero 100 shop > "$T/out" 2> "$T/err"
st="${PIPESTATUS[*]}"
[ "$st" = "0 0 0" ] && ok "master: invpull sb | invdiff - <(invpull shop) | invpush shop: every stage exits 0" ||
	notok "master: invpull sb | invdiff - <(invpull shop) | invpush shop" "exits $st; $(head -3 "$T/err")"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(wc -l < "$T/out")" -eq "$ncorr" ] &&
	ok "master: every correction applied ($(wc -l < "$T/out"))" ||
	notok "master: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c) $(head -3 "$T/err")"
# what ShipBob has above 0, the shop now has; all else the shop shows at 0
jq -c 'select(.qty > 0) | {sku, location, qty}' want-f | sort > want-shop
jq -c 'select(.qty > 0) | {sku, location, qty}' shop.ndjson | sort > got
z=$(jq -sr --slurpfile w want-f '($w | map(select(.qty > 0) | "\(.sku)@\(.location)")) as $k |
	[.[] | select(.qty == 0 and ("\(.sku)@\(.location)" | IN($k[])))] | length' shop.ndjson)
g=$(jq -r 'select(.sku == "GONE-1") | .qty' shop.ndjson)
cmp -s want-shop got && [ "$z" -eq 0 ] && [ "$g" = 0 ] && ok "master: the shop's file now equals ShipBob's fulfillable stock" ||
	notok "master: the shop equals ShipBob" "$(diff want-shop got | head)"
invpull -q sb | invdiff -q -e - <(invpull -q shop) > diff
[ $? -eq 0 ] && [ ! -s diff ] && ok "master: a second diff finds nothing" || notok "master: a second diff finds nothing" "$(head -3 diff)"
# an order at the 3PL commits 2 units: the next sync takes the shop down by 2, and only that
read -r sku loc q < <(jq -r 'select(.qty > 2) | "\(.sku) \(.location) \(.qty)"' want-f | head -1)
ctl POST sale "{\"platform\":\"shipbob\",\"shop\":\"demo\",\"sku\":\"$sku\",\"location\":$loc,\"qty\":2}" > /dev/null
invpull -q sb | invdiff -q - <(invpull -q shop) | invpush -q shop > "$T/out" 2> "$T/err"
jq -c '{sku, location, from, to, status}' "$T/out" > got
echo "{\"sku\":\"$sku\",\"location\":\"$loc\",\"from\":$q,\"to\":$((q - 2)),\"status\":\"applied\"}" | cmp -s - got &&
	ok "master: an order at ShipBob reaches the shop (one correction, $q to $((q - 2)))" ||
	notok "master: an order at ShipBob reaches the shop" "$(cat got)"

# ---- configuration refused with the line named
cat > bad.conf <<X2
[s1]
type = shipbob
base_url = $base
token_file = $T/sb.token
states = fulfillable, sold

[s2]
type = shipbob
base_url = $base
token_file = $T/sb.token
api_version = 1.0
X2
run invpull -q --config bad.conf s1
expect_rc 78 "config: unknown state: exit 78"
expect_err "config: unknown state named" <<X2
invpull: bad.conf:1: [s1]: states: 'sold' is not a ShipBob quantity (fulfillable, on_hand, committed, awaiting, internal_transfer)
X2
run invpull -q --config bad.conf s2
expect_rc 78 "config: api_version 1.0: exit 78"
expect_err "config: api_version 1.0 refused" <<X2
invpull: bad.conf:7: [s2]: api_version: '1.0' is not a dated version (YYYY-MM, 2025-07 or later; 1.0 and 2.0 are deprecated)
X2
