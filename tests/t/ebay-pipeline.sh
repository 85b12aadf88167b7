# The eBay pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/ebay.py): invpull | invdiff against a master | invpush,
# ending with the store equal to the master.  The sample store has 450
# inventory items (three pages of /inventory_item at 200), some with no
# ship-to quantity yet and some with quantities split over two locations.
# Then, each from a fresh store: offset read as a record offset, the
# distributions, no-op writes skipped, a throttled run (a daily quota of 6
# calls per 500 ms "day", and a 429 on a write), a partial failure (a
# quantity eBay refuses, a SKU gone, a location), a write applied but its
# answer lost (resolved by a re-read, never re-sent), a sale between pull and
# push (a conflict, not overwritten), max_revisions, and refused credentials.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 450 --seed 4

TOKEN='v^1.1#i^1#sim-demo'
printf '%s\n' "$TOKEN" > eb.token
chmod 600 eb.token
cat > invkit.conf <<X
[eb]
type = ebay
base_url = http://127.0.0.1:$PORT/ebay/demo
token_file = $T/eb.token
X
post_state() {
	python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
		"http://127.0.0.1:$PORT/_sim/state" "$1"
}

# what the store holds: the ship-to total of every item that has one
ctl GET state | jq -c '.ebay.demo.items[] | select(.quantity != null) |
	{item: .sku, sku, location: "", qty: .quantity}' | sort > store-want

run invpull eb
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > store-got
cmp -s store-want store-got && ok "invpull: every item's ship-to quantity, exactly" ||
	notok "invpull: every item's ship-to quantity, exactly" "$(diff store-want store-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
n=$(wc -l < store-want)
none=$(ctl GET state | jq '[.ebay.demo.items[] | select(.quantity == null)] | length')
expect_err_has "invpull: $n records, the $none items without a quantity counted apart" \
	"eb: $n records, $n items ($none more whose stock the platform does not track); 3 pages;"
ctl GET 'log?kind=requests' | jq -r '.requests[] | "\(.method) \(.path)"' > reqs
printf 'GET /ebay/demo/sell/inventory/v1/inventory_item?limit=200&offset=%s\n' 0 1 2 | cmp -s - reqs &&
	ok "invpull: three pages of 200, following next" || notok "invpull: three pages of 200" "$(cat reqs)"

# offset read as a record offset: the next links say so, the pull is the same
ctl POST log/clear > /dev/null
ctl POST config '{"ebay_offset_pages":0}' > /dev/null
invpull -q eb | jq -c '{item, sku, location, qty}' | sort > got
cmp -s store-want got && ok "invpull: offset as a record offset, the same records" ||
	notok "invpull: offset as a record offset" "$(diff store-want got | head -5)"
ctl GET 'log?kind=requests' | jq -r '.requests[] | .path' > reqs
printf '/ebay/demo/sell/inventory/v1/inventory_item?limit=200&offset=%s\n' 0 200 400 | cmp -s - reqs &&
	ok "invpull: offsets 0, 200, 400 as the next links gave" || notok "invpull: offsets from next" "$(cat reqs)"
ctl POST config '{"ebay_offset_pages":1}' > /dev/null

