# invdiff: what a correction says - from/to/delta/reason, keys only in WANT
# (from null) or only in HAVE (to 0; none when already 0), --partial,
# -r, --tolerance (units and %), --all with its statuses, --exit-code, which
# fields pass through and in what order, and Unicode values byte-exact.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

# A equal, B C D changed, N only in WANT, R NEG Q only in HAVE (Q already 0)
cat > want.ndjson <<'X'
{"sku":"A","location":"w","qty":10}
{"sku":"B","location":"w","qty":10}
{"sku":"C","location":"w","qty":10}
{"sku":"D","location":"w","qty":10}
{"sku":"N","location":"w","qty":2}
X
cat > have.ndjson <<'X'
{"sku":"A","location":"w","qty":10}
{"sku":"B","location":"w","qty":9}
{"sku":"C","location":"w","qty":12}
{"sku":"D","location":"w","qty":7}
{"sku":"R","location":"w","qty":3}
{"sku":"Q","location":"w","qty":0}
{"sku":"NEG","location":"w","qty":-1}
X

run invdiff want.ndjson have.ndjson
expect_rc 0 "default: exit 0"
expect_out "from/to/delta/reason; have's order, then keys only in want" <<'X'
{"sku":"B","location":"w","from":9,"to":10,"delta":1,"reason":"sync"}
{"sku":"C","location":"w","from":12,"to":10,"delta":-2,"reason":"sync"}
{"sku":"D","location":"w","from":7,"to":10,"delta":3,"reason":"sync"}
{"sku":"R","location":"w","from":3,"to":0,"delta":-3,"reason":"sync"}
{"sku":"NEG","location":"w","from":-1,"to":0,"delta":1,"reason":"sync"}
{"sku":"N","location":"w","from":null,"to":2,"delta":2,"reason":"sync"}
X
expect_err "default: summary (only in have at 0 is equal)" <<'X'
invdiff: 8 keys: 2 equal, 3 changed, 1 only in want, 2 only in have, 0 within tolerance; total |delta| 12
X

run invdiff -q want.ndjson have.ndjson
expect_err "-q: no summary" < /dev/null

# --partial: keys missing from WANT are left alone and not corrected
run invdiff --partial want.ndjson have.ndjson
expect_out "--partial: no correction for keys only in have" <<'X'
{"sku":"B","location":"w","from":9,"to":10,"delta":1,"reason":"sync"}
{"sku":"C","location":"w","from":12,"to":10,"delta":-2,"reason":"sync"}
{"sku":"D","location":"w","from":7,"to":10,"delta":3,"reason":"sync"}
{"sku":"N","location":"w","from":null,"to":2,"delta":2,"reason":"sync"}
X
expect_err "--partial: keys only in have are not counted at all" <<'X'
invdiff: 5 keys: 1 equal, 3 changed, 1 only in want, 0 only in have, 0 within tolerance; total |delta| 8
X
run invdiff -q -p -a want.ndjson have.ndjson
expect_out "-p -a: keys only in have not written at all" <<'X'
{"sku":"A","location":"w","from":10,"to":10,"delta":0,"reason":"sync","status":"same"}
{"sku":"B","location":"w","from":9,"to":10,"delta":1,"reason":"sync","status":"changed"}
{"sku":"C","location":"w","from":12,"to":10,"delta":-2,"reason":"sync","status":"changed"}
{"sku":"D","location":"w","from":7,"to":10,"delta":3,"reason":"sync","status":"changed"}
{"sku":"N","location":"w","from":null,"to":2,"delta":2,"reason":"sync","status":"added"}
X

# -r count
run invdiff -q -p -r count want.ndjson have.ndjson
expect_out "-r count sets the reason" <<'X'
{"sku":"B","location":"w","from":9,"to":10,"delta":1,"reason":"count"}
{"sku":"C","location":"w","from":12,"to":10,"delta":-2,"reason":"count"}
{"sku":"D","location":"w","from":7,"to":10,"delta":3,"reason":"count"}
{"sku":"N","location":"w","from":null,"to":2,"delta":2,"reason":"count"}
X
run invdiff -q --reason='stock take "Q1"' -k sku want.ndjson have.ndjson
expect_out_has "--reason text is JSON-quoted" '"reason":"stock take \"Q1\""'

