// SPDX-License-Identifier: Apache-2.0
// File: struct_ops_map.h
//
// StructOpsMap mirrors kernel/bpf/bpf_struct_ops.c (Linux 6.1, 6.12, 6.18)
// for BPF_MAP_TYPE_STRUCT_OPS as far as userspace can observe it without a
// kernel subsystem running the ops: the map holds one value, a
// `struct bpf_struct_ops_X` of the emulated kernel's BTF (kernel_btf.h)
// that wraps a `struct X` of function pointers (tcp_congestion_ops,
// bpf_dummy_ops, ...). On the kernel a successful update registers that
// struct with its subsystem (a TCP congestion control, a sched_ext
// scheduler); bpfemu registers tcp_congestion_ops
// (tcp_register_congestion_control's name check) and runs its members
// through native/tcp_ca.h; the other subsystems are the boundary
// (docs/semantics.md, "STRUCT_OPS").
//
// The registry of struct_ops types (kStructOpsTypes in struct_ops_map.cc):
// which `struct X` a kernel version registers (kernel/bpf/
// bpf_struct_ops_types.h in 6.1, register_bpf_struct_ops() callers from
// 6.9 on), each further needing its `bpf_struct_ops_X` value struct in the
// kernel BTF, which stands for the build's configuration (CONFIG_INET,
// CONFIG_SCHED_CLASS_EXT, ...).
//
// Semantics, read from the 6.1 and 6.12 sources and compared with the
// running 6.18 kernel by tests/conformance/struct_ops_conformance.h (every
// rule below for tcp_congestion_ops and bpf_dummy_ops, the types this
// host's BTF has), kernel_compare/memlock_compare_test and the random
// campaign (docs/semantics.md, STRUCT_OPS):
//   * create: bpf_struct_ops_map_alloc_check(): key_size != 4, max_entries
//     != 1, flags other than BPF_F_LINK (6.4) and BPF_F_VTYPE_BTF_OBJ_FD
//     (6.9; 6.1 takes no flag), or no btf_vmlinux_value_type_id -> EINVAL;
//     then (bpf_struct_ops_map_alloc) BPF_F_VTYPE_BTF_OBJ_FD: a
//     value_type_btf_obj_fd that is not open -> EBADF, anything else ->
//     EINVAL (not a BTF object, or a BTF that is not a module's: the
//     emulated kernel has no module BTF); no
//     kernel BTF, or an id that is not the value struct of a registered
//     type -> ENOTSUPP (524); value_size != the value struct's size ->
//     EINVAL; then map_create's BTF step: a btf_fd naming a loaded BTF
//     object is required (EBADF / EINVAL), as for every vmlinux value.
//   * lookup (bpf_struct_ops_map_sys_lookup_elem): key != 0 -> ENOENT; key
//     0 of a map never registered (state INIT): all zeros.
//   * update (bpf_struct_ops_map_update_elem): flags -> EINVAL, key != 0
//     -> E2BIG, non-zero bytes in the holes of the value struct or of the
//     ops struct -> EINVAL, a non-zero state or refcnt -> EINVAL; a map
//     whose state is no longer INIT -> EBUSY; then member by member: a
//     `struct module *` member that is not NULL ends the update, the map
//     still INIT and nothing stored, returning the kernel's `err` as it
//     stands: the last init_member verdict, 1 for tcp_congestion_ops (its
//     name member precedes owner), so the syscall returns 1; the type's
//     init_member (tcp_congestion_ops: flags outside TCP_CONG_MASK, a name
//     bpf_obj_name_cpy() refuses -> EINVAL, Latin-1 letters accepted as
//     lib/ctype.c's isalnum does; bpf_dummy_ops: EOPNOTSUPP on
//     its first member); a non-function member that is not zero ->
//     EINVAL; a function member holding a program fd: not open -> EBADF,
//     not a program -> EINVAL, a program that is not a STRUCT_OPS program
//     of this type and member -> EINVAL; then the type's validate
//     (tcp_congestion_ops: ssthresh, undo_cwnd and cong_avoid or
//     cong_control required -> EINVAL). Then the registration:
//     tcp_congestion_ops registers (a name taken -> EEXIST; INUSE, the
//     slots stored as program ids, lookups show refcnt 1; measured on
//     6.18 by tests/examples/tcp_ca_compare_test.cc); the other
//     types answer EOPNOTSUPP (the boundary), the types
//     whose init_member and validate bpfemu does not model right after
//     the value-wide checks. A BPF_F_LINK map (6.4) is not registered by
//     the update: tcp_congestion_ops' validate passed, it turns READY
//     (the slots stored as program ids, refcnt 0) and a second update
//     answers EBUSY; BPF_LINK_CREATE registers it (below).
//   * links (bpf_struct_ops_link_create, bpf_struct_ops_map_link_update,
//     bpf_struct_ops_map_link_detach, _dealloc; 6.4 on; StructOpsLink*
//     below): BPF_LINK_CREATE with attach_type BPF_STRUCT_OPS takes the
//     map fd (not open: EBADF, not a map: EINVAL), which must be a
//     BPF_F_LINK STRUCT_OPS map in state READY (EINVAL), and registers it
//     (tcp_register_congestion_control: a name taken -> EEXIST, no link);
//     the link holds the map (lookups show refcnt 1). BPF_LINK_UPDATE:
//     flags other than BPF_F_REPLACE -> EINVAL, a link fd that is no link
//     -> EBADF / EINVAL, the new map (and with BPF_F_REPLACE the old one)
//     as a map fd, an old_map_fd without BPF_F_REPLACE -> EINVAL, a new
//     map not READY / not BPF_F_LINK -> EINVAL, a detached link ->
//     ENOLINK, an old map that is not the link's -> EPERM, another type
//     -> EINVAL, then tcp_update_congestion_control: a different name ->
//     EINVAL; the new map takes the registration over. BPF_LINK_DETACH
//     (and closing the link's last fd) unregisters; detaching again is 0.
//     The map stays READY: another link may register it again.
//   * delete (bpf_struct_ops_map_delete_elem): BPF_F_LINK maps ->
//     EOPNOTSUPP; INUSE: unregistered, TOBEFREE, 0; TOBEFREE ->
//     EINPROGRESS; INIT -> ENOENT (any key).
//   * get_next_key: NULL or a key != 0 -> 0; key 0 -> ENOENT.
//   * freeze -> ENOTSUPP; lookup_and_delete, batches, mmap -> ENOTSUPP.
//   * BPF_OBJ_GET_INFO_BY_FD: btf_vmlinux_value_type_id, and (6.9 on)
//     btf_vmlinux_id, the kernel BTF's object id (1: the first BTF object a
//     kernel registers at boot).
//   * memlock (bpf_struct_ops_map_mem_usage, 6.4 on): sizeof(struct
//     bpf_struct_ops_map) (build profile) + 2 * value size - 64 (struct
//     bpf_struct_ops_value) + 16 bytes per function member + a page.
//
// Layout (after MapHeader): StructOpsBody (the resolved type ids, the
// function member count and the state), then the stored value
// (value_size bytes, st_map->uvalue).

