// SPDX-License-Identifier: Apache-2.0
// Subskeletons (compat/libbpf_extra.cc) over a bytecode object with global
// data (compat/testdata/btf_dump_types.bpf.c): maps, programs and
// variables found by name, variables at their DATASEC offsets, libbpf
// 1.1.2's -ESRCH / -EINVAL answers. The generated-code side is what
// `bpftool gen subskeleton` writes: arrays allocated with calloc() and
// freed by bpf_object__destroy_subskeleton().
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "emu/bpffs.h"
#include "gtest/gtest.h"

namespace {

struct Bits {  // struct bits of the object, as the BPF target lays it out
  unsigned int a : 3;
  unsigned int b : 5;
  int c : 7;
  unsigned long long d : 40;
  unsigned char e;
  unsigned int f : 1;
  int g : 4;
  unsigned short h : 9;
};

class Subskeleton : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    bpfemu::SetBpffsForTesting(
        "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/sub");
    obj_ = bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr);
    ASSERT_NE(obj_, nullptr) << errno;
  }
  void TearDown() override { bpf_object__close(obj_); }

  // What a generated subskeleton's __open() builds: the .data and .bss
  // maps, the program, and three variables.
  bpf_object_subskeleton* Make(const char* map_name, const char* prog_name) {
    auto* s = static_cast<bpf_object_subskeleton*>(
        std::calloc(1, sizeof(bpf_object_subskeleton)));
    s->sz = sizeof(*s);
    s->obj = obj_;
    s->map_cnt = 2;
    s->map_skel_sz = sizeof(bpf_map_skeleton);
    s->maps = static_cast<bpf_map_skeleton*>(
        std::calloc(2, sizeof(bpf_map_skeleton)));
    s->maps[0] = {map_name, &data_map_, &data_mmaped_};
    s->maps[1] = {".bss", &bss_map_, nullptr};
    s->prog_cnt = 1;
    s->prog_skel_sz = sizeof(bpf_prog_skeleton);
    s->progs = static_cast<bpf_prog_skeleton*>(
        std::calloc(1, sizeof(bpf_prog_skeleton)));
    s->progs[0] = {prog_name, &prog_, nullptr};
    s->var_cnt = 3;
    s->var_skel_sz = sizeof(bpf_var_skeleton);
    s->vars = static_cast<bpf_var_skeleton*>(
        std::calloc(3, sizeof(bpf_var_skeleton)));
    s->vars[0] = {"g_bits", &data_map_, reinterpret_cast<void**>(&bits_)};
    s->vars[1] = {"g_s64", &data_map_, reinterpret_cast<void**>(&s64_)};
    s->vars[2] = {"g_flex", &bss_map_, reinterpret_cast<void**>(&flex_)};
    return s;
  }

  bpf_object* obj_ = nullptr;
  bpf_map* data_map_ = nullptr;
  bpf_map* bss_map_ = nullptr;
  void* data_mmaped_ = nullptr;
  bpf_program* prog_ = nullptr;
  Bits* bits_ = nullptr;
  long long* s64_ = nullptr;
  void** flex_ = nullptr;
};

