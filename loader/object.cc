// SPDX-License-Identifier: Apache-2.0
#include "loader/object.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "bpfemu/native_abi.h"
#include "emu/array_map.h"
#include "emu/btf.h"
#include "emu/cpu.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"
#include "emu/trampoline.h"
#include "loader/bytecode.h"
#include "loader/core_relo.h"
#include "loader/elf_object.h"
#include "loader/kconfig.h"
#include "loader/ksym.h"
#include "loader/section_names.h"
#include "native/bound_map.h"
#include "native/lsm_hooks.h"
#include "native/registry.h"

namespace bpfemu::native {
namespace {

// "dir/counter.bpf.o" -> "counter"; a plain name stays as it is.
std::string StemOf(std::string_view path) {
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) {
    path.remove_prefix(slash + 1);
  }
  for (std::string_view ext : {".bpf.o", ".o"}) {
    if (path.ends_with(ext)) {
      path.remove_suffix(ext.size());
      break;
    }
  }
  return std::string(path);
}

// What a map definition says, from either kind of object.
struct MapSpec {
  const char* name;
  uint32_t type, key_size, value_size, max_entries, map_flags, numa_node;
  int32_t spin_lock_off;
  uint32_t inner_type, inner_key_size, inner_value_size, inner_max_entries;
  uint32_t inner_map_flags;
  // BTF (libbpf's map->btf_*): the object's loaded BTF fd or -1, ids.
  int btf_fd = -1;
  uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
  int32_t timer_off = -1;      // struct bpf_timer in the value, or -1
  int32_t wq_off = -1;         // struct bpf_wq in the value, or -1 (kfuncB47)
  int32_t task_work_off = -1;  // struct bpf_task_work, or -1 (tw50)
  // The value's kptr fields (MapAttr::nkptrs, kptr_off, kptr_percpu).
  uint32_t nkptrs = 0;
  int32_t kptr_off[8] = {};
  uint32_t kptr_percpu = 0;
};

// A definition's inner template as settings (null without one).
std::shared_ptr<Object::MapSettings> InnerSettings(uint32_t type,
                                                   uint32_t key_size,
                                                   uint32_t value_size,
                                                   uint32_t max_entries,
                                                   uint32_t map_flags) {
  if (type == 0) return nullptr;
  auto inner = std::make_shared<Object::MapSettings>();
  inner->type = type;
  inner->key_size = key_size;
  inner->value_size = value_size;
  inner->max_entries = max_entries;
  inner->map_flags = map_flags;
  return inner;
}

// The value BTF a local storage map requires (bpf_local_storage_map_alloc_
// check), for a definition that carries none (a natively built object has
// no .BTF): a 32-bit int key and the value as bytes, with a struct
// bpf_spin_lock at spin_lock_off when the definition has one. A new BTF fd
// with *key_id / *value_id set, or -errno.
int LocalStorageBtf(uint32_t value_size, int32_t spin_lock_off,
                    uint32_t* key_id, uint32_t* value_id) {
  std::vector<uint32_t> t;
  std::string strs(1, '\0');
  auto str = [&](const char* name) {
    const auto off = static_cast<uint32_t>(strs.size());
    strs += name;
    strs += '\0';
    return off;
  };
  uint32_t n = 0;
  auto array = [&](uint32_t nelems) {
    t.insert(t.end(), {0, BTF_KIND_ARRAY << 24, 0, 2, 1, nelems});
    return ++n;
  };
  t.insert(t.end(), {str("int"), BTF_KIND_INT << 24, 4,
                     (BTF_INT_SIGNED << 24) | 32});                     // [1]
  t.insert(t.end(), {str("unsigned char"), BTF_KIND_INT << 24, 1, 8});  // [2]
  n = 2;
  if (spin_lock_off < 0) {
    *value_id = array(value_size);
  } else {
    const auto off = static_cast<uint32_t>(spin_lock_off);
    t.insert(t.end(), {str("bpf_spin_lock"), (BTF_KIND_STRUCT << 24) | 1, 4,
                       str("val"), 1, 0});
    const uint32_t lock = ++n;
    const uint32_t pre = off > 0 ? array(off) : 0;
    const uint32_t rest = value_size - off - 4;
    const uint32_t post = rest > 0 ? array(rest) : 0;
    const uint32_t members = 1 + (pre != 0) + (post != 0);
    t.insert(t.end(), {str("bpfemu_value"), (BTF_KIND_STRUCT << 24) | members,
                       value_size});
    if (pre != 0) t.insert(t.end(), {str("pre"), pre, 0});
    t.insert(t.end(), {str("lock"), lock, off * 8});
    if (post != 0) t.insert(t.end(), {str("post"), post, (off + 4) * 8});
    *value_id = ++n;
  }
  *key_id = 1;
  btf_header h = {};
  h.magic = BTF_MAGIC;
  h.version = BTF_VERSION;
  h.hdr_len = sizeof(h);
  h.type_len = static_cast<uint32_t>(t.size() * 4);
  h.str_off = h.type_len;
  h.str_len = static_cast<uint32_t>(strs.size());
  std::vector<uint8_t> raw(sizeof(h) + h.type_len + h.str_len);
  std::memcpy(raw.data(), &h, sizeof(h));
  std::memcpy(raw.data() + sizeof(h), t.data(), h.type_len);
  std::memcpy(raw.data() + sizeof(h) + h.type_len, strs.data(), h.str_len);
  BtfLoadAttr a;
  a.btf = raw.data();
  a.btf_size = static_cast<uint32_t>(raw.size());
  return BtfLoad(a);
}

bool IsLocalStorage(uint32_t type) {
  return type == BPF_MAP_TYPE_SK_STORAGE || type == BPF_MAP_TYPE_TASK_STORAGE ||
         type == BPF_MAP_TYPE_INODE_STORAGE ||
         type == 32;  // BPF_MAP_TYPE_CGRP_STORAGE (6.2)
}

// Creates a map as libbpf's bpf_object__create_maps does: a map-in-map's
// inner template is created, passed as inner_map_fd and closed (or the
// caller's template, bpf_map__set_inner_map_fd). `s` overrides the
// definition's attributes; a reused map is copied instead. A new fd or
// -errno.
int CreateMap(const MapSpec& m, const Object::MapSettings& s) {
  if (s.reuse_fd >= 0) return DupMapFd(s.reuse_fd, 3);
  MapAttr attr;
  attr.map_type = s.type;
  attr.key_size = s.key_size;
  attr.value_size = s.value_size;
  attr.max_entries = s.max_entries;
  // map_set_def_max_entries(): a PERF_EVENT_ARRAY without max_entries gets
  // one slot per possible CPU (the kernel itself refuses 0).
  if (s.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && attr.max_entries == 0) {
    attr.max_entries = static_cast<uint32_t>(NumPossibleCpus());
  }
  attr.map_flags = s.map_flags;
  attr.numa_node = s.numa_node;
  attr.map_extra = s.map_extra;
  attr.map_ifindex = s.map_ifindex;
  attr.spin_lock_off = m.spin_lock_off;
  attr.timer_off = m.timer_off;
  attr.wq_off = m.wq_off;
  attr.task_work_off = m.task_work_off;
  attr.nkptrs = m.nkptrs;
  std::memcpy(attr.kptr_off, m.kptr_off, sizeof(attr.kptr_off));
  attr.kptr_percpu = m.kptr_percpu;
  // libbpf names kernel maps by the first 15 characters of the variable.
  std::strncpy(attr.map_name, m.name, sizeof(attr.map_name) - 1);
  if (s.inner_map_fd >= 0) {
    attr.inner_map_fd = static_cast<uint32_t>(s.inner_map_fd);
    return MapCreate(attr);
  }
  int inner_fd = -1;
  if (s.inner != nullptr) {
    MapAttr inner;
    inner.map_type = s.inner->type;
    inner.key_size = s.inner->key_size;
    inner.value_size = s.inner->value_size;
    inner.max_entries = s.inner->max_entries;
    inner.map_flags = s.inner->map_flags;
    inner.numa_node = s.inner->numa_node;
    inner.map_extra = s.inner->map_extra;
    std::strncpy(inner.map_name, m.name, sizeof(inner.map_name) - 1);
    inner_fd = MapCreate(inner);
    if (inner_fd < 0) return inner_fd;
    attr.inner_map_fd = static_cast<uint32_t>(inner_fd);
  }
  int fd = -EINVAL;
  if (m.btf_fd >= 0 && m.btf_value_type_id != 0) {
    MapAttr typed = attr;
    typed.btf_fd = static_cast<uint32_t>(m.btf_fd);
    typed.btf_key_type_id = m.btf_key_type_id;
    typed.btf_value_type_id = m.btf_value_type_id;
    // The BTF's spin lock and timer replace the definition's.
    typed.spin_lock_off = typed.timer_off = typed.wq_off = -1;
    typed.task_work_off = -1;
    typed.nkptrs = 0;
    fd = MapCreate(typed);
  }
  // bpf_object__create_map(): a map the kernel refuses with BTF is created
  // again without it.
  if (fd < 0 && m.btf_fd < 0 && IsLocalStorage(attr.map_type) &&
      attr.value_size >= 1 && attr.value_size <= 65535 &&
      (attr.spin_lock_off < 0 ||
       uint64_t(attr.spin_lock_off) + 4 <= attr.value_size)) {
    // Local storage without BTF (a native object): BTF that states the
    // definition's key and value.
    MapAttr typed = attr;
    const int btf =
        LocalStorageBtf(attr.value_size, attr.spin_lock_off,
                        &typed.btf_key_type_id, &typed.btf_value_type_id);
    if (btf >= 0) {
      typed.btf_fd = static_cast<uint32_t>(btf);
      typed.spin_lock_off = -1;
      fd = MapCreate(typed);
      CloseFd(btf);
    }
  }
  if (fd < 0) fd = MapCreate(attr);
  if (inner_fd >= 0) CloseFd(inner_fd);
  return fd;
}

}  // namespace

