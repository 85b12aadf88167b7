# invdiff --patch RECORDS CORRECTIONS: each correction's delta added to its
# key's record; corrections not applied (results unchanged, conflict,
# failed, skipped, planned; same/within) left out; a key with no record
# gets one (qty = delta, the correction's own fields dropped); duplicates
# of a correction key add up; bad input is refused with file:line.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > have.ndjson <<'X'
{"sku":"A","location":"W1","qty":10,"item":"i1","channel":"shop"}
{"sku":"B","location":"W1","qty":5,"channel":"shop"}
{"sku":"C","qty":1}
{"sku":"E","location":"W2","qty":7}
X
cat > res.ndjson <<'X'
{"sku":"A","location":"W1","from":10,"to":7,"delta":-3,"reason":"sync","status":"applied","at":"2026-11-25T10:00:00Z","run":"r1"}
{"sku":"B","location":"W1","from":5,"to":9,"delta":4,"status":"conflict","error":"moved"}
{"sku":"D","location":"W2","item":"i9","from":null,"to":4,"delta":4,"reason":"sync","status":"applied"}
{"sku":"C","from":1,"to":3}
{"sku":"E","location":"W2","from":7,"to":7,"delta":0,"status":"same"}
{"sku":"E","location":"W2","from":7,"to":9,"delta":2,"status":"unchanged"}
{"sku":"E","location":"W2","from":7,"to":9,"delta":2,"status":"failed"}
{"sku":"E","location":"W2","from":7,"to":9,"delta":2,"status":"skipped"}
{"sku":"E","location":"W2","from":7,"to":9,"delta":2,"status":"planned"}
X
run invdiff --patch have.ndjson res.ndjson
expect_rc 0 "patch: exit 0"
expect_out "patch: applied deltas only, new key added" <<'X'
{"sku":"A","location":"W1","qty":7,"item":"i1","channel":"shop"}
{"sku":"B","location":"W1","qty":5,"channel":"shop"}
{"sku":"C","qty":3}
{"sku":"E","location":"W2","qty":7}
{"sku":"D","location":"W2","item":"i9","qty":4}
X
expect_err "patch: summary" <<'X'
invdiff: 4 records, 2 patched, 1 added; 9 corrections, 6 not applied
X

# sales of one key add up (two listings of one SKU)
printf '{"sku":"A","location":"W1","delta":-2}\n{"sku":"A","location":"W1","delta":-1}\n' > sales.ndjson
run invdiff --patch -q have.ndjson sales.ndjson
expect_out_has "patch: deltas of a key add up" '{"sku":"A","location":"W1","qty":7,"item":"i1","channel":"shop"}'

# CSV out, -k
run invdiff --patch -q -F csv -k sku have.ndjson sales.ndjson
expect_out "patch: csv, key sku only" <<'X'
sku,location,qty,item,channel
A,W1,7,i1,shop
B,W1,5,,shop
C,,1,,
E,W2,7,,
X

# bad input
printf '{"sku":"A","location":"W1","status":"bogus","delta":1}\n' > badst.ndjson
run invdiff --patch have.ndjson badst.ndjson
expect_rc 65 "patch: unknown status: exit 65"
expect_err "patch: unknown status: file:line" <<'X'
invdiff: badst.ndjson:1: field 'status': unknown status "bogus"
X
printf '{"sku":"A","location":"W1"}\n' > nodelta.ndjson
run invdiff --patch have.ndjson nodelta.ndjson
expect_rc 65 "patch: no delta: exit 65"
expect_err "patch: no delta: says so" <<'X'
invdiff: nodelta.ndjson:1: field 'delta': missing (and no 'to' to take it from)
X
printf '{"sku":"A","location":"W1","delta":"x"}\n' > typ.ndjson
run invdiff --patch have.ndjson typ.ndjson
expect_rc 65 "patch: delta not an integer: exit 65"
printf '{"sku":"A","location":"W1","qty":9223372036854775807}\n' > big.ndjson
printf '{"sku":"A","location":"W1","delta":1}\n' > one.ndjson
run invdiff --patch big.ndjson one.ndjson
expect_rc 65 "patch: overflow: exit 65"
expect_err "patch: overflow: says so" <<'X'
invdiff: big.ndjson:1: field 'qty': qty + delta overflows
X
printf '{"sku":"A","location":"W1","qty":1}\n{"sku":"A","location":"W1","qty":2}\n' > dup.ndjson
run invdiff --patch dup.ndjson one.ndjson
expect_rc 65 "patch: duplicate patched key: exit 65"
expect_empty_out "patch: duplicate patched key: nothing out"
printf '{"location":"W1","qty":1}\n' > nosku.ndjson
run invdiff --patch nosku.ndjson one.ndjson
expect_rc 65 "patch: record without its key: exit 65"
expect_err "patch: record without its key: says so" <<'X'
invdiff: nosku.ndjson:1: field 'sku': missing
X
: > empty
run invdiff --patch empty empty
expect_rc 0 "patch: empty inputs: exit 0"
expect_empty_out "patch: empty inputs: nothing out"
run invdiff --patch have.ndjson missing.ndjson
expect_rc 66 "patch: missing file: exit 66"
run invdiff --patch -s have.ndjson res.ndjson
expect_rc 64 "patch: with -s: usage"
run invdiff --patch - -
expect_rc 64 "patch: stdin twice: usage"
run invdiff --patch --reject rej.ndjson have.ndjson badst.ndjson
expect_rc 0 "patch: --reject: exit 0"
[ "$(jq -r .line rej.ndjson)" = 1 ] && ok "patch: --reject: the bad correction set aside" ||
	notok "patch: --reject: the bad correction set aside" "$(cat rej.ndjson)"
