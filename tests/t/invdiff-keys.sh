# invdiff: key matching - the default key (sku, location), when channel joins
# it (only when WANT holds more than one distinct channel), -k custom keys,
# and a missing location matching "".
. "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

# --- single-channel WANT: a count sheet (channel "count") against the wms
# book matches on sku + location; HAVE's channel is what is written.
cat > count.ndjson <<'X'
{"sku":"A","channel":"count","location":"w1","qty":5}
{"sku":"B","channel":"count","location":"w1","qty":2}
{"sku":"C","channel":"count","location":"w2","qty":1}
X
cat > book.ndjson <<'X'
{"sku":"A","channel":"wms","location":"w1","qty":4}
{"sku":"B","channel":"wms","location":"w1","qty":2}
{"sku":"C","channel":"wms","location":"w1","qty":1}
X
run invdiff count.ndjson book.ndjson
expect_rc 0 "single-channel want: exit 0"
expect_out "single-channel want matches on sku+location, not channel" <<'X'
{"sku":"A","channel":"wms","location":"w1","from":4,"to":5,"delta":1,"reason":"sync"}
{"sku":"C","channel":"wms","location":"w1","from":1,"to":0,"delta":-1,"reason":"sync"}
{"sku":"C","location":"w2","channel":"count","from":null,"to":1,"delta":1,"reason":"sync"}
X
expect_err "single-channel want: summary" <<'X'
invdiff: 4 keys: 1 equal, 1 changed, 1 only in want, 1 only in have, 0 within tolerance; total |delta| 3
X

# WANT without any channel field against a HAVE that has one: one channel
# (none), so channel is not part of the key either.
printf '%s\n' '{"sku":"A","location":"w1","qty":3}' > nochan.ndjson
printf '%s\n' '{"sku":"A","channel":"shop","location":"w1","qty":3}' > shop.ndjson
run invdiff nochan.ndjson shop.ndjson
expect_rc 0 "want without channel: exit 0"
expect_empty_out "want without channel matches a have with one"

# --- multi-channel WANT: channel joins the key, records match per channel.
cat > alloc.ndjson <<'X'
{"sku":"A","channel":"shop","location":"","qty":5}
{"sku":"A","channel":"amz","location":"","qty":3}
{"sku":"B","channel":"amz","location":"","qty":1}
X
cat > channels.ndjson <<'X'
{"sku":"A","channel":"amz","location":"","qty":3}
{"sku":"A","channel":"shop","location":"","qty":1}
{"sku":"A","channel":"ebay","location":"","qty":2}
{"sku":"B","channel":"shop","location":"","qty":1}
X
# (a key only in WANT is written with its key fields first, in key order)
run invdiff alloc.ndjson channels.ndjson
expect_rc 0 "multi-channel want: exit 0"
expect_out "multi-channel want matches per channel" <<'X'
{"sku":"A","channel":"shop","location":"","from":1,"to":5,"delta":4,"reason":"sync"}
{"sku":"A","channel":"ebay","location":"","from":2,"to":0,"delta":-2,"reason":"sync"}
{"sku":"B","channel":"shop","location":"","from":1,"to":0,"delta":-1,"reason":"sync"}
{"sku":"B","location":"","channel":"amz","from":null,"to":1,"delta":1,"reason":"sync"}
X
expect_err "multi-channel want: summary" <<'X'
invdiff: 5 keys: 1 equal, 1 changed, 1 only in want, 2 only in have, 0 within tolerance; total |delta| 8
X

# multi-channel WANT, and a HAVE record without channel: it cannot be
# matched, so it is a bad record that names the field (strict: exit 65).
cat > nochan-have.ndjson <<'X'
{"sku":"A","channel":"amz","location":"","qty":3}
{"sku":"A","location":"","qty":3}
X
run invdiff alloc.ndjson nochan-have.ndjson
expect_rc 65 "multi-channel want, have without channel: exit 65"
expect_err_has "multi-channel want, have without channel: names line and field" \
	"invdiff: nochan-have.ndjson:2: field 'channel'"
expect_empty_out "multi-channel want, have without channel: nothing on stdout"

# ... and the same for a WANT record without channel when the others of
# WANT name several channels: its key is not known either.
cat > mixed-want.ndjson <<'X'
{"sku":"A","channel":"shop","location":"","qty":5}
{"sku":"B","location":"","qty":1}
{"sku":"A","channel":"amz","location":"","qty":3}
X
printf '%s\n' '{"sku":"B","channel":"shop","location":"","qty":1}' > b-shop.ndjson
run invdiff mixed-want.ndjson b-shop.ndjson
expect_rc 65 "multi-channel want, a want record without channel: exit 65"
expect_err_has "multi-channel want, a want record without channel: names line and field" \
	"invdiff: mixed-want.ndjson:2: field 'channel'"
expect_empty_out "multi-channel want, a want record without channel: nothing on stdout"

