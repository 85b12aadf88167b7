# invmap: bad records.  Strict by default: the first bad record stops invmap
# with "invmap: FILE:LINE: ..." on stderr, exit 65 and nothing on stdout,
# even after good records; --reject FILE sets each aside and goes on.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

printf 'channel,item,platform_sku,sku,units\nshop,,P,A,2\n' > map.csv

# bad NAME CONTENT MESSAGE
bad() {
	printf '{"sku":"P","channel":"shop","qty":1}\n' > in
	printf "$2" >> in
	run invmap -m map.csv in
	expect_rc 65 "$1: exit 65"
	expect_err "$1: message" <<< "invmap: $3"
	expect_empty_out "$1: nothing on stdout"
}
bad "qty missing" '{"sku":"P","channel":"shop"}\n' "in:2: field 'qty': missing"
bad "qty null" '{"sku":"P","channel":"shop","qty":null}\n' "in:2: field 'qty': null"
bad "qty string" '{"sku":"P","qty":"3"}\n' "in:2: field 'qty': a string, not an integer: \"3\""
bad "qty fraction" '{"sku":"P","qty":1.5}\n' "in:2: field 'qty': not an integer (has a fraction): 1.5"
bad "sku missing" '{"qty":1}\n' "in:2: field 'sku': missing"
bad "sku empty" '{"sku":"","qty":1}\n' "in:2: field 'sku': empty"
bad "sku not a string" '{"sku":7,"qty":1}\n' "in:2: field 'sku': not a string: 7"
bad "channel not a string" '{"sku":"P","channel":[],"qty":1}\n' "in:2: field 'channel': not a string: []"
bad "not json" 'oops\n' "in:2: invalid JSON at column 1: not a JSON object"

printf 'sku,channel,qty\nP,shop,x\nP,shop,3\n' > in.csv
run invmap -m map.csv in.csv
expect_rc 65 "csv: exit 65"
expect_err "csv: message" <<'X'
invmap: in.csv:2: field 'qty': not an integer: "x"
X
run invmap -m map.csv --reject rj in.csv
expect_rc 0 "--reject: exit 0"
expect_out "--reject: good records go on" <<'X'
{"sku":"A","channel":"shop","qty":6,"units":2,"platform_sku":"P"}
X
expect_err "--reject: summary" <<'X'
invmap: 2 records in, 1 out: 1 mapped, 0 passed, 0 dropped, 1 rejected (rejects in rj)
X
cat > rj.want <<'X'
{"file":"in.csv","line":2,"error":"field 'qty': not an integer: \"x\"","text":"P,shop,x"}
X
if cmp -s rj rj.want; then ok "--reject: reject file"; else notok "--reject: reject file" "$(diff rj.want rj)"; fi
