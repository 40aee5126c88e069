// SPDX-License-Identifier: Apache-2.0
// File: cgroup.h
//
// The emulated kernel's view of cgroups, as the BPF maps and helpers that
// hold or test a cgroup see it (kernel/cgroup/cgroup.c, include/linux/
// cgroup.h). bpfemu does not emulate cgroups: it names the real cgroup2
// directories of the machine.
//
//   * A cgroup is identified by a directory fd on the cgroup2 hierarchy
//     (cgroup_get_from_fd: cgroup_v1v2_get_from_fd, css_tryget_online_from_dir
//     and the cgroup_on_dfl check). Any other fd - not open, not a
//     directory, a directory of another file system, a cgroup v1
//     directory - is refused with EBADF.
//   * Its id is cgroup_id(): the kernfs node id, which userspace sees as the
//     directory's inode number on cgroup2 (st_ino; the root is 1).
//   * The current cgroup of the calling thread (task_dfl_cgroup(current)) is
//     a path below the cgroup2 root: by default the process's, from the
//     "0::" line of /proc/self/cgroup; a test sets another one per thread
//     (SetCurrentCgroup), as the helper inputs of native/helpers.h.
//   * A cgroup's ancestors are the directories on its path, so "is the
//     current task under cgroup X" (task_under_cgroup_hierarchy) compares
//     X's id with the ids of the current path's prefixes.

#ifndef BPFEMU_EMU_CGROUP_H_
#define BPFEMU_EMU_CGROUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bpfemu {

// The id of the root cgroup (kernfs gives the root node id 1).
inline constexpr uint64_t kRootCgroupId = 1;

// cgroup_get_from_fd(): 0 and the cgroup's id in *id, or -EBADF.
[[nodiscard]] int CgroupIdFromFd(int fd, uint64_t* id);

// cgroup_v1v2_get_from_fd() (CGRP_STORAGE keys): a cgroup2 directory as
// CgroupIdFromFd gives it (*hierarchy 0), or a directory of a cgroup v1
// hierarchy: its inode number and, to keep it apart from cgroup2's ids, its
// file system's device in *hierarchy. -EBADF for anything else.
[[nodiscard]] int CgroupV1V2FromFd(int fd, uint64_t* id, uint64_t* hierarchy);

// Where the cgroup2 hierarchy is mounted ("" if nowhere), from
// /proc/self/mountinfo.
const std::string& Cgroup2Mount();

// The calling thread's current cgroup: a path below the cgroup2 root
// ("/" for the root). SetCurrentCgroup overrides it for this thread;
// std::nullopt restores the process's own.
std::string CurrentCgroupPath();
void SetCurrentCgroup(std::optional<std::string> path);

// bpf_get_current_cgroup_id(): the current cgroup's id (kRootCgroupId if
// its directory cannot be read, as every task is at least in the root).
uint64_t CurrentCgroupId();

// task_under_cgroup_hierarchy(current, cgroup `id`): whether the current
// cgroup is `id` or one of its descendants.
bool CurrentUnderCgroup(uint64_t id);

// cgroup_ancestor(current cgroup, level): the id of its ancestor at `level`
// (0: the root, the current cgroup's own depth: itself), or 0 for a level
// below 0 or deeper than the current cgroup
// (bpf_get_current_ancestor_cgroup_id). Levels count from the cgroup2 root
// this process sees.
uint64_t CurrentAncestorCgroupId(int level);

// cgroup_ancestor() of the cgroup2 cgroup `id` (a socket's, from
// sock_diag): as CurrentAncestorCgroupId for that cgroup, found below the
// cgroup2 mount; 0 when it is not there.
uint64_t AncestorCgroupIdOf(uint64_t id, int level);

// kptr46: the trusted `struct cgroup *` of bpf_cgroup_from_id,
// bpf_cgroup_acquire and bpf_cgroup_release (kernel/bpf/helpers.c): an
// opaque handle per cgroup2 cgroup, the same for every call on one id, that
// programs pass to the kfuncs and to bpf_cgrp_storage_get / _delete. Its
// fields are not laid out: a program reading one (cgrp->kn->id) faults in
// the bytecode face. References are counted per handle (CgroupRefs), as the
// kernel's cgroup_get / cgroup_put.
//
// cgroup_get_from_id(): the handle of cgroup2 cgroup `id` with a reference
// taken, or nullptr when there is no such cgroup.
void* CgroupRefFromId(uint64_t id);
// bpf_cgroup_acquire: a new reference to a handle, or nullptr for a
// pointer that is no handle.
void* CgroupRefAcquire(void* cgrp);
// bpf_cgroup_release: -EINVAL for a pointer that is no handle, or one with
// no reference left.
int CgroupRefRelease(void* cgrp);
// The cgroup id of a handle; false for a pointer that is no handle.
bool CgroupRefId(const void* cgrp, uint64_t* id);
// The references the handles hold in all (a leak test's count).
uint64_t CgroupRefs();

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CGROUP_H_
