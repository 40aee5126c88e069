// SPDX-License-Identifier: Apache-2.0
#include "testing/calibrate.h"

#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

using Field = uint32_t BuildProfile::*;

// A probe map; with `socket`, one connected AF_UNIX socket is inserted
// under key 0 (SOCKHASH elements are charged per socket).
struct Probe {
  MapAttr attr;
  bool socket = false;
  // LPM_TRIE: one prefix is inserted (only elements are charged).
  bool lpm_entry = false;
  // Local storage: the map needs value BTF (LoadLocalStorageBtf).
  bool storage_btf = false;
  // DEVMAP: lo (ifindex 1) is stored under key 0 (entries are charged).
  bool devmap_entry = false;
  // STRUCT_OPS: the value type of this registered struct (LoadStructOpsBtf).
  const char* struct_ops = nullptr;
};

// One group of unknown sizes and the probes that determine them (as many
// probes as unknowns, with independent coefficients).
struct Group {
  std::vector<Field> fields;
  std::vector<Probe> probes;
};

MapAttr Attr(uint32_t type, uint32_t key, uint32_t value, uint32_t max) {
  return MapAttr{.map_type = type,
                 .key_size = key,
                 .value_size = value,
                 .max_entries = max};
}

std::vector<Group> Groups() {
  return {
      {{&BuildProfile::htab, &BuildProfile::htab_elem},
       {{Attr(BPF_MAP_TYPE_HASH, 4, 8, 1)},
        {Attr(BPF_MAP_TYPE_HASH, 4, 8, 4)}}},
      {{&BuildProfile::array}, {{Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1)}}},
      {{&BuildProfile::ringbuf_map},
       {{Attr(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096)}}},
      {{&BuildProfile::stab}, {{Attr(BPF_MAP_TYPE_SOCKMAP, 4, 4, 1)}}},
      {{&BuildProfile::queue_stack}, {{Attr(BPF_MAP_TYPE_QUEUE, 0, 8, 1)}}},
      {{&BuildProfile::bloom}, {{Attr(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 1)}}},
      {{&BuildProfile::stack_map}, {{Attr(BPF_MAP_TYPE_STACK_TRACE, 4, 8, 1)}}},
      {{&BuildProfile::lpm_node},
       {{MapAttr{.map_type = BPF_MAP_TYPE_LPM_TRIE,
                 .key_size = 8,
                 .value_size = 8,
                 .max_entries = 1,
                 .map_flags = BPF_F_NO_PREALLOC},
         /*socket=*/false, /*lpm_entry=*/true}}},
      {{&BuildProfile::reuseport_array},
       {{Attr(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 8, 1)}}},
      {{&BuildProfile::xsk_map}, {{Attr(BPF_MAP_TYPE_XSKMAP, 4, 4, 1)}}},
      {{&BuildProfile::dtab, &BuildProfile::dtab_netdev},
       {{Attr(BPF_MAP_TYPE_DEVMAP, 4, 4, 1)},
        {Attr(BPF_MAP_TYPE_DEVMAP, 4, 4, 1), /*socket=*/false,
         /*lpm_entry=*/false, /*storage_btf=*/false,
         /*devmap_entry=*/true}}},
      {{&BuildProfile::cpu_map}, {{Attr(BPF_MAP_TYPE_CPUMAP, 4, 4, 1)}}},
      {{&BuildProfile::shtab, &BuildProfile::shtab_elem},
       {{Attr(BPF_MAP_TYPE_SOCKHASH, 4, 4, 1)},
        {Attr(BPF_MAP_TYPE_SOCKHASH, 4, 4, 1), /*socket=*/true}}},
      {{&BuildProfile::local_storage_map},
       {{MapAttr{.map_type = BPF_MAP_TYPE_SK_STORAGE,
                 .key_size = 4,
                 .value_size = 8,
                 .max_entries = 0,
                 .map_flags = BPF_F_NO_PREALLOC},
         /*socket=*/false, /*lpm_entry=*/false, /*storage_btf=*/true}}},
      // STRUCT_OPS: tcp_congestion_ops (CONFIG_INET), the one type every
      // kernel with struct_ops has in practice; a kernel without it keeps
      // the default (StructOpsProbeAvailable).
      {{&BuildProfile::struct_ops_map},
       {{Attr(BPF_MAP_TYPE_STRUCT_OPS, 4, 0, 1), /*socket=*/false,
         /*lpm_entry=*/false, /*storage_btf=*/false, /*devmap_entry=*/false,
         /*struct_ops=*/"tcp_congestion_ops"}}},
  };
}

