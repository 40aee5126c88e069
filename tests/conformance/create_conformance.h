// SPDX-License-Identifier: Apache-2.0
// File: create_conformance.h
//
// CreateConformance: BPF_MAP_CREATE attribute validation for HASH and ARRAY,
// in the kernel's order (kernel/bpf/syscall.c map_create, hashtab.c
// htab_map_alloc_check / htab_map_alloc, arraymap.c array_map_alloc_check).
// Expected errnos were measured on 6.18 (kernel/bpf/syscall.c map_create);
// every case runs on every backend.
//
// Kernel maps are real memory: cases that must succeed use small maps, and
// size limits are probed only with attributes that fail.

#ifndef BPFEMU_TESTS_CONFORMANCE_CREATE_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_CREATE_CONFORMANCE_H_

#include <cstring>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class CreateConformance : public ConformanceTest<B> {};
TYPED_TEST_SUITE_P(CreateConformance);

constexpr uint32_t kHash = BPF_MAP_TYPE_HASH;
constexpr uint32_t kArray = BPF_MAP_TYPE_ARRAY;

// Zero key, value or max_entries is EINVAL for both families.
TYPED_TEST_P(CreateConformance, ZeroSizesAreEinval) {
  for (uint32_t type : {kHash, kArray}) {
    EXPECT_EQ(this->Create(Attr(type, 0, 8, 16)), -EINVAL) << type;
    EXPECT_EQ(this->Create(Attr(type, 4, 0, 16)), -EINVAL) << type;
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 0)), -EINVAL) << type;
  }
}

// Flag bits neither family knows: STACK_BUILD_ID (5), CLONE (9),
// PRESERVE_ELEMS (11), bits 13-15 and 17-19.
TYPED_TEST_P(CreateConformance, UnknownFlagsAreEinval) {
  for (uint32_t bit : {5u, 9u, 11u, 13u, 14u, 15u, 17u, 18u, 19u, 31u}) {
    EXPECT_EQ(this->Create(Attr(kHash, 4, 8, 16, 1u << bit)), -EINVAL) << bit;
    EXPECT_EQ(this->Create(Attr(kArray, 4, 8, 16, 1u << bit)), -EINVAL) << bit;
  }
}

// Flags the hash family accepts; NO_COMMON_LRU is for LRU maps only, and
// MMAPABLE / INNER_MAP are for arrays only.
TYPED_TEST_P(CreateConformance, HashFlagSet) {
  for (uint32_t f : {0u, uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_RDONLY},
                     uint32_t{BPF_F_WRONLY}, uint32_t{BPF_F_RDONLY_PROG},
                     uint32_t{BPF_F_WRONLY_PROG}, uint32_t{BPF_F_ZERO_SEED},
                     uint32_t{BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED}}) {
    EXPECT_GE(this->Create(Attr(kHash, 4, 8, 16, f)), 0) << f;
  }
  for (uint32_t f : {uint32_t{BPF_F_NO_COMMON_LRU},
                     uint32_t{BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU},
                     uint32_t{BPF_F_MMAPABLE}, uint32_t{BPF_F_INNER_MAP}}) {
    EXPECT_EQ(this->Create(Attr(kHash, 4, 8, 16, f)), -EINVAL) << f;
  }
}

// Flags the array family accepts: no NO_PREALLOC, no ZERO_SEED.
TYPED_TEST_P(CreateConformance, ArrayFlagSet) {
  for (uint32_t f : {0u, uint32_t{BPF_F_RDONLY}, uint32_t{BPF_F_WRONLY},
                     uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG},
                     uint32_t{BPF_F_MMAPABLE}, uint32_t{BPF_F_INNER_MAP}}) {
    EXPECT_GE(this->Create(Attr(kArray, 4, 8, 16, f)), 0) << f;
  }
  for (uint32_t f : {uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_NO_COMMON_LRU},
                     uint32_t{BPF_F_ZERO_SEED}}) {
    EXPECT_EQ(this->Create(Attr(kArray, 4, 8, 16, f)), -EINVAL) << f;
  }
}

