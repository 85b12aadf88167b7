# invdiff: formats - CSV on either side (auto-detected; BOM, CRLF, quoted
# cells), NDJSON with BOM and CRLF, mixed inputs, -F csv (header union,
# quoting, JSON values as text), -F table (aligned, wide characters, colour
# only on a terminal and never with NO_COLOR), and the man page's example.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
D=$DATA/invdiff

cat > have.ndjson <<'X'
{"sku":"A","location":"w","qty":4,"item":"i-A"}
{"sku":"B,1","location":"w","qty":3,"dims":[3,4],"n":null,"b":true,"o":{"k":1},"a,b":"x"}
{"sku":"Q","location":"w","qty":1,"note":"line1\nline2"}
X

# WANT as CSV (BOM, CRLF, quoted cells), HAVE as NDJSON.  Unknown cells
# become JSON strings ("0042", ""); known numeric ones numbers (units).
run invdiff "$D/want-bom-crlf.csv" have.ndjson
expect_rc 0 "csv want, ndjson have: exit 0"
expect_out "csv want, ndjson have: BOM, CRLF and quoting undone" <<'X'
{"sku":"A","location":"w","item":"i-A","note":"say \"hi\", ok","code":"0042","units":6,"from":4,"to":5,"delta":1,"reason":"sync"}
{"sku":"Q","location":"w","note":"line1\nline2","from":1,"to":0,"delta":-1,"reason":"sync"}
{"sku":"C","location":"w","note":" pad ","code":"","units":12,"from":null,"to":-2,"delta":-2,"reason":"sync"}
X
expect_err "csv want, ndjson have: summary" <<'X'
invdiff: 4 keys: 1 equal, 1 changed, 1 only in want, 1 only in have, 0 within tolerance; total |delta| 4
X

# the other way round: HAVE as CSV; an empty known numeric cell is null
run invdiff -q -a have.ndjson "$D/want-bom-crlf.csv"
expect_rc 0 "ndjson want, csv have: exit 0"
expect_out "ndjson want, csv have" <<'X'
{"sku":"A","location":"w","note":"say \"hi\", ok","code":"0042","units":6,"item":"i-A","from":5,"to":4,"delta":-1,"reason":"sync","status":"changed"}
{"sku":"B,1","location":"w","note":"plain","code":"7","units":null,"dims":[3,4],"n":null,"b":true,"o":{"k":1},"a,b":"x","from":3,"to":3,"delta":0,"reason":"sync","status":"same"}
{"sku":"C","location":"w","note":" pad ","code":"","units":12,"from":-2,"to":0,"delta":2,"reason":"sync","status":"removed"}
{"sku":"Q","location":"w","note":"line1\nline2","from":null,"to":1,"delta":1,"reason":"sync","status":"added"}
X

# CSV on both sides, a quoted cell spanning two lines, quoted header
printf 'sku,"location",qty,note\nA,w,1,"two\nlines"\nB,w,2,x\n' > w.csv
printf '"sku",location,qty\nB,w,5\nA,w,1\n' > h.csv
run invdiff -q w.csv h.csv
expect_out "csv on both sides" <<'X'
{"sku":"B","location":"w","note":"x","from":5,"to":2,"delta":-3,"reason":"sync"}
X

# NDJSON with a BOM and CRLF line ends, and a blank line
printf '\xef\xbb\xbf{"sku":"A","location":"w","qty":4}\r\n\r\n{"sku":"B","qty":1}\r\n' > bom-crlf.ndjson
run invdiff -q have.ndjson bom-crlf.ndjson
expect_out "ndjson with BOM and CRLF" <<'X'
{"sku":"B","from":1,"to":0,"delta":-1,"reason":"sync"}
{"sku":"B,1","location":"w","dims":[3,4],"n":null,"b":true,"o":{"k":1},"a,b":"x","from":null,"to":3,"delta":3,"reason":"sync"}
{"sku":"Q","location":"w","note":"line1\nline2","from":null,"to":1,"delta":1,"reason":"sync"}
X

