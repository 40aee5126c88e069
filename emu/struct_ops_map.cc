// SPDX-License-Identifier: Apache-2.0
// Mirrors kernel/bpf/bpf_struct_ops.c (bpf_struct_ops_map_alloc_check,
// bpf_struct_ops_map_alloc, bpf_struct_ops_find_value, is_valid_value_type,
// check_zero_holes, bpf_struct_ops_map_sys_lookup_elem,
// bpf_struct_ops_map_update_elem, bpf_struct_ops_map_delete_elem,
// bpf_struct_ops_map_get_next_key, bpf_struct_ops_map_mem_usage), with the
// init_member and validate of net/ipv4/bpf_tcp_ca.c and
// net/bpf/bpf_dummy_struct_ops.c. See struct_ops_map.h.
#include "emu/struct_ops_map.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "emu/errno.h"
#include "emu/fd_table.h"
#include "emu/kernel_btf.h"
#include "emu/link_files.h"
#include "emu/prog.h"

namespace bpfemu {
namespace {

// The registry. The kernel registers a type only where its subsystem is
// built, and only if its value struct made it into the BTF, so bpfemu
// requires both the version below and `bpf_struct_ops_X` in the kernel BTF.
constexpr StructOpsType kStructOpsTypes[] = {
    // 5.6; kernel/bpf/bpf_struct_ops_types.h in 6.1 (CONFIG_INET),
    // register_bpf_struct_ops() in net/ipv4/bpf_tcp_ca.c from 6.9 on.
    {"tcp_congestion_ops", KernelVersion::k6_1, 5006, "net/ipv4/bpf_tcp_ca.c",
     true},
    // 5.16 (CONFIG_NET), net/bpf/bpf_dummy_struct_ops.c.
    {"bpf_dummy_ops", KernelVersion::k6_1, 5016,
     "net/bpf/bpf_dummy_struct_ops.c", true},
    // 6.11 (CONFIG_HID_BPF), drivers/hid/bpf/hid_bpf_struct_ops.c.
    {"hid_bpf_ops", KernelVersion::k6_12, 6011,
     "drivers/hid/bpf/hid_bpf_struct_ops.c", false},
    // 6.12 (CONFIG_SCHED_CLASS_EXT), kernel/sched/ext.c.
    {"sched_ext_ops", KernelVersion::k6_12, 6012, "kernel/sched/ext.c", false},
    // 6.16 (CONFIG_NET_SCH_BPF), net/sched/bpf_qdisc.c.
    {"Qdisc_ops", KernelVersion::k6_18, 6016, "net/sched/bpf_qdisc.c", false},
};

constexpr char kValuePrefix[] = "bpf_struct_ops_";
// sizeof(struct bpf_struct_ops_value): the 8-byte common part, then the
// cache-line aligned data.
constexpr uint32_t kStructOpsValueSize = 64;
// Offsets of refcnt and state in struct bpf_struct_ops_common_value.
constexpr uint32_t kRefcntOff = 0;
constexpr uint32_t kStateOff = 4;
// include/net/tcp.h TCP_CONG_MASK: TCP_CONG_NON_RESTRICTED |
// TCP_CONG_NEEDS_ECN in 6.1 and 6.12; 6.18 adds TCP_CONG_NEEDS_ACCECN.
uint32_t TcpCongMask(KernelVersion v) {
  return v >= KernelVersion::k6_18 ? 0x7 : 0x3;
}

uint32_t MemberByteOffset(const btf_type* t, const btf_member& m) {
  const uint32_t bits =
      BTF_INFO_KFLAG(t->info) ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset;
  return bits / 8;
}

// btf_type_resolve_ptr(): the type a pointer member points at (after
// modifiers on both sides), or 0 when the member is not a pointer.
uint32_t ResolvePtr(const KernelBtf& btf, uint32_t id) {
  const uint32_t t = btf.SkipModifiers(id);
  if (btf.Kind(t) != BTF_KIND_PTR) return 0;
  return btf.SkipModifiers(btf.Type(t)->type);
}

bool IsFuncPtr(const KernelBtf& btf, uint32_t id) {
  const uint32_t p = ResolvePtr(btf, id);
  return p != 0 && btf.Kind(p) == BTF_KIND_FUNC_PROTO;
}

bool NonZero(const uint8_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    if (p[i] != 0) return true;
  }
  return false;
}

// check_zero_holes(): the bytes of `t` (at `data`) outside its members are
// zero. -EINVAL otherwise; a member whose size cannot be resolved answers
// that error.
int CheckZeroHoles(const KernelBtf& btf, uint32_t type_id,
                   const uint8_t* data) {
  const btf_type* t = btf.Type(type_id);
  uint16_t n = 0;
  const btf_member* m = btf.Members(type_id, &n);
  uint64_t prev_end = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const uint64_t off = MemberByteOffset(t, m[i]);
    if (off > prev_end && NonZero(data + prev_end, off - prev_end)) {
      return -EINVAL;
    }
    const int64_t size = btf.Size(m[i].type);
    if (size < 0) return static_cast<int>(size);
    prev_end = off + static_cast<uint64_t>(size);
  }
  if (t->size > prev_end && NonZero(data + prev_end, t->size - prev_end)) {
    return -EINVAL;
  }
  return 0;
}

