# The world of the two-way invsync tests (tests/t/invsync-two-way.sh,
# tests/t/invsync-kill-points.sh), sourced after tests/lib.sh from $T: a
# file master ([wms]) and two shops of different platforms, both "mode =
# two-way": the Shopify shop (two locations, a listing sold in cases of 2,
# a bundle listing) and the WooCommerce site (one pool, mapped to W1, the
# same bundle).  Allocation: safety 2 / share 50 on the shop, safety 4 /
# share 50 on the site.  Starts the simulator; defines sell, check,
# invariants, shops and expect_shops.
S=gid://shopify
cat > sim.json <<X
{"shopify": {"demo": {"token": "shpat_sim_demo",
  "locations": [{"id": 1, "name": "Main"}, {"id": 2, "name": "Second"}],
  "items": [
    {"id": 1001, "sku": "P-1", "levels": {"1": 0, "2": 0}},
    {"id": 1002, "sku": "P-2", "levels": {"1": 0}},
    {"id": 1003, "sku": "CASE-3", "levels": {"1": 0}},
    {"id": 1004, "sku": "KIT", "levels": {"1": 0}}]}},
 "woocommerce": {"demo": {"consumer_key": "ck_sim_demo", "consumer_secret": "cs_sim_demo",
  "permissions": "read_write", "manage_stock": true,
  "products": [
    {"id": 10, "type": "simple", "sku": "W-P1", "manage_stock": true, "stock_quantity": 0},
    {"id": 11, "type": "simple", "sku": "W-P2", "manage_stock": true, "stock_quantity": 0},
    {"id": 12, "type": "simple", "sku": "W-KIT", "manage_stock": true, "stock_quantity": 0}]}}}
X
start_sim --state sim.json --seed 11

printf 'shpat_sim_demo\n' > shop.token
printf 'ck_sim_demo:cs_sim_demo\n' > woo.token
chmod 600 shop.token woo.token
cat > invkit.conf <<X
[wms]
type = file
path = master.ndjson
master = yes

[shop]
type = shopify
base_url = http://127.0.0.1:$PORT/shopify/demo
token_file = $T/shop.token
mode = two-way
rules = rules.csv
map = map.csv
location_map = loc.csv
bundles = bundles.csv

[woo]
type = woocommerce
base_url = http://127.0.0.1:$PORT/woo/demo
token_file = $T/woo.token
mode = two-way
rules = rules.csv
map = map.csv
location_map = loc.csv
bundles = bundles.csv
X
cat > rules.csv <<'X'
channel,sku,safety,share,max,min
shop,*,2,50,,
woo,*,4,50,,
X
cat > map.csv <<X
channel,item,platform_sku,sku,units
shop,$S/InventoryItem/1001,P-1,P-1,1
shop,$S/InventoryItem/1002,P-2,P-2,1
shop,$S/InventoryItem/1003,CASE-3,P-3,2
shop,$S/InventoryItem/1004,KIT,KIT,1
woo,,W-P1,P-1,1
woo,,W-P2,P-2,1
woo,,W-KIT,KIT,1
X
cat > loc.csv <<X
channel,platform_location,location
shop,$S/Location/1,W1
shop,$S/Location/2,W2
woo,,W1
X
cat > bundles.csv <<'X'
bundle_sku,component_sku,count
KIT,P-1,1
KIT,P-2,2
X
cat > master.ndjson <<'X'
{"sku":"P-1","location":"W1","qty":40}
{"sku":"P-1","location":"W2","qty":20}
{"sku":"P-2","location":"W1","qty":30}
{"sku":"P-3","location":"W1","qty":24}
X
cp master.ndjson initial.ndjson
: > sold.ndjson		# every sale, in master terms: {"sku","location","qty"}

