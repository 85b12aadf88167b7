# tests/lib.sh - the little harness every end-to-end test script sources.
#
# A script runs commands with `run CMD...` (stdout, stderr and exit code are
# captured in $T/out, $T/err and $rc), then states what it expects:
#   expect_rc N NAME            exit code is N (a signal is always a failure)
#   expect_out NAME <<EOF       stdout is exactly the here-document
#   expect_out_file NAME FILE   stdout is exactly FILE
#   expect_err NAME <<EOF       stderr is exactly the here-document
#   expect_err_has NAME TEXT    stderr contains TEXT
#   expect_out_has NAME TEXT    stdout contains TEXT
#   expect_empty_out NAME       nothing on stdout
#   ok NAME / notok NAME WHY    for checks of your own
# Each expectation prints "ok N - NAME" or "not ok N - NAME" (TAP) and is
# counted in $RESULTS for tests/run.  Binaries are taken from $INVKIT_BIN
# (bin/ by default) and put first on PATH.

set -u
export LC_ALL=C
unset NO_COLOR INVKIT_CONFIG
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INVKIT_BIN=${INVKIT_BIN:-$TOP/bin}
PATH=$INVKIT_BIN:$TOP/scripts:$PATH
DATA=$TOP/tests/data
T=$(mktemp -d "${TMPDIR:-/tmp}/invkit-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
RESULTS=${RESULTS:-$T/results}
SCRIPT=$(basename "$0" .sh)
rc=0

_n() { echo x >> "$RESULTS"; wc -l < "$RESULTS" | tr -d ' '; }
ok() { echo "ok $(_n) - $SCRIPT: $1"; }
notok() {
	local n; n=$(_n); echo "F" >> "$RESULTS.fail"
	echo "not ok $n - $SCRIPT: $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}

run() {
	"$@" > "$T/out" 2> "$T/err" < "${STDIN:-/dev/null}"
	rc=$?
}
# run with stdin from a here-document or pipe
run_in() {
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
}

expect_rc() {
	local want=$1 name=$2
	if [ "$rc" -ge 128 ] && [ "$want" -lt 128 ]; then
		notok "$name" "crashed: exit $rc (signal $((rc - 128)))$(printf '\n'; head -5 "$T/err")"
	elif [ "$rc" -eq "$want" ]; then
		ok "$name"
	else
		notok "$name" "exit $rc, expected $want$(printf '\n'; head -5 "$T/err")"
	fi
}

expect_out_file() {
	if cmp -s "$2" "$T/out"; then ok "$1"; else notok "$1" "$(diff "$2" "$T/out" | head -20)"; fi
}
expect_out() { cat > "$T/expected"; expect_out_file "$1" "$T/expected"; }
expect_err() {
	cat > "$T/expected"
	if cmp -s "$T/expected" "$T/err"; then ok "$1"; else notok "$1" "$(diff "$T/expected" "$T/err" | head -20)"; fi
}
expect_err_has() {
	if grep -qF -- "$2" "$T/err"; then ok "$1"; else notok "$1" "stderr lacks: $2$(printf '\n'; head -5 "$T/err")"; fi
}
expect_out_has() {
	if grep -qF -- "$2" "$T/out"; then ok "$1"; else notok "$1" "stdout lacks: $2$(printf '\n'; head -5 "$T/out")"; fi
}
expect_empty_out() {
	if [ ! -s "$T/out" ]; then ok "$1"; else notok "$1" "stdout: $(head -3 "$T/out")"; fi
}

# start_sim ARGS...: start the platform simulator (tests/sim/sim.py ARGS) on a
# free loopback port, set $PORT and $SIMPID, and stop it when the script ends.
start_sim() {
	coproc SIM { exec python3 "$TOP/tests/sim/sim.py" --port 0 "$@"; }
	SIMPID=$SIM_PID
	read -r _ PORT <&"${SIM[0]}"
	trap 'kill "$SIMPID" 2>/dev/null; wait "$SIMPID" 2>/dev/null; rm -rf "$T"' EXIT
}
# ctl METHOD PATH [BODY]: a request to the simulator's control API
ctl() {
	python3 -c 'import sys, urllib.request as u
r = u.Request(sys.argv[1], data=sys.argv[3].encode() if len(sys.argv) > 3 else None,
    method=sys.argv[2])
sys.stdout.write(u.urlopen(r).read().decode())' "http://127.0.0.1:$PORT/_sim/$2" "$1" ${3+"$3"}
}
# poll CMD...: until it succeeds, at most about 15 s
poll() {
	local i
	for ((i = 0; i < 300; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
# nwrites: writes of stock in the simulator's log (sales excluded);
# at_least N: there are N of them or more
nwrites() { ctl GET 'log?kind=writes' | jq '[.writes[] | select(.kind != "sale")] | length'; }
at_least() { [ "$(nwrites)" -ge "$1" ]; }
