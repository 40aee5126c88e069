// SPDX-License-Identifier: Apache-2.0
// bpfemu::cli::Run in-process: strict numbers, a message for every nonzero
// exit, and names and paths from files escaped in JSON and in plain text
// (issue 20, item 6). The bpftool comparison is tests/cli.
#include "cli/cli.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/bpffs.h"
#include "emu/btf.h"
#include "emu/map.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/btf.h"

namespace bpfemu::cli {
namespace {

struct Result {
  int rc;
  std::string out, err;
};

Result Call(const std::vector<std::string>& args) {
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  FILE* out = open_memstream(&out_buf, &out_len);
  FILE* err = open_memstream(&err_buf, &err_len);
  Result r;
  r.rc = Run(args, out, err);
  std::fclose(out);
  std::fclose(err);
  r.out.assign(out_buf, out_len);
  r.err.assign(err_buf, err_len);
  free(out_buf);
  free(err_buf);
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/bpfemu-cli-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    SetBpffsForTesting("/sys/fs/bpf", dir_);
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_HASH;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = 4;
    std::strcpy(a.map_name, "plain");
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(ObjPin(fd_, "/sys/fs/bpf/m"), 0);
  }
  void TearDown() override {
    CloseFd(fd_);
    std::system(("rm -rf " + dir_).c_str());
  }
  std::string dir_;
  int fd_ = -1;
};

// The installed tree's `bpfemu --help` (issue 28): bpftool's -h, the usage
// and exit 0. Used to be "unrecognized option" and 255.
TEST_F(CliTest, HelpPrintsUsageAndSucceeds) {
  for (const char* h : {"--help", "-h"}) {
    const Result r = Call({h});
    EXPECT_EQ(r.rc, 0) << h;
    EXPECT_EQ(r.out.rfind("Usage: bpfemu", 0), 0u) << h << ": " << r.out;
    EXPECT_NE(r.out.find("map dump MAP"), std::string::npos) << h;
    EXPECT_EQ(r.err, "") << h;
  }
}

TEST_F(CliTest, ShowIdThatIsNotANumberFails) {
  // Used to list every map with exit 0.
  for (const char* bad :
       {"abc", "1x", "0x", "", " 1", "+1", "4294967296", "99999999999"}) {
    const Result r = Call({"map", "show", "id", bad});
    EXPECT_EQ(r.rc, 255) << bad;
    EXPECT_EQ(r.out, "") << bad;
    EXPECT_EQ(r.err, "Error: can't parse " + std::string(bad) + " as ID\n")
        << bad;
  }
  const Result ok = Call({"map", "show", "id", "1"});
  EXPECT_EQ(ok.rc, 0);
  EXPECT_NE(ok.out.find("name plain"), std::string::npos) << ok.out;
  const Result none = Call({"map", "show", "id", "0x7fffffff"});
  EXPECT_EQ(none.rc, 255);
  EXPECT_EQ(none.err,
            "Error: get map by id (2147483647): No such file or directory\n");
}

TEST_F(CliTest, BytesAreParsedStrictly) {
  for (const char* bad : {"256", "1x", " 1", "+1", "08", "0x100", "1 "}) {
    const Result r = Call({"map", "lookup", "pinned", "/sys/fs/bpf/m", "key",
                           bad, "0", "0", "0"});
    EXPECT_EQ(r.rc, 255) << bad;
    EXPECT_NE(r.err.find("error parsing byte"), std::string::npos)
        << bad << ": " << r.err;
  }
  const Result hex = Call({"map", "lookup", "pinned", "/sys/fs/bpf/m", "key",
                           "hex", "ff", "0", "0", "0"});
  EXPECT_EQ(hex.rc, 254);  // parsed, not found
  const Result junk = Call({"map", "delete", "pinned", "/sys/fs/bpf/m", "key",
                            "1", "0", "0", "0", "junk"});
  EXPECT_EQ(junk.rc, 255);
  EXPECT_EQ(junk.err, "Error: expected key or value, got: junk\n");
}

TEST_F(CliTest, JsonErrorsAreEscaped) {
  const std::string path = "/sys/fs/bpf/a\"b\\c\x1b[31m\n";
  const Result r = Call({"-j", "map", "show", "pinned", path});
  EXPECT_EQ(r.rc, 255);
  EXPECT_EQ(r.out,
            "{\"error\":\"bpf obj get (/sys/fs/bpf/a\\\"b\\\\c\\u001b[31m\\n): "
            "No such file or directory\"}\n");
  // Plain text: no raw escape byte reaches the terminal.
  const Result p = Call({"map", "show", "pinned", path});
  EXPECT_EQ(p.err.find('\x1b'), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("\\x1b[31m\\x0a"), std::string::npos) << p.err;
}

TEST_F(CliTest, CraftedNameIsEscaped) {
  // Another user's file may carry any name bytes: write them into the
  // pinned region's header, as a crafted file would.
  const int file = open((dir_ + "/m").c_str(), O_RDWR);
  ASSERT_GE(file, 0);
  void* p = mmap(nullptr, sizeof(MapHeader), PROT_READ | PROT_WRITE, MAP_SHARED,
                 file, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* hdr = static_cast<MapHeader*>(p);
  std::memcpy(hdr->name, "x\"\x1b]0;pwn\x07\\yyyyyy", sizeof(hdr->name));
  munmap(p, sizeof(MapHeader));
  close(file);
  const Result j = Call({"-j", "map", "show", "pinned", "/sys/fs/bpf/m"});
  ASSERT_EQ(j.rc, 0) << j.err << j.out;
  EXPECT_NE(j.out.find("\"name\":\"x\\\"\\u001b]0;pwn\\u0007\\\\yyyyy\""),
            std::string::npos)
      << j.out;
  const Result t = Call({"map", "show", "pinned", "/sys/fs/bpf/m"});
  ASSERT_EQ(t.rc, 0);
  EXPECT_EQ(t.out.find('\x1b'), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("name x\"\\x1b]0;pwn\\x07\\x5cyyyyy "),
            std::string::npos)
      << t.out;
}

TEST_F(CliTest, EveryFailureSaysWhy) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"map", "frob"},
      {"map", "pin", "pinned", "/sys/fs/bpf/m"},
      {"map", "pin", "pinned", "/sys/fs/bpf/m", "/elsewhere/x"},
      {"map", "dump"},
      {"map", "lookup"},
      {"map", "lookup", "pinned", "/sys/fs/bpf/m"},
      {"map", "update", "pinned", "/sys/fs/bpf/m", "key", "1", "0", "0", "0"},
      {"-x", "map"},
  };
  for (const auto& c : cases) {
    for (const bool json : {false, true}) {
      std::vector<std::string> args = c;
      if (json) args.insert(args.begin(), "-j");
      const Result r = Call(args);
      EXPECT_NE(r.rc, 0);
      EXPECT_FALSE(r.err.empty() && r.out.find("error") == std::string::npos)
          << "silent failure, rc " << r.rc << " for argc " << args.size();
    }
  }
}

