# The Pinduoduo pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/pinduoduo.py, which checks every call's MD5 sign with
# its own implementation): invpull | invdiff against a master | invpush,
# ending with the shop equal to the master, each SKU adjusted once by its
# delta (update_type=2).  The sample shop has 130 goods (two pages of
# pdd.goods.list.get).  Then, each from a fresh shop: the timestamp under
# other time zones, a throttled run (a 429 on a write, and the platform's
# in-body throttle error), a partial failure (a SKU on a promotion slot
# refused with the platform's Chinese words, passed through byte for byte,
# and a SKU that does not exist), a write applied but its answer lost and one
# dropped before it was applied (both resolved by re-reading, never re-sent),
# sales between pull and push (kept; one that leaves too little for the
# delta is a conflict), and bad credentials (exit 77, the secret never
# printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 130 --seed 4
# the platform's limits for these calls are not published: the simulator's is
# raised, and the driver told so, except for the throttled runs
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"pdd_qps":1000}' > /dev/null; }
fresh

SECRET=pdd_sim_secret TOKEN=pdd_sim_token_demo
printf '%s:%s\n' "$SECRET" "$TOKEN" > pdd.token
chmod 600 pdd.token
cat > invkit.conf <<X
[pdd]
type = pinduoduo
base_url = http://127.0.0.1:$PORT/pinduoduo/demo/api/router
client_id = pdd_sim_client
token_file = $T/pdd.token
rate_limit = 500
X
R="[pdd]: POST /pinduoduo/demo/api/router"

# what the shop holds: every SKU's quantity
ctl GET state | jq -c '.pinduoduo.demo.goods[] | .goods_id as $g | .skus[] |
	{item: "\($g)/\(.sku_id)", sku: .outer_id, location: "", qty: .quantity}' | sort > shop-want

run invpull -q pdd
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU, exactly ($(wc -l < shop-got) of them)" ||
	notok "invpull: every SKU, exactly" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
reqs() { ctl GET 'log?kind=requests'; }
[ "$(reqs | jq '[.requests[] | select(.ops == ["pdd.goods.list.get"])] | length')" -eq 2 ] &&
	ok "invpull: two pages read" || notok "invpull: two pages read"
reqs | jq -e '[.requests[] | select(.status != 200 or (.notes // [] | length) > 0)] | length == 0' > /dev/null &&
	ok "invpull: every call signed as the platform checks it" ||
	notok "invpull: every call signed as the platform checks it" "$(reqs | jq -c '.requests[0]')"

# the timestamp is Unix seconds, whatever the machine's time zone (the
# simulator refuses one more than 600 s off)
for tz in Asia/Shanghai America/Los_Angeles Pacific/Kiritimati; do
	TZ=$tz invpull -q pdd > tz.out 2> tz.err
	r=$?
	[ $r -eq 0 ] && [ "$(wc -l < tz.out)" -eq "$(wc -l < shop-got)" ] && ok "invpull under TZ=$tz: exit 0, every SKU" ||
		notok "invpull under TZ=$tz" "exit $r: $(head -2 tz.err)"
done

# the master: every SKU at a new quantity
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
invdiff -q master.ndjson "$T/out" > corr.ndjson
m=$(wc -l < corr.ndjson)

pipeline() {
	invpull -q pdd | invdiff -q master.ndjson - | invpush -q pdd > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q pdd | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nadj() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "adjust")] | length'; }
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }
nupdates() { reqs | jq '[.requests[] | select(.ops == ["pdd.goods.quantity.update"])] | length'; }

t0=$(date +%s%N)
pipeline
t1=$(date +%s%N)
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
converged "the shop equals the master"
[ "$(nadj)" -eq "$m" ] && [ "$(nsets)" -eq 0 ] && [ "$(nupdates)" -eq "$m" ] &&
	ok "each SKU adjusted once, by a delta (update_type=2), $(( (t1 - t0) / 1000000 )) ms for the run" ||
	notok "each SKU adjusted once, by a delta" "$(nadj) adjusted, $(nsets) set, $(nupdates) calls for $m"
jq -c '{item, delta}' corr.ndjson | sort > want-deltas
ctl GET 'log?kind=writes' | jq -c '.writes[] | select(.kind == "adjust") | {item, delta}' | sort > got-deltas
cmp -s want-deltas got-deltas && ok "each adjustment is the correction's delta" ||
	notok "each adjustment is the correction's delta" "$(diff want-deltas got-deltas | head -5)"

# ---- throttled: 3 calls a second (the driver told so; the platform allows 4),
# and a 429 on a write
fresh
ctl POST config '{"pdd_qps":4}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
head -4 corr.ndjson > corr4.ndjson
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"pdd.goods.quantity.update"}}]}' > /dev/null
t0=$(date +%s%N)
STDIN=corr4.ndjson run invpush -q pdd
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
reqs > reqs.json
nreq=$(jq '.requests | length' reqs.json)
nthr=$(jq '[.requests[] | select(.notes // [] | index("over the rate limit"))] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$nthr" -eq 0 ] && ok "throttled: the limiter kept within the rate ($nreq calls)" ||
	notok "throttled: the limiter kept within the rate" "$nreq calls, $nthr throttled"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq calls in $ms ms)" ||
	notok "throttled: paced" "$nreq calls in $ms ms"
