# invdiff: bad input.  Strict by default: the first bad record stops
# invdiff with exactly "invdiff: FILE:LINE: ..." on stderr, exit 65 and
# nothing on stdout - even when it is the last line of HAVE after many good
# corrections.  Inputs without records are fine.  --reject FILE sets every
# bad record aside with its reason and goes on.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

printf '%s\n' '{"sku":"A","qty":1}' > good.ndjson

# bad NAME CONTENT MESSAGE: CONTENT (printf format) is HAVE in file "bad";
# expect exit 65, exactly "invdiff: MESSAGE" on stderr and an empty stdout.
bad() {
	printf "$2" > bad
	run invdiff good.ndjson bad
	expect_rc 65 "$1: exit 65"
	expect_err "$1: message" <<< "invdiff: $3"
	expect_empty_out "$1: nothing on stdout"
}

# --- qty in CSV
bad "csv qty twelve" 'sku,qty\nA,twelve\n' \
	"bad:2: field 'qty': not an integer: \"twelve\""
bad "csv qty 12.0" 'sku,qty\nA,12.0\n' \
	"bad:2: field 'qty': not an integer (has a fraction): \"12.0\""
bad "csv qty 1-2" 'sku,qty\nA,1-2\n' \
	"bad:2: field 'qty': not an integer: \"1-2\""
bad "csv qty 1/2" 'sku,qty\nA,1/2\n' \
	"bad:2: field 'qty': not an integer: \"1/2\""
bad "csv qty 1e3" 'sku,qty\nA,1e3\n' \
	"bad:2: field 'qty': not an integer (has an exponent): \"1e3\""
bad "csv qty with a space" 'sku,qty\nA, 12\n' \
	"bad:2: field 'qty': not an integer (stray space): \" 12\""
bad "csv qty empty" 'sku,qty\nA,\n' \
	"bad:2: field 'qty': null"
bad "csv qty 2^70" 'sku,qty\nA,1180591620717411303424\n' \
	"bad:2: field 'qty': out of range for a 64-bit integer: \"1180591620717411303424\""
bad "csv qty +3" 'sku,qty\nA,+3\n' \
	"bad:2: field 'qty': not an integer (sign '+'): \"+3\""
bad "csv sku empty" 'sku,qty\n,3\n' \
	"bad:2: field 'sku': empty"

# --- qty and sku in NDJSON
bad "ndjson qty string" '{"sku":"A","qty":"12"}\n' \
	"bad:1: field 'qty': a string, not an integer: \"12\""
bad "ndjson qty 12.0" '{"sku":"A","qty":12.0}\n' \
	"bad:1: field 'qty': not an integer (has a fraction): 12.0"
bad "ndjson qty 1e3" '{"sku":"A","qty":1e3}\n' \
	"bad:1: field 'qty': not an integer (has an exponent): 1e3"
bad "ndjson qty 2^70" '{"sku":"A","qty":1180591620717411303424}\n' \
	"bad:1: field 'qty': out of range for a 64-bit integer: 1180591620717411303424"
bad "ndjson qty null" '{"sku":"A","qty":null}\n' \
	"bad:1: field 'qty': null"
bad "ndjson qty true" '{"sku":"A","qty":true}\n' \
	"bad:1: field 'qty': not an integer: true"
bad "ndjson qty missing" '{"sku":"B","qty":1}\n{"sku":"A"}\n' \
	"bad:2: field 'qty': missing"
bad "ndjson sku missing" '{"qty":1}\n' \
	"bad:1: field 'sku': missing"
bad "ndjson sku empty" '{"sku":"","qty":1}\n' \
	"bad:1: field 'sku': empty"
bad "ndjson sku a number" '{"sku":5,"qty":1}\n' \
	"bad:1: field 'sku': not a string: 5"
bad "ndjson sku an array" '{"sku":["A"],"qty":1}\n' \
	"bad:1: field 'sku': not a string: [\"A\"]"
