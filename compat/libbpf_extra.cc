// SPDX-License-Identifier: Apache-2.0
// More of libbpf 1.1.2's object-level API (tools/lib/bpf/libbpf.c in the
// 6.1 tree): libbpf_find_vmlinux_btf_id (find_attach_btf_id over the
// running kernel's BTF, as libbpf reads it from /sys/kernel/btf/vmlinux:
// the emulator has no vmlinux BTF model of its own) and subskeletons
// (bpf_object__open_subskeleton / destroy_subskeleton, the library-side
// half of `bpftool gen subskeleton`), and two commands of
// kernel/bpf/syscall.c over emulated programs: BPF_ENABLE_STATS
// (bpf_enable_stats) and BPF_PROG_BIND_MAP (bpf_prog_bind_map).

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"
#include "emu/errno.h"
#include "emu/map.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"

using bpfemu::compat::FindAttachBtfId;
using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;
using bpfemu::compat::Print;

namespace {

// libbpf's longest kernel type name searched for, with its prefix.
constexpr size_t kMaxNameSize = 128;

}  // namespace

namespace bpfemu::compat {

// The kernel type an attach type names, as libbpf looks it up: raw
// tracepoints by their btf_trace_<name> typedef, LSM hooks and iterators by
// their bpf_lsm_<name> / bpf_iter_<name> function, everything else by the
// function's own name. The id, or -ENOENT / -ENAMETOOLONG.
int FindAttachBtfId(const struct btf* btf, const char* name,
                    enum bpf_attach_type attach_type) {
  const char* prefix = "";
  uint32_t kind = BTF_KIND_FUNC;
  switch (attach_type) {
    case BPF_TRACE_RAW_TP:
      prefix = "btf_trace_";
      kind = BTF_KIND_TYPEDEF;
      break;
    case BPF_LSM_MAC:
    case BPF_LSM_CGROUP:
      prefix = "bpf_lsm_";
      break;
    case BPF_TRACE_ITER:
      prefix = "bpf_iter_";
      break;
    default:
      break;
  }
  char full[kMaxNameSize];
  const int n = std::snprintf(full, sizeof(full), "%s%s", prefix, name);
  if (n < 0 || static_cast<size_t>(n) >= sizeof(full)) return -ENAMETOOLONG;
  return btf__find_by_name_kind(btf, full, kind);
}

}  // namespace bpfemu::compat

namespace {

// The stats fds handed out: each a memfd named like the kernel's anon
// inode ("bpf-stats"), remembered with its inode so that a closed fd (or
// its number reused by another file) no longer counts. Statistics are on
// while any of them is open, as the kernel's static key is held by each
// open stats file.
struct StatsFd {
  int fd;
  dev_t dev;
  ino_t ino;
};
std::mutex stats_mu;
std::vector<StatsFd>* stats_fds = new std::vector<StatsFd>;

}  // namespace

namespace bpfemu::compat {

bool StatsEnabled() {
  std::lock_guard<std::mutex> lock(stats_mu);
  auto& fds = *stats_fds;
  fds.erase(std::remove_if(fds.begin(), fds.end(),
                           [](const StatsFd& s) {
                             struct stat st;
                             return fstat(s.fd, &st) != 0 ||
                                    st.st_dev != s.dev || st.st_ino != s.ino;
                           }),
            fds.end());
  return !fds.empty();
}

void CountRuns(const bpfemu::Prog& prog, uint64_t ns, uint64_t cnt) {
  if (!StatsEnabled()) return;
  prog.extra->CountRuns(ns, cnt);
}

}  // namespace bpfemu::compat

