#!/usr/bin/env bash
# tests/real/vendure.sh - the vendure driver against a real Vendure 3 server.
#
# Installs @vendure/core (pinned below) with the sql.js database driver (no
# native build) from the npm registry into tests/real/.cache/vendure once,
# and reuses it while package.json and the lockfile are the same.  Writes a
# small server script (plain JS, the compiled packages) that seeds 600
# variants across 2 stock locations through Vendure's own services (every
# 9th with units allocated to orders), creates a role with ReadProduct and
# UpdateProduct and an API key for it, and listens on 127.0.0.1 on a free
# port, with 'api-key' in authOptions.tokenMethod and the body limit
# lowered to 16 KB (the documented way: a body parser on the global route).
# Scenarios: pull everything, push corrections, a second client writing
# between pull and push and inside the driver's window, a bad API key,
# oversize writes, and the pipeline from a file master (with a third stock
# location that the master stocks and the server has no levels at yet).
# Every end state is read back through the server's own Admin API with a
# superadmin session (the second client).  The server is stopped on exit.
# A server that cannot be installed or started fails the test, loudly.
# Times here (2 shared cores): about 25 s to install with an empty npm
# cache, about 12 s to start and seed, under a minute for the scenarios.
. "$(dirname "$0")/../lib.sh"

VENDURE_VERSION=3.7.3
SQLJS_VERSION=1.16.0
BODY_PARSER_VERSION=2.4.0
VARIANTS=600
CACHE=$TOP/tests/real/.cache/vendure
SRVPID=
export XDG_STATE_HOME=$T/state INVKIT_CONFIG=$T/invkit.conf

