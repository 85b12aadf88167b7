# Bad configuration, for invpull and invpush alike: no file, an unknown
# channel, an unknown type, a file channel without path or with an unknown
# setting, a stock file that is missing, a token file readable by others.
# Each stops the tool before it reads or writes anything: exit 78 (66 for
# the missing stock file), "tool: FILE:LINE: [name]: ..." on stderr, and
# the secret never shown.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T XDG_CONFIG_HOME=$T/xdg

printf '%s\n' '{"sku":"A","from":1,"to":2,"delta":1}' > corr.ndjson
printf 'sku,qty\nA,1\n' > stock.csv
cp stock.csv stock.orig

# both NAME CODE MESSAGE CHANNEL: invpull and invpush exit CODE with MESSAGE
both() {
	run invpull "$4"
	expect_rc "$2" "invpull, $1: exit $2"
	expect_err "invpull, $1: message" <<< "invpull: $3"
	expect_empty_out "invpull, $1: nothing on stdout"
	STDIN=corr.ndjson run invpush "$4"
	expect_rc "$2" "invpush, $1: exit $2"
	expect_err "invpush, $1: message" <<< "invpush: $3"
	expect_empty_out "invpush, $1: nothing on stdout"
}

# no configuration file anywhere (/etc/invkit.conf is not expected on a test box)
if [ ! -e /etc/invkit.conf ]; then
	both "no configuration file" 78 "no configuration file found for channel 'wms' (--config, \$INVKIT_CONFIG, ./invkit.conf, ~/.config/invkit/invkit.conf, /etc/invkit.conf)" wms
fi

cat > invkit.conf <<'X'
[wms]
type = file
path = stock.csv

[ftp]
type = ftp
path = x

[nopath]
type = file

[typo]
type = file
path = stock.csv
lcoations = a

[gone]
type = file
path = missing.csv
X

both "unknown channel" 78 "invkit.conf: no channel 'nope' (a [nope] section)" nope
both "unknown type" 78 "invkit.conf:5: [ftp]: unknown type 'ftp'" ftp
both "file channel without path" 78 "invkit.conf:9: [nopath]: no 'path =' (the stock file of this channel)" nopath
both "unknown setting" 78 "invkit.conf:12: [typo]: unknown setting 'lcoations' for type file (path, locations)" typo
both "missing stock file" 66 "invkit.conf:17: [gone]: path missing.csv: No such file or directory" gone

# the configuration is found through $INVKIT_CONFIG, and --config wins
mkdir sub
(cd sub && INVKIT_CONFIG=../invkit.conf invpull -q wms > ../out 2> ../err); rc=$?
expect_rc 0 "\$INVKIT_CONFIG names the file"
(cd sub && invpull -q --config ../invkit.conf wms > ../out 2> ../err); rc=$?
expect_rc 0 "--config names the file"
expect_out_has "--config: stock path relative to the config's folder" '"sku":"A"'
mkdir -p xdg/invkit
cp invkit.conf xdg/invkit/invkit.conf
sed -i 's|^path = stock.csv|path = '"$T"'/stock.csv|' xdg/invkit/invkit.conf
(cd sub && invpull -q wms > ../out 2> ../err); rc=$?
expect_rc 0 "\$XDG_CONFIG_HOME/invkit/invkit.conf is found"

# a configuration file that is not INI, or a section without type
printf '[wms]\ntype = file\nnonsense\n' > broken.conf
run invpull -c broken.conf wms
expect_rc 78 "broken INI: exit 78"
expect_err_has "broken INI: names file and line" "broken.conf:3: not a section, a setting or a comment"
printf '[wms]\npath = stock.csv\n' > notype.conf
run invpull -c notype.conf wms
expect_rc 78 "section without type: exit 78"
expect_err "section without type: message" <<'X'
invpull: notype.conf:1: [wms]: no 'type =' (shopify, woocommerce, file, ...)
X
run invpull -c nonexistent.conf wms
expect_rc 78 "--config names a missing file: exit 78"

# a token file readable by others is refused, as ssh refuses a key
printf 'shpat_secret_do_not_show\n' > token
chmod 644 token
cat > shop.conf <<'X'
[shop]
type = shopify
base_url = http://127.0.0.1:9
token_file = token
X
run invpull -c shop.conf shop
if grep -q "unknown type 'shopify'" "$T/err"; then
	ok "token file readable by others # SKIP shopify driver not linked"
else
	expect_rc 78 "token file mode 644: exit 78"
	expect_err_has "token file mode 644: says why" "token_file token is readable by others (mode 644); chmod 600 it"
	if grep -q shpat_secret "$T/err" "$T/out"; then notok "token file mode 644: secret never shown"
	else ok "token file mode 644: secret never shown"; fi
	STDIN=corr.ndjson run invpush -c shop.conf shop
	expect_rc 78 "invpush, token file mode 644: exit 78"
	chmod 640 token
	run invpull -c shop.conf shop
	expect_rc 78 "token file mode 640 (group): exit 78"
fi

# nothing was written anywhere
cmp -s stock.csv stock.orig && ok "stock file untouched" || notok "stock file untouched"
[ ! -e state ] && ok "no journal or state written" || notok "no journal or state written" "$(find state)"
