#!/bin/sh
# mailgov-sendmail against a loopback smtp-sink (and, where smtp-sink
# cannot say it, a scripted PHP server): what arrives, and the exit code
# and message for every way a submission can fail.
. "$(dirname "$0")/../lib.sh"

S=$(t_scratch)
SINK_USER=""
[ "$(id -u)" = 0 ] && SINK_USER="-u postfix"

# free_port - a loopback TCP port nobody listens on
free_port() {
	_p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
	while ss -ltn | grep -q "[:.]$_p "; do _p=$((_p + 1)); done
	echo "$_p"
}

# listening PORT - whether something listens on 127.0.0.1:PORT
listening() { ss -ltn | grep -q "127.0.0.1:$1 "; }

# sink [smtp-sink options] - start smtp-sink dumping to $D; sets PORT, D.
# Each test runs in a subshell, so the EXIT trap stops the sink.
sink() {
	D=$(mktemp -d "$S/t.XXXXXX")
	chmod 0777 "$D"
	PORT=$(free_port)
	( cd "$D" && exec smtp-sink $SINK_USER "$@" -d "%M%S." \
	    "127.0.0.1:$PORT" 16 ) >/dev/null 2>&1 &
	SINK=$!
	trap 'kill $SINK 2>/dev/null' EXIT
	t_wait 5 listening "$PORT" || t_fail "smtp-sink did not start"
}

# fake MODE - a scripted SMTP server in PHP on $PORT; saves DATA in $D/msg.
# MODE: partial (RCPT with "refuse" gets 550, with "defer" 451),
# longline (a 5000-byte greeting) or slow (the reply to the end of the
# message comes a second late).
fake() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=$(free_port)
	cat > "$D/fake.php" <<'EOF'
<?php
[$_, $port, $mode, $out] = $argv;
$srv = stream_socket_server("tcp://127.0.0.1:$port", $en, $es);
while ($c = stream_socket_accept($srv, 30)) {
	if ($mode === 'longline') {
		fwrite($c, "220 " . str_repeat('x', 5000) . "\r\n");
		fclose($c);
		continue;
	}
	fwrite($c, "220 fake ESMTP\r\n");
	while (($l = fgets($c)) !== false) {
		$u = strtoupper(substr($l, 0, 4));
		if ($u === 'EHLO') {
			fwrite($c, "250-fake\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");
		} elseif ($u === 'RCPT' && strpos($l, 'refuse') !== false) {
			fwrite($c, "550 5.1.1 <" . trim(substr($l, 9), "<>\r\n") .
			    ">: Recipient address rejected: unknown\r\n");
		} elseif ($u === 'RCPT' && strpos($l, 'defer') !== false) {
			fwrite($c, "451 4.3.0 try later\r\n");
		} elseif ($u === 'DATA') {
			fwrite($c, "354 go\r\n");
			$m = '';
			while (($d = fgets($c)) !== false && $d !== ".\r\n")
				$m .= $d;
			file_put_contents($out, $m);
			if ($mode === 'slow')
				sleep(1);
			fwrite($c, "250 2.0.0 queued\r\n");
		} elseif ($u === 'QUIT') {
			fwrite($c, "221 bye\r\n");
			break;
		} else {
			if ($u === 'RCPT' || $u === 'MAIL')
				file_put_contents("$out.env", $l, FILE_APPEND);
			fwrite($c, "250 ok\r\n");
		}
	}
	fclose($c);
}
EOF
	php "$D/fake.php" "$PORT" "$1" "$D/msg" >/dev/null 2>&1 &
	SINK=$!
	trap 'kill $SINK 2>/dev/null' EXIT
	t_wait 5 listening "$PORT" || t_fail "fake server did not start"
}

# arrived - whether smtp-sink saved a message in $D
arrived() { ls "$D" | grep -q '\.'; }

