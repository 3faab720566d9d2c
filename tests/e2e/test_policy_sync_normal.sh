#!/bin/sh
# test_policy_sync_normal - every policy server test again with
# `sync = normal`, where the loop thread writes each group commit itself
# instead of handing it to the committer thread.
MAILGOV_TEST_SYNC=normal
export MAILGOV_TEST_SYNC
exec sh "$(dirname "$0")/test_policy.sh" "$@"
