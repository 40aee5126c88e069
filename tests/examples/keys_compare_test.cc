// SPDX-License-Identifier: Apache-2.0
// tests/examples/keys.bpf.c (kfy48) on the kernel (BPF_PROG_TEST_RUN of
// the syscall program) and on bpfemu, natively and as bytecode. Each side
// runs in a child process of its own, so both start without thread and
// process keyrings: the special keyrings with and without
// KEY_LOOKUP_CREATE, flags outside KEY_LOOKUP_ALL, serial 0, a user key the
// child added (also with KEY_LOOKUP_PARTIAL), a revoked key, a serial no
// key has, and the system keyring ids; which lookups find a key and its
// has_ref must be the same.

#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/in_child.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Args {
  uint32_t system[8];
  uint32_t serial[8];
  uint64_t flags[8];
  uint64_t id[8];
};

struct Step {
  std::string what;
  bool system;
  int32_t serial;
  uint64_t flags_or_id;
};

long AddKey(const char* desc, int32_t keyring) {
  return syscall(SYS_add_key, "user", desc, "data", 4, keyring);
}

// The steps, in batches of 8, with the keys this process adds between the
// batches.
std::string Transcript(
    const std::function<bool(const Args&, int64_t r[8])>& run) {
  std::string out;
  auto batch = [&](const std::vector<Step>& steps) {
    Args a{};
    for (size_t i = 0; i < steps.size() && i < 8; ++i) {
      a.system[i] = steps[i].system;
      a.serial[i] = static_cast<uint32_t>(steps[i].serial);
      a.flags[i] = steps[i].system ? 0 : steps[i].flags_or_id;
      a.id[i] = steps[i].system ? steps[i].flags_or_id : 0;
    }
    int64_t r[8] = {};
    if (!run(a, r)) {
      absl::StrAppend(&out, "run failed\n");
      return;
    }
    for (size_t i = 0; i < steps.size() && i < 8; ++i) {
      absl::StrAppend(&out, steps[i].what, ": ", r[i], "\n");
    }
  };
  auto user = [](const std::string& what, int32_t serial, uint64_t flags) {
    return Step{what, false, serial, flags};
  };
  auto sys = [](uint64_t id) {
    return Step{absl::StrCat("system ", id), true, 0, id};
  };
  batch({user("thread", KEY_SPEC_THREAD_KEYRING, 0),
         user("process", KEY_SPEC_PROCESS_KEYRING, 0),
         user("session", KEY_SPEC_SESSION_KEYRING, 0),
         user("user", KEY_SPEC_USER_KEYRING, 0),
         user("user session", KEY_SPEC_USER_SESSION_KEYRING, 0),
         user("group", KEY_SPEC_GROUP_KEYRING, 0),
         user("reqkey auth", KEY_SPEC_REQKEY_AUTH_KEY, 0),
         user("requestor", KEY_SPEC_REQUESTOR_KEYRING, 0)});
  batch({user("thread, create", KEY_SPEC_THREAD_KEYRING, 1),
         user("thread again", KEY_SPEC_THREAD_KEYRING, 0),
         user("process, create", KEY_SPEC_PROCESS_KEYRING, 1),
         user("process again", KEY_SPEC_PROCESS_KEYRING, 0),
         user("serial 0", 0, 0),
         user("thread, flags 4", KEY_SPEC_THREAD_KEYRING, 4),
         user("thread, partial", KEY_SPEC_THREAD_KEYRING, 2),
         user("session, create", KEY_SPEC_SESSION_KEYRING, 1)});
  const long key = AddKey("kfy48-key", KEY_SPEC_PROCESS_KEYRING);
  const long revoked = AddKey("kfy48-revoked", KEY_SPEC_PROCESS_KEYRING);
  absl::StrAppend(&out, "add_key: ", key > 0, " ", revoked > 0, "\n");
  syscall(SYS_keyctl, KEYCTL_REVOKE, revoked);
  batch({user("key", static_cast<int32_t>(key), 0),
         user("key, partial", static_cast<int32_t>(key), 2),
         user("key, create | partial", static_cast<int32_t>(key), 3),
         user("key, flags 1 << 32", static_cast<int32_t>(key), 1ull << 32),
         user("revoked key", static_cast<int32_t>(revoked), 0),
         user("no such serial", 0x7ffffff0, 0), sys(0), sys(1)});
  batch({sys(2), sys(3), sys(~0ull), sys(1ull << 32),
         user("key again", static_cast<int32_t>(key), 0),
         user("serial -9", -9, 0), user("serial INT_MIN", INT32_MIN, 0),
         user("user, create", KEY_SPEC_USER_KEYRING, 1)});
  return out;
}

class KeysCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(KeysCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/keys.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  const int prog_fd = kernel->ProgFd("lookups");
  const int res_fd = kernel->MapFd("res");
  const std::string kl = InChild([&](int out) {
    KernelBackend& k = KernelBackend::Get();
    WriteAll(out, Transcript([&](const Args& a, int64_t r[8]) {
               Args copy = a;
               const KernelObject::Result res =
                   KernelObject::RunSyscall(prog_fd, &copy, sizeof(copy));
               const uint32_t zero = 0;
               return res.err == 0 && res.retval == 0 &&
                      k.Lookup(res_fd, &zero, r, 0) == 0;
             }));
  });
  const bool bytecode = GetParam();
  const std::string el = InChild([&](int out) {
    auto obj = bytecode ? native::Object::OpenBytecode(path)
                        : native::Object::Open("keys");
    if (!obj.ok() || (*obj)->Load() != 0) return WriteAll(out, "load failed");
    const native::Program* prog = (*obj)->FindProgram("lookups");
    WriteAll(out, Transcript([&](const Args& a, int64_t r[8]) {
               Args copy = a;
               const uint32_t zero = 0;
               return prog->Run(&copy) == 0 &&
                      MapLookupElem((*obj)->MapFd("res"), &zero, r) == 0;
             }));
  });
  EXPECT_EQ(el, kl);
  std::printf("keys (%s):\n%s", bytecode ? "bytecode" : "native", kl.c_str());
  // The kernel's own answers, whatever bpfemu says.
  EXPECT_NE(kl.find("thread: 0\n"), std::string::npos);
  EXPECT_NE(kl.find("thread, create: 3\n"), std::string::npos);
  EXPECT_NE(kl.find("system 2: 1\n"), std::string::npos);
  EXPECT_NE(kl.find("system 3: 0\n"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Faces, KeysCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
