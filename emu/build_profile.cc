// SPDX-License-Identifier: Apache-2.0
#include "emu/build_profile.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace bpfemu {
namespace {

// x86-64, 4 KiB pages. Provenance (docs/semantics.md, "Version vs build"):
//   6.18: fdinfo "memlock:" of probe maps on the Linux 6.18.44 build this
//         project was first measured on (2026-11). A later 6.18.44 build
//         has struct bpf_htab of 896 bytes; calibration picks that up.
//   6.12: Debian's 6.12.117+deb12-amd64 under QEMU (tools/kmatrix):
//         calibrated from memlock in the guest and equal to its BTF.
//   6.1:  Debian's 6.1.0-57-amd64, from its BTF. 6.1 charges
//         bpf_map_memory_footprint(), which counts no structure; only
//         htab_elem shows, in the hash E2BIG bound.
constexpr BuildProfile kDefault6_1 = {
    .htab = 832,
    .htab_elem = 48,
    .array = 320,
    .ringbuf_map = 320,
    .stab = 320,
    .shtab = 320,
    .shtab_elem = 48,
    .queue_stack = 320,
    .bloom = 320,
    // struct bpf_stack_map from the 6.1 sources over the bpf_map size above
    // (6.1's formula counts no structure, so it only shows in profiles).
    .stack_map = 384,
    // struct lpm_trie_node: rcu_head, two children, prefixlen, flags.
    .lpm_node = 40,
    // struct bpf_map alone (bpf_queue_stack above less its 16 bytes), and
    // with xsk_map's lock and count.
    .reuseport_array = 304,
    .xsk_map = 312,
    // struct bpf_local_storage_map: the 6.18 figure below with the bpf_map
    // size above (6.1's formula counts no structure).
    .local_storage_map = 488,
    // From the 6.1 sources: a cache-line aligned struct bpf_map (256)
    // followed by the devmap's table pointers, list, lock and counters
    // (and the cpumap's one pointer), rounded to the line.
    .dtab = 320,
    .dtab_netdev = 64,
    .cpu_map = 320,
    // 6.1 charges no structure (bpf_map_memory_footprint); the 6.12 figure.
    .struct_ops_map = 512,
};
constexpr BuildProfile kDefault6_12 = {
    .htab = 896,
    .htab_elem = 48,
    .array = 264,
    .ringbuf_map = 256,
    .stab = 328,
    .shtab = 336,
    .shtab_elem = 48,
    .queue_stack = 264,
    .bloom = 264,
    // From the 6.12 sources: struct bpf_map (248, as bpf_queue_stack above
    // shows), elems, a pcpu_freelist with its extralist, n_buckets.
    .stack_map = 288,
    .lpm_node = 40,
    // struct bpf_map (248) alone, and with xsk_map's lock and count.
    .reuseport_array = 248,
    .xsk_map = 256,
    // The 6.18 figure below with the 6.12 bpf_map size (248, not 296).
    .local_storage_map = 432,
    // From the 6.12 sources over the 248-byte struct bpf_map: bpf_dtab adds
    // 44 bytes (padded to 296), bpf_cpu_map one pointer.
    .dtab = 296,
    .dtab_netdev = 64,
    .cpu_map = 256,
    // From the 6.12 sources: struct bpf_map (248), rcu_head, desc, mutex,
    // links, ksyms, counts, eight image pages, btf, uvalue (408), then the
    // cache-line aligned 64-byte kvalue.
    .struct_ops_map = 512,
};
constexpr BuildProfile kDefault6_18 = {
    .htab = 832,
    .htab_elem = 48,
    .array = 312,
    .ringbuf_map = 304,
    .stab = 376,
    .shtab = 384,
    .shtab_elem = 48,
    // Not in the first measurement: this machine's 6.18.44 BTF, whose
    // struct bpf_map has the same size as the first build's.
    .queue_stack = 312,
    // This machine's 6.18.44: BTF and a probe's memlock agree.
    .bloom = 312,
    // This machine's 6.18.44 BTF (pcpu_freelist lost its extralist).
    .stack_map = 320,
    // 6.13 moved LPM nodes to bpf_mem_alloc and dropped their rcu_head.
    .lpm_node = 24,
    // This machine's 6.18.44: BTF and a one-entry probe's memlock agree.
    .reuseport_array = 296,
    .xsk_map = 304,
    // This machine's 6.18.44: an SK_STORAGE map's memlock (512 with two
    // possible CPUs) less its two 16-byte buckets.
    .local_storage_map = 480,
    // This machine's 6.18.44: memlock of DEVMAP / CPUMAP probes with one and
    // four slots, and a DEVMAP with one entry; its BTF agrees.
    .dtab = 344,
    .dtab_netdev = 64,
    .cpu_map = 304,
    // This machine's 6.18.44: calibrated from a tcp_congestion_ops probe
    // (testing/calibrate.cc), equal to its BTF; memlock_compare_test then
    // finds tcp_congestion_ops (5264) and bpf_dummy_ops (4848) maps, plain
    // and BPF_F_LINK, charged as the kernel charges them.
    .struct_ops_map = 512,
};

struct State {
  std::mutex mu;
  bool set = false;
  BuildProfile profile;
  // BPFEMU_KERNEL_BUILD, read once.
  bool env_read = false;
  std::string env_spec;
};

State& GetState() {
  static auto* state = new State;
  return *state;
}

// The environment's spec, if any (read once, under s.mu).
const std::string* EnvSpec(State& s) {
  if (!s.env_read) {
    s.env_read = true;
    if (const char* env = std::getenv("BPFEMU_KERNEL_BUILD")) {
      s.env_spec = env;
      if (!ParseBuildProfile(s.env_spec, kDefault6_18)) {
        std::fprintf(stderr,
                     "bpfemu: ignoring BPFEMU_KERNEL_BUILD=\"%s\" (expected "
                     "field=bytes,... with fields of FormatBuildProfile)\n",
                     env);
        s.env_spec.clear();
      }
    }
  }
  return s.env_spec.empty() ? nullptr : &s.env_spec;
}

}  // namespace

