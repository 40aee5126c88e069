// SPDX-License-Identifier: Apache-2.0
// The native face of the arena kfuncs (kernel/bpf/arena.c
// bpf_arena_alloc_pages, bpf_arena_free_pages): a natively built program's
// `extern ... __ksym` declarations (weak) resolve to these definitions. The
// work is the arena's (emu/arena.h ArenaMap::AllocPages / FreePages), which
// the interpreter's binding (emu/kfunc.cc) calls too.
//
// A native program dereferences the user addresses these return directly,
// so the process running it must have the arena mapped (the user range
// is where its own mmap() put it, or map_extra); a page nobody allocated is
// then allocated by the touch, where the kernel's program reads 0
// (docs/semantics.md, ARENA).

#include <linux/types.h>

#include <cstdint>

#include "emu/arena.h"
#include "native/bound_map.h"

namespace {

bpfemu::ArenaMap* ArenaOf(void* map) {
  bpfemu::native::internal::BoundMap* b =
      bpfemu::native::internal::BoundOf(map);
  return b == nullptr ? nullptr : dynamic_cast<bpfemu::ArenaMap*>(b->map.get());
}

}  // namespace

extern "C" {

// NULL for a map that is not an ARENA, as the kernel's map_type check.
void* bpf_arena_alloc_pages(void* map, void* addr, __u32 page_cnt, int node_id,
                            __u64 flags) {
  bpfemu::ArenaMap* arena = ArenaOf(map);
  if (arena == nullptr) return nullptr;
  return reinterpret_cast<void*>(arena->AllocPages(
      reinterpret_cast<uint64_t>(addr), page_cnt, node_id, flags));
}

void bpf_arena_free_pages(void* map, void* ptr, __u32 page_cnt) {
  bpfemu::ArenaMap* arena = ArenaOf(map);
  if (arena == nullptr) return;
  arena->FreePages(reinterpret_cast<uint64_t>(ptr), page_cnt);
}

}  // extern "C"