# distributions = yes: one more record per merchantLocationKey
sed 's/^token_file.*/&\ndistributions = yes/' invkit.conf > dist.conf
ctl GET state | jq -c '.ebay.demo.items[] | select(.quantity != null) |
	({item: .sku, sku, location: "", qty: .quantity},
	 (.sku as $s | (.distributions // {}) | to_entries[] | {item: $s, sku: $s, location: .key, qty: .value}))' |
	sort > dist-want
invpull -q -c dist.conf eb | jq -c '{item, sku, location, qty}' | sort > got
cmp -s dist-want got && [ "$(grep -c '"location":"WH-' got)" -gt 0 ] &&
	ok "invpull: distributions = yes adds each merchantLocationKey's quantity" ||
	notok "invpull: distributions = yes" "$(diff dist-want got | head -5)"

# the master: every record at a new quantity, plus one item that has no
# quantity yet (from null)
invpull -q eb > have.ndjson
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' have.ndjson > master.ndjson
newsku=$(ctl GET state | jq -r '[.ebay.demo.items[] | select(.quantity == null)][0].sku')
printf '{"item":"%s","sku":"%s","location":"","qty":9}\n' "$newsku" "$newsku" >> master.ndjson
m=$(invdiff -q master.ndjson have.ndjson | wc -l)

pipeline() {
	invpull -q eb | invdiff -q master.ndjson - | invpush -q eb > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q eb | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }

ctl POST log/clear > /dev/null
pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
converged "the store equals the master"
[ "$(nsets)" -eq "$m" ] && ok "each SKU set once" || notok "each SKU set once" "$(nsets) sets for $m"
ctl GET 'log?kind=writes' | jq -e --arg s "$newsku" '[.writes[] | select(.sku == $s)] | length == 1 and
	.[0].before == null and .[0].after == 9' > /dev/null &&
	ok "the item without a quantity got one" || notok "the item without a quantity got one"
ctl GET 'log?kind=requests' > reqs.json
jq -r '.requests[] | select(.write) | "\(.method) \(.ops[0])"' reqs.json | sort | uniq -c |
	sed 's/^ *//' > got
echo "$(( (m + 24) / 25 )) POST bulk_update_price_quantity" | cmp -s - got &&
	ok "writes: bulk_update_price_quantity only, never PUT inventory_item" || notok "writes: bulk updates only" "$(cat got)"
[ "$(jq '[.requests[] | select(.ops == ["bulk_get_inventory_item"])] | length' reqs.json)" -eq $(( (m + 24) / 25 )) ] &&
	ok "each batch re-read just before its write" ||
	notok "each batch re-read before its write" "$(jq '[.requests[] | select(.ops == ["bulk_get_inventory_item"])] | length' reqs.json)"
ctl GET 'log?kind=writes' | jq -e '[.writes | group_by(.request_id)[] | length] | max <= 25' > /dev/null &&
	ok "at most 25 SKUs a write" || notok "at most 25 SKUs a write"

# a correction whose target the store already shows is not written (no revision spent)
read -r sku q < <(jq -r 'select(.qty > 0) | "\(.sku) \(.qty)"' master.ndjson | head -1)
printf '{"sku":"%s","item":"%s","location":"","from":%d,"to":%d,"delta":-1}\n' "$sku" "$sku" $((q + 1)) "$q" > noop.ndjson
ctl POST log/clear > /dev/null
STDIN=noop.ndjson run invpush -q eb
expect_rc 0 "no-op: exit 0"
[ "$(jq -r .status "$T/out")" = unchanged ] && [ "$(nsets)" -eq 0 ] &&
	ok "no-op: unchanged, nothing written" || notok "no-op: unchanged, nothing written" "$(cat "$T/out")"

# ---- throttled: a quota of 6 calls per 500 ms, and a 429 on the first write
ctl POST reset '{}' > /dev/null
ctl POST config '{"ebay_daily_quota":6,"ebay_day_ms":500}' > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"bulk_update_price_quantity"}}]}' > /dev/null
t0=$(date +%s%N)
pipeline
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '[.requests[] | select(.status != 429)] | length' reqs.json)
n429=$(jq '[.requests[] | select(.status == 429)] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$n429" -ge 2 ] && [ "$ms" -ge $(( (nreq / 6 - 1) * 500 )) ] &&
	ok "throttled: refused calls waited for ($nreq answered, $n429 refused, $ms ms)" ||
	notok "throttled: refused calls waited for" "$nreq answered, $n429 refused, $ms ms"
[ "$(nsets)" -eq "$m" ] && ok "throttled: the refused write sent again, each SKU set once" ||
	notok "throttled: each SKU set once" "$(nsets) of $m"
ctl DELETE faults > /dev/null
ctl POST config '{"ebay_daily_quota":2000000,"ebay_day_ms":86400000}' > /dev/null
converged "throttled: the store equals the master"

# ---- partial failure: a quantity eBay refuses, a SKU gone since the pull, a location
ctl POST reset '{}' > /dev/null
invpull -q eb > have.ndjson
neg=$(jq -r .sku have.ndjson | sed -n 3p)
gone=$(jq -r .sku have.ndjson | sed -n 5p)
ctl GET state | jq -c --arg s "$gone" '.ebay.demo.items |= map(select(.sku != $s))' > st.json
post_state st.json
invdiff -q master.ndjson have.ndjson | jq -c --arg n "$neg" 'if .sku == $n then .to = -1 | .delta = (-1 - .from) else . end' > corr.ndjson
printf '{"sku":"EB-00010","item":"EB-00010","location":"WH-1","from":1,"to":2,"delta":1}\n' >> corr.ndjson
ctl POST log/clear > /dev/null
STDIN=corr.ndjson run invpush -q eb
expect_rc 1 "partial failure: exit 1"
jq -r --arg s "$neg" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: eBay answered 400 for SKU '$neg': errorId 25709: The quantity must be a whole number of 0 or more" |
	cmp -s - got && ok "partial failure: the refused entry failed with eBay's words" ||
	notok "partial failure: the refused entry failed with eBay's words" "$(cat got)"
jq -r --arg s "$gone" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: SKU '$gone' has no inventory item or no ship-to quantity now (gone since it was read)" |
	cmp -s - got && ok "partial failure: the SKU gone failed, not written" ||
	notok "partial failure: the SKU gone failed, not written" "$(cat got)"
jq -r 'select(.location == "WH-1") | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: location 'WH-1' is a merchantLocationKey; quantities per location (availabilityDistributions) are read-only here, push the ship-to total (location \"\")" |
	cmp -s - got && ok "partial failure: a location's quantity is read-only" ||
	notok "partial failure: a location's quantity is read-only" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq 3 ] &&
	[ "$(nsets)" -eq $((m - 2)) ] && ok "partial failure: every other correction applied" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c) $(nsets) sets"
ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.write and .status == 207)] | length == 1' > /dev/null &&
	ok "partial failure: the write with the refused entry was answered 207" ||
	notok "partial failure: the write with the refused entry was answered 207"