uint32_t Program::Run(void* ctx) const { return ProgRun(*prog_, ctx); }

PacketResult Program::RunXdp(absl::Span<const uint8_t> packet,
                             const struct xdp_md* ctx_in) const {
  return native::RunXdp(*prog_, packet, ctx_in);
}

PacketResult Program::RunSkb(absl::Span<const uint8_t> packet,
                             const struct __sk_buff* ctx_in) const {
  return native::RunSkb(*prog_, packet, ctx_in);
}

uint32_t Program::RunRawTp(absl::Span<const uint64_t> args) const {
  // MAX_BPF_FUNC_ARGS slots, as bpf_prog_test_run_raw_tp copies ctx_in.
  std::vector<uint64_t> ctx(std::max<size_t>(args.size(), 12), 0);
  std::copy(args.begin(), args.end(), ctx.begin());
  return Run(ctx.data());
}

Object::Object(const bpfemu_object_def* def) : def_(def), name_(def->name) {}

Object::Object(std::unique_ptr<ElfObject> elf)
    : elf_(std::move(elf)), name_(elf_->name) {}

absl::StatusOr<std::unique_ptr<Object>> Object::OpenBytecodeMem(
    absl::Span<const uint8_t> data, std::string_view name) {
  auto elf = ParseElfObject(data, name);
  if (!elf.ok()) return elf.status();
  return std::unique_ptr<Object>(
      new Object(std::make_unique<ElfObject>(std::move(*elf))));
}

