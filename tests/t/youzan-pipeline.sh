# The Youzan (有赞) pipeline end to end against tests/sim (platform plugin
# tests/sim/platforms/youzan.py, which checks the client_secret on the token
# service and the token on every call with its own code): invpull | invdiff
# against a master | invpush, ending with the shop equal to the master, every
# SKU changed once by exactly its delta.  The sample shop has 130 items (two
# pages on sale, one in the warehouse; every 3rd item with three SKUs).  Then,
# each from a fresh shop: --since as Unix milliseconds whatever the machine's
# zone, a throttled run (3 requests a second, and a 429 on a write), a partial
# failure (an item whose stock is synced from elsewhere: the platform's
# Chinese message reaches the result byte for byte; an item deleted since the
# pull fails alone), a write applied but its answer lost and one dropped
# before it was applied (both resolved by re-reading, never re-sent blindly),
# a sale between pull and push (kept: the change is relative), a correction
# without `from`, and bad credentials (exit 77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 130 --seed 5
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"youzan_qps":1000}' > /dev/null; }
fresh

SECRET=yz_sim_client_secret
printf '%s\n' "$SECRET" > yz.token
chmod 600 yz.token
cat > invkit.conf <<X
[yz]
type = youzan
base_url = http://127.0.0.1:$PORT/youzan/demo
client_id = yz_sim_client
grant_id = 91234567
token_file = $T/yz.token
rate_limit = 500
X

ctl GET state | jq -c '.youzan.demo.items[] | .id as $i | if .skus then (.skus[] |
	{item: "\($i)/\(.id)", sku: .item_no, location: "", qty: .quantity}) else
	{item: "\($i)", sku: .item_no, location: "", qty: .quantity} end' | sort > shop-want

run invpull -q yz
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU and single item, exact ($(wc -l < shop-got))" ||
	notok "invpull: every SKU and single item, exact" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
ctl GET 'log?kind=requests' > reqs.json
[ "$(jq -c '[.requests[] | select(.ops[0] | test("items")) | .ops[0]]' reqs.json)" = \
	'["youzan.items.onsale.get","youzan.items.onsale.get","youzan.items.inventory.get"]' ] &&
	ok "invpull: two pages on sale, one in the warehouse" ||
	notok "invpull: three list pages" "$(jq -c '[.requests[] | .ops[0]] | group_by(.) | map([.[0], length])' reqs.json)"
[ "$(jq '[.requests[] | select(.ops == ["auth.token"])] | length' reqs.json)" -eq 1 ] &&
	ok "invpull: one token for the run" || notok "invpull: one token for the run"
jq -e '[.requests[] | select(.status != 200 or .notes)] | length == 0' reqs.json > /dev/null &&
	ok "invpull: every request carried the credentials the platform checks" ||
	notok "invpull: every request accepted" "$(jq -c '[.requests[] | select(.status != 200 or .notes)][0]' reqs.json)"

jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
invdiff -q master.ndjson "$T/out" > corr.ndjson
m=$(wc -l < corr.ndjson)

pipeline() {
	invpull -q yz | invdiff -q master.ndjson - | invpush -q yz > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q yz | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nadjusts() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "adjust")] | length'; }
nupdates() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["youzan.item.quantity.update"])] | length'; }

ctl DELETE log > /dev/null
pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
converged "the shop equals the master"
[ "$(nadjusts)" -eq "$m" ] && ok "each SKU changed once, by type=1 (增量)" ||
	notok "each SKU changed once" "$(nadjusts) of $m"
ctl GET 'log?kind=writes' | jq -c '.writes[] | select(.kind == "adjust") | {item, delta}' | sort > got
jq -c '{item, delta}' corr.ndjson | sort | cmp -s - got && ok "each change is exactly the correction's delta" ||
	notok "each change is exactly the correction's delta" "$(jq -c '{item, delta}' corr.ndjson | sort | diff - got | head -5)"

