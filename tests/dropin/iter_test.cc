// SPDX-License-Identifier: Apache-2.0
// libbpfemu's iterator calls (compat/libbpf_attach.cc, libbpf_compat.cc):
// bpf_program__attach of an iter/ program, bpf_program__attach_iter,
// bpf_iter_create, bpf_link_detach, and a skeleton's attach and detach,
// on tests/examples/map_iter.bpf.o (emu/bpf_iter.h;
// tests/examples/map_iter_compare_test.cc compares the iterator itself
// with the kernel).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "emu/kernel_btf.h"
#include "gtest/gtest.h"

namespace {

std::string ReadAll(int fd) {
  std::string text;
  char buf[64];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) text.append(buf, n);
  return text;
}

class IterDropin : public ::testing::Test {
 protected:
  void SetUp() override {
    if (bpfemu::KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    obj_ = bpf_object__open_file("tests/examples/map_iter.bpf.o", nullptr);
    ASSERT_NE(obj_, nullptr) << errno;
    dump_ = bpf_object__find_program_by_name(obj_, "dump_maps");
    ASSERT_NE(dump_, nullptr);
    // write_chunks needs no attach here.
    bpf_program__set_autoattach(
        bpf_object__find_program_by_name(obj_, "write_chunks"), false);
  }
  void TearDown() override { bpf_object__close(obj_); }
  bpf_object* obj_ = nullptr;
  bpf_program* dump_ = nullptr;
};

TEST_F(IterDropin, AttachBySectionThenRead) {
  errno = 0;
  EXPECT_EQ(bpf_program__attach_iter(dump_, nullptr), nullptr);
  EXPECT_EQ(errno, EINVAL);  // not loaded yet
  ASSERT_EQ(bpf_object__load(obj_), 0);
  bpf_link* link = bpf_program__attach(dump_);  // SEC("iter/bpf_map")
  ASSERT_NE(link, nullptr) << errno;
  const int it = bpf_iter_create(bpf_link__fd(link));
  ASSERT_GE(it, 0) << errno;
  // No ids set: no map matches.
  EXPECT_EQ(ReadAll(it), "matched 0 maps\ncounted 3\ndone\n");
  close(it);
  EXPECT_EQ(bpf_link_detach(bpf_link__fd(link)), -EOPNOTSUPP);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(bpf_link__destroy(link), 0);
  // bpf_iter_attach_opts' link_info reaches BPF_LINK_CREATE: a bpf_map
  // iterator takes none, but bytes past the union must be zero.
  char info[32] = {};
  info[20] = 1;
  LIBBPF_OPTS(bpf_iter_attach_opts, o,
              .link_info = reinterpret_cast<bpf_iter_link_info*>(info),
              .link_info_len = sizeof(info));
  EXPECT_EQ(bpf_program__attach_iter(dump_, &o), nullptr);
  EXPECT_EQ(errno, E2BIG);
}

TEST_F(IterDropin, SkeletonAttachesIteratorsAndDetaches) {
  ASSERT_EQ(bpf_object__load(obj_), 0);
  auto* s = static_cast<bpf_object_skeleton*>(
      std::calloc(1, sizeof(bpf_object_skeleton)));
  bpf_link* links[2] = {};
  bpf_program* progs[2] = {
      dump_, bpf_object__find_program_by_name(obj_, "write_chunks")};
  s->sz = sizeof(*s);
  s->name = "map_iter";
  s->obj = &obj_;
  s->prog_cnt = 2;
  s->prog_skel_sz = sizeof(bpf_prog_skeleton);
  s->progs = static_cast<bpf_prog_skeleton*>(
      std::calloc(2, sizeof(bpf_prog_skeleton)));
  for (int i = 0; i < 2; ++i) {
    s->progs[i].name = bpf_program__name(progs[i]);
    s->progs[i].prog = &progs[i];
    s->progs[i].link = &links[i];
  }
  ASSERT_EQ(bpf_object__attach_skeleton(s), 0);
  ASSERT_NE(links[0], nullptr);
  EXPECT_EQ(links[1], nullptr);  // autoattach off
  const int it = bpf_iter_create(bpf_link__fd(links[0]));
  ASSERT_GE(it, 0);
  EXPECT_EQ(ReadAll(it), "matched 0 maps\ncounted 3\ndone\n");
  close(it);
  bpf_object__detach_skeleton(s);
  EXPECT_EQ(links[0], nullptr);
  bpf_object__destroy_skeleton(s);  // closes the object
  obj_ = nullptr;
}

}  // namespace
