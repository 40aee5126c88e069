// SPDX-License-Identifier: Apache-2.0
// Extern kfunc resolution (loader/ksym.h): libbpf's prototype compatibility
// rules on hand-made BTF, and resolution against a hand-made kernel BTF
// (found, weak and missing, incompatible, no kernel BTF). The reader and
// the whole bytecode path on a real object: tests/examples/iter_num_test.cc.
#include "loader/ksym.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "loader/btf.h"
#include "loader/elf_object.h"

namespace bpfemu::native {
namespace {

constexpr uint32_t Info(uint32_t kind, uint32_t vlen) {
  return (kind << 24) | vlen;
}

// A BTF under construction, by kind.
class Builder {
 public:
  uint32_t Int(const char* name, uint32_t bytes, uint32_t bit_off = 0) {
    const uint32_t w[] = {Str(name), Info(BTF_KIND_INT, 0), bytes,
                          (bit_off << 16) | (bytes * 8)};
    return b_.AddType(w, sizeof(w));
  }
  uint32_t Ref(uint32_t kind, uint32_t to, const char* name = "") {
    const uint32_t w[] = {Str(name), Info(kind, 0), to};
    return b_.AddType(w, sizeof(w));
  }
  uint32_t Struct(const char* name) {
    const uint32_t w[] = {Str(name), Info(BTF_KIND_STRUCT, 0), 8};
    return b_.AddType(w, sizeof(w));
  }
  uint32_t Fwd(const char* name) {
    const uint32_t w[] = {Str(name), Info(BTF_KIND_FWD, 0), 0};
    return b_.AddType(w, sizeof(w));
  }
  uint32_t Proto(uint32_t ret, std::vector<uint32_t> params) {
    std::vector<uint32_t> w = {
        0, Info(BTF_KIND_FUNC_PROTO, static_cast<uint32_t>(params.size())),
        ret};
    for (uint32_t p : params) w.insert(w.end(), {0, p});
    return b_.AddType(w.data(), w.size() * 4);
  }
  uint32_t Func(const char* name, uint32_t proto, uint32_t linkage = 1) {
    const uint32_t w[] = {Str(name), Info(BTF_KIND_FUNC, linkage), proto};
    return b_.AddType(w, sizeof(w));
  }
  std::vector<uint8_t> Raw() const { return b_.Raw(); }
  std::unique_ptr<BtfData> Local() const {
    std::unique_ptr<BtfData> out;
    EXPECT_EQ(BtfData::Parse(Raw(), nullptr, &out), 0);
    return out;
  }
  std::unique_ptr<KernelBtf> Kernel() const { return KernelBtf::Parse(Raw()); }

