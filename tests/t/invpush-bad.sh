# invpush with bad corrections.  Every correction is checked before any is
# written: the first bad one stops the run with exit 65 and
# "invpush: FILE:LINE: ..." - even when it is the last of thousands - and
# the channel, the journal and stdout stay untouched.  --reject sets bad
# records aside and pushes the good ones.  Usage errors exit 64.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

printf '[shop]\ntype = file\npath = shop.ndjson\n' > invkit.conf
printf '%s\n' '{"sku":"A","location":"w","qty":5}' '{"sku":"B","location":"w","qty":5}' > shop.start
cp shop.start shop.ndjson
good='{"sku":"A","location":"w","from":5,"to":6,"delta":1}'

untouched() {
	cmp -s shop.start shop.ndjson && ok "$1: file untouched" || notok "$1: file untouched"
	[ ! -e state/invkit/journal ] && ok "$1: no journal" || notok "$1: no journal"
}
# bad NAME CONTENT MESSAGE: CONTENT (printf format) after a good line, in file "bad"
bad() {
	{ printf '%s\n' "$good"; printf "$2"; } > bad
	run invpush shop bad
	expect_rc 65 "$1: exit 65"
	expect_err "$1: message" <<< "invpush: $3"
	expect_empty_out "$1: nothing on stdout"
	untouched "$1"
}

bad "from missing" '{"sku":"B","to":1,"delta":1}\n' \
	"bad:2: field 'from': missing (null when the target had no record)"
bad "to missing" '{"sku":"B","from":1,"delta":1}\n' "bad:2: field 'to': missing"
bad "to null" '{"sku":"B","from":1,"to":null,"delta":1}\n' "bad:2: field 'to': null"
bad "delta missing" '{"sku":"B","from":1,"to":2}\n' "bad:2: field 'delta': missing"
bad "delta not to - from" '{"sku":"B","from":1,"to":3,"delta":1}\n' \
	"bad:2: field 'delta': 1, but to - from is 2"
bad "delta not to when from is null" '{"sku":"B","from":null,"to":3,"delta":2}\n' \
	"bad:2: field 'delta': 2, but from is null and to is 3"
bad "to a string" '{"sku":"B","from":1,"to":"3","delta":2}\n' \
	"bad:2: field 'to': a string, not an integer: \"3\""
bad "from with a fraction" '{"sku":"B","from":1.5,"to":3,"delta":2}\n' \
	"bad:2: field 'from': not an integer (has a fraction): 1.5"
bad "to - from out of range" '{"sku":"B","from":-9223372036854775808,"to":9223372036854775807,"delta":1}\n' \
	"bad:2: field 'delta': to - from is out of range"
bad "sku missing" '{"from":1,"to":2,"delta":1}\n' "bad:2: field 'sku': missing"
bad "sku empty" '{"sku":"","from":1,"to":2,"delta":1}\n' "bad:2: field 'sku': empty"
bad "sku a number" '{"sku":5,"from":1,"to":2,"delta":1}\n' "bad:2: field 'sku': not a string: 5"
bad "location a number" '{"sku":"B","location":3,"from":1,"to":2,"delta":1}\n' \
	"bad:2: field 'location': not a string: 3"
bad "a result fed back" '{"sku":"B","from":1,"to":2,"delta":1,"status":"applied"}\n' \
	"bad:2: field 'status': \"applied\" is a result of invpush, not a correction: push corrections, never results"
bad "unknown status" '{"sku":"B","from":1,"to":2,"delta":1,"status":"maybe"}\n' \
	"bad:2: field 'status': unknown status \"maybe\" (same, within, changed, added, removed or planned)"
bad "duplicate correction" '{"sku":"A","location":"w","from":5,"to":7,"delta":2}\n' \
	"bad:2: duplicate correction for sku \"A\" at location \"w\", first at line 1"
bad "invalid JSON" '{"sku":"B",\n' "bad:2: invalid JSON at column 12: unexpected end of line"
bad "duplicate field" '{"sku":"B","from":1,"to":2,"to":2,"delta":1}\n' "bad:2: duplicate field 'to'"

