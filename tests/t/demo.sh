# make demo's script runs end to end: the synced shop keeps the sale made
# during the run and otherwise equals the master; the count is reported.
. "$(dirname "$0")/../lib.sh"
run "$TOP/scripts/demo"
expect_rc 0 "demo: exit 0"
expect_err_has "demo: six corrections applied" "6 applied, 0 unchanged, 0 conflict, 0 failed"
expect_err_has "demo: afterwards only the sold item differs, by the sale" "10 keys: 9 equal, 1 changed"
grep -A2 "the shop now" "$T/out" | grep -q "CAP-NVY .* 117  119      2" &&
	ok "demo: CAP-NVY shows 117 = 119 - 2 sold" || notok "demo: CAP-NVY shows 117 = 119 - 2 sold"
expect_err_has "demo: accuracy report" "IRA 33.3%"
expect_err_has "demo: invsync's first run" "invsync: woo: 3 corrections: 3 applied; first run, baseline taken"
expect_err_has "demo: the site's sale goes to the master" \
	"invsync: woo: 1 corrections: 1 applied; moved since the last push: sold MUG-LOGO@gid://shopify/Location/1 -3 (applied to wms)"
expect_err_has "demo: the shop follows in the same run" "invsync: shopify-eu: 1 corrections: 1 applied"
expect_out_has "demo: the master's MUG-LOGO is 64 - 3" '{"sku":"MUG-LOGO","location":"gid://shopify/Location/1","qty":61}'
