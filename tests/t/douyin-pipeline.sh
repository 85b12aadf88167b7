# The Douyin (抖店) pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/douyin.py, which checks every request's HMAC-SHA256
# sign and its Beijing-time timestamp with its own implementation): invpull
# (under a time zone far from Beijing's) | invdiff against a master |
# invpush, ending with the shop equal to the master, every write
# incremental with an idempotent_id: sku.syncStock for a product with one
# correction, one sku.syncStockBatch for a product with two or more.  Then,
# each from a fresh shop: a product's 3 SKUs in one batch, that batch's
# answer lost (sent again with the same idempotent_id, applied once) and
# refused (all or nothing: each of its corrections failed with the
# platform's words), a throttled run (the platform's code 50002 answers), a partial
# failure (a SKU taken off sale, a SKU that is not there) with a `from` null
# correction written as a delta from a fresh read, a write applied but its
# answer lost and one dropped before it was applied (both sent again with
# the same idempotent_id: applied once), a sale between pull and push (kept:
# the delta applies on top of it), a refusal in Chinese passed through byte
# for byte, and bad credentials (exit 77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 30 --seed 4
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"douyin_qps":1000}' > /dev/null; }
fresh

SECRET=dy_sim_secret TOKEN=dy_sim_token
printf '%s:%s\n' "$SECRET" "$TOKEN" > dy.token
chmod 600 dy.token
cat > invkit.conf <<X
[dy]
type = douyin
base_url = http://127.0.0.1:$PORT/douyin/demo
app_key = dy_sim_key
token_file = $T/dy.token
rate_limit = 500
X
API=/douyin/demo
nadjust() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "adjust")] | length'; }
nsync() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["sku.syncStock"])] | length'; }
nbatch() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["sku.syncStockBatch"])] | length'; }
qty_of() { ctl GET state | jq -r --arg i "$1" '.douyin.demo.products[] | .product_id as $p | .skus[] |
	select("\($p)/\(.id)" == $i) | .stock_num'; }

# what the shop holds: the ordinary stock of every SKU not on regional stock
ctl GET state | jq -c '.douyin.demo.products[] | .product_id as $p | .skus[] | select((.sku_type // 0) == 0) |
	{item: "\($p)/\(.id)", sku: .code, location: "", qty: .stock_num}' | sort > shop-want

# Kiritimati is UTC+14: a timestamp from the local clock would be 6 hours off Beijing's
TZ=Pacific/Kiritimati run invpull -q dy
expect_rc 0 "invpull (TZ=Pacific/Kiritimati): exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU on ordinary stock, exact" ||
	notok "invpull: every SKU on ordinary stock, exact" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" || notok "invpull: state available"
ctl GET 'log?kind=requests' > reqs.json
jq -e '[.requests[] | select(.status != 200 or (.notes // [] | length) > 0)] | length == 0' reqs.json > /dev/null &&
	ok "invpull: every request signed and timed (Beijing time) as the platform checks it" ||
	notok "invpull: every request signed and timed as the platform checks it" "$(jq -c '.requests[] | select(.status != 200 or .notes)' reqs.json | head -3)"
[ "$(jq '[.requests[] | select(.ops == ["product.listV2"])] | length' reqs.json)" -eq 1 ] &&
	[ "$(jq '[.requests[] | select(.ops == ["sku.list"])] | length' reqs.json)" -eq 30 ] &&
	ok "invpull: one page of 30 products, one sku.list each" || notok "invpull: one page, one sku.list each"
cp "$T/out" have0.ndjson

# the master: every SKU at a new quantity
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' have0.ndjson > master.ndjson
invdiff -q master.ndjson have0.ndjson > corr.ndjson
m=$(wc -l < corr.ndjson)
# by product: one correction goes as sku.syncStock, two or more as one sku.syncStockBatch
read -r ms mb < <(jq -s -r 'group_by(.item | split("/")[0]) |
	"\(map(select(length == 1)) | length) \(map(select(length > 1)) | length)"' corr.ndjson)

pipeline() {
	invpull -q dy | invdiff -q master.ndjson - | invpush -q dy > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q dy | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}

t0=$(date +%s%N)
TZ=America/Los_Angeles pipeline
t1=$(date +%s%N)
expect_rc 0 "pull | diff | push (TZ=America/Los_Angeles): exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied ($m in $(( (t1 - t0) / 1000000 )) ms)" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
converged "the shop equals the master"
[ "$mb" -ge 1 ] && [ "$(nadjust)" -eq "$m" ] && [ "$(nsync)" -eq "$ms" ] && [ "$(nbatch)" -eq "$mb" ] &&
	ok "one sku.syncStock per lone correction ($ms), one sku.syncStockBatch per product with more ($mb), each SKU changed once" ||
	notok "one request per product" "$(nadjust) adjustments for $m, $(nsync) syncStock for $ms, $(nbatch) batches for $mb"
ctl GET 'log?kind=writes' | jq -e '[.writes[] | select(.kind == "adjust")] | group_by(.request_id) |
	map(map(.idempotency_key) | unique) | all(length == 1) and (map(.[0]) |
	all(test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")) and (unique | length) == length)' > /dev/null &&
	ok "every request carries its own idempotent_id" || notok "every request carries its own idempotent_id"
jq -s -e --slurpfile c corr.ndjson '[.[] | {item, delta}] == [$c[] | {item, delta}]' "$T/out" > /dev/null &&
	ctl GET 'log?kind=writes' | jq -e --slurpfile c corr.ndjson '([.writes[] | select(.kind == "adjust") |
	{item, delta}] | sort) == ([$c[] | {item, delta}] | sort)' > /dev/null &&
	ok "each write adds exactly the correction's delta" || notok "each write adds exactly the correction's delta"

# ---- a product with 3 SKUs on ordinary stock: its 3 corrections go as ONE sku.syncStockBatch
fresh
jq -s -c 'group_by(.item | split("/")[0]) | map(select(length == 3)) | .[0] | to_entries[] | .key as $i | .value |
	{item, sku, location, from: .qty, to: (.qty + 1 + 2 * $i), delta: (1 + 2 * $i), reason: "sync"}' have0.ndjson > corrb.ndjson
bpid=$(jq -r '.item | split("/")[0]' corrb.ndjson | sort -u)
[ "$(wc -l < corrb.ndjson)" -eq 3 ] && [ "$(printf '%s\n' "$bpid" | wc -l)" -eq 1 ] && ok "batch: product $bpid has 3 SKUs to change" ||
	notok "batch: a product with 3 SKUs" "$(cat corrb.ndjson)"
jq -c '{item, qty: .to}' corrb.ndjson | sort > batch-want
batch_conv() {
	invpull -q dy | jq -c --arg p "$bpid" 'select(.item | startswith($p + "/")) | {item, qty}' | sort > batch-got
	cmp -s batch-want batch-got && ok "$1" || notok "$1" "$(diff batch-want batch-got)"
}
STDIN=corrb.ndjson run invpush -q dy
expect_rc 0 "batch: exit 0"
[ "$(jq -r .status "$T/out" | sort | uniq -c | tr -s ' ')" = " 3 applied" ] && ok "batch: the 3 corrections applied" ||
	notok "batch: the 3 corrections applied" "$(jq -r .status "$T/out"; head -3 "$T/err")"
[ "$(nbatch)" -eq 1 ] && [ "$(nsync)" -eq 0 ] && ok "batch: one sku.syncStockBatch request, no sku.syncStock" ||
	notok "batch: one sku.syncStockBatch request" "$(nbatch) batches, $(nsync) syncStock"
ctl GET 'log?kind=writes' | jq -e --slurpfile c corrb.ndjson '[.writes[] | select(.kind == "adjust")] |
	length == 3 and (map(.request_id) | unique | length) == 1 and (map(.idempotency_key) | unique | length) == 1 and
	(map({item, delta}) | sort) == ([$c[] | {item, delta}] | sort)' > /dev/null &&
	ok "batch: each SKU changed by exactly its delta, in that one request, under one idempotent_id" ||
	notok "batch: each SKU changed by exactly its delta" "$(ctl GET 'log?kind=writes' | jq -c '.writes[]')"
batch_conv "batch: the product's 3 SKUs show the target"

# the batch's answer lost: sent again with the same idempotent_id, replayed, applied once
fresh
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"sku.syncStockBatch"}}]}' > /dev/null
STDIN=corrb.ndjson run invpush -q dy
expect_rc 0 "batch, answer lost: exit 0"
[ "$(jq -r .status "$T/out" | sort | uniq -c | tr -s ' ')" = " 3 applied" ] && ok "batch, answer lost: the 3 corrections applied" ||
	notok "batch, answer lost: the 3 corrections applied" "$(jq -r .status "$T/out"; head -3 "$T/err")"
