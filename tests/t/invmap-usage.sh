# invmap: --help, --version, usage errors (exit 64) and --explain.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

run invmap --help
expect_rc 0 "--help: exit 0"
expect_out_has "--help: usage on stdout" "usage: invmap"
run invmap --version
expect_rc 0 "--version: exit 0"
expect_out_has "--version" "invmap"
run invmap --bogus
expect_rc 64 "unknown option: exit 64"
expect_err_has "unknown option: usage on stderr" "usage: invmap"
run invmap - -
expect_rc 64 "stdin twice: exit 64"
run invmap --to ''
expect_rc 64 "empty channel: exit 64"
run invmap -F yaml
expect_rc 64 "unknown format: exit 64"

cat > map.csv <<'X'
channel,item,platform_sku,sku,units
shop,I-1,CASE-A,A,12
X
cat > rules.csv <<'X'
channel,sku,safety,share,max,min
shop,A,2,50,10,
X
printf '{"sku":"CASE-A","item":"I-1","channel":"shop","qty":3}\n{"sku":"X","qty":1}\n' > in.ndjson
printf '{"sku":"A","qty":30}\n' > master.ndjson
run invmap -q -m map.csv -u pass --explain A in.ndjson
expect_err "explain: forward" <<'X'
invmap: explain 'A': in.ndjson:1: channel 'shop' item 'I-1' sku 'CASE-A' qty 3 -> sku 'A' x 12 units (map.csv:2) = 36
X
run invmap -q -m map.csv --allocate shop -a rules.csv --to shop -x A master.ndjson
expect_err "explain: allocate and reverse" <<'X'
invmap: explain 'A': master.ndjson:1: read: channel '' location '' qty 30
invmap: explain 'A': master.ndjson:1: allocate to 'shop' by rule 'A' (rules.csv:2): floor((30 - safety 2) x 50%), min 0, max 10, not below 0 = 10
invmap: explain 'A': master.ndjson:1: to 'shop': listing item 'I-1' sku 'CASE-A' (map.csv:2): floor(10 / 12 units) = 0
X
expect_out "explain: output as without it" <<'X'
{"sku":"CASE-A","qty":0,"channel":"shop","item":"I-1"}
X
