#!/bin/sh
# test_manpages - the man pages, docs/*.md and the code say the same
# things: every configuration key of the parser's key table, every
# mailgovctl command of its --help, every budget kind, every signal
# mailgovd takes and every exit status mailgov-sendmail uses.  So a key or
# command added to one place and not the others fails here.  Also: mandoc
# -T lint is clean and man -l renders each page.
#
# Sources are found by what they hold, not by their path, so the test
# survives files moving between folders.

. "$(dirname "$0")/../lib.sh"

MAN="$TOP/man"
S=$(t_scratch)
PAGES="mailgov-sendmail.1 mailgov.conf.5 mailgov.7 mailgovctl.8 mailgovd.8"

# src_with PATTERN - the one source file under src/ that holds PATTERN
src_with() {
	grep -rlE -- "$1" "$TOP/src" --include='*.c' | head -1
}

# same WHAT EXPECTED-FILE SEEN-FILE - two sorted lists are equal
same() {
	_d=$(diff "$2" "$3") && return 0
	t_fail "$1: '<' only in the code, '>' only in the page: $(echo "$_d" | grep '^[<>]' | tr '\n' ' ')"
}

# code_keys - the parser's key table
code_keys() {
	_f=$(src_with 'struct key keys\[\]') || return 1
	[ -n "$_f" ] || { t_fail "no key table under src/"; return 1; }
	sed -n '/struct key keys\[\] = {/,/^};/p' "$_f" |
	    grep -oE '\{ "[a-z0-9_]+", K_[A-Z_]+' | grep -v 'K_OLDBUDGET$' |
	    cut -d'"' -f2 | sort
}

# ctl_commands - "cmd" or "cmd sub" for every line of mailgovctl --help's
# command list: after the command, the subcommands are the bare lower-case
# words (alternatives split at '|', complete [--option]s skipped) up to
# the first argument
ctl_commands() {
	"$MAILGOVCTL" --help | awk '
	    /^commands:/ { on = 1; next }
	    on && /^$/ { exit }
	    on {
		n = 0
		for (i = 2; i <= NF; i++) {
			k = split($i, alt, "|")
			stop = 0
			for (j = 1; j <= k; j++) {
				if (alt[j] ~ /^[a-z]+$/)
					sub_[++n] = alt[j]
				else if (alt[j] !~ /^\[[^][]*\]$/)
					stop = 1
			}
			if (stop)
				break
		}
		if (n == 0)
			print $1
		for (j = 1; j <= n; j++)
			print $1 " " sub_[j]
	    }' | sort -u
}

test_config_keys_are_in_the_man_page() {
	code_keys > "$S/code" || return 1
	[ "$(wc -l < "$S/code")" -ge 30 ] ||
	    t_fail "expected the key table, saw $(wc -l < "$S/code") keys" || return
	sed -n '/^\.Sh KEYS/,/^\.Sh /p' "$MAN/mailgov.conf.5" |
	    sed -n 's/^\.It Cm \([a-z0-9_]*\).*/\1/p' | sort > "$S/man"
	same "mailgov.conf(5) keys" "$S/code" "$S/man"
}

test_config_keys_are_in_the_docs() {
	code_keys > "$S/code" || return 1
	grep -oE '^\| `[a-z0-9_]+` \|' "$TOP/docs/mailgov.conf.md" |
	    tr -d '|` ' | sort > "$S/doc"
	same "docs/mailgov.conf.md keys" "$S/code" "$S/doc"
}

test_config_keys_are_in_the_example() {
	code_keys > "$S/code" || return 1
	grep -oE '^#?[a-z0-9_]+ =' "$TOP/examples/mailgov.conf" |
	    tr -d '#= ' | sort > "$S/ex"
	same "examples/mailgov.conf keys" "$S/code" "$S/ex"
}

test_ctl_commands_are_in_the_man_page() {
	ctl_commands > "$S/code"
	[ "$(wc -l < "$S/code")" -ge 20 ] ||
	    t_fail "expected mailgovctl's commands, saw $(wc -l < "$S/code")" ||
	    return
	# each command is an item: ".It Cm CMD [SUB] ..." up to the first
	# macro that is not Cm
	sed -n '/^\.Sh COMMANDS/,/^\.Sh /p' "$MAN/mailgovctl.8" |
	    awk '/^\.It Cm / {
		s = $3
		if (NF >= 4 && $4 ~ /^[a-z]+$/)
			s = s " " $4
		print s
	    }' | sort -u > "$S/man"
	same "mailgovctl(8) commands" "$S/code" "$S/man"
}

test_ctl_commands_are_in_the_docs() {
	ctl_commands > "$S/code"
	# every command named in code (`...` or an indented line) somewhere
	for _c in $(sed 's/ /:/' "$S/code"); do
		_c=$(echo "$_c" | tr ':' ' ')
		grep -qE "(\`|^    |\\$ )mailgovctl $_c( |\`|\$|\|)" \
		    "$TOP"/docs/*.md ||
		    t_fail "docs/*.md never show 'mailgovctl $_c'" || return
	done
	# and every command the docs show in code exists
	grep -ohE '(`|^    |\$ )mailgovctl( --?[a-z]+( [A-Za-z/._-]+)?)* [a-z]+( [a-z]+)?' \
	    "$TOP"/docs/*.md | sed -E 's/^(`|    |\$ )mailgovctl//' |
	    sed -E 's/^( --?[a-z]+( [A-Za-z\/._-]+)?)*//' | sort -u |
	    while read -r _w1 _w2; do
		grep -qx "$_w1" "$S/code" && continue
		grep -q "^$_w1 " "$S/code" ||
		    { t_fail "docs show 'mailgovctl $_w1', no such command"; return 1; }
		[ -z "$_w2" ] || grep -qx "$_w1 $_w2" "$S/code" ||
		    grep -qE "^[a-z]+ $_w2\$" "$S/code" ||
		    echo "$_w2" | grep -qE '^(or|and|to|with|the)$' ||
		    { t_fail "docs show 'mailgovctl $_w1 $_w2', no such command"; return 1; }
	    done
}

