# invmap --unmapped: strict by default (exit 65, file:line, nothing on
# stdout, even after good records), or pass, drop, reject (which needs
# --reject FILE); the summary counts each kind.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > map.csv <<'X'
channel,item,platform_sku,sku,units
shop,,P-A,A,2
X
cat > in.ndjson <<'X'
{"sku":"P-A","channel":"shop","qty":1}
{"sku":"P-X","channel":"shop","qty":2}
{"sku":"P-A","channel":"woo","qty":3}
{"sku":"P-A","channel":"shop","qty":4}
X
run invmap -m map.csv in.ndjson
expect_rc 65 "strict: exit 65"
expect_err "strict: file, line and what is missing" <<'X'
invmap: in.ndjson:2: unmapped: no row of map.csv for channel "shop", item "", sku "P-X" (use --unmapped to pass, drop or reject such records)
X
expect_empty_out "strict: nothing on stdout"

run invmap -m map.csv --reject rj in.ndjson
expect_rc 65 "strict even with --reject"

run invmap -m map.csv -u pass in.ndjson
expect_rc 0 "pass: exit 0"
expect_out "pass: unmapped records unchanged" <<'X'
{"sku":"A","channel":"shop","qty":2,"units":2,"platform_sku":"P-A"}
{"sku":"P-X","channel":"shop","qty":2}
{"sku":"P-A","channel":"woo","qty":3}
{"sku":"A","channel":"shop","qty":8,"units":2,"platform_sku":"P-A"}
X
expect_err "pass: summary" <<'X'
invmap: 4 records in, 4 out: 2 mapped, 2 passed, 0 dropped, 0 rejected
X

run invmap -m map.csv --unmapped=drop in.ndjson
expect_rc 0 "drop: exit 0"
expect_out "drop: unmapped records left out" <<'X'
{"sku":"A","channel":"shop","qty":2,"units":2,"platform_sku":"P-A"}
{"sku":"A","channel":"shop","qty":8,"units":2,"platform_sku":"P-A"}
X
expect_err "drop: summary" <<'X'
invmap: 4 records in, 2 out: 2 mapped, 0 passed, 2 dropped, 0 rejected
X

run invmap -m map.csv -u reject in.ndjson
expect_rc 64 "reject without --reject: usage error"
expect_err_has "reject without --reject: says so" "--unmapped reject needs --reject FILE"

run invmap -m map.csv -u reject --reject rj in.ndjson
expect_rc 0 "reject: exit 0"
expect_err "reject: summary" <<'X'
invmap: 4 records in, 2 out: 2 mapped, 0 passed, 0 dropped, 2 rejected (rejects in rj)
X
cat > rj.want <<'X'
{"file":"in.ndjson","line":2,"error":"unmapped: no row of map.csv for channel \"shop\", item \"\", sku \"P-X\"","text":"{\"sku\":\"P-X\",\"channel\":\"shop\",\"qty\":2}"}
{"file":"in.ndjson","line":3,"error":"unmapped: no row of map.csv for channel \"woo\", item \"\", sku \"P-A\"","text":"{\"sku\":\"P-A\",\"channel\":\"woo\",\"qty\":3}"}
X
if cmp -s rj rj.want; then ok "reject: reject file"; else notok "reject: reject file" "$(diff rj.want rj)"; fi

run invmap -m map.csv -u sometimes in.ndjson
expect_rc 64 "bad --unmapped: exit 64"
expect_err "bad --unmapped: message" <<'X'
invmap: unknown --unmapped 'sometimes' (pass, drop or reject)
X
