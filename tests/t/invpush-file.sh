# invpush to a file channel, end to end: pull -> invdiff -> push makes the
# channel equal the master; a sale made to the file between pull and push
# is kept (deltas, not absolutes); result records are exact; conflicts are
# reported, never forced; unknown fields, record order, CSV quoting, a BOM,
# CRLF and the file's mode survive a push; a writer that replaces the file
# under flock is waited for and its file is the one corrected.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

cat > invkit.conf <<'X'
[wms]
type = file
path = master.csv

[shop]
type = file
path = shop.ndjson

[csvshop]
type = file
path = shop.csv
X
printf 'sku,location,qty\nA,w1,10\nB,w1,0\nC,w1,5\nE,w1,8\nF,w2,3\n' > master.csv
cat > shop.start <<'X'
{"sku":"A","item":"I-A","location":"w1","qty":7,"title":"Apple","tags":["x"]}
{"sku":"B","item":"I-B","location":"w1","qty":2}
{"sku":"C","item":"I-C","location":"w1","qty":5}
{"sku":"D","item":"I-D","location":"w1","qty":4,"note":"discontinued"}
{"note":"x","location":"w1","item":"I-G","sku":"G","qty":0}
X
cp shop.start shop.ndjson

# norm: set aside what changes from run to run (times, run ids)
norm() {
	sed -E 's/"(ts|from_ts|at)":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"/"\1":"T"/g;
		s/"run":"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}"/"run":"R"/' "$@"
}
same_file() {	# NAME WANT GOT
	if cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "$(diff "$2" "$3" | head -20)"; fi
}

# --- the round trip: pull both, diff, push; the shop then equals the master
invpull -q wms > want.ndjson
invpull -q shop > have.ndjson
invdiff -q want.ndjson have.ndjson > corr.ndjson
STDIN=corr.ndjson run invpush --max-zero 40 shop
expect_rc 0 "round trip: exit 0"
cat > shop.want <<'X'
{"sku":"A","item":"I-A","location":"w1","qty":10,"title":"Apple","tags":["x"]}
{"sku":"B","item":"I-B","location":"w1","qty":0}
{"sku":"C","item":"I-C","location":"w1","qty":5}
{"sku":"D","item":"I-D","location":"w1","qty":0,"note":"discontinued"}
{"note":"x","location":"w1","item":"I-G","sku":"G","qty":0}
{"sku":"E","location":"w1","qty":8}
{"sku":"F","location":"w2","qty":3}
X
same_file "round trip: file exact (fields and order kept, new records at the end)" shop.want shop.ndjson
norm "$T/out" > got
norm corr.ndjson | sed 's/}$/,"status":"applied","at":"T","run":"R"}/' > want
same_file "round trip: one applied result per correction, fields passed through" want got
norm "$T/err" | sed -E 's/; [0-9]+\.[0-9] s$/; S s/; s|journal .*/journal/shop/R\.ndjson|journal J|' > got
sed -E 's/run [0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}/run R/' got > got2
cat > want <<'X'
invpush: shop: run R: 5 applied, 0 unchanged, 0 conflict, 0 failed, 0 skipped; 1 batch; S s
X
head -1 got2 > got3
same_file "round trip: summary" want got3
invpull -q shop > have2.ndjson
run invdiff -e want.ndjson have2.ndjson
expect_rc 0 "round trip: a second diff finds nothing"
expect_empty_out "round trip: no corrections left"
STDIN=/dev/null run invpush -q shop
expect_rc 0 "no corrections: exit 0"
expect_empty_out "no corrections: no results"

# --- a CSV master pushed into a CSV channel with a BOM, CRLF and quoting
printf '\357\273\277sku,location,qty,title\r\nA,w1,7,"Apple, red"\r\nB,w1,2,"say ""hi"""\r\nC,w1,5,plain\r\n' > shop.csv
chmod 640 shop.csv
invpull -q csvshop > have.csv.ndjson
invdiff -q want.ndjson have.csv.ndjson > corr.csv.ndjson
STDIN=corr.csv.ndjson run invpush -q --force csvshop
expect_rc 0 "csv channel: exit 0"
printf '\357\273\277sku,location,qty,title\r\nA,w1,10,"Apple, red"\r\nB,w1,0,"say ""hi"""\r\nC,w1,5,plain\r\nE,w1,8,\r\nF,w2,3,\r\n' > shop.csv.want
same_file "csv channel: BOM, CRLF, quoting kept; new rows added" shop.csv.want shop.csv
[ "$(stat -c %a shop.csv)" = 640 ] && ok "csv channel: file mode kept" ||
	notok "csv channel: file mode kept" "$(stat -c %a shop.csv)"
ls -a | grep -q '^\.shop\.csv\.' && notok "csv channel: no temporary file left" || ok "csv channel: no temporary file left"

# --- a sale lands between pull and push: it is kept
cp shop.start shop.ndjson
invpull -q shop > have.ndjson
invdiff -q want.ndjson have.ndjson > corr.ndjson
sed -i 's/"sku":"A","item":"I-A","location":"w1","qty":7/"sku":"A","item":"I-A","location":"w1","qty":6/' shop.ndjson
STDIN=corr.ndjson run invpush -q --force shop
expect_rc 0 "sale between pull and push: exit 0"
[ "$(jq -c 'select(.sku == "A") | .qty' shop.ndjson)" = 9 ] &&
	ok "sale between pull and push: kept (7 -> 6 sold, +3 -> 9, not 10)" ||
	notok "sale between pull and push: kept" "$(cat shop.ndjson)"

