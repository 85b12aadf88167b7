# invcount import: count sheets as staff hand them in.
. "$(dirname "$0")/../lib.sh"
D=$DATA/invcount

# A spreadsheet export: BOM, CRLF, ';', quotes, stray spaces, trailing empty
# rows; the same bin entered twice with the same number counts once.
run invcount import "$D/sheet-semicolon.csv"
expect_rc 0 "semicolon sheet with BOM and CRLF"
expect_out "semicolon sheet: one record per sku+location, bins summed" <<'X'
{"sku":"TSH-BLK-M","channel":"count","location":"WH-BER","qty":12,"ts":"2026-03-02T10:40:00Z","counter":"mia,jonas","bin":"A-01-1","note":"recount same bin"}
{"sku":"TSH-BLK-L","channel":"count","location":"WH-BER","qty":7,"ts":"2026-03-02T09:16:00Z","counter":"mia","bin":"A-01-2"}
{"sku":"HOD-GRY-S","channel":"count","location":"WH-BER","qty":5,"ts":"2026-03-02T09:31:00Z","counter":"mia","bin":"A-02-1,A-02-4","note":"torn bag; 1 unit in returns; overflow shelf"}
{"sku":"CAP-RED","channel":"count","location":"WH-BER","qty":0,"ts":"2026-03-02T10:02:00Z","counter":"jonas","bin":"B-11-1","note":"empty"}
{"sku":"JKT-NVY-XL","channel":"count","location":"WH-BER","qty":5,"ts":"2026-03-02T10:05:00Z","counter":"jonas","bin":"B-12-3"}
X
expect_err "summary adds up" <<'X'
invcount: 7 rows read = 7 used + 0 rejected; 5 counts written
X

run invcount import -F csv -q "$D/sheet-semicolon.csv"
expect_out "csv output" <<'X'
sku,channel,location,qty,ts,counter,bin,note
TSH-BLK-M,count,WH-BER,12,2026-03-02T10:40:00Z,"mia,jonas",A-01-1,recount same bin
TSH-BLK-L,count,WH-BER,7,2026-03-02T09:16:00Z,mia,A-01-2,
HOD-GRY-S,count,WH-BER,5,2026-03-02T09:31:00Z,mia,"A-02-1,A-02-4",torn bag; 1 unit in returns; overflow shelf
CAP-RED,count,WH-BER,0,2026-03-02T10:02:00Z,jonas,B-11-1,empty
JKT-NVY-XL,count,WH-BER,5,2026-03-02T10:05:00Z,jonas,B-12-3,
X
expect_err "-q: no summary" < /dev/null

# A GBK sheet with Chinese headers (商品编码, 库位, 数量, 盘点人, 盘点时间, 备注).
iconv -f UTF-8 -t GBK "$D/sheet-zh.csv" > "$T/zh-gbk.csv"
run invcount import "$T/zh-gbk.csv"
expect_rc 65 "GBK without --encoding is refused"
expect_err "GBK without --encoding: the hint" <<X
invcount: $T/zh-gbk.csv:1: header: invalid UTF-8 (is the file in another encoding? try --encoding GBK)
X
run invcount import --encoding GBK --location WH-SH "$T/zh-gbk.csv"
expect_rc 0 "GBK sheet"
expect_out "GBK sheet: Chinese headers and values" <<'X'
{"sku":"TSH-BLK-M","channel":"count","location":"WH-SH","qty":15,"ts":"2026-03-02T09:15:00Z","counter":"李娜","bin":"A-01-1,A-01-2"}
{"sku":"帽子-红","channel":"count","location":"WH-SH","qty":0,"ts":"2026-03-02T09:40:00Z","counter":"王伟","bin":"B-02-1","note":"空位"}
{"sku":"HOD-GRY-S","channel":"count","location":"WH-SH","qty":5,"ts":"2026-03-02T09:45:00Z","counter":"王伟","bin":"B-03-1","note":"破损1件"}
X
iconv -f UTF-8 -t GB18030 "$D/sheet-zh.csv" > "$T/zh-gb18030.csv"
run invcount import -q -e gb18030 -l WH-SH "$T/zh-gb18030.csv"
expect_out_file "GB18030 gives the same" "$T/expected"