# ---- lost answer: a write applied, its answer lost
ctl POST reset '{}' > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"bulk_update_price_quantity"}}]}' > /dev/null
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
ctl POST reset '{}' > /dev/null
invpull -q eb > have.ndjson
read -r sku q < <(jq -r 'select(.qty > 2) | "\(.sku) \(.qty)"' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"ebay\",\"shop\":\"demo\",\"sku\":\"$sku\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q eb'
expect_rc 1 "sale: exit 1 (one correction not applied)"
want=$(jq -r --arg s "$sku" 'select(.sku == $s) | .qty' master.ndjson)
jq -r --arg s "$sku" 'select(.sku == $s) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict SKU '$sku' shows $((q - 2)) now, not $q as read: changed since (a sale?); not written, eBay has no compare-and-set: pull again" |
	cmp -s - got && ok "sale: reported as a conflict" || notok "sale: reported as a conflict" "$(cat got)"
invpull -q eb | jq -r --arg s "$sku" 'select(.sku == $s) | .qty' > got
echo $((q - 2)) | cmp -s - got && ok "sale: kept, not overwritten with the master's $want" ||
	notok "sale: kept" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .sku' "$T/out")" = "$sku" ] && ok "sale: every other correction applied" ||
	notok "sale: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
converged_but_sold() { invpull -q eb | invdiff -q master.ndjson - | jq -r .sku; }
[ "$(converged_but_sold)" = "$sku" ] && ok "sale: the next run sees the truth (one SKU left to sync)" ||
	notok "sale: the next run sees the truth" "$(converged_but_sold | head -3)"

# ---- max_revisions: the writes of a run per SKU are counted
ctl POST reset '{}' > /dev/null
read -r sku q < <(jq -r 'select(.qty > 2) | "\(.sku) \(.qty)"' have.ndjson | head -1)
printf '{"sku":"A","item":"%s","location":"","from":%d,"to":%d,"delta":1}\n{"sku":"B","item":"%s","location":"","from":%d,"to":%d,"delta":1}\n' \
	"$sku" "$q" $((q + 1)) "$sku" $((q + 1)) $((q + 2)) > two.ndjson
sed 's/^token_file.*/&\nmax_revisions = 1/' invkit.conf > rev.conf
STDIN=two.ndjson run invpush -q -c rev.conf --batch 1 eb
expect_rc 1 "max_revisions: exit 1"
jq -r '"\(.sku) \(.status) \(.error)"' "$T/out" > got
printf '%s\n' "A applied null" "B failed not written: SKU '$sku' was written 1 times in this run (max_revisions = 1; eBay allows 250 revisions a listing a day)" |
	cmp -s - got && ok "max_revisions: the second write of a SKU refused" || notok "max_revisions: the second write refused" "$(cat got)"
# by default (250) both go; eBay's own limit (1 here) refuses the second
ctl POST reset '{}' > /dev/null
ctl POST config '{"ebay_max_revisions":1}' > /dev/null
STDIN=two.ndjson run invpush -q --batch 1 eb
expect_rc 1 "eBay's own revision limit: exit 1"
jq -r '"\(.sku) \(.status) \(.error)"' "$T/out" > got
printf '%s\n' "A applied null" "B failed not written: eBay answered 400 for SKU '$sku': errorId 25766: Each listing can be revised up to 1 times in one calendar day" |
	cmp -s - got && ok "eBay's own revision limit: sent (max_revisions 250), the refusal mapped to the correction" ||
	notok "eBay's own revision limit mapped" "$(cat got)"
ctl POST config '{"ebay_max_revisions":250}' > /dev/null

# ---- credentials refused: exit 77, the token never printed
ctl POST reset '{}' > /dev/null
ctl GET state | jq -c '.ebay.demo.tokens[0].expired = true' > st.json
post_state st.json
run invpull eb
expect_rc 77 "expired token: invpull exits 77"
cat "$T/out" "$T/err" >> seen
expect_err "expired token: the message says what to do" <<X
invpull: [eb]: GET /ebay/demo/sell/inventory/v1/inventory_item: HTTP 401: errorId 1001: Invalid access token. Check the value of the Authorization HTTP request header. (the user access token was refused: eBay user access tokens expire about 2 hours after they are minted; put a fresh one in token_file or INVKIT_TOKEN_<NAME>)
X
STDIN=master.ndjson run sh -c 'invdiff -q - have.ndjson | invpush -q eb'
expect_rc 77 "expired token: invpush exits 77"
cat "$T/out" "$T/err" >> seen
ctl POST reset '{}' > /dev/null
sed '/^token_file/d' invkit.conf > env.conf
INVKIT_TOKEN_EB='v^1.1#i^1#not-the-token' run invpull -c env.conf eb
expect_rc 77 "wrong token from INVKIT_TOKEN_EB: exit 77"
cat "$T/out" "$T/err" >> seen
expect_err_has "wrong token: errorId 1001" "HTTP 401: errorId 1001: Invalid access token"
ctl GET state | jq -c '.ebay.demo.tokens = [{"token": "v^1.1#i^1#sim-demo", "scope": "sell.inventory.readonly"}]' > st.json
post_state st.json
jq -c 'select(.qty > 0) | {sku, item, location, from: .qty, to: (.qty + 1), delta: 1}' have.ndjson | head -1 > one.ndjson
STDIN=one.ndjson run invpush -q eb
expect_rc 77 "read-only token: invpush exits 77"
cat "$T/out" "$T/err" >> seen
expect_err_has "read-only token: the scope named" "HTTP 403: errorId 1100: Insufficient permissions to fulfill the request. (the token lacks the scope https://api.ebay.com/oauth/api_scope/sell.inventory"
if [ ! -s seen ] || grep -rqF -e "$TOKEN" -e 'not-the-token' seen "$T/state"; then
	notok "the token never printed nor journaled"
else
	ok "the token never printed nor journaled"
fi

# ---- refresh mode: the access token minted from the application's keys
# and the seller's refresh token, in memory only, renewed when it is near
# its end or refused
ctl POST reset '{}' > /dev/null
CID=invkit-sim-PRD-demo CSEC=PRD-sim-demo-secret RTOK='v^1.1#i^1#r^1#sim-demo-refresh'
B64=$(printf '%s:%s' "$CID" "$CSEC" | base64 -w0)
printf '%s:%s\n' "$CID" "$CSEC" > eb.client
printf '%s\n' "$RTOK" > eb.refresh
chmod 600 eb.client eb.refresh
touch -d '2026-01-01 00:00:00' eb.refresh
cat > rf.conf <<X
[eb]
type = ebay
base_url = http://127.0.0.1:$PORT/ebay/demo
client_file = $T/eb.client
refresh_token_file = $T/eb.refresh
X
tokreqs() { jq '[.requests[] | select(.ops == ["oauth2/token"])] | length' "$1"; }
expired() { jq '[.requests[] | select((.notes // []) | index("expired token"))] | length' "$1"; }
: > seen
ctl POST config '{"ebay_token_calls":2}' > /dev/null
ctl POST log/clear > /dev/null
run invpull -c rf.conf eb
expect_rc 0 "refresh: invpull exits 0"
cat "$T/out" "$T/err" >> seen
jq -c '{item, sku, location, qty}' "$T/out" | sort > got
cmp -s store-want got && ok "refresh: invpull, every item's ship-to quantity" ||
	notok "refresh: invpull, every item's ship-to quantity" "$(diff store-want got | head -5)"
ctl GET 'log?kind=requests' | jq -r '.requests[] | "\(.method) \(.path) \(.status)"' > reqs
pg='GET /ebay/demo/sell/inventory/v1/inventory_item?limit=200&offset='
tk='POST /ebay/demo/identity/v1/oauth2/token 200'
printf '%s\n' "$tk" "${pg}0 200" "${pg}1 200" "${pg}2 401" "$tk" "${pg}2 200" | cmp -s - reqs &&
	ok "refresh: a token minted, refused at its third call (eBay's 401), renewed once, the page read again" ||
	notok "refresh: a token minted, renewed after the 401" "$(cat reqs)"

# a token that dies after 5 calls (well before its announced 2 hours):
# each 401 renews it once and the refused call goes again; every
# correction is set exactly once
export INVKIT_CONFIG=$T/rf.conf
ctl POST config '{"ebay_token_calls":5}' > /dev/null
ctl POST log/clear > /dev/null
pipeline
expect_rc 0 "refresh, token dying mid-run: pull | diff | push exits 0"
cat "$T/out" "$T/err" >> seen
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(wc -l < "$T/out")" -eq "$m" ] &&
	ok "refresh, token dying mid-run: all $m corrections applied" ||
	notok "refresh, token dying mid-run: all corrections applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nsets)" -eq "$m" ] && ok "refresh, token dying mid-run: each SKU set exactly once" ||
	notok "refresh, token dying mid-run: each SKU set once" "$(nsets) sets for $m"
