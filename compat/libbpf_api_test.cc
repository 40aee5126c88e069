// SPDX-License-Identifier: Apache-2.0
// libbpfemu's libbpf-wide calls, probes, id walks, attach answers and
// object setters (issue 22), against libbpf 1.1's behaviour
// (tools/lib/bpf/libbpf.c, libbpf_probes.c, bpf.c). The same calls are
// compared with real libbpf on the kernel by //tests/dropin:soname_test
// (libbpf_api_program.c); this test covers what only the emulator can
// show: the default printer, probes, unprivileged answers and the answers
// of calls that need kernel hooks.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "compat/libbpf_internal.h"
#include "emu/bpffs.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace {

class LibbpfApi : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    bpfemu::SetBpffsForTesting(
        "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/api");
    bpfemu::SetCallerPrivileged(true);
  }
  void TearDown() override { bpfemu::SetCallerPrivileged(true); }
};

// What a function writes to stderr.
template <typename Fn>
std::string Stderr(Fn fn) {
  std::fflush(stderr);
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe failed";
  const int saved = dup(2);
  dup2(pipefd[1], 2);
  fn();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(pipefd[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;) {
    out.append(buf, n);
  }
  close(pipefd[0]);
  return out;
}

std::string g_seen;
int Record(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[256];
  std::vsnprintf(buf, sizeof(buf), fmt, args);
  g_seen += std::to_string(level) + ":" + buf;
  return 0;
}

TEST_F(LibbpfApi, DefaultPrinterWritesWarningsAndInfoButNotDebug) {
  EXPECT_EQ(Stderr([] {
              bpfemu::compat::Print(LIBBPF_WARN, "w%d\n", 1);
              bpfemu::compat::Print(LIBBPF_INFO, "i%d\n", 2);
              bpfemu::compat::Print(LIBBPF_DEBUG, "d%d\n", 3);
            }),
            "w1\ni2\n");
}

TEST_F(LibbpfApi, SetPrintReturnsThePreviousCallbackAndNullSilences) {
  libbpf_print_fn_t def = libbpf_set_print(Record);
  ASSERT_NE(def, nullptr);
  g_seen.clear();
  errno = 42;
  bpfemu::compat::Print(LIBBPF_DEBUG, "x=%s\n", "y");
  EXPECT_EQ(errno, 42);  // printing keeps errno
  EXPECT_EQ(g_seen, "2:x=y\n");
  EXPECT_EQ(libbpf_set_print(nullptr), Record);
  EXPECT_EQ(Stderr([] { bpfemu::compat::Print(LIBBPF_WARN, "gone\n"); }), "");
  EXPECT_EQ(libbpf_set_print(def), nullptr);
}

TEST_F(LibbpfApi, LibraryWideCalls) {
  errno = 9;
  EXPECT_EQ(libbpf_get_error(nullptr), -9);
  EXPECT_EQ(libbpf_get_error(&g_seen), 0);
  EXPECT_EQ(libbpf_get_error(reinterpret_cast<void*>(-12L)), -12);
  EXPECT_EQ(errno, 12);
  EXPECT_EQ(libbpf_set_strict_mode(LIBBPF_STRICT_ALL), 0);
  EXPECT_EQ(libbpf_major_version(), 1u);
  EXPECT_EQ(libbpf_minor_version(), 1u);
  EXPECT_STREQ(libbpf_version_string(), "v1.1");
  EXPECT_STREQ(libbpf_bpf_map_type_str(BPF_MAP_TYPE_LPM_TRIE), "lpm_trie");
  EXPECT_STREQ(libbpf_bpf_map_type_str(static_cast<bpf_map_type>(32)),
               "cgrp_storage");
  EXPECT_EQ(libbpf_bpf_map_type_str(static_cast<bpf_map_type>(33)), nullptr);
  EXPECT_EQ(libbpf_bpf_map_type_str(static_cast<bpf_map_type>(-1)), nullptr);
  EXPECT_STREQ(libbpf_bpf_attach_type_str(BPF_LSM_CGROUP), "lsm_cgroup");
  EXPECT_STREQ(libbpf_bpf_prog_type_str(BPF_PROG_TYPE_SYSCALL), "syscall");
  EXPECT_STREQ(libbpf_bpf_link_type_str(BPF_LINK_TYPE_STRUCT_OPS),
               "struct_ops");
  bpf_prog_type pt;
  bpf_attach_type at;
  ASSERT_EQ(libbpf_prog_type_by_name("cgroup/connect4", &pt, &at), 0);
  EXPECT_EQ(pt, BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
  EXPECT_EQ(at, BPF_CGROUP_INET4_CONNECT);
  EXPECT_EQ(libbpf_prog_type_by_name("kprobex", &pt, &at), -ESRCH);
  EXPECT_EQ(libbpf_attach_type_by_name("kprobe/f", &at), -EINVAL);
  ASSERT_EQ(libbpf_attach_type_by_name("sk_msg", &at), 0);
  EXPECT_EQ(at, BPF_SK_MSG_VERDICT);
}

// 5cbc60a's table lacked LIBBPF_ERRNO__LOAD's entry: 4007 printed "Program
// too big" and 4013 "(null)".
TEST_F(LibbpfApi, StrerrorOfEveryLibbpfErrno) {
  char buf[64];
  ASSERT_EQ(libbpf_strerror(4006, buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "(null)");
  ASSERT_EQ(libbpf_strerror(4007, buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "Kernel verifier blocks program loading");
  ASSERT_EQ(libbpf_strerror(-4013, buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "Incorrect netlink message parsing");
  EXPECT_EQ(libbpf_strerror(4014, buf, sizeof(buf)), -ENOENT);
  EXPECT_STREQ(buf, "Unknown libbpf error 4014");
}

TEST_F(LibbpfApi, ProbesAskTheEmulator) {
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_QUEUE, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH_OF_MAPS, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH, &g_seen), -EINVAL);
  EXPECT_EQ(libbpf_probe_bpf_map_type(static_cast<bpf_map_type>(1000), nullptr),
            -EOPNOTSUPP);
  EXPECT_EQ(libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACING,
                                    BPF_FUNC_map_lookup_elem, nullptr),
            -EOPNOTSUPP);
  EXPECT_EQ(
      libbpf_probe_bpf_prog_type(static_cast<bpf_prog_type>(1000), nullptr),
      -EOPNOTSUPP);
  if (geteuid() == 0) {
    EXPECT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr), 1);
    // find_prog_type(): UNSPEC and unknown types are refused at load (on
    // 5cbc60a bpf_prog_load accepted them).
    EXPECT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_UNSPEC, nullptr), 0);
    const bpf_insn ret0[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    EXPECT_EQ(bpf_prog_load(BPF_PROG_TYPE_UNSPEC, "u", "GPL", ret0, 2, nullptr),
              -EINVAL);
    EXPECT_EQ(bpf_prog_load(static_cast<bpf_prog_type>(1000), "u", "GPL", ret0,
                            2, nullptr),
              -EINVAL);
    EXPECT_EQ(libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP,
                                      BPF_FUNC_map_lookup_elem, nullptr),
              1);
    EXPECT_EQ(libbpf_probe_bpf_helper(
                  BPF_PROG_TYPE_XDP, static_cast<bpf_func_id>(100000), nullptr),
              0);
  }
  // An unprivileged caller under unprivileged_bpf_disabled creates nothing.
  bpfemu::SetCallerPrivileged(false);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH, nullptr), 0);
  EXPECT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr), 0);
}