bkey=$(ctl GET 'log?kind=writes' | jq -r '.writes[0].idempotency_key')
ctl GET 'log?kind=requests' | jq -e --arg k "$bkey" '[.requests[] | select(.ops == ["sku.syncStockBatch"])] |
	length == 2 and .[0].fault == "lost_answer" and (.[0].replayed // false) == false and
	.[1].replayed == true and .[1].notes == ["idempotent replay of \($k)"]' > /dev/null &&
	ok "batch, answer lost: sent again with the same idempotent_id, answered as a replay" ||
	notok "batch, answer lost: sent again with the same idempotent_id" "$(ctl GET 'log?kind=requests' | jq -c '.requests[] | select(.write)')"
ctl GET 'log?kind=writes' | jq -e --arg k "$bkey" '[.writes[] | select(.kind == "adjust")] | length == 3 and
	all(.idempotency_key == $k)' > /dev/null && ok "batch, answer lost: each SKU changed once" ||
	notok "batch, answer lost: each SKU changed once" "$(nadjust) writes"
ctl DELETE faults > /dev/null
batch_conv "batch, answer lost: the product's 3 SKUs show the target"

# a refused batch: one SKU off sale, none of the 3 changes, each fails with the platform's words
fresh
boff=$(jq -r .item corrb.ndjson | sed -n 2p)
ctl GET state | jq -c --arg s "${boff#*/}" '(.douyin.demo.products[].skus[] | select(.id == $s)) |= . + {online: false}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
STDIN=corrb.ndjson run invpush -q dy
expect_rc 1 "batch refused: exit 1"
jq -r '"\(.item)\t\(.status)\t\(.error)"' "$T/out" | sort > got
jq -r --arg api "$API" '"\(.item)\tfailed\tnot written: [dy]: POST \($api)/sku/syncStockBatch: code 40004: 业务处理失败: isv.business-failed:10003: 商品已下架，不能修改库存"' corrb.ndjson | sort > want
cmp -s want got && ok "batch refused: each of its 3 corrections failed with the platform's words, byte for byte" ||
	notok "batch refused: each of its 3 corrections failed with the platform's words" "$(cat got)"
[ "$(nadjust)" -eq 0 ] && [ "$(nbatch)" -eq 1 ] &&
	[ "$(jq -r '"\(.item) \(.from)"' corrb.ndjson | while read -r i f; do [ "$(qty_of "$i")" = "$f" ] || echo x; done)" = "" ] &&
	ok "batch refused: one request, nothing written, every SKU as it was" ||
	notok "batch refused: nothing written" "$(nadjust) writes, $(nbatch) batches"

# ---- throttled: the platform allows 4 requests a second; the driver starts at 20
ctl POST reset '{}' > /dev/null
ctl POST config '{"douyin_qps":4}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 20/' invkit.conf
# 6 corrections alone on their products: 6 requests
jq -s -c 'group_by(.item | split("/")[0]) | map(select(length == 1) | .[0]) | .[:6][]' corr.ndjson > corr6.ndjson
STDIN=corr6.ndjson run invpush -q dy
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
nthr=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.notes // [] | index("over the rate limit"))] | length')
[ "$nthr" -ge 1 ] && ok "throttled: the platform said so ($nthr answers with code 50002)" ||
	notok "throttled: the platform said so" "$nthr"
[ "$(nadjust)" -eq 6 ] && ok "throttled: refused writes sent again, each applied once" ||
	notok "throttled: each applied once" "$(nadjust) of 6"
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: a SKU off sale and one that is not there; a `from` null correction
fresh
# the SKU off sale: alone on its product, so it goes as a sku.syncStock of its own
read -r offitem < <(jq -s -r --slurpfile h have0.ndjson '($h | group_by(.item | split("/")[0]) |
	map(select(length == 1) | .[0].item)) as $one | [.[] | select(.item as $i | $one | index($i))][0].item' corr.ndjson)
ctl GET state | jq -c --arg s "${offitem#*/}" '(.douyin.demo.products[].skus[] | select(.id == $s)) |= . + {online: false}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
# a SKU left out of what was pulled: invdiff gives it from null
read -r nullitem nullqty < <(jq -r 'select(.qty != 7) | "\(.item) \(.qty)"' have0.ndjson | sed -n 5p)
pid=3599999999999999999	# no such product: its SKU goes alone too
{ jq -c --arg i "$nullitem" 'select(.item != $i)' have0.ndjson | invdiff -q master.ndjson - |
	jq -c --arg i "$nullitem" 'if .item == $i then .to = 7 | .delta = 7 else . end'
  printf '{"item":"%s/1799999999999999","sku":"x","location":"","from":3,"to":4,"delta":1,"reason":"sync"}\n' "$pid"
} > corrp.ndjson
mp=$(wc -l < corrp.ndjson)
STDIN=corrp.ndjson run invpush -q dy
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$offitem" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: [dy]: POST $API/sku/syncStock: code 40004: 业务处理失败: isv.business-failed:10003: 商品已下架，不能修改库存" |
	cmp -s - got && ok "partial failure: the SKU off sale failed with the platform's words" ||
	notok "partial failure: the SKU off sale failed with the platform's words" "$(cat got)"
jq -r --arg i "$pid/1799999999999999" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: [dy]: POST $API/sku/syncStock: code 40004: 业务处理失败: isv.business-failed:10002: sku不存在" |
	cmp -s - got && ok "partial failure: the SKU not there failed with the platform's words" ||
	notok "partial failure: the SKU not there failed with the platform's words" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq 2 ] &&
	[ "$(nadjust)" -eq $((mp - 2)) ] && ok "partial failure: every other correction applied, once" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c); $(nadjust) writes"
