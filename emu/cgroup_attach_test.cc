// SPDX-License-Identifier: Apache-2.0
// Programs attached to cgroups (emu/cgroup_attach.h, kernel/bpf/cgroup.c
// __cgroup_bpf_attach / __cgroup_bpf_detach / __cgroup_bpf_query) on
// cgroup ids of the test's own (no cgroup2 directory is needed: the model
// names cgroups by id), and the storages an attach links
// (emu/cgroup_storage.h). tests/exec/exec_child.c `cgroup` compares the
// same answers with the kernel's through real cgroup directories.
#include "emu/cgroup_attach.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "emu/cgroup_storage.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

constexpr uint32_t kEgress = BPF_CGROUP_INET_EGRESS;
constexpr uint32_t kPreorder = 1u << 6;
constexpr uint32_t kBefore = 1u << 3;

std::shared_ptr<const Prog> P(uint32_t id, std::vector<uint32_t> maps = {}) {
  auto p = std::make_shared<Prog>();
  p->id = id;
  p->type = BPF_PROG_TYPE_CGROUP_SKB;
  p->extra->load.map_ids = std::move(maps);
  return p;
}

CgroupAttachArgs Args(std::shared_ptr<const Prog> p, uint32_t flags = 0) {
  CgroupAttachArgs a;
  a.prog = std::move(p);
  a.attach_type = kEgress;
  a.flags = flags;
  return a;
}

std::vector<uint32_t> Ids(const CgroupPath& c, bool effective,
                          uint32_t* flags = nullptr) {
  CgroupQueryResult q;
  CgroupProgQuery(c, kEgress, effective, &q);
  if (flags != nullptr) *flags = q.flags;
  return q.ids;
}

// Ids far from any real cgroup's, one set per test.
CgroupPath Cg(uint64_t id, std::vector<uint64_t> parents) {
  return CgroupPath{id, std::move(parents)};
}

TEST(CgroupAttach, SingleOverrideAndMultiFollowTheKernelsRules) {
  const CgroupPath root = Cg(1u << 30, {});
  const CgroupPath child = Cg((1u << 30) + 1, {1u << 30});
  auto a = P(9001), b = P(9002), c = P(9003);
  // Flag combinations (EINVAL) before anything else.
  EXPECT_EQ(
      CgroupProgAttach(root, Args(a, BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI)),
      -EINVAL);
  EXPECT_EQ(CgroupProgAttach(root, Args(a, BPF_F_REPLACE)), -EINVAL);
  // A single program; attaching again replaces it.
  ASSERT_EQ(CgroupProgAttach(root, Args(a)), 0);
  ASSERT_EQ(CgroupProgAttach(root, Args(b)), 0);
  uint32_t flags = 7;
  EXPECT_EQ(Ids(root, false, &flags), (std::vector<uint32_t>{9002}));
  EXPECT_EQ(flags, 0u);
  // Other flags on top of it: EPERM; a child below a non-overridable one:
  // EPERM.
  EXPECT_EQ(CgroupProgAttach(root, Args(c, BPF_F_ALLOW_MULTI)), -EPERM);
  EXPECT_EQ(CgroupProgAttach(child, Args(c)), -EPERM);
  // The child inherits it.
  EXPECT_EQ(Ids(child, true), (std::vector<uint32_t>{9002}));
  EXPECT_EQ(Ids(child, false), (std::vector<uint32_t>{}));
  // A legacy detach without a program takes it; a second finds nothing.
  EXPECT_EQ(CgroupProgDetach(root, nullptr, kEgress, 0), 0);
  EXPECT_EQ(CgroupProgDetach(root, nullptr, kEgress, 0), -ENOENT);
  // Multi: twice the same program is EINVAL; the child's run first, then
  // the parent's.
  ASSERT_EQ(CgroupProgAttach(root, Args(a, BPF_F_ALLOW_MULTI)), 0);
  EXPECT_EQ(CgroupProgAttach(root, Args(a, BPF_F_ALLOW_MULTI)), -EINVAL);
  ASSERT_EQ(CgroupProgAttach(root, Args(b, BPF_F_ALLOW_MULTI)), 0);
  ASSERT_EQ(CgroupProgAttach(child, Args(c, BPF_F_ALLOW_MULTI)), 0);
  EXPECT_EQ(Ids(child, true), (std::vector<uint32_t>{9003, 9001, 9002}));
  // Replace: the program to replace must be attached (ENOENT).
  auto d = P(9004);
  CgroupAttachArgs r = Args(d, BPF_F_ALLOW_MULTI | BPF_F_REPLACE);
  r.replace = c;
  EXPECT_EQ(CgroupProgAttach(root, r), -ENOENT);
  r.replace = a;
  ASSERT_EQ(CgroupProgAttach(root, r), 0);
  EXPECT_EQ(Ids(root, false, &flags), (std::vector<uint32_t>{9004, 9002}));
  EXPECT_EQ(flags, uint32_t{BPF_F_ALLOW_MULTI});
  // A multi detach needs the program.
  EXPECT_EQ(CgroupProgDetach(root, nullptr, kEgress, 0), -EINVAL);
  EXPECT_EQ(CgroupProgDetach(root, a, kEgress, 0), -ENOENT);
  for (const auto& p : {d, b}) {
    EXPECT_EQ(CgroupProgDetach(root, p, kEgress, 0), 0);
  }
  EXPECT_EQ(CgroupProgDetach(child, c, kEgress, 0), 0);
  EXPECT_EQ(Ids(child, true), (std::vector<uint32_t>{}));
}

