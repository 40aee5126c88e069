// SPDX-License-Identifier: Apache-2.0
// File: bpf_attr.h
//
// union bpf_attr as raw bytes, for the two places that take it from a
// caller: `bpfemu exec` (exec/dispatch.cc) and bpf_sys_bpf from a program
// (native/syscall_helpers.cc). Mirrors kernel/bpf/syscall.c: the union's
// size (bpf_check_uarg_tail_zero), each command's *_LAST_FIELD (CHECK_ATTR)
// and map_create's reading of the attr, on the kernel imitated
// (emu/version.h).

#ifndef BPFEMU_EMU_BPF_ATTR_H_
#define BPFEMU_EMU_BPF_ATTR_H_

#include <cstdint>
#include <cstring>

#include "emu/map.h"

namespace bpfemu {

template <typename T>
T AttrGet(const uint8_t* attr, size_t off) {
  T v;
  std::memcpy(&v, attr + off, sizeof(v));
  return v;
}

// sizeof(union bpf_attr) (6.1: 144, 6.12: 152, 6.18: 168, measured with a
// non-zero byte past the end, which is E2BIG).
uint32_t BpfAttrSize();

// The end of `cmd`'s last attr field, for CHECK_ATTR; 0 for commands bpfemu
// does not take from a raw attr.
uint32_t BpfAttrLastFieldEnd(int cmd);

// BPF_MAP_CREATE's attr as a MapAttr, fds as given: 0, or -EINVAL for a
// 6.18 excl_prog_hash (bpfemu has no signed programs).
int MapAttrFromBpfAttr(const uint8_t* attr, MapAttr* out);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_BPF_ATTR_H_
