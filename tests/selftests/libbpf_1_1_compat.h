/* SPDX-License-Identifier: Apache-2.0 */
/* libbpf API that the 6.12 selftests call but Debian 12's libbpf 1.1.2 lacks
 * (added in libbpf 1.2), forced into every selftest source with -include so
 * the kernel's files build unchanged. Defined in libbpf_1_1_compat.c over
 * calls that libbpf 1.1.2 (and libbpfemu.so) both export. */
#ifndef BPFEMU_SELFTESTS_LIBBPF_1_1_COMPAT_H
#define BPFEMU_SELFTESTS_LIBBPF_1_1_COMPAT_H
#include <bpf/bpf.h>
#include <bpf/libbpf_version.h>
#if LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION < 2
struct bpf_map_info;
int bpf_map_get_info_by_fd(int map_fd, struct bpf_map_info *info,
                           __u32 *info_len);
struct bpf_prog_info;
int bpf_prog_get_info_by_fd(int prog_fd, struct bpf_prog_info *info,
                            __u32 *info_len);
struct bpf_link_info;
int bpf_link_get_info_by_fd(int link_fd, struct bpf_link_info *info,
                            __u32 *info_len);
struct bpf_btf_info;
int bpf_btf_get_info_by_fd(int btf_fd, struct bpf_btf_info *info,
                           __u32 *info_len);
#endif
#endif
