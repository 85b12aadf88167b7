# invcount report: accuracy figures against a hand-computed example.
. "$(dirname "$0")/../lib.sh"
D=$DATA/invcount

# diffs-hand.ndjson: 8 keys counted (I-900 is "removed": in the book, not
# counted, so not part of the report).  Default tolerances A 1%, B 3%,
# C 5% of the book, no floor; unit values from values.ndjson (H-800 has none).
#
#   key        class book counted delta tolerance       hit  value   delta*value
#   A-100 WH1  A     200  198      -2   1% of 200 = 2   yes  10.00   -20.00
#   B-200 WH1  A      50   52      +2   1% of 50 = 0.5  no    4.50    +9.00
#   C-300 WH2  A       0    0       0   0               yes  20.00     0.00
#   D-400 WH1  B     100   97      -3   3% of 100 = 3   yes   2.00    -6.00
#   E-500 WH2  B      30   25      -5   3% of 30 = 0.9  no    1.25    -6.25
#   F-600 WH1  C      40   42      +2   5% of 40 = 2    yes   0.80    +1.60
#   G-700 WH2  C    null    6      +6   0 (not in book) no    3.00   +18.00
#   H-800 WH1  -      10   10       0   0               yes   -         -
#
# total: 8 keys, 5 hits, IRA 62.5%; gross 2+2+3+5+2+6 = 20 units, net 0;
#   gross value 20+9+6+6.25+1.60+18 = 60.85, net -20+9-6-6.25+1.60+18 = -3.65.
# class A: 3 keys, 2 hits (66.7%), gross 4, net 0, value 29.00 / -11.00.
# class B: 2 keys, 1 hit, gross 8, net -8, value 12.25 / -12.25.
# class C: 2 keys, 1 hit, gross 8, net 8, value 19.60 / 19.60, 1 not in book.
# WH1: A-100 B-200 D-400 F-600 H-800: 5 keys, 4 hits (80.0%), gross 9, net -1,
#   value 20+9+6+1.60 = 36.60 / -20+9-6+1.60 = -15.40.
# WH2: C-300 E-500 G-700: 3 keys, 1 hit (33.3%), gross 11, net 1,
#   value 6.25+18 = 24.25 / -6.25+18 = 11.75.
# Worst by |delta*value|: A-100 20.00, G-700 18.00, B-200 9.00, E-500 6.25,
#   D-400 6.00, F-600 1.60 (keys with delta 0 are not listed).
run invcount report --values "$D/values.ndjson" "$D/diffs-hand.ndjson"
expect_rc 0 "report runs"
expect_out "the hand-computed figures" <<'X'
{"group":"total","keys":8,"hits":5,"ira":62.5,"gross_units":20,"net_units":0,"gross_value":60.85,"net_value":-3.65,"without_value":1,"not_in_book":1}
{"group":"class","class":"A","keys":3,"hits":2,"ira":66.7,"gross_units":4,"net_units":0,"gross_value":29.00,"net_value":-11.00,"not_in_book":0}
{"group":"class","class":"B","keys":2,"hits":1,"ira":50.0,"gross_units":8,"net_units":-8,"gross_value":12.25,"net_value":-12.25,"not_in_book":0}
{"group":"class","class":"C","keys":2,"hits":1,"ira":50.0,"gross_units":8,"net_units":8,"gross_value":19.60,"net_value":19.60,"not_in_book":1}
{"group":"class","class":"-","keys":1,"hits":1,"ira":100.0,"gross_units":0,"net_units":0,"gross_value":0.00,"net_value":0.00,"without_value":1,"not_in_book":0}
{"group":"location","location":"WH1","keys":5,"hits":4,"ira":80.0,"gross_units":9,"net_units":-1,"gross_value":36.60,"net_value":-15.40,"without_value":1,"not_in_book":0}
{"group":"location","location":"WH2","keys":3,"hits":1,"ira":33.3,"gross_units":11,"net_units":1,"gross_value":24.25,"net_value":11.75,"not_in_book":1}
{"group":"worst","rank":1,"sku":"A-100","location":"WH1","class":"A","counter":"mia","book":200,"counted":198,"delta":-2,"value":-20.00}
{"group":"worst","rank":2,"sku":"G-700","location":"WH2","class":"C","counter":"jonas","book":null,"counted":6,"delta":6,"value":18.00}
{"group":"worst","rank":3,"sku":"B-200","location":"WH1","class":"A","counter":"mia","book":50,"counted":52,"delta":2,"value":9.00}
{"group":"worst","rank":4,"sku":"E-500","location":"WH2","class":"B","counter":"jonas","book":30,"counted":25,"delta":-5,"value":-6.25}
{"group":"worst","rank":5,"sku":"D-400","location":"WH1","class":"B","counter":"mia","book":100,"counted":97,"delta":-3,"value":-6.00}
{"group":"worst","rank":6,"sku":"F-600","location":"WH1","class":"C","counter":"mia","book":40,"counted":42,"delta":2,"value":1.60}
X
expect_err "summary line" <<'X'
invcount: 8 keys counted, 5 within tolerance: IRA 62.5%
X

