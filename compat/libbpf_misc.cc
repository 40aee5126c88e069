// SPDX-License-Identifier: Apache-2.0
// libbpf 1.1's library-wide calls over the emulator, written after
// tools/lib/bpf/libbpf.c (libbpf_set_print, libbpf_get_error,
// libbpf_set_strict_mode, the version calls, the *_type_str tables,
// section_defs with libbpf_prog_type_by_name / libbpf_attach_type_by_name)
// and tools/lib/bpf/libbpf_probes.c (libbpf_probe_bpf_*), in the 6.1 tree
// (libbpf 1.1). The probes really ask the emulator: they create the same
// maps and load the same programs libbpf's probes ask the kernel for, so
// the answer follows the emulated kernel version (emu/version.h) and the
// caller's privileges.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"
#include "loader/section_names.h"

using bpfemu::compat::LibbpfErr;

namespace {

int DefaultPrint(enum libbpf_print_level level, const char* format,
                 va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return std::vfprintf(stderr, format, args);
}

libbpf_print_fn_t g_print = DefaultPrint;

// A table indexed by an enum value: the names libbpf 1.1.2 prints (NULL for
// values it does not know).
template <size_t N>
struct NameTable {
  std::array<const char*, N> names{};
  constexpr NameTable(std::initializer_list<std::pair<int, const char*>> l) {
    for (const auto& [i, n] : l) names[static_cast<size_t>(i)] = n;
  }
  const char* operator[](long i) const {
    return i >= 0 && static_cast<size_t>(i) < N ? names[i] : nullptr;
  }
};

// Map types 0..32 as libbpf names them: the uapi name in lower case without
// its BPF_MAP_TYPE_ prefix (cgrp_storage is the 1.1.2 addition).
constexpr NameTable<33> kMapTypes = {
    {BPF_MAP_TYPE_UNSPEC, "unspec"},
    {BPF_MAP_TYPE_HASH, "hash"},
    {BPF_MAP_TYPE_ARRAY, "array"},
    {BPF_MAP_TYPE_PROG_ARRAY, "prog_array"},
    {BPF_MAP_TYPE_PERF_EVENT_ARRAY, "perf_event_array"},
    {BPF_MAP_TYPE_PERCPU_HASH, "percpu_hash"},
    {BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array"},
    {BPF_MAP_TYPE_STACK_TRACE, "stack_trace"},
    {BPF_MAP_TYPE_CGROUP_ARRAY, "cgroup_array"},
    {BPF_MAP_TYPE_LRU_HASH, "lru_hash"},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, "lru_percpu_hash"},
    {BPF_MAP_TYPE_LPM_TRIE, "lpm_trie"},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, "array_of_maps"},
    {BPF_MAP_TYPE_HASH_OF_MAPS, "hash_of_maps"},
    {BPF_MAP_TYPE_DEVMAP, "devmap"},
    {BPF_MAP_TYPE_SOCKMAP, "sockmap"},
    {BPF_MAP_TYPE_CPUMAP, "cpumap"},
    {BPF_MAP_TYPE_XSKMAP, "xskmap"},
    {BPF_MAP_TYPE_SOCKHASH, "sockhash"},
    {19, "cgroup_storage"},  // BPF_MAP_TYPE_CGROUP_STORAGE
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "reuseport_sockarray"},
    {21, "percpu_cgroup_storage"},  // BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
    {BPF_MAP_TYPE_QUEUE, "queue"},
    {BPF_MAP_TYPE_STACK, "stack"},
    {BPF_MAP_TYPE_SK_STORAGE, "sk_storage"},
    {BPF_MAP_TYPE_DEVMAP_HASH, "devmap_hash"},
    {BPF_MAP_TYPE_STRUCT_OPS, "struct_ops"},
    {BPF_MAP_TYPE_RINGBUF, "ringbuf"},
    {BPF_MAP_TYPE_INODE_STORAGE, "inode_storage"},
    {BPF_MAP_TYPE_TASK_STORAGE, "task_storage"},
    {BPF_MAP_TYPE_BLOOM_FILTER, "bloom_filter"},
    {BPF_MAP_TYPE_USER_RINGBUF, "user_ringbuf"},
    {32, "cgrp_storage"},  // BPF_MAP_TYPE_CGRP_STORAGE
};

