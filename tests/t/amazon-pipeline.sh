# The Amazon pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/amazon.py): invpull | invdiff against a master |
# invpush, ending with the merchant-fulfilled quantities equal to the master.
# The sample seller has 45 listings over three search pages, every 7th
# fulfilled by Amazon (no merchant quantity: not pulled, never written).
# Then, each from a fresh store: a throttled run (3 requests/s per
# operation, a 429 on a PATCH, access tokens living 3 s), a partial failure
# (an INVALID submission and a listing deleted since the pull), a lost
# answer (resolved by a re-read, never re-sent; and one whose accepted patch
# had not been applied yet: unknown outcome), a sale between pull and push
# (a conflict: Amazon has no delta and no compare-and-set, so it is not
# overwritten), more listings than a search can page through (69; --sku
# still works), and refused credentials (77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 45 --seed 2

SECRET='amzn1.oa2-cs.v1.simdemo'
printf 'amzn1.application-oa2-client.simdemo:%s:Atzr|sim-demo\n' "$SECRET" > amz.token
chmod 600 amz.token
conf() {
	cat > invkit.conf <<X
[amz]
type = amazon
base_url = http://127.0.0.1:$PORT/amazon/demo
lwa_url = http://127.0.0.1:$PORT/amazon/demo/auth/o2/token
seller_id = A3SIMSELLER01
marketplace_id = ATVPDKIKX0DER
token_file = $T/$1
${2:-}
X
}
conf amz.token
# Amazon's own rates (5 requests/s) make a 39-listing push take 16 s: the runs
# that are not about throttling go at 40/s (the driver follows the rate header)
FAST='{"amz_search_rate":40,"amz_search_burst":40,"amz_get_rate":40,"amz_get_burst":40,"amz_patch_rate":40,"amz_patch_burst":40}'
ctl POST config "$FAST" > /dev/null
sim_reset() { ctl POST reset '{}' > /dev/null; ctl POST config "$FAST" > /dev/null; }

# what the seller shows: the merchant quantity of every listing that has one
ctl GET state | jq -c '.amazon.demo.items[] | select(.mfn != null) | {item: .sku, sku, location: "", qty: .mfn}' |
	sort > store-want

run invpull -q amz
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > store-got
cmp -s store-want store-got && ok "invpull: every merchant-fulfilled listing, exact" ||
	notok "invpull: every merchant-fulfilled listing, exact" "$(diff store-want store-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" || notok "invpull: state available"
[ "$(wc -l < store-want)" -eq 39 ] && ok "invpull: the 6 FBA listings left out (39 of 45)" ||
	notok "invpull: the 6 FBA listings left out" "$(wc -l < store-want)"
ctl GET 'log?kind=requests' | jq -c '[.requests[] | .ops[0]]' > got
echo '["auth/o2/token","searchListingsItems","searchListingsItems","searchListingsItems"]' | cmp -s - got &&
	ok "invpull: one token, three pages of 20" || notok "invpull: one token, three pages of 20" "$(cat got)"

# the master: every listing at a new quantity
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
m=$(wc -l < master.ndjson)

pipeline() {
	invpull -q amz | invdiff -q "${1:-master.ndjson}" - | invpush -q amz > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q amz | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }
nops() { ctl GET 'log?kind=requests' | jq "[.requests[] | select(.ops == [\"$1\"])] | length"; }

ctl DELETE log > /dev/null
pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per listing ($m)" || notok "one result per listing" "$(wc -l < "$T/out")"
converged "the seller's quantities equal the master"
[ "$(nsets)" -eq "$m" ] && [ "$(nops patchListingsItem)" -eq "$m" ] && [ "$(nops getListingsItem)" -eq "$m" ] &&
	ok "each listing re-read once and patched once" ||
	notok "each listing re-read once and patched once" "$(nsets) sets, $(nops patchListingsItem) PATCH, $(nops getListingsItem) GET"
ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.kind == "set")][0] | .location == "" and (.submission_id | length) > 0' \
	> /dev/null && ok "writes are absolute sets of the one pool" || notok "writes are absolute sets of the one pool"

