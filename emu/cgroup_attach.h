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
// (emu/cgroup_storage.h) and makes the lists queries report.
//
// Cgroup links (BPF_LINK_CREATE on a cgroup, kernel/bpf/cgroup.c
// cgroup_bpf_link_attach and bpf_cgroup_link_lops) are entries of the same
// lists, attached with BPF_F_ALLOW_MULTI: a link fd (a memfd of this
// process, as the iterator and tracing links of emu/bpf_iter.h and
// emu/trampoline.h) holds one; BPF_LINK_UPDATE swaps its program,
// BPF_LINK_DETACH or the close of its last fd takes it off. Links have no
// ids the id walks see, and no link info or fdinfo (docs/dropin.md).
// BPF_LSM_CGROUP (trampolines) is not modelled, and a cgroup removed with
// programs attached keeps them here (the kernel releases them with the
// cgroup).
//
// The bpf() commands' own checks before the lists (bpf_prog_attach,
// bpf_prog_detach, bpf_prog_query, link_create, link_update, link_detach
// of kernel/bpf/syscall.c) are here too, on the attr's fields, with the
// fds resolved by a CgroupFds: libbpfemu's are its own, `bpfemu exec`'s
// the supervised caller's.

#ifndef BPFEMU_EMU_CGROUP_ATTACH_H_
#define BPFEMU_EMU_CGROUP_ATTACH_H_

#include <cerrno>
#include <cstdint>
#include <functional>
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
  // With BPF_F_LINK, the anchor is a link: bpf_get_anchor_link()'s answer
  // (the link's id, or anchor_err).
  uint32_t anchor_link = 0;
  // The link attached (CgroupLinkAttach sets it), 0 for a program.
  uint32_t link = 0;
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

// __cgroup_bpf_query()'s copy-out of the ids after prog_cnt: nothing when
// the caller's room `cnt_in` is 0, it gave no id array or none was found;
// else write(false, i, id) for as many ids as fit, then, for an attached
// (not effective) query with a prog_attach_flags array, write(true, i,
// flags) for each of them (the hook's attach flags). 0, -ENOSPC when fewer
// fit than were found, or the first nonzero answer of `write`.
[[nodiscard]] int CgroupQueryCopyOut(
    const CgroupQueryResult& q, uint32_t cnt_in, bool has_ids, bool has_flags,
    bool effective,
    const std::function<int(bool flags, uint32_t i, uint32_t value)>& write);

// --- links ---

// cgroup_bpf_link_attach() after its flags check and cgroup_get_from_fd:
// __cgroup_bpf_attach of a new link holding args.prog, with
// BPF_F_ALLOW_MULTI added to args.flags (anchors: args.anchor_link with
// BPF_F_LINK). A new link fd (O_CLOEXEC), or -errno.
[[nodiscard]] int CgroupLinkAttach(const CgroupPath& cgrp,
                                   CgroupAttachArgs args);
// Whether `fd` is a cgroup link of this process.
bool IsCgroupLinkFd(int fd);
// The link's id behind `fd` (an anchor), or 0.
uint32_t CgroupLinkIdOfFd(int fd);
// cgroup_bpf_replace(): the link's program becomes `prog`: -ENOLINK for a
// detached link, -EPERM when `old` is given and is not the link's program,
// -EINVAL for a program of another type or other cgroup storages. 0 or
// -errno; `link_fd` must be a cgroup link (IsCgroupLinkFd).
[[nodiscard]] int CgroupLinkReplace(int link_fd,
                                    const std::shared_ptr<const Prog>& prog,
                                    const std::shared_ptr<const Prog>& old);
// bpf_cgroup_link_detach(): takes the link off its cgroup (a detached
// link stays an fd; 0 again).
int CgroupLinkDetach(int link_fd);

// --- the commands ---

// Where a command's fds lead: the default reads this process's fds;
// `bpfemu exec` resolves a supervised caller's.
class CgroupFds {
 public:
  virtual ~CgroupFds() = default;
  // cgroup_get_from_fd(): 0 with *out, or -EBADF.
  virtual int Cgroup(int fd, CgroupPath* out);
  // bpf_prog_get(): 0 with *out, -EBADF (not open), -EINVAL (no program).
  virtual int Prog(int fd, std::shared_ptr<const bpfemu::Prog>* out);
  // bpf_link_get_from_fd() for a cgroup link: 0 with *local set to this
  // process's link fd (IsCgroupLinkFd), -EBADF (not open), -EINVAL (no
  // cgroup link).
  virtual int Link(int fd, int* local);
  // Whether `fd` is a link of another kind (an iterator's, a tracing
  // program's): bpf_get_anchor_link() takes it, and no cgroup's list holds
  // it (-ENOENT).
  virtual bool OtherLink(int fd);
};

