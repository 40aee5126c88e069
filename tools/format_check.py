#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The format check: every C, C++ and BPF C file follows .clang-format.

Usage: format_check.py REPO_ROOT

Runs `clang-format --dry-run --Werror` on each *.c, *.cc and *.h file under
REPO_ROOT (the runfiles tree of //tools:format_test) with the repository's
.clang-format. Prints the files that differ and exits 1, or a summary and
exits 0. Without clang-format (Debian's clang-format package, which
tools/setup.sh installs) it records the test as skipped, with the reason.
"""
import os
import shutil
import subprocess
import sys


def skip(reason):
    print("SKIPPED: " + reason)
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        with open(xml, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<testsuites><testsuite name="format" tests="1">'
                    '<testcase name="format" result="skipped">'
                    '<skipped message="%s"/></testcase></testsuite>'
                    '</testsuites>\n' % reason)
    sys.exit(0)


def main(root):
    tool = shutil.which("clang-format")
    if tool is None:
        skip("clang-format is not installed (apt-get install clang-format)")
    style = os.path.join(root, ".clang-format")
    if not os.path.exists(style):
        print("FORMAT: .clang-format missing from the tree")
        return 1
    files = []
    for dirpath, dirnames, names in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith((".", "bazel-", "external")))
        for n in sorted(names):
            if n.endswith((".c", ".cc", ".h")):
                files.append(os.path.join(dirpath, n))
    bad = []
    for i in range(0, len(files), 50):
        chunk = files[i:i + 50]
        r = subprocess.run(
            [tool, "--dry-run", "--Werror", "--style=file:" + style] + chunk,
            capture_output=True, text=True)
        if r.returncode != 0:
            for line in r.stderr.splitlines():
                if "clang-format-violations" in line:
                    path = os.path.relpath(line.split(":", 1)[0], root)
                    if path not in bad:
                        bad.append(path)
    for path in bad:
        print("FORMAT: %s differs from clang-format's output "
              "(clang-format -i %s)" % (path, path))
    if bad:
        return 1
    print("format: %d files follow .clang-format" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
