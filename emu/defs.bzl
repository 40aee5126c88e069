# SPDX-License-Identifier: Apache-2.0
"""interp_and_jit_cc_test(): one test source run interpreted and compiled."""

def interp_and_jit_cc_test(name, jit_name, srcs, deps, size = "small"):
    """Two cc_tests of the same `srcs` and `deps`.

    `name` runs the bytecode interpreter (BPFEMU_JIT=0: the JIT is on by
    default), `jit_name` the x86-64 JIT (BPFEMU_JIT=1, emu/jit_x86.h), so
    that every program of the test gives the same results both ways.
    """
    for test, jit in [(name, "0"), (jit_name, "1")]:
        native.cc_test(
            name = test,
            size = size,
            srcs = srcs,
            env = {"BPFEMU_JIT": jit},
            deps = deps,
        )
