# The Walmart pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/walmart.py): invpull | invdiff against a master |
# invpush, ending with the store equal to the master.  The sample store has
# 130 SKUs (three pages of /v3/inventories) at two ship nodes.  Then, each
# from a fresh store: a throttled run (small endpoint buckets, a 429 on a
# write, short-lived tokens), a partial failure (an unknown ship node and a
# record gone), a write applied but its answer lost (resolved by a re-read,
# never re-sent), a sale between pull and push (reported as a conflict, the
# sale kept), and refused credentials (exit 77, the secret never printed).
# Those runs use feed_min = 0 (one PUT per SKU); the inventory feed gets its
# own: a full run split per ship node and at feed_max_bytes, its reports read
# in pages; per-line outcomes (SYSTEM_ERROR, TIMEOUT_ERROR, DATA_ERROR, a line
# missing from the report, a sale since the pull); an upload whose answer is
# lost (found by GET /v3/feeds, not sent again); an upload that never
# arrived (read back, unknown outcome, not sent again); a feed in ERROR; a
# feed not processed within feed_wait.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 130 --seed 4
# fresh store, buckets refilled fast (the throttled run sets its own)
sim_reset() {
	ctl POST reset '{}' > /dev/null
	ctl POST config '{"wm_refill_per_s":500}' > /dev/null
}
sim_reset

printf 'wm_sim_id:wm_sim_secret\n' > wm.token
chmod 600 wm.token
cat > invkit.conf <<X
[wm]
type = walmart
base_url = http://127.0.0.1:$PORT/walmart/demo
token_file = $T/wm.token
feed_min = 0
X

ctl GET state | jq -c '.walmart.demo.items[] | .sku as $s | .levels | to_entries[] |
	{item: $s, sku: $s, location: .key, qty: .value}' | sort > store-want

run invpull -q wm
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > store-got
cmp -s store-want store-got && ok "invpull: every SKU at every ship node, inputQty" ||
	notok "invpull: every SKU at every ship node, inputQty" "$(diff store-want store-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = on_hand ] && ok "invpull: state on_hand" || notok "invpull: state on_hand"
ctl GET 'log?kind=requests' > reqs.json
[ "$(jq '[.requests[] | select(.ops == ["inventories"])] | length' reqs.json)" -eq 3 ] &&
	ok "invpull: three pages read (nextCursor)" || notok "invpull: three pages read" "$(jq -c '[.requests[].ops]' reqs.json)"
[ "$(jq '[.requests[] | select(.ops == ["token"])] | length' reqs.json)" -eq 1 ] &&
	ok "invpull: one token asked for" || notok "invpull: one token asked for"
jq -r '.requests[].notes[] | select(startswith("correlation "))' reqs.json | sort | uniq -d > dups
[ ! -s dups ] && [ "$(jq -r '.requests[].notes[] | select(startswith("correlation "))' reqs.json | wc -l)" -eq 4 ] &&
	ok "every request has its own correlation id" || notok "every request has its own correlation id" "$(cat dups)"

# the master: every record at a new quantity, plus one new record (a SKU with
# none at node 702)
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
newsku=$(ctl GET state | jq -r '[.walmart.demo.items[] | select(.levels["702"] == null)][0].sku')
printf '{"item":"%s","sku":"%s","location":"702","qty":9}\n' "$newsku" "$newsku" >> master.ndjson
m=$(wc -l < master.ndjson)

pipeline() {
	invpull -q wm | invdiff -q master.ndjson - | invpush -q wm > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q wm | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }

ctl POST log/clear '{}' > /dev/null
pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per record ($m)" ||
	notok "one result per record" "$(wc -l < "$T/out") results, $m records"
[ "$(nsets)" -eq "$m" ] && ok "one PUT per record" || notok "one PUT per record" "$(nsets) of $m"
ctl GET 'log?kind=writes' | jq -e --arg s "$newsku" '[.writes[] | select(.sku == $s and .location == "702")][0] |
	.before == null and .after == 9' > /dev/null && ok "the new record created at its ship node" ||
	notok "the new record created at its ship node"
ctl GET "log?kind=requests" | jq "[.requests[] | select(.ops == [\"inventory\"])] | length" > ngets
[ "$(cat ngets)" -eq "$m" ] && ok "each SKU re-read right before its write" || notok "each SKU re-read" "$(cat ngets) reads"
converged "the store equals the master"

