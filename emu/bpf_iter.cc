// SPDX-License-Identifier: Apache-2.0
// File: bpf_iter.cc
//
// BPF iterators (bpf_iter.h): the links, the seq_file and the walk that
// kernel/bpf/bpf_iter.c (bpf_iter_link_attach, bpf_iter_new_fd,
// bpf_seq_read, bpf_iter_get_info, bpf_iter_run_prog) and
// kernel/bpf/map_iter.c (the bpf_map target, bpf_map_sum_elem_count) do.

#include "emu/bpf_iter.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "emu/errno.h"
#include "emu/fd_table.h"
#include "emu/hash_map.h"
#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/object_table.h"
#include "emu/prog.h"

namespace bpfemu {

namespace {

// union bpf_iter_link_info (include/uapi/linux/bpf.h, 6.12): map, cgroup
// and task members, 16 bytes.
constexpr uint32_t kIterLinkInfoSize = 16;
constexpr uint32_t kPageSize = 4096;

// include/linux/bpf.h struct bpf_iter_meta: seq, session_id, seq_num.
struct IterMeta {
  IterSeq* seq;
  uint64_t session_id;
  uint64_t seq_num;
};
static_assert(sizeof(IterMeta) == 24);

// The context of a map iterator program (map_iter.c struct
// bpf_iter__bpf_map, and struct bpf_iter__bpf_map_elem with the key and
// value), padded to the interpreter's tracing context (the u64 argument
// array; interp.h Program::ctx_size()).
struct IterMapCtx {
  IterMeta* meta;
  const void* map;
  const void* key;
  void* value;
  uint64_t unused[8];
};

enum class Target { kNone, kBpfMap, kBpfMapElem };

Target TargetOf(uint32_t attach_btf_id) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr || attach_btf_id == 0 ||
      btf->Kind(attach_btf_id) != BTF_KIND_FUNC) {
    return Target::kNone;
  }
  // BPF_ITER_FUNC_PREFIX "bpf_iter_", then the target's name.
  const std::string_view name = btf->Name(attach_btf_id);
  if (name == "bpf_iter_bpf_map") return Target::kBpfMap;
  if (name == "bpf_iter_bpf_map_elem") return Target::kBpfMapElem;
  return Target::kNone;
}

struct IterLink {
  uint32_t id = 0;
  std::shared_ptr<const Prog> prog;
  Target target = Target::kNone;
  std::shared_ptr<Map> map;  // bpf_map_elem: the map given at attach
};

bool IsPercpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// map_iter.c bpf_iter_attach_map(): the map of union bpf_iter_link_info
// (map.map_fd, its first u32; the copied-in bytes after zeroing), with a
// user reference. bpfemu does not check the program's key and value access
// sizes against the map's (the verifier's max_rdonly_access /
// max_rdwr_access: EACCES); the run stops at an access past them instead.
int AttachMap(const void* iter_info, uint32_t iter_info_len,
              std::shared_ptr<Map>* out) {
  uint32_t map_fd = 0;
  if (iter_info != nullptr) {
    std::memcpy(&map_fd, iter_info, std::min<uint32_t>(iter_info_len, 4));
  }
  if (map_fd == 0) return -EBADF;
  FdEntry e;
  if (int err = FdTable::Get().Find(static_cast<int>(map_fd), &e); err != 0) {
    return err;
  }
  const uint32_t t = e.map->type();
  if (!IsPercpu(t) && t != BPF_MAP_TYPE_HASH && t != BPF_MAP_TYPE_LRU_HASH &&
      t != BPF_MAP_TYPE_ARRAY) {
    return -EINVAL;
  }
  *out = std::move(e.map);
  return 0;
}

ObjectTable<IterLink>& Links() {
  static auto* table = new ObjectTable<IterLink>;
  return *table;
}

