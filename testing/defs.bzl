# SPDX-License-Identifier: Apache-2.0
"""kernel_cc_test: a cc_test that talks to the real kernel through bpf()."""

def kernel_cc_test(name, srcs, deps = [], data = [], size = "small", env = {}):
    """A test that needs bpf(): run outside Bazel's sandbox (where bpf()
    fails), and skipped with a one-line reason when bpf() is not permitted
    (see kernel_test.h).
    """
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs,
        data = data,
        env = env,
        tags = [
            "kernel",
            "local",
        ],
        deps = deps + [
            "//testing:kernel_backend",
            "//testing:kernel_test",
            "@system_libs//:gtest_main",
        ],
    )
