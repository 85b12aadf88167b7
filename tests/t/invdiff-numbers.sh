# invdiff: numbers - int64 extremes are exact, to - from that does not fit
# in int64 is an error (exit 65, no output), never a wrap; negative
# quantities are allowed; the summary's total |delta| does not wrap either.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

MAX=9223372036854775807
MIN=-9223372036854775808

# extremes on both sides, equal: nothing to do; negatives compared exactly
cat > want.ndjson <<X
{"sku":"A","qty":$MAX}
{"sku":"B","qty":$MIN}
{"sku":"C","qty":-5}
{"sku":"D","qty":-3}
{"sku":"E","qty":-0}
X
cat > have.ndjson <<X
{"sku":"A","qty":$MAX}
{"sku":"B","qty":$MIN}
{"sku":"C","qty":-7}
{"sku":"E","qty":0}
X
run invdiff want.ndjson have.ndjson
expect_rc 0 "extremes and negatives: exit 0"
expect_out "extremes equal, negative quantities diffed" <<'X'
{"sku":"C","from":-7,"to":-5,"delta":2,"reason":"sync"}
{"sku":"D","from":null,"to":-3,"delta":-3,"reason":"sync"}
X
expect_err "extremes and negatives: summary" <<'X'
invdiff: 5 keys: 3 equal, 1 changed, 1 only in want, 0 only in have, 0 within tolerance; total |delta| 5
X
printf 'sku,qty\nC,-7\nA,%s\nE,-0\n' "$MAX" > have.csv
run invdiff -q -k sku -p want.ndjson have.csv
expect_out "negative and extreme quantities in CSV" <<'X'
{"sku":"C","from":-7,"to":-5,"delta":2,"reason":"sync"}
{"sku":"B","from":null,"to":-9223372036854775808,"delta":-9223372036854775808,"reason":"sync"}
{"sku":"D","from":null,"to":-3,"delta":-3,"reason":"sync"}
X

# the largest differences that fit
printf '%s\n' "{\"sku\":\"A\",\"qty\":$MAX}" "{\"sku\":\"B\",\"qty\":-1}" > w-fit.ndjson
printf '%s\n' '{"sku":"A","qty":0}' "{\"sku\":\"B\",\"qty\":$MAX}" > h-fit.ndjson
run invdiff -q w-fit.ndjson h-fit.ndjson
expect_rc 0 "largest differences: exit 0"
expect_out "largest differences that fit in int64" <<'X'
{"sku":"A","from":0,"to":9223372036854775807,"delta":9223372036854775807,"reason":"sync"}
{"sku":"B","from":9223372036854775807,"to":-1,"delta":-9223372036854775808,"reason":"sync"}
X

# overflow NAME WANT-QTY HAVE-QTY: to - from does not fit -> 65, no output
overflow() {
	printf '%s\n' '{"sku":"OK","qty":1}' "{\"sku\":\"A\",\"qty\":$2}" > w-ovf.ndjson
	printf '%s\n' '{"sku":"OK","qty":2}' "{\"sku\":\"A\",\"qty\":$3}" > h-ovf.ndjson
	run invdiff w-ovf.ndjson h-ovf.ndjson
	expect_rc 65 "$1: exit 65"
	expect_err_has "$1: says out of range, names the key" 'sku "A"'
	expect_err_has "$1: says out of range" "out of range"
	expect_empty_out "$1: nothing on stdout"
}
overflow "max - (-1)" "$MAX" -1
overflow "min - 1" "$MIN" 1
overflow "0 - min" 0 "$MIN"

# a key only in HAVE at the minimum: to 0 - from overflows too
printf '%s\n' '{"sku":"OK","qty":1}' > w-one.ndjson
printf '%s\n' '{"sku":"OK","qty":1}' "{\"sku\":\"A\",\"qty\":$MIN}" > h-min.ndjson
run invdiff w-one.ndjson h-min.ndjson
expect_rc 65 "only in have at int64 min: exit 65 (not a crash)"
expect_err_has "only in have at int64 min: out of range" "out of range"
expect_empty_out "only in have at int64 min: nothing on stdout"
run invdiff -p w-one.ndjson h-min.ndjson
expect_rc 0 "only in have at int64 min with --partial: not a correction, exit 0"

# quantities just outside int64 are bad records
printf '%s\n' '{"sku":"A","qty":9223372036854775808}' > too-big.ndjson
run invdiff too-big.ndjson w-one.ndjson
expect_rc 65 "2^63: exit 65"
expect_err "2^63: message" <<'X'
invdiff: too-big.ndjson:1: field 'qty': out of range for a 64-bit integer: 9223372036854775808
X
printf 'sku,qty\nA,-9223372036854775809\n' > too-small.csv
run invdiff too-small.csv w-one.ndjson
expect_rc 65 "-2^63-1: exit 65"
expect_err "-2^63-1: message" <<'X'
invdiff: too-small.csv:2: field 'qty': out of range for a 64-bit integer: "-9223372036854775809"
X

# total |delta| beyond 2^64 - 1 is shown saturated, not wrapped
printf '%s\n' "{\"sku\":\"A\",\"qty\":$MAX}" "{\"sku\":\"B\",\"qty\":$MAX}" > w-two.ndjson
printf '%s\n' "{\"sku\":\"A\",\"qty\":$MAX}" "{\"sku\":\"B\",\"qty\":$MAX}" "{\"sku\":\"C\",\"qty\":$MAX}" > w-three.ndjson
: > empty
run invdiff w-two.ndjson empty
expect_err "total |delta| up to 2^64 - 1 is exact" <<'X'
invdiff: 2 keys: 0 equal, 0 changed, 2 only in want, 0 only in have, 0 within tolerance; total |delta| 18446744073709551614
X
run invdiff w-three.ndjson empty
expect_err "total |delta| beyond 2^64 - 1 saturates" <<'X'
invdiff: 3 keys: 0 equal, 0 changed, 3 only in want, 0 only in have, 0 within tolerance; total |delta| >18446744073709551615
X
