# invpush's journal and --resume.  The journal is append-only NDJSON, mode
# 0600 in a 0700 folder, with the input, a "sending" line before each batch
# and a "sent" line after it.  --resume RUN finishes a run killed with
# kill -9 without applying anything twice: what was applied is skipped,
# and a batch sent without an answer is read back from the channel, never
# blindly sent again.  One invpush per channel at a time.
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T

printf '[shop]\ntype = file\npath = shop.ndjson\n\n[other]\ntype = file\npath = shop.ndjson\n' > invkit.conf
qtys() { jq -s -c '[.[].qty]' shop.ndjson; }
norm() {
	sed -E 's/"at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"/"at":"T"/g;
		s/"run":"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}"/"run":"R"/g' "$@"
}

# --- A, B, C, D at 5; corrections to 6, 7, 8, 9 in batches of 2
printf '{"sku":"%s","location":"w","qty":5}\n' A B C D > shop.start
cp shop.start shop.ndjson
cat > corr.ndjson <<'X'
{"sku":"A","location":"w","from":5,"to":6,"delta":1}
{"sku":"B","location":"w","from":5,"to":7,"delta":2}
{"sku":"C","location":"w","from":5,"to":8,"delta":3,"note":"n"}
{"sku":"D","location":"w","from":5,"to":9,"delta":4}
X
(umask 000; invpush -b 2 shop < corr.ndjson > out 2> err); rc=$?
expect_rc 0 "journal run: exit 0"
run_id=$(jq -r .run out | sort -u)
J=state/invkit/journal/shop/$run_id.ndjson
[ -f "$J" ] && ok "journal at \$XDG_STATE_HOME/invkit/journal/CHANNEL/RUN.ndjson" ||
	notok "journal at \$XDG_STATE_HOME/invkit/journal/CHANNEL/RUN.ndjson" "$(find state)"
[ "$(stat -c %a "$J")" = 600 ] && ok "journal mode 0600 (umask 000)" || notok "journal mode 0600" "$(stat -c %a "$J")"
[ "$(stat -c %a state/invkit/journal/shop)" = 700 ] && ok "journal folder mode 0700" ||
	notok "journal folder mode 0700" "$(stat -c %a state/invkit/journal/shop)"
grep -q "^invpush: journal $T/$J\$" err && ok "summary names the journal" || notok "summary names the journal" "$(cat err)"
grep -q "run $run_id:" err && ok "summary names the run" || notok "summary names the run" "$(cat err)"
norm "$J" | sed -E 's/"key":"[0-9a-f-]{36}"/"key":"K"/g' > got
cat > want <<'X'
{"journal":"invpush","version":1,"run":"R","channel":"shop","at":"T","records":4}
{"run":"R","input":1,"record":{"sku":"A","location":"w","from":5,"to":6,"delta":1}}
{"run":"R","input":2,"record":{"sku":"B","location":"w","from":5,"to":7,"delta":2}}
{"run":"R","input":3,"record":{"sku":"C","location":"w","from":5,"to":8,"delta":3,"note":"n"}}
{"run":"R","input":4,"record":{"sku":"D","location":"w","from":5,"to":9,"delta":4}}
{"run":"R","status":"ready","at":"T"}
{"run":"R","batch":1,"status":"sending","at":"T","corrections":[{"input":1,"key":"K","sku":"A","item":null,"location":"w","from":5,"to":6,"delta":1},{"input":2,"key":"K","sku":"B","item":null,"location":"w","from":5,"to":7,"delta":2}]}
{"run":"R","batch":1,"status":"sent","at":"T","results":[{"input":1,"status":"applied","at":"T","after":6},{"input":2,"status":"applied","at":"T","after":7}]}
{"run":"R","batch":2,"status":"sending","at":"T","corrections":[{"input":3,"key":"K","sku":"C","item":null,"location":"w","from":5,"to":8,"delta":3},{"input":4,"key":"K","sku":"D","item":null,"location":"w","from":5,"to":9,"delta":4}]}
{"run":"R","batch":2,"status":"sent","at":"T","results":[{"input":3,"status":"applied","at":"T","after":8},{"input":4,"status":"applied","at":"T","after":9}]}
{"run":"R","status":"finished","at":"T","applied":4,"unchanged":0,"conflict":0,"failed":0,"skipped":0}
X
cmp -s want got && ok "journal content exact" || notok "journal content exact" "$(diff want got)"
keys=$(jq -r 'select(.status == "sending") | .corrections[].key' "$J" | sort -u | wc -l)
[ "$keys" -eq 4 ] && ok "a distinct idempotency key per correction" || notok "a distinct idempotency key per correction" "$keys"
norm out > results.done

# resume RUN with the journal cut after "sending" of batch 2, and the file in
# the state FILE: the result of each case
cut_journal() {	# keep up to batch 2's "sending" line
	grep -v -e '"batch":2,"status":"sent"' -e '"finished"' "$J" > "$1"
}

