#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a repository check (tools/*_check.py) on the runfiles tree, which
# holds every package's files at their repository paths.
set -euo pipefail
exec python3 "$1" .