// Program types 0..31.
constexpr NameTable<32> kProgTypes = {
    {BPF_PROG_TYPE_UNSPEC, "unspec"},
    {BPF_PROG_TYPE_SOCKET_FILTER, "socket_filter"},
    {BPF_PROG_TYPE_KPROBE, "kprobe"},
    {BPF_PROG_TYPE_SCHED_CLS, "sched_cls"},
    {BPF_PROG_TYPE_SCHED_ACT, "sched_act"},
    {BPF_PROG_TYPE_TRACEPOINT, "tracepoint"},
    {BPF_PROG_TYPE_XDP, "xdp"},
    {BPF_PROG_TYPE_PERF_EVENT, "perf_event"},
    {BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb"},
    {BPF_PROG_TYPE_CGROUP_SOCK, "cgroup_sock"},
    {BPF_PROG_TYPE_LWT_IN, "lwt_in"},
    {BPF_PROG_TYPE_LWT_OUT, "lwt_out"},
    {BPF_PROG_TYPE_LWT_XMIT, "lwt_xmit"},
    {BPF_PROG_TYPE_SOCK_OPS, "sock_ops"},
    {BPF_PROG_TYPE_SK_SKB, "sk_skb"},
    {BPF_PROG_TYPE_CGROUP_DEVICE, "cgroup_device"},
    {BPF_PROG_TYPE_SK_MSG, "sk_msg"},
    {BPF_PROG_TYPE_RAW_TRACEPOINT, "raw_tracepoint"},
    {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup_sock_addr"},
    {BPF_PROG_TYPE_LWT_SEG6LOCAL, "lwt_seg6local"},
    {BPF_PROG_TYPE_LIRC_MODE2, "lirc_mode2"},
    {BPF_PROG_TYPE_SK_REUSEPORT, "sk_reuseport"},
    {BPF_PROG_TYPE_FLOW_DISSECTOR, "flow_dissector"},
    {BPF_PROG_TYPE_CGROUP_SYSCTL, "cgroup_sysctl"},
    {BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, "raw_tracepoint_writable"},
    {BPF_PROG_TYPE_CGROUP_SOCKOPT, "cgroup_sockopt"},
    {BPF_PROG_TYPE_TRACING, "tracing"},
    {BPF_PROG_TYPE_STRUCT_OPS, "struct_ops"},
    {BPF_PROG_TYPE_EXT, "ext"},
    {BPF_PROG_TYPE_LSM, "lsm"},
    {BPF_PROG_TYPE_SK_LOOKUP, "sk_lookup"},
    {BPF_PROG_TYPE_SYSCALL, "syscall"},
};

// Attach types 0..43: the uapi name without BPF_, in lower case, except
// the LSM and tracing ones libbpf abbreviates.
constexpr NameTable<44> kAttachTypes = {
    {BPF_CGROUP_INET_INGRESS, "cgroup_inet_ingress"},
    {BPF_CGROUP_INET_EGRESS, "cgroup_inet_egress"},
    {BPF_CGROUP_INET_SOCK_CREATE, "cgroup_inet_sock_create"},
    {BPF_CGROUP_SOCK_OPS, "cgroup_sock_ops"},
    {BPF_SK_SKB_STREAM_PARSER, "sk_skb_stream_parser"},
    {BPF_SK_SKB_STREAM_VERDICT, "sk_skb_stream_verdict"},
    {BPF_CGROUP_DEVICE, "cgroup_device"},
    {BPF_SK_MSG_VERDICT, "sk_msg_verdict"},
    {BPF_CGROUP_INET4_BIND, "cgroup_inet4_bind"},
    {BPF_CGROUP_INET6_BIND, "cgroup_inet6_bind"},
    {BPF_CGROUP_INET4_CONNECT, "cgroup_inet4_connect"},
    {BPF_CGROUP_INET6_CONNECT, "cgroup_inet6_connect"},
    {BPF_CGROUP_INET4_POST_BIND, "cgroup_inet4_post_bind"},
    {BPF_CGROUP_INET6_POST_BIND, "cgroup_inet6_post_bind"},
    {BPF_CGROUP_UDP4_SENDMSG, "cgroup_udp4_sendmsg"},
    {BPF_CGROUP_UDP6_SENDMSG, "cgroup_udp6_sendmsg"},
    {BPF_LIRC_MODE2, "lirc_mode2"},
    {BPF_FLOW_DISSECTOR, "flow_dissector"},
    {BPF_CGROUP_SYSCTL, "cgroup_sysctl"},
    {BPF_CGROUP_UDP4_RECVMSG, "cgroup_udp4_recvmsg"},
    {BPF_CGROUP_UDP6_RECVMSG, "cgroup_udp6_recvmsg"},
    {BPF_CGROUP_GETSOCKOPT, "cgroup_getsockopt"},
    {BPF_CGROUP_SETSOCKOPT, "cgroup_setsockopt"},
    {BPF_TRACE_RAW_TP, "trace_raw_tp"},
    {BPF_TRACE_FENTRY, "trace_fentry"},
    {BPF_TRACE_FEXIT, "trace_fexit"},
    {BPF_MODIFY_RETURN, "modify_return"},
    {BPF_LSM_MAC, "lsm_mac"},
    {BPF_TRACE_ITER, "trace_iter"},
    {BPF_CGROUP_INET4_GETPEERNAME, "cgroup_inet4_getpeername"},
    {BPF_CGROUP_INET6_GETPEERNAME, "cgroup_inet6_getpeername"},
    {BPF_CGROUP_INET4_GETSOCKNAME, "cgroup_inet4_getsockname"},
    {BPF_CGROUP_INET6_GETSOCKNAME, "cgroup_inet6_getsockname"},
    {BPF_XDP_DEVMAP, "xdp_devmap"},
    {BPF_CGROUP_INET_SOCK_RELEASE, "cgroup_inet_sock_release"},
    {BPF_XDP_CPUMAP, "xdp_cpumap"},
    {BPF_SK_LOOKUP, "sk_lookup"},
    {BPF_XDP, "xdp"},
    {BPF_SK_SKB_VERDICT, "sk_skb_verdict"},
    {BPF_SK_REUSEPORT_SELECT, "sk_reuseport_select"},
    {BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, "sk_reuseport_select_or_migrate"},
    {BPF_PERF_EVENT, "perf_event"},
    {BPF_TRACE_KPROBE_MULTI, "trace_kprobe_multi"},
    {BPF_LSM_CGROUP, "lsm_cgroup"},
};

// Link types 0..9.
constexpr NameTable<10> kLinkTypes = {
    {BPF_LINK_TYPE_UNSPEC, "unspec"},
    {BPF_LINK_TYPE_RAW_TRACEPOINT, "raw_tracepoint"},
    {BPF_LINK_TYPE_TRACING, "tracing"},
    {BPF_LINK_TYPE_CGROUP, "cgroup"},
    {BPF_LINK_TYPE_ITER, "iter"},
    {BPF_LINK_TYPE_NETNS, "netns"},
    {BPF_LINK_TYPE_XDP, "xdp"},
    {BPF_LINK_TYPE_PERF_EVENT, "perf_event"},
    {BPF_LINK_TYPE_KPROBE_MULTI, "kprobe_multi"},
    {BPF_LINK_TYPE_STRUCT_OPS, "struct_ops"},
};

using bpfemu::native::FindSecDef;
using bpfemu::native::SecDef;
using bpfemu::native::SecMatches;

// libbpf_register_prog_handler()'s table (libbpf.c custom_sec_defs,
// custom_fallback_def, last_custom_sec_def_handler_id).
struct CustomEntry {
  std::string sec;
  bpfemu::compat::CustomSecDef def;
};
std::mutex custom_mu;
std::vector<CustomEntry>* custom_defs = new std::vector<CustomEntry>;
bool has_fallback = false;
bpfemu::compat::CustomSecDef fallback_def;
int last_handler_id = 0;

// find_sec_def(): 1 and *custom for a custom definition, 0 for a built-in
// one (*builtin), -1 for none.
int ResolveSec(const char* name, const SecDef** builtin,
               bpfemu::compat::CustomSecDef* custom) {
  std::lock_guard<std::mutex> lock(custom_mu);
  for (const CustomEntry& e : *custom_defs) {
    if (SecMatches(e.sec, name)) {
      *custom = e.def;
      return 1;
    }
  }
  *builtin = FindSecDef(name);
  if (*builtin != nullptr) return 0;
  if (has_fallback) {
    *custom = fallback_def;
    return 1;
  }
  return -1;
}

// What the kernel's probe program returns for a load on the emulator: 1 if
// it loaded, 0 if it was refused.
int ProbeLoad(enum bpf_prog_type type, const struct bpf_insn* insns,
              size_t cnt) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  if (type == BPF_PROG_TYPE_SYSCALL) opts.prog_flags = BPF_F_SLEEPABLE;
  const int saved = errno;
  const int fd = bpf_prog_load(type, nullptr, "GPL", insns, cnt, &opts);
  errno = saved;
  if (fd < 0) return 0;
  close(fd);
  return 1;
}

}  // namespace

