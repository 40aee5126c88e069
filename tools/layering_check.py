#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layering check (docs/architecture.md, "Layers"): fails when a folder
includes or depends on one above it, or when files form an include cycle.

Usage: layering_check.py REPO_ROOT

Three rules:
1. `#include "X/..."` in a C/C++ file under folder F needs X in ALLOWED[F]
   (its own folder always allowed). "bpfemu/..." and "bpf/..." are
   native/include/ headers, so they count as native/.
2. Every Bazel label "//X..." in a BUILD.bazel or .bzl file under F (outside
   `visibility` lists, which name who may depend, not what is depended on)
   needs X in ALLOWED[F].
3. No include cycle between two units (a unit is a path without its
   extension: emu/prog.h and emu/prog.cc are one unit), so no two concepts
   hide a cycle inside one Bazel target (as emu/interp and emu/prog did).
Prints one line per violation and exits 1, or prints a summary and exits 0.
"""
import os
import re
import sys

# Lowest first. Each folder may include only the folders listed (and
# itself). tools/ holds only scripts and this check.
ALLOWED = {
    "emu": set(),
    "native": {"emu"},
    "loader": {"emu", "native"},
    "compat": {"emu", "native", "loader"},
    "exec": {"emu", "native", "loader"},
    "cli": {"emu", "loader", "exec"},
    "testing": {"emu", "native", "loader"},
    "tests": {"emu", "native", "loader", "compat", "testing", "cli", "exec"},
    "kernel_compare": {"emu", "native", "loader", "testing", "tests", "cli",
                       "bench"},
    "bench": {"emu", "native", "loader", "compat", "testing", "exec"},
    "fuzz": {"emu", "native", "loader", "cli"},
    # Out-of-tree projects over the installed tree (the C++ API's headers).
    "examples": {"emu", "native", "loader"},
    "tools": {"emu", "native", "loader", "compat", "exec", "cli", "testing",
              "tests", "examples",
              "kernel_compare", "bench", "fuzz"},
}
# Include prefixes that resolve inside a folder other than their first
# component (native/BUILD.bazel: includes = ["include"]).
ALIASES = {"bpfemu": "native", "bpf": "native"}
# Labels outside the layers: the root package, third_party/ and Bazel's
# "//conditions:default".
NEUTRAL = {"", "third_party", "conditions"}
SOURCE_EXT = (".c", ".cc", ".h")
SKIP_DIRS = {".git", "corpus", "regressions", "artifacts"}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LABEL_RE = re.compile(r'"//([A-Za-z0-9_./-]*)[:"]')
VISIBILITY_RE = re.compile(r"visibility\s*=\s*\[[^\]]*\]", re.S)


def folder_of(rel):
    return rel.split("/", 1)[0] if "/" in rel else ""


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.startswith("bazel-"))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            yield os.path.relpath(path, root), path


def check_acyclic_table():
    """The table itself must be a DAG, or the layers mean nothing."""
    state = {}

    def visit(f, stack):
        if state.get(f) == 1:
            return stack + [f]
        if state.get(f) == 2:
            return None
        state[f] = 1
        for g in sorted(ALLOWED.get(f, ())):
            cyc = visit(g, stack + [f])
            if cyc:
                return cyc
        state[f] = 2
        return None

    for f in sorted(ALLOWED):
        cyc = visit(f, [])
        if cyc:
            return ["layering table has a cycle: " + " -> ".join(cyc)]
    return []


def allowed(src_folder, dst_folder):
    return (dst_folder == src_folder or dst_folder in NEUTRAL or
            dst_folder in ALLOWED.get(src_folder, set()))


def find_cycles(edges):
    """Strongly connected components of more than one unit (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    errors = check_acyclic_table()
    files = set()
    unit_edges = {}
    n_includes = n_labels = 0
    for rel, path in walk(root):
        files.add(rel)
    for rel in sorted(files):
        folder = folder_of(rel)
        path = os.path.join(root, rel)
        if rel.endswith(SOURCE_EXT):
            if folder not in ALLOWED:
                errors.append(f"{rel}: folder '{folder}' is not in the "
                              "layering table (tools/layering_check.py)")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            unit = os.path.splitext(rel)[0]
            for m in INCLUDE_RE.finditer(text):
                inc = m.group(1)
                first = inc.split("/", 1)[0] if "/" in inc else ""
                target = ALIASES.get(first, first)
                if "/" not in inc:
                    continue  # a file next to this one
                n_includes += 1
                line = text.count("\n", 0, m.start()) + 1
                if target not in ALLOWED and target not in ALIASES.values():
                    continue  # a system or third-party header
                if not allowed(folder, target):
                    errors.append(
                        f"{rel}:{line}: {folder}/ includes \"{inc}\" from "
                        f"{target}/, which sits above it (allowed: "
                        f"{', '.join(sorted(ALLOWED[folder])) or 'nothing'})")
                if first in ALIASES:
                    inc = "native/include/" + inc
                if inc in files:
                    dst = os.path.splitext(inc)[0]
                    if dst != unit:
                        unit_edges.setdefault(unit, set()).add(dst)
        elif os.path.basename(rel) in ("BUILD.bazel", "BUILD") or rel.endswith(".bzl"):
            if folder not in ALLOWED:
                continue  # third_party/ and the root package
            with open(path, encoding="utf-8", errors="replace") as f:
                text = VISIBILITY_RE.sub("", f.read())
            for m in LABEL_RE.finditer(text):
                n_labels += 1
                target = folder_of(m.group(1) + "/")
                if not allowed(folder, target):
                    line = text.count("\n", 0, m.start()) + 1
                    errors.append(
                        f"{rel}: {folder}/ depends on \"//{m.group(1)}\" in "
                        f"{target}/, which sits above it (allowed: "
                        f"{', '.join(sorted(ALLOWED[folder])) or 'nothing'})")
    for comp in find_cycles(unit_edges):
        errors.append("include cycle between " + ", ".join(comp) +
                      " (split them so one includes the other, not both)")
    for e in errors:
        print("LAYERING: " + e)
    if errors:
        print(f"{len(errors)} layering violation(s)")
        return 1
    print(f"layering ok: {n_includes} includes and {n_labels} labels in "
          f"{len(ALLOWED)} folders, no include cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
