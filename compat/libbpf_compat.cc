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
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/utsname.h>
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
#include "compat/libbpf_internal.h"
#include "emu/bpffs.h"
#include "emu/btf.h"
#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
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
  if (bpfemu::IsBtfFd(bpf_fd)) {
    return LibbpfErr(bpfemu::BtfGetInfoByFd(bpf_fd, info, info_len));
  }
  std::shared_ptr<const bpfemu::Prog> prog;
  if (bpfemu::MapFromFd(bpf_fd) == nullptr &&
      bpfemu::ProgFromFd(bpf_fd, &prog) == 0) {
    // bpf_prog_get_info_by_fd(): the caller's struct (bytes past the
    // kernel's must be zero: E2BIG), filled as the kernel fills it, arrays
    // written where the caller's pointers say.
    if (info == nullptr || info_len == nullptr) return LibbpfErr(-EFAULT);
    const auto* bytes = static_cast<const uint8_t*>(info);
    for (__u32 i = sizeof(bpf_prog_info); i < *info_len; ++i) {
      if (bytes[i] != 0) return LibbpfErr(-E2BIG);
    }
    bpf_prog_info in = {};
    const __u32 n = std::min<__u32>(*info_len, sizeof(in));
    std::memcpy(&in, info, n);
    const int err = bpfemu::native::ProgFillInfo(
        *prog, &in, [](uint64_t ptr, const void* data, size_t size) {
          if (ptr == 0) return -EFAULT;
          std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(ptr)),
                      data, size);
          return 0;
        });
    if (err != 0) return LibbpfErr(err);
    std::memcpy(info, &in, n);
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
      // libbpf 1.1 has no message for LIBBPF_ERRNO__LOAD: its table's
      // NULL entry prints as "(null)".
      "(null)",
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
  // find_prog_type(): no ops for UNSPEC or a type beyond the kernel's
  // (BPF_PROG_TYPE_SYSCALL = 31 in 6.1, BPF_PROG_TYPE_NETFILTER = 32 since
  // 6.4).
  const uint32_t last_type =
      bpfemu::TargetKernel() >= bpfemu::KernelVersion::k6_12 ? 32 : 31;
  if (prog_type == BPF_PROG_TYPE_UNSPEC ||
      static_cast<uint32_t>(prog_type) > last_type) {
    return LibbpfErr(-EINVAL);
  }
  const uint32_t attach = opts != nullptr ? opts->expected_attach_type : 0;
  bpfemu::native::ProgLoadFlags flags;
  flags.prog_flags = BPFEMU_OPTS_GET(opts, prog_flags, 0u);
  flags.prog_ifindex = BPFEMU_OPTS_GET(opts, prog_ifindex, 0u);
  const int* fd_array = BPFEMU_OPTS_GET(opts, fd_array, nullptr);
  flags.has_fd_array = fd_array != nullptr;
  flags.fd_array_entry = bpfemu::native::FdArrayInMemory(
      reinterpret_cast<uint64_t>(fd_array), bpfemu::native::ProbeSpace::kUser);
  flags.attach_btf_id = BPFEMU_OPTS_GET(opts, attach_btf_id, 0u);
  std::string verifier_log;  // the kernel's line for a refused kfunc call
  flags.log = &verifier_log;
  const int fd = bpfemu::native::ProgLoadBytecode(
      prog_type, attach, prog_name != nullptr ? prog_name : "",
      reinterpret_cast<const bpfemu::interp::RawInsn*>(insns),
      static_cast<uint32_t>(insn_cnt), license, flags);
  if (fd < 0) {
    if (opts != nullptr && opts->log_buf != nullptr && opts->log_size > 0) {
      std::snprintf(
          opts->log_buf, opts->log_size,
          "%sbpfemu: the program was refused at load (errno %d); "
          "bpfemu checks structure, not types (docs/interpreter.md)\n",
          verifier_log.c_str(), -fd);
    }
    return LibbpfErr(fd);
  }
  return LibbpfErr(GoodFd(fd));
}

// bpf_prog_test_run_opts: BPF_PROG_TEST_RUN (loader/test_run.h) on the
// caller's buffers, the results written back as the kernel writes them and
// libbpf copies them into opts.
int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (opts == nullptr) return LibbpfErr(-EINVAL);
  bpfemu::native::TestRunAttr a;
  a.data_in = static_cast<const uint8_t*>(opts->data_in);
  a.data_size_in = opts->data_size_in;
  a.data_out = opts->data_out != nullptr;
  a.data_size_out = opts->data_size_out;
  a.ctx_in = static_cast<const uint8_t*>(opts->ctx_in);
  a.ctx_size_in = opts->ctx_size_in;
  a.ctx_out = opts->ctx_out != nullptr;
  a.ctx_size_out = opts->ctx_size_out;
  a.repeat = static_cast<uint32_t>(opts->repeat);
  a.flags = opts->flags;
  a.cpu = opts->cpu;
  a.batch_size =
      opts->sz >= offsetof(bpf_test_run_opts, batch_size) + sizeof(__u32)
          ? opts->batch_size
          : 0;
  if (int err = bpfemu::native::CheckTestRunAttr(a); err != 0) {
    return LibbpfErr(err);
  }
  std::shared_ptr<const bpfemu::Prog> prog;
  if (int err = bpfemu::ProgFromFd(prog_fd, &prog); err != 0) {
    return LibbpfErr(err);
  }
  bpfemu::native::TestRunOutput out;
  const int err = bpfemu::native::TestRun(*prog, a, &out);
  // Runs count for bpf_enable_stats() (libbpf_extra.cc) whenever the
  // program ran.
  if (out.runs != 0) {
    bpfemu::compat::CountRuns(*prog, out.run_ns, out.runs);
  }
  if (out.write_data) {
    if (opts->data_out != nullptr) {
      std::memcpy(opts->data_out, out.data.data(), out.data_copy);
    }
    opts->data_size_out = static_cast<__u32>(out.data.size());
    opts->duration = out.duration;
  }
  if (out.write_retval) opts->retval = out.retval;
  if (out.write_ctx) {
    std::memcpy(opts->ctx_out, out.ctx.data(), out.ctx_copy);
    opts->ctx_size_out = static_cast<__u32>(out.ctx.size());
  }
  if (out.ctx_to_ctx_in) {
    std::memcpy(const_cast<void*>(opts->ctx_in), out.ctx.data(), out.ctx_copy);
  }
  return err != 0 ? LibbpfErr(err) : 0;
}

}  // extern "C"

// Objects: natively built BPF sources, found by name. Each map and program
// carries libbpf's per-map and per-program state before load (the
// settings its setters change, pin path, log settings).
struct bpf_program {
  bpf_object* obj;
  std::string name;
  size_t index = 0;     // in ProgramNames() order
  std::string section;  // its SEC() name
  bool autoattach = true;
  __u32 prog_flags = 0;
  __u32 prog_ifindex = 0;
  __u32 log_level = 0;
  char* log_buf = nullptr;
  size_t log_size = 0;
  // bpf_program__set_attach_target(): the target program's fd, or the
  // kernel function's BTF id (vmlinux BTF: object fd 0). The emulator's
  // loader takes no attach target, so these are only recorded.
  int attach_prog_fd = 0;
  int attach_btf_obj_fd = 0;
  int attach_btf_id = 0;
  // The libbpf_register_prog_handler() definition its section resolved to
  // at open, if a custom one did.
  bool has_custom = false;
  bpfemu::compat::CustomSecDef custom;
};