jq -r --arg i "$nullitem" 'select(.item == $i) | .status' "$T/out" > got
[ "$(cat got)" = applied ] && [ "$(qty_of "$nullitem")" = 7 ] &&
	ctl GET 'log?kind=writes' | jq -e --arg i "$nullitem" --argjson q "$nullqty" '[.writes[] | select(.item == $i)] |
	length == 1 and .[0].delta == 7 - $q' > /dev/null &&
	ok "from null: read just before, written as a delta of $((7 - nullqty)) to 7" ||
	notok "from null: read just before, written as a delta" "$(cat got) $(qty_of "$nullitem")"

# ---- lost answers: one write applied, its answer lost; one dropped before it was applied
fresh
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"sku.syncStock"}},
	{"kind":"drop","next":1,"skip":3,"match":{"op":"sku.syncStock"}}]}' > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answer: both faults fired" ||
	notok "lost answer: both faults fired" "$(ctl GET faults)"
[ "$(nadjust)" -eq "$m" ] && ok "lost answer: each applied once" || notok "lost answer: each applied once" "$(nadjust) for $m"
nrep=$(ctl GET 'log?kind=requests' | jq '[.requests[] | select(.replayed)] | length')
[ "$(nsync)" -eq $((ms + 2)) ] && [ "$(nbatch)" -eq "$mb" ] && [ "$nrep" -eq 1 ] &&
	ok "lost answer: both sent again with the same idempotent_id, the applied one replayed, not applied" ||
	notok "lost answer: both sent again with the same idempotent_id" "$(nsync) requests for $ms, $(nbatch) batches for $mb, $nrep replayed"
