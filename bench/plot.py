#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Draws PNG plots for docs/performance.md from Google Benchmark JSON runs,
with Debian's gnuplot (apt-get install gnuplot-nox).

Usage: plot.py OUT_DIR RUN.json [RUN.json ...]

Each run is recognised by its benchmark names: //bench:prog_benchmark gives
prog_ns_per_op.png (native, bytecode and kernel ns per operation, log
scale), //bench:scaling_benchmark gives scaling.png (1 vs 2 threads), and
//bench:hash_benchmark gives hash_ns.png (emulator, kernel, absl).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from ratios import SIDES, hash_times, scaling_rates


def gnuplot(script, data, out):
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        subprocess.run(["gnuplot"], input=script.replace("DATA", path) %
                       {"out": out}, text=True, check=True)
    finally:
        os.unlink(path)
    print(out)


HEADER = """set terminal pngcairo size 900,420 font "sans,10"
set output "%(out)s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set xtics rotate by -25
"""


def prog_plot(run, out_dir):
    rows = {}
    for b in run["benchmarks"]:
        m = re.match(r"BM_Prog(Native|Bytecode|Kernel)/(\w+)", b["name"])
        if m and not b.get("error_occurred"):
            rows.setdefault(m.group(2), {})[m.group(1)] = \
                b["real_time"] / b.get("ops_per_run", 64)
    if not rows:
        return False
    data = "".join(
        f"{p} {r.get('Native', 0):.3f} {r.get('Bytecode', 0):.3f} "
        f"{r.get('Kernel', 0):.3f}\n" for p, r in rows.items())
    gnuplot(HEADER + """set title "BPF-side map operations: ns per operation (log scale)"
set logscale y
set ylabel "ns / op"
plot "DATA" using 2:xtic(1) title "native", "" using 3 title "bytecode (interpreter)", "" using 4 title "kernel (JIT)"
""", data, os.path.join(out_dir, "prog_ns_per_op.png"))
    return True


def scaling_plot(run, out_dir):
    rows = {}
    for (side, op, keys, n), rate in scaling_rates(run).items():
        short = {"emu (Map object)": "Map", "kernel syscall": "syscall",
                 "emu (native program)": "emu-prog",
                 "kernel (in program)": "kernel-prog"}[side]
        label = "machine-alu" if op == "Compute" else \
            f"{short}-{op.lower()}-{keys[:4]}"
        rows.setdefault(label, {})[n] = rate / 1e6
    if not rows:
        return False
    data = "".join(f"{k} {v.get(1, 0):.2f} {v.get(2, 0):.2f}\n"
                   for k, v in rows.items())
    gnuplot(HEADER + """set title "One thread vs two: M operations per second (log scale)"
set rmargin 9
set logscale y
set ylabel "M ops/s"
plot "DATA" using 2:xtic(1) title "1 thread", "" using 3 title "2 threads"
""", data, os.path.join(out_dir, "scaling.png"))
    return True


def hash_plot(run, out_dir):
    times = hash_times(run)
    if not times:
        return False
    cols = list(dict.fromkeys(SIDES.values()))
    data = "".join(
        f"{op}/{size} " + " ".join(f"{t.get(c, 0):.2f}" for c in cols) + "\n"
        for (op, size), t in sorted(times.items()) if op != "HashOnly")
    series = ", ".join(
        (f'"DATA" using 2:xtic(1)' if i == 0 else f'"" using {i + 2}') +
        f' title "{c}"' for i, c in enumerate(cols))
    gnuplot(HEADER + """set title "Userspace hash map operations: ns (log scale)"
set logscale y
set ylabel "ns / op"
plot """ + series + "\n", data, os.path.join(out_dir, "hash_ns.png"))
    return True


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[2:]:
        run = json.load(open(path))
        if not (prog_plot(run, out_dir) or scaling_plot(run, out_dir) or
                hash_plot(run, out_dir)):
            print(f"{path}: no benchmark this script plots", file=sys.stderr)


if __name__ == "__main__":
    main()