// The layout of the kernel's struct bpf_map (the running kernel's BTF,
// against which the program's CO-RE records were relocated): its size and
// the offsets of the members the stand-in fills (-1: absent).
struct MapLayout {
  size_t size = 0;
  int64_t map_type = -1, key_size = -1, value_size = -1, max_entries = -1,
          map_extra = -1, map_flags = -1, id = -1, name = -1;
};

const MapLayout& BpfMapLayout() {
  static const MapLayout layout = [] {
    MapLayout l;
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr) return l;
    const int32_t id = btf->FindByNameKind("bpf_map", BTF_KIND_STRUCT);
    if (id <= 0) return l;
    const int64_t size = btf->Size(static_cast<uint32_t>(id));
    if (size <= 0 || size > (1 << 16)) return l;
    l.size = static_cast<size_t>(size);
    const bool kflag = BTF_INFO_KFLAG(btf->Type(id)->info) != 0;
    uint16_t n = 0;
    const btf_member* m = btf->Members(static_cast<uint32_t>(id), &n);
    struct Want {
      std::string_view name;
      int64_t* off;
      size_t bytes;
    } want[] = {{"map_type", &l.map_type, 4},
                {"key_size", &l.key_size, 4},
                {"value_size", &l.value_size, 4},
                {"max_entries", &l.max_entries, 4},
                {"map_extra", &l.map_extra, 8},
                {"map_flags", &l.map_flags, 4},
                {"id", &l.id, 4},
                {"name", &l.name, 16}};
    for (uint16_t i = 0; i < n; ++i) {
      const uint32_t bits =
          kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
      if (bits % 8 != 0) continue;
      for (Want& w : want) {
        if (btf->Str(m[i].name_off) == w.name && bits / 8 + w.bytes <= l.size) {
          *w.off = bits / 8;
        }
      }
    }
    return l;
  }();
  return layout;
}

// The read-only struct bpf_map a program sees for `map`.
std::vector<uint64_t> MapStandIn(const Map& map) {
  const MapLayout& l = BpfMapLayout();
  std::vector<uint64_t> words((l.size + 7) / 8, 0);
  auto* base = reinterpret_cast<uint8_t*>(words.data());
  auto put = [base](int64_t off, const void* v, size_t n) {
    if (off >= 0) std::memcpy(base + off, v, n);
  };
  const uint32_t type = map.type(), key = map.key_size(),
                 value = map.value_size(), max = map.max_entries(),
                 flags = map.map_flags(), id = map.id();
  const uint64_t extra = map.header().map_extra;
  put(l.map_type, &type, 4);
  put(l.key_size, &key, 4);
  put(l.value_size, &value, 4);
  put(l.max_entries, &max, 4);
  put(l.map_extra, &extra, 8);
  put(l.map_flags, &flags, 4);
  put(l.id, &id, 4);
  put(l.name, map.header().name, BPF_OBJ_NAME_LEN);
  return words;
}

int64_t SumElemCount(const void* arg) {
  return MapSumElemCount(*static_cast<const Map*>(arg));
}

thread_local IterSeq* current_seq = nullptr;
std::atomic<uint64_t> session_ids{0};

// One open iterator (bpf_iter_priv_data) and its walk.
class IterSession {
 public:
  explicit IterSession(const IterLink& link)
      : link_(link), session_id_(session_ids.fetch_add(1) + 1) {}

  // bpf_seq_read() until the end: every object, then the stop call.
  std::string Run() {
    if (link_.target == Target::kBpfMapElem) return RunElems();
    uint32_t next = 0;
    bool first = true;
    for (;;) {
      // bpf_map_get_curr_or_next(): the live map with the smallest id at or
      // above `next`.
      const uint32_t id = FdTable::Get().NextId(next == 0 ? 0 : next - 1);
      if (id == 0) break;
      int fd;
      FdEntry e;
      next = id + 1;
      if (!FdTable::Get().FindById(id, &fd, &e)) continue;
      // A valid next object: bpf_iter_inc_seq_num().
      if (!first) ++seq_num_;
      first = false;
      if (!Show(e.map.get())) return Finish();
    }
    Show(nullptr);  // bpf_map_seq_stop() with no object
    return Finish();
  }