# --- -k sku: location is no longer part of the key.
cat > w-sku.ndjson <<'X'
{"sku":"A","location":"w1","qty":5}
{"sku":"B","location":"w2","qty":2}
X
cat > h-sku.ndjson <<'X'
{"sku":"A","location":"w9","qty":4}
{"sku":"B","qty":2}
X
run invdiff -k sku w-sku.ndjson h-sku.ndjson
expect_rc 0 "-k sku: exit 0"
expect_out "-k sku matches whatever the location" <<'X'
{"sku":"A","location":"w9","from":4,"to":5,"delta":1,"reason":"sync"}
X
# ... and two HAVE records of one sku at two locations are now duplicates.
printf '%s\n' '{"sku":"A","location":"w1","qty":1}' '{"sku":"A","location":"w2","qty":1}' > two-loc.ndjson
run invdiff -k sku w-sku.ndjson two-loc.ndjson
expect_rc 65 "-k sku: same sku at two locations is a duplicate"
expect_err "-k sku: duplicate message shows only the sku" <<'X'
invdiff: two-loc.ndjson:2: duplicate key (sku "A"), first at line 1 (use --sum to add them up)
X
# the default key keeps them apart
run invdiff -q w-sku.ndjson two-loc.ndjson
expect_rc 0 "default key: same sku at two locations is two keys"

# --- -k sku,bin: a key of a known field and location is ignored.
cat > w-bin.ndjson <<'X'
{"sku":"A","bin":"b1","location":"w1","qty":5}
{"sku":"A","bin":"b2","qty":2}
{"sku":"A","bin":"b3","qty":6}
X
cat > h-bin.ndjson <<'X'
{"sku":"A","bin":"b2","qty":4}
{"sku":"A","bin":"b1","location":"zz","qty":5}
{"sku":"A","bin":"b4","qty":1}
X
run invdiff -a -k sku,bin w-bin.ndjson h-bin.ndjson
expect_rc 0 "-k sku,bin: exit 0"
expect_out "-k sku,bin matches on sku and bin" <<'X'
{"sku":"A","bin":"b2","from":4,"to":2,"delta":-2,"reason":"sync","status":"changed"}
{"sku":"A","bin":"b1","location":"zz","from":5,"to":5,"delta":0,"reason":"sync","status":"same"}
{"sku":"A","bin":"b4","from":1,"to":0,"delta":-1,"reason":"sync","status":"removed"}
{"sku":"A","bin":"b3","from":null,"to":6,"delta":6,"reason":"sync","status":"added"}
X
printf '%s\n' '{"sku":"A","bin":"b1","qty":1}' '{"sku":"A","bin":"b1","qty":2}' > dup-bin.ndjson
run invdiff -k sku,bin dup-bin.ndjson h-bin.ndjson
expect_rc 65 "-k sku,bin: duplicate exits 65"
expect_err "-k sku,bin: duplicate message names both key fields" <<'X'
invdiff: dup-bin.ndjson:2: duplicate key (sku "A", bin "b1"), first at line 1 (use --sum to add them up)
X
printf '%s\n' '{"sku":"A","bin":7,"qty":1}' > num-bin.ndjson
run invdiff -k sku,bin num-bin.ndjson h-bin.ndjson
expect_rc 65 "-k sku,bin: a number as key value exits 65"
expect_err "-k sku,bin: a number as key value is refused" <<'X'
invdiff: num-bin.ndjson:1: field 'bin': not a string: 7
X

# -k with a field that is not a known one: an unknown field can be the key.
printf '%s\n' '{"ean":"400","sku":"A","qty":1}' > w-ean.ndjson
printf '%s\n' '{"sku":"A","ean":"400","qty":2}' > h-ean.ndjson
run invdiff -q -k sku,ean w-ean.ndjson h-ean.ndjson
expect_out "-k with an unknown field" <<'X'
{"sku":"A","ean":"400","from":2,"to":1,"delta":-1,"reason":"sync"}
X

# --- a missing location is "", on either side.
cat > w-loc.ndjson <<'X'
{"sku":"A","qty":5}
{"sku":"B","location":"","qty":2}
{"sku":"C","location":"x","qty":2}
X
cat > h-loc.ndjson <<'X'
{"sku":"A","location":"","qty":4}
{"sku":"B","qty":2}
{"sku":"C","qty":2}
X
run invdiff w-loc.ndjson h-loc.ndjson
expect_rc 0 "missing location: exit 0"
expect_out "missing location matches \"\" (and not \"x\")" <<'X'
{"sku":"A","location":"","from":4,"to":5,"delta":1,"reason":"sync"}
{"sku":"C","from":2,"to":0,"delta":-2,"reason":"sync"}
{"sku":"C","location":"x","from":null,"to":2,"delta":2,"reason":"sync"}
X

# key values are compared byte for byte: case and spaces matter
printf '%s\n' '{"sku":"a","qty":1}' '{"sku":"A ","qty":1}' > w-case.ndjson
printf '%s\n' '{"sku":"A","qty":1}' > h-case.ndjson
run invdiff w-case.ndjson h-case.ndjson
expect_err "key values compared exactly" <<'X'
invdiff: 3 keys: 0 equal, 0 changed, 2 only in want, 1 only in have, 0 within tolerance; total |delta| 3
X
