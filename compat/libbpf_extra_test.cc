// SPDX-License-Identifier: Apache-2.0
// Subskeletons (compat/libbpf_extra.cc) over a bytecode object with global
// data (compat/testdata/btf_dump_types.bpf.c): maps, programs and
// variables found by name, variables at their DATASEC offsets, libbpf
// 1.1.2's -ESRCH / -EINVAL answers. The generated-code side is what
// `bpftool gen subskeleton` writes: arrays allocated with calloc() and
// freed by bpf_object__destroy_subskeleton().
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "emu/bpffs.h"
#include "emu/version.h"
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

// bpf_map__attach_struct_ops() on maps that are not struct_ops maps
// (this object has none): NULL and EINVAL, before and after load, as libbpf.
TEST(AttachStructOps, NoStructOpsMapIsEinval) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/st_ops");
  bpf_object* obj =
      bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  bpf_map* map = bpf_object__next_map(obj, nullptr);
  ASSERT_NE(map, nullptr);
  errno = 0;
  EXPECT_EQ(bpf_map__attach_struct_ops(map), nullptr);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(bpf_object__load(obj), 0);
  bpf_object__for_each_map(map, obj) {
    errno = 0;
    bpf_link* link = bpf_map__attach_struct_ops(map);
    EXPECT_EQ(link, nullptr) << bpf_map__name(map);
    EXPECT_EQ(libbpf_get_error(link), -EINVAL) << bpf_map__name(map);
  }
  bpf_object__close(obj);
}

// bpf_program__set_ifindex() and bpf_prog_load()'s prog_ifindex: the load
// binds to a device as bpf_prog_dev_bound_init() does. lo (ifindex 1) has
// no ndo_bpf, 9999 is no device; unknown prog_flags are EINVAL
// (tests/exec/raw_bpf.c DevBound() compares the same with the kernel).
TEST(SetIfindex, LoadsBindToADeviceAsInTheKernel) {
  for (const auto& [ifindex, flags, want] :
       {std::tuple<__u32, __u32, int>{1, 0, -EOPNOTSUPP},
        {9999, 0, -EINVAL},
        {1, 1u << 6, -EINVAL},  // BPF_F_XDP_DEV_BOUND_ONLY: not for tc
        {0, 1u << 12, -EINVAL},
        {0, 0, 0}}) {
    bpf_object* obj =
        bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr);
    ASSERT_NE(obj, nullptr);
    bpf_program* prog = bpf_object__find_program_by_name(obj, "prog");
    ASSERT_NE(prog, nullptr);
    bpf_program__set_ifindex(prog, ifindex);
    ASSERT_EQ(bpf_program__set_flags(prog, flags), 0);
    EXPECT_EQ(bpf_object__load(obj), want) << ifindex << " " << flags;
    if (want == 0) {
      EXPECT_GE(bpf_program__fd(prog), 0);
    }
    bpf_object__close(obj);
  }
  struct bpf_insn ret[2] = {};
  ret[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  ret[0].imm = 2;
  ret[1].code = BPF_JMP | BPF_EXIT;
  LIBBPF_OPTS(bpf_prog_load_opts, on_lo, .prog_ifindex = 1);
  errno = 0;
  EXPECT_EQ(bpf_prog_load(BPF_PROG_TYPE_XDP, "x", "GPL", ret, 2, &on_lo),
            -EOPNOTSUPP);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(
      bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "x", "GPL", ret, 2, &on_lo),
      -EINVAL);
  LIBBPF_OPTS(bpf_map_create_opts, offload, .map_ifindex = 1);
  EXPECT_EQ(bpf_map_create(BPF_MAP_TYPE_ARRAY, "m", 4, 8, 1, &offload),
            -EOPNOTSUPP);
}

}  // namespace

namespace {

int LoadReturn(int value) {
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = value;
  insns[1].code = BPF_JMP | BPF_EXIT;
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "ret", "GPL", insns, 2,
                       nullptr);
}