# ---- throttled: buckets of 3 refilled at 20/s, a 429 on a write, tokens living 1 s
sim_reset
ctl POST config '{"wm_bucket":3,"wm_refill_per_s":20,"wm_token_ttl":1}' > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"inventory/update"}}]}' > /dev/null
t0=$(date +%s%N)
pipeline
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '[.requests[] | select(.ops != ["token"])] | length' reqs.json)
n429=$(jq '[.requests[] | select(.status == 429 and .fault == null)] | length' reqs.json)
ntok=$(jq '[.requests[] | select(.ops == ["token"])] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$n429" -le 3 ] && ok "throttled: the buckets were respected ($nreq requests, $n429 refused)" ||
	notok "throttled: the buckets were respected" "$nreq requests, $n429 refused"
# two buckets (read, write) of 20/s each after the first 3: at least (n/2 - 3)/20 s
[ "$ms" -ge $(( (nreq / 2 - 3) * 1000 / 20 - 200 )) ] && ok "throttled: paced ($nreq requests in $ms ms)" ||
	notok "throttled: paced" "$nreq requests in $ms ms"
[ "$ntok" -ge 3 ] && ok "throttled: the short-lived token renewed ($ntok tokens)" || notok "throttled: token renewed" "$ntok"
[ "$(nsets)" -eq "$m" ] && ok "throttled: the refused write sent again after a re-read, each record set once" ||
	notok "throttled: each record set once" "$(nsets)"
ctl DELETE faults > /dev/null
ctl POST config '{"wm_bucket":50,"wm_refill_per_s":500,"wm_token_ttl":900}' > /dev/null
converged "throttled: the store equals the master"

# ---- partial failure: an unknown ship node, and a record gone since the pull
sim_reset
invpull -q wm > have.ndjson
gone=$(jq -r 'select(.location == "702") | .sku' have.ndjson | head -1)
ctl GET state | jq -c --arg s "$gone" '(.walmart.demo.items[] | select(.sku == $s) | .levels) |= del(.["702"])' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
badsku=$(jq -r 'select(.location == "701") | .sku' have.ndjson | sed -n 5p)
invdiff -q master.ndjson have.ndjson | jq -c --arg b "$badsku" \
	'if .sku == $b and .location == "701" then .location = "999" else . end' > corr.ndjson
nc=$(wc -l < corr.ndjson)
STDIN=corr.ndjson run invpush -q wm
expect_rc 1 "partial failure: exit 1"
jq -r --arg b "$badsku" 'select(.sku == $b and .location == "999") | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: the read before writing failed: [wm]: GET /walmart/demo/v3/inventory: HTTP 400: INVALID_REQUEST_PARAM.GMP_INVENTORY_API: shipNode 999 is not one of the seller's" |
	cmp -s - got && ok "partial failure: the refused SKU failed with the platform's words" ||
	notok "partial failure: the refused SKU failed with the platform's words" "$(cat got)"
jq -r --arg s "$gone" 'select(.sku == $s and .location == "702") | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: no inventory for sku $gone at ship node '702' (gone since it was read)" | cmp -s - got &&
	ok "partial failure: the SKU without a record failed, not written" ||
	notok "partial failure: the SKU without a record failed, not written" "$(cat got)"
[ "$(jq -r 'select(.status == "applied") | .status' "$T/out" | wc -l)" -eq $((nc - 2)) ] &&
	ok "partial failure: every other correction applied" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(nsets)" -eq $((nc - 2)) ] && ok "partial failure: nothing written for the two" || notok "partial failure: writes" "$(nsets)"

# ---- lost answer: a PUT applied, its answer lost
sim_reset
ctl POST faults '{"rules":[{"kind":"lost_answer","skip":3,"next":1,"match":{"op":"inventory/update"}}]}' > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nsets)" -eq "$m" ] && ok "lost answer: nothing sent twice" || notok "lost answer: nothing sent twice" "$(nsets) sets for $m"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "lost answer: the fault fired" ||
	notok "lost answer: the fault fired"
ctl DELETE faults > /dev/null
converged "lost answer: the store equals the master"

