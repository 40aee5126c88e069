// SPDX-License-Identifier: Apache-2.0
// A BPF congestion control (STRUCT_OPS, struct tcp_congestion_ops) on the
// kernel and on bpfemu (sops50, issue 24): tcp_ca.bpf.c's cong_avoid runs
// test cases of the tcp_cong kfuncs (tcp_slow_start, tcp_cong_avoid_ai,
// tcp_reno_cong_avoid, tcp_reno_ssthresh, tcp_reno_undo_cwnd) and of
// bpf_tcp_send_ack on the socket it is handed.
// - The kernel: libbpf loads the object and registers the struct_ops map
//   (BPF_MAP_UPDATE_ELEM; the name bpfemu_tcpca), a loopback TCP
//   connection chooses it with setsockopt(TCP_CONGESTION) and sends until
//   every case ran; the registration is deleted at the end.
// - bpfemu: the same instructions (libbpf's, after the kernel load: CO-RE
//   and kfunc ids resolved, map fds replaced by the emulated maps'), loaded
//   as STRUCT_OPS programs, registered through an emulated STRUCT_OPS map,
//   and each case replayed through native::RunTcpCaMember on an emulated
//   socket holding the fields the kernel's held (the record's "before");
//   then the native build of the same source through native::RunTcpCaOp.
// Every record (before, result, after) is compared field by field. Also
// compared: the registered map's value (state, refcnt, program ids in the
// function slots, translated), a second registration of the name (EEXIST),
// delete twice (0, EINPROGRESS), and the load verdicts of STRUCT_OPS
// programs (errno and the verifier's line). LinkSequence (sops51): BPF_F_LINK
// maps, BPF_LINK_CREATE / UPDATE / DETACH of struct_ops links and a map
// without the flag, 54 bpf() answers on each (bpfemu's programs loaded by
// its own loader from the object's .struct_ops section).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/map.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"
#include "emu/tcp_ca.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "native/tcp_ca.h"
#include "testing/emu_backend.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"

