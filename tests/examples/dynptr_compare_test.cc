// SPDX-License-Identifier: Apache-2.0
// tests/examples/dynptr.bpf.c on the kernel (BPF_PROG_TEST_RUN of a tc
// program) and on bpfemu, natively and as bytecode: bpf_dynptr_from_mem,
// bpf_dynptr_read / _write / _data on the local dynptr, and
// bpf_ringbuf_reserve_dynptr / _submit_dynptr / _discard_dynptr with the
// kfuncs bpf_dynptr_adjust / _is_null / _is_rdonly / _size / _clone, with
// the cases of dynptr_cases.h on three packets: the same test run error,
// return value, data_out and every recorded return value and byte. Then
// the packet dynptrs (bpf_dynptr_from_skb in tc and socket filter
// programs, bpf_dynptr_from_xdp in xdp and xdp.frags ones, bpf_dynptr_slice
// and the helpers and kfuncs above on them) with the cases of
// dynptr_pkt_cases.h on four packets, compared the same way, and the 6.18
// host's refusal of bpf_dynptr_slice_rdwr at load.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/dynptr_cases.h"
#include "tests/examples/dynptr_pkt_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace dynptr;  // NOLINT: the shared cases

class DynptrCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

constexpr char kPath[] = "tests/examples/dynptr.bpf.o";

// dynptr.bpf.o on the kernel and on bpfemu (`bytecode` or natively), each
// without the program the kernel refuses.
void LoadBoth(bool bytecode, std::unique_ptr<KernelObject>* kernel,
              std::unique_ptr<native::Object>* obj) {
  ASSERT_EQ(KernelObject::Load(kPath, kernel, {dynptr_pkt::kRefused}), 0);
  auto o = bytecode ? native::Object::OpenBytecode(kPath)
                    : native::Object::Open("dynptr");
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(dynptr_pkt::LoadAllButRefused(**o), 0);
  *obj = std::move(*o);
}

TEST_P(DynptrCompareTest, SameAsTheKernel) {
  std::unique_ptr<KernelObject> kernel;
  std::unique_ptr<native::Object> obj;
  ASSERT_NO_FATAL_FAILURE(LoadBoth(GetParam(), &kernel, &obj));
  const native::Program* prog = obj->FindProgram("dynptr_tc");
  const native::Program* kfprog = obj->FindProgram("dynptr_kfuncs");
  ASSERT_NE(prog, nullptr);
  ASSERT_NE(kfprog, nullptr);
  const int kprog = kernel->ProgFd("dynptr_tc");
  const int kkfprog = kernel->ProgFd("dynptr_kfuncs");
  const int kkres = kernel->MapFd("kres"), nkres = obj->MapFd("kres");
  const int kcmd = kernel->MapFd("cmd"), ncmd = obj->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = obj->MapFd("out");
  int compared = 0;
  // Re-recording the kernel's answers for dynptr_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:dynptr_compare_test
  //     --test_env=BPFEMU_RECORD_DYNPTR=$PWD/tests/examples/testdata/dynptr.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_DYNPTR");
  std::string record;
  for (const auto& [pname, packet] : Packets()) {
    for (const Case& k : Cases()) {
      const std::string name = pname + " " + k.name;
      SCOPED_TRACE(name);
      const uint32_t zero = 0;
      ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      Out blank = {};
      ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
      Bytes kdata(packet.size() + 64);
      LIBBPF_OPTS(bpf_test_run_opts, opts);
      opts.data_in = packet.data();
      opts.data_size_in = static_cast<uint32_t>(packet.size());
      opts.data_out = kdata.data();
      opts.data_size_out = static_cast<uint32_t>(kdata.size());
      const int kerr = bpf_prog_test_run_opts(kprog, &opts);
      kdata.resize(kerr == 0 ? opts.data_size_out : 0);
      const native::PacketResult n = prog->RunSkb(packet);
      EXPECT_EQ(kerr, n.err);
      EXPECT_EQ(opts.retval, n.retval);
      EXPECT_EQ(kdata, n.data_out);
      Out ko, no;
      ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
      ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
      for (int i = 0; i < 13; ++i) {
        EXPECT_EQ(ko.ret[i], no.ret[i]) << "ret " << i;
      }
      EXPECT_EQ(tunnel::Hex(&ko, sizeof(ko)), tunnel::Hex(&no, sizeof(no)));
      // The kfuncs.
      LIBBPF_OPTS(bpf_test_run_opts, kopts);
      kopts.data_in = packet.data();
      kopts.data_size_in = static_cast<uint32_t>(packet.size());
      const int kferr = bpf_prog_test_run_opts(kkfprog, &kopts);
      const native::PacketResult nf = kfprog->RunSkb(packet);
      EXPECT_EQ(kferr, nf.err);
      EXPECT_EQ(kopts.retval, nf.retval);
      Kres kr, nr;
      ASSERT_EQ(bpf_map_lookup_elem(kkres, &zero, &kr), 0);
      ASSERT_EQ(MapLookupElem(nkres, &zero, &nr), 0);
      for (int i = 0; i < 9; ++i) {
        EXPECT_EQ(kr.ret[i], nr.ret[i]) << "kfuncs ret " << i;
      }
      EXPECT_EQ(tunnel::Hex(&kr, sizeof(kr)), tunnel::Hex(&nr, sizeof(nr)));
      record +=
          Format(name, kerr, opts.retval, ko, kdata, kferr, kopts.retval, kr) +
          "\n";
      ++compared;
    }
  }
  std::printf("dynptr: %d cases compared with the kernel\n", compared);
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "dynptr", record)) << record_path;
  }
  EXPECT_EQ(compared, static_cast<int>(Packets().size() * Cases().size()));
}

