// SPDX-License-Identifier: Apache-2.0
// BPF_MAP_CREATE (kernel/bpf/syscall.c map_create): the generic attribute
// checks in the kernel's order, then the type's operations (map_types.h):
// alloc_check, the inner map template of map-in-map types, alloc; the name
// and the value's spin lock are checked after allocation, as in the kernel.

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

#include "emu/btf.h"
#include "emu/cpu.h"
#include "emu/fd_table.h"
#include "emu/map.h"
#include "emu/map_in_map.h"
#include "emu/map_types.h"
#include "emu/netdev.h"
#include "emu/syscall.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// bpf_obj_name_cpy(): ObjNameCharOk characters, NUL-terminated in 16 bytes.
bool NameOk(const char (&name)[BPF_OBJ_NAME_LEN]) {
  for (char c : name) {
    if (c == '\0') return true;
    if (!ObjNameCharOk(static_cast<unsigned char>(c))) return false;
  }
  return false;
}

// map_check_btf()'s checks of the one special field bpfemu models, a struct
// bpf_spin_lock in the value: found in the value's BTF (btf.h), or given
// by the attr.spin_lock_off extension; only the types whose ops say so
// accept one.
int CheckSpinLock(const MapAttr& attr, const MapOps& ops) {
  if (attr.spin_lock_off < 0) return 0;
  // btf_parse_fields(): a 4-aligned field inside the value.
  if (attr.spin_lock_off % 4 != 0 ||
      uint64_t(attr.spin_lock_off) + kSpinLockSize > attr.value_size) {
    return -EINVAL;
  }
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EACCES;
  if (!ops.value_spin_lock) return -EOPNOTSUPP;
  return 0;
}

// map_check_btf()'s checks of a struct bpf_timer the attr.timer_off
// extension names (one in the value's BTF is checked with it, btf.cc): 16
// 8-aligned bytes inside the value, clear of the spin lock; no
// BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG; only ARRAY, HASH and LRU_HASH.
int CheckTimer(const MapAttr& attr) {
  if (attr.timer_off < 0) return 0;
  if (attr.timer_off % 8 != 0 ||
      uint64_t(attr.timer_off) + kTimerSize > attr.value_size ||
      (attr.spin_lock_off >= attr.timer_off &&
       attr.spin_lock_off < attr.timer_off + int32_t{kTimerSize})) {
    return -EINVAL;
  }
  return CheckTimerField(attr, attr.timer_off);
}

// The attr.nkptrs extension's fields: at most kMaxKptrs, each 8 8-aligned
// bytes inside the value; then map_check_btf()'s rules (CheckKptrFields).
int CheckKptrs(const MapAttr& attr) {
  if (attr.nkptrs > kMaxKptrs) return -E2BIG;
  for (uint32_t i = 0; i < attr.nkptrs; ++i) {
    if (attr.kptr_off[i] < 0 || attr.kptr_off[i] % 8 != 0 ||
        uint64_t(attr.kptr_off[i]) + kKptrSize > attr.value_size) {
      return -EINVAL;
    }
  }
  return CheckKptrFields(attr);
}

}  // namespace

