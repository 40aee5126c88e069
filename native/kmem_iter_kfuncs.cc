// SPDX-License-Identifier: Apache-2.0
// The native face of the slab-cache and dma-buf kfuncs (kfy48:
// kernel/bpf/kmem_cache_iter.c bpf_iter_kmem_cache_new / _next /
// _destroy, mm/slab_common.c bpf_get_kmem_cache, kernel/bpf/dmabuf_iter.c
// bpf_iter_dmabuf_new / _next / _destroy): a natively built program's
// `extern ... __ksym` declarations (weak) resolve to these definitions; the
// work and the emulated lists are emu/kmem_iter_kfuncs.h's.

#include "emu/kmem_iter_kfuncs.h"

extern "C" {

struct bpf_iter_kmem_cache;
struct bpf_iter_dmabuf;
struct kmem_cache;
struct dma_buf;

int bpf_iter_kmem_cache_new(struct bpf_iter_kmem_cache* it) {
  return bpfemu::kmemk::IterKmemCacheNew(it);
}

struct kmem_cache* bpf_iter_kmem_cache_next(struct bpf_iter_kmem_cache* it) {
  return static_cast<struct kmem_cache*>(
      const_cast<void*>(bpfemu::kmemk::IterKmemCacheNext(it)));
}

void bpf_iter_kmem_cache_destroy(struct bpf_iter_kmem_cache* it) {
  bpfemu::kmemk::IterKmemCacheDestroy(it);
}

struct kmem_cache* bpf_get_kmem_cache(unsigned long long addr) {
  return static_cast<struct kmem_cache*>(
      const_cast<void*>(bpfemu::kmemk::GetKmemCache(addr)));
}

int bpf_iter_dmabuf_new(struct bpf_iter_dmabuf* it) {
  return bpfemu::kmemk::IterDmabufNew(it);
}

struct dma_buf* bpf_iter_dmabuf_next(struct bpf_iter_dmabuf* it) {
  return static_cast<struct dma_buf*>(
      const_cast<void*>(bpfemu::kmemk::IterDmabufNext(it)));
}

void bpf_iter_dmabuf_destroy(struct bpf_iter_dmabuf* it) {
  bpfemu::kmemk::IterDmabufDestroy(it);
}

}  // extern "C"
