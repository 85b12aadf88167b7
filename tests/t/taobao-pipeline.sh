# The Taobao/Tmall (TOP) pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/taobao.py, which checks every call's sign and GMT+8
# timestamp with its own implementation): invpull | invdiff against a master
# | invpush, ending with the shop equal to the master.  The sample shop has
# 250 items (225 on sale: two pages of taobao.items.onsale.get), a third of
# them with SKUs.  The tools run in a time zone 14 hours ahead of UTC: a
# timestamp taken from the local clock would be refused.  Then, each from a
# fresh shop: a throttled run (3 calls a second, and a code 7 on a write), a
# partial failure (a frozen item refused with the platform's Chinese words,
# passed through byte for byte), a change applied but its answer lost and one
# dropped before it was applied (both resolved by re-reading, never re-sent
# blindly), the SKUs of one item changed in one taobao.skus.quantity.update
# (its answer lost, dropped, or refused for the whole item), a sale between
# pull and push (kept: the push is a change by delta), and bad credentials
# (exit 77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T TZ=Pacific/Kiritimati

start_sim --sample 250 --seed 5
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"taobao_qps":1000}' > /dev/null; }
fresh

SECRET=tb_sim_secret SESSION=6100tb_sim_session
printf '%s:%s\n' "$SECRET" "$SESSION" > tb.token
chmod 600 tb.token
cat > invkit.conf <<X
[tb]
type = taobao
base_url = http://127.0.0.1:$PORT/taobao/demo/router/rest
app_key = tb_sim_key
token_file = $T/tb.token
rate_limit = 500
X
UPD=taobao.item.quantity.update SKUS=taobao.skus.quantity.update

# what the shop shows: every SKU of the items on sale, or the item when it has none
ctl GET state | jq -c '.taobao.demo.items[] | select(.approve_status == "onsale") | . as $i |
	if .skus then .skus[] | {item: "\($i.num_iid)/\(.sku_id)", sku: .outer_id, qty: .quantity}
	else {item: "\(.num_iid)", sku: .outer_id, qty: .num} end' | sort > shop-want

run invpull -q tb
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU of every item on sale, nothing else ($(wc -l < shop-want))" ||
	notok "invpull: every SKU of every item on sale" "$(diff shop-want shop-got | head)"
[ "$(jq -r '"\(.location)|\(.state)"' "$T/out" | sort -u)" = "|available" ] &&
	ok "invpull: one pool (location \"\"), state available" || notok "invpull: location and state"
ctl GET 'log?kind=requests' > reqs.json
[ "$(jq '[.requests[] | select(.ops == ["taobao.items.onsale.get"])] | length' reqs.json)" -eq 2 ] &&
	ok "invpull: two pages of items on sale" || notok "invpull: two pages of items on sale"
[ "$(jq '[.requests[] | select(.ops == ["taobao.items.seller.list.get"])] | length' reqs.json)" -eq 12 ] &&
	ok "invpull: the 225 items read 20 at a time (12 calls)" || notok "invpull: 12 seller.list.get calls"
jq -e '[.requests[] | select(.status != 200 or .notes != null)] | length == 0' reqs.json > /dev/null &&
	ok "invpull: every call signed and timed (GMT+8) as the platform checks it" ||
	notok "invpull: every call signed and timed" "$(jq -c '.requests[] | select(.notes != null)' reqs.json | head -3)"
for sm in hmac hmac-sha256; do
	sed "s/^rate_limit.*/&\nsign_method = $sm/" invkit.conf > sm.conf
	invpull -q --config sm.conf tb | jq -c '{item, sku, qty}' | sort | cmp -s - shop-want &&
		ok "invpull: sign_method = $sm" || notok "invpull: sign_method = $sm"
done

# the master: every record at a new quantity
cp "$T/out" have0.ndjson
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' have0.ndjson > master.ndjson
invdiff -q master.ndjson have0.ndjson > corr.ndjson
m=$(wc -l < corr.ndjson)

