// SPDX-License-Identifier: Apache-2.0
// libbpf 1.1's perf_buffer__* consumer API (tools/lib/bpf/libbpf.c:
// perf_buffer__new, __new_raw, __poll, __consume, __consume_buffer,
// __buffer_cnt, __buffer_fd, __buffer, __epoll_fd, __free) over emulated
// perf events: a thin layer over bpfemu::PerfBuffer (emu/perf_buffer.h).
// It exports libbpf's symbol names, so it must never be linked into a
// binary together with real libbpf. Pointer-returning calls give NULL with
// errno set; int-returning calls give a negative errno and set errno.
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <memory>

#include "compat/libbpf_conventions.h"
#include "emu/perf_buffer.h"

struct perf_buffer {
  std::unique_ptr<bpfemu::PerfBuffer> impl;
  perf_buffer_event_fn event_cb = nullptr;
  void* ctx = nullptr;
};

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;

namespace {

// perf_buffer_event_fn returns an enum; the emulator's callback an int.
int EventTrampoline(void* ctx, int cpu, struct perf_event_header* event) {
  auto* pb = static_cast<struct perf_buffer*>(ctx);
  return pb->event_cb(pb->ctx, cpu, event);
}

struct perf_buffer* NewPb(int map_fd, size_t page_cnt,
                          bpfemu::PerfBuffer::Params& p,
                          struct perf_buffer* pb) {
  int err;
  pb->impl = bpfemu::PerfBuffer::New(map_fd, page_cnt, p, &err);
  if (pb->impl == nullptr) {
    delete pb;
    errno = -err;
    return nullptr;
  }
  return pb;
}

}  // namespace

extern "C" {

struct perf_buffer* perf_buffer__new(int map_fd, size_t page_cnt,
                                     perf_buffer_sample_fn sample_cb,
                                     perf_buffer_lost_fn lost_cb, void* ctx,
                                     const struct perf_buffer_opts* opts) {
  if (!OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  const struct perf_event_attr attr = bpfemu::PerfBuffer::DefaultAttr();
  bpfemu::PerfBuffer::Params p;
  p.attr = &attr;
  p.sample_cb = sample_cb;
  p.lost_cb = lost_cb;
  p.ctx = ctx;
  return NewPb(map_fd, page_cnt, p, new perf_buffer);
}

struct perf_buffer* perf_buffer__new_raw(
    int map_fd, size_t page_cnt, struct perf_event_attr* attr,
    perf_buffer_event_fn event_cb, void* ctx,
    const struct perf_buffer_raw_opts* opts) {
  if (attr == nullptr || !OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  auto* pb = new perf_buffer;
  pb->event_cb = event_cb;
  pb->ctx = ctx;
  bpfemu::PerfBuffer::Params p;
  p.attr = attr;
  p.event_cb = event_cb != nullptr ? &EventTrampoline : nullptr;
  p.ctx = pb;
  p.cpu_cnt = BPFEMU_OPTS_GET(opts, cpu_cnt, 0);
  p.cpus = BPFEMU_OPTS_GET(opts, cpus, nullptr);
  p.map_keys = BPFEMU_OPTS_GET(opts, map_keys, nullptr);
  return NewPb(map_fd, page_cnt, p, pb);
}

void perf_buffer__free(struct perf_buffer* pb) { delete pb; }

int perf_buffer__epoll_fd(const struct perf_buffer* pb) {
  return pb->impl->EpollFd();
}

int perf_buffer__poll(struct perf_buffer* pb, int timeout_ms) {
  return LibbpfErr(pb->impl->Poll(timeout_ms));
}

int perf_buffer__consume(struct perf_buffer* pb) {
  return LibbpfErr(pb->impl->Consume());
}

int perf_buffer__consume_buffer(struct perf_buffer* pb, size_t buf_idx) {
  return LibbpfErr(pb->impl->ConsumeBuffer(buf_idx));
}

size_t perf_buffer__buffer_cnt(const struct perf_buffer* pb) {
  return pb->impl->BufferCnt();
}

int perf_buffer__buffer_fd(const struct perf_buffer* pb, size_t buf_idx) {
  return LibbpfErr(pb->impl->BufferFd(buf_idx));
}

int perf_buffer__buffer(struct perf_buffer* pb, int buf_idx, void** buf,
                        size_t* buf_size) {
  if (buf_idx < 0) return LibbpfErr(-EINVAL);
  return LibbpfErr(
      pb->impl->Buffer(static_cast<size_t>(buf_idx), buf, buf_size));
}

}  // extern "C"
