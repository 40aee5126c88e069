// SPDX-License-Identifier: Apache-2.0
// bpfemu: a command in bpftool's shape for emulated maps (bpftool 7.x's
// map subcommands, src/map.c): the same arguments, the same plain-text and
// JSON (-j) output, the same error lines and exit codes, over maps pinned on
// the emulated bpffs (emu/bpffs.h), so one process can inspect the maps
// another one pinned.
//
//   bpfemu [-j] kernel
//   bpfemu [-j] map { list | show [pinned PATH | id ID] }
//   bpfemu [-j] map dump pinned PATH
//   bpfemu [-j] map lookup MAP [key BYTES]
//   bpfemu map update MAP [key BYTES] [value BYTES] [any|exist|noexist]
//   bpfemu map delete MAP key BYTES
//   bpfemu [-j] map getnext MAP [key BYTES]
//   bpfemu [-j] map { peek | pop | dequeue } MAP      (queue, stack)
//   bpfemu map { push | enqueue } MAP value BYTES     (queue, stack, bloom)
//   bpfemu map freeze MAP
//   bpfemu map pin pinned PATH NEWPATH
//   bpfemu [-j] btf dump { file FILE | map MAP [key|value|kv|all] | id ID }
//        [format { raw | c }]
//   bpfemu [-j] prog { show | list } OBJECT [PROG_NAME]
//   bpfemu [-j] prog run OBJECT PROG_NAME [data_in FILE] [data_out FILE]
//        [data_size_out L] [ctx_in FILE] [ctx_out FILE] [ctx_size_out M]
//        [repeat N]
//
// BYTES are bytes in decimal (or 0x-prefixed), or after the word `hex`,
// hexadecimal - as bpftool parses them. `map list` shows the maps pinned
// on the emulated bpffs (bpftool lists every map of the system; emulated
// maps are only reachable by their pins). `kernel` (bpfemu's own) shows
// the kernel version and build profile the emulator imitates.
//
// `btf dump file` is bpftool 7.1's (src/btf.c do_dump, dump_btf_raw,
// dump_btf_c): a raw BTF file or an ELF object's .BTF, printed raw (plain
// or JSON) or as C through loader/btf_dump.h. `prog run` is bpftool's
// (src/prog.c do_run) with the program named by an object file, which is
// loaded (loader/object.h), and a program name instead of id / pin / tag:
// an emulated program exists only inside the process that loaded it. The
// run is BPF_PROG_TEST_RUN (loader/test_run.h TestRun).
//
// `-p` prints the JSON of `-j` indented, as bpftool's pretty writer does
// (cli/btf_value.h PrettyJson). A map created with BTF (btf_fd and type
// ids: every map libbpf creates from an object) shows its `btf_id`, and its
// elements print through the BTF as bpftool's btf_dumper prints them: a
// "formatted" member in JSON, and in plain text an indented JSON document
// instead of hex bytes. The BTF comes with the map's file (emu/btf.h
// MapBtf), so it is there for maps another process created.
//
// Input is parsed strictly: ids and bytes with trailing junk, a sign or
// out of range are refused (bpftool truncates `key 256` to 0 and an id above
// UINT32_MAX modulo 2^32; bpfemu refuses both with bpftool's own message).
// Every nonzero exit prints an error; strings in JSON are escaped and bytes
// outside printable ASCII in plain text are shown as \xNN (names and paths
// come from files another user may have written). The command runs
// in-process through bpfemu::cli::Run (cli/cli.h) so it can be fuzzed
// (fuzz/cli_fuzzer.cc); cli/bpfemu_main.cc is the binary.

#include "cli/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "cli/btf_value.h"
#include "emu/bpffs.h"
#include "emu/btf.h"
#include "emu/build_profile.h"
#include "emu/cpu.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "loader/btf.h"
#include "loader/btf_dump.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/test_run.h"