cleanup() {
	if [ -n "$SRVPID" ]; then
		kill "$SRVPID" 2>/dev/null
		wait "$SRVPID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
fail() { notok "$1" "$2"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the server ----

command -v node >/dev/null && command -v npm >/dev/null ||
	fail "node and npm are needed (Debian: apt-get install nodejs npm)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
	fail "Vendure $VENDURE_VERSION needs node 20 or later, this is $(node --version)"

PKG="{ \"name\": \"invkit-vendure-test\", \"private\": true, \"dependencies\": {
  \"@vendure/core\": \"$VENDURE_VERSION\", \"sql.js\": \"$SQLJS_VERSION\",
  \"body-parser\": \"$BODY_PARSER_VERSION\" } }"
installed() {
	[ -f "$CACHE/.installed" ] && [ -f "$CACHE/package-lock.json" ] &&
		printf '%s\n' "$PKG" | cmp -s - "$CACHE/package.json" &&
		(cd "$CACHE" && sha256sum -c --status .installed) &&
		[ "$(node -p "require('$CACHE/node_modules/@vendure/core/package.json').version" 2>/dev/null)" = \
			"$VENDURE_VERSION" ]
}
t0=$(now)
if ! installed; then
	rm -rf "$CACHE"
	mkdir -p "$CACHE"
	printf '%s\n' "$PKG" > "$CACHE/package.json"
	# --ignore-scripts: nothing is built; bcrypt loads the prebuilt binary it ships
	(cd "$CACHE" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error) \
		> "$T/npm.log" 2>&1 ||
		fail "npm install @vendure/core@$VENDURE_VERSION (is the npm registry reachable?)" \
		"$(tail -20 "$T/npm.log")"
	(cd "$CACHE" && sha256sum package.json package-lock.json > .installed)
	echo "# vendure: installed @vendure/core@$VENDURE_VERSION from the npm registry in $(since "$t0") s"
fi

cat > "$CACHE/invkit-server.js" <<'EOF'
// The Vendure server of tests/real/vendure.sh (written by it; see there).
'use strict';
const fs = require('fs');
const path = require('path');
const core = require('@vendure/core');
const { json } = require('body-parser');

const OUT = process.env.OUT;
const N = parseInt(process.env.VARIANTS, 10);
const PASSWORD = process.env.SA_PASSWORD;
const DELAY = path.join(OUT, 'delay');
const sleep = ms => new Promise(r => setTimeout(r, ms));

// While OUT/delay exists, the next invkitPush mutation waits that many ms
// before it runs: the test makes its concurrent change inside the window
// between the driver's re-read and its write.
const delayPlugin = {
	async requestDidStart() {
		return {
			async didResolveOperation(rc) {
				if (rc.operationName !== 'invkitPush' || !fs.existsSync(DELAY))
					return;
				const ms = parseInt(fs.readFileSync(DELAY, 'utf8'), 10) || 1000;
				fs.unlinkSync(DELAY);
				fs.writeFileSync(DELAY + '.hit', '');
				await sleep(ms);
			},
		};
	},
};

const config = {
	apiOptions: {
		port: 0, hostname: '127.0.0.1', adminApiPath: 'admin-api', shopApiPath: 'shop-api',
		middleware: [{ route: '/', handler: json({ limit: process.env.BODY_LIMIT }), beforeListen: true }],
		apolloServerPlugins: [delayPlugin],
	},
	authOptions: {
		tokenMethod: ['bearer', 'api-key'],
		requireVerification: false,
		superadminCredentials: { identifier: 'superadmin', password: PASSWORD },
	},
	dbConnectionOptions: { type: 'sqljs', synchronize: true, logging: false },
	paymentOptions: { paymentMethodHandlers: [] },
	logger: new core.DefaultLogger({ level: core.LogLevel.Error }),
	plugins: [],
};

// N variants, 10 a product told apart by a size option, at the default
// stock location and a second one; every 9th variant has up to 3 units
// allocated at the first, as an order not yet fulfilled would.
async function seed(app) {
	const rcs = app.get(core.RequestContextService);
	let ctx = await rcs.create({ apiType: 'admin' });
	await app.get(core.TaxCategoryService).create(ctx, { name: 'Standard', isDefault: true });
	const zone = await app.get(core.ZoneService).create(ctx, { name: 'World', memberIds: [] });
	const chs = app.get(core.ChannelService);
	const dch = await chs.getDefaultChannel(ctx);
	await chs.update(ctx, { id: dch.id, defaultTaxZoneId: zone.id, defaultShippingZoneId: zone.id });
	ctx = await rcs.create({ apiType: 'admin' });
	const sls = app.get(core.StockLocationService);
	const a = await sls.defaultStockLocation(ctx);
	const b = await sls.create(ctx, { name: 'Second warehouse' });
	const en = core.LanguageCode.en;
	const ps = app.get(core.ProductService), vs = app.get(core.ProductVariantService);
	const gs = app.get(core.ProductOptionGroupService), os = app.get(core.ProductOptionService);
	const stock = app.get(core.StockLevelService);
	for (let p = 0; p * 10 < N; p++) {
		const prod = await ps.create(ctx, { translations: [{ languageCode: en, name: `Product ${p}`,
			slug: `product-${p}`, description: '' }] });
		const grp = await gs.create(ctx, { code: `size-${p}`, options: [],
			translations: [{ languageCode: en, name: 'Size' }] });
		await ps.addOptionGroupToProduct(ctx, prod.id, grp.id);
		const inputs = [];
		for (let i = p * 10; i < p * 10 + 10 && i < N; i++) {
			const opt = await os.create(ctx, grp, { code: `s${i}`,
				translations: [{ languageCode: en, name: `S${i}` }] });
			inputs.push({ productId: prod.id, optionIds: [opt.id], price: 1000,
				sku: `V-${String(i).padStart(4, '0')}`,
				translations: [{ languageCode: en, name: `Variant ${i}` }],
				stockLevels: [{ stockLocationId: a.id, stockOnHand: (i * 37) % 101 },
					{ stockLocationId: b.id, stockOnHand: (i * 11) % 53 }] });
		}
		const made = await vs.create(ctx, inputs);
		for (let k = 0; k < made.length; k++) {
			const i = p * 10 + k, alloc = Math.min(3, (i * 37) % 101);
			if (i % 9 === 0 && alloc > 0)
				await stock.updateStockAllocatedForLocation(ctx, made[k].id, a.id, alloc);
		}
	}
	return [String(a.id), String(b.id)];
}

async function gql(port, headers, query, variables) {
	const r = await fetch(`http://127.0.0.1:${port}/admin-api`, { method: 'POST',
		headers: Object.assign({ 'Content-Type': 'application/json' }, headers),
		body: JSON.stringify({ query, variables }) });
	const body = await r.json();
	if (body.errors)
		throw new Error(JSON.stringify(body.errors));
	return { data: body.data, token: r.headers.get('vendure-auth-token') };
}

function secret(name, text) {
	fs.writeFileSync(path.join(OUT, name), text + '\n', { mode: 0o600 });
}

core.bootstrap(config).then(async app => {
	const t0 = Date.now();
	const locations = await seed(app);
	const seedMs = Date.now() - t0;
	const port = app.getHttpServer().address().port;
	// the superadmin's session (the second client) and, for invkit, an API
	// key whose role may read and update products and nothing else
	const login = await gql(port, {}, 'mutation($p: String!) { login(username: "superadmin", ' +
		'password: $p) { ... on CurrentUser { id } } }', { p: PASSWORD });
	const auth = { Authorization: `Bearer ${login.token}` };
	const role = await gql(port, auth, 'mutation { createRole(input: { code: "inventory-sync", ' +
		'description: "invkit", permissions: [ReadProduct, UpdateProduct] }) { id } }');
	const key = await gql(port, auth, 'mutation($r: [ID!]!) { createApiKey(input: { roleIds: $r, ' +
		'translations: [{ languageCode: en, name: "invkit" }] }) { apiKey } }',
		{ r: [role.data.createRole.id] });
	secret('admin.token', login.token);
	secret('admin.hdr', `Authorization: Bearer ${login.token}`);
	secret('vendure.key', key.data.createApiKey.apiKey);
	fs.writeFileSync(path.join(OUT, 'ready'), JSON.stringify({ port, locations, seedMs }) + '\n');
}).catch(e => {
	console.error(e);
	process.exit(1);
});
EOF

t0=$(now)
# in $T: Vendure writes .vendure/ into its working folder
(cd "$T" && OUT=$T VARIANTS=$VARIANTS BODY_LIMIT=16kb \
	SA_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n') \
	exec node "$CACHE/invkit-server.js") > "$T/server.log" 2>&1 &
SRVPID=$!
for ((i = 0; i < 1800; i++)); do
	[ -s "$T/ready" ] && break
	kill -0 "$SRVPID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$T/ready" ] || fail "Vendure $VENDURE_VERSION started" "$(tail -20 "$T/server.log")"
PORT=$(jq -r .port "$T/ready")
LA=$(jq -r '.locations[0]' "$T/ready")
LB=$(jq -r '.locations[1]' "$T/ready")
ok "Vendure $VENDURE_VERSION up on 127.0.0.1:$PORT, $VARIANTS variants seeded"
echo "# vendure: server up and seeded in $(since "$t0") s (seeding $(jq .seedMs "$T/ready") ms)"

cd "$T" || exit 1
KEY=$(cat vendure.key)
cat > invkit.conf <<X
[vendure]
type = vendure
base_url = http://127.0.0.1:$PORT
token_file = $T/vendure.key
body_limit = 16384

[vendure-onhand]
type = vendure
base_url = http://127.0.0.1:$PORT
token_file = $T/vendure.key
body_limit = 16384
quantity = on_hand

[vendure-bearer]
type = vendure
base_url = http://127.0.0.1:$PORT/
token_file = $T/admin.token
auth = bearer
body_limit = 16384

[vendure-big]
type = vendure
base_url = http://127.0.0.1:$PORT
token_file = $T/vendure.key
body_limit = 16384
write_batch = 1000

[vendure-unsized]
type = vendure
base_url = http://127.0.0.1:$PORT
token_file = $T/vendure.key
write_batch = 1000

[vendure-badkey]
type = vendure
base_url = http://127.0.0.1:$PORT
token_file = $T/bad.key

[master]
type = file
path = master.csv
X

# gql QUERY [VARIABLES]: the second client, a superadmin session
gql() {
	jq -cn --arg q "$1" --argjson v "${2:-"{}"}" '{query: $q, variables: $v}' |
		curl -sS -H @"$T/admin.hdr" -H 'Content-Type: application/json' --data-binary @- \
		"http://127.0.0.1:$PORT/admin-api"
}
# levels: every stock level as the server shows it, one
# {item, sku, location, onhand, alloc} a line, sorted
levels() {
	local skip=0 total=1
	: > "$T/levels.tmp"
	while [ "$skip" -lt "$total" ]; do
		gql "{ productVariants(options: {skip: $skip, take: 250, sort: {id: ASC}}) { totalItems
			items { id sku stockLevels { stockLocationId stockOnHand stockAllocated } } } }" \
			> "$T/page.json"
		total=$(jq '.data.productVariants.totalItems' "$T/page.json") || return 1
		jq -c '.data.productVariants.items[] | . as $v | .stockLevels[] | {item: $v.id,
			sku: $v.sku, location: .stockLocationId, onhand: .stockOnHand,
			alloc: .stockAllocated}' "$T/page.json" >> "$T/levels.tmp"
		skip=$((skip + 250))
	done
	sort "$T/levels.tmp"
}
# set_onhand: the second client sets stockOnHand of the {item, location,
# onhand} lines on stdin, in one call
set_onhand() {
	gql 'mutation($input: [UpdateProductVariantInput!]!) { updateProductVariants(input: $input) { id } }' \
		"$(jq -cs '{input: group_by(.item) | map({id: .[0].item,
			stockLevels: map({stockLocationId: .location, stockOnHand: .onhand})})}')" > "$T/set.json"
	jq -e '.data.updateProductVariants' "$T/set.json" > /dev/null
}
# the key fields and quantity of records
keyq() { jq -c '{item, location, qty}' "$@" | sort; }
statuses() { jq -r .status "$1" | sort | uniq -c | awk '{ print $1 " " $2 }' | paste -sd, - | sed 's/,/, /g'; }
# windows: what invpush -v said of its writes' windows
windows() {
	grep -o 'of [0-9]* variants, [0-9]* bytes in one transaction; window [0-9]* ms (re-read sent to write answered), write [0-9]* ms' \
		"$T/err" | awk '{ n++; v += $2; w = $10; x = $18; if (n == 1 || w < wmin) wmin = w; if (w > wmax) wmax = w;
		if (n == 1 || x < xmin) xmin = x; if (x > xmax) xmax = x }
		END { printf "# vendure: %d writes, %d variants: window %d to %d ms, of which the write %d to %d ms\n",
		n, v, wmin, wmax, xmin, xmax }'
}
check() {	# check NAME FILE-EXPECTED FILE-GOT
	if cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "$(diff "$2" "$3" | head -10)"; fi
}