TEST(CgroupAttach, RevisionsBeforeAndPreorder) {
  const CgroupPath root = Cg((1u << 30) + 10, {});
  const CgroupPath child = Cg((1u << 30) + 11, {(1u << 30) + 10});
  auto a = P(9101), b = P(9102), c = P(9103), d = P(9104);
  CgroupQueryResult q;
  CgroupProgQuery(root, kEgress, false, &q);
  EXPECT_EQ(q.revision, 1u);
  CgroupAttachArgs x = Args(a, BPF_F_ALLOW_MULTI);
  x.revision = 5;
  EXPECT_EQ(CgroupProgAttach(root, x), -ESTALE);
  ASSERT_EQ(CgroupProgAttach(root, Args(a, BPF_F_ALLOW_MULTI)), 0);
  // BPF_F_BEFORE with no anchor: at the head.
  ASSERT_EQ(CgroupProgAttach(root, Args(b, BPF_F_ALLOW_MULTI | kBefore)), 0);
  CgroupProgQuery(root, kEgress, false, &q);
  EXPECT_EQ(q.ids, (std::vector<uint32_t>{9102, 9101}));
  EXPECT_EQ(q.revision, 3u);
  // Preorder programs run before the others, the parent's first.
  ASSERT_EQ(CgroupProgAttach(root, Args(c, BPF_F_ALLOW_MULTI | kPreorder)), 0);
  ASSERT_EQ(CgroupProgAttach(child, Args(d, BPF_F_ALLOW_MULTI | kPreorder)), 0);
  EXPECT_EQ(Ids(child, true), (std::vector<uint32_t>{9103, 9104, 9102, 9101}));
  for (const auto& p : {a, b, c}) {
    EXPECT_EQ(CgroupProgDetach(root, p, kEgress, 0), 0);
  }
  EXPECT_EQ(CgroupProgDetach(child, d, kEgress, 0), 0);
}

TEST(CgroupAttach, AttachLinksTheProgramsStorages) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
               .key_size = sizeof(struct bpf_cgroup_storage_key),
               .value_size = 8};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> m = MapFromFd(fd);
  ASSERT_NE(m, nullptr);
  const CgroupPath cg = Cg((1u << 30) + 20, {});
  struct bpf_cgroup_storage_key key = {};
  key.cgroup_inode_id = cg.id;
  key.attach_type = kEgress;
  std::vector<uint64_t> values(m->nr_cpus(), 0);
  values[0] = 1;
  EXPECT_EQ(MapUpdateElem(fd, &key, values.data(), BPF_ANY), -ENOENT);
  const size_t before = CgroupStoragesLinked();
  auto p = P(9201, {m->id()});
  ASSERT_EQ(CgroupProgAttach(cg, Args(p)), 0);
  EXPECT_EQ(CgroupStoragesLinked(), before + 1);
  EXPECT_EQ(MapUpdateElem(fd, &key, values.data(), BPF_ANY), 0);
  std::vector<uint64_t> out(m->nr_cpus(), 9);
  ASSERT_EQ(MapLookupElem(fd, &key, out.data(), 0), 0);
  EXPECT_EQ(out, values);
  struct bpf_cgroup_storage_key next = {};
  ASSERT_EQ(MapGetNextKey(fd, nullptr, &next), 0);
  EXPECT_EQ(next.cgroup_inode_id, cg.id);
  EXPECT_EQ(MapGetNextKey(fd, &key, &next), -ENOENT);
  // Detached, the storage stays (until the cgroup or the map goes).
  EXPECT_EQ(CgroupProgDetach(cg, p, kEgress, 0), 0);
  ASSERT_EQ(MapLookupElem(fd, &key, out.data(), 0), 0);
  m.reset();
  CloseFd(fd);
  EXPECT_EQ(CgroupStoragesLinked(), before);
}