  // kernel/bpf/hashtab.c bpf_hash_map_seq_* and arraymap.c
  // bpf_array_map_seq_*: every element of the link's map in its
  // get_next_key order (hash buckets in order, array indexes), the key
  // read-only and the value the element's own (a per-CPU map's: a copy of
  // every CPU's value, each rounded up to 8 bytes), then the stop call with
  // the map and no element. The keys are taken before the first run: an
  // element the program deletes is not shown, one it adds is not shown
  // either (the kernel's walk may show it).
  std::string RunElems() {
    Map& map = *link_.map;
    const uint32_t key_size = map.key_size();
    std::vector<uint8_t> keys;
    std::vector<uint8_t> key(key_size), next(key_size);
    for (uint32_t n = 0; n <= map.max_entries(); ++n) {
      if (map.GetNextKey(n == 0 ? nullptr : key.data(), next.data()) != 0) {
        break;
      }
      keys.insert(keys.end(), next.begin(), next.end());
      key.swap(next);
    }
    const bool percpu = IsPercpu(map.type());
    std::vector<uint64_t> copy(percpu ? (map.SyscallValueSize() + 7) / 8 : 0);
    bool first = true;
    for (size_t off = 0; off < keys.size(); off += key_size) {
      const uint8_t* k = keys.data() + off;
      void* value;
      uint32_t value_size;
      if (percpu) {
        if (map.LookupElem(k, copy.data(), 0) != 0) continue;
        value = copy.data();
        value_size = map.SyscallValueSize();
      } else {
        value = map.LookupElemProg(k);
        if (value == nullptr) continue;
        value_size = map.value_size();
      }
      std::memcpy(key.data(), k, key_size);  // the program's read-only copy
      if (!first) ++seq_num_;
      first = false;
      if (!Show(&map, key.data(), key_size, value, value_size)) {
        return Finish();
      }
    }
    Show(&map, nullptr, 0, nullptr, 0);
    return Finish();
  }

 private:
  // __bpf_map_seq_show() within bpf_seq_read(), as a reader whose read()
  // size is no larger than one object's text sees it: each object's text
  // starts a fresh buffer (the text before it went to the reader). A show
  // that overflows the buffer (E2BIG) or fails (the program returned
  // non-zero: EAGAIN) ends the output. False when the walk ends.
  bool Show(const Map* map, const void* key = nullptr, uint32_t key_size = 0,
            void* value = nullptr, uint32_t value_size = 0) {
    out_ += seq_.Take();
    const int err = RunProg(map, key, key_size, value, value_size);
    if (err == 0 && !seq_.overflowed()) return true;
    (void)seq_.Take();  // not read: the read() fails there
    return false;
  }

  int RunProg(const Map* map, const void* key, uint32_t key_size, void* value,
              uint32_t value_size) {
    IterMeta meta = {&seq_, session_id_, seq_num_};
    std::vector<uint64_t> stand_in;
    if (map != nullptr) stand_in = MapStandIn(*map);
    IterMapCtx ctx = {};
    ctx.meta = &meta;
    ctx.map = map != nullptr ? stand_in.data() : nullptr;
    ctx.key = key;
    ctx.value = value;
    auto range = [](const void* p, size_t n, bool writable) {
      const auto lo = reinterpret_cast<uint64_t>(p);
      return interp::ObjectRange{lo, lo + n, writable};
    };
    const interp::ObjectRange objects[] = {
        range(&meta, sizeof(meta), false),
        range(stand_in.data(), stand_in.size() * 8, false),
        range(key, key_size, false), range(value, value_size, true)};
    const BtfMapObject obj = {ctx.map, &SumElemCount, map};
    interp::SetRunObjects(objects, 4);
    SetCurrentBtfMap(map != nullptr ? &obj : nullptr);
    IterSeq* const outer = current_seq;
    current_seq = &seq_;
    const uint32_t ret = ProgRun(*link_.prog, &ctx);
    current_seq = outer;
    SetCurrentBtfMap(nullptr);
    interp::SetRunObjects(nullptr, 0);
    // bpf_iter_run_prog(): 0 continues, anything else is -EAGAIN; a run
    // the interpreter stopped is a program the verifier would refuse.
    return ret == 0 && !ProgFaulted() ? 0 : -EAGAIN;
  }

