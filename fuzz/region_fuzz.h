// SPDX-License-Identifier: Apache-2.0
// File: region_fuzz.h
//
// Crafted map regions (tracker issue 20, item 2). Builds a valid map of one
// family into its file, fills it a little, applies the input's byte
// mutations to the header and the body through the file (as any process
// that can write it could), attaches the file as another process would
// (AttachMapFd, behind bpf_obj_get), and runs a bounded sequence of
// operations: lookup, update, delete, get_next_key, batches, ring buffer
// reserve and consume, and for a user ring buffer a userspace producer's
// records (libbpf's or arbitrary length words and producer steps) and BPF
// drains (UserRingbufMap::Drain, which must answer a count or the kernel's
// errno). Checks: attach answers 0 or EINVAL; no crash, no
// hang, no access outside the region (ASan, UBSan); a lookup writes no byte
// past the value size the attached map reports, which is never more than
// the geometry the map was created with.
//
// The lock words of the region (bucket locks, the hash recovery lock,
// free-list and LRU list locks, the ring's producer lock, freeze_mu, the
// fd array's owner lock) are not left as the input wrote them: a waiter
// takes a word over only on evidence that the thread it names cannot hold
// it (docs/reliability.md, "Locks and owner death"), and a word naming a
// live thread it cannot rule out - a live peer that maps the region, a
// process whose maps it may not read (this machine's pid 1 and its
// threads) - is waited for, by design. So each word the input made
// non-zero becomes one of the words the locks decide, chosen by the
// input's value: unlocked, an impossible tid (0 beside the waiters bit,
// >= 2^22), the fuzzing thread itself, a thread that has exited, or a
// live process that maps no region (a `sleep` the harness starts) - the
// last one is how fuzz50 found LruList::PercpuPopFree sleeping for ever
// on a word naming kworker 8. Their offsets come from the region as it
// was created.
//
// The harness body, shared by region_fuzzer.cc (the data-structure and
// ring families) and region_objects_fuzzer.cc (the maps of kernel
// objects); each gives its own list of map configurations, so that adding
// a family never renumbers the inputs of the other's corpus.
#ifndef BPFEMU_FUZZ_REGION_FUZZ_H_
#define BPFEMU_FUZZ_REGION_FUZZ_H_

#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "emu/cpu.h"
#include "emu/devmap.h"
#include "emu/map.h"
#include "emu/ringbuf.h"
#include "emu/ringbuf_consumer.h"
#include "emu/shm.h"
#include "emu/syscall.h"
#include "emu/user_ringbuf.h"
#include "fuzz/fuzz_input.h"