# ---- a sale between pull and push: a conflict, the sale kept
sim_reset
invpull -q wm > have.ndjson
read -r sku loc qty < <(jq -r 'select(.qty > 2) | "\(.sku) \(.location) \(.qty)"' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"walmart\",\"shop\":\"demo\",\"sku\":\"$sku\",\"location\":\"$loc\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q wm'
expect_rc 1 "sale: exit 1 (one conflict)"
jq -r --arg s "$sku" --arg l "$loc" 'select(.sku == $s and .location == $l) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict quantity changed since it was read: $((qty - 2)) now, $qty expected (not written)" | cmp -s - got &&
	ok "sale: reported as a conflict" || notok "sale: reported as a conflict" "$(cat got)"
invpull -q wm | jq -r --arg s "$sku" --arg l "$loc" 'select(.sku == $s and .location == $l) | .qty' > got
echo $((qty - 2)) | cmp -s - got && ok "sale: kept (not overwritten)" || notok "sale: kept" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq 1 ] &&
	ok "sale: every other correction applied" || notok "sale: every other correction applied"

# ---- the inventory feed (channels with feed_min = 50, the default): wmf
# uploads at most 6000 bytes at a time, wm1 waits 1 s at most for a feed
# (status reads after 0.2, 0.4, 0.8, 1.6 s: the wait doubles)
cat >> invkit.conf <<X
[wmf]
type = walmart
base_url = http://127.0.0.1:$PORT/walmart/demo
token_file = $T/wm.token
feed_min = 50
feed_poll = 0.2
feed_max_bytes = 6000
[wm1]
type = walmart
base_url = http://127.0.0.1:$PORT/walmart/demo
token_file = $T/wm.token
feed_poll = 0.2
feed_wait = 1
X
feed_reset() {	# a fresh store and empty logs
	ctl POST reset '{}' > /dev/null
	ctl POST config '{"wm_refill_per_s":500,"wm_feed_delay":0.1,"wm_feed_page_max":50}' > /dev/null
}
# what the simulator saw, read once after each run: snap, then uploads ("feedId
# items node bytes" of every upload it took), nops OP, fsets (records set)
snap() {
	ctl GET 'log?kind=requests' > reqs.json
	ctl GET 'log?kind=writes' > writes.json
}
uploads() {
	jq -r '.requests[] | select(.ops == ["feeds/upload"]) |
		(.notes // [])[] | select(startswith("feed ")) | ltrimstr("feed ") | sub(": "; " ") |
		sub(" items at ship node "; " ") | sub(", "; " ") | rtrimstr(" bytes")' reqs.json
}
nops() { jq --arg o "$1" '[.requests[] | select(.ops == [$o])] | length' reqs.json; }
fsets() { jq '[.writes[] | select(.kind == "set")] | length' writes.json; }
feed_reset
invpull -q wmf | invdiff -q master.ndjson - | invpush -q wmf > "$T/out" 2> "$T/err"
rc=$?
snap
expect_rc 0 "feed: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(wc -l < "$T/out")" -eq "$m" ] &&
	ok "feed: every correction applied ($m)" ||
	notok "feed: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
uploads > up
[ "$(awk '{n += $2} END {print n}' up)" -eq "$m" ] && [ "$(awk '$4 > 6000' up | wc -l)" -eq 0 ] &&
	[ "$(awk '$3 == "701"' up | wc -l)" -eq 2 ] && [ "$(awk '$3 == "702"' up | wc -l)" -eq 1 ] &&
	ok "feed: one feed per ship node, split at 6000 bytes ($(wc -l < up) uploads, each SKU once)" ||
	notok "feed: split per node and size" "$(cat up)"
[ "$(nops inventory/update)" -eq 0 ] && [ "$(nops inventory)" -eq "$m" ] &&
	ok "feed: no PUT, each SKU re-read before its feed" || notok "feed: no PUT, re-read" "$(nops inventory) reads"
jq -r '.requests[] | select(.ops == ["feeds/status"]) | .path' reqs.json > polls
[ "$(grep -c 'includeDetails=true&offset=0&' polls)" -eq 3 ] && [ "$(grep -c 'includeDetails=true&offset=50&' polls)" -eq 2 ] &&
	ok "feed: each report read, in pages (offset/limit)" || notok "feed: reports read in pages" "$(cat polls)"
[ "$(fsets)" -eq "$m" ] && ok "feed: each record set once" || notok "feed: each record set once" "$(fsets)"
converged "feed: the store equals the master"