# (a) batch 2 was applied, its answer lost: read back, found applied, not sent again
cut_journal cut.ndjson
printf '{"sku":"%s","location":"w","qty":%d}\n' A 6 B 7 C 8 D 9 > shop.ndjson
run invpush --journal cut.ndjson --resume "$run_id" shop
expect_rc 0 "resume, batch applied but unanswered: exit 0"
[ "$(qtys)" = "[6,7,8,9]" ] && ok "resume, batch applied but unanswered: not applied twice" ||
	notok "resume, batch applied but unanswered: not applied twice" "$(qtys)"
norm "$T/out" > got
cmp -s results.done got && ok "resume: results of the whole run, exact" || notok "resume: results of the whole run, exact" "$(diff results.done got)"
grep -q '"status":"resolved"' cut.ndjson && grep -q '"status":"resumed"' cut.ndjson &&
	grep -q '"status":"finished"' cut.ndjson && ok "resume: journal says resumed, resolved, finished" ||
	notok "resume: journal says resumed, resolved, finished" "$(tail -3 cut.ndjson)"
[ "$(grep -c '"status":"sending"' cut.ndjson)" -eq 2 ] && ok "resume: no batch sent again" ||
	notok "resume: no batch sent again" "$(grep -c sending cut.ndjson)"

# (b) batch 2 never reached the file: read back, found not applied, sent again
cut_journal cut.ndjson
printf '{"sku":"%s","location":"w","qty":%d}\n' A 6 B 7 C 5 D 5 > shop.ndjson
run invpush -q --journal cut.ndjson --resume "$run_id" shop
expect_rc 0 "resume, batch not applied: exit 0"
[ "$(qtys)" = "[6,7,8,9]" ] && ok "resume, batch not applied: sent again, applied once" ||
	notok "resume, batch not applied: sent again, applied once" "$(qtys)"
[ "$(grep -c '"status":"sending"' cut.ndjson)" -eq 3 ] && ok "resume, batch not applied: one new batch" ||
	notok "resume, batch not applied: one new batch"

# (c) C moved to neither from nor to: nobody can tell; conflict, not sent again
cut_journal cut.ndjson
printf '{"sku":"%s","location":"w","qty":%d}\n' A 6 B 7 C 4 D 9 > shop.ndjson
run invpush -q --journal cut.ndjson --resume "$run_id" shop
expect_rc 1 "resume, cannot tell: exit 1"
[ "$(qtys)" = "[6,7,4,9]" ] && ok "resume, cannot tell: nothing written" || notok "resume, cannot tell: nothing written" "$(qtys)"
norm "$T/out" | sed -n 3p > got
cat > want <<'X'
{"sku":"C","location":"w","from":5,"to":8,"delta":3,"note":"n","status":"conflict","error":"sent by a run that stopped, and now 4: cannot tell whether it was applied; not sent again","run":"R"}
X
cmp -s want got && ok "resume, cannot tell: conflict result exact" || notok "resume, cannot tell: conflict result exact" "$(diff want got)"
# ... and a second resume reports it again, and does nothing
run invpush -q --journal cut.ndjson --resume "$run_id" shop
expect_rc 1 "resume again: the conflict stands, exit 1"
[ "$(qtys)" = "[6,7,4,9]" ] && ok "resume again: nothing written" || notok "resume again: nothing written"

# (d) a torn last line (killed in the middle of a write) is dropped
cut_journal cut.ndjson
printf '{"run":"%s","batch":2,"status":"se' "$run_id" >> cut.ndjson
printf '{"sku":"%s","location":"w","qty":%d}\n' A 6 B 7 C 8 D 9 > shop.ndjson
run invpush -q --journal cut.ndjson --resume "$run_id" shop
expect_rc 0 "resume, torn last line: exit 0"
expect_err "resume, torn last line: warning" <<'X'
invpush: journal cut.ndjson: dropped a line cut short
X
[ "$(qtys)" = "[6,7,8,9]" ] && ok "resume, torn last line: applied once" || notok "resume, torn last line: applied once" "$(qtys)"
jq -c . cut.ndjson > /dev/null 2>&1 && ok "resume, torn last line: journal valid NDJSON again" ||
	notok "resume, torn last line: journal valid NDJSON again"

# (e) killed before the input was saved: nothing was sent, nothing to resume
head -3 "$J" > early.ndjson
run invpush --journal early.ndjson --resume "$run_id" shop
expect_rc 65 "resume, input not saved: exit 65"
expect_err "resume, input not saved: message" <<'X'
invpush: journal early.ndjson: the run stopped before its input was saved, so nothing was sent: push again without --resume
X

# (f) a finished run: nothing to do, the results again
cp shop.start shop.ndjson
run invpush --resume "$run_id" shop
expect_rc 0 "resume a finished run: exit 0"
[ "$(qtys)" = "[5,5,5,5]" ] && ok "resume a finished run: nothing written" || notok "resume a finished run: nothing written" "$(qtys)"
norm "$T/out" > got
cmp -s results.done got && ok "resume a finished run: its results" || notok "resume a finished run: its results" "$(diff results.done got)"

