# invcount plan: the schedule property over a simulated year.  500 skus
# (600 keys over two warehouses, sales with a long tail) are planned for
# every day of a year, without and with --history (each day's sheet counted
# and added to the history).  Every key must be counted within its class's
# cycle (the first count within a cycle of the start, no gap longer than a
# cycle, the last within a cycle of the end), each day's load within 10% of
# the even load (the derived per-day figure), and no key counted again
# within half its cycle.
. "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY' > "$T/result" 2>&1
import collections, csv, datetime, json, random, subprocess, sys
T = sys.argv[1]
rnd = random.Random(20260302)
with open(T + "/book.ndjson", "w") as book, open(T + "/sales.ndjson", "w") as sales:
    for i in range(500):
        sku = "SKU-%04d" % i
        for loc in (["WH-BER", "WH-LDN"] if i % 5 == 0 else ["WH-BER"]):
            book.write(json.dumps({"sku": sku, "channel": "wms", "location": loc,
                                   "qty": rnd.randint(0, 300), "bin": "%s-%02d" % (chr(65 + i % 8), i % 50)}) + "\n")
        sales.write(json.dumps({"sku": sku, "qty": int(2000 / (i + 1) ** 1.1)}) + "\n")
keys = [(r["sku"], r["location"]) for r in map(json.loads, open(T + "/book.ndjson"))]
cycle = {"A": 30, "B": 90, "C": 365}
start, days = datetime.date(2026, 1, 1), 365

def simulate(history):
    seen, cls, loads, even = collections.defaultdict(list), {}, [], None
    hist = T + "/history.ndjson"
    open(hist, "w").close()
    for d in range(days):
        day = (start + datetime.timedelta(d)).isoformat()
        args = ["invcount", "plan", T + "/book.ndjson", "--sales", T + "/sales.ndjson", "--date", day]
        if history:
            args += ["--history", hist]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            return ["exit %d on %s: %s" % (p.returncode, day, p.stderr)]
        if even is None:
            even = int(p.stderr.split("; ")[-1].split(" a day")[0])
        rows = list(csv.DictReader(p.stdout.splitlines()))
        loads.append(len(rows))
        with open(hist, "a") as h:
            for r in rows:
                k = (r["sku"], r["location"])
                seen[k].append(d)
                cls[k] = r["class"]
                h.write(json.dumps({"sku": r["sku"], "location": r["location"], "channel": "count",
                                    "qty": 1, "ts": day + "T10:00:00Z"}) + "\n")
    problems = []
    for k in keys:
        if k not in seen:
            problems.append("%s never counted" % (k,))
            continue
        L, ds = cycle[cls[k]], seen[k]
        gaps = [ds[0] + 1] + [b - a for a, b in zip(ds, ds[1:])] + [days - ds[-1]]
        if max(gaps) > L:
            problems.append("%s (class %s) waited %d days" % (k, cls[k], max(gaps)))
        if any(b - a < L // 2 for a, b in zip(ds, ds[1:])):
            problems.append("%s (class %s) counted again within half its cycle" % (k, cls[k]))
    for d, n in enumerate(loads):
        if abs(n - even) > 0.1 * even:
            problems.append("day %d: %d keys, even is %d" % (d, n, even))
    return problems or ["ok %d keys, %d a day, %d counts" % (len(keys), even, sum(loads))]

for mode in (False, True):
    print(("history: " if mode else "no history: ") + "; ".join(simulate(mode)[:5]))
PY
cat "$T/result" | sed 's/^/# /'
if grep -q '^no history: ok 600 keys' "$T/result"; then ok "a year without --history: every key within its cycle, even load"; else
	notok "a year without --history: every key within its cycle, even load" "$(cat "$T/result")"; fi
if grep -q '^history: ok 600 keys' "$T/result"; then ok "a year with --history: every key within its cycle, even load"; else
	notok "a year with --history: every key within its cycle, even load" "$(cat "$T/result")"; fi
