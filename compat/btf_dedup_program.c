// SPDX-License-Identifier: Apache-2.0
// btf__dedup exercised for //compat:btf_dedup_diff_test: built once against
// the system libbpf (1.1.2) and once against libbpfemu; both builds must
// write the same bytes.
//
//   btf_dedup_program OUT FILE...     each FILE (ELF object with its
//       .BTF.ext, or raw BTF such as /sys/kernel/btf/vmlinux) deduplicated
//       alone, and each with the next one concatenated with btf__add_btf
//       (as the static linker does): OUT/one<i>.btf, OUT/one<i>.ext,
//       OUT/two<i>.btf
//   btf_dedup_program OUT --built     hand-made BTF (btf__add_*): FWD vs
//       STRUCT, cycles, typedef chains, enum forwards, anonymous types,
//       protos, tags, DATASEC/VAR, split BTF; each deduplicated as built
//       (OUT/NAME.btf) and after a round trip through its raw bytes, which
//       deduplicates the strings too (OUT/NAME.raw.btf)
//   btf_dedup_program OUT --bad       malformed BTF libbpf answers: the
//       return value and errno of each case
//   btf_dedup_program OUT --split BASE FILE...  each FILE's BTF appended
//       (btf__add_btf) to an empty split BTF over BASE (such as vmlinux) and
//       deduplicated against it: OUT/split<i>.btf
//   btf_dedup_program OUT --past-end  ids past the last type (libbpf 1.1.2
//       reads out of bounds: libbpfemu must answer -EINVAL)
// One line per case on stdout (name, result, type count); the time taken
// on stderr.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *out_dir;

static void write_file(const char *name, const void *data, size_t size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", out_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size) {
    perror(path);
    exit(2);
  }
  fclose(f);
}

static void write_btf(const char *name, const struct btf *btf) {
  __u32 size = 0;
  const void *raw = btf__raw_data(btf, &size);
  write_file(name, raw, size);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Deduplicates and writes NAME.btf (and NAME.ext); prints the result.
static void dedup(const char *name, struct btf *btf, struct btf_ext *ext,
                  int force_collisions) {
  LIBBPF_OPTS(btf_dedup_opts, opts, .btf_ext = ext,
              .force_collisions = force_collisions);
  char file[256];
  double t0 = now();
  errno = 0;
  int err = btf__dedup(btf, &opts);
  int saved = errno;
  fprintf(stderr, "%s: %.3f s\n", name, now() - t0);
  printf("%s: dedup %d errno %d types %u\n", name, err, err ? saved : 0,
         btf__type_cnt(btf));
  if (err) return;
  snprintf(file, sizeof(file), "%s.btf", name);
  write_btf(file, btf);
  if (ext) {
    __u32 size = 0;
    const void *raw = btf_ext__get_raw_data(ext, &size);
    snprintf(file, sizeof(file), "%s.ext", name);
    write_file(file, raw, size);
  }
}

static int files(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    char name[64];
    struct btf_ext *ext = NULL;
    struct btf *btf = btf__parse(argv[i], &ext);
    snprintf(name, sizeof(name), "one%d", i);
    if (!btf) {
      printf("%s: parse errno %d\n", name, errno);
      continue;
    }
    dedup(name, btf, ext, 0);
    btf__free(btf);
    btf_ext__free(ext);
    if (i + 1 == argc) break;
    struct btf *a = btf__parse(argv[i], NULL);
    struct btf *b = btf__parse(argv[i + 1], NULL);
    struct btf *both = btf__new_empty();
    snprintf(name, sizeof(name), "two%d", i);
    if (!a || !b || btf__add_btf(both, a) < 0 || btf__add_btf(both, b) < 0) {
      printf("%s: concatenation failed, errno %d\n", name, errno);
    } else {
      dedup(name, both, NULL, 0);
    }
    btf__free(a);
    btf__free(b);
    btf__free(both);
  }
  return 0;
}

static int split_on(const char *base_path, int argc, char **argv) {
  struct btf *base = btf__parse(base_path, NULL);
  if (!base) {
    printf("base: parse errno %d\n", errno);
    return 1;
  }
  for (int i = 0; i < argc; i++) {
    char name[64];
    struct btf *obj = btf__parse(argv[i], NULL);
    struct btf *split = btf__new_empty_split(base);
    snprintf(name, sizeof(name), "split%d", i);
    if (!obj || btf__add_btf(split, obj) < 0) {
      printf("%s: append failed, errno %d\n", name, errno);
    } else {
      dedup(name, split, NULL, 0);
    }
    btf__free(split);
    btf__free(obj);
  }
  btf__free(base);
  return 0;
}