# A byte sequence that is not GBK spoils its row, not the file.
{ iconv -f UTF-8 -t GBK "$D/sheet-zh.csv"; printf 'X-1,A-9,\x81\x20,li,,\n'; } > "$T/zh-bad.csv"
run invcount import -e GBK --reject "$T/rej" "$T/zh-bad.csv"
expect_rc 0 "bad GBK bytes: row rejected"
expect_err_has "bad GBK bytes: summary" "5 rows read = 4 used + 1 rejected"
if grep -q '"line":6,"error":"invalid byte sequence for the encoding' "$T/rej"; then
	ok "bad GBK bytes: reason and line"
else
	notok "bad GBK bytes: reason and line" "$(cat "$T/rej")"
fi

# Excel's "Unicode text": UTF-16 with a BOM, tabs, CRLF; found without --encoding.
iconv -f UTF-8 -t UTF-16 "$D/sheet-tab.txt" > "$T/utf16.txt"
run invcount import --at '2026-03-02 18:00' "$T/utf16.txt"
expect_rc 0 "UTF-16 sheet"
expect_out "UTF-16 sheet: tab-delimited, item code and quantity headers" <<'X'
{"sku":"TSH-BLK-M","channel":"count","location":"WH-BER","qty":12,"ts":"2026-03-02T18:00:00Z","counter":"mia","bin":"A-01-1"}
{"sku":"CAP-RED","channel":"count","location":"WH-BER","qty":4,"ts":"2026-03-02T18:00:00Z","counter":"mia","bin":"B-11-1"}
{"sku":"JKT-NVY-XL","channel":"count","location":"WH-LDN","qty":0,"ts":"2026-03-02T18:00:00Z","counter":"jonas","bin":"C-01-1"}
X
iconv -f UTF-8 -t UTF-16LE "$D/sheet-tab.txt" > "$T/utf16le.txt"
run invcount import -q --at '2026-03-02T18:00:00Z' --encoding UTF-16LE "$T/utf16le.txt"
expect_out_file "UTF-16LE without a BOM, with --encoding" "$T/expected"
run invcount import "$T/utf16le.txt"
expect_rc 65 "UTF-16 without a BOM or --encoding is refused"
expect_err_has "UTF-16 without a BOM: the hint" "try --encoding UTF-16"

# A scanner export: no qty column, one row per scan, barcodes resolved to
# skus, a case barcode worth 12.
run invcount import -b "$D/barcodes.csv" -l WH1 "$D/scanner.csv"
expect_rc 0 "scanner export"
expect_out "scanner export: scans summed, case units applied" <<'X'
{"sku":"PEN-BLU","channel":"count","location":"WH1","qty":15,"ts":"2026-03-02T09:02:00Z","bin":"A-01,A-02,A-03"}
{"sku":"NBK-A5","channel":"count","location":"WH1","qty":1,"ts":"2026-03-02T09:03:00Z","bin":"A-04"}
X
STDIN=/dev/null
printf 'barcode,qty\n4006381333931,1\n777,2\n' > "$T/bc.csv"
run invcount import -b "$D/barcodes.csv" "$T/bc.csv"
expect_rc 65 "unknown barcode"
expect_err "unknown barcode: named" <<X
invcount: $T/bc.csv:3: column 1 'barcode': unknown barcode: "777"
X
printf 'sku,barcode,qty\nPEN-RED,4006381333931,1\n' > "$T/bc2.csv"
run invcount import -b "$D/barcodes.csv" "$T/bc2.csv"
expect_rc 65 "barcode of another sku"
expect_err_has "barcode of another sku: named" "barcode \"4006381333931\" is sku \"PEN-BLU\", not \"PEN-RED\""
run invcount import "$T/bc.csv"
expect_rc 65 "barcodes without --barcodes"
expect_err_has "barcodes without --barcodes: the hint" "give --barcodes FILE"

