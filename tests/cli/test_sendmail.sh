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
# MODE: partial (RCPT with "refuse" gets 550, with "defer" 451) or
# longline (a 5000-byte greeting).
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
	t_eq "message" "mailgov-sendmail: queue at 127.0.0.1:$PORT unavailable: Connection refused" "$ERR"
}

test_queue_4xx_is_tempfail() {
	sink -r MAIL
	printf 'Subject: s\n\nb\n' >"$D/in"
	submit -i r@example.test <"$D/in"
	t_eq "exit" 75 "$RC" || return
	t_match "message" "queue at 127.0.0.1:$PORT unavailable: .*450 4.3.0" "$ERR"
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
	t_match "message" "deferred, message not sent: 451 4.3.0" "$ERR" || return
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
	for a in -bs -bp -q -q1h -bd -I -Z; do
		submit $a </dev/null
		t_eq "exit for $a" 64 "$RC" || return
		[ -n "$ERR" ] || t_fail "no message for $a" || return
	done
	t_match "-bs message" "not supported" "$(MAILGOV_SENDMAIL_PORT=1 "$SENDMAIL" -bs 2>&1)"
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
