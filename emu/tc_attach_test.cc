// SPDX-License-Identifier: Apache-2.0
// The tc model (emu/tc_attach.h) against net/sched/sch_api.c (clsact
// create/delete), net/sched/cls_api.c (tc_new_tfilter, tc_del_tfilter,
// tc_get_tfilter) and net/sched/cls_bpf.c (handles, program check). The
// errnos are those measured on Linux 6.18 through libbpf (see
// tests/dropin/libbpf_api_expected.txt, tc section).
#include "emu/tc_attach.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <vector>

#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

int OkProg(void*) { return 0; }

const uint16_t kAll = htons(ETH_P_ALL);
constexpr int kLo = static_cast<int>(kLoopbackIfindex);

class TcAttachTest : public ::testing::Test {
 protected:
  void TearDown() override {
    TcClsactDelete(kLo);
    for (int fd : fds_) CloseFd(fd);
    NetdevReset();
    SetCallerPrivileged(true);
    SetTargetKernel(KernelVersion::k6_18);
  }
  int Prog(uint32_t type = BPF_PROG_TYPE_SCHED_CLS) {
    const int fd = ProgCreate(type, 0, "tc_ok", &OkProg);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  uint32_t IdOf(int fd) {
    std::shared_ptr<const bpfemu::Prog> p;
    return ProgFromFd(fd, &p) == 0 ? p->id : 0;
  }
  // bpf_tc_attach's request: ETH_P_ALL, direct action.
  int Attach(uint32_t parent, uint32_t handle, uint16_t prio, int fd,
             bool replace = false, TcFilter* out = nullptr, int dev = kLo) {
    TcFilter f;
    return TcFilterNew(dev, parent, handle, prio, kAll, fd, "tc_ok:[1]", true,
                       replace, out != nullptr ? out : &f);
  }
  int Get(uint32_t parent, uint32_t handle, uint16_t prio,
          TcFilter* out = nullptr) {
    TcFilter f;
    return TcFilterGet(kLo, parent, handle, prio, kAll,
                       out != nullptr ? out : &f);
  }
  std::vector<int> fds_;
};

TEST_F(TcAttachTest, ClsactCreateDeleteAndTheIngressQueue) {
  EXPECT_FALSE(TcClsactExists(kLoopbackIfindex));
  // No ingress queue yet: nothing to delete.
  EXPECT_EQ(TcClsactDelete(kLo), -ENOENT);
  EXPECT_EQ(TcClsactCreate(77), -ENODEV);
  EXPECT_EQ(TcClsactDelete(77), -ENODEV);
  ASSERT_EQ(TcClsactCreate(kLo), 0);
  EXPECT_TRUE(TcClsactExists(kLoopbackIfindex));
  EXPECT_EQ(TcClsactCreate(kLo), -EEXIST);
  ASSERT_EQ(TcClsactDelete(kLo), 0);
  // The queue stays, with a default qdisc of handle 0.
  EXPECT_EQ(TcClsactDelete(kLo), -EINVAL);
  EXPECT_EQ(TcClsactCreate(kLo), 0);
}

TEST_F(TcAttachTest, FiltersNeedTheQdiscAndAClsactClass) {
  const int p = Prog();
  EXPECT_EQ(Attach(kTcParentIngress, 1, 1, p), -EINVAL);
  EXPECT_EQ(Attach(kTcParentIngress, 1, 1, p, false, nullptr, 77), -ENODEV);
  ASSERT_EQ(TcClsactCreate(kLo), 0);
  EXPECT_EQ(Attach(0xFFFF0001u, 1, 1, p), -ENOENT);
  EXPECT_EQ(Attach(0x00100000u, 1, 1, p), -EINVAL);
  EXPECT_EQ(Attach(kTcParentIngress, 1, 1, 999), -EBADF);
  EXPECT_EQ(Attach(kTcParentIngress, 1, 1, Prog(BPF_PROG_TYPE_XDP)), -EINVAL);
  EXPECT_EQ(Attach(kTcParentIngress, 1, 1, Prog(BPF_PROG_TYPE_SCHED_ACT)),
            -EINVAL);
  // Failed requests leave no proto and so no chain behind.
  EXPECT_EQ(Get(kTcParentIngress, 1, 1), -EINVAL);
  EXPECT_TRUE(TcFilterList(kLoopbackIfindex).empty());
}

TEST_F(TcAttachTest, ExplicitAndAutomaticHandlesAndPriorities) {
  const int p = Prog(), q = Prog();
  ASSERT_EQ(TcClsactCreate(kLo), 0);
  TcFilter f;
  ASSERT_EQ(Attach(kTcParentIngress, 1, 1, p, false, &f), 0);
  EXPECT_EQ(f.handle, 1u);
  EXPECT_EQ(f.priority, 1);
  EXPECT_EQ(f.prog_id, IdOf(p));
  EXPECT_TRUE(f.direct_action);
  EXPECT_EQ(Attach(kTcParentIngress, 1, 1, q), -EEXIST);
  ASSERT_EQ(Attach(kTcParentIngress, 1, 1, q, true, &f), 0);
  EXPECT_EQ(f.prog_id, IdOf(q));
  // Priority 0: 49152 on a chain with nothing at or above 0x8000, then one
  // below the first such proto.
  ASSERT_EQ(Attach(kTcParentIngress, 0, 0, p, false, &f), 0);
  EXPECT_EQ(f.priority, 49152);
  EXPECT_EQ(f.handle, 1u);
  ASSERT_EQ(Attach(kTcParentIngress, 0, 0, p, false, &f), 0);
  EXPECT_EQ(f.priority, 49151);
  // Handle 0 at a used priority: the lowest free handle of that proto.
  ASSERT_EQ(Attach(kTcParentIngress, 0, 1, p, false, &f), 0);
  EXPECT_EQ(f.handle, 2u);
  ASSERT_EQ(Attach(kTcParentIngress, 0x80000000u, 1, p, false, &f), 0);
  EXPECT_EQ(f.handle, 0x80000000u);
  // REPLACE of a filter that does not exist creates it.
  ASSERT_EQ(Attach(kTcParentEgress, 9, 4, q, true, &f), 0);
  EXPECT_EQ(f.parent, kTcParentEgress);
  // A proto at 0x8000 blocks the automatic priority.
  ASSERT_EQ(Attach(kTcParentIngress, 0, 0x8000, p), 0);
  EXPECT_EQ(Attach(kTcParentIngress, 0, 0, p), -ENOSPC);
  SetTargetKernel(KernelVersion::k6_12);
  EXPECT_EQ(Attach(kTcParentIngress, 0, 0, p), -EINVAL);
  // Another protocol at a used priority.
  EXPECT_EQ(TcFilterNew(kLo, kTcParentIngress, 0, 1, htons(ETH_P_IP), p, "",
                        true, false, &f),
            -EINVAL);
}

TEST_F(TcAttachTest, QueryDetachFlushAndTheChainsLifetime) {
  const int p = Prog(), q = Prog();
  ASSERT_EQ(TcClsactCreate(kLo), 0);
  // No filter yet: the chain does not exist.
  EXPECT_EQ(Get(kTcParentIngress, 1, 1), -EINVAL);
  EXPECT_EQ(TcFilterDelete(kLo, kTcParentIngress, 1, 1, kAll), -ENOENT);
  ASSERT_EQ(Attach(kTcParentIngress, 1, 1, p), 0);
  ASSERT_EQ(Attach(kTcParentIngress, 2, 1, q), 0);
  ASSERT_EQ(Attach(kTcParentEgress, 7, 3, p), 0);
  // The filter holds its program after the fd is closed.
  const uint32_t qid = IdOf(q);
  CloseFd(q);
  fds_.pop_back();
  TcFilter f;
  ASSERT_EQ(Get(kTcParentIngress, 2, 1, &f), 0);
  EXPECT_EQ(f.prog_id, qid);
  EXPECT_EQ(Get(kTcParentIngress, 9, 1), -ENOENT);
  EXPECT_EQ(Get(kTcParentIngress, 1, 2), -ENOENT);
  EXPECT_EQ(Get(kTcParentIngress, 1, 0), -ENOENT);
  EXPECT_EQ(Get(kTcParentEgress, 1, 1), -ENOENT);
  // `tc filter show`: ingress then egress, newest first in a priority.
  std::vector<TcFilter> all = TcFilterList(kLoopbackIfindex);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].handle, 2u);
  EXPECT_EQ(all[1].handle, 1u);
  EXPECT_EQ(all[2].parent, kTcParentEgress);
  EXPECT_EQ(all[2].name, "tc_ok:[1]");
  EXPECT_EQ(all[2].protocol, kAll);
  ASSERT_EQ(TcFilterDelete(kLo, kTcParentIngress, 1, 1, kAll), 0);
  EXPECT_EQ(TcFilterDelete(kLo, kTcParentIngress, 1, 1, kAll), -ENOENT);
  ASSERT_EQ(TcFilterDelete(kLo, kTcParentIngress, 2, 1, kAll), 0);
  // The last filter took its proto and the chain with it.
  EXPECT_EQ(Get(kTcParentIngress, 2, 1), -EINVAL);
  // A flush names only the hook; an absent chain flushes to 0.
  EXPECT_EQ(TcFilterDelete(kLo, kTcParentEgress, 7, 0, 0), -ENOENT);
  EXPECT_EQ(TcFilterDelete(kLo, kTcParentIngress, 0, 0, 0), 0);
  ASSERT_EQ(TcFilterDelete(kLo, kTcParentEgress, 0, 0, 0), 0);
  EXPECT_EQ(Get(kTcParentEgress, 7, 3), -EINVAL);
  // Deleting the qdisc drops its filters; a new one starts empty.
  ASSERT_EQ(Attach(kTcParentEgress, 7, 3, p), 0);
  ASSERT_EQ(TcClsactDelete(kLo), 0);
  EXPECT_EQ(Get(kTcParentEgress, 7, 3), -EINVAL);
  EXPECT_EQ(TcFilterDelete(kLo, kTcParentEgress, 0, 0, 0), -EINVAL);
  ASSERT_EQ(TcClsactCreate(kLo), 0);
  EXPECT_EQ(Get(kTcParentEgress, 7, 3), -EINVAL);
}

