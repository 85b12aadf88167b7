# Secrets never leak.  The whole pipeline runs against tests/sim with
# credentials made up for this run (a Shopify token shpat_SECRET_<hex>, a
# WooCommerce consumer key and a secret holding + / = & so that its
# URL-encoded form differs): through 0600 token files and through
# INVKIT_TOKEN_<NAME>; WooCommerce with Basic auth and with the query-string
# fallback.  Every tool runs with -v: invpull, invmap (--reject), invdiff
# (--reject), invpush (dry run, --reject, journal, a refused token, a slow
# push killed with kill -9 and --resume), scripts/invsync (dry run and run),
# errors that echo the credentials back (the driver must scrub them) and
# config errors about the token files.  Then the credentials - raw, their
# hex cores (which catch any truncated or escaped copy), the Basic auth
# base64 and the URL-encoded forms - must be in no file under the test
# folder: stdout, stderr, results, reject files, journals, the state folder,
# invsync's books.  A sampler reads /proc/*/cmdline all along (every 10 ms)
# and must have seen the slow push and a canary, but no credential.  The
# grep proves it can fail: it must find each form in a canary file.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export HOME=$T XDG_STATE_HOME=$T/state TMPDIR=$T/tmp
mkdir -p tmp secret out
chmod 700 secret

start_sim --sample 40 --seed 9 --scale 20
pid= spid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; : > "$T/stop"; [ -n "$spid" ] && wait "$spid"
	kill "$SIMPID" 2> /dev/null; wait "$SIMPID" 2> /dev/null; rm -rf "$T"' EXIT

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
H1=$(hex 16) H2=$(hex 16) H3=$(hex 12) H4=$(hex 12) H5=$(hex 12)
export TOK=shpat_SECRET_$H1 BADTOK=shpat_SECRET_$H2 CK=ck_SECRET_$H3
export CS="cs_SECRET_$H4+/=&" BADCS=cs_SECRET_$H5
b64() { printf '%s' "$1" | base64 -w0 | tr -d '='; }
pct() { python3 -c 'import os, urllib.parse as u; print(u.quote(os.environ["S"], safe="-_.~"))'; }
CSPCT=$(S=$CS pct)
# every form a credential could take: the first 12 digits of each hex core
# catch raw, truncated, JSON- and URL-escaped copies; base64 is checked
# whole (less its padding), for each header a driver could build
{
	for h in "$H1" "$H2" "$H3" "$H4" "$H5"; do printf '%s\n' "${h%????????????}"; done
	printf '%s\n' "$CSPCT"
	b64 "$CK:$CS"; echo; b64 "$CK:$BADCS"; echo; b64 "$TOK"; echo; b64 "$BADTOK"; echo
} > secret/patterns
[ "$CSPCT" != "$CS" ] && case $CSPCT in *%2B*%2F*%3D*%26*) true ;; *) false ;; esac &&
	ok "the secret's URL-encoded form differs from it ($CSPCT)" ||
	notok "the secret's URL-encoded form differs from it" "$CSPCT"

# leaks DIR...: every file under DIR (secret/ aside) holding a credential
leaks() {
	grep -rlF -f "$T/secret/patterns" --exclude-dir=secret "$@" 2> /dev/null
}

# the /proc sampler: every distinct command line seen, until $T/stop exists
python3 -c '
import os, sys, time
out, stop, seen = open(sys.argv[1], "a"), sys.argv[2], set()
while True:
    last = os.path.exists(stop)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                c = f.read()
        except OSError:
            continue
        if c and c not in seen:
            seen.add(c)
            out.write(c.replace(b"\0", b" ").decode("utf-8", "replace") + "\n")
            out.flush()
    if last:
        break
    time.sleep(0.01)
' "$T/out/cmdlines" "$T/stop" &
spid=$!
CANARY=canary-$(hex 8)
poll test -s out/cmdlines || notok "the sampler started"
sh -c 'sleep 1' "$CANARY" &