# submit ARGS... - mailgov-sendmail to $PORT, message on stdin; sets RC,
# ERR, and MSG to the captured message (dump file) when one arrived
submit() {
	MAILGOV_SENDMAIL_PORT=$PORT "$SENDMAIL" "$@" >"$D/out" 2>"$D/err"
	RC=$?
	ERR=$(cat "$D/err")
	MSG=""
	if [ "$RC" = 0 ] || [ "$RC" = 67 ]; then
		t_wait 5 arrived || true
		MSG=$(cat "$D"/*.* "$D/msg" 2>/dev/null)
	fi
}

test_t_takes_to_cc_bcc_and_removes_bcc() {
	sink
	printf 'To: A <a@example.test>, b@example.test\nCc: "Smith, J"\n <c@example.test>\nBcc: hidden@example.test\nSubject: s\n\nbody\n' >"$D/in"
	submit -t -i <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "recipients" "<a@example.test> <b@example.test> <c@example.test> <hidden@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Rcpt-Args: //p' | tr '\n' ' ' | sed 's/ $//')" || return
	printf '%s\n' "$MSG" | grep -qi '^bcc:' && t_fail "Bcc: arrived: $MSG"
	printf '%s\n' "$MSG" | grep -q '^Subject: s$' || t_fail "no Subject: in $MSG"
}

test_without_t_recipients_are_the_arguments() {
	sink
	printf 'To: header@example.test\nSubject: s\n\nbody\n' >"$D/in"
	submit -i arg1@example.test 'Two <arg2@example.test>' <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "recipients" "<arg1@example.test> <arg2@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Rcpt-Args: //p' | tr '\n' ' ' | sed 's/ $//')"
}

test_t_adds_argument_recipients() {
	sink
	printf 'To: h@example.test\n\nbody\n' >"$D/in"
	submit -t -i extra@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "recipients" "<extra@example.test> <h@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Rcpt-Args: //p' | tr '\n' ' ' | sed 's/ $//')"
}

test_dots_arrive_intact_with_i() {
	sink
	printf 'Subject: dots\n\n.leading\n..two\n.\nlast\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "body" "$(printf '.leading\n..two\n.\nlast')" \
	    "$(printf '%s\n' "$MSG" | sed '1,/^$/d')"
}

test_lone_dot_ends_input_without_i() {
	sink
	printf 'Subject: s\n\nbefore\n.\nafter\n' >"$D/in"
	submit r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "body" "before" "$(printf '%s\n' "$MSG" | sed '1,/^$/d')"
}

test_crlf_input_arrives_once() {
	sink
	printf 'Subject: s\r\n\r\nline1\r\nline2\r\r\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "body" "$(printf 'line1\nline2')" \
	    "$(printf '%s\n' "$MSG" | sed '1,/^$/d')"
}

test_sender_is_f_else_login() {
	sink
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i -f '<shop@example.test>' r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "-f sender" "<shop@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Mail-Args: //p')" || return
	rm -f "$D"/*.*
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "default sender" "<$(id -un)>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Mail-Args: //p')"
}

test_F_adds_from_when_missing() {
	sink
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i -F 'Web Shop' -f shop@example.test r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	printf '%s\n' "$MSG" | grep -q '^From: Web Shop <shop@example.test>$' ||
	    t_fail "no From: Web Shop in: $MSG"
}

test_no_recipients_is_usage_error() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=1
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i <"$D/in"
	t_eq "exit without -t" 64 "$RC" || return
	t_eq "message" "mailgov-sendmail: no recipients" "$ERR" || return
	printf 'Subject: s\nTo: undisclosed-recipients:;\n\nb\n' >"$D/in"
	submit -t -i <"$D/in"
	t_eq "exit with -t" 64 "$RC" || return
	t_eq "message" "mailgov-sendmail: no recipients" "$ERR"
}

test_nul_byte_is_data_error() {
	sink
	printf 'Subject: s\n\nb\000c\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 65 "$RC" || return
	t_match "message" "message contains a NUL byte" "$ERR" || return
	arrived && t_fail "something arrived: $(ls "$D")"
	return 0
}

test_line_length_bound() {
	sink
	{ printf 'Subject: s\n\n'; head -c 998 /dev/zero | tr '\0' x; echo; } >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "998 bytes" 0 "$RC" || return
	{ printf 'Subject: s\n\n'; head -c 999 /dev/zero | tr '\0' x; echo; } >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "999 bytes" 65 "$RC" || return
	t_match "message" "line 3 is longer than 998 bytes" "$ERR"
}

test_malformed_header_is_data_error() {
	sink
	printf 'Subject: s\nthis is no header\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 65 "$RC" || return
	t_eq "message" "mailgov-sendmail: malformed header line 2" "$ERR"
}

test_size_bound_from_environment() {
	sink
	{ printf 'Subject: s\n\n'; head -c 300 /dev/zero | tr '\0' '\n'; } >"$D/in"
	export MAILGOV_SENDMAIL_MAX=200
	submit -i r@example.test <"$D/in"
	t_eq "exit" 65 "$RC" || return
	t_match "message" "larger than 200 bytes" "$ERR"
}

test_queue_down_is_tempfail() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=$(free_port)
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 75 "$RC" || return
	t_eq "message" "mailgov-sendmail: queue at 127.0.0.1:$PORT unavailable: Connection refused (the queue instance is down, or mailgov refused this account's connection: see the mail log)" "$ERR"
}

test_queue_4xx_is_tempfail() {
	sink -r MAIL
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 75 "$RC" || return
	t_match "message" "queue at 127.0.0.1:$PORT deferred sender <[^>]*>, nothing sent: 450 4.3.0" "$ERR" || return
	printf '%s' "$ERR" | grep -q unavailable &&
	    t_fail "the queue answered, yet: $ERR"
	return 0
}

test_all_recipients_5xx_is_nouser() {
	sink -f RCPT
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i a@example.test b@example.test <"$D/in"
	t_eq "exit" 67 "$RC" || return
	t_match "message" "refused recipient <b@example.test>: 500 5.3.0" "$ERR" || return
	arrived && t_fail "something arrived: $(ls "$D")"
	return 0
}

test_data_5xx_is_unavailable() {
	sink -f DATA
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 69 "$RC" || return
	t_match "message" "refused DATA: 500" "$ERR"
}

test_some_recipients_5xx_delivers_the_rest() {
	fake partial
	printf 'Subject: s\n\nbody\n' >"$D/in"
	submit -i good@example.test refuse@example.test <"$D/in"
	t_eq "exit" 67 "$RC" || return
	t_match "refused named" "refused recipient <refuse@example.test>: 550 5.1.1" "$ERR" || return
	t_match "summary" "sent to 1 of 2 recipients" "$ERR" || return
	# the server saves the commands it accepts
	t_eq "envelope" "$(printf 'MAIL FROM:<%s> SIZE=20\r\nRCPT TO:<good@example.test>\r' "$(id -un)")" \
	    "$(cat "$D/msg.env")" || return
	t_eq "message" "$(printf 'Subject: s\r\n\r\nbody\r')" "$(cat "$D/msg")"
}

test_some_recipients_4xx_sends_nothing() {
	fake partial
	printf 'Subject: s\n\nbody\n' >"$D/in"
	submit -i good@example.test defer@example.test <"$D/in"
	t_eq "exit" 75 "$RC" || return
	t_match "message" "queue at 127.0.0.1:$PORT deferred recipient <defer@example.test>, nothing sent: 451 4.3.0" "$ERR" || return
	[ ! -e "$D/msg" ] || t_fail "the message was sent"
}

test_overlong_reply_is_protocol_error() {
	fake longline
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 76 "$RC" || return
	t_match "message" "reply line longer than" "$ERR"
}

test_unsupported_modes_are_usage_errors() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=1
	for a in -bp -bv -q -q1h -bd -I -Z; do
		submit $a </dev/null
		t_eq "exit for $a" 64 "$RC" || return
		[ -n "$ERR" ] || t_fail "no message for $a" || return
	done
	t_match "-bp message" "-bp is not supported" "$(MAILGOV_SENDMAIL_PORT=1 "$SENDMAIL" -bp 2>&1)"
}

# --- -bs: SMTP on standard input and output -------------------------------

# bs ARGS... - mailgov-sendmail -bs to $PORT, SMTP on stdin; sets RC and
# what bs_result sets
bs() {
	MAILGOV_SENDMAIL_PORT=$PORT "$SENDMAIL" -bs "$@" >"$D/out" 2>"$D/err"
	RC=$?
	bs_result
}

# bs_result - ERR, OUT (stdout without CRs) and REPLIES (the code of each
# reply's last line, space separated) from $D/err and $D/out
bs_result() {
	ERR=$(cat "$D/err")
	OUT=$(tr -d '\r' <"$D/out")
	REPLIES=$(printf '%s\n' "$OUT" | grep -E '^[0-9]{3}( |$)' |
	    cut -c1-3 | tr '\n' ' ' | sed 's/ $//')
}

# bs_open ARGS... - mailgov-sendmail -bs in the background, its stdin a
# FIFO held open on fd 3; $D/rc gets its exit status when it ends
bs_open() {
	mkfifo "$D/fifo"
	( bs "$@" <"$D/fifo"; echo "$RC" >"$D/rc" ) &
	exec 3>"$D/fifo"
}

# ended - whether the background -bs has exited
ended() { test -s "$D/rc"; }

# crlf - stdin with CRLF line ends, as an SMTP client sends them
crlf() { sed 's/$/\r/'; }

# dumps - how many messages smtp-sink saved in $D
dumps() { ls "$D" | grep -c '\.'; }

test_bs_swaks_conversation_delivers() {
	command -v swaks >/dev/null || { t_fail "swaks not installed"; return; }
	sink
	MAILGOV_SENDMAIL_PORT=$PORT swaks --pipe "$SENDMAIL -bs -i" \
	    --from shop@example.test --to r@example.test \
	    --header "Subject: over -bs" --body "sent by swaks" \
	    >"$D/swaks" 2>&1
	t_eq "swaks exit" 0 "$?" || { cat "$D/swaks" >&2; return 1; }
	t_wait 5 arrived || t_fail "nothing arrived" || return
	MSG=$(cat "$D"/*.*)
	t_eq "sender" "<shop@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Mail-Args: //p')" || return
	t_eq "recipient" "<r@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Rcpt-Args: //p')" || return
	printf '%s\n' "$MSG" | grep -q '^Subject: over -bs' ||
	    t_fail "no Subject: in $MSG"
}

test_bs_two_messages_in_one_conversation() {
	sink
	crlf >"$D/in" <<'EOF'
EHLO client.example.test
MAIL FROM:<shop@example.test>
RCPT TO:<one@example.test>
DATA
Subject: first

body one
.
MAIL FROM:<shop@example.test>
RCPT TO:<two@example.test>
DATA
Subject: second

body two
.
QUIT
EOF
	bs <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "stderr" "" "$ERR" || return
	t_eq "replies" "220 250 250 250 354 250 250 250 354 250 221" \
	    "$REPLIES" || return
	t_wait 5 sh -c "[ \$(ls '$D' | grep -c '\\.') -ge 2 ]"
	t_eq "messages" 2 "$(dumps)" || return
	t_eq "recipients" "<one@example.test> <two@example.test>" \
	    "$(cat "$D"/*.* | sed -n 's/^X-Rcpt-Args: //p' | sort |
	    tr '\n' ' ' | sed 's/ $//')" || return
	t_eq "subjects" "Subject: first Subject: second" \
	    "$(cat "$D"/*.* | tr -d '\r' | grep '^Subject:' | sort |
	    tr '\n' ' ' | sed 's/ $//')"
}

test_bs_input_eof_without_quit_ends_cleanly() {
	# the end of input comes before the reply to the message
	fake slow
	crlf >"$D/in" <<'EOF'
EHLO client.example.test
MAIL FROM:<shop@example.test>
RCPT TO:<r@example.test>
DATA
Subject: no quit

body
.
EOF
	bs <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "stderr" "" "$ERR" || return
	# every reply to what came before the end of input is printed
	t_eq "replies" "220 250 250 250 354 250" "$REPLIES" || return
	t_eq "last reply" "250 2.0.0 queued" \
	    "$(printf '%s\n' "$OUT" | tail -1)" || return
	t_eq "message" "$(printf 'Subject: no quit\r\n\r\nbody\r')" \
	    "$(cat "$D/msg")"
}

test_bs_queue_close_ends_it_with_input_open() {
	sink
	bs_open
	printf 'EHLO client.example.test\r\nQUIT\r\n' >&3
	# stdin stays open: the queue's close after 221 alone must end it
	t_wait 5 ended
	_ended=$?
	exec 3>&-
	t_eq "ended with stdin open" 0 "$_ended" || return
	t_eq "exit" 0 "$(cat "$D/rc")" || return
	bs_result
	t_eq "replies" "220 250 221" "$REPLIES"
}

test_bs_queue_421_is_tempfail() {
	sink -Q MAIL
	bs_open
	printf 'EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\n' >&3
	t_wait 5 ended
	_ended=$?
	exec 3>&-
	t_eq "ended with stdin open" 0 "$_ended" || return
	t_eq "exit" 75 "$(cat "$D/rc")" || return
	bs_result
	t_eq "replies" "220 250 421" "$REPLIES" || return
	t_eq "message" "mailgov-sendmail: queue at 127.0.0.1:$PORT unavailable: connection closed during the SMTP conversation; last reply: 421 4.0.0 Server closing connection" "$ERR"
}

test_bs_queue_down_is_tempfail() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=$(free_port)
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	_normal=$ERR
	printf 'EHLO client.example.test\r\nQUIT\r\n' >"$D/in"
	bs <"$D/in"
	t_eq "exit" 75 "$RC" || return
	t_match "message" "^mailgov-sendmail: queue at 127\.0\.0\.1:$PORT unavailable: Connection refused" "$ERR" || return
	t_eq "message as without -bs" "$_normal" "$ERR" || return
	t_eq "stdout" "" "$OUT"
}

test_bs_with_t_or_recipients_is_usage_error() {
	sink
	bs -t </dev/null
	t_eq "exit with -t" 64 "$RC" || return
	t_eq "message with -t" "mailgov-sendmail: -bs (SMTP on standard input) cannot be combined with -t" "$ERR" || return
	MAILGOV_SENDMAIL_PORT=$PORT "$SENDMAIL" -t -i -bs </dev/null 2>/dev/null
	t_eq "exit with -t first" 64 "$?" || return
	bs -i r@example.test </dev/null
	t_eq "exit with a recipient" 64 "$RC" || return
	t_eq "message with a recipient" "mailgov-sendmail: -bs (SMTP on standard input) takes no recipient arguments: r@example.test" "$ERR" || return
	t_eq "stdout" "" "$OUT" || return
	arrived && t_fail "something arrived: $(ls "$D")"
	return 0
}

test_bs_last_b_mode_wins() {
	sink
	# -bs then -bm is the normal mode: a message, not SMTP, on stdin
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -bs -bm -i r@example.test <"$D/in"
	t_eq "-bs -bm exit" 0 "$RC" || return
	t_eq "-bs -bm recipient" "<r@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Rcpt-Args: //p')" || return
	printf 'QUIT\r\n' >"$D/in"
	submit -bm -bs <"$D/in"
	t_eq "-bm -bs exit" 0 "$RC" || return
	t_eq "-bm -bs replies" "$(printf '220 smtp-sink ESMTP\r\n221 Bye\r')" \
	    "$(cat "$D/out")"
}

test_common_harmless_options_accepted() {
	sink
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -odb -odi -oem -oi -bm -m -U -B 8BITMIME -- r@example.test <"$D/in"
	t_eq "exit" 0 "$RC" || return
	t_eq "no notes" "" "$ERR"
}

test_bad_sender_is_usage_error() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=1
	submit -f "$(printf 'a@b>\r\nRCPT TO:<c@d')" r@example.test </dev/null
	t_eq "exit" 64 "$RC" || return
	t_match "message" "bad sender address" "$ERR"
}

test_option_after_recipient_is_usage_error() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=1
	submit r@example.test -f x@example.test </dev/null
	t_eq "exit" 64 "$RC" || return
	t_match "message" "options must come before recipients" "$ERR"
}

test_bad_port_is_config_error() {
	D=$(mktemp -d "$S/t.XXXXXX")
	PORT=70000
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 78 "$RC" || return
	t_match "message" "MAILGOV_SENDMAIL_PORT" "$ERR"
}

test_php_mail_arrives() {
	command -v php >/dev/null || { t_fail "php not installed"; return; }
	sink
	MAILGOV_SENDMAIL_PORT=$PORT php -n -d sendmail_path="$SENDMAIL -t -i" \
	    -r 'exit(mail("a@example.test", "subj", "body line\n.dot line", "From: x@example.test\r\nBcc: b@example.test") ? 0 : 1);'
	t_eq "php exit" 0 "$?" || return
	t_wait 5 arrived || t_fail "nothing arrived" || return
	MSG=$(cat "$D"/*.*)
	t_eq "recipients" "<a@example.test> <b@example.test>" \
	    "$(printf '%s\n' "$MSG" | sed -n 's/^X-Rcpt-Args: //p' | tr '\n' ' ' | sed 's/ $//')" || return
	printf '%s\n' "$MSG" | grep -q '^Subject: subj$' || t_fail "no Subject: $MSG" || return
	printf '%s\n' "$MSG" | grep -qi '^bcc:' && t_fail "Bcc: arrived: $MSG" && return 1
	t_eq "body" "$(printf 'body line\n.dot line')" \
	    "$(printf '%s\n' "$MSG" | sed '1,/^$/d')"
}

t_main "$@"
