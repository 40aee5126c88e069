# SPDX-License-Identifier: Apache-2.0
"""bench_binary(): one Google Benchmark binary of //bench."""

def bench_binary(name, deps, data = []):
    """`name`.cc linked with Google Benchmark, tagged "benchmark".

    Test-only (it links test helpers) and never run by `bazel test`; run it
    with `bazel run -c opt //bench:<name>` or from bazel-bin (docs/
    performance.md).
    """
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = [name + ".cc"],
        data = data,
        tags = ["benchmark"],
        deps = deps + ["@system_libs//:benchmark"],
    )
