# The bad-input corpus (tests/bad/, see tests/bad/README): every case of
# tests/bad/cases runs in a folder of its own, holding the fixtures, the
# case file and the state of invpush, and must
#   - exit with exactly the code given (a signal is a failure),
#   - say exactly what the manifest says on stderr (file, line, field),
#   - write nothing on stdout, and
#   - leave every file of its folder as it was (same size, inode and times):
#     the master file of the file channel not written nor replaced, no
#     journal, no lock, no reject or temporary file.
# One TAP line per case names whichever of these failed.  Cases marked
# "sent" reach invpush's driver (the master is read only when a batch is
# sent): there the master stays as it was, but a journal is kept and the
# results say "failed".  Then: checks of the corpus itself, bundles that
# share sub-bundles (once exponential), and --resume after a bad master.
. "$(dirname "$0")/../lib.sh"
BAD=$TOP/tests/bad
export XDG_STATE_HOME XDG_CONFIG_HOME HOME TZ=UTC

# gen NAME: the cases too big to keep in the tree, made on the fly
gen() {
	case $1 in
	big-line.ndjson)	# a 10 MB line whose string never ends
		printf '{"sku":"G","qty":1}\n{"sku":"A","qty":2,"note":"'
		head -c 10000000 /dev/zero | tr '\0' x; printf '\n' ;;
	big-cell.csv)		# a 10 MB quantity cell
		printf 'sku,location,qty\nG,w,1\nA,w,'
		head -c 10000000 /dev/zero | tr '\0' 7; printf 'x\n' ;;
	big-units.csv)		# a 10 MB units cell in a mapping table
		printf 'channel,item,platform_sku,sku,units\nshop,,P,A,'
		head -c 10000000 /dev/zero | tr '\0' 9; printf '%%\n' ;;
	big-correction.ndjson)	# a good 10 MB correction, then a bad one
		printf '{"sku":"A","location":"w","from":5,"to":6,"delta":1,"note":"'
		head -c 10000000 /dev/zero | tr '\0' x
		printf '"}\n{"sku":"B","location":"w","from":5,"to":6,"delta":2}\n' ;;
	big-line.conf)		# a 10 MB setting
		printf '[wms]\ntype = file\npath = '
		head -c 10000000 /dev/zero | tr '\0' x; printf '\n' ;;
	deep-bundles.csv)	# bundles within bundles, 1001 levels
		awk 'BEGIN { print "bundle_sku,component_sku,count"
			for (i = 0; i <= 1000; i++) printf "B%d,B%d,1\n", i, i + 1 }' ;;
	very-deep-bundles.csv)	# 200000 levels: once a stack overflow
		awk 'BEGIN { print "bundle_sku,component_sku,count"
			for (i = 0; i < 200000; i++) printf "B%d,B%d,1\n", i, i + 1 }' ;;
	many-then-bad.ndjson)	# 5000 good records, the last one bad
		awk 'BEGIN { for (i = 1; i <= 5000; i++)
				printf "{\"sku\":\"P\",\"channel\":\"shop\",\"location\":\"l%d\",\"qty\":%d}\n", i, i
			print "{\"sku\":\"P\",\"channel\":\"shop\",\"location\":\"x\",\"qty\":\"1\"}" }' ;;
	many-then-bad.csv)	# a stock file of 5000 good records, the last one bad
		awk 'BEGIN { print "sku,location,qty"
			for (i = 1; i <= 5000; i++) printf "S%d,w,%d\n", i, i; print "LAST,w,-" }' ;;
	many-then-bad-sheet.csv)	# a count sheet of 5000 good rows, the last one bad
		awk 'BEGIN { print "sku,location,qty"
			for (i = 1; i <= 5000; i++) printf "S%d,w,%d\n", i, i; print "LAST,w,-1" }' ;;
	*) return 1 ;;
	esac
}

# snapshot: every path of the case folder (TMPDIR included) with its type,
# mode, size, inode and time of change: a file written, replaced or touched
# shows
snapshot() {
	find . -printf '%y %m %s %i %C@ %T@ %p\n'
}