ctl DELETE faults > /dev/null
converged "lost answer: the shop equals the master"

# ---- a sale between pull and push: kept
fresh
invpull -q dy > have.ndjson
read -r item q to < <(jq -c --slurpfile m master.ndjson 'select(.qty > 2) | . as $h |
	($m[] | select(.item == $h.item) | .qty) as $t | select($t != .qty) | "\(.item) \(.qty) \($t)"' -r have.ndjson | head -1)
ctl POST sale "{\"platform\":\"douyin\",\"shop\":\"demo\",\"item\":\"$item\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q dy'
expect_rc 0 "sale: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "sale: every correction applied" ||
	notok "sale: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(qty_of "$item")" = $((to - 2)) ] && ok "sale: kept (the shop shows $to less the 2 sold)" ||
	notok "sale: kept" "$(qty_of "$item") for $to - 2"

# ---- a refusal in Chinese, byte for byte: a decrease that would go below zero
fresh
invpull -q dy > have.ndjson
read -r item q < <(jq -r 'select(.qty >= 5) | "\(.item) \(.qty)"' have.ndjson | head -1)
printf '{"item":"%s","sku":"x","location":"","from":%d,"to":1,"delta":%d,"reason":"sync"}\n' "$item" "$q" $((1 - q)) > corrz.ndjson
ctl POST sale "{\"platform\":\"douyin\",\"shop\":\"demo\",\"item\":\"$item\",\"qty\":$((q - 1))}" > /dev/null
STDIN=corrz.ndjson run invpush -q dy
expect_rc 1 "below zero: exit 1"
printf 'failed\tnot written: [dy]: POST %s/sku/syncStock: code 40004: 业务处理失败: isv.business-failed:31055: 系统错误:更新库存数失败\n' "$API" > want
jq -r '"\(.status)\t\(.error)"' "$T/out" > got
cmp -s want got && ok "below zero: the platform's Chinese message in the result, byte for byte" ||
	notok "below zero: the platform's Chinese message, byte for byte" "$(cat got)"