namespace bpfemu {
namespace {

using tcpca::F;

constexpr char kObj[] = "tests/examples/tcp_ca.bpf.o";
constexpr char kName[] = "bpfemu_tcpca";
constexpr uint32_t kCommon = 64;  // struct bpf_struct_ops_value

// tcp_ca.bpf.c's records.
struct CaCase {
  uint32_t op, cwnd, cnt, ssthresh, pending, a1, a2, pad;
};
struct CaOut {
  uint32_t done;
  uint32_t clamp, prior_cwnd, rcv_nxt, rcv_wup, max_packets_out, segs_out;
  uint32_t cwnd_limited, quick, retry;
  int64_t ret;
  uint32_t cwnd, cnt, ssthresh, pending, quick_after, retry_after;
  uint32_t segs_out_delta, rcv_wup_after;
};
struct Ctl {
  uint32_t next, n;
};

std::vector<CaCase> Cases() {
  std::vector<CaCase> c;
  auto add = [&](uint32_t op, uint32_t cwnd, uint32_t cnt, uint32_t ss,
                 uint32_t a1, uint32_t a2 = 0, uint32_t pending = 0) {
    c.push_back({op, cwnd, cnt, ss, pending, a1, a2, 0});
  };
  // tcp_slow_start: below, at and past ssthresh; acked 0; the clamp.
  add(1, 10, 0, 100, 5);
  add(1, 10, 0, 12, 5);
  add(1, 10, 0, 10, 3);
  add(1, 10, 0, 100, 0);
  add(1, 1, 0, 0x7fffffff, 1000000);
  add(1, 0xfffffff0, 0, 0xffffffff, 0x20);  // u32 wrap of cwnd + acked
  // tcp_cong_avoid_ai: credits below, at and above w, accumulated at a
  // higher w, several windows at once.
  add(2, 10, 0, 5, 10, 3);
  add(2, 10, 7, 5, 10, 3);
  add(2, 10, 9, 5, 10, 25);
  add(2, 10, 12, 5, 10, 1);
  add(2, 10, 0, 5, 1, 7);
  add(2, 20, 3, 5, 4, 0);
  // tcp_reno_cong_avoid: slow start (limited or not by max_packets_out),
  // congestion avoidance (is_cwnd_limited as the socket has it).
  add(3, 2, 0, 100, 1, 4);
  add(3, 10, 0, 5, 1, 4);
  add(3, 10, 0, 12, 1, 8);
  add(3, 10, 9, 5, 1, 1);
  // tcp_reno_ssthresh, tcp_reno_undo_cwnd.
  add(4, 10, 0, 5, 0);
  add(4, 3, 0, 5, 0);
  add(4, 1, 0, 5, 0);
  add(4, 0, 0, 5, 0);
  add(5, 10, 0, 5, 0);
  add(5, 0, 0, 5, 0);
  add(5, 0xffffffff, 0, 5, 0);
  // bpf_tcp_send_ack: the socket's rcv_nxt, a stale one, with and without
  // delayed-ACK state (ICSK_ACK_SCHED | ICSK_ACK_TIMER).
  add(6, 10, 0, 100, 0, 0, 3);
  add(6, 10, 0, 100, 1, 0, 3);
  add(6, 10, 0, 100, 0, 0, 0);
  add(6, 10, 0, 100, 0xffffffff, 0, 1);
  add(6, 10, 0, 100, 0, 0, 1);
  return c;
}

// The kernel BTF's member index of tcp_congestion_ops' `member`.
int MemberIdx(const KernelBtf& btf, uint32_t ops, std::string_view member) {
  uint16_t n = 0;
  const btf_member* m = btf.Members(ops, &n);
  for (uint16_t i = 0; i < n; ++i) {
    if (btf.Str(m[i].name_off) == member) return i;
  }
  return -1;
}

int64_t MemberOff(const KernelBtf& btf, uint32_t id, std::string_view name) {
  return btf.FindMember(id, name).offset;
}

class TcpCaCompareTest : public KernelTest<> {
 protected:
  void SetUp() override {
    KernelTest<>::SetUp();
    if (IsSkipped()) return;
    btf_ = KernelBtf::Get();
    if (btf_ == nullptr) GTEST_SKIP() << "no kernel BTF";
    ops_ = btf_->FindByNameKind("tcp_congestion_ops", BTF_KIND_STRUCT);
    value_ = btf_->FindByNameKind("bpf_struct_ops_tcp_congestion_ops",
                                  BTF_KIND_STRUCT);
    if (ops_ <= 0 || value_ <= 0) GTEST_SKIP() << "no tcp_congestion_ops BTF";
    if (TcpCongestionRegistered(kName)) {
      GTEST_SKIP() << kName << " is registered already";
    }
  }
  const KernelBtf* btf_ = nullptr;
  int32_t ops_ = 0, value_ = 0;
};

// Runs the cases on the kernel: the records, and the registered value.
struct KernelRun {
  std::vector<CaOut> outs;
  std::vector<uint8_t> value;  // the registered map's value
  std::map<std::string, uint32_t> prog_ids;
  std::map<std::string, std::vector<bpf_insn>> insns;
  std::map<std::string, uint32_t> eat;  // expected_attach_type
  std::map<int, std::string> map_of_fd;
  int second_registration = 0;
  int delete1 = 0, delete2 = 0;
};

void RunOnKernel(const std::vector<CaCase>& cases, KernelRun* r) {
  bpf_object* obj = bpf_object__open_file(kObj, nullptr);
  ASSERT_NE(obj, nullptr) << kObj;
  ASSERT_EQ(bpf_object__load(obj), 0);
  bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    const bpf_insn* in = bpf_program__insns(p);
    r->insns[bpf_program__name(p)].assign(in, in + bpf_program__insn_cnt(p));
    r->eat[bpf_program__name(p)] = bpf_program__expected_attach_type(p);
    bpf_prog_info info = {};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len), 0);
    r->prog_ids[bpf_program__name(p)] = info.id;
  }
  for (const char* m : {"ctl", "cases", "outs"}) {
    r->map_of_fd[bpf_map__fd(bpf_object__find_map_by_name(obj, m))] = m;
  }
  const int cases_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "cases"));
  for (uint32_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(bpf_map_update_elem(cases_fd, &i, &cases[i], 0), 0);
  }
  const int ctl_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "ctl"));
  bpf_map* st = bpf_object__find_map_by_name(obj, kName);
  ASSERT_NE(st, nullptr);
  bpf_link* link = bpf_map__attach_struct_ops(st);
  ASSERT_NE(link, nullptr) << "register: " << strerror(errno);
  // A second map of the same name (a fresh object).
  bpf_object* obj2 = bpf_object__open_file(kObj, nullptr);
  ASSERT_EQ(bpf_object__load(obj2), 0);
  bpf_link* link2 =
      bpf_map__attach_struct_ops(bpf_object__find_map_by_name(obj2, kName));
  r->second_registration = link2 == nullptr ? -errno : 0;
  if (link2 != nullptr) bpf_link__destroy(link2);
  bpf_object__close(obj2);

  // A loopback connection with the congestion control, sending until every
  // case ran (each ACK of new data calls cong_avoid).
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t al = sizeof(a);
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &al);
  ASSERT_EQ(listen(ls, 1), 0);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, kName, strlen(kName)),
            0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  int s = accept(ls, nullptr, nullptr);
  ASSERT_GE(s, 0);
  static char buf[1 << 16];
  const Ctl want{0, static_cast<uint32_t>(cases.size())};
  uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(ctl_fd, &zero, &want, 0), 0);
  Ctl got{};
  for (int round = 0; round < 2000; ++round) {
    ASSERT_EQ(write(c, buf, 4096), 4096);
    size_t left = 4096;
    while (left > 0) {
      const ssize_t n = read(s, buf, left);
      ASSERT_GT(n, 0);
      left -= static_cast<size_t>(n);
    }
    usleep(200);
    bpf_map_lookup_elem(ctl_fd, &zero, &got);
    if (got.next >= got.n) break;
  }
  EXPECT_EQ(got.next, got.n);
  const int outs_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "outs"));
  r->outs.resize(cases.size());
  for (uint32_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(bpf_map_lookup_elem(outs_fd, &i, &r->outs[i]), 0);
  }
  close(c);
  close(s);
  close(ls);
  r->value.assign(bpf_map__value_size(st), 0);
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(st), &zero, r->value.data()), 0);
  r->delete1 = bpf_map_delete_elem(bpf_map__fd(st), &zero) ? -errno : 0;
  r->delete2 = bpf_map_delete_elem(bpf_map__fd(st), &zero) ? -errno : 0;
  bpf_link__destroy(link);
  bpf_object__close(obj);
}