#ifndef BPFEMU_EMU_STRUCT_OPS_MAP_H_
#define BPFEMU_EMU_STRUCT_OPS_MAP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "emu/map.h"
#include "emu/shm.h"
#include "emu/version.h"

namespace bpfemu {

class KernelBtf;
struct Prog;

// UAPI values newer than Debian's 6.1 <linux/bpf.h>.
inline constexpr uint32_t kBpfFLink = 1U << 13;            // 6.4
inline constexpr uint32_t kBpfFVtypeBtfObjFd = 1U << 15;   // 6.9
inline constexpr uint32_t kBpfStructOpsStateInit = 0;      // enum
inline constexpr uint32_t kBpfStructOpsStateInuse = 1;     // bpf_struct_
inline constexpr uint32_t kBpfStructOpsStateTobefree = 2;  // ops_state
inline constexpr uint32_t kBpfStructOpsStateReady = 3;     // (6.4)
inline constexpr uint32_t kBpfStructOpsAttach = 44;  // BPF_STRUCT_OPS (6.4)

// One struct_ops type as a kernel version registers it.
struct StructOpsType {
  const char* name;     // struct X (the value struct is bpf_struct_ops_X)
  KernelVersion since;  // the first emulated version that registers it
  uint32_t first_in;    // the kernel release that added it (6001 = 6.1)
  const char* source;   // where the kernel registers it
  bool modelled;        // init_member and validate are modelled
};

// The registry (struct_ops_map.cc).
const StructOpsType* StructOpsTypes(size_t* count);

// check_struct_ops_btf_id() (kernel/bpf/verifier.c, 6.1 to 6.18 alike) for
// a BPF_PROG_TYPE_STRUCT_OPS load: a GPL-compatible license (EINVAL), an
// attach_btf_id (none: ENOTSUPP, no line) naming the `struct X` of a
// registered type (bpf_struct_ops_find: ENOTSUPP), expected_attach_type a
// member index below its vlen (EINVAL), that member a function pointer
// (EINVAL), and one the type lets BPF implement (bpf_struct_ops_supported:
// a cfi stub; 6.1's bpf_tcp_ca_check_member: tcp_congestion_ops' get_info
// has none: ENOTSUPP). 0, or the errno with the verifier's line in *log.
// *type_name is the struct's name.
// Whether a congestion control of that name is registered with the
// emulated kernel (net/ipv4/tcp_cong.c tcp_cong_list: the host's built-in
// ones, and the BPF ones this process registered through STRUCT_OPS maps).
bool TcpCongestionRegistered(std::string_view name);

int StructOpsProgCheck(uint32_t attach_btf_id, uint32_t member_idx,
                       bool gpl_compatible, std::string* type_name,
                       std::string* log);

// A struct_ops type resolved in a kernel BTF (bpf_struct_ops_desc).
struct StructOpsDesc {
  const StructOpsType* type = nullptr;
  uint32_t type_id = 0;     // struct X
  uint32_t value_id = 0;    // struct bpf_struct_ops_X
  uint32_t value_size = 0;  // its size
  uint32_t funcs_cnt = 0;   // members that are function pointers
};

// bpf_struct_ops_find_value(): the type whose value struct is `value_id`
// in `btf`, registered by kernel `v`; false if none.
bool FindStructOpsValue(const KernelBtf& btf, KernelVersion v,
                        uint32_t value_id, StructOpsDesc* out);

// BPF_LINK_CREATE with attach_type BPF_STRUCT_OPS (link_create,
// bpf_struct_ops_link_create): a new link fd (O_CLOEXEC) holding the map
// `map_fd`, its congestion control registered; or -errno (the rules in the
// comment at the top). Closing the link's last fd detaches it.
int StructOpsLinkCreate(int map_fd);
// BPF_LINK_UPDATE of a struct_ops link (link_update, link_update_map,
// bpf_struct_ops_map_link_update): 0 or -errno.
int StructOpsLinkUpdate(int link_fd, int new_map_fd, uint32_t flags,
                        int old_map_fd);
// BPF_LINK_DETACH of a struct_ops link: 0 (also when detached already), or
// -EBADF / -EINVAL for an fd that is not one.
int StructOpsLinkDetach(int link_fd);
// Whether `fd` (or a dup / bpf_obj_get copy of it) is a struct_ops link of
// this process; the id of the map it
// holds (0 once detached) in *map_id when it is.
bool IsStructOpsLinkFd(int fd, uint32_t* map_id = nullptr);
// `fd` is being closed: the last fd of the link's file detaches it. False
// if `fd` is no link's.
bool ForgetStructOpsLinkFd(int fd);

class StructOpsMap final : public Map {
 public:
  static const MapOps kOps;

  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  ~StructOpsMap() override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  // bpf_struct_ops_map_lookup_elem: ERR_PTR(-EINVAL) (no program reaches
  // it: the verifier refuses the map in programs).
  void* LookupElemProg(const void*) override { return nullptr; }
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EOPNOTSUPP;
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EOPNOTSUPP; }
  uint64_t MemUsage(const BuildProfile& build) const override;
  bool RefusesFreeze() const override { return true; }
  uint32_t VmlinuxValueTypeId() const override;