# The same bin counted twice with different numbers, in two sheets.
run invcount import "$D/count-aisle-a.csv" "$D/count-aisle-a-again.csv"
expect_rc 65 "conflicting counts of a bin"
expect_empty_out "conflicting counts: nothing written"
expect_err "conflicting counts: both places named" <<X
invcount: $D/count-aisle-a-again.csv:3: column 4 'qty': bin "A-03" of sku "B-200" at location "WH1" counted twice with different numbers: 6 here, 4 at $D/count-aisle-a.csv:4 (use --sum to add them up)
X
run invcount import --reject "$T/rej" "$D/count-aisle-a.csv" "$D/count-aisle-a-again.csv"
expect_rc 0 "conflicting counts with --reject"
expect_out "conflicting counts: that key is left out, the rest written" <<'X'
{"sku":"A-100","channel":"count","location":"WH1","qty":7,"counter":"mia,jonas","bin":"A-01,A-02"}
X
expect_err "conflicting counts: every row accounted for" <<X
invcount: 5 rows read = 3 used + 2 rejected to $T/rej; 1 count written, 1 without a count time (see --at)
X
cat > "$T/expected" <<X
{"file":"$D/count-aisle-a-again.csv","line":3,"error":"column 4 'qty': bin \"A-03\" of sku \"B-200\" at location \"WH1\" counted twice with different numbers: 6 here, 4 at $D/count-aisle-a.csv:4 (use --sum to add them up)","text":"B-200,WH1,A-03,6,jonas"}
{"file":"$D/count-aisle-a.csv","line":4,"error":"bin \"A-03\" of sku \"B-200\" at location \"WH1\" has conflicting counts ($D/count-aisle-a.csv:4 and $D/count-aisle-a-again.csv:3), so its count was not written","text":"B-200,WH1,A-03,4,mia"}
X
if cmp -s "$T/expected" "$T/rej"; then ok "conflicting counts: both rows in the reject file"; else
	notok "conflicting counts: both rows in the reject file" "$(diff "$T/expected" "$T/rej")"; fi
run invcount import -q --sum "$D/count-aisle-a.csv" "$D/count-aisle-a-again.csv"
expect_out "--sum adds up every row" <<'X'
{"sku":"A-100","channel":"count","location":"WH1","qty":12,"counter":"mia,jonas","bin":"A-01,A-02"}
{"sku":"B-200","channel":"count","location":"WH1","qty":10,"counter":"mia,jonas","bin":"A-03"}
X

# Bad rows: strict stops at the first, --reject names each and goes on.
run invcount import "$D/bad-rows.csv"
expect_rc 65 "bad rows: strict"
expect_empty_out "bad rows: strict writes nothing"
expect_err "bad rows: file, line, column, why" <<X
invcount: $D/bad-rows.csv:3: column 3 'qty': negative quantity: "-2"
X
run invcount import --reject "$T/rej" "$D/bad-rows.csv"
expect_rc 0 "bad rows: --reject"
expect_out "bad rows: the good ones written (12.00 is 12)" <<'X'
{"sku":"A-1","channel":"count","location":"","qty":4,"counter":"li","bin":"X1"}
{"sku":"F-6","channel":"count","location":"","qty":3,"counter":"li","bin":"Z2"}
{"sku":"G-7","channel":"count","location":"","qty":1,"counter":"li","bin":"Z3"}
X
expect_err_has "bad rows: rows read = used + rejected" "9 rows read = 3 used + 6 rejected to $T/rej"
cat > "$T/expected" <<X
{"file":"$D/bad-rows.csv","line":3,"error":"column 3 'qty': negative quantity: \"-2\"","text":"A-1,X2,-2,li"}
{"file":"$D/bad-rows.csv","line":4,"error":"column 3 'qty': fractional quantity: \"1.5\"","text":"B-2,Y1,1.5,li"}
{"file":"$D/bad-rows.csv","line":5,"error":"column 1 'sku': empty sku","text":",Y2,3,li"}
{"file":"$D/bad-rows.csv","line":6,"error":"column 3 'qty': empty (not counted? write 0 for a place found empty)","text":"C-3,Y3,,li"}
{"file":"$D/bad-rows.csv","line":7,"error":"column 3 'qty': not a whole number: \"twelve\"","text":"D-4,Y4,twelve,li"}
{"file":"$D/bad-rows.csv","line":8,"error":"5 cells where the header has 4: column 5 has no header: \"extra\"","text":"E-5,Z1,2,li,extra"}
X
if cmp -s "$T/expected" "$T/rej"; then ok "bad rows: each with its reason"; else
	notok "bad rows: each with its reason" "$(diff "$T/expected" "$T/rej")"; fi