# ---- 1. pull everything ----

levels > state0
[ "$(wc -l < state0)" -eq $((VARIANTS * 2)) ] && ok "the server shows $((VARIANTS * 2)) stock levels" ||
	notok "the server shows $((VARIANTS * 2)) stock levels" "$(wc -l < state0)"
[ "$(jq -s 'map(select(.alloc > 0)) | length' state0)" -eq 66 ] &&
	ok "66 levels have units allocated" || notok "66 levels have units allocated"
t0=$(now)
run invpull vendure
expect_rc 0 "pull: exit 0"
echo "# vendure: pull of $((VARIANTS * 2)) levels in $(since "$t0") s"
cp "$T/out" have0.ndjson
jq -c '{item, location, qty: (.onhand - .alloc)}' state0 | sort > want
keyq have0.ndjson > got
check "pull: every level, qty = stockOnHand - stockAllocated, exactly" want got
[ "$(jq -r '"\(.channel) \(.state)"' have0.ndjson | sort -u)" = "vendure available" ] &&
	ok "pull: channel vendure, state available" || notok "pull: channel vendure, state available"
jq -c '{item, sku, location}' state0 | sort > want
jq -c '{item, sku, location}' have0.ndjson | sort > got
check "pull: item = variant id, sku, location = stock location id" want got
# the seed, independently of the server's answer
jq -c 'select(.sku == "V-0009" or .sku == "V-0010")' have0.ndjson | jq -c '{sku, location, qty}' > got
cat > want <<X
{"sku":"V-0009","location":"$LA","qty":27}
{"sku":"V-0009","location":"$LB","qty":46}
{"sku":"V-0010","location":"$LA","qty":67}
{"sku":"V-0010","location":"$LB","qty":4}
X
check "pull: the seeded quantities (V-0009: 30 on hand, 3 allocated)" want got
expect_err_has "pull: summary" "invpull: vendure: $((VARIANTS * 2)) records, $VARIANTS items"

