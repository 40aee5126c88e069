// SPDX-License-Identifier: Apache-2.0
// File: access_conformance.h
//
// AccessConformance: who may write a map, and through what. Fd access modes
// (BPF_F_RDONLY / BPF_F_WRONLY at creation, open_flags of
// BPF_MAP_GET_FD_BY_ID) on every syscall command, the _PROG flags (which
// restrict programs, not syscalls), BPF_MAP_FREEZE (map_freeze and
// map_get_sys_perms in kernel/bpf/syscall.c), mmap() of BPF_F_MMAPABLE
// arrays and ring buffers (bpf_map_mmap, array_map_mmap in
// kernel/bpf/arraymap.c, do_mmap in mm/mmap.c), and the errno of
// BPF_OBJ_GET_INFO_BY_FD on a closed fd. Every errno was measured on Linux
// 6.18 (docs/semantics.md, "Access modes, freezing and mmap").

#ifndef BPFEMU_TESTS_CONFORMANCE_ACCESS_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_ACCESS_CONFORMANCE_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class AccessConformance : public ConformanceTest<B> {
 protected:
  static constexpr size_t kPage = 4096;

  // mmap() through the backend, unmapped again on success: 0 or -errno.
  int TryMmap(int fd, size_t length, int prot, int flags, uint64_t offset = 0) {
    void* addr = nullptr;
    const int err = this->b().Mmap(fd, length, prot, flags, offset, &addr);
    if (err == 0) munmap(addr, length);
    return err;
  }
  // A mapping that must succeed (nullptr and a failure otherwise).
  void* MustMmap(int fd, size_t length, int prot, uint64_t offset = 0) {
    void* addr = nullptr;
    const int err = this->b().Mmap(fd, length, prot, MAP_SHARED, offset, &addr);
    if (err != 0) ADD_FAILURE() << "mmap failed: " << ErrnoName(err);
    return addr;
  }
  // mprotect(): 0 or -errno.
  static int Mprotect(void* addr, size_t length, int prot) {
    return mprotect(addr, length, prot) == 0 ? 0 : -errno;
  }
  uint32_t IdOf(int fd) {
    MapInfo info{};
    EXPECT_EQ(this->b().GetMapInfo(fd, &info), 0);
    return info.id;
  }
};
TYPED_TEST_SUITE_P(AccessConformance);

// After BPF_MAP_FREEZE every syscall write answers EPERM, before the
// command's own checks (an update with bad flags, a delete of a missing
// key), and the batch counts stay as passed; reads still work. A second
// freeze is EPERM too: a frozen map gives no fd write access
// (map_get_sys_perms), so map_freeze never reaches its EBUSY for frozen.
TYPED_TEST_P(AccessConformance, FreezeBlocksSyscallWrites) {
  for (uint32_t type :
       {uint32_t{BPF_MAP_TYPE_HASH}, uint32_t{BPF_MAP_TYPE_ARRAY}}) {
    SCOPED_TRACE(type);
    const bool hash = type == BPF_MAP_TYPE_HASH;
    int fd = this->MustCreate(Attr(type, 4, 8, 4));
    ASSERT_EQ(this->Update(fd, 1u, uint64_t{10}), 0);
    EXPECT_EQ(this->b().Frozen(fd), 0);
    ASSERT_EQ(this->b().Freeze(fd), 0);
    EXPECT_EQ(this->b().Frozen(fd), 1);
    EXPECT_EQ(this->b().Freeze(fd), -EPERM);

    uint32_t k = 1, missing = 3, next;
    uint64_t v = 20;
    EXPECT_EQ(this->b().Update(fd, &k, &v, BPF_ANY), -EPERM);
    EXPECT_EQ(this->b().Update(fd, &k, &v, 99), -EPERM);
    EXPECT_EQ(this->b().Delete(fd, &k), -EPERM);
    EXPECT_EQ(this->b().Delete(fd, &missing), -EPERM);
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -EPERM);
    uint32_t keys[4] = {1, 2, 3, 0};
    uint64_t values[4] = {};
    uint32_t out_batch, count = 1;
    EXPECT_EQ(this->b().UpdateBatch(fd, keys, values, &count, 0, 0), -EPERM);
    EXPECT_EQ(count, 1u);
    EXPECT_EQ(this->b().DeleteBatch(fd, keys, &count, 0, 0), -EPERM);
    EXPECT_EQ(count, 1u);
    count = 4;
    EXPECT_EQ(this->b().LookupAndDeleteBatch(fd, nullptr, &out_batch, keys,
                                             values, &count, 0, 0),
              -EPERM);
    EXPECT_EQ(count, 4u);

    // Reads: the value is the one written before the freeze.
    ASSERT_EQ(this->Lookup(fd, 1u, &v), 0);
    EXPECT_EQ(v, 10u);
    EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), 0);
    EXPECT_EQ(next, hash ? 1u : 0u);
    count = 4;
    EXPECT_EQ(this->b().LookupBatch(fd, nullptr, &out_batch, keys, values,
                                    &count, 0, 0),
              hash ? -ENOENT : 0);
    EXPECT_EQ(count, hash ? 1u : 4u);
    MapInfo info{};
    ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
    EXPECT_EQ(info.map_flags, 0u);
  }
}

