#!/usr/bin/env bash
# tests/real/medusa.sh - the medusa driver against a real Medusa 2 server.
#
# Installs @medusajs/medusa (pinned below) from the npm registry into
# tests/real/.cache/medusa once, starts a private PostgreSQL 15 cluster
# (Debian's postgresql-15) in a temporary folder on a free loopback port,
# migrates, creates an admin user and a secret API key, seeds 600 inventory
# items with 1000 levels across 2 stock locations (some reserved by orders),
# starts the server on 127.0.0.1, and runs the scenarios: pull everything,
# push corrections, a second client writing before and during a push,
# a bad key, oversize batches (a proxy with a body limit answering 413, and
# the driver's own sizing), and the pipeline from a file master.  Every end
# state is read back through the server's own API (tests/real/medusa.py).
# Everything it started is stopped on exit.  A server that cannot be
# installed or started fails the test, loudly.
. "$(dirname "$0")/../lib.sh"

MEDUSA_VERSION=2.21.2
CACHE=$TOP/tests/real/.cache/medusa
PGBIN=/usr/lib/postgresql/15/bin
PY="python3 $TOP/tests/real/medusa.py"
SRVPID= PROXYPID= RACEPID= PGDIR=
export XDG_STATE_HOME=$T/state INVKIT_CONFIG=$T/invkit.conf MEDUSA_DISABLE_TELEMETRY=true

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
	[ -n "$RACEPID" ] && kill "$RACEPID" 2>/dev/null
	[ -n "$PROXYPID" ] && kill "$PROXYPID" 2>/dev/null
	[ -n "$SRVPID" ] && kill -- "-$SRVPID" 2>/dev/null && wait "$SRVPID" 2>/dev/null
	[ -n "$PGDIR" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
	[ -n "$PGDIR" ] && rm -rf "$PGDIR"
	rm -rf "$T"
}
trap cleanup EXIT
fail() { notok "$1" "$2"; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the server ----

command -v node >/dev/null && command -v npm >/dev/null ||
	fail "node and npm are needed (Debian: apt-get install nodejs npm)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
	process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)' ||
	fail "Medusa $MEDUSA_VERSION needs node ^20.19 or >=22.12, this is $(node --version)"
if [ ! -x "$PGBIN/initdb" ]; then
	echo "# medusa: installing postgresql-15"
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	{ $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		postgresql-15 >/dev/null; } > "$T/apt.log" 2>&1 ||
		fail "apt-get install postgresql-15" "$(tail -5 "$T/apt.log")"
fi

t0=$(now)
if [ ! -f "$CACHE/.installed-$MEDUSA_VERSION" ]; then
	rm -rf "$CACHE"
	mkdir -p "$CACHE"
	cat > "$CACHE/package.json" <<-EOF
	{
	  "name": "invkit-medusa-test",
	  "private": true,
	  "dependencies": {
	    "@medusajs/medusa": "$MEDUSA_VERSION",
	    "@medusajs/framework": "$MEDUSA_VERSION",
	    "@medusajs/cli": "$MEDUSA_VERSION"
	  }
	}
	EOF
	(cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error) > "$T/npm.log" 2>&1 ||
		fail "npm install @medusajs/medusa@$MEDUSA_VERSION (is the npm registry reachable?)" \
		"$(tail -20 "$T/npm.log")"
	touch "$CACHE/.installed-$MEDUSA_VERSION"
	echo "# medusa: installed @medusajs/medusa@$MEDUSA_VERSION from the npm registry in $(since "$t0") s"
fi
# the smallest project Medusa starts from: no admin dashboard, no Redis
cat > "$CACHE/medusa-config.js" <<'EOF'
const { defineConfig } = require("@medusajs/framework/utils")
module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    http: {
      storeCors: "http://127.0.0.1", adminCors: "http://127.0.0.1", authCors: "http://127.0.0.1",
      jwtSecret: process.env.JWT_SECRET, cookieSecret: process.env.COOKIE_SECRET,
    },
  },
  admin: { disable: true },
})
EOF

