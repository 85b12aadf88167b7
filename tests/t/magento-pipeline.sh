# The Magento 2 (MSI) pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/magento.py): invpull | invdiff against a master |
# invpush, ending with the shop equal to the master.  The sample shop has
# more than 1200 source items (five pages of 300), three sources, SKUs with
# a comma and an ampersand, and out-of-stock items.  Writes are absolute
# (rule 3: re-read before, re-read after), at most 20 items each (the
# input list limit).  Then, each from a fresh shop: a throttled run (a
# request quota at the CDN, 429 + Retry-After), a partial failure (an
# unknown SKU refused by a 400 that rejects its whole batch, and a source
# item gone since the pull), answers lost (resolved by re-reading, never
# re-sent blindly), a shipment between pull and push (a conflict, not
# overwritten), a change just after the write (a conflict, kept), the
# measured read-to-write window, and bad credentials (77, secret unseen).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 700 --seed 3

printf 'mg_sim_demo\n' > mg.token
chmod 600 mg.token
cat > invkit.conf <<X
[mg]
type = magento
base_url = http://127.0.0.1:$PORT/magento/demo/rest/default
token_file = $T/mg.token
X

# what the shop holds: one record per source item
ctl GET state | jq -c '.magento.demo.products[] | .sku as $s | .source_items | to_entries[] |
	{item: $s, sku: $s, location: .key, qty: .value.quantity,
	 state: (if .value.status == 1 then "on_hand" else "out_of_stock" end)}' | sort > shop-want

run invpull -q mg
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty, state}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every source item, quantity and state exact" ||
	notok "invpull: every source item, quantity and state exact" "$(diff shop-want shop-got | head)"
n=$(wc -l < shop-want)
[ "$n" -gt 1200 ] && grep -q '"MG-00050,X"' shop-got && grep -q '"MG-00060&Y"' shop-got &&
	grep -q out_of_stock shop-got && ok "pulled $n source items, odd SKUs and out-of-stock ones among them" ||
	notok "pulled $n source items, odd SKUs and out-of-stock ones among them"
pages=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["source-items"])] | length')
[ "$pages" -eq $(( (n + 299) / 300 )) ] && ok "invpull: $pages pages of 300 read" ||
	notok "invpull: pages of 300" "$pages pages for $n items"

# the master: every source item at a new quantity (none at 0), plus one
# new source item (a product not yet at us-wh: the write creates it)
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
newsku=$(ctl GET state | jq -r '[.magento.demo.products[] | select(.source_items["us-wh"] == null)][0].sku')
printf '{"item":"%s","sku":"%s","location":"us-wh","qty":9}\n' "$newsku" "$newsku" >> master.ndjson
m=$(wc -l < master.ndjson)

pipeline() {
	invpull -q mg | invdiff -q master.ndjson - | invpush "$@" mg > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q mg | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }
# the most source items written by one request, and the number of write requests
maxper() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set") | .request_id] | group_by(.) | map(length) | max'; }
nposts() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.write)] | length'; }
statuses() { jq -r .status "$T/out" | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }

ctl DELETE log > /dev/null
pipeline -v
expect_rc 0 "pull | diff | push: exit 0"
# every write is read before and after: three requests per batch
reads=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["source-items"])] | length')
[ "$reads" -eq $(( 2 * ((m + 19) / 20) + (n + 299) / 300 )) ] &&
	ok "each write read before and after ($reads reads)" || notok "each write read before and after" "$reads reads"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(statuses) $(head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per record ($m)" ||
	notok "one result per record" "$(wc -l < "$T/out") results, $m records"
converged "the shop equals the master"
[ "$(nsets)" -eq "$m" ] && ok "each source item written once" || notok "each source item written once" "$(nsets) of $m"
[ "$(maxper)" -eq 20 ] && [ "$(nposts)" -eq $(( (m + 19) / 20 )) ] &&
	ok "writes of at most 20 source items ($(nposts) requests)" ||
	notok "writes of at most 20 source items" "at most $(maxper) per request, $(nposts) requests"
ctl GET 'log?kind=writes' | jq -e --arg s "$newsku" '[.writes[] | select(.kind == "set" and .sku == $s and
	.location == "us-wh")][0] | .before == null and .after == 9 and .status == 1' > /dev/null &&
	ok "the missing source item created (from null)" || notok "the missing source item created (from null)"
window=$(sed -n 's/.*read-to-write window \(.*\)/\1/p' "$T/err")
[ -n "$window" ] && ok "the race window measured: $window" || notok "the race window measured" "$(tail -3 "$T/err")"