// The frozen state belongs to the map: fds opened by id before or after the
// freeze lose write access too, and see fdinfo "frozen: 1".
TYPED_TEST_P(AccessConformance, FreezeAppliesToEveryFd) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  const uint32_t id = this->IdOf(fd);
  int before = this->Track(this->b().GetFdById(id, 0));
  ASSERT_GE(before, 0);
  ASSERT_EQ(this->b().Freeze(fd), 0);
  int after = this->Track(this->b().GetFdById(id, 0));
  ASSERT_GE(after, 0);
  for (int f : {before, after}) {
    EXPECT_EQ(this->Update(f, 1u, uint64_t{1}), -EPERM);
    EXPECT_EQ(this->Delete(f, 1u), -EPERM);
    EXPECT_EQ(this->b().Freeze(f), -EPERM);
    EXPECT_EQ(this->b().Frozen(f), 1);
    uint64_t v;
    EXPECT_EQ(this->Lookup(f, 1u, &v), -ENOENT);
  }
}

// Freezing needs write access to the fd: a read-only fd is EPERM; a
// write-only fd may freeze, and then can neither write nor read. The _PROG
// flags do not matter to the syscall side.
TYPED_TEST_P(AccessConformance, FreezeNeedsWriteAccess) {
  int ro = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY));
  EXPECT_EQ(this->b().Freeze(ro), -EPERM);
  EXPECT_EQ(this->b().Frozen(ro), 0);
  // The map is not frozen: a read-write fd of it may still write and freeze.
  int rw = this->Track(this->b().GetFdById(this->IdOf(ro), 0));
  ASSERT_GE(rw, 0);
  EXPECT_EQ(this->Update(rw, 1u, uint64_t{1}), 0);
  int ro2 = this->Track(this->b().GetFdById(this->IdOf(ro), BPF_F_RDONLY));
  ASSERT_GE(ro2, 0);
  EXPECT_EQ(this->b().Freeze(ro2), -EPERM);
  EXPECT_EQ(this->b().Freeze(rw), 0);

  int wo = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_WRONLY));
  EXPECT_EQ(this->b().Freeze(wo), 0);
  uint64_t v;
  EXPECT_EQ(this->Update(wo, 1u, uint64_t{1}), -EPERM);
  EXPECT_EQ(this->Lookup(wo, 1u, &v), -EPERM);
  EXPECT_EQ(this->b().Freeze(wo), -EPERM);

  for (uint32_t f :
       {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG}}) {
    int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4, f));
    EXPECT_EQ(this->b().Freeze(fd), 0) << f;
    EXPECT_EQ(this->Update(fd, 0u, uint64_t{1}), -EPERM) << f;
  }
}

