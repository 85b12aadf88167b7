# The TikTok Shop pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/tiktok.py, which checks every request's HMAC-SHA256
# sign with its own implementation): invpull | invdiff against a master |
# invpush, ending with the shop equal to the master.  The sample shop has
# 250 products (three pages of products/search), SKUs with records at one
# or two warehouses.  Then, each from a fresh shop: a throttled run (3
# requests a second, and a 429 on a write), a partial failure (per-SKU
# errors inside a code 0 answer), a write applied but its answer lost and
# one dropped before it was applied (both resolved by re-reading, never
# re-sent blindly), a sale between pull and push (a conflict: TikTok Shop
# has no compare-and-set, the sale is kept), and bad credentials (exit 77,
# the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 250 --seed 4
# the platform's rate limits are not published: the simulator's is raised, and
# the driver told so, except for the throttled run
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"tiktok_qps":1000}' > /dev/null; }
fresh

SECRET=tts_sim_secret TOKEN=TTP_sim_demo
printf '%s:%s\n' "$SECRET" "$TOKEN" > tts.token
chmod 600 tts.token
cat > invkit.conf <<X
[tts]
type = tiktok
base_url = http://127.0.0.1:$PORT/tiktok/demo
app_key = tts_sim_key
shop_cipher = ROW_sim_demo
token_file = $T/tts.token
rate_limit = 500
X
API=/tiktok/demo/product/202309

# what the shop holds: every SKU's quantity at every warehouse it has a record at
ctl GET state | jq -c '.tiktok.demo.products[] | .id as $p | .skus[] | . as $s | .inventory |
	to_entries[] | {item: "\($p)/\($s.id)", sku: $s.seller_sku, location: .key, qty: .value}' |
	sort > shop-want

run invpull -q tts
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU at every warehouse" ||
	notok "invpull: every SKU at every warehouse" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
pages=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["products/search"] and .status == 200)] | length')
[ "$pages" -eq 3 ] && ok "invpull: three pages read" || notok "invpull: three pages read" "$pages"
ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.status != 200)] | length == 0' > /dev/null &&
	ok "invpull: every request signed as the platform checks it" ||
	notok "invpull: every request signed as the platform checks it"

# the master: every record at a new quantity, plus a new record (a SKU with
# none at the second warehouse)
WH2=7300000000000000002
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
read -r newitem newsku < <(jq -r -s --arg w "$WH2" 'group_by(.item)[] | select(length == 1 and
	.[0].location != $w) | .[0] | "\(.item) \(.sku)"' "$T/out" | head -1)
printf '{"item":"%s","sku":"%s","location":"%s","qty":9}\n' "$newitem" "$newsku" "$WH2" >> master.ndjson
invdiff -q master.ndjson "$T/out" > corr.ndjson
m=$(wc -l < corr.ndjson)
np=$(jq -r '.item | split("/")[0]' corr.ndjson | sort -u | wc -l)
# invpush sends batches of 100 corrections, in input order: one request per
# product of each batch
nreqs=$(jq -r '.item | split("/")[0]' corr.ndjson | awk '!seen[int((NR - 1) / 100) " " $1]++ { n++ } END { print n }')

pipeline() {
	invpull -q tts | invdiff -q master.ndjson - | invpush -q tts > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q tts | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }
nupdates() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["inventory/update"])] | length'; }

t0=$(date +%s%N)
pipeline
t1=$(date +%s%N)
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
converged "the shop equals the master"
[ "$(nsets)" -eq "$m" ] && ok "each warehouse quantity set once" || notok "each warehouse quantity set once" "$(nsets) of $m"
[ "$(nupdates)" -eq "$nreqs" ] &&
	ok "one update request per product and batch ($nreqs for $np products, $(( (t1 - t0) / 1000000 )) ms for the run)" ||
	notok "one update request per product and batch" "$(nupdates) requests, $nreqs expected"
