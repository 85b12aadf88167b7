# The Kuaishou (快手小店) pipeline end to end against tests/sim (platform
# plugin tests/sim/platforms/kuaishou.py, which checks every request's
# HMAC-SHA256 sign with its own implementation): invpull (under a TZ far
# from Beijing's) | invdiff against a master | invpush, ending with the shop
# equal to the master, every SKU changed once by exactly its delta.  The
# sample shop has 110 items (two pages of open.item.list.get).  Then, each
# from a fresh shop: a throttled run (3 requests a second, and a 429 on a
# write), a partial failure (an item under review: the platform's Chinese
# message reaches the result byte for byte; an item deleted since the pull
# fails alone), a write applied but its answer lost and one dropped before
# it was applied (both resolved by re-reading, never re-sent blindly), a
# sale between pull and push (kept: the change is relative), a correction
# without `from` (a change from the quantity read just before), and bad
# credentials (exit 77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 110 --seed 4
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"kuaishou_qps":1000}' > /dev/null; }
fresh

SECRET=ks_sim_sign_secret TOKEN=ks_sim_demo_token
printf '%s:%s\n' "$SECRET" "$TOKEN" > ks.token
chmod 600 ks.token
cat > invkit.conf <<X
[ks]
type = kuaishou
base_url = http://127.0.0.1:$PORT/kuaishou/demo
app_key = ks_sim_key
token_file = $T/ks.token
rate_limit = 500
X

ctl GET state | jq -c '.kuaishou.demo.items[] | .id as $i | .skus[] |
	{item: "\($i)/\(.id)", sku: .nick, location: "", qty: .stock}' | sort > shop-want

# the timestamp is Unix milliseconds: right whatever the machine's zone
TZ=America/Los_Angeles run invpull -q ks
expect_rc 0 "invpull (TZ=America/Los_Angeles): exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU, exact" ||
	notok "invpull: every SKU, exact" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
ctl GET 'log?kind=requests' > reqs.json
[ "$(jq '[.requests[] | select(.ops == ["open.item.list.get"] and .status == 200)] | length' reqs.json)" -eq 2 ] &&
	ok "invpull: two pages read" || notok "invpull: two pages read"
jq -e '[.requests[] | select(.status != 200 or .notes)] | length == 0' reqs.json > /dev/null &&
	ok "invpull: every request signed as the platform checks it" ||
	notok "invpull: every request signed as the platform checks it" "$(jq -c '.requests[0]' reqs.json)"

jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
invdiff -q master.ndjson "$T/out" > corr.ndjson
m=$(wc -l < corr.ndjson)

pipeline() {
	invpull -q ks | invdiff -q master.ndjson - | invpush -q ks > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q ks | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nadjusts() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "adjust")] | length'; }
nupdates() { ctl GET 'log?kind=requests' | jq '[.requests[] | select(.ops == ["open.item.sku.stock.update"])] | length'; }

ctl DELETE log > /dev/null
TZ=Asia/Shanghai pipeline
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
converged "the shop equals the master"
[ "$(nadjusts)" -eq "$m" ] && ok "each SKU changed once" || notok "each SKU changed once" "$(nadjusts) of $m"
ctl GET 'log?kind=writes' | jq -c '.writes[] | select(.kind == "adjust") | {item, delta}' | sort > got
jq -c '{item, delta}' corr.ndjson | sort | cmp -s - got && ok "each change is exactly the correction's delta" ||
	notok "each change is exactly the correction's delta" "$(jq -c '{item, delta}' corr.ndjson | sort | diff - got | head -5)"

# ---- throttled: 3 requests a second (the driver told so), and a 429 on a write
ctl POST reset '{}' > /dev/null
ctl POST config '{"kuaishou_qps":3}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
head -4 corr.ndjson > corr5.ndjson
ctl DELETE log > /dev/null
ctl POST faults '{"rules":[{"kind":"429","next":1,"match":{"op":"open.item.sku.stock.update"}}]}' > /dev/null
t0=$(date +%s%N)
STDIN=corr5.ndjson run invpush -q ks
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
ctl GET 'log?kind=requests' > reqs.json
nreq=$(jq '.requests | length' reqs.json)
n429=$(jq '[.requests[] | select(.status == 429 and .fault == null)] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$n429" -le 1 ] && ok "throttled: the limiter kept within the rate ($nreq requests, $n429 refused by the limit)" ||
	notok "throttled: the limiter kept within the rate" "$nreq requests, $n429 refused"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq requests in $ms ms)" ||
	notok "throttled: paced" "$nreq requests in $ms ms"
[ "$(nadjusts)" -eq 4 ] && ok "throttled: the refused write sent again after a re-read, each SKU changed once" ||
	notok "throttled: each SKU changed once" "$(nadjusts) of 4"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the 429 fired" ||
	notok "throttled: the 429 fired"
