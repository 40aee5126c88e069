// SPDX-License-Identifier: Apache-2.0
// The emulated congestion-control socket on bpfemu alone (emu/tcp_ca.h,
// native/tcp_ca.h; sops50): the tcp_cong kfuncs' arithmetic
// (net/ipv4/tcp_cong.c) worked by hand, bpf_tcp_send_ack's effects, both
// faces (native functions and bytecode kfunc / helper calls from a
// STRUCT_OPS program), runs stopped on pointers that are no socket, and
// the registration refusals the kernel comparison does not reach
// (tcp_ca_compare_test.cc compares the rest with 6.18).
#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"
#include "emu/tcp_ca.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "native/tcp_ca.h"
#include "testing/emu_backend.h"
#include "testing/raw_prog_load.h"

extern "C" {
struct sock;
struct tcp_sock;
uint32_t tcp_slow_start(struct tcp_sock* tp, uint32_t acked);
void tcp_cong_avoid_ai(struct tcp_sock* tp, uint32_t w, uint32_t acked);
void tcp_reno_cong_avoid(struct sock* sk, uint32_t ack, uint32_t acked);
uint32_t tcp_reno_ssthresh(struct sock* sk);
uint32_t tcp_reno_undo_cwnd(struct sock* sk);
long bpfemu_tcp_send_ack(void* tp, uint32_t rcv_nxt);
}

namespace bpfemu {
namespace {

using tcpca::F;
namespace a = interp::asm_;

class TcpCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk_ = tcpca::TcpSock::Create();
    if (sk_ == nullptr) GTEST_SKIP() << "no kernel BTF with struct tcp_sock";
    sk_->Set(F::kSkState, tcpca::kTcpEstablished);
    sk_->Set(F::kSndCwndClamp, ~0u);
  }
  void Cwnd(uint32_t cwnd, uint32_t cnt, uint32_t ss) {
    sk_->Set(F::kSndCwnd, cwnd);
    sk_->Set(F::kSndCwndCnt, cnt);
    sk_->Set(F::kSndSsthresh, ss);
  }
  uint32_t Get(F f) const { return static_cast<uint32_t>(sk_->Get(f)); }
  std::unique_ptr<tcpca::TcpSock> sk_;
};

TEST_F(TcpCaTest, FieldsSitWhereTheKernelBtfPutsThem) {
  const KernelBtf* btf = KernelBtf::Get();
  const int32_t id = btf->FindByNameKind("tcp_sock", BTF_KIND_STRUCT);
  ASSERT_GT(id, 0);
  EXPECT_EQ(sk_->size(), btf->Size(static_cast<uint32_t>(id)));
  const KernelBtf::Field cwnd =
      btf->FindMember(static_cast<uint32_t>(id), "snd_cwnd");
  sk_->Set(F::kSndCwnd, 0x12345678);
  uint32_t raw = 0;
  std::memcpy(&raw, sk_->data() + cwnd.offset, 4);
  EXPECT_EQ(raw, 0x12345678u);
  // A bitfield keeps its neighbours.
  sk_->Set(F::kIsCwndLimited, 1);
  EXPECT_EQ(sk_->Get(F::kIsCwndLimited), 1u);
  sk_->Set(F::kIsCwndLimited, 0);
  EXPECT_EQ(sk_->Get(F::kIsCwndLimited), 0u);
  EXPECT_EQ(tcpca::TcpSock::At(reinterpret_cast<uint64_t>(sk_->data())),
            sk_.get());
  EXPECT_EQ(tcpca::TcpSock::At(reinterpret_cast<uint64_t>(sk_->data()) + 8),
            nullptr);
}