# A quoted cell across lines, and an unterminated quote at the end.
printf 'sku,qty,note\nA-1,2,"two lines,\nof note"\nA-2,1,"never closed\n' > "$T/q.csv"
run invcount import --reject "$T/rej" "$T/q.csv"
expect_out "quoted newline kept in the note" <<'X'
{"sku":"A-1","channel":"count","location":"","qty":2,"note":"two lines,\nof note"}
X
expect_err_has "unterminated quote rejected" "2 rows read = 1 used + 1 rejected"
if grep -q '"line":4,"error":"unterminated quoted field (the quote opened at line 4)"' "$T/rej"; then
	ok "unterminated quote: line named"; else notok "unterminated quote: line named" "$(cat "$T/rej")"; fi

# Headers no synonym covers: --columns by name or number; a title row first.
run invcount import "$D/sheet-columns.csv"
expect_rc 65 "unknown headers"
expect_err_has "unknown headers: the hint" "no header found: no column is named sku, barcode or a synonym (see --columns)"
run invcount import -c sku=Artikel,qty=2,location=3 "$D/sheet-columns.csv"
expect_rc 0 "--columns by name and number"
expect_out "--columns: title rows above the header skipped" <<'X'
{"sku":"A-100","channel":"count","location":"WH1","qty":3}
{"sku":"B-200","channel":"count","location":"WH1","qty":12}
X
expect_err_has "--columns: skipped lines said" "1 line before the header skipped"
printf 'A-1,3\nA-2 , 0\n' > "$T/nh.csv"
run invcount import -q --no-header --columns sku=1,qty=2 "$T/nh.csv"
expect_out "--no-header" <<'X'
{"sku":"A-1","channel":"count","location":"","qty":3}
{"sku":"A-2","channel":"count","location":"","qty":0}
X
printf 'sku,count,qty\nA,1,2\n' > "$T/amb.csv"
run invcount import "$T/amb.csv"
expect_rc 65 "two quantity columns"
expect_err_has "two quantity columns: named" "columns 2 \"count\" and 3 \"qty\" both mean 'qty'"

# Count times.
printf 'sku,qty,counted_at\nA,1,02/03/2026\n' > "$T/ts.csv"
run invcount import "$T/ts.csv"
expect_rc 65 "ambiguous date refused"
expect_err_has "ambiguous date: column named" "column 3 'counted_at': not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM): \"02/03/2026\""
printf 'sku,qty,counted_at\nA,1,2026-03-02T09:00:00+08:00\nB,2,\n' > "$T/ts.csv"
run invcount import -q --at '2026-03-02 17:00' "$T/ts.csv"
expect_out "offsets converted to UTC, --at for empty cells" <<'X'
{"sku":"A","channel":"count","location":"","qty":1,"ts":"2026-03-02T01:00:00Z"}
{"sku":"B","channel":"count","location":"","qty":2,"ts":"2026-03-02T17:00:00Z"}
X

# Usage and missing input.
run invcount import --encoding NOPE "$T/ts.csv"
expect_rc 64 "unknown encoding is a usage error"
run invcount import "$T/missing.csv"
expect_rc 66 "missing file"
expect_err "missing file: named" <<X
invcount: $T/missing.csv: No such file or directory
X
run invcount import --columns sku "$T/ts.csv"
expect_rc 64 "bad --columns"
run invcount import --no-header "$T/ts.csv"
expect_rc 64 "--no-header without --columns"
run invcount import --help
expect_rc 0 "--help"
expect_out_has "--help: usage" "usage: invcount import"
run_in invcount import -q < "$D/sheet-semicolon.csv"
expect_rc 0 "standard input"
expect_out_has "standard input: read" '"sku":"CAP-RED"'