n=0
while IFS= read -r line; do
	case $line in '' | '#'*) continue ;; esac
	IFS='|' read -r file code cmd want flags <<< "$line"
	read -r file <<< "$file"	# trimmed of spaces
	read -r code <<< "$code"
	read -r cmd <<< "$cmd"
	read -r flags <<< "$flags"
	want=${want# }
	want=${want% }
	n=$((n + 1))
	d=$T/case$n
	mkdir -p "$d/tmp"
	cp "$BAD"/fixtures/* "$d"/
	why=
	case $file in
	gen:*) name=${file#gen:}; gen "$name" > "$d/$name" || why="gen: no recipe for $name"$'\n' ;;
	*) name=${file##*/}; cp "$BAD/$file" "$d/$name" || why="no file $file"$'\n' ;;
	esac
	printf '\n[bad]\ntype = file\npath = %s\n' "$name" >> "$d/invkit.conf"
	XDG_STATE_HOME=$d/state XDG_CONFIG_HOME=$d/xdg HOME=$d
	# the command: @ is the case file; a last word <@ reads it on stdin
	in=/dev/null
	case $cmd in *' <@') in=$name; cmd=${cmd% <@} ;; esac
	read -ra argv <<< "${cmd//@/$name}"
	(cd "$d" && snapshot > "$T/before")
	(cd "$d" && TMPDIR=$d/tmp exec "${argv[@]}" < "$in" > "$T/out" 2> "$T/err")
	rc=$?
	(cd "$d" && snapshot > "$T/after")

	if [ "$rc" -ge 128 ]; then why="crashed: exit $rc (signal $((rc - 128)))"$'\n'
	elif [ "$rc" != "$code" ]; then why="exit $rc, expected $code"$'\n'; fi
	case $want in
	'')	[ -s "$T/err" ] && why+="stderr: $(head -c 600 "$T/err")"$'\n'"wanted: nothing"$'\n' ;;
	'~ '*)	grep -qF -- "${want#'~ '}" "$T/err" ||
			why+="stderr lacks: ${want#'~ '}"$'\n'"stderr: $(head -c 600 "$T/err")"$'\n' ;;
	*)	printf '%s\n' "$want" | cmp -s - "$T/err" ||
			why+="stderr: $(head -c 600 "$T/err")"$'\n'"wanted: $want"$'\n' ;;
	esac
	if [ "$flags" = sent ]; then
		# the driver was reached: each result failed, the master untouched
		if grep -v '"status":"failed"' "$T/out" | grep -q .; then
			why+="a result that is not 'failed': $(head -c 300 "$T/out")"$'\n'
		fi
		grep -Ev ' \.(/state.*)?$' "$T/before" > "$T/before.m"
		grep -Ev ' \.(/state.*)?$' "$T/after" > "$T/after.m"
		cmp -s "$T/before.m" "$T/after.m" ||
			why+="files written: $(diff "$T/before.m" "$T/after.m" | head -5)"$'\n'
	else
		[ -s "$T/out" ] && why+="stdout: $(head -c 300 "$T/out")"$'\n'
		cmp -s "$T/before" "$T/after" ||
			why+="files written: $(diff "$T/before" "$T/after" | head -5)"$'\n'
	fi
	if [ -z "$why" ]; then ok "$file: exit $code, message, nothing written"
	else notok "$file: exit $code, message, nothing written" "${why%$'\n'}"; fi
	case $file in gen:*) rm -rf "$d" ;; esac	# the big ones; $T goes at the end
done < "$BAD/cases"

# --- the corpus itself: big enough, and every file in it is a case
[ "$n" -ge 60 ] && ok "corpus: $n cases (at least 60)" || notok "corpus: $n cases (at least 60)"
(cd "$BAD" && find . -mindepth 2 -type f ! -path './fixtures/*' | sed 's|^\./||' | sort) > "$T/files"
sed -n 's/^\([^#|][^|]*\)|.*/\1/p' "$BAD/cases" | sed 's/ *$//' | grep -v '^gen:' | sort -u > "$T/listed"
if cmp -s "$T/files" "$T/listed"; then ok "corpus: every file under tests/bad/ is in the manifest, and exists"
else notok "corpus: every file under tests/bad/ is in the manifest, and exists" \
	"$(diff "$T/files" "$T/listed" | grep '^[<>]' | sed 's/^</not in cases:/; s/^>/missing file:/')"; fi

# --- bundles that share sub-bundles: 40 levels of two bundles that both
# hold both bundles of the level below (2^40 paths) are computed at once
cd "$T" || exit 1
awk 'BEGIN { print "bundle_sku,component_sku,count"
	for (i = 0; i < 40; i++) printf "X%d,X%d,1\nX%d,Y%d,2\nY%d,X%d,1\nY%d,Y%d,1\n", i, i+1, i, i+1, i, i+1, i, i+1 }' > diamond.csv
printf '{"sku":"X40","location":"w","qty":8}\n{"sku":"Y40","location":"w","qty":9}\n' > comps.ndjson
run timeout 10 invmap -q -b diamond.csv comps.ndjson
expect_rc 0 "bundles sharing sub-bundles, 2^40 paths: exit 0, in time"
# X39 = min(8/1, 9/2) = 4, Y39 = min(8, 9) = 8, X38 = min(4, 8/2) = 4,
# Y38 = 4, X37 = min(4, 4/2) = 2, ... halving every other level down to 0
for want in X39:4 Y39:8 X38:4 Y38:4 X37:2 Y37:4 X36:2 X0:0; do
	grep -qxF "{\"sku\":\"${want%:*}\",\"location\":\"w\",\"qty\":${want#*:}}" "$T/out" ||
		break
	want=
done
[ "$(grep -c . "$T/out")" -eq 82 ] && [ -z "$want" ] &&
	ok "bundles sharing sub-bundles: 80 bundle records, X39 4, Y39 8, X37 2, X0 0" ||
	notok "bundles sharing sub-bundles: 80 bundle records, X39 4, Y39 8, X37 2, X0 0" \
	"wrong: ${want:-the count} $(head -3 "$T/out")"

# --- a bad master found when the batch is sent ("sent" above): mended, the
# run is finished by --resume, and the correction applied once
mkdir -p "$T/resume" && cd "$T/resume" || exit 1
cp "$BAD"/fixtures/corr.ndjson .
printf '[bad]\ntype = file\npath = master.ndjson\n' > invkit.conf
cp "$BAD"/invpull/qty-string.ndjson master.ndjson
XDG_STATE_HOME=$T/resume/state
run invpush bad corr.ndjson
expect_rc 65 "bad master at push: exit 65"
id=$(ls state/invkit/journal/bad/ 2>/dev/null | sed -n 's/\.ndjson$//p')
printf '{"sku":"A","location":"w","qty":5}\n' > master.ndjson
run invpush -q --resume "$id" bad
expect_rc 0 "bad master, mended: --resume exit 0"
expect_out_has "bad master, mended: --resume applies the correction" '"status":"applied"'
[ "$(cat master.ndjson)" = '{"sku":"A","location":"w","qty":6}' ] &&
	ok "bad master, mended: 5 -> 6, applied once" ||
	notok "bad master, mended: 5 -> 6, applied once" "$(cat master.ndjson)"
