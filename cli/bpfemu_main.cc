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
//   bpfemu [-j] map lookup pinned PATH key BYTES
//   bpfemu map update pinned PATH key BYTES value BYTES [any|exist|noexist]
//   bpfemu map delete pinned PATH key BYTES
//   bpfemu map pin pinned PATH NEWPATH
//
// BYTES are bytes in decimal (or 0x-prefixed), or after the word `hex`,
// hexadecimal - as bpftool parses them. `map list` shows the maps pinned
// on the emulated bpffs (bpftool lists every map of the system; emulated
// maps are only reachable by their pins). `kernel` (bpfemu's own) shows
// the kernel version and build profile the emulator imitates.

#include <dirent.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

bool g_json = false;

// bpftool's p_err(): "Error: ..." on stderr (or a JSON error object).
void Error(const std::string& msg) {
  if (g_json) {
    std::printf("{\"error\":\"%s\"}", msg.c_str());
  } else {
    std::fprintf(stderr, "Error: %s\n", msg.c_str());
  }
}

const char* TypeName(uint32_t type) {
  static const char* const kNames[] = {
      "unspec",          "hash",           "array",
      "prog_array",      "perf_event_array", "percpu_hash",
      "percpu_array",    "stack_trace",    "cgroup_array",
      "lru_hash",        "lru_percpu_hash", "lpm_trie",
      "array_of_maps",   "hash_of_maps",   "devmap",
      "sockmap",         "cpumap",         "xskmap",
      "sockhash",        "cgroup_storage", "reuseport_sockarray",
      "percpu_cgroup_storage", "queue",    "stack",
      "sk_storage",      "devmap_hash",    "struct_ops",
      "ringbuf",         "inode_storage",  "task_storage",
      "bloom_filter",    "user_ringbuf",   "cgrp_storage",
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
  return MapGetInfoByFd(m->fd, &m->info, &len);
}

// fprint_hex(): 16 bytes per line, an extra space after every 8.
std::string HexBytes(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const char* sep = i == 0 ? "" : i % 16 == 0 ? "\n" : i % 8 == 0 ? "  " : " ";
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
  const int64_t memlock = MapMemlock(fd);
  // fdinfo's "frozen:" (BPF_MAP_FREEZE), as bpftool reads it.
  const int frozen = std::max(MapFrozen(fd), 0);
  if (g_json) {
    std::printf(
        "{\"id\":%u,\"type\":\"%s\",\"name\":\"%s\",\"flags\":%u,"
        "\"bytes_key\":%u,\"bytes_value\":%u,\"max_entries\":%u,"
        "\"bytes_memlock\":%lld,\"frozen\":%d}",
        info.id, TypeName(info.type), info.name, info.map_flags, info.key_size,
        info.value_size, info.max_entries, static_cast<long long>(memlock),
        frozen);
    return;
  }
  std::printf("%u: %s  name %s  flags 0x%x\n", info.id, TypeName(info.type),
              info.name, info.map_flags);
  std::printf("\tkey %uB  value %uB  max_entries %u  memlock %lldB\n",
              info.key_size, info.value_size, info.max_entries,
              static_cast<long long>(memlock));
  // bpftool's show_map_close_plain(): a "frozen" line of its own.
  if (frozen) std::printf("\tfrozen\n");
}

// One element as bpftool prints it (print_entry_plain / print_entry_json).
void PrintEntry(const BpfMapInfo& info, const uint8_t* key,
                const uint8_t* value, bool first) {
  const size_t ks = info.key_size;
  if (!IsPercpu(info.type)) {
    if (g_json) {
      std::printf("%s{\"key\":%s,\"value\":%s}", first ? "" : ",",
                  JsonBytes(key, ks).c_str(),
                  JsonBytes(value, info.value_size).c_str());
    } else {
      // bpftool's layout: names on their own lines past 16 bytes, one line
      // when key and value fit in 24 bytes.
      const bool break_names = ks > 16 || info.value_size > 16;
      const bool single_line = ks + info.value_size <= 24 && !break_names;
      if (ks != 0) {
        std::printf("key:%c%s%s", break_names ? '\n' : ' ',
                    HexBytes(key, ks).c_str(), single_line ? "  " : "\n");
      }
      if (info.value_size != 0) {
        std::printf("value:%c%s", break_names ? '\n' : ' ',
                    HexBytes(value, info.value_size).c_str());
      }
      std::printf("\n");
    }
    return;
  }
  const size_t step = (info.value_size + 7) & ~size_t{7};
  const int ncpus = NumPossibleCpus();
  if (g_json) {
    std::printf("%s{\"key\":%s,\"values\":[", first ? "" : ",",
                JsonBytes(key, ks).c_str());
    for (int c = 0; c < ncpus; ++c) {
      std::printf("%s{\"cpu\":%d,\"value\":%s}", c == 0 ? "" : ",", c,
                  JsonBytes(value + c * step, info.value_size).c_str());
    }
    std::printf("]}");
    return;
  }
  std::printf("key:\n%s\n", HexBytes(key, ks).c_str());
  for (int c = 0; c < ncpus; ++c) {
    std::printf("value (CPU %02d):%c%s\n", c,
                info.value_size > 16 ? '\n' : ' ',
                HexBytes(value + c * step, info.value_size).c_str());
  }
}

size_t SyscallValueSize(const BpfMapInfo& info) {
  return IsPercpu(info.type)
             ? ((info.value_size + 7) & ~size_t{7}) * NumPossibleCpus()
             : info.value_size;
}

int Dump(const std::string& path) {
  OpenMap m;
  if (OpenPinned(path, &m) != 0) return 255;
  std::vector<uint8_t> key(m.info.key_size), next(m.info.key_size);
  std::vector<uint8_t> value(SyscallValueSize(m.info));
  const void* prev = nullptr;
  int n = 0;
  if (g_json) std::printf("[");
  while (MapGetNextKey(m.fd, prev, next.data()) == 0) {
    key = next;
    prev = key.data();
    if (MapLookupElem(m.fd, key.data(), value.data()) != 0) continue;
    PrintEntry(m.info, key.data(), value.data(), n == 0);
    ++n;
  }
  if (g_json) {
    std::printf("]\n");
  } else {
    std::printf("Found %d element%s\n", n, n == 1 ? "" : "s");
  }
  return 0;
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
    char* end;
    const unsigned long v = std::strtoul(args[*i].c_str(), &end, hex ? 16 : 0);
    if (*end != '\0' || v > 255) {
      Error(absl::StrFormat("error parsing byte: %s", args[*i]));
      return false;
    }
    (*out)[b] = static_cast<uint8_t>(v);
  }
  return true;
}

