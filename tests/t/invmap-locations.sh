# invmap -l: platform locations to the merchant's names and back; the
# platform's id kept as platform_location; an empty location (one pool)
# passes unless the table names it; together with -m.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > loc.csv <<'X'
channel,platform_location,location
shop,gid://L/1,W1
shop,gid://L/2,W2
woo,,W1
X
cat > map.csv <<'X'
channel,item,platform_sku,sku,units
shop,i1,CASE-A,A,6
woo,,A,A,1
X
cat > in.ndjson <<'X'
{"sku":"A","channel":"shop","location":"gid://L/2","qty":3}
{"sku":"A","channel":"shop","qty":1}
{"sku":"A","channel":"woo","location":"","qty":4}
{"sku":"A","channel":"woo","qty":5}
X
run invmap -l loc.csv in.ndjson
expect_rc 0 "forward: exit 0"
expect_out "forward: location mapped, platform_location kept" <<'X'
{"sku":"A","channel":"shop","location":"W2","qty":3,"platform_location":"gid://L/2"}
{"sku":"A","channel":"shop","qty":1}
{"sku":"A","channel":"woo","location":"W1","qty":4,"platform_location":""}
{"sku":"A","channel":"woo","qty":5,"location":"W1","platform_location":""}
X
expect_err "forward: summary" <<'X'
invmap: 4 records in, 4 out: 3 mapped, 0 passed, 0 dropped, 0 rejected
X

printf '{"sku":"A","channel":"shop","location":"gid://L/9","qty":3}\n' > unknown.ndjson
run invmap -l loc.csv unknown.ndjson
expect_rc 65 "unknown location: exit 65"
expect_err "unknown location: message" <<'X'
invmap: unknown.ndjson:1: unmapped: no row of loc.csv for channel "shop", platform location "gid://L/9" (use --unmapped to pass, drop or reject such records)
X
expect_empty_out "unknown location: nothing on stdout"

# with -m: both, and back again
printf '{"sku":"CASE-A","item":"i1","channel":"shop","location":"gid://L/1","qty":2}\n' > shop.ndjson
run invmap -q -m map.csv -l loc.csv shop.ndjson
expect_out "sku and location together" <<'X'
{"sku":"A","item":"i1","channel":"shop","location":"W1","qty":12,"units":6,"platform_sku":"CASE-A","platform_location":"gid://L/1"}
X
cp "$T/out" central.ndjson
run invmap -q -m map.csv -l loc.csv --to shop central.ndjson
expect_out "reverse restores item, sku and location" <<'X'
{"sku":"CASE-A","item":"i1","channel":"shop","location":"gid://L/1","qty":2}
X
printf '{"sku":"A","location":"W3","qty":2}\n' > w3.ndjson
run invmap -m map.csv -l loc.csv --to shop w3.ndjson
expect_rc 65 "reverse, location without a platform id: exit 65"
expect_err_has "reverse, location without a platform id: message" \
	'w3.ndjson:1: unmapped: no row of loc.csv for channel "shop", location "W3"'
run invmap -m map.csv -l loc.csv --to shop -u pass w3.ndjson
expect_rc 0 "reverse, --unmapped pass: exit 0"
expect_out "reverse, --unmapped pass: record unchanged but for the channel" <<'X'
{"sku":"A","location":"W3","qty":2,"channel":"shop"}
X

# --unmapped pass: a record whose sku maps but whose location does not
# passes with nothing changed, not half mapped
printf '{"sku":"CASE-A","item":"i1","channel":"shop","location":"gid://L/9","qty":2}\n' > half.ndjson
run invmap -m map.csv -l loc.csv -u pass half.ndjson
expect_out_file "half-mapped record passes unchanged" half.ndjson
expect_err "half-mapped record: counted as passed" <<'X'
invmap: 1 records in, 1 out: 0 mapped, 1 passed, 0 dropped, 0 rejected
X