namespace bpfemu::compat {

bool FindCustomSecDef(const char* sec, CustomSecDef* out) {
  const SecDef* builtin = nullptr;
  return sec != nullptr && ResolveSec(sec, &builtin, out) == 1;
}

void Print(enum libbpf_print_level level, const char* format, ...) {
  libbpf_print_fn_t fn = g_print;
  if (fn == nullptr) return;
  const int saved = errno;
  va_list args;
  va_start(args, format);
  fn(level, format, args);
  va_end(args);
  errno = saved;
}

}  // namespace bpfemu::compat

extern "C" {

libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn) {
  libbpf_print_fn_t old = g_print;
  g_print = fn;
  return old;
}

// 1.x never returns error pointers, so NULL means "errno says why".
long libbpf_get_error(const void* ptr) {
  const auto v = reinterpret_cast<uintptr_t>(ptr);
  if (ptr != nullptr && v < static_cast<uintptr_t>(-4095)) return 0;
  if (ptr != nullptr) errno = -static_cast<long>(v);
  return -errno;
}

// A no-op since libbpf 1.0: strict behaviour is the only one.
int libbpf_set_strict_mode(enum libbpf_strict_mode mode) {
  (void)mode;
  return 0;
}

__u32 libbpf_major_version(void) { return LIBBPF_MAJOR_VERSION; }
__u32 libbpf_minor_version(void) { return LIBBPF_MINOR_VERSION; }