TEST_F(TcpCaTest, KfuncArithmetic) {
  // tcp_slow_start: min(cwnd + acked, ssthresh), what is left over.
  Cwnd(10, 0, 12);
  EXPECT_EQ(tcpca::SlowStart(*sk_, 5), 3u);
  EXPECT_EQ(Get(F::kSndCwnd), 12u);
  sk_->Set(F::kSndCwndClamp, 11);
  Cwnd(10, 0, 100);
  EXPECT_EQ(tcpca::SlowStart(*sk_, 5), 0u);
  EXPECT_EQ(Get(F::kSndCwnd), 11u);  // clamped
  sk_->Set(F::kSndCwndClamp, ~0u);
  // tcp_cong_avoid_ai: 9 + 25 credits at w 10: +3, 4 left.
  Cwnd(10, 9, 5);
  tcpca::CongAvoidAi(*sk_, 10, 25);
  EXPECT_EQ(Get(F::kSndCwnd), 13u);
  EXPECT_EQ(Get(F::kSndCwndCnt), 4u);
  // Credits from a higher w: one segment, then the new credits.
  Cwnd(10, 12, 5);
  tcpca::CongAvoidAi(*sk_, 10, 1);
  EXPECT_EQ(Get(F::kSndCwnd), 11u);
  EXPECT_EQ(Get(F::kSndCwndCnt), 1u);
  // tcp_reno_cong_avoid: nothing unless cwnd-limited.
  Cwnd(10, 0, 5);
  sk_->Set(F::kIsCwndLimited, 0);
  tcpca::RenoCongAvoid(*sk_, 1, 20);
  EXPECT_EQ(Get(F::kSndCwnd), 10u);
  sk_->Set(F::kIsCwndLimited, 1);
  tcpca::RenoCongAvoid(*sk_, 1, 20);
  EXPECT_EQ(Get(F::kSndCwnd), 12u);
  EXPECT_EQ(Get(F::kSndCwndCnt), 0u);
  // In slow start, limited by twice max_packets_out.
  sk_->Set(F::kIsCwndLimited, 0);
  sk_->Set(F::kMaxPacketsOut, 6);
  Cwnd(10, 0, 14);
  tcpca::RenoCongAvoid(*sk_, 1, 6);  // 10 < 12: slow start to 14, 2 left
  EXPECT_EQ(Get(F::kSndCwnd), 14u);
  EXPECT_EQ(Get(F::kSndCwndCnt), 2u);
  // tcp_reno_ssthresh, tcp_reno_undo_cwnd.
  Cwnd(21, 0, 5);
  EXPECT_EQ(tcpca::RenoSsthresh(*sk_), 10u);
  Cwnd(3, 0, 5);
  EXPECT_EQ(tcpca::RenoSsthresh(*sk_), 2u);
  sk_->Set(F::kPriorCwnd, 30);
  EXPECT_EQ(tcpca::RenoUndoCwnd(*sk_), 30u);
  Cwnd(40, 0, 5);
  EXPECT_EQ(tcpca::RenoUndoCwnd(*sk_), 40u);
}

TEST_F(TcpCaTest, SendAck) {
  sk_->Set(F::kRcvNxt, 1000);
  sk_->Set(F::kRcvWup, 900);
  sk_->Set(F::kAckPending, tcpca::kIcskAckSched | tcpca::kIcskAckTimer);
  sk_->Set(F::kAckQuick, 2);
  sk_->Set(F::kAckRetry, 3);
  sk_->Set(F::kCompressedAck, 4);
  // A stale rcv_nxt: the ACK leaves, the delayed-ACK state stays.
  EXPECT_EQ(tcpca::SendAck(*sk_, 999), 0);
  EXPECT_EQ(sk_->acks_sent(), std::vector<uint32_t>{999});
  EXPECT_EQ(Get(F::kSegsOut), 1u);
  EXPECT_EQ(Get(F::kRcvWup), 1000u);
  EXPECT_EQ(Get(F::kCompressedAck), 0u);
  EXPECT_EQ(Get(F::kAckPending), 3u);
  EXPECT_EQ(Get(F::kAckQuick), 2u);
  // The socket's own: one quickack spent, the DACK timer cleared.
  EXPECT_EQ(tcpca::SendAck(*sk_, 1000), 0);
  EXPECT_EQ(Get(F::kSegsOut), 2u);
  EXPECT_EQ(Get(F::kAckQuick), 1u);
  EXPECT_EQ(Get(F::kAckPending), 0u);
  EXPECT_EQ(Get(F::kAckRetry), 0u);
  // The last quickack: ato deflates to TCP_ATO_MIN.
  sk_->Set(F::kAckPending, tcpca::kIcskAckSched);
  EXPECT_EQ(tcpca::SendAck(*sk_, 1000), 0);
  EXPECT_EQ(Get(F::kAckQuick), 0u);
  EXPECT_EQ(Get(F::kAckAto), tcpca::kTcpAtoMin);
  // A closed socket sends nothing.
  sk_->Set(F::kSkState, tcpca::kTcpClose);
  EXPECT_EQ(tcpca::SendAck(*sk_, 1000), 0);
  EXPECT_EQ(sk_->acks_sent().size(), 3u);
}