ctl GET 'log?kind=writes' | jq -e --arg i "$newitem" --arg w "$WH2" '[.writes[] | select(.item == $i and
	.location == $w)][0] | .before == null and .after == 9' > /dev/null &&
	ok "the new record written at the second warehouse" || notok "the new record written at the second warehouse"

# ---- throttled: 3 requests a second (the driver told so), and a 429 on a write
ctl POST reset '{}' > /dev/null
ctl POST config '{"tiktok_qps":3}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
# eight products' worth of corrections
jq -r '.item | split("/")[0]' corr.ndjson | sort -u | head -8 > some
jq -c --rawfile p some 'select(.item | split("/")[0] as $x | $p | split("\n") | index($x))' corr.ndjson > corr12.ndjson
m12=$(wc -l < corr12.ndjson)
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"inventory/update"}}]}' > /dev/null
t0=$(date +%s%N)
STDIN=corr12.ndjson run invpush -q tts
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '.requests | length' reqs.json)
n429=$(jq '[.requests[] | select(.status == 429 and .fault == null)] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$n429" -le 2 ] && ok "throttled: the limiter kept within the rate ($nreq requests, $n429 refused)" ||
	notok "throttled: the limiter kept within the rate" "$nreq requests, $n429 refused"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq requests in $ms ms)" ||
	notok "throttled: paced" "$nreq requests in $ms ms"
[ "$(nsets)" -eq "$m12" ] && ok "throttled: the refused write sent again after a re-read, each set once" ||
	notok "throttled: each set once" "$(nsets) of $m12"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the 429 fired" ||
	notok "throttled: the 429 fired"
ctl DELETE faults > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: a SKU not live, and a warehouse the shop lacks, in a code 0 answer
fresh
invpull -q tts > have.ndjson
# a product with three SKUs: its first SKU is made not live; its second gets a
# correction for an unknown warehouse
read -r p s1 s2 < <(ctl GET state | jq -r '[.tiktok.demo.products[] | select(.skus | length == 3)][0] |
	"\(.id) \(.skus[0].id) \(.skus[1].id)"')
ctl GET state | jq -c --arg s "$s1" '(.tiktok.demo.products[].skus[] | select(.id == $s)) |= . + {live: false}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
{ invdiff -q master.ndjson have.ndjson
  printf '{"item":"%s/%s","sku":"x","location":"7300000000000000999","from":null,"to":4,"delta":4,"reason":"sync"}\n' "$p" "$s2"
} > corrp.ndjson
mp=$(wc -l < corrp.ndjson)
nbad=$(jq -r --arg i "$p/$s1" 'select(.item == $i) | .item' corrp.ndjson | wc -l)
STDIN=corrp.ndjson run invpush -q tts
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$p/$s1" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" | sort -u > got
echo "failed not written: [tts]: POST $API/products/$p/inventory/update: SKU $s1 at warehouse 7300000000000000001: code 12019025: The SKU stock can be updated only in live status" |
	cmp -s - got && ok "partial failure: the SKU not live failed with the platform's words" ||
	notok "partial failure: the SKU not live failed with the platform's words" "$(cat got)"
jq -r --arg i "$p/$s2" 'select(.item == $i and .location == "7300000000000000999") | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: [tts]: POST $API/products/$p/inventory/update: SKU $s2 at warehouse 7300000000000000999: code 12019026: The warehouse does not exist or is not available" |
	cmp -s - got && ok "partial failure: the unknown warehouse failed with the platform's words" ||
	notok "partial failure: the unknown warehouse failed with the platform's words" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq $((nbad + 1)) ] &&
	ok "partial failure: every other correction applied" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(nsets)" -eq $((mp - nbad - 1)) ] && ok "partial failure: the others set once each" ||
	notok "partial failure: the others set once each" "$(nsets) of $((mp - nbad - 1))"
