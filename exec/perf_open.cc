// SPDX-License-Identifier: Apache-2.0
// perf_event_open(2) of a BPF output event for a supervised process
// (docs/exec.md, "Perf buffer readers"), after kernel/events/core.c:
// SYSCALL_DEFINE5(perf_event_open), perf_copy_attr, perf_event_alloc's
// first checks and perf_event_set_clock; _perf_ioctl's
// PERF_EVENT_IOC_ENABLE / _DISABLE; and perf_mmap's checks (made by
// emu/perf_event.h PerfEventMmap on the supervisor's own description). The
// event is emu/perf_event.h's: a memfd laid out as the kernel's perf
// mapping, installed into the caller (SECCOMP_IOCTL_NOTIF_ADDFD).
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/map.h"
#include "emu/perf_event.h"
#include "emu/perf_event_array.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "exec/dispatch.h"

namespace bpfemu::exec {
namespace {

// struct perf_event_attr of 6.3 and later (PERF_ATTR_SIZE_VER8: config3),
// which perf_copy_attr reports back for a bad size. Offsets are the ABI's.
constexpr uint32_t kAttrSize = 136;
constexpr uint32_t kAttrSizeVer0 = 64;
constexpr size_t kOffType = 0, kOffSize = 4, kOffConfig = 8, kOffPeriod = 16,
                 kOffSampleType = 24, kOffReadFormat = 32, kOffBits = 40,
                 kOffClockid = 92, kOffReserved2 = 110, kOffAuxAction = 116;
// Bits of the u64 at kOffBits.
constexpr int kBitExcludeKernel = 5, kBitExcludeCallchainKernel = 21,
              kBitNamespaces = 28, kBitTextPoke = 33;
constexpr int kBitInherit = 1, kBitFreq = 10, kBitEnableOnExec = 12,
              kBitUseClockid = 25, kBitWriteBackward = 27, kBitAuxOutput = 31,
              kBitInheritThread = 35, kBitRemoveOnExec = 36, kBitSigtrap = 37,
              kBitReserved1 = 38;
// PERF_SAMPLE_MAX and PERF_FORMAT_MAX (non-ABI; 6.12 and 6.18 alike).
constexpr uint64_t kSampleMax = uint64_t{1} << 25;
constexpr uint64_t kFormatMax = uint64_t{1} << 5;

template <typename T>
T At(const std::vector<uint8_t>& a, size_t off) {
  T v;
  std::memcpy(&v, a.data() + off, sizeof(v));
  return v;
}

bool Bit(uint64_t bits, int n) { return (bits >> n) & 1; }

// /proc/sys/kernel/perf_event_paranoid (sysctl_perf_event_paranoid; the
// kernel's default, 2, if unreadable).
int Paranoid() {
  int v = 2;
  if (std::FILE* f = std::fopen("/proc/sys/kernel/perf_event_paranoid", "re")) {
    if (std::fscanf(f, "%d", &v) != 1) v = 2;
    std::fclose(f);
  }
  return v;
}

// The caller's effective capabilities (CapEff of /proc/TID/status).
uint64_t CallerCaps(pid_t tid) {
  uint64_t caps = 0;
  std::FILE* f =
      std::fopen(("/proc/" + std::to_string(tid) + "/status").c_str(), "re");
  if (f == nullptr) return 0;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "CapEff:", 7) == 0) {
      caps = std::strtoull(line + 7, nullptr, 16);
      break;
    }
  }
  std::fclose(f);
  return caps;
}

constexpr int kCapSysAdmin = 21, kCapPerfmon = 38;

// /proc/sys/kernel/perf_event_max_sample_rate (sysctl_perf_event_sample_rate).
uint64_t MaxSampleRate() {
  uint64_t rate = 100000;
  if (std::FILE* f =
          std::fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re")) {
    unsigned long long v;
    if (std::fscanf(f, "%llu", &v) == 1) rate = v;
    std::fclose(f);
  }
  return rate;
}

}  // namespace

int Dispatcher::LocalPerf(Call& c, int child_fd, int* local) {
  return LocalObject(c, child_fd, 4, perfs_, local);
}

