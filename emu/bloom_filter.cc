// SPDX-License-Identifier: Apache-2.0
#include "emu/bloom_filter.h"

#include <linux/bpf.h>

#include <bit>
#include <cerrno>
#include <climits>
#include <utility>

#include "absl/random/random.h"
#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/jhash.h"

namespace bpfemu {
namespace {

// BLOOM_CREATE_FLAG_MASK.
constexpr uint32_t kBloomCreateFlagMask =
    BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | kBpfFAccessMask;
constexpr uint32_t kDefaultHashFuncs = 5;

}  // namespace

const MapOps BloomFilterMap::kOps = {&BloomFilterMap::AllocCheck,
                                     &BloomFilterMap::Alloc,
                                     &BloomFilterMap::Attach};

int BloomFilterMap::AllocCheck(const MapAttr& attr) {
  if (attr.value_size > kKmallocMaxSize) return -E2BIG;
  const uint32_t f = attr.map_flags;
  if (attr.key_size != 0 || attr.value_size == 0 || attr.max_entries == 0 ||
      (f & ~kBloomCreateFlagMask) != 0 ||
      (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) ==
          (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG) ||
      (attr.map_extra & ~uint64_t{0xf}) != 0) {
    return -EINVAL;
  }
  return 0;
}

BloomFilterMap::Geometry BloomFilterMap::GeometryFor(const MapAttr& attr) {
  Geometry g;
  g.nr_hash_funcs = static_cast<uint32_t>(attr.map_extra);
  if (g.nr_hash_funcs == 0) g.nr_hash_funcs = kDefaultHashFuncs;
  // n * k / ln(2), with 7 / 5 for 1 / ln(2), in u32 arithmetic as the
  // kernel computes it; a power of two so the mask selects the bit.
  uint32_t nr_bits;
  if (__builtin_mul_overflow(attr.max_entries, g.nr_hash_funcs, &nr_bits) ||
      __builtin_mul_overflow(nr_bits / 5, uint32_t{7}, &nr_bits) ||
      nr_bits > (uint32_t{1} << 31)) {
    g.bitset_mask = UINT32_MAX;
  } else {
    nr_bits = nr_bits <= 64 ? 64 : std::bit_ceil(nr_bits);
    g.bitset_mask = nr_bits - 1;
  }
  g.words = (uint64_t{g.bitset_mask} + 1 + 63) / 64;
  g.region_size = kBodyOffset + g.words * sizeof(uint64_t);
  return g;
}

BloomFilterMap::BloomFilterMap(ShmRegion region, const Geometry& g)
    : Map(std::move(region)), geometry_(g) {
  bits_ = this->region().At<uint64_t>(kBodyOffset);
}

int BloomFilterMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                          std::unique_ptr<Map>* out) {
  const Geometry g = GeometryFor(attr);
  ShmRegion region;
  int map_fd;
  if (int err =
          ShmRegion::Create("bpfemu-bloom", g.region_size, &map_fd, &region);
      err != 0) {
    return err;
  }
  const uint32_t seed = (attr.map_flags & BPF_F_ZERO_SEED)
                            ? 0
                            : absl::Uniform<uint32_t>(absl::BitGen());
  InitHeader(attr, attr.max_entries, nr_cpus, seed, g.region_size,
             region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new BloomFilterMap(std::move(region), g));
  return 0;
}

int BloomFilterMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  // Everything that sizes the bit array comes from the validated header
  // copy, recomputed as creation computes it.
  const Geometry placeholder{};
  auto map = std::unique_ptr<BloomFilterMap>(
      new BloomFilterMap(std::move(region), placeholder));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapAttr attr = AttrFromHeader(map->header());
  if (AllocCheck(attr) != 0) return -EINVAL;
  map->geometry_ = GeometryFor(attr);
  if (map->header().region_size != map->geometry_.region_size) return -EINVAL;
  *out = std::move(map);
  return 0;
}

uint64_t BloomFilterMap::MemUsage(const BuildProfile& build) const {
  // BITS_TO_BYTES(mask + 1) rounded up to whole unsigned longs.
  return build.bloom + geometry_.words * sizeof(uint64_t);
}

uint32_t BloomFilterMap::Bit(const void* value, uint32_t index) const {
  const uint32_t seed = header().seed + index;
  const uint32_t h =
      value_size() % 4 == 0
          ? Jhash2(static_cast<const uint32_t*>(value), value_size() / 4, seed)
          : Jhash(value, value_size(), seed);
  return h & geometry_.bitset_mask;
}

int BloomFilterMap::PushElem(const void* value, uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  for (uint32_t i = 0; i < geometry_.nr_hash_funcs; ++i) {
    const uint32_t bit = Bit(value, i);
    __atomic_fetch_or(&bits_[bit / 64], uint64_t{1} << (bit % 64),
                      __ATOMIC_RELAXED);
  }
  return 0;
}

int BloomFilterMap::PeekElem(void* value) {
  for (uint32_t i = 0; i < geometry_.nr_hash_funcs; ++i) {
    const uint32_t bit = Bit(value, i);
    if (!(__atomic_load_n(&bits_[bit / 64], __ATOMIC_RELAXED) &
          (uint64_t{1} << (bit % 64)))) {
      return -ENOENT;
    }
  }
  return 0;
}

int BloomFilterMap::PopElem(void* /*value*/) { return -EOPNOTSUPP; }

int BloomFilterMap::LookupElem(const void* /*key*/, void* value,
                               uint64_t /*flags*/) {
  return PeekElem(value);
}

int BloomFilterMap::UpdateElem(const void* /*key*/, const void* value,
                               uint64_t flags) {
  return PushElem(value, flags);
}

int BloomFilterMap::DeleteElem(const void* /*key*/) { return -EOPNOTSUPP; }

int BloomFilterMap::GetNextKey(const void* /*key*/, void* /*next_key*/) {
  return -EOPNOTSUPP;
}

void* BloomFilterMap::LookupElemProg(const void* /*key*/) { return nullptr; }

int BloomFilterMap::UpdateElemProg(const void* /*key*/, const void* /*value*/,
                                   uint64_t /*flags*/) {
  return -EINVAL;
}

}  // namespace bpfemu