# a read before each wave (at most 8 products of a batch of 100), and one
# more: the product's other SKUs read back
waves=$(jq -r '.item | split("/")[0]' corrp.ndjson | awk '!seen[int((NR - 1) / 100) " " $1]++ {
	n[int((NR - 1) / 100)]++ } END { for (b in n) w += int((n[b] + 7) / 8); print w }')
nsearch=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["inventory/search"])] | length')
[ "$nsearch" -eq $((waves + 1)) ] && ok "partial failure: a read before each wave of 8 products, one to read back" ||
	notok "partial failure: a read before each wave of 8 products, one to read back" "$nsearch reads, $waves waves"

# ---- lost answers: one write applied, its answer lost; one dropped before it was applied
fresh
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"inventory/update"}},
	{"kind":"drop","next":1,"skip":3,"match":{"op":"inventory/update"}}]}' > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nsets)" -eq "$m" ] && ok "lost answer: each set once (the applied one not sent again)" ||
	notok "lost answer: each set once" "$(nsets) sets for $m"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answer: both faults fired" ||
	notok "lost answer: both faults fired" "$(ctl GET faults)"
[ "$(nupdates)" -eq $((nreqs + 1)) ] && ok "lost answer: only the dropped write sent again" ||
	notok "lost answer: only the dropped write sent again" "$(nupdates) update requests, $nreqs + 1 expected"
ctl DELETE faults > /dev/null
converged "lost answer: the shop equals the master"

# ---- a sale between pull and push: a conflict, the sale kept
fresh
invpull -q tts > have.ndjson
read -r item loc q < <(jq -r 'select(.qty > 2) | "\(.item) \(.location) \(.qty)"' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"tiktok\",\"shop\":\"demo\",\"item\":\"$item\",\"location\":\"$loc\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q tts'
expect_rc 1 "sale: exit 1 (one correction not applied)"
jq -r --arg i "$item" --arg l "$loc" 'select(.item == $i and .location == $l) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict moved since it was read: $q then, $((q - 2)) now (not written: TikTok Shop has no compare-and-set)" |
	cmp -s - got && ok "sale: reported as a conflict, not written" || notok "sale: reported as a conflict" "$(cat got)"
invpull -q tts | jq -r --arg i "$item" --arg l "$loc" 'select(.item == $i and .location == $l) | .qty' > got
echo $((q - 2)) | cmp -s - got && ok "sale: kept (the shop shows $q less the 2 sold)" ||
	notok "sale: kept" "$(cat got)"
[ "$(jq -r --arg i "$item" --arg l "$loc" 'select(.item != $i or .location != $l) | .status' "$T/out" |
	sort -u)" = applied ] && ok "sale: every other correction applied" ||
	notok "sale: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_app_secret_1:%s\n' "$TOKEN" > bad1.token
printf '%s:TTP_wrong_token_2\n' "$SECRET" > bad2.token
chmod 600 bad1.token bad2.token
sed "s|$T/tts.token|$T/bad1.token|" invkit.conf > bad1.conf
sed "s|$T/tts.token|$T/bad2.token|" invkit.conf > bad2.conf
run invpull --config bad1.conf tts
expect_rc 77 "bad app secret: invpull exit 77"
expect_err "bad app secret: the platform's words" <<X
invpull: [tts]: POST $API/products/search: HTTP 401: code 106001: Invalid credentials. The 'sign' query parameter is invalid. For more details: https://m.tiktok.shop/s/AIu6dbFhs2XW (check app_key, and the app secret and access token in token_file: app_secret:access_token)
X
run invpull --config bad2.conf tts
expect_rc 77 "bad access token: invpull exit 77"
expect_err_has "bad access token: the platform's words" "HTTP 401: code 105001: Invalid credentials. The access token is invalid or expired."
STDIN=corr.ndjson run invpush --config bad1.conf tts
expect_rc 77 "bad app secret: invpush exit 77"
[ "$(nsets)" -eq 0 ] && ok "bad app secret: nothing written" || notok "bad app secret: nothing written" "$(nsets)"
if grep -rqF -e wrong_app_secret_1 -e TTP_wrong_token_2 -e "$SECRET" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret in the output, messages or journal"
else
	ok "bad credentials: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > bad3.token
chmod 600 bad3.token
sed "s|$T/tts.token|$T/bad3.token|" invkit.conf > bad3.conf
run invpull --config bad3.conf tts
expect_rc 78 "a secret without the access token: exit 78"
expect_err "a secret without the access token: says the shape, not the secret" <<X
invpull: bad3.conf: [tts]: the secret must be app_secret:access_token, on one line
X

# ---- refresh mode: the app secret alone in token_file, the refresh token in
# refresh_token_file; the access token is fetched from the token endpoint
# (here the simulator's, auth_url) and kept in memory only
fresh
ctl DELETE log > /dev/null
printf '%s\n' "$SECRET" > app.secret
printf 'TTR_sim_demo\n' > tts.refresh
chmod 600 app.secret tts.refresh
sed -e "s|^token_file = .*|token_file = $T/app.secret|" invkit.conf > refresh.conf
printf 'refresh_token_file = %s\nauth_url = http://127.0.0.1:%s/tiktok/demo\n' "$T/tts.refresh" "$PORT" >> refresh.conf
refreshes() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["token/refresh"] and .status == 200)] | length'; }
state_rt() { ctl GET state | jq -r .tiktok.demo.refresh_token; }
run invpull -q --config refresh.conf tts
expect_rc 0 "refresh: invpull exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "refresh: invpull reads every SKU at every warehouse" ||
	notok "refresh: invpull reads every SKU at every warehouse" "$(diff shop-want shop-got | head -3; head -3 "$T/err")"
