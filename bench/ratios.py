#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns one Google Benchmark JSON run of any //bench binary (hash, compat,
lru, ringbuf, prog, scaling, grid) into the Markdown ratio tables of
docs/performance.md (printed to stdout).

Usage: ratios.py RUN.json
"""
import json
import re
import sys

SIDES = {  # benchmark name suffix -> column
    "<EmuSide>": "emu (fd API)",
    "EmuMap": "emu (Map object)",
    "<KernelSide>": "kernel syscall",
    "Absl": "absl::flat_hash_map",
    "AbslMap<Flat>": "absl::flat_hash_map",
    "AbslMap<Node>": "absl::node_hash_map",
}


def ringbuf_table(run):
    """Events/s of BM_RingbufEvents{Emu,Kernel}/<bytes>/<producers>."""
    rates = {}
    for b in run["benchmarks"]:
        m = re.match(r"BM_RingbufEvents(Emu|Kernel)/(\d+)/(\d+)", b["name"])
        if m and not b.get("error_occurred"):
            rates[(int(m.group(2)), int(m.group(3)), m.group(1))] = \
                b["items_per_second"]
    if not rates:
        return False
    print("| record bytes | producers | emu M events/s | kernel M events/s |"
          " emu / kernel |")
    print("|---|---|---|---|---|")
    for size, prods in sorted({(k[0], k[1]) for k in rates}):
        e, k = rates.get((size, prods, "Emu")), rates.get((size, prods, "Kernel"))
        cell = lambda v: f"{v / 1e6:.2f}" if v else "skipped"
        ratio = f"{e / k:.2f}" if e and k else "n/a"
        print(f"| {size} | {prods} | {cell(e)} | {cell(k)} | {ratio} |")
    return True


def prog_table(run):
    """ns per operation of BM_Prog{Native,Bytecode,Kernel}/<program>
    (//bench:prog_benchmark): each run of a program does ops_per_run
    operations; and ns per instruction of BM_Insns{Bytecode,Kernel}."""
    per_op, per_insn = {}, {}
    for b in run["benchmarks"]:
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        m = re.match(r"BM_Prog(Native|Bytecode|Kernel|Jit)/(\w+)", b["name"])
        if m:
            ops = b.get("ops_per_run", 64)
            per_op[(m.group(2), m.group(1))] = b["real_time"] / ops
        m = re.match(r"BM_Insns(Bytecode|Kernel|Jit)", b["name"])
        if m:
            per_insn[m.group(1)] = b["ns_per_insn"] * 1e9
    if not per_op:
        return False
    cell = lambda v: f"{v:.2f}" if v else "skipped"
    div = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
    print("| program (ops per run: 64; tail_chain: 33 tail calls) | native ns/op | bytecode ns/op |"
          " bytecode JIT ns/op | kernel ns/op | native / kernel |"
          " bytecode / kernel | JIT / kernel |")
    print("|---|---|---|---|---|---|---|---|")
    for prog in dict.fromkeys(k[0] for k in per_op):
        n, i, j, k = (per_op.get((prog, s)) for s in ("Native", "Bytecode",
                                                       "Jit", "Kernel"))
        print(f"| {prog} | {cell(n)} | {cell(i)} | {cell(j)} | {cell(k)} |"
              f" {div(n, k)} | {div(i, k)} | {div(j, k)} |")
    if per_insn:
        i, j, k = (per_insn.get(s) for s in ("Bytecode", "Jit", "Kernel"))
        print()
        print("| ALU loop | interpreter ns/insn | bpfemu JIT ns/insn |"
              " kernel (JIT) ns/insn | interpreter / kernel | JIT / kernel |")
        print("|---|---|---|---|---|---|")
        print(f"| 4 insns x 10000 | {cell(i)} | {cell(j)} | {cell(k)} |"
              f" {div(i, k)} | {div(j, k)} |")
    return True


SCALING_SIDES = {
    "MapObject": "emu (Map object)",
    "Syscall": "kernel syscall",
    "NativeProg": "emu (native program)",
    "KernelProg": "kernel (in program)",
}


def scaling_rates(run):
    """{(side, op, keys, threads): items/s} of BM_Scale<side, op, disjoint>/
    <threads> (//bench:scaling_benchmark)."""
    rates = {}
    for b in run["benchmarks"]:
        m = re.match(r"BM_Scale<(?:bpfemu::\(anonymous namespace\)::)?"
                     r"k(\w+), (?:bpfemu::\(anonymous namespace\)::)?k(\w+), "
                     r"(true|false)>/(\d)", b["name"])
        if m and not b.get("error_occurred"):
            side = SCALING_SIDES[m.group(1)]
            keys = "disjoint" if m.group(3) == "true" else "shared"
            rates[(side, m.group(2), keys, int(m.group(4)))] = \
                b["items_per_second"]
    return rates


def scaling_table(run):
    """Two threads against one, per side, op and key set."""
    rates = scaling_rates(run)
    if not rates:
        return False
    print("| side | op | keys | 1 thread M ops/s | 2 threads M ops/s |"
          " 2 / 1 |")
    print("|---|---|---|---|---|---|")
    for side, op, keys in dict.fromkeys(k[:3] for k in rates):
        one, two = rates.get((side, op, keys, 1)), rates.get((side, op, keys, 2))
        cell = lambda v: f"{v / 1e6:.1f}" if v else "skipped"
        ratio = f"{two / one:.2f}" if one and two else "n/a"
        keys_col = "-" if op == "Compute" else keys
        print(f"| {side if op != 'Compute' else 'ALU loop (machine)'} | "
              f"{op.lower()} | {keys_col} | {cell(one)} | {cell(two)} | {ratio} |")
    return True


def grid_table(run):
    """ns per op of BM_Grid{Lookup,Update}/<side>/<axis>/<shape>
    (//bench:grid_benchmark): each axis varied alone."""
    ns = {}
    for b in run["benchmarks"]:
        m = re.match(r"BM_Grid(Lookup|Update)/(emu|kernel|absl)/(\w+)/(\w+)",
                     b["name"])
        if m and not b.get("error_occurred"):
            ns[(m.group(1), m.group(3), m.group(4), m.group(2))] = b["cpu_time"]
    if not ns:
        return False
    print("| op | axis | shape | emu ns | kernel ns | absl ns |"
          " kernel / emu | emu / absl |")
    print("|---|---|---|---|---|---|---|---|")
    for op, axis, shape in dict.fromkeys(k[:3] for k in ns):
        e, k, a = (ns.get((op, axis, shape, s)) for s in ("emu", "kernel",
                                                          "absl"))
        cell = lambda v: f"{v:.1f}" if v else "skipped"
        div = lambda x, y: f"{x / y:.2f}" if x and y else "n/a"
        print(f"| {op.lower()} | {axis} | {shape} | {cell(e)} | {cell(k)} |"
              f" {cell(a)} | {div(k, e)} | {div(e, a)} |")
    return True


def hash_times(run):
    """{(op, entries): {column: ns}} of //bench:hash_benchmark."""
    times = {}
    for b in run["benchmarks"]:
        if b.get("error_occurred"):
            continue
        m = re.match(r"BM_(\w+?)(<EmuSide>|EmuMap|<KernelSide>|"
                     r"AbslMap<Flat>|AbslMap<Node>|Absl)/(\d+)$",
                     b["name"])
        if not m:
            continue
        op, side, size = m.group(1), SIDES[m.group(2)], int(m.group(3))
        assert b["time_unit"] == "ns"
        times.setdefault((op, size), {})[side] = b["cpu_time"]
    return times


def compat_table(run):
    """//bench:compat_benchmark: libbpfemu through <bpf/bpf.h> against the
    raw bpf() syscall."""
    ns = {}
    for b in run["benchmarks"]:
        m = re.match(r"BM_(\w+)<(CompatSide|RawSyscallSide)>/(\d+)$",
                     b["name"])
        if m and not b.get("error_occurred"):
            ns.setdefault((m.group(1), int(m.group(3))), {})[m.group(2)] = \
                b["cpu_time"]
    if not ns:
        return False
    print("| op | entries | emu (libbpf API) ns | kernel bpf() ns |"
          " kernel / emu |")
    print("|---|---|---|---|---|")
    for (op, size), t in ns.items():
        e, k = t.get("CompatSide"), t.get("RawSyscallSide")
        cell = lambda v: f"{v:.1f}" if v else "skipped"
        ratio = f"{k / e:.2f}" if e and k else "n/a"
        print(f"| {op} | {size} | {cell(e)} | {cell(k)} | {ratio} |")
    return True


def hash_report(run):
    """The machine line and table of //bench:hash_benchmark or
    //bench:lru_benchmark; False if `run` is neither."""
    times = hash_times(run)
    if not times:
        return False
    ctx = run["context"]
    print(f"Machine: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
          f"host {ctx.get('host_name')}, run {ctx.get('date')}.\n")
    cols = list(dict.fromkeys(SIDES.values()))
    print("| op | entries | " + " | ".join(f"{c} ns" for c in cols) +
          " | kernel / emu | kernel / Map | emu / flat | Map / flat |"
          " Map / node |")
    print("|---" * (2 + len(cols) + 5) + "|")
    for (op, size), t in sorted(times.items()):
        def ratio(a, b):
            return f"{t[a] / t[b]:.2f}" if a in t and b in t else "n/a"
        cells = [f"{t[c]:.1f}" if c in t else "skipped" for c in cols]
        print(f"| {op} | {size} | " + " | ".join(cells) + " | " +
              " | ".join([ratio(cols[2], cols[0]), ratio(cols[2], cols[1]),
                          ratio(cols[0], cols[3]), ratio(cols[1], cols[3]),
                          ratio(cols[1], cols[4])]) +
              " |")
    return True


def main():
    run = json.load(open(sys.argv[1]))
    if (ringbuf_table(run) or prog_table(run) or scaling_table(run) or
            grid_table(run) or compat_table(run)):
        return
    hash_report(run)


if __name__ == "__main__":
    main()