run invcount report -q -F table -n 3 --values "$D/values.ndjson" "$D/diffs-hand.ndjson"
expect_out "table for people" <<'X'
group         keys  hits  ira    gross_units  net_units  gross_value  net_value  without_value  not_in_book
total            8     5   62.5           20          0        60.85      -3.65              1            1
class A          3     2   66.7            4          0        29.00     -11.00              0            0
class B          2     1   50.0            8         -8        12.25     -12.25              0            0
class C          2     1   50.0            8          8        19.60      19.60              0            1
class -          1     1  100.0            0          0         0.00       0.00              1            0
location WH1     5     4   80.0            9         -1        36.60     -15.40              1            0
location WH2     3     1   33.3           11          1        24.25      11.75              0            1

rank  sku    location  class  counter  book  counted  delta  value
   1  A-100  WH1       A      mia       200      198     -2  -20.00
   2  G-700  WH2       C      jonas                6      6   18.00
   3  B-200  WH1       A      mia        50       52      2    9.00
X

# A floor of 3 units makes B-200 (2) and D-400 (3) hits in every class;
# without values there are no money figures.
run invcount report -q -t 3 -n 0 "$D/diffs-hand.ndjson"
expect_out "--tolerance floor, no values" <<'X'
{"group":"total","keys":8,"hits":6,"ira":75.0,"gross_units":20,"net_units":0,"not_in_book":1}
{"group":"class","class":"A","keys":3,"hits":3,"ira":100.0,"gross_units":4,"net_units":0,"not_in_book":0}
{"group":"class","class":"B","keys":2,"hits":1,"ira":50.0,"gross_units":8,"net_units":-8,"not_in_book":0}
{"group":"class","class":"C","keys":2,"hits":1,"ira":50.0,"gross_units":8,"net_units":8,"not_in_book":1}
{"group":"class","class":"-","keys":1,"hits":1,"ira":100.0,"gross_units":0,"net_units":0,"not_in_book":0}
{"group":"location","location":"WH1","keys":5,"hits":5,"ira":100.0,"gross_units":9,"net_units":-1,"not_in_book":0}
{"group":"location","location":"WH2","keys":3,"hits":1,"ira":33.3,"gross_units":11,"net_units":1,"not_in_book":1}
X
# Class tolerances: B at 20% makes E-500 (5 of 30) a hit; floor and the
# others stay.
run invcount report -q -t B=20% -n 0 "$D/diffs-hand.ndjson"
expect_out_has "--tolerance per class" '{"group":"class","class":"B","keys":2,"hits":2,"ira":100.0'

# Unit values carried in the diffs themselves.
sed 's/"class":"A",/"class":"A","value":"1.5",/' "$D/diffs-hand.ndjson" > "$T/v.ndjson"
run invcount report -q -n 1 "$T/v.ndjson"
expect_out_has "value field in the records" '"gross_value":6.00,"net_value":0.00,"without_value":5'

# An empty count.
run invcount report -q /dev/null
expect_out "no keys: IRA null" <<'X'
{"group":"total","keys":0,"hits":0,"ira":null,"gross_units":0,"net_units":0,"not_in_book":0}
X

# Bad input.
printf '{"sku":"X","location":"W","from":2,"to":3,"delta":5}\n' > "$T/bad.ndjson"
run invcount report "$T/bad.ndjson"
expect_rc 65 "delta that is not to - from"
expect_err "bad delta named" <<X
invcount: $T/bad.ndjson:1: field 'delta': 5 is not to - from (1)
X
printf '{"sku":"X","location":"W","from":2,"to":3}\n{"sku":"X","location":"W","from":2,"to":4}\n{"sku":"Y","qty":3}\n' > "$T/bad.ndjson"
run invcount report -q --reject "$T/rej" "$T/bad.ndjson"
expect_rc 0 "--reject goes on"
expect_out_has "--reject: the good key counted" '{"group":"total","keys":1,'
if grep -q '"line":2,"error":"duplicate key (sku \\"X\\", location \\"W\\"), first at line 1"' "$T/rej" &&
    grep -q '"line":3,"error":"field '"'"'to'"'"': missing (is this invdiff output?)"' "$T/rej"; then
	ok "--reject: duplicate key and a stock record named"
else
	notok "--reject: duplicate key and a stock record named" "$(cat "$T/rej")"
fi
run invcount report "$T/missing.ndjson"
expect_rc 66 "missing diffs"
run invcount report -t 'A=x%' "$D/diffs-hand.ndjson"
expect_rc 64 "bad tolerance"
expect_err_has "bad tolerance named" "--tolerance: bad percentage: 'A=x%'"
run invcount report a b
expect_rc 64 "two operands"
