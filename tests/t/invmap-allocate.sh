# invmap --allocate CHANNEL -a RULES: qty = clamp(floor((qty - safety) x
# share / 100), min, max), never below 0; the most specific rule wins (an
# exact sku, then the glob with the most literal characters, then the
# earlier row); records without a rule keep their qty; channel is set.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > rules.csv <<'X'
channel,sku,safety,share,max,min
shop,*,2,50,,
shop,A*,0,100,10,
shop,AB,1,,,1
shop,A?C,,,3,
shop,??C,0,10,,
shop,N*,,33,,
woo,*,0,10,,
X
cat > in.ndjson <<'X'
{"sku":"A","channel":"wms","location":"W1","qty":30,"ts":"t"}
{"sku":"AB","qty":0}
{"sku":"ABC","qty":9}
{"sku":"XBC","qty":100}
{"sku":"Z","qty":7}
{"sku":"Z","qty":-7}
{"sku":"N1","qty":10}
{"sku":"N2","qty":-10}
X
run invmap --allocate shop -a rules.csv in.ndjson
expect_rc 0 "allocate: exit 0"
expect_out "allocate: rules applied" <<'X'
{"sku":"A","channel":"shop","location":"W1","qty":10,"ts":"t"}
{"sku":"AB","qty":1,"channel":"shop"}
{"sku":"ABC","qty":3,"channel":"shop"}
{"sku":"XBC","qty":10,"channel":"shop"}
{"sku":"Z","qty":2,"channel":"shop"}
{"sku":"Z","qty":0,"channel":"shop"}
{"sku":"N1","qty":3,"channel":"shop"}
{"sku":"N2","qty":0,"channel":"shop"}
X
expect_err "allocate: summary" <<'X'
invmap: 8 records in, 8 out: 0 mapped, 0 passed, 0 dropped, 0 rejected; 8 allocated by a rule
X

# ties between globs of as many literal characters: the earlier row
printf 'channel,sku,safety,share,max,min\nshop,A*,0,50,,\nshop,*B,0,10,,\n' > tie.csv
printf '{"sku":"AB","qty":100}\n' > ab.ndjson
run invmap -q --allocate shop -a tie.csv ab.ndjson
expect_out "tie: the earlier row wins" <<'X'
{"sku":"AB","qty":50,"channel":"shop"}
X

# no rule: qty unchanged, channel set
printf 'channel,sku,safety,share,max,min\nshop,X*,5,,,\n' > few.csv
run invmap --allocate shop -a few.csv ab.ndjson
expect_out "no rule: qty unchanged" <<'X'
{"sku":"AB","qty":100,"channel":"shop"}
X
expect_err "no rule: not counted as allocated" <<'X'
invmap: 1 records in, 1 out: 0 mapped, 0 passed, 0 dropped, 0 rejected; 0 allocated by a rule
X

# allocate, then reverse-map for the channel in one run
printf 'channel,item,platform_sku,sku,units\nshop,i9,CASE-AB,AB,6\n' > map.csv
run invmap -q --allocate shop -a tie.csv -m map.csv --to shop ab.ndjson
expect_out "allocate then --to" <<'X'
{"sku":"CASE-AB","qty":8,"channel":"shop","item":"i9"}
X

run invmap --allocate shop ab.ndjson
expect_rc 64 "--allocate without -a: exit 64"
run invmap -a rules.csv ab.ndjson
expect_rc 64 "-a without --allocate: exit 64"
