// SPDX-License-Identifier: Apache-2.0
// The BPF helpers for natively built programs (bpfemu/native_abi.h), with
// the semantics of their kernel implementations: kernel/bpf/helpers.c (map
// helpers, spin locks, current task, ktime, prandom, bpf_loop, dynptr
// read/write/data), kernel/bpf/bpf_iter.c (bpf_for_each_map_elem),
// kernel/bpf/ringbuf.c (ring buffer, user ring buffer drain),
// kernel/trace/bpf_trace.c (printk, probe reads), net/core/filter.c
// (bpf_skb_load_bytes) and the interpreter's tail call (emu/fd_array.h).
// At the end, the kfuncs a BPF source declares `extern ... __ksym` (the
// table in emu/kfunc.h; kernel/bpf/bpf_iter.c bpf_iter_num_*,
// kernel/bpf/helpers.c bpf_rcu_read_lock / _unlock).

#include "native/helpers.h"
#include "native/perf_event_prog.h"
#include "native/task_model.h"

#include <arpa/inet.h>
#include <execinfo.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bpfemu/native_abi.h"
#include "emu/cgroup.h"
#include "emu/cgroup_storage.h"
#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/jhash.h"
#include "emu/kfunc.h"
#include "emu/local_mutex.h"
#include "emu/local_storage.h"
#include "emu/map_types.h"
#include "emu/netdev.h"
#include "emu/shm.h"
#include "emu/sock_map.h"
#include "emu/stack_trace_map.h"
#include "emu/syscall.h"
#include "emu/tcp_ca.h"
#include "emu/version.h"
#include "native/bound_map.h"

namespace bpfemu::native {
namespace {

using internal::BoundMap;
using internal::BoundOf;

BoundMap* Bound(void* def) {
  BoundMap* b = def != nullptr ? BoundOf(def) : nullptr;
  if (b == nullptr) {
    std::fprintf(stderr,
                 "bpfemu: a helper was called with a map of a native BPF "
                 "object that is not loaded (call Object::Load() first)\n");
    std::abort();
  }
  return b;
}

// The settable helper inputs (process-wide; tests set them before running
// programs).
struct HelperEnv {
  LocalMutex mu;
  std::optional<uint64_t> pid_tgid ABSL_GUARDED_BY(mu);
  std::optional<uint64_t> uid_gid ABSL_GUARDED_BY(mu);
  std::optional<std::string> comm ABSL_GUARDED_BY(mu);
  std::optional<uint64_t> ktime_step ABSL_GUARDED_BY(mu);
  uint64_t ktime_next ABSL_GUARDED_BY(mu) = 0;
  std::optional<uint64_t> prandom_state ABSL_GUARDED_BY(mu);
  std::optional<std::vector<uint64_t>> kernel_stack ABSL_GUARDED_BY(mu);
  std::optional<std::vector<uint64_t>> user_stack ABSL_GUARDED_BY(mu);
  std::vector<std::string> printk ABSL_GUARDED_BY(mu);
  Redirect redirect ABSL_GUARDED_BY(mu);
  std::vector<ClonedPacket> clones ABSL_GUARDED_BY(mu);
  // Lets the common case (nothing overridden) skip the lock.
  std::atomic<bool> any_override{false};