int ReadWholeFile(const std::string& path, std::vector<uint8_t>* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  out->clear();
  for (;;) {
    uint8_t buf[65536];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return -err;
    }
    if (n == 0) break;
    out->insert(out->end(), buf, buf + n);
  }
  close(fd);
  return 0;
}

absl::StatusOr<std::unique_ptr<Object>> Object::OpenBytecode(
    const std::string& path) {
  std::vector<uint8_t> data;
  if (const int err = ReadWholeFile(path, &data); err != 0) {
    // A path that opens but does not read (a directory) is not an object;
    // one that does not open is not found.
    const std::string msg =
        absl::StrFormat("cannot read %s: %s", path, strerror(-err));
    return err == -EISDIR ? absl::InvalidArgumentError(msg)
                          : absl::NotFoundError(msg);
  }
  return OpenBytecodeMem(data, ObjectNameFromPath(path));
}

absl::StatusOr<std::unique_ptr<Object>> Object::Open(std::string_view name) {
  const std::string stem = StemOf(name);
  const bpfemu_object_def* def = FindNativeObject(stem);
  if (def == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "no native BPF object \"%s\" is linked into this binary (add its "
        "bpf_object() target to the deps)",
        stem));
  }
  return std::unique_ptr<Object>(new Object(def));
}

std::vector<std::string> Object::Registered() { return NativeObjectNames(); }

Object::~Object() { Unload(); }

int Object::Load() { return Load(DefaultSettings()); }

Object::LoadSettings Object::DefaultSettings() const {
  LoadSettings s;
  if (elf_ != nullptr) {
    for (const ElfMap& m : elf_->maps) {
      s.maps.push_back({.type = m.type,
                        .key_size = m.key_size,
                        .value_size = m.value_size,
                        .max_entries = m.max_entries,
                        .map_flags = m.map_flags,
                        .numa_node = m.numa_node,
                        .map_extra = m.map_extra});
      s.maps.back().inner =
          InnerSettings(m.inner_type, m.inner_key_size, m.inner_value_size,
                        m.inner_max_entries, m.inner_map_flags);
    }
    for (const ElfProgram& p : elf_->programs) {
      s.progs.push_back({p.prog_type, p.expected_attach_type});
      // libbpf's SEC("syscall") is SEC_SLEEPABLE (the kernel loads syscall
      // programs only sleepable).
      if (p.prog_type == BPF_PROG_TYPE_SYSCALL ||
          p.section.starts_with("lsm.s/")) {
        s.progs.back().prog_flags = BPF_F_SLEEPABLE;
      }
    }
    return s;
  }
  for (unsigned i = 0; i < def_->nmaps; ++i) {
    const bpfemu_map_def& m = def_->maps[i];
    s.maps.push_back({.type = m.type,
                      .key_size = m.key_size,
                      .value_size = m.value_size,
                      .max_entries = m.max_entries,
                      .map_flags = m.map_flags,
                      .numa_node = m.numa_node});
    s.maps.back().inner =
        InnerSettings(m.inner_type, m.inner_key_size, m.inner_value_size,
                      m.inner_max_entries, m.inner_map_flags);
  }
  for (unsigned i = 0; i < def_->nprogs; ++i) {
    ProgSettings p;
    ProgTypeForSection(def_->progs[i].section, &p.type,
                       &p.expected_attach_type);
    // libbpf's SEC("lsm.s/") is SEC_SLEEPABLE.
    if (std::string_view(def_->progs[i].section).starts_with("lsm.s/")) {
      p.prog_flags = BPF_F_SLEEPABLE;
    }
    s.progs.push_back(p);
  }
  return s;
}

int Object::Load(const LoadSettings& settings) {
  if (loaded_) return -EBUSY;
  const size_t nmaps = elf_ != nullptr ? elf_->maps.size() : def_->nmaps;
  const size_t nprogs = elf_ != nullptr ? elf_->programs.size() : def_->nprogs;
  if (settings.maps.size() != nmaps || settings.progs.size() != nprogs) {
    return -EINVAL;
  }
  return elf_ != nullptr ? LoadBytecode(settings) : LoadNative(settings);
}

