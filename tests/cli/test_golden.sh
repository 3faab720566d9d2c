#!/bin/sh
# test_golden - mailgovctl's text and JSON output, word for word, against
# golden files, as the rule renderer's are (tests/golden/rules).  Each
# case is a pair under tests/golden/ctl:
#
#   NAME.in   commands, one a line, run in order against a fresh database
#             and mailgov.conf of the case's own.  Blank lines and lines
#             starting with # are skipped; every other line (with the
#             lines after it while it ends in a backslash) is run as
#             shell, with these helpers and $D (the case's directory), $DB
#             and $CONF (only mailgovctl writes to the transcript by
#             itself):
#               mailgovctl ARGS...  the program under test, given the
#                                   case's --db and --config
#               sql STATEMENT       rows no command can make (usage, held
#                                   mail, events: the daemon writes them)
#               conf LINE           one more line of mailgov.conf
#               now_us              the time now, in microseconds
#               normalise SED       one more sed expression for the rest
#                                   of the case's transcript (for what
#                                   changes between versions on purpose)
#   NAME.ref  the transcript: "$ " and the line as written, then the
#             command's standard output, its standard error with "2> "
#             before each line, and "[exit N]" when N is not 0.
#
# The transcript is made reproducible: TZ is UTC, the case's directory
# reads <dir>, and a time taken while the case ran (an account's creation,
# an event) reads <now> as a Unix time and YYYY-MM-DD hh:mm:ss as text.
# Times a case puts in rows itself are fixed, and shown as they are.
# The standard output of a --json command that succeeded must also parse
# as JSON (UTF-8), whatever the .ref says.  A failing case prints its diff
# from the .ref.
#
# MAILGOV_UPDATE_GOLDEN=1 rewrites each .ref from what the program prints
# now (review the diff before committing it).  MAILGOV_GOLDEN_VALGRIND=1
# runs every command under valgrind, as Postfix runs its own .in/.ref
# tests: a memory error or a definite leak then shows in the diff.
# It takes minutes, so it is not the default.  Cases run as their names:
# sh tests/cli/test_golden.sh test_usage test_events.
. "$(dirname "$0")/lib_cli.sh"

GOLDEN=tests/golden/ctl
VALGRIND=""
[ -z "${MAILGOV_GOLDEN_VALGRIND:-}" ] || VALGRIND="valgrind -q
    --error-exitcode=86 --leak-check=full --errors-for-leak-kinds=definite"
TZ=UTC
export TZ

# re TEXT - TEXT as a sed regular expression matching itself
re() { printf '%s' "$1" | sed 's/[]\\|.*^$[]/\\&/g'; }

# norm_times - extend NORM (the transcript's sed script) to every second
# from NORM_TO (the case's start) to now, each read as <now>
norm_times() {
	_e=$(date +%s)
	while [ "$NORM_TO" -le "$_e" ]; do
		NORM="$NORM;s/\\b$NORM_TO\\b/<now>/g"
		_text=$(date -d "@$NORM_TO" '+%Y-%m-%d %H:%M:%S')
		NORM="$NORM;s/$_text/YYYY-MM-DD hh:mm:ss/g"
		NORM_TO=$((NORM_TO + 1))
	done
}

# norm FILE - FILE through NORM
norm() {
	sed -e "$NORM" "$1"
	# a last line without its newline is shown, not joined to the next
	if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then
		echo
		echo "[no newline at end]"
	fi
}

# mailgovctl ARGS... - the program under test, into the transcript
mailgovctl() {
	printf '$ %s\n' "$LINE"
	$VALGRIND "$MAILGOVCTL" --db "$DB" --config "$CONF" "$@" \
	    >"$D/out" 2>"$D/err"
	_rc=$?
	norm_times
	norm "$D/out"
	norm "$D/err" | sed 's/^/2> /'
	[ "$_rc" -eq 0 ] || echo "[exit $_rc]"
	# kept for json_check, which parses them all at once (it is slow
	# to start)
	for _a; do
		[ "$_a" = --json ] && [ "$_rc" -eq 0 ] || continue
		JSON_N=$((JSON_N + 1))
		cp "$D/out" "$D/json/$JSON_N"
		printf '%s\n' "$LINE" > "$D/json/$JSON_N.line"
		break
	done
}

# json_check - every kept output parses as JSON, or fail naming its line
json_check() {
	[ "$JSON_N" -gt 0 ] || return 0
	_bad=$(cd "$D/json" && python3 -c '
import json, sys
for f in sys.argv[1:]:
    try:
        json.load(open(f, encoding="utf-8"))
    except ValueError:
        print(f)
        break' $(seq "$JSON_N"))
	[ -z "$_bad" ] ||
	    t_fail "$_in: '$(cat "$D/json/$_bad.line")' printed no valid JSON"
}

# sql STATEMENT - run on the case's database; a failure fails the case
sql() {
	sqlite3 "$DB" "$1" >"$D/sql" 2>&1 || {
		echo "sql failed: $(cat "$D/sql")" >> "$D/broken"
		return 1
	}
}

conf() { printf '%s\n' "$1" >> "$CONF"; }
normalise() { NORM="$NORM;$1"; }
now_us() { echo $(($(date +%s%N) / 1000)); }

# golden NAME - run NAME.in and compare its transcript with NAME.ref
golden() {
	_in=$GOLDEN/$1.in _ref=$GOLDEN/$1.ref
	setup
	NORM="s|$(re "$D")|<dir>|g" NORM_TO=$(date +%s) JSON_N=0
	mkdir "$D/json"
	while IFS= read -r LINE; do
		case "$LINE" in ""|"#"*) continue ;; esac
		while [ "${LINE%\\}" != "$LINE" ] && IFS= read -r _next; do
			LINE="$LINE
$_next"
		done
		eval "$LINE" </dev/null
	done <"$TOP/$_in" >"$D/got"
	if [ -e "$D/broken" ]; then
		t_fail "$_in: $(head -1 "$D/broken")"
		return
	fi
	if [ -n "${MAILGOV_UPDATE_GOLDEN:-}" ]; then
		cp "$D/got" "$TOP/$_ref" || return
		t_log "$_ref rewritten"
	fi
	json_check || return
	[ -e "$TOP/$_ref" ] ||
	    t_fail "$_ref missing (MAILGOV_UPDATE_GOLDEN=1 writes it)" || return
	cmp -s "$TOP/$_ref" "$D/got" && return 0
	diff -u --label "$_ref" --label "output now" "$TOP/$_ref" "$D/got" >&2
	t_fail "$_ref: output differs (diff above;" \
	    "MAILGOV_UPDATE_GOLDEN=1 rewrites it)"
}

# one test_NAME function per case, each running golden NAME
_cases=""
for _f in "$TOP/$GOLDEN"/*.in; do
	[ -e "$_f" ] || continue
	_n=$(basename "$_f" .in)
	case "$_n" in
	*[!a-z0-9_]*) echo "not ok - $_n: case names are [a-z0-9_]"; exit 1 ;;
	esac
	eval "test_$_n() { golden $_n; }"
	_cases="$_cases test_$_n"
done

t_main ${*:-$_cases}
