// SPDX-License-Identifier: Apache-2.0
// bpfemu's CLI (cli/cli.h Run) in-process with arbitrary argument vectors:
// words from the command's grammar, numbers in every base and sign, paths
// to pinned maps of several kinds (hash, per-CPU, LRU, array, ring buffer,
// map-of-maps) and raw strings, with or without -j; `btf dump file` of a
// BTF blob, an object and a file holding the input's own bytes (raw BTF
// with a valid header, so the type section and the C printer are
// reached), and `prog run` of an XDP and a socket filter program of a
// small object on packets and contexts from the input. Checks: no crash; the
// exit code is 0, 254 (not found) or a failure that printed why; output
// never carries a raw control byte (JSON strings are escaped, plain text
// shows \xNN), so a path or name cannot inject terminal escapes or break
// a JSON consumer.
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <linux/btf.h>

#include <algorithm>

#include "cli/cli.h"
#include "emu/bpffs.h"
#include "emu/signal.h"
#include "emu/syscall.h"
#include "fuzz/cli_fuzzer_object.h"
#include "fuzz/fuzz_input.h"

namespace {

const char* const kWords[] = {
    "map",
    "show",
    "list",
    "dump",
    "lookup",
    "update",
    "delete",
    "pin",
    "pinned",
    "id",
    "name",
    "key",
    "value",
    "hex",
    "any",
    "exist",
    "noexist",
    "-j",
    "--json",
    "kernel",
    "0",
    "1",
    "2",
    "255",
    "256",
    "0x10",
    "0xff",
    "010",
    "08",
    "-1",
    "4294967295",
    "4294967296",
    "1x",
    "",
    " 1",
    "+1",
    "/sys/fs/bpf/h",
    "/sys/fs/bpf/pc",
    "/sys/fs/bpf/lru",
    "/sys/fs/bpf/a",
    "/sys/fs/bpf/rb",
    "/sys/fs/bpf/mim",
    "/sys/fs/bpf/new",
    "/sys/fs/bpf/../../etc/passwd",
    "/sys/fs/bpf",
    "/tmp/x",
    "/sys/fs/bpf/h/x",
    "peek",
    "push",
    "pop",
    "enqueue",
    "dequeue",
    "getnext",
    "freeze",
    "/sys/fs/bpf/q",
    "btf",
    "file",
    "format",
    "c",
    "raw",
    "prog",
    "run",
    "data_in",
    "data_out",
    "data_size_out",
    "ctx_in",
    "ctx_out",
    "ctx_size_out",
    "repeat",
    "-",
    "@DIR/btf",
    "@DIR/obj.o",
    "@DIR/fuzz.btf",
    "@DIR/pkt",
    "@DIR/ctx",
    "@DIR/out",
    "@DIR",
    "pass",
    "drop_short",
    "sock_len",
};
constexpr uint32_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);

std::string g_dir;
std::set<std::string> g_initial;
std::string g_files;  // the directory of the files btf/prog commands read

void WriteFile(const std::string& path, const void* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "w");
  FUZZ_CHECK(f != nullptr);
  // An empty file: no write (fwrite from a null pointer is undefined even
  // for 0 bytes).
  FUZZ_CHECK(size == 0 || std::fwrite(data, 1, size, f) == size);
  std::fclose(f);
}

// A raw BTF blob: int, pointer, struct with a bit-field, enum, typedef,
// function prototype and function (the header, types, then strings).
std::vector<uint8_t> SampleBtf() {
  const uint32_t types[] = {
      // [1] INT 'int' size 4, signed, 32 bits
      1,
      BTF_KIND_INT << 24,
      4,
      (BTF_INT_SIGNED << 24) | 32,
      // [2] PTR -> 3
      0,
      BTF_KIND_PTR << 24,
      3,
      // [3] STRUCT 's' size 8, kflag, members a (int), b:3 (int) at 32
      5,
      (1u << 31) | (BTF_KIND_STRUCT << 24) | 2,
      8,
      7,
      1,
      0,
      9,
      1,
      (3u << 24) | 32,
      // [4] ENUM 'e' size 4 { A = -1 } (signed)
      11,
      (1u << 31) | (BTF_KIND_ENUM << 24) | 1,
      4,
      13,
      0xffffffffu,
      // [5] TYPEDEF 't' -> 2
      15,
      BTF_KIND_TYPEDEF << 24,
      2,
      // [6] FUNC_PROTO int (t x)
      0,
      (BTF_KIND_FUNC_PROTO << 24) | 1,
      1,
      17,
      5,
      // [7] FUNC 'f' global -> 6
      19,
      (BTF_KIND_FUNC << 24) | 1,
      6,
  };
  const char strs[] = "\0int\0s\0a\0b\0e\0A\0t\0x\0f";
  btf_header h = {};
  h.magic = BTF_MAGIC;
  h.version = BTF_VERSION;
  h.hdr_len = sizeof(h);
  h.type_off = 0;
  h.type_len = sizeof(types);
  h.str_off = sizeof(types);
  h.str_len = sizeof(strs);
  std::vector<uint8_t> b(sizeof(h) + sizeof(types) + sizeof(strs));
  std::memcpy(b.data(), &h, sizeof(h));
  std::memcpy(b.data() + sizeof(h), types, sizeof(types));
  std::memcpy(b.data() + sizeof(h) + sizeof(types), strs, sizeof(strs));
  return b;
}

