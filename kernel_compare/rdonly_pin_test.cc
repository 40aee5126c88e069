// SPDX-License-Identifier: Apache-2.0
// Sharing a map read-only between users, on the kernel's /sys/fs/bpf and on
// the emulated bpffs (issue 20: "BPF_OBJ_GET with BPF_F_RDONLY of a 0644
// pin"). Root creates a map of each kind, fills it, pins it and makes the
// pin 0644; a child running as uid 1001 (bpfuser) then opens it
// (kernel/bpf/inode.c bpf_obj_get_user -> bpf_obj_do_get: path_permission
// with the access BPF_F_RDONLY / BPF_F_WRONLY ask for) and uses the fd
// (kernel/bpf/syscall.c: map_get_sys_perms checked by every command). Every
// result the child sees - errnos, keys and values - is recorded and the two
// records must be equal, and equal to what the kernel documents: read-write
// and write-only gets EACCES, reads work, update / delete /
// lookup_and_delete / freeze EPERM, write(2) on the fd EBADF, a shared
// writable mmap EACCES.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "emu/bpffs.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

constexpr uid_t kBpfUser = 1001;  // the second local user, bpfuser

// One side of the comparison: a backend for the element commands, and how
// that side pins, opens and chmods a pin named `name`.
struct Side {
  Backend* b;
  std::function<int(int, const std::string&)> pin;
  std::function<int(const std::string&, uint32_t)> get;
  std::function<std::string(const std::string&)> file;  // the pin's inode
  std::function<void(const std::string&)> unpin;
};

struct Case {
  uint32_t type, key_size, value_size, max_entries, flags;
  int32_t spin_lock_off = -1;  // a struct bpf_spin_lock in the value (BTF)
};

// Hashes with BPF_F_ZERO_SEED, so that both sides walk keys in one order.
constexpr Case kCases[] = {
    {BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_ZERO_SEED},
    {BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC},
    {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 64, BPF_F_ZERO_SEED},
    {BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, BPF_F_ZERO_SEED},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 64, BPF_F_ZERO_SEED},
    {BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0},
    {BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE},
    {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16, 0},
    {BPF_MAP_TYPE_QUEUE, 0, 8, 16, 0},
    {BPF_MAP_TYPE_STACK, 0, 8, 16, 0},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0},
    {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, 0},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 8, 0},
    {BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 8, BPF_F_ZERO_SEED},
    // Key k is the prefix of length k over zero data.
    {BPF_MAP_TYPE_LPM_TRIE, 8, 8, 16, BPF_F_NO_PREALLOC},
    // Lookups with BPF_F_LOCK, which the reader cannot take.
    {BPF_MAP_TYPE_ARRAY, 4, 16, 8, 0, 0},
    {BPF_MAP_TYPE_HASH, 4, 16, 16, BPF_F_ZERO_SEED, 8},
};

bool OfMaps(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
         type == BPF_MAP_TYPE_HASH_OF_MAPS;
}
bool PerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// Runs `fn` as uid/gid 1001 in a child and returns what it recorded (or a
// record naming how the child failed).
std::vector<int64_t> AsBpfUser(
    const std::function<std::vector<int64_t>()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return {-1000};
  const pid_t child = fork();
  if (child < 0) return {-1001};
  if (child == 0) {
    alarm(60);
    close(fds[0]);
    if (setresgid(kBpfUser, kBpfUser, kBpfUser) != 0 ||
        setresuid(kBpfUser, kBpfUser, kBpfUser) != 0) {
      _exit(100);
    }
    const std::vector<int64_t> log = fn();
    const size_t bytes = log.size() * sizeof(int64_t);
    (void)!write(fds[1], log.data(), bytes);
    _exit(0);
  }
  close(fds[1]);
  std::vector<int64_t> log;
  int64_t v;
  while (read(fds[0], &v, sizeof(v)) == sizeof(v)) log.push_back(v);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log.push_back(-2000 - status);
  }
  return log;
}

// Indices of the fixed entries at the start of a record.
enum : size_t {
  kGetRw,
  kGetWronly,
  kGetRdonly,
  kUpdate,
  kDelete,
  kLookupAndDelete,
  kFreeze,
  kWrite,
  kMmapWrite,
  kMmapRead,
  kFixed,
};

