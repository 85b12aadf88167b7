# Resume after kill -9 against the WooCommerce simulator.  A master changes
# the quantity of every managed item of the sample site (about 300 products
# and variations); `invpull | invdiff master - | invpush -b 25 woo` runs with
# every write answered 300 ms late, is killed with kill -9 once the write log
# shows some batches applied, and `invpush --resume RUN woo` finishes it.
# Three runs, each from a fresh site:
#   plain:  the site ends exactly at the master, every item written exactly
#           once (from its pulled quantity to the master's), and the resumed
#           results cover the whole run, all applied;
#   sale:   a sale lands during the killed run on an item not yet pushed;
#           WooCommerce has no relative write, so the item is re-read before
#           its batch, has moved since the pull, and is a conflict: not
#           written, the sale kept, exit 1; every other item applied;
#   lost:   in batch 3, one parent's variations batch is applied but its
#           answer lost, and the driver's re-read of those variations is held
#           by the simulator, so invpush is killed before it learns anything;
#           --resume reads the items, finds batch 3 applied and does not write
#           it again.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export HOME=$T

start_sim --sample 235 --seed 13
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
	kill "$SIMPID" 2> /dev/null; wait "$SIMPID" 2> /dev/null; rm -rf "$T"' EXIT

printf 'ck_sim_demo:cs_sim_demo\n' > woo.token
chmod 600 woo.token
cat > invkit.conf <<X
[woo]
type = woocommerce
base_url = http://127.0.0.1:$PORT/woo/demo
token_file = $T/woo.token
X

# the master: every managed item at a new quantity, none at 0 (no guard trips)
invpull -q woo > have.ndjson
jq -c '{sku, location, qty: (.qty + 1 + .qty % 4)}' have.ndjson > master.ndjson
items=$(wc -l < have.ndjson)

SLOW='{"kind":"slow","ms":300,"phase":"after","match":{"write":true}}'

