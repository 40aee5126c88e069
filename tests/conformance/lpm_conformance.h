// SPDX-License-Identifier: Apache-2.0
// File: lpm_conformance.h
//
// LpmConformance: BPF_MAP_TYPE_LPM_TRIE through the syscall and the program
// face, mirroring kernel/bpf/lpm_trie.c (trie_alloc, trie_update_elem,
// trie_delete_elem, trie_lookup_elem, trie_get_next_key) and the generic
// batch ops its ops table names. Every value was measured on 6.18; kernel
// maps are kept small.

#ifndef BPFEMU_TESTS_CONFORMANCE_LPM_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_LPM_CONFORMANCE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

// struct bpf_lpm_trie_key_u8 with four data bytes (an IPv4 prefix).
struct LpmKey4 {
  uint32_t prefixlen;
  uint8_t data[4];
  bool operator==(const LpmKey4&) const = default;
};

inline LpmKey4 Cidr(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint32_t len) {
  return LpmKey4{len, {a, b, c, d}};
}

inline std::string CidrString(const LpmKey4& k) {
  return std::to_string(k.data[0]) + "." + std::to_string(k.data[1]) + "." +
         std::to_string(k.data[2]) + "." + std::to_string(k.data[3]) + "/" +
         std::to_string(k.prefixlen);
}

template <class B>
class LpmConformance : public ConformanceTest<B> {
 protected:
  static MapAttr Lpm(uint32_t key_size, uint32_t value_size,
                     uint32_t max_entries, uint32_t flags = BPF_F_NO_PREALLOC) {
    return Attr(BPF_MAP_TYPE_LPM_TRIE, key_size, value_size, max_entries,
                flags);
  }
  std::vector<std::string> Walk(int fd) {
    std::vector<std::string> out;
    for (const LpmKey4& k : this->template Keys<LpmKey4>(fd, 64)) {
      out.push_back(CidrString(k));
    }
    return out;
  }
  uint64_t Get(int fd, LpmKey4 k, int* err) {
    uint64_t v = 0;
    *err = this->Lookup(fd, k, &v);
    return v;
  }
};
TYPED_TEST_SUITE_P(LpmConformance);

// trie_alloc()'s attribute checks, and map_create()'s map_extra check.
TYPED_TEST_P(LpmConformance, CreateChecks) {
  EXPECT_GE(this->Create(this->Lpm(8, 8, 4)), 0);
  EXPECT_GE(this->Create(this->Lpm(5, 1, 1)), 0);    // 1 data byte
  EXPECT_GE(this->Create(this->Lpm(260, 1, 1)), 0);  // 256 data bytes
  EXPECT_EQ(this->Create(this->Lpm(4, 8, 4)), -EINVAL);
  EXPECT_EQ(this->Create(this->Lpm(261, 8, 4)), -EINVAL);
  EXPECT_EQ(this->Create(this->Lpm(0, 8, 4)), -EINVAL);
  EXPECT_EQ(this->Create(this->Lpm(8, 0, 4)), -EINVAL);
  EXPECT_EQ(this->Create(this->Lpm(8, 8, 0)), -EINVAL);
  EXPECT_EQ(this->Create(this->Lpm(8, 8, 4, 0)), -EINVAL);
  EXPECT_EQ(
      this->Create(this->Lpm(8, 8, 4, BPF_F_NO_PREALLOC | BPF_F_MMAPABLE)),
      -EINVAL);
  EXPECT_EQ(
      this->Create(this->Lpm(8, 8, 4, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED)),
      -EINVAL);
  EXPECT_GE(
      this->Create(this->Lpm(8, 8, 4, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG)),
      0);
  EXPECT_EQ(
      this->Create(this->Lpm(
          8, 8, 4, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
      -EINVAL);
  MapAttr extra = this->Lpm(8, 8, 4);
  extra.map_extra = 1;
  EXPECT_EQ(this->Create(extra), -EINVAL);
  // LPM_VAL_SIZE_MAX: KMALLOC_MAX_SIZE - 256 - sizeof(struct lpm_trie_node)
  // (40 bytes up to 6.12, 24 after): nodes are allocated per update, so
  // the largest value costs nothing at creation.
  EXPECT_GE(this->Create(this->Lpm(8, (1u << 22) - 256 - 40, 1)), 0);
  EXPECT_EQ(this->Create(this->Lpm(8, (1u << 22) - 256, 1)), -EINVAL);
  // No preallocation: max_entries is not bounded by memory.
  EXPECT_GE(this->Create(this->Lpm(8, 8, UINT32_MAX)), 0);
  MapInfo info{};
  const int fd = this->MustCreate(this->Lpm(20, 12, 100));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_LPM_TRIE});
  EXPECT_EQ(info.key_size, 20u);
  EXPECT_EQ(info.value_size, 12u);
  EXPECT_EQ(info.max_entries, 100u);
  EXPECT_EQ(info.map_flags, uint32_t{BPF_F_NO_PREALLOC});
}