// The native face: a congestion control member as C code calling the
// kfuncs and the helper through their native definitions.
TEST_F(TcpCaTest, NativeFace) {
  Cwnd(10, 0, 100);
  sk_->Set(F::kRcvNxt, 77);
  const native::TcpCaProgram cong_avoid = [](uint64_t* ctx) -> uint64_t {
    auto* tp = reinterpret_cast<struct tcp_sock*>(ctx[0]);
    const uint32_t left = tcp_slow_start(tp, static_cast<uint32_t>(ctx[2]));
    tcp_cong_avoid_ai(tp, 4, left);
    return static_cast<uint64_t>(bpfemu_tcp_send_ack(tp, 77));
  };
  EXPECT_EQ(native::RunTcpCaOp(cong_avoid, *sk_, {1, 5}), 0u);
  EXPECT_EQ(Get(F::kSndCwnd), 15u);
  EXPECT_EQ(sk_->acks_sent(), std::vector<uint32_t>{77});
  const native::TcpCaProgram ssthresh = [](uint64_t* ctx) -> uint64_t {
    return tcp_reno_ssthresh(reinterpret_cast<struct sock*>(ctx[0]));
  };
  EXPECT_EQ(native::RunTcpCaOp(ssthresh, *sk_, {}), 7u);
}

// The bytecode face: kfunc and helper calls of a STRUCT_OPS program.
TEST_F(TcpCaTest, BytecodeFace) {
  const KernelBtf* btf = KernelBtf::Get();
  const int32_t ops =
      btf->FindByNameKind("tcp_congestion_ops", BTF_KIND_STRUCT);
  const int32_t slow = btf->FindByNameKind("tcp_slow_start", BTF_KIND_FUNC);
  if (ops <= 0 || slow <= 0) GTEST_SKIP() << "no tcp_congestion_ops BTF";
  // cong_avoid(sk, ack, acked): r6 = sk; tcp_slow_start(sk, acked);
  // *(u32 *)(sk + snd_cwnd_cnt) = r0; bpf_tcp_send_ack(sk, 5); r0 = 0.
  const int64_t cnt_off =
      btf->FindMember(static_cast<uint32_t>(
                          btf->FindByNameKind("tcp_sock", BTF_KIND_STRUCT)),
                      "snd_cwnd_cnt")
          .offset;
  RawProg p;
  p.type = BPF_PROG_TYPE_STRUCT_OPS;
  p.attach_type = 1;  // cong_avoid
  p.attach_btf_id = static_cast<uint32_t>(ops);
  p.insns = {a::Ldx(BPF_DW, 6, 1, 0),
             a::Ldx(BPF_DW, 2, 1, 16),
             a::MovReg(1, 6),
             a::CallKfunc(slow),
             a::Stx(BPF_W, 6, 0, static_cast<int16_t>(cnt_off)),
             a::MovReg(1, 6),
             a::MovImm(2, 5),
             a::Call(BPF_FUNC_tcp_send_ack),
             a::Exit()};
  const RawLoaded l = EmuLoadRaw(p);
  ASSERT_GE(l.fd, 0) << l.log;
  std::shared_ptr<const Prog> prog;
  ASSERT_EQ(ProgFromFd(l.fd, &prog), 0);
  const native::TcpCaProgram run = [&](uint64_t* ctx) {
    return ProgRunR0(*prog, ctx);
  };
  Cwnd(10, 0, 12);
  EXPECT_EQ(native::RunTcpCaOp(run, *sk_, {1, 5}), 0u);
  EXPECT_FALSE(ProgFaulted());
  EXPECT_EQ(Get(F::kSndCwnd), 12u);
  EXPECT_EQ(Get(F::kSndCwndCnt), 3u);  // the program's store
  EXPECT_EQ(sk_->acks_sent(), std::vector<uint32_t>{5});
  // A pointer that is no socket stops the run (the verifier would refuse
  // it): the stack.
  p.insns[2] = a::MovReg(1, 10);
  p.insns[3] = a::AluImm(BPF_ADD, 1, -8);
  p.insns.insert(p.insns.begin() + 4, a::CallKfunc(slow));
  const RawLoaded bad = EmuLoadRaw(p);
  ASSERT_GE(bad.fd, 0) << bad.log;
  std::shared_ptr<const Prog> badp;
  ASSERT_EQ(ProgFromFd(bad.fd, &badp), 0);
  EXPECT_EQ(
      native::RunTcpCaOp([&](uint64_t* ctx) { return ProgRunR0(*badp, ctx); },
                         *sk_, {1, 5}),
      0u);
  EXPECT_TRUE(ProgFaulted());
  EXPECT_NE(interp::LastFault().find("tcp_slow_start"), std::string::npos)
      << interp::LastFault();
  CloseFd(l.fd);
  CloseFd(bad.fd);
}

