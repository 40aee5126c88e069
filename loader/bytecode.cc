// SPDX-License-Identifier: Apache-2.0
// The bytecode face of the helpers (bytecode.h): each kernel helper id maps
// to a wrapper that checks the arguments the verifier would have checked
// (map handles, key / value / buffer sizes against readable or writable
// memory) and then calls the same implementation natively built programs
// call (bpfemu/native_abi.h, native/helpers.cc). Ids, GPL-only flags and
// argument kinds follow the kernel's bpf_func_proto tables
// (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c, net/core/filter.c).

#include "loader/bytecode.h"

#include <linux/bpf.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/arena.h"
#include "emu/array_map.h"
#include "emu/bpf_iter.h"
#include "emu/cgroup.h"
#include "emu/dynptr_kern.h"
#include "emu/errno.h"
#include "emu/graph_obj.h"
#include "emu/hash_map.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/lpm_trie.h"
#include "emu/map_types.h"
#include "emu/prog.h"
#include "emu/shm.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"
#include "emu/tcp_ca.h"
#include "emu/timer.h"
#include "emu/trampoline.h"
#include "emu/version.h"
#include "emu/wq_kfuncs.h"
#include "loader/btf.h"
#include "loader/exception_cb.h"
#include "native/bound_map.h"
#include "native/btf_show.h"
#include "native/cgroup_hooks.h"
#include "native/helpers.h"
#include "native/kprobe_override.h"
#include "native/lsm_hooks.h"
#include "native/perf_event_prog.h"
#include "native/reuseport_hook.h"
#include "native/seq_helpers.h"
#include "native/sk_lookup.h"
#include "native/sk_msg.h"
#include "native/sock_helpers.h"
#include "native/sock_ops.h"
#include "native/syscall_helpers.h"
#include "native/task_model.h"

namespace bpfemu::native {

namespace {

using internal::BoundMap;
using interp::Vm;

constexpr uint8_t kRingRecord = 1;  // Vm region tag of ring reservations
constexpr uint8_t kSock = 3;        // Vm region tag of a looked-up socket

void* Ptr(uint64_t v) { return reinterpret_cast<void*>(v); }

// A map value handed to the program (a lookup's result): readable, and
// writable unless the map is BPF_F_RDONLY_PROG.
void RecordValue(Vm& vm, const Map& map, const void* v) {
  vm.AddRegion(reinterpret_cast<uint64_t>(v), map.value_size(),
               !(map.map_flags() & BPF_F_RDONLY_PROG));
}

// ARG_CONST_MAP_PTR: a map the program loaded or a helper returned.
BoundMap* MapArg(Vm& vm, uint64_t handle) {
  if (!vm.IsMapHandle(handle)) vm.Fault("helper argument is not a map");
  return internal::BoundOf(Ptr(handle));
}

void NeedReadable(Vm& vm, uint64_t addr, uint64_t size, const char* what) {
  if (!vm.Readable(addr, size)) {
    vm.Fault("helper argument %s: %llu bytes at 0x%llx are not readable", what,
             static_cast<unsigned long long>(size),
             static_cast<unsigned long long>(addr));
  }
}
void NeedWritable(Vm& vm, uint64_t addr, uint64_t size, const char* what) {
  if (!vm.Writable(addr, size)) {
    vm.Fault("helper argument %s: %llu bytes at 0x%llx are not writable", what,
             static_cast<unsigned long long>(size),
             static_cast<unsigned long long>(addr));
  }
}

uint64_t MapLookup(Vm& vm, uint64_t map, uint64_t key, uint64_t, uint64_t,
                   uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, key, b->map->key_size(), "key");
  void* v = bpfemu_map_lookup_elem(Ptr(map), Ptr(key));
  if (v == nullptr) return 0;
  if (b->holds_maps) {
    vm.AddMapHandle(reinterpret_cast<uint64_t>(v));
  } else if ((b->fast.array_values == nullptr &&
              b->fast.percpu_values == nullptr) ||
             !vm.IsLoadedMap(map)) {
    // (The program's own arrays, per-CPU or not, are areas already:
    // MapArea().)
    RecordValue(vm, *b->map, v);
  }
  return reinterpret_cast<uint64_t>(v);
}

uint64_t MapUpdate(Vm& vm, uint64_t map, uint64_t key, uint64_t value,
                   uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, key, b->map->key_size(), "key");
  NeedReadable(vm, value, b->map->value_size(), "value");
  return static_cast<uint64_t>(
      bpfemu_map_update_elem(Ptr(map), Ptr(key), Ptr(value), flags));
}

uint64_t MapDelete(Vm& vm, uint64_t map, uint64_t key, uint64_t, uint64_t,
                   uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, key, b->map->key_size(), "key");
  return static_cast<uint64_t>(bpfemu_map_delete_elem(Ptr(map), Ptr(key)));
}

uint64_t MapPush(Vm& vm, uint64_t map, uint64_t value, uint64_t flags, uint64_t,
                 uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, value, b->map->value_size(), "value");
  return static_cast<uint64_t>(
      bpfemu_map_push_elem(Ptr(map), Ptr(value), flags));
}

// pop and peek write value_size bytes (zeros when the map is empty).
template <bool kPop>
uint64_t MapPopOrPeek(Vm& vm, uint64_t map, uint64_t value, uint64_t, uint64_t,
                      uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedWritable(vm, value, b->map->value_size(), "value");
  return static_cast<uint64_t>(
      kPop ? bpfemu_map_pop_elem(Ptr(map), Ptr(value))
           : bpfemu_map_peek_elem(Ptr(map), Ptr(value)));
}

uint64_t MapLookupPercpu(Vm& vm, uint64_t map, uint64_t key, uint64_t cpu,
                         uint64_t, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, key, b->map->key_size(), "key");
  void* v = bpfemu_map_lookup_percpu_elem(Ptr(map), Ptr(key),
                                          static_cast<uint32_t>(cpu));
  if (v != nullptr) {
    vm.AddRegion(reinterpret_cast<uint64_t>(v), b->map->value_size(), true);
  }
  return reinterpret_cast<uint64_t>(v);
}

// A taken tail call to bytecode switches programs inside the interpreter's
// loop (Vm::SwitchTo); to a native program it leaves the run through
// ProgRun() (TailCallJump). From a subprogram or callback, the target runs
// in place of that frame and its value returns to the frame's caller
// (TailCallInFrame, Vm::LeaveFrame), as in the kernel.
uint64_t TailCall(Vm& vm, uint64_t ctx, uint64_t map, uint64_t index, uint64_t,
                  uint64_t) {
  BoundMap* b = MapArg(vm, map);
  (void)ctx;
  if (b == nullptr || b->fd_array == nullptr || b->fd_array->holds_maps()) {
    return static_cast<uint64_t>(-EINVAL);
  }
  const bpfemu::Prog* next = nullptr;
  if (long err =
          b->fd_array->TailCallTarget(static_cast<uint32_t>(index), &next);
      err != 0) {
    return static_cast<uint64_t>(err);
  }
  if (vm.InSubprogram()) {
    const uint64_t ret = bpfemu::TailCallInFrame(next, vm.ctx());
    vm.LeaveFrame();
    return ret;
  }
  if (next->code != nullptr && vm.SwitchTo(next->code.get())) return 0;
  bpfemu::TailCallJump(next);
}

// The probe reads (native/helpers.h ProbeRead): the program's regions are
// its kernel memory; any other address is this process's (user) memory or
// a kernel address bpfemu never maps.
template <native::ProbeSpace kSpace, bool kStr>
uint64_t ProbeRead(Vm& vm, uint64_t dst, uint64_t size, uint64_t src, uint64_t,
                   uint64_t) {
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, dst, n, "dst");
  auto regions = [&vm](uint64_t addr, uint64_t len) {
    return vm.Readable(addr, std::max<uint64_t>(len, 1));
  };
  const native::OwnedMemory owned = regions;
  return static_cast<uint64_t>(
      kStr ? native::ProbeReadStr(kSpace, Ptr(dst), n, src, &owned)
           : native::ProbeRead(kSpace, Ptr(dst), n, src, &owned));
}

uint64_t KtimeGetNs(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_ktime_get_ns();
}
uint64_t PrandomU32(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_get_prandom_u32();
}
uint64_t SmpProcessorId(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_get_smp_processor_id();
}
uint64_t PidTgid(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_get_current_pid_tgid();
}
uint64_t CgroupId(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_get_current_cgroup_id();
}
uint64_t TaskUnderCgroup(Vm& vm, uint64_t map, uint64_t index, uint64_t,
                         uint64_t, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (b == nullptr || b->fd_array == nullptr || !b->fd_array->holds_cgroups()) {
    return static_cast<uint64_t>(-EINVAL);
  }
  return static_cast<uint64_t>(
      b->fd_array->CurrentTaskUnderCgroup(static_cast<uint32_t>(index)));
}
uint64_t AncestorCgroupId(Vm&, uint64_t level, uint64_t, uint64_t, uint64_t,
                          uint64_t) {
  return bpfemu_get_current_ancestor_cgroup_id(static_cast<int>(level));
}
uint64_t SkbUnderCgroup(Vm& vm, uint64_t /*skb*/, uint64_t map, uint64_t index,
                        uint64_t, uint64_t) {
  return TaskUnderCgroup(vm, map, index, 0, 0, 0);
}
uint64_t SkbCgroupId(Vm&, uint64_t skb, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  return bpfemu_skb_cgroup_id(Ptr(skb));
}
uint64_t SkbAncestorCgroupId(Vm&, uint64_t skb, uint64_t level, uint64_t,
                             uint64_t, uint64_t) {
  return bpfemu_skb_ancestor_cgroup_id(Ptr(skb), static_cast<int>(level));
}
// bpf_get_local_storage: the run's storage, value_size bytes the program
// may read and write (or only read, with BPF_F_RDONLY_PROG).
uint64_t LocalStorage(Vm& vm, uint64_t map, uint64_t flags, uint64_t, uint64_t,
                      uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (b == nullptr) return 0;
  void* v = bpfemu_get_local_storage(Ptr(map), flags);
  if (v == nullptr) vm.Fault("bpf_get_local_storage: not a cgroup storage");
  RecordValue(vm, *b->map, v);
  return reinterpret_cast<uint64_t>(v);
}
uint64_t UidGid(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_get_current_uid_gid();
}

// misc24: strings, clocks, NUMA (kernel/bpf/helpers.c). The verifier's
// argument checks, at run time: s1 / buf are ARG_PTR_TO_MEM of an
// ARG_CONST_SIZE (non-zero) size, s2 ARG_PTR_TO_CONST_STR (a NUL-terminated
// string in a read-only map's value), res an aligned 8-byte
// ARG_PTR_TO_FIXED_SIZE_MEM.
uint64_t Strncmp(Vm& vm, uint64_t s1, uint64_t s1_sz, uint64_t s2, uint64_t,
                 uint64_t) {
  const uint32_t n = static_cast<uint32_t>(s1_sz);
  if (n == 0) vm.Fault("bpf_strncmp: s1_sz is zero");
  NeedReadable(vm, s1, n, "s1");
  // check_reg_const_str(): a read-only map's value (BPF_F_RDONLY_PROG,
  // which the program sees as not writable), NUL-terminated.
  if (!vm.InMapValue(s2, 1) || vm.Writable(s2, 1) ||
      !vm.ReadableString(s2, uint64_t{1} << 20)) {
    vm.Fault("bpf_strncmp: s2 is not a constant string in a read-only map");
  }
  return static_cast<uint64_t>(bpfemu_strncmp(
      static_cast<const char*>(Ptr(s1)), n, static_cast<const char*>(Ptr(s2))));
}
template <bool kSigned>
uint64_t Strtox(Vm& vm, uint64_t buf, uint64_t buf_len, uint64_t flags,
                uint64_t res, uint64_t) {
  if (buf_len == 0) vm.Fault("bpf_strtol: buf_len is zero");
  NeedReadable(vm, buf, buf_len, "buf");
  NeedWritable(vm, res, 8, "res");
  if (res % 8 != 0) vm.Fault("bpf_strtol: res is not 8-byte aligned");
  const char* b = static_cast<const char*>(Ptr(buf));
  if constexpr (kSigned) {
    return static_cast<uint64_t>(
        bpfemu_strtol(b, buf_len, flags, static_cast<long*>(Ptr(res))));
  } else {
    return static_cast<uint64_t>(bpfemu_strtoul(
        b, buf_len, flags, static_cast<unsigned long*>(Ptr(res))));
  }
}
uint64_t Jiffies64(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_jiffies64();
}
uint64_t KtimeBootNs(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_ktime_get_boot_ns();
}
uint64_t KtimeCoarseNs(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_ktime_get_coarse_ns();
}
uint64_t KtimeTaiNs(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_ktime_get_tai_ns();
}
uint64_t NumaNodeId(Vm&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return static_cast<uint64_t>(bpfemu_get_numa_node_id());
}

// Task local storage (kernel/bpf/bpf_task_storage.c): the task is the
// opaque handle bpf_get_current_task_btf answers (native/helpers.cc); an
// element handed out becomes a region of value_size bytes.
// bpf_get_current_task_btf / bpf_get_current_task: the thread's
// task_struct view (native/task_model.h). The block of this thread's task
// views becomes one read-only region: a BTF-typed pointer the program
// loads from (PTR_TO_BTF_ID), or reads with bpf_probe_read_kernel.
uint64_t CurrentTaskBtf(Vm& vm, uint64_t, uint64_t, uint64_t, uint64_t,
                        uint64_t) {
  void* task = bpfemu_get_current_task_btf();
  const native::TaskBlock block = native::CurrentTaskBlock();
  if (block.size != 0) {
    vm.AddRegion(reinterpret_cast<uint64_t>(block.data), block.size, false);
  }
  return reinterpret_cast<uint64_t>(task);
}

uint64_t TaskStorageGet(Vm& vm, uint64_t map, uint64_t task, uint64_t value,
                        uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  // ARG_PTR_TO_MAP_VALUE_OR_NULL.
  if (value != 0) NeedReadable(vm, value, b->map->value_size(), "value");
  void* v = bpfemu_task_storage_get(Ptr(map), Ptr(task), Ptr(value), flags);
  if (v == nullptr) return 0;
  RecordValue(vm, *b->map, v);
  return reinterpret_cast<uint64_t>(v);
}

uint64_t SkStorageGet(Vm& vm, uint64_t map, uint64_t sk, uint64_t value,
                      uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (value != 0) NeedReadable(vm, value, b->map->value_size(), "value");
  void* v = bpfemu_sk_storage_get(Ptr(map), Ptr(sk), Ptr(value), flags);
  if (v == nullptr) return 0;
  RecordValue(vm, *b->map, v);
  return reinterpret_cast<uint64_t>(v);
}

uint64_t SkStorageDelete(Vm& vm, uint64_t map, uint64_t sk, uint64_t, uint64_t,
                         uint64_t) {
  MapArg(vm, map);
  return static_cast<uint64_t>(bpfemu_sk_storage_delete(Ptr(map), Ptr(sk)));
}

// The LSM helpers (native/lsm_hooks.h) on the objects of the hook
// running (RunLsmHook): the verifier's BTF types are checked here, a
// pointer that is not the hook's object of the helper's type (NULL where
// the helper takes it: inode storage) faults.
void NeedLsmObject(Vm& vm, uint64_t p, native::LsmKind kind, bool or_null,
                   const char* helper, const char* what) {
  if (or_null && p == 0) return;
  if (!native::LsmObjectOfRun(Ptr(p), kind)) {
    vm.Fault("%s: %s is not the LSM hook's %s (native/lsm_hooks.h RunLsmHook)",
             helper, what,
             kind == native::LsmKind::kInode  ? "struct inode"
             : kind == native::LsmKind::kPath ? "struct path"
             : kind == native::LsmKind::kFile ? "struct file"
                                              : "struct linux_binprm");
  }
}

// The inode storage helpers take a NULL inode after 6.1 (6.12 does:
// ARG_PTR_TO_BTF_ID_OR_NULL); 6.1's verifier refuses it.
bool InodeOrNull() { return TargetKernel() > KernelVersion::k6_1; }

BoundMap* InodeStorageArg(Vm& vm, uint64_t map, const char* helper) {
  BoundMap* b = MapArg(vm, map);
  // check_map_func_compatibility().
  if (b->map->type() != BPF_MAP_TYPE_INODE_STORAGE) {
    vm.Fault("cannot pass map_type %u into func %s", b->map->type(), helper);
  }
  return b;
}

uint64_t InodeStorageGet(Vm& vm, uint64_t map, uint64_t inode, uint64_t value,
                         uint64_t flags, uint64_t) {
  BoundMap* b = InodeStorageArg(vm, map, "bpf_inode_storage_get#145");
  // ARG_PTR_TO_MAP_VALUE_OR_NULL.
  if (value != 0) NeedReadable(vm, value, b->map->value_size(), "value");
  NeedLsmObject(vm, inode, native::LsmKind::kInode, InodeOrNull(),
                "bpf_inode_storage_get", "R2");
  void* v = bpfemu_inode_storage_get(Ptr(map), Ptr(inode), Ptr(value), flags);
  if (v == nullptr) return 0;
  RecordValue(vm, *b->map, v);
  return reinterpret_cast<uint64_t>(v);
}

uint64_t InodeStorageDelete(Vm& vm, uint64_t map, uint64_t inode, uint64_t,
                            uint64_t, uint64_t) {
  InodeStorageArg(vm, map, "bpf_inode_storage_delete#146");
  NeedLsmObject(vm, inode, native::LsmKind::kInode, InodeOrNull(),
                "bpf_inode_storage_delete", "R2");
  return static_cast<uint64_t>(
      bpfemu_inode_storage_delete(Ptr(map), Ptr(inode)));
}

// bpf_d_path: path ARG_PTR_TO_BTF_ID, buf ARG_PTR_TO_MEM of
// ARG_CONST_SIZE_OR_ZERO bytes (the helper writes it).
uint64_t DPath(Vm& vm, uint64_t path, uint64_t buf, uint64_t sz, uint64_t,
               uint64_t) {
  NeedLsmObject(vm, path, native::LsmKind::kPath, false, "bpf_d_path", "R1");
  const uint32_t n = static_cast<uint32_t>(sz);
  NeedWritable(vm, buf, n, "buf");
  return static_cast<uint64_t>(
      bpfemu_d_path(Ptr(path), static_cast<char*>(Ptr(buf)), n));
}

uint64_t BprmOptsSet(Vm& vm, uint64_t bprm, uint64_t flags, uint64_t, uint64_t,
                     uint64_t) {
  NeedLsmObject(vm, bprm, native::LsmKind::kBprm, false, "bpf_bprm_opts_set",
                "R1");
  return static_cast<uint64_t>(bpfemu_bprm_opts_set(Ptr(bprm), flags));
}

// bpf_ima_inode_hash / bpf_ima_file_hash: dst ARG_PTR_TO_UNINIT_MEM of
// ARG_CONST_SIZE (not zero) bytes.
template <bool kFile>
uint64_t ImaHash(Vm& vm, uint64_t obj, uint64_t dst, uint64_t size, uint64_t,
                 uint64_t) {
  const char* name = kFile ? "bpf_ima_file_hash" : "bpf_ima_inode_hash";
  NeedLsmObject(vm, obj,
                kFile ? native::LsmKind::kFile : native::LsmKind::kInode, false,
                name, "R1");
  const uint32_t n = static_cast<uint32_t>(size);
  if (n == 0) vm.Fault("%s: a zero size", name);
  NeedWritable(vm, dst, n, "dst");
  auto* fn = kFile ? bpfemu_ima_file_hash : bpfemu_ima_inode_hash;
  return static_cast<uint64_t>(fn(Ptr(obj), Ptr(dst), n));
}

// The 6.2 helper ids the build's uapi header (6.1) does not name.
constexpr int32_t BPF_FUNC_cgrp_storage_get = 210;
constexpr int32_t BPF_FUNC_cgrp_storage_delete = 211;

// kptr46: bpf_cgrp_storage_get / _delete (native/helpers.cc): the cgroup
// is a bpf_cgroup_from_id handle; the verifier's proof that it is a trusted
// struct cgroup (or NULL) is checked here.
void NeedCgroup(Vm& vm, uint64_t cgroup, const char* name) {
  uint64_t id = 0;
  if (cgroup != 0 && !CgroupRefId(Ptr(cgroup), &id)) {
    vm.Fault("%s: R2 is not a trusted struct cgroup", name);
  }
}

uint64_t CgrpStorageGet(Vm& vm, uint64_t map, uint64_t cgroup, uint64_t value,
                        uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (value != 0) NeedReadable(vm, value, b->map->value_size(), "value");
  NeedCgroup(vm, cgroup, "bpf_cgrp_storage_get");
  void* v = bpfemu_cgrp_storage_get(Ptr(map), Ptr(cgroup), Ptr(value), flags);
  if (v == nullptr) return 0;
  RecordValue(vm, *b->map, v);
  return reinterpret_cast<uint64_t>(v);
}

uint64_t CgrpStorageDelete(Vm& vm, uint64_t map, uint64_t cgroup, uint64_t,
                           uint64_t, uint64_t) {
  MapArg(vm, map);
  NeedCgroup(vm, cgroup, "bpf_cgrp_storage_delete");
  return static_cast<uint64_t>(
      bpfemu_cgrp_storage_delete(Ptr(map), Ptr(cgroup)));
}

uint64_t TaskStorageDelete(Vm& vm, uint64_t map, uint64_t task, uint64_t,
                           uint64_t, uint64_t) {
  MapArg(vm, map);
  return static_cast<uint64_t>(bpfemu_task_storage_delete(Ptr(map), Ptr(task)));
}

uint64_t GetStack(Vm& vm, uint64_t ctx, uint64_t buf, uint64_t size,
                  uint64_t flags, uint64_t) {
  // ARG_PTR_TO_UNINIT_MEM of ARG_CONST_SIZE_OR_ZERO bytes.
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, buf, n, "buf");
  return static_cast<uint64_t>(bpfemu_get_stack(Ptr(ctx), Ptr(buf), n, flags));
}

// bpf_get_task_stack(): task ARG_PTR_TO_BTF_ID (a task view this thread
// was handed), buf as bpf_get_stack's.
uint64_t GetTaskStack(Vm& vm, uint64_t task, uint64_t buf, uint64_t size,
                      uint64_t flags, uint64_t) {
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, buf, n, "buf");
  long tid = -1;
  if (!TaskViewTid(Ptr(task), &tid)) {
    vm.Fault("bpf_get_task_stack: task is not a task_struct");
  }
  return static_cast<uint64_t>(bpfemu_get_task_stack(
      static_cast<struct task_struct*>(Ptr(task)), Ptr(buf), n, flags));
}

uint64_t GetStackId(Vm& vm, uint64_t ctx, uint64_t map, uint64_t flags,
                    uint64_t, uint64_t) {
  // ARG_CONST_MAP_PTR (the context is not read: the stack comes from the
  // emulated task, native/helpers.h).
  MapArg(vm, map);
  return static_cast<uint64_t>(bpfemu_get_stackid(Ptr(ctx), Ptr(map), flags));
}

uint64_t CurrentComm(Vm& vm, uint64_t buf, uint64_t size, uint64_t, uint64_t,
                     uint64_t) {
  NeedWritable(vm, buf, static_cast<uint32_t>(size), "buf");
  return static_cast<uint64_t>(
      bpfemu_get_current_comm(Ptr(buf), static_cast<uint32_t>(size)));
}