# ---- throttled: 3 requests/s per operation, a 429 on a PATCH, tokens living 3 s
sim_reset
invpull -q amz > have.ndjson
jq -c 'if input_line_number <= 10 then .qty += 4 else . end' have.ndjson > master10.ndjson
ctl DELETE log > /dev/null
ctl POST config '{"amz_search_rate":3,"amz_search_burst":3,"amz_get_rate":3,"amz_get_burst":3,"amz_patch_rate":3,"amz_patch_burst":3,"amz_token_ttl":3}' > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"patchListingsItem"}}]}' > /dev/null
t0=$(date +%s%N)
pipeline master10.ndjson
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort | uniq -c | tr -s ' ')" = " 10 applied" ] && ok "throttled: the 10 corrections applied" ||
	notok "throttled: the 10 corrections applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '[.requests[] | select(.ops != ["auth/o2/token"])] | length' reqs.json)
n429=$(jq '[.requests[] | select(.status == 429 and .fault == null)] | length' reqs.json)
ntok=$(jq '[.requests[] | select(.ops == ["auth/o2/token"] and .status == 200)] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$n429" -le 3 ] && ok "throttled: paced by x-amzn-RateLimit-Limit ($nreq requests, $n429 refused)" ||
	notok "throttled: paced by x-amzn-RateLimit-Limit" "$nreq requests, $n429 refused"
[ "$ms" -ge 2000 ] && ok "throttled: took its time ($ms ms)" || notok "throttled: took its time" "$ms ms"
[ "$ntok" -ge 2 ] && ok "throttled: expired access tokens renewed ($ntok tokens)" ||
	notok "throttled: expired access tokens renewed" "$ntok tokens"
[ "$(nsets)" -eq 10 ] && ok "throttled: the refused PATCH sent again after a re-read, each once" ||
	notok "throttled: each listing set once" "$(nsets)"
ctl DELETE faults > /dev/null
ctl POST config '{"amz_token_ttl":3600}' > /dev/null
ctl POST config "$FAST" > /dev/null
invpull -q amz | invdiff -q -e master10.ndjson - > "$T/diff" && [ ! -s "$T/diff" ] &&
	ok "throttled: the seller equals the master" || notok "throttled: the seller equals the master" "$(head -3 "$T/diff")"

# ---- partial failure: an INVALID submission, a listing deleted since the pull
sim_reset
invpull -q amz > have.ndjson
big=$(jq -r .sku have.ndjson | sed -n 2p)
gone=$(jq -r .sku have.ndjson | sed -n 3p)
ctl GET state | jq -c --arg s "$gone" '.amazon.demo.items |= map(select(.sku != $s))' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
invdiff -q master.ndjson have.ndjson | jq -c --arg b "$big" 'if .sku == $b then .to = 3000000000 | .delta = .to - .from else . end' > corr.ndjson
ctl DELETE log > /dev/null
STDIN=corr.ndjson run invpush -q amz
expect_rc 1 "partial failure: exit 1"
jq -r --arg s "$big" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: INVALID: SIM_QUANTITY: 'quantity' must be a whole number from 0" | cmp -s - got &&
	ok "partial failure: the INVALID submission failed with Amazon's issue" ||
	notok "partial failure: the INVALID submission failed with Amazon's issue" "$(cat got)"
jq -r --arg s "$gone" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: no listing for SKU '$gone' in marketplace ATVPDKIKX0DER" | cmp -s - got &&
	ok "partial failure: the deleted listing failed, not written" ||
	notok "partial failure: the deleted listing failed, not written" "$(cat got)"
[ "$(jq -r 'select(.status == "applied") | .sku' "$T/out" | wc -l)" -eq $((m - 2)) ] && [ "$(nsets)" -eq $((m - 2)) ] &&
	ok "partial failure: every other correction applied, once" ||
	notok "partial failure: every other correction applied, once" "$(jq -r .status "$T/out" | sort | uniq -c) $(nsets) sets"

# ---- lost answer: a PATCH applied, its answer lost
sim_reset
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"patchListingsItem"}}]}' > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nsets)" -eq "$m" ] && [ "$(nops patchListingsItem)" -eq "$m" ] && ok "lost answer: nothing sent twice" ||
	notok "lost answer: nothing sent twice" "$(nsets) sets, $(nops patchListingsItem) PATCH for $m"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "lost answer: the fault fired" || notok "lost answer: the fault fired"