// bpf_tcp_ca_get_func_proto's socket storage: the congestion control's
// socket owns its elements until it is destroyed; a bpf_dummy_ops program
// is not offered the helper.
TEST_F(TcpCaTest, SocketStorage) {
  const KernelBtf* btf = KernelBtf::Get();
  const int32_t ops =
      btf->FindByNameKind("tcp_congestion_ops", BTF_KIND_STRUCT);
  if (ops <= 0) GTEST_SKIP() << "no tcp_congestion_ops BTF";
  EmuBackend& emu = EmuBackend::Get();
  static const std::vector<uint8_t> blob = btftest::MapBtf();
  const int btf_fd =
      emu.LoadBtf(blob.data(), static_cast<uint32_t>(blob.size()));
  ASSERT_GE(btf_fd, 0);
  MapAttr m;
  m.map_type = BPF_MAP_TYPE_SK_STORAGE;
  m.key_size = 4;
  m.value_size = 8;
  m.map_flags = BPF_F_NO_PREALLOC;
  m.btf_fd = static_cast<uint32_t>(btf_fd);
  m.btf_key_type_id = 1;
  m.btf_value_type_id = 2;
  const int map = emu.CreateMap(m);
  ASSERT_GE(map, 0);
  // v = bpf_sk_storage_get(&map, sk, NULL, F_CREATE); return ++*v;
  RawProg p;
  p.type = BPF_PROG_TYPE_STRUCT_OPS;
  p.attach_type = 0;  // ssthresh
  p.attach_btf_id = static_cast<uint32_t>(ops);
  p.insns = {a::Ldx(BPF_DW, 6, 1, 0)};
  a::LdMapFd(&p.insns, 1, map);
  for (const interp::RawInsn& in :
       {a::MovReg(2, 6), a::MovImm(3, 0), a::MovImm(4, 1),
        a::Call(BPF_FUNC_sk_storage_get), a::JmpImm(BPF_JEQ, 0, 0, 4),
        a::Ldx(BPF_DW, 1, 0, 0), a::AluImm(BPF_ADD, 1, 1),
        a::Stx(BPF_DW, 0, 1, 0), a::MovReg(0, 1), a::Exit()}) {
    p.insns.push_back(in);
  }
  p.insns.push_back(a::MovImm(0, 0));
  p.insns.push_back(a::Exit());
  // The jump skips the five instructions up to the first exit.
  p.insns[p.insns.size() - 8] = a::JmpImm(BPF_JEQ, 0, 0, 5);
  const RawLoaded l = EmuLoadRaw(p);
  ASSERT_GE(l.fd, 0) << l.log;
  std::shared_ptr<const Prog> prog;
  ASSERT_EQ(ProgFromFd(l.fd, &prog), 0);
  const native::TcpCaProgram run = [&](uint64_t* ctx) {
    return ProgRunR0(*prog, ctx);
  };
  EXPECT_EQ(native::RunTcpCaOp(run, *sk_, {}), 1u);
  EXPECT_EQ(native::RunTcpCaOp(run, *sk_, {}), 2u);
  auto other = tcpca::TcpSock::Create();
  EXPECT_EQ(native::RunTcpCaOp(run, *other, {}), 1u);
  EXPECT_EQ(native::RunTcpCaOp(run, *sk_, {}), 3u);
  // The socket's end frees its element: a new socket starts over.
  sk_.reset();
  other.reset();
  auto fresh = tcpca::TcpSock::Create();
  EXPECT_EQ(native::RunTcpCaOp(run, *fresh, {}), 1u);
  fresh.reset();
  // Not offered to a bpf_dummy_ops program.
  if (const int32_t dummy =
          btf->FindByNameKind("bpf_dummy_ops", BTF_KIND_STRUCT);
      dummy > 0) {
    p.attach_btf_id = static_cast<uint32_t>(dummy);
    const RawLoaded d = EmuLoadRaw(p);
    EXPECT_EQ(d.fd, -EINVAL);
    EXPECT_EQ(VerifierReason(d.log),
              "program of this type cannot use helper "
              "bpf_sk_storage_get#107");
  }
  CloseFd(l.fd);
  emu.Close(map);
  emu.Close(btf_fd);
}

