// SPDX-License-Identifier: Apache-2.0
// BTF objects on the kernel and on the emulator (emu/btf.h): every BTF blob
// of emu/btf_blobs.h (valid, and each class of invalid: header, sections,
// strings, kinds, names, sizes, unresolvable ids, loops, depth) loaded with
// BPF_BTF_LOAD on both sides must give the same errno; so must the
// attribute and log rules, BPF_OBJ_GET_INFO_BY_FD on a BTF fd, and
// BPF_MAP_CREATE with btf_fd / btf_key_type_id / btf_value_type_id
// (kernel/bpf/syscall.c map_check_btf and the types' map_check_btf ops).
// The kernel side uses bpf(2) directly (the attr as Linux 6.4+ lays it out).
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/btf.h"
#include "emu/btf_blobs.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

using btftest::Blob;

// union bpf_attr's BPF_BTF_LOAD part, Linux 6.9 layout.
struct KBtfLoadAttr {
  uint64_t btf, btf_log_buf;
  uint32_t btf_size, btf_log_size, btf_log_level, btf_log_true_size;
  uint32_t btf_flags;
  int32_t btf_token_fd;
};

int Sys(int cmd, void* attr, size_t size) {
  const long r = syscall(__NR_bpf, cmd, attr, size);
  return r < 0 ? -errno : static_cast<int>(r);
}

int KernelLoad(const BtfLoadAttr& a, uint32_t* true_size = nullptr) {
  KBtfLoadAttr k = {};
  k.btf = reinterpret_cast<uint64_t>(a.btf);
  k.btf_log_buf = reinterpret_cast<uint64_t>(a.log_buf);
  k.btf_size = a.btf_size;
  k.btf_log_size = a.log_size;
  k.btf_log_level = a.log_level;
  k.btf_flags = a.btf_flags;
  k.btf_token_fd = a.btf_token_fd;
  const int r = Sys(BPF_BTF_LOAD, &k, sizeof(k));
  if (true_size != nullptr) *true_size = k.btf_log_true_size;
  return r;
}

BtfLoadAttr AttrOf(const std::vector<uint8_t>& blob) {
  BtfLoadAttr a;
  a.btf = blob.data();
  a.btf_size = static_cast<uint32_t>(blob.size());
  return a;
}

// The result as an errno (0 for a new fd, which is closed).
int KernelErr(int r) {
  if (r >= 0) close(r);
  return r < 0 ? r : 0;
}
int EmuErr(int r) {
  if (r >= 0) CloseFd(r);
  return r < 0 ? r : 0;
}

using BtfCompareTest = KernelTest<>;

TEST_F(BtfCompareTest, EveryBlobGivesTheKernelsErrno) {
  int same = 0, total = 0;
  for (const btftest::LoadCase& c : btftest::LoadCases()) {
    const BtfLoadAttr a = AttrOf(c.blob);
    const int k = KernelErr(KernelLoad(a));
    const int e = EmuErr(BtfLoad(a));
    EXPECT_EQ(e, k) << c.name;
    EXPECT_EQ(k, c.want) << c.name << " (the table's expectation)";
    same += e == k;
    ++total;
  }
  std::printf("BTF_LOAD cases: %d of %d equal to the kernel\n", same, total);
}