struct bpf_map {
  bpf_object* obj;
  std::string name;       // bpf_map__name(): the kernel map's name
  std::string real_name;  // the variable, or the section (".bss")
  bpfemu::native::Object::MapDesc desc;
  size_t index = 0;   // in MapNames() order
  int reuse_fd = -1;  // bpf_map__reuse_fd()'s copy, owned until load
  std::string pin_path;
  bool pinned = false;
  // libbpf's map->inner_map: a map-in-map's inner template (its settings
  // are the outer map's MapSettings::inner), and for that template, the
  // map it belongs to.
  std::unique_ptr<bpf_map> inner;
  bpf_map* outer = nullptr;
};

struct bpf_object {
  std::unique_ptr<bpfemu::native::Object> native;
  std::vector<std::unique_ptr<bpf_program>> progs;
  std::vector<std::unique_ptr<bpf_map>> maps;
  bpfemu::native::Object::LoadSettings settings;
  uint32_t kern_version = 0;
  bool loaded = false;
  struct btf* btf = nullptr;  // bpf_object__btf()'s parse of the .BTF
  // bpf_object__gen_loader(): the options load fills in, and the loader
  // program and blob they point to (owned here, as libbpf's bpf_gen).
  struct gen_loader_opts* gen_opts = nullptr;
  std::vector<uint8_t> gen_insns, gen_data;
  ~bpf_object() {
    for (auto& m : maps) {
      if (m->reuse_fd >= 0) bpfemu::CloseFd(m->reuse_fd);
    }
    btf__free(btf);
  }
};

namespace {

// The settings a map's setters and getters work on: its own, or for an
// inner template (bpf_map__inner_map) the outer map's inner settings.
bpfemu::native::Object::MapSettings& MapSettingsOf(const struct bpf_map* map) {
  if (map->outer != nullptr) return *MapSettingsOf(map->outer).inner;
  return map->obj->settings.maps[map->index];
}

// libbpf.c get_kernel_version(): LINUX_VERSION_CODE of the running kernel,
// from Ubuntu's /proc/version_signature if there is one, else uname(2).
// libbpf reads it in userspace, so libbpfemu does too (not the emulated
// target version).
uint32_t RunningKernelVersion() {
  auto code = [](unsigned major, unsigned minor, unsigned patch) {
    return (major << 16) + (minor << 8) + (patch > 255 ? 255 : patch);
  };
  unsigned major, minor, patch;
  if (FILE* f = std::fopen("/proc/version_signature", "r"); f != nullptr) {
    const int n = std::fscanf(f, "%*s %*s %u.%u.%u", &major, &minor, &patch);
    std::fclose(f);
    if (n == 3) return code(major, minor, patch);
  }
  struct utsname info;
  if (uname(&info) != 0 ||
      std::sscanf(info.release, "%u.%u.%u", &major, &minor, &patch) != 3) {
    return 0;
  }
  return code(major, minor, patch);
}

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
  obj->settings = obj->native->DefaultSettings();
  // An object's "version" section, else the running kernel's version (an
  // explicit version 0 is taken as none).
  obj->kern_version = obj->native->kern_version() != 0
                          ? obj->native->kern_version()
                          : RunningKernelVersion();
  const std::vector<std::string> sections = obj->native->ProgramSections();
  for (const std::string& n : obj->native->ProgramNames()) {
    auto p = std::make_unique<bpf_program>(bpf_program{obj, n});
    p->index = obj->progs.size();
    p->section = sections[p->index];
    obj->progs.push_back(std::move(p));
  }
  for (const auto& d : obj->native->MapDescs()) {
    auto m = std::make_unique<bpf_map>(bpf_map{obj, d.name, d.real_name, d});
    m->index = obj->maps.size();
    // A map-in-map defined with its inner template: that template as a
    // map of its own, named "<map>.inner" as libbpf names it.
    if (obj->settings.maps[m->index].inner != nullptr) {
      m->inner = std::make_unique<bpf_map>(bpf_map{
          obj, m->name + ".inner", m->real_name + ".inner", d, m->index});
      m->inner->outer = m.get();
    }
    obj->maps.push_back(std::move(m));
  }
  // bpf_object_init_progs(): a section a custom handler defines takes its
  // program and attach types, then its setup callback runs (a failure
  // fails the open).
  for (auto& p : obj->progs) {
    if (!bpfemu::compat::FindCustomSecDef(p->section.c_str(), &p->custom)) {
      continue;
    }
    p->has_custom = true;
    auto& ps = obj->settings.progs[p->index];
    ps.type = p->custom.prog_type;
    ps.expected_attach_type = p->custom.attach_type;
    if (p->custom.setup_fn == nullptr) continue;
    const int err = p->custom.setup_fn(p.get(), p->custom.cookie);
    if (err < 0) {
      bpfemu::compat::Print(LIBBPF_WARN,
                            "libbpf: prog '%s': failed to initialize: %d\n",
                            p->name.c_str(), err);
      delete obj;
      errno = -err;
      return nullptr;
    }
  }
  return obj;
}

// The open options kept for the load: the caller's Kconfig text for
// __kconfig externs (opts->kconfig, copied as libbpf copies it).
static struct bpf_object* WithOpenOpts(
    struct bpf_object* obj, const struct bpf_object_open_opts* opts) {
  const char* kconfig =
      BPFEMU_OPTS_GET(opts, kconfig, static_cast<const char*>(nullptr));
  if (obj != nullptr && kconfig != nullptr) obj->settings.kconfig = kconfig;
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
      return WithOpenOpts(Wrap(std::move(*native)), opts);
    }
  }
  auto bytecode = bpfemu::native::Object::OpenBytecode(path);
  if (!bytecode.ok()) {
    errno = absl::IsNotFound(bytecode.status()) ? ENOENT : LIBBPF_ERRNO__FORMAT;
    return nullptr;
  }
  return WithOpenOpts(Wrap(std::move(*bytecode)), opts);
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
  return WithOpenOpts(Wrap(std::move(*bytecode)), opts);
}

struct bpf_object* bpf_object__open(const char* path) {
  return bpf_object__open_file(path, nullptr);
}