ctl DELETE faults > /dev/null
converged "lost answer: the seller equals the master"

# ---- lost answer while Amazon has not yet applied the accepted patch
sim_reset
ctl POST config '{"amz_apply_ms":3000}' > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"patchListingsItem"}}]}' > /dev/null
invpull -q amz --sku AMZ-00001 > have.ndjson
q=$(jq .qty have.ndjson)
ctl DELETE log > /dev/null
jq -c 'select(.sku == "AMZ-00001")' master.ndjson > m1.ndjson
run_in sh -c 'invdiff -q m1.ndjson have.ndjson | invpush -q amz'
expect_rc 1 "not yet applied: exit 1"
to=$(jq -r 'select(.sku == "AMZ-00001") | .qty' master.ndjson)
jq -r '"\(.status) \(.error)"' "$T/out" > got
echo "failed unknown outcome: the answer was lost, re-read shows $q ($to if applied; an accepted patch may still apply): not sent again" |
	cmp -s - got && ok "not yet applied: unknown outcome, reported" || notok "not yet applied: unknown outcome, reported" "$(cat got)"
[ "$(nops patchListingsItem)" -eq 1 ] && ok "not yet applied: not sent again" || notok "not yet applied: not sent again" "$(nops patchListingsItem)"
sleep 3.2
invpull -q amz --sku AMZ-00001 | jq .qty > got
echo "$to" | cmp -s - got && ok "not yet applied: Amazon applied it later" || notok "not yet applied: Amazon applied it later" "$(cat got)"
ctl DELETE faults > /dev/null
ctl POST config '{"amz_apply_ms":0}' > /dev/null

