# The WeChat Channels shop (微信小店) pipeline end to end against tests/sim
# (platform plugin tests/sim/platforms/wechat.py, which issues the access
# token from /cgi-bin/stable_token and checks it on every call; these APIs
# have no request signature): invpull | invdiff against a master | invpush,
# ending with the shop equal to the master, every SKU changed once by
# exactly its delta (diff_type 1/2).  The sample shop has 40 products (two
# pages of product/list/get, each followed by one stock/batchget).  Then,
# each from a fresh shop: a throttled run (3 requests a second, and an
# errcode 45011 on a write), a partial failure (a product under review: the
# platform's Chinese message reaches the result byte for byte; a product
# deleted since the pull fails alone), a write applied but its answer lost,
# one dropped before it was applied and one answered errcode -1 (all
# resolved by re-reading, never re-sent blindly), a sale between pull and
# push (kept: the change is relative), a correction without `from`, and
# bad credentials (exit 77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 40 --seed 4
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"wechat_qps":1000}' > /dev/null; }
fresh

SECRET=wx_sim_app_secret
printf '%s\n' "$SECRET" > wx.token
chmod 600 wx.token
cat > invkit.conf <<X
[wx]
type = wechat
base_url = http://127.0.0.1:$PORT/wechat/demo
app_id = wx_sim_appid
token_file = $T/wx.token
rate_limit = 500
X
TOKEN=$(python3 -c 'import sys; sys.path[:0] = [sys.argv[1] + "/tests/sim", sys.argv[1] + "/tests/sim/platforms"]
import wechat; print(wechat.token_of("wx_sim_appid", sys.argv[2]))' "$TOP" "$SECRET")

ctl GET state | jq -c '.wechat.demo.products[] | .id as $p | .skus[] |
	{item: "\($p)/\(.id)", sku: "\($p)/\(.id)", location: "", qty: .stock}' | sort > shop-want

# no timestamp travels on these calls: the output must not depend on the zone
TZ=America/Los_Angeles run invpull -q wx
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU, exact (normal_stock_num, not the regional stock)" ||
	notok "invpull: every SKU, exact" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
ctl GET 'log?kind=requests' > reqs.json
[ "$(jq -c '[.requests[] | .ops[0]]' reqs.json)" = '["stable_token","product.list.get","stock.batchget","product.list.get","stock.batchget"]' ] &&
	ok "invpull: one token, two pages, each with one batchget" ||
	notok "invpull: one token, two pages, each with one batchget" "$(jq -c '[.requests[] | .ops[0]]' reqs.json)"
jq -e '[.requests[] | select(.status != 200 or .notes)] | length == 0' reqs.json > /dev/null &&
	ok "invpull: every call carried the issued token, the secret in no URL" ||
	notok "invpull: every call carried the issued token" "$(jq -c '[.requests[] | select(.notes)][0]' reqs.json)"

jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
invdiff -q master.ndjson "$T/out" > corr.ndjson
m=$(wc -l < corr.ndjson)

pipeline() {
	invpull -q wx | invdiff -q master.ndjson - | invpush -q wx > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q wx | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nadjusts() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "adjust")] | length'; }
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }
nupdates() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["stock.update"])] | length'; }

ctl DELETE log > /dev/null
pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
converged "the shop equals the master"
[ "$(nadjusts)" -eq "$m" ] && [ "$(nsets)" -eq 0 ] && ok "each SKU changed once, by diff_type 1/2 (never 3)" ||
	notok "each SKU changed once, by diff_type 1/2" "$(nadjusts) adjusts, $(nsets) sets, of $m"
ctl GET 'log?kind=writes' | jq -c '.writes[] | select(.kind == "adjust") | {item, delta}' | sort > got
jq -c '{item, delta}' corr.ndjson | sort | cmp -s - got && ok "each change is exactly the correction's delta" ||
	notok "each change is exactly the correction's delta" "$(jq -c '{item, delta}' corr.ndjson | sort | diff - got | head -5)"

# ---- throttled: 3 requests a second (the driver told so), and a 45011 on a write
ctl POST reset '{}' > /dev/null
ctl POST config '{"wechat_qps":3}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
head -4 corr.ndjson > corr4.ndjson
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"stock.update"}}]}' > /dev/null
t0=$(date +%s%N)
STDIN=corr4.ndjson run invpush -q wx
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '.requests | length' reqs.json)
nover=$(jq '[.requests[] | select(.notes == ["over the rate limit"])] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$nover" -le 1 ] && ok "throttled: the limiter kept within the rate ($nreq requests, $nover refused by the limit)" ||
	notok "throttled: the limiter kept within the rate" "$nreq requests, $nover refused"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq requests in $ms ms)" ||
	notok "throttled: paced" "$nreq requests in $ms ms"
[ "$(nadjusts)" -eq 4 ] && ok "throttled: the refused write sent again after a re-read, each SKU changed once" ||
	notok "throttled: each SKU changed once" "$(nadjusts) of 4"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the 45011 fired" ||
	notok "throttled: the 45011 fired"
