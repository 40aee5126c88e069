// SPDX-License-Identifier: Apache-2.0
// libbpf's btf_dump API exercised over every type of each BTF given, for
// //compat:btf_dump_diff_test: built once against the system libbpf and
// once against libbpfemu, both builds must print the same bytes.
//
//   btf_dump_program FILE...   (an ELF object, or raw BTF such as
//                               /sys/kernel/btf/vmlinux)
//   btf_dump_program --built   (BTF built with the btf__add_* API)
//
// Per BTF: btf_dump__dump_type of every id (one dumper, as bpftool's
// "format c"), btf_dump__emit_type_decl of every id with a field name,
// an indent level and strip_mods, and btf_dump__dump_type_data of every
// sized type over a fixed byte pattern with each option, with a short
// buffer, and at an odd address. libbpf's warnings are printed too.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out(void *ctx, const char *fmt, va_list args) {
  (void)ctx;
  vprintf(fmt, args);
}

static int print_warnings(enum libbpf_print_level level, const char *fmt,
                          va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  printf("<warn>");
  return vprintf(fmt, args);
}

static unsigned char pattern[1 << 16] __attribute__((aligned(16)));

static void fill_pattern(void) {
  for (size_t i = 0; i < sizeof(pattern); i++) {
    // Runs of zero bytes among varied ones, so that zero-skipping shows.
    pattern[i] = (i / 8) % 3 == 1 ? 0 : (unsigned char)(i * 37 + 11);
  }
}

static int is_decl_kind(const struct btf_type *t) {
  switch (btf_kind(t)) {
    case BTF_KIND_FUNC:
    case BTF_KIND_VAR:
    case BTF_KIND_DATASEC:
    case BTF_KIND_DECL_TAG:
      return 0;
    default:
      return 1;
  }
}

static void dump_all(struct btf *btf, int data_limit) {
  unsigned int n = btf__type_cnt(btf);
  struct btf_dump *d = btf_dump__new(btf, out, NULL, NULL);
  if (!d) {
    printf("btf_dump__new: errno %d\n", errno);
    return;
  }
  printf("-- dump_type\n");
  for (unsigned int id = 1; id < n; id++) {
    int err = btf_dump__dump_type(d, id);
    if (err) printf("dump_type %u: %d\n", id, err);
  }
  printf("dump_type %u (out of range): %d\n", n, btf_dump__dump_type(d, n));
  btf_dump__free(d);

  printf("-- emit_type_decl\n");
  d = btf_dump__new(btf, out, NULL, NULL);
  for (unsigned int id = 0; id < n; id++) {
    if (!is_decl_kind(btf__type_by_id(btf, id))) continue;
    LIBBPF_OPTS(btf_dump_emit_type_decl_opts, o1, .field_name = "fld",
                .indent_level = 1);
    LIBBPF_OPTS(btf_dump_emit_type_decl_opts, o2, .field_name = "",
                .strip_mods = true);
    printf("[%u] ", id);
    int e1 = btf_dump__emit_type_decl(d, id, &o1);
    printf(" | ");
    int e2 = btf_dump__emit_type_decl(d, id, &o2);
    printf(" | ");
    int e3 = btf_dump__emit_type_decl(d, id, NULL);
    printf(" = %d %d %d\n", e1, e2, e3);
  }
  btf_dump__free(d);

  printf("-- dump_type_data\n");
  d = btf_dump__new(btf, out, NULL, NULL);
  int dumped = 0;
  for (unsigned int id = 1; id < n && dumped < data_limit; id++) {
    long long sz = btf__resolve_size(btf, id);
    if (sz <= 0 || sz > (long long)sizeof(pattern) - 16) continue;
    dumped++;
    LIBBPF_OPTS(btf_dump_type_data_opts, plain);
    LIBBPF_OPTS(btf_dump_type_data_opts, compact, .compact = true,
                .skip_names = true);
    LIBBPF_OPTS(btf_dump_type_data_opts, zeroes, .emit_zeroes = true,
                .indent_str = "  ", .indent_level = 2);
    int r;
    printf("[%u] ", id);
    r = btf_dump__dump_type_data(d, id, pattern, sz, &plain);
    printf(" = %d\n", r);
    r = btf_dump__dump_type_data(d, id, pattern, sz, &compact);
    printf(" = %d\n", r);
    r = btf_dump__dump_type_data(d, id, pattern, sz, &zeroes);
    printf(" = %d\n", r);
    r = btf_dump__dump_type_data(d, id, pattern + 1, sz, NULL);
    printf(" = %d\n", r);
    r = btf_dump__dump_type_data(d, id, pattern, sz - 1, &compact);
    printf(" = %d\n", r);
  }
  printf("data %u (no such type): %d\n", n,
         btf_dump__dump_type_data(d, n, pattern, 8, NULL));
  btf_dump__free(d);
}

