// SPDX-License-Identifier: Apache-2.0
#include "kernel_compare/differ.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <sstream>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "emu/btf_blobs.h"
#include "emu/cgroup.h"
#include "emu/errno.h"
#include "emu/kernel_btf.h"
#include "emu/struct_ops_map.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// A STRUCT_OPS value for an update: zeros, often with a valid name where
// the ops struct has one (tcp_congestion_ops), then 0-3 random bytes
// anywhere (the common part's refcnt and state, holes, members that must
// be zero, the owner pointer, function slots read as program fds), so
// that updates reach each of bpf_struct_ops_map_update_elem's checks.
std::vector<uint8_t> StructOpsValueBytes(std::mt19937_64& gen,
                                         const MapAttr& attr) {
  std::vector<uint8_t> v(attr.value_size, 0);
  if (v.empty()) return v;
  const KernelBtf* btf = KernelBtf::Get();
  StructOpsDesc d;
  if (btf != nullptr &&
      FindStructOpsValue(*btf, TargetKernel(), attr.btf_vmlinux_value_type_id,
                         &d) &&
      absl::Bernoulli(gen, 0.7)) {
    const btf_type* t = btf->Type(d.type_id);
    uint16_t n = 0;
    const btf_member* m = btf->Members(d.type_id, &n);
    for (uint16_t i = 0; i < n; ++i) {
      if (btf->Str(m[i].name_off) != "name") continue;
      const uint32_t bits = BTF_INFO_KFLAG(t->info)
                                ? BTF_MEMBER_BIT_OFFSET(m[i].offset)
                                : m[i].offset;
      const size_t off = 64 + bits / 8;  // after bpf_struct_ops_value's head
      const char name[] = "bpfemu_cc";
      if (off + sizeof(name) <= v.size()) {
        std::memcpy(v.data() + off, name, sizeof(name));
      }
    }
  }
  const int flips = absl::Uniform<int>(gen, 0, 4);
  for (int i = 0; i < flips; ++i) {
    v[absl::Uniform<size_t>(gen, 0, v.size())] = absl::Uniform<uint8_t>(gen);
  }
  return v;
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  std::string s;
  for (uint8_t b : bytes) s += absl::StrFormat("%02x", b);
  return s;
}

bool ParseHex(const std::string& s, std::vector<uint8_t>* out) {
  if (s.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v;
    if (std::sscanf(s.c_str() + i, "%2x", &v) != 1) return false;
    out->push_back(static_cast<uint8_t>(v));
  }
  return true;
}

bool IsLocalStorage(uint32_t type) {
  return type == BPF_MAP_TYPE_SK_STORAGE || type == BPF_MAP_TYPE_TASK_STORAGE ||
         type == BPF_MAP_TYPE_INODE_STORAGE || type == kBpfMapTypeCgrpStorage;
}

// The owners a local storage sequence names by slot (its key is a slot
// number, so traces replay in any process): sockets of three families
// (net/core/bpf_sk_storage.c), a pidfd of this process
// (kernel/bpf/bpf_task_storage.c), a regular file and /dev/null
// (kernel/bpf/bpf_inode_storage.c), the cgroup2 root and a cgroup v1
// directory (kernel/bpf/bpf_cgrp_storage.c cgroup_v1v2_get_from_fd), then
// fd -1 and an fd past the table. Each kind is a valid owner for one type and a
// wrong one for the others. Opened once and kept for the process's life: both
// backends see the same objects.
int OwnerFd(uint32_t slot) {
  static const std::vector<int> fds = [] {
    std::vector<int> v = {
        socket(AF_INET, SOCK_STREAM, 0),
        socket(AF_INET, SOCK_DGRAM, 0),
        socket(AF_UNIX, SOCK_STREAM, 0),
        static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)),
        open("/proc/self/exe", O_RDONLY | O_CLOEXEC),
        open("/dev/null", O_RDONLY | O_CLOEXEC),
        open(Cgroup2Mount().empty() ? "/nonexistent" : Cgroup2Mount().c_str(),
             O_RDONLY | O_DIRECTORY | O_CLOEXEC),
        open("/sys/fs/cgroup/cpu", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    v.push_back(-1);
    v.push_back(1 << 20);
    return v;
  }();
  return slot < fds.size() ? fds[slot] : -1;
}

// A local storage map's BTF (map_create's btf_fd): u32 (1), u64 (2),
// struct bpf_spin_lock (3), struct locked { bpf_spin_lock lock; u64 v; }
// (4, 16 bytes), struct bpf_timer (5), struct timed { bpf_timer t; u64 v; }
// (6, 24 bytes), unsigned char (7) and an array of value_size bytes (8).
constexpr uint32_t kStorageU32 = 1, kStorageU64 = 2, kStorageLocked = 4,
                   kStorageTimed = 6, kStorageBytes = 8;
std::vector<uint8_t> StorageBtf(uint32_t value_size) {
  btftest::Blob b;
  const uint32_t u32 = b.Int("unsigned int", 4, 32);
  const uint32_t u64 = b.Int("unsigned long", 8, 64);
  const uint32_t lock = b.Struct("bpf_spin_lock", 4, {{"val", u32, 0}});
  b.Struct("locked", 16, {{"lock", lock, 0}, {"v", u64, 64}});
  const uint32_t timer =
      b.Struct("bpf_timer", 16, {{"a", u64, 0}, {"b", u64, 64}});
  b.Struct("timed", 24, {{"t", timer, 0}, {"v", u64, 128}});
  const uint32_t byte = b.Int("unsigned char", 1, 8);
  b.Array(byte, u32, value_size);
  return b.Build();
}

