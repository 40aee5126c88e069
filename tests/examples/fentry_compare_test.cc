// SPDX-License-Identifier: Apache-2.0
// tests/examples/fentry.bpf.c on the kernel (fentry, fexit and fmod_ret
// programs attached with BPF_LINK_CREATE to the functions
// bpf_prog_test_run_tracing calls, then test-run) and on bpfemu, natively
// and as bytecode: fentry_cases.h's scenario gives the same lines (link
// and test-run answers, the `out` map after each run). A kernel that
// refuses to load such programs (the 6.18 host this was written on
// answers EPERM to every fentry/fexit/fmod_ret load) skips with that
// reason. To re-record testdata/fentry.expected, which fentry_test checks
// without root, on a kernel that loads them:
//   bazel test //tests/examples:fentry_compare_test
//     --test_env=BPFEMU_RECORD_FENTRY=$PWD/tests/examples/testdata/fentry.expected

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/fentry_cases.h"
#include "tests/examples/fentry_emu.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace fentry;  // NOLINT: the shared scenario

class KernelFentry : public Backend {
 public:
  explicit KernelFentry(KernelObject* obj) : obj_(obj) {}
  // BPF_LINK_CREATE itself: libbpf's bpf_link_create retries an EINVAL
  // with BPF_RAW_TRACEPOINT_OPEN for fentry/fexit/fmod_ret programs (for
  // kernels without tracing links), which would turn the kernel's answer
  // to a wrong attach type into that call's.
  int Link(const std::string& prog, uint32_t attach_type, uint32_t target_fd,
           uint32_t target_btf_id, uint64_t cookie) override {
    union bpf_attr attr = {};
    attr.link_create.prog_fd = static_cast<uint32_t>(obj_->ProgFd(prog));
    attr.link_create.target_fd = target_fd;
    attr.link_create.attach_type = attach_type;
    attr.link_create.target_btf_id = target_btf_id;
    attr.link_create.tracing.cookie = cookie;
    const long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
    return fd < 0 ? -errno : static_cast<int>(fd);
  }
  int RawTpOpen(const std::string& prog, const char* name) override {
    const int fd = bpf_raw_tracepoint_open(name, obj_->ProgFd(prog));
    return fd < 0 ? -errno : fd;
  }
  int LinkDetach(int link_fd) override {
    return bpf_link_detach(link_fd) < 0 ? -errno : 0;
  }
  void Close(int fd) override { close(fd); }
  int Run(const std::string& prog, uint32_t flags, uint32_t cpu,
          uint32_t* retval) override {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = flags, .cpu = cpu);
    const int err = bpf_prog_test_run_opts(obj_->ProgFd(prog), &opts);
    *retval = opts.retval;
    return err < 0 ? -errno : 0;
  }
  void SetCfg(const Cfg& c) override {
    const uint32_t zero = 0;
    (void)KernelBackend::Get().Update(obj_->MapFd("cfg"), &zero, &c, BPF_ANY);
  }
  Out ReadOut() override {
    const uint32_t zero = 0;
    Out o = {};
    (void)KernelBackend::Get().Lookup(obj_->MapFd("out"), &zero, &o, 0);
    return o;
  }
  void ClearOut() override {
    const uint32_t zero = 0;
    const Out o = {};
    (void)KernelBackend::Get().Update(obj_->MapFd("out"), &zero, &o, BPF_ANY);
  }

 private:
  KernelObject* obj_;
};

class FentryCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(FentryCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/fentry.bpf.o";
  std::unique_ptr<KernelObject> kobj;
  const int loaded = KernelObject::Load(path, &kobj);
  if (loaded == -EPERM) {
    GTEST_SKIP() << "this kernel refuses fentry/fexit/fmod_ret programs "
                    "(EPERM at load)";
  }
  std::string error;
  if (loaded != 0) {
    // A kernel that refuses the object (6.1, in the kernel matrix's guest):
    // the emulator, whose kernel BTF is that kernel's, must refuse it too.
    (void)EmuScenario(GetParam(), &error);
    EXPECT_EQ(error.rfind("load: ", 0), 0u)
        << "the kernel refused the object (" << loaded
        << ") and the emulator did not: " << error;
    return;
  }
  KernelFentry kb(kobj.get());
  const std::vector<std::string> want = RunScenario(kb);
  const std::vector<std::string> got = EmuScenario(GetParam(), &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(got.size(), want.size());
  std::string record;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i], want[i]);
    record += want[i];
  }
  std::printf("fentry: %zu lines compared with the kernel\n", want.size());
  const char* record_path = std::getenv("BPFEMU_RECORD_FENTRY");
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "fentry", record)) << record_path;
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, FentryCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