// Hand-built BTF: the kinds and shapes clang does not emit for BPF.
static struct btf *built(void) {
  struct btf *b = btf__new_empty();
  int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int u8 = btf__add_int(b, "unsigned char", 1, 0);
  int u64 = btf__add_int(b, "long unsigned int", 8, 0);
  int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED | BTF_INT_CHAR);
  int flt = btf__add_float(b, "float", 4);
  int dbl = btf__add_float(b, "double", 8);
  int ld = btf__add_float(b, "long double", 16);
  int i128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
  // enum64, signed enum, empty enum (forward), an enum of size 8 (mode(word))
  int e64 = btf__add_enum64(b, "e64", 8, true);
  btf__add_enum64_value(b, "E64_NEG", -3);
  btf__add_enum64_value(b, "E64_BIG", 0x7fffffffffffffffLL);
  int e64s = btf__add_enum64(b, "e64small", 8, false);
  btf__add_enum64_value(b, "E64S_A", 1);
  int e8 = btf__add_enum(b, "e8", 8);
  btf__add_enum_value(b, "E8_A", 1);
  int e1 = btf__add_enum(b, "e1", 1);
  btf__add_enum_value(b, "E1_A", 1);
  btf__add_enum_value(b, "E1_B", 2);
  int efwd = btf__add_enum(b, "efwd", 4);
  int eanon = btf__add_enum(b, NULL, 4);
  btf__add_enum_value(b, "ANON_X", 7);
  // duplicate names: two struct dup, two typedef/enumerator clashes
  int dup1 = btf__add_struct(b, "dup", 4);
  btf__add_field(b, "a", i32, 0, 0);
  int dup2 = btf__add_struct(b, "dup", 8);
  btf__add_field(b, "b", u64, 0, 0);
  int tdup = btf__add_typedef(b, "ANON_X", i32);
  int e_again = btf__add_enum(b, "e_again", 4);
  btf__add_enum_value(b, "ANON_X", 9);
  // forward declarations, struct and union
  int fs = btf__add_fwd(b, "fwd_s", BTF_FWD_STRUCT);
  int fu = btf__add_fwd(b, "fwd_u", BTF_FWD_UNION);
  int pfs = btf__add_ptr(b, fs);
  int pfu = btf__add_ptr(b, fu);
  // qualifiers and type tags
  int ci = btf__add_const(b, i32);
  int vci = btf__add_volatile(b, ci);
  int pvci = btf__add_ptr(b, vci);
  int rpvci = btf__add_restrict(b, pvci);
  int cp = btf__add_const(b, rpvci);
  int tag = btf__add_type_tag(b, "user", i32);
  int ptag = btf__add_ptr(b, tag);
  // function prototypes: none, void, varargs, returning pointer to func
  int fp0 = btf__add_func_proto(b, i32);
  int fpv = btf__add_func_proto(b, 0);
  btf__add_func_param(b, NULL, 0);
  int fpva = btf__add_func_proto(b, 0);
  btf__add_func_param(b, "fmt", chr);
  btf__add_func_param(b, NULL, 0);
  int pfp0 = btf__add_ptr(b, fp0);
  int fpret = btf__add_func_proto(b, pfp0);
  btf__add_func_param(b, "x", u8);
  int pfpret = btf__add_ptr(b, fpret);
  int arrfp = btf__add_array(b, i32, pfpret, 3);
  int arr2 = btf__add_array(b, i32, arrfp, 2);
  int func = btf__add_func(b, "some_func", BTF_FUNC_GLOBAL, fpva);
  // a struct with everything, odd offsets, bit-fields via kflag
  int s = btf__add_struct(b, "kitchen", 96);
  btf__add_field(b, "bf1", i32, 0, 3);
  btf__add_field(b, "bf2", u64, 3, 33);
  btf__add_field(b, "e", e1, 40, 0);
  btf__add_field(b, "ebf", e64, 48, 5);
  btf__add_field(b, "f", flt, 64, 0);
  btf__add_field(b, "cp", cp, 128, 0);
  btf__add_field(b, "tp", ptag, 192, 0);
  btf__add_field(b, "fptrs", arr2, 256, 0);
  btf__add_field(b, NULL, eanon, 704, 0);
  btf__add_field(b, "d", dbl, 0, 0);
  int u = btf__add_union(b, "un", 16);
  btf__add_field(b, "s1", pfs, 0, 0);
  btf__add_field(b, "u1", pfu, 0, 0);
  btf__add_field(b, "big", i128, 0, 0);
  btf__add_field(b, "l", ld, 0, 0);
  btf__add_field(b, "ef", efwd, 0, 0);
  // a packed struct with a trailing hole, and an unnamed struct member
  int anon = btf__add_struct(b, NULL, 4);
  btf__add_field(b, "in", i32, 0, 0);
  int pk = btf__add_struct(b, "packed_odd", 11);
  btf__add_field(b, "a", u8, 0, 0);
  btf__add_field(b, "b", u64, 8, 0);
  btf__add_field(b, NULL, anon, 72, 0);
  int empty = btf__add_struct(b, "empty_sized", 8);
  int tvalist = btf__add_typedef(b, "__builtin_va_list", pfs);
  int tgnuc = btf__add_typedef(b, "__gnuc_va_list", 0);
  int poly = btf__add_int(b, "__Poly8_t", 1, 0);
  int var = btf__add_var(b, "v", BTF_VAR_GLOBAL_ALLOCATED, s);
  int var2 = btf__add_var(b, "sv", BTF_VAR_STATIC, e8);
  int ds = btf__add_datasec(b, ".data", 104);
  btf__add_datasec_var_info(b, var, 0, 96);
  btf__add_datasec_var_info(b, var2, 96, 8);
  int dt = btf__add_decl_tag(b, "tagged", s, 1);
  (void)dup1;
  (void)dup2;
  (void)tdup;
  (void)e_again;
  (void)func;
  (void)u;
  (void)pk;
  (void)empty;
  (void)tvalist;
  (void)tgnuc;
  (void)poly;
  (void)ds;
  (void)dt;
  (void)e64s;
  (void)fpv;
  (void)chr;
  return b;
}

