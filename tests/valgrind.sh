#!/usr/bin/env bash
# tests/valgrind.sh - one normal run of each tool under valgrind: invdiff,
# invmap (map, locations, allocation), invcount import/plan/report, invpull
# and invpush against the file driver and against tests/sim (Shopify and
# WooCommerce, with faults and with a refused token).  Each run
# must exit as it does without valgrind and valgrind must report no error:
# no invalid read or write, no use of uninitialised memory, no leak that is
# definitely or indirectly lost (--error-exitcode=99).  Prints one TAP line
# per run with valgrind's figures, and "N passed, N failed" last.
#
#   make check-valgrind              (builds bin/ first)
#   INVKIT_BIN=$PWD/bin-x tests/valgrind.sh
#
# The binaries must not be built with a sanitizer.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
export HOME=$T XDG_STATE_HOME=$T/state TMPDIR=$T/tmp
mkdir -p tmp vg
: > "$RESULTS"
command -v valgrind > /dev/null || { echo "valgrind: not installed (make deps)" >&2; exit 1; }
if grep -q __asan_init "$INVKIT_BIN/invdiff" 2> /dev/null; then
	echo "valgrind: $INVKIT_BIN holds sanitizer builds: give plain ones (make all)" >&2
	exit 1
fi

# vg WANT_RC NAME TOOL ARGS... (stdin from $STDIN, else /dev/null): run TOOL
# under valgrind, its stdout in $T/out; one TAP line with valgrind's figures
vg() {
	local want=$1 name=$2 tool=$3 log=vg/$((++NVG)).log
	shift 3
	valgrind "${VGOPTS[@]}" --log-file="$log" \
		"$INVKIT_BIN/$tool" "$@" > "$T/out" 2> "$T/err" < "${STDIN:-/dev/null}"
	rc=$?
	fig() { sed -n "s/.*$1: \([0-9,]*\) bytes.*/\1/p" "$log" | tail -1 | tr -d ,; }
	local errs def ind pos rea
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -1)
	def=$(fig 'definitely lost') ind=$(fig 'indirectly lost') pos=$(fig 'possibly lost')
	rea=$(fig 'still reachable')
	local f="${errs:-?} errors; lost ${def:-0} + ${ind:-0} bytes (definite + indirect), possibly ${pos:-0}, reachable ${rea:-0}"
	NERR=$((NERR + ${errs:-1}))
	if [ "$rc" -eq "$want" ] && [ "${errs:-1}" = 0 ]; then
		ok "$name: exit $rc; $f"
	elif [ "$rc" -eq 99 ] || [ "${errs:-1}" != 0 ]; then
		notok "$name: valgrind: $f" "$(grep -v '^==[0-9]*== *$' "$log" | sed -n '/ERROR SUMMARY/q; /Command:/,$p' | head -60)"
	else
		notok "$name: exit $rc, expected $want" "$(head -5 "$T/err")"
	fi
}
NVG=0 NERR=0
VGOPTS=(--leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes --num-callers=30)

# ---- self-check: the same valgrind run fails on a leak and on a bad read ----
if command -v cc > /dev/null; then
	printf '%s\n' '#include <stdlib.h>' '#include <stdio.h>' \
		'int main(int c, char **v) { (void)v; char *p = malloc(100); p[0] = 1;' \
		'if (c > 1) { printf("%d\\n", p[100]); free(p); } return 0; }' > leak.c
	cc -g -O0 -o leak leak.c
	valgrind "${VGOPTS[@]}" --log-file=vg/leak.log ./leak > /dev/null 2>&1
	k1=$?
	valgrind "${VGOPTS[@]}" --log-file=vg/bad.log ./leak x > /dev/null 2>&1
	k2=$?
	[ "$k1" = 99 ] && grep -q 'definitely lost: 100 bytes' vg/leak.log && [ "$k2" = 99 ] &&
		grep -q 'Invalid read of size 1' vg/bad.log &&
		ok "self-check: a leak and an invalid read make valgrind exit 99" ||
		notok "self-check: a leak and an invalid read make valgrind exit 99" "exit $k1, $k2"
fi