int bpf_object__load(struct bpf_object* obj) {
  if (obj == nullptr) return LibbpfErr(-EINVAL);
  if (obj->loaded) return LibbpfErr(-EINVAL);  // "object already loaded"
  if (obj->gen_opts != nullptr) {
    // libbpf.c bpf_object_load with obj->gen_loader: nothing is created;
    // the object counts as loaded whatever the generator answers.
    std::vector<std::string> pins;
    for (auto& m : obj->maps) pins.push_back(m->pin_path);
    obj->loaded = true;
    const int err = bpfemu::compat::GenerateLoader(
        *obj->native, obj->settings, pins, &obj->gen_insns, &obj->gen_data);
    if (err != 0) return LibbpfErr(err);
    obj->gen_opts->insns = reinterpret_cast<const char*>(obj->gen_insns.data());
    obj->gen_opts->insns_sz = static_cast<__u32>(obj->gen_insns.size());
    obj->gen_opts->data = reinterpret_cast<const char*>(obj->gen_data.data());
    obj->gen_opts->data_sz = static_cast<__u32>(obj->gen_data.size());
    return 0;
  }
  // Maps with a pin path reuse the pinned map if there is one
  // (bpf_object__reuse_map), else are pinned once created.
  for (auto& m : obj->maps) {
    if (m->pin_path.empty() || m->reuse_fd >= 0 ||
        !obj->settings.maps[m->index].autocreate) {
      continue;
    }
    const int pinned = bpf_obj_get(m->pin_path.c_str());
    if (pinned < 0) {
      if (errno == ENOENT) continue;
      bpfemu::compat::Print(LIBBPF_WARN,
                            "libbpf: couldn't retrieve pinned map '%s': %d\n",
                            m->pin_path.c_str(), -errno);
      return LibbpfErr(-errno);
    }
    const auto& want = obj->settings.maps[m->index];
    bpf_map_info info = {};
    __u32 len = sizeof(info);
    if (bpf_map_get_info_by_fd(pinned, &info, &len) != 0 ||
        info.type != want.type || info.key_size != want.key_size ||
        info.value_size != want.value_size ||
        info.max_entries != want.max_entries ||
        info.map_flags != want.map_flags) {
      bpfemu::CloseFd(pinned);
      bpfemu::compat::Print(LIBBPF_WARN,
                            "libbpf: couldn't reuse pinned map at '%s': "
                            "parameter mismatch\n",
                            m->pin_path.c_str());
      return LibbpfErr(-EINVAL);
    }
    m->reuse_fd = pinned;
    m->pinned = true;
  }
  // bpf_object_load_prog(): a custom handler's prepare callback sees the
  // program's load attributes and may change them (libbpfemu honours
  // expected_attach_type) or the instructions (bpf_program__set_insns).
  // It runs before the maps are created here, after them in libbpf.
  for (auto& p : obj->progs) {
    auto& ps = obj->settings.progs[p->index];
    ps.prog_flags = p->prog_flags;
    ps.ifindex = p->prog_ifindex;
    ps.attach_btf_id = static_cast<uint32_t>(p->attach_btf_id);
    if (!p->has_custom || p->custom.prepare_load_fn == nullptr ||
        !ps.autoload) {
      continue;
    }
    LIBBPF_OPTS(bpf_prog_load_opts, load_opts);
    load_opts.expected_attach_type =
        static_cast<enum bpf_attach_type>(ps.expected_attach_type);
    load_opts.prog_flags = p->prog_flags;
    load_opts.prog_ifindex = p->prog_ifindex;
    load_opts.kern_version = obj->kern_version;
    load_opts.log_level = p->log_level;
    load_opts.log_buf = p->log_buf;
    load_opts.log_size = static_cast<__u32>(p->log_size);
    load_opts.attach_btf_id = static_cast<__u32>(p->attach_btf_id);
    load_opts.attach_prog_fd = static_cast<__u32>(p->attach_prog_fd);
    const int err =
        p->custom.prepare_load_fn(p.get(), &load_opts, p->custom.cookie);
    if (err != 0) {
      bpfemu::compat::Print(
          LIBBPF_WARN,
          "libbpf: prog '%s': failed to prepare load attributes: %d\n",
          p->name.c_str(), err);
      bpfemu::compat::Print(LIBBPF_WARN, "libbpf: failed to load object '%s'\n",
                            obj->native->name().c_str());
      return LibbpfErr(err);
    }
    ps.expected_attach_type = load_opts.expected_attach_type;
    ps.prog_flags = load_opts.prog_flags;
    ps.ifindex = load_opts.prog_ifindex;
  }
  auto settings = obj->settings;
  for (auto& m : obj->maps) settings.maps[m->index].reuse_fd = m->reuse_fd;
  if (int err = obj->native->Load(settings); err != 0) {
    bpfemu::compat::Print(LIBBPF_WARN, "libbpf: failed to load object '%s'\n",
                          obj->native->name().c_str());
    return LibbpfErr(err);
  }
  obj->loaded = true;
  for (auto& m : obj->maps) {
    // bpf_map__init_kern_struct_ops(): a struct_ops map's value is the
    // kernel's value struct (bpf_struct_ops_X) from the load on.
    auto& ms = obj->settings.maps[m->index];
    if (ms.type == BPF_MAP_TYPE_STRUCT_OPS && m->outer == nullptr) {
      if (auto created = obj->native->FindMap(m->real_name);
          created != nullptr) {
        ms.value_size = created->value_size();
      }
    }
    if (m->reuse_fd >= 0) {
      bpfemu::CloseFd(m->reuse_fd);
      m->reuse_fd = -1;
    }
    if (!m->pin_path.empty() && !m->pinned &&
        obj->settings.maps[m->index].autocreate) {
      if (int err = bpf_map__pin(m.get(), nullptr); err != 0) return err;
    }
  }
  return 0;
}

// libbpf 1.1.2 answers -EFAULT for NULL options and -EINVAL for options
// of a bad size, without setting errno; the generator runs at load.
int bpf_object__gen_loader(struct bpf_object* obj,
                           struct gen_loader_opts* opts) {
  if (opts == nullptr) return -EFAULT;
  if (!OptsValid(opts)) return -EINVAL;
  obj->gen_opts = opts;
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
  if (map->reuse_fd >= 0) return map->reuse_fd;
  const int fd = map->obj->native->MapFd(map->real_name);
  return fd >= 0 ? fd : -1;  // not loaded yet: libbpf's initial fd
}

enum bpf_map_type bpf_map__type(const struct bpf_map* map) {
  return static_cast<enum bpf_map_type>(MapSettingsOf(map).type);
}
// The object's BTF (a bytecode object's .BTF as libbpf loads it; native
// objects carry none: NULL), and once loaded the emulated BTF object's fd.
struct btf* bpf_object__btf(const struct bpf_object* obj) {
  if (obj == nullptr) return nullptr;
  auto* o = const_cast<struct bpf_object*>(obj);
  const std::vector<uint8_t>& raw = o->native->btf_raw();
  if (o->btf == nullptr && !raw.empty()) {
    o->btf = btf__new(raw.data(), static_cast<__u32>(raw.size()));
  }
  return o->btf;
}

int bpf_object__btf_fd(const struct bpf_object* obj) {
  return obj->native->btf_fd();
}

__u32 bpf_map__btf_key_type_id(const struct bpf_map* map) {
  return map->desc.btf_key_type_id;
}

__u32 bpf_map__btf_value_type_id(const struct bpf_map* map) {
  return map->desc.btf_value_type_id;
}

