# invmap -m: forward mapping (item first, then platform sku; qty x units;
# platform_sku and units kept; unknown fields byte-exact), no table (records
# pass as they are), reverse --to (fan-out to every listing, floor of
# qty / units toward minus infinity), overflow as a bad record, formats.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > map.csv <<'X'
channel,item,platform_sku,sku,units
shop,i1,CASE-A,A,12
shop,,B-1,B,1
shop,i3,B-2,B,2
woo,,A,A,
X
cat > in.ndjson <<'X'
{"sku":"CASE-A","channel":"shop","item":"i1","location":"L1","qty":2,"ts":"t","x":[1, 2]}
{"sku":"B-1","channel":"shop","item":"i9","qty":5}
{"sku":"other","channel":"shop","item":"i3","qty":-3}
{"sku":"A","channel":"woo","qty":4}
X
run invmap -m map.csv in.ndjson
expect_rc 0 "forward: exit 0"
expect_out "forward: item first, then platform sku; qty x units" <<'X'
{"sku":"A","channel":"shop","item":"i1","location":"L1","qty":24,"ts":"t","x":[1, 2],"units":12,"platform_sku":"CASE-A"}
{"sku":"B","channel":"shop","item":"i9","qty":5,"units":1,"platform_sku":"B-1"}
{"sku":"B","channel":"shop","item":"i3","qty":-6,"units":2,"platform_sku":"other"}
{"sku":"A","channel":"woo","qty":4,"units":1,"platform_sku":"A"}
X
expect_err "forward: summary" <<'X'
invmap: 4 records in, 4 out: 4 mapped, 0 passed, 0 dropped, 0 rejected
X

run invmap -q in.ndjson
expect_rc 0 "no table: exit 0"
expect_out_file "no table: records pass byte-exact" in.ndjson
expect_err "no table: -q is quiet" < /dev/null

printf 'sku,channel,qty,note\nCASE-A,shop,1,"a, b"\n' > in.csv
run invmap -q -m map.csv -F csv in.csv
expect_out "csv in, csv out" <<'X'
sku,channel,qty,note,units,platform_sku
A,shop,12,"a, b",12,CASE-A
X

cat > central.ndjson <<'X'
{"sku":"B","location":"W1","qty":7,"ts":"t"}
{"sku":"A","qty":-25}
{"sku":"A","qty":11,"units":3,"platform_sku":"stale"}
X
run invmap -m map.csv --to shop central.ndjson
expect_rc 0 "reverse: exit 0"
expect_out "reverse: fan-out, floor(qty / units)" <<'X'
{"sku":"B-1","location":"W1","qty":7,"ts":"t","channel":"shop"}
{"sku":"B-2","location":"W1","qty":3,"ts":"t","channel":"shop","item":"i3"}
{"sku":"CASE-A","qty":-3,"channel":"shop","item":"i1"}
{"sku":"CASE-A","qty":0,"channel":"shop","item":"i1"}
X
expect_err "reverse: summary counts records mapped" <<'X'
invmap: 3 records in, 4 out: 3 mapped, 0 passed, 0 dropped, 0 rejected
X

# a 1:1 channel; B is not listed on it
run invmap -m map.csv --to woo central.ndjson
expect_rc 65 "reverse, sku not listed: exit 65"
expect_err "reverse, sku not listed: message" <<'X'
invmap: central.ndjson:1: unmapped: no row of map.csv for channel "woo", sku "B" (use --unmapped to pass, drop or reject such records)
X
expect_empty_out "reverse, sku not listed: nothing on stdout"
run invmap -q -m map.csv --to woo -u drop central.ndjson
expect_out "reverse to a 1:1 channel" <<'X'
{"sku":"A","qty":-25,"channel":"woo"}
{"sku":"A","qty":11,"channel":"woo"}
X

# qty x units beyond 64 bits is a bad record
printf '{"sku":"CASE-A","channel":"shop","item":"i1","qty":1000000000000000000}\n' > big.ndjson
run invmap -m map.csv big.ndjson
expect_rc 65 "overflow: exit 65"
expect_err "overflow: message" <<'X'
invmap: big.ndjson:1: field 'qty': 1000000000000000000 x 12 units is out of range
X
expect_empty_out "overflow: nothing on stdout"
run invmap -q -m map.csv --reject rj big.ndjson in.ndjson
expect_rc 0 "overflow with --reject: exit 0"
expect_out_has "overflow with --reject: the rest goes on" '"sku":"B","channel":"shop","item":"i9"'
if grep -q '"error":"field '"'"'qty'"'"': 1000000000000000000 x 12 units is out of range"' rj; then
	ok "overflow with --reject: in the reject file"
else
	notok "overflow with --reject: in the reject file" "$(cat rj)"
fi
