// SPDX-License-Identifier: Apache-2.0
// File: btf.h
//
// Emulated BTF objects: BPF_BTF_LOAD and the commands that name a BTF object
// (BPF_BTF_GET_FD_BY_ID, BPF_BTF_GET_NEXT_ID, BPF_OBJ_GET_INFO_BY_FD on a BTF
// fd) and the BTF part of BPF_MAP_CREATE (map_check_btf). Mirrors
// kernel/bpf/btf.c (btf_parse: btf_parse_hdr, btf_check_sec_info,
// btf_parse_str_sec, btf_check_all_metas with each kind's check_meta,
// btf_check_all_types with each kind's resolve and check_member,
// btf_check_type_tags; btf_get_info_by_fd) and kernel/bpf/syscall.c
// (bpf_btf_load, map_check_btf and the map types' map_check_btf ops).
//
// Every function returns what sys_bpf() returns, as a value: a new fd or 0,
// or a negative errno (errno is never touched).
//
// BTF fds are real descriptors (a memfd each, holding a copy of the blob),
// so they never collide with other files and survive fork() like any fd; a
// process-local table maps each fd to its object, as emu/prog.h does for
// programs. BTF ids come from the system-wide counter file of bpffs.h (a
// third counter: the kernel's btf_idr is separate from map_idr and
// prog_idr). A BTF object lives while an fd of this process or a map created
// with it holds it; the id walks see this process's objects. A BTF fd cannot
// be pinned (bpffs.h pins map regions only) and a fd passed to another
// process is not adopted there.
//
// Not modelled: the verifier log's per-type lines (the log holds the
// kernel's header lines and the failing check's message, so its length, and
// therefore ENOSPC on a small log buffer, differs from the kernel's), the
// special-field checks of btf_parse_struct_metas (bpf_list_head, bpf_rb_root,
// ...), split BTF (btf_fd of a base) and kernel/module BTF objects.

#ifndef BPFEMU_EMU_BTF_H_
#define BPFEMU_EMU_BTF_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/map.h"

