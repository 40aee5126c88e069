// SPDX-License-Identifier: Apache-2.0
// File: sk_msg.h
//
// The message an SK_MSG program sees and edits, and the socket that runs
// it on every send:
// - SkMsg mirrors include/linux/skmsg.h struct sk_msg: a ring of
//   NR_MSG_FRAG_IDS scatterlist slots (pages, offset, length) between
//   sg.start and sg.end, the copy bits, sg.size, the data / data_end window
//   (sk_msg_compute_data_pointers), and the program's apply_bytes and
//   cork_bytes. Its edits are net/core/filter.c bpf_msg_pull_data,
//   bpf_msg_push_data and bpf_msg_pop_data, with their errnos.
// - SkMsgSocket is the sending side of a TCP socket in a SOCKMAP with a
//   BPF_SK_MSG_VERDICT program (net/ipv4/tcp_bpf.c tcp_bpf_sendmsg and
//   tcp_bpf_send_verdict, net/core/skmsg.c sk_psock_msg_verdict): each
//   Send copies the bytes into the message (sk_msg_alloc over the sender's
//   page fragment, so that consecutive bytes coalesce into one slot as the
//   kernel's do), runs the program, and carries out its verdict: the bytes
//   passed to the peer, apply_bytes and cork_bytes across sends, SK_DROP's
//   -EACCES, redirects recorded (bpf_msg_redirect_map / _hash).
// A test runs a program over messages with it (native or bytecode, through
// Program::Run) and reads what the peer would receive.

#ifndef BPFEMU_NATIVE_SK_MSG_H_
#define BPFEMU_NATIVE_SK_MSG_H_

#include <linux/bpf.h>

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/types/span.h"

namespace bpfemu::native {

class SkMsg {
 public:
  // MAX_MSG_FRAGS (MAX_SKB_FRAGS, CONFIG_MAX_SKB_FRAGS=17) and the ring's
  // slot count NR_MSG_FRAG_IDS: one slot always stays free.
  static constexpr uint32_t kMaxFrags = 17;
  static constexpr uint32_t kSlots = kMaxFrags + 1;

  using Page = std::shared_ptr<std::vector<uint8_t>>;
  struct Sge {
    Page page;  // null: an empty slot (page_link 0)
    uint32_t offset = 0;
    uint32_t length = 0;
    uint8_t* Virt() const { return page->data() + offset; }
  };

  SkMsg() = default;

  // bpf_msg_pull_data / _push_data / _pop_data: 0 or -errno.
  long PullData(uint32_t start, uint32_t end, uint64_t flags);
  long PushData(uint32_t start, uint32_t len, uint64_t flags);
  long PopData(uint32_t start, uint32_t len, uint64_t flags);
  // sk_msg_compute_data_pointers: the first slot, or none when its bytes
  // are shared (copy bit).
  void ComputeDataPointers();

  // The message's bytes in order.
  std::vector<uint8_t> Bytes() const;
  uint32_t size() const { return size_; }
  uint32_t used() const { return Dist(start_, end_); }
  bool full() const { return used() == kMaxFrags; }
  uint32_t slot_count() const { return used(); }
  const Sge& slot(uint32_t i) const { return sg_[(start_ + i) % kSlots]; }
  uint8_t* data() const { return data_; }
  uint8_t* data_end() const { return data_end_; }

  // Set by bpf_msg_apply_bytes / bpf_msg_cork_bytes; kept by the message
  // (a corked message keeps them into the next run).
  uint32_t apply_bytes = 0;
  uint32_t cork_bytes = 0;