__u32 bpf_map__key_size(const struct bpf_map* map) {
  return MapSettingsOf(map).key_size;
}
__u32 bpf_map__value_size(const struct bpf_map* map) {
  return MapSettingsOf(map).value_size;
}
__u32 bpf_map__max_entries(const struct bpf_map* map) {
  return MapSettingsOf(map).max_entries;
}
__u32 bpf_map__map_flags(const struct bpf_map* map) {
  return MapSettingsOf(map).map_flags;
}
__u32 bpf_map__numa_node(const struct bpf_map* map) {
  return MapSettingsOf(map).numa_node;
}
__u64 bpf_map__map_extra(const struct bpf_map* map) {
  return MapSettingsOf(map).map_extra;
}
bool bpf_map__autocreate(const struct bpf_map* map) {
  return MapSettingsOf(map).autocreate;
}

// Global data before load: the section's bytes, which a skeleton edits.
const void* bpf_map__initial_value(struct bpf_map* map, size_t* psize) {
  size_t size = 0;
  const void* v = map->obj->native->InitialValue(map->real_name, &size);
  if (v == nullptr) return nullptr;
  // After load, the map's value (libbpf's mmap of it); a load that only
  // generated a loader (bpf_object__gen_loader) created no map, and the
  // section's bytes stay.
  if (map->obj->loaded) {
    if (const void* live = map->obj->native->LoadedValue(map->real_name)) {
      v = live;
    }
  }
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
// libbpf attaches each loaded, auto-attached program whose link is not set
// yet, in order; bpfemu attaches iterators (emu/bpf_iter.h) and no other
// kind (no hooks): the first other program fails the call.
int bpf_object__attach_skeleton(struct bpf_object_skeleton* s) {
  if (s == nullptr) {  // libbpf would crash; the old answer stays
    bpfemu::compat::Print(LIBBPF_WARN,
                          "bpfemu: programs cannot be attached to kernel "
                          "hooks; run them with bpf_prog_test_run_opts()\n");
    return LibbpfErr(-EOPNOTSUPP);
  }
  for (int i = 0; i < s->prog_cnt; ++i) {
    struct bpf_program* prog = *s->progs[i].prog;
    struct bpf_link** link = s->progs[i].link;
    if (!bpf_program__autoload(prog) || !prog->autoattach || *link != nullptr) {
      continue;
    }
    if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
        bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER) {
      *link = bpf_program__attach_iter(prog, nullptr);
      if (*link == nullptr) {
        const int err = -errno;
        bpfemu::compat::Print(LIBBPF_WARN,
                              "libbpf: prog '%s': failed to auto-attach: %d\n",
                              prog->name.c_str(), err);
        return LibbpfErr(err);
      }
      continue;
    }
    bpfemu::compat::Print(LIBBPF_WARN,
                          "bpfemu: programs cannot be attached to kernel "
                          "hooks; run them with bpf_prog_test_run_opts()\n");
    return LibbpfErr(-EOPNOTSUPP);
  }
  return 0;
}

// The links attach_skeleton made (or the caller set), destroyed.
void bpf_object__detach_skeleton(struct bpf_object_skeleton* s) {
  for (int i = 0; s != nullptr && i < s->prog_cnt; ++i) {
    struct bpf_link** link = s->progs[i].link;
    if (link != nullptr && *link != nullptr) {
      bpf_link__destroy(*link);
      *link = nullptr;
    }
  }
}

void bpf_object__destroy_skeleton(struct bpf_object_skeleton* s) {
  if (s == nullptr) return;
  if (s->progs != nullptr) bpf_object__detach_skeleton(s);
  if (s->obj != nullptr) {
    bpf_object__close(*s->obj);
    *s->obj = nullptr;
  }
  std::free(s->maps);
  std::free(s->progs);
  std::free(s);
}

}  // extern "C"