# ---- a sale between pull and push: a conflict, not overwritten
sim_reset
invpull -q amz > have.ndjson
read -r sku q < <(jq -r 'select(.qty > 2) | "\(.sku) \(.qty)"' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"amazon\",\"shop\":\"demo\",\"sku\":\"$sku\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q amz'
expect_rc 1 "sale: exit 1 (one conflict)"
jq -r --arg s "$sku" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict quantity is $((q - 2)) now, $q when read: changed since (not written)" | cmp -s - got &&
	ok "sale: reported as a conflict" || notok "sale: reported as a conflict" "$(cat got)"
invpull -q amz --sku "$sku" | jq .qty > got
echo $((q - 2)) | cmp -s - got && ok "sale: kept (not overwritten)" || notok "sale: kept (not overwritten)" "$(cat got)"
[ "$(jq -r 'select(.status == "applied")' "$T/out" | jq -s length)" -eq $((m - 1)) ] &&
	ok "sale: every other correction applied" || notok "sale: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"

# ---- more listings than a search pages through (1000): 69 before any output
sim_reset
ctl GET state | jq -c '.amazon.demo.items += [range(46; 1002) | {sku: "BIG-\(.)", mfn: 1}]' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
run invpull -q amz
expect_rc 69 "search cap: over 1000 listings, exit 69"
expect_empty_out "search cap: nothing emitted"
expect_err "search cap: the message" <<X
invpull: [amz]: 1001 listings: searchListingsItems pages through at most 1000; pull them by SKU (--sku or --item, read one by one)
X
run invpull -q amz --sku AMZ-00040,BIG-999,AMZ-00049
expect_rc 0 "search cap: --sku reads listings one by one"
jq -c '[.sku, .qty]' "$T/out" > got
ctl GET state | jq -c '.amazon.demo.items[] | select(.sku == "AMZ-00040" or .sku == "BIG-999" or .sku == "AMZ-00049") | select(.mfn != null) | [.sku, .mfn]' | sort > want
cmp -s want got && ok "search cap: --sku exact (FBA AMZ-00049 left out)" || notok "search cap: --sku exact" "$(diff want got)"
sim_reset

# ---- FBA inventory summaries (fba = yes): read-only records at location "fba"
sim_reset
ctl POST config '{"amz_fba_page":2}' > /dev/null
conf amz.token 'fba = yes
fba_states = fulfillable,inbound_shipped,reserved,unfulfillable'
ctl GET state | jq -c '.amazon.demo.items[] | select(.mfn != null) | {item: .sku, sku, location: "", state: "available", qty: .mfn}' > want
ctl GET state | jq -c '.amazon.demo.items[] | select(.fba != null) | . as $o | ("fulfillable", "inbound_shipped", "reserved", "unfulfillable") | {item: $o.sku, sku: $o.sku, location: "fba", state: ., qty: $o.fba[.]}' >> want
ctl DELETE log > /dev/null
run invpull -q amz
expect_rc 0 "fba: invpull exit 0"
jq -c '{item, sku, location, state, qty}' "$T/out" > got
cmp -s want got && ok "fba: merchant quantities, then 4 FBA states of the 6 FBA listings, exact" ||
	notok "fba: merchant quantities, then 4 FBA states of the 6 FBA listings, exact" "$(diff want got | head)"
ctl GET 'log?kind=requests' > reqs.json
jq -c '[.requests[] | .ops[0]]' reqs.json > got
echo '["auth/o2/token","searchListingsItems","searchListingsItems","searchListingsItems","getInventorySummaries","getInventorySummaries","getInventorySummaries"]' |
	cmp -s - got && ok "fba: three pages of 2 summaries, followed by nextToken" || notok "fba: three pages of 2 summaries" "$(cat got)"
jq -r '.requests[] | select(.ops == ["getInventorySummaries"]) | "\(.status) \(.path | test("details=true") and test("granularityType=Marketplace") and test("granularityId=ATVPDKIKX0DER") and test("marketplaceIds=ATVPDKIKX0DER"))"' reqs.json | sort -u > got
echo "200 true" | cmp -s - got && ok "fba: details=true, granularity and marketplace on every page, never throttled (paced at 2/s)" ||
	notok "fba: details, granularity, no 429" "$(cat got)"
run invpull -q amz --sku AMZ-00007,AMZ-00002
expect_rc 0 "fba: --sku exit 0"
ctl GET state | jq -c '.amazon.demo.items[] | select(.sku == "AMZ-00002") | {sku, location: "", state: "available", qty: .mfn}' > want
ctl GET state | jq -c '.amazon.demo.items[] | select(.sku == "AMZ-00007") | . as $o | ("fulfillable", "inbound_shipped", "reserved", "unfulfillable") | {sku: $o.sku, location: "fba", state: ., qty: $o.fba[.]}' >> want
jq -c '{sku, location, state, qty}' "$T/out" > got
cmp -s want got && ok "fba: --sku asks sellerSkus, exact" || notok "fba: --sku asks sellerSkus, exact" "$(diff want got)"
conf amz.token 'fba = only'
ctl DELETE log > /dev/null
run invpull -q amz
expect_rc 0 "fba only: exit 0"
[ "$(jq -r '"\(.location) \(.state)"' "$T/out" | sort -u)" = "fba fulfillable" ] && [ "$(wc -l < "$T/out")" -eq 6 ] &&
	ok "fba only: the fulfillable quantity of the 6 FBA listings (default state)" || notok "fba only: fulfillable of 6" "$(head -3 "$T/out")"
[ "$(nops searchListingsItems)" -eq 0 ] && ok "fba only: no listings read" || notok "fba only: no listings read" "$(nops searchListingsItems)"
conf amz.token 'fba = maybe'
run invpull -q amz
expect_rc 78 "fba: a bad value is a config error"
expect_err "fba: the config message" <<X
invpull: invkit.conf:1: [amz]: fba: 'maybe' is not yes, no or only
X
conf amz.token 'fba = yes
fba_states = fulfillable,sold'
run invpull -q amz
expect_rc 78 "fba: an unknown state is a config error"
expect_err_has "fba: the state message" "fba_states: 'sold' is not an FBA quantity"
# invpush refuses FBA records: Amazon owns them
conf amz.token 'fba = yes'
printf '%s\n' '{"sku":"AMZ-00007","item":"AMZ-00007","location":"fba","state":"fulfillable","from":4,"to":9,"delta":5,"reason":"sync"}' > fbacorr.ndjson
ctl DELETE log > /dev/null
STDIN=fbacorr.ndjson run invpush -q amz
expect_rc 1 "fba push: exit 1"
jq -r '"\(.status) \(.error)"' "$T/out" > got
echo "failed not written: location 'fba': FBA quantities are Amazon's (read-only); only merchant-fulfilled quantities (location \"\") are written" |
	cmp -s - got && ok "fba push: refused with a clear error" || notok "fba push: refused with a clear error" "$(cat got)"
[ "$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.write)] | length')" -eq 0 ] && [ "$(nsets)" -eq 0 ] &&
	ok "fba push: nothing sent" || notok "fba push: nothing sent"
# a dry run shows the same refusal (the driver's rule, no request), and plans the rest
printf '%s\n' '{"sku":"AMZ-00008","item":"AMZ-00008","location":"","from":4,"to":9,"delta":5,"reason":"sync"}' >> fbacorr.ndjson
ctl DELETE log > /dev/null
STDIN=fbacorr.ndjson run invpush --dry-run amz
expect_rc 1 "fba dry run: exit 1 (a correction would fail)"
jq -r '"\(.status) \(.error // "")"' "$T/out" > got
printf '%s\n' "failed not written: location 'fba': FBA quantities are Amazon's (read-only); only merchant-fulfilled quantities (location \"\") are written" "planned " |
	cmp -s - got && ok "fba dry run: refused as the push would, the other planned" ||
	notok "fba dry run: refused as the push would, the other planned" "$(cat got)"
expect_err "fba dry run: the summary counts it" <<'X'
invpush: amz: dry run: 1 corrections planned, 0 skipped, 1 refused; nothing written
X
[ "$(ctl GET 'log?kind=requests' | jq '.requests | length')" -eq 0 ] &&
	ok "fba dry run: no request at all" || notok "fba dry run: no request at all"

# ---- push by JSON_LISTINGS_FEED (feed_min = 20: the 39 corrections go in one feed)
sim_reset
conf amz.token 'feed_min = 20'
ctl DELETE log > /dev/null
pipeline
expect_rc 0 "feed: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(wc -l < "$T/out")" -eq "$m" ] &&
	ok "feed: every correction applied" || notok "feed: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
