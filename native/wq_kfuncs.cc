// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c's workqueue kfuncs (kfuncB47:
// bpf_wq_init, bpf_wq_set_callback_impl, bpf_wq_start): a natively built
// program's `extern ... __ksym` declarations (weak) resolve to these
// definitions; the work is emu/wq_kfuncs.h's. The map argument is the
// definition the program passed (&name); the callback receives it back.

#include "emu/wq_kfuncs.h"
#include "native/bound_map.h"

namespace {

// bpf_wq_work()'s call of a native callback:
// int (*)(void *map, int *key, void *value), its return value ignored.
void CallNative(void* fn, uint64_t map, void* key, void* value) {
  reinterpret_cast<int (*)(void*, int*, void*)>(fn)(
      reinterpret_cast<void*>(map), static_cast<int*>(key), value);
}

}  // namespace

extern "C" {

struct bpf_wq;

int bpf_wq_init(struct bpf_wq* wq, void* p__map, unsigned int flags) {
  bpfemu::native::internal::BoundMap* b =
      p__map != nullptr ? bpfemu::native::internal::BoundOf(p__map) : nullptr;
  return bpfemu::WqInit(b != nullptr ? b->map.get() : nullptr,
                        reinterpret_cast<uint64_t>(p__map),
                        reinterpret_cast<uint8_t*>(wq), flags);
}

int bpf_wq_set_callback_impl(struct bpf_wq* wq,
                             int (*callback_fn)(void* map, int* key,
                                                void* value),
                             unsigned int flags, void* aux__ign) {
  (void)aux__ign;
  return bpfemu::WqSetCallback(
      reinterpret_cast<uint8_t*>(wq),
      {&CallNative, reinterpret_cast<void*>(callback_fn), nullptr}, flags);
}

int bpf_wq_start(struct bpf_wq* wq, unsigned int flags) {
  return bpfemu::WqStart(reinterpret_cast<uint8_t*>(wq), flags);
}

}  // extern "C"