ctl DELETE faults > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: a product under review (its Chinese message passed through
# untouched) and a product deleted since the pull: only their corrections fail
fresh
invpull -q wx > have.ndjson
invdiff -q master.ndjson have.ndjson > corrp.ndjson
pid=$(jq -r -s 'group_by(.item | split("/")[0])[] | select(length == 3) | .[0].item | split("/")[0]' corrp.ndjson | head -1)
gone=$(jq -r -s 'group_by(.item | split("/")[0])[] | select(length == 1) | .[0].item' corrp.ndjson | head -1)
ctl GET state | jq -c --argjson p "$pid" --argjson g "${gone%%/*}" '(.wechat.demo.products[] | select(.id == $p)) |=
	. + {edit_status: 2} | .wechat.demo.products |= map(select(.id != $g))' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
STDIN=corrp.ndjson run invpush -q wx
expect_rc 1 "partial failure: exit 1"
jq -r --arg p "$pid/" 'select(.item | startswith($p)) | "\(.status) \(.error)"' "$T/out" | sort -u > got
printf 'failed not written: [wx]: /channels/ec/product/stock/update: HTTP 200: errcode 10020217: \345\275\223\345\211\215\345\225\206\345\223\201\347\212\266\346\200\201\350\215\211\347\250\277\347\212\266\346\200\201\344\270\272\345\256\241\346\240\270\344\270\255,\344\270\215\345\205\201\350\256\270\347\233\264\346\216\245\346\233\264\346\226\260\345\272\223\345\255\230\n' |
	cmp -s - got && ok "partial failure: the product under review failed with the platform's Chinese words, byte for byte" ||
	notok "partial failure: the platform's Chinese words, byte for byte" "$(cat got)"
jq -r --arg i "$gone" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf 'failed not written: the read before writing was refused: [wx]: /channels/ec/product/stock/get: HTTP 200: errcode 10020052: \345\225\206\345\223\201\344\270\215\345\255\230\345\234\250\n' |
	cmp -s - got && ok "partial failure: the product deleted since the pull failed alone, with the platform's words" ||
	notok "partial failure: the deleted product failed alone, with the platform's words" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq 4 ] &&
	ok "partial failure: every other correction applied (3 + 1 failed)" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(nadjusts)" -eq $(( $(wc -l < corrp.ndjson) - 4 )) ] && ok "partial failure: the others changed once each" ||
	notok "partial failure: the others changed once each" "$(nadjusts)"

# ---- lost answers: one write applied, its answer lost; one dropped before it was
# applied; one answered errcode -1 (system busy) without being applied
fresh
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"stock.update"}},
	{"kind":"drop","next":1,"skip":3,"match":{"op":"stock.update"}},
	{"kind":"500","next":1,"skip":6,"match":{"op":"stock.update"}}]}' > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nadjusts)" -eq "$m" ] && ok "lost answer: each SKU changed once (the applied one not sent again)" ||
	notok "lost answer: each SKU changed once" "$(nadjusts) changes for $m"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0, 0]' > /dev/null && ok "lost answer: the three faults fired" ||
	notok "lost answer: the three faults fired" "$(ctl GET faults)"
[ "$(nupdates)" -eq $((m + 2)) ] && ok "lost answer: only the dropped and the busy writes sent again" ||
	notok "lost answer: only the dropped and the busy writes sent again" "$(nupdates) update requests, $m + 2 expected"
ctl DELETE faults > /dev/null
converged "lost answer: the shop equals the master"

# ---- a sale between pull and push: kept, the change being relative
fresh
invpull -q wx > have.ndjson
invdiff -q master.ndjson have.ndjson > corrs.ndjson
read -r item q to < <(jq -r 'select(.from > 2 and .to > 2) | "\(.item) \(.from) \(.to)"' corrs.ndjson | head -1)
ctl POST sale "{\"platform\":\"wechat\",\"shop\":\"demo\",\"item\":\"$item\",\"location\":\"\",\"qty\":2}" > /dev/null
STDIN=corrs.ndjson run invpush -q wx
expect_rc 0 "sale: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "sale: every correction applied" ||
	notok "sale: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
invpull -q wx | jq -r --arg i "$item" 'select(.item == $i) | .qty' > got
echo $((to - 2)) | cmp -s - got && ok "sale: kept (the shop shows the master's $to less the 2 sold, not $to)" ||
	notok "sale: kept" "$(cat got), $((to - 2)) expected ($q before the sale)"

# ---- no `from`: a change from the quantity read just before the write
item2=$(jq -r 'select(.item != "'"$item"'") | .item' corrs.ndjson | head -1)
printf '{"item":"%s","sku":"%s","location":"","from":null,"to":40,"delta":40,"reason":"sync"}\n' "$item2" "$item2" > corrn.ndjson
STDIN=corrn.ndjson run invpush -q wx
expect_rc 0 "no from: exit 0"
invpull -q wx | jq -r --arg i "$item2" 'select(.item == $i) | .qty' > got
echo 40 | cmp -s - got && ok "no from: the SKU shows 40" || notok "no from: the SKU shows 40" "$(cat got)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_app_secret_1\n' > bad1.token
chmod 600 bad1.token
sed "s|$T/wx.token|$T/bad1.token|" invkit.conf > bad1.conf
sed 's|^app_id = .*|app_id = wx_other_appid|' invkit.conf > bad2.conf
run invpull --config bad1.conf wx
expect_rc 77 "bad secret: invpull exit 77"
printf 'invpull: [wx]: /cgi-bin/stable_token: HTTP 200: errcode 40125: invalid appsecret (check app_id, the AppSecret in token_file, and the IP allow-list)\n' > want
cmp -s want "$T/err" && ok "bad secret: the platform's words" || notok "bad secret: the platform's words" "$(cat "$T/err")"
run invpull --config bad2.conf wx
expect_rc 77 "bad appid: invpull exit 77"
expect_err_has "bad appid: the platform's words" "HTTP 200: errcode 40013: invalid appid"
STDIN=corr.ndjson run invpush --config bad1.conf wx
expect_rc 77 "bad secret: invpush exit 77"
[ "$(nadjusts)" -eq 0 ] && ok "bad secret: nothing written" || notok "bad secret: nothing written" "$(nadjusts)"
if grep -rqF -e wrong_app_secret_1 -e "$SECRET" -e "$TOKEN" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret or token in the output, messages or journal"
else
	ok "bad credentials: no secret or token in the output, messages or journal"
fi