jq -c '[.requests[] | .ops[0] | select(. != "auth/o2/token" and . != "getFeed")]' reqs.json > got
echo '["searchListingsItems","searchListingsItems","searchListingsItems","searchListingsItems","searchListingsItems","createFeedDocument","uploadFeedDocument","createFeed","getFeedDocument","downloadFeedDocument"]' |
	cmp -s - got && ok "feed: pull, re-read by identifiers (2 x 20), document, upload, feed, report" ||
	notok "feed: the requests" "$(cat got)"
jq -e '[.requests[] | select(.ops[0] == "uploadFeedDocument" or .ops[0] == "downloadFeedDocument") | .status] == [200, 200]' reqs.json > /dev/null &&
	ok "feed: document uploaded and report downloaded (no access token sent there)" || notok "feed: upload/download" "$(jq -c '[.requests[] | [.ops[0], .status]]' reqs.json)"
[ "$(nsets)" -eq "$m" ] && ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.kind == "set") | .feed_id] | unique | length == 1' > /dev/null &&
	ok "feed: $m sets, all by one feed" || notok "feed: $m sets by one feed" "$(nsets)"
converged "feed: the seller equals the master"

# ---- feed: an ERROR message and a sale between pull and push
sim_reset
invpull -q amz > have.ndjson
read -r sku q < <(jq -r 'select(.qty > 2) | "\(.sku) \(.qty)"' have.ndjson | sed -n 2p)
big=$(jq -r .sku have.ndjson | sed -n 1p)
ctl POST sale "{\"platform\":\"amazon\",\"shop\":\"demo\",\"sku\":\"$sku\",\"qty\":2}" > /dev/null
invdiff -q master.ndjson have.ndjson | jq -c --arg b "$big" 'if .sku == $b then .to = 3000000000 | .delta = .to - .from else . end' > corr.ndjson
ctl DELETE log > /dev/null
STDIN=corr.ndjson run invpush -q amz
expect_rc 1 "feed errors: exit 1"
fid=$(ctl GET 'log?kind=writes' | jq -r '[.writes[] | select(.kind == "feed")][0].feed_id')
jq -r --arg s "$big" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: feed $fid: ERROR: SIM_QUANTITY: 'quantity' must be a whole number from 0" | cmp -s - got &&
	ok "feed errors: the ERROR issue mapped back to its record by messageId" || notok "feed errors: ERROR mapped to its record" "$(cat got)"
