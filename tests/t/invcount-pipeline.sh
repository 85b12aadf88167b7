# invcount: the whole cycle-count flow as a pipeline, exactly as the README
# and invcount(1) show it: plan today's sheet, staff fill it (a script here,
# with the shelves' true quantities), import it and diff it against the
# book, report accuracy, and plan the recount of what was off.  The sheet
# is today's, so the test checks the figures against what the script put
# on the sheet rather than against fixed text.
. "$(dirname "$0")/../lib.sh"

cd "$T" || exit 1
python3 - <<'PY'
import json, random
rnd = random.Random(7)
with open("book.ndjson", "w") as book, open("sales.ndjson", "w") as sales, open("shelves.ndjson", "w") as shelves:
    for i in range(120):
        sku = "SKU-%03d" % i
        for loc in (["WH1", "WH2"] if i % 4 == 0 else ["WH1"]):
            q = rnd.randint(0, 80)
            book.write(json.dumps({"sku": sku, "channel": "wms", "location": loc, "qty": q,
                                   "ts": "2026-03-02T06:00:00Z", "bin": "%s-%02d" % ("ABCD"[i % 4], i % 30)}) + "\n")
            r = rnd.random()
            true = q if r < 0.6 else max(0, q + rnd.choice([-5, -4, -2, -1, 3, 6]))
            shelves.write(json.dumps({"sku": sku, "location": loc, "qty": true}) + "\n")
        sales.write(json.dumps({"sku": sku, "qty": int(900 / (i + 1))}) + "\n")
PY
# What staff do: count every row of the sheet, write who and when.
cat > fill.py <<'PY'
import csv, json, sys
sheet, who = sys.argv[1], sys.argv[2:]
true = {(r["sku"], r["location"]): r["qty"] for r in map(json.loads, open("shelves.ndjson"))}
rows = list(csv.DictReader(open(sheet, newline="")))
with open(sheet, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\r\n")
    w.writeheader()
    for i, r in enumerate(rows):
        r["qty"] = true[(r["sku"], r["location"])]
        # a recount goes to someone other than the first counter
        r["counter"] = [p for p in who if p != r.get("first_counter")][i % (len(who) - 1 if "first_counter" in r else len(who))]
        r["counted_at"] = "2026-03-02 %02d:%02d" % (9 + i // 60, i % 60)
        w.writerow(r)
PY

exec 3>&2 2>> "$T/pipeline.err"	# the tools' summaries, kept out of the TAP output
invcount plan book.ndjson --sales sales.ndjson --per-day 40 > today.csv
rc=$?; expect_rc 0 "plan"
n=$(($(wc -l < today.csv) - 1))
[ "$n" -eq 40 ] && ok "plan: 40 keys on the sheet" || notok "plan: 40 keys on the sheet" "$n rows"
head -1 today.csv > "$T/out"
expect_out "plan: a blind sheet to fill" <<'X'
sku,location,bin,class,qty,counter,counted_at,note
X

python3 fill.py today.csv mia jonas
invcount import today.csv | invdiff --partial --all - book.ndjson > diffs.ndjson
rc=$?; expect_rc 0 "import | invdiff"
python3 - > "$T/check" <<'PY'
import csv, json
book = {(r["sku"], r["location"]): r for r in map(json.loads, open("book.ndjson"))}
sheet = list(csv.DictReader(open("today.csv", newline="")))
diffs = {(r["sku"], r["location"]): r for r in map(json.loads, open("diffs.ndjson"))}
bad = []
if len(diffs) != len(sheet): bad.append("%d diffs for %d rows" % (len(diffs), len(sheet)))
tol = {"A": 1, "B": 3, "C": 5}
hits = gross = net = 0
over = []
for r in sheet:
    k = (r["sku"], r["location"]); d = diffs.get(k)
    if not d: bad.append("no diff for %s" % (k,)); continue
    b, c = book[k]["qty"], int(r["qty"])
    if (d["from"], d["to"], d["delta"]) != (b, c, c - b): bad.append("wrong diff %s" % d)
    if d["counter"] != r["counter"] or d["class"] != r["class"]: bad.append("count fields lost %s" % d)
    if d["from_ts"] != book[k]["ts"] or not d["ts"].startswith("2026-03-02T"): bad.append("times %s" % d)
    delta = c - b
    hits += abs(delta) * 100 <= tol[r["class"]] * abs(b)
    gross += abs(delta); net += delta
    if abs(delta) > max(2, tol[r["class"]] * abs(b) / 100): over.append(k)
print("bad:", bad[:3])
print(json.dumps({"keys": len(sheet), "hits": hits, "gross_units": gross, "net_units": net}))
print("over:", json.dumps(sorted(over)))
PY
grep -q '^bad: \[\]' "$T/check" && ok "diffs: counted minus book, count fields carried" || notok "diffs: counted minus book, count fields carried" "$(cat "$T/check")"

invcount report diffs.ndjson -F table > report.txt
rc=$?; expect_rc 0 "report -F table"
want=$(sed -n 2p "$T/check")
invcount report -q diffs.ndjson > report.ndjson
got=$(head -1 report.ndjson | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("keys","hits","gross_units","net_units")}))')
[ "$got" = "$want" ] && ok "report: figures agree with the sheet" || notok "report: figures agree with the sheet" "got $got, want $want"
grep -q '^total  *40 ' report.txt && ok "report: table for people" || notok "report: table for people" "$(head -3 report.txt)"

invcount plan --recount diffs.ndjson --tolerance 2 > recount.csv
rc=$?; expect_rc 0 "plan --recount"
got=$(python3 -c 'import csv,json; print(json.dumps(sorted((r["sku"], r["location"]) for r in csv.DictReader(open("recount.csv")))).replace("[[","[[").replace("], [", "], ["))' | tr -d ' ')
want=$(sed -n 3p "$T/check" | sed 's/^over: //; s/(/[/g; s/)/]/g' | tr -d ' ')
[ "$got" = "$want" ] && ok "recount: exactly the keys over tolerance" || notok "recount: exactly the keys over tolerance" "got $got, want $want"

# The recount is done by someone else, and its diff corrects the book.
if [ "$(wc -l < recount.csv)" -le 1 ]; then
	notok "recount: some keys to recount" "$(cat recount.csv)"
else
	python3 fill.py recount.csv mia jonas li
	if python3 -c 'import csv,sys; sys.exit(any(r["counter"] == r["first_counter"] for r in csv.DictReader(open("recount.csv"))))'; then
		ok "recount: a different person recounts"
	else
		notok "recount: a different person recounts" "$(cat recount.csv)"
	fi
	invcount import -q recount.csv | invdiff -q --partial -r count - book.ndjson > fix.ndjson
	rc=$?; expect_rc 0 "recount: import | invdiff"
	n=$(grep -c '"reason":"count"' fix.ndjson)
	m=$(($(wc -l < recount.csv) - 1))
	[ "$n" -eq "$m" ] && ok "recount: one correction per key recounted" || notok "recount: one correction per key recounted" "$n corrections for $m keys"
fi
exec 2>&3 3>&-
