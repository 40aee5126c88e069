// SPDX-License-Identifier: Apache-2.0
#include "emu/prog.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csetjmp>
#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/bpffs.h"
#include "emu/errno.h"
#include "emu/local_mutex.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

class ProgTable {
 public:
  static ProgTable& Get() {
    static auto* table = new ProgTable;
    return *table;
  }
  int Add(std::shared_ptr<Prog> prog) {
    const int fd = memfd_create("bpfemu-prog", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    // The id comes before the lock: its first allocation opens and closes
    // files, and a hooked close() (compat/fs_hooks.cc) runs ForgetFd(),
    // which takes mu_ (EraseFd). Nothing the lock holder calls may close.
    prog->id = NextObjectId(IdKind::kProg);
    LocalMutexLock l(&mu_);
    by_id_[prog->id] = prog;
    by_fd_[fd] = std::move(prog);
    return fd;
  }
  std::shared_ptr<const Prog> ByFd(int fd) {
    LocalMutexLock l(&mu_);
    auto it = by_fd_.find(fd);
    return it == by_fd_.end() ? nullptr : it->second;
  }
  std::shared_ptr<const Prog> ById(uint32_t id) {
    LocalMutexLock l(&mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    std::shared_ptr<const Prog> p = it->second.lock();
    if (p == nullptr) by_id_.erase(it);
    return p;
  }
  int Dup(int fd, int min_fd) {
    std::shared_ptr<const Prog> p = ByFd(fd);
    if (p == nullptr) return WrongFdErrno(fd);
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
    if (copy < 0) return -errno;
    LocalMutexLock l(&mu_);
    by_fd_[copy] = std::move(p);
    return copy;
  }
  // The smallest id above `start` of a program still alive, or 0.
  uint32_t NextId(uint32_t start) {
    LocalMutexLock l(&mu_);
    uint32_t best = 0;
    for (const auto& [id, weak] : by_id_) {
      if (id > start && (best == 0 || id < best) && !weak.expired()) {
        best = id;
      }
    }
    return best;
  }
  // A new fd for the live program `id`, or -ENOENT.
  int FdForId(uint32_t id) {
    std::shared_ptr<const Prog> p = ById(id);
    if (p == nullptr) return -ENOENT;
    const int fd = memfd_create("bpfemu-prog", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    LocalMutexLock l(&mu_);
    by_fd_[fd] = std::move(p);
    return fd;
  }
  bool EraseFd(int fd) {
    std::shared_ptr<const Prog> last;  // released outside the lock
    LocalMutexLock l(&mu_);
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) return false;
    last = std::move(it->second);
    by_fd_.erase(it);
    return true;
  }
  void AcquireSlot(uint32_t id) {
    std::shared_ptr<const Prog> p = ById(id);
    LocalMutexLock l(&mu_);
    SlotRef& r = slots_[id];
    if (r.prog == nullptr) r.prog = std::move(p);
    ++r.count;
  }
  void ReleaseSlot(uint32_t id) {
    std::shared_ptr<const Prog> last;
    LocalMutexLock l(&mu_);
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
  LocalMutex mu_;
  // A program lives while an fd or a PROG_ARRAY slot holds it.
  absl::flat_hash_map<int, std::shared_ptr<const Prog>> by_fd_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, SlotRef> slots_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, std::weak_ptr<const Prog>> by_id_
      ABSL_GUARDED_BY(mu_);
};

// One bpf_prog_run() on this thread: where a tail call lands, and the
// invocation's tail-call count (the interpreter's tail_call_cnt).
struct RunState {
  std::jmp_buf env;
  const Prog* volatile next;
  volatile uint32_t tail_calls;
  RunState* prev;
  // The tail-call target's reference, held while it runs (the slot may be
  // emptied and the program's last fd closed meanwhile). It lives in
  // ProgRun()'s frame, which the longjmp returns to, so nothing leaks.
  std::shared_ptr<const Prog> target;
};
thread_local RunState* current_run = nullptr;
thread_local bool run_faulted = false;

// A fault in interpreted code ends the run here, as ProgAbortRun() does.
[[maybe_unused]] const bool interp_abort_installed =
    (interp::SetAbortRun(&ProgAbortRun), true);

int Register(uint32_t prog_type, uint32_t expected_attach_type,
             const std::string& name, ProgFunc func,
             std::shared_ptr<const interp::Program> code) {
  // bpf_prog_load(): unprivileged_bpf_disabled, for an unprivileged caller.
  if (!CallerPrivileged()) return -EPERM;
  auto prog = std::make_shared<Prog>();
  prog->type = prog_type;
  prog->expected_attach_type = expected_attach_type;
  prog->name = name;
  prog->func = func;
  prog->code = std::move(code);
  return ProgTable::Get().Add(std::move(prog));
}

}  // namespace

int ProgCreate(uint32_t prog_type, uint32_t expected_attach_type,
               const std::string& name, ProgFunc func) {
  if (func == nullptr) return -EINVAL;
  return Register(prog_type, expected_attach_type, name, func, nullptr);
}

int ProgCreateBytecode(uint32_t prog_type, uint32_t expected_attach_type,
                       const std::string& name,
                       std::shared_ptr<const interp::Program> code) {
  if (code == nullptr) return -EINVAL;
  return Register(prog_type, expected_attach_type, name, nullptr,
                  std::move(code));
}

int ProgFromFd(int fd, std::shared_ptr<const Prog>* out) {
  *out = ProgTable::Get().ByFd(fd);
  if (*out != nullptr) return 0;
  return WrongFdErrno(fd);
}

std::shared_ptr<const Prog> ProgFromId(uint32_t id) {
  return ProgTable::Get().ById(id);
}

bool ForgetProgFd(int fd) { return ProgTable::Get().EraseFd(fd); }

int ProgGetNextId(uint32_t start_id, uint32_t* next_id) {
  if (start_id >= INT32_MAX) return -EINVAL;
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  if (next_id == nullptr) return -EFAULT;
  const uint32_t id = ProgTable::Get().NextId(start_id);
  if (id == 0) return -ENOENT;
  *next_id = id;
  return 0;
}

int ProgGetFdById(uint32_t id) {
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  return ProgTable::Get().FdForId(id);
}

int DupProgFd(int fd, int min_fd) { return ProgTable::Get().Dup(fd, min_fd); }

void ProgSlotAcquire(uint32_t id) {
  if (id != 0) ProgTable::Get().AcquireSlot(id);
}
void ProgSlotRelease(uint32_t id) {
  if (id != 0) ProgTable::Get().ReleaseSlot(id);
}

uint32_t ProgRun(const Prog& prog, void* ctx) {
  RunState run;
  run.next = &prog;
  run.tail_calls = 0;
  run.prev = current_run;
  current_run = &run;
  run_faulted = false;
  // A tail call longjmp()s back here with run.next set to its target, an
  // aborted run with run.next NULL.
  setjmp(run.env);
  const Prog* p = run.next;
  uint32_t ret = 0;
  if (p == nullptr) {
    run_faulted = true;
  } else if (p->func != nullptr) {
    ret = static_cast<uint32_t>(p->func(ctx));
  } else {
    ret = static_cast<uint32_t>(p->code->Run(ctx));
  }
  current_run = run.prev;
  return ret;
}

bool TakeTailCallBudget() {
  RunState* run = current_run;
  if (run == nullptr || run->tail_calls >= kMaxTailCallCnt) return false;
  run->tail_calls = run->tail_calls + 1;
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

void TailCallJump(const Prog* next) {
  RunState* run = current_run;
  if (run == nullptr) std::abort();  // outside ProgRun()
  run->next = next;
  std::longjmp(run->env, 1);
}

}  // namespace bpfemu