namespace bpfemu::cli {
namespace {

// One invocation's state (Run() resets it).
bool g_json = false;
FILE* g_out = stdout;
FILE* g_err = stderr;
bool g_reported = false;  // an error or usage was printed

// A JSON string literal's contents: quotes, backslashes and control bytes
// escaped, bytes >= 0x7f as \u00XX so the output stays valid UTF-8.
std::string JsonEscape(const std::string& s) {
  std::string o;
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\t') {
      o += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppendFormat(&o, "\\u%04x", c);
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

// Plain text for a terminal: bytes outside printable ASCII as \xNN, so a
// crafted name or path cannot send escape sequences.
std::string Printable(const std::string& s) {
  std::string o;
  for (const unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      absl::StrAppendFormat(&o, "\\x%02x", c);
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

// bpftool's p_err(): "Error: ..." on stderr (or a JSON error object).
void Error(const std::string& msg) {
  g_reported = true;
  if (g_json) {
    std::fprintf(g_out, "{\"error\":\"%s\"}\n", JsonEscape(msg).c_str());
  } else {
    std::fprintf(g_err, "Error: %s\n", Printable(msg).c_str());
  }
}

// strtoul() without its leniencies: no sign, no leading space, the whole
// string, at most `max`. `base` 0 takes 0x.. and 0.. as C does.
bool ParseUnsigned(const std::string& s, int base, unsigned long long max,
                   unsigned long long* out) {
  if (s.empty() || !std::isxdigit(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, base);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

// An id as bpftool's map_parse_fd() reads it: "can't parse X as ID".
bool ParseId(const std::string& s, uint32_t* id) {
  unsigned long long v;
  if (!ParseUnsigned(s, 0, UINT32_MAX, &v)) {
    Error(absl::StrFormat("can't parse %s as ID", s));
    return false;
  }
  *id = static_cast<uint32_t>(v);
  return true;
}

const char* TypeName(uint32_t type) {
  static const char* const kNames[] = {
      "unspec",
      "hash",
      "array",
      "prog_array",
      "perf_event_array",
      "percpu_hash",
      "percpu_array",
      "stack_trace",
      "cgroup_array",
      "lru_hash",
      "lru_percpu_hash",
      "lpm_trie",
      "array_of_maps",
      "hash_of_maps",
      "devmap",
      "sockmap",
      "cpumap",
      "xskmap",
      "sockhash",
      "cgroup_storage",
      "reuseport_sockarray",
      "percpu_cgroup_storage",
      "queue",
      "stack",
      "sk_storage",
      "devmap_hash",
      "struct_ops",
      "ringbuf",
      "inode_storage",
      "task_storage",
      "bloom_filter",
      "user_ringbuf",
      "cgrp_storage",
  };
  return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : "unknown";
}

// bpftool's map_is_per_cpu().
bool IsPercpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

struct OpenMap {
  int fd = -1;
  BpfMapInfo info = {};
  ~OpenMap() {
    if (fd >= 0) CloseFd(fd);
  }
  // The map's key and value BTF (bpftool's get_map_kv_btf), once loaded.
  std::unique_ptr<native::BtfData> btf;
  BtfElem elem = {};
  bool btf_loaded = false;
};

// The BTF to print the map's elements with, or nullptr: none, or a blob
// that does not parse or does not describe the map's sizes (a map file
// crafted by another user; its elements print as bytes).
const BtfElem* MapKvBtf(OpenMap& m) {
  if (!m.btf_loaded) {
    m.btf_loaded = true;
    MapBtfIdsOut ids;
    std::vector<uint8_t> blob;
    if (m.info.btf_value_type_id != 0 && MapBtf(m.fd, m.info.id, &ids, &blob) &&
        native::BtfData::Parse(blob, nullptr, &m.btf) == 0) {
      m.elem =
          BtfElem{m.btf.get(), m.info.btf_key_type_id, m.info.btf_value_type_id,
                  m.info.key_size, m.info.value_size};
      if (!BtfElemFits(m.elem)) m.btf.reset();
    }
  }
  return m.btf != nullptr ? &m.elem : nullptr;
}

// Opens a pinned map the way bpftool's map_parse_fd() does.
int OpenPinned(const std::string& path, OpenMap* m) {
  m->fd = ObjGet(path.c_str());
  if (m->fd < 0) {
    Error(absl::StrFormat("bpf obj get (%s): %s", path, strerror(-m->fd)));
    return -1;
  }
  uint32_t len = sizeof(m->info);
  if (int err = MapGetInfoByFd(m->fd, &m->info, &len); err != 0) {
    Error(absl::StrFormat("can't get map info (%s): %s", path, strerror(-err)));
    return -1;
  }
  return 0;
}

// fprint_hex(): 16 bytes per line, an extra space after every 8.
std::string HexBytes(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const char* sep = i == 0        ? ""
                      : i % 16 == 0 ? "\n"
                      : i % 8 == 0  ? "  "
                                    : " ";
    absl::StrAppendFormat(&s, "%s%02x", sep, p[i]);
  }
  return s;
}

std::string JsonBytes(const uint8_t* p, size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppendFormat(&s, "%s\"0x%02x\"", i == 0 ? "" : ",", p[i]);
  }
  return s + "]";
}

void Show(const BpfMapInfo& info, int fd) {
  // The name comes from the map's file: bounded and escaped.
  const std::string name(info.name, strnlen(info.name, sizeof(info.name)));
  const int64_t memlock = MapMemlock(fd);
  // fdinfo's "frozen:" (BPF_MAP_FREEZE), as bpftool reads it.
  const int frozen = std::max(MapFrozen(fd), 0);
  if (g_json) {
    std::fprintf(g_out,
                 "{\"id\":%u,\"type\":\"%s\",\"name\":\"%s\",\"flags\":%u,"
                 "\"bytes_key\":%u,\"bytes_value\":%u,\"max_entries\":%u,"
                 "\"bytes_memlock\":%lld,\"frozen\":%d",
                 info.id, TypeName(info.type), JsonEscape(name).c_str(),
                 info.map_flags, info.key_size, info.value_size,
                 info.max_entries, static_cast<long long>(memlock), frozen);
    if (info.btf_id != 0) std::fprintf(g_out, ",\"btf_id\":%u", info.btf_id);
    std::fprintf(g_out, "}");
    return;
  }
  std::fprintf(g_out, "%u: %s  name %s  flags 0x%x\n", info.id,
               TypeName(info.type), Printable(name).c_str(), info.map_flags);
  std::fprintf(g_out, "\tkey %uB  value %uB  max_entries %u  memlock %lldB\n",
               info.key_size, info.value_size, info.max_entries,
               static_cast<long long>(memlock));
  // bpftool's show_map_close_plain(): one more line for the BTF id and
  // "frozen".
  if (info.btf_id != 0 || frozen) std::fprintf(g_out, "\t");
  if (info.btf_id != 0) std::fprintf(g_out, "btf_id %d", info.btf_id);
  if (frozen) std::fprintf(g_out, "%sfrozen", info.btf_id != 0 ? "  " : "");
  if (info.btf_id != 0 || frozen) std::fprintf(g_out, "\n");
}

// bpftool's "formatted" member of a JSON element (do_dump_btf with
// is_plain_text off).
std::string Formatted(const BpfMapInfo& info, const BtfElem* btf,
                      const uint8_t* key, const uint8_t* value) {
  if (btf == nullptr) return "";
  std::string out = ",\"formatted\":";
  JsonWriter w(&out, false);
  DumpBtfElem(w, *btf, key, value, IsPercpu(info.type), NumPossibleCpus(),
              (info.value_size + 7) & ~size_t{7}, false);
  return out;
}

// One element as bpftool prints it (print_entry_plain / print_entry_json),
// or, in plain text for a map with BTF, through `btf_out` (the pretty
// writer of bpftool's plain BTF dumps).
void PrintEntry(const BpfMapInfo& info, const uint8_t* key,
                const uint8_t* value, bool first, const BtfElem* btf = nullptr,
                JsonWriter* btf_out = nullptr) {
  const size_t ks = info.key_size;
  if (!g_json && btf != nullptr && btf_out != nullptr) {
    DumpBtfElem(*btf_out, *btf, key, value, IsPercpu(info.type),
                NumPossibleCpus(), (info.value_size + 7) & ~size_t{7}, true);
    return;
  }
  if (!IsPercpu(info.type)) {
    if (g_json) {
      std::fprintf(g_out, "%s{\"key\":%s,\"value\":%s%s}", first ? "" : ",",
                   JsonBytes(key, ks).c_str(),
                   JsonBytes(value, info.value_size).c_str(),
                   Formatted(info, btf, key, value).c_str());
    } else {
      // bpftool's layout: names on their own lines past 16 bytes, one line
      // when key and value fit in 24 bytes.
      const bool break_names = ks > 16 || info.value_size > 16;
      const bool single_line = ks + info.value_size <= 24 && !break_names;
      if (ks != 0) {
        std::fprintf(g_out, "key:%c%s%s", break_names ? '\n' : ' ',
                     HexBytes(key, ks).c_str(), single_line ? "  " : "\n");
      }
      if (info.value_size != 0) {
        std::fprintf(g_out, "value:%c%s", break_names ? '\n' : ' ',
                     HexBytes(value, info.value_size).c_str());
      }
      std::fprintf(g_out, "\n");
    }
    return;
  }
  const size_t step = (info.value_size + 7) & ~size_t{7};
  const int ncpus = NumPossibleCpus();
  if (g_json) {
    std::fprintf(g_out, "%s{\"key\":%s,\"values\":[", first ? "" : ",",
                 JsonBytes(key, ks).c_str());
    for (int c = 0; c < ncpus; ++c) {
      std::fprintf(g_out, "%s{\"cpu\":%d,\"value\":%s}", c == 0 ? "" : ",", c,
                   JsonBytes(value + c * step, info.value_size).c_str());
    }
    std::fprintf(g_out, "]%s}", Formatted(info, btf, key, value).c_str());
    return;
  }
  std::fprintf(g_out, "key:\n%s\n", HexBytes(key, ks).c_str());
  for (int c = 0; c < ncpus; ++c) {
    std::fprintf(g_out, "value (CPU %02d):%c%s\n", c,
                 info.value_size > 16 ? '\n' : ' ',
                 HexBytes(value + c * step, info.value_size).c_str());
  }
}

// Writes what a pretty writer collected so far, in order with the plain
// text printed around it.
void Flush(std::string* buf) {
  std::fputs(buf->c_str(), g_out);
  buf->clear();
}

size_t SyscallValueSize(const BpfMapInfo& info) {
  return IsPercpu(info.type)
             ? ((info.value_size + 7) & ~size_t{7}) * NumPossibleCpus()
             : info.value_size;
}

bool IsMapOfMapsOrProgs(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
         type == BPF_MAP_TYPE_HASH_OF_MAPS || type == BPF_MAP_TYPE_PROG_ARRAY;
}

// bpftool's print_entry_error(): a key whose value cannot be read (a perf
// event array's ENOTSUPP, an empty slot). Nothing for an empty slot of a
// map of maps or programs.
void PrintEntryError(const BpfMapInfo& info, const uint8_t* key, int err,
                     bool first) {
  const size_t ks = info.key_size;
  if (g_json) {
    std::fprintf(g_out, "%s{\"key\":%s,\"value\":{\"error\":\"%s\"}}",
                 first ? "" : ",", JsonBytes(key, ks).c_str(),
                 JsonEscape(strerror(err)).c_str());
    return;
  }
  const std::string msg = err == ENOENT ? "<no entry>" : strerror(err);
  const bool break_names = ks > 16 || msg.size() > 16;
  const bool single_line = ks + msg.size() <= 24 && !break_names;
  std::fprintf(g_out, "key:%c%s%svalue:%c%s\n", break_names ? '\n' : ' ',
               HexBytes(key, ks).c_str(), single_line ? "  " : "\n",
               break_names ? '\n' : ' ', msg.c_str());
}

// bpftool's map_dump(): every key get_next_key reaches, a value or the
// error reading it, then the count of values read. A walk that ends in
// anything but ENOENT (keyless maps refuse it) exits with that errno after
// the count, which is all bpftool prints.
int Dump(const std::string& path) {
  OpenMap m;
  if (OpenPinned(path, &m) != 0) return 255;
  std::vector<uint8_t> key(m.info.key_size), next(m.info.key_size);
  std::vector<uint8_t> value(SyscallValueSize(m.info));
  const void* prev = nullptr;
  int n = 0, printed = 0, walk_err;
  // A map with BTF prints in plain text through bpftool's pretty writer.
  const BtfElem* btf = MapKvBtf(m);
  std::string buf;
  JsonWriter pretty(&buf, true);
  const bool btf_plain = !g_json && btf != nullptr;
  if (g_json) std::fprintf(g_out, "[");
  if (btf_plain) pretty.StartArray();
  while ((walk_err = MapGetNextKey(m.fd, prev, next.data())) == 0) {
    key = next;
    prev = key.data();
    if (int err = MapLookupElem(m.fd, key.data(), value.data()); err != 0) {
      if (IsMapOfMapsOrProgs(m.info.type) && err == -ENOENT) continue;
      Flush(&buf);
      PrintEntryError(m.info, key.data(), -err, printed++ == 0);
      continue;
    }
    PrintEntry(m.info, key.data(), value.data(), printed++ == 0, btf, &pretty);
    ++n;
  }
  if (g_json) {
    std::fprintf(g_out, "]\n");
  } else if (btf_plain) {
    pretty.EndArray();
    buf += '\n';
    Flush(&buf);
  } else {
    std::fprintf(g_out, "Found %d element%s\n", n, n == 1 ? "" : "s");
  }
  if (walk_err == -ENOENT) return 0;
  g_reported = true;  // the count is bpftool's whole report
  return walk_err & 0xff;
}

// print_key_value(): one element, through the map's BTF when it has one
// (a pretty writer of its own in plain text).
void PrintKeyValue(OpenMap& m, const uint8_t* key, const uint8_t* value) {
  std::string buf;
  JsonWriter pretty(&buf, true);
  PrintEntry(m.info, key, value, true, MapKvBtf(m), &pretty);
  if (!buf.empty()) {
    buf += '\n';
    Flush(&buf);
  }
  if (g_json) std::fprintf(g_out, "\n");
}

// parse_bytes(): decimal or 0x-prefixed bytes, or hex after `hex`.
bool ParseBytes(std::vector<std::string>& args, size_t* i, size_t n,
                const char* what, std::vector<uint8_t>* out) {
  out->assign(n, 0);
  bool hex = false;
  if (*i < args.size() && args[*i] == "hex") {
    hex = true;
    ++*i;
  }
  for (size_t b = 0; b < n; ++b, ++*i) {
    if (*i >= args.size()) {
      Error(absl::StrFormat("%s expected %zu bytes got %zu", what, n, b));
      return false;
    }
    unsigned long long v;
    if (!ParseUnsigned(args[*i], hex ? 16 : 0, 255, &v)) {
      Error(absl::StrFormat("error parsing byte: %s", args[*i]));
      return false;
    }
    (*out)[b] = static_cast<uint8_t>(v);
  }
  return true;
}

// The pinned maps on the emulated bpffs, by virtual path.
void WalkPins(const std::string& dir, const std::string& virt,
              std::vector<std::string>* out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    // .ids: the id counters; .byid-<euid>: the links of maps held by
    // map-in-map slots (emu/map_in_map.h), not pins.
    if (name == "." || name == ".." || name == ".ids" ||
        name.rfind(".byid-", 0) == 0) {
      continue;
    }
    const std::string real = dir + "/" + name;
    struct stat st;
    if (lstat(real.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      WalkPins(real, virt + "/" + name, out);
    } else if (S_ISREG(st.st_mode)) {
      out->push_back(virt + "/" + name);
    }
  }
  closedir(d);
}

// The first pin on the emulated bpffs whose map `match` accepts (the map
// opened, its info read), or "".
std::string FindPin(const std::function<bool(OpenMap&)>& match) {
  std::vector<std::string> paths;
  WalkPins(BpffsStorage(), BpffsMount(), &paths);
  for (const std::string& p : paths) {
    OpenMap m;
    m.fd = ObjGet(p.c_str());
    uint32_t len = sizeof(m.info);
    if (m.fd >= 0 && MapGetInfoByFd(m.fd, &m.info, &len) == 0 && match(m)) {
      return p;
    }
  }
  return "";
}

// The first pin of the map with this id ("" when none).
std::string PinOfId(uint32_t id) {
  return FindPin([id](OpenMap& m) { return m.info.id == id; });
}

// MAP as bpftool's map_parse_fd() reads it: `pinned PATH` or `id ID` (an
// emulated map is found by id through its pins). The map's path, or false
// with the error printed.
bool ParseMapRef(std::vector<std::string>& args, size_t* i, std::string* path) {
  if (*i + 1 >= args.size()) {
    Error("expected MAP: 'id ID' or 'pinned PATH'");
    return false;
  }
  const std::string& kind = args[*i];
  if (kind == "pinned") {
    *path = args[*i + 1];
  } else if (kind == "id") {
    uint32_t id;
    if (!ParseId(args[*i + 1], &id)) return false;
    *path = PinOfId(id);
    if (path->empty()) {
      Error(absl::StrFormat("get map by id (%u): %s", id, strerror(ENOENT)));
      return false;
    }
  } else if (kind == "name") {
    Error("'name' is not supported: emulated maps are reached by pin or id");
    return false;
  } else {
    Error(
        absl::StrFormat("expected 'id', 'name' or 'pinned', got: '%s'?", kind));
    return false;
  }
  *i += 2;
  return true;
}

// `map show|list [MAP]` (bpftool's do_show()).
int ListOrShow(std::vector<std::string>& args, size_t i) {
  std::vector<std::string> paths;
  const bool one = i < args.size();
  if (one) {
    if (args.size() - i != 2) {
      Error(absl::StrFormat("what is '%s'?", args[i]));
      return 255;
    }
    std::string path;
    if (!ParseMapRef(args, &i, &path)) return 255;
    paths.push_back(path);
  } else {
    WalkPins(BpffsStorage(), BpffsMount(), &paths);
  }
  if (!one) {
    // A storage directory another user could subvert is refused, loudly.
    const int dir = BpffsStorageFd();
    if (dir < 0) {
      Error(absl::StrFormat("storage directory %s: %s", BpffsStorage(),
                            strerror(-dir)));
      return 255;
    }
    close(dir);
  }
  std::map<uint32_t, bool> seen;
  bool first = true;
  if (g_json && !one) std::fprintf(g_out, "[");
  for (const std::string& p : paths) {
    OpenMap m;
    if (one) {
      if (OpenPinned(p, &m) != 0) return 255;
    } else {
      m.fd = ObjGet(p.c_str());
      uint32_t len = sizeof(m.info);
      if (m.fd < 0 || MapGetInfoByFd(m.fd, &m.info, &len) != 0) continue;
    }
    if (seen[m.info.id]) continue;
    seen[m.info.id] = true;
    if (g_json && !first) std::fprintf(g_out, ",");
    Show(m.info, m.fd);
    first = false;
  }
  if (g_json) std::fprintf(g_out, one ? "\n" : "]\n");
  return 0;
}

// bpftool's is_prefix(): `word` abbreviates `full` (as bpftool, the empty
// word does too).
bool IsPrefix(const std::string& word, const char* full) {
  return word.size() <= std::strlen(full) &&
         std::strncmp(full, word.c_str(), word.size()) == 0;
}

// bpftool's parse_elem(): `key BYTES`, `value BYTES` and an update flag, in
// any order, from args[i] on. A null `key`, `value` or `flags` is one the
// command does not take (or already has). A per-CPU value is given once
// and stored for every CPU (fill_per_cpu_value). False with the error
// printed on bad input.
bool ParseElem(std::vector<std::string>& args, size_t i, const BpfMapInfo& info,
               std::vector<uint8_t>* key, std::vector<uint8_t>* value,
               uint64_t* flags) {
  for (;; ++i) {
    if (i >= args.size()) {
      if (key == nullptr && value == nullptr) return true;
      Error(absl::StrFormat("did not find %s", key ? "key" : "value"));
      return false;
    }
    const std::string& a = args[i];
    if (IsPrefix(a, "key")) {
      if (key == nullptr) {
        Error(info.key_size ? "duplicate key" : "unnecessary key");
        return false;
      }
      ++i;
      if (!ParseBytes(args, &i, info.key_size, "key", key)) return false;
      key = nullptr;
      --i;
    } else if (IsPrefix(a, "value")) {
      if (value == nullptr) {
        Error(info.value_size ? "duplicate value" : "unnecessary value");
        return false;
      }
      ++i;
      std::vector<uint8_t> one;
      if (!ParseBytes(args, &i, info.value_size, "value", &one)) return false;
      value->assign(SyscallValueSize(info), 0);
      const bool percpu = IsPercpu(info.type);
      const size_t step = (info.value_size + 7) & ~size_t{7};
      for (int cpu = 0; cpu < (percpu ? NumPossibleCpus() : 1); ++cpu) {
        std::copy(one.begin(), one.end(), value->begin() + cpu * step);
      }
      value = nullptr;
      --i;
    } else if (IsPrefix(a, "any") || IsPrefix(a, "noexist") ||
               IsPrefix(a, "exist")) {
      if (flags == nullptr) {
        Error(absl::StrFormat("flags specified multiple times: %s", a));
        return false;
      }
      *flags = IsPrefix(a, "any")       ? BPF_ANY
               : IsPrefix(a, "noexist") ? BPF_NOEXIST
                                        : BPF_EXIST;
      flags = nullptr;
    } else {
      Error(absl::StrFormat("expected key or value, got: %s", a));
      return false;
    }
  }
}

// `MAP` at args[*i], opened. False with the error printed.
bool OpenRef(std::vector<std::string>& args, size_t* i, OpenMap* m) {
  std::string path;
  return ParseMapRef(args, i, &path) && OpenPinned(path, m) == 0;
}

// `lookup|peek MAP [key BYTES]` (bpftool's do_lookup). A keyless map
// (queue, stack) takes no key and peeks.
int Lookup(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  if (!OpenRef(args, &i, &m)) return 255;
  std::vector<uint8_t> key, value(SyscallValueSize(m.info));
  if (!ParseElem(args, i, m.info, m.info.key_size ? &key : nullptr, nullptr,
                 nullptr)) {
    return 255;
  }
  const int err =
      MapLookupElem(m.fd, key.empty() ? nullptr : key.data(), value.data());
  if (err == -ENOENT) {
    if (g_json) {
      std::fprintf(g_out, "null\n");
    } else {
      std::fprintf(g_out, "key:\n%s\n\nNot found\n",
                   HexBytes(key.data(), key.size()).c_str());
    }
    return 254;  // bpftool exits with -ENOENT
  }
  if (err != 0) {
    Error(absl::StrFormat("lookup failed: %s", strerror(-err)));
    return err & 0xff;
  }
  PrintKeyValue(m, key.data(), value.data());
  return 0;
}

// `update|push|enqueue MAP [key BYTES] [value BYTES] [any|exist|noexist]`
// (bpftool's do_update).
int Update(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  if (!OpenRef(args, &i, &m)) return 255;
  std::vector<uint8_t> key, value;
  uint64_t flags = BPF_ANY;
  if (!ParseElem(args, i, m.info, m.info.key_size ? &key : nullptr,
                 m.info.value_size ? &value : nullptr, &flags)) {
    return 255;
  }
  const int err = MapUpdateElem(m.fd, key.empty() ? nullptr : key.data(),
                                value.empty() ? nullptr : value.data(), flags);
  if (err != 0) {
    Error(absl::StrFormat("update failed: %s", strerror(-err)));
    return err & 0xff;
  }
  if (g_json) std::fprintf(g_out, "null\n");
  return 0;
}

// `delete MAP key BYTES` (bpftool's do_delete: a key is always required).
int Delete(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  if (!OpenRef(args, &i, &m)) return 255;
  std::vector<uint8_t> key;
  if (!ParseElem(args, i, m.info, &key, nullptr, nullptr)) return 255;
  const int err = MapDeleteElem(m.fd, key.data());
  if (err != 0) {
    Error(absl::StrFormat("delete failed: %s", strerror(-err)));
    return err & 0xff;
  }
  if (g_json) std::fprintf(g_out, "null\n");
  return 0;
}

// `pop|dequeue MAP` (bpftool's do_pop_dequeue: lookup_and_delete; words
// after MAP are ignored, as bpftool ignores them).
int Pop(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  if (!OpenRef(args, &i, &m)) return 255;
  std::vector<uint8_t> key(m.info.key_size), value(SyscallValueSize(m.info));
  const int err = MapLookupAndDeleteElem(
      m.fd, key.empty() ? nullptr : key.data(), value.data(), 0);
  if (err == -ENOENT) {
    std::fprintf(g_out, g_json ? "null\n" : "Error: empty map\n");
    g_reported = true;
    return 254;
  }
  if (err != 0) {
    Error(absl::StrFormat("pop failed: %s", strerror(-err)));
    return err & 0xff;
  }
  PrintKeyValue(m, key.data(), value.data());
  return 0;
}

// `getnext MAP [key BYTES]` (bpftool's do_getnext).
int GetNext(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  if (!OpenRef(args, &i, &m)) return 255;
  std::vector<uint8_t> key(m.info.key_size), next(m.info.key_size);
  const bool have_key = i < args.size();
  if (have_key && !ParseElem(args, i, m.info, &key, nullptr, nullptr)) {
    return 255;
  }
  const int err =
      MapGetNextKey(m.fd, have_key ? key.data() : nullptr, next.data());
  if (err != 0) {
    Error(absl::StrFormat("can't get next key: %s", strerror(-err)));
    return err & 0xff;
  }
  const std::string next_hex = HexBytes(next.data(), next.size());
  if (g_json) {
    std::fprintf(g_out, "{\"key\":%s,\"next_key\":%s}\n",
                 have_key ? JsonBytes(key.data(), key.size()).c_str() : "null",
                 JsonBytes(next.data(), next.size()).c_str());
  } else if (have_key) {
    std::fprintf(g_out, "key:\n%s\nnext key:\n%s\n",
                 HexBytes(key.data(), key.size()).c_str(), next_hex.c_str());
  } else {
    std::fprintf(g_out, "key: None\nnext key:\n%s\n", next_hex.c_str());
  }
  return 0;
}

// `freeze MAP` (bpftool's do_freeze).
int Freeze(std::vector<std::string>& args, size_t i) {
  if (args.size() - i < 2) {
    Error(absl::StrFormat("'freeze' needs at least 2 arguments, %zu found",
                          args.size() - i));
    return 255;
  }
  OpenMap m;
  if (!OpenRef(args, &i, &m)) return 255;
  if (i < args.size()) {
    Error(absl::StrFormat("what is '%s'?", args[i]));
    return 255;
  }
  if (const int err = MapFreeze(m.fd); err != 0) {
    Error(absl::StrFormat("failed to freeze map: %s", strerror(-err)));
    return err & 0xff;
  }
  if (g_json) std::fprintf(g_out, "null\n");
  return 0;
}

int Pin(std::vector<std::string>& args, size_t i) {
  if (args.size() - i < 3) {
    Error(absl::StrFormat("'pin' needs at least 3 arguments, %zu found",
                          args.size() - i));
    return 234;  // bpftool: -EINVAL
  }
  std::string path;
  if (!ParseMapRef(args, &i, &path)) return 255;
  if (i + 1 < args.size()) {
    Error(absl::StrFormat("unexpected argument: %s", args[i + 1]));
    return 255;
  }
  OpenMap m;
  if (OpenPinned(path, &m) != 0) return 255;
  const int err = ObjPin(m.fd, args[i].c_str());
  if (err != 0) {
    Error(absl::StrFormat("can't pin the object (%s): %s", args[i],
                          strerror(-err)));
    return 255;
  }
  if (g_json) std::fprintf(g_out, "null\n");
  return 0;
}

// `bpfemu kernel`: the kernel the emulator imitates: the target version
// (BPFEMU_KERNEL) and the build profile in force (BPFEMU_KERNEL_BUILD,
// emu/build_profile.h), with where it came from.
int ShowKernel() {
  const KernelVersion v = TargetKernel();
  const BuildProfile p = BuildProfileFor(v);
  if (g_json) {
    std::string fields;
    for (const BuildProfileField& f : kBuildProfileFields) {
      absl::StrAppendFormat(&fields, "%s\"%s\":%u", fields.empty() ? "" : ",",
                            f.name, p.*(f.member));
    }
    std::fprintf(
        g_out,
        "{\"version\":\"%s\",\"possible_cpus\":%d,\"build_profile\":{%s},"
        "\"build_profile_source\":\"%s\"}\n",
        KernelVersionName(v), NumPossibleCpus(), fields.c_str(),
        BuildProfileSource());
    return 0;
  }
  std::fprintf(g_out, "version %s  possible_cpus %d\n", KernelVersionName(v),
               NumPossibleCpus());
  std::fprintf(g_out, "build profile (%s): %s\n", BuildProfileSource(),
               FormatBuildProfile(p).c_str());
  return 0;
}

// ---- btf dump file ------------------------------------------------------

// bpftool's btf_kind_str[] (tools/bpf/bpftool/btf.c).
const char* BtfKindName(uint32_t kind) {
  static const char* const kKinds[] = {
      "UNKNOWN", "INT",      "PTR",      "ARRAY",      "STRUCT",
      "UNION",   "ENUM",     "FWD",      "TYPEDEF",    "VOLATILE",
      "CONST",   "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR",
      "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG",   "ENUM64",
  };
  return kind < sizeof(kKinds) / sizeof(kKinds[0]) ? kKinds[kind] : "UNKNOWN";
}

const char* IntEncoding(uint32_t enc) {
  switch (enc) {
    case 0:
      return "(none)";
    case BTF_INT_SIGNED:
      return "SIGNED";
    case BTF_INT_CHAR:
      return "CHAR";
    case BTF_INT_BOOL:
      return "BOOL";
    default:
      return "UNKN";
  }
}

// btf_func_linkage_str() / btf_var_linkage_str(): the same words.
const char* Linkage(uint32_t l) {
  switch (l) {
    case 0:
      return "static";
    case 1:
      return "global";
    case 2:
      return "extern";
    default:
      return "(unknown)";
  }
}

// btf_str(): "(anon)" for offset 0, "(invalid)" past the strings.
std::string BtfStr(const native::BtfData& btf, uint32_t off) {
  if (off == 0) return "(anon)";
  const char* s = btf.Str(off);
  return s ? s : "(invalid)";
}

// A JSON field: ,"name":value (the first of an object without the comma).
class JsonObject {
 public:
  // `open`: start the object (false: a plain-text caller that never adds
  // a field).
  explicit JsonObject(std::string* out, bool open = true) : out_(out) {
    if (open) *out_ += '{';
  }
  void Str(const char* name, const std::string& v) {
    Key(name);
    *out_ += '"' + JsonEscape(v) + '"';
  }
  void Uint(const char* name, unsigned long long v) {
    Key(name);
    absl::StrAppendFormat(out_, "%llu", v);
  }
  void Int(const char* name, long long v) {
    Key(name);
    absl::StrAppendFormat(out_, "%lld", v);
  }
  void Raw(const char* name, const std::string& v) {
    Key(name);
    *out_ += v;
  }
  void End() { *out_ += '}'; }

 private:
  void Key(const char* name) {
    if (!first_) *out_ += ',';
    first_ = false;
    absl::StrAppendFormat(out_, "\"%s\":", name);
  }
  std::string* out_;
  bool first_ = true;
};

// One type as bpftool's dump_btf_type() prints it (plain: a line and one
// more per member; JSON: an object).
std::string RawType(const native::BtfData& btf, uint32_t id) {
  const btf_type* t = btf.Type(id);
  const uint32_t kind = native::BtfKind(t);
  const uint16_t vlen = native::BtfVlen(t);
  const bool kflag = native::BtfKflag(t);
  std::string s;
  JsonObject j(&s, g_json);
  const std::string name = BtfStr(btf, t->name_off);
  if (g_json) {
    j.Uint("id", id);
    j.Str("kind", BtfKindName(kind));
    j.Str("name", name);
  } else {
    absl::StrAppendFormat(&s, "[%u] %s '%s'", id, BtfKindName(kind),
                          Printable(name));
  }
  switch (kind) {
    case BTF_KIND_INT: {
      const uint32_t v = *reinterpret_cast<const uint32_t*>(t + 1);
      const char* enc = IntEncoding(BTF_INT_ENCODING(v));
      if (g_json) {
        j.Uint("size", t->size);
        j.Uint("bits_offset", BTF_INT_OFFSET(v));
        j.Uint("nr_bits", BTF_INT_BITS(v));
        j.Str("encoding", enc);
      } else {
        absl::StrAppendFormat(&s,
                              " size=%u bits_offset=%u nr_bits=%u encoding=%s",
                              t->size, BTF_INT_OFFSET(v), BTF_INT_BITS(v), enc);
      }
      break;
    }
    case BTF_KIND_PTR:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_TYPE_TAG:
      if (g_json) {
        j.Uint("type_id", t->type);
      } else {
        absl::StrAppendFormat(&s, " type_id=%u", t->type);
      }
      break;
    case BTF_KIND_ARRAY: {
      const auto* a = reinterpret_cast<const btf_array*>(t + 1);
      if (g_json) {
        j.Uint("type_id", a->type);
        j.Uint("index_type_id", a->index_type);
        j.Uint("nr_elems", a->nelems);
      } else {
        absl::StrAppendFormat(&s, " type_id=%u index_type_id=%u nr_elems=%u",
                              a->type, a->index_type, a->nelems);
      }
      break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      const auto* m = reinterpret_cast<const btf_member*>(t + 1);
      std::string members;
      for (int i = 0; i < vlen; ++i, ++m) {
        const uint32_t off =
            kflag ? BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;
        const uint32_t bits = kflag ? BTF_MEMBER_BITFIELD_SIZE(m->offset) : 0;
        const std::string mname = BtfStr(btf, m->name_off);
        if (g_json) {
          if (i) members += ',';
          JsonObject o(&members);
          o.Str("name", mname);
          o.Uint("type_id", m->type);
          o.Uint("bits_offset", off);
          if (bits) o.Uint("bitfield_size", bits);
          o.End();
        } else {
          absl::StrAppendFormat(&members, "\n\t'%s' type_id=%u bits_offset=%u",
                                Printable(mname), m->type, off);
          if (bits) absl::StrAppendFormat(&members, " bitfield_size=%u", bits);
        }
      }
      if (g_json) {
        j.Uint("size", t->size);
        j.Uint("vlen", vlen);
        j.Raw("members", "[" + members + "]");
      } else {
        absl::StrAppendFormat(&s, " size=%u vlen=%u%s", t->size, vlen, members);
      }
      break;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      const char* enc = kflag ? "SIGNED" : "UNSIGNED";
      std::string values;
      for (int i = 0; i < vlen; ++i) {
        uint32_t name_off;
        uint64_t val;
        if (kind == BTF_KIND_ENUM) {
          const auto* e = reinterpret_cast<const btf_enum*>(t + 1) + i;
          name_off = e->name_off;
          val = kflag ? static_cast<uint64_t>(static_cast<int64_t>(e->val))
                      : static_cast<uint32_t>(e->val);
        } else {
          const auto* e = reinterpret_cast<const btf_enum64*>(t + 1) + i;
          name_off = e->name_off;
          val = (static_cast<uint64_t>(e->val_hi32) << 32) | e->val_lo32;
        }
        const std::string vname = BtfStr(btf, name_off);
        if (g_json) {
          if (i) values += ',';
          JsonObject o(&values);
          o.Str("name", vname);
          if (kflag) {
            o.Int("val", static_cast<int64_t>(val));
          } else if (kind == BTF_KIND_ENUM) {
            // bpftool passes the s32 value to a u64 field: sign-extended.
            o.Uint("val", static_cast<uint64_t>(
                              static_cast<int64_t>(static_cast<int32_t>(val))));
          } else {
            o.Uint("val", val);
          }
          o.End();
        } else if (kind == BTF_KIND_ENUM && kflag) {
          absl::StrAppendFormat(&values, "\n\t'%s' val=%d", Printable(vname),
                                static_cast<int32_t>(val));
        } else if (kind == BTF_KIND_ENUM) {
          absl::StrAppendFormat(&values, "\n\t'%s' val=%u", Printable(vname),
                                static_cast<uint32_t>(val));
        } else if (kflag) {
          absl::StrAppendFormat(&values, "\n\t'%s' val=%lldLL",
                                Printable(vname), static_cast<long long>(val));
        } else {
          absl::StrAppendFormat(&values, "\n\t'%s' val=%lluULL",
                                Printable(vname),
                                static_cast<unsigned long long>(val));
        }
      }
      if (g_json) {
        j.Str("encoding", enc);
        j.Uint("size", t->size);
        j.Uint("vlen", vlen);
        j.Raw("values", "[" + values + "]");
      } else {
        absl::StrAppendFormat(&s, " encoding=%s size=%u vlen=%u%s", enc,
                              t->size, vlen, values);
      }
      break;
    }
    case BTF_KIND_FWD: {
      const char* fwd = kflag ? "union" : "struct";
      if (g_json) {
        j.Str("fwd_kind", fwd);
      } else {
        absl::StrAppendFormat(&s, " fwd_kind=%s", fwd);
      }
      break;
    }
    case BTF_KIND_FUNC: {
      const char* l = Linkage(vlen);
      if (g_json) {
        j.Uint("type_id", t->type);
        j.Str("linkage", l);
      } else {
        absl::StrAppendFormat(&s, " type_id=%u linkage=%s", t->type, l);
      }
      break;
    }
    case BTF_KIND_FUNC_PROTO: {
      const auto* p = reinterpret_cast<const btf_param*>(t + 1);
      std::string params;
      for (int i = 0; i < vlen; ++i, ++p) {
        const std::string pname = BtfStr(btf, p->name_off);
        if (g_json) {
          if (i) params += ',';
          JsonObject o(&params);
          o.Str("name", pname);
          o.Uint("type_id", p->type);
          o.End();
        } else {
          absl::StrAppendFormat(&params, "\n\t'%s' type_id=%u",
                                Printable(pname), p->type);
        }
      }
      if (g_json) {
        j.Uint("ret_type_id", t->type);
        j.Uint("vlen", vlen);
        j.Raw("params", "[" + params + "]");
      } else {
        absl::StrAppendFormat(&s, " ret_type_id=%u vlen=%u%s", t->type, vlen,
                              params);
      }
      break;
    }
    case BTF_KIND_VAR: {
      const auto* v = reinterpret_cast<const btf_var*>(t + 1);
      const char* l = Linkage(v->linkage);
      if (g_json) {
        j.Uint("type_id", t->type);
        j.Str("linkage", l);
      } else {
        absl::StrAppendFormat(&s, " type_id=%u, linkage=%s", t->type, l);
      }
      break;
    }
    case BTF_KIND_DATASEC: {
      const auto* v = reinterpret_cast<const btf_var_secinfo*>(t + 1);
      std::string vars;
      for (int i = 0; i < vlen; ++i, ++v) {
        if (g_json) {
          if (i) vars += ',';
          JsonObject o(&vars);
          o.Uint("type_id", v->type);
          o.Uint("offset", v->offset);
          o.Uint("size", v->size);
          o.End();
        } else {
          absl::StrAppendFormat(&vars, "\n\ttype_id=%u offset=%u size=%u",
                                v->type, v->offset, v->size);
          if (v->type < btf.TypeCnt()) {
            const btf_type* vt = btf.Type(v->type);
            absl::StrAppendFormat(&vars, " (%s '%s')",
                                  BtfKindName(native::BtfKind(vt)),
                                  Printable(BtfStr(btf, vt->name_off)));
          }
        }
      }
      if (g_json) {
        j.Uint("size", t->size);
        j.Uint("vlen", vlen);
        j.Raw("vars", "[" + vars + "]");
      } else {
        absl::StrAppendFormat(&s, " size=%u vlen=%u%s", t->size, vlen, vars);
      }
      break;
    }
    case BTF_KIND_FLOAT:
      if (g_json) {
        j.Uint("size", t->size);
      } else {
        absl::StrAppendFormat(&s, " size=%u", t->size);
      }
      break;
    case BTF_KIND_DECL_TAG: {
      const auto* tag = reinterpret_cast<const btf_decl_tag*>(t + 1);
      if (g_json) {
        j.Uint("type_id", t->type);
        j.Int("component_idx", tag->component_idx);
      } else {
        absl::StrAppendFormat(&s, " type_id=%u component_idx=%d", t->type,
                              tag->component_idx);
      }
      break;
    }
    default:
      break;
  }
  if (g_json) {
    j.End();
  } else {
    s += '\n';
  }
  return s;
}

using native::ReadWholeFile;

constexpr int kLibbpfErrnoFormat = 4001;  // LIBBPF_ERRNO__FORMAT

// libbpf's btf__parse_split() as bpftool 7.1 calls it (tools/lib/bpf/btf.c
// btf_parse: raw BTF when the file starts with BTF's magic, else the .BTF
// section of an ELF file): 0, or -errno (-EIO for a file shorter than the
// magic or unreadable, such as a directory; -LIBBPF_ERRNO__FORMAT, with
// libbpf's warning, for neither BTF nor ELF; -ENOENT for an ELF file
// without .BTF).
int ParseBtfFile(const std::string& path, const native::BtfData* base,
                 std::unique_ptr<native::BtfData>* out) {
  std::vector<uint8_t> data;
  if (const int err = ReadWholeFile(path, &data); err != 0) {
    return err == -ENOENT || err == -EACCES || err == -EPERM ? err : -EIO;
  }
  if (data.size() < 2) return -EIO;
  const uint16_t magic = static_cast<uint16_t>(data[0] | data[1] << 8);
  if (magic == BTF_MAGIC) return native::BtfData::Parse(data, base, out);
  static const uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
  if (data.size() < 64 || std::memcmp(data.data(), kElfMagic, 4) != 0) {
    std::fprintf(g_err, "libbpf: failed to get EHDR from %s\n",
                 Printable(path).c_str());
    return -kLibbpfErrnoFormat;
  }
  absl::Span<const uint8_t> sec;
  if (!native::BtfData::ElfSection(data, ".BTF", &sec)) return -ENOENT;
  return native::BtfData::Parse(sec, base, out);
}

// libbpf's libbpf_strerror(): its own codes past 4000, else strerror.
std::string ErrStr(int err) {
  return err == kLibbpfErrnoFormat ? "Unknown error 4001" : strerror(err);
}

// The C printer's text. Names come from the file: control bytes other
// than the layout's newlines and tabs are shown as \xNN, as Printable()
// shows them (bpftool prints them raw).
void BtfPrint(void* ctx, const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  text.resize(static_cast<size_t>(n));
  std::string o;
  for (const unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f) {
      absl::StrAppendFormat(&o, "\\x%02x", c);
    } else {
      o += static_cast<char>(c);
    }
  }
  std::fputs(o.c_str(), static_cast<FILE*>(ctx));
}

void BtfWarn(void*, const char* msg) {
  g_reported = true;
  std::string m = msg;
  const bool newline = m.ends_with('\n');
  if (newline) m.pop_back();
  std::fprintf(g_err, "%s%s", Printable(m).c_str(), newline ? "\n" : "");
}

// bpftool's `btf help`, for the part bpfemu has.
int BtfUsage() {
  std::fprintf(g_err,
               "Usage: bpfemu btf dump BTF_SRC [format FORMAT]\n"
               "\n"
               "       BTF_SRC := { id BTF_ID | map MAP [{key | value | kv | "
               "all}] |\n"
               "                    file FILE }\n"
               "       FORMAT  := { raw | c }\n"
               "       MAP     := { id MAP_ID | pinned FILE }\n"
               "       OPTIONS := { {-j|--json} [{-p|--pretty}] }\n");
  return 255;
}

// The BTF object `id` among those of the pinned maps (an emulated BTF
// object outlives its loader only through the maps created with it).
bool FindBtfById(uint32_t id, std::vector<uint8_t>* blob) {
  return !FindPin([&](OpenMap& m) {
            MapBtfIdsOut ids;
            return m.info.btf_id == id && MapBtf(m.fd, m.info.id, &ids, blob) &&
                   !blob->empty();
          }).empty();
}

// `btf dump { file FILE | map MAP [key|value|kv|all] | id ID }
// [format {raw|c}]` (bpftool's do_dump). A file under /sys/kernel/btf/
// other than vmlinux is split BTF over vmlinux, as bpftool reads module
// BTF; a map's dump prints its key and value types (and, as C, what they
// need).
int BtfDump(std::vector<std::string>& args, size_t i) {
  if (args.size() - i < 2) {
    const std::string msg = absl::StrFormat(
        "'dump' needs at least 2 arguments, %zu found", args.size() - i);
    if (g_json) {
      // The error object, then usage()'s null, in one JSON stream.
      g_reported = true;
      std::fprintf(g_out, "{\"error\":\"%s\"},null\n", JsonEscape(msg).c_str());
      return 255;
    }
    Error(msg);
    return BtfUsage();
  }
  const std::string& src = args[i];
  std::unique_ptr<native::BtfData> vmlinux, btf;
  std::vector<uint32_t> roots;
  std::string path;
  if (IsPrefix(src, "map") || IsPrefix(src, "id")) {
    // An emulated BTF object: a map's (it travels with the map's file), or
    // the one with this id among the BTF of the pinned maps.
    uint32_t btf_id = 0;
    if (IsPrefix(src, "map")) {
      ++i;
      OpenMap m;
      if (!OpenRef(args, &i, &m)) return 255;
      btf_id = m.info.btf_id;
      const uint32_t k = m.info.btf_key_type_id, v = m.info.btf_value_type_id;
      if (i < args.size() && IsPrefix(args[i], "key")) {
        roots = {k};
        ++i;
      } else if (i < args.size() && IsPrefix(args[i], "value")) {
        roots = {v};
        ++i;
      } else if (i < args.size() && IsPrefix(args[i], "all")) {
        ++i;
      } else {
        roots = {k, v};
        if (i < args.size() && IsPrefix(args[i], "kv")) ++i;
      }
    } else {
      char* end;
      const unsigned long id = std::strtoul(args[i + 1].c_str(), &end, 0);
      if (*end != '\0') {
        Error(absl::StrFormat("can't parse %s as ID", args[i + 1]));
        return 255;
      }
      btf_id = static_cast<uint32_t>(id);
      i += 2;
    }
    std::vector<uint8_t> blob;
    if (btf_id == 0 || !FindBtfById(btf_id, &blob) ||
        native::BtfData::Parse(blob, nullptr, &btf) != 0) {
      // bpftool's btf_is_kernel_module() probe, then the load: two errors
      // (in JSON, two objects of one stream).
      const std::string probe = absl::StrFormat(
          "can't get BTF object by id (%u): %s", btf_id, strerror(ENOENT));
      const std::string load =
          absl::StrFormat("get btf by id (%u): %s", btf_id, strerror(ENOENT));
      if (g_json) {
        g_reported = true;
        std::fprintf(g_out, "{\"error\":\"%s\"},{\"error\":\"%s\"}\n",
                     JsonEscape(probe).c_str(), JsonEscape(load).c_str());
      } else {
        Error(probe);
        Error(load);
      }
      return 254;
    }
  } else if (IsPrefix(src, "file")) {
    path = args[i + 1];
    i += 2;
    static const char kSysfs[] = "/sys/kernel/btf/";
    static const char kVmlinux[] = "/sys/kernel/btf/vmlinux";
    if (path.starts_with(kSysfs) && path != kVmlinux) {
      if (const int err = ParseBtfFile(kVmlinux, nullptr, &vmlinux); err != 0) {
        Error(absl::StrFormat("failed to parse vmlinux BTF at '%s': %d\n",
                              kVmlinux, err));
      }
    }
    if (const int err = ParseBtfFile(path, vmlinux.get(), &btf); err != 0) {
      Error(absl::StrFormat("failed to load BTF from %s: %s", path,
                            ErrStr(-err)));
      return err & 0xff;
    }
  } else {
    if (IsPrefix(src, "prog")) {
      Error(absl::StrFormat(
          "'%s' is not supported: an emulated program exists only in the "
          "process that loaded it",
          src));
    } else {
      Error(absl::StrFormat("unrecognized BTF source specifier: '%s'", src));
    }
    return 255;
  }
  bool c = false;
  while (i < args.size()) {
    if (IsPrefix(args[i], "format")) {
      if (++i >= args.size()) {
        // bpftool's message ends in a newline of its own.
        if (g_json) {
          Error("expecting value for 'format' option\n");
        } else {
          Error("expecting value for 'format' option");
          std::fprintf(g_err, "\n");
        }
        return 234;  // -EINVAL
      }
      if (args[i] == "c") {
        c = true;
      } else if (args[i] == "raw") {
        c = false;
      } else {
        Error(absl::StrFormat(
            "unrecognized format specifier: '%s', possible values: raw, c",
            args[i]));
        return 234;
      }
      ++i;
    } else {
      Error(absl::StrFormat("unrecognized option: '%s'", args[i]));
      return 234;
    }
  }
  // The types printed: a map's key and value types (dump_btf_raw's
  // root_type_ids), or all of ours.
  if (roots.empty()) {
    for (uint32_t id = vmlinux ? vmlinux->TypeCnt() : 1; id < btf->TypeCnt();
         ++id) {
      roots.push_back(id);
    }
  }
  if (!c) {
    if (g_json) std::fprintf(g_out, "{\"types\":[");
    for (size_t r = 0; r < roots.size(); ++r) {
      if (g_json && r != 0) std::fprintf(g_out, ",");
      if (roots[r] < btf->TypeCnt()) {
        std::fputs(RawType(*btf, roots[r]).c_str(), g_out);
      }
    }
    if (g_json) std::fprintf(g_out, "]}\n");
    return 0;
  }
  if (g_json) {
    Error("JSON output for C-syntax dump is not supported");
    return 161;  // -EOPNOTSUPP
  }
  std::unique_ptr<native::BtfDump> dump;
  // BTF that refers to types it does not have is refused as libbpf after
  // 1.1 refuses it when parsing (bpftool 7.1's libbpf would crash on it).
  if (const int err =
          native::BtfDump::Create(btf.get(), BtfPrint, BtfWarn, g_out, &dump,
                                  native::BtfDump::Dialect::kLinux61);
      err != 0) {
    Error(absl::StrFormat("failed to load BTF from %s: %s",
                          path.empty() ? "map" : path, strerror(-err)));
    return err & 0xff;
  }
  std::fprintf(g_out,
               "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
               "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
               "#pragma clang attribute push "
               "(__attribute__((preserve_access_index)), apply_to = record)\n"
               "#endif\n\n");
  // bpftool walks from id 1 even for split BTF (the base's types that are
  // needed are printed too); a map's key and value types bring theirs.
  if (path.empty()) {
    std::erase_if(roots,
                  [&](uint32_t id) { return id == 0 || id >= btf->TypeCnt(); });
  } else {
    roots.clear();
    for (uint32_t id = 1; id < btf->TypeCnt(); ++id) roots.push_back(id);
  }
  for (const uint32_t id : roots) {
    if (const int err = dump->DumpType(id); err != 0) {
      g_reported = true;  // libbpf warned; bpftool prints nothing more
      return err & 0xff;
    }
  }
  std::fprintf(g_out,
               "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
               "#pragma clang attribute pop\n#endif\n\n"
               "#endif /* __VMLINUX_H__ */\n");
  return 0;
}

// ---- prog run -----------------------------------------------------------

// An object file loaded as bytecode for `prog run` / `prog show` (bpftool's
// PROG is already loaded; an emulated one exists only in the process that
// loaded it), or nullptr with the error printed.
std::unique_ptr<native::Object> LoadObject(const std::string& path) {
  std::vector<uint8_t> elf;
  if (const int err = ReadWholeFile(path, &elf); err != 0) {
    Error(absl::StrFormat("can't open object %s: %s", path, strerror(-err)));
    return nullptr;
  }
  auto obj = native::Object::OpenBytecodeMem(elf, "bpfemu_cli");
  if (!obj.ok()) {
    Error(absl::StrFormat("can't open object %s: %s", path,
                          std::string(obj.status().message())));
    return nullptr;
  }
  if (const int err = (*obj)->Load(); err != 0) {
    Error(absl::StrFormat("can't load object %s: %s", path, strerror(-err)));
    return nullptr;
  }
  return std::move(*obj);
}

const native::Program* FindProgram(const native::Object& obj,
                                   const std::string& path,
                                   const std::string& name) {
  const native::Program* prog = obj.FindProgram(name);
  if (prog == nullptr) {
    Error(absl::StrFormat("no program named %s in %s", name, path));
  }
  return prog;
}

// bpftool's detect_common_prefix(): an abbreviation of two or more words.
bool Ambiguous(const std::string& arg,
               std::initializer_list<const char*> refs) {
  std::string msg = absl::StrFormat("ambiguous prefix: '%s' could be '", arg);
  int count = 0;
  for (const char* r : refs) {
    if (!IsPrefix(arg, r)) continue;
    if (++count > 1) msg += "' or '";
    msg += r;
  }
  if (count < 2) return false;
  Error(msg + "'");
  return true;
}

// get_run_data(): the file's bytes ("-": standard input). False with the
// error printed.
bool ReadRunData(const std::string& fname, std::vector<uint8_t>* out) {
  const int err = fname == "-" ? [&] {
    out->clear();
    uint8_t buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
      out->insert(out->end(), buf, buf + n);
    }
    return 0;
  }()
                               : ReadWholeFile(fname, out);
  if (err == 0) return true;
  // bpftool's read loop stops at the first empty read without looking at
  // the error: a directory (EISDIR) is empty data.
  if (err == -EISDIR) {
    out->clear();
    return true;
  }
  Error(absl::StrFormat("failed to open %s: %s", fname, strerror(-err)));
  return false;
}

// hex_print(): offset, 16 bytes as byte pairs, and their ASCII.
void HexPrint(const std::vector<uint8_t>& d) {
  for (size_t i = 0; i < d.size(); i += 16) {
    std::fprintf(g_out, "%07zx\t", i);
    size_t j;
    for (j = i; j < i + 16 && j < d.size(); ++j) {
      std::fprintf(g_out, "%02x%s", d[j], j % 2 ? " " : "");
    }
    for (; j < i + 16; ++j) std::fprintf(g_out, "  %s", j % 2 ? " " : "");
    std::fprintf(g_out, "| ");
    for (j = i; j < i + 16 && j < d.size(); ++j) {
      const char c = d[j] < ' ' || d[j] > '~' ? '.' : static_cast<char>(d[j]);
      std::fprintf(g_out, "%c%s", c, j == i + 7 ? " " : "");
    }
    std::fprintf(g_out, "\n");
  }
}

// print_run_output(): to the file, or on stdout for "-". 0 or -1.
int PrintRunOutput(const std::vector<uint8_t>& d, const std::string* fname,
                   const char* key, bool* first) {
  if (fname == nullptr) return 0;
  if (*fname == "-") {
    if (g_json) {
      std::string a;
      for (size_t i = 0; i < d.size(); ++i) {
        absl::StrAppendFormat(&a, "%s%d", i ? "," : "", d[i]);
      }
      std::fprintf(g_out, "%s\"%s\":[%s]", *first ? "" : ",", key, a.c_str());
      *first = false;
    } else {
      HexPrint(d);
    }
    return 0;
  }
  FILE* f = std::fopen(fname->c_str(), "w");
  if (f == nullptr) {
    Error(absl::StrFormat("failed to open %s: %s", *fname, strerror(errno)));
    return -1;
  }
  const size_t n = std::fwrite(d.data(), 1, d.size(), f);
  const int werr = errno;
  std::fclose(f);
  if (n != d.size()) {
    Error(
        absl::StrFormat("failed to write output data/ctx: %s", strerror(werr)));
    return -1;
  }
  return 0;
}

// A size or count as bpftool's strtoul(.., 0) reads it, strictly.
bool ParseU32(const std::string& s, const char* what, uint32_t* out) {
  unsigned long long v;
  if (!ParseUnsigned(s, 0, UINT32_MAX, &v)) {
    Error(absl::StrFormat("can't parse %s as %s", s, what));
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

// `prog run OBJECT PROG_NAME [data_in FILE] [data_out FILE]
// [data_size_out L] [ctx_in FILE] [ctx_out FILE] [ctx_size_out M]
// [repeat N]` (bpftool's do_run; bpftool names a loaded program by id, pin,
// tag or name, bpfemu by the object file it loads and the program's name).
int ProgRun(std::vector<std::string>& args, size_t i) {
  if (args.size() - i < 4) {
    Error(absl::StrFormat("'run' needs at least 4 arguments, %zu found",
                          args.size() - i));
    return 255;
  }
  const std::string obj_path = args[i], prog_name = args[i + 1];
  i += 2;
  const std::string *data_in = nullptr, *data_out = nullptr;
  const std::string *ctx_in = nullptr, *ctx_out = nullptr;
  uint32_t data_size_out = 0, ctx_size_out = 0, repeat = 1;
  while (i < args.size()) {
    const std::string& a = args[i];
    if (Ambiguous(a, {"data_in", "data_out", "data_size_out"}) ||
        Ambiguous(a, {"ctx_in", "ctx_out", "ctx_size_out"})) {
      return 255;
    }
    const bool known = IsPrefix(a, "data_in") || IsPrefix(a, "data_out") ||
                       IsPrefix(a, "data_size_out") || IsPrefix(a, "ctx_in") ||
                       IsPrefix(a, "ctx_out") || IsPrefix(a, "ctx_size_out") ||
                       IsPrefix(a, "repeat");
    if (!known) {
      Error(absl::StrFormat(
          "expected no more arguments, 'data_in', 'data_out', "
          "'data_size_out', 'ctx_in', 'ctx_out', 'ctx_size_out' or 'repeat', "
          "got: '%s'?",
          a));
      return 255;
    }
    if (i + 1 >= args.size()) {
      Error(absl::StrFormat("'%s' needs at least 1 arguments, 0 found", a));
      return 255;
    }
    const std::string& v = args[i + 1];
    if (IsPrefix(a, "data_in")) {
      data_in = &v;
    } else if (IsPrefix(a, "data_out")) {
      data_out = &v;
    } else if (IsPrefix(a, "data_size_out")) {
      if (!ParseU32(v, "output data size", &data_size_out)) return 255;
    } else if (IsPrefix(a, "ctx_in")) {
      ctx_in = &v;
    } else if (IsPrefix(a, "ctx_out")) {
      ctx_out = &v;
    } else if (IsPrefix(a, "ctx_size_out")) {
      if (!ParseU32(v, "output context size", &ctx_size_out)) return 255;
    } else {
      if (!ParseU32(v, "repeat number", &repeat)) return 255;
    }
    if (data_in && ctx_in && *data_in == "-" && *ctx_in == "-") {
      Error("cannot use standard input for both data_in and ctx_in");
      return 255;
    }
    i += 2;
  }
  // The program: bpftool's PROG is already loaded; bpfemu loads it here.
  std::unique_ptr<native::Object> obj = LoadObject(obj_path);
  if (obj == nullptr) return 255;
  const native::Program* prog = FindProgram(*obj, obj_path, prog_name);
  if (prog == nullptr) {
    return 255;
  }
  std::vector<uint8_t> din, cin;
  if (data_in && !ReadRunData(*data_in, &din)) return 255;
  constexpr uint32_t kDefaultSize = 32 * 1024;  // bpftool's SZ_32K
  native::TestRunAttr attr;
  if (data_in) {
    attr.data_in =
        din.data() ? din.data() : reinterpret_cast<const uint8_t*>("");
    attr.data_size_in = static_cast<uint32_t>(din.size());
    attr.data_out = true;
    if (data_size_out == 0) data_size_out = kDefaultSize;
  }
  attr.data_size_out = data_size_out;
  if (ctx_in && !ReadRunData(*ctx_in, &cin)) return 255;
  if (ctx_in) {
    attr.ctx_in =
        cin.data() ? cin.data() : reinterpret_cast<const uint8_t*>("");
    attr.ctx_size_in = static_cast<uint32_t>(cin.size());
    attr.ctx_out = true;
    if (ctx_size_out == 0) ctx_size_out = kDefaultSize;
  }
  attr.ctx_size_out = ctx_size_out;
  attr.repeat = repeat;
  native::TestRunOutput out;
  std::shared_ptr<const Prog> desc;
  int err = native::CheckTestRunAttr(attr);
  if (err == 0) err = ProgFromFd(prog->fd(), &desc);
  if (err == 0) err = native::TestRun(*desc, attr, &out);
  if (err != 0) {
    Error(absl::StrFormat("failed to run program: %s", strerror(-err)));
    return err & 0xff;
  }
  // The caller's buffers as the kernel leaves them: the bytes copied, the
  // rest zero, the size the kernel reports.
  auto result = [](uint32_t size, bool written, const std::vector<uint8_t>& v,
                   uint32_t copy) {
    const uint32_t n = written ? static_cast<uint32_t>(v.size()) : size;
    std::vector<uint8_t> b(std::max(n, size));
    std::copy_n(v.begin(), std::min<size_t>(copy, v.size()), b.begin());
    b.resize(n);
    return b;
  };
  const std::vector<uint8_t> dout =
      result(data_size_out, out.write_data, out.data, out.data_copy);
  const std::vector<uint8_t> cout =
      result(ctx_size_out, out.write_ctx, out.ctx, out.ctx_copy);
  int rc = 0;
  bool first = true;
  if (g_json) std::fprintf(g_out, "{");
  if (!dout.empty()) rc += PrintRunOutput(dout, data_out, "data_out", &first);
  if (!cout.empty()) rc += PrintRunOutput(cout, ctx_out, "ctx_out", &first);
  const uint32_t retval = out.write_retval ? out.retval : 0;
  const uint32_t duration = out.write_data ? out.duration : 0;
  if (g_json) {
    std::fprintf(g_out, "%s\"retval\":%u,\"duration\":%u}\n", first ? "" : ",",
                 retval, duration);
  } else {
    std::fprintf(g_out, "Return value: %u, duration%s: %uns\n", retval,
                 repeat > 1 ? " (average)" : "", duration);
  }
  return rc & 0xff;
}

// ---- prog show ----------------------------------------------------------

// bpftool's libbpf_bpf_prog_type_str() names (libbpf.c prog_type_name).
const char* ProgTypeName(uint32_t type) {
  static const char* const kNames[] = {
      "unspec",
      "socket_filter",
      "kprobe",
      "sched_cls",
      "sched_act",
      "tracepoint",
      "xdp",
      "perf_event",
      "cgroup_skb",
      "cgroup_sock",
      "lwt_in",
      "lwt_out",
      "lwt_xmit",
      "sock_ops",
      "sk_skb",
      "cgroup_device",
      "sk_msg",
      "raw_tracepoint",
      "cgroup_sock_addr",
      "lwt_seg6local",
      "lirc_mode2",
      "sk_reuseport",
      "flow_dissector",
      "cgroup_sysctl",
      "raw_tracepoint_writable",
      "cgroup_sockopt",
      "tracing",
      "struct_ops",
      "ext",
      "lsm",
      "sk_lookup",
      "syscall",
      "netfilter",
  };
  return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : nullptr;
}

// One program as bpftool's print_prog_plain / print_prog_json show it.
// There is no JIT ("not jited"), xlated is the program as loaded, and the
// memlock figure is its instructions' pages (the kernel's bpf_prog_size
// counts its own struct and the verifier's rewrites too).
void ShowProg(const native::Program& prog, bool first) {
  std::shared_ptr<const Prog> p;
  if (ProgFromFd(prog.fd(), &p) != 0) return;
  bpf_prog_info info = {};
  std::vector<uint32_t> ids(64);
  info.nr_map_ids = static_cast<uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
  if (native::ProgFillInfo(
          *p, &info, [](uint64_t ptr, const void* d, size_t n) {
            std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(ptr)), d,
                        n);
            return 0;
          }) != 0) {
    return;
  }
  ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
  const uint64_t memlock = std::max<uint64_t>(
      4096, (uint64_t{info.xlated_prog_len} + 4095) & ~uint64_t{4095});
  std::string tag;
  for (const uint8_t b : info.tag) absl::StrAppendFormat(&tag, "%02x", b);
  // print_boot_time(): the load's boot-clock time as wall-clock time.
  timespec real, boot;
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  const int64_t now_real = real.tv_sec * 1000000000LL + real.tv_nsec;
  const int64_t now_boot = boot.tv_sec * 1000000000LL + boot.tv_nsec;
  const time_t loaded = static_cast<time_t>(
      (now_real - (now_boot - static_cast<int64_t>(info.load_time))) /
      1000000000LL);
  const char* type = ProgTypeName(info.type);
  const std::string name(info.name, strnlen(info.name, sizeof(info.name)));
  if (g_json) {
    std::string j = first ? "" : ",";
    absl::StrAppendFormat(&j, "{\"id\":%u,", info.id);
    if (type != nullptr) {
      absl::StrAppendFormat(&j, "\"type\":\"%s\",", type);
    } else {
      absl::StrAppendFormat(&j, "\"type\":%u,", info.type);
    }
    if (!name.empty()) {
      absl::StrAppendFormat(&j, "\"name\":\"%s\",", JsonEscape(name));
    }
    absl::StrAppendFormat(
        &j,
        "\"tag\":\"%s\",\"gpl_compatible\":%s,\"loaded_at\":%lld,"
        "\"uid\":%u,\"bytes_xlated\":%u,\"jited\":false,"
        "\"bytes_memlock\":%llu",
        tag, info.gpl_compatible ? "true" : "false",
        static_cast<long long>(loaded), info.created_by_uid,
        info.xlated_prog_len, static_cast<unsigned long long>(memlock));
    if (!ids.empty()) {
      j += ",\"map_ids\":[";
      for (size_t m = 0; m < ids.size(); ++m) {
        absl::StrAppendFormat(&j, "%s%u", m == 0 ? "" : ",", ids[m]);
      }
      j += "]";
    }
    if (info.btf_id != 0)
      absl::StrAppendFormat(&j, ",\"btf_id\":%u", info.btf_id);
    j += "}";
    std::fputs(j.c_str(), g_out);
    return;
  }
  std::string t = absl::StrFormat("%u: ", info.id);
  t += type != nullptr ? absl::StrFormat("%s  ", type)
                       : absl::StrFormat("type %u  ", info.type);
  if (!name.empty()) absl::StrAppendFormat(&t, "name %s  ", Printable(name));
  absl::StrAppendFormat(&t, "tag %s%s\n", tag,
                        info.gpl_compatible ? "  gpl" : "");
  char when[32];
  tm local;
  strftime(when, sizeof(when), "%FT%T%z", localtime_r(&loaded, &local));
  absl::StrAppendFormat(&t, "\tloaded_at %s  uid %u\n", when,
                        info.created_by_uid);
  absl::StrAppendFormat(&t, "\txlated %uB  not jited  memlock %lluB",
                        info.xlated_prog_len,
                        static_cast<unsigned long long>(memlock));
  if (!ids.empty()) {
    t += "  map_ids ";
    for (size_t m = 0; m < ids.size(); ++m) {
      absl::StrAppendFormat(&t, "%s%u", m == 0 ? "" : ",", ids[m]);
    }
  }
  if (info.btf_id != 0) absl::StrAppendFormat(&t, "\n\tbtf_id %u", info.btf_id);
  std::fprintf(g_out, "%s\n", t.c_str());
}

// `prog show OBJECT [PROG_NAME]` (bpftool's do_show): the object's
// programs (or one), loaded here, as bpftool shows loaded programs. An
// emulated program exists only in the process that loaded it, so bpfemu
// takes the object as `prog run` does.
int ProgShow(std::vector<std::string>& args, size_t i) {
  if (i >= args.size() || args.size() - i > 2) {
    Error("expected OBJECT [PROG_NAME]");
    return 255;
  }
  const std::string obj_path = args[i];
  std::unique_ptr<native::Object> obj = LoadObject(obj_path);
  if (obj == nullptr) return 255;
  if (i + 1 < args.size()) {
    const native::Program* prog = FindProgram(*obj, obj_path, args[i + 1]);
    if (prog == nullptr) return 255;
    ShowProg(*prog, true);
    if (g_json) std::fprintf(g_out, "\n");
    return 0;
  }
  if (g_json) std::fprintf(g_out, "[");
  bool first = true;
  for (const native::Program& prog : obj->programs()) {
    ShowProg(prog, first);
    first = false;
  }
  if (g_json) std::fprintf(g_out, "]\n");
  return 0;
}

int Usage(FILE* to = nullptr) {
  g_reported = true;
  std::fprintf(
      to ? to : g_err,
      "Usage: bpfemu [-j] kernel\n"
      "       bpfemu [-j] map { show | list } [MAP]\n"
      "       bpfemu [-j] map dump MAP\n"
      "       bpfemu [-j] map lookup MAP [key BYTES]\n"
      "       bpfemu [-j] map update MAP [key BYTES] [value BYTES] "
      "[any|exist|noexist]\n"
      "       bpfemu [-j] map delete MAP key BYTES\n"
      "       bpfemu [-j] map getnext MAP [key BYTES]\n"
      "       bpfemu [-j] map { peek | pop | dequeue } MAP\n"
      "       bpfemu [-j] map { push | enqueue } MAP value BYTES\n"
      "       bpfemu [-j] map freeze MAP\n"
      "       bpfemu [-j] map pin MAP NEWPATH\n"
      "       bpfemu [-j] btf dump { file FILE | map MAP [key|value|kv|all] "
      "| id BTF_ID }\n"
      "                    [format { raw | c }]\n"
      "       bpfemu [-j] prog run OBJECT PROG_NAME [data_in FILE] "
      "[data_out FILE]\n"
      "                    [data_size_out L] [ctx_in FILE] "
      "[ctx_out FILE] [ctx_size_out M]\n"
      "                    [repeat N]\n"
      "       MAP := { id MAP_ID | pinned FILE }\n"
      "       -j, --json: JSON output; -p, --pretty: JSON, indented\n");
  return 255;
}

int Dispatch(std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "kernel") return ShowKernel();
  if (args.size() >= 2 && args[0] == "btf" && args[1] == "dump") {
    return BtfDump(args, 2);
  }
  if (args.size() >= 2 && args[0] == "prog" && args[1] == "run") {
    return ProgRun(args, 2);
  }
  if (args.size() >= 2 && args[0] == "prog" &&
      (args[1] == "show" || args[1] == "list")) {
    return ProgShow(args, 2);
  }
  if (args.empty() || args[0] != "map") return Usage();
  if (args.size() == 1) return ListOrShow(args, 1);  // `bpftool map`
  const std::string& cmd = args[1];
  if (cmd == "show" || cmd == "list") return ListOrShow(args, 2);
  if (cmd == "dump") {
    size_t i = 2;
    if (args.size() != 4) return Usage();  // bpftool: usage for dump
    std::string path;
    if (!ParseMapRef(args, &i, &path)) return 255;
    return Dump(path);
  }
  if (cmd == "lookup" || cmd == "peek") return Lookup(args, 2);
  if (cmd == "update" || cmd == "push" || cmd == "enqueue") {
    return Update(args, 2);
  }
  if (cmd == "delete") return Delete(args, 2);
  if (cmd == "pop" || cmd == "dequeue") return Pop(args, 2);
  if (cmd == "getnext") return GetNext(args, 2);
  if (cmd == "freeze") return Freeze(args, 2);
  if (cmd == "pin") return Pin(args, 2);
  return Usage();
}

}  // namespace

int Run(const std::vector<std::string>& argv, FILE* out, FILE* err) {
  g_json = false;
  g_out = out;
  g_err = err;
  g_reported = false;
  bool pretty = false;
  std::vector<std::string> args;
  for (const std::string& a : argv) {
    if (a == "-j" || a == "--json") {
      g_json = true;
    } else if (a == "-p" || a == "--pretty") {
      // bpftool's -p: JSON, through the pretty writer.
      g_json = pretty = true;
    } else if (a == "-h" || a == "--help") {
      // bpftool's -h: the usage, and success. On stdout, for `| less`.
      Usage(out);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      args.clear();
      Error(absl::StrFormat("unrecognized option '%s'", a));
      return 255;
    } else {
      args.push_back(a);
    }
  }
  // -p: the command writes compact JSON into memory, printed pretty after.
  char* compact = nullptr;
  size_t compact_len = 0;
  if (pretty) {
    g_out = open_memstream(&compact, &compact_len);
    if (g_out == nullptr) {
      g_out = out;
      pretty = false;
    }
  }
  int rc = Dispatch(args);
  // Every failure says why (a guard for paths that forgot to).
  if (rc != 0 && rc != 254 && !g_reported) Error("command failed");
  if (pretty) {
    std::fclose(g_out);
    g_out = out;
    std::fputs(PrettyJson(std::string(compact, compact_len)).c_str(), out);
    std::free(compact);
  }
  std::fflush(out);
  std::fflush(err);
  return rc;
}

}  // namespace bpfemu::cli
