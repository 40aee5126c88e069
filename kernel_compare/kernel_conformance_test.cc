// SPDX-License-Identifier: Apache-2.0
// The conformance suites on real kernel maps. Runs outside Bazel's sandbox
// (tag "local"); skips every case with a one-line reason without bpf().
#include "testing/kernel_backend.h"
#include "tests/conformance/all_suites.h"

namespace bpfemu {

INSTANTIATE_CONFORMANCE_SUITES(Kernel, KernelBackend);

}  // namespace bpfemu
