# Safety rules of DESIGN.md that no other test pins down:
#   - files: with umask 000, every --reject file (invmap, invdiff, invpush,
#     invcount import/plan/report; an existing 0666 one too) is 0600, and
#     so are invpush's journals (default place and -j) and the state files
#     (lock, last feed size), in folders created 0700; invsync's lock, books
#     and journals as well;
#   - TLS: a self-signed https server (a TLS proxy in front of tests/sim)
#     is refused with 69 and a clear message at once (no retry, nothing
#     sent), whatever the config says (insecure = yes, ssl_verify = no, ...)
#     or the environment (CURL_CA_BUNDLE, SSL_CERT_FILE, ~/.curlrc); a
#     certificate for another host is refused even when trusted; ca_file
#     = the certificate makes the same pulls work, byte for byte; the
#     source never turns verification off;
#   - plain http:// only to loopback: other hosts, look-alikes and other
#     schemes are refused with 78 and the host named;
#   - bounds: an answer over 64 MiB is cut and refused with 69 (no retry),
#     JSON nested 100000 deep with 65 (both drivers); a record nested deeper
#     than 64 with 65.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export HOME=$T XDG_STATE_HOME=$T/state TMPDIR=$T/tmp
mkdir -p tmp

mode() { stat -c %a "$1" 2> /dev/null || echo missing; }
# modes WANT FILE...: each FILE has mode WANT
modes() {
	local want=$1 f bad=
	shift
	for f in "$@"; do [ "$(mode "$f")" = "$want" ] || bad="$bad $f:$(mode "$f")"; done
	[ -z "$bad" ] && return 0
	echo "$bad"
	return 1
}

# ---- files: 0600 in 0700 folders, whatever the umask ----
umask 000
cat > invkit.conf <<'X'
[wms]
type = file
path = master.csv
master = yes

[shop]
type = file
path = shop.ndjson
X
printf 'sku,location,qty\nA,w1,10\nB,w1,1\nC,w1,4\n' > master.csv
printf '{"sku":"A","location":"w1","qty":3}\n{"sku":"B","location":"w1","qty":1}\n' > shop.ndjson
BAD='{"sku":"X","location":"","qty":"many"}'
{ cat shop.ndjson; echo "$BAD"; } > have+bad.ndjson

