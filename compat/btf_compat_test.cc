// SPDX-License-Identifier: Apache-2.0
// libbpfemu's BTF API (compat/btf_compat.cc): the builder with libbpf
// 1.1.2's return conventions, queries, raw round trips, loading into the
// emulator and reading back by id, dedup (and its hostile input), ELF
// parsing, and the kernel's own BTF from /sys/kernel/btf/vmlinux.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace {

TEST(BtfCompatTest, BuilderAndQueries) {
  struct btf* b = btf__new_empty();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(btf__type_cnt(b), 1u);
  const int u32 = btf__add_int(b, "unsigned int", 4, 0);
  EXPECT_EQ(u32, 1);
  const int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
  EXPECT_EQ(chr, 2);
  // libbpf's argument checks: -errno and errno.
  errno = 0;
  EXPECT_EQ(btf__add_int(b, "", 4, 0), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(btf__add_int(b, "x", 3, 0), -EINVAL);
  EXPECT_EQ(btf__add_int(b, "x", 4, 8), -EINVAL);
  EXPECT_EQ(btf__add_field(b, "f", u32, 0, 0), -EINVAL);  // last is an int
  const int arr = btf__add_array(b, u32, chr, 16);
  const int s = btf__add_struct(b, "rec", 24);
  EXPECT_EQ(btf__add_field(b, "id", u32, 0, 0), 0);
  EXPECT_EQ(btf__add_field(b, "name", arr, 32, 0), 0);
  EXPECT_EQ(btf__add_field(b, "flag", u32, 160, 3), 0);  // a bitfield
  EXPECT_EQ(btf__add_field(b, "bad", u32, 192, 300), -EINVAL);
  const int ptr = btf__add_ptr(b, s);
  const int td = btf__add_typedef(b, "rec_t", s);
  const int cst = btf__add_const(b, td);
  const int e = btf__add_enum(b, "color", 4);
  EXPECT_EQ(btf__add_enum_value(b, "RED", 0), 0);
  EXPECT_EQ(btf__add_enum_value(b, "NEG", -1), 0);
  EXPECT_EQ(btf__add_enum_value(b, "BIG", 1LL << 40), -E2BIG);
  const int e64 = btf__add_enum64(b, "wide", 8, false);
  EXPECT_EQ(btf__add_enum64_value(b, "HUGE", 1ULL << 40), 0);
  const int flt = btf__add_float(b, "double", 8);
  const int proto = btf__add_func_proto(b, u32);
  EXPECT_EQ(btf__add_func_param(b, "r", ptr), 0);
  const int fn = btf__add_func(b, "handle", BTF_FUNC_GLOBAL, proto);
  const int var = btf__add_var(b, "counter", BTF_VAR_GLOBAL_ALLOCATED, u32);
  const int sec = btf__add_datasec(b, ".data", 4);
  EXPECT_EQ(btf__add_datasec_var_info(b, var, 0, 4), 0);
  const int tag = btf__add_decl_tag(b, "hot", fn, -1);
  const int fwd = btf__add_fwd(b, "opaque", BTF_FWD_STRUCT);
  const int vol = btf__add_volatile(b, u32);
  const int rst = btf__add_restrict(b, ptr);
  const int tt = btf__add_type_tag(b, "user", u32);
  for (int id : {arr, s, ptr, td, cst, e, e64, flt, proto, fn, var, sec, tag,
                 fwd, vol, rst, tt}) {
    EXPECT_GT(id, 0);
  }
  EXPECT_EQ(btf__type_cnt(b), static_cast<__u32>(tt + 1));

  EXPECT_EQ(btf__find_by_name(b, "rec"), s);
  EXPECT_EQ(btf__find_by_name_kind(b, "rec_t", BTF_KIND_TYPEDEF), td);
  EXPECT_EQ(btf__find_by_name_kind(b, "rec_t", BTF_KIND_STRUCT), -ENOENT);
  EXPECT_EQ(btf__find_by_name(b, "void"), 0);
  EXPECT_EQ(btf__resolve_size(b, cst), 24);
  EXPECT_EQ(btf__resolve_size(b, arr), 16);
  EXPECT_EQ(btf__resolve_size(b, ptr), 8);
  EXPECT_EQ(btf__resolve_size(b, var), 4);
  EXPECT_EQ(btf__resolve_size(b, fn), -EINVAL);
  EXPECT_EQ(btf__resolve_type(b, cst), s);
  EXPECT_EQ(btf__align_of(b, s), 4);
  EXPECT_EQ(btf__align_of(b, ptr), 8);
  const struct btf_type* t = btf__type_by_id(b, s);
  ASSERT_NE(t, nullptr);
  EXPECT_STREQ(btf__name_by_offset(b, t->name_off), "rec");
  EXPECT_EQ(btf_vlen(t), 3);
  EXPECT_TRUE(btf_kflag(t));  // it has a bitfield
  EXPECT_EQ(btf__type_by_id(b, 1000), nullptr);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_GT(btf__find_str(b, "rec"), 0);
  EXPECT_EQ(btf__find_str(b, "nope"), -ENOENT);
  EXPECT_EQ(btf__pointer_size(b), 8u);
  EXPECT_EQ(btf__endianness(b), BTF_LITTLE_ENDIAN);

  // The raw blob parses back to the same types, and loads into the
  // emulator; the loaded object comes back by id.
  __u32 size = 0;
  const void* raw = btf__raw_data(b, &size);
  ASSERT_NE(raw, nullptr);
  struct btf* again = btf__new(raw, size);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(btf__type_cnt(again), btf__type_cnt(b));
  EXPECT_EQ(btf__find_by_name(again, "handle"), fn);
  btf__free(again);

  EXPECT_EQ(btf__fd(b), -1);
  ASSERT_EQ(btf__load_into_kernel(b), 0);
  const int fd = btf__fd(b);
  EXPECT_GE(fd, 3);
  struct bpf_btf_info info = {};
  __u32 len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  EXPECT_EQ(info.btf_size, size);
  __u32 next = 0;
  ASSERT_EQ(bpf_btf_get_next_id(0, &next), 0);
  struct btf* back = btf__load_from_kernel_by_id(info.id);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(btf__type_cnt(back), btf__type_cnt(b));
  btf__free(back);
  const int byid = bpf_btf_get_fd_by_id(info.id);
  EXPECT_GE(byid, 3);
  close(byid);

  // A map typed by this BTF.
  LIBBPF_OPTS(bpf_map_create_opts, mo, .btf_fd = static_cast<__u32>(fd),
              .btf_key_type_id = static_cast<__u32>(u32),
              .btf_value_type_id = static_cast<__u32>(s));
  const int map = bpf_map_create(BPF_MAP_TYPE_HASH, "typed", 4, 24, 4, &mo);
  ASSERT_GE(map, 3);
  struct bpf_map_info mi = {};
  len = sizeof(mi);
  ASSERT_EQ(bpf_obj_get_info_by_fd(map, &mi, &len), 0);
  EXPECT_EQ(mi.btf_id, info.id);
  EXPECT_EQ(mi.btf_value_type_id, static_cast<__u32>(s));
  close(map);
  btf__free(b);
}

TEST(BtfCompatTest, BpfBtfLoadReportsTheVerifier) {
  struct btf* b = btf__new_empty();
  btf__add_ptr(b, 5);  // no type 5
  __u32 size = 0;
  const void* raw = btf__raw_data(b, &size);
  char log[1024] = {};
  LIBBPF_OPTS(bpf_btf_load_opts, o, .log_buf = log, .log_level = 1,
              .log_size = sizeof(log));
  errno = 0;
  EXPECT_EQ(bpf_btf_load(raw, size, &o), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_NE(std::string(log).find("magic: 0xeb9f"), std::string::npos);
  EXPECT_EQ(btf__load_into_kernel(b), -EINVAL);
  btf__free(b);
}

TEST(BtfCompatTest, DedupMergesExactDuplicates) {
  struct btf* b = btf__new_empty();
  const int i1 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int p1 = btf__add_ptr(b, i1);
  const int i2 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int p2 = btf__add_ptr(b, i2);
  btf__add_struct(b, "s", 16);
  btf__add_field(b, "a", p1, 0, 0);
  btf__add_field(b, "b", p2, 64, 0);
  EXPECT_EQ(btf__type_cnt(b), 6u);
  ASSERT_EQ(btf__dedup(b, nullptr), 0);
  EXPECT_EQ(btf__type_cnt(b), 4u);  // int, int *, struct s
  const int s = btf__find_by_name(b, "s");
  const struct btf_type* t = btf__type_by_id(b, s);
  const struct btf_member* m = btf_members(t);
  EXPECT_EQ(m[0].type, m[1].type);
  btf__free(b);
}

// libbpf 1.1.2's answers: a 24-byte header with empty subsections and
// data after it parses; a header alone is EINVAL ("BTF.ext has no data"),
// flags ENOTSUP.
TEST(BtfCompatTest, ExtHeader) {
  const __u8 good[28] = {0x9f, 0xeb, 1, 0, 24, 0, 0, 0};
  struct btf_ext* e = btf_ext__new(good, sizeof(good));
  ASSERT_NE(e, nullptr);
  __u32 size = 0;
  EXPECT_NE(btf_ext__get_raw_data(e, &size), nullptr);
  EXPECT_EQ(size, 28u);
  btf_ext__free(e);
  const __u8 bad[8] = {0, 0, 1, 0, 8, 0, 0, 0};
  errno = 0;
  EXPECT_EQ(btf_ext__new(bad, sizeof(bad)), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(btf_ext__new(good, 8), nullptr);
  EXPECT_EQ(errno, EINVAL);
  __u8 flags[28] = {0x9f, 0xeb, 1, 1, 24, 0, 0, 0};
  errno = 0;
  EXPECT_EQ(btf_ext__new(flags, sizeof(flags)), nullptr);
  EXPECT_EQ(errno, ENOTSUP);
}

TEST(BtfCompatTest, VmlinuxBtf) {
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    GTEST_SKIP() << "/sys/kernel/btf/vmlinux is not readable";
  }
  struct btf* v = btf__load_vmlinux_btf();
  ASSERT_NE(v, nullptr);
  EXPECT_GT(btf__type_cnt(v), 1000u);
  const int task = btf__find_by_name_kind(v, "task_struct", BTF_KIND_STRUCT);
  EXPECT_GT(task, 0);
  EXPECT_GT(btf__resolve_size(v, task), 1000);
  btf__free(v);
  errno = 0;
  EXPECT_EQ(btf__parse_raw("/nonexistent/btf"), nullptr);
  EXPECT_EQ(errno, ENOENT);
}

}  // namespace

// btf__align_of ignores bit-fields' offsets, as libbpf 1.1.2's does: a
// bit-field of a 4-byte type at bit 3 does not make the struct packed
// (btf_dump prints layouts from this answer).
TEST(BtfCompatTest, AlignOfIgnoresBitfieldOffsets) {
  struct btf* b = btf__new_empty();
  ASSERT_NE(b, nullptr);
  const int u32 = btf__add_int(b, "unsigned int", 4, 0);
  const int u64 = btf__add_int(b, "unsigned long long", 8, 0);
  const int s = btf__add_struct(b, "bits", 16);
  ASSERT_EQ(btf__add_field(b, "a", u32, 0, 3), 0);
  ASSERT_EQ(btf__add_field(b, "d", u64, 3, 40), 0);
  ASSERT_EQ(btf__add_field(b, "e", u32, 64, 0), 0);
  EXPECT_EQ(btf__align_of(b, s), 8);
  // A plain member off its alignment still means packed.
  const int p = btf__add_struct(b, "packed", 5);
  ASSERT_EQ(btf__add_field(b, "a", u32, 8, 0), 0);
  EXPECT_EQ(btf__align_of(b, p), 1);
  btf__free(b);
}

namespace {

// Hostile input to btf__dedup: libbpf 1.1.2's -ELOOP for cycles of
// reference types; -EINVAL where libbpf reads out of bounds (a type id
// past the last type); the BTF is unchanged after an error.
TEST(BtfCompatTest, DedupRefusesMalformedBtf) {
  struct btf* b = btf__new_empty();
  btf__add_typedef(b, "a", 2);
  btf__add_typedef(b, "b", 3);
  btf__add_typedef(b, "c", 1);
  __u32 before = 0;
  const void* raw = btf__raw_data(b, &before);
  const std::string copy(static_cast<const char*>(raw), before);
  errno = 0;
  EXPECT_EQ(btf__dedup(b, nullptr), -ELOOP);
  EXPECT_EQ(errno, ELOOP);
  __u32 after = 0;
  raw = btf__raw_data(b, &after);
  EXPECT_EQ(std::string(static_cast<const char*>(raw), after), copy);
  btf__free(b);

  b = btf__new_empty();
  const int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  btf__add_struct(b, "s", 8);
  btf__add_field(b, "i", i, 0, 0);
  btf__add_field(b, "far", 77, 32, 0);
  errno = 0;
  EXPECT_EQ(btf__dedup(b, nullptr), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(btf__type_cnt(b), 3u);
  btf__free(b);
}

// Structs holding each other by value (impossible in valid BTF). Struct
// h' compares its member b (n3) with n1, which the walk already paired with
// n2 (member a): libbpf 1.1.2 then checks n2 and n3 for identical members
// and recurses without end; libbpfemu's check ends and takes them as
// identical, so everything merges into n1, m1 and h.
TEST(BtfCompatTest, DedupEndsOnStructsHoldingEachOther) {
  struct btf* b = btf__new_empty();
  // [1] n {m x}, [2] m {n x}, [3] h {n a; n b}, [4] h {n a; n b} with
  // [5] n {m x}, [6] m {n x}, [7] n {m x}, [8] m {n x}.
  const int ids[][2] = {{1, 2}, {5, 6}, {7, 8}};
  auto pair = [&](int k) {
    btf__add_struct(b, "n", 4);
    btf__add_field(b, "x", ids[k][1], 0, 0);
    btf__add_struct(b, "m", 4);
    btf__add_field(b, "x", ids[k][0], 0, 0);
  };
  pair(0);
  btf__add_struct(b, "h", 8);
  btf__add_field(b, "a", 1, 0, 0);
  btf__add_field(b, "b", 1, 32, 0);
  btf__add_struct(b, "h", 8);
  btf__add_field(b, "a", 5, 0, 0);
  btf__add_field(b, "b", 7, 32, 0);
  pair(1);
  pair(2);
  ASSERT_EQ(btf__type_cnt(b), 9u);
  EXPECT_EQ(btf__dedup(b, nullptr), 0);
  EXPECT_EQ(btf__type_cnt(b), 4u);  // void, n, m, h
  btf__free(b);
}

// Random byte flips in a deduplicatable blob: whatever btf__new accepts,
// btf__dedup answers (0 or -errno) without crashing or hanging.
TEST(BtfCompatTest, DedupSurvivesMutatedBlobs) {
  struct btf* b = btf__new_empty();
  for (int k = 0; k < 3; ++k) {
    const int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    const int s = k == 1 ? btf__add_fwd(b, "n", BTF_FWD_STRUCT)
                         : btf__add_struct(b, "n", 16);
    const int p = btf__add_ptr(b, s);
    if (k != 1) {
      btf__add_field(b, "next", p, 0, 0);
      btf__add_field(b, "v", i, 64, 0);
    }
    const int td = btf__add_typedef(b, "n_t", p);
    const int proto = btf__add_func_proto(b, i);
    btf__add_func_param(b, "arg", td);
    btf__add_func(b, "f", BTF_FUNC_GLOBAL, proto);
    btf__add_enum(b, "e", 4);
    if (k != 1) btf__add_enum_value(b, "E", k);
    btf__add_array(b, i, td, 3);
  }
  __u32 size = 0;
  const auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
  const std::string orig(reinterpret_cast<const char*>(raw), size);
  btf__free(b);
  uint32_t seed = 12345;
  auto rnd = [&seed] {
    seed = seed * 1103515245 + 12345;
    return seed >> 8;
  };
  int parsed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string m = orig;
    const int flips = 1 + rnd() % 4;
    for (int f = 0; f < flips; ++f) {
      // Past the header: the types and strings.
      const size_t at = 24 + rnd() % (m.size() - 24);
      m[at] = static_cast<char>(rnd() % 4 == 0 ? rnd()
                                               : m[at] ^ (1 << (rnd() % 8)));
    }
    struct btf* t = btf__new(m.data(), m.size());
    if (t == nullptr) continue;
    ++parsed;
    const int err = btf__dedup(t, nullptr);
    EXPECT_TRUE(err == 0 || err == -EINVAL || err == -ELOOP) << err;
    btf__free(t);
  }
  EXPECT_GT(parsed, 1000);
}

// A chain of 300,000 pointers (libbpf 1.1.2 recurses once per link and
// overflows its stack near a million): settled without deep recursion.
TEST(BtfCompatTest, DedupSettlesLongChains) {
  struct btf* b = btf__new_empty();
  constexpr int kLinks = 300000;
  for (int i = 1; i <= kLinks; ++i) btf__add_ptr(b, i + 1);
  btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  // A second chain the same: it merges into the first.
  for (int i = 1; i <= kLinks; ++i) {
    btf__add_ptr(b, i == kLinks ? kLinks + 1 : kLinks + 2 + i);
  }
  ASSERT_EQ(btf__dedup(b, nullptr), 0);
  EXPECT_EQ(btf__type_cnt(b), static_cast<__u32>(kLinks + 2));
  btf__free(b);
}

}  // namespace