// Setters before load, the element API, pinning and program attributes
// (tools/lib/bpf/libbpf.c, libbpf 1.1).
namespace {

bpfemu::native::Object::MapSettings& SettingsOf(struct bpf_map* map) {
  return MapSettingsOf(map);
}

// libbpf's "map->fd >= 0": created by load, or given by bpf_map__reuse_fd.
bool MapHasFd(const struct bpf_map* map) {
  return map->reuse_fd >= 0 || (map->obj->loaded && bpf_map__fd(map) >= 0);
}

// The bpf_map__set_* of one creation attribute: EBUSY once the map has an
// fd, else the setting takes `value`.
template <typename T, typename V>
int SetBeforeCreate(struct bpf_map* map,
                    T bpfemu::native::Object::MapSettings::*field, V value) {
  if (MapHasFd(map)) return LibbpfErr(-EBUSY);
  SettingsOf(map).*field = static_cast<T>(value);
  return 0;
}

// adjust_ringbuf_sz(): a ring buffer's size becomes the smallest power-of-2
// number of pages that holds it.
__u32 RingbufSize(__u32 sz) {
  const __u32 page = static_cast<__u32>(sysconf(_SC_PAGE_SIZE));
  if (sz == 0) return 0;
  if (sz % page == 0 && ((sz / page) & (sz / page - 1)) == 0) return sz;
  for (uint64_t mul = 1; mul * page <= UINT32_MAX; mul <<= 1) {
    if (mul * page > sz) return static_cast<__u32>(mul * page);
  }
  return sz;
}

bool IsMapInMap(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
         type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

// validate_map_op(): the map must exist, and the caller's buffers must be
// the map's key and value sizes (per-CPU maps: every possible CPU's value,
// each rounded up to 8 bytes).
int ValidateMapOp(const struct bpf_map* map, size_t key_sz, size_t value_sz,
                  bool check_value) {
  if (bpf_map__fd(map) <= 0) return -ENOENT;
  const auto& s = MapSettingsOf(map);
  if (s.key_size != key_sz) {
    bpfemu::compat::Print(
        LIBBPF_WARN,
        "libbpf: map '%s': unexpected key size %zu provided, expected %u\n",
        map->name.c_str(), key_sz, s.key_size);
    return -EINVAL;
  }
  if (!check_value) return 0;
  switch (s.type) {
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: {
      const int cpus = libbpf_num_possible_cpus();
      const size_t elem = (static_cast<size_t>(s.value_size) + 7) / 8 * 8;
      if (value_sz != cpus * elem) {
        bpfemu::compat::Print(LIBBPF_WARN,
                              "libbpf: map '%s': unexpected value size %zu "
                              "provided for per-CPU map, expected %d * %zu = "
                              "%zd\n",
                              map->name.c_str(), value_sz, cpus, elem,
                              cpus * elem);
        return -EINVAL;
      }
      return 0;
    }
    default:
      if (s.value_size != value_sz) {
        bpfemu::compat::Print(
            LIBBPF_WARN,
            "libbpf: map '%s': unexpected value size %zu provided, expected "
            "%u\n",
            map->name.c_str(), value_sz, s.value_size);
        return -EINVAL;
      }
      return 0;
  }
}

}  // namespace

namespace bpfemu::compat {

// check_path(): a pin path must lie on the (emulated) BPF filesystem.
int CheckPinPath(const char* path) {
  bpfemu::BpffsPath p;
  bpfemu::ResolveBpffsPath(path, &p);
  if (p.kind == bpfemu::BpffsPath::kOutside) {
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: specified path %s is not on BPF FS\n", path);
    return -EINVAL;
  }
  return 0;
}

// make_parent_dir(): mkdir of the path's directory, mode 0700, EEXIST fine.
int MakeParentDir(const char* path) {
  std::string dir(path);
  const size_t slash = dir.rfind('/');
  if (slash == std::string::npos || slash == 0) return 0;
  dir.resize(slash);
  bpfemu::BpffsPath p;
  bpfemu::ResolveBpffsPath(dir.c_str(), &p);
  if (p.kind != bpfemu::BpffsPath::kInside) return 0;
  const int err = bpfemu::BpffsMkdir(dir.c_str(), 0700);
  if (err != 0 && err != -EEXIST) {
    bpfemu::compat::Print(LIBBPF_WARN, "libbpf: failed to mkdir %s: %d\n",
                          dir.c_str(), err);
    return err;
  }
  return 0;
}

}  // namespace bpfemu::compat

using bpfemu::compat::CheckPinPath;
using bpfemu::compat::MakeParentDir;
using MapSettings = bpfemu::native::Object::MapSettings;

extern "C" {

int bpf_map__set_max_entries(struct bpf_map* map, __u32 max_entries) {
  if (map->obj->loaded) return LibbpfErr(-EBUSY);
  auto& s = SettingsOf(map);
  s.max_entries = max_entries;
  if (s.type == BPF_MAP_TYPE_RINGBUF || s.type == BPF_MAP_TYPE_USER_RINGBUF) {
    s.max_entries = RingbufSize(max_entries);
  }
  return 0;
}

int bpf_map__set_value_size(struct bpf_map* map, __u32 size) {
  return SetBeforeCreate(map, &MapSettings::value_size, size);
}

int bpf_map__set_key_size(struct bpf_map* map, __u32 size) {
  return SetBeforeCreate(map, &MapSettings::key_size, size);
}

int bpf_map__set_type(struct bpf_map* map, enum bpf_map_type type) {
  return SetBeforeCreate(map, &MapSettings::type, type);
}

int bpf_map__set_map_flags(struct bpf_map* map, __u32 flags) {
  return SetBeforeCreate(map, &MapSettings::map_flags, flags);
}

int bpf_map__set_numa_node(struct bpf_map* map, __u32 numa_node) {
  return SetBeforeCreate(map, &MapSettings::numa_node, numa_node);
}

int bpf_map__set_map_extra(struct bpf_map* map, __u64 map_extra) {
  return SetBeforeCreate(map, &MapSettings::map_extra, map_extra);
}

int bpf_map__set_ifindex(struct bpf_map* map, __u32 ifindex) {
  return SetBeforeCreate(map, &MapSettings::map_ifindex, ifindex);
}

__u32 bpf_map__ifindex(const struct bpf_map* map) {
  return MapSettingsOf(map).map_ifindex;
}

int bpf_map__set_autocreate(struct bpf_map* map, bool autocreate) {
  if (map->obj->loaded) return LibbpfErr(-EBUSY);
  SettingsOf(map).autocreate = autocreate;
  return 0;
}

// The template is the caller's fd, used as is at load (libbpf keeps the
// number, not a copy).
int bpf_map__set_inner_map_fd(struct bpf_map* map, int fd) {
  auto& s = SettingsOf(map);
  if (!IsMapInMap(s.type)) {
    bpfemu::compat::Print(LIBBPF_WARN, "libbpf: error: unsupported map type\n");
    return LibbpfErr(-EINVAL);
  }
  if (s.inner_map_fd != -1) {
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: error: inner_map_fd already specified\n");
    return LibbpfErr(-EINVAL);
  }
  s.inner_map_fd = fd;
  // libbpf destroys the inner template: bpf_map__inner_map() is NULL now.
  s.inner.reset();
  map->inner.reset();
  return 0;
}

// libbpf 1.1.2: EINVAL (errno only) for a map that is not a map-in-map,
// else the inner template, NULL (errno untouched) without one.
struct bpf_map* bpf_map__inner_map(struct bpf_map* map) {
  if (!IsMapInMap(SettingsOf(map).type)) {
    errno = EINVAL;
    return nullptr;
  }
  return map->inner.get();
}

// Takes the map's attributes from `fd` and a copy of it, used instead of
// creating the map at load.
int bpf_map__reuse_fd(struct bpf_map* map, int fd) {
  bpf_map_info info = {};
  __u32 len = sizeof(info);
  if (int err = bpf_map_get_info_by_fd(fd, &info, &len); err != 0) return err;
  const int copy = bpfemu::DupMapFd(fd, 3);
  if (copy < 0) return LibbpfErr(copy);
  if (map->reuse_fd >= 0) bpfemu::CloseFd(map->reuse_fd);
  map->reuse_fd = copy;
  const size_t n = strnlen(info.name, sizeof(info.name));
  if (!(n == BPF_OBJ_NAME_LEN - 1 && map->name.compare(0, n, info.name) == 0)) {
    map->name.assign(info.name, n);
  }
  auto& s = SettingsOf(map);
  s.type = info.type;
  s.key_size = info.key_size;
  s.value_size = info.value_size;
  s.max_entries = info.max_entries;
  s.map_flags = info.map_flags;
  s.map_extra = info.map_extra;
  return 0;
}

int bpf_map__set_pin_path(struct bpf_map* map, const char* path) {
  map->pin_path = path != nullptr ? path : "";
  return 0;
}

const char* bpf_map__pin_path(const struct bpf_map* map) {
  return map->pin_path.empty() ? nullptr : map->pin_path.c_str();
}

const char* bpf_map__get_pin_path(const struct bpf_map* map) {
  return bpf_map__pin_path(map);
}

bool bpf_map__is_pinned(const struct bpf_map* map) { return map->pinned; }

int bpf_map__pin(struct bpf_map* map, const char* path) {
  if (map == nullptr) return LibbpfErr(-EINVAL);
  if (!map->pin_path.empty()) {
    if (path != nullptr && map->pin_path != path) {
      bpfemu::compat::Print(
          LIBBPF_WARN,
          "libbpf: map '%s' already has pin path '%s' different from '%s'\n",
          map->name.c_str(), map->pin_path.c_str(), path);
      return LibbpfErr(-EINVAL);
    }
    if (map->pinned) return 0;
  } else {
    if (path == nullptr) {
      bpfemu::compat::Print(LIBBPF_WARN,
                            "libbpf: missing a path to pin map '%s' at\n",
                            map->name.c_str());
      return LibbpfErr(-EINVAL);
    }
    if (map->pinned) return LibbpfErr(-EEXIST);
    map->pin_path = path;
  }
  if (int err = MakeParentDir(map->pin_path.c_str()); err != 0) {
    return LibbpfErr(err);
  }
  if (int err = CheckPinPath(map->pin_path.c_str()); err != 0) {
    return LibbpfErr(err);
  }
  if (bpf_obj_pin(bpf_map__fd(map), map->pin_path.c_str()) != 0) {
    const int err = -errno;
    bpfemu::compat::Print(LIBBPF_WARN, "libbpf: failed to pin map: %d\n", err);
    return LibbpfErr(err);
  }
  map->pinned = true;
  return 0;
}

int bpf_map__unpin(struct bpf_map* map, const char* path) {
  if (map == nullptr) return LibbpfErr(-EINVAL);
  if (!map->pin_path.empty()) {
    if (path != nullptr && map->pin_path != path) {
      bpfemu::compat::Print(
          LIBBPF_WARN,
          "libbpf: map '%s' already has pin path '%s' different from '%s'\n",
          map->name.c_str(), map->pin_path.c_str(), path);
      return LibbpfErr(-EINVAL);
    }
    path = map->pin_path.c_str();
  } else if (path == nullptr) {
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: no path to unpin map '%s' from\n",
                          map->name.c_str());
    return LibbpfErr(-EINVAL);
  }
  if (int err = CheckPinPath(path); err != 0) return LibbpfErr(err);
  if (int err = bpfemu::BpffsUnlink(path); err != 0) return LibbpfErr(err);
  map->pinned = false;
  return 0;
}

int bpf_map__lookup_elem(const struct bpf_map* map, const void* key,
                         size_t key_sz, void* value, size_t value_sz,
                         __u64 flags) {
  if (int err = ValidateMapOp(map, key_sz, value_sz, true); err != 0) {
    return LibbpfErr(err);
  }
  return bpf_map_lookup_elem_flags(bpf_map__fd(map), key, value, flags);
}

int bpf_map__update_elem(const struct bpf_map* map, const void* key,
                         size_t key_sz, const void* value, size_t value_sz,
                         __u64 flags) {
  if (int err = ValidateMapOp(map, key_sz, value_sz, true); err != 0) {
    return LibbpfErr(err);
  }
  return bpf_map_update_elem(bpf_map__fd(map), key, value, flags);
}

int bpf_map__delete_elem(const struct bpf_map* map, const void* key,
                         size_t key_sz, __u64 flags) {
  if (int err = ValidateMapOp(map, key_sz, 0, false); err != 0) {
    return LibbpfErr(err);
  }
  return bpf_map_delete_elem_flags(bpf_map__fd(map), key, flags);
}

int bpf_map__lookup_and_delete_elem(const struct bpf_map* map, const void* key,
                                    size_t key_sz, void* value, size_t value_sz,
                                    __u64 flags) {
  if (int err = ValidateMapOp(map, key_sz, value_sz, true); err != 0) {
    return LibbpfErr(err);
  }
  return bpf_map_lookup_and_delete_elem_flags(bpf_map__fd(map), key, value,
                                              flags);
}

int bpf_map__get_next_key(const struct bpf_map* map, const void* cur_key,
                          void* next_key, size_t key_sz) {
  if (int err = ValidateMapOp(map, key_sz, 0, false); err != 0) {
    return LibbpfErr(err);
  }
  return bpf_map_get_next_key(bpf_map__fd(map), cur_key, next_key);
}

namespace {

// pathname_concat() and, for a map, sanitize_pin_path(): PATH/NAME with the
// dots of a map's name turned into underscores; -ENAMETOOLONG at PATH_MAX.
int PinPathOf(const char* path, const std::string& name, bool map,
              std::string* out) {
  *out = std::string(path) + "/" + name;
  if (out->size() >= PATH_MAX) return -ENAMETOOLONG;
  if (map) {
    for (size_t i = std::strlen(path) + 1; i < out->size(); ++i) {
      if ((*out)[i] == '.') (*out)[i] = '_';
    }
  }
  return 0;
}

// bpf_object__{pin,unpin}_programs: `op` on PATH/<name> of each program.
int EachProgramPin(bpf_object* obj, const char* path,
                   int (*op)(bpf_program*, const char*)) {
  for (auto& p : obj->progs) {
    if (!obj->settings.progs[p->index].autoload) continue;
    std::string at;
    int err = PinPathOf(path != nullptr ? path : "", p->name, false, &at);
    if (err == 0) err = op(p.get(), at.c_str());
    if (err != 0) return LibbpfErr(err);
  }
  return 0;
}

}  // namespace

int bpf_object__pin_maps(struct bpf_object* obj, const char* path) {
  if (obj == nullptr || !obj->loaded) return LibbpfErr(-ENOENT);
  size_t done = 0;
  int err = 0;
  for (; done < obj->maps.size(); ++done) {
    bpf_map* m = obj->maps[done].get();
    if (!obj->settings.maps[m->index].autocreate) continue;
    std::string at;
    if (path != nullptr) {
      if ((err = PinPathOf(path, m->name, true, &at)) != 0) break;
    } else if (m->pin_path.empty()) {
      continue;
    }
    err = bpf_map__pin(m, path != nullptr ? at.c_str() : nullptr);
    if (err != 0) break;
  }
  if (err == 0) return 0;
  while (done-- > 0) {
    bpf_map* m = obj->maps[done].get();
    if (!m->pin_path.empty()) bpf_map__unpin(m, nullptr);
  }
  return LibbpfErr(err);
}

int bpf_object__unpin_maps(struct bpf_object* obj, const char* path) {
  if (obj == nullptr) return LibbpfErr(-ENOENT);
  for (auto& m : obj->maps) {
    if (!obj->settings.maps[m->index].autocreate) continue;
    std::string at;
    if (path != nullptr) {
      if (int err = PinPathOf(path, m->name, true, &at); err != 0) {
        return LibbpfErr(err);
      }
    } else if (m->pin_path.empty()) {
      continue;
    }
    if (int err =
            bpf_map__unpin(m.get(), path != nullptr ? at.c_str() : nullptr);
        err != 0) {
      return err;
    }
  }
  return 0;
}

// Programs cannot be pinned on the emulated bpffs (bpf_obj_pin of a program
// fd answers EOPNOTSUPP, docs/dropin.md); these report that answer.
int bpf_program__pin(struct bpf_program* prog, const char* path) {
  const int fd = bpf_program__fd(prog);
  if (fd < 0) {
    bpfemu::compat::Print(
        LIBBPF_WARN,
        "libbpf: prog '%s': can't pin program that wasn't loaded\n",
        prog != nullptr ? prog->name.c_str() : "");
    return LibbpfErr(-EINVAL);
  }
  if (int err = MakeParentDir(path); err != 0) return LibbpfErr(err);
  if (int err = CheckPinPath(path); err != 0) return LibbpfErr(err);
  if (bpf_obj_pin(fd, path) != 0) {
    const int err = -errno;
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: prog '%s': failed to pin at '%s': %d\n",
                          prog->name.c_str(), path, err);
    return LibbpfErr(err);
  }
  return 0;
}

