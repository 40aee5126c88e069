// SPDX-License-Identifier: Apache-2.0
#include "testing/kernel_backend.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/errno.h"

namespace bpfemu {
namespace {

// A BTF blob whose value type places a struct bpf_spin_lock at
// attr.spin_lock_off (the kernel's only way to learn of a spin lock), with
// the key as u32 or a byte array. Returns the loaded BTF's fd or -errno and
// the type ids.
int LoadSpinLockBtf(const MapAttr& a, uint32_t* key_id, uint32_t* value_id) {
  struct btf* btf = btf__new_empty();
  if (btf == nullptr) return -errno;
  const int u32_id = btf__add_int(btf, "unsigned int", 4, 0);
  const int u8_id = btf__add_int(btf, "unsigned char", 1, 0);
  const uint32_t off = static_cast<uint32_t>(a.spin_lock_off);
  const uint32_t rest = a.value_size - off - 4;
  int key =
      a.key_size == 4 ? u32_id : btf__add_array(btf, u32_id, u8_id, a.key_size);
  int pre = off > 0 ? btf__add_array(btf, u32_id, u8_id, off) : 0;
  int post = rest > 0 ? btf__add_array(btf, u32_id, u8_id, rest) : 0;
  int lock = btf__add_struct(btf, "bpf_spin_lock", 4);
  btf__add_field(btf, "val", u32_id, 0, 0);
  int value = btf__add_struct(btf, "bpfemu_value", a.value_size);
  if (pre > 0) btf__add_field(btf, "pre", pre, 0, 0);
  btf__add_field(btf, "lock", lock, off * 8, 0);
  if (post > 0) btf__add_field(btf, "post", post, (off + 4) * 8, 0);
  int err = key < 0 || value < 0 ? -EINVAL : btf__load_into_kernel(btf);
  int fd = err == 0 ? fcntl(btf__fd(btf), F_DUPFD_CLOEXEC, 3) : err;
  btf__free(btf);
  *key_id = static_cast<uint32_t>(key);
  *value_id = static_cast<uint32_t>(value);
  return fd;
}

int RawMapCreate(const MapAttr& a) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.map_type = a.map_type;
  attr.key_size = a.key_size;
  attr.value_size = a.value_size;
  attr.max_entries = a.max_entries;
  attr.map_flags = a.map_flags;
  attr.inner_map_fd = a.inner_map_fd;
  attr.numa_node = a.numa_node;
  std::memcpy(attr.map_name, a.map_name, sizeof(attr.map_name));
  attr.map_ifindex = a.map_ifindex;
  attr.btf_fd = a.btf_fd;
  attr.btf_key_type_id = a.btf_key_type_id;
  attr.btf_value_type_id = a.btf_value_type_id;
  attr.btf_vmlinux_value_type_id = a.btf_vmlinux_value_type_id;
  attr.map_extra = a.map_extra;
  // value_type_btf_obj_fd and map_token_fd (6.9+) follow map_extra; the
  // 6.1 UAPI header has no fields for them, so they go in by offset.
  const size_t vtype_off =
      offsetof(union bpf_attr, map_extra) + sizeof(attr.map_extra);
  const size_t token_off = vtype_off + sizeof(int32_t);
  static_assert(sizeof(union bpf_attr) >=
                8 + offsetof(union bpf_attr, map_extra) + 8);
  std::memcpy(reinterpret_cast<char*>(&attr) + vtype_off,
              &a.value_type_btf_obj_fd, sizeof(a.value_type_btf_obj_fd));
  std::memcpy(reinterpret_cast<char*>(&attr) + token_off, &a.map_token_fd,
              sizeof(a.map_token_fd));
  int btf_fd = -1;
  if (a.spin_lock_off >= 0) {
    btf_fd = LoadSpinLockBtf(a, &attr.btf_key_type_id, &attr.btf_value_type_id);
    if (btf_fd < 0) return btf_fd;
    attr.btf_fd = static_cast<uint32_t>(btf_fd);
  }
  long fd = syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
  int result = fd < 0 ? -errno : static_cast<int>(fd);
  if (btf_fd >= 0) close(btf_fd);  // the map holds its own reference
  return result;
}

std::string Probe() {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  // The conformance suites compare iteration order, which needs
  // BPF_F_ZERO_SEED and with it CAP_SYS_ADMIN.
  a.map_flags = BPF_F_ZERO_SEED;
  int fd = RawMapCreate(a);
  if (fd >= 0) {
    close(fd);
    return "";
  }
  return "bpf() unavailable: " + ErrnoName(fd) +
         " (kernel maps need root: CAP_BPF and CAP_SYS_ADMIN)";
}

}  // namespace

