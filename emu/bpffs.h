// SPDX-License-Identifier: Apache-2.0
// File: bpffs.h
//
// The emulated BPF filesystem (kernel/bpf/inode.c): where map regions live
// so that they can be pinned, how pinned paths map to real files, and the
// system-wide object ids (kernel/bpf/syscall.c map_idr / prog_idr).
//
// Settings, read from the environment the first time they are needed:
//   BPFEMU_BPFFS        the mount point users name in paths (default
//                       /sys/fs/bpf): bpf_obj_pin("/sys/fs/bpf/x") pins "x";
//   BPFEMU_BPFFS_DIR    the real directory behind it. Default, per user:
//                       $XDG_RUNTIME_DIR/bpfemu-bpffs when that is the
//                       caller's own private directory, else
//                       /dev/shm/bpfemu-bpffs-<euid>; created mode 0700;
//   BPFEMU_BPFFS_SHARED "1": the directory may be shared between users.
//
// The storage directory is a trust boundary (docs/reliability.md, threat
// model). It is opened without following a symbolic link and checked with
// fstat on every use: it must be owned by the caller and writable by nobody
// else, or, in shared mode, owned by the caller or root and sticky if others
// may write to it. Anything else is refused with EACCES. Pins carry mode bits
// (0600 minus the umask, as bpf_obj_do_pin gives them) and BPF_OBJ_GET checks
// them against the access asked for, as path_permission() does on bpffs. A
// BPF_F_RDONLY get returns a read-only fd; a caller that may not write the
// file gets the region mapped read-only (Map::read_only): the way to share a
// map read-only with another user is a 0644 pin (docs/reliability.md).
//
// Every map region is created as an unnamed file (O_TMPFILE) in the storage
// directory, so pinning is a hard link (linkat of /proc/self/fd/N): the
// pinned file keeps the map alive after every descriptor is closed, and any
// process of the same user can open it by path. When the storage directory
// cannot hold files, regions fall back to memfds, which cannot be pinned
// (EPERM).
//
// Paths are resolved lexically ("." and ".." collapse before the mount point
// is recognised, as the kernel resolves them through real directories), then
// component by component below the storage directory without following
// symbolic links (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no path
// can create or open anything outside it.
//
// Ids are allocated from counters in a small shared file in the storage
// directory, so two processes never hand out the same map id.

#ifndef BPFEMU_EMU_BPFFS_H_
#define BPFEMU_EMU_BPFFS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace bpfemu {

const std::string& BpffsMount();
const std::string& BpffsStorage();
// Overrides both settings for this process (tests). Call before any map is
// created.
void SetBpffsForTesting(const std::string& mount, const std::string& storage);

// Shared mode on or off for this process (tests).
void SetBpffsSharedForTesting(bool shared);

// The checked storage directory (created if missing): an O_PATH fd owned by
// the caller, or -errno (-EACCES: a directory another user could subvert).
[[nodiscard]] int BpffsStorageFd();

// A new unnamed read-write file in the storage directory, or -errno.
int BpffsCreateAnonymous();

// Where a pinned path lives.
struct BpffsPath {
  enum Kind {
    kOutside,  // not below the mount point
    kRoot,     // the mount point itself
    kInside,   // a path below it: `parent_fd` + `name`
  };
  Kind kind = kOutside;
  std::string absolute;  // the normalised absolute path
  int parent_fd = -1;    // an O_PATH fd of the parent (kInside), owned
  std::string name;      // the last component (kInside)
  int error = 0;         // -errno resolving the parent (kInside)
  ~BpffsPath();
};
// Resolves `path` (absolute, or relative to the working directory).
void ResolveBpffsPath(const char* path, BpffsPath* out);

// bpf_obj_do_get()'s open of a resolved kInside path: the pin must be a
// regular file that the caller may open with the access asked for
// (path_permission with ACC_MODE of the BPF_F_RDONLY/WRONLY flags); then an
// fd of it (the region): read-only for BPF_F_RDONLY, read-write otherwise
// (BPF_F_WRONLY needs read permission too, to map the region), or -errno
// (-EACCES: not a regular file, no permission).
[[nodiscard]] int BpffsOpenPinned(const BpffsPath& p, bool readable,
                                  bool writable);

// rm / rmdir / mkdir on the emulated filesystem: 0 or -errno (as unlink(2),
// rmdir(2), mkdir(2) there; -EPERM outside the mount point).
int BpffsUnlink(const char* path);
// Runs after every successful BpffsUnlink: the removed name may have been
// the last pin of a map-of-maps (emu/map_in_map.h releases dead ones).
void SetBpffsUnlinkHook(void (*hook)());
int BpffsMkdir(const char* path, mode_t mode);

// The next system-wide id of a map (kind 0), program (kind 1) or BTF object
// (kind 2: the kernel's btf_idr, a separate id space).
enum class IdKind { kMap = 0, kProg = 1, kBtf = 2 };
uint32_t NextObjectId(IdKind kind);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_BPFFS_H_