t0=$(now)
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/invkit-medusa-pg.XXXXXX")
[ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
	> "$T/initdb.log" 2>&1 || fail "initdb" "$(tail -5 "$T/initdb.log")"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-p $PGPORT -k $PGDIR \
	-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
	start > /dev/null 2>&1 || fail "start PostgreSQL on 127.0.0.1:$PGPORT" "$(tail -5 "$PGDIR/log")"
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'CREATE DATABASE medusa' ||
	fail "create the database"
pgtime=$(since "$t0")

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/medusa"
JWT_SECRET=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
COOKIE_SECRET=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export JWT_SECRET COOKIE_SECRET
t0=$(now)
(cd "$CACHE" && node_modules/.bin/medusa db:migrate) > "$T/migrate.log" 2>&1 ||
	fail "medusa db:migrate" "$(tail -20 "$T/migrate.log")"
migtime=$(since "$t0")
# a throwaway admin of a throwaway database; the API key, invkit's secret, never goes in argv
od -An -tx1 -N12 /dev/urandom | tr -d ' \n' > "$T/pass"
(cd "$CACHE" && node_modules/.bin/medusa user -e admin@invkit.test -p "$(cat "$T/pass")") \
	> "$T/user.log" 2>&1 || fail "medusa user" "$(tail -20 "$T/user.log")"

t0=$(now)
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
setsid bash -c 'cd "$1" && exec node_modules/.bin/medusa start --host 127.0.0.1 --port "$2"' _ \
	"$CACHE" "$PORT" > "$T/server.log" 2>&1 &
SRVPID=$!
up=0
for ((i = 0; i < 600; i++)); do
	python3 -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)' \
		"$BASE/health" > /dev/null 2>&1 && { up=1; break; }
	kill -0 "$SRVPID" 2>/dev/null || break
	sleep 0.2
done
[ $up = 1 ] || fail "medusa start on $BASE" "$(tail -20 "$T/server.log")"
srvtime=$(since "$t0")

t0=$(now)
$PY key "$BASE" admin@invkit.test "$T/pass" "$T/key" || fail "create a secret API key"
$PY seed "$BASE" "$T/key" "$T/seed.json" 60 10 || fail "seed the catalogue"
seedtime=$(since "$t0")
echo "# medusa: PostgreSQL ${pgtime} s, migrations ${migtime} s, server start ${srvtime} s, seed ${seedtime} s"
L1=$(jq -r '.locations[0]' "$T/seed.json")
L2=$(jq -r '.locations[1]' "$T/seed.json")

od -An -tx1 -N24 /dev/urandom | tr -d ' \n' | sed 's/^/sk_/' > "$T/badkey"
printf 'pk_%s\n' "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" > "$T/pubkey"
chmod 600 "$T/key" "$T/badkey" "$T/pubkey"
cat > "$T/invkit.conf" <<EOF
[medusa]
type = medusa
base_url = $BASE
token_file = $T/key

[medusa-stocked]
type = medusa
base_url = $BASE/
token_file = $T/key
quantity = stocked

[medusa-bad]
type = medusa
base_url = $BASE
token_file = $T/badkey

[medusa-pk]
type = medusa
base_url = $BASE
token_file = $T/pubkey

[master]
type = file
path = $T/master.csv
EOF

# state FILE: every level through the server's own API (item sku loc stocked reserved available)
state() { $PY state "$BASE" "$T/key" > "$1" || fail "read the levels back"; }
# avail FILE: item loc available, from a state file
avail() { awk -F'\t' -v OFS='\t' '{ print $1, $3, $6 }' "$1"; }
# tsv NDJSON: item loc qty of records
tsv() { jq -r '[.item, .location, .qty] | @tsv' "$1" | sort; }
# count FILE STATUS: results with that status
count() { jq -s --arg s "$2" 'map(select(.status == $s)) | length' "$1"; }
# check NAME EXPECTED ACTUAL: two files equal
check() {
	if cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "$(diff "$2" "$3" | head -10)"; fi
}
# windows FILE: keep the driver's window lines (-v) for the summary
windows() { grep 'window from the read' "$1" >> "$T/windows"; }
# section NAME: say how long the one before took
SECTION= SECT0=
section() { [ -n "$SECTION" ] && echo "# medusa: $SECTION: $(since "$SECT0") s"; SECTION=$1 SECT0=$(now); }

