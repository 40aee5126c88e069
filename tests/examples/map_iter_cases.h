// SPDX-License-Identifier: Apache-2.0
// tests/examples/map_iter.bpf.c's run, the same on the kernel (real libbpf)
// and on bpfemu (emu/syscall.h, loader/object.h, emu/bpf_iter.h): maps of
// the hash family and an array made and filled, the iterator loaded with
// their ids, attached, created and read; then the link and iterator
// commands' refusals. The text the iterator printed and one line per
// refusal are the answers map_iter_compare_test.cc compares and
// testdata/map_iter.expected records.

#ifndef BPFEMU_TESTS_EXAMPLES_MAP_ITER_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_MAP_ITER_CASES_H_

#include <linux/bpf.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace bpfemu::examples {

struct MapIterMap {
  const char* name;
  uint32_t type, key_size, value_size, max_entries, map_flags;
  uint32_t inserted, deleted;  // keys 0..inserted-1, then 0..deleted-1 go
};

// Hash tables keep per-CPU element counters (kernel/bpf/hashtab.c), which
// bpf_map_sum_elem_count sums; an array has none (0).
inline constexpr MapIterMap kMapIterMaps[] = {
    {"it_hash", BPF_MAP_TYPE_HASH, 4, 8, 16, 0, 5, 1},
    {"it_nopre", BPF_MAP_TYPE_HASH, 4, 4, 8, BPF_F_NO_PREALLOC, 3, 0},
    {"it_pcpu", BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 8, 0, 2, 0},
    {"it_lru", BPF_MAP_TYPE_LRU_HASH, 4, 4, 32, 0, 4, 2},
    {"it_lru_pcpu", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 32, 0, 3, 0},
    {"it_array", BPF_MAP_TYPE_ARRAY, 4, 4, 3, 0, 0, 0},
};
inline constexpr int kMapIterIds = 6;  // map_iter.bpf.c NR_IDS
static_assert(sizeof(kMapIterMaps) / sizeof(kMapIterMaps[0]) == kMapIterIds);

// map_iter.bpf.c's `args` (its .bss).
struct MapIterArgs {
  uint32_t ids[kMapIterIds];
  uint32_t matched;
  uint32_t chunks[kMapIterIds];
  int64_t first_err;
  uint32_t btf_ids[2];
  int64_t btf_rets[8];
};

// One side's bpf(): each returns the kernel's value (an fd, 0) or -errno.
struct MapIterApi {
  std::function<int(const MapIterMap&)> map_create;
  std::function<int(int fd, const void* key, const void* value)> update;
  std::function<int(int fd, const void* key)> remove;
  std::function<uint32_t(int fd)> map_id;
  // Opens and loads map_iter.bpf.o with `args` as its .bss: the fd of
  // program `prog`, and in *bss_fd the .bss map's.
  std::function<int(const MapIterArgs& args, const char* prog, int* bss_fd)>
      load;
  std::function<int(int fd, const void* key, void* value)> lookup;
  std::function<int(int prog_fd, uint32_t attach_type, uint32_t target_fd,
                    uint32_t flags, const void* info, uint32_t info_len)>
      link_create;
  std::function<int(int link_fd)> iter_create;
  std::function<void(int fd)> close_fd;
  // BPF_PROG_LOAD of a GPL program: an fd or -errno.
  std::function<int(uint32_t prog_type, uint32_t expected_attach_type,
                    uint32_t attach_btf_id, const std::vector<bpf_insn>& insns)>
      prog_load;
  // The kernel BTF id of FUNC `name` (0: none).
  std::function<uint32_t(const char* name)> func_id;
  // The kernel BTF id of STRUCT `name` (0: none).
  std::function<uint32_t(const char* name)> struct_id;
};

// Everything a read of `fd` yields.
inline std::string ReadAll(int fd) {
  std::string text;
  char buf[512];  // below the iterator's buffer: several reads
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// "<char>x<count>" for each run of one byte in `text`.
inline std::string RunLengths(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t j = i;
    while (j < text.size() && text[j] == text[i]) ++j;
    const char c = text[i] == '\n' ? '|' : text[i];
    out +=
        std::string(out.empty() ? "" : " ") + c + "x" + std::to_string(j - i);
    i = j;
  }
  return out;
}