int Object::LoadNative(const LoadSettings& settings) {
  for (const MapSettings& s : settings.maps) {
    if (!s.autocreate) return -EOPNOTSUPP;
  }
  if (!ClaimNativeObject(def_)) return -EBUSY;
  loaded_ = true;
  // bpf_object__resolve_externs(): the __kconfig externs, resolved as for
  // bytecode (loader/kconfig.h) and written into their storage.
  if (def_->nkconfig != 0) {
    std::vector<KconfigExtern> externs(def_->nkconfig);
    for (unsigned i = 0; i < def_->nkconfig; ++i) {
      const bpfemu_kconfig_def& k = def_->kconfig[i];
      externs[i].name = k.name;
      externs[i].kind = static_cast<KconfigExtern::Kind>(k.kind);
      externs[i].size = k.size;
      externs[i].align = k.align;
      externs[i].is_signed = k.is_signed != 0;
      externs[i].weak = k.weak != 0;
    }
    std::vector<uint8_t> values(LayoutKconfig(&externs), 0);
    load_error_.clear();
    if (int err = ResolveKconfig(
            externs, settings.kconfig ? &*settings.kconfig : nullptr, &values,
            &load_error_);
        err != 0) {
      Unload();
      return err;
    }
    for (const KconfigExtern& e : externs) {
      for (unsigned i = 0; i < def_->nkconfig; ++i) {
        if (e.name == def_->kconfig[i].name) {
          std::memcpy(def_->kconfig[i].addr, values.data() + e.offset, e.size);
        }
      }
    }
  }
  for (unsigned i = 0; i < def_->nmaps; ++i) {
    const bpfemu_map_def& m = def_->maps[i];
    MapSpec spec{m.name,
                 m.type,
                 m.key_size,
                 m.value_size,
                 m.max_entries,
                 m.map_flags,
                 m.numa_node,
                 m.spin_lock_off,
                 m.inner_type,
                 m.inner_key_size,
                 m.inner_value_size,
                 m.inner_max_entries,
                 m.inner_map_flags,
                 -1,
                 0,
                 0,
                 m.timer_off};
    spec.wq_off = m.wq_off_plus1 - 1;
    spec.task_work_off = m.task_work_off_plus1 - 1;
    spec.nkptrs = m.nkptrs;
    std::memcpy(spec.kptr_off, m.kptr_off, sizeof(spec.kptr_off));
    spec.kptr_percpu = m.kptr_percpu;
    const int fd = CreateMap(spec, settings.maps[i]);
    if (fd < 0) {
      Unload();
      return fd;
    }
    if (settings.maps[i].type == kBpfMapTypeArena) {
      if (int err = MapArena(fd, settings.maps[i].map_extra,
                             settings.maps[i].max_entries);
          err != 0) {
        CloseFd(fd);
        Unload();
        return err;
      }
    }
    auto b = internal::MakeBound(m.name, fd, MapFromFd(fd));
    internal::Bind(m.def, b.get());
    maps_.push_back(std::move(b));
  }
  for (unsigned i = 0; i < def_->nprogs; ++i) {
    const bpfemu_prog_def& p = def_->progs[i];
    const ProgSettings& ps = settings.progs[i];
    if (!ps.autoload) continue;
    int fd = ProgFlagsKnown(ps.prog_flags) ? 0 : -EINVAL;
    if (fd == 0 && ps.ifindex != 0) {
      fd = ProgDevBoundInit(ps.type, ps.prog_flags, ps.ifindex);
    }
    uint32_t attach_btf_id = ps.attach_btf_id;
    if (fd == 0) fd = AttachBtfId(p.section, ps, &attach_btf_id);
    if (fd == 0) {
      fd = TracingProgCheck(ps.expected_attach_type, attach_btf_id);
    }
    // An LSM program's hook (native/lsm_hooks.h); a native object is
    // GPL-compatible code of this repository's.
    if (fd == 0 && ps.type == BPF_PROG_TYPE_LSM) {
      fd = LsmProgCheck(attach_btf_id, true,
                        (ps.prog_flags & BPF_F_SLEEPABLE) != 0, nullptr,
                        &load_error_);
    }
    if (fd == 0) {
      fd = ProgCreate(ps.type, ps.expected_attach_type, p.name, p.func,
                      attach_btf_id);
    }
    if (fd < 0) {
      Unload();
      return fd;
    }
    Program prog;
    prog.section_ = p.section;
    prog.fd_ = fd;
    (void)ProgFromFd(fd, &prog.prog_);
    programs_.push_back(std::move(prog));
  }
  return 0;
}

// libbpf_prepare_prog_load() -> libbpf_find_attach_btf_id() for an
// iterator, SEC("iter/<target>") (or "iter.s/"), naming the kernel BTF
// function bpf_iter_<target>, and for SEC("fentry/<function>"), "fexit/"
// and "fmod_ret/" naming the function; -ESRCH when the kernel has none.
int Object::AttachBtfId(const std::string& section, const ProgSettings& ps,
                        uint32_t* id) {
  const bool iter = ps.expected_attach_type == BPF_TRACE_ITER;
  const bool trampoline = HasTrampoline(ps.expected_attach_type);
  // SEC("lsm/<hook>") and "lsm.s/" name bpf_lsm_<hook>.
  const bool lsm = ps.type == BPF_PROG_TYPE_LSM;
  if (*id != 0 ||
      !(lsm || (ps.type == BPF_PROG_TYPE_TRACING && (iter || trampoline)))) {
    return 0;
  }
  const size_t slash = section.find('/');
  const std::string target =
      slash == std::string::npos ? "" : section.substr(slash + 1);
  const KernelBtf* btf = KernelBtf::Get();
  const std::string func = iter  ? "bpf_iter_" + target
                           : lsm ? "bpf_lsm_" + target
                                 : target;
  const int32_t found =
      btf == nullptr ? -1 : btf->FindByNameKind(func, BTF_KIND_FUNC);
  if (found <= 0) {
    load_error_ = "failed to find kernel BTF type ID of '" + target + "'";
    return -ESRCH;
  }
  *id = static_cast<uint32_t>(found);
  return 0;
}

