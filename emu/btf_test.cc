// SPDX-License-Identifier: Apache-2.0
// Emulated BTF objects (emu/btf.h): every BTF_LOAD case of btf_blobs.h
// answers the errno Linux 6.18 answers (kernel_compare/btf_compare_test.cc
// checks the same table against the kernel), the attribute and log rules,
// ids, fds, BPF_OBJ_GET_INFO_BY_FD, and BPF_MAP_CREATE with BTF.
#include "emu/btf.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using btftest::Blob;

int Load(const std::vector<uint8_t>& blob) {
  BtfLoadAttr a;
  a.btf = blob.data();
  a.btf_size = static_cast<uint32_t>(blob.size());
  return BtfLoad(a);
}

TEST(BtfLoadTest, EveryCaseAnswersTheKernelsErrno) {
  int checked = 0;
  for (const btftest::LoadCase& c : btftest::LoadCases()) {
    const int fd = Load(c.blob);
    EXPECT_EQ(fd < 0 ? fd : 0, c.want) << c.name;
    if (fd >= 0) {
      EXPECT_EQ(CloseFd(fd), 0);
    }
    ++checked;
  }
  EXPECT_GT(checked, 60);
}

// Random damage to every valid blob of the table (bit flips, byte
// overwrites, truncation) never crashes or leaks: each load answers an fd
// or a negative errno.
TEST(BtfLoadTest, MutatedBlobsNeverCrash) {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int loaded = 0, refused = 0;
  for (const btftest::LoadCase& c : btftest::LoadCases()) {
    if (c.want != 0 || c.blob.size() <= sizeof(btf_header)) continue;
    for (int i = 0; i < 3000; ++i) {
      std::vector<uint8_t> blob = c.blob;
      const int edits = 1 + static_cast<int>(next() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t at = sizeof(btf_header) / 2 +
                          next() % (blob.size() - sizeof(btf_header) / 2);
        switch (next() % 3) {
          case 0:
            blob[at] ^= static_cast<uint8_t>(1u << (next() % 8));
            break;
          case 1:
            blob[at] = static_cast<uint8_t>(next());
            break;
          case 2:
            blob.resize(at);
            break;
        }
        if (blob.size() <= sizeof(btf_header) / 2) break;
      }
      const int fd = Load(blob);
      if (fd >= 0) {
        ++loaded;
        EXPECT_EQ(CloseFd(fd), 0);
      } else {
        ++refused;
      }
    }
  }
  std::printf("mutated blobs: %d loaded, %d refused\n", loaded, refused);
  EXPECT_GT(refused, 0);
}

TEST(BtfLoadTest, AttributeRules) {
  const std::vector<uint8_t> blob = btftest::OneInt();
  BtfLoadAttr a;
  a.btf = blob.data();
  a.btf_size = static_cast<uint32_t>(blob.size());
  char log[4096];
  {
    BtfLoadAttr b = a;
    b.btf_size = kBtfMaxSize + 1;
    EXPECT_EQ(BtfLoad(b), -E2BIG);
  }
  {
    BtfLoadAttr b = a;
    b.btf = nullptr;
    EXPECT_EQ(BtfLoad(b), -EFAULT);
    b.btf_size = 0;
    EXPECT_EQ(BtfLoad(b), -EINVAL);  // nothing to copy: hdr_len not found
  }
  {
    BtfLoadAttr b = a;
    b.btf_flags = 1;
    EXPECT_EQ(BtfLoad(b), -EINVAL);
    b.btf_flags = kBpfFTokenFd;
    b.btf_token_fd = 1 << 20;
    EXPECT_EQ(BtfLoad(b), -EBADF);
  }
  {
    BtfLoadAttr b = a;
    b.log_buf = log;  // a buffer without a size
    b.log_level = 1;
    EXPECT_EQ(BtfLoad(b), -EINVAL);
    b.log_size = sizeof(log);
    b.log_level = 0;  // a buffer without a level
    EXPECT_EQ(BtfLoad(b), -EINVAL);
    b.log_level = 16;  // beyond BPF_LOG_MASK
    EXPECT_EQ(BtfLoad(b), -EINVAL);
    b.log_level = 1;
    uint32_t true_size = 0;
    const int fd = BtfLoad(b, &true_size);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(CloseFd(fd), 0);
    EXPECT_EQ(std::string(log).substr(0, 14), "magic: 0xeb9f\n");
    EXPECT_EQ(true_size, std::strlen(log) + 1);
    b.log_size = 8;  // the header lines do not fit: the tail is kept
    EXPECT_EQ(BtfLoad(b), -ENOSPC);
    EXPECT_EQ(std::string(log), "ze: 45\n");
    b.log_level = 1 | 8;  // BPF_LOG_FIXED: the head is kept
    EXPECT_EQ(BtfLoad(b), -ENOSPC);
    EXPECT_EQ(std::string(log), "magic: ");
  }
}

