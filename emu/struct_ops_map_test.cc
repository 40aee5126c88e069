// SPDX-License-Identifier: Apache-2.0
// StructOpsMap (emu/struct_ops_map.h): the registry, the version gates,
// the memlock formula and the boundary, on the emulator alone. The rules
// compared with the kernel are in tests/conformance/struct_ops_conformance.h.
#include "emu/struct_ops_map.h"

#include <linux/bpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emu/btf.h"
#include "emu/btf_blobs.h"
#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class StructOpsMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    btf_ = KernelBtf::Get();
    if (btf_ == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
    tcp_ = btf_->FindByNameKind("bpf_struct_ops_tcp_congestion_ops",
                                BTF_KIND_STRUCT);
    if (tcp_ <= 0) GTEST_SKIP() << "kernel BTF has no tcp_congestion_ops";
    static const std::vector<uint8_t> blob = btftest::OneInt();
    BtfLoadAttr a;
    a.btf = blob.data();
    a.btf_size = static_cast<uint32_t>(blob.size());
    user_btf_ = BtfLoad(a);
    ASSERT_GE(user_btf_, 0);
  }
  void TearDown() override {
    for (int fd : fds_) (void)CloseFd(fd);
    if (user_btf_ >= 0) (void)CloseFd(user_btf_);
    SetTargetKernel(KernelVersion::k6_18);
  }
  MapAttr Attr(int32_t value_id, uint32_t flags = 0) {
    MapAttr a{.map_type = BPF_MAP_TYPE_STRUCT_OPS,
              .key_size = 4,
              .value_size = static_cast<uint32_t>(btf_->Size(value_id)),
              .max_entries = 1,
              .map_flags = flags};
    a.btf_fd = static_cast<uint32_t>(user_btf_);
    a.btf_vmlinux_value_type_id = static_cast<uint32_t>(value_id);
    return a;
  }
  int Create(const MapAttr& a) {
    const int fd = MapCreate(a);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  const KernelBtf* btf_ = nullptr;
  int32_t tcp_ = 0;
  int user_btf_ = -1;
  std::vector<int> fds_;
};

TEST_F(StructOpsMapTest, RegistryResolvesTheValueStruct) {
  StructOpsDesc d;
  ASSERT_TRUE(FindStructOpsValue(*btf_, KernelVersion::k6_18,
                                 static_cast<uint32_t>(tcp_), &d));
  EXPECT_STREQ(d.type->name, "tcp_congestion_ops");
  EXPECT_EQ(d.value_size, btf_->Size(tcp_));
  EXPECT_EQ(d.type_id, static_cast<uint32_t>(btf_->FindByNameKind(
                           "tcp_congestion_ops", BTF_KIND_STRUCT)));
  // tcp_congestion_ops has 13 function members from 6.1 to 6.18.
  EXPECT_EQ(d.funcs_cnt, 13u);
  // The ops struct itself, and any other type, are not value structs.
  EXPECT_FALSE(FindStructOpsValue(*btf_, KernelVersion::k6_18, d.type_id, &d));
  EXPECT_FALSE(FindStructOpsValue(*btf_, KernelVersion::k6_18, 1, &d));
  EXPECT_FALSE(FindStructOpsValue(*btf_, KernelVersion::k6_18, 0, &d));
  EXPECT_FALSE(FindStructOpsValue(*btf_, KernelVersion::k6_18, 0xffffffff, &d));
  // Every registered type names its source and the release it came with.
  size_t n = 0;
  const StructOpsType* types = StructOpsTypes(&n);
  ASSERT_GE(n, 2u);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_GE(static_cast<uint32_t>(types[i].since), types[i].first_in)
        << types[i].name;
    EXPECT_NE(std::string(types[i].source), "");
  }
}

TEST_F(StructOpsMapTest, FlagsFollowTheTargetVersion) {
  EXPECT_GE(Create(Attr(tcp_, kBpfFLink)), 0);
  EXPECT_EQ(Create(Attr(tcp_, kBpfFVtypeBtfObjFd)), -EINVAL);
  SetTargetKernel(KernelVersion::k6_1);
  EXPECT_EQ(Create(Attr(tcp_, kBpfFLink)), -EINVAL);
  const int fd = Create(Attr(tcp_));
  ASSERT_GE(fd, 0);
  // 6.1's bpf_map_info has no btf_vmlinux_id.
  BpfMapInfo info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
  EXPECT_EQ(info.btf_vmlinux_value_type_id, static_cast<uint32_t>(tcp_));
  EXPECT_EQ(info.btf_vmlinux_id, 0u);
  // bpf_map_memory_footprint(): one page.
  EXPECT_EQ(MapMemlock(fd), 4096);
}