TEST_F(TcpCaCompareTest, KfuncsAndSendAckOnALoopbackConnection) {
  const std::vector<CaCase> cases = Cases();
  KernelRun k;
  ASSERT_NO_FATAL_FAILURE(RunOnKernel(cases, &k));
  ASSERT_EQ(k.outs.size(), cases.size());
  for (const CaOut& o : k.outs) ASSERT_EQ(o.done, 1u);
  // What the kernel showed (6.18): bpf_tcp_send_ack answers 0 with a stale
  // rcv_nxt too (no -EFAULT), sends the ACK (segs_out + 1) and then keeps
  // the delayed-ACK state; with tp->rcv_nxt it clears it.
  for (size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].op != 6) continue;
    EXPECT_EQ(k.outs[i].ret, 0) << i;
    EXPECT_EQ(k.outs[i].segs_out_delta, 1u) << i;
    EXPECT_EQ(k.outs[i].pending, cases[i].a1 == 0 ? 0 : cases[i].pending) << i;
  }

  // bpfemu: the same maps and instructions.
  EmuBackend& emu = EmuBackend::Get();
  std::map<std::string, int> emu_map;
  for (auto [name, vsize, n] :
       {std::tuple{"ctl", sizeof(Ctl), 1u},
        std::tuple{"cases", sizeof(CaCase), uint32_t(cases.size())},
        std::tuple{"outs", sizeof(CaOut), uint32_t(cases.size())}}) {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = static_cast<uint32_t>(vsize);
    a.max_entries = std::string(name) == "ctl" ? 1 : 64;
    const int fd = emu.CreateMap(a);
    ASSERT_GE(fd, 0) << name;
    emu_map[name] = fd;
  }
  for (uint32_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(emu.Update(emu_map["cases"], &i, &cases[i], 0), 0);
  }
  std::map<std::string, int> emu_prog;
  for (const auto& [name, insns] : k.insns) {
    RawProg p;
    p.type = BPF_PROG_TYPE_STRUCT_OPS;
    p.attach_type = k.eat[name];
    p.attach_btf_id = static_cast<uint32_t>(ops_);
    for (bpf_insn in : insns) {
      if (in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
          (in.src_reg == BPF_PSEUDO_MAP_FD ||
           in.src_reg == BPF_PSEUDO_MAP_VALUE)) {
        auto it = k.map_of_fd.find(in.imm);
        ASSERT_NE(it, k.map_of_fd.end()) << name;
        in.imm = emu_map[it->second];
      }
      interp::RawInsn r;
      static_assert(sizeof(r) == sizeof(in));
      std::memcpy(&r, &in, sizeof(r));
      p.insns.push_back(r);
    }
    const RawLoaded l = EmuLoadRaw(p);
    ASSERT_GE(l.fd, 0) << name << ": " << l.log;
    emu_prog[name] = l.fd;
  }
  // Register it.
  static const std::vector<uint8_t> blob = btftest::OneInt();
  const int user_btf =
      emu.LoadBtf(blob.data(), static_cast<uint32_t>(blob.size()));
  ASSERT_GE(user_btf, 0);
  MapAttr sa;
  sa.map_type = BPF_MAP_TYPE_STRUCT_OPS;
  sa.key_size = 4;
  sa.value_size = static_cast<uint32_t>(btf_->Size(value_));
  sa.max_entries = 1;
  sa.btf_fd = static_cast<uint32_t>(user_btf);
  sa.btf_vmlinux_value_type_id = static_cast<uint32_t>(value_);
  const int st = emu.CreateMap(sa);
  ASSERT_GE(st, 0);
  std::vector<uint8_t> v(sa.value_size, 0);
  std::strcpy(
      reinterpret_cast<char*>(&v[kCommon + MemberOff(*btf_, ops_, "name")]),
      kName);
  const std::map<std::string, std::string> member_of = {
      {"ca_ssthresh", "ssthresh"},
      {"ca_cong_avoid", "cong_avoid"},
      {"ca_undo_cwnd", "undo_cwnd"}};
  for (const auto& [prog, member] : member_of) {
    ASSERT_EQ(static_cast<int>(k.eat[prog]),
              MemberIdx(*btf_, static_cast<uint32_t>(ops_), member));
    const uint64_t fd = static_cast<uint64_t>(emu_prog[prog]);
    std::memcpy(&v[kCommon + MemberOff(*btf_, ops_, member)], &fd, 8);
  }
  uint32_t zero = 0;
  ASSERT_EQ(emu.Update(st, &zero, v.data(), 0), 0);
  EXPECT_TRUE(TcpCongestionRegistered(kName));
  // A second map of the same name: EEXIST, as the kernel's.
  const int st2 = emu.CreateMap(sa);
  ASSERT_GE(st2, 0);
  EXPECT_EQ(emu.Update(st2, &zero, v.data(), 0), k.second_registration);
  EXPECT_EQ(k.second_registration, -EEXIST);

  // The replay: through the registered map (bytecode), then the native
  // build of the same source.
  auto replay = [&](const char* face, int ctl_fd, int cases_fd, int outs_fd,
                    const std::function<void(tcpca::TcpSock&)>& call) {
    const Ctl ctl{0, static_cast<uint32_t>(cases.size())};
    ASSERT_EQ(emu.Update(ctl_fd, &zero, &ctl, 0), 0);
    for (uint32_t i = 0; i < cases.size(); ++i) {
      ASSERT_EQ(emu.Update(cases_fd, &i, &cases[i], 0), 0);
    }
    int differences = 0;
    for (uint32_t i = 0; i < cases.size(); ++i) {
      const CaOut& ko = k.outs[i];
      auto sk = tcpca::TcpSock::Create();
      ASSERT_NE(sk, nullptr);
      sk->Set(F::kSkState, tcpca::kTcpEstablished);
      sk->Set(F::kSndCwnd, 10);
      sk->Set(F::kSndCwndClamp, ko.clamp);
      sk->Set(F::kPriorCwnd, ko.prior_cwnd);
      sk->Set(F::kRcvNxt, ko.rcv_nxt);
      sk->Set(F::kRcvWup, ko.rcv_wup);
      sk->Set(F::kMaxPacketsOut, ko.max_packets_out);
      sk->Set(F::kSegsOut, ko.segs_out);
      sk->Set(F::kIsCwndLimited, ko.cwnd_limited);
      sk->Set(F::kAckQuick, ko.quick);
      sk->Set(F::kAckRetry, ko.retry);
      ASSERT_NO_FATAL_FAILURE(call(*sk)) << "case " << i;
      CaOut eo{};
      ASSERT_EQ(emu.Lookup(outs_fd, &i, &eo, 0), 0);
      const bool same = std::memcmp(&eo, &ko, sizeof(eo)) == 0;
      differences += !same;
      EXPECT_TRUE(same) << face << " case " << i << " op " << cases[i].op
                        << ": kernel ret " << ko.ret << " cwnd " << ko.cwnd
                        << " cnt " << ko.cnt << " pending " << ko.pending
                        << " quick " << ko.quick_after << " segs+"
                        << ko.segs_out_delta << " wup " << ko.rcv_wup_after
                        << "; bpfemu ret " << eo.ret << " cwnd " << eo.cwnd
                        << " cnt " << eo.cnt << " pending " << eo.pending
                        << " quick " << eo.quick_after << " segs+"
                        << eo.segs_out_delta << " wup " << eo.rcv_wup_after;
      if (cases[i].op == 6) EXPECT_EQ(sk->acks_sent().size(), 1u) << i;
    }
    std::printf("tcp_ca (%s): %zu cases compared, %d differences\n", face,
                cases.size(), differences);
  };
  replay("bytecode", emu_map["ctl"], emu_map["cases"], emu_map["outs"],
         [&](tcpca::TcpSock& sk) {
           uint64_t ret = 0;
           ASSERT_EQ(native::RunTcpCaMember(st, "cong_avoid", sk, {1, 1}, &ret),
                     0);
         });
  // The native build reads the socket with the 6.18 x86-64 layout
  // (tcp_ca.bpf.c): only where the kernel BTF has it.
  const tcpca::Layout* lay = tcpca::GetLayout();
  if (lay->size == 2304 &&
      lay->f[static_cast<int>(F::kSndCwnd)].bit_off == 1444 * 8 &&
      lay->f[static_cast<int>(F::kIsCwndLimited)].bit_off == 1463 * 8 + 3 &&
      lay->f[static_cast<int>(F::kPriorCwnd)].bit_off == 1948 * 8) {
    auto obj = native::Object::Open("tcp_ca");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0);
    const native::Program* cong_avoid = (*obj)->FindProgram("ca_cong_avoid");
    ASSERT_NE(cong_avoid, nullptr);
    replay("native", (*obj)->MapFd("ctl"), (*obj)->MapFd("cases"),
           (*obj)->MapFd("outs"), [&](tcpca::TcpSock& sk) {
             native::RunTcpCaOp(
                 [&](uint64_t* ctx) { return cong_avoid->Run(ctx); }, sk,
                 {1, 1});
           });
  } else {
    std::printf(
        "tcp_ca (native): not compared, the kernel BTF's struct "
        "tcp_sock is not 6.18's x86-64 layout\n");
  }
  // ssthresh and undo_cwnd through the registered map, on the last state.
  {
    auto sk = tcpca::TcpSock::Create();
    sk->Set(F::kSndCwnd, 21);
    sk->Set(F::kPriorCwnd, 30);
    uint64_t ret = 0;
    ASSERT_EQ(native::RunTcpCaMember(st, "ssthresh", *sk, {}, &ret), 0);
    EXPECT_EQ(ret, 10u);
    ASSERT_EQ(native::RunTcpCaMember(st, "undo_cwnd", *sk, {}, &ret), 0);
    EXPECT_EQ(ret, 30u);
    EXPECT_EQ(native::RunTcpCaMember(st, "set_state", *sk, {}, &ret), -ENOENT);
  }

  // The registered value: state INUSE, refcnt 1, the name, program ids in
  // the slots (each side's own ids).
  std::vector<uint8_t> ev(v.size(), 0);
  ASSERT_EQ(emu.Lookup(st, &zero, ev.data(), 0), 0);
  ASSERT_EQ(k.value.size(), ev.size());
  for (const auto& [prog, member] : member_of) {
    const int64_t off = kCommon + MemberOff(*btf_, ops_, member);
    uint64_t kid = 0, eid = 0;
    std::memcpy(&kid, &k.value[off], 8);
    std::memcpy(&eid, &ev[off], 8);
    EXPECT_EQ(kid, k.prog_ids[prog]) << member;
    std::shared_ptr<Map> m = MapFromFd(st);
    ASSERT_NE(m, nullptr);
    auto* som = dynamic_cast<StructOpsMap*>(m.get());
    ASSERT_NE(som, nullptr);
    EXPECT_EQ(eid, som->MemberProg(member)->id) << member;
    std::memset(&k.value[off], 0, 8);
    std::memset(&ev[off], 0, 8);
  }
  EXPECT_EQ(ev, k.value);  // refcnt 1, state INUSE, name, zeros
  // Delete twice: unregistered, then EINPROGRESS.
  EXPECT_EQ(emu.Delete(st, &zero), k.delete1);
  EXPECT_EQ(emu.Delete(st, &zero), k.delete2);
  EXPECT_EQ(k.delete1, 0);
  EXPECT_EQ(k.delete2, -EINPROGRESS);
  EXPECT_FALSE(TcpCongestionRegistered(kName));
  for (auto& [n, fd] : emu_prog) emu.Close(fd);
  for (auto& [n, fd] : emu_map) emu.Close(fd);
  emu.Close(st);
  emu.Close(st2);
  emu.Close(user_btf);
}