// bpf_obj_name_cpy()'s verdict: the length of a NUL-terminated name of
// ObjNameCharOk characters (emu/map.h), or -EINVAL.
int ObjNameLen(const uint8_t* src, uint32_t size) {
  for (uint32_t i = 0; i < size; ++i) {
    if (src[i] == 0) return static_cast<int>(i);
    if (!ObjNameCharOk(src[i])) return -EINVAL;
  }
  return -EINVAL;
}

// The offset of the member `name` of struct `type_id`, or -1.
int64_t MemberOffset(const KernelBtf& btf, uint32_t type_id,
                     std::string_view name) {
  const btf_type* t = btf.Type(type_id);
  uint16_t n = 0;
  const btf_member* m = btf.Members(type_id, &n);
  for (uint16_t i = 0; i < n; ++i) {
    if (btf.Str(m[i].name_off) == name) return MemberByteOffset(t, m[i]);
  }
  return -1;
}

}  // namespace

const StructOpsType* StructOpsTypes(size_t* count) {
  *count = sizeof(kStructOpsTypes) / sizeof(kStructOpsTypes[0]);
  return kStructOpsTypes;
}

int StructOpsProgCheck(uint32_t attach_btf_id, uint32_t member_idx,
                       bool gpl_compatible, std::string* type_name,
                       std::string* log) {
  if (!gpl_compatible) {
    *log = "struct ops programs must have a GPL compatible license\n";
    return -EINVAL;
  }
  if (attach_btf_id == 0) return -kENOTSUPP;
  // bpf_struct_ops_find(): a registered type's struct X, whose value
  // struct the kernel BTF also has (bpf_struct_ops_desc_init).
  const KernelBtf* btf = KernelBtf::Get();
  const StructOpsType* st = nullptr;
  if (btf != nullptr && btf->Kind(attach_btf_id) == BTF_KIND_STRUCT) {
    const std::string_view name = btf->Name(attach_btf_id);
    for (const StructOpsType& t : kStructOpsTypes) {
      if (name != t.name || TargetKernel() < t.since) continue;
      if (btf->FindByNameKind(t.name, BTF_KIND_STRUCT) !=
              static_cast<int32_t>(attach_btf_id) ||
          btf->FindByNameKind(std::string(kValuePrefix) + t.name,
                              BTF_KIND_STRUCT) <= 0) {
        break;
      }
      st = &t;
      break;
    }
  }
  if (st == nullptr) {
    *log = "attach_btf_id " + std::to_string(attach_btf_id) +
           " is not a supported struct\n";
    return -kENOTSUPP;
  }
  *type_name = st->name;
  uint16_t n = 0;
  const btf_member* m = btf->Members(attach_btf_id, &n);
  if (member_idx >= n) {
    *log = "attach to invalid member idx " + std::to_string(member_idx) +
           " of struct " + st->name + "\n";
    return -EINVAL;
  }
  const std::string mname(btf->Str(m[member_idx].name_off));
  if (!IsFuncPtr(*btf, m[member_idx].type)) {
    *log = "attach to invalid member " + mname + "(@idx " +
           std::to_string(member_idx) + ") of struct " + st->name + "\n";
    return -EINVAL;
  }
  // bpf_struct_ops_supported(): the members without a cfi stub
  // (tcp_congestion_ops' get_info; 6.1: bpf_tcp_ca_check_member's
  // unsupported_ops, the same member).
  if (std::string_view(st->name) == "tcp_congestion_ops" &&
      mname == "get_info") {
    *log = "attach to unsupported member " + mname + " of struct " + st->name +
           "\n";
    return -kENOTSUPP;
  }
  return 0;
}

