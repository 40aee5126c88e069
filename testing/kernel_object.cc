// SPDX-License-Identifier: Apache-2.0
#include "testing/kernel_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

namespace bpfemu {

int KernelObject::Load(const std::string& path,
                       std::unique_ptr<KernelObject>* out,
                       const std::vector<std::string>& skip) {
  libbpf_set_print(nullptr);  // errors are returned, not printed
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (obj == nullptr) return -errno;
  for (const std::string& name : skip) {
    bpf_program* p = bpf_object__find_program_by_name(obj, name.c_str());
    if (p != nullptr) bpf_program__set_autoload(p, false);
  }
  if (int err = bpf_object__load(obj); err != 0) {
    bpf_object__close(obj);
    return err;
  }
  out->reset(new KernelObject(obj));
  return 0;
}

KernelObject::~KernelObject() { bpf_object__close(obj_); }

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