[ "$(nadj)" -eq 4 ] && ok "throttled: the refused write sent again after a re-read, each SKU adjusted once" ||
	notok "throttled: each SKU adjusted once" "$(nadj) of 4"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the 429 fired" ||
	notok "throttled: the 429 fired"
ctl DELETE faults > /dev/null
# the driver told a rate above the platform's: the platform's own answer (error
# 70031 in an HTTP 200) is waited out, and no adjustment goes twice
fresh
ctl POST config '{"pdd_qps":6}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 40/' invkit.conf
ctl DELETE log > /dev/null
STDIN=corr4.ndjson run invpush -q pdd
expect_rc 0 "over the platform's rate: exit 0"
nthr=$(reqs | jq '[.requests[] | select(.notes // [] | index("over the rate limit"))] | length')
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && [ "$nthr" -gt 0 ] && [ "$(nadj)" -eq 4 ] &&
	ok "over the platform's rate: $nthr calls refused 70031, every correction applied once" ||
	notok "over the platform's rate" "$nthr refused, $(nadj) adjusted; $(jq -r .status "$T/out" | sort | uniq -c)"
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: a SKU on a promotion slot (may not go down), and a SKU
# that does not exist; the platform's Chinese words passed through untouched
fresh
invpull -q pdd > have.ndjson
read -r slotitem < <(jq -r 'select(.qty > 3) | .item' have.ndjson | tail -1)
slotsid=${slotitem#*/}
ctl GET state | jq -c --argjson s "$slotsid" '(.pinduoduo.demo.goods[].skus[] | select(.sku_id == $s)) |= . + {slot: true}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
gone=400000000001/1999999999
{ head -5 corr.ndjson
  jq -c --arg i "$slotitem" 'select(.item == $i) | {item, sku, location, from: .qty, to: (.qty - 2),
	delta: -2, reason: "sync"}' have.ndjson
  printf '{"item":"%s","sku":"x","location":"","from":3,"to":4,"delta":1,"reason":"sync"}\n' "$gone"
} > corrp.ndjson
STDIN=corrp.ndjson run invpush -q pdd
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$slotitem" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf '%s\n' "failed not written: $R pdd.goods.quantity.update: error_code 50001: 业务服务错误: 商品在资源位上，不能减少库存" |
	cmp -s - got && ok "partial failure: the slot SKU failed with the platform's Chinese words, byte for byte" ||
	notok "partial failure: the slot SKU failed with the platform's Chinese words" "$(cat got)"
jq -r --arg i "$gone" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf '%s\n' "failed not written: SKU $gone could not be read: $R pdd.goods.skus.get: error_code 50001: 业务服务错误: sku不存在" |
	cmp -s - got && ok "partial failure: the unknown SKU failed, not written" ||
	notok "partial failure: the unknown SKU failed" "$(cat got)"
[ "$(jq -r 'select(.status == "applied") | .item' "$T/out" | wc -l)" -eq 5 ] && [ "$(nadj)" -eq 5 ] &&
	ok "partial failure: the five others applied, once each" ||
	notok "partial failure: the five others applied" "$(jq -r .status "$T/out" | sort | uniq -c), $(nadj) adjusted"
[ "$(nupdates)" -eq 6 ] && ok "partial failure: the unknown SKU never sent to the update" ||
	notok "partial failure: the unknown SKU never sent to the update" "$(nupdates) update calls"

# ---- lost answers: one write applied, its answer lost; one dropped before it was applied
fresh
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"pdd.goods.quantity.update"}},
	{"kind":"drop","next":1,"skip":3,"match":{"op":"pdd.goods.quantity.update"}}]}' > /dev/null
pipeline
expect_rc 1 "lost answers: exit 1 (the dropped write is not known to be applied)"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answers: both faults fired" ||
	notok "lost answers: both faults fired" "$(ctl GET faults)"
[ "$(jq -r .status "$T/out" | sort | uniq -c | awk '{ printf "%s %s;", $1, $2 }')" = "$((m - 1)) applied;1 failed;" ] &&
	ok "lost answers: the applied one found applied by re-reading" ||
	notok "lost answers: the applied one found applied by re-reading" "$(jq -r .status "$T/out" | sort | uniq -c)"
jq -r 'select(.status == "failed") | .error' "$T/out" > got
grep -qxE 'unknown outcome: the answer was lost; re-read shows [0-9]+ \([0-9]+ if applied, [0-9]+ if not; not sent again\)' got &&
	ok "lost answers: the dropped one failed \"unknown outcome\", not sent again" ||
	notok "lost answers: the dropped one failed \"unknown outcome\"" "$(cat got)"