// bpf_trace_printk(): at most three arguments, the format checked and
// converted as bpf_snprintf's (native/syscall_helpers.h Bprintf; the
// kernel's bpf_bprintf_prepare serves both). The formatted line goes to the
// same capture as native programs' lines.
uint64_t TracePrintk(Vm& vm, uint64_t fmt, uint64_t fmt_size, uint64_t a1,
                     uint64_t a2, uint64_t a3) {
  const uint32_t n = static_cast<uint32_t>(fmt_size);
  NeedReadable(vm, fmt, n, "fmt");
  const uint64_t args[3] = {a1, a2, a3};
  auto regions = [&vm](uint64_t addr, uint64_t len) {
    return vm.Readable(addr, std::max<uint64_t>(len, 1));
  };
  const native::OwnedMemory owned = regions;
  std::string out;
  const int err = native::Bprintf(static_cast<const char*>(Ptr(fmt)), n, args,
                                  3, &owned, &out, 1024 /* MAX_BPRINTF_BUF */);
  if (err < 0) return static_cast<uint64_t>(err);
  return static_cast<uint64_t>(bpfemu_trace_printk("%s", 3, out.c_str()));
}

uint64_t SkbLoadBytes(Vm& vm, uint64_t skb, uint64_t off, uint64_t to,
                      uint64_t len, uint64_t) {
  if (skb != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("bpf_skb_load_bytes: R1 is not the context");
  }
  NeedWritable(vm, to, static_cast<uint32_t>(len), "to");
  return static_cast<uint64_t>(
      bpfemu_skb_load_bytes(Ptr(skb), static_cast<uint32_t>(off), Ptr(to),
                            static_cast<uint32_t>(len)));
}

// Packet rewriting (net/core/filter.c): R1 is the context (ARG_PTR_TO_CTX);
// the XDP moves re-read the packet's bounds, as the verifier drops every
// packet pointer after them.
void NeedCtx(Vm& vm, uint64_t ctx, const char* helper) {
  if (ctx != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("%s: R1 is not the context", helper);
  }
}

// The sysctl hook's helpers (kernel/bpf/cgroup.c, native/cgroup_hooks.h):
// R1 the context, buf ARG_PTR_TO_MEM (get_name), ARG_PTR_TO_UNINIT_MEM
// (the value getters) or ARG_PTR_TO_MEM | MEM_RDONLY (set_new_value) of a
// nonzero ARG_CONST_SIZE.
uint64_t SysctlGetNameHelper(Vm& vm, uint64_t ctx, uint64_t buf, uint64_t len,
                             uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_sysctl_get_name");
  if (len == 0) vm.Fault("bpf_sysctl_get_name: buf_len is zero");
  NeedWritable(vm, buf, len, "buf");
  return static_cast<uint64_t>(native::SysctlGetName(
      Ptr(ctx), static_cast<char*>(Ptr(buf)), len, flags));
}
template <long (*kGet)(const void*, char*, size_t)>
uint64_t SysctlGetValueHelper(Vm& vm, uint64_t ctx, uint64_t buf, uint64_t len,
                              uint64_t, uint64_t) {
  NeedCtx(vm, ctx, "bpf_sysctl_get_*_value");
  if (len == 0) vm.Fault("bpf_sysctl_get_*_value: buf_len is zero");
  NeedWritable(vm, buf, len, "buf");
  return static_cast<uint64_t>(
      kGet(Ptr(ctx), static_cast<char*>(Ptr(buf)), len));
}
uint64_t SysctlSetNewValueHelper(Vm& vm, uint64_t ctx, uint64_t buf,
                                 uint64_t len, uint64_t, uint64_t) {
  NeedCtx(vm, ctx, "bpf_sysctl_set_new_value");
  if (len == 0) vm.Fault("bpf_sysctl_set_new_value: buf_len is zero");
  NeedReadable(vm, buf, len, "buf");
  return static_cast<uint64_t>(native::SysctlSetNewValue(
      Ptr(ctx), static_cast<const char*>(Ptr(buf)), len));
}
// bpf_bind: addr ARG_PTR_TO_MEM | MEM_RDONLY of a nonzero ARG_CONST_SIZE.
uint64_t BindHelper(Vm& vm, uint64_t ctx, uint64_t addr, uint64_t len, uint64_t,
                    uint64_t) {
  NeedCtx(vm, ctx, "bpf_bind");
  const int n = static_cast<int>(static_cast<uint32_t>(len));
  if (n <= 0) vm.Fault("bpf_bind: addr_len is not a positive size");
  NeedReadable(vm, addr, static_cast<uint64_t>(n), "addr");
  return static_cast<uint64_t>(native::SockAddrBind(Ptr(ctx), Ptr(addr), n));
}
// bpf_setsockopt / bpf_getsockopt of a sock_addr program (SockOpt below
// serves sock_ops): optval
// ARG_PTR_TO_MEM | MEM_RDONLY (set) or ARG_PTR_TO_UNINIT_MEM (get) of a
// nonzero ARG_CONST_SIZE.
template <bool kGet>
uint64_t SockoptHelper(Vm& vm, uint64_t ctx, uint64_t level, uint64_t optname,
                       uint64_t optval, uint64_t optlen) {
  const char* name = kGet ? "bpf_getsockopt" : "bpf_setsockopt";
  NeedCtx(vm, ctx, name);
  const int n = static_cast<int>(static_cast<uint32_t>(optlen));
  if (n <= 0) vm.Fault("%s: optlen is not a positive size", name);
  if (kGet) {
    NeedWritable(vm, optval, static_cast<uint64_t>(n), "optval");
  } else {
    NeedReadable(vm, optval, static_cast<uint64_t>(n), "optval");
  }
  const int l = static_cast<int>(static_cast<uint32_t>(level));
  const int o = static_cast<int>(static_cast<uint32_t>(optname));
  return static_cast<uint64_t>(
      kGet ? native::SockAddrGetsockopt(Ptr(ctx), l, o, Ptr(optval), n)
           : native::SockAddrSetsockopt(Ptr(ctx), l, o, Ptr(optval), n));
}
// bpf_sk_select_reuseport: a REUSEPORT_SOCKARRAY, SOCKMAP or SOCKHASH
// (check_map_func_compatibility) and its key.
uint64_t SkSelectReuseportHelper(Vm& vm, uint64_t ctx, uint64_t map,
                                 uint64_t key, uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_sk_select_reuseport");
  BoundMap* b = MapArg(vm, map);
  const uint32_t t = b->map->type();
  if (t != BPF_MAP_TYPE_REUSEPORT_SOCKARRAY && t != BPF_MAP_TYPE_SOCKMAP &&
      t != BPF_MAP_TYPE_SOCKHASH) {
    vm.Fault("bpf_sk_select_reuseport: the map is no socket array or map");
  }
  NeedReadable(vm, key, b->map->key_size(), "key");
  return static_cast<uint64_t>(
      native::SkSelectReuseport(Ptr(ctx), Ptr(map), Ptr(key), flags));
}
// bpf_get_retval / bpf_set_retval: the hook's run context.
uint64_t GetRetvalHelper(Vm&, uint64_t, uint64_t, uint64_t, uint64_t,
                         uint64_t) {
  return static_cast<uint64_t>(static_cast<int64_t>(native::GetRetval()));
}
uint64_t SetRetvalHelper(Vm&, uint64_t retval, uint64_t, uint64_t, uint64_t,
                         uint64_t) {
  return static_cast<uint64_t>(
      native::SetRetval(static_cast<int>(static_cast<uint32_t>(retval))));
}

