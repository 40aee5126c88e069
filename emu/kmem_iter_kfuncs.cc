// SPDX-License-Identifier: Apache-2.0
// File: kmem_iter_kfuncs.cc
//
// kfy48: the slab-cache and dma-buf kfuncs (kmem_iter_kfuncs.h). Mirrors
// kernel/bpf/kmem_cache_iter.c (bpf_iter_kmem_cache_new / _next /
// _destroy, KMEM_CACHE_POS_START), mm/slab_common.c (bpf_get_kmem_cache)
// and kernel/bpf/dmabuf_iter.c (bpf_iter_dmabuf_new / _next / _destroy
// over dma_buf_iter_begin / dma_buf_iter_next).

#include "emu/kmem_iter_kfuncs.h"

#include <linux/btf.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string_view>

#include "emu/kernel_btf.h"
#include "emu/task_kfuncs.h"

namespace bpfemu::kmemk {

namespace {

// One list's views: `count` structs of `stride` bytes from the block's
// start, then the names. Blocks are never freed: a program may still hold
// a view of a list a test replaced (the kernel's would hold a reference).
struct Block {
  std::vector<uint8_t> bytes;
  size_t stride = 0;
  size_t count = 0;
  const uint8_t* View(size_t i) const { return bytes.data() + i * stride; }
  // The index of view `p`, or -1.
  int64_t IndexOf(const void* p) const {
    const auto* b = static_cast<const uint8_t*>(p);
    if (count == 0 || b < bytes.data() || b >= bytes.data() + count * stride) {
      return -1;
    }
    const size_t off = static_cast<size_t>(b - bytes.data());
    return off % stride == 0 ? static_cast<int64_t>(off / stride) : -1;
  }
};

std::mutex mu;
const Block* caches = nullptr;   // guarded by mu; nullptr: not made yet
const Block* dmabufs = nullptr;  // guarded by mu
std::vector<std::unique_ptr<Block>>& Blocks() {
  static auto* all = new std::vector<std::unique_ptr<Block>>;
  return *all;
}

// A named field of a struct view (offset and size from the BTF).
struct Layout {
  size_t size = 8;  // the struct's size (8 without BTF: opaque views)
  KernelBtf::Field f[3];
};

Layout LayoutOf(const char* st, const char* const (&fields)[3]) {
  Layout l;
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return l;
  const int32_t id = btf->FindByNameKind(st, BTF_KIND_STRUCT);
  if (id <= 0) return l;
  const int64_t size = btf->Size(static_cast<uint32_t>(id));
  if (size <= 0) return l;
  l.size = static_cast<size_t>(size);
  for (int i = 0; i < 3; ++i) {
    l.f[i] = btf->FindMember(static_cast<uint32_t>(id), fields[i]);
  }
  return l;
}

void Put(uint8_t* view, const KernelBtf::Field& f, uint64_t v) {
  if (f.offset < 0 || f.size == 0 || f.size > 8) return;
  std::memcpy(view + f.offset, &v, f.size);  // little-endian
}

// A block of `n` views of `layout`, with `strings` (per view, per string
// field) appended after them; `fill(i, view, string_addrs)` writes view i.
template <typename Fill>
const Block* MakeBlock(size_t n, const Layout& layout,
                       const std::vector<std::vector<std::string>>& strings,
                       Fill fill) {
  auto b = std::make_unique<Block>();
  b->stride = (layout.size + 7) & ~size_t{7};
  b->count = n;
  size_t total = n * b->stride;
  for (const auto& per : strings) {
    for (const std::string& s : per) total += s.size() + 1;
  }
  b->bytes.assign(total == 0 ? 1 : total, 0);
  size_t at = n * b->stride;
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint64_t> addrs;
    for (const std::string& s : strings[i]) {
      std::memcpy(b->bytes.data() + at, s.c_str(), s.size() + 1);
      addrs.push_back(reinterpret_cast<uint64_t>(b->bytes.data() + at));
      at += s.size() + 1;
    }
    fill(i, b->bytes.data() + i * b->stride, addrs);
  }
  const Block* out = b.get();
  Blocks().push_back(std::move(b));
  return out;
}

// Caller holds mu.
const Block* MakeCaches(const std::vector<KmemCache>& list) {
  static const char* const kFields[3] = {"name", "size", "object_size"};
  const Layout l = LayoutOf("kmem_cache", kFields);
  KernelBtf::Field refcount;
  if (const KernelBtf* btf = KernelBtf::Get(); btf != nullptr) {
    const int32_t id = btf->FindByNameKind("kmem_cache", BTF_KIND_STRUCT);
    if (id > 0)
      refcount = btf->FindMember(static_cast<uint32_t>(id), "refcount");
  }
  std::vector<std::vector<std::string>> strings;
  for (const KmemCache& c : list) strings.push_back({c.name});
  return MakeBlock(list.size(), l, strings,
                   [&](size_t i, uint8_t* v, const std::vector<uint64_t>& s) {
                     Put(v, l.f[0], s[0]);
                     Put(v, l.f[1], list[i].size);
                     Put(v, l.f[2], list[i].object_size);
                     Put(v, refcount, 1);
                   });
}

const Block* MakeDmabufs(const std::vector<Dmabuf>& list) {
  static const char* const kFields[3] = {"size", "name", "exp_name"};
  const Layout l = LayoutOf("dma_buf", kFields);
  std::vector<std::vector<std::string>> strings;
  for (const Dmabuf& d : list) strings.push_back({d.name, d.exp_name});
  return MakeBlock(list.size(), l, strings,
                   [&](size_t i, uint8_t* v, const std::vector<uint64_t>& s) {
                     Put(v, l.f[0], list[i].size);
                     // A buffer without a name has name NULL.
                     Put(v, l.f[1], list[i].name.empty() ? 0 : s[0]);
                     Put(v, l.f[2], s[1]);
                   });
}

const Block* Caches() {
  std::lock_guard<std::mutex> l(mu);
  if (caches == nullptr) caches = MakeCaches(HostKmemCaches());
  return caches;
}

const Block* Dmabufs() {
  std::lock_guard<std::mutex> l(mu);
  if (dmabufs == nullptr) dmabufs = MakeDmabufs({});
  return dmabufs;
}

// The iterators' 8 bytes: the kernel's struct bpf_iter_kmem_cache_kern /
// bpf_iter_dmabuf_kern hold one pointer.
uint64_t Pos(const void* it) {
  uint64_t p;
  std::memcpy(&p, it, sizeof(p));
  return p;
}
void SetPos(void* it, uint64_t p) { std::memcpy(it, &p, sizeof(p)); }

constexpr uint64_t kPosStart = 1;  // KMEM_CACHE_POS_START

}  // namespace

