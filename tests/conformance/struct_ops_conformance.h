// SPDX-License-Identifier: Apache-2.0
// File: struct_ops_conformance.h
//
// StructOpsConformance: BPF_MAP_TYPE_STRUCT_OPS through the syscall,
// mirroring kernel/bpf/bpf_struct_ops.c (bpf_struct_ops_map_alloc_check,
// bpf_struct_ops_map_alloc, bpf_struct_ops_map_sys_lookup_elem,
// bpf_struct_ops_map_update_elem up to the registration, _delete_elem,
// _get_next_key), the member checks of net/ipv4/bpf_tcp_ca.c and
// net/bpf/bpf_dummy_struct_ops.c, and the STRUCT_OPS branches of
// kernel/bpf/syscall.c (map_create, map_freeze, bpf_map_get_info_by_fd,
// lookup_and_delete, batches, mmap).
//
// The value type ids come from the running kernel's BTF through
// emu/kernel_btf.h (the ids a loader writes into btf_vmlinux_value_type_id);
// the emulator reads the same file, so both backends see the same ids. A
// machine without kernel BTF, or whose BTF has no
// bpf_struct_ops_tcp_congestion_ops, skips the suite with that reason.
// Updates stop before registration: every value sent here is refused by a
// check the kernel makes first (or takes the owner-pointer exit that
// registers nothing), so no congestion control is ever registered on the
// host.

#ifndef BPFEMU_TESTS_CONFORMANCE_STRUCT_OPS_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_STRUCT_OPS_CONFORMANCE_H_

#include <linux/btf.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/kernel_btf.h"
#include "emu/version.h"
#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class StructOpsConformance : public ConformanceTest<B> {
 protected:
  static constexpr uint32_t kLink = 1U << 13;         // BPF_F_LINK
  static constexpr uint32_t kVtypeBtfObj = 1U << 15;  // BPF_F_VTYPE_BTF_OBJ_FD
  static constexpr uint32_t kCommonSize = 64;  // struct bpf_struct_ops_value

  void SetUp() override {
    ConformanceTest<B>::SetUp();
    if (this->IsSkipped()) return;
    btf_ = KernelBtf::Get();
    if (btf_ == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
    tcp_ = Value("tcp_congestion_ops");
    if (tcp_ == 0) {
      GTEST_SKIP() << "kernel BTF has no bpf_struct_ops_tcp_congestion_ops";
    }
    static const std::vector<uint8_t> blob = btftest::OneInt();
    user_btf_ =
        this->b().LoadBtf(blob.data(), static_cast<uint32_t>(blob.size()));
    ASSERT_GE(user_btf_, 0) << ErrnoName(user_btf_);
  }
  void TearDown() override {
    if (user_btf_ >= 0) this->b().Close(user_btf_);
    ConformanceTest<B>::TearDown();
  }

  // The id of bpf_struct_ops_<name> in the kernel BTF, or 0.
  uint32_t Value(std::string_view name) const {
    const int32_t id = btf_->FindByNameKind(
        std::string("bpf_struct_ops_") + std::string(name), BTF_KIND_STRUCT);
    return id > 0 ? static_cast<uint32_t>(id) : 0;
  }
  uint32_t SizeOf(uint32_t id) const {
    return static_cast<uint32_t>(btf_->Size(id));
  }
  // The byte offset of member `name` of struct `id` (-1 if none).
  int64_t Off(uint32_t id, std::string_view name) const {
    const btf_type* t = btf_->Type(id);
    uint16_t n = 0;
    const btf_member* m = btf_->Members(id, &n);
    for (uint16_t i = 0; i < n; ++i) {
      if (btf_->Str(m[i].name_off) != name) continue;
      const uint32_t bits = BTF_INFO_KFLAG(t->info)
                                ? BTF_MEMBER_BIT_OFFSET(m[i].offset)
                                : m[i].offset;
      return bits / 8;
    }
    return -1;
  }
  MapAttr Ops(uint32_t value_id, uint32_t flags = 0) const {
    MapAttr a = Attr(BPF_MAP_TYPE_STRUCT_OPS, 4, SizeOf(value_id), 1, flags);
    a.btf_fd = static_cast<uint32_t>(user_btf_);
    a.btf_vmlinux_value_type_id = value_id;
    return a;
  }
  // A tcp_congestion_ops value: named, every function slot 0. The offsets
  // are those of the ops struct inside the value (after the common part).
  std::vector<uint8_t> TcpValue(const char* name = "bpfemu_cc") const {
    std::vector<uint8_t> v(SizeOf(tcp_), 0);
    const uint32_t ops = TcpOps();
    const int64_t off = Off(ops, "name");
    if (off >= 0)
      std::strncpy(reinterpret_cast<char*>(&v[kCommonSize + off]), name, 15);
    return v;
  }
  uint32_t TcpOps() const {
    return static_cast<uint32_t>(
        btf_->FindByNameKind("tcp_congestion_ops", BTF_KIND_STRUCT));
  }
  template <class T>
  void Put(std::vector<uint8_t>* v, uint32_t struct_id, std::string_view m,
           T x) const {
    const int64_t off = Off(struct_id, m);
    ASSERT_GE(off, 0) << m;
    std::memcpy(&(*v)[kCommonSize + off], &x, sizeof(x));
  }

  const KernelBtf* btf_ = nullptr;
  uint32_t tcp_ = 0;
  int user_btf_ = -1;
};
TYPED_TEST_SUITE_P(StructOpsConformance);