# ---- feed, per-line outcomes: SYSTEM_ERROR, TIMEOUT_ERROR, a line left out
# of the report, an unknown SKU (DATA_ERROR), and a sale after the pull
feed_reset
invpull -q wm > have.ndjson
invdiff -q master.ndjson have.ndjson | jq -c 'select(.location == "701")' > c701.ndjson
read -r s1 s2 s3 s4 < <(jq -r .sku c701.ndjson | head -4 | tr '\n' ' ')
ctl GET state | jq -c --arg a "$s1" --arg b "$s2" --arg c "$s3" '.walmart.demo.items[] |= (
	if .sku == $a then .feed_fault = "SYSTEM_ERROR" elif .sku == $b then .feed_fault = "TIMEOUT_ERROR"
	elif .sku == $c then .feed_fault = "OMIT" else . end)' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl POST config '{"wm_feed_delay":0.1,"wm_feed_page_max":50}' > /dev/null
q4=$(jq -r --arg s "$s4" 'select(.sku == $s and .location == "701") | .qty' have.ndjson)
ctl POST sale "{\"platform\":\"walmart\",\"shop\":\"demo\",\"sku\":\"$s4\",\"location\":\"701\",\"qty\":1}" > /dev/null
printf '{"sku":"NO-SUCH-SKU","item":"NO-SUCH-SKU","location":"701","from":null,"to":4,"delta":4,"reason":"sync"}\n' >> c701.ndjson
nc=$(wc -l < c701.ndjson)
ctl POST log/clear '{}' > /dev/null
STDIN=c701.ndjson run invpush -q wm1
snap
expect_rc 1 "feed outcomes: exit 1"
fid=$(uploads | awk '{print $1}')
res() { jq -r --arg s "$1" 'select(.sku == $s and .location == "701") | "\(.status) \(.error)"' "$T/out"; }
[ "$(res "$s1")" = "failed [wm1]: feed $fid: SYSTEM_ERROR: ERR_INT_SYS_0000001: Internal error, retry later" ] &&
	[ "$(res "$s2")" = "failed [wm1]: feed $fid: TIMEOUT_ERROR: ERR_INT_TMO_0000001: Timed out, retry later" ] &&
	ok "feed outcomes: SYSTEM_ERROR and TIMEOUT_ERROR lines failed with Walmart's words" ||
	notok "feed outcomes: error lines" "$(res "$s1"; res "$s2")"
[ "$(res "$s3")" = "failed unknown outcome: feed $fid was processed without a result for this sku (not sent again)" ] &&
	ok "feed outcomes: a line missing from the report is an unknown outcome" || notok "feed outcomes: missing line" "$(res "$s3")"
[ "$(res NO-SUCH-SKU)" = "failed [wm1]: feed $fid: DATA_ERROR: ERR_EXT_DATA_0101001: SKU NO-SUCH-SKU was not found" ] &&
	ok "feed outcomes: an unknown SKU is a DATA_ERROR" || notok "feed outcomes: DATA_ERROR" "$(res NO-SUCH-SKU)"
[ "$(res "$s4")" = "conflict quantity changed since it was read: $((q4 - 1)) now, $q4 expected (not written)" ] &&
	ok "feed outcomes: the SKU sold since the pull is a conflict, left out of the feed" ||
	notok "feed outcomes: sale" "$(res "$s4")"
[ "$(uploads | awk '{print $2}')" = $((nc - 1)) ] && [ "$(jq -r 'select(.status == "applied")' "$T/out" | jq -s length)" -eq $((nc - 5)) ] &&
	[ "$(fsets)" -eq $((nc - 5)) ] && ok "feed outcomes: one feed of $((nc - 1)) lines, every other line applied" ||
	notok "feed outcomes: the rest applied" "$(uploads; jq -r .status "$T/out" | sort | uniq -c)"

# ---- feed upload whose answer is lost: found in GET /v3/feeds, never sent again
feed_reset
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"feeds/upload"}}]}' > /dev/null
head -60 c701.ndjson > c60.ndjson
STDIN=c60.ndjson run invpush -q wmf
snap
expect_rc 0 "feed lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "feed lost answer: every correction applied (the feed found by listing)" ||
	notok "feed lost answer: every correction applied" "$(jq -r '"\(.status) \(.error)"' "$T/out" | sort | uniq -c | head -3)"
[ "$(nops feeds/upload)" -eq 1 ] && [ "$(nops feeds)" -eq 1 ] && [ "$(fsets)" -eq 60 ] &&
	ok "feed lost answer: one upload, one listing, each record set once" ||
	notok "feed lost answer: nothing sent twice" "$(nops feeds/upload) uploads, $(nops feeds) listings, $(fsets) sets"