[ "$(refreshes)" -eq 1 ] && ok "refresh: one access token fetched for the run" || notok "refresh: one access token fetched" "$(refreshes)"
ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.ops != ["token/refresh"]) | .status] | length == 3 and
	all(. == 200)' > /dev/null && ok "refresh: every call accepted with the fetched token" ||
	notok "refresh: every call accepted with the fetched token"
rt=$(cat tts.refresh)
[ "$rt" = "$(state_rt)" ] && [ "$rt" != TTR_sim_demo ] && ok "refresh: the rotated refresh token saved in refresh_token_file" ||
	notok "refresh: the rotated refresh token saved" "file has a different token than the platform"
[ "$(stat -c %a tts.refresh)" = 600 ] && [ -z "$(find . -maxdepth 1 -name 'tts.refresh.new-*')" ] &&
	ok "refresh: saved with mode 0600, nothing left aside" || notok "refresh: saved with mode 0600" "$(ls -l tts.refresh*)"

# a push whose access tokens expire mid-run (each after 40 accepted calls, unseen
# by the driver until refused): renewed each time, every correction written once;
# the pull and the push of the pipeline share (and rotate) one refresh token file
ctl DELETE log > /dev/null
ctl POST config '{"tiktok_qps":1000,"tiktok_token_uses":40}' > /dev/null
invpull -q --config refresh.conf tts | invdiff -q master.ndjson - | invpush -q --config refresh.conf tts > "$T/out" 2> "$T/err"
rc=$?
expect_rc 0 "refresh: pull | diff | push with expiring tokens: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(wc -l < "$T/out")" -eq "$m" ] &&
	ok "refresh: every correction applied ($m)" ||
	notok "refresh: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' | jq -r '.requests[].path' | grep -c "refresh_token=REDACTED-$(printf %s "$rt" | sha256sum | cut -c1-8)&" > got
[ "$(cat got)" -eq 1 ] && ok "refresh: the saved refresh token used by the next run" ||
	notok "refresh: the saved refresh token used by the next run" "$(cat got) requests with it"
nexp=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.status == 401 and .notes == ["access token expired"])] | length')
nref=$(refreshes)
[ "$nexp" -ge 2 ] && [ "$nref" -ge 4 ] && ok "refresh: expired tokens renewed mid-run ($nexp calls refused, $nref tokens fetched)" ||
	notok "refresh: expired tokens renewed mid-run" "$nexp refused, $nref fetched"