  // The resolved type (name, ids).
  const StructOpsDesc& desc() const { return desc_; }

  // The program registered for member `member` (its name) while the map is
  // registered by this process (an update, or a link of a BPF_F_LINK
  // map), or nullptr.
  std::shared_ptr<const Prog> MemberProg(std::string_view member) const;
  // The state (kBpfStructOpsState*).
  uint32_t state() const;

  // A link's st_ops->reg / unreg / update on this READY BPF_F_LINK map
  // (the link code in struct_ops_map.cc calls them under its mutex).
  // LinkReg and LinkUpdate answer -EOPNOTSUPP for a map whose READY name
  // this process does not know (made READY by another process and attached
  // from its region): it has no programs here to register.
  int LinkReg();
  void LinkUnreg();
  int LinkUpdate(StructOpsMap* old_map);

 private:
  struct Body;
  explicit StructOpsMap(ShmRegion region);
  static int AllocCheck(const MapAttr& attr);
  static uint64_t RegionSize(uint32_t value_size);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  // The member walk of bpf_struct_ops_map_update_elem on `udata` (the
  // struct X inside the caller's value).
  // <0: the error; otherwise the walk passed, or (*owner_exit) it ended at
  // a set owner pointer with the returned `err`.
  int CheckMembers(const KernelBtf& btf, const uint8_t* udata, bool* owner_exit,
                   std::vector<std::shared_ptr<const Prog>>* progs) const;

  // The registration (st_ops->reg): tcp_register_congestion_control for
  // tcp_congestion_ops; the boundary (EOPNOTSUPP) for the other types.
  int Register(const KernelBtf& btf, const uint8_t* udata);

  Body* body_;
  uint8_t* uvalue_;
  StructOpsDesc desc_;
  // The programs of the function members, by member index (this process).
  std::vector<std::shared_ptr<const Prog>> progs_;
  std::string registered_name_;     // the tcp_ca name this map registered
  std::string ready_name_;          // a READY link map's tcp_ca name
  std::atomic<uint32_t> links_{0};  // links holding it (lookup's refcnt)
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_STRUCT_OPS_MAP_H_