// Cgroup links (cgroup_bpf_link_attach, bpf_cgroup_link_lops): entries of
// the same list, attached as BPF_F_ALLOW_MULTI; a program's entry and a
// link's never stand for each other.
TEST(CgroupLink, LinksSitBesideProgramsAndAreReleasedByTheirLastFd) {
  const CgroupPath cg = Cg((1u << 30) + 30, {});
  auto a = P(301), b = P(302), d = P(304);
  const size_t before = CgroupProgsAttached();
  const int la = CgroupLinkAttach(cg, Args(a));
  ASSERT_GE(la, 0);
  EXPECT_TRUE(IsCgroupLinkFd(la));
  EXPECT_NE(CgroupLinkIdOfFd(la), 0u);
  uint32_t flags = 0;
  EXPECT_EQ(Ids(cg, false, &flags), (std::vector<uint32_t>{301}));
  EXPECT_EQ(flags, uint32_t{BPF_F_ALLOW_MULTI});
  // A single program cannot go on a multi list; the same program as a
  // program entry can.
  EXPECT_EQ(CgroupProgAttach(cg, Args(b)), -EPERM);
  EXPECT_EQ(CgroupProgAttach(cg, Args(a, BPF_F_ALLOW_MULTI)), 0);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{301, 301}));
  // Replacing and detaching by program find the program's entry only.
  CgroupAttachArgs rep = Args(b, BPF_F_ALLOW_MULTI | BPF_F_REPLACE);
  rep.replace = d;
  EXPECT_EQ(CgroupProgAttach(cg, rep), -ENOENT);
  EXPECT_EQ(CgroupProgDetach(cg, a, kEgress, 0), 0);
  EXPECT_EQ(CgroupProgDetach(cg, a, kEgress, 0), -ENOENT);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{301}));
  // A second link, before the first by link anchor; a program anchor or no
  // anchor for BPF_F_LINK is refused.
  CgroupAttachArgs before_la = Args(b, kBefore | (1u << 13));
  before_la.anchor_link = CgroupLinkIdOfFd(la);
  const int lb = CgroupLinkAttach(cg, before_la);
  ASSERT_GE(lb, 0);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{302, 301}));
  CgroupAttachArgs no_anchor = Args(d, kBefore | (1u << 13));
  EXPECT_EQ(CgroupLinkAttach(cg, no_anchor), -EINVAL);
  CgroupAttachArgs prog_anchor = Args(d, kBefore);
  prog_anchor.relative = 1;
  prog_anchor.anchor = a;
  EXPECT_EQ(CgroupLinkAttach(cg, prog_anchor), -EINVAL);
  // Update: EPERM for a wrong old program, EINVAL for another type or
  // other storages, then the swap in place.
  EXPECT_EQ(CgroupLinkReplace(la, d, b), -EPERM);
  auto other_type = std::make_shared<Prog>();
  other_type->id = 305;
  other_type->type = BPF_PROG_TYPE_XDP;
  EXPECT_EQ(CgroupLinkReplace(la, other_type, nullptr), -EINVAL);
  EXPECT_EQ(CgroupLinkReplace(la, d, a), 0);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{302, 304}));
  // Detach: off the list, the fd stays; its update is ENOLINK.
  EXPECT_EQ(CgroupLinkDetach(lb), 0);
  EXPECT_EQ(CgroupLinkDetach(lb), 0);
  EXPECT_EQ(CgroupLinkReplace(lb, a, nullptr), -ENOLINK);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{304}));
  // The last fd's close releases the link (ForgetFd's hook).
  EXPECT_EQ(CloseFd(la), 0);
  EXPECT_FALSE(IsCgroupLinkFd(la));
  uint32_t after = 7;
  EXPECT_TRUE(Ids(cg, false, &after).empty());
  EXPECT_EQ(after, 0u);
  EXPECT_EQ(CloseFd(lb), 0);
  EXPECT_EQ(CgroupProgsAttached(), before);
}