# ---- a larger batch where the shop allows it (batch = 40, input list limit 40)
ctl POST reset '{}' > /dev/null
ctl POST config '{"mg_input_list_limit":40}' > /dev/null
printf 'batch = 40\n' >> invkit.conf
pipeline -q
expect_rc 0 "batch = 40: exit 0"
# invpush hands the driver 500 corrections at a time, written in batches of 40
[ "$(maxper)" -eq 40 ] && [ "$(nposts)" -eq $(( 2 * ((500 + 39) / 40) + (m - 1000 + 39) / 40 )) ] &&
	ok "batch = 40: writes of 40 ($(nposts) requests)" || notok "batch = 40: writes of 40" "$(maxper) per request, $(nposts) requests"
# the shop's limit lower than the batch: 400 "Maximum items of type", each sent on its own, nothing lost
ctl POST reset '{}' > /dev/null
invpull -q mg | invdiff -q master.ndjson - | head -25 > corr.ndjson
STDIN=corr.ndjson run invpush -q mg
expect_rc 0 "batch over the shop's limit: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$(nsets)" -eq 25 ] &&
	ok "batch over the shop's limit: the refused batch sent item by item, each once" ||
	notok "batch over the shop's limit: sent item by item" "$(statuses) $(nsets) writes"
ctl GET 'log?kind=requests' | jq -r '[.requests[] | select(.write and .status == 400)] | length' > got
echo 1 | cmp -s - got && ok "batch over the shop's limit: one 400" || notok "batch over the shop's limit: one 400" "$(cat got)"
sed -i '/^batch = 40$/d' invkit.conf

# ---- throttled: at most 60 requests a second at the CDN, and a 429 on two writes
ctl POST reset '{}' > /dev/null
ctl POST config '{"mg_rate_limit":60,"mg_rate_window_ms":1000}' > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":2,"retry_after":1,"match":{"op":"source-items/save"}}]}' > /dev/null
pipeline -q
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(statuses) $(head -3 "$T/err")"
n429=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.status == 429)] | length')
[ "$n429" -ge 3 ] && ok "throttled: $n429 answers 429, waited out" || notok "throttled: 429s seen" "$n429"
[ "$(nsets)" -eq "$m" ] && ok "throttled: each source item written once" || notok "throttled: each source item written once" "$(nsets)"
ctl DELETE faults > /dev/null
ctl POST config '{"mg_rate_limit":0}' > /dev/null
converged "throttled: the shop equals the master"

# ---- partial failure: an unknown SKU (the whole batch refused), a source item gone
ctl POST reset '{}' > /dev/null
invpull -q mg > have.ndjson
gone=$(jq -r 'select(.location == "eu-wh") | .sku' have.ndjson | head -1)
ctl GET state | jq -c --arg s "$gone" '(.magento.demo.products[] | select(.sku == $s) | .source_items) |= del(.["eu-wh"])' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
invdiff -q master.ndjson have.ndjson > all.ndjson
{ jq -c --arg s "$gone" 'select(.sku != $s)' all.ndjson | head -30
  jq -c --arg s "$gone" 'select(.sku == $s and .location == "eu-wh")' all.ndjson
  echo '{"item":"NOPE-1","sku":"NOPE-1","location":"default","from":null,"to":4,"delta":4,"reason":"sync"}'
} > corr.ndjson
STDIN=corr.ndjson run invpush -q mg
expect_rc 1 "partial failure: exit 1"
jq -r 'select(.item == "NOPE-1") | "\(.status) \(.error)"' "$T/out" > got
cat > want <<X
failed not written: [mg]: POST /magento/demo/rest/default/V1/inventory/source-items: HTTP 400: Validation Failed: Product with requested "sku": "NOPE-1" was was not found.
X
cmp -s want got && ok "partial failure: the unknown SKU failed with Magento's words" ||
	notok "partial failure: the unknown SKU failed with Magento's words" "$(cat got)"
jq -r --arg s "$gone" 'select(.sku == $s and .location == "eu-wh") | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: no source item for SKU $gone at source eu-wh (gone since it was read)" | cmp -s - got &&
	ok "partial failure: the source item gone failed, not written" ||
	notok "partial failure: the source item gone failed, not written" "$(cat got)"
k=$(wc -l < corr.ndjson)
[ "$(jq -r 'select(.status == "applied")' "$T/out" | jq -s length)" -eq $((k - 2)) ] && [ "$(nsets)" -eq $((k - 2)) ] &&
	ok "partial failure: every other correction applied, once" ||
	notok "partial failure: every other correction applied, once" "$(statuses) $(nsets) writes"

