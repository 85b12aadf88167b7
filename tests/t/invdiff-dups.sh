# invdiff: duplicate keys - refused in WANT and in HAVE (exit 65, both line
# numbers, nothing on stdout), added up with --sum (on both sides, in the
# documented output order), or diverted with --reject (the second record).
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

cat > want.ndjson <<'X'
{"sku":"A","location":"w","qty":1}
{"sku":"W","location":"w","qty":1}
{"sku":"B","location":"w","qty":1}

{"sku":"A","location":"w","qty":2,"counter":"bo"}
X
cat > have.ndjson <<'X'
{"sku":"H","location":"w","qty":5}
{"sku":"B","location":"w","qty":3}
{"sku":"A","location":"w","qty":7}
{"sku":"B","location":"w","qty":2,"x":1}
X
printf '%s\n' '{"sku":"A","location":"w","qty":1}' '{"sku":"B","location":"w","qty":1}' > uniq.ndjson

run invdiff want.ndjson uniq.ndjson
expect_rc 65 "duplicate in want: exit 65"
expect_err "duplicate in want: names the key and both lines" <<'X'
invdiff: want.ndjson:5: duplicate key (sku "A", location "w"), first at line 1 (use --sum to add them up)
X
expect_empty_out "duplicate in want: nothing on stdout"

run invdiff uniq.ndjson have.ndjson
expect_rc 65 "duplicate in have: exit 65"
expect_err "duplicate in have: names the key and both lines" <<'X'
invdiff: have.ndjson:4: duplicate key (sku "B", location "w"), first at line 2 (use --sum to add them up)
X
expect_empty_out "duplicate in have: nothing on stdout (though corrections came before)"

# CSV lines are counted the same way (header is line 1)
printf 'sku,location,qty\nA,w,1\nB,w,1\nA,w,1\n' > want.csv
run invdiff want.csv uniq.ndjson
expect_err "duplicate in CSV: line numbers count the header" <<'X'
invdiff: want.csv:4: duplicate key (sku "A", location "w"), first at line 2 (use --sum to add them up)
X

# multi-channel WANT: channel is part of the key, and of the message
printf '%s\n' '{"sku":"A","channel":"c1","qty":1}' '{"sku":"A","channel":"c2","qty":1}' '{"sku":"A","channel":"c1","qty":4}' > chan.ndjson
run invdiff chan.ndjson uniq.ndjson
expect_rc 65 "duplicate channel key: exit 65"
expect_err "duplicate channel key: message shows the channel" <<'X'
invdiff: chan.ndjson:3: duplicate key (sku "A", location "", channel "c1"), first at line 1 (use --sum to add them up)
X

# --sum adds duplicates up on both sides.  Output order as documented:
# HAVE's order (H, B, A), then keys only in WANT (W); a key's other fields
# come from its first record.
run invdiff --sum want.ndjson have.ndjson
expect_rc 0 "--sum: exit 0"
expect_out "--sum: quantities added up, have's order then want-only keys" <<'X'
{"sku":"H","location":"w","from":5,"to":0,"delta":-5,"reason":"sync"}
{"sku":"B","location":"w","from":5,"to":1,"delta":-4,"reason":"sync"}
{"sku":"A","location":"w","from":7,"to":3,"delta":-4,"reason":"sync"}
{"sku":"W","location":"w","from":null,"to":1,"delta":1,"reason":"sync"}
X
expect_err "--sum: summary" <<'X'
invdiff: 4 keys: 0 equal, 2 changed, 1 only in want, 1 only in have, 0 within tolerance; total |delta| 14
X
run invdiff -q -s -k sku want.ndjson want.ndjson
expect_rc 0 "--sum on equal inputs: exit 0"
expect_empty_out "--sum on equal inputs: no corrections"

# a sum that overflows int64 is a bad record, not a wrap
printf '%s\n' '{"sku":"A","qty":9223372036854775807}' '{"sku":"A","qty":1}' > big.ndjson
run invdiff -s big.ndjson uniq.ndjson
expect_rc 65 "--sum overflow in want: exit 65"
expect_err "--sum overflow in want: message" <<'X'
invdiff: big.ndjson:2: field 'qty': sum out of range
X
run invdiff -s uniq.ndjson big.ndjson
expect_rc 65 "--sum overflow in have: exit 65"
expect_empty_out "--sum overflow in have: nothing on stdout"

# --reject: the second record of a key is diverted, the first one is used
run invdiff --reject rej.ndjson want.ndjson have.ndjson
expect_rc 0 "--reject duplicates: exit 0"
expect_out "--reject duplicates: first records diffed" <<'X'
{"sku":"H","location":"w","from":5,"to":0,"delta":-5,"reason":"sync"}
{"sku":"B","location":"w","from":3,"to":1,"delta":-2,"reason":"sync"}
{"sku":"A","location":"w","from":7,"to":1,"delta":-6,"reason":"sync"}
{"sku":"W","location":"w","from":null,"to":1,"delta":1,"reason":"sync"}
X
expect_err "--reject duplicates: summary counts them" <<'X'
invdiff: 4 keys: 0 equal, 2 changed, 1 only in want, 1 only in have, 0 within tolerance; total |delta| 14; 2 rejected to rej.ndjson
X
cat > expected-rej <<'X'
{"file":"want.ndjson","line":5,"error":"duplicate key (sku \"A\", location \"w\"), first at line 1 (use --sum to add them up)","text":"{\"sku\":\"A\",\"location\":\"w\",\"qty\":2,\"counter\":\"bo\"}"}
{"file":"have.ndjson","line":4,"error":"duplicate key (sku \"B\", location \"w\"), first at line 2 (use --sum to add them up)","text":"{\"sku\":\"B\",\"location\":\"w\",\"qty\":2,\"x\":1}"}
X
if cmp -s expected-rej rej.ndjson; then ok "--reject duplicates: reject file content"
else notok "--reject duplicates: reject file content" "$(diff expected-rej rej.ndjson)"; fi