namespace {

// net/ipv4/tcp_cong.c tcp_cong_list: the names of the registered
// congestion controls. The emulated kernel starts with the ones the host
// has (/proc/sys/net/ipv4/tcp_available_congestion_control; reno is always
// built in); BPF ones join and leave with their STRUCT_OPS maps.
std::mutex& CongListMu() {
  static std::mutex mu;
  return mu;
}
std::set<std::string>& CongList() {
  static auto* names = [] {
    auto* s = new std::set<std::string>{"reno"};
    std::ifstream f("/proc/sys/net/ipv4/tcp_available_congestion_control");
    std::string name;
    while (f >> name) s->insert(name);
    return s;
  }();
  return *names;
}

}  // namespace

bool TcpCongestionRegistered(std::string_view name) {
  std::lock_guard<std::mutex> g(CongListMu());
  return CongList().count(std::string(name)) != 0;
}

bool FindStructOpsValue(const KernelBtf& btf, KernelVersion v,
                        uint32_t value_id, StructOpsDesc* out) {
  if (btf.Kind(value_id) != BTF_KIND_STRUCT) return false;
  const std::string_view vname = btf.Name(value_id);
  if (vname.substr(0, sizeof(kValuePrefix) - 1) != kValuePrefix) return false;
  const std::string_view tname = vname.substr(sizeof(kValuePrefix) - 1);
  for (const StructOpsType& st : kStructOpsTypes) {
    if (tname != st.name || v < st.since) continue;
    // bpf_struct_ops_desc_init: the lowest ids of both names.
    const int32_t type_id = btf.FindByNameKind(st.name, BTF_KIND_STRUCT);
    if (type_id <= 0) return false;
    if (btf.FindByNameKind(vname, BTF_KIND_STRUCT) !=
        static_cast<int32_t>(value_id)) {
      return false;
    }
    // is_valid_value_type(): {struct bpf_struct_ops_common_value common;
    // struct X data;}.
    uint16_t n = 0;
    const btf_member* m = btf.Members(value_id, &n);
    if (StructOpsValueShapeChecked(v) &&
        (n != 2 || btf.Name(m[0].type) != "bpf_struct_ops_common_value" ||
         btf.SkipModifiers(m[1].type) != static_cast<uint32_t>(type_id))) {
      return false;
    }
    const int64_t vsize = btf.Size(value_id);
    const int64_t tsize = btf.Size(type_id);
    if (vsize <= 0 || vsize > UINT32_MAX || tsize < 0 ||
        tsize + kStructOpsValueSize > vsize) {
      return false;
    }
    uint16_t tn = 0;
    const btf_member* tm = btf.Members(type_id, &tn);
    uint32_t funcs = 0;
    for (uint16_t i = 0; i < tn; ++i) funcs += IsFuncPtr(btf, tm[i].type);
    *out = StructOpsDesc{&st, static_cast<uint32_t>(type_id), value_id,
                         static_cast<uint32_t>(vsize), funcs};
    return true;
  }
  return false;
}

// The family body: written once at creation, except `state`.
struct StructOpsMap::Body {
  uint32_t magic;
  uint32_t value_id;  // attr.btf_vmlinux_value_type_id
  uint32_t type_id;
  uint32_t funcs_cnt;
  std::atomic<uint32_t> state;  // kvalue.common.state
  uint32_t pad[11];
};

namespace {
constexpr uint32_t kBodyMagic = 0x53545250;  // "PRTS"
constexpr uint64_t kValueOffset = kBodyOffset + 64;
}  // namespace

StructOpsMap::StructOpsMap(ShmRegion region) : Map(std::move(region)) {
  static_assert(sizeof(Body) == 64);
  body_ = this->region().At<Body>(kBodyOffset);
  uvalue_ = this->region().At<uint8_t>(kValueOffset);
}

const MapOps StructOpsMap::kOps = {&StructOpsMap::AllocCheck,
                                   &StructOpsMap::Alloc, &StructOpsMap::Attach};

