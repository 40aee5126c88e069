// SPDX-License-Identifier: Apache-2.0
// File: cgroup2_mount.h
//
// Where the cgroup2 hierarchy is mounted, for the C test programs that make
// cgroups: compat/cgroup_attach_program.c (through libbpf) and
// tests/exec/cgroup_attach.c (raw bpf()). Header-only C, no dependencies.

#ifndef BPFEMU_COMPAT_CGROUP2_MOUNT_H_
#define BPFEMU_COMPAT_CGROUP2_MOUNT_H_

#include <stddef.h>
#include <stdio.h>
#include <string.h>

// The mount point of the first cgroup2 line of /proc/self/mountinfo into
// out[n], or "" when there is none.
static inline void Cgroup2Mount(char* out, size_t n) {
  char line[512], mnt[256], fs[64];
  out[0] = 0;
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL) return;
  while (fgets(line, sizeof(line), f) != NULL) {
    const char* dash = strstr(line, " - ");
    if (dash == NULL || sscanf(dash, " - %63s", fs) != 1) continue;
    if (strcmp(fs, "cgroup2") != 0) continue;
    if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1) {
      snprintf(out, n, "%s", mnt);
      break;
    }
  }
  fclose(f);
}

#endif  // BPFEMU_COMPAT_CGROUP2_MOUNT_H_