int MapCreate(const MapAttr& in) {
  MapAttr attr = in;
  // kBpfFTokenFd is remembered and cleared before any per-type check.
  const bool token_flag = attr.map_flags & kBpfFTokenFd;
  attr.map_flags &= ~kBpfFTokenFd;
  if (attr.btf_vmlinux_value_type_id != 0) {
    if (attr.map_type != BPF_MAP_TYPE_STRUCT_OPS || attr.btf_key_type_id != 0 ||
        attr.btf_value_type_id != 0) {
      return -EINVAL;
    }
  } else if (attr.btf_key_type_id != 0 && attr.btf_value_type_id == 0) {
    return -EINVAL;
  }
  if (attr.map_type != BPF_MAP_TYPE_BLOOM_FILTER &&
      attr.map_type != kBpfMapTypeArena && attr.map_extra != 0) {
    return -EINVAL;
  }
  // bpf_get_file_flag().
  if ((attr.map_flags & BPF_F_RDONLY) && (attr.map_flags & BPF_F_WRONLY)) {
    return -EINVAL;
  }
  // One emulated NUMA node (node 0).
  if ((attr.map_flags & BPF_F_NUMA_NODE) && attr.numa_node >= 1) {
    return -EINVAL;
  }
  const MapOps* ops = MapOpsFor(attr.map_type);
  if (ops == nullptr) return -EINVAL;
  // A spin lock the value's BTF declares is laid out like the extension's.
  if (attr.spin_lock_off < 0) attr.spin_lock_off = BtfValueSpinLockOff(attr);
  // So is a timer (emu/timer.h).
  const bool timer_ext = attr.timer_off >= 0;
  if (!timer_ext) attr.timer_off = BtfValueTimerOff(attr);
  // And a struct bpf_wq (kfuncB47: emu/wq_kfuncs.h), in the timer table too.
  if (attr.wq_off < 0) attr.wq_off = BtfValueWqOff(attr);
  // And a struct bpf_task_work (tw50: emu/task_work.h).
  if (attr.task_work_off < 0) attr.task_work_off = BtfValueTaskWorkOff(attr);
  // And the kptr fields (emu/graph_obj.h KptrXchg).
  if (attr.nkptrs == 0) {
    BtfValueKptrs(&attr);
  } else if (int err = CheckKptrs(attr); err != 0) {
    return err;
  }
  if (int err = ops->alloc_check(attr); err != 0) return err;
  MapHeader::InnerMeta inner = {};
  if (ops->meta_alloc != nullptr) {
    if (int err = ops->meta_alloc(attr, &inner); err != 0) return err;
  }
  // bpfemu has no BPF tokens: bpf_token_get_from_fd() fails on any fd.
  if (token_flag) return -EINVAL;
  // kernel.unprivileged_bpf_disabled blocks map creation for non-root.
  if (!CallerPrivileged()) return -EPERM;
  // A map_ifindex swaps the type's alloc for bpf_map_offload_map_alloc():
  // only ARRAY and HASH offload, on a device with ndo_bpf (none here).
  if (attr.map_ifindex != 0) {
    if (attr.map_type != BPF_MAP_TYPE_ARRAY &&
        attr.map_type != BPF_MAP_TYPE_HASH) {
      return -EINVAL;
    }
    return NetdevOffloadCheck(attr.map_ifindex);
  }

  // More possible CPUs than any kernel build supports (a misconfigured
  // SetNumPossibleCpus): no region could be attached again.
  if (NumPossibleCpus() > static_cast<int>(kMaxCpus)) return -EINVAL;
  int fd;
  std::unique_ptr<Map> map;
  if (int err =
          ops->alloc(attr, static_cast<uint32_t>(NumPossibleCpus()), &fd, &map);
      err != 0) {
    return err;
  }
  // The name is checked after allocation, as in the kernel.
  if (!NameOk(attr.map_name)) {
    map.reset();
    close(fd);
    return -EINVAL;
  }
  // The BTF block of map_create(): btf_get_by_fd, map_check_btf (with the
  // spin lock checks of btf_parse_fields) and the type's map_check_btf.
  uint32_t btf_id = 0;
  if (int err = MapCheckBtf(attr, &btf_id,
                            [&](int32_t) {
                              if (int e = CheckSpinLock(attr, *ops); e != 0) {
                                return e;
                              }
                              return timer_ext ? CheckTimer(attr) : 0;
                            });
      err != 0) {
    map.reset();
    close(fd);
    return err;
  }
  const uint32_t map_id = map->id();
  if (inner.present) map->SetInnerMeta(inner);
  if (int err = FdTable::Get().Insert(
          fd, FdEntry{std::move(map), !(attr.map_flags & BPF_F_WRONLY),
                      !(attr.map_flags & BPF_F_RDONLY)});
      err != 0) {
    close(fd);
    return err;
  }
  if (btf_id != 0) {
    RecordMapBtf(fd, map_id, btf_id, attr.btf_key_type_id,
                 attr.btf_value_type_id);
  }
  // The creating description holds the map (map_in_map.h).
  HoldMap(fd);
  return fd;
}

}  // namespace bpfemu