# ---- --since: update_time_start in Unix ms, from the time's own offset, not the machine's zone
fresh
now=$(date +%s)
since=$(TZ=Asia/Shanghai date -d "@$((now - 2))" +%Y-%m-%dT%H:%M:%S+08:00)
sold=$(ctl GET state | jq -r '[.youzan.demo.items[] | select(.skus and .listed)][1] | "\(.id)/\(.skus[0].id)"')
ctl POST sale "{\"platform\":\"youzan\",\"shop\":\"demo\",\"item\":\"$sold\",\"location\":\"\",\"qty\":1}" > /dev/null
TZ=America/Los_Angeles run invpull -q --since "$since" yz
expect_rc 0 "--since (TZ=America/Los_Angeles): exit 0"
jq -r .item "$T/out" | sed 's|/.*||' | sort -u > got
echo "${sold%%/*}" | cmp -s - got && ok "--since $since: only the item sold since ($(wc -l < "$T/out") SKUs)" ||
	notok "--since: only the item sold since" "$(cat got | head -3)"
later=$(TZ=Asia/Tokyo date -d "@$((now + 3600))" +%Y-%m-%dT%H:%M:%S+09:00)
TZ=America/Los_Angeles run invpull -q --since "$later" yz
[ "$rc" -eq 0 ] && [ ! -s "$T/out" ] && ok "--since an hour ahead: nothing" || notok "--since an hour ahead: nothing" "$(head -2 "$T/out")"

# ---- throttled: 3 requests a second (the driver told so), and a 429 on a write
ctl POST reset '{}' > /dev/null
ctl POST config '{"youzan_qps":3}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
head -4 corr.ndjson > corr5.ndjson
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"youzan.item.quantity.update"}}]}' > /dev/null
t0=$(date +%s%N)
STDIN=corr5.ndjson run invpush -q yz
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '.requests | length' reqs.json)
nrate=$(jq '[.requests[] | select(.notes and (.notes | index("over the rate limit")))] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$nrate" -le 1 ] && ok "throttled: the limiter kept within the rate ($nreq requests, $nrate refused by the limit)" ||
	notok "throttled: the limiter kept within the rate" "$nreq requests, $nrate refused"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq requests in $ms ms)" ||
	notok "throttled: paced" "$nreq requests in $ms ms"
[ "$(nadjusts)" -eq 4 ] && ok "throttled: the refused write sent again after a re-read, each SKU changed once" ||
	notok "throttled: each SKU changed once" "$(nadjusts) of 4"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the 429 fired" ||
	notok "throttled: the 429 fired"
ctl DELETE faults > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: an item whose stock is synced from elsewhere (its Chinese
# message passed through untouched) and an item deleted since the pull
fresh
invpull -q yz > have.ndjson
invdiff -q master.ndjson have.ndjson > corrp.ndjson
iid=$(jq -r 'select(.item | contains("/")) | .item | split("/")[0]' corrp.ndjson | head -1)
gone=$(jq -r 'select(.item | contains("/") | not) | .item' corrp.ndjson | head -1)
ctl GET state | jq -c --argjson i "$iid" --argjson g "$gone" '(.youzan.demo.items[] | select(.id == $i)) |=
	. + {stock_sync: true} | .youzan.demo.items |= map(select(.id != $g))' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
nbad=$(jq -r --arg i "$iid/" 'select(.item | startswith($i)) | .item' corrp.ndjson | wc -l)
STDIN=corrp.ndjson run invpush -q yz
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$iid/" 'select(.item | startswith($i)) | "\(.status) \(.error)"' "$T/out" | sort -u > got
printf 'failed not written: [yz]: youzan.item.quantity.update: HTTP 200: code 123003023: \345\274\200\345\220\257\344\272\206\345\272\223\345\255\230\345\220\214\346\255\245\357\274\214\344\277\256\346\224\271\345\272\223\345\255\230\344\270\215\347\224\237\346\225\210\n' |
	cmp -s - got && ok "partial failure: the synced item failed with the platform's Chinese words, byte for byte" ||
	notok "partial failure: the platform's Chinese words, byte for byte" "$(cat got)"
jq -r --arg i "$gone" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf 'failed not written: the read before writing was refused: [yz]: youzan.item.get: HTTP 200: code 123005001: \345\225\206\345\223\201\344\270\215\345\255\230\345\234\250\n' |
	cmp -s - got && ok "partial failure: the item deleted since the pull failed alone, with the platform's words" ||
	notok "partial failure: the deleted item failed alone, with the platform's words" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq $((nbad + 1)) ] && [ "$nbad" -ge 1 ] &&
	ok "partial failure: every other correction applied ($nbad + 1 failed)" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(nadjusts)" -eq $(( $(wc -l < corrp.ndjson) - nbad - 1 )) ] && ok "partial failure: the others changed once each" ||
	notok "partial failure: the others changed once each" "$(nadjusts)"

