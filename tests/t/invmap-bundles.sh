# invmap -b: a bundle's quantity per location is the minimum over its
# components of floor(component qty / count), nested bundles computed the
# same way, missing components 0, never below 0; bundle records of the
# input are held and get the computed qty; a component shared by bundles
# counts in full for each; then allocation applies to bundles too.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > b.csv <<'X'
bundle_sku,component_sku,count
KIT,A,2
KIT,B,1
BIG,KIT,2
BIG,C,1
PAIR,A,2
X
cat > in.ndjson <<'X'
{"sku":"A","location":"W1","qty":9,"channel":"wms"}
{"sku":"KIT","location":"W1","qty":100,"note":"n"}
{"sku":"B","location":"W1","qty":3,"channel":"wms"}
{"sku":"C","location":"W1","qty":5,"channel":"wms"}
{"sku":"A","location":"W2","qty":-3,"channel":"wms"}
{"sku":"D","location":"W3","qty":1,"channel":"wms"}
X
run invmap -b b.csv in.ndjson
expect_rc 0 "bundles: exit 0"
expect_out "bundles: components stream, bundles at the end" <<'X'
{"sku":"A","location":"W1","qty":9,"channel":"wms"}
{"sku":"B","location":"W1","qty":3,"channel":"wms"}
{"sku":"C","location":"W1","qty":5,"channel":"wms"}
{"sku":"A","location":"W2","qty":-3,"channel":"wms"}
{"sku":"D","location":"W3","qty":1,"channel":"wms"}
{"sku":"KIT","location":"W1","qty":3,"note":"n"}
{"sku":"BIG","channel":"wms","location":"W1","qty":1}
{"sku":"PAIR","channel":"wms","location":"W1","qty":4}
{"sku":"KIT","channel":"wms","location":"W2","qty":0}
{"sku":"BIG","channel":"wms","location":"W2","qty":0}
{"sku":"PAIR","channel":"wms","location":"W2","qty":0}
X
expect_err "bundles: summary" <<'X'
invmap: 6 records in, 11 out: 0 mapped, 0 passed, 0 dropped, 0 rejected; 6 bundle records
X

# --explain names the limiting component
run invmap -q -b b.csv --explain BIG in.ndjson
expect_err "explain a bundle" <<'X'
invmap: explain 'BIG': bundle at location 'W1' (b.csv:4): min of 'KIT' 3 / 2 = 1, 'C' 5 / 1 = 5 = 1, limited by 'KIT'
invmap: explain 'BIG': bundle at location 'W2' (b.csv:4): min of 'KIT' 0 / 2 = 0, 'C' 0 / 1 = 0 = 0, limited by 'KIT'
X

# allocation applies to the bundle records as well
printf 'channel,sku,safety,share,max,min\nshop,KIT,1,,,\n' > rules.csv
printf '{"sku":"A","qty":20}\n{"sku":"B","qty":4}\n' > two.ndjson
run invmap -q -b b.csv --allocate shop -a rules.csv two.ndjson
expect_out "bundles then allocation" <<'X'
{"sku":"A","qty":20,"channel":"shop"}
{"sku":"B","qty":4,"channel":"shop"}
{"sku":"KIT","channel":"shop","location":"","qty":3}
{"sku":"BIG","channel":"shop","location":"","qty":0}
{"sku":"PAIR","channel":"shop","location":"","qty":10}
X

# bad tables
bad() {
	printf "$2" > bad.csv
	run invmap -b bad.csv in.ndjson
	expect_rc 78 "$1: exit 78"
	expect_err "$1: message" <<< "invmap: $3"
	expect_empty_out "$1: nothing on stdout"
}
bad "cycle" 'bundle_sku,component_sku,count\nX,Y,1\nY,Z,1\nZ,X,2\n' \
	"bad.csv:4: bundles form a cycle: 'X' -> 'Y' -> 'Z' -> 'X'"
bad "bundle of itself" 'bundle_sku,component_sku,count\nX,X,1\n' \
	"bad.csv:2: bundles form a cycle: 'X' -> 'X'"
bad "count 0" 'bundle_sku,component_sku,count\nX,Y,0\n' \
	"bad.csv:2: field 'count': 0 is out of range (1 to 9223372036854775807)"
bad "count 1.5" 'bundle_sku,component_sku,count\nX,Y,1.5\n' \
	"bad.csv:2: field 'count': not an integer (has a fraction): \"1.5\""
bad "count empty" 'bundle_sku,component_sku,count\nX,Y,\n' \
	"bad.csv:2: field 'count': empty"
bad "duplicate row" 'bundle_sku,component_sku,count\nX,Y,1\nX,Y,2\n' \
	"bad.csv:3: duplicate row: component 'Y' of bundle 'X' is also on line 2"
bad "missing column" 'bundle_sku,component,count\nX,Y,1\n' \
	"bad.csv: missing column 'component_sku' (the header must name bundle_sku,component_sku,count)"

# --explode: what a sale of a bundle takes from its components, nested
# bundles all the way down, the listing's item dropped; other records pass
cat > sold.ndjson <<'X'
{"sku":"BIG","location":"W1","qty":-2,"item":"listing-9","channel":"shop"}
{"sku":"A","location":"W1","qty":-1,"channel":"shop"}
{"sku":"PAIR","location":"W2","qty":3}
X
run invmap -q -b b.csv --explode sold.ndjson
expect_rc 0 "explode: exit 0"
expect_out "explode: components, counts multiplied" <<'X'
{"sku":"A","location":"W1","qty":-8,"channel":"shop"}
{"sku":"B","location":"W1","qty":-4,"channel":"shop"}
{"sku":"C","location":"W1","qty":-2,"channel":"shop"}
{"sku":"A","location":"W1","qty":-1,"channel":"shop"}
{"sku":"A","location":"W2","qty":6}
X
printf '{"sku":"BIG","location":"W1","qty":4611686018427387904}\n' > huge.ndjson
run invmap -q -b b.csv --explode huge.ndjson
expect_rc 65 "explode: overflow is bad data"
expect_err_has "explode: overflow named" "overflows"
run invmap --explode sold.ndjson
expect_rc 64 "explode: needs -b"
expect_err_has "explode: needs -b, says so" "--explode needs the bundles (-b FILE)"
run invmap -b b.csv --explode -t shop sold.ndjson
expect_rc 64 "explode: not with --to"