// Whether the kernel BTF has the value struct a STRUCT_OPS probe needs.
bool StructOpsProbeAvailable(const Group& g) {
  for (const Probe& p : g.probes) {
    if (p.struct_ops == nullptr) continue;
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr ||
        btf->FindByNameKind(std::string("bpf_struct_ops_") + p.struct_ops,
                            BTF_KIND_STRUCT) <= 0) {
      return false;
    }
  }
  return true;
}

// Creates the probe on the kernel (kernel=true) or the emulator, fills it,
// and returns its charge, or an error.
absl::StatusOr<int64_t> Charge(const Probe& p, bool kernel) {
  KernelBackend& k = KernelBackend::Get();
  MapAttr attr = p.attr;
  int btf_fd = -1;
  if (p.storage_btf) {
    EmuBackend& emu = EmuBackend::Get();
    btf_fd = LoadLocalStorageBtf(
        [&](const void* blob, uint32_t size) {
          return kernel ? k.LoadBtf(blob, size) : emu.LoadBtf(blob, size);
        },
        &attr);
  }
  if (p.struct_ops != nullptr) {
    EmuBackend& emu = EmuBackend::Get();
    btf_fd = LoadStructOpsBtf(
        [&](const void* blob, uint32_t size) {
          return kernel ? k.LoadBtf(blob, size) : emu.LoadBtf(blob, size);
        },
        p.struct_ops, &attr);
  }
  const int fd = kernel ? k.CreateMap(attr) : MapCreate(attr);
  if (btf_fd >= 0) {
    if (kernel) {
      k.Close(btf_fd);
    } else {
      (void)CloseFd(btf_fd);
    }
  }
  if (fd < 0) {
    return absl::InternalError(
        absl::StrFormat("%s: creating probe map type %u failed (errno %d)",
                        kernel ? "kernel" : "emulator", p.attr.map_type, -fd));
  }
  int sv[2] = {-1, -1};
  int err = 0;
  if (p.lpm_entry) {
    const uint32_t key[2] = {8, 0};
    const uint64_t value = 0;
    err = kernel ? k.Update(fd, key, &value, BPF_ANY)
                 : MapUpdateElem(fd, key, &value, BPF_ANY);
  }
  if (p.devmap_entry) {
    const uint32_t key = 0, lo = 1;
    err = kernel ? k.Update(fd, &key, &lo, BPF_ANY)
                 : MapUpdateElem(fd, &key, &lo, BPF_ANY);
  }
  if (p.socket) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
      err = -errno;
    } else {
      const uint32_t key = 0, value = static_cast<uint32_t>(sv[0]);
      err = kernel ? k.Update(fd, &key, &value, BPF_ANY)
                   : MapUpdateElem(fd, &key, &value, BPF_ANY);
    }
  }
  const int64_t charge = err != 0 ? -1
                         : kernel ? KernelMemlock(fd)
                                  : MapMemlock(fd);
  if (kernel) {
    k.Close(fd);
  } else {
    (void)CloseFd(fd);
  }
  for (int s : sv) {
    if (s >= 0) close(s);
  }
  if (err != 0 || charge < 0) {
    return absl::InternalError(
        absl::StrFormat("%s: probe map type %u gave no memlock (errno %d)",
                        kernel ? "kernel" : "emulator", p.attr.map_type, -err));
  }
  return charge;
}

absl::StatusOr<int64_t> EmuCharge(const Probe& p, const BuildProfile& b) {
  SetBuildProfile(b);
  return Charge(p, /*kernel=*/false);
}