// map_freeze's other answers: a closed fd or -1 -> EBADF, a file that is not
// a map -> EINVAL, a value with a spin lock (a BTF record) -> ENOTSUPP.
// Per-CPU arrays and ring buffers freeze.
TYPED_TEST_P(AccessConformance, FreezeErrors) {
  int closed = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  this->CloseNow(closed);
  EXPECT_EQ(this->b().Freeze(closed), -EBADF);
  EXPECT_EQ(this->b().Freeze(-1), -EBADF);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  EXPECT_EQ(this->b().Freeze(null_fd), -EINVAL);
  close(null_fd);
  for (uint32_t type :
       {uint32_t{BPF_MAP_TYPE_HASH}, uint32_t{BPF_MAP_TYPE_ARRAY}}) {
    MapAttr a = Attr(type, 4, 8, 4);
    a.spin_lock_off = 0;
    int fd = this->MustCreate(a);
    EXPECT_EQ(this->b().Freeze(fd), -kENOTSUPP) << type;
    EXPECT_EQ(this->b().Frozen(fd), 0) << type;
  }
  int percpu = this->MustCreate(Attr(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4));
  EXPECT_EQ(this->b().Freeze(percpu), 0);
  int ring = this->MustCreate(Attr(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096));
  EXPECT_EQ(this->b().Freeze(ring), 0);
}

// Programs still write a frozen map: the freeze is the syscall side's.
TYPED_TEST_P(AccessConformance, ProgramWritesFrozenMap) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 8, 8, 4));
  ASSERT_EQ(this->b().Freeze(fd), 0);
  EXPECT_EQ(this->b().ProgUpdate(fd, 1, 77), 0);
  uint64_t v = 0;
  ASSERT_EQ(this->Lookup(fd, uint64_t{1}, &v), 0);
  EXPECT_EQ(v, 77u);
  EXPECT_EQ(this->Update(fd, uint64_t{1}, uint64_t{1}), -EPERM);
}