# ---- pull everything ----
section "pull everything"

jq -r '.items[] | .id as $i | .sku as $s | .levels | to_entries[] |
	[$i, $s, .key, (.value.stocked - .value.reserved)] | @tsv' "$T/seed.json" | sort > "$T/seeded"
jq -r '.items[] | .id as $i | .sku as $s | .levels | to_entries[] |
	[$i, $s, .key, .value.stocked] | @tsv' "$T/seed.json" | sort > "$T/seeded-stocked"
run invpull medusa
expect_rc 0 "pull: exit 0"
cp "$T/out" "$T/have.ndjson"
jq -r '[.item, .sku, .location, .qty] | @tsv' "$T/have.ndjson" | sort > "$T/pulled"
check "pull: 1000 levels of 600 items, available quantities exact" "$T/seeded" "$T/pulled"
expect_err_has "pull: summary counts records and items" "medusa: 1000 records, 600 items;"
[ "$(jq -r '"\(.channel) \(.state)"' "$T/have.ndjson" | sort -u)" = "medusa available" ] &&
	ok "pull: channel and state available on every record" ||
	notok "pull: channel and state available on every record"
run invpull medusa-stocked
expect_rc 0 "pull stocked: exit 0"
jq -r '[.item, .sku, .location, .qty] | @tsv' "$T/out" | sort > "$T/pulled"
check "pull stocked: stocked quantities exact" "$T/seeded-stocked" "$T/pulled"
[ "$(jq -r .state "$T/out" | sort -u)" = stocked ] && ok "pull stocked: state stocked" ||
	notok "pull stocked: state stocked"

# ---- push corrections ----
section "push corrections"

state "$T/s0"
jq -c -s 'to_entries[] | .value + (if .key % 7 == 0 then {qty: (.value.qty + 3)}
	elif .key % 11 == 0 and .value.qty > 0 then {qty: (.value.qty - 1)} else {} end)' \
	"$T/have.ndjson" > "$T/want.ndjson"
invdiff -q "$T/want.ndjson" "$T/have.ndjson" > "$T/corr.ndjson"
n=$(wc -l < "$T/corr.ndjson")
STDIN=$T/corr.ndjson run invpush -v medusa
expect_rc 0 "push: exit 0"
windows "$T/err"
cp "$T/out" "$T/res.ndjson"
[ "$(count "$T/res.ndjson" applied)" = "$n" ] && [ "$n" -gt 150 ] &&
	ok "push: all $n corrections applied" ||
	notok "push: all $n corrections applied" "$(jq -c 'select(.status != "applied")' "$T/res.ndjson" | head -3)"
state "$T/s1"
tsv "$T/want.ndjson" > "$T/expected"
avail "$T/s1" | sort > "$T/actual"
check "push: every level shows what was wanted (read back)" "$T/expected" "$T/actual"
check "push: reserved stock untouched" <(cut -f1,3,5 "$T/s0") <(cut -f1,3,5 "$T/s1")

# ---- a second client writes between pull and push ----
section "a second client writes between pull and push"

run invpull medusa
cp "$T/out" "$T/have.ndjson"
jq -c -s 'to_entries[] | .value + (if .key % 5 == 0 then {qty: (.value.qty + 2)} else {} end)' \
	"$T/have.ndjson" > "$T/want.ndjson"
invdiff -q "$T/want.ndjson" "$T/have.ndjson" > "$T/corr.ndjson"
n=$(wc -l < "$T/corr.ndjson")
# 10 levels set by another tool, 10 reserved by orders, among those to correct
jq -r 'select(.from > 0) | [.item, .location] | @tsv' "$T/corr.ndjson" | head -20 > "$T/touched"
head -10 "$T/touched" | while IFS=$'\t' read -r i l; do
	printf '%s\t%s\t%s\n' "$i" "$l" "$(awk -F'\t' -v i="$i" -v l="$l" '$1 == i && $3 == l { print $4 + 4 }' "$T/s1")"
