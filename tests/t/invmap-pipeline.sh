# invmap end to end: a channel pulled with invpull, mapped to central SKUs,
# units and locations with invmap, compared with the master by invdiff; and
# the other way: the master allocated and reverse-mapped for the channel,
# then diffed against the pulled channel, giving corrections in the
# channel's own SKUs and units.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

cat > invkit.conf <<'X'
[shop]
type = file
path = shop.ndjson
X
cat > shop.ndjson <<'X'
{"sku":"CASE-A","item":"I-1","location":"gid1","qty":2}
{"sku":"B","item":"I-2","location":"gid1","qty":5}
{"sku":"B-6","item":"I-3","location":"gid1","qty":1}
X
cat > map.csv <<'X'
channel,item,platform_sku,sku,units
shop,I-1,CASE-A,A,12
shop,I-2,B,B,1
shop,I-3,B-6,B6,6
X
cat > loc.csv <<'X'
channel,platform_location,location
shop,gid1,W1
X
cat > master.ndjson <<'X'
{"sku":"A","location":"W1","qty":30}
{"sku":"B","location":"W1","qty":5}
{"sku":"B6","location":"W1","qty":13}
X

invpull -q shop | invmap -q -m map.csv -l loc.csv > have.ndjson
if [ "$(jq -c '[.sku, .location, .qty]' have.ndjson | tr -d '\n')" = \
	'["A","W1",24]["B","W1",5]["B6","W1",6]' ]; then
	ok "pull | map: central skus, base units, warehouse names"
else
	notok "pull | map: central skus, base units, warehouse names" "$(cat have.ndjson)"
fi
run invdiff -q master.ndjson have.ndjson
expect_rc 0 "diff: exit 0"
if [ "$(jq -c '[.sku, .from, .to, .delta]' "$T/out" | tr -d '\n')" = \
	'["A",24,30,6]["B6",6,13,7]' ]; then
	ok "map | diff: corrections in base units"
else
	notok "map | diff: corrections in base units" "$(cat "$T/out")"
fi

# the other way: what the channel should show, in its own terms
invmap -q -m map.csv -l loc.csv --to shop master.ndjson > want.ndjson
invpull -q shop > live.ndjson
run invdiff -q want.ndjson live.ndjson
expect_rc 0 "reverse | diff: exit 0"
if [ "$(jq -c '[.sku, .item, .location, .from, .to, .delta]' "$T/out" | tr -d '\n')" = \
	'["B-6","I-3","gid1",1,2,1]' ]; then
	ok "reverse | diff: corrections in platform units"
else
	notok "reverse | diff: corrections in platform units" "$(cat "$T/out")"
fi
