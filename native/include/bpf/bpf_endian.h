/* SPDX-License-Identifier: Apache-2.0 */
/* bpfemu's native stand-in for libbpf's <bpf/bpf_endian.h> (x86-64: little
 * endian, so network order means a byte swap). */
#ifndef __BPF_ENDIAN__
#define __BPF_ENDIAN__

#include <linux/types.h>

#define bpf_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define bpf_htonl(x) ((__be32)__builtin_bswap32((__u32)(x)))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#define bpf_cpu_to_be64(x) ((__be64)__builtin_bswap64((__u64)(x)))
#define bpf_be64_to_cpu(x) ((__u64)__builtin_bswap64((__u64)(x)))

#endif /* __BPF_ENDIAN__ */