# --tolerance 2: |delta| <= 2 is within (counted, not written); a key only
# in WANT (from null) is never within.
run invdiff --tolerance 2 want.ndjson have.ndjson
expect_out "-t 2: differences up to 2 units are not written" <<'X'
{"sku":"D","location":"w","from":7,"to":10,"delta":3,"reason":"sync"}
{"sku":"R","location":"w","from":3,"to":0,"delta":-3,"reason":"sync"}
{"sku":"N","location":"w","from":null,"to":2,"delta":2,"reason":"sync"}
X
expect_err "-t 2: summary counts them within tolerance" <<'X'
invdiff: 8 keys: 2 equal, 1 changed, 1 only in want, 1 only in have, 3 within tolerance; total |delta| 8
X
run invdiff -q -a -t 2 want.ndjson have.ndjson
expect_out "--all: statuses same/within/changed/removed/added" <<'X'
{"sku":"A","location":"w","from":10,"to":10,"delta":0,"reason":"sync","status":"same"}
{"sku":"B","location":"w","from":9,"to":10,"delta":1,"reason":"sync","status":"within"}
{"sku":"C","location":"w","from":12,"to":10,"delta":-2,"reason":"sync","status":"within"}
{"sku":"D","location":"w","from":7,"to":10,"delta":3,"reason":"sync","status":"changed"}
{"sku":"R","location":"w","from":3,"to":0,"delta":-3,"reason":"sync","status":"removed"}
{"sku":"Q","location":"w","from":0,"to":0,"delta":0,"reason":"sync","status":"same"}
{"sku":"NEG","location":"w","from":-1,"to":0,"delta":1,"reason":"sync","status":"within"}
{"sku":"N","location":"w","from":null,"to":2,"delta":2,"reason":"sync","status":"added"}
X

# --tolerance 10%: within when |delta| <= 10% of from; never when from is
# null, 0 or negative.
cat > want-pct.ndjson <<'X'
{"sku":"A","qty":95}
{"sku":"B","qty":110}
{"sku":"C","qty":111}
{"sku":"D","qty":-95}
{"sku":"E","qty":1}
{"sku":"F","qty":1}
X
cat > have-pct.ndjson <<'X'
{"sku":"A","qty":100}
{"sku":"B","qty":100}
{"sku":"C","qty":100}
{"sku":"D","qty":-100}
{"sku":"E","qty":0}
X
run invdiff -t 10% want-pct.ndjson have-pct.ndjson
expect_rc 0 "-t 10%: exit 0"
expect_out "-t 10%: within up to 10% of from; never for from 0, negative or null" <<'X'
{"sku":"C","from":100,"to":111,"delta":11,"reason":"sync"}
{"sku":"D","from":-100,"to":-95,"delta":5,"reason":"sync"}
{"sku":"E","from":0,"to":1,"delta":1,"reason":"sync"}
{"sku":"F","from":null,"to":1,"delta":1,"reason":"sync"}
X
expect_err "-t 10%: summary" <<'X'
invdiff: 6 keys: 0 equal, 3 changed, 1 only in want, 0 only in have, 2 within tolerance; total |delta| 18
X
run invdiff -q -t 2.5% want-pct.ndjson have-pct.ndjson
expect_out_has "-t 2.5%: a fractional percentage is taken (5 of 100 is not within)" '"sku":"A"'

# --exit-code: 1 with corrections, 0 without; 0 without -e whatever found
run invdiff -q -e want.ndjson have.ndjson
expect_rc 1 "-e: corrections written -> exit 1"
run invdiff -q want.ndjson have.ndjson
expect_rc 0 "no -e: corrections written -> exit 0"
run invdiff -q -e want.ndjson want.ndjson
expect_rc 0 "-e: identical inputs -> exit 0"
expect_empty_out "-e: identical inputs -> nothing written"
run invdiff -q -e -a want.ndjson want.ndjson
expect_rc 0 "-e -a: records of status same are not corrections -> exit 0"
run invdiff -q -e -t 3 -p want.ndjson have.ndjson
expect_rc 1 "-e -t 3: a key only in want is still a correction -> exit 1"
run invdiff -q -e -t 3 -p want.ndjson want.ndjson
expect_rc 0 "-e -t 3: nothing beyond tolerance -> exit 0"
printf '%s\n' '{"sku":"A","location":"w","qty":10}' '{"sku":"B","location":"w","qty":9}' > near.ndjson
run invdiff -q -e -t 1 -p near.ndjson want.ndjson
expect_rc 0 "-e -t 1: only differences within tolerance -> exit 0"
expect_empty_out "-e -t 1: within tolerance -> nothing written"