std::vector<KmemCache> HostKmemCaches() {
  std::vector<KmemCache> out;
  std::ifstream in("/proc/slabinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("slabinfo", 0) == 0) {
      continue;
    }
    std::istringstream ls(line);
    KmemCache c;
    uint64_t active = 0, num = 0;
    if (!(ls >> c.name >> active >> num >> c.size)) continue;
    c.object_size = c.size;
    std::ifstream os("/sys/kernel/slab/" + c.name + "/object_size");
    uint32_t v = 0;
    if (os >> v) c.object_size = v;
    out.push_back(std::move(c));
  }
  return out;
}

void SetKmemCaches(const std::vector<KmemCache>& list) {
  std::lock_guard<std::mutex> l(mu);
  caches = MakeCaches(list);
}

void SetDmabufs(const std::vector<Dmabuf>& list) {
  std::lock_guard<std::mutex> l(mu);
  dmabufs = MakeDmabufs(list);
}

int IterKmemCacheNew(void* it) {
  SetPos(it, kPosStart);
  return 0;
}

const void* IterKmemCacheNext(void* it) {
  const uint64_t prev = Pos(it);
  if (prev == 0) return nullptr;
  const Block* b = Caches();
  if (b->count == 0) return nullptr;
  const uint8_t* next = nullptr;
  if (prev == kPosStart) {
    next = b->View(0);
  } else {
    const int64_t i = b->IndexOf(reinterpret_cast<const void*>(prev));
    // The last entry, or a cache no longer on the list.
    if (i >= 0 && static_cast<size_t>(i) + 1 < b->count) next = b->View(i + 1);
  }
  SetPos(it, reinterpret_cast<uint64_t>(next));
  return next;
}

void IterKmemCacheDestroy(void* it) { (void)it; }

