// SPDX-License-Identifier: Apache-2.0
// File: seq_helpers.cc
//
// bpf_seq_printf, bpf_seq_write and bpf_seq_printf_btf (seq_helpers.h), as
// kernel/trace/bpf_trace.c writes them over fs/seq_file.c seq_bprintf and
// seq_write, and kernel/bpf/btf.c btf_type_seq_show_flags.

#include "native/seq_helpers.h"

#include <cerrno>
#include <string>

#include "bpfemu/native_abi.h"
#include "native/syscall_helpers.h"

namespace bpfemu::native {

long SeqPrintf(IterSeq* seq, const char* fmt, uint32_t fmt_size,
               const uint64_t* data, uint32_t data_len,
               const OwnedMemory* owned) {
  std::string text;
  const size_t room = seq->room();
  if (int err = BprintfData(fmt, fmt_size, data, data_len, owned, &text,
                            room == 0 ? 1 : room);
      err < 0) {
    return err;
  }
  // seq_bprintf(): the text is kept when it fits, else the buffer is
  // marked overflowed; either way the helper reports the buffer's state.
  seq->Write(text.data(), text.size());
  return seq->overflowed() ? -EOVERFLOW : 0;
}

long SeqWrite(IterSeq* seq, const void* data, uint32_t len) {
  return seq->Write(data, len) ? 0 : -EOVERFLOW;
}

long SeqPrintfBtf(IterSeq* seq, const void* ptr, uint32_t btf_ptr_size,
                  uint64_t flags, const ReadableFn* readable) {
  std::string text;
  if (long err = ShowBtf(ptr, btf_ptr_size, flags, readable, &text); err) {
    return err;
  }
  seq->Write(text.data(), text.size());
  return 0;
}

}  // namespace bpfemu::native

extern "C" {

// A native program's seq argument is the one its context handed it; any
// other pointer is refused as the verifier refuses it at load.
long bpfemu_seq_printf(void* m, const char* fmt, __u32 fmt_size,
                       const void* data, __u32 data_len) {
  bpfemu::IterSeq* seq = bpfemu::CurrentIterSeq();
  if (seq == nullptr || m != seq) return -EINVAL;
  return bpfemu::native::SeqPrintf(seq, fmt, fmt_size,
                                   static_cast<const uint64_t*>(data), data_len,
                                   nullptr);
}

long bpfemu_seq_write(void* m, const void* data, __u32 len) {
  bpfemu::IterSeq* seq = bpfemu::CurrentIterSeq();
  if (seq == nullptr || m != seq) return -EINVAL;
  return bpfemu::native::SeqWrite(seq, data, len);
}

long bpfemu_seq_printf_btf(void* m, struct btf_ptr* ptr, __u32 ptr_size,
                           __u64 flags) {
  bpfemu::IterSeq* seq = bpfemu::CurrentIterSeq();
  if (seq == nullptr || m != seq) return -EINVAL;
  return bpfemu::native::SeqPrintfBtf(seq, ptr, ptr_size, flags, nullptr);
}

}  // extern "C"
