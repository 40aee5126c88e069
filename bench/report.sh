#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# //bench:report: bench/report.py from the runfiles root, where the
# benchmark binaries and their .bpf.o files are.
exec python3 bench/report.py "$@"
