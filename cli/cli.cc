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
//
// BYTES are bytes in decimal (or 0x-prefixed), or after the word `hex`,
// hexadecimal - as bpftool parses them. `map list` shows the maps pinned
// on the emulated bpffs (bpftool lists every map of the system; emulated
// maps are only reachable by their pins). `kernel` (bpfemu's own) shows
// the kernel version and build profile the emulator imitates.
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
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "emu/bpffs.h"
#include "emu/build_profile.h"
#include "emu/cpu.h"
#include "emu/syscall.h"
#include "emu/version.h"

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

bool IsPercpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

struct OpenMap {
  int fd = -1;
  BpfMapInfo info = {};
  ~OpenMap() {
    if (fd >= 0) CloseFd(fd);
  }
};

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
                 "\"bytes_memlock\":%lld,\"frozen\":%d}",
                 info.id, TypeName(info.type), JsonEscape(name).c_str(),
                 info.map_flags, info.key_size, info.value_size,
                 info.max_entries, static_cast<long long>(memlock), frozen);
    return;
  }
  std::fprintf(g_out, "%u: %s  name %s  flags 0x%x\n", info.id,
               TypeName(info.type), Printable(name).c_str(), info.map_flags);
  std::fprintf(g_out, "\tkey %uB  value %uB  max_entries %u  memlock %lldB\n",
               info.key_size, info.value_size, info.max_entries,
               static_cast<long long>(memlock));
  // bpftool's show_map_close_plain(): a "frozen" line of its own.
  if (frozen) std::fprintf(g_out, "\tfrozen\n");
}

// One element as bpftool prints it (print_entry_plain / print_entry_json).
void PrintEntry(const BpfMapInfo& info, const uint8_t* key,
                const uint8_t* value, bool first) {
  const size_t ks = info.key_size;
  if (!IsPercpu(info.type)) {
    if (g_json) {
      std::fprintf(g_out, "%s{\"key\":%s,\"value\":%s}", first ? "" : ",",
                   JsonBytes(key, ks).c_str(),
                   JsonBytes(value, info.value_size).c_str());
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
    std::fprintf(g_out, "]}");
    return;
  }
  std::fprintf(g_out, "key:\n%s\n", HexBytes(key, ks).c_str());
  for (int c = 0; c < ncpus; ++c) {
    std::fprintf(g_out, "value (CPU %02d):%c%s\n", c,
                 info.value_size > 16 ? '\n' : ' ',
                 HexBytes(value + c * step, info.value_size).c_str());
  }
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
  if (g_json) std::fprintf(g_out, "[");
  while ((walk_err = MapGetNextKey(m.fd, prev, next.data())) == 0) {
    key = next;
    prev = key.data();
    if (int err = MapLookupElem(m.fd, key.data(), value.data()); err != 0) {
      if (IsMapOfMapsOrProgs(m.info.type) && err == -ENOENT) continue;
      PrintEntryError(m.info, key.data(), -err, printed++ == 0);
      continue;
    }
    PrintEntry(m.info, key.data(), value.data(), printed++ == 0);
    ++n;
  }
  if (g_json) {
    std::fprintf(g_out, "]\n");
  } else {
    std::fprintf(g_out, "Found %d element%s\n", n, n == 1 ? "" : "s");
  }
  if (walk_err == -ENOENT) return 0;
  g_reported = true;  // the count is bpftool's whole report
  return walk_err & 0xff;
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

// The first pin of the map with this id ("" when none).
std::string PinOfId(uint32_t id) {
  std::vector<std::string> paths;
  WalkPins(BpffsStorage(), BpffsMount(), &paths);
  for (const std::string& p : paths) {
    OpenMap m;
    m.fd = ObjGet(p.c_str());
    uint32_t len = sizeof(m.info);
    if (m.fd >= 0 && MapGetInfoByFd(m.fd, &m.info, &len) == 0 &&
        m.info.id == id) {
      return p;
    }
  }
  return "";
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
  PrintEntry(m.info, key.data(), value.data(), true);
  if (g_json) std::fprintf(g_out, "\n");
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
  PrintEntry(m.info, key.data(), value.data(), true);
  if (g_json) std::fprintf(g_out, "\n");
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

int Usage(FILE* to = nullptr) {
  g_reported = true;
  std::fprintf(to ? to : g_err,
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
               "       MAP := { id MAP_ID | pinned FILE }\n");
  return 255;
}

int Dispatch(std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "kernel") return ShowKernel();
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
  std::vector<std::string> args;
  for (const std::string& a : argv) {
    if (a == "-j" || a == "--json") {
      g_json = true;
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
  const int rc = Dispatch(args);
  // Every failure says why (a guard for paths that forgot to).
  if (rc != 0 && rc != 254 && !g_reported) Error("command failed");
  std::fflush(out);
  std::fflush(err);
  return rc;
}

}  // namespace bpfemu::cli
