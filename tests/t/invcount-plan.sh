# invcount plan: ABC classes, the day's sheet, spot counts and recounts.
. "$(dirname "$0")/../lib.sh"
D=$DATA/invcount

# ABC by units sold (sales.ndjson; Z-999 is not in the book): A-100 500,
# B-200 250, C-300 120, D-400 60, E-500 40, F-600 20, G-700 10, H-800 0 of
# 1000.  Share sold before each: 0, 50, 75 % -> A; 87, 93 % -> B; 97, 99 %
# and H-800 (sold nothing) -> C.
run invcount plan --sales "$D/sales.ndjson" --full --show-book -v "$D/book.ndjson"
expect_rc 0 "full count"
expect_out "full count: every key, classes by velocity, book shown, walk order" <<'X'
sku,location,bin,barcode,description,class,book,qty,counter,counted_at,note
A-100,WH1,A-01,,T-shirt black M,A,200,,,,
B-200,WH1,A-03,4006381333931,Hoodie grey S,A,50,,,,
C-300,WH1,B-02,,Cap red,A,12,,,,
D-400,WH1,B-05,,,B,100,,,,
E-500,WH1,C-11,,,B,30,,,,
F-600,WH1,C-12,,,C,40,,,,
H-800,WH1,D-01,,,C,10,,,,
D-400,WH2,K-01,,,B,8,,,,
A-100,WH2,K-07,,T-shirt black M,A,40,,,,
G-700,WH2,K-09,,,C,0,,,,
X
expect_err "full count: summary" <<X
invcount: $D/sales.ndjson: 1 records of skus not in the book, not used
invcount: full count: 10 of 10 keys to count (A 4, B 3, C 3)
invcount: classes by units sold: A 4, B 3, C 3 keys; cycles 30, 90, 365 days
X

# ABC by stock value (values.ndjson): A-100 240 x 10 = 2400, C-300 240,
# B-200 225, D-400 216, E-500 37.5, F-600 32, G-700 0, H-800 no value; of
# 3150.5: A-100 and C-300 start below 80 % (A), B-200 (83.8 %) and D-400
# (90.9 %) below 95 % (B), the rest C.
run invcount plan -q --values "$D/values.ndjson" --full -F ndjson "$D/book.ndjson"
expect_out "classes by stock value, blind NDJSON sheet" <<'X'
{"sku":"A-100","location":"WH1","bin":"A-01","barcode":"","description":"T-shirt black M","class":"A","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"B-200","location":"WH1","bin":"A-03","barcode":"4006381333931","description":"Hoodie grey S","class":"B","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"C-300","location":"WH1","bin":"B-02","barcode":"","description":"Cap red","class":"A","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"D-400","location":"WH1","bin":"B-05","barcode":"","description":"","class":"B","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"E-500","location":"WH1","bin":"C-11","barcode":"","description":"","class":"C","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"F-600","location":"WH1","bin":"C-12","barcode":"","description":"","class":"C","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"H-800","location":"WH1","bin":"D-01","barcode":"","description":"","class":"C","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"D-400","location":"WH2","bin":"K-01","barcode":"","description":"","class":"B","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"A-100","location":"WH2","bin":"K-07","barcode":"","description":"T-shirt black M","class":"A","qty":null,"counter":null,"counted_at":null,"note":null}
{"sku":"G-700","location":"WH2","bin":"K-09","barcode":"","description":"","class":"C","qty":null,"counter":null,"counted_at":null,"note":null}
X
run invcount plan -q --full --abc 50,30,20 --values "$D/values.ndjson" -F ndjson "$D/book.ndjson"
expect_out_has "--abc shares: C-300 (76 % before it) becomes B" '"sku":"C-300","location":"WH1","bin":"B-02","barcode":"","description":"Cap red","class":"B"'

