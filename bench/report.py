#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs every benchmark of //bench once and rewrites the tables and plots of
docs/performance.md:

    bazel run -c opt //bench:report                 # everything (long)
    bazel run -c opt //bench:report -- --only=prog,hash
    bazel run -c opt //bench:report -- --json_dir=/tmp/runs --no_run

Run it as root on a quiet machine (the kernel sides need bpf(); on 2 CPUs a
background build halves the two-thread figures). Each benchmark's JSON goes
to --json_dir (default: a new temporary directory, printed). Every table of
docs/performance.md that a benchmark produces sits between

    <!-- report:NAME -->  and  <!-- /report:NAME -->

and is replaced by what bench/ratios.py prints for that run; the plots are
redrawn by bench/plot.py into docs/img (when gnuplot is installed; otherwise
the old images stay and a line says so). The line "<!-- report:stamp -->"
gets the date, machine and load average of the run.
"""
import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402
import ratios  # noqa: E402

# name -> (binary in the runfiles, extra flags). The order is the run order.
BENCHMARKS = {
    "hash": ("bench/hash_benchmark", ["--benchmark_min_time=0.5"]),
    "compat": ("bench/compat_benchmark", ["--benchmark_min_time=0.5"]),
    "lru": ("bench/lru_benchmark", ["--benchmark_min_time=0.5"]),
    "ringbuf": ("bench/ringbuf_benchmark", ["--benchmark_min_time=0.5"]),
    "prog": ("bench/prog_benchmark", []),
    "scaling": ("bench/scaling_benchmark", []),
    "grid": ("bench/grid_benchmark", ["--benchmark_min_time=0.2"]),
}


def run_benchmark(name, json_dir):
    binary, flags = BENCHMARKS[name]
    out = os.path.join(json_dir, f"{name}.json")
    print(f"running {binary} {' '.join(flags)}", file=sys.stderr, flush=True)
    with open(out, "w") as f:
        # The runfiles root is the working directory: the program benchmarks
        # open their .bpf.o from there.
        subprocess.run([binary, "--benchmark_format=json"] + flags, stdout=f,
                       check=True)
    return out


def tables(run):
    """What ratios.py prints for `run`."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        if not (ratios.ringbuf_table(run) or ratios.prog_table(run) or
                ratios.scaling_table(run) or ratios.grid_table(run) or
                ratios.compat_table(run)):
            ratios.hash_report(run)
    return buf.getvalue().strip()


def replace_block(doc, name, text):
    """Replaces the body of the report:NAME block; the doc unchanged and
    False if it has none."""
    pattern = re.compile(r"(<!-- report:%s -->\n).*?(<!-- /report:%s -->)" %
                         (re.escape(name), re.escape(name)), re.S)
    if not pattern.search(doc):
        return doc, False
    return pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), doc), \
        True


def stamp(runs):
    ctx = next(iter(runs.values()))["context"] if runs else {}
    load = os.getloadavg()
    return (f"Run of {ctx.get('date', '?')}: {ctx.get('num_cpus', '?')} CPUs at "
            f"{ctx.get('mhz_per_cpu', '?')} MHz, Linux {os.uname().release}, "
            f"`-c opt`; load average {load[0]:.2f} at the end of the run "
            f"(`bazel run -c opt //bench:report`).")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default=",".join(BENCHMARKS),
                    help="comma-separated subset of " + ",".join(BENCHMARKS))
    ap.add_argument("--json_dir", default="",
                    help="where the JSON runs go (or are read, --no_run)")
    ap.add_argument("--no_run", action="store_true",
                    help="rewrite the docs from the JSON runs in --json_dir")
    ap.add_argument("--doc", default="",
                    help="the document to rewrite (default: the workspace's "
                    "docs/performance.md)")
    args = ap.parse_args()

    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY", os.getcwd())
    doc_path = args.doc or os.path.join(workspace, "docs", "performance.md")
    names = [n for n in args.only.split(",") if n]
    for n in names:
        if n not in BENCHMARKS:
            ap.error(f"unknown benchmark {n!r}")
    json_dir = args.json_dir or tempfile.mkdtemp(prefix="bpfemu-bench-")
    os.makedirs(json_dir, exist_ok=True)
    print(f"JSON runs in {json_dir}", file=sys.stderr)

    runs = {}
    for n in names:
        path = os.path.join(json_dir, f"{n}.json")
        if not args.no_run:
            path = run_benchmark(n, json_dir)
        if os.path.exists(path):
            runs[n] = json.load(open(path))

    with open(doc_path) as f:
        doc = f.read()
    for n, run in runs.items():
        doc, found = replace_block(doc, n, tables(run))
        if not found:
            print(f"{doc_path}: no <!-- report:{n} --> block; skipped",
                  file=sys.stderr)
    if runs:
        doc, _ = replace_block(doc, "stamp", stamp(runs))
    with open(doc_path, "w") as f:
        f.write(doc)
    print(f"rewrote {doc_path}", file=sys.stderr)

    if shutil.which("gnuplot") is None:
        print("gnuplot is not installed (apt-get install gnuplot-nox): the "
              "plots in docs/img were left as they were", file=sys.stderr)
        return
    img = os.path.join(os.path.dirname(doc_path), "img")
    for n in ("prog", "scaling", "hash"):
        if n in runs:
            plot.prog_plot(runs[n], img) or plot.scaling_plot(runs[n], img) or \
                plot.hash_plot(runs[n], img)


if __name__ == "__main__":
    main()
