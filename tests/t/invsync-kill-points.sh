# scripts/invsync killed with SIGKILL (its whole process group, as a cron
# timeout, an OOM kill or a reboot would) at every step: before each tool
# it runs (invpull, invdiff, invmap, invpush), and right after each
# invpush, before its results are booked; one killed run per point, with
# a sale on each shop made just before it.  After each, a normal run must
# finish what the killed one left, and then:
#   - the master equals the initial stock (plus receipts) minus every sale:
#     no sale lost, none applied twice;
#   - no channel shows more than the master minus its safety stock.
# (The soak, scripts/soak, kills at random moments; this kills at every
# boundary once.  A kill between pending and invpush once lost a sale.)
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1
export XDG_STATE_HOME=$T/state HOME=$T TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
. "$TOP/tests/invsync-world.sh"

run invsync
expect_rc 0 "first run: exit 0"
invariants "first run"

# each tool counts its calls in $T/calls and the invpush calls in
# $T/pushes; with KILL_WHEN=before, the KILL_AT-th call kills the group
# before it runs; with KILL_WHEN=after-push, the KILL_AT-th invpush kills
# it once it has ended
mkdir wrap
for tool in invpull invdiff invmap invpush; do
	cat > wrap/$tool <<X
#!/bin/bash
killall() { kill -9 -- -\$(ps -o pgid= -p \$\$ | tr -d ' '); sleep 5; }
n=\$((\$(cat "$T/calls") + 1))
echo \$n > "$T/calls"
if [ $tool = invpush ]; then p=\$((\$(cat "$T/pushes") + 1)); echo \$p > "$T/pushes"; fi
[ "\$KILL_WHEN" = before ] && [ "\$n" -eq "\$KILL_AT" ] && killall
"$INVKIT_BIN/$tool" "\$@"
st=\$?
[ "\$KILL_WHEN" = after-push ] && [ $tool = invpush ] && [ "\$p" -eq "\$KILL_AT" ] && killall
exit \$st
X
	chmod +x wrap/$tool
done

# the listings sold in turn, one on each shop before each killed run
listings=("shop P-1 1 1" "woo W-P2 1" "shop P-1 1 2" "woo W-P1 1" "shop P-2 1" "shop CASE-3 1"
	"woo W-KIT 1" "shop KIT 1")
sale=0
# receive: 20 more of every master record below 20, at the warehouse
# (between runs, in the master and in the initial stock alike)
receive() {
	local f
	cp master.ndjson low.ndjson
	for f in master.ndjson initial.ndjson; do
		jq -c --slurpfile m low.ndjson '. as $r | ($m[] | select(.sku == $r.sku and
			.location == $r.location) | .qty) as $q | if $q < 20 then .qty += 20 else . end' \
			"$f" > "$f.new" && mv "$f.new" "$f"
	done
}
for when in before after-push; do
	bad=0 points=0
	for ((at = 1; at < 200; at++)); do
		sell ${listings[sale % ${#listings[@]}]}
		sell ${listings[(sale + 1) % ${#listings[@]}]}
		sale=$((sale + 2))
		echo 0 > calls
		echo 0 > pushes
		{ KILL_AT=$at KILL_WHEN=$when PATH=$T/wrap:$PATH setsid -w invsync 2> killed.err
		krc=$?; } 2> /dev/null	# not the shell's "Killed"
		if [ "$krc" -eq 0 ]; then	# past the last point: a whole run
			v=$(check sold.ndjson)
			[ -z "$v" ] || { bad=1; notok "kill $when $at: past the last point, the invariants hold" "$v"; }
			break
		fi
		points=$((points + 1))
		if [ "$krc" -ne 9 ] && [ "$krc" -ne 137 ]; then
			bad=1
			notok "kill $when $at: the run died" "exit $krc: $(cat killed.err)"
			continue
		fi
		rm -rf "$TMPDIR"/invsync.*	# what the killed run could not clean
		run invsync
		if [ "$rc" -ne 0 ]; then
			bad=1
			notok "kill $when $at: the next run: exit 0" "exit $rc: $(cat "$T/err")"
		fi
		v=$(check sold.ndjson)
		[ -z "$v" ] || { bad=1; notok "kill $when $at: the invariants hold after the next run" "$v"; }
		receive
	done
	[ "$points" -ge "$([ "$when" = before ] && echo 15 || echo 3)" ] && [ "$bad" -eq 0 ] &&
		ok "killed $when each of $points points: every next run exit 0, no sale lost or applied twice, no channel above its share" ||
		notok "killed $when each point" "$points points"
done
