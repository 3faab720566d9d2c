#!/bin/sh
# test_webhook - examples/mailgov-webhook, the example alert_command: it
# posts one JSON object to the URL it is given, whose "text" names the
# event, the account, the script and the release command exactly as they
# came, quotes, backslashes and newlines included (json.dumps, never
# pasted into quotes); a URL with a quote in it is refused.  The webhook
# is a one-shot HTTP server on 127.0.0.1.

. "$(dirname "$0")/../lib.sh"

S=$(t_scratch)
HOOK="$TOP/examples/mailgov-webhook"

# serve - a one-shot HTTP server; its port in $S/port, the body it got
# in $S/body
serve() {
	rm -f "$S/port" "$S/body"
	python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        open(sys.argv[2], "wb").write(self.rfile.read(n))
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
s.timeout = 10
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.handle_request()' "$S/port" "$S/body" &
	t_wait 5 test -s "$S/port"
}

# run - the hook with mailgovd's environment and nothing else
run() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    MAILGOV_WEBHOOK_URL_FILE="$S/url" \
	    MAILGOV_EVENT=budget_over MAILGOV_ACCOUNT=shop \
	    MAILGOV_SCRIPT="$1" MAILGOV_DETAIL="$2" MAILGOV_HELD=3 \
	    MAILGOV_TIME=1796346209 MAILGOV_HOST=web1.example \
	    MAILGOV_RELEASE="mailgovctl hold release shop" sh "$HOOK"
}

test_the_alert_is_posted_as_json() {
	serve || t_fail "the test server did not start" || return
	echo "http://127.0.0.1:$(cat "$S/port")/hook" > "$S/url"
	run '/var/www/x.php' 'kind=messages action=hold' ||
	    t_fail "the hook failed" || return
	wait
	t_eq "the text" 'mailgov on web1.example: budget_over for account shop, script /var/www/x.php; 3 held (mailgovctl hold release shop)
kind=messages action=hold' \
	    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$S/body")"
}

test_hostile_values_stay_data() {
	serve || t_fail "the test server did not start" || return
	echo "http://127.0.0.1:$(cat "$S/port")/hook" > "$S/url"
	run '/x/"}, "evil": "1' 'sender=<a\"b> $(touch '"$S"'/pwned) `id`
"}' || t_fail "the hook failed" || return
	wait
	t_eq "one key only" '["text"]' \
	    "$(python3 -c 'import json,sys; print(json.dumps(sorted(json.load(open(sys.argv[1])))))' "$S/body")" ||
	    return
	t_match "the script claim as it came" '/x/"\}, "evil": "1' \
	    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$S/body")" ||
	    return
	[ ! -e "$S/pwned" ] || t_fail "a value was run as a command"
}

test_a_url_with_a_quote_is_refused() {
	echo 'http://127.0.0.1:1/"x' > "$S/url"
	_out=$(run '' '' 2>&1) && t_fail "accepted: $_out" && return
	t_match "the refusal" 'a bad URL' "$_out"
}

t_main "$@"