KernelBackend& KernelBackend::Get() {
  static auto* backend = new KernelBackend;
  return *backend;
}

std::string KernelBackend::Unavailable() {
  static const std::string reason = Probe();
  return reason;
}

int KernelBackend::NumPossibleCpus() { return libbpf_num_possible_cpus(); }

int KernelBackend::PinCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

int KernelBackend::CreateMap(const MapAttr& attr) { return RawMapCreate(attr); }

int KernelBackend::Lookup(int fd, const void* key, void* value,
                          uint64_t flags) {
  return bpf_map_lookup_elem_flags(fd, key, value, flags);
}

int KernelBackend::Update(int fd, const void* key, const void* value,
                          uint64_t flags) {
  return bpf_map_update_elem(fd, key, value, flags);
}

int KernelBackend::Delete(int fd, const void* key) {
  return bpf_map_delete_elem(fd, key);
}

int KernelBackend::GetNextKey(int fd, const void* key, void* next_key) {
  return bpf_map_get_next_key(fd, key, next_key);
}

int KernelBackend::LookupAndDelete(int fd, const void* key, void* value,
                                   uint64_t flags) {
  return bpf_map_lookup_and_delete_elem_flags(fd, key, value, flags);
}

int KernelBackend::LookupBatch(int fd, const void* in_batch, void* out_batch,
                               void* keys, void* values, uint32_t* count,
                               uint64_t elem_flags, uint64_t flags) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags,
              .flags = flags);
  return bpf_map_lookup_batch(fd, const_cast<void*>(in_batch), out_batch, keys,
                              values, count, &opts);
}

int KernelBackend::LookupAndDeleteBatch(int fd, const void* in_batch,
                                        void* out_batch, void* keys,
                                        void* values, uint32_t* count,
                                        uint64_t elem_flags, uint64_t flags) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags,
              .flags = flags);
  return bpf_map_lookup_and_delete_batch(fd, const_cast<void*>(in_batch),
                                         out_batch, keys, values, count, &opts);
}

int KernelBackend::UpdateBatch(int fd, const void* keys, const void* values,
                               uint32_t* count, uint64_t elem_flags,
                               uint64_t flags) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags,
              .flags = flags);
  return bpf_map_update_batch(fd, keys, values, count, &opts);
}

int KernelBackend::DeleteBatch(int fd, const void* keys, uint32_t* count,
                               uint64_t elem_flags, uint64_t flags) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags,
              .flags = flags);
  return bpf_map_delete_batch(fd, keys, count, &opts);
}

namespace {

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
              int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

// A 16-byte ld_imm64: dst = imm64, or a map fd / map value when src is
// BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE.
void LdImm64(std::vector<bpf_insn>* p, uint8_t dst, uint8_t src, uint64_t imm) {
  p->push_back(
      Insn(BPF_LD | BPF_DW | BPF_IMM, dst, src, 0, static_cast<int32_t>(imm)));
  p->push_back(Insn(0, 0, 0, 0, static_cast<int32_t>(imm >> 32)));
}

}  // namespace