const char* libbpf_version_string(void) {
#define BPFEMU_STR2(x) #x
#define BPFEMU_STR(x) BPFEMU_STR2(x)
  return "v" BPFEMU_STR(LIBBPF_MAJOR_VERSION) "." BPFEMU_STR(
      LIBBPF_MINOR_VERSION);
#undef BPFEMU_STR
#undef BPFEMU_STR2
}

const char* libbpf_bpf_map_type_str(enum bpf_map_type t) {
  return kMapTypes[t];
}
const char* libbpf_bpf_prog_type_str(enum bpf_prog_type t) {
  return kProgTypes[t];
}
const char* libbpf_bpf_attach_type_str(enum bpf_attach_type t) {
  return kAttachTypes[t];
}
const char* libbpf_bpf_link_type_str(enum bpf_link_type t) {
  return kLinkTypes[t];
}

int libbpf_prog_type_by_name(const char* name, enum bpf_prog_type* prog_type,
                             enum bpf_attach_type* expected_attach_type) {
  if (name == nullptr) return LibbpfErr(-EINVAL);
  const SecDef* d = nullptr;
  bpfemu::compat::CustomSecDef custom;
  const int found = ResolveSec(name, &d, &custom);
  if (found < 0) {
    bpfemu::compat::Print(
        LIBBPF_DEBUG, "failed to guess program type from ELF section '%s'\n",
        name);
    return LibbpfErr(-ESRCH);
  }
  if (found == 1) {
    *prog_type = custom.prog_type;
    *expected_attach_type = custom.attach_type;
    return 0;
  }
  *prog_type = static_cast<enum bpf_prog_type>(d->prog_type);
  *expected_attach_type = static_cast<enum bpf_attach_type>(d->attach_type);
  return 0;
}

int libbpf_attach_type_by_name(const char* name,
                               enum bpf_attach_type* attach_type) {
  if (name == nullptr) return LibbpfErr(-EINVAL);
  const SecDef* d = nullptr;
  bpfemu::compat::CustomSecDef custom;
  const int found = ResolveSec(name, &d, &custom);
  if (found < 0) {
    bpfemu::compat::Print(
        LIBBPF_DEBUG,
        "failed to guess attach type based on ELF section name '%s'\n", name);
    return LibbpfErr(-EINVAL);
  }
  // A custom definition never has libbpf's own prepare step: -EINVAL.
  if (found == 1 || !d->attachable) return LibbpfErr(-EINVAL);
  *attach_type = static_cast<enum bpf_attach_type>(d->attach_type);
  return 0;
}