int StructOpsMap::AllocCheck(const MapAttr& attr) {
  // The flags came with 6.4 (BPF_F_LINK) and 6.9 (BPF_F_VTYPE_BTF_OBJ_FD).
  const uint32_t flags = TargetKernel() >= KernelVersion::k6_12
                             ? kBpfFLink | kBpfFVtypeBtfObjFd
                             : 0;
  if (attr.key_size != 4 || attr.max_entries != 1 ||
      (attr.map_flags & ~flags) || attr.btf_vmlinux_value_type_id == 0) {
    return -EINVAL;
  }
  return 0;
}

uint64_t StructOpsMap::RegionSize(uint32_t value_size) {
  return kValueOffset + value_size;
}

int StructOpsMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                        std::unique_ptr<Map>* out) {
  // A module's BTF named by value_type_btf_obj_fd: btf_get_by_fd() refuses
  // an fd that is not open (EBADF) or not a BTF object (EINVAL), and the
  // emulated kernel has no module BTF, so btf_is_module() refuses the rest.
  if (attr.map_flags & kBpfFVtypeBtfObjFd) {
    if (fcntl(attr.value_type_btf_obj_fd, F_GETFD) < 0) return -EBADF;
    return -EINVAL;
  }
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return -kENOTSUPP;
  StructOpsDesc desc;
  if (!FindStructOpsValue(*btf, TargetKernel(), attr.btf_vmlinux_value_type_id,
                          &desc)) {
    return -kENOTSUPP;
  }
  if (attr.value_size != desc.value_size) return -EINVAL;
  const uint64_t size = RegionSize(attr.value_size);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-struct-ops", size, &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, 1, nr_cpus, /*seed=*/0, size, region.At<MapHeader>(0));
  Body* b = region.At<Body>(kBodyOffset);
  b->magic = kBodyMagic;
  b->value_id = desc.value_id;
  b->type_id = desc.type_id;
  b->funcs_cnt = desc.funcs_cnt;
  b->state.store(kBpfStructOpsStateInit, std::memory_order_release);
  auto map = std::unique_ptr<StructOpsMap>(new StructOpsMap(std::move(region)));
  map->desc_ = desc;
  *fd = map_fd;
  *out = std::move(map);
  return 0;
}

int StructOpsMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map = std::unique_ptr<StructOpsMap>(new StructOpsMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (h.key_size != 4 || h.max_entries != 1 ||
      (h.map_flags & ~(kBpfFLink | kBpfFVtypeBtfObjFd)) ||
      h.region_size != RegionSize(h.value_size)) {
    return -EINVAL;
  }
  // The ids must still name the same type in this process's kernel BTF.
  const Body* b = map->body_;
  const KernelBtf* btf = KernelBtf::Get();
  StructOpsDesc desc;
  if (b->magic != kBodyMagic || btf == nullptr ||
      !FindStructOpsValue(*btf, map->kernel_version(), b->value_id, &desc) ||
      desc.value_size != h.value_size || desc.type_id != b->type_id ||
      desc.funcs_cnt != b->funcs_cnt ||
      b->state.load(std::memory_order_acquire) > kBpfStructOpsStateReady) {
    return -EINVAL;
  }
  map->desc_ = desc;
  *out = std::move(map);
  return 0;
}

uint32_t StructOpsMap::VmlinuxValueTypeId() const { return desc_.value_id; }

int StructOpsMap::LookupElem(const void* key, void* value, uint64_t) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  if (k != 0) return -ENOENT;
  const uint32_t state = body_->state.load(std::memory_order_acquire);
  if (state == kBpfStructOpsStateInit) {
    std::memset(value, 0, value_size());
    return 0;
  }
  // The stored value with the live state and the registration's
  // reference (refcnt 1 while INUSE, 0 once deleted: measured on 6.18).
  CopyFromMap(value, uvalue_, value_size());
  auto* out = static_cast<uint8_t*>(value);
  std::memcpy(out + kStateOff, &state, sizeof(state));
  // A link holds one reference to its map (bpf_map_get in
  // bpf_struct_ops_link_create).
  const uint32_t refcnt = (state == kBpfStructOpsStateInuse ? 1 : 0) +
                          links_.load(std::memory_order_acquire);
  std::memcpy(out + kRefcntOff, &refcnt, sizeof(refcnt));
  return 0;
}

