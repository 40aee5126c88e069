// SPDX-License-Identifier: Apache-2.0
// net/bpf/test_run.c bpf_kfunc_call_test_release and
// bpf_kfunc_call_memb_release; bpf_modify_return_test_tp; 6.1's
// test_sk_check_kfunc_ids: emu/test_run_kfuncs.h.

#include "emu/test_run_kfuncs.h"

#include <atomic>
#include <cstring>

namespace bpfemu::testk {

namespace {

// 6.1 net/bpf/test_run.c prog_test_struct: {a 42, b 108, next itself,
// cnt REFCOUNT_INIT(1)}. The count is changed atomically (refcount_t).
ProgTestRefKfunc* MakeTestStruct() {
  static ProgTestRefKfunc s = {42, 108, 0, 0, nullptr, 1};
  s.next = &s;
  return &s;
}
ProgTestRefKfunc* const test_struct = MakeTestStruct();

std::atomic_ref<int32_t> Count(ProgTestRefKfunc* p) {
  return std::atomic_ref<int32_t>(p->cnt);
}

}  // namespace

ProgTestRefKfunc* TestStruct() { return test_struct; }

uint64_t Test1(uint32_t a, uint64_t b, uint32_t c, uint64_t d) {
  return a + b + c + d;
}

int Test2(uint32_t a, uint32_t b) { return static_cast<int>(a + b); }

ProgTestRefKfunc* TestAcquire() {
  Count(test_struct).fetch_add(1);
  return test_struct;
}

bool TestRelease61(ProgTestRefKfunc* p) {
  if (p == nullptr) return true;
  if (p != test_struct) return false;
  Count(p).fetch_sub(1);
  return true;
}

int32_t* TestGetMem(ProgTestRefKfunc* p, int size) {
  // The kernel compares with sizeof, an unsigned long: a negative size is
  // a huge one.
  if (static_cast<uint64_t>(static_cast<int64_t>(size)) > 2 * sizeof(int32_t))
    return nullptr;
  return &p->a;
}

ProgTestRefKfunc* TestKptrGet(ProgTestRefKfunc** pp) {
  ProgTestRefKfunc* p =
      std::atomic_ref<ProgTestRefKfunc*>(*pp).load(std::memory_order_relaxed);
  if (p == nullptr) return nullptr;
  Count(p).fetch_add(1);
  return p;
}

const char* RefusedAtLoad(const char* name) {
  struct Refusal {
    const char* name;
    const char* line;
  };
  // 6.1 kernel/bpf/btf.c btf_check_kfunc_arg_match (the struct and void *
  // arguments) and kernel/bpf/verifier.c check_kfunc_call (an acquiring
  // kfunc returning no struct pointer).
  static constexpr Refusal kRefusals[] = {
      {"bpf_kfunc_call_test_fail1",
       "arg#0 pointer type STRUCT prog_test_fail1 must point to scalar, or "
       "struct with scalar"},
      {"bpf_kfunc_call_test_fail2",
       "max struct nesting depth exceeded\narg#0 pointer type STRUCT "
       "prog_test_fail2 must point to scalar, or struct with scalar"},
      {"bpf_kfunc_call_test_fail3",
       "arg#0 pointer type STRUCT prog_test_fail3 must point to scalar, or "
       "struct with scalar"},
      {"bpf_kfunc_call_test_mem_len_fail1",
       "arg#0 pointer type UNKNOWN  must point to scalar, or struct with "
       "scalar"},
      {"bpf_kfunc_call_test_acq_rdonly_mem",
       "acquire kernel function does not return PTR_TO_BTF_ID"},
      {"bpf_kfunc_call_int_mem_release",
       "release kernel function bpf_kfunc_call_int_mem_release expects "
       "refcounted PTR_TO_BTF_ID"},
      {"bpf_kfunc_call_memb1_release",
       "kernel function bpf_kfunc_call_memb1_release args#0 expected pointer "
       "to STRUCT prog_test_member1 but R1 has a pointer to STRUCT "
       "prog_test_member"},
  };
  for (const Refusal& r : kRefusals) {
    if (std::strcmp(r.name, name) == 0) return r.line;
  }
  return nullptr;
}

const char* RefusalLine(const char* kfunc, uint64_t r1) {
  if (r1 == 0) return "Possibly NULL pointer passed to trusted arg0";
  if (std::strcmp(kfunc, "bpf_kfunc_call_test_release") == 0) {
    return "arg#0 pointer type STRUCT prog_test_ref_kfunc must point to "
           "scalar, or struct with scalar";
  }
  return "R1 must be referenced or trusted";
}

uint64_t InterpTestRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  // 6.1's bpf_kfunc_call_test_acquire / _test_kptr_get give the struct;
  // later kernels have nothing that does.
  if (r1 == 0 || !TestRelease61(reinterpret_cast<ProgTestRefKfunc*>(r1))) {
    vm.Fault("%s", RefusalLine("bpf_kfunc_call_test_release", r1));
  }
  return 0;
}

uint64_t InterpMembRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  vm.Fault("%s", RefusalLine("bpf_kfunc_call_memb_release", r1));
}

int ModifyReturnTestTp(int nonce) {
  // trace_bpf_trigger_tp(nonce): no program runs on the tracepoint.
  return nonce;
}