// libbpf_probes.c probe_map_create(): the same creation attempt, on the
// emulator.
int libbpf_probe_bpf_map_type(enum bpf_map_type map_type, const void* opts) {
  if (opts != nullptr) return LibbpfErr(-EINVAL);
  LIBBPF_OPTS(bpf_map_create_opts, o);
  uint32_t key = 4, value = 4, max = 1;
  bool expect_enotsupp = false;
  switch (map_type) {
    case BPF_MAP_TYPE_STACK_TRACE:
      value = 8;
      break;
    case BPF_MAP_TYPE_LPM_TRIE:
      key = 8;
      value = 8;
      o.map_flags = BPF_F_NO_PREALLOC;
      break;
    case BPF_MAP_TYPE_CGROUP_STORAGE:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      key = sizeof(struct bpf_cgroup_storage_key);
      value = 8;
      max = 0;
      break;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      key = 0;
      break;
    case BPF_MAP_TYPE_SK_STORAGE:
    case BPF_MAP_TYPE_INODE_STORAGE:
    case BPF_MAP_TYPE_TASK_STORAGE: {
      // load_local_storage_btf(): int (1), struct bpf_spin_lock (2) and
      // struct val { int cnt; struct bpf_spin_lock l; } (3), as libbpf
      // loads it first; a failed load is the probe's answer.
      static const char kStrs[] = "\0bpf_spin_lock\0val\0cnt\0l";
      const uint32_t types[] = {
          0,  BTF_KIND_INT << 24,
          4,  (BTF_INT_SIGNED << 24) | 32,  // [1]
          1,  (BTF_KIND_STRUCT << 24) | 1,
          4,  15,
          1,  0,  // [2]
          15, (BTF_KIND_STRUCT << 24) | 2,
          8,  19,
          1,  0,
          23, 2,
          32,  // [3]
      };
      struct btf_header h = {};
      h.magic = BTF_MAGIC;
      h.version = BTF_VERSION;
      h.hdr_len = sizeof(h);
      h.type_len = sizeof(types);
      h.str_off = sizeof(types);
      h.str_len = sizeof(kStrs);
      unsigned char raw[sizeof(h) + sizeof(types) + sizeof(kStrs)];
      std::memcpy(raw, &h, sizeof(h));
      std::memcpy(raw + sizeof(h), types, sizeof(types));
      std::memcpy(raw + sizeof(h) + sizeof(types), kStrs, sizeof(kStrs));
      const int saved = errno;
      const int btf = bpf_btf_load(raw, sizeof(raw), nullptr);
      if (btf < 0) {
        const int err = -errno;
        errno = saved;
        return err;
      }
      o.btf_fd = static_cast<__u32>(btf);
      o.btf_key_type_id = 1;
      o.btf_value_type_id = 3;
      o.map_flags = BPF_F_NO_PREALLOC;
      const int fd = bpf_map_create(map_type, nullptr, 4, 8, 0, &o);
      if (fd >= 0) close(fd);
      close(btf);
      errno = saved;
      return fd >= 0 ? 1 : 0;
    }
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_USER_RINGBUF:
      key = 0;
      value = 0;
      max = static_cast<uint32_t>(sysconf(_SC_PAGE_SIZE));
      break;
    case BPF_MAP_TYPE_STRUCT_OPS:
      o.btf_vmlinux_value_type_id = 1;
      expect_enotsupp = true;
      break;
    case BPF_MAP_TYPE_BLOOM_FILTER:
      key = 0;
      break;
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_CGROUP_ARRAY:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_SOCKMAP:
    case BPF_MAP_TYPE_CPUMAP:
    case BPF_MAP_TYPE_XSKMAP:
    case BPF_MAP_TYPE_SOCKHASH:
    case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
      break;
    default:
      return LibbpfErr(-EOPNOTSUPP);
  }
  const int saved = errno;
  int inner = -1;
  if (map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
      map_type == BPF_MAP_TYPE_HASH_OF_MAPS) {
    inner = bpf_map_create(BPF_MAP_TYPE_HASH, nullptr, 4, 4, 1, nullptr);
    if (inner < 0) {
      errno = saved;
      return 0;
    }
    o.inner_map_fd = static_cast<__u32>(inner);
  }
  const int fd = bpf_map_create(map_type, nullptr, key, value, max, &o);
  const int err = fd < 0 ? -errno : 0;
  if (fd >= 0) close(fd);
  if (inner >= 0) close(inner);
  errno = saved;
  if (expect_enotsupp) return fd < 0 && err == -524 ? 1 : 0;
  return fd >= 0 ? 1 : 0;
}

