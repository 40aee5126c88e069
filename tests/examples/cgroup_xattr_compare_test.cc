// SPDX-License-Identifier: Apache-2.0
// tests/examples/cgroup_xattr.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// tc program) and on bpfemu, natively and as bytecode: a cgroup2 directory
// made here with a "user.kfx" attribute set by setxattr(2), read through
// bpf_cgroup_read_xattr: the value's length and bytes, -ERANGE for a short
// dynptr, -ENODATA for an absent name, -EPERM outside "user.". The same
// answers, also pinned here.

#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/cgroup.h"
#include "emu/interp.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

struct Result {
  int64_t ret;
  char buf[16];
};

class CgroupXattrCompareTest : public KernelTest<> {
 protected:
  void SetUp() override {
    KernelTest<>::SetUp();
    if (IsSkipped()) return;
    const std::string& mount = Cgroup2Mount();
    if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
    dir_ = mount + "/bpfemu_kfx48_xattr";
    (void)rmdir(dir_.c_str());
    if (mkdir(dir_.c_str(), 0755) != 0) {
      GTEST_SKIP() << "cannot make a cgroup: " << std::strerror(errno);
    }
    if (setxattr(dir_.c_str(), "user.kfx", "hello", 5, 0) != 0) {
      GTEST_SKIP() << "cgroupfs takes no user xattr: " << std::strerror(errno);
    }
    struct stat st;
    ASSERT_EQ(stat(dir_.c_str(), &st), 0);
    id_ = st.st_ino;
  }
  void TearDown() override {
    if (!dir_.empty()) (void)rmdir(dir_.c_str());
  }
  std::string dir_;
  uint64_t id_ = 0;
};

TEST_F(CgroupXattrCompareTest, SameAnswersAsTheKernel) {
  const std::string path = "tests/examples/cgroup_xattr.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  struct Case {
    int64_t sel, size, ret;
    const char* bytes;  // the value's bytes in the buffer, or ""
  };
  const Case cases[] = {{0, 16, 5, "hello"},
                        {0, 3, -ERANGE, ""},
                        {1, 16, -ENODATA, ""},
                        {2, 16, -EPERM, ""}};
  int compared = 0;
  for (bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    auto obj = bytecode ? native::Object::OpenBytecode(path)
                        : native::Object::Open("cgroup_xattr");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    for (const Case& c : cases) {
      SCOPED_TRACE(std::to_string(c.sel) + "/" + std::to_string(c.size));
      const int64_t cfg[3] = {static_cast<int64_t>(id_), c.sel, c.size};
      const Result none{};
      const uint32_t zero = 0;
      for (uint32_t i = 0; i < 3; ++i) {
        ASSERT_EQ(k.Update(kernel->MapFd("cfg"), &i, &cfg[i], BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cfg"), &i, &cfg[i], BPF_ANY), 0);
      }
      ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
      const KernelObject::Result kr =
          KernelObject::RunPacket(kernel->ProgFd("read_xattr"), packet);
      ASSERT_EQ(kr.err, 0);
      interp::ClearFault();
      const native::PacketResult er =
          (*obj)->FindProgram("read_xattr")->RunSkb(packet);
      ASSERT_EQ(er.err, 0);
      EXPECT_EQ(interp::LastFault(), "");
      EXPECT_EQ(er.retval, kr.retval);
      EXPECT_EQ(kr.retval, 0u);
      Result kres{}, eres{};
      ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &kres, 0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &eres), 0);
      EXPECT_EQ(eres.ret, kres.ret);
      EXPECT_EQ(kres.ret, c.ret);
      EXPECT_EQ(std::memcmp(eres.buf, kres.buf, sizeof(kres.buf)), 0);
      EXPECT_EQ(std::string(kres.buf), c.bytes);
      ++compared;
    }
  }
  std::printf("cgroup xattr: %d runs compared\n", compared);
}

}  // namespace
}  // namespace bpfemu::examples