test_budget_kinds_are_in_the_man_pages() {
	_kinds=$("$MAILGOVCTL" --help | sed -n 's/^budget kinds: //p')
	[ -n "$_kinds" ] || t_fail "mailgovctl --help lists no budget kinds" ||
	    return
	for _k in $_kinds; do
		grep -qx "\.Cm $_k[ ,]*.*" "$MAN/mailgovctl.8" ||
		    t_fail "mailgovctl(8) does not name budget kind $_k" || return
		grep -q "^\.It Cm $_k " "$MAN/mailgov.conf.5" ||
		    t_fail "mailgov.conf(5) does not list budget kind $_k" || return
	done
}

test_mailgovd_signals_are_in_the_man_page() {
	_f=$(src_with 'signalfd\(-1')
	[ -n "$_f" ] || t_fail "no signalfd set-up under src/" || return
	_sigs=$(grep -oE 'sigaddset\(&set, SIG[A-Z]+' "$_f" | sed 's/.*, //')
	[ -n "$_sigs" ] || t_fail "no signals found in $_f" || return
	_man=$(sed -n '/^\.Sh SIGNALS/,/^\.Sh /p' "$MAN/mailgovd.8")
	for _s in $_sigs; do
		echo "$_man" | grep -q "^\.It Dv .*$_s" ||
		    t_fail "mailgovd(8) SIGNALS lacks $_s" || return
		grep -q "$_s" "$TOP/docs/mailgovd.md" ||
		    t_fail "docs/mailgovd.md lacks $_s" || return
	done
}

test_sendmail_exit_statuses_are_in_the_man_page() {
	_f=$(src_with 'MAILGOV_SENDMAIL_HOST')
	[ -n "$_f" ] || t_fail "no mailgov-sendmail main under src/" || return
	_codes=$(grep -ohE '\bEX_[A-Z]+' "$_f" "$(src_with 'smtpc_')" | sort -u)
	for _c in $_codes; do
		grep -q "^\.It [0-9]* Pq Dv $_c\$" "$MAN/mailgov-sendmail.1" ||
		    t_fail "mailgov-sendmail(1) EXIT STATUS lacks $_c" || return
		grep -q "| $_c " "$TOP/docs/mailgov-sendmail.md" ||
		    t_fail "docs/mailgov-sendmail.md lacks $_c" || return
	done
}

test_ctl_exit_statuses_are_in_the_man_page() {
	"$MAILGOVCTL" no-such-command >/dev/null 2>&1
	_usage=$?
	_man=$(sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /p' "$MAN/mailgovctl.8")
	for _c in 0 1 "$_usage"; do
		echo "$_man" | grep -q "^\.It $_c\$" ||
		    t_fail "mailgovctl(8) EXIT STATUS lacks $_c" || return
	done
}

# mandoc -T lint: no message at all, but "referenced manual not found",
# which mandoc says of every page outside its own database (its lookup
# ignores MANPATH): that one is checked here instead, for our pages, and
# left to the system for other packages' (postfix(1), nft(8), ...).
test_mandoc_lint_is_clean() {
	command -v mandoc >/dev/null ||
	    t_fail "mandoc is not installed (make deps installs it)" || return
	for _p in $PAGES; do
		_out=$(mandoc -T lint "$MAN/$_p" 2>&1 |
		    grep -v 'outdated mandoc.db' |
		    grep -v 'STYLE: referenced manual not found: Xr ')
		[ -z "$_out" ] || { t_fail "mandoc -T lint $_p: $_out"; return; }
	done
}

test_cross_references_name_our_pages() {
	for _p in $PAGES; do
		grep -h '^\.Xr mailgov' "$MAN/$_p" | awk '{ print $2 "." $3 }' |
		    sort -u | while read -r _x; do
			[ -f "$MAN/$_x" ] ||
			    { t_fail "$_p refers to $_x, which is not in man/"; return 1; }
		done || return
	done
}

test_man_renders_every_page() {
	for _p in $PAGES; do
		if command -v man >/dev/null; then
			_txt=$(MANWIDTH=80 man -l "$MAN/$_p" 2>"$S/err")
		else
			_txt=$(mandoc -T utf8 "$MAN/$_p" 2>"$S/err")
		fi
		[ -s "$S/err" ] && { t_fail "$_p: $(cat "$S/err")"; return; }
		echo "$_txt" | grep -q "^NAME" ||
		    t_fail "$_p rendered without a NAME section" || return
		echo "$_txt" | grep -q "^SEE ALSO" ||
		    t_fail "$_p rendered without SEE ALSO" || return
	done
}

t_main "$@"
