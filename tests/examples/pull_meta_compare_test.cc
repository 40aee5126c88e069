// SPDX-License-Identifier: Apache-2.0
// tests/examples/pull_meta.bpf.c on the kernel (BPF_PROG_TEST_RUN) and on
// bpfemu, natively and as bytecode: bpf_dynptr_from_skb_meta from a tc
// program (flags, the dynptr kfuncs and helpers on the metadata dynptr),
// bpf_xdp_pull_data from xdp.frags and xdp programs on frames with and
// without fragments (after bpf_xdp_adjust_tail / _head too), and
// bpf_modify_return_test_tp from a syscall program. Every case compares
// the test run's error, return value and data_out and every recorded
// answer and byte.

#include <linux/bpf.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

// pull_meta.bpf.c's struct args and struct res.
struct Args {
  uint64_t flags = 0;
  uint64_t wflags = 0;
  uint32_t off = 0;
  uint32_t len = 0;
  uint32_t pull = 0;
  int32_t tail = 0;
  int32_t nonce = 0;
  int32_t head = 0;
};
struct Res {
  int64_t r[12];
  uint8_t is[4];
  uint8_t buf[8];
  uint8_t last[4];
};

constexpr char kPath[] = "tests/examples/pull_meta.bpf.o";

struct Case {
  std::string name;
  std::string prog;
  Args args;
  size_t packet_len = 0;  // 0: a syscall program
};

std::vector<Case> Cases() {
  std::vector<Case> cs;
  auto meta = [&](const char* name, uint64_t flags, uint32_t off, uint32_t len,
                  uint64_t wflags) {
    Case c{name, "skb_meta", {}, 64};
    c.args.flags = flags;
    c.args.off = off;
    c.args.len = len;
    c.args.wflags = wflags;
    cs.push_back(c);
  };
  meta("meta empty", 0, 0, 0, 0);
  meta("meta read 1", 0, 0, 1, 0);
  meta("meta off 1", 0, 1, 0, 0);
  meta("meta flags 1", 1, 0, 0, 0);
  meta("meta flags top", uint64_t{1} << 63, 0, 1, 0);
  meta("meta write flags", 0, 0, 0, 1);
  meta("meta read 7", 0, 0, 7, 0);
  cs.push_back({"meta data", "skb_meta_data", {}, 64});
  auto pull = [&](const char* name, const char* prog, size_t packet,
                  uint32_t len, int32_t tail, int32_t head = 0) {
    Case c{name, prog, {}, packet};
    c.args.pull = len;
    c.args.tail = tail;
    c.args.head = head;
    cs.push_back(c);
  };
  // 5000 bytes: 3520 linear (a page less the 256 bytes of headroom and
  // the 320 of skb_shared_info), one fragment of 1480; 216 bytes of head
  // room past the xdp_frame, no tail room.
  pull("pull 0", "xdp_pull", 5000, 0, 0);
  pull("pull linear part", "xdp_pull", 5000, 3520, 0);
  pull("pull 3600", "xdp_pull", 5000, 3600, 0);
  pull("pull all the room", "xdp_pull", 5000, 3736, 0);
  pull("pull past the room", "xdp_pull", 5000, 3737, 0);
  pull("pull the frame", "xdp_pull", 5000, 5000, 0);
  pull("pull past the frame", "xdp_pull", 5000, 5001, 0);
  pull("pull huge", "xdp_pull", 5000, 0xffffffffu, 0);
  // 3600 bytes: a fragment of 80, emptied (freed) or used in part.
  pull("pull a whole fragment", "xdp_pull", 3600, 3600, 0);
  pull("pull part of a fragment", "xdp_pull", 3600, 3550, 0);
  pull("pull after a shrink", "xdp_pull", 3600, 3560, -20);
  pull("pull past a shrink", "xdp_pull", 3600, 3590, -20);
  // 9000 bytes: fragments of 4096 and 1384.
  pull("pull from the first of two", "xdp_pull", 9000, 3700, 0);
  pull("pull after dropping one", "xdp_pull", 9000, 3736, -1484);
  // After bpf_xdp_adjust_head: 100 bytes dropped from the front give the
  // head room 316 bytes (the pull then moves the data back), 16 pushed
  // leave it 200.
  pull("pull after dropping the head", "xdp_pull", 5000, 3600, 0, 100);
  pull("pull the room after dropping the head", "xdp_pull", 5000, 3736, 0, 100);
  pull("pull past the room after dropping", "xdp_pull", 5000, 3737, 0, 100);
  pull("pull after pushing the head", "xdp_pull", 5000, 3736, 0, -16);
  pull("pull past the room after pushing", "xdp_pull", 5000, 3737, 0, -16);
  pull("linear after dropping the head", "xdp_pull_linear", 200, 140, 0, 60);
  pull("linear past after dropping", "xdp_pull_linear", 200, 141, 0, 60);
  // Frames without fragments.
  pull("frags prog linear frame", "xdp_pull", 200, 150, 0);
  pull("frags prog past linear frame", "xdp_pull", 200, 201, 0);
  pull("linear in", "xdp_pull_linear", 100, 50, 0);
  pull("linear all", "xdp_pull_linear", 100, 100, 0);
  pull("linear past", "xdp_pull_linear", 100, 101, 0);
  pull("linear shrunk", "xdp_pull_linear", 100, 90, -20);
  auto modret = [&](const char* name, int32_t nonce) {
    Case c{name, "modret_tp", {}, 0};
    c.args.nonce = nonce;
    cs.push_back(c);
  };
  modret("modret 7", 7);
  modret("modret 0", 0);
  modret("modret -1", -1);
  modret("modret max", INT_MAX - 1);
  modret("modret min", INT_MIN + 1);
  return cs;
}