int StructOpsMap::CheckMembers(
    const KernelBtf& btf, const uint8_t* udata, bool* owner_exit,
    std::vector<std::shared_ptr<const Prog>>* progs) const {
  *owner_exit = false;
  // The kernel's `err` as the walk leaves it: the last init_member verdict
  // (1 for a member it handled, 0 otherwise), which the owner-pointer exit
  // returns as it stands.
  int last = 0;
  const uint32_t t_id = desc_.type_id;
  const btf_type* t = btf.Type(t_id);
  const int32_t module_id = btf.FindByNameKind("module", BTF_KIND_STRUCT);
  const std::string_view tname = desc_.type->name;
  const bool tcp = tname == "tcp_congestion_ops";
  const bool dummy = tname == "bpf_dummy_ops";
  const int64_t tcp_flags = tcp ? MemberOffset(btf, t_id, "flags") : -1;
  const int64_t tcp_name = tcp ? MemberOffset(btf, t_id, "name") : -1;
  uint16_t n = 0;
  const btf_member* m = btf.Members(t_id, &n);
  for (uint16_t i = 0; i < n; ++i) {
    const uint32_t moff = MemberByteOffset(t, m[i]);
    const uint32_t ptype = ResolvePtr(btf, m[i].type);
    if (module_id > 0 && ptype == static_cast<uint32_t>(module_id)) {
      // A set owner pointer leaves through reset_unlock with err still 0:
      // the update "succeeds" and the map stays INIT.
      uint64_t owner;
      std::memcpy(&owner, udata + moff, sizeof(owner));
      if (owner != 0) {
        *owner_exit = true;
        return last;
      }
      continue;
    }
    // st_ops->init_member().
    if (dummy) return -EOPNOTSUPP;  // bpf_dummy_init_member
    if (tcp && moff == tcp_flags) {
      uint32_t flags;
      std::memcpy(&flags, udata + moff, sizeof(flags));
      if (flags & ~TcpCongMask(kernel_version())) return -EINVAL;
      last = 1;
      continue;
    }
    if (tcp && moff == tcp_name) {
      if (ObjNameLen(udata + moff, 16) <= 0) return -EINVAL;
      // 6.1's bpf_tcp_ca_init_member refuses a registered name here
      // (tcp_ca_find); later versions only in tcp_register_congestion_control.
      if (kernel_version() == KernelVersion::k6_1 &&
          TcpCongestionRegistered(
              reinterpret_cast<const char*>(udata + moff))) {
        return -EEXIST;
      }
      last = 1;
      continue;
    }
    last = 0;
    if (ptype == 0 || btf.Kind(ptype) != BTF_KIND_FUNC_PROTO) {
      // Every other member must be zero.
      const int64_t size = btf.Size(m[i].type);
      if (size < 0) return static_cast<int>(size);
      if (NonZero(udata + moff, static_cast<uint64_t>(size))) return -EINVAL;
      continue;
    }
    uint64_t slot;
    std::memcpy(&slot, udata + moff, sizeof(slot));
    const int prog_fd = static_cast<int>(slot);
    if (prog_fd == 0) continue;
    std::shared_ptr<const Prog> prog;
    if (int err = ProgFromFd(prog_fd, &prog); err != 0) return err;
    // The program must be a STRUCT_OPS program verified against this type
    // (attach_btf_id) for member i (expected_attach_type).
    if (prog->type != BPF_PROG_TYPE_STRUCT_OPS || prog->attach_btf_id != t_id ||
        prog->expected_attach_type != i) {
      return -EINVAL;
    }
    (*progs)[i] = std::move(prog);
  }
  // st_ops->validate().
  if (tcp) {
    auto fn = [&](std::string_view name) {
      const int64_t off = MemberOffset(btf, t_id, name);
      if (off < 0) return false;
      uint64_t v;
      std::memcpy(&v, udata + off, sizeof(v));
      return v != 0;
    };
    if (!fn("ssthresh") || !fn("undo_cwnd") ||
        !(fn("cong_avoid") || fn("cong_control"))) {
      return -EINVAL;
    }
  }
  return 0;
}

