// SPDX-License-Identifier: Apache-2.0
// tests/examples/tracing_misc.bpf.c's and tracing_write.bpf.c's scenarios,
// shared by tracing_misc_compare_test (the kernel against bpfemu's two faces)
// and tracing_misc_test (bpfemu alone): each program run against fresh memory
// of this process (a touched writable page, a PROT_NONE page after it, a
// read-only page, an untouched writable page), and each run's answers as
// text lines: the returns, the bytes the helpers left in the context and
// in this process's memory, and for bpf_send_signal(_thread) the thread's
// and the process's pending sets afterwards and the siginfo of each
// pending signal (taken with sigtimedwait, the signals being blocked).

#ifndef BPFEMU_TESTS_EXAMPLES_TRACING_MISC_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_TRACING_MISC_SCENARIO_H_

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

extern "C" {
#include "tests/examples/tracing_misc_cases.h"
}

namespace bpfemu::examples::tracing_misc {

// Runs a SYSCALL program on `c` (0, or the test run's error).
using SyscallRun = std::function<int(const char* prog, misc_ctx* c)>;
// Runs a raw tracepoint program with `args`: its return value.
using RawTpRun =
    std::function<uint32_t(const char* prog, const std::vector<uint64_t>&)>;

inline std::string Hex(const void* p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof(b), "%02x", static_cast<const uint8_t*>(p)[i]);
    s += b;
  }
  return s;
}

// The four kinds of user memory the context names. The writable and the
// read-only page sit between PROT_NONE pages, so that no mapping made
// later merges into their vmas (bpf_find_vma answers them).
class Memory {
 public:
  static constexpr size_t kPage = 4096;
  Memory() {
    base_ =
        static_cast<uint8_t*>(mmap(nullptr, 5 * kPage, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    fresh_ = static_cast<uint8_t*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < kPage; ++i) {
      rw()[i] = static_cast<uint8_t>(i);
      ro()[i] = static_cast<uint8_t>(0x80 + i);
    }
    mprotect(base_, kPage, PROT_NONE);
    mprotect(base_ + 2 * kPage, kPage, PROT_NONE);
    mprotect(ro(), kPage, PROT_READ);
    mprotect(base_ + 4 * kPage, kPage, PROT_NONE);
  }
  ~Memory() {
    munmap(base_, 5 * kPage);
    munmap(fresh_, kPage);
  }
  void Fill(misc_ctx* c) const {
    c->addr[0] = reinterpret_cast<uint64_t>(rw());
    c->addr[1] = reinterpret_cast<uint64_t>(ro());
    c->addr[2] = reinterpret_cast<uint64_t>(rw() + kPage - 4);
    c->addr[3] = reinterpret_cast<uint64_t>(fresh_);
  }
  uint8_t* rw() const { return base_ + kPage; }
  uint8_t* ro() const { return base_ + 3 * kPage; }
  uint8_t* fresh() const { return fresh_; }

 private:
  uint8_t* base_;
  uint8_t* fresh_;
};

inline std::string Rets(const misc_ctx& c, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + std::to_string(c.ret[i]);
  return s;
}

// Whether `addr` lies in an executable mapping of this process.
inline bool InExecutableMapping(uint64_t addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %4s", &start, &end, perms) == 3 &&
        perms[2] == 'x' && start <= addr && addr < end) {
      return true;
    }
  }
  return false;
}

inline const int kSignals[] = {SIGUSR1, SIGUSR2, 35, 64};

// Signals that reached a handler instead of staying pending (some thread
// did not block them): the scenario reports the count.
inline std::atomic<int> g_delivered{0};
inline void CountDelivery(int) { g_delivered.fetch_add(1); }

// The pending sets of this thread (SigPnd) and process (ShdPnd).
inline std::string PendingSets() {
  std::ifstream f("/proc/thread-self/status");
  std::string line, out;
  while (std::getline(f, line)) {
    if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0) {
      out += (out.empty() ? "" : " ") + line;
    }
  }
  return out;
}

// Takes every pending tested signal: "signo/code/pid/uid" each.
inline std::string DrainSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kSignals) sigaddset(&set, s);
  std::string out;
  const struct timespec zero = {0, 0};
  siginfo_t info;
  while (sigtimedwait(&set, &info, &zero) > 0) {
    out += " " + std::to_string(info.si_signo) + "/" +
           std::to_string(info.si_code) + "/" + std::to_string(info.si_pid) +
           "/" + std::to_string(info.si_uid);
  }
  return out.empty() ? " none" : out;
}