// What a caller answers for an attach type that names no cgroup hook (the
// checks before the hook's own were made).
inline constexpr int kNotCgroupHook = 1;

// attach_type_to_prog_type() != BPF_PROG_TYPE_UNSPEC: an attach type
// BPF_PROG_ATTACH and BPF_PROG_DETACH know.
bool AttachTypeKnown(uint32_t attach_type);

// union bpf_attr's BPF_PROG_ATTACH / BPF_PROG_DETACH members.
struct ProgAttachAttr {
  int32_t target_fd = 0;
  int32_t attach_bpf_fd = 0;
  uint32_t attach_type = 0;
  uint32_t attach_flags = 0;
  int32_t replace_bpf_fd = 0;
  uint32_t relative_fd = 0;  // or relative_id
  uint64_t expected_revision = 0;
};
// bpf_prog_attach() and cgroup_bpf_prog_attach(): the flags (6.1: before
// the attach type), the attach type, the program of its type, its expected
// attach type, the cgroup, the program to replace, then CgroupProgAttach.
// kNotCgroupHook for a known attach type of another hook.
[[nodiscard]] int CgroupAttachCommand(const ProgAttachAttr& a, CgroupFds& fds);
// bpf_prog_detach() and cgroup_bpf_prog_detach(): the attach type, the
// flags and relative fd (zero), the cgroup, the program (a bad program fd
// detaches as none), then CgroupProgDetach. kNotCgroupHook as above.
[[nodiscard]] int CgroupDetachCommand(const ProgAttachAttr& a, CgroupFds& fds);
// bpf_prog_query() and cgroup_bpf_prog_query() up to the copy-out: the
// query flags, the attach type (BPF_LSM_CGROUP and the other known hooks:
// kNotCgroupHook), the cgroup, an effective query with attach flags
// asked for (-EINVAL); then *out.
[[nodiscard]] int CgroupQueryCommand(int32_t target_fd, uint32_t attach_type,
                                     uint32_t query_flags,
                                     bool prog_attach_flags, CgroupFds& fds,
                                     CgroupQueryResult* out);

// union bpf_attr's BPF_LINK_CREATE members a cgroup link reads.
struct LinkCreateAttr {
  int32_t prog_fd = 0;
  int32_t target_fd = 0;
  uint32_t attach_type = 0;
  uint32_t flags = 0;
  uint32_t relative_fd = 0;  // link_create.cgroup: or relative_id
  uint64_t expected_revision = 0;
};
// link_create() for a cgroup program: the program (any type: -EBADF /
// -EINVAL), bpf_prog_attach_check_attach_type (-EINVAL; a CGROUP_SKB
// program needs CAP_NET_ADMIN: -EPERM), then cgroup_bpf_link_attach (flags
// other than BPF_F_ID, _BEFORE, _AFTER, _PREORDER and _LINK: -EINVAL;
// 6.1: any flag), the cgroup (-EBADF), CgroupLinkAttach. A new link fd
// (this process's), -errno, or kNotCgroupHook for a program of another
// type (after its fd was checked; -EINVAL if it asks for a cgroup hook).
[[nodiscard]] int CgroupLinkCreateCommand(const LinkCreateAttr& a,
                                          CgroupFds& fds);
// link_update() of a cgroup link: the flags (only BPF_F_REPLACE), the link,
// the new program, the old one (BPF_F_REPLACE) or old_prog_fd zero, then
// CgroupLinkReplace.
[[nodiscard]] int CgroupLinkUpdateCommand(int32_t link_fd, int32_t new_prog_fd,
                                          uint32_t flags, int32_t old_prog_fd,
                                          CgroupFds& fds);

// The programs attached in this process, in all (a leak check).
size_t CgroupProgsAttached();
// Whether program `id` is attached to some cgroup (an attachment holds its
// program, as pl->prog holds a reference).
bool CgroupProgIsAttached(uint32_t id);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CGROUP_ATTACH_H_