TEST_F(StructOpsMapTest, MemlockFormula) {
  const int fd = Create(Attr(tcp_));
  ASSERT_GE(fd, 0);
  const int64_t v = btf_->Size(tcp_);
  EXPECT_EQ(MapMemlock(fd),
            BuildProfileFor(KernelVersion::k6_18).struct_ops_map + 2 * v - 64 +
                13 * 16 + 4096);
}

// A value that passes every check the kernel makes before registering is
// refused with EOPNOTSUPP, never accepted: here a bpf_dummy_ops-like path
// is not reachable, so the boundary shows through tcp_congestion_ops'
// checks ending in validate's EINVAL and through the owner pointer.
TEST_F(StructOpsMapTest, UpdateNeverRegisters) {
  const int fd = Create(Attr(tcp_));
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> value(static_cast<size_t>(btf_->Size(tcp_)), 0);
  const uint32_t key = 0;
  std::vector<uint8_t> out(value.size(), 0xff);
  EXPECT_EQ(MapUpdateElem(fd, &key, value.data(), 0), -EINVAL);  // name ""
  ASSERT_EQ(MapLookupElem(fd, &key, out.data(), 0), 0);
  EXPECT_EQ(out, std::vector<uint8_t>(value.size(), 0));
  EXPECT_EQ(MapDeleteElem(fd, &key), -ENOENT);
}

// A pinned map is attached again in the same process (region checks).
TEST_F(StructOpsMapTest, ReattachThroughGetFdById) {
  const int fd = Create(Attr(tcp_));
  ASSERT_GE(fd, 0);
  BpfMapInfo info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
  EXPECT_EQ(info.btf_vmlinux_id, 1u);
  const int again = MapGetFdById(info.id);
  ASSERT_GE(again, 0);
  fds_.push_back(again);
  BpfMapInfo info2{};
  len = sizeof(info2);
  ASSERT_EQ(MapGetInfoByFd(again, &info2, &len), 0);
  EXPECT_EQ(info2.btf_vmlinux_value_type_id, static_cast<uint32_t>(tcp_));
}

// The value struct's shape by version, over hand-made BTF: 6.1 declares
// bpf_struct_ops_X as {refcnt; state; data} and finds it by name; from 6.9
// the shape must be {common; data} (is_valid_value_type). The 6.1 guest of
// tools/kmatrix showed the first: its kernel creates over that shape.
TEST(StructOpsValueShapeTest, FollowsTheTargetVersion) {
  auto build = [](bool common) {
    btftest::Blob b;
    const uint32_t i32 = b.Int("int", 4, 32, BTF_INT_SIGNED);
    const uint32_t ops = b.Struct("tcp_congestion_ops", 4, {{"flags", i32, 0}});
    uint32_t value;
    if (common) {
      const uint32_t cv = b.Struct("bpf_struct_ops_common_value", 8,
                                   {{"refcnt", i32, 0}, {"state", i32, 32}});
      value = b.Struct("bpf_struct_ops_tcp_congestion_ops", 128,
                       {{"common", cv, 0}, {"data", ops, 512}});
    } else {
      value = b.Struct(
          "bpf_struct_ops_tcp_congestion_ops", 128,
          {{"refcnt", i32, 0}, {"state", i32, 32}, {"data", ops, 512}});
    }
    return std::make_pair(KernelBtf::Parse(b.Build()), value);
  };
  StructOpsDesc desc;
  auto [old_btf, old_value] = build(false);
  ASSERT_NE(old_btf, nullptr);
  EXPECT_TRUE(
      FindStructOpsValue(*old_btf, KernelVersion::k6_1, old_value, &desc));
  EXPECT_EQ(desc.value_size, 128u);
  EXPECT_FALSE(
      FindStructOpsValue(*old_btf, KernelVersion::k6_18, old_value, &desc));
  auto [new_btf, new_value] = build(true);
  ASSERT_NE(new_btf, nullptr);
  EXPECT_TRUE(
      FindStructOpsValue(*new_btf, KernelVersion::k6_18, new_value, &desc));
  EXPECT_TRUE(
      FindStructOpsValue(*new_btf, KernelVersion::k6_1, new_value, &desc));
}

}  // namespace
}  // namespace bpfemu