# -F csv: header is the union of all fields in order of first appearance;
# cells quoted where RFC 4180 needs it (and for edge spaces); JSON values
# other than strings as their JSON text; null as an empty cell.
run invdiff -q -a -F csv "$D/want-bom-crlf.csv" have.ndjson
expect_rc 0 "-F csv: exit 0"
expect_out "-F csv: header union and quoting" <<'X'
sku,location,item,note,code,units,from,to,delta,reason,status,dims,n,b,o,"a,b"
A,w,i-A,"say ""hi"", ok",0042,6,4,5,1,sync,changed,,,,,
"B,1",w,,plain,7,,3,3,0,sync,same,"[3,4]",,true,"{""k"":1}",x
Q,w,,"line1
line2",,,1,0,-1,sync,removed,,,,,
C,w,," pad ",,12,,-2,-2,sync,added,,,,,
X
# -F table: aligned columns, numbers right-aligned, control characters as
# spaces, no trailing spaces; no colour when stdout is not a terminal.
run invdiff -q -a -F table "$D/want-bom-crlf.csv" have.ndjson
expect_rc 0 "-F table: exit 0"
expect_out "-F table: aligned" <<'X'
sku  location  item  note          code  units  from  to  delta  reason  status   dims   n  b     o        a,b
A    w         i-A   say "hi", ok  0042      6     4   5      1  sync    changed
B,1  w               plain            7            3   3      0  sync    same     [3,4]     true  {"k":1}  x
Q    w               line1 line2                   1   0     -1  sync    removed
C    w                pad                   12        -2     -2  sync    added
X
if grep -q "$(printf '\033')" "$T/out"; then notok "-F table: no escape codes when not a terminal"
else ok "-F table: no escape codes when not a terminal"; fi

# wide (CJK) characters take two columns
printf '%s\n' '{"sku":"茶-001","location":"上海","qty":3}' '{"sku":"A","location":"w","qty":10}' > w-cjk.ndjson
printf '%s\n' '{"sku":"茶-001","location":"上海","qty":12,"note":"绿茶"}' '{"sku":"A","location":"w","qty":1,"note":"x"}' > h-cjk.ndjson
run invdiff -q -F table w-cjk.ndjson h-cjk.ndjson
expect_out "-F table: CJK aligned by display width" <<'X'
sku     location  note  from  to  delta  reason
茶-001  上海      绿茶    12   3     -9  sync
A       w         x        1  10      9  sync
X

# colour on a terminal (run under script(1) for a pty), none with NO_COLOR
esc=$(printf '\033[')
if command -v script > /dev/null; then
	TERM=xterm script -qec "invdiff -q -F table w-cjk.ndjson h-cjk.ndjson" /dev/null > tty.out 2>&1
	if grep -qF "${esc}1m" tty.out && grep -qF "${esc}31m" tty.out; then ok "-F table: colour on a terminal"
	else notok "-F table: colour on a terminal" "$(cat -v tty.out | head -3)"; fi
	NO_COLOR=1 TERM=xterm script -qec "invdiff -q -F table w-cjk.ndjson h-cjk.ndjson" /dev/null > tty.out 2>&1
	if grep -qF "$esc" tty.out; then notok "-F table: NO_COLOR respected on a terminal" "$(cat -v tty.out | head -3)"
	elif grep -q '^茶-001  上海' tty.out; then ok "-F table: NO_COLOR respected on a terminal"
	else notok "-F table: NO_COLOR respected on a terminal" "no table: $(cat -v tty.out | head -3)"; fi
	TERM=xterm script -qec "invdiff -q w-cjk.ndjson h-cjk.ndjson" /dev/null > tty.out 2>&1
	if grep -qF "$esc" tty.out; then notok "ndjson on a terminal: no colour" "$(cat -v tty.out | head -3)"
	else ok "ndjson on a terminal: no colour"; fi
else
	notok "-F table: colour on a terminal" "script(1) not found (util-linux)"
fi

# -F with a bad value
run invdiff -F bogus w-cjk.ndjson h-cjk.ndjson
expect_rc 64 "-F bogus: exit 64"
expect_err "-F bogus: message" <<'X'
invdiff: unknown format 'bogus' (ndjson, csv or table)
X
expect_empty_out "-F bogus: nothing on stdout"

# the example of invdiff(1): a count sheet as CSV against the book
run invdiff -p -r count -F csv "$D/counts.csv" "$D/book.ndjson"
expect_rc 0 "man page example: exit 0"
expect_out "man page example: output as documented" <<'X'
sku,channel,location,ts,counter,from,to,delta,reason
A-100,wms,wh1,2026-03-02T09:14:00Z,mia,9,7,-2,count
C-300,wms,wh1,2026-03-02T09:20:00Z,mia,2,0,-2,count
X

# a CR LF inside a quoted CSV cell is data and stays CR LF; the CR LF that
# ends a line is a line end
printf 'sku,qty,note\r\nA,1,"x\r\ny"\r\nB,2,plain\r\n' > "$T/crq.csv"
run invdiff -q "$T/crq.csv" /dev/null
expect_rc 0 "CR LF in a quoted cell: exit 0"
expect_out "CR LF in a quoted cell: kept as data" <<'X'
{"sku":"A","note":"x\r\ny","from":null,"to":1,"delta":1,"reason":"sync"}
{"sku":"B","note":"plain","from":null,"to":2,"delta":2,"reason":"sync"}
X