int KernelBackend::LookupProgram(int fd) {
  if (auto it = lookup_progs_.find(fd); it != lookup_progs_.end()) {
    return it->second;
  }
  if (result_fd_ < 0) {
    result_fd_ =
        bpf_map_create(BPF_MAP_TYPE_ARRAY, "bpfemu_result", 4, 8, 1, nullptr);
    if (result_fd_ < 0) return result_fd_;
  }
  // The key arrives in __sk_buff.cb[0..1] (ctx_in), so one program per map
  // serves every lookup:
  //   key = cb[0] | cb[1] << 32; r0 = bpf_map_lookup_elem(map, &key);
  //   if (r0) { result[0] = *(u64 *)r0; return 42; } return 1;
  const int16_t cb0 = offsetof(__sk_buff, cb[0]);
  const int16_t cb1 = offsetof(__sk_buff, cb[1]);
  std::vector<bpf_insn> p;
  p.push_back(Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, cb0, 0));
  p.push_back(Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, cb1, 0));
  p.push_back(Insn(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_4, 0, 0, 32));
  p.push_back(Insn(BPF_ALU64 | BPF_OR | BPF_X, BPF_REG_3, BPF_REG_4, 0, 0));
  LdImm64(&p, BPF_REG_9, BPF_PSEUDO_MAP_VALUE,
          static_cast<uint32_t>(result_fd_));
  LdImm64(&p, BPF_REG_1, BPF_PSEUDO_MAP_FD, static_cast<uint32_t>(fd));
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0));
  p.push_back(Insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8));
  p.push_back(Insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_3, 0, 0));
  p.push_back(Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem));
  p.push_back(Insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 4, 0));
  p.push_back(Insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0, 0, 0));
  p.push_back(Insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_9, BPF_REG_1, 0, 0));
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 42));
  p.push_back(Insn(BPF_JMP | BPF_JA, 0, 0, 1, 0));
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
  p.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bpfemu_lookup", "GPL",
                           p.data(), p.size(), nullptr);
  if (prog >= 0) lookup_progs_[fd] = prog;
  return prog;
}

int KernelBackend::ProgLookup(int fd, const void* key, uint32_t key_size,
                              uint64_t* value8) {
  if (key_size > 8) return -EINVAL;
  const int prog = LookupProgram(fd);
  if (prog < 0) return prog;
  uint64_t k = 0;
  std::memcpy(&k, key, key_size);
  __sk_buff ctx{};
  ctx.cb[0] = static_cast<uint32_t>(k);
  ctx.cb[1] = static_cast<uint32_t>(k >> 32);
  uint8_t packet[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
              .data_size_in = sizeof(packet), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1);
  if (int err = bpf_prog_test_run_opts(prog, &run); err != 0) return err;
  if (run.retval != 42) return -ENOENT;
  uint32_t zero = 0;
  return bpf_map_lookup_elem(result_fd_, &zero, value8);
}

int KernelBackend::UpdateProgram(int fd) {
  if (auto it = update_progs_.find(fd); it != update_progs_.end()) {
    return it->second;
  }
  // key = cb[0] | cb[1] << 32, value = cb[2] | cb[3] << 32;
  // return bpf_map_update_elem(map, &key, &value, BPF_ANY);
  const int16_t cb[4] = {offsetof(__sk_buff, cb[0]), offsetof(__sk_buff, cb[1]),
                         offsetof(__sk_buff, cb[2]),
                         offsetof(__sk_buff, cb[3])};
  std::vector<bpf_insn> p;
  for (int half = 0; half < 2; ++half) {
    const uint8_t lo = half == 0 ? BPF_REG_6 : BPF_REG_7;
    p.push_back(
        Insn(BPF_LDX | BPF_MEM | BPF_W, lo, BPF_REG_1, cb[2 * half], 0));
    p.push_back(Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_8, BPF_REG_1,
                     cb[2 * half + 1], 0));
    p.push_back(Insn(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_8, 0, 0, 32));
    p.push_back(Insn(BPF_ALU64 | BPF_OR | BPF_X, lo, BPF_REG_8, 0, 0));
  }
  p.push_back(Insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_6, -8, 0));
  p.push_back(Insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_7, -16, 0));
  LdImm64(&p, BPF_REG_1, BPF_PSEUDO_MAP_FD, static_cast<uint32_t>(fd));
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0));
  p.push_back(Insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8));
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0));
  p.push_back(Insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -16));
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, BPF_ANY));
  p.push_back(Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem));
  p.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  const int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bpfemu_update",
                                 "GPL", p.data(), p.size(), nullptr);
  if (prog >= 0) update_progs_[fd] = prog;
  return prog;
}

int KernelBackend::ProgUpdate(int fd, uint64_t key, uint64_t value) {
  const int prog = UpdateProgram(fd);
  if (prog < 0) return prog;
  __sk_buff ctx{};
  ctx.cb[0] = static_cast<uint32_t>(key);
  ctx.cb[1] = static_cast<uint32_t>(key >> 32);
  ctx.cb[2] = static_cast<uint32_t>(value);
  ctx.cb[3] = static_cast<uint32_t>(value >> 32);
  uint8_t packet[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
              .data_size_in = sizeof(packet), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1);
  if (int err = bpf_prog_test_run_opts(prog, &run); err != 0) return err;
  return static_cast<int>(run.retval);
}