# ---- files ----
D=$DATA/invcount
cat > map.csv <<'X'
channel,item,platform_sku,sku,units
shop,i1,CASE-A,A,12
shop,,B-1,B,1
X
cat > loc.csv <<'X'
channel,platform_location,location
shop,L1,W1
X
cat > rules.csv <<'X'
channel,sku,safety,share,max,min
shop,*,2,50,,
X
cat > have.ndjson <<'X'
{"sku":"CASE-A","channel":"shop","item":"i1","location":"L1","qty":2,"ts":"2026-01-01T00:00:00Z","x":[1,{"y":null}]}
{"sku":"B-1","channel":"shop","item":"i9","location":"L1","qty":5}
X
cat > master.ndjson <<'X'
{"sku":"A","location":"W1","qty":30}
{"sku":"B","location":"W1","qty":4}
{"sku":"C","location":"W1","qty":9}
X
vg 0 "invmap -m -l (forward)" invmap -m map.csv -l loc.csv have.ndjson
cp "$T/out" mapped.ndjson
vg 0 "invmap --allocate" invmap -A shop -a rules.csv master.ndjson
vg 0 "invdiff" invdiff master.ndjson mapped.ndjson
vg 0 "invdiff -F table --all" invdiff -F table --all "$DATA/invdiff/book.ndjson" "$DATA/invdiff/counts.csv"
printf '{"sku":"A","location":"W1","qty":"x"}\n' > bad.ndjson
vg 65 "invdiff (a bad record: exit 65)" invdiff bad.ndjson master.ndjson
vg 0 "invdiff --reject" invdiff --reject rej.ndjson bad.ndjson master.ndjson
vg 0 "invcount import" invcount import "$D/sheet-semicolon.csv"
vg 0 "invcount plan" invcount plan --sales "$D/sales.ndjson" --date 2026-03-02 -n 4 "$D/book.ndjson"
vg 0 "invcount report" invcount report --values "$D/values.ndjson" "$D/diffs-hand.ndjson"

# ---- the file driver ----
cat > invkit.conf <<'X'
[wms]
type = file
path = wms.ndjson
X
cp master.ndjson wms.ndjson
vg 0 "invpull (file)" invpull wms
jq -c '.qty += 1' "$T/out" > want.ndjson
invdiff -q want.ndjson wms.ndjson > corr.ndjson
STDIN=corr.ndjson vg 0 "invpush (file)" invpush wms

# ---- the simulator ----
start_sim --sample 30 --seed 4 --scale 20
printf 'shpat_sim_demo\n' > shop.token
printf 'ck_sim_demo:cs_sim_demo\n' > woo.token
chmod 600 shop.token woo.token
cat >> invkit.conf <<X

[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token

[woo]
type = woocommerce
base_url = http://127.0.0.1:$PORT/woo/demo
token_file = $T/woo.token
X
for p in shop woo; do
	vg 0 "invpull ($p)" invpull "$p"
	cp "$T/out" "$p.have"
	jq -c '.qty += 2' "$p.have" | invdiff -q - "$p.have" > "$p.corr"
	STDIN=$p.corr vg 0 "invpush --dry-run ($p)" invpush -n "$p"
	STDIN=$p.corr vg 0 "invpush ($p)" invpush "$p"
	[ "$(jq -r .status "$T/out" | sort -u)" = applied ] && ok "invpush ($p): every correction applied" ||
		notok "invpush ($p): every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
	vg 0 "invpush --resume of a finished run ($p)" invpush --resume "$(jq -r .run "$T/out" | head -1)" "$p"
done
# with faults: retries, a lost answer resolved by re-reading, a refused token
ctl POST faults '{"rules":[{"kind":"503","next":1,"retry_after":0},
	{"kind":"lost_answer","next":1,"match":{"write":true}}]}' > /dev/null
invpull -q woo > woo.have
jq -c '.qty += 3' woo.have | invdiff -q - woo.have > woo.corr2
STDIN=woo.corr2 vg 0 "invpush (woo, a 503 and a lost answer)" invpush woo
[ "$(jq -r .status "$T/out" | sort -u)" = applied ] &&
	ctl GET faults | jq -e '[.rules[].remaining] | add == 0' > /dev/null &&
	ok "invpush (woo): both faults fired, every correction applied" ||
	notok "invpush (woo): both faults fired, every correction applied" "$(jq -r .status "$T/out" | sort | uniq -c)"
ctl DELETE faults > /dev/null
printf 'shpat_wrong\n' > shop.token
vg 77 "invpull (shop, refused token)" invpull shop

total=$(wc -l < "$RESULTS" | tr -d ' ')
failed=0
[ -f "$RESULTS.fail" ] && failed=$(wc -l < "$RESULTS.fail" | tr -d ' ')
echo "valgrind: $NVG runs, $NERR errors"
echo "$((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
