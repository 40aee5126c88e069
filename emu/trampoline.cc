// SPDX-License-Identifier: Apache-2.0
// File: trampoline.cc
//
// Tracing links and the TRACING test run (trampoline.h): kernel/bpf/
// syscall.c bpf_tracing_prog_attach, kernel/bpf/trampoline.c,
// arch/x86/net/bpf_jit_comp.c arch_prepare_bpf_trampoline and
// net/bpf/test_run.c bpf_prog_test_run_tracing as of 6.18.

#include "emu/trampoline.h"

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "emu/errno.h"
#include "emu/kernel_btf.h"
#include "emu/local_mutex.h"

namespace bpfemu {
namespace {

// BPF_MAX_TRAMP_LINKS on x86-64: programs of all kinds on one function.
constexpr uint32_t kMaxTrampLinks = 38;
// MAX_BPF_FUNC_ARGS.
constexpr uint64_t kMaxFuncArgs = 12;

struct TracingLink {
  std::shared_ptr<const Prog> prog;
  std::string func;
  uint64_t nr_args = 0;
  uint64_t cookie = 0;
};

// The links by fd, and each function's trampoline: its links newest
// first (__bpf_trampoline_link_prog adds at the head of each kind's list,
// and the trampoline runs the list from the head).
struct Links {
  LocalMutex mu;
  absl::flat_hash_map<int, std::shared_ptr<TracingLink>> by_fd;
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<TracingLink>>>
      by_func;
};

Links& State() {
  static Links* links = new Links;
  return *links;
}

thread_local const TrampolineFrame* current_frame = nullptr;

// The FUNC `id` of the kernel BTF: its name and parameter count
// (btf_distill_func_proto: kernel_btf.h DistillFuncProto). 0 or -EINVAL.
int FuncOf(uint32_t id, std::string* name, uint64_t* nr_args) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr || id == 0 || btf->Kind(id) != BTF_KIND_FUNC) {
    return -EINVAL;
  }
  const btf_type* func = btf->Type(id);
  if (btf->Kind(func->type) != BTF_KIND_FUNC_PROTO) return -EINVAL;
  BtfFuncModel model;
  if (int err =
          DistillFuncProto(*btf, func->type, btf->Name(id), &model, nullptr);
      err != 0) {
    return err;
  }
  *name = std::string(btf->Name(id));
  *nr_args = model.nr_args;
  return 0;
}

// Runs `link`'s program in its frame on `ctx`: its R0, a native
// program's int return value sign-extended as a BPF build of the same C
// leaves it.
uint64_t RunLinked(const TracingLink& link, uint64_t* ctx) {
  TrampolineFrame frame;
  frame.ctx = ctx;
  frame.nr_args = link.nr_args;
  frame.func = link.func.c_str();
  frame.cookie = link.cookie;
  frame.attach_type = link.prog->expected_attach_type;
  const TrampolineFrame* outer = current_frame;
  current_frame = &frame;
  uint64_t ret = ProgRunR0(*link.prog, ctx);
  current_frame = outer;
  if (link.prog->code == nullptr) {
    ret =
        static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(ret)));
  }
  return ret;
}

// One call of the emulated kernel function `func` through its trampoline
// (arch_prepare_bpf_trampoline): the fentry programs, then the fmod_ret
// programs, each seeing the previous one's return value after the
// arguments (0 for the first) and a non-zero one skipping the function,
// then the function unless skipped, then the fexit programs with the
// return value after the arguments. The function's own value is its int
// result zero-extended, as its 32-bit register writes leave rax.
uint64_t Call(const char* func, std::initializer_list<uint64_t> args,
              uint64_t (*body)(const uint64_t* args)) {
  std::array<uint64_t, kMaxFuncArgs + 1> ctx{};
  std::copy(args.begin(), args.end(), ctx.begin());
  const size_t n = args.size();
  std::vector<std::shared_ptr<TracingLink>> links;
  {
    Links& s = State();
    LocalMutexLock l(&s.mu);
    auto it = s.by_func.find(func);
    if (it != s.by_func.end()) links = it->second;
  }
  auto run_all = [&](uint32_t kind) {
    for (const auto& link : links) {
      if (link->prog->expected_attach_type == kind) {
        RunLinked(*link, ctx.data());
      }
    }
  };
  run_all(BPF_TRACE_FENTRY);
  bool skip = false;
  for (const auto& link : links) {
    if (link->prog->expected_attach_type != BPF_MODIFY_RETURN) continue;
    // The whole R0 is kept and tested (the trampoline's 64-bit compare).
    const uint64_t r = RunLinked(*link, ctx.data());
    ctx[n] = r;
    if (r != 0) {
      skip = true;
      break;
    }
  }
  if (!skip) ctx[n] = body(ctx.data());
  run_all(BPF_TRACE_FEXIT);
  return ctx[n];
}