uint64_t InterpModifyReturnTestTp(interp::Vm&, uint64_t r1, uint64_t, uint64_t,
                                  uint64_t, uint64_t) {
  // An int argument: its low 32 bits; an int answer, sign-extended.
  const int ret = ModifyReturnTestTp(static_cast<int>(r1));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

// The socket argument of _test1.._test3 is checked by the verifier
// (a struct sock); the functions do not read it.
uint64_t InterpTest1(interp::Vm&, uint64_t, uint64_t r2, uint64_t r3,
                     uint64_t r4, uint64_t r5) {
  return Test1(static_cast<uint32_t>(r2), r3, static_cast<uint32_t>(r4), r5);
}

uint64_t InterpTest2(interp::Vm&, uint64_t, uint64_t r2, uint64_t r3, uint64_t,
                     uint64_t) {
  const int ret = Test2(static_cast<uint32_t>(r2), static_cast<uint32_t>(r3));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpTest3(interp::Vm&, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  return r1;  // the same socket, whose memory the run may use already
}

namespace {
// The struct, readable by the run (a PTR_TO_BTF_ID the program loads
// from; the verifier refuses stores through it outside tracing).
uint64_t GiveStruct(interp::Vm& vm, ProgTestRefKfunc* p) {
  if (p == nullptr) return 0;
  vm.AddRegion(reinterpret_cast<uint64_t>(p), sizeof(*p), false);
  return reinterpret_cast<uint64_t>(p);
}

// KF_TRUSTED_ARGS / a referenced struct prog_test_ref_kfunc: only the
// struct itself can be one.
void NeedStruct(interp::Vm& vm, uint64_t r1, const char* name) {
  if (r1 != reinterpret_cast<uint64_t>(test_struct)) {
    vm.Fault("%s: R1 must be referenced or trusted", name);
  }
}
}  // namespace

uint64_t InterpTestAcquire(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  // unsigned long *scalar_ptr: 8 readable bytes (check_mem_reg).
  if (!vm.Readable(r1, 8)) {
    vm.Fault("bpf_kfunc_call_test_acquire: R1 is not 8 readable bytes");
  }
  return GiveStruct(vm, TestAcquire());
}

uint64_t InterpMembAcquire(interp::Vm&, uint64_t, uint64_t, uint64_t, uint64_t,
                           uint64_t) {
  return 0;  // WARN_ON_ONCE(1); return NULL
}

namespace {
uint64_t GetMem(interp::Vm& vm, uint64_t r1, uint64_t r2, bool rdwr) {
  const char* name = rdwr ? "bpf_kfunc_call_test_get_rdwr_mem"
                          : "bpf_kfunc_call_test_get_rdonly_mem";
  NeedStruct(vm, r1, name);
  const int size = static_cast<int>(r2);
  int32_t* mem = TestGetMem(reinterpret_cast<ProgTestRefKfunc*>(r1), size);
  if (mem == nullptr) return 0;
  // PTR_TO_MEM of the constant size (meta.r0_size), MEM_RDONLY for rdonly.
  if (size > 0) {
    vm.AddRegion(reinterpret_cast<uint64_t>(mem), static_cast<uint64_t>(size),
                 rdwr);
  }
  return reinterpret_cast<uint64_t>(mem);
}
}  // namespace

uint64_t InterpGetRdwrMem(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                          uint64_t, uint64_t) {
  return GetMem(vm, r1, r2, true);
}

uint64_t InterpGetRdonlyMem(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                            uint64_t, uint64_t) {
  return GetMem(vm, r1, r2, false);
}

uint64_t InterpKptrGet(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  // KF_KPTR_GET: R1 points at a referenced kptr field of a map value.
  if (!vm.InMapValue(r1, sizeof(void*))) {
    vm.Fault(
        "bpf_kfunc_call_test_kptr_get: R1 must point to a kptr field "
        "of a map value");
  }
  return GiveStruct(vm, TestKptrGet(reinterpret_cast<ProgTestRefKfunc**>(r1)));
}

uint64_t InterpPassCtx(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("arg#0 expected pointer to ctx, but got PTR");
  }
  return 0;
}

uint64_t InterpPass1(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  if (!vm.Readable(r1, kTestPass1Size)) {
    vm.Fault("bpf_kfunc_call_test_pass1: R1 is not a struct prog_test_pass1");
  }
  return 0;
}

uint64_t InterpPass2(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  if (!vm.Readable(r1, kTestPass2Size)) {
    vm.Fault("bpf_kfunc_call_test_pass2: R1 is not a struct prog_test_pass2");
  }
  return 0;
}

uint64_t InterpMemLenPass1(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                           uint64_t, uint64_t) {
  // (void *mem, int mem__sz): the memory and its size (check_mem_size_reg).
  const int64_t size = static_cast<int32_t>(r2);
  if (size < 0 || (size > 0 && !vm.Readable(r1, static_cast<uint64_t>(size)))) {
    vm.Fault(
        "bpf_kfunc_call_test_mem_len_pass1: R1 is not R2 readable "
        "bytes");
  }
  return 0;
}

uint64_t InterpMemLenFail2(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  // (u64 *mem, int len): a pointer to one u64; len is a plain scalar.
  if (!vm.Readable(r1, 8)) {
    vm.Fault("bpf_kfunc_call_test_mem_len_fail2: R1 is not 8 readable bytes");
  }
  return 0;
}

uint64_t InterpTestRef(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  NeedStruct(vm, r1, "bpf_kfunc_call_test_ref");
  return 0;
}

uint64_t InterpDestructive(interp::Vm&, uint64_t, uint64_t, uint64_t, uint64_t,
                           uint64_t) {
  return 0;  // the kernel's body is empty too
}

uint64_t InterpRefused(interp::Vm& vm, uint64_t, uint64_t, uint64_t, uint64_t,
                       uint64_t) {
  vm.Fault("a kfunc the 6.1 verifier refuses on every call was called");
}

}  // namespace bpfemu::testk