pipeline() {
	invpull -q tb | invdiff -q master.ndjson - | invpush -q tb > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q tb | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
# the simulator's logs, fetched once per step (logs), then counted
logs() { ctl GET 'log?kind=writes' > w.json; ctl GET 'log?kind=requests' > reqs.json; }
nadjust() { jq '[.writes[] | select(.kind == "adjust")] | length' w.json; }
nwrite() { jq '[.writes[] | select(.kind != "sale")] | length' w.json; }
nupdates() { jq --arg u "$UPD" '[.requests[] | select(.ops == [$u])] | length' reqs.json; }
nskus() { jq --arg u "$SKUS" '[.requests[] | select(.ops == [$u])] | length' reqs.json; }
# the calls a push of corrections FILE makes when every one is sent once: in
# batches of 20 (invpush's and the driver's), two or more SKUs of one item in
# one skus.quantity.update, anything else alone: "UPD-calls SKUS-calls"
calls_for() {
	jq -r -s '[range(0; length; 20) as $i | .[$i:$i + 20] | group_by(.item | split("/")[0])[] |
		if (.[0].item | contains("/")) and length > 1 then [0, 1] else [length, 0] end] |
		"\(map(.[0]) | add) \(map(.[1]) | add)"' "$1"
}

t0=$(date +%s%N)
pipeline
t1=$(date +%s%N)
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
logs
converged "the shop equals the master"
[ "$(nadjust)" -eq "$m" ] && [ "$(nwrite)" -eq "$m" ] &&
	ok "each quantity changed once, by delta (type=2), never set ($(( (t1 - t0) / 1000000 )) ms for the run)" ||
	notok "each quantity changed once, by delta" "$(nadjust) adjusts, $(nwrite) writes, $m corrections"
# the quantity the platform answered, as the journal keeps it: "item after" of a run's newest journal
journal_after() {
	jq -r -s '(map(select(.record)) | map({key: "\(.input)", value: .record.item}) | from_entries) as $it |
		.[] | select(.results) | .results[] | select(.after != null) | "\($it["\(.input)"]) \(.after)"' \
		"$(ls -t $(find "$T/state" -type f) | head -1)" | sort
}
journal_after > got
jq -r '"\(.item) \(.to)"' corr.ndjson | sort | cmp -s - got && ok "each change's answered quantity (= to) in the journal" ||
	notok "each change's answered quantity in the journal" "$(head -3 got)"
read -r eu es < <(calls_for corr.ndjson)
[ "$(nupdates) $(nskus)" = "$eu $es" ] && [ "$es" -gt 0 ] &&
	ok "one $SKUS call for the SKUs of one item in a batch ($es), one $UPD for the rest ($eu)" ||
	notok "one $SKUS call per item of a batch" "$(nupdates) $UPD and $(nskus) $SKUS calls, $eu and $es expected"
# each skus.quantity.update changed two or more SKUs, all of one item
jq -e --arg u "$SKUS" '([.requests[] | select(.ops == [$u]) | .request_id]) as $ids | [.writes[] |
	select(.request_id as $r | $ids | index($r))] | group_by(.request_id) |
	length == ($ids | length) and all(length >= 2 and (map(.item | split("/")[0]) | unique | length) == 1)' \
	<(jq -s '.[0] + .[1]' w.json reqs.json) > /dev/null &&
	ok "each $SKUS call changed 2 or more SKUs of one item" || notok "each $SKUS call changed SKUs of one item"

# ---- throttled: 3 calls a second (the driver told so), and a code 7 on a write
fresh
ctl POST config '{"taobao_qps":3}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
head -8 corr.ndjson > corr8.ndjson
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"write":true}}]}' > /dev/null
t0=$(date +%s%N)
STDIN=corr8.ndjson run invpush -q tb
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
logs
nreq=$(jq '.requests | length' reqs.json)
nlim=$(jq '[.requests[] | select(.notes != null and (.notes | index("over the rate limit")))] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$nlim" -le 2 ] && ok "throttled: the limiter kept within the rate ($nreq calls, $nlim refused)" ||
	notok "throttled: the limiter kept within the rate" "$nreq calls, $nlim refused"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq calls in $ms ms)" ||
	notok "throttled: paced" "$nreq calls in $ms ms"
[ "$(nadjust)" -eq 8 ] && ok "throttled: the refused change sent again after a read, each applied once" ||
	notok "throttled: each applied once" "$(nadjust) of 8"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the code 7 fired" ||
	notok "throttled: the code 7 fired"