// check_struct_ops_btf_id() and bpf_tcp_ca_get_func_proto(): load verdicts
// of STRUCT_OPS programs, errno and the verifier's first line, on both.
TEST_F(TcpCaCompareTest, LoadVerdicts) {
  const uint32_t ops = static_cast<uint32_t>(ops_);
  const int32_t dummy = btf_->FindByNameKind("bpf_dummy_ops", BTF_KIND_STRUCT);
  using namespace interp::asm_;
  const std::vector<interp::RawInsn> ret1 = {MovImm(0, 1), Exit()};
  // bpf_tcp_send_ack(*(u64 *)ctx, 0).
  const std::vector<interp::RawInsn> send = {Ldx(BPF_DW, 1, 1, 0), MovImm(2, 0),
                                             Call(BPF_FUNC_tcp_send_ack),
                                             MovImm(0, 1), Exit()};
  struct Case {
    const char* what;
    uint32_t btf_id, member;
    const char* license;
    const std::vector<interp::RawInsn>* insns;
  };
  std::vector<Case> cases = {
      {"ssthresh", ops, 0, "GPL", &ret1},
      {"undo_cwnd", ops, 8, "GPL", &ret1},
      {"release", ops, 17, "GPL", &ret1},
      {"not GPL", ops, 0, "MIT", &ret1},
      {"get_info", ops, 10, "GPL", &ret1},
      {"name", ops, 11, "GPL", &ret1},
      {"past the members", ops, 18, "GPL", &ret1},
      {"no attach_btf_id", 0, 0, "GPL", &ret1},
      {"an int", 1, 0, "GPL", &ret1},
      {"tcp_sock",
       static_cast<uint32_t>(btf_->FindByNameKind("tcp_sock", BTF_KIND_STRUCT)),
       0, "GPL", &ret1},
      {"send_ack from ssthresh", ops, 0, "GPL", &send},
      {"send_ack from cong_avoid", ops, 1, "GPL", &send},
  };
  if (dummy > 0) {
    cases.push_back(
        {"send_ack from bpf_dummy_ops", uint32_t(dummy), 0, "GPL", &send});
  }
  int differences = 0;
  for (const Case& c : cases) {
    RawProg p;
    p.type = BPF_PROG_TYPE_STRUCT_OPS;
    p.attach_type = c.member;
    p.attach_btf_id = c.btf_id;
    p.license = c.license;
    p.insns = *c.insns;
    const RawLoaded kl = KernelLoadRaw(p);
    const RawLoaded el = EmuLoadRaw(p);
    const int kerr = kl.fd < 0 ? kl.fd : 0;
    const int eerr = el.fd < 0 ? el.fd : 0;
    if (kl.fd >= 0) close(kl.fd);
    if (el.fd >= 0) EmuBackend::Get().Close(el.fd);
    const std::string kr = kerr ? VerifierReason(kl.log) : "";
    const std::string er = eerr ? VerifierReason(el.log) : "";
    const bool same = kerr == eerr && kr == er;
    differences += !same;
    EXPECT_TRUE(same) << c.what << ": kernel " << kerr << " [" << kr
                      << "], bpfemu " << eerr << " [" << er << "]";
  }
  std::printf("tcp_ca load verdicts: %zu compared, %d differences\n",
              cases.size(), differences);
}

