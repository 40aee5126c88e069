// SPDX-License-Identifier: Apache-2.0
// libbpfemu's object API on a natively built object (tests/examples
// tail_calls): bpf_program__attach* answers, native objects and autocreate,
// bpf_map__reuse_fd and the element API (issue 22). The library-wide calls
// are in compat/libbpf_api_test.cc; the comparison with real libbpf is
// //tests/dropin:soname_test.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "emu/bpffs.h"
#include "gtest/gtest.h"

namespace {

class LibbpfObjects : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    bpfemu::SetBpffsForTesting(
        "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/obj");
  }
};

TEST_F(LibbpfObjects, ProgramAttachAnswersEinvalThenEopnotsupp) {
  if (geteuid() != 0) GTEST_SKIP() << "loading programs needs CAP_BPF (root)";
  bpf_object* obj = bpf_object__open_file("tail_calls.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr) << errno;
  bpf_program* prog = bpf_object__next_program(obj, nullptr);
  ASSERT_NE(prog, nullptr);
  errno = 0;
  EXPECT_EQ(bpf_program__attach(prog), nullptr);
  EXPECT_EQ(errno, EINVAL);  // not loaded yet
  ASSERT_EQ(bpf_object__load(obj), 0);
  const int fd = bpf_program__fd(prog);
  ASSERT_GE(fd, 3);
  errno = 0;
  EXPECT_EQ(bpf_program__attach(prog), nullptr);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(bpf_program__attach_xdp(prog, 1), nullptr);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(bpf_program__attach_cgroup(prog, 0), nullptr);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(bpf_object__pin_programs(obj, "/sys/fs/bpf/progs"), -EOPNOTSUPP);
  EXPECT_EQ(bpf_object__attach_skeleton(nullptr), -EOPNOTSUPP);
  bpf_object__close(obj);
}

// A native object's code reaches its maps directly: each must be created.
TEST_F(LibbpfObjects, NativeObjectMapsCannotBeLeftUncreated) {
  if (geteuid() != 0) GTEST_SKIP() << "loading programs needs CAP_BPF (root)";
  bpf_object* obj = bpf_object__open_file("tail_calls.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  bpf_map* hits = bpf_object__find_map_by_name(obj, "hits");
  ASSERT_NE(hits, nullptr);
  ASSERT_EQ(bpf_map__set_autocreate(hits, false), 0);
  EXPECT_EQ(bpf_object__load(obj), -EOPNOTSUPP);
  bpf_object__close(obj);
}

// bpf_map__reuse_fd: the object uses the given map instead of its own.
TEST_F(LibbpfObjects, ReuseFdSharesTheMap) {
  if (geteuid() != 0) GTEST_SKIP() << "loading programs needs CAP_BPF (root)";
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hits", 4, 8, 8, nullptr);
  ASSERT_GE(fd, 3);
  const uint32_t k = 3;
  const uint64_t v = 77;
  ASSERT_EQ(bpf_map_update_elem(fd, &k, &v, 0), 0);
  bpf_object* obj = bpf_object__open_file("tail_calls.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  bpf_map* hits = bpf_object__find_map_by_name(obj, "hits");
  ASSERT_EQ(bpf_map__reuse_fd(hits, fd), 0);
  EXPECT_EQ(bpf_map__set_value_size(hits, 4), -EBUSY);
  ASSERT_EQ(bpf_object__load(obj), 0);
  uint64_t out = 0;
  ASSERT_EQ(bpf_map__lookup_elem(hits, &k, 4, &out, 8, 0), 0);
  EXPECT_EQ(out, 77u);
  bpf_object__close(obj);
  close(fd);
}

// A bytecode object's .BTF is loaded into an emulated BTF object at load,
// and its maps are created with their BTF key / value type ids (a global
// data map with its DATASEC), as libbpf does (bpf_object__load_btf,
// bpf_object__create_map).
TEST_F(LibbpfObjects, BytecodeObjectLoadsItsBtfAndTypesItsMaps) {
  struct bpf_object* obj =
      bpf_object__open_file("tests/dropin/bootstrap.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(bpf_object__btf_fd(obj), -1);  // not loaded yet
  const struct btf* btf = bpf_object__btf(obj);
  ASSERT_NE(btf, nullptr);
  ASSERT_EQ(bpf_object__load(obj), 0);
  const int btf_fd = bpf_object__btf_fd(obj);
  ASSERT_GE(btf_fd, 3);
  struct bpf_btf_info bi = {};
  __u32 len = sizeof(bi);
  ASSERT_EQ(bpf_obj_get_info_by_fd(btf_fd, &bi, &len), 0);
  int typed = 0;
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    struct bpf_map_info mi = {};
    len = sizeof(mi);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(map), &mi, &len), 0);
    EXPECT_EQ(mi.btf_value_type_id, bpf_map__btf_value_type_id(map))
        << bpf_map__name(map);
    EXPECT_EQ(mi.btf_key_type_id, bpf_map__btf_key_type_id(map))
        << bpf_map__name(map);
    if (mi.btf_value_type_id != 0) {
      EXPECT_EQ(mi.btf_id, bi.id) << bpf_map__name(map);
      ++typed;
    }
  }
  EXPECT_EQ(typed, 3);  // factors, .rodata, .bss (the ring buffer has none)
  bpf_object__close(obj);
}

}  // namespace