void Pin(bpf_map_type type, uint32_t key, uint32_t value, uint32_t max,
         const char* path, int inner = -1) {
  bpfemu::MapAttr a;
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = max;
  if (inner >= 0) a.inner_map_fd = static_cast<uint32_t>(inner);
  const int fd = bpfemu::MapCreate(a);
  FUZZ_CHECK(fd >= 0);
  if (type == BPF_MAP_TYPE_HASH) {
    for (uint32_t k = 0; k < 3; ++k) {
      uint64_t v = k * 7;
      FUZZ_CHECK(bpfemu::MapUpdateElem(fd, &k, &v, BPF_ANY) == 0);
    }
  }
  FUZZ_CHECK(bpfemu::ObjPin(fd, path) == 0);
  if (inner < 0) bpfemu::CloseFd(fd);
}

std::set<std::string> TopLevel() {
  std::set<std::string> names;
  if (DIR* d = opendir(g_dir.c_str())) {
    while (dirent* e = readdir(d)) names.insert(e->d_name);
    closedir(d);
  }
  return names;
}

void SetUpOnce() {
  if (!g_dir.empty()) return;
  char dir[] = "/tmp/bpfemu-cli-fuzz.XXXXXX";
  FUZZ_CHECK(mkdtemp(dir) != nullptr);
  g_dir = dir;
  bpfemu::SetBpffsForTesting("/sys/fs/bpf", g_dir);
  Pin(BPF_MAP_TYPE_HASH, 4, 8, 8, "/sys/fs/bpf/h");
  Pin(BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 4, "/sys/fs/bpf/pc");
  Pin(BPF_MAP_TYPE_LRU_HASH, 2, 3, 8, "/sys/fs/bpf/lru");
  Pin(BPF_MAP_TYPE_ARRAY, 4, 20, 2, "/sys/fs/bpf/a");
  Pin(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, "/sys/fs/bpf/rb");
  Pin(BPF_MAP_TYPE_QUEUE, 0, 4, 4, "/sys/fs/bpf/q");
  bpfemu::MapAttr in;
  in.map_type = BPF_MAP_TYPE_ARRAY;
  in.key_size = 4;
  in.value_size = 4;
  in.max_entries = 1;
  const int inner = bpfemu::MapCreate(in);
  FUZZ_CHECK(inner >= 0);
  Pin(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, "/sys/fs/bpf/mim", inner);
  bpfemu::CloseFd(inner);
  g_initial = TopLevel();
  char files[] = "/tmp/bpfemu-cli-fuzz-files.XXXXXX";
  FUZZ_CHECK(mkdtemp(files) != nullptr);
  g_files = files;
  const std::vector<uint8_t> btf = SampleBtf();
  WriteFile(g_files + "/btf", btf.data(), btf.size());
  WriteFile(g_files + "/obj.o", kObject, sizeof(kObject));
  std::atexit([] { std::system(("rm -rf " + g_dir + " " + g_files).c_str()); });
}

// rm -r of `name` in the directory `dir` (no shell: names are arbitrary).
void RemoveTree(int dir, const char* name) {
  if (unlinkat(dir, name, 0) == 0) return;
  const int sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (sub >= 0) {
    if (DIR* d = fdopendir(sub)) {
      std::vector<std::string> names;
      while (dirent* e = readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 &&
            std::strcmp(e->d_name, "..") != 0) {
          names.push_back(e->d_name);
        }
      }
      for (const std::string& n : names) RemoveTree(dirfd(d), n.c_str());
      closedir(d);
    } else {
      close(sub);
    }
  }
  unlinkat(dir, name, AT_REMOVEDIR);
}

