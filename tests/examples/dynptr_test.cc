// SPDX-License-Identifier: Apache-2.0
// tests/examples/dynptr.bpf.c on bpfemu, natively and as bytecode, without
// root: every case and packet of dynptr_cases.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/dynptr.expected,
// written by dynptr_compare_test as root; the command is there): the test
// run's error and return value, the whole `out` value (each call's return
// value, the bytes read and written) and data_out, and the kfunc
// program's answers (`kres`); then the packet dynptr programs on the cases
// and packets of dynptr_pkt_cases.h against
// tests/examples/testdata/dynptr_pkt.expected likewise.

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/dynptr_cases.h"
#include "tests/examples/dynptr_pkt_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace dynptr;  // NOLINT: the shared cases

class DynptrTest : public ::testing::TestWithParam<bool> {};

TEST_P(DynptrTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec = ReadRecorded("tests/examples/testdata/dynptr.expected");
  const std::map<std::string, std::string>& want = rec.lines;
  const std::string& kernel = rec.kernel;
  ASSERT_FALSE(want.empty()) << "no tests/examples/testdata/dynptr.expected";
  EXPECT_EQ(kernel.rfind("6.18", 0), 0u) << "recorded on " << kernel;
  const std::string path = "tests/examples/dynptr.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("dynptr");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ(dynptr_pkt::LoadAllButRefused(**obj), 0);
  const native::Program* prog = (*obj)->FindProgram("dynptr_tc");
  const native::Program* kfprog = (*obj)->FindProgram("dynptr_kfuncs");
  ASSERT_NE(prog, nullptr);
  ASSERT_NE(kfprog, nullptr);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const int nkres = (*obj)->MapFd("kres");
  int checked = 0;
  for (const auto& [pname, packet] : Packets()) {
    for (const Case& k : Cases()) {
      const std::string name = pname + " " + k.name;
      SCOPED_TRACE(name);
      auto it = want.find(name);
      ASSERT_NE(it, want.end()) << "case not recorded: re-record (see "
                                   "dynptr_compare_test.cc)";
      const uint32_t zero = 0;
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      Out out = {};
      ASSERT_EQ(MapUpdateElem(nout, &zero, &out, BPF_ANY), 0);
      const native::PacketResult n = prog->RunSkb(packet);
      ASSERT_EQ(MapLookupElem(nout, &zero, &out), 0);
      const native::PacketResult nf = kfprog->RunSkb(packet);
      Kres kres = {};
      ASSERT_EQ(MapLookupElem(nkres, &zero, &kres), 0);
      EXPECT_EQ(Format(name, n.err, n.retval, out, n.data_out, nf.err,
                       nf.retval, kres),
                it->second);
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(want.size()))
      << "the record has cases the test no longer runs";
  std::printf("dynptr: %d cases checked against the recorded kernel\n",
              checked);
}

TEST_P(DynptrTest, PacketDynptrsSameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/dynptr_pkt.expected");
  ASSERT_FALSE(rec.lines.empty())
      << "no tests/examples/testdata/dynptr_pkt.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/dynptr.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("dynptr");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ(dynptr_pkt::LoadAllButRefused(**obj), 0);
  const int ncmd = (*obj)->MapFd("pcmd"), nres = (*obj)->MapFd("pres");
  int checked = 0;
  for (const std::string& pname : dynptr_pkt::Programs()) {
    const native::Program* prog = (*obj)->FindProgram(pname);
    ASSERT_NE(prog, nullptr) << pname;
    for (const auto& [packet_name, packet] : dynptr_pkt::Packets()) {
      for (const dynptr_pkt::Case& k : dynptr_pkt::Cases()) {
        const std::string name = pname + " " + packet_name + " " + k.name;
        SCOPED_TRACE(name);
        auto it = rec.lines.find(name);
        ASSERT_NE(it, rec.lines.end()) << "case not recorded: re-record (see "
                                          "dynptr_compare_test.cc)";
        const uint32_t zero = 0;
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
        dynptr_pkt::Res res = {};
        ASSERT_EQ(MapUpdateElem(nres, &zero, &res, BPF_ANY), 0);
        const native::PacketResult n = prog->type() == BPF_PROG_TYPE_XDP
                                           ? prog->RunXdp(packet)
                                           : prog->RunSkb(packet);
        ASSERT_EQ(MapLookupElem(nres, &zero, &res), 0);
        EXPECT_EQ(dynptr_pkt::Format(name, n.err, n.retval, res, n.data_out),
                  it->second);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, static_cast<int>(rec.lines.size()))
      << "the record has cases the test no longer runs";
  std::printf("dynptr_pkt: %d cases checked against the recorded kernel\n",
              checked);
}

// bpf_dynptr_slice_rdwr as the 6.18 host answers it (EPERM at load; see
// dynptr_compare_test.cc), on the interpreter for a 6.18 target.
TEST(DynptrTest, SliceRdwrRefusedOn618) {
  SetTargetKernel(KernelVersion::k6_18);
  auto obj = native::Object::OpenBytecode("tests/examples/dynptr.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ(dynptr_pkt::LoadOnlyRefused(**obj), -EPERM);
}

// bpf_dynptr_slice_rdwr where the kernel takes it (6.12's source; the 6.18
// host refuses it, so nothing here is compared with a kernel): the tc
// program's 4-byte writable slice points into the packet, and the byte it
// flips comes back in data_out. The native face has no load-time refusal;
// the interpreter loads the program for a 6.12 target.
TEST_P(DynptrTest, SliceRdwrWritesThePacketOn612) {
  SetTargetKernel(KernelVersion::k6_12);
  const std::string path = "tests/examples/dynptr.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("dynptr");
  ASSERT_TRUE(obj.ok()) << obj.status();
  const int loaded = (*obj)->Load();
  SetTargetKernel(KernelVersion::k6_18);
  ASSERT_EQ(loaded, 0);
  const native::Program* prog = (*obj)->FindProgram(dynptr_pkt::kRefused);
  ASSERT_NE(prog, nullptr);
  const int ncmd = (*obj)->MapFd("pcmd"), nres = (*obj)->MapFd("pres");
  const uint32_t zero = 0;
  const dynptr_pkt::Bytes packet = dynptr_pkt::Numbered(64);
  struct {
    uint32_t off;
    uint8_t where;  // 0 NULL, 2 the packet
  } const cases[] = {{20, 2}, {60, 2}, {61, 0}, {0xfffffffcu, 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.off);
    dynptr_pkt::Cmd cmd;
    cmd.off = c.off;  // len 0: bpf_dynptr_write leaves the packet alone
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &cmd, BPF_ANY), 0);
    dynptr_pkt::Res res = {};
    ASSERT_EQ(MapUpdateElem(nres, &zero, &res, BPF_ANY), 0);
    const native::PacketResult n = prog->RunSkb(packet);
    ASSERT_EQ(n.err, 0);
    ASSERT_EQ(MapLookupElem(nres, &zero, &res), 0);
    EXPECT_EQ(res.where[2], c.where);
    EXPECT_EQ(res.ret[5], 0);  // a direct slice needs no bpf_dynptr_write
    dynptr_pkt::Bytes want = packet;
    if (c.where == 2) want[c.off] ^= 0xff;
    EXPECT_EQ(n.data_out, want);
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, DynptrTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
