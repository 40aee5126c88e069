// SPDX-License-Identifier: Apache-2.0
// XdpSetLink / XdpQueryLink (emu/xdp_attach.h) against the rules of
// net/core/rtnetlink.c do_setlink and net/core/dev.c dev_xdp_attach.
#include "emu/xdp_attach.h"

#include <linux/bpf.h>
#include <linux/if_link.h>

#include <vector>

#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

int PassProg(void*) { return XDP_PASS; }

class XdpAttachTest : public ::testing::Test {
 protected:
  void TearDown() override {
    XdpSetLink(kLoopbackIfindex, -1, -1, 0);
    XdpSetLink(kLoopbackIfindex, -1, -1, XDP_FLAGS_SKB_MODE);
    for (int fd : fds_) CloseFd(fd);
    NetdevReset();
    SetCallerPrivileged(true);
  }
  int Prog(uint32_t type = BPF_PROG_TYPE_XDP, uint32_t attach = 0) {
    const int fd = ProgCreate(type, attach, "xdp", &PassProg);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  uint32_t IdOf(int fd) {
    std::shared_ptr<const bpfemu::Prog> p;
    return ProgFromFd(fd, &p) == 0 ? p->id : 0;
  }
  XdpAttachment Query(uint32_t ifindex = kLoopbackIfindex) {
    XdpAttachment a;
    EXPECT_TRUE(XdpQueryLink(ifindex, &a));
    return a;
  }
  std::vector<int> fds_;
};

TEST_F(XdpAttachTest, GenericModeAttachQueryDetach) {
  const int p = Prog();
  ASSERT_GE(p, 0);
  EXPECT_EQ(Query().attach_mode, XDP_ATTACHED_NONE);
  // No mode flag picks generic mode: no emulated device has ndo_bpf.
  ASSERT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, 0), 0);
  XdpAttachment a = Query();
  EXPECT_EQ(a.attach_mode, XDP_ATTACHED_SKB);
  EXPECT_EQ(a.prog_id, IdOf(p));
  EXPECT_EQ(a.skb_prog_id, IdOf(p));
  EXPECT_EQ(a.drv_prog_id, 0u);
  // The attachment holds the program after its fd is closed.
  const uint32_t id = IdOf(p);
  CloseFd(p);
  fds_.clear();
  EXPECT_EQ(Query().prog_id, id);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, -1, -1, XDP_FLAGS_SKB_MODE), 0);
  EXPECT_EQ(Query().attach_mode, XDP_ATTACHED_NONE);
  // Detaching nothing is fine.
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, -1, -1, 0), 0);
}

TEST_F(XdpAttachTest, ErrnosInTheKernelsOrder) {
  const int p = Prog(), q = Prog();
  const int not_xdp = Prog(BPF_PROG_TYPE_SCHED_CLS);
  const int devmap_prog = Prog(BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP);
  const int cpumap_prog = Prog(BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP);
  EXPECT_EQ(XdpSetLink(77, p, -1, 0), -ENODEV);
  EXPECT_EQ(XdpSetLink(0, p, -1, 0), -EINVAL);
  EXPECT_EQ(XdpSetLink(-3, p, -1, 0), -EINVAL);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, 1U << 6), -EINVAL);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, p, -1,
                       XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE),
            -EINVAL);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, 999, -1, 0), -EBADF);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, not_xdp, -1, 0), -EINVAL);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, devmap_prog, -1, 0), -EINVAL);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, cpumap_prog, -1, 0), -EINVAL);
  // Native and offloaded modes need a driver's ndo_bpf.
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, XDP_FLAGS_DRV_MODE),
            -EOPNOTSUPP);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, XDP_FLAGS_HW_MODE),
            -EOPNOTSUPP);
  // Detaching an empty native slot changes nothing: no driver is called.
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, -1, -1, XDP_FLAGS_DRV_MODE), 0);

  ASSERT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, XDP_FLAGS_SKB_MODE), 0);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, q, -1,
                       XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST),
            -EBUSY);
  // REPLACE: the expected program must be the attached one.
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, q, q, XDP_FLAGS_REPLACE), -EEXIST);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, q, -1, XDP_FLAGS_REPLACE), -EEXIST);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, q, 999, XDP_FLAGS_REPLACE), -EBADF);
  ASSERT_EQ(XdpSetLink(kLoopbackIfindex, q, p, XDP_FLAGS_REPLACE), 0);
  EXPECT_EQ(Query().prog_id, IdOf(q));
  // Without REPLACE the expected fd is not read.
  ASSERT_EQ(XdpSetLink(kLoopbackIfindex, p, 999, 0), 0);
  EXPECT_EQ(Query().prog_id, IdOf(p));
  // Re-attaching the attached program is no change.
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, 0), 0);
}

TEST_F(XdpAttachTest, UnprivilegedIsEpermAndQueryIsNot) {
  const int p = Prog();
  SetCallerPrivileged(false);
  EXPECT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, 0), -EPERM);
  EXPECT_EQ(XdpSetLink(77, p, -1, 0), -EPERM);
  EXPECT_EQ(Query().attach_mode, XDP_ATTACHED_NONE);
}

TEST_F(XdpAttachTest, DevicesKeepTheirOwnProgramsAndDropThemWhenRemoved) {
  const int p = Prog(), q = Prog();
  const int eth = NetdevAdd("veth0");
  ASSERT_GT(eth, 1);
  ASSERT_EQ(XdpSetLink(kLoopbackIfindex, p, -1, 0), 0);
  ASSERT_EQ(XdpSetLink(eth, q, -1, XDP_FLAGS_SKB_MODE), 0);
  EXPECT_EQ(Query().prog_id, IdOf(p));
  EXPECT_EQ(Query(eth).prog_id, IdOf(q));
  ASSERT_EQ(NetdevRemove(eth), 0);
  XdpAttachment gone;
  EXPECT_FALSE(XdpQueryLink(eth, &gone));
  // A device added again under the same index starts empty.
  ASSERT_EQ(NetdevAdd("veth0", eth), eth);
  EXPECT_EQ(Query(eth).attach_mode, XDP_ATTACHED_NONE);
}

}  // namespace
}  // namespace bpfemu
