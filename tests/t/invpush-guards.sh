# invpush --dry-run and the guards.  A dry run writes planned results and
# touches nothing: no file, no journal, no state.  Each guard refuses with
# exit 65, its reason, nothing on stdout and nothing written, and --force
# (or a looser limit) lets the same push through.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

printf '[shop]\ntype = file\npath = shop.ndjson\n' > invkit.conf
# 20 items with 10 each
awk 'BEGIN { for (i = 1; i <= 20; i++) printf "{\"sku\":\"S%02d\",\"location\":\"w\",\"qty\":10}\n", i }' > shop.start
cp shop.start shop.ndjson

norm() {
	sed -E 's/"at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"/"at":"T"/g;
		s/"run":"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}"/"run":"R"/' "$@"
}
untouched() {	# NAME: the file, the journal and the state are as before
	cmp -s shop.start shop.ndjson && ok "$1: file untouched" || notok "$1: file untouched"
	[ ! -e state/invkit/journal ] && ok "$1: no journal" ||
		notok "$1: no journal" "$(find state -type f)"
}
# corr N Z: N corrections, of which the first Z take 10 to 0 and the rest 10 to 11
corr() {
	awk -v n="$1" -v z="$2" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"sku\":\"S%02d\",\"location\":\"w\",\"from\":10,\"to\":%d,\"delta\":%d}\n",
			i, i <= z ? 0 : 11, i <= z ? -10 : 1 }'
}

# --- dry run
cat > plan.ndjson <<'X'
{"sku":"S01","location":"w","from":10,"to":12,"delta":2,"note":"keep me"}
{"sku":"S02","location":"w","from":10,"to":10,"delta":0,"status":"same"}
{"sku":"NEW","location":"w","from":null,"to":3,"delta":3}
X
STDIN=plan.ndjson run invpush --dry-run shop
expect_rc 0 "dry run: exit 0"
norm "$T/out" > got
cat > want <<'X'
{"sku":"S01","location":"w","from":10,"to":12,"delta":2,"note":"keep me","status":"planned","run":"R"}
{"sku":"S02","location":"w","from":10,"to":10,"delta":0,"status":"skipped","error":"no correction: status same in the input","run":"R"}
{"sku":"NEW","location":"w","from":null,"to":3,"delta":3,"status":"planned","run":"R"}
X
cmp -s want got && ok "dry run: planned results exact" || notok "dry run: planned results exact" "$(diff want got)"
expect_err "dry run: summary" <<'X'
invpush: shop: dry run: 2 corrections planned, 1 skipped; nothing written
X
untouched "dry run"
[ ! -e state ] && ok "dry run: no state folder at all" || notok "dry run: no state folder at all"

# --- --max-zero: 3 of 10 (30%) to zero is more than the default 20%
corr 10 3 > zero3.ndjson
STDIN=zero3.ndjson run invpush shop
expect_rc 65 "max-zero: exit 65"
expect_err "max-zero: message" <<'X'
invpush: refused: 3 of 10 corrections (30%) would take an in-stock item to 0, more than --max-zero 20%; nothing written (--force to push anyway)
X
expect_empty_out "max-zero: nothing on stdout"
untouched "max-zero"
STDIN=zero3.ndjson run invpush --dry-run shop
expect_rc 65 "max-zero, dry run: refused too"
STDIN=zero3.ndjson run invpush -q --max-zero 30% shop
expect_rc 0 "max-zero 30%: 30% is not more, exit 0"
cp shop.start shop.ndjson
STDIN=zero3.ndjson run invpush -q --force shop
expect_rc 0 "max-zero with --force: exit 0"
[ "$(jq -s -c '[.[].qty]' shop.ndjson)" = "[0,0,0,11,11,11,11,11,11,11,10,10,10,10,10,10,10,10,10,10]" ] &&
	ok "max-zero with --force: applied" || notok "max-zero with --force: applied" "$(jq -s -c '[.[].qty]' shop.ndjson)"
cp shop.start shop.ndjson
rm -rf state
# going to 0 from 0, from below 0 or from nothing is no in-stock item going to 0
cat > notinstock.ndjson <<'X'
{"sku":"S01","location":"w","from":-2,"to":0,"delta":2}
{"sku":"S02","location":"w","from":10,"to":0,"delta":-10}
{"sku":"S03","location":"w","from":10,"to":12,"delta":2}
{"sku":"S04","location":"w","from":10,"to":12,"delta":2}
{"sku":"S05","location":"w","from":10,"to":12,"delta":2}
X
STDIN=notinstock.ndjson run invpush -q --dry-run shop
expect_rc 0 "max-zero: 1 of 5 (20%) in stock to 0, from -2 not counted: exit 0"

