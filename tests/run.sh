#!/bin/sh
# Runs the test suite: unit tests (pure logic), CLI tests (the real
# mailgovctl against a scratch database), end-to-end tests (real rules,
# real Postfix, in network namespaces the tests create and remove).
# Usage: tests/run.sh [unit|cli|e2e|FILE...]
# Prints every result line and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${MAILGOV_BUILD:-build}
export MAILGOV_BUILD="$BUILD"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

sel="${*:-unit cli e2e}"
files=""
for s in $sel; do
	case "$s" in
	unit) files="$files $(ls $BUILD/tests/test_* 2>/dev/null)" ;;
	cli) files="$files $(ls tests/cli/test_*.sh 2>/dev/null)" ;;
	e2e) files="$files $(ls tests/e2e/test_*.sh 2>/dev/null)" ;;
	*) files="$files $s" ;;
	esac
done

for f in $files; do
	echo "# $f"
	case "$f" in
	*.sh) timeout 900 sh "$f" ;;
	*) timeout 300 "$f" ;;
	esac > "$out" 2>&1
	rc=$?
	cat "$out"
	if ! grep -q '^ok ' "$out" && ! grep -q '^not ok ' "$out"; then
		echo "not ok - $f: ran no test (exit $rc)"
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out"; then
		echo "not ok - $f: exited $rc"
	fi
done 2>&1 | tee "$out.all"
pass=$(grep -c '^ok ' "$out.all")
fail=$(grep -c '^not ok ' "$out.all")
rm -f "$out.all"
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