# (g) wrong channel, unknown run
run invpush --resume "$run_id" other
expect_rc 66 "resume on another channel: no such journal there, exit 66"
run invpush --journal "$J" --resume "$run_id" other
expect_rc 64 "resume with another channel's journal: exit 64"
expect_err_has "resume with another channel's journal: message" "is of channel 'shop', not 'other'"
run invpush --resume 20200101T000000Z-000000 shop
expect_rc 66 "resume an unknown run: exit 66"
expect_err_has "resume an unknown run: message" "journal of run '20200101T000000Z-000000'"

# --- kill -9 in the middle of a real run, then --resume: everything applied once
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"sku\":\"S%04d\",\"location\":\"w\",\"qty\":100}\n", i }' > shop.ndjson
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"sku\":\"S%04d\",\"location\":\"w\",\"from\":100,\"to\":%d,\"delta\":%d}\n", i, 100 + i % 13 - 13, i % 13 - 13 }' > big.ndjson
jq -s -c '[.[].to]' big.ndjson > big.want
invpush -q -b 1 --journal kill.ndjson shop < big.ndjson > /dev/null 2>&1 &
pid=$!
for i in $(seq 1 200); do
	n=$(grep -c '"status":"sent"' kill.ndjson 2> /dev/null)
	[ "${n:-0}" -ge 3 ] && break
	sleep 0.05
done
kill -9 $pid
wait $pid 2> /dev/null
grep -q '"finished"' kill.ndjson && notok "kill -9: killed in the middle of the run" "it had finished" ||
	ok "kill -9: killed in the middle of the run ($(grep -c '"status":"sent"' kill.ndjson) of 2000 batches answered)"
krun=$(head -1 kill.ndjson | jq -r .run)
run invpush -q --journal kill.ndjson --resume "$krun" shop
expect_rc 0 "kill -9, resume: exit 0"
[ "$(jq -s -c '[.[].qty]' shop.ndjson)" = "$(cat big.want)" ] && ok "kill -9, resume: every correction applied exactly once" ||
	notok "kill -9, resume: every correction applied exactly once"
[ "$(jq -r .status "$T/out" | sort | uniq -c | tr -s ' ')" = " 2000 applied" ] &&
	ok "kill -9, resume: 2000 applied results" || notok "kill -9, resume: 2000 applied results" "$(jq -r .status "$T/out" | sort | uniq -c)"

# --- the driver fails mid-run (the file turned bad): the run stops, says
# how to resume, and --resume finishes it once the file is good again
printf '{"sku":"%s","location":"w","qty":5}\n' A B C D > shop.ndjson
cp shop.ndjson shop.good
printf '%s\n' '{"sku":"X","qty":"many"}' >> shop.ndjson
run invpush -b 2 --journal stop.ndjson shop corr.ndjson
expect_rc 65 "driver fails: its exit code"
expect_err_has "driver fails: why" "invpush: shop.ndjson:5: field 'qty': a string, not an integer: \"many\""
expect_err_has "driver fails: how to resume" "finish it with: invpush --resume"
norm "$T/out" | jq -r '.status' | tr '\n' ' ' > got
[ "$(cat got)" = "failed failed skipped skipped " ] && ok "driver fails: failed, then skipped" ||
	notok "driver fails: failed, then skipped" "$(cat got)"
grep -q '"status":"stopped"' stop.ndjson && ok "driver fails: journal says stopped" || notok "driver fails: journal says stopped"
cp shop.good shop.ndjson
srun=$(head -1 stop.ndjson | jq -r .run)
run invpush -q --journal stop.ndjson --resume "$srun" shop
expect_rc 0 "driver fails, resume: exit 0"
[ "$(qtys)" = "[6,7,8,9]" ] && ok "driver fails, resume: all applied once" || notok "driver fails, resume: all applied once" "$(qtys)"

# --- one invpush per channel at a time
cp shop.start shop.ndjson
mkdir -p state/invkit/channel
flock state/invkit/channel/shop.lock sleep 2 &
holder=$!
sleep 0.3
STDIN=corr.ndjson run invpush shop
expect_rc 75 "channel locked: exit 75"
expect_err "channel locked: message" <<X
invpush: another invpush is pushing to channel 'shop' (lock $T/state/invkit/channel/shop.lock)
X
[ "$(qtys)" = "[5,5,5,5]" ] && ok "channel locked: nothing written" || notok "channel locked: nothing written"
STDIN=corr.ndjson run invpush -q --dry-run shop
expect_rc 0 "channel locked: a dry run still plans"
kill $holder 2> /dev/null
wait $holder 2> /dev/null

# --- without XDG_STATE_HOME the journal goes under ~/.local/state
(unset XDG_STATE_HOME; invpush -q shop < corr.ndjson > out 2> err); rc=$?
expect_rc 0 "HOME only: exit 0"
r2=$(jq -r .run out | sort -u)
[ -f ".local/state/invkit/journal/shop/$r2.ndjson" ] && ok "HOME only: journal under ~/.local/state/invkit" ||
	notok "HOME only: journal under ~/.local/state/invkit" "$(find .local 2>&1)"
