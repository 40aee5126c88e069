// SPDX-License-Identifier: Apache-2.0
// libbpf 1.1's ring_buffer__* consumer API (src/ringbuf.c) over emulated
// ring buffers: the first part of bpfemu's libbpf-compatible layer. It
// exports libbpf's symbol names, so it must never be linked into a binary
// together with real libbpf. Conventions follow libbpf: pointer-returning
// calls give NULL with errno set; int-returning calls give a negative errno
// and also set errno (libbpf_err).
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

#include "compat/libbpf_conventions.h"
#include "emu/ringbuf_consumer.h"

struct ring_buffer {
  std::unique_ptr<bpfemu::RingBuffer> impl;
};

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;

extern "C" {

struct ring_buffer* ring_buffer__new(int map_fd,
                                     ring_buffer_sample_fn sample_cb, void* ctx,
                                     const struct ring_buffer_opts* opts) {
  if (!OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  int err;
  auto impl = bpfemu::RingBuffer::New(map_fd, sample_cb, ctx, &err);
  if (impl == nullptr) {
    errno = -err;
    return nullptr;
  }
  return new ring_buffer{std::move(impl)};
}

void ring_buffer__free(struct ring_buffer* rb) { delete rb; }

int ring_buffer__add(struct ring_buffer* rb, int map_fd,
                     ring_buffer_sample_fn sample_cb, void* ctx) {
  return LibbpfErr(rb->impl->Add(map_fd, sample_cb, ctx));
}

int ring_buffer__poll(struct ring_buffer* rb, int timeout_ms) {
  return LibbpfErr(rb->impl->Poll(timeout_ms));
}

int ring_buffer__consume(struct ring_buffer* rb) {
  return LibbpfErr(rb->impl->Consume());
}

int ring_buffer__epoll_fd(const struct ring_buffer* rb) {
  return rb->impl->EpollFd();
}

}  // extern "C"
