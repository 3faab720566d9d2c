#!/bin/sh
# test_attack_flows_nftables - every test of test_attack_flows.sh with the
# nftables backend's rules.
MAILGOV_TEST_BACKEND=nftables
export MAILGOV_TEST_BACKEND
exec sh "$(dirname "$0")/test_attack_flows.sh" "$@"