TEST_F(BtfCompareTest, AttributesAndLog) {
  const std::vector<uint8_t> blob = btftest::OneInt();
  char klog[4096], elog[4096];
  struct Variant {
    const char* name;
    void (*set)(BtfLoadAttr*);
  };
  const Variant variants[] = {
      {"plain", [](BtfLoadAttr*) {}},
      {"too_big", [](BtfLoadAttr* a) { a->btf_size = kBtfMaxSize + 1; }},
      {"null_blob", [](BtfLoadAttr* a) { a->btf = nullptr; }},
      {"null_empty",
       [](BtfLoadAttr* a) {
         a->btf = nullptr;
         a->btf_size = 0;
       }},
      {"bad_flags", [](BtfLoadAttr* a) { a->btf_flags = 1; }},
      {"token_bad_fd",
       [](BtfLoadAttr* a) {
         a->btf_flags = kBpfFTokenFd;
         a->btf_token_fd = 1 << 20;
       }},
      {"token_not_token",
       [](BtfLoadAttr* a) {
         a->btf_flags = kBpfFTokenFd;
         a->btf_token_fd = 0;
       }},
      {"log_size_without_buf",
       [](BtfLoadAttr* a) {
         a->log_buf = nullptr;
         a->log_level = 1;
       }},
      {"log_buf_without_level", [](BtfLoadAttr* a) { a->log_level = 0; }},
      {"log_level_fixed", [](BtfLoadAttr* a) { a->log_level = 1 | 8; }},
      {"log_level_16", [](BtfLoadAttr* a) { a->log_level = 16; }},
      {"log_level_only",
       [](BtfLoadAttr* a) {
         a->log_buf = nullptr;
         a->log_size = 0;
         a->log_level = 1;
       }},
      {"log_huge", [](BtfLoadAttr* a) { a->log_size = 1u << 30; }},
      {"log_ok", [](BtfLoadAttr*) {}},
  };
  for (const Variant& v : variants) {
    BtfLoadAttr a = AttrOf(blob);
    a.log_level = 1;
    a.log_size = sizeof(klog);
    a.log_buf = klog;
    if (std::strcmp(v.name, "plain") == 0) {
      a.log_level = 0;
      a.log_size = 0;
      a.log_buf = nullptr;
    }
    v.set(&a);
    std::memset(klog, 0, sizeof(klog));
    const int k = KernelErr(KernelLoad(a));
    if (a.log_buf != nullptr) a.log_buf = elog;
    std::memset(elog, 0, sizeof(elog));
    const int e = EmuErr(BtfLoad(a));
    EXPECT_EQ(e, k) << v.name;
    if (std::strcmp(v.name, "log_ok") == 0) {
      // The first line is the header's magic.
      const std::string kl(klog), el(elog);
      EXPECT_EQ(el.substr(0, el.find('\n')), kl.substr(0, kl.find('\n')));
    }
  }
}