# --- field passthrough and order: HAVE's fields in HAVE's order (its ts
# becomes from_ts in place), then WANT's fields HAVE lacks in WANT's order
# (its ts stays ts), then from, to, delta, reason.  Stale output fields of
# the inputs (from/to/delta/reason/status/from_ts) are dropped; HAVE's value
# wins over WANT's for a field both have.
cat > w-fields.ndjson <<'X'
{"note":"recount","ts":"2026-03-02T09:14:00Z","sku":"A","counter":"mia","location":"wh1","qty":7,"bin":"B-07","item":"from-want","from_ts":"stale"}
{"sku":"B","location":"wh1","qty":1,"counter":"mia","ts":"2026-03-02T09:15:00Z","state":"on_hand"}
X
cat > h-fields.ndjson <<'X'
{"item":"gid://1","sku":"A","channel":"wms","ts":"2026-03-01T00:00:00Z","location":"wh1","qty":9,"state":"on_hand","from":1,"to":2,"delta":1,"reason":"old","status":"x","z":{"deep":[1, 2, {"k":null}]}}
X
run invdiff -q w-fields.ndjson h-fields.ndjson
expect_out "field passthrough and order" <<'X'
{"item":"gid://1","sku":"A","channel":"wms","from_ts":"2026-03-01T00:00:00Z","location":"wh1","state":"on_hand","z":{"deep":[1, 2, {"k":null}]},"note":"recount","ts":"2026-03-02T09:14:00Z","counter":"mia","bin":"B-07","from":9,"to":7,"delta":-2,"reason":"sync"}
{"sku":"B","location":"wh1","counter":"mia","ts":"2026-03-02T09:15:00Z","state":"on_hand","from":null,"to":1,"delta":1,"reason":"sync"}
X
run invdiff -q -a w-fields.ndjson w-fields.ndjson
expect_out "--all: status comes last; have's ts is from_ts, want's ts is ts" <<'X'
{"note":"recount","from_ts":"2026-03-02T09:14:00Z","sku":"A","counter":"mia","location":"wh1","bin":"B-07","item":"from-want","ts":"2026-03-02T09:14:00Z","from":7,"to":7,"delta":0,"reason":"sync","status":"same"}
{"sku":"B","location":"wh1","counter":"mia","from_ts":"2026-03-02T09:15:00Z","state":"on_hand","ts":"2026-03-02T09:15:00Z","from":1,"to":1,"delta":0,"reason":"sync","status":"same"}
X

# --- Unicode: CJK keys match, and values (escapes included) pass through
# byte-exact, also for a key found only in WANT.
cat > w-uni.ndjson <<'X'
{"sku":"caf\u00e9","location":"\u4ed3","qty":5,"note":"\u00e9\"x\"\/"}
{"sku":"茶-001","location":"上海","qty":3}
{"sku":"new\u00e9","location":"w\/1","qty":4,"note":"a\tb \ud83d\ude00"}
X
cat > h-uni.ndjson <<'X'
{"sku":"café","location":"仓","qty":1,"item":"\ud83d\ude00"}
{"sku":"茶-001","location":"上海","qty":7,"note":"绿茶 🍵"}
X
run invdiff w-uni.ndjson h-uni.ndjson
expect_rc 0 "unicode: exit 0"
expect_out "unicode: CJK and escaped keys match, values byte-exact" <<'X'
{"sku":"café","location":"仓","item":"\ud83d\ude00","note":"\u00e9\"x\"\/","from":1,"to":5,"delta":4,"reason":"sync"}
{"sku":"茶-001","location":"上海","note":"绿茶 🍵","from":7,"to":3,"delta":-4,"reason":"sync"}
{"sku":"new\u00e9","location":"w\/1","note":"a\tb \ud83d\ude00","from":null,"to":4,"delta":4,"reason":"sync"}
X