// Registration refusals: a program of another member, another program
// type, a name taken (reno is built in); a BPF_F_LINK map registered by
// its link.
TEST_F(TcpCaTest, RegistrationRefusals) {
  const KernelBtf* btf = KernelBtf::Get();
  const int32_t ops =
      btf->FindByNameKind("tcp_congestion_ops", BTF_KIND_STRUCT);
  const int32_t value =
      btf->FindByNameKind("bpf_struct_ops_tcp_congestion_ops", BTF_KIND_STRUCT);
  if (ops <= 0 || value <= 0) GTEST_SKIP() << "no tcp_congestion_ops BTF";
  EmuBackend& emu = EmuBackend::Get();
  auto load = [&](uint32_t member) {
    RawProg p;
    p.type = BPF_PROG_TYPE_STRUCT_OPS;
    p.attach_type = member;
    p.attach_btf_id = static_cast<uint32_t>(ops);
    p.insns = {a::MovImm(0, 2), a::Exit()};
    return EmuLoadRaw(p).fd;
  };
  const int ssthresh = load(0), cong_avoid = load(1), undo = load(8);
  ASSERT_GE(ssthresh, 0);
  ASSERT_GE(cong_avoid, 0);
  ASSERT_GE(undo, 0);
  static const std::vector<uint8_t> blob = btftest::OneInt();
  const int user_btf =
      emu.LoadBtf(blob.data(), static_cast<uint32_t>(blob.size()));
  auto make = [&](uint32_t flags) {
    MapAttr m;
    m.map_type = BPF_MAP_TYPE_STRUCT_OPS;
    m.key_size = 4;
    m.value_size = static_cast<uint32_t>(btf->Size(value));
    m.max_entries = 1;
    m.map_flags = flags;
    m.btf_fd = static_cast<uint32_t>(user_btf);
    m.btf_vmlinux_value_type_id = static_cast<uint32_t>(value);
    return emu.CreateMap(m);
  };
  const uint32_t ops_id = static_cast<uint32_t>(ops);
  auto value_of = [&](const char* name, int s, int c, int u) {
    std::vector<uint8_t> v(static_cast<size_t>(btf->Size(value)), 0);
    std::strcpy(reinterpret_cast<char*>(
                    &v[64 + btf->FindMember(ops_id, "name").offset]),
                name);
    const uint64_t fds[3] = {uint64_t(s), uint64_t(c), uint64_t(u)};
    const char* members[3] = {"ssthresh", "cong_avoid", "undo_cwnd"};
    for (int i = 0; i < 3; ++i) {
      std::memcpy(&v[64 + btf->FindMember(ops_id, members[i]).offset], &fds[i],
                  8);
    }
    return v;
  };
  const int st = make(0);
  ASSERT_GE(st, 0);
  uint32_t zero = 0;
  // cong_avoid's program in the ssthresh slot.
  EXPECT_EQ(emu.Update(st, &zero,
                       value_of("x1", cong_avoid, cong_avoid, undo).data(), 0),
            -EINVAL);
  EXPECT_EQ(emu.Update(st, &zero,
                       value_of("reno", ssthresh, cong_avoid, undo).data(), 0),
            -EEXIST);
  EXPECT_EQ(emu.Delete(st, &zero), -ENOENT);  // still INIT
  // The name is checked with the members on 6.1 (bpf_tcp_ca_init_member),
  // before a bad program fd in a later member (release); at registration
  // from 6.7 on.
  std::vector<uint8_t> late = value_of("reno", ssthresh, cong_avoid, undo);
  const uint64_t bad_fd = 1 << 20;
  std::memcpy(&late[64 + btf->FindMember(ops_id, "release").offset], &bad_fd,
              8);
  EXPECT_EQ(emu.Update(st, &zero, late.data(), 0), -EBADF);
  SetTargetKernel(KernelVersion::k6_1);
  const int st61 = make(0);
  SetTargetKernel(KernelVersion::k6_18);
  ASSERT_GE(st61, 0);
  EXPECT_EQ(emu.Update(st61, &zero, late.data(), 0), -EEXIST);
  emu.Close(st61);
  const int link_map = make(kBpfFLink);
  ASSERT_GE(link_map, 0);
  // A BPF_F_LINK map: READY, not registered until a link registers it.
  EXPECT_EQ(emu.Update(link_map, &zero,
                       value_of("x2", ssthresh, cong_avoid, undo).data(), 0),
            0);
  EXPECT_FALSE(TcpCongestionRegistered("x2"));
  const int link = StructOpsLinkCreate(link_map);
  ASSERT_GE(link, 0);
  EXPECT_TRUE(TcpCongestionRegistered("x2"));
  EXPECT_EQ(StructOpsLinkDetach(link), 0);
  EXPECT_FALSE(TcpCongestionRegistered("x2"));
  emu.Close(link);
  EXPECT_EQ(emu.Update(st, &zero,
                       value_of("x3", ssthresh, cong_avoid, undo).data(), 0),
            0);
  EXPECT_TRUE(TcpCongestionRegistered("x3"));
  EXPECT_EQ(emu.Update(st, &zero,
                       value_of("x4", ssthresh, cong_avoid, undo).data(), 0),
            -EBUSY);
  auto sk = tcpca::TcpSock::Create();
  uint64_t ret = 0;
  EXPECT_EQ(native::RunTcpCaMember(st, "ssthresh", *sk, {}, &ret), 0);
  EXPECT_EQ(ret, 2u);
  EXPECT_EQ(native::RunTcpCaMember(user_btf, "ssthresh", *sk, {}, &ret),
            -EBADF);
  // Closing the map's last fd ends this process's registration.
  emu.Close(st);
  EXPECT_FALSE(TcpCongestionRegistered("x3"));
  emu.Close(link_map);
  emu.Close(user_btf);
  CloseFd(ssthresh);
  CloseFd(cong_avoid);
  CloseFd(undo);
}

}  // namespace
}  // namespace bpfemu