# fresh: a fresh site, logs and state folder for run $1
fresh() {
	name=$1
	ctl POST reset '{}' > /dev/null
	export XDG_STATE_HOME=$T/state-$name
}
# killit: kill -9 the background invpush, check it died of it and mid-run
killit() {
	kill -9 "$pid"
	wait "$pid" 2> /dev/null
	local k=$?
	pid=
	[ "$k" -eq 137 ] && ok "$name: invpush killed with kill -9" || notok "$name: invpush killed with kill -9" "exit $k"
	J=$(echo "$XDG_STATE_HOME"/invkit/journal/woo/*.ndjson)
	rid=$(basename "$J" .ndjson)
	n=$(wc -l < corr.ndjson)
	[ "$n" -eq "$items" ] && ok "$name: a correction for every item ($n)" ||
		notok "$name: a correction for every item" "$n corrections, $items items"
	w=$(nwrites)
	sent=$(grep -c '"status":"sent"' "$J")
	if [ -f "$J" ] && ! grep -q '"finished"' "$J" && [ "$w" -ge 25 ] && [ "$w" -lt "$n" ]; then
		ok "$name: killed mid-run ($w of $n items written, $sent batches answered)"
	else
		notok "$name: killed mid-run" "$w of $n items written; journal $J: $(tail -1 "$J" 2> /dev/null | cut -c1-100)"
	fi
	ctl DELETE faults > /dev/null
	seq0=$(ctl GET log | jq .last_seq)
}
# resume: invpush --resume, and the checks every run shares; $sold is the
# SKU sold during the run (a conflict, not written), if any
resume() {
	local ns=0 but=
	[ -n "$sold" ] && ns=1 but=", but the sold item's"
	run invpush -q --resume "$rid" woo
	expect_rc $ns "$name: resume: exit $ns"
	[ "$(wc -l < "$T/out")" -eq "$n" ] && [ "$(jq -r .run "$T/out" | sort -u)" = "$rid" ] &&
		ok "$name: resume: one result per correction of the run" ||
		notok "$name: resume: one result per correction of the run" "$(wc -l < "$T/out") results"
	st=$(jq -r --arg s "${sold:-}" 'select(.sku != $s) | .status' "$T/out" | sort | uniq -c | tr -s ' ')
	[ "$st" = " $((n - ns)) applied" ] && ok "$name: resume: every result applied$but" ||
		notok "$name: resume: every result applied$but" "$st"
	grep -q '"status":"finished"' "$J" && ok "$name: journal finished" || notok "$name: journal finished"
	# every item written exactly once, from the quantity pulled to the
	# master's; the sold item never: nothing twice, no sale erased
	ctl GET 'log?kind=writes' | jq -r '.writes[] | select(.kind != "sale") |
		"\(.sku) \(.before) \(.after)"' | sort > written
	jq -r --arg s "${sold:-}" 'select(.sku != $s) | "\(.sku) \(.from) \(.to)"' corr.ndjson | sort > want-written
	cmp -s want-written written && ok "$name: every item written exactly once, from pulled to master" ||
		notok "$name: every item written exactly once, from pulled to master" "$(diff want-written written | head -8)"
	# the site ends at the master (the sold item at what the sale left)
	ctl GET state | jq -r '.woocommerce.demo.products[] | (., .variations[]?) |
		select(.manage_stock == true) | "\(.sku) \(.stock_quantity)"' | sort > state-got
	jq -r --arg s "${sold:-}" '"\(.sku) \(if .sku == $s then .from - 2 else .to end)"' corr.ndjson |
		sort > state-want
	cmp -s state-want state-got && ok "$name: the site ends at the master${sold:+, the sold item at pulled - sale}" ||
		notok "$name: the site ends at the master${sold:+, the sold item at pulled - sale}" "$(diff state-want state-got | head -8)"
}

# --- plain: kill -9 after two batches, resume
fresh plain
sold=
ctl POST faults "[$SLOW]" > /dev/null
invpull -q woo | invdiff -q master.ndjson - | tee corr.ndjson | invpush -q -b 25 woo > killed.out 2> killed.err &
pid=$!
poll at_least 50 || notok "plain: two batches written in time" "$(nwrites) writes"
killit
resume
invpull -q woo | invdiff -q -e master.ndjson - > diff.out
[ $? -eq 0 ] && [ ! -s diff.out ] && ok "plain: invpull | invdiff -e: the site equals the master" ||
	notok "plain: invpull | invdiff -e: the site equals the master" "$(head -3 diff.out)"
# resuming a finished run writes nothing and gives its results again
cp "$T/out" results.done
s1=$(ctl GET log | jq .last_seq)
run invpush -q --resume "$rid" woo
expect_rc 0 "plain: resume a finished run: exit 0"
cmp -s results.done "$T/out" && ok "plain: resume a finished run: the same results" ||
	notok "plain: resume a finished run: the same results" "$(diff results.done "$T/out" | head -4)"
[ "$(ctl GET log | jq .last_seq)" = "$s1" ] && ok "plain: resume a finished run: no request" ||
	notok "plain: resume a finished run: no request"

# --- sale: a sale of 2 lands during the killed run on an item of the last batch
fresh sale
sold=
ctl POST faults "[$SLOW]" > /dev/null
invpull -q woo | invdiff -q master.ndjson - | tee corr.ndjson | invpush -q -b 25 woo > killed.out 2> killed.err &
pid=$!
poll at_least 25 || notok "sale: a batch written in time"
n=$(wc -l < corr.ndjson)
sold=$(jq -s -r --argjson b $(((n - 1) / 25 * 25)) '.[$b:][] | select(.from > 2) | .sku' corr.ndjson | tail -1)
ctl POST sale "{\"platform\":\"woo\",\"shop\":\"demo\",\"sku\":\"$sold\",\"qty\":2}" > /dev/null
poll at_least 50 || notok "sale: two batches written in time" "$(nwrites) writes"
killit
ctl GET 'log?kind=writes' | jq -e --arg s "$sold" '[.writes[] | select(.sku == $s) | .kind] == ["sale"]' > /dev/null &&
	ok "sale: the sale landed during the killed run, before its item was pushed" ||
	notok "sale: the sale landed during the killed run, before its item was pushed"
resume
jq -r --arg s "$sold" 'select(.sku == $s) | "\(.status): \(.error)"' "$T/out" > got
grep -q '^conflict: quantity moved since it was read' got && ok "sale: the sold item is a conflict (moved since the pull)" ||
	notok "sale: the sold item is a conflict (moved since the pull)" "$(cat got)"

# --- lost: in batch 3 one parent's variations batch is applied, its answer
# lost, and the re-read that would resolve it held: kill before any answer.
# (pulled first, so that the pull's reads do not count for the rules)
fresh lost
sold=
invpull -q woo | invdiff -q master.ndjson - > corr.ndjson
# a parent whose variations are all in batch 3 (corrections 51 to 75)
P=$(jq -s -r '[to_entries[] | {i: .key, p: (.value.item | split("/")) | select(length == 2) | .[0]}] |
	group_by(.p)[] | select(all(.i >= 50 and .i < 75)) | .[0].p' corr.ndjson | head -1)
[ -n "$P" ] && ok "lost: a parent with its variations in batch 3 ($P)" || notok "lost: a parent with its variations in batch 3"
ctl POST faults "[{\"kind\":\"lost_answer\",\"next\":1,\"match\":{\"method\":\"POST\",\"path\":\"/products/$P/variations/batch\"}},
	{\"kind\":\"slow\",\"ms\":60000,\"skip\":1,\"next\":1,\"match\":{\"method\":\"GET\",\"path\":\"/products/$P/variations\"}},
	$SLOW]" > /dev/null
invpush -q -b 25 woo < corr.ndjson > killed.out 2> killed.err &
pid=$!
held() { [ "$(ctl GET faults | jq '[.rules[0,1].remaining] | add')" = 0 ]; }
poll held || notok "lost: the re-read after the lost answer is held" "$(ctl GET faults)"
killit
[ "$w" -eq 75 ] && ok "lost: batches 1 to 3 written, nothing more" || notok "lost: batches 1 to 3 written, nothing more" "$w writes"
jq -c 'select(.batch == 3)' "$J" > b3
[ "$(jq -r .status b3)" = sending ] && ok "lost: journal: batch 3 sending, never answered" ||
	notok "lost: journal: batch 3 sending, never answered" "$(jq -r .status b3)"
resume
# batch 3's corrections were resolved by reading: applied, not written again
jq -c '[.corrections[].input] | sort' b3 > b3-inputs
jq -c 'select(.status == "resolved") | [.results[] | select(.status == "applied") | .input] | sort' "$J" > resolved
cmp -s b3-inputs resolved && ok "lost: resume: batch 3 read back, all applied" ||
	notok "lost: resume: batch 3 read back, all applied" "$(cat resolved)"
jq -e -s --slurpfile b b3-inputs '[.[] | select(.status == "sending" and .batch > 3) |
	.corrections[].input] as $later | [$b[0][] | select(. as $x | $later | index($x))] | length == 0' \
	"$J" > /dev/null && ok "lost: resume: batch 3 not sent again" || notok "lost: resume: batch 3 not sent again"
jq -r '.corrections[].sku' b3 | sort > b3-skus
ctl GET "log?kind=writes&since=$seq0" | jq -r '.writes[].sku' | sort | comm -12 - b3-skus > rewritten
[ ! -s rewritten ] && ok "lost: resume: no item of batch 3 written again" ||
	notok "lost: resume: no item of batch 3 written again" "$(head -3 rewritten)"