# ---- feed upload that never arrived (connection dropped): not in the listing,
# so each SKU is read back and reported, never sent again
feed_reset
ctl POST faults '{"rules":[{"kind":"drop","next":1,"match":{"op":"feeds/upload"}}]}' > /dev/null
STDIN=c60.ndjson run invpush -q wmf
snap
expect_rc 1 "feed never arrived: exit 1"
jq -r 'select(.status != "applied") | .error' "$T/out" | sed 's/re-read shows [0-9]* ([0-9]* if/re-read shows N (M if/' | sort | uniq -c > got
echo "60 unknown outcome: [wmf]: POST /walmart/demo/v3/feeds: the answer was lost; GET /v3/feeds lists no feed that is surely this one; re-read shows N (M if applied; not sent again)" |
	diff - <(sed 's/^ *//' got) > /dev/null && ok "feed never arrived: its SKUs failed, unknown outcome, read back" ||
	notok "feed never arrived: unknown outcome" "$(cat got)"
[ "$(nops feeds/upload)" -eq 1 ] && [ "$(jq '[.requests[] | select(.fault == "drop")] | length' reqs.json)" -eq 1 ] &&
	[ "$(nops feeds)" -eq 3 ] && [ "$(fsets)" -eq 0 ] && [ "$(nops inventory)" -eq 120 ] &&
	ok "feed never arrived: not sent again (3 listings looked at, each SKU read before and after)" ||
	notok "feed never arrived: not sent again" "$(nops feeds/upload) uploads, $(nops feeds) listings, $(fsets) sets"

# ---- a feed that ends in ERROR (nothing processed), with progress on stderr
feed_reset
ctl POST config '{"wm_feed_error":1,"wm_feed_delay":0.3}' > /dev/null	# (the next feed fails)
STDIN=c60.ndjson run invpush -v wm1
snap
expect_rc 1 "feed ERROR: exit 1"
fid=$(uploads | awk '{print $1}')
[ "$(jq -r '"\(.status) \(.error)"' "$T/out" | sort -u)" = "failed not written: [wm1]: feed $fid: ERROR: SYSTEM_ERROR: ERR_INT_SYS_0000002: The feed could not be processed" ] &&
	[ "$(fsets)" -eq 0 ] && ok "feed ERROR: every line failed with Walmart's words, nothing written" ||
	notok "feed ERROR: every line failed" "$(jq -r '"\(.status) \(.error)"' "$T/out" | sort | uniq -c)"
grep -qxF "invpush: [wm1]: feed $fid (60 items): RECEIVED after 0.2 s, next look in 0.2 s" "$T/err" &&
	ok "feed ERROR: -v shows the feed's progress" || notok "feed ERROR: progress" "$(grep feed "$T/err")"

# ---- a feed not processed within feed_wait: unknown outcome, not sent again
feed_reset
ctl POST config '{"wm_feed_delay":60}' > /dev/null
STDIN=c60.ndjson run invpush -q wm1
snap
expect_rc 1 "feed not processed in time: exit 1"
fid=$(uploads | awk '{print $1}')
[ "$(jq -r '"\(.status) \(.error)"' "$T/out" | sort -u)" = "failed unknown outcome: feed $fid still RECEIVED after 2 s (not sent again; GET /v3/feeds/{feedId} tells)" ] &&
	[ "$(nops feeds/upload)" -eq 1 ] && ok "feed not processed in time: unknown outcome after feed_wait, sent once" ||
	notok "feed not processed in time" "$(jq -r '"\(.status) \(.error)"' "$T/out" | sort | uniq -c)"

# ---- refused credentials: exit 77, the secret never printed
printf 'wm_sim_id:wrong-secret-4711\n' > wm.token
run invpull wm
expect_rc 77 "bad credentials: exit 77"
expect_err "bad credentials: the message" <<X
invpull: [wm]: POST /walmart/demo/v3/token: HTTP 401: UNAUTHORIZED.GMP_GATEWAY_API: Unauthorized client id or client secret (check client_id:client_secret in token_file and that the API key has Inventory access)
X
if grep -qF -e wrong-secret-4711 -e "$(printf 'wm_sim_id:wrong-secret-4711' | base64)" "$T/out" "$T/err"; then notok "bad credentials: the secret never printed"
else ok "bad credentials: the secret never printed"; fi
STDIN=corr.ndjson run invpush wm
expect_rc 77 "bad credentials: invpush exit 77"
if grep -qF -e wrong-secret-4711 -e "$(printf 'wm_sim_id:wrong-secret-4711' | base64)" "$T/out" "$T/err"; then notok "bad credentials: invpush never prints the secret"
else ok "bad credentials: invpush never prints the secret"; fi
