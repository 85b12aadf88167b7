# invdiff: the command line - operands (none, one, three, both "-"),
# --help, --version, unknown options and bad option arguments (64), missing
# or unreadable inputs (66, naming them), standard input as WANT or HAVE,
# -q/-v, --unbuffered, and a reject file that cannot be created.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

printf '%s\n' '{"sku":"A","qty":5}' '{"sku":"B","qty":1}' > want.ndjson
printf '%s\n' '{"sku":"A","qty":4}' > have.ndjson
cat > corrections.expected <<'X'
{"sku":"A","from":4,"to":5,"delta":1,"reason":"sync"}
{"sku":"B","from":null,"to":1,"delta":1,"reason":"sync"}
X

# usage_error NAME ARGS...: exit 64, usage on stderr, nothing on stdout
usage_error() {
	local name=$1; shift
	run invdiff "$@"
	expect_rc 64 "$name: exit 64"
	expect_err_has "$name: usage on stderr" "usage: invdiff"
	expect_empty_out "$name: nothing on stdout"
}
usage_error "no operands"
expect_err_has "no operands: says what is missing" "invdiff: want and have files are required"
usage_error "one operand" want.ndjson
usage_error "three operands" want.ndjson have.ndjson have.ndjson
expect_err_has "three operands: says so" "invdiff: too many arguments"
usage_error "unknown option" --bogus want.ndjson have.ndjson
usage_error "unknown short option" -Z want.ndjson have.ndjson

# option errors that are not about operands: exit 64 and one message
opt_error() {
	local name=$1 msg=$2; shift 2
	run invdiff "$@"
	expect_rc 64 "$name: exit 64"
	expect_err "$name: message" <<< "invdiff: $msg"
}
opt_error "both operands -" "want and have cannot both be standard input" - -
opt_error "-t abc" "bad tolerance 'abc': give units (5) or a percentage (2.5%)" -t abc want.ndjson have.ndjson
opt_error "-t -1" "bad tolerance '-1': give units (5) or a percentage (2.5%)" -t -1 want.ndjson have.ndjson
opt_error "-t 1.5 (units are whole)" "bad tolerance '1.5': give units (5) or a percentage (2.5%)" -t 1.5 want.ndjson have.ndjson
opt_error "-t 5%%" "bad tolerance '5%%': give units (5) or a percentage (2.5%)" -t 5%% want.ndjson have.ndjson
opt_error "-k empty" "empty key: -k needs at least one field" -k , want.ndjson have.ndjson
opt_error "-k twice the same field" "key field 'sku' given twice" -k sku,sku want.ndjson have.ndjson
opt_error "-r empty" "empty reason" -r '' want.ndjson have.ndjson

# --help and --version: stdout, exit 0
run invdiff --help
expect_rc 0 "--help: exit 0"
expect_out_has "--help: usage on stdout" "usage: invdiff"
expect_err "--help: nothing on stderr" < /dev/null
missing=
for o in --all --exit-code --format --help --key --partial --quiet --reason --reject \
	--sum --tolerance --verbose --version --unbuffered; do
	grep -q -- "$o" "$T/out" || missing="$missing $o"
done
[ -z "$missing" ] && ok "--help: lists every option of invdiff(1)" ||
	notok "--help: lists every option of invdiff(1)" "missing:$missing"
run invdiff -h
expect_rc 0 "-h: exit 0"
expect_out_has "-h: usage on stdout" "usage: invdiff"
run invdiff --version
expect_rc 0 "--version: exit 0"
if grep -qE '^invdiff \(invkit\) [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" && [ "$(wc -l < "$T/out")" -eq 1 ]
then ok "--version: one line, invdiff (invkit) X.Y.Z"
else notok "--version: one line, invdiff (invkit) X.Y.Z" "$(head -3 "$T/out")"; fi
run invdiff -V
expect_rc 0 "-V: exit 0"
expect_out_has "-V: version on stdout" "invdiff (invkit) "

# missing and unreadable inputs: 66, naming the file
run invdiff nosuch.ndjson have.ndjson
expect_rc 66 "missing want: exit 66"
expect_err "missing want: names it" <<'X'
invdiff: nosuch.ndjson: No such file or directory
X
run invdiff want.ndjson nosuch.ndjson
expect_rc 66 "missing have: exit 66"
expect_err "missing have: names it" <<'X'
invdiff: nosuch.ndjson: No such file or directory
X
expect_empty_out "missing have: nothing on stdout"
mkdir adir
run invdiff adir have.ndjson
expect_rc 66 "directory as want: exit 66"
expect_err "directory as want: names it" <<'X'
invdiff: adir: Is a directory
X
run invdiff want.ndjson adir
expect_rc 66 "directory as have: exit 66"
expect_empty_out "directory as have: nothing on stdout"

# standard input as WANT or as HAVE
STDIN=want.ndjson run invdiff -q - have.ndjson
expect_rc 0 "stdin as want: exit 0"
expect_out_file "stdin as want: same corrections" corrections.expected
STDIN=have.ndjson run invdiff -q want.ndjson -
expect_rc 0 "stdin as have: exit 0"
expect_out_file "stdin as have: same corrections" corrections.expected
run_in invdiff -q - have.ndjson < <(cat want.ndjson)
expect_out_file "stdin as want from a pipe" corrections.expected

# options may follow the operands (GNU getopt), and -- ends them
run invdiff want.ndjson have.ndjson -q
expect_err "options after operands" < /dev/null
run invdiff -q -- want.ndjson have.ndjson
expect_out_file "-- before operands" corrections.expected

# -v explains more on stderr, stdout unchanged
run invdiff -v want.ndjson have.ndjson
expect_rc 0 "-v: exit 0"
expect_out_file "-v: same corrections" corrections.expected
[ "$(wc -l < "$T/err")" -ge 2 ] && ok "-v: more than the summary on stderr" ||
	notok "-v: more than the summary on stderr" "$(cat "$T/err")"

# --unbuffered is documented in invdiff(1) and invkit(7)
run invdiff -q --unbuffered want.ndjson have.ndjson
expect_rc 0 "--unbuffered: exit 0"
expect_out_file "--unbuffered: same corrections" corrections.expected

# a reject file that cannot be created: an error naming it, no output
run invdiff --reject nodir/rej.ndjson want.ndjson have.ndjson
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && ok "--reject in a missing folder: fails" ||
	notok "--reject in a missing folder: fails" "exit $rc"
expect_err_has "--reject in a missing folder: names the file" "invdiff: nodir/rej.ndjson: "
expect_empty_out "--reject in a missing folder: nothing on stdout"
