// SPDX-License-Identifier: Apache-2.0
// See libbpf_1_1_compat.h. Weak, so a libbpf that has these wins.
#include "libbpf_1_1_compat.h"
#if LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION < 2
__attribute__((weak)) int bpf_map_get_info_by_fd(int fd,
                                                 struct bpf_map_info *info,
                                                 __u32 *len) {
  return bpf_obj_get_info_by_fd(fd, info, len);
}
__attribute__((weak)) int bpf_prog_get_info_by_fd(int fd,
                                                  struct bpf_prog_info *info,
                                                  __u32 *len) {
  return bpf_obj_get_info_by_fd(fd, info, len);
}
__attribute__((weak)) int bpf_link_get_info_by_fd(int fd,
                                                  struct bpf_link_info *info,
                                                  __u32 *len) {
  return bpf_obj_get_info_by_fd(fd, info, len);
}
__attribute__((weak)) int bpf_btf_get_info_by_fd(int fd,
                                                 struct bpf_btf_info *info,
                                                 __u32 *len) {
  return bpf_obj_get_info_by_fd(fd, info, len);
}
#endif