// map_create() and bpf_struct_ops_map_alloc_check()/_alloc(): every
// refusal, in the kernel's order.
TYPED_TEST_P(StructOpsConformance, CreateChecks) {
  const uint32_t tcp = this->tcp_;
  EXPECT_GE(this->Create(this->Ops(tcp)), 0);
  MapAttr a = this->Ops(tcp);
  a.key_size = 8;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.key_size = 0;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.max_entries = 2;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.max_entries = 0;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.value_size += 1;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.value_size -= 8;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.value_size = 0;
  EXPECT_EQ(this->Create(a), -EINVAL);
  EXPECT_EQ(this->Create(this->Ops(tcp, BPF_F_NO_PREALLOC)), -EINVAL);
  EXPECT_EQ(this->Create(this->Ops(tcp, BPF_F_RDONLY_PROG)), -EINVAL);
  EXPECT_EQ(this->Create(this->Ops(tcp, BPF_F_MMAPABLE)), -EINVAL);
  // No vmlinux id: a STRUCT_OPS map needs one.
  a = this->Ops(tcp);
  a.btf_vmlinux_value_type_id = 0;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a.btf_fd = 0;
  EXPECT_EQ(this->Create(a), -EINVAL);
  // btf_key/value ids next to the vmlinux id.
  a = this->Ops(tcp);
  a.btf_key_type_id = 1;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp);
  a.btf_value_type_id = 1;
  EXPECT_EQ(this->Create(a), -EINVAL);
  // map_extra is BLOOM_FILTER's and ARENA's.
  a = this->Ops(tcp);
  a.map_extra = 1;
  EXPECT_EQ(this->Create(a), -EINVAL);
  // An id that is not a registered type's value struct: the ops struct,
  // an int, past the last id; alloc_check's EINVAL comes first.
  a = this->Ops(tcp);
  a.btf_vmlinux_value_type_id = this->TcpOps();
  EXPECT_EQ(this->Create(a), -kENOTSUPP);
  a.btf_vmlinux_value_type_id =
      static_cast<uint32_t>(this->btf_->FindByNameKind("int", BTF_KIND_INT));
  EXPECT_EQ(this->Create(a), -kENOTSUPP);
  a.btf_vmlinux_value_type_id = this->btf_->TypeCount();
  EXPECT_EQ(this->Create(a), -kENOTSUPP);
  a.btf_vmlinux_value_type_id = 0xffffffff;
  EXPECT_EQ(this->Create(a), -kENOTSUPP);
  a.value_size = 7;  // the id is resolved before the size is compared
  EXPECT_EQ(this->Create(a), -kENOTSUPP);
  a.key_size = 8;
  EXPECT_EQ(this->Create(a), -EINVAL);
  // The BTF block of map_create comes after the type's alloc: a btf_fd
  // that is not open, not a BTF object.
  a = this->Ops(tcp);
  a.btf_fd = 1 << 20;
  EXPECT_EQ(this->Create(a), -EBADF);
  a = this->Ops(tcp);
  const int other = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
  a.btf_fd = static_cast<uint32_t>(other);
  EXPECT_EQ(this->Create(a), -EINVAL);
  // A bad name is refused after the alloc, too.
  a = this->Ops(tcp);
  std::memcpy(a.map_name, "bad-name", 9);
  EXPECT_EQ(this->Create(a), -EINVAL);
  std::memcpy(a.map_name, "good_name", 10);
  EXPECT_GE(this->Create(a), 0);
  // btf_vmlinux_value_type_id on any other type.
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY}) {
    MapAttr h = Attr(type, 4, this->SizeOf(tcp), 1);
    h.btf_fd = static_cast<uint32_t>(this->user_btf_);
    h.btf_vmlinux_value_type_id = tcp;
    EXPECT_EQ(this->Create(h), -EINVAL) << type;
  }
}

