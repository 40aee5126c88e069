// SPDX-License-Identifier: Apache-2.0
// tests/examples/cgrp_kfuncs.bpf.c on the kernel (libbpf, BPF_PROG_TEST_RUN
// of its tc programs) and on bpfemu, natively and as bytecode: the cgroup
// storage of the cgroup2 root and of the test's own cgroup, reached from a
// cgroup id by bpf_cgroup_from_id and bpf_cgrp_storage_get / _delete, and
// from userspace by a cgroup fd. Every step gives the same line, and bpfemu
// holds no cgroup reference afterwards.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/cgroup.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

std::vector<uint8_t> Packet() { return Ipv4Frame(1, 2, 3, 4, 17, 64); }

struct Side {
  std::function<bool(uint32_t key, int64_t v)> set_cfg;
  std::function<bool(const char* prog, int32_t* ret)> run;
  std::function<int(int cg_fd, int64_t* v)> lookup;
  std::function<int(int cg_fd, int64_t v)> update;
  std::function<int(int cg_fd)> del;
};

// The steps; the transcript, or "" if a run failed.
std::string RunSteps(Side& s, uint64_t own_id, int root_fd, int own_fd) {
  const uint64_t kNoCgroup = 0xfffffff0;
  std::string out;
  auto run = [&](const char* prog, uint64_t id, int64_t flags, int64_t add) {
    int32_t ret = 0;
    if (!s.set_cfg(0, static_cast<int64_t>(id)) || !s.set_cfg(1, flags) ||
        !s.set_cfg(2, add) || !s.run(prog, &ret)) {
      return false;
    }
    absl::StrAppend(&out, prog, " ",
                    id == own_id ? "own"
                    : id == 1    ? "root"
                                 : "none",
                    " ", flags, " ", add, " = ", ret, "\n");
    return true;
  };
  auto lookup = [&](int fd, const char* name) {
    int64_t v = -1;
    const int err = s.lookup(fd, &v);
    absl::StrAppend(&out, "lookup ", name, " = ", err, " ", err == 0 ? v : 0,
                    "\n");
  };
  const int64_t kCreate = BPF_LOCAL_STORAGE_GET_F_CREATE;
  if (!run("cg_get", 1, 0, 5) || !run("cg_get", 1, kCreate, 5) ||
      !run("cg_get", 1, 0, 3)) {
    return "";
  }
  lookup(root_fd, "root");
  absl::StrAppend(&out, "update own = ", s.update(own_fd, 100), "\n");
  if (!run("cg_get", own_id, 0, 1) || !run("cg_del", own_id, 0, 0) ||
      !run("cg_del", own_id, 0, 0)) {
    return "";
  }
  lookup(own_fd, "own");
  if (!run("cg_get", kNoCgroup, kCreate, 1) ||
      !run("cg_del", kNoCgroup, 0, 0) || !run("cg_acquire", 1, 0, 0) ||
      !run("cg_acquire", kNoCgroup, 0, 0) || !run("cg_get", 1, 2, 1) ||
      !run("cg_get", own_id, kCreate, 7)) {
    return "";
  }
  lookup(own_fd, "own");
  absl::StrAppend(&out, "delete own = ", s.del(own_fd), "\n");
  if (!run("cg_del", 1, 0, 0)) return "";
  lookup(root_fd, "root");
  absl::StrAppend(&out, "delete root = ", s.del(root_fd), "\n");
  return out;
}

class CgrpKfuncsCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(CgrpKfuncsCompareTest, SameStorageAsTheKernel) {
  const std::string& mount = Cgroup2Mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  // A cgroup of its own below the root (the test may run in the root).
  std::string own_path =
      mount + "/bpfemu_cgrp_kfuncs_" + std::to_string(getpid());
  const bool made = mkdir(own_path.c_str(), 0755) == 0;
  if (!made) own_path = mount + CurrentCgroupPath();
  const int root_fd = open(mount.c_str(), O_RDONLY | O_DIRECTORY);
  const int own_fd = open(own_path.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(root_fd, 0) << mount;
  ASSERT_GE(own_fd, 0) << own_path;
  struct stat st;
  ASSERT_EQ(fstat(own_fd, &st), 0);
  const uint64_t own_id = st.st_ino;
  const std::string path = "tests/examples/cgrp_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  const uint64_t refs_before = CgroupRefs();
  {
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("cgrp_kfuncs");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
    KernelBackend& k = KernelBackend::Get();
    Side ks;
    ks.set_cfg = [&](uint32_t key, int64_t v) {
      return k.Update(kernel->MapFd("cfg"), &key, &v, 0) == 0;
    };
    ks.run = [&](const char* name, int32_t* ret) {
      const KernelObject::Result r =
          KernelObject::RunPacket(kernel->ProgFd(name), Packet());
      *ret = static_cast<int32_t>(r.retval);
      return r.err == 0;
    };
    ks.lookup = [&](int fd, int64_t* v) {
      return k.Lookup(kernel->MapFd("cgs"), &fd, v, 0);
    };
    ks.update = [&](int fd, int64_t v) {
      return k.Update(kernel->MapFd("cgs"), &fd, &v, 0);
    };
    ks.del = [&](int fd) { return k.Delete(kernel->MapFd("cgs"), &fd); };
    native::Object& o = **obj;
    Side es;
    es.set_cfg = [&](uint32_t key, int64_t v) {
      return MapUpdateElem(o.MapFd("cfg"), &key, &v, 0) == 0;
    };
    es.run = [&](const char* name, int32_t* ret) {
      const native::Program* p = o.FindProgram(name);
      if (p == nullptr) return false;
      const native::PacketResult r = p->RunSkb(Packet());
      *ret = static_cast<int32_t>(r.retval);
      return r.err == 0;
    };
    es.lookup = [&](int fd, int64_t* v) {
      return MapLookupElem(o.MapFd("cgs"), &fd, v);
    };
    es.update = [&](int fd, int64_t v) {
      return MapUpdateElem(o.MapFd("cgs"), &fd, &v, 0);
    };
    es.del = [&](int fd) { return MapDeleteElem(o.MapFd("cgs"), &fd); };
    const std::string kl = RunSteps(ks, own_id, root_fd, own_fd);
    ASSERT_FALSE(kl.empty()) << "kernel";
    const std::string el = RunSteps(es, own_id, root_fd, own_fd);
    ASSERT_FALSE(el.empty()) << "bpfemu: " << interp::LastFault();
    EXPECT_EQ(el, kl);
    std::printf("cgrp_kfuncs (%s):\n%s", GetParam() ? "bytecode" : "native",
                kl.c_str());
  }
  EXPECT_EQ(CgroupRefs(), refs_before);
  close(own_fd);
  close(root_fd);
  if (made) rmdir(own_path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Faces, CgrpKfuncsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