bpf_prog_info Info(int prog_fd, __u32* ids = nullptr, __u32 nr_ids = 0) {
  bpf_prog_info info = {};
  info.nr_map_ids = nr_ids;
  info.map_ids = reinterpret_cast<uintptr_t>(ids);
  __u32 len = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
  return info;
}

int TestRun(int prog_fd, int repeat) {
  char pkt[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
              .data_size_in = sizeof(pkt), .repeat = repeat);
  return bpf_prog_test_run_opts(prog_fd, &run);
}

// bpf_enable_stats: run_cnt / run_time_ns grow only while a stats fd is
// open (kernel/bpf/syscall.c bpf_enable_runtime_stats).
TEST(EnableStats, CountsRunsWhileTheFdIsOpen) {
  const int prog = LoadReturn(0);
  ASSERT_GE(prog, 0) << errno;
  ASSERT_EQ(TestRun(prog, 2), 0);
  EXPECT_EQ(Info(prog).run_cnt, 0u);  // stats off
  const int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  ASSERT_GE(stats, 3);
  EXPECT_NE(fcntl(stats, F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(TestRun(prog, 3), 0);
  ASSERT_EQ(TestRun(prog, 1), 0);
  const bpf_prog_info on = Info(prog);
  EXPECT_EQ(on.run_cnt, 4u);
  EXPECT_GT(on.run_time_ns, 0u);
  ASSERT_EQ(close(stats), 0);
  ASSERT_EQ(TestRun(prog, 5), 0);
  EXPECT_EQ(Info(prog).run_cnt, 4u);  // off again, counts kept
  EXPECT_EQ(Info(prog).run_time_ns, on.run_time_ns);
  close(prog);
}

TEST(EnableStats, TypeAndPrivilegeChecks) {
  errno = 0;
  EXPECT_EQ(bpf_enable_stats(1), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  bpfemu::SetCallerPrivileged(false);
  EXPECT_EQ(bpf_enable_stats(BPF_STATS_RUN_TIME), -EPERM);
  EXPECT_EQ(bpf_enable_stats(1), -EPERM);
  bpfemu::SetCallerPrivileged(true);
}

// bpf_prog_bind_map: the program holds the map (past its last fd) and
// lists it once in map_ids; libbpf 1.1.2's flag and fd checks.
TEST(ProgBindMap, ProgramHoldsAndListsTheMap) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/bind");
  const int prog = LoadReturn(1);
  ASSERT_GE(prog, 0);
  const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bound", 4, 8, 1, nullptr);
  ASSERT_GE(map, 0);
  bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  ASSERT_EQ(bpf_obj_get_info_by_fd(map, &mi, &len), 0);
  EXPECT_EQ(Info(prog).nr_map_ids, 0u);
  ASSERT_EQ(bpf_prog_bind_map(prog, map, nullptr), 0);
  ASSERT_EQ(bpf_prog_bind_map(prog, map, nullptr), 0);  // not twice
  __u32 ids[4] = {};
  const bpf_prog_info info = Info(prog, ids, 4);
  EXPECT_EQ(info.nr_map_ids, 1u);
  EXPECT_EQ(ids[0], mi.id);
  EXPECT_EQ(Info(prog, ids, 0).nr_map_ids, 1u);  // count only

  LIBBPF_OPTS(bpf_prog_bind_opts, flags, .flags = 1);
  EXPECT_EQ(bpf_prog_bind_map(prog, map, &flags), -EINVAL);
  EXPECT_EQ(bpf_prog_bind_map(999, map, nullptr), -EBADF);
  EXPECT_EQ(bpf_prog_bind_map(map, map, nullptr), -EINVAL);  // not a prog
  EXPECT_EQ(bpf_prog_bind_map(prog, 999, nullptr), -EBADF);
  EXPECT_EQ(bpf_prog_bind_map(prog, prog, nullptr), -EINVAL);  // not a map

  // The program still holds the map after its last fd is closed. (Like a
  // program's own maps, it is not found by id then: the emulator's id
  // lookup sees maps with an fd, a pin or a map-in-map slot.)
  ASSERT_EQ(close(map), 0);
  __u32 after[2] = {};
  EXPECT_EQ(Info(prog, after, 2).nr_map_ids, 1u);
  EXPECT_EQ(after[0], mi.id);
  ASSERT_EQ(close(prog), 0);
}

}  // namespace

namespace {

// bpf_program__set_attach_target: libbpf 1.1.2's argument checks, the
// running kernel's BTF for a function name, -EINVAL for a target program
// without BTF (every emulated program), -EINVAL once loaded.
TEST(SetAttachTarget, ResolvesAsLibbpf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/target");
  bpf_object* obj =
      bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  bpf_program* prog = bpf_object__find_program_by_name(obj, "prog");
  ASSERT_NE(prog, nullptr);
  EXPECT_EQ(bpf_program__set_attach_target(nullptr, 0, "x"), -EINVAL);
  EXPECT_EQ(bpf_program__set_attach_target(prog, -1, "x"), -EINVAL);
  EXPECT_EQ(bpf_program__set_attach_target(prog, 0, nullptr), -EINVAL);
  const int target = LoadReturn(0);
  ASSERT_GE(target, 0);
  EXPECT_EQ(bpf_program__set_attach_target(prog, target, nullptr), 0);
  errno = 0;
  EXPECT_EQ(bpf_program__set_attach_target(prog, target, "func"), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  // BPF_OBJ_GET_INFO_BY_FD answers EBADFD for a closed fd.
  EXPECT_EQ(bpf_program__set_attach_target(prog, 999, "func"), -EBADFD);
  if (access("/sys/kernel/btf/vmlinux", R_OK) == 0) {
    ASSERT_EQ(bpf_program__set_expected_attach_type(prog, BPF_TRACE_FENTRY), 0);
    EXPECT_EQ(bpf_program__set_attach_target(prog, 0, "do_unlinkat"), 0);
    EXPECT_EQ(bpf_program__set_attach_target(prog, 0, "no_such_fn_xyz"),
              -ESRCH);
    ASSERT_EQ(bpf_program__set_expected_attach_type(prog, BPF_TRACE_RAW_TP), 0);
    EXPECT_EQ(bpf_program__set_attach_target(prog, 0, "sys_enter"), 0);
    ASSERT_EQ(bpf_program__set_expected_attach_type(
                  prog, static_cast<bpf_attach_type>(0)),
              0);
  }
  ASSERT_EQ(bpf_object__load(obj), 0);
  EXPECT_EQ(bpf_program__set_attach_target(prog, 0, "do_unlinkat"), -EINVAL);
  close(target);
  bpf_object__close(obj);
}

}  // namespace

namespace {

struct HandlerLog {
  int setups = 0, prepares = 0, attaches = 0;
  long cookie = 0;
};
HandlerLog handler_log;

int HandlerSetup(struct bpf_program* prog, long cookie) {
  (void)prog;
  ++handler_log.setups;
  handler_log.cookie = cookie;
  return 0;
}

// The typical use: the final instructions set at prepare time.
int HandlerPrepare(struct bpf_program* prog, struct bpf_prog_load_opts* opts,
                   long cookie) {
  (void)opts;
  (void)cookie;
  ++handler_log.prepares;
  std::vector<struct bpf_insn> insns(
      bpf_program__insns(prog),
      bpf_program__insns(prog) + bpf_program__insn_cnt(prog));
  struct bpf_insn mov = {};
  mov.code = BPF_ALU64 | BPF_MOV | BPF_K;
  mov.dst_reg = BPF_REG_0;
  mov.imm = 7;
  insns.insert(insns.end() - 1, mov);
  return bpf_program__set_insns(prog, insns.data(), insns.size());
}

int HandlerAttach(const struct bpf_program* prog, long cookie,
                  struct bpf_link** link) {
  (void)prog;
  (void)cookie;
  ++handler_log.attaches;
  *link = nullptr;
  return -EPERM;
}

int FailingSetup(struct bpf_program* prog, long cookie) {
  (void)prog;
  (void)cookie;
  return -EDOM;
}

// libbpf_register_prog_handler: a custom definition for the object's "tc"
// section wins over libbpf's own, gives the program its types and runs its
// callbacks at open, load and attach; unregistering, the fallback and the
// id rules as libbpf 1.1.2.
TEST(ProgHandler, CustomSectionRunsItsCallbacks) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/handler");
  handler_log = {};
  LIBBPF_OPTS(libbpf_prog_handler_opts, opts, .cookie = 42,
              .prog_setup_fn = HandlerSetup,
              .prog_prepare_load_fn = HandlerPrepare,
              .prog_attach_fn = HandlerAttach);
  const int id =
      libbpf_register_prog_handler("tc", BPF_PROG_TYPE_SOCKET_FILTER,
                                   static_cast<bpf_attach_type>(0), &opts);
  ASSERT_GT(id, 0);
  enum bpf_prog_type type;
  enum bpf_attach_type attach;
  ASSERT_EQ(libbpf_prog_type_by_name("tc", &type, &attach), 0);
  EXPECT_EQ(type, BPF_PROG_TYPE_SOCKET_FILTER);
  EXPECT_EQ(libbpf_attach_type_by_name("tc", &attach), -EINVAL);

  bpf_object* obj =
      bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(handler_log.setups, 1);
  EXPECT_EQ(handler_log.cookie, 42);
  bpf_program* prog = bpf_object__find_program_by_name(obj, "prog");
  ASSERT_NE(prog, nullptr);
  EXPECT_EQ(bpf_program__type(prog), BPF_PROG_TYPE_SOCKET_FILTER);
  ASSERT_EQ(bpf_object__load(obj), 0);
  EXPECT_EQ(handler_log.prepares, 1);
  bpf_prog_info info = {};
  __u32 len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0);
  EXPECT_EQ(info.type, BPF_PROG_TYPE_SOCKET_FILTER);
  EXPECT_EQ(TestRun(bpf_program__fd(prog), 1), 0);
  char pkt[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
              .data_size_in = sizeof(pkt));
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &run), 0);
  EXPECT_EQ(run.retval, 7u);  // the instructions the prepare step set
  errno = 0;
  EXPECT_EQ(bpf_program__attach(prog), nullptr);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(handler_log.attaches, 1);
  bpf_object__close(obj);

  EXPECT_EQ(libbpf_unregister_prog_handler(id), 0);
  EXPECT_EQ(libbpf_unregister_prog_handler(id), -ENOENT);
  EXPECT_EQ(libbpf_unregister_prog_handler(0), -EINVAL);
  ASSERT_EQ(libbpf_prog_type_by_name("tc", &type, &attach), 0);
  EXPECT_EQ(type, BPF_PROG_TYPE_SCHED_CLS);  // libbpf's own again

  // The fallback: one at a time, after libbpf's own table.
  const int fb = libbpf_register_prog_handler(
      nullptr, BPF_PROG_TYPE_XDP, static_cast<bpf_attach_type>(0), nullptr);
  ASSERT_GT(fb, id);
  EXPECT_EQ(
      libbpf_register_prog_handler(nullptr, BPF_PROG_TYPE_XDP,
                                   static_cast<bpf_attach_type>(0), nullptr),
      -EBUSY);
  ASSERT_EQ(libbpf_prog_type_by_name("no_such_section", &type, &attach), 0);
  EXPECT_EQ(type, BPF_PROG_TYPE_XDP);
  ASSERT_EQ(libbpf_prog_type_by_name("tc", &type, &attach), 0);
  EXPECT_EQ(type, BPF_PROG_TYPE_SCHED_CLS);
  EXPECT_EQ(libbpf_unregister_prog_handler(fb), 0);
  EXPECT_EQ(libbpf_prog_type_by_name("no_such_section", &type, &attach),
            -ESRCH);

  // A failing setup callback fails the open with its error.
  LIBBPF_OPTS(libbpf_prog_handler_opts, failing, .prog_setup_fn = FailingSetup);
  const int bad = libbpf_register_prog_handler(
      "tc", BPF_PROG_TYPE_SCHED_CLS, static_cast<bpf_attach_type>(0), &failing);
  ASSERT_GT(bad, 0);
  errno = 0;
  EXPECT_EQ(bpf_object__open_file("compat/btf_dump_types.bpf.o", nullptr),
            nullptr);
  EXPECT_EQ(errno, EDOM);
  EXPECT_EQ(libbpf_unregister_prog_handler(bad), 0);
}

}  // namespace