namespace bpfemu {

// kernel/bpf/btf.c BTF_MAX_SIZE.
inline constexpr uint32_t kBtfMaxSize = 16 * 1024 * 1024;

// The BPF_BTF_LOAD part of union bpf_attr.
struct BtfLoadAttr {
  const void* btf = nullptr;
  char* log_buf = nullptr;
  uint32_t btf_size = 0;
  uint32_t log_size = 0;
  uint32_t log_level = 0;
  uint32_t log_true_size = 0;  // input: must be 0 on 6.1 (CHECK_ATTR)
  uint32_t btf_flags = 0;      // BPF_F_TOKEN_FD (6.9+)
  int32_t btf_token_fd = 0;
};

// BPF_BTF_LOAD (bpf_btf_load, btf_new_fd): a new O_CLOEXEC fd, or -errno:
// EINVAL for attributes the target kernel does not take or a bad log
// triple, EPERM unprivileged, E2BIG for btf_size > 16 MiB or a header longer
// than struct btf_header with non-zero tail bytes, EFAULT for a NULL blob,
// then the verifier's errnos (mostly EINVAL; ENOTSUPP for an unknown
// version, header flags or int encoding; EEXIST for a reference loop; E2BIG
// for a resolve chain deeper than 32; ELOOP for a modifier chain longer
// than 32). `log_true_size`, when not NULL (6.4+ callers), receives the
// log's full length.
[[nodiscard]] int BtfLoad(const BtfLoadAttr& attr,
                          uint32_t* log_true_size = nullptr);

// BPF_BTF_GET_FD_BY_ID: a new fd of the live BTF object `id`, or -EPERM
// (unprivileged) / -ENOENT.
[[nodiscard]] int BtfGetFdById(uint32_t id);
// BPF_BTF_GET_NEXT_ID: the smallest id above `start_id` of a BTF object
// this process holds; -EINVAL (start_id >= INT_MAX), -EPERM, -ENOENT.
[[nodiscard]] int BtfGetNextId(uint32_t start_id, uint32_t* next_id);

// struct bpf_btf_info (include/uapi/linux/bpf.h), 32 bytes.
struct BpfBtfInfo {
  uint64_t btf;
  uint32_t btf_size, id;
  uint64_t name;
  uint32_t name_len, kernel_btf;
};
static_assert(sizeof(BpfBtfInfo) == 32);
// BPF_OBJ_GET_INFO_BY_FD on a BTF fd (bpf_btf_get_info_by_fd): a longer
// buffer must be zero past 32 bytes (E2BIG); copies min(btf_size, blob size)
// bytes of the blob to `btf`, the name (always empty here) with ENOSPC for
// a too-short name buffer, EINVAL when only one of name / name_len is set.
// -EBADFD for a closed fd, -EINVAL for a fd that is not BTF.
[[nodiscard]] int BtfGetInfoByFd(int fd, void* info, uint32_t* info_len);

// Whether `fd` is a BTF fd of this process.
bool IsBtfFd(int fd);
// Forgets a BTF fd (the close() path); false if it is not one.
bool ForgetBtfFd(int fd);
// fcntl(F_DUPFD_CLOEXEC, min_fd) of a BTF fd, or -errno.
[[nodiscard]] int DupBtfFd(int fd, int min_fd);
// The raw blob and id behind a BTF fd: 0, -EBADF or -EINVAL.
int BtfRawFromFd(int fd, std::vector<uint8_t>* raw, uint32_t* id);

// BPF_MAP_CREATE's BTF step (map_create after allocation: btf_get_by_fd,
// map_check_btf and the type's map_check_btf op) for a map already
// allocated: 0 or -errno. `check_fields` runs where btf_parse_fields'
// checks run (after the key and value sizes, before the type's op) with the
// offset of a struct bpf_spin_lock in the value type, or -1. On success
// *btf_id is the object's id (0 when attr names no BTF).
[[nodiscard]] int MapCheckBtf(const MapAttr& attr, uint32_t* btf_id,
                              const std::function<int(int32_t)>& check_fields);
// The offset of a struct bpf_spin_lock member of attr's value type, or -1
// (no BTF, or BTF that MapCheckBtf will refuse).
int32_t BtfValueSpinLockOff(const MapAttr& attr);
// The same for a struct bpf_timer in the value (btf_parse_fields'
// timer_off), or -1.
int32_t BtfValueTimerOff(const MapAttr& attr);
// kfuncB47: btf_parse_fields() for a struct bpf_wq (16 bytes, 8-aligned)
// member of the value's struct: its offset, or -1 (none, no BTF, a second
// one).
int32_t BtfValueWqOff(const MapAttr& attr);
// tw50: btf_parse_fields() for a struct bpf_task_work (8 bytes, 8-aligned)
// member of the value's struct: its offset, or -1 (none, no BTF, a second
// one; MapCheckBtf refuses those).
int32_t BtfValueTaskWorkOff(const MapAttr& attr);
// map_check_btf()'s rules for a struct bpf_timer at `timer_off` (-1: none):
// -EACCES with BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG, -EOPNOTSUPP but for
// ARRAY, HASH and LRU_HASH; else 0.
int CheckTimerField(const MapAttr& attr, int32_t timer_off);
// The kptr fields of attr's value type (btf_find_kptr): attr->nkptrs,
// kptr_off and kptr_percpu; none without BTF or with BTF MapCheckBtf will
// refuse.
void BtfValueKptrs(MapAttr* attr);
// map_check_btf()'s rules for kptr fields (attr.nkptrs of them): -EACCES
// with BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG, -EOPNOTSUPP but for the hash
// and array types (plain, per-CPU, LRU) and the local storages; else 0.
int CheckKptrFields(const MapAttr& attr);
// Records the BTF a new map was created with (map->btf, kept alive with the
// map): in this process's table, and on the map's file as the extended
// attribute "user.bpfemu.btf" (the ids and the blob), so that every process
// that opens the map later (a pin, bpfemu's CLI) sees what bpf_map_info and
// bpftool's btf__load_from_kernel_by_id(info.btf_id) give in the kernel.
// Where the file cannot hold the attribute (a file system without user
// extended attributes, a blob beyond kMapBtfMaxBlob) only this process
// knows the BTF.
void RecordMapBtf(int map_fd, uint32_t map_id, uint32_t btf_id,
                  uint32_t key_type_id, uint32_t value_type_id);
inline constexpr size_t kMapBtfMaxBlob = 4u << 20;
// The BTF of the map behind `map_fd` (id `map_id`): its ids and, when
// `blob` is not null, the raw BTF. false for a map created without BTF.
// The attribute of a map another process made is untrusted input: it is
// size-checked here, and the blob must be parsed as hostile BTF.
struct MapBtfIdsOut {
  uint32_t btf_id = 0, key_type_id = 0, value_type_id = 0;
};
bool MapBtf(int map_fd, uint32_t map_id, MapBtfIdsOut* ids,
            std::vector<uint8_t>* blob = nullptr);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_BTF_H_
