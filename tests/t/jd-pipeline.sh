# The JD pipeline end to end against tests/sim (platform plugin tests/sim/platforms/jd.py,
# which checks every call's MD5 sign and its GMT+8 timestamp with its own implementation):
# invpull | invdiff against a master | invpush, ending with the shop equal to the master.
# The sample shop has 120 wares (150 SKUs: two pages of searchSkuList).  Then, each from
# a fresh shop: pulls under other time zones, a throttled run (3 calls a second, and a
# throttled write), a partial failure (a SKU JD refuses with a Chinese message, passed
# through byte for byte, and an unknown SKU), a write applied but its answer lost and one
# dropped before it was applied (both resolved by re-reading, never re-sent blindly), a
# sale between pull and push (a conflict: JD's write is absolute, the sale is kept), and
# bad credentials (exit 77, the secret never printed).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

start_sim --sample 120 --seed 5
# the control API through curl when there is one: much quicker than a python3 start per call
if command -v curl > /dev/null; then
	ctl() { curl -sSf -X "$1" ${3+--data-binary "$3"} "http://127.0.0.1:$PORT/_sim/$2"; }
fi
# the platform's per-second limit is not published: the simulator's is raised, and the
# driver told so, except for the throttled run
fresh() { ctl POST reset '{}' > /dev/null; ctl POST config '{"jd_qps":1000}' > /dev/null; }
fresh

SECRET=jd_sim_secret TOKEN=jd_sim_token
printf '%s:%s\n' "$SECRET" "$TOKEN" > jd.token
chmod 600 jd.token
cat > invkit.conf <<X
[jd]
type = jd
base_url = http://127.0.0.1:$PORT/jd/demo
app_key = jd_sim_key
token_file = $T/jd.token
rate_limit = 500
X
LIST=jingdong.sku.read.searchSkuList SET=jingdong.stock.write.updateSkuStock

# what the shop holds: every SKU not deleted
ctl GET state | jq -c '.jd.demo.skus[] | select(.status != 4) |
	{item: (.skuId | tostring), sku: .outerId, location: "", qty: .stockNum}' | sort > shop-want

run invpull -q jd
expect_rc 0 "invpull: exit 0"
jq -c '{item, sku, location, qty}' "$T/out" | sort > shop-got
cmp -s shop-want shop-got && ok "invpull: every SKU, its stockNum" ||
	notok "invpull: every SKU, its stockNum" "$(diff shop-want shop-got | head)"
[ "$(jq -r .state "$T/out" | sort -u)" = available ] && ok "invpull: state available" ||
	notok "invpull: state available"
reqs() { ctl GET 'log?kind=requests'; }
pages=$(reqs | jq --arg m "$LIST" '[.requests[] | select(.ops == [$m] and .status == 200)] | length')
[ "$pages" -eq 2 ] && ok "invpull: two pages read" || notok "invpull: two pages read" "$pages"
reqs | jq -e '[.requests[] | select(.status != 200 or .notes != null)] | length == 0' > /dev/null &&
	ok "invpull: every call signed and timed as the platform checks it" ||
	notok "invpull: every call signed and timed as the platform checks it" "$(reqs | jq -c '.requests[] | select(.notes != null) | .notes' | head -3)"

# GMT+8 is computed from UTC: the machine's zone changes nothing
for tz in Pacific/Kiritimati America/Los_Angeles Asia/Shanghai UTC; do
	ctl DELETE log > /dev/null
	TZ=$tz invpull -q jd > tz.out 2> tz.err
	rc=$?
	if [ $rc -eq 0 ] && jq -c "del(.ts)" "$T/out" > a.tz && jq -c "del(.ts)" tz.out | cmp -s a.tz - &&
		reqs | jq -e '[.requests[] | select(.status != 200 or .notes != null)] | length == 0' > /dev/null; then
		ok "invpull under TZ=$tz: the same answer, every timestamp accepted"
	else
		notok "invpull under TZ=$tz: the same answer, every timestamp accepted" "exit $rc: $(head -2 tz.err)"
	fi
done

# the master: every SKU at a new quantity
jq -c '{item, sku, location, qty: ((.qty * 3 + 5) % 17 + 1)}' "$T/out" > master.ndjson
invdiff -q master.ndjson "$T/out" > corr.ndjson
m=$(wc -l < corr.ndjson)

pipeline() {
	invpull -q jd | invdiff -q master.ndjson - | invpush -q jd > "$T/out" 2> "$T/err"
	rc=$?
}
converged() {
	invpull -q jd | invdiff -q -e master.ndjson - > "$T/diff"
	if [ $? -eq 0 ] && [ ! -s "$T/diff" ]; then ok "$1"; else notok "$1" "$(head -5 "$T/diff")"; fi
}
nsets() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind == "set")] | length'; }
ncalls() { reqs | jq --arg m "$1" '[.requests[] | select(.ops == [$m])] | length'; }

