// SPDX-License-Identifier: Apache-2.0
// A loader built against the system's real libbpf (no bpfemu code): opens
// tests/exec/globals.bpf.o, loads it - libbpf mmap()s the .bss and .data
// maps (BPF_F_MMAPABLE arrays) - and uses its global variables through
// those mappings against a program's test runs. Prints "name = result".
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void report(const char* what, long r) { printf("%s = %ld\n", what, r); }

struct bss {
  uint64_t seen;
  uint32_t runs;
};

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) return 2;
  // A skeleton made by hand, as `bpftool gen skeleton` makes one: its
  // load mmap()s every mmapable map over the pointers below.
  static char buf[1 << 16];
  FILE* f = fopen(argv[1], "rb");
  if (f == NULL) return 1;
  const size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  struct bpf_object* obj = NULL;
  struct bpf_program* prog = NULL;
  struct bpf_map *bss = NULL, *data = NULL;
  volatile struct bss* b = NULL;
  volatile uint64_t* in = NULL;
  struct bpf_map_skeleton maps[2] = {{".bss", &bss, (void**)&b},
                                     {".data", &data, (void**)&in}};
  struct bpf_prog_skeleton progs[1] = {{"globals", &prog, NULL}};
  struct bpf_object_skeleton s = {.sz = sizeof(s),
                                  .name = "globals",
                                  .data = buf,
                                  .data_sz = n,
                                  .obj = &obj,
                                  .map_cnt = 2,
                                  .map_skel_sz = sizeof(maps[0]),
                                  .maps = maps,
                                  .prog_cnt = 1,
                                  .prog_skel_sz = sizeof(progs[0]),
                                  .progs = progs};
  report("open", bpf_object__open_skeleton(&s, NULL));
  report("load", bpf_object__load_skeleton(&s));
  report("maps found", bss != NULL && data != NULL);
  report("bss mapped", b != NULL);
  report("data mapped", in != NULL);
  if (b == NULL || in == NULL || prog == NULL) return 1;
  report("data initial", (long)*in);
  int pfd = bpf_program__fd(prog);
  unsigned char pkt[14] = {0};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = 14,
              .repeat = 1);
  report("run", bpf_prog_test_run_opts(pfd, &opts));
  report("retval", opts.retval);
  report("seen", (long)b->seen);
  *in = 41;  // through the mapping
  report("run again", bpf_prog_test_run_opts(pfd, &opts));
  report("retval again", opts.retval);
  report("seen again", (long)b->seen);
  report("runs", b->runs);
  // The same values through the syscall.
  uint32_t zero = 0;
  struct bss v;
  memset(&v, 0, sizeof(v));
  report("lookup bss", bpf_map_lookup_elem(bpf_map__fd(bss), &zero, &v));
  report("lookup seen", (long)v.seen);
  report("lookup runs", v.runs);
  bpf_object__close(obj);  // s and its arrays are not malloc()ed
  return 0;
}