// libbpf_probes.c probe_prog_load() with "r0 = 0; exit". The types whose
// probe needs BTF or kernel-version attributes the emulator does not model
// (kprobe, tracing, ext, lsm, struct_ops, cgroup sockopt/sock_addr ...)
// are still asked: the emulator's own load answers.
int libbpf_probe_bpf_prog_type(enum bpf_prog_type prog_type, const void* opts) {
  if (opts != nullptr) return LibbpfErr(-EINVAL);
  if (prog_type > BPF_PROG_TYPE_SYSCALL) return LibbpfErr(-EOPNOTSUPP);
  const struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  return ProbeLoad(prog_type, insns, 2);
}

// "call helper; exit": the emulator refuses a helper it does not provide
// for the program type at load, as the verifier does.
int libbpf_probe_bpf_helper(enum bpf_prog_type prog_type,
                            enum bpf_func_id helper_id, const void* opts) {
  if (opts != nullptr) return LibbpfErr(-EINVAL);
  switch (prog_type) {
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_EXT:
    case BPF_PROG_TYPE_LSM:
    case BPF_PROG_TYPE_STRUCT_OPS:
      return -EOPNOTSUPP;  // libbpf does not set errno here
    default:
      break;
  }
  if (prog_type > BPF_PROG_TYPE_SYSCALL) return LibbpfErr(-EOPNOTSUPP);
  const struct bpf_insn insns[] = {
      {.code = BPF_JMP | BPF_CALL, .imm = static_cast<__s32>(helper_id)},
      {.code = BPF_JMP | BPF_EXIT},
  };
  return ProbeLoad(prog_type, insns, 2);
}

}  // extern "C"

extern "C" {

// libbpf.c libbpf_register_prog_handler(): a custom SEC() definition (sec
// NULL: the fallback for sections nothing else matches, one at a time:
// -EBUSY). Its id, counting from 1 over the process's lifetime.
int libbpf_register_prog_handler(const char* sec, enum bpf_prog_type prog_type,
                                 enum bpf_attach_type exp_attach_type,
                                 const struct libbpf_prog_handler_opts* opts) {
  if (!bpfemu::compat::OptsValid(opts)) return LibbpfErr(-EINVAL);
  std::lock_guard<std::mutex> lock(custom_mu);
  if (last_handler_id == INT_MAX) return LibbpfErr(-E2BIG);
  if (sec == nullptr && has_fallback) return LibbpfErr(-EBUSY);
  bpfemu::compat::CustomSecDef def;
  def.prog_type = prog_type;
  def.attach_type = exp_attach_type;
  def.cookie = BPFEMU_OPTS_GET(opts, cookie, 0L);
  def.setup_fn = BPFEMU_OPTS_GET(opts, prog_setup_fn,
                                 static_cast<libbpf_prog_setup_fn_t>(nullptr));
  def.prepare_load_fn =
      BPFEMU_OPTS_GET(opts, prog_prepare_load_fn,
                      static_cast<libbpf_prog_prepare_load_fn_t>(nullptr));
  def.attach_fn = BPFEMU_OPTS_GET(
      opts, prog_attach_fn, static_cast<libbpf_prog_attach_fn_t>(nullptr));
  def.id = ++last_handler_id;
  if (sec != nullptr) {
    custom_defs->push_back({sec, def});
  } else {
    fallback_def = def;
    has_fallback = true;
  }
  return def.id;
}

int libbpf_unregister_prog_handler(int handler_id) {
  if (handler_id <= 0) return LibbpfErr(-EINVAL);
  std::lock_guard<std::mutex> lock(custom_mu);
  if (has_fallback && fallback_def.id == handler_id) {
    fallback_def = {};
    has_fallback = false;
    return 0;
  }
  for (auto it = custom_defs->begin(); it != custom_defs->end(); ++it) {
    if (it->def.id == handler_id) {
      custom_defs->erase(it);
      return 0;
    }
  }
  return LibbpfErr(-ENOENT);
}

}  // extern "C"
