// SPDX-License-Identifier: Apache-2.0
// libbpf's static linker (bpf_linker__*) exercised the same way against
// the system libbpf (linker_program_real) and against libbpfemu
// (linker_program_emu, compat/linker_compat.cc); linker_diff_test.sh
// compares what the two print.
//
//   link OUT IN...   link the inputs into OUT, print each call's result
//   bad DIR A.o BAD.o CASE  one error case (files made under DIR)
//   run OBJ          open, load and test-run OBJ's programs (by name, two
//                    rounds), print the return values and the "results" map
//                    (exit 77 when the load is refused for lack of privilege)

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int do_link(const char* out, int n, char** in) {
  struct bpf_linker* l = bpf_linker__new(out, NULL);
  if (l == NULL) {
    printf("new: errno %d\n", errno);
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    int r = bpf_linker__add_file(l, in[i], NULL);
    printf("add %s: %d\n",
           strrchr(in[i], '/') ? strrchr(in[i], '/') + 1 : in[i], r);
  }
  printf("finalize: %d\n", bpf_linker__finalize(l));
  bpf_linker__free(l);
  return 0;
}

// Copies `src` to DIR/name with `len` bytes at `off` replaced.
static char* patched(const char* dir, const char* name, const char* src,
                     long off, const void* bytes, size_t len) {
  static char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE* in = fopen(src, "rb");
  FILE* out = fopen(path, "wb");
  if (in == NULL || out == NULL) exit(2);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0) fwrite(buf, 1, n, out);
  if (len > 0) {
    fseek(out, off, SEEK_SET);
    fwrite(bytes, 1, len, out);
  }
  fclose(in);
  fclose(out);
  return path;
}

static void add_case(const char* what, const char* dir, const char* file,
                     const struct bpf_linker_file_opts* opts) {
  char out[4096];
  snprintf(out, sizeof(out), "%s/bad_out.o", dir);
  struct bpf_linker* l = bpf_linker__new(out, NULL);
  errno = 0;
  int r = bpf_linker__add_file(l, file, opts);
  printf("%s: %d errno %d\n", what, r, errno);
  bpf_linker__free(l);
}

// One error case by name (each runs in its own process: libbpf 1.1.2
// crashes on some of them).
static int do_bad(const char* dir, const char* a, const char* bad,
                  const char* c) {
  char out[4096];
  snprintf(out, sizeof(out), "%s/bad_out.o", dir);
  unsigned short em_x86_64 = 62, et_exec = 2;
  unsigned char class32 = 1, msb = 2;
  struct bpf_linker* l = NULL;
  int r1, r2;
  if (strcmp(c, "new-opts-tail") == 0) {
    struct {
      struct bpf_linker_opts o;
      long extra;
    } big = {{.sz = sizeof(big)}, 1};
    errno = 0;
    l = bpf_linker__new(out, &big.o);
    printf("%s: %s errno %d\n", c, l ? "linker" : "NULL", errno);
  } else if (strcmp(c, "new-opts-sz1") == 0) {
    struct bpf_linker_opts small = {.sz = 1};
    errno = 0;
    l = bpf_linker__new(out, &small);
    printf("%s: %s errno %d\n", c, l ? "linker" : "NULL", errno);
  } else if (strcmp(c, "new-missing-dir") == 0) {
    errno = 0;
    l = bpf_linker__new("/nonexistent-dir/x.o", NULL);
    printf("%s: %s errno %d\n", c, l ? "linker" : "NULL", errno);
  } else if (strcmp(c, "free-null") == 0) {
    bpf_linker__free(NULL);
    printf("%s: ok\n", c);
  } else if (strcmp(c, "missing-file") == 0) {
    char missing[4096];
    snprintf(missing, sizeof(missing), "%s/no-such-file.o", dir);
    add_case(c, dir, missing, NULL);
  } else if (strcmp(c, "non-elf") == 0) {
    add_case(c, dir, patched(dir, "text.o", a, 0, "not an ELF!", 11), NULL);
  } else if (strcmp(c, "empty-file") == 0) {
    add_case(c, dir, patched(dir, "empty.o", "/dev/null", 0, NULL, 0), NULL);
  } else if (strcmp(c, "wrong-machine") == 0) {
    add_case(c, dir, patched(dir, "x86.o", a, 18, &em_x86_64, 2), NULL);
  } else if (strcmp(c, "not-relocatable") == 0) {
    add_case(c, dir, patched(dir, "exec.o", a, 16, &et_exec, 2), NULL);
  } else if (strcmp(c, "elf32") == 0) {
    add_case(c, dir, patched(dir, "elf32.o", a, 4, &class32, 1), NULL);
  } else if (strcmp(c, "big-endian") == 0) {
    add_case(c, dir, patched(dir, "msb.o", a, 5, &msb, 1), NULL);
  } else if (strcmp(c, "file-opts-tail") == 0) {
    struct {
      struct bpf_linker_file_opts o;
      long extra;
    } fbig = {{.sz = sizeof(fbig)}, 1};
    add_case(c, dir, a, &fbig.o);
  } else if (strcmp(c, "duplicate-strong") == 0) {
    l = bpf_linker__new(out, NULL);
    r1 = bpf_linker__add_file(l, a, NULL);
    errno = 0;
    r2 = bpf_linker__add_file(l, a, NULL);
    printf("%s: %d %d errno %d\n", c, r1, r2, errno);
  } else if (strcmp(c, "extern-type-mismatch") == 0) {
    l = bpf_linker__new(out, NULL);
    r1 = bpf_linker__add_file(l, a, NULL);
    errno = 0;
    r2 = bpf_linker__add_file(l, bad, NULL);
    printf("%s: %d %d errno %d\n", c, r1, r2, errno);
  } else if (strcmp(c, "after-finalize") == 0) {
    l = bpf_linker__new(out, NULL);
    r1 = bpf_linker__add_file(l, a, NULL);
    int f1 = bpf_linker__finalize(l);
    errno = 0;
    int f2 = bpf_linker__finalize(l);
    int e2 = errno;
    errno = 0;
    r2 = bpf_linker__add_file(l, a, NULL);
    printf("%s: %d %d finalize %d errno %d add %d errno %d\n", c, r1, f1, f2,
           e2, r2, errno);
  } else if (strcmp(c, "empty-link") == 0) {
    l = bpf_linker__new(out, NULL);
    printf("%s: finalize %d\n", c, bpf_linker__finalize(l));
  } else {
    fprintf(stderr, "no case %s\n", c);
    return 2;
  }
  bpf_linker__free(l);
  return 0;
}

