# Resume after kill -9 against the Shopify simulator.  A master changes every
# level of the sample shop (about 300); `invpull | invdiff master - | invpush
# -b 25 shop` runs with every write answered 300 ms late, is killed with
# kill -9 once the write log shows some batches applied, and `invpush
# --resume RUN shop` finishes it.  Four runs, each from a fresh shop:
#   plain:  the shop ends exactly at the master, every level written exactly
#           once (from its pulled quantity to the master's), and the resumed
#           results cover the whole run, all applied;
#   sale:   a sale lands during the killed run on a level not yet pushed; the
#           delta is relative (concurrent = merge, the default), so after the
#           resume that level is master - sale, applied: the sale is kept;
#   lost:   batch 3 is applied but its answer lost, and the retry of the call
#           is held by the simulator, so invpush is killed before any answer;
#           --resume reads the levels, finds batch 3 applied and does not send
#           it again (no call replayed, no second write);
#   delayed: batch 3's call is held by the shop before it is applied and
#           lands only after the resume re-sent it: still applied once.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export HOME=$T

start_sim --sample 170 --seed 11 --scale 20
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
	kill "$SIMPID" 2> /dev/null; wait "$SIMPID" 2> /dev/null; rm -rf "$T"' EXIT

printf 'shpat_sim_demo\n' > shop.token
chmod 600 shop.token
cat > invkit.conf <<X
[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token
X

# the master: every level at a new quantity, none at 0 (no guard trips)
invpull -q shop > have.ndjson
jq -c '{sku, location, qty: (.qty + 1 + .qty % 4)}' have.ndjson > master.ndjson
levels=$(wc -l < have.ndjson)

SLOW='{"kind":"slow","ms":300,"phase":"after","match":{"write":true}}'
MUT=inventoryAdjustQuantities


# fresh: a fresh shop, logs and state folder for run $1
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
	J=$(echo "$XDG_STATE_HOME"/invkit/journal/shop/*.ndjson)
	rid=$(basename "$J" .ndjson)
	n=$(wc -l < corr.ndjson)
	[ "$n" -eq "$levels" ] && ok "$name: a correction for every level ($n)" ||
		notok "$name: a correction for every level" "$n corrections, $levels levels"
	w=$(nwrites)
	sent=$(grep -c '"status":"sent"' "$J")
	if [ -f "$J" ] && ! grep -q '"finished"' "$J" && [ "$w" -ge 25 ] && [ "$w" -lt "$n" ]; then
		ok "$name: killed mid-run ($w of $n levels written, $sent batches answered)"
	else
		notok "$name: killed mid-run" "$w of $n levels written; journal $J: $(tail -1 "$J" 2> /dev/null | cut -c1-100)"
	fi
	ctl DELETE faults > /dev/null
	seq0=$(ctl GET log | jq .last_seq)
}
# resume: invpush --resume and its results; then check_end
resume() {
	resume_run
	check_end
}
resume_run() {
	run invpush -q --resume "$rid" shop
	expect_rc 0 "$name: resume: exit 0"
	[ "$(wc -l < "$T/out")" -eq "$n" ] && [ "$(jq -r .run "$T/out" | sort -u)" = "$rid" ] &&
		ok "$name: resume: one result per correction of the run" ||
		notok "$name: resume: one result per correction of the run" "$(wc -l < "$T/out") results"
	st=$(jq -r .status "$T/out" | sort | uniq -c | tr -s ' ')
	[ "$st" = " $n applied" ] && ok "$name: resume: every result applied" ||
		notok "$name: resume: every result applied" "$st"
	grep -q '"status":"finished"' "$J" && ok "$name: journal finished" || notok "$name: journal finished"
}
# check_end: what the platform shows once the run is over
check_end() {
	# every level written exactly once, from the quantity pulled (less the
	# sale) to the master's (less the sale): nothing twice, no sale erased
	ctl GET 'log?kind=writes' | jq -r '.writes[] | select(.kind != "sale") |
		"\(.item) \(.location) \(.before) \(.after)"' | sort > written
	jq -r --arg k "${sold:-}" '"\(.item) \(.location)" as $l |
		(if $l == $k then 2 else 0 end) as $s | "\($l) \(.from - $s) \(.to - $s)"' corr.ndjson |
		sort > want-written
	cmp -s want-written written && ok "$name: every level written exactly once, from pulled to master" ||
		notok "$name: every level written exactly once, from pulled to master" "$(diff want-written written | head -8)"
	# the shop ends at the master (the sold level at master - sale)
	ctl GET state | jq -r '.shopify.demo.items[] | .id as $i | .levels | to_entries[] |
		"\($i) \(.key) \(.value)"' | sort > state-got
	jq -r --arg k "${sold:-}" '"\(.item) \(.location)" as $l |
		"\($l) \(.to - (if $l == $k then 2 else 0 end))"' corr.ndjson | sort > state-want
	cmp -s state-want state-got && ok "$name: the shop ends at the master${sold:+ less the sale}" ||
		notok "$name: the shop ends at the master${sold:+ less the sale}" "$(diff state-want state-got | head -8)"
}

# --- plain: kill -9 after two batches, resume
fresh plain
sold=
ctl POST faults "[$SLOW]" > /dev/null
invpull -q shop | invdiff -q master.ndjson - | tee corr.ndjson | invpush -q -b 25 shop > killed.out 2> killed.err &
pid=$!
poll at_least 50 || notok "plain: two batches written in time" "$(nwrites) writes"
killit
resume
invpull -q shop | invdiff -q -e master.ndjson - > diff.out
[ $? -eq 0 ] && [ ! -s diff.out ] && ok "plain: invpull | invdiff -e: the shop equals the master" ||
	notok "plain: invpull | invdiff -e: the shop equals the master" "$(head -3 diff.out)"
ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.replayed)] | length == 0' > /dev/null &&
	ok "plain: no call sent twice (none replayed)" || notok "plain: no call sent twice (none replayed)"
# resuming a finished run writes nothing and gives its results again
cp "$T/out" results.done
s1=$(ctl GET log | jq .last_seq)
run invpush -q --resume "$rid" shop
expect_rc 0 "plain: resume a finished run: exit 0"
cmp -s results.done "$T/out" && ok "plain: resume a finished run: the same results" ||
	notok "plain: resume a finished run: the same results" "$(diff results.done "$T/out" | head -4)"
[ "$(ctl GET log | jq .last_seq)" = "$s1" ] && ok "plain: resume a finished run: no request" ||
	notok "plain: resume a finished run: no request"

# --- sale: a sale of 2 lands during the killed run on a level of the last batch
fresh sale
ctl POST faults "[$SLOW]" > /dev/null
invpull -q shop | invdiff -q master.ndjson - | tee corr.ndjson | invpush -q -b 25 shop > killed.out 2> killed.err &
pid=$!
poll at_least 25 || notok "sale: a batch written in time"
n=$(wc -l < corr.ndjson)
line=$(jq -s -c --argjson b $(((n - 1) / 25 * 25)) '.[$b:][] | select(.from > 2)' corr.ndjson | tail -1)
sold=$(printf '%s' "$line" | jq -r '"\(.item) \(.location)"')
sitem=${sold% *} sloc=${sold#* }
ctl POST sale "{\"platform\":\"shopify\",\"shop\":\"demo\",\"item\":\"$sitem\",\"location\":\"$sloc\",\"qty\":2}" > /dev/null
poll at_least 50 || notok "sale: two batches written in time" "$(nwrites) writes"
killit
ctl GET 'log?kind=writes' | jq -e --arg i "$sitem" --arg l "$sloc" '[.writes[] | select(.item == $i and
	.location == $l) | .kind] == ["sale"]' > /dev/null &&
	ok "sale: the sale landed during the killed run, before its level was pushed" ||
	notok "sale: the sale landed during the killed run, before its level was pushed"
resume
jq -r --arg i "$sitem" --arg l "$sloc" 'select(.item == $i and .location == $l) | .status' "$T/out" > got
echo applied | cmp -s - got && ok "sale: the sold level's correction applied on top of the sale" ||
	notok "sale: the sold level's correction applied on top of the sale" "$(cat got)"

# --- lost: batch 3 applied, its answer lost, its retry held: kill before any answer
fresh lost
sold=
ctl POST faults "[{\"kind\":\"lost_answer\",\"skip\":2,\"next\":1,\"match\":{\"op\":\"$MUT\"}},
	{\"kind\":\"slow\",\"ms\":60000,\"skip\":2,\"next\":1,\"match\":{\"op\":\"$MUT\"}}, $SLOW]" > /dev/null
invpull -q shop | invdiff -q master.ndjson - | tee corr.ndjson | invpush -q -b 25 shop > killed.out 2> killed.err &
pid=$!
held() { [ "$(ctl GET faults | jq '.rules[1].remaining')" = 0 ]; }
poll held || notok "lost: the call re-sent after the lost answer is held" "$(ctl GET faults)"
killit
[ "$w" -eq 75 ] && ok "lost: batches 1 to 3 written, nothing more" || notok "lost: batches 1 to 3 written, nothing more" "$w writes"
jq -c 'select(.batch == 3)' "$J" > b3
[ "$(jq -r .status b3)" = sending ] && ok "lost: journal: batch 3 sending, never answered" ||
	notok "lost: journal: batch 3 sending, never answered" "$(jq -r .status b3)"
resume
# batch 3's corrections were resolved by reading: applied, not sent again
jq -c '[.corrections[].input] | sort' b3 > b3-inputs
jq -c 'select(.status == "resolved") | [.results[] | select(.status == "applied") | .input] | sort' "$J" > resolved
cmp -s b3-inputs resolved && ok "lost: resume: batch 3 read back, all applied" ||
	notok "lost: resume: batch 3 read back, all applied" "$(cat resolved)"
jq -e -s --slurpfile b b3-inputs '[.[] | select(.status == "sending" and .batch > 3) |
	.corrections[].input] as $later | [$b[0][] | select(. as $x | $later | index($x))] | length == 0' \
	"$J" > /dev/null && ok "lost: resume: batch 3 not sent again" || notok "lost: resume: batch 3 not sent again"
# (--resume without -b sends in batches of the platform's most, 250)
ctl GET "log?kind=requests&since=$seq0" > resumed.log
jq -e --arg m "$MUT" --argjson nb $(((n - 75 + 249) / 250)) '[.requests[] | select(.ops | index($m))] |
	length == $nb' resumed.log > /dev/null &&
	ok "lost: resume: one call for the corrections never sent" ||
	notok "lost: resume: one call for the corrections never sent" "$(jq -c '[.requests[].ops[0]]' resumed.log | cut -c1-300)"
jq -e '[.requests[] | select(.replayed)] | length == 0' resumed.log > /dev/null &&
	ok "lost: resume: no call replayed (batch 3 not re-sent under its key)" ||
	notok "lost: resume: no call replayed (batch 3 not re-sent under its key)"

# --- delayed: batch 3's call reaches the shop but is held there, not yet
# applied, when invpush is killed; the resume reads the levels before the
# call lands, finds them at `from` and sends them again, as the man page
# says, "with the same idempotency key"; then the held call lands.  The shop
# must apply batch 3 once: the late call must be answered as a replay.
# The resume re-sends each unanswered batch as it was (the same corrections
# in the same order), so the call carries the same @idempotent key (a hash
# of its entries) and the late call is answered as a replay.  (This once
# failed: the resume mixed batch 3 with never-sent corrections in one call,
# under another key, and the late call was applied too.)
fresh delayed
sold=
ctl POST faults "[{\"kind\":\"slow\",\"ms\":10000,\"phase\":\"before\",\"skip\":2,\"next\":1,
	\"match\":{\"op\":\"$MUT\"}}]" > /dev/null
invpull -q shop | invdiff -q master.ndjson - | tee corr.ndjson | invpush -q -b 25 shop > killed.out 2> killed.err &
pid=$!
held() { [ "$(ctl GET faults | jq '.rules[0].remaining')" = 0 ]; }
poll held || notok "delayed: batch 3's call held by the shop" "$(ctl GET faults)"
killit
[ "$w" -eq 50 ] && ok "delayed: batches 1 and 2 written, batch 3 not yet" ||
	notok "delayed: batches 1 and 2 written, batch 3 not yet" "$w writes"
resume_run
name="delayed"
ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.ms >= 10000)] | length == 0' > /dev/null &&
	ok "delayed: the resume read and re-sent before the held call landed" ||
	notok "delayed: the resume read and re-sent before the held call landed"
landed() { ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.ms >= 10000)] | length == 1' > /dev/null; }
poll landed && ok "delayed: the held call landed" || notok "delayed: the held call landed"
check_end
