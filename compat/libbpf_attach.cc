// SPDX-License-Identifier: Apache-2.0
// libbpf 1.1's attach, link and id-walk calls over the emulator
// (tools/lib/bpf/bpf.c, libbpf.c), answering as kernel/bpf/syscall.c
// answers where the emulator has the objects, and as a kernel without the
// hook where it has none:
//   * every bpf() command gives EPERM to an unprivileged caller
//     (unprivileged_bpf_disabled, emu/version.h CallerPrivileged);
//   * program ids and BPF_PROG_GET_FD_BY_ID walk the emulator's programs;
//     the emulator has no BTF objects and no links, so their walks find
//     nothing (ENOENT) and a link fd is never valid (EBADF if not open,
//     EINVAL otherwise, as bpf_link_get_from_fd);
//   * attaching needs kernel hooks the emulator does not have: after the
//     kernel's own checks of the attach type and program fd, the answer is
//     EOPNOTSUPP (bpf_program__attach*: NULL with errno EOPNOTSUPP).
// docs/dropin.md lists every call and its answer.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;

// libbpf's struct bpf_link, for bpf_link__open(): an fd and a pin path.
struct bpf_link {
  int fd = -1;
  std::string pin_path;
  bool disconnected = false;
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

// bpf_program__attach*(): the program must be loaded (libbpf checks that
// first), then there is no hook to attach it to.
struct bpf_link* NoHook(const struct bpf_program* prog, const char* what) {
  const char* name = prog != nullptr ? bpf_program__name(prog) : "";
  if (prog == nullptr || bpf_program__fd(prog) < 0) {
    bpfemu::compat::Print(
        LIBBPF_WARN, "libbpf: prog '%s': can't attach before loaded\n", name);
    errno = EINVAL;
    return nullptr;
  }
  bpfemu::compat::Print(
      LIBBPF_WARN,
      "libbpf: prog '%s': failed to attach %s: bpfemu has no kernel hooks; "
      "run programs with bpf_prog_test_run_opts()\n",
      name, what);
  errno = EOPNOTSUPP;
  return nullptr;
}

}  // namespace

extern "C" {

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
  return LibbpfErr(-ENOENT);  // no BTF objects
}

int bpf_link_get_next_id(__u32 start_id, __u32* next_id) {
  if (int err = NextIdChecks(start_id, next_id); err != 0) {
    return LibbpfErr(err);
  }
  return LibbpfErr(-ENOENT);  // no links
}

int bpf_btf_get_fd_by_id_opts(__u32 id,
                              const struct bpf_get_fd_by_id_opts* opts) {
  (void)id;
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (BPFEMU_OPTS_GET(opts, open_flags, 0u) != 0) return LibbpfErr(-EINVAL);
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  return LibbpfErr(-ENOENT);
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

// BPF_PROG_ATTACH: flags, the attach type, the program, then the hook.
int bpf_prog_attach_opts(int prog_fd, int target_fd, enum bpf_attach_type type,
                         const struct bpf_prog_attach_opts* opts) {
  (void)target_fd;
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  const __u32 flags = BPFEMU_OPTS_GET(opts, flags, 0u);
  if (flags & ~static_cast<__u32>(BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI |
                                  BPF_F_REPLACE)) {
    return LibbpfErr(-EINVAL);
  }
  if (static_cast<int>(type) < 0 || type >= __MAX_BPF_ATTACH_TYPE) {
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

// Nothing is ever attached: detaching finds nothing (ENOENT).
int bpf_prog_detach2(int prog_fd, int attachable_fd,
                     enum bpf_attach_type type) {
  (void)attachable_fd;
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  if (static_cast<int>(type) < 0 || type >= __MAX_BPF_ATTACH_TYPE) {
    return LibbpfErr(-EINVAL);
  }
  if (prog_fd != 0) {
    if (int err = ProgFdError(prog_fd); err != 0) return LibbpfErr(err);
  }
  return LibbpfErr(-ENOENT);
}

int bpf_prog_detach(int attachable_fd, enum bpf_attach_type type) {
  return bpf_prog_detach2(0, attachable_fd, type);
}

int bpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type type,
                    const struct bpf_link_create_opts* opts) {
  (void)target_fd;
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  if (static_cast<int>(type) < 0 || type >= __MAX_BPF_ATTACH_TYPE) {
    return LibbpfErr(-EINVAL);
  }
  if (int err = ProgFdError(prog_fd); err != 0) return LibbpfErr(err);
  return LibbpfErr(-EOPNOTSUPP);
}

int bpf_link_update(int link_fd, int new_prog_fd,
                    const struct bpf_link_update_opts* opts) {
  (void)new_prog_fd;
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  return LibbpfErr(LinkFdError(link_fd));
}

int bpf_link_detach(int link_fd) {
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  return LibbpfErr(LinkFdError(link_fd));
}

int bpf_iter_create(int link_fd) {
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  return LibbpfErr(LinkFdError(link_fd));
}

int bpf_raw_tracepoint_open(const char* name, int prog_fd) {
  (void)name;
  if (!bpfemu::CallerPrivileged()) return LibbpfErr(-EPERM);
  if (int err = ProgFdError(prog_fd); err != 0) return LibbpfErr(err);
  return LibbpfErr(-EOPNOTSUPP);
}

struct bpf_link* bpf_program__attach(const struct bpf_program* prog) {
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
struct bpf_link* bpf_program__attach_trace(const struct bpf_program* prog) {
  return NoHook(prog, "a BTF trampoline");
}
struct bpf_link* bpf_program__attach_trace_opts(
    const struct bpf_program* prog, const struct bpf_trace_opts* opts) {
  (void)opts;
  return NoHook(prog, "a BTF trampoline");
}
struct bpf_link* bpf_program__attach_lsm(const struct bpf_program* prog) {
  return NoHook(prog, "an LSM hook");
}
struct bpf_link* bpf_program__attach_cgroup(const struct bpf_program* prog,
                                            int cgroup_fd) {
  (void)cgroup_fd;
  return NoHook(prog, "a cgroup");
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
struct bpf_link* bpf_program__attach_iter(
    const struct bpf_program* prog, const struct bpf_iter_attach_opts* opts) {
  (void)opts;
  return NoHook(prog, "an iterator");
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

// A link that is not disconnected is detached by closing its fd.
int bpf_link__destroy(struct bpf_link* link) {
  const auto v = reinterpret_cast<uintptr_t>(link);
  if (link == nullptr || v >= static_cast<uintptr_t>(-4095)) return 0;
  int err = 0;
  if (!link->disconnected) err = bpfemu::CloseFd(link->fd);
  delete link;
  return LibbpfErr(err);
}

}  // extern "C"