// A link is its file: a dup() of its fd holds it as the kernel's struct
// file does, and only the last close of the file releases it.
TEST(CgroupLink, ADupOfTheFdKeepsTheLink) {
  const CgroupPath cg = Cg((1u << 30) + 40, {});
  const int l = CgroupLinkAttach(cg, Args(P(401)));
  ASSERT_GE(l, 0);
  const int copy = dup(l);
  ASSERT_GE(copy, 0);
  EXPECT_TRUE(IsCgroupLinkFd(copy));
  EXPECT_EQ(CgroupLinkIdOfFd(copy), CgroupLinkIdOfFd(l));
  EXPECT_EQ(CloseFd(l), 0);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{401}));
  EXPECT_EQ(CgroupLinkReplace(copy, P(402), nullptr), 0);
  EXPECT_EQ(Ids(cg, false), (std::vector<uint32_t>{402}));
  EXPECT_EQ(CloseFd(copy), 0);
  EXPECT_TRUE(Ids(cg, false).empty());
  EXPECT_FALSE(IsCgroupLinkFd(copy));
}

// Program fds of this process named by number, cgroups by a fixed path,
// and one fd that is a link of another kind (an iterator's).
class FakeFds : public CgroupFds {
 public:
  std::map<int, std::shared_ptr<const bpfemu::Prog>> progs;
  CgroupPath cgroup;
  int other_link = -1;
  int Cgroup(int fd, CgroupPath* out) override {
    if (fd != 1000) return -EBADF;
    *out = cgroup;
    return 0;
  }
  int Prog(int fd, std::shared_ptr<const bpfemu::Prog>* out) override {
    auto it = progs.find(fd);
    if (it == progs.end()) return -EBADF;
    *out = it->second;
    return 0;
  }
  int Link(int fd, int* local) override {
    (void)local;
    return fd == other_link ? -EINVAL : -EBADF;  // no cgroup link here
  }
  bool OtherLink(int fd) override { return fd == other_link; }
};

// bpf_get_anchor_link() takes any link; one of another kind is on no
// cgroup's list (measured on 6.18 with a raw tracepoint link: -ENOENT).
TEST(CgroupLink, AnotherKindOfLinkAsAnAnchorIsNotFound) {
  FakeFds fds;
  fds.cgroup = Cg((1u << 30) + 50, {});
  fds.progs[7] = P(501);
  fds.other_link = 1001;
  LinkCreateAttr lc;
  lc.prog_fd = 7;
  lc.target_fd = 1000;
  lc.attach_type = kEgress;
  lc.flags = (1u << 13) | (1u << 4);  // BPF_F_LINK | BPF_F_AFTER
  lc.relative_fd = 1001;
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -ENOENT);
  lc.relative_fd = 1002;  // no file: bpf_link_get_from_fd
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -EBADF);
}

// An egress CGROUP_SKB program that returns 2 or 3 attaches to egress
// only (check_return_code's enforce_expected_attach_type; measured on
// 6.18: -EINVAL at ingress by attach and by link).
TEST(CgroupLink, AnEnforcedEgressProgramStaysAtEgress) {
  FakeFds fds;
  fds.cgroup = Cg((1u << 30) + 60, {});
  auto enforced = std::make_shared<Prog>();
  enforced->id = 601;
  enforced->type = BPF_PROG_TYPE_CGROUP_SKB;
  enforced->expected_attach_type = kEgress;
  enforced->enforce_expected_attach_type = true;
  auto free = std::make_shared<Prog>();
  free->id = 602;
  free->type = BPF_PROG_TYPE_CGROUP_SKB;
  free->expected_attach_type = kEgress;
  fds.progs[7] = enforced;
  fds.progs[8] = free;
  ProgAttachAttr pa;
  pa.target_fd = 1000;
  pa.attach_bpf_fd = 7;
  pa.attach_type = BPF_CGROUP_INET_INGRESS;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), -EINVAL);
  LinkCreateAttr lc;
  lc.prog_fd = 7;
  lc.target_fd = 1000;
  lc.attach_type = BPF_CGROUP_INET_INGRESS;
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -EINVAL);
  pa.attach_bpf_fd = 8;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), 0);
  EXPECT_EQ(CgroupDetachCommand(pa, fds), 0);
  pa.attach_bpf_fd = 7;
  pa.attach_type = kEgress;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), 0);
  EXPECT_EQ(CgroupDetachCommand(pa, fds), 0);
}