[ "$(nadj)" -eq $((m - 1)) ] && [ "$(nupdates)" -eq "$m" ] &&
	ok "lost answers: nothing applied twice ($(nadj) adjusted, $(nupdates) calls)" ||
	notok "lost answers: nothing applied twice" "$(nadj) adjusted, $(nupdates) calls for $m"
ctl DELETE faults > /dev/null
pipeline
[ "$rc" -eq 0 ] && [ "$(jq -r .status "$T/out" | sort | uniq -c | awk '{ printf "%s %s;", $1, $2 }')" = "1 applied;" ] &&
	ok "lost answers: the next run writes only the dropped one" ||
	notok "lost answers: the next run writes only the dropped one" "exit $rc; $(jq -r .status "$T/out" | sort | uniq -c)"
converged "lost answers: then the shop equals the master"

# ---- sales between pull and push: kept (a delta cannot erase them); one
# that leaves less than the delta takes away is a conflict
fresh
invpull -q pdd > have.ndjson
invdiff -q master.ndjson have.ndjson > corrs.ndjson
read -r item q to < <(jq -r 'select(.delta > 0 and .from > 2) | "\(.item) \(.from) \(.to)"' corrs.ndjson | head -1)
read -r item2 q2 to2 < <(jq -r 'select(.delta < -2) | "\(.item) \(.from) \(.to)"' corrs.ndjson | head -1)
ctl POST sale "{\"platform\":\"pinduoduo\",\"shop\":\"demo\",\"item\":\"$item\",\"qty\":2}" > /dev/null
ctl POST sale "{\"platform\":\"pinduoduo\",\"shop\":\"demo\",\"item\":\"$item2\",\"qty\":$((to2 + 1))}" > /dev/null
STDIN=corrs.ndjson run invpush -q pdd
expect_rc 1 "sales: exit 1 (one correction not applied)"
jq -r --arg i "$item" 'select(.item == $i) | .status' "$T/out" > got
echo applied | cmp -s - got && ok "sale: the correction applied as a delta" || notok "sale: the correction applied" "$(cat got)"
invpull -q pdd > after.ndjson
jq -r --arg i "$item" 'select(.item == $i) | .qty' after.ndjson > got
echo $((to - 2)) | cmp -s - got && ok "sale: kept (the shop shows the master's $to less the 2 sold)" ||
	notok "sale: kept" "$(cat got), expected $((to - 2))"
jq -r --arg i "$item2" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
d2=$((to2 - q2))
echo "conflict moved since it was read: $q2 then, $((q2 - to2 - 1)) now, and $d2 would take it below 0 (not written)" |
	cmp -s - got && ok "sale: too little left for the delta is a conflict" || notok "sale: too little left for the delta" "$(cat got)"
jq -r --arg i "$item2" 'select(.item == $i) | .qty' after.ndjson > got
echo $((q2 - to2 - 1)) | cmp -s - got && ok "sale: that SKU left as the sale left it" || notok "sale: that SKU left as the sale left it" "$(cat got)"
[ "$(jq -r --arg i "$item2" 'select(.item != $i) | .status' "$T/out" | sort -u)" = applied ] &&
	ok "sales: every other correction applied" ||
	notok "sales: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_client_secret_1:%s\n' "$TOKEN" > bad1.token
printf '%s:pdd_wrong_token_2\n' "$SECRET" > bad2.token
chmod 600 bad1.token bad2.token
sed "s|$T/pdd.token|$T/bad1.token|" invkit.conf > bad1.conf
sed "s|$T/pdd.token|$T/bad2.token|" invkit.conf > bad2.conf
run invpull --config bad1.conf pdd
expect_rc 77 "bad client secret: invpull exit 77"
expect_err "bad client secret: the platform's words" <<X
invpull: $R pdd.goods.list.get: error_code 20004: 签名验证失败 (check client_id, and the client secret and access token in token_file: client_secret:access_token)
X
run invpull --config bad2.conf pdd
expect_rc 77 "bad access token: invpull exit 77"
expect_err_has "bad access token: the platform's words" "$R pdd.goods.list.get: error_code 10019: access_token已过期 (check"
STDIN=corr.ndjson run invpush --config bad1.conf pdd
expect_rc 77 "bad client secret: invpush exit 77"
[ "$(nadj)" -eq 0 ] && ok "bad client secret: nothing written" || notok "bad client secret: nothing written" "$(nadj)"
if grep -rqF -e wrong_client_secret_1 -e pdd_wrong_token_2 -e "$SECRET" -e "$TOKEN" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret in the output, messages or journal"
else
	ok "bad credentials: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > bad3.token
chmod 600 bad3.token
sed "s|$T/pdd.token|$T/bad3.token|" invkit.conf > bad3.conf
run invpull --config bad3.conf pdd
expect_rc 78 "a secret without the access token: exit 78"
expect_err "a secret without the access token: says the shape, not the secret" <<X
invpull: bad3.conf: [pdd]: the secret must be client_secret:access_token, on one line
X
