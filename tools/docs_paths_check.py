#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every repository path a *.md file names exists.

Usage: docs_paths_check.py REPO_ROOT

Checked in each Markdown file (outside third_party/ shims and fuzz inputs):
- relative links `[text](path)`, resolved from the file's folder;
- paths that start with one of the repository's top-level folders
  (`emu/prog.h`, `emu/interp.{h,cc}`, `tests/examples/`, `emu/*.cc`);
  a path may also name a file without its extension (`emu/fd_array`) or a
  Bazel target of the folder's package (`cli/bpfemu`);
- Bazel labels `//pkg:target` and `//pkg/...`.
Placeholders (`<harness>`, `PATH`) end a path. Kernel source paths under
tools/lib, tools/testing and tools/include are the kernel's, not ours.
Also: no text file names a path that climbs out of the repository
(`../name/...` read from the repository root, as comments and docs cite
paths; a Markdown link target is resolved and checked above instead): docs
cite this repository and the kernel only. Prints one line per missing path
and exits 1.
"""
import glob
import os
import re
import sys

SKIP_DIRS = {".git", "corpus", "regressions", "artifacts", "rules_cc",
             "rules_java", "remote_coverage_tools"}
KERNEL_PREFIXES = ("tools/lib/", "tools/testing/", "tools/include/",
                   "tools/arch/", "tools/bpf/", "tools/perf/")
TEXT_EXT = (".md", ".h", ".cc", ".c", ".sh", ".py", ".bzl", ".bazel", ".txt")
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
# `../name`, not inside a longer path or a shell expression ("$dir"/../x).
OUTSIDE_RE = re.compile(r"(?<![\w./$)\"-])\.\./[A-Za-z_]")
LABEL_RE = re.compile(r"(?<![\w@])//([A-Za-z0-9_./-]*)(?::([A-Za-z0-9_.+-]+))?")
NAME_RE = re.compile(r'name\s*=\s*"([^"]+)"')


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.startswith("bazel-"))
        for name in sorted(filenames):
            yield os.path.relpath(os.path.join(dirpath, name), root)


def targets_of(root, pkg):
    """Target names of package `pkg` (None if it is not a package): each
    name = "..." and, for names a macro or comprehension builds from parts
    ("region_fuzzer" + "_corpus_test"), every two quoted strings joined."""
    for build in ("BUILD.bazel", "BUILD"):
        path = os.path.join(root, pkg, build)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            names = set(NAME_RE.findall(text))
            quoted = set(re.findall(r'"([A-Za-z0-9_.+-]+)"', text))
            names |= {a + b for a in quoted for b in quoted}
            return names
    return None


def ignored(root, rel):
    """A git-ignored directory the tools create (fuzz/artifacts/)."""
    path = os.path.join(root, ".gitignore")
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        pats = [l.strip().strip("/") for l in f if l.strip() and l[0] != "#"]
    return rel.strip("/") in pats


def path_exists(root, rel):
    rel = rel.rstrip("/")
    if not rel:
        return True
    m = re.search(r"\{([^{}]*)\}", rel)
    if m:  # emu/interp.{h,cc}
        return all(path_exists(root, rel[:m.start()] + alt + rel[m.end():])
                   for alt in m.group(1).split(","))
    if any(c in rel for c in "*?["):
        return bool(glob.glob(os.path.join(root, rel)))
    full = os.path.join(root, rel)
    if os.path.exists(full):
        return True
    if glob.glob(glob.escape(full) + ".*"):  # a file named without extension
        return True
    stem = os.path.splitext(full)[0]
    if stem != full and glob.glob(glob.escape(stem) + ".*"):
        return True  # a build output (counter.bpf.o from counter.bpf.c)
    if ignored(root, rel):
        return True
    pkg, _, name = rel.rpartition("/")
    names = targets_of(root, pkg)
    return names is not None and name in names


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    files = list(walk(root))
    tops = sorted({f.split("/", 1)[0] for f in files if "/" in f}, key=len,
                  reverse=True)
    path_re = re.compile(r"(?<![\w./~$@-])((?:%s)/[A-Za-z0-9_.{},*/+-]*)" %
                         "|".join(re.escape(t) for t in tops))
    errors = []
    n_paths = 0
    for rel in files:
        if rel.endswith(TEXT_EXT) and not rel.startswith("tools/docs_paths"):
            with open(os.path.join(root, rel), encoding="utf-8",
                      errors="replace") as f:
                text = f.read()
            for m in OUTSIDE_RE.finditer(text):
                if text[max(0, m.start() - 2):m.start()] == "](":
                    continue  # a Markdown link, resolved below
                line = text.count("\n", 0, m.start()) + 1
                errors.append(f"{rel}:{line}: names a path outside this "
                              "repository")
                break
        if not rel.endswith(".md"):
            continue
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        base = os.path.dirname(rel)

        def report(pos, what):
            line = text.count("\n", 0, pos) + 1
            errors.append(f"{rel}:{line}: names {what}, which does not exist")

        for m in LINK_RE.finditer(text):
            target = m.group(1).split("#", 1)[0]
            if not target or re.match(r"^[a-z]+:", target):
                continue
            n_paths += 1
            if not path_exists(root, os.path.normpath(os.path.join(base, target))):
                report(m.start(), target)
        for m in path_re.finditer(text):
            p = m.group(1).rstrip(".,:;")
            if (p + "/").startswith(KERNEL_PREFIXES):
                continue
            n_paths += 1
            if not path_exists(root, p):
                report(m.start(), p)
        for m in LABEL_RE.finditer(text):
            pkg, name = m.group(1), m.group(2)
            if pkg.endswith("...") or pkg.endswith("/..."):
                pkg = pkg[:-3].rstrip("/")
                name = None
            end = m.end()
            if end < len(text) and text[end] == "<":
                continue  # //fuzz:<harness>_corpus_test
            if not m.group(1) and not name and not m.group(0).endswith("..."):
                continue  # a C comment, not a label
            n_paths += 1
            names = targets_of(root, pkg)
            if names is None:
                report(m.start(), f"//{m.group(1)} (no such package)")
            elif name and name not in names and not os.path.exists(
                    os.path.join(root, pkg, name)):
                report(m.start(), f"//{pkg}:{name}")
    for e in errors:
        print("DOCS: " + e)
    if errors:
        print(f"{len(errors)} missing path(s)")
        return 1
    print(f"docs ok: {n_paths} repository paths named in Markdown all exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