// bpf_map__init_kern_struct_ops() (libbpf 1.1) for each .struct_ops map
// to be created: find_struct_ops_kern_types (struct X, then
// bpf_struct_ops_X and its member of type X in the kernel BTF: -ENOENT,
// -EINVAL), then member by member, by name, into the kernel struct: a
// member the kernel's lacks, a bitfield, a different kind, a function
// pointer the kernel's member is not, or data members of different sizes
// -> -EOPNOTSUPP (libbpf's -ENOTSUP); data members are copied, function
// pointers with a program give it the kernel struct's id and the
// member's index.
int Object::InitKernStructOps(
    std::vector<std::pair<std::string, std::pair<uint32_t, uint32_t>>>*
        attach) {
  for (size_t i = 0; i < elf_->maps.size(); ++i) {
    const ElfMap& m = elf_->maps[i];
    if (m.st_type.empty()) continue;
    const KernelBtf* kb = KernelBtf::Get();
    // bpf_object__load_vmlinux_btf(): a .struct_ops section needs it.
    if (kb == nullptr) {
      load_error_ = "Error loading vmlinux BTF: -3";
      return -ESRCH;
    }
    const int32_t type_id = kb->FindByNameKind(m.st_type, BTF_KIND_STRUCT);
    if (type_id <= 0) {
      load_error_ = "struct_ops init_kern: struct " + m.st_type +
                    " is not found in kernel BTF";
      return -ENOENT;
    }
    const int32_t value_id =
        kb->FindByNameKind("bpf_struct_ops_" + m.st_type, BTF_KIND_STRUCT);
    if (value_id <= 0) {
      load_error_ = "struct_ops init_kern: struct bpf_struct_ops_" + m.st_type +
                    " is not found in kernel BTF";
      return -ENOENT;
    }
    uint16_t vn = 0;
    const btf_member* vm = kb->Members(static_cast<uint32_t>(value_id), &vn);
    int64_t data_off = -1;
    for (uint16_t k = 0; k < vn; ++k) {
      if (vm[k].type == static_cast<uint32_t>(type_id)) {
        data_off = vm[k].offset / 8;
        break;
      }
    }
    if (data_off < 0) {
      load_error_ = "struct_ops init_kern: struct " + m.st_type +
                    " data is not found in struct bpf_struct_ops_" + m.st_type;
      return -EINVAL;
    }
    StructOpsValue v;
    v.value_id = static_cast<uint32_t>(value_id);
    v.kern_vdata.assign(
        static_cast<size_t>(kb->Size(static_cast<uint32_t>(value_id))), 0);
    const btf_type* kt = kb->Type(static_cast<uint32_t>(type_id));
    uint16_t kn = 0;
    const btf_member* km = kb->Members(static_cast<uint32_t>(type_id), &kn);
    for (const ElfMap::StMember& sm : m.st_members) {
      auto fail = [&](const std::string& why) {
        load_error_ = "struct_ops init_kern " + m.name + ": " + why;
        return -EOPNOTSUPP;
      };
      uint16_t k = 0;
      while (k < kn && kb->Str(km[k].name_off) != sm.name) ++k;
      if (k == kn)
        return fail("Cannot find member " + sm.name + " in kernel BTF");
      const bool kflag = BTF_INFO_KFLAG(kt->info);
      const uint32_t kbits =
          kflag ? BTF_MEMBER_BIT_OFFSET(km[k].offset) : km[k].offset;
      if (sm.bitfield || (kflag && BTF_MEMBER_BITFIELD_SIZE(km[k].offset)) ||
          kbits % 8 != 0) {
        return fail("bitfield " + sm.name + " is not supported");
      }
      const uint32_t kmoff = kbits / 8;
      const uint32_t kmtype = kb->SkipModifiers(km[k].type);
      if (kb->Kind(kmtype) != sm.kind) {
        return fail("Unmatched member type " + sm.name);
      }
      if (sm.kind == BTF_KIND_PTR) {
        if (sm.prog.empty()) continue;
        const uint32_t target = kb->SkipModifiers(kb->Type(kmtype)->type);
        if (kb->Kind(target) != BTF_KIND_FUNC_PROTO) {
          return fail("kernel member " + sm.name + " is not a func ptr");
        }
        attach->push_back(
            {sm.prog, {static_cast<uint32_t>(type_id), uint32_t{k}}});
        v.funcs.push_back({static_cast<uint32_t>(data_off) + kmoff, sm.prog});
        continue;
      }
      const int64_t ksize = kb->Size(km[k].type);
      if (sm.size < 0 || ksize < 0 || sm.size != ksize) {
        return fail("Error in size of member " + sm.name);
      }
      const uint64_t at = static_cast<uint64_t>(data_off) + kmoff;
      if (sm.offset + static_cast<uint64_t>(sm.size) > m.st_data.size() ||
          at + static_cast<uint64_t>(ksize) > v.kern_vdata.size()) {
        return fail("member " + sm.name + " out of its struct");
      }
      std::memcpy(v.kern_vdata.data() + at, m.st_data.data() + sm.offset,
                  static_cast<size_t>(ksize));
    }
    st_ops_.push_back({i, std::move(v)});
  }
  return 0;
}

