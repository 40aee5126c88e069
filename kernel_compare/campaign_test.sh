#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One shard of a random lockstep campaign: kernel_compare reads Bazel's
# TEST_SHARD_INDEX / TEST_TOTAL_SHARDS and runs every TOTAL-th sequence, so
# the shards together (locally, or on as many remote executors) run the
# whole campaign. Extra arguments go to kernel_compare (--sequences, --ops,
# --seed, --types). Without bpf() the emulator runs alone, and says so.
set -u
out=$(kernel_compare/kernel_compare --conformance=false "$@" 2>&1)
status=$?
echo "shard ${TEST_SHARD_INDEX:-0}/${TEST_TOTAL_SHARDS:-1}:"
echo "$out"
exit $status
