// SPDX-License-Identifier: Apache-2.0
// BPF program streams (kernel/bpf/stream.c bpf_stream_push_str,
// bpf_stream_read, bpf_stream_vprintk_impl; kernel/bpf/syscall.c
// prog_stream_read): emu/stream.h.

#include "emu/stream.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>

#include "emu/errno.h"

namespace bpfemu {

// One stream: its elements in print order (the kernel's backlog and log
// lists together), the part of the first one read, the bytes counted.
struct Stream {
  std::mutex mu;
  std::deque<std::string> elems;
  size_t first_consumed = 0;
  int64_t capacity = 0;
};

struct ProgStreams {
  Stream s[2];
};

namespace {

std::atomic<StreamFormatFn> stream_format{nullptr};

// bpf_stream_get(): the stream, nullptr for another id. `make`: create
// the program's streams when it has none yet.
Stream* StreamOf(const Prog& p, int64_t stream_id, bool make) {
  if (stream_id != kBpfStdout && stream_id != kBpfStderr) return nullptr;
  ProgExtra& x = *p.extra;
  std::lock_guard<std::mutex> l(x.mu);
  if (x.streams == nullptr) {
    if (!make) return nullptr;
    x.streams = std::make_shared<ProgStreams>();
  }
  return &x.streams->s[stream_id - 1];
}

}  // namespace

int StreamPush(const Prog& p, int stream_id, std::string_view text) {
  Stream* s = StreamOf(p, stream_id, true);
  if (s == nullptr) return -ENOENT;
  const int64_t len = static_cast<int64_t>(text.size());
  std::lock_guard<std::mutex> l(s->mu);
  // bpf_stream_consume_capacity(): full already, or this one would fill it.
  if (s->capacity >= kStreamCapacity) return -ENOSPC;
  if (s->capacity + len >= kStreamCapacity) return -ENOSPC;
  // bpf_stream_elem_alloc() refuses what a bprintf buffer cannot hold
  // with its NUL; a refused print takes no capacity (measured on 6.18).
  if (len >= kStreamElemMax) return -ENOMEM;
  s->capacity += len;
  s->elems.emplace_back(text);
  return 0;
}

int StreamRead(const Prog& p, uint32_t stream_id, uint32_t len,
               const std::function<int(size_t, const char*, size_t)>& copy) {
  if (stream_id != kBpfStdout && stream_id != kBpfStderr) return -ENOENT;
  Stream* s = StreamOf(p, stream_id, false);
  if (s == nullptr) return 0;  // nothing printed yet
  // The kernel keeps the length in an int.
  const int64_t want = static_cast<int32_t>(len);
  int64_t rem = want;
  std::lock_guard<std::mutex> l(s->mu);
  while (rem > 0 && !s->elems.empty()) {
    const std::string& e = s->elems.front();
    const size_t left = e.size() - s->first_consumed;
    const size_t n = std::min<size_t>(left, static_cast<size_t>(rem));
    if (copy(static_cast<size_t>(want - rem), e.data() + s->first_consumed,
             n) != 0) {
      return -EFAULT;
    }
    rem -= static_cast<int64_t>(n);
    if (n < left) {
      s->first_consumed += n;
      break;
    }
    s->capacity -= static_cast<int64_t>(e.size());
    s->elems.pop_front();
    s->first_consumed = 0;
  }
  return static_cast<int>(want - rem);
}

int ProgStreamReadByFd(int prog_fd, uint32_t stream_id, void* buf,
                       uint32_t len) {
  std::shared_ptr<const Prog> p;
  if (int err = ProgFromFd(prog_fd, &p); err != 0) return err;
  return StreamRead(*p, stream_id, len,
                    [buf](size_t pos, const char* data, size_t n) {
                      if (n == 0) return 0;
                      if (buf == nullptr) return -EFAULT;
                      std::memcpy(static_cast<char*>(buf) + pos, data, n);
                      return 0;
                    });
}

void SetStreamFormat(StreamFormatFn fn) {
  stream_format.store(fn, std::memory_order_release);
}

int StreamVprintk(int stream_id, const char* fmt, const uint64_t* args,
                  uint32_t len,
                  const std::function<bool(uint64_t, uint64_t)>* readable) {
  const Prog* p = RunningProg();
  if (p == nullptr || (stream_id != kBpfStdout && stream_id != kBpfStderr)) {
    return -ENOENT;
  }
  // MAX_BPRINTF_VARARGS arguments of 8 bytes.
  if (len % 8 != 0 || len > 12 * 8 || (len != 0 && args == nullptr)) {
    return -EINVAL;
  }
  StreamFormatFn format = stream_format.load(std::memory_order_acquire);
  if (format == nullptr) return -EINVAL;  // no formatter linked in
  std::string text;
  if (int err = format(fmt, args, len, readable, &text); err < 0) return err;
  // bstr_printf()'s length: a text the buffer cut is too long to push.
  return StreamPush(*p, stream_id, text);
}

uint64_t InterpStreamVprintk(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t) {
  const uint32_t len = static_cast<uint32_t>(r4);
  if (!vm.ReadableString(r2, uint64_t{1} << 20)) {
    vm.Fault("bpf_stream_vprintk_impl: arg#1 is not a constant string");
  }
  if (r3 != 0 && len != 0 && !vm.Readable(r3, len)) {
    vm.Fault("bpf_stream_vprintk_impl: args is not %u readable bytes", len);
  }
  const std::function<bool(uint64_t, uint64_t)> readable = [&vm](uint64_t addr,
                                                                 uint64_t n) {
    return vm.Readable(addr, n == 0 ? 1 : n);
  };
  return static_cast<uint64_t>(static_cast<int64_t>(
      StreamVprintk(static_cast<int32_t>(r1), reinterpret_cast<const char*>(r2),
                    reinterpret_cast<const uint64_t*>(r3), len, &readable)));
}

}  // namespace bpfemu
