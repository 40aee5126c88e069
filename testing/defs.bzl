# SPDX-License-Identifier: Apache-2.0
"""kernel_cc_test: a cc_test that talks to the real kernel through bpf()."""

def kernel_cc_test(name, srcs, deps = [], data = [], size = "small", env = {}, target_compatible_with = None):
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
        target_compatible_with = target_compatible_with,
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

def interp_twin_test(name, test, kernel = False, size = "small"):
    """`test` (a cc_test label) run again in the bytecode interpreter.

    The x86-64 JIT is on by default (emu/jit_x86.h), so a test that loads
    bytecode runs its programs compiled; the twin runs the same binary with
    BPFEMU_JIT=0 (interp_only.sh), which is what users who turn the JIT off,
    and hosts other than x86-64, get. Nothing is compiled again. `kernel`:
    the test talks to the kernel (kernel_cc_test), so the twin runs outside
    the sandbox too.
    """
    native.sh_test(
        name = name,
        size = size,
        srcs = ["//testing:interp_only.sh"],
        args = ["$(rootpath %s)" % test],
        data = [test],
        tags = ["kernel", "local"] if kernel else [],
    )
