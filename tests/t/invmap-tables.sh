# invmap: bad mapping, location and rule tables are config errors (exit 78)
# naming the file and line, both lines for conflicting rows; a table that
# cannot be opened is exit 66.  Nothing is read or written.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

printf '{"sku":"A","qty":1}\n' > in.ndjson
H='channel,item,platform_sku,sku,units\n'

# bad OPT NAME CONTENT MESSAGE
bad() {
	printf "$3" > t.csv
	run invmap $1 t.csv in.ndjson
	expect_rc 78 "$2: exit 78"
	expect_err "$2: message" <<< "invmap: $4"
	expect_empty_out "$2: nothing on stdout"
}
bad -m "map: missing column" 'channel,item,sku,units\nshop,i,A,1\n' \
	"t.csv: missing column 'platform_sku' (the header must name channel,item,platform_sku,sku,units)"
bad -m "map: empty file" '' \
	"t.csv: missing column 'channel' (the header must name channel,item,platform_sku,sku,units)"
bad -m "map: units not an integer" "${H}shop,i1,P,A,twelve\n" \
	"t.csv:2: field 'units': not an integer: \"twelve\""
bad -m "map: units 1.5" "${H}shop,i1,P,A,1.5\n" \
	"t.csv:2: field 'units': not an integer (has a fraction): \"1.5\""
bad -m "map: units 0" "${H}shop,i1,P,A,0\n" \
	"t.csv:2: field 'units': 0 is out of range (1 to 9223372036854775807)"
bad -m "map: sku empty" "${H}shop,i1,P,,1\n" \
	"t.csv:2: field 'sku': empty"
bad -m "map: no item nor platform sku" "${H}shop,,,A,1\n" \
	"t.csv:2: fields 'item' and 'platform_sku': both empty"
bad -m "map: one item, two skus" "${H}shop,i1,P,A,1\nwoo,i1,P,B,1\nshop,i1,P,B,1\n" \
	"t.csv:4: conflicting rows: item 'i1' of channel 'shop' maps to sku 'B' x1 here and to sku 'A' x1 on line 2"
bad -m "map: one item, two units" "${H}shop,i1,P,A,1\nshop,i1,P,A,2\n" \
	"t.csv:3: conflicting rows: item 'i1' of channel 'shop' maps to sku 'A' x2 here and to sku 'A' x1 on line 2"
bad -m "map: one platform sku, two skus" "${H}shop,,P,A,1\nshop,,P,B,1\n" \
	"t.csv:3: conflicting rows: platform sku 'P' of channel 'shop' maps to sku 'B' x1 here and to sku 'A' x1 on line 2"
bad -m "map: duplicate row" "${H}shop,i1,P,A,2\nshop,i1,P,A,2\n" \
	"t.csv:3: duplicate row: item 'i1' of channel 'shop' is also on line 2"
bad -m "map: duplicate row without item" "${H}shop,,P,A,2\nshop,,P,A,2\n" \
	"t.csv:3: duplicate row: platform sku 'P' of channel 'shop' is also on line 2"
bad -m "map: ragged row" "${H}shop,i1,P,A\n" \
	"t.csv:2: 4 fields where the header has 5"

bad -l "locations: missing column" 'channel,location\nshop,W1\n' \
	"t.csv: missing column 'platform_location' (the header must name channel,platform_location,location)"
bad -l "locations: conflicting rows" 'channel,platform_location,location\nshop,g1,W1\nshop,g1,W2\n' \
	"t.csv:3: conflicting rows: platform location 'g1' of channel 'shop' maps to 'W2' here and to 'W1' on line 2"
bad -l "locations: two platform ids for one location" 'channel,platform_location,location\nshop,g1,W1\nshop,g2,W1\n' \
	"t.csv:3: conflicting rows: location 'W1' of channel 'shop' is platform location 'g2' here and 'g1' on line 2"
bad -l "locations: duplicate row" 'channel,platform_location,location\nshop,g1,W1\nshop,g1,W1\n' \
	"t.csv:3: duplicate row: platform location 'g1' of channel 'shop' is also on line 2"

R='channel,sku,safety,share,max,min\n'
bad "--allocate shop -a" "rules: missing column" 'channel,sku,safety,share,max\nshop,A,1,1,1\n' \
	"t.csv: missing column 'min' (the header must name channel,sku,safety,share,max,min)"
bad "--allocate shop -a" "rules: share 12.5" "${R}shop,A,,12.5,,\n" \
	"t.csv:2: field 'share': not an integer (has a fraction): \"12.5\""
bad "--allocate shop -a" "rules: share 50%" "${R}shop,A,,50%%,,\n" \
	"t.csv:2: field 'share': not an integer: \"50%\""
bad "--allocate shop -a" "rules: share above 100" "${R}shop,A,,101,,\n" \
	"t.csv:2: field 'share': 101 is out of range (0 to 100)"
bad "--allocate shop -a" "rules: negative safety" "${R}shop,A,-1,,,\n" \
	"t.csv:2: field 'safety': -1 is out of range (0 to 9223372036854775807)"
bad "--allocate shop -a" "rules: min above max" "${R}shop,A,,,5,6\n" \
	"t.csv:2: min 6 is above max 5"
bad "--allocate shop -a" "rules: bad row of another channel" "${R}woo,A,x,,,\n" \
	"t.csv:2: field 'safety': not an integer: \"x\""
bad "--allocate shop -a" "rules: duplicate rule" "${R}shop,A*,1,,,\nwoo,A*,1,,,\nshop,A*,2,,,\n" \
	"t.csv:4: duplicate rule: sku 'A*' of channel 'shop' is also on line 2"

run invmap -m nosuch.csv in.ndjson
expect_rc 66 "table missing: exit 66"
expect_err "table missing: message" <<'X'
invmap: nosuch.csv: No such file or directory
X
run invmap nosuch.ndjson
expect_rc 66 "input missing: exit 66"

# CRLF and a BOM are fine in tables too
printf '\357\273\277channel,item,platform_sku,sku,units\r\nshop,,P,A,3\r\n' > crlf.csv
printf '{"sku":"P","channel":"shop","qty":1}\n' > p.ndjson
run invmap -q -m crlf.csv p.ndjson
expect_out "BOM and CRLF in a table" <<'X'
{"sku":"A","channel":"shop","qty":3,"units":3,"platform_sku":"P"}
X
