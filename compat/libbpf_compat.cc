// SPDX-License-Identifier: Apache-2.0
// libbpf 1.x's userspace API for maps and objects (src/bpf.c, src/libbpf.c,
// src/libbpf_errno.c) over the emulator: the body of libbpfemu. A program
// written against <bpf/bpf.h> and <bpf/libbpf.h> links this instead of
// -lbpf and runs unprivileged on emulated maps. It defines libbpf's own
// symbol names, so it is never linked together with real libbpf.
//
// Conventions are libbpf's: int-returning calls give a negative errno and
// also set errno; pointer-returning calls give NULL and set errno.
//
// Programs: bpf_prog_load() takes raw instructions, which run in bpfemu's
// interpreter (emu/interp.h). Objects: bpf_object__open_file() opens the
// natively built source registered under the file's name if this binary
// links one (loader/defs.bzl bpf_object()) and BPFEMU_INTERP is not set;
// otherwise it reads the .bpf.o itself and runs its bytecode, as do
// bpf_object__open_mem() and libbpf skeletons (bpftool gen skeleton).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "compat/libbpf_conventions.h"
#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "loader/bytecode.h"
#include "loader/elf_object.h"
#include "loader/object.h"
#include "loader/test_run.h"

extern "C" int __xpg_strerror_r(int errnum, char* buf, size_t buflen);

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;

