// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/map_iter.c's bpf_map_sum_elem_count: a
// natively built program's `extern ... __ksym` declaration (weak) resolves
// to this definition. The count is emu/bpf_iter.h MapSumElemCount, which
// the interpreter's binding (emu/kfunc.cc) gives too.

#include <linux/types.h>

#include "emu/bpf_iter.h"
#include "emu/kfunc.h"
#include "native/bound_map.h"

extern "C" {

// `map` is a map the program holds (`&map_def`) or the struct bpf_map an
// iterator run shows; anything else, which the verifier would refuse (a
// trusted argument), counts 0 as the kernel's function does for NULL.
__s64 bpf_map_sum_elem_count(const void* map) {
  if (const bpfemu::BtfMapObject* shown = bpfemu::CurrentBtfMap();
      shown != nullptr && shown->addr == map) {
    return shown->sum_elem_count(shown->arg);
  }
  const bpfemu::native::internal::BoundMap* b =
      map == nullptr
          ? nullptr
          : bpfemu::native::internal::BoundOf(const_cast<void*>(map));
  return b != nullptr && b->map != nullptr ? bpfemu::MapSumElemCount(*b->map)
                                           : 0;
}

}  // extern "C"