// The example at the top of lpm_trie.c: longest match, intermediate nodes
// never answer, post-order walk, exact-prefix delete.
TYPED_TEST_P(LpmConformance, LongestPrefixAndPostOrder) {
  const int fd = this->MustCreate(this->Lpm(8, 8, 16));
  ASSERT_EQ(this->Update(fd, Cidr(192, 168, 0, 0, 16), 1, BPF_NOEXIST), 0);
  ASSERT_EQ(this->Update(fd, Cidr(192, 168, 0, 0, 24), 2, BPF_NOEXIST), 0);
  ASSERT_EQ(this->Update(fd, Cidr(192, 168, 128, 0, 24), 3, BPF_NOEXIST), 0);
  ASSERT_EQ(this->Update(fd, Cidr(192, 168, 1, 0, 24), 5, BPF_NOEXIST), 0);
  int err;
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 1, 9, 32), &err), 5u);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 0, 9, 32), &err), 2u);
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 77, 9, 32), &err), 1u);
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 1, 0, 23), &err), 1u);
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 0, 0, 15), &err), 0u);
  EXPECT_EQ(err, -ENOENT);
  EXPECT_EQ(this->Get(fd, Cidr(10, 0, 0, 1, 32), &err), 0u);
  EXPECT_EQ(err, -ENOENT);
  // A prefixlen above 32 finds nothing (trie_lookup_elem returns NULL).
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 1, 9, 33), &err), 0u);
  EXPECT_EQ(err, -ENOENT);
  EXPECT_EQ(this->Walk(fd),
            (std::vector<std::string>{"192.168.0.0/24", "192.168.1.0/24",
                                      "192.168.128.0/24", "192.168.0.0/16"}));
  // An absent key, an intermediate node's prefix and an over-long key all
  // restart at the first key; the last key ends the walk.
  for (LpmKey4 k : {Cidr(10, 0, 0, 0, 8), Cidr(192, 168, 0, 0, 23),
                    Cidr(192, 168, 0, 0, 33)}) {
    LpmKey4 next{};
    ASSERT_EQ(this->b().GetNextKey(fd, &k, &next), 0) << CidrString(k);
    EXPECT_EQ(CidrString(next), "192.168.0.0/24") << CidrString(k);
  }
  LpmKey4 last = Cidr(192, 168, 0, 0, 16), next{};
  EXPECT_EQ(this->b().GetNextKey(fd, &last, &next), -ENOENT);

  EXPECT_EQ(this->Delete(fd, Cidr(192, 168, 0, 0, 23)), -ENOENT);
  EXPECT_EQ(this->Delete(fd, Cidr(192, 168, 0, 0, 20)), -ENOENT);
  EXPECT_EQ(this->Delete(fd, Cidr(192, 168, 0, 0, 33)), -EINVAL);
  ASSERT_EQ(this->Delete(fd, Cidr(192, 168, 0, 0, 16)), 0);
  EXPECT_EQ(this->Delete(fd, Cidr(192, 168, 0, 0, 16)), -ENOENT);
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 77, 9, 32), &err), 0u);
  EXPECT_EQ(err, -ENOENT);
  ASSERT_EQ(this->Delete(fd, Cidr(192, 168, 0, 0, 24)), 0);
  EXPECT_EQ(this->Walk(fd),
            (std::vector<std::string>{"192.168.1.0/24", "192.168.128.0/24"}));
  // Re-adding the /16 turns the intermediate node it left back into a real
  // one; a /23 where the intermediate node was is a new entry.
  ASSERT_EQ(this->Update(fd, Cidr(192, 168, 0, 0, 16), 7, BPF_NOEXIST), 0);
  ASSERT_EQ(this->Update(fd, Cidr(192, 168, 0, 0, 23), 8, BPF_NOEXIST), 0);
  EXPECT_EQ(this->Walk(fd),
            (std::vector<std::string>{"192.168.1.0/24", "192.168.0.0/23",
                                      "192.168.128.0/24", "192.168.0.0/16"}));
  EXPECT_EQ(this->Get(fd, Cidr(192, 168, 0, 1, 32), &err), 8u);
  // The empty trie.
  for (LpmKey4 k : {Cidr(192, 168, 1, 0, 24), Cidr(192, 168, 0, 0, 23),
                    Cidr(192, 168, 128, 0, 24), Cidr(192, 168, 0, 0, 16)}) {
    ASSERT_EQ(this->Delete(fd, k), 0) << CidrString(k);
  }
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -ENOENT);
}