jq -r --arg s "$sku" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict quantity is $((q - 2)) now, $q when read: changed since (not written)" | cmp -s - got &&
	ok "feed errors: the sale is a conflict, left out of the feed" || notok "feed errors: the sale is a conflict" "$(cat got)"
[ "$(jq -r 'select(.status == "applied") | .sku' "$T/out" | wc -l)" -eq $((m - 2)) ] && [ "$(nsets)" -eq $((m - 2)) ] &&
	ok "feed errors: every other correction applied, once" || notok "feed errors: others applied" "$(jq -r .status "$T/out" | sort | uniq -c) $(nsets) sets"

# ---- feed: createFeed refused (429): re-read, a new document, sent again
sim_reset
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"createFeed"}}]}' > /dev/null
ctl DELETE log > /dev/null
pipeline
expect_rc 0 "feed 429: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(nops createFeed)" -eq 2 ] && [ "$(nops createFeedDocument)" -eq 2 ] &&
	[ "$(nsets)" -eq "$m" ] && ok "feed 429: sent again after a re-read, applied once" ||
	notok "feed 429: sent again, applied once" "$(nops createFeed) createFeed, $(nsets) sets"
ctl DELETE faults > /dev/null

# ---- feed: the createFeed answer lost; Amazon processed it at once
sim_reset
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"createFeed"}}]}' > /dev/null
ctl DELETE log > /dev/null
pipeline
expect_rc 0 "feed lost: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(nops createFeed)" -eq 1 ] && [ "$(nsets)" -eq "$m" ] &&
	ok "feed lost: applied (found by re-reading), the feed never sent twice" ||
	notok "feed lost: applied, not sent twice" "$(jq -r .status "$T/out" | sort | uniq -c) $(nops createFeed) createFeed"
ctl DELETE faults > /dev/null

# ---- feed: the createFeed answer lost while Amazon still has it queued: unknown outcome
sim_reset
ctl POST config '{"amz_feed_ms":3000}' > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"createFeed"}}]}' > /dev/null
ctl DELETE log > /dev/null
pipeline
expect_rc 1 "feed lost, queued: exit 1"
jq -r '.error' "$T/out" | sed 's/answer was lost (.*); re-read shows [0-9]* ([0-9]* if applied)/answer was lost (X); re-read shows N (M if applied)/' | sort -u > got
echo "unknown outcome: the createFeed answer was lost (X); re-read shows N (M if applied): not sent again" | cmp -s - got &&
	[ "$(jq -r .status "$T/out" | sort -u)" = failed ] && ok "feed lost, queued: every record failed, unknown outcome" ||
	notok "feed lost, queued: unknown outcome" "$(head -3 got)"
[ "$(nops createFeed)" -eq 1 ] && ok "feed lost, queued: not sent again" || notok "feed lost, queued: not sent again" "$(nops createFeed)"
sleep 3.2
ctl POST faults '{"rules":[]}' > /dev/null
converged "feed lost, queued: Amazon applied it later"