TEST_F(TcAttachTest, UnprivilegedChangesAreEpermQueriesAreNot) {
  const int p = Prog();
  ASSERT_EQ(TcClsactCreate(kLo), 0);
  ASSERT_EQ(Attach(kTcParentIngress, 1, 1, p), 0);
  SetCallerPrivileged(false);
  EXPECT_EQ(TcClsactCreate(kLo), -EPERM);
  EXPECT_EQ(TcClsactCreate(77), -EPERM);
  EXPECT_EQ(Attach(kTcParentIngress, 2, 1, p), -EPERM);
  EXPECT_EQ(TcFilterDelete(kLo, kTcParentIngress, 1, 1, kAll), -EPERM);
  EXPECT_EQ(TcClsactDelete(kLo), -EPERM);
  EXPECT_EQ(Get(kTcParentIngress, 1, 1), 0);
  SetCallerPrivileged(true);
}

TEST_F(TcAttachTest, DevicesKeepTheirOwnFiltersAndDropThemWhenRemoved) {
  const int p = Prog();
  const int eth = NetdevAdd("veth0");
  ASSERT_GT(eth, 1);
  ASSERT_EQ(TcClsactCreate(eth), 0);
  ASSERT_EQ(Attach(kTcParentIngress, 1, 1, p, false, nullptr, eth), 0);
  EXPECT_FALSE(TcClsactExists(kLoopbackIfindex));
  EXPECT_EQ(TcFilterList(static_cast<uint32_t>(eth)).size(), 1u);
  ASSERT_EQ(NetdevRemove(static_cast<uint32_t>(eth)), 0);
  EXPECT_TRUE(TcFilterList(static_cast<uint32_t>(eth)).empty());
  // The same index again: a new device, no qdisc, no ingress queue.
  ASSERT_EQ(NetdevAdd("veth0", static_cast<uint32_t>(eth)), eth);
  EXPECT_FALSE(TcClsactExists(static_cast<uint32_t>(eth)));
  EXPECT_EQ(TcClsactDelete(eth), -ENOENT);
}

}  // namespace
}  // namespace bpfemu