// `btf dump file` and `prog run` on what is not a BTF file or an object: a
// directory (which used to abort `prog run` inside Object::OpenBytecode's
// stream read), a missing file, text. bpftool's messages and exit codes
// for btf dump; for prog run, bpfemu's own (bpftool names a loaded
// program instead).
TEST_F(CliTest, BtfDumpAndProgRunRefuseNonObjects) {
  const std::string text = dir_ + "/text";
  FILE* f = std::fopen(text.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not an object\n", f);
  std::fclose(f);
  struct Case {
    std::vector<std::string> args;
    int rc;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"btf", "dump", "file", dir_},
       251,
       "Error: failed to load BTF from " + dir_ + ": Input/output error\n"},
      {{"btf", "dump", "file", dir_ + "/missing"},
       254,
       "Error: failed to load BTF from " + dir_ +
           "/missing: No such file or directory\n"},
      {{"btf", "dump", "file", text, "format", "c"},
       95,
       "libbpf: failed to get EHDR from " + text +
           "\nError: failed to load BTF from " + text +
           ": Unknown error 4001\n"},
      {{"prog", "run", dir_, "p", "repeat", "1"},
       255,
       "Error: can't open object " + dir_ + ": Is a directory\n"},
      {{"prog", "run", dir_ + "/missing", "p", "repeat", "1"},
       255,
       "Error: can't open object " + dir_ +
           "/missing: No such file or directory\n"},
      {{"prog", "run", dir_, "p"},
       255,
       "Error: 'run' needs at least 4 arguments, 2 found\n"},
  };
  for (const Case& c : cases) {
    const Result r = Call(c.args);
    EXPECT_EQ(r.rc, c.rc) << c.args[0] << " " << c.args[3];
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
  const Result r = Call({"prog", "run", text, "p", "repeat", "1"});
  EXPECT_EQ(r.rc, 255);
  EXPECT_TRUE(r.err.starts_with("Error: can't open object " + text + ": "))
      << r.err;
}