// BPF_F_LINK (6.4) and BPF_F_VTYPE_BTF_OBJ_FD (6.9).
TYPED_TEST_P(StructOpsConformance, Flags) {
  const uint32_t tcp = this->tcp_;
  const bool new_flags = TargetKernel() >= KernelVersion::k6_12;
  const int link = this->Create(this->Ops(tcp, this->kLink));
  if (!new_flags) {
    EXPECT_EQ(link, -EINVAL);
    return;
  }
  ASSERT_GE(link, 0);
  MapInfo info{};
  ASSERT_EQ(this->b().GetMapInfo(link, &info), 0);
  EXPECT_EQ(info.map_flags, this->kLink);
  // A BPF_F_LINK map is never deleted from.
  const uint32_t key = 0;
  EXPECT_EQ(this->b().Delete(link, &key), -EOPNOTSUPP);
  // The value type's BTF object must be a module's: the program BTF is
  // not, a map is no BTF object, a closed fd is none.
  MapAttr a = this->Ops(tcp, this->kVtypeBtfObj);
  a.value_type_btf_obj_fd = this->user_btf_;
  EXPECT_EQ(this->Create(a), -EINVAL);
  const int other = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
  a.value_type_btf_obj_fd = other;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a.value_type_btf_obj_fd = 1 << 20;
  EXPECT_EQ(this->Create(a), -EBADF);
  // alloc_check first.
  a.key_size = 8;
  EXPECT_EQ(this->Create(a), -EINVAL);
  a = this->Ops(tcp, this->kLink | this->kVtypeBtfObj);
  a.value_type_btf_obj_fd = 1 << 20;
  EXPECT_EQ(this->Create(a), -EBADF);
}

// Every registered type whose value struct this BTF has can be created,
// with the value struct's size.
TYPED_TEST_P(StructOpsConformance, RegisteredTypes) {
  int created = 0;
  for (const char* name : {"tcp_congestion_ops", "bpf_dummy_ops", "hid_bpf_ops",
                           "sched_ext_ops", "Qdisc_ops"}) {
    const uint32_t id = this->Value(name);
    if (id == 0) continue;
    const int fd = this->Create(this->Ops(id));
    EXPECT_GE(fd, 0) << name << ": " << ErrnoName(fd);
    if (fd < 0) continue;
    ++created;
    MapInfo info{};
    ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
    EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_STRUCT_OPS});
    EXPECT_EQ(info.key_size, 4u);
    EXPECT_EQ(info.value_size, this->SizeOf(id)) << name;
    EXPECT_EQ(info.max_entries, 1u);
    EXPECT_EQ(info.btf_vmlinux_value_type_id, id) << name;
    // btf_vmlinux_id (6.9): the vmlinux BTF object's id, the first BTF
    // object the kernel registers at boot.
    EXPECT_EQ(info.btf_vmlinux_id,
              TargetKernel() >= KernelVersion::k6_12 ? 1u : 0u);
  }
  EXPECT_GE(created, 1);
}

// Lookup, get_next_key, delete, freeze and the commands the type has no
// operation for.
TYPED_TEST_P(StructOpsConformance, Commands) {
  const uint32_t tcp = this->tcp_;
  const int fd = this->MustCreate(this->Ops(tcp));
  std::vector<uint8_t> v(this->SizeOf(tcp), 0xab);
  uint32_t key = 0;
  ASSERT_EQ(this->b().Lookup(fd, &key, v.data(), 0), 0);
  EXPECT_EQ(v, std::vector<uint8_t>(v.size(), 0));
  key = 1;
  EXPECT_EQ(this->b().Lookup(fd, &key, v.data(), 0), -ENOENT);
  key = 0;
  EXPECT_EQ(this->b().Lookup(fd, &key, v.data(), BPF_F_LOCK), -EINVAL);
  uint32_t next = 77;
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 0;
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), -ENOENT);
  key = 5;
  next = 77;
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 0;
  EXPECT_EQ(this->b().Delete(fd, &key), -ENOENT);
  key = 3;
  EXPECT_EQ(this->b().Delete(fd, &key), -ENOENT);
  key = 0;
  EXPECT_EQ(this->b().LookupAndDelete(fd, &key, v.data(), 0), -kENOTSUPP);
  uint32_t count = 1;
  uint32_t out_batch = 0;
  EXPECT_EQ(this->b().LookupBatch(fd, nullptr, &out_batch, &key, v.data(),
                                  &count, 0, 0),
            -kENOTSUPP);
  count = 1;
  EXPECT_EQ(this->b().UpdateBatch(fd, &key, v.data(), &count, 0, 0),
            -kENOTSUPP);
  count = 1;
  EXPECT_EQ(this->b().DeleteBatch(fd, &key, &count, 0, 0), -kENOTSUPP);
  void* m = nullptr;
  EXPECT_EQ(this->b().Mmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &m), -kENOTSUPP);
  EXPECT_EQ(this->b().Freeze(fd), -kENOTSUPP);
  EXPECT_EQ(this->b().Frozen(fd), 0);
}

