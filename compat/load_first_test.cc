// SPDX-License-Identifier: Apache-2.0
// "Load a program first" (issue 20, item 5): a libbpf program that calls
// bpf_prog_load() before it creates any map (as a loader does when it reuses
// pinned maps and then loads) must not deadlock or abort. The first id
// allocation opens and closes the storage directory; with fs_hooks linked
// that close() runs ForgetFd(), which takes the program table's mutex, so
// the id must never be allocated under that mutex (emu/prog.cc).
//
// The case runs in a fresh fork()ed child, so that no earlier call has
// already allocated an id, with an alarm() bounding it.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace {

// r0 = 0; exit
const bpf_insn kReturnZero[] = {
    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
    {.code = BPF_JMP | BPF_EXIT},
};

// 0: loaded, then a map created and pinned; else the step that failed.
int LoadThenCreate(const std::string& pin) {
  const int prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "first", "GPL",
                                 kReturnZero, 2, nullptr);
  if (prog < 0) return 2;
  const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "after", 4, 8, 1, nullptr);
  if (map < 0) return 3;
  if (bpf_obj_pin(map, pin.c_str()) != 0) return 4;
  if (close(prog) != 0 || close(map) != 0) return 5;
  // Reuse the pinned map, then load again (the loader pattern).
  const int again = bpf_obj_get(pin.c_str());
  if (again < 0) return 6;
  const int prog2 = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "second", "GPL",
                                  kReturnZero, 2, nullptr);
  if (prog2 < 0) return 7;
  close(prog2);
  close(again);
  return 0;
}

TEST(LoadFirst, ProgLoadBeforeAnyMapCreate) {
  char dir[] = "/dev/shm/bpfemu-loadfirst.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);  // a deadlock ends as SIGALRM, never a hang
    setenv("BPFEMU_BPFFS_DIR", dir, 1);
    setenv("BPFEMU_BPFFS", "/sys/fs/bpf/bpfemu-loadfirst", 1);
    _exit(LoadThenCreate("/sys/fs/bpf/bpfemu-loadfirst/m"));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  std::system((std::string("rm -rf ") + dir).c_str());
  ASSERT_TRUE(WIFEXITED(status))
      << "child killed by signal " << WTERMSIG(status)
      << " (SIGALRM = deadlock, SIGABRT = the mutex taken twice)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed";
}

}  // namespace
