// SPDX-License-Identifier: Apache-2.0
// libbpfemu's static linker (compat/linker_compat.cc) without root: two
// objects that need each other (compat/testdata/linker_a.bpf.c and
// linker_b.bpf.c: an extern function, an extern map, an extern variable,
// two static helper()s) linked in both orders, opened, loaded and run by
// libbpfemu, must compute what the single-file program computes; the
// errors are the ones the system libbpf gives (measured by
// //compat:linker_diff_test).

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

const char kA[] = "compat/linker_a.bpf.o";
const char kB[] = "compat/linker_b.bpf.o";

// Links `inputs` into `out`: 0 or the first error.
int Link(const std::string& out, const std::vector<const char*>& inputs) {
  bpf_linker* l = bpf_linker__new(out.c_str(), nullptr);
  if (l == nullptr) return -errno;
  int err = 0;
  for (const char* in : inputs) {
    if (err == 0) err = bpf_linker__add_file(l, in, nullptr);
  }
  if (err == 0) err = bpf_linker__finalize(l);
  bpf_linker__free(l);
  return err;
}

// prog_a, prog_b, prog_a, prog_b on packets of 64, 56, 48, 40 bytes: the
// return values, then the "results" map's four values.
std::vector<uint64_t> RunAll(const std::string& path) {
  std::vector<uint64_t> out;
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  EXPECT_NE(obj, nullptr) << path << " errno " << errno;
  if (obj == nullptr) return out;
  EXPECT_EQ(bpf_object__load(obj), 0) << path;
  const char* progs[] = {"prog_a", "prog_b", "prog_a", "prog_b"};
  unsigned char pkt[64] = {};
  for (int i = 0; i < 4; ++i) {
    bpf_program* p = bpf_object__find_program_by_name(obj, progs[i]);
    EXPECT_NE(p, nullptr) << progs[i];
    if (p == nullptr) break;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
                .data_size_in = static_cast<__u32>(sizeof(pkt) - 8 * i));
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(p), &run), 0);
    out.push_back(run.retval);
  }
  bpf_map* m = bpf_object__find_map_by_name(obj, "results");
  EXPECT_NE(m, nullptr);
  for (uint32_t k = 0; m != nullptr && k < 4; ++k) {
    uint64_t v = 0;
    EXPECT_EQ(bpf_map__lookup_elem(m, &k, sizeof(k), &v, sizeof(v), 0), 0);
    out.push_back(v);
  }
  bpf_object__close(obj);
  return out;
}

TEST(Linker, TwoFilesComputeWhatOneFileComputes) {
  const std::vector<uint64_t> want = RunAll("compat/linker_single.bpf.o");
  ASSERT_EQ(want.size(), 8u);
  // Values worked out from the sources: add_mul(helper_a(64), 5) with
  // helper_a(x) = 3x + 7 and add_mul(a, b) = (a + 100) * b.
  EXPECT_EQ(want[0], (64u * 3 + 7 + 100) * 5);
  ASSERT_EQ(Link(TmpPath("ab.o"), {kA, kB}), 0);
  EXPECT_EQ(RunAll(TmpPath("ab.o")), want);
  // Externs first: b's extern map, variable and function resolved by a.
  ASSERT_EQ(Link(TmpPath("ba.o"), {kB, kA}), 0);
  EXPECT_EQ(RunAll(TmpPath("ba.o")), want);
}

// linker_c + linker_d: d's strong pick() (x * 10) replaces c's weak one
// (x + 1) whichever file comes first; d writes c's hidden shared_val.
TEST(Linker, StrongReplacesWeakAndHiddenIsShared) {
  for (const auto& inputs :
       {std::vector<const char*>{"compat/linker_c.bpf.o",
                                 "compat/linker_d.bpf.o"},
        std::vector<const char*>{"compat/linker_d.bpf.o",
                                 "compat/linker_c.bpf.o"}}) {
    ASSERT_EQ(Link(TmpPath("cd.o"), inputs), 0);
    bpf_object* obj = bpf_object__open_file(TmpPath("cd.o").c_str(), nullptr);
    ASSERT_NE(obj, nullptr);
    ASSERT_EQ(bpf_object__load(obj), 0);
    unsigned char pkt[64] = {};
    auto run = [&](const char* name, __u32 len) {
      bpf_program* p = bpf_object__find_program_by_name(obj, name);
      EXPECT_NE(p, nullptr);
      LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len);
      EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(p), &o), 0);
      return o.retval;
    };
    // pick(shared_val = 3) + d_value 40 + bias 9 * (len & 3).
    EXPECT_EQ(run("prog_c", 62), 3u * 10 + 40 + 9 * 2);
    // shared_val becomes 4; pick(len & 7) + 4.
    EXPECT_EQ(run("prog_d", 63), 7u * 10 + 4);
    EXPECT_EQ(run("prog_c", 60), 4u * 10 + 40);
    bpf_object__close(obj);
  }
}

