// SPDX-License-Identifier: Apache-2.0
// File: bpf_iter.h
//
// BPF iterators (kernel/bpf/bpf_iter.c, kernel/bpf/map_iter.c): a TRACING
// program of expected_attach_type BPF_TRACE_ITER, loaded against the
// kernel BTF function bpf_iter_<target>, attached with BPF_LINK_CREATE into
// an iterator link; BPF_ITER_CREATE on the link gives an fd whose read()
// yields what the program wrote with bpf_seq_printf / bpf_seq_write while
// it was run once per object and a last time with a NULL object.
//
// Targets: "bpf_map" (every map, by id: struct bpf_iter__bpf_map { meta;
// map }) and "bpf_map_elem" (every element of the HASH, LRU_HASH, ARRAY or
// per-CPU map given at attach: { meta; map; key; value }). The program
// reads the struct bpf_iter_meta and the struct bpf_map its context points
// at (the verifier's PTR_TO_BTF_ID): bpfemu lays out a read-only stand-in
// of each by the kernel BTF's member offsets (emu/kernel_btf.h) and lets
// the run read them, and the key (read-only) and value (writable) of an
// element (interp.h SetRunObjects).
//
// Where bpfemu differs (docs/semantics.md, "BPF iterators"): the output is
// made whole at BPF_ITER_CREATE into a memfd (a read after a later map
// change shows the state at create time), as a reader whose read() size is
// below one object's text sees it (each object starts a fresh buffer, so
// a buffer overflows only under one object's text); an error the kernel's
// read() would return (E2BIG for one object's text above the 32 KiB
// buffer, EAGAIN for a program returning non-zero) ends the text there
// instead; the maps walked are those this process has an fd of (the
// kernel walks every map of the system); iterator links have no ids.

#ifndef BPFEMU_EMU_BPF_ITER_H_
#define BPFEMU_EMU_BPF_ITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace bpfemu {

// The seq_file an iterator program writes (fs/seq_file.c seq_write and
// seq_bprintf on bpf_seq_read's buffer of PAGE_SIZE << 3 bytes).
class IterSeq {
 public:
  static constexpr size_t kSize = 8 * 4096;
  // Appends `n` bytes when count + n < size; otherwise marks the buffer
  // overflowed (seq_set_overflow) and returns false.
  bool Write(const void* data, size_t n);
  // The bytes a formatted write may fill (bstr_printf's size).
  size_t room() const { return overflowed() ? 0 : kSize - text_.size(); }
  bool overflowed() const { return overflow_; }
  size_t count() const { return text_.size(); }
  // Takes the buffer's bytes (bpf_seq_read's copy to the user), leaving it
  // empty.
  std::string Take();

 private:
  std::string text_;
  bool overflow_ = false;
};

class Map;

// kernel/bpf/map_iter.c bpf_map_sum_elem_count: the sum of the per-CPU
// element counters hash tables keep (kernel/bpf/hashtab.c inc_elem_count /
// dec_elem_count), i.e. their live elements; 0 for other map types, which
// keep none.
int64_t MapSumElemCount(const Map& map);

// The seq_file of the iterator run on this thread, or nullptr outside one
// (the seq helpers' check of their ARG_PTR_TO_BTF_ID argument).
IterSeq* CurrentIterSeq();

// The load-time check of an iterator program (kernel/bpf/verifier.c
// check_attach_btf_id, bpf_iter_prog_supported): attach_btf_id must be a
// FUNC of the kernel BTF named bpf_iter_<target> of a target bpfemu has.
// 0 or -EINVAL.
int IterProgCheck(uint32_t attach_btf_id);

// BPF_LINK_CREATE with attach_type BPF_TRACE_ITER (kernel/bpf/syscall.c
// link_create, bpf_iter.c bpf_iter_link_attach): -EBADF / -EINVAL for a
// program fd not open / not a program; -EINVAL for a program of another
// type or attach type than the one asked for,
// a target_fd or flags, iter_info and iter_info_len not both set or both
// zero; -E2BIG for non-zero bytes past union bpf_iter_link_info or more
// than a page of them (iter_info is this process's memory, read as given);
// -ENOENT for a program of no iterator target;
// bpf_map_elem: -EBADF for no map fd, the map fd's errors, -EINVAL for a
// map type it does not walk.
// A new link fd (O_CLOEXEC), or -errno.
int IterLinkCreate(int prog_fd, uint32_t attach_type, uint32_t target_fd,
                   uint32_t flags, const void* iter_info,
                   uint32_t iter_info_len);
// Whether `fd` is an iterator link of this process.
bool IsIterLinkFd(int fd);
// Forgets the link fd (on close); false if it is none.
bool ForgetIterLinkFd(int fd);

// BPF_ITER_CREATE (kernel/bpf/syscall.c bpf_iter_create, bpf_iter.c
// bpf_iter_new_fd): -EINVAL for flags, -EBADF for a closed fd, -EINVAL for
// an fd that is no iterator link. A new O_RDONLY | O_CLOEXEC fd holding the
// iterator's whole output, or -errno.
int IterCreate(int link_fd, uint32_t flags);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_BPF_ITER_H_