bool NoRawControlBytes(const std::string& s) {
  for (const unsigned char c : s) {
    if (c < 0x20 && c != '\n' && c != '\t') return false;
    if (c == 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fuzzed program may signal this process with any signal (SIGKILL,
  // SIGSEGV): keep them (emu/signal.h).
  static const bool kept =
      (bpfemu::SetSignalSink([](const bpfemu::SentSignal&) {}), true);
  (void)kept;
  SetUpOnce();
  bpfemu::fuzz::FuzzInput in(data, size);
  std::vector<std::string> args;
  const uint32_t n = in.Below(24);
  for (uint32_t i = 0; i < n && !in.empty(); ++i) {
    const uint8_t pick = in.Get<uint8_t>();
    if (pick < 0xe0) {
      args.push_back(kWords[pick % kNumWords]);
    } else {
      const std::vector<uint8_t> raw = in.Bytes(in.Below(24));
      args.emplace_back(raw.begin(), raw.end());
      // argv strings end at a NUL.
      args.back().resize(strnlen(args.back().c_str(), args.back().size()));
    }
  }
  // The files `btf dump file` and `prog run` read: the rest of the input,
  // as a raw BTF file (behind a header that points into it), a packet and
  // a context.
  {
    const std::vector<uint8_t> rest = in.Bytes(in.Below(512));
    btf_header h = {};
    h.magic = BTF_MAGIC;
    h.version = BTF_VERSION;
    h.hdr_len = sizeof(h);
    const uint32_t half = static_cast<uint32_t>(rest.size() / 2);
    h.type_len = half & ~3u;
    h.str_off = h.type_len;
    h.str_len = static_cast<uint32_t>(rest.size()) - h.type_len;
    std::vector<uint8_t> blob(sizeof(h));
    std::memcpy(blob.data(), &h, sizeof(h));
    blob.insert(blob.end(), rest.begin(), rest.end());
    if (!rest.empty()) blob.back() = 0;  // the strings end in a NUL
    WriteFile(g_files + "/fuzz.btf", blob.data(), blob.size());
    WriteFile(g_files + "/pkt", rest.data(), rest.size());
    WriteFile(g_files + "/ctx", rest.data(),
              std::min<size_t>(rest.size(), 192));
    unlink((g_files + "/out").c_str());
  }
  for (std::string& a : args) {
    if (a.starts_with("@DIR")) a = g_files + a.substr(4);
  }
  // A run repeated billions of times is a hang, not a finding (the kernel
  // would run as long): `repeat` (or an abbreviation, as bpftool takes
  // one) with more than three digits is skipped. Standard input ("-" after
  // data_in / ctx_in or their unambiguous abbreviations) is not the
  // fuzzer's to read.
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const std::string& w = args[i];
    const bool repeat = !w.empty() && std::string("repeat").starts_with(w);
    if (repeat && args[i + 1].size() > 3) return 0;
    const bool input =
        (w.starts_with("data_i") && std::string("data_in").starts_with(w)) ||
        (w.starts_with("ctx_i") && std::string("ctx_in").starts_with(w));
    if (input && args[i + 1] == "-") return 0;
  }
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  FILE* out = open_memstream(&out_buf, &out_len);
  FILE* err = open_memstream(&err_buf, &err_len);
  // `data_out NAME` writes NAME relative to the working directory: run in
  // the scratch directory, so no input leaves files beside the sources
  // (one named `map` once shadowed <map> for the next clang build).
  const int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK(cwd >= 0);
  FUZZ_CHECK(chdir(g_files.c_str()) == 0);
  const int rc = bpfemu::cli::Run(args, out, err);
  FUZZ_CHECK(fchdir(cwd) == 0);
  close(cwd);
  std::fclose(out);
  std::fclose(err);
  const std::string o(out_buf, out_len), e(err_buf, err_len);
  free(out_buf);
  free(err_buf);
  FUZZ_CHECK(rc >= 0 && rc <= 255);
  if (rc != 0 && rc != 254) {
    // Every failure says why: an error line, or the count (JSON: the
    // array) a dump ends with when the map refuses the walk, which is all
    // bpftool prints there.
    const bool dump_count = o.ends_with(" elements\n") ||
                            o.ends_with(" element\n") ||
                            (o.starts_with("[") && o.ends_with("]\n"));
    // The JSON error object, compact or pretty-printed (-p), as bpftool's
    // p_err writes it.
    const bool says_why =
        !e.empty() || o.find("{\"error\":\"") != std::string::npos ||
        o.find("{\n    \"error\": \"") != std::string::npos || dump_count;
    if (!says_why) {
      std::fprintf(stderr, "exit %d without a reason; stdout: %s\nargs:", rc,
                   o.c_str());
      for (const std::string& a : args)
        std::fprintf(stderr, " [%s]", a.c_str());
      std::fprintf(stderr, "\n");
    }
    FUZZ_CHECK(says_why);
  }
  FUZZ_CHECK(NoRawControlBytes(o));
  FUZZ_CHECK(NoRawControlBytes(e));
  // Files the input wrote in the scratch directory (`data_out NAME`).
  if (DIR* d = opendir(g_files.c_str())) {
    std::vector<std::string> extra;
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != ".." && n != "btf" && n != "obj.o" &&
          n != "fuzz.btf" && n != "pkt" && n != "ctx") {
        extra.push_back(n);
      }
    }
    closedir(d);
    const int dir = open(g_files.c_str(), O_RDONLY | O_DIRECTORY);
    FUZZ_CHECK(dir >= 0);
    for (const std::string& n : extra) RemoveTree(dir, n.c_str());
    close(dir);
  }
  // Pins the input created (`map pin`), removed so the tree stays small.
  for (const std::string& name : TopLevel()) {
    if (g_initial.contains(name)) continue;
    const int dir = open(g_dir.c_str(), O_RDONLY | O_DIRECTORY);
    FUZZ_CHECK(dir >= 0);
    RemoveTree(dir, name.c_str());
    close(dir);
  }
  return 0;
}
