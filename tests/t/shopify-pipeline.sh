# The Shopify pipeline end to end against tests/sim: invpull | invdiff against
# a master | invpush, ending with the shop equal to the master.  The sample
# shop has 150 items at two locations (300 levels: several pages, and more
# than 250 corrections: two calls).  Then, from a fresh shop, a sale lands
# between pull and push while faults hit the run (a mutation applied but its
# answer lost, a 500 on a mutation, 429 and 503 on reads): with the default
# `concurrent = merge` the correction lands on top of the sale (the shop ends
# at master - sale), with `concurrent = conflict` the sold level is a
# conflict and keeps the sale; nothing is applied twice, and one more run
# converges.  A refused token exits 77 and is never shown.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 150 --seed 5 --scale 20

printf 'shpat_sim_demo\n' > shop.token
printf 'shpat_not_the_token_XYZZY\n' > bad.token
chmod 600 shop.token bad.token
cat > invkit.conf <<X
[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token

[cas]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token
concurrent = conflict

[bad]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/bad.token
X

# what the shop holds, from the simulator's own state
ctl GET state | jq -c '.shopify.demo.items[] | .id as $i | .sku as $s |
	.levels | to_entries[] | {item: $i, sku: $s, location: .key, qty: .value}' | sort > shop-want

run invpull -q shop
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: exactly the levels of the shop" ||
	notok "invpull: exactly the levels of the shop" "$(diff shop-want shop-got | head)"
n=$(wc -l < shop-want)
[ "$n" -gt 250 ] && ok "more than 250 levels ($n)" || notok "more than 250 levels ($n)"
pages=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops | index("inventoryItems"))] | length')
[ "$pages" -ge 2 ] && ok "pulled in pages ($pages)" || notok "pulled in pages ($pages)"

# the master: every level at a new quantity (none at 0, so no guard trips)
jq -c '{sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson

pipeline() {
	invpull -q "$1" | invdiff -q master.ndjson - | invpush -q "$1" > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q shop | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
# no level adjusted twice in the write log
once() {
	ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.kind != "sale") |
		"\(.item) \(.location)"] | length == (unique | length)' > /dev/null &&
		ok "$1" || notok "$1"
}

# a dry run plans every correction and writes nothing; a master that lost
# its rows (every level to 0) is refused by the guard, nothing written
ctl POST log/clear '{}' > /dev/null
invpull -q shop | invdiff -q master.ndjson - > corr.ndjson
STDIN=corr.ndjson run invpush -q --dry-run shop
expect_rc 0 "dry run: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = planned ] && ok "dry run: every correction planned" ||
	notok "dry run: every correction planned" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] && ok "dry run: nothing written" ||
	notok "dry run: nothing written"
jq -c '.qty = 0' master.ndjson > lost.ndjson
invpull -q shop | invdiff -q lost.ndjson - > corr-lost.ndjson
STDIN=corr-lost.ndjson run invpush -q shop
expect_rc 65 "guard: a master at 0 everywhere is refused"
expect_err_has "guard: says why" "would take an in-stock item to 0"
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] && ok "guard: nothing written" ||
	notok "guard: nothing written"

ctl POST log/clear '{}' > /dev/null
pipeline shop
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
c=$(wc -l < "$T/out")
[ "$c" -gt 250 ] && ok "more than 250 corrections ($c)" || notok "more than 250 corrections ($c)"
calls=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops | index("inventoryAdjustQuantities"))] | length')
[ "$calls" -eq 2 ] && ok "two calls of at most 250" || notok "two calls of at most 250 ($calls)"
converged "the shop equals the master"
once "each level written once"
ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.reason != "correction" or
	(.reference | startswith("gid://invkit/Run/") | not))] | length == 0' > /dev/null &&
	ok "reason correction, reference gid://invkit/Run/<run>" ||
	notok "reason correction, reference gid://invkit/Run/<run>"

# a sale between pull and push, with faults, in both concurrency modes
for mode in shop cas; do
	ctl POST reset '{}' > /dev/null
	ctl POST faults '{"rules":[
		{"kind":"lost_answer","next":1,"match":{"write":true}},
		{"kind":"500","skip":1,"next":1,"match":{"write":true}},
		{"kind":"429","next":1,"retry_after":0,"match":{"write":false}},
		{"kind":"503","skip":1,"next":1,"match":{"write":false}}]}' > /dev/null
	invpull -q "$mode" > have.ndjson
	cmp -s shop-want <(jq -c '{item, sku, location, qty}' have.ndjson | sort) &&
		ok "$mode: a pull through 429 and 503 is whole" || notok "$mode: a pull through 429 and 503 is whole"
	line=$(jq -c 'select(.qty > 2 and .location == "gid://shopify/Location/1")' have.ndjson | head -1)
	item=$(printf '%s' "$line" | jq -r .item)
	sku=$(printf '%s' "$line" | jq -r .sku)
	ctl POST sale "{\"platform\":\"shopify\",\"shop\":\"demo\",\"item\":\"$item\",
		\"location\":\"gid://shopify/Location/1\",\"qty\":2}" > /dev/null
	run_in sh -c "invdiff -q master.ndjson have.ndjson | invpush -q $mode"
	want=$(jq -r --arg s "$sku" 'select(.sku == $s and .location == "gid://shopify/Location/1") | .qty' master.ndjson)
	now=$(ctl GET state | jq -r --arg i "$item" '.shopify.demo.items[] | select(.id == $i) |
		.levels["gid://shopify/Location/1"]')
	if [ "$mode" = shop ]; then
		expect_rc 0 "merge: sale and faults: exit 0"
		[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "merge: every correction applied" ||
			notok "merge: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
		[ "$now" -eq $((want - 2)) ] && ok "merge: the sold level is master - sale ($now)" ||
			notok "merge: the sold level is master - sale" "now $now, master $want"
	else
		expect_rc 1 "conflict: sale and faults: exit 1"
		jq -r --arg i "$item" 'select(.item == $i and .location == "gid://shopify/Location/1") |
			.status' "$T/out" > got
		echo conflict | cmp -s - got && ok "conflict: the sold level is a conflict" ||
			notok "conflict: the sold level is a conflict" "$(cat got)"
		[ "$(jq -r 'select(.status != "applied") | .item' "$T/out")" = "$item" ] &&
			ok "conflict: every other correction applied" ||
			notok "conflict: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
		was=$(jq -r --arg i "$item" 'select(.item == $i and .location == "gid://shopify/Location/1") |
			.qty' have.ndjson)
		[ "$now" -eq $((was - 2)) ] && ok "conflict: the sale stands ($now)" ||
			notok "conflict: the sale stands" "now $now, pulled $was"
	fi
	once "$mode: nothing applied twice (lost answer replayed under its key)"
	ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.replayed)] | length >= 1' > /dev/null &&
		ok "$mode: the lost answer's call was replayed" || notok "$mode: the lost answer's call was replayed"
	ctl GET faults | jq -e '[.rules[].remaining] | add == 0' > /dev/null &&
		ok "$mode: every fault fired" || notok "$mode: every fault fired" "$(ctl GET faults)"
	ctl DELETE faults > /dev/null
	pipeline "$mode"
	expect_rc 0 "$mode: one more run: exit 0"
	converged "$mode: the shop equals the master after one more run"
done

# a refused token: exit 77, the token never shown
run invpull bad
expect_rc 77 "bad token: invpull exit 77"
expect_err_has "bad token: says why" "access token refused"
if grep -q XYZZY "$T/err" "$T/out"; then notok "bad token: never shown"; else ok "bad token: never shown"; fi