// Every command through every access mode, in one fixed sequence per map:
// permission is checked right after the fd, before the key (a write-only
// fd's lookup of a missing key is EPERM) and before the type's own answer
// (array delete EINVAL, delete batch ENOTSUPP). map_flags in the info keeps
// the _PROG flags and drops BPF_F_RDONLY / BPF_F_WRONLY
// (bpf_map_flags_retain_permanent).
TYPED_TEST_P(AccessConformance, AccessModesOnEveryCommand) {
  constexpr int P = -EPERM, N = -ENOENT, I = -EINVAL, S = -kENOTSUPP;
  struct Row {
    uint32_t type, flags, info_flags;
    // update, lookup, lookup missing, get_next_key, delete,
    // lookup_and_delete, lookup batch, update batch, delete batch,
    // lookup_and_delete batch, freeze
    int want[11];
  };
  constexpr uint32_t H = BPF_MAP_TYPE_HASH, A = BPF_MAP_TYPE_ARRAY;
  constexpr uint32_t RO = BPF_F_RDONLY, WO = BPF_F_WRONLY;
  constexpr uint32_t RP = BPF_F_RDONLY_PROG, WP = BPF_F_WRONLY_PROG;
  const Row rows[] = {
      {H, RO, 0, {P, N, N, N, P, P, N, P, P, P, P}},
      {H, WO, 0, {0, P, P, P, 0, P, P, 0, 0, P, 0}},
      {H, RP, RP, {0, 0, N, 0, 0, N, N, 0, 0, N, 0}},
      {H, WP, WP, {0, 0, N, 0, 0, N, N, 0, 0, N, 0}},
      {H, RO | RP, RP, {P, N, N, N, P, P, N, P, P, P, P}},
      {H, WO | RP, RP, {0, P, P, P, 0, P, P, 0, 0, P, 0}},
      {A, RO, 0, {P, 0, N, 0, P, P, 0, P, P, P, P}},
      {A, WO, 0, {0, P, P, P, I, P, P, 0, S, P, 0}},
      {A, RP, RP, {0, 0, N, 0, I, S, 0, 0, S, S, 0}},
      {A, WP, WP, {0, 0, N, 0, I, S, 0, 0, S, S, 0}},
      {A, RO | RP, RP, {P, 0, N, 0, P, P, 0, P, P, P, P}},
      {A, WO | RP, RP, {0, P, P, P, I, P, P, 0, S, P, 0}},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(testing::Message()
                 << "type " << r.type << " flags 0x" << std::hex << r.flags);
    int fd = this->MustCreate(Attr(r.type, 4, 8, 4, r.flags));
    ASSERT_GE(fd, 0);
    MapInfo info{};
    ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
    EXPECT_EQ(info.map_flags, r.info_flags);
    uint32_t k = 2, missing = 100, next, out_batch, count;
    uint64_t v = 9;
    uint32_t keys[4] = {1, 2, 3, 0};
    uint64_t values[4] = {};
    int got[11];
    got[0] = this->b().Update(fd, &k, &v, BPF_ANY);
    got[1] = this->b().Lookup(fd, &k, &v, 0);
    got[2] = this->b().Lookup(fd, &missing, &v, 0);
    got[3] = this->b().GetNextKey(fd, nullptr, &next);
    got[4] = this->b().Delete(fd, &k);
    got[5] = this->b().LookupAndDelete(fd, &k, &v, 0);
    count = 4;
    got[6] = this->b().LookupBatch(fd, nullptr, &out_batch, keys, values,
                                   &count, 0, 0);
    count = 1;
    got[7] = this->b().UpdateBatch(fd, keys, values, &count, 0, 0);
    count = 1;
    got[8] = this->b().DeleteBatch(fd, keys, &count, 0, 0);
    count = 4;
    got[9] = this->b().LookupAndDeleteBatch(fd, nullptr, &out_batch, keys,
                                            values, &count, 0, 0);
    got[10] = this->b().Freeze(fd);
    for (int i = 0; i < 11; ++i) {
      EXPECT_EQ(got[i], r.want[i])
          << "command " << i << ": " << ErrnoName(got[i]);
    }
  }
  // Both fd modes at once, or both program modes: EINVAL.
  EXPECT_EQ(this->Create(Attr(H, 4, 8, 4, RO | WO)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(A, 4, 8, 4, RO | WO)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(H, 4, 8, 4, RP | WP)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(A, 4, 8, 4, RP | WP)), -EINVAL);
}

// Fds from BPF_MAP_GET_FD_BY_ID take their access from open_flags, not from
// the fd the map was created with; open_flags other than BPF_F_RDONLY or
// BPF_F_WRONLY alone (both, a _PROG flag, unknown bits) are EINVAL.
TYPED_TEST_P(AccessConformance, OpenFlagsOfFdsById) {
  int base = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_WRONLY));
  const uint32_t id = this->IdOf(base);  // info needs no read access
  ASSERT_NE(id, 0u);
  struct {
    uint32_t open_flags;
    int update, lookup;
  } const cases[] = {
      {0, 0, 0}, {BPF_F_RDONLY, -EPERM, 0}, {BPF_F_WRONLY, 0, -EPERM}};
  for (const auto& c : cases) {
    int fd = this->Track(this->b().GetFdById(id, c.open_flags));
    ASSERT_GE(fd, 0) << c.open_flags;
    uint64_t v = 1;
    EXPECT_EQ(this->Update(fd, 3u, uint64_t{1}), c.update) << c.open_flags;
    EXPECT_EQ(this->Lookup(fd, 3u, &v), c.lookup) << c.open_flags;
  }
  for (uint32_t bad : {uint32_t{BPF_F_RDONLY | BPF_F_WRONLY},
                       uint32_t{BPF_F_RDONLY_PROG}, 1u << 20}) {
    EXPECT_EQ(this->Track(this->b().GetFdById(id, bad)), -EINVAL) << bad;
  }
}

