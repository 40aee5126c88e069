// SPDX-License-Identifier: Apache-2.0
// Raw bpf(2) for the C programs of tests/exec (raw_bpf.c, exec_child.c):
// no libbpf, only syscall(SYS_bpf), so the same binaries run natively on
// the kernel and under `bpfemu exec`, built dynamically or -static.
#ifndef BPFEMU_TESTS_EXEC_RAW_SYS_H_
#define BPFEMU_TESTS_EXEC_RAW_SYS_H_

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// bpf(cmd, attr, size): the result, or -errno.
static inline long sys_bpf(int cmd, void* attr, unsigned size) {
  long r = syscall(SYS_bpf, cmd, attr, size);
  return r < 0 ? -errno : r;
}

// One instruction written out by hand (struct bpf_insn without bitfields).
struct insn {
  uint8_t code;
  uint8_t regs;  // dst | src << 4
  int16_t off;
  int32_t imm;
};

// BPF_MAP_CREATE: a new fd, or -errno. `name` may be NULL.
static inline int map_create(int type, int key_size, int value_size,
                             int max_entries, int flags, const char* name) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  a.map_flags = flags;
  if (name) strncpy(a.map_name, name, sizeof(a.map_name) - 1);
  return (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

// An element command (lookup, update, delete, get_next_key, ...).
static inline long elem(int cmd, int fd, const void* key, void* value,
                        uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)value;
  a.flags = flags;
  return sys_bpf(cmd, &a, sizeof(a));
}

#endif  // BPFEMU_TESTS_EXEC_RAW_SYS_H_