const char* OpName(OpKind k) {
  switch (k) {
    case OpKind::kUpdate:
      return "update";
    case OpKind::kLookup:
      return "lookup";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kGetNextKey:
      return "get_next_key";
    case OpKind::kLookupAndDelete:
      return "lookup_and_delete";
    case OpKind::kProgLookup:
      return "prog_lookup";
    case OpKind::kUpdateBatch:
      return "update_batch";
    case OpKind::kDeleteBatch:
      return "delete_batch";
    case OpKind::kLookupBatch:
      return "lookup_batch";
    case OpKind::kLookupAndDeleteBatch:
      return "lookup_and_delete_batch";
    case OpKind::kFreeze:
      return "freeze";
  }
  return "?";
}

bool IsBatch(OpKind k) {
  return k == OpKind::kUpdateBatch || k == OpKind::kDeleteBatch ||
         k == OpKind::kLookupBatch || k == OpKind::kLookupAndDeleteBatch;
}

std::string OpLine(const Op& op) {
  std::string line = OpName(op.kind);
  if (op.kind == OpKind::kFreeze) {
    if (op.cpu != 0) line += absl::StrFormat(" cpu=%d", op.cpu);
    return line;
  }
  line += " key=" + (op.key.empty() ? std::string("null") : Hex(op.key));
  if (op.kind == OpKind::kUpdate || op.kind == OpKind::kUpdateBatch ||
      (op.kind == OpKind::kLookup && !op.value.empty())) {
    line += " value=" + Hex(op.value);
  }
  if (IsBatch(op.kind)) line += absl::StrFormat(" count=%u", op.count);
  if (op.kind != OpKind::kDelete && op.kind != OpKind::kGetNextKey &&
      op.kind != OpKind::kProgLookup) {
    line += absl::StrFormat(" flags=%#x", op.flags);
  }
  if (op.cpu != 0) line += absl::StrFormat(" cpu=%d", op.cpu);
  return line;
}

// Key number n as key_size bytes: little-endian n, then a fixed pattern
// derived from n so that longer keys differ beyond their first word.
std::vector<uint8_t> KeyBytes(uint32_t n, uint32_t key_size) {
  std::vector<uint8_t> key(key_size);
  for (uint32_t i = 0; i < key_size; ++i) {
    key[i] = i < 4 ? static_cast<uint8_t>(n >> (8 * i))
                   : static_cast<uint8_t>(n * 131 + i * 7);
  }
  return key;
}

// The output buffer of a lookup batch: count after (4 bytes), out_batch
// cursor (8), then `count` keys and `count` values.
// An LPM_TRIE key (struct bpf_lpm_trie_key_u8): a prefixlen in
// [0, data bits], now and then one past it (EINVAL on update and delete),
// and data bytes from a small alphabet, so that prefixes nest and collide
// and the bits past a prefix (kept as given) vary.
std::vector<uint8_t> LpmKeyBytes(std::mt19937_64& gen, uint32_t key_size) {
  std::vector<uint8_t> key(key_size);
  const uint32_t max_prefixlen = (key_size - 4) * 8;
  const uint32_t len = absl::Bernoulli(gen, 0.03)
                           ? max_prefixlen + 1
                           : absl::Uniform<uint32_t>(gen, 0, max_prefixlen + 1);
  std::memcpy(key.data(), &len, 4);
  static constexpr uint8_t kBytes[] = {0x00, 0x0a, 0x80, 0xc0, 0xff};
  for (uint32_t i = 4; i < key_size; ++i) {
    key[i] = kBytes[absl::Uniform<size_t>(gen, 0, std::size(kBytes))];
  }
  return key;
}

size_t BatchOutSize(const MapAttr& attr, int num_cpus, uint32_t count) {
  return 12 +
         size_t{count} * (attr.key_size + SyscallValueSize(attr, num_cpus));
}

// Applies one op; fills `out` (value, next key, batch results) and returns
// the result.
int Apply(Backend& b, int fd, const MapAttr& attr, const Op& op,
          std::vector<uint8_t>* out) {
  const void* key = op.key.empty() ? nullptr : op.key.data();
  // A local storage key is an owner slot: the backends get its fd.
  int owner = -1;
  if (IsLocalStorage(attr.map_type) && op.key.size() == 4 &&
      !IsBatch(op.kind)) {
    uint32_t slot;
    std::memcpy(&slot, op.key.data(), 4);
    owner = OwnerFd(slot);
    key = &owner;
  }
  switch (op.kind) {
    case OpKind::kUpdateBatch:
    case OpKind::kDeleteBatch: {
      uint32_t count = op.count;
      const int rc =
          op.kind == OpKind::kUpdateBatch
              ? b.UpdateBatch(fd, key, op.value.data(), &count, op.flags, 0)
              : b.DeleteBatch(fd, key, &count, op.flags, 0);
      std::memcpy(out->data(), &count, sizeof(count));
      return rc;
    }
    case OpKind::kLookupBatch:
    case OpKind::kLookupAndDeleteBatch: {
      const int ncpus = b.NumPossibleCpus();
      out->assign(BatchOutSize(attr, ncpus, op.count), 0xa5);
      // The kernel reads key_size bytes of the cursor: zeros past the
      // op's bytes, never stack garbage.
      std::vector<uint8_t> cursor(std::max<size_t>(8, attr.key_size), 0);
      uint8_t* in_batch = cursor.data();
      if (key != nullptr) {
        std::memcpy(in_batch, key, std::min(op.key.size(), cursor.size()));
      }
      uint32_t count = op.count;
      uint8_t* keys = out->data() + 12;
      uint8_t* values = keys + size_t{op.count} * attr.key_size;
      const int rc =
          op.kind == OpKind::kLookupBatch
              ? b.LookupBatch(fd, key != nullptr ? in_batch : nullptr,
                              out->data() + 4, keys, values, &count, op.flags,
                              0)
              : b.LookupAndDeleteBatch(fd, key != nullptr ? in_batch : nullptr,
                                       out->data() + 4, keys, values, &count,
                                       op.flags, 0);
      std::memcpy(out->data(), &count, sizeof(count));
      return rc;
    }
    case OpKind::kUpdate:
      return b.Update(fd, key, op.value.data(), op.flags);
    case OpKind::kLookup:
      // A value given with a lookup is its input (a bloom filter's peek).
      std::copy(op.value.begin(), op.value.end(), out->begin());
      return b.Lookup(fd, key, out->data(), op.flags);
    case OpKind::kDelete:
      return b.Delete(fd, key);
    case OpKind::kGetNextKey:
      return b.GetNextKey(fd, key, out->data());
    case OpKind::kLookupAndDelete:
      return b.LookupAndDelete(fd, key, out->data(), op.flags);
    case OpKind::kFreeze:
      return b.Freeze(fd);
    case OpKind::kProgLookup: {
      uint64_t v = 0;
      int rc = b.ProgLookup(fd, key, static_cast<uint32_t>(op.key.size()), &v);
      std::memcpy(out->data(), &v, std::min(out->size(), sizeof(v)));
      return rc;
    }
  }
  return -EINVAL;
}

