// SPDX-License-Identifier: Apache-2.0
// Map creation with arbitrary attributes (every MapAttr field from the
// input), then a few operations on whatever was created. Checks: no crash,
// no leak, and results are 0 or a negative errno.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "emu/syscall.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bpfemu::fuzz::FuzzInput in(data, size);
  bpfemu::MapAttr attr;
  // Favour the emulated types, but let any value through.
  static const uint32_t kTypes[] = {
      BPF_MAP_TYPE_HASH,         BPF_MAP_TYPE_ARRAY,
      BPF_MAP_TYPE_PERCPU_HASH,  BPF_MAP_TYPE_PERCPU_ARRAY,
      BPF_MAP_TYPE_LRU_HASH,     BPF_MAP_TYPE_LRU_PERCPU_HASH,
      BPF_MAP_TYPE_RINGBUF,      BPF_MAP_TYPE_PROG_ARRAY,
      BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_ARRAY_OF_MAPS};
  const uint8_t pick = in.Get<uint8_t>();
  attr.map_type = pick < 200 ? kTypes[pick % 10] : in.Get<uint32_t>();
  // Sizes: small most of the time (a huge map would only test memory).
  attr.key_size = in.Bool() ? in.Below(80) : in.Get<uint32_t>();
  attr.value_size = in.Bool() ? in.Below(300) : in.Get<uint32_t>();
  const uint32_t max = in.Get<uint32_t>();
  attr.max_entries = in.Bool() ? max % 5000 : max;
  if (attr.map_type == BPF_MAP_TYPE_RINGBUF && in.Bool()) {
    attr.max_entries = 4096u << in.Below(4);
  }
  attr.map_flags = in.Bool() ? in.Get<uint32_t>() : in.Get<uint32_t>() & 0x7f;
  attr.inner_map_fd = in.Bool() ? in.Get<uint32_t>() : 0;
  attr.numa_node = in.Get<uint32_t>() % 3;
  const auto name = in.Bytes(sizeof(attr.map_name));
  std::memcpy(attr.map_name, name.data(), sizeof(attr.map_name));
  attr.map_ifindex = in.Bool() ? in.Get<uint32_t>() : 0;
  attr.btf_value_type_id = in.Bool() ? in.Get<uint32_t>() : 0;
  attr.map_extra = in.Bool() ? in.Get<uint64_t>() : 0;
  attr.spin_lock_off = in.Bool() ? in.Get<int32_t>() % 64 : -1;
  // Creations whose footprint the host cannot back are bounded by ENOMEM;
  // skip the ones that would really allocate gigabytes.
  if (uint64_t{attr.max_entries} *
          std::max<uint64_t>(1, uint64_t{attr.key_size} + attr.value_size) >
      (uint64_t{64} << 20)) {
    return 0;
  }
  const int fd = bpfemu::MapCreate(attr);
  if (fd < 0) {
    FUZZ_CHECK(fd > -4096);
    return 0;
  }
  std::vector<uint8_t> key = in.Bytes(attr.key_size);
  std::vector<uint8_t> value(std::max<size_t>(attr.value_size, 1) * 64 + 4096);
  (void)bpfemu::MapUpdateElem(fd, attr.key_size ? key.data() : nullptr,
                              value.data(), in.Get<uint64_t>() % 8);
  (void)bpfemu::MapLookupElem(fd, attr.key_size ? key.data() : nullptr,
                              value.data(), in.Get<uint64_t>() % 8);
  std::vector<uint8_t> next(attr.key_size + 1);
  (void)bpfemu::MapGetNextKey(fd, nullptr, next.data());
  (void)bpfemu::MapDeleteElem(fd, attr.key_size ? key.data() : nullptr);
  (void)bpfemu::MapMemlock(fd);
  bpfemu::CloseFd(fd);
  return 0;
}