ctl DELETE faults > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: a frozen item, refused in Chinese
fresh
read -r fid < <(jq -r 'select(.item | contains("/") | not) | .item' corr.ndjson | head -1)
ctl GET state | jq -c --argjson i "$fid" '(.taobao.demo.items[] | select(.num_iid == $i)) |= . + {locked: true}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
{ grep -F "\"item\":\"$fid\"" corr.ndjson; head -40 corr.ndjson | grep -vF "\"item\":\"$fid\""; } > corr40.ndjson
mp=$(wc -l < corr40.ndjson)
ctl DELETE log > /dev/null
STDIN=corr40.ndjson run invpush -q tb
logs
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$fid" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf '%s\n' "failed not written: [tb]: $UPD: code 15: Remote service error: isv.item-update-service-error:ITEM_FROZEN: 该商品已被冻结，不能修改库存" |
	cmp -s - got && ok "partial failure: the Chinese message passed through byte for byte" ||
	notok "partial failure: the Chinese message passed through byte for byte" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .item' "$T/out")" = "$fid" ] &&
	ok "partial failure: every other correction applied" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(nadjust)" -eq $((mp - 1)) ] && ok "partial failure: the others changed once each" ||
	notok "partial failure: the others changed once each" "$(nadjust) of $((mp - 1))"
STDIN=corr40.ndjson run invpush -q -F csv tb
grep -qF '该商品已被冻结，不能修改库存' "$T/out" && ok "partial failure: the Chinese message in CSV results too" ||
	notok "partial failure: the Chinese message in CSV results too"

# ---- lost answers: one change applied, its answer lost; one dropped before it was applied
fresh
ctl POST faults "{\"rules\":[{\"kind\":\"lost_answer\",\"next\":1,\"match\":{\"op\":\"$UPD\"}},
	{\"kind\":\"drop\",\"next\":1,\"skip\":3,\"match\":{\"op\":\"$UPD\"}}]}" > /dev/null
pipeline
logs
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nadjust)" -eq "$m" ] && ok "lost answer: each changed once (the applied one not sent again)" ||
	notok "lost answer: each changed once" "$(nadjust) changes for $m"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answer: both faults fired" ||
	notok "lost answer: both faults fired" "$(ctl GET faults)"
[ "$(nupdates) $(nskus)" = "$((eu + 1)) $es" ] && ok "lost answer: only the dropped change sent again" ||
	notok "lost answer: only the dropped change sent again" "$(nupdates) $UPD and $(nskus) $SKUS calls, $((eu + 1)) and $es expected"
ctl DELETE faults > /dev/null
converged "lost answer: the shop equals the master"

# ---- the three SKUs of one item: one taobao.skus.quantity.update (and one item alone)
fresh
invpull -q tb > have.ndjson
bid=$(jq -r 'select(.item | contains("/")) | .item | split("/")[0]' have.ndjson | sort | uniq -c | awk '$1 == 3 { print $2; exit }')
sid1=$(jq -r 'select(.item | contains("/") | not) | .item' have.ndjson | head -1)
# SKU n of the item up by n, the item alone up by 5
jq -c -s --arg b "$bid/" --arg s "$sid1" '[.[] | select((.item | startswith($b)) or .item == $s)] | to_entries[] |
	.value as $v | (if $v.item == $s then 5 else .key + 1 end) as $d |
	{item: $v.item, sku: $v.sku, location: "", from: $v.qty, to: ($v.qty + $d), delta: $d, reason: "sync"}' have.ndjson > cb.ndjson
[ "$(grep -c "\"item\":\"$bid/" cb.ndjson) $(wc -l < cb.ndjson)" = "3 4" ] || notok "batch: three SKUs of item $bid and one item"
jq -r '"\(.item) \(.to)"' cb.ndjson | sort > cb-want
shows() { invpull -q tb | jq -r '"\(.item) \(.qty)"' | grep -F -f <(jq -r '"\(.item) "' cb.ndjson) | sort; }
# the SKU changes the simulator applied, "item delta request" each
skuwrites() { jq -r --arg b "$bid/" '.writes[] | select(.item | startswith($b)) | "\(.item) \(.delta) \(.request_id)"' w.json | sort; }
ctl DELETE log > /dev/null
STDIN=cb.ndjson run invpush -q tb
logs
expect_rc 0 "batch: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "batch: every correction applied" ||
	notok "batch: every correction applied" "$(jq -r '"\(.status) \(.error)"' "$T/out"; head -3 "$T/err")"