// Mutually exclusive access flags.
TYPED_TEST_P(CreateConformance, ExclusiveAccessFlagsAreEinval) {
  for (uint32_t type : {kHash, kArray}) {
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 16, BPF_F_RDONLY | BPF_F_WRONLY)),
              -EINVAL);
    EXPECT_EQ(this->Create(
                  Attr(type, 4, 8, 16, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
              -EINVAL);
  }
}

// BPF_F_NUMA_NODE: node 0 exists, node 1 and 5 do not (one node).
TYPED_TEST_P(CreateConformance, NumaNode) {
  for (uint32_t type : {kHash, kArray}) {
    MapAttr a = Attr(type, 4, 8, 16, BPF_F_NUMA_NODE);
    EXPECT_GE(this->Create(a), 0);
    a.numa_node = 1;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a.numa_node = 5;
    EXPECT_EQ(this->Create(a), -EINVAL);
    // Without the flag the node number is ignored.
    a.map_flags = 0;
    EXPECT_GE(this->Create(a), 0);
  }
}

// map_ifindex: bpf_map_offload_map_alloc() instead of the type's alloc.
// Only ARRAY and HASH offload; lo (ifindex 1) has no ndo_bpf; 9999 names
// no device.
TYPED_TEST_P(CreateConformance, DeviceOffload) {
  for (uint32_t type : {kHash, kArray}) {
    MapAttr a = Attr(type, 4, 8, 16);
    a.map_ifindex = 1;
    EXPECT_EQ(this->Create(a), -EOPNOTSUPP);
    a.map_ifindex = 9999;
    EXPECT_EQ(this->Create(a), -EINVAL);
  }
  MapAttr a = Attr(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16);
  a.map_ifindex = 1;
  EXPECT_EQ(this->Create(a), -EINVAL);
  // The type's own checks come first: a zero value size is refused
  // before the device is looked at.
  a = Attr(kArray, 4, 0, 16);
  a.map_ifindex = 1;
  EXPECT_EQ(this->Create(a), -EINVAL);
}

// map_extra is only for BLOOM_FILTER / ARENA; BTF ids must come as a pair;
// a vmlinux value type is only for STRUCT_OPS; BPF_F_TOKEN_FD with fd 0 is
// not a token.
TYPED_TEST_P(CreateConformance, SyscallLevelAttributeChecks) {
  for (uint32_t type : {kHash, kArray}) {
    MapAttr a = Attr(type, 4, 8, 16);
    a.map_extra = 1;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a = Attr(type, 4, 8, 16);
    a.btf_key_type_id = 1;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a = Attr(type, 4, 8, 16);
    a.btf_vmlinux_value_type_id = 1;
    EXPECT_EQ(this->Create(a), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 16, kBpfFTokenFd)), -EINVAL);
  }
}

TYPED_TEST_P(CreateConformance, UnknownMapTypeIsEinval) {
  EXPECT_EQ(this->Create(Attr(1000, 4, 8, 16)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(0xffffffff, 4, 8, 16)), -EINVAL);
}

// bpf_obj_name_cpy(): [A-Za-z0-9_.] and Latin-1 letters, NUL within 16 bytes;
// checked after allocation, so an attribute error wins (both EINVAL here).
TYPED_TEST_P(CreateConformance, MapNames) {
  auto with_name = [](const char* name, size_t n) {
    MapAttr a = Attr(kHash, 4, 8, 16);
    std::memcpy(a.map_name, name, n);
    return a;
  };
  EXPECT_GE(this->Create(with_name("ok_.x", 6)), 0);
  EXPECT_GE(this->Create(with_name("abcdefghijklmno", 16)), 0);  // 15 + NUL
  EXPECT_EQ(this->Create(with_name("a-b", 4)), -EINVAL);
  EXPECT_EQ(this->Create(with_name("a b", 4)), -EINVAL);
  EXPECT_EQ(this->Create(with_name("abcdefghijklmnop", 16)), -EINVAL);
  // The kernel's isalnum() is lib/ctype.c's Latin-1 table: 0xc0-0xff are
  // letters but for 0xd7 and 0xf7; 0x80-0xbf are not.
  EXPECT_GE(this->Create(with_name("a\xc0\xd4\xff", 5)), 0);
  EXPECT_GE(this->Create(with_name("\xdf\xe0\xf8", 4)), 0);
  EXPECT_EQ(this->Create(with_name("a\xd7", 3)), -EINVAL);
  EXPECT_EQ(this->Create(with_name("a\xf7", 3)), -EINVAL);
  EXPECT_EQ(this->Create(with_name("a\xbf", 3)), -EINVAL);
  EXPECT_EQ(this->Create(with_name("a\x80", 3)), -EINVAL);
  MapAttr bad_both = with_name("a-b", 4);
  bad_both.key_size = 0;
  EXPECT_EQ(this->Create(bad_both), -EINVAL);
}