// BPF_OBJ_GET_INFO_BY_FD: no open file -> EBADFD (77, not EBADF), a file
// that is not a BPF object -> EINVAL.
TYPED_TEST_P(AccessConformance, InfoOfClosedFdIsEbadfd) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  this->CloseNow(fd);
  MapInfo info{};
  EXPECT_EQ(this->b().GetMapInfo(fd, &info), -EBADFD);
  EXPECT_EQ(this->b().GetMapInfo(-1, &info), -EBADFD);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  EXPECT_EQ(this->b().GetMapInfo(null_fd, &info), -EINVAL);
  close(null_fd);
}

// A BPF_F_MMAPABLE array maps its value area: element i at
// i * round_up(value_size, 8), the area page-rounded; writes through the
// mapping are the elements, and updates show through the mapping.
TYPED_TEST_P(AccessConformance, MmapableArrayLayout) {
  constexpr size_t P = TestFixture::kPage;
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE));
  auto* m =
      static_cast<uint32_t*>(this->MustMmap(fd, P, PROT_READ | PROT_WRITE));
  ASSERT_NE(m, nullptr);
  m[2] = 0xabcd;  // byte 8: element 1 (8-byte slots)
  uint32_t k = 1, v = 0;
  ASSERT_EQ(this->b().Lookup(fd, &k, &v, 0), 0);
  EXPECT_EQ(v, 0xabcdu);
  k = 3;
  v = 0x1234;
  ASSERT_EQ(this->b().Update(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(m[6], 0x1234u);
  munmap(m, P);
  // Lengths and offsets: whole pages of the area, page-aligned offsets.
  EXPECT_EQ(this->TryMmap(fd, 100, PROT_READ, MAP_SHARED), 0);
  EXPECT_EQ(this->TryMmap(fd, 2 * P, PROT_READ, MAP_SHARED), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, MAP_SHARED, P), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, MAP_SHARED, 100), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, 0, PROT_READ, MAP_SHARED), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_NONE, MAP_SHARED), 0);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_WRITE, MAP_SHARED), 0);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, MAP_SHARED_VALIDATE), 0);

  // 1000 values of 12 bytes: 16-byte slots, 16000 bytes, 4 pages.
  int big =
      this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 12, 1000, BPF_F_MMAPABLE));
  EXPECT_EQ(this->TryMmap(big, 4 * P, PROT_READ, MAP_SHARED), 0);
  EXPECT_EQ(this->TryMmap(big, 5 * P, PROT_READ, MAP_SHARED), -EINVAL);
  EXPECT_EQ(this->TryMmap(big, 2 * P, PROT_READ, MAP_SHARED, 3 * P), -EINVAL);
  auto* last = static_cast<uint8_t*>(
      this->MustMmap(big, P, PROT_READ | PROT_WRITE, 3 * P));
  ASSERT_NE(last, nullptr);
  last[16 * 10] = 0x5a;  // element 3 * 4096 / 16 + 10 = 778
  uint8_t value[12] = {};
  k = 778;
  ASSERT_EQ(this->b().Lookup(big, &k, value, 0), 0);
  EXPECT_EQ(value[0], 0x5a);
  munmap(last, P);
}

