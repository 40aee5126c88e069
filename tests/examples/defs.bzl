# SPDX-License-Identifier: Apache-2.0
"""recorded_example(): an example whose kernel answers are recorded."""

load("//loader:defs.bzl", "bpf_object")
load("//testing:defs.bzl", "kernel_cc_test")

def recorded_example(
        name,
        deps = [],
        compare_deps = [],
        test_deps = [],
        cases_hdrs = [],
        cases_deps = [],
        test_data = [],
        hdrs = [],
        bpf_compiler = "clang",
        visibility = None):
    """The four rules of an example `name` whose kernel answers are recorded.

    * `name`: bpf_object of `name.bpf.c` (with `hdrs`, `bpf_compiler` and
      `visibility`), testonly.
    * `name_cases`: the cases, `name_cases.h` and `cases_hdrs`, with
      `cases_deps`.
    * `name_compare_test`: the cases on the kernel and on bpfemu (it writes
      the kernel's answers to testdata/`name`.expected when asked to).
    * `name_test`: bpfemu against testdata/`name`.expected (and
      `test_data`), without root.

    Both tests depend on the object, the cases, :recorded and `deps`; the
    compare test also on //testing:kernel_object and `compare_deps`, the
    other also on gtest_main and `test_deps`.
    """
    obj = ":" + name + ".bpf.o"
    common = [":" + name, ":" + name + "_cases", ":recorded"] + deps
    bpf_object(
        name = name,
        src = name + ".bpf.c",
        hdrs = hdrs,
        bpf_compiler = bpf_compiler,
        testonly = True,
        visibility = visibility,
    )
    native.cc_library(
        name = name + "_cases",
        testonly = True,
        hdrs = [name + "_cases.h"] + cases_hdrs,
        deps = cases_deps,
    )
    kernel_cc_test(
        name = name + "_compare_test",
        srcs = [name + "_compare_test.cc"],
        data = [obj],
        deps = common + ["//testing:kernel_object"] + compare_deps,
    )
    native.cc_test(
        name = name + "_test",
        size = "small",
        srcs = [name + "_test.cc"],
        data = ["testdata/" + name + ".expected", obj] + test_data,
        deps = common + ["@system_libs//:gtest_main"] + test_deps,
    )