bad "ndjson location a number" '{"sku":"A","location":5,"qty":1}\n' \
	"bad:1: field 'location': not a string: 5"
bad "ndjson sku with escaped NUL" '{"sku":"A\\u0000","qty":1}\n' \
	"bad:1: field 'sku': contains a NUL character: \"A\\\\u0000\""

# --- invalid JSON
bad "json truncated line" '{"sku":"A","qty":1\n' \
	"bad:1: invalid JSON at column 19: unexpected end of line"
bad "json trailing comma" '{"sku":"A","qty":1,}\n' \
	"bad:1: invalid JSON at column 20: member name expected"
bad "json NUL byte" '{"sku":"A\0","qty":1}\n' \
	"bad:1: invalid JSON at column 10: control character in string"
bad "json invalid UTF-8" '{"sku":"caf\xe9","qty":1}\n' \
	"bad:1: invalid JSON at column 12: invalid UTF-8 in string"
bad "json text after the object" '{"sku":"A","qty":1} x\n' \
	"bad:1: invalid JSON at column 21: text after the object"
bad "json line not an object" '{"sku":"A","qty":1}\n\n42\n' \
	"bad:3: invalid JSON at column 1: not a JSON object"
bad "json array file (jq hint)" '[{"sku":"A","qty":1}]\n' \
	"bad:1: a JSON array, not one object per line (try: jq -c '.[]')"
bad "json pretty array file (jq hint)" '[\n  {"sku":"A","qty":1}\n]\n' \
	"bad:1: a JSON array, not one object per line (try: jq -c '.[]')"
bad "json duplicate field" '{"sku":"A","qty":1,"qty":2}\n' \
	"bad:1: duplicate field 'qty'"
bad "json duplicate unknown field" '{"sku":"A","x":1,"qty":1,"x":2}\n' \
	"bad:1: duplicate field \"x\""

# --- invalid CSV
bad "csv invalid UTF-8" 'sku,qty\ncaf\xe9,1\n' \
	"bad:2: invalid UTF-8 (is the file in another encoding?)"
bad "csv too many columns" 'sku,qty\nA,1\nB,1,2\n' \
	"bad:3: 3 fields where the header has 2"
bad "csv too few columns" 'sku,qty,note\nA,1\n' \
	"bad:2: 2 fields where the header has 3"
bad "csv unterminated quote" 'sku,qty\nA,1\n"B,1\nC,1\n' \
	"bad:3: unterminated quoted field"
bad "csv duplicate column" 'sku,qty,sku\nA,1,B\n' \
	"bad:1: header: column \"sku\" appears twice (columns 1 and 3)"

# a bad record in WANT, read from standard input
printf '%s\n' '{"sku":"A","x":1,"qty":1,"x":2}' > bad-want.ndjson
STDIN=bad-want.ndjson run invdiff - good.ndjson
expect_rc 65 "bad want on stdin: exit 65"
expect_err "bad want on stdin: named <stdin>" <<'X'
invdiff: <stdin>:1: duplicate field "x"
X
expect_empty_out "bad want on stdin: nothing on stdout"

# --- strict means nothing downstream: 3000 good corrections, then a bad
# last line in HAVE.
awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "{\"sku\":\"S%d\",\"qty\":%d}\n", i, i }' > many.ndjson
{ cat many.ndjson; echo '{"sku":"LAST","qty":"7"}'; } > many-bad.ndjson
run invdiff good.ndjson many-bad.ndjson
expect_rc 65 "bad last line after 3000 corrections: exit 65"
expect_err "bad last line after 3000 corrections: message" <<'X'
invdiff: many-bad.ndjson:3001: field 'qty': a string, not an integer: "7"
X
expect_empty_out "bad last line after 3000 corrections: nothing on stdout"
run invdiff -F csv good.ndjson many-bad.ndjson
expect_empty_out "bad last line, -F csv: nothing on stdout"
run invdiff -q good.ndjson many.ndjson
expect_rc 0 "the same 3000 without the bad line: exit 0"
[ "$(wc -l < "$T/out")" -eq 3001 ] && ok "the same 3000 without the bad line: 3001 corrections" ||
	notok "the same 3000 without the bad line: 3001 corrections" "$(wc -l < "$T/out") lines"

