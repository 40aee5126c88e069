// SPDX-License-Identifier: Apache-2.0
// bpf_cgroup_read_xattr (fs/bpf_fs_kfuncs.c, kernfs_xattr_get in
// fs/kernfs/inode.c): emu/xattr_kfuncs.h.

#include "emu/xattr_kfuncs.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "emu/cgroup.h"
#include "emu/dynptr_kern.h"

namespace bpfemu::xattrk {
namespace {

// The cgroup2 directory whose inode (the kernfs node id) is `id`.
std::string PathOfId(uint64_t id) {
  const std::string& mount = Cgroup2Mount();
  if (mount.empty()) return "";
  struct stat st;
  if (stat(mount.c_str(), &st) == 0 && st.st_ino == id) return mount;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           mount, std::filesystem::directory_options::skip_permission_denied,
           ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec) && stat(it->path().c_str(), &st) == 0 &&
        st.st_ino == id) {
      return it->path().string();
    }
  }
  return "";
}

}  // namespace

int CgroupReadXattr(const void* cgrp, const char* name, void* dynptr) {
  // Only "user.*" attributes (XATTR_USER_PREFIX).
  if (std::strncmp(name, "user.", 5) != 0) return -EPERM;
  // __bpf_dynptr_data_rw(value_p, size): memory of a local or ring buffer
  // dynptr that is not read-only.
  dynptr::Kern d;
  std::memcpy(&d, dynptr, sizeof(d));
  const uint32_t type = dynptr::Type(d);
  const uint32_t len = dynptr::Size(d);
  if (d.data == nullptr || dynptr::Rdonly(d) ||
      (type != dynptr::kTypeLocal && type != dynptr::kTypeRingbuf)) {
    return -EINVAL;
  }
  uint64_t id = 0;
  if (!CgroupRefId(cgrp, &id)) return -EINVAL;
  const std::string path = PathOfId(id);
  if (path.empty()) return -ENODATA;
  const ssize_t n = getxattr(path.c_str(), name,
                             static_cast<uint8_t*>(d.data) + d.offset, len);
  if (n < 0) return -errno;
  return static_cast<int>(n);
}

uint64_t InterpCgroupReadXattr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t, uint64_t) {
  uint64_t id = 0;
  if (!CgroupRefId(reinterpret_cast<const void*>(r1), &id)) {
    vm.Fault("bpf_cgroup_read_xattr: R1 is not a struct cgroup");
  }
  if (!vm.ReadableString(r2, 4096)) {
    vm.Fault("bpf_cgroup_read_xattr: arg#1 is not a constant string");
  }
  // A dynptr the program left alone names memory its init checked.
  dynptr::Need(vm, r3, "bpf_cgroup_read_xattr", 3);
  return static_cast<uint64_t>(static_cast<int64_t>(CgroupReadXattr(
      reinterpret_cast<const void*>(r1), reinterpret_cast<const char*>(r2),
      reinterpret_cast<void*>(r3))));
}

}  // namespace bpfemu::xattrk