int bpf_program__unpin(struct bpf_program* prog, const char* path) {
  if (bpf_program__fd(prog) < 0) return LibbpfErr(-EINVAL);
  if (int err = CheckPinPath(path); err != 0) return LibbpfErr(err);
  if (int err = bpfemu::BpffsUnlink(path); err != 0) return LibbpfErr(err);
  return 0;
}
int bpf_object__pin_programs(struct bpf_object* obj, const char* path) {
  if (obj == nullptr || !obj->loaded) return LibbpfErr(-ENOENT);
  return EachProgramPin(obj, path, bpf_program__pin);
}

int bpf_object__unpin_programs(struct bpf_object* obj, const char* path) {
  if (obj == nullptr) return LibbpfErr(-ENOENT);
  return EachProgramPin(obj, path, bpf_program__unpin);
}

int bpf_object__pin(struct bpf_object* obj, const char* path) {
  if (int err = bpf_object__pin_maps(obj, path); err != 0) return err;
  if (int err = bpf_object__pin_programs(obj, path); err != 0) {
    bpf_object__unpin_maps(obj, path);
    return err;
  }
  return 0;
}

int bpf_object__unpin(struct bpf_object* obj, const char* path) {
  if (int err = bpf_object__unpin_programs(obj, path); err != 0) return err;
  return bpf_object__unpin_maps(obj, path);
}