template <long (*kMove)(void*, int)>
uint64_t XdpAdjust(Vm& vm, uint64_t ctx, uint64_t offset, uint64_t, uint64_t,
                   uint64_t) {
  NeedCtx(vm, ctx, "bpf_xdp_adjust_*");
  const long ret = kMove(Ptr(ctx), static_cast<int>(offset));
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

template <bool kStore>
uint64_t XdpBytes(Vm& vm, uint64_t ctx, uint64_t off, uint64_t buf,
                  uint64_t len, uint64_t) {
  NeedCtx(vm, ctx, kStore ? "bpf_xdp_store_bytes" : "bpf_xdp_load_bytes");
  const auto n = static_cast<uint32_t>(len);
  if (kStore) {
    NeedReadable(vm, buf, n, "buf");
  } else {
    NeedWritable(vm, buf, n, "buf");
  }
  return static_cast<uint64_t>(
      kStore ? bpfemu_xdp_store_bytes(Ptr(ctx), static_cast<uint32_t>(off),
                                      Ptr(buf), n)
             : bpfemu_xdp_load_bytes(Ptr(ctx), static_cast<uint32_t>(off),
                                     Ptr(buf), n));
}

uint64_t CsumDiff(Vm& vm, uint64_t from, uint64_t from_size, uint64_t to,
                  uint64_t to_size, uint64_t seed) {
  const auto fs = static_cast<uint32_t>(from_size);
  const auto ts = static_cast<uint32_t>(to_size);
  if (fs != 0) NeedReadable(vm, from, fs, "from");
  if (ts != 0) NeedReadable(vm, to, ts, "to");
  return static_cast<uint64_t>(bpfemu_csum_diff(
      static_cast<const __be32*>(Ptr(from)), fs,
      static_cast<const __be32*>(Ptr(to)), ts, static_cast<__wsum>(seed)));
}

uint64_t SkbStoreBytes(Vm& vm, uint64_t skb, uint64_t off, uint64_t from,
                       uint64_t len, uint64_t flags) {
  NeedCtx(vm, skb, "bpf_skb_store_bytes");
  NeedReadable(vm, from, static_cast<uint32_t>(len), "from");
  return static_cast<uint64_t>(
      bpfemu_skb_store_bytes(Ptr(skb), static_cast<uint32_t>(off), Ptr(from),
                             static_cast<uint32_t>(len), flags));
}

template <long (*kReplace)(void*, __u32, __u64, __u64, __u64)>
uint64_t CsumReplace(Vm& vm, uint64_t skb, uint64_t off, uint64_t from,
                     uint64_t to, uint64_t flags) {
  NeedCtx(vm, skb, "bpf_l3/l4_csum_replace");
  return static_cast<uint64_t>(
      kReplace(Ptr(skb), static_cast<uint32_t>(off), from, to, flags));
}

// The socket buffer's shape (net/core/filter.c), helpers.cc's functions
// with R1 the context. Those that may move the packet re-read its bounds
// (bpf_helper_changes_pkt_data: the verifier drops the packet pointers).
uint64_t SkbChange(Vm& vm, uint64_t skb, uint64_t a, uint64_t b, uint64_t,
                   uint64_t, long (*fn)(void*, __u32, __u64),
                   const char* name) {
  NeedCtx(vm, skb, name);
  const long ret = fn(Ptr(skb), static_cast<uint32_t>(a), b);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t SkbChangeTail(Vm& vm, uint64_t skb, uint64_t len, uint64_t flags,
                       uint64_t, uint64_t) {
  return SkbChange(vm, skb, len, flags, 0, 0, bpfemu_skb_change_tail,
                   "bpf_skb_change_tail");
}

uint64_t SkbChangeHead(Vm& vm, uint64_t skb, uint64_t len, uint64_t flags,
                       uint64_t, uint64_t) {
  return SkbChange(vm, skb, len, flags, 0, 0, bpfemu_skb_change_head,
                   "bpf_skb_change_head");
}

// bpf_lwt_push_encap: hdr is ARG_PTR_TO_MEM | MEM_RDONLY of a nonzero
// ARG_CONST_SIZE; the packet moves.
uint64_t LwtPushEncap(Vm& vm, uint64_t skb, uint64_t type, uint64_t hdr,
                      uint64_t len, uint64_t) {
  NeedCtx(vm, skb, "bpf_lwt_push_encap");
  const uint32_t n = static_cast<uint32_t>(len);
  if (n == 0) vm.Fault("bpf_lwt_push_encap: len is zero");
  NeedReadable(vm, hdr, n, "hdr");
  const long ret =
      bpfemu_lwt_push_encap(Ptr(skb), static_cast<uint32_t>(type), Ptr(hdr), n);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

// The seg6local helpers (native/seg6local.cc): from / param are
// ARG_PTR_TO_MEM | MEM_RDONLY of a nonzero ARG_CONST_SIZE; each may move
// or rewrite the packet (bpf_helper_changes_pkt_data).
uint64_t LwtSeg6StoreBytes(Vm& vm, uint64_t skb, uint64_t offset, uint64_t from,
                           uint64_t len, uint64_t) {
  NeedCtx(vm, skb, "bpf_lwt_seg6_store_bytes");
  const uint32_t n = static_cast<uint32_t>(len);
  if (n == 0) vm.Fault("bpf_lwt_seg6_store_bytes: len is zero");
  NeedReadable(vm, from, n, "from");
  const long ret = bpfemu_lwt_seg6_store_bytes(
      Ptr(skb), static_cast<uint32_t>(offset), Ptr(from), n);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t LwtSeg6AdjustSrh(Vm& vm, uint64_t skb, uint64_t offset, uint64_t len,
                          uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_lwt_seg6_adjust_srh");
  const long ret = bpfemu_lwt_seg6_adjust_srh(
      Ptr(skb), static_cast<uint32_t>(offset), static_cast<int32_t>(len));
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t LwtSeg6Action(Vm& vm, uint64_t skb, uint64_t action, uint64_t param,
                       uint64_t len, uint64_t) {
  NeedCtx(vm, skb, "bpf_lwt_seg6_action");
  const uint32_t n = static_cast<uint32_t>(len);
  if (n == 0) vm.Fault("bpf_lwt_seg6_action: param_len is zero");
  NeedReadable(vm, param, n, "param");
  const long ret = bpfemu_lwt_seg6_action(
      Ptr(skb), static_cast<uint32_t>(action), Ptr(param), n);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

// bpf_override_return (native/kprobe_override.h): regs is the context.
uint64_t OverrideReturn(Vm& vm, uint64_t regs, uint64_t rc, uint64_t, uint64_t,
                        uint64_t) {
  NeedCtx(vm, regs, "bpf_override_return");
  return static_cast<uint64_t>(bpfemu_override_return(Ptr(regs), rc));
}

// The rc helpers of LIRC_MODE2 programs (native/lirc_mode2.h): the sample
// is the context.
uint64_t RcRepeat(Vm& vm, uint64_t ctx, uint64_t, uint64_t, uint64_t,
                  uint64_t) {
  NeedCtx(vm, ctx, "bpf_rc_repeat");
  return static_cast<uint64_t>(bpfemu_rc_repeat(Ptr(ctx)));
}
uint64_t RcKeydown(Vm& vm, uint64_t ctx, uint64_t protocol, uint64_t scancode,
                   uint64_t toggle, uint64_t) {
  NeedCtx(vm, ctx, "bpf_rc_keydown");
  return static_cast<uint64_t>(
      bpfemu_rc_keydown(Ptr(ctx), static_cast<uint32_t>(protocol), scancode,
                        static_cast<uint32_t>(toggle)));
}
uint64_t RcPointerRel(Vm& vm, uint64_t ctx, uint64_t x, uint64_t y, uint64_t,
                      uint64_t) {
  NeedCtx(vm, ctx, "bpf_rc_pointer_rel");
  return static_cast<uint64_t>(bpfemu_rc_pointer_rel(
      Ptr(ctx), static_cast<int32_t>(x), static_cast<int32_t>(y)));
}

uint64_t SkbChangeProto(Vm& vm, uint64_t skb, uint64_t proto, uint64_t flags,
                        uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_change_proto");
  const long ret =
      bpfemu_skb_change_proto(Ptr(skb), static_cast<__be16>(proto), flags);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t SkbAdjustRoom(Vm& vm, uint64_t skb, uint64_t len_diff, uint64_t mode,
                       uint64_t flags, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_adjust_room");
  const long ret =
      bpfemu_skb_adjust_room(Ptr(skb), static_cast<int32_t>(len_diff),
                             static_cast<uint32_t>(mode), flags);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t SkbPullData(Vm& vm, uint64_t skb, uint64_t len, uint64_t, uint64_t,
                     uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_pull_data");
  const long ret = bpfemu_skb_pull_data(Ptr(skb), static_cast<uint32_t>(len));
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t SkbChangeType(Vm& vm, uint64_t skb, uint64_t type, uint64_t, uint64_t,
                       uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_change_type");
  return static_cast<uint64_t>(
      bpfemu_skb_change_type(Ptr(skb), static_cast<uint32_t>(type)));
}

uint64_t SetHash(Vm& vm, uint64_t skb, uint64_t hash, uint64_t, uint64_t,
                 uint64_t) {
  NeedCtx(vm, skb, "bpf_set_hash");
  return static_cast<uint64_t>(
      bpfemu_set_hash(Ptr(skb), static_cast<uint32_t>(hash)));
}

// Tunnel metadata: the key or options read or written in full.
uint64_t SetTunnelKey(Vm& vm, uint64_t skb, uint64_t from, uint64_t size,
                      uint64_t flags, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_set_tunnel_key");
  const uint32_t n = static_cast<uint32_t>(size);
  NeedReadable(vm, from, n, "key");
  return static_cast<uint64_t>(
      bpfemu_skb_set_tunnel_key(Ptr(skb), Ptr(from), n, flags));
}
uint64_t GetTunnelKey(Vm& vm, uint64_t skb, uint64_t to, uint64_t size,
                      uint64_t flags, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_get_tunnel_key");
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, to, n, "key");
  return static_cast<uint64_t>(
      bpfemu_skb_get_tunnel_key(Ptr(skb), Ptr(to), n, flags));
}
uint64_t SetTunnelOpt(Vm& vm, uint64_t skb, uint64_t from, uint64_t size,
                      uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_set_tunnel_opt");
  const uint32_t n = static_cast<uint32_t>(size);
  NeedReadable(vm, from, n, "opt");
  return static_cast<uint64_t>(
      bpfemu_skb_set_tunnel_opt(Ptr(skb), Ptr(from), n));
}
uint64_t GetTunnelOpt(Vm& vm, uint64_t skb, uint64_t to, uint64_t size,
                      uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_get_tunnel_opt");
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, to, n, "opt");
  return static_cast<uint64_t>(bpfemu_skb_get_tunnel_opt(Ptr(skb), Ptr(to), n));
}

uint64_t SetHashInvalid(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                        uint64_t) {
  NeedCtx(vm, skb, "bpf_set_hash_invalid");
  bpfemu_set_hash_invalid(Ptr(skb));
  return 0;
}

uint64_t GetHashRecalc(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                       uint64_t) {
  NeedCtx(vm, skb, "bpf_get_hash_recalc");
  return bpfemu_get_hash_recalc(Ptr(skb));
}

// The skb's checksum state, ECN mark, time stamp, socket and route, and
// the XDP buffer's length (native/helpers.cc).
uint64_t CsumUpdate(Vm& vm, uint64_t skb, uint64_t csum, uint64_t, uint64_t,
                    uint64_t) {
  NeedCtx(vm, skb, "bpf_csum_update");
  return static_cast<uint64_t>(
      bpfemu_csum_update(Ptr(skb), static_cast<__wsum>(csum)));
}
uint64_t CsumLevel(Vm& vm, uint64_t skb, uint64_t level, uint64_t, uint64_t,
                   uint64_t) {
  NeedCtx(vm, skb, "bpf_csum_level");
  return static_cast<uint64_t>(bpfemu_csum_level(Ptr(skb), level));
}
uint64_t SkbEcnSetCe(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_ecn_set_ce");
  return static_cast<uint64_t>(bpfemu_skb_ecn_set_ce(Ptr(skb)));
}
uint64_t SkbSetTstamp(Vm& vm, uint64_t skb, uint64_t tstamp, uint64_t type,
                      uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_set_tstamp");
  return static_cast<uint64_t>(
      bpfemu_skb_set_tstamp(Ptr(skb), tstamp, static_cast<uint32_t>(type)));
}
uint64_t SkbLoadBytesRelative(Vm& vm, uint64_t skb, uint64_t off, uint64_t to,
                              uint64_t len, uint64_t start) {
  NeedCtx(vm, skb, "bpf_skb_load_bytes_relative");
  const uint32_t n = static_cast<uint32_t>(len);
  NeedWritable(vm, to, n, "to");
  return static_cast<uint64_t>(
      bpfemu_skb_load_bytes_relative(Ptr(skb), static_cast<uint32_t>(off),
                                     Ptr(to), n, static_cast<uint32_t>(start)));
}
uint64_t GetSocketCookie(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                         uint64_t) {
  NeedCtx(vm, skb, "bpf_get_socket_cookie");
  return bpfemu_get_socket_cookie(Ptr(skb));
}
uint64_t GetSocketUid(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  NeedCtx(vm, skb, "bpf_get_socket_uid");
  return bpfemu_get_socket_uid(Ptr(skb));
}
uint64_t SkbCgroupClassid(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                          uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_cgroup_classid");
  return bpfemu_skb_cgroup_classid(Ptr(skb));
}
uint64_t GetCgroupClassid(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                          uint64_t) {
  NeedCtx(vm, skb, "bpf_get_cgroup_classid");
  return bpfemu_get_cgroup_classid(Ptr(skb));
}
uint64_t GetRouteRealm(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                       uint64_t) {
  NeedCtx(vm, skb, "bpf_get_route_realm");
  return bpfemu_get_route_realm(Ptr(skb));
}
uint64_t SkbGetXfrmState(Vm& vm, uint64_t skb, uint64_t index, uint64_t to,
                         uint64_t size, uint64_t flags) {
  NeedCtx(vm, skb, "bpf_skb_get_xfrm_state");
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, to, n, "to");
  return static_cast<uint64_t>(bpfemu_skb_get_xfrm_state(
      Ptr(skb), static_cast<uint32_t>(index), Ptr(to), n, flags));
}
uint64_t SkAssign(Vm& vm, uint64_t skb, uint64_t sk, uint64_t flags, uint64_t,
                  uint64_t) {
  NeedCtx(vm, skb, "bpf_sk_assign");
  return static_cast<uint64_t>(bpfemu_sk_assign(Ptr(skb), Ptr(sk), flags));
}
// The raw SYN cookie helpers: fixed-size IP and TCP headers (the TCP
// header of th_len bytes for the generators).
template <bool kV6>
uint64_t TcpRawGenSyncookie(Vm& vm, uint64_t iph, uint64_t th, uint64_t len,
                            uint64_t, uint64_t) {
  NeedReadable(vm, iph, kV6 ? 40 : 20, "iph");
  const uint32_t n = static_cast<uint32_t>(len);
  NeedReadable(vm, th, n, "th");
  return static_cast<uint64_t>(
      kV6 ? bpfemu_tcp_raw_gen_syncookie_ipv6(Ptr(iph), Ptr(th), n)
          : bpfemu_tcp_raw_gen_syncookie_ipv4(Ptr(iph), Ptr(th), n));
}
template <bool kV6>
uint64_t TcpRawCheckSyncookie(Vm& vm, uint64_t iph, uint64_t th, uint64_t,
                              uint64_t, uint64_t) {
  NeedReadable(vm, iph, kV6 ? 40 : 20, "iph");
  NeedReadable(vm, th, 20, "th");
  return static_cast<uint64_t>(
      kV6 ? bpfemu_tcp_raw_check_syncookie_ipv6(Ptr(iph), Ptr(th))
          : bpfemu_tcp_raw_check_syncookie_ipv4(Ptr(iph), Ptr(th)));
}
// The context or NULL (ARG_PTR_TO_CTX_OR_NULL).
uint64_t GetNetnsCookie(Vm& vm, uint64_t ctx, uint64_t, uint64_t, uint64_t,
                        uint64_t) {
  if (ctx != 0) NeedCtx(vm, ctx, "bpf_get_netns_cookie");
  return bpfemu_get_netns_cookie(Ptr(ctx));
}
uint64_t XdpGetBuffLen(Vm& vm, uint64_t xdp, uint64_t, uint64_t, uint64_t,
                       uint64_t) {
  NeedCtx(vm, xdp, "bpf_xdp_get_buff_len");
  return bpfemu_xdp_get_buff_len(Ptr(xdp));
}

uint64_t SkbVlanPush(Vm& vm, uint64_t skb, uint64_t proto, uint64_t tci,
                     uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_vlan_push");
  const long ret = bpfemu_skb_vlan_push(Ptr(skb), static_cast<__be16>(proto),
                                        static_cast<uint16_t>(tci));
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

uint64_t SkbVlanPop(Vm& vm, uint64_t skb, uint64_t, uint64_t, uint64_t,
                    uint64_t) {
  NeedCtx(vm, skb, "bpf_skb_vlan_pop");
  const long ret = bpfemu_skb_vlan_pop(Ptr(skb));
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

// The verifier's rules, checked at run time: one lock at a time (a second
// one would deadlock), an unlock only of the lock held.
uint64_t SpinLock(Vm& vm, uint64_t lock, uint64_t, uint64_t, uint64_t,
                  uint64_t) {
  NeedWritable(vm, lock, 4, "lock");
  if (lock % 4 != 0 || !vm.InMapValue(lock, 4)) {
    vm.Fault("bpf_spin_lock of memory that is not a lock in a map value");
  }
  // A lock word the program itself overwrote would never be released: wait
  // for a holder a bounded time (2 s), where the kernel's verifier would
  // have refused the program. The word's protocol (holder tid, generation)
  // is emu's, shared with BPF_F_LOCK copies and native programs.
  constexpr int64_t kMaxWaitNs = int64_t{2} * 1000 * 1000 * 1000;
  if (!bpfemu::SpinLockAcquireFor(Ptr(lock), kMaxWaitNs)) {
    vm.Fault("bpf_spin_lock: the lock stayed held for 2 s");
  }
  vm.SetHeldLock(lock);
  return 0;
}
uint64_t SpinUnlock(Vm& vm, uint64_t lock, uint64_t, uint64_t, uint64_t,
                    uint64_t) {
  // No lock held reads as 0: an unlock of NULL then must not pass.
  if (lock == 0 || vm.held_lock() != lock) {
    vm.Fault("bpf_spin_unlock of a lock that is not held");
  }
  vm.SetHeldLock(0);
  return static_cast<uint64_t>(
      bpfemu_spin_unlock(static_cast<struct bpf_spin_lock*>(Ptr(lock))));
}

uint64_t RingbufOutput(Vm& vm, uint64_t map, uint64_t data, uint64_t size,
                       uint64_t flags, uint64_t) {
  MapArg(vm, map);
  NeedReadable(vm, data, size, "data");
  return static_cast<uint64_t>(
      bpfemu_ringbuf_output(Ptr(map), Ptr(data), size, flags));
}
uint64_t PerfEventOutput(Vm& vm, uint64_t ctx, uint64_t map, uint64_t flags,
                         uint64_t data, uint64_t size) {
  MapArg(vm, map);
  NeedReadable(vm, data, size, "data");
  return static_cast<uint64_t>(
      bpfemu_perf_event_output(Ptr(ctx), Ptr(map), flags, Ptr(data), size));
}
// bpf_perf_event_read(_value): the map must be a PERF_EVENT_ARRAY
// (check_map_func_compatibility); buf is ARG_PTR_TO_UNINIT_MEM of a nonzero
// ARG_CONST_SIZE.
void NeedPerfEventArray(Vm& vm, uint64_t map, const char* helper) {
  if (MapArg(vm, map)->perf == nullptr) {
    vm.Fault("%s: the map is not a PERF_EVENT_ARRAY", helper);
  }
}
uint64_t PerfEventRead(Vm& vm, uint64_t map, uint64_t flags, uint64_t, uint64_t,
                       uint64_t) {
  NeedPerfEventArray(vm, map, "bpf_perf_event_read");
  return bpfemu_perf_event_read(Ptr(map), flags);
}
uint64_t PerfEventReadValue(Vm& vm, uint64_t map, uint64_t flags, uint64_t buf,
                            uint64_t size, uint64_t) {
  NeedPerfEventArray(vm, map, "bpf_perf_event_read_value");
  const uint32_t n = static_cast<uint32_t>(size);
  if (n == 0) vm.Fault("bpf_perf_event_read_value: size is zero");
  NeedWritable(vm, buf, n, "buf");
  return static_cast<uint64_t>(bpfemu_perf_event_read_value(
      Ptr(map), flags, static_cast<struct bpf_perf_event_value*>(Ptr(buf)), n));
}
// A perf_event program's helpers (native/perf_event_prog.h): R1 the
// context; bpf_perf_prog_read_value's buf ARG_PTR_TO_UNINIT_MEM of a
// nonzero ARG_CONST_SIZE, bpf_read_branch_records' ARG_PTR_TO_MEM_OR_NULL
// of ARG_CONST_SIZE_OR_ZERO bytes.
uint64_t PerfProgReadValueHelper(Vm& vm, uint64_t ctx, uint64_t buf,
                                 uint64_t size, uint64_t, uint64_t) {
  NeedCtx(vm, ctx, "bpf_perf_prog_read_value");
  const uint32_t n = static_cast<uint32_t>(size);
  if (n == 0) vm.Fault("bpf_perf_prog_read_value: size is zero");
  NeedWritable(vm, buf, n, "buf");
  return static_cast<uint64_t>(
      native::PerfProgReadValue(Ptr(ctx), Ptr(buf), n));
}
uint64_t ReadBranchRecordsHelper(Vm& vm, uint64_t ctx, uint64_t buf,
                                 uint64_t size, uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_read_branch_records");
  const uint32_t n = static_cast<uint32_t>(size);
  if (buf == 0 && n != 0) {
    vm.Fault("bpf_read_branch_records: a NULL buf of %u bytes", n);
  }
  if (buf != 0) NeedWritable(vm, buf, n, "buf");
  return static_cast<uint64_t>(
      native::ReadBranchRecords(Ptr(ctx), Ptr(buf), n, flags));
}
uint64_t RingbufReserve(Vm& vm, uint64_t map, uint64_t size, uint64_t flags,
                        uint64_t, uint64_t) {
  MapArg(vm, map);
  void* r = bpfemu_ringbuf_reserve(Ptr(map), size, flags);
  if (r != nullptr) {
    vm.AddRegion(reinterpret_cast<uint64_t>(r), size, true, kRingRecord);
  }
  return reinterpret_cast<uint64_t>(r);
}
void NeedRecord(Vm& vm, uint64_t data) {
  if (!vm.HasRegion(data, kRingRecord)) {
    vm.Fault("ring buffer submit/discard of memory that is not a reservation");
  }
  vm.RemoveRegion(data);
}
uint64_t RingbufSubmit(Vm& vm, uint64_t data, uint64_t flags, uint64_t,
                       uint64_t, uint64_t) {
  NeedRecord(vm, data);
  bpfemu_ringbuf_submit(Ptr(data), flags);
  return 0;
}
uint64_t RingbufDiscard(Vm& vm, uint64_t data, uint64_t flags, uint64_t,
                        uint64_t, uint64_t) {
  NeedRecord(vm, data);
  bpfemu_ringbuf_discard(Ptr(data), flags);
  return 0;
}
uint64_t RingbufQuery(Vm& vm, uint64_t map, uint64_t flags, uint64_t, uint64_t,
                      uint64_t) {
  MapArg(vm, map);
  return bpfemu_ringbuf_query(Ptr(map), flags);
}

// bpf_loop(): as the native helper (helpers.cc), calling back into the
// program's subprogram.
uint64_t Loop(Vm& vm, uint64_t nr_loops, uint64_t callback, uint64_t ctx,
              uint64_t flags, uint64_t) {
  if (!vm.IsCallback(callback)) vm.Fault("bpf_loop: R2 is not a callback");
  if (flags != 0) return static_cast<uint64_t>(-EINVAL);
  const uint32_t n = static_cast<uint32_t>(nr_loops);
  if (n > (8u << 20)) return static_cast<uint32_t>(-E2BIG);
  for (uint32_t i = 0; i < n; ++i) {
    if (vm.CallCallback(callback, i, ctx) != 0) return i + 1;
  }
  return n;
}

// bpf_for_each_map_elem(): the native helper (helpers.cc) with a callback
// that calls back into the program's subprogram with R1 = the map as the
// program passed it, R2 = the key (read-only, PTR_TO_MAP_KEY), R3 = the
// value (PTR_TO_MAP_VALUE, writable unless BPF_F_RDONLY_PROG), R4 = ctx.
// What the verifier refuses at load stops the run: a map type without
// map_for_each_callback (check_map_func_compatibility) and a callback
// returning anything but 0 or 1 (its return range is [0, 1]).
uint64_t ForEachMapElem(Vm& vm, uint64_t map, uint64_t callback, uint64_t ctx,
                        uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (!vm.IsCallback(callback)) {
    vm.Fault("bpf_for_each_map_elem: R2 is not a callback");
  }
  const bpfemu::MapOps* ops = bpfemu::MapOpsFor(b->map->type());
  if (ops == nullptr || ops->for_each_callback == nullptr) {
    vm.Fault("bpf_for_each_map_elem: map type %u has no for_each callback",
             b->map->type());
  }
  struct Call {
    Vm* vm;
    uint64_t map, callback, ctx;
    uint32_t key_size, value_size;
    bool writable;
  } call{&vm,
         map,
         callback,
         ctx,
         b->map->key_size(),
         b->map->value_size(),
         !(b->map->map_flags() & BPF_F_RDONLY_PROG)};
  return static_cast<uint64_t>(bpfemu_for_each_map_elem(
      Ptr(map),
      reinterpret_cast<void*>(
          +[](void*, void* key, void* value, void* arg) -> long {
            auto* c = static_cast<Call*>(arg);
            const auto k = reinterpret_cast<uint64_t>(key);
            const auto v = reinterpret_cast<uint64_t>(value);
            c->vm->AddRegion(k, c->key_size, false);
            c->vm->AddRegion(v, c->value_size, c->writable);
            const uint64_t r =
                c->vm->CallCallback(c->callback, c->map, k, v, c->ctx);
            if (r > 1) {
              c->vm->Fault(
                  "bpf_for_each_map_elem: the callback returned %llu (the "
                  "verifier allows 0 or 1)",
                  static_cast<unsigned long long>(r));
            }
            return static_cast<long>(r);
          }),
      &call, flags));
}

// bpf_user_ringbuf_drain(): as the native helper (helpers.cc); each sample
// reaches the callback as a dynptr only the dynptr helpers may use (the
// verifier allows nothing else), and the drain's busy word is released if
// the callback faults.
uint64_t UserRingbufDrain(Vm& vm, uint64_t map, uint64_t callback, uint64_t ctx,
                          uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (b->user_ring == nullptr) {
    vm.Fault("bpf_user_ringbuf_drain: the map is not a user ring buffer");
  }
  if (!vm.IsCallback(callback)) {
    vm.Fault("bpf_user_ringbuf_drain: R2 is not a callback");
  }
  if (ctx != 0 && !vm.Readable(ctx, 1)) {
    vm.Fault("bpf_user_ringbuf_drain: R3 is neither NULL nor the stack");
  }
  struct Call {
    Vm* vm;
    uint64_t callback, ctx;
  } call{&vm, callback, ctx};
  vm.PushFaultRelease(
      [](void* ring) { static_cast<UserRingbufMap*>(ring)->EndDrain(); },
      b->user_ring);
  const long ret = b->user_ring->Drain(
      [](void* arg, void* sample, uint32_t size) -> uint64_t {
        auto* c = static_cast<Call*>(arg);
        bpfemu_dynptr d = internal::LocalDynptr(sample, size);
        const auto addr = reinterpret_cast<uint64_t>(&d);
        dynptr::Mark(*c->vm, addr);
        const uint64_t r = c->vm->CallCallback(c->callback, addr, c->ctx);
        c->vm->RemoveRegion(addr);
        return r;
      },
      &call, flags);
  vm.PopFaultRelease();
  return static_cast<uint64_t>(ret);
}

// A dynptr argument in R`reg` (emu/dynptr_kern.h: one a helper initialized
// that the program has not overwritten since).
const bpfemu_dynptr& DynptrArg(Vm& vm, uint64_t ptr, const char* name,
                               int reg) {
  dynptr::Need(vm, ptr, name, reg);
  return *reinterpret_cast<const bpfemu_dynptr*>(ptr);
}
uint64_t DynptrRead(Vm& vm, uint64_t dst, uint64_t len, uint64_t src,
                    uint64_t offset, uint64_t flags) {
  NeedWritable(vm, dst, static_cast<uint32_t>(len), "dst");
  DynptrArg(vm, src, "bpf_dynptr_read", 3);
  return static_cast<uint64_t>(
      bpfemu_dynptr_read(Ptr(dst), static_cast<uint32_t>(len),
                         static_cast<const struct bpf_dynptr*>(Ptr(src)),
                         static_cast<uint32_t>(offset), flags));
}
uint64_t DynptrWrite(Vm& vm, uint64_t dst, uint64_t offset, uint64_t src,
                     uint64_t len, uint64_t flags) {
  DynptrArg(vm, dst, "bpf_dynptr_write", 1);
  NeedReadable(vm, src, static_cast<uint32_t>(len), "src");
  return static_cast<uint64_t>(
      bpfemu_dynptr_write(static_cast<const struct bpf_dynptr*>(Ptr(dst)),
                          static_cast<uint32_t>(offset), Ptr(src),
                          static_cast<uint32_t>(len), flags));
}
uint64_t DynptrData(Vm& vm, uint64_t ptr, uint64_t offset, uint64_t len,
                    uint64_t, uint64_t) {
  DynptrArg(vm, ptr, "bpf_dynptr_data", 1);
  void* p = bpfemu_dynptr_data(static_cast<const struct bpf_dynptr*>(Ptr(ptr)),
                               static_cast<uint32_t>(offset),
                               static_cast<uint32_t>(len));
  if (p != nullptr) {
    vm.AddRegion(reinterpret_cast<uint64_t>(p), static_cast<uint32_t>(len),
                 true);
  }
  return reinterpret_cast<uint64_t>(p);
}

// bpf_dynptr_from_mem / bpf_ringbuf_reserve_dynptr / _submit_dynptr /
// _discard_dynptr (native/dynptr.cc): the dynptr's 16 stack bytes become a
// dynptr the dynptr helpers accept (null ones too, as the verifier does).
void NewDynptr(Vm& vm, uint64_t ptr) {
  NeedWritable(vm, ptr, sizeof(bpfemu_dynptr), "dynptr");
}
uint64_t DynptrFromMem(Vm& vm, uint64_t data, uint64_t size, uint64_t flags,
                       uint64_t ptr, uint64_t) {
  NeedWritable(vm, data, static_cast<uint32_t>(size), "data");
  NewDynptr(vm, ptr);
  const long ret =
      bpfemu_dynptr_from_mem(Ptr(data), static_cast<uint32_t>(size), flags,
                             static_cast<struct bpf_dynptr*>(Ptr(ptr)));
  dynptr::Mark(vm, ptr);
  return static_cast<uint64_t>(ret);
}
uint64_t RingbufReserveDynptr(Vm& vm, uint64_t map, uint64_t size,
                              uint64_t flags, uint64_t ptr, uint64_t) {
  MapArg(vm, map);
  NewDynptr(vm, ptr);
  const long ret = bpfemu_ringbuf_reserve_dynptr(
      Ptr(map), static_cast<uint32_t>(size), flags,
      static_cast<struct bpf_dynptr*>(Ptr(ptr)));
  dynptr::Mark(vm, ptr);
  return static_cast<uint64_t>(ret);
}
template <bool kDiscard>
uint64_t RingbufCommitDynptr(Vm& vm, uint64_t ptr, uint64_t flags, uint64_t,
                             uint64_t, uint64_t) {
  const bpfemu_dynptr& held = DynptrArg(
      vm, ptr,
      kDiscard ? "bpf_ringbuf_discard_dynptr" : "bpf_ringbuf_submit_dynptr", 1);
  // The verifier wants a ring buffer dynptr (a null one is, after a failed
  // reservation).
  if (held.data != nullptr &&
      internal::DynptrType(held) != internal::kDynptrRingbuf) {
    vm.Fault(
        "%s: R1 is not a ring buffer dynptr",
        kDiscard ? "bpf_ringbuf_discard_dynptr" : "bpf_ringbuf_submit_dynptr");
  }
  const uint64_t sample = reinterpret_cast<uint64_t>(held.data);
  auto* d = static_cast<struct bpf_dynptr*>(Ptr(ptr));
  if (kDiscard) {
    bpfemu_ringbuf_discard_dynptr(d, flags);
  } else {
    bpfemu_ringbuf_submit_dynptr(d, flags);
  }
  // Released: the verifier refuses any later use of it and of its clones.
  vm.RemoveRegion(ptr);
  vm.ReleaseDynptrs(sample);
  return 0;
}

// Socket redirects: the *_map flavours take a u32 key by value, the *_hash
// flavours a key pointer.
template <int kMsg>
uint64_t RedirectMap(Vm& vm, uint64_t, uint64_t map, uint64_t key,
                     uint64_t flags, uint64_t) {
  MapArg(vm, map);
  const uint32_t k = static_cast<uint32_t>(key);
  return static_cast<uint64_t>(bpfemu_sk_redirect(Ptr(map), &k, flags, kMsg));
}
template <int kMsg>
uint64_t RedirectHash(Vm& vm, uint64_t, uint64_t map, uint64_t key,
                      uint64_t flags, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, key, b->map->key_size(), "key");
  return static_cast<uint64_t>(
      bpfemu_sk_redirect(Ptr(map), Ptr(key), flags, kMsg));
}

// The SK_MSG message helpers (native/sk_msg.h) on the run's context; the
// edits move data / data_end, so the packet's bounds are read again.
void NeedMsg(Vm& vm, uint64_t ctx) {
  if (!native::SkMsgRunOn(Ptr(ctx))) {
    vm.Fault("the message helpers need a run of native::SkMsgSocket");
  }
}
void NeedCallback(Vm& vm, uint64_t ctx) {
  if (!native::SockOpsRunOn(Ptr(ctx))) {
    vm.Fault("the sock_ops helpers need a run of native::RunSockOps");
  }
}
template <long (*kSet)(void*, __u32)>
uint64_t MsgSetBytes(Vm& vm, uint64_t ctx, uint64_t bytes, uint64_t, uint64_t,
                     uint64_t) {
  NeedCtx(vm, ctx, "bpf_msg_apply_bytes / bpf_msg_cork_bytes");
  NeedMsg(vm, ctx);
  return static_cast<uint64_t>(kSet(Ptr(ctx), static_cast<uint32_t>(bytes)));
}
template <long (*kEdit)(void*, __u32, __u32, __u64)>
uint64_t MsgEdit(Vm& vm, uint64_t ctx, uint64_t a, uint64_t b, uint64_t flags,
                 uint64_t) {
  NeedCtx(vm, ctx, "bpf_msg_pull_data / _push_data / _pop_data");
  NeedMsg(vm, ctx);
  const long ret = kEdit(Ptr(ctx), static_cast<uint32_t>(a),
                         static_cast<uint32_t>(b), flags);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}

// The SOCK_OPS helpers (native/sock_ops.h) on the callback's context.
// bpf_setsockopt / bpf_getsockopt are offered to sock_addr programs too,
// whose context bpfemu does not run them on yet.
uint64_t SockOpsCbFlagsSet(Vm& vm, uint64_t ctx, uint64_t flags, uint64_t,
                           uint64_t, uint64_t) {
  NeedCtx(vm, ctx, "bpf_sock_ops_cb_flags_set");
  NeedCallback(vm, ctx);
  return static_cast<uint64_t>(
      bpfemu_sock_ops_cb_flags_set(Ptr(ctx), static_cast<int>(flags)));
}
template <bool kGet>
uint64_t SockOpt(Vm& vm, uint64_t ctx, uint64_t level, uint64_t optname,
                 uint64_t optval, uint64_t optlen) {
  const char* name = kGet ? "bpf_getsockopt" : "bpf_setsockopt";
  // sock_addr_func_proto's: on the socket RunSockAddrHook runs for.
  if (vm.prog_type() == BPF_PROG_TYPE_CGROUP_SOCK_ADDR) {
    return SockoptHelper<kGet>(vm, ctx, level, optname, optval, optlen);
  }
  if (vm.prog_type() != BPF_PROG_TYPE_SOCK_OPS) {
    vm.Fault("%s: bpfemu runs it from sock_ops programs only", name);
  }
  NeedCtx(vm, ctx, name);
  NeedCallback(vm, ctx);
  const int32_t n = static_cast<int32_t>(optlen);
  if (n <= 0) vm.Fault("%s: optlen %d", name, n);
  if (kGet) {
    NeedWritable(vm, optval, static_cast<uint64_t>(n), "optval");
  } else {
    NeedReadable(vm, optval, static_cast<uint64_t>(n), "optval");
  }
  auto* fn = kGet ? bpfemu_sock_ops_getsockopt : bpfemu_sock_ops_setsockopt;
  return static_cast<uint64_t>(fn(Ptr(ctx), static_cast<int>(level),
                                  static_cast<int>(optname), Ptr(optval), n));
}
uint64_t SockOpsMapUpdate(Vm& vm, uint64_t ctx, uint64_t map, uint64_t key,
                          uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_sock_map_update / bpf_sock_hash_update");
  NeedCallback(vm, ctx);
  BoundMap* b = MapArg(vm, map);
  NeedReadable(vm, key, b->map->key_size(), "key");
  return static_cast<uint64_t>(
      bpfemu_sock_ops_map_update(Ptr(ctx), Ptr(map), Ptr(key), flags));
}
uint64_t LoadHdrOpt(Vm& vm, uint64_t ctx, uint64_t buf, uint64_t len,
                    uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_load_hdr_opt");
  NeedCallback(vm, ctx);
  const uint32_t n = static_cast<uint32_t>(len);
  if (n == 0) vm.Fault("bpf_load_hdr_opt: a zero size");
  NeedWritable(vm, buf, n, "searchby_res");
  return static_cast<uint64_t>(
      bpfemu_load_hdr_opt(Ptr(ctx), Ptr(buf), n, flags));
}
uint64_t StoreHdrOpt(Vm& vm, uint64_t ctx, uint64_t from, uint64_t len,
                     uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_store_hdr_opt");
  NeedCallback(vm, ctx);
  const uint32_t n = static_cast<uint32_t>(len);
  if (n == 0) vm.Fault("bpf_store_hdr_opt: a zero size");
  NeedReadable(vm, from, n, "from");
  const long ret = bpfemu_store_hdr_opt(Ptr(ctx), Ptr(from), n, flags);
  vm.ReloadPacket();
  return static_cast<uint64_t>(ret);
}
uint64_t ReserveHdrOpt(Vm& vm, uint64_t ctx, uint64_t len, uint64_t flags,
                       uint64_t, uint64_t) {
  NeedCtx(vm, ctx, "bpf_reserve_hdr_opt");
  NeedCallback(vm, ctx);
  return static_cast<uint64_t>(
      bpfemu_reserve_hdr_opt(Ptr(ctx), static_cast<uint32_t>(len), flags));
}

// bpf_redirect_map on an XDP redirect map (the key by value).
uint64_t XdpRedirectMap(Vm& vm, uint64_t map, uint64_t key, uint64_t flags,
                        uint64_t, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  if (!b->map->IsRedirectMap()) {
    vm.Fault("bpf_redirect_map: map type %u has no redirect", b->map->type());
  }
  return static_cast<uint64_t>(bpfemu_redirect_map(Ptr(map), key, flags));
}

// bpf_redirect: the XDP flavour for XDP programs, the tc one otherwise.
uint64_t Redirect(Vm& vm, uint64_t ifindex, uint64_t flags, uint64_t, uint64_t,
                  uint64_t) {
  return static_cast<uint64_t>(
      bpfemu_redirect(static_cast<uint32_t>(ifindex), flags,
                      vm.prog_type() == BPF_PROG_TYPE_XDP ? 1 : 0));
}

// bpf_redirect_peer / bpf_redirect_neigh (tc only).
uint64_t RedirectPeer(Vm&, uint64_t ifindex, uint64_t flags, uint64_t, uint64_t,
                      uint64_t) {
  return static_cast<uint64_t>(
      bpfemu_redirect_peer(static_cast<uint32_t>(ifindex), flags));
}
uint64_t RedirectNeigh(Vm& vm, uint64_t ifindex, uint64_t params, uint64_t plen,
                       uint64_t flags, uint64_t) {
  const int32_t n = static_cast<int32_t>(plen);
  if (n < 0) vm.Fault("bpf_redirect_neigh: negative plen %d", n);
  if (n != 0) NeedReadable(vm, params, static_cast<uint64_t>(n), "params");
  return static_cast<uint64_t>(bpfemu_redirect_neigh(
      static_cast<uint32_t>(ifindex), Ptr(params), n, flags));
}

uint64_t CloneRedirect(Vm& vm, uint64_t skb, uint64_t ifindex, uint64_t flags,
                       uint64_t, uint64_t) {
  NeedCtx(vm, skb, "bpf_clone_redirect");
  return static_cast<uint64_t>(
      bpfemu_clone_redirect(Ptr(skb), static_cast<uint32_t>(ifindex), flags));
}

// bpf_check_mtu: the XDP flavour for XDP programs, the skb one for tc.
uint64_t CheckMtu(Vm& vm, uint64_t ctx, uint64_t ifindex, uint64_t mtu_len,
                  uint64_t len_diff, uint64_t flags) {
  NeedCtx(vm, ctx, "bpf_check_mtu");
  NeedWritable(vm, mtu_len, sizeof(uint32_t), "mtu_len");
  return static_cast<uint64_t>(bpfemu_check_mtu(
      Ptr(ctx), static_cast<uint32_t>(ifindex),
      static_cast<__u32*>(Ptr(mtu_len)), static_cast<int32_t>(len_diff), flags,
      vm.prog_type() == BPF_PROG_TYPE_XDP ? 1 : 0));
}

// bpf_fib_lookup: R2/R3 an ARG_PTR_TO_MEM (written) + ARG_CONST_SIZE pair.
uint64_t FibLookup(Vm& vm, uint64_t ctx, uint64_t params, uint64_t plen,
                   uint64_t flags, uint64_t) {
  NeedCtx(vm, ctx, "bpf_fib_lookup");
  NeedWritable(vm, params, static_cast<uint32_t>(plen), "params");
  return static_cast<uint64_t>(bpfemu_fib_lookup(
      Ptr(ctx), static_cast<struct bpf_fib_lookup*>(Ptr(params)),
      static_cast<int>(plen), static_cast<uint32_t>(flags),
      vm.prog_type() == BPF_PROG_TYPE_XDP ? 1 : 0));
}

bool IsSkbProg(uint32_t t) {
  return t == BPF_PROG_TYPE_SOCKET_FILTER || t == BPF_PROG_TYPE_SCHED_CLS ||
         t == BPF_PROG_TYPE_SCHED_ACT || t == BPF_PROG_TYPE_SK_SKB ||
         t == BPF_PROG_TYPE_CGROUP_SKB;
}

// The packet helpers' program types (tc_cls_act_func_proto,
// xdp_func_proto, sk_skb_func_proto, lwt_*_func_proto).
// Socket lookups (native/sk_lookup.h): R1 the context, R2/R3 the tuple
// (ARG_PTR_TO_MEM, ARG_CONST_SIZE); the socket is readable until released.
template <int kProto, bool kSkc>
uint64_t SkLookupHelper(Vm& vm, uint64_t ctx, uint64_t tuple, uint64_t len,
                        uint64_t netns, uint64_t flags) {
  NeedCtx(vm, ctx, "bpf_sk_lookup_*");
  NeedReadable(vm, tuple, static_cast<uint32_t>(len), "tuple");
  struct bpf_sock* sk = native::SkLookup(Ptr(tuple), static_cast<uint32_t>(len),
                                         netns, flags, kProto, kSkc);
  if (sk != nullptr) {
    vm.AddRegion(reinterpret_cast<uint64_t>(sk), sizeof(*sk), false, kSock);
  }
  return reinterpret_cast<uint64_t>(sk);
}

uint64_t SkFullsock(Vm&, uint64_t sk, uint64_t, uint64_t, uint64_t, uint64_t) {
  return reinterpret_cast<uint64_t>(native::SkFullsock(Ptr(sk)));
}

uint64_t SkListener(Vm&, uint64_t sk, uint64_t, uint64_t, uint64_t, uint64_t) {
  return reinterpret_cast<uint64_t>(native::SkListener(Ptr(sk)));
}

uint64_t SkRelease(Vm& vm, uint64_t sk, uint64_t, uint64_t, uint64_t,
                   uint64_t) {
  if (vm.HasRegion(sk, kSock)) vm.RemoveRegion(sk);
  // And the views the casts handed out (SockView).
  if (const native::LookedUpSock* s = native::SkLookedUp(Ptr(sk))) {
    for (const void* view : {static_cast<const void*>(&s->tcp),
                             static_cast<const void*>(s->kview.data())}) {
      const auto a = reinterpret_cast<uint64_t>(view);
      if (vm.HasRegion(a, kSock)) vm.RemoveRegion(a);
    }
  }
  return static_cast<uint64_t>(native::SkRelease(Ptr(sk)));
}

// The socket casts (native/sock_helpers.h): the view they return is
// readable until the socket is released (SkRelease).
uint64_t SockView(Vm& vm, const void* view, size_t size) {
  const auto a = reinterpret_cast<uint64_t>(view);
  if (view != nullptr && !vm.HasRegion(a, kSock)) {
    vm.AddRegion(a, size, false, kSock);
  }
  return a;
}

uint64_t TcpSockHelper(Vm& vm, uint64_t sk, uint64_t, uint64_t, uint64_t,
                       uint64_t) {
  return SockView(vm, native::TcpSock(Ptr(sk)), sizeof(struct bpf_tcp_sock));
}

template <native::SkcCast kCast>
uint64_t SkcToHelper(Vm& vm, uint64_t sk, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  size_t size = 0;
  void* view = native::SkcTo(Ptr(sk), kCast, &size);
  return SockView(vm, view, size);
}

uint64_t SkCgroupIdHelper(Vm&, uint64_t sk, uint64_t, uint64_t, uint64_t,
                          uint64_t) {
  return native::SkCgroupId(Ptr(sk));
}

// bpf_tcp_gen_syncookie / bpf_tcp_check_syncookie: R2/R3 and R4/R5 are
// ARG_PTR_TO_MEM + ARG_CONST_SIZE pairs.
template <bool kGen>
uint64_t TcpSyncookieHelper(Vm& vm, uint64_t sk, uint64_t iph, uint64_t iph_len,
                            uint64_t th, uint64_t th_len) {
  NeedReadable(vm, iph, static_cast<uint32_t>(iph_len), "iph");
  NeedReadable(vm, th, static_cast<uint32_t>(th_len), "th");
  const auto il = static_cast<uint32_t>(iph_len);
  const auto tl = static_cast<uint32_t>(th_len);
  if (kGen) {
    return static_cast<uint64_t>(
        native::TcpGenSyncookie(Ptr(sk), Ptr(iph), il, Ptr(th), tl));
  }
  return static_cast<uint64_t>(
      native::TcpCheckSyncookie(Ptr(sk), Ptr(iph), il, Ptr(th), tl));
}

uint64_t SkAncestorCgroupIdHelper(Vm&, uint64_t sk, uint64_t level, uint64_t,
                                  uint64_t, uint64_t) {
  return native::SkAncestorCgroupId(Ptr(sk), static_cast<int>(level));
}

bool IsTcLike(uint32_t t) {
  return t == BPF_PROG_TYPE_SCHED_CLS || t == BPF_PROG_TYPE_SCHED_ACT ||
         t == BPF_PROG_TYPE_LWT_XMIT;
}

bool IsTracingProg(uint32_t t) {
  return t == BPF_PROG_TYPE_KPROBE || t == BPF_PROG_TYPE_TRACEPOINT ||
         t == BPF_PROG_TYPE_PERF_EVENT || t == BPF_PROG_TYPE_RAW_TRACEPOINT ||
         t == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE ||
         t == BPF_PROG_TYPE_TRACING;
}

// SYSCALL programs and bpf_snprintf (native/syscall_helpers.h). The
// verifier's checks at run time: attr is ARG_PTR_TO_MEM of a non-zero
// ARG_CONST_SIZE; the key, value, BTF blob and instructions an attr points
// at must be the program's memory (the kernel copies them unchecked).
uint64_t SysBpfHelper(Vm& vm, uint64_t cmd, uint64_t attr, uint64_t size,
                      uint64_t, uint64_t) {
  const uint32_t n = static_cast<uint32_t>(size);
  if (n == 0) vm.Fault("bpf_sys_bpf: attr_size is zero");
  NeedReadable(vm, attr, n, "attr");
  uint8_t a[32] = {};
  std::memcpy(a, Ptr(attr), std::min<uint32_t>(n, sizeof(a)));
  uint64_t p1, p2;
  std::memcpy(&p1, a + 8, 8);
  std::memcpy(&p2, a + 16, 8);
  if (cmd == BPF_MAP_UPDATE_ELEM || cmd == BPF_MAP_DELETE_ELEM) {
    int32_t fd;
    std::memcpy(&fd, a, 4);
    if (std::shared_ptr<Map> m = MapFromFd(fd)) {
      NeedReadable(vm, p1, m->key_size(), "attr.key");
      if (cmd == BPF_MAP_UPDATE_ELEM) {
        NeedReadable(vm, p2, m->SyscallValueSize(), "attr.value");
      }
    }
  } else if (cmd == BPF_BTF_LOAD && p1 != 0) {
    uint32_t btf_size;
    std::memcpy(&btf_size, a + 16, 4);
    if (btf_size <= (16u << 20)) NeedReadable(vm, p1, btf_size, "attr.btf");
  } else if (cmd == BPF_PROG_LOAD) {
    uint32_t cnt;
    std::memcpy(&cnt, a + 4, 4);
    if (cnt != 0 && cnt <= 1000000) {
      NeedReadable(vm, p1, cnt * 8ull, "insns");
      // fd_array (offset 120): the entries the instructions index.
      uint64_t fd_array = 0;
      if (n >= 128) std::memcpy(&fd_array, Ptr(attr + 120), 8);
      const auto* insns = static_cast<const interp::RawInsn*>(Ptr(p1));
      uint64_t used = 0;
      for (uint32_t i = 0; fd_array != 0 && i < cnt; ++i) {
        if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
            (insns[i].src == BPF_PSEUDO_MAP_IDX ||
             insns[i].src == BPF_PSEUDO_MAP_IDX_VALUE)) {
          used = std::max<uint64_t>(
              used, uint64_t{static_cast<uint32_t>(insns[i].imm)} + 1);
        }
      }
      if (used != 0) NeedReadable(vm, fd_array, used * 4, "attr.fd_array");
    }
    if (p2 != 0 && !vm.ReadableString(p2, 128)) {
      vm.Fault("bpf_sys_bpf: the license is not a readable string");
    }
  }
  return static_cast<uint64_t>(
      native::SysBpf(static_cast<uint32_t>(cmd), Ptr(attr), n));
}

uint64_t SysClose(Vm&, uint64_t fd, uint64_t, uint64_t, uint64_t, uint64_t) {
  return static_cast<uint64_t>(native::SysClose(static_cast<uint32_t>(fd)));
}

uint64_t BtfFindByNameKind(Vm& vm, uint64_t name, uint64_t name_sz,
                           uint64_t kind, uint64_t flags, uint64_t) {
  const int32_t n = static_cast<int32_t>(name_sz);
  if (n <= 0) vm.Fault("bpf_btf_find_by_name_kind: name_sz %d", n);
  NeedReadable(vm, name, static_cast<uint64_t>(n), "name");
  return static_cast<uint64_t>(native::BtfFindByNameKind(
      static_cast<const char*>(Ptr(name)), n, static_cast<uint32_t>(kind),
      static_cast<int32_t>(flags)));
}

uint64_t KallsymsLookupName(Vm& vm, uint64_t name, uint64_t name_sz,
                            uint64_t flags, uint64_t res, uint64_t) {
  const int32_t n = static_cast<int32_t>(name_sz);
  if (n < 0) vm.Fault("bpf_kallsyms_lookup_name: name_sz %d", n);
  if (n != 0) NeedReadable(vm, name, static_cast<uint64_t>(n), "name");
  NeedWritable(vm, res, 8, "res");
  if (res % 8 != 0) vm.Fault("bpf_kallsyms_lookup_name: res is not aligned");
  uint64_t r = 0;
  const long ret = native::KallsymsLookupName(
      static_cast<const char*>(Ptr(name)), n, static_cast<int32_t>(flags), &r);
  std::memcpy(Ptr(res), &r, 8);
  return static_cast<uint64_t>(ret);
}

// bpf_snprintf: str ARG_PTR_TO_MEM_OR_NULL of str_size bytes, fmt a
// constant string in a read-only map, data NULL or data_len readable bytes;
// the verifier refuses a data_len not a multiple of 8 and a format
// bpf_bprintf_prepare refuses for data_len / 8 arguments.
uint64_t Snprintf(Vm& vm, uint64_t str, uint64_t str_size, uint64_t fmt,
                  uint64_t data, uint64_t data_len) {
  const uint32_t size = static_cast<uint32_t>(str_size);
  const uint32_t len = static_cast<uint32_t>(data_len);
  if (size != 0) NeedWritable(vm, str, size, "str");
  if (!vm.InMapValue(fmt, 1) || vm.Writable(fmt, 1) ||
      !vm.ReadableString(fmt, uint64_t{1} << 20)) {
    vm.Fault("bpf_snprintf: fmt is not a constant string in a read-only map");
  }
  if (data != 0 && len != 0) NeedReadable(vm, data, len, "data");
  const char* f = static_cast<const char*>(Ptr(fmt));
  if (len % 8 != 0 ||
      native::Bprintf(f, UINT32_MAX, nullptr, len / 8, nullptr, nullptr) < 0) {
    vm.Fault("bpf_snprintf: invalid format string");
  }
  auto regions = [&vm](uint64_t addr, uint64_t n) {
    return vm.Readable(addr, std::max<uint64_t>(n, 1));
  };
  const native::OwnedMemory owned = regions;
  return static_cast<uint64_t>(
      native::Snprintf(static_cast<char*>(Ptr(str)), size, f,
                       static_cast<const uint64_t*>(Ptr(data)), len, &owned));
}

// BPF iterator programs (native/seq_helpers.h): seq must be the seq_file
// the run's context handed out (ARG_PTR_TO_BTF_ID), fmt fmt_size readable
// bytes (ARG_PTR_TO_MEM, a non-zero ARG_CONST_SIZE), data NULL only with a
// zero data_len (ARG_PTR_TO_MEM_OR_NULL, ARG_CONST_SIZE_OR_ZERO).
IterSeq* SeqArg(Vm& vm, uint64_t seq, const char* helper) {
  IterSeq* s = CurrentIterSeq();
  if (s == nullptr || seq != reinterpret_cast<uint64_t>(s)) {
    vm.Fault("%s: R1 is not the iterator's seq_file", helper);
  }
  return s;
}

uint64_t SeqPrintfHelper(Vm& vm, uint64_t seq, uint64_t fmt, uint64_t fmt_size,
                         uint64_t data, uint64_t data_len) {
  IterSeq* s = SeqArg(vm, seq, "bpf_seq_printf");
  const uint32_t size = static_cast<uint32_t>(fmt_size);
  const uint32_t len = static_cast<uint32_t>(data_len);
  if (size == 0) vm.Fault("bpf_seq_printf: fmt_size is zero");
  NeedReadable(vm, fmt, size, "fmt");
  if (len != 0) NeedReadable(vm, data, len, "data");
  auto regions = [&vm](uint64_t addr, uint64_t n) {
    return vm.Readable(addr, std::max<uint64_t>(n, 1));
  };
  const native::OwnedMemory owned = regions;
  return static_cast<uint64_t>(
      native::SeqPrintf(s, static_cast<const char*>(Ptr(fmt)), size,
                        static_cast<const uint64_t*>(Ptr(data)), len, &owned));
}

uint64_t SeqWriteHelper(Vm& vm, uint64_t seq, uint64_t data, uint64_t len,
                        uint64_t, uint64_t) {
  IterSeq* s = SeqArg(vm, seq, "bpf_seq_write");
  const uint32_t n = static_cast<uint32_t>(len);
  if (n != 0) NeedReadable(vm, data, n, "data");
  return static_cast<uint64_t>(native::SeqWrite(s, Ptr(data), n));
}

// bpf_seq_printf_btf: ptr ARG_PTR_TO_MEM | MEM_RDONLY of an
// ARG_CONST_SIZE_OR_ZERO size (0 reaches the helper: -EINVAL); the value
// shown is read where the program's memory is, as bpf_snprintf_btf's.
uint64_t SeqPrintfBtfHelper(Vm& vm, uint64_t seq, uint64_t ptr,
                            uint64_t ptr_size, uint64_t flags, uint64_t) {
  IterSeq* s = SeqArg(vm, seq, "bpf_seq_printf_btf");
  const uint32_t pn = static_cast<uint32_t>(ptr_size);
  if (pn != 0) NeedReadable(vm, ptr, pn, "ptr");
  auto regions = [&vm](uint64_t addr, uint64_t len) {
    return vm.Readable(addr, len);
  };
  const native::ReadableFn readable = regions;
  return static_cast<uint64_t>(
      native::SeqPrintfBtf(s, Ptr(ptr), pn, flags, &readable));
}

// The BPF timer helpers (native/timers.cc). What the verifier refuses at
// load stops the run: a map with timers used by a kprobe, tracepoint,
// perf_event or raw_tp program (check_map_prog_compatibility; measured on
// 6.18 with a kprobe), a timer argument outside the program's writable map
// memory, a bpf_timer_init whose timer is not the struct bpf_timer of one of
// its map argument's values (process_timer_func), and a callback that is not
// a subprogram.
uint8_t* TimerArg(Vm& vm, uint64_t timer) {
  const uint32_t t = vm.prog_type();
  if (t == BPF_PROG_TYPE_KPROBE || t == BPF_PROG_TYPE_TRACEPOINT ||
      t == BPF_PROG_TYPE_PERF_EVENT || t == BPF_PROG_TYPE_RAW_TRACEPOINT ||
      t == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE) {
    vm.Fault("tracing progs cannot use bpf_timer yet");
  }
  NeedWritable(vm, timer, kTimerSize, "timer");
  return static_cast<uint8_t*>(Ptr(timer));
}

uint64_t TimerInitHelper(Vm& vm, uint64_t timer, uint64_t map, uint64_t flags,
                         uint64_t, uint64_t) {
  BoundMap* b = MapArg(vm, map);
  TimerSite site;
  if (!b->map->TimerSiteOf(TimerArg(vm, timer), &site)) {
    vm.Fault(
        "bpf_timer_init: R1 is not the struct bpf_timer of a value of "
        "map %s",
        b->name.c_str());
  }
  return static_cast<uint64_t>(bpfemu_timer_init(
      static_cast<struct bpf_timer*>(Ptr(timer)), Ptr(map), flags));
}

// A bytecode callback as bpf_timer_set_callback stores it: the program
// (held, as the kernel holds cb->prog) and the subprogram.
struct BytecodeTimerCb {
  std::shared_ptr<const interp::Program> code;
  uint64_t callback;
};
struct TimerCall {
  const BytecodeTimerCb* cb;
  uint64_t map;
  void* key;
  void* value;
};

// The shell program's body: the callback, with the timer's map's key and
// value sizes.
int RunTimerCallback(void* ctx) {
  const auto* c = static_cast<const TimerCall*>(ctx);
  const Map& map = *internal::BoundOf(Ptr(c->map))->map;
  c->cb->code->RunCallback(
      c->cb->callback, c->map, reinterpret_cast<uint64_t>(c->key),
      map.key_size(), reinterpret_cast<uint64_t>(c->value), map.value_size());
  return 0;
}

// bpf_timer_cb() for a bytecode callback: run through ProgRun() on a shell
// program, so that a fault ends only the callback.
void CallBytecode(void* arg, uint64_t map, void* key, void* value) {
  TimerCall call{static_cast<const BytecodeTimerCb*>(arg), map, key, value};
  Prog shell;
  shell.func = &RunTimerCallback;
  ProgRun(shell, &call);
}

uint64_t TimerSetCallbackHelper(Vm& vm, uint64_t timer, uint64_t callback,
                                uint64_t, uint64_t, uint64_t) {
  uint8_t* t = TimerArg(vm, timer);
  if (!vm.IsCallback(callback)) {
    vm.Fault("bpf_timer_set_callback: R2 is not a callback");
  }
  auto cb = std::make_shared<BytecodeTimerCb>(
      BytecodeTimerCb{vm.program()->shared_from_this(), callback});
  void* arg = cb.get();
  return static_cast<uint64_t>(
      TimerSetCallback(t, {&CallBytecode, arg, std::move(cb)}));
}

uint64_t TimerStartHelper(Vm& vm, uint64_t timer, uint64_t nsecs,
                          uint64_t flags, uint64_t, uint64_t) {
  TimerArg(vm, timer);
  return static_cast<uint64_t>(bpfemu_timer_start(
      static_cast<struct bpf_timer*>(Ptr(timer)), nsecs, flags));
}

uint64_t TimerCancelHelper(Vm& vm, uint64_t timer, uint64_t, uint64_t, uint64_t,
                           uint64_t) {
  TimerArg(vm, timer);
  return static_cast<uint64_t>(
      bpfemu_timer_cancel(static_cast<struct bpf_timer*>(Ptr(timer))));
}

// fentry / fexit / fmod_ret programs (native/tracing_helpers.cc): the
// trampoline's frame (emu/trampoline.h).
uint64_t GetFuncArg(Vm& vm, uint64_t ctx, uint64_t n, uint64_t value, uint64_t,
                    uint64_t) {
  NeedWritable(vm, value, 8, "value");
  return static_cast<uint64_t>(bpfemu_get_func_arg(
      Ptr(ctx), static_cast<uint32_t>(n), static_cast<__u64*>(Ptr(value))));
}

uint64_t GetFuncRet(Vm& vm, uint64_t ctx, uint64_t value, uint64_t, uint64_t,
                    uint64_t) {
  NeedWritable(vm, value, 8, "value");
  return static_cast<uint64_t>(
      bpfemu_get_func_ret(Ptr(ctx), static_cast<__u64*>(Ptr(value))));
}

uint64_t GetFuncArgCnt(Vm&, uint64_t ctx, uint64_t, uint64_t, uint64_t,
                       uint64_t) {
  return static_cast<uint64_t>(bpfemu_get_func_arg_cnt(Ptr(ctx)));
}

uint64_t GetFuncIp(Vm&, uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t) {
  return bpfemu_get_func_ip(Ptr(ctx));
}

uint64_t GetAttachCookie(Vm&, uint64_t ctx, uint64_t, uint64_t, uint64_t,
                         uint64_t) {
  return bpfemu_get_attach_cookie(Ptr(ctx));
}

uint64_t NsCurrentPidTgid(Vm& vm, uint64_t dev, uint64_t ino, uint64_t nsdata,
                          uint64_t size, uint64_t) {
  const uint32_t n = static_cast<uint32_t>(size);
  NeedWritable(vm, nsdata, n, "nsdata");
  return static_cast<uint64_t>(bpfemu_get_ns_current_pid_tgid(
      dev, ino, static_cast<struct bpf_pidns_info*>(Ptr(nsdata)), n));
}

// bpf_trace_vprintk(): bpf_trace_printk with bpf_snprintf's argument array.
uint64_t TraceVprintk(Vm& vm, uint64_t fmt, uint64_t fmt_size, uint64_t data,
                      uint64_t data_len, uint64_t) {
  const uint32_t n = static_cast<uint32_t>(fmt_size);
  const uint32_t len = static_cast<uint32_t>(data_len);
  NeedReadable(vm, fmt, n, "fmt");
  if (data != 0 && len != 0) NeedReadable(vm, data, len, "data");
  auto regions = [&vm](uint64_t addr, uint64_t size) {
    return vm.Readable(addr, std::max<uint64_t>(size, 1));
  };
  const native::OwnedMemory owned = regions;
  std::string out;
  const int err =
      native::BprintfData(static_cast<const char*>(Ptr(fmt)), n,
                          static_cast<const uint64_t*>(Ptr(data)), len, &owned,
                          &out, 1024 /* MAX_BPRINTF_BUF */);
  if (err < 0) return static_cast<uint64_t>(static_cast<int64_t>(err));
  return static_cast<uint64_t>(bpfemu_trace_printk("%s", 3, out.c_str()));
}

// The calling task's own memory and signals (native/tracing_helpers.cc).
// bpf_probe_write_user: src is ARG_PTR_TO_MEM | MEM_RDONLY of a nonzero
// ARG_CONST_SIZE.
uint64_t ProbeWriteUser(Vm& vm, uint64_t dst, uint64_t src, uint64_t size,
                        uint64_t, uint64_t) {
  const uint32_t n = static_cast<uint32_t>(size);
  if (n == 0) vm.Fault("bpf_probe_write_user: len is zero");
  NeedReadable(vm, src, n, "src");
  auto regions = [&vm](uint64_t addr, uint64_t len) {
    return vm.Readable(addr, len);
  };
  const native::OwnedMemory owned = regions;
  return static_cast<uint64_t>(
      native::ProbeWriteUser(dst, Ptr(src), n, &owned));
}

template <bool kThread>
uint64_t SendSignal(Vm&, uint64_t sig, uint64_t, uint64_t, uint64_t, uint64_t) {
  const uint32_t s = static_cast<uint32_t>(sig);
  return static_cast<uint64_t>(kThread ? bpfemu_send_signal_thread(s)
                                       : bpfemu_send_signal(s));
}

// bpf_task_pt_regs: task is ARG_PTR_TO_BTF_ID of task_struct; the answer
// is a trusted pt_regs, readable.
uint64_t TaskPtRegs(Vm& vm, uint64_t task, uint64_t, uint64_t, uint64_t,
                    uint64_t) {
  const uint8_t* block = nullptr;
  size_t size = 0;
  const void* regs = native::TaskPtRegs(Ptr(task), &block, &size);
  if (regs == nullptr) vm.Fault("bpf_task_pt_regs: task is not a task_struct");
  vm.AddRegion(reinterpret_cast<uint64_t>(block), size, false);
  return reinterpret_cast<uint64_t>(regs);
}

// bpf_snprintf_btf: str ARG_PTR_TO_MEM of a nonzero ARG_CONST_SIZE, ptr
// ARG_PTR_TO_MEM | MEM_RDONLY of a nonzero ARG_CONST_SIZE; the value shown
// is read where the program's memory is (else -ERANGE / -EFAULT, as
// copy_from_kernel_nofault answers).
uint64_t SnprintfBtfHelper(Vm& vm, uint64_t str, uint64_t str_size,
                           uint64_t ptr, uint64_t ptr_size, uint64_t flags) {
  const uint32_t n = static_cast<uint32_t>(str_size);
  const uint32_t pn = static_cast<uint32_t>(ptr_size);
  if (n == 0 || pn == 0) vm.Fault("bpf_snprintf_btf: a size is zero");
  NeedWritable(vm, str, n, "str");
  NeedReadable(vm, ptr, pn, "ptr");
  auto regions = [&vm](uint64_t addr, uint64_t len) {
    return vm.Readable(addr, len);
  };
  const native::ReadableFn readable = regions;
  return static_cast<uint64_t>(native::SnprintfBtf(
      static_cast<char*>(Ptr(str)), n, Ptr(ptr), pn, flags, &readable));
}

// bpf_sock_from_file: file is ARG_PTR_TO_BTF_ID of struct file (which a
// legacy pointer walk may leave NULL: the kernel then dereferences NULL);
// the answer, a struct socket or NULL, lies in the same view block.
uint64_t SockFromFileHelper(Vm& vm, uint64_t file, uint64_t, uint64_t, uint64_t,
                            uint64_t) {
  if (file == 0) vm.Fault("bpf_sock_from_file: file is NULL");
  const size_t size = native::FileViewSize();
  if (size == 0) vm.Fault("bpf_sock_from_file: no kernel BTF struct file");
  NeedReadable(vm, file, size, "file");
  return reinterpret_cast<uint64_t>(bpfemu_sock_from_file(Ptr(file)));
}

// bpf_skb_output / bpf_xdp_output: R1 a struct sk_buff / xdp_buff
// (ARG_PTR_TO_BTF_ID), which bpfemu has none of (native/tracing_helpers.cc);
// the map a PERF_EVENT_ARRAY, meta ARG_PTR_TO_MEM | MEM_RDONLY of
// ARG_CONST_SIZE_OR_ZERO.
template <bool kXdp>
uint64_t EventOutput(Vm& vm, uint64_t obj, uint64_t map, uint64_t flags,
                     uint64_t meta, uint64_t size) {
  const char* name = kXdp ? "bpf_xdp_output" : "bpf_skb_output";
  if (MapArg(vm, map)->perf == nullptr) {
    vm.Fault("%s: the map is not a PERF_EVENT_ARRAY", name);
  }
  if (size != 0) NeedReadable(vm, meta, size, "meta");
  if (obj != 0) {
    vm.Fault("%s: R1 is no struct %s (bpfemu models none)", name,
             kXdp ? "xdp_buff" : "sk_buff");
  }
  return static_cast<uint64_t>(
      kXdp ? bpfemu_xdp_output(nullptr, Ptr(map), flags, Ptr(meta), size)
           : bpfemu_skb_output(nullptr, Ptr(map), flags, Ptr(meta), size));
}

// entries: ARG_PTR_TO_UNINIT_MEM of ARG_CONST_SIZE_OR_ZERO.
uint64_t BranchSnapshot(Vm& vm, uint64_t entries, uint64_t size, uint64_t flags,
                        uint64_t, uint64_t) {
  const uint32_t n = static_cast<uint32_t>(size);
  if (n != 0) NeedWritable(vm, entries, n, "entries");
  return static_cast<uint64_t>(
      bpfemu_get_branch_snapshot(Ptr(entries), n, flags));
}

// dst: ARG_PTR_TO_UNINIT_MEM of ARG_CONST_SIZE_OR_ZERO; tsk: a trusted
// task_struct, which here is a task view this thread was handed.
uint64_t CopyFromUserTask(Vm& vm, uint64_t dst, uint64_t size, uint64_t src,
                          uint64_t tsk, uint64_t flags) {
  const uint32_t n = static_cast<uint32_t>(size);
  if (n != 0) NeedWritable(vm, dst, n, "dst");
  long tid = -1;
  if (!native::TaskViewTid(Ptr(tsk), &tid)) {
    vm.Fault("bpf_copy_from_user_task: tsk is not a task_struct");
  }
  auto regions = [&vm](uint64_t addr, uint64_t len) {
    return vm.Readable(addr, len);
  };
  const native::OwnedMemory owned = regions;
  return static_cast<uint64_t>(
      native::CopyFromUserTask(Ptr(dst), n, src, tid, flags, &owned));
}

// bpf_find_vma: task ARG_PTR_TO_BTF_ID (a task view), callback
// ARG_PTR_TO_FUNC, ctx ARG_PTR_TO_STACK_OR_NULL. The callback runs with
// R1 = the task, R2 = the vma (read-only, PTR_TO_BTF_ID, with the struct
// file vm_file points to), R3 = ctx; the verifier holds its return value
// to 0 or 1.
uint64_t FindVmaHelper(Vm& vm, uint64_t task, uint64_t addr, uint64_t callback,
                       uint64_t ctx, uint64_t flags) {
  if (!vm.IsCallback(callback)) vm.Fault("bpf_find_vma: R3 is not a callback");
  long tid = -1;
  if (!native::TaskViewTid(Ptr(task), &tid)) {
    vm.Fault("bpf_find_vma: task is not a task_struct");
  }
  return static_cast<uint64_t>(native::FindVmaWith(
      Ptr(task), tid, addr, flags,
      [&](const void* vma, size_t, size_t block_size) {
        const auto v = reinterpret_cast<uint64_t>(vma);
        vm.AddRegion(v, block_size, false);
        const uint64_t r = vm.CallCallback(callback, task, v, ctx);
        if (r > 1) {
          vm.Fault(
              "bpf_find_vma: the callback returned %llu (the verifier "
              "allows 0 or 1)",
              static_cast<unsigned long long>(r));
        }
      }));
}

// kptr46: kernel/bpf/helpers.c bpf_kptr_xchg(dst, ptr): the object at the
// kptr field `dst` is exchanged with `ptr` (emu/graph_obj.h KptrXchg).
// What the verifier proves stops the run: dst inside the program's writable
// memory, and ptr an allocated object the program owns (or NULL), not the
// object holding dst.
uint64_t KptrXchgHelper(Vm& vm, uint64_t dst, uint64_t ptr, uint64_t, uint64_t,
                        uint64_t) {
  NeedWritable(vm, dst, 8, "dst");
  if (dst % 8 != 0) vm.Fault("bpf_kptr_xchg: R1 is not a kptr field");
  void* old = nullptr;
  if (graph::KptrXchg(Ptr(dst), Ptr(ptr), &old) != 0) {
    vm.Fault("bpf_kptr_xchg: R2 must be an allocated object the program owns");
  }
  return reinterpret_cast<uint64_t>(old);
}

// kptr46: kernel/bpf/helpers.c bpf_per_cpu_ptr(ptr, cpu) and
// bpf_this_cpu_ptr(ptr) on a bpf_percpu_obj_new object (emu/graph_obj.h
// PerCpuPtr): that CPU's copy, NULL for a cpu at or past the possible
// CPUs. Per-CPU kernel variables (`__ksym` percpu data) are not emulated:
// another pointer stops the run (the verifier refuses what is no per-CPU
// pointer).
uint64_t PerCpuPtrOf(Vm& vm, uint64_t ptr, uint64_t cpu, const char* name) {
  bool is_percpu = false;
  void* p = graph::PerCpuPtr(Ptr(ptr), cpu, &is_percpu);
  if (!is_percpu) vm.Fault("%s: R1 is not a per-CPU object", name);
  return reinterpret_cast<uint64_t>(p);
}

uint64_t PerCpuPtrHelper(Vm& vm, uint64_t ptr, uint64_t cpu, uint64_t, uint64_t,
                         uint64_t) {
  return PerCpuPtrOf(vm, ptr, static_cast<uint32_t>(cpu), "bpf_per_cpu_ptr");
}

uint64_t ThisCpuPtrHelper(Vm& vm, uint64_t ptr, uint64_t, uint64_t, uint64_t,
                          uint64_t) {
  return PerCpuPtrOf(vm, ptr, bpfemu_get_smp_processor_id(),
                     "bpf_this_cpu_ptr");
}

enum class Offered {
  kAny,
  kSkbProgs,        // socket-buffer programs (IsSkbProg)
  kSkSkb,           // BPF_PROG_TYPE_SK_SKB
  kSkMsg,           // BPF_PROG_TYPE_SK_MSG
  kTracing,         // bpf_tracing_func_proto's callers (TracingFuncProto)
  kTracingThenAny,  // those; every type after 6.12 (bpf_base_func_proto)
  kTracingThenAnySince612,  // those; every type from 6.12
  kCurrentTask,             // those and cgroup_current_func_proto's callers;
                            // every type after 6.12 (bpf_get_current_comm)
  kCurrentIds,              // those and sk_msg; every type after 6.12
  kCurrentIdsSince612,      // those; every type from 6.12 (bpf_base_func_proto)
  kCoarseNs,                // bpf_ktime_get_coarse_ns's program types
  kPerfOutput,              // bpf_perf_event_output's program types
  kXdp,                     // BPF_PROG_TYPE_XDP
  kTcLike,                  // tc and lwt_xmit
  kTcLikeOrSkSkb,           // those and SK_SKB (bpf_skb_store_bytes)
  kTcOrSkSkb,               // tc and SK_SKB (bpf_skb_adjust_room)
  kPacketPrograms,   // those, XDP and the other lwt types (bpf_csum_diff)
  kCgroupCurrent,    // tracing and cgroup_current_func_proto's callers
  kCgroupCommon,     // cgroup_common_func_proto's callers
  kTcOrLwt,          // tc_cls_act_func_proto, lwt_out_func_proto's callers
  kSkbPullData,      // tc, lwt (seg6local after 6.12), sk_skb
  kCgroupClassid,    // those and sk_msg; every type after 6.12
  kTcOrCgroupSkb,    // tc_cls_act_func_proto, cg_skb_func_proto
  kSkStorageGet,     // the bpf_sk_storage_get_proto users (below)
  kSkStorageDelete,  // and of bpf_sk_storage_delete_proto
  kTcLikeOrXdp,      // tc, lwt_xmit and XDP (bpf_redirect)
  kTc,               // tc only (bpf_skb_vlan_push, bpf_set_hash ...)
  kTcOrSkLookup,     // tc and SK_LOOKUP (bpf_sk_assign)
  kTcOrXdp,          // tc and XDP (bpf_check_mtu)
  kSkLookup,         // tc, XDP, sk_skb, cg_skb, sock_addr (bpf_sk_lookup_*)
  kSkRelease,        // those and SK_LOOKUP (bpf_sk_release)
  kSkbLoadBytes,     // socket-buffer programs, lwt, reuseport, dissector
  kSkFilterOrTc,     // socket filter, cg_skb, tc (bpf_skb_load_bytes_relative)
  kSkbSocket,        // those and sk_skb (bpf_get_socket_uid)
  kSkFilterTcOrReuseport,  // kSkFilterOrTc and SK_REUSEPORT
  kSocketCookie,           // bpf_get_socket_cookie's program types
  kNetnsCookie,            // bpf_get_netns_cookie's (skb programs after 6.12)
  kSyscall,                // BPF_PROG_TYPE_SYSCALL (syscall_prog_func_proto)
  kLwtInOrXmit,            // LWT_IN and LWT_XMIT (bpf_lwt_push_encap)
  kSeg6Local,          // LWT_SEG6LOCAL with CONFIG_IPV6_SEG6_BPF (HasSeg6Bpf)
  kKprobeOverride,     // KPROBE with CONFIG_BPF_KPROBE_OVERRIDE (none here)
  kLircMode2,          // BPF_PROG_TYPE_LIRC_MODE2 (lirc_mode2_func_proto)
  kTracingProg,        // tracing_prog_func_proto's: TRACING, SYSCALL, LSM
  kIter,               // TRACING programs of attach type BPF_TRACE_ITER
  kMightSleep,         // kTracing, every type after 6.12; refused
                       // unless sleepable (BytecodeLinker::Refuses)
  kTrampoline,         // fentry, fexit, fmod_ret (bpf_prog_has_trampoline)
  kFuncIp,             // kTracing; ENOTSUPP but for kprobes and trampolines
  kAttachCookie,       // kprobe, tp, perf, raw_tp (6.12 on), trampoline,
                       // tp_btf (bpf_get_attach_cookie)
  kSkBase,             // bpf_sk_base_func_proto's callers and
                       // tracing_prog_func_proto's (TRACING, SYSCALL, LSM)
  kXdpOrTracingProg,   // XDP and tracing_prog_func_proto's callers
  kTcpSock,            // tc, cg_skb, sock_ops, cgroup sockopt (bpf_tcp_sock)
  kCgroupSkb,          // BPF_PROG_TYPE_CGROUP_SKB (bpf_sk_cgroup_id)
  kSysctl,             // BPF_PROG_TYPE_CGROUP_SYSCTL (sysctl_func_proto)
  kSkReuseport,        // BPF_PROG_TYPE_SK_REUSEPORT (sk_reuseport_func_proto)
  kPerfEvent,          // BPF_PROG_TYPE_PERF_EVENT (pe_prog_func_proto)
  kSockAddrConnect,    // CGROUP_SOCK_ADDR of the connect4/6 hooks (bpf_bind)
  kCgroupRetval,       // kCgroupCommon but for the attach types whose hook
                       // keeps no retval (BytecodeLinker::Helper)
  kSockOps,            // BPF_PROG_TYPE_SOCK_OPS (sock_ops_func_proto)
  kSockOpsOrSockAddr,  // sock_ops and cgroup sock_addr but for the unix
                       // getpeername / getsockname hooks (bpf_setsockopt)
  kLsm,                // BPF_PROG_TYPE_LSM (bpf_lsm_func_proto)
  kLsmIma,             // LSM; allowed from a sleepable hook, might sleep
  kDPath,              // tracing_prog_func_proto's callers; allowed where
                       // bpf_d_path_allowed says (BytecodeLinker::Refuses)
  kTcpCa,              // STRUCT_OPS programs of tcp_congestion_ops
                       // (bpf_tcp_ca_get_func_proto; the attach type,
                       // BytecodeLinker::Helper)
};

struct HelperDef {
  int32_t id;
  interp::HelperFn fn;
  bool gpl_only;
  // The program types offered the helper (the func_proto that returns it).
  Offered only;
};

// The program types whose func_proto falls back to bpf_tracing_func_proto
// (kernel/trace/bpf_trace.c): kprobe, tracepoint, perf event, raw
// tracepoint and tracing programs, and SYSCALL (syscall_prog_func_proto)
// and LSM (bpf_lsm_func_proto) through tracing_prog_func_proto.
bool TracingFuncProto(uint32_t t) {
  return IsTracingProg(t) || t == BPF_PROG_TYPE_SYSCALL ||
         t == BPF_PROG_TYPE_LSM;
}

// tracing_prog_func_proto's own callers: TRACING, SYSCALL and LSM.
bool TracingProgFuncProto(uint32_t t) {
  return t == BPF_PROG_TYPE_TRACING || t == BPF_PROG_TYPE_SYSCALL ||
         t == BPF_PROG_TYPE_LSM;
}

bool IsLwt(uint32_t t) {
  return t == BPF_PROG_TYPE_LWT_IN || t == BPF_PROG_TYPE_LWT_OUT ||
         t == BPF_PROG_TYPE_LWT_XMIT || t == BPF_PROG_TYPE_LWT_SEG6LOCAL;
}

// cgroup_current_func_proto's callers (kernel/bpf/cgroup.c) with the
// tracing ones.
bool CgroupCurrentOrTracing(uint32_t t) {
  return TracingFuncProto(t) || t == BPF_PROG_TYPE_CGROUP_SOCK ||
         t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
         t == BPF_PROG_TYPE_CGROUP_SOCKOPT ||
         t == BPF_PROG_TYPE_CGROUP_SYSCTL || t == BPF_PROG_TYPE_CGROUP_DEVICE;
}

bool IsTc(uint32_t t) {
  return t == BPF_PROG_TYPE_SCHED_CLS || t == BPF_PROG_TYPE_SCHED_ACT;
}

// Which program types each category is offered to. Checked pair by pair
// against the running kernel by //kernel_compare:helper_offer_compare_test
// (every program type the kernel loads, every helper id); the 6.12 and 6.1
// answers follow those kernels' sources, and the same test runs in the
// kernel matrix's guests.
bool OfferedTo(Offered o, uint32_t prog_type) {
  const uint32_t t = prog_type;
  const bool tc_like = IsTcLike(t);
  const bool after_6_12 = TargetKernel() > KernelVersion::k6_12;
  const bool after_6_1 = TargetKernel() > KernelVersion::k6_1;
  switch (o) {
    case Offered::kAny:
      return true;
    case Offered::kSkbProgs:
      return IsSkbProg(t);
    case Offered::kSkbLoadBytes:
      return IsSkbProg(t) || IsLwt(t) || t == BPF_PROG_TYPE_SK_REUSEPORT ||
             t == BPF_PROG_TYPE_FLOW_DISSECTOR;
    case Offered::kSkSkb:
      return t == BPF_PROG_TYPE_SK_SKB;
    case Offered::kSkMsg:
      return t == BPF_PROG_TYPE_SK_MSG;
    case Offered::kTracing:
      return TracingFuncProto(t);
    case Offered::kTracingThenAny:
      return after_6_12 || TracingFuncProto(t);
    case Offered::kTracingThenAnySince612:
      return after_6_1 || TracingFuncProto(t);
    case Offered::kCurrentTask:
      return after_6_12 || CgroupCurrentOrTracing(t);
    case Offered::kCurrentIds:
      return after_6_12 || CgroupCurrentOrTracing(t) ||
             t == BPF_PROG_TYPE_SK_MSG;
    case Offered::kCurrentIdsSince612:
      return after_6_1 || CgroupCurrentOrTracing(t) ||
             t == BPF_PROG_TYPE_SK_MSG;
    case Offered::kMightSleep:  // then refused unless sleepable (Refuses)
      return after_6_12 || TracingFuncProto(t);
    // net/core/filter.c: bpf_sk_base_func_proto's callers but flow
    // dissectors; cgroup sysctl (kernel/bpf/cgroup.c).
    case Offered::kCoarseNs:
      return IsSkbProg(t) || IsLwt(t) || t == BPF_PROG_TYPE_XDP ||
             t == BPF_PROG_TYPE_CGROUP_SOCK ||
             t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
             t == BPF_PROG_TYPE_SOCK_OPS || t == BPF_PROG_TYPE_SK_MSG ||
             t == BPF_PROG_TYPE_SK_REUSEPORT ||
             t == BPF_PROG_TYPE_FLOW_DISSECTOR ||
             t == BPF_PROG_TYPE_CGROUP_SYSCTL || t == BPF_PROG_TYPE_SK_LOOKUP;
    // Every func_proto but sk_reuseport's, flow_dissector's, netfilter's
    // and struct_ops' (bpf_base_func_proto has no perf_event_output;
    // measured for tcp_congestion_ops programs).
    case Offered::kPerfOutput:
      return t != BPF_PROG_TYPE_SK_REUSEPORT &&
             t != BPF_PROG_TYPE_FLOW_DISSECTOR && t != 32 /* NETFILTER */ &&
             t != BPF_PROG_TYPE_STRUCT_OPS;
    case Offered::kXdp:
      return t == BPF_PROG_TYPE_XDP;
    case Offered::kXdpOrTracingProg:
      return t == BPF_PROG_TYPE_XDP || TracingProgFuncProto(t);
    case Offered::kTcLike:
      return tc_like;
    case Offered::kTcLikeOrSkSkb:
      return tc_like || t == BPF_PROG_TYPE_SK_SKB;
    case Offered::kTcOrSkSkb:
      return IsTc(t) || t == BPF_PROG_TYPE_SK_SKB;
    case Offered::kTcOrLwt:
      return IsTc(t) || IsLwt(t);
    case Offered::kSkbPullData:
      return IsTc(t) || t == BPF_PROG_TYPE_SK_SKB ||
             t == BPF_PROG_TYPE_LWT_IN || t == BPF_PROG_TYPE_LWT_OUT ||
             t == BPF_PROG_TYPE_LWT_XMIT ||
             (after_6_12 && t == BPF_PROG_TYPE_LWT_SEG6LOCAL);
    // tc, lwt, sk_msg and cgroup_current_func_proto's callers; every type
    // after 6.12.
    case Offered::kCgroupClassid:
      return after_6_12 || IsTc(t) || IsLwt(t) || t == BPF_PROG_TYPE_SK_MSG ||
             (CgroupCurrentOrTracing(t) && !TracingFuncProto(t));
    case Offered::kTcOrCgroupSkb:
      return IsTc(t) || t == BPF_PROG_TYPE_CGROUP_SKB;
    case Offered::kCgroupCommon:
      return t == BPF_PROG_TYPE_CGROUP_SKB || t == BPF_PROG_TYPE_CGROUP_SOCK ||
             t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
             t == BPF_PROG_TYPE_SOCK_OPS || t == BPF_PROG_TYPE_CGROUP_SOCKOPT ||
             t == BPF_PROG_TYPE_CGROUP_SYSCTL ||
             t == BPF_PROG_TYPE_CGROUP_DEVICE;
    // bpf_tracing_func_proto and cgroup_current_func_proto; every type
    // after 6.12.
    // (cgroup programs from 6.12.)
    case Offered::kCgroupCurrent:
      return after_6_12 || TracingFuncProto(t) ||
             (after_6_1 && CgroupCurrentOrTracing(t));
    case Offered::kTcLikeOrXdp:
      return tc_like || t == BPF_PROG_TYPE_XDP;
    case Offered::kTc:
      return IsTc(t);
    case Offered::kTcOrSkLookup:
      return IsTc(t) || t == BPF_PROG_TYPE_SK_LOOKUP;
    case Offered::kTcOrXdp:
      return IsTc(t) || t == BPF_PROG_TYPE_XDP;
    case Offered::kSkLookup:
    case Offered::kSkRelease:
      return IsTc(t) || t == BPF_PROG_TYPE_XDP || t == BPF_PROG_TYPE_SK_SKB ||
             t == BPF_PROG_TYPE_CGROUP_SKB ||
             t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
             (o == Offered::kSkRelease && t == BPF_PROG_TYPE_SK_LOOKUP);
    case Offered::kSkFilterOrTc:
    case Offered::kSkFilterTcOrReuseport:
    case Offered::kSkbSocket:
      return t == BPF_PROG_TYPE_SOCKET_FILTER ||
             t == BPF_PROG_TYPE_CGROUP_SKB || IsTc(t) ||
             (o == Offered::kSkbSocket && t == BPF_PROG_TYPE_SK_SKB) ||
             (o == Offered::kSkFilterTcOrReuseport &&
              t == BPF_PROG_TYPE_SK_REUSEPORT);
    // The sk_buff, socket and sock_addr variants (net/core/filter.c) and
    // the BTF socket pointer one of tracing_prog_func_proto.
    case Offered::kSocketCookie:
      return t == BPF_PROG_TYPE_SOCKET_FILTER ||
             t == BPF_PROG_TYPE_CGROUP_SKB || IsTc(t) ||
             t == BPF_PROG_TYPE_SK_SKB || t == BPF_PROG_TYPE_CGROUP_SOCK ||
             t == BPF_PROG_TYPE_SOCK_OPS ||
             t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
             t == BPF_PROG_TYPE_SK_REUSEPORT || TracingProgFuncProto(t);
    // The socket-side variants; tc from 6.13.
    case Offered::kNetnsCookie:
      return ((t == BPF_PROG_TYPE_SOCKET_FILTER ||
               t == BPF_PROG_TYPE_CGROUP_SKB || IsTc(t)) &&
              after_6_12) ||
             t == BPF_PROG_TYPE_CGROUP_SOCK || t == BPF_PROG_TYPE_SOCK_OPS ||
             t == BPF_PROG_TYPE_SK_MSG || t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
             t == BPF_PROG_TYPE_CGROUP_SOCKOPT;
    case Offered::kSyscall:
      return t == BPF_PROG_TYPE_SYSCALL;
    case Offered::kKprobeOverride:
      return t == BPF_PROG_TYPE_KPROBE && native::KprobeOverrideBuilt();
    case Offered::kLircMode2:
      return t == BPF_PROG_TYPE_LIRC_MODE2;
    case Offered::kSeg6Local:
      return t == BPF_PROG_TYPE_LWT_SEG6LOCAL && HasSeg6Bpf(TargetKernel());
    case Offered::kLwtInOrXmit:
      return t == BPF_PROG_TYPE_LWT_IN || t == BPF_PROG_TYPE_LWT_XMIT;
    case Offered::kTracingProg:
      return TracingProgFuncProto(t);
    case Offered::kIter:  // and the attach type (BytecodeLinker::Helper)
      return t == BPF_PROG_TYPE_TRACING;
    case Offered::kTrampoline:  // and the attach type (BytecodeLinker::Helper)
      return t == BPF_PROG_TYPE_TRACING;
    case Offered::kFuncIp:  // ENOTSUPP for most (BytecodeLinker::Refuses)
      return TracingFuncProto(t);
    // kprobe_prog_func_proto, tp_prog_func_proto, pe_prog_func_proto,
    // raw_tp_prog_func_proto (6.10), tracing_prog_func_proto (and the
    // attach type, BytecodeLinker::Helper).
    case Offered::kAttachCookie:
      return t == BPF_PROG_TYPE_KPROBE || t == BPF_PROG_TYPE_TRACEPOINT ||
             t == BPF_PROG_TYPE_PERF_EVENT || t == BPF_PROG_TYPE_TRACING ||
             ((t == BPF_PROG_TYPE_RAW_TRACEPOINT ||
               t == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE) &&
              TargetKernel() > KernelVersion::k6_1);
    case Offered::kPacketPrograms:
      return tc_like || t == BPF_PROG_TYPE_XDP || IsLwt(t);
    // net/core/filter.c (tc, cg_skb, sock_ops, sk_msg, sock_addr; cgroup
    // sock: get only), kernel/bpf/cgroup.c (sockopt), bpf_trace.c
    // (tracing, SYSCALL: refused as not allowed, Refuses), bpf_lsm.c.
    case Offered::kSkStorageGet:
    case Offered::kSkStorageDelete:
      return IsTc(t) || t == BPF_PROG_TYPE_CGROUP_SKB ||
             t == BPF_PROG_TYPE_SOCK_OPS || t == BPF_PROG_TYPE_SK_MSG ||
             t == BPF_PROG_TYPE_CGROUP_SOCKOPT ||
             t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR || TracingProgFuncProto(t) ||
             (o == Offered::kSkStorageGet && t == BPF_PROG_TYPE_CGROUP_SOCK);
    // net/core/filter.c: the program types whose func_proto falls back to
    // bpf_sk_base_func_proto; kernel/trace/bpf_trace.c
    // tracing_prog_func_proto (TRACING, SYSCALL, and LSM after
    // bpf_lsm_func_proto).
    case Offered::kSkBase:
      return t == BPF_PROG_TYPE_SOCKET_FILTER ||
             t == BPF_PROG_TYPE_CGROUP_SKB || IsTc(t) ||
             t == BPF_PROG_TYPE_XDP || t == BPF_PROG_TYPE_SOCK_OPS ||
             t == BPF_PROG_TYPE_SK_MSG || t == BPF_PROG_TYPE_SK_SKB ||
             t == BPF_PROG_TYPE_FLOW_DISSECTOR || IsLwt(t) ||
             t == BPF_PROG_TYPE_SK_LOOKUP ||
             t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR || TracingProgFuncProto(t);
    // tc_cls_act_func_proto, cg_skb_func_proto, sock_ops_func_proto and
    // kernel/bpf/cgroup.c cg_sockopt_func_proto.
    case Offered::kTcpSock:
      return IsTc(t) || t == BPF_PROG_TYPE_CGROUP_SKB ||
             t == BPF_PROG_TYPE_SOCK_OPS || t == BPF_PROG_TYPE_CGROUP_SOCKOPT;
    case Offered::kCgroupSkb:
      return t == BPF_PROG_TYPE_CGROUP_SKB;
    case Offered::kSysctl:
      return t == BPF_PROG_TYPE_CGROUP_SYSCTL;
    case Offered::kSkReuseport:
      return t == BPF_PROG_TYPE_SK_REUSEPORT;
    case Offered::kPerfEvent:
      return t == BPF_PROG_TYPE_PERF_EVENT;
    case Offered::kSockAddrConnect:  // and the attach type
      return t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    case Offered::kCgroupRetval:  // and the attach type
      return OfferedTo(Offered::kCgroupCommon, t);
    case Offered::kSockOps:
      return t == BPF_PROG_TYPE_SOCK_OPS;
    case Offered::kSockOpsOrSockAddr:
      return t == BPF_PROG_TYPE_SOCK_OPS || t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    case Offered::kLsm:
    case Offered::kLsmIma:
      return t == BPF_PROG_TYPE_LSM;
    case Offered::kDPath:
      return TracingProgFuncProto(t);
    case Offered::kTcpCa:
      return t == BPF_PROG_TYPE_STRUCT_OPS;
  }
  return false;
}

using O = Offered;
constexpr HelperDef kHelpers[] = {
    {BPF_FUNC_map_lookup_elem, MapLookup, false, O::kAny},
    {BPF_FUNC_map_update_elem, MapUpdate, false, O::kAny},
    {BPF_FUNC_map_delete_elem, MapDelete, false, O::kAny},
    {BPF_FUNC_map_push_elem, MapPush, false, O::kAny},
    {BPF_FUNC_map_pop_elem, MapPopOrPeek<true>, false, O::kAny},
    {BPF_FUNC_map_peek_elem, MapPopOrPeek<false>, false, O::kAny},
    {BPF_FUNC_probe_read, ProbeRead<native::ProbeSpace::kCompat, false>, true,
     O::kTracing},
    {BPF_FUNC_ktime_get_ns, KtimeGetNs, false, O::kAny},
    {BPF_FUNC_trace_printk, TracePrintk, true, O::kAny},
    {BPF_FUNC_get_prandom_u32, PrandomU32, false, O::kAny},
    {BPF_FUNC_get_smp_processor_id, SmpProcessorId, false, O::kAny},
    {BPF_FUNC_tail_call, TailCall, false, O::kAny},
    {BPF_FUNC_get_current_pid_tgid, PidTgid, false, O::kCurrentIdsSince612},
    {BPF_FUNC_get_current_uid_gid, UidGid, false, O::kCurrentIds},
    {BPF_FUNC_current_task_under_cgroup, TaskUnderCgroup, false,
     O::kCgroupCurrent},
    {BPF_FUNC_get_current_cgroup_id, CgroupId, false, O::kCurrentIdsSince612},
    {BPF_FUNC_get_local_storage, LocalStorage, false, O::kCgroupCommon},
    {BPF_FUNC_get_retval, GetRetvalHelper, false, O::kCgroupRetval},
    {BPF_FUNC_set_retval, SetRetvalHelper, false, O::kCgroupRetval},
    {BPF_FUNC_sysctl_get_name, SysctlGetNameHelper, false, O::kSysctl},
    {BPF_FUNC_sysctl_get_current_value,
     SysctlGetValueHelper<native::SysctlGetCurrentValue>, false, O::kSysctl},
    {BPF_FUNC_sysctl_get_new_value,
     SysctlGetValueHelper<native::SysctlGetNewValue>, false, O::kSysctl},
    {BPF_FUNC_sysctl_set_new_value, SysctlSetNewValueHelper, false, O::kSysctl},
    {BPF_FUNC_bind, BindHelper, false, O::kSockAddrConnect},
    {BPF_FUNC_sk_select_reuseport, SkSelectReuseportHelper, false,
     O::kSkReuseport},
    {BPF_FUNC_perf_prog_read_value, PerfProgReadValueHelper, true,
     O::kPerfEvent},
    {BPF_FUNC_read_branch_records, ReadBranchRecordsHelper, true,
     O::kPerfEvent},
    {BPF_FUNC_get_current_ancestor_cgroup_id, AncestorCgroupId, false,
     O::kCurrentIdsSince612},
    {BPF_FUNC_skb_under_cgroup, SkbUnderCgroup, false, O::kTcOrLwt},
    {BPF_FUNC_skb_cgroup_id, SkbCgroupId, false, O::kTcOrCgroupSkb},
    {BPF_FUNC_skb_ancestor_cgroup_id, SkbAncestorCgroupId, false,
     O::kTcOrCgroupSkb},
    {BPF_FUNC_get_current_comm, CurrentComm, false, O::kCurrentTask},
    {BPF_FUNC_skb_load_bytes, SkbLoadBytes, false, O::kSkbLoadBytes},
    {BPF_FUNC_probe_read_str, ProbeRead<native::ProbeSpace::kCompat, true>,
     true, O::kTracing},
    {BPF_FUNC_sk_redirect_map, RedirectMap<0>, false, O::kSkSkb},
    {BPF_FUNC_sk_redirect_hash, RedirectHash<0>, false, O::kSkSkb},
    {BPF_FUNC_msg_redirect_map, RedirectMap<1>, false, O::kSkMsg},
    {BPF_FUNC_msg_redirect_hash, RedirectHash<1>, false, O::kSkMsg},
    {BPF_FUNC_msg_apply_bytes, MsgSetBytes<bpfemu_msg_apply_bytes>, false,
     O::kSkMsg},
    {BPF_FUNC_msg_cork_bytes, MsgSetBytes<bpfemu_msg_cork_bytes>, false,
     O::kSkMsg},
    {BPF_FUNC_msg_pull_data, MsgEdit<bpfemu_msg_pull_data>, false, O::kSkMsg},
    {BPF_FUNC_inode_storage_get, InodeStorageGet, false, O::kLsm},
    {BPF_FUNC_inode_storage_delete, InodeStorageDelete, false, O::kLsm},
    {BPF_FUNC_d_path, DPath, false, O::kDPath},
    {BPF_FUNC_bprm_opts_set, BprmOptsSet, false, O::kLsm},
    {BPF_FUNC_ima_inode_hash, ImaHash<false>, false, O::kLsmIma},
    {BPF_FUNC_ima_file_hash, ImaHash<true>, false, O::kLsmIma},
    {BPF_FUNC_sock_ops_cb_flags_set, SockOpsCbFlagsSet, false, O::kSockOps},
    {BPF_FUNC_setsockopt, SockOpt<false>, false, O::kSockOpsOrSockAddr},
    {BPF_FUNC_getsockopt, SockOpt<true>, false, O::kSockOpsOrSockAddr},
    {BPF_FUNC_sock_map_update, SockOpsMapUpdate, false, O::kSockOps},
    {BPF_FUNC_sock_hash_update, SockOpsMapUpdate, false, O::kSockOps},
    {BPF_FUNC_load_hdr_opt, LoadHdrOpt, false, O::kSockOps},
    {BPF_FUNC_store_hdr_opt, StoreHdrOpt, false, O::kSockOps},
    {BPF_FUNC_reserve_hdr_opt, ReserveHdrOpt, false, O::kSockOps},
    {BPF_FUNC_msg_push_data, MsgEdit<bpfemu_msg_push_data>, false, O::kSkMsg},
    {BPF_FUNC_msg_pop_data, MsgEdit<bpfemu_msg_pop_data>, false, O::kSkMsg},
    {BPF_FUNC_spin_lock, SpinLock, false, O::kAny},
    {BPF_FUNC_spin_unlock, SpinUnlock, false, O::kAny},
    {BPF_FUNC_probe_read_user, ProbeRead<native::ProbeSpace::kUser, false>,
     true, O::kAny},
    {BPF_FUNC_probe_read_kernel, ProbeRead<native::ProbeSpace::kKernel, false>,
     true, O::kAny},
    // bpf_copy_from_user: a user read that zeroes dst and answers -EFAULT
    // on a fault, as bpf_probe_read_user; for sleepable programs only.
    {BPF_FUNC_copy_from_user, ProbeRead<native::ProbeSpace::kUser, false>,
     false, O::kMightSleep},
    {BPF_FUNC_probe_read_user_str, ProbeRead<native::ProbeSpace::kUser, true>,
     true, O::kAny},
    {BPF_FUNC_probe_read_kernel_str,
     ProbeRead<native::ProbeSpace::kKernel, true>, true, O::kAny},
    {BPF_FUNC_ringbuf_output, RingbufOutput, false, O::kAny},
    {BPF_FUNC_perf_event_output, PerfEventOutput, true, O::kPerfOutput},
    // bpf_tracing_func_proto's; bpf_base_func_proto's after 6.12.
    {BPF_FUNC_perf_event_read, PerfEventRead, true, O::kTracingThenAny},
    {BPF_FUNC_perf_event_read_value, PerfEventReadValue, true,
     O::kTracingThenAny},
    {BPF_FUNC_ringbuf_reserve, RingbufReserve, false, O::kAny},
    {BPF_FUNC_ringbuf_submit, RingbufSubmit, false, O::kAny},
    {BPF_FUNC_ringbuf_discard, RingbufDiscard, false, O::kAny},
    {BPF_FUNC_ringbuf_query, RingbufQuery, false, O::kAny},
    {BPF_FUNC_loop, Loop, false, O::kAny},
    {BPF_FUNC_for_each_map_elem, ForEachMapElem, false, O::kAny},
    {BPF_FUNC_dynptr_read, DynptrRead, false, O::kAny},
    {BPF_FUNC_dynptr_write, DynptrWrite, false, O::kAny},
    {BPF_FUNC_dynptr_data, DynptrData, false, O::kAny},
    {BPF_FUNC_dynptr_from_mem, DynptrFromMem, false, O::kAny},
    {BPF_FUNC_ringbuf_reserve_dynptr, RingbufReserveDynptr, false, O::kAny},
    {BPF_FUNC_ringbuf_submit_dynptr, RingbufCommitDynptr<false>, false,
     O::kAny},
    {BPF_FUNC_ringbuf_discard_dynptr, RingbufCommitDynptr<true>, false,
     O::kAny},
    {BPF_FUNC_user_ringbuf_drain, UserRingbufDrain, false, O::kAny},
    {BPF_FUNC_map_lookup_percpu_elem, MapLookupPercpu, false, O::kAny},
    {BPF_FUNC_get_stackid, GetStackId, true, O::kTracing},
    {BPF_FUNC_get_stack, GetStack, true, O::kTracing},
    {BPF_FUNC_sk_storage_get, SkStorageGet, false, O::kSkStorageGet},
    {BPF_FUNC_sk_storage_delete, SkStorageDelete, false, O::kSkStorageDelete},
    {BPF_FUNC_task_storage_get, TaskStorageGet, false, O::kTracingThenAny},
    {BPF_FUNC_task_storage_delete, TaskStorageDelete, false,
     O::kTracingThenAny},
    // kernel/bpf/helpers.c bpf_base_func_proto (CAP_PERFMON): every type;
    // GPL-only (tracing_misc_compare_test's verdicts).
    {BPF_FUNC_get_current_task_btf, CurrentTaskBtf, true, O::kAny},
    {BPF_FUNC_get_current_task, CurrentTaskBtf, true, O::kAny},
    // kernel/trace/bpf_trace.c bpf_tracing_func_proto, and after 6.12
    // bpf_base_func_proto (measured on 6.18); copy_from_user_task might
    // sleep. probe_write_user also needs CAP_SYS_ADMIN, which bpfemu does
    // not check, and no lockdown, which the 6.18 host has, so its offering
    // there is unknown: bpf_tracing_func_proto's callers.
    {BPF_FUNC_probe_write_user, ProbeWriteUser, true, O::kTracing},
    {BPF_FUNC_send_signal, SendSignal<false>, false, O::kTracingThenAny},
    {BPF_FUNC_send_signal_thread, SendSignal<true>, false, O::kTracingThenAny},
    // tracing_prog_func_proto's: TRACING, SYSCALL and LSM.
    {BPF_FUNC_sock_from_file, SockFromFileHelper, false, O::kTracingProg},
    {BPF_FUNC_skb_output, EventOutput<false>, true, O::kTracingProg},
    {BPF_FUNC_xdp_output, EventOutput<true>, true, O::kTracingProg},
    // bpf_base_func_proto's (perfmon) since 5.16.
    {BPF_FUNC_snprintf_btf, SnprintfBtfHelper, false, O::kAny},
    {BPF_FUNC_task_pt_regs, TaskPtRegs, true, O::kAny},
    {BPF_FUNC_get_branch_snapshot, BranchSnapshot, true, O::kTracingThenAny},
    {BPF_FUNC_copy_from_user_task, CopyFromUserTask, true, O::kMightSleep},
    {BPF_FUNC_find_vma, FindVmaHelper, false, O::kTracingThenAny},
    {BPF_FUNC_get_task_stack, GetTaskStack, false, O::kTracingThenAny},
    // Strings, clocks, NUMA.
    {BPF_FUNC_strncmp, Strncmp, false, O::kAny},
    {BPF_FUNC_strtol, Strtox<true>, false, O::kAny},
    {BPF_FUNC_strtoul, Strtox<false>, false, O::kAny},
    {BPF_FUNC_jiffies64, Jiffies64, false, O::kAny},
    {BPF_FUNC_ktime_get_boot_ns, KtimeBootNs, false, O::kAny},
    // Offered by bpf_sk_base_func_proto, the cgroup and socket protos
    // (net/core/filter.c, kernel/bpf/cgroup.c), never to tracing programs.
    {BPF_FUNC_ktime_get_coarse_ns, KtimeCoarseNs, false, O::kCoarseNs},
    // bpf_tcp_ca_get_func_proto's own: a congestion control's ACK
    // (emu/tcp_ca.h), and the coarse clock the other types get above.
    {BPF_FUNC_tcp_send_ack, tcpca::InterpSendAck, false, O::kTcpCa},
    {BPF_FUNC_sk_storage_get, SkStorageGet, false, O::kTcpCa},
    {BPF_FUNC_sk_storage_delete, SkStorageDelete, false, O::kTcpCa},
    // bpf_sk_setsockopt / bpf_sk_getsockopt but from `release`; bpfemu runs
    // them from sock_ops only (a run here stops, docs/native.md).
    {BPF_FUNC_setsockopt, SockOpt<false>, false, O::kTcpCa},
    {BPF_FUNC_getsockopt, SockOpt<true>, false, O::kTcpCa},
    {BPF_FUNC_ktime_get_coarse_ns, KtimeCoarseNs, false, O::kTcpCa},
    {BPF_FUNC_ktime_get_tai_ns, KtimeTaiNs, false, O::kAny},
    {BPF_FUNC_get_numa_node_id, NumaNodeId, false, O::kAny},
    // Packet rewriting.
    {BPF_FUNC_xdp_adjust_head, XdpAdjust<bpfemu_xdp_adjust_head>, false,
     O::kXdp},
    {BPF_FUNC_xdp_adjust_tail, XdpAdjust<bpfemu_xdp_adjust_tail>, false,
     O::kXdp},
    {BPF_FUNC_xdp_adjust_meta, XdpAdjust<bpfemu_xdp_adjust_meta>, false,
     O::kXdp},
    {BPF_FUNC_xdp_load_bytes, XdpBytes<false>, false, O::kXdp},
    {BPF_FUNC_redirect_map, XdpRedirectMap, false, O::kXdp},
    {BPF_FUNC_redirect, Redirect, false, O::kTcLikeOrXdp},
    {BPF_FUNC_xdp_store_bytes, XdpBytes<true>, false, O::kXdp},
    {BPF_FUNC_csum_diff, CsumDiff, false, O::kPacketPrograms},
    {BPF_FUNC_skb_store_bytes, SkbStoreBytes, false, O::kTcLikeOrSkSkb},
    {BPF_FUNC_l3_csum_replace, CsumReplace<bpfemu_l3_csum_replace>, false,
     O::kTcLike},
    {BPF_FUNC_l4_csum_replace, CsumReplace<bpfemu_l4_csum_replace>, false,
     O::kTcLike},
    // The socket buffer's shape. bpfemu's skb test run sets up their
    // frame (SetSkbFrame): offered to the types it runs, not SK_SKB.
    {BPF_FUNC_skb_change_tail, SkbChangeTail, false, O::kTcLikeOrSkSkb},
    {BPF_FUNC_skb_change_head, SkbChangeHead, false, O::kTcLikeOrSkSkb},
    {BPF_FUNC_skb_pull_data, SkbPullData, false, O::kSkbPullData},
    {BPF_FUNC_skb_change_proto, SkbChangeProto, false, O::kTc},
    {BPF_FUNC_lwt_push_encap, LwtPushEncap, false, O::kLwtInOrXmit},
    {BPF_FUNC_lwt_seg6_store_bytes, LwtSeg6StoreBytes, false, O::kSeg6Local},
    {BPF_FUNC_override_return, OverrideReturn, true, O::kKprobeOverride},
    {BPF_FUNC_rc_repeat, RcRepeat, true, O::kLircMode2},
    {BPF_FUNC_rc_keydown, RcKeydown, true, O::kLircMode2},
    {BPF_FUNC_rc_pointer_rel, RcPointerRel, true, O::kLircMode2},
    {BPF_FUNC_lwt_seg6_adjust_srh, LwtSeg6AdjustSrh, false, O::kSeg6Local},
    {BPF_FUNC_lwt_seg6_action, LwtSeg6Action, false, O::kSeg6Local},
    {BPF_FUNC_skb_adjust_room, SkbAdjustRoom, false, O::kTcOrSkSkb},
    {BPF_FUNC_skb_change_type, SkbChangeType, false, O::kTc},
    {BPF_FUNC_set_hash, SetHash, false, O::kTc},
    {BPF_FUNC_skb_set_tunnel_key, SetTunnelKey, false, O::kTcLike},
    {BPF_FUNC_skb_get_tunnel_key, GetTunnelKey, false, O::kTcLike},
    {BPF_FUNC_skb_set_tunnel_opt, SetTunnelOpt, false, O::kTcLike},
    {BPF_FUNC_skb_get_tunnel_opt, GetTunnelOpt, false, O::kTcLike},
    {BPF_FUNC_set_hash_invalid, SetHashInvalid, false, O::kTcLike},
    {BPF_FUNC_get_hash_recalc, GetHashRecalc, false, O::kTcOrLwt},
    {BPF_FUNC_skb_vlan_push, SkbVlanPush, false, O::kTc},
    {BPF_FUNC_redirect_peer, RedirectPeer, false, O::kTc},
    {BPF_FUNC_redirect_neigh, RedirectNeigh, false, O::kTc},
    {BPF_FUNC_clone_redirect, CloneRedirect, false, O::kTcLike},
    {BPF_FUNC_check_mtu, CheckMtu, true, O::kTcOrXdp},
    {BPF_FUNC_skb_vlan_pop, SkbVlanPop, false, O::kTc},
    {BPF_FUNC_sk_lookup_tcp, SkLookupHelper<IPPROTO_TCP, false>, false,
     O::kSkLookup},
    {BPF_FUNC_sk_lookup_udp, SkLookupHelper<IPPROTO_UDP, false>, false,
     O::kSkLookup},
    {BPF_FUNC_skc_lookup_tcp, SkLookupHelper<IPPROTO_TCP, true>, false,
     O::kSkLookup},
    {BPF_FUNC_sk_release, SkRelease, false, O::kSkRelease},
    {BPF_FUNC_sk_fullsock, SkFullsock, false, O::kTcOrCgroupSkb},
    {BPF_FUNC_get_listener_sock, SkListener, false, O::kTcOrCgroupSkb},
    {BPF_FUNC_csum_update, CsumUpdate, false, O::kTcLike},
    {BPF_FUNC_csum_level, CsumLevel, false, O::kTcLike},
    {BPF_FUNC_skb_ecn_set_ce, SkbEcnSetCe, false, O::kTcOrCgroupSkb},
    {BPF_FUNC_skb_set_tstamp, SkbSetTstamp, false, O::kTc},
    {BPF_FUNC_skb_load_bytes_relative, SkbLoadBytesRelative, false,
     O::kSkFilterTcOrReuseport},
    {BPF_FUNC_get_socket_cookie, GetSocketCookie, false, O::kSocketCookie},
    {BPF_FUNC_get_socket_uid, GetSocketUid, false, O::kSkbSocket},
    {BPF_FUNC_get_netns_cookie, GetNetnsCookie, false, O::kNetnsCookie},
    {BPF_FUNC_skb_get_xfrm_state, SkbGetXfrmState, false, O::kTc},
    {BPF_FUNC_sk_assign, SkAssign, false, O::kTcOrSkLookup},
    {BPF_FUNC_tcp_raw_gen_syncookie_ipv4, TcpRawGenSyncookie<false>, true,
     O::kTcOrXdp},
    {BPF_FUNC_tcp_raw_gen_syncookie_ipv6, TcpRawGenSyncookie<true>, true,
     O::kTcOrXdp},
    {BPF_FUNC_tcp_raw_check_syncookie_ipv4, TcpRawCheckSyncookie<false>, true,
     O::kTcOrXdp},
    {BPF_FUNC_tcp_raw_check_syncookie_ipv6, TcpRawCheckSyncookie<true>, true,
     O::kTcOrXdp},
    {BPF_FUNC_skb_cgroup_classid, SkbCgroupClassid, false, O::kTc},
    {BPF_FUNC_get_cgroup_classid, GetCgroupClassid, false, O::kCgroupClassid},
    {BPF_FUNC_get_route_realm, GetRouteRealm, false, O::kTcOrLwt},
    {BPF_FUNC_xdp_get_buff_len, XdpGetBuffLen, false, O::kXdpOrTracingProg},
    {BPF_FUNC_snprintf, Snprintf, true, O::kAny},
    {BPF_FUNC_sys_bpf, SysBpfHelper, false, O::kSyscall},
    {BPF_FUNC_btf_find_by_name_kind, BtfFindByNameKind, false, O::kSyscall},
    {BPF_FUNC_sys_close, SysClose, false, O::kSyscall},
    {BPF_FUNC_kallsyms_lookup_name, KallsymsLookupName, false, O::kSyscall},
    // kernel/trace/bpf_trace.c tracing_prog_func_proto: for BPF_TRACE_ITER.
    {BPF_FUNC_seq_printf, SeqPrintfHelper, true, O::kIter},
    {BPF_FUNC_seq_write, SeqWriteHelper, true, O::kIter},
    {BPF_FUNC_seq_printf_btf, SeqPrintfBtfHelper, true, O::kIter},
    {BPF_FUNC_timer_init, TimerInitHelper, true, O::kAny},
    {BPF_FUNC_timer_set_callback, TimerSetCallbackHelper, true, O::kAny},
    {BPF_FUNC_timer_start, TimerStartHelper, true, O::kAny},
    {BPF_FUNC_timer_cancel, TimerCancelHelper, true, O::kAny},
    // kptr46: bpf_base_func_proto (bpf_kptr_xchg_proto, not GPL-only).
    {BPF_FUNC_kptr_xchg, KptrXchgHelper, false, O::kAny},
    // kptr46: bpf_base_func_proto (CONFIG_CGROUPS).
    {BPF_FUNC_cgrp_storage_get, CgrpStorageGet, false, O::kAny},
    {BPF_FUNC_cgrp_storage_delete, CgrpStorageDelete, false, O::kAny},
    {BPF_FUNC_per_cpu_ptr, PerCpuPtrHelper, false, O::kAny},
    {BPF_FUNC_this_cpu_ptr, ThisCpuPtrHelper, false, O::kAny},
    // kernel/trace/bpf_trace.c tracing_prog_func_proto, bpf_base_func_proto.
    {BPF_FUNC_get_func_arg, GetFuncArg, false, O::kTrampoline},
    {BPF_FUNC_get_func_ret, GetFuncRet, false, O::kTrampoline},
    {BPF_FUNC_get_func_arg_cnt, GetFuncArgCnt, false, O::kTrampoline},
    {BPF_FUNC_get_func_ip, GetFuncIp, true, O::kFuncIp},
    {BPF_FUNC_get_attach_cookie, GetAttachCookie, false, O::kAttachCookie},
    {BPF_FUNC_get_ns_current_pid_tgid, NsCurrentPidTgid, false,
     O::kTracingThenAnySince612},
    {BPF_FUNC_trace_vprintk, TraceVprintk, true, O::kAny},
    {BPF_FUNC_tcp_sock, TcpSockHelper, false, O::kTcpSock},
    {BPF_FUNC_skc_to_tcp6_sock, SkcToHelper<native::SkcCast::kTcp6>, false,
     O::kSkBase},
    {BPF_FUNC_skc_to_tcp_sock, SkcToHelper<native::SkcCast::kTcp>, false,
     O::kSkBase},
    {BPF_FUNC_skc_to_tcp_timewait_sock,
     SkcToHelper<native::SkcCast::kTcpTimewait>, false, O::kSkBase},
    {BPF_FUNC_skc_to_tcp_request_sock,
     SkcToHelper<native::SkcCast::kTcpRequest>, false, O::kSkBase},
    {BPF_FUNC_skc_to_udp6_sock, SkcToHelper<native::SkcCast::kUdp6>, false,
     O::kSkBase},
    {BPF_FUNC_skc_to_unix_sock, SkcToHelper<native::SkcCast::kUnix>, false,
     O::kSkBase},
    {BPF_FUNC_skc_to_mptcp_sock, SkcToHelper<native::SkcCast::kMptcp>, false,
     O::kSkBase},
    {BPF_FUNC_sk_cgroup_id, SkCgroupIdHelper, false, O::kCgroupSkb},
    {BPF_FUNC_sk_ancestor_cgroup_id, SkAncestorCgroupIdHelper, false,
     O::kCgroupSkb},
    {BPF_FUNC_tcp_gen_syncookie, TcpSyncookieHelper<true>, true, O::kTcOrXdp},
    {BPF_FUNC_tcp_check_syncookie, TcpSyncookieHelper<false>, true,
     O::kTcOrXdp},
    {BPF_FUNC_fib_lookup, FibLookup, true, O::kTcOrXdp},
};

// An ARENA map as the interpreter reaches it (interp::ArenaWindow).
class ArenaLink final : public interp::ArenaWindow {
 public:
  explicit ArenaLink(std::shared_ptr<Map> map)
      : map_(std::move(map)), arena_(static_cast<ArenaMap*>(map_.get())) {}
  const Map* map() const { return map_.get(); }
  uint64_t user_vm_start() const override { return arena_->user_vm_start(); }
  uint64_t user_vm_end() const override { return arena_->user_vm_end(); }
  bool no_user_conv() const override {
    return (map_->map_flags() & kBpfFNoUserConv) != 0;
  }
  uint8_t* At(uint64_t off, uint64_t len) const override {
    return arena_->KernAt(off, len);
  }
  uint64_t AllocPages(uint64_t uaddr, uint32_t page_cnt, int32_t node_id,
                      uint64_t flags) override {
    return arena_->AllocPages(uaddr, page_cnt, node_id, flags);
  }
  void FreePages(uint64_t uaddr, uint32_t page_cnt) override {
    arena_->FreePages(uaddr, page_cnt);
  }

 private:
  std::shared_ptr<Map> map_;
  ArenaMap* arena_;
};

// cgroup_common_func_proto(): the attach types whose programs get no
// bpf_get_retval / bpf_set_retval (the skb, sock_ops, recvmsg and
// get{peer,sock}name hooks; the unix ones are 6.7's, 49 to 53).
bool HookKeepsRetval(uint32_t attach_type) {
  switch (attach_type) {
    case BPF_CGROUP_INET_INGRESS:
    case BPF_CGROUP_INET_EGRESS:
    case BPF_CGROUP_SOCK_OPS:
    case BPF_CGROUP_UDP4_RECVMSG:
    case BPF_CGROUP_UDP6_RECVMSG:
    case BPF_CGROUP_INET4_GETPEERNAME:
    case BPF_CGROUP_INET6_GETPEERNAME:
    case BPF_CGROUP_INET4_GETSOCKNAME:
    case BPF_CGROUP_INET6_GETSOCKNAME:
    case 51:  // BPF_CGROUP_UNIX_RECVMSG
    case 52:  // BPF_CGROUP_UNIX_GETPEERNAME
    case 53:  // BPF_CGROUP_UNIX_GETSOCKNAME
      return false;
    default:
      return true;
  }
}

// The JIT's direct call of a hash map's or LPM trie's lookup
// (jit_x86.h JitMapLookup; the verifier's do_misc_fixups makes the same
// call: htab_map_gen_lookup, htab_lru_map_gen_lookup, or the map's
// ops->map_lookup_elem): M's own LookupElemProg without the virtual call,
// for a map whose type is exactly M (JitMapLookupOf checks it). The value
// is recorded as MapLookup records it (RecordValue: readable, writable
// unless BPF_F_RDONLY_PROG), so the code's accesses through it are checked
// alike. The code has checked what MapArg and NeedReadable check: the map is
// one of the program's own, the key's bytes lie in the run's stack.
template <class M>
uint64_t JitDirectLookup(Vm* vm, uint64_t map, uint64_t key) {
  M* m = reinterpret_cast<M*>(map);
  void* v = m->M::LookupElemProg(Ptr(key));
  if (v == nullptr) return 0;
  RecordValue(*vm, *m, v);
  return reinterpret_cast<uint64_t>(v);
}

class BytecodeLinker : public interp::Linker {
 public:
  explicit BytecodeLinker(uint32_t expected_attach_type = 0,
                          bool sleepable = false,
                          std::string attach_func = std::string())
      : expected_attach_type_(expected_attach_type),
        sleepable_(sleepable),
        attach_func_(std::move(attach_func)) {}

  interp::HelperFn Helper(int32_t id, uint32_t prog_type,
                          bool* gpl_only) override {
    for (const HelperDef& h : kHelpers) {
      if (h.id != id) continue;
      // (An id may have entries for several func_protos.)
      if (!OfferedTo(h.only, prog_type)) continue;
      if (h.only == Offered::kIter && expected_attach_type_ != BPF_TRACE_ITER) {
        return nullptr;
      }
      if (h.only == Offered::kCgroupRetval &&
          !HookKeepsRetval(expected_attach_type_)) {
        return nullptr;
      }
      // sock_addr_func_proto(): bpf_bind from the connect hooks only, the
      // socket options but from the unix getpeername / getsockname ones
      // (6.7's 52 and 53).
      if (h.only == Offered::kSockAddrConnect &&
          expected_attach_type_ != BPF_CGROUP_INET4_CONNECT &&
          expected_attach_type_ != BPF_CGROUP_INET6_CONNECT) {
        return nullptr;
      }
      if (h.only == Offered::kSockOpsOrSockAddr &&
          prog_type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR &&
          (expected_attach_type_ == 52 || expected_attach_type_ == 53)) {
        return nullptr;
      }
      // bpf_tcp_ca_get_func_proto() serves tcp_congestion_ops programs
      // only (the attach struct's verifier_ops).
      if (h.only == Offered::kTcpCa && attach_func_ != "tcp_congestion_ops") {
        continue;
      }
      // Not to `release`, which runs as the congestion control retires.
      if (h.only == Offered::kTcpCa &&
          (id == BPF_FUNC_setsockopt || id == BPF_FUNC_getsockopt) &&
          TcpCaMember() == "release") {
        continue;
      }
      const bool trampoline = HasTrampoline(expected_attach_type_);
      if (h.only == Offered::kTrampoline && !trampoline) return nullptr;
      // tracing_prog_func_proto: a TRACING program gets the cookie with a
      // trampoline or as tp_btf.
      if (h.only == Offered::kAttachCookie &&
          prog_type == BPF_PROG_TYPE_TRACING && !trampoline &&
          expected_attach_type_ != BPF_TRACE_RAW_TP) {
        return nullptr;
      }
      *gpl_only = h.gpl_only;
      return h.fn;
    }
    return nullptr;
  }

  std::optional<HelperRefusal> Refuses(int32_t id,
                                       uint32_t prog_type) override {
    for (const HelperDef& h : kHelpers) {
      if (h.id != id) continue;
      // fn->might_sleep (bpf_copy_from_user and the like).
      if (h.only == Offered::kMightSleep && !sleepable_) {
        return HelperRefusal::kMightSleep;
      }
      // check_get_func_ip(): kprobes, and tracing programs with a
      // trampoline.
      if (h.only == Offered::kFuncIp && prog_type != BPF_PROG_TYPE_KPROBE &&
          !(prog_type == BPF_PROG_TYPE_TRACING &&
            HasTrampoline(expected_attach_type_))) {
        return HelperRefusal::kNotSupported;
      }
      // The LSM helpers' `allowed` (native/lsm_hooks.h LsmHook; kernel/
      // bpf/bpf_lsm.c bpf_ima_inode_hash_allowed, kernel/trace/
      // bpf_trace.c bpf_d_path_allowed), then might_sleep.
      if (h.only == Offered::kLsmIma) {
        if (!native::LsmHook(LsmHookName()).sleepable) {
          return HelperRefusal::kNotAllowed;
        }
        if (!sleepable_) return HelperRefusal::kMightSleep;
      }
      if (h.only == Offered::kDPath && !DPathAllowed(prog_type)) {
        return HelperRefusal::kNotAllowed;
      }
      // bpf_sk_storage_tracing_allowed() (net/core/bpf_sk_storage.c):
      // a SYSCALL program has no attach function to allow.
      if ((h.only == Offered::kSkStorageGet ||
           h.only == Offered::kSkStorageDelete) &&
          prog_type == BPF_PROG_TYPE_SYSCALL) {
        return HelperRefusal::kNotAllowed;
      }
      break;
    }
    return std::nullopt;
  }

  bool Emulates(int32_t id) override {
    for (const HelperDef& h : kHelpers) {
      if (h.id == id) return true;
    }
    return false;
  }

  bool CallableUnderLock(int32_t id) override {
    return id == BPF_FUNC_spin_unlock;
  }

  // BPF_PSEUDO_KFUNC_CALL: the kfunc table over the kernel BTF
  // (emu/kfunc.h).
  int Kfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
            interp::HelperFn* fn) override {
    return LinkKfunc(imm, off, attr, fn, attr.log);
  }

  bool KfuncCallableUnderLock(interp::HelperFn fn) override {
    return bpfemu::KfuncCallableUnderLock(fn);
  }

  int MapHandle(int fd, uint64_t* handle) override {
    std::shared_ptr<Map> map;
    if (int err = Resolve(fd, &map); err != 0) return err;
    for (const auto& b : maps_->bound) {
      if (b->map == map) {
        *handle = reinterpret_cast<uint64_t>(&b->cell);
        return 0;
      }
    }
    auto b = internal::MakeBound(map->name(), -1, map);
    *handle = reinterpret_cast<uint64_t>(&b->cell);
    maps_->bound.push_back(std::move(b));
    return 0;
  }

  // A BPF_MAP_TYPE_ARRAY's or PERCPU_ARRAY's values, every CPU's copy
  // (its lookups stay inside them; the JIT's inline lookups rely on it).
  bool MapArea(uint64_t handle, uint64_t* lo, uint64_t* hi,
               bool* writable) override {
    BoundMap* b = internal::BoundOf(reinterpret_cast<void*>(handle));
    if (b == nullptr) return false;
    void* values = b->fast.array_values != nullptr ? b->fast.array_values
                                                   : b->fast.percpu_values;
    if (values == nullptr) return false;
    *lo = reinterpret_cast<uint64_t>(values);
    *hi = *lo + uint64_t{b->fast.array_slot} * b->fast.max_entries;
    *writable = !(b->map->map_flags() & BPF_F_RDONLY_PROG);
    return true;
  }

  // The JIT's view of the same arrays (kernel/bpf/arraymap.c
  // array_map_gen_lookup / percpu_array_map_gen_lookup inline them).
  bool JitArrayOf(uint64_t handle, interp::JitArray* out) override {
    BoundMap* b = internal::BoundOf(reinterpret_cast<void*>(handle));
    if (b == nullptr || b->holds_maps) return false;
    const bpfemu_map_fast& f = b->fast;
    if (f.array_values != nullptr) {
      out->values = reinterpret_cast<uint64_t>(f.array_values);
    } else if (f.percpu_values != nullptr) {
      out->values = reinterpret_cast<uint64_t>(f.percpu_values);
      out->percpu = true;
      out->unit = f.percpu_unit;
      out->nr_cpus = f.nr_cpus;
    } else {
      return false;
    }
    out->slot = f.array_slot;
    out->max_entries = f.max_entries;
    out->value_size = b->map->value_size();
    out->writable = !(b->map->map_flags() & BPF_F_RDONLY_PROG);  // MapArea
    return true;
  }

  // The JIT's direct lookups (JitDirectLookup): the program's own HASH,
  // LRU_HASH, their per-CPU forms and LPM_TRIE, when the map is exactly
  // HashMap or LpmTrieMap (not a subclass with its own lookup: a map of
  // maps, a SOCKHASH), so the qualified call is the one the virtual call
  // would make.
  bool JitMapLookupOf(uint64_t handle, interp::JitMapLookup* out) override {
    BoundMap* b = internal::BoundOf(reinterpret_cast<void*>(handle));
    if (b == nullptr || b->holds_maps) return false;
    Map* map = b->map.get();
    const uint32_t type = map->type();
    if (typeid(*map) == typeid(HashMap) &&
        (type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH)) {
      out->lookup = &JitDirectLookup<HashMap>;
      out->map = reinterpret_cast<uint64_t>(static_cast<HashMap*>(map));
    } else if (typeid(*map) == typeid(LpmTrieMap) &&
               type == BPF_MAP_TYPE_LPM_TRIE) {
      out->lookup = &JitDirectLookup<LpmTrieMap>;
      out->map = reinterpret_cast<uint64_t>(static_cast<LpmTrieMap*>(map));
    } else {
      return false;
    }
    out->key_size = map->key_size();
    out->value_size = map->value_size();  // what JitDirectLookup records
    out->writable = !(map->map_flags() & BPF_F_RDONLY_PROG);
    return true;
  }

  // The JIT's view of a PROG_ARRAY (the kernel's JIT emits the tail call
  // inline: arch/x86/net/bpf_jit_comp.c emit_bpf_tail_call_indirect), the
  // one native programs read (bound_map.h: prog_ids, prog_cache).
  bool JitProgArrayOf(uint64_t handle, interp::JitProgArray* out) override {
    BoundMap* b = internal::BoundOf(reinterpret_cast<void*>(handle));
    if (b == nullptr || b->fd_array == nullptr || b->fd_array->holds_maps() ||
        b->fast.prog_ids == nullptr || b->fast.prog_cache == nullptr) {
      return false;
    }
    out->ids = reinterpret_cast<uint64_t>(b->fast.prog_ids);
    out->cache = reinterpret_cast<uint64_t>(b->fast.prog_cache);
    out->max_entries = b->fast.max_entries;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
    out->id_offset = static_cast<int32_t>(offsetof(bpfemu::Prog, id));
    out->target_offset = static_cast<int32_t>(offsetof(bpfemu::Prog, jit));
#pragma GCC diagnostic pop
    return true;
  }

  interp::ArenaWindow* MapArena(uint64_t handle) override {
    BoundMap* b = internal::BoundOf(reinterpret_cast<void*>(handle));
    if (b == nullptr || dynamic_cast<ArenaMap*>(b->map.get()) == nullptr) {
      return nullptr;
    }
    for (const auto& a : maps_->arenas) {
      if (a->map() == b->map.get()) return a.get();
    }
    maps_->arenas.push_back(std::make_unique<ArenaLink>(b->map));
    return maps_->arenas.back().get();
  }

  // array_map_direct_value_addr(): arrays with one element.
  int MapValue(int fd, uint32_t off, uint64_t* addr, uint64_t* lo, uint64_t* hi,
               bool* writable) override {
    std::shared_ptr<Map> map;
    if (int err = Resolve(fd, &map); err != 0) return err;
    auto* array = dynamic_cast<ArrayMap*>(map.get());
    if (array == nullptr || map->type() != BPF_MAP_TYPE_ARRAY) return -EINVAL;
    if (map->max_entries() != 1) return -kENOTSUPP;
    if (off >= map->value_size()) return -EINVAL;
    *lo = reinterpret_cast<uint64_t>(array->ValueAt(0));
    *hi = *lo + map->value_size();
    *addr = *lo + off;
    *writable = !(map->map_flags() & BPF_F_RDONLY_PROG);
    maps_->held.push_back(std::move(map));
    return 0;
  }

  std::shared_ptr<void> TakeResources() override { return std::move(maps_); }

 private:
  struct Held {
    std::vector<std::unique_ptr<BoundMap>> bound;
    std::vector<std::shared_ptr<Map>> held;
    std::vector<std::unique_ptr<ArenaLink>> arenas;
  };

  // __bpf_map_get(): EBADF for a closed fd, EINVAL for one that is not a map.
  // check_map_prog_compatibility() (kernel/bpf/verifier.c): bpf_spin_lock,
  // bpf_timer and bpf_wq values are refused to socket filters (the lock) and to
  // tracing programs (kprobe, tracepoint, perf_event, raw_tp), a
  // struct_ops map to every program, and a sleepable program may use
  // only the types that stay valid across a sleep (6.1: without the
  // cgroup storage, queue, stack and arena maps, in other words).
  int MapCompatible(uint64_t handle, const interp::LoadAttr& attr) override {
    const BoundMap* b = internal::BoundOf(reinterpret_cast<void*>(handle));
    if (b == nullptr) return 0;
    const Map* map = b->map.get();
    const uint32_t type = attr.prog_type;
    const bool tracing = type == BPF_PROG_TYPE_KPROBE ||
                         type == BPF_PROG_TYPE_TRACEPOINT ||
                         type == BPF_PROG_TYPE_PERF_EVENT ||
                         type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
                         type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE;
    const auto refuse = [&](const char* line) {
      if (attr.log != nullptr) *attr.log += line;
      return -EINVAL;
    };
    if (map->HasSpinLock()) {
      if (type == BPF_PROG_TYPE_SOCKET_FILTER) {
        return refuse("socket filter progs cannot use bpf_spin_lock yet\n");
      }
      if (tracing)
        return refuse("tracing progs cannot use bpf_spin_lock yet\n");
    }
    if (map->timer_off() >= 0 && tracing) {
      return refuse("tracing progs cannot use bpf_timer yet\n");
    }
    if (map->wq_off() >= 0 && tracing) {
      return refuse("tracing progs cannot use bpf_wq yet\n");
    }
    if (map->type() == BPF_MAP_TYPE_STRUCT_OPS) {
      return refuse("bpf_struct_ops map cannot be used in prog\n");
    }
    if (!attr.sleepable) return 0;
    const bool v61 = TargetKernel() == KernelVersion::k6_1;
    switch (map->type()) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
      case BPF_MAP_TYPE_ARRAY:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_PERCPU_ARRAY:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      case BPF_MAP_TYPE_HASH_OF_MAPS:
      case BPF_MAP_TYPE_RINGBUF:
      case BPF_MAP_TYPE_USER_RINGBUF:
      case BPF_MAP_TYPE_INODE_STORAGE:
      case BPF_MAP_TYPE_SK_STORAGE:
      case BPF_MAP_TYPE_TASK_STORAGE:
        return 0;
      case kBpfMapTypeCgrpStorage:
      case BPF_MAP_TYPE_QUEUE:
      case BPF_MAP_TYPE_STACK:
      case kBpfMapTypeArena:
        if (!v61) return 0;
        break;
      default:
        break;
    }
    // 6.13 names inner maps too (the same check runs on a map-in-map's
    // inner map there).
    if (v61) {
      return refuse(
          "Sleepable programs can only use array, hash, and ringbuf maps\n");
    }
    return refuse(TargetKernel() > KernelVersion::k6_12
                      ? "Sleepable programs can only use array, hash, ringbuf "
                        "and local storage maps, also as inner maps\n"
                      : "Sleepable programs can only use array, hash, ringbuf "
                        "and local storage maps\n");
  }

  static int Resolve(int fd, std::shared_ptr<Map>* out) {
    *out = MapFromFd(fd);
    // A map this process mapped read-only (Map::read_only) cannot be
    // written by a program (docs/reliability.md).
    if (*out != nullptr && (*out)->read_only()) return -EACCES;
    if (*out != nullptr) return 0;
    return WrongFdErrno(fd);
  }

  std::shared_ptr<Held> maps_ = std::make_shared<Held>();
  uint32_t expected_attach_type_;
  bool sleepable_;
  // The kernel BTF function attach_btf_id names (an LSM program's
  // bpf_lsm_<hook>, a tracing program's target), or empty.
  std::string attach_func_;

  // The tcp_congestion_ops member a STRUCT_OPS program implements
  // (bpf_tcp_ca.c prog_ops_moff), or "".
  std::string TcpCaMember() const {
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr) return "";
    const int32_t id = btf->FindByNameKind(attach_func_, BTF_KIND_STRUCT);
    if (id <= 0) return "";
    uint16_t n = 0;
    const btf_member* m = btf->Members(static_cast<uint32_t>(id), &n);
    if (expected_attach_type_ >= n) return "";
    return std::string(btf->Str(m[expected_attach_type_].name_off));
  }

  std::string LsmHookName() const {
    constexpr std::string_view kPrefix = "bpf_lsm_";
    return attach_func_.starts_with(kPrefix)
               ? attach_func_.substr(kPrefix.size())
               : std::string();
  }

  // bpf_d_path_allowed(): iterators; LSM programs at a sleepable hook;
  // tracing programs attached to a function of btf_allowlist_d_path.
  bool DPathAllowed(uint32_t prog_type) const {
    if (prog_type == BPF_PROG_TYPE_TRACING &&
        expected_attach_type_ == BPF_TRACE_ITER) {
      return true;
    }
    if (prog_type == BPF_PROG_TYPE_LSM) {
      return native::LsmHook(LsmHookName()).sleepable;
    }
    static constexpr std::string_view kAllowlist[] = {
        "security_file_permission",
        "security_inode_getattr",
        "security_file_open",
        "security_path_truncate",
        "vfs_truncate",
        "vfs_fallocate",
        "dentry_open",
        "vfs_getattr",
        "filp_close"};
    for (std::string_view f : kAllowlist) {
      if (attach_func_ == f) return true;
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<interp::Linker> MakeBytecodeLinker() {
  return std::make_unique<BytecodeLinker>();
}

bool LicenseIsGplCompatible(const char* license) {
  if (license == nullptr) return false;
  const std::string_view l(license);
  return l == "GPL" || l == "GPL v2" || l == "GPL and additional rights" ||
         l == "Dual BSD/GPL" || l == "Dual MIT/GPL" || l == "Dual MPL/GPL";
}

namespace {

// What bpf_prog_load records for bpf_prog_info (emu/prog.h ProgLoadRecord):
// the tag, load time, creator and license, the instructions with each map
// reference as the map's id (bpf_insn_prepare_dump) and the maps named.
void RecordLoad(int fd, const interp::RawInsn* insns, uint32_t insn_cnt,
                const char* license, const ProgLoadFlags& flags) {
  std::shared_ptr<const Prog> p;
  if (ProgFromFd(fd, &p) != 0) return;
  ProgLoadRecord rec;
  ProgTag(insns, insn_cnt, TargetKernel(), rec.tag);
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  rec.load_time = uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
  rec.uid = static_cast<uint32_t>(getuid());
  rec.gpl = LicenseIsGplCompatible(license);
  std::vector<interp::RawInsn> dump(insns, insns + insn_cnt);
  for (uint32_t i = 0; i + 1 < insn_cnt; ++i) {
    if (dump[i].code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    if (dump[i].src == BPF_PSEUDO_MAP_FD ||
        dump[i].src == BPF_PSEUDO_MAP_VALUE) {
      std::shared_ptr<Map> m = MapFromFd(dump[i].imm);
      const uint32_t id = m != nullptr ? m->id() : 0;
      if (std::find(rec.map_ids.begin(), rec.map_ids.end(), id) ==
          rec.map_ids.end()) {
        rec.map_ids.push_back(id);
      }
      dump[i].imm = static_cast<int32_t>(id);
      if (dump[i].src == BPF_PSEUDO_MAP_FD) dump[i + 1].imm = 0;
    }
    ++i;
  }
  rec.xlated.resize(insn_cnt);
  std::memcpy(rec.xlated.data(), dump.data(), insn_cnt * sizeof(dump[0]));
  rec.btf_id = flags.btf_id;
  rec.func_info = flags.func_info;
  rec.line_info = flags.line_info;
  rec.nr_func_info = flags.nr_func_info;
  rec.nr_line_info = flags.nr_line_info;
  std::lock_guard<std::mutex> l(p->extra->mu);
  p->extra->load = std::move(rec);
}

// The sizes of the structs and unions of a program's BTF, by id
// (btf_type_is_struct): what bpf_obj_new may allocate. Empty without BTF
// or for BTF that does not parse (the kernel's load would have failed).
std::function<int64_t(uint32_t)> LocalTypeSizes(
    const std::vector<uint8_t>& raw) {
  std::unique_ptr<BtfData> btf;
  if (raw.empty() || BtfData::Parse(raw, nullptr, &btf) != 0) return nullptr;
  auto sizes = std::make_shared<std::vector<int64_t>>(btf->TypeCnt(), -1);
  for (uint32_t id = 1; id < btf->TypeCnt(); ++id) {
    const btf_type* t = btf->Type(id);
    const uint32_t kind = BTF_INFO_KIND(t->info);
    if (kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION) {
      (*sizes)[id] = t->size;
    }
  }
  return [sizes](uint32_t id) -> int64_t {
    return id < sizes->size() ? (*sizes)[id] : -1;
  };
}

}  // namespace

std::function<int(uint32_t index, int* fd)> FdArrayInMemory(uint64_t fd_array,
                                                            ProbeSpace space) {
  return [fd_array, space](uint32_t index, int* fd) {
    return native::ProbeRead(space, fd, sizeof(*fd),
                             fd_array + uint64_t{index} * sizeof(*fd),
                             nullptr) == 0
               ? 0
               : -EFAULT;
  };
}

int ProgLoadBytecode(uint32_t prog_type, uint32_t expected_attach_type,
                     const std::string& name, const interp::RawInsn* insns,
                     uint32_t insn_cnt, const char* license,
                     const ProgLoadFlags& flags) {
  // __sys_bpf(): unprivileged_bpf_disabled comes before anything else.
  if (!CallerPrivileged()) return -EPERM;
  if (!ProgFlagsKnown(flags.prog_flags)) return -EINVAL;
  if (flags.prog_ifindex != 0) {
    if (int err =
            ProgDevBoundInit(prog_type, flags.prog_flags, flags.prog_ifindex);
        err != 0) {
      return err;
    }
  }
  interp::LoadAttr attr;
  attr.prog_type = prog_type;
  attr.insns = insns;
  attr.insn_cnt = insn_cnt;
  attr.gpl_compatible = LicenseIsGplCompatible(license);
  attr.sleepable = (flags.prog_flags & BPF_F_SLEEPABLE) != 0;
  attr.has_fd_array = flags.has_fd_array;
  attr.fd_array_entry = flags.fd_array_entry;
  attr.log = flags.log;
  attr.local_type_size = LocalTypeSizes(flags.btf_raw);
  // check_subprogs(): the exception callback a decl tag names (kfx48).
  if (int err = FindExceptionCallback(flags.btf_raw, flags.func_info,
                                      flags.nr_func_info, &attr.exception_cb,
                                      flags.log);
      err != 0) {
    return err;
  }
  // check_attach_btf_id(): an iterator names its target by a kernel BTF
  // function, bpf_iter_<target> (bpf_iter_prog_supported).
  if (prog_type == BPF_PROG_TYPE_TRACING &&
      expected_attach_type == BPF_TRACE_ITER) {
    if (int err = IterProgCheck(flags.attach_btf_id); err != 0) return err;
  }
  // check_attach_btf_id(): fentry, fexit and fmod_ret name a kernel
  // function (emu/trampoline.h).
  if (prog_type == BPF_PROG_TYPE_TRACING) {
    if (int err = TracingProgCheck(expected_attach_type, flags.attach_btf_id);
        err != 0) {
      return err;
    }
  }
  // check_attach_btf_id() of an LSM program (native/lsm_hooks.h), and
  // the function a tracing or LSM program names, which decides some
  // helpers' `allowed` (bpf_d_path, the ima helpers).
  std::string attach_func;
  if (prog_type == BPF_PROG_TYPE_LSM) {
    std::string hook;
    std::string line;
    if (int err = native::LsmProgCheck(flags.attach_btf_id, attr.gpl_compatible,
                                       attr.sleepable, &hook, &line);
        err != 0) {
      if (flags.log != nullptr) *flags.log += line;
      return err;
    }
    attach_func = "bpf_lsm_" + hook;
    if (expected_attach_type == BPF_LSM_CGROUP) {
      // check_return_code(): an lsm_cgroup program answers 0 or 1, and 1
      // only at a void hook (6.1 to 6.18 alike).
      int32_t lo, hi;
      const bool int_hook = native::LsmRetvalRange(hook, &lo, &hi);
      attr.check_retval = true;
      attr.retval_min = int_hook ? 0 : 1;
      attr.retval_max = 1;
    } else {
      // 6.1 checks no BPF_LSM_MAC return value (measured in its guest).
      attr.check_retval =
          TargetKernel() > KernelVersion::k6_1 &&
          native::LsmRetvalRange(hook, &attr.retval_min, &attr.retval_max);
    }
  } else if (prog_type == BPF_PROG_TYPE_STRUCT_OPS) {
    // check_struct_ops_btf_id() (emu/struct_ops_map.h): the struct and
    // member the program implements; the struct's name chooses its
    // verifier_ops' helpers.
    std::string line;
    if (int err = StructOpsProgCheck(flags.attach_btf_id, expected_attach_type,
                                     attr.gpl_compatible, &attach_func, &line);
        err != 0) {
      if (flags.log != nullptr) *flags.log += line;
      return err;
    }
  } else if (prog_type == BPF_PROG_TYPE_TRACING && flags.attach_btf_id != 0) {
    if (const KernelBtf* btf = KernelBtf::Get(); btf != nullptr) {
      attach_func = std::string(btf->Name(flags.attach_btf_id));
    }
  }
  BytecodeLinker linker(expected_attach_type, attr.sleepable, attach_func);
  std::shared_ptr<const interp::Program> code;
  if (int err = interp::Program::Load(attr, linker, &code); err != 0) {
    return err;
  }
  const int fd = ProgCreateBytecode(prog_type, expected_attach_type, name,
                                    std::move(code), flags.attach_btf_id);
  if (fd >= 0) RecordLoad(fd, insns, insn_cnt, license, flags);
  return fd;
}

namespace {

// bpf_sys_bpf(BPF_PROG_LOAD) from a program (native/syscall_helpers.h):
// the instructions and license are the calling program's memory.
int LoadFromSysBpf(const SysProgLoad& load) {
  if (load.license == nullptr || load.insns == nullptr) return -EFAULT;
  ProgLoadFlags flags;
  flags.prog_flags = load.prog_flags;
  // A kernel pointer to bpf_sys_bpf (bpfptr is_kernel): read as the
  // program's memory (SysBpfHelper checked the entries the program uses).
  flags.has_fd_array = load.fd_array != 0;
  flags.fd_array_entry = FdArrayInMemory(load.fd_array, ProbeSpace::kKernel);
  return ProgLoadBytecode(
      load.prog_type, load.expected_attach_type, load.name,
      static_cast<const interp::RawInsn*>(load.insns), load.insn_cnt,
      std::string(load.license, strnlen(load.license, 127)).c_str(), flags);
}

[[maybe_unused]] const bool kSysProgLoaderSet =
    (SetSysProgLoader(&LoadFromSysBpf), true);

// bpf_map_sum_elem_count(&map) (emu/kfunc.h): the map behind the handle.
int64_t HandleElemCount(uint64_t handle) {
  const BoundMap* b = internal::BoundOf(Ptr(handle));
  return b != nullptr && b->map != nullptr ? MapSumElemCount(*b->map) : 0;
}

[[maybe_unused]] const bool kHandleElemCountSet =
    (SetMapHandleElemCount(&HandleElemCount), true);

// kfuncB47: bpf_wq_init's map argument (emu/wq_kfuncs.h).
const Map* HandleMap(uint64_t handle) {
  const BoundMap* b = internal::BoundOf(Ptr(handle));
  return b != nullptr ? b->map.get() : nullptr;
}

[[maybe_unused]] const bool kWqMapOfHandleSet =
    (SetWqMapOfHandle(&HandleMap), true);

}  // namespace

int ProgFillInfo(
    const Prog& p, bpf_prog_info* info,
    const std::function<int(uint64_t, const void*, size_t)>& write) {
  ProgLoadRecord rec;
  {
    std::lock_guard<std::mutex> l(p.extra->mu);
    rec = p.extra->load;
  }
  info->type = p.type;
  info->id = p.id;
  info->load_time = rec.load_time;
  info->created_by_uid = rec.uid;
  info->gpl_compatible = rec.gpl;
  std::memcpy(info->tag, rec.tag, sizeof(info->tag));
  std::memset(info->name, 0, sizeof(info->name));
  std::strncpy(info->name, p.name.c_str(), sizeof(info->name) - 1);
  // Copies min(n, have) records of `size` bytes to the caller's `ptr`.
  auto out = [&write](uint64_t ptr, const void* data, uint32_t n, uint32_t have,
                      uint32_t size) {
    const uint32_t k = std::min(n, have);
    return k == 0 || write(ptr, data, uint64_t{k} * size) == 0;
  };
  // used_maps: the maps the instructions name, then the bound ones.
  std::vector<uint32_t> ids = rec.map_ids;
  {
    std::lock_guard<std::mutex> l(p.extra->mu);
    for (const std::shared_ptr<Map>& b : p.extra->bound_maps) {
      if (std::find(ids.begin(), ids.end(), b->id()) == ids.end()) {
        ids.push_back(b->id());
      }
    }
  }
  const uint32_t nmaps = static_cast<uint32_t>(ids.size());
  if (!out(info->map_ids, ids.data(), info->nr_map_ids, nmaps, 4)) {
    return -EFAULT;
  }
  info->nr_map_ids = nmaps;
  // set_info_rec_size().
  if ((info->nr_func_info || info->func_info_rec_size) &&
      info->func_info_rec_size != 8) {
    return -EINVAL;
  }
  if ((info->nr_line_info || info->line_info_rec_size) &&
      info->line_info_rec_size != 16) {
    return -EINVAL;
  }
  if ((info->nr_jited_line_info || info->jited_line_info_rec_size) &&
      info->jited_line_info_rec_size != 8) {
    return -EINVAL;
  }
  info->func_info_rec_size = 8;
  info->line_info_rec_size = 16;
  info->jited_line_info_rec_size = 8;
  info->run_time_ns = p.extra->run_time_ns.load(std::memory_order_relaxed);
  info->run_cnt = p.extra->run_cnt.load(std::memory_order_relaxed);
  info->recursion_misses = 0;
  info->verified_insns = 0;
  info->btf_id = rec.btf_id;
  if (!CallerPrivileged()) {
    info->jited_prog_len = info->xlated_prog_len = 0;
    info->nr_jited_ksyms = info->nr_jited_func_lens = 0;
    info->nr_func_info = info->nr_line_info = info->nr_jited_line_info = 0;
  } else {
    // The instructions as loaded (no verifier rewrites them here); no JIT.
    const uint32_t xlen = static_cast<uint32_t>(rec.xlated.size() * 8);
    if (!out(info->xlated_prog_insns, rec.xlated.data(), info->xlated_prog_len,
             xlen, 1)) {
      return -EFAULT;
    }
    info->xlated_prog_len = xlen;
    info->jited_prog_len = info->nr_jited_ksyms = info->nr_jited_func_lens = 0;
    if (!out(info->func_info, rec.func_info.data(), info->nr_func_info,
             rec.nr_func_info, 8) ||
        !out(info->line_info, rec.line_info.data(), info->nr_line_info,
             rec.nr_line_info, 16)) {
      return -EFAULT;
    }
    info->nr_func_info = rec.nr_func_info;
    info->nr_line_info = rec.nr_line_info;
    info->nr_jited_line_info = 0;
    // One program (no subprograms are split out), one tag.
    if (!out(info->prog_tags, rec.tag, info->nr_prog_tags, 1, BPF_TAG_SIZE)) {
      return -EFAULT;
    }
    info->nr_prog_tags = 1;
  }
  return 0;
}

}  // namespace bpfemu::native
