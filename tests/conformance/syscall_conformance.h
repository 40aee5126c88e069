// SPDX-License-Identifier: Apache-2.0
// File: syscall_conformance.h
//
// SyscallConformance: the generic layer of kernel/bpf/syscall.c that every
// map type shares: bad descriptors, NULL pointers, fd access modes and the
// order in which those checks run. Measured on 6.18
// (kernel/bpf/ sources; measured on 6.18).

#ifndef BPFEMU_TESTS_CONFORMANCE_SYSCALL_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_SYSCALL_CONFORMANCE_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class SyscallConformance : public ConformanceTest<B> {
 protected:
  static constexpr uint32_t kTypes[] = {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY};
};
TYPED_TEST_SUITE_P(SyscallConformance);

// A descriptor that is not open -> EBADF for every command.
TYPED_TEST_P(SyscallConformance, ClosedFdIsEbadf) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  this->CloseNow(fd);
  uint32_t k = 0, next;
  uint64_t v = 0;
  for (int bad : {fd, -1, 1 << 20}) {
    EXPECT_EQ(this->b().Lookup(bad, &k, &v, 0), -EBADF);
    EXPECT_EQ(this->b().Update(bad, &k, &v, 0), -EBADF);
    EXPECT_EQ(this->b().Delete(bad, &k), -EBADF);
    EXPECT_EQ(this->b().GetNextKey(bad, &k, &next), -EBADF);
    EXPECT_EQ(this->b().LookupAndDelete(bad, &k, &v, 0), -EBADF);
  }
}

// An open descriptor that is not a map -> EINVAL.
TYPED_TEST_P(SyscallConformance, NonMapFdIsEinval) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  uint32_t k = 0, next;
  uint64_t v = 0;
  EXPECT_EQ(this->b().Lookup(fd, &k, &v, 0), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &k, &v, 0), -EINVAL);
  EXPECT_EQ(this->b().Delete(fd, &k), -EINVAL);
  EXPECT_EQ(this->b().GetNextKey(fd, &k, &next), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -EINVAL);
  close(fd);
}

// lookup and lookup_and_delete check their flags before resolving the fd.
TYPED_TEST_P(SyscallConformance, FlagCheckPrecedesFd) {
  uint32_t k = 0;
  uint64_t v = 0;
  EXPECT_EQ(this->b().Lookup(-1, &k, &v, 1), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(-1, &k, &v, 2), -EINVAL);
  EXPECT_EQ(this->b().Update(-1, &k, &v, 8), -EBADF);
}

// A NULL key is EFAULT for lookup, update, delete and lookup_and_delete.
TYPED_TEST_P(SyscallConformance, NullKeyIsEfault) {
  for (uint32_t type : this->kTypes) {
    int fd = this->MustCreate(Attr(type, 4, 8, 4));
    uint64_t v = 0;
    EXPECT_EQ(this->b().Lookup(fd, nullptr, &v, 0), -EFAULT) << type;
    EXPECT_EQ(this->b().Update(fd, nullptr, &v, 0), -EFAULT) << type;
    EXPECT_EQ(this->b().Delete(fd, nullptr), -EFAULT) << type;
    EXPECT_EQ(this->b().LookupAndDelete(fd, nullptr, &v, 0), -EFAULT) << type;
  }
}

// A NULL value: update -> EFAULT; lookup copies out only after the element
// was found, so a missing key still reports ENOENT; lookup_and_delete
// deletes before the copy-out fails. A NULL next_key: EFAULT once a next key
// exists, ENOENT otherwise.
TYPED_TEST_P(SyscallConformance, NullValueAndNextKey) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  uint32_t k = 1;
  uint64_t v = 1;
  EXPECT_EQ(this->b().Update(fd, &k, nullptr, 0), -EFAULT);
  EXPECT_EQ(this->b().Lookup(fd, &k, nullptr, 0), -ENOENT);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, nullptr), -ENOENT);
  ASSERT_EQ(this->b().Update(fd, &k, &v, 0), 0);
  EXPECT_EQ(this->b().Lookup(fd, &k, nullptr, 0), -EFAULT);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, nullptr), -EFAULT);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, nullptr, 0), -EFAULT);
  EXPECT_EQ(this->b().Lookup(fd, &k, &v, 0), -ENOENT);  // it was deleted

  int afd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4));
  EXPECT_EQ(this->b().Update(afd, &k, nullptr, 0), -EFAULT);
  EXPECT_EQ(this->b().Lookup(afd, &k, nullptr, 0), -EFAULT);
  k = 10;
  EXPECT_EQ(this->b().Lookup(afd, &k, nullptr, 0), -ENOENT);
  EXPECT_EQ(this->b().GetNextKey(afd, nullptr, nullptr), -EFAULT);
}