// Update flags, a full trie (replacing still works), data bits past the
// prefix (stored as given), and the commands the trie has no op for.
TYPED_TEST_P(LpmConformance, UpdateFlagsAndFullTrie) {
  const int fd = this->MustCreate(this->Lpm(8, 8, 3));
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 8), 1, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 8), 1, BPF_EXIST + 1), -EINVAL);
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 8), 1, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 33), 1, BPF_ANY), -EINVAL);
  ASSERT_EQ(this->Update(fd, Cidr(10, 1, 2, 3, 8), 1, BPF_ANY), 0);
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 8), 2, BPF_NOEXIST), -EEXIST);
  ASSERT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 16), 3, BPF_ANY), 0);
  ASSERT_EQ(this->Update(fd, Cidr(10, 1, 0, 0, 16), 4, BPF_ANY), 0);
  // Full: a new prefix is ENOSPC (ENOENT with BPF_EXIST, checked first);
  // an existing one is replaced.
  EXPECT_EQ(this->Update(fd, Cidr(10, 2, 0, 0, 16), 5, BPF_ANY), -ENOSPC);
  EXPECT_EQ(this->Update(fd, Cidr(10, 2, 0, 0, 16), 5, BPF_NOEXIST), -ENOSPC);
  EXPECT_EQ(this->Update(fd, Cidr(10, 2, 0, 0, 16), 5, BPF_EXIST), -ENOENT);
  // The intermediate node 10.0.0.0/15 exists but is no entry.
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 15), 5, BPF_ANY), -ENOSPC);
  EXPECT_EQ(this->Update(fd, Cidr(10, 0, 0, 0, 15), 5, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Update(fd, Cidr(10, 9, 9, 9, 8), 6, BPF_EXIST), 0);
  EXPECT_EQ(this->Update(fd, Cidr(10, 1, 0, 0, 16), 7, BPF_ANY), 0);
  // The data of the last write is what get_next_key returns, bits past
  // the prefix included.
  EXPECT_EQ(this->Walk(fd), (std::vector<std::string>{
                                "10.0.0.0/16", "10.1.0.0/16", "10.9.9.9/8"}));
  int err;
  EXPECT_EQ(this->Get(fd, Cidr(10, 200, 0, 0, 32), &err), 6u);
  EXPECT_EQ(this->Get(fd, Cidr(10, 1, 5, 0, 32), &err), 7u);
  uint64_t v;
  LpmKey4 k = Cidr(10, 0, 0, 0, 8);
  EXPECT_EQ(this->b().Lookup(fd, &k, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -kENOTSUPP);
  // A slot freed by a delete is usable again.
  ASSERT_EQ(this->Delete(fd, Cidr(10, 0, 0, 0, 16)), 0);
  EXPECT_EQ(this->Update(fd, Cidr(10, 2, 0, 0, 16), 5, BPF_NOEXIST), 0);
}

// generic_map_{lookup,update,delete}_batch; no lookup_and_delete batch.
TYPED_TEST_P(LpmConformance, GenericBatchOps) {
  const int fd = this->MustCreate(this->Lpm(8, 8, 8));
  std::vector<LpmKey4> keys;
  std::vector<uint64_t> values;
  for (uint8_t i = 0; i < 6; ++i) {
    keys.push_back(
        Cidr(10, static_cast<uint8_t>(i * 32), 0, 0, i % 2 ? 16u : 11u));
    values.push_back(100 + i);
  }
  uint32_t count = 6;
  EXPECT_EQ(this->b().UpdateBatch(fd, keys.data(), values.data(), &count,
                                  BPF_NOEXIST, 0),
            -EINVAL);
  count = 6;
  ASSERT_EQ(this->b().UpdateBatch(fd, keys.data(), values.data(), &count, 0, 0),
            0);
  EXPECT_EQ(count, 6u);
  // Lookup in chunks of 4: the walk's order, ENOENT at the end.
  std::vector<LpmKey4> out_keys(8);
  std::vector<uint64_t> out_values(8);
  LpmKey4 cursor{};
  count = 4;
  ASSERT_EQ(this->b().LookupBatch(fd, nullptr, &cursor, out_keys.data(),
                                  out_values.data(), &count, 0, 0),
            0);
  ASSERT_EQ(count, 4u);
  LpmKey4 in = cursor;
  count = 4;
  EXPECT_EQ(this->b().LookupBatch(fd, &in, &cursor, out_keys.data() + 4,
                                  out_values.data() + 4, &count, 0, 0),
            -ENOENT);
  ASSERT_EQ(count, 2u);
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) {
    got.push_back(CidrString(out_keys[i]) + "=" +
                  std::to_string(out_values[i]));
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{
                "10.0.0.0/11=100", "10.32.0.0/16=101", "10.64.0.0/11=102",
                "10.96.0.0/16=103", "10.128.0.0/11=104", "10.160.0.0/16=105"}));
  count = 2;
  EXPECT_EQ(
      this->b().LookupAndDeleteBatch(fd, nullptr, &cursor, out_keys.data(),
                                     out_values.data(), &count, 0, 0),
      -kENOTSUPP);
  // Delete stops at the first missing key, count = the deleted ones.
  std::vector<LpmKey4> del = {keys[0], keys[1], Cidr(11, 0, 0, 0, 8), keys[2]};
  count = 4;
  EXPECT_EQ(this->b().DeleteBatch(fd, del.data(), &count, 0, 0), -ENOENT);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(this->Walk(fd),
            (std::vector<std::string>{"10.64.0.0/11", "10.96.0.0/16",
                                      "10.128.0.0/11", "10.160.0.0/16"}));
}