TEST_F(BtfCompareTest, InfoByFd) {
  const std::vector<uint8_t> blob = btftest::OneInt();
  const int kfd = KernelLoad(AttrOf(blob));
  ASSERT_GE(kfd, 0);
  const int efd = BtfLoad(AttrOf(blob));
  ASSERT_GE(efd, 0);
  auto kinfo = [&](void* info, uint32_t* len) {
    bpf_attr a = {};
    a.info.bpf_fd = static_cast<uint32_t>(kfd);
    a.info.info_len = *len;
    a.info.info = reinterpret_cast<uint64_t>(info);
    const int r = Sys(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
    *len = a.info.info_len;
    return r;
  };
  struct Shape {
    const char* name;
    uint32_t len;
    uint32_t btf_size;
    uint32_t name_len;
    bool name_ptr;
    bool tail_nonzero;
  };
  const Shape shapes[] = {
      {"full", 32, 0, 0, false, false},
      {"short", 8, 0, 0, false, false},
      {"blob_cut", 32, 8, 0, false, false},
      {"blob_whole", 32, 4096, 0, false, false},
      {"name_ptr_only", 32, 0, 0, true, false},
      {"name_len_only", 32, 0, 4, false, false},
      {"name_both", 32, 0, 4, true, false},
      {"name_len_1", 32, 0, 1, true, false},
      {"long_zero_tail", 48, 0, 0, false, false},
      {"long_nonzero_tail", 48, 0, 0, false, true},
  };
  for (const Shape& s : shapes) {
    uint8_t kbuf[48] = {}, ebuf[48] = {};
    std::vector<uint8_t> kblob(4096, 0xee), eblob(4096, 0xee);
    char kname[8] = "zzzzzzz", ename[8] = "zzzzzzz";
    auto fill = [&](uint8_t* buf, uint8_t* b, char* n) {
      BpfBtfInfo in = {};
      in.btf = s.btf_size ? reinterpret_cast<uint64_t>(b) : 0;
      in.btf_size = s.btf_size;
      in.name = s.name_ptr ? reinterpret_cast<uint64_t>(n) : 0;
      in.name_len = s.name_len;
      std::memcpy(buf, &in, sizeof(in));
      if (s.tail_nonzero) buf[40] = 1;
    };
    fill(kbuf, kblob.data(), kname);
    fill(ebuf, eblob.data(), ename);
    uint32_t klen = s.len, elen = s.len;
    const int k = kinfo(kbuf, &klen);
    const int e = BtfGetInfoByFd(efd, ebuf, &elen);
    EXPECT_EQ(e, k) << s.name;
    if (k != 0) continue;
    EXPECT_EQ(elen, klen) << s.name;
    BpfBtfInfo ki = {}, ei = {};
    std::memcpy(&ki, kbuf, sizeof(ki));
    std::memcpy(&ei, ebuf, sizeof(ei));
    EXPECT_EQ(ei.btf_size, ki.btf_size) << s.name;
    EXPECT_EQ(ei.name_len, ki.name_len) << s.name;
    EXPECT_EQ(ei.kernel_btf, ki.kernel_btf) << s.name;
    EXPECT_EQ(ei.id != 0, ki.id != 0) << s.name;
    EXPECT_EQ(eblob, kblob) << s.name;
    EXPECT_EQ(std::string(ename, 8), std::string(kname, 8)) << s.name;
  }
  close(kfd);
  CloseFd(efd);
}

using btftest::MapBtf;

TEST_F(BtfCompareTest, MapCreateWithBtf) {
  const std::vector<uint8_t> blob = MapBtf();
  const int kbtf = KernelLoad(AttrOf(blob));
  ASSERT_GE(kbtf, 0);
  const int ebtf = BtfLoad(AttrOf(blob));
  ASSERT_GE(ebtf, 0);
  struct Case {
    const char* name;
    uint32_t type, key_size, value_size, max_entries, flags;
    uint32_t key_id, value_id;
    int btf_fd;  // -2: the loaded BTF; else a literal fd
    uint32_t map_extra = 0;
  };
  const Case cases[] = {
      {"hash_u32_u64", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 2, -2},
      {"hash_pair_value", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 3, -2},
      {"hash_value_size", BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 1, 2, -2},
      {"hash_key_size", BPF_MAP_TYPE_HASH, 8, 8, 4, 0, 1, 2, -2},
      {"hash_keyless", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0, 2, -2},
      {"hash_key_only", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 0, -2},
      {"hash_missing_id", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 99, -2},
      {"hash_value_datasec", BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 1, 5, -2},
      {"hash_value_var", BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 1, 4, -2},
      {"array_u32_key", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 1, 2, -2},
      {"array_struct_key", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 6, 2, -2},
      {"array_bss", BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, 5, -2},
      {"array_bss_two", BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0, 0, 5, -2},
      {"array_keyless_int", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, 0, 2, -2},
      {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0, 1, 2, -2},
      {"percpu_array_bss", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, 0, 0, 5, -2},
      {"lru_hash", BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0, 1, 2, -2},
      {"queue", BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0, 0, 2, -2},
      {"stack", BPF_MAP_TYPE_STACK, 0, 8, 4, 0, 0, 2, -2},
      {"bloom", BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 0, 2, -2},
      {"ringbuf", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, 2, -2},
      {"stack_trace", BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, 0, 1, 2, -2},
      {"perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0, 1, 1, -2},
      {"prog_array", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 1, 1, -2},
      {"lpm_pair_key", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 3, 2,
       -2},
      {"lpm_u64_key", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 2, 2,
       -2},
      {"spin_lock_hash", BPF_MAP_TYPE_HASH, 4, 16, 4, 0, 1, 7, -2},
      {"spin_lock_array", BPF_MAP_TYPE_ARRAY, 4, 16, 4, 0, 1, 7, -2},
      {"spin_lock_lru", BPF_MAP_TYPE_LRU_HASH, 4, 16, 4, 0, 1, 7, -2},
      {"spin_lock_rdonly_prog", BPF_MAP_TYPE_HASH, 4, 16, 4, BPF_F_RDONLY_PROG,
       1, 7, -2},
      {"timer_hash", BPF_MAP_TYPE_HASH, 4, 24, 4, 0, 1, 9, -2},
      {"timer_array", BPF_MAP_TYPE_ARRAY, 4, 24, 4, 0, 1, 9, -2},
      {"timer_lru", BPF_MAP_TYPE_LRU_HASH, 4, 24, 4, 0, 1, 9, -2},
      {"timer_percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 4, 0, 1, 9, -2},
      {"timer_percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 24, 4, 0, 1, 9, -2},
      {"timer_lru_percpu", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 24, 4, 0, 1, 9, -2},
      {"timer_bloom", BPF_MAP_TYPE_BLOOM_FILTER, 0, 24, 4, 0, 0, 9, -2},
      {"timer_rdonly_prog", BPF_MAP_TYPE_ARRAY, 4, 24, 4, BPF_F_RDONLY_PROG, 1,
       9, -2},
      {"timer_wronly_prog", BPF_MAP_TYPE_HASH, 4, 24, 4, BPF_F_WRONLY_PROG, 1,
       9, -2},
      {"timer_two", BPF_MAP_TYPE_HASH, 4, 32, 4, 0, 1, 10, -2},
      {"timer_two_array", BPF_MAP_TYPE_ARRAY, 4, 32, 4, 0, 1, 10, -2},
      {"timer_two_percpu", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 4, 0, 1, 10, -2},
      {"timer_two_lock_lru", BPF_MAP_TYPE_LRU_HASH, 4, 40, 4, 0, 1, 12, -2},
      {"timer_two_lock_rdonly", BPF_MAP_TYPE_HASH, 4, 40, 4, BPF_F_RDONLY_PROG,
       1, 12, -2},
      {"timer_bare_value", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 4, 0, 1, 8, -2},
      {"timer_lock_array", BPF_MAP_TYPE_ARRAY, 4, 24, 4, 0, 1, 11, -2},
      {"timer_lock_hash", BPF_MAP_TYPE_HASH, 4, 24, 4, 0, 1, 11, -2},
      {"timer_lock_lru", BPF_MAP_TYPE_LRU_HASH, 4, 24, 4, 0, 1, 11, -2},
      // tw50: a struct bpf_task_work (map_check_btf, btf_parse_fields).
      {"tw_hash", BPF_MAP_TYPE_HASH, 4, 24, 4, 0, 1, 14, -2},
      {"tw_array", BPF_MAP_TYPE_ARRAY, 4, 24, 4, 0, 1, 14, -2},
      {"tw_lru", BPF_MAP_TYPE_LRU_HASH, 4, 24, 4, 0, 1, 14, -2},
      {"tw_percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 4, 0, 1, 14, -2},
      {"tw_percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 24, 4, 0, 1, 14, -2},
      {"tw_lru_percpu", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 24, 4, 0, 1, 14, -2},
      {"tw_bloom", BPF_MAP_TYPE_BLOOM_FILTER, 0, 24, 4, 0, 0, 14, -2},
      {"tw_rdonly_prog", BPF_MAP_TYPE_ARRAY, 4, 24, 4, BPF_F_RDONLY_PROG, 1, 14,
       -2},
      {"tw_bare_hash", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 13, -2},
      {"tw_two_array", BPF_MAP_TYPE_ARRAY, 4, 16, 4, 0, 1, 15, -2},
      {"tw_two_hash", BPF_MAP_TYPE_HASH, 4, 16, 4, 0, 1, 15, -2},
      {"tw_at_4_array", BPF_MAP_TYPE_ARRAY, 4, 12, 4, 0, 1, 16, -2},
      {"tw_at_4_percpu", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 4, 0, 1, 16, -2},
      {"tw_timer_array", BPF_MAP_TYPE_ARRAY, 4, 24, 4, 0, 1, 17, -2},
      {"tw_timer_percpu", BPF_MAP_TYPE_PERCPU_HASH, 4, 24, 4, 0, 1, 17, -2},
      {"tw_two_lock_lru", BPF_MAP_TYPE_LRU_HASH, 4, 24, 4, 0, 1, 18, -2},
      {"tw_two_lock_rdonly", BPF_MAP_TYPE_HASH, 4, 24, 4, BPF_F_RDONLY_PROG, 1,
       18, -2},
      {"btf_fd_not_btf", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 2, 0},
      {"btf_fd_closed", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 1, 2, 1 << 20},
  };
  int same = 0, total = 0;
  for (const Case& c : cases) {
    MapAttr a;
    a.map_type = c.type;
    a.key_size = c.key_size;
    a.value_size = c.value_size;
    a.max_entries = c.max_entries;
    a.map_flags = c.flags;
    a.btf_key_type_id = c.key_id;
    a.btf_value_type_id = c.value_id;
    // The kernel side.
    bpf_attr k = {};
    k.map_type = a.map_type;
    k.key_size = a.key_size;
    k.value_size = a.value_size;
    k.max_entries = a.max_entries;
    k.map_flags = a.map_flags;
    k.btf_fd = static_cast<uint32_t>(c.btf_fd == -2 ? kbtf : c.btf_fd);
    k.btf_key_type_id = a.btf_key_type_id;
    k.btf_value_type_id = a.btf_value_type_id;
    const int kr = Sys(BPF_MAP_CREATE, &k, sizeof(k));
    uint32_t kbtf_id_reported = 0, kkey = 0, kval = 0;
    if (kr >= 0) {
      bpf_map_info info = {};
      bpf_attr ia = {};
      ia.info.bpf_fd = static_cast<uint32_t>(kr);
      ia.info.info_len = sizeof(info);
      ia.info.info = reinterpret_cast<uint64_t>(&info);
      EXPECT_EQ(Sys(BPF_OBJ_GET_INFO_BY_FD, &ia, sizeof(ia)), 0);
      kbtf_id_reported = info.btf_id;
      kkey = info.btf_key_type_id;
      kval = info.btf_value_type_id;
    }
    // The emulator side.
    a.btf_fd = static_cast<uint32_t>(c.btf_fd == -2 ? ebtf : c.btf_fd);
    const int er = MapCreate(a);
    uint32_t ebtf_id_reported = 0, ekey = 0, eval = 0;
    if (er >= 0) {
      BpfMapInfo info = {};
      uint32_t len = sizeof(info);
      EXPECT_EQ(MapGetInfoByFd(er, &info, &len), 0);
      ebtf_id_reported = info.btf_id;
      ekey = info.btf_key_type_id;
      eval = info.btf_value_type_id;
    }
    EXPECT_EQ(EmuErr(er), KernelErr(kr)) << c.name;
    EXPECT_EQ(ebtf_id_reported != 0, kbtf_id_reported != 0) << c.name;
    EXPECT_EQ(ekey, kkey) << c.name;
    EXPECT_EQ(eval, kval) << c.name;
    same += (er < 0 ? er : 0) == (kr < 0 ? kr : 0);
    ++total;
  }
  std::printf("BPF_MAP_CREATE with BTF: %d of %d equal to the kernel\n", same,
              total);
  close(kbtf);
  CloseFd(ebtf);
}

}  // namespace
}  // namespace bpfemu