 private:
  friend class SkMsgSocket;
  static uint32_t Next(uint32_t i) { return i + 1 == kSlots ? 0 : i + 1; }
  static uint32_t Prev(uint32_t i) { return i == 0 ? kSlots - 1 : i - 1; }
  static uint32_t Dist(uint32_t from, uint32_t to) {
    return to >= from ? to - from : to + (kSlots - from);
  }
  // The walk every edit starts with: the slot holding byte `start` (or
  // sg.end past the last), the offset of that slot's first byte and its
  // length (the last slot's when none holds it).
  void Find(uint32_t start, uint32_t* i, uint32_t* offset, uint32_t* l) const;
  void ResetCurr();
  void ShiftLeft(uint32_t i);
  void ShiftRight(uint32_t i);
  static Page NewPage(uint32_t size) {
    return std::make_shared<std::vector<uint8_t>>(size);
  }

  std::array<Sge, kSlots> sg_{};
  std::bitset<kSlots> copy_;
  uint32_t start_ = 0, end_ = 0, size_ = 0;
  uint32_t curr_ = 0, copybreak_ = 0;
  uint8_t* data_ = nullptr;
  uint8_t* data_end_ = nullptr;
};

class SkMsgSocket {
 public:
  // The program: given the context, its return value (SK_PASS / SK_DROP).
  using Program = std::function<uint32_t(struct sk_msg_md*)>;
  // The socket's addresses as the context shows them (sk_msg_md:
  // remote_port in network byte order, local_port in host byte order).
  struct Endpoints {
    uint32_t family = 2;       // AF_INET
    uint32_t local_ip4 = 0;    // network byte order
    uint32_t remote_ip4 = 0;   // network byte order
    uint32_t local_port = 0;   // host byte order
    uint32_t remote_port = 0;  // network byte order, in the low 16 bits
  };
  struct Redirected {
    uint64_t cookie = 0;
    uint64_t flags = 0;
    std::vector<uint8_t> bytes;
  };

  explicit SkMsgSocket(Program prog);
  SkMsgSocket(Program prog, Endpoints ep);
  ~SkMsgSocket();
  SkMsgSocket(const SkMsgSocket&) = delete;
  SkMsgSocket& operator=(const SkMsgSocket&) = delete;

  // send(2) of `data`: the bytes the socket took, or -errno (-EACCES when
  // the program dropped everything sent).
  long Send(absl::Span<const uint8_t> data);

  // What reached the peer (SK_PASS), in order, and the redirects.
  const std::vector<uint8_t>& delivered() const { return delivered_; }
  const std::vector<Redirected>& redirected() const { return redirected_; }
  uint32_t runs() const { return runs_; }
  // The psock's state between sends.
  uint32_t apply_bytes() const { return apply_bytes_; }
  uint32_t cork_bytes() const { return cork_bytes_; }
  bool corked() const { return cork_ != nullptr && cork_->size() != 0; }

 private:
  enum class Eval { kNone, kPass, kRedirect, kDrop };
  // sk_msg_alloc and the copy from the sender: up to `len` bytes appended;
  // -ENOSPC with what fit when the ring is full.
  int Append(SkMsg* msg, const uint8_t* from, uint32_t len, uint32_t* took);
  Eval RunProgram(SkMsg* msg);
  int SendVerdict(SkMsg* msg, long* copied);
  // tcp_bpf_push / the redirect: `n` bytes off the message's front.
  std::vector<uint8_t> Consume(SkMsg* msg, uint32_t n);
  static void ApplyConsumed(uint32_t* apply, uint32_t n);

  Program prog_;
  Endpoints ep_;
  // The sender's page fragment (current->task_frag: sk_page_frag).
  SkMsg::Page frag_;
  uint32_t frag_offset_ = 0;
  // struct sk_psock's send state.
  Eval eval_ = Eval::kNone;
  uint32_t apply_bytes_ = 0;
  uint32_t cork_bytes_ = 0;
  std::unique_ptr<SkMsg> cork_;
  uint64_t redir_cookie_ = 0, redir_flags_ = 0;
  std::vector<uint8_t> delivered_;
  std::vector<Redirected> redirected_;
  uint32_t runs_ = 0;
};

// Whether `md` is the context of a program SkMsgSocket is running on this
// thread (the message helpers act only there).
bool SkMsgRunOn(const void* md);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SK_MSG_H_