done | $PY set "$BASE" "$T/key"
tail -10 "$T/touched" | sed 's/$/\t1/' | $PY reserve "$BASE" "$T/key"
state "$T/s2"
STDIN=$T/corr.ndjson run invpush medusa
expect_rc 1 "concurrent: exit 1 (not all applied)"
cp "$T/out" "$T/res.ndjson"
jq -r 'select(.status == "conflict") | [.item, .location] | @tsv' "$T/res.ndjson" | sort > "$T/actual"
sort "$T/touched" > "$T/expected"
check "concurrent: exactly the 20 levels changed by the other client are conflicts" \
	"$T/expected" "$T/actual"
[ "$(count "$T/res.ndjson" applied)" = $((n - 20)) ] && ok "concurrent: the other $((n - 20)) applied" ||
	notok "concurrent: the other $((n - 20)) applied"
expect_out_has "concurrent: the conflict says why" '"error":"quantity moved since it was read: '
state "$T/s3"
check "concurrent: the other client's writes and orders are kept" \
	<(awk 'NR == FNR { t[$1 "\t" $2] = 1; next } ($1 "\t" $3) in t' "$T/touched" "$T/s2") \
	<(awk 'NR == FNR { t[$1 "\t" $2] = 1; next } ($1 "\t" $3) in t' "$T/touched" "$T/s3")
tsv "$T/want.ndjson" | awk 'NR == FNR { t[$1 "\t" $2] = 1; next } !(($1 "\t" $2) in t)' \
	"$T/touched" - > "$T/expected"
avail "$T/s3" | sort | awk 'NR == FNR { t[$1 "\t" $2] = 1; next } !(($1 "\t" $2) in t)' \
	"$T/touched" - > "$T/actual"
check "concurrent: every other level shows what was wanted" "$T/expected" "$T/actual"

# ---- a second client places orders while the push runs ----
section "a second client places orders while the push runs"

run invpull medusa
cp "$T/out" "$T/have.ndjson"
jq -c -s 'to_entries[] | .value + (if .key % 3 == 0 and .value.qty >= 5 then
	{qty: (.value.qty + 1 + .key % 4)} else {} end)' "$T/have.ndjson" > "$T/want.ndjson"
invdiff -q "$T/want.ndjson" "$T/have.ndjson" > "$T/corr.ndjson"
n=$(wc -l < "$T/corr.ndjson")
jq -r '[.item, .location] | @tsv' "$T/corr.ndjson" > "$T/racing"
state "$T/s4"
$PY race "$BASE" "$T/key" "$T/race.log" 60 < "$T/racing" &
RACEPID=$!
sleep 0.5
STDIN=$T/corr.ndjson run invpush -v -b 20 medusa
kill "$RACEPID" 2>/dev/null
wait "$RACEPID" 2>/dev/null
RACEPID=
windows "$T/err"
cp "$T/out" "$T/res.ndjson"
state "$T/s5"
nres=$(wc -l < "$T/race.log")
nconf=$(count "$T/res.ndjson" conflict)
nmoved=$(jq -s 'map(select(.status == "conflict" and (.error | startswith("written")))) | length' "$T/res.ndjson")
echo "# medusa: $nres orders placed during a push of $n corrections in batches of 20:" \
	"$nconf conflicts ($nmoved written and moved), $(count "$T/res.ndjson" applied) applied"
[ "$nres" -ge 20 ] && [ "$nconf" -ge 1 ] && ok "race: orders placed during the push, conflicts reported" ||
	notok "race: orders placed during the push, conflicts reported" "$nres orders, $nconf conflicts"
# reserved: before + the orders placed; stocked: before + delta where written, else before
sort "$T/race.log" | uniq -c | awk '{ print $2 "\t" $3 "\t" $1 }' > "$T/orders"
jq -r '[.item, .location, (if .status == "applied" or (.status == "conflict" and
	(.error | startswith("written"))) then .delta else 0 end)] | @tsv' "$T/res.ndjson" > "$T/written"
awk -F'\t' -v OFS='\t' 'FILENAME == ARGV[1] { o[$1 "\t" $2] = $3; next }
	FILENAME == ARGV[2] { w[$1 "\t" $2] = $3; next }
	{ k = $1 "\t" $3; print $1, $3, $4 + w[k], $5 + o[k] }' "$T/orders" "$T/written" "$T/s4" > "$T/expected"
