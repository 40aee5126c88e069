/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfemu's native stand-in for the commonly used parts of libbpf's
 * <bpf/bpf_tracing.h> on x86-64 with UAPI headers: PT_REGS_* accessors over
 * struct pt_regs from <asm/ptrace.h>, and BPF_PROG / BPF_KPROBE, which unpack
 * a program's context into typed arguments.
 */
#ifndef __BPF_TRACING_H__
#define __BPF_TRACING_H__

#include <asm/ptrace.h>

#define PT_REGS_PARM1(x) ((x)->rdi)
#define PT_REGS_PARM2(x) ((x)->rsi)
#define PT_REGS_PARM3(x) ((x)->rdx)
#define PT_REGS_PARM4(x) ((x)->rcx)
#define PT_REGS_PARM5(x) ((x)->r8)
#define PT_REGS_PARM6(x) ((x)->r9)
#define PT_REGS_RET(x) ((x)->rsp)
#define PT_REGS_FP(x) ((x)->rbp)
#define PT_REGS_RC(x) ((x)->rax)
#define PT_REGS_SP(x) ((x)->rsp)
#define PT_REGS_IP(x) ((x)->rip)
#define PT_REGS_PARM1_CORE(x) PT_REGS_PARM1(x)
#define PT_REGS_PARM2_CORE(x) PT_REGS_PARM2(x)
#define PT_REGS_PARM3_CORE(x) PT_REGS_PARM3(x)
#define PT_REGS_RC_CORE(x) PT_REGS_RC(x)

/* Argument counting and pasting for the wrappers below. */
#define ___bpfemu_nth(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, \
                      ...)                                                     \
  N
#define ___bpfemu_narg(...) \
  ___bpfemu_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define ___bpfemu_cat(a, b) a##b
#define ___bpfemu_call(fn, n) ___bpfemu_cat(fn, n)

/* ctx[0], ctx[1], ... for BPF_PROG (tracing programs get an array of u64). */
#define ___bpfemu_ctx0() ctx
#define ___bpfemu_ctx1(x) ___bpfemu_ctx0(), (void *)ctx[0]
#define ___bpfemu_ctx2(x, a...) ___bpfemu_ctx1(a), (void *)ctx[1]
#define ___bpfemu_ctx3(x, a...) ___bpfemu_ctx2(a), (void *)ctx[2]
#define ___bpfemu_ctx4(x, a...) ___bpfemu_ctx3(a), (void *)ctx[3]
#define ___bpfemu_ctx5(x, a...) ___bpfemu_ctx4(a), (void *)ctx[4]
#define ___bpfemu_ctx6(x, a...) ___bpfemu_ctx5(a), (void *)ctx[5]
#define ___bpfemu_ctx7(x, a...) ___bpfemu_ctx6(a), (void *)ctx[6]
#define ___bpfemu_ctx8(x, a...) ___bpfemu_ctx7(a), (void *)ctx[7]
#define ___bpfemu_ctx9(x, a...) ___bpfemu_ctx8(a), (void *)ctx[8]
#define ___bpfemu_ctx10(x, a...) ___bpfemu_ctx9(a), (void *)ctx[9]
#define ___bpfemu_ctx11(x, a...) ___bpfemu_ctx10(a), (void *)ctx[10]
#define ___bpfemu_ctx12(x, a...) ___bpfemu_ctx11(a), (void *)ctx[11]
#define ___bpfemu_ctx(a...) ___bpfemu_call(___bpfemu_ctx, ___bpfemu_narg(a))(a)

#define BPF_PROG(name, args...)                                              \
  name(unsigned long long *ctx);                                             \
  static __always_inline typeof(name(0)) ____##name(unsigned long long *ctx, \
                                                    ##args);                 \
  typeof(name(0)) name(unsigned long long *ctx) {                            \
    return ____##name(___bpfemu_ctx(args));                                  \
  }                                                                          \
  static __always_inline typeof(name(0)) ____##name(unsigned long long *ctx, \
                                                    ##args)

/* PT_REGS_PARMn(ctx) for BPF_KPROBE. */
#define ___bpfemu_kp0() ctx
#define ___bpfemu_kp1(x) ___bpfemu_kp0(), (void *)PT_REGS_PARM1(ctx)
#define ___bpfemu_kp2(x, a...) ___bpfemu_kp1(a), (void *)PT_REGS_PARM2(ctx)
#define ___bpfemu_kp3(x, a...) ___bpfemu_kp2(a), (void *)PT_REGS_PARM3(ctx)
#define ___bpfemu_kp4(x, a...) ___bpfemu_kp3(a), (void *)PT_REGS_PARM4(ctx)
#define ___bpfemu_kp5(x, a...) ___bpfemu_kp4(a), (void *)PT_REGS_PARM5(ctx)
#define ___bpfemu_kp(a...) ___bpfemu_call(___bpfemu_kp, ___bpfemu_narg(a))(a)

#define BPF_KPROBE(name, args...)                                        \
  name(struct pt_regs *ctx);                                             \
  static __always_inline typeof(name(0)) ____##name(struct pt_regs *ctx, \
                                                    ##args);             \
  typeof(name(0)) name(struct pt_regs *ctx) {                            \
    return ____##name(___bpfemu_kp(args));                               \
  }                                                                      \
  static __always_inline typeof(name(0)) ____##name(struct pt_regs *ctx, ##args)

#endif /* __BPF_TRACING_H__ */