ctl DELETE log > /dev/null
t0=$(date +%s%N)
pipeline
t1=$(date +%s%N)
expect_rc 0 "pull | diff | push: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "every correction applied" ||
	notok "every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(wc -l < "$T/out")" -eq "$m" ] && ok "one result per correction ($m)" ||
	notok "one result per correction" "$(wc -l < "$T/out") results, $m corrections"
[ "$(nsets)" -eq "$m" ] && ok "each SKU set once" || notok "each SKU set once" "$(nsets) of $m"
[ "$(ncalls $SET)" -eq "$m" ] &&
	ok "one updateSkuStock per correction ($m, $(( (t1 - t0) / 1000000 )) ms for the run)" ||
	notok "one updateSkuStock per correction" "$(ncalls $SET) calls"
# a read of at most 20 SKUs before each wave, after the pull's two pages
waves=0
for ((left = m; left > 0; left -= 100)); do
	b=$((left < 100 ? left : 100)); waves=$((waves + (b + 19) / 20))
done
[ "$(ncalls $LIST)" -eq $((2 + waves)) ] && ok "a re-read of each wave of 20 before it is written" ||
	notok "a re-read of each wave of 20 before it is written" "$(ncalls $LIST) reads, 2 + $waves expected"
converged "the shop equals the master"

# ---- throttled: 3 calls a second (the driver told so), and a throttled write
ctl POST reset '{}' > /dev/null
ctl POST config '{"jd_qps":3}' > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 3/' invkit.conf
head -8 corr.ndjson > corr8.ndjson
ctl DELETE log > /dev/null
ctl POST faults "{\"rules\":[{\"kind\":\"429\",\"next\":1,\"skip\":2,\"match\":{\"op\":\"$SET\"}}]}" > /dev/null
t0=$(date +%s%N)
STDIN=corr8.ndjson run invpush -q jd
t1=$(date +%s%N)
expect_rc 0 "throttled: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "throttled: every correction applied" ||
	notok "throttled: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
reqs > reqs.json
nreq=$(jq '.requests | length' reqs.json)
nlim=$(jq '[.requests[] | select(.notes != null and (.notes | index("over the rate limit")))] | length' reqs.json)
ms=$(( (t1 - t0) / 1000000 ))
[ "$nlim" -le 2 ] && ok "throttled: the limiter kept within the rate ($nreq calls, $nlim refused)" ||
	notok "throttled: the limiter kept within the rate" "$nreq calls, $nlim refused"
[ "$ms" -ge $(( (nreq / 3 - 1) * 1000 )) ] && ok "throttled: paced ($nreq calls in $ms ms)" ||
	notok "throttled: paced" "$nreq calls in $ms ms"
[ "$(nsets)" -eq 8 ] && ok "throttled: the refused write sent again after a re-read, each set once" ||
	notok "throttled: each set once" "$(nsets) of 8"
ctl GET faults | jq -e '.rules[0].remaining == 0' > /dev/null && ok "throttled: the throttle fired" ||
	notok "throttled: the throttle fired"
ctl DELETE faults > /dev/null
sed -i 's/^rate_limit = .*/rate_limit = 500/' invkit.conf

# ---- partial failure: a SKU JD refuses (in Chinese), and a SKU JD does not list
fresh
invpull -q jd > have.ndjson
MSG='该商品正在参加促销活动，库存已锁定，不允许修改（活动ID：A-7）'
read -r s1 < <(jq -r '.item' corr.ndjson | sed -n 5p)
ctl GET state | jq -c --arg s "$s1" --arg m "$MSG" '(.jd.demo.skus[] | select((.skuId | tostring) == $s)) |= . + {refuse: $m}' > st.json
python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")).read()' \
	"http://127.0.0.1:$PORT/_sim/state" st.json
ctl DELETE log > /dev/null
{ invdiff -q master.ndjson have.ndjson
  printf '{"item":"999999999999","sku":"x","location":"","from":3,"to":4,"delta":1,"reason":"sync"}\n'
} > corrp.ndjson
mp=$(wc -l < corrp.ndjson)
STDIN=corrp.ndjson run invpush -q jd
expect_rc 1 "partial failure: exit 1"
jq -r --arg i "$s1" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
printf 'failed not written: [jd]: %s: HTTP 200: code 1040: %s\n' "$SET" "$MSG" |
	cmp -s - got && ok "partial failure: the refused SKU failed with the platform's Chinese words" ||
	notok "partial failure: the refused SKU failed with the platform's Chinese words" "$(cat got)"
grep -qF "$MSG" "$T/out" && ok "partial failure: the Chinese message is in the result as UTF-8, byte for byte" ||
	notok "partial failure: the Chinese message is in the result as UTF-8, byte for byte" "$(grep -F "$s1" "$T/out")"
jq -r 'select(.item == "999999999999") | "\(.status) \(.error)"' "$T/out" > got
echo "failed not written: JD lists no SKU 999999999999 (gone, or not this shop's)" |
	cmp -s - got && ok "partial failure: the unknown SKU failed, not sent" ||
	notok "partial failure: the unknown SKU failed, not sent" "$(cat got)"
[ "$(jq -r 'select(.status != "applied") | .status' "$T/out" | wc -l)" -eq 2 ] &&
	ok "partial failure: every other correction applied" ||
	notok "partial failure: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
