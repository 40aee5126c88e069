// SPDX-License-Identifier: Apache-2.0
// libbpf's userspace BTF API, unaware of bpfemu: built against the system
// libbpf and against libbpfemu, both builds must print the same lines
// (btf_test.sh). For each object file argument: btf__parse_elf, the type
// count, and per type its kind, name, vlen, resolved size, alignment and
// resolved type; then the same BTF re-parsed from btf__raw_data; then a
// BTF built with the btf__add_* calls (ids, errors, raw size and bytes,
// btf__dedup of exact duplicates). No bpf() calls.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t Fnv(const void* data, uint32_t size) {
  const uint8_t* p = data;
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < size; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

// The string section of a raw blob, one line.
static void DumpStrings(const void* raw) {
  const struct btf_header* h = raw;
  const char* s = (const char*)raw + h->hdr_len + h->str_off;
  printf("strings:");
  for (uint32_t i = 0; i < h->str_len; i += strlen(s + i) + 1) {
    printf(" '%s'", s + i);
  }
  printf("\n");
}

static void DumpTypes(const struct btf* btf) {
  const uint32_t n = btf__type_cnt(btf);
  printf("type_cnt %u\n", n);
  for (uint32_t id = 1; id < n; ++id) {
    const struct btf_type* t = btf__type_by_id(btf, id);
    const char* name = btf__name_by_offset(btf, t->name_off);
    errno = 0;
    const long long size = btf__resolve_size(btf, id);
    errno = 0;
    const int align = btf__align_of(btf, id);
    const int align_errno = errno;
    const int resolved = btf__resolve_type(btf, id);
    printf(
        "[%u] kind %u '%s' vlen %u kflag %d size %lld align %d/%d "
        "resolve %d\n",
        id, btf_kind(t), name ? name : "(null)", btf_vlen(t), btf_kflag(t),
        size, align, align_errno, resolved);
  }
}

static void Objects(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* base = strrchr(argv[i], '/');
    printf("== %s\n", base ? base + 1 : argv[i]);
    struct btf_ext* ext = NULL;
    struct btf* btf = btf__parse_elf(argv[i], &ext);
    if (!btf) {
      printf("parse_elf: %d\n", -errno);
      continue;
    }
    printf("ext %s\n", ext ? "yes" : "no");
    DumpTypes(btf);
    uint32_t size = 0;
    const void* raw = btf__raw_data(btf, &size);
    struct btf* again = btf__new(raw, size);
    printf("raw %u reparsed type_cnt %u\n", size,
           again ? btf__type_cnt(again) : 0);
    printf("find 'int' %d, missing %d\n", btf__find_by_name(btf, "int"),
           btf__find_by_name(btf, "no_such_type"));
    btf__free(again);
    btf_ext__free(ext);
    btf__free(btf);

    // The object API's view of the same BTF, after open (no load).
    struct bpf_object* obj = bpf_object__open_file(argv[i], NULL);
    if (!obj) {
      printf("open: %d\n", -errno);
      continue;
    }
    const struct btf* ob = bpf_object__btf(obj);
    printf("object btf %s type_cnt %u\n", ob ? "yes" : "no",
           ob ? btf__type_cnt(ob) : 0);
    struct bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      printf("map %s key_type %u value_type %u\n", bpf_map__name(map),
             bpf_map__btf_key_type_id(map), bpf_map__btf_value_type_id(map));
    }
    bpf_object__close(obj);
  }
}

