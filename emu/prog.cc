// SPDX-License-Identifier: Apache-2.0
#include "emu/prog.h"
#include "emu/netdev.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "emu/bpffs.h"
#include "emu/ct_kfuncs.h"
#include "emu/errno.h"
#include "emu/graph_obj.h"
#include "emu/hazard.h"
#include "emu/local_mutex.h"
#include "emu/object_table.h"
#include "emu/task_work.h"
#include "emu/version.h"
#include "emu/xfrm_kfuncs.h"

// bpfemu_tail_run_current is defined in emu/interp.cc (the layer below),
// whose Program::Run hands it to compiled code.

namespace bpfemu {

void ClearCachedProg(const Prog* p);

namespace {

// The TailCallCaches of this process and the programs whose last reference
// went while a run still announced them (the kernel's call_rcu of
// __bpf_prog_put_noref: the free waits for readers).
struct Retirement {
  LocalMutex mu;
  absl::flat_hash_set<TailCallCache*> caches ABSL_GUARDED_BY(mu);
  std::vector<Prog*> retired ABSL_GUARDED_BY(mu);
  std::atomic<bool> pending{false};

  static Retirement& Get() {
    static auto* r = new Retirement;
    return *r;
  }

  // Moves the retired programs no run announces into `out` (freed by the
  // caller, unlocked: a program's bytecode releases maps).
  void CollectLocked(std::vector<Prog*>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (retired.empty()) return;
    hazard::Synchronize();
    const absl::flat_hash_set<const void*> held = hazard::Protected();
    std::vector<Prog*> keep;
    for (Prog* p : retired) {
      (held.contains(p) ? keep : *out).push_back(p);
    }
    retired.swap(keep);
    pending.store(!retired.empty(), std::memory_order_relaxed);
  }
};

void Reclaim() {
  std::vector<Prog*> free_now;
  {
    Retirement& r = Retirement::Get();
    LocalMutexLock l(&r.mu);
    r.CollectLocked(&free_now);
  }
  for (Prog* p : free_now) delete p;
}

// The deleter of every Prog's shared_ptr: the last fd and slot reference
// are gone. Unpublishes the program from the caches, then frees it unless
// a run announces it (then a later Reclaim() does).
void RetireProg(Prog* p) {
  std::vector<Prog*> free_now;
  {
    Retirement& r = Retirement::Get();
    LocalMutexLock l(&r.mu);
    if (p->cached.load(std::memory_order_acquire)) ClearCachedProg(p);
    r.retired.push_back(p);
    r.CollectLocked(&free_now);
  }
  for (Prog* q : free_now) delete q;
}

class ProgTable {
 public:
  static ProgTable& Get() {
    static auto* table = new ProgTable;
    return *table;
  }
  ObjectTable<Prog>& objects() { return objects_; }
  int Add(std::shared_ptr<Prog> prog) {
    const int fd = memfd_create("bpfemu-prog", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    // The id comes before any table lock: its first allocation opens and
    // closes files, and a hooked close() (compat/fs_hooks.cc) runs
    // ForgetFd(), which takes the table's lock (EraseFd).
    prog->id = NextObjectId(IdKind::kProg);
    objects_.Add(fd, std::move(prog));
    return fd;
  }
  // A new fd for the live program `id`, or -ENOENT.
  int FdForId(uint32_t id) {
    std::shared_ptr<const Prog> p = objects_.ById(id);
    if (p == nullptr) return -ENOENT;
    const int fd = memfd_create("bpfemu-prog", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    objects_.Install(fd, std::move(p));
    return fd;
  }
  void AcquireSlot(uint32_t id) {
    std::shared_ptr<const Prog> p = objects_.ById(id);
    LocalMutexLock l(&slots_mu_);
    SlotRef& r = slots_[id];
    if (r.prog == nullptr) r.prog = std::move(p);
    ++r.count;
  }
  void ReleaseSlot(uint32_t id) {
    std::shared_ptr<const Prog> last;  // released outside the lock
    LocalMutexLock l(&slots_mu_);
    auto it = slots_.find(id);
    if (it != slots_.end() && --it->second.count <= 0) {
      last = std::move(it->second.prog);
      slots_.erase(it);
    }
  }

 private:
  struct SlotRef {
    std::shared_ptr<const Prog> prog;
    int count = 0;
  };
  // A program lives while an fd or a PROG_ARRAY slot holds it.
  ObjectTable<Prog> objects_;
  LocalMutex slots_mu_;
  absl::flat_hash_map<uint32_t, SlotRef> slots_ ABSL_GUARDED_BY(slots_mu_);
};

}  // namespace

// Sanitizers follow setjmp()/longjmp() (ASan unpoisons the skipped stack,
// TSan unwinds its shadow stack) but not GCC's __builtin_setjmp, which
// saves and restores only the frame and stack pointers and so costs a few
// instructions where glibc's longjmp walks cleanup handlers and checks the
// target frame (__longjmp_chk): a third of a native tail call.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BPFEMU_LIBC_LONGJMP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BPFEMU_LIBC_LONGJMP 1
#endif
#endif

// One bpf_prog_run() on this thread: where a tail call lands, and the
// invocation's tail-call count (the interpreter's tail_call_cnt).
struct RunState {
#ifdef BPFEMU_LIBC_LONGJMP
  std::jmp_buf env;
#else
  void* env[5];  // __builtin_setjmp's buffer
#endif
  TailRunHead head;  // first: bpfemu_tail_run_current points here
  const Prog* volatile next;
  // Set by TailCallReturn(): the chain ended with `result`.
  volatile bool finished;
  volatile uint32_t result;
  RunState* prev;
  const Prog* entry;  // the program the run was entered at
  // The tail-call target, announced while it runs (the slot may be emptied
  // and the program's last fd closed meanwhile): the hazard slot, taken at
  // the first tail call, or a counted reference when the thread has no
  // hazard slot free. Both live in ProgRun()'s frame, which the longjmp
  // returns to, so nothing leaks.
  std::optional<hazard::Guard> guard;
  std::shared_ptr<const Prog> target;
};
namespace {

thread_local RunState* current_run = nullptr;

// The run's hazard slot: from now on its tail calls may announce their
// target inline (native_abi.h bpf_tail_call, jit_x86.cc InlineTailCall).
void TakeHazardSlot(RunState* run) {
  run->guard.emplace();
  run->head.hazard = run->guard->slot();
  run->head.full_fence = hazard::AsymmetricFences() ? 0 : 1;
}
thread_local bool run_faulted = false;

// current_run, and the inline tail calls' view of it.
void SetCurrentRun(RunState* run) {
  current_run = run;
  bpfemu_tail_run_current = run != nullptr ? &run->head : nullptr;
}

// A fault in interpreted code ends the run here, as ProgAbortRun() does.
[[maybe_unused]] const bool interp_abort_installed =
    (interp::SetAbortRun(&ProgAbortRun), true);

int Register(uint32_t prog_type, uint32_t expected_attach_type,
             const std::string& name, ProgFunc func,
             std::shared_ptr<const interp::Program> code,
             uint32_t attach_btf_id = 0) {
  // bpf_prog_load(): unprivileged_bpf_disabled, for an unprivileged caller.
  if (!CallerPrivileged()) return -EPERM;
  auto prog = std::shared_ptr<Prog>(new Prog, RetireProg);
  prog->type = prog_type;
  prog->expected_attach_type = expected_attach_type;
  prog->name = name;
  prog->func = func;
  prog->attach_btf_id = attach_btf_id;
  if (code != nullptr) {
    prog->max_ctx_offset = code->max_ctx_offset();
    prog->enforce_expected_attach_type =
        prog_type == BPF_PROG_TYPE_CGROUP_SKB &&
        expected_attach_type == BPF_CGROUP_INET_EGRESS &&
        code->returns_2_or_3();
    prog->jit = code->jit_target();  // a copy; `code` keeps it valid
  }
  prog->code = std::move(code);
  return ProgTable::Get().Add(std::move(prog));
}

}  // namespace

// Program flags newer than Debian 12's <linux/bpf.h>.
constexpr uint32_t kXdpHasFrags = 1u << 5;        // BPF_F_XDP_HAS_FRAGS
constexpr uint32_t kXdpDevBoundOnly = 1u << 6;    // BPF_F_XDP_DEV_BOUND_ONLY
constexpr uint32_t kTestRegInvariants = 1u << 7;  // BPF_F_TEST_REG_INVARIANTS
constexpr uint32_t kTokenFd = 1u << 16;           // BPF_F_TOKEN_FD

bool ProgFlagsKnown(uint32_t prog_flags) {
  uint32_t known = BPF_F_STRICT_ALIGNMENT | BPF_F_ANY_ALIGNMENT |
                   BPF_F_TEST_RND_HI32 | BPF_F_TEST_STATE_FREQ |
                   BPF_F_SLEEPABLE | kXdpHasFrags;
  if (TargetKernel() >= KernelVersion::k6_12) {
    known |= kXdpDevBoundOnly | kTestRegInvariants | kTokenFd;
  }
  return (prog_flags & ~known) == 0;
}

int ProgDevBoundInit(uint32_t prog_type, uint32_t prog_flags,
                     uint32_t ifindex) {
  if (prog_type != BPF_PROG_TYPE_SCHED_CLS && prog_type != BPF_PROG_TYPE_XDP) {
    return -EINVAL;
  }
  if (TargetKernel() == KernelVersion::k6_1) {
    if (prog_flags != 0) return -EINVAL;
  } else {
    if (prog_flags & ~(kXdpDevBoundOnly | kXdpHasFrags)) return -EINVAL;
    // Frags only for a dev-bound program, never for an offload request; tc
    // programs are never dev-bound only.
    if ((prog_flags & kXdpHasFrags) && !(prog_flags & kXdpDevBoundOnly)) {
      return -EINVAL;
    }
    if (prog_type == BPF_PROG_TYPE_SCHED_CLS &&
        (prog_flags & kXdpDevBoundOnly)) {
      return -EINVAL;
    }
  }
  return NetdevOffloadCheck(ifindex);
}

int ProgCreate(uint32_t prog_type, uint32_t expected_attach_type,
               const std::string& name, ProgFunc func, uint32_t attach_btf_id) {
  if (func == nullptr) return -EINVAL;
  return Register(prog_type, expected_attach_type, name, func, nullptr,
                  attach_btf_id);
}

int ProgCreateBytecode(uint32_t prog_type, uint32_t expected_attach_type,
                       const std::string& name,
                       std::shared_ptr<const interp::Program> code,
                       uint32_t attach_btf_id) {
  if (code == nullptr) return -EINVAL;
  return Register(prog_type, expected_attach_type, name, nullptr,
                  std::move(code), attach_btf_id);
}

int ProgFromFd(int fd, std::shared_ptr<const Prog>* out) {
  *out = ProgTable::Get().objects().ByFd(fd);
  if (*out != nullptr) return 0;
  return WrongFdErrno(fd);
}

std::shared_ptr<const Prog> ProgFromId(uint32_t id) {
  return ProgTable::Get().objects().ById(id);
}

bool ForgetProgFd(int fd) { return ProgTable::Get().objects().EraseFd(fd); }

int ProgGetNextId(uint32_t start_id, uint32_t* next_id) {
  if (start_id >= INT32_MAX) return -EINVAL;
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  if (next_id == nullptr) return -EFAULT;
  const uint32_t id = ProgTable::Get().objects().NextId(start_id);
  if (id == 0) return -ENOENT;
  *next_id = id;
  return 0;
}

int ProgGetFdById(uint32_t id) {
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  return ProgTable::Get().FdForId(id);
}

int DupProgFd(int fd, int min_fd) {
  std::shared_ptr<const Prog> p;
  if (int err = ProgFromFd(fd, &p); err != 0) return err;
  return ProgTable::Get().objects().Dup(fd, min_fd, std::move(p));
}

void ProgSlotAcquire(uint32_t id) {
  if (id != 0) ProgTable::Get().AcquireSlot(id);
}
void ProgSlotRelease(uint32_t id) {
  if (id != 0) ProgTable::Get().ReleaseSlot(id);
}

namespace {

// What follows the landing point (setjmp) of a run: the result of a run
// that finished, or runs run->next (the program, or the target a tail call
// longjmp()ed back here with; NULL: the run was aborted, *faulted set). The
// last program's return value (a native program's zero-extended). Inline in
// both setjmp sites (RunChain, ProgRunR0).
[[gnu::always_inline]] inline uint64_t AfterLanding(RunState* run, void* ctx,
                                                    bool* faulted) {
  if (run->finished) return run->result;
  const Prog* p = run->next;
  if (p == nullptr) {
    *faulted = true;
    return 0;
  }
  if (p->func == nullptr) return p->code->Run(ctx);  // clears the fault line
  interp::ClearFault();  // a native run starts with none too
  return static_cast<uint32_t>(p->func(ctx));
}

// Runs `run`'s program and the tail calls it takes (each longjmp()s back
// here). (A function calling setjmp is never inlined.)
uint64_t RunChain(RunState* run, void* ctx, bool* faulted) {
#ifdef BPFEMU_LIBC_LONGJMP
  setjmp(run->env);
#else
  __builtin_setjmp(run->env);
#endif
  return AfterLanding(run, ctx, faulted);
}

}  // namespace

// RunChain() inline, so that a run a longjmp ends (the end of a native
// chain of inline tail calls, TailCallReturn) lands in this frame: after
// the chain's 33 nested calls the CPU's return stack holds their return
// addresses, so each return on the way back out is mispredicted, and
// landing here leaves one (ProgRun is inline) instead of three.
uint64_t ProgRunR0(const Prog& prog, void* ctx) {
  RunState run;
  run.next = &prog;
  run.finished = false;
  run.prev = current_run;
  run.entry = &prog;
  // Compiled code that takes tail calls inline needs the slot from its
  // first one on (the runtime's path would take it there), and so does a
  // native program seen taking them (its first one is then inline too).
  if (prog.jit.tail_calls != 0 ||
      prog.takes_tail_calls.load(std::memory_order_relaxed)) {
    TakeHazardSlot(&run);
  }
  SetCurrentRun(&run);
#ifdef BPFEMU_LIBC_LONGJMP
  setjmp(run.env);
#else
  __builtin_setjmp(run.env);
#endif
  bool faulted = false;
  const uint64_t ret = AfterLanding(&run, ctx, &faulted);
  run_faulted = faulted;
  SetCurrentRun(run.prev);
  // What the run allocated and still owns (emu/graph_obj.h), and the
  // conntrack and xfrm state references it still holds (emu/ct_kfuncs.h,
  // emu/xfrm_kfuncs.h).
  if (run.prev == nullptr) {
    graph::EndRun();
    ct::EndRun();
    xfrmk::EndRun();
    // tw50: the works bpf_task_work_schedule_*_impl queued for this task
    // run as it returns to user mode (task_work_run, emu/task_work.h).
    if (t_task_works_queued != 0) [[unlikely]]
      RunTaskWorks();
  }
  if (Retirement::Get().pending.load(std::memory_order_relaxed)) [[unlikely]] {
    run.guard.reset();
    Reclaim();
  }
  return ret;
}

// Compiled bytecode reads the run's head through its own view.
static_assert(offsetof(TailRunHead, tail_calls) ==
                  offsetof(interp::JitTailRun, tail_calls) &&
              offsetof(TailRunHead, full_fence) ==
                  offsetof(interp::JitTailRun, full_fence) &&
              offsetof(TailRunHead, hazard) ==
                  offsetof(interp::JitTailRun, hazard));

bool TakeTailCallBudget() {
  RunState* run = current_run;
  if (run == nullptr || run->head.tail_calls >= kMaxTailCallCnt) return false;
  ++run->head.tail_calls;
  return true;
}

void ProgAbortRun() { TailCallJump(nullptr); }

void TailCallTo(std::shared_ptr<const Prog> next) {
  RunState* run = current_run;
  if (run == nullptr) std::abort();  // outside ProgRun()
  const Prog* p = next.get();
  run->target = std::move(next);  // `next` is empty now: nothing to destroy
  TailCallJump(p);
}

bool ProgFaulted() { return run_faulted; }

const Prog* RunningProg() {
  const RunState* run = current_run;
  return run != nullptr ? run->next : nullptr;
}

uint32_t RunningProgType() {
  const RunState* run = current_run;
  return run != nullptr && run->next != nullptr ? run->next->type : 0;
}

// Called with Retirement::mu held.
void ClearCachedProg(const Prog* p) {
  Retirement& r = Retirement::Get();
  for (TailCallCache* c : r.caches) {
    for (uint32_t i = 0; i < c->n_; ++i) {
      const Prog* expected = p;
      c->slots_[i].compare_exchange_strong(expected, nullptr,
                                           std::memory_order_acq_rel);
    }
  }
}

TailCallCache::TailCallCache(uint32_t slots) : n_(slots) {
  // calloc: a large, never used array costs no memory until touched. A
  // std::atomic of a pointer is a plain pointer on every supported target.
  static_assert(sizeof(std::atomic<const Prog*>) == sizeof(const Prog*));
  slots_ = static_cast<std::atomic<const Prog*>*>(
      std::calloc(slots == 0 ? 1 : slots, sizeof(std::atomic<const Prog*>)));
  if (slots_ == nullptr) std::abort();
  Retirement& r = Retirement::Get();
  LocalMutexLock l(&r.mu);
  r.caches.insert(this);
}

TailCallCache::~TailCallCache() {
  {
    Retirement& r = Retirement::Get();
    LocalMutexLock l(&r.mu);
    r.caches.erase(this);
  }
  std::free(slots_);
}

// Inside Enter() and Jump(): the budget, the slot, the cached program.
[[gnu::always_inline]] inline long TailCallCache::Take(
    RunState* run, uint32_t index, const std::atomic<uint32_t>& slot_id,
    const Prog** next) {
  // The interpreter's order: the budget is spent before the slot is read.
  if (run == nullptr || run->head.tail_calls >= kMaxTailCallCnt) return -E2BIG;
  ++run->head.tail_calls;
  const uint32_t id = slot_id.load(std::memory_order_acquire);
  if (id == 0 || index >= n_) return -ENOENT;
  if (run->guard.has_value() && run->guard->ok()) [[likely]] {
    // Announced, then checked: a cached program still named by the slot's
    // id cannot be freed until the next tail call or the run's end.
    const Prog* p = run->guard->Protect(slots_[index]);
    if (p != nullptr && p->id == id) [[likely]] {
      if (run->target != nullptr) [[unlikely]]
        run->target.reset();
      *next = p;
      return 0;
    }
  }
  *next = Resolve(run, index, id);
  return *next != nullptr ? 0 : -ENOENT;
}

long TailCallCache::Enter(uint32_t index, const std::atomic<uint32_t>& slot_id,
                          const Prog** next) {
  return Take(current_run, index, slot_id, next);
}

long TailCallCache::Jump(uint32_t index, const std::atomic<uint32_t>& slot_id) {
  const Prog* next = nullptr;
  if (long err = Take(current_run, index, slot_id, &next); err != 0) {
    return err;
  }
  TailCallJump(next);
}

// The first call through a slot, a slot that changed, or no hazard slot
// yet: resolves the id in the program table and caches the result.
namespace {
std::atomic<uint64_t> resolve_count{0};
}  // namespace

uint64_t TailCallCache::ResolveCountForTesting() {
  return resolve_count.load(std::memory_order_relaxed);
}

[[gnu::noinline]] const Prog* TailCallCache::Resolve(RunState* run,
                                                     uint32_t index,
                                                     uint32_t id) {
  resolve_count.fetch_add(1, std::memory_order_relaxed);
  if (!run->guard.has_value()) {
    TakeHazardSlot(run);
    // Later runs from the same entry take the slot up front (ProgRunR0).
    if (!run->entry->takes_tail_calls.load(std::memory_order_relaxed)) {
      run->entry->takes_tail_calls.store(true, std::memory_order_relaxed);
    }
  }
  std::atomic<const Prog*>& slot = slots_[index];
  if (run->guard->ok()) {
    const Prog* p = run->guard->Protect(slot);
    if (p != nullptr && p->id == id) {
      run->target.reset();
      return p;
    }
  }
  std::shared_ptr<const Prog> fresh = ProgFromId(id);
  if (fresh == nullptr) return nullptr;
  fresh->cached.store(true, std::memory_order_release);
  slot.store(fresh.get(), std::memory_order_release);
  if (run->guard->ok() && run->guard->Protect(slot) == fresh.get()) {
    run->target.reset();
    return fresh.get();  // announced; `fresh` may now be the last reference
  }
  run->target = std::move(fresh);
  return run->target.get();
}

uint64_t TailCallInFrame(const Prog* next, void* ctx) {
  RunState* outer = current_run;
  if (outer == nullptr) std::abort();  // outside ProgRun()
  // A run of its own for the frame: tail calls the target takes land here,
  // and count on in the invocation's budget.
  RunState run;
  run.next = next;
  run.finished = false;
  run.head.tail_calls = outer->head.tail_calls;
  run.prev = outer;
  run.entry = next;
  SetCurrentRun(&run);
  bool faulted = false;
  const uint64_t ret = RunChain(&run, ctx, &faulted);
  SetCurrentRun(outer);
  outer->head.tail_calls = run.head.tail_calls;
  if (faulted) TailCallJump(nullptr);  // a fault ends the whole run
  return ret;
}

namespace {

[[noreturn]] void Land(RunState* run) {
#ifdef BPFEMU_LIBC_LONGJMP
  std::longjmp(run->env, 1);
#else
  __builtin_longjmp(run->env, 1);
#endif
}

}  // namespace

void TailCallJump(const Prog* next) {
  RunState* run = current_run;
  if (run == nullptr) std::abort();  // outside ProgRun()
  run->next = next;
  Land(run);
}

void TailCallReturn(uint32_t ret) {
  RunState* run = current_run;
  if (run == nullptr) std::abort();  // outside ProgRun()
  run->result = ret;
  run->finished = true;
  Land(run);
}

void ProgTag(const interp::RawInsn* insns, uint32_t cnt, KernelVersion v,
             uint8_t tag[8]) {
  std::vector<interp::RawInsn> raw(insns, insns + cnt);
  bool was_map = false;
  for (interp::RawInsn& in : raw) {
    if (!was_map && in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
        (in.src == BPF_PSEUDO_MAP_FD || in.src == BPF_PSEUDO_MAP_VALUE)) {
      was_map = true;
      in.imm = 0;
    } else if (was_map && in.code == 0 && in.dst == 0 && in.src == 0 &&
               in.off == 0) {
      was_map = false;
      in.imm = 0;
    } else {
      was_map = false;
    }
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(raw.data());
  const size_t size = raw.size() * sizeof(raw[0]);
  uint8_t digest[SHA256_DIGEST_SIZE];
  if (ProgTagIsSha256(v)) {
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, size, bytes);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  } else {
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, size, bytes);
    sha1_digest(&ctx, SHA1_DIGEST_SIZE, digest);
  }
  std::memcpy(tag, digest, 8);
}

}  // namespace bpfemu
