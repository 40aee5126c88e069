// SPDX-License-Identifier: Apache-2.0
// Ring buffer producer sequences (reserve, submit, discard, output, query,
// with arbitrary sizes and flags, out of order) interleaved with consumer
// drains, then a consumer reading the ring after arbitrary bytes were
// written over record headers and positions. Checks: no crash, every record
// handed to the callback lies inside the ring's mapping and has the size it
// was produced with, unless the ring was corrupted.
#include <linux/bpf.h>

#include <cstring>
#include <memory>
#include <vector>

#include "emu/ringbuf.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "fuzz/fuzz_input.h"

namespace {

struct Sink {
  const uint8_t* lo;
  const uint8_t* hi;
  uint64_t bytes = 0;
};

int Consume(void* ctx, void* data, size_t size) {
  auto* s = static_cast<Sink*>(ctx);
  const auto* p = static_cast<const uint8_t*>(data);
  FUZZ_CHECK(p >= s->lo && p + size <= s->hi);
  // Touch every byte, so a record reaching past the mapping would fault.
  for (size_t i = 0; i < size; ++i) s->bytes += p[i];
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bpfemu::fuzz::FuzzInput in(data, size);
  bpfemu::MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_RINGBUF;
  attr.max_entries = 4096u << in.Below(3);
  const int fd = bpfemu::MapCreate(attr);
  if (fd < 0) return 0;
  auto ring =
      std::dynamic_pointer_cast<bpfemu::RingbufMap>(bpfemu::MapFromFd(fd));
  Sink sink{ring->data(), ring->data() + 2 * (ring->mask() + 1)};
  int err;
  auto rb = bpfemu::RingBuffer::New(fd, Consume, &sink, &err);
  FUZZ_CHECK(rb != nullptr);
  std::vector<void*> reserved;
  for (int step = 0; step < 300 && !in.empty(); ++step) {
    switch (in.Below(7)) {
      case 0: {
        const uint64_t sz = in.Bool() ? in.Below(600) : in.Get<uint64_t>();
        if (void* p = ring->Reserve(sz, in.Bool() ? 0 : in.Get<uint64_t>())) {
          std::memset(p, 0x5a, sz);
          reserved.push_back(p);
        }
        break;
      }
      case 1:
      case 2:
        if (!reserved.empty()) {
          const size_t i = in.Below(static_cast<uint32_t>(reserved.size()));
          const uint64_t f = in.Get<uint8_t>() % 4;
          if (in.Bool()) {
            ring->Submit(reserved[i], f);
          } else {
            ring->Discard(reserved[i], f);
          }
          reserved.erase(reserved.begin() + i);
        }
        break;
      case 3: {
        std::vector<uint8_t> rec = in.Bytes(in.Below(700));
        (void)ring->Output(rec.data(), rec.size(), in.Get<uint8_t>() % 5);
        break;
      }
      case 4:
        (void)ring->Query(in.Get<uint8_t>() % 5);
        break;
      default:
        (void)rb->Consume();
        break;
    }
  }
  for (void* p : reserved) ring->Submit(p, 0);
  (void)rb->Consume();
  // Corruption: arbitrary bytes over headers and positions, then drain.
  const int writes = in.Below(8);
  for (int i = 0; i < writes; ++i) {
    const uint32_t where = in.Below(4);
    const uint64_t v = in.Get<uint64_t>();
    if (where == 0) {
      ring->producer_pos().store(v);
    } else if (where == 1) {
      ring->consumer_pos().store(v);
    } else {
      const uint64_t off = in.Get<uint32_t>() & ring->mask() & ~uint64_t{7};
      std::memcpy(ring->data() + off, &v, sizeof(v));
    }
  }
  (void)rb->Consume();
  rb.reset();
  bpfemu::CloseFd(fd);
  return 0;
}