// Solves one group into *out. Coefficients: the emulator's charge under a
// unit profile minus its charge under the zero profile.
absl::Status SolveGroup(const Group& g, BuildProfile* out) {
  const size_t n = g.fields.size();
  std::vector<std::vector<int64_t>> a(n, std::vector<int64_t>(n));
  std::vector<int64_t> rhs(n);
  for (size_t i = 0; i < n; ++i) {
    absl::StatusOr<int64_t> kernel = Charge(g.probes[i], /*kernel=*/true);
    if (!kernel.ok()) return kernel.status();
    absl::StatusOr<int64_t> base = EmuCharge(g.probes[i], BuildProfile{});
    if (!base.ok()) return base.status();
    rhs[i] = *kernel - *base;
    for (size_t j = 0; j < n; ++j) {
      BuildProfile unit{};
      unit.*(g.fields[j]) = 1;
      absl::StatusOr<int64_t> c = EmuCharge(g.probes[i], unit);
      if (!c.ok()) return c.status();
      a[i][j] = *c - *base;
    }
  }
  // Cramer's rule for the 1x1 and 2x2 systems the groups form.
  std::vector<int64_t> x(n);
  if (n == 1) {
    if (a[0][0] == 0 || rhs[0] % a[0][0] != 0) {
      return absl::FailedPreconditionError("formula does not fit");
    }
    x[0] = rhs[0] / a[0][0];
  } else {
    const int64_t det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    const int64_t n0 = rhs[0] * a[1][1] - a[0][1] * rhs[1];
    const int64_t n1 = a[0][0] * rhs[1] - rhs[0] * a[1][0];
    if (det == 0 || n0 % det != 0 || n1 % det != 0) {
      return absl::FailedPreconditionError("formula does not fit");
    }
    x[0] = n0 / det;
    x[1] = n1 / det;
  }
  for (size_t j = 0; j < n; ++j) {
    if (x[j] <= 0 || x[j] > (1 << 20)) {
      return absl::FailedPreconditionError(
          absl::StrFormat("implausible struct size %d", x[j]));
    }
    out->*(g.fields[j]) = static_cast<uint32_t>(x[j]);
  }
  return absl::OkStatus();
}

}  // namespace

int LoadLocalStorageBtf(
    const std::function<int(const void* blob, uint32_t size)>& load,
    MapAttr* attr) {
  struct btf* btf = btf__new_empty();
  if (btf == nullptr) return -ENOMEM;
  const int u32_id = btf__add_int(btf, "unsigned int", 4, 0);
  const int u8_id = btf__add_int(btf, "unsigned char", 1, 0);
  const int value_id = btf__add_array(btf, u32_id, u8_id, attr->value_size);
  uint32_t size = 0;
  const void* raw = value_id > 0 ? btf__raw_data(btf, &size) : nullptr;
  const int fd = raw != nullptr ? load(raw, size) : -EINVAL;
  btf__free(btf);
  if (fd >= 0) {
    attr->btf_fd = static_cast<uint32_t>(fd);
    attr->btf_key_type_id = static_cast<uint32_t>(u32_id);
    attr->btf_value_type_id = static_cast<uint32_t>(value_id);
  }
  return fd;
}

int LoadStructOpsBtf(
    const std::function<int(const void* blob, uint32_t size)>& load,
    const char* name, MapAttr* attr) {
  const KernelBtf* kbtf = KernelBtf::Get();
  if (kbtf == nullptr) return -ENOENT;
  const int32_t value_id = kbtf->FindByNameKind(
      std::string("bpf_struct_ops_") + name, BTF_KIND_STRUCT);
  if (value_id <= 0) return -ENOENT;
  struct btf* btf = btf__new_empty();
  if (btf == nullptr) return -ENOMEM;
  const int int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
  uint32_t size = 0;
  const void* raw = int_id > 0 ? btf__raw_data(btf, &size) : nullptr;
  const int fd = raw != nullptr ? load(raw, size) : -EINVAL;
  btf__free(btf);
  if (fd >= 0) {
    attr->map_type = BPF_MAP_TYPE_STRUCT_OPS;
    attr->key_size = 4;
    attr->max_entries = 1;
    attr->value_size = static_cast<uint32_t>(kbtf->Size(value_id));
    attr->btf_fd = static_cast<uint32_t>(fd);
    attr->btf_vmlinux_value_type_id = static_cast<uint32_t>(value_id);
  }
  return fd;
}

int64_t KernelMemlock(int fd) {
  return KernelBackend::FdinfoValue(fd, "memlock");
}

