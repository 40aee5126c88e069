// SPDX-License-Identifier: Apache-2.0
// File: crypto_kfuncs.h
//
// kfy48: the BPF crypto kfuncs, kernel/bpf/crypto.c bpf_crypto_ctx_create,
// bpf_crypto_ctx_acquire, bpf_crypto_ctx_release, bpf_crypto_encrypt and
// bpf_crypto_decrypt (bpf_crypto_crypt), over the one type the kernel
// registers, crypto/bpf_crypto_skcipher.c's "skcipher" (the lskcipher
// API), with the block loops of crypto/ecb.c and crypto/cbc.c
// (crypto_ecb_crypt, crypto_cbc_{en,de}crypt_{segment,inplace}) on AES
// from Nettle. Shared by the interpreter (emu/kfunc.cc's table) and the
// native face (native/crypto_kfuncs.cc).
//
// A context is an allocated object of emu/graph_obj.h: created owned by the
// run, stashed with bpf_kptr_xchg, counted by RefcountAcquire / ObjDrop,
// freed with the map value that holds it (bpf_obj_free_fields), as the
// kernel's refcount_t and its bpf_crypto_ctx_release_dtor. The object holds
// the expanded AES keys; nothing else needs freeing.
//
// The algorithms are the lskcipher ones of the 6.18 host (/proc/crypto
// "type: lskcipher"): ecb(X) and cbc(X) of the cipher aes (drivers
// aes-generic, aes-fixed-time) and cipher_null (whose 0-byte keys no
// nonzero key_len fits: -EINVAL), also by their driver names
// (cbc(ecb(aes-fixed-time)); measured: every such name loads). ctr(aes)
// and xts(aes) are skcipher-only: the kernel finds the name and answers
// -EINVAL (measured). Any other name is -EOPNOTSUPP.

#ifndef BPFEMU_EMU_CRYPTO_KFUNCS_H_
#define BPFEMU_EMU_CRYPTO_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::cryptok {

// kernel/bpf/crypto.c struct bpf_crypto_params.
struct Params {
  char type[14];
  uint8_t reserved[2];
  char algo[128];
  uint8_t key[256];
  uint32_t key_len;
  uint32_t authsize;
};
static_assert(sizeof(Params) == 408);

// bpf_crypto_ctx_create(params, params__sz, err): a new context owned by
// the calling run, or nullptr with *err set, in the kernel's order:
//   params__sz != 408, reserved bytes set     -EINVAL
//   type not "skcipher"                       -ENOENT
//   algorithm unknown                         -EOPNOTSUPP
//   authsize != 0 (skcipher has none)         -EOPNOTSUPP
//   key_len 0 or above 256                    -EINVAL
//   skcipher-only algorithm (ctr, xts)        -EINVAL
//   key size the cipher refuses               -EINVAL
// On success *err is 0.
void* CtxCreate(const void* params, uint32_t params_sz, int* err);
// bpf_crypto_ctx_acquire: a new reference, or nullptr when the context is
// no longer live.
void* CtxAcquire(void* ctx);
// bpf_crypto_ctx_release: drops a reference the run holds; -EINVAL when
// `ctx` is no context the run holds (what the verifier refuses).
int CtxRelease(void* ctx);
// Whether `p` is a live context.
bool IsCtx(const void* p);
// bpf_crypto_encrypt / bpf_crypto_decrypt on three struct bpf_dynptr_kern
// (siv may be nullptr): -EINVAL for a read-only dst, a zero-length src or
// dst, src longer than dst, an siv whose size is not the algorithm's IV
// size (16 for cbc, 0 for ecb; a null dynptr's is 0), memory that is not
// contiguous, or a length that is not whole blocks (the whole blocks before
// it are written, and cbc's IV moved past them, as the kernel's loops do);
// else 0.
int Crypt(const void* ctx, const void* src, const void* dst, const void* siv,
          bool decrypt);

// __bpf_dynptr_data (rdwr false) / __bpf_dynptr_data_rw (true): a direct
// pointer to a dynptr's first `len` bytes, or nullptr. emu/kfunc.cc
// registers its DynptrSlice / DynptrSliceRdwr here (kfunc.cc includes this
// header, not the other way round); until then Crypt answers -EINVAL.
using DynptrData = void* (*)(const void* ptr, uint32_t len, bool rdwr);
void SetDynptrData(DynptrData fn);

// The interpreter's bindings: params readable for params__sz bytes, err a
// writable int, the context a live one, the dynptrs initialized ones (the
// verifier's checks), else the run stops.
uint64_t InterpCtxCreate(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5);
uint64_t InterpCtxAcquire(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t r5);
uint64_t InterpCtxRelease(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t r5);
uint64_t InterpEncrypt(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);
uint64_t InterpDecrypt(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);

}  // namespace bpfemu::cryptok

#endif  // BPFEMU_EMU_CRYPTO_KFUNCS_H_