# The day's sheet.  Derived load: ceil(5/29 + 4/89 + 4/364) = 1 a day.
run invcount plan --sales "$D/sales.ndjson" --date 2026-03-02 -n 4 "$D/book.ndjson"
expect_rc 0 "day sheet"
expect_out "day sheet: 4 keys, blind" <<'X'
sku,location,bin,barcode,description,class,qty,counter,counted_at,note
A-100,WH1,A-01,,T-shirt black M,A,,,,
B-200,WH1,A-03,4006381333931,Hoodie grey S,A,,,,
E-500,WH1,C-11,,,B,,,,
A-100,WH2,K-07,,T-shirt black M,A,,,,
X
expect_err "day sheet: summary" <<'X'
invcount: 2026-03-02: 4 of 10 keys to count (A 3, B 1, C 0); 1 a day keeps every key within its cycle
X
cp "$T/out" "$T/day1.csv"
run invcount plan -q --sales "$D/sales.ndjson" --date 2026-03-02 -n 4 "$D/book.ndjson"
expect_out_file "printed twice, the same sheet" "$T/day1.csv"
run invcount plan -q --sales "$D/sales.ndjson" --date 2026-03-03 -n 4 "$D/book.ndjson"
if cmp -s "$T/out" "$T/day1.csv"; then notok "the next day, another sheet"; else ok "the next day, another sheet"; fi
run invcount plan -q --sales "$D/sales.ndjson" --date 2026-03-02 "$D/book.ndjson"
expect_out "derived load: one key" <<'X'
sku,location,bin,class,qty,counter,counted_at,note
D-400,WH2,K-01,B,,,,
X
run invcount plan --sales "$D/sales.ndjson" --date 2026-03-02 --cycles 1,90,365 "$D/book.ndjson"
expect_err_has "a one-day cycle: every A key daily" "4 of 10 keys to count (A 4, B 0, C 0); 5 a day"
# ceil(5/2 + 4/19 + 4/29) = 3 a day
run invcount plan --sales "$D/sales.ndjson" --date 2026-03-02 --cycles 3,20,30 -n 1 "$D/book.ndjson"
expect_err_has "too few a day: warned" "invcount: warning: --per-day 1 is fewer than the 3 a day that count every key within its cycle"

# History: A-100 at WH1 was counted yesterday, so a recently uncounted key
# takes its place; a count on the plan's own date changes nothing (a
# reprint later that day is the same sheet).
printf '{"sku":"A-100","location":"WH1","ts":"2026-03-01T10:00:00Z"}\n' > "$T/hist.ndjson"
run invcount plan -q --sales "$D/sales.ndjson" --date 2026-03-02 -n 4 --history "$T/hist.ndjson" "$D/book.ndjson"
expect_out "history: counted yesterday, not again today" <<'X'
sku,location,bin,barcode,description,class,qty,counter,counted_at,note
B-200,WH1,A-03,4006381333931,Hoodie grey S,A,,,,
C-300,WH1,B-02,,Cap red,A,,,,
D-400,WH1,B-05,,,B,,,,
A-100,WH2,K-07,,T-shirt black M,A,,,,
X
cp "$T/out" "$T/day1h.csv"
printf '{"sku":"B-200","location":"WH1","ts":"2026-03-02T08:00:00Z","qty":50}\n' >> "$T/hist.ndjson"
run invcount plan -q --sales "$D/sales.ndjson" --date 2026-03-02 -n 4 --history "$T/hist.ndjson" "$D/book.ndjson"
expect_out_file "history: a reprint on the day is the same sheet" "$T/day1h.csv"
printf '{"sku":"A-100","location":"WH1","ts":"yesterday"}\n' > "$T/badhist.ndjson"
run invcount plan --date 2026-03-02 --history "$T/badhist.ndjson" "$D/book.ndjson"
expect_rc 65 "history: a bad count time"
expect_err "history: bad time named" <<X
invcount: $T/badhist.ndjson:1: field 'ts': not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM): "yesterday"
X