[ "$(nsets)" -eq "$m" ] && [ "$(ctl GET 'log?kind=writes' | jq '[.writes[] | "\(.item) \(.location)"] | unique | length')" -eq "$m" ] &&
	ok "refresh: each warehouse quantity set exactly once" || notok "refresh: each set exactly once" "$(nsets) sets for $m"
[ "$(cat tts.refresh)" = "$(state_rt)" ] && ok "refresh: the file holds the platform's latest refresh token" ||
	notok "refresh: the file holds the platform's latest refresh token"
INVKIT_CONFIG=$T/refresh.conf converged "refresh: the shop equals the master"

# an access token that lives 3 s: renewed before it expires, never refused
ctl DELETE log > /dev/null
ctl POST config '{"tiktok_qps":1000,"tiktok_token_ttl":3}' > /dev/null
sed 's/^rate_limit = .*/rate_limit = 2/' refresh.conf > slow.conf
run invpull -q --config slow.conf tts
expect_rc 0 "refresh: short-lived tokens: exit 0"
nref=$(refreshes)
ctl GET 'log?kind=requests' | jq -e '[.requests[] | select(.status != 200)] | length == 0' > /dev/null && [ "$nref" -ge 2 ] &&
	ok "refresh: short-lived tokens renewed ahead of expiry ($nref fetched, none refused)" ||
	notok "refresh: short-lived tokens renewed ahead of expiry" "$nref fetched; $(ctl GET 'log?kind=requests' | jq -c '[.requests[].status]')"

# a refused refresh token: exit 77, the file named, no secret printed, nothing written
fresh
ctl DELETE log > /dev/null
printf 'TTR_wrong_refresh_3\n' > tts.refresh
run invpull --config refresh.conf tts
expect_rc 77 "refresh refused: invpull exit 77"
expect_err "refresh refused: the platform's words and the file" <<X
invpull: [tts]: GET /tiktok/demo/api/v2/token/refresh: HTTP 200: code 36004004: The refresh_token is invalid or has expired. (the refresh token in $T/tts.refresh was refused: check app_key and the app secret in token_file; an expired or revoked refresh token needs a new authorization of the shop)
X
STDIN=corr.ndjson run invpush --config refresh.conf tts
expect_rc 77 "refresh refused: invpush exit 77"
[ "$(nsets)" -eq 0 ] && [ "$(jq -r .status "$T/out" | sort -u | tr '\n' ' ')" = "failed skipped " ] &&
	ok "refresh refused: nothing written (the first batch failed, the rest skipped)" ||
	notok "refresh refused: nothing written" "$(nsets) sets; $(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(cat tts.refresh)" = TTR_wrong_refresh_3 ] && ok "refresh refused: the file left as it was" ||
	notok "refresh refused: the file left as it was"
printf 'TTR_sim_demo\n' > tts.refresh
printf 'wrong_app_secret_4\n' > app.secret
run invpull --config refresh.conf tts
expect_rc 77 "refresh with a wrong app secret: exit 77"
expect_err_has "refresh with a wrong app secret: the platform's words" "code 36004003: Invalid app_key or app_secret."
if grep -rqF -e TTR_wrong_refresh_3 -e TTR_sim_demo -e wrong_app_secret_4 -e "$SECRET" -e TTP_ "$T/out" "$T/err" "$T/state"; then
	notok "refresh refused: no secret in the output, messages or journal"
else
	ok "refresh refused: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > app.secret
chmod 644 tts.refresh
run invpull --config refresh.conf tts
expect_rc 78 "refresh_token_file readable by others: exit 78"
expect_err "refresh_token_file readable by others: says so" <<X
invpull: refresh.conf: [tts]: refresh_token_file $T/tts.refresh is readable by others (mode 644); chmod 600 it
X