  std::string Finish() {
    out_ += seq_.Take();
    return std::move(out_);
  }

  const IterLink& link_;
  const uint64_t session_id_;
  uint64_t seq_num_ = 0;
  IterSeq seq_;
  std::string out_;
};

}  // namespace

bool IterSeq::Write(const void* data, size_t n) {
  if (!overflow_ && text_.size() + n < kSize) {
    text_.append(static_cast<const char*>(data), n);
    return true;
  }
  overflow_ = true;
  return false;
}

std::string IterSeq::Take() {
  std::string t = std::move(text_);
  text_.clear();
  overflow_ = false;
  return t;
}

int64_t MapSumElemCount(const Map& map) {
  const auto* hash = dynamic_cast<const HashMap*>(&map);
  return hash != nullptr ? int64_t{hash->count()} : 0;
}

IterSeq* CurrentIterSeq() { return current_seq; }

int IterProgCheck(uint32_t attach_btf_id) {
  return TargetOf(attach_btf_id) == Target::kNone ? -EINVAL : 0;
}

int IterLinkCreate(int prog_fd, uint32_t attach_type, uint32_t target_fd,
                   uint32_t flags, const void* iter_info,
                   uint32_t iter_info_len) {
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(prog_fd, &prog); err != 0) return err;
  // link_create(): a tracing program links with its own attach type.
  if (prog->type != BPF_PROG_TYPE_TRACING ||
      prog->expected_attach_type != attach_type ||
      attach_type != BPF_TRACE_ITER) {
    return -EINVAL;
  }
  // bpf_iter_link_attach().
  if (target_fd != 0 || flags != 0) return -EINVAL;
  if ((iter_info == nullptr) != (iter_info_len == 0)) return -EINVAL;
  if (iter_info != nullptr) {
    // bpf_check_uarg_tail_zero().
    if (iter_info_len > kPageSize) return -E2BIG;
    const auto* b = static_cast<const uint8_t*>(iter_info);
    for (uint32_t i = kIterLinkInfoSize; i < iter_info_len; ++i) {
      if (b[i] != 0) return -E2BIG;
    }
  }
  const Target target = TargetOf(prog->attach_btf_id);
  if (target == Target::kNone) return -ENOENT;
  auto link = std::make_shared<IterLink>();
  if (target == Target::kBpfMapElem) {
    if (int err = AttachMap(iter_info, iter_info_len, &link->map); err != 0) {
      return err;
    }
  }
  link->prog = std::move(prog);
  link->target = target;
  static std::atomic<uint32_t> link_ids{0};
  link->id = link_ids.fetch_add(1) + 1;
  const int fd = memfd_create("bpfemu-link", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  Links().Add(fd, std::move(link));
  return fd;
}

bool IsIterLinkFd(int fd) { return Links().ByFd(fd) != nullptr; }

bool ForgetIterLinkFd(int fd) { return Links().EraseFd(fd); }

int IterCreate(int link_fd, uint32_t flags) {
  if (flags != 0) return -EINVAL;
  std::shared_ptr<const IterLink> link = Links().ByFd(link_fd);
  if (link == nullptr) return WrongFdErrno(link_fd);
  const std::string text = IterSession(*link).Run();
  const int fd = memfd_create("bpf_iter", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      close(fd);
      return -err;
    }
    done += static_cast<size_t>(n);
  }
  // The kernel's file is O_RDONLY: reopen the memfd read-only.
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const int ro = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  close(fd);
  return ro < 0 ? -errno : ro;
}

}  // namespace bpfemu