# --- conflicts: a record gone, a record that appeared; reported, not forced
cp shop.start shop.ndjson
cat > conflicts.ndjson <<'X'
{"sku":"A","item":"I-A","location":"w1","from":7,"to":9,"delta":2,"reason":"count","counter":"mia"}
{"sku":"Z","item":"I-Z","location":"w1","from":3,"to":1,"delta":-2}
{"sku":"C","location":"w1","from":null,"to":6,"delta":6}
{"sku":"C","location":"w2","from":null,"to":5,"delta":5,"status":"added"}
{"sku":"B","item":"I-B","location":"w1","from":2,"to":2,"delta":0,"status":"same"}
{"sku":"G","item":"I-G","location":"w1","from":0,"to":0,"delta":0}
{"sku":"D","location":"w1","from":null,"to":4,"delta":4}
X
STDIN=conflicts.ndjson run invpush -q shop
expect_rc 1 "conflicts: exit 1"
norm "$T/out" > got
cat > want <<'X'
{"sku":"A","item":"I-A","location":"w1","from":7,"to":9,"delta":2,"reason":"count","counter":"mia","status":"applied","at":"T","run":"R"}
{"sku":"Z","item":"I-Z","location":"w1","from":3,"to":1,"delta":-2,"status":"conflict","error":"item \"I-Z\" at location \"w1\": no longer in the file","run":"R"}
{"sku":"C","location":"w1","from":null,"to":6,"delta":6,"status":"conflict","error":"sku \"C\" at location \"w1\": appeared in the file since it was read, with 5: not overwritten","run":"R"}
{"sku":"C","location":"w2","from":null,"to":5,"delta":5,"status":"applied","at":"T","run":"R"}
{"sku":"B","item":"I-B","location":"w1","from":2,"to":2,"delta":0,"status":"skipped","error":"no correction: status same in the input","run":"R"}
{"sku":"G","item":"I-G","location":"w1","from":0,"to":0,"delta":0,"status":"unchanged","run":"R"}
{"sku":"D","location":"w1","from":null,"to":4,"delta":4,"status":"unchanged","run":"R"}
X
same_file "conflicts: results exact" want got
cat > shop.want <<'X'
{"sku":"A","item":"I-A","location":"w1","qty":9,"title":"Apple","tags":["x"]}
{"sku":"B","item":"I-B","location":"w1","qty":2}
{"sku":"C","item":"I-C","location":"w1","qty":5}
{"sku":"D","item":"I-D","location":"w1","qty":4,"note":"discontinued"}
{"note":"x","location":"w1","item":"I-G","sku":"G","qty":0}
{"sku":"C","location":"w2","qty":5}
X
same_file "conflicts: only the applied ones changed the file" shop.want shop.ndjson

# -F csv results
cp shop.start shop.ndjson
printf 'sku,item,location,from,to,delta\nA,I-A,w1,7,8,1\n' > one.csv
STDIN=one.csv run invpush -q -F csv shop
expect_rc 0 "-F csv results: exit 0"
sed -E 's/,[0-9]{4}-[0-9-]{5}T[0-9:]{8}Z,/,T,/; s/,[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$/,R/' "$T/out" > got
printf 'sku,item,location,from,to,delta,status,at,run\nA,I-A,w1,7,8,1,applied,T,R\n' > want
same_file "-F csv results: exact" want got

# --- a writer that replaces the file while holding flock: invpush waits,
# then corrects the new file, not the old one
cp shop.start shop.ndjson
sed 's/"qty":7/"qty":70/' shop.start > shop.replacement
flock shop.ndjson -c 'sleep 1; cp shop.replacement shop.tmp; mv shop.tmp shop.ndjson' &
holder=$!
sleep 0.3
printf '%s\n' '{"sku":"A","item":"I-A","location":"w1","from":7,"to":8,"delta":1}' > plus1.ndjson
STDIN=plus1.ndjson run invpush -q shop
wait $holder
expect_rc 0 "file replaced under the lock: exit 0"
[ "$(jq -c 'select(.sku == "A") | .qty' shop.ndjson)" = 71 ] &&
	ok "file replaced under the lock: the new file got the delta (70 + 1)" ||
	notok "file replaced under the lock: the new file got the delta" "$(head -1 shop.ndjson)"

# --- locations = limits what may be written
cat >> invkit.conf <<'X'

[w1only]
type = file
path = shop.ndjson
locations = w1
X
cp shop.start shop.ndjson
printf '%s\n' '{"sku":"Q","location":"w9","from":null,"to":1,"delta":1}' > w9.ndjson
STDIN=w9.ndjson run invpush -q w1only
expect_rc 1 "location outside locations =: exit 1"
expect_out_has "location outside locations =: failed, with why" '"status":"failed","error":"sku \"Q\" at location \"w9\": not one of this channel'"'"'s locations"'
same_file "location outside locations =: file untouched" shop.start shop.ndjson
