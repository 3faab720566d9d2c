#!/bin/sh
# test_layout - the folders keep their order (docs/architecture.md): a
# module includes headers of its own part and of the parts listed for it
# below, never of a later one; headers include no cycle; every source
# opens with its purpose and says what it trusts; and the programs link no
# code of another program (no daemon in mailgovctl or mailgov-sendmail).
. "$(dirname "$0")/../lib.sh"

# the parts each part may use, besides itself
ALLOWED='lib:
ledger:lib
kernel:lib ledger
cluster:lib ledger
queue:lib ledger kernel cluster
mailgovd:lib ledger kernel cluster queue
sendmail:lib
ctl:lib ledger kernel cluster queue'

test_parts_use_only_the_parts_below_them() {
	_out=$(cd "$TOP" && ALLOWED="$ALLOWED" python3 -c '
import glob, os, re, sys
allowed = {}
for line in os.environ["ALLOWED"].splitlines():
    p, _, rest = line.partition(":")
    allowed[p] = set(rest.split())
hdr = {}
for h in glob.glob("include/*/*.h"):
    hdr[os.path.basename(h)] = h.split("/")[1]
for f in sorted(glob.glob("src/*/*.[ch]") + glob.glob("include/*/*.h")):
    part = f.split("/")[1]
    if part not in allowed:
        print("%s: part %s is not in the table" % (f, part))
        continue
    for h in re.findall(r"#include \"([^\"]+)\"", open(f).read()):
        if h not in hdr:
            print("%s: %s is in no part" % (f, h))
        elif hdr[h] != part and hdr[h] not in allowed[part]:
            print("%s: %s uses %s (%s)" % (f, part, h, hdr[h]))
for s in glob.glob("src/*.[ch]") + glob.glob("include/*.h"):
    print("%s: outside every part" % s)
')
	t_eq "layering violations" "" "$_out"
}

test_headers_include_no_cycle() {
	_out=$(cd "$TOP" && python3 -c '
import glob, os, re
inc = {}
for h in glob.glob("include/*/*.h"):
    inc[os.path.basename(h)] = re.findall(r"#include \"([^\"]+)\"", open(h).read())
state = {}
def visit(h, path):
    if state.get(h) == 1:
        print(" -> ".join(path + [h])); return
    if state.get(h) == 2 or h not in inc:
        return
    state[h] = 1
    for d in inc[h]:
        visit(d, path + [h])
    state[h] = 2
for h in sorted(inc):
    visit(h, [])
')
	t_eq "include cycles" "" "$_out"
}

test_every_file_says_its_purpose_and_what_it_trusts() {
	_bad=""
	for _f in "$TOP"/src/*/*.c; do
		head -c 4000 "$_f" | grep -q '[Tt]rusts' || _bad="$_bad ${_f#"$TOP"/}"
	done
	t_eq "sources that do not say what they trust" "" "$_bad"
}

# syms PROGRAM - its defined functions
syms() { nm --defined-only "$1" | awk '$2 == "T" { print $3 }'; }

test_mailgovctl_links_no_daemon_code() {
	_out=$(syms "$MAILGOVCTL" | grep -xE 'release_new|commit_new|redo_replay|loop_run|policy_new|nfq_queue_open|govern_syn|flow_new|sockproc_new' | tr '\n' ' ')
	t_eq "daemon functions in mailgovctl" "" "$_out"
}

test_mailgov_sendmail_links_no_daemon_or_ledger_code() {
	_out=$(syms "$SENDMAIL" | grep -E '^(store_|acct_|commit_|release_|policy_|flow_|nfq_|redo_)' | tr '\n' ' ')
	t_eq "daemon or ledger functions in mailgov-sendmail" "" "$_out"
}

t_main "$@"
