// SPDX-License-Identifier: Apache-2.0
// File: str_kfuncs.cc
//
// The string kfuncs (str_kfuncs.h), mirroring the 6.18
// kernel/bpf/helpers.c "Kfuncs for string operations" (__bpf_strcasecmp,
// bpf_strnchr, bpf_strchrnul, bpf_strrchr, bpf_strnlen, __bpf_strspn /
// bpf_strcspn, __bpf_strnstr) over lib/ctype.c's tolower.

#include "emu/str_kfuncs.h"

#include <cerrno>
#include <cstring>

namespace bpfemu::strk {

namespace {

// arch/x86: TASK_SIZE_MAX with 4-level paging, PAGE_SIZE.
constexpr uint64_t kTaskSizeMax = (uint64_t{1} << 47) - 4096;
constexpr uint64_t kKernelStart = kTaskSizeMax + 4096;

// lib/ctype.c: the upper-case letters are A-Z and Latin-1's 0xc0-0xde
// except 0xd7 (the multiplication sign); tolower() adds 32 to them.
uint8_t ToLower(uint8_t u) {
  const bool upper =
      (u >= 'A' && u <= 'Z') || (u >= 0xc0 && u <= 0xde && u != 0xd7);
  return upper ? static_cast<uint8_t>(u + 32) : u;
}

// One byte; false when it cannot be read (the caller answers -EFAULT).
bool At(const ByteReader& r, uint64_t addr, uint8_t* c) {
  char b;
  if (!r.read(r.ctx, addr, &b)) return false;
  *c = static_cast<uint8_t>(b);
  return true;
}

}  // namespace

bool KernelHalfAllowed(uint64_t a) {
  const bool canonical =
      static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a;
  const bool vsyscall = (a & ~uint64_t{0xfff}) == 0xffffffffff600000;
  return a >= kKernelStart && canonical && !vsyscall;
}

// kernel/bpf/helpers.c __bpf_strcasecmp: byte pairs until they differ
// (compared as unsigned chars, after tolower when ignoring case) or both end.
int Strcmp(const ByteReader& r, uint64_t s1, uint64_t s2, bool ignore_case) {
  if (!r.allowed(r.ctx, s1) || !r.allowed(r.ctx, s2)) return -ERANGE;
  for (int i = 0; i < kStrMax; ++i) {
    uint8_t c1, c2;
    if (!At(r, s1 + i, &c1) || !At(r, s2 + i, &c2)) return -EFAULT;
    if (ignore_case) {
      c1 = ToLower(c1);
      c2 = ToLower(c2);
    }
    if (c1 != c2) return c1 < c2 ? -1 : 1;
    if (c1 == '\0') return 0;
  }
  return -E2BIG;
}

// kernel/bpf/helpers.c bpf_strnchr: the match is tested before the NUL, so
// looking for '\0' finds the terminator.
int Strnchr(const ByteReader& r, uint64_t s, uint64_t count, uint8_t c) {
  if (!r.allowed(r.ctx, s)) return -ERANGE;
  int i = 0;
  for (; static_cast<uint64_t>(i) < count && i < kStrMax; ++i) {
    uint8_t sc;
    if (!At(r, s + i, &sc)) return -EFAULT;
    if (sc == c) return i;
    if (sc == '\0') return -ENOENT;
  }
  return i == kStrMax ? -E2BIG : -ENOENT;
}

// kernel/bpf/helpers.c bpf_strchrnul.
int Strchrnul(const ByteReader& r, uint64_t s, uint8_t c) {
  if (!r.allowed(r.ctx, s)) return -ERANGE;
  for (int i = 0; i < kStrMax; ++i) {
    uint8_t sc;
    if (!At(r, s + i, &sc)) return -EFAULT;
    if (sc == '\0' || sc == c) return i;
  }
  return -E2BIG;
}

// kernel/bpf/helpers.c bpf_strrchr: `c` is an int, each byte an unsigned
// char promoted to int, so only 0..255 can match.
int Strrchr(const ByteReader& r, uint64_t s, int32_t c) {
  if (!r.allowed(r.ctx, s)) return -ERANGE;
  int last = -ENOENT;
  for (int i = 0; i < kStrMax; ++i) {
    uint8_t sc;
    if (!At(r, s + i, &sc)) return -EFAULT;
    if (int32_t{sc} == c) last = i;
    if (sc == '\0') return last;
  }
  return -E2BIG;
}

// kernel/bpf/helpers.c bpf_strnlen.
int Strnlen(const ByteReader& r, uint64_t s, uint64_t count) {
  if (!r.allowed(r.ctx, s)) return -ERANGE;
  int i = 0;
  for (; static_cast<uint64_t>(i) < count && i < kStrMax; ++i) {
    uint8_t c;
    if (!At(r, s + i, &c)) return -EFAULT;
    if (c == '\0') return i;
  }
  return i == kStrMax ? -E2BIG : i;
}

// kernel/bpf/helpers.c bpf_strspn / bpf_strcspn: for each byte of s, a
// scan of `set` up to its NUL.
int Strspn(const ByteReader& r, uint64_t s, uint64_t set, bool reject) {
  if (!r.allowed(r.ctx, s) || !r.allowed(r.ctx, set)) return -ERANGE;
  for (int i = 0; i < kStrMax; ++i) {
    uint8_t cs;
    if (!At(r, s + i, &cs)) return -EFAULT;
    if (cs == '\0') return i;
    uint8_t ca = '\0';
    int j = 0;
    for (; j < kStrMax; ++j) {
      if (!At(r, set + j, &ca)) return -EFAULT;
      if (cs == ca || ca == '\0') break;
    }
    if (j == kStrMax) return -E2BIG;
    // strspn ends at the first byte not in the set, strcspn at the first
    // byte in it.
    if (reject ? cs == ca : ca == '\0') return i;
  }
  return -E2BIG;
}

// kernel/bpf/helpers.c __bpf_strnstr: at each start i, s2 against s1 + i
// while i + j <= len; s2's NUL reached is a match (one byte of s2 past
// `len` is read so that a suffix of the first len bytes matches), s1's NUL
// first is the end.
int Strnstr(const ByteReader& r, uint64_t s1, uint64_t s2, uint64_t len,
            bool ignore_case) {
  if (!r.allowed(r.ctx, s1) || !r.allowed(r.ctx, s2)) return -ERANGE;
  for (int i = 0; i < kStrMax; ++i) {
    int j = 0;
    for (; static_cast<uint64_t>(i + j) <= len && j < kStrMax; ++j) {
      uint8_t c1, c2;
      if (!At(r, s2 + j, &c2)) return -EFAULT;
      if (c2 == '\0') return i;
      if (static_cast<uint64_t>(i + j) == len) break;
      if (!At(r, s1 + j, &c1)) return -EFAULT;
      if (ignore_case) {
        c1 = ToLower(c1);
        c2 = ToLower(c2);
      }
      if (c1 == '\0') return -ENOENT;
      if (c1 != c2) break;
    }
    if (j == kStrMax) return -E2BIG;
    if (static_cast<uint64_t>(i + j) == len) return -ENOENT;
    ++s1;
  }
  return -E2BIG;
}

namespace {

// The interpreter's kernel memory: what the run may read, and any other
// kernel-half address (which faults).
bool VmAllowed(const void* ctx, uint64_t a) {
  return static_cast<const interp::Vm*>(ctx)->Readable(a, 1) ||
         KernelHalfAllowed(a);
}
bool VmRead(const void* ctx, uint64_t a, char* out) {
  if (!static_cast<const interp::Vm*>(ctx)->Readable(a, 1)) return false;
  std::memcpy(out, reinterpret_cast<const void*>(a), 1);
  return true;
}
ByteReader VmReader(const interp::Vm& vm) {
  return ByteReader{VmAllowed, VmRead, &vm};
}
// An int return: the kernel's JITs leave it sign-extended in R0.
uint64_t Ret(int v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

}  // namespace

uint64_t InterpStrcmp(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                      uint64_t, uint64_t) {
  return Ret(Strcmp(VmReader(vm), r1, r2, false));
}
uint64_t InterpStrcasecmp(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                          uint64_t, uint64_t) {
  return Ret(Strcmp(VmReader(vm), r1, r2, true));
}
// bpf_strchr(s, c): bpf_strnchr over XATTR_SIZE_MAX bytes.
uint64_t InterpStrchr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                      uint64_t, uint64_t) {
  return Ret(Strnchr(VmReader(vm), r1, kStrMax, static_cast<uint8_t>(r2)));
}
uint64_t InterpStrchrnul(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                         uint64_t, uint64_t) {
  return Ret(Strchrnul(VmReader(vm), r1, static_cast<uint8_t>(r2)));
}
uint64_t InterpStrnchr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t, uint64_t) {
  return Ret(Strnchr(VmReader(vm), r1, r2, static_cast<uint8_t>(r3)));
}
uint64_t InterpStrrchr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  return Ret(Strrchr(VmReader(vm), r1, static_cast<int32_t>(r2)));
}
// bpf_strlen(s): bpf_strnlen over XATTR_SIZE_MAX bytes.
uint64_t InterpStrlen(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  return Ret(Strnlen(VmReader(vm), r1, kStrMax));
}
uint64_t InterpStrnlen(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  return Ret(Strnlen(VmReader(vm), r1, r2));
}
uint64_t InterpStrspn(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                      uint64_t, uint64_t) {
  return Ret(Strspn(VmReader(vm), r1, r2, false));
}
uint64_t InterpStrcspn(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  return Ret(Strspn(VmReader(vm), r1, r2, true));
}
// bpf_strstr(s1, s2): bpf_strnstr with len XATTR_SIZE_MAX.
uint64_t InterpStrstr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                      uint64_t, uint64_t) {
  return Ret(Strnstr(VmReader(vm), r1, r2, kStrMax, false));
}
uint64_t InterpStrnstr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t, uint64_t) {
  return Ret(Strnstr(VmReader(vm), r1, r2, r3, false));
}

}  // namespace bpfemu::strk