[ "$(nskus) $(nupdates)" = "1 1" ] && ok "batch: the three SKUs in ONE $SKUS call, the item alone in one $UPD" ||
	notok "batch: one $SKUS call" "$(nskus) $SKUS and $(nupdates) $UPD calls"
rid=$(jq -r --arg u "$SKUS" '.requests[] | select(.ops == [$u]) | .request_id' reqs.json)
jq -r '"\(.item) \(.delta)"' cb.ndjson | grep "^$bid/" | sed "s/\$/ $rid/" | sort > want
skuwrites | cmp -s want - && ok "batch: that call changed each SKU once, by its delta" ||
	notok "batch: that call changed each SKU once, by its delta" "$(skuwrites)"
journal_after | cmp -s cb-want - && ok "batch: each change's answered quantity (= to) in the journal" ||
	notok "batch: each change's answered quantity in the journal" "$(journal_after)"
shows | cmp -s cb-want - && ok "batch: the shop shows the targets" || notok "batch: the shop shows the targets" "$(shows)"

# its answer lost after it was applied: the re-read finds each SKU at from + delta
fresh
ctl DELETE log > /dev/null
ctl POST faults "{\"rules\":[{\"kind\":\"lost_answer\",\"next\":1,\"match\":{\"op\":\"$SKUS\"}}]}" > /dev/null
STDIN=cb.ndjson run invpush -q tb
logs
expect_rc 0 "batch, answer lost: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "batch, answer lost: every correction applied (found by re-reading)" ||
	notok "batch, answer lost: every correction applied" "$(jq -r '"\(.status) \(.error)"' "$T/out")"
[ "$(nskus) $(skuwrites | wc -l)" = "1 3" ] && ok "batch, answer lost: not sent again, each SKU changed once" ||
	notok "batch, answer lost: not sent again" "$(nskus) calls; $(skuwrites)"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "batch, answer lost: the fault fired" ||
	notok "batch, answer lost: the fault fired"
shows | cmp -s cb-want - && ok "batch, answer lost: the shop shows the targets" || notok "batch, answer lost: the shop" "$(shows)"
# dropped before it was applied: the re-read finds each SKU at from, sent again once
fresh
ctl DELETE log > /dev/null
ctl POST faults "{\"rules\":[{\"kind\":\"drop\",\"next\":1,\"match\":{\"op\":\"$SKUS\"}}]}" > /dev/null
STDIN=cb.ndjson run invpush -q tb
logs
expect_rc 0 "batch, dropped: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "batch, dropped: every correction applied" ||
	notok "batch, dropped: every correction applied" "$(jq -r '"\(.status) \(.error)"' "$T/out")"
[ "$(nskus) $(skuwrites | wc -l)" = "2 3" ] && ok "batch, dropped: sent again after the re-read, each SKU changed once" ||
	notok "batch, dropped: sent again once" "$(nskus) calls; $(skuwrites)"
shows | cmp -s cb-want - && ok "batch, dropped: the shop shows the targets" || notok "batch, dropped: the shop" "$(shows)"
ctl DELETE faults > /dev/null
# refused for the whole item (frozen): each SKU's correction failed with the platform's words
fresh
ctl GET state | jq -c --argjson i "$bid" '(.taobao.demo.items[] | select(.num_iid == $i)) |= . + {locked: true}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
STDIN=cb.ndjson run invpush -q tb
logs
expect_rc 1 "batch, refused: exit 1"
jq -r '"\(.item) \(.status) \(.error)"' "$T/out" | sort > got
{ jq -r '.item' cb.ndjson | grep "^$bid/" | sed "s|\$| failed not written: [tb]: $SKUS: code 15: Remote service error: isv.item-update-service-error:ITEM_FROZEN: 该商品已被冻结，不能修改库存|"
  echo "$sid1 applied null"; } | sort > want
cmp -s want got && ok "batch, refused: each SKU failed with the platform's Chinese words, the other item applied" ||
	notok "batch, refused: each SKU failed with the platform's words" "$(diff want got)"
[ "$(nskus) $(nwrite)" = "1 1" ] && ok "batch, refused: sent once, not again; nothing of it written" ||
	notok "batch, refused: sent once" "$(nskus) calls, $(nwrite) writes"

