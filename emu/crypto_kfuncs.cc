// SPDX-License-Identifier: Apache-2.0
// File: crypto_kfuncs.cc
//
// kfy48: the BPF crypto kfuncs (crypto_kfuncs.h). Mirrors
// kernel/bpf/crypto.c (bpf_crypto_ctx_create, bpf_crypto_ctx_acquire,
// bpf_crypto_ctx_release, bpf_crypto_crypt), crypto/bpf_crypto_skcipher.c,
// crypto/lskcipher.c (crypto_lskcipher_crypt: the final flag), crypto/ecb.c
// (crypto_ecb_crypt) and crypto/cbc.c (crypto_cbc_encrypt / _decrypt and
// their segment and in-place loops).

#include "emu/crypto_kfuncs.h"

#include <nettle/aes.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "emu/dynptr_kern.h"
#include "emu/graph_obj.h"

namespace bpfemu::cryptok {

namespace {

constexpr uint32_t kBlock = AES_BLOCK_SIZE;
constexpr uint64_t kMagic = 0x6270666372797074ull;  // "bpfcrypt"

enum class Mode : uint32_t { kEcb = 1, kCbc = 2 };

// The context: the expanded keys of both directions.
struct Ctx {
  uint64_t magic;
  Mode mode;
  uint32_t key_len;
  uint32_t siv_len;  // ivsize + statesize: 16 for cbc, 0 for ecb
  uint32_t pad;
  union Keys {
    struct aes128_ctx k128;
    struct aes192_ctx k192;
    struct aes256_ctx k256;
  } enc, dec;
};

// include/linux/bpf.h struct bpf_dynptr_kern (emu/dynptr_kern.h).
using DynptrKern = dynptr::Kern;

std::atomic<DynptrData> dynptr_data{nullptr};

void* Data(const void* ptr, uint32_t len, bool rdwr) {
  const DynptrData fn = dynptr_data.load(std::memory_order_acquire);
  return fn != nullptr ? fn(ptr, len, rdwr) : nullptr;
}

// What the algorithm name names (crypto_has_skcipher, then
// crypto_alloc_lskcipher).
enum class Algo { kUnknown, kAes, kNull, kSkcipherOnly };

Algo CipherOf(std::string_view c) {
  if (c == "aes" || c == "aes-generic" || c == "aes-fixed-time") {
    return Algo::kAes;
  }
  if (c == "cipher_null" || c == "cipher_null-generic") return Algo::kNull;
  return Algo::kUnknown;
}

// "mode(cipher)": the mode and the inside, or false.
bool Split(std::string_view name, std::string_view* mode,
           std::string_view* inner) {
  const size_t open = name.find('(');
  if (open == std::string_view::npos || name.empty() || name.back() != ')') {
    return false;
  }
  *mode = name.substr(0, open);
  *inner = name.substr(open + 1, name.size() - open - 2);
  return true;
}

Algo Lookup(std::string_view name, Mode* mode) {
  std::string_view m, inner;
  if (!Split(name, &m, &inner)) return Algo::kUnknown;
  if (m == "ecb") {
    *mode = Mode::kEcb;
    return CipherOf(inner);
  }
  if (m == "cbc") {
    *mode = Mode::kCbc;
    // cbc is built on the ecb lskcipher: its driver name is
    // cbc(ecb(<cipher driver>)).
    std::string_view m2, inner2;
    if (Split(inner, &m2, &inner2)) {
      return m2 == "ecb" ? CipherOf(inner2) : Algo::kUnknown;
    }
    return CipherOf(inner);
  }
  if (m == "ctr" || m == "xts") {
    return CipherOf(inner) == Algo::kAes ? Algo::kSkcipherOnly : Algo::kUnknown;
  }
  return Algo::kUnknown;
}

// The string at `p`, at most `max` bytes, or false if no NUL ends it there
// (the kernel reads on past the array; no name of that length exists).
bool CString(const char* p, size_t max, std::string_view* out) {
  const void* nul = std::memchr(p, 0, max);
  if (nul == nullptr) return false;
  *out = std::string_view(p, static_cast<const char*>(nul) - p);
  return true;
}

// aes_ti's block functions read the whole block before writing any of it,
// so a block may be encrypted onto memory it overlaps.
void Block(const Ctx& c, bool decrypt, uint8_t* dst, const uint8_t* src) {
  uint8_t in[kBlock], out[kBlock];
  std::memcpy(in, src, kBlock);
  switch (c.key_len) {
    case 16:
      decrypt ? aes128_decrypt(&c.dec.k128, kBlock, out, in)
              : aes128_encrypt(&c.enc.k128, kBlock, out, in);
      break;
    case 24:
      decrypt ? aes192_decrypt(&c.dec.k192, kBlock, out, in)
              : aes192_encrypt(&c.enc.k192, kBlock, out, in);
      break;
    default:
      decrypt ? aes256_decrypt(&c.dec.k256, kBlock, out, in)
              : aes256_encrypt(&c.enc.k256, kBlock, out, in);
      break;
  }
  std::memcpy(dst, out, kBlock);
}

// crypto_xor: dst ^= src, a block, in the 8-byte words of
// __crypto_xor on a 64-bit machine with unaligned access, each read and
// written before the next: where the two overlap, a word sees the words
// written before it (measured: an IV inside the source).
void Xor(uint8_t* dst, const uint8_t* src) {
  for (uint32_t i = 0; i < kBlock; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
}

// The loops return the bytes left over (less than a block).
uint32_t Ecb(const Ctx& c, bool decrypt, const uint8_t* src, uint8_t* dst,
             uint32_t n) {
  for (; n >= kBlock; src += kBlock, dst += kBlock, n -= kBlock) {
    Block(c, decrypt, dst, src);
  }
  return n;
}

uint32_t CbcEncrypt(const Ctx& c, const uint8_t* src, uint8_t* dst, uint32_t n,
                    uint8_t* iv) {
  if (src != dst) {
    // The segment loop: the IV buffer itself carries the chain.
    for (; n >= kBlock; src += kBlock, dst += kBlock, n -= kBlock) {
      Xor(iv, src);
      Block(c, false, dst, iv);
      std::memmove(iv, dst, kBlock);
    }
    return n;
  }
  // In place: the chain is the previous ciphertext block, copied into the
  // IV once at the end.
  if (n < kBlock) return n;
  uint8_t* s = dst;
  const uint8_t* chain = iv;
  do {
    Xor(s, chain);
    Block(c, false, s, s);
    chain = s;
    s += kBlock;
  } while ((n -= kBlock) >= kBlock);
  std::memmove(iv, chain, kBlock);
  return n;
}

uint32_t CbcDecrypt(const Ctx& c, const uint8_t* src, uint8_t* dst, uint32_t n,
                    uint8_t* iv) {
  if (n < kBlock) return n;
  if (src != dst) {
    const uint8_t* chain = iv;
    do {
      Block(c, true, dst, src);
      Xor(dst, chain);
      chain = src;
      src += kBlock;
      dst += kBlock;
    } while ((n -= kBlock) >= kBlock);
    std::memmove(iv, chain, kBlock);
    return n;
  }
  // In place, from the last whole block back to the first.
  uint8_t* s = dst + (n - (n & (kBlock - 1)) - kBlock);
  uint8_t last[kBlock];
  std::memcpy(last, s, kBlock);
  for (;;) {
    Block(c, true, s, s);
    if ((n -= kBlock) < kBlock) break;
    Xor(s, s - kBlock);
    s -= kBlock;
  }
  Xor(s, iv);
  std::memcpy(iv, last, kBlock);
  return n;
}

Ctx* AsCtx(const void* p) { return static_cast<Ctx*>(const_cast<void*>(p)); }

}  // namespace

void SetDynptrData(DynptrData fn) {
  dynptr_data.store(fn, std::memory_order_release);
}

bool IsCtx(const void* p) {
  if (p == nullptr) return false;
  const auto addr = reinterpret_cast<uint64_t>(p);
  return graph::ObjectOf(addr, sizeof(Ctx)) == addr &&
         AsCtx(p)->magic == kMagic;
}

void* CtxCreate(const void* params, uint32_t params_sz, int* err) {
  const auto* p = static_cast<const Params*>(params);
  if (p == nullptr || params_sz != sizeof(Params) || p->reserved[0] != 0 ||
      p->reserved[1] != 0) {
    *err = -EINVAL;
    return nullptr;
  }
  // bpf_crypto_get_type: the registered types by name. The type array is
  // followed by the (zero) reserved bytes, which end any 14-byte name.
  std::string_view type;
  if (!CString(p->type, sizeof(p->type) + sizeof(p->reserved), &type) ||
      type != "skcipher") {
    *err = -ENOENT;
    return nullptr;
  }
  std::string_view algo;
  Mode mode = Mode::kEcb;
  const Algo a = CString(p->algo, sizeof(p->algo), &algo) ? Lookup(algo, &mode)
                                                          : Algo::kUnknown;
  // has_algo, then the authsize the skcipher type cannot set.
  if (a == Algo::kUnknown || p->authsize != 0) {
    *err = -EOPNOTSUPP;
    return nullptr;
  }
  if (p->key_len == 0 || p->key_len > sizeof(p->key)) {
    *err = -EINVAL;
    return nullptr;
  }
  // crypto_alloc_lskcipher of a skcipher-only algorithm (measured -EINVAL);
  // cipher_null's setkey takes only 0 bytes; aes's 16, 24 or 32.
  if (a == Algo::kSkcipherOnly || a == Algo::kNull ||
      (p->key_len != 16 && p->key_len != 24 && p->key_len != 32)) {
    *err = -EINVAL;
    return nullptr;
  }
  auto* c = static_cast<Ctx*>(graph::ObjNew(sizeof(Ctx)));
  if (c == nullptr) {
    *err = -ENOMEM;
    return nullptr;
  }
  c->mode = mode;
  c->key_len = p->key_len;
  c->siv_len = mode == Mode::kCbc ? kBlock : 0;
  switch (p->key_len) {
    case 16:
      aes128_set_encrypt_key(&c->enc.k128, p->key);
      aes128_set_decrypt_key(&c->dec.k128, p->key);
      break;
    case 24:
      aes192_set_encrypt_key(&c->enc.k192, p->key);
      aes192_set_decrypt_key(&c->dec.k192, p->key);
      break;
    default:
      aes256_set_encrypt_key(&c->enc.k256, p->key);
      aes256_set_decrypt_key(&c->dec.k256, p->key);
      break;
  }
  c->magic = kMagic;
  *err = 0;
  return c;
}

void* CtxAcquire(void* ctx) {
  return IsCtx(ctx) ? graph::RefcountAcquire(ctx) : nullptr;
}

int CtxRelease(void* ctx) {
  if (!IsCtx(ctx)) return -EINVAL;
  return graph::ObjDrop(ctx);
}

int Crypt(const void* ctx, const void* src, const void* dst, const void* siv,
          bool decrypt) {
  const Ctx& c = *AsCtx(ctx);
  // The context is a graph object, which a bytecode program can write
  // (the kernel's verifier refuses such writes): what it holds must still
  // be what CtxCreate made before the cipher uses it.
  if ((c.mode != Mode::kEcb && c.mode != Mode::kCbc) ||
      (c.key_len != 16 && c.key_len != 24 && c.key_len != 32) ||
      c.siv_len != (c.mode == Mode::kCbc ? kBlock : 0u)) {
    return -EINVAL;
  }
  const auto& d = *static_cast<const DynptrKern*>(dst);
  if (dynptr::Rdonly(d)) return -EINVAL;
  // __bpf_dynptr_size: the size word, null dynptrs included (0).
  const uint32_t siv_len =
      siv != nullptr ? dynptr::Size(*static_cast<const DynptrKern*>(siv)) : 0;
  const uint32_t src_len = dynptr::Size(*static_cast<const DynptrKern*>(src));
  const uint32_t dst_len = dynptr::Size(d);
  if (src_len == 0 || dst_len == 0 || src_len > dst_len) return -EINVAL;
  if (siv_len != c.siv_len) return -EINVAL;
  // __bpf_dynptr_data / _data_rw: a direct slice of the whole dynptr.
  const auto* psrc = static_cast<const uint8_t*>(Data(src, src_len, false));
  if (psrc == nullptr) return -EINVAL;
  auto* pdst = static_cast<uint8_t*>(Data(dst, dst_len, true));
  if (pdst == nullptr) return -EINVAL;
  uint8_t* piv = nullptr;
  if (siv_len != 0) {
    piv = static_cast<uint8_t*>(Data(siv, siv_len, true));
    if (piv == nullptr) return -EINVAL;
  }
  uint32_t rem;
  if (c.mode == Mode::kEcb) {
    rem = Ecb(c, decrypt, psrc, pdst, src_len);
  } else {
    rem = decrypt ? CbcDecrypt(c, psrc, pdst, src_len, piv)
                  : CbcEncrypt(c, psrc, pdst, src_len, piv);
  }
  // CRYPTO_LSKCIPHER_FLAG_FINAL: bytes left over are an error.
  return rem != 0 ? -EINVAL : 0;
}

namespace {

uint64_t Ret(int v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

void NeedCtx(interp::Vm& vm, uint64_t p, const char* name) {
  if (!IsCtx(reinterpret_cast<void*>(p))) {
    vm.Fault("%s: R1 is not a struct bpf_crypto_ctx", name);
  }
}

uint64_t InterpCrypt(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                     uint64_t r4, bool decrypt) {
  const char* name = decrypt ? "bpf_crypto_decrypt" : "bpf_crypto_encrypt";
  NeedCtx(vm, r1, name);
  dynptr::Need(vm, r2, name, 2);
  dynptr::Need(vm, r3, name, 3);
  if (r4 != 0) dynptr::Need(vm, r4, name, 4);
  return Ret(Crypt(reinterpret_cast<void*>(r1), reinterpret_cast<void*>(r2),
                   reinterpret_cast<void*>(r3),
                   r4 != 0 ? reinterpret_cast<void*>(r4) : nullptr, decrypt));
}

}  // namespace

uint64_t InterpCtxCreate(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t, uint64_t) {
  const uint32_t sz = static_cast<uint32_t>(r2);
  if (r1 == 0 || !vm.Readable(r1, sz == 0 ? 1 : sz)) {
    vm.Fault("bpf_crypto_ctx_create: R1 is not %u readable bytes", sz);
  }
  if (!vm.Writable(r3, sizeof(int))) {
    vm.Fault("bpf_crypto_ctx_create: R3 is not a writable int");
  }
  int err = 0;
  void* c = CtxCreate(reinterpret_cast<void*>(r1), sz, &err);
  std::memcpy(reinterpret_cast<void*>(r3), &err, sizeof(err));
  return reinterpret_cast<uint64_t>(c);
}

uint64_t InterpCtxAcquire(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t) {
  NeedCtx(vm, r1, "bpf_crypto_ctx_acquire");
  return reinterpret_cast<uint64_t>(CtxAcquire(reinterpret_cast<void*>(r1)));
}

uint64_t InterpCtxRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t) {
  if (CtxRelease(reinterpret_cast<void*>(r1)) != 0) {
    vm.Fault(
        "bpf_crypto_ctx_release: R1 must be a struct bpf_crypto_ctx the "
        "program holds");
  }
  return 0;
}

uint64_t InterpEncrypt(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t) {
  return InterpCrypt(vm, r1, r2, r3, r4, false);
}

uint64_t InterpDecrypt(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t) {
  return InterpCrypt(vm, r1, r2, r3, r4, true);
}

}  // namespace bpfemu::cryptok