// The whole map in iteration order, as "key:value" strings (bounded, so a
// broken iteration cannot loop forever).
std::vector<std::string> Dump(Backend& b, int fd, const MapAttr& attr) {
  std::vector<std::string> out;
  std::vector<uint8_t> cur(attr.key_size), next(attr.key_size),
      value(SyscallValueSize(attr, b.NumPossibleCpus()));
  const void* prev = nullptr;
  const size_t limit = size_t{attr.max_entries} * 2 + 2;
  while (out.size() < limit && b.GetNextKey(fd, prev, next.data()) == 0) {
    int rc = b.Lookup(fd, next.data(), value.data(), 0);
    out.push_back(Hex(next) + ":" + (rc == 0 ? Hex(value) : ErrnoName(rc)));
    cur = next;
    prev = cur.data();
  }
  return out;
}

std::optional<Divergence> CompareDumps(Backend& a, int fd_a, Backend& b,
                                       int fd_b, const MapAttr& attr,
                                       size_t index) {
  std::vector<std::string> da = Dump(a, fd_a, attr), db = Dump(b, fd_b, attr);
  if (da == db) return std::nullopt;
  size_t i = 0;
  while (i < da.size() && i < db.size() && da[i] == db[i]) ++i;
  return Divergence{
      index, absl::StrFormat(
                 "contents differ at iteration position %d: %s has %s, %s has "
                 "%s (%d vs %d elements)",
                 i, a.name(), i < da.size() ? da[i] : "end", b.name(),
                 i < db.size() ? db[i] : "end", da.size(), db.size())};
}

}  // namespace

std::vector<uint32_t> StructOpsValueIds() {
  std::vector<uint32_t> ids;
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return ids;
  size_t n = 0;
  const StructOpsType* types = StructOpsTypes(&n);
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = btf->FindByNameKind(
        std::string("bpf_struct_ops_") + types[i].name, BTF_KIND_STRUCT);
    StructOpsDesc d;
    if (id > 0 && FindStructOpsValue(*btf, TargetKernel(),
                                     static_cast<uint32_t>(id), &d)) {
      ids.push_back(static_cast<uint32_t>(id));
    }
  }
  return ids;
}

MapAttr LocalStorageAttr(uint32_t type, uint32_t value_size, bool spin_lock) {
  MapAttr a;
  a.map_type = type;
  a.key_size = 4;
  a.value_size = spin_lock ? 16 : value_size;
  a.map_flags = BPF_F_NO_PREALLOC;
  a.btf_key_type_id = kStorageU32;
  a.btf_value_type_id = spin_lock ? kStorageLocked : kStorageBytes;
  return a;
}

uint32_t SyscallValueSize(const MapAttr& attr, int num_cpus) {
  switch (attr.map_type) {
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return (attr.value_size + 7) / 8 * 8 * static_cast<uint32_t>(num_cpus);
    default:
      return attr.value_size;
  }
}

const char* MapTypeName(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_HASH:
      return "HASH";
    case BPF_MAP_TYPE_ARRAY:
      return "ARRAY";
    case BPF_MAP_TYPE_PERCPU_HASH:
      return "PERCPU_HASH";
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      return "PERCPU_ARRAY";
    case BPF_MAP_TYPE_LRU_HASH:
      return "LRU_HASH";
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      return "LRU_PERCPU_HASH";
    case BPF_MAP_TYPE_RINGBUF:
      return "RINGBUF";
    case BPF_MAP_TYPE_USER_RINGBUF:
      return "USER_RINGBUF";
    case BPF_MAP_TYPE_PROG_ARRAY:
      return "PROG_ARRAY";
    case BPF_MAP_TYPE_SOCKMAP:
      return "SOCKMAP";
    case BPF_MAP_TYPE_SOCKHASH:
      return "SOCKHASH";
    case BPF_MAP_TYPE_QUEUE:
      return "QUEUE";
    case BPF_MAP_TYPE_STACK:
      return "STACK";
    case BPF_MAP_TYPE_BLOOM_FILTER:
      return "BLOOM_FILTER";
    case BPF_MAP_TYPE_STACK_TRACE:
      return "STACK_TRACE";
    case BPF_MAP_TYPE_LPM_TRIE:
      return "LPM_TRIE";
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return "PERF_EVENT_ARRAY";
    case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
      return "REUSEPORT_SOCKARRAY";
    case BPF_MAP_TYPE_XSKMAP:
      return "XSKMAP";
    case BPF_MAP_TYPE_CGROUP_ARRAY:
      return "CGROUP_ARRAY";
    case BPF_MAP_TYPE_CGROUP_STORAGE:
      return "CGROUP_STORAGE";
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return "PERCPU_CGROUP_STORAGE";
    case BPF_MAP_TYPE_DEVMAP:
      return "DEVMAP";
    case BPF_MAP_TYPE_DEVMAP_HASH:
      return "DEVMAP_HASH";
    case BPF_MAP_TYPE_CPUMAP:
      return "CPUMAP";
    case BPF_MAP_TYPE_STRUCT_OPS:
      return "STRUCT_OPS";
    case BPF_MAP_TYPE_SK_STORAGE:
      return "SK_STORAGE";
    case BPF_MAP_TYPE_TASK_STORAGE:
      return "TASK_STORAGE";
    case BPF_MAP_TYPE_INODE_STORAGE:
      return "INODE_STORAGE";
    case kBpfMapTypeCgrpStorage:
      return "CGRP_STORAGE";
    default:
      return "OTHER";
  }
}