# sell PLATFORM WHAT QTY: a sale on a shop through the simulator, booked
# in sold.ndjson in the master's terms (units, bundles taken apart)
sell() {
	local body
	case $1 in
	shop) body="{\"platform\":\"shopify\",\"shop\":\"demo\",\"sku\":\"$2\",\"location\":\"$S/Location/${4:-1}\",\"qty\":$3}" ;;
	woo) body="{\"platform\":\"woocommerce\",\"shop\":\"demo\",\"sku\":\"$2\",\"qty\":$3}" ;;
	esac
	ctl POST sale "$body" > /dev/null || { notok "sale $*: refused by the simulator"; return; }
	local loc=W${4:-1}
	case $2 in
	P-1|W-P1) echo "{\"sku\":\"P-1\",\"location\":\"$loc\",\"qty\":$3}" ;;
	P-2|W-P2) echo "{\"sku\":\"P-2\",\"location\":\"$loc\",\"qty\":$3}" ;;
	CASE-3) echo "{\"sku\":\"P-3\",\"location\":\"$loc\",\"qty\":$(($3 * 2))}" ;;
	KIT|W-KIT) echo "{\"sku\":\"P-1\",\"location\":\"$loc\",\"qty\":$3}"
		echo "{\"sku\":\"P-2\",\"location\":\"$loc\",\"qty\":$(($3 * 2))}" ;;
	esac >> sold.ndjson
}

# check WHAT SOLD: the invariants after a run.  SOLD is the file of the
# sales the master must have absorbed by now.  Prints nothing when they
# hold, the violations otherwise.
check() {
	ctl GET state > state.json
	python3 - "$1" <<'PY'
import json, sys
sold = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
init = [json.loads(l) for l in open("initial.ndjson")]
master = [json.loads(l) for l in open("master.ndjson")]
st = json.load(open("state.json"))
bad = []
want = {}
for r in init:
    want[(r["sku"], r["location"])] = want.get((r["sku"], r["location"]), 0) + r["qty"]
for s in sold:
    want[(s["sku"], s["location"])] = want.get((s["sku"], s["location"]), 0) - s["qty"]
got = {(r["sku"], r["location"]): r["qty"] for r in master}
if got != want:
    bad.append("master %s, want initial - sales = %s" % (sorted(got.items()), sorted(want.items())))
def m(sku, loc):
    if sku == "KIT":
        return min(got.get(("P-1", loc), 0), got.get(("P-2", loc), 0) // 2)
    return got.get((sku, loc), 0)
cap = lambda sku, loc, safety: max(0, m(sku, loc) - safety)
units = {"CASE-3": ("P-3", 2)}
for it in st["shopify"]["demo"]["items"]:
    sku, u = units.get(it["sku"], (it["sku"], 1))
    for loc, q in it["levels"].items():
        w = "W" + loc.rsplit("/", 1)[1]
        if q * u > cap(sku, w, 2):
            bad.append("shop %s@%s shows %d x %d > master %d - safety 2" % (it["sku"], w, q, u, m(sku, w)))
for p in st["woocommerce"]["demo"]["products"]:
    sku = {"W-P1": "P-1", "W-P2": "P-2", "W-KIT": "KIT"}[p["sku"]]
    if p["stock_quantity"] > cap(sku, "W1", 4):
        bad.append("woo %s shows %d > master %d - safety 4" % (p["sku"], p["stock_quantity"], m(sku, "W1")))
print("\n".join(bad))
PY
}
invariants() {
	local v; v=$(check "${2:-sold.ndjson}")
	[ -z "$v" ] && ok "$1: invariants hold" || notok "$1: invariants hold" "$v"
}
# the shops as "what qty" lines
shops() {
	ctl GET state | jq -r '(.shopify.demo.items[] | .sku as $s | .levels | to_entries[] |
		"\($s)@\(.key | sub(".*/"; "")) \(.value)"), (.woocommerce.demo.products[] |
		"\(.sku) \(.stock_quantity)")'
}
expect_shops() {
	local got; got=$(shops)
	[ "$got" = "$(cat)" ] && ok "$1" || notok "$1" "$got"
}
