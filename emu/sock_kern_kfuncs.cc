// SPDX-License-Identifier: Apache-2.0
// net/core/filter.c bpf_sock_addr_set_sun_path and
// bpf_sock_ops_enable_tx_tstamp: emu/sock_kern_kfuncs.h.

#include "emu/sock_kern_kfuncs.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "emu/cast_kfuncs.h"

namespace bpfemu::sockk {
namespace {

const char* KernStruct(const char* kfunc) {
  return std::strcmp(kfunc, "bpf_sock_addr_set_sun_path") == 0
             ? "bpf_sock_addr_kern"
             : "bpf_sock_ops_kern";
}

// Whether `r1` is the struct sk_buff bpf_cast_to_kern_ctx gives this run
// (only the struct __sk_buff program types have one).
bool IsSkbKernCtx(const interp::Vm& vm, uint64_t r1) {
  uint32_t size = 0;
  const void* k = castk::KernCtx(vm.ctx(), vm.prog_type(), &size);
  return k != nullptr && r1 == reinterpret_cast<uint64_t>(k);
}

[[noreturn]] void Refuse(interp::Vm& vm, const char* kfunc, uint64_t r1) {
  const std::string line =
      KernArgRefusal(kfunc, r1, r1 != 0 && IsSkbKernCtx(vm, r1));
  vm.Fault("%s", line.c_str());
}

}  // namespace

std::string KernArgRefusal(const char* kfunc, uint64_t r1, bool skb_kern) {
  if (r1 == 0) return "Possibly NULL pointer passed to trusted arg0";
  if (skb_kern) {
    return absl::StrCat(
        "kernel function ", kfunc, " args#0 expected pointer to STRUCT ",
        KernStruct(kfunc), " but R1 has a pointer to STRUCT sk_buff");
  }
  return absl::StrCat("arg#0 pointer type STRUCT ", KernStruct(kfunc),
                      " must point to scalar, or struct with scalar");
}

uint64_t InterpSetSunPath(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t) {
  Refuse(vm, "bpf_sock_addr_set_sun_path", r1);
}

uint64_t InterpEnableTxTstamp(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                              uint64_t, uint64_t) {
  Refuse(vm, "bpf_sock_ops_enable_tx_tstamp", r1);
}

}  // namespace bpfemu::sockk
