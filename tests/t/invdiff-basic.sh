# invdiff: the basic comparison, formats and summary.
. "$(dirname "$0")/../lib.sh"

cat > "$T/want.ndjson" <<'X'
{"sku":"A","location":"W1","qty":5,"ts":"t1"}
{"sku":"B","location":"W1","qty":3}
{"sku":"C","qty":7}
X
cat > "$T/have.ndjson" <<'X'
{"sku":"A","location":"W1","item":"i1","qty":4,"ts":"t0","x":{"a":[1, 2]}}
{"sku":"B","location":"W1","item":"i2","qty":3}
{"sku":"D","location":"","item":"i4","qty":2}
X
run invdiff "$T/want.ndjson" "$T/have.ndjson"
expect_rc 0 "diff runs"
expect_out "corrections, unknown fields byte-exact" <<'X'
{"sku":"A","location":"W1","item":"i1","from_ts":"t0","x":{"a":[1, 2]},"ts":"t1","from":4,"to":5,"delta":1,"reason":"sync"}
{"sku":"D","location":"","item":"i4","from":2,"to":0,"delta":-2,"reason":"sync"}
{"sku":"C","from":null,"to":7,"delta":7,"reason":"sync"}
X
expect_err "summary line" <<'X'
invdiff: 4 keys: 1 equal, 1 changed, 1 only in want, 1 only in have, 0 within tolerance; total |delta| 10
X