TEST(Linker, MergedBtfHasOneDefinitionOfEachGlobal) {
  ASSERT_EQ(Link(TmpPath("btf.o"), {kB, kA}), 0);
  btf_ext* ext = nullptr;
  btf* b = btf__parse_elf(TmpPath("btf.o").c_str(), &ext);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(ext, nullptr);
  int funcs = 0, results = 0;
  for (uint32_t id = 1; id < btf__type_cnt(b); ++id) {
    const btf_type* t = btf__type_by_id(b, id);
    const std::string name = btf__name_by_offset(b, t->name_off);
    if (btf_is_func(t) && name == "add_mul") {
      ++funcs;
      EXPECT_EQ(btf_vlen(t), BTF_FUNC_GLOBAL);
    }
    if (btf_is_var(t) && name == "results") {
      ++results;
      EXPECT_EQ(btf_var(t)->linkage, BTF_VAR_GLOBAL_ALLOCATED);
    }
  }
  EXPECT_EQ(funcs, 1);
  EXPECT_EQ(results, 1);
  // Each file's variables in their section: counter (a) alone in .data,
  // calls (b, zero) alone in .bss.
  const int data = btf__find_by_name_kind(b, ".data", BTF_KIND_DATASEC);
  const int bss = btf__find_by_name_kind(b, ".bss", BTF_KIND_DATASEC);
  ASSERT_GT(data, 0);
  ASSERT_GT(bss, 0);
  EXPECT_EQ(btf__type_by_id(b, data)->size, 4u);
  EXPECT_EQ(btf__type_by_id(b, bss)->size, 8u);
  ASSERT_EQ(btf_vlen(btf__type_by_id(b, bss)), 1);
  const btf_type* calls =
      btf__type_by_id(b, btf_var_secinfos(btf__type_by_id(b, bss))[0].type);
  EXPECT_STREQ(btf__name_by_offset(b, calls->name_off), "calls");
  btf_ext__free(ext);
  btf__free(b);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string ReadFile(const char* path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

int AddOne(const std::string& path) {
  bpf_linker* l = bpf_linker__new(TmpPath("err.o").c_str(), nullptr);
  EXPECT_NE(l, nullptr);
  errno = 0;
  const int r = bpf_linker__add_file(l, path.c_str(), nullptr);
  EXPECT_EQ(errno, -r);
  bpf_linker__free(l);
  return r;
}

TEST(Linker, BadInputGetsLibbpfErrors) {
  EXPECT_EQ(AddOne(TmpPath("missing.o")), -ENOENT);
  WriteFile(TmpPath("text.o"), "not an ELF file at all, just some text\n");
  EXPECT_EQ(AddOne(TmpPath("text.o")), -EINVAL);
  std::string x86 = ReadFile(kA);
  ASSERT_GT(x86.size(), 64u);
  x86[18] = 62;  // e_machine EM_X86_64
  WriteFile(TmpPath("x86.o"), x86);
  EXPECT_EQ(AddOne(TmpPath("x86.o")), -EOPNOTSUPP);

  bpf_linker* l = bpf_linker__new(TmpPath("dup.o").c_str(), nullptr);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(bpf_linker__add_file(l, kA, nullptr), 0);
  EXPECT_EQ(bpf_linker__add_file(l, kA, nullptr), -EINVAL);  // prog_a twice
  bpf_linker__free(l);

  EXPECT_EQ(Link(TmpPath("mismatch.o"), {kA, "compat/linker_bad.bpf.o"}),
            -EINVAL);

  struct {
    bpf_linker_opts o;
    long extra;
  } big = {{sizeof(big)}, 1};
  errno = 0;
  EXPECT_EQ(bpf_linker__new(TmpPath("opts.o").c_str(), &big.o), nullptr);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(bpf_linker__new("/nonexistent-dir/x.o", nullptr), nullptr);
  EXPECT_EQ(errno, ENOENT);

  l = bpf_linker__new(TmpPath("done.o").c_str(), nullptr);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(bpf_linker__finalize(l), 0);
  EXPECT_EQ(bpf_linker__finalize(l), -EINVAL);
  EXPECT_EQ(bpf_linker__add_file(l, kA, nullptr), -EINVAL);
  bpf_linker__free(l);
  bpf_linker__free(nullptr);
}

}  // namespace

namespace {

// Damaged inputs get an error or link, never a crash: linker_a.bpf.o cut
// at every 16th length, and with a few bytes overwritten (a fixed
// pseudo-random sequence), each linked after linker_b.bpf.o.
TEST(Linker, DamagedInputNeverCrashes) {
  const std::string good = ReadFile(kA);
  ASSERT_GT(good.size(), 256u);
  uint64_t seed = 42;
  auto next = [&] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(seed >> 33);
  };
  std::vector<std::string> inputs;
  for (size_t len = 0; len < good.size(); len += 16) {
    inputs.push_back(good.substr(0, len));
  }
  for (int i = 0; i < 300; ++i) {
    std::string d = good;
    for (uint32_t n = 1 + next() % 6; n > 0; --n) {
      d[next() % d.size()] = static_cast<char>(next());
    }
    inputs.push_back(d);
  }
  int refused = 0;
  for (const std::string& d : inputs) {
    WriteFile(TmpPath("damaged.o"), d);
    const int r =
        Link(TmpPath("damaged_out.o"), {kB, TmpPath("damaged.o").c_str()});
    EXPECT_LE(r, 0);
    if (r < 0) ++refused;
  }
  // Every cut file is refused.
  EXPECT_GE(refused, static_cast<int>(good.size() / 16));
}

}  // namespace