int Object::AttachStructOps(std::string_view real_name, int* link_fd) {
  *link_fd = -1;
  if (elf_ == nullptr) return -EINVAL;
  for (const auto& [index, v] : st_ops_) {
    const ElfMap& m = elf_->maps[index];
    if (m.real_name != real_name || index >= maps_.size() ||
        maps_[index]->fd < 0) {
      continue;
    }
    // The programs' fds into their members (st_ops->kern_func_off): a
    // program not loaded gives -1, which the update refuses.
    std::vector<uint8_t> value = v.kern_vdata;
    for (const auto& [off, prog] : v.funcs) {
      const Program* p = FindProgram(prog);
      const int64_t fd = p != nullptr ? p->fd() : -1;
      if (off + sizeof(fd) <= value.size()) {
        std::memcpy(value.data() + off, &fd, sizeof(fd));
      }
    }
    const int map_fd = maps_[index]->fd;
    const uint32_t zero = 0;
    std::shared_ptr<Map> map = MapFromFd(map_fd);
    const bool link = map != nullptr && (map->map_flags() & kBpfFLink);
    const int err = MapUpdateElem(map_fd, &zero, value.data(), 0);
    // A .struct_ops.link map made READY before (an earlier attach) answers
    // EBUSY; libbpf then links it again.
    if (err != 0 && (!link || err != -EBUSY)) return err;
    if (!link) return 0;
    const int fd = StructOpsLinkCreate(map_fd);
    if (fd < 0) return fd;
    *link_fd = fd;
    return 0;
  }
  return -EINVAL;
}