// --- hand-made BTF -----------------------------------------------------------

// One "compilation unit": struct t complete or forward, struct s { struct
// t *p; }, struct list { struct list *next; int v; }, a typedef chain to
// struct x, a struct y holding x through the chain.
static void add_cu(struct btf *b, int t_complete, int chain) {
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int t;
  if (t_complete) {
    t = btf__add_struct(b, "t", 4);
    btf__add_field(b, "x", i, 0, 0);
  } else {
    t = btf__add_fwd(b, "t", BTF_FWD_STRUCT);
  }
  int pt = btf__add_ptr(b, t);
  btf__add_struct(b, "s", 8);
  btf__add_field(b, "p", pt, 0, 0);
  int list = btf__add_struct(b, "list", 16);
  int plist = btf__add_ptr(b, list);
  btf__add_field(b, "next", plist, 0, 0);
  btf__add_field(b, "v", i, 64, 0);
  int x = btf__add_struct(b, "x", 4);
  btf__add_field(b, "a", i, 0, 0);
  int td = btf__add_typedef(b, "x_t", x);
  for (int k = 0; k < chain; k++)
    td = btf__add_typedef(b, k ? "x_t3" : "x_t2", td);
  btf__add_struct(b, "y", 4);
  btf__add_field(b, "x", td, 0, 0);
}

// Enums: full, forward (enum and enum64), signed and unsigned enum64.
static void add_enums(struct btf *b, int which) {
  int i = btf__add_int(b, "unsigned int", 4, 0);
  int e;
  if (which == 0) {
    e = btf__add_enum(b, "e", 4);
    btf__add_enum_value(b, "E_A", 1);
    btf__add_enum_value(b, "E_B", -2);
  } else if (which == 1) {
    e = btf__add_fwd(b, "e", BTF_FWD_ENUM);
  } else {
    e = btf__add_enum64(b, "e", 8, which == 2);
    btf__add_enum64_value(b, "E_A", 1);
    btf__add_enum64_value(b, "E_B", 1ull << 40);
  }
  btf__add_enum64(b, "f", 8, 0);
  if (which != 1) btf__add_enum64_value(b, "F_A", 3);
  int pe = btf__add_ptr(b, e);
  btf__add_struct(b, "holder", 16);
  btf__add_field(b, "pe", pe, 0, 0);
  btf__add_field(b, "i", i, 64, 0);
}

// Anonymous structs and unions, bitfields, arrays (two identical array
// types in one struct, as compilers sometimes emit).
static void add_anon(struct btf *b) {
  int c = btf__add_int(b, "char", 1, BTF_INT_CHAR);
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
  int a1 = btf__add_array(b, idx, c, 16);
  int a2 = btf__add_array(b, idx, c, 16);
  int u = btf__add_union(b, NULL, 4);
  btf__add_field(b, "i", i, 0, 0);
  btf__add_field(b, "c", c, 0, 0);
  int s = btf__add_struct(b, NULL, 8);
  btf__add_field(b, "lo", i, 0, 3);
  btf__add_field(b, "hi", i, 3, 29);
  btf__add_field(b, NULL, u, 32, 0);
  btf__add_struct(b, "outer", 40);
  btf__add_field(b, "a", a1, 0, 0);
  btf__add_field(b, "b", a2, 128, 0);
  btf__add_field(b, "in", s, 256, 0);
}

// Functions, prototypes, decl tags and type tags.
static void add_funcs(struct btf *b, int variant) {
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int l = btf__add_int(b, "long", 8, BTF_INT_SIGNED);
  int s = btf__add_struct(b, "ctx", 8);
  btf__add_field(b, "v", l, 0, 0);
  int tag = btf__add_type_tag(b, "user", s);
  int p = btf__add_ptr(b, tag);
  int proto = btf__add_func_proto(b, variant ? l : i);
  btf__add_func_param(b, "c", p);
  btf__add_func_param(b, "n", i);
  int f = btf__add_func(b, "handler", BTF_FUNC_GLOBAL, proto);
  btf__add_decl_tag(b, "kfunc", f, -1);
  btf__add_decl_tag(b, "arg", f, 0);
  btf__add_decl_tag(b, "member", s, 0);
  int vproto = btf__add_func_proto(b, 0);
  btf__add_func(b, "noargs", BTF_FUNC_STATIC, vproto);
  int vp = btf__add_ptr(b, 0);
  btf__add_const(b, vp);
  btf__add_volatile(b, i);
  btf__add_restrict(b, vp);
  btf__add_float(b, "double", 8);
}

