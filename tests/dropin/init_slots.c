// SPDX-License-Identifier: Apache-2.0
// A plain libbpf program (built with -lbpf) that loads init_slots.bpf.o and
// prints which slots libbpf filled and what a dispatch through them
// returns. It names no fds or ids, so the kernel run (real libbpf, root)
// and the emulator run (libbpfemu as libbpf.so.1) print the same.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>

int main(int argc, char **argv) {
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (obj == NULL) {
    printf("open failed\n");
    return 1;
  }
  int err = bpf_object__load(obj);
  printf("load -> %d\n", err);
  int jumps = bpf_object__find_map_fd_by_name(obj, "jumps");
  int outer = bpf_object__find_map_fd_by_name(obj, "outer");
  for (__u32 i = 0; i < 4; i++) {
    __u32 id = 0;
    err = bpf_map_lookup_elem(jumps, &i, &id);
    printf("jumps[%u]: %s\n", i, err ? "empty" : "a program");
    err = bpf_map_lookup_elem(outer, &i, &id);
    printf("outer[%u]: %s\n", i, err ? "empty" : "a map");
  }
  // .rodata is frozen: userspace writes are refused, reads are not.
  struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
  __u32 zero = 0, value = 0;
  err = bpf_map_update_elem(bpf_map__fd(rodata), &zero, &value, BPF_ANY);
  printf(".rodata update -> %d\n", err);
  err = bpf_map_lookup_elem(bpf_map__fd(rodata), &zero, &value);
  printf(".rodata lookup -> %d, fallthrough %u\n", err, value);
  int fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "dispatch"));
  for (__u8 slot = 0; slot < 5; slot++) {
    __u8 pkt[64] = {slot};
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
                .data_size_in = sizeof(pkt));
    err = bpf_prog_test_run_opts(fd, &run);
    printf("dispatch %u -> %d, retval %u\n", slot, err, run.retval);
  }
  bpf_object__close(obj);
  return 0;
}