# ctl_file METHOD PATH FILE: a control request whose body is FILE (it holds
# credentials: never in an argv)
ctl_file() {
	python3 -c 'import sys, urllib.request as u
r = u.Request(sys.argv[1], data=open(sys.argv[3], "rb").read(), method=sys.argv[2])
sys.stdout.write(u.urlopen(r).read().decode())' "http://127.0.0.1:$PORT/_sim/$2" "$1" "$3"
}
# the shop and the site accept only the credentials of this run
ctl GET state | jq '.shopify.demo.tokens = [env.TOK] |
	.woocommerce.demo.keys = [{consumer_key: env.CK, consumer_secret: env.CS,
	permissions: "read_write"}]' > secret/state.json
ctl_file POST 'state?initial=1' secret/state.json > /dev/null
# (the pattern through a file descriptor: on grep's command line, the
# sampler would see it)
grep -qF -f <(printf '%s\n' "$H1") secret/state.json && ok "the simulator's state holds this run's credentials" ||
	notok "the simulator's state holds this run's credentials"

printf '%s\n' "$TOK" > secret/shop.token
printf '%s\n' "$BADTOK" > secret/bad.token
printf '%s:%s\n' "$CK" "$CS" > secret/woo.token
printf '%s:%s\n' "$CK" "$BADCS" > secret/woobad.token
printf 'shpat_SECRET_%s %s\n' "$H1" "$H2" > secret/space.token
printf '%s\n' "$TOK" > secret/open.token
chmod 600 secret/*.token
chmod 644 secret/open.token
export INVKIT_TOKEN_SHOP_ENV=$TOK INVKIT_TOKEN_WOOQ="$CK:$CS"
S=http://127.0.0.1:$PORT
cat > invkit.conf <<X
[wms]
type = file
path = sync.ndjson
master = yes

[shop]
type = shopify
base_url = $S/shopify/demo
token_file = $T/secret/shop.token

[shop-env]
type = shopify
base_url = $S/shopify/demo

[bad]
type = shopify
base_url = $S/shopify/demo
token_file = $T/secret/bad.token

[woo]
type = woocommerce
base_url = $S/woo/demo
token_file = $T/secret/woo.token

[wooq]
type = woocommerce
base_url = $S/woo/demo
auth = query

[woobad]
type = woocommerce
base_url = $S/woo/demo
token_file = $T/secret/woobad.token

[space]
type = shopify
base_url = $S/shopify/demo
token_file = $T/secret/space.token

[open]
type = shopify
base_url = $S/shopify/demo
token_file = $T/secret/open.token
X
BAD='{"sku":"X","location":"","qty":"many"}'

# ---- Shopify: pull, map, diff, push ----
invpull -v shop > out/shop.have 2> out/shop.pull.err
rc=$?
expect_rc 0 "shopify: invpull -v (token_file): exit 0"
n=$(wc -l < out/shop.have)
[ "$n" -gt 40 ] && ok "shopify: $n levels pulled" || notok "shopify: levels pulled" "$n"
grep -q 'POST /shopify/demo/admin/api/[0-9-]*/graphql.json -> 200$' out/shop.pull.err &&
	ok "shopify: -v logs each request" || notok "shopify: -v logs each request" "$(head -3 out/shop.pull.err)"
invpull -v shop-env > out/shopenv.have 2> out/shopenv.pull.err
rc=$?
expect_rc 0 "shopify: invpull -v (INVKIT_TOKEN_SHOP_ENV): exit 0"
cmp -s <(jq -c '[.item, .location, .qty]' out/shop.have) \
	<(jq -c '[.item, .location, .qty]' out/shopenv.have) && ok "shopify: the same levels through the variable" ||
	notok "shopify: the same levels through the variable"