// key_size + value_size must stay below KMALLOC_MAX_SIZE - sizeof(htab_elem)
// = 4194256; there is no separate key limit. (NO_PREALLOC, so the accepted
// maps allocate no elements.)
TYPED_TEST_P(CreateConformance, HashElementSizeLimit) {
  const uint32_t np = BPF_F_NO_PREALLOC;
  EXPECT_GE(this->Create(Attr(kHash, 4, 4194251, 1, np)), 0);
  EXPECT_EQ(this->Create(Attr(kHash, 4, 4194252, 1, np)), -E2BIG);
  EXPECT_GE(this->Create(Attr(kHash, 4194251, 4, 1, np)), 0);
  EXPECT_EQ(this->Create(Attr(kHash, 4194252, 4, 1, np)), -E2BIG);
  EXPECT_EQ(this->Create(Attr(kHash, 0xffffffff, 1, 1, np)), -E2BIG);
  // The zero check precedes the size check.
  EXPECT_EQ(this->Create(Attr(kHash, 0, 0xffffff00, 1, np)), -EINVAL);
}

// n_buckets = roundup_pow_of_two(max_entries) must fit U32_MAX / 16, so
// max_entries <= 2^27 (only failing sizes are probed).
TYPED_TEST_P(CreateConformance, HashMaxEntriesCeiling) {
  for (uint32_t flags : {0u, uint32_t{BPF_F_NO_PREALLOC}}) {
    for (uint32_t max :
         {(1u << 27) + 1, 1u << 28, 1u << 31, (1u << 31) + 1, 0xffffffffu}) {
      EXPECT_EQ(this->Create(Attr(kHash, 4, 8, max, flags)), -E2BIG) << max;
    }
  }
}

// Arrays: u32 keys only; value_size above INT_MAX is E2BIG, after the
// combined EINVAL test.
TYPED_TEST_P(CreateConformance, ArraySizes) {
  for (uint32_t ks : {1u, 3u, 5u, 8u}) {
    EXPECT_EQ(this->Create(Attr(kArray, ks, 8, 16)), -EINVAL) << ks;
  }
  EXPECT_EQ(this->Create(Attr(kArray, 4, 0x80000000u, 1)), -E2BIG);
  EXPECT_EQ(this->Create(Attr(kArray, 4, 0xffffffffu, 1)), -E2BIG);
  EXPECT_EQ(this->Create(Attr(kArray, 8, 0x80000000u, 1)), -EINVAL);
  EXPECT_GE(this->Create(Attr(kArray, 4, 1, 1)), 0);
  EXPECT_GE(this->Create(Attr(kArray, 4, 3, 3)), 0);
}

// Hash keys and values of any size >= 1 are accepted.
TYPED_TEST_P(CreateConformance, HashOddSizes) {
  for (uint32_t ks : {1u, 3u, 5u, 8u, 13u}) {
    EXPECT_GE(this->Create(Attr(kHash, ks, 8, 16)), 0) << ks;
  }
  for (uint32_t vs : {1u, 3u, 5u, 9u}) {
    EXPECT_GE(this->Create(Attr(kHash, 4, vs, 16)), 0) << vs;
  }
}