// Longer keys (an IPv6-sized trie) and one data byte.
TYPED_TEST_P(LpmConformance, KeySizes) {
  struct Key16 {
    uint32_t prefixlen;
    uint8_t data[16];
  };
  const int fd = this->MustCreate(this->Lpm(20, 4, 8));
  Key16 k{};
  k.data[0] = 0x20;
  k.data[1] = 0x01;
  k.prefixlen = 16;
  uint32_t v = 1;
  ASSERT_EQ(this->b().Update(fd, &k, &v, BPF_ANY), 0);
  k.prefixlen = 128;
  k.data[15] = 1;
  v = 2;
  ASSERT_EQ(this->b().Update(fd, &k, &v, BPF_ANY), 0);
  k.prefixlen = 129;
  EXPECT_EQ(this->b().Update(fd, &k, &v, BPF_ANY), -EINVAL);
  k.prefixlen = 128;
  k.data[15] = 2;
  ASSERT_EQ(this->b().Lookup(fd, &k, &v, 0), 0);
  EXPECT_EQ(v, 1u);
  k.data[15] = 1;
  ASSERT_EQ(this->b().Lookup(fd, &k, &v, 0), 0);
  EXPECT_EQ(v, 2u);

  struct Key1 {
    uint32_t prefixlen;
    uint8_t data;
  } __attribute__((packed));
  const int fd1 = this->MustCreate(this->Lpm(5, 1, 4));
  Key1 a{0, 0};
  uint8_t b = 9;
  ASSERT_EQ(this->b().Update(fd1, &a, &b, BPF_ANY), 0);  // the /0 default
  a = {8, 0xff};
  EXPECT_EQ(this->b().Update(fd1, &a, &b, BPF_NOEXIST), 0);
  a = {9, 0xff};
  EXPECT_EQ(this->b().Update(fd1, &a, &b, BPF_ANY), -EINVAL);
  a = {8, 0x7f};
  b = 0;
  ASSERT_EQ(this->b().Lookup(fd1, &a, &b, 0), 0);
  EXPECT_EQ(b, 9);
  Key1 next{};
  ASSERT_EQ(this->b().GetNextKey(fd1, nullptr, &next), 0);
  EXPECT_EQ(next.prefixlen, 8u);
  EXPECT_EQ(next.data, 0xff);
}

// A program's bpf_map_lookup_elem and bpf_map_update_elem reach the same
// ops (8-byte keys: prefixlen and four data bytes).
TYPED_TEST_P(LpmConformance, ProgramFace) {
  const int fd = this->MustCreate(this->Lpm(8, 8, 4));
  LpmKey4 k = Cidr(10, 0, 0, 0, 8);
  uint64_t key8;
  std::memcpy(&key8, &k, 8);
  ASSERT_EQ(this->b().ProgUpdate(fd, key8, 77), 0);
  LpmKey4 q = Cidr(10, 1, 2, 3, 32);
  uint64_t v = 0;
  ASSERT_EQ(this->b().ProgLookup(fd, &q, sizeof(q), &v), 0);
  EXPECT_EQ(v, 77u);
  q = Cidr(11, 1, 2, 3, 32);
  EXPECT_EQ(this->b().ProgLookup(fd, &q, sizeof(q), &v), -ENOENT);
  LpmKey4 bad = Cidr(10, 0, 0, 0, 40);
  std::memcpy(&key8, &bad, 8);
  EXPECT_EQ(this->b().ProgUpdate(fd, key8, 1), -EINVAL);
}

REGISTER_TYPED_TEST_SUITE_P(LpmConformance, CreateChecks,
                            LongestPrefixAndPostOrder, UpdateFlagsAndFullTrie,
                            GenericBatchOps, KeySizes, ProgramFace);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_LPM_CONFORMANCE_H_