// DATASEC and VAR are never merged.
static void add_data(struct btf *b) {
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int v = btf__add_var(b, "counter", BTF_VAR_GLOBAL_ALLOCATED, i);
  int w = btf__add_var(b, "limit", BTF_VAR_STATIC, i);
  btf__add_datasec(b, ".data", 8);
  btf__add_datasec_var_info(b, v, 0, 4);
  btf__add_datasec_var_info(b, w, 4, 4);
}

typedef void (*builder)(struct btf *b);

static void b_fwd_struct(struct btf *b) {
  add_cu(b, 1, 0);
  add_cu(b, 0, 0);
  add_cu(b, 0, 1);
}
static void b_struct_fwd(struct btf *b) {
  add_cu(b, 0, 0);
  add_cu(b, 1, 2);
  add_cu(b, 1, 0);
}
static void b_only_fwd(struct btf *b) {
  add_cu(b, 0, 0);
  add_cu(b, 0, 0);
  // A struct t no one points at: the FWDs resolve by its unique name.
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  btf__add_struct(b, "t", 4);
  btf__add_field(b, "x", i, 0, 0);
}
static void b_ambiguous_fwd(struct btf *b) {
  add_cu(b, 0, 0);
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  btf__add_struct(b, "t", 4);
  btf__add_field(b, "x", i, 0, 0);
  btf__add_struct(b, "t", 4);
  btf__add_field(b, "other", i, 0, 0);
  btf__add_union(b, "u", 4);
  btf__add_field(b, "x", i, 0, 0);
  btf__add_fwd(b, "u", BTF_FWD_STRUCT);
  btf__add_fwd(b, "u", BTF_FWD_UNION);
}
static void b_chains(struct btf *b) {
  add_cu(b, 1, 0);
  add_cu(b, 1, 1);
  add_cu(b, 1, 2);
  add_cu(b, 1, 1);
}
static void b_enums(struct btf *b) {
  add_enums(b, 1);
  add_enums(b, 0);
  add_enums(b, 1);
  add_enums(b, 2);
  add_enums(b, 3);
  add_enums(b, 1);
}
static void b_anon(struct btf *b) {
  add_anon(b);
  add_anon(b);
}
static void b_funcs(struct btf *b) {
  add_funcs(b, 0);
  add_funcs(b, 1);
  add_funcs(b, 0);
}
static void b_data(struct btf *b) {
  add_data(b);
  add_data(b);
}
static void b_all(struct btf *b) {
  b_struct_fwd(b);
  b_enums(b);
  b_anon(b);
  b_funcs(b);
  b_data(b);
  b_fwd_struct(b);
}

static const struct {
  const char *name;
  builder build;
} cases[] = {
    {"fwd_struct", b_fwd_struct},
    {"struct_fwd", b_struct_fwd},
    {"only_fwd", b_only_fwd},
    {"ambiguous_fwd", b_ambiguous_fwd},
    {"chains", b_chains},
    {"enums", b_enums},
    {"anon", b_anon},
    {"funcs", b_funcs},
    {"data", b_data},
    {"all", b_all},
};