// bpf_object__load for bytecode: maps (global data filled with the
// sections' bytes), then each program with its map relocations resolved to
// the new fds, checked and decoded by the interpreter.
int Object::LoadBytecode(const LoadSettings& settings) {
  loaded_ = true;
  // bpf_object__resolve_externs(): the kfuncs' kernel BTF ids, before any
  // map exists.
  std::vector<int32_t> kfunc_ids;
  load_error_.clear();
  if (int err =
          ResolveKsymFuncs(*elf_, KernelBtf::Get(), &kfunc_ids, &load_error_);
      err != 0) {
    Unload();
    return err;
  }
  // bpf_object__load_vmlinux_btf(): CO-RE records need the kernel's BTF.
  if (HasCoreRelos(*elf_) && KernelBtf::Get() == nullptr) {
    load_error_ = "failed to find valid kernel BTF";
    Unload();
    return -ESRCH;
  }
  // bpf_object__resolve_externs(): the __kconfig externs' values, which
  // fill the .kconfig map (loader/kconfig.h).
  std::vector<uint8_t> kconfig;
  if (elf_->kconfig_map >= 0) {
    kconfig.assign(elf_->maps[elf_->kconfig_map].value_size, 0);
    std::string log;
    if (int err = ResolveKconfig(
            elf_->kconfig, settings.kconfig ? &*settings.kconfig : nullptr,
            &kconfig, &log);
        err != 0) {
      load_error_ = log;
      Unload();
      return err;
    }
  }
  // bpf_object__load_btf(): the fixed-up .BTF into an emulated BTF object;
  // BTF is optional, so a refusal only leaves the maps untyped.
  if (!elf_->btf.empty()) {
    BtfLoadAttr a;
    a.btf = elf_->btf.data();
    a.btf_size = static_cast<uint32_t>(elf_->btf.size());
    const int fd = BtfLoad(a);
    btf_fd_ = fd >= 0 ? fd : -1;
  }
  // bpf_object__init_kern_struct_ops_maps(): the .struct_ops maps' kernel
  // types, values and programs' attach points.
  std::vector<std::pair<std::string, std::pair<uint32_t, uint32_t>>> st_attach;
  if (int err = InitKernStructOps(&st_attach); err != 0) {
    Unload();
    return err;
  }
  for (size_t i = 0; i < elf_->maps.size(); ++i) {
    const ElfMap& m = elf_->maps[i];
    const MapSettings& ms = settings.maps[i];
    if (!ms.autocreate) {
      // Not created: fd -1, which the programs' references then carry
      // (libbpf poisons them; a reachable one fails the load).
      auto absent = std::make_unique<internal::BoundMap>();
      absent->name = m.real_name;
      maps_.push_back(std::move(absent));
      continue;
    }
    MapSpec spec{m.name.c_str(),     m.type,
                 m.key_size,         m.value_size,
                 m.max_entries,      m.map_flags,
                 m.numa_node,        m.spin_lock_off,
                 m.inner_type,       m.inner_key_size,
                 m.inner_value_size, m.inner_max_entries,
                 m.inner_map_flags,  btf_fd_,
                 m.btf_key_type_id,  m.btf_value_type_id,
                 m.timer_off};
    spec.wq_off = m.wq_off;
    spec.task_work_off = m.task_work_off;
    for (size_t k = 0; k < m.kptr_offs.size() && k < 8; ++k) {
      spec.kptr_off[k] = m.kptr_offs[k];
      if (m.kptr_percpu[k]) spec.kptr_percpu |= 1u << k;
      spec.nkptrs = static_cast<uint32_t>(k + 1);
    }
    int fd;
    if (!m.st_type.empty() && ms.reuse_fd < 0) {
      // bpf_object__create_map() for STRUCT_OPS: the kernel value struct
      // (btf_vmlinux_value_type_id) and its size, the object's BTF.
      MapAttr attr;
      attr.map_type = BPF_MAP_TYPE_STRUCT_OPS;
      attr.key_size = 4;
      attr.max_entries = 1;
      attr.map_flags = ms.map_flags;
      attr.numa_node = ms.numa_node;
      std::strncpy(attr.map_name, m.name.c_str(), sizeof(attr.map_name) - 1);
      for (const auto& [index, v] : st_ops_) {
        if (index != i) continue;
        attr.value_size = static_cast<uint32_t>(v.kern_vdata.size());
        attr.btf_vmlinux_value_type_id = v.value_id;
      }
      if (btf_fd_ >= 0) attr.btf_fd = static_cast<uint32_t>(btf_fd_);
      fd = MapCreate(attr);
    } else {
      fd = CreateMap(spec, ms);
    }
    if (fd < 0) {
      Unload();
      return fd;
    }
    if (ms.type == kBpfMapTypeArena) {
      if (int err = MapArena(fd, ms.map_extra, ms.max_entries); err != 0) {
        CloseFd(fd);
        Unload();
        return err;
      }
    }
    // A reused map keeps its contents (libbpf does not initialize it).
    // bpf_object__populate_internal_map(): the section's bytes, then
    // .rodata and .kconfig are frozen (userspace writes: EPERM).
    if (m.internal && ms.reuse_fd < 0) {
      const uint32_t zero = 0;
      const std::vector<uint8_t>& init =
          static_cast<int32_t>(i) == elf_->kconfig_map ? kconfig : m.initial;
      int err = MapUpdateElem(fd, &zero, init.data(), BPF_ANY);
      if (err == 0 && (m.real_name.starts_with(".rodata") ||
                       m.real_name.starts_with(".kconfig"))) {
        err = MapFreeze(fd);
      }
      if (err != 0) {
        CloseFd(fd);
        Unload();
        return err;
      }
    }
    maps_.push_back(internal::MakeBound(m.real_name, fd, MapFromFd(fd)));
  }
  // init_map_in_map_slots(): `.values` inner maps, once every map exists.
  if (int err = FillInitSlots(false); err != 0) {
    Unload();
    return err;
  }
  // bpf_object__relocate_core(): CO-RE records against the kernel's BTF.
  std::vector<std::vector<interp::RawInsn>> relocated;
  {
    std::vector<bool> autoload;
    for (const ProgSettings& ps : settings.progs) {
      autoload.push_back(ps.autoload);
    }
    if (int err = ApplyCoreRelos(*elf_, KernelBtf::Get(), autoload, &relocated,
                                 &load_error_);
        err != 0) {
      Unload();
      return err;
    }
  }
  for (size_t i = 0; i < elf_->programs.size(); ++i) {
    const ElfProgram& p = elf_->programs[i];
    const ProgSettings& ps = settings.progs[i];
    if (!ps.autoload) continue;
    std::vector<interp::RawInsn> insns =
        ps.has_insns ? ps.insns : std::move(relocated[i]);
    if (!ps.has_insns) ApplyKfuncRelocs(p, kfunc_ids, &insns);
    for (const ElfMapReloc& r : p.relocs) {
      // A replacement program may be shorter than the object's.
      if (r.insn + (r.value ? 1u : 0u) >= insns.size()) continue;
      insns[r.insn].imm = maps_[r.map]->fd;
      if (r.value) insns[r.insn + 1].imm = static_cast<int32_t>(r.offset);
    }
    ProgLoadFlags load_flags;
    load_flags.prog_flags = ps.prog_flags;
    load_flags.prog_ifindex = ps.ifindex;
    load_flags.attach_btf_id = ps.attach_btf_id;
    uint32_t expected_attach_type = ps.expected_attach_type;
    // A program of a .struct_ops member: the kernel struct and the
    // member's index (bpf_map__init_kern_struct_ops).
    for (const auto& [name, at] : st_attach) {
      if (name != p.name) continue;
      load_flags.attach_btf_id = at.first;
      expected_attach_type = at.second;
    }
    if (int err = AttachBtfId(p.section, ps, &load_flags.attach_btf_id);
        err != 0) {
      Unload();
      return err;
    }
    // libbpf passes the object's BTF as prog_btf_fd when it has .BTF.ext
    // (bpf_program_load); bpf_prog_info then names it.
    if (btf_fd_ >= 0 && !elf_->btf_ext.empty()) {
      (void)BtfRawFromFd(btf_fd_, &load_flags.btf_raw, &load_flags.btf_id);
    }
    const int fd = ProgLoadBytecode(
        ps.type, expected_attach_type, p.name, insns.data(),
        static_cast<uint32_t>(insns.size()), elf_->license.c_str(), load_flags);
    if (fd < 0) {
      Unload();
      return fd;
    }
    Program prog;
    prog.section_ = p.section;
    prog.fd_ = fd;
    (void)ProgFromFd(fd, &prog.prog_);
    programs_.push_back(std::move(prog));
  }
  // bpf_object_init_prog_arrays(): `.values` programs, once all are loaded.
  if (int err = FillInitSlots(true); err != 0) {
    Unload();
    return err;
  }
  return 0;
}

int Object::FillInitSlots(bool programs) {
  for (size_t i = 0; i < elf_->maps.size() && i < maps_.size(); ++i) {
    const ElfMap& m = elf_->maps[i];
    if ((m.type == BPF_MAP_TYPE_PROG_ARRAY) != programs || maps_[i]->fd < 0) {
      continue;  // a map not created has no slots to fill
    }
    for (const ElfMap::InitSlot& slot : m.init_slots) {
      int fd = -1;
      if (programs) {
        for (const Program& p : programs_) {
          if (p.name() == slot.target) fd = p.fd();
        }
      } else {
        fd = MapFd(slot.target);
      }
      // A target not loaded or created: the update fails as libbpf's does.
      const int err = MapUpdateElem(maps_[i]->fd, &slot.index, &fd, BPF_ANY);
      if (err != 0) return err;
    }
  }
  return 0;
}

