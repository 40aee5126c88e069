// SPDX-License-Identifier: Apache-2.0
// tests/examples/core.bpf.c loaded by real libbpf (1.1, which applies its
// CO-RE relocations against /sys/kernel/btf/vmlinux) on the kernel and by
// bpfemu's bytecode loader (loader/core_relo.h, against the same file),
// both run on the same packet: every one of the 64 recorded slots must be
// equal (field offsets, sizes, existence, signedness and bit-field shifts,
// type existence, sizes and ids, enum values, the context read through
// relocated loads). core_poison.bpf.c's reachable poisoned relocation must
// fail both loads with the same errno.

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp_asm.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/btf.h"
#include "loader/bytecode.h"
#include "loader/core_relo.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

constexpr uint32_t kSlots = 64;  // core.bpf.c's NSLOTS

class CoreCompareTest : public KernelTest<> {};

// Loads `path` both ways, runs `record` once and compares every slot: the
// kernel's values in *kv.
void CompareSlots(const std::string& path, std::vector<uint64_t>* kv) {
  kv->assign(kSlots, 0);
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("record");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const KernelObject::Result kr =
      KernelObject::RunPacket(kernel->ProgFd("record"), packet);
  ASSERT_EQ(kr.err, 0);
  const native::PacketResult er = prog->RunSkb(packet);
  ASSERT_EQ(er.err, 0);
  EXPECT_EQ(er.retval, kr.retval);
  KernelBackend& k = KernelBackend::Get();
  std::vector<uint64_t> ev(kSlots);
  int differences = 0;
  for (uint32_t i = 0; i < kSlots; ++i) {
    ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &i, &(*kv)[i], 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &i, &ev[i]), 0);
    EXPECT_EQ(ev[i], (*kv)[i]) << "slot " << i;
    differences += ev[i] != (*kv)[i];
  }
  EXPECT_EQ(differences, 0);
}

// clang 14 cannot emit TYPE_MATCHES: a copy of core.bpf.o whose
// TYPE_EXISTS records are rewritten to TYPE_MATCHES (the instructions
// expect 1 for both).
TEST_F(CoreCompareTest, TypeMatchesAsTheKernel) {
  std::ifstream in("tests/examples/core.bpf.o", std::ios::binary);
  std::vector<uint8_t> file{std::istreambuf_iterator<char>(in), {}};
  absl::Span<const uint8_t> ext;
  ASSERT_TRUE(native::BtfData::ElfSection(file, ".BTF.ext", &ext));
  const size_t base = static_cast<size_t>(ext.data() - file.data());
  uint32_t hdr[8];
  ASSERT_GE(ext.size(), sizeof(hdr));
  std::memcpy(hdr, ext.data(), sizeof(hdr));
  size_t p = base + hdr[1] + hdr[6];  // the core_relo subsection
  const size_t end = p + hdr[7];
  uint32_t rec_size;
  std::memcpy(&rec_size, &file[p], 4);
  p += 4;
  int rewritten = 0;
  while (p < end) {
    uint32_t num;
    std::memcpy(&num, &file[p + 4], 4);
    p += 8;
    for (uint32_t i = 0; i < num; ++i, p += rec_size) {
      uint32_t kind;
      std::memcpy(&kind, &file[p + 12], 4);
      if (kind != native::kCoreTypeExists) continue;
      kind = native::kCoreTypeMatches;
      std::memcpy(&file[p + 12], &kind, 4);
      ++rewritten;
    }
  }
  EXPECT_EQ(rewritten, 3);
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(dir != nullptr ? dir : "/tmp") + "/core_matches.bpf.o";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()),
             static_cast<std::streamsize>(file.size()));
  std::vector<uint64_t> kv;
  ASSERT_NO_FATAL_FAILURE(CompareSlots(path, &kv));
  EXPECT_EQ(kv[30], 0u);  // the kernel's task_struct has no missing_x
  EXPECT_EQ(kv[31], 0u);
  EXPECT_EQ(kv[38], 1u);  // ethhdr's leading arrays match
}

