# invpull from a file channel: the records it writes (channel, item, sku,
# location, qty, ts, state), item falling back to sku, unknown fields left
# behind, CSV and NDJSON stock files, filters, formats, the summary, and a
# bad stock file: exit 65 naming the file and line, nothing on stdout.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

cat > invkit.conf <<'X'
[wms]
type = file
path = stock.csv

[shop]
type = file
path = data/shop.ndjson

[east]
type = file
path = data/shop.ndjson
locations = east
X
mkdir data
printf 'sku,location,qty,note\r\nA-1,w1,5,"x, y"\r\nB-2,w1,3,\r\nC-3,,0,\r\n' > stock.csv
cat > data/shop.ndjson <<'X'
{"sku":"A-1","item":"I-1","location":"east","qty":4,"extra":[1,2]}
{"item":"I-2","location":"east","qty":-1,"state":"on_hand"}
{"sku":"C-3","item":"I-3","location":"west","qty":7}
X

# ts is the time of the pull: check its shape, then set it aside
norm_ts() { sed -E 's/"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"/"ts":"TS"/' "$T/out"; }

run invpull wms
expect_rc 0 "csv stock file: exit 0"
norm_ts > got
cat > want <<'X'
{"channel":"wms","item":"A-1","sku":"A-1","location":"w1","qty":5,"ts":"TS","state":"available"}
{"channel":"wms","item":"B-2","sku":"B-2","location":"w1","qty":3,"ts":"TS","state":"available"}
{"channel":"wms","item":"C-3","sku":"C-3","location":"","qty":0,"ts":"TS","state":"available"}
X
cmp -s want got && ok "csv stock file: records exact (item = sku, state available)" ||
	notok "csv stock file: records exact (item = sku, state available)" "$(diff want got)"
expect_err "csv stock file: summary" <<'X'
invpull: wms: 3 records, 3 items; 0.0 s
X

run invpull -q shop
norm_ts > got
cat > want <<'X'
{"channel":"shop","item":"I-1","sku":"A-1","location":"east","qty":4,"ts":"TS","state":"available"}
{"channel":"shop","item":"I-2","sku":"","location":"east","qty":-1,"ts":"TS","state":"on_hand"}
{"channel":"shop","item":"I-3","sku":"C-3","location":"west","qty":7,"ts":"TS","state":"available"}
X
cmp -s want got && ok "ndjson stock file (path relative to the config): records exact" ||
	notok "ndjson stock file (path relative to the config): records exact" "$(diff want got)"
[ ! -s "$T/err" ] && ok "-q: nothing on stderr" || notok "-q: nothing on stderr" "$(cat "$T/err")"

run invpull -q --sku C-3,A-1 shop
[ "$(jq -r .item "$T/out" | tr '\n' ' ')" = "I-1 I-3 " ] && ok "--sku filters" ||
	notok "--sku filters" "$(cat "$T/out")"
run invpull -q --item I-2 --item I-3 shop
[ "$(jq -r .item "$T/out" | tr '\n' ' ')" = "I-2 I-3 " ] && ok "--item, given twice, filters" ||
	notok "--item, given twice, filters" "$(cat "$T/out")"
run invpull -q east
[ "$(jq -r .item "$T/out" | tr '\n' ' ')" = "I-1 I-2 " ] && ok "locations = east filters" ||
	notok "locations = east filters" "$(cat "$T/out")"

run invpull -q -F csv wms
sed -E 's/,[0-9]{4}-[0-9-]{5}T[0-9:]{8}Z,/,TS,/' "$T/out" > got
cat > want <<'X'
channel,item,sku,location,qty,ts,state
wms,A-1,A-1,w1,5,TS,available
wms,B-2,B-2,w1,3,TS,available
wms,C-3,C-3,,0,TS,available
X
cmp -s want got && ok "-F csv" || notok "-F csv" "$(diff want got)"
run invpull -q -F table wms
expect_out_has "-F table: aligned header" "channel  item  sku  location  qty  ts"

run invpull --config "$T/invkit.conf" -q wms
expect_rc 0 "--config FILE"
[ "$(wc -l < "$T/out")" -eq 3 ] && ok "--config FILE: 3 records" || notok "--config FILE: 3 records"

# --since: a stock file keeps no change times
run invpull --since 2026-03-02T09:14:00Z wms
expect_rc 64 "--since on a file channel: exit 64"
expect_err "--since on a file channel: message" <<'X'
invpull: [wms]: a stock file keeps no change times: --since is not supported by type file
X
run invpull --since yesterday wms
expect_rc 64 "--since not RFC 3339: exit 64"
expect_err_has "--since not RFC 3339: message" "bad --since 'yesterday'"

# --- a bad stock file: no short list, exit 65, file and line named
cp stock.csv good.csv
printf 'sku,location,qty\nA-1,w1,5\nB-2,w1,many\n' > stock.csv
run invpull wms
expect_rc 65 "bad qty in the stock file: exit 65"
expect_err "bad qty in the stock file: message" <<'X'
invpull: stock.csv:3: field 'qty': not an integer: "many"
X
expect_empty_out "bad qty in the stock file: nothing on stdout"
printf 'sku,location,qty\n,w1,5\n' > stock.csv
run invpull wms
expect_rc 65 "record without sku or item: exit 65"
expect_err_has "record without sku or item: message" "stock.csv:2: field 'sku': missing (a record needs a sku or an item)"
awk 'BEGIN { print "sku,qty"; for (i = 1; i <= 5000; i++) print "S" i "," i; print "LAST,x" }' > stock.csv
run invpull wms
expect_rc 65 "bad last line after 5000 records: exit 65"
expect_empty_out "bad last line after 5000 records: nothing on stdout"
cp good.csv stock.csv

# an empty stock file is no error: no records
: > empty.ndjson
printf '[empty]\ntype = file\npath = empty.ndjson\n' >> invkit.conf
run invpull empty
expect_rc 0 "empty stock file: exit 0"
expect_empty_out "empty stock file: no records"

# --- usage
run invpull
expect_rc 64 "no channel: exit 64"
expect_err_has "no channel: message" "invpull: a channel is required"
run invpull a b
expect_rc 64 "two channels: exit 64"
run invpull --help
expect_rc 0 "--help: exit 0"
expect_out_has "--help: usage on stdout" "usage: invpull"
run invpull --version
expect_out_has "--version" "invpull (invkit)"
run invpull -F xml wms
expect_rc 64 "-F xml: exit 64"
