// SPDX-License-Identifier: Apache-2.0
// libbpf's line-info lookup (tools/lib/bpf/bpf_prog_linfo.c, libbpf
// 1.1.2: bpf_prog_linfo__new / free / lfind / lfind_addr_func). It works on
// a struct bpf_prog_info the caller filled (from BPF_OBJ_GET_INFO_BY_FD,
// with the line_info / jited_line_info / jited_ksyms / jited_func_lens
// arrays it asked for), so it needs nothing from the emulator: it copies
// the xlated records and, when the info has everything for it, the jited
// addresses, and splits those per jited function.
//
// Answers as libbpf's: new() gives NULL with errno EINVAL without line
// info, for records shorter than the part searched (insn_off,
// file_name_off), or for jited addresses that are not one increasing run
// per function starting at each function's symbol; the lookups give NULL
// with errno ENOENT when nothing is at or before the offset. With no
// jited info, lfind_addr_func finds nothing (ENOENT), as libbpf.

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

struct bpf_prog_linfo {
  std::vector<uint8_t> linfo;  // nr_linfo records of rec_size bytes
  std::vector<uint8_t> jited;  // nr_linfo records of jited_rec_size bytes
  std::vector<uint32_t> per_func_count;  // jited records of each function
  std::vector<uint32_t> func_start;      // each function's first record
  uint32_t nr_linfo = 0;
  uint32_t rec_size = 0;
  uint32_t jited_rec_size = 0;
  uint32_t nr_jited_func = 0;
};

namespace {

uint64_t JitedAddr(const bpf_prog_linfo* p, uint32_t i) {
  uint64_t a;
  std::memcpy(&a, p->jited.data() + static_cast<size_t>(i) * p->jited_rec_size,
              sizeof(a));
  return a;
}

uint32_t InsnOff(const bpf_prog_linfo* p, uint32_t i) {
  uint32_t off;
  std::memcpy(&off,
              p->linfo.data() + static_cast<size_t>(i) * p->rec_size +
                  offsetof(bpf_line_info, insn_off),
              sizeof(off));
  return off;
}

const bpf_line_info* Record(const bpf_prog_linfo* p, uint32_t i) {
  return reinterpret_cast<const bpf_line_info*>(
      p->linfo.data() + static_cast<size_t>(i) * p->rec_size);
}

// Splits the jited records among the functions: function f's records
// start where its symbol address appears, addresses rise strictly within
// a function, and the last address of a function lies inside its length.
bool SplitPerFunction(bpf_prog_linfo* p, const uint64_t* ksyms,
                      const uint32_t* lens) {
  if (ksyms[0] != JitedAddr(p, 0)) return false;
  p->func_start[0] = 0;
  uint32_t f = 1;
  uint32_t prev_start = 0;
  for (uint32_t i = 1; i < p->nr_linfo && f < p->nr_jited_func; ++i) {
    const uint64_t last = JitedAddr(p, i - 1);
    const uint64_t addr = JitedAddr(p, i);
    if (addr == ksyms[f]) {
      if (last - ksyms[f - 1] + 1 > lens[f - 1]) return false;
      p->func_start[f] = i;
      p->per_func_count[f - 1] = i - prev_start;
      prev_start = i;
      ++f;
    } else if (addr <= last) {
      return false;
    }
  }
  if (f != p->nr_jited_func) return false;
  p->per_func_count[p->nr_jited_func - 1] = p->nr_linfo - prev_start;
  return true;
}

template <typename T>
T* Fail(int err) {
  errno = err;
  return nullptr;
}

}  // namespace

extern "C" {

void bpf_prog_linfo__free(struct bpf_prog_linfo* prog_linfo) {
  delete prog_linfo;
}

struct bpf_prog_linfo* bpf_prog_linfo__new(const struct bpf_prog_info* info) {
  const uint32_t nr = info->nr_line_info;
  if (nr == 0) return Fail<bpf_prog_linfo>(EINVAL);
  if (info->line_info_rec_size < offsetof(bpf_line_info, file_name_off)) {
    return Fail<bpf_prog_linfo>(EINVAL);
  }
  auto* p = new (std::nothrow) bpf_prog_linfo;
  if (p == nullptr) return Fail<bpf_prog_linfo>(ENOMEM);
  p->nr_linfo = nr;
  p->rec_size = info->line_info_rec_size;
  const uint64_t size = static_cast<uint64_t>(nr) * p->rec_size;
  const auto* src =
      reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(info->line_info));
  p->linfo.assign(src, src + size);

  const uint32_t nr_func = info->nr_jited_ksyms;
  if (nr_func == 0 || info->jited_line_info == 0 ||
      info->nr_jited_line_info != nr ||
      info->jited_line_info_rec_size < sizeof(uint64_t) ||
      info->nr_jited_func_lens != nr_func || info->jited_ksyms == 0 ||
      info->jited_func_lens == 0) {
    return p;  // no usable jited info: the xlated lookups only
  }
  p->nr_jited_func = nr_func;
  p->jited_rec_size = info->jited_line_info_rec_size;
  const auto* jsrc = reinterpret_cast<const uint8_t*>(
      static_cast<uintptr_t>(info->jited_line_info));
  p->jited.assign(jsrc, jsrc + static_cast<uint64_t>(nr) * p->jited_rec_size);
  p->per_func_count.assign(nr_func, 0);
  p->func_start.assign(nr_func, 0);
  if (!SplitPerFunction(p,
                        reinterpret_cast<const uint64_t*>(
                            static_cast<uintptr_t>(info->jited_ksyms)),
                        reinterpret_cast<const uint32_t*>(
                            static_cast<uintptr_t>(info->jited_func_lens)))) {
    delete p;
    return Fail<bpf_prog_linfo>(EINVAL);
  }
  return p;
}

const struct bpf_line_info* bpf_prog_linfo__lfind(
    const struct bpf_prog_linfo* prog_linfo, __u32 insn_off, __u32 nr_skip) {
  const bpf_prog_linfo* p = prog_linfo;
  if (nr_skip >= p->nr_linfo) return Fail<const bpf_line_info>(ENOENT);
  if (insn_off < InsnOff(p, nr_skip)) return Fail<const bpf_line_info>(ENOENT);
  // The last record at or before insn_off, from nr_skip on.
  uint32_t i = nr_skip;
  while (i + 1 < p->nr_linfo && InsnOff(p, i + 1) <= insn_off) ++i;
  return Record(p, i);
}

const struct bpf_line_info* bpf_prog_linfo__lfind_addr_func(
    const struct bpf_prog_linfo* prog_linfo, __u64 addr, __u32 func_idx,
    __u32 nr_skip) {
  const bpf_prog_linfo* p = prog_linfo;
  if (func_idx >= p->nr_jited_func) return Fail<const bpf_line_info>(ENOENT);
  const uint32_t count = p->per_func_count[func_idx];
  if (nr_skip >= count) return Fail<const bpf_line_info>(ENOENT);
  const uint32_t start = p->func_start[func_idx] + nr_skip;
  if (addr < JitedAddr(p, start)) return Fail<const bpf_line_info>(ENOENT);
  // The last of the function's records whose address is at or below addr.
  uint32_t i = start;
  const uint32_t end = start + (count - nr_skip);
  while (i + 1 < end && JitedAddr(p, i + 1) <= addr) ++i;
  return Record(p, i);
}

}  // extern "C"