# Spot counts: --only, --location (classes still over the whole book).
run invcount plan --only 'A-100, Z-999' --sales "$D/sales.ndjson" "$D/book.ndjson"
expect_out "--only: every location of the sku" <<'X'
sku,location,bin,description,class,qty,counter,counted_at,note
A-100,WH1,A-01,T-shirt black M,A,,,,
A-100,WH2,K-07,T-shirt black M,A,,,,
X
expect_err "--only: an unknown sku is named" <<'X'
invcount: --only: sku 'Z-999' is not in the book
invcount: spot count: 2 of 10 keys to count (A 2, B 0, C 0)
X
run invcount plan -q --location WH2 --full --sales "$D/sales.ndjson" "$D/book.ndjson"
expect_out "--location" <<'X'
sku,location,bin,description,class,qty,counter,counted_at,note
D-400,WH2,K-01,,B,,,,
A-100,WH2,K-07,T-shirt black M,A,,,,
G-700,WH2,K-09,,C,,,,
X

# Recount sheets from the hand-computed diffs (see invcount-report.sh):
# over the default tolerance are B-200 (2 > 0.5), E-500 (5 > 0.9) and G-700
# (not in the book); a floor of 2 units lets B-200 pass, 5 units E-500.
run invcount plan --recount "$D/diffs-hand.ndjson"
expect_rc 0 "recount"
expect_out "recount: over tolerance, with the first counter" <<'X'
sku,location,bin,class,first_counter,qty,counter,counted_at,note
B-200,WH1,A-03,A,mia,,,,
E-500,WH2,,B,jonas,,,,
G-700,WH2,,C,jonas,,,,
X
expect_err "recount: summary" <<'X'
invcount: recount 3 of 8 keys counted (over tolerance)
X
run invcount plan -q --recount "$D/diffs-hand.ndjson" --tolerance 2 --show-book
expect_out "recount: a floor of 2 units, book shown" <<'X'
sku,location,class,first_counter,book,qty,counter,counted_at,note
E-500,WH2,B,jonas,30,,,,
G-700,WH2,C,jonas,,,,,
X
run invcount plan -q --recount "$D/diffs-hand.ndjson" -t 5 -F ndjson
expect_out "recount: NDJSON" <<'X'
{"sku":"G-700","location":"WH2","class":"C","first_counter":"jonas","qty":null,"counter":null,"counted_at":null,"note":null}
X

# Bad input and usage.
printf '{"sku":"A","location":"W","qty":1}\n{"sku":"A","location":"W","qty":2}\n' > "$T/dup.ndjson"
run invcount plan --full "$T/dup.ndjson"
expect_rc 65 "duplicate key in the book"
expect_err "duplicate key named" <<X
invcount: $T/dup.ndjson:2: duplicate key (sku "A", location "W"), first at line 1
X
run invcount plan -q --full --reject "$T/rej" "$T/dup.ndjson"
expect_rc 0 "duplicate key with --reject"
expect_out "duplicate key with --reject: the first kept" <<'X'
sku,location,class,qty,counter,counted_at,note
A,W,C,,,,
X
run invcount plan "$T/missing.ndjson"
expect_rc 66 "missing book"
run invcount plan
expect_rc 64 "no book"
expect_err_has "no book: said" "invcount: the book is required"
run invcount plan --full -n 3 "$D/book.ndjson"
expect_rc 64 "--full with --per-day"
run invcount plan --cycles 30,0 "$D/book.ndjson"
expect_rc 64 "bad --cycles"
run invcount plan --abc 80,30 "$D/book.ndjson"
expect_rc 64 "bad --abc"
run invcount plan --date 2026-02-30 "$D/book.ndjson"
expect_rc 64 "bad --date"
run invcount plan -t 2 "$D/book.ndjson"
expect_rc 64 "--tolerance without --recount"
run invcount plan --recount "$D/diffs-hand.ndjson" "$D/book.ndjson"
expect_rc 64 "--recount with a book"
run invcount plan --help
expect_rc 0 "--help"
expect_out_has "--help: usage" "usage: invcount plan"
