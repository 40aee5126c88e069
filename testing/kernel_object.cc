// SPDX-License-Identifier: Apache-2.0
#include "testing/kernel_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace bpfemu {

namespace {

constexpr uint32_t kMapTypeArena = 33;  // BPF_MAP_TYPE_ARENA (6.9)

// libbpf 1.4's arena step of bpf_object__create_maps (tools/lib/bpf/
// libbpf.c): create, mmap the whole range, give libbpf the fd.
int CreateArena(bpf_map* m, KernelObject::Arena* out) {
  const uint64_t extra = bpf_map__map_extra(m);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = bpf_map__map_flags(m),
              .map_extra = extra);
  const int fd =
      bpf_map_create(static_cast<enum bpf_map_type>(kMapTypeArena),
                     bpf_map__name(m), 0, 0, bpf_map__max_entries(m), &opts);
  if (fd < 0) return -errno;
  const size_t len =
      size_t{bpf_map__max_entries(m)} * static_cast<size_t>(getpagesize());
  void* at = mmap(reinterpret_cast<void*>(extra), len, PROT_READ | PROT_WRITE,
                  MAP_SHARED | (extra != 0 ? MAP_FIXED : 0), fd, 0);
  int err = at == MAP_FAILED ? -errno : bpf_map__reuse_fd(m, fd);
  close(fd);
  if (at == MAP_FAILED) return err;
  if (err != 0) {
    munmap(at, len);
    return err;
  }
  *out = {at, len};
  return 0;
}

}  // namespace

int KernelObject::Load(const std::string& path,
                       std::unique_ptr<KernelObject>* out,
                       const std::vector<std::string>& skip) {
  libbpf_set_print(nullptr);  // errors are returned, not printed
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (obj == nullptr) return -errno;
  std::unique_ptr<KernelObject> k(new KernelObject(obj));
  for (const std::string& name : skip) {
    bpf_program* p = bpf_object__find_program_by_name(obj, name.c_str());
    if (p != nullptr) bpf_program__set_autoload(p, false);
  }
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    if (bpf_map__type(m) != kMapTypeArena) continue;
    Arena a;
    if (int err = CreateArena(m, &a); err != 0) return err;
    k->arenas_.emplace_back(bpf_map__name(m), a);
  }
  if (int err = bpf_object__load(obj); err != 0) return err;
  *out = std::move(k);
  return 0;
}

KernelObject::~KernelObject() {
  bpf_object__close(obj_);
  for (auto& [name, a] : arenas_) munmap(a.start, a.len);
}

const KernelObject::Arena* KernelObject::FindArena(
    const std::string& name) const {
  for (const auto& [n, a] : arenas_) {
    if (n == name) return &a;
  }
  return nullptr;
}

int KernelObject::MapFd(const std::string& name) const {
  const int fd = bpf_object__find_map_fd_by_name(obj_, name.c_str());
  return fd >= 0 ? fd : -ENOENT;
}

int KernelObject::ProgFd(const std::string& name) const {
  bpf_program* p = bpf_object__find_program_by_name(obj_, name.c_str());
  return p != nullptr ? bpf_program__fd(p) : -ENOENT;
}

KernelObject::Result KernelObject::RunPacket(int prog_fd,
                                             const std::vector<uint8_t>& data,
                                             int repeat) {
  Result r;
  r.data_out.resize(data.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(),
              .data_out = r.data_out.data(),
              .data_size_in = static_cast<uint32_t>(data.size()),
              .data_size_out = static_cast<uint32_t>(r.data_out.size()),
              .repeat = repeat);
  r.err = bpf_prog_test_run_opts(prog_fd, &opts);
  r.retval = opts.retval;
  r.duration_ns = opts.duration;
  r.data_out.resize(r.err == 0 ? opts.data_size_out : 0);
  return r;
}

KernelObject::Result KernelObject::RunRawTp(int prog_fd,
                                            const std::vector<uint64_t>& args) {
  Result r;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(),
              .ctx_size_in = static_cast<uint32_t>(args.size() * 8));
  r.err = bpf_prog_test_run_opts(prog_fd, &opts);
  r.retval = opts.retval;
  return r;
}

KernelObject::Result KernelObject::RunSyscall(int prog_fd, void* ctx,
                                              uint32_t size) {
  Result r;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = size);
  r.err = bpf_prog_test_run_opts(prog_fd, &opts);
  r.retval = opts.retval;
  return r;
}

}  // namespace bpfemu