 private:
  uint32_t Str(const char* s) {
    return *s ? static_cast<uint32_t>(b_.AddStr(s)) : 0;
  }
  BtfData b_;
};

TEST(KsymTest, PrototypeCompatibilityFollowsLibbpf) {
  Builder l, k;
  // Local: 1 int; 2 struct bpf_iter_num; 3 ptr -> 2; 4 proto int(3, 1, 1);
  // 5 long (8 bytes); 6 typedef s32 -> 1; 7 const -> 6; 8 proto long(3, 7,
  // 7); 9 fwd bpf_iter_num; 10 ptr -> 9; 11 proto int(10, 1, 1); 12 proto
  // int(3, 1); 13 proto int(3, 3, 1); 14 bitfield int; 15 proto
  // int(3, 14, 1); 16 proto void(3).
  const uint32_t li = l.Int("int", 4);
  const uint32_t ls = l.Struct("bpf_iter_num");
  const uint32_t lp = l.Ref(BTF_KIND_PTR, ls);
  const uint32_t same = l.Proto(li, {lp, li, li});
  const uint32_t llong = l.Int("long", 8);
  const uint32_t lt = l.Ref(BTF_KIND_TYPEDEF, li, "s32");
  const uint32_t lc = l.Ref(BTF_KIND_CONST, lt);
  const uint32_t wider = l.Proto(llong, {lp, lc, lc});
  const uint32_t lf = l.Fwd("bpf_iter_num");
  const uint32_t lpf = l.Ref(BTF_KIND_PTR, lf);
  const uint32_t fwd = l.Proto(li, {lpf, li, li});
  const uint32_t fewer = l.Proto(li, {lp, li});
  const uint32_t ptr_for_int = l.Proto(li, {lp, lp, li});
  const uint32_t bits = l.Int("int", 4, 3);
  const uint32_t bitfield = l.Proto(li, {lp, bits, li});
  const uint32_t to_void = l.Proto(0, {lp});
  // Kernel: 1 int; 2 struct other_name; 3 ptr -> 2; 4 proto int(3, 1, 1);
  // 5 proto void(3).
  const uint32_t ki = k.Int("int", 4);
  const uint32_t ks = k.Struct("other_name");
  const uint32_t kp = k.Ref(BTF_KIND_PTR, ks);
  const uint32_t kproto = k.Proto(ki, {kp, ki, ki});
  const uint32_t kvoid = k.Proto(0, {kp});
  auto local = l.Local();
  auto kern = k.Kernel();
  ASSERT_NE(local, nullptr);
  ASSERT_NE(kern, nullptr);
  EXPECT_EQ(KsymTypesCompatible(*local, same, *kern, kproto), 1);
  // Integer sizes, typedefs and qualifiers do not matter; struct names
  // neither.
  EXPECT_EQ(KsymTypesCompatible(*local, wider, *kern, kproto), 1);
  // A forward declaration is not a struct; counts and kinds must match.
  EXPECT_EQ(KsymTypesCompatible(*local, fwd, *kern, kproto), 0);
  EXPECT_EQ(KsymTypesCompatible(*local, fewer, *kern, kproto), 0);
  EXPECT_EQ(KsymTypesCompatible(*local, ptr_for_int, *kern, kproto), 0);
  EXPECT_EQ(KsymTypesCompatible(*local, bitfield, *kern, kproto), 0);
  EXPECT_EQ(KsymTypesCompatible(*local, to_void, *kern, kvoid), 1);
  EXPECT_EQ(KsymTypesCompatible(*local, to_void, *kern, kproto), 0);
  EXPECT_EQ(KsymTypesCompatible(*local, same, *kern, 999), -EINVAL);
}

// An object whose BTF holds `int name(struct s *, int, int)` for each name.
ElfObject ObjectCalling(const std::vector<std::pair<std::string, bool>>& fns) {
  Builder l;
  const uint32_t i = l.Int("int", 4);
  const uint32_t p = l.Ref(BTF_KIND_PTR, l.Struct("bpf_iter_num"));
  const uint32_t proto = l.Proto(i, {p, i, i});
  ElfObject obj;
  for (const auto& [name, weak] : fns) {
    l.Func(name.c_str(), proto, /*BTF_FUNC_EXTERN=*/2);
    obj.ksym_funcs.push_back({name, weak});
  }
  obj.btf = l.Raw();
  return obj;
}

TEST(KsymTest, ResolvesByNameAsLibbpf) {
  Builder k;
  const uint32_t i = k.Int("int", 4);
  const uint32_t p = k.Ref(BTF_KIND_PTR, k.Struct("bpf_iter_num"));
  const uint32_t proto = k.Proto(i, {p, i, i});
  const uint32_t new_id = k.Func("bpf_iter_num_new", proto);
  const uint32_t narrow = k.Func("two_args", k.Proto(i, {p, i}));
  auto kern = k.Kernel();
  ASSERT_NE(kern, nullptr);
  std::vector<int32_t> ids;
  std::string error;

  ElfObject obj = ObjectCalling(
      {{"bpf_iter_num_new", false}, {"not_in_this_kernel", true}});
  EXPECT_EQ(ResolveKsymFuncs(obj, kern.get(), &ids, &error), 0) << error;
  EXPECT_EQ(ids, (std::vector<int32_t>{static_cast<int32_t>(new_id), 0}));

  obj = ObjectCalling({{"not_in_this_kernel", false}});
  EXPECT_EQ(ResolveKsymFuncs(obj, kern.get(), &ids, &error), -ESRCH);
  EXPECT_EQ(error,
            "extern (func ksym) 'not_in_this_kernel': not found in kernel or "
            "module BTFs");

  obj = ObjectCalling({{"two_args", true}});  // incompatible, even if weak
  EXPECT_EQ(ResolveKsymFuncs(obj, kern.get(), &ids, &error), -EINVAL);
  EXPECT_NE(error.find("incompatible with kernel [" +
                       std::to_string(kern->Type(narrow)->type) + "]"),
            std::string::npos)
      << error;

  obj = ObjectCalling({{"bpf_iter_num_new", false}});
  EXPECT_EQ(ResolveKsymFuncs(obj, nullptr, &ids, &error), -ESRCH);
  obj.btf.clear();
  EXPECT_EQ(ResolveKsymFuncs(obj, kern.get(), &ids, &error), -ENOENT);

  // The ids go into the calls; off is 0 (vmlinux).
  ElfProgram prog;
  prog.insns.resize(3);
  prog.insns[1].code = BPF_JMP | BPF_CALL;
  prog.insns[1].src = BPF_PSEUDO_KFUNC_CALL;
  prog.insns[1].off = 5;
  prog.kfunc_relocs.push_back({1, 0});
  ApplyKfuncRelocs(prog, {static_cast<int32_t>(new_id)}, &prog.insns);
  EXPECT_EQ(prog.insns[1].imm, static_cast<int32_t>(new_id));
  EXPECT_EQ(prog.insns[1].off, 0);
}

}  // namespace
}  // namespace bpfemu::native