# --- --min-zero: the one item that sold out since the last run (1 of 1,
# 2 of 2) does not stop a routine sync; 3 of 3 does, and --min-zero 1
# makes even one refused
corr 1 1 > one.ndjson
STDIN=one.ndjson run invpush -q --dry-run shop
expect_rc 0 "min-zero: 1 of 1 corrections to 0 is below the floor of 3: exit 0"
corr 2 2 > two.ndjson
STDIN=two.ndjson run invpush -q --dry-run shop
expect_rc 0 "min-zero: 2 of 2 to 0: exit 0"
corr 3 3 > three.ndjson
STDIN=three.ndjson run invpush -q --dry-run shop
expect_rc 65 "min-zero: 3 of 3 to 0: refused"
STDIN=one.ndjson run invpush -q --dry-run --min-zero 1 shop
expect_rc 65 "min-zero 1: 1 of 1 to 0: refused"
expect_err "min-zero 1: message" <<'X'
invpush: refused: 1 of 1 corrections (100%) would take an in-stock item to 0, more than --max-zero 20%; nothing written (--force to push anyway)
X
STDIN=one.ndjson run invpush -q --dry-run --min-zero 0 shop
expect_rc 64 "min-zero 0: usage error"
# a full feed (invdiff --all): the share is of all its records, so 3 to 0
# among 20 records (15%) passes where 3 of 3 corrections would not
{ corr 3 3; awk 'BEGIN { for (i = 4; i <= 20; i++)
	printf "{\"sku\":\"S%02d\",\"location\":\"w\",\"from\":10,\"to\":10,\"delta\":0,\"status\":\"same\"}\n", i }'; } |
	sed 's/"delta":-10}/"delta":-10,"status":"changed"}/' > full.ndjson
STDIN=full.ndjson run invpush -q --dry-run shop
expect_rc 0 "max-zero, full feed: 3 of 20 records (15%) to 0: exit 0"

# --- --max-changes
corr 10 0 > ten.ndjson
STDIN=ten.ndjson run invpush --max-changes 9 shop
expect_rc 65 "max-changes 9, 10 changes: exit 65"
expect_err "max-changes: message" <<'X'
invpush: refused: 10 changes, more than --max-changes 9; nothing written (--force to push anyway)
X
untouched "max-changes"
STDIN=ten.ndjson run invpush -q --dry-run --max-changes 10 shop
expect_rc 0 "max-changes 10, 10 changes: exit 0"
STDIN=ten.ndjson run invpush -q --dry-run --max-changes 9 --force shop
expect_rc 0 "max-changes with --force: exit 0"
run invpush --max-changes 0 shop
expect_rc 64 "max-changes 0: usage error"

# --- a full feed (invdiff --all) far shorter than the last one
invpull -q shop > have.ndjson
sed 's/"qty":10/"qty":12/' have.ndjson | head -19 > want.ndjson	# S20 left out: to 0
invdiff -a -q want.ndjson have.ndjson > full20.ndjson
STDIN=full20.ndjson run invpush -q shop
expect_rc 0 "full feed of 20: pushed"
[ "$(cat state/invkit/channel/shop.last)" = "records 20" ] && ok "full feed: its size remembered" ||
	notok "full feed: its size remembered" "$(cat state/invkit/channel/shop.last 2>&1)"
invpull -q shop > have.ndjson
head -9 have.ndjson > want9.ndjson
invdiff -a -p -q want9.ndjson have.ndjson > full9.ndjson
cp shop.ndjson shop.before
STDIN=full9.ndjson run invpush shop
expect_rc 65 "full feed of 9 after 20: exit 65"
expect_err "full feed of 9 after 20: message" <<'X'
invpush: refused: the input holds 9 records, 55% fewer than the 20 of this channel's last full feed (--max-shrink 50%): a truncated feed?; nothing written (--force to push anyway)
X
cmp -s shop.before shop.ndjson && ok "short feed: file untouched" || notok "short feed: file untouched"
STDIN=full9.ndjson run invpush -q --max-shrink 60 shop
expect_rc 0 "full feed of 9, --max-shrink 60: exit 0"
head -3 full20.ndjson | sed 's/"status":"[a-z]*",//' > partial.ndjson
STDIN=partial.ndjson run invpush -q --dry-run shop
expect_rc 0 "a feed of corrections only (no status) is not compared"