  static HelperEnv& Get() {
    static auto* env = new HelperEnv;
    return *env;
  }
};

// splitmix64: a small deterministic generator for SetPrandomSeed.
uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool IsPercpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

}  // namespace

// The handle a program receives for inner map `id`, created on first use
// and kept for the process (inner maps are few; the map itself stays alive
// while an outer slot or an fd holds it).
void* InnerMapCell(uint32_t id) {
  static LocalMutex mu;
  static auto* cells =
      new absl::flat_hash_map<uint32_t, std::unique_ptr<BoundMap>>();
  LocalMutexLock l(&mu);
  auto& b = (*cells)[id];
  if (b == nullptr) {
    std::shared_ptr<Map> inner = MapFromId(id);
    if (inner == nullptr) return nullptr;
    b = internal::MakeBound("inner", -1, std::move(inner));
  }
  return &b->cell;
}

void SetPidTgid(uint64_t v) {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.pid_tgid = v;
  e.any_override = true;
}
void SetUidGid(uint64_t v) {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.uid_gid = v;
  e.any_override = true;
}
void SetComm(std::string_view comm) {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.comm = std::string(comm.substr(0, 15));  // TASK_COMM_LEN - 1
  e.any_override = true;
}
void SetKtime(uint64_t start_ns, uint64_t step_ns) {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.ktime_next = start_ns;
  e.ktime_step = step_ns;
  e.any_override = true;
}
void SetPrandomSeed(uint64_t seed) {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.prandom_state = seed;
  e.any_override = true;
}
void SetStacks(std::vector<uint64_t> kernel, std::vector<uint64_t> user) {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.kernel_stack = std::move(kernel);
  e.user_stack = std::move(user);
  e.any_override = true;
}
void SetCurrentCgroup(std::string_view path) {
  bpfemu::SetCurrentCgroup(std::string(path));
}
void ResetHelpers() {
  bpfemu::SetCurrentCgroup(std::nullopt);
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.kernel_stack.reset();
  e.user_stack.reset();
  e.pid_tgid.reset();
  e.uid_gid.reset();
  e.comm.reset();
  e.ktime_step.reset();
  e.prandom_state.reset();
  e.any_override = false;
}
std::vector<std::string> PrintkLines() {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  return e.printk;
}
Redirect LastRedirect() {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  return e.redirect;
}
void ClearRedirect() {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.redirect = Redirect{};
}
std::vector<ClonedPacket> ClonedPackets() {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  return e.clones;
}
void ClearClonedPackets() {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.clones.clear();
}

void ClearPrintk() {
  HelperEnv& e = HelperEnv::Get();
  LocalMutexLock l(&e.mu);
  e.printk.clear();
}

// The XDP run's frame (SetXdpFrame), per thread as the test run's buffer.
thread_local uint64_t xdp_hard_start = 0;
thread_local uint64_t xdp_hard_end = 0;
thread_local std::vector<std::vector<uint8_t>>* xdp_frags = nullptr;
thread_local uint32_t xdp_ingress_ifindex = bpfemu::kLoopbackIfindex;

// The skb run's frame (SetSkbFrame), per thread likewise.
thread_local SkbFrame* skb_frame = nullptr;

void SetSkbFrame(SkbFrame* frame) { skb_frame = frame; }
SkbFrame* CurrentSkbFrame() { return skb_frame; }

void SetXdpFrame(uint64_t hard_start, uint64_t hard_end,
                 std::vector<std::vector<uint8_t>>* frags,
                 uint32_t ingress_ifindex) {
  xdp_hard_start = hard_start;
  xdp_hard_end = hard_end;
  xdp_frags = frags;
  xdp_ingress_ifindex = ingress_ifindex;
}

namespace {

// One's complement arithmetic as include/net/checksum.h and x86-64's
// arch/x86/lib/csum-partial_64.c compute it.
uint32_t CsumAdd(uint32_t a, uint32_t b) {
  const uint32_t r = a + b;
  return r + (r < b);
}
uint32_t CsumSub(uint32_t a, uint32_t b) { return CsumAdd(a, ~b); }
uint16_t CsumFold(uint32_t s) {
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}
uint16_t Csum16Add(uint16_t csum, uint16_t addend) {
  const uint16_t r = static_cast<uint16_t>(csum + addend);
  return static_cast<uint16_t>(r + (r < addend));
}
// csum_partial(): the end-around-carry sum of the buffer's little-endian
// words (the tail zero-padded) and the seed. Whatever order and width the
// additions take, that sum is 0 only when every term is 0, and otherwise
// the one value in [1, 2^32 - 1] congruent to it modulo 2^32 - 1.
uint32_t CsumPartial(const uint8_t* p, size_t len, uint32_t seed) {
  uint64_t sum = seed;
  for (size_t i = 0; i < len; i += 4) {
    uint32_t w = 0;
    std::memcpy(&w, p + i, std::min<size_t>(4, len - i));
    sum += w;
  }
  if (sum == 0) return 0;
  return static_cast<uint32_t>(1 + (sum - 1) % 0xffffffffu);
}

// csum_replace4 / csum_replace2 / csum_replace_by_diff on a checksum field.
uint16_t CsumReplace4(uint16_t sum, uint32_t from, uint32_t to) {
  return CsumFold(CsumAdd(CsumSub(~uint32_t{sum}, from), to));
}
uint16_t CsumReplace2(uint16_t sum, uint16_t from, uint16_t to) {
  return static_cast<uint16_t>(~Csum16Add(
      Csum16Add(static_cast<uint16_t>(~sum), static_cast<uint16_t>(~from)),
      to));
}
uint16_t CsumReplaceByDiff(uint16_t sum, uint32_t diff) {
  return CsumFold(CsumAdd(diff, ~uint32_t{sum}));
}

// sizeof(struct xdp_frame) on 64-bit kernels: kept at the headroom's start.
constexpr uint64_t kXdpFrameSize = 40;
constexpr uint64_t kEthHlen = 14;

// The test run's fragment size (rxq frag_size = frame_sz = one page).
constexpr uint32_t kXdpFragSize = 4096;

bool XdpHasFrags() { return xdp_frags != nullptr && !xdp_frags->empty(); }

// xdp_get_buff_len(): the linear part and every fragment.
uint64_t XdpBuffLen(const struct xdp_md* md) {
  uint64_t len = md->data_end - md->data;
  if (xdp_frags != nullptr) {
    for (const auto& f : *xdp_frags) len += f.size();
  }
  return len;
}

// bpf_xdp_pointer() then bpf_xdp_copy_buf(): `len` bytes at `offset`
// across the linear part and the fragments, copied into `buf` or (store)
// out of it.
long XdpCopy(struct xdp_md* md, uint32_t offset, uint8_t* buf, uint32_t len,
             bool store) {
  if (offset > 0xffff || len > 0xffff) return -EFAULT;
  if (uint64_t{offset} + len > XdpBuffLen(md)) return -EINVAL;
  auto* linear = reinterpret_cast<uint8_t*>(uintptr_t{md->data});
  const uint64_t linear_len = md->data_end - md->data;
  uint64_t off = offset;
  auto copy = [&](uint8_t* area, uint64_t area_len) {
    if (len == 0 || off >= area_len) {
      off -= std::min(off, area_len);
      return;
    }
    const uint64_t n = std::min<uint64_t>(len, area_len - off);
    if (store) {
      std::memcpy(area + off, buf, n);
    } else {
      std::memcpy(buf, area + off, n);
    }
    buf += n;
    len -= static_cast<uint32_t>(n);
    off = 0;
  };
  copy(linear, linear_len);
  if (xdp_frags != nullptr) {
    for (auto& f : *xdp_frags) copy(f.data(), f.size());
  }
  return 0;
}

// bpf_xdp_frags_increase_tail(): the last fragment grows within its page.
long XdpFragsIncreaseTail(int offset) {
  std::vector<uint8_t>& last = xdp_frags->back();
  const int tailroom = static_cast<int>(kXdpFragSize - last.size());
  if (offset > tailroom) return -EINVAL;
  last.resize(last.size() + offset, 0);
  return 0;
}

// bpf_xdp_frags_shrink_tail(): fragments shrink from the last, emptied
// ones are released; with none left, the rest comes off the linear part.
long XdpFragsShrinkTail(struct xdp_md* md, int offset) {
  if (offset > static_cast<int>(XdpBuffLen(md)) - static_cast<int>(kEthHlen)) {
    return -EINVAL;
  }
  while (!xdp_frags->empty() && offset > 0) {
    std::vector<uint8_t>& last = xdp_frags->back();
    const int shrink = std::min(offset, static_cast<int>(last.size()));
    offset -= shrink;
    if (shrink == static_cast<int>(last.size())) {
      xdp_frags->pop_back();
    } else {
      last.resize(last.size() - shrink);
      break;
    }
  }
  if (xdp_frags->empty()) md->data_end -= offset;
  return 0;
}

// xdp_metalen_invalid(): a multiple of 4 of at most
// type_max(skb_shared_info.meta_len) (255).
bool XdpMetalenInvalid(uint64_t metalen) {
  return (metalen & 3) != 0 || metalen > 255;
}

// bpf_try_make_writable() on the test run's linear skb: the first
// `write_len` bytes from skb->data exist.
uint8_t* SkbWritable(void* skb, uint64_t write_len) {
  auto* s = static_cast<struct __sk_buff*>(skb);
  if (write_len > uint64_t{s->data_end} - s->data) return nullptr;
  return reinterpret_cast<uint8_t*>(uintptr_t{s->data});
}

// The clock the bpf_ktime_get_*_ns helpers read: the SetKtime sequence when
// a test fixed it (all of them then share its steps), else `id`.
uint64_t ClockNs(clockid_t id) {
  HelperEnv& e = HelperEnv::Get();
  if (e.any_override.load(std::memory_order_relaxed)) {
    bpfemu::LocalMutexLock l(&e.mu);
    if (e.ktime_step) {
      const uint64_t now = e.ktime_next;
      e.ktime_next += *e.ktime_step;
      return now;
    }
  }
  timespec ts;
  clock_gettime(id, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

}  // namespace

}  // namespace bpfemu::native

using bpfemu::native::Bound;
using bpfemu::native::HelperEnv;
using bpfemu::native::internal::BoundMap;

extern "C" {

void* bpfemu_map_lookup_elem(void* map, const void* key) {
  BoundMap* b = Bound(map);
  void* value = b->map->LookupElemProg(key);
  if (value == nullptr || !b->holds_maps) return value;
  // A map-in-map slot holds the inner map's id; the program gets the map.
  uint32_t id;
  std::memcpy(&id, value, sizeof(id));
  return bpfemu::native::InnerMapCell(id);
}

long bpfemu_map_update_elem(void* map, const void* key, const void* value,
                            __u64 flags) {
  return Bound(map)->map->UpdateElemProg(key, value, flags);
}

long bpfemu_map_delete_elem(void* map, const void* key) {
  return Bound(map)->map->DeleteElemProg(key);
}

// bpf_map_push_elem / pop / peek (kernel/bpf/helpers.c): the map's
// map_push_elem / map_pop_elem / map_peek_elem ops.
long bpfemu_map_push_elem(void* map, const void* value, __u64 flags) {
  return Bound(map)->map->PushElem(value, flags);
}

long bpfemu_map_pop_elem(void* map, void* value) {
  return Bound(map)->map->PopElem(value);
}

long bpfemu_map_peek_elem(void* map, void* value) {
  return Bound(map)->map->PeekElem(value);
}

// The task bpf_get_current_task_btf() answers: the calling thread, named
// by its tid and start time (the identity TASK_STORAGE gives a pidfd's
// task, emu/local_storage.h), filled on first use in each thread.
namespace {
struct NativeTask {
  bpfemu::LocalStorageMap::Owner owner;
  bool known = false;
};
thread_local NativeTask t_task;

// A test run's socket: a struct bpf_sock for the program's field reads,
// and the owner identity its storage goes under (b = 1: never a socket
// cookie's, whose b is 0).
struct NativeSock {
  struct bpf_sock sock;
  bpfemu::LocalStorageMap::Owner owner;
};
std::atomic<uint64_t> g_run_sockets{0};
// The elements made for the run sockets of this thread, freed with them.
thread_local std::vector<
    std::pair<std::shared_ptr<bpfemu::Map>, bpfemu::LocalStorageMap::Owner>>
    t_run_sock_storage;

bpfemu::LocalStorageMap* SkStorage(void* map) {
  auto* ls = dynamic_cast<bpfemu::LocalStorageMap*>(Bound(map)->map.get());
  if (ls == nullptr ||
      ls->kind() != bpfemu::LocalStorageMap::OwnerKind::kSocket) {
    return nullptr;
  }
  return ls;
}

// The owner identity of a task the helpers handed out: a task_struct view,
// or the handle used without a kernel BTF.
bool TaskOwnerOf(const void* task, bpfemu::LocalStorageMap::Owner* owner) {
  if (task == &t_task) {
    *owner = t_task.owner;
    return t_task.known;
  }
  return bpfemu::native::TaskViewOwner(task, owner);
}

bpfemu::LocalStorageMap* TaskStorage(void* map) {
  auto* ls = dynamic_cast<bpfemu::LocalStorageMap*>(Bound(map)->map.get());
  if (ls == nullptr ||
      ls->kind() != bpfemu::LocalStorageMap::OwnerKind::kTask) {
    return nullptr;
  }
  return ls;
}
}  // namespace

// bpf_sk_storage_get() (net/core/bpf_sk_storage.c): NULL for a NULL
// socket or flags above BPF_SK_STORAGE_GET_F_CREATE; the socket's value,
// or with the flag a new element holding `value` (NULL when it cannot be
// charged or stored).
void* bpfemu_sk_storage_get(void* map, void* sk, void* value, __u64 flags) {
  bpfemu::LocalStorageMap* ls = SkStorage(map);
  if (ls == nullptr || sk == nullptr ||
      flags > BPF_LOCAL_STORAGE_GET_F_CREATE) {
    return nullptr;
  }
  // A congestion control's socket (emu/tcp_ca.h; b = 2) keeps its elements
  // until it is destroyed; a test run's socket until the run ends.
  bpfemu::tcpca::TcpSock* tcp =
      bpfemu::tcpca::TcpSock::At(reinterpret_cast<uint64_t>(sk));
  const bpfemu::LocalStorageMap::Owner owner =
      tcp != nullptr ? bpfemu::LocalStorageMap::Owner{tcp->id(), 2}
                     : static_cast<NativeSock*>(sk)->owner;
  if (void* v = ls->GetByOwner(owner, nullptr, false)) return v;
  if (flags != BPF_LOCAL_STORAGE_GET_F_CREATE) return nullptr;
  void* v = ls->GetByOwner(owner, value, true);
  if (v != nullptr && tcp != nullptr) {
    tcp->AtDestroy([m = Bound(map)->map, owner] {
      (void)static_cast<bpfemu::LocalStorageMap*>(m.get())->DeleteByOwner(
          owner);
    });
  } else if (v != nullptr) {
    t_run_sock_storage.emplace_back(Bound(map)->map, owner);
  }
  return v;
}

// bpf_sk_storage_delete(): EINVAL for a NULL socket, ENOENT without an
// element.
long bpfemu_sk_storage_delete(void* map, void* sk) {
  bpfemu::LocalStorageMap* ls = SkStorage(map);
  if (ls == nullptr || sk == nullptr) return -EINVAL;
  if (bpfemu::tcpca::TcpSock* tcp =
          bpfemu::tcpca::TcpSock::At(reinterpret_cast<uint64_t>(sk))) {
    return ls->DeleteByOwner(bpfemu::LocalStorageMap::Owner{tcp->id(), 2});
  }
  return ls->DeleteByOwner(static_cast<NativeSock*>(sk)->owner);
}

// The thread's task_struct view (native/task_model.h); without a kernel BTF
// that describes task_struct, a handle only the task storage helpers take.
void* bpfemu_get_current_task_btf(void) {
  if (const void* view = bpfemu::native::CurrentTask()) {
    return const_cast<void*>(view);
  }
  if (!t_task.known) {
    if (bpfemu::LocalStorageMap::TaskOwner(static_cast<long>(gettid()),
                                           &t_task.owner) != 0) {
      return nullptr;
    }
    t_task.known = true;
  }
  return &t_task;
}

// bpf_get_current_task() (kernel/trace/bpf_trace.c): the same task, as a
// number a program reads through bpf_probe_read_kernel / BPF_CORE_READ.
__u64 bpfemu_get_current_task(void) {
  return reinterpret_cast<uint64_t>(bpfemu_get_current_task_btf());
}

// bpf_task_storage_get(): NULL for unknown flags or a NULL task; the
// task's element, or with BPF_LOCAL_STORAGE_GET_F_CREATE a new one holding
// `value` (zeroes when NULL); NULL when it cannot be made.
void* bpfemu_task_storage_get(void* map, void* task, void* value, __u64 flags) {
  bpfemu::LocalStorageMap* ls = TaskStorage(map);
  if (ls == nullptr || (flags & ~uint64_t{BPF_LOCAL_STORAGE_GET_F_CREATE}) ||
      task == nullptr) {
    return nullptr;
  }
  bpfemu::LocalStorageMap::Owner owner;
  if (!TaskOwnerOf(task, &owner)) return nullptr;
  return ls->GetByOwner(owner, value,
                        (flags & BPF_LOCAL_STORAGE_GET_F_CREATE) != 0);
}

// bpf_task_storage_delete(): EINVAL for a NULL task, ENOENT without an
// element.
long bpfemu_task_storage_delete(void* map, void* task) {
  bpfemu::LocalStorageMap* ls = TaskStorage(map);
  bpfemu::LocalStorageMap::Owner owner;
  if (ls == nullptr || task == nullptr) return -EINVAL;
  if (!TaskOwnerOf(task, &owner)) return -ENOENT;
  return ls->DeleteByOwner(owner);
}

// kptr46: bpf_cgrp_storage_get() (kernel/bpf/bpf_cgrp_storage.c): NULL
// for flags other than BPF_LOCAL_STORAGE_GET_F_CREATE, for a NULL cgroup,
// or a map that is no CGRP_STORAGE; the cgroup's value, or with the flag a
// new element holding `value` (zeroes when NULL).
void* bpfemu_cgrp_storage_get(void* map, void* cgroup, void* value,
                              __u64 flags) {
  auto* ls = dynamic_cast<bpfemu::LocalStorageMap*>(Bound(map)->map.get());
  uint64_t id = 0, hierarchy = 0;
  if (ls == nullptr ||
      ls->kind() != bpfemu::LocalStorageMap::OwnerKind::kCgroup ||
      (flags & ~uint64_t{BPF_LOCAL_STORAGE_GET_F_CREATE}) ||
      cgroup == nullptr || !bpfemu::CgroupRefOwner(cgroup, &id, &hierarchy)) {
    return nullptr;
  }
  // The cgroup's owner, as CgroupV1V2FromFd names it: {id, 0} for cgroup2,
  // {inode, device} for a v1 cgroup (bpf_task_get_cgroup1).
  return ls->GetByOwner(bpfemu::LocalStorageMap::Owner{id, hierarchy}, value,
                        (flags & BPF_LOCAL_STORAGE_GET_F_CREATE) != 0);
}

// bpf_cgrp_storage_delete(): EINVAL for a NULL cgroup, ENOENT without an
// element.
long bpfemu_cgrp_storage_delete(void* map, void* cgroup) {
  auto* ls = dynamic_cast<bpfemu::LocalStorageMap*>(Bound(map)->map.get());
  uint64_t id = 0, hierarchy = 0;
  if (ls == nullptr ||
      ls->kind() != bpfemu::LocalStorageMap::OwnerKind::kCgroup ||
      cgroup == nullptr || !bpfemu::CgroupRefOwner(cgroup, &id, &hierarchy)) {
    return -EINVAL;
  }
  return ls->DeleteByOwner(bpfemu::LocalStorageMap::Owner{id, hierarchy});
}

// bpf_map_lookup_percpu_elem(): the slot of `cpu`, NULL beyond the possible
// CPUs; LRU_PERCPU_HASH marks the element referenced as a lookup does.
void* bpfemu_map_lookup_percpu_elem(void* map, const void* key, __u32 cpu) {
  BoundMap* b = Bound(map);
  if (!bpfemu::native::IsPercpu(b->map->type()) || cpu >= b->map->nr_cpus()) {
    return nullptr;
  }
  bpfemu::ScopedCpu on(static_cast<int>(cpu));
  return b->map->LookupElemProg(key);
}

// bpf_get_stackid() (kernel/bpf/stackmap.c): the trace is the helper input
// (SetStacks); the map side is StackTraceMap::GetStackId. Another map type
// is EINVAL (the verifier refuses the program).
// The current trace, innermost frame first: the helper input (SetStacks),
// else the default kernel chain or the calling thread's own stack from the
// helper's caller on (this function and the helper that called it are
// left out).
__attribute__((noinline)) static std::vector<uint64_t> CurrentTrace(bool user) {
  std::vector<uint64_t> trace;
  HelperEnv& e = HelperEnv::Get();
  if (e.any_override.load(std::memory_order_relaxed)) {
    bpfemu::LocalMutexLock l(&e.mu);
    const auto& s = user ? e.user_stack : e.kernel_stack;
    if (s) return *s;
  }
  // A perf_event sample that interrupted user code: the kernel's
  // callchain has no kernel part (get_perf_callchain skips it for
  // user-mode registers).
  if (!user && bpfemu::native::PerfSampleInUserMode()) return trace;
  if (user) {
    void* frames[128];
    const int n = backtrace(frames, 128);
    for (int i = 2; i < n; ++i) {
      trace.push_back(reinterpret_cast<uintptr_t>(frames[i]));
    }
  } else {
    trace.assign(std::begin(bpfemu::native::kDefaultKernelStack),
                 std::end(bpfemu::native::kDefaultKernelStack));
  }
  return trace;
}

long bpfemu_get_stackid(void* /*ctx*/, void* map, __u64 flags) {
  auto* stack_map = dynamic_cast<bpfemu::StackTraceMap*>(Bound(map)->map.get());
  if (stack_map == nullptr) return -EINVAL;
  const std::vector<uint64_t> trace =
      CurrentTrace((flags & BPF_F_USER_STACK) != 0);
  return stack_map->GetStackId(trace.data(),
                               static_cast<uint32_t>(trace.size()), flags);
}

namespace {
// Whose stack __bpf_get_stack reads: none (bpf_get_stack: the program's
// own), the calling task, another task with user-mode registers, or a task
// without them (init_task, pid 0).
enum class StackTask { kNone, kCurrent, kForeign, kNoUserRegs };
}  // namespace

// kernel/bpf/stackmap.c __bpf_get_stack: the trace of bpf_get_stackid,
// skipped and cut to the buffer, as u64 addresses or (user stacks with
// BPF_F_USER_BUILD_ID) struct bpf_stack_build_id entries in the ip form, as
// the stack map stores them; the rest of the buffer zeroed. The bytes
// copied, or -EINVAL (flags, entry size), -EFAULT (a user stack of a task
// without user registers, nothing left after the skip) or -EOPNOTSUPP (a
// user stack of another task, which perf does not walk) with the whole
// buffer zeroed. Inlined so that CurrentTrace leaves out the helper itself.
__attribute__((always_inline)) static inline long GetStackOf(StackTask task,
                                                             void* buf,
                                                             __u32 size,
                                                             __u64 flags) {
  auto* out = static_cast<uint8_t*>(buf);
  const bool user = flags & BPF_F_USER_STACK;
  const bool build_id = flags & BPF_F_USER_BUILD_ID;
  const uint32_t skip = flags & BPF_F_SKIP_FIELD_MASK;
  const uint32_t elem = build_id ? bpfemu::StackTraceMap::kBuildIdEntrySize : 8;
  long err = -EINVAL;
  if ((flags & ~uint64_t{BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK |
                         BPF_F_USER_BUILD_ID}) == 0 &&
      (user || !build_id) && size % elem == 0) {
    err = -EFAULT;
    if (user && task == StackTask::kNoUserRegs) {
      // err_fault
    } else if (user && task == StackTask::kForeign) {
      err = -EOPNOTSUPP;
    } else {
      const uint32_t num = size / elem;
      const uint32_t max_depth =
          std::min(num + skip, bpfemu::StackTraceMap::MaxStack());
      std::vector<uint64_t> trace = CurrentTrace(user);
      if (trace.size() > max_depth) trace.resize(max_depth);
      if (trace.size() >= skip) {
        const uint32_t n =
            std::min(static_cast<uint32_t>(trace.size()) - skip, num);
        std::memset(out, 0, size);
        if (build_id) {
          bpfemu::StackTraceMap::BuildIdIpForm(trace.data() + skip, n, out);
        } else if (n != 0) {  // out may be NULL with size 0
          std::memcpy(out, trace.data() + skip, size_t{n} * 8);
        }
        return static_cast<long>(n) * elem;
      }
    }
  }
  if (size != 0) std::memset(out, 0, size);
  return err;
}

// bpf_get_stack(): the program's own stack.
long bpfemu_get_stack(void* /*ctx*/, void* buf, __u32 size, __u64 flags) {
  return GetStackOf(StackTask::kNone, buf, size, flags);
}

// bpf_get_task_stack() (kernel/bpf/stackmap.c __bpf_get_task_stack): a
// task's stack. The calling task's are bpf_get_stack's; another task's
// kernel stack is the same model chain (bpfemu has no kernel stacks), its
// user stack -EOPNOTSUPP, init_task's user stack -EFAULT. A pointer that is
// no task (the verifier would refuse it) reads as another task.
long bpfemu_get_task_stack(struct task_struct* task, void* buf, __u32 size,
                           __u64 flags) {
  long tid = -1;
  if (!bpfemu::native::TaskViewTid(task, &tid) &&
      task == bpfemu_get_current_task_btf()) {
    tid = gettid();
  }
  const StackTask who = tid == gettid() ? StackTask::kCurrent
                        : tid == 0      ? StackTask::kNoUserRegs
                                        : StackTask::kForeign;
  return GetStackOf(who, buf, size, flags);
}

// The inline tail call (bpf_helper_defs.h) reads emu's structures through
// their C views: same offsets, and atomics that are plain words.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(bpfemu::Prog, id) == offsetof(bpfemu_prog_head, id));
static_assert(offsetof(bpfemu::Prog, func) == offsetof(bpfemu_prog_head, func));
#pragma GCC diagnostic pop
static_assert(offsetof(bpfemu::TailRunHead, tail_calls) ==
              offsetof(bpfemu_tail_run, tail_calls));
static_assert(offsetof(bpfemu::TailRunHead, full_fence) ==
              offsetof(bpfemu_tail_run, full_fence));
static_assert(offsetof(bpfemu::TailRunHead, hazard) ==
              offsetof(bpfemu_tail_run, hazard));
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(__u32) &&
              sizeof(std::atomic<const void*>) == sizeof(void*));

void bpfemu_tail_call_return(int ret) {
  bpfemu::TailCallReturn(static_cast<uint32_t>(ret));
}

long bpfemu_tail_call(void* /*ctx*/, void* prog_array, __u32 index) {
  BoundMap* b = Bound(prog_array);
  if (b->fd_array == nullptr || b->fd_array->holds_maps()) return -EINVAL;
  return b->fd_array->TailCall(index);
}

// bpf_current_task_under_cgroup (kernel/bpf/helpers.c): the verifier
// admits a CGROUP_ARRAY only.
long bpfemu_current_task_under_cgroup(void* map, __u32 index) {
  BoundMap* b = Bound(map);
  if (b->fd_array == nullptr || !b->fd_array->holds_cgroups()) return -EINVAL;
  return b->fd_array->CurrentTaskUnderCgroup(index);
}

// bpf_get_local_storage (kernel/bpf/cgroup.c): the test run's storage.
void* bpfemu_get_local_storage(void* map, __u64 flags) {
  return bpfemu::GetLocalStorage(*Bound(map)->map, flags);
}

// bpf_get_current_cgroup_id: cgroup_id(task_dfl_cgroup(current)).
__u64 bpfemu_get_current_cgroup_id(void) { return bpfemu::CurrentCgroupId(); }

// bpf_get_current_ancestor_cgroup_id: cgroup_ancestor() of the current
// cgroup, 0 past its depth.
__u64 bpfemu_get_current_ancestor_cgroup_id(int level) {
  return bpfemu::CurrentAncestorCgroupId(level);
}

// The socket helpers of net/core/filter.c on a test run's skb:
// bpf_prog_test_run_skb gives it a socket (sk_alloc), whose cgroup
// (cgroup_sk_alloc) is the running task's. So bpf_skb_under_cgroup,
// bpf_skb_cgroup_id and bpf_skb_ancestor_cgroup_id answer for the current
// cgroup.
long bpfemu_skb_under_cgroup(void* /*skb*/, void* map, __u32 index) {
  return bpfemu_current_task_under_cgroup(map, index);
}
__u64 bpfemu_skb_cgroup_id(void* /*skb*/) { return bpfemu::CurrentCgroupId(); }
__u64 bpfemu_skb_ancestor_cgroup_id(void* /*skb*/, int level) {
  return bpfemu::CurrentAncestorCgroupId(level);
}

void* bpfemu_ringbuf_reserve(void* ringbuf, __u64 size, __u64 flags) {
  BoundMap* b = Bound(ringbuf);
  return b->ring != nullptr ? b->ring->Reserve(size, flags) : nullptr;
}

void bpfemu_ringbuf_submit(void* data, __u64 flags) {
  if (auto* ring = bpfemu::RingbufMap::FromSample(data)) {
    ring->Submit(data, flags);
  }
}

void bpfemu_ringbuf_discard(void* data, __u64 flags) {
  if (auto* ring = bpfemu::RingbufMap::FromSample(data)) {
    ring->Discard(data, flags);
  }
}

long bpfemu_ringbuf_output(void* ringbuf, void* data, __u64 size, __u64 flags) {
  BoundMap* b = Bound(ringbuf);
  return b->ring != nullptr ? b->ring->Output(data, size, flags) : -EINVAL;
}

// bpf_perf_event_output (kernel/trace/bpf_trace.c): the context is not
// used (the sample holds the raw data only).
long bpfemu_perf_event_output(void* /*ctx*/, void* map, __u64 flags, void* data,
                              __u64 size) {
  BoundMap* b = Bound(map);
  return b->perf != nullptr ? b->perf->Output(flags, data, size) : -EINVAL;
}

// bpf_perf_event_read(): the count, or the error as a negative value
// (kernel/trace/bpf_trace.c; the uapi cannot tell the two apart).
__u64 bpfemu_perf_event_read(void* map, __u64 flags) {
  BoundMap* b = Bound(map);
  if (b->perf == nullptr) return static_cast<__u64>(-EINVAL);
  uint64_t value = 0;
  const long err = b->perf->Read(flags, &value, nullptr, nullptr);
  return err != 0 ? static_cast<__u64>(err) : value;
}

// bpf_perf_event_read_value(): size must be the struct's (-EINVAL); on
// any error the buffer is zeroed.
long bpfemu_perf_event_read_value(void* map, __u64 flags,
                                  struct bpf_perf_event_value* buf,
                                  __u32 size) {
  BoundMap* b = Bound(map);
  long err = -EINVAL;
  if (size == sizeof(struct bpf_perf_event_value) && b->perf != nullptr) {
    uint64_t counter = 0, enabled = 0, running = 0;
    err = b->perf->Read(flags, &counter, &enabled, &running);
    if (err == 0) {
      buf->counter = counter;
      buf->enabled = enabled;
      buf->running = running;
      return 0;
    }
  }
  if (size != 0) std::memset(buf, 0, size);
  return err;
}

__u64 bpfemu_ringbuf_query(void* ringbuf, __u64 flags) {
  BoundMap* b = Bound(ringbuf);
  return b->ring != nullptr ? b->ring->Query(flags) : 0;
}

long bpfemu_spin_lock(struct bpf_spin_lock* lock) {
  bpfemu::SpinLockAcquire(lock);
  return 0;
}

long bpfemu_spin_unlock(struct bpf_spin_lock* lock) {
  bpfemu::SpinLockRelease(lock);
  return 0;
}

__u64 bpfemu_get_current_pid_tgid(void) {
  HelperEnv& e = HelperEnv::Get();
  if (e.any_override.load(std::memory_order_relaxed)) {
    bpfemu::LocalMutexLock l(&e.mu);
    if (e.pid_tgid) return *e.pid_tgid;
  }
  return (static_cast<uint64_t>(getpid()) << 32) |
         static_cast<uint32_t>(syscall(SYS_gettid));
}

__u64 bpfemu_get_current_uid_gid(void) {
  HelperEnv& e = HelperEnv::Get();
  if (e.any_override.load(std::memory_order_relaxed)) {
    bpfemu::LocalMutexLock l(&e.mu);
    if (e.uid_gid) return *e.uid_gid;
  }
  return (static_cast<uint64_t>(getgid()) << 32) | getuid();
}

// The comm is copied NUL-terminated and the rest of the buffer zeroed
// (strscpy_pad); a zero-size buffer is an error (the verifier refuses it).
long bpfemu_get_current_comm(void* buf, __u32 size) {
  if (buf == nullptr || size == 0) return -EINVAL;
  char comm[16] = {};
  HelperEnv& e = HelperEnv::Get();
  bool set = false;
  if (e.any_override.load(std::memory_order_relaxed)) {
    bpfemu::LocalMutexLock l(&e.mu);
    if (e.comm) {
      std::memcpy(comm, e.comm->data(), e.comm->size());
      set = true;
    }
  }
  if (!set) prctl(PR_GET_NAME, comm);
  comm[15] = '\0';
  std::memset(buf, 0, size);
  std::memcpy(buf, comm, std::min<size_t>(strlen(comm), size - 1));
  return 0;
}

__u32 bpfemu_get_smp_processor_id(void) {
  return bpfemu::CurrentCpu(static_cast<uint32_t>(bpfemu::NumPossibleCpus()));
}

__u64 bpfemu_ktime_get_ns(void) {
  return bpfemu::native::ClockNs(CLOCK_MONOTONIC);
}

__u32 bpfemu_get_prandom_u32(void) {
  HelperEnv& e = HelperEnv::Get();
  if (e.any_override.load(std::memory_order_relaxed)) {
    bpfemu::LocalMutexLock l(&e.mu);
    if (e.prandom_state) {
      return static_cast<__u32>(bpfemu::native::SplitMix(&*e.prandom_state));
    }
  }
  thread_local absl::BitGen gen;
  return absl::Uniform<__u32>(gen);
}

// bpf_trace_printk(): the format must be NUL-terminated within fmt_size
// (-EINVAL otherwise); returns the length of the formatted line.
long bpfemu_trace_printk(const char* fmt, __u32 fmt_size, ...) {
  va_list ap;
  va_start(ap, fmt_size);
  const long ret = bpfemu_trace_printk_va(fmt, fmt_size, ap);
  va_end(ap);
  return ret;
}

long bpfemu_trace_printk_va(const char* fmt, __u32 fmt_size, va_list ap) {
  if (fmt == nullptr || fmt_size == 0 || fmt[fmt_size - 1] != '\0') {
    return -EINVAL;
  }
  char line[1024];  // MAX_BPRINTF_BUF
  int n = std::vsnprintf(line, sizeof(line), fmt, ap);
  if (n < 0) return -EINVAL;
  std::string s(line, std::min<size_t>(n, sizeof(line) - 1));
  if (!s.empty() && s.back() == '\n') s.pop_back();
  HelperEnv& e = HelperEnv::Get();
  bpfemu::LocalMutexLock l(&e.mu);
  e.printk.push_back(std::move(s));
  return n;
}

// The probe reads of kernel/trace/bpf_trace.c over mm/maccess.c and
// arch/x86/mm/maccess.c, x86-64 with 4-level paging (measured on 6.18 by
// tests/examples/examples_compare_test.cc, ProbeReads):
// - bpf_probe_read_kernel(_str): copy_from_kernel_nofault refuses every
//   user-half address (below TASK_SIZE_MAX + PAGE_SIZE), the vsyscall page
//   and non-canonical addresses with -ERANGE, even for size 0; a kernel
//   address that faults gives -EFAULT (size 0: nothing read, 0).
// - bpf_probe_read_user(_str): access_ok refuses any range past
//   TASK_SIZE_MAX with -EFAULT, even for size 0; a user address that faults
//   gives -EFAULT.
// - bpf_probe_read(_str) (the compat pair): a user read below TASK_SIZE, a
//   kernel read above.
// - On any error the whole destination is zeroed. The _str variants count
//   the NUL, truncate to size - 1 characters plus a NUL (returning size),
//   and size 0 returns 0 before any check; the kernel string copy stops at
//   the NUL, the user one copies in 8-byte strides and zeroes the rest of
//   the stride that holds the NUL (lib/strncpy_from_user.c).
// "Kernel memory" is the program's own memory when the caller knows it (the
// interpreter's regions: `owned`); natively every readable address of this
// process is both kernel and user memory, except the NULL page, which
// stays a user address (-ERANGE for a kernel read).
}  // extern "C"

namespace {

constexpr uint64_t kTaskSizeMax = (uint64_t{1} << 47) - 4096;
constexpr uint64_t kKernelStart = kTaskSizeMax + 4096;

bool Canonical(uint64_t a) {
  return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a;
}
bool VsyscallPage(uint64_t a) {
  return (a & ~uint64_t{0xfff}) == 0xffffffffff600000;
}

// Reads this process's memory without faulting: false for any byte not
// mapped readable.
bool SafeCopy(void* dst, uint64_t src, size_t n) {
  if (n == 0) return true;
  if (src >= kTaskSizeMax || n > kTaskSizeMax - src) return false;
  struct iovec local = {dst, n};
  struct iovec remote = {reinterpret_cast<void*>(src), n};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) ==
         static_cast<ssize_t>(n);
}

using bpfemu::native::OwnedMemory;

bool Owned(const OwnedMemory* owned, uint64_t a, uint64_t n) {
  return owned != nullptr && (*owned)(a, n);
}

// copy_from_kernel_nofault_allowed: 0 when the address may be read, else
// -ERANGE; *fault when it is a kernel-half address bpfemu never maps.
long KernelAddressCheck(uint64_t a, const OwnedMemory* owned, bool* fault) {
  *fault = false;
  if (Owned(owned, a, 1)) return 0;
  const uint64_t user_top = owned != nullptr ? kKernelStart : 4096;
  if (a < user_top || VsyscallPage(a) || !Canonical(a)) return -ERANGE;
  *fault = a >= kKernelStart;
  return 0;
}

long Failed(void* dst, uint32_t size, long err) {
  if (size != 0) std::memset(dst, 0, size);
  return err;
}

long ReadKernel(void* dst, uint32_t size, uint64_t src,
                const OwnedMemory* owned) {
  bool fault;
  if (long err = KernelAddressCheck(src, owned, &fault); err != 0) {
    return Failed(dst, size, err);
  }
  if (size == 0) return 0;
  if (Owned(owned, src, 1)) {
    if (!Owned(owned, src, size)) return Failed(dst, size, -EFAULT);
    std::memmove(dst, reinterpret_cast<const void*>(src), size);
    return 0;
  }
  if (fault || !SafeCopy(dst, src, size)) return Failed(dst, size, -EFAULT);
  return 0;
}

// access_ok() for [src, src + size).
bool UserRange(uint64_t src, uint64_t size) {
  return src <= kTaskSizeMax && size <= kTaskSizeMax - src;
}

long ReadUser(void* dst, uint32_t size, uint64_t src,
              const OwnedMemory* owned) {
  if (Owned(owned, src, 1) || !UserRange(src, size)) {
    return Failed(dst, size, -EFAULT);
  }
  if (!SafeCopy(dst, src, size)) return Failed(dst, size, -EFAULT);
  return 0;
}

long ReadKernelStr(char* dst, uint32_t size, uint64_t src,
                   const OwnedMemory* owned) {
  if (size == 0) return 0;
  bool fault;
  if (long err = KernelAddressCheck(src, owned, &fault); err != 0) {
    return Failed(dst, size, err);
  }
  if (fault) return Failed(dst, size, -EFAULT);
  const bool own = Owned(owned, src, 1);
  for (uint32_t i = 0; i < size; ++i) {
    char c;
    if (own) {
      if (!Owned(owned, src + i, 1)) return Failed(dst, size, -EFAULT);
      c = *reinterpret_cast<const char*>(src + i);
    } else if (!SafeCopy(&c, src + i, 1)) {
      return Failed(dst, size, -EFAULT);
    }
    dst[i] = c;
    if (c == '\0') return i + 1;
  }
  dst[size - 1] = '\0';
  return size;
}

long ReadUserStr(char* dst, uint32_t size, uint64_t src,
                 const OwnedMemory* owned) {
  if (size == 0) return 0;
  if (Owned(owned, src, 1) || src >= kTaskSizeMax) {
    return Failed(dst, size, -EFAULT);
  }
  const uint64_t max = std::min<uint64_t>(size, kTaskSizeMax - src);
  // strncpy_from_user_nofault: the string's length without its NUL, then
  // the NUL counted (6.18; up to 6.12 an empty string answers 0).
  auto found = [&](uint64_t len) -> long {
    if (len == 0 && !bpfemu::UserStrCountsEmptyNul(bpfemu::TargetKernel())) {
      return 0;
    }
    return static_cast<long>(len + 1);
  };
  uint64_t res = 0;
  while (max - res >= 8) {
    uint8_t word[8];
    if (!SafeCopy(word, src + res, 8)) break;  // then byte by byte
    for (int i = 0; i < 8; ++i) {
      if (word[i] == 0) {
        std::memset(word + i, 0, 8 - i);
        std::memcpy(dst + res, word, 8);
        return found(res + i);
      }
    }
    std::memcpy(dst + res, word, 8);
    res += 8;
  }
  for (; res < max; ++res) {
    char c;
    if (!SafeCopy(&c, src + res, 1)) return Failed(dst, size, -EFAULT);
    dst[res] = c;
    if (c == '\0') return found(res);
  }
  if (res < size) return Failed(dst, size, -EFAULT);  // ran out of user space
  dst[size - 1] = '\0';
  return size;
}

}  // namespace

