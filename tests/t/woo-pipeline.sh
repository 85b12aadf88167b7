# The WooCommerce pipeline end to end against tests/sim: invpull | invdiff
# against a master | invpush, ending with the site equal to the master.  The
# sample site has simple and variable products (some stock unmanaged) and more
# than 100 items, so pages and batches are exercised.  A second run adds a sale
# between pull and push and faults on the way (a batch applied but its answer
# lost, a 429 on a batch, 503s on reads): the sale is reported as a conflict
# and survives, nothing is written twice, and one more run converges.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 130 --seed 7

printf 'ck_sim_demo:cs_sim_demo\n' > woo.token
chmod 600 woo.token
cat > invkit.conf <<X
[woo]
type = woocommerce
base_url = http://127.0.0.1:$PORT/woo/demo
token_file = $T/woo.token
X

# what the site holds with managed stock, from the simulator's own state
ctl GET state | jq -c '.woocommerce.demo.products[] |
	(select(.manage_stock) | {sku, qty: .stock_quantity}),
	(.variations // [] | .[] | select(.manage_stock) | {sku, qty: .stock_quantity})' |
	sort > site-want

run invpull -q woo
expect_rc 0 "invpull: exit 0"
jq -c '{sku, qty}' "$T/out" | sort > site-got
cmp -s site-want site-got && ok "invpull: exactly the managed stock of the site" ||
	notok "invpull: exactly the managed stock of the site" "$(diff site-want site-got | head)"
n=$(wc -l < site-want)
[ "$n" -gt 150 ] && ok "more than 150 items ($n)" || notok "more than 150 items ($n)"

# the master: every item at a new quantity (none at 0, so no guard trips)
jq -c '{sku, location: "", qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson

pipeline() {
	invpull -q woo | invdiff -q master.ndjson - | invpush -q woo > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q woo | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}

# a dry run plans every correction and writes nothing; a master that lost
# its rows (every item to 0) is refused by the guard, nothing written
invpull -q woo | invdiff -q master.ndjson - > corr.ndjson
STDIN=corr.ndjson run invpush -q --dry-run woo
expect_rc 0 "dry run: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = planned ] && ok "dry run: every correction planned" ||
	notok "dry run: every correction planned" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] && ok "dry run: nothing written" ||
	notok "dry run: nothing written"
jq -c '.qty = 0' master.ndjson > lost.ndjson
invpull -q woo | invdiff -q lost.ndjson - > corr-lost.ndjson
STDIN=corr-lost.ndjson run invpush -q woo
expect_rc 65 "guard: a master at 0 everywhere is refused"
expect_err_has "guard: says why" "would take an in-stock item to 0"
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" -eq 0 ] && ok "guard: nothing written" ||
	notok "guard: nothing written"

pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(wc -l < "$T/out")" -eq "$n" ] && ok "one result per item" ||
	notok "one result per item" "$(wc -l < "$T/out") results"
converged "the site equals the master"
writes=$(ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "update")] | length')
[ "$writes" -eq "$n" ] && ok "each item written once ($writes writes)" ||
	notok "each item written once" "$writes writes for $n items"

# again from the start, with a sale between pull and push, and faults
ctl POST reset '{}' > /dev/null
ctl POST log/clear '{}' > /dev/null
invpull -q woo > have.ndjson
sku=$(jq -r 'select(.qty > 2) | .sku' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"woo\",\"shop\":\"demo\",\"sku\":\"$sku\",\"qty\":2}" > /dev/null
ctl POST faults '{"rules":[
	{"kind":"lost_answer","next":1,"match":{"op":"products/batch"}},
	{"kind":"429","next":1,"retry_after":0,"match":{"op":"variations/batch"}},
	{"kind":"503","next":2,"match":{"write":false}}]}' > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q woo'
expect_rc 1 "sale and faults: exit 1 (a conflict)"
jq -c "select(.sku == \"$sku\") | .status" "$T/out" > got
echo '"conflict"' | cmp -s - got && ok "the sold item is a conflict" ||
	notok "the sold item is a conflict" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .sku' "$T/out")" = "$sku" ] &&
	ok "every other correction applied" ||
	notok "every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
ctl GET log > log.json
jq -e --arg sku "$sku" '[.writes[] | select(.kind == "update" and .sku == $sku)] | length == 0' \
	log.json > /dev/null && ok "the sale was not overwritten" || notok "the sale was not overwritten"
jq -e '[.writes[] | select(.kind == "update") | .item] | (length == (unique | length))' \
	log.json > /dev/null && ok "nothing written twice (lost answer resolved by re-reading)" ||
	notok "nothing written twice (lost answer resolved by re-reading)"
# every write started from the quantity the correction expected: no sale erased
jq -s -c 'map({key: (.item | split("/") | last), value: .from}) | from_entries' "$T/out" > from.json
jq -e --slurpfile f from.json '[.writes[] | select(.kind == "update") |
	select(.before != $f[0][.item | tostring])] | length == 0' \
	log.json > /dev/null && ok "each write replaced exactly the quantity it expected" ||
	notok "each write replaced exactly the quantity it expected"

ctl GET faults | jq -e '[.rules[].remaining] | add == 0' > /dev/null &&
	ok "every fault fired" || notok "every fault fired" "$(ctl GET faults)"
ctl DELETE faults > /dev/null
pipeline
expect_rc 0 "one more run: exit 0"
converged "the site equals the master after the second run"