{ cat out/shop.have; echo "$BAD"; } > out/shop.have+bad
invmap -v -u pass --reject out/map.rej out/shop.have+bad > out/shop.mapped 2> out/map.err
rc=$?
expect_rc 0 "invmap -v --reject: exit 0"
[ "$(wc -l < out/map.rej)" -eq 1 ] && ok "invmap: one record rejected" || notok "invmap: one record rejected"
jq -c '{sku, location, qty: (.qty + 1 + .qty % 3)}' out/shop.have > master.ndjson
invdiff -v --reject out/diff.rej master.ndjson out/shop.have+bad > out/shop.corr 2> out/diff.err
rc=$?
expect_rc 0 "invdiff -v --reject: exit 0"
[ "$(wc -l < out/shop.corr)" -eq "$n" ] && [ "$(wc -l < out/diff.rej)" -eq 1 ] &&
	ok "invdiff: $n corrections, one record rejected" ||
	notok "invdiff: $n corrections, one record rejected" "$(wc -l < out/shop.corr)"

invpush -v -n shop < out/shop.corr > out/shop.dry 2> out/shop.dry.err
rc=$?
expect_rc 0 "shopify: invpush -v --dry-run: exit 0"
[ "$(jq -r .status out/shop.dry | sort -u)" = planned ] && ok "shopify: dry run: all planned" ||
	notok "shopify: dry run: all planned"
{ cat out/shop.corr; echo "$BAD"; } > out/shop.corr+bad
invpush -v --reject out/push.rej shop < out/shop.corr+bad > out/shop.push 2> out/shop.push.err
rc=$?
expect_rc 0 "shopify: invpush -v --reject: exit 0"
[ "$(jq -r .status out/shop.push | sort | uniq -c | tr -s ' ')" = " $n applied" ] &&
	[ "$(wc -l < out/push.rej)" -eq 1 ] && ok "shopify: $n applied, one correction rejected" ||
	notok "shopify: $n applied, one correction rejected" "$(jq -r .status out/shop.push | sort | uniq -c)"