namespace bpfemu::native {

long ProbeRead(ProbeSpace space, void* dst, uint32_t size, uint64_t src,
               const OwnedMemory* owned) {
  if (space == ProbeSpace::kCompat) {
    space = Owned(owned, src, 1) || src >= kTaskSizeMax ? ProbeSpace::kKernel
                                                        : ProbeSpace::kUser;
  }
  return space == ProbeSpace::kKernel ? ReadKernel(dst, size, src, owned)
                                      : ReadUser(dst, size, src, owned);
}

long ProbeReadStr(ProbeSpace space, void* dst, uint32_t size, uint64_t src,
                  const OwnedMemory* owned) {
  if (space == ProbeSpace::kCompat) {
    space = Owned(owned, src, 1) || src >= kTaskSizeMax ? ProbeSpace::kKernel
                                                        : ProbeSpace::kUser;
  }
  char* d = static_cast<char*>(dst);
  return space == ProbeSpace::kKernel ? ReadKernelStr(d, size, src, owned)
                                      : ReadUserStr(d, size, src, owned);
}

}  // namespace bpfemu::native

extern "C" {

#define BPFEMU_PROBE(name, fn, space)                                       \
  long bpfemu_##name(void* dst, __u32 size, const void* src) {              \
    return bpfemu::native::fn(bpfemu::native::ProbeSpace::space, dst, size, \
                              reinterpret_cast<uint64_t>(src), nullptr);    \
  }
BPFEMU_PROBE(probe_read_kernel, ProbeRead, kKernel)
BPFEMU_PROBE(probe_read_user, ProbeRead, kUser)
BPFEMU_PROBE(copy_from_user, ProbeRead, kUser)  // zeroes dst on -EFAULT too
BPFEMU_PROBE(probe_read, ProbeRead, kCompat)
BPFEMU_PROBE(probe_read_kernel_str, ProbeReadStr, kKernel)
BPFEMU_PROBE(probe_read_user_str, ProbeReadStr, kUser)
BPFEMU_PROBE(probe_read_str, ProbeReadStr, kCompat)
#undef BPFEMU_PROBE

// bpf_skb_load_bytes(): from the frame start (skb->data); out of range ->
// -EFAULT with the destination zeroed.
long bpfemu_skb_load_bytes(const void* skb, __u32 offset, void* to, __u32 len) {
  const auto* s = static_cast<const struct __sk_buff*>(skb);
  const uint64_t avail = uint64_t{s->data_end} - s->data;
  // len 0 touches nothing (and `to` may then be null).
  if (offset > INT32_MAX || uint64_t{offset} + len > avail) {
    if (len != 0) std::memset(to, 0, len);
    return -EFAULT;
  }
  if (len != 0) {
    std::memcpy(
        to, reinterpret_cast<const uint8_t*>(uintptr_t{s->data}) + offset, len);
  }
  return 0;
}

// bpf_sk_redirect_map / _hash, bpf_msg_redirect_map / _hash
// (net/core/sock_map.c): the socket in the slot, if the flags and its state
// allow the redirect.
long bpfemu_sk_redirect(void* map, const void* key, __u64 flags, int msg) {
  BoundMap* b = Bound(map);
  uint32_t handle = 0;
  if (b->sock_map != nullptr) {
    uint32_t index;
    std::memcpy(&index, key, sizeof(index));
    handle = b->sock_map->HandleAt(index);
  } else if (b->map->type() == BPF_MAP_TYPE_SOCKHASH) {
    if (const void* v = b->map->LookupElemProg(key)) {
      std::memcpy(&handle, v, sizeof(handle));
    }
  }
  const long verdict = bpfemu::RedirectVerdict(handle, flags, msg != 0);
  if (verdict == bpfemu::kSkPass) {
    bpfemu::SocketRef s;
    bpfemu::FindSocket(handle, &s);
    HelperEnv& e = HelperEnv::Get();
    bpfemu::LocalMutexLock l(&e.mu);
    e.redirect = bpfemu::native::Redirect{true, s.cookie, flags};
  }
  return verdict;
}