// `pinned PATH`: the map's path, or empty with an error printed.
bool ParseMapRef(std::vector<std::string>& args, size_t* i, std::string* path) {
  if (*i + 1 < args.size() && args[*i] == "pinned") {
    *path = args[*i + 1];
    *i += 2;
    return true;
  }
  Error("expected 'pinned PATH' (emulated maps are reached by their pins)");
  return false;
}

// The pinned maps on the emulated bpffs, by virtual path.
void WalkPins(const std::string& dir, const std::string& virt,
              std::vector<std::string>* out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || name == ".ids") continue;
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

int ListOrShow(std::vector<std::string>& args, size_t i) {
  std::vector<std::string> paths;
  std::string only;
  uint32_t only_id = 0;
  if (i < args.size() && args[i] == "pinned") {
    if (!ParseMapRef(args, &i, &only)) return 255;
    paths.push_back(only);
  } else if (i + 1 < args.size() && args[i] == "id") {
    only_id = static_cast<uint32_t>(std::strtoul(args[i + 1].c_str(), nullptr, 0));
    WalkPins(BpffsStorage(), BpffsMount(), &paths);
  } else {
    WalkPins(BpffsStorage(), BpffsMount(), &paths);
  }
  if (only.empty()) {
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
  if (g_json && only.empty()) std::printf("[");
  for (const std::string& p : paths) {
    OpenMap m;
    if (!only.empty()) {
      if (OpenPinned(p, &m) != 0) return 255;
    } else {
      m.fd = ObjGet(p.c_str());
      uint32_t len = sizeof(m.info);
      if (m.fd < 0 || MapGetInfoByFd(m.fd, &m.info, &len) != 0) continue;
    }
    if (seen[m.info.id] || (only_id != 0 && m.info.id != only_id)) continue;
    seen[m.info.id] = true;
    if (g_json && !first) std::printf(",");
    Show(m.info, m.fd);
    first = false;
  }
  if (g_json) std::printf(only.empty() ? "]\n" : "\n");
  if (only_id != 0 && seen.empty()) {
    Error(absl::StrFormat("get map by id (%u): %s", only_id, strerror(ENOENT)));
    return 255;
  }
  return 0;
}

// The start of lookup, update and delete: `pinned PATH key BYTES`, leaving
// *i after the key. False (with the error printed) on bad input.
bool OpenWithKey(std::vector<std::string>& args, size_t* i, OpenMap* m,
                 std::vector<uint8_t>* key) {
  std::string path;
  if (!ParseMapRef(args, i, &path) || OpenPinned(path, m) != 0) return false;
  if (*i >= args.size() || args[*i] != "key") {
    Error("did not find key");
    return false;
  }
  ++*i;
  return ParseBytes(args, i, m->info.key_size, "key", key);
}

int Lookup(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  std::vector<uint8_t> key;
  if (!OpenWithKey(args, &i, &m, &key)) return 255;
  std::vector<uint8_t> value(SyscallValueSize(m.info));
  const int err = MapLookupElem(m.fd, key.data(), value.data());
  if (err == -ENOENT) {
    if (g_json) {
      std::printf("{\"key\":%s,\"value\":null}\n",
                  JsonBytes(key.data(), key.size()).c_str());
    } else {
      std::printf("key:\n%s\n\nNot found\n",
                  HexBytes(key.data(), key.size()).c_str());
    }
    return 254;  // bpftool exits with -ENOENT
  }
  if (err != 0) {
    Error(absl::StrFormat("lookup failed: %s", strerror(-err)));
    return err & 0xff;
  }
  PrintEntry(m.info, key.data(), value.data(), true);
  if (g_json) std::printf("\n");
  return 0;
}

int Update(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  std::vector<uint8_t> key, value;
  if (!OpenWithKey(args, &i, &m, &key)) return 255;
  if (i >= args.size() || args[i] != "value") {
    Error("did not find value");
    return 255;
  }
  ++i;
  if (!ParseBytes(args, &i, SyscallValueSize(m.info), "value", &value)) {
    return 255;
  }
  uint64_t flags = BPF_ANY;
  if (i < args.size()) {
    if (args[i] == "exist") {
      flags = BPF_EXIST;
    } else if (args[i] == "noexist") {
      flags = BPF_NOEXIST;
    } else if (args[i] != "any") {
      Error(absl::StrFormat("unknown flag: %s", args[i]));
      return 255;
    }
  }
  const int err = MapUpdateElem(m.fd, key.data(), value.data(), flags);
  if (err != 0) {
    Error(absl::StrFormat("update failed: %s", strerror(-err)));
    return err & 0xff;
  }
  if (g_json) std::printf("null\n");
  return 0;
}

int Delete(std::vector<std::string>& args, size_t i) {
  OpenMap m;
  std::vector<uint8_t> key;
  if (!OpenWithKey(args, &i, &m, &key)) return 255;
  const int err = MapDeleteElem(m.fd, key.data());
  if (err != 0) {
    Error(absl::StrFormat("delete failed: %s", strerror(-err)));
    return err & 0xff;
  }
  if (g_json) std::printf("null\n");
  return 0;
}

int Pin(std::vector<std::string>& args, size_t i) {
  std::string path;
  if (!ParseMapRef(args, &i, &path) || i >= args.size()) return 255;
  OpenMap m;
  if (OpenPinned(path, &m) != 0) return 255;
  const int err = ObjPin(m.fd, args[i].c_str());
  if (err != 0) {
    Error(absl::StrFormat("can't pin the object (%s): %s", args[i],
                          strerror(-err)));
    return 255;
  }
  if (g_json) std::printf("null\n");
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
    std::printf(
        "{\"version\":\"%s\",\"possible_cpus\":%d,\"build_profile\":{%s},"
        "\"build_profile_source\":\"%s\"}\n",
        KernelVersionName(v), NumPossibleCpus(), fields.c_str(),
        BuildProfileSource());
    return 0;
  }
  std::printf("version %s  possible_cpus %d\n", KernelVersionName(v),
              NumPossibleCpus());
  std::printf("build profile (%s): %s\n", BuildProfileSource(),
              FormatBuildProfile(p).c_str());
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "Usage: bpfemu [-j] kernel\n"
               "       bpfemu [-j] map { show | list } [pinned PATH | id ID]\n"
               "       bpfemu [-j] map dump pinned PATH\n"
               "       bpfemu [-j] map lookup pinned PATH key BYTES\n"
               "       bpfemu [-j] map update pinned PATH key BYTES value "
               "BYTES [any|exist|noexist]\n"
               "       bpfemu [-j] map delete pinned PATH key BYTES\n"
               "       bpfemu [-j] map pin pinned PATH NEWPATH\n");
  return 255;
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-j" || a == "--json") {
      g_json = true;
    } else {
      args.push_back(a);
    }
  }
  if (args.size() == 1 && args[0] == "kernel") return ShowKernel();
  if (args.size() < 2 || args[0] != "map") return Usage();
  const std::string& cmd = args[1];
  if (cmd == "show" || cmd == "list") return ListOrShow(args, 2);
  if (cmd == "dump") {
    size_t i = 2;
    std::string path;
    if (!ParseMapRef(args, &i, &path)) return 255;
    return Dump(path);
  }
  if (cmd == "lookup") return Lookup(args, 2);
  if (cmd == "update") return Update(args, 2);
  if (cmd == "delete") return Delete(args, 2);
  if (cmd == "pin") return Pin(args, 2);
  return Usage();
}

}  // namespace bpfemu::cli

int main(int argc, char** argv) { return bpfemu::cli::Main(argc, argv); }
