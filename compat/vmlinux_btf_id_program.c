// SPDX-License-Identifier: Apache-2.0
// libbpf_find_vmlinux_btf_id over the running kernel's BTF, for
// //compat:vmlinux_btf_id_diff_test: built against the system libbpf and
// against libbpfemu, both builds must print the same lines (ids, errnos
// and libbpf's warnings).
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int print_warnings(enum libbpf_print_level level, const char *fmt,
                          va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  printf("<warn>");
  return vprintf(fmt, args);
}

int main(void) {
  libbpf_set_print(print_warnings);
  static const struct {
    const char *name;
    enum bpf_attach_type type;
  } cases[] = {
      {"sys_enter", BPF_TRACE_RAW_TP},
      {"sched_switch", BPF_TRACE_RAW_TP},
      {"no_such_tracepoint", BPF_TRACE_RAW_TP},
      {"file_open", BPF_LSM_MAC},
      {"bprm_check_security", BPF_LSM_CGROUP},
      {"task", BPF_TRACE_ITER},
      {"bpf_map", BPF_TRACE_ITER},
      {"do_unlinkat", BPF_TRACE_FENTRY},
      {"do_unlinkat", BPF_TRACE_FEXIT},
      {"tcp_v4_connect", BPF_MODIFY_RETURN},
      {"vfs_read", BPF_CGROUP_INET_INGRESS},
      {"sys_enter", BPF_TRACE_FENTRY},
      {"task_struct", BPF_TRACE_FENTRY},
      {"", BPF_TRACE_FENTRY},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    errno = 0;
    int id = libbpf_find_vmlinux_btf_id(cases[i].name, cases[i].type);
    printf("%s/%d: %s errno %d\n", cases[i].name, cases[i].type,
           id > 0 ? "found" : "none", id > 0 ? 0 : errno);
    printf("  id %d\n", id);
  }
  char long_name[200];
  memset(long_name, 'x', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  long_name[118] = '\0';  // with "btf_trace_" (10): 128, one too many
  errno = 0;
  int r = libbpf_find_vmlinux_btf_id(long_name, BPF_TRACE_RAW_TP);
  printf("long raw_tp: %d errno %d\n", r, errno);
  long_name[117] = '\0';  // 127: fits
  errno = 0;
  r = libbpf_find_vmlinux_btf_id(long_name, BPF_TRACE_RAW_TP);
  printf("fitting raw_tp: %d errno %d\n", r, errno);
  return 0;
}