std::string Sequence::Trace() const {
  std::string s = absl::StrFormat(
      "create type=%u key_size=%u value_size=%u max_entries=%u flags=%#x",
      attr.map_type, attr.key_size, attr.value_size, attr.max_entries,
      attr.map_flags);
  if (attr.map_extra != 0)
    s += absl::StrFormat(" map_extra=%#x", attr.map_extra);
  if (attr.btf_vmlinux_value_type_id != 0) {
    s += absl::StrFormat(" btf_vmlinux_value_type_id=%u",
                         attr.btf_vmlinux_value_type_id);
  }
  if (attr.btf_key_type_id != 0 || attr.btf_value_type_id != 0) {
    s += absl::StrFormat(" btf_key_type_id=%u btf_value_type_id=%u",
                         attr.btf_key_type_id, attr.btf_value_type_id);
  }
  s += "\n";
  for (const Op& op : ops) s += OpLine(op) + "\n";
  return s;
}

Sequence GenerateSequence(const MapAttr& attr, const GeneratorOptions& opts) {
  std::seed_seq seq{static_cast<uint32_t>(opts.seed),
                    static_cast<uint32_t>(opts.seed >> 32)};
  // Not absl::BitGen: it salts its seed per process, and a campaign must
  // generate the same sequences in every process (shards, --jobs, reruns).
  std::mt19937_64 gen(seq);
  Sequence out;
  out.attr = attr;
  out.ops.reserve(opts.num_ops);
  const bool lpm = attr.map_type == BPF_MAP_TYPE_LPM_TRIE && attr.key_size > 4;
  auto random_key = [&] {
    if (lpm) return LpmKeyBytes(gen, attr.key_size);
    return KeyBytes(absl::Uniform<uint32_t>(gen, 0, opts.key_range),
                    attr.key_size);
  };
  // A bloom filter is keyed by its values: pushes and peeks draw them from
  // key_range values, so peeks hit what was pushed and, in a small filter,
  // the kernel's false positives.
  const bool bloom = attr.map_type == BPF_MAP_TYPE_BLOOM_FILTER;
  const bool redirect = attr.map_type == BPF_MAP_TYPE_DEVMAP ||
                        attr.map_type == BPF_MAP_TYPE_DEVMAP_HASH ||
                        attr.map_type == BPF_MAP_TYPE_CPUMAP;
  const bool struct_ops = attr.map_type == BPF_MAP_TYPE_STRUCT_OPS;
  auto random_value = [&] {
    if (struct_ops) return StructOpsValueBytes(gen, attr);
    if (bloom) {
      return KeyBytes(absl::Uniform<uint32_t>(gen, 0, opts.key_range),
                      attr.value_size);
    }
    std::vector<uint8_t> value(SyscallValueSize(attr, opts.num_cpus));
    for (auto& byte : value) byte = absl::Uniform<uint8_t>(gen);
    // Device and CPU maps (struct bpf_devmap_val / bpf_cpumap_val): mostly
    // lo (ifindex 1) or a queue size of 0..64, and no program.
    if (redirect && value.size() >= 4 && absl::Bernoulli(gen, 0.8)) {
      const uint32_t first = attr.map_type == BPF_MAP_TYPE_CPUMAP
                                 ? absl::Uniform<uint32_t>(gen, 0, 65)
                                 : 1;
      std::memcpy(value.data(), &first, 4);
      if (value.size() >= 8 && absl::Bernoulli(gen, 0.7)) {
        std::memset(value.data() + 4, 0, 4);
      }
    }
    return value;
  };
  // Mostly valid flags, sometimes invalid ones (EINVAL paths).
  auto update_flags = [&]() -> uint64_t {
    static constexpr uint64_t kOdd[] = {3, BPF_F_LOCK, 8, uint64_t{1} << 32};
    if (absl::Bernoulli(gen, 0.9)) return absl::Uniform<uint64_t>(gen, 0, 3);
    return kOdd[absl::Uniform<size_t>(gen, 0, 4)];
  };
  auto lookup_flags = [&]() -> uint64_t {
    if (absl::Bernoulli(gen, 0.95)) return 0;
    return absl::Bernoulli(gen, 0.5) ? 1 : BPF_F_LOCK;
  };
  const uint32_t value_bytes = SyscallValueSize(attr, opts.num_cpus);
  // Batch element flags: mostly 0, sometimes BPF_F_LOCK or junk (EINVAL).
  auto elem_flags = [&]() -> uint64_t {
    if (absl::Bernoulli(gen, 0.9)) return 0;
    return absl::Bernoulli(gen, 0.5) ? BPF_F_LOCK : 2;
  };
  // A batch capacity: usually a few elements, sometimes 0 or a whole map.
  auto batch_count = [&]() -> uint32_t {
    if (absl::Bernoulli(gen, 0.05)) return 0;
    if (absl::Bernoulli(gen, 0.1)) return attr.max_entries + 2;
    return absl::Uniform<uint32_t>(gen, 1, 9);
  };
  for (size_t i = 0; i < opts.num_ops; ++i) {
    Op op;
    op.cpu =
        static_cast<uint8_t>(absl::Uniform<uint32_t>(gen, 0, opts.op_cpus));
    const uint32_t pick =
        absl::Uniform<uint32_t>(gen, 0, opts.batch_ops ? 108 : 100);
    if (pick >= 100) {
      static constexpr OpKind kBatch[] = {
          OpKind::kUpdateBatch, OpKind::kDeleteBatch, OpKind::kLookupBatch,
          OpKind::kLookupAndDeleteBatch};
      op.kind = kBatch[(pick - 100) / 2];
      op.flags = elem_flags();
      if (op.kind == OpKind::kUpdateBatch || op.kind == OpKind::kDeleteBatch) {
        op.count = std::min<uint32_t>(batch_count(), 64);
        for (uint32_t k = 0; k < op.count; ++k) {
          const auto key = random_key();
          op.key.insert(op.key.end(), key.begin(), key.end());
        }
        if (op.kind == OpKind::kUpdateBatch) {
          op.value.resize(size_t{op.count} * value_bytes);
          for (auto& byte : op.value) byte = absl::Uniform<uint8_t>(gen);
        }
      } else {
        op.count = batch_count();
        // A cursor: the start (NULL), or a bucket index / key number.
        if (lpm && absl::Bernoulli(gen, 0.5)) {
          op.key = random_key();  // a prefix, present or not
        } else if (absl::Bernoulli(gen, 0.5)) {
          const uint32_t cursor =
              absl::Uniform<uint32_t>(gen, 0, attr.max_entries + 4);
          op.key.resize(4);
          std::memcpy(op.key.data(), &cursor, 4);
        }
      }
    } else if (opts.prog_lookups && pick >= 40 && pick < 55) {
      op.kind = OpKind::kProgLookup;
      op.key = random_key();
    } else if (pick < 40) {
      op.kind = OpKind::kUpdate;
      op.key = random_key();
      op.value = random_value();
      op.flags = update_flags();
    } else if (pick < 60) {
      op.kind = OpKind::kLookup;
      op.key = random_key();
      if (bloom) op.value = random_value();  // the peeked value
      op.flags = lookup_flags();
    } else if (pick < 75) {
      op.kind = OpKind::kDelete;
      op.key = random_key();
    } else if (pick < 90) {
      op.kind = OpKind::kGetNextKey;
      if (absl::Bernoulli(gen, 0.8)) op.key = random_key();
    } else {
      op.kind = OpKind::kLookupAndDelete;
      op.key = random_key();
      op.flags = lookup_flags();
    }
    out.ops.push_back(std::move(op));
  }
  if (opts.freeze && opts.num_ops > 0) {
    std::seed_seq freeze_seq{static_cast<uint32_t>(opts.seed),
                             static_cast<uint32_t>(opts.seed >> 32),
                             0x66727a6eu};
    std::mt19937_64 freeze_gen(freeze_seq);
    if (absl::Bernoulli(freeze_gen, 0.25)) {
      const size_t at =
          absl::Uniform<size_t>(freeze_gen, opts.num_ops / 2, opts.num_ops + 1);
      out.ops.insert(out.ops.begin() + static_cast<ptrdiff_t>(at),
                     Op{.kind = OpKind::kFreeze});
    }
  }
  return out;
}

