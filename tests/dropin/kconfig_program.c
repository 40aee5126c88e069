// SPDX-License-Identifier: Apache-2.0
// libbpf's __kconfig externs through a plain libbpf program (built with
// cc ... -lbpf), run on the real libbpf and the kernel and on libbpfemu
// (kconfig_test.sh): for each Kconfig text given at open
// (bpf_object_open_opts.kconfig), the load's result and the .kconfig map's
// bytes (the externs as libbpf lays them out and fills them).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap) {
  return 0;
}

static void run(const char *path, const char *label, const char *kconfig) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .kconfig = kconfig);
  struct bpf_object *obj = bpf_object__open_file(path, &opts);
  if (!obj) {
    printf("%s: open failed, errno %d\n", label, errno);
    return;
  }
  const int err = bpf_object__load(obj);
  printf("%s: load -> %d\n", label, err);
  if (!err) {
    struct bpf_map *m;
    bpf_object__for_each_map(m, obj) {
      const char *name = bpf_map__name(m);
      if (!strstr(name, ".kconfig")) continue;
      unsigned char v[256] = {0};
      const unsigned int zero = 0, size = bpf_map__value_size(m);
      const int lerr = bpf_map_lookup_elem(bpf_map__fd(m), &zero, v);
      printf("  %s: %u bytes, lookup %d, flags %#x:", name + strlen(name) - 8,
             size, lerr, bpf_map__map_flags(m));
      for (unsigned int i = 0; i < size && i < sizeof(v); i++) {
        printf("%s%02x", i % 8 ? "" : " ", v[i]);
      }
      printf("\n");
      const unsigned int one = 1;
      printf("  write -> %d\n",
             bpf_map_update_elem(bpf_map__fd(m), &zero, &one, 0) ? -errno : 0);
    }
  }
  bpf_object__close(obj);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  libbpf_set_print(quiet);
  run(argv[1], "system Kconfig", NULL);
  run(argv[1], "custom values",
      "CONFIG_HZ=100\nCONFIG_BPF=n\nCONFIG_BPFEMU_U64=0xffffffffffffffff\n"
      "CONFIG_BPFEMU_S8=-128\nCONFIG_BPFEMU_STR=\"abcdef\"\n"
      "# CONFIG_BPF_JIT is not set\nCONFIG_NR_CPUS=65535\n");
  run(argv[1], "tristate and char m",
      "CONFIG_BPF_JIT=m\nCONFIG_BPF_SYSCALL=m\n");
  run(argv[1], "first value wins", "CONFIG_HZ=1\nCONFIG_HZ=2\n");
  run(argv[1], "s8 out of range", "CONFIG_BPFEMU_S8=128\n");
  run(argv[1], "u16 out of range", "CONFIG_NR_CPUS=65536\n");
  run(argv[1], "bool m", "CONFIG_BPF=m\n");
  run(argv[1], "bool 2", "CONFIG_BPF=2\n");
  run(argv[1], "int y", "CONFIG_HZ=y\n");
  run(argv[1], "int not a number", "CONFIG_HZ=12abc\n");
  run(argv[1], "string unquoted", "CONFIG_BPFEMU_STR=\"abc\n");
  run(argv[1], "string into int", "CONFIG_HZ=\"abc\"\n");
  run(argv[1], "no separator", "CONFIG_HZ\n");
  run(argv[1], "no value", "CONFIG_HZ=\n");
  run(argv[1], "other lines", "# comment\nFOO=bar\n\nCONFIG_HZ=300\n");
  run(argv[2], "strong, not set", "CONFIG_HZ=1\n");
  run(argv[2], "strong, set", "CONFIG_BPFEMU_STRONG=7\n");
  return 0;
}