inline std::vector<std::string> RunScenario(const SyscallRun& sys,
                                            const RawTpRun& tp) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& key, const std::string& v) {
    out.push_back(key + "\t" + v);
  };
  {  // bpf_send_signal(_thread), the signals blocked in this thread
    sigset_t block, old;
    sigemptyset(&block);
    struct sigaction sa = {}, saved[65] = {};
    sa.sa_handler = CountDelivery;
    for (int s : kSignals) {
      sigaddset(&block, s);
      sigaction(s, &sa, &saved[s]);
    }
    pthread_sigmask(SIG_BLOCK, &block, &old);
    g_delivered = 0;
    const uint64_t sigs[] = {
        SIGUSR1, 35, 64, 0, 65, 0xffffffffu, (uint64_t{1} << 32) | SIGUSR2};
    for (const char* prog : {"send_sig", "send_sig_tp"}) {
      for (uint64_t thread : {0, 1}) {
        for (uint64_t sig : sigs) {
          const std::string key = std::string(prog) + "." +
                                  std::to_string(thread) + "." +
                                  std::to_string(sig);
          int32_t ret;
          if (std::string(prog) == "send_sig") {
            misc_ctx c = {};
            c.sig = sig;
            c.thread = thread;
            const int err = sys(prog, &c);
            ret = err != 0 ? err : static_cast<int32_t>(c.ret[0]);
          } else {
            ret = static_cast<int32_t>(tp(prog, {sig, thread}));
          }
          add(key + ".ret", std::to_string(ret));
          add(key + ".pending", PendingSets());
          add(key + ".taken", DrainSignals());
        }
      }
    }
    add("send_sig.delivered_to_handlers", std::to_string(g_delivered.load()));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    for (int s : kSignals) sigaction(s, &saved[s], nullptr);
  }
  {  // bpf_get_branch_snapshot
    misc_ctx c = {};
    add("branches.err", std::to_string(sys("branches", &c)));
    add("branches.ret", Rets(c, 5));
    add("branches.buf", Hex(c.buf, 64));
    add("branches_tp.0",
        std::to_string(static_cast<int32_t>(tp("branches_tp", {0}))));
    add("branches_tp.1",
        std::to_string(static_cast<int32_t>(tp("branches_tp", {1}))));
  }
  {  // bpf_find_vma's returns and calls
    Memory m;
    misc_ctx c = {};
    m.Fill(&c);
    add("find_vma_calls.err", std::to_string(sys("find_vma_calls", &c)));
    add("find_vma_calls.ret", Rets(c, 7));
  }
  {  // bpf_get_task_stack: properties where the frames are the kernel's
    misc_ctx c = {};
    add("task_stack.err", std::to_string(sys("task_stack", &c)));
    add("task_stack.kernel",
        std::string(c.ret[0] > 0 && c.ret[0] % 8 == 0 ? "frames" : "none") +
            " all_kernel=" + std::to_string(c.ret[7]));
    uint64_t first = 0;
    std::memcpy(&first, c.buf, 8);
    add("task_stack.user",
        std::string(c.ret[1] > 0 && c.ret[1] % 8 == 0 ? "frames" : "none") +
            " first_in_code=" + (InExecutableMapping(first) ? "1" : "0"));
    add("task_stack.errors",
        std::to_string(c.ret[2]) + " " + std::to_string(c.ret[3]) + " " +
            std::to_string(c.ret[4]) + " " + std::to_string(c.ret[5]) + " " +
            std::to_string(c.ret[6]));
  }
  {  // bpf_copy_from_user_task
    Memory m;
    misc_ctx c = {};
    m.Fill(&c);
    add("copy_task.err", std::to_string(sys("copy_task", &c)));
    add("copy_task.ret", Rets(c, 8));
    add("copy_task.buf", Hex(c.buf, 48));
    add("copy_task.buf2", Hex(c.buf2, 16));
  }
  return out;
}

// find_vma.bpf.c's run (bytecode only) on the addresses of `m`, code and
// the stack: per address the return and the fields the callback read.
// `run` runs read_vmas on its context.
using VmaRun = std::function<int(vma_ctx* c)>;
inline int VmaAnchor() { return 0; }
inline std::vector<std::string> RunVmaScenario(const Memory& m,
                                               const VmaRun& run) {
  std::vector<std::string> out;
  int on_stack = 0;
  vma_ctx c = {};
  c.addr[0] = reinterpret_cast<uint64_t>(m.rw());
  c.addr[1] = reinterpret_cast<uint64_t>(m.ro());
  c.addr[2] = reinterpret_cast<uint64_t>(&VmaAnchor);
  c.addr[3] = reinterpret_cast<uint64_t>(&on_stack);
  out.push_back("read_vmas.err\t" + std::to_string(run(&c)));
  const char* names[] = {"anon", "ro", "code", "stack"};
  for (int i = 0; i < VMA_NR; ++i) {
    std::string v = std::to_string(c.ret[i]);
    char b[32];
    for (int f = 0; f < VMA_FIELDS; ++f) {
      std::snprintf(b, sizeof(b), " %llx",
                    static_cast<unsigned long long>(c.info[i][f]));
      v += b;
    }
    out.push_back(std::string("read_vmas.") + names[i] + "\t" + v);
  }
  return out;
}

// tracing_write.bpf.c's runs: bpf_probe_write_user.
inline std::vector<std::string> RunWriteScenario(const SyscallRun& sys,
                                                 const RawTpRun& tp) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& key, const std::string& v) {
    out.push_back(key + "\t" + v);
  };
  {  // bpf_probe_write_user
    Memory m;
    misc_ctx c = {};
    m.Fill(&c);
    add("write_user.err", std::to_string(sys("write_user", &c)));
    add("write_user.ret", Rets(c, 7));
    add("write_user.rw", Hex(m.rw(), 16));
    add("write_user.rw_tail", Hex(m.rw() + 4096 - 4, 4));
    add("write_user.ro", Hex(m.ro(), 8));
    add("write_user.fresh", Hex(m.fresh(), 8));
  }
  {
    Memory m;
    const uint64_t at = reinterpret_cast<uint64_t>(m.rw() + 32);
    add("write_user_tp.rw",
        std::to_string(static_cast<int32_t>(tp("write_user_tp", {at}))));
    add("write_user_tp.rw_bytes", Hex(m.rw() + 32, 8));
    add("write_user_tp.null",
        std::to_string(static_cast<int32_t>(tp("write_user_tp", {0}))));
    add("write_user_tp.kernel", std::to_string(static_cast<int32_t>(
                                    tp("write_user_tp", {MISC_KERNEL_ADDR}))));
  }
  return out;
}

}  // namespace bpfemu::examples::tracing_misc

#endif  // BPFEMU_TESTS_EXAMPLES_TRACING_MISC_SCENARIO_H_