[ "$(qty_of "$item")" = 1 ] && [ "$(nadjust)" -eq 0 ] && ok "below zero: nothing written, the sale kept" ||
	notok "below zero: nothing written" "$(qty_of "$item")"

# ---- bad credentials: exit 77, the secret never printed
fresh
printf 'wrong_app_secret_1:%s\n' "$TOKEN" > bad1.token
printf '%s:dy_wrong_token_2\n' "$SECRET" > bad2.token
chmod 600 bad1.token bad2.token
sed "s|$T/dy.token|$T/bad1.token|" invkit.conf > bad1.conf
sed "s|$T/dy.token|$T/bad2.token|" invkit.conf > bad2.conf
run invpull --config bad1.conf dy
expect_rc 77 "bad app secret: invpull exit 77"
expect_err "bad app secret: the platform's words" <<X
invpull: [dy]: POST $API/product/listV2: code 30005: 签名校验失败: isv.signature-invalid: 签名不正确，请检查app_secret与签名算法 (check app_key, and the app secret and access token in token_file: app_secret:access_token)
X
run invpull --config bad2.conf dy
expect_rc 77 "bad access token: invpull exit 77"
expect_err_has "bad access token: the platform's words" "code 30001: access_token无效: isv.access-token-no-existed: access_token不存在，请使用最新的access_token访问"
STDIN=corr.ndjson run invpush --config bad2.conf dy
expect_rc 77 "bad access token: invpush exit 77"
[ "$(nadjust)" -eq 0 ] && ok "bad access token: nothing written" || notok "bad access token: nothing written" "$(nadjust)"
cp "$T/err" bad.err
run invpull -v dy	# the access token travels in the query: -v must not show it
expect_rc 0 "invpull -v: exit 0"
cat bad.err >> "$T/err"
if grep -rqF -e wrong_app_secret_1 -e dy_wrong_token_2 -e "$SECRET" -e "$TOKEN" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials, and -v: no secret in the output, messages or journal"
else
	ok "bad credentials, and -v: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > bad3.token
chmod 600 bad3.token
sed "s|$T/dy.token|$T/bad3.token|" invkit.conf > bad3.conf
run invpull --config bad3.conf dy
expect_rc 78 "a secret without the access token: exit 78"
expect_err "a secret without the access token: says the shape, not the secret" <<X
invpull: bad3.conf: [dy]: the secret must be app_secret:access_token, on one line
X