int main(int argc, char **argv) {
  fill_pattern();
  libbpf_set_print(print_warnings);
  for (int i = 1; i < argc; i++) {
    struct btf *btf;
    int limit = 1 << 30;
    if (strcmp(argv[i], "--built") == 0) {
      btf = built();
    } else if (strncmp(argv[i], "/sys/", 5) == 0) {
      btf = btf__parse_raw(argv[i]);
      limit = 3000;
    } else {
      btf = btf__parse_elf(argv[i], NULL);
    }
    const char *base = strrchr(argv[i], '/');
    printf("== %s\n", base ? base + 1 : argv[i]);
    if (!btf) {
      printf("parse: errno %d\n", errno);
      continue;
    }
    dump_all(btf, limit);
    btf__free(btf);
  }
  // Argument checks.
  struct btf *b = btf__new_empty();
  errno = 0;
  printf("new(NULL fn): %p errno %d\n",
         (void *)btf_dump__new(b, NULL, NULL, NULL), errno);
  struct {
    size_t sz;
    long extra;
  } big_opts = {sizeof(big_opts), 1};
  errno = 0;
  printf("new(bad opts): %p errno %d\n",
         (void *)btf_dump__new(b, out, NULL, (void *)&big_opts), errno);
  btf__free(b);
  return 0;
}