absl::StatusOr<BuildProfile> BuildProfileFromBtf(const char* path) {
  struct btf* btf = btf__parse(path, nullptr);
  if (btf == nullptr) {
    return absl::UnavailableError(
        absl::StrFormat("cannot parse BTF at %s (errno %d)", path, errno));
  }
  // The struct behind each field; the sizes are whole structs, flexible
  // key arrays excluded, as the formulas use them.
  static constexpr struct {
    Field field;
    const char* name;
  } kStructs[] = {
      {&BuildProfile::htab, "bpf_htab"},
      {&BuildProfile::htab_elem, "htab_elem"},
      {&BuildProfile::array, "bpf_array"},
      {&BuildProfile::ringbuf_map, "bpf_ringbuf_map"},
      {&BuildProfile::stab, "bpf_stab"},
      {&BuildProfile::shtab, "bpf_shtab"},
      {&BuildProfile::shtab_elem, "bpf_shtab_elem"},
      {&BuildProfile::queue_stack, "bpf_queue_stack"},
      {&BuildProfile::bloom, "bpf_bloom_filter"},
      {&BuildProfile::stack_map, "bpf_stack_map"},
      {&BuildProfile::lpm_node, "lpm_trie_node"},
      {&BuildProfile::reuseport_array, "reuseport_array"},
      {&BuildProfile::xsk_map, "xsk_map"},
      {&BuildProfile::local_storage_map, "bpf_local_storage_map"},
      {&BuildProfile::dtab, "bpf_dtab"},
      {&BuildProfile::dtab_netdev, "bpf_dtab_netdev"},
      {&BuildProfile::cpu_map, "bpf_cpu_map"},
      // Optional: a kernel without struct_ops (no CONFIG_BPF_JIT) has none.
      {&BuildProfile::struct_ops_map, "bpf_struct_ops_map"},
  };
  BuildProfile p;
  absl::Status status;
  for (const auto& s : kStructs) {
    const int id = btf__find_by_name_kind(btf, s.name, BTF_KIND_STRUCT);
    const long long size = id > 0 ? btf__resolve_size(btf, id) : -1;
    if (size <= 0 && s.field == &BuildProfile::struct_ops_map) continue;
    if (size <= 0) {
      status = absl::NotFoundError(
          absl::StrFormat("struct %s not in %s", s.name, path));
      break;
    }
    p.*(s.field) = static_cast<uint32_t>(size);
  }
  btf__free(btf);
  if (!status.ok()) return status;
  return p;
}

absl::StatusOr<BuildProfile> CalibrateBuildProfile() {
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    return absl::UnavailableError(why);
  }
  const KernelVersion v = TargetKernel();
  BuildProfile profile = DefaultBuildProfile(v);
  if (!ChargesMapMemUsage(v)) return profile;  // no struct sizes
  // The probes run under trial profiles; the profile in force is restored.
  const bool was_set = std::string(BuildProfileSource()) == "set";
  const BuildProfile before = BuildProfileFor(v);
  absl::Status status;
  for (const Group& g : Groups()) {
    if (!StructOpsProbeAvailable(g)) continue;  // the default stays
    status = SolveGroup(g, &profile);
    if (!status.ok()) break;
  }
  if (was_set) {
    SetBuildProfile(before);
  } else {
    ClearBuildProfile();
  }
  if (!status.ok()) return status;
  return profile;
}

std::string CalibrateAndSetBuildProfile() {
  absl::StatusOr<BuildProfile> p = CalibrateBuildProfile();
  const std::string version = KernelVersionName(TargetKernel());
  if (p.ok() && !ChargesMapMemUsage(TargetKernel())) {
    return absl::StrFormat(
        "build profile: the %s default (%s memlock counts no struct sizes)",
        version, version);
  }
  if (!p.ok()) {
    return absl::StrFormat(
        "build profile: the %s default (%s), not calibrated: %s", version,
        FormatBuildProfile(BuildProfileFor(TargetKernel())),
        p.status().message());
  }
  SetBuildProfile(*p);
  const bool is_default = *p == DefaultBuildProfile(TargetKernel());
  absl::StatusOr<BuildProfile> btf = BuildProfileFromBtf();
  return absl::StrFormat(
      "build profile calibrated from the running kernel: %s (%s; %s)",
      FormatBuildProfile(*p),
      is_default ? absl::StrFormat("the %s default", version)
                 : absl::StrFormat("differs from the %s default", version),
      !btf.ok() ? "no BTF to check it against"
      : *btf == *p
          ? "equal to the kernel's BTF"
          : "DIFFERS from the kernel's BTF: " + FormatBuildProfile(*btf));
}

}  // namespace bpfemu