// A map created with BTF: its BTF object is found by id through the map's
// pin (`btf dump id`), and its elements print through it.
TEST_F(CliTest, MapBtfReachesTheCli) {
  native::BtfData b;
  btf_type t = {};
  t.name_off = static_cast<uint32_t>(b.AddStr("long"));
  t.info = BTF_KIND_INT << 24;
  t.size = 8;
  b.AddType(&t, sizeof(t));
  const uint32_t enc = BTF_INT_SIGNED << 24 | 64;
  b.AppendToLast(&enc, sizeof(enc));
  const std::vector<uint8_t> raw = b.Raw();
  BtfLoadAttr la;
  la.btf = raw.data();
  la.btf_size = static_cast<uint32_t>(raw.size());
  const int btf_fd = BtfLoad(la);
  ASSERT_GE(btf_fd, 0);
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 8;
  a.value_size = 8;
  a.max_entries = 1;
  a.btf_fd = static_cast<uint32_t>(btf_fd);
  a.btf_key_type_id = 1;
  a.btf_value_type_id = 1;
  const int fd = MapCreate(a);
  ASSERT_GE(fd, 0) << fd;
  ASSERT_EQ(ObjPin(fd, "/sys/fs/bpf/typed"), 0);
  BpfMapInfo info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
  ASSERT_NE(info.btf_id, 0u);
  Result r = Call({"btf", "dump", "id", std::to_string(info.btf_id)});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "[1] INT 'long' size=8 bits_offset=0 nr_bits=64 "
            "encoding=SIGNED\n");
  const int64_t k = 3, v = -2;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  r = Call({"map", "dump", "pinned", "/sys/fs/bpf/typed"});
  EXPECT_EQ(r.out,
            "[{\n        \"key\": 3,\n        \"value\": -2\n    }\n]\n");
  CloseFd(fd);
  CloseFd(btf_fd);
}

// The BTF on a map's file is another user's input: one that does not
// describe the map's sizes prints the elements as bytes.
TEST_F(CliTest, CraftedMapBtfPrintsBytes) {
  native::BtfData b;
  btf_type t = {};
  t.name_off = static_cast<uint32_t>(b.AddStr("int"));
  t.info = BTF_KIND_INT << 24;
  t.size = 4;  // the map's value is 8 bytes
  b.AddType(&t, sizeof(t));
  const uint32_t enc = 32;
  b.AppendToLast(&enc, sizeof(enc));
  const std::vector<uint8_t> raw = b.Raw();
  struct {
    char magic[8] = {'B', 'P', 'F', 'E', 'M', 'U', 'B', '1'};
    uint32_t btf_id = 77, key = 1, value = 1, len;
  } h;
  h.len = static_cast<uint32_t>(raw.size());
  std::vector<uint8_t> attr(sizeof(h));
  std::memcpy(attr.data(), &h, sizeof(h));
  attr.insert(attr.end(), raw.begin(), raw.end());
  const std::string file = dir_ + "/m";
  if (setxattr(file.c_str(), "user.bpfemu.btf", attr.data(), attr.size(), 0) !=
      0) {
    GTEST_SKIP() << "no user extended attributes on " << dir_;
  }
  const uint32_t k = 1;
  const uint64_t v = 5;
  ASSERT_EQ(MapUpdateElem(fd_, &k, &v, BPF_ANY), 0);
  // A new open of the pin reads the attribute (this process's own table
  // knows the map has no BTF only by its id, which the crafted one names).
  const Result r = Call({"map", "dump", "pinned", "/sys/fs/bpf/m"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "key: 01 00 00 00  value: 05 00 00 00 00 00 00 00\n"
            "Found 1 element\n");
  EXPECT_NE(
      Call({"map", "show", "pinned", "/sys/fs/bpf/m"}).out.find("btf_id 77"),
      std::string::npos);
}

}  // namespace
}  // namespace bpfemu::cli
