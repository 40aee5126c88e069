// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c's bit iterator
// (bpf_iter_bits_new / _next / _destroy): a natively built program's
// `extern ... __ksym` declarations (weak) resolve to these definitions. The
// work is emu/iter_bits.h's, which the interpreter's bindings
// (emu/kfunc.cc) call too; the bitmap is read as bpf_probe_read_kernel
// reads natively (native/helpers.cc ProbeRead: the NULL page is a user
// address, -ERANGE; any other mapped address of the process is readable).

#include <linux/types.h>

#include <cstdint>

#include "emu/iter_bits.h"
#include "native/helpers.h"

namespace {

int NativeKernelRead(const void*, void* dst, uint64_t src, uint32_t n) {
  return static_cast<int>(bpfemu::native::ProbeRead(
      bpfemu::native::ProbeSpace::kKernel, dst, n, src, nullptr));
}

}  // namespace

extern "C" {

struct bpf_iter_bits;

int bpf_iter_bits_new(struct bpf_iter_bits* it, const __u64* unsafe_ptr,
                      __u32 nr_words) {
  return bpfemu::IterBitsNew(it, reinterpret_cast<uint64_t>(unsafe_ptr),
                             nr_words, NativeKernelRead, nullptr);
}

int* bpf_iter_bits_next(struct bpf_iter_bits* it) {
  return bpfemu::IterBitsNext(it);
}

void bpf_iter_bits_destroy(struct bpf_iter_bits* it) {
  bpfemu::IterBitsDestroy(it);
}

}  // extern "C"