// What cannot be mapped: MAP_PRIVATE (EINVAL), PROT_EXEC (EPERM, checked
// first), arrays without BPF_F_MMAPABLE (EINVAL), types without mmap and
// values with a spin lock (ENOTSUPP, before the MAP_PRIVATE check).
TYPED_TEST_P(AccessConformance, MmapRejects) {
  constexpr size_t P = TestFixture::kPage;
  constexpr int R = PROT_READ, RW = PROT_READ | PROT_WRITE;
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE));
  EXPECT_EQ(this->TryMmap(fd, P, R, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, RW, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, 2 * P, R, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, R | PROT_EXEC, MAP_SHARED), -EPERM);
  EXPECT_EQ(this->TryMmap(fd, P, RW | PROT_EXEC, MAP_SHARED), -EPERM);
  EXPECT_EQ(this->TryMmap(fd, P, R | PROT_EXEC, MAP_PRIVATE), -EPERM);

  int plain = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10));
  EXPECT_EQ(this->TryMmap(plain, P, R, MAP_SHARED), -EINVAL);
  EXPECT_EQ(this->TryMmap(plain, P, R, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(plain, P, R | PROT_EXEC, MAP_SHARED), -EPERM);

  int hash = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 4, 10));
  EXPECT_EQ(this->TryMmap(hash, P, R, MAP_SHARED), -kENOTSUPP);
  EXPECT_EQ(this->TryMmap(hash, P, R, MAP_PRIVATE), -kENOTSUPP);
  EXPECT_EQ(this->TryMmap(hash, P, R | PROT_EXEC, MAP_SHARED), -EPERM);
  EXPECT_EQ(this->TryMmap(hash, 0, R, MAP_SHARED), -EINVAL);
  int percpu = this->MustCreate(Attr(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 10));
  EXPECT_EQ(this->TryMmap(percpu, P, R, MAP_SHARED), -kENOTSUPP);
  MapAttr locked = Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE);
  locked.spin_lock_off = 0;
  int lock = this->MustCreate(locked);
  EXPECT_EQ(this->TryMmap(lock, P, R, MAP_SHARED), -kENOTSUPP);
}

// Mappings and fd access: a write-only fd maps nothing (EACCES); a
// read-only fd cannot map shared-writable (EACCES) and loses VM_SHARED for
// read-only mappings, which bpf_map_mmap then refuses (EINVAL). A
// BPF_F_RDONLY_PROG map maps read-only only (EACCES), and a read-only
// mapping never becomes writable (mprotect: EACCES).
TYPED_TEST_P(AccessConformance, MmapAccessModes) {
  constexpr size_t P = TestFixture::kPage;
  constexpr int R = PROT_READ, RW = PROT_READ | PROT_WRITE;
  int ro = this->MustCreate(
      Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE | BPF_F_RDONLY));
  EXPECT_EQ(this->TryMmap(ro, P, R, MAP_SHARED), -EINVAL);
  EXPECT_EQ(this->TryMmap(ro, P, RW, MAP_SHARED), -EACCES);
  EXPECT_EQ(this->TryMmap(ro, P, RW, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(ro, P, R | PROT_EXEC, MAP_SHARED), -EPERM);
  EXPECT_EQ(this->TryMmap(ro, 2 * P, R, MAP_SHARED), -EINVAL);
  int ro_by_id = this->Track(this->b().GetFdById(this->IdOf(ro), BPF_F_RDONLY));
  ASSERT_GE(ro_by_id, 0);
  EXPECT_EQ(this->TryMmap(ro_by_id, P, RW, MAP_SHARED), -EACCES);
  EXPECT_EQ(this->TryMmap(ro_by_id, P, R, MAP_SHARED), -EINVAL);

  int wo = this->MustCreate(
      Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE | BPF_F_WRONLY));
  EXPECT_EQ(this->TryMmap(wo, P, R, MAP_SHARED), -EACCES);
  EXPECT_EQ(this->TryMmap(wo, P, RW, MAP_SHARED), -EACCES);
  EXPECT_EQ(this->TryMmap(wo, P, R, MAP_PRIVATE), -EACCES);

  int rp = this->MustCreate(
      Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG));
  EXPECT_EQ(this->TryMmap(rp, P, RW, MAP_SHARED), -EACCES);
  void* m = this->MustMmap(rp, P, R);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(this->Mprotect(m, P, RW), -EACCES);
  munmap(m, P);
  int wp = this->MustCreate(
      Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE | BPF_F_WRONLY_PROG));
  EXPECT_EQ(this->TryMmap(wp, P, RW, MAP_SHARED), 0);

  int rw = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE));
  m = this->MustMmap(rw, P, R);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(this->Mprotect(m, P, RW), -EACCES);
  munmap(m, P);
}