// What uid 1001 sees through a read-only get of pin `name`: the fixed
// entries above, then the get_next_key walk with each key's lookup, an
// absent key's lookup and one lookup batch.
std::vector<int64_t> ReadAsOther(const Side& s, const std::string& name,
                                 const Case& c, uint32_t value_bytes) {
  std::vector<int64_t> log(kFixed, 0);
  auto got = [&](int fd) -> int64_t {
    if (fd < 0) return fd;
    s.b->Close(fd);
    return 0;
  };
  log[kGetRw] = got(s.get(name, 0));
  log[kGetWronly] = got(s.get(name, BPF_F_WRONLY));
  const int ro = s.get(name, BPF_F_RDONLY);
  log[kGetRdonly] = ro < 0 ? ro : 0;
  if (ro < 0) return log;
  uint8_t key[16] = {}, val[8 * 1024] = {};
  const void* k = c.key_size != 0 ? key : nullptr;
  log[kUpdate] = s.b->Update(ro, k, val, BPF_ANY);
  log[kDelete] = s.b->Delete(ro, k);
  log[kLookupAndDelete] = s.b->LookupAndDelete(ro, k, val, 0);
  log[kFreeze] = s.b->Freeze(ro);
  log[kWrite] = write(ro, "x", 1) < 0 ? -errno : 0;
  void* addr = nullptr;
  log[kMmapWrite] =
      s.b->Mmap(ro, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &addr);
  if (addr != nullptr) munmap(addr, 4096);
  addr = nullptr;
  log[kMmapRead] = s.b->Mmap(ro, 4096, PROT_READ, MAP_SHARED, 0, &addr);
  if (addr != nullptr) munmap(addr, 4096);
  // Values of map-in-maps are ids, which differ between the two sides.
  const bool ids = OfMaps(c.type) || c.type == BPF_MAP_TYPE_PROG_ARRAY;
  auto bytes = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
      uint32_t w = 0;
      std::memcpy(&w, p + i, std::min<size_t>(4, n - i));
      log.push_back(w);
    }
  };
  uint8_t cur[16] = {}, next[16] = {};
  const void* prev = nullptr;
  for (int i = 0; i < 100; ++i) {
    const int r = s.b->GetNextKey(ro, prev, next);
    log.push_back(r);
    if (r != 0) break;
    bytes(next, c.key_size);
    std::memset(val, 0, sizeof(val));
    const int l = s.b->Lookup(ro, next, val, 0);
    log.push_back(l);
    if (l == 0 && !ids) bytes(val, value_bytes);
    std::memcpy(cur, next, sizeof(cur));
    prev = cur;
  }
  uint8_t absent[16];
  std::memset(absent, 0xee, sizeof(absent));
  log.push_back(s.b->Lookup(ro, c.key_size != 0 ? absent : nullptr, val, 0));
  // Key 0 (or the queue's head) with BPF_F_LOCK: EINVAL without a lock.
  uint8_t zero[16] = {};
  std::memset(val, 0, sizeof(val));
  const int locked =
      s.b->Lookup(ro, c.key_size != 0 ? zero : nullptr, val, BPF_F_LOCK);
  log.push_back(locked);
  if (locked == 0) bytes(val, value_bytes);
  std::memset(val, 0, sizeof(val));
  log.push_back(s.b->Lookup(ro, c.key_size != 0 ? absent : nullptr, val, 0));
  if (c.type == BPF_MAP_TYPE_QUEUE || c.type == BPF_MAP_TYPE_STACK) {
    bytes(val, value_bytes);  // the peeked value
  }
  std::vector<uint8_t> keys(64 * 16), values(64 * 8 * 1024);
  uint8_t out_batch[16] = {};
  uint32_t count = 64;
  const int b = s.b->LookupBatch(ro, nullptr, out_batch, keys.data(),
                                 values.data(), &count, 0, 0);
  log.push_back(b);
  if (b == 0 || b == -ENOENT) {
    log.push_back(count);
    bytes(keys.data(), size_t{count} * c.key_size);
    if (!ids) bytes(values.data(), size_t{count} * value_bytes);
  }
  s.b->Close(ro);
  return log;
}

