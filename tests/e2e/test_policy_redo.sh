#!/bin/sh
# test_policy_redo - every policy server test again with `redo_log = on`
# (and sync = full): a group commit is one redo log record, fdatasync'ed,
# and the rows reach SQLite from the checkpointer thread.  After kill -9
# the next start replays the log; while the database is locked, answers
# go out (their counts are in the log) and the rows follow once it is
# free.
MAILGOV_TEST_REDO=on
export MAILGOV_TEST_REDO
exec sh "$(dirname "$0")/test_policy.sh" "$@"
