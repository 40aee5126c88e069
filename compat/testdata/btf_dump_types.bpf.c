// SPDX-License-Identifier: Apache-2.0
// Types for //compat:btf_dump_diff_test: each C construct btf_dump must
// print (structs, unions, enums incl. 64-bit and signed ones, bit-fields,
// typedef chains, anonymous members, arrays of function pointers, forward
// declarations, packed and over-aligned structs, qualifiers), kept alive
// through one global of each so clang emits their BTF.
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;
typedef u32 u32_alias;
typedef u32_alias u32_alias2;
typedef const volatile u32_alias2 cv_u32;

struct fwd_only;
union fwd_union;

enum color { RED, GREEN = 5, BLUE = -1 };
enum small_enum : unsigned char { S_A = 1, S_B = 200 };
enum big_values { BIG_A = 0x100000000ULL, BIG_B = 0xffffffffffffffffULL };
enum neg64 : long long { N_A = -5, N_B = 0x7fffffffffffLL };
enum { ANON_CONST_A = 10, ANON_CONST_B = 20 };

struct bits {
  unsigned int a : 3;
  unsigned int b : 5;
  int c : 7;
  unsigned long long d : 40;
  u8 e;
  unsigned int f : 1;
  enum color g : 4;
  u16 h : 9;
};

struct __attribute__((packed)) packed_s {
  u8 a;
  u32 b;
  u64 c;
  u16 d;
};

struct aligned_s {
  char a;
  int b __attribute__((aligned(16)));
  char c;
} __attribute__((aligned(32)));

struct holes {
  char a;
  long b;
  char c;
  short d;
  char e[3];
  long long f;
  char g;
};

struct nested {
  struct {
    int x;
    union {
      long y;
      char z[8];
    };
  } anon_s;
  union {
    u32 u;
    float fl;
  };
  struct fwd_only *fp;
  union fwd_union *fu;
  struct nested *self;
  const struct nested *const_self;
  enum { IN_A, IN_B } inline_enum;
};

typedef int (*binop_fn)(int, int);
typedef void (*vararg_fn)(const char *fmt, ...);
typedef struct nested nested_t;
typedef nested_t *nested_ptr_t;

struct funcs {
  binop_fn ops[4];
  int (*handlers[2])(void *ctx, struct holes *h);
  void *(*(*ret_fn_ptr)(int))(long);
  char (*arr_ptr)[16];
  const char *const names[3];
  int matrix[2][3][4];
  volatile int *restrict rp;
  vararg_fn logger;
  struct bits (*make_bits)(void);
};

struct with_flex {
  u32 len;
  u8 data[];
};

struct empty {};

union mixed {
  u64 q;
  u32 w[2];
  struct bits bt;
  double dbl;
  char str[12];
};

struct loop_a;
struct loop_b {
  struct loop_a *a;
  int v;
};
struct loop_a {
  struct loop_b b;
  struct loop_a *next;
};

struct chars {
  char name[16];
  signed char sc;
  unsigned char uc[4];
  _Bool flag;
  __int128 big;
  unsigned __int128 ubig;
  long double ld;
  float f;
  double d;
};

struct bits g_bits = {.a = 5,
                      .b = 17,
                      .c = -3,
                      .d = 0x123456789aULL,
                      .e = 7,
                      .f = 1,
                      .g = GREEN,
                      .h = 300};
struct packed_s g_packed = {1, 2, 3, 4};
struct aligned_s g_aligned;
struct holes g_holes = {.a = 'x', .b = -7, .e = "ab", .g = 'z'};
struct nested g_nested = {.anon_s = {.x = 3}, .u = 9};
struct funcs g_funcs;
struct with_flex *g_flex;
struct empty g_empty;
union mixed g_mixed = {.q = 0x0102030405060708ULL};
struct loop_a g_loop;
struct chars g_chars = {.name = "hello",
                        .sc = -2,
                        .uc = {1, 2, 0, 4},
                        .flag = 1,
                        .f = 1.5f,
                        .d = -2.25};
enum small_enum g_small = S_B;
enum big_values g_big = BIG_A;
enum neg64 g_neg = N_A;
int g_anon_const = ANON_CONST_B;
cv_u32 g_cv = 42;
nested_ptr_t g_nptr;
u32_alias2 g_alias = 0xdeadbeef;
s64 g_s64 = -1234567890123LL;
static volatile int g_static = 77;
binop_fn g_binop;

__attribute__((section("tc"), used)) int prog(void *ctx) {
  return g_static + g_bits.a;
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
