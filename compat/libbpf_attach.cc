// SPDX-License-Identifier: Apache-2.0
// libbpf 1.1's attach, link and id-walk calls over the emulator
// (tools/lib/bpf/bpf.c, libbpf.c), answering as kernel/bpf/syscall.c
// answers where the emulator has the objects, and as a kernel without the
// hook where it has none:
//   * every bpf() command gives EPERM to an unprivileged caller
//     (unprivileged_bpf_disabled, emu/version.h CallerPrivileged);
//   * program ids and BPF_PROG_GET_FD_BY_ID walk the emulator's programs;
//     the emulator has no BTF objects and its links have no ids, so their
//     walks find nothing (ENOENT); a link fd is one of the links below
//     (else EBADF if not open, EINVAL otherwise, as bpf_link_get_from_fd);
//   * cgroups (emu/cgroup_attach.h): BPF_PROG_ATTACH, _DETACH and _QUERY on
//     a cgroup2 directory fd keep the kernel's per-cgroup lists, and
//     BPF_LINK_CREATE of a cgroup program makes a cgroup link, which
//     BPF_LINK_UPDATE, BPF_LINK_DETACH and the close of its fd act on;
//   * iterators (emu/bpf_iter.h): BPF_LINK_CREATE of a BPF_TRACE_ITER
//     program makes an iterator link, BPF_ITER_CREATE on it an fd to read
//     the program's output from; fentry / fexit / fmod_ret programs link
//     to their trampolines (emu/trampoline.h);
//   * struct_ops (emu/struct_ops_map.h): bpf_map__attach_struct_ops
//     registers a .struct_ops map by its update, and links a
//     .struct_ops.link map (BPF_LINK_CREATE with BPF_STRUCT_OPS), whose
//     link BPF_LINK_UPDATE and BPF_LINK_DETACH serve.
//   * other hooks need kernel objects the emulator does not have: after the
//     kernel's own checks of the attach type and program fd, the answer is
//     EOPNOTSUPP (bpf_program__attach*: NULL with errno EOPNOTSUPP).
// docs/dropin.md lists every call and its answer.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"
#include "emu/bpf_iter.h"
#include "emu/btf.h"
#include "emu/cgroup_attach.h"
#include "emu/prog.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"
#include "emu/tc_attach.h"
#include "emu/trampoline.h"
#include "emu/version.h"
#include "emu/xdp_attach.h"

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;

// libbpf's struct bpf_link, for bpf_link__open(): an fd and a pin path.
// bpf_map__attach_struct_ops() of a map without BPF_F_LINK makes one with
// no kernel link (libbpf 1.1's bpf_link__detach_struct_ops): `fd` is the
// map's, and destroying it deletes element 0 instead of closing it.
struct bpf_link {
  int fd = -1;
  std::string pin_path;
  bool disconnected = false;
  bool struct_ops_map = false;
};