# ---- lost answers: one write applied and its answer lost, one dropped unsent
ctl POST reset '{}' > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"source-items/save"}},
	{"kind":"drop","next":1,"skip":1,"match":{"op":"source-items/save"}}]}' > /dev/null
pipeline -q
expect_rc 0 "lost answers: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answers: every correction applied (found by re-reading)" ||
	notok "lost answers: every correction applied" "$(statuses) $(head -3 "$T/err")"
[ "$(nsets)" -eq "$m" ] && ok "lost answers: nothing written twice" || notok "lost answers: nothing written twice" "$(nsets) for $m"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answers: both faults fired" ||
	notok "lost answers: both faults fired" "$(ctl GET faults)"
ctl DELETE faults > /dev/null
converged "lost answers: the shop equals the master"

# ---- a shipment between pull and push: a conflict, never overwritten
ctl POST reset '{}' > /dev/null
invpull -q mg > have.ndjson
read -r sku loc q < <(jq -r 'select(.qty > 2 and .state == "on_hand") | "\(.sku) \(.location) \(.qty)"' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"magento\",\"shop\":\"demo\",\"sku\":\"$sku\",\"location\":\"$loc\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q mg'
expect_rc 1 "shipment: exit 1 (a conflict)"
jq -r --arg s "$sku" --arg l "$loc" 'select(.sku == $s and .location == $l) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict quantity moved from $q to $((q - 2)) since it was read (not written)" | cmp -s - got &&
	ok "shipment: reported as a conflict" || notok "shipment: reported as a conflict" "$(cat got)"
invpull -q mg | jq -r --arg s "$sku" --arg l "$loc" 'select(.sku == $s and .location == $l) | .qty' > got
echo $((q - 2)) | cmp -s - got && ok "shipment: kept (the shop shows $((q - 2)))" || notok "shipment: kept" "$(cat got)"
[ "$(jq -r 'select(.status == "applied")' "$T/out" | jq -s length)" -eq $(($(wc -l < "$T/out") - 1)) ] &&
	ok "shipment: every other correction applied" || notok "shipment: every other correction applied" "$(statuses)"

# ---- a change right after the write (its answer slowed): a conflict, the change kept
ctl POST reset '{}' > /dev/null
invpull -q mg > have.ndjson
read -r sku loc q < <(jq -r 'select(.qty > 2 and .state == "on_hand" and .location == "default") | "\(.sku) \(.location) \(.qty)"' have.ndjson | head -1)
printf '{"item":"%s","sku":"%s","location":"%s","from":%d,"to":30,"delta":%d,"reason":"sync"}\n' \
	"$sku" "$sku" "$loc" "$q" $((30 - q)) > corr.ndjson
ctl POST faults '{"rules":[{"kind":"slow","ms":3000,"phase":"after","next":1,"match":{"op":"source-items/save"}}]}' > /dev/null
invpush -q mg < corr.ndjson > "$T/out" 2> "$T/err" &
pid=$!
poll at_least 1
ctl POST sale "{\"platform\":\"magento\",\"shop\":\"demo\",\"sku\":\"$sku\",\"location\":\"$loc\",\"qty\":1}" > /dev/null
wait $pid
rc=$?
expect_rc 1 "change after the write: exit 1 (a conflict)"
jq -r '"\(.status) \(.error)"' "$T/out" > got
echo "conflict written 30, then the quantity moved to 29 (a later change, kept)" | cmp -s - got &&
	ok "change after the write: reported as a conflict, the change kept" ||
	notok "change after the write: reported as a conflict" "$(cat got)"
ctl DELETE faults > /dev/null

# ---- bad credentials: 77, the token never printed
printf 'mg_wrong_secret_1234\n' > bad.token
chmod 600 bad.token
sed "s#$T/mg.token#$T/bad.token#" invkit.conf > bad.conf
run invpull --config bad.conf mg
expect_rc 77 "bad token: invpull exit 77"
expect_err "bad token: invpull says why" <<X
invpull: [mg]: GET /magento/demo/rest/default/V1/inventory/source-items: HTTP 401: The consumer isn't authorized to access Magento_InventoryApi::source. (check the token in token_file: an admin or integration access token with the Magento_InventoryApi resources, sent as a Bearer token)
X
STDIN=corr.ndjson run invpush --config bad.conf mg
expect_rc 77 "bad token: invpush exit 77"
if grep -rq mg_wrong_secret "$T/out" "$T/err" "$T/state"; then notok "bad token: the secret never printed or journalled"
else ok "bad token: the secret never printed or journalled"; fi