// bpf_redirect_map for the XDP redirect maps (net/core/filter.c
// bpf_xdp_redirect_map -> map->ops->map_redirect ->
// __bpf_xdp_redirect_map), dispatched through the map's redirect
// operations (Map::RedirectLookup): flags beyond the fallback action and
// the map's own flags -> XDP_ABORTED; a key without an entry (looked up as
// a u32) -> the fallback action in the low bits, unless BPF_F_BROADCAST;
// otherwise XDP_REDIRECT, recorded for LastRedirect.
long bpfemu_redirect_map(void* map, __u64 key, __u64 flags) {
  BoundMap* b = Bound(map);
  bpfemu::Map& m = *b->map;
  if (!m.IsRedirectMap()) {
    // check_map_func_compatibility refuses the program at load.
    std::fprintf(stderr,
                 "bpfemu: bpf_redirect_map on map '%s' (type %u), which the "
                 "verifier allows only for DEVMAP, DEVMAP_HASH, CPUMAP and "
                 "XSKMAP\n",
                 b->name.c_str(), m.type());
    std::abort();
  }
  constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
  if (flags & ~(kActionMask | m.RedirectFlagMask())) return XDP_ABORTED;
  bpfemu::RedirectTarget t;
  const bool found = m.RedirectLookup(static_cast<uint32_t>(key), &t);
  HelperEnv& e = HelperEnv::Get();
  if (!found && !(flags & BPF_F_BROADCAST)) {
    bpfemu::LocalMutexLock l(&e.mu);
    e.redirect = bpfemu::native::Redirect{};
    return static_cast<long>(flags & kActionMask);
  }
  bpfemu::native::Redirect r;
  r.taken = true;
  r.map_type = m.type();
  r.map_id = m.id();
  r.key = key;
  r.ifindex = t.ifindex;
  r.cpu = t.cpu;
  r.prog_id = t.prog_id;
  if (flags & BPF_F_BROADCAST) {
    r.flags = flags;
    // dev_map_enqueue_multi: every entry, less the run's ingress device
    // with BPF_F_EXCLUDE_INGRESS.
    for (const bpfemu::RedirectTarget& d : m.RedirectBroadcast()) {
      if ((flags & BPF_F_EXCLUDE_INGRESS) &&
          d.ifindex == bpfemu::native::xdp_ingress_ifindex) {
        continue;
      }
      r.broadcast.push_back(d.ifindex);
    }
  }
  bpfemu::LocalMutexLock l(&e.mu);
  e.redirect = std::move(r);
  return XDP_REDIRECT;
}

// bpf_redirect (net/core/filter.c): bpf_xdp_redirect for XDP (flags ->
// XDP_ABORTED, else XDP_REDIRECT with map_id INT_MAX), bpf_redirect for tc
// (flags beyond BPF_F_INGRESS -> TC_ACT_SHOT, else TC_ACT_REDIRECT). The
// device is looked up only when the redirect is carried out; the record
// says whether the emulated device table has it.
long bpfemu_redirect(__u32 ifindex, __u64 flags, int xdp) {
  if (xdp < 0) xdp = bpfemu::native::xdp_hard_start != 0;
  constexpr long kTcActShot = 2, kTcActRedirect = 7;
  if (xdp ? flags != 0 : (flags & ~uint64_t{BPF_F_INGRESS}) != 0) {
    return xdp ? long{XDP_ABORTED} : kTcActShot;
  }
  bpfemu::native::Redirect r;
  r.taken = true;
  r.map_id = xdp ? INT_MAX : 0;
  r.flags = flags;
  r.key = ifindex;
  r.ifindex = ifindex;
  r.device_missing = !bpfemu::NetdevExists(ifindex);
  HelperEnv& e = HelperEnv::Get();
  bpfemu::LocalMutexLock l(&e.mu);
  e.redirect = std::move(r);
  return xdp ? long{XDP_REDIRECT} : kTcActRedirect;
}

namespace {

// What bpf_redirect_peer and bpf_redirect_neigh leave in the redirect info
// for skb_do_redirect (net/core/filter.c): the target and the kernel's
// internal flags; the device is looked up only when the redirect happens.
long RecordTcRedirect(__u32 ifindex, uint64_t flags,
                      const struct bpf_redir_neigh* nh) {
  bpfemu::native::Redirect r;
  r.taken = true;
  r.flags = flags;
  r.key = ifindex;
  r.ifindex = ifindex;
  r.device_missing = !bpfemu::NetdevExists(ifindex);
  if (nh != nullptr) {
    r.nh_family = nh->nh_family;
    std::memcpy(r.nh_addr, &nh->ipv6_nh, sizeof(r.nh_addr));
  }
  HelperEnv& e = HelperEnv::Get();
  bpfemu::LocalMutexLock l(&e.mu);
  e.redirect = std::move(r);
  constexpr long kTcActRedirect = 7;
  return kTcActRedirect;
}

constexpr long kTcActShot = 2;

}  // namespace

// bpf_redirect_peer (net/core/filter.c): any flag is TC_ACT_SHOT.
long bpfemu_redirect_peer(__u32 ifindex, __u64 flags) {
  if (flags != 0) return kTcActShot;
  return RecordTcRedirect(ifindex, bpfemu::native::kRedirectPeer, nullptr);
}

// bpf_redirect_neigh: a next hop shorter than struct bpf_redir_neigh, or
// any flag, is TC_ACT_SHOT; plen 0 means the route's own next hop.
long bpfemu_redirect_neigh(__u32 ifindex, const void* params, int plen,
                           __u64 flags) {
  if ((plen != 0 && static_cast<size_t>(plen) < sizeof(bpf_redir_neigh)) ||
      flags != 0) {
    return kTcActShot;
  }
  uint64_t f = bpfemu::native::kRedirectNeigh;
  struct bpf_redir_neigh nh = {};
  if (plen != 0) {
    std::memcpy(&nh, params, sizeof(nh));
    f |= bpfemu::native::kRedirectNexthop;
  }
  return RecordTcRedirect(ifindex, f, plen != 0 ? &nh : nullptr);
}

// bpf_clone_redirect (net/core/filter.c): flags beyond BPF_F_INGRESS are
// -EINVAL; a GSO packet without a GSO type (as a test run's context makes
// it: bpfemu keeps no GSO type, GsoNotTcp below) -EBADMSG; no such device
// in the run's namespace -EINVAL; then the clone goes out at once
// (__bpf_redirect_common): -ERANGE without a link-layer header in front of
// the network header or with an empty packet, else what the device's
// transmit or receive path answers, which for the emulated devices (they
// queue nothing and drop nothing) is 0.
long bpfemu_clone_redirect(void* skb, __u32 ifindex, __u64 flags) {
  const auto* s = static_cast<const struct __sk_buff*>(skb);
  if ((flags & ~uint64_t{BPF_F_INGRESS}) != 0) return -EINVAL;
  if (s->gso_size != 0) return -EBADMSG;
  if (!bpfemu::NetdevExists(ifindex)) return -EINVAL;
  const bpfemu::native::SkbFrame* f = bpfemu::native::skb_frame;
  if ((f != nullptr && f->mac >= f->network) || s->len == 0) return -ERANGE;
  bpfemu::native::ClonedPacket c;
  c.ifindex = ifindex;
  c.flags = flags;
  const auto* data = reinterpret_cast<const uint8_t*>(uintptr_t{s->data});
  c.packet.assign(data, data + s->len);
  HelperEnv& e = HelperEnv::Get();
  bpfemu::LocalMutexLock l(&e.mu);
  e.clones.push_back(std::move(c));
  return 0;
}

// bpf_check_mtu (net/core/filter.c bpf_skb_check_mtu / bpf_xdp_check_mtu):
// whether the packet, or *mtu_len as an L3 length when non-zero, plus
// len_diff, fits the device's MTU plus its link-layer header; the device is
// the run's (ifindex 0) or `ifindex` (-ENODEV if none). *mtu_len becomes
// the device's MTU. The skb flavour takes BPF_MTU_CHK_SEGS, which asks for
// a GSO packet's segments to be checked instead and needs a transport
// header (-EINVAL without one, as a test run's skb has); XDP takes no flag.
long bpfemu_check_mtu(void* ctx, __u32 ifindex, __u32* mtu_len, __s32 len_diff,
                      __u64 flags, int xdp) {
  if (xdp < 0) xdp = bpfemu::native::xdp_hard_start != 0;
  if (xdp ? flags != 0 : (flags & ~uint64_t{BPF_MTU_CHK_SEGS}) != 0) {
    return -EINVAL;
  }
  const bool segs = (flags & BPF_MTU_CHK_SEGS) != 0;
  if (segs && (len_diff != 0 || *mtu_len != 0)) return -EINVAL;
  uint32_t run_dev = bpfemu::native::xdp_ingress_ifindex;
  uint32_t len = 0;
  const struct __sk_buff* s = nullptr;
  if (xdp) {
    const auto* x = static_cast<const struct xdp_md*>(ctx);
    len = static_cast<uint32_t>(x->data_end - x->data);
  } else {
    s = static_cast<const struct __sk_buff*>(ctx);
    run_dev = s->ifindex != 0 ? s->ifindex : bpfemu::kLoopbackIfindex;
    len = s->len;
  }
  const std::optional<bpfemu::Netdev> dev =
      bpfemu::NetdevByIndex(ifindex != 0 ? ifindex : run_dev);
  if (!dev) return -ENODEV;
  // The kernel's lengths are ints: an *mtu_len near 2^32 or a large
  // len_diff wraps around, as it does there.
  const uint32_t mtu = dev->mtu;
  if (*mtu_len != 0) len = *mtu_len + dev->hard_header_len;
  const auto wrapped =
      static_cast<int32_t>(len + static_cast<uint32_t>(len_diff));
  long ret = BPF_MTU_CHK_RET_SUCCESS;
  if (wrapped > static_cast<int32_t>(mtu + dev->hard_header_len)) {
    ret = BPF_MTU_CHK_RET_FRAG_NEEDED;
    if (!xdp && s->gso_size != 0) {
      ret = BPF_MTU_CHK_RET_SUCCESS;
      if (segs) {
        const bpfemu::native::SkbFrame* f = bpfemu::native::skb_frame;
        if (f == nullptr || f->transport == 0) return -EINVAL;
        // skb_gso_validate_network_len(): one segment's L3 length, the
        // headers up to the transport header plus gso_size (no GSO type,
        // so no transport header length is added).
        const uint64_t seg = f->transport - f->network + s->gso_size;
        if (seg > mtu) ret = BPF_MTU_CHK_RET_SEGS_TOOBIG;
      }
    }
  }
  *mtu_len = mtu;
  return ret;
}

// bpf_loop(): BPF_MAX_LOOPS = 8M iterations; returns the iterations run,
// counting the one whose callback returned non-zero. With flags 0 the
// verifier inlines the loop (inline_bpf_loop), whose E2BIG is a 32-bit move:
// the program sees 0xfffffff9, not -7 (measured on 6.18, see
// docs/semantics.md). Bad flags reach the helper itself: -EINVAL.
long bpfemu_loop(__u32 nr_loops, void* callback_fn, void* callback_ctx,
                 __u64 flags) {
  if (flags != 0) return -EINVAL;
  if (nr_loops > (8u << 20)) return static_cast<uint32_t>(-E2BIG);
  auto* cb = reinterpret_cast<long (*)(__u32, void*)>(callback_fn);
  for (__u32 i = 0; i < nr_loops; ++i) {
    if (cb(i, callback_ctx) != 0) return i + 1;
  }
  return nr_loops;
}

// bpf_for_each_map_elem() (kernel/bpf/bpf_iter.c): the map type's
// map_for_each_callback (map.h MapOps::for_each_callback). The verifier
// refuses the call on a type without one (check_map_func_compatibility);
// here it is -EINVAL. The callback is long (*)(struct bpf_map *, key *,
// value *, ctx *); the verifier holds its return value to 0 or 1, so only
// the low 32 bits are looked at (a callback declared to return int leaves
// the upper half of the register undefined on x86-64).
long bpfemu_for_each_map_elem(void* map, void* callback_fn, void* callback_ctx,
                              __u64 flags) {
  BoundMap* b = Bound(map);
  const bpfemu::MapOps* ops = bpfemu::MapOpsFor(b->map->type());
  if (ops == nullptr || ops->for_each_callback == nullptr) return -EINVAL;
  struct Call {
    long (*cb)(void*, void*, void*, void*);
    void* map;
    void* ctx;
  } call{reinterpret_cast<long (*)(void*, void*, void*, void*)>(callback_fn),
         map, callback_ctx};
  return ops->for_each_callback(
      *b->map,
      [](void* arg, void* key, void* value) -> uint64_t {
        auto* c = static_cast<Call*>(arg);
        return static_cast<uint32_t>(c->cb(c->map, key, value, c->ctx));
      },
      &call, flags);
}

// bpf_user_ringbuf_drain(): UserRingbufMap::Drain, each sample handed to
// the program's callback as a local dynptr (bpf_dynptr_init(...,
// BPF_DYNPTR_TYPE_LOCAL, 0, size)).
long bpfemu_user_ringbuf_drain(void* map, void* callback_fn, void* ctx,
                               __u64 flags) {
  BoundMap* b = Bound(map);
  if (b->user_ring == nullptr) return -EINVAL;  // the verifier refuses it
  struct Call {
    long (*cb)(struct bpf_dynptr*, void*);
    void* ctx;
  } call{reinterpret_cast<long (*)(struct bpf_dynptr*, void*)>(callback_fn),
         ctx};
  return b->user_ring->Drain(
      [](void* arg, void* sample, uint32_t size) -> uint64_t {
        auto* c = static_cast<Call*>(arg);
        bpfemu_dynptr d = bpfemu::native::internal::LocalDynptr(sample, size);
        return static_cast<uint64_t>(
            c->cb(reinterpret_cast<struct bpf_dynptr*>(&d), c->ctx));
      },
      &call, flags);
}

// bpf_dynptr_read / write / data (kernel/bpf/helpers.c): local and ring
// buffer dynptrs in memory; skb ones through bpf_skb_load_bytes /
// _store_bytes (__bpf_skb_load_bytes / __bpf_skb_store_bytes), xdp ones
// through bpf_xdp_load_bytes / _store_bytes, at the dynptr's offset plus
// `offset` (a u32 sum); bpf_dynptr_data gives them no pointer (they take
// bpf_dynptr_slice).
long bpfemu_dynptr_read(void* dst, __u32 len, const struct bpf_dynptr* src,
                        __u32 offset, __u64 flags) {
  using namespace bpfemu::native::internal;
  const auto* d = reinterpret_cast<const bpfemu_dynptr*>(src);
  if (d->data == nullptr || flags != 0) return -EINVAL;
  if (!DynptrRangeOk(*d, offset, len)) return -E2BIG;
  const __u32 at = d->offset + offset;
  switch (DynptrType(*d)) {
    case kDynptrSkb:
      return bpfemu_skb_load_bytes(d->data, at, dst, len);
    case kDynptrXdp:
      return bpfemu_xdp_load_bytes(d->data, at, dst, len);
    default:
      std::memmove(dst, static_cast<uint8_t*>(d->data) + at, len);
      return 0;
  }
}

long bpfemu_dynptr_write(const struct bpf_dynptr* dst, __u32 offset, void* src,
                         __u32 len, __u64 flags) {
  using namespace bpfemu::native::internal;
  const auto* d = reinterpret_cast<const bpfemu_dynptr*>(dst);
  if (d->data == nullptr || DynptrRdonly(*d)) return -EINVAL;
  if (!DynptrRangeOk(*d, offset, len)) return -E2BIG;
  const __u32 at = d->offset + offset;
  if (DynptrType(*d) == kDynptrSkb) {
    return bpfemu_skb_store_bytes(d->data, at, src, len, flags);
  }
  if (flags != 0) return -EINVAL;
  if (DynptrType(*d) == kDynptrXdp) {
    return bpfemu_xdp_store_bytes(d->data, at, src, len);
  }
  std::memmove(static_cast<uint8_t*>(d->data) + at, src, len);
  return 0;
}

void* bpfemu_dynptr_data(const struct bpf_dynptr* ptr, __u32 offset,
                         __u32 len) {
  using namespace bpfemu::native::internal;
  const auto* d = reinterpret_cast<const bpfemu_dynptr*>(ptr);
  if (d->data == nullptr || !DynptrRangeOk(*d, offset, len) ||
      DynptrRdonly(*d) || DynptrType(*d) == kDynptrSkb ||
      DynptrType(*d) == kDynptrXdp) {
    return nullptr;
  }
  return static_cast<uint8_t*>(d->data) + d->offset + offset;
}

// Strings, clocks and the NUMA node (kernel/bpf/helpers.c,
// lib/string.c, lib/kstrtox.c).

// bpf_strncmp(): lib/string.c's strncmp, whose result is the sign only
// (-1, 0, 1: unsigned bytes compared), not glibc's byte difference.
long bpfemu_strncmp(const char* s1, __u32 s1_sz, const char* s2) {
  for (__u32 i = 0; i < s1_sz; ++i) {
    const unsigned char c1 = static_cast<unsigned char>(s1[i]);
    const unsigned char c2 = static_cast<unsigned char>(s2[i]);
    if (c1 != c2) return c1 < c2 ? -1 : 1;
    if (c1 == 0) break;
  }
  return 0;
}

namespace {

// The kernel's isspace (include/linux/ctype.h, lib/ctype.c): \t \n \v \f
// \r, space and Latin-1 NBSP (0xa0).
bool KernelIsSpace(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= 9 && u <= 13) || u == ' ' || u == 0xa0;
}