int KernelBackend::GetMapInfo(int fd, MapInfo* info) {
  // struct bpf_map_info as 6.9+ lays it out: btf_vmlinux_id sits in the
  // padding after btf_value_type_id of the 6.1 UAPI header, and hash and
  // hash_size (6.18) follow map_extra. An older kernel accepts the longer
  // buffer (zero tail) and leaves what it does not know zero.
  struct {
    bpf_map_info info;
    uint64_t hash;
    uint32_t hash_size, pad;
  } buf{};
  static_assert(sizeof(buf) == 104);
  uint32_t len = sizeof(buf);
  if (int err = bpf_obj_get_info_by_fd(fd, &buf, &len); err != 0) return err;
  const bpf_map_info& raw = buf.info;
  uint32_t vmlinux_id = 0;
  std::memcpy(&vmlinux_id,
              reinterpret_cast<const char*>(&raw) +
                  offsetof(bpf_map_info, btf_value_type_id) + 4,
              sizeof(vmlinux_id));
  *info = MapInfo{raw.type,
                  raw.key_size,
                  raw.value_size,
                  raw.max_entries,
                  raw.map_flags,
                  raw.id,
                  raw.btf_vmlinux_value_type_id,
                  vmlinux_id};
  return 0;
}

int KernelBackend::GetFdById(uint32_t id, uint32_t open_flags) {
  LIBBPF_OPTS(bpf_get_fd_by_id_opts, opts, .open_flags = open_flags);
  return bpf_map_get_fd_by_id_opts(id, &opts);
}

int KernelBackend::Freeze(int fd) { return bpf_map_freeze(fd); }

int64_t KernelBackend::FdinfoValue(int fd, const char* name) {
  const std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return -errno;
  const size_t n = std::strlen(name);
  char line[256];
  int64_t value = -EINVAL;
  while (value < 0 && std::fgets(line, sizeof(line), f) != nullptr) {
    long long v;
    if (std::strncmp(line, name, n) == 0 && line[n] == ':' &&
        std::sscanf(line + n + 1, "%lld", &v) == 1) {
      value = v;
    }
  }
  std::fclose(f);
  return value;
}

int KernelBackend::Frozen(int fd) {
  const int64_t frozen = FdinfoValue(fd, "frozen");  // not a map: -EINVAL
  return frozen < 0 ? static_cast<int>(frozen) : frozen != 0;
}

int KernelBackend::Mmap(int fd, size_t length, int prot, int flags,
                        uint64_t offset, void** addr) {
  *addr = mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
  if (*addr == MAP_FAILED) {
    *addr = nullptr;
    return -errno;
  }
  return 0;
}

int KernelBackend::MmapAt(int fd, void* hint, size_t length, int prot,
                          int flags, uint64_t offset, void** addr) {
  *addr = mmap(hint, length, prot, flags, fd, static_cast<off_t>(offset));
  if (*addr == MAP_FAILED) {
    *addr = nullptr;
    return -errno;
  }
  return 0;
}

int KernelBackend::OpenPerfEvent(int cpu, uint64_t config) {
  struct perf_event_attr attr {};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = config;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  const long fd = syscall(__NR_perf_event_open, &attr, cpu < 0 ? 0 : -1, cpu,
                          -1, PERF_FLAG_FD_CLOEXEC);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

int KernelBackend::ClosePerfEvent(int fd) {
  return close(fd) == 0 ? 0 : -errno;
}

int KernelBackend::LoadBtf(const void* blob, uint32_t size) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.btf = reinterpret_cast<uintptr_t>(blob);
  attr.btf_size = size;
  const long fd = syscall(__NR_bpf, BPF_BTF_LOAD, &attr, sizeof(attr));
  return fd < 0 ? -errno : static_cast<int>(fd);
}

int KernelBackend::Dup(int fd) {
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return copy >= 0 ? copy : -errno;
}

int KernelBackend::Close(int fd) {
  // Lookup and update programs hold a reference to the map: drop them with
  // the fd.
  for (auto* progs : {&lookup_progs_, &update_progs_}) {
    if (auto it = progs->find(fd); it != progs->end()) {
      close(it->second);
      progs->erase(it);
    }
  }
  return close(fd) == 0 ? 0 : -errno;
}

}  // namespace bpfemu