ctl GET 'log?kind=requests' > reqs.json
n401w=$(jq '[.requests[] | select(.write and .status == 401)] | length' reqs.json)
n401r=$(jq '[.requests[] | select(.write | not) | select(.status == 401)] | length' reqs.json)
ntok=$(tokreqs reqs.json)
[ "$n401w" -ge 1 ] && [ "$ntok" -eq $((n401w + n401r + 2)) ] &&
	[ "$(expired reqs.json)" -eq $((n401w + n401r)) ] &&
	ok "refresh, token dying mid-run: one renewal per 401 ($n401r on reads, $n401w on writes), one first token per process" ||
	notok "refresh, token dying mid-run: one renewal per 401" "$n401r on reads, $n401w on writes, $ntok tokens"
ctl POST config '{"ebay_token_calls":0}' > /dev/null
converged "refresh, token dying mid-run: the store equals the master"

# a token announced to live 1 s, reads answered after 300 ms: renewed
# before its end, not after a 401
ctl POST reset '{}' > /dev/null
invpull -q eb > have.ndjson
invdiff -q master.ndjson have.ndjson | head -100 > part.ndjson
ctl POST config '{"ebay_token_life":1}' > /dev/null
ctl POST faults '{"rules":[{"kind":"slow","ms":300,"phase":"after","match":{"op":"bulk_get_inventory_item"}}]}' > /dev/null
np=$(wc -l < part.ndjson)
ctl POST log/clear > /dev/null
STDIN=part.ndjson run invpush -q eb
expect_rc 0 "refresh, 1 s tokens: invpush exits 0"
cat "$T/out" "$T/err" >> seen
ctl GET 'log?kind=requests' > reqs.json
ntok=$(tokreqs reqs.json)
n401=$(jq '[.requests[] | select(.status == 401)] | length' reqs.json)
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(nsets)" -eq "$np" ] && [ "$ntok" -ge $((n401 + 2)) ] &&
	ok "refresh, 1 s tokens: $np corrections applied once, renewed before expiry ($ntok tokens, $n401 refused calls)" ||
	notok "refresh, 1 s tokens: renewed before expiry" "$(jq -r .status "$T/out" | sort | uniq -c) $(nsets) sets, $ntok tokens, $n401 refused"