static int by_name(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

static int do_run(const char* path) {
  struct bpf_object* obj = bpf_object__open_file(path, NULL);
  if (obj == NULL) {
    printf("open: errno %d\n", errno);
    return 1;
  }
  int err = bpf_object__load(obj);
  if (err == -EPERM) {
    printf("SKIP: loading needs privileges (bpf() refused)\n");
    bpf_object__close(obj);
    return 77;
  }
  if (err != 0) {
    printf("load: %d\n", err);
    bpf_object__close(obj);
    return 1;
  }
  // Every program, by name order, twice (state carries over), on packets
  // getting 8 bytes shorter each run.
  const char* names[16];
  int n = 0;
  struct bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    if (n < 16) names[n++] = bpf_program__name(p);
  }
  qsort(names, n, sizeof(names[0]), by_name);
  unsigned char pkt[128] = {0};
  for (int i = 0; i < 2 * n; ++i) {
    p = bpf_object__find_program_by_name(obj, names[i % n]);
    size_t len = sizeof(pkt) - 8 * i;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = len);
    int r = bpf_prog_test_run_opts(bpf_program__fd(p), &run);
    printf("%s len %zu: run %d retval %d\n", names[i % n], len, r,
           (int)run.retval);
  }
  struct bpf_map* m = bpf_object__find_map_by_name(obj, "results");
  for (unsigned int k = 0; m != NULL && k < 4; ++k) {
    unsigned long long v = 0;
    int r = bpf_map__lookup_elem(m, &k, sizeof(k), &v, sizeof(v), 0);
    printf("results[%u]: %d %llu\n", k, r, v);
  }
  bpf_object__close(obj);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getenv("LINKER_PROGRAM_VERBOSE") == NULL) libbpf_set_print(NULL);
  if (argc >= 3 && strcmp(argv[1], "link") == 0) {
    return do_link(argv[2], argc - 3, argv + 3);
  }
  if (argc == 6 && strcmp(argv[1], "bad") == 0) {
    return do_bad(argv[2], argv[3], argv[4], argv[5]);
  }
  if (argc == 3 && strcmp(argv[1], "run") == 0) return do_run(argv[2]);
  fprintf(stderr,
          "usage: %s link OUT IN... | bad DIR A.o BAD.o CASE | run OBJ\n",
          argv[0]);
  return 2;
}