namespace {

int ProgFdError(int prog_fd) {
  std::shared_ptr<const bpfemu::Prog> prog;
  return bpfemu::ProgFromFd(prog_fd, &prog);
}

// bpf_link_get_from_fd(): no fd is ever a link here.
int LinkFdError(int link_fd) {
  return fcntl(link_fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

// A cgroup link fd moved off 0-2, as libbpf's ensure_good_fd(): the copy
// is the same link (emu/cgroup_attach.h finds a link by its file), which
// the original's close leaves attached.
int GoodLinkFd(int fd) {
  if (fd < 0 || fd >= 3) return fd;
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int err = copy < 0 ? -errno : 0;
  bpfemu::CloseFd(fd);
  return copy < 0 ? err : copy;
}

// The id walks' common checks (bpf_obj_get_next_id).
int NextIdChecks(uint32_t start_id, const uint32_t* next_id) {
  if (start_id >= INT32_MAX) return -EINVAL;
  if (!bpfemu::CallerPrivileged()) return -EPERM;
  if (next_id == nullptr) return -EFAULT;
  return 0;
}

// An fd moved off 0-2, as libbpf's ensure_good_fd().
int GoodProgFd(int fd) {
  if (fd >= 0 && fd < 3) {
    const int copy = bpfemu::DupProgFd(fd, 3);
    bpfemu::CloseFd(fd);
    return copy;
  }
  return fd;
}

// bpf_program__attach*()'s first check: the program's fd, or -1 with
// libbpf's warning and EINVAL when it is not loaded.
int LoadedProgFd(const struct bpf_program* prog) {
  const int prog_fd = prog != nullptr ? bpf_program__fd(prog) : -1;
  if (prog_fd < 0) {
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: prog '%s': can't attach before loaded\n",
                          prog != nullptr ? bpf_program__name(prog) : "");
    errno = EINVAL;
  }
  return prog_fd;
}

// bpf_program__attach*(): the program must be loaded (libbpf checks that
// first), then there is no hook to attach it to.
struct bpf_link* NoHook(const struct bpf_program* prog, const char* what) {
  if (LoadedProgFd(prog) < 0) return nullptr;
  const char* name = bpf_program__name(prog);
  bpfemu::compat::Print(
      LIBBPF_WARN,
      "libbpf: prog '%s': failed to attach %s: bpfemu has no kernel hooks; "
      "run programs with bpf_prog_test_run_opts()\n",
      name, what);
  errno = EOPNOTSUPP;
  return nullptr;
}

// BPF_PROG_QUERY's target check for each attach-type family (kernel/bpf/
// syscall.c bpf_prog_query and the per-family query functions). Nothing is
// ever attached on the emulator, so a valid target has no programs: 0 with
// prog_cnt 0. `wrote` says whether the kernel would have written prog_cnt
// and attach_flags back.
int QueryTarget(int target_fd, uint32_t type, uint32_t query_flags,
                bool* wrote) {
  *wrote = false;
  switch (type) {
    case BPF_CGROUP_INET_INGRESS:
    case BPF_CGROUP_INET_EGRESS:
    case BPF_CGROUP_INET_SOCK_CREATE:
    case BPF_CGROUP_INET_SOCK_RELEASE:
    case BPF_CGROUP_INET4_BIND:
    case BPF_CGROUP_INET6_BIND:
    case BPF_CGROUP_INET4_POST_BIND:
    case BPF_CGROUP_INET6_POST_BIND:
    case BPF_CGROUP_INET4_CONNECT:
    case BPF_CGROUP_INET6_CONNECT:
    case BPF_CGROUP_INET4_GETPEERNAME:
    case BPF_CGROUP_INET6_GETPEERNAME:
    case BPF_CGROUP_INET4_GETSOCKNAME:
    case BPF_CGROUP_INET6_GETSOCKNAME:
    case BPF_CGROUP_UDP4_SENDMSG:
    case BPF_CGROUP_UDP6_SENDMSG:
    case BPF_CGROUP_UDP4_RECVMSG:
    case BPF_CGROUP_UDP6_RECVMSG:
    case BPF_CGROUP_SOCK_OPS:
    case BPF_CGROUP_DEVICE:
    case BPF_CGROUP_SYSCTL:
    case BPF_CGROUP_GETSOCKOPT:
    case BPF_CGROUP_SETSOCKOPT:
    case BPF_LSM_CGROUP: {
      // cgroup_get_from_fd(): a directory of a cgroup filesystem, or EBADF.
      struct statfs fs;
      struct stat st;
      if (fstatfs(target_fd, &fs) != 0 || fstat(target_fd, &st) != 0 ||
          !S_ISDIR(st.st_mode) ||
          (fs.f_type != CGROUP2_SUPER_MAGIC &&
           fs.f_type != CGROUP_SUPER_MAGIC)) {
        return -EBADF;
      }
      *wrote = true;
      return 0;
    }
    case BPF_LIRC_MODE2:
      // rc_dev_get_from_fd(): no emulated lirc devices.
      if (query_flags != 0) return -EINVAL;
      return fcntl(target_fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
    case BPF_FLOW_DISSECTOR:
    case BPF_SK_LOOKUP: {
      // netns_bpf_prog_query(): a network namespace fd.
      if (query_flags != 0) return -EINVAL;
      if (fcntl(target_fd, F_GETFD) < 0) return -EBADF;
      if (ioctl(target_fd, NS_GET_NSTYPE) != CLONE_NEWNET) return -EINVAL;
      *wrote = true;
      return 0;
    }
    case BPF_SK_SKB_STREAM_PARSER:
    case BPF_SK_SKB_STREAM_VERDICT:
    case BPF_SK_MSG_VERDICT:
    case BPF_SK_SKB_VERDICT: {
      // sock_map_bpf_prog_query(): a map fd; only socket maps have
      // programs (others EOPNOTSUPP, with the counts still written).
      if (query_flags != 0) return -EINVAL;
      auto map = bpfemu::MapFromFd(target_fd);
      if (map == nullptr) {
        return fcntl(target_fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
      }
      *wrote = true;
      return map->type() == BPF_MAP_TYPE_SOCKMAP ||
                     map->type() == BPF_MAP_TYPE_SOCKHASH
                 ? 0
                 : -EOPNOTSUPP;
    }
    default:
      // Also tcx and netkit (6.6+), which the emulator does not model.
      return -EINVAL;
  }
}

// BPF_PROG_QUERY of a cgroup hook (emu/cgroup_attach.h) and libbpf's copy
// back of attach_flags and prog_cnt: what the kernel wrote (the flags and
// the count, then as many ids and flags as prog_cnt allows), or on an error
// before that the attr's own 0 and the caller's prog_cnt.
int CgroupQuery(int target_fd, enum bpf_attach_type type,
                struct bpf_prog_query_opts* opts) {
  const __u32 query_flags = BPFEMU_OPTS_GET(opts, query_flags, 0u);
  __u32* ids = BPFEMU_OPTS_GET(opts, prog_ids, static_cast<__u32*>(nullptr));
  __u32* flags_out =
      BPFEMU_OPTS_GET(opts, prog_attach_flags, static_cast<__u32*>(nullptr));
  const __u32 cnt_in = BPFEMU_OPTS_GET(opts, prog_cnt, 0u);
  bpfemu::CgroupFds fds;
  bpfemu::CgroupQueryResult q;
  int err = bpfemu::CgroupQueryCommand(target_fd, type, query_flags,
                                       flags_out != nullptr, fds, &q);
  if (err == bpfemu::kNotCgroupHook) return err;
  __u32 attach_flags = 0, cnt = cnt_in;
  if (err == 0) {
    attach_flags = q.flags;
    cnt = static_cast<__u32>(q.ids.size());
    err = bpfemu::CgroupQueryCopyOut(q, cnt_in, ids != nullptr,
                                     flags_out != nullptr,
                                     query_flags & BPF_F_QUERY_EFFECTIVE,
                                     [&](bool flags, uint32_t i, uint32_t v) {
                                       (flags ? flags_out : ids)[i] = v;
                                       return 0;
                                     });
  }
  if (opts != nullptr) {
    if (opts->sz >= offsetof(struct bpf_prog_query_opts, attach_flags) +
                        sizeof(opts->attach_flags)) {
      opts->attach_flags = attach_flags;
    }
    if (opts->sz >= offsetof(struct bpf_prog_query_opts, prog_cnt) +
                        sizeof(opts->prog_cnt)) {
      opts->prog_cnt = cnt;
    }
  }
  return err;
}

// libbpf's OPTS_ZEROED(): the caller's bytes after `end` are zero.
bool ZeroedAfter(const struct bpf_link_create_opts* opts, size_t end) {
  if (opts == nullptr) return true;
  const auto* bytes = reinterpret_cast<const unsigned char*>(opts);
  for (size_t i = end; i < opts->sz; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" {

int bpf_prog_query_opts(int target_fd, enum bpf_attach_type type,
                        struct bpf_prog_query_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (int err = CgroupQuery(target_fd, type, opts);
      err != bpfemu::kNotCgroupHook) {
    return LibbpfErr(err);
  }
  const __u32 query_flags = BPFEMU_OPTS_GET(opts, query_flags, 0u);
  int err;
  bool wrote = false;
  if (!bpfemu::CallerPrivileged()) {
    err = -EPERM;
  } else if (query_flags & ~static_cast<__u32>(BPF_F_QUERY_EFFECTIVE)) {
    err = -EINVAL;
  } else {
    err = QueryTarget(target_fd, type, query_flags, &wrote);
  }
  // libbpf copies the attributes back: the kernel's zeros where it wrote
  // them, the caller's prog_cnt otherwise.
  if (opts != nullptr) {
    if (opts->sz >= offsetof(struct bpf_prog_query_opts, attach_flags) +
                        sizeof(opts->attach_flags)) {
      opts->attach_flags = 0;
    }
    if (wrote && opts->sz >= offsetof(struct bpf_prog_query_opts, prog_cnt) +
                                 sizeof(opts->prog_cnt)) {
      opts->prog_cnt = 0;
    }
  }
  return LibbpfErr(err);
}

int bpf_prog_query(int target_fd, enum bpf_attach_type type, __u32 query_flags,
                   __u32* attach_flags, __u32* prog_ids, __u32* prog_cnt) {
  LIBBPF_OPTS(bpf_prog_query_opts, opts);
  opts.query_flags = query_flags;
  opts.prog_ids = prog_ids;
  opts.prog_cnt = *prog_cnt;
  const int ret = bpf_prog_query_opts(target_fd, type, &opts);
  if (attach_flags != nullptr) *attach_flags = opts.attach_flags;
  *prog_cnt = opts.prog_cnt;
  return ret;
}

// BPF_TASK_FD_QUERY: the emulator creates no raw-tracepoint links and
// attaches nothing to perf events, so an open fd is either a perf event
// without a program (ENOENT, bpf_get_perf_event_info) or something else
// (ENOTSUPP).
int bpf_task_fd_query(int pid, int fd, __u32 flags, char* buf, __u32* buf_len,
                      __u32* prog_id, __u32* fd_type, __u64* probe_offset,
                      __u64* probe_addr) {
  (void)buf;
  *prog_id = 0;
  *fd_type = 0;
  *probe_offset = 0;
  *probe_addr = 0;
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  if (flags != 0) return LibbpfErr(-EINVAL);
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
    return LibbpfErr(-ENOENT);
  }
  (void)buf_len;  // left as given: nothing is written back
  const std::string link =
      "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  char target[64] = {};
  const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
  if (n < 0) return LibbpfErr(-EBADF);
  if (std::strcmp(target, "anon_inode:[perf_event]") == 0) {
    return LibbpfErr(-ENOENT);
  }
  return LibbpfErr(-524);  // ENOTSUPP
}

int bpf_prog_get_next_id(__u32 start_id, __u32* next_id) {
  return LibbpfErr(bpfemu::ProgGetNextId(start_id, next_id));
}

int bpf_prog_get_fd_by_id_opts(__u32 id,
                               const struct bpf_get_fd_by_id_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  // BPF_PROG_GET_FD_BY_ID's attributes end at prog_id: open_flags is
  // refused (CHECK_ATTR).
  if (BPFEMU_OPTS_GET(opts, open_flags, 0u) != 0) return LibbpfErr(-EINVAL);
  return LibbpfErr(GoodProgFd(bpfemu::ProgGetFdById(id)));
}

int bpf_prog_get_fd_by_id(__u32 id) {
  return bpf_prog_get_fd_by_id_opts(id, nullptr);
}

int bpf_btf_get_next_id(__u32 start_id, __u32* next_id) {
  if (int err = NextIdChecks(start_id, next_id); err != 0) {
    return LibbpfErr(err);
  }
  return LibbpfErr(bpfemu::BtfGetNextId(start_id, next_id));
}

int bpf_link_get_next_id(__u32 start_id, __u32* next_id) {
  if (int err = NextIdChecks(start_id, next_id); err != 0) {
    return LibbpfErr(err);
  }
  return LibbpfErr(-ENOENT);  // no links
}

int bpf_btf_get_fd_by_id_opts(__u32 id,
                              const struct bpf_get_fd_by_id_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (BPFEMU_OPTS_GET(opts, open_flags, 0u) != 0) return LibbpfErr(-EINVAL);
  return LibbpfErr(bpfemu::compat::GoodBtfFd(bpfemu::BtfGetFdById(id)));
}

int bpf_btf_get_fd_by_id(__u32 id) {
  return bpf_btf_get_fd_by_id_opts(id, nullptr);
}

int bpf_link_get_fd_by_id_opts(__u32 id,
                               const struct bpf_get_fd_by_id_opts* opts) {
  (void)id;
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (BPFEMU_OPTS_GET(opts, open_flags, 0u) != 0) return LibbpfErr(-EINVAL);
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  return LibbpfErr(-ENOENT);
}

int bpf_link_get_fd_by_id(__u32 id) {
  return bpf_link_get_fd_by_id_opts(id, nullptr);
}

// BPF_PROG_ATTACH: a cgroup's hook (emu/cgroup_attach.h); for another:
// flags, the attach type, the program, then no hook.
int bpf_prog_attach_opts(int prog_fd, int target_fd, enum bpf_attach_type type,
                         const struct bpf_prog_attach_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  const __u32 flags = BPFEMU_OPTS_GET(opts, flags, 0u);
  bpfemu::ProgAttachAttr attr;
  attr.target_fd = target_fd;
  attr.attach_bpf_fd = prog_fd;
  attr.attach_type = type;
  attr.attach_flags = flags;
  attr.replace_bpf_fd = BPFEMU_OPTS_GET(opts, replace_prog_fd, 0);
  bpfemu::CgroupFds fds;
  if (int err = bpfemu::CgroupAttachCommand(attr, fds);
      err != bpfemu::kNotCgroupHook) {
    return LibbpfErr(err);
  }
  if (flags & ~static_cast<__u32>(BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI |
                                  BPF_F_REPLACE)) {
    return LibbpfErr(-EINVAL);
  }
  if (int err = ProgFdError(prog_fd); err != 0) return LibbpfErr(err);
  return LibbpfErr(-EOPNOTSUPP);
}

int bpf_prog_attach(int prog_fd, int attachable_fd, enum bpf_attach_type type,
                    unsigned int flags) {
  LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = flags);
  return bpf_prog_attach_opts(prog_fd, attachable_fd, type, &opts);
}

// BPF_PROG_DETACH: a cgroup's hook (emu/cgroup_attach.h); on another
// nothing is ever attached, after the hook's own checks (kernel/bpf/
// syscall.c bpf_prog_detach): the program is taken by the hook's program
// type, then detaching finds nothing (ENOENT).
int bpf_prog_detach2(int prog_fd, int attachable_fd,
                     enum bpf_attach_type type) {
  bpfemu::ProgAttachAttr attr;
  attr.target_fd = attachable_fd;
  attr.attach_bpf_fd = prog_fd;
  attr.attach_type = type;
  bpfemu::CgroupFds fds;
  if (int err = bpfemu::CgroupDetachCommand(attr, fds);
      err != bpfemu::kNotCgroupHook) {
    return LibbpfErr(err);
  }
  // bpf_prog_get_type(): the fd's program, of the hook's type.
  auto prog_of_type = [&](uint32_t ptype) {
    std::shared_ptr<const bpfemu::Prog> prog;
    if (int err = bpfemu::ProgFromFd(prog_fd, &prog); err != 0) return err;
    return prog->type == ptype ? 0 : -EINVAL;
  };
  switch (type) {
    case BPF_FLOW_DISSECTOR:
      // netns_bpf_prog_detach(): no target, then the program.
      if (attachable_fd != 0) return LibbpfErr(-EINVAL);
      if (int err = prog_of_type(BPF_PROG_TYPE_FLOW_DISSECTOR); err != 0) {
        return LibbpfErr(err);
      }
      return LibbpfErr(-ENOENT);
    case BPF_LIRC_MODE2:
      // lirc_prog_detach(): the program, then rc_dev_get_from_fd (no lirc
      // devices here).
      if (int err = prog_of_type(BPF_PROG_TYPE_LIRC_MODE2); err != 0) {
        return LibbpfErr(err);
      }
      return LibbpfErr(LinkFdError(attachable_fd));
    case BPF_SK_MSG_VERDICT:
    case BPF_SK_SKB_STREAM_PARSER:
    case BPF_SK_SKB_STREAM_VERDICT:
    case BPF_SK_SKB_VERDICT: {
      // sock_map_prog_detach(): the map, then the program of the type;
      // only socket maps have programs (sock_map_progs).
      auto map = bpfemu::MapFromFd(attachable_fd);
      if (map == nullptr) return LibbpfErr(LinkFdError(attachable_fd));
      const uint32_t ptype = type == BPF_SK_MSG_VERDICT ? BPF_PROG_TYPE_SK_MSG
                                                        : BPF_PROG_TYPE_SK_SKB;
      if (int err = prog_of_type(ptype); err != 0) return LibbpfErr(err);
      return LibbpfErr(map->type() == BPF_MAP_TYPE_SOCKMAP ||
                               map->type() == BPF_MAP_TYPE_SOCKHASH
                           ? -ENOENT
                           : -EOPNOTSUPP);
    }
    default:
      // The other hooks have no BPF_PROG_DETACH (tcx and netkit: not
      // modelled).
      return LibbpfErr(-EINVAL);
  }
}

int bpf_prog_detach(int attachable_fd, enum bpf_attach_type type) {
  return bpf_prog_detach2(0, attachable_fd, type);
}

int bpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type type,
                    const struct bpf_link_create_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  // libbpf's own checks: iter_info_len and target_btf_id exclude each
  // other and what follows them; a hook without attach options takes none
  // past flags.
  const __u32 iter_len = BPFEMU_OPTS_GET(opts, iter_info_len, 0u);
  const __u32 btf_id = BPFEMU_OPTS_GET(opts, target_btf_id, 0u);
  if ((iter_len != 0 || btf_id != 0) &&
      ((iter_len != 0 && btf_id != 0) ||
       !ZeroedAfter(opts, offsetof(struct bpf_link_create_opts, target_btf_id) +
                              sizeof(__u32)))) {
    return LibbpfErr(-EINVAL);
  }
  if (bpfemu::CgroupAttachProgType(type) != 0 && btf_id == 0 &&
      !ZeroedAfter(
          opts, offsetof(struct bpf_link_create_opts, flags) + sizeof(__u32))) {
    return LibbpfErr(-EINVAL);
  }
  // A cgroup program (emu/cgroup_attach.h): target_btf_id travels in the
  // attr's link_create.cgroup.relative_fd.
  bpfemu::LinkCreateAttr attr;
  attr.prog_fd = prog_fd;
  attr.target_fd = target_fd;
  attr.attach_type = type;
  attr.flags = BPFEMU_OPTS_GET(opts, flags, 0u);
  attr.relative_fd = btf_id;
  if (type != 44) {  // BPF_STRUCT_OPS: no program
    bpfemu::CgroupFds fds;
    if (int fd = bpfemu::CgroupLinkCreateCommand(attr, fds);
        fd != bpfemu::kNotCgroupHook) {
      return LibbpfErr(GoodLinkFd(fd));
    }
  }
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  // BPF_STRUCT_OPS (6.4, past Debian's 6.1 enum): prog_fd is the map's
  // (link_create.map_fd) and the kernel's bpf_struct_ops_link_create reads
  // neither flags nor target_btf_id, so both pass; libbpf 1.1 refuses, when
  // target_btf_id is 0, the options' fields its default case does not know
  // (OPTS_ZEROED after flags; with target_btf_id it checked them above).
  if (static_cast<uint32_t>(type) == bpfemu::kBpfStructOpsAttach) {
    if (btf_id == 0 &&
        !ZeroedAfter(opts, offsetof(struct bpf_link_create_opts, flags) +
                               sizeof(__u32))) {
      return LibbpfErr(-EINVAL);
    }
    return LibbpfErr(bpfemu::StructOpsLinkCreate(prog_fd));
  }
  if (static_cast<int>(type) < 0 || type >= __MAX_BPF_ATTACH_TYPE) {
    return LibbpfErr(-EINVAL);
  }
  std::shared_ptr<const bpfemu::Prog> prog;
  if (int err = bpfemu::ProgFromFd(prog_fd, &prog); err != 0) {
    return LibbpfErr(err);
  }
  if (prog->type == BPF_PROG_TYPE_TRACING &&
      prog->expected_attach_type == BPF_TRACE_ITER) {
    return LibbpfErr(bpfemu::IterLinkCreate(
        prog_fd, type, static_cast<uint32_t>(target_fd),
        BPFEMU_OPTS_GET(opts, flags, 0u),
        BPFEMU_OPTS_GET(opts, iter_info,
                        static_cast<union bpf_iter_link_info*>(nullptr)),
        BPFEMU_OPTS_GET(opts, iter_info_len, 0u)));
  }
  // fentry / fexit / fmod_ret (emu/trampoline.h).
  if (prog->type == BPF_PROG_TYPE_TRACING &&
      bpfemu::HasTrampoline(prog->expected_attach_type)) {
    return LibbpfErr(bpfemu::TracingLinkCreate(
        prog_fd, type, static_cast<uint32_t>(target_fd),
        BPFEMU_OPTS_GET(opts, target_btf_id, 0u),
        BPFEMU_OPTS_GET(opts, tracing.cookie, uint64_t{0})));
  }
  return LibbpfErr(-EOPNOTSUPP);
}

// BPF_LINK_UPDATE: a struct_ops link's map (emu/struct_ops_map.h) or a
// cgroup link's program (emu/cgroup_attach.h) is replaced; the other links
// here have none to replace (EINVAL, as bpf_link_get_from_fd for a file
// that is no link).
int bpf_link_update(int link_fd, int new_prog_fd,
                    const struct bpf_link_update_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  // A struct_ops link takes maps (link_update.new_map_fd and old_map_fd
  // share the program fields; libbpf 1.2's bpf_link__update_map passes the
  // new map as new_prog_fd); link_update() checks the flags first.
  if (bpfemu::IsStructOpsLinkFd(link_fd)) {
    const uint32_t flags = BPFEMU_OPTS_GET(opts, flags, 0u);
    if (flags & ~static_cast<uint32_t>(BPF_F_REPLACE)) {
      return LibbpfErr(-EINVAL);
    }
    return LibbpfErr(bpfemu::StructOpsLinkUpdate(
        link_fd, new_prog_fd, flags, BPFEMU_OPTS_GET(opts, old_prog_fd, 0u)));
  }
  bpfemu::CgroupFds fds;
  return LibbpfErr(bpfemu::CgroupLinkUpdateCommand(
      link_fd, new_prog_fd, BPFEMU_OPTS_GET(opts, flags, 0u),
      static_cast<int32_t>(BPFEMU_OPTS_GET(opts, old_prog_fd, 0u)), fds));
}

int bpf_link_detach(int link_fd) {
  // bpf_cgroup_link_detach().
  if (bpfemu::IsCgroupLinkFd(link_fd)) {
    return LibbpfErr(bpfemu::CgroupLinkDetach(link_fd));
  }
  // Iterator and tracing links have no detach operation
  // (bpf_iter_link_lops, bpf_tracing_link_lops).
  if (bpfemu::IsIterLinkFd(link_fd) || bpfemu::IsTracingLinkFd(link_fd)) {
    return LibbpfErr(-EOPNOTSUPP);
  }
  // bpf_struct_ops_map_link_detach().
  if (bpfemu::IsStructOpsLinkFd(link_fd)) {
    return LibbpfErr(bpfemu::StructOpsLinkDetach(link_fd));
  }
  return LibbpfErr(LinkFdError(link_fd));
}

int bpf_iter_create(int link_fd) {
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  return LibbpfErr(bpfemu::IterCreate(link_fd, 0));
}

int bpf_raw_tracepoint_open(const char* name, int prog_fd) {
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  std::shared_ptr<const bpfemu::Prog> prog;
  if (int err = bpfemu::ProgFromFd(prog_fd, &prog); err != 0) {
    return LibbpfErr(err);
  }
  // fentry / fexit / fmod_ret attach here too (bpf_raw_tp_link_attach).
  if (prog->type == BPF_PROG_TYPE_TRACING &&
      bpfemu::HasTrampoline(prog->expected_attach_type)) {
    return LibbpfErr(bpfemu::TracingRawTpOpen(prog_fd, name));
  }
  return LibbpfErr(-EOPNOTSUPP);
}

struct bpf_link* bpf_program__attach(const struct bpf_program* prog) {
  // A section a libbpf_register_prog_handler() definition owns attaches
  // through its callback, which may make a link of its own.
  struct bpf_link* link = nullptr;
  if (bpfemu::compat::CustomAttach(prog, &link)) return link;
  // SEC("iter/...") attaches as bpf_program__attach_iter(prog, NULL).
  if (prog != nullptr && bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
      bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER) {
    return bpf_program__attach_iter(prog, nullptr);
  }
  // SEC("fentry/...") and its kin as bpf_program__attach_trace().
  if (prog != nullptr && bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
      bpfemu::HasTrampoline(bpf_program__expected_attach_type(prog))) {
    return bpf_program__attach_trace(prog);
  }
  return NoHook(prog, "by its section");
}
struct bpf_link* bpf_program__attach_perf_event(const struct bpf_program* prog,
                                                int pfd) {
  (void)pfd;
  return NoHook(prog, "to a perf event");
}
struct bpf_link* bpf_program__attach_perf_event_opts(
    const struct bpf_program* prog, int pfd,
    const struct bpf_perf_event_opts* opts) {
  (void)pfd;
  (void)opts;
  return NoHook(prog, "to a perf event");
}
struct bpf_link* bpf_program__attach_kprobe(const struct bpf_program* prog,
                                            bool retprobe, const char* func) {
  (void)retprobe;
  (void)func;
  return NoHook(prog, "a kprobe");
}
struct bpf_link* bpf_program__attach_kprobe_opts(
    const struct bpf_program* prog, const char* func,
    const struct bpf_kprobe_opts* opts) {
  (void)func;
  (void)opts;
  return NoHook(prog, "a kprobe");
}
struct bpf_link* bpf_program__attach_kprobe_multi_opts(
    const struct bpf_program* prog, const char* pattern,
    const struct bpf_kprobe_multi_opts* opts) {
  (void)pattern;
  (void)opts;
  return NoHook(prog, "a kprobe.multi");
}
struct bpf_link* bpf_program__attach_ksyscall(
    const struct bpf_program* prog, const char* syscall_name,
    const struct bpf_ksyscall_opts* opts) {
  (void)syscall_name;
  (void)opts;
  return NoHook(prog, "a ksyscall");
}
struct bpf_link* bpf_program__attach_uprobe(const struct bpf_program* prog,
                                            bool retprobe, pid_t pid,
                                            const char* binary_path,
                                            size_t func_offset) {
  (void)retprobe;
  (void)pid;
  (void)binary_path;
  (void)func_offset;
  return NoHook(prog, "a uprobe");
}
struct bpf_link* bpf_program__attach_uprobe_opts(
    const struct bpf_program* prog, pid_t pid, const char* binary_path,
    size_t func_offset, const struct bpf_uprobe_opts* opts) {
  (void)pid;
  (void)binary_path;
  (void)func_offset;
  (void)opts;
  return NoHook(prog, "a uprobe");
}
struct bpf_link* bpf_program__attach_usdt(const struct bpf_program* prog,
                                          pid_t pid, const char* binary_path,
                                          const char* usdt_provider,
                                          const char* usdt_name,
                                          const struct bpf_usdt_opts* opts) {
  (void)pid;
  (void)binary_path;
  (void)usdt_provider;
  (void)usdt_name;
  (void)opts;
  return NoHook(prog, "a USDT probe");
}
struct bpf_link* bpf_program__attach_tracepoint(const struct bpf_program* prog,
                                                const char* tp_category,
                                                const char* tp_name) {
  (void)tp_category;
  (void)tp_name;
  return NoHook(prog, "a tracepoint");
}
struct bpf_link* bpf_program__attach_tracepoint_opts(
    const struct bpf_program* prog, const char* tp_category,
    const char* tp_name, const struct bpf_tracepoint_opts* opts) {
  (void)tp_category;
  (void)tp_name;
  (void)opts;
  return NoHook(prog, "a tracepoint");
}
struct bpf_link* bpf_program__attach_raw_tracepoint(
    const struct bpf_program* prog, const char* tp_name) {
  (void)tp_name;
  return NoHook(prog, "a raw tracepoint");
}
// The link of BPF_LINK_CREATE's answer `fd` for program `name`; on failure
// libbpf's "failed to attach<to_what>" warning, then nullptr with errno.
static struct bpf_link* LinkOfCreate(int fd, const char* name,
                                     const char* to_what) {
  if (fd < 0) {
    const int err = errno;
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: prog '%s': failed to attach%s: %s\n", name,
                          to_what, std::strerror(err));
    errno = err;
    return nullptr;
  }
  auto* link = new bpf_link;
  link->fd = fd;
  return link;
}
// libbpf's bpf_program__attach_btf_id(): BPF_LINK_CREATE with the
// program's attach type and the options' cookie (emu/trampoline.h for
// fentry, fexit and fmod_ret; no hook for the others).
struct bpf_link* bpf_program__attach_trace_opts(
    const struct bpf_program* prog, const struct bpf_trace_opts* opts) {
  if (!OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  const int prog_fd = prog != nullptr ? bpf_program__fd(prog) : -1;
  const char* name = prog != nullptr ? bpf_program__name(prog) : "";
  if (prog_fd < 0) return NoHook(prog, "a BTF trampoline");
  const uint32_t type = bpf_program__expected_attach_type(prog);
  if (!bpfemu::HasTrampoline(type)) {
    return NoHook(prog, "a BTF trampoline");
  }
  LIBBPF_OPTS(bpf_link_create_opts, link_opts);
  link_opts.tracing.cookie = BPFEMU_OPTS_GET(opts, cookie, uint64_t{0});
  const int fd = bpf_link_create(
      prog_fd, 0, static_cast<enum bpf_attach_type>(type), &link_opts);
  return LinkOfCreate(fd, name, "");
}
struct bpf_link* bpf_program__attach_trace(const struct bpf_program* prog) {
  return bpf_program__attach_trace_opts(prog, nullptr);
}
struct bpf_link* bpf_program__attach_lsm(const struct bpf_program* prog) {
  return NoHook(prog, "an LSM hook");
}
// libbpf's bpf_program__attach_fd(prog, cgroup_fd, 0, "cgroup"):
// BPF_LINK_CREATE with the program's expected attach type.
struct bpf_link* bpf_program__attach_cgroup(const struct bpf_program* prog,
                                            int cgroup_fd) {
  const int prog_fd = LoadedProgFd(prog);
  if (prog_fd < 0) return nullptr;
  const char* name = bpf_program__name(prog);
  const int fd = bpf_link_create(
      prog_fd, cgroup_fd, bpf_program__expected_attach_type(prog), nullptr);
  return LinkOfCreate(fd, name, " to cgroup");
}
struct bpf_link* bpf_program__attach_netns(const struct bpf_program* prog,
                                           int netns_fd) {
  (void)netns_fd;
  return NoHook(prog, "a network namespace");
}
struct bpf_link* bpf_program__attach_xdp(const struct bpf_program* prog,
                                         int ifindex) {
  (void)ifindex;
  return NoHook(prog, "an XDP device");
}
struct bpf_link* bpf_program__attach_freplace(const struct bpf_program* prog,
                                              int target_fd,
                                              const char* attach_func_name) {
  (void)target_fd;
  (void)attach_func_name;
  return NoHook(prog, "a freplace target");
}
// libbpf 1.1.2's bpf_map__attach_struct_ops(): EINVAL for a map that is
// not a created struct_ops map; else the map's value with its programs'
// fds written to element 0, which registers a .struct_ops map (the link
// then only deletes the element when destroyed). A .struct_ops.link map
// (libbpf 1.2 on) gets BPF_LINK_CREATE after the write, a link of its own
// (emu/struct_ops_map.h); destroying it detaches.
struct bpf_link* bpf_map__attach_struct_ops(const struct bpf_map* map) {
  int link_fd = -1;
  const int err = bpfemu::compat::AttachStructOpsMap(map, &link_fd);
  if (err != 0) {
    errno = -err;
    return nullptr;
  }
  auto* link = new bpf_link;
  if (link_fd >= 0) {
    link->fd = link_fd;
  } else {
    link->fd = bpf_map__fd(map);
    link->struct_ops_map = true;
  }
  return link;
}
// libbpf's bpf_program__attach_iter(): BPF_LINK_CREATE with the options'
// link_info (emu/bpf_iter.h).
struct bpf_link* bpf_program__attach_iter(
    const struct bpf_program* prog, const struct bpf_iter_attach_opts* opts) {
  if (!OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  const int prog_fd = LoadedProgFd(prog);
  if (prog_fd < 0) return nullptr;
  const char* name = bpf_program__name(prog);
  LIBBPF_OPTS(bpf_link_create_opts, link_opts);
  link_opts.iter_info = BPFEMU_OPTS_GET(
      opts, link_info, static_cast<union bpf_iter_link_info*>(nullptr));
  link_opts.iter_info_len = BPFEMU_OPTS_GET(opts, link_info_len, 0u);
  const int fd = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, &link_opts);
  return LinkOfCreate(fd, name, " to iterator");
}

// Links: only bpf_link__open() makes one here (of whatever the pin holds,
// as libbpf 1.1 does not check the type).
struct bpf_link* bpf_link__open(const char* path) {
  const int fd = bpf_obj_get(path);
  if (fd < 0) {
    const int err = -errno;
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: failed to open link at %s: %d\n", path, err);
    errno = -err;
    return nullptr;
  }
  auto* link = new bpf_link;
  link->fd = fd;
  link->pin_path = path;
  return link;
}

int bpf_link__fd(const struct bpf_link* link) { return link->fd; }

const char* bpf_link__pin_path(const struct bpf_link* link) {
  return link->pin_path.empty() ? nullptr : link->pin_path.c_str();
}

void bpf_link__disconnect(struct bpf_link* link) { link->disconnected = true; }

int bpf_link__detach(struct bpf_link* link) {
  return bpf_link_detach(link->fd) != 0 ? -errno : 0;
}

int bpf_link__update_program(struct bpf_link* link, struct bpf_program* prog) {
  const int ret = bpf_link_update(link->fd, bpf_program__fd(prog), nullptr);
  return ret < 0 ? -errno : ret;
}

int bpf_link__pin(struct bpf_link* link, const char* path) {
  if (!link->pin_path.empty()) return LibbpfErr(-EBUSY);
  if (int err = bpfemu::compat::MakeParentDir(path); err != 0) {
    return LibbpfErr(err);
  }
  if (int err = bpfemu::compat::CheckPinPath(path); err != 0) {
    return LibbpfErr(err);
  }
  if (bpf_obj_pin(link->fd, path) != 0) return LibbpfErr(-errno);
  link->pin_path = path;
  return 0;
}

int bpf_link__unpin(struct bpf_link* link) {
  if (link->pin_path.empty()) return LibbpfErr(-EINVAL);
  if (unlink(link->pin_path.c_str()) != 0) return -errno;
  link->pin_path.clear();
  return 0;
}

// A link that is not disconnected is detached by closing its fd; a
// struct_ops map's registration without a link by deleting element 0
// (bpf_link__detach_struct_ops).
int bpf_link__destroy(struct bpf_link* link) {
  const auto v = reinterpret_cast<uintptr_t>(link);
  if (link == nullptr || v >= static_cast<uintptr_t>(-4095)) return 0;
  int err = 0;
  if (!link->disconnected && link->struct_ops_map) {
    const uint32_t zero = 0;
    err = bpfemu::MapDeleteElem(link->fd, &zero);
  } else if (!link->disconnected) {
    err = bpfemu::CloseFd(link->fd);
  }
  delete link;
  return LibbpfErr(err);
}

// ---- XDP on a device through rtnetlink (tools/lib/bpf/netlink.c) ----
// libbpf sends RTM_SETLINK with IFLA_XDP {FD, FLAGS, EXPECTED_FD}; the
// emulator's devices answer it (emu/xdp_attach.h).

int bpf_xdp_attach(int ifindex, int prog_fd, __u32 flags,
                   const struct bpf_xdp_attach_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  int old_prog_fd = opts != nullptr ? opts->old_prog_fd : 0;
  // An old program fd turns REPLACE on; without one the expected fd sent
  // is -1.
  if (old_prog_fd != 0) {
    flags |= XDP_FLAGS_REPLACE;
  } else {
    old_prog_fd = -1;
  }
  return LibbpfErr(bpfemu::XdpSetLink(ifindex, prog_fd, old_prog_fd, flags));
}

int bpf_xdp_detach(int ifindex, __u32 flags,
                   const struct bpf_xdp_attach_opts* opts) {
  return bpf_xdp_attach(ifindex, -1, flags, opts);
}

// An RTM_GETLINK dump filtered by ifindex: a device that does not exist
// has no entry, so everything reads 0 (as libbpf answers for it).
int bpf_xdp_query(int ifindex, int xdp_flags, struct bpf_xdp_query_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (xdp_flags & ~XDP_FLAGS_MASK) return LibbpfErr(-EINVAL);
  const int modes =
      xdp_flags & (XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE);
  if (modes & (modes - 1)) return LibbpfErr(-EINVAL);
  bpfemu::XdpAttachment a;
  if (ifindex > 0) bpfemu::XdpQueryLink(static_cast<uint32_t>(ifindex), &a);
  if (opts != nullptr) {
    opts->prog_id = a.prog_id;
    opts->drv_prog_id = a.drv_prog_id;
    opts->hw_prog_id = a.hw_prog_id;
    opts->skb_prog_id = a.skb_prog_id;
    opts->attach_mode = a.attach_mode;
  }
  return 0;
}

int bpf_xdp_query_id(int ifindex, int flags, __u32* prog_id) {
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  if (int err = bpf_xdp_query(ifindex, flags, &opts); err != 0) {
    return LibbpfErr(err);
  }
  flags &= XDP_FLAGS_MODES;
  if (opts.attach_mode != XDP_ATTACHED_MULTI && flags == 0) {
    *prog_id = opts.prog_id;
  } else if (flags & XDP_FLAGS_DRV_MODE) {
    *prog_id = opts.drv_prog_id;
  } else if (flags & XDP_FLAGS_HW_MODE) {
    *prog_id = opts.hw_prog_id;
  } else if (flags & XDP_FLAGS_SKB_MODE) {
    *prog_id = opts.skb_prog_id;
  } else {
    *prog_id = 0;
  }
  return 0;
}

}  // extern "C"

// ---- tc on a device through rtnetlink (tools/lib/bpf/netlink.c) ----
// libbpf checks its arguments, then sends RTM_NEWQDISC / RTM_DELQDISC for
// the clsact qdisc and RTM_NEWTFILTER / RTM_DELTFILTER / RTM_GETTFILTER for
// cls_bpf filters (protocol ETH_P_ALL, direct action); the emulator's tc
// model answers them (emu/tc_attach.h).

namespace {

// The hook's attach point, read as OPTS_GET reads it.
int TcAttachPoint(const struct bpf_tc_hook* hook) {
  return BPFEMU_OPTS_GET(hook, attach_point, 0);
}

// tc_get_tcm_parent(): the clsact class of an ingress or egress hook (a
// parent must not be given), or a custom hook's own parent.
int TcParent(int attach_point, __u32* parent) {
  switch (attach_point) {
    case BPF_TC_INGRESS:
    case BPF_TC_EGRESS:
      if (*parent != 0) return -EINVAL;
      *parent = attach_point == BPF_TC_INGRESS ? bpfemu::kTcParentIngress
                                               : bpfemu::kTcParentEgress;
      return 0;
    case BPF_TC_CUSTOM:
      return *parent != 0 ? 0 : -EINVAL;
    default:
      return -EINVAL;
  }
}

// The qdisc calls (tc_qdisc_modify): only clsact, for the two hooks or
// either; no parent of one's own.
int TcQdiscCheck(const struct bpf_tc_hook* hook) {
  switch (TcAttachPoint(hook)) {
    case BPF_TC_INGRESS:
    case BPF_TC_EGRESS:
    case BPF_TC_INGRESS | BPF_TC_EGRESS:
      return BPFEMU_OPTS_GET(hook, parent, 0) != 0 ? -EINVAL : 0;
    case BPF_TC_CUSTOM:
      return -EOPNOTSUPP;
    default:
      return -EINVAL;
  }
}

// OPTS_SET for the fields the kernel's echo fills: only those the caller's
// (possibly older, shorter) struct has.
void TcFillOpts(struct bpf_tc_opts* opts, const bpfemu::TcFilter& f) {
  const auto has = [opts](size_t end) { return opts->sz >= end; };
  if (has(offsetof(bpf_tc_opts, prog_id) + sizeof(opts->prog_id))) {
    opts->prog_id = f.prog_id;
  }
  if (has(offsetof(bpf_tc_opts, handle) + sizeof(opts->handle))) {
    opts->handle = f.handle;
  }
  if (has(offsetof(bpf_tc_opts, priority) + sizeof(opts->priority))) {
    opts->priority = f.priority;
  }
}

// ETH_P_ALL as tcm_info's minor carries it (network byte order).
uint16_t TcProtocol() { return htons(ETH_P_ALL); }

// __bpf_tc_detach: one filter (handle and priority given), or with
// `flush` every filter of the hook (neither given).
int TcDetach(const struct bpf_tc_hook* hook, const struct bpf_tc_opts* opts,
             bool flush) {
  if (hook == nullptr || !OptsValid(hook) || !OptsValid(opts)) return -EINVAL;
  const int ifindex = BPFEMU_OPTS_GET(hook, ifindex, 0);
  __u32 parent = BPFEMU_OPTS_GET(hook, parent, 0);
  const __u32 handle = BPFEMU_OPTS_GET(opts, handle, 0);
  const __u32 priority = BPFEMU_OPTS_GET(opts, priority, 0);
  if (ifindex <= 0 || BPFEMU_OPTS_GET(opts, flags, 0) != 0 ||
      BPFEMU_OPTS_GET(opts, prog_fd, 0) != 0 ||
      BPFEMU_OPTS_GET(opts, prog_id, 0) != 0) {
    return -EINVAL;
  }
  if (priority > UINT16_MAX) return -EINVAL;
  if (flush ? (handle != 0 || priority != 0) : (handle == 0 || priority == 0)) {
    return -EINVAL;
  }
  if (int err = TcParent(TcAttachPoint(hook), &parent); err != 0) return err;
  return bpfemu::TcFilterDelete(ifindex, parent, flush ? 0 : handle,
                                static_cast<uint16_t>(priority),
                                flush ? 0 : TcProtocol());
}

}  // namespace

extern "C" {

int bpf_tc_hook_create(struct bpf_tc_hook* hook) {
  if (hook == nullptr || !OptsValid(hook) ||
      BPFEMU_OPTS_GET(hook, ifindex, 0) <= 0) {
    return LibbpfErr(-EINVAL);
  }
  if (int err = TcQdiscCheck(hook); err != 0) return LibbpfErr(err);
  return LibbpfErr(bpfemu::TcClsactCreate(BPFEMU_OPTS_GET(hook, ifindex, 0)));
}

int bpf_tc_hook_destroy(struct bpf_tc_hook* hook) {
  if (hook == nullptr || !OptsValid(hook) ||
      BPFEMU_OPTS_GET(hook, ifindex, 0) <= 0) {
    return LibbpfErr(-EINVAL);
  }
  switch (TcAttachPoint(hook)) {
    case BPF_TC_INGRESS:
    case BPF_TC_EGRESS:
      // One hook: flush its filters, the qdisc stays.
      return LibbpfErr(TcDetach(hook, nullptr, true));
    case BPF_TC_INGRESS | BPF_TC_EGRESS:
      if (int err = TcQdiscCheck(hook); err != 0) return LibbpfErr(err);
      return LibbpfErr(
          bpfemu::TcClsactDelete(BPFEMU_OPTS_GET(hook, ifindex, 0)));
    case BPF_TC_CUSTOM:
      return LibbpfErr(-EOPNOTSUPP);
    default:
      return LibbpfErr(-EINVAL);
  }
}

int bpf_tc_attach(const struct bpf_tc_hook* hook, struct bpf_tc_opts* opts) {
  if (hook == nullptr || opts == nullptr || !OptsValid(hook) ||
      !OptsValid(opts)) {
    return LibbpfErr(-EINVAL);
  }
  const int ifindex = BPFEMU_OPTS_GET(hook, ifindex, 0);
  __u32 parent = BPFEMU_OPTS_GET(hook, parent, 0);
  const __u32 handle = BPFEMU_OPTS_GET(opts, handle, 0);
  const __u32 priority = BPFEMU_OPTS_GET(opts, priority, 0);
  const int prog_fd = BPFEMU_OPTS_GET(opts, prog_fd, 0);
  const __u32 flags = BPFEMU_OPTS_GET(opts, flags, 0);
  if (ifindex <= 0 || prog_fd == 0 || BPFEMU_OPTS_GET(opts, prog_id, 0) != 0) {
    return LibbpfErr(-EINVAL);
  }
  if (priority > UINT16_MAX) return LibbpfErr(-EINVAL);
  if (flags & ~__u32{BPF_TC_F_REPLACE}) return LibbpfErr(-EINVAL);
  if (int err = TcParent(TcAttachPoint(hook), &parent); err != 0) {
    return LibbpfErr(err);
  }
  // tc_add_fd_and_name(): the program's info gives TCA_BPF_NAME
  // "name:[id]"; a fd that is no BPF object fails here, before netlink.
  struct bpf_prog_info info = {};
  __u32 info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &info_len) != 0) {
    return LibbpfErr(-errno);
  }
  const std::string name =
      std::string(info.name) + ":[" + std::to_string(info.id) + "]";
  bpfemu::TcFilter f;
  const int err = bpfemu::TcFilterNew(
      ifindex, parent, handle, static_cast<uint16_t>(priority), TcProtocol(),
      prog_fd, name, /*direct_action=*/true, flags & BPF_TC_F_REPLACE, &f);
  if (err != 0) return LibbpfErr(err);
  // The echoed filter fills prog_id, handle and priority (OPTS_SET).
  TcFillOpts(opts, f);
  return 0;
}

int bpf_tc_detach(const struct bpf_tc_hook* hook,
                  const struct bpf_tc_opts* opts) {
  if (opts == nullptr) return LibbpfErr(-EINVAL);
  return LibbpfErr(TcDetach(hook, opts, false));
}

int bpf_tc_query(const struct bpf_tc_hook* hook, struct bpf_tc_opts* opts) {
  if (hook == nullptr || opts == nullptr || !OptsValid(hook) ||
      !OptsValid(opts)) {
    return LibbpfErr(-EINVAL);
  }
  const int ifindex = BPFEMU_OPTS_GET(hook, ifindex, 0);
  __u32 parent = BPFEMU_OPTS_GET(hook, parent, 0);
  const __u32 handle = BPFEMU_OPTS_GET(opts, handle, 0);
  const __u32 priority = BPFEMU_OPTS_GET(opts, priority, 0);
  if (ifindex <= 0 || BPFEMU_OPTS_GET(opts, flags, 0) != 0 ||
      BPFEMU_OPTS_GET(opts, prog_fd, 0) != 0 ||
      BPFEMU_OPTS_GET(opts, prog_id, 0) != 0 || handle == 0 || priority == 0) {
    return LibbpfErr(-EINVAL);
  }
  if (priority > UINT16_MAX) return LibbpfErr(-EINVAL);
  if (int err = TcParent(TcAttachPoint(hook), &parent); err != 0) {
    return LibbpfErr(err);
  }
  bpfemu::TcFilter f;
  const int err =
      bpfemu::TcFilterGet(ifindex, parent, handle,
                          static_cast<uint16_t>(priority), TcProtocol(), &f);
  if (err != 0) return LibbpfErr(err);
  TcFillOpts(opts, f);
  return 0;
}

}  // extern "C"
