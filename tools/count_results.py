#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Counts test cases in Bazel's test.xml files and prints one line:
'N passed, N failed, N skipped'. Exits with Bazel's status.

Usage: count_results.py TESTLOGS_DIR BAZEL_EXIT_STATUS
"""
import os
import sys
import xml.etree.ElementTree as ET


def main():
    root, status = sys.argv[1], int(sys.argv[2])
    passed = failed = skipped = 0
    for dirpath, _, files in os.walk(root, followlinks=True):
        if "test.xml" not in files:
            continue
        try:
            tree = ET.parse(os.path.join(dirpath, "test.xml"))
        except ET.ParseError:
            failed += 1
            continue
        for case in tree.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.get("result") == "skipped" or case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    if status != 0 and failed == 0:
        failed = 1  # the build or a test binary failed outside any test case
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(status)


if __name__ == "__main__":
    main()