namespace bpfemu::fuzz::region {

using bpfemu::kBodyOffset;
using bpfemu::MapAttr;

struct Config {
  uint32_t type, key_size, value_size, max_entries, flags;
};

constexpr uint32_t kCpus = 2;

// The file offset of region offset `off`: a head-at-end file (an mmapable
// array, emu/shm.h) keeps the region's first page at its end. *room is
// how many bytes from there stay inside one part of the file.
inline uint64_t FileOff(int fd, uint64_t off, uint64_t* room = nullptr) {
  uint64_t size = 0, head = 0;
  if (bpfemu::ShmRegion::HeadAtEnd(fd, &size) &&
      size > bpfemu::kHeadAtEndBytes) {
    head = bpfemu::kHeadAtEndBytes;
  }
  if (room != nullptr) *room = off < head ? head - off : UINT64_MAX;
  if (head == 0) return off;
  return off < head ? size - head + off : off - head;
}
template <typename T>
inline T Peek(int fd, uint64_t off) {
  T v{};
  if (pread(fd, &v, sizeof(v), static_cast<off_t>(FileOff(fd, off))) !=
      sizeof(v)) {
    return T{};
  }
  return v;
}
inline void Zero32(int fd, uint64_t off) {
  const uint32_t z = 0;
  (void)!pwrite(fd, &z, sizeof(z), static_cast<off_t>(FileOff(fd, off)));
}

inline bool IsHash(uint32_t t) {
  return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
         t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_SOCKHASH;
}

// Offsets of the lock words of a freshly created region (the layouts of
// emu/hash_map.h, lru_list.cc, ringbuf.cc, fd_array.h).
inline std::vector<uint64_t> LockWords(int fd, const Config& c) {
  std::vector<uint64_t> locks = {offsetof(bpfemu::MapHeader, freeze_mu)};
  if (IsHash(c.type)) {
    const uint32_t n_buckets = Peek<uint32_t>(fd, kBodyOffset);
    const uint64_t buckets = Peek<uint64_t>(fd, kBodyOffset + 48);
    const uint64_t freelists = Peek<uint64_t>(fd, kBodyOffset + 56);
    locks.push_back(kBodyOffset + 28);  // recover_lock
    for (uint32_t b = 0; b < n_buckets; ++b) locks.push_back(buckets + 16 * b);
    for (uint32_t i = 0; i < kCpus; ++i) locks.push_back(freelists + 64 * i);
    if (Peek<uint32_t>(fd, kBodyOffset + 24) != 0) {  // LRU
      const uint64_t lru = Peek<uint64_t>(fd, kBodyOffset + 32);
      const bool percpu = Peek<uint32_t>(fd, lru) != 0;
      const uint64_t lists = Peek<uint64_t>(fd, lru + 32);
      const uint64_t locals = Peek<uint64_t>(fd, lru + 40);
      // A list or local record (lock, lists, intent record) is 128 bytes.
      for (uint32_t i = 0; i < (percpu ? kCpus : 1); ++i) {
        locks.push_back(lists + 128 * i);
      }
      for (uint32_t i = 0; i < (percpu ? 0 : kCpus); ++i) {
        locks.push_back(locals + 128 * i);
      }
    }
  } else if (c.type == BPF_MAP_TYPE_RINGBUF ||
             c.type == BPF_MAP_TYPE_USER_RINGBUF ||
             c.type == BPF_MAP_TYPE_PROG_ARRAY ||
             c.type == BPF_MAP_TYPE_CGROUP_ARRAY ||
             c.type == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY ||
             c.type == BPF_MAP_TYPE_XSKMAP) {
    locks.push_back(kBodyOffset);
  } else if (c.type == BPF_MAP_TYPE_DEVMAP ||
             c.type == BPF_MAP_TYPE_DEVMAP_HASH ||
             c.type == BPF_MAP_TYPE_CPUMAP) {
    locks.push_back(kBodyOffset + offsetof(bpfemu::DevmapShared, lock));
  }
  return locks;
}

// A live process a crafted lock word may name that maps no region (see
// above), started once (`sleep`, killed with the fuzzer: PR_SET_PDEATHSIG).
struct LockHolders {
  uint32_t stranger = 0;
};
inline const LockHolders& Holders() {
  static const LockHolders holders = [] {
    LockHolders h;
    int p[2];
    FUZZ_CHECK(pipe2(p, O_CLOEXEC) == 0);
    const pid_t parent = getpid();
    const pid_t sleeper = fork();
    if (sleeper == 0) {
      // The signal is tied to the forking thread; a parent already gone
      // before prctl sends none, so check it after.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      execlp("sleep", "sleep", "1000000", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(p[1]);
    char ch;
    (void)!read(p[0], &ch, 1);  // EOF once it has exec()ed: no region mapped
    close(p[0]);
    h.stranger = static_cast<uint32_t>(sleeper);
    return h;
  }();
  return holders;
}

// A thread id that exited and was reaped: a fresh one whenever the last
// one's tid was handed out again (kill no longer answers ESRCH), as it can
// be over a long campaign, perhaps to one of the fuzzer's own threads,
// which map the region (a waiter would then wait for it: a false hang).
inline uint32_t ExitedTid() {
  static std::atomic<uint32_t> exited{0};
  uint32_t tid = exited.load();
  while (tid == 0 || kill(static_cast<pid_t>(tid), 0) == 0 || errno != ESRCH) {
    const pid_t gone = fork();
    FUZZ_CHECK(gone >= 0);
    if (gone == 0) _exit(0);
    FUZZ_CHECK(waitpid(gone, nullptr, 0) == gone);
    tid = static_cast<uint32_t>(gone);
  }
  exited.store(tid);
  return tid;
}

// The word a lock word the input made `crafted` (non-zero) becomes.
inline uint32_t DecidableLockWord(uint32_t crafted) {
  const uint32_t waiters = crafted & bpfemu::ShmMutex::kWaiters;
  switch (crafted % 5) {
    case 0:
      return 0;
    case 1:  // no thread can have this tid
      return crafted | (1u << 22);
    case 2:
      return bpfemu::CurrentTid() | waiters;
    case 3:
      return ExitedTid() | waiters;
    default:
      return Holders().stranger | waiters;
  }
}

inline uint64_t ValueBytes(const Config& c) {
  const bool percpu = c.type == BPF_MAP_TYPE_PERCPU_HASH ||
                      c.type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
                      c.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                      c.type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
  return bpfemu::RoundUp(c.value_size, 8) * (percpu ? kCpus : 1);
}

inline uint64_t CountSample(void* ctx, void* data, uint32_t size) {
  auto* sum = static_cast<uint64_t*>(ctx);
  // Touch every byte, so a sample reaching past the mapping would fault.
  for (size_t i = 0; i < size; ++i) *sum += static_cast<uint8_t*>(data)[i];
  return *sum & 1;  // sometimes stop the drain
}

// A userspace producer's write into a user ring, as libbpf makes it but
// with an arbitrary length word and producer step (the producer side is
// untrusted).
inline void UserProduce(bpfemu::UserRingbufMap* u, uint32_t len_word,
                        uint32_t step) {
  const uint64_t pos = u->producer_pos().load(std::memory_order_relaxed);
  std::memcpy(u->data() + (pos & u->mask()), &len_word, 4);
  u->producer_pos().store(pos + step, std::memory_order_release);
}

inline int Count(void* ctx, void* data, size_t size) {
  auto* sum = static_cast<uint64_t*>(ctx);
  // Touch every byte, so a record reaching past the mapping would fault.
  for (size_t i = 0; i < size; ++i) *sum += static_cast<uint8_t*>(data)[i];
  return 0;
}

constexpr uint8_t kCanary = 0xA5;
constexpr size_t kBuf = 256;  // every config's key and value fit

// Runs one operation on the attached map `m`, whose syscall value size is
// `vsize` (<= kBuf - 64): a lookup must leave the canary after it intact.
inline void RunOp(bpfemu::fuzz::FuzzInput& in, int m, uint32_t vsize,
                  bpfemu::RingbufMap* ring, bpfemu::UserRingbufMap* user) {
  std::vector<uint8_t> key = in.Bytes(kBuf);
  std::vector<uint8_t> next(kBuf, kCanary);
  std::vector<uint8_t> value(kBuf, kCanary);
  auto check = [&](const std::vector<uint8_t>& buf, size_t used) {
    for (size_t i = used; i < buf.size(); ++i) FUZZ_CHECK(buf[i] == kCanary);
  };
  switch (in.Below(user != nullptr ? 11 : 9)) {
    case 0:
      (void)bpfemu::MapLookupElem(m, key.data(), value.data(), 0);
      check(value, vsize);
      break;
    case 1: {
      std::vector<uint8_t> v = in.Bytes(kBuf);
      (void)bpfemu::MapUpdateElem(m, key.data(), v.data(), in.Below(3));
      break;
    }
    case 2:
      (void)bpfemu::MapDeleteElem(m, key.data());
      break;
    case 3:
      (void)bpfemu::MapGetNextKey(m, in.Bool() ? nullptr : key.data(),
                                  next.data());
      break;
    case 4:
      (void)bpfemu::MapLookupAndDeleteElem(m, key.data(), value.data(), 0);
      check(value, vsize);
      break;
    case 5: {
      constexpr uint32_t kMax = 8;
      std::vector<uint8_t> keys(kMax * 64 + 64, kCanary);
      std::vector<uint8_t> values(kMax * size_t{vsize} + 64, kCanary);
      uint64_t out = 0;
      uint32_t count = 1 + in.Below(kMax);
      const bool del = in.Bool();
      const int err =
          del ? bpfemu::MapLookupAndDeleteBatch(m, nullptr, &out, keys.data(),
                                                values.data(), &count, 0, 0)
              : bpfemu::MapLookupBatch(m, nullptr, &out, keys.data(),
                                       values.data(), &count, 0, 0);
      if (err == 0 || err == -ENOENT) {
        FUZZ_CHECK(count <= kMax);
        check(values, size_t{count} * vsize);
      }
      break;
    }
    case 6: {
      std::vector<uint8_t> keys = in.Bytes(4 * 64);
      std::vector<uint8_t> values = in.Bytes(4 * size_t{vsize} + 8);
      uint32_t count = 1 + in.Below(4);
      (void)bpfemu::MapUpdateBatch(m, keys.data(), values.data(), &count, 0, 0);
      break;
    }
    case 7:
      if (ring != nullptr) {
        const uint64_t size = in.Below(5000);
        if (void* p = ring->Reserve(size, 0)) {
          std::memset(p, 0x5a, size);
          if (in.Bool()) {
            ring->Submit(p, 0);
          } else {
            ring->Discard(p, 0);
          }
        }
      }
      break;
    case 8:
      if (ring != nullptr) {
        uint64_t sum = 0;
        int err = 0;
        auto rb = bpfemu::RingBuffer::New(m, Count, &sum, &err);
        if (rb != nullptr) (void)rb->Consume();
      }
      break;
    case 9: {  // user ring: a record as libbpf writes it, or a bogus one
      const uint32_t len = in.Below(5000);
      if (in.Bool()) {
        UserProduce(user, len | (in.Bool() ? bpfemu::kRingbufDiscardBit : 0),
                    static_cast<uint32_t>(bpfemu::RingbufRecordFootprint(len)));
      } else {
        UserProduce(user, in.Get<uint32_t>(), in.Get<uint32_t>());
      }
      break;
    }
    case 10: {  // user ring: a BPF program's drain
      uint64_t sum = 0;
      const long r = user->Drain(&CountSample, &sum, in.Below(4));
      FUZZ_CHECK(r >= -E2BIG || r == -EBUSY || r == -EINVAL);
      FUZZ_CHECK(r <= static_cast<long>(bpfemu::kMaxUserRingbufSamples));
      break;
    }
  }
}

// One input over the map configurations `configs`: the harness.
inline int RunRegionInput(const uint8_t* data, size_t size,
                          absl::Span<const Config> configs) {
  static const bool init = [] {
    bpfemu::SetNumPossibleCpus(kCpus);
    return true;
  }();
  (void)init;
  bpfemu::fuzz::FuzzInput in(data, size);
  const Config& c = configs[in.Below(configs.size())];
  MapAttr attr;
  attr.map_type = c.type;
  attr.key_size = c.key_size;
  attr.value_size = c.value_size;
  attr.max_entries = c.max_entries;
  attr.map_flags = c.flags;
  const int fd = bpfemu::MapCreate(attr);
  FUZZ_CHECK(fd >= 0);

  // A little content: keys 0..5 (hashes and arrays), records (ring).
  if (IsHash(c.type) && c.type != BPF_MAP_TYPE_SOCKHASH) {
    for (uint32_t k = 0; k < 6; ++k) {
      uint8_t key[8] = {static_cast<uint8_t>(k)};
      std::vector<uint8_t> v(ValueBytes(c), static_cast<uint8_t>(k));
      (void)bpfemu::MapUpdateElem(fd, key, v.data(), BPF_ANY);
    }
  } else if (c.type == BPF_MAP_TYPE_ARRAY ||
             c.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
    for (uint32_t k = 0; k < c.max_entries; ++k) {
      std::vector<uint8_t> v(ValueBytes(c), static_cast<uint8_t>(k + 1));
      (void)bpfemu::MapUpdateElem(fd, &k, v.data(), BPF_ANY);
    }
  } else if (c.type == BPF_MAP_TYPE_RINGBUF) {
    auto ring =
        std::dynamic_pointer_cast<bpfemu::RingbufMap>(bpfemu::MapFromFd(fd));
    const uint8_t rec[24] = {1, 2, 3};
    for (int i = 0; i < 3; ++i) (void)ring->Output(rec, sizeof(rec), 0);
  } else if (c.type == BPF_MAP_TYPE_USER_RINGBUF) {
    auto user = std::dynamic_pointer_cast<bpfemu::UserRingbufMap>(
        bpfemu::MapFromFd(fd));
    for (int i = 0; i < 3; ++i) UserProduce(user.get(), 24, 32);
  } else if (c.type == BPF_MAP_TYPE_DEVMAP ||
             c.type == BPF_MAP_TYPE_DEVMAP_HASH) {
    // Device 1 (lo, always present) under keys 0..5; no program.
    for (uint32_t k = 0; k < 6; ++k) {
      const uint32_t val[2] = {1, 0};
      (void)bpfemu::MapUpdateElem(fd, &k, val, BPF_ANY);
    }
  } else if (c.type == BPF_MAP_TYPE_CPUMAP) {
    for (uint32_t k = 0; k < kCpus; ++k) {
      const uint32_t val[2] = {64, 0};  // qsize, no program
      (void)bpfemu::MapUpdateElem(fd, &k, val, BPF_ANY);
    }
  }

  // The mutations: mostly in the header and the start of the body.
  const uint64_t file_size =
      Peek<uint64_t>(fd, offsetof(bpfemu::MapHeader, region_size));
  const std::vector<uint64_t> locks = LockWords(fd, c);
  const uint32_t n = 1 + in.Below(8);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t span =
        in.Bool() ? std::min<uint64_t>(file_size, 1024) : file_size;
    const uint64_t off = in.Get<uint32_t>() % span;
    uint8_t bytes[8];
    size_t len;
    switch (in.Below(4)) {
      case 0:
        len = 1;
        bytes[0] = in.Get<uint8_t>();
        break;
      case 1: {
        len = 4;
        const uint32_t v = in.Get<uint32_t>();
        std::memcpy(bytes, &v, 4);
        break;
      }
      case 2: {
        len = 8;
        const uint64_t v = in.Get<uint64_t>();
        std::memcpy(bytes, &v, 8);
        break;
      }
      default: {  // a small step of a 32-bit field: off-by-one layouts
        len = 4;
        uint32_t v = Peek<uint32_t>(fd, off);
        v += static_cast<int8_t>(in.Get<uint8_t>());
        std::memcpy(bytes, &v, 4);
        break;
      }
    }
    uint64_t room;
    const uint64_t at = FileOff(fd, off, &room);
    len = std::min<uint64_t>({len, file_size - off, room});
    (void)!pwrite(fd, bytes, len, static_cast<off_t>(at));
  }
  for (uint64_t off : locks) {
    const uint32_t word = Peek<uint32_t>(fd, off);
    if (word != 0) {
      const uint32_t decidable = DecidableLockWord(word);
      (void)!pwrite(fd, &decidable, sizeof(decidable),
                    static_cast<off_t>(FileOff(fd, off)));
    }
  }

  // Another process's view: a descriptor the fd table does not know.
  const int m = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  FUZZ_CHECK(m >= 0);
  const int err = bpfemu::AttachMapFd(m);
  if (err != 0) {
    FUZZ_CHECK(err == -EINVAL);
    close(m);
  } else {
    std::shared_ptr<bpfemu::Map> map = bpfemu::MapFromFd(m);
    FUZZ_CHECK(map != nullptr);
    const uint32_t vsize = map->SyscallValueSize();
    // The geometry was checked: the value area is the one created.
    // A cgroup storage map's region holds no values (they hang off the
    // cgroups it is attached to), so a crafted value size that passes the
    // create checks is a valid map; its commands then write nothing.
    const bool no_value_area = c.type == BPF_MAP_TYPE_CGROUP_STORAGE ||
                               c.type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
    FUZZ_CHECK(vsize <= ValueBytes(c) || c.type == BPF_MAP_TYPE_RINGBUF ||
               c.type == BPF_MAP_TYPE_USER_RINGBUF || no_value_area);
    auto user = std::dynamic_pointer_cast<bpfemu::UserRingbufMap>(map);
    auto ring = user == nullptr
                    ? std::dynamic_pointer_cast<bpfemu::RingbufMap>(map)
                    : nullptr;
    map.reset();
    const int steps = no_value_area && vsize > kBuf - 64 ? 0 : 24;
    for (int step = 0; step < steps && !in.empty(); ++step) {
      RunOp(in, m, vsize, ring.get(), user.get());
    }
    ring.reset();
    user.reset();
    (void)bpfemu::CloseFd(m);
  }
  (void)bpfemu::CloseFd(fd);
  return 0;
}

}  // namespace bpfemu::fuzz::region

#endif  // BPFEMU_FUZZ_REGION_FUZZ_H_