// One side's bpf() for the struct_ops sequences below: maps, elements,
// links (kernel: libbpf's raw wrappers and bpf(2); bpfemu: emu/syscall.h
// and emu/struct_ops_map.h).
struct StSide {
  std::function<int(uint32_t flags, const std::vector<uint8_t>& value)> create;
  std::function<int(int fd, const std::vector<uint8_t>& value)> update;
  std::function<int(int fd, uint32_t* refcnt, uint32_t* state)> lookup;
  std::function<int(int fd)> del;
  std::function<int(int map_fd)> link_create;
  std::function<int(int link, int new_map, uint32_t flags, int old_map)>
      link_update;
  std::function<int(int link)> link_detach;
  std::function<void(int fd)> close_fd;
  int prog_fd = -1;  // any program fd (not a map)
};

// The sequence, each answer as "what=value" (fds as 0 when valid).
std::vector<std::string> RunStructOpsSequence(
    const StSide& s, const std::vector<uint8_t>& value,
    const std::vector<uint8_t>& other_name) {
  std::vector<std::string> out;
  auto rec = [&](const std::string& what, int64_t v) {
    out.push_back(what + "=" + std::to_string(v));
  };
  auto look = [&](const std::string& what, int fd) {
    uint32_t refcnt = 0, state = 0;
    const int err = s.lookup(fd, &refcnt, &state);
    rec(what + " lookup", err);
    rec(what + " refcnt", refcnt);
    rec(what + " state", state);
  };
  const int m1 = s.create(kBpfFLink, value);
  const int m2 = s.create(kBpfFLink, value);
  const int m3 = s.create(kBpfFLink, other_name);
  const int plain = s.create(0, value);
  rec("create", (m1 < 0) + (m2 < 0) + (m3 < 0) + (plain < 0));
  if (m1 < 0 || m2 < 0 || m3 < 0 || plain < 0) return out;
  rec("link INIT map", s.link_create(m1));
  rec("update m1", s.update(m1, value));
  rec("update m1 again", s.update(m1, value));
  look("m1 READY", m1);
  rec("link plain map", s.link_create(plain));
  rec("link prog fd", s.link_create(s.prog_fd));
  rec("link closed fd", s.link_create(9999));
  const int l1 = s.link_create(m1);
  rec("link m1", l1 < 0 ? l1 : 0);
  if (l1 < 0) return out;
  look("m1 linked", m1);
  rec("update m2", s.update(m2, value));
  rec("link m2 name taken", s.link_create(m2));
  rec("update m3", s.update(m3, other_name));
  rec("delete m1", s.del(m1));
  rec("update bad flags", s.link_update(l1, m2, 4, 0));
  rec("update wrong old", s.link_update(l1, m2, BPF_F_REPLACE, m2));
  rec("update old without REPLACE", s.link_update(l1, m2, 0, m1));
  rec("update to plain map", s.link_update(l1, plain, 0, 0));
  rec("update to other name", s.link_update(l1, m3, 0, 0));
  rec("update to closed fd", s.link_update(l1, 9999, 0, 0));
  rec("update not a link", s.link_update(m1, m2, 0, 0));
  rec("update to m2", s.link_update(l1, m2, BPF_F_REPLACE, m1));
  look("m1 after update", m1);
  look("m2 after update", m2);
  rec("link m1 again, name held by m2", s.link_create(m1));
  rec("detach", s.link_detach(l1));
  rec("detach again", s.link_detach(l1));
  rec("update detached", s.link_update(l1, m1, 0, 0));
  rec("detach a map fd", s.link_detach(m1));
  look("m2 detached", m2);
  const int l2 = s.link_create(m1);
  rec("relink m1", l2 < 0 ? l2 : 0);
  if (l2 >= 0) {
    rec("detach l2", s.link_detach(l2));
    s.close_fd(l2);
  }
  s.close_fd(l1);
  // The map without BPF_F_LINK: registered by the update.
  rec("update plain", s.update(plain, value));
  rec("update plain again", s.update(plain, value));
  look("plain", plain);
  rec("link m1 while plain holds the name", s.link_create(m1));
  rec("delete plain", s.del(plain));
  rec("delete plain again", s.del(plain));
  rec("update plain after delete", s.update(plain, value));
  look("plain deleted", plain);
  for (int fd : {m1, m2, m3, plain}) s.close_fd(fd);
  return out;
}

