#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the test binary $1 (with the arguments that follow) in the bytecode
# interpreter: BPFEMU_JIT=0 whatever the environment says, so a twin made by
# interp_twin_test (defs.bzl) states its mode even under
# --test_env=BPFEMU_JIT=1.
BPFEMU_JIT=0
export BPFEMU_JIT
exec "$@"