MapAttr GenerateCreate(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed),
                    static_cast<uint32_t>(seed >> 32), 0x63726561u};
  // Not absl::BitGen: it salts its seed per process, and a campaign must
  // generate the same sequences in every process (shards, --jobs, reruns).
  std::mt19937_64 gen(seq);
  auto pick = [&](auto const& options) {
    return options[absl::Uniform<size_t>(gen, 0, std::size(options))];
  };
  static constexpr uint32_t kTypes[] = {BPF_MAP_TYPE_HASH,
                                        BPF_MAP_TYPE_ARRAY,
                                        BPF_MAP_TYPE_PERCPU_HASH,
                                        BPF_MAP_TYPE_PERCPU_ARRAY,
                                        BPF_MAP_TYPE_LRU_HASH,
                                        BPF_MAP_TYPE_LRU_PERCPU_HASH,
                                        BPF_MAP_TYPE_RINGBUF,
                                        BPF_MAP_TYPE_PROG_ARRAY,
                                        BPF_MAP_TYPE_SOCKMAP,
                                        BPF_MAP_TYPE_SOCKHASH,
                                        BPF_MAP_TYPE_QUEUE,
                                        BPF_MAP_TYPE_STACK,
                                        BPF_MAP_TYPE_BLOOM_FILTER,
                                        BPF_MAP_TYPE_STACK_TRACE,
                                        BPF_MAP_TYPE_LPM_TRIE,
                                        BPF_MAP_TYPE_USER_RINGBUF,
                                        BPF_MAP_TYPE_PERF_EVENT_ARRAY,
                                        BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
                                        BPF_MAP_TYPE_XSKMAP,
                                        BPF_MAP_TYPE_CGROUP_ARRAY,
                                        BPF_MAP_TYPE_CGROUP_STORAGE,
                                        BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
                                        BPF_MAP_TYPE_DEVMAP,
                                        BPF_MAP_TYPE_DEVMAP_HASH,
                                        BPF_MAP_TYPE_CPUMAP,
                                        BPF_MAP_TYPE_STRUCT_OPS,
                                        0 /* UNSPEC */,
                                        250 /* unknown */,
                                        BPF_MAP_TYPE_SK_STORAGE,
                                        BPF_MAP_TYPE_TASK_STORAGE,
                                        BPF_MAP_TYPE_INODE_STORAGE,
                                        kBpfMapTypeCgrpStorage};
  static constexpr uint32_t kKeySizes[] = {0, 1, 3, 4, 8, 64, 512, 513, 4096};
  static constexpr uint32_t kValueSizes[] = {
      0, 1, 4, 8, 64, 4096, 1u << 20, (1u << 22) + 1, 0x7fffffffu};
  static constexpr uint32_t kMaxEntries[] = {
      0, 1, 2, 63, 64, 4096, 65536, 1u << 20, 0x80000000u, 0xffffffffu};
  static constexpr uint32_t kFlags[] = {BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU,
                                        BPF_F_NUMA_NODE,   BPF_F_RDONLY,
                                        BPF_F_WRONLY,      BPF_F_ZERO_SEED,
                                        BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG,
                                        BPF_F_MMAPABLE,    BPF_F_INNER_MAP,
                                        1u << 30 /* unknown */};
  MapAttr a;
  a.map_type = pick(kTypes);
  // Mostly the sizes the type wants, so that later checks are reached.
  const bool natural = absl::Bernoulli(gen, 0.5);
  a.key_size = pick(kKeySizes);
  a.value_size = pick(kValueSizes);
  const bool bloom = a.map_type == BPF_MAP_TYPE_BLOOM_FILTER;
  // Both ring types share ringbuf_map_alloc's checks.
  const bool ring = a.map_type == BPF_MAP_TYPE_RINGBUF ||
                    a.map_type == BPF_MAP_TYPE_USER_RINGBUF;
  const bool keyless = ring || a.map_type == BPF_MAP_TYPE_QUEUE ||
                       a.map_type == BPF_MAP_TYPE_STACK || bloom;
  // The hash count in map_extra: 0 (5), 1..15, or an invalid one.
  if (bloom) a.map_extra = pick(std::array<uint64_t, 5>{0, 1, 5, 15, 16});
  if (natural) {
    a.key_size = keyless ? 0 : 4;
    a.value_size = ring ? 0
                   : a.map_type == BPF_MAP_TYPE_PROG_ARRAY ||
                           a.map_type == BPF_MAP_TYPE_SOCKMAP ||
                           a.map_type == BPF_MAP_TYPE_SOCKHASH ||
                           a.map_type == BPF_MAP_TYPE_XSKMAP ||
                           a.map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
                           a.map_type == BPF_MAP_TYPE_CGROUP_ARRAY
                       ? 4
                       : 8;
  }
  // Cgroup storages: struct bpf_cgroup_storage_key (16) or a u64 key, and
  // max_entries 0 (set below for natural attributes).
  const bool cgroup_storage = a.map_type == BPF_MAP_TYPE_CGROUP_STORAGE ||
                              a.map_type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
  if (cgroup_storage && natural) {
    a.key_size = pick(std::array<uint32_t, 2>{16, 8});
  }
  // LPM_TRIE: 4 + 1..256 bytes of key, and it insists on
  // BPF_F_NO_PREALLOC (added below for natural attributes).
  const bool lpm = a.map_type == BPF_MAP_TYPE_LPM_TRIE;
  if (lpm && natural) {
    a.key_size = pick(std::array<uint32_t, 4>{5, 8, 20, 260});
  }
  a.max_entries = pick(kMaxEntries);
  if (ring && absl::Bernoulli(gen, 0.5)) {
    a.max_entries = 4096u << absl::Uniform<uint32_t>(gen, 0, 4);
  }
  const int nflags = absl::Uniform<int>(gen, 0, 3);
  for (int i = 0; i < nflags; ++i) a.map_flags |= pick(kFlags);
  if (lpm && natural) a.map_flags |= BPF_F_NO_PREALLOC;
  if (cgroup_storage && natural) a.max_entries = 0;
  // Local storages: always BTF ids (without them every create stops at
  // the first check): mostly a u32 key and a value type of value_size
  // bytes, sometimes a u64 key, a spin lock value, a timer value (which
  // map_check_btf refuses here), a u64 value or none. Natural attributes:
  // the value type's size, max_entries 0, BPF_F_NO_PREALLOC, now and then
  // BPF_F_CLONE or another flag.
  if (IsLocalStorage(a.map_type)) {
    a.btf_key_type_id = pick(std::array<uint32_t, 6>{
        kStorageU32, kStorageU32, kStorageU32, kStorageU32, kStorageU64, 0});
    a.btf_value_type_id = pick(std::array<uint32_t, 8>{
        kStorageBytes, kStorageBytes, kStorageBytes, kStorageBytes,
        kStorageLocked, kStorageTimed, kStorageU64, 0});
    if (natural) {
      a.value_size = a.btf_value_type_id == kStorageLocked  ? 16
                     : a.btf_value_type_id == kStorageTimed ? 24
                     : a.btf_value_type_id == kStorageU64
                         ? 8
                         : pick(std::array<uint32_t, 7>{1, 8, 40, 4096, 65000,
                                                        65535, 65536});
      a.max_entries = 0;
      a.map_flags = BPF_F_NO_PREALLOC;
      if (absl::Bernoulli(gen, 0.2)) a.map_flags |= BPF_F_CLONE;
      if (absl::Bernoulli(gen, 0.1)) a.map_flags |= pick(kFlags);
    }
  }
  // STRUCT_OPS: btf_vmlinux_value_type_id names a registered type's value
  // struct of the kernel BTF, or (sometimes) another type of it, an id past
  // its end, or none; natural attributes take the value struct's size, one
  // entry, and BPF_F_LINK or BPF_F_VTYPE_BTF_OBJ_FD (with fd 0, never a
  // module's BTF) at times. Other types sometimes carry a value type id
  // too (map_create refuses it). RunLockstep gives each backend a BTF fd.
  const std::vector<uint32_t> so_ids = StructOpsValueIds();
  const bool struct_ops = a.map_type == BPF_MAP_TYPE_STRUCT_OPS;
  if (!so_ids.empty() && (struct_ops || absl::Bernoulli(gen, 0.03))) {
    const KernelBtf* btf = KernelBtf::Get();
    const uint32_t value_id = pick(so_ids);
    switch (absl::Uniform<int>(gen, 0, 8)) {
      case 0:
        a.btf_vmlinux_value_type_id = 0;
        break;
      case 1:
        a.btf_vmlinux_value_type_id = absl::Uniform<uint32_t>(
            gen, 1, btf->TypeCount() + 2);  // one past the end at most
        break;
      default:
        a.btf_vmlinux_value_type_id = value_id;
    }
    if (struct_ops && natural) {
      a.key_size = 4;
      a.value_size = static_cast<uint32_t>(btf->Size(value_id));
      a.max_entries = 1;
      a.map_flags =
          pick(std::array<uint32_t, 5>{0, 0, 0, kBpfFLink, kBpfFVtypeBtfObjFd});
    }
  }
  // The memory a successful create could take (per-CPU values on up to 64
  // CPUs, element overhead 64 bytes).
  const bool percpu = a.map_type == BPF_MAP_TYPE_PERCPU_HASH ||
                      a.map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                      a.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
                      a.map_type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
  // A bloom filter's bit array: up to 15 * 7 / 5 bits per entry rounded up
  // to a power of two, or 2^32 bits when that overflows.
  // An LPM trie allocates its nodes per update: nothing at creation.
  const double bytes =
      lpm    ? 0.0
      : ring ? double(a.max_entries)
      : bloom
          ? std::min(double(a.max_entries) * 21.0 * 2 / 8,
                     double(uint64_t{1} << 29))
          : double(a.max_entries) *
                (a.key_size + 64.0 + double(a.value_size) * (percpu ? 64 : 1));
  if (bytes > 16.0 * (1 << 20)) {
    if (ring) {
      a.value_size = 1;
    } else if (keyless) {
      a.value_size = 0;  // QUEUE / STACK / BLOOM refuse it before allocating
    } else {
      a.key_size = 0;
    }
  }
  return a;
}

