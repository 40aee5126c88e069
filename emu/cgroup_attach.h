// SPDX-License-Identifier: Apache-2.0
// File: cgroup_attach.h
//
// Programs attached to cgroups with BPF_PROG_ATTACH, taken off with
// BPF_PROG_DETACH and listed by BPF_PROG_QUERY, as kernel/bpf/cgroup.c
// keeps them (Linux 6.18; the Linux 6.12 source has the same
// code): per cgroup and attach type a list of programs (struct
// bpf_prog_list), the type's attach flags (cgrp->bpf.flags: none,
// BPF_F_ALLOW_OVERRIDE or BPF_F_ALLOW_MULTI) and a revision counter
// (cgrp->bpf.revisions, bumped by every attach and detach). The effective
// programs of a cgroup (compute_effective_progs) are computed from its own
// list and its ancestors' when asked for, which is what the kernel's
// arrays, recomputed on every change below them, hold.
//
// A cgroup is a real cgroup2 directory of the machine (emu/cgroup.h), named
// by its id; the caller names its ancestors (CgroupPathFromFd). The state
// is this process's (under `bpfemu exec`, the supervisor's): the kernel's
// own attachments (systemd's) are not seen, and the programs never run on
// the cgroup's traffic - an attach links the programs' cgroup storages
// (emu/cgroup_storage.h) and makes the lists queries report. BPF_LSM_CGROUP
// (trampolines) and links (BPF_LINK_CREATE) are not modelled, and a
// cgroup removed with programs attached keeps them here (the kernel
// releases them with the cgroup).

#ifndef BPFEMU_EMU_CGROUP_ATTACH_H_
#define BPFEMU_EMU_CGROUP_ATTACH_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "emu/prog.h"

namespace bpfemu {

// enum bpf_attach_type's AF_UNIX hooks (6.7), newer than this system's
// header.
inline constexpr uint32_t kBpfCgroupUnixConnect = 50;
inline constexpr uint32_t kBpfCgroupUnixSendmsg = 51;
inline constexpr uint32_t kBpfCgroupUnixRecvmsg = 52;
inline constexpr uint32_t kBpfCgroupUnixGetpeername = 53;
inline constexpr uint32_t kBpfCgroupUnixGetsockname = 54;

// A cgroup and its ancestors' ids, nearest first (the root's last, none
// for the root itself).
struct CgroupPath {
  uint64_t id = 0;
  std::vector<uint64_t> parents;
};

// cgroup_get_from_fd(): the cgroup2 directory `fd` names and its ancestors
// (stat of each directory up to the cgroup2 mount), or -EBADF.
[[nodiscard]] int CgroupPathFromFd(int fd, CgroupPath* out);

// attach_type_to_prog_type() for the cgroup attach types (those
// to_cgroup_bpf_attach_type knows): the program type, or 0 for any other
// attach type (BPF_LSM_CGROUP included: not modelled).
uint32_t CgroupAttachProgType(uint32_t attach_type);

// The arguments of one BPF_PROG_ATTACH after cgroup_bpf_prog_attach()
// resolved its fds.
struct CgroupAttachArgs {
  std::shared_ptr<const Prog> prog;
  std::shared_ptr<const Prog> replace;  // BPF_F_REPLACE's replace_bpf_fd
  uint32_t attach_type = 0;
  uint32_t flags = 0;     // attach_flags
  uint32_t relative = 0;  // relative_fd or relative_id
  uint64_t revision = 0;  // expected_revision
  // bpf_get_anchor_prog()'s answer for `relative`, resolved by the caller
  // (an fd of its process, or an id with BPF_F_ID): the program, or the
  // error that function returns when it is asked.
  std::shared_ptr<const Prog> anchor;
  int anchor_err = -EINVAL;
};

// __cgroup_bpf_attach(): 0 or -errno, in the kernel's order (flag
// combinations -EINVAL, a stale revision -ESTALE, hierarchy -EPERM, mixed
// flags -EPERM, 64 programs -E2BIG, the same program twice -EINVAL, a
// program to replace not attached -ENOENT, the anchor's errors), then the
// program's storages linked (bpf_cgroup_storages_link).
[[nodiscard]] int CgroupProgAttach(const CgroupPath& cgrp,
                                   const CgroupAttachArgs& args);

// __cgroup_bpf_detach(): `prog` may be null (a legacy detach of a cgroup
// without BPF_F_ALLOW_MULTI takes the attached one). -ESTALE, -ENOENT
// (nothing attached, or `prog` not attached), -EINVAL (a multi cgroup
// without a program).
[[nodiscard]] int CgroupProgDetach(const CgroupPath& cgrp,
                                   const std::shared_ptr<const Prog>& prog,
                                   uint32_t attach_type, uint64_t revision);

// __cgroup_bpf_query()'s answers for one attach type: the attach flags
// (0 for an effective query), the program ids (attached, or effective) and
// each one's attach flags, and the revision (0 for an effective query).
struct CgroupQueryResult {
  uint32_t flags = 0;
  std::vector<uint32_t> ids;
  uint64_t revision = 0;
};
void CgroupProgQuery(const CgroupPath& cgrp, uint32_t attach_type,
                     bool effective, CgroupQueryResult* out);

// The programs attached in this process, in all (a leak check).
size_t CgroupProgsAttached();
// Whether program `id` is attached to some cgroup (an attachment holds its
// program, as pl->prog holds a reference).
bool CgroupProgIsAttached(uint32_t id);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CGROUP_ATTACH_H_