invmap -q -u pass --reject map.rej have+bad.ndjson > /dev/null 2>&1
m=$(modes 600 map.rej) && ok "invmap --reject: a new file is 0600" || notok "invmap --reject: a new file is 0600" "$m"
: > diff.rej
chmod 666 diff.rej
invdiff -q --all --reject diff.rej master.csv have+bad.ndjson > corr.ndjson 2> /dev/null
m=$(modes 600 diff.rej) && [ -s diff.rej ] && ok "invdiff --reject: an existing 0666 file becomes 0600" ||
	notok "invdiff --reject: an existing 0666 file becomes 0600" "$m"
{ cat corr.ndjson; echo "$BAD"; } > corr+bad.ndjson
run invpush -q --reject push.rej shop corr+bad.ndjson
expect_rc 0 "invpush --reject: exit 0"
m=$(modes 600 push.rej) && [ -s push.rej ] && ok "invpush --reject: 0600" || notok "invpush --reject: 0600" "$m"
J=$(echo state/invkit/journal/shop/*.ndjson)
m=$(modes 700 state state/invkit state/invkit/journal state/invkit/journal/shop state/invkit/channel) &&
	ok "the state folders are 0700" || notok "the state folders are 0700" "$m"
m=$(modes 600 "$J" state/invkit/channel/shop.lock state/invkit/channel/shop.last) &&
	ok "the journal, the lock and the last feed size are 0600" ||
	notok "the journal, the lock and the last feed size are 0600" "$m"
run invpush -q -j a/b/run.journal shop corr.ndjson
expect_rc 0 "invpush -j: exit 0"
m=$(modes 700 a a/b) && m=$(modes 600 a/b/run.journal) && ok "invpush -j: 0600 in folders made 0700" ||
	notok "invpush -j: 0600 in folders made 0700" "$m"

D=$DATA/invcount
run invcount import --reject imp.rej "$D/bad-rows.csv"
[ -s imp.rej ] && m=$(modes 600 imp.rej) && ok "invcount import --reject: 0600" ||
	notok "invcount import --reject: 0600" "rc $rc $m $(head -2 "$T/err")"
{ cat "$D/book.ndjson"; echo "$BAD"; } > book+bad.ndjson
run invcount plan -q --reject plan.rej book+bad.ndjson
[ -s plan.rej ] && m=$(modes 600 plan.rej) && ok "invcount plan --reject: 0600" ||
	notok "invcount plan --reject: 0600" "rc $rc $m $(head -2 "$T/err")"
{ cat "$D/diffs-hand.ndjson"; echo '{"sku":"X","location":"W","status":7}'; } > diffs+bad.ndjson
run invcount report -q --reject report.rej diffs+bad.ndjson
[ -s report.rej ] && m=$(modes 600 report.rej) && ok "invcount report --reject: 0600" ||
	notok "invcount report --reject: 0600" "rc $rc $m $(head -2 "$T/err")"

printf '{"sku":"A","location":"w1","qty":3}\n{"sku":"B","location":"w1","qty":1}\n' > shop.ndjson
run invsync
expect_rc 0 "invsync (file master, file channel): exit 0"
f=$(find state/invkit/sync state/invkit/invsync.lock -type f)
d=$(find state/invkit/sync -type d)
[ -n "$f" ] && m=$(modes 600 $f) && m=$(modes 700 $d) && ok "invsync: its lock and books are 0600 in 0700 folders" ||
	notok "invsync: its lock and books are 0600 in 0700 folders" "$m"
umask 022

# ---- the simulator behind a TLS proxy with a self-signed certificate ----
start_sim --sample 8 --seed 2
printf 'shpat_sim_demo\n' > shop.token
printf 'ck_sim_demo:cs_sim_demo\n' > woo.token
chmod 600 shop.token woo.token

if ! command -v openssl > /dev/null; then
	ok "TLS checks # SKIP no openssl to make a certificate"
else
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout key.pem -out cert.pem > /dev/null 2>&1
# tlsproxy.py CERT KEY PORT LOG: TLS on a free loopback port (printed first)
# in front of PORT; one line in LOG per connection: "refused" when the
# handshake failed, else "handshake"
cat > tlsproxy.py <<'X'
import socket, ssl, sys, threading
cert, key, target, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
lock = threading.Lock()
def note(w):
    with lock, open(log, "a") as f:
        f.write(w + "\n")
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        note("refused")
        c.close()
        return
    note("handshake")
    u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pump, args=(u, t), daemon=True).start()
    pump(t, u)
print("port", ls.getsockname()[1], flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
X
python3 tlsproxy.py cert.pem key.pem "$PORT" "$T/tls.log" > tls.port &
PROXY=$!
trap 'kill "$PROXY" "$SIMPID" 2> /dev/null; wait "$PROXY" "$SIMPID" 2> /dev/null; rm -rf "$T"' EXIT
poll test -s tls.port || notok "the TLS proxy started"
TP=$(awk '{print $2}' tls.port)
cat > invkit.conf <<X
[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token

[woo]
type = woocommerce
base_url = http://127.0.0.1:$PORT/woo/demo
token_file = $T/woo.token

[tshop]
type = shopify
base_url = https://127.0.0.1:$TP/shopify/demo
token_file = $T/shop.token
insecure = yes
ssl_verify = no
verify_ssl = false
tls_verify = 0

[twoo]
type = woocommerce
base_url = https://127.0.0.1:$TP/woo/demo
token_file = $T/woo.token
insecure = yes

[cashop]
type = shopify
base_url = https://127.0.0.1:$TP/shopify/demo
token_file = $T/shop.token
ca_file = $T/cert.pem

[cawoo]
type = woocommerce
base_url = https://127.0.0.1:$TP/woo/demo
token_file = $T/woo.token
ca_file = $T/cert.pem

[otherhost]
type = shopify
base_url = https://localhost:$TP/shopify/demo
token_file = $T/shop.token
ca_file = $T/cert.pem
X
printf 'insecure\n' > .curlrc
export CURL_CA_BUNDLE=$T/cert.pem SSL_CERT_FILE=$T/cert.pem SSL_CERT_DIR=$T CURL_SSL_NO_VERIFY=1
SUFFIX=" (TLS verification is always on; ca_file = adds a private CA)"
# tls_refused NAME [handshake]: exactly one connection (its handshake
# refused, or done and the connection dropped after), no request reached
# the simulator
tls_refused() {
	local how="refused at the handshake"
	[ "${2:-}" = handshake ] && how="handshake done, then dropped"
	poll test -s tls.log	# the proxy may note it a moment after the client left
	sleep 0.2		# (and a retry would come at once)
	[ "$(cat tls.log)" = "${2:-refused}" ] && [ "$(ctl GET 'log?kind=requests' | jq '.requests | length')" = 0 ] &&
		ok "$1: one connection, $how, nothing sent" ||
		notok "$1: one connection, $how, nothing sent" "$(cat tls.log)"
	: > tls.log
}
: > tls.log
run invpull tshop
expect_rc 69 "self-signed: shopify invpull exit 69"
expect_err_has "self-signed: shopify: says why" "invpull: tshop: no answer: SSL certificate problem: "
expect_err_has "self-signed: shopify: verification cannot be turned off" "certificate$SUFFIX"
tls_refused "self-signed: shopify"
run invpull twoo
expect_rc 69 "self-signed: woo invpull exit 69"
expect_err_has "self-signed: woo: says why" \
	"invpull: [twoo]: GET /woo/demo/wp-json/wc/v3/products: SSL certificate problem: "
tls_refused "self-signed: woo"
invpull -q shop | jq -c '.qty += 1' | invdiff -q - <(invpull -q shop) > corr-shop.ndjson
run invpush tshop corr-shop.ndjson
expect_rc 69 "self-signed: shopify invpush exit 69"
expect_err_has "self-signed: invpush: says why" "SSL certificate problem: "
[ "$(ctl GET 'log?kind=writes' | jq '.writes | length')" = 0 ] && ok "self-signed: invpush: nothing written" ||
	notok "self-signed: invpush: nothing written"
ctl POST log/clear '{}' > /dev/null
: > tls.log
run invpull otherhost
expect_rc 69 "a trusted certificate for another host: exit 69"
expect_err_has "a trusted certificate for another host: says why" "'localhost'$SUFFIX"
tls_refused "a trusted certificate for another host" handshake
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR CURL_SSL_NO_VERIFY
for p in shop woo; do
	run invpull -q "ca$p"
	expect_rc 0 "ca_file = the certificate: $p invpull exit 0"
	jq -c 'del(.ts, .channel)' "$T/out" > got
	invpull -q "$p" | jq -c 'del(.ts, .channel)' > want
	[ -s want ] && cmp -s want got && ok "ca_file: $p: the same records as over plain http" ||
		notok "ca_file: $p: the same records as over plain http" "$(diff want got | head -4)"
done
grep -q handshake tls.log && ! grep -q refused tls.log && ok "ca_file: the handshakes went through" ||
	notok "ca_file: the handshakes went through" "$(sort tls.log | uniq -c)"
fi

m=$(grep -rnE 'CURLOPT_(PROXY_)?SSL_VERIFY(PEER|HOST)|CURLSSLOPT_|CURLOPT_SSL_OPTIONS' \
	"$TOP/common" "$TOP/cmd")
[ -z "$m" ] && ok "the source never sets CURLOPT_SSL_VERIFYPEER/HOST or SSL options" ||
	notok "the source never sets CURLOPT_SSL_VERIFYPEER/HOST or SSL options" "$m"

# ---- plain http:// only to loopback ----
i=0
: > far.conf
for u in http://10.1.2.3/x http://127.0.0.1.evil.example/ http://localhost.evil.example:80/ \
	http://127.0.0.1@evil.example/ http://[::2]:80/ ftp://127.0.0.1/; do
	i=$((i + 1))
	printf '[far%d]\ntype = shopify\nbase_url = %s\ntoken_file = %s/shop.token\n' "$i" "$u" "$T" >> far.conf
done
far() {	# N HOST-OR-MESSAGE
	run invpull -c far.conf "far$1"
	expect_rc 78 "base_url $2: exit 78"
	expect_err "base_url $2: refused" <<X
invpull: far.conf:$((4 * $1 - 3)): [far$1]: $3
X
}
far 1 10.1.2.3 "plain http:// is refused for '10.1.2.3': credentials would travel in clear (use https://)"
far 2 "127.0.0.1.evil.example" "plain http:// is refused for '127.0.0.1.evil.example': credentials would travel in clear (use https://)"
far 3 "localhost.evil.example" "plain http:// is refused for 'localhost.evil.example:80': credentials would travel in clear (use https://)"
far 4 "127.0.0.1@evil.example" "plain http:// is refused for 'evil.example': credentials would travel in clear (use https://)"
far 5 "[::2]" "plain http:// is refused for '[::2]:80': credentials would travel in clear (use https://)"
far 6 "ftp://" "base_url must start with https:// (got 'ftp://127.0.0.1/')"

# ---- bounds: answer size and JSON depth ----
ctl POST log/clear '{}' > /dev/null
seq0=$(ctl GET log | jq .last_seq)
# bounded PLATFORM: the pull just run sent exactly one request
one_request() {
	local n
	n=$(ctl GET "log?kind=requests&since=$seq0" | jq '.requests | length')
	seq0=$(ctl GET log | jq .last_seq)
	[ "$n" = 1 ] && ok "$1: one request, not retried" || notok "$1: one request, not retried" "$n requests"
}
ctl POST faults '{"rules":[{"kind":"huge","next":1}]}' > /dev/null
run invpull shop
expect_rc 69 "huge answer: shopify invpull exit 69"
expect_err "huge answer: shopify: says why" <<'X'
invpull: shop: no answer: response larger than 67108864 bytes
X
one_request "huge answer: shopify"
ctl POST faults '{"rules":[{"kind":"huge","next":1}]}' > /dev/null
run invpull woo
expect_rc 69 "huge answer: woo invpull exit 69"
expect_err "huge answer: woo: says why" <<'X'
invpull: [woo]: GET /woo/demo/wp-json/wc/v3/products: response larger than 67108864 bytes
X
one_request "huge answer: woo"
ctl POST faults '{"rules":[{"kind":"deep","depth":100000,"next":1}]}' > /dev/null
run invpull shop
expect_rc 65 "deep answer: shopify invpull exit 65"
expect_err "deep answer: shopify: says why" <<'X'
invpull: shop: answer is not JSON (200009 bytes): maximum parsing depth reached near '['
X
one_request "deep answer: shopify"
ctl POST faults '{"rules":[{"kind":"deep","depth":100000,"next":1}]}' > /dev/null
run invpull woo
expect_rc 65 "deep answer: woo invpull exit 65"
expect_err "deep answer: woo: says why" <<'X'
invpull: [woo]: GET /woo/demo/wp-json/wc/v3/products: the answer is not a JSON array: maximum parsing depth reached near '['
X
one_request "deep answer: woo"
ctl DELETE faults > /dev/null

nest() { python3 -c 'import sys; n = int(sys.argv[1]); print("{\"sku\":\"A\",\"location\":\"\",\"qty\":1,\"x\":" + "[" * n + "]" * n + "}")' "$1"; }
nest 63 > deep63.ndjson
nest 64 > deep64.ndjson
run invdiff -q deep63.ndjson deep63.ndjson
expect_rc 0 "a record nested 64 deep: accepted"
run invdiff -q deep64.ndjson deep63.ndjson
expect_rc 65 "a record nested 65 deep: exit 65"
expect_err "a record nested 65 deep: says where and why" <<'X'
invdiff: deep64.ndjson:1: invalid JSON at column 101: nested too deep
X
expect_empty_out "a record nested 65 deep: nothing written"