// __bpf_strtoull (kernel/bpf/helpers.c): whitespace, one '-', then at most
// 63 characters parsed as _parse_integer_fixup_radix / _parse_integer do.
// Returns the characters consumed or a negative errno.
int BpfStrtoull(const char* buf, uint64_t buf_len, uint64_t flags,
                unsigned long long* res, bool* negative) {
  constexpr uint64_t kBaseMask = 0x1F;  // BPF_STRTOX_BASE_MASK
  unsigned base = static_cast<unsigned>(flags & kBaseMask);
  if (buf == nullptr || buf_len == 0) return -EINVAL;
  if (base != 0 && base != 8 && base != 10 && base != 16) return -EINVAL;
  if ((flags & ~kBaseMask) != 0) return -EINVAL;
  uint64_t pos = 0;
  while (pos < buf_len && KernelIsSpace(buf[pos])) ++pos;
  *negative = pos < buf_len && buf[pos] == '-';
  if (*negative) ++pos;
  if (pos == buf_len) return -EINVAL;
  char str[64];
  const uint64_t len = std::min<uint64_t>(buf_len - pos, sizeof(str) - 1);
  std::memcpy(str, buf + pos, len);
  str[len] = '\0';
  const char* s = str;
  auto lower = [](char c) {
    return static_cast<unsigned>(static_cast<unsigned char>(c) | 0x20);
  };
  auto is_xdigit = [&](char c) {
    return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f');
  };
  if (base == 0) {
    if (s[0] == '0') {
      base = lower(s[1]) == 'x' && is_xdigit(s[2]) ? 16 : 8;
    } else {
      base = 10;
    }
  }
  if (base == 16 && s[0] == '0' && lower(s[1]) == 'x') s += 2;
  unsigned long long v = 0;
  unsigned digits = 0;
  bool overflow = false;
  for (;; ++s) {
    const unsigned c = static_cast<unsigned char>(*s);
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (lower(*s) >= 'a' && lower(*s) <= 'f') {
      d = lower(*s) - 'a' + 10;
    } else {
      break;
    }
    if (d >= base) break;
    if ((v & (~0ULL << 60)) != 0 && v > (ULLONG_MAX - d) / base) {
      overflow = true;
    }
    v = v * base + d;
    ++digits;
  }
  *res = v;
  if (overflow) return -ERANGE;
  if (digits == 0) return -EINVAL;
  return static_cast<int>(pos + (s - str));
}

}  // namespace

long bpfemu_strtol(const char* buf, __u64 buf_len, __u64 flags, long* res) {
  *res = 0;
  unsigned long long v;
  bool negative;
  const int n = BpfStrtoull(buf, buf_len, flags, &v, &negative);
  if (n < 0) return n;
  // __bpf_strtoll: the magnitude must fit the sign.
  if (negative) {
    if (static_cast<long long>(0 - v) > 0) return -ERANGE;
    *res = static_cast<long>(0 - v);
  } else {
    if (static_cast<long long>(v) < 0) return -ERANGE;
    *res = static_cast<long>(v);
  }
  return n;
}

long bpfemu_strtoul(const char* buf, __u64 buf_len, __u64 flags,
                    unsigned long* res) {
  *res = 0;
  unsigned long long v;
  bool negative;
  const int n = BpfStrtoull(buf, buf_len, flags, &v, &negative);
  if (n < 0) return n;
  if (negative) return -EINVAL;
  *res = v;
  return n;
}

// get_jiffies_64(): INITIAL_JIFFIES (-300 * HZ as a u32, so 32-bit jiffies
// wrap five minutes after boot) plus the monotonic ticks; HZ is Debian's
// CONFIG_HZ=250.
__u64 bpfemu_jiffies64(void) {
  constexpr uint64_t kHz = 250;
  constexpr uint64_t kInitial = static_cast<uint32_t>(-300 * int64_t{kHz});
  return kInitial + bpfemu::native::ClockNs(CLOCK_MONOTONIC_COARSE) /
                        (1000000000ULL / kHz);
}
__u64 bpfemu_ktime_get_boot_ns(void) {
  return bpfemu::native::ClockNs(CLOCK_BOOTTIME);
}
__u64 bpfemu_ktime_get_coarse_ns(void) {
  return bpfemu::native::ClockNs(CLOCK_MONOTONIC_COARSE);
}
__u64 bpfemu_ktime_get_tai_ns(void) {
  return bpfemu::native::ClockNs(CLOCK_TAI);
}

// One NUMA node, as map creation assumes (numa_node must be 0 or
// NUMA_NO_NODE).
long bpfemu_get_numa_node_id(void) { return 0; }

// Packet rewriting (net/core/filter.c), in the order of that file.

// bpf_skb_store_bytes(): into the linear packet from skb->data; the
// checksum recomputation touches skb->csum only for CHECKSUM_COMPLETE
// and the hash is not modelled (the test run's skb has neither).
long bpfemu_skb_store_bytes(void* skb, __u32 offset, const void* from,
                            __u32 len, __u64 flags) {
  if (flags & ~uint64_t{BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH}) {
    return -EINVAL;
  }
  if (offset > INT_MAX) return -EFAULT;
  // offset + len is a u32 sum in the kernel.
  uint8_t* data = bpfemu::native::SkbWritable(skb, uint32_t(offset + len));
  if (data == nullptr) return -EFAULT;
  // len 0 stores nothing (and `from` may then be null: no memmove).
  if (len != 0) std::memmove(data + offset, from, len);
  return 0;
}

namespace {

// The part bpf_l3_csum_replace and bpf_l4_csum_replace share: the 16-bit
// checksum at `offset` of the test run's packet, updated for a field of
// `size` bytes (the BPF_F_HDR_FIELD_MASK bits) changing from `from` to
// `to`, or by a csum_diff result (size 0). l4 replaces 2-byte fields
// through inet_proto_csum_replace2, which widens them to 32 bits
// (`widen16`); l3 uses csum_replace2. `keep_zero` leaves a stored sum of 0
// alone and `mangle_zero` stores a result of 0 as CSUM_MANGLED_0 (l4's
// BPF_F_MARK_MANGLED_0, for an absent UDP checksum).
long ReplaceChecksumField(void* skb, uint32_t offset, uint64_t from,
                          uint64_t to, uint64_t size, bool widen16,
                          bool keep_zero, bool mangle_zero) {
  using namespace bpfemu::native;
  if (offset > 0xffff || (offset & 1)) return -EFAULT;
  uint8_t* data = SkbWritable(skb, uint64_t{offset} + 2);
  if (data == nullptr) return -EFAULT;
  uint16_t sum;
  std::memcpy(&sum, data + offset, 2);
  if (keep_zero && sum == 0) return 0;
  switch (size) {
    case 0:
      if (from != 0) return -EINVAL;
      sum = CsumReplaceByDiff(sum, static_cast<uint32_t>(to));
      break;
    case 2:
      sum = widen16 ? CsumReplace4(sum, static_cast<uint16_t>(from),
                                   static_cast<uint16_t>(to))
                    : CsumReplace2(sum, static_cast<uint16_t>(from),
                                   static_cast<uint16_t>(to));
      break;
    case 4:
      sum = CsumReplace4(sum, static_cast<uint32_t>(from),
                         static_cast<uint32_t>(to));
      break;
    default:
      return -EINVAL;
  }
  if (mangle_zero && sum == 0) sum = 0xffff;  // CSUM_MANGLED_0
  std::memcpy(data + offset, &sum, 2);
  return 0;
}

}  // namespace

// bpf_l3_csum_replace(): the 16-bit checksum at `offset`, updated for a
// 2- or 4-byte field changing from `from` to `to`, or by a csum_diff
// result (size 0).
long bpfemu_l3_csum_replace(void* skb, __u32 offset, __u64 from, __u64 to,
                            __u64 flags) {
  if (flags & ~uint64_t{BPF_F_HDR_FIELD_MASK}) return -EINVAL;
  return ReplaceChecksumField(skb, offset, from, to,
                              flags & BPF_F_HDR_FIELD_MASK, /*widen16=*/false,
                              /*keep_zero=*/false, /*mangle_zero=*/false);
}

// bpf_l4_csum_replace(): as l3, through inet_proto_csum_replace*; the test
// run's skb is CHECKSUM_NONE, so BPF_F_PSEUDO_HDR and BPF_F_IPV6 change
// only skb->csum, which it does not use. BPF_F_MARK_MANGLED_0 leaves a
// zero (absent UDP) checksum alone and writes CSUM_MANGLED_0 for a result
// of 0.
long bpfemu_l4_csum_replace(void* skb, __u32 offset, __u64 from, __u64 to,
                            __u64 flags) {
  constexpr uint64_t kIpv6 = 1ULL << 7;  // BPF_F_IPV6
  const bool mmzero = flags & BPF_F_MARK_MANGLED_0;
  const bool mforce = flags & BPF_F_MARK_ENFORCE;
  if (flags & ~uint64_t{BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE |
                        BPF_F_PSEUDO_HDR | kIpv6 | BPF_F_HDR_FIELD_MASK}) {
    return -EINVAL;
  }
  return ReplaceChecksumField(
      skb, offset, from, to, flags & BPF_F_HDR_FIELD_MASK, /*widen16=*/true,
      /*keep_zero=*/mmzero && !mforce, /*mangle_zero=*/mmzero);
}

// bpf_csum_diff(): up to 6.12, csum_partial over the complemented `from`
// words then the `to` words, seeded, with sizes multiples of 4 and at most
// the per-CPU scratchpad (MAX_BPF_STACK, 512 bytes) together; from 6.13,
// each side summed on its own and the result folded to 16 bits
// (emu/version.h CsumDiffFoldsTo16).
__s64 bpfemu_csum_diff(const __be32* from, __u32 from_size, const __be32* to,
                       __u32 to_size, __wsum seed) {
  using namespace bpfemu::native;
  const auto* f = reinterpret_cast<const uint8_t*>(from);
  const auto* t = reinterpret_cast<const uint8_t*>(to);
  if (bpfemu::CsumDiffFoldsTo16(bpfemu::TargetKernel())) {
    // csum_from32to16: the halves added with end-around carry.
    const auto from32to16 = [](uint32_t x) -> __s64 {
      x = (x & 0xffff) + (x >> 16);
      return (x & 0xffff) + (x >> 16);
    };
    if (from_size != 0 && to_size != 0) {
      return from32to16(
          CsumSub(CsumPartial(t, to_size, seed), CsumPartial(f, from_size, 0)));
    }
    if (to_size != 0) return from32to16(CsumPartial(t, to_size, seed));
    if (from_size != 0) {
      return from32to16(~CsumPartial(f, from_size, ~uint32_t{seed}));
    }
    return from32to16(seed);
  }
  const uint32_t diff_size = from_size + to_size;
  if (((from_size | to_size) & 3) != 0 || diff_size > 512) return -EINVAL;
  uint32_t diff[128];
  uint32_t j = 0;
  for (uint32_t i = 0; i < from_size / 4; ++i) diff[j++] = ~from[i];
  for (uint32_t i = 0; i < to_size / 4; ++i) diff[j++] = to[i];
  return CsumPartial(reinterpret_cast<const uint8_t*>(diff), diff_size, seed);
}

// bpf_xdp_adjust_head(): data moves by `offset` (the metadata with it),
// keeping the xdp_frame's room at the headroom's start and ETH_HLEN bytes
// before data_end.
long bpfemu_xdp_adjust_head(void* ctx, int offset) {
  using namespace bpfemu::native;
  auto* md = static_cast<struct xdp_md*>(ctx);
  const uint64_t metalen = md->data - md->data_meta;
  const uint64_t data_start = xdp_hard_start + kXdpFrameSize + metalen;
  const uint64_t data = uint64_t{md->data} + static_cast<int64_t>(offset);
  if (data < data_start || data > md->data_end - kEthHlen) return -EINVAL;
  if (metalen != 0) {
    std::memmove(reinterpret_cast<void*>(uintptr_t{md->data_meta + offset}),
                 reinterpret_cast<void*>(uintptr_t{md->data_meta}), metalen);
  }
  md->data_meta += offset;
  md->data = static_cast<uint32_t>(data);
  return 0;
}

// bpf_xdp_adjust_tail(): data_end moves by `offset`, up to the frame's
// tailroom and down to ETH_HLEN bytes after data; grown bytes are zeroed.
// A frame with fragments grows or shrinks at its last fragment instead.
long bpfemu_xdp_adjust_tail(void* ctx, int offset) {
  using namespace bpfemu::native;
  auto* md = static_cast<struct xdp_md*>(ctx);
  if (XdpHasFrags()) {
    // -offset as the kernel's int negation computes it (INT_MIN stays).
    if (offset < 0) {
      return XdpFragsShrinkTail(
          md, static_cast<int>(0u - static_cast<uint32_t>(offset)));
    }
    return XdpFragsIncreaseTail(offset);
  }
  const uint64_t data_end =
      uint64_t{md->data_end} + static_cast<int64_t>(offset);
  if (data_end > xdp_hard_end) return -EINVAL;
  if (data_end < uint64_t{md->data} + kEthHlen) return -EINVAL;
  if (offset > 0) {
    std::memset(reinterpret_cast<void*>(uintptr_t{md->data_end}), 0, offset);
  }
  md->data_end = static_cast<uint32_t>(data_end);
  return 0;
}

// bpf_xdp_adjust_meta(): data_meta moves by `offset`, within the headroom
// after the xdp_frame and not past data; the metadata's length must stay
// valid (-EACCES).
long bpfemu_xdp_adjust_meta(void* ctx, int offset) {
  using namespace bpfemu::native;
  auto* md = static_cast<struct xdp_md*>(ctx);
  const uint64_t meta = uint64_t{md->data_meta} + static_cast<int64_t>(offset);
  if (meta < xdp_hard_start + kXdpFrameSize || meta > md->data) {
    return -EINVAL;
  }
  if (XdpMetalenInvalid(md->data - meta)) return -EACCES;
  md->data_meta = static_cast<uint32_t>(meta);
  return 0;
}

// bpf_xdp_load_bytes() / bpf_xdp_store_bytes(): across the linear part
// and the fragments; offset or length over 0xffff -EFAULT, past the frame's
// end -EINVAL.
// bpf_xdp_get_buff_len(): the linear part and the fragments.
__u64 bpfemu_xdp_get_buff_len(void* ctx) {
  return bpfemu::native::XdpBuffLen(static_cast<const struct xdp_md*>(ctx));
}

long bpfemu_xdp_load_bytes(void* ctx, __u32 offset, void* buf, __u32 len) {
  return bpfemu::native::XdpCopy(static_cast<struct xdp_md*>(ctx), offset,
                                 static_cast<uint8_t*>(buf), len, false);
}

long bpfemu_xdp_store_bytes(void* ctx, __u32 offset, void* buf, __u32 len) {
  return bpfemu::native::XdpCopy(static_cast<struct xdp_md*>(ctx), offset,
                                 static_cast<uint8_t*>(buf), len, true);
}

// The socket buffer's shape (net/core/filter.c, net/core/skbuff.c,
// include/linux/if_vlan.h), on the test run's skb: its context fields
// (len, data, data_end, protocol, pkt_type, hash, vlan_*) and the frame
// SetSkbFrame describes. Each check lives here once; the interpreter's
// table (loader/bytecode.cc) calls these same functions.