int bpf_program__set_type(struct bpf_program* prog, enum bpf_prog_type type) {
  if (prog->obj->loaded) return LibbpfErr(-EBUSY);
  prog->obj->settings.progs[prog->index].type = type;
  return 0;
}

enum bpf_prog_type bpf_program__type(const struct bpf_program* prog) {
  return static_cast<enum bpf_prog_type>(
      prog->obj->settings.progs[prog->index].type);
}

int bpf_program__set_expected_attach_type(struct bpf_program* prog,
                                          enum bpf_attach_type type) {
  if (prog->obj->loaded) return LibbpfErr(-EBUSY);
  prog->obj->settings.progs[prog->index].expected_attach_type = type;
  return 0;
}

}  // extern "C"

namespace {

// libbpf.c libbpf_find_prog_btf_id(): `name`'s FUNC in the BTF the target
// program was loaded with. Emulated programs are loaded without BTF, so
// this answers as libbpf does for such a target: -EINVAL.
int FindProgBtfId(const char* name, int attach_prog_fd) {
  bpf_prog_info info = {};
  __u32 len = sizeof(info);
  int err = bpf_obj_get_info_by_fd(attach_prog_fd, &info, &len);
  if (err != 0) {
    bpfemu::compat::Print(
        LIBBPF_WARN, "libbpf: failed bpf_obj_get_info_by_fd for FD %d: %d\n",
        attach_prog_fd, err);
    return err;
  }
  if (info.btf_id == 0) {
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: The target program doesn't have BTF\n");
    return -EINVAL;
  }
  struct btf* btf = btf__load_from_kernel_by_id(info.btf_id);
  if (btf == nullptr) {
    err = -errno;
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: Failed to get BTF %d of the program: %d\n",
                          info.btf_id, err);
    return err;
  }
  err = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
  btf__free(btf);
  if (err <= 0) {
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: %s is not found in prog's BTF\n", name);
  }
  return err;
}

// libbpf.c find_kernel_btf_id(): the running kernel's vmlinux BTF first,
// then its modules' (libbpf walks the kernel's BTF ids for them; libbpfemu
// reads /sys/kernel/btf/<module>, in name order). -ESRCH when none has it.
int FindKernelBtfId(const char* name, enum bpf_attach_type attach_type,
                    int* btf_id) {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) {
    const int err = -errno;
    bpfemu::compat::Print(LIBBPF_WARN,
                          "libbpf: Error loading vmlinux BTF: %d\n", err);
    return err;
  }
  int ret = bpfemu::compat::FindAttachBtfId(vmlinux, name, attach_type);
  if (ret > 0 || ret != -ENOENT) {
    btf__free(vmlinux);
    if (ret < 0) return ret;
    *btf_id = ret;
    return 0;
  }
  std::vector<std::string> modules;
  if (DIR* dir = opendir("/sys/kernel/btf"); dir != nullptr) {
    while (const dirent* e = readdir(dir)) {
      const std::string n = e->d_name;
      if (n != "." && n != ".." && n != "vmlinux") modules.push_back(n);
    }
    closedir(dir);
  }
  std::sort(modules.begin(), modules.end());
  for (const std::string& m : modules) {
    struct btf* mod = btf__load_module_btf(m.c_str(), vmlinux);
    if (mod == nullptr) continue;
    ret = bpfemu::compat::FindAttachBtfId(mod, name, attach_type);
    btf__free(mod);
    if (ret == -ENOENT) continue;
    btf__free(vmlinux);
    if (ret < 0) return ret;
    *btf_id = ret;
    return 0;
  }
  btf__free(vmlinux);
  return -ESRCH;
}

}  // namespace

extern "C" {

int bpf_program__set_attach_target(struct bpf_program* prog, int attach_prog_fd,
                                   const char* attach_func_name) {
  if (prog == nullptr || attach_prog_fd < 0) return LibbpfErr(-EINVAL);
  if (prog->obj->loaded) return LibbpfErr(-EINVAL);
  if (attach_prog_fd != 0 && attach_func_name == nullptr) {
    // The BTF id would be found when the program loads.
    prog->attach_prog_fd = attach_prog_fd;
    return 0;
  }
  int btf_id = 0;
  if (attach_prog_fd != 0) {
    btf_id = FindProgBtfId(attach_func_name, attach_prog_fd);
    if (btf_id < 0) return LibbpfErr(btf_id);
  } else {
    if (attach_func_name == nullptr) return LibbpfErr(-EINVAL);
    const int err = FindKernelBtfId(
        attach_func_name,
        static_cast<enum bpf_attach_type>(
            prog->obj->settings.progs[prog->index].expected_attach_type),
        &btf_id);
    if (err != 0) return LibbpfErr(err);
  }
  prog->attach_btf_id = btf_id;
  prog->attach_btf_obj_fd = 0;
  prog->attach_prog_fd = attach_prog_fd;
  return 0;
}

enum bpf_attach_type bpf_program__expected_attach_type(
    const struct bpf_program* prog) {
  return static_cast<enum bpf_attach_type>(
      prog->obj->settings.progs[prog->index].expected_attach_type);
}

int bpf_program__set_autoload(struct bpf_program* prog, bool autoload) {
  if (prog->obj->loaded) return LibbpfErr(-EINVAL);
  prog->obj->settings.progs[prog->index].autoload = autoload;
  return 0;
}

bool bpf_program__autoload(const struct bpf_program* prog) {
  return prog->obj->settings.progs[prog->index].autoload;
}

// Only bpf_object__attach_skeleton() reads it, and it attaches nothing.
void bpf_program__set_autoattach(struct bpf_program* prog, bool autoattach) {
  prog->autoattach = autoattach;
}

bool bpf_program__autoattach(const struct bpf_program* prog) {
  return prog->autoattach;
}

int bpf_program__set_flags(struct bpf_program* prog, __u32 flags) {
  if (prog->obj->loaded) return LibbpfErr(-EBUSY);
  prog->prog_flags = flags;
  return 0;
}

__u32 bpf_program__flags(const struct bpf_program* prog) {
  return prog->prog_flags;
}

void bpf_program__set_ifindex(struct bpf_program* prog, __u32 ifindex) {
  prog->prog_ifindex = ifindex;
}

int bpf_program__set_log_level(struct bpf_program* prog, __u32 log_level) {
  if (prog->obj->loaded) return LibbpfErr(-EBUSY);
  prog->log_level = log_level;
  return 0;
}

__u32 bpf_program__log_level(const struct bpf_program* prog) {
  return prog->log_level;
}

// libbpf returns these errors without setting errno.
int bpf_program__set_log_buf(struct bpf_program* prog, char* log_buf,
                             size_t log_size) {
  if (log_size != 0 && log_buf == nullptr) return -EINVAL;
  if (prog->log_size > UINT32_MAX) return -EINVAL;
  if (prog->obj->loaded) return -EBUSY;
  prog->log_buf = log_buf;
  prog->log_size = log_size;
  return 0;
}

const char* bpf_program__log_buf(const struct bpf_program* prog,
                                 size_t* log_size) {
  *log_size = prog->log_size;
  return prog->log_buf;
}

}  // extern "C"