namespace {

// ensure_good_fd(): libbpf never hands out fds 0-2 for BPF objects.
int GoodFd(int fd) {
  if (fd >= 0 && fd < 3) {
    // The copy refers to the same map with the same access: a BPF_F_RDONLY
    // fd that landed on 0-2 stays read-only. A program fd is copied as a
    // program (it used to be refused as "not a map" and closed, so
    // bpf_prog_load with stdin closed failed with EINVAL).
    int copy = bpfemu::DupMapFd(fd, 3);
    if (copy == -EINVAL) copy = bpfemu::DupProgFd(fd, 3);
    bpfemu::CloseFd(fd);
    return copy;
  }
  return fd;
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

}  // namespace

extern "C" {

int bpf_map_create(enum bpf_map_type map_type, const char* map_name,
                   __u32 key_size, __u32 value_size, __u32 max_entries,
                   const struct bpf_map_create_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  bpfemu::MapAttr attr;
  attr.map_type = map_type;
  attr.key_size = key_size;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  if (map_name != nullptr) {
    // libbpf_strlcpy: at most 15 characters and a NUL.
    std::strncpy(attr.map_name, map_name, sizeof(attr.map_name) - 1);
  }
  attr.btf_fd = BPFEMU_OPTS_GET(opts, btf_fd, 0u);
  attr.btf_key_type_id = BPFEMU_OPTS_GET(opts, btf_key_type_id, 0u);
  attr.btf_value_type_id = BPFEMU_OPTS_GET(opts, btf_value_type_id, 0u);
  attr.btf_vmlinux_value_type_id =
      BPFEMU_OPTS_GET(opts, btf_vmlinux_value_type_id, 0u);
  attr.inner_map_fd = BPFEMU_OPTS_GET(opts, inner_map_fd, 0u);
  attr.map_flags = BPFEMU_OPTS_GET(opts, map_flags, 0u);
  attr.map_extra = BPFEMU_OPTS_GET(opts, map_extra, uint64_t{0});
  attr.numa_node = BPFEMU_OPTS_GET(opts, numa_node, 0u);
  attr.map_ifindex = BPFEMU_OPTS_GET(opts, map_ifindex, 0u);
  return LibbpfErr(GoodFd(bpfemu::MapCreate(attr)));
}

int bpf_map_update_elem(int fd, const void* key, const void* value,
                        __u64 flags) {
  return LibbpfErr(bpfemu::MapUpdateElem(fd, key, value, flags));
}

int bpf_map_lookup_elem(int fd, const void* key, void* value) {
  return LibbpfErr(bpfemu::MapLookupElem(fd, key, value, 0));
}

int bpf_map_lookup_elem_flags(int fd, const void* key, void* value,
                              __u64 flags) {
  return LibbpfErr(bpfemu::MapLookupElem(fd, key, value, flags));
}

int bpf_map_lookup_and_delete_elem(int fd, const void* key, void* value) {
  return LibbpfErr(bpfemu::MapLookupAndDeleteElem(fd, key, value, 0));
}

int bpf_map_lookup_and_delete_elem_flags(int fd, const void* key, void* value,
                                         __u64 flags) {
  return LibbpfErr(bpfemu::MapLookupAndDeleteElem(fd, key, value, flags));
}

int bpf_map_delete_elem(int fd, const void* key) {
  return LibbpfErr(bpfemu::MapDeleteElem(fd, key));
}

int bpf_map_delete_elem_flags(int fd, const void* key, __u64 flags) {
  // map_delete_elem() accepts no flags from userspace (CHECK_ATTR).
  if (flags != 0) return LibbpfErr(-EINVAL);
  return LibbpfErr(bpfemu::MapDeleteElem(fd, key));
}

int bpf_map_get_next_key(int fd, const void* key, void* next_key) {
  return LibbpfErr(bpfemu::MapGetNextKey(fd, key, next_key));
}

int bpf_map_delete_batch(int fd, const void* keys, __u32* count,
                         const struct bpf_map_batch_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  return LibbpfErr(bpfemu::MapDeleteBatch(
      fd, keys, count, BPFEMU_OPTS_GET(opts, elem_flags, uint64_t{0}),
      BPFEMU_OPTS_GET(opts, flags, uint64_t{0})));
}

int bpf_map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys,
                         void* values, __u32* count,
                         const struct bpf_map_batch_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  return LibbpfErr(
      bpfemu::MapLookupBatch(fd, in_batch, out_batch, keys, values, count,
                             BPFEMU_OPTS_GET(opts, elem_flags, uint64_t{0}),
                             BPFEMU_OPTS_GET(opts, flags, uint64_t{0})));
}

int bpf_map_lookup_and_delete_batch(int fd, void* in_batch, void* out_batch,
                                    void* keys, void* values, __u32* count,
                                    const struct bpf_map_batch_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  return LibbpfErr(bpfemu::MapLookupAndDeleteBatch(
      fd, in_batch, out_batch, keys, values, count,
      BPFEMU_OPTS_GET(opts, elem_flags, uint64_t{0}),
      BPFEMU_OPTS_GET(opts, flags, uint64_t{0})));
}

int bpf_map_update_batch(int fd, const void* keys, const void* values,
                         __u32* count, const struct bpf_map_batch_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  return LibbpfErr(bpfemu::MapUpdateBatch(
      fd, keys, values, count, BPFEMU_OPTS_GET(opts, elem_flags, uint64_t{0}),
      BPFEMU_OPTS_GET(opts, flags, uint64_t{0})));
}

int bpf_map_freeze(int fd) { return LibbpfErr(bpfemu::MapFreeze(fd)); }

int bpf_obj_pin(int fd, const char* pathname) {
  return LibbpfErr(bpfemu::ObjPin(fd, pathname));
}

int bpf_obj_get_opts(const char* pathname,
                     const struct bpf_obj_get_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  return LibbpfErr(
      GoodFd(bpfemu::ObjGet(pathname, BPFEMU_OPTS_GET(opts, file_flags, 0u))));
}

int bpf_obj_get(const char* pathname) {
  return bpf_obj_get_opts(pathname, nullptr);
}

int bpf_obj_get_info_by_fd(int bpf_fd, void* info, __u32* info_len) {
  std::shared_ptr<const bpfemu::Prog> prog;
  if (bpfemu::MapFromFd(bpf_fd) == nullptr &&
      bpfemu::ProgFromFd(bpf_fd, &prog) == 0) {
    // Programs: type, id and name (struct bpf_prog_info).
    if (info == nullptr || info_len == nullptr) return LibbpfErr(-EFAULT);
    bpf_prog_info out = {};
    out.type = prog->type;
    out.id = prog->id;
    std::strncpy(out.name, prog->name.c_str(), sizeof(out.name) - 1);
    const __u32 n = std::min<__u32>(*info_len, sizeof(out));
    std::memcpy(info, &out, n);
    *info_len = n;
    return 0;
  }
  return LibbpfErr(bpfemu::MapGetInfoByFd(bpf_fd, info, info_len));
}

int bpf_map_get_info_by_fd(int map_fd, struct bpf_map_info* info,
                           __u32* info_len) {
  return LibbpfErr(bpfemu::MapGetInfoByFd(map_fd, info, info_len));
}

int bpf_map_get_fd_by_id_opts(__u32 id,
                              const struct bpf_get_fd_by_id_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  return LibbpfErr(
      GoodFd(bpfemu::MapGetFdById(id, BPFEMU_OPTS_GET(opts, open_flags, 0u))));
}

int bpf_map_get_fd_by_id(__u32 id) {
  return bpf_map_get_fd_by_id_opts(id, nullptr);
}

int bpf_map_get_next_id(__u32 start_id, __u32* next_id) {
  return LibbpfErr(bpfemu::MapGetNextId(start_id, next_id));
}

int libbpf_num_possible_cpus(void) { return bpfemu::NumPossibleCpus(); }

int libbpf_strerror(int err, char* buf, size_t size) {
  static const char* const kMessages[] = {
      "Something wrong in libelf",
      "BPF object format invalid",
      "'version' section incorrect or lost",
      "Endian mismatch",
      "Internal error in libbpf",
      "Relocation failed",
      "Kernel verifier blocks program loading",
      "Program too big",
      "Incorrect kernel version",
      "Kernel doesn't support this program type",
      "Wrong pid in netlink message",
      "Invalid netlink sequence",
      "Incorrect netlink message parsing",
  };
  if (buf == nullptr || size == 0) return LibbpfErr(-EINVAL);
  err = err > 0 ? err : -err;
  if (err < __LIBBPF_ERRNO__START) {
    // libbpf is built without _GNU_SOURCE: the XSI strerror_r, whose
    // positive error code libbpf passes through (libbpf_err_errno).
    const int ret = __xpg_strerror_r(err, buf, size);
    buf[size - 1] = '\0';
    return ret;
  }
  int ret;
  if (err < __LIBBPF_ERRNO__END) {
    ret =
        std::snprintf(buf, size, "%s", kMessages[err - __LIBBPF_ERRNO__START]);
    buf[size - 1] = '\0';
    return static_cast<size_t>(ret) >= size ? LibbpfErr(-ERANGE) : 0;
  }
  ret = std::snprintf(buf, size, "Unknown libbpf error %d", err);
  buf[size - 1] = '\0';
  if (static_cast<size_t>(ret) >= size) return LibbpfErr(-ERANGE);
  return LibbpfErr(-ENOENT);
}

// bpf_prog_load(): raw instructions for the interpreter. The verifier log
// gets one line naming the check that refused the program.
int bpf_prog_load(enum bpf_prog_type prog_type, const char* prog_name,
                  const char* license, const struct bpf_insn* insns,
                  size_t insn_cnt, const struct bpf_prog_load_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (insn_cnt > bpfemu::interp::kMaxInsns) return LibbpfErr(-E2BIG);
  const uint32_t attach = opts != nullptr ? opts->expected_attach_type : 0;
  const int fd = bpfemu::native::ProgLoadBytecode(
      prog_type, attach, prog_name != nullptr ? prog_name : "",
      reinterpret_cast<const bpfemu::interp::RawInsn*>(insns),
      static_cast<uint32_t>(insn_cnt), license);
  if (fd < 0) {
    if (opts != nullptr && opts->log_buf != nullptr && opts->log_size > 0) {
      std::snprintf(
          opts->log_buf, opts->log_size,
          "bpfemu: the program was refused at load (errno %d); "
          "bpfemu checks structure, not types (docs/interpreter.md)\n",
          -fd);
    }
    return LibbpfErr(fd);
  }
  return LibbpfErr(GoodFd(fd));
}

// bpf_prog_test_run_opts for native programs, by program type as
// net/bpf/test_run.c runs them.
int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  std::shared_ptr<const bpfemu::Prog> prog;
  if (int err = bpfemu::ProgFromFd(prog_fd, &prog); err != 0) {
    return LibbpfErr(err);
  }
  if (opts == nullptr) return LibbpfErr(-EINVAL);
  const int repeat = opts->repeat > 1 ? static_cast<int>(opts->repeat) : 1;
  switch (prog->type) {
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT: {
      if (opts->data_in == nullptr) return LibbpfErr(-EINVAL);
      absl::Span<const uint8_t> in(static_cast<const uint8_t*>(opts->data_in),
                                   opts->data_size_in);
      const auto* skb_in =
          opts->ctx_in != nullptr && opts->ctx_size_in >= sizeof(__sk_buff)
              ? static_cast<const __sk_buff*>(opts->ctx_in)
              : nullptr;
      bpfemu::native::PacketResult r;
      const uint64_t start = NowNs();
      for (int i = 0; i < repeat; ++i) {
        r = prog->type == BPF_PROG_TYPE_XDP
                ? bpfemu::native::RunXdp(*prog, in)
                : bpfemu::native::RunSkb(*prog, in, skb_in);
        if (r.err != 0) return LibbpfErr(r.err);
        // The interpreter stopped a program the verifier would refuse.
        if (bpfemu::ProgFaulted()) return LibbpfErr(-EFAULT);
      }
      opts->duration = static_cast<__u32>((NowNs() - start) / repeat);
      opts->retval = r.retval;
      if (opts->data_out != nullptr) {
        const __u32 n = std::min<__u32>(opts->data_size_out,
                                        static_cast<__u32>(r.data_out.size()));
        std::memcpy(opts->data_out, r.data_out.data(), n);
        const bool short_buffer = n < r.data_out.size();
        opts->data_size_out = static_cast<__u32>(r.data_out.size());
        if (short_buffer) return LibbpfErr(-ENOSPC);
      } else {
        opts->data_size_out = static_cast<__u32>(r.data_out.size());
      }
      return 0;
    }
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_SYSCALL: {
      // bpf_prog_test_run_raw_tp / _syscall: a context only.
      if (opts->data_in != nullptr || opts->data_out != nullptr ||
          opts->data_size_in != 0 || opts->repeat > 1 ||
          opts->ctx_size_in > 12 * sizeof(uint64_t)) {
        return LibbpfErr(-EINVAL);
      }
      std::vector<uint64_t> ctx(12, 0);
      if (opts->ctx_in != nullptr) {
        std::memcpy(ctx.data(), opts->ctx_in, opts->ctx_size_in);
      }
      opts->retval = bpfemu::ProgRun(*prog, ctx.data());
      if (bpfemu::ProgFaulted()) return LibbpfErr(-EFAULT);
      return 0;
    }
    default:
      return LibbpfErr(-bpfemu::kENOTSUPP);
  }
}

}  // extern "C"