std::string Hex(const std::vector<uint8_t>& v) {
  std::string s;
  char b[4];
  for (uint8_t c : v) {
    std::snprintf(b, sizeof(b), "%02x", c);
    s += b;
  }
  return s;
}

// One case's outcome as a line: the run and every recorded byte.
std::string Line(const Case& c, int err, uint32_t retval, const Res& res,
                 const std::vector<uint8_t>& data_out) {
  std::string s = c.name + ": err " + std::to_string(err) + " retval " +
                  std::to_string(retval) + " r";
  for (int64_t r : res.r) s += " " + std::to_string(r);
  const auto* b = reinterpret_cast<const uint8_t*>(&res.is);
  s += " bytes " +
       Hex(std::vector<uint8_t>(
           b, b + sizeof(res.is) + sizeof(res.buf) + sizeof(res.last)));
  s += " out " + std::to_string(data_out.size()) + " " + Hex(data_out);
  return s;
}

std::vector<uint8_t> Packet(size_t len) {
  std::vector<uint8_t> p =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 2000, 17 /* UDP */, len);
  for (size_t i = 42; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 7);
  return p;
}

class PullMetaCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(PullMetaCompareTest, SameAsTheKernel) {
  const bool bytecode = GetParam();
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(kPath, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(kPath)
                      : native::Object::Open("pull_meta");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  int compared = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const Res init{};
    ASSERT_EQ(k.Update(kernel->MapFd("args"), &zero, &c.args, BPF_ANY), 0);
    ASSERT_EQ(k.Update(kernel->MapFd("res"), &zero, &init, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("args"), &zero, &c.args, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &init, BPF_ANY), 0);
    const native::Program* prog = (*obj)->FindProgram(c.prog);
    ASSERT_NE(prog, nullptr);
    KernelObject::Result kr;
    native::PacketResult er;
    if (c.packet_len == 0) {
      char ctx[8] = {};
      kr = KernelObject::RunSyscall(kernel->ProgFd(c.prog), ctx, sizeof(ctx));
      er.retval = prog->Run(ctx);
    } else {
      const std::vector<uint8_t> packet = Packet(c.packet_len);
      kr = KernelObject::RunPacket(kernel->ProgFd(c.prog), packet);
      er = c.prog.rfind("xdp", 0) == 0 ? prog->RunXdp(packet)
                                       : prog->RunSkb(packet);
    }
    Res kres{}, eres{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("res"), &zero, &kres, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &eres), 0);
    const std::string kline = Line(c, kr.err, kr.retval, kres, kr.data_out);
    const std::string eline = Line(c, er.err, er.retval, eres, er.data_out);
    EXPECT_EQ(eline, kline);
    std::printf("%.200s\n", kline.c_str());
    ++compared;
  }
  std::printf("pull_meta (%s): %d cases compared\n",
              bytecode ? "bytecode" : "native", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, PullMetaCompareTest, ::testing::Bool());

}  // namespace
}  // namespace bpfemu::examples