ctl DELETE faults > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: an item under review (its Chinese message passed through
# untouched) and an item deleted since the pull: only their corrections fail
fresh
invpull -q ks > have.ndjson
# an item under review, and another deleted since the pull
iid=$(ctl GET state | jq -r '[.kuaishou.demo.items[] | select(.skus | length == 3)][0].id')
invdiff -q master.ndjson have.ndjson > corrp.ndjson
gone=$(jq -r -s 'group_by(.item | split("/")[0])[] | select(length == 1) | .[0].item' corrp.ndjson | head -1)
ctl GET state | jq -c --argjson i "$iid" --argjson g "${gone%%/*}" '(.kuaishou.demo.items[] | select(.id == $i)) |=
	. + {audit: true} | .kuaishou.demo.items |= map(select(.id != $g))' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
nbad=$(jq -r --arg i "$iid/" 'select(.item | startswith($i)) | .item' corrp.ndjson | wc -l)
STDIN=corrp.ndjson run invpush -q ks
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$iid/" 'select(.item | startswith($i)) | "\(.status) \(.error)"' "$T/out" | sort -u > got
printf 'failed not written: [ks]: open.item.sku.stock.update: HTTP 200: result 1003: \345\225\206\345\223\201\345\256\241\346\240\270\344\270\255\357\274\214\346\232\202\344\270\215\346\224\257\346\214\201\344\277\256\346\224\271\345\272\223\345\255\230\n' |
	cmp -s - got && ok "partial failure: the item under review failed with the platform's Chinese words, byte for byte" ||
	notok "partial failure: the platform's Chinese words, byte for byte" "$(cat got)"
jq -r --arg i "$gone" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf 'failed not written: the read before writing was refused: [ks]: open.item.get: HTTP 200: result 1001: \345\225\206\345\223\201\344\270\215\345\255\230\345\234\250\n' |
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
ctl POST faults '{"rules":[{"kind":"lost_answer","next":1,"match":{"op":"open.item.sku.stock.update"}},
	{"kind":"drop","next":1,"skip":3,"match":{"op":"open.item.sku.stock.update"}}]}' > /dev/null
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
invpull -q ks > have.ndjson
invdiff -q master.ndjson have.ndjson > corrs.ndjson
read -r item q to < <(jq -r 'select(.from > 2 and .to > 2) | "\(.item) \(.from) \(.to)"' corrs.ndjson | head -1)
ctl POST sale "{\"platform\":\"kuaishou\",\"shop\":\"demo\",\"item\":\"$item\",\"location\":\"\",\"qty\":2}" > /dev/null
STDIN=corrs.ndjson run invpush -q ks
expect_rc 0 "sale: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "sale: every correction applied" ||
	notok "sale: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
invpull -q ks | jq -r --arg i "$item" 'select(.item == $i) | .qty' > got
echo $((to - 2)) | cmp -s - got && ok "sale: kept (the shop shows the master's $to less the 2 sold, not $to)" ||
	notok "sale: kept" "$(cat got), $((to - 2)) expected ($q before the sale)"

# ---- no `from`: a change from the quantity read just before the write
item2=$(jq -r 'select(.item != "'"$item"'") | .item' corrs.ndjson | head -1)
printf '{"item":"%s","sku":"x","location":"","from":null,"to":40,"delta":40,"reason":"sync"}\n' "$item2" > corrn.ndjson
STDIN=corrn.ndjson run invpush -q ks
expect_rc 0 "no from: exit 0"
invpull -q ks | jq -r --arg i "$item2" 'select(.item == $i) | .qty' > got
echo 40 | cmp -s - got && ok "no from: the SKU shows 40" || notok "no from: the SKU shows 40" "$(cat got)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_sign_secret_1:%s\n' "$TOKEN" > bad1.token
printf '%s:wrong_token_2\n' "$SECRET" > bad2.token
chmod 600 bad1.token bad2.token
sed "s|$T/ks.token|$T/bad1.token|" invkit.conf > bad1.conf
sed "s|$T/ks.token|$T/bad2.token|" invkit.conf > bad2.conf
run invpull --config bad1.conf ks
expect_rc 77 "bad sign secret: invpull exit 77"
printf 'invpull: [ks]: open.item.list.get: HTTP 200: result 28: \347\255\276\345\220\215\351\252\214\350\257\201\345\244\261\350\264\245 (check appkey, and sign_secret:access_token in token_file)\n' > want
cmp -s want "$T/err" && ok "bad sign secret: the platform's words" || notok "bad sign secret: the platform's words" "$(cat "$T/err")"
run invpull --config bad2.conf ks
expect_rc 77 "bad access token: invpull exit 77"
expect_err_has "bad access token: the platform's words" "HTTP 200: result 24: access_token"
STDIN=corr.ndjson run invpush --config bad1.conf ks
expect_rc 77 "bad sign secret: invpush exit 77"
[ "$(nadjusts)" -eq 0 ] && ok "bad sign secret: nothing written" || notok "bad sign secret: nothing written" "$(nadjusts)"
if grep -rqF -e wrong_sign_secret_1 -e wrong_token_2 -e "$SECRET" -e "$TOKEN" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret in the output, messages or journal"
else
	ok "bad credentials: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > bad3.token
chmod 600 bad3.token
sed "s|$T/ks.token|$T/bad3.token|" invkit.conf > bad3.conf
run invpull --config bad3.conf ks
expect_rc 78 "a secret without the access token: exit 78"
expect_err "a secret without the access token: says the shape, not the secret" <<X
invpull: bad3.conf: [ks]: the secret must be sign_secret:access_token, on one line
X