int StructOpsMap::UpdateElem(const void* key, const void* value,
                             uint64_t flags) {
  if (flags != 0) return -EINVAL;
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  if (k != 0) return -E2BIG;
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return -EINVAL;  // attach checked it; unreachable
  // The caller's buffer, copied once: the checks read it several times.
  std::string copy(value_size(), '\0');
  std::memcpy(copy.data(), value, value_size());
  const auto* v = reinterpret_cast<const uint8_t*>(copy.data());
  if (int err = CheckZeroHoles(*btf, desc_.value_id, v); err != 0) return err;
  const uint8_t* udata = v + kStructOpsValueSize;
  if (int err = CheckZeroHoles(*btf, desc_.type_id, udata); err != 0) {
    return err;
  }
  uint32_t refcnt, state;
  std::memcpy(&refcnt, v + kRefcntOff, 4);
  std::memcpy(&state, v + kStateOff, 4);
  if (state != 0 || refcnt != 0) return -EINVAL;
  if (body_->state.load(std::memory_order_acquire) != kBpfStructOpsStateInit) {
    return -EBUSY;
  }
  if (!desc_.type->modelled) {
    // The boundary, early: this type's init_member and validate are not
    // modelled, and bpfemu could not register it anyway.
    return -EOPNOTSUPP;
  }
  bool owner_exit = false;
  uint16_t nmembers = 0;
  btf->Members(desc_.type_id, &nmembers);
  std::vector<std::shared_ptr<const Prog>> progs(nmembers);
  const int err = CheckMembers(*btf, udata, &owner_exit, &progs);
  if (err < 0) return err;
  // The owner-pointer exit: nothing registered, the map still INIT, and
  // the syscall returns the kernel's `err` as it stood (1 after
  // tcp_congestion_ops' name; measured on 6.18).
  if (owner_exit) return err;
  if (desc_.type->name != std::string_view("tcp_congestion_ops")) {
    // The boundary: the other types' subsystems (bpf_dummy_ops has no
    // reg) are not run.
    return -EOPNOTSUPP;
  }
  const int64_t name_off = MemberOffset(*btf, desc_.type_id, "name");
  const std::string name(reinterpret_cast<const char*>(udata + name_off));
  // A BPF_F_LINK map: validate passed (CheckMembers); the link registers
  // it (bpf_struct_ops_link_create), the update only makes it READY.
  const bool link = map_flags() & kBpfFLink;
  if (!link) {
    // st_ops->reg: tcp_register_congestion_control (net/ipv4/tcp_cong.c):
    // tcp_validate_congestion_control passed above; a name (its jhash
    // key) already registered -> EEXIST.
    std::lock_guard<std::mutex> g(CongListMu());
    if (!CongList().insert(name).second) return -EEXIST;
  }
  // The stored value: the caller's, each program fd replaced by the
  // program's id (bpf_struct_ops_map_update_elem); the map holds the
  // programs (this process's objects).
  const btf_type* t = btf->Type(desc_.type_id);
  const btf_member* m = btf->Members(desc_.type_id, &nmembers);
  for (uint16_t i = 0; i < nmembers; ++i) {
    if (progs[i] == nullptr) continue;
    const uint64_t id = progs[i]->id;
    std::memcpy(copy.data() + kStructOpsValueSize + MemberByteOffset(t, m[i]),
                &id, sizeof(id));
  }
  CopyToMap(uvalue_, copy.data(), value_size());
  progs_ = std::move(progs);
  if (link) {
    ready_name_ = name;
    body_->state.store(kBpfStructOpsStateReady, std::memory_order_release);
    return 0;
  }
  registered_name_ = name;
  body_->state.store(kBpfStructOpsStateInuse, std::memory_order_release);
  return 0;
}

std::shared_ptr<const Prog> StructOpsMap::MemberProg(
    std::string_view member) const {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr || (state() != kBpfStructOpsStateInuse &&
                         links_.load(std::memory_order_acquire) == 0)) {
    return nullptr;
  }
  uint16_t n = 0;
  const btf_member* m = btf->Members(desc_.type_id, &n);
  for (uint16_t i = 0; i < n && i < progs_.size(); ++i) {
    if (btf->Str(m[i].name_off) == member) return progs_[i];
  }
  return nullptr;
}

uint32_t StructOpsMap::state() const {
  return body_->state.load(std::memory_order_acquire);
}

StructOpsMap::~StructOpsMap() {
  // The kernel's registration holds the map until a delete; bpfemu's lives
  // in the process that registered it and ends with its map object.
  if (!registered_name_.empty()) {
    std::lock_guard<std::mutex> g(CongListMu());
    CongList().erase(registered_name_);
  }
}

