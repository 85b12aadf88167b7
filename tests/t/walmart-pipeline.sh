# The Walmart pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/walmart.py): invpull | invdiff against a master |
# invpush, ending with the store equal to the master.  The sample store has
# 130 SKUs (three pages of /v3/inventories) at two ship nodes.  Then, each
# from a fresh store: a throttled run (small endpoint buckets, a 429 on a
# write, short-lived tokens), a partial failure (an unknown ship node and a
# record gone), a write applied but its answer lost (resolved by a re-read,
# never re-sent), a sale between pull and push (reported as a conflict, the
# sale kept), and refused credentials (exit 77, the secret never printed).
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