# --- inputs without records are fine
: > empty
run invdiff empty empty
expect_rc 0 "both empty: exit 0"
expect_empty_out "both empty: nothing on stdout"
expect_err "both empty: summary" <<'X'
invdiff: 0 keys: 0 equal, 0 changed, 0 only in want, 0 only in have, 0 within tolerance; total |delta| 0
X
run invdiff -q empty good.ndjson
expect_out "empty want: everything goes to 0" <<'X'
{"sku":"A","from":1,"to":0,"delta":-1,"reason":"sync"}
X
run invdiff -q -p empty good.ndjson
expect_empty_out "empty want with --partial: nothing"
run invdiff -q good.ndjson empty
expect_out "empty have: everything added" <<'X'
{"sku":"A","from":null,"to":1,"delta":1,"reason":"sync"}
X
printf 'sku,location,qty\r\n' > header-only.csv
run invdiff header-only.csv good.ndjson
expect_rc 0 "header-only CSV: exit 0"
expect_out "header-only CSV: no records" <<'X'
{"sku":"A","from":1,"to":0,"delta":-1,"reason":"sync"}
X
printf '\n  \n\r\n' > blank
run invdiff -q -e blank blank
expect_rc 0 "blank lines only: exit 0, no corrections"

# --- a 10 MB line: fine when valid (passed through whole), exact message
# when not.
head -c 10000000 /dev/zero | tr '\0' x > x10m
{ printf '{"sku":"A","qty":2,"note":"'; cat x10m; printf '"}\n'; } > big.ndjson
{ printf '{"sku":"A","note":"'; cat x10m; printf '","from":2,"to":1,"delta":-1,"reason":"sync"}\n'; } > big.expected
run invdiff -q good.ndjson big.ndjson
expect_rc 0 "10 MB line: exit 0"
expect_out_file "10 MB line: passed through whole" big.expected
{ printf '{"sku":"A","qty":2,"note":"'; cat x10m; printf '\n'; } > big-bad.ndjson
run invdiff good.ndjson big-bad.ndjson
expect_rc 65 "10 MB bad line: exit 65"
expect_err "10 MB bad line: message" <<'X'
invdiff: big-bad.ndjson:1: invalid JSON at column 10000028: unterminated string
X
rm -f x10m big.ndjson big.expected big-bad.ndjson

