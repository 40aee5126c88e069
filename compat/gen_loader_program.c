// SPDX-License-Identifier: Apache-2.0
// File: gen_loader_program.c
//
// bpf_object__gen_loader (compat/gen_loader_compat.cc) against the real
// libbpf: built once with the system libbpf and once with libbpfemu
// (compat/gen_loader_diff_test.sh compares the two).
//
//   gen_loader_program gen OBJ OUT   writes the loader's instructions to
//                                    OUT.insns and its blob to OUT.data and
//                                    prints load's answer and the sizes
//   gen_loader_program run OBJ [user]
//                                    runs the loader as bpftool's light
//                                    skeleton does (bpf/skel_internal.h
//                                    bpf_load_and_run: the blob in a
//                                    one-element array, the loader a SYSCALL
//                                    program test-run on the context) and
//                                    prints what the fds in the context
//                                    name: each map's type, sizes, flags,
//                                    name and (global data) contents, each
//                                    program's type and name. With "user",
//                                    global data comes from user memory
//                                    (map_desc.initial_value: every byte of
//                                    the object's value xor 0xa5).
// Errors print as "NAME: -ERRNO"; the exit status is 0 unless the
// arguments are wrong.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// bpf/skel_internal.h's context.
struct loader_ctx {
  uint32_t sz, flags, log_level, log_size;
  uint64_t log_buf;
};
struct map_desc {
  int map_fd;
  uint32_t max_entries;
  uint64_t initial_value;
};

static int quiet(enum libbpf_print_level level, const char* fmt, va_list ap) {
  (void)level, (void)fmt, (void)ap;
  return 0;
}

static int write_file(const char* prefix, const char* ext, const void* p,
                      size_t n) {
  char path[4096];
  snprintf(path, sizeof(path), "%s%s", prefix, ext);
  FILE* f = fopen(path, "wb");
  if (f == NULL) return -errno;
  if (n != 0 && fwrite(p, 1, n, f) != n) {
    fclose(f);
    return -EIO;
  }
  return fclose(f) == 0 ? 0 : -errno;
}

// Opens `path` and generates its loader into *opts; the object (to be
// closed by the caller) or NULL.
static struct bpf_object* generate(const char* path,
                                   struct gen_loader_opts* opts) {
  struct bpf_object* obj = bpf_object__open_file(path, NULL);
  if (obj == NULL) {
    printf("open: -%d\n", errno);
    return NULL;
  }
  int err = bpf_object__gen_loader(obj, opts);
  printf("gen_loader: %d\n", err);
  errno = 0;
  err = bpf_object__load(obj);
  printf("load: %d errno %d\n", err, err != 0 ? errno : 0);
  if (err != 0) {
    bpf_object__close(obj);
    return NULL;
  }
  return obj;
}