const void* GetKmemCache(uint64_t addr) {
  const TaskKfuncOps* ops = GetTaskKfuncOps();
  if (ops == nullptr || !ops->is_task(reinterpret_cast<const void*>(addr))) {
    return nullptr;
  }
  // The task's cache: the view named "task_struct".
  static const char* const kFields[3] = {"name", "size", "object_size"};
  static const Layout l = LayoutOf("kmem_cache", kFields);
  if (l.f[0].offset < 0) return nullptr;
  const Block* b = Caches();
  for (size_t i = 0; i < b->count; ++i) {
    uint64_t name = 0;
    std::memcpy(&name, b->View(i) + l.f[0].offset, sizeof(name));
    if (name != 0 &&
        std::strcmp(reinterpret_cast<const char*>(name), "task_struct") == 0) {
      return b->View(i);
    }
  }
  return nullptr;
}

int IterDmabufNew(void* it) {
  SetPos(it, 0);
  return 0;
}

const void* IterDmabufNext(void* it) {
  const uint64_t prev = Pos(it);
  const Block* b = Dmabufs();
  const uint8_t* next = nullptr;
  if (prev == 0) {
    if (b->count != 0) next = b->View(0);
  } else {
    const int64_t i = b->IndexOf(reinterpret_cast<const void*>(prev));
    if (i >= 0 && static_cast<size_t>(i) + 1 < b->count) next = b->View(i + 1);
  }
  SetPos(it, reinterpret_cast<uint64_t>(next));
  return next;
}

void IterDmabufDestroy(void* it) { (void)it; }

namespace {

void NeedIter(interp::Vm& vm, uint64_t p, const char* name) {
  if (!vm.Writable(p, kIterSize)) {
    vm.Fault("%s: R1 is not a writable 8-byte iterator", name);
  }
}

// The run may read the block that holds `view`: looked up by the view,
// since another thread may have replaced the list (SetKmemCaches) between
// the walk's step and this call, and the current list's block then is not
// the one the view is in.
uint64_t HandOut(interp::Vm& vm, const void* view) {
  if (view == nullptr) return 0;
  const Block* b = nullptr;
  {
    std::lock_guard<std::mutex> l(mu);
    const auto& all = Blocks();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      const uint8_t* lo = (*it)->bytes.data();
      const auto* v = static_cast<const uint8_t*>(view);
      if (v >= lo && v < lo + (*it)->bytes.size()) {
        b = it->get();
        break;
      }
    }
  }
  if (b != nullptr) {
    vm.AddRegion(reinterpret_cast<uint64_t>(b->bytes.data()), b->bytes.size(),
                 false);
  }
  return reinterpret_cast<uint64_t>(view);
}

}  // namespace

uint64_t InterpIterKmemCacheNew(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                                uint64_t, uint64_t) {
  NeedIter(vm, r1, "bpf_iter_kmem_cache_new");
  return static_cast<uint64_t>(
      static_cast<int64_t>(IterKmemCacheNew(reinterpret_cast<void*>(r1))));
}

uint64_t InterpIterKmemCacheNext(interp::Vm& vm, uint64_t r1, uint64_t,
                                 uint64_t, uint64_t, uint64_t) {
  NeedIter(vm, r1, "bpf_iter_kmem_cache_next");
  const void* v = IterKmemCacheNext(reinterpret_cast<void*>(r1));
  return HandOut(vm, v);
}

uint64_t InterpIterKmemCacheDestroy(interp::Vm& vm, uint64_t r1, uint64_t,
                                    uint64_t, uint64_t, uint64_t) {
  NeedIter(vm, r1, "bpf_iter_kmem_cache_destroy");
  IterKmemCacheDestroy(reinterpret_cast<void*>(r1));
  return 0;
}

uint64_t InterpGetKmemCache(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  const void* v = GetKmemCache(r1);
  return HandOut(vm, v);
}

uint64_t InterpIterDmabufNew(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  NeedIter(vm, r1, "bpf_iter_dmabuf_new");
  return static_cast<uint64_t>(
      static_cast<int64_t>(IterDmabufNew(reinterpret_cast<void*>(r1))));
}

uint64_t InterpIterDmabufNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                              uint64_t, uint64_t) {
  NeedIter(vm, r1, "bpf_iter_dmabuf_next");
  const void* v = IterDmabufNext(reinterpret_cast<void*>(r1));
  return HandOut(vm, v);
}

uint64_t InterpIterDmabufDestroy(interp::Vm& vm, uint64_t r1, uint64_t,
                                 uint64_t, uint64_t, uint64_t) {
  NeedIter(vm, r1, "bpf_iter_dmabuf_destroy");
  IterDmabufDestroy(reinterpret_cast<void*>(r1));
  return 0;
}

}  // namespace bpfemu::kmemk