# ---- a sale between pull and push: kept (a change by delta cannot erase it)
fresh
invpull -q tb > have.ndjson
read -r item q want < <(jq -r --slurpfile mm master.ndjson '. as $h | ($mm[] | select(.item == $h.item) | .qty) as $w |
	select(.qty > 2 and $w != .qty) | "\(.item) \(.qty) \($w)"' have.ndjson | head -1)
invdiff -q master.ndjson have.ndjson | head -30 | grep -qF "\"item\":\"$item\"" || notok "sale: the item is among the first 30 corrections"
ctl POST sale "{\"platform\":\"taobao\",\"shop\":\"demo\",\"item\":\"$item\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | head -30 | invpush -q tb'
expect_rc 0 "sale: exit 0"
{ jq -r --arg i "$item" 'select(.item == $i) | "\(.status) \(.from) \(.to)"' "$T/out"; journal_after | grep "^$item " | cut -d' ' -f2; } |
	paste -sd' ' > got
echo "applied $q $want $((want - 2))" | cmp -s - got &&
	ok "sale: applied as a change, the result says what the shop shows ($((want - 2)))" || notok "sale: applied as a change" "$(cat got)"
invpull -q tb | jq -r --arg i "$item" 'select(.item == $i) | .qty' > got
echo $((want - 2)) | cmp -s - got && ok "sale: kept (the master's $want less the 2 sold)" || notok "sale: kept" "$(cat got)"
# a sale that leaves too little for the change: a conflict, not sent
fresh
invpull -q tb > have.ndjson
read -r item q < <(jq -r 'select(.qty == 3) | "\(.item) \(.qty)"' have.ndjson | head -1)
printf '{"item":"%s","sku":"x","location":"","from":3,"to":1,"delta":-2,"reason":"sync"}\n' "$item" > c1.ndjson
ctl POST sale "{\"platform\":\"taobao\",\"shop\":\"demo\",\"item\":\"$item\",\"qty\":2}" > /dev/null
ctl DELETE log > /dev/null
STDIN=c1.ndjson run invpush -q tb
logs
expect_rc 1 "sale: too little left: exit 1"
jq -r '"\(.status) \(.error)"' "$T/out" > got
echo "conflict moved since it was read: 3 then, 1 now, and -2 would leave -1 (not written)" | cmp -s - got &&
	ok "sale: too little left: a conflict, not sent" || notok "sale: too little left: a conflict" "$(cat got)"
[ "$(nupdates)" -eq 0 ] && ok "sale: too little left: no change sent" || notok "sale: no change sent" "$(nupdates)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_app_secret_1:%s\n' "$SESSION" > bad1.token
printf '%s:6100wrong_session_2\n' "$SECRET" > bad2.token
chmod 600 bad1.token bad2.token
sed "s|$T/tb.token|$T/bad1.token|" invkit.conf > bad1.conf
sed "s|$T/tb.token|$T/bad2.token|" invkit.conf > bad2.conf
run invpull --config bad1.conf tb
expect_rc 77 "bad app secret: invpull exit 77"
expect_err "bad app secret: the platform's words" <<X
invpull: [tb]: taobao.items.onsale.get: code 25: Invalid signature (check app_key, and the app secret and session key in token_file: app_secret:session_key)
X
run invpull --config bad2.conf tb
expect_rc 77 "bad session: invpull exit 77"
expect_err_has "bad session: the platform's words" "code 27: Invalid session: invalid-sessionkey: SessionKey非法"
STDIN=corr.ndjson run invpush --config bad1.conf tb
logs
expect_rc 77 "bad app secret: invpush exit 77"
[ "$(nwrite)" -eq 0 ] && ok "bad app secret: nothing written" || notok "bad app secret: nothing written" "$(nwrite)"
if grep -rqF -e wrong_app_secret_1 -e 6100wrong_session_2 -e "$SECRET" -e "$SESSION" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret in the output, messages or journal"
else
	ok "bad credentials: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > bad3.token
chmod 600 bad3.token
sed "s|$T/tb.token|$T/bad3.token|" invkit.conf > bad3.conf
run invpull --config bad3.conf tb
expect_rc 78 "a secret without the session key: exit 78"
expect_err "a secret without the session key: says the shape, not the secret" <<X
invpull: bad3.conf: [tb]: the secret must be app_secret:session_key, on one line
X
