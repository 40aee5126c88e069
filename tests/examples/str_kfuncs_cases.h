// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/str_kfuncs.bpf.c, shared by
// str_kfuncs_compare_test.cc (kernel against bpfemu) and str_kfuncs_test.cc
// (bpfemu alone): each kfunc with its strings, characters and lengths, the
// pointer corners (NULL, a user address, the guard hole, a non-canonical
// address, the vsyscall page) and the 64 KiB walks, with the kernel's
// answer as measured on 6.18. The kernel's char is unsigned (it is built
// with -funsigned-char), so 0x80-0xff sort above ASCII and bpf_strrchr's int
// matches 0..255.

#ifndef BPFEMU_TESTS_EXAMPLES_STR_KFUNCS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_STR_KFUNCS_CASES_H_

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace bpfemu::examples::str_kfuncs {

// str_kfuncs.bpf.c's enums and its struct str_case.
enum Op : uint32_t {
  kStrcmp,
  kStrcasecmp,
  kStrchr,
  kStrchrnul,
  kStrnchr,
  kStrrchr,
  kStrlen,
  kStrnlen,
  kStrspn,
  kStrcspn,
  kStrstr,
  kStrnstr,
};
enum Kind : uint32_t { kOwn, kStack, kBig, kAddr };
constexpr size_t kStrLen = 64;
constexpr size_t kBigLen = 65600;

struct StrCase {
  uint32_t op;
  int32_t c;
  uint64_t n;
  uint32_t kind1, kind2;
  uint64_t addr1, addr2;
  char s1[kStrLen];
  char s2[kStrLen];
};
static_assert(sizeof(StrCase) == 168);

// A case: the map value, how many 'a's `big` holds before its NUL (kBigLen:
// none), and the kernel's answer.
struct Case {
  StrCase value;
  size_t big_as;
  int32_t want;
};

// Raw addresses: NULL, a user address, the x86-64 guard hole (a canonical
// kernel address nothing maps), a non-canonical one, the vsyscall page.
constexpr uint64_t kNull = 0, kUser = 0x400000, kPage1 = 4096;
constexpr uint64_t kGuardHole = 0xffff800000000000;
constexpr uint64_t kNonCanonical = 0x8000000000000000;
constexpr uint64_t kVsyscall = 0xffffffffff600000;

// Whether an address is one natively indistinguishable from the program's
// own memory (a user-half address above the NULL page): natively all of
// this process's memory is kernel memory, so the kernel's -ERANGE for it
// is the interpreter's only (native/string_kfuncs.cc).
inline bool UserHalf(uint64_t a) {
  return a >= 4096 && a < 0x7ffffffff000 + 4096;
}

inline Case Make(uint32_t op, const std::string& s1, const std::string& s2,
                 int32_t want, int32_t c = 0, uint64_t n = 0) {
  Case k{};
  k.value.op = op;
  k.value.c = c;
  k.value.n = n;
  std::memcpy(k.value.s1, s1.data(), std::min(s1.size(), kStrLen - 1));
  std::memcpy(k.value.s2, s2.data(), std::min(s2.size(), kStrLen - 1));
  k.big_as = 0;
  k.want = want;
  return k;
}
// The same with a string argument elsewhere.
inline Case Arg1(Case k, uint32_t kind, uint64_t addr = 0) {
  k.value.kind1 = kind;
  k.value.addr1 = addr;
  return k;
}
inline Case Arg2(Case k, uint32_t kind, uint64_t addr = 0) {
  k.value.kind2 = kind;
  k.value.addr2 = addr;
  return k;
}
inline Case Big(Case k, size_t as) {
  k.big_as = as;
  return k;
}

inline std::vector<Case> AllCases() {
  const uint64_t kMax = ~uint64_t{0};
  std::vector<Case> v = {
      // bpf_strcmp: -1 / 0 / 1 on signed chars.
      Make(kStrcmp, "abc", "abc", 0),
      Make(kStrcmp, "abc", "abd", -1),
      Make(kStrcmp, "abd", "abc", 1),
      Make(kStrcmp, "ab", "abc", -1),
      Make(kStrcmp, "abcd", "abc", 1),
      Make(kStrcmp, "", "", 0),
      Make(kStrcmp, "\x80", "a", 1),
      Make(kStrcmp, "a", "\xff", -1),
      Make(kStrcmp, "Abc", "abc", -1),
      Arg1(Make(kStrcmp, "abc", "abc", 0), kStack),
      Arg2(Make(kStrcmp, "abc", "abd", -1), kStack),
      Big(Arg2(Arg1(Make(kStrcmp, "", "", -E2BIG), kBig), kBig), kBigLen),
      Big(Arg1(Make(kStrcmp, "", "aaaaaaaaaa", 0), kBig), 10),
      Big(Arg1(Make(kStrcmp, "", "aaa", 1), kBig), 10),
      Arg1(Make(kStrcmp, "", "abc", -ERANGE), kAddr, kNull),
      Arg2(Make(kStrcmp, "abc", "", -ERANGE), kAddr, kNull),
      Arg1(Make(kStrcmp, "", "abc", -ERANGE), kAddr, kUser),
      Arg1(Make(kStrcmp, "", "abc", -ERANGE), kAddr, kPage1),
      Arg1(Make(kStrcmp, "", "abc", -EFAULT), kAddr, kGuardHole),
      Arg2(Make(kStrcmp, "abc", "", -EFAULT), kAddr, kGuardHole),
      Arg1(Make(kStrcmp, "", "abc", -ERANGE), kAddr, kNonCanonical),
      Arg1(Make(kStrcmp, "", "abc", -ERANGE), kAddr, kVsyscall),
      // Both bad: the range check of both comes first.
      Arg2(Arg1(Make(kStrcmp, "", "", -ERANGE), kAddr, kGuardHole), kAddr,
           kNull),
      // bpf_strcasecmp: lib/ctype.c's tolower, Latin-1 included.
      Make(kStrcasecmp, "HeLLo", "hello", 0),
      Make(kStrcasecmp, "ABC", "abd", -1),
      Make(kStrcasecmp, "abd", "ABC", 1),
      Make(kStrcasecmp, "[", "a", -1),
      Make(kStrcmp, "[", "A", 1),
      Make(kStrcasecmp, "Z", "a", 1),
      Make(kStrcasecmp, "\xc0\xde", "\xe0\xfe", 0),
      Make(kStrcasecmp, "\xd7", "\xf7", -1),
      Make(kStrcasecmp, "\xdf", "\xff", -1),
      Big(Arg2(Arg1(Make(kStrcasecmp, "", "", -E2BIG), kBig), kBig), kBigLen),
      Arg1(Make(kStrcasecmp, "", "x", -ERANGE), kAddr, kVsyscall),
      // bpf_strchr: a char, the NUL findable.
      Make(kStrchr, "hello", "", 2, 'l'),
      Make(kStrchr, "hello", "", -ENOENT, 'z'),
      Make(kStrchr, "hello", "", 5, 0),
      Make(kStrchr, "", "", 0, 0),
      Make(kStrchr, "hello", "", 2, 0x16c),
      Make(kStrchr,
           "a\xff"
           "b",
           "", 1, -1),
      Make(kStrchr,
           "a\xff"
           "b",
           "", 1, 255),
      Arg1(Make(kStrchr, "hello", "", 4, 'o'), kStack),
      Big(Arg1(Make(kStrchr, "", "", -E2BIG, 'b'), kBig), kBigLen),
      Big(Arg1(Make(kStrchr, "", "", -ENOENT, 'b'), kBig), 100),
      Big(Arg1(Make(kStrchr, "", "", 0, 'a'), kBig), kBigLen),
      Big(Arg1(Make(kStrchr, "", "", 100, 0), kBig), 100),
      Arg1(Make(kStrchr, "", "", -ERANGE, 'a'), kAddr, kNull),
      Arg1(Make(kStrchr, "", "", -EFAULT, 'a'), kAddr, kGuardHole),
      // bpf_strchrnul.
      Make(kStrchrnul, "hello", "", 2, 'l'),
      Make(kStrchrnul, "hello", "", 5, 'z'),
      Make(kStrchrnul, "hello", "", 5, 0),
      Make(kStrchrnul, "", "", 0, 'a'),
      Big(Arg1(Make(kStrchrnul, "", "", -E2BIG, 'b'), kBig), kBigLen),
      Big(Arg1(Make(kStrchrnul, "", "", 65535, 'b'), kBig), 65535),
      Big(Arg1(Make(kStrchrnul, "", "", -E2BIG, 'b'), kBig), 65536),
      Arg1(Make(kStrchrnul, "", "", -ERANGE, 'a'), kAddr, kNonCanonical),
      Arg1(Make(kStrchrnul, "", "", -EFAULT, 'a'), kAddr, kGuardHole),
      // bpf_strnchr: at most `count` bytes.
      Make(kStrnchr, "hello", "", 2, 'l', 3),
      Make(kStrnchr, "hello", "", -ENOENT, 'l', 2),
      Make(kStrnchr, "hello", "", -ENOENT, 'h', 0),
      Make(kStrnchr, "hello", "", -ENOENT, 'z', 100),
      Make(kStrnchr, "hello", "", 5, 0, 100),
      Make(kStrnchr, "hello", "", -ENOENT, 0, 5),
      Make(kStrnchr, "hello", "", 4, 'o', kMax),
      Big(Arg1(Make(kStrnchr, "", "", -E2BIG, 'b', 70000), kBig), kBigLen),
      Big(Arg1(Make(kStrnchr, "", "", -E2BIG, 'b', 65536), kBig), kBigLen),
      Big(Arg1(Make(kStrnchr, "", "", -ENOENT, 'b', 65535), kBig), kBigLen),
      Big(Arg1(Make(kStrnchr, "", "", -E2BIG, 'b', kMax), kBig), kBigLen),
      Arg1(Make(kStrnchr, "", "", -ERANGE, 'a', 0), kAddr, kNull),
      Arg1(Make(kStrnchr, "", "", -EFAULT, 'a', 1), kAddr, kGuardHole),
      Arg1(Make(kStrnchr, "", "", -ENOENT, 'a', 0), kAddr, kGuardHole),
      // bpf_strrchr: an int against signed chars.
      Make(kStrrchr, "hello", "", 3, 'l'),
      Make(kStrrchr, "hello", "", -ENOENT, 'z'),
      Make(kStrrchr, "hello", "", 5, 0),
      Make(kStrrchr, "hello", "", -ENOENT, 0x16c),
      Make(kStrrchr, "a\xff\xff", "", -ENOENT, -1),
      Make(kStrrchr, "a\xff", "", 1, 255),
      Arg1(Make(kStrrchr, "abcabc", "", 3, 'a'), kStack),
      Big(Arg1(Make(kStrrchr, "", "", -E2BIG, 'a'), kBig), kBigLen),
      Big(Arg1(Make(kStrrchr, "", "", 99, 'a'), kBig), 100),
      Arg1(Make(kStrrchr, "", "", -ERANGE, 'a'), kAddr, kVsyscall),
      Arg1(Make(kStrrchr, "", "", -EFAULT, 'a'), kAddr, kGuardHole),
      // bpf_strlen.
      Make(kStrlen, "hello", "", 5),
      Make(kStrlen, "", "", 0),
      Arg1(Make(kStrlen, "abc", "", 3), kStack),
      Big(Arg1(Make(kStrlen, "", "", -E2BIG), kBig), kBigLen),
      Big(Arg1(Make(kStrlen, "", "", 65535), kBig), 65535),
      Big(Arg1(Make(kStrlen, "", "", -E2BIG), kBig), 65536),
      Arg1(Make(kStrlen, "", "", -ERANGE), kAddr, kNull),
      Arg1(Make(kStrlen, "", "", -ERANGE), kAddr, kUser),
      Arg1(Make(kStrlen, "", "", -EFAULT), kAddr, kGuardHole),
      Arg1(Make(kStrlen, "", "", -ERANGE), kAddr, kNonCanonical),
      Arg1(Make(kStrlen, "", "", -ERANGE), kAddr, kVsyscall),
      // bpf_strnlen.
      Make(kStrnlen, "hello", "", 3, 0, 3),
      Make(kStrnlen, "hello", "", 5, 0, 10),
      Make(kStrnlen, "hello", "", 0, 0, 0),
      Make(kStrnlen, "hello", "", 5, 0, kMax),
      Big(Arg1(Make(kStrnlen, "", "", 100, 0, 100), kBig), kBigLen),
      Big(Arg1(Make(kStrnlen, "", "", -E2BIG, 0, 65536), kBig), kBigLen),
      Big(Arg1(Make(kStrnlen, "", "", 65535, 0, 65535), kBig), kBigLen),
      Big(Arg1(Make(kStrnlen, "", "", -E2BIG, 0, kMax), kBig), kBigLen),
      Big(Arg1(Make(kStrnlen, "", "", 65000, 0, kMax), kBig), 65000),
      Arg1(Make(kStrnlen, "", "", -ERANGE, 0, 0), kAddr, kNull),
      Arg1(Make(kStrnlen, "", "", 0, 0, 0), kAddr, kGuardHole),
      Arg1(Make(kStrnlen, "", "", -EFAULT, 0, 1), kAddr, kGuardHole),
      // bpf_strspn.
      Make(kStrspn, "aabbc", "ab", 4),
      Make(kStrspn, "xyz", "ab", 0),
      Make(kStrspn, "", "ab", 0),
      Make(kStrspn, "abc", "", 0),
      Arg2(Make(kStrspn, "abcabcx", "cba", 6), kStack),
      Big(Arg1(Make(kStrspn, "", "a", -E2BIG), kBig), kBigLen),
      Big(Arg2(Make(kStrspn, "b", "", -E2BIG), kBig), kBigLen),
      Big(Arg2(Make(kStrspn, "aab", "", -E2BIG), kBig), kBigLen),
      Big(Arg2(Make(kStrspn, "aab", "", 2), kBig), 10),
      Big(Arg2(Arg1(Make(kStrspn, "", "", -E2BIG), kBig), kBig), kBigLen),
      Arg2(Make(kStrspn, "abc", "", -ERANGE), kAddr, kNull),
      Arg2(Make(kStrspn, "abc", "", -EFAULT), kAddr, kGuardHole),
      Arg2(Make(kStrspn, "", "", 0), kAddr, kGuardHole),
      // bpf_strcspn.
      Make(kStrcspn, "hello", "l", 2),
      Make(kStrcspn, "hello", "xyz", 5),
      Make(kStrcspn, "hello", "", 5),
      Make(kStrcspn, "", "x", 0),
      Big(Arg1(Make(kStrcspn, "", "b", -E2BIG), kBig), kBigLen),
      Big(Arg2(Make(kStrcspn, "b", "", -E2BIG), kBig), kBigLen),
      Big(Arg2(Make(kStrcspn, "xa", "", -E2BIG), kBig), kBigLen),
      Big(Arg2(Make(kStrcspn, "xa", "", 1), kBig), 10),
      Arg1(Make(kStrcspn, "", "x", -ERANGE), kAddr, kVsyscall),
      Arg1(Make(kStrcspn, "", "x", -EFAULT), kAddr, kGuardHole),
      // bpf_strstr.
      Make(kStrstr, "hello world", "world", 6),
      Make(kStrstr, "hello", "", 0),
      Make(kStrstr, "", "", 0),
      Make(kStrstr, "", "a", -ENOENT),
      Make(kStrstr, "abc", "abcd", -ENOENT),
      Make(kStrstr, "aaab", "aab", 1),
      Make(kStrstr, "hello", "xyz", -ENOENT),
      Arg1(Make(kStrstr, "hello world", "o w", 4), kStack),
      Big(Arg1(Make(kStrstr, "", "b", -E2BIG), kBig), kBigLen),
      Big(Arg1(Make(kStrstr, "", "aab", -ENOENT), kBig), kBigLen),
      Big(Arg2(Make(kStrstr, "a", "", -ENOENT), kBig), kBigLen),
      Big(Arg2(Arg1(Make(kStrstr, "", "", -E2BIG), kBig), kBig), kBigLen),
      Arg2(Make(kStrstr, "abc", "", -ERANGE), kAddr, kNull),
      Arg2(Make(kStrstr, "abc", "", -EFAULT), kAddr, kGuardHole),
      Arg1(Make(kStrstr, "", "", 0), kAddr, kGuardHole),
      // bpf_strnstr: a match may end exactly at `len`.
      Make(kStrnstr, "openat", "open", 0, 0, 4),
      Make(kStrnstr, "openat", "open", -ENOENT, 0, 3),
      Make(kStrnstr, "openat", "at", 4, 0, 6),
      Make(kStrnstr, "openat", "at", -ENOENT, 0, 5),
      Make(kStrnstr, "abc", "", 0, 0, 0),
      Make(kStrnstr, "abc", "x", -ENOENT, 0, 0),
      Make(kStrnstr, "abc", "c", 2, 0, kMax),
      Big(Arg1(Make(kStrnstr, "", "b", -E2BIG, 0, kMax), kBig), kBigLen),
      Big(Arg1(Make(kStrnstr, "", "b", -ENOENT, 0, 100), kBig), kBigLen),
      Big(Arg1(Make(kStrnstr, "", "b", -E2BIG, 0, 65536), kBig), kBigLen),
      Big(Arg1(Make(kStrnstr, "", "b", -ENOENT, 0, 65535), kBig), kBigLen),
      Arg1(Make(kStrnstr, "", "x", -ERANGE, 0, 5), kAddr, kNonCanonical),
      Arg2(Make(kStrnstr, "abc", "", -EFAULT, 0, 5), kAddr, kGuardHole),
  };
  return v;
}

// Fills `big` as the case wants: big_as 'a's, then NULs.
inline void FillBig(const Case& k, std::vector<char>* big) {
  big->assign(kBigLen, '\0');
  std::memset(big->data(), 'a', std::min(k.big_as, kBigLen));
}

}  // namespace bpfemu::examples::str_kfuncs

#endif  // BPFEMU_TESTS_EXAMPLES_STR_KFUNCS_CASES_H_