// A create with a vmlinux value type needs a BTF object of the caller's
// (map_create's btf_fd): a one-int BTF loaded into `backend` for the
// create, then closed (the map keeps its own reference).
int CreateWithBtf(Backend& backend, const MapAttr& attr) {
  const bool storage_ids =
      attr.btf_key_type_id != 0 || attr.btf_value_type_id != 0;
  if (attr.btf_vmlinux_value_type_id == 0 && !storage_ids) {
    return backend.CreateMap(attr);
  }
  static const std::vector<uint8_t> one_int = btftest::OneInt();
  const std::vector<uint8_t> blob =
      storage_ids ? StorageBtf(attr.value_size) : one_int;
  const int btf =
      backend.LoadBtf(blob.data(), static_cast<uint32_t>(blob.size()));
  if (btf < 0) return btf;
  MapAttr with = attr;
  with.btf_fd = static_cast<uint32_t>(btf);
  const int fd = backend.CreateMap(with);
  backend.Close(btf);
  return fd;
}

std::optional<Divergence> RunLockstep(const Sequence& seq, Backend& a,
                                      Backend& b, size_t checkpoint) {
  const int fd_a = CreateWithBtf(a, seq.attr);
  const int fd_b = CreateWithBtf(b, seq.attr);
  auto close_both = [&] {
    if (fd_a >= 0) a.Close(fd_a);
    if (fd_b >= 0) b.Close(fd_b);
  };
  if (fd_a < 0 || fd_b < 0) {
    close_both();
    if ((fd_a < 0) != (fd_b < 0) || fd_a != fd_b) {
      return Divergence{
          0, absl::StrFormat("create: %s %s, %s %s", a.name(),
                             fd_a < 0 ? ErrnoName(fd_a) : "OK", b.name(),
                             fd_b < 0 ? ErrnoName(fd_b) : "OK")};
    }
    return std::nullopt;
  }
  if (a.NumPossibleCpus() != b.NumPossibleCpus()) {
    close_both();
    return Divergence{
        0, absl::StrFormat("possible CPUs: %s %d, %s %d", a.name(),
                           a.NumPossibleCpus(), b.name(), b.NumPossibleCpus())};
  }
  const size_t out_size = std::max<size_t>(
      {seq.attr.key_size, SyscallValueSize(seq.attr, a.NumPossibleCpus()), 8});
  std::optional<Divergence> result;
  int pinned = -1;
  for (size_t i = 0; i < seq.ops.size() && !result; ++i) {
    const Op& op = seq.ops[i];
    if (op.cpu != pinned) {
      pinned = op.cpu;
      if (a.PinCpu(pinned) != 0 || b.PinCpu(pinned) != 0) {
        result = Divergence{i, absl::StrFormat("cannot run on CPU %d", pinned)};
        break;
      }
    }
    std::vector<uint8_t> out_a(out_size, 0xa5), out_b(out_size, 0xa5);
    const int rc_a = Apply(a, fd_a, seq.attr, op, &out_a);
    const int rc_b = Apply(b, fd_b, seq.attr, op, &out_b);
    if (rc_a != rc_b) {
      result =
          Divergence{i, absl::StrFormat("%s: %s returned %s, %s returned %s",
                                        OpLine(op), a.name(), ErrnoName(rc_a),
                                        b.name(), ErrnoName(rc_b))};
    } else if (out_a != out_b) {
      result = Divergence{
          i, absl::StrFormat("%s: output %s from %s, %s from %s", OpLine(op),
                             Hex(out_a), a.name(), Hex(out_b), b.name())};
    } else if (checkpoint != 0 && (i + 1) % checkpoint == 0) {
      result = CompareDumps(a, fd_a, b, fd_b, seq.attr, i);
    }
  }
  if (!result)
    result = CompareDumps(a, fd_a, b, fd_b, seq.attr, seq.ops.size());
  a.PinCpu(-1);
  b.PinCpu(-1);
  close_both();
  return result;
}