[ "$(nsets)" -eq $((mp - 2)) ] && ok "partial failure: the others set once each" ||
	notok "partial failure: the others set once each" "$(nsets) of $((mp - 2))"

# ---- lost answers: one write applied, its answer lost; one dropped before it was applied
fresh
ctl DELETE log > /dev/null
ctl POST faults "{\"rules\":[{\"kind\":\"lost_answer\",\"next\":1,\"match\":{\"op\":\"$SET\"}},
	{\"kind\":\"drop\",\"next\":1,\"skip\":3,\"match\":{\"op\":\"$SET\"}}]}" > /dev/null
pipeline
expect_rc 0 "lost answer: exit 0"
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "lost answer: every correction applied (found by re-reading)" ||
	notok "lost answer: every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c; head -3 "$T/err")"
[ "$(nsets)" -eq "$m" ] && ok "lost answer: each set once (the applied one not sent again)" ||
	notok "lost answer: each set once" "$(nsets) sets for $m"
ctl GET faults | jq -e '[.rules[].remaining] == [0, 0]' > /dev/null && ok "lost answer: both faults fired" ||
	notok "lost answer: both faults fired" "$(ctl GET faults)"
[ "$(ncalls $SET)" -eq $((m + 1)) ] && ok "lost answer: only the dropped write sent again" ||
	notok "lost answer: only the dropped write sent again" "$(ncalls $SET) calls, $m + 1 expected"
ctl DELETE faults > /dev/null
converged "lost answer: the shop equals the master"

# ---- a sale between pull and push: a conflict, the sale kept
fresh
invpull -q jd > have.ndjson
read -r item q < <(jq -r 'select(.qty > 2) | "\(.item) \(.qty)"' have.ndjson | head -1)
ctl POST sale "{\"platform\":\"jd\",\"shop\":\"demo\",\"item\":\"$item\",\"qty\":2}" > /dev/null
run_in sh -c 'invdiff -q master.ndjson have.ndjson | invpush -q jd'
expect_rc 1 "sale: exit 1 (one correction not applied)"
jq -r --arg i "$item" 'select(.item == $i) | "\(.status) \(.error)"' "$T/out" > got
echo "conflict moved since it was read: $q then, $((q - 2)) now (not written: JD has no compare-and-set)" |
	cmp -s - got && ok "sale: reported as a conflict, not written" || notok "sale: reported as a conflict" "$(cat got)"
invpull -q jd | jq -r --arg i "$item" 'select(.item == $i) | .qty' > got
echo $((q - 2)) | cmp -s - got && ok "sale: kept (the shop shows $q less the 2 sold)" ||
	notok "sale: kept" "$(cat got)"
[ "$(jq -r --arg i "$item" 'select(.item != $i) | .status' "$T/out" | sort -u)" = applied ] &&
	ok "sale: every other correction applied" ||
	notok "sale: every other correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"

# ---- bad credentials: exit 77, the secret never printed
fresh
ctl DELETE log > /dev/null
printf 'wrong_app_secret_1:%s\n' "$TOKEN" > bad1.token
printf '%s:jd_wrong_token_2\n' "$SECRET" > bad2.token
chmod 600 bad1.token bad2.token
sed "s|$T/jd.token|$T/bad1.token|" invkit.conf > bad1.conf
sed "s|$T/jd.token|$T/bad2.token|" invkit.conf > bad2.conf
HINT="(check app_key, and the app secret and access token in token_file: app_secret:access_token)"
run invpull --config bad1.conf jd
expect_rc 77 "bad app secret: invpull exit 77"
expect_err "bad app secret: the platform's words" <<X
invpull: [jd]: $LIST: HTTP 200: code 12: 无效签名 $HINT
X
run invpull --config bad2.conf jd
expect_rc 77 "bad access token: invpull exit 77"
expect_err "bad access token: the platform's words" <<X
invpull: [jd]: $LIST: HTTP 200: code 19: token已过期或者不存在，请重新授权访问 $HINT
X
STDIN=corr.ndjson run invpush --config bad1.conf jd
expect_rc 77 "bad app secret: invpush exit 77"
[ "$(nsets)" -eq 0 ] && ok "bad app secret: nothing written" || notok "bad app secret: nothing written" "$(nsets)"
if grep -rqF -e wrong_app_secret_1 -e jd_wrong_token_2 -e "$SECRET" -e "$TOKEN" "$T/out" "$T/err" "$T/state"; then
	notok "bad credentials: no secret in the output, messages or journal"
else
	ok "bad credentials: no secret in the output, messages or journal"
fi
printf '%s\n' "$SECRET" > bad3.token
chmod 600 bad3.token
sed "s|$T/jd.token|$T/bad3.token|" invkit.conf > bad3.conf
run invpull --config bad3.conf jd
expect_rc 78 "a secret without the access token: exit 78"
expect_err "a secret without the access token: says the shape, not the secret" <<X
invpull: bad3.conf: [jd]: the secret must be app_secret:access_token, on one line
X