# ---- feed: still processing at feed_wait; CANCELLED; FATAL
sim_reset
ctl POST config '{"amz_feed_ms":5000}' > /dev/null
conf amz.token 'feed_min = 2
feed_wait = 1'
invpull -q amz --sku AMZ-00001,AMZ-00002 > have.ndjson
jq -c 'select(.sku == "AMZ-00001" or .sku == "AMZ-00002")' master.ndjson > m2.ndjson
invdiff -q m2.ndjson have.ndjson > corr2.ndjson
[ "$(wc -l < corr2.ndjson)" -eq 2 ] && ok "feed_wait: two corrections" || notok "feed_wait: two corrections" "$(cat corr2.ndjson)"
STDIN=corr2.ndjson run invpush -v amz
expect_rc 1 "feed_wait: exit 1"
fid=$(ctl GET 'log?kind=writes' | jq -r '[.writes[] | select(.kind == "feed")][0].feed_id')
expect_err_has "feed_wait: progress on stderr with -v" "invpush: [amz]: feed $fid: IN_QUEUE after 0."
jq -r '"\(.status) \(.error)"' "$T/out" | sed 's/re-read shows [0-9]* ([0-9]* if applied)/re-read shows N (M if applied)/' | sort -u > got
echo "failed unknown outcome: feed $fid still IN_QUEUE after 1 s (feed_wait); Amazon may apply it later; re-read shows N (M if applied): not sent again" |
	cmp -s - got && ok "feed_wait: unknown outcome, not sent again" || notok "feed_wait: unknown outcome" "$(cat got)"
sim_reset
ctl POST config '{"amz_feed_end":1}' > /dev/null
conf amz.token 'feed_min = 2'
STDIN=corr2.ndjson run invpush -q amz
expect_rc 1 "cancelled: exit 1"
fid=$(ctl GET 'log?kind=writes' | jq -r '[.writes[] | select(.kind == "feed")][0].feed_id')
jq -r '"\(.status) \(.error)"' "$T/out" | sort -u > got
echo "failed not written: feed $fid was CANCELLED" | cmp -s - got && [ "$(nsets)" -eq 0 ] &&
	ok "cancelled: not written" || notok "cancelled: not written" "$(cat got)"
sim_reset
ctl POST config '{"amz_feed_end":2}' > /dev/null
STDIN=corr2.ndjson run invpush -q amz
expect_rc 1 "fatal: exit 1"
fid=$(ctl GET 'log?kind=writes' | jq -r '[.writes[] | select(.kind == "feed")][0].feed_id')
jq -r '"\(.status) \(.error)"' "$T/out" | sed 's/re-read shows [0-9]* ([0-9]* if applied)/re-read shows N (M if applied)/' | sort -u > got
echo "failed unknown outcome: feed $fid ended FATAL; re-read shows N (M if applied): not sent again" | cmp -s - got &&
	ok "fatal: unknown outcome after a re-read" || notok "fatal: unknown outcome" "$(cat got)"
sim_reset
conf amz.token

# ---- refused credentials
printf 'amzn1.application-oa2-client.simdemo:amzn1.oa2-cs.v1.WRONGSECRET:Atzr|sim-demo\n' > bad.token
chmod 600 bad.token
conf bad.token
run invpull -q amz
expect_rc 77 "bad credentials: exit 77"
expect_err "bad credentials: the message" <<X
invpull: cannot get an access token: [amz]: POST /amazon/demo/auth/o2/token: HTTP 401: invalid_client: Client authentication failed (check client_id:client_secret:refresh_token in token_file or INVKIT_TOKEN_<NAME>)
X
printf 'amzn1.application-oa2-client.simdemo:%s:Atzr|sim-WRONG\n' "$SECRET" > bad.token
ctl DELETE log > /dev/null
STDIN=corr.ndjson run invpush -q amz
expect_rc 77 "bad refresh token: invpush exits 77"
if grep -qF -e "$SECRET" -e 'sim-WRONG' -e 'Atzr' "$T/out" "$T/err"; then
	notok "bad credentials: no secret printed" "$(cat "$T/err")"
else
	ok "bad credentials: no secret printed"
fi
expect_err_has "bad refresh token: invalid_grant named" "HTTP 400: invalid_grant: The request has an invalid grant parameter : refresh_token"
[ "$(nsets)" -eq 0 ] && ok "bad credentials: nothing written" || notok "bad credentials: nothing written" "$(nsets)"