// BPF_F_LINK struct_ops maps and their links (bpf_struct_ops_link_create,
// bpf_struct_ops_map_link_update / _detach), then a map without the flag:
// the same sequence of answers on the kernel (tcp_ca.bpf.o's programs
// loaded by libbpf) and on bpfemu (the same object loaded by bpfemu's own
// loader), compared answer by answer.
TEST_F(TcpCaCompareTest, LinkSequence) {
  const uint32_t ops = static_cast<uint32_t>(ops_);
  const uint32_t vsize = static_cast<uint32_t>(btf_->Size(value_));
  const std::map<std::string, std::string> member_of = {
      {"ca_ssthresh", "ssthresh"},
      {"ca_cong_avoid", "cong_avoid"},
      {"ca_undo_cwnd", "undo_cwnd"}};
  auto value_of = [&](const std::map<std::string, int>& progs,
                      const char* name) {
    std::vector<uint8_t> v(vsize, 0);
    std::strcpy(
        reinterpret_cast<char*>(&v[kCommon + MemberOff(*btf_, ops, "name")]),
        name);
    for (const auto& [prog, member] : member_of) {
      const uint64_t fd = static_cast<uint64_t>(progs.at(prog));
      std::memcpy(&v[kCommon + MemberOff(*btf_, ops, member)], &fd, 8);
    }
    return v;
  };
  auto lookup_common = [](std::vector<uint8_t>& v, uint32_t* refcnt,
                          uint32_t* state) {
    std::memcpy(refcnt, v.data(), 4);
    std::memcpy(state, v.data() + 4, 4);
  };

  // The kernel.
  bpf_object* obj = bpf_object__open_file(kObj, nullptr);
  ASSERT_NE(obj, nullptr);
  ASSERT_EQ(bpf_object__load(obj), 0);
  std::map<std::string, int> kprogs;
  for (const auto& [prog, member] : member_of) {
    kprogs[prog] =
        bpf_program__fd(bpf_object__find_program_by_name(obj, prog.c_str()));
  }
  const int kbtf = btf__fd(bpf_object__btf(obj));
  StSide k;
  k.create = [&](uint32_t flags, const std::vector<uint8_t>&) {
    LIBBPF_OPTS(bpf_map_create_opts, o);
    o.btf_fd = static_cast<__u32>(kbtf);
    o.map_flags = flags;
    o.btf_vmlinux_value_type_id = static_cast<__u32>(value_);
    const int fd =
        bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, "st", 4, vsize, 1, &o);
    return fd < 0 ? -errno : fd;
  };
  k.update = [](int fd, const std::vector<uint8_t>& v) {
    const uint32_t zero = 0;
    return bpf_map_update_elem(fd, &zero, v.data(), 0) ? -errno : 0;
  };
  k.lookup = [&](int fd, uint32_t* refcnt, uint32_t* state) {
    std::vector<uint8_t> v(vsize, 0);
    const uint32_t zero = 0;
    if (bpf_map_lookup_elem(fd, &zero, v.data()) != 0) return -errno;
    lookup_common(v, refcnt, state);
    return 0;
  };
  k.del = [](int fd) {
    const uint32_t zero = 0;
    return bpf_map_delete_elem(fd, &zero) ? -errno : 0;
  };
  k.link_create = [](int map_fd) {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = static_cast<uint32_t>(map_fd);  // map_fd
    a.link_create.attach_type = kBpfStructOpsAttach;
    const long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
  };
  k.link_update = [](int link, int new_map, uint32_t flags, int old_map) {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.link_update.link_fd = static_cast<uint32_t>(link);
    a.link_update.new_prog_fd = static_cast<uint32_t>(new_map);
    a.link_update.flags = flags;
    a.link_update.old_prog_fd = static_cast<uint32_t>(old_map);
    return syscall(__NR_bpf, BPF_LINK_UPDATE, &a, sizeof(a)) < 0 ? -errno : 0;
  };
  k.link_detach = [](int link) {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.link_detach.link_fd = static_cast<uint32_t>(link);
    return syscall(__NR_bpf, BPF_LINK_DETACH, &a, sizeof(a)) < 0 ? -errno : 0;
  };
  k.close_fd = [](int fd) { close(fd); };
  k.prog_fd = kprogs["ca_ssthresh"];
  const std::vector<std::string> kr = RunStructOpsSequence(
      k, value_of(kprogs, kName), value_of(kprogs, "bpfemu_tcpcb"));
  bpf_object__close(obj);

  // bpfemu: the object through its own loader (.struct_ops read, programs
  // loaded for their members).
  auto eobj = native::Object::OpenBytecode(kObj);
  ASSERT_TRUE(eobj.ok()) << eobj.status();
  ASSERT_EQ((*eobj)->Load(), 0) << (*eobj)->load_error();
  std::map<std::string, int> eprogs;
  for (const auto& [prog, member] : member_of) {
    const native::Program* p = (*eobj)->FindProgram(prog);
    ASSERT_NE(p, nullptr) << prog;
    EXPECT_EQ(static_cast<int>(p->expected_attach_type()),
              MemberIdx(*btf_, ops, member));
    eprogs[prog] = p->fd();
  }
  const int ebtf = (*eobj)->btf_fd();
  StSide e;
  e.create = [&](uint32_t flags, const std::vector<uint8_t>&) {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_STRUCT_OPS;
    a.key_size = 4;
    a.value_size = vsize;
    a.max_entries = 1;
    a.map_flags = flags;
    a.btf_fd = static_cast<uint32_t>(ebtf);
    a.btf_vmlinux_value_type_id = static_cast<uint32_t>(value_);
    return MapCreate(a);
  };
  e.update = [](int fd, const std::vector<uint8_t>& v) {
    const uint32_t zero = 0;
    return MapUpdateElem(fd, &zero, v.data(), 0);
  };
  e.lookup = [&](int fd, uint32_t* refcnt, uint32_t* state) {
    std::vector<uint8_t> v(vsize, 0);
    const uint32_t zero = 0;
    if (int err = MapLookupElem(fd, &zero, v.data(), 0); err != 0) return err;
    lookup_common(v, refcnt, state);
    return 0;
  };
  e.del = [](int fd) {
    const uint32_t zero = 0;
    return MapDeleteElem(fd, &zero);
  };
  e.link_create = [](int map_fd) { return StructOpsLinkCreate(map_fd); };
  e.link_update = [](int link, int new_map, uint32_t flags, int old_map) {
    return StructOpsLinkUpdate(link, new_map, flags, old_map);
  };
  e.link_detach = [](int link) { return StructOpsLinkDetach(link); };
  e.close_fd = [](int fd) { (void)CloseFd(fd); };
  e.prog_fd = eprogs["ca_ssthresh"];
  const std::vector<std::string> er = RunStructOpsSequence(
      e, value_of(eprogs, kName), value_of(eprogs, "bpfemu_tcpcb"));
  EXPECT_FALSE(TcpCongestionRegistered(kName));

  ASSERT_EQ(kr.size(), er.size());
  int differences = 0;
  for (size_t i = 0; i < kr.size(); ++i) {
    differences += kr[i] != er[i];
    EXPECT_EQ(kr[i], er[i]) << "kernel " << kr[i] << ", bpfemu " << er[i];
  }
  std::printf(
      "struct_ops link sequence: %zu answers compared, %d differences\n",
      kr.size(), differences);
  for (const std::string& a : kr) std::printf("  kernel %s\n", a.c_str());
}

}  // namespace
}  // namespace bpfemu