// A writable mapping blocks a freeze (EBUSY) until it is unmapped;
// read-only mappings do not. A frozen map maps read-only only (EPERM), and
// those mappings cannot be made writable (EACCES).
TYPED_TEST_P(AccessConformance, FreezeAndMmap) {
  constexpr size_t P = TestFixture::kPage;
  constexpr int R = PROT_READ, RW = PROT_READ | PROT_WRITE;
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE));
  void* w = this->MustMmap(fd, P, RW);
  ASSERT_NE(w, nullptr);
  void* r = this->MustMmap(fd, P, R);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(this->b().Freeze(fd), -EBUSY);
  EXPECT_EQ(this->b().Frozen(fd), 0);
  // A writable mapping mprotect()ed read-only may become writable again: it
  // still counts.
  ASSERT_EQ(this->Mprotect(w, P, R), 0);
  EXPECT_EQ(this->b().Freeze(fd), -EBUSY);
  munmap(w, P);
  EXPECT_EQ(this->b().Freeze(fd), 0);
  EXPECT_EQ(this->b().Frozen(fd), 1);
  munmap(r, P);
  EXPECT_EQ(this->TryMmap(fd, P, RW, MAP_SHARED), -EPERM);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_WRITE, MAP_SHARED), -EPERM);
  r = this->MustMmap(fd, P, R);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(this->Mprotect(r, P, RW), -EACCES);
  munmap(r, P);

  // Ring buffers: the writable consumer page blocks a freeze the same way.
  int ring = this->MustCreate(Attr(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096));
  void* consumer = this->MustMmap(ring, P, RW);
  ASSERT_NE(consumer, nullptr);
  EXPECT_EQ(this->b().Freeze(ring), -EBUSY);
  munmap(consumer, P);
  EXPECT_EQ(this->b().Freeze(ring), 0);
  EXPECT_EQ(this->TryMmap(ring, P, RW, MAP_SHARED), -EPERM);
  EXPECT_EQ(this->TryMmap(ring, P, R, MAP_SHARED, P), 0);
}

// The writable mapping of a fork() child blocks the parent's freeze until
// the child is gone (the kernel counts the child's copy of the VMA).
TYPED_TEST_P(AccessConformance, FreezeSeesForkChildMapping) {
  constexpr size_t P = TestFixture::kPage;
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 4, 10, BPF_F_MMAPABLE));
  void* w = this->MustMmap(fd, P, PROT_READ | PROT_WRITE);
  ASSERT_NE(w, nullptr);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[1]);
    char c;
    (void)!read(pipe_fds[0], &c, 1);  // until the parent closes its end
    _exit(0);
  }
  close(pipe_fds[0]);
  munmap(w, P);
  EXPECT_EQ(this->b().Freeze(fd), -EBUSY);
  close(pipe_fds[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(this->b().Freeze(fd), 0);
}

REGISTER_TYPED_TEST_SUITE_P(AccessConformance, FreezeBlocksSyscallWrites,
                            FreezeAppliesToEveryFd, FreezeNeedsWriteAccess,
                            FreezeErrors, ProgramWritesFrozenMap,
                            AccessModesOnEveryCommand, OpenFlagsOfFdsById,
                            InfoOfClosedFdIsEbadfd, MmapableArrayLayout,
                            MmapRejects, MmapAccessModes, FreezeAndMmap,
                            FreezeSeesForkChildMapping);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_ACCESS_CONFORMANCE_H_