awk -F'\t' -v OFS='\t' '{ print $1, $3, $4, $5 }' "$T/s5" > "$T/actual"
check "race: no order erased, stocked moved only where written" "$T/expected" "$T/actual"
[ "$(jq -s 'map(select(.status != "applied" and .status != "conflict")) | length' "$T/res.ndjson")" = 0 ] &&
	ok "race: every correction applied or conflict" || notok "race: every correction applied or conflict"

# ---- bad keys ----
section "bad keys"

key=$(cat "$T/badkey")
b64=$(printf '%s:' "$key" | base64 -w0)
run invpull medusa-bad
expect_rc 77 "bad key: pull exits 77"
expect_empty_out "bad key: pull writes nothing"
expect_err "bad key: the message names the request and the refusal" <<EOF
invpull: [medusa-bad]: GET /admin/inventory-items: HTTP 401: Unauthorized (check the secret API key (sk_...) in token_file and that its user may manage inventory)
EOF
head -1 "$T/corr.ndjson" > "$T/one.ndjson"
STDIN=$T/one.ndjson run invpush medusa-bad
expect_rc 77 "bad key: push exits 77"
expect_err_has "bad key: push says the platform refused" "HTTP 401: Unauthorized"
if grep -rqF -e "$key" -e "$b64" "$T/out" "$T/err" "$T/state"; then
	notok "bad key: the key is never printed or journalled"
else
	ok "bad key: the key is never printed or journalled"
fi
run invpull medusa-pk
expect_rc 78 "publishable key: refused before any request (78)"
expect_err_has "publishable key: says a secret key is needed" "the secret must be a Medusa secret API key (sk_...)"
if grep -qF "$(cat "$T/pubkey")" "$T/err"; then notok "publishable key: never printed"; else ok "publishable key: never printed"; fi

# ---- oversize batches ----
section "oversize batches"

coproc PROXY { exec $PY proxy "$BASE" 32768; }
PROXYPID=$PROXY_PID
read -r _ PPORT <&"${PROXY[0]}"
printf '\n[medusa-proxy]\ntype = medusa\nbase_url = http://127.0.0.1:%s\ntoken_file = %s\n' \
	"$PPORT" "$T/key" >> "$T/invkit.conf"
run invpull medusa-proxy
cp "$T/out" "$T/have.ndjson"
jq -c '.qty += 2' "$T/have.ndjson" > "$T/want.ndjson"
invdiff -q "$T/want.ndjson" "$T/have.ndjson" > "$T/corr.ndjson"
n=$(wc -l < "$T/corr.ndjson")
STDIN=$T/corr.ndjson run invpush -v medusa-proxy
expect_rc 0 "413: exit 0"
expect_err_has "413: the proxy refused the first call" "POST /admin/inventory-items/location-levels/batch -> 413"
posts=$(grep -c 'POST /admin/inventory-items/location-levels/batch -> 200' "$T/err")
[ "$posts" -ge 5 ] && ok "413: split into $posts calls under 32 KiB" || notok "413: split into smaller calls" "$posts"
[ "$(count "$T/out" applied)" = "$n" ] && ok "413: all $n applied" || notok "413: all $n applied"
state "$T/s6"
tsv "$T/want.ndjson" > "$T/expected"
avail "$T/s6" | sort > "$T/actual"
check "413: every level shows what was wanted" "$T/expected" "$T/actual"
run invpull medusa
cp "$T/out" "$T/have.ndjson"
jq -c 'if .qty > 0 then .qty -= 1 else . end' "$T/have.ndjson" > "$T/want.ndjson"
invdiff -q "$T/want.ndjson" "$T/have.ndjson" > "$T/corr.ndjson"
n=$(wc -l < "$T/corr.ndjson")
STDIN=$T/corr.ndjson run invpush -v medusa
expect_rc 0 "sized: exit 0"
windows "$T/err"
batches=$(( (n + 999) / 1000 ))
[ "$(grep -c 'POST /admin/inventory-items/location-levels/batch -> 200' "$T/err")" = "$batches" ] &&
	! grep -q ' -> 413' "$T/err" &&
	ok "sized: $n corrections in $batches calls of up to 1000, no 413 from the server's 2 MB limit" ||
	notok "sized: one call per 1000 corrections, no 413" "$(grep ' -> ' "$T/err" | sort | uniq -c)"
