// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_file.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// SYSCALL program runs in this thread) and on bpfemu as bytecode: the
// vma of a raw and a datagram packet socket's ring, of this binary's code and
// of an anonymous page, and what bpf_sock_from_file makes of each vma's
// file, give the same lines.

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

extern "C" {
#include "tests/examples/sock_file_cases.h"
}

namespace bpfemu::examples::sock_file {
namespace {

// A packet socket of `type` with a one-page receive ring mapped.
struct Ring {
  explicit Ring(int type) {
    fd = socket(AF_PACKET, type, htons(ETH_P_ALL));
    if (fd < 0) return;
    struct tpacket_req req = {4096, 1, 2048, 2};
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
      return;
    }
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) map = p;
  }
  ~Ring() {
    if (map != nullptr) munmap(map, 4096);
    if (fd >= 0) close(fd);
  }
  int fd = -1;
  void* map = nullptr;
};

std::vector<std::string> Lines(const sf_ctx& c) {
  std::vector<std::string> out;
  for (int i = 0; i < SF_NR; ++i) {
    const sf_seen& s = c.seen[i];
    out.push_back(std::to_string(i) + " ret=" + std::to_string(c.ret[i]) +
                  " file=" + std::to_string(s.has_file) +
                  " socket=" + std::to_string(s.is_socket) + " type=" +
                  std::to_string(s.type) + " state=" + std::to_string(s.state) +
                  " file_back=" + std::to_string(s.file_back));
  }
  return out;
}

class SockFileCompareTest : public KernelTest<::testing::Test> {};

// The kernel (6.18) refuses the program, sleepable (libbpf's
// SEC("syscall")) or not: the vma a find_vma callback gets is no trusted
// pointer, so its vm_file is an untrusted one, which bpf_sock_from_file
// (ARG_PTR_TO_BTF_ID) does not take - and no other struct file is within
// a test-run program's reach. bpfemu does not track pointer trust and
// loads it (docs/semantics.md).
TEST_F(SockFileCompareTest, TheKernelRefusesTheFilesATestRunReaches) {
  const std::string path = "tests/examples/sock_file.bpf.o";
  for (bool sleepable : {true, false}) {
    SCOPED_TRACE(sleepable);
    struct bpf_object* ko = bpf_object__open_file(path.c_str(), nullptr);
    ASSERT_NE(ko, nullptr);
    struct bpf_program* kp = bpf_object__find_program_by_name(ko, "sock_files");
    ASSERT_NE(kp, nullptr);
    const uint32_t f = bpf_program__flags(kp);
    ASSERT_EQ(
        bpf_program__set_flags(kp, sleepable ? f | BPF_F_SLEEPABLE
                                             : f & ~uint32_t{BPF_F_SLEEPABLE}),
        0);
    char log[1 << 16] = {};
    ASSERT_EQ(bpf_program__set_log_buf(kp, log, sizeof(log)), 0);
    ASSERT_EQ(bpf_program__set_log_level(kp, 1), 0);
    EXPECT_EQ(bpf_object__load(ko), -EACCES);
    EXPECT_NE(std::string(log).find("R1 type=untrusted_ptr_ expected=ptr_"),
              std::string::npos)
        << log;
    bpf_object__close(ko);
  }
}

// bpfemu's answers for the same program, as bytecode: the socket of each
// packet ring (its type, SS_UNCONNECTED, its file pointing back), no
// socket for the binary's file, no file for the anonymous page.
TEST_F(SockFileCompareTest, BytecodeAnswers) {
  const Ring raw(SOCK_RAW), dgram(SOCK_DGRAM);
  ASSERT_NE(raw.map, nullptr);
  ASSERT_NE(dgram.map, nullptr);
  void* anon = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(anon, MAP_FAILED);
  static_cast<volatile char*>(anon)[0] = 1;
  sf_ctx c = {};
  c.addr[0] = reinterpret_cast<uint64_t>(raw.map);
  c.addr[1] = reinterpret_cast<uint64_t>(dgram.map);
  c.addr[2] = reinterpret_cast<uint64_t>(&Lines);
  c.addr[3] = reinterpret_cast<uint64_t>(anon);
  auto obj = native::Object::OpenBytecode("tests/examples/sock_file.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("sock_files");
  ASSERT_NE(p, nullptr);
  p->Run(&c);
  const std::vector<std::string> want = {
      "0 ret=0 file=1 socket=1 type=3 state=1 file_back=1",
      "1 ret=0 file=1 socket=1 type=2 state=1 file_back=1",
      "2 ret=0 file=1 socket=0 type=0 state=0 file_back=0",
      "3 ret=0 file=0 socket=0 type=0 state=0 file_back=0",
  };
  EXPECT_EQ(Lines(c), want);
  munmap(anon, 4096);
}

}  // namespace
}  // namespace bpfemu::examples::sock_file