TEST_F(Subskeleton, FindsMapsProgramsAndVariablesBeforeAndAfterLoad) {
  bpf_object_subskeleton* s = Make(".data", "prog");
  ASSERT_EQ(bpf_object__open_subskeleton(s), 0);
  ASSERT_NE(data_map_, nullptr);
  ASSERT_NE(bss_map_, nullptr);
  EXPECT_EQ(prog_, bpf_object__find_program_by_name(obj_, "prog"));
  EXPECT_EQ(data_mmaped_, bpf_map__initial_value(data_map_, nullptr));
  ASSERT_NE(bits_, nullptr);
  ASSERT_NE(s64_, nullptr);
  ASSERT_NE(flex_, nullptr);
  // The initial values of the C source.
  EXPECT_EQ(bits_->a, 5u);
  EXPECT_EQ(bits_->b, 17u);
  EXPECT_EQ(bits_->h, 300u);
  EXPECT_EQ(*s64_, -1234567890123LL);
  EXPECT_EQ(*flex_, nullptr);
  *s64_ = 99;  // edited before load, as a skeleton user would
  bpf_object__destroy_subskeleton(s);

  ASSERT_EQ(bpf_object__load(obj_), 0);
  s = Make(".data", "prog");
  ASSERT_EQ(bpf_object__open_subskeleton(s), 0);
  ASSERT_NE(s64_, nullptr);
  EXPECT_EQ(*s64_, 99);
  EXPECT_EQ(bits_->a, 5u);
  // After load the variables are the map's value: a write shows in a
  // lookup.
  *s64_ = 1234;
  const __u32 key = 0;
  std::string value(bpf_map__value_size(data_map_), '\0');
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(data_map_), &key, value.data()), 0);
  long long seen = 0;
  const char* base =
      static_cast<const char*>(bpf_map__initial_value(data_map_, nullptr));
  std::memcpy(&seen, value.data() + (reinterpret_cast<char*>(s64_) - base),
              sizeof(seen));
  EXPECT_EQ(seen, 1234);
  bpf_object__destroy_subskeleton(s);
}

TEST_F(Subskeleton, MissingNamesAnswerEsrch) {
  bpf_object_subskeleton* s = Make(".nope", "prog");
  errno = 0;
  EXPECT_EQ(bpf_object__open_subskeleton(s), -ESRCH);
  EXPECT_EQ(errno, ESRCH);
  bpf_object__destroy_subskeleton(s);
  s = Make(".data", "no_such_prog");
  EXPECT_EQ(bpf_object__open_subskeleton(s), -ESRCH);
  bpf_object__destroy_subskeleton(s);
}

TEST_F(Subskeleton, NoObjectIsEinvalAndDestroyTakesNull) {
  bpf_object_subskeleton* s = Make(".data", "prog");
  s->obj = nullptr;
  EXPECT_EQ(bpf_object__open_subskeleton(s), -EINVAL);
  bpf_object__destroy_subskeleton(s);
  bpf_object__destroy_subskeleton(nullptr);
}

}  // namespace

namespace {

// bpf_program__set_insns: the replacement is what loads and runs; after
// load the call answers -EBUSY.
TEST(SetInsns, ReplacementLoadsAndRuns) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/insns");
  bpf_object* obj =
      bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  bpf_program* prog = bpf_object__find_program_by_name(obj, "prog");
  ASSERT_NE(prog, nullptr);
  const size_t original = bpf_program__insn_cnt(prog);
  EXPECT_GT(original, 2u);
  // The object's program with "r0 = 42" before its final exit: the map
  // relocations still land on the same instructions.
  std::vector<struct bpf_insn> insns(bpf_program__insns(prog),
                                     bpf_program__insns(prog) + original);
  ASSERT_EQ(insns.back().code, BPF_JMP | BPF_EXIT);
  struct bpf_insn mov = {};
  mov.code = BPF_ALU64 | BPF_MOV | BPF_K;
  mov.dst_reg = BPF_REG_0;
  mov.imm = 42;
  insns.insert(insns.end() - 1, mov);
  ASSERT_EQ(bpf_program__set_insns(prog, insns.data(), insns.size()), 0);
  EXPECT_EQ(bpf_program__insn_cnt(prog), original + 1);
  ASSERT_NE(bpf_program__insns(prog), nullptr);
  EXPECT_EQ(bpf_program__insns(prog)[original - 1].imm, 42);
  ASSERT_EQ(bpf_object__load(obj), 0);
  char pkt[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
              .data_size_in = sizeof(pkt));
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &run), 0);
  EXPECT_EQ(run.retval, 42u);
  errno = 0;
  EXPECT_EQ(bpf_program__set_insns(prog, insns.data(), 2), -EBUSY);
  EXPECT_EQ(errno, 0);  // libbpf 1.1.2 leaves errno alone here
  bpf_object__close(obj);
}

}  // namespace