uint64_t IntResult(int64_t v) {
  return static_cast<uint32_t>(static_cast<int32_t>(v));
}

// net/bpf/test_run.c's test functions, argument by argument as the C
// parameters take them.
int32_t AsInt(uint64_t v) { return static_cast<int32_t>(v); }
int8_t AsChar(uint64_t v) { return static_cast<int8_t>(v); }
int16_t AsShort(uint64_t v) { return static_cast<int16_t>(v); }
int64_t AsLong(uint64_t v) { return static_cast<int64_t>(v); }

uint64_t FentryTest1(const uint64_t* a) { return IntResult(AsInt(a[0]) + 1); }
uint64_t FentryTest2(const uint64_t* a) {
  return IntResult(AsInt(a[0]) + AsLong(a[1]));
}
uint64_t FentryTest3(const uint64_t* a) {
  return IntResult(AsChar(a[0]) + AsInt(a[1]) + AsLong(a[2]));
}
uint64_t FentryTest4(const uint64_t* a) {
  return IntResult(AsLong(a[0]) + AsChar(a[1]) + AsInt(a[2]) + AsLong(a[3]));
}
uint64_t FentryTest5(const uint64_t* a) {
  return IntResult(AsLong(a[0]) + AsLong(a[1]) + AsShort(a[2]) + AsInt(a[3]) +
                   AsLong(a[4]));
}
uint64_t FentryTest6(const uint64_t* a) {
  return IntResult(AsLong(a[0]) + AsLong(a[1]) + AsShort(a[2]) + AsInt(a[3]) +
                   AsLong(a[4]) + AsLong(a[5]));
}
// bpf_fentry_test7 (the pointer itself) and bpf_fentry_test10 (const void
// *: the pointer itself).
uint64_t PointerValue(const uint64_t* a) { return IntResult(AsLong(a[0])); }
// bpf_fentry_test8: arg->a, struct bpf_fentry_test_t { ... *a; }.
uint64_t FentryTest8(const uint64_t* a) {
  const auto* arg = reinterpret_cast<const uint64_t*>(a[0]);
  return IntResult(static_cast<int64_t>(*arg));
}
// bpf_fentry_test9: *a, a u32 (the result is u32).
uint64_t FentryTest9(const uint64_t* a) {
  return *reinterpret_cast<const uint32_t*>(a[0]);
}
// bpf_modify_return_test(int a, int *b): *b += 1, a + *b.
uint64_t ModifyReturnTest(const uint64_t* a) {
  int* b = reinterpret_cast<int*>(a[1]);
  *b += 1;
  return IntResult(AsInt(a[0]) + *b);
}
// bpf_modify_return_test2(int a, int *b, short c, int d, void *e, char f,
// int g).
uint64_t ModifyReturnTest2(const uint64_t* a) {
  int* b = reinterpret_cast<int*>(a[1]);
  *b += 1;
  return IntResult(AsInt(a[0]) + *b + AsShort(a[2]) + AsInt(a[3]) +
                   AsLong(a[4]) + AsChar(a[5]) + AsInt(a[6]));
}

int Attach(std::shared_ptr<const Prog> prog, uint64_t cookie) {
  std::string func;
  uint64_t nr_args = 0;
  if (int err = FuncOf(prog->attach_btf_id, &func, &nr_args); err != 0) {
    return err;
  }
  auto link = std::make_shared<TracingLink>();
  link->prog = std::move(prog);
  link->func = func;
  link->nr_args = nr_args;
  link->cookie = cookie;
  Links& s = State();
  LocalMutexLock l(&s.mu);
  std::vector<std::shared_ptr<TracingLink>>& on = s.by_func[func];
  // __bpf_trampoline_link_prog: the limit over every kind, then a
  // program linked already.
  if (on.size() >= kMaxTrampLinks) return -E2BIG;
  for (const auto& other : on) {
    if (other->prog == link->prog) return -EBUSY;
  }
  const int fd = memfd_create("bpfemu-link", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  on.insert(on.begin(), link);
  s.by_fd[fd] = std::move(link);
  return fd;
}

}  // namespace

bool HasTrampoline(uint32_t attach_type) {
  return attach_type == BPF_TRACE_FENTRY || attach_type == BPF_TRACE_FEXIT ||
         attach_type == BPF_MODIFY_RETURN;
}

const TrampolineFrame* CurrentTrampolineFrame() { return current_frame; }