TEST_P(DynptrCompareTest, PacketDynptrsSameAsTheKernel) {
  std::unique_ptr<KernelObject> kernel;
  std::unique_ptr<native::Object> obj;
  ASSERT_NO_FATAL_FAILURE(LoadBoth(GetParam(), &kernel, &obj));
  const int kcmd = kernel->MapFd("pcmd"), ncmd = obj->MapFd("pcmd");
  const int kres = kernel->MapFd("pres"), nres = obj->MapFd("pres");
  // Re-recording the kernel's answers for dynptr_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:dynptr_compare_test
  //     --test_env=BPFEMU_RECORD_DYNPTR_PKT=$PWD/tests/examples/testdata/dynptr_pkt.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_DYNPTR_PKT");
  std::string record;
  int compared = 0;
  for (const std::string& pname : dynptr_pkt::Programs()) {
    const native::Program* prog = obj->FindProgram(pname);
    ASSERT_NE(prog, nullptr) << pname;
    const int kprog = kernel->ProgFd(pname);
    ASSERT_GE(kprog, 0) << pname;
    for (const auto& [packet_name, packet] : dynptr_pkt::Packets()) {
      for (const dynptr_pkt::Case& k : dynptr_pkt::Cases()) {
        const std::string name = pname + " " + packet_name + " " + k.name;
        SCOPED_TRACE(name);
        const uint32_t zero = 0;
        ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
        const dynptr_pkt::Res blank = {};
        ASSERT_EQ(bpf_map_update_elem(kres, &zero, &blank, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(nres, &zero, &blank, BPF_ANY), 0);
        const KernelObject::Result kr = KernelObject::RunPacket(kprog, packet);
        const native::PacketResult n = prog->type() == BPF_PROG_TYPE_XDP
                                           ? prog->RunXdp(packet)
                                           : prog->RunSkb(packet);
        EXPECT_EQ(kr.err, n.err);
        EXPECT_EQ(kr.retval, n.retval);
        EXPECT_EQ(tunnel::Hex(kr.data_out.data(), kr.data_out.size()),
                  tunnel::Hex(n.data_out.data(), n.data_out.size()));
        dynptr_pkt::Res ko, no;
        ASSERT_EQ(bpf_map_lookup_elem(kres, &zero, &ko), 0);
        ASSERT_EQ(MapLookupElem(nres, &zero, &no), 0);
        for (int i = 0; i < 16; ++i) {
          EXPECT_EQ(ko.ret[i], no.ret[i]) << "ret " << i;
        }
        EXPECT_EQ(tunnel::Hex(&ko, sizeof(ko)), tunnel::Hex(&no, sizeof(no)));
        record +=
            dynptr_pkt::Format(name, kr.err, kr.retval, ko, kr.data_out) + "\n";
        ++compared;
      }
    }
  }
  std::printf("dynptr_pkt: %d cases compared with the kernel\n", compared);
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "dynptr_pkt", record))
        << record_path;
  }
}

// The 6.18 host refuses bpf_dynptr_slice_rdwr in every program at load
// (EPERM; in tc, socket filter and XDP programs alike): so does the
// interpreter for a 6.18 target. The native face has no load-time checks.
TEST_P(DynptrCompareTest, SliceRdwrRefusedAsTheKernel) {
  if (!GetParam()) GTEST_SKIP() << "native programs are not verified";
  std::vector<std::string> others = dynptr_pkt::Programs();
  others.push_back("dynptr_tc");
  others.push_back("dynptr_kfuncs");
  std::unique_ptr<KernelObject> kernel;
  const int kerr = KernelObject::Load(kPath, &kernel, others);
  auto obj = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ(kerr, -EPERM);
  EXPECT_EQ(dynptr_pkt::LoadOnlyRefused(**obj), kerr);
}

INSTANTIATE_TEST_SUITE_P(Faces, DynptrCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