int StructOpsMap::DeleteElem(const void*) {
  if (map_flags() & kBpfFLink) return -EOPNOTSUPP;
  uint32_t expected = kBpfStructOpsStateInuse;
  if (body_->state.compare_exchange_strong(expected,
                                           kBpfStructOpsStateTobefree)) {
    // st_ops->unreg: tcp_unregister_congestion_control.
    if (!registered_name_.empty()) {
      std::lock_guard<std::mutex> g(CongListMu());
      CongList().erase(registered_name_);
      registered_name_.clear();
    }
    progs_.clear();
    return 0;
  }
  return expected == kBpfStructOpsStateTobefree ? -EINPROGRESS : -ENOENT;
}

int StructOpsMap::GetNextKey(const void* key, void* next_key) {
  if (key != nullptr) {
    uint32_t k;
    std::memcpy(&k, key, sizeof(k));
    if (k == 0) return -ENOENT;
  }
  const uint32_t zero = 0;
  std::memcpy(next_key, &zero, sizeof(zero));
  return 0;
}

uint64_t StructOpsMap::MemUsage(const BuildProfile& build) const {
  const uint64_t vsize = value_size();
  return build.struct_ops_map + vsize - kStructOpsValueSize + vsize +
         uint64_t{desc_.funcs_cnt} * 16 + 4096;
}

// st_ops->reg of a link (bpf_tcp_ca_reg: tcp_register_congestion_control):
// the name the READY value holds; taken -> EEXIST. A map this process did
// not make READY (attached from its region in another process) has no name
// or programs here: EOPNOTSUPP rather than registering "".
int StructOpsMap::LinkReg() {
  if (ready_name_.empty()) return -EOPNOTSUPP;
  std::lock_guard<std::mutex> g(CongListMu());
  if (!CongList().insert(ready_name_).second) return -EEXIST;
  registered_name_ = ready_name_;
  links_.fetch_add(1, std::memory_order_acq_rel);
  return 0;
}

// st_ops->unreg of a link (tcp_unregister_congestion_control).
void StructOpsMap::LinkUnreg() {
  std::lock_guard<std::mutex> g(CongListMu());
  if (!registered_name_.empty()) CongList().erase(registered_name_);
  registered_name_.clear();
  links_.fetch_sub(1, std::memory_order_acq_rel);
}

// st_ops->update (bpf_tcp_ca_update: tcp_update_congestion_control): the
// registered entry found by the old map's name must carry the new map's
// name (else EINVAL); the new map then holds the registration.
int StructOpsMap::LinkUpdate(StructOpsMap* old_map) {
  if (ready_name_.empty()) return -EOPNOTSUPP;  // as LinkReg
  std::lock_guard<std::mutex> g(CongListMu());
  if (old_map->registered_name_.empty() ||
      old_map->registered_name_ != ready_name_) {
    return -EINVAL;
  }
  if (old_map != this) {
    old_map->registered_name_.clear();
    old_map->links_.fetch_sub(1, std::memory_order_acq_rel);
    registered_name_ = ready_name_;
    links_.fetch_add(1, std::memory_order_acq_rel);
  }
  return 0;
}

namespace {

// bpf_struct_ops_link: the map it holds (null once detached). The
// kernel's update_mutex orders reg, update, detach and dealloc.
std::mutex& LinkMu() {
  static std::mutex mu;
  return mu;
}

struct StructOpsLink {
  uint32_t id = 0;
  mutable std::shared_ptr<Map> map;  // guarded by LinkMu()
  // bpf_struct_ops_map_link_dealloc: the last fd gone, a link still
  // holding its map unregisters it.
  ~StructOpsLink() {
    std::lock_guard<std::mutex> g(LinkMu());
    if (map != nullptr) static_cast<StructOpsMap*>(map.get())->LinkUnreg();
  }
};

// By the file of their fds: a dup(), F_DUPFD or bpf_obj_get copy of a link
// fd is the same link, unregistered when the last of them closes.
LinkFiles<StructOpsLink>& StLinks() {
  static auto* table = new LinkFiles<StructOpsLink>;
  return *table;
}

// bpf_map_get(): the map behind `fd` (EBADF not open, EINVAL not a map).
int MapOfFd(int fd, std::shared_ptr<Map>* out) {
  FdEntry e;
  if (int err = FdTable::Get().Find(fd, &e); err != 0) return err;
  *out = std::move(e.map);
  return 0;
}

// bpf_struct_ops_valid_to_reg(): a BPF_F_LINK STRUCT_OPS map in state READY.
StructOpsMap* ValidToReg(const std::shared_ptr<Map>& map) {
  auto* st = dynamic_cast<StructOpsMap*>(map.get());
  if (st == nullptr || map->type() != BPF_MAP_TYPE_STRUCT_OPS ||
      !(map->map_flags() & kBpfFLink) ||
      st->state() != kBpfStructOpsStateReady) {
    return nullptr;
  }
  return st;
}

}  // namespace