# CSV: an empty from is null; a bad to is named
printf 'sku,location,from,to,delta\nB,w,,4,4\nC,w,1,x,1\n' > bad.csv
run invpush shop bad.csv
expect_rc 65 "csv, bad to: exit 65"
expect_err "csv, bad to: message" <<'X'
invpush: bad.csv:3: field 'to': not an integer: "x"
X
untouched "csv, bad to"

# the last of 3000 good corrections is bad: nothing is written
awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "{\"sku\":\"S%d\",\"from\":null,\"to\":1,\"delta\":1}\n", i;
	print "{\"sku\":\"LAST\",\"from\":null,\"to\":1,\"delta\":2}" }' > many.ndjson
STDIN=many.ndjson run invpush --force shop
expect_rc 65 "bad last of 3001 on stdin: exit 65"
expect_err "bad last of 3001 on stdin: message" <<'X'
invpush: <stdin>:3001: field 'delta': 2, but from is null and to is 1
X
expect_empty_out "bad last of 3001 on stdin: nothing on stdout"
untouched "bad last of 3001"

# a duplicate across two files names the first file
printf '%s\n' "$good" > one.ndjson
printf '%s\n' "$good" > two.ndjson
run invpush shop one.ndjson two.ndjson
expect_rc 65 "duplicate across files: exit 65"
expect_err "duplicate across files: message" <<'X'
invpush: two.ndjson:1: duplicate correction for sku "A" at location "w", first at one.ndjson:line 1
X

run invpush shop nonexistent.ndjson
expect_rc 66 "missing input file: exit 66"
untouched "missing input file"

# --- --reject: the bad ones are set aside, the good ones pushed
cat > mixed.ndjson <<'X'
{"sku":"A","location":"w","from":5,"to":6,"delta":1}
{"sku":"B","location":"w","from":5,"to":9,"delta":1}
not json
{"sku":"B","location":"w","from":5,"to":7,"delta":2}
X
STDIN=mixed.ndjson run invpush --reject rej.ndjson shop
expect_rc 0 "--reject: exit 0"
[ "$(jq -s -c '[.[].qty]' shop.ndjson)" = "[6,7]" ] && ok "--reject: the good ones pushed" ||
	notok "--reject: the good ones pushed" "$(cat shop.ndjson)"
cat > rej.want <<'X'
{"file":"<stdin>","line":2,"error":"field 'delta': 1, but to - from is 4","text":"{\"sku\":\"B\",\"location\":\"w\",\"from\":5,\"to\":9,\"delta\":1}"}
{"file":"<stdin>","line":3,"error":"invalid JSON at column 1: not a JSON object","text":"not json"}
X
cmp -s rej.want rej.ndjson && ok "--reject: reject file exact" || notok "--reject: reject file exact" "$(diff rej.want rej.ndjson)"
[ "$(stat -c %a rej.ndjson)" = 600 ] && ok "--reject: file mode 0600" || notok "--reject: file mode 0600"
expect_err_has "--reject: summary counts them" "; 2 rejected to rej.ndjson"
[ "$(wc -l < "$T/out")" -eq 2 ] && ok "--reject: a result for each good one" || notok "--reject: a result for each good one"
cp shop.start shop.ndjson
rm -rf state

# --- usage
run invpush
expect_rc 64 "no channel: exit 64"
expect_err_has "no channel: message" "invpush: a channel is required"
run invpush --batch 0 shop
expect_rc 64 "--batch 0: exit 64"
run invpush --max-zero 101 shop
expect_rc 64 "--max-zero 101: exit 64"
expect_err "--max-zero 101: message" <<'X'
invpush: bad --max-zero '101': out of range
X
run invpush --resume 'x/../y' shop
expect_rc 64 "--resume with a slash: exit 64"
run invpush --resume R1 shop file.ndjson
expect_rc 64 "--resume with an input file: exit 64"
run invpush --resume R1 --dry-run shop
expect_rc 64 "--resume with --dry-run: exit 64"
run invpush --help
expect_rc 0 "--help: exit 0"
expect_out_has "--help: usage on stdout" "usage: invpush"
run invpush --version
expect_out_has "--version" "invpush (invkit)"
untouched "usage errors"