run invpull vendure-onhand
expect_rc 0 "pull on_hand: exit 0"
jq -c '{item, location, qty: .onhand}' state0 | sort > want
keyq "$T/out" > got
check "pull on_hand: qty = stockOnHand" want got
[ "$(jq -r .state "$T/out" | sort -u)" = on_hand ] && ok "pull on_hand: state on_hand" ||
	notok "pull on_hand: state on_hand"

t0=$(now)
run invpull vendure-bearer
expect_rc 0 "pull with a bearer session token: exit 0"
echo "# vendure: pull with a bearer token in $(since "$t0") s"
jq -c 'del(.ts, .channel)' "$T/out" | sort > got
jq -c 'del(.ts, .channel)' have0.ndjson | sort > want
check "pull with a bearer session token: the same records" want got

run invpull --sku V-0003,V-0599 vendure
expect_rc 0 "pull --sku: exit 0"
[ "$(jq -r '"\(.sku)@\(.location)"' "$T/out" | sort | tr '\n' ' ')" = \
	"V-0003@$LA V-0003@$LB V-0599@$LA V-0599@$LB " ] && ok "pull --sku: only those SKUs" ||
	notok "pull --sku: only those SKUs" "$(cat "$T/out")"
run invpull --item 2,600 --sku V-0001,V-0002 vendure
expect_rc 0 "pull --item and --sku: exit 0"
[ "$(jq -r '"\(.item)/\(.sku)@\(.location)"' "$T/out" | sort | tr '\n' ' ')" = \
	"2/V-0001@$LA 2/V-0001@$LB " ] && ok "pull --item and --sku: both apply" ||
	notok "pull --item and --sku: both apply" "$(cat "$T/out")"