// bpf_struct_ops_map_update_elem() up to the registration.
TYPED_TEST_P(StructOpsConformance, UpdateChecks) {
  const uint32_t tcp = this->tcp_;
  const uint32_t ops = this->TcpOps();
  const int fd = this->MustCreate(this->Ops(tcp));
  uint32_t key = 0;
  std::vector<uint8_t> v = this->TcpValue();
  auto update = [&](const std::vector<uint8_t>& val, uint64_t flags = 0,
                    uint32_t k = 0) {
    return this->b().Update(fd, &k, val.data(), flags);
  };
  EXPECT_EQ(update(v, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(update(v, BPF_EXIST), -EINVAL);
  EXPECT_EQ(update(v, 0, 1), -E2BIG);
  EXPECT_EQ(update(v, BPF_EXIST, 1), -EINVAL);
  // The common part: refcnt and state must be zero.
  std::vector<uint8_t> w = v;
  w[0] = 1;
  EXPECT_EQ(update(w), -EINVAL);
  w = v;
  w[4] = 1;
  EXPECT_EQ(update(w), -EINVAL);
  // A byte in the hole after the common part.
  w = v;
  w[20] = 1;
  EXPECT_EQ(update(w), -EINVAL);
  // init_member: the name.
  EXPECT_EQ(update(this->TcpValue("")), -EINVAL);
  EXPECT_EQ(update(this->TcpValue("bad-name")), -EINVAL);
  EXPECT_EQ(update(this->TcpValue("bad\xf7")), -EINVAL);
  // init_member: flags outside TCP_CONG_MASK.
  w = v;
  this->Put(&w, ops, "flags", uint32_t{0x80000000});
  EXPECT_EQ(update(w), -EINVAL);
  // A non-function member that is not zero (key, list).
  w = v;
  this->Put(&w, ops, "key", uint32_t{1});
  EXPECT_EQ(update(w), -EINVAL);
  w = v;
  this->Put(&w, ops, "list", uint64_t{1});
  EXPECT_EQ(update(w), -EINVAL);
  // A function member holding an fd that is not open, not a program.
  w = v;
  this->Put(&w, ops, "ssthresh", uint64_t{1 << 20});
  EXPECT_EQ(update(w), -EBADF);
  w = v;
  this->Put(&w, ops, "ssthresh", static_cast<uint64_t>(fd));
  EXPECT_EQ(update(w), -EINVAL);
  // validate: ssthresh, undo_cwnd and cong_avoid/cong_control missing.
  EXPECT_EQ(update(v), -EINVAL);
  w = v;
  this->Put(&w, ops, "flags", uint32_t{1});  // TCP_CONG_NON_RESTRICTED
  EXPECT_EQ(update(w), -EINVAL);
  // The owner pointer: the kernel leaves the member walk there and returns
  // its `err` as it stands, the verdict of the last init_member (1 for the
  // name, the member before owner): the syscall answers 1, registers
  // nothing, and stores nothing.
  w = v;
  this->Put(&w, ops, "owner", uint64_t{0xdead});
  EXPECT_EQ(update(w), 1);
  // A Latin-1 letter is a letter to the kernel's isalnum (lib/ctype.c).
  w = this->TcpValue("bp\xd4x");
  this->Put(&w, ops, "owner", uint64_t{0xdead});
  EXPECT_EQ(update(w), 1);
  // A bad name comes first.
  w = this->TcpValue("bad-name");
  this->Put(&w, ops, "owner", uint64_t{0xdead});
  EXPECT_EQ(update(w), -EINVAL);
  // Nothing was stored: the map still reads as zeros, deletes ENOENT.
  std::vector<uint8_t> out(v.size(), 0xab);
  ASSERT_EQ(this->b().Lookup(fd, &key, out.data(), 0), 0);
  EXPECT_EQ(out, std::vector<uint8_t>(v.size(), 0));
  EXPECT_EQ(this->b().Delete(fd, &key), -ENOENT);
  // bpf_dummy_ops: its init_member refuses the first member.
  if (const uint32_t dummy = this->Value("bpf_dummy_ops"); dummy != 0) {
    const int d = this->MustCreate(this->Ops(dummy));
    std::vector<uint8_t> z(this->SizeOf(dummy), 0);
    EXPECT_EQ(this->b().Update(d, &key, z.data(), 0), -EOPNOTSUPP);
  }
}

REGISTER_TYPED_TEST_SUITE_P(StructOpsConformance, CreateChecks, Flags,
                            RegisteredTypes, Commands, UpdateChecks);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_STRUCT_OPS_CONFORMANCE_H_