namespace {

// bpf_map__inner_map: a map-in-map's inner template as a map whose setters
// change what load creates; EINVAL for other maps; NULL after
// bpf_map__set_inner_map_fd (libbpf drops the template).
TEST(LibbpfInnerMap, TemplateIsAMapItsSettersShape) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  bpfemu::SetBpffsForTesting(
      "/sys/fs/bpf", std::string(tmp != nullptr ? tmp : "/tmp") + "/inner");
  bpf_object* obj = bpf_object__open_file("compat/inner_map.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr) << errno;
  bpf_map* outer = bpf_object__find_map_by_name(obj, "outer");
  bpf_map* plain = bpf_object__find_map_by_name(obj, "plain");
  ASSERT_NE(outer, nullptr);
  ASSERT_NE(plain, nullptr);
  errno = 0;
  EXPECT_EQ(bpf_map__inner_map(plain), nullptr);
  EXPECT_EQ(errno, EINVAL);
  bpf_map* inner = bpf_map__inner_map(outer);
  ASSERT_NE(inner, nullptr);
  EXPECT_STREQ(bpf_map__name(inner), "outer.inner");
  EXPECT_EQ(bpf_map__type(inner), BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(bpf_map__max_entries(inner), 4u);
  EXPECT_EQ(bpf_map__value_size(inner), 8u);
  EXPECT_EQ(bpf_map__fd(inner), -1);
  // The object's maps do not include the template.
  int n = 0;
  bpf_map* m;
  bpf_object__for_each_map(m, obj)++ n;
  EXPECT_EQ(n, 2);
  ASSERT_EQ(bpf_map__set_max_entries(inner, 16), 0);
  EXPECT_EQ(bpf_map__max_entries(inner), 16u);
  EXPECT_EQ(bpf_map__max_entries(outer), 2u);
  ASSERT_EQ(bpf_object__load(obj), 0);
  EXPECT_EQ(bpf_map__set_max_entries(inner, 8), -EBUSY);
  // Only an inner map like the template fits a slot: 16 entries now.
  const int fits =
      bpf_map_create(BPF_MAP_TYPE_ARRAY, "fits", 4, 8, 16, nullptr);
  const int old = bpf_map_create(BPF_MAP_TYPE_ARRAY, "old", 4, 8, 4, nullptr);
  ASSERT_GE(fits, 0);
  ASSERT_GE(old, 0);
  const __u32 key = 0;
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(outer), &key, &fits, BPF_ANY), 0);
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(outer), &key, &old, BPF_ANY),
            -EINVAL);
  close(fits);
  close(old);
  bpf_object__close(obj);

  // After set_inner_map_fd there is no template.
  obj = bpf_object__open_file("compat/inner_map.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr);
  outer = bpf_object__find_map_by_name(obj, "outer");
  const int tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t", 4, 8, 4, nullptr);
  ASSERT_GE(tmpl, 0);
  ASSERT_EQ(bpf_map__set_inner_map_fd(outer, tmpl), 0);
  errno = 0;
  EXPECT_EQ(bpf_map__inner_map(outer), nullptr);
  EXPECT_EQ(errno, 0);
  close(tmpl);
  bpf_object__close(obj);
}

}  // namespace
