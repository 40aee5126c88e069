// SPDX-License-Identifier: Apache-2.0
// net/core/filter.c bpf_sock_addr_set_sun_path and
// bpf_sock_ops_enable_tx_tstamp (emu/sock_kern_kfuncs.h) called from
// hand-assembled programs (ids from the kernel's BTF) with R1 the context,
// NULL, a stack pointer, a scalar and the struct sk_buff
// bpf_cast_to_kern_ctx gives: the 6.18 kernel refuses each (the struct
// bpf_sock_addr_kern / bpf_sock_ops_kern they take comes only from
// bpf_cast_to_kern_ctx of a cgroup_sock_addr / sock_ops context). For
// cgroup_skb, the one type offered them that has a test run, a bytecode
// run of the same instructions stops with the kernel's line; for
// cgroup_sock_addr (connect_unix) and sock_ops the kernel's errno and line
// are compared with the line bpfemu's binding gives.

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/sock_kern_kfuncs.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/test_run.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

class SockKernCompareTest : public KernelTest<> {};

// BPF_CGROUP_UNIX_CONNECT (6.7), absent from older uapi headers.
constexpr uint32_t kCgroupUnixConnect = 53;

TEST_F(SockKernCompareTest, RefusedAsTheKernelRefuses) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
  const int32_t cast =
      btf->FindByNameKind("bpf_cast_to_kern_ctx", BTF_KIND_FUNC);
  ASSERT_GT(cast, 0);
  namespace a = interp::asm_;
  struct Arg {
    const char* what;
    std::vector<interp::RawInsn> set_r1;
    int err;
  };
  const Arg args[] = {
      {"ctx", {}, -EINVAL},
      {"NULL", {a::MovImm(1, 0)}, -EACCES},
      {"stack", {a::MovReg(1, 10), a::AluImm(BPF_ADD, 1, -16)}, -EINVAL},
      {"scalar", {a::MovImm(1, 7)}, -EINVAL},
      {"kern ctx", {a::CallKfunc(cast), a::MovReg(1, 0)}, -EINVAL}};
  struct Type {
    uint32_t prog_type;
    uint32_t attach;
  };
  const Type types[] = {{BPF_PROG_TYPE_CGROUP_SKB, 0},
                        {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kCgroupUnixConnect},
                        {BPF_PROG_TYPE_SOCK_OPS, 0}};
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  int runs = 0, lines = 0;
  for (const char* kfunc :
       {"bpf_sock_addr_set_sun_path", "bpf_sock_ops_enable_tx_tstamp"}) {
    const int32_t id = btf->FindByNameKind(kfunc, BTF_KIND_FUNC);
    if (id <= 0) GTEST_SKIP() << "the kernel has no " << kfunc;
    for (const Type& t : types) {
      for (const Arg& arg : args) {
        // Only a struct __sk_buff context has a modelled kernel context.
        const bool skb_kern = std::strcmp(arg.what, "kern ctx") == 0;
        if (skb_kern && t.prog_type != BPF_PROG_TYPE_CGROUP_SKB) continue;
        SCOPED_TRACE(std::string(kfunc) + " type " +
                     std::to_string(t.prog_type) + " " + arg.what);
        std::vector<interp::RawInsn> insns = {a::St(BPF_DW, 10, -8, 0),
                                              a::St(BPF_DW, 10, -16, 0)};
        insns.insert(insns.end(), arg.set_r1.begin(), arg.set_r1.end());
        insns.push_back(a::MovReg(2, 10));
        insns.push_back(a::AluImm(BPF_ADD, 2, -8));
        insns.push_back(a::MovImm(3, 8));
        insns.push_back(a::CallKfunc(id));
        insns.push_back(a::MovImm(0, 1));
        insns.push_back(a::Exit());
        std::vector<char> log(1 << 16, 0);
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.prog_type = t.prog_type;
        attr.expected_attach_type = t.attach;
        attr.insns = reinterpret_cast<uint64_t>(insns.data());
        attr.insn_cnt = static_cast<uint32_t>(insns.size());
        attr.license = reinterpret_cast<uint64_t>("GPL");
        attr.log_level = 1;
        attr.log_buf = reinterpret_cast<uint64_t>(log.data());
        attr.log_size = static_cast<uint32_t>(log.size());
        const long kfd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
        const int kerr = kfd < 0 ? -errno : 0;
        if (kfd >= 0) close(static_cast<int>(kfd));
        // The context is R1 when nothing set it.
        const uint64_t r1 = std::strcmp(arg.what, "NULL") == 0 ? 0 : 1;
        const std::string line = sockk::KernArgRefusal(kfunc, r1, skb_kern);
        EXPECT_EQ(kerr, arg.err);
        EXPECT_NE(std::string(log.data()).find(line), std::string::npos)
            << log.data();
        ++lines;
        if (t.prog_type != BPF_PROG_TYPE_CGROUP_SKB) continue;
        native::ProgLoadFlags flags;
        const int fd = native::ProgLoadBytecode(
            t.prog_type, 0, "sock_kern", insns.data(),
            static_cast<uint32_t>(insns.size()), "GPL", flags);
        ASSERT_GE(fd, 0);
        std::shared_ptr<const Prog> prog;
        ASSERT_EQ(ProgFromFd(fd, &prog), 0);
        native::RunSkb(*prog, packet);
        EXPECT_TRUE(ProgFaulted());
        EXPECT_EQ(interp::LastFault(), line);
        (void)CloseFd(fd);
        ++runs;
      }
    }
  }
  std::printf(
      "sock_addr / sock_ops kernel-context kfuncs: %d kernel refusals "
      "compared, %d of them as bytecode runs too\n",
      lines, runs);
}

}  // namespace
}  // namespace bpfemu::examples