// The answers, one per line: dump_maps' text (read twice), write_chunks'
// text as run lengths with its first refused write, then "<case> <ret>"
// for each refused command.
inline std::vector<std::string> RunMapIter(const MapIterApi& api) {
  std::vector<std::string> out;
  std::vector<int> fds;
  uint32_t ids[kMapIterIds] = {};
  static const uint8_t kZero[1 << 16] = {};  // any value, per-CPU ones too
  for (int i = 0; i < kMapIterIds; ++i) {
    const MapIterMap& m = kMapIterMaps[i];
    const int fd = api.map_create(m);
    if (fd < 0) {
      out.push_back(std::string("map_create ") + m.name + " " +
                    std::to_string(fd));
      continue;
    }
    fds.push_back(fd);
    for (uint32_t k = 0; k < m.inserted; ++k) {
      if (int err = api.update(fd, &k, kZero); err != 0) {
        out.push_back("update " + std::to_string(err));
      }
    }
    for (uint32_t k = 0; k < m.deleted; ++k) {
      if (int err = api.remove(fd, &k); err != 0) {
        out.push_back("delete " + std::to_string(err));
      }
    }
    ids[i] = api.map_id(fd);
  }
  MapIterArgs args = {};
  std::memcpy(args.ids, ids, sizeof(ids));
  int bss = -1;
  const int prog = api.load(args, "dump_maps", &bss);
  if (prog < 0) {
    out.push_back("load " + std::to_string(prog));
    for (int fd : fds) api.close_fd(fd);
    return out;
  }
  if (bss >= 0) api.close_fd(bss);
  const int link = api.link_create(prog, BPF_TRACE_ITER, 0, 0, nullptr, 0);
  if (link < 0) out.push_back("link_create " + std::to_string(link));
  for (int round = 0; round < 2 && link >= 0; ++round) {
    const int it = api.iter_create(link);
    if (it < 0) {
      out.push_back("iter_create " + std::to_string(it));
      break;
    }
    std::istringstream text(ReadAll(it));
    for (std::string l; std::getline(text, l);) out.push_back(l);
    api.close_fd(it);
  }
  // write_chunks through the 32 KiB buffer: every map's text once, in
  // order, across buffers; then one map's text above a whole buffer.
  const uint32_t kChunks[][kMapIterIds] = {{40, 40, 40, 40, 40, 40},
                                           {20, 20, 130, 20, 20, 20}};
  for (const auto& chunks : kChunks) {
    std::memcpy(args.chunks, chunks, sizeof(args.chunks));
    const int p = api.load(args, "write_chunks", &bss);
    const int l =
        p < 0 ? p : api.link_create(p, BPF_TRACE_ITER, 0, 0, nullptr, 0);
    const int it = l < 0 ? l : api.iter_create(l);
    if (it < 0) {
      out.push_back("write_chunks " + std::to_string(it));
    } else {
      out.push_back("write_chunks " + RunLengths(ReadAll(it)));
      MapIterArgs after = {};
      const uint32_t zero = 0;
      if (api.lookup(bss, &zero, &after) == 0) {
        out.push_back("first_err " + std::to_string(after.first_err));
      }
      api.close_fd(it);
    }
    for (int fd : {l, p, bss}) {
      if (fd >= 0) api.close_fd(fd);
    }
  }
  // show_btf: the text bpf_seq_printf_btf wrote, line by line, and what
  // each call returned.
  args.btf_ids[0] = api.struct_id("iphdr");
  args.btf_ids[1] = api.struct_id("list_head");
  {
    const int p = api.load(args, "show_btf", &bss);
    const int l =
        p < 0 ? p : api.link_create(p, BPF_TRACE_ITER, 0, 0, nullptr, 0);
    const int it = l < 0 ? l : api.iter_create(l);
    if (it < 0) {
      out.push_back("show_btf " + std::to_string(it));
    } else {
      std::istringstream text(ReadAll(it));
      for (std::string line; std::getline(text, line);) {
        out.push_back("show_btf " + line);
      }
      MapIterArgs after = {};
      const uint32_t zero = 0;
      if (api.lookup(bss, &zero, &after) == 0) {
        std::string rets = "btf_rets";
        for (int64_t r : after.btf_rets) rets += " " + std::to_string(r);
        out.push_back(rets);
      }
      api.close_fd(it);
    }
    for (int fd : {l, p, bss}) {
      if (fd >= 0) api.close_fd(fd);
    }
  }
  // The refusals (kernel/bpf/syscall.c link_create, bpf_iter.c
  // bpf_iter_link_attach, bpf_iter_create).
  auto note = [&out](const char* what, int ret) {
    out.push_back(std::string(what) + " " + std::to_string(ret));
  };
  uint8_t info[32] = {};
  note("link_create_fentry",
       api.link_create(prog, BPF_TRACE_FENTRY, 0, 0, nullptr, 0));
  note("link_create_flags",
       api.link_create(prog, BPF_TRACE_ITER, 0, 1, nullptr, 0));
  note("link_create_target_fd",
       api.link_create(prog, BPF_TRACE_ITER, 1, 0, nullptr, 0));
  note("link_create_info_no_len",
       api.link_create(prog, BPF_TRACE_ITER, 0, 0, info, 0));
  note("link_create_len_no_info",
       api.link_create(prog, BPF_TRACE_ITER, 0, 0, nullptr, 8));
  const int zeroed = api.link_create(prog, BPF_TRACE_ITER, 0, 0, info, 32);
  note("link_create_zero_tail", zeroed >= 0 ? 0 : zeroed);
  if (zeroed >= 0) api.close_fd(zeroed);
  info[20] = 1;
  note("link_create_tail",
       api.link_create(prog, BPF_TRACE_ITER, 0, 0, info, 32));
  note("link_create_map_fd", api.link_create(fds.empty() ? -1 : fds[0],
                                             BPF_TRACE_ITER, 0, 0, nullptr, 0));
  note("iter_create_map_fd", api.iter_create(fds.empty() ? -1 : fds[0]));
  note("iter_create_prog_fd", api.iter_create(prog));
  note("iter_create_closed_fd", api.iter_create(1 << 20));
  // Loads (kernel/bpf/verifier.c check_attach_btf_id,
  // bpf_iter_prog_supported; tracing_prog_func_proto offers the seq
  // helpers to iterators only).
  const std::vector<bpf_insn> ret0 = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  const std::vector<bpf_insn> seq_write = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_seq_write},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  // bpf_seq_write(ctx->meta->seq, &zero_u64_on_stack, 8).
  const std::vector<bpf_insn> seq_write_ctx = {
      {BPF_LDX | BPF_MEM | BPF_DW, 2, 1, 0, 0},
      {BPF_LDX | BPF_MEM | BPF_DW, 1, 2, 0, 0},
      {BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8},
      {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 8},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_seq_write},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  auto load = [&](const char* what, uint32_t type, uint32_t eat, uint32_t btf,
                  const std::vector<bpf_insn>& insns) {
    const int fd = api.prog_load(type, eat, btf, insns);
    note(what, fd >= 0 ? 0 : fd);
    if (fd >= 0) api.close_fd(fd);
  };
  const uint32_t map_iter = api.func_id("bpf_iter_bpf_map");
  const uint32_t tracing = BPF_PROG_TYPE_TRACING;
  load("load_iter", tracing, BPF_TRACE_ITER, map_iter, ret0);
  load("load_iter_seq_write", tracing, BPF_TRACE_ITER, map_iter, seq_write_ctx);
  load("load_iter_no_btf_id", tracing, BPF_TRACE_ITER, 0, ret0);
  load("load_iter_not_a_target", tracing, BPF_TRACE_ITER,
       api.func_id("bpf_iter_num_new"), ret0);
  load("load_kprobe", BPF_PROG_TYPE_KPROBE, 0, 0, ret0);
  load("load_kprobe_seq_write", BPF_PROG_TYPE_KPROBE, 0, 0, seq_write);
  if (link >= 0) api.close_fd(link);
  api.close_fd(prog);
  for (int fd : fds) api.close_fd(fd);
  return out;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_MAP_ITER_CASES_H_
