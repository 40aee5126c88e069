// SPDX-License-Identifier: Apache-2.0
// File: test_run_kfuncs.h
//
// The release kfuncs of net/bpf/test_run.c's bpf_prog_test_kfunc_set
// (SCHED_CLS, the tracing types and SYSCALL): bpf_kfunc_call_test_release
// and bpf_kfunc_call_memb_release, KF_RELEASE on a struct
// prog_test_ref_kfunc. Their acquiring counterparts live in the
// bpf_testmod module, which a kernel without it (the 6.18 host) lacks: the
// only pointer a program may pass is one taken from a __kptr field of that
// type, which nothing can have stored, so every call the verifier lets
// through is on a NULL-checked pointer that is NULL at run time. What the
// verifier refuses (measured on 6.18) stops a bytecode run with its line:
// NULL ("Possibly NULL pointer passed to trusted arg0", EACCES), any other
// pointer or scalar (test_release: "arg#0 pointer type STRUCT
// prog_test_ref_kfunc must point to scalar, or struct with scalar";
// memb_release: "R1 must be referenced or trusted"; EINVAL). Natively the
// run stops as a fault does.
//
// And kernel/bpf/helpers.c common_btf_ids' bpf_modify_return_test_tp
// (net/bpf/test_run.c; every program type, flags 0): it fires the
// bpf_trigger_tp tracepoint with its nonce and answers the nonce. bpfemu
// runs no program on that tracepoint (docs/semantics.md: a program
// attached to a kernel function or tracepoint never runs), so the answer
// is all a program sees, as on a kernel where nothing is attached there.
//
// kfn50: 6.1's whole test_sk_check_kfunc_ids set (Linux 6.1
// net/bpf/test_run.c; 6.2 moved all but the two release kfuncs to the
// bpf_testmod module, so bpfemu offers them at BPFEMU_KERNEL=6.1 only):
// arithmetic on scalars (bpf_kfunc_call_test1 / _test2), the socket handed
// back (_test3), the kernel's one static struct prog_test_ref_kfunc
// ({a 42, b 108, next itself, refcount 1}) acquired, released, read
// through _get_rdwr_mem / _get_rdonly_mem and got again from a kptr field
// (_test_kptr_get), and the argument-checking no-ops (_pass_ctx, _pass1,
// _pass2, _mem_len_pass1, _mem_len_fail2, _ref, _destructive). The struct
// is process-wide, as the kernel's is system-wide: a program that writes
// through _get_rdwr_mem changes what later runs read. The kfuncs the 6.1
// verifier refuses on every call (_fail1..3, _mem_len_fail1, the
// acquiring _acq_rdonly_mem, _int_mem_release, _memb1_release) are refused
// at load (RefusedAtLoad) with the line of the stack-pointer case
// (tools/testing/selftests/bpf/verifier/calls.c).

#ifndef BPFEMU_EMU_TEST_RUN_KFUNCS_H_
#define BPFEMU_EMU_TEST_RUN_KFUNCS_H_

#include <cstdint>
#include <type_traits>

#include "emu/interp.h"

namespace bpfemu::testk {

// The verifier's line for a call of `kfunc` (bpf_kfunc_call_test_release
// or bpf_kfunc_call_memb_release) with R1 = `r1`.
const char* RefusalLine(const char* kfunc, uint64_t r1);

// bpf_modify_return_test_tp(nonce).
int ModifyReturnTestTp(int nonce);

// 6.1 net/bpf/test_run.c struct prog_test_ref_kfunc, 32 bytes.
struct ProgTestRefKfunc {
  int32_t a;
  int32_t b;
  int32_t memb_m_a;  // struct prog_test_member { prog_test_member1 m; c }
  int32_t memb_c;
  ProgTestRefKfunc* next;
  int32_t cnt;  // refcount_t
};
static_assert(sizeof(ProgTestRefKfunc) == 32);
// The sizes of 6.1's struct prog_test_pass1 and prog_test_pass2.
inline constexpr uint64_t kTestPass1Size = 16;
inline constexpr uint64_t kTestPass2Size = 88;

// The kernel's static prog_test_struct.
ProgTestRefKfunc* TestStruct();
// bpf_kfunc_call_test1(sk, a, b, c, d) / _test2(sk, a, b).
uint64_t Test1(uint32_t a, uint64_t b, uint32_t c, uint64_t d);
int Test2(uint32_t a, uint32_t b);
// bpf_kfunc_call_test_acquire: the struct, its count raised.
ProgTestRefKfunc* TestAcquire();
// bpf_kfunc_call_test_release(p): the count lowered; false (nothing done)
// for a pointer that is not the struct (what the verifier refuses), true
// for NULL (the kernel's check) and the struct.
bool TestRelease61(ProgTestRefKfunc* p);
// __bpf_kfunc_call_test_get_mem(p, size): NULL above 2 ints, else p.
int32_t* TestGetMem(ProgTestRefKfunc* p, int size);
// bpf_kfunc_call_test_kptr_get(pp): *pp with its count raised, or NULL.
ProgTestRefKfunc* TestKptrGet(ProgTestRefKfunc** pp);
// The 6.1 verifier's refusal of every call of `name` (EINVAL): its log
// line, or nullptr if `name` is no such kfunc.
const char* RefusedAtLoad(const char* name);

// The interpreter's entries (interp::HelperFn: R1-R5 -> R0), defined in
// test_run_kfuncs.cc and named in emu/kfunc.cc's table.
using InterpKfunc = std::remove_pointer_t<interp::HelperFn>;

InterpKfunc InterpTestRelease, InterpMembRelease, InterpModifyReturnTestTp;

// 6.1's test kfuncs.
InterpKfunc InterpTest1, InterpTest2, InterpTest3, InterpTestAcquire,
    InterpMembAcquire, InterpGetRdwrMem, InterpGetRdonlyMem, InterpKptrGet,
    InterpPassCtx, InterpPass1, InterpPass2, InterpMemLenPass1,
    InterpMemLenFail2, InterpTestRef, InterpDestructive;
// The kfuncs RefusedAtLoad names: never called (the load fails first).
InterpKfunc InterpRefused;

}  // namespace bpfemu::testk

#endif  // BPFEMU_EMU_TEST_RUN_KFUNCS_H_