TEST_F(CoreCompareTest, EveryRelocatedValueAsTheKernel) {
  std::vector<uint64_t> kv;
  ASSERT_NO_FATAL_FAILURE(CompareSlots("tests/examples/core.bpf.o", &kv));
  const size_t packet_size = Ipv4Frame(1, 2, 3, 4, 17, 64).size();
  // What any kernel answers, pinned: the recorded values are relocated,
  // not the compiler's (local layouts differ on purpose).
  EXPECT_EQ(kv[6], 1u);           // sk_buff.len exists
  EXPECT_EQ(kv[7], 0u);           // sk_buff.no_such_field does not
  EXPECT_EQ(kv[11], 16u);         // sizeof(task_struct.comm)
  EXPECT_EQ(kv[12], kv[10] + 3);  // &comm[3]
  EXPECT_EQ(kv[13], 0u);          // task_struct.missing_x
  EXPECT_EQ(kv[14], 1u);          // pid is signed
  EXPECT_EQ(kv[15], 0u);          // flags is not
  EXPECT_EQ(kv[16], 8u);          // iphdr.ttl
  EXPECT_EQ(kv[17], 12u);         // iphdr.saddr, in an anonymous union
  EXPECT_EQ(kv[21], 1u);          // ihl's load is one byte
  EXPECT_EQ(kv[22], 60u);         // ihl: bits 0-3 of the byte
  EXPECT_EQ(kv[23], 60u);
  EXPECT_EQ(kv[24], 56u);  // version: bits 4-7
  EXPECT_EQ(kv[30], 1u);   // struct task_struct exists
  EXPECT_EQ(kv[31], 0u);   // struct no_such_struct does not
  EXPECT_EQ(kv[33], 20u);  // sizeof(struct iphdr)
  EXPECT_NE(kv[34], 0u);   // task_struct's kernel BTF id
  EXPECT_EQ(kv[35], 0u);   // none for a missing type
  EXPECT_EQ(kv[37], 4u);   // sizeof(enum bpf_map_type)
  EXPECT_EQ(kv[40], 1u);
  EXPECT_EQ(kv[41], 0u);
  EXPECT_EQ(kv[42], uint64_t{BPF_MAP_TYPE_HASH});
  EXPECT_EQ(kv[43], uint64_t{BPF_MAP_TYPE_ARRAY});
  EXPECT_EQ(kv[44], 27u);   // BPF_MAP_TYPE_RINGBUF
  EXPECT_EQ(kv[45], 888u);  // the poisoned branches were dead
  EXPECT_EQ(kv[46], 999u);
  EXPECT_EQ(kv[50], packet_size);  // __sk_buff.len through a relocation
  EXPECT_EQ(kv[51], 0x5eedu);      // mark, stored and read back
  EXPECT_EQ(kv[52], 0x0008u);      // htons(ETH_P_IP)
  EXPECT_EQ(kv[54], 4u);           // priority: 4 bytes in the kernel
}

TEST_F(CoreCompareTest, ReachablePoisonFailsBothLoads) {
  const std::string path = "tests/examples/core_poison.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  const int kerr = KernelObject::Load(path, &kernel);
  EXPECT_EQ(kerr, -EINVAL);
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ((*obj)->Load(), kerr);
}

// Unknown helper calls behind branches: the kernel's verifier checks only
// the calls it reaches; bpfemu's constant walk (emu/interp.cc) agrees
// where the deciding value is a constant in a register or an 8-byte stack
// spill, and refuses where the kernel needs range knowledge (documented in
// docs/interpreter.md).
TEST_F(CoreCompareTest, UnknownHelperOnlyWhereReachable) {
  using I = interp::RawInsn;
  namespace ia = interp::asm_;
  // The instructions that decide (the last one jumps over the call when
  // they skip it), then the call of the unknown helper and the exit, with
  // r0 = 0 between them when `zero_r0` (the deciding ones leave r0 unset).
  auto around_call = [](std::vector<I> decide, bool zero_r0 = false) {
    decide.push_back(ia::Call(native::kCorePoisonHelper));
    if (zero_r0) decide.push_back(ia::MovImm(0, 0));
    decide.push_back(ia::Exit());
    return decide;
  };
  struct Case {
    const char* name;
    std::vector<I> insns;
    int emu_differs;  // 0, or bpfemu's answer where it is known to differ
  };
  const std::vector<Case> cases = {
      {"constant 0 skips the call",
       around_call({ia::MovImm(0, 0), ia::JmpImm(BPF_JEQ, 0, 0, 1)}), 0},
      {"constant 1 reaches it",
       around_call({ia::MovImm(0, 1), ia::JmpImm(BPF_JEQ, 0, 0, 1)}), 0},
      {"a context value reaches it",
       around_call({ia::Ldx(BPF_W, 0, 1, 0), ia::JmpImm(BPF_JEQ, 0, 0, 1)}), 0},
      {"arithmetic on constants",
       around_call({ia::MovImm(1, 3), ia::AluImm(BPF_ADD, 1, 2),
                    ia::JmpImm(BPF_JEQ, 1, 5, 1, /*is64=*/false)},
                   true),
       0},
      {"a constant through a stack spill",
       around_call({ia::MovImm(1, 0), ia::Stx(BPF_DW, 10, 1, -8),
                    ia::Ldx(BPF_DW, 2, 10, -8), ia::JmpImm(BPF_JEQ, 2, 0, 1)},
                   true),
       0},
      {"a range the verifier knows",
       around_call({ia::Ldx(BPF_W, 0, 1, 0), ia::AluImm(BPF_AND, 0, 1),
                    ia::JmpImm(BPF_JLE, 0, 1, 1)}),
       -EINVAL},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    union bpf_attr a = {};
    a.prog_type = BPF_PROG_TYPE_SCHED_CLS;
    a.insns = reinterpret_cast<uint64_t>(c.insns.data());
    a.insn_cnt = static_cast<uint32_t>(c.insns.size());
    a.license = reinterpret_cast<uint64_t>("GPL");
    int kfd = static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a)));
    const int kerr = kfd < 0 ? -errno : 0;
    if (kfd >= 0) close(kfd);
    const int efd = native::ProgLoadBytecode(
        BPF_PROG_TYPE_SCHED_CLS, 0, "p", c.insns.data(),
        static_cast<uint32_t>(c.insns.size()), "GPL");
    const int eerr = efd < 0 ? efd : 0;
    if (efd >= 0) CloseFd(efd);
    EXPECT_EQ(eerr, c.emu_differs != 0 ? c.emu_differs : kerr);
    if (c.emu_differs != 0) {
      EXPECT_EQ(kerr, 0);
    }
  }
}

}  // namespace
}  // namespace bpfemu::examples