uint8_t* Object::InitialValue(std::string_view real_name, size_t* size) {
  if (elf_ == nullptr) return nullptr;
  for (ElfMap& m : elf_->maps) {
    if (m.internal && m.real_name == real_name) {
      *size = m.initial.size();
      return m.initial.data();
    }
  }
  return nullptr;
}

uint8_t* Object::LoadedValue(std::string_view real_name) const {
  for (const auto& b : maps_) {
    if (b->name == real_name) {
      auto* array = dynamic_cast<ArrayMap*>(b->map.get());
      return array != nullptr ? array->ValueAt(0) : nullptr;
    }
  }
  return nullptr;
}

int Object::MapArena(int fd, uint64_t map_extra, uint32_t max_entries) {
  const size_t len = size_t{max_entries} * 4096;
  int err = 0;
  void* at = MapMmapAt(fd, reinterpret_cast<void*>(map_extra), len,
                       PROT_READ | PROT_WRITE,
                       MAP_SHARED | (map_extra != 0 ? MAP_FIXED : 0), 0, &err);
  if (at == nullptr) return err != 0 ? err : -ENOMEM;
  arena_mappings_.emplace_back(at, len);
  return 0;
}

void Object::Unload() {
  if (!loaded_) return;
  for (auto [addr, len] : arena_mappings_) munmap(addr, len);
  arena_mappings_.clear();
  for (unsigned i = 0; def_ != nullptr && i < def_->nmaps && i < maps_.size();
       ++i) {
    internal::Bind(def_->maps[i].def, nullptr);
  }
  for (auto& b : maps_) {
    if (b->fd >= 0) CloseFd(b->fd);
  }
  maps_.clear();
  for (Program& p : programs_) CloseFd(p.fd_);
  programs_.clear();
  if (btf_fd_ >= 0) CloseFd(btf_fd_);
  btf_fd_ = -1;
  st_ops_.clear();
  loaded_ = false;
  if (def_ == nullptr) return;
  ReleaseNativeObject(def_);
}

std::vector<std::string> Object::ProgramNames() const {
  std::vector<std::string> names;
  if (elf_ != nullptr) {
    for (const ElfProgram& p : elf_->programs) names.push_back(p.name);
    return names;
  }
  for (unsigned i = 0; i < def_->nprogs; ++i) {
    names.push_back(def_->progs[i].name);
  }
  return names;
}

uint32_t Object::kern_version() const {
  return elf_ != nullptr ? elf_->kern_version : 0;
}

std::vector<std::string> Object::ProgramSections() const {
  std::vector<std::string> out;
  if (elf_ != nullptr) {
    for (const ElfProgram& p : elf_->programs) out.push_back(p.section);
    return out;
  }
  for (unsigned i = 0; i < def_->nprogs; ++i) {
    out.push_back(def_->progs[i].section);
  }
  return out;
}

const std::vector<interp::RawInsn>* Object::ProgramInsns(size_t index) const {
  if (elf_ == nullptr || index >= elf_->programs.size()) return nullptr;
  return &elf_->programs[index].insns;
}

std::vector<std::string> Object::MapNames() const {
  std::vector<std::string> names;
  if (elf_ != nullptr) {
    for (const ElfMap& m : elf_->maps) names.push_back(m.real_name);
    return names;
  }
  for (unsigned i = 0; i < def_->nmaps; ++i)
    names.push_back(def_->maps[i].name);
  return names;
}

const std::vector<uint8_t>& Object::btf_raw() const {
  static const std::vector<uint8_t> none;
  return elf_ != nullptr ? elf_->btf : none;
}

std::vector<Object::MapDesc> Object::MapDescs() const {
  std::vector<MapDesc> out;
  if (elf_ != nullptr) {
    for (const ElfMap& m : elf_->maps) {
      out.push_back({m.name, m.real_name, m.type, m.key_size, m.value_size,
                     m.max_entries, m.map_flags, m.btf_key_type_id,
                     m.btf_value_type_id});
    }
    return out;
  }
  for (unsigned i = 0; i < def_->nmaps; ++i) {
    const bpfemu_map_def& m = def_->maps[i];
    out.push_back({m.name, m.name, m.type, m.key_size, m.value_size,
                   m.max_entries, m.map_flags});
  }
  return out;
}

int Object::MapFd(std::string_view name) const {
  for (const auto& b : maps_) {
    if (b->name == name) return b->fd;
  }
  return -ENOENT;
}

std::shared_ptr<Map> Object::FindMap(std::string_view name) const {
  for (const auto& b : maps_) {
    if (b->name == name) return b->map;
  }
  return nullptr;
}

bool Object::UnloadProgram(std::string_view name) {
  for (auto it = programs_.begin(); it != programs_.end(); ++it) {
    if (it->name() == name) {
      CloseFd(it->fd_);
      programs_.erase(it);
      return true;
    }
  }
  return false;
}

const Program* Object::FindProgram(std::string_view name) const {
  for (const Program& p : programs_) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

}  // namespace bpfemu::native