static int run(const char* path, int user) {
  LIBBPF_OPTS(gen_loader_opts, gen);
  struct bpf_object* obj = generate(path, &gen);
  if (obj == NULL) return 0;
  int nr_maps = 0, nr_progs = 0;
  struct bpf_map* map;
  struct bpf_program* prog;
  bpf_object__for_each_map(map, obj) nr_maps++;
  bpf_object__for_each_program(prog, obj) {
    if (bpf_program__autoload(prog)) nr_progs++;
  }
  size_t sz = sizeof(struct loader_ctx) + sizeof(struct map_desc) * nr_maps +
              sizeof(int) * nr_progs;
  struct loader_ctx* ctx = calloc(1, sz);
  struct map_desc* maps = (struct map_desc*)(ctx + 1);
  int* prog_fds = (int*)(maps + nr_maps);
  void** user_values = calloc(nr_maps + 1, sizeof(void*));
  ctx->sz = (uint32_t)sz;
  int i = 0;
  bpf_object__for_each_map(map, obj) {
    size_t n = 0;
    const uint8_t* init = bpf_map__initial_value(map, &n);
    if (user && init != NULL) {
      uint8_t* copy = malloc(n);
      for (size_t j = 0; j < n; j++) copy[j] = init[j] ^ 0xa5;
      user_values[i] = copy;
      maps[i].initial_value = (uint64_t)(uintptr_t)copy;
    }
    i++;
  }

  // bpf_load_and_run: the blob's map, then the loader, then its run.
  // libbpf 1.1.2's skel_internal.h: a plain array, neither read-only for
  // programs nor frozen (later versions add both).
  int blob = bpf_map_create(BPF_MAP_TYPE_ARRAY, "__loader.map", 4, gen.data_sz,
                            1, NULL);
  int zero = 0;
  if (blob < 0 || bpf_map_update_elem(blob, &zero, gen.data, 0) != 0) {
    printf("blob map: -%d\n", errno);
    goto out;
  }
  char log[65536];
  log[0] = 0;
  LIBBPF_OPTS(bpf_prog_load_opts, popts, .fd_array = &blob,
              .prog_flags = BPF_F_SLEEPABLE, .log_buf = log,
              .log_size = sizeof(log), .log_level = 0);
  int loader = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "__loader.prog",
                             "Dual BSD/GPL", (const struct bpf_insn*)gen.insns,
                             gen.insns_sz / sizeof(struct bpf_insn), &popts);
  if (loader < 0) {
    printf("loader load: -%d\n", errno);
    // Again with a verifier log, for whoever reads the output.
    popts.log_level = 1;
    if (bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "__loader.prog", "Dual BSD/GPL",
                      (const struct bpf_insn*)gen.insns,
                      gen.insns_sz / sizeof(struct bpf_insn), &popts) < 0) {
      size_t len = strlen(log);
      fprintf(stderr, "%s", len > 2000 ? log + len - 2000 : log);
    }
    close(blob);
    goto out;
  }
  LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = ctx, .ctx_size_in = sz);
  int err = bpf_prog_test_run_opts(loader, &topts);
  printf("loader run: %d retval %d\n", err, (int)topts.retval);
  close(loader);
  close(blob);
  i = 0;
  bpf_object__for_each_map(map, obj) {
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    int fd = maps[i].map_fd;
    if (fd <= 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
      printf("map %d (%s): fd %d\n", i, bpf_map__name(map), fd);
      i++;
      continue;
    }
    printf("map %d: name %s type %u key %u value %u max %u flags 0x%x btf %s\n",
           i, info.name, info.type, info.key_size, info.value_size,
           info.max_entries, info.map_flags,
           info.btf_value_type_id != 0 ? "yes" : "no");
    size_t n = 0;
    const uint8_t* init = bpf_map__initial_value(map, &n);
    if (init != NULL) {
      uint8_t* got = calloc(1, info.value_size + 8);
      const uint8_t* want = user ? user_values[i] : init;
      int lerr = bpf_map_lookup_elem(fd, &zero, got);
      printf("  contents: lookup %d, %s the %s value\n", lerr,
             lerr == 0 && memcmp(got, want, n) == 0 ? "equal to"
                                                    : "DIFFERENT FROM",
             user ? "user" : "object's");
      free(got);
    }
    close(fd);
    i++;
  }
  for (i = 0; i < nr_progs; i++) {
    struct bpf_prog_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (prog_fds[i] <= 0 ||
        bpf_obj_get_info_by_fd(prog_fds[i], &info, &len) != 0) {
      printf("prog %d: fd %d\n", i, prog_fds[i]);
      continue;
    }
    printf("prog %d: name %s type %u\n", i, info.name, info.type);
    close(prog_fds[i]);
  }
out:
  for (i = 0; i < nr_maps; i++) free(user_values[i]);
  free(user_values);
  free(ctx);
  bpf_object__close(obj);
  return 0;
}

int main(int argc, char** argv) {
  libbpf_set_print(quiet);
  if (argc == 4 && strcmp(argv[1], "gen") == 0) {
    LIBBPF_OPTS(gen_loader_opts, gen);
    struct bpf_object* obj = generate(argv[2], &gen);
    if (obj == NULL) return 0;
    printf("insns %u bytes, data %u bytes\n", gen.insns_sz, gen.data_sz);
    int err = write_file(argv[3], ".insns", gen.insns, gen.insns_sz);
    err = err ? err : write_file(argv[3], ".data", gen.data, gen.data_sz);
    bpf_object__close(obj);
    return err != 0;
  }
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "run") == 0) {
    return run(argv[2], argc == 4 && strcmp(argv[3], "user") == 0);
  }
  if (argc == 2 && strcmp(argv[1], "args") == 0) {
    // The argument refusals of bpf_object__gen_loader.
    struct gen_loader_opts bad = {.sz = 1};
    printf("NULL opts: %d\n", bpf_object__gen_loader(NULL, NULL));
    printf("bad opts size: %d\n", bpf_object__gen_loader(NULL, &bad));
    return 0;
  }
  fprintf(stderr, "usage: %s gen OBJ OUT | run OBJ [user] | args\n", argv[0]);
  return 2;
}