# --- --reject with several bad records on both sides: each one is in the
# reject file with its reason, the good ones are still diffed.  A key whose
# record was rejected on either side is left alone (C), and since some WANT
# records were rejected before their key was known, keys only in HAVE are
# not set to 0 (G, F): a typo in the master must not zero a shop.
cat > want.csv <<'X'
sku,location,qty,note
A,w,5,ok
B,w,twelve,bad qty
,w,3,no sku
C,w,4,"multi
line"
D,w,1,2,extra
E,w,2,"unterminated
X
cat > have.ndjson <<'X'
{"sku":"A","location":"w","qty":1}
{"sku":"G","location":"w","qty":2}
{"sku":"C","location":"w","qty":"4"}
not json
{"sku":"F","location":"w","qty":2}
{"sku":"F","location":"w","qty":3}
X
run invdiff --reject rej.ndjson want.csv have.ndjson
expect_rc 0 "--reject: exit 0"
expect_out "--reject: the good records are diffed" <<'X'
{"sku":"A","location":"w","note":"ok","from":1,"to":5,"delta":4,"reason":"sync"}
X
expect_err "--reject: summary says how many went where" <<'X'
invdiff: 1 keys: 0 equal, 1 changed, 0 only in want, 0 only in have, 0 within tolerance; total |delta| 4; 7 rejected to rej.ndjson; 1 left alone (a record of theirs was rejected)
invdiff: warning: 3 want records were rejected before their key was known, so keys only in have were not set to 0 (as with --partial)
X
cat > rej.expected <<'X'
{"file":"want.csv","line":3,"error":"field 'qty': not an integer: \"twelve\"","text":"B,w,twelve,bad qty"}
{"file":"want.csv","line":4,"error":"field 'sku': empty","text":",w,3,no sku"}
{"file":"want.csv","line":7,"error":"5 fields where the header has 4","text":"D,w,1,2,extra"}
{"file":"want.csv","line":8,"error":"unterminated quoted field","text":"E,w,2,\"unterminated"}
{"file":"have.ndjson","line":3,"error":"field 'qty': a string, not an integer: \"4\"","text":"{\"sku\":\"C\",\"location\":\"w\",\"qty\":\"4\"}"}
{"file":"have.ndjson","line":4,"error":"invalid JSON at column 1: not a JSON object","text":"not json"}
{"file":"have.ndjson","line":6,"error":"duplicate key (sku \"F\", location \"w\"), first at line 5 (use --sum to add them up)","text":"{\"sku\":\"F\",\"location\":\"w\",\"qty\":3}"}
X
if cmp -s rej.expected rej.ndjson; then ok "--reject: reject file content"
else notok "--reject: reject file content" "$(diff rej.expected rej.ndjson | head -20)"; fi
if jq -e -s 'all(.[]; keys == ["error","file","line","text"] and (.line|type) == "number")' rej.ndjson > /dev/null 2>&1
then ok "--reject: every line is NDJSON with file, line, error, text"
else notok "--reject: every line is NDJSON with file, line, error, text" "$(head -3 rej.ndjson)"; fi
rm -f rej.ndjson
(umask 000; invdiff -q --reject rej.ndjson want.csv have.ndjson > /dev/null 2>&1)
mode=$(stat -c %a rej.ndjson 2>/dev/null)
[ "$mode" = 600 ] && ok "--reject: file mode 0600 (even with umask 000)" ||
	notok "--reject: file mode 0600 (even with umask 000)" "mode $mode"

# invalid bytes are kept in the reject file's text (escaped) and the
# message is exact
printf '{"sku":"A","qty":1}\n{"sku":"caf\xe9","qty":1}\n' > latin1.ndjson
run invdiff -q --reject rej2.ndjson good.ndjson latin1.ndjson
expect_rc 0 "--reject invalid UTF-8: exit 0"
cat > rej2.expected <<'X'
{"file":"latin1.ndjson","line":2,"error":"invalid JSON at column 12: invalid UTF-8 in string","text":"{\"sku\":\"caf\u00e9\",\"qty\":1}"}
X
if cmp -s rej2.expected rej2.ndjson; then ok "--reject invalid UTF-8: text escaped, file is valid UTF-8"
else notok "--reject invalid UTF-8: text escaped, file is valid UTF-8" "$(diff rej2.expected rej2.ndjson)"; fi

# a header that cannot be read is not a record: still fatal with --reject
printf 'sku,qty,sku\nA,1,B\n' > dup-header.csv
run invdiff --reject rej3.ndjson dup-header.csv good.ndjson
expect_rc 65 "--reject, bad CSV header: still exit 65"
expect_empty_out "--reject, bad CSV header: nothing on stdout"

# a duplicate field name deep in a record of 1000 fields is found too
python3 -c '
d = ",".join("\"f%d\":%d" % (i, i) for i in range(1000))
print("{\"sku\":\"A\",\"qty\":1," + d + ",\"f999\":2}")' > "$T/bigdup.ndjson"
run invdiff "$T/bigdup.ndjson" /dev/null
expect_rc 65 "duplicate field in a 1000-field record: exit 65"
expect_err_has "duplicate field in a 1000-field record: named" 'bigdup.ndjson:1: duplicate field "f999"'
expect_empty_out "duplicate field in a 1000-field record: nothing on stdout"