BuildProfile DefaultBuildProfile(KernelVersion v) {
  switch (v) {
    case KernelVersion::k6_1:
      return kDefault6_1;
    case KernelVersion::k6_12:
      return kDefault6_12;
    case KernelVersion::k6_18:
      return kDefault6_18;
  }
  return kDefault6_18;
}

std::optional<BuildProfile> ParseBuildProfile(std::string_view spec,
                                              const BuildProfile& base) {
  BuildProfile p = base;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view()
                                           : spec.substr(comma + 1);
    if (comma != std::string_view::npos && spec.empty()) return std::nullopt;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = item.substr(0, eq);
    const std::string_view number = item.substr(eq + 1);
    const BuildProfileField* field = nullptr;
    for (const BuildProfileField& f : kBuildProfileFields) {
      if (name == f.name) field = &f;
    }
    if (field == nullptr || number.empty()) return std::nullopt;
    uint32_t value = 0;
    const auto [end, ec] =
        std::from_chars(number.data(), number.data() + number.size(), value);
    // A struct of more than 1 MiB is a typo, not a kernel build.
    if (ec != std::errc() || end != number.data() + number.size() ||
        value > (1u << 20)) {
      return std::nullopt;
    }
    p.*(field->member) = value;
  }
  return p;
}

std::string FormatBuildProfile(const BuildProfile& p) {
  std::string out;
  for (const BuildProfileField& f : kBuildProfileFields) {
    if (!out.empty()) out += ',';
    out += f.name;
    out += '=';
    out += std::to_string(p.*(f.member));
  }
  return out;
}

BuildProfile BuildProfileFor(KernelVersion v) {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  if (s.set) return s.profile;
  const BuildProfile base = DefaultBuildProfile(v);
  if (const std::string* spec = EnvSpec(s)) {
    return *ParseBuildProfile(*spec, base);
  }
  return base;
}

const char* BuildProfileSource() {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  if (s.set) return "set";
  return EnvSpec(s) != nullptr ? "environment" : "default";
}

void SetBuildProfile(const BuildProfile& p) {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  s.set = true;
  s.profile = p;
}

void ClearBuildProfile() {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  s.set = false;
}

}  // namespace bpfemu