// Objects: natively built BPF sources, found by name.
struct bpf_program {
  bpf_object* obj;
  std::string name;
};

struct bpf_map {
  bpf_object* obj;
  std::string name;       // bpf_map__name(): the kernel map's name
  std::string real_name;  // the variable, or the section (".bss")
  bpfemu::native::Object::MapDesc desc;
};

struct bpf_object {
  std::unique_ptr<bpfemu::native::Object> native;
  std::vector<std::unique_ptr<bpf_program>> progs;
  std::vector<std::unique_ptr<bpf_map>> maps;
  bool loaded = false;
};

namespace {

// bpf_object__next_*(): the entry after `prev` (the first for NULL).
template <typename T>
T* NextAfter(const std::vector<std::unique_ptr<T>>& all, const T* prev) {
  bool take = prev == nullptr;
  for (const auto& e : all) {
    if (take) return e.get();
    take = e.get() == prev;
  }
  return nullptr;
}

}  // namespace

extern "C" {

static struct bpf_object* Wrap(std::unique_ptr<bpfemu::native::Object> o) {
  auto* obj = new bpf_object;
  obj->native = std::move(o);
  for (const std::string& n : obj->native->ProgramNames()) {
    obj->progs.push_back(std::make_unique<bpf_program>(bpf_program{obj, n}));
  }
  for (const auto& d : obj->native->MapDescs()) {
    obj->maps.push_back(
        std::make_unique<bpf_map>(bpf_map{obj, d.name, d.real_name, d}));
  }
  return obj;
}

struct bpf_object* bpf_object__open_file(
    const char* path, const struct bpf_object_open_opts* opts) {
  if (path == nullptr || !OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  const char* force = std::getenv("BPFEMU_INTERP");
  if (force == nullptr || std::strcmp(force, "1") != 0) {
    if (auto native = bpfemu::native::Object::Open(path); native.ok()) {
      return Wrap(std::move(*native));
    }
  }
  auto bytecode = bpfemu::native::Object::OpenBytecode(path);
  if (!bytecode.ok()) {
    errno = absl::IsNotFound(bytecode.status()) ? ENOENT : LIBBPF_ERRNO__FORMAT;
    return nullptr;
  }
  return Wrap(std::move(*bytecode));
}

struct bpf_object* bpf_object__open_mem(
    const void* obj_buf, size_t obj_buf_sz,
    const struct bpf_object_open_opts* opts) {
  if (obj_buf == nullptr || obj_buf_sz == 0 || !OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  // libbpf names a memory object after its address and size unless told.
  const char* given =
      BPFEMU_OPTS_GET(opts, object_name, static_cast<const char*>(nullptr));
  const std::string name =
      given != nullptr
          ? std::string(given)
          : absl::StrFormat("%lx-%lx", reinterpret_cast<uintptr_t>(obj_buf),
                            obj_buf_sz);
  auto bytecode = bpfemu::native::Object::OpenBytecodeMem(
      absl::MakeConstSpan(static_cast<const uint8_t*>(obj_buf), obj_buf_sz),
      name);
  if (!bytecode.ok()) {
    errno = LIBBPF_ERRNO__FORMAT;
    return nullptr;
  }
  return Wrap(std::move(*bytecode));
}

struct bpf_object* bpf_object__open(const char* path) {
  return bpf_object__open_file(path, nullptr);
}

int bpf_object__load(struct bpf_object* obj) {
  if (obj == nullptr) return LibbpfErr(-EINVAL);
  if (obj->loaded) return LibbpfErr(-EINVAL);  // "object already loaded"
  if (int err = obj->native->Load(); err != 0) return LibbpfErr(err);
  obj->loaded = true;
  return 0;
}

void bpf_object__close(struct bpf_object* obj) { delete obj; }

const char* bpf_object__name(const struct bpf_object* obj) {
  return obj != nullptr ? obj->native->name().c_str() : nullptr;
}

struct bpf_map* bpf_object__find_map_by_name(const struct bpf_object* obj,
                                             const char* name) {
  if (obj != nullptr && name != nullptr) {
    for (const auto& m : obj->maps) {
      if (m->name == name || m->real_name == name) return m.get();
    }
  }
  errno = ENOENT;
  return nullptr;
}

int bpf_object__find_map_fd_by_name(const struct bpf_object* obj,
                                    const char* name) {
  return bpf_map__fd(bpf_object__find_map_by_name(obj, name));
}

struct bpf_program* bpf_object__find_program_by_name(
    const struct bpf_object* obj, const char* name) {
  if (obj != nullptr && name != nullptr) {
    for (const auto& p : obj->progs) {
      if (p->name == name) return p.get();
    }
  }
  errno = ENOENT;
  return nullptr;
}

struct bpf_program* bpf_object__next_program(const struct bpf_object* obj,
                                             struct bpf_program* prev) {
  return obj != nullptr ? NextAfter(obj->progs, prev) : nullptr;
}

struct bpf_map* bpf_object__next_map(const struct bpf_object* obj,
                                     const struct bpf_map* prev) {
  return obj != nullptr ? NextAfter(obj->maps, prev) : nullptr;
}

int bpf_map__fd(const struct bpf_map* map) {
  if (map == nullptr) return LibbpfErr(-EINVAL);
  const int fd = map->obj->native->MapFd(map->real_name);
  return fd >= 0 ? fd : -1;  // not loaded yet: libbpf's initial fd
}

enum bpf_map_type bpf_map__type(const struct bpf_map* map) {
  return static_cast<enum bpf_map_type>(map->desc.type);
}
__u32 bpf_map__key_size(const struct bpf_map* map) {
  return map->desc.key_size;
}
__u32 bpf_map__value_size(const struct bpf_map* map) {
  return map->desc.value_size;
}
__u32 bpf_map__max_entries(const struct bpf_map* map) {
  return map->desc.max_entries;
}
__u32 bpf_map__map_flags(const struct bpf_map* map) {
  return map->desc.map_flags;
}

// Global data before load: the section's bytes, which a skeleton edits.
const void* bpf_map__initial_value(struct bpf_map* map, size_t* psize) {
  size_t size = 0;
  uint8_t* v = map->obj->native->InitialValue(map->real_name, &size);
  if (v == nullptr) return nullptr;
  if (map->obj->loaded) return map->obj->native->LoadedValue(map->real_name);
  if (psize != nullptr) *psize = size;
  return v;
}

const char* bpf_map__name(const struct bpf_map* map) {
  return map != nullptr ? map->name.c_str() : nullptr;
}

int bpf_program__fd(const struct bpf_program* prog) {
  if (prog == nullptr) return LibbpfErr(-EINVAL);
  const auto* p = prog->obj->native->FindProgram(prog->name);
  return p != nullptr ? p->fd() : LibbpfErr(-ENOENT);  // not loaded yet
}

const char* bpf_program__name(const struct bpf_program* prog) {
  return prog != nullptr ? prog->name.c_str() : nullptr;
}

// Skeletons (bpftool gen skeleton): the embedded object opened from memory
// under the skeleton's name; global-data views point at the section bytes
// until load, then at the maps' values (libbpf mmap()s the maps there).
int bpf_object__open_skeleton(struct bpf_object_skeleton* s,
                              const struct bpf_object_open_opts* opts) {
  if (s == nullptr || !OptsValid(opts)) return LibbpfErr(-EINVAL);
  LIBBPF_OPTS(bpf_object_open_opts, skel_opts);
  if (opts != nullptr) {
    std::memcpy(&skel_opts, opts, std::min(sizeof(skel_opts), opts->sz));
    skel_opts.sz = sizeof(skel_opts);
  }
  skel_opts.object_name = s->name;
  struct bpf_object* obj =
      bpf_object__open_mem(s->data, s->data_sz, &skel_opts);
  if (obj == nullptr) return LibbpfErr(-errno);
  *s->obj = obj;
  for (int i = 0; i < s->map_cnt; ++i) {
    auto* m = reinterpret_cast<struct bpf_map_skeleton*>(
        reinterpret_cast<char*>(s->maps) + i * s->map_skel_sz);
    *m->map = bpf_object__find_map_by_name(obj, m->name);
    if (*m->map == nullptr) return LibbpfErr(-ESRCH);
    if (m->mmaped != nullptr) {
      *m->mmaped = const_cast<void*>(bpf_map__initial_value(*m->map, nullptr));
    }
  }
  for (int i = 0; i < s->prog_cnt; ++i) {
    auto* p = reinterpret_cast<struct bpf_prog_skeleton*>(
        reinterpret_cast<char*>(s->progs) + i * s->prog_skel_sz);
    *p->prog = bpf_object__find_program_by_name(obj, p->name);
    if (*p->prog == nullptr) return LibbpfErr(-ESRCH);
  }
  return 0;
}

int bpf_object__load_skeleton(struct bpf_object_skeleton* s) {
  if (s == nullptr || *s->obj == nullptr) return LibbpfErr(-EINVAL);
  if (int err = bpf_object__load(*s->obj); err != 0) return err;
  for (int i = 0; i < s->map_cnt; ++i) {
    auto* m = reinterpret_cast<struct bpf_map_skeleton*>(
        reinterpret_cast<char*>(s->maps) + i * s->map_skel_sz);
    if (m->mmaped == nullptr) continue;
    *m->mmaped =
        (bpf_map__map_flags(*m->map) & BPF_F_MMAPABLE)
            ? const_cast<void*>(bpf_map__initial_value(*m->map, nullptr))
            : nullptr;
  }
  return 0;
}

// Attaching needs kernel hooks bpfemu does not have: programs run through
// bpf_prog_test_run_opts() instead.
int bpf_object__attach_skeleton(struct bpf_object_skeleton* s) {
  (void)s;
  std::fprintf(stderr,
               "bpfemu: programs cannot be attached to kernel hooks; run "
               "them with bpf_prog_test_run_opts()\n");
  return LibbpfErr(-EOPNOTSUPP);
}

void bpf_object__detach_skeleton(struct bpf_object_skeleton* s) { (void)s; }

void bpf_object__destroy_skeleton(struct bpf_object_skeleton* s) {
  if (s == nullptr) return;
  if (s->obj != nullptr) {
    bpf_object__close(*s->obj);
    *s->obj = nullptr;
  }
  std::free(s->maps);
  std::free(s->progs);
  std::free(s);
}

}  // extern "C"
