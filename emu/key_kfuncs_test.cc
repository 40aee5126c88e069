// SPDX-License-Identifier: Apache-2.0
// kfy48's key kfuncs without the kernel's BPF (emu/key_kfuncs.h; keyctl
// needs no privilege): the system keyring ids, the flags check, the thread
// keyring made by KEY_LOOKUP_CREATE, a key's serial, a revoked key found as
// the kernel's kfunc finds it, and bpf_key_put's references. Against the
// kernel: tests/examples/keys_compare_test.cc.

#include "emu/key_kfuncs.h"

#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <thread>

#include "emu/graph_obj.h"
#include "gtest/gtest.h"

namespace bpfemu::keyk {
namespace {

TEST(KeyKfuncsTest, SystemKeyrings) {
  for (uint64_t id : {0ull, 1ull, 2ull}) {
    void* k = LookupSystemKey(id);
    ASSERT_NE(k, nullptr) << id;
    EXPECT_TRUE(IsKey(k));
    EXPECT_EQ(KeyOf(k), id);
    EXPECT_FALSE(KeyHasRef(k));
    EXPECT_EQ(KeyPut(k), 0);
    EXPECT_FALSE(IsKey(k));
  }
  EXPECT_EQ(LookupSystemKey(3), nullptr);
  EXPECT_EQ(LookupSystemKey(~0ull), nullptr);
}

TEST(KeyKfuncsTest, UserKeysAreTheThreads) {
  // A new thread has no thread keyring until KEY_LOOKUP_CREATE makes one.
  std::thread([] {
    EXPECT_EQ(LookupUserKey(static_cast<uint32_t>(KEY_SPEC_THREAD_KEYRING), 0),
              nullptr);
    EXPECT_EQ(LookupUserKey(static_cast<uint32_t>(KEY_SPEC_THREAD_KEYRING), 4),
              nullptr);  // flags outside KEY_LOOKUP_ALL
    void* k = LookupUserKey(static_cast<uint32_t>(KEY_SPEC_THREAD_KEYRING), 1);
    ASSERT_NE(k, nullptr);
    EXPECT_TRUE(KeyHasRef(k));
    const long id =
        syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0);
    EXPECT_EQ(KeyOf(k), static_cast<uint64_t>(id));
    EXPECT_EQ(KeyPut(k), 0);
    graph::EndRun();
  }).join();
  EXPECT_EQ(LookupUserKey(0, 0), nullptr);
}

TEST(KeyKfuncsTest, KeysBySerialRevokedToo) {
  const long key = syscall(SYS_add_key, "user", "kfy48-unit", "x", 1,
                           KEY_SPEC_PROCESS_KEYRING);
  ASSERT_GT(key, 0) << errno;
  void* k = LookupUserKey(static_cast<uint32_t>(key), 0);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(KeyOf(k), static_cast<uint64_t>(key));
  EXPECT_EQ(KeyPut(k), 0);
  ASSERT_EQ(syscall(SYS_keyctl, KEYCTL_REVOKE, key), 0);
  // The kfunc defers validation: a revoked key is still found.
  k = LookupUserKey(static_cast<uint32_t>(key), 0);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(KeyPut(k), 0);
  EXPECT_EQ(KeyPut(k), -EINVAL);  // put already
  EXPECT_EQ(LookupUserKey(0x7ffffff0u, 0), nullptr);
  uint64_t on_stack[3] = {};
  EXPECT_EQ(KeyPut(on_stack), -EINVAL);
}

}  // namespace
}  // namespace bpfemu::keyk
