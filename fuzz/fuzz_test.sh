#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds every harness with clang -fsanitize=fuzzer,address,undefined and
# fuzzes it for BPFEMU_FUZZ_SECONDS (default: 30 under CI=true, else 10),
# starting from its committed corpus. Fails on any crash, leak or sanitizer
# report. Prints the executions per harness.
#
# A longer campaign from the repository root, keeping what it finds as the
# new seed corpus (minimised with -merge=1):
#   BPFEMU_FUZZ_SECONDS=600 BPFEMU_FUZZ_MERGE=1 bash fuzz/fuzz_test.sh
#
# Inputs that crash, leak or time out are written to $BPFEMU_FUZZ_ARTIFACTS
# (default: the test's undeclared outputs under bazel test, else
# fuzz/artifacts/, which git ignores). A fixed defect's input belongs in
# fuzz/regressions/<harness>/ under a name that says what it was: the merge
# never touches that directory, and the corpus tests replay it.
set -u
seconds=${BPFEMU_FUZZ_SECONDS:-$([[ "${CI:-}" == true ]] && echo 30 || echo 10)}
if ! command -v clang++ >/dev/null; then
  echo "SKIPPED: clang++ not installed (tools/setup.sh installs it)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BPFEMU_BPFFS_DIR="$work/bpffs"
artifacts=${BPFEMU_FUZZ_ARTIFACTS:-${TEST_UNDECLARED_OUTPUTS_DIR:-$PWD/fuzz/artifacts}}
mkdir -p "$artifacts"
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I. -Inative/include
       -fsanitize=fuzzer-no-link,address,undefined)
# BPFEMU_FUZZ_HARNESSES="region_fuzzer cli_fuzzer" runs only those.
harnesses=(${BPFEMU_FUZZ_HARNESSES:-map_create_fuzzer map_ops_fuzzer
           ringbuf_fuzzer interp_fuzzer elf_fuzzer region_fuzzer region_objects_fuzzer
           cli_fuzzer})
absl_libs=(-labsl_synchronization -labsl_graphcycles_internal
  -labsl_random_distributions -labsl_random_seed_sequences
  -labsl_random_internal_pool_urbg -labsl_random_internal_randen
  -labsl_random_internal_randen_hwaes -labsl_random_internal_randen_hwaes_impl
  -labsl_random_internal_randen_slow -labsl_random_internal_platform
  -labsl_random_internal_seed_material -labsl_random_seed_gen_exception
  -labsl_raw_hash_set -labsl_hash -labsl_city -labsl_low_level_hash
  -labsl_hashtablez_sampler -labsl_exponential_biased -labsl_strings
  -labsl_strings_internal -labsl_throw_delegate -labsl_int128 -labsl_time
  -labsl_time_zone -labsl_civil_time -labsl_stacktrace -labsl_symbolize
  -labsl_debugging_internal -labsl_demangle_internal -labsl_malloc_internal
  -labsl_base -labsl_spinlock_wait -labsl_raw_logging_internal
  -labsl_log_severity -labsl_statusor -labsl_status -labsl_cord
  -labsl_cord_internal -labsl_cordz_info -labsl_cordz_handle
  -labsl_cordz_functions -labsl_str_format_internal -labsl_strerror
  -labsl_synchronization -labsl_stacktrace -labsl_symbolize -labsl_base
  -labsl_raw_logging_internal -lnettle -lz -lpthread)

# The emulator, the native helpers and the loader (object model, bytecode
# loader), compiled once.
# Objects are named folder_file.o: emu/btf.cc and loader/btf.cc both exist.
srcs=$(ls emu/*.cc native/*.cc loader/*.cc cli/cli.cc cli/btf_value.cc |
       grep -v _test.cc |
       grep -v loader/gen_native.cc)  # a build tool with its own main()
if ! printf '%s\n' $srcs | xargs -P 2 -I{} sh -c \
    'clang++ "$@" -c {} -o "'"$work"'/$(dirname {})_$(basename {} .cc).o"' _ "${flags[@]}"; then
  echo "FAIL: compiling the emulator with clang"
  exit 1
fi
status=0
pids=()
for name in "${harnesses[@]}"; do
  if ! clang++ "${flags[@]}" -fsanitize=fuzzer "fuzz/$name.cc" "$work"/*.o \
      "${absl_libs[@]}" -o "$work/$name"; then
    echo "FAIL: building $name"
    status=1
    continue
  fi
  mkdir -p "$work/corpus_$name"
  cp fuzz/corpus/$name/* "$work/corpus_$name/" 2>/dev/null
  # Named reproductions seed the run too (never merged away).
  cp fuzz/regressions/$name/* "$work/corpus_$name/" 2>/dev/null
  (
    "$work/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -artifact_prefix="$artifacts/$name-" -print_final_stats=1 \
      "$work/corpus_$name" >"$work/$name.log" 2>&1
    echo $? >"$work/$name.rc"
  ) &
  pids+=($!)
  # Two at a time: the machine has two CPUs.
  if (( ${#pids[@]} == 2 )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
for name in "${harnesses[@]}"; do
  [[ -f "$work/$name.rc" ]] || continue
  execs=$(grep -m1 'stat::number_of_executed_units' "$work/$name.log" |
          awk '{print $2}')
  if [[ "$(cat "$work/$name.rc")" != 0 ]]; then
    echo "FAIL: $name crashed after ${execs:-?} executions:"
    grep -A30 -m1 -E 'ERROR|FUZZ_CHECK|runtime error|deadly signal' \
      "$work/$name.log"
    grep -m1 'Test unit written to' "$work/$name.log"
    status=1
  else
    rate=$(grep -m1 'stat::average_exec_per_sec' "$work/$name.log" |
           awk '{print $2}')
    cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov: ' "$work/$name.log" |
          tail -1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
    echo "PASS: $name ran ${seconds}s, ${execs:-?} executions" \
         "(${rate:-?}/s), coverage ${cov:-?} edges, 0 crashes"
    if [[ -n "${BPFEMU_FUZZ_MERGE:-}" ]]; then
      mkdir -p "$work/min_$name"
      "$work/$name" -merge=1 "$work/min_$name" "fuzz/corpus/$name" \
        "$work/corpus_$name" >/dev/null 2>&1
      rm -f fuzz/corpus/$name/*
      cp "$work/min_$name"/* "fuzz/corpus/$name/"
      echo "  corpus: $(ls "fuzz/corpus/$name" | wc -l) inputs"
    fi
  fi
done
exit $status
