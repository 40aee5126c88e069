// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/crypto.c's kfuncs (kfy48:
// bpf_crypto_ctx_create, bpf_crypto_ctx_acquire, bpf_crypto_ctx_release,
// bpf_crypto_encrypt, bpf_crypto_decrypt): a natively built program's
// `extern ... __ksym` declarations (weak) resolve to these definitions; the
// work is emu/crypto_kfuncs.h's. The dynptrs are the native helpers'
// struct bpf_dynptr, laid out as the kernel's struct bpf_dynptr_kern.

#include "emu/crypto_kfuncs.h"

#include "emu/kfunc.h"

namespace {

// __bpf_dynptr_data / _data_rw over emu/kfunc.h's slices, registered here
// too so that a native binary that links no interpreter has them.
void* Data(const void* ptr, uint32_t len, bool rdwr) {
  return rdwr ? bpfemu::DynptrSliceRdwr(ptr, 0, nullptr, len)
              : bpfemu::DynptrSlice(ptr, 0, nullptr, len);
}
[[maybe_unused]] const bool kDataSet =
    (bpfemu::cryptok::SetDynptrData(&Data), true);

}  // namespace

extern "C" {

struct bpf_crypto_ctx;
struct bpf_crypto_params;
struct bpf_dynptr;

struct bpf_crypto_ctx* bpf_crypto_ctx_create(
    const struct bpf_crypto_params* params, unsigned int params__sz, int* err) {
  return static_cast<struct bpf_crypto_ctx*>(
      bpfemu::cryptok::CtxCreate(params, params__sz, err));
}

struct bpf_crypto_ctx* bpf_crypto_ctx_acquire(struct bpf_crypto_ctx* ctx) {
  return static_cast<struct bpf_crypto_ctx*>(bpfemu::cryptok::CtxAcquire(ctx));
}

void bpf_crypto_ctx_release(struct bpf_crypto_ctx* ctx) {
  (void)bpfemu::cryptok::CtxRelease(ctx);
}

int bpf_crypto_encrypt(struct bpf_crypto_ctx* ctx, const struct bpf_dynptr* src,
                       const struct bpf_dynptr* dst,
                       const struct bpf_dynptr* siv__nullable) {
  return bpfemu::cryptok::Crypt(ctx, src, dst, siv__nullable, false);
}

int bpf_crypto_decrypt(struct bpf_crypto_ctx* ctx, const struct bpf_dynptr* src,
                       const struct bpf_dynptr* dst,
                       const struct bpf_dynptr* siv__nullable) {
  return bpfemu::cryptok::Crypt(ctx, src, dst, siv__nullable, true);
}

}  // extern "C"