ls state/invkit/journal/shop/*.ndjson > /dev/null 2>&1 && ok "shopify: a journal was written" ||
	notok "shopify: a journal was written"

# a refused token: 77, said so
invpull -v bad > out/bad.pull 2> out/bad.pull.err
rc=$?
expect_rc 77 "shopify: refused token: invpull exit 77"
invpush -v bad < out/shop.corr > out/bad.push 2> out/bad.push.err
rc=$?
expect_rc 77 "shopify: refused token: invpush exit 77"
grep -q 'access token refused (HTTP 401)' out/bad.push.err && ok "shopify: refused token: says why" ||
	notok "shopify: refused token: says why" "$(cat out/bad.push.err)"

# an answer that echoes the token back (a misbehaving proxy) is not shown
jq -n '{rules: [{kind: "429", retry_after: 0, next: 20, match: {platform: "shopify"},
	body: {errors: [{message: ("bad token " + env.TOK), extensions: {code: "ACCESS_DENIED"}}]}}]}' \
	> secret/echo.json
ctl_file POST faults secret/echo.json > /dev/null
invpull -v shop > out/echo.pull 2> out/echo.pull.err
rc=$?
expect_rc 75 "shopify: an answer echoing the token: exit 75"
ctl DELETE faults > /dev/null

# ---- a slow push killed with kill -9, then resumed (the sampler watches) ----
jq -c '{sku, location, qty: (.qty + 5)}' out/shop.have > master2.ndjson
invpull -q shop | invdiff -q master2.ndjson - > out/shop.corr2
ctl POST log/clear '{}' > /dev/null
ctl POST faults '[{"kind":"slow","ms":400,"phase":"after","match":{"write":true}}]' > /dev/null
invpush -v -b 2 shop < out/shop.corr2 > out/killed.out 2> out/killed.err &
pid=$!
poll at_least 8 || notok "slow push: four batches written in time" "$(nwrites) writes"
grep -q "invpush -v -b 2 shop" out/cmdlines && ok "sampler: saw the slow push's command line" ||
	notok "sampler: saw the slow push's command line"
{ kill -9 "$pid"; wait "$pid"; } 2> /dev/null
k=$?
pid=
[ "$k" -eq 137 ] && ok "slow push: killed with kill -9" || notok "slow push: killed with kill -9" "exit $k"
ctl DELETE faults > /dev/null
J=$(grep -L '"finished"' state/invkit/journal/shop/*.ndjson)
rid=$(basename "$J" .ndjson)
w=$(nwrites)
[ -n "$J" ] && [ "$w" -ge 8 ] && [ "$w" -lt "$n" ] && ok "slow push: killed mid-run ($w of $n written)" ||
	notok "slow push: killed mid-run" "$w writes; journal '$J'"
invpush -v --resume "$rid" shop > out/resume.out 2> out/resume.err
rc=$?
expect_rc 0 "invpush -v --resume: exit 0"
[ "$(jq -r .status out/resume.out | sort | uniq -c | tr -s ' ')" = " $n applied" ] &&
	ok "resume: all $n applied" || notok "resume: all $n applied" "$(jq -r .status out/resume.out | sort | uniq -c)"

# ---- scripts/invsync: dry run and run ----
jq -c '{sku, location, qty: (.qty + 7)}' out/shop.have > sync.ndjson
invsync -v -n shop > out/sync.dry 2> out/sync.dry.err
rc=$?
expect_rc 0 "invsync -v -n: exit 0"
invsync -v shop > out/sync.out 2> out/sync.err
rc=$?
expect_rc 0 "invsync -v: exit 0"
grep -q "^invsync: shop: $n corrections: $n applied" out/sync.err && ok "invsync: $n applied" ||
	notok "invsync: $n applied" "$(tail -3 out/sync.err)"

# ---- WooCommerce: Basic auth (token_file) and query auth (variable) ----
invpull -v woo > out/woo.have 2> out/woo.pull.err
rc=$?
expect_rc 0 "woo: invpull -v (Basic, token_file): exit 0"
w=$(wc -l < out/woo.have)
[ "$w" -gt 30 ] && ok "woo: $w items pulled" || notok "woo: items pulled" "$w"
invpull -v wooq > out/wooq.have 2> out/wooq.pull.err
rc=$?
expect_rc 0 "woo: invpull -v (query auth, INVKIT_TOKEN_WOOQ): exit 0"
cmp -s <(jq -c '[.item, .qty]' out/woo.have) <(jq -c '[.item, .qty]' out/wooq.have) && ok "woo: the same items with query auth" ||
	notok "woo: the same items with query auth"
grep -q '^invpull: GET /woo/demo/wp-json/wc/v3/products -> 200$' out/wooq.pull.err &&
	! grep -q '?' out/wooq.pull.err && ok "woo: -v logs the path, never the query" ||
	notok "woo: -v logs the path, never the query" "$(head -3 out/wooq.pull.err)"
jq -c '{sku, location, qty: (.qty + 2)}' out/woo.have > wmaster.ndjson
invdiff -v wmaster.ndjson out/woo.have > out/woo.corr 2> out/woo.diff.err
invpush -v -n woo < out/woo.corr > out/woo.dry 2> out/woo.dry.err
rc=$?
expect_rc 0 "woo: invpush -v --dry-run: exit 0"
{ cat out/woo.corr; echo "$BAD"; } > out/woo.corr+bad
invpush -v --reject out/wpush.rej woo < out/woo.corr+bad > out/woo.push 2> out/woo.push.err
rc=$?
expect_rc 0 "woo: invpush -v --reject (Basic): exit 0"
[ "$(jq -r .status out/woo.push | sort -u)" = applied ] && ok "woo: all applied" ||
	notok "woo: all applied" "$(jq -r .status out/woo.push | sort | uniq -c)"
jq -c '{sku, location, qty: (.qty + 4)}' out/woo.have > wmaster2.ndjson
invpull -q wooq | invdiff -q wmaster2.ndjson - > out/wooq.corr
invpush -v wooq < out/wooq.corr > out/wooq.push 2> out/wooq.push.err
rc=$?
expect_rc 0 "woo: invpush -v (query auth): exit 0"
invpush -v woobad < out/wooq.corr > out/woobad.push 2> out/woobad.push.err
rc=$?
expect_rc 77 "woo: refused secret: invpush exit 77"
grep -q 'Consumer secret is invalid' out/woobad.push.err && ok "woo: refused secret: says why" ||
	notok "woo: refused secret: says why" "$(head -3 out/woobad.push.err)"

# answers that echo the credentials, raw, base64 and URL-encoded: scrubbed
CSPCT=$CSPCT B64=$(b64 "$CK:$CS") jq -n '{rules: [{kind: "429", retry_after: 0,
	match: {platform: "woo"}, body: {code: "rest_forbidden", message:
	("denied: /products?consumer_key=" + env.CK + "&consumer_secret=" + env.CSPCT +
	" secret " + env.CS + " basic " + env.B64)}}]}' > secret/echo.json
ctl_file POST faults secret/echo.json > /dev/null
invpull -v wooq > out/wecho.pull 2> out/wecho.pull.err
rc=$?
expect_rc 75 "woo: an answer echoing the credentials: invpull exit 75"
grep -qF 'rest_forbidden: denied: /products?consumer_key=[REDACTED]&consumer_secret=[REDACTED] secret [REDACTED] basic [REDACTED]' \
	out/wecho.pull.err && ok "woo: the platform's words are shown, the credentials scrubbed" ||
	notok "woo: the platform's words are shown, the credentials scrubbed" "$(tail -1 out/wecho.pull.err)"
invpush -v woo < out/wooq.corr > out/wecho.push 2> out/wecho.push.err
rc=$?
expect_rc 75 "woo: a push whose answers echo the credentials: exit 75"
grep -q 'rest_forbidden' out/wecho.push && ok "woo: the results carry the platform's words" ||
	notok "woo: the results carry the platform's words" "$(head -2 out/wecho.push)"
ctl DELETE faults > /dev/null

# ---- config errors about the secret name the file, never its content ----
invpull -v space > out/space.out 2> out/space.err
rc=$?
expect_rc 78 "a token with a space: exit 78"
grep -q 'the access token holds a space or control character' out/space.err &&
	ok "a token with a space: says why" || notok "a token with a space: says why" "$(cat out/space.err)"
invpull -v open > out/open.out 2> out/open.err
rc=$?
expect_rc 78 "a token_file readable by others: exit 78"
grep -q "token_file $T/secret/open.token is readable by others (mode 644)" out/open.err &&
	ok "a token_file readable by others: says why" || notok "a token_file readable by others: says why" "$(cat out/open.err)"

# ---- the proof ----
: > "$T/stop"
wait "$spid"
spid=
grep -qF "$CANARY" out/cmdlines && ok "sampler: saw the canary's command line" ||
	notok "sampler: saw the canary's command line"
grep -q "/invsync -v shop" out/cmdlines && ok "sampler: saw invsync" || notok "sampler: saw invsync"
[ "$(grep -cF -f secret/patterns out/cmdlines)" -eq 0 ] &&
	ok "no credential in any /proc/PID/cmdline ($(wc -l < out/cmdlines) seen)" ||
	notok "no credential in any /proc/PID/cmdline" "$(grep -F -f secret/patterns out/cmdlines | head -3)"
# the grep can fail: it finds each form in a canary file
mkdir canary
missed=
for f in "$TOK" "$CS" "$CSPCT" "$(b64 "$CK:$CS")" "$(b64 "$TOK")" "${CS#cs_SECRET_}" \
	"$(printf '%s' "$CS" | cut -c1-25)"; do
	printf 'x %s y\n' "$f" > canary/c
	[ "$(leaks canary)" = canary/c ] || missed="$missed $f"
done
[ -z "$missed" ] && ok "self-check: the grep finds every form of the credentials in a file" ||
	notok "self-check: the grep finds every form of the credentials in a file" "missed:$missed"
rm -rf canary
nfiles=$(find . -path ./secret -prune -o -type f -print | wc -l)
[ -d state/invkit/journal ] && [ -d state/invkit/sync ] && [ "$nfiles" -gt 50 ] &&
	ok "the state folder holds journals and invsync's books ($nfiles files in all)" ||
	notok "the state folder holds journals and invsync's books" "$(find state | head)"
l=$(leaks .)
[ -z "$l" ] && ok "no credential in any output, log, result, reject file, journal or state file" ||
	notok "no credential in any output, log, result, reject file, journal or state file" "$l"