Sequence Shrink(const Sequence& seq, Backend& a, Backend& b, int max_runs) {
  int runs = 0;
  auto diverges = [&](const std::vector<Op>& ops) {
    ++runs;
    return RunLockstep(Sequence{seq.attr, ops}, a, b, /*checkpoint=*/0)
        .has_value();
  };
  std::vector<Op> ops = seq.ops;
  // Nothing after the first divergence matters (found to within a
  // checkpoint window; the prefix up to that checkpoint still diverges).
  if (auto d = RunLockstep(seq, a, b, 64); d && d->op_index < ops.size()) {
    ops.resize(d->op_index + 1);
  }
  size_t n = 2;
  while (ops.size() >= 2 && runs < max_runs) {
    const size_t chunk = (ops.size() + n - 1) / n;
    bool reduced = false;
    for (size_t start = 0; start < ops.size(); start += chunk) {
      std::vector<Op> candidate(ops.begin(), ops.begin() + start);
      candidate.insert(candidate.end(),
                       ops.begin() + std::min(ops.size(), start + chunk),
                       ops.end());
      if (diverges(candidate)) {
        ops = std::move(candidate);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= ops.size()) break;
      n = std::min(ops.size(), n * 2);
    }
  }
  return Sequence{seq.attr, ops};
}