# ---- 2. push corrections ----

# every 4th variant (allocated ones among them) to new quantities
jq -c 'select((.item | tonumber) % 4 == 1) | .qty = ((.qty * 3 + 7) % 60 + 1)' have0.ndjson > want1
invdiff -q --partial want1 have0.ndjson > corr1
n1=$(wc -l < corr1)
[ "$n1" -gt 250 ] && ok "push: $n1 corrections" || notok "push: $n1 corrections"
t0=$(now)
STDIN=corr1 run invpush -v vendure
expect_rc 0 "push: exit 0"
echo "# vendure: push of $n1 corrections in $(since "$t0") s"
windows
[ "$(statuses "$T/out")" = "$n1 applied" ] && ok "push: every correction applied" ||
	notok "push: every correction applied" "$(statuses "$T/out")"
levels > state1
# expected: the corrected levels at to (+ what is allocated), the rest as they were
jq -c '{item, location, to}' corr1 | sort > to1
jq -c --slurpfile c to1 '($c | map({key: "\(.item)@\(.location)", value: .to}) | from_entries) as $m |
	(.onhand - .alloc) as $a | {item, location, qty: ($m["\(.item)@\(.location)"] // $a)}' state0 | sort > want
jq -c '{item, location, qty: (.onhand - .alloc)}' state1 | sort > got
check "push: the server shows exactly the corrections, the rest untouched" want got
jq -c 'select(.alloc > 0) | {item, location, alloc}' state0 | sort > want
jq -c 'select(.alloc > 0) | {item, location, alloc}' state1 | sort > got
check "push: allocations untouched (stockOnHand written as to + allocated)" want got
run invpull vendure
keyq "$T/out" > got
jq -c '{item, location, qty: (.onhand - .alloc)}' state1 | sort > want
check "push: pull round-trips" want got
cp "$T/out" have1.ndjson
STDIN=corr1 run invpush vendure
expect_rc 0 "push again from the same corrections: exit 0"
[ "$(statuses "$T/out")" = "$n1 unchanged" ] && ok "push again: every correction unchanged (shows to already)" ||
	notok "push again: every correction unchanged" "$(statuses "$T/out")"

# ---- 3. a second client writing between pull and push, and inside the window ----

jq -c 'select((.item | tonumber) % 4 == 2) | .qty = .qty + 11' have1.ndjson > want2
invdiff -q --partial want2 have1.ndjson > corr2
n2=$(wc -l < corr2)
# the second client sells from every 10th level the push will write
awk 'NR % 10 == 1' corr2 | jq -c '{item, location, onhand: (.from + 1000)}' > sold
nsold=$(wc -l < sold)
set_onhand < sold || notok "second client: its write" "$(head -c 300 set.json)"
STDIN=corr2 run invpush vendure
expect_rc 1 "concurrent: exit 1 (some not applied)"
[ "$(statuses "$T/out")" = "$((n2 - nsold)) applied, $nsold conflict" ] &&
	ok "concurrent: $nsold conflicts, the rest applied" ||
	notok "concurrent: $nsold conflicts, the rest applied" "$(statuses "$T/out")"
jq -c 'select(.status == "conflict") | {item, location}' "$T/out" | sort > got
jq -c '{item, location}' sold | sort > want
check "concurrent: the conflicts are the levels the second client wrote" want got
[ "$(jq -r 'select(.status == "conflict") | .error' "$T/out" | sed 's/[0-9]\+/N/g' | sort -u)" = \
	"quantity moved since it was read: N expected, N now (not written)" ] &&
	ok "concurrent: each says the quantity moved, not written" ||
	notok "concurrent: each says the quantity moved" "$(jq -r .error "$T/out" | sort -u | head -3)"
levels > state2
jq -c '{item, location, onhand}' sold | sort > want
jq -c --slurpfile s sold '($s | map("\(.item)@\(.location)")) as $k |
	select("\(.item)@\(.location)" as $x | $k | index($x)) | {item, location, onhand}' state2 | sort > got
check "concurrent: the second client's writes are all kept (none erased)" want got
jq -c 'select(.status == "applied") | {item, location, qty: .to}' "$T/out" | sort > want
jq -c --slurpfile a <(jq -c 'select(.status == "applied")' "$T/out") \
	'($a | map("\(.item)@\(.location)")) as $k | select("\(.item)@\(.location)" as $x | $k | index($x)) |
	{item, location, qty: (.onhand - .alloc)}' state2 | sort > got
check "concurrent: the others at their target" want got

# inside the window: the write waits 1.5 s on the server after the
# driver's re-read; the second client changes one of its levels then
run invpull vendure
cp "$T/out" have2.ndjson
jq -c 'select(.location == "'"$LA"'" and (.item | tonumber) % 50 == 3) | .qty = .qty + 5' have2.ndjson > want3
invdiff -q --partial want3 have2.ndjson > corr3
n3=$(wc -l < corr3)
victim=$(jq -r 'select(.item | tonumber == 103) | .item' corr3)
[ "$victim" = 103 ] || notok "window: variant 103 is in the push"
rm -f delay.hit
echo 1500 > delay
invpush -v vendure < corr3 > res3 2> err3 &
pushpid=$!
poll test -f delay.hit || notok "window: the server held the write back"
echo "{\"item\":\"103\",\"location\":\"$LA\",\"onhand\":777}" | set_onhand ||
	notok "window: the second client's write" "$(head -c 300 set.json)"
wait "$pushpid"
rc=$?
[ "$rc" -eq 1 ] && ok "window: exit 1" || notok "window: exit 1" "exit $rc; $(head -5 err3)"
[ "$(statuses res3)" = "$((n3 - 1)) applied, 1 conflict" ] && ok "window: one conflict, the rest applied" ||
	notok "window: one conflict, the rest applied" "$(statuses res3)"
[ "$(jq -r 'select(.status == "conflict") | .item' res3)" = 103 ] &&
	ok "window: the conflict is the level changed in the window" ||
	notok "window: the conflict is the level changed in the window" "$(jq -c 'select(.status == "conflict")' res3)"
jq -r 'select(.status == "conflict") | .error' res3 | grep -q \
	"other stock movement of this variant landed between the re-read and the write's answer" &&
	ok "window: reported as overwritten in the window, never silently" ||
	notok "window: reported as overwritten in the window" "$(jq -r .error res3)"
grep -q "window [0-9]* ms (re-read sent to write answered)" err3 && ok "window: -v shows the window" ||
	notok "window: -v shows the window" "$(head -3 err3)"
grep -o 'window [0-9]* ms' err3 | sed 's/^/# vendure: with the 1.5 s hold: /'

# ---- 4. a bad API key ----

printf '%s\n' "0123456789abcdef01234567:$(printf '%064d' 0 | tr 0 f)" > bad.key
chmod 600 bad.key
BAD=$(cat bad.key)
run invpull vendure-badkey
expect_rc 77 "bad key: pull exits 77"
expect_err_has "bad key: says FORBIDDEN" "FORBIDDEN: You are not currently authorized to perform this action"
expect_empty_out "bad key: pull writes nothing"
! grep -qF "${BAD#*:}" "$T/err" "$T/out" && ok "bad key: the key is never printed" ||
	notok "bad key: the key is never printed"
head -3 corr1 > corr-bad
STDIN=corr-bad run invpush vendure-badkey
expect_rc 77 "bad key: push exits 77"
[ "$(statuses "$T/out")" = "3 failed" ] && ok "bad key: push: every correction failed" ||
	notok "bad key: push: every correction failed" "$(statuses "$T/out")"
! grep -rqF "${BAD#*:}" "$T/err" "$T/out" "$XDG_STATE_HOME" && ok "bad key: push prints and journals no key" ||
	notok "bad key: push prints and journals no key"
printf 'not-a-key\n' > bad.key
run invpull vendure-badkey
expect_rc 78 "a secret that is not <lookupId>:<secret>: exit 78"
! grep -qF "not-a-key" "$T/err" && ok "a malformed secret is not printed either" ||
	notok "a malformed secret is not printed either" "$(cat "$T/err")"
! grep -rqF "$KEY" "$T"/*.ndjson "$T"/err3 "$T/server.log" && ok "the real key appears in no output" ||
	notok "the real key appears in no output"

# ---- 5. oversize writes ----

# the server refuses a body over its limit: HTTP 500, an empty message
head -c 20000 /dev/zero | tr '\0' ' ' | jq -Rc '{query: "{ productVariants(options: {take: 1}) { totalItems } }", pad: .}' |
	curl -s -o big.out -w '%{http_code}' -H @admin.hdr -H 'Content-Type: application/json' \
	--data-binary @- "http://127.0.0.1:$PORT/admin-api" > big.code
[ "$(cat big.code) $(jq -c '.message' big.out)" = '500 ""' ] &&
	ok "oversize: the server answers a 20000-byte body with HTTP 500, empty message" ||
	notok "oversize: the server answers a 20000-byte body with HTTP 500" "$(cat big.code big.out)"

run invpull vendure
cp "$T/out" have4.ndjson
jq -c 'select((.item | tonumber) <= 500) | .qty = .qty + 2' have4.ndjson > want4
invdiff -q --partial want4 have4.ndjson > corr4
n4=$(wc -l < corr4)
STDIN=corr4 run invpush -v vendure-big
expect_rc 0 "oversize: $n4 corrections in one batch: exit 0"
[ "$(statuses "$T/out")" = "$n4 applied" ] && ok "oversize: every correction applied" ||
	notok "oversize: every correction applied" "$(statuses "$T/out")"
grep -o '[0-9]* bytes in one transaction' "$T/err" | awk '{ print $1 }' > sizes
[ "$(wc -l < sizes)" -ge 4 ] && [ "$(sort -n sizes | tail -1)" -le 16384 ] &&
	ok "oversize: split by bytes into $(wc -l < sizes) writes of at most 16384 bytes" ||
	notok "oversize: split into writes of at most 16384 bytes" "$(tr '\n' ' ' < sizes)"
grep -q 'batch 1: 1000 corrections' "$T/err" && ok "oversize: one batch of 1000 corrections" ||
	notok "oversize: one batch of 1000 corrections" "$(grep batch "$T/err")"

# sized for 100 KB while the server takes 16 KB: refused writes are halved
jq -c '.qty = .qty + 1' want4 > want5
invdiff -q --partial want5 want4 > corr5
STDIN=corr5 run invpush -v vendure-unsized
expect_rc 0 "oversize, body_limit too high: exit 0"
[ "$(statuses "$T/out")" = "$n4 applied" ] && ok "oversize, body_limit too high: every correction applied" ||
	notok "oversize, body_limit too high: every correction applied" "$(statuses "$T/out")"
grep -q 'refused (HTTP 500): split in two' "$T/err" && ok "oversize, body_limit too high: refused writes split" ||
	notok "oversize, body_limit too high: refused writes split" "$(grep -v POST "$T/err" | head -5)"
run invpull vendure
jq -c '{item, location, qty}' want5 | sort > want
jq -c 'select((.item | tonumber) <= 500) | {item, location, qty}' "$T/out" | sort > got
check "oversize: the server shows every correction" want got

# ---- 6. the pipeline from a file master ----

# a third stock location, new to every variant: the master stocks 20 SKUs
# there, keys the server does not have yet (corrections from null, whose
# item is the master's, the SKU)
gql 'mutation { createStockLocation(input: {name: "Third warehouse"}) { id } }' > loc.json
LC=$(jq -r '.data.createStockLocation.id' loc.json)
[ -n "$LC" ] && [ "$LC" != null ] || notok "pipeline: a third stock location" "$(cat loc.json)"
levels > state5
{
	echo "sku,location,qty"
	jq -r '[.sku, .location, ((.onhand * 7 + (.item | tonumber)) % 90 + 5)] | @csv' state5
	jq -r 'select(.location == "'"$LA"'" and (.item | tonumber) % 30 == 0) |
		[.sku, "'"$LC"'", ((.item | tonumber) % 13 + 1)] | @csv' state5
} > master.csv
t0=$(now)
invpull -q master > want6
invpull -q vendure | invdiff -q want6 - > corr6
n6=$(wc -l < corr6)
STDIN=corr6 run invpush -v vendure
expect_rc 0 "pipeline: exit 0"
echo "# vendure: pipeline pull | diff | push of $n6 corrections in $(since "$t0") s"
windows
[ "$(statuses "$T/out")" = "$n6 applied" ] && ok "pipeline: all $n6 corrections applied" ||
	notok "pipeline: all $n6 corrections applied" "$(statuses "$T/out")"
[ "$(jq -s 'map(select(.from == null)) | length' corr6)" -eq 20 ] &&
	ok "pipeline: 20 of them for levels the server did not have" ||
	notok "pipeline: 20 of them for levels the server did not have" "$(jq -s 'map(select(.from == null)) | length' corr6)"
invpull -q vendure | invdiff -q -e want6 - > diff6
[ $? -eq 0 ] && [ ! -s diff6 ] && ok "pipeline: the server equals the master" ||
	notok "pipeline: the server equals the master" "$(head -3 diff6)"
levels > state6
jq -r '"\(.sku),\(.location),\(.onhand - .alloc)"' state6 | sort > got
tail -n +2 master.csv | tr -d '"' | sort > want
check "pipeline: read back through the server's API, exactly the master" want got