TEST_F(LibbpfApi, AttachCallsAnswerAsAKernelWithoutTheHook) {
  if (geteuid() != 0) GTEST_SKIP() << "loading programs needs CAP_BPF (root)";
  const bpf_insn ret0[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  const int fd =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "attach_me", "GPL", ret0, 2, nullptr);
  ASSERT_GE(fd, 3) << errno;
  const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "m", 4, 4, 1, nullptr);
  ASSERT_GE(map, 3);
  // A cgroup hook (emu/cgroup_attach.h) takes only its program type; the
  // others have no hook here.
  EXPECT_EQ(bpf_prog_attach(fd, 0, BPF_CGROUP_INET_INGRESS, 0), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(bpf_prog_attach(fd, 0, static_cast<bpf_attach_type>(1000), 0),
            -EINVAL);
  EXPECT_EQ(bpf_prog_attach(fd, 0, BPF_CGROUP_INET_INGRESS, 0x100), -EINVAL);
  EXPECT_EQ(bpf_prog_attach(map, 0, BPF_CGROUP_INET_INGRESS, 0), -EINVAL);
  EXPECT_EQ(bpf_prog_attach(9999, 0, BPF_CGROUP_INET_INGRESS, 0), -EBADF);
  EXPECT_EQ(bpf_link_create(fd, 1, BPF_XDP, nullptr), -EOPNOTSUPP);
  EXPECT_EQ(bpf_raw_tracepoint_open("sys_enter", fd), -EOPNOTSUPP);
  // fd 0 is no cgroup (cgroup_get_from_fd).
  EXPECT_EQ(bpf_prog_detach2(fd, 0, BPF_CGROUP_INET_INGRESS), -EBADF);
  // netns_bpf_prog_detach() takes the program by the hook's type: an XDP
  // program is refused (measured on 6.18: -EINVAL, as for prog fd 0).
  EXPECT_EQ(bpf_prog_detach2(fd, 0, BPF_FLOW_DISSECTOR), -EINVAL);
  EXPECT_EQ(bpf_link_detach(map), -EINVAL);
  EXPECT_EQ(bpf_link_detach(9999), -EBADF);
  EXPECT_EQ(bpf_iter_create(map), -EINVAL);

  // The id walk finds the program, and an fd by id is the program.
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  uint32_t id = 0;
  bool found = false;
  while (bpf_prog_get_next_id(id, &id) == 0) found |= id == info.id;
  EXPECT_EQ(errno, ENOENT);
  EXPECT_TRUE(found);
  const int byid = bpf_prog_get_fd_by_id(info.id);
  ASSERT_GE(byid, 3);
  bpf_prog_info again = {};
  len = sizeof(again);
  ASSERT_EQ(bpf_obj_get_info_by_fd(byid, &again, &len), 0);
  EXPECT_EQ(again.id, info.id);
  EXPECT_STREQ(again.name, "attach_me");
  close(byid);
  EXPECT_EQ(bpf_btf_get_next_id(0, &id), -ENOENT);
  EXPECT_EQ(bpf_link_get_fd_by_id(1), -ENOENT);

  // BPF_PROG_QUERY: a socket map has no programs; other maps EOPNOTSUPP.
  const int sm = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "sm", 4, 4, 2, nullptr);
  ASSERT_GE(sm, 3);
  uint32_t cnt = 5, flags = 7;
  EXPECT_EQ(bpf_prog_query(sm, BPF_SK_MSG_VERDICT, 0, &flags, nullptr, &cnt),
            0);
  EXPECT_EQ(cnt, 0u);
  EXPECT_EQ(flags, 0u);
  cnt = 5;
  EXPECT_EQ(bpf_prog_query(map, BPF_SK_MSG_VERDICT, 0, &flags, nullptr, &cnt),
            -EOPNOTSUPP);
  EXPECT_EQ(cnt, 0u);
  cnt = 5;
  EXPECT_EQ(bpf_prog_query(sm, BPF_CGROUP_SYSCTL, 0, &flags, nullptr, &cnt),
            -EBADF);
  EXPECT_EQ(cnt, 5u);  // not written back
  uint32_t blen = 0, pid_out = 1, type_out = 1;
  __u64 off = 1, addr = 1;
  EXPECT_EQ(bpf_task_fd_query(getpid(), sm, 0, nullptr, &blen, &pid_out,
                              &type_out, &off, &addr),
            -524);
  EXPECT_EQ(pid_out, 0u);

  // Unprivileged: the id commands, queries and other hooks than a cgroup's
  // are EPERM.
  bpfemu::SetCallerPrivileged(false);
  EXPECT_EQ(bpf_prog_query(sm, BPF_SK_MSG_VERDICT, 0, &flags, nullptr, &cnt),
            -EPERM);
  EXPECT_EQ(bpf_task_fd_query(getpid(), sm, 0, nullptr, &blen, &pid_out,
                              &type_out, &off, &addr),
            -EPERM);
  EXPECT_EQ(bpf_link_create(fd, 1, BPF_XDP, nullptr), -EPERM);
  // A cgroup hook's attach, detach and link commands check no capability
  // (kernel/bpf/syscall.c; measured on 6.18 as nobody with fd 999: EBADF
  // for each, the query EPERM).
  EXPECT_EQ(bpf_prog_attach(fd, 0, BPF_CGROUP_INET_INGRESS, 0), -EINVAL);
  EXPECT_EQ(bpf_prog_attach(999, 999, BPF_CGROUP_INET_EGRESS, 0), -EBADF);
  EXPECT_EQ(bpf_prog_detach2(999, 999, BPF_CGROUP_INET_EGRESS), -EBADF);
  EXPECT_EQ(bpf_link_create(999, 999, BPF_CGROUP_INET_EGRESS, nullptr), -EBADF);
  EXPECT_EQ(bpf_link_update(999, 0, nullptr), -EBADF);
  EXPECT_EQ(bpf_link_detach(999), -EBADF);
  EXPECT_EQ(
      bpf_prog_query(999, BPF_CGROUP_INET_EGRESS, 0, &flags, nullptr, &cnt),
      -EPERM);
  EXPECT_EQ(bpf_prog_get_next_id(0, &id), -EPERM);
  EXPECT_EQ(bpf_prog_get_fd_by_id(info.id), -EPERM);
  EXPECT_EQ(bpf_link_get_next_id(0, &id), -EPERM);
  EXPECT_EQ(bpf_btf_get_fd_by_id(1), -EPERM);
  bpfemu::SetCallerPrivileged(true);
  close(sm);
  close(map);
  close(fd);
}

// Local storage: libbpf's BTF blob, then the map (emu/local_storage.h).
// Last in the file: the emulator keeps a map's BTF object for the process
// (emu/btf.cc HoldForMap), and the cases above expect no BTF ids.
TEST_F(LibbpfApi, LocalStorageProbesLoadBtfFirst) {
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_INODE_STORAGE, nullptr), 1);
}

}  // namespace