ctl DELETE faults > /dev/null
ctl POST config '{"ebay_token_life":7200}' > /dev/null
unset INVKIT_CONFIG

# eBay's answer carries no new refresh token: the file is only read
[ "$(cat eb.refresh)" = "$RTOK" ] && [ "$(stat -c '%a %y' eb.refresh)" = "600 2026-01-01 00:00:00.000000000 +0000" ] &&
	ok "refresh: the refresh token file left as it was" || notok "refresh: the refresh token file left as it was" "$(stat -c '%a %y' eb.refresh)"

# refused: the refresh token revoked, the application's keys wrong
ctl POST reset '{}' > /dev/null
ctl GET state | jq -c '.ebay.demo.refresh_tokens[0].revoked = true' > st.json
post_state st.json
run invpull -c rf.conf eb
expect_rc 77 "refresh token refused: invpull exits 77"
cat "$T/out" "$T/err" >> seen
expect_err "refresh token refused: the message names the file" <<X
invpull: [eb]: POST /ebay/demo/identity/v1/oauth2/token: HTTP 400: invalid_grant: the provided authorization refresh token is invalid or was issued to another client (eBay refused the refresh token in $T/eb.refresh: it expired (18 months after the seller's consent), was revoked, or belongs to another application; have the seller consent again and put the new refresh token there)
X
jq -c 'select(.qty > 0) | {sku, item, location, from: .qty, to: (.qty + 1), delta: 1}' have.ndjson | head -3 > one.ndjson
STDIN=one.ndjson run invpush -q -c rf.conf eb
expect_rc 77 "refresh token refused: invpush exits 77"
cat "$T/out" "$T/err" >> seen
[ "$(jq -r '.status' "$T/out" | sort -u)" = failed ] && [ "$(nsets)" -eq 0 ] &&
	ok "refresh token refused: nothing written, each correction failed" || notok "refresh token refused: nothing written" "$(cat "$T/out")"
ctl POST reset '{}' > /dev/null
printf '%s:%s\n' "$CID" "PRD-not-the-secret" > eb.client
run invpull -c rf.conf eb
expect_rc 77 "client keys refused: invpull exits 77"
cat "$T/out" "$T/err" >> seen
expect_err "client keys refused: the message names the file" <<X
invpull: [eb]: POST /ebay/demo/identity/v1/oauth2/token: HTTP 401: invalid_client: client authentication failed (eBay refused the application's keys: check client_id:client_secret in $T/eb.client)
X
printf '%s:%s\n' "$CID" "$CSEC" > eb.client

# the settings checked before any request
ctl POST log/clear > /dev/null
sed '/^client_file/d' rf.conf > bad.conf
run invpull -c bad.conf eb
expect_rc 78 "refresh: client_file missing, exit 78"
expect_err "refresh: client_file missing, said so" <<X
invpull: bad.conf:1: [eb]: client_file = is required with refresh_token_file = (the refresh mode)
X
printf 'token_file = %s/eb.token\n' "$T" >> rf.conf
run invpull -c rf.conf eb
expect_rc 78 "refresh: token_file and refresh_token_file together, exit 78"
expect_err_has "refresh: token_file and refresh_token_file together, said so" \
	"[eb]: token_file = and refresh_token_file = exclude each other"
sed -i '/^token_file/d' rf.conf
chmod 644 eb.refresh
run invpull -c rf.conf eb
expect_rc 78 "refresh: a refresh token file others can read, exit 78"
expect_err "refresh: a refresh token file others can read, refused" <<X
invpull: rf.conf: [eb]: refresh_token_file $T/eb.refresh is readable by others (mode 644); chmod 600 it
X
chmod 600 eb.refresh
ctl GET 'log?kind=requests' | jq -e '.requests | length == 0' > /dev/null &&
	ok "refresh: bad settings send nothing" || notok "refresh: bad settings send nothing"
if [ ! -s seen ] || grep -rqF -e "$RTOK" -e "$CSEC" -e "$B64" -e 'PRD-not-the-secret' -e 't^sim-' seen "$T/state"; then
	notok "refresh: no secret (refresh token, client secret, access token) printed nor journaled"
else
	ok "refresh: no secret (refresh token, client secret, access token) printed nor journaled"
fi
