# tests/cli/lib_cli.sh - what the mailgovctl CLI tests share: a scratch
# database and config per test, and a runner that keeps status and output.
. "$(dirname "$0")/../lib.sh"

S=$(t_scratch)

# setup - a fresh database path and config file for one test
setup() {
	D=$(mktemp -d "$S/t.XXXXXX")
	DB=$D/mailgov.db
	CONF=$D/mailgov.conf
	t_config "$CONF" </dev/null
}

# ctl ARGS... - mailgovctl on this test's database; sets OUT, ERR, RC
ctl() {
	"$MAILGOVCTL" --db "$DB" --config "$CONF" "$@" >"$D/out" 2>"$D/err"
	RC=$?
	OUT=$(cat "$D/out")
	ERR=$(cat "$D/err")
}