namespace {

using bpfemu::native::SkbFrame;

constexpr uint32_t kVlanHlen = 4;         // VLAN_HLEN
constexpr uint32_t kVlanEthHlen = 18;     // VLAN_ETH_HLEN
constexpr uint16_t kEthP8021Q = 0x8100;   // ETH_P_8021Q
constexpr uint16_t kEthP8021AD = 0x88a8;  // ETH_P_8021AD

struct __sk_buff* AsSkb(void* ctx) {
  return static_cast<struct __sk_buff*>(ctx);
}

uint8_t* At(uint64_t addr) { return reinterpret_cast<uint8_t*>(addr); }

// bpf_compute_data_pointers() after the packet moved: data, data_end and
// len describe [data, data + len).
void SetPacket(struct __sk_buff* s, uint64_t data, uint32_t len) {
  s->data = static_cast<uint32_t>(data);
  s->data_end = static_cast<uint32_t>(data + len);
  s->len = len;
}

bool EthTypeVlan(uint32_t proto_be) {
  return proto_be == htons(kEthP8021Q) || proto_be == htons(kEthP8021AD);
}

// __skb_vlan_pop(): the tag after the MAC addresses leaves the packet; its
// TCI is returned through `tci` and the encapsulated type becomes
// skb->protocol (vlan_set_encap_proto: an 802.3 type as is, else the IPX
// hack's 0xffff word means ETH_P_802_3, anything else ETH_P_802_2).
long PopPacketTag(SkbFrame* f, struct __sk_buff* s, uint16_t* tci) {
  if (s->data != f->mac) return -EINVAL;
  // skb_ensure_writable(): the linear test skb cannot pull past its end.
  if (s->len < kVlanEthHlen) return -ENOMEM;
  uint8_t* d = At(s->data);
  uint16_t v;
  std::memcpy(&v, d + ETH_HLEN, 2);
  *tci = ntohs(v);
  uint16_t encap;
  std::memcpy(&encap, d + 2 * ETH_ALEN + kVlanHlen, 2);
  std::memmove(d + kVlanHlen, d, 2 * ETH_ALEN);
  if (ntohs(encap) >= ETH_P_802_3_MIN) {
    s->protocol = encap;
  } else {
    uint16_t raw;
    std::memcpy(&raw, d + kVlanEthHlen, 2);
    s->protocol = htons(raw == 0xffff ? ETH_P_802_3 : ETH_P_802_2);
  }
  SetPacket(s, uint64_t{s->data} + kVlanHlen, s->len - kVlanHlen);
  f->mac += kVlanHlen;
  if (f->network < uint64_t{s->data} + ETH_HLEN) {
    f->network = uint64_t{s->data} + ETH_HLEN;
  }
  return 0;
}

// __vlan_hwaccel_put_tag() / __vlan_hwaccel_clear_tag(): the tag outside
// the packet, as __sk_buff's vlan_present / vlan_proto / vlan_tci show it.
void PutAccelTag(struct __sk_buff* s, uint32_t proto_be, uint16_t tci) {
  s->vlan_present = 1;
  s->vlan_proto = proto_be;
  s->vlan_tci = tci;
}

// __skb_get_hash(): bpfemu's flow hash for a packet that has none. The
// kernel's (net/core/flow_dissector.c) is seeded with a random value per
// boot (hashrnd), so no two kernels agree on it; bpfemu hashes the same
// flow keys (the IPv4 / IPv6 addresses in a fixed order, the protocol and,
// for TCP / UDP / SCTP / UDP-Lite, the ports) with emu/jhash.h under a
// random seed per process, never 0 as the kernel's, and marks the hash L4
// when ports were found. Only these properties are comparable.
uint32_t FlowHash(const struct __sk_buff* s, const SkbFrame* f, bool* l4) {
  static const uint32_t seed = [] {
    absl::BitGen gen;
    return absl::Uniform<uint32_t>(gen);
  }();
  uint32_t keys[10] = {};
  size_t n = 0;
  *l4 = false;
  const uint8_t* nh = At(f->network);
  const uint64_t end = uint64_t{s->data} + s->len;
  uint8_t proto = 0;
  uint64_t l4_at = 0;
  if (s->protocol == htons(ETH_P_IP) && f->network + 20 <= end) {
    uint32_t a, b;
    std::memcpy(&a, nh + 12, 4);
    std::memcpy(&b, nh + 16, 4);
    keys[n++] = std::min(a, b);
    keys[n++] = std::max(a, b);
    proto = nh[9];
    const bool fragment = (nh[6] & 0x3f) != 0 || nh[7] != 0;
    if (!fragment) l4_at = f->network + (nh[0] & 0xf) * 4u;
  } else if (s->protocol == htons(ETH_P_IPV6) && f->network + 40 <= end) {
    const bool swap = std::memcmp(nh + 8, nh + 24, 16) > 0;
    std::memcpy(&keys[n], nh + (swap ? 24 : 8), 16);
    std::memcpy(&keys[n + 4], nh + (swap ? 8 : 24), 16);
    n += 8;
    proto = nh[6];
    l4_at = f->network + 40;
  }
  keys[n++] =
      proto | (uint32_t{ntohs(static_cast<uint16_t>(s->protocol))} << 16);
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 132 ||
       proto == IPPROTO_UDPLITE) &&
      l4_at != 0 && l4_at + 4 <= end) {
    uint16_t p[2];
    std::memcpy(p, At(l4_at), 4);
    keys[n++] = std::min(p[0], p[1]) | uint32_t{std::max(p[0], p[1])} << 16;
    *l4 = true;
  }
  const uint32_t h = bpfemu::Jhash(keys, static_cast<uint32_t>(n * 4), seed);
  return h != 0 ? h : 1;
}

// bpf_skb_net_hdr_push(): `len` zeroed bytes at `off` from the start (the
// first `off` bytes move to the front); the mac and network headers move
// with the bytes before them. The frame always has the room (skb_cow).
long NetHdrPush(SkbFrame* f, struct __sk_buff* s, uint32_t off, uint32_t len) {
  if (uint64_t{s->data} < f->head + len) return -ENOMEM;
  const uint64_t data = uint64_t{s->data} - len;
  std::memmove(At(data), At(data + len), off);
  std::memset(At(data + off), 0, len);
  SetPacket(s, data, s->len + len);
  f->mac -= len;
  f->network -= len;
  return 0;
}

// bpf_skb_net_hdr_pop(): the `len` bytes at `off` go (pskb_may_pull of
// off + len first: -ENOMEM past the packet's end).
long NetHdrPop(SkbFrame* f, struct __sk_buff* s, uint32_t off, uint32_t len) {
  if (uint64_t{off} + len > s->len) return -ENOMEM;
  const uint64_t old = s->data;
  SetPacket(s, old + len, s->len - len);
  std::memmove(At(old + len), At(old), off);
  f->mac += len;
  f->network += len;
  return 0;
}

// skb_clear_hash().
void ClearHash(SkbFrame* f, struct __sk_buff* s) {
  s->hash = 0;
  f->sw_hash = false;
  f->l4_hash = false;
}

// bpf_skb_net_base_len(): the fixed IP header of skb->protocol.
uint32_t NetBaseLen(const struct __sk_buff* s) {
  if (s->protocol == htons(ETH_P_IP)) return 20;
  if (s->protocol == htons(ETH_P_IPV6)) return 40;
  return ~0u;
}

// The test run's GSO packet has no gso_type (convert___skb_to_skb sets
// only gso_size and gso_segs): neither TCP nor UDP_L4, which
// bpf_skb_adjust_room refuses (-ENOTSUPP).
bool GsoNotTcp(const struct __sk_buff* s) { return s->gso_size != 0; }

}  // namespace

// bpf_skb_change_tail(): the packet grows (zeroed) or shrinks to
// `new_len`, no shorter than the headers before the network header, or
// the transport header once set (__bpf_skb_min_len), and no longer than
// BPF_SKB_MAX_LEN; flags must be 0; not for an encapsulated packet
// (-ENOTSUPP). A GSO packet loses its segmentation (skb_gso_reset).
long bpfemu_skb_change_tail(void* ctx, __u32 new_len, __u64 flags) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  const uint64_t data = s->data;
  uint64_t min_len = f->network > data ? f->network - data : 0;
  if (f->transport != 0 && f->transport > data) min_len = f->transport - data;
  if (flags != 0 || new_len > bpfemu::native::kSkbMaxLen || new_len < min_len) {
    return -EINVAL;
  }
  if (f->encapsulation) return -bpfemu::kENOTSUPP;
  if (data + new_len > f->end) return -ENOMEM;
  if (new_len > s->len) std::memset(At(data + s->len), 0, new_len - s->len);
  SetPacket(s, data, new_len);
  if (s->gso_size != 0) {
    s->gso_size = 0;
    s->gso_segs = 0;
  }
  return 0;
}

// bpf_skb_change_head(): `head_room` zeroed bytes in front of the packet,
// which become the new MAC header (the network header stays where it
// was); the new length no longer than BPF_SKB_MAX_LEN unless GSO, nor
// wrapping; flags must be 0.
long bpfemu_skb_change_head(void* ctx, __u32 head_room, __u64 flags) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  const uint32_t new_len = s->len + head_room;
  if (flags != 0 ||
      (s->gso_size == 0 && new_len > bpfemu::native::kSkbMaxLen) ||
      new_len < s->len) {
    return -EINVAL;
  }
  // skb_cow(): the kernel reallocates; bpfemu's frame holds any packet of
  // BPF_SKB_MAX_LEN, past which (GSO only) it reports the failed
  // allocation.
  if (uint64_t{s->data} < f->head + head_room) return -ENOMEM;
  const uint64_t data = uint64_t{s->data} - head_room;
  std::memset(At(data), 0, head_room);
  SetPacket(s, data, new_len);
  f->mac = data;
  return 0;
}

// bpf_skb_change_proto(): IPv4 <-> IPv6 only (else -ENOTSUPP), flags 0:
// 20 zeroed bytes after the MAC header for IPv6, or the 20 bytes there
// removed for IPv4 (the program writes the new header); the hash is
// cleared.
long bpfemu_skb_change_proto(void* ctx, __be16 proto, __u64 flags) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  if (flags != 0) return -EINVAL;
  constexpr uint32_t kDiff = 40 - 20;  // ipv6hdr less iphdr
  const auto off = static_cast<uint32_t>(f->network - f->mac);
  long err;
  uint16_t to;
  if (s->protocol == htons(ETH_P_IP) && proto == htons(ETH_P_IPV6)) {
    err = NetHdrPush(f, s, off, kDiff);
    to = ETH_P_IPV6;
  } else if (s->protocol == htons(ETH_P_IPV6) && proto == htons(ETH_P_IP)) {
    err = NetHdrPop(f, s, off, kDiff);
    to = ETH_P_IP;
  } else {
    return -bpfemu::kENOTSUPP;
  }
  if (err != 0) return err;
  s->protocol = htons(to);
  ClearHash(f, s);
  return 0;
}

// bpf_skb_adjust_room(): `len_diff` bytes (at most 0xfff either way, else
// -EFAULT) added or removed after the MAC header (BPF_ADJ_ROOM_MAC) or
// after the IP header (BPF_ADJ_ROOM_NET), IPv4 / IPv6 packets only
// (-ENOTSUPP). Growth keeps the packet within BPF_SKB_MAX_LEN; shrinking
// leaves at least an IP header (of the decapsulated type with
// BPF_F_ADJ_ROOM_DECAP_L3_*) after the network header (-ENOTSUPP). The
// encapsulation flags mark the packet encapsulated (a second time:
// -EALREADY), move the network header to the new outer header and, for
// GRE / UDP, set the transport header after it; ENCAP_L3 of the other
// family and DECAP_L3 switch skb->protocol.
namespace {

constexpr uint8_t kChecksumNone = 0, kChecksumUnnecessary = 1,
                  kChecksumComplete = 2;
constexpr uint8_t kSkbMaxCsumLevel = 3;  // SKB_MAX_CSUM_LEVEL

// __skb_reset_checksum_unnecessary() (include/linux/skbuff.h).
void ResetChecksumUnnecessary(SkbFrame* f) {
  if (f != nullptr && f->ip_summed == kChecksumUnnecessary) {
    f->ip_summed = kChecksumNone;
    f->csum_level = 0;
  }
}

long AdjustRoom(void* ctx, __s32 len_diff, __u32 mode, __u64 flags) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  constexpr uint64_t kFixedGso = 1ULL << 0, kEncapV4 = 1ULL << 1,
                     kEncapV6 = 1ULL << 2, kGre = 1ULL << 3, kUdp = 1ULL << 4,
                     kNoCsumReset = 1ULL << 5, kL2Eth = 1ULL << 6,
                     kDecapV4 = 1ULL << 7, kDecapV6 = 1ULL << 8,
                     kL2Len = 0xffULL << 56;
  const uint64_t decap_mask =
      bpfemu::AdjustRoomHasDecapFlags(bpfemu::TargetKernel())
          ? kDecapV4 | kDecapV6
          : 0;
  const uint64_t known = kFixedGso | kEncapV4 | kEncapV6 | kGre | kUdp |
                         kNoCsumReset | kL2Eth | kL2Len | decap_mask;
  const uint32_t diff = len_diff < 0 ? 0u - static_cast<uint32_t>(len_diff)
                                     : static_cast<uint32_t>(len_diff);
  const bool shrink = len_diff < 0;
  if (flags & ~known) return -EINVAL;
  if (diff > 0xfff) return -EFAULT;
  if (s->protocol != htons(ETH_P_IP) && s->protocol != htons(ETH_P_IPV6)) {
    return -bpfemu::kENOTSUPP;
  }
  uint32_t len_min = NetBaseLen(s);
  auto off = static_cast<uint32_t>(f->network - f->mac);
  if (mode == BPF_ADJ_ROOM_NET) {
    off += NetBaseLen(s);
  } else if (mode != BPF_ADJ_ROOM_MAC) {
    return -bpfemu::kENOTSUPP;
  }
  if (flags & decap_mask) {
    if (!shrink) return -EINVAL;
    switch (flags & decap_mask) {
      case kDecapV4:
        len_min = 20;
        break;
      case kDecapV6:
        len_min = 40;
        break;
      default:
        return -EINVAL;
    }
  }
  const auto len_cur =
      static_cast<uint32_t>(uint64_t{s->len} + s->data - f->network);
  if ((shrink && (diff >= len_cur || len_cur - diff < len_min)) ||
      (!shrink && uint64_t{s->len} + diff > bpfemu::native::kSkbMaxLen &&
       s->gso_size == 0)) {
    return -bpfemu::kENOTSUPP;
  }
  if (shrink) {
    // bpf_skb_net_shrink().
    if (flags & ~(kFixedGso | decap_mask | kNoCsumReset)) return -EINVAL;
    if (GsoNotTcp(s)) return -bpfemu::kENOTSUPP;
    if (long err = NetHdrPop(f, s, off, diff); err != 0) return err;
    if (s->protocol == htons(ETH_P_IP) && (flags & kDecapV6)) {
      s->protocol = htons(ETH_P_IPV6);
    } else if (s->protocol == htons(ETH_P_IPV6) && (flags & kDecapV4)) {
      s->protocol = htons(ETH_P_IP);
    }
    return 0;
  }
  // bpf_skb_net_grow().
  const auto inner_mac_len = static_cast<uint8_t>(flags >> 56);
  const bool encap = flags & (kEncapV4 | kEncapV6);
  if (GsoNotTcp(s)) return -bpfemu::kENOTSUPP;
  uint32_t mac_len = 0;
  if (encap) {
    if ((flags & kEncapV4) && (flags & kEncapV6)) return -EINVAL;
    if ((flags & kGre) && (flags & kUdp)) return -EINVAL;
    if ((flags & kL2Eth) && inner_mac_len < ETH_HLEN) return -EINVAL;
    if (f->encapsulation) return -EALREADY;
    mac_len = static_cast<uint32_t>(f->network - f->mac);
    if (inner_mac_len > diff) return -EINVAL;
  }
  if (long err = NetHdrPush(f, s, off, diff); err != 0) return err;
  if (encap) {
    f->encapsulation = true;
    f->network = uint64_t{s->data} + mac_len;
    if (flags & (kGre | kUdp)) {
      f->transport = f->network + ((flags & kEncapV6) ? 40 : 20);
    }
    if (s->protocol == htons(ETH_P_IP) && (flags & kEncapV6)) {
      s->protocol = htons(ETH_P_IPV6);
    } else if (s->protocol == htons(ETH_P_IPV6) && (flags & kEncapV4)) {
      s->protocol = htons(ETH_P_IP);
    }
  }
  return 0;
}
}  // namespace

long bpfemu_skb_adjust_room(void* ctx, __s32 len_diff, __u32 mode,
                            __u64 flags) {
  const long ret = AdjustRoom(ctx, len_diff, mode, flags);
  // Without BPF_F_ADJ_ROOM_NO_CSUM_RESET a successful adjustment forgets
  // a CHECKSUM_UNNECESSARY verdict (__skb_reset_checksum_unnecessary).
  if (ret == 0 && !(flags & BPF_F_ADJ_ROOM_NO_CSUM_RESET)) {
    ResetChecksumUnnecessary(bpfemu::native::skb_frame);
  }
  return ret;
}

// bpf_skb_pull_data(): skb_ensure_writable() of `len` bytes (the whole
// linear part for 0); the test run's skb is linear and private, so only a
// length past its end fails, as the failed pull (-ENOMEM).
long bpfemu_skb_pull_data(void* ctx, __u32 len) {
  if (bpfemu::native::skb_frame == nullptr) return -EINVAL;
  const struct __sk_buff* s = AsSkb(ctx);
  const uint32_t want = len != 0 ? len : s->len;
  return want > s->len ? -ENOMEM : 0;
}

// bpf_skb_change_type(): between the host, broadcast, multicast and
// other-host types only (skb_pkt_type_ok), from and to.
long bpfemu_skb_change_type(void* ctx, __u32 type) {
  struct __sk_buff* s = AsSkb(ctx);
  if (s->pkt_type > PACKET_OTHERHOST || type > PACKET_OTHERHOST) {
    return -EINVAL;
  }
  s->pkt_type = type;
  return 0;
}

// bpf_set_hash(): the hash as a software L4 hash (__skb_set_sw_hash),
// which bpf_get_hash_recalc then returns.
long bpfemu_set_hash(void* ctx, __u32 hash) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  AsSkb(ctx)->hash = hash;
  f->sw_hash = true;
  f->l4_hash = true;
  return 0;
}