// 6.1's link_create has no cgroup members: relative_fd and
// expected_revision (another link's target_btf_id) are not read.
TEST(CgroupLink, Kernel61IgnoresRelativeFdAndRevision) {
  FakeFds fds;
  fds.cgroup = Cg((1u << 30) + 70, {});
  fds.progs[7] = P(701);
  LinkCreateAttr lc;
  lc.prog_fd = 7;
  lc.target_fd = 1000;
  lc.attach_type = kEgress;
  lc.relative_fd = 5;
  lc.expected_revision = 99;
  // 6.12+: the revision first, then an anchor without BPF_F_BEFORE /
  // _AFTER (measured on 6.18 with target_btf_id 5: -EINVAL).
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -ESTALE);
  lc.expected_revision = 0;
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -EINVAL);
  lc.expected_revision = 99;
  const KernelVersion saved = TargetKernel();
  SetTargetKernel(KernelVersion::k6_1);
  const int l = CgroupLinkCreateCommand(lc, fds);
  SetTargetKernel(saved);
  ASSERT_GE(l, 0);
  EXPECT_EQ(Ids(fds.cgroup, false), (std::vector<uint32_t>{701}));
  EXPECT_EQ(CloseFd(l), 0);
}

// The commands' checks before the lists, on this process's fds.
TEST(CgroupLink, CommandsCheckTheirFdsInTheKernelsOrder) {
  CgroupFds fds;
  LinkCreateAttr lc;
  lc.prog_fd = 9999;
  lc.target_fd = 9999;
  lc.attach_type = kEgress;
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -EBADF);
  EXPECT_EQ(CgroupLinkUpdateCommand(9999, 9999, 0, 0, fds), -EBADF);
  EXPECT_EQ(CgroupLinkUpdateCommand(9999, 9999, 2, 0, fds), -EINVAL);
  EXPECT_EQ(CgroupLinkUpdateCommand(0, 9999, 0, 0, fds), -EINVAL);
  ProgAttachAttr pa;
  pa.attach_type = 1000;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), -EINVAL);
  pa.attach_type = BPF_XDP;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), kNotCgroupHook);
  EXPECT_EQ(CgroupDetachCommand(pa, fds), kNotCgroupHook);
  pa.attach_type = kEgress;
  pa.attach_bpf_fd = 9999;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), -EBADF);
  CgroupQueryResult q;
  EXPECT_EQ(CgroupQueryCommand(9999, kEgress, 0, false, fds, &q), -EBADF);
  EXPECT_EQ(CgroupQueryCommand(9999, kEgress, 2, false, fds, &q), -EINVAL);
  EXPECT_EQ(CgroupQueryCommand(9999, BPF_LSM_CGROUP, 0, false, fds, &q),
            kNotCgroupHook);
}

// No capability is checked by BPF_PROG_ATTACH, _DETACH, BPF_LINK_CREATE or
// _UPDATE (kernel/bpf/syscall.c); the query's bpf_net_capable is. Measured
// on 6.18 as nobody with fd 999: -EBADF for each, the query -EPERM.
TEST(CgroupLink, AnUnprivilegedCallerGetsTheFdErrors) {
  CgroupFds fds;
  SetCallerPrivileged(false);
  ProgAttachAttr pa;
  pa.target_fd = 999;
  pa.attach_bpf_fd = 999;
  pa.attach_type = kEgress;
  EXPECT_EQ(CgroupAttachCommand(pa, fds), -EBADF);
  EXPECT_EQ(CgroupDetachCommand(pa, fds), -EBADF);
  LinkCreateAttr lc;
  lc.prog_fd = 999;
  lc.target_fd = 999;
  lc.attach_type = kEgress;
  EXPECT_EQ(CgroupLinkCreateCommand(lc, fds), -EBADF);
  EXPECT_EQ(CgroupLinkUpdateCommand(999, 0, 0, 0, fds), -EBADF);
  CgroupQueryResult q;
  EXPECT_EQ(CgroupQueryCommand(999, kEgress, 0, false, fds, &q), -EPERM);
  SetCallerPrivileged(true);
}

}  // namespace
}  // namespace bpfemu