// BPF_F_RDONLY gives a descriptor without write permission: update, delete
// and lookup_and_delete -> EPERM (before the update's own flag check);
// lookup and get_next_key work.
TYPED_TEST_P(SyscallConformance, RdonlyFd) {
  for (uint32_t type : this->kTypes) {
    int fd = this->MustCreate(Attr(type, 4, 8, 4, BPF_F_RDONLY));
    uint32_t k = 0, next;
    uint64_t v = 0;
    EXPECT_EQ(this->b().Update(fd, &k, &v, 0), -EPERM);
    EXPECT_EQ(this->b().Update(fd, &k, &v, 8), -EPERM);
    EXPECT_EQ(this->b().Delete(fd, &k), -EPERM);
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -EPERM);
    EXPECT_EQ(this->b().Lookup(fd, &k, &v, 0),
              type == BPF_MAP_TYPE_ARRAY ? 0 : -ENOENT);
    EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next),
              type == BPF_MAP_TYPE_ARRAY ? 0 : -ENOENT);
  }
}

// BPF_F_WRONLY: lookup, get_next_key and lookup_and_delete -> EPERM; update
// and delete work. The lookup flag check still comes first.
TYPED_TEST_P(SyscallConformance, WronlyFd) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_WRONLY));
  uint32_t k = 0, next;
  uint64_t v = 0;
  EXPECT_EQ(this->b().Update(fd, &k, &v, 0), 0);
  EXPECT_EQ(this->b().Lookup(fd, &k, &v, 0), -EPERM);
  EXPECT_EQ(this->b().Lookup(fd, &k, &v, 1), -EINVAL);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -EPERM);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -EPERM);
  EXPECT_EQ(this->b().Delete(fd, &k), 0);
}

// BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG restrict programs, not syscalls.
TYPED_TEST_P(SyscallConformance, ProgAccessFlagsDoNotRestrictSyscalls) {
  for (uint32_t f :
       {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG}}) {
    int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4, f));
    uint32_t k = 3;
    uint64_t v = 30, out = 0;
    EXPECT_EQ(this->b().Update(fd, &k, &v, 0), 0);
    EXPECT_EQ(this->b().Lookup(fd, &k, &out, 0), 0);
    EXPECT_EQ(out, 30u);
    EXPECT_EQ(this->b().Delete(fd, &k), 0);
  }
}

// Maps are independent objects: two maps with the same attributes do not
// share elements, and closing one leaves the other intact.
TYPED_TEST_P(SyscallConformance, MapsAreIndependent) {
  int a = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  int b = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  ASSERT_EQ(this->Update(a, 1u, uint64_t{1}), 0);
  uint64_t v;
  EXPECT_EQ(this->Lookup(b, 1u, &v), -ENOENT);
  ASSERT_EQ(this->Update(b, 1u, uint64_t{2}), 0);
  this->CloseNow(a);
  ASSERT_EQ(this->Lookup(b, 1u, &v), 0);
  EXPECT_EQ(v, 2u);
}

REGISTER_TYPED_TEST_SUITE_P(SyscallConformance, ClosedFdIsEbadf,
                            NonMapFdIsEinval, FlagCheckPrecedesFd,
                            NullKeyIsEfault, NullValueAndNextKey, RdonlyFd,
                            WronlyFd, ProgAccessFlagsDoNotRestrictSyscalls,
                            MapsAreIndependent);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_SYSCALL_CONFORMANCE_H_
