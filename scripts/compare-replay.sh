#!/bin/sh
# Behaviour unchanged across a refactoring: the reports a recording gives with an old and a new
# tktrace binary must be identical byte for byte: text (stdout and stderr), --json, --html and
# --per-test-file, and the exit status.
#
#   sh scripts/compare-replay.sh OLD NEW REC...        compare the reports of each recording
#   sh scripts/compare-replay.sh --wrapper OLD DIR     print a tktrace wrapper for TKTRACE=
#                                                      that adds --record DIR/N.tkt to each run
#
# Recordings: the fuzz corpus (tests/fuzz/corpus/record, hostile and cut files included) and
# e2e runs recorded by the old binary through the wrapper (docs: the issue 14 note).
set -u
if [ "${1:-}" = --wrapper ]; then
	old=$2 dir=$3
	cat <<WRAP
#!/bin/sh
case "\${1:-}" in report|explain-kmsg|watch|-h|--help|--version) exec $old "\$@";; esac
for a; do
	[ "\$a" = --record ] && exec $old "\$@"
	[ "\$a" = -- ] && break
done
exec $old --record "$dir/\$(date +%s%N)-\$\$.tkt" "\$@"
WRAP
	exit 0
fi
old=$1 new=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 same=0 differ=0
for rec in "$@"; do
	n=$((n + 1))
	for which in old new; do
		eval bin=\$$which
		d=$tmp/$which
		rm -rf "$d" && mkdir -p "$d"
		"$bin" report "$rec" >"$d/text.out" 2>"$d/text.err"
		echo "$?" >"$d/text.rc"
		"$bin" report "$rec" --json "$d/json" --html "$d/html" --per-test-file "$d/per-test" \
			>"$d/files.out" 2>"$d/files.err"
		echo "$?" >"$d/files.rc"
	done
	if diff -r "$tmp/old" "$tmp/new" >"$tmp/diff" 2>&1; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "DIFFERS: $rec"
		head -20 "$tmp/diff"
	fi
done
echo "compare-replay: $n recordings, $same identical, $differ different"
[ "$differ" -eq 0 ] && [ "$n" -gt 0 ]