bool Dispatcher::ServePerf(Call& c, uint32_t nr, const struct seccomp_data& d,
                           int64_t* ret) {
  if (nr == 16) {
    // ioctl(fd, PERF_EVENT_IOC_ENABLE / _DISABLE, flags) of an emulated
    // event: _perf_ioctl answers 0 (PERF_IOC_FLAG_GROUP: a lone event is
    // its own group). Any other fd continues.
    int local;
    if (Identify(c, static_cast<int>(d.args[0]), &local) != 3) return false;
    std::shared_ptr<PerfEvent> ev = PerfEventFromFd(local);
    if (ev == nullptr) return false;
    ev->SetEnabled(static_cast<uint32_t>(d.args[1]) == PERF_EVENT_IOC_ENABLE);
    *ret = 0;
    return true;
  }
  // perf_event_open(attr, pid, cpu, group_fd, flags). Served: a
  // PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT event of the caller (pid
  // 0, or its own id) or of a CPU (pid -1), without a group or flags other
  // than PERF_FLAG_FD_CLOEXEC. Everything else continues to the kernel.
  const uint64_t uattr = d.args[0];
  int pid = static_cast<int>(d.args[1]);
  const int cpu = static_cast<int>(d.args[2]);
  const int group_fd = static_cast<int>(d.args[3]);
  const uint64_t flags = d.args[4];
  std::vector<uint8_t> a(kAttrSize, 0);
  if (c.Read(uattr, a.data(), 16) != 0) return false;
  if (At<uint32_t>(a, kOffType) != PERF_TYPE_SOFTWARE ||
      At<uint64_t>(a, kOffConfig) != PERF_COUNT_SW_BPF_OUTPUT) {
    return false;
  }
  if (pid == c.pid() || pid == CallerTgidOf(c.pid())) pid = 0;
  if ((flags & ~uint64_t{PERF_FLAG_FD_CLOEXEC}) != 0 || group_fd != -1 ||
      (pid != -1 && pid != 0)) {
    return false;
  }
  // perf_copy_attr: the size (0 is VER0), then copy_struct_from_user.
  uint32_t size = At<uint32_t>(a, kOffSize);
  auto too_big = [&] {
    const uint32_t k = kAttrSize;
    (void)c.Write(uattr + kOffSize, &k, sizeof(k));  // put_user, unchecked
    return -E2BIG;
  };
  if (size == 0) size = kAttrSizeVer0;
  if (size < kAttrSizeVer0 || size > 4096) {
    *ret = too_big();
    return true;
  }
  if (size > kAttrSize) {
    std::vector<uint8_t> tail(size - kAttrSize);
    if (c.Read(uattr + kAttrSize, tail.data(), tail.size()) != 0) {
      *ret = -EFAULT;
      return true;
    }
    for (uint8_t b : tail) {
      if (b != 0) {
        *ret = too_big();
        return true;
      }
    }
  }
  std::fill(a.begin(), a.end(), 0);
  if (c.Read(uattr, a.data(), size < kAttrSize ? size : kAttrSize) != 0) {
    *ret = -EFAULT;
    return true;
  }
  const uint64_t bits = At<uint64_t>(a, kOffBits);
  const uint64_t sample_type = At<uint64_t>(a, kOffSampleType);
  const uint32_t aux_action = At<uint32_t>(a, kOffAuxAction);
  // The AUX actions, branch stacks and register or stack samples have
  // checks of their own (and no meaning for a BPF output event), and a
  // backward ring is not emulated: the kernel answers them.
  if ((aux_action & 7) != 0 || Bit(bits, kBitAuxOutput) ||
      Bit(bits, kBitWriteBackward) ||
      (sample_type & (PERF_SAMPLE_BRANCH_STACK | PERF_SAMPLE_REGS_USER |
                      PERF_SAMPLE_STACK_USER | PERF_SAMPLE_REGS_INTR)) != 0) {
    return false;
  }
  *ret = -EINVAL;
  if ((bits >> kBitReserved1) != 0 || At<uint16_t>(a, kOffReserved2) != 0 ||
      (aux_action >> 3) != 0) {
    return true;
  }
  if ((sample_type & ~(kSampleMax - 1)) != 0) return true;
  if ((At<uint64_t>(a, kOffReadFormat) & ~(kFormatMax - 1)) != 0) return true;
  if ((sample_type & PERF_SAMPLE_WEIGHT) &&
      (sample_type & PERF_SAMPLE_WEIGHT_STRUCT)) {
    return true;
  }
  if (!Bit(bits, kBitInherit) && Bit(bits, kBitInheritThread)) return true;
  if (Bit(bits, kBitRemoveOnExec) && Bit(bits, kBitEnableOnExec)) return true;
  if (Bit(bits, kBitSigtrap) && !Bit(bits, kBitRemoveOnExec)) return true;
  // perf_event_open: who may open what (perf_paranoid_any with
  // CAP_SYS_ADMIN; perf_allow_kernel for an event that counts in the
  // kernel, and namespaces, with CAP_PERFMON or CAP_SYS_ADMIN:
  // perfmon_capable).
  // bpfemu serves bpf() as the kernel serves a privileged caller unless
  // told otherwise (emu/version.h CallerPrivileged, BPFEMU_UNPRIVILEGED=1):
  // the events it emulates for the readers of its maps follow that, so an
  // unprivileged user's perf reader works as root's does on the kernel;
  // opted out, the caller's own capabilities decide, as the kernel's.
  const int paranoid = Paranoid();
  const uint64_t caps = CallerPrivileged() ? ~uint64_t{0} : CallerCaps(c.pid());
  const bool sys_admin = (caps >> kCapSysAdmin) & 1;
  const bool perfmon = sys_admin || ((caps >> kCapPerfmon) & 1);
  if (paranoid > 2 && !sys_admin) {
    *ret = -EACCES;
    return true;
  }
  if ((!Bit(bits, kBitExcludeKernel) || Bit(bits, kBitTextPoke) ||
       ((sample_type & PERF_SAMPLE_CALLCHAIN) &&
        !Bit(bits, kBitExcludeCallchainKernel))) &&
      paranoid > 1 && !perfmon) {
    *ret = -EACCES;
    return true;
  }
  if (Bit(bits, kBitNamespaces) && !perfmon) {
    *ret = -EACCES;
    return true;
  }
  // perf_event_open: the sampling period or frequency.
  const uint64_t period = At<uint64_t>(a, kOffPeriod);
  if (Bit(bits, kBitFreq) ? period > MaxSampleRate() : (period >> 63) != 0) {
    return true;
  }
  // Physical addresses: perf_allow_kernel again.
  if ((sample_type & PERF_SAMPLE_PHYS_ADDR) && paranoid > 1 && !perfmon) {
    *ret = -EACCES;
    return true;
  }
  // perf_event_alloc: the CPU (nr_cpu_ids: the possible CPUs), a signal
  // without a task, an inherited PERF_SAMPLE_READ without the tid.
  if (static_cast<unsigned>(cpu) >= static_cast<unsigned>(NumPossibleCpus()) &&
      (pid == -1 || cpu != -1)) {
    return true;
  }
  if (Bit(bits, kBitSigtrap) && pid == -1) return true;
  if (Bit(bits, kBitInherit) && (sample_type & PERF_SAMPLE_READ) &&
      !(sample_type & PERF_SAMPLE_TID)) {
    return true;
  }
  // perf_event_set_clock.
  if (Bit(bits, kBitUseClockid)) {
    const int32_t clk = At<int32_t>(a, kOffClockid);
    if (clk != CLOCK_MONOTONIC && clk != CLOCK_MONOTONIC_RAW &&
        clk != CLOCK_REALTIME && clk != CLOCK_BOOTTIME && clk != CLOCK_TAI) {
      return true;
    }
  }
  // find_get_context: an event of a CPU (no task) needs perf_allow_cpu.
  if (pid == -1 && paranoid > 0 && !perfmon) {
    *ret = -EACCES;
    return true;
  }
  struct perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  std::memcpy(&attr, a.data(),
              sizeof(attr) < kAttrSize ? sizeof(attr) : kAttrSize);
  attr.size = size;
  const int local = PerfEventOpen(&attr, pid, cpu, -1, 0);
  if (local < 0) {
    *ret = local;
    return true;
  }
  struct stat st;
  if (fstat(local, &st) != 0) {
    *ret = -errno;
    (void)PerfEventClose(local);
    return true;
  }
  const int err = c.AnswerWithFd(local, (flags & PERF_FLAG_FD_CLOEXEC) != 0);
  if (err < 0) {
    (void)PerfEventClose(local);
    *ret = err;
    return true;
  }
  const FileKey key{st.st_dev, st.st_ino, 0};
  perfs_[key] = local;
  undo_.push_back([this, key] {
    if (auto it = perfs_.find(key); it != perfs_.end()) {
      (void)PerfEventClose(it->second);
      perfs_.erase(it);
    }
  });
  ++given_;
  *ret = 0;
  return true;
}

bool Dispatcher::ServePerfMmap(Call& c, int local, const struct seccomp_data& d,
                               int64_t* ret) {
  // perf_mmap's checks on the supervisor's own description (its first
  // mapping is the producer's); the caller's mapping then continues: its
  // file shows the kernel's layout from offset 0.
  (void)c;
  const int flags =
      static_cast<int>(d.args[3]) & ~(MAP_FIXED | MAP_FIXED_NOREPLACE);
  int err = 0;
  void* p = PerfEventMmap(nullptr, d.args[1], static_cast<int>(d.args[2]),
                          flags, local, static_cast<off_t>(d.args[5]), &err);
  if (p != nullptr) {
    munmap(p, d.args[1]);
    return false;
  }
  *ret = err;
  return true;
}

bool Dispatcher::PerfEventReferenced(uint32_t id) const {
  for (const auto& [key, fd] : maps_) {
    std::shared_ptr<Map> m = MapFromFd(fd);
    if (m == nullptr || m->type() != BPF_MAP_TYPE_PERF_EVENT_ARRAY) continue;
    if (static_cast<const PerfEventArrayMap*>(m.get())->References(id)) {
      return true;
    }
  }
  return false;
}

}  // namespace bpfemu::exec