TEST(BtfLoadTest, SixOneTakesNoFlagsAndALogOfAtLeast128Bytes) {
  const std::vector<uint8_t> blob = btftest::OneInt();
  SetTargetKernel(KernelVersion::k6_1);
  BtfLoadAttr a;
  a.btf = blob.data();
  a.btf_size = static_cast<uint32_t>(blob.size());
  char log[256];
  a.log_buf = log;
  a.log_level = 1;
  a.log_size = 64;
  EXPECT_EQ(BtfLoad(a), -EINVAL);
  a.log_size = 128;
  const int fd = BtfLoad(a);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(CloseFd(fd), 0);
  a.btf_flags = kBpfFTokenFd;
  EXPECT_EQ(BtfLoad(a), -EINVAL);
  SetTargetKernel(KernelVersion::k6_18);
}

TEST(BtfObjectTest, IdsInfoAndFds) {
  const std::vector<uint8_t> blob = btftest::OneInt();
  const int fd = Load(blob);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(IsBtfFd(fd));
  BpfBtfInfo info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(BtfGetInfoByFd(fd, &info, &len), 0);
  EXPECT_EQ(len, sizeof(info));
  EXPECT_EQ(info.btf_size, blob.size());
  EXPECT_GT(info.id, 0u);
  EXPECT_EQ(info.name_len, 0u);
  EXPECT_EQ(info.kernel_btf, 0u);
  // The blob comes back, cut to the buffer.
  std::vector<uint8_t> back(8, 0xff);
  BpfBtfInfo small = {};
  small.btf = reinterpret_cast<uint64_t>(back.data());
  small.btf_size = 8;
  len = sizeof(small);
  ASSERT_EQ(BtfGetInfoByFd(fd, &small, &len), 0);
  EXPECT_EQ(small.btf_size, blob.size());
  EXPECT_EQ(0, std::memcmp(back.data(), blob.data(), 8));
  // A name pointer without a length, and the reverse.
  BpfBtfInfo bad = {};
  char name[4];
  bad.name = reinterpret_cast<uint64_t>(name);
  len = sizeof(bad);
  EXPECT_EQ(BtfGetInfoByFd(fd, &bad, &len), -EINVAL);
  // A shorter info copies that much; a longer one must be zero past 32.
  len = 8;
  BpfBtfInfo part = {};
  ASSERT_EQ(BtfGetInfoByFd(fd, &part, &len), 0);
  EXPECT_EQ(len, 8u);
  uint8_t big[40] = {};
  big[36] = 1;
  len = sizeof(big);
  EXPECT_EQ(BtfGetInfoByFd(fd, big, &len), -E2BIG);
  EXPECT_EQ(BtfGetInfoByFd(1 << 20, &info, &len), -EBADFD);
  EXPECT_EQ(BtfGetInfoByFd(0, &info, &len), -EINVAL);

  // The id walk and by-id fds.
  uint32_t next = 0;
  bool found = false;
  for (uint32_t id = 0; BtfGetNextId(id, &next) == 0; id = next) {
    found |= next == info.id;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(BtfGetNextId(INT32_MAX, &next), -EINVAL);
  const int again = BtfGetFdById(info.id);
  ASSERT_GE(again, 0);
  BpfBtfInfo info2 = {};
  len = sizeof(info2);
  ASSERT_EQ(BtfGetInfoByFd(again, &info2, &len), 0);
  EXPECT_EQ(info2.id, info.id);
  const int dup = DupBtfFd(fd, 100);
  EXPECT_GE(dup, 100);
  EXPECT_EQ(CloseFd(dup), 0);
  EXPECT_EQ(CloseFd(fd), 0);
  EXPECT_EQ(CloseFd(again), 0);
  // No fd holds it any more: the id is gone.
  EXPECT_EQ(BtfGetFdById(info.id), -ENOENT);
}

TEST(BtfObjectTest, FdSurvivesFork) {
  const int fd = Load(btftest::OneInt());
  ASSERT_GE(fd, 0);
  const pid_t pid = fork();
  if (pid == 0) {
    BpfBtfInfo info = {};
    uint32_t len = sizeof(info);
    _exit(BtfGetInfoByFd(fd, &info, &len) == 0 && info.id != 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(CloseFd(fd), 0);
}

using btftest::MapBtf;

TEST(MapBtfTest, MapCheckBtfRules) {
  const int btf = Load(MapBtf());
  ASSERT_GE(btf, 0);
  auto create = [&](uint32_t type, uint32_t ks, uint32_t vs, uint32_t kid,
                    uint32_t vid, uint32_t max = 4, int fd = -2) {
    MapAttr a;
    a.map_type = type;
    a.key_size = ks;
    a.value_size = vs;
    a.max_entries = max;
    a.btf_fd = static_cast<uint32_t>(fd == -2 ? btf : fd);
    a.btf_key_type_id = kid;
    a.btf_value_type_id = vid;
    const int m = MapCreate(a);
    if (m < 0) return m;
    BpfMapInfo info = {};
    uint32_t len = sizeof(info);
    EXPECT_EQ(MapGetInfoByFd(m, &info, &len), 0);
    EXPECT_GT(info.btf_id, 0u);
    EXPECT_EQ(info.btf_key_type_id, kid);
    EXPECT_EQ(info.btf_value_type_id, vid);
    EXPECT_EQ(CloseFd(m), 0);
    return 0;
  };
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 8, 1, 2), 0);
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 8, 1, 3), 0);
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 4, 1, 2), -EINVAL);   // value size
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 8, 8, 1, 2), -EINVAL);   // key size
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 8, 0, 2), -EINVAL);   // keyless hash
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 8, 1, 99), -EINVAL);  // no such id
  EXPECT_EQ(create(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 2), 0);
  EXPECT_EQ(create(BPF_MAP_TYPE_ARRAY, 4, 4, 0, 5, 1), 0);  // .bss
  EXPECT_EQ(create(BPF_MAP_TYPE_ARRAY, 4, 4, 0, 5, 2), -EINVAL);
  EXPECT_EQ(create(BPF_MAP_TYPE_ARRAY, 4, 8, 0, 2, 1), -EINVAL);
  EXPECT_EQ(create(BPF_MAP_TYPE_QUEUE, 0, 8, 0, 2), -EINVAL);  // no op
  EXPECT_EQ(create(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 0, 2), 0);
  EXPECT_EQ(create(BPF_MAP_TYPE_STACK_TRACE, 4, 8, 1, 2), -524);
  EXPECT_EQ(create(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 3, 2, 4), -EINVAL);
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 8, 1, 2, 4, 0), -EINVAL);  // not BTF
  EXPECT_EQ(create(BPF_MAP_TYPE_HASH, 4, 8, 1, 2, 4, 1 << 20), -EBADF);
  // A value with a bpf_spin_lock takes BPF_F_LOCK.
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 16;
  a.max_entries = 4;
  a.btf_fd = static_cast<uint32_t>(btf);
  a.btf_key_type_id = 1;
  a.btf_value_type_id = 7;
  const int m = MapCreate(a);
  ASSERT_GE(m, 0);
  uint32_t k = 1;
  uint64_t v[2] = {0, 42};
  EXPECT_EQ(MapUpdateElem(m, &k, v, BPF_F_LOCK), 0);
  EXPECT_EQ(CloseFd(m), 0);
  a.map_flags = BPF_F_RDONLY_PROG;
  EXPECT_EQ(MapCreate(a), -EACCES);
  a.map_flags = 0;
  a.map_type = BPF_MAP_TYPE_LRU_HASH;
  EXPECT_EQ(MapCreate(a), -EOPNOTSUPP);
  // A struct bpf_timer field (map_check_btf): ARRAY, HASH and LRU_HASH only,
  // not with *_PROG flags, and one per value.
  a.value_size = 24;
  a.btf_value_type_id = 9;
  for (uint32_t t :
       {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    a.map_type = t;
    const int tm = MapCreate(a);
    EXPECT_GE(tm, 0) << t;
    if (tm >= 0) EXPECT_EQ(CloseFd(tm), 0);
  }
  for (uint32_t t : {BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
                     BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    a.map_type = t;
    EXPECT_EQ(MapCreate(a), -EOPNOTSUPP) << t;
  }
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.map_flags = BPF_F_WRONLY_PROG;
  EXPECT_EQ(MapCreate(a), -EACCES);
  a.map_flags = 0;
  a.value_size = 32;
  a.btf_value_type_id = 10;  // two timers: no record, no special field
  a.map_type = BPF_MAP_TYPE_PERCPU_ARRAY;
  int tm = MapCreate(a);
  EXPECT_GE(tm, 0);
  if (tm >= 0) EXPECT_EQ(CloseFd(tm), 0);
  a.value_size = 40;
  a.btf_value_type_id = 12;  // and a lock, which is no field either
  a.map_type = BPF_MAP_TYPE_LRU_HASH;
  tm = MapCreate(a);
  EXPECT_GE(tm, 0);
  if (tm >= 0) EXPECT_EQ(CloseFd(tm), 0);
  a.value_size = 24;
  a.btf_value_type_id = 11;  // a lock and a timer: LRU refuses the lock
  a.map_type = BPF_MAP_TYPE_LRU_HASH;
  EXPECT_EQ(MapCreate(a), -EOPNOTSUPP);
  a.btf_value_type_id = 7;
  a.value_size = 16;
  // The map holds the BTF: its id stays reachable after the fd's close.
  a.map_type = BPF_MAP_TYPE_HASH;
  const int held = MapCreate(a);
  ASSERT_GE(held, 0);
  BpfBtfInfo bi = {};
  uint32_t len = sizeof(bi);
  ASSERT_EQ(BtfGetInfoByFd(btf, &bi, &len), 0);
  EXPECT_EQ(CloseFd(btf), 0);
  const int again = BtfGetFdById(bi.id);
  EXPECT_GE(again, 0);
  EXPECT_EQ(CloseFd(again), 0);
  EXPECT_EQ(CloseFd(held), 0);
}

}  // namespace
}  // namespace bpfemu
