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
# The table has a row for every map type the emulator has, and the total
# row tools/kmatrix/campaign.sh reads (divergences last).
for t in HASH ARRAY PERCPU_HASH PERCPU_ARRAY LRU_HASH LRU_PERCPU_HASH \
  LPM_TRIE QUEUE STACK BLOOM_FILTER STACK_TRACE RINGBUF USER_RINGBUF \
  PERF_EVENT_ARRAY PROG_ARRAY ARRAY_OF_MAPS HASH_OF_MAPS SOCKMAP SOCKHASH \
  CGROUP_ARRAY CGROUP_STORAGE PERCPU_CGROUP_STORAGE STRUCT_OPS \
  SK_STORAGE TASK_STORAGE INODE_STORAGE CGRP_STORAGE; do
  if ! echo "$out" | grep -q "^$t "; then
    echo "FAIL: no table row for $t"
    status=1
  fi
done
if ! echo "$out" | grep -q '^total .* [0-9][0-9]*$'; then
  echo "FAIL: no total row ending in its divergences"
  status=1
fi
exit $status
