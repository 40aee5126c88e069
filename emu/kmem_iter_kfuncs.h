// SPDX-License-Identifier: Apache-2.0
// File: kmem_iter_kfuncs.h
//
// kfy48: the slab-cache and dma-buf kfuncs of Linux 6.18:
// kernel/bpf/kmem_cache_iter.c bpf_iter_kmem_cache_new / _next / _destroy
// (the open-coded walk of slab_caches), mm/slab_common.c
// bpf_get_kmem_cache (the cache of a slab object's address) and
// kernel/bpf/dmabuf_iter.c bpf_iter_dmabuf_new / _next / _destroy (the
// walk of the dma-buf list). Shared by the interpreter (emu/kfunc.cc's
// table) and the native face (native/kmem_iter_kfuncs.cc).
//
// The caches and buffers are emulated lists a test can set (SetKmemCaches,
// SetDmabufs). Until one is set, the caches are the host's as
// /proc/slabinfo lists them, in its order (the order of slab_caches):
// name, s->size (the objsize column) and s->object_size (from
// /sys/kernel/slab/<name>/object_size, else the size); where slabinfo is
// unreadable (not root) there are none. There are no dma-bufs until a test
// sets some (a host without dma-buf exporters has none either).
//
// Each cache is a struct kmem_cache view, and each buffer a struct dma_buf
// view, laid out by the kernel BTF (emu/kernel_btf.h) with the fields
// bpfemu knows (kmem_cache: name, size, object_size, refcount 1; dma_buf:
// size, name, exp_name) and every other byte zero; the names follow the
// views in one read-only block, which a bytecode run may read once a kfunc
// handed out a view. bpf_get_kmem_cache knows one kind of slab object: a
// task_struct view (emu/task_kfuncs.h), whose cache is "task_struct" when
// the list has one; every other address answers NULL, as the kernel's does
// for memory that is no slab object (a program's stack, an array map's
// value).

#ifndef BPFEMU_EMU_KMEM_ITER_KFUNCS_H_
#define BPFEMU_EMU_KMEM_ITER_KFUNCS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "emu/interp.h"

namespace bpfemu::kmemk {

struct KmemCache {
  std::string name;
  uint32_t size = 0;         // s->size: the object with its metadata
  uint32_t object_size = 0;  // s->object_size
};
// Replaces the emulated slab_caches list (the views handed out before stay
// readable).
void SetKmemCaches(const std::vector<KmemCache>& caches);
// The list as the host's /proc/slabinfo shows it now (empty if unreadable).
std::vector<KmemCache> HostKmemCaches();

struct Dmabuf {
  uint64_t size = 0;
  std::string name;      // dmabuf->name (DMA_BUF_SET_NAME), may be empty
  std::string exp_name;  // the exporter's name
};
void SetDmabufs(const std::vector<Dmabuf>& bufs);

// struct bpf_iter_kmem_cache and struct bpf_iter_dmabuf: 8 opaque bytes.
inline constexpr uint32_t kIterSize = 8;

// bpf_iter_kmem_cache_new: 0. _next: the next cache view, nullptr after
// the last (and on every call after that). _destroy: nothing to drop.
int IterKmemCacheNew(void* it);
const void* IterKmemCacheNext(void* it);
void IterKmemCacheDestroy(void* it);
// bpf_get_kmem_cache(addr): the cache view, or nullptr.
const void* GetKmemCache(uint64_t addr);

// bpf_iter_dmabuf_new: 0. _next: the first buffer view when the iterator
// holds none (also after the end: the walk starts over, as the kernel's
// does), else the one after it, nullptr after the last. _destroy: nothing.
int IterDmabufNew(void* it);
const void* IterDmabufNext(void* it);
void IterDmabufDestroy(void* it);

// The interpreter's bindings: the iterator must be 8 writable bytes (the
// verifier's stack slot); a view handed out makes the views' block
// read-only memory of the run.
uint64_t InterpIterKmemCacheNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterKmemCacheNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                 uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterKmemCacheDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                    uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpGetKmemCache(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterDmabufNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterDmabufNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterDmabufDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                 uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu::kmemk

#endif  // BPFEMU_EMU_KMEM_ITER_KFUNCS_H_
