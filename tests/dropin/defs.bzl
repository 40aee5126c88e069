# SPDX-License-Identifier: Apache-2.0
"""libbpf_diff_test(): a //compat diff script over bootstrap.bpf.o and
examples' objects."""

def libbpf_diff_test(name, script, program, examples, args = [], data = [], tags = []):
    """An sh_test running //compat:`script` over this package's
    bootstrap.bpf.o and tests/examples/`examples`'s objects, in that order,
    after `args`; with //compat:`program`_program_emu and _real (the same
    program built on libbpfemu and on the system libbpf) and `data`.
    """
    native.sh_test(
        name = name,
        size = "small",
        srcs = ["//compat:" + script],
        args = args + ["tests/dropin/bootstrap.bpf.o"] + [
            "tests/examples/%s.bpf.o" % n
            for n in examples
        ],
        data = [":bootstrap.bpf.o"] + [
            "//tests/examples:%s.bpf.o" % n
            for n in examples
        ] + data + [
            "//compat:%s_program_emu" % program,
            "//compat:%s_program_real" % program,
        ],
        tags = tags,
    )