// LRU creation (htab_map_alloc_check, htab_map_alloc): NO_PREALLOC is
// ENOTSUPP (524) and wins over a zero size but not over an unknown flag;
// NO_COMMON_LRU is for LRU only; NUMA_NODE excludes per-CPU values and
// per-CPU lists.
TYPED_TEST_P(CreateConformance, LruFlags) {
  for (uint32_t type : {BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    SCOPED_TRACE(type);
    const bool percpu = type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    EXPECT_GE(this->Create(Attr(type, 4, 8, 16)), 0);
    EXPECT_GE(this->Create(Attr(type, 4, 8, 16, BPF_F_NO_COMMON_LRU)), 0);
    EXPECT_GE(this->Create(Attr(type, 4, 8, 16, BPF_F_ZERO_SEED)), 0);
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 16, BPF_F_NO_PREALLOC)),
              -kENOTSUPP);
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 16,
                                BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU)),
              -kENOTSUPP);
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 0, BPF_F_NO_PREALLOC)), -kENOTSUPP);
    EXPECT_EQ(
        this->Create(Attr(type, 4, 8, 16, BPF_F_NO_PREALLOC | (1u << 13))),
        -EINVAL);
    EXPECT_EQ(this->Create(
                  Attr(type, 4, 8, 16, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU)),
              -EINVAL);
    if (percpu) {
      EXPECT_EQ(this->Create(Attr(type, 4, 8, 16, BPF_F_NUMA_NODE)), -EINVAL);
    } else {
      EXPECT_GE(this->Create(Attr(type, 4, 8, 16, BPF_F_NUMA_NODE)), 0);
    }
    EXPECT_EQ(this->Create(Attr(type, 0, 8, 16)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 4, 8, (1u << 27) + 1)), -E2BIG);
    if (percpu) {
      EXPECT_EQ(this->Create(Attr(type, 4, 32769, 1)), -E2BIG);
    }
  }
  for (uint32_t type : {BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY}) {
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 16, BPF_F_NO_COMMON_LRU)), -EINVAL);
  }
}

// NO_COMMON_LRU rounds max_entries up to a multiple of the possible-CPU
// count (down if that overflows); the map reports the rounded value. Other
// maps report max_entries as given, and BPF_F_RDONLY / BPF_F_WRONLY are fd
// properties that are not reported in map_flags.
TYPED_TEST_P(CreateConformance, ReportedAttributes) {
  const uint32_t ncpu = static_cast<uint32_t>(this->b().NumPossibleCpus());
  auto reported = [&](const MapAttr& a) {
    MapInfo info{};
    int fd = this->MustCreate(a);
    EXPECT_EQ(this->b().GetMapInfo(fd, &info), 0);
    this->CloseNow(fd);
    return info;
  };
  for (uint32_t max : {1u, 3u, 5u, 16u}) {
    MapInfo i =
        reported(Attr(BPF_MAP_TYPE_LRU_HASH, 4, 8, max, BPF_F_NO_COMMON_LRU));
    EXPECT_EQ(i.max_entries, (max + ncpu - 1) / ncpu * ncpu) << max;
    EXPECT_EQ(i.map_flags, uint32_t{BPF_F_NO_COMMON_LRU});
    EXPECT_EQ(reported(Attr(BPF_MAP_TYPE_LRU_HASH, 4, 8, max)).max_entries,
              max);
    EXPECT_EQ(reported(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, max)).max_entries, max);
  }
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_LRU_HASH, 4, 8, 0xffffffffu,
                              BPF_F_NO_COMMON_LRU)),
            -E2BIG);
  MapInfo ro = reported(
      Attr(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY | BPF_F_ZERO_SEED));
  EXPECT_EQ(ro.map_flags, uint32_t{BPF_F_ZERO_SEED});
  EXPECT_EQ(ro.type, uint32_t{BPF_MAP_TYPE_HASH});
  EXPECT_EQ(ro.key_size, 4u);
  EXPECT_EQ(ro.value_size, 8u);
  EXPECT_EQ(reported(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_WRONLY)).map_flags,
            0u);
}

REGISTER_TYPED_TEST_SUITE_P(CreateConformance, ZeroSizesAreEinval,
                            UnknownFlagsAreEinval, HashFlagSet, ArrayFlagSet,
                            ExclusiveAccessFlagsAreEinval, NumaNode,
                            DeviceOffload, SyscallLevelAttributeChecks,
                            UnknownMapTypeIsEinval, MapNames,
                            HashElementSizeLimit, HashMaxEntriesCeiling,
                            ArraySizes, HashOddSizes, LruFlags,
                            ReportedAttributes);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_CREATE_CONFORMANCE_H_