// bpf_lwt_push_encap() (net/core/filter.c bpf_lwt_in_push_encap /
// bpf_lwt_xmit_push_encap over net/core/lwt_bpf.c bpf_lwt_push_ip_encap):
// BPF_LWT_ENCAP_IP, and from LWT_IN the SEG6 types where the modelled
// kernel has CONFIG_IPV6_SEG6_BPF (emu/version.h HasSeg6Bpf;
// native/seg6local.cc); without it they are -EINVAL as any other type. The
// header is 20 to LWT_BPF_MAX_HEADROOM (256) bytes: IPv4 at least its ihl
// words, IPv6 at least 40 bytes, either with room for a UDP header after it
// when that is the next protocol; anything else -EINVAL. Then the packet is
// marked encapsulated, the header pushed in front of it as the new network
// header (the transport header after it for UDP), an IPv4 header with a zero
// checksum gets its checksum, skb->protocol follows the version and the hash is
// cleared. A GSO packet then needs a TCP gso_type, which a test run's never
// has: -ENOTSUPP, the push done. The egress path reserves room for the route's
// device (LL_RESERVED_SPACE); a test run's skb has no route, where the kernel
// dereferences a NULL dst, so bpfemu takes lo's 16 bytes.
namespace {

constexpr uint32_t kLwtMaxHeadroom = 256;  // LWT_BPF_MAX_HEADROOM
constexpr uint32_t kLoReservedSpace = 16;  // LL_RESERVED_SPACE(lo)

// ip_fast_csum() as x86-64's (arch/x86/include/asm/checksum_64.h): the
// folded one's complement sum of `words` 32-bit words; for fewer than 5
// words its loop is skipped and the first word's low half comes back
// unfolded and not complemented (a header with ihl < 5).
uint16_t IpFastCsum(const uint8_t* p, uint32_t words) {
  if (words <= 4) {
    uint16_t first;
    std::memcpy(&first, p, 2);
    return first;
  }
  return bpfemu::native::CsumFold(
      bpfemu::native::CsumPartial(p, size_t{words} * 4, 0));
}

long PushIpEncap(void* ctx, const uint8_t* hdr, uint32_t len, bool ingress) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  if (len < 20 || len > kLwtMaxHeadroom) return -EINVAL;
  const uint8_t version = hdr[0] >> 4;
  bool ipv4;
  uint32_t ip_len;
  bool udp;
  if (version == 4) {
    ipv4 = true;
    ip_len = (hdr[0] & 0xfu) * 4u;
    if (len < ip_len) return -EINVAL;
    udp = hdr[9] == IPPROTO_UDP;
  } else if (version == 6) {
    ipv4 = false;
    ip_len = 40;
    if (len < ip_len) return -EINVAL;
    udp = hdr[6] == IPPROTO_UDP;
  } else {
    return -EINVAL;
  }
  if (udp && len < ip_len + 8) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  // skb_cow_head(): the kernel reallocates a head too small; bpfemu's
  // frame has BPF_SKB_MAX_LEN of headroom, past which it reports the
  // failed allocation.
  const uint32_t room = len + (ingress ? f->mac_len : kLoReservedSpace);
  if (uint64_t{s->data} < f->head + room) return -ENOMEM;
  f->encapsulation = true;
  const uint64_t data = uint64_t{s->data} - len;
  std::memcpy(At(data), hdr, len);
  if (ingress && f->ip_summed == kChecksumComplete) {
    f->csum = bpfemu::native::CsumAdd(  // skb_postpush_rcsum
        f->csum, bpfemu::native::CsumPartial(hdr, len, 0));
  }
  SetPacket(s, data, s->len + len);
  f->network = data;
  if (udp) f->transport = data + ip_len;
  ClearHash(f, s);
  if (ipv4) {
    s->protocol = htons(ETH_P_IP);
    uint8_t* iph = At(data);
    if (iph[10] == 0 && iph[11] == 0) {
      const uint16_t sum = IpFastCsum(iph, iph[0] & 0xfu);
      std::memcpy(iph + 10, &sum, 2);
    }
  } else {
    s->protocol = htons(ETH_P_IPV6);
  }
  if (s->gso_size != 0) return -bpfemu::kENOTSUPP;  // handle_gso_encap
  return 0;
}

}  // namespace

long bpfemu_lwt_push_encap(void* ctx, __u32 type, void* hdr, __u32 len) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  if ((type == BPF_LWT_ENCAP_SEG6 || type == BPF_LWT_ENCAP_SEG6_INLINE) &&
      f->prog_type == BPF_PROG_TYPE_LWT_IN &&
      bpfemu::HasSeg6Bpf(bpfemu::TargetKernel())) {
    return bpfemu::native::Seg6PushEncap(ctx, type, hdr, len);
  }
  if (type != BPF_LWT_ENCAP_IP) return -EINVAL;
  if (f->prog_type == BPF_PROG_TYPE_LWT_IN) {
    return PushIpEncap(ctx, static_cast<const uint8_t*>(hdr), len, true);
  }
  if (f->prog_type == BPF_PROG_TYPE_LWT_XMIT) {
    return PushIpEncap(ctx, static_cast<const uint8_t*>(hdr), len, false);
  }
  return -EINVAL;  // offered to no other program type
}

// Tunnel metadata (net/core/filter.c bpf_skb_set_tunnel_key /
// _get_tunnel_key / _set_tunnel_opt / _get_tunnel_opt,
// include/net/ip_tunnels.h) on the run's skb: set attaches the metadata
// dst, get reads whatever dst the skb holds (a test run's skb has none
// until set; measured on 6.18 by tests/examples/tunnel_compare_test.cc).
namespace {

// struct bpf_tunnel_key: 44 bytes; the sizes of its older layouts.
constexpr uint32_t kTunnelKeySize = sizeof(struct bpf_tunnel_key);
constexpr uint32_t kTunnelKeyNoLocal = 28;  // up to local_ipv6
constexpr uint32_t kTunnelKeyNoLabel = 24;  // up to tunnel_label
constexpr uint32_t kTunnelKeyNoExt = 22;    // up to tunnel_ext
constexpr uint32_t kTunnelKeyIpv4Only = 8;  // up to remote_ipv6[1]
constexpr uint64_t kTunInfoIpv6 = 1;        // BPF_F_TUNINFO_IPV6
constexpr uint64_t kZeroCsumTx = 1 << 1;    // BPF_F_ZERO_CSUM_TX
constexpr uint64_t kDontFragment = 1 << 2;  // BPF_F_DONT_FRAGMENT
constexpr uint64_t kSeqNumber = 1 << 3;     // BPF_F_SEQ_NUMBER
constexpr uint64_t kNoTunnelKey = 1 << 4;   // BPF_F_NO_TUNNEL_KEY (set)
constexpr uint64_t kTunInfoFlags = 1 << 4;  // BPF_F_TUNINFO_FLAGS (get)
// IP_TUNNEL_*_BIT (include/uapi/linux/if_tunnel.h).
constexpr uint32_t kBitCsum = 0, kBitKey = 2, kBitSeq = 3, kBitDf = 8,
                   kBitNoCache = 13;
// ip_tunnel_set_options_present: GENEVE, VXLAN, ERSPAN, GTP (and PFCP,
// bit 16, past what tunnel_flags shows).
constexpr uint32_t kOptionsPresent =
    (1u << 11) | (1u << 12) | (1u << 14) | (1u << 15) | (1u << 16);
constexpr uint32_t kFlowLabelMask = 0x000fffff;  // IPV6_FLOWLABEL_MASK
constexpr uint32_t kTunnelOptsMax = 255;         // IP_TUNNEL_OPTS_MAX

bool CompatKeySize(uint32_t size) {
  return size == kTunnelKeyNoLocal || size == kTunnelKeyNoLabel ||
         size == kTunnelKeyNoExt || size == kTunnelKeyIpv4Only;
}

}  // namespace

long bpfemu_skb_set_tunnel_key(void* /*skb*/, const void* from, __u32 size,
                               __u64 flags) {
  SkbFrame* f = bpfemu::native::skb_frame;
  uint64_t allowed = kTunInfoIpv6 | kZeroCsumTx | kDontFragment | kSeqNumber;
  if (bpfemu::SetTunnelKeyHasNoKeyFlag(bpfemu::TargetKernel())) {
    allowed |= kNoTunnelKey;
  }
  if (flags & ~allowed) return -EINVAL;
  if (size != kTunnelKeySize && !CompatKeySize(size)) return -EINVAL;
  // An older layout: its bytes, the rest zero.
  struct bpf_tunnel_key key = {};
  std::memcpy(&key, from, size);
  if ((!(flags & kTunInfoIpv6) && key.tunnel_label != 0) ||
      key.tunnel_ext != 0) {
    return -EINVAL;
  }
  if (f == nullptr) return -EINVAL;
  SkbFrame::Tunnel t;
  t.present = true;
  t.ipv6 = (flags & kTunInfoIpv6) != 0;
  t.flags = 1u << kBitNoCache;
  if (flags & kDontFragment) t.flags |= 1u << kBitDf;
  if (!(flags & kZeroCsumTx)) t.flags |= 1u << kBitCsum;
  if (flags & kSeqNumber) t.flags |= 1u << kBitSeq;
  if (!(flags & kNoTunnelKey)) t.flags |= 1u << kBitKey;
  t.id = key.tunnel_id;
  t.tos = key.tunnel_tos;
  t.ttl = key.tunnel_ttl;
  if (t.ipv6) {
    std::memcpy(t.dst, key.remote_ipv6, sizeof(t.dst));
    std::memcpy(t.src, key.local_ipv6, sizeof(t.src));
    t.label = key.tunnel_label & kFlowLabelMask;
  } else {
    t.dst[0] = key.remote_ipv4;
    t.src[0] = key.local_ipv4;
  }
  f->tunnel = t;
  return 0;
}

long bpfemu_skb_get_tunnel_key(void* /*skb*/, void* to, __u32 size,
                               __u64 flags) {
  SkbFrame* f = bpfemu::native::skb_frame;
  const SkbFrame::Tunnel* t =
      f != nullptr && f->tunnel.present ? &f->tunnel : nullptr;
  long err = 0;
  if (t == nullptr || (flags & ~(kTunInfoIpv6 | kTunInfoFlags))) {
    err = -EINVAL;
  } else if (t->ipv6 != ((flags & kTunInfoIpv6) != 0)) {
    err = -EPROTO;
  } else if (size != kTunnelKeySize &&
             (!CompatKeySize(size) ||
              (size == kTunnelKeyIpv4Only && t->ipv6))) {
    err = -EINVAL;
  }
  if (err != 0) {
    std::memset(to, 0, size);
    return err;
  }
  // Filled in full, then as many bytes as the layout has. Bytes of `to`
  // the kernel does not write stay as they were.
  struct bpf_tunnel_key key;
  std::memcpy(&key, to, std::min<uint32_t>(size, kTunnelKeySize));
  key.tunnel_id = t->id;
  key.tunnel_tos = t->tos;
  key.tunnel_ttl = t->ttl;
  if (flags & kTunInfoFlags) {
    key.tunnel_flags = htons(static_cast<uint16_t>(t->flags & 0xffff));
  } else {
    key.tunnel_ext = 0;
  }
  if (t->ipv6) {
    std::memcpy(key.remote_ipv6, t->src, sizeof(key.remote_ipv6));
    std::memcpy(key.local_ipv6, t->dst, sizeof(key.local_ipv6));
    key.tunnel_label = t->label;
  } else {
    key.remote_ipv4 = t->src[0];
    std::memset(&key.remote_ipv6[1], 0, 3 * sizeof(uint32_t));
    key.local_ipv4 = t->dst[0];
    std::memset(&key.local_ipv6[1], 0, 3 * sizeof(uint32_t));
    key.tunnel_label = 0;
  }
  std::memcpy(to, &key, size);
  return 0;
}

long bpfemu_skb_set_tunnel_opt(void* /*skb*/, const void* from, __u32 size) {
  SkbFrame* f = bpfemu::native::skb_frame;
  // Only on the metadata dst set_tunnel_key attached (this CPU's md_dst).
  if (f == nullptr || !f->tunnel.present || (size & 3) != 0) return -EINVAL;
  if (size > kTunnelOptsMax) return -ENOMEM;
  f->tunnel.options_len = static_cast<uint8_t>(size);
  if (size > 0) {
    std::memcpy(f->tunnel.options, from, size);
    f->tunnel.flags |= kOptionsPresent;
  }
  return 0;
}

long bpfemu_skb_get_tunnel_opt(void* /*skb*/, void* to, __u32 size) {
  SkbFrame* f = bpfemu::native::skb_frame;
  long err = 0;
  if (f == nullptr || !f->tunnel.present ||
      !(f->tunnel.flags & kOptionsPresent)) {
    err = -ENOENT;
  } else if (size < f->tunnel.options_len) {
    err = -ENOMEM;
  }
  if (err != 0) {
    std::memset(to, 0, size);
    return err;
  }
  const uint32_t n = f->tunnel.options_len;
  std::memcpy(to, f->tunnel.options, n);
  std::memset(static_cast<uint8_t*>(to) + n, 0, size - n);
  return n;
}

// bpf_set_hash_invalid(): skb_clear_hash().
void bpfemu_set_hash_invalid(void* ctx) {
  AsSkb(ctx)->hash = 0;
  if (SkbFrame* f = bpfemu::native::skb_frame) {
    f->sw_hash = false;
    f->l4_hash = false;
  }
}

// bpf_get_hash_recalc(): skb_get_hash(): the hash set (or computed) so
// far, else a flow hash computed now (FlowHash) and kept as a software
// hash.
__u32 bpfemu_get_hash_recalc(void* ctx) {
  struct __sk_buff* s = AsSkb(ctx);
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return s->hash;
  if (!f->l4_hash && !f->sw_hash) {
    bool l4;
    s->hash = FlowHash(s, f, &l4);
    f->sw_hash = true;
    f->l4_hash = l4;
  }
  return s->hash;
}

// bpf_csum_update(): folds `csum` into a CHECKSUM_COMPLETE skb's csum and
// returns it; any other checksum state (the test run's skb is
// CHECKSUM_NONE) answers -ENOTSUPP.
__s64 bpfemu_csum_update(void* /*skb*/, __wsum csum) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr || f->ip_summed != kChecksumComplete) {
    return -bpfemu::kENOTSUPP;
  }
  f->csum = bpfemu::native::CsumAdd(f->csum, csum);
  return f->csum;
}

// bpf_csum_level(): BPF_CSUM_LEVEL_INC / _DEC / _RESET as
// __skb_incr/decr/reset_checksum_unnecessary, _QUERY the level of a
// CHECKSUM_UNNECESSARY skb (else -EACCES); other levels -EINVAL.
long bpfemu_csum_level(void* /*skb*/, __u64 level) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  switch (level) {
    case BPF_CSUM_LEVEL_INC:
      if (f->ip_summed == kChecksumUnnecessary) {
        if (f->csum_level < kSkbMaxCsumLevel) ++f->csum_level;
      } else if (f->ip_summed == kChecksumNone) {
        f->ip_summed = kChecksumUnnecessary;
        f->csum_level = 0;
      }
      return 0;
    case BPF_CSUM_LEVEL_DEC:
      if (f->ip_summed == kChecksumUnnecessary) {
        if (f->csum_level == 0) {
          f->ip_summed = kChecksumNone;
        } else {
          --f->csum_level;
        }
      }
      return 0;
    case BPF_CSUM_LEVEL_RESET:
      ResetChecksumUnnecessary(f);
      return 0;
    case BPF_CSUM_LEVEL_QUERY:
      return f->ip_summed == kChecksumUnnecessary ? f->csum_level : -EACCES;
    default:
      return -EINVAL;
  }
}

// bpf_skb_ecn_set_ce(): INET_ECN_set_ce() on the IPv4 or IPv6 header at the
// network header, the protocol as skb_protocol(skb, true) finds it (802.1Q
// / 802.1ad tags in the packet skipped, at most VLAN_MAX_DEPTH). 1 when the
// packet is (now) marked Congestion Experienced, 0 for a Not-ECT packet,
// another protocol or a header past the packet's end. IPv4's header
// checksum is updated incrementally; IPv6 has none.
long bpfemu_skb_ecn_set_ce(void* ctx) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return 0;
  struct __sk_buff* s = AsSkb(ctx);
  const uint64_t data = s->data;
  const uint64_t tail = data + s->len;
  __be16 proto = static_cast<__be16>(s->protocol);
  if (EthTypeVlan(proto)) {
    // __vlan_get_protocol() with mac_len 0: the first tag's header right
    // after the Ethernet header, relative to skb->data.
    uint64_t at = ETH_HLEN;
    int depth = 8;  // VLAN_MAX_DEPTH
    do {
      if (data + at + kVlanHlen > tail || --depth == 0) return 0;
      std::memcpy(&proto, At(data + at + 2), sizeof(proto));
      at += kVlanHlen;
    } while (EthTypeVlan(proto));
  }
  uint32_t hlen;
  if (proto == htons(ETH_P_IP)) {
    hlen = 20;
  } else if (proto == htons(ETH_P_IPV6)) {
    hlen = 40;
  } else {
    return 0;
  }
  if (s->len < hlen || f->network + hlen > tail) return 0;
  uint8_t* ip = At(f->network);
  if (hlen == 20) {
    // IP_ECN_set_ce(): (tos + 1) & 3 is 1 for Not-ECT, 0 for CE, 2 / 3 for
    // ECT(1) / ECT(0), whose checksum grows by htons(0xfffb + ecn).
    const uint32_t ecn = (ip[1] + 1u) & 3u;
    if (!(ecn & 2)) return ecn == 0;
    uint16_t check;
    std::memcpy(&check, ip + 10, sizeof(check));
    const auto add = static_cast<uint16_t>(htons(0xfffb) + htons(ecn));
    check = bpfemu::native::Csum16Add(check, add);
    std::memcpy(ip + 10, &check, sizeof(check));
    ip[1] |= 3;
    return 1;
  }
  // IP6_ECN_set_ce(): the traffic class's ECN bits, nibbles 3-4 of the
  // header's first word.
  const uint8_t tclass =
      static_cast<uint8_t>(((ip[0] & 0x0f) << 4) | (ip[1] >> 4));
  if ((tclass & 3) == 0) return 0;
  ip[1] |= 0x30;
  return 1;
}