[ "$(count "$T/out" applied)" = "$n" ] && ok "sized: all $n applied" || notok "sized: all $n applied"
kill "$PROXYPID" 2>/dev/null
PROXYPID=

# ---- the pipeline from a file master ----
section "the pipeline from a file master"

run invpull medusa
cp "$T/out" "$T/have.ndjson"
state "$T/s7"
# the master: every level by SKU, 1 in 9 changed, and 5 SKUs stocked at a second location
{
	echo sku,location,qty
	jq -r -s 'to_entries[] | [.value.sku, .value.location,
		(if .key % 9 == 0 then .value.qty + 2 else .value.qty end)] | @csv' "$T/have.ndjson"
	jq -r --arg l "$L2" '.items | map(select(.levels[$l] == null)) | .[:5][] |
		[.sku, $l, 7] | @csv' "$T/seed.json"
} > "$T/master.csv"
run bash -o pipefail -c 'invpull -q master | invdiff - <(invpull -q medusa) | invpush -v medusa'
expect_rc 0 "pipeline: invpull master | invdiff - <(invpull medusa) | invpush medusa exits 0"
windows "$T/err"
nch=$(jq -s 'to_entries | map(select(.key % 9 == 0)) | length' "$T/have.ndjson")
[ "$(count "$T/out" applied)" = $((nch + 5)) ] && ok "pipeline: $nch changes and 5 new levels applied" ||
	notok "pipeline: $nch changes and 5 new levels applied" "$(count "$T/out" applied) applied"
[ "$(jq -s 'map(select(.from == null and .status == "applied")) | length' "$T/out")" = 5 ] &&
	ok "pipeline: the 5 SKUs new at the location were created from their SKU" ||
	notok "pipeline: the 5 SKUs new at the location were created from their SKU"
run bash -o pipefail -c 'invpull -q master | invdiff - <(invpull -q medusa)'
expect_rc 0 "pipeline: a second diff runs"
expect_empty_out "pipeline: nothing left to correct"
state "$T/s8"
jq -r --arg l "$L2" '.items | map(select(.levels[$l] == null)) | .[:5][] |
	[.id, .sku, $l, 7, 0, 7] | @tsv' "$T/seed.json" | sort > "$T/expected"
awk -F'\t' -v l="$L2" 'NR == FNR { t[$1] = 1; next } $3 == l && ($1 in t)' \
	<(cut -f1 "$T/expected") "$T/s8" > "$T/actual"
check "pipeline: the new levels hold 7, nothing reserved (read back)" "$T/expected" "$T/actual"

# ---- the window, as measured ----
section "the window, as measured"
# ten calls of one level each, next to those of 20, about 200 and 1000 above
run invpull medusa
jq -c 'select(.qty > 0)' "$T/out" | head -10 > "$T/have.ndjson"
jq -c '.qty += 1' "$T/have.ndjson" > "$T/want.ndjson"
invdiff -q "$T/want.ndjson" "$T/have.ndjson" > "$T/corr.ndjson"
STDIN=$T/corr.ndjson run invpush -v -b 1 medusa
expect_rc 0 "window: ten one-level pushes applied"
windows "$T/err"
if [ -s "$T/windows" ]; then
	sed -E 's/.*: ([0-9]+) written in .* answer ([0-9.]+) s .*/\1 \2/' "$T/windows" | sort -n |
	awk 'BEGIN { split("1 level,2 to 25 levels,26 to 300 levels,301 to 1000 levels", name, ",") }
		{ b = $1 < 2 ? 1 : $1 <= 25 ? 2 : $1 <= 300 ? 3 : 4; c[b]++; s[b] += $2; if ($2 > m[b]) m[b] = $2 }
		END { for (b = 1; b <= 4; b++) if (c[b]) printf "# medusa: window, %s a call: " \
			"%d calls, mean %.3f s, max %.3f s\n", name[b], c[b], s[b] / c[b], m[b] }'
fi