int TracingProgCheck(uint32_t attach_type, uint32_t attach_btf_id) {
  if (!HasTrampoline(attach_type)) return 0;
  std::string name;
  uint64_t nr_args = 0;
  return FuncOf(attach_btf_id, &name, &nr_args);
}

int TracingLinkCreate(int prog_fd, uint32_t attach_type, uint32_t target_fd,
                      uint32_t target_btf_id, uint64_t cookie) {
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(prog_fd, &prog); err != 0) return err;
  // link_create(): bpf_prog_attach_check_attach_type, then a tracing
  // program links with its own attach type only.
  if (prog->type != BPF_PROG_TYPE_TRACING ||
      attach_type != prog->expected_attach_type ||
      !HasTrampoline(attach_type)) {
    return -EINVAL;
  }
  // bpf_tracing_prog_attach(): a target program is for extensions only.
  if ((target_fd != 0) != (target_btf_id != 0) || target_fd != 0) {
    return -EINVAL;
  }
  return Attach(std::move(prog), cookie);
}

int TracingRawTpOpen(int prog_fd, const char* name) {
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(prog_fd, &prog); err != 0) return err;
  if (prog->type != BPF_PROG_TYPE_TRACING ||
      !HasTrampoline(prog->expected_attach_type)) {
    return -EINVAL;
  }
  // bpf_raw_tp_link_attach(): the attach point came with the load.
  if (name != nullptr) return -EINVAL;
  return Attach(std::move(prog), 0);
}

bool IsTracingLinkFd(int fd) {
  Links& s = State();
  LocalMutexLock l(&s.mu);
  return s.by_fd.contains(fd);
}

bool ForgetTracingLinkFd(int fd) {
  Links& s = State();
  LocalMutexLock l(&s.mu);
  auto it = s.by_fd.find(fd);
  if (it == s.by_fd.end()) return false;
  std::vector<std::shared_ptr<TracingLink>>& on = s.by_func[it->second->func];
  on.erase(std::remove(on.begin(), on.end(), it->second), on.end());
  s.by_fd.erase(it);
  return true;
}

int TracingTestRun(const Prog& prog, uint32_t* retval) {
  *retval = 0;
  switch (prog.expected_attach_type) {
    case BPF_TRACE_FENTRY:
    case BPF_TRACE_FEXIT: {
      uint64_t arg_a = 0;  // struct bpf_fentry_test_t arg = {}
      uint32_t zero = 0;   // the run's retval, 0 here
      // Each call in turn; the first unexpected answer ends the run.
      const bool ok =
          AsInt(Call("bpf_fentry_test1", {1}, FentryTest1)) == 2 &&
          AsInt(Call("bpf_fentry_test2", {2, 3}, FentryTest2)) == 5 &&
          AsInt(Call("bpf_fentry_test3", {4, 5, 6}, FentryTest3)) == 15 &&
          AsInt(Call("bpf_fentry_test4", {7, 8, 9, 10}, FentryTest4)) == 34 &&
          AsInt(Call("bpf_fentry_test5", {11, 12, 13, 14, 15}, FentryTest5)) ==
              65 &&
          AsInt(Call("bpf_fentry_test6", {16, 17, 18, 19, 20, 21},
                     FentryTest6)) == 111 &&
          AsInt(Call("bpf_fentry_test7", {0}, PointerValue)) == 0 &&
          AsInt(Call("bpf_fentry_test8", {reinterpret_cast<uint64_t>(&arg_a)},
                     FentryTest8)) == 0 &&
          static_cast<uint32_t>(Call("bpf_fentry_test9",
                                     {reinterpret_cast<uint64_t>(&zero)},
                                     FentryTest9)) == 0 &&
          AsInt(Call("bpf_fentry_test10", {0}, PointerValue)) == 0;
      return ok ? 0 : -EFAULT;
    }
    case BPF_MODIFY_RETURN: {
      int b = 2;
      uint16_t side_effect = 0;
      uint16_t ret = static_cast<uint16_t>(
          Call("bpf_modify_return_test", {1, reinterpret_cast<uint64_t>(&b)},
               ModifyReturnTest));
      if (b != 2) ++side_effect;
      b = 2;
      ret = static_cast<uint16_t>(
          ret + static_cast<uint16_t>(
                    Call("bpf_modify_return_test2",
                         {1, reinterpret_cast<uint64_t>(&b), 3, 4, 5, 6, 7},
                         ModifyReturnTest2)));
      if (b != 2) ++side_effect;
      *retval = (uint32_t{side_effect} << 16) | ret;
      return 0;
    }
    default:
      return -EFAULT;
  }
}

}  // namespace bpfemu