static void Builder(void) {
  printf("== builder\n");
  struct btf* b = btf__new_empty();
  int u32 = btf__add_int(b, "unsigned int", 4, 0);
  int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
  printf("int %d char %d bad_int %d/%d/%d\n", u32, chr,
         btf__add_int(b, "", 4, 0), btf__add_int(b, "x", 3, 0),
         btf__add_int(b, "x", 4, 16));
  printf("field_without_struct %d\n", btf__add_field(b, "f", u32, 0, 0));
  int arr = btf__add_array(b, u32, chr, 16);
  int s = btf__add_struct(b, "rec", 24);
  int f1 = btf__add_field(b, "id", u32, 0, 0);
  int f2 = btf__add_field(b, "name", arr, 32, 0);
  int f3 = btf__add_field(b, "flag", u32, 160, 3);
  int f4 = btf__add_field(b, "bad", u32, 192, 300);
  printf("array %d struct %d fields %d %d %d %d\n", arr, s, f1, f2, f3, f4);
  int u = btf__add_union(b, "u", 4);
  printf("union %d field %d offset_field %d\n", u,
         btf__add_field(b, "a", u32, 0, 0), btf__add_field(b, "b", u32, 8, 0));
  int ptr = btf__add_ptr(b, s);
  int td = btf__add_typedef(b, "rec_t", s);
  int cst = btf__add_const(b, td);
  int vol = btf__add_volatile(b, cst);
  int rst = btf__add_restrict(b, ptr);
  int tt = btf__add_type_tag(b, "user", u32);
  printf(
      "ptr %d typedef %d const %d volatile %d restrict %d tag %d "
      "bad_typedef %d\n",
      ptr, td, cst, vol, rst, tt, btf__add_typedef(b, "", u32));
  int e = btf__add_enum(b, "color", 4);
  printf("enum %d values %d %d %d bad_size %d\n", e,
         btf__add_enum_value(b, "RED", 0), btf__add_enum_value(b, "NEG", -1),
         btf__add_enum_value(b, "BIG", 1LL << 40), btf__add_enum(b, "e", 3));
  int e64 = btf__add_enum64(b, "wide", 8, true);
  printf("enum64 %d value %d\n", e64,
         btf__add_enum64_value(b, "HUGE", 1ULL << 40));
  int flt = btf__add_float(b, "double", 8);
  int proto = btf__add_func_proto(b, u32);
  int p1 = btf__add_func_param(b, "r", ptr);
  int p2 = btf__add_func_param(b, "", u32);
  int fn = btf__add_func(b, "handle", BTF_FUNC_GLOBAL, proto);
  printf("float %d proto %d params %d %d func %d bad_linkage %d\n", flt, proto,
         p1, p2, fn, btf__add_func(b, "h", 7, proto));
  int var = btf__add_var(b, "counter", BTF_VAR_GLOBAL_ALLOCATED, u32);
  int sec = btf__add_datasec(b, ".data", 4);
  int vi = btf__add_datasec_var_info(b, var, 0, 4);
  int tag = btf__add_decl_tag(b, "hot", fn, -1);
  int fwd = btf__add_fwd(b, "opaque", BTF_FWD_UNION);
  int fwde = btf__add_fwd(b, "later", BTF_FWD_ENUM);
  printf("var %d datasec %d info %d decl_tag %d bad_tag %d fwd %d %d\n", var,
         sec, vi, tag, btf__add_decl_tag(b, "x", fn, -2), fwd, fwde);
  printf("str %d again %d find %d missing %d\n", btf__add_str(b, "hello"),
         btf__add_str(b, "hello"), btf__find_str(b, "rec"),
         btf__find_str(b, "nope"));
  uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  printf("raw %u fnv %08x\n", size, Fnv(raw, size));
  DumpTypes(b);

  // Exact duplicates for btf__dedup.
  int i2 = btf__add_int(b, "unsigned int", 4, 0);
  int a2 = btf__add_array(b, i2, chr, 16);
  printf("dups %d %d\n", i2, a2);
  printf("dedup %d type_cnt %u\n", btf__dedup(b, NULL), btf__type_cnt(b));
  raw = btf__raw_data(b, &size);
  printf("raw %u fnv %08x\n", size, Fnv(raw, size));
  DumpStrings(raw);
  DumpTypes(b);

  // btf__add_btf and btf__add_type into a second BTF.
  struct btf* c = btf__new_empty();
  btf__add_int(c, "long", 8, BTF_INT_SIGNED);
  printf("add_btf %d type_cnt %u\n", btf__add_btf(c, b), btf__type_cnt(c));
  printf("add_type %d\n", btf__add_type(c, b, btf__type_by_id(b, s)));
  raw = btf__raw_data(c, &size);
  printf("raw %u fnv %08x\n", size, Fnv(raw, size));
  btf__free(c);
  btf__free(b);
}

int main(int argc, char** argv) {
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  Objects(argc, argv);
  Builder();
  return 0;
}
