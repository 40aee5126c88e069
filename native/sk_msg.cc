// SPDX-License-Identifier: Apache-2.0
// File: sk_msg.cc
//
// The sk_msg model and the SK_MSG helpers (net/core/filter.c
// bpf_msg_apply_bytes, bpf_msg_cork_bytes, bpf_msg_pull_data,
// bpf_msg_push_data, bpf_msg_pop_data), and the sending socket
// (net/ipv4/tcp_bpf.c tcp_bpf_sendmsg / tcp_bpf_send_verdict /
// tcp_bpf_push, net/core/skmsg.c sk_msg_alloc / sk_psock_msg_verdict).
// See sk_msg.h.

#include "native/sk_msg.h"

#include <errno.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "bpfemu/native_abi.h"
#include "native/helpers.h"

namespace bpfemu::native {
namespace {

// The message a program on this thread is running over, and its context.
struct Running {
  SkMsg* msg = nullptr;
  struct sk_msg_md* md = nullptr;
};
thread_local Running running;

// The page fragment size (SKB_FRAG_PAGE_ORDER: 32 KiB) and the room a
// refill wants (skb_page_frag_refill's 32 bytes).
constexpr uint32_t kFragSize = 32768;
constexpr uint32_t kFragMin = 32;

SkMsg* MsgOf(void* md, const char* helper) {
  if (running.msg == nullptr || running.md != md) {
    std::fprintf(stderr,
                 "bpfemu: %s outside an SK_MSG program's run over a message "
                 "(native/sk_msg.h SkMsgSocket), or not on its context\n",
                 helper);
    std::abort();
  }
  return running.msg;
}

// The context's view of the message after an edit (sk_msg_convert_ctx_access
// reads msg->data, msg->data_end and msg->sg.size).
void Refresh(const SkMsg& msg, struct sk_msg_md* md) {
  md->data = msg.data();
  md->data_end = msg.data_end();
  md->size = msg.size();
}

}  // namespace

bool SkMsgRunOn(const void* md) {
  return running.msg != nullptr && running.md == md;
}

void SkMsg::Find(uint32_t start, uint32_t* i, uint32_t* offset,
                 uint32_t* l) const {
  uint32_t at = start_, off = 0, len = 0;
  do {
    off += len;
    len = sg_[at].length;
    if (start < off + len) break;
    at = Next(at);
  } while (at != end_);
  *i = at;
  *offset = off;
  *l = len;
}

void SkMsg::ResetCurr() {
  if (size_ == 0) {
    curr_ = start_;
    copybreak_ = 0;
    return;
  }
  curr_ = Prev(end_);
  copybreak_ = sg_[curr_].length;
}

void SkMsg::ComputeDataPointers() {
  const Sge& s = sg_[start_];
  if (copy_[start_] || s.page == nullptr) {
    // A shared page is never shown; an emptied message shows nothing.
    data_ = data_end_ = nullptr;
    return;
  }
  data_ = s.Virt();
  data_end_ = data_ + s.length;
}

std::vector<uint8_t> SkMsg::Bytes() const {
  std::vector<uint8_t> out;
  out.reserve(size_);
  for (uint32_t i = start_; i != end_; i = Next(i)) {
    if (sg_[i].page != nullptr && sg_[i].length != 0) {
      out.insert(out.end(), sg_[i].Virt(), sg_[i].Virt() + sg_[i].length);
    }
  }
  return out;
}

long SkMsg::PullData(uint32_t start, uint32_t end, uint64_t flags) {
  if (flags != 0 || end <= start) return -EINVAL;
  const uint32_t bytes = end - start;
  uint32_t i, offset, len;
  Find(start, &i, &offset, &len);
  if (start >= offset + len) return -EINVAL;
  const uint32_t first = i;
  // The bytes wanted, counted from the first slot's start.
  const uint32_t need = start - offset + bytes;
  if (copy_[i] || need > len) {
    // Gather whole slots into one new page until `need` bytes are in.
    uint32_t gathered = 0;
    do {
      gathered += sg_[i].length;
      i = Next(i);
    } while (need > gathered && i != end_);
    const uint32_t last = i;
    if (need > gathered) return -EINVAL;
    Page page = NewPage(gathered);
    uint32_t at = 0;
    for (uint32_t j = first; j != last; j = Next(j)) {
      Sge& s = sg_[j];
      if (s.length != 0 && s.page != nullptr) {
        std::memcpy(page->data() + at, s.Virt(), s.length);
      }
      at += s.length;
      s.length = 0;
      s.page.reset();
      copy_[j] = false;
    }
    sg_[first] = Sge{std::move(page), 0, gathered};
    copy_[first] = false;
    // The slots emptied behind the first close up.
    const uint32_t gap =
        last > first ? last - first - 1 : kSlots - first + last - 1;
    if (gap != 0) {
      for (uint32_t to = Next(first);; to = Next(to)) {
        const uint32_t from = (to + gap) % kSlots;
        if (from == end_) break;
        sg_[to] = std::move(sg_[from]);
        copy_[to] = copy_[from];
        sg_[from] = Sge{};
        copy_[from] = false;
      }
      end_ = (end_ + kSlots - gap) % kSlots;
    }
  }
  ResetCurr();
  data_ = sg_[first].Virt() + (start - offset);
  data_end_ = data_ + bytes;
  return 0;
}

long SkMsg::PushData(uint32_t start, uint32_t len, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  if (len == 0) return 0;
  uint32_t i, offset, l;
  Find(start, &i, &offset, &l);
  if (start > offset + l) return -EINVAL;
  const uint32_t space = kMaxFrags - used();
  // Without a free slot (two, to split a slot), the slot's bytes and the
  // new ones share one new page. The slot read is sg.end's, empty, when
  // the push is at the message's end.
  uint32_t copy = 0;
  if (space == 0 || (space == 1 && start != offset)) copy = sg_[i].length;
  if (copy + len < copy) return -EINVAL;
  // alloc_pages(get_order(copy + len)): above MAX_PAGE_ORDER's 4 MiB the
  // allocation fails.
  if (uint64_t{copy} + len > (uint64_t{4} << 20)) return -ENOMEM;
  Page page = NewPage(copy + len);
  Sge rest;  // the split slot's back part
  bool rest_copy = false;
  uint32_t at;
  if (copy != 0) {
    if (i == end_) i = Prev(i);
    const Sge& s = sg_[i];
    const uint32_t front = start - offset;
    const uint32_t back = s.length - front;
    if (front != 0) std::memcpy(page->data(), s.Virt(), front);
    if (back != 0) {
      std::memcpy(page->data() + front + len, s.Virt() + front, back);
    }
    at = i;
  } else {
    if (start != offset) {
      if (i == end_) i = Prev(i);
      Sge& s = sg_[i];
      rest = s;
      rest_copy = copy_[i];
      s.length = start - offset;
      rest.length -= s.length;
      rest.offset += start - offset;
      i = Next(i);
    }
    end_ = Next(end_);
    at = i;
    i = Next(i);
    if (i == end_) {
      if (rest.length != 0) end_ = Next(end_);
    } else {
      // Move the slots from `at` on right by one, or by two with a split.
      Sge carry = sg_[at];
      bool carry_copy = copy_[at];
      Sge next = sg_[i];
      bool next_copy = copy_[i];
      Sge after;
      bool after_copy = false;
      if (rest.length != 0) {
        i = Next(i);
        after = sg_[i];
        after_copy = copy_[i];
        end_ = Next(end_);
      }
      while (i != end_) {
        sg_[i] = std::move(carry);
        copy_[i] = carry_copy;
        carry = std::move(next);
        carry_copy = next_copy;
        i = Next(i);
        if (rest.length != 0) {
          next = std::move(after);
          next_copy = after_copy;
          after = sg_[i];
          after_copy = copy_[i];
        } else {
          next = sg_[i];
          next_copy = copy_[i];
        }
      }
    }
  }
  size_ += len;
  copy_[at] = false;
  sg_[at] = Sge{std::move(page), 0, len + copy};
  if (rest.length != 0) {
    at = Next(at);
    sg_[at] = std::move(rest);
    copy_[at] = rest_copy;
  }
  ResetCurr();
  ComputeDataPointers();
  return 0;
}

void SkMsg::ShiftLeft(uint32_t i) {
  uint32_t prev;
  do {
    prev = i;
    i = Next(i);
    sg_[prev] = sg_[i];
    copy_[prev] = copy_[i];
  } while (i != end_);
  end_ = Prev(end_);
  copy_[end_] = false;
}

void SkMsg::ShiftRight(uint32_t i) {
  end_ = Next(end_);
  Sge carry = sg_[i];
  bool carry_copy = copy_[i];
  i = Next(i);
  Sge next = sg_[i];
  bool next_copy = copy_[i];
  while (i != end_) {
    sg_[i] = std::move(carry);
    copy_[i] = carry_copy;
    i = Next(i);
    carry = std::move(next);
    carry_copy = next_copy;
    next = sg_[i];
    next_copy = copy_[i];
  }
}

long SkMsg::PopData(uint32_t start, uint32_t len, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  if (len == 0) return 0;
  const uint64_t last = uint64_t{start} + len;
  uint32_t i, offset, l;
  Find(start, &i, &offset, &l);
  if (start >= offset + l || last > size_) return -EINVAL;
  const uint32_t space = kMaxFrags - used();
  uint32_t pop = len;
  if (start != offset) {
    // The slot keeps its first `a` bytes; `b` bytes after the popped ones
    // stay when the pop ends inside it.
    const uint32_t s_i = i;
    const int a = static_cast<int>(start - offset);
    const int b = static_cast<int>(sg_[s_i].length - pop - uint32_t(a));
    const bool s_copy = copy_[s_i];
    i = Next(i);
    if (b > 0) {
      if (space != 0) {
        sg_[s_i].length = a;
        ShiftRight(i);
        const Sge& s = sg_[s_i];
        sg_[i] = Sge{s.page, s.offset + pop + a, uint32_t(b)};
        copy_[i] = s_copy;
      } else {
        Page page = NewPage(a + b);
        const uint8_t* from = sg_[s_i].Virt();
        std::memcpy(page->data(), from, a);
        std::memcpy(page->data() + a, from + a + pop, b);
        sg_[s_i] = Sge{std::move(page), 0, uint32_t(a + b)};
        copy_[s_i] = false;
      }
      pop = 0;
    } else {
      pop -= sg_[s_i].length - a;
      sg_[s_i].length = a;
    }
  }
  while (pop != 0 && i != end_) {
    Sge& s = sg_[i];
    if (pop < s.length) {
      s.length -= pop;
      s.offset += pop;
      pop = 0;
    } else {
      pop -= s.length;
      ShiftLeft(i);
    }
  }
  size_ -= len - pop;
  ResetCurr();
  ComputeDataPointers();
  return 0;
}

SkMsgSocket::SkMsgSocket(Program prog)
    : SkMsgSocket(std::move(prog), Endpoints()) {}

SkMsgSocket::SkMsgSocket(Program prog, Endpoints ep)
    : prog_(std::move(prog)), ep_(ep) {}

SkMsgSocket::~SkMsgSocket() = default;

int SkMsgSocket::Append(SkMsg* msg, const uint8_t* from, uint32_t len,
                        uint32_t* took) {
  *took = 0;
  // sk_msg_alloc's elem_first_coalesce: the slot before sg.end at the call.
  const int first_coalesce = static_cast<int>(msg->end_) - 1;
  while (len > 0) {
    // skb_page_frag_refill: a page nobody else holds is reused from its
    // start; one without room for 32 bytes is replaced.
    if (frag_ != nullptr && frag_.use_count() == 1) {
      frag_offset_ = 0;
    } else if (frag_ == nullptr || frag_offset_ + kFragMin > kFragSize) {
      frag_ = SkMsg::NewPage(kFragSize);
      frag_offset_ = 0;
    }
    const uint32_t use = std::min(len, kFragSize - frag_offset_);
    const int end = static_cast<int>(msg->end_);
    const int start = static_cast<int>(msg->start_);
    const bool coalesce_ok =
        (end > start && first_coalesce < end) ||
        (end < start && (first_coalesce > start || first_coalesce < end));
    SkMsg::Sge& last = msg->sg_[SkMsg::Prev(msg->end_)];
    if (coalesce_ok && last.page == frag_ &&
        last.offset + last.length == frag_offset_) {
      last.length += use;
    } else {
      if (msg->full()) return -ENOSPC;
      msg->sg_[msg->end_] = SkMsg::Sge{frag_, frag_offset_, use};
      msg->copy_[msg->end_] = false;
      msg->end_ = SkMsg::Next(msg->end_);
    }
    std::memcpy(frag_->data() + frag_offset_, from, use);
    msg->size_ += use;
    frag_offset_ += use;
    from += use;
    len -= use;
    *took += use;
  }
  return 0;
}

SkMsgSocket::Eval SkMsgSocket::RunProgram(SkMsg* msg) {
  msg->ComputeDataPointers();
  struct sk_msg_md md = {};
  md.family = ep_.family;
  md.local_ip4 = ep_.local_ip4;
  md.remote_ip4 = ep_.remote_ip4;
  md.local_port = ep_.local_port;
  md.remote_port = ep_.remote_port;
  Refresh(*msg, &md);
  const Running saved = running;
  running = Running{msg, &md};
  ClearRedirect();
  const uint32_t ret = prog_(&md);
  running = saved;
  ++runs_;
  const Redirect r = LastRedirect();
  apply_bytes_ = msg->apply_bytes;
  // sk_psock_map_verd: SK_PASS with a redirect chosen redirects; anything
  // but SK_PASS drops.
  if (ret != SK_PASS) return Eval::kDrop;
  if (!r.taken) return Eval::kPass;
  redir_cookie_ = r.cookie;
  redir_flags_ = r.flags;
  return Eval::kRedirect;
}

void SkMsgSocket::ApplyConsumed(uint32_t* apply, uint32_t n) {
  // sk_msg_apply_bytes
  if (*apply == 0) return;
  *apply = *apply < n ? 0 : *apply - n;
}

std::vector<uint8_t> SkMsgSocket::Consume(SkMsg* msg, uint32_t n) {
  std::vector<uint8_t> out;
  while (n > 0 && msg->start_ != msg->end_) {
    SkMsg::Sge& s = msg->sg_[msg->start_];
    const uint32_t take = std::min(n, s.length);
    if (take != 0) out.insert(out.end(), s.Virt(), s.Virt() + take);
    s.offset += take;
    s.length -= take;
    msg->size_ -= take;
    n -= take;
    if (s.length == 0) {
      s = SkMsg::Sge{};
      msg->copy_[msg->start_] = false;
      msg->start_ = SkMsg::Next(msg->start_);
    }
  }
  return out;
}

int SkMsgSocket::SendVerdict(SkMsg* msg, long* copied) {
  const bool enospc = msg->full();
  uint32_t delta = 0;
  for (;;) {
    if (eval_ == Eval::kNone) {
      delta = msg->size_;
      eval_ = RunProgram(msg);
      delta -= msg->size_;
    }
    if (msg->cork_bytes != 0 && msg->cork_bytes > msg->size_ && !enospc) {
      // Corked: the message waits for cork_bytes in all.
      cork_bytes_ = msg->cork_bytes - msg->size_;
      if (cork_ == nullptr) cork_ = std::make_unique<SkMsg>();
      if (cork_.get() != msg) *cork_ = *msg;
      return 0;
    }
    uint32_t tosend = msg->size_;
    if (apply_bytes_ != 0 && apply_bytes_ < tosend) tosend = apply_bytes_;
    switch (eval_) {
      case Eval::kPass: {
        const std::vector<uint8_t> sent = Consume(msg, tosend);
        delivered_.insert(delivered_.end(), sent.begin(), sent.end());
        ApplyConsumed(&apply_bytes_, tosend);
        break;
      }
      case Eval::kRedirect: {
        ApplyConsumed(&apply_bytes_, tosend);
        const uint64_t cookie = redir_cookie_, flags = redir_flags_;
        if (apply_bytes_ == 0) eval_ = Eval::kNone;
        const bool was_cork = cork_ != nullptr;
        redirected_.push_back(Redirected{cookie, flags, Consume(msg, tosend)});
        if (was_cork) {
          // The corked message goes with the redirect.
          if (cork_.get() == msg) msg = nullptr;
          cork_.reset();
        }
        break;
      }
      default:
        *msg = SkMsg{};  // sk_msg_free
        ApplyConsumed(&apply_bytes_, tosend);
        *copied -= static_cast<int>(tosend + delta);
        return -EACCES;
    }
    if (apply_bytes_ == 0) eval_ = Eval::kNone;
    if (msg == nullptr) return 0;
    const SkMsg::Sge& head = msg->sg_[msg->start_];
    if (head.page == nullptr || head.length == 0) return 0;
  }
}

long SkMsgSocket::Send(absl::Span<const uint8_t> data) {
  const uint32_t size = static_cast<uint32_t>(data.size());
  long copied = 0;
  int err = 0;
  uint32_t pos = 0;
  while (pos < size) {
    std::unique_ptr<SkMsg> tmp;
    SkMsg* tx = cork_.get();
    if (tx == nullptr) {
      tmp = std::make_unique<SkMsg>();
      tx = tmp.get();
    }
    uint32_t took = 0;
    const bool enospc =
        Append(tx, data.data() + pos, size - pos, &took) == -ENOSPC;
    pos += took;
    copied += took;
    if (cork_bytes_ != 0) {
      cork_bytes_ = size > cork_bytes_ ? 0 : cork_bytes_ - size;
      if (cork_bytes_ != 0 && !enospc) break;
      // All the corked bytes are in: run the program again.
      eval_ = Eval::kNone;
      cork_bytes_ = 0;
    }
    err = SendVerdict(tx, &copied);
    if (err < 0) break;
  }
  return copied > 0 ? copied : err;
}

}  // namespace bpfemu::native

extern "C" {

long bpfemu_msg_apply_bytes(void* msg, __u32 bytes) {
  bpfemu::native::MsgOf(msg, "bpf_msg_apply_bytes")->apply_bytes = bytes;
  return 0;
}

long bpfemu_msg_cork_bytes(void* msg, __u32 bytes) {
  bpfemu::native::MsgOf(msg, "bpf_msg_cork_bytes")->cork_bytes = bytes;
  return 0;
}

#define BPFEMU_MSG_EDIT(name, method)                                        \
  long bpfemu_msg_##name(void* msg, __u32 a, __u32 b, __u64 flags) {         \
    bpfemu::native::SkMsg* m = bpfemu::native::MsgOf(msg, "bpf_msg_" #name); \
    const long ret = m->method(a, b, flags);                                 \
    bpfemu::native::Refresh(*m, static_cast<struct sk_msg_md*>(msg));        \
    return ret;                                                              \
  }
BPFEMU_MSG_EDIT(pull_data, PullData)
BPFEMU_MSG_EDIT(push_data, PushData)
BPFEMU_MSG_EDIT(pop_data, PopData)
#undef BPFEMU_MSG_EDIT

}  // extern "C"
