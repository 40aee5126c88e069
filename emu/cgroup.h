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
#include <vector>

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

// kfuncB47: the task and cgroup kfuncs of kernel/bpf/helpers.c over the
// handles above. A handle names a cgroup2 cgroup (its id) or, from
// CgroupRefOfTaskV1, a cgroup of a cgroup v1 hierarchy (its hierarchy id as
// /proc/PID/cgroup numbers it and its path there).
//
// The cgroup2 path of the task with thread id `tid`: the calling thread's
// CurrentCgroupPath(), another task's "0::" line of /proc/TID/cgroup, "/"
// for tid 0 (init_task is in every root) or a task that is gone.
std::string TaskCgroupPath(long tid);
// bpf_task_under_cgroup: task_under_cgroup_hierarchy(task, cgrp), whether
// the cgroup2 cgroup of task `tid` is `cgrp` or one of its descendants
// (cgroup_is_descendant: false for a cgroup of another hierarchy, a v1
// one). False for a pointer that is no handle.
bool TaskUnderCgroupRef(long tid, const void* cgrp);
// bpf_cgroup_ancestor: the ancestor of handle `cgrp` at `level` (0: its
// hierarchy's root; cgrp's own level: itself) with a reference taken, or
// nullptr for a level below 0 or deeper than cgrp, or no handle.
void* CgroupRefAncestor(const void* cgrp, int level);
// bpf_task_get_cgroup1: task_get_cgroup1(task, hierarchy_id), the cgroup of
// task `tid` in the cgroup v1 hierarchy `hierarchy_id` with a reference
// taken, or nullptr when no v1 hierarchy has that id (0 is the default
// hierarchy's, which task_get_cgroup1 skips).
void* CgroupRefOfTaskV1(long tid, int hierarchy_id);
// The local storage owner of a handle, as CgroupV1V2FromFd names the same
// cgroup by a directory fd: {id, 0} for cgroup2, {the directory's inode,
// its file system's device} for a v1 cgroup whose hierarchy is mounted.
// False for a pointer that is no handle, or a v1 cgroup not mounted here.
bool CgroupRefOwner(const void* cgrp, uint64_t* id, uint64_t* hierarchy);

// kfuncB47: the css iterators (kernel/bpf/cgroup_iter.c bpf_iter_css_*,
// kernel/bpf/task_iter.c bpf_iter_css_task_*) over cgroup2 handles, whose
// css is their cgroup's own (cgroup->self, at offset 0). A handle without
// taking a reference (the css pointers the iterators hand out hold none),
// or nullptr.
void* CgroupRefPeek(uint64_t id);
// The cgroup2 cgroups around handle `cgrp`, as handles without references,
// nullptr where there is none (or `cgrp` is no cgroup2 handle): its parent,
// its first child, and the sibling after it (children in creation order,
// which the kernfs ids follow).
void* CgroupRefParent(const void* cgrp);
void* CgroupRefFirstChild(const void* cgrp);
void* CgroupRefNextSibling(const void* cgrp);
// The thread ids in cgroup2 handle `cgrp` itself (not its descendants):
// its processes' (cgroup.procs: their leaders) with `procs`, else every
// thread (cgroup.threads); false for no cgroup2 handle.
bool CgroupRefTasks(const void* cgrp, bool procs, std::vector<long>* tids);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CGROUP_H_