// Getters and iteration that need the object's own records.
extern "C" {

enum bpf_prog_type bpf_program__get_type(const struct bpf_program* prog) {
  return bpf_program__type(prog);
}

enum bpf_attach_type bpf_program__get_expected_attach_type(
    const struct bpf_program* prog) {
  return bpf_program__expected_attach_type(prog);
}

const char* bpf_program__section_name(const struct bpf_program* prog) {
  return prog->section.c_str();
}

// A bytecode program's instructions as read from the object, or as
// bpf_program__set_insns() replaced them (a native program has none: 0 and
// NULL).
size_t bpf_program__insn_cnt(const struct bpf_program* prog) {
  const auto& ps = prog->obj->settings.progs[prog->index];
  if (ps.has_insns) return ps.insns.size();
  const auto* insns = prog->obj->native->ProgramInsns(prog->index);
  return insns != nullptr ? insns->size() : 0;
}

const struct bpf_insn* bpf_program__insns(const struct bpf_program* prog) {
  const auto& ps = prog->obj->settings.progs[prog->index];
  const auto* insns =
      ps.has_insns ? &ps.insns : prog->obj->native->ProgramInsns(prog->index);
  if (insns == nullptr || insns->empty()) return nullptr;
  return reinterpret_cast<const struct bpf_insn*>(insns->data());
}

// libbpf 1.1.2 answers -EBUSY after load without setting errno, and takes
// any count (0 included) before. A native program is compiled code with no
// instructions to replace: -EOPNOTSUPP.
int bpf_program__set_insns(struct bpf_program* prog, struct bpf_insn* new_insns,
                           size_t new_insn_cnt) {
  if (prog->obj->loaded) return -EBUSY;
  if (!prog->obj->native->bytecode()) return LibbpfErr(-EOPNOTSUPP);
  auto& ps = prog->obj->settings.progs[prog->index];
  static_assert(sizeof(bpfemu::interp::RawInsn) == sizeof(struct bpf_insn));
  ps.insns.resize(new_insn_cnt);
  if (new_insn_cnt != 0) {
    std::memcpy(ps.insns.data(), new_insns,
                new_insn_cnt * sizeof(struct bpf_insn));
  }
  ps.has_insns = true;
  return 0;
}

struct bpf_program* bpf_object__prev_program(const struct bpf_object* obj,
                                             struct bpf_program* next) {
  if (obj == nullptr) return nullptr;
  if (next == nullptr) {
    return obj->progs.empty() ? nullptr : obj->progs.back().get();
  }
  return next->index == 0 || next->obj != obj
             ? nullptr
             : obj->progs[next->index - 1].get();
}

struct bpf_map* bpf_object__prev_map(const struct bpf_object* obj,
                                     const struct bpf_map* next) {
  if (obj == nullptr) return nullptr;
  if (next == nullptr) {
    return obj->maps.empty() ? nullptr : obj->maps.back().get();
  }
  return next->index == 0 || next->obj != obj
             ? nullptr
             : obj->maps[next->index - 1].get();
}

void bpf_program__unload(struct bpf_program* prog) {
  if (prog != nullptr) prog->obj->native->UnloadProgram(prog->name);
}

unsigned int bpf_object__kversion(const struct bpf_object* obj) {
  return obj != nullptr ? obj->kern_version : 0;
}

int bpf_object__set_kversion(struct bpf_object* obj, __u32 kern_version) {
  if (obj->loaded) return LibbpfErr(-EINVAL);
  obj->kern_version = kern_version;
  return 0;
}

// Global-data maps (.bss, .data, .rodata, .kconfig) are libbpf's internal
// maps; their real names are their sections.
bool bpf_map__is_internal(const struct bpf_map* map) {
  return !map->real_name.empty() && map->real_name[0] == '.';
}

int bpf_map__set_initial_value(struct bpf_map* map, const void* data,
                               size_t size) {
  size_t have = 0;
  uint8_t* v = map->obj->native->InitialValue(map->real_name, &have);
  if (v == nullptr || map->real_name.starts_with(".kconfig") ||
      size != SettingsOf(map).value_size || MapHasFd(map)) {
    return LibbpfErr(-EINVAL);
  }
  std::memcpy(v, data, std::min(size, have));
  return 0;
}

}  // extern "C"

namespace bpfemu::compat {

// libbpf.c bpf_program__attach() for a custom handler's section: its
// attach callback's error, or -EOPNOTSUPP without a callback or a link.
bool CustomAttach(const struct bpf_program* prog, struct bpf_link** link) {
  *link = nullptr;
  if (prog == nullptr || !prog->has_custom) return false;
  if (prog->custom.attach_fn == nullptr) {
    errno = EOPNOTSUPP;
    return true;
  }
  const int err = prog->custom.attach_fn(prog, prog->custom.cookie, link);
  if (err != 0) {
    *link = nullptr;
    errno = err < 0 ? -err : err;
    return true;
  }
  if (*link == nullptr) errno = EOPNOTSUPP;
  return true;
}

// bpf_map__attach_struct_ops()'s work on the object (loader/object.h
// AttachStructOps): -EINVAL for a map that is not a created struct_ops
// map (bpf_map__is_struct_ops, map->fd == -1), as libbpf answers.
int AttachStructOpsMap(const struct bpf_map* map, int* link_fd) {
  *link_fd = -1;
  if (map == nullptr || map->outer != nullptr ||
      MapSettingsOf(map).type != BPF_MAP_TYPE_STRUCT_OPS ||
      bpf_map__fd(map) < 0 || map->reuse_fd >= 0) {
    return -EINVAL;
  }
  return map->obj->native->AttachStructOps(map->real_name, link_fd);
}

}  // namespace bpfemu::compat