absl::StatusOr<Sequence> ParseTrace(const std::string& text, int num_cpus) {
  Sequence seq;
  bool have_create = false;
  std::istringstream lines(text);
  std::string line;
  int lineno = 0;
  while (std::getline(lines, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string verb, word;
    words >> verb;
    std::vector<std::pair<std::string, std::string>> fields;
    while (words >> word) {
      size_t eq = word.find('=');
      if (eq == std::string::npos) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "line %d: expected name=value, got '%s'", lineno, word));
      }
      fields.emplace_back(word.substr(0, eq), word.substr(eq + 1));
    }
    auto num = [&](const std::string& name, uint64_t* v) {
      for (auto& [k, s] : fields) {
        if (k == name) {
          *v = std::stoull(s, nullptr, 0);
          return true;
        }
      }
      return false;
    };
    auto bytes = [&](const std::string& name, std::vector<uint8_t>* v) {
      for (auto& [k, s] : fields) {
        if (k == name) return s == "null" ? (v->clear(), true) : ParseHex(s, v);
      }
      return false;
    };
    if (verb == "create") {
      uint64_t type, ks, vs, max, flags;
      if (!num("type", &type) || !num("key_size", &ks) ||
          !num("value_size", &vs) || !num("max_entries", &max) ||
          !num("flags", &flags)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("line %d: incomplete create", lineno));
      }
      seq.attr = MapAttr{};
      seq.attr.map_type = static_cast<uint32_t>(type);
      seq.attr.key_size = static_cast<uint32_t>(ks);
      seq.attr.value_size = static_cast<uint32_t>(vs);
      seq.attr.max_entries = static_cast<uint32_t>(max);
      seq.attr.map_flags = static_cast<uint32_t>(flags);
      uint64_t extra = 0, vmlinux = 0, key_id = 0, value_id = 0;
      num("map_extra", &extra);
      num("btf_vmlinux_value_type_id", &vmlinux);
      num("btf_key_type_id", &key_id);
      num("btf_value_type_id", &value_id);
      seq.attr.map_extra = extra;
      seq.attr.btf_vmlinux_value_type_id = static_cast<uint32_t>(vmlinux);
      seq.attr.btf_key_type_id = static_cast<uint32_t>(key_id);
      seq.attr.btf_value_type_id = static_cast<uint32_t>(value_id);
      have_create = true;
      continue;
    }
    Op op;
    static constexpr std::pair<const char*, OpKind> kVerbs[] = {
        {"update", OpKind::kUpdate},
        {"lookup", OpKind::kLookup},
        {"delete", OpKind::kDelete},
        {"get_next_key", OpKind::kGetNextKey},
        {"lookup_and_delete", OpKind::kLookupAndDelete},
        {"prog_lookup", OpKind::kProgLookup},
        {"update_batch", OpKind::kUpdateBatch},
        {"delete_batch", OpKind::kDeleteBatch},
        {"lookup_batch", OpKind::kLookupBatch},
        {"lookup_and_delete_batch", OpKind::kLookupAndDeleteBatch},
        {"freeze", OpKind::kFreeze}};
    auto it = std::find_if(std::begin(kVerbs), std::end(kVerbs),
                           [&](const auto& v) { return verb == v.first; });
    if (it == std::end(kVerbs)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: unknown operation '%s'", lineno, verb));
    }
    op.kind = it->second;
    if ((op.kind != OpKind::kFreeze && !bytes("key", &op.key)) ||
        ((op.kind == OpKind::kUpdate || op.kind == OpKind::kUpdateBatch) &&
         !bytes("value", &op.value))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: bad key or value", lineno));
    }
    if (op.kind == OpKind::kLookup) bytes("value", &op.value);
    num("flags", &op.flags);
    uint64_t count = 0;
    num("count", &count);
    op.count = static_cast<uint32_t>(count);
    uint64_t cpu = 0;
    num("cpu", &cpu);
    op.cpu = static_cast<uint8_t>(cpu);
    seq.ops.push_back(std::move(op));
  }
  if (!have_create) return absl::InvalidArgumentError("no create line");
  // Buffers are passed to the backends as they are: sizes must match.
  for (size_t i = 0; i < seq.ops.size(); ++i) {
    const Op& op = seq.ops[i];
    const size_t value_bytes = SyscallValueSize(seq.attr, num_cpus);
    bool sizes_ok;
    switch (op.kind) {
      case OpKind::kUpdateBatch:
        sizes_ok = op.key.size() == size_t{op.count} * seq.attr.key_size &&
                   op.value.size() == size_t{op.count} * value_bytes;
        break;
      case OpKind::kDeleteBatch:
        sizes_ok = op.key.size() == size_t{op.count} * seq.attr.key_size;
        break;
      case OpKind::kLookupBatch:
      case OpKind::kLookupAndDeleteBatch:
        sizes_ok = op.key.size() <= 8;
        break;
      default:
        sizes_ok = (op.key.empty() || op.key.size() == seq.attr.key_size) &&
                   (op.kind == OpKind::kUpdate || !op.value.empty()
                        ? op.value.size() == value_bytes
                        : true);
    }
    if (!sizes_ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "operation %d: key or value size does not match the map", i + 1));
    }
  }
  return seq;
}

}  // namespace bpfemu
