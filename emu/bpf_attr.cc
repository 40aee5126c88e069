// SPDX-License-Identifier: Apache-2.0
// union bpf_attr's layout rules (emu/bpf_attr.h).

#include "emu/bpf_attr.h"

#include <linux/bpf.h>

#include <cerrno>

#include "emu/version.h"

namespace bpfemu {

// sizeof(union bpf_attr) of the kernel imitated (6.1: 144, 6.12: 152, 6.18:
// 168, measured with a non-zero byte past the end, which is E2BIG).
uint32_t BpfAttrSize() {
  switch (TargetKernel()) {
    case KernelVersion::k6_1:
      return 144;
    case KernelVersion::k6_12:
      return 152;
    default:
      return 168;
  }
}

// The end of each command's last attr field (the *_LAST_FIELD defines of
// kernel/bpf/syscall.c), for CHECK_ATTR; 0 for commands not served.
uint32_t BpfAttrLastFieldEnd(int cmd) {
  const KernelVersion v = TargetKernel();
  switch (cmd) {
    case BPF_MAP_CREATE:
      return v == KernelVersion::k6_1    ? 72
             : v == KernelVersion::k6_12 ? 80
                                         : 92;
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
      return 32;
    case BPF_MAP_DELETE_ELEM:
      return 16;
    case BPF_MAP_GET_NEXT_KEY:
      return 24;
    case BPF_MAP_FREEZE:
      return 4;
    case BPF_PROG_LOAD:
      return v == KernelVersion::k6_1    ? 140
             : v == KernelVersion::k6_12 ? 148
                                         : 168;
    case BPF_OBJ_PIN:
    case BPF_OBJ_GET:
      return v == KernelVersion::k6_1 ? 16 : 20;
    case BPF_PROG_TEST_RUN:
      return 76;
    case BPF_PROG_GET_NEXT_ID:
    case BPF_MAP_GET_NEXT_ID:
    case BPF_BTF_GET_NEXT_ID:
      return 8;
    case BPF_PROG_BIND_MAP:
      return 12;
    case BPF_ENABLE_STATS:
      return 4;
    case 37:  // BPF_PROG_STREAM_READ_BY_FD (6.17): up to prog_fd
      return v >= KernelVersion::k6_18 ? 20 : 0;
    case BPF_BTF_LOAD:  // btf_log_level; btf_token_fd since 6.9
      return v == KernelVersion::k6_1 ? 28 : 40;
    case BPF_BTF_GET_FD_BY_ID:
      // btf_id; fd_by_id_token_fd on 6.18 (measured: a non-zero next_id
      // or token fd is taken, open_flags other than BPF_F_TOKEN_FD are
      // EINVAL).
      return v >= KernelVersion::k6_18 ? 16 : 4;
    case BPF_PROG_GET_FD_BY_ID:
      return 4;
    case BPF_MAP_GET_FD_BY_ID:
      return 12;
    case BPF_OBJ_GET_INFO_BY_FD:
      return 16;
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH:
      return 56;
    case BPF_LINK_CREATE:  // its union's members end at different places
      return BpfAttrSize();
    case BPF_LINK_UPDATE:  // link_update.old_prog_fd
      return 16;
    case BPF_LINK_DETACH:  // link_detach.link_fd
      return 4;
    case BPF_RAW_TRACEPOINT_OPEN:  // name, prog_fd; the cookie since 6.10
      return v == KernelVersion::k6_1 ? 12 : 24;
    // replace_bpf_fd; relative_fd and expected_revision since 6.6.
    case BPF_PROG_ATTACH:
      return v == KernelVersion::k6_1 ? 20 : 32;
    case BPF_PROG_DETACH:  // attach_type; up to expected_revision since 6.6
      return v == KernelVersion::k6_1 ? 12 : 32;
    // query.prog_attach_flags; the link ids and revision since 6.6.
    case BPF_PROG_QUERY:
      return v == KernelVersion::k6_1 ? 40 : 64;
    default:
      return 0;
  }
}

int MapAttrFromBpfAttr(const uint8_t* a, MapAttr* out) {
  MapAttr& attr = *out;
  attr = MapAttr{};
  attr.map_type = AttrGet<uint32_t>(a, 0);
  attr.key_size = AttrGet<uint32_t>(a, 4);
  attr.value_size = AttrGet<uint32_t>(a, 8);
  attr.max_entries = AttrGet<uint32_t>(a, 12);
  attr.map_flags = AttrGet<uint32_t>(a, 16);
  attr.inner_map_fd = AttrGet<uint32_t>(a, 20);
  attr.numa_node = AttrGet<uint32_t>(a, 24);
  std::memcpy(attr.map_name, a + 28, sizeof(attr.map_name));
  attr.map_ifindex = AttrGet<uint32_t>(a, 44);
  attr.btf_fd = AttrGet<uint32_t>(a, 48);
  attr.btf_key_type_id = AttrGet<uint32_t>(a, 52);
  attr.btf_value_type_id = AttrGet<uint32_t>(a, 56);
  attr.btf_vmlinux_value_type_id = AttrGet<uint32_t>(a, 60);
  attr.map_extra = AttrGet<uint64_t>(a, 64);
  if (TargetKernel() >= KernelVersion::k6_12) {
    attr.value_type_btf_obj_fd = AttrGet<int32_t>(a, 72);
    attr.map_token_fd = AttrGet<int32_t>(a, 76);
  }
  if (TargetKernel() >= KernelVersion::k6_18 &&
      (AttrGet<uint64_t>(a, 80) != 0 || AttrGet<uint32_t>(a, 88) != 0)) {
    return -EINVAL;
  }
  return 0;
}

}  // namespace bpfemu
