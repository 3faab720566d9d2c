#!/bin/sh
# test_policy_redo_normal - every policy server test again with
# `redo_log = on` and `sync = normal`: the loop thread writes each redo
# log record itself, without an fdatasync.
MAILGOV_TEST_REDO=on
MAILGOV_TEST_SYNC=normal
export MAILGOV_TEST_REDO MAILGOV_TEST_SYNC
exec sh "$(dirname "$0")/test_policy.sh" "$@"
