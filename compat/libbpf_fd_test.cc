// SPDX-License-Identifier: Apache-2.0
// libbpf's ensure_good_fd() on libbpfemu: a map fd that would land on 0-2 is
// moved above them and keeps its access (issue 20 item 6: a BPF_F_RDONLY fd
// used to come back writable).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "emu/bpffs.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace {

TEST(LibbpfFd, ReadOnlyFdMovedOffStdioStaysReadOnly) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/fd_test");
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ro", 4, 8, 2, nullptr);
  ASSERT_GE(fd, 3);
  const uint32_t k = 0;
  uint64_t v = 5;
  ASSERT_EQ(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
  ASSERT_EQ(bpf_obj_pin(fd, "/sys/fs/bpf/ro"), 0);
  // Free fd 0 so that the next open lands on it, as after close(0).
  const int saved_stdin = fcntl(0, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(close(0), 0);
  LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
  const int ro = bpf_obj_get_opts("/sys/fs/bpf/ro", &opts);
  const int err = errno;
  ASSERT_EQ(dup2(saved_stdin, 0), 0);
  close(saved_stdin);
  ASSERT_GE(ro, 3) << "errno " << err;
  uint64_t out = 0;
  EXPECT_EQ(bpf_map_lookup_elem(ro, &k, &out), 0);
  EXPECT_EQ(out, 5u);
  v = 6;
  EXPECT_EQ(bpf_map_update_elem(ro, &k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(bpf_map_lookup_elem(fd, &k, &out), 0);
  EXPECT_EQ(out, 5u);
  bpfemu::CloseFd(ro);
  bpfemu::CloseFd(fd);
}

// A program loaded with stdin closed lands on fd 0 and is moved off it as
// a program. On 2a24bd8 the move asked for a map copy, got EINVAL, closed
// the program and bpf_prog_load failed with EINVAL.
TEST(LibbpfFd, ProgramLoadedOnStdinIsMovedNotLost) {
  if (geteuid() != 0) GTEST_SKIP() << "bpf_prog_load needs CAP_BPF (root)";
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 7},
      {.code = BPF_JMP | BPF_EXIT},
  };
  const int saved_stdin = fcntl(0, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(close(0), 0);
  const int prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "stdin", "GPL",
                                 insns, 2, nullptr);
  const int err = errno;
  const int zero_open = fcntl(0, F_GETFD);
  ASSERT_EQ(dup2(saved_stdin, 0), 0);
  close(saved_stdin);
  ASSERT_GE(prog, 3) << "errno " << err;
  EXPECT_EQ(zero_open, -1);  // the fd on 0 was closed
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(prog, &info, &len), 0);
  EXPECT_EQ(info.type, BPF_PROG_TYPE_SOCKET_FILTER);
  bpfemu::CloseFd(prog);
}

}  // namespace