# ---- lost answers: one write applied, its answer lost; one dropped before it was applied
fresh
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"youzan.item.quantity.update"}},
	{"kind":"drop","next":1,"skip":3,"match":{"op":"youzan.item.quantity.update"}}]}' > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nadjusts)" -eq "$m" ] && ok "lost answer: each SKU changed once (the applied one not sent again)" ||
	notok "lost answer: each SKU changed once" "$(nadjusts) changes for $m"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answer: both faults fired" ||
	notok "lost answer: both faults fired" "$(ctl GET faults)"
[ "$(nupdates)" -eq $((m + 1)) ] && ok "lost answer: only the dropped write sent again" ||
	notok "lost answer: only the dropped write sent again" "$(nupdates) update requests, $m + 1 expected"
ctl DELETE faults > /dev/null
converged "lost answer: the shop equals the master"

# ---- a sale between pull and push: kept, the change being relative
fresh
invpull -q yz > have.ndjson
invdiff -q master.ndjson have.ndjson > corrs.ndjson
read -r item q to < <(jq -r 'select(.from > 2 and .to > 2) | "\(.item) \(.from) \(.to)"' corrs.ndjson | head -1)
ctl POST sale "{\"platform\":\"youzan\",\"shop\":\"demo\",\"item\":\"$item\",\"location\":\"\",\"qty\":2}" > /dev/null
STDIN=corrs.ndjson run invpush -q yz
expect_rc 0 "sale: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "sale: every correction applied" ||
	notok "sale: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
invpull -q yz | jq -r --arg i "$item" 'select(.item == $i) | .qty' > got
echo $((to - 2)) | cmp -s - got && ok "sale: kept (the shop shows the master's $to less the 2 sold, not $to)" ||
	notok "sale: kept" "$(cat got), $((to - 2)) expected ($q before the sale)"

# ---- no `from`: a change from the quantity read just before the write
item2=$(jq -r 'select(.item != "'"$item"'") | .item' corrs.ndjson | head -1)
printf '{"item":"%s","sku":"x","location":"","from":null,"to":40,"delta":40,"reason":"sync"}\n' "$item2" > corrn.ndjson
STDIN=corrn.ndjson run invpush -q yz
expect_rc 0 "no from: exit 0"
invpull -q yz | jq -r --arg i "$item2" 'select(.item == $i) | .qty' > got
echo 40 | cmp -s - got && ok "no from: the item shows 40" || notok "no from: the item shows 40" "$(cat got)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_client_secret_1\n' > bad1.token
chmod 600 bad1.token
sed "s|$T/yz.token|$T/bad1.token|" invkit.conf > bad1.conf
sed 's/^client_id = .*/client_id = no_such_client/' invkit.conf > bad2.conf
run invpull --config bad1.conf yz
expect_rc 77 "bad client_secret: invpull exit 77"
printf 'invpull: [yz]: auth/token: HTTP 200: code 1000: client_secret \344\270\215\346\255\243\347\241\256 (check client_id, grant_id and the client_secret in token_file)\n' > want
cmp -s want "$T/err" && ok "bad client_secret: the platform's words" || notok "bad client_secret: the platform's words" "$(cat "$T/err")"
run invpull --config bad2.conf yz
expect_rc 77 "unknown client_id: invpull exit 77"
expect_err_has "unknown client_id: the platform's words" "HTTP 200: code 1103: Client "
STDIN=corr.ndjson run invpush --config bad1.conf yz
expect_rc 77 "bad client_secret: invpush exit 77"
[ "$(nupdates)" -eq 0 ] && ok "bad client_secret: nothing written" || notok "bad client_secret: nothing written" "$(nupdates)"
printf '%s\n' wrong_client_secret_1 "$SECRET" yz_sim_demo_token > secrets.pat	# builtin: not in any argv
if grep -rqF -f secrets.pat "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret in the output, messages or journal"
else
	ok "bad credentials: no secret in the output, messages or journal"
fi
sed '/^grant_id/d' invkit.conf > bad3.conf
run invpull --config bad3.conf yz
expect_rc 78 "no grant_id: exit 78"
expect_err_has "no grant_id: says what is missing" "[yz]: grant_id = is required (the shop's kdt_id, a number)"