// bpf_skb_set_tstamp(): skb->tstamp and its clock for an IPv4 / IPv6 skb
// (else -EOPNOTSUPP). From 6.11 (BPF_SKB_CLOCK_*): REALTIME takes any
// value, MONOTONIC and TAI a non-zero one; up to 6.10 (BPF_SKB_TSTAMP_*):
// UNSPEC only 0 (which clears the time), DELIVERY_MONO a non-zero one.
// The clock shows in __sk_buff's tstamp_type.
long bpfemu_skb_set_tstamp(void* ctx, __u64 tstamp, __u32 tstamp_type) {
  struct __sk_buff* s = AsSkb(ctx);
  if (s->protocol != htons(ETH_P_IP) && s->protocol != htons(ETH_P_IPV6)) {
    return -EOPNOTSUPP;
  }
  const bool clocks = bpfemu::SetTstampHasClockTypes(bpfemu::TargetKernel());
  const uint32_t last = clocks ? 2 : 1;  // TAI : DELIVERY_MONO
  if (tstamp_type > last) return -EINVAL;
  if (tstamp_type == 0 && !clocks && tstamp != 0) return -EINVAL;
  if (tstamp_type != 0 && tstamp == 0) return -EINVAL;
  s->tstamp = tstamp;
  s->tstamp_type = static_cast<__u8>(tstamp_type);
  return 0;
}

// bpf_skb_load_bytes_relative(): `len` bytes from `offset` past the mac
// (BPF_HDR_START_MAC) or network (BPF_HDR_START_NET) header, within the
// packet; anything else (offset above 0xffff, another start, a range past
// the end) zeroes `to` and answers -EFAULT.
long bpfemu_skb_load_bytes_relative(const void* ctx, __u32 offset, void* to,
                                    __u32 len, __u32 start_header) {
  const SkbFrame* f = bpfemu::native::skb_frame;
  const auto* s = static_cast<const struct __sk_buff*>(ctx);
  uint64_t start = 0;
  if (f != nullptr && offset <= 0xffff) {
    if (start_header == BPF_HDR_START_MAC) start = f->mac;
    if (start_header == BPF_HDR_START_NET) start = f->network;
  }
  if (start == 0 || start + offset + len > uint64_t{s->data} + s->len) {
    std::memset(to, 0, len);
    return -EFAULT;
  }
  std::memcpy(to, At(start + offset), len);
  return 0;
}

// bpf_get_socket_cookie() on an skb: the cookie of skb->sk (the test run's
// socket: RunSocketCookie), 0 without one.
__u64 bpfemu_get_socket_cookie(void* ctx) {
  const struct __sk_buff* s = AsSkb(ctx);
  return s->sk == nullptr ? 0 : bpfemu::native::RunSocketCookie(s->sk);
}

// bpf_get_socket_uid(): the owner uid of skb->sk; the test run's socket,
// made by sk_alloc + sock_init_data(NULL, sk), belongs to uid 0, and an skb
// without a socket answers overflowuid (65534).
__u32 bpfemu_get_socket_uid(void* ctx) {
  return AsSkb(ctx)->sk == nullptr ? 65534u : 0u;
}

// bpf_skb_cgroup_classid(): the net_cls classid recorded in skb->sk when
// the socket was made; the test run's socket records none (0), nor does an
// skb without a socket.
__u32 bpfemu_skb_cgroup_classid(void* /*ctx*/) { return 0; }

// bpf_get_cgroup_classid(): task_get_classid(): outside softirq (a test
// run) the current task's net_cls classid (CurrentNetClsClassid).
__u32 bpfemu_get_cgroup_classid(void* /*ctx*/) {
  return bpfemu::native::CurrentNetClsClassid();
}

// bpf_get_route_realm(): dst_tclassid() of the skb's route; the test run's
// skb has none (skb_dst is NULL), which answers 0.
__u32 bpfemu_get_route_realm(void* /*ctx*/) { return 0; }

// bpf_skb_get_xfrm_state(): the IPsec state at `index` of the skb's
// security path; a test run's skb has none, so every call zeroes `to` and
// answers -EINVAL, as the kernel's does for a missing path, an index past
// it, non-zero flags or a size other than struct bpf_xfrm_state's.
long bpfemu_skb_get_xfrm_state(void* /*skb*/, __u32 /*index*/, void* to,
                               __u32 size, __u64 /*flags*/) {
  std::memset(to, 0, size);
  return -EINVAL;
}

// bpf_sk_assign(): a NULL socket or non-zero flags -EINVAL; otherwise only
// an skb at tc ingress may take the socket, and bpfemu's skbs, like the
// kernel's test runs, are not there (skb_at_tc_ingress false): -EOPNOTSUPP.
long bpfemu_sk_assign(void* /*skb*/, void* sk, __u64 flags) {
  if (sk == nullptr || flags != 0) return -EINVAL;
  return -EOPNOTSUPP;
}

// bpf_get_netns_cookie() from tc (6.13 on): the cookie of the skb's
// device's network namespace, the current one for a test run
// (SO_NETNS_COOKIE of a socket made now); with a NULL context, init_net's,
// which an unprivileged process cannot read from another namespace: bpfemu
// answers the current namespace's there too (docs/native.md).
__u64 bpfemu_get_netns_cookie(void* /*ctx*/) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  constexpr int kSoNetnsCookie = 71;  // SO_NETNS_COOKIE (5.14)
  if (getsockopt(fd, SOL_SOCKET, kSoNetnsCookie, &cookie, &len) != 0) {
    cookie = 0;
  }
  close(fd);
  return cookie;
}

// bpf_skb_vlan_push(): the tag goes outside the packet (vlan_present); a
// tag already there first moves into the packet after the MAC addresses
// (__vlan_insert_tag), becoming skb->protocol, with the network header
// then at the inserted tag. A protocol other than 802.1Q / 802.1ad is
// taken as 802.1Q.
long bpfemu_skb_vlan_push(void* ctx, __be16 vlan_proto, __u16 vlan_tci) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  if (!EthTypeVlan(vlan_proto)) vlan_proto = htons(kEthP8021Q);
  if (s->vlan_present) {
    if (s->data != f->mac) return -EINVAL;
    if (s->len < ETH_HLEN) return -EINVAL;  // pskb_may_pull(ETH_HLEN)
    // skb_cow_head(): as bpf_skb_change_head's reallocation.
    if (uint64_t{s->data} < f->head + kVlanHlen) return -ENOMEM;
    const uint64_t data = uint64_t{s->data} - kVlanHlen;
    uint8_t* d = At(data);
    std::memmove(d, d + kVlanHlen, 2 * ETH_ALEN);
    const uint16_t proto = static_cast<uint16_t>(s->vlan_proto);
    const uint16_t tci = htons(static_cast<uint16_t>(s->vlan_tci));
    std::memcpy(d + 2 * ETH_ALEN, &proto, 2);
    std::memcpy(d + 2 * ETH_ALEN + 2, &tci, 2);
    SetPacket(s, data, s->len + kVlanHlen);
    f->mac -= kVlanHlen;
    f->network -= kVlanHlen;
    s->protocol = s->vlan_proto;
  }
  PutAccelTag(s, vlan_proto, vlan_tci);
  return 0;
}

// bpf_skb_vlan_pop(): the tag outside the packet goes, else the packet's
// own outer tag (none: nothing to do); then a further tag in the packet
// moves outside it (skb_vlan_pop).
long bpfemu_skb_vlan_pop(void* ctx) {
  SkbFrame* f = bpfemu::native::skb_frame;
  if (f == nullptr) return -EINVAL;
  struct __sk_buff* s = AsSkb(ctx);
  uint16_t tci;
  if (s->vlan_present) {
    s->vlan_present = 0;
    s->vlan_proto = 0;
    s->vlan_tci = 0;
  } else {
    if (!EthTypeVlan(s->protocol)) return 0;
    if (long err = PopPacketTag(f, s, &tci); err != 0) return err;
  }
  if (!EthTypeVlan(s->protocol)) return 0;
  const uint32_t proto = s->protocol;
  if (long err = PopPacketTag(f, s, &tci); err != 0) return err;
  PutAccelTag(s, proto, tci);
  return 0;
}

}  // extern "C"

namespace {
// The run sockets alive on this thread (a test run makes one at a time;
// nested runs from BPF_PROG_RUN in a SYSCALL program may make more).
thread_local std::vector<const void*> t_run_sockets;
}  // namespace

bool bpfemu::native::IsRunSocket(const void* sk) {
  return sk != nullptr && std::find(t_run_sockets.begin(), t_run_sockets.end(),
                                    sk) != t_run_sockets.end();
}

uint64_t bpfemu::native::RunSocketCookie(const void* sk) {
  return (uint64_t{1} << 62) + static_cast<const NativeSock*>(sk)->owner.a;
}

uint32_t bpfemu::native::CurrentNetClsClassid() {
  // The net_cls hierarchy's mount point: a cgroup (v1) mount whose super
  // options name net_cls.
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line, root;
  while (root.empty() && std::getline(mounts, line)) {
    const std::vector<std::string> f = absl::StrSplit(line, ' ');
    const auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || f.end() - dash < 4 || dash[1] != "cgroup") continue;
    for (absl::string_view opt : absl::StrSplit(dash[3], ',')) {
      if (opt == "net_cls") root = f[4];
    }
  }
  if (root.empty()) return 0;
  // The task's place in it: "ID:CONTROLLERS:PATH" naming net_cls.
  std::ifstream cgroups("/proc/self/cgroup");
  std::string path = "/";
  while (std::getline(cgroups, line)) {
    const std::vector<std::string> f =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    for (absl::string_view c : absl::StrSplit(f[1], ',')) {
      if (c == "net_cls") path = f[2];
    }
  }
  std::ifstream classid(root + path + "/net_cls.classid");
  uint32_t id = 0;
  return classid >> id ? id : 0;
}

void bpfemu::native::RunSocket::SetAddresses(int family, const void* saddr,
                                             const void* daddr) {
  struct bpf_sock& s = static_cast<NativeSock*>(sk_)->sock;
  s.family = static_cast<__u32>(family);
  if (family == AF_INET) {
    std::memcpy(&s.src_ip4, saddr, 4);
    std::memcpy(&s.dst_ip4, daddr, 4);
  } else if (family == AF_INET6) {
    std::memcpy(s.src_ip6, saddr, 16);
    std::memcpy(s.dst_ip6, daddr, 16);
  }
}

bpfemu::native::RunSocket::RunSocket() {
  auto* s = new NativeSock{};
  // sk_alloc + sock_init_data(NULL, sk): no family yet, TCP_CLOSE, no
  // receive queue recorded (NO_QUEUE_MAPPING reads as -1).
  s->sock.family = AF_UNSPEC;
  s->sock.state = 7;  // TCP_CLOSE
  s->sock.rx_queue_mapping = -1;
  t_run_sockets.push_back(s);
  s->owner = bpfemu::LocalStorageMap::Owner{
      g_run_sockets.fetch_add(1, std::memory_order_relaxed) + 1, 1};
  sk_ = s;
}

bpfemu::native::RunSocket::~RunSocket() {
  auto* s = static_cast<NativeSock*>(sk_);
  std::erase(t_run_sockets, static_cast<const void*>(s));
  auto& made = t_run_sock_storage;
  for (auto it = made.begin(); it != made.end();) {
    if (it->second == s->owner) {
      (void)static_cast<bpfemu::LocalStorageMap*>(it->first.get())
          ->DeleteByOwner(s->owner);
      it = made.erase(it);
    } else {
      ++it;
    }
  }
  delete s;
}

// --- kfuncs ---
//
// The native build's definitions of the kfuncs a source declares
// `extern ... __ksym` (weak in the stand-in <bpf/bpf_helpers.h>): C symbols
// with the kernel's names and prototypes, each the same implementation the
// interpreter's table calls (emu/kfunc.h). No load-time check applies
// natively (program type, license): those are the interpreter's and the
// kernel's.
extern "C" {

struct bpf_iter_num;

int bpf_iter_num_new(struct bpf_iter_num* it, int start, int end) {
  return bpfemu::IterNumNew(it, start, end);
}

int* bpf_iter_num_next(struct bpf_iter_num* it) {
  return bpfemu::IterNumNext(it);
}

void bpf_iter_num_destroy(struct bpf_iter_num* it) {
  bpfemu::IterNumDestroy(it);
}

// The emulator's maps need no RCU read-side section: nothing to enter or
// leave.
void bpf_rcu_read_lock(void) {}
void bpf_rcu_read_unlock(void) {}

// kernel/bpf/helpers.c's dynptr accessors (emu/kfunc.h).
int bpf_dynptr_adjust(const struct bpf_dynptr* p, __u32 start, __u32 end) {
  return bpfemu::DynptrAdjust(const_cast<struct bpf_dynptr*>(p), start, end);
}
bool bpf_dynptr_is_null(const struct bpf_dynptr* p) {
  return bpfemu::DynptrIsNull(p);
}
bool bpf_dynptr_is_rdonly(const struct bpf_dynptr* p) {
  return bpfemu::DynptrIsRdonly(p);
}
__u32 bpf_dynptr_size(const struct bpf_dynptr* p) {
  return bpfemu::DynptrSize(p);
}
int bpf_dynptr_clone(const struct bpf_dynptr* p, struct bpf_dynptr* clone) {
  return bpfemu::DynptrClone(p, clone);
}

}  // extern "C"

namespace bpfemu::native::internal {

// bpf_dynptr_slice's XDP case (kernel/bpf/helpers.c): bpf_xdp_pointer()
// (net/core/filter.c) gives the bytes where the linear part or one
// fragment holds all of them; otherwise (spanning two, or an offset or
// length past 0xffff or the frame) bpf_xdp_copy_buf() copies what the
// frame has of them into the buffer, if there is one.
void* XdpSlice(void* ctx, uint32_t offset, void* buffer, uint32_t len) {
  auto* md = static_cast<struct xdp_md*>(ctx);
  auto* linear = reinterpret_cast<uint8_t*>(uintptr_t{md->data});
  const uint32_t linear_len = md->data_end - md->data;
  const bool bad = offset > 0xffff || len > 0xffff ||
                   uint64_t{offset} + len > XdpBuffLen(md);
  if (!bad) {
    uint8_t* addr = linear;
    uint32_t size = linear_len;
    uint32_t off = offset;
    if (off >= linear_len && xdp_frags != nullptr) {
      off -= linear_len;
      for (auto& f : *xdp_frags) {
        const auto frag_size = static_cast<uint32_t>(f.size());
        if (off < frag_size) {
          addr = f.data();
          size = frag_size;
          break;
        }
        off -= frag_size;
      }
    } else if (off >= linear_len) {
      off -= linear_len;  // no fragments: measured against the linear part
    }
    if (off + len <= size) return addr + off;
  }
  if (buffer == nullptr) return nullptr;
  auto* out = static_cast<uint8_t*>(buffer);
  uint64_t at = offset, left = len, area_start = 0;
  auto copy = [&](const uint8_t* area, uint64_t area_len) {
    if (left != 0 && at < area_start + area_len) {
      const uint64_t n = std::min(left, area_start + area_len - at);
      std::memcpy(out, area + (at - area_start), n);
      out += n;
      at += n;
      left -= n;
    }
    area_start += area_len;
  };
  copy(linear, linear_len);
  if (xdp_frags != nullptr) {
    for (const auto& f : *xdp_frags) copy(f.data(), f.size());
  }
  return buffer;
}

XdpFrameRef CurrentXdpFrame() {
  return XdpFrameRef{xdp_hard_start, xdp_hard_end, xdp_frags};
}

}  // namespace bpfemu::native::internal