class RdonlyPinTest : public KernelTest<> {
 protected:
  void SetUp() override {
    KernelTest<>::SetUp();
    if (IsSkipped()) return;
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to run a second uid (setresuid)";
    }
    // The emulated bpffs: shared mode in a root-owned sticky directory
    // both users reach, as /sys/fs/bpf is (mounted 1777).
    char tmpl[] = "/tmp/bpfemu-rdonly-kc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    ASSERT_EQ(chmod(base_.c_str(), 0755), 0);
    const std::string shared = base_ + "/shared";
    ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
    SetBpffsForTesting("/sys/fs/bpf", shared);
    SetBpffsSharedForTesting(true);
    prefix_ = "bpfemu-rdonly-" + std::to_string(getpid()) + "-";
  }
  void TearDown() override {
    SetBpffsSharedForTesting(false);
    if (!base_.empty()) {
      const std::string cmd = "rm -rf '" + base_ + "'";
      EXPECT_EQ(std::system(cmd.c_str()), 0);
    }
  }

  Side Kernel() {
    return Side{
        &KernelBackend::Get(),
        [](int fd, const std::string& n) {
          return bpf_obj_pin(fd, ("/sys/fs/bpf/" + n).c_str());
        },
        [](const std::string& n, uint32_t flags) {
          LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = flags);
          return bpf_obj_get_opts(("/sys/fs/bpf/" + n).c_str(), &opts);
        },
        [](const std::string& n) { return "/sys/fs/bpf/" + n; },
        [](const std::string& n) { unlink(("/sys/fs/bpf/" + n).c_str()); },
    };
  }
  Side Emu() {
    const std::string shared = base_ + "/shared/";
    return Side{
        &EmuBackend::Get(),
        [](int fd, const std::string& n) {
          return ObjPin(fd, ("/sys/fs/bpf/" + n).c_str());
        },
        [](const std::string& n, uint32_t flags) {
          return ObjGet(("/sys/fs/bpf/" + n).c_str(), flags);
        },
        [shared](const std::string& n) { return shared + n; },
        [](const std::string& n) { BpffsUnlink(("/sys/fs/bpf/" + n).c_str()); },
    };
  }

  // Creates, fills and pins (0644) a map of `c` on side `s`, then records
  // what uid 1001 reads through a read-only get.
  std::vector<int64_t> Run(const Side& s, const Case& c, const std::string& n) {
    MapAttr inner_attr{.map_type = BPF_MAP_TYPE_ARRAY,
                       .key_size = 4,
                       .value_size = 8,
                       .max_entries = 4};
    const int inner = s.b->CreateMap(inner_attr);
    EXPECT_GE(inner, 0);
    MapAttr attr{.map_type = c.type,
                 .key_size = c.key_size,
                 .value_size = c.value_size,
                 .max_entries = c.max_entries,
                 .map_flags = c.flags,
                 .spin_lock_off = c.spin_lock_off};
    if (OfMaps(c.type)) attr.inner_map_fd = static_cast<uint32_t>(inner);
    const int fd = s.b->CreateMap(attr);
    EXPECT_GE(fd, 0) << s.b->name();
    if (fd < 0) return {-3000};
    const uint32_t ncpus = static_cast<uint32_t>(s.b->NumPossibleCpus());
    const uint32_t value_bytes = PerCpu(c.type) ? 8 * ncpus : c.value_size;
    std::vector<uint8_t> value(8 * 1024);
    for (uint32_t k = 0; k < 6; ++k) {
      int r = 0;
      if (OfMaps(c.type)) {
        const int32_t ifd = inner;
        r = s.b->Update(fd, &k, &ifd, BPF_ANY);
      } else if (c.type == BPF_MAP_TYPE_QUEUE || c.type == BPF_MAP_TYPE_STACK) {
        const uint64_t v = k * 1000 + 7;
        r = s.b->Update(fd, nullptr, &v, BPF_ANY);
      } else if (c.value_size >= 8) {
        for (size_t i = 0; i + 8 <= value.size(); i += 8) {
          const uint64_t v = k * 1000 + 7 + i;
          std::memcpy(&value[i], &v, 8);
        }
        uint8_t key[16] = {};  // k, then zeros up to any key size
        std::memcpy(key, &k, sizeof(k));
        r = s.b->Update(fd, key, value.data(), BPF_ANY);
      }
      EXPECT_EQ(r, 0) << s.b->name() << " key " << k;
    }
    const mode_t old_umask = umask(022);
    EXPECT_EQ(s.pin(fd, n), 0) << s.b->name();
    umask(old_umask);
    struct stat st;
    EXPECT_EQ(stat(s.file(n).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << s.b->name();
    EXPECT_EQ(chmod(s.file(n).c_str(), 0644), 0) << s.b->name();
    std::vector<int64_t> log =
        AsBpfUser([&] { return ReadAsOther(s, n, c, value_bytes); });
    s.unpin(n);
    s.b->Close(fd);
    s.b->Close(inner);
    return log;
  }

  std::string base_, prefix_;
};

TEST_F(RdonlyPinTest, OtherUserReadsA0644PinThroughARdonlyGet) {
  int n = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE("map type " + std::to_string(c.type) + " flags " +
                 std::to_string(c.flags));
    const std::string name = prefix_ + std::to_string(n++);
    const std::vector<int64_t> kernel = Run(Kernel(), c, name);
    const std::vector<int64_t> emu = Run(Emu(), c, name);
    ASSERT_GE(kernel.size(), size_t{kFixed});
    // What the kernel answers, for the record.
    EXPECT_EQ(kernel[kGetRw], -EACCES);
    EXPECT_EQ(kernel[kGetWronly], -EACCES);
    EXPECT_EQ(kernel[kGetRdonly], 0);
    EXPECT_EQ(kernel[kUpdate], -EPERM);
    EXPECT_EQ(kernel[kDelete], -EPERM);
    // map_freeze refuses a value with a spin lock (ENOTSUPP) before it
    // looks at the fd's access.
    EXPECT_EQ(kernel[kFreeze], c.spin_lock_off >= 0 ? -524 : -EPERM);
    EXPECT_EQ(kernel[kWrite], -EBADF);
    EXPECT_EQ(emu, kernel);
    std::fprintf(stderr, "map type %u flags %u: %zu results, %s\n", c.type,
                 c.flags, kernel.size(), emu == kernel ? "equal" : "differ");
    if (emu != kernel) {
      std::string k, e;
      for (int64_t v : kernel) k += " " + std::to_string(v);
      for (int64_t v : emu) e += " " + std::to_string(v);
      ADD_FAILURE() << "kernel:" << k << "\nemu:   " << e;
    }
  }
}

}  // namespace
}  // namespace bpfemu