extern "C" {

// BPF_ENABLE_STATS: CAP_SYS_ADMIN (EPERM for an unprivileged caller,
// emu/version.h), then the type (only BPF_STATS_RUN_TIME: EINVAL), then a
// read-only close-on-exec fd. While it is open, bpf_prog_test_run_opts()
// adds each run's time and count to the program's run_time_ns / run_cnt
// (bpf_prog_info).
int bpf_enable_stats(int type) {
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  if (type != BPF_STATS_RUN_TIME) return LibbpfErr(-EINVAL);
  const int fd = memfd_create("bpf-stats", MFD_CLOEXEC);
  if (fd < 0) return LibbpfErr(-errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = -errno;
    ::close(fd);
    return LibbpfErr(err);
  }
  std::lock_guard<std::mutex> lock(stats_mu);
  stats_fds->push_back({fd, st.st_dev, st.st_ino});
  return fd;
}

// BPF_PROG_BIND_MAP (kernel/bpf/syscall.c bpf_prog_bind_map): flags must
// be 0 (EINVAL); the program fd, then the map fd, must be one (EBADF when
// not open, EINVAL when something else); a map already bound is not bound
// twice. The program then holds the map for its lifetime, and
// bpf_prog_info's map_ids lists it.
int bpf_prog_bind_map(int prog_fd, int map_fd,
                      const struct bpf_prog_bind_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (BPFEMU_OPTS_GET(opts, flags, 0u) != 0) return LibbpfErr(-EINVAL);
  std::shared_ptr<const bpfemu::Prog> prog;
  if (int err = bpfemu::ProgFromFd(prog_fd, &prog); err != 0) {
    return LibbpfErr(err);
  }
  std::shared_ptr<bpfemu::Map> map = bpfemu::MapFromFd(map_fd);
  if (map == nullptr) return LibbpfErr(bpfemu::WrongFdErrno(map_fd));
  std::lock_guard<std::mutex> lock(prog->extra->mu);
  auto& bound = prog->extra->bound_maps;
  if (std::find(bound.begin(), bound.end(), map) == bound.end()) {
    bound.push_back(std::move(map));
  }
  return 0;
}

int libbpf_find_vmlinux_btf_id(const char* name,
                               enum bpf_attach_type attach_type) {
  struct btf* btf = btf__load_vmlinux_btf();
  if (btf == nullptr) {
    const int err = -errno;
    Print(LIBBPF_WARN, "libbpf: vmlinux BTF is not found\n");
    return LibbpfErr(err);
  }
  const int id = FindAttachBtfId(btf, name, attach_type);
  if (id <= 0) {
    Print(LIBBPF_WARN, "libbpf: %s is not found in vmlinux BTF\n", name);
  }
  btf__free(btf);
  return LibbpfErr(id);
}

// A subskeleton names maps, programs and global variables of an object
// some other skeleton opened: each is found by name (-ESRCH when one is
// missing), and each variable's address is its offset, from the object's
// BTF DATASEC of its map, into the map's data. The data is the map's
// initial value before bpf_object__load() and its value after, as
// bpf_map__initial_value() gives; libbpf keeps one address for both (it
// mmap()s the map over the initial buffer), libbpfemu does not, so a
// subskeleton opened before load keeps pointing at the initial values
// (docs/dropin.md).
int bpf_object__open_subskeleton(struct bpf_object_subskeleton* s) {
  if (s->obj == nullptr) return LibbpfErr(-EINVAL);
  struct bpf_object* obj = const_cast<struct bpf_object*>(s->obj);
  struct btf* btf = bpf_object__btf(obj);
  if (btf == nullptr) {
    const int err = -errno;
    Print(LIBBPF_WARN,
          "libbpf: subskeletons require BTF at runtime (object %s)\n",
          bpf_object__name(obj));
    return LibbpfErr(err);
  }
  for (int i = 0; i < s->map_cnt; ++i) {
    struct bpf_map_skeleton& m = s->maps[i];
    *m.map = bpf_object__find_map_by_name(obj, m.name);
    if (*m.map == nullptr) {
      Print(LIBBPF_WARN, "libbpf: failed to find skeleton map '%s'\n", m.name);
      Print(LIBBPF_WARN, "libbpf: failed to populate subskeleton maps: %d\n",
            -ESRCH);
      return LibbpfErr(-ESRCH);
    }
    if (m.mmaped != nullptr) {
      *m.mmaped = const_cast<void*>(bpf_map__initial_value(*m.map, nullptr));
    }
  }
  for (int i = 0; i < s->prog_cnt; ++i) {
    struct bpf_prog_skeleton& p = s->progs[i];
    *p.prog = bpf_object__find_program_by_name(obj, p.name);
    if (*p.prog == nullptr) {
      Print(LIBBPF_WARN, "libbpf: failed to find skeleton program '%s'\n",
            p.name);
      // libbpf 1.1.2's message says "maps" here too.
      Print(LIBBPF_WARN, "libbpf: failed to populate subskeleton maps: %d\n",
            -ESRCH);
      return LibbpfErr(-ESRCH);
    }
  }
  for (int i = 0; i < s->var_cnt; ++i) {
    const struct bpf_var_skeleton& v = s->vars[i];
    struct bpf_map* map = *v.map;
    const struct btf_type* sec =
        btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
    if (sec == nullptr || btf_kind(sec) != BTF_KIND_DATASEC) {
      static const char* const kKinds[] = {
          "void",    "int",      "ptr",      "array",      "struct",
          "union",   "enum",     "fwd",      "typedef",    "volatile",
          "const",   "restrict", "func",     "func_proto", "var",
          "datasec", "float",    "decl_tag", "type_tag",   "enum64"};
      const uint32_t k = sec != nullptr ? btf_kind(sec) : 0;
      Print(LIBBPF_WARN, "libbpf: type for map '%s' is not a datasec: %s",
            bpf_map__name(map), k < 20 ? kKinds[k] : "unknown");
      return LibbpfErr(-EINVAL);
    }
    auto* data = static_cast<char*>(
        const_cast<void*>(bpf_map__initial_value(map, nullptr)));
    const struct btf_var_secinfo* vsi = btf_var_secinfos(sec);
    for (int j = 0; j < btf_vlen(sec); ++j) {
      const struct btf_type* var = btf__type_by_id(btf, vsi[j].type);
      if (var != nullptr &&
          std::strcmp(btf__name_by_offset(btf, var->name_off), v.name) == 0) {
        *v.addr = data != nullptr ? data + vsi[j].offset : nullptr;
        break;
      }
    }
  }
  return 0;
}

void bpf_object__destroy_subskeleton(struct bpf_object_subskeleton* s) {
  if (s == nullptr) return;
  std::free(s->maps);
  std::free(s->progs);
  std::free(s->vars);
  std::free(s);
}

}  // extern "C"
