// SPDX-License-Identifier: Apache-2.0
// libbpfemu's trampoline attach calls (compat/libbpf_attach.cc) on
// tests/examples/fentry.bpf.o: bpf_program__attach of fentry/, fexit/ and
// fmod_ret/ sections, bpf_program__attach_trace_opts with a cookie,
// bpf_raw_tracepoint_open, bpf_link_detach and bpf_link__destroy, with
// bpf_prog_test_run_opts running what is attached (emu/trampoline.h;
// tests/examples/fentry_compare_test.cc compares the scenario with the
// kernel).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "emu/kernel_btf.h"
#include "gtest/gtest.h"

namespace {

class FentryDropin : public ::testing::Test {
 protected:
  void SetUp() override {
    if (bpfemu::KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    obj_ = bpf_object__open_file("tests/examples/fentry.bpf.o", nullptr);
    ASSERT_NE(obj_, nullptr) << errno;
  }
  void TearDown() override { bpf_object__close(obj_); }
  // out.hits[i] and the u64 at byte `off` of `out` (fentry.bpf.c).
  uint64_t Out(size_t off) {
    uint8_t v[512] = {};
    const uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_object__find_map_fd_by_name(obj_, "out"),
                                  &zero, v),
              0);
    uint64_t r;
    std::memcpy(&r, v + off, sizeof(r));
    return r;
  }
  int Prog(const char* name) {
    return bpf_program__fd(bpf_object__find_program_by_name(obj_, name));
  }
  bpf_object* obj_ = nullptr;
};

TEST_F(FentryDropin, AttachRunDetach) {
  bpf_program* test1 = bpf_object__find_program_by_name(obj_, "test1");
  ASSERT_NE(test1, nullptr);
  errno = 0;
  EXPECT_EQ(bpf_program__attach_trace(test1), nullptr);
  EXPECT_EQ(errno, EINVAL);  // not loaded yet
  ASSERT_EQ(bpf_object__load(obj_), 0);
  LIBBPF_OPTS(bpf_trace_opts, topts, .cookie = 42);
  bpf_link* l1 = bpf_program__attach_trace_opts(test1, &topts);
  ASSERT_NE(l1, nullptr) << errno;
  // By section: fexit/bpf_fentry_test2 and fmod_ret/bpf_modify_return_test.
  bpf_link* l2 =
      bpf_program__attach(bpf_object__find_program_by_name(obj_, "test2"));
  ASSERT_NE(l2, nullptr) << errno;
  bpf_link* lm =
      bpf_program__attach(bpf_object__find_program_by_name(obj_, "mod_ret"));
  ASSERT_NE(lm, nullptr) << errno;
  errno = 0;
  EXPECT_EQ(bpf_program__attach(test1), nullptr);  // attached already
  EXPECT_EQ(errno, EBUSY);
  LIBBPF_OPTS(bpf_test_run_opts, run);
  ASSERT_EQ(bpf_prog_test_run_opts(Prog("test1"), &run), 0);
  EXPECT_EQ(run.retval, 0u);
  EXPECT_EQ(Out(0), 1u);            // hits[0]: test1 ran
  EXPECT_EQ(Out(8), 1u);            // hits[1]: test2 ran
  EXPECT_EQ(Out(64), 1u);           // t1_a
  EXPECT_EQ(Out(64 + 7 * 8), 42u);  // t1_cookie
  ASSERT_EQ(bpf_prog_test_run_opts(Prog("mod_ret"), &run), 0);
  EXPECT_EQ(run.retval, 2u << 16 | 33);
  EXPECT_EQ(Out(32), 1u);  // hits[4]: mod_ret ran
  EXPECT_EQ(bpf_link_detach(bpf_link__fd(l1)), -EOPNOTSUPP);
  EXPECT_EQ(bpf_link__destroy(l1), 0);
  ASSERT_EQ(bpf_prog_test_run_opts(Prog("test2"), &run), 0);
  EXPECT_EQ(Out(0), 1u);  // test1 detached
  EXPECT_EQ(Out(8), 2u);
  EXPECT_EQ(bpf_raw_tracepoint_open("bpf_fentry_test1", Prog("test1")),
            -EINVAL);
  const int again = bpf_raw_tracepoint_open(nullptr, Prog("test1"));
  ASSERT_GE(again, 0) << errno;
  ASSERT_EQ(bpf_prog_test_run_opts(Prog("test2"), &run), 0);
  EXPECT_EQ(Out(0), 2u);
  EXPECT_EQ(Out(64 + 7 * 8), 0u);  // no cookie through raw_tracepoint_open
  close(again);
  bpf_link__destroy(l2);
  bpf_link__destroy(lm);
}

}  // namespace