int StructOpsLinkCreate(int map_fd) {
  std::shared_ptr<Map> map;
  if (int err = MapOfFd(map_fd, &map); err != 0) return err;
  StructOpsMap* st = ValidToReg(map);
  if (st == nullptr) return -EINVAL;
  int fd = memfd_create("bpfemu-struct-ops-link", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  // Off 0-2, as compat's GoodLinkFd moves cgroup links: a caller that
  // closed stdin must not see its link taken for a standard stream. Done
  // before the fd keys the link, so no close unregisters it.
  if (fd < 3) {
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int err = moved < 0 ? -errno : 0;
    close(fd);
    if (moved < 0) return err;
    fd = moved;
  }
  auto link = std::make_shared<StructOpsLink>();
  {
    std::lock_guard<std::mutex> g(LinkMu());
    if (int err = st->LinkReg(); err != 0) {
      close(fd);  // bpf_link_cleanup: the primed file goes
      return err;
    }
    link->map = std::move(map);
  }
  // Link ids: the kernel's link_idr, shared by every link type; bpfemu
  // numbers its struct_ops links on their own.
  static std::atomic<uint32_t> ids{0};
  link->id = ids.fetch_add(1) + 1;
  StLinks().Add(fd, std::move(link));
  return fd;
}

int StructOpsLinkUpdate(int link_fd, int new_map_fd, uint32_t flags,
                        int old_map_fd) {
  if (flags & ~static_cast<uint32_t>(BPF_F_REPLACE)) return -EINVAL;
  std::shared_ptr<const StructOpsLink> link = StLinks().ByFd(link_fd);
  if (link == nullptr) return WrongFdErrno(link_fd);
  // link_update_map().
  std::shared_ptr<Map> new_map, old_map;
  if (int err = MapOfFd(new_map_fd, &new_map); err != 0) return err;
  if (flags & BPF_F_REPLACE) {
    if (int err = MapOfFd(old_map_fd, &old_map); err != 0) return err;
  } else if (old_map_fd != 0) {
    return -EINVAL;
  }
  // bpf_struct_ops_map_link_update().
  StructOpsMap* st = ValidToReg(new_map);
  if (st == nullptr) return -EINVAL;
  std::lock_guard<std::mutex> g(LinkMu());
  if (link->map == nullptr) return -ENOLINK;
  if (old_map != nullptr && old_map.get() != link->map.get()) return -EPERM;
  auto* old_st = static_cast<StructOpsMap*>(link->map.get());
  if (st->desc().type != old_st->desc().type) return -EINVAL;
  if (int err = st->LinkUpdate(old_st); err != 0) return err;
  link->map = std::move(new_map);
  return 0;
}

int StructOpsLinkDetach(int link_fd) {
  std::shared_ptr<const StructOpsLink> link = StLinks().ByFd(link_fd);
  if (link == nullptr) return WrongFdErrno(link_fd);
  std::shared_ptr<Map> released;
  std::lock_guard<std::mutex> g(LinkMu());
  if (link->map == nullptr) return 0;
  static_cast<StructOpsMap*>(link->map.get())->LinkUnreg();
  released = std::move(link->map);
  link->map = nullptr;
  return 0;
}

bool IsStructOpsLinkFd(int fd, uint32_t* map_id) {
  std::shared_ptr<const StructOpsLink> link = StLinks().ByFd(fd);
  if (link == nullptr) return false;
  if (map_id != nullptr) {
    std::lock_guard<std::mutex> g(LinkMu());
    *map_id = link->map != nullptr ? link->map->id() : 0;
  }
  return true;
}

bool ForgetStructOpsLinkFd(int fd) { return StLinks().Forget(fd); }

}  // namespace bpfemu