static int built(void) {
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char name[128];
    struct btf *b = btf__new_empty();
    cases[c].build(b);
    // An unused string: kept as built, dropped after the raw round trip.
    btf__add_str(b, "unused string");
    snprintf(name, sizeof(name), "%s.in", cases[c].name);
    write_btf(name, b);
    __u32 size = 0;
    const void *raw = btf__raw_data(b, &size);
    struct btf *r = btf__new(raw, size);
    dedup(cases[c].name, b, NULL, 0);
    snprintf(name, sizeof(name), "%s.raw", cases[c].name);
    if (r) {
      dedup(name, r, NULL, 0);
    } else {
      printf("%s: btf__new errno %d\n", name, errno);
    }
    btf__free(r);
    btf__free(b);
    // Every candidate in one bucket: the chain order decides alike.
    b = btf__new_empty();
    cases[c].build(b);
    snprintf(name, sizeof(name), "%s.collide", cases[c].name);
    dedup(name, b, NULL, 1);
    btf__free(b);
  }
  // Split BTF: a base with struct t complete, split parts repeating it,
  // with a forward, and a base forward the split completes.
  struct btf *base = btf__new_empty();
  add_cu(base, 1, 0);
  add_enums(base, 1);
  int fwd = btf__add_fwd(base, "later", BTF_FWD_STRUCT);
  // A base struct holding the base FWD: the split twin holding the
  // complete struct stays apart (libbpf's hypot_adjust_canon).
  int pfwd = btf__add_ptr(base, fwd);
  btf__add_struct(base, "keeper", 8);
  btf__add_field(base, "p", pfwd, 0, 0);
  write_btf("split_base.in", base);
  struct btf *split = btf__new_empty_split(base);
  add_cu(split, 1, 0);
  add_cu(split, 0, 1);
  add_enums(split, 0);
  int i = btf__add_int(split, "int", 4, BTF_INT_SIGNED);
  int later = btf__add_struct(split, "later", 4);
  btf__add_field(split, "x", i, 0, 0);
  int plater = btf__add_ptr(split, later);
  btf__add_struct(split, "keeper", 8);
  btf__add_field(split, "p", plater, 0, 0);
  write_btf("split.in", split);
  // (libbpf 1.1.2 has no btf__new_split: the raw bytes go through a file.)
  char path[4096];
  snprintf(path, sizeof(path), "%s/split.in", out_dir);
  struct btf *r = btf__parse_raw_split(path, base);
  dedup("split", split, NULL, 0);
  if (r) dedup("split.raw", r, NULL, 0);
  btf__free(r);
  btf__free(split);
  btf__free(base);
  return 0;
}

// --- malformed BTF ----------------------------------------------------------

static void bad_case(const char *name, struct btf *b) {
  dedup(name, b, NULL, 0);
  btf__free(b);
}

static int bad(void) {
  struct btf *b = btf__new_empty();
  // typedef a -> typedef b -> typedef a
  btf__add_typedef(b, "a", 2);
  btf__add_typedef(b, "b", 1);
  bad_case("typedef_cycle", b);
  b = btf__new_empty();
  btf__add_ptr(b, 1);
  bad_case("ptr_self", b);
  b = btf__new_empty();
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  btf__add_const(b, 3);
  btf__add_volatile(b, 2);
  btf__add_struct(b, "s", 4);
  btf__add_field(b, "c", 2, 0, 0);
  btf__add_field(b, "i", i, 0, 0);
  bad_case("const_volatile_cycle", b);
  b = btf__new_empty();
  int proto = btf__add_func_proto(b, 2);
  btf__add_func(b, "f", BTF_FUNC_GLOBAL, proto);
  btf__add_func_param(b, "self", proto);
  bad_case("proto_cycle", b);
  b = btf__new_empty();
  int a = btf__add_array(b, 1, 1, 4);
  (void)a;
  bad_case("array_self", b);
  return 0;
}

static int past_end(void) {
  struct btf *b = btf__new_empty();
  btf__add_ptr(b, 7);
  bad_case("ptr_past_end", b);
  b = btf__new_empty();
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  btf__add_struct(b, "s", 8);
  btf__add_field(b, "i", i, 0, 0);
  btf__add_field(b, "far", 1000000, 32, 0);
  bad_case("member_past_end", b);
  b = btf__new_empty();
  int v = btf__add_var(b, "v", BTF_VAR_STATIC, 99);
  btf__add_datasec(b, ".data", 4);
  btf__add_datasec_var_info(b, v, 0, 4);
  bad_case("var_past_end", b);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr,
            "usage: %s OUT FILE... | --split BASE FILE... | --built | --bad "
            "| --past-end\n",
            argv[0]);
    return 2;
  }
  out_dir = argv[1];
  if (!strcmp(argv[2], "--built")) return built();
  if (!strcmp(argv[2], "--bad")) return bad();
  if (!strcmp(argv[2], "--past-end")) return past_end();
  if (!strcmp(argv[2], "--split") && argc > 3) {
    return split_on(argv[3], argc - 4, argv + 4);
  }
  return files(argc - 2, argv + 2);
}
